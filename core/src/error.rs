//! Errors, in two layers whose types say their scope (quinn's `ConnectionError` and
//! `ReadError::ConnectionLost`):
//!
//! - [`SessionError`]: the whole session failed or closed. Every outstanding request completes
//!   with it (as [`RequestError::Session`]) in ascending id, it is reported once in
//!   [`Event::Closed`](crate::Event::Closed), and every later command returns it at once.
//! - [`RequestError`]: one request failed; the session goes on — unless the variant is
//!   [`RequestError::Session`], which wraps the session's error.
//!
//! Both are cheap to clone (strings are shared): one session error is handed to every
//! outstanding request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::jsonrpc::ErrorObject;

/// Why the whole session failed, or that it was closed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SessionError {
    /// The server answered an HTTP status that ends the session: a 5xx on any exchange (by
    /// default), or any failure status to the handshake.
    Http(Arc<HttpError>),
    /// The server answered 404 to an exchange that carried `Mcp-Session-Id`: it no longer
    /// knows the session.
    SessionExpired,
    /// The server answered 401; authorization is required.
    AuthRequired {
        /// The `WWW-Authenticate` header, if the server sent one: at most
        /// [`HttpError::EXCERPT`] bytes of it, control characters escaped.
        www_authenticate: Option<Arc<str>>,
    },
    /// The server chose a protocol version this client does not speak.
    UnsupportedProtocolVersion(Arc<str>),
    /// The server answered the handshake with a JSON-RPC error.
    Rpc(ErrorObject),
    /// The server broke the protocol where the session depends on it (an invalid answer to
    /// the handshake).
    Protocol(ProtocolError),
    /// The handshake got no answer within its deadline.
    Timeout {
        /// How long it was allowed to run.
        after: Duration,
        /// How many server messages were skipped as not JSON-RPC while it waited.
        skipped: u64,
    },
    /// The event stream carrying the handshake's answer ended before it.
    StreamLost,
    /// The transport failed where the session depends on it: the handshake could not be
    /// sent or answered, or writing to a child's stdin failed.
    Transport(TransportError),
    /// The server process exited, or closed its stdout (stdio).
    ProcessExited {
        /// Its exit code, if it exited normally.
        code: Option<i32>,
    },
    /// A stdout line exceeded the message limit (stdio: the framing cannot recover).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A bound on what the client holds was reached by what the client owes the server (the
    /// answers to a server that keeps asking without taking them); see [`Limit`].
    LimitReached {
        /// Which bound.
        what: Limit,
        /// Its value.
        limit: usize,
    },
    /// Authorization was required and the OAuth flow failed for the session's opening
    /// request (see [`crate::auth::Error`]).
    Auth(Arc<crate::auth::Error>),
    /// The revision was pinned to 2026-07-28 ([`Revision::Modern`](crate::Revision::Modern))
    /// and the server does not speak it: its answer to `server/discover` is given.
    NotModern(Arc<str>),
    /// The server answered the handshake with a redirect the client does not follow (see
    /// [`RedirectError`]).
    Redirect(Arc<RedirectError>),
    /// The 2024-11-05 HTTP+SSE transport failed where the session depends on it: its event
    /// stream (see [`LegacySseError`]).
    LegacySse(LegacySseError),
    /// The application closed the session.
    Closed,
}

