//! The session: the one type with `handle_input` and `poll_output`. It owns smaller parts and
//! calls them; none of them reaches into another's state:
//!
//! - [`requests`]: the request table (what each request was, so it can be issued again);
//! - [`lifecycle`]: the protocol revision (what goes out first, when the session is ready);
//! - [`crate::transport`]: HTTP exchanges or stdio lines, classified into messages and
//!   failures;
//! - [`crate::policy`]: what each failure does;
//! - [`timers`]: one table of deadlines by reason.
//!
//! The session classifies what the transports do not (a message that is not JSON-RPC, a body
//! without its answer), asks the policy, and applies the effect. `impl Session` is in this
//! file only.

mod hosted;
mod lifecycle;
mod requests;
mod tasks;
mod timers;

use crate::name::Name;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::error::{RequestError, SessionError};
use crate::input::{ExchangeId, Input};
use crate::jsonrpc::{self, ErrorObject, Id, Message, RawJson};
use crate::output::{Event, Output, RequestId, Transmit, Warning};
use crate::policy::{Effect, ExchangeKind, Failure, Policy};
use crate::schema::{
    ClientCapabilities, Implementation, ServerInfo, ServerNotification, ServerRequest,
};
use crate::transport::{self, Happened, Http, Stdio};

pub use lifecycle::{
    Revision, LATEST_PROTOCOL_VERSION, LEGACY_SSE_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION,
    MODERN_PROTOCOL_VERSIONS, REMOVED_IN_MODERN, SUPPORTED_PROTOCOL_VERSIONS,
};
pub use timers::TimerReason;

use crate::modern::headers::{self as mcp_headers, ToolHeaderPlans};
use crate::modern::{Classified, InputRequired, RequestMeta};
use lifecycle::{Lifecycle, Next};
use requests::{InputRound, Listen, Owner, Pending, Requests};
use timers::Timers;

/// How a session is set up.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Who the client is, sent in the handshake.
    pub client_info: Implementation,
    /// What the client can do. Server requests for a capability not declared here are answered
    /// "method not found" by the core.
    pub capabilities: ClientCapabilities,
    /// Limits, deadlines and failure scopes.
    pub policy: Policy,
    /// Headers added to every HTTP request (`Authorization`, ...). Mark secrets with
    /// `HeaderValue::set_sensitive` so that they never show in `Debug` output.
    pub headers: ::http::HeaderMap,
    /// Which protocol revision to speak: probe 2026-07-28 and fall back (the default), or
    /// one pinned.
    pub revision: Revision,
    /// An OAuth flow (HTTP only): with it, a 401 (or a 403 `insufficient_scope`) holds the
    /// requests until a token comes, rather than ending the session.
    pub auth: Option<Authorization>,
    /// 2025-11-25: host the tasks the server creates on the client (task-augmented sampling
    /// and elicitation); `None`: the client declares no `tasks` and runs such requests as
    /// plain ones, as the spec says of a receiver that did not declare them.
    pub hosted_tasks: Option<HostedTasks>,
}

/// How the client hosts the tasks a server creates on it (2025-11-25, the client as a task
/// *receiver*): the inputs the core cannot draw itself.
///
/// With it, a client that declares `sampling` or `elicitation` also declares
/// `tasks.requests.sampling.createMessage` / `tasks.requests.elicitation.create` (for what it
/// declares), `tasks.list` and `tasks.cancel`. A server request of those with `task` in its
/// params is answered at once with a `CreateTaskResult` by the core; the application gets it
/// as an ordinary [`Event::Request`] and answers with [`Session::respond`] and the event's
/// id, as ever (for a task that id is the core's handle of the task, `mcpwire-task-…`, not
/// the server's, which the task answered), and the answer becomes the task's result. The core answers the server's `tasks/get`,
/// `tasks/result` (once the task ends), `tasks/list` and `tasks/cancel` itself; a cancelled or
/// expired task's request is withdrawn ([`Event::RequestWithdrawn`]). The limits are the
/// policy's [`max_hosted_tasks`](Policy::max_hosted_tasks),
/// [`max_hosted_task_bytes`](Policy::max_hosted_task_bytes) and
/// [`max_hosted_task_ttl`](Policy::max_hosted_task_ttl).
///
/// The tasks are bound to the session (only its server can reach them); their ids are 128
/// bits of SHA-256 over the caller's random key and a counter: unguessable without the key,
/// the same for the same key (a replayed session replays exactly).
#[derive(Clone)]
#[non_exhaustive]
pub struct HostedTasks {
    /// The caller's clock as the time since the UNIX epoch when the session is made: the
    /// tasks' `createdAt` and `lastUpdatedAt` are this plus the time since (the core reads no
    /// clock).
    pub unix_now: Duration,
    /// Random bytes from the caller, the key of the task ids.
    pub entropy: [u8; 32],
}

impl HostedTasks {
    /// Hosting with the caller's clock (`unix_now`, since the UNIX epoch, as the session is
    /// made) and 32 random bytes for the task ids.
    pub fn new(unix_now: Duration, entropy: [u8; 32]) -> HostedTasks {
        HostedTasks { unix_now, entropy }
    }
}

impl std::fmt::Debug for HostedTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key makes the task ids, which are what guards them: never shown.
        f.debug_struct("HostedTasks")
            .field("unix_now", &self.unix_now)
            .finish_non_exhaustive()
    }
}

/// How a session authorizes: the OAuth flow's configuration, and what a token store kept of
/// an earlier one.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Authorization {
    /// The flow's configuration (redirect URI, client identity, bounds).
    pub config: crate::auth::Config,
    /// Credentials kept from before ([`Session::credentials`]): registered clients, tokens.
    pub credentials: Option<crate::auth::Credentials>,
    /// The caller's clock as the time since the UNIX epoch when the session is made: for
    /// the stored expiry times, and the times in the JWTs the flow signs (client assertions,
    /// DPoP proofs), which fail without it. Zero: not given.
    pub unix_now: Duration,
    /// Random bytes for the unique `jti`s of those JWTs ([`Flow::set_entropy`]); without
    /// them the flow asks for random bytes before the first, and a stored DPoP-bound token is
    /// not restored.
    ///
    /// [`Flow::set_entropy`]: crate::auth::Flow::set_entropy
    pub entropy: Option<[u8; 16]>,
}

impl Authorization {
    /// A flow set up with `config`, with no stored credentials.
    pub fn new(config: crate::auth::Config) -> Authorization {
        Authorization {
            config,
            credentials: None,
            unix_now: Duration::ZERO,
            entropy: None,
        }
    }

    /// With the caller's clock (the time since the UNIX epoch) as the session is made.
    #[must_use]
    pub fn at(mut self, unix_now: Duration) -> Authorization {
        self.unix_now = unix_now;
        self
    }

    /// With random bytes from the caller, for the `jti`s of the JWTs the flow signs.
    #[must_use]
    pub fn with_entropy(mut self, bytes: [u8; 16]) -> Authorization {
        self.entropy = Some(bytes);
        self
    }

    /// With the credentials a token store kept, as of `unix_now`.
    #[must_use]
    pub fn with_credentials(
        mut self,
        credentials: crate::auth::Credentials,
        unix_now: Duration,
    ) -> Authorization {
        self.credentials = Some(credentials);
        self.unix_now = unix_now;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_info: Implementation::new("mcpwire", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::default(),
            policy: Policy::default(),
            headers: ::http::HeaderMap::new(),
            revision: Revision::default(),
            auth: None,
            hosted_tasks: None,
        }
    }
}

impl Config {
    /// Sets the client's name and version.
    #[must_use]
    pub fn with_client_info(mut self, info: Implementation) -> Self {
        self.client_info = info;
        self
    }

    /// Sets the capabilities the client declares.
    #[must_use]
    pub fn with_capabilities(mut self, capabilities: ClientCapabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the policy.
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Hosts the tasks a server creates on the client (2025-11-25; see [`HostedTasks`]).
    #[must_use]
    pub fn with_hosted_tasks(mut self, hosted: HostedTasks) -> Self {
        self.hosted_tasks = Some(hosted);
        self
    }

    /// Sets the OAuth flow (HTTP).
    #[must_use]
    pub fn with_auth(mut self, auth: Authorization) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets the revision to speak.
    #[must_use]
    pub fn with_revision(mut self, revision: Revision) -> Self {
        self.revision = revision;
        self
    }

    /// Adds a header to every HTTP request.
    #[must_use]
    pub fn with_header(mut self, name: ::http::HeaderName, value: ::http::HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

/// Options of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Its deadline, counted from its start; `None` for the policy's `request_timeout`.
    pub timeout: Option<Duration>,
    /// Ask the server for progress notifications (a `progressToken` in `_meta`); they arrive as
    /// [`Event::Progress`].
    pub progress: bool,
    /// 2026-07-28: the least severe log messages the server may send for this request
    /// (`io.modelcontextprotocol/logLevel` in `_meta`); without it, none. The 2025 era sets
    /// the level for the session with `logging/setLevel` instead, and ignores this.
    pub log_level: Option<crate::schema::LoggingLevel>,
    /// The caller's W3C trace context: `traceparent` and `tracestate` in `_meta` (SEP-414),
    /// so that the server's spans join the caller's trace.
    pub trace: Option<crate::trace::TraceContext>,
    /// 2025-11-25: run it as a task (`task` in its params, with this TTL): its one
    /// [`Event::Response`] is then the underlying result, fetched with `tasks/result` when the
    /// task ends, with [`Event::TaskStatus`] for each status before. `timeout` then bounds the
    /// whole wait (else [`Policy::max_task_wait`](crate::Policy::max_task_wait)), and the
    /// task's TTL too.
    pub task: Option<TaskOptions>,
}

/// How a request runs as a task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskOptions {
    /// How long to ask the server to keep the task (`task.ttl`); `None` leaves it to the
    /// server.
    pub ttl: Option<Duration>,
}

impl TaskOptions {
    /// With this TTL asked for.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }
}

impl RequestOptions {
    /// Runs it as a task (2025-11-25).
    #[must_use]
    pub fn with_task(mut self, task: Option<TaskOptions>) -> Self {
        self.task = task;
        self
    }

    /// Carries this trace context in `_meta`.
    #[must_use]
    pub fn with_trace(mut self, trace: Option<crate::trace::TraceContext>) -> Self {
        self.trace = trace;
        self
    }

