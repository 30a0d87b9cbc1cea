//! What each failure does: the whole failure table of DESIGN.md ("What each failure does") as
//! data. A transport or the session classifies what happened into a [`Failure`];
//! [`Policy::effect`] says what it does ([`Effect`]); the session applies it and decides
//! nothing itself. The limits and deadlines the table refers to are [`Policy`]'s fields, and
//! `Policy::default()` is what the README documents.
//!
//! Each row has a unit test here named after it, and a behaviour test that proves it end to end
//! through the [`Session`](crate::Session):
//!
//! | row | unit test | behaviour test (`core/tests/`) |
//! |---|---|---|
//! | 5xx on any exchange | `row_5xx_on_any_exchange_fails_the_session` | `mission_5xx_fails_every_outstanding_request.rs`, `http_failure_policy.rs` |
//! | 404 with `Mcp-Session-Id`, recovery off | `row_404_with_a_session_id_means_the_session_expired` | `http_failure_policy.rs` (`a_404_on_an_exchange_that_carried_the_session_id_*`) |
//! | 404 with `Mcp-Session-Id`, recovery on (default) | `row_404_with_a_session_id_and_recovery_on_starts_a_new_session_within_bounds` | `session_recovery.rs` |
//! | 400 with `Mcp-Session-Id` whose JSON-RPC error names the session (server-everything) | `row_a_400_naming_an_unknown_session_id_is_an_expired_session_too` | `session_recovery.rs` (`a_400_that_names_*`) |
//! | 401 | `row_401_fails_the_session_with_auth_required` | `http_failure_policy.rs` (`a_401_*`) |
//! | non-2xx on `initialize` | `row_any_failure_status_to_initialize_fails_the_session` | `lifecycle.rs` (`a_failure_status_to_initialize_*`) |
//! | 400…429 on a request POST | `row_4xx_on_a_request_post_fails_that_request` | `http_failure_policy.rs` (`a_client_error_on_a_request_post_*`) |
//! | 4xx on a notification POST | `row_4xx_on_a_notification_post_is_a_warning` | `http_failure_policy.rs` (`a_client_error_on_a_notification_post_*`) |
//! | 400/404/405 on the GET stream | `row_400_404_405_on_the_get_stream_mean_no_server_stream` | `http_failure_policy.rs` (`a_400_or_405_on_the_get_stream_*`) |
//! | 2xx body not JSON-RPC, wrong content type | `row_a_2xx_body_that_is_not_json_rpc_fails_the_request` | `http_response_bodies.rs` |
//! | 202/204, or a body without the response | `row_no_response_in_a_2xx_fails_the_request` | `http_response_bodies.rs` |
//! | SSE ends before the response, event id seen | `row_a_stream_that_ends_with_an_event_id_is_resumed_within_bounds` | `sse_resumption.rs`, `hostile_servers.rs` |
//! | SSE ends before the response, no event id | `row_a_stream_that_ends_without_an_event_id_loses_the_request` | `sse_resumption.rs` |
//! | refused, reset, TLS before the response | `row_a_transport_failure_fails_the_request_or_the_handshake` | `http_transport_failures.rs` |
//! | child exits, stdout closes | `row_the_child_exiting_fails_the_session` | `stdio_transport.rs` |
//! | a stdout line or event that is not JSON-RPC | `row_a_message_that_is_not_json_rpc_is_a_warning` | `stdio_transport.rs`, `http_response_bodies.rs` |
//! | over the message limit | `row_a_message_over_the_limit_fails_the_request_or_the_stdio_session` | `concurrent_requests_and_limits.rs`, `stdio_transport.rs` |
//! | the deadline passes | `row_a_deadline_abandons_the_request` | `deadlines_and_cancellation.rs` |
//! | the application cancels | `row_the_application_cancelling_abandons_the_request` | `deadlines_and_cancellation.rs` |
//! | JSON-RPC error response | `row_a_json_rpc_error_fails_the_request` | `server_requests_and_notifications.rs` |
//! | the send backlog at its limit | `row_the_send_backlog_at_its_limit_fails_the_request_or_the_session` | `hostile_servers.rs` |
//! | every reconnect | `row_every_reconnect_waits_a_floor_and_backs_off` | `hostile_servers.rs`, `sse_resumption.rs` |
//! | the GET stream ends | `row_the_get_stream_is_reopened_within_bounds` | `hostile_servers.rs`, `server_requests_and_notifications.rs` |
//! | an unsupported protocol version, an invalid handshake answer | `row_a_bad_handshake_answer_fails_the_session` | `lifecycle.rs` |
//! | more exchanges than the cap | (no effect: the transport queues) | `hostile_servers.rs` (`at_most_max_concurrent_exchanges_*`) |
//! | 2026-07-28: a 4xx to the probe (`server/discover`) | `row_2026_a_client_error_to_the_probe_fails_only_the_probe` | `revision_2026.rs` (`a_2025_server_that_refuses_the_probe_*`, `pinned_to_2026_*`) |
//! | 2026-07-28: -32022 unsupported version | `row_2026_a_version_error_is_retried_once_with_a_listed_version` | `revision_2026.rs` (`a_version_error_to_*`) |
//! | 2026-07-28: a broken response stream | `row_2026_a_broken_stream_is_issued_again_within_bounds` | `revision_2026.rs` (`a_broken_stream_*`, `a_subscription_is_acknowledged_*`) |
//! | 2026-07-28: -32020, -32021 | `row_2026_the_revisions_errors_are_typed` | `revision_2026.rs` (`header_mismatch_and_*`) |
//! | 2026-07-28: `input_required` | (no failure: the session's rounds, bounded by `max_input_rounds`) | `revision_2026.rs` (`an_input_required_round_*`, `rounds_are_bounded_*`) |
//! | 401 with an authorizer | `row_401_with_an_authorizer_holds_the_request_for_the_flow` | `authorization.rs` |
//! | 403 `insufficient_scope` with an authorizer | `row_403_insufficient_scope_with_an_authorizer_is_step_up` | `authorization.rs` (`step_up_*`) |
//! | HTTP+SSE: `initialize` over Streamable HTTP refused with 400/404/405 | `row_http_sse_an_initialize_refused_with_400_404_405_falls_back_to_the_event_stream` | `legacy_sse.rs` (`an_initialize_refused_*`, `the_default_revision_probes_*`, `no_fallback_*`) |
//! | HTTP+SSE: the event stream ends, fails, is refused, has no `endpoint` in time, names another origin | `row_http_sse_the_event_stream_failing_or_refused_fails_the_session` | `legacy_sse.rs` (`a_dropped_event_stream_*`, `no_endpoint_event_*`, `an_endpoint_of_another_origin_*`, `a_get_answered_without_*`) |
//! | 307/308 to the same origin | `row_a_307_or_308_to_the_same_origin_is_followed_within_bounds` | `redirects.rs` (`a_307_*`, `a_308_*`, `a_redirect_loop_*`, `a_resuming_get_*`) |
//! | any other redirect, another origin | `row_any_other_redirect_is_a_typed_error_naming_the_location` | `redirects.rs` (`a_301_*`, `another_origin_*`, `a_redirect_without_*`, `a_redirected_notification_*`) |

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::error::{
    HttpError, LegacySseError, Limit, ProtocolError, RedirectError, RedirectRefusal, RequestError,
    SessionError, TransportError,
};
use crate::jsonrpc::ErrorObject;
use crate::output::Warning;

/// How far a failure reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// Every outstanding request fails with the same error and the session closes.
    Session,
    /// Only the request the failure belongs to fails.
    Request,
}