/// Why one request failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RequestError {
    /// The session failed or closed; every outstanding request failed with it.
    Session(SessionError),
    /// The server answered this request's exchange with a failure status (a 4xx, or a 5xx
    /// when the policy makes it request-scoped).
    Http(Arc<HttpError>),
    /// The server answered the request with a JSON-RPC error object.
    Rpc(ErrorObject),
    /// The server broke the protocol in its answer (no response, invalid JSON, wrong content
    /// type, a result of the wrong shape, ...).
    Protocol(ProtocolError),
    /// The event stream carrying the answer ended before it and could not be resumed.
    StreamLost,
    /// The transport failed before the answer: connection refused or reset, TLS failure, ...
    Transport(TransportError),
    /// The answer (a body or an SSE event) exceeded the message limit, or the request did.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request's deadline passed; the server was told (`notifications/cancelled`).
    Timeout {
        /// How long the request was allowed to run.
        after: Duration,
        /// How many messages from the server were skipped as not JSON-RPC while it waited
        /// (lines on stdout, SSE events): often the reason no answer was seen.
        skipped: u64,
    },
    /// The application cancelled the request; the server was told.
    Cancelled,
    /// The configured cap on outstanding requests is reached.
    TooManyRequests {
        /// The cap.
        limit: usize,
    },
    /// A bound on what the client holds was reached; see [`Limit`].
    LimitReached {
        /// Which bound.
        what: Limit,
        /// Its value, in bytes or items as [`Limit`] says.
        limit: usize,
    },
    /// The server rejected the request's HTTP headers as not matching its body
    /// (`HeaderMismatch`, -32020): the tool's `x-mcp-header` annotations may have changed
    /// since it was listed.
    HeaderMismatch(ErrorObject),
    /// The server needs a client capability the request did not declare
    /// (`MissingRequiredClientCapability`, -32021); `required` is what it lists.
    CapabilityRequired {
        /// The capabilities the server requires, as it sent them.
        required: serde_json::Value,
        /// The server's message.
        message: String,
    },
    /// The server does not speak the request's protocol version (-32022), and none of those it
    /// lists is one this client speaks (or it rejected the one retry with one of them).
    UnsupportedVersion {
        /// The version the request was sent with.
        requested: Arc<str>,
        /// The versions the server says it supports.
        supported: Vec<String>,
    },
    /// The method does not exist in the protocol revision the session speaks (`ping`,
    /// `logging/setLevel`, `resources/subscribe`, ... were removed in 2026-07-28).
    Removed {
        /// The method.
        method: String,
        /// The revision.
        revision: &'static str,
    },
    /// The server asked for input to complete the request (2026-07-28, `input_required`) and
    /// the client could not give it: the handler failed, the server asked for something the
    /// client did not declare, or more rounds were asked than the policy allows.
    Input(Arc<str>),
    /// The server asked for authorization (401, or 403 `insufficient_scope`) and the OAuth
    /// flow failed: the request was held and never sent again.
    Auth(Arc<crate::auth::Error>),
    /// The server answered the request with a redirect the client does not follow: not a 307
    /// or 308, to another origin, without a usable `Location`, or past
    /// [`Policy::max_redirects`](crate::Policy::max_redirects) hops. Nothing was sent to the
    /// `Location`.
    Redirect(Arc<RedirectError>),
    /// The server forgot the session while the request was in flight (a 404 to an exchange
    /// that carried `Mcp-Session-Id`, or a 400 that says so): the request was not sent again, since it may have had
    /// its effect (a `tools/call`). The client has started a new session
    /// ([`Policy::recover_expired_sessions`](crate::Policy::recover_expired_sessions)):
    /// requests made from now on go to it.
    SessionExpired,
    /// A task-augmented request's task ended without a result: cancelled, expired, or
    /// forgotten by the server.
    Task(TaskError),
}

/// Why a redirect was not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectRefusal {
    /// The status is not 307 or 308 (a 301, 302 or 303 would turn a POST into a GET, or
    /// drop its body: the request cannot be sent as it was).
    Status,
    /// The `Location` is of another origin (scheme, host or port): the request and its
    /// credentials never go there.
    OtherOrigin,
    /// There is no `Location` header.
    Missing,
    /// The `Location` is not a URI the client can follow.
    Unparsable,
    /// The request was already redirected this many times
    /// ([`Policy::max_redirects`](crate::Policy::max_redirects)).
    TooMany {
        /// The limit.
        limit: u32,
    },
}

/// What failed of the 2024-11-05 HTTP+SSE transport's event stream, which carries every
/// message from the server: the session cannot go on without it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LegacySseError {
    /// The event stream ended (`None`), or failed in the transport.
    StreamEnded(Option<TransportError>),
    /// No `endpoint` event came within the opening deadline.
    NoEndpoint {
        /// How long it was waited for.
        after: Duration,
    },
    /// The `endpoint` event named another origin than the event stream's: the client does
    /// not send its messages (or credentials) there. The URI, sanitized as a redirect's
    /// `Location` is.
    OtherOrigin(Arc<str>),
    /// The `endpoint` event's data is not a URI the client can post to (sanitized).
    BadEndpoint(Arc<str>),
    /// The event stream's GET was answered 2xx without `text/event-stream` (its content
    /// type, if it had one).
    NotAStream(Option<Arc<str>>),
}