    /// Sets the deadline.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Asks for progress.
    #[must_use]
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Asks for log messages of the request (2026-07-28).
    #[must_use]
    pub fn with_log_level(mut self, level: Option<crate::schema::LoggingLevel>) -> Self {
        self.log_level = level;
        self
    }
}

#[derive(Debug)]
// One per session, never moved after it is made: boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
enum Transport {
    Http(Http),
    Stdio(Stdio),
}

/// Something sent before the session was ready, in order.
#[derive(Debug)]
enum Early {
    Request(RequestId),
    /// A request encoded once already (its params are gone): it goes as it is.
    Encoded(RequestId, Vec<u8>),
    Notification {
        method: String,
        body: Vec<u8>,
    },
}

/// The largest buffer the session keeps, between messages, for copying out one message of an
/// event stream's chunk to read it.
const TEXT_SCRATCH: usize = 8 << 10;

/// An MCP client session as a pure state machine.
///
/// It owns every outstanding request: every input either leaves a request pending with a
/// deadline, or completes it, exactly once. It never reads a clock (time is the `now`
/// argument), never blocks and does no IO: the adapter performs what [`Session::poll_output`]
/// asks and feeds back what happens through [`Session::handle_input`].
///
/// Its methods come in four kinds:
///
/// - **Commands** from the application: [`request`](Session::request),
///   [`send`](Session::send), [`notify`](Session::notify), [`respond`](Session::respond),
///   [`cancel`](Session::cancel), [`close`](Session::close). After the session has failed or
///   closed, each returns the session's error at once and does nothing.
/// - **Input** from the transport and the clock: [`handle_input`](Session::handle_input).
/// - **Output**, drained in order until it says [`Output::Wait`]:
///   [`poll_output`](Session::poll_output), and [`poll_timeout`](Session::poll_timeout) for the
///   next deadline alone.
/// - **Getters**: [`is_ready`](Session::is_ready), [`is_closed`](Session::is_closed),
///   [`error`](Session::error), [`server`](Session::server),
///   [`protocol_version`](Session::protocol_version), [`session_id`](Session::session_id),
///   [`outstanding`](Session::outstanding), [`policy`](Session::policy),
///   [`send_backlog`](Session::send_backlog), [`skipped_messages`](Session::skipped_messages),
///   [`linger_deadline`](Session::linger_deadline),
///   [`last_timeout_reason`](Session::last_timeout_reason).
///
/// A session-fatal failure (a 5xx, the process exiting, ...) completes every outstanding
/// request with the same [`SessionError`] (as [`RequestError::Session`]) in ascending id,
/// then emits one [`Event::Closed`], the last event. With it the session asks the adapter to
/// abort every exchange but those the server should still hear (a cancellation, the closing
/// `DELETE`), which may finish until [`linger_deadline`](Session::linger_deadline).
///
/// A server of the 2025 era that forgets the session (a 404 to an exchange that carried
/// `Mcp-Session-Id`) does not end it, by default
/// ([`Policy::recover_expired_sessions`]): one [`Event::SessionExpired`], then every request in
/// flight completes with [`RequestError::SessionExpired`] (never sent again), a new `initialize`
/// starts a new session, and [`Event::Ready`] comes again once it is over; meanwhile requests
/// wait, as before the first handshake.
///
/// # The drive loop
///
/// This is `core/examples/drive_loop.rs`, run as a doc test: a scripted server answers
/// `initialize` and one request.
///
/// ```
#[doc = include_str!("../../examples/drive_loop.rs")]
/// ```
#[derive(Debug)]
pub struct Session {
    client_info: Implementation,
    capabilities: ClientCapabilities,
    policy: Policy,
    lifecycle: Lifecycle,
    requests: Requests,
    /// The task-augmented requests' tasks (2025-11-25), and whose each task request is.
    tasks: tasks::Tasks,
    task_calls: BTreeMap<RequestId, (RequestId, tasks::Call)>,
    /// The tasks the client hosts for the server (2025-11-25), when it does.
    hosted: Option<Box<hosted::Hosted>>,
    transport: Transport,
    timers: Timers,
    out: VecDeque<Output>,
    /// What the session's end still owes, made as it is polled ([`Ending`]).
    ending: Option<Box<Ending>>,
    closed: Option<SessionError>,
    early: Vec<Early>,
    early_bytes: usize,
    /// Taking the transports' happenings now (no nested pumping).
    pumping: bool,
    /// Where a message of an event stream's chunk is copied to be read (its capacity at most
    /// [`TEXT_SCRATCH`]).
    text_scratch: String,
    last_now: Instant,
    last_timeout_reason: Option<TimerReason>,
    /// Server messages skipped as not JSON-RPC, in all.
    skipped: u64,
    /// The most bytes that have waited to be sent.
    backlog_peak: usize,
    linger_until: Option<Instant>,
    /// The methods requests were made with, shared: a request's method costs no allocation.
    methods: Vec<Name>,
    /// 2026-07-28: what every request carries in `_meta`, for the version spoken now.
    meta: Option<RequestMeta>,
    /// 2026-07-28 over HTTP: the `Mcp-Param-*` headers of each listed tool.
    tool_headers: ToolHeaderPlans,
    /// 2026-07-28: the input requests the application was asked to answer, by the id it
    /// answers with: the request and the key each belongs to.
    inputs: BTreeMap<String, (RequestId, String)>,
    /// The tasks extension: the input requests of tasks the application was asked to
    /// answer, by the id it answers with: the task's request and the key.
    task_inputs: BTreeMap<String, (RequestId, String)>,
    next_input: u64,
    /// The OAuth flow (HTTP, when configured).
    auth: Option<Box<crate::auth::Flow>>,
    /// The flow is running: requests wait for its token.
    authorizing: bool,
    /// How many tokens the flow has given: a request sent with an older one that meets a
    /// challenge goes again with the newer one, with no new flow.
    token_generation: u32,
    /// The requests waiting for the flow's token, in the order they met the challenge.
    held: Vec<RequestId>,
    /// The held requests are going again with the token just got: none starts a refresh
    /// (a token that lives less than the refresh skew would otherwise be refreshed forever).
    replaying: bool,
    /// How many times in a row the session started again after the server forgot it, with
    /// no request answered since (bounded by [`Policy::max_session_recoveries`]).
    recoveries: u32,
}

impl Session {
    /// A session over Streamable HTTP at `endpoint`. The handshake is the first output.
    pub fn http(now: Instant, endpoint: ::http::Uri, config: Config) -> Session {
        let limits = transport::http::Limits {
            max_message: config.policy.max_message_size,
            max_line: config.policy.max_sse_line,
            max_exchanges: config.policy.max_concurrent_exchanges,
            follow_redirects: config.policy.max_redirects > 0,
        };
        let http = Http::new(endpoint, config.headers.clone(), limits);
        Session::new(now, Transport::Http(http), config)
    }

    /// A session over the 2024-11-05 HTTP+SSE transport: the client GETs the event stream at
    /// `sse`, POSTs every message to the URI its `endpoint` event names (of the same origin),
    /// and reads every answer on the stream. The event stream's GET is the first output.
    /// ([`Session::http`] falls back to it by itself when the server refuses Streamable HTTP,
    /// unless [`Policy::legacy_sse_fallback`] is off.)
    pub fn sse(now: Instant, sse: ::http::Uri, config: Config) -> Session {
        let limits = transport::http::Limits {
            max_message: config.policy.max_message_size,
            max_line: config.policy.max_sse_line,
            max_exchanges: config.policy.max_concurrent_exchanges,
            follow_redirects: config.policy.max_redirects > 0,
        };
        let mut http = Http::new(sse, config.headers.clone(), limits);
        http.set_legacy_sse();
        Session::new(now, Transport::Http(http), config)
    }

    /// A session over a child process's stdin and stdout. The handshake is the first output.
    pub fn stdio(now: Instant, config: Config) -> Session {
        let stdio = Stdio::new(config.policy.max_message_size);
        Session::new(now, Transport::Stdio(stdio), config)
    }

    fn new(now: Instant, transport: Transport, mut config: Config) -> Session {
        let auth = config.auth.take();
        let hosted = config.hosted_tasks.take().and_then(|h| {
            hosted::Hosted::new(
                now,
                &config.capabilities,
                h.unix_now,
                h.entropy,
                &config.policy,
            )
            .map(Box::new)
        });
        let lifecycle = match &transport {
            Transport::Http(h) if h.is_legacy_sse() => Lifecycle::legacy_sse(),
            _ => Lifecycle::new(config.revision),
        };
        let mut session = Session {
            client_info: config.client_info,
            capabilities: config.capabilities,
            policy: config.policy,
            lifecycle,
            requests: Requests::default(),
            tasks: tasks::Tasks::default(),
            task_calls: BTreeMap::new(),
            hosted,
            transport,
            timers: Timers::default(),
            out: VecDeque::new(),
            ending: None,
            closed: None,
            early: Vec::new(),
            early_bytes: 0,
            pumping: false,
            text_scratch: String::new(),
            last_now: now,
            last_timeout_reason: None,
            skipped: 0,
            backlog_peak: 0,
            linger_until: None,
            methods: Vec::new(),
            meta: None,
            tool_headers: ToolHeaderPlans::new(),
            inputs: BTreeMap::new(),
            task_inputs: BTreeMap::new(),
            next_input: 0,
            auth: None,
            authorizing: false,
            token_generation: 0,
            held: Vec::new(),
            replaying: false,
            recoveries: 0,
        };
        if let (Some(a), Transport::Http(_)) = (auth, &session.transport) {
            if let Err(e) = session.start_auth(now, a) {
                session.fail_session(SessionError::Auth(Arc::new(e)));
                return session;
            }
        }
        session.open(now);
        session.pump(now);
        session
    }

    /// Sets up the OAuth flow, with what a store kept.
    fn start_auth(&mut self, now: Instant, a: Authorization) -> Result<(), crate::auth::Error> {
        let max_body = a.config.max_body;
        let mut flow = Box::new(crate::auth::Flow::new(a.config)?);
        if !a.unix_now.is_zero() {
            flow.set_clock(now, a.unix_now);
        }
        if let Some(bytes) = a.entropy {
            flow.set_entropy(&bytes);
        }
        if let Transport::Http(h) = &mut self.transport {
            h.set_now(now);
        }
        if let Some(c) = a.credentials {
            flow.restore(c, now, a.unix_now)?;
        }
        if let Transport::Http(h) = &mut self.transport {
            h.set_authorization(flow.resource_credential(h.endpoint()), max_body);
        }
        self.auth = Some(flow);
        Ok(())
    }

    /// Sends the lifecycle's opening request: `initialize`, or the probe `server/discover`.
    fn open(&mut self, now: Instant) {
        let modern = self.lifecycle.is_modern();
        if let Transport::Http(h) = &mut self.transport {
            h.set_modern(modern);
            // HTTP+SSE: the event stream first; the opening waits for its `endpoint`.
            if self.lifecycle.is_legacy_sse() {
                h.open_event_stream();
            }
        }
        self.refresh_meta();
        // The 2025 era's `initialize` declares the hosted tasks (2026-07-28 has none).
        let declared = match (&self.hosted, modern) {
            (Some(h), false) => Some(h.declare(&self.capabilities)),
            _ => None,
        };
        let (method, params) = self.lifecycle.opening(
            &self.client_info,
            declared.as_ref().unwrap_or(&self.capabilities),
        );
        let params = params.and_then(|p| serde_json::value::to_raw_value(&p).ok());
        let size = method.len() + params.as_ref().map_or(0, |p| p.get().len()) + 64;
        // Over stdio a server of the 2025 era may never answer the probe.
        let opening = self.policy.opening_timeout();
        let timeout = match (&self.transport, modern) {
            (Transport::Stdio(_), true) => Some(self.policy.probe_timeout.min(opening)),
            _ => Some(opening),
        };
        let id = self.insert(
            now,
            Owner::Lifecycle,
            method.into(),
            params,
            size,
            timeout,
            false,
        );
        self.dispatch(id, None);
    }

    /// The `_meta` of the version spoken now (2026-07-28).
    fn refresh_meta(&mut self) {
        self.meta = self.lifecycle.wire_version().map(|v| {
            let mut capabilities = self.capabilities.clone();
            if self.policy.tasks_extension {
                declare_extension(&mut capabilities, crate::modern::TASKS_EXTENSION);
            }
            RequestMeta::new(v, capabilities).with_client_info(self.client_info.clone())
        });
    }

    // ----- commands ---------------------------------------------------------------------

    /// Starts a request; returns its id at once. It completes exactly once with
    /// [`Event::Response`]. Before the session is ready it waits, and is not failed for it.
    pub fn request(
        &mut self,
        now: Instant,
        method: &str,
        params: Option<Value>,
        options: RequestOptions,
    ) -> Result<RequestId, RequestError> {
        self.start_request(now, method, Params::Value(params), options)
    }

    /// [`request`](Self::request) with params already encoded: they go as they are (the same
    /// bytes, keys in their order), unless `options` add to their `_meta` (progress, a log
    /// level, a trace context, a 2025-era task), which parses them once to do it. Params that
    /// are not JSON never reach it: a [`RawJson`] is valid JSON.
    pub fn request_encoded(
        &mut self,
        now: Instant,
        method: &str,
        params: Option<RawJson>,
        options: RequestOptions,
    ) -> Result<RequestId, RequestError> {
        self.start_request(now, method, Params::Encoded(params), options)
    }

    fn start_request(
        &mut self,
        now: Instant,
        method: &str,
        params: Params,
        options: RequestOptions,
    ) -> Result<RequestId, RequestError> {
        let now = self.tick(now);
        self.check_open()?;
        if let Some(e) = self.removed(method) {
            return Err(e);
        }
        if let Some(limit) = self.policy.max_outstanding {
            if self.outstanding() >= limit {
                return Err(RequestError::TooManyRequests { limit });
            }
        }
        if options.task.is_some() {
            self.check_task(method)?;
        }
        let id = self.requests.next_id();
        let adds_meta = options.progress
            || options.log_level.is_some()
            || options.trace.is_some()
            || (options.task.is_some() && !self.lifecycle.is_modern());
        let params = match params {
            Params::Encoded(params) if !adds_meta => params,
            params => self.with_options_meta(id, params.into_value()?, &options)?,
        };
        let body = jsonrpc::encode_request_raw(&wire_id(id), method, params.as_deref());
        // 2026-07-28: `_meta` is added as the request is sent.
        let size = body.len() + self.meta.as_ref().map_or(0, |_| 256);
        if size > self.policy.max_message_size {
            return Err(RequestError::TooLarge {
                limit: self.policy.max_message_size,
            });
        }
        self.check_backlog(size, false)?;
        let method = self.intern(method);
        let id = self.insert(
            now,
            Owner::App,
            method,
            params,
            size,
            options.timeout,
            options.progress,
        );
        if options.task.is_some() {
            let wait = options.timeout.unwrap_or(self.policy.max_task_wait);
            self.tasks
                .start(id, later(now, wait), self.lifecycle.is_modern());
        }
        if self.lifecycle.is_ready() {
            let body = (!self.lifecycle.is_modern()).then_some(body);
            self.dispatch(id, body);
        } else {
            self.early.push(Early::Request(id));
        }
        self.pump(now);
        Ok(id)
    }

    /// A request's params with what `options` add to them: a `progressToken` and a log level
    /// in `_meta`, a trace context, a 2025-era `task`; encoded.
    fn with_options_meta(
        &self,
        id: RequestId,
        params: Option<Value>,
        options: &RequestOptions,
    ) -> Result<Option<RawJson>, RequestError> {
        let params = if options.progress {
            Some(with_meta_entry(params, "progressToken", json!(id.0)))
        } else {
            params
        };
        // 2026-07-28's tasks are the server's choice: the request says nothing of them.
        let params = match options.task {
            Some(t) if !self.lifecycle.is_modern() => Some(with_task(params, t)),
            _ => params,
        };
        let params = match options.log_level {
            Some(level) => Some(with_meta_entry(
                params,
                crate::modern::meta::LOG_LEVEL_KEY,
                json!(level.as_str()),
            )),
            None => params,
        };
        let params = match &options.trace {
            Some(t) => {
                let params = with_meta_entry(params, "traceparent", json!(t.traceparent()));
                Some(match t.tracestate() {
                    Some(state) => with_meta_entry(Some(params), "tracestate", json!(state)),
                    None => params,
                })
            }
            None => params,
        };
        params
            .map(|p| serde_json::value::to_raw_value(&p))
            .transpose()
            .map_err(|e| {
                RequestError::Protocol(crate::ProtocolError::InvalidJson(e.to_string().into()))
            })
    }