/// Limits, deadlines and scopes. `Policy::default()` is the documented default policy; the
/// `with_*` methods change one field each. It is serde data (a [recording](crate::record)
/// carries it); a field missing when deserializing takes its default.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Policy {
    /// What a 5xx on any exchange does. Default: [`Scope::Session`].
    pub server_error_scope: Scope,
    /// The deadline of a request that sets none. Default: 60 s.
    pub request_timeout: Duration,
    /// Whether a progress notification for a request pushes its deadline back by its timeout.
    /// Default: true.
    pub progress_resets_timeout: bool,
    /// The latest a request may run, counted from its start, however much progress it reports.
    /// Default: 10 minutes.
    pub max_request_time: Duration,
    /// The longest a task-augmented request (2025-11-25) waits for its task when the caller
    /// gave no timeout, counted from its start; its task's TTL bounds it too. Default: 24
    /// hours.
    pub max_task_wait: Duration,
    /// 2025-11-25, the client as a task receiver ([`HostedTasks`](crate::HostedTasks)): at
    /// most this many tasks the server created on the client are kept at once (working, or
    /// ended and waiting for their TTL). A task-augmented request over it is answered with a
    /// JSON-RPC error (-32603). Default: 32.
    pub max_hosted_tasks: usize,
    /// The most bytes the hosted tasks keep: their results (as the JSON sent back), status
    /// messages, and the ids of the requests kept for them (the task's, the waiting
    /// `tasks/result`s'), with a few hundred bytes reserved per task. A task-augmented
    /// request that finds no room is answered with a JSON-RPC error (-32603); a result that
    /// does not fit ends its task `failed`, with an error saying so. Default: 16 MiB.
    pub max_hosted_task_bytes: usize,
    /// The longest TTL a hosted task gets (the server's `task.ttl` is cut to it, and is at
    /// least 1 s); a server that asks none gets this. When it passes, the task and its result
    /// are forgotten, a handler still working is withdrawn
    /// ([`Event::RequestWithdrawn`](crate::Event::RequestWithdrawn)), and the task's id is
    /// unknown from then on. Default: 1 hour.
    pub max_hosted_task_ttl: Duration,
    /// The largest JSON message, HTTP body or SSE event, in bytes. Default: 16 MiB.
    pub max_message_size: usize,
    /// The longest SSE line, in bytes. Default: 16 MiB.
    pub max_sse_line: usize,
    /// At most this many requests outstanding at once; `None` for no cap. Default: `None`.
    pub max_outstanding: Option<usize>,
    /// How many times in a row a request's SSE stream is resumed without anything new (no
    /// message, no new event id) before the request fails with
    /// [`RequestError::StreamLost`]. Default: 3.
    pub max_resume_attempts: u32,
    /// How long the handshake waits for the server to answer the GET stream before the
    /// session is ready without it. Default: 1 s.
    pub server_stream_wait: Duration,
    /// How long to wait before resuming a stream when the server sent no `retry`. Default: 1 s.
    pub default_retry: Duration,
    /// The longest `retry` the client honours; a larger one is cut to this. Default: 30 s.
    pub max_retry: Duration,
    /// The shortest wait before any reconnect (resuming a request's stream, reopening the GET
    /// stream), whatever `retry` the server sends: a server cannot make the client reconnect
    /// in a tight loop. Default: 100 ms.
    pub min_retry: Duration,
    /// How many times in all one request's stream may be resumed, and how many times in a row
    /// the GET stream may be reopened without it bringing a message. Past it the request fails
    /// with [`RequestError::StreamLost`], or the client goes on without a GET stream (a
    /// warning). Each reconnect after a stream that brought no message waits twice as long as
    /// the one before, up to `max_retry`. Default: 100.
    pub max_reconnects: u32,
    /// At most this many HTTP exchanges (and so connections) open at once; more wait, in
    /// order, until one ends. Default: 64.
    pub max_concurrent_exchanges: usize,
    /// The most bytes that may wait to be sent: messages queued before the session is ready,
    /// HTTP requests waiting for a free exchange, and stdin bytes the child has not read yet.
    /// A request that would pass it fails at once with [`RequestError::LimitReached`]; an
    /// answer the client owes the server (a `ping`'s) that would pass it fails the session,
    /// since a server that stops reading while it keeps asking would make the client hold ever
    /// more. Default: 32 MiB.
    pub max_send_backlog: usize,
    /// How much of a failed response's body is read, for a JSON-RPC error or an excerpt.
    /// Default: 64 KiB.
    pub error_body_max: usize,
    /// How long the rest of a failed response's body is waited for before the failure is
    /// reported without it. Default: 1 s.
    pub error_body_wait: Duration,
    /// How long the exchanges the server should still hear from a session that ended (a
    /// cancellation, the closing `DELETE`) may go on after it; the rest are aborted at once.
    /// Default: 2 s.
    pub linger: Duration,
    /// 2026-07-28: how many times a request whose response stream broke before its answer is
    /// issued again (the revision has no resumption: a broken stream loses the request, and
    /// the client issues it again with a new id). Each time is an
    /// [`Event::Warning`](crate::Event::Warning) ([`Warning::Reissued`]). Default: 2.
    pub max_reissues: u32,
    /// 2026-07-28: how many `input_required` rounds one request may take before it fails with
    /// [`RequestError::Input`]. Default: 16.
    pub max_input_rounds: u32,
    /// How long the probe of the 2026-07-28 revision (`server/discover`) is waited for over
    /// stdio before the server is taken for one of the handshake's revisions (a server of
    /// those may not answer a request before `initialize` at all). Over HTTP the probe has the
    /// request timeout (and over stdio never more than it). Default: 5 s.
    pub probe_timeout: Duration,
    /// The deadline of each opening request (`initialize`, or the probe `server/discover`),
    /// apart from the calls': starting a server (`npx` fetching a package) may take far
    /// longer than any call should. `None` for [`request_timeout`](Policy::request_timeout).
    /// Default: `None`.
    pub handshake_timeout: Option<Duration>,
    /// How many 307 or 308 redirects to the same origin one exchange follows; one more is
    /// [`RequestError::Redirect`] ([`RedirectRefusal::TooMany`]). Default: 5.
    pub max_redirects: u32,
    /// The 2025 era over HTTP: whether a 404 to an exchange that carried `Mcp-Session-Id`
    /// (the server forgot the session; also a 400 whose JSON-RPC error names the session, as
    /// server-everything answers) starts a new session rather than failing this one.
    /// With it, the requests in flight fail with [`RequestError::SessionExpired`] and are
    /// never sent again (a `tools/call` may have had its effect), an
    /// [`Event::SessionExpired`](crate::Event::SessionExpired) says so, and a new
    /// `initialize` goes out; the requests started meanwhile wait for it. Without it the
    /// session fails with [`SessionError::SessionExpired`]. Default: true.
    pub recover_expired_sessions: bool,
    /// How many times in a row the session may start again after its session expired with
    /// no request answered in between; one more expiry (or a 404 to the new `initialize`)
    /// fails the session with [`SessionError::SessionExpired`]: a server that forgets every
    /// session cannot make the client re-initialize forever. Default: 3.
    pub max_session_recoveries: u32,
    /// Whether a Streamable HTTP `initialize` answered 400, 404 or 405 falls back to the
    /// 2024-11-05 HTTP+SSE transport (GET the URL for an event stream whose first event is
    /// `endpoint`), as the 2025-11-25 specification's backwards-compatibility section says.
    /// Default: true.
    pub legacy_sse_fallback: bool,
    /// 2026-07-28: whether every request declares the tasks extension
    /// (`io.modelcontextprotocol/tasks`, SEP-2663) in its client capabilities, so that a
    /// server may answer a `tools/call` with a task, which the client then follows
    /// (`tasks/get` at the server's interval, input through `tasks/update`) until it ends:
    /// the call completes with the tool's result as if there had been no task. Such a wait is
    /// bounded by the call's deadline (its timeout, or
    /// [`request_timeout`](Policy::request_timeout)), or by
    /// [`max_task_wait`](Policy::max_task_wait) for a call made as a task
    /// (`RequestOptions::with_task`). Without it, a server that can only answer with a task
    /// answers `-32021` (missing capability). Default: true; missing from a serialized
    /// policy (a recording made before the client knew the extension): false, as that
    /// client was, so that the recording replays byte for byte.
    #[serde(default)]
    pub tasks_extension: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            server_error_scope: Scope::Session,
            request_timeout: Duration::from_secs(60),
            progress_resets_timeout: true,
            max_request_time: Duration::from_secs(600),
            max_task_wait: Duration::from_secs(24 * 3600),
            max_hosted_tasks: 32,
            max_hosted_task_bytes: 16 << 20,
            max_hosted_task_ttl: Duration::from_secs(3600),
            max_message_size: 16 << 20,
            max_sse_line: 16 << 20,
            max_outstanding: None,
            max_resume_attempts: 3,
            server_stream_wait: Duration::from_secs(1),
            default_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
            min_retry: Duration::from_millis(100),
            max_reconnects: 100,
            max_concurrent_exchanges: 64,
            max_send_backlog: 32 << 20,
            error_body_max: 64 << 10,
            error_body_wait: Duration::from_secs(1),
            linger: Duration::from_secs(2),
            max_reissues: 2,
            max_input_rounds: 16,
            probe_timeout: Duration::from_secs(5),
            handshake_timeout: None,
            max_redirects: 5,
            recover_expired_sessions: true,
            max_session_recoveries: 3,
            legacy_sse_fallback: true,
            tasks_extension: true,
        }
    }
}

macro_rules! with {
    ($($(#[$doc:meta])* $name:ident: $field:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$field = value;
            self
        }
    )*};
}