impl fmt::Display for LegacySseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LegacySseError::StreamEnded(None) => f.write_str("the HTTP+SSE event stream ended"),
            LegacySseError::StreamEnded(Some(e)) => {
                write!(f, "the HTTP+SSE event stream failed: {e}")
            }
            LegacySseError::NoEndpoint { after } => {
                write!(
                    f,
                    "no endpoint event on the HTTP+SSE event stream within {after:?}"
                )
            }
            LegacySseError::OtherOrigin(uri) => write!(
                f,
                "the HTTP+SSE endpoint event names another origin ({}): not followed",
                Untrusted(uri)
            ),
            LegacySseError::BadEndpoint(uri) => write!(
                f,
                "the HTTP+SSE endpoint event is not a URI: {}",
                Untrusted(uri)
            ),
            LegacySseError::NotAStream(Some(c)) => write!(
                f,
                "the HTTP+SSE GET was answered with {} instead of an event stream",
                Untrusted(c)
            ),
            LegacySseError::NotAStream(None) => {
                f.write_str("the HTTP+SSE GET was answered without an event stream")
            }
        }
    }
}

/// A redirect the client did not follow.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RedirectError {
    /// The redirect's status.
    pub status: http::StatusCode,
    /// The `Location`, sanitized: no user information, query or fragment (they may carry
    /// credentials), control characters escaped, at most [`HttpError::EXCERPT`] bytes.
    pub location: Option<Arc<str>>,
    /// Why it was not followed.
    pub reason: RedirectRefusal,
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} redirect", self.status)?;
        match &self.location {
            Some(l) => write!(f, " to {}", Untrusted(l))?,
            None => f.write_str(" without a Location")?,
        }
        match self.reason {
            RedirectRefusal::Status => f.write_str(
                " not followed: only 307 and 308 keep the method and body of the request",
            ),
            RedirectRefusal::OtherOrigin => {
                f.write_str(" not followed: it is another origin than the server's")
            }
            RedirectRefusal::Missing => f.write_str(" not followed: no Location"),
            RedirectRefusal::Unparsable => f.write_str(" not followed: the Location is not a URI"),
            RedirectRefusal::TooMany { limit } => {
                write!(f, " not followed: already redirected {limit} times")
            }
        }
    }
}

/// The bounds whose reaching is an error (the others drop with a warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Bytes waiting to be sent ([`Policy::max_send_backlog`](crate::Policy::max_send_backlog)).
    SendBacklog,
    /// Bytes of all the pages of one listing.
    ListBytes,
    /// Pages of one listing.
    ListPages,
}

/// An HTTP status the server answered, with what its body said.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HttpError {
    /// The status code.
    pub status: http::StatusCode,
    /// The start of the response body (at most [`HttpError::EXCERPT`] bytes, lossily decoded,
    /// control characters escaped).
    pub body: String,
    /// A JSON-RPC error object, if the body carried one.
    pub rpc: Option<ErrorObject>,
    /// The `Retry-After` header, if given (at most [`HttpError::EXCERPT`] bytes, control
    /// characters escaped).
    pub retry_after: Option<String>,
}

impl HttpError {
    /// How much of a failed response's body is kept.
    pub const EXCERPT: usize = 512;

    /// `Retry-After` as a delay, when it is given in seconds (`Retry-After: 120`); `None`
    /// when absent or an HTTP date (the core reads no clock: compare
    /// [`retry_after`](HttpError::retry_after) with yours).
    pub fn retry_after_delay(&self) -> Option<std::time::Duration> {
        let seconds = self.retry_after.as_deref()?.trim();
        if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Digits only: too many of them is the only way to fail, and means "a very long time".
        Some(std::time::Duration::from_secs(
            seconds.parse().unwrap_or(u64::MAX),
        ))
    }

    /// An error for `status` with a body excerpt and nothing else.
    pub fn new(status: http::StatusCode, body: impl Into<String>) -> Self {
        HttpError {
            status,
            body: body.into(),
            rpc: None,
            retry_after: None,
        }
    }
}

