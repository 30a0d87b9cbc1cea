//! What the core asks of the adapter: things to send, exchanges to abort, events, and when to
//! call back.

use std::time::Instant;

use serde_json::Value;

use crate::error::{RequestError, SessionError};
use crate::input::ExchangeId;
use crate::jsonrpc::{Id, RawJson};
use crate::policy::ExchangeKind;
use crate::schema::{ServerNotification, ServerRequest};

/// The id of a request the application started; allocated in order, starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The next thing to do, from [`Session::poll_output`](crate::Session::poll_output).
#[derive(Debug)]
#[must_use = "outputs must be acted on"]
#[non_exhaustive]
// An output is moved once, from the queue to the adapter; boxing the request would cost an
// allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Send this.
    Transmit(Transmit),
    /// Abandon this exchange: drop its connection or stream; feed nothing more for it.
    Abort(ExchangeId),
    /// Something happened.
    Event(Event),
    /// Hand this many random bytes, from a cryptographically secure source, to
    /// [`Input::Random`](crate::Input::Random): the OAuth flow's PKCE verifier and `state`
    /// (the core draws no randomness of its own).
    Random(usize),
    /// Nothing more until this instant (`None`: until the next command or input).
    Wait(Option<Instant>),
}

/// Bytes to put on the wire.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // moved once; see `Output`
pub enum Transmit {
    /// Start HTTP exchange `exchange`: send `request`, then feed its response back as
    /// [`Input::ResponseHead`](crate::Input::ResponseHead), `ResponseBody` and `ResponseEnd`
    /// (or `ExchangeFailed`). Exchanges are independent: send them concurrently.
    Http {
        /// The exchange this request starts.
        exchange: ExchangeId,
        /// What it is for.
        kind: ExchangeKind,
        /// The request, body included (boxed: it is large, and an output is moved a few times
        /// on its way to the adapter).
        request: Box<http::Request<Vec<u8>>>,
    },
    /// Write these bytes (one or more newline-terminated messages) to the server's stdin.
    Stdin(Vec<u8>),
}

/// Something that happened, for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The session is ready: requests go out. [`Session::server`](crate::Session::server)
    /// says with whom.
    Ready,
    /// A request completed: exactly once per request started.
    Response {
        /// The request.
        id: RequestId,
        /// Its result as raw JSON, or why it failed.
        result: Result<RawJson, RequestError>,
    },
    /// A request that asked for progress reported some.
    Progress {
        /// The request.
        id: RequestId,
        /// Progress so far.
        progress: f64,
        /// The total, if known.
        total: Option<f64>,
        /// A message, if any.
        message: Option<String>,
    },
    /// The server sent a notification (logging, list_changed, resources/updated, ...). One
    /// whose params do not fit its method is a [`Warning::InvalidMessage`] instead.
    Notification {
        /// The notification (boxed: it is large, and rarer than responses).
        notification: Box<ServerNotification>,
        /// Its size on the wire (method and params), in bytes: what an adapter that queues
        /// notifications counts against its byte limit.
        size: usize,
        /// 2026-07-28: the subscription ([`Session::listen`](crate::Session::listen)) it came
        /// on; `None` for a notification of a request (progress, log messages) or of the 2025
        /// era.
        subscription: Option<RequestId>,
    },
    /// 2026-07-28: the server acknowledged a subscription
    /// ([`Session::listen`](crate::Session::listen)) — again after each time its stream was
    /// opened again, when notifications of the gap may be lost.
    Subscribed {
        /// The subscription.
        id: RequestId,
        /// The notifications the server agreed to send (it may be fewer than asked).
        notifications: crate::modern::SubscriptionFilter,
    },
    /// The server asks something of the client (sampling, elicitation, roots). Answer it with
    /// [`Session::respond`](crate::Session::respond). The core answers `ping` itself, "method
    /// not found" to a request for a capability the client did not declare, and "invalid
    /// params" to one whose params do not parse; only the rest arrive here, typed.
    Request {
        /// The id to answer with: the server's, or for a request the client runs as a task
        /// ([`HostedTasks`](crate::HostedTasks)) the core's handle of the task.
        id: Id,
        /// What the server asks (boxed: it is rare, and large).
        request: Box<ServerRequest>,
    },
    /// 2025-11-25: the answer to the [`Event::Request`] handed out with `id` is no longer
    /// wanted: it ran as a task the client hosts ([`HostedTasks`](crate::HostedTasks)), and
    /// the server cancelled the task, its TTL passed, or the server started a new session.
    /// The application may stop working on it; an answer given anyway is dropped (the id is
    /// the core's handle of the task, which it knows however late the answer comes).
    RequestWithdrawn {
        /// The id the request came with.
        id: crate::jsonrpc::Id,
    },
    /// Authorization is needed and the user must give it: open `url` in a browser, and hand
    /// the URL the authorization server sends the browser back to (`redirect_uri` with the
    /// response in its query) to
    /// [`Session::authorization_redirect`](crate::Session::authorization_redirect). The
    /// requests that met the challenge wait.
    Authorize {
        /// The authorization request URL (its query is not shown in `Debug`).
        url: AuthorizeUrl,
        /// The redirect URI the response will come back to.
        redirect_uri: String,
    },
    /// A task-augmented request's task (2025-11-25) was created or changed status or status
    /// message (from a poll or the server's notification). The request itself completes once, with
    /// [`Event::Response`]: the underlying result, or why there is none.
    TaskStatus {
        /// The request.
        id: RequestId,
        /// The task as the server last described it.
        task: Box<crate::schema::Task>,
    },
    /// The OAuth flow got a token (or refreshed it); the requests that waited for it went
    /// again. A token store saves [`Session::credentials`](crate::Session::credentials) now.
    Authorized,
    /// The server forgot the session (2025 era over HTTP: a 404 to an exchange that carried
    /// `Mcp-Session-Id`, or a 400 whose JSON-RPC error names the session) and the client
    /// starts a new one
    /// ([`Policy::recover_expired_sessions`](crate::Policy::recover_expired_sessions)). The
    /// requests in flight complete next, with
    /// [`RequestError::SessionExpired`], and are never
    /// sent again; a new `initialize` goes out without the old session id, and the requests
    /// started until it is answered wait for it. [`Event::Ready`] follows once it is.
    SessionExpired {
        /// The session id the server forgot.
        session_id: Option<String>,
        /// How many times in a row this has happened with no request answered in between
        /// (1 the first time), bounded by
        /// [`Policy::max_session_recoveries`](crate::Policy::max_session_recoveries).
        recovery: u32,
        /// How many of the application's requests failed with it.
        failed: usize,
    },
    /// Something went wrong that fails nothing.
    Warning(Warning),
    /// The session ended: the last event. Every outstanding request completed before it.
    Closed(SessionError),
}