impl Policy {
    with! {
        /// Sets [`server_error_scope`](Policy::server_error_scope).
        with_server_error_scope: server_error_scope: Scope;
        /// Sets [`request_timeout`](Policy::request_timeout).
        with_request_timeout: request_timeout: Duration;
        /// Sets [`progress_resets_timeout`](Policy::progress_resets_timeout).
        with_progress_resets_timeout: progress_resets_timeout: bool;
        /// Sets [`max_request_time`](Policy::max_request_time).
        with_max_request_time: max_request_time: Duration;
        /// Sets [`max_task_wait`](Policy::max_task_wait).
        with_max_task_wait: max_task_wait: Duration;
        /// Sets [`max_hosted_tasks`](Policy::max_hosted_tasks).
        with_max_hosted_tasks: max_hosted_tasks: usize;
        /// Sets [`max_hosted_task_bytes`](Policy::max_hosted_task_bytes).
        with_max_hosted_task_bytes: max_hosted_task_bytes: usize;
        /// Sets [`max_hosted_task_ttl`](Policy::max_hosted_task_ttl).
        with_max_hosted_task_ttl: max_hosted_task_ttl: Duration;
        /// Sets [`max_message_size`](Policy::max_message_size).
        with_max_message_size: max_message_size: usize;
        /// Sets [`max_sse_line`](Policy::max_sse_line).
        with_max_sse_line: max_sse_line: usize;
        /// Sets [`max_outstanding`](Policy::max_outstanding).
        with_max_outstanding: max_outstanding: Option<usize>;
        /// Sets [`max_resume_attempts`](Policy::max_resume_attempts).
        with_max_resume_attempts: max_resume_attempts: u32;
        /// Sets [`server_stream_wait`](Policy::server_stream_wait).
        with_server_stream_wait: server_stream_wait: Duration;
        /// Sets [`default_retry`](Policy::default_retry).
        with_default_retry: default_retry: Duration;
        /// Sets [`max_retry`](Policy::max_retry).
        with_max_retry: max_retry: Duration;
        /// Sets [`min_retry`](Policy::min_retry).
        with_min_retry: min_retry: Duration;
        /// Sets [`max_reconnects`](Policy::max_reconnects).
        with_max_reconnects: max_reconnects: u32;
        /// Sets [`max_concurrent_exchanges`](Policy::max_concurrent_exchanges).
        with_max_concurrent_exchanges: max_concurrent_exchanges: usize;
        /// Sets [`max_send_backlog`](Policy::max_send_backlog).
        with_max_send_backlog: max_send_backlog: usize;
        /// Sets [`error_body_max`](Policy::error_body_max).
        with_error_body_max: error_body_max: usize;
        /// Sets [`error_body_wait`](Policy::error_body_wait).
        with_error_body_wait: error_body_wait: Duration;
        /// Sets [`linger`](Policy::linger).
        with_linger: linger: Duration;
        /// Sets [`max_reissues`](Policy::max_reissues).
        with_max_reissues: max_reissues: u32;
        /// Sets [`max_input_rounds`](Policy::max_input_rounds).
        with_max_input_rounds: max_input_rounds: u32;
        /// Sets [`probe_timeout`](Policy::probe_timeout).
        with_probe_timeout: probe_timeout: Duration;
        /// Sets [`handshake_timeout`](Policy::handshake_timeout).
        with_handshake_timeout: handshake_timeout: Option<Duration>;
        /// Sets [`max_redirects`](Policy::max_redirects).
        with_max_redirects: max_redirects: u32;
        /// Sets [`recover_expired_sessions`](Policy::recover_expired_sessions).
        with_recover_expired_sessions: recover_expired_sessions: bool;
        /// Sets [`max_session_recoveries`](Policy::max_session_recoveries).
        with_max_session_recoveries: max_session_recoveries: u32;
        /// Sets [`legacy_sse_fallback`](Policy::legacy_sse_fallback).
        with_legacy_sse_fallback: legacy_sse_fallback: bool;
        /// Sets [`tasks_extension`](Policy::tasks_extension).
        with_tasks_extension: tasks_extension: bool;
    }

    /// The deadline of an opening request: [`handshake_timeout`](Policy::handshake_timeout),
    /// else [`request_timeout`](Policy::request_timeout).
    pub fn opening_timeout(&self) -> Duration {
        self.handshake_timeout.unwrap_or(self.request_timeout)
    }

    /// How long to wait before reconnecting a stream: the server's `retry` (else
    /// `default_retry`) within `min_retry..=max_retry`, doubled for each stream in a row that
    /// ended without bringing a message beyond the first (`empty_in_a_row` counts the one that
    /// just ended), and never more than `max_retry`.
    pub fn reconnect_delay(&self, retry: Option<Duration>, empty_in_a_row: u32) -> Duration {
        let max = self.max_retry.max(self.min_retry);
        let base = retry
            .unwrap_or(self.default_retry)
            .clamp(self.min_retry, max);
        let doublings = empty_in_a_row.saturating_sub(1).min(31);
        base.saturating_mul(1 << doublings).min(max)
    }
}

/// What an exchange is for: the failure policy depends on it, and an adapter may too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeKind {
    /// The POST of the handshake's request (`initialize`).
    Initialize,
    /// The POST of the 2026-07-28 revision's probe (`server/discover`): what its failure
    /// says decides the revision, so a 4xx fails only the probe.
    Discover,
    /// The POST of any other request.
    Request,
    /// A GET resuming a request's stream with `Last-Event-ID`.
    Resume,
    /// The POST of a notification or of a response to a server request.
    Notification,
    /// The optional GET stream for server messages.
    ServerStream,
    /// The DELETE that ends the session.
    Delete,
    /// A request of the OAuth flow (metadata, registration, token): to the MCP server's
    /// origin or another, with an absolute URI; its answer goes to the flow whatever its
    /// status.
    Auth,
    /// The 2024-11-05 HTTP+SSE transport's event stream (a GET): every message from the
    /// server comes on it, and the session lasts as long as it does.
    EventStream,
}

/// Where a stream stands when it ends: what the reconnect rows depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    /// The server gave an event id the stream can be resumed from.
    pub resumable: bool,
    /// The server's `retry`, if it sent one.
    pub retry: Option<Duration>,
    /// Resumed streams in a row that brought nothing new (no message, no new event id),
    /// counting the one that just ended (0 when it brought something).
    pub fruitless: u32,
    /// Streams in a row that ended without a message, counting this one.
    pub empty: u32,
    /// Reconnects so far: in all for a request's stream; in a row without a message for the
    /// GET stream.
    pub reconnects: u32,
}

/// Where a redirect's `Location` points, as the transport classified it against the URI of
/// the request it answers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RedirectTarget {
    /// The same origin (scheme, host, port): `uri` is the `Location` resolved against the
    /// request's URI; `shown`, sanitized, for an error.
    SameOrigin {
        /// Where the request would go again.
        uri: http::Uri,
        /// The `Location`, sanitized.
        shown: Arc<str>,
    },
    /// Another origin: the `Location`, sanitized.
    OtherOrigin(Arc<str>),
    /// A `Location` that is not a URI the client can follow, sanitized.
    Unparsable(Arc<str>),
    /// No `Location` header.
    Missing,
}

impl RedirectTarget {
    /// The `Location`, sanitized, if there was one.
    pub fn shown(&self) -> Option<Arc<str>> {
        match self {
            RedirectTarget::SameOrigin { shown, .. } => Some(shown.clone()),
            RedirectTarget::OtherOrigin(s) | RedirectTarget::Unparsable(s) => Some(s.clone()),
            RedirectTarget::Missing => None,
        }
    }
}

/// What happened: a failure classified by a transport or by the session, the input of the
/// table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// A response head. `www_authenticate` and `retry_after` are the headers' excerpts.
    Status {
        /// What the exchange was for.
        kind: ExchangeKind,
        /// Its status.
        status: StatusCode,
        /// It carried `Mcp-Session-Id`.
        carried_session: bool,
        /// The method it carried (for a warning).
        method: Arc<str>,
        /// The `WWW-Authenticate` header, capped and escaped.
        www_authenticate: Option<Arc<str>>,
        /// The `WWW-Authenticate` headers as sent and a `DPoP-Nonce`, for the OAuth flow.
        challenge: Option<Box<http::HeaderMap>>,
        /// An OAuth flow is configured (the session says: the transport does not know).
        authorizer: bool,
        /// How many times in a row the session started again after its session expired,
        /// with no request answered since (the session says; 0 for the first session, or
        /// once a request of the new one was answered).
        recoveries: u32,
        /// It is the handshake's POST over Streamable HTTP, which may fall back to the
        /// 2024-11-05 HTTP+SSE transport.
        fallback: bool,
    },
    /// A 3xx answer: a redirect.
    Redirect {
        /// What the exchange was for.
        kind: ExchangeKind,
        /// Its status.
        status: StatusCode,
        /// Where it points.
        target: RedirectTarget,
        /// How many redirects this exchange followed before it.
        hops: u32,
        /// The method it carried (for a warning).
        method: Arc<str>,
    },
    /// A failure status's body (or as much as was read of it): what fails with it.
    ErrorBody {
        /// The failure scope the status was given.
        scope: Scope,
        /// The error it becomes.
        error: Arc<HttpError>,
        /// The exchange carried `Mcp-Session-Id`.
        carried_session: bool,
        /// As in [`Failure::Status`] (the session says).
        recoveries: u32,
    },
    /// A 2xx answer to a request with a content type that is neither JSON nor an event stream.
    UnexpectedContentType(Arc<str>),
    /// A 2xx that cannot carry the response (202, 204), or a JSON body without it.
    NoResponse,
    /// A JSON body (the whole answer) that is not JSON-RPC.
    InvalidBody(Arc<str>),
    /// A stdout line or an SSE event that is not JSON-RPC (it cannot be known to be the
    /// answer; the answer may come next).
    InvalidMessage {
        /// Why.
        error: String,
        /// Its beginning, escaped.
        excerpt: String,
    },
    /// The stream that carried (or was to carry) a request's answer ended before it.
    StreamEnded {
        /// Where it stands.
        state: StreamState,
        /// The transport error that ended it, if any.
        error: Option<TransportError>,
    },
    /// 2026-07-28: the stream that carried (or was to carry) a request's answer ended before
    /// it; the revision has no resumption.
    StreamBroken {
        /// Where it stands (`reconnects`: how many times the request was issued again).
        state: StreamState,
        /// The transport error that ended it, if any.
        error: Option<TransportError>,
        /// It is a `subscriptions/listen` stream (it is opened again after a delay, like the
        /// GET stream, rather than failing).
        listen: bool,
    },
    /// 2026-07-28: the server does not speak the request's protocol version (-32022).
    VersionRejected {
        /// The version the request was sent with.
        requested: Arc<str>,
        /// The versions the server lists.
        supported: Vec<String>,
        /// The request was already sent again once for a version error.
        retried: bool,
    },
    /// The optional GET stream ended.
    ServerStreamEnded {
        /// Where it stands.
        state: StreamState,
        /// Why, if it failed.
        error: Option<TransportError>,
    },
    /// An exchange failed in the transport before it had an answer.
    ExchangeFailed {
        /// What the exchange was for.
        kind: ExchangeKind,
        /// The method it carried (for a warning).
        method: Arc<str>,
        /// What failed.
        error: TransportError,
    },
    /// A body or SSE event of an exchange over the message limit.
    TooLargeOnExchange {
        /// What the exchange was for.
        kind: ExchangeKind,
        /// The limit.
        limit: usize,
    },
    /// A stdout line over the message limit.
    TooLargeOnStdout {
        /// The limit.
        limit: usize,
    },
    /// The child exited (`code`) or closed its stdout (`None`).
    ProcessExited {
        /// Its exit code.
        code: Option<i32>,
    },
    /// Writing to the child's stdin failed.
    WriteFailed(TransportError),
    /// A request's deadline passed.
    DeadlinePassed {
        /// How long it was allowed to run.
        after: Duration,
        /// How many server messages were skipped while it waited.
        skipped: u64,
    },
    /// The application cancelled a request.
    Cancelled,
    /// A JSON-RPC error response to a request.
    RpcError(ErrorObject),
    /// A message would take the send backlog past its limit; `owed` when it is an answer the
    /// client owes the server.
    SendBacklog {
        /// The limit.
        limit: usize,
        /// It is an answer to a server request.
        owed: bool,
    },
    /// The GET stream was answered 2xx without an event stream.
    NotAStream {
        /// The status.
        status: StatusCode,
    },
    /// A stream's last event id cannot be sent back as `Last-Event-ID` (it holds a control
    /// character): the stream cannot be resumed.
    UnusableEventId {
        /// The id, escaped.
        id: String,
    },
    /// The handshake's answer chose a version the client does not speak.
    UnsupportedVersion(Arc<str>),
    /// The handshake's answer was not what it must be.
    InvalidHandshake(Arc<str>),
    /// The revision is pinned to 2026-07-28 and the probe's answer says the server does not
    /// speak it.
    NotModern(Arc<str>),
    /// The 2024-11-05 HTTP+SSE transport's event stream failed: it ended, its `endpoint`
    /// event never came or named somewhere the client does not post to.
    LegacySse(LegacySseError),
}