/// How the server broke the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A 2xx to a request carried no response to it (202, 204, or a body without it).
    NoResponse,
    /// A body or event that should hold JSON-RPC did not parse.
    InvalidJson(Arc<str>),
    /// A 2xx to a request with a content type that is neither JSON nor an event stream.
    UnexpectedContentType(Arc<str>),
    /// The result of `initialize` was not a valid initialize result.
    InvalidInitializeResult(Arc<str>),
    /// A result did not have the shape its request's schema gives it.
    InvalidResult(Arc<str>),
}

/// A transport failure of one exchange, as reported by the adapter.
///
/// Equality compares the kind and the message, not the source.
#[derive(Clone, Debug)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The adapter's description of it.
    pub message: Arc<str>,
    /// The adapter's error behind it (an IO or HTTP library error), as
    /// [`std::error::Error::source`]; the core only carries it.
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for TransportError {}

impl TransportError {
    /// A transport error of `kind` described by `message`.
    pub fn new(kind: TransportErrorKind, message: impl Into<Arc<str>>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// With the error behind it, returned by [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

/// The kinds of transport failure the core distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection was refused or the host unreachable.
    Connect,
    /// The connect attempt timed out.
    ConnectTimeout,
    /// The TLS handshake failed.
    Tls,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// The HTTP proxy refused to open a tunnel (`CONNECT` answered other than 2xx: 407 for
    /// credentials it wants, 403 for a target it forbids, ...), or answered with no HTTP.
    Proxy,
    /// Anything else (an IO error writing to the child, ...).
    Other,
}

/// How a task (2025-11-25) ended without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled (by the server, or `tasks/cancel`).
    Cancelled {
        /// The task.
        task_id: String,
    },
    /// Its TTL (or the wait's bound) passed before it ended; the client gave up on it (and
    /// asked the server to cancel it).
    Expired {
        /// The task.
        task_id: String,
    },
    /// The server does not know the task (`tasks/get` or `tasks/result` answered invalid
    /// params): it expired there, or was forgotten.
    NotFound {
        /// The task.
        task_id: String,
    },
    /// The task failed, and `tasks/result` gave neither the JSON-RPC error nor a result
    /// marked `isError` (the Python SDK answers a failed task with an empty result): its
    /// last status message is what the server said of why (sanitized).
    Failed {
        /// The task.
        task_id: String,
        /// Its `statusMessage`, if it had one.
        message: Option<String>,
    },
    /// The server did not declare task support for this request (`capabilities.tasks`), or
    /// the revision spoken has none in its core (2026-07-28).
    Unsupported {
        /// The method.
        method: String,
    },
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled { task_id } => write!(f, "task {task_id:?} was cancelled"),
            TaskError::Expired { task_id } => {
                write!(
                    f,
                    "task {task_id:?} did not end within its TTL or the wait's bound"
                )
            }
            TaskError::NotFound { task_id } => {
                write!(
                    f,
                    "the server does not know task {task_id:?} (expired or forgotten)"
                )
            }
            TaskError::Failed { task_id, message } => match message {
                Some(m) => write!(f, "task {task_id:?} failed: {m}"),
                None => write!(f, "task {task_id:?} failed"),
            },
            TaskError::Unsupported { method } => {
                write!(f, "the server does not run {method} as a task")
            }
        }
    }
}