    /// Whether `method` may run as a task: the 2025 era (2026-07-28 moved tasks out of its
    /// core), and a server that declared it (once the handshake says; a request made before
    /// it is checked by the server).
    fn check_task(&self, method: &str) -> Result<(), RequestError> {
        let unsupported = || {
            RequestError::Task(crate::TaskError::Unsupported {
                method: method.to_owned(),
            })
        };
        // 2026-07-28: the tasks extension, for the methods it covers; a call made as a task
        // is one whose wait may be long (the server decides whether it is a task).
        if self.lifecycle.is_modern() {
            let declared = self.lifecycle.server().is_none_or(|s| {
                s.capabilities
                    .extension(crate::modern::TASKS_EXTENSION)
                    .is_some()
            });
            return match self.policy.tasks_extension
                && crate::modern::may_be_a_task(method)
                && declared
            {
                true => Ok(()),
                false => Err(unsupported()),
            };
        }
        match self.lifecycle.server() {
            Some(s) if !s.capabilities.supports_task(method) => Err(unsupported()),
            _ => Ok(()),
        }
    }

    /// The error of a method the revision spoken does not have, if it is one: one the
    /// 2026-07-28 revision removed, or `subscriptions/listen` in the 2025 era.
    fn removed(&self, method: &str) -> Option<RequestError> {
        if !self.lifecycle.is_initialized() {
            return None;
        }
        let removed = |revision| {
            Some(RequestError::Removed {
                method: method.to_owned(),
                revision,
            })
        };
        match (self.lifecycle.is_modern(), self.lifecycle.version()) {
            // The tasks extension brings two of them back (and adds `tasks/update`).
            (true, _)
                if self.policy.tasks_extension
                    && matches!(
                        method,
                        crate::modern::methods::TASKS_GET | crate::modern::methods::TASKS_CANCEL
                    ) =>
            {
                None
            }
            (true, _) if REMOVED_IN_MODERN.contains(&method) => removed(MODERN_PROTOCOL_VERSION),
            (false, Some(v)) if method == crate::modern::methods::SUBSCRIPTIONS_LISTEN => {
                removed(v)
            }
            _ => None,
        }
    }

    /// Starts a typed request (see [`schema::Request`](crate::schema::Request)); parse its
    /// result with `serde_json::from_str::<R::Result>(raw.get())`.
    pub fn send<R: crate::schema::Request>(
        &mut self,
        now: Instant,
        params: &R,
        options: RequestOptions,
    ) -> Result<RequestId, RequestError> {
        let params = serde_json::value::to_raw_value(params).map_err(|e| {
            RequestError::Protocol(crate::ProtocolError::InvalidJson(e.to_string().into()))
        })?;
        self.request_encoded(now, R::METHOD, Some(params), options)
    }

    /// 2026-07-28: opens a subscription (`subscriptions/listen`) for the notifications
    /// `filter` names. The server's acknowledgement is an [`Event::Subscribed`] (with what it
    /// agreed to); each notification of the subscription is an [`Event::Notification`] whose
    /// `subscription` is this id; the subscription ends with its [`Event::Response`] (the
    /// server ended it, or it failed) or when the application cancels it. A stream that
    /// breaks is opened again (a [`Warning::Reissued`]; bounded by
    /// [`Policy::max_reconnects`] in a row without an acknowledgement), and acknowledged
    /// again. Until acknowledged it has the request deadline; then none. In the 2025 era it
    /// fails with [`RequestError::Removed`] (that era has the GET stream and
    /// `resources/subscribe` instead).
    pub fn listen(
        &mut self,
        now: Instant,
        filter: &crate::modern::SubscriptionFilter,
    ) -> Result<RequestId, RequestError> {
        self.check_open()?;
        if let (false, Some(version)) = (self.lifecycle.is_modern(), self.lifecycle.version()) {
            return Err(RequestError::Removed {
                method: "subscriptions/listen".into(),
                revision: version,
            });
        }
        let params = json!({ "notifications": filter });
        let id = self.request(
            now,
            "subscriptions/listen",
            Some(params),
            RequestOptions::default(),
        )?;
        if let Some(p) = self.requests.get_mut(id) {
            p.extra_mut().listen = Some(Listen::default());
        }
        Ok(id)
    }

    /// Sends a notification. Before the session is ready it waits.
    pub fn notify(&mut self, method: &str, params: Option<Value>) -> Result<(), RequestError> {
        self.check_open()?;
        if let Some(e) = self.removed(method) {
            return Err(e);
        }
        let body = jsonrpc::encode_notification(method, params.as_ref());
        self.check_backlog(body.len(), false)?;
        if self.lifecycle.is_ready() {
            let headers = self.notification_headers(method);
            let method = self.intern(method);
            self.send_message(ExchangeKind::Notification, None, method, body, headers);
        } else {
            self.early_bytes += body.len();
            self.early.push(Early::Notification {
                method: method.into(),
                body,
            });
        }
        self.pump(self.last_now);
        Ok(())
    }

    /// Answers a server request ([`Event::Request`]). An answer that would take the bytes
    /// waiting to be sent past [`Policy::max_send_backlog`] fails the session: the server keeps
    /// asking without taking the answers.
    pub fn respond(
        &mut self,
        id: Id,
        result: Result<Value, ErrorObject>,
    ) -> Result<(), RequestError> {
        self.check_open()?;
        if let Id::String(handle) = &id {
            if let Some((request, key)) = self.inputs.remove(handle.as_str()) {
                self.on_input_answer(self.last_now, request, key, result);
                self.pump(self.last_now);
                return Ok(());
            }
            if let Some((request, key)) = self.task_inputs.remove(handle.as_str()) {
                let todo = self.tasks.on_input_answer(request, key, result);
                self.do_tasks(self.last_now, todo);
                self.pump(self.last_now);
                return Ok(());
            }
        }
        if self.lifecycle.is_modern() {
            // This revision has no server requests: an answer for none (an input request of
            // a request that already completed) is dropped.
            return Ok(());
        }
        // The request of a hosted task: the answer is the task's result, not a response.
        if let Some(h) = self.hosted.as_mut().filter(|h| h.owns(&id)) {
            let now = self.last_now;
            let todo = h.on_answer(now, &id, result);
            self.do_hosted(todo);
            self.pump(now);
            return self.check_open();
        }
        let body = jsonrpc::encode_response(&id, result.as_ref());
        self.send_response(body)
    }

    /// The core's own answer to a server request (`ping`, "method not found", ...). The
    /// 2026-07-28 revision has no server requests: nothing is sent.
    fn answer(&mut self, id: &Id, result: Result<&Value, &ErrorObject>) {
        if !self.lifecycle.is_modern() {
            let _ = self.send_response(jsonrpc::encode_response(id, result));
        }
    }

    /// Sends an answer to a server request, within the send backlog.
    fn send_response(&mut self, body: Vec<u8>) -> Result<(), RequestError> {
        if let Err(e) = self.check_backlog(body.len(), true) {
            self.pump(self.last_now);
            return Err(e);
        }
        let method = self.intern("response");
        self.send_message(
            ExchangeKind::Notification,
            None,
            method,
            body,
            ::http::HeaderMap::new(),
        );
        self.pump(self.last_now);
        Ok(())
    }

    /// Cancels an outstanding request: it completes with [`RequestError::Cancelled`], the
    /// server is told (`notifications/cancelled`, if it had the request), and a late answer is
    /// dropped. Returns false if the request was not outstanding.
    pub fn cancel(&mut self, now: Instant, id: RequestId, reason: Option<&str>) -> bool {
        let now = self.tick(now);
        match self.requests.get(id) {
            Some(p) if p.owner == Owner::App && self.closed.is_none() => {
                let reason = reason.unwrap_or("cancelled by the client");
                self.apply(now, Failure::Cancelled, Some(id), None, reason);
                self.pump(now);
                true
            }
            _ => false,
        }
    }

    /// The user step of authorization ended ([`Event::Authorize`]): `Ok` with the URL the
    /// authorization server sent the browser to (the redirect URI with the response in its
    /// query), or `Err` with why there is none (the user gave up, the browser failed). The
    /// flow checks the response (`iss`, `state`) and redeems the code.
    pub fn authorization_redirect(&mut self, now: Instant, result: Result<&str, &str>) {
        let now = self.tick(now);
        if self.closed.is_some() {
            return;
        }
        if let Some(flow) = &mut self.auth {
            flow.handle_redirect(result);
        }
        self.pump_auth(now);
    }

    /// What a token store should keep of the OAuth flow (registered clients, tokens), as of
    /// `now` and `unix_now` (the caller's clock since the UNIX epoch); `None` without a flow.
    pub fn credentials(
        &self,
        now: Instant,
        unix_now: Duration,
    ) -> Option<crate::auth::Credentials> {
        self.auth.as_ref().map(|f| f.credentials(now, unix_now))
    }

    /// Ends the session: outstanding requests fail with [`SessionError::Closed`], a `DELETE`
    /// is sent where the server gave a session id, and [`Event::Closed`] follows.
    pub fn close(&mut self, now: Instant) {
        self.tick(now);
        self.fail_session(SessionError::Closed);
    }

    // ----- input -------------------------------------------------------------------------

    /// Feeds one transport event, or [`Input::Timeout`] when the deadline of
    /// [`Output::Wait`] has come. Deadlines due at `now` fire first. An input for an exchange
    /// the session no longer knows (aborted, finished) is ignored.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        let now = self.tick(now);
        if self.closed.is_some() {
            return;
        }
        match (&mut self.transport, input) {
            (
                Transport::Http(h),
                Input::ResponseHead {
                    exchange,
                    status,
                    headers,
                },
            ) => {
                // Past the head no redirect comes: a 2025-era request without OAuth is never
                // encoded again, and its params go.
                let answered = h.message_of(exchange).filter(|_| !status.is_redirection());
                h.on_head(exchange, status, headers);
                if let Some(id) = answered.filter(|_| !self.reencodes_requests()) {
                    self.requests.drop_params(id);
                }
            }
            (Transport::Http(h), Input::ResponseBody { exchange, data }) => {
                h.on_body(exchange, data)
            }
            (Transport::Http(h), Input::ResponseEnd { exchange }) => h.on_end(exchange),
            (Transport::Http(h), Input::ExchangeFailed { exchange, error }) => {
                h.on_failed(exchange, error)
            }
            (Transport::Stdio(s), Input::Stdout(data)) => s.on_stdout(data),
            (Transport::Stdio(s), Input::StdoutClosed) => s.on_exit(None),
            (Transport::Stdio(s), Input::ProcessExited { code }) => s.on_exit(code),
            (Transport::Stdio(s), Input::WriteFailed(error)) => s.on_write_failed(error),
            (Transport::Stdio(s), Input::StdinWritten { bytes }) => s.written(bytes),
            (_, Input::Random(bytes)) => {
                if let Some(flow) = &mut self.auth {
                    flow.handle_random(bytes);
                }
                self.pump_auth(now);
            }
            _ => {}
        }
        self.pump(now);
        self.fire_due();
    }

    // ----- output ------------------------------------------------------------------------

    /// The next output; [`Output::Wait`] when there is nothing to do until a deadline or new
    /// input.
    pub fn poll_output(&mut self) -> Output {
        if let Some(e) = &mut self.ending {
            if e.ahead > 0 {
                e.ahead -= 1;
                if let Some(o) = self.out.pop_front() {
                    return o;
                }
                e.ahead = 0;
            }
            if let Some(o) = e.next() {
                return o;
            }
            self.ending = None;
        }
        self.out
            .pop_front()
            .unwrap_or_else(|| Output::Wait(self.poll_timeout()))
    }

    /// The next deadline: call [`handle_input`](Session::handle_input) with
    /// [`Input::Timeout`] then. `None` when nothing is pending. Never earlier than the last
    /// `now` once the output is drained.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    // ----- getters -----------------------------------------------------------------------