/// What a [`Failure`] does.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// A 2xx: read the answer.
    Proceed,
    /// Every outstanding request fails with this error and the session closes.
    FailSession(SessionError),
    /// The request fails because of what the server did; its exchange is aborted.
    FailRequest(RequestError),
    /// The client gives up on the request: it fails, its exchange is aborted, and the server
    /// is told (`notifications/cancelled`).
    Abandon(RequestError),
    /// Read the failure's body (at most `max` bytes, for at most `wait`) for its excerpt and a
    /// JSON-RPC error; then [`Failure::ErrorBody`] with `scope`.
    ReadErrorBody {
        /// Who fails once the body is read.
        scope: Scope,
        /// How much of it.
        max: usize,
        /// How long to wait for it.
        wait: Duration,
    },
    /// Nothing fails; the application is warned.
    Warn(Warning),
    /// Reconnect the stream after this long.
    Reconnect {
        /// The wait.
        after: Duration,
    },
    /// The server offers no GET stream: not an error, and not asked again.
    NoServerStream,
    /// Issue the request again, with a new id, after this long (2026-07-28: a broken
    /// stream); a [`Warning::Reissued`] says so.
    Reissue {
        /// The wait.
        after: Duration,
    },
    /// Issue the request again with this protocol version (2026-07-28: the server listed it).
    RetryWithVersion(&'static str),
    /// Authorization is needed: the OAuth flow takes the challenge; the request (and every
    /// later one) waits for its token and goes again once, or fails with its error.
    Authorize,
    /// Send the exchange again, the same method, headers and body, to this URI (a 307 or 308
    /// to the same origin).
    Redirect {
        /// Where.
        to: http::Uri,
    },
    /// The server forgot the session (2025 era: a 404 to an exchange that carried
    /// `Mcp-Session-Id`): every request in flight fails with
    /// [`RequestError::SessionExpired`] and is never sent again, and a new session starts
    /// with a new `initialize`; the requests not sent yet, and those started meanwhile, wait
    /// for it.
    Reinitialize,
    /// Nothing to do (the answer to a `DELETE`, a GET stream that is not resumable).
    Ignore,
}

impl Policy {
    /// The table: what `failure` does under this policy.
    pub fn effect(&self, failure: &Failure) -> Effect {
        use Effect::*;
        match failure {
            Failure::Status {
                kind,
                status,
                carried_session,
                method,
                www_authenticate,
                authorizer,
                recoveries,
                fallback,
                ..
            } => {
                let step_up = www_authenticate
                    .as_deref()
                    .is_some_and(|w| w.contains("insufficient_scope"));
                let code = status.as_u16();
                let asks = code == 401 || (code == 403 && step_up);
                if *authorizer && asks && !matches!(kind, ExchangeKind::Delete | ExchangeKind::Auth)
                {
                    return Authorize;
                }
                if code == 404 && *recoveries > 0 && *kind == ExchangeKind::Initialize {
                    // The new session's `initialize` is not found either.
                    return FailSession(SessionError::SessionExpired);
                }
                // Streamable HTTP's `initialize` refused as a method or path the server does
                // not have: only the handshake fails, and the lifecycle tries HTTP+SSE.
                if *fallback
                    && self.legacy_sse_fallback
                    && *kind == ExchangeKind::Initialize
                    && matches!(code, 400 | 404 | 405)
                {
                    return ReadErrorBody {
                        scope: Scope::Request,
                        max: self.error_body_max,
                        wait: self.error_body_wait,
                    };
                }
                // (The GET stream is optional: a 404 there only says the server offers none;
                // a session that really expired fails on the next POST.)
                let posted = matches!(
                    kind,
                    ExchangeKind::Request | ExchangeKind::Resume | ExchangeKind::Notification
                );
                if code == 404 && *carried_session && posted {
                    let within = *recoveries < self.max_session_recoveries;
                    return match self.recover_expired_sessions && within {
                        true => Reinitialize,
                        false => FailSession(SessionError::SessionExpired),
                    };
                }
                self.status(*kind, *status, method, www_authenticate)
            }
            Failure::Redirect {
                kind,
                status,
                target,
                hops,
                method,
            } => self.redirect(*kind, *status, target, *hops, method),
            Failure::ErrorBody {
                scope: Scope::Request,
                error,
                carried_session: true,
                recoveries,
            } if self.recover_expired_sessions && names_an_unknown_session(error) => {
                match *recoveries < self.max_session_recoveries {
                    true => Reinitialize,
                    false => FailSession(SessionError::SessionExpired),
                }
            }
            Failure::ErrorBody { scope, error, .. } => match (scope, error.rpc.as_ref()) {
                (Scope::Session, _) => FailSession(SessionError::Http(error.clone())),
                (Scope::Request, Some(rpc)) if typed(rpc).is_some() => {
                    FailRequest(typed(rpc).unwrap_or(RequestError::Rpc(rpc.clone())))
                }
                (Scope::Request, _) => FailRequest(RequestError::Http(error.clone())),
            },
            Failure::UnexpectedContentType(c) => FailRequest(RequestError::Protocol(
                ProtocolError::UnexpectedContentType(c.clone()),
            )),
            Failure::NoResponse => FailRequest(RequestError::Protocol(ProtocolError::NoResponse)),
            Failure::InvalidBody(e) => FailRequest(RequestError::Protocol(
                ProtocolError::InvalidJson(e.clone()),
            )),
            Failure::InvalidMessage { error, excerpt } => Warn(Warning::InvalidMessage {
                error: error.clone(),
                excerpt: excerpt.clone(),
            }),
            Failure::StreamEnded { state, error } => {
                let within = state.fruitless < self.max_resume_attempts
                    && state.reconnects < self.max_reconnects;
                if state.resumable && within {
                    Reconnect {
                        after: self.reconnect_delay(state.retry, state.empty),
                    }
                } else {
                    FailRequest(match error {
                        Some(e) if !state.resumable => RequestError::Transport(e.clone()),
                        _ => RequestError::StreamLost,
                    })
                }
            }
            Failure::ServerStreamEnded { state, error } => {
                let can = state.resumable || state.retry.is_some();
                let capped = state.reconnects >= self.max_reconnects;
                if can && state.fruitless < self.max_resume_attempts && !capped {
                    Reconnect {
                        after: self.reconnect_delay(state.retry, state.empty),
                    }
                } else if can && capped {
                    Warn(Warning::ServerStreamLost {
                        reason: format!(
                            "reopened {} times in a row without a message",
                            self.max_reconnects
                        ),
                    })
                } else if let Some(e) = error {
                    Warn(Warning::ServerStreamLost {
                        reason: e.message.to_string(),
                    })
                } else {
                    Ignore
                }
            }
            Failure::ExchangeFailed {
                kind,
                method,
                error,
            } => match kind {
                ExchangeKind::Initialize | ExchangeKind::Discover => {
                    FailSession(SessionError::Transport(error.clone()))
                }
                ExchangeKind::EventStream => FailSession(SessionError::LegacySse(
                    LegacySseError::StreamEnded(Some(error.clone())),
                )),
                ExchangeKind::Request | ExchangeKind::Resume => {
                    FailRequest(RequestError::Transport(error.clone()))
                }
                ExchangeKind::Notification => Warn(Warning::NotificationFailed {
                    method: method.to_string(),
                    reason: error.message.to_string(),
                }),
                ExchangeKind::ServerStream => Warn(Warning::ServerStreamLost {
                    reason: error.message.to_string(),
                }),
                ExchangeKind::Delete | ExchangeKind::Auth => Ignore,
            },
            Failure::TooLargeOnExchange { kind, limit } => match kind {
                ExchangeKind::ServerStream => Warn(Warning::ServerStreamLost {
                    reason: RequestError::TooLarge { limit: *limit }.to_string(),
                }),
                ExchangeKind::Initialize | ExchangeKind::Discover | ExchangeKind::EventStream => {
                    FailSession(SessionError::TooLarge { limit: *limit })
                }
                _ => FailRequest(RequestError::TooLarge { limit: *limit }),
            },
            Failure::TooLargeOnStdout { limit } => {
                FailSession(SessionError::TooLarge { limit: *limit })
            }
            Failure::ProcessExited { code } => {
                FailSession(SessionError::ProcessExited { code: *code })
            }
            Failure::WriteFailed(e) => FailSession(SessionError::Transport(e.clone())),
            Failure::DeadlinePassed { after, skipped } => Abandon(RequestError::Timeout {
                after: *after,
                skipped: *skipped,
            }),
            Failure::Cancelled => Abandon(RequestError::Cancelled),
            Failure::RpcError(e) => FailRequest(typed(e).unwrap_or(RequestError::Rpc(e.clone()))),
            Failure::StreamBroken {
                state,
                error,
                listen,
            } => {
                let within = if *listen {
                    state.reconnects < self.max_reconnects
                } else {
                    state.reconnects < self.max_reissues
                };
                if within {
                    Reissue {
                        after: self.reconnect_delay(
                            Some(state.retry.unwrap_or(self.min_retry)),
                            state.empty.max(1),
                        ),
                    }
                } else {
                    FailRequest(match error {
                        Some(e) => RequestError::Transport(e.clone()),
                        None => RequestError::StreamLost,
                    })
                }
            }
            Failure::VersionRejected {
                requested,
                supported,
                retried,
            } => {
                let ours = crate::session::MODERN_PROTOCOL_VERSIONS
                    .iter()
                    .find(|v| supported.iter().any(|s| s == *v));
                match ours {
                    Some(v) if !retried => RetryWithVersion(v),
                    _ => FailRequest(RequestError::UnsupportedVersion {
                        requested: requested.clone(),
                        supported: supported.clone(),
                    }),
                }
            }
            Failure::SendBacklog { limit, owed } => {
                let what = Limit::SendBacklog;
                let limit = *limit;
                if *owed {
                    FailSession(SessionError::LimitReached { what, limit })
                } else {
                    FailRequest(RequestError::LimitReached { what, limit })
                }
            }
            Failure::NotAStream { status } => {
                Warn(Warning::ServerStreamRejected { status: *status })
            }
            Failure::UnusableEventId { id } => Warn(Warning::UnusableEventId { id: id.clone() }),
            Failure::UnsupportedVersion(v) => {
                FailSession(SessionError::UnsupportedProtocolVersion(v.clone()))
            }
            Failure::InvalidHandshake(e) => FailSession(SessionError::Protocol(
                ProtocolError::InvalidInitializeResult(e.clone()),
            )),
            Failure::NotModern(why) => FailSession(SessionError::NotModern(why.clone())),
            Failure::LegacySse(e) => FailSession(SessionError::LegacySse(e.clone())),
        }
    }