impl RequestError {
    /// The session's error, if the session's failure (or close) is why this request failed.
    pub fn session(&self) -> Option<&SessionError> {
        match self {
            RequestError::Session(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the request's deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RequestError::Timeout { .. })
    }

    /// The HTTP failure behind this error, request- or session-scoped.
    pub fn http(&self) -> Option<&HttpError> {
        match self {
            RequestError::Http(e) | RequestError::Session(SessionError::Http(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<SessionError> for RequestError {
    fn from(e: SessionError) -> Self {
        RequestError::Session(e)
    }
}

/// Server text made safe to print on one line: a line break or tab becomes a space, and every
/// other control character (C0, DEL, C1, which include the escape that starts terminal
/// sequences) and every bidirectional override is written as a visible escape, `\x1b` for
/// ASCII ones, `\u{9b}` for the others. Text the server sends goes into errors and warnings,
/// and those end up on terminals.
pub fn sanitize(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_unsafe(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a character must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Writes server text through [`sanitize`] when it needs it.
struct Untrusted<'a>(&'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().any(is_unsafe) {
            f.write_str(&sanitize(self.0))
        } else {
            f.write_str(self.0)
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(rpc) = &self.rpc {
            write!(f, ": {} (code {})", Untrusted(&rpc.message), rpc.code)?;
        } else if !self.body.is_empty() {
            write!(f, ": {}", Untrusted(self.body.trim()))?;
        }
        if let Some(r) = &self.retry_after {
            write!(f, " (retry after {})", Untrusted(r))?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Http(e) => e.fmt(f),
            SessionError::SessionExpired => {
                f.write_str("the server no longer knows this session (404)")
            }
            SessionError::AuthRequired {
                www_authenticate: Some(w),
            } => write!(f, "authorization required (401): {}", Untrusted(w)),
            SessionError::AuthRequired {
                www_authenticate: None,
            } => f.write_str("authorization required (401)"),
            SessionError::UnsupportedProtocolVersion(v) => write!(
                f,
                "the server chose protocol version {v:?}, which this client does not support"
            ),
            SessionError::Rpc(e) => write!(f, "server error {}: {}", e.code, Untrusted(&e.message)),
            SessionError::Protocol(p) => write!(f, "protocol error: {p}"),
            SessionError::Timeout { after, skipped } => {
                write!(f, "no answer to the handshake within {after:?}")?;
                fmt_skipped(f, *skipped)
            }
            SessionError::StreamLost => {
                f.write_str("the event stream ended before the answer to the handshake")
            }
            SessionError::Transport(t) => t.fmt(f),
            SessionError::ProcessExited { code: Some(c) } => {
                write!(f, "the server process exited with code {c}")
            }
            SessionError::ProcessExited { code: None } => f.write_str("the server process exited"),
            SessionError::TooLarge { limit } => {
                write!(f, "message larger than the limit of {limit} bytes")
            }
            SessionError::LimitReached { what, limit } => fmt_limit(f, *what, *limit),
            SessionError::Auth(e) => write!(f, "authorization failed: {e}"),
            SessionError::NotModern(why) => write!(
                f,
                "the server does not speak protocol revision 2026-07-28: {}",
                Untrusted(why)
            ),
            SessionError::Redirect(e) => e.fmt(f),
            SessionError::LegacySse(e) => e.fmt(f),
            SessionError::Closed => f.write_str("the session is closed"),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Session(e) => e.fmt(f),
            RequestError::Http(e) => e.fmt(f),
            RequestError::Rpc(e) => write!(f, "server error {}: {}", e.code, Untrusted(&e.message)),
            RequestError::Protocol(p) => write!(f, "protocol error: {p}"),
            RequestError::StreamLost => f.write_str("the event stream ended before the response"),
            RequestError::Transport(t) => t.fmt(f),
            RequestError::TooLarge { limit } => {
                write!(f, "message larger than the limit of {limit} bytes")
            }
            RequestError::Timeout { after, skipped } => {
                write!(f, "no response within {after:?}")?;
                fmt_skipped(f, *skipped)
            }
            RequestError::Cancelled => f.write_str("cancelled"),
            RequestError::Task(e) => e.fmt(f),
            RequestError::TooManyRequests { limit } => {
                write!(f, "more than {limit} requests outstanding")
            }
            RequestError::LimitReached { what, limit } => fmt_limit(f, *what, *limit),
            RequestError::HeaderMismatch(e) => write!(
                f,
                "the server rejected the request's headers (code {}): {}",
                e.code,
                Untrusted(&e.message)
            ),
            RequestError::CapabilityRequired { required, .. } => write!(
                f,
                "the server requires client capabilities the request did not declare: {}",
                Untrusted(&required.to_string())
            ),
            RequestError::UnsupportedVersion {
                requested,
                supported,
            } => write!(
                f,
                "the server does not support protocol version {requested:?} (it supports {})",
                Untrusted(&supported.join(", "))
            ),
            RequestError::Removed { method, revision } => write!(
                f,
                "{} does not exist in protocol revision {revision}",
                Untrusted(method)
            ),
            RequestError::Input(why) => {
                write!(f, "could not give the input the server asked for: {why}")
            }
            RequestError::Auth(e) => write!(f, "authorization failed: {e}"),
            RequestError::Redirect(e) => e.fmt(f),
            RequestError::SessionExpired => f.write_str(
                "the server no longer knows the session the request was sent in (404); it was \
                 not sent again, and later requests go to a new session",
            ),
        }
    }
}

fn fmt_skipped(f: &mut fmt::Formatter<'_>, skipped: u64) -> fmt::Result {
    match skipped {
        0 => Ok(()),
        1 => f.write_str(" (1 message from the server was not JSON-RPC)"),
        n => write!(f, " ({n} messages from the server were not JSON-RPC)"),
    }
}

fn fmt_limit(f: &mut fmt::Formatter<'_>, what: Limit, limit: usize) -> fmt::Result {
    match what {
        Limit::SendBacklog => write!(
            f,
            "more than {limit} bytes wait to be sent: the server is not taking what the client sends"
        ),
        Limit::ListBytes => write!(f, "the listing is larger than {limit} bytes"),
        Limit::ListPages => write!(f, "the listing has more than {limit} pages"),
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::NoResponse => {
                f.write_str("the server's answer carried no response to the request")
            }
            ProtocolError::InvalidJson(e) => write!(f, "invalid JSON-RPC: {e}"),
            ProtocolError::UnexpectedContentType(c) => write!(f, "unexpected content type {c:?}"),
            ProtocolError::InvalidInitializeResult(e) => {
                write!(f, "invalid initialize result: {e}")
            }
            ProtocolError::InvalidResult(e) => write!(f, "invalid result: {e}"),
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "cannot connect",
            TransportErrorKind::ConnectTimeout => "connect timed out",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Reset => "connection lost",
            TransportErrorKind::Proxy => "the proxy refused",
            TransportErrorKind::Other => "transport error",
        })
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for HttpError {}
impl std::error::Error for ProtocolError {}
impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.source.as_deref()?;
        Some(source)
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Http(e) => Some(&**e),
            SessionError::Protocol(e) => Some(e),
            SessionError::Transport(e) => Some(e),
            SessionError::Auth(e) => Some(&**e),
            _ => None,
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Session(e) => Some(e),
            RequestError::Http(e) => Some(&**e),
            RequestError::Protocol(e) => Some(e),
            RequestError::Transport(e) => Some(e),
            RequestError::Auth(e) => Some(&**e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn retry_after_in_seconds_is_a_delay_and_a_date_is_not() {
        let mut e = HttpError::new(http::StatusCode::TOO_MANY_REQUESTS, "");
        assert_eq!(e.retry_after_delay(), None);
        e.retry_after = Some(" 120 ".into());
        assert_eq!(
            e.retry_after_delay(),
            Some(std::time::Duration::from_secs(120))
        );
        e.retry_after = Some("99999999999999999999999".into());
        assert_eq!(
            e.retry_after_delay(),
            Some(std::time::Duration::from_secs(u64::MAX))
        );
        for not in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1.5", ""] {
            e.retry_after = Some(not.into());
            assert_eq!(e.retry_after_delay(), None, "{not}");
        }
    }

    #[test]
    fn a_transport_error_keeps_its_source_and_compares_without_it() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = TransportError::new(TransportErrorKind::Connect, "refused").with_source(io);
        let source = e.source().expect("the IO error");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(
            e,
            TransportError::new(TransportErrorKind::Connect, "refused")
        );
    }

    #[test]
    fn a_request_error_says_its_scope_and_its_source_is_the_session_error() {
        let session = SessionError::Http(Arc::new(HttpError::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "down",
        )));
        let e = RequestError::from(session.clone());
        assert_eq!(e.session(), Some(&session));
        assert_eq!(e.http().map(|h| h.status.as_u16()), Some(503));
        assert_eq!(e.to_string(), "HTTP 503 Service Unavailable: down");
        let source = e.source().expect("a source");
        assert_eq!(source.to_string(), session.to_string());
        assert!(RequestError::StreamLost.session().is_none());
        let t = TransportError::new(TransportErrorKind::Reset, "eof");
        assert_eq!(t.to_string(), "connection lost: eof");
        assert!(RequestError::Transport(t).source().is_some());
    }

    #[test]
    fn server_text_in_an_error_is_escaped_and_on_one_line() {
        assert_eq!(
            sanitize("a\u{1b}[2J\r\nb\u{9b}c\u{202e}"),
            "a\\x1b[2J  b\\u{9b}c\\u{202e}"
        );
        let e = RequestError::Rpc(ErrorObject::new(-1, "\u{7}ding"));
        assert_eq!(e.to_string(), "server error -1: \\x07ding");
    }
}