    /// Whether the handshake is over.
    pub fn is_ready(&self) -> bool {
        self.lifecycle.is_ready() && self.closed.is_none()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// The error the session ended with.
    pub fn error(&self) -> Option<&SessionError> {
        self.closed.as_ref()
    }

    /// Who the server is and what it can do, once the handshake has told.
    pub fn server(&self) -> Option<&ServerInfo> {
        self.lifecycle.server()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.lifecycle.version()
    }

    /// The `Mcp-Session-Id` the server assigned (HTTP).
    pub fn session_id(&self) -> Option<&str> {
        match &self.transport {
            Transport::Http(h) => h.session_id(),
            Transport::Stdio(_) => None,
        }
    }

    /// How many of the application's requests are outstanding.
    pub fn outstanding(&self) -> usize {
        self.requests.app_count()
    }

    /// How many tasks the client hosts for the server now ([`HostedTasks`]): working, or
    /// ended and kept until their TTL.
    pub fn hosted_tasks(&self) -> usize {
        self.hosted.as_ref().map_or(0, |h| h.len())
    }

    /// The bytes the tasks the client hosts keep, as [`Policy::max_hosted_task_bytes`] counts
    /// them (their results, status messages and the ids kept for them, a few hundred bytes
    /// reserved a task): at most that limit.
    pub fn hosted_task_bytes(&self) -> usize {
        self.hosted.as_ref().map_or(0, |h| h.bytes())
    }

    /// The policy the session runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Bytes waiting to be sent now (see [`Policy::max_send_backlog`]), and the most there
    /// have been: never more than the limit.
    pub fn send_backlog(&self) -> (usize, usize) {
        (self.backlog(), self.backlog_peak)
    }

    /// How many server messages were skipped as not JSON-RPC.
    pub fn skipped_messages(&self) -> u64 {
        self.skipped
    }

    /// Once the session has ended: until when the exchanges it did not abort (a notification's
    /// POST, the closing `DELETE`) may go on. The adapter drops them then.
    pub fn linger_deadline(&self) -> Option<Instant> {
        self.linger_until
    }

    /// Which timer fired last, for diagnosing timing.
    pub fn last_timeout_reason(&self) -> Option<TimerReason> {
        self.last_timeout_reason
    }

    /// An estimate of the bytes the session holds: every buffer, queue and table, each bounded
    /// by a limit of the policy (invariant 4 is checked against it).
    #[doc(hidden)]
    pub fn retained_bytes(&self) -> usize {
        let transport = match &self.transport {
            Transport::Http(h) => h.retained(),
            Transport::Stdio(s) => s.retained(),
        };
        let out: usize = self.out.iter().map(output_size).sum::<usize>()
            + self.ending.as_ref().map_or(0, |e| e.retained());
        let early = self.early.len() * 64 + self.early_bytes;
        let server = self.server().map_or(0, |s| {
            s.instructions.as_ref().map_or(0, String::len) + 1024 + 8 * s.extra.len()
        });
        let hosted = self.hosted.as_ref().map_or(0, |h| h.retained());
        self.requests.retained()
            + transport
            + out
            + early
            + server
            + hosted
            + self.timers.retained()
            + self.text_scratch.capacity()
    }

    // ----- internals: time ----------------------------------------------------------------

    fn check_open(&self) -> Result<(), RequestError> {
        match &self.closed {
            Some(e) => Err(RequestError::Session(e.clone())),
            None => Ok(()),
        }
    }

    /// Advances the clock (never backwards) and fires what is due.
    fn tick(&mut self, now: Instant) -> Instant {
        let now = now.max(self.last_now);
        self.last_now = now;
        if let Some(flow) = &mut self.auth {
            flow.advance(now);
            if let Transport::Http(h) = &mut self.transport {
                h.set_now(now);
            }
        }
        self.fire_due();
        now
    }

    /// Fires every timer due at the last `now`, including those set for it while handling an
    /// input, so that where they fire does not depend on how the input was cut.
    fn fire_due(&mut self) {
        while let Some((at, reason)) = self.timers.pop_due(self.last_now) {
            self.last_timeout_reason = Some(reason);
            self.on_timer(at, reason);
        }
    }

    /// A timer set for `at` fired (at `at` or later, if the adapter called back late).
    fn on_timer(&mut self, at: Instant, reason: TimerReason) {
        let now = self.last_now;
        match reason {
            TimerReason::RequestDeadline(id) => {
                let Some(p) = self.requests.get_mut(id) else {
                    return;
                };
                // The table let go of it as it fired.
                p.set_deadline(None);
                let p = &*p;
                // How long it was allowed to run, however late the deadline is noticed.
                let after = at.saturating_duration_since(p.started);
                let skipped = self.skipped - p.skipped_before;
                // HTTP+SSE: the opening never went, for want of the `endpoint` event.
                if let (Owner::Lifecycle, Transport::Http(h)) = (p.owner, &self.transport) {
                    if h.lacks_endpoint() {
                        let e = crate::error::LegacySseError::NoEndpoint { after };
                        return self.apply(now, Failure::LegacySse(e), Some(id), None, "");
                    }
                }
                self.apply(
                    now,
                    Failure::DeadlinePassed { after, skipped },
                    Some(id),
                    None,
                    "timed out",
                );
            }
            TimerReason::ResumeStream(id) => {
                if let Transport::Http(h) = &mut self.transport {
                    h.resume(id);
                }
            }
            TimerReason::ReopenServerStream => {
                if let Transport::Http(h) = &mut self.transport {
                    h.reopen_server_stream();
                }
            }
            TimerReason::ServerStreamWait => self.become_ready(now),
            TimerReason::Reissue(id) => self.reissue_warned(now, id),
            TimerReason::TaskPoll(id) => {
                let todo = self.tasks.on_poll(id);
                self.do_tasks(now, todo);
            }
            TimerReason::TaskDeadline(id) => {
                let todo = self.tasks.on_deadline(id);
                self.do_tasks(now, todo);
            }
            TimerReason::HostedTaskExpiry(serial) => {
                if let Some(h) = &mut self.hosted {
                    let todo = h.on_expiry(serial);
                    self.do_hosted(todo);
                }
            }
            TimerReason::ErrorBody(exchange) => {
                if let Transport::Http(h) = &mut self.transport {
                    h.error_body_done(exchange, true);
                }
            }
        }
        self.pump(now);
    }

    // ----- internals: the table and the wire ------------------------------------------------

    /// Adds a request to the table with its deadline.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        now: Instant,
        owner: Owner,
        method: Name,
        params: Option<RawJson>,
        size: usize,
        timeout: Option<Duration>,
        progress: bool,
    ) -> RequestId {
        let timeout = timeout
            .unwrap_or(self.policy.request_timeout)
            .min(self.policy.max_request_time);
        let deadline = later(now, timeout);
        let mut pending = Pending::new(owner, method, params, size, now, timeout, progress);
        if pending.deadline() != Some(deadline) {
            // A timeout past what `Pending` keeps (584 years): the deadline exactly, apart.
            pending.set_deadline(Some(deadline));
        }
        pending.skipped_before = self.skipped;
        let id = self.requests.insert(pending);
        self.timers.move_deadline(id, None, Some(deadline));
        id
    }

    /// Moves request `id`'s deadline to `at` (`None`: it has none, as an open subscription or
    /// a created task's request): the request keeps the instant, the timer table orders it.
    fn move_deadline(&mut self, id: RequestId, at: Option<Instant>) {
        if let Some(p) = self.requests.get_mut(id) {
            let old = p.set_deadline(at);
            self.timers.move_deadline(id, old, at);
        }
    }

    /// Whether a sent request may be encoded again for more than a redirect: a 2026-07-28
    /// retry, or a request sent again with the OAuth flow's new token.
    fn reencodes_requests(&self) -> bool {
        self.lifecycle.is_modern() || self.auth.is_some()
    }

    /// Sends a request the table holds: `body` if the caller encoded it already (the 2025
    /// era), else encoded now for the revision spoken.
    fn dispatch(&mut self, id: RequestId, body: Option<Vec<u8>>) {
        let Some(p) = self.requests.get(id) else {
            return;
        };
        if let Some(e) = self.removed(&p.method) {
            return self.complete(id, Err(e), false);
        }
        // The OAuth flow is running, or the token wants a refresh first: it waits.
        if self.waits_for_token() {
            if !self.held.contains(&id) {
                self.held.push(id);
            }
            return;
        }
        let Some(p) = self.requests.get(id) else {
            return;
        };
        let (body, headers) = match body {
            Some(body) => (body, ::http::HeaderMap::new()),
            None => match self.encode(id, p) {
                Ok(encoded) => encoded,
                Err(e) => return self.complete(id, Err(e), false),
            },
        };
        let method = p.method.clone();
        let kind = match (p.owner, self.lifecycle.is_modern()) {
            (Owner::Lifecycle, false) => ExchangeKind::Initialize,
            (Owner::Lifecycle, true) => ExchangeKind::Discover,
            (Owner::App | Owner::Task, _) => ExchangeKind::Request,
        };
        // A request of the 2025 era without OAuth is encoded again only if a redirect is
        // followed (no retry, no replay: resumption is by GET), so its params go once it is
        // on the wire when the policy follows none.
        let keep_params = kind != ExchangeKind::Request
            || self.reencodes_requests()
            || self.policy.max_redirects > 0;
        self.requests.mark_sent(id, keep_params);
        if self.auth.is_some() {
            if let Some(p) = self.requests.get_mut(id) {
                p.token_generation = self.token_generation;
            }
        }
        self.send_message(kind, Some(id), method, body, headers);
    }

    /// A request as it goes on the wire now: its message and (2026-07-28 over HTTP) its
    /// headers. 2026-07-28 adds `_meta`, the answers of an `input_required` round, and the
    /// headers `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*`.
    fn encode(
        &self,
        id: RequestId,
        p: &Pending,
    ) -> Result<(Vec<u8>, ::http::HeaderMap), RequestError> {
        let wire = Id::Number(p.wire(id) as i64);
        let Some(meta) = &self.meta else {
            let body = jsonrpc::encode_request_raw(&wire, &p.method, p.params.as_deref());
            return Ok((body, ::http::HeaderMap::new()));
        };
        let invalid =
            |e: String| RequestError::Protocol(crate::ProtocolError::InvalidJson(e.into()));
        // A retry after `input_required` carries the answers and the `requestState`.
        let retry = p.input().and_then(|i| i.retry.as_deref());
        let params = meta
            .apply(retry.or(p.params.as_deref()))
            .map_err(|e| invalid(e.to_string()))?;
        let body = jsonrpc::encode_request_raw(&wire, &p.method, Some(&params));
        if body.len() > self.policy.max_message_size {
            return Err(RequestError::TooLarge {
                limit: self.policy.max_message_size,
            });
        }
        let mut headers = ::http::HeaderMap::new();
        if let Transport::Http(_) = self.transport {
            let version = mcp_headers::protocol_version_header(meta.protocol_version())
                .map_err(|e| invalid(e.to_string()))?;
            headers.insert(mcp_headers::MCP_PROTOCOL_VERSION, version);
            let more = mcp_headers::request_headers(&p.method, Some(&params), &self.tool_headers)
                .map_err(|e| invalid(e.to_string()))?;
            for (name, value) in more {
                headers.append(name, value);
            }
        }
        Ok((body, headers))
    }

    /// 2026-07-28 over HTTP: a notification's version and method headers.
    fn notification_headers(&self, method: &str) -> ::http::HeaderMap {
        let mut headers = ::http::HeaderMap::new();
        if let (Transport::Http(_), Some(meta)) = (&self.transport, &self.meta) {
            if let Ok(v) = mcp_headers::protocol_version_header(meta.protocol_version()) {
                headers.insert(mcp_headers::MCP_PROTOCOL_VERSION, v);
            }
            headers.insert(mcp_headers::MCP_METHOD, mcp_headers::encode(method));
        }
        headers
    }

    /// Hands one message to the transport.
    fn send_message(
        &mut self,
        kind: ExchangeKind,
        request: Option<RequestId>,
        method: Name,
        body: Vec<u8>,
        headers: ::http::HeaderMap,
    ) {
        match &mut self.transport {
            Transport::Http(h) => drop(h.post(kind, request, method, body, headers)),
            Transport::Stdio(s) => s.send(body, request),
        }
    }

    /// The shared text of a method (a few dozen are kept; the rest are allocated each time).
    fn intern(&mut self, method: &str) -> Name {
        if let Some(m) = self.methods.iter().find(|m| &***m == method) {
            return m.clone();
        }
        let m = Name::from(method);
        if self.methods.len() < 32 {
            self.methods.push(m.clone());
        }
        m
    }

    /// Bytes waiting to be sent.
    fn backlog(&self) -> usize {
        let transport = match &self.transport {
            Transport::Http(h) => h.held(),
            Transport::Stdio(s) => s.held(),
        };
        self.requests.unsent_bytes() + self.early_bytes + transport
    }

    /// Whether a message sent now would wait: before ready, over stdio (until the child takes
    /// it), or when every HTTP exchange slot is taken.
    fn would_hold(&self) -> bool {
        match &self.transport {
            _ if !self.lifecycle.is_ready() || self.authorizing => true,
            Transport::Stdio(_) => true,
            Transport::Http(h) => !h.has_free_slot(),
        }
    }