    /// The redirect rows: a 307 or 308 to the same origin is followed, at most
    /// `max_redirects` times; any other is a typed error naming the `Location`, of the scope
    /// a failure status of that exchange has.
    fn redirect(
        &self,
        kind: ExchangeKind,
        status: StatusCode,
        target: &RedirectTarget,
        hops: u32,
        method: &str,
    ) -> Effect {
        use Effect::*;
        let keeps_the_request = matches!(status.as_u16(), 307 | 308);
        let reason = match target {
            _ if !keeps_the_request => RedirectRefusal::Status,
            RedirectTarget::Missing => RedirectRefusal::Missing,
            RedirectTarget::Unparsable(_) => RedirectRefusal::Unparsable,
            RedirectTarget::OtherOrigin(_) => RedirectRefusal::OtherOrigin,
            RedirectTarget::SameOrigin { .. } if hops >= self.max_redirects => {
                RedirectRefusal::TooMany {
                    limit: self.max_redirects,
                }
            }
            RedirectTarget::SameOrigin { uri, .. } => {
                return match kind {
                    // Never: the flow's requests are not redirected, and a DELETE's answer
                    // does not matter.
                    ExchangeKind::Auth | ExchangeKind::Delete => Ignore,
                    _ => Redirect { to: uri.clone() },
                };
            }
        };
        let error = Arc::new(RedirectError {
            status,
            location: target.shown(),
            reason,
        });
        match kind {
            ExchangeKind::Initialize | ExchangeKind::Discover | ExchangeKind::EventStream => {
                FailSession(SessionError::Redirect(error))
            }
            ExchangeKind::Request | ExchangeKind::Resume => {
                FailRequest(RequestError::Redirect(error))
            }
            ExchangeKind::Notification => Warn(Warning::NotificationRejected {
                method: method.to_owned(),
                status,
            }),
            ExchangeKind::ServerStream => Warn(Warning::ServerStreamRejected { status }),
            ExchangeKind::Delete | ExchangeKind::Auth => Ignore,
        }
    }

    /// The rows that depend on an HTTP status.
    fn status(
        &self,
        kind: ExchangeKind,
        status: StatusCode,
        method: &str,
        www_authenticate: &Option<Arc<str>>,
    ) -> Effect {
        use Effect::*;
        if kind == ExchangeKind::Delete {
            return Ignore;
        }
        if status.is_success() {
            return Proceed;
        }
        let read = |scope| ReadErrorBody {
            scope,
            max: self.error_body_max,
            wait: self.error_body_wait,
        };
        let code = status.as_u16();
        if code == 401 {
            return FailSession(SessionError::AuthRequired {
                www_authenticate: www_authenticate.clone(),
            });
        }
        // The handshake, and the HTTP+SSE event stream that every answer comes on.
        if matches!(kind, ExchangeKind::Initialize | ExchangeKind::EventStream) {
            return read(Scope::Session);
        }
        // The probe's 4xx says which revision the server speaks: only the probe fails, and
        // the lifecycle reads the body. A 5xx is the server failing, as anywhere.
        if kind == ExchangeKind::Discover {
            return read(if status.is_server_error() {
                Scope::Session
            } else {
                Scope::Request
            });
        }
        // The GET stream is optional: 400, 404 or 405 only say the server offers none.
        if kind == ExchangeKind::ServerStream && matches!(code, 400 | 404 | 405) {
            return NoServerStream;
        }
        let warn = || match kind {
            ExchangeKind::ServerStream => Warn(Warning::ServerStreamRejected { status }),
            _ => Warn(Warning::NotificationRejected {
                method: method.to_owned(),
                status,
            }),
        };
        if status.is_server_error() {
            return match (self.server_error_scope, kind) {
                (Scope::Session, _) => read(Scope::Session),
                (Scope::Request, ExchangeKind::Request | ExchangeKind::Resume) => {
                    read(Scope::Request)
                }
                (Scope::Request, _) => warn(),
            };
        }
        match kind {
            ExchangeKind::Request | ExchangeKind::Resume => read(Scope::Request),
            _ => warn(),
        }
    }
}

/// Whether a 400 to an exchange that carried `Mcp-Session-Id` says the server does not know
/// the session: its body is a JSON-RPC error whose message names the session ("Bad Request:
/// No valid session ID provided"). The specification wants a 404 there, but the TypeScript
/// SDK's example server, and so server-everything and the servers built after it, answer an
/// unknown session id with this 400.
fn names_an_unknown_session(error: &HttpError) -> bool {
    error.status == StatusCode::BAD_REQUEST
        && error
            .rpc
            .as_ref()
            .is_some_and(|rpc| rpc.message.to_ascii_lowercase().contains("session"))
}