/// The URL the user opens to authorize. Its query (`state`, the PKCE challenge) is not shown
/// in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizeUrl(pub String);

impl std::fmt::Debug for AuthorizeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = self.0.split_once('?').map_or(self.0.as_str(), |(b, _)| b);
        write!(f, "{base:?}?<redacted>")
    }
}

/// A problem that fails no request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A line on stdout, an SSE event or a body that is not JSON-RPC was skipped.
    InvalidMessage {
        /// Why it is invalid.
        error: String,
        /// Its beginning.
        excerpt: String,
    },
    /// A response for a request that is not outstanding (cancelled, timed out, never sent)
    /// was dropped.
    LateResponse {
        /// Its id.
        id: Id,
    },
    /// A progress notification for no outstanding request was dropped.
    UnknownProgressToken {
        /// Its token.
        token: Value,
    },
    /// The server refused a notification or a response the client posted.
    NotificationRejected {
        /// The method of the notification, or `"response"`.
        method: String,
        /// The status.
        status: http::StatusCode,
    },
    /// Posting a notification or a response failed in the transport.
    NotificationFailed {
        /// The method of the notification, or `"response"`.
        method: String,
        /// What failed.
        reason: String,
    },
    /// The server answered the optional GET stream with an unexpected status; the client goes
    /// on without it.
    ServerStreamRejected {
        /// The status.
        status: http::StatusCode,
    },
    /// A server-to-client stream (the GET stream) failed; the client goes on without it.
    ServerStreamLost {
        /// Why.
        reason: String,
    },
    /// A stream's last event id cannot be sent back as `Last-Event-ID` (it holds a control
    /// character): the stream cannot be resumed.
    UnusableEventId {
        /// The id, control characters escaped.
        id: String,
    },
    /// 2026-07-28: the response stream of a request broke before its answer, and the request
    /// was issued again with a new id (the revision has no resumption; see
    /// [`Policy::max_reissues`](crate::Policy::max_reissues)). A `subscriptions/listen` stream
    /// is opened again the same way.
    Reissued {
        /// The request.
        id: RequestId,
        /// Its method.
        method: String,
        /// How many times it has been issued again, this one included.
        attempt: u32,
    },
    /// 2026-07-28 over HTTP: a tool whose `x-mcp-header` annotations break the rules was left
    /// out of a `tools/list` result, as the revision requires.
    ToolRejected {
        /// The tool's name, control characters escaped.
        tool: String,
        /// Why.
        reason: String,
    },
    /// 2026-07-28: the server sent a JSON-RPC request, which this revision does not allow (it
    /// asks for input in an `input_required` result instead); it was not answered.
    ServerRequestIgnored {
        /// Its method, control characters escaped.
        method: String,
    },
}