    /// Whether `bytes` more may wait to be sent; past the limit the policy says what fails.
    fn check_backlog(&mut self, bytes: usize, owed: bool) -> Result<(), RequestError> {
        if !self.would_hold() {
            return Ok(());
        }
        let limit = self.policy.max_send_backlog;
        if self
            .backlog()
            .checked_add(bytes)
            .is_some_and(|total| total <= limit)
        {
            return Ok(());
        }
        let failure = Failure::SendBacklog { limit, owed };
        match self.policy.effect(&failure) {
            Effect::FailSession(e) => {
                self.fail_session(e.clone());
                Err(RequestError::Session(e))
            }
            Effect::FailRequest(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Takes what the transport has to say, one thing at a time, until it has nothing more.
    fn pump(&mut self, now: Instant) {
        if self.pumping {
            return;
        }
        self.pumping = true;
        while self.closed.is_none() {
            let next = match &mut self.transport {
                Transport::Http(h) => h.poll(),
                Transport::Stdio(s) => s.poll(),
            };
            let Some(happened) = next else { break };
            self.on_happened(now, happened);
        }
        self.pumping = false;
        // The handshake's GET stream: ready once the server has said what becomes of it.
        if let Transport::Http(h) = &self.transport {
            if self.lifecycle.is_initialized()
                && !self.lifecycle.is_ready()
                && !h.server_stream_pending()
            {
                self.become_ready(now);
            }
        }
        self.backlog_peak = self.backlog_peak.max(self.backlog());
    }

    fn on_happened(&mut self, now: Instant, happened: Happened) {
        match happened {
            Happened::Message {
                text,
                origin,
                exchange,
                whole_body,
            } => {
                // Still its request's? (It was read before the session took what came ahead of
                // it, which may have issued the request again elsewhere: how the bytes were cut
                // must not decide.)
                let origin = match (&self.transport, exchange) {
                    (Transport::Http(h), Some(x)) => origin.filter(|r| h.carries(x, *r)),
                    _ => origin,
                };
                self.on_text(now, &text, origin, whole_body)
            }
            Happened::Messages {
                all,
                ranges,
                next,
                origin,
                exchange,
            } => {
                // The next message, copied out; the rest go back where they were before it is
                // read (reading it may drop them, or change whose they are).
                // (The scratch is kept cleared.)
                let mut text = std::mem::take(&mut self.text_scratch);
                let range = ranges.get(next).cloned().unwrap_or_default();
                text.push_str(all.get(range).unwrap_or_default());
                let Transport::Http(h) = &mut self.transport else {
                    return;
                };
                let carried = origin.filter(|r| h.carries(exchange, *r));
                if next + 1 < ranges.len() {
                    h.put_back(Happened::Messages {
                        all,
                        ranges,
                        next: next + 1,
                        origin,
                        exchange,
                    });
                }
                let text = crate::transport::Text::Checked(text);
                self.on_text(now, &text, carried, false);
                if let crate::transport::Text::Checked(mut text) = text {
                    if text.capacity() <= TEXT_SCRATCH {
                        text.clear();
                        self.text_scratch = text;
                    }
                }
            }
            Happened::Failed {
                mut failure,
                request,
                exchange,
            } => {
                // The transport does not know a subscription's stream from a request's, nor
                // whether there is an OAuth flow.
                if let Failure::StreamBroken { listen, .. } = &mut failure {
                    *listen = request
                        .and_then(|id| self.requests.get(id))
                        .is_some_and(|p| p.listen().is_some());
                }
                if let Failure::Status {
                    authorizer,
                    recoveries,
                    ..
                } = &mut failure
                {
                    *authorizer = self.auth.is_some();
                    *recoveries = self.recoveries;
                }
                if let Failure::ErrorBody { recoveries, .. } = &mut failure {
                    *recoveries = self.recoveries;
                }
                self.apply(now, failure, request, exchange, "cancelled by the client")
            }
            Happened::Transmit(t) => self.out.push_back(Output::Transmit(t)),
            Happened::Abort(x) => self.out.push_back(Output::Abort(x)),
            Happened::Done(x) => self.timers.clear(TimerReason::ErrorBody(x)),
            Happened::AuthResponse {
                request,
                status,
                headers,
                body,
            } => {
                if let Some(flow) = &mut self.auth {
                    flow.handle_response(now, request, status, &headers, &body);
                }
                self.pump_auth(now);
            }
            Happened::AuthFailed { request, error } => {
                if let Some(flow) = &mut self.auth {
                    flow.handle_failure(request, error);
                }
                self.pump_auth(now);
            }
        }
    }

    // ----- internals: what the policy says ----------------------------------------------------

    /// Applies the policy's effect for `failure` of `request` (on `exchange`).
    fn apply(
        &mut self,
        now: Instant,
        failure: Failure,
        request: Option<RequestId>,
        exchange: Option<ExchangeId>,
        reason: &str,
    ) {
        match self.policy.effect(&failure) {
            Effect::Proceed => {}
            Effect::FailSession(e) => self.fail_session(e),
            Effect::FailRequest(e) => {
                if let Some(id) = request {
                    self.fail_request(now, id, e, true);
                }
                // The exchange dies with the request, and also when its request was answered.
                if let (Transport::Http(h), Some(x)) = (&mut self.transport, exchange) {
                    h.abort(x);
                }
            }
            Effect::Abandon(e) => {
                if let Some(id) = request {
                    self.abandon(id, e, reason);
                }
            }
            Effect::ReadErrorBody { scope, max, wait } => {
                if let (Transport::Http(h), Some(x)) = (&mut self.transport, exchange) {
                    h.read_error_body(x, scope, max);
                    self.timers.set(TimerReason::ErrorBody(x), later(now, wait));
                }
            }
            Effect::Warn(w) => {
                if let Transport::Http(h) = &mut self.transport {
                    if let Some(x) = exchange {
                        h.abort(x);
                    }
                    if matches!(failure, Failure::ServerStreamEnded { .. }) {
                        h.server_stream_gone();
                    }
                }
                self.warn(w);
            }
            Effect::Reconnect { after } => match (&failure, request) {
                (Failure::ServerStreamEnded { .. }, _) => {
                    self.timers
                        .set(TimerReason::ReopenServerStream, later(now, after));
                }
                (_, Some(id)) => {
                    self.timers
                        .set(TimerReason::ResumeStream(id), later(now, after));
                    if let Some(p) = self.requests.get_mut(id) {
                        p.extra_mut().reconnecting = true;
                    }
                }
                _ => {}
            },
            Effect::Reissue { after } => {
                if let Some(id) = request {
                    self.timers.set(TimerReason::Reissue(id), later(now, after));
                    if let Some(p) = self.requests.get_mut(id) {
                        p.extra_mut().reconnecting = true;
                    }
                }
            }
            Effect::RetryWithVersion(version) => {
                // Only through `fail_request`, which knows the request.
                let _ = version;
            }
            Effect::Authorize => self.authorize(now, &failure, request, exchange),
            Effect::Reinitialize => self.reinitialize(now),
            Effect::NoServerStream => {
                if let Transport::Http(h) = &mut self.transport {
                    h.no_server_stream(exchange);
                }
            }
            Effect::Redirect { to } => {
                // The POST of a request's message: encoded again, the same bytes, from the
                // request kept (its params are kept while a redirect may come).
                let message = match (&self.transport, exchange) {
                    (Transport::Http(h), Some(x)) => h.message_of(x),
                    _ => None,
                }
                .and_then(|id| Some((id, self.requests.get(id)?)))
                .and_then(|(id, p)| self.encode(id, p).ok());
                if let (Transport::Http(h), Some(x)) = (&mut self.transport, exchange) {
                    h.redirect(x, to, message);
                }
            }
            Effect::Ignore => {
                if let Transport::Http(h) = &mut self.transport {
                    if matches!(failure, Failure::ServerStreamEnded { .. }) {
                        h.server_stream_gone();
                    }
                }
            }
        }
    }

    /// Completes a request exactly once. `failed`: its exchange is aborted (it failed, or the
    /// client gave up); an answer leaves a stream to run out by itself.
    fn complete(&mut self, id: RequestId, result: Result<RawJson, RequestError>, failed: bool) {
        let Some(p) = self.requests.complete(id) else {
            return;
        };
        self.timers.move_deadline(id, p.deadline(), None);
        // Its reconnect timer, if it ever had one (most never do: the hot path skips it).
        if p.reconnecting() {
            self.timers.clear(TimerReason::Reissue(id));
            self.timers.clear(TimerReason::ResumeStream(id));
        }
        if p.input().is_some() {
            self.inputs.retain(|_, (r, _)| *r != id);
        }
        if !self.held.is_empty() {
            self.held.retain(|h| *h != id);
        }
        // A request sent again with the flow's token got through: the flow's count of
        // challenges starts again.
        let answered = matches!(result, Ok(_) | Err(RequestError::Rpc(_)));
        if p.auth_replays() > 0 && answered {
            if let Some(flow) = &mut self.auth {
                flow.handle_accepted();
            }
        }
        // The server answered in the session it has now: the recoveries in a row are over.
        if answered && p.owner == Owner::App {
            self.recoveries = 0;
        }
        // The probe's stream has nothing more for the session, whatever its answer: it would
        // only hold an exchange (the opening that follows may need it).
        let probe =
            p.owner == Owner::Lifecycle && &*p.method == crate::modern::methods::SERVER_DISCOVER;
        match &mut self.transport {
            Transport::Http(h) => h.forget_request(id, failed || probe),
            Transport::Stdio(s) => s.forget_request(id),
        }
        if !self.tasks.is_empty() {
            self.tasks.forget(id);
            self.timers.clear(TimerReason::TaskPoll(id));
            self.timers.clear(TimerReason::TaskDeadline(id));
        }
        match p.owner {
            Owner::App => self
                .out
                .push_back(Output::Event(Event::Response { id, result })),
            Owner::Lifecycle => self.on_opening_result(result),
            Owner::Task => {
                if let Some((task, call)) = self.task_calls.remove(&id) {
                    let now = self.last_now;
                    let todo = self.tasks.on_reply(now, task, call, result);
                    self.do_tasks(now, todo);
                }
            }
        }
    }

    // ----- internals: tasks (2025-11-25) ---------------------------------------------------

    /// The answer to a task-augmented request: its task, followed from now on.
    fn on_task_created(&mut self, now: Instant, id: RequestId, raw: RawJson) {
        // The request's exchange has done its part; its deadline becomes the task's.
        if let Transport::Http(h) = &mut self.transport {
            h.forget_request(id, false);
        }
        self.move_deadline(id, None);
        let todo = self.tasks.on_created(now, id, raw);
        self.do_tasks(now, todo);
    }

    /// The tasks extension's answer to request `id`: a task, followed from now on; without
    /// an earlier [`tasks::Tasks::start`], its wait ends at `deadline`.
    fn on_task_created_inline(
        &mut self,
        now: Instant,
        id: RequestId,
        raw: RawJson,
        deadline: Instant,
    ) {
        if let Transport::Http(h) = &mut self.transport {
            h.forget_request(id, false);
        }
        self.move_deadline(id, None);
        let todo = self.tasks.on_created_inline(now, id, raw, deadline);
        self.do_tasks(now, todo);
    }

    /// Does what the tasks sub-machine says.
    fn do_tasks(&mut self, now: Instant, todo: Vec<tasks::Do>) {
        for d in todo {
            match d {
                tasks::Do::Get { id, task_id } => self.task_call(
                    now,
                    id,
                    tasks::Call::Get,
                    "tasks/get",
                    json!({ "taskId": &*task_id }),
                    None,
                ),
                tasks::Do::Fetch {
                    id,
                    task_id,
                    timeout,
                } => self.task_call(
                    now,
                    id,
                    tasks::Call::Fetch,
                    "tasks/result",
                    json!({ "taskId": &*task_id }),
                    Some(timeout),
                ),
                tasks::Do::Cancel { task_id } => {
                    // Nobody waits for its answer: the task's request is no longer tracked.
                    self.task_call(
                        now,
                        RequestId(u64::MAX),
                        tasks::Call::Cancel,
                        "tasks/cancel",
                        json!({ "taskId": &*task_id }),
                        None,
                    )
                }
                tasks::Do::Update {
                    id,
                    task_id,
                    responses,
                } => self.task_call(
                    now,
                    id,
                    tasks::Call::Update,
                    "tasks/update",
                    json!({ "taskId": &*task_id, "inputResponses": responses }),
                    None,
                ),
                tasks::Do::Ask { id, key, request } => {
                    if let Some(why) = self.undeclared(&key, &request) {
                        let mut todo = self.tasks.on_cancel(id);
                        todo.push(tasks::Do::Complete {
                            id,
                            result: Err(RequestError::Input(why.into())),
                        });
                        self.do_tasks(now, todo);
                        continue;
                    }
                    let handle = format!("task-input-{}", self.next_input);
                    self.next_input += 1;
                    self.task_inputs.insert(handle.clone(), (id, key));
                    self.out.push_back(Output::Event(Event::Request {
                        id: Id::String(handle),
                        request,
                    }));
                }
                tasks::Do::PollAt { id, at } => self.timers.set(TimerReason::TaskPoll(id), at),
                tasks::Do::DeadlineAt { id, at } => {
                    self.timers.set(TimerReason::TaskDeadline(id), at)
                }
                tasks::Do::Status { id, task } => self
                    .out
                    .push_back(Output::Event(Event::TaskStatus { id, task })),
                tasks::Do::Complete { id, result } => self.complete(id, result, false),
            }
        }
    }

    /// Does what the hosted tasks' sub-machine says.
    fn do_hosted(&mut self, todo: Vec<hosted::Do>) {
        for d in todo {
            match d {
                hosted::Do::Respond { id, result } => {
                    let body = jsonrpc::encode_response_raw(&id, result.as_deref());
                    if self.send_response(body).is_err() {
                        return;
                    }
                }
                hosted::Do::Surface { id, request } => self
                    .out
                    .push_back(Output::Event(Event::Request { id, request })),
                hosted::Do::ExpireAt { serial, at } => {
                    self.timers.set(TimerReason::HostedTaskExpiry(serial), at)
                }
                hosted::Do::Forget { serial } => {
                    self.timers.clear(TimerReason::HostedTaskExpiry(serial))
                }
                hosted::Do::Withdraw { id } => self
                    .out
                    .push_back(Output::Event(Event::RequestWithdrawn { id })),
            }
        }
    }

    /// One of a task's own requests (`{"taskId": ...}`, and the extension's
    /// `inputResponses`), for the task of request `task`.
    fn task_call(
        &mut self,
        now: Instant,
        task: RequestId,
        call: tasks::Call,
        method: &'static str,
        params: Value,
        timeout: Option<Duration>,
    ) {
        if self.closed.is_some() {
            return;
        }
        let params = serde_json::value::to_raw_value(&params).ok();
        let size = method.len() + params.as_ref().map_or(0, |p| p.get().len()) + 64;
        let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
        let id = self.insert(
            now,
            Owner::Task,
            method.into(),
            params,
            size,
            timeout,
            false,
        );
        // `tasks/result` may wait as long as the task: its deadline is the task's, not the
        // policy's per-request maximum.
        if let Some(t) = timeout {
            self.move_deadline(id, Some(later(now, t)));
        }
        self.task_calls.insert(id, (task, call));
        self.dispatch(id, None);
    }

    /// Fails a request the client gives up on (timeout, cancel): its exchange is aborted and
    /// the server, if it had the request, is told with `notifications/cancelled`.
    fn abandon(&mut self, id: RequestId, error: RequestError, reason: &str) {
        let Some(p) = self.requests.get(id) else {
            return;
        };
        let waiting = match &self.transport {
            Transport::Http(h) => h.is_waiting(id),
            Transport::Stdio(_) => false,
        };
        let reached = p.sent && !waiting && p.owner == Owner::App;
        let wire = Id::Number(p.wire(id) as i64);
        // A created task is the server's now: `tasks/cancel` tells it, not the request id.
        let task = match self.tasks.is_empty() {
            true => Vec::new(),
            false => self.tasks.on_cancel(id),
        };
        let reached = reached && task.is_empty();
        self.complete(id, Err(error), true);
        let now = self.last_now;
        self.do_tasks(now, task);
        // 2026-07-28 over HTTP: closing the request's stream (the abort) is the cancellation;
        // the revision has no notifications from the client there.
        let closed_stream =
            self.lifecycle.is_modern() && matches!(self.transport, Transport::Http(_));
        if reached && self.closed.is_none() && !closed_stream {
            let params = json!({ "requestId": wire, "reason": reason });
            let body = jsonrpc::encode_notification("notifications/cancelled", Some(&params));
            let headers = self.notification_headers("notifications/cancelled");
            let method = self.intern("notifications/cancelled");
            self.send_message(ExchangeKind::Notification, None, method, body, headers);
        }
    }

    /// The session-fatal path: every outstanding request fails with `error` in ascending id,
    /// then one `Closed` event; the error is permanent.
    fn fail_session(&mut self, error: SessionError) {
        if self.closed.is_some() {
            return;
        }
        let closing = error == SessionError::Closed;
        // What was to be sent no longer matters, and a request not yet transmitted must not
        // reach the server once it is reported failed; the events already queued stay ahead,
        // and so do the aborts of exchanges the adapter has.
        let mut unsent = Vec::new();
        self.out.retain(|o| match o {
            Output::Transmit(Transmit::Http { exchange, .. }) => {
                unsent.push(*exchange);
                false
            }
            Output::Transmit(_) => false,
            _ => true,
        });
        self.out
            .retain(|o| !matches!(o, Output::Abort(x) if unsent.contains(x)));
        // The aborts and the completions are made as they are polled (`Ending`): only their
        // ids are kept, in ascending order, not 100,000 outputs at once.
        let mut aborts = Vec::new();
        let delete = match &mut self.transport {
            Transport::Http(h) => {
                aborts.reserve_exact(h.exchange_count());
                h.shut(closing, |x| {
                    if !unsent.contains(&x) {
                        aborts.push(x);
                    }
                })
            }
            Transport::Stdio(_) => None,
        };
        let mut failed = Vec::with_capacity(self.requests.len());
        self.requests.drain_each(|id, owner| {
            if owner == Owner::App {
                failed.push(id);
            }
        });
        self.early.clear();
        self.early_bytes = 0;
        self.held.clear();
        self.authorizing = false;
        // The hosted tasks end with the session: the `tasks/result`s waiting are the server's
        // requests of a session that is over; nothing is left waiting, nothing is kept.
        if let Some(h) = &mut self.hosted {
            drop(h.clear());
        }
        self.timers.clear_all();
        self.linger_until = Some(later(self.last_now, self.policy.linger));
        self.closed = Some(error.clone());
        self.ending = Some(Box::new(Ending {
            ahead: self.out.len(),
            aborts: aborts.into_iter(),
            failed: failed.into_iter(),
            delete,
            error: Some(error),
        }));
    }

    // ----- internals: an expired session ----------------------------------------------------------

    /// The server forgot the session (the policy's [`Effect::Reinitialize`]): one
    /// [`Event::SessionExpired`], then every request in flight fails with
    /// [`RequestError::SessionExpired`] in ascending id — never sent again: the server may
    /// have acted on it — and the old session's exchanges are dropped (its GET stream, its
    /// resumptions); then a new `initialize` goes out without the old session id. The
    /// requests that never reached the adapter (waiting for a free exchange, held for the
    /// OAuth flow), and those started from now until the new handshake is over, wait for
    /// it, as before the first one.
    fn reinitialize(&mut self, now: Instant) {
        let Transport::Http(h) = &self.transport else {
            return;
        };
        let session_id = h.session_id().map(str::to_owned);
        if !self.lifecycle.restart() {
            // 2026-07-28 (no sessions), or an opening outstanding: nothing to start again.
            return self.fail_session(SessionError::SessionExpired);
        }
        self.recoveries += 1;
        // A request still waiting for a free exchange never reached the server: it waits for
        // the new session, as it was encoded.
        let mut in_flight = Vec::new();
        for id in self.requests.sent_by_app() {
            let waiting = match &mut self.transport {
                Transport::Http(h) => h.take_waiting(id),
                Transport::Stdio(_) => None,
            };
            match waiting {
                Some(body) => {
                    self.requests.unsend(id);
                    self.early.push(Early::Encoded(id, body));
                }
                None => in_flight.push(id),
            }
        }
        self.out.push_back(Output::Event(Event::SessionExpired {
            session_id,
            recovery: self.recoveries,
            failed: in_flight.len(),
        }));
        for id in in_flight {
            self.complete(id, Err(RequestError::SessionExpired), true);
        }
        if let Transport::Http(h) = &mut self.transport {
            h.forget_session();
        }
        // The tasks hosted for the old session are the old session's.
        if let Some(h) = &mut self.hosted {
            let todo = h.clear();
            self.do_hosted(todo);
        }
        self.timers.clear(TimerReason::ReopenServerStream);
        self.timers.clear(TimerReason::ServerStreamWait);
        self.open(now);
    }

    // ----- internals: authorization -------------------------------------------------------------

    /// Whether a request sent now waits for the OAuth flow: it is running, or the token is
    /// about to expire and can be refreshed (then the refresh starts: one for every request
    /// that waits).
    fn waits_for_token(&mut self) -> bool {
        if self.authorizing {
            return true;
        }
        if self.replaying {
            return false;
        }
        let now = self.last_now;
        let Some(flow) = &mut self.auth else {
            return false;
        };
        if flow.token_status(now) != crate::auth::TokenStatus::NeedsRefresh || !flow.refresh() {
            return false;
        }
        self.authorizing = true;
        self.pump_auth(now);
        // The refresh may have ended at once (it failed before sending anything).
        self.authorizing
    }

    /// The server asked for authorization (the policy's [`Effect::Authorize`]): the flow
    /// takes the challenge, and the request waits for its token.
    fn authorize(
        &mut self,
        now: Instant,
        failure: &Failure,
        request: Option<RequestId>,
        exchange: Option<ExchangeId>,
    ) {
        let Failure::Status {
            status,
            challenge,
            www_authenticate,
            ..
        } = failure
        else {
            return;
        };
        let (Some(flow), Transport::Http(h)) = (&mut self.auth, &mut self.transport) else {
            return;
        };
        if let Some(x) = exchange {
            h.abort(x);
        }
        // Sent with a token the flow has replaced since (it met the challenge that got the
        // new one, while it was on its way): it goes again with the new token, and the flow
        // is not asked again — one refresh for every request that was in flight.
        let stale = request
            .and_then(|id| self.requests.get(id))
            .is_some_and(|p| p.token_generation < self.token_generation && p.auth_replays() < 3);
        if let (Some(id), true, false) = (request, stale, self.authorizing) {
            h.detach(id);
            self.requests.unsend(id);
            let early = match self.requests.get_mut(id) {
                Some(p) => {
                    p.extra_mut().auth_replays += 1;
                    p.owner == Owner::App && !self.lifecycle.is_ready()
                }
                None => return,
            };
            match early {
                true => self.early.push(Early::Request(id)),
                false => self.dispatch(id, None),
            }
            return self.pump(now);
        }
        let headers = challenge.as_deref().cloned().unwrap_or_default();
        let endpoint = h.endpoint().clone();
        if !flow.handle_challenge(&endpoint, *status, &headers) {
            // Not a challenge the flow takes after all (no `Bearer`): as without a flow.
            let e = SessionError::AuthRequired {
                www_authenticate: www_authenticate.clone(),
            };
            return self.fail_session(e);
        }
        self.authorizing = true;
        if let Some(id) = request {
            if let Some(h) = match &mut self.transport {
                Transport::Http(h) => Some(h),
                Transport::Stdio(_) => None,
            } {
                h.detach(id);
            }
            self.requests.unsend(id);
            if !self.held.contains(&id) {
                self.held.push(id);
            }
        }
        self.pump_auth(now);
    }

    /// Takes what the OAuth flow has to say: its requests, its need for randomness and for
    /// the user, and its end.
    fn pump_auth(&mut self, now: Instant) {
        let mut outputs = Vec::new();
        if let Some(flow) = &mut self.auth {
            while let Some(o) = flow.poll_output() {
                outputs.push(o);
            }
        }
        for output in outputs {
            match output {
                crate::auth::Output::Send(r) => {
                    if let Transport::Http(h) = &mut self.transport {
                        h.auth(r.id, r.request);
                    }
                }
                crate::auth::Output::Random(n) => self.out.push_back(Output::Random(n)),
                crate::auth::Output::Event(crate::auth::Event::Authorize { url, redirect_uri }) => {
                    self.out.push_back(Output::Event(Event::Authorize {
                        url: crate::output::AuthorizeUrl(url),
                        redirect_uri,
                    }))
                }
                crate::auth::Output::Event(crate::auth::Event::Authorized) => self.authorized(now),
                crate::auth::Output::Event(crate::auth::Event::Failed(e)) => {
                    self.authorization_failed(Arc::new(e))
                }
            }
        }
        self.pump(now);
    }

    /// The flow has a token: the requests that waited go again with it, in order.
    fn authorized(&mut self, now: Instant) {
        self.authorizing = false;
        self.token_generation = self.token_generation.saturating_add(1);
        if let (Some(flow), Transport::Http(h)) = (&self.auth, &mut self.transport) {
            let header = flow.resource_credential(h.endpoint());
            let max_body = h.max_auth_body();
            h.set_authorization(header, max_body);
        }
        self.out.push_back(Output::Event(Event::Authorized));
        self.replaying = true;
        for id in std::mem::take(&mut self.held) {
            let Some(p) = self.requests.get_mut(id) else {
                continue;
            };
            p.extra_mut().auth_replays += 1;
            // The application's requests still wait for the opening, if it is not over.
            if p.owner == Owner::App && !self.lifecycle.is_ready() {
                self.early.push(Early::Request(id));
            } else {
                self.dispatch(id, None);
            }
        }
        self.replaying = false;
        // The GET stream met the challenge too (2025 era): it opens again; so does the
        // HTTP+SSE event stream, which the held requests wait for.
        if let Transport::Http(h) = &mut self.transport {
            if self.lifecycle.is_ready() && !self.lifecycle.is_modern() {
                h.open_server_stream();
            }
            if self.lifecycle.is_legacy_sse() {
                h.open_event_stream();
            }
        }
        self.pump(now);
    }

    /// The flow failed: the requests that waited fail with its error (the opening: the
    /// session).
    fn authorization_failed(&mut self, e: Arc<crate::auth::Error>) {
        self.authorizing = false;
        // The flow may have forgotten the token (a refresh token revoked): so does the
        // transport.
        if let (Some(flow), Transport::Http(h)) = (&self.auth, &mut self.transport) {
            let header = flow.resource_credential(h.endpoint());
            let max_body = h.max_auth_body();
            h.set_authorization(header, max_body);
        }
        for id in std::mem::take(&mut self.held) {
            match self.requests.get(id).map(|p| p.owner) {
                Some(Owner::Lifecycle) => return self.fail_session(SessionError::Auth(e)),
                Some(Owner::App | Owner::Task) => {
                    self.complete(id, Err(RequestError::Auth(e.clone())), true)
                }
                None => {}
            }
        }
    }

    // ----- internals: the lifecycle -------------------------------------------------------------

    fn on_opening_result(&mut self, result: Result<RawJson, RequestError>) {
        let now = self.last_now;
        let stdio = matches!(self.transport, Transport::Stdio(_));
        let next = match result {
            Ok(raw) => match self.lifecycle.on_result(raw.get()) {
                Ok(next) => next,
                Err(failure) => return self.apply(now, failure, None, None, ""),
            },
            Err(e) => match self.lifecycle.on_error(e, stdio) {
                Ok(next) => next,
                Err(e) => return self.fail_session(e),
            },
        };
        match next {
            Next::Initialized { version } => {
                if let Transport::Http(h) = &mut self.transport {
                    h.set_version(version);
                }
                let body = jsonrpc::encode_notification("notifications/initialized", None);
                let method = self.intern("notifications/initialized");
                self.send_message(
                    ExchangeKind::Notification,
                    None,
                    method,
                    body,
                    ::http::HeaderMap::new(),
                );
                match &mut self.transport {
                    Transport::Http(h) => {
                        // Servers send their own requests on the GET stream (elicitation during
                        // a tool call, ...): the session is ready once the server has answered
                        // it, or soon.
                        if h.open_server_stream() {
                            let at = later(now, self.policy.server_stream_wait);
                            self.timers.set(TimerReason::ServerStreamWait, at);
                        } else {
                            self.become_ready(now);
                        }
                    }
                    Transport::Stdio(_) => self.become_ready(now),
                }
            }
            Next::Ready { .. } => {
                self.refresh_meta();
                self.become_ready(now);
            }
            Next::Probe { .. } | Next::Handshake => self.open(now),
            Next::LegacySse => {
                if let Transport::Http(h) = &mut self.transport {
                    h.set_legacy_sse();
                }
                self.open(now)
            }
        }
    }

    /// The handshake is over: `Ready`, then what waited for it, in order.
    fn become_ready(&mut self, now: Instant) {
        if self.closed.is_some() || !self.lifecycle.become_ready() {
            return;
        }
        self.timers.clear(TimerReason::ServerStreamWait);
        self.out.push_back(Output::Event(Event::Ready));
        for early in std::mem::take(&mut self.early) {
            match early {
                Early::Request(id) => self.dispatch(id, None),
                Early::Encoded(id, body) => self.dispatch(id, Some(body)),
                Early::Notification { method, body } => {
                    self.early_bytes -= body.len();
                    if let Some(e) = self.removed(&method) {
                        self.warn(Warning::NotificationFailed {
                            method,
                            reason: e.to_string(),
                        });
                        continue;
                    }
                    let headers = self.notification_headers(&method);
                    let method = self.intern(&method);
                    self.send_message(ExchangeKind::Notification, None, method, body, headers);
                }
            }
        }
        self.pump(now);
    }

    // ----- internals: messages --------------------------------------------------------------------

    /// One JSON text that should hold JSON-RPC. A whole body must hold the answer of the
    /// request it came for; an event or a line that is not JSON-RPC is skipped.
    fn on_text(
        &mut self,
        now: Instant,
        text: &crate::transport::Text,
        origin: Option<RequestId>,
        whole_body: bool,
    ) {
        // The id the origin was sent with on this exchange: if it changes, the request went
        // again on another (2026-07-28: an `input_required` round, a version error).
        let wire = match whole_body {
            true => origin.and_then(|id| Some(self.requests.get(id)?.wire(id))),
            false => None,
        };
        let decoded = match text.as_str() {
            Some(s) => jsonrpc::decode_str(s),
            None => jsonrpc::decode(text.as_bytes()),
        };
        let text = text.as_bytes();
        match decoded {
            Ok(jsonrpc::Decoded::Single(m)) => {
                self.on_message(now, m, origin);
                self.fire_due();
            }
            Ok(jsonrpc::Decoded::Batch(items)) => {
                for item in items {
                    if self.closed.is_some() {
                        return;
                    }
                    match item {
                        Ok(m) => self.on_message(now, m, origin),
                        Err(e) => self.skip(e.0, String::new()),
                    }
                    self.fire_due();
                }
            }
            Err(e) if whole_body => {
                let failure = if text.iter().all(u8::is_ascii_whitespace) {
                    Failure::NoResponse
                } else {
                    Failure::InvalidBody(e.0.into())
                };
                return self.apply(now, failure, origin, None, "");
            }
            Err(e) => self.skip(e.0, excerpt(text, 200)),
        }
        // A JSON body is the whole answer: if the response was not in it, none will come. (A
        // request the answer asks to send again is not sent now.)
        // (A created task's request was answered: its task follows.)
        let here = |id: &RequestId| {
            self.requests
                .get(*id)
                .is_some_and(|p| p.sent && Some(p.wire(*id)) == wire)
                && (self.tasks.is_empty() || self.tasks.task_id(*id).is_none())
        };
        if let Some(id) = origin.filter(|id| whole_body && here(id)) {
            self.apply(now, Failure::NoResponse, Some(id), None, "");
        }
    }

    /// A message that is not JSON-RPC: the policy's warning, and it counts as skipped.
    fn skip(&mut self, error: String, excerpt: String) {
        let now = self.last_now;
        self.apply(
            now,
            Failure::InvalidMessage { error, excerpt },
            None,
            None,
            "",
        );
    }

    /// Handles one message from the server. `origin` is the request whose exchange carried it
    /// (HTTP), which an error response without an id is attributed to.
    fn on_message(&mut self, now: Instant, message: Message, origin: Option<RequestId>) {
        match message {
            Message::Response { id, result } => self.on_answer(id, Ok(result)),
            Message::Error {
                id: Some(id),
                error,
            } => self.on_answer(id, Err(error)),
            Message::Error { id: None, error } => {
                match origin.filter(|o| self.requests.get(*o).is_some()) {
                    Some(origin) => {
                        let wire = self
                            .requests
                            .get(origin)
                            .map_or(origin.0, |p| p.wire(origin));
                        self.on_answer(Id::Number(wire as i64), Err(error))
                    }
                    None => self.skip(
                        "an error response without an id".into(),
                        excerpt(
                            format!("{} (code {})", error.message, error.code).as_bytes(),
                            200,
                        ),
                    ),
                }
            }
            Message::Request { id, method, params } => match params_value(params.as_deref()) {
                Ok(params) => self.on_server_request(id, method, params),
                Err(e) => {
                    let error = ErrorObject::new(
                        ErrorObject::INVALID_PARAMS,
                        format!("invalid params for {method}: {e}"),
                    );
                    self.answer(&id, Err(&error));
                }
            },
            Message::Notification { method, params } => {
                let size = method.len() + params.as_ref().map_or(0, |p| p.get().len());
                let value = params_value(params.as_deref());
                let parsed = match value {
                    Ok(v) if method == "notifications/progress" => {
                        return self.on_progress(now, v.unwrap_or(Value::Null))
                    }
                    Ok(v)
                        if (method == crate::schema::TASKS_STATUS
                            || method == crate::modern::methods::NOTIFICATION_TASKS)
                            && !self.tasks.is_empty() =>
                    {
                        let todo = self.tasks.on_notification(now, v.unwrap_or(Value::Null));
                        return self.do_tasks(now, todo);
                    }
                    Ok(v) => ServerNotification::parse(&method, v),
                    Err(e) => Err(e),
                };
                let subscription = match self.lifecycle.is_modern() {
                    true => crate::modern::subscription_id(params.as_deref())
                        .and_then(|id| match id {
                            Id::Number(n) if n >= 0 => self.requests.by_wire(n as u64),
                            _ => None,
                        })
                        .filter(|id| self.requests.get(*id).is_some_and(|p| p.listen().is_some())),
                    false => None,
                };
                match parsed {
                    Ok(ServerNotification::Other { method, params })
                        if method
                            == crate::modern::methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED =>
                    {
                        self.on_acknowledged(subscription, params)
                    }
                    Ok(ServerNotification::Cancelled(c))
                        if self.listen_of(c.request_id.as_ref()).is_some() =>
                    {
                        // The server ends a subscription: it completes with the notification's
                        // params (the reason).
                        if let Some(id) = self.listen_of(c.request_id.as_ref()) {
                            let raw = serde_json::value::to_raw_value(&c).ok();
                            let result = raw.ok_or(RequestError::StreamLost);
                            self.complete(id, result, true);
                        }
                    }
                    Ok(notification) => self.out.push_back(Output::Event(Event::Notification {
                        notification: Box::new(notification),
                        size,
                        subscription,
                    })),
                    Err(e) => self.skip(
                        format!("invalid params for {method}: {e}"),
                        excerpt(params.as_ref().map_or("", |p| p.get()).as_bytes(), 200),
                    ),
                }
            }
        }
    }

    fn on_answer(&mut self, id: Id, result: Result<RawJson, ErrorObject>) {
        let ours = match id {
            Id::Number(n) if n >= 0 => self.requests.by_wire(n as u64),
            _ => None,
        };
        let now = self.last_now;
        // The 2025 era's result completes its request at once (the hot path: one lookup).
        let modern = self.lifecycle.is_modern();
        let sent = ours.and_then(|rid| {
            let p = self.requests.get(rid).filter(|p| p.sent)?;
            Some((rid, !modern || p.owner != Owner::App))
        });
        match sent {
            // An answer, even an error, completes its request: its stream runs out by itself.
            Some((rid, plain)) => match result {
                Ok(raw) if !modern && !self.tasks.is_empty() && self.tasks.is_creating(rid) => {
                    self.on_task_created(now, rid, raw)
                }
                Ok(raw) if plain => self.complete(rid, Ok(raw), false),
                Ok(raw) => self.on_result(now, rid, raw),
                Err(e) => {
                    let error = match self.policy.effect(&Failure::RpcError(e.clone())) {
                        Effect::FailRequest(err) => err,
                        _ => RequestError::Rpc(e),
                    };
                    self.fail_request(now, rid, error, false);
                }
            },
            None => self.warn(Warning::LateResponse { id }),
        }
    }

    /// A request's result. 2026-07-28 says what it is (`resultType`): complete, or a round
    /// of `input_required`; and a `tools/list` over HTTP loses the tools whose `x-mcp-header`
    /// annotations break the rules.
    fn on_result(&mut self, now: Instant, rid: RequestId, raw: RawJson) {
        let Some(p) = self.requests.get(rid) else {
            return;
        };
        if !self.lifecycle.is_modern() || p.owner != Owner::App {
            return self.complete(rid, Ok(raw), false);
        }
        match crate::modern::classify_result_with(&p.method, &raw, self.policy.tasks_extension) {
            Ok(Classified::Complete) => {}
            Ok(Classified::InputRequired(input)) => {
                return self.on_input_required(now, rid, input);
            }
            Ok(Classified::Task) => {
                let deadline = later(p.started, p.timeout());
                return self.on_task_created_inline(now, rid, raw, deadline);
            }
            Err(e) => {
                let e = crate::ProtocolError::InvalidResult(
                    crate::error::sanitize(&e.to_string()).into(),
                );
                return self.complete(rid, Err(RequestError::Protocol(e)), false);
            }
        }
        if &*p.method == crate::schema::methods::TOOLS_LIST
            && matches!(self.transport, Transport::Http(_))
        {
            let first = p
                .params
                .as_ref()
                .is_none_or(|p| !p.get().contains("\"cursor\""));
            let filtered = mcp_headers::filter_tools_list(raw);
            self.tool_headers.update(&filtered, first);
            for r in &filtered.rejected {
                self.warn(Warning::ToolRejected {
                    tool: crate::error::sanitize(r.name.as_deref().unwrap_or("")),
                    reason: r.to_string(),
                });
            }
            return self.complete(rid, Ok(filtered.result), false);
        }
        self.complete(rid, Ok(raw), false)
    }

    /// A request fails with `error`, unless the revision issues it again: a version error
    /// (-32022) of 2026-07-28 that lists a version the client speaks is retried once with it.
    fn fail_request(&mut self, now: Instant, id: RequestId, error: RequestError, failed: bool) {
        if let Some(failure) = self.version_rejection(id, &error) {
            match self.policy.effect(&failure) {
                Effect::RetryWithVersion(version) => {
                    self.lifecycle.set_version(version);
                    self.refresh_meta();
                    let Some(p) = self.requests.get_mut(id) else {
                        return;
                    };
                    p.extra_mut().version_retried = true;
                    // A subscription that goes again is reopened: the application hears.
                    return match p.listen().is_some_and(|l| l.acknowledged) {
                        true => self.reissue_warned(now, id),
                        false => self.reissue(now, id),
                    };
                }
                Effect::FailRequest(e) => return self.complete(id, Err(e), true),
                _ => {}
            }
        }
        self.complete(id, Err(error), failed);
    }

    /// The [`Failure::VersionRejected`] behind `error`, for an application's request of
    /// 2026-07-28.
    fn version_rejection(&self, id: RequestId, error: &RequestError) -> Option<Failure> {
        let p = self.requests.get(id).filter(|p| p.owner == Owner::App)?;
        let version = self.lifecycle.wire_version()?;
        let rpc = match error {
            RequestError::Http(h) => h.rpc.as_ref()?,
            RequestError::Rpc(r) => r,
            _ => return None,
        };
        (rpc.code == ErrorObject::UNSUPPORTED_VERSION).then(|| Failure::VersionRejected {
            requested: version.into(),
            supported: lifecycle::supported_versions(rpc),
            retried: p.extra().is_some_and(|e| e.version_retried),
        })
    }

    /// Issues a request again, with a [`Warning::Reissued`]: its stream broke, or a
    /// subscription is reopened.
    fn reissue_warned(&mut self, now: Instant, id: RequestId) {
        let Some(p) = self.requests.get(id) else {
            return;
        };
        let warning = Warning::Reissued {
            id,
            method: p.method.to_string(),
            attempt: p.extra().map_or(0, |e| e.reissues) + 1,
        };
        self.warn(warning);
        self.reissue(now, id);
    }

    /// Issues a request again with a new wire id (its deadline stays): after a version
    /// error, an `input_required` round, or a broken stream. An acknowledged subscription
    /// waits for its acknowledgement again, under a new deadline.
    fn reissue(&mut self, now: Instant, id: RequestId) {
        if let Transport::Http(h) = &mut self.transport {
            h.detach(id);
        }
        if self.requests.reissue(id).is_none() {
            return;
        }
        if let Some(p) = self.requests.get_mut(id) {
            // One that was never acknowledged keeps the deadline it had.
            if let Some(l) = p.listen_mut().filter(|l| l.acknowledged) {
                l.acknowledged = false;
                let at = later(now, p.timeout());
                let old = p.set_deadline(Some(at));
                self.timers.move_deadline(id, old, Some(at));
            }
        }
        if self.lifecycle.is_ready() {
            self.dispatch(id, None);
        } else {
            self.early.push(Early::Request(id));
        }
        self.pump(now);
    }

    /// 2026-07-28: the server needs input to complete `rid`: each thing it asks for goes to
    /// the application ([`Event::Request`], answered with [`Session::respond`]); once all
    /// are answered the request is issued again with the answers and the `requestState`.
    fn on_input_required(&mut self, now: Instant, rid: RequestId, input: InputRequired) {
        let fail = |why: String| Err(RequestError::Input(why.into()));
        let rounds = self
            .requests
            .get(rid)
            .and_then(|p| p.input())
            .map_or(0, |i| i.rounds)
            + 1;
        if rounds > self.policy.max_input_rounds {
            let why = format!(
                "the server asked for input more than {} times",
                self.policy.max_input_rounds
            );
            return self.complete(rid, fail(why), true);
        }
        for (key, request) in &input.input_requests {
            if let Some(why) = self.undeclared(key, request) {
                return self.complete(rid, fail(why), true);
            }
        }
        let mut round = InputRound {
            rounds,
            state: input.request_state,
            ..InputRound::default()
        };
        for (key, request) in input.input_requests {
            let handle = format!("input-{}", self.next_input);
            self.next_input += 1;
            self.inputs.insert(handle.clone(), (rid, key.clone()));
            round.asked.push((key, Id::String(handle.clone())));
            self.out.push_back(Output::Event(Event::Request {
                id: Id::String(handle),
                request: Box::new(request),
            }));
        }
        let nothing_asked = round.asked.is_empty();
        if let Some(p) = self.requests.get_mut(rid) {
            p.extra_mut().input = Some(round);
        }
        // It is sent again once answered, with a new id: what still comes for the old one is
        // late.
        if let Transport::Http(h) = &mut self.transport {
            h.detach(rid);
        }
        self.requests.reissue(rid);
        if nothing_asked {
            // Only a `requestState`: the server asks to be asked again.
            self.retry_with_answers(now, rid);
        }
    }

    /// Why the client cannot answer input request `key`, if it cannot: a capability it did
    /// not declare, or a method no capability covers.
    fn undeclared(&self, key: &str, request: &ServerRequest) -> Option<String> {
        let declared = match request {
            ServerRequest::CreateMessage(_) => self.capabilities.sampling.is_some(),
            ServerRequest::Elicit(_) => self.capabilities.elicitation.is_some(),
            ServerRequest::ListRoots => self.capabilities.roots.is_some(),
            _ => false,
        };
        (!declared).then(|| {
            crate::error::sanitize(&format!(
                "the server asked for {} ({key:?}), which the client did not declare",
                request.method()
            ))
        })
    }

    /// An answer to an input request of `rid` (key `key`).
    fn on_input_answer(
        &mut self,
        now: Instant,
        rid: RequestId,
        key: String,
        result: Result<Value, ErrorObject>,
    ) {
        let answer = match result {
            Ok(v) => Ok(v),
            Err(e) => Err(format!(
                "the client could not answer {key:?}: {}",
                crate::error::sanitize(&e.message)
            )),
        };
        let answer = match answer {
            Ok(a) => a,
            Err(why) => return self.complete(rid, Err(RequestError::Input(why.into())), true),
        };
        let Some(round) = self.requests.get_mut(rid).and_then(|p| p.input_mut()) else {
            return;
        };
        round.asked.retain(|(k, _)| *k != key);
        round.answers_bytes += key.len() + serde_json::to_vec(&answer).map_or(0, |b| b.len());
        round.answers.insert(key, answer);
        if round.asked.is_empty() {
            self.retry_with_answers(now, rid);
        }
    }

    /// Every input of the round is in: the request goes again with them (a new id, the
    /// `requestState` byte for byte).
    fn retry_with_answers(&mut self, now: Instant, rid: RequestId) {
        let Some(p) = self.requests.get_mut(rid) else {
            return;
        };
        let (params, Some(round)) = p.params_and_input() else {
            return;
        };
        let params = crate::modern::retry_params(params, &round.answers, round.state.as_deref());
        round.answers.clear();
        round.answers_bytes = 0;
        round.state = None;
        match params {
            Ok(params) => round.retry = Some(params),
            Err(e) => {
                let why = crate::error::sanitize(&e.to_string());
                return self.complete(rid, Err(RequestError::Input(why.into())), true);
            }
        }
        self.dispatch(rid, None);
        self.pump(now);
    }

    fn on_server_request(&mut self, id: Id, method: String, mut params: Option<Value>) {
        if self.lifecycle.is_modern() && self.lifecycle.is_initialized() {
            // This revision has no server requests, and the client sends no responses.
            return self.warn(Warning::ServerRequestIgnored {
                method: excerpt(method.as_bytes(), 200),
            });
        }
        let now = self.last_now;
        let caps = &self.capabilities;
        let handled = match method.as_str() {
            "ping" => {
                self.answer(&id, Ok(&json!({})));
                return;
            }
            crate::schema::TASKS_GET
            | crate::schema::TASKS_RESULT
            | crate::schema::TASKS_LIST
            | crate::schema::TASKS_CANCEL
                if self.hosted.is_some() =>
            {
                if let Some(h) = &mut self.hosted {
                    let todo = h.on_request(now, id, &method, params.as_ref());
                    self.do_hosted(todo);
                }
                return;
            }
            "sampling/createMessage" => caps.sampling.is_some(),
            "elicitation/create" => caps.elicitation.is_some(),
            "roots/list" => caps.roots.is_some(),
            _ => false,
        };
        if !handled {
            let error = ErrorObject::new(
                ErrorObject::METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            );
            self.answer(&id, Err(&error));
            return;
        }
        // Task-augmented, and declared: the client runs it as a task. (Not declared: it runs as
        // a plain request, its `task` ignored, as the spec says.)
        let task = match (&self.hosted, params.as_mut()) {
            (Some(h), Some(Value::Object(p)))
                if h.hosts(&method) && p.get("task").is_some_and(Value::is_object) =>
            {
                let task = p.remove("task").unwrap_or_default();
                Some(task.get("ttl").and_then(Value::as_u64))
            }
            _ => None,
        };
        match ServerRequest::parse(&method, params) {
            Ok(request) => match (task, &mut self.hosted) {
                (Some(ttl), Some(h)) => {
                    let todo = h.create(now, id, request, ttl);
                    self.do_hosted(todo);
                }
                _ => self.out.push_back(Output::Event(Event::Request {
                    id,
                    request: Box::new(request),
                })),
            },
            Err(e) => {
                let error = ErrorObject::new(
                    ErrorObject::INVALID_PARAMS,
                    format!("invalid params for {method}: {e}"),
                );
                self.answer(&id, Err(&error));
            }
        }
    }

    /// `notifications/subscriptions/acknowledged`: the subscription is open; it has no
    /// deadline from now on, and the breaks of its stream before no longer count.
    fn on_acknowledged(&mut self, subscription: Option<RequestId>, params: Option<Value>) {
        let Some(id) = subscription else {
            return self.warn(Warning::InvalidMessage {
                error: "an acknowledgement for no subscription".into(),
                excerpt: excerpt(params.unwrap_or_default().to_string().as_bytes(), 200),
            });
        };
        let notifications = params
            .as_ref()
            .and_then(|p| p.get("notifications"))
            .and_then(|n| serde_json::from_value(n.clone()).ok())
            .unwrap_or_default();
        if let Some(l) = self.requests.get_mut(id).and_then(|p| p.listen_mut()) {
            l.acknowledged = true;
        }
        self.move_deadline(id, None);
        if let Transport::Http(h) = &mut self.transport {
            h.stream_progressed(id);
        }
        self.out
            .push_back(Output::Event(Event::Subscribed { id, notifications }));
    }

    /// The subscription last sent with wire id `id`.
    fn listen_of(&self, id: Option<&Id>) -> Option<RequestId> {
        let Some(Id::Number(n)) = id else {
            return None;
        };
        let rid = self.requests.by_wire(u64::try_from(*n).ok()?)?;
        self.requests.get(rid)?.listen().is_some().then_some(rid)
    }

    /// `notifications/progress`, read leniently: for a request that asked for it, it pushes
    /// the deadline back (within the maximum) and becomes an [`Event::Progress`].
    fn on_progress(&mut self, now: Instant, params: Value) {
        let token = params.get("progressToken").cloned().unwrap_or(Value::Null);
        let id = token.as_u64().map(RequestId);
        let Some((id, pending)) = id
            .and_then(|id| Some(id).zip(self.requests.get(id)))
            .filter(|(_, pending)| pending.progress)
        else {
            return self.warn(Warning::UnknownProgressToken { token });
        };
        // A created task's wait has its own deadline, which progress does not move.
        let task = !self.tasks.is_empty() && self.tasks.task_id(id).is_some();
        if self.policy.progress_resets_timeout && !task {
            let deadline = later(now, pending.timeout())
                .min(later(pending.started, self.policy.max_request_time));
            self.move_deadline(id, Some(deadline));
        }
        self.out.push_back(Output::Event(Event::Progress {
            id,
            progress: params
                .get("progress")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            total: params.get("total").and_then(Value::as_f64),
            message: params
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }));
    }

    fn warn(&mut self, warning: Warning) {
        if matches!(warning, Warning::InvalidMessage { .. }) {
            self.skipped += 1;
        }
        self.out.push_back(Output::Event(Event::Warning(warning)));
    }
}

/// `now + d`, or, when that cannot be represented, an instant at least half as far: no
/// duration from a user or a server can overflow the clock.
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    if let Some(at) = now.checked_add(d) {
        return at;
    }
    let mut step = d;
    loop {
        step /= 2;
        if let Some(at) = now.checked_add(step) {
            return at;
        }
    }
}

/// The JSON-RPC id of one of our requests.
fn wire_id(id: RequestId) -> Id {
    Id::Number(id.0 as i64)
}

/// Declares extension `id` (with no settings: `{}`) under `extensions` of `capabilities`,
/// beside any the application declared.
fn declare_extension(capabilities: &mut ClientCapabilities, id: &str) {
    let extensions = capabilities
        .extra
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = extensions {
        map.entry(id).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Adds `task` (2025-11-25: `{"ttl": ms}`) to a request's params.
fn with_task(params: Option<Value>, task: TaskOptions) -> Value {
    let mut object = match params {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(other) => return other,
    };
    let mut t = Map::new();
    if let Some(ttl) = task.ttl {
        t.insert(
            "ttl".into(),
            json!(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
        );
    }
    object.insert("task".into(), Value::Object(t));
    Value::Object(object)
}

/// What the session's end still owes the adapter, in order: the outputs queued before it
/// (`ahead` of them, in `Session::out`), an abort for each exchange the adapter has and a
/// completion for each of the application's requests, in ascending id, the `DELETE` that
/// ends the server's session, and `Closed`. Only the ids are kept: each output is made as it
/// is polled, so failing 100,000 requests writes no 100,000 outputs (16 MB) at once.
#[derive(Debug)]
struct Ending {
    ahead: usize,
    aborts: std::vec::IntoIter<ExchangeId>,
    failed: std::vec::IntoIter<RequestId>,
    delete: Option<Transmit>,
    /// The session's error, until `Closed` has gone.
    error: Option<SessionError>,
}

impl Ending {
    /// The next output it owes after those queued ahead of it.
    fn next(&mut self) -> Option<Output> {
        if let Some(x) = self.aborts.next() {
            return Some(Output::Abort(x));
        }
        if let Some(id) = self.failed.next() {
            let error = self.error.clone()?;
            return Some(Output::Event(Event::Response {
                id,
                result: Err(RequestError::Session(error)),
            }));
        }
        if let Some(t) = self.delete.take() {
            return Some(Output::Transmit(t));
        }
        self.error.take().map(|e| Output::Event(Event::Closed(e)))
    }

    /// An estimate of the bytes it holds.
    fn retained(&self) -> usize {
        std::mem::size_of::<Ending>() + 8 * (self.aborts.len() + self.failed.len())
    }
}

/// A request's params as the application gave them.
enum Params {
    /// As a JSON value.
    Value(Option<Value>),
    /// Encoded already.
    Encoded(Option<RawJson>),
}

impl Params {
    fn into_value(self) -> Result<Option<Value>, RequestError> {
        match self {
            Params::Value(v) => Ok(v),
            Params::Encoded(None) => Ok(None),
            Params::Encoded(Some(raw)) => serde_json::from_str(raw.get()).map(Some).map_err(|e| {
                RequestError::Protocol(crate::ProtocolError::InvalidJson(e.to_string().into()))
            }),
        }
    }
}

/// Adds `key` to a request's `_meta` (a `progressToken`, a log level).
fn with_meta_entry(params: Option<Value>, key: &str, value: Value) -> Value {
    let mut object = match params {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(other) => return other,
    };
    let meta = object
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(key.into(), value);
    }
    Value::Object(object)
}

/// Params as a JSON value (`None` when absent), or why they are not one (too deep, a number
/// out of range).
fn params_value(params: Option<&RawValue>) -> Result<Option<Value>, serde_json::Error> {
    params.map(|p| serde_json::from_str(p.get())).transpose()
}

/// The beginning of a server's text, for warnings and error excerpts: at most `max` bytes,
/// lossily decoded, with control characters escaped so that it is safe to print.
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len().min(max);
    crate::error::sanitize(&String::from_utf8_lossy(&bytes[..cut]))
}

fn output_size(o: &Output) -> usize {
    match o {
        Output::Transmit(Transmit::Http { request, .. }) => request.body().capacity() + 512,
        Output::Transmit(Transmit::Stdin(b)) => b.capacity() + 32,
        Output::Event(Event::Response { result: Ok(r), .. }) => r.get().len() + 64,
        Output::Event(Event::Notification { size, .. }) => size * 2 + 128,
        Output::Event(Event::Request { .. }) => 1024,
        _ => 128,
    }
}