/// The typed error of a JSON-RPC error code the MCP specification reserves (-32020 to
/// -32099), where the client knows it.
fn typed(e: &ErrorObject) -> Option<RequestError> {
    match e.code {
        ErrorObject::HEADER_MISMATCH => Some(RequestError::HeaderMismatch(e.clone())),
        ErrorObject::MISSING_CAPABILITY => Some(RequestError::CapabilityRequired {
            required: e
                .data
                .as_ref()
                .and_then(|d| d.get("requiredCapabilities"))
                .cloned()
                .unwrap_or(serde_json::Value::Null),
            message: e.message.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! One test per row of the failure table, named after it.
    use super::*;
    use http::StatusCode as S;
    use ExchangeKind::*;

    fn status(kind: ExchangeKind, code: u16, carried: bool) -> Effect {
        Policy::default().effect(&Failure::Status {
            kind,
            status: S::from_u16(code).unwrap(),
            carried_session: carried,
            method: "m".into(),
            www_authenticate: Some("Bearer".into()),
            challenge: None,
            authorizer: false,
            recoveries: 0,
            fallback: false,
        })
    }

    /// A status with an OAuth flow configured (`authorizer`) and this challenge.
    fn challenged(kind: ExchangeKind, code: u16, challenge: &str, authorizer: bool) -> Effect {
        Policy::default().effect(&Failure::Status {
            kind,
            status: S::from_u16(code).unwrap(),
            carried_session: false,
            method: "m".into(),
            www_authenticate: Some(challenge.into()),
            challenge: None,
            authorizer,
            recoveries: 0,
            fallback: false,
        })
    }

    fn read(scope: Scope) -> Effect {
        Effect::ReadErrorBody {
            scope,
            max: 64 << 10,
            wait: Duration::from_secs(1),
        }
    }

    fn stream(resumable: bool, fruitless: u32, empty: u32, reconnects: u32) -> StreamState {
        StreamState {
            resumable,
            retry: Some(Duration::from_millis(500)),
            fruitless,
            empty,
            reconnects,
        }
    }

    fn http_error() -> Arc<HttpError> {
        Arc::new(HttpError::new(S::SERVICE_UNAVAILABLE, "down"))
    }

    #[test]
    fn row_5xx_on_any_exchange_fails_the_session() {
        for kind in [Request, Resume, Notification, ServerStream] {
            for code in [500, 502, 503, 504] {
                assert_eq!(
                    status(kind, code, true),
                    read(Scope::Session),
                    "{kind:?} {code}"
                );
            }
        }
        let e = http_error();
        assert_eq!(
            Policy::default().effect(&Failure::ErrorBody {
                scope: Scope::Session,
                error: e.clone(),
                carried_session: true,
                recoveries: 0,
            }),
            Effect::FailSession(SessionError::Http(e))
        );
    }

    #[test]
    fn row_5xx_can_be_made_request_scoped() {
        let p = Policy::default().with_server_error_scope(Scope::Request);
        let f = |kind| Failure::Status {
            kind,
            status: S::SERVICE_UNAVAILABLE,
            carried_session: true,
            method: "notifications/x".into(),
            www_authenticate: None,
            challenge: None,
            authorizer: false,
            recoveries: 0,
            fallback: false,
        };
        assert_eq!(p.effect(&f(Request)), read(Scope::Request));
        assert!(matches!(p.effect(&f(Notification)), Effect::Warn(_)));
        assert_eq!(p.effect(&f(Initialize)), read(Scope::Session));
    }

    /// A 404 to an exchange of `kind` after `recoveries` recoveries in a row, under `p`.
    fn expired(p: &Policy, kind: ExchangeKind, carried: bool, recoveries: u32) -> Effect {
        p.effect(&Failure::Status {
            kind,
            status: S::NOT_FOUND,
            carried_session: carried,
            method: "m".into(),
            www_authenticate: None,
            challenge: None,
            authorizer: false,
            recoveries,
            fallback: false,
        })
    }

    #[test]
    fn row_404_with_a_session_id_means_the_session_expired() {
        let off = Policy::default().with_recover_expired_sessions(false);
        for kind in [Request, Resume, Notification] {
            assert_eq!(
                expired(&off, kind, true, 0),
                Effect::FailSession(SessionError::SessionExpired),
                "{kind:?}"
            );
        }
        assert_eq!(status(Request, 404, false), read(Scope::Request));
    }

    #[test]
    fn row_404_with_a_session_id_and_recovery_on_starts_a_new_session_within_bounds() {
        let p = Policy::default();
        assert!(p.recover_expired_sessions);
        for kind in [Request, Resume, Notification] {
            for recoveries in 0..3 {
                assert_eq!(
                    expired(&p, kind, true, recoveries),
                    Effect::Reinitialize,
                    "{kind:?} {recoveries}"
                );
            }
            // The fourth in a row without an answer between: the server forgets every
            // session.
            assert_eq!(
                expired(&p, kind, true, 3),
                Effect::FailSession(SessionError::SessionExpired)
            );
        }
        // The new `initialize` not found either.
        assert_eq!(
            expired(&p, Initialize, false, 1),
            Effect::FailSession(SessionError::SessionExpired)
        );
        // The first `initialize`'s 404 is any failure status to it.
        assert_eq!(expired(&p, Initialize, false, 0), read(Scope::Session));
        // Without a session id (a server without sessions, or 2026-07-28, which has none),
        // on the optional GET stream, or to the closing DELETE: not an expiry.
        assert_eq!(expired(&p, Request, false, 0), read(Scope::Request));
        assert_eq!(expired(&p, ServerStream, true, 0), Effect::NoServerStream);
        assert_eq!(expired(&p, Delete, true, 0), Effect::Ignore);
        assert_eq!(
            expired(&p.clone().with_max_session_recoveries(0), Request, true, 0),
            Effect::FailSession(SessionError::SessionExpired)
        );
    }

    #[test]
    fn row_a_400_naming_an_unknown_session_id_is_an_expired_session_too() {
        let body = |message: &str| {
            let mut e = HttpError::new(S::BAD_REQUEST, "");
            e.rpc = Some(ErrorObject::new(-32000, message));
            Arc::new(e)
        };
        let effect = |p: &Policy, error, carried, recoveries| {
            p.effect(&Failure::ErrorBody {
                scope: Scope::Request,
                error,
                carried_session: carried,
                recoveries,
            })
        };
        // server-everything's (and the TypeScript SDK example server's) answer.
        let unknown = body("Bad Request: No valid session ID provided");
        let p = Policy::default();
        assert_eq!(effect(&p, unknown.clone(), true, 0), Effect::Reinitialize);
        assert_eq!(
            effect(&p, unknown.clone(), true, 3),
            Effect::FailSession(SessionError::SessionExpired)
        );
        // Without a session id, with another message, or with recovery off: a 400 as any.
        for (p, error, carried) in [
            (p.clone(), unknown.clone(), false),
            (p.clone(), body("Invalid params"), true),
            (
                p.with_recover_expired_sessions(false),
                unknown.clone(),
                true,
            ),
        ] {
            assert_eq!(
                effect(&p, error.clone(), carried, 0),
                Effect::FailRequest(RequestError::Http(error))
            );
        }
    }

    #[test]
    fn row_401_fails_the_session_with_auth_required() {
        for kind in [Initialize, Request, Resume, Notification, ServerStream] {
            assert_eq!(
                status(kind, 401, true),
                Effect::FailSession(SessionError::AuthRequired {
                    www_authenticate: Some("Bearer".into())
                }),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn row_any_failure_status_to_initialize_fails_the_session() {
        for code in [301, 400, 403, 404, 405, 406, 409, 429, 500, 503] {
            assert_eq!(
                status(Initialize, code, false),
                read(Scope::Session),
                "{code}"
            );
        }
    }

    #[test]
    fn row_http_sse_an_initialize_refused_with_400_404_405_falls_back_to_the_event_stream() {
        let over_streamable = |policy: &Policy, code: u16| {
            policy.effect(&Failure::Status {
                kind: Initialize,
                status: S::from_u16(code).unwrap(),
                carried_session: false,
                method: "initialize".into(),
                www_authenticate: None,
                challenge: None,
                authorizer: false,
                recoveries: 0,
                fallback: true,
            })
        };
        let on = Policy::default();
        let off = Policy::default().with_legacy_sse_fallback(false);
        for code in [400, 404, 405] {
            // Only the handshake fails; the lifecycle GETs the event stream.
            assert_eq!(over_streamable(&on, code), read(Scope::Request), "{code}");
            assert_eq!(over_streamable(&off, code), read(Scope::Session), "{code}");
            // Already on HTTP+SSE (`fallback` false): the session fails.
            assert_eq!(
                status(Initialize, code, false),
                read(Scope::Session),
                "{code}"
            );
        }
        for code in [401, 403, 406, 500] {
            assert_ne!(over_streamable(&on, code), read(Scope::Request), "{code}");
        }
    }

    #[test]
    fn row_http_sse_the_event_stream_failing_or_refused_fails_the_session() {
        let p = Policy::default();
        for code in [400, 404, 405, 500] {
            assert_eq!(
                status(EventStream, code, false),
                read(Scope::Session),
                "{code}"
            );
        }
        for e in [
            LegacySseError::StreamEnded(None),
            LegacySseError::NoEndpoint {
                after: Duration::from_secs(60),
            },
            LegacySseError::OtherOrigin("http://elsewhere/".into()),
            LegacySseError::BadEndpoint("".into()),
            LegacySseError::NotAStream(None),
        ] {
            assert_eq!(
                p.effect(&Failure::LegacySse(e.clone())),
                Effect::FailSession(SessionError::LegacySse(e))
            );
        }
        let reset = TransportError::new(crate::TransportErrorKind::Reset, "reset");
        assert_eq!(
            p.effect(&Failure::ExchangeFailed {
                kind: EventStream,
                method: "GET".into(),
                error: reset.clone(),
            }),
            Effect::FailSession(SessionError::LegacySse(LegacySseError::StreamEnded(Some(
                reset
            ))))
        );
        assert_eq!(
            p.effect(&Failure::TooLargeOnExchange {
                kind: EventStream,
                limit: 9
            }),
            Effect::FailSession(SessionError::TooLarge { limit: 9 })
        );
    }

    #[test]
    fn row_4xx_on_a_request_post_fails_that_request() {
        for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
            assert_eq!(status(Request, code, true), read(Scope::Request), "{code}");
        }
        let e = http_error();
        assert_eq!(
            Policy::default().effect(&Failure::ErrorBody {
                scope: Scope::Request,
                error: e.clone(),
                carried_session: true,
                recoveries: 0,
            }),
            Effect::FailRequest(RequestError::Http(e))
        );
    }

    #[test]
    fn row_4xx_on_a_notification_post_is_a_warning() {
        for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
            assert_eq!(
                status(Notification, code, true),
                Effect::Warn(Warning::NotificationRejected {
                    method: "m".into(),
                    status: S::from_u16(code).unwrap()
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn row_400_404_405_on_the_get_stream_mean_no_server_stream() {
        for code in [400, 404, 405] {
            for carried in [false, true] {
                assert_eq!(status(ServerStream, code, carried), Effect::NoServerStream);
            }
        }
        assert_eq!(
            status(ServerStream, 409, true),
            Effect::Warn(Warning::ServerStreamRejected {
                status: S::CONFLICT
            })
        );
    }

    #[test]
    fn row_a_2xx_proceeds_and_the_answer_to_a_delete_is_ignored() {
        assert_eq!(status(Request, 200, true), Effect::Proceed);
        assert_eq!(status(Notification, 202, true), Effect::Proceed);
        assert_eq!(status(Delete, 500, true), Effect::Ignore);
        assert_eq!(status(Delete, 200, true), Effect::Ignore);
    }

    #[test]
    fn row_a_2xx_body_that_is_not_json_rpc_fails_the_request() {
        let p = Policy::default();
        assert_eq!(
            p.effect(&Failure::InvalidBody("eof".into())),
            Effect::FailRequest(RequestError::Protocol(ProtocolError::InvalidJson(
                "eof".into()
            )))
        );
        assert_eq!(
            p.effect(&Failure::UnexpectedContentType("text/html".into())),
            Effect::FailRequest(RequestError::Protocol(
                ProtocolError::UnexpectedContentType("text/html".into())
            ))
        );
    }

    #[test]
    fn row_no_response_in_a_2xx_fails_the_request() {
        assert_eq!(
            Policy::default().effect(&Failure::NoResponse),
            Effect::FailRequest(RequestError::Protocol(ProtocolError::NoResponse))
        );
    }

    #[test]
    fn row_a_stream_that_ends_with_an_event_id_is_resumed_within_bounds() {
        let p = Policy::default();
        let ended = |state| Failure::StreamEnded { state, error: None };
        assert_eq!(
            p.effect(&ended(stream(true, 1, 1, 0))),
            Effect::Reconnect {
                after: Duration::from_millis(500)
            }
        );
        // Three resumptions in a row that bring nothing new are allowed, not a fourth.
        assert!(matches!(
            p.effect(&ended(stream(true, 2, 2, 2))),
            Effect::Reconnect { .. }
        ));
        assert_eq!(
            p.effect(&ended(stream(true, 3, 3, 3))),
            Effect::FailRequest(RequestError::StreamLost)
        );
        // However much is new, a request's stream is resumed at most `max_reconnects` times.
        assert_eq!(
            p.effect(&ended(stream(true, 1, 1, 100))),
            Effect::FailRequest(RequestError::StreamLost)
        );
    }

    #[test]
    fn row_a_stream_that_ends_without_an_event_id_loses_the_request() {
        let p = Policy::default();
        assert_eq!(
            p.effect(&Failure::StreamEnded {
                state: stream(false, 1, 1, 0),
                error: None
            }),
            Effect::FailRequest(RequestError::StreamLost)
        );
        let e = TransportError::new(crate::TransportErrorKind::Reset, "eof");
        assert_eq!(
            p.effect(&Failure::StreamEnded {
                state: stream(false, 1, 1, 0),
                error: Some(e.clone())
            }),
            Effect::FailRequest(RequestError::Transport(e))
        );
    }

    #[test]
    fn row_every_reconnect_waits_a_floor_and_backs_off() {
        let p = Policy::default();
        let ms = Duration::from_millis;
        // `retry: 0` cannot make a tight loop.
        assert_eq!(p.reconnect_delay(Some(ms(0)), 1), ms(100));
        assert_eq!(p.reconnect_delay(Some(ms(500)), 1), ms(500));
        assert_eq!(p.reconnect_delay(None, 1), ms(1000));
        // Each empty stream in a row doubles the wait, up to `max_retry`.
        assert_eq!(p.reconnect_delay(Some(ms(0)), 2), ms(200));
        assert_eq!(p.reconnect_delay(Some(ms(0)), 4), ms(800));
        assert_eq!(p.reconnect_delay(Some(ms(500)), 40), p.max_retry);
        assert_eq!(p.reconnect_delay(Some(Duration::MAX), 1), p.max_retry);
        // A policy whose cap is below its floor waits the floor.
        let odd = Policy::default().with_max_retry(ms(0));
        assert_eq!(odd.reconnect_delay(Some(ms(0)), 9), ms(100));
    }

    #[test]
    fn row_the_get_stream_is_reopened_within_bounds() {
        let p = Policy::default().with_max_reconnects(4);
        let ended = |state| Failure::ServerStreamEnded { state, error: None };
        assert!(matches!(
            p.effect(&ended(stream(true, 1, 2, 3))),
            Effect::Reconnect { .. }
        ));
        assert!(matches!(
            p.effect(&ended(stream(true, 1, 5, 4))),
            Effect::Warn(Warning::ServerStreamLost { .. })
        ));
        assert_eq!(p.effect(&ended(StreamState::default())), Effect::Ignore);
    }

    #[test]
    fn row_a_transport_failure_fails_the_request_or_the_handshake() {
        let p = Policy::default();
        let e = TransportError::new(crate::TransportErrorKind::Connect, "refused");
        let f = |kind| Failure::ExchangeFailed {
            kind,
            method: "m".into(),
            error: e.clone(),
        };
        assert_eq!(
            p.effect(&f(Request)),
            Effect::FailRequest(RequestError::Transport(e.clone()))
        );
        assert_eq!(
            p.effect(&f(Initialize)),
            Effect::FailSession(SessionError::Transport(e.clone()))
        );
        assert!(matches!(p.effect(&f(Notification)), Effect::Warn(_)));
        assert!(matches!(p.effect(&f(ServerStream)), Effect::Warn(_)));
        assert_eq!(p.effect(&f(Delete)), Effect::Ignore);
    }

    #[test]
    fn row_the_child_exiting_fails_the_session() {
        let p = Policy::default();
        assert_eq!(
            p.effect(&Failure::ProcessExited { code: Some(3) }),
            Effect::FailSession(SessionError::ProcessExited { code: Some(3) })
        );
        let e = TransportError::new(crate::TransportErrorKind::Other, "EPIPE");
        assert_eq!(
            p.effect(&Failure::WriteFailed(e.clone())),
            Effect::FailSession(SessionError::Transport(e))
        );
    }

    #[test]
    fn row_a_message_that_is_not_json_rpc_is_a_warning() {
        assert!(matches!(
            Policy::default().effect(&Failure::InvalidMessage {
                error: "eof".into(),
                excerpt: "{".into()
            }),
            Effect::Warn(Warning::InvalidMessage { .. })
        ));
    }

    #[test]
    fn row_a_message_over_the_limit_fails_the_request_or_the_stdio_session() {
        let p = Policy::default();
        let large = |kind| p.effect(&Failure::TooLargeOnExchange { kind, limit: 9 });
        assert_eq!(
            large(Request),
            Effect::FailRequest(RequestError::TooLarge { limit: 9 })
        );
        assert!(matches!(large(ServerStream), Effect::Warn(_)));
        assert_eq!(
            p.effect(&Failure::TooLargeOnStdout { limit: 9 }),
            Effect::FailSession(SessionError::TooLarge { limit: 9 })
        );
    }

    #[test]
    fn row_a_deadline_abandons_the_request() {
        let after = Duration::from_secs(60);
        assert_eq!(
            Policy::default().effect(&Failure::DeadlinePassed { after, skipped: 2 }),
            Effect::Abandon(RequestError::Timeout { after, skipped: 2 })
        );
    }

    #[test]
    fn row_the_application_cancelling_abandons_the_request() {
        assert_eq!(
            Policy::default().effect(&Failure::Cancelled),
            Effect::Abandon(RequestError::Cancelled)
        );
    }

    #[test]
    fn row_a_json_rpc_error_fails_the_request() {
        let e = ErrorObject::new(-32601, "no");
        assert_eq!(
            Policy::default().effect(&Failure::RpcError(e.clone())),
            Effect::FailRequest(RequestError::Rpc(e))
        );
    }

    #[test]
    fn row_the_send_backlog_at_its_limit_fails_the_request_or_the_session() {
        let p = Policy::default();
        assert_eq!(
            p.effect(&Failure::SendBacklog {
                limit: 9,
                owed: false
            }),
            Effect::FailRequest(RequestError::LimitReached {
                what: Limit::SendBacklog,
                limit: 9
            })
        );
        assert_eq!(
            p.effect(&Failure::SendBacklog {
                limit: 9,
                owed: true
            }),
            Effect::FailSession(SessionError::LimitReached {
                what: Limit::SendBacklog,
                limit: 9
            })
        );
    }

    #[test]
    fn row_a_bad_handshake_answer_fails_the_session() {
        let p = Policy::default();
        assert_eq!(
            p.effect(&Failure::UnsupportedVersion("1999-01-01".into())),
            Effect::FailSession(SessionError::UnsupportedProtocolVersion(
                "1999-01-01".into()
            ))
        );
        assert!(matches!(
            p.effect(&Failure::InvalidHandshake("missing field".into())),
            Effect::FailSession(SessionError::Protocol(_))
        ));
    }

    // ----- 2026-07-28 ----------------------------------------------------------------------

    #[test]
    fn row_2026_a_client_error_to_the_probe_fails_only_the_probe() {
        for code in [400, 404, 405, 406, 415] {
            assert_eq!(
                status(Discover, code, false),
                read(Scope::Request),
                "{code}"
            );
        }
        assert_eq!(status(Discover, 500, false), read(Scope::Session));
        assert!(matches!(
            status(Discover, 401, false),
            Effect::FailSession(SessionError::AuthRequired { .. })
        ));
        let p = Policy::default();
        let e = TransportError::new(crate::TransportErrorKind::Connect, "refused");
        assert!(matches!(
            p.effect(&Failure::ExchangeFailed {
                kind: Discover,
                method: "server/discover".into(),
                error: e
            }),
            Effect::FailSession(SessionError::Transport(_))
        ));
        assert_eq!(
            p.effect(&Failure::NotModern("404".into())),
            Effect::FailSession(SessionError::NotModern("404".into()))
        );
    }

    #[test]
    fn row_2026_a_broken_stream_is_issued_again_within_bounds() {
        let p = Policy::default();
        let broken = |reconnects, listen| Failure::StreamBroken {
            state: StreamState {
                reconnects,
                empty: 1,
                ..StreamState::default()
            },
            error: None,
            listen,
        };
        assert_eq!(
            p.effect(&broken(0, false)),
            Effect::Reissue {
                after: Duration::from_millis(100)
            }
        );
        assert!(matches!(
            p.effect(&broken(1, false)),
            Effect::Reissue { .. }
        ));
        assert_eq!(
            p.effect(&broken(2, false)),
            Effect::FailRequest(RequestError::StreamLost),
            "max_reissues is 2"
        );
        assert!(
            matches!(p.effect(&broken(99, true)), Effect::Reissue { .. }),
            "a subscription is opened again up to max_reconnects in a row"
        );
        assert_eq!(
            p.effect(&broken(100, true)),
            Effect::FailRequest(RequestError::StreamLost)
        );
    }

    #[test]
    fn row_2026_a_version_error_is_retried_once_with_a_listed_version() {
        let p = Policy::default();
        let rejected = |supported: &[&str], retried| Failure::VersionRejected {
            requested: "2026-07-28".into(),
            supported: supported.iter().map(|s| s.to_string()).collect(),
            retried,
        };
        assert_eq!(
            p.effect(&rejected(&["2026-07-28"], false)),
            Effect::RetryWithVersion("2026-07-28")
        );
        assert!(matches!(
            p.effect(&rejected(&["2026-07-28"], true)),
            Effect::FailRequest(RequestError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            p.effect(&rejected(&["2025-11-25"], false)),
            Effect::FailRequest(RequestError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn row_2026_the_revisions_errors_are_typed() {
        let p = Policy::default();
        let mismatch = ErrorObject::new(ErrorObject::HEADER_MISMATCH, "Mcp-Name");
        assert_eq!(
            p.effect(&Failure::RpcError(mismatch.clone())),
            Effect::FailRequest(RequestError::HeaderMismatch(mismatch.clone()))
        );
        let mut missing = ErrorObject::new(ErrorObject::MISSING_CAPABILITY, "needs roots");
        missing.data = Some(serde_json::json!({"requiredCapabilities": {"roots": {}}}));
        assert!(matches!(
            p.effect(&Failure::RpcError(missing.clone())),
            Effect::FailRequest(RequestError::CapabilityRequired { required, .. })
                if required == serde_json::json!({"roots": {}})
        ));
        let mut body = HttpError::new(S::BAD_REQUEST, "");
        body.rpc = Some(mismatch.clone());
        assert_eq!(
            p.effect(&Failure::ErrorBody {
                scope: Scope::Request,
                error: Arc::new(body),
                carried_session: false,
                recoveries: 0,
            }),
            Effect::FailRequest(RequestError::HeaderMismatch(mismatch))
        );
    }

    // ----- authorization ----------------------------------------------------------------------

    #[test]
    fn row_401_with_an_authorizer_holds_the_request_for_the_flow() {
        for kind in [
            Initialize,
            Discover,
            Request,
            Resume,
            Notification,
            ServerStream,
        ] {
            assert_eq!(
                challenged(kind, 401, r#"Bearer resource_metadata="x""#, true),
                Effect::Authorize,
                "{kind:?}"
            );
        }
        assert_eq!(challenged(Delete, 401, "Bearer", true), Effect::Ignore);
        assert!(matches!(
            challenged(Request, 401, "Bearer", false),
            Effect::FailSession(SessionError::AuthRequired { .. })
        ));
    }

    #[test]
    fn row_403_insufficient_scope_with_an_authorizer_is_step_up() {
        let step_up = r#"Bearer error="insufficient_scope", scope="mcp:write""#;
        assert_eq!(challenged(Request, 403, step_up, true), Effect::Authorize);
        // Without a flow, or another 403: the request fails as any 4xx does.
        assert_eq!(
            challenged(Request, 403, step_up, false),
            read(Scope::Request)
        );
        assert_eq!(
            challenged(Request, 403, r#"Bearer error="invalid_token""#, true),
            read(Scope::Request)
        );
    }

    fn redirect(kind: ExchangeKind, code: u16, target: RedirectTarget, hops: u32) -> Effect {
        Policy::default().effect(&Failure::Redirect {
            kind,
            status: S::from_u16(code).unwrap(),
            target,
            hops,
            method: "m".into(),
        })
    }

    fn same_origin() -> RedirectTarget {
        RedirectTarget::SameOrigin {
            uri: "http://h/next".parse().unwrap(),
            shown: "/next".into(),
        }
    }

    fn refused(code: u16, location: Option<&str>, reason: RedirectRefusal) -> Arc<RedirectError> {
        Arc::new(RedirectError {
            status: S::from_u16(code).unwrap(),
            location: location.map(Into::into),
            reason,
        })
    }

    #[test]
    fn row_a_307_or_308_to_the_same_origin_is_followed_within_bounds() {
        let to: http::Uri = "http://h/next".parse().unwrap();
        for code in [307, 308] {
            for kind in [
                Initialize,
                Discover,
                Request,
                Resume,
                Notification,
                ServerStream,
            ] {
                for hops in 0..5 {
                    assert_eq!(
                        redirect(kind, code, same_origin(), hops),
                        Effect::Redirect { to: to.clone() },
                        "{code} {kind:?} {hops}"
                    );
                }
            }
            // The flow's requests and the DELETE are never redirected.
            for kind in [Auth, Delete] {
                assert_eq!(redirect(kind, code, same_origin(), 0), Effect::Ignore);
            }
            // The sixth is one too many.
            let too_many = refused(code, Some("/next"), RedirectRefusal::TooMany { limit: 5 });
            assert_eq!(
                redirect(Request, code, same_origin(), 5),
                Effect::FailRequest(RequestError::Redirect(too_many.clone()))
            );
            assert_eq!(
                redirect(Initialize, code, same_origin(), 5),
                Effect::FailSession(SessionError::Redirect(too_many))
            );
        }
        let none = Policy::default()
            .with_max_redirects(0)
            .effect(&Failure::Redirect {
                kind: Request,
                status: S::TEMPORARY_REDIRECT,
                target: same_origin(),
                hops: 0,
                method: "m".into(),
            });
        assert!(matches!(
            none,
            Effect::FailRequest(RequestError::Redirect(_))
        ));
    }

    #[test]
    fn row_any_other_redirect_is_a_typed_error_naming_the_location() {
        // 301, 302, 303 (and any other 3xx) would change the method or drop the body.
        for code in [300, 301, 302, 303, 304, 305] {
            let e = refused(code, Some("/next"), RedirectRefusal::Status);
            assert_eq!(
                redirect(Request, code, same_origin(), 0),
                Effect::FailRequest(RequestError::Redirect(e.clone())),
                "{code}"
            );
            assert_eq!(
                redirect(Resume, code, same_origin(), 0),
                Effect::FailRequest(RequestError::Redirect(e.clone()))
            );
            for kind in [Initialize, Discover] {
                assert_eq!(
                    redirect(kind, code, same_origin(), 0),
                    Effect::FailSession(SessionError::Redirect(e.clone()))
                );
            }
            assert_eq!(
                redirect(Notification, code, same_origin(), 0),
                Effect::Warn(Warning::NotificationRejected {
                    method: "m".into(),
                    status: S::from_u16(code).unwrap()
                })
            );
            assert_eq!(
                redirect(ServerStream, code, same_origin(), 0),
                Effect::Warn(Warning::ServerStreamRejected {
                    status: S::from_u16(code).unwrap()
                })
            );
        }
        for code in [307, 308] {
            let other = RedirectTarget::OtherOrigin("http://evil/mcp".into());
            assert_eq!(
                redirect(Request, code, other, 0),
                Effect::FailRequest(RequestError::Redirect(refused(
                    code,
                    Some("http://evil/mcp"),
                    RedirectRefusal::OtherOrigin
                )))
            );
            assert_eq!(
                redirect(Request, code, RedirectTarget::Missing, 0),
                Effect::FailRequest(RequestError::Redirect(refused(
                    code,
                    None,
                    RedirectRefusal::Missing
                )))
            );
            let bad = RedirectTarget::Unparsable("ht tp://".into());
            assert_eq!(
                redirect(Initialize, code, bad, 0),
                Effect::FailSession(SessionError::Redirect(refused(
                    code,
                    Some("ht tp://"),
                    RedirectRefusal::Unparsable
                )))
            );
        }
        let e = refused(
            302,
            Some("https://other.example/login?…"),
            RedirectRefusal::Status,
        );
        assert_eq!(
            RequestError::Redirect(e).to_string(),
            "HTTP 302 Found redirect to https://other.example/login?… not followed: only 307 \
             and 308 keep the method and body of the request"
        );
    }
}

#[cfg(test)]
mod serde_tests {
    use super::Policy;

    #[test]
    fn a_policy_serialized_before_the_tasks_extension_replays_without_it() {
        assert!(Policy::default().tasks_extension);
        let old: Policy = serde_json::from_str(r#"{"max_reissues": 2}"#).unwrap();
        assert!(
            !old.tasks_extension,
            "a recording made before knew nothing of it"
        );
        assert_eq!(old.max_reissues, 2);
        let now: Policy =
            serde_json::from_str(&serde_json::to_string(&Policy::default()).unwrap()).unwrap();
        assert_eq!(now, Policy::default(), "a policy written now round-trips");
    }
}
