//! The session: lifecycle, the request table, deadlines, cancellation, progress and server
//! requests. All state-machine logic lives in this folder; `http.rs` and `stdio.rs` translate
//! their transport's inputs into the calls below.

mod http;
mod stdio;
mod timers;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::error::Limit;
use crate::error::{Error, ProtocolError};
use crate::input::{ExchangeId, Input};
use crate::jsonrpc::{self, ErrorObject, Id, Message, RawJson};
use crate::output::{Event, Output, RequestId, Transmit, Warning};
use crate::policy::{ExchangeKind, Policy};
use crate::schema::{
    ClientCapabilities, Implementation, InitializeParams, InitializeResult, ServerRequest,
};
use serde_json::value::RawValue;

pub use timers::TimerReason;
use timers::Timers;

/// The protocol version the client offers.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// The protocol versions the client accepts from a server, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// How a session is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who the client is, sent in `initialize`.
    pub client_info: Implementation,
    /// What the client can do. Server requests for a capability not declared here are answered
    /// "method not found" by the core.
    pub capabilities: ClientCapabilities,
    /// Limits, deadlines and failure scopes.
    pub policy: Policy,
    /// Headers added to every HTTP request (`Authorization`, ...).
    pub headers: ::http::HeaderMap,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_info: Implementation::new("mcpwire", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::default(),
            policy: Policy::default(),
            headers: ::http::HeaderMap::new(),
        }
    }
}

/// Options of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Its deadline, counted from its start; `None` for the policy's `request_timeout`.
    pub timeout: Option<Duration>,
    /// Ask the server for progress notifications (a `progressToken` in `_meta`); they arrive as
    /// [`Event::Progress`].
    pub progress: bool,
}

/// Whose request an entry of the table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// The application's: it completes with [`Event::Response`].
    App,
    /// The session's own `initialize`: it completes by making the session ready or failing it.
    Initialize,
}

/// How to resume the SSE stream that carries a request's answer (or the GET stream).
#[derive(Clone, Debug, Default)]
struct Resume {
    last_event_id: Option<String>,
    retry: Option<Duration>,
    /// Resumptions in a row that brought nothing new: no message and no new event id.
    attempts: u32,
    /// Streams in a row that ended without a message: each doubles the next wait.
    empty: u32,
    /// Reconnects in all (of a request's stream), or in a row without a message (the GET
    /// stream); capped by `Policy::max_reconnects`.
    reconnects: u32,
}

/// An outstanding request.
#[derive(Debug)]
struct Pending {
    owner: Owner,
    started: Instant,
    timeout: Duration,
    progress: bool,
    /// How many server messages had been skipped as invalid when it started.
    skipped_before: u64,
    /// False while it waits for the session to be ready.
    sent: bool,
    /// HTTP: the exchange its answer is expected on now.
    exchange: Option<ExchangeId>,
    resume: Resume,
}

/// A message waiting for the session to be ready.
#[derive(Debug)]
struct Queued {
    request: Option<RequestId>,
    method: String,
    body: Vec<u8>,
}

#[derive(Debug)]
enum Phase {
    Initializing,
    Ready,
    Closed(Error),
}

#[derive(Debug)]
// One per session, never moved after it is made: boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
enum Transport {
    Http(http::HttpState),
    Stdio(stdio::StdioState),
}

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
///   [`outstanding`](Session::outstanding),
///   [`last_timeout_reason`](Session::last_timeout_reason).
///
/// A session-fatal failure (a 5xx, the process exiting, ...) completes every outstanding
/// request with the same error in ascending id, then emits one [`Event::Closed`], the last
/// event. After it the adapter drops every exchange still open, except that a `DELETE` sent by
/// [`close`](Session::close) may be allowed to finish.
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
    config: Config,
    transport: Transport,
    phase: Phase,
    next_request: u64,
    requests: BTreeMap<RequestId, Pending>,
    pre_ready: Vec<Queued>,
    out: VecDeque<Output>,
    timers: Timers,
    server: Option<InitializeResult>,
    protocol_version: Option<&'static str>,
    last_now: Instant,
    last_timeout_reason: Option<TimerReason>,
    /// Server messages skipped as not JSON-RPC, in all.
    skipped: u64,
    /// Bytes waiting to be sent: queued before ready, waiting for an exchange, or written to
    /// stdin and not yet reported taken ([`Input::StdinWritten`]).
    backlog: usize,
    /// The most `backlog` has been.
    backlog_peak: usize,
}

/// The id of the session's own `initialize` request.
const INITIALIZE: RequestId = RequestId(0);

impl Session {
    /// A session over Streamable HTTP at `endpoint`. `initialize` is the first output.
    pub fn http(now: Instant, endpoint: ::http::Uri, config: Config) -> Session {
        Session::new(now, Transport::Http(http::HttpState::new(endpoint)), config)
    }

    /// A session over a child process's stdin and stdout. `initialize` is the first output.
    pub fn stdio(now: Instant, config: Config) -> Session {
        let stdio = stdio::StdioState::new(config.policy.max_message_size);
        Session::new(now, Transport::Stdio(stdio), config)
    }

    fn new(now: Instant, transport: Transport, config: Config) -> Session {
        let mut session = Session {
            config,
            transport,
            phase: Phase::Initializing,
            next_request: 0,
            requests: BTreeMap::new(),
            pre_ready: Vec::new(),
            out: VecDeque::new(),
            timers: Timers::default(),
            server: None,
            protocol_version: None,
            last_now: now,
            last_timeout_reason: None,
            skipped: 0,
            backlog: 0,
            backlog_peak: 0,
        };
        let params = InitializeParams {
            protocol_version: LATEST_PROTOCOL_VERSION.into(),
            capabilities: session.config.capabilities.clone(),
            client_info: session.config.client_info.clone(),
            extra: Map::new(),
        };
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        let id = session.insert(now, Owner::Initialize, None, false);
        debug_assert_eq!(id, INITIALIZE);
        let body = jsonrpc::encode_request(&wire_id(id), "initialize", Some(&params));
        session.dispatch_request(id, "initialize", body);
        session
    }

    // ----- commands ---------------------------------------------------------------------

    /// Starts a request; returns its id at once. It completes exactly once with
    /// [`Event::Response`]. Before the session is ready it is queued, not failed.
    pub fn request(
        &mut self,
        now: Instant,
        method: &str,
        params: Option<Value>,
        options: RequestOptions,
    ) -> Result<RequestId, Error> {
        let now = self.tick(now);
        self.check_open()?;
        if let Some(limit) = self.config.policy.max_outstanding {
            if self.outstanding() >= limit {
                return Err(Error::TooManyRequests { limit });
            }
        }
        let id = RequestId(self.next_request);
        let params = if options.progress {
            Some(with_progress_token(params, id))
        } else {
            params
        };
        let body = jsonrpc::encode_request(&wire_id(id), method, params.as_ref());
        if body.len() > self.config.policy.max_message_size {
            return Err(Error::TooLarge {
                limit: self.config.policy.max_message_size,
            });
        }
        if self.would_hold() {
            self.check_backlog(body.len())?;
        }
        self.insert(now, Owner::App, options.timeout, options.progress);
        if matches!(self.phase, Phase::Ready) {
            self.dispatch_request(id, method, body);
        } else {
            self.hold(body.len());
            self.pre_ready.push(Queued {
                request: Some(id),
                method: method.into(),
                body,
            });
        }
        Ok(id)
    }

    /// Starts a typed request (see [`schema::Request`](crate::schema::Request)); parse its
    /// result with `serde_json::from_str::<R::Result>(raw.get())`.
    pub fn send<R: crate::schema::Request>(
        &mut self,
        now: Instant,
        params: &R,
        options: RequestOptions,
    ) -> Result<RequestId, Error> {
        let params = serde_json::to_value(params)
            .map_err(|e| Error::Protocol(ProtocolError::InvalidJson(e.to_string().into())))?;
        self.request(now, R::METHOD, Some(params), options)
    }

    /// Sends a notification. Before the session is ready it is queued.
    pub fn notify(&mut self, method: &str, params: Option<Value>) -> Result<(), Error> {
        self.check_open()?;
        let body = jsonrpc::encode_notification(method, params.as_ref());
        if self.would_hold() {
            self.check_backlog(body.len())?;
        }
        if matches!(self.phase, Phase::Ready) {
            self.transmit(ExchangeKind::Notification, None, method, body);
        } else {
            self.hold(body.len());
            self.pre_ready.push(Queued {
                request: None,
                method: method.into(),
                body,
            });
        }
        Ok(())
    }

    /// Answers a server request ([`Event::Request`]). An answer that would take the bytes
    /// waiting to be sent past [`Policy::max_send_backlog`] fails the session: the server keeps
    /// asking without taking the answers.
    pub fn respond(&mut self, id: Id, result: Result<Value, ErrorObject>) -> Result<(), Error> {
        self.check_open()?;
        let body = jsonrpc::encode_response(&id, result.as_ref());
        if let Err(e) = self
            .would_hold()
            .then(|| self.check_backlog(body.len()))
            .transpose()
        {
            self.fail_session(e.clone());
            return Err(e);
        }
        self.transmit(ExchangeKind::Notification, None, "response", body);
        Ok(())
    }

    /// Cancels an outstanding request: it completes with [`Error::Cancelled`], the server is
    /// sent `notifications/cancelled` (if it had the request), and a late answer is dropped.
    /// Returns false if the request was not outstanding.
    pub fn cancel(&mut self, now: Instant, id: RequestId, reason: Option<&str>) -> bool {
        self.tick(now);
        match self.requests.get(&id) {
            Some(p) if p.owner == Owner::App => {
                self.abandon(
                    id,
                    Error::Cancelled,
                    reason.unwrap_or("cancelled by the client"),
                );
                true
            }
            _ => false,
        }
    }

    /// Ends the session: outstanding requests fail with [`Error::Closed`], a `DELETE` is sent
    /// where the server gave a session id, and [`Event::Closed`] follows.
    pub fn close(&mut self, now: Instant) {
        self.tick(now);
        if self.is_closed() {
            return;
        }
        self.fail_session(Error::Closed);
    }

    // ----- input -------------------------------------------------------------------------

    /// Feeds one transport event, or [`Input::Timeout`] when the deadline of
    /// [`Output::Wait`] has come. Deadlines due at `now` fire first. An input for an exchange
    /// the session no longer knows (aborted, finished) is ignored.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        let now = self.tick(now);
        if self.is_closed() {
            return;
        }
        match input {
            Input::ResponseHead {
                exchange,
                status,
                headers,
            } => self.on_response_head(now, exchange, status, headers),
            Input::ResponseBody { exchange, data } => self.on_response_body(now, exchange, data),
            Input::ResponseEnd { exchange } => self.on_response_end(now, exchange),
            Input::ExchangeFailed { exchange, error } => {
                self.on_exchange_failed(now, exchange, error)
            }
            Input::Stdout(data) => self.on_stdout(now, data),
            Input::StdoutClosed => self.on_stdout_closed(now),
            Input::ProcessExited { code } => {
                if matches!(self.transport, Transport::Stdio(_)) {
                    self.fail_session(Error::ProcessExited { code })
                }
            }
            Input::WriteFailed(error) => self.fail_session(Error::Transport(error)),
            Input::StdinWritten { bytes } => {
                if matches!(self.transport, Transport::Stdio(_)) {
                    self.release(bytes);
                }
            }
            Input::Timeout => {}
        }
        // Only during the handshake: the scan must not cost every input of a ready session.
        if let (Phase::Initializing, Transport::Http(h)) = (&self.phase, &self.transport) {
            if !h.server_stream_pending() {
                self.become_ready();
            }
        }
        self.fire_due();
    }

    // ----- output ------------------------------------------------------------------------

    /// The next output; [`Output::Wait`] when there is nothing to do until a deadline or new
    /// input.
    pub fn poll_output(&mut self) -> Output {
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

    /// The session is initialized and not closed.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// The session has failed or was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed(_))
    }

    /// The error that ended the session ([`Error::Closed`] after [`close`](Session::close)).
    pub fn error(&self) -> Option<&Error> {
        match &self.phase {
            Phase::Closed(e) => Some(e),
            _ => None,
        }
    }

    /// The server's answer to `initialize`, once the session is ready.
    pub fn server(&self) -> Option<&InitializeResult> {
        self.server.as_ref()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.protocol_version
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
        self.requests.len() - usize::from(self.requests.contains_key(&INITIALIZE))
    }

    /// Which timer fired last, for diagnosing timing.
    pub fn last_timeout_reason(&self) -> Option<TimerReason> {
        self.last_timeout_reason
    }

    /// Bytes waiting to be sent now (see [`Policy::max_send_backlog`]), and the most there
    /// have been: never more than the limit.
    pub fn send_backlog(&self) -> (usize, usize) {
        (self.backlog, self.backlog_peak)
    }

    /// How many server messages were skipped as not JSON-RPC.
    pub fn skipped_messages(&self) -> u64 {
        self.skipped
    }

    // ----- internals ---------------------------------------------------------------------

    fn check_open(&self) -> Result<(), Error> {
        match &self.phase {
            Phase::Closed(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// Whether a message sent now would wait: before ready, over stdio (until the child takes
    /// it), or when every HTTP exchange slot is taken.
    fn would_hold(&self) -> bool {
        match &self.transport {
            _ if !matches!(self.phase, Phase::Ready) => true,
            Transport::Stdio(_) => true,
            Transport::Http(h) => !h.has_free_slot(self.config.policy.max_concurrent_exchanges),
        }
    }

    /// Whether `bytes` more may wait to be sent.
    fn check_backlog(&self, bytes: usize) -> Result<(), Error> {
        let limit = self.config.policy.max_send_backlog;
        match self.backlog.checked_add(bytes) {
            Some(total) if total <= limit => Ok(()),
            _ => Err(Error::LimitReached {
                what: Limit::SendBacklog,
                limit,
            }),
        }
    }

    /// `bytes` more wait to be sent.
    fn hold(&mut self, bytes: usize) {
        self.backlog = self.backlog.saturating_add(bytes);
        self.backlog_peak = self.backlog_peak.max(self.backlog);
    }

    /// `bytes` that waited are sent (or dropped).
    fn release(&mut self, bytes: usize) {
        self.backlog = self.backlog.saturating_sub(bytes);
    }

    /// Advances the clock (never backwards) and fires what is due.
    fn tick(&mut self, now: Instant) -> Instant {
        let now = now.max(self.last_now);
        self.last_now = now;
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
        match reason {
            TimerReason::RequestDeadline(id) => {
                let Some(p) = self.requests.get(&id) else {
                    return;
                };
                // How long it was allowed to run, however late the deadline is noticed.
                let after = at.saturating_duration_since(p.started);
                let skipped = self.skipped - p.skipped_before;
                self.abandon(id, Error::Timeout { after, skipped }, "timed out");
            }
            TimerReason::ResumeStream(id) => self.resume_stream(id),
            TimerReason::ReopenServerStream => drop(self.open_server_stream()),
            TimerReason::ServerStreamWait => self.become_ready(),
            TimerReason::ErrorBody(exchange) => self.on_error_body_timeout(exchange),
        }
    }

    /// Adds a request to the table with its deadline.
    fn insert(
        &mut self,
        now: Instant,
        owner: Owner,
        timeout: Option<Duration>,
        progress: bool,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let policy = &self.config.policy;
        let timeout = timeout
            .unwrap_or(policy.request_timeout)
            .min(policy.max_request_time);
        self.timers
            .set(TimerReason::RequestDeadline(id), later(now, timeout));
        let pending = Pending {
            owner,
            started: now,
            timeout,
            progress,
            skipped_before: self.skipped,
            sent: false,
            exchange: None,
            resume: Resume::default(),
        };
        self.requests.insert(id, pending);
        id
    }

    fn dispatch_request(&mut self, id: RequestId, method: &str, body: Vec<u8>) {
        let role = if id == INITIALIZE {
            ExchangeKind::Initialize
        } else {
            ExchangeKind::Request
        };
        let exchange = self.transmit(role, Some(id), method, body);
        if let Some(p) = self.requests.get_mut(&id) {
            p.sent = true;
            p.exchange = exchange;
        }
    }

    /// Sends one message; over HTTP, returns the exchange that carries it.
    fn transmit(
        &mut self,
        role: ExchangeKind,
        request: Option<RequestId>,
        method: &str,
        mut body: Vec<u8>,
    ) -> Option<ExchangeId> {
        match &mut self.transport {
            Transport::Stdio(_) => {
                body.push(b'\n');
                // Held until the adapter says the child took it (`Input::StdinWritten`).
                self.hold(body.len());
                self.out.push_back(Output::Transmit(Transmit::Stdin(body)));
                None
            }
            Transport::Http(h) => {
                let (exchange, req) = h.post(
                    role,
                    request,
                    method,
                    body,
                    &self.config.headers,
                    self.protocol_version,
                );
                self.start_exchange(exchange, role, req);
                Some(exchange)
            }
        }
    }

    /// Completes a request exactly once.
    fn complete(&mut self, id: RequestId, result: Result<RawJson, Error>) {
        let Some(p) = self.requests.remove(&id) else {
            return;
        };
        self.timers.clear(TimerReason::RequestDeadline(id));
        // A resumption is only ever scheduled after an attempt was counted.
        if p.resume.attempts > 0 {
            self.timers.clear(TimerReason::ResumeStream(id));
        }
        match p.owner {
            Owner::App => self
                .out
                .push_back(Output::Event(Event::Response { id, result })),
            Owner::Initialize => self.on_initialize_result(result),
        }
    }

    /// Fails a request the client gives up on (timeout, cancel): the server is told with
    /// `notifications/cancelled` and the exchange carrying its answer is aborted.
    fn abandon(&mut self, id: RequestId, error: Error, reason: &str) {
        let Some(p) = self.requests.get(&id) else {
            return;
        };
        let (sent, exchange, owner) = (p.sent, p.exchange, p.owner);
        // A request still waiting for a free exchange never reached the server.
        let reached = sent && exchange.is_none_or(|x| self.exchange_started(x));
        if let Some(exchange) = exchange {
            self.abort_exchange(exchange);
        }
        if reached && owner == Owner::App {
            let params = json!({ "requestId": wire_id(id), "reason": reason });
            let body = jsonrpc::encode_notification("notifications/cancelled", Some(&params));
            self.transmit(
                ExchangeKind::Notification,
                None,
                "notifications/cancelled",
                body,
            );
        }
        self.complete(id, Err(error));
    }

    /// Fails a request because of what the server did; the exchange is aborted if still open.
    fn fail_request(&mut self, id: RequestId, error: Error) {
        if let Some(exchange) = self.requests.get(&id).and_then(|p| p.exchange) {
            self.abort_exchange(exchange);
        }
        self.complete(id, Err(error));
    }

    fn abort_exchange(&mut self, exchange: ExchangeId) {
        // One still waiting for a free slot was never handed to the adapter: no abort for it.
        if self.drop_exchange(exchange, true).is_some() {
            self.timers.clear(TimerReason::ErrorBody(exchange));
        }
    }

    /// The session-fatal path: every outstanding request fails with `error` in ascending id,
    /// then one `Closed` event; the error is permanent.
    fn fail_session(&mut self, error: Error) {
        if self.is_closed() {
            return;
        }
        let closing = error == Error::Closed;
        // What was to be sent no longer matters, and a request not yet transmitted must not
        // reach the server once it is reported failed; the events already queued stay ahead.
        self.out.retain(|o| matches!(o, Output::Event(_)));
        for (id, p) in std::mem::take(&mut self.requests) {
            if p.owner == Owner::App {
                self.out.push_back(Output::Event(Event::Response {
                    id,
                    result: Err(error.clone()),
                }));
            }
        }
        self.pre_ready.clear();
        self.timers.clear_all();
        self.backlog = 0;
        if let Transport::Http(h) = &mut self.transport {
            h.clear();
            if closing {
                if let Some((exchange, request)) =
                    h.delete(&self.config.headers, self.protocol_version)
                {
                    let kind = ExchangeKind::Delete;
                    let transmit = Transmit::Http {
                        exchange,
                        kind,
                        request,
                    };
                    self.out.push_back(Output::Transmit(transmit));
                }
            }
        }
        self.phase = Phase::Closed(error.clone());
        self.out.push_back(Output::Event(Event::Closed(error)));
    }

    fn on_initialize_result(&mut self, result: Result<RawJson, Error>) {
        let raw = match result {
            Ok(raw) => raw,
            Err(e) => return self.fail_session(e),
        };
        let init: InitializeResult = match serde_json::from_str(raw.get()) {
            Ok(init) => init,
            Err(e) => {
                let e = ProtocolError::InvalidInitializeResult(e.to_string().into());
                return self.fail_session(Error::Protocol(e));
            }
        };
        let Some(version) = SUPPORTED_PROTOCOL_VERSIONS
            .iter()
            .copied()
            .find(|v| *v == init.protocol_version)
        else {
            return self.fail_session(Error::UnsupportedProtocolVersion(
                init.protocol_version.into(),
            ));
        };
        self.protocol_version = Some(version);
        self.server = Some(init);
        let body = jsonrpc::encode_notification("notifications/initialized", None);
        self.transmit(
            ExchangeKind::Notification,
            None,
            "notifications/initialized",
            body,
        );
        if self.open_server_stream() {
            // Servers send their own requests on the GET stream (elicitation during a tool
            // call, ...): the session is ready once the server has answered it, or soon.
            let at = later(self.last_now, self.config.policy.server_stream_wait);
            self.timers.set(TimerReason::ServerStreamWait, at);
        } else {
            self.become_ready();
        }
    }

    /// The handshake is over: `Ready`, then what waited for it, in order.
    fn become_ready(&mut self) {
        if !matches!(self.phase, Phase::Initializing) || self.server.is_none() {
            return;
        }
        self.timers.clear(TimerReason::ServerStreamWait);
        self.phase = Phase::Ready;
        self.out.push_back(Output::Event(Event::Ready));
        for q in std::mem::take(&mut self.pre_ready) {
            self.release(q.body.len());
            match q.request {
                Some(id) if self.requests.contains_key(&id) => {
                    self.dispatch_request(id, &q.method, q.body)
                }
                Some(_) => {} // cancelled or timed out while queued
                None => {
                    self.transmit(ExchangeKind::Notification, None, &q.method, q.body);
                }
            }
        }
    }

    /// Handles one message from the server. `origin` is the request whose exchange carried it
    /// (HTTP), which an error response without an id is attributed to.
    fn on_message(&mut self, now: Instant, message: Message, origin: Option<RequestId>) {
        match message {
            Message::Response { id, result } => self.on_answer(id, Ok(result)),
            Message::Error {
                id: Some(id),
                error,
            } => self.on_answer(id, Err(Error::Rpc(error))),
            Message::Error { id: None, error } => {
                match origin.filter(|o| self.requests.contains_key(o)) {
                    Some(origin) => self.complete(origin, Err(Error::Rpc(error))),
                    None => self.warn(Warning::InvalidMessage {
                        error: "an error response without an id".into(),
                        excerpt: format!("{} (code {})", error.message, error.code),
                    }),
                }
            }
            Message::Request { id, method, params } => match params_value(params.as_deref()) {
                Ok(params) => self.on_server_request(id, method, params),
                Err(e) => {
                    let error = ErrorObject::new(
                        ErrorObject::INVALID_PARAMS,
                        format!("invalid params for {method}: {e}"),
                    );
                    let _ = self.respond(id, Err(error));
                }
            },
            Message::Notification { method, params } => {
                let size = method.len() + params.as_ref().map_or(0, |p| p.get().len());
                match params_value(params.as_deref()) {
                    Ok(params) => self.on_notification(now, method, params, size),
                    Err(e) => self.warn(Warning::InvalidMessage {
                        error: format!("invalid params for {method}: {e}"),
                        excerpt: excerpt(params.as_ref().map_or("", |p| p.get()).as_bytes(), 200),
                    }),
                }
            }
        }
    }

    fn on_answer(&mut self, id: Id, result: Result<RawJson, Error>) {
        let ours = match id {
            Id::Number(n) if n >= 0 => Some(RequestId(n as u64)),
            _ => None,
        };
        match ours {
            Some(rid) if self.requests.get(&rid).is_some_and(|p| p.sent) => {
                self.complete(rid, result)
            }
            _ => self.warn(Warning::LateResponse { id }),
        }
    }

    fn on_server_request(&mut self, id: Id, method: String, params: Option<Value>) {
        let caps = &self.config.capabilities;
        let handled = match method.as_str() {
            "ping" => {
                let _ = self.respond(id, Ok(json!({})));
                return;
            }
            "sampling/createMessage" => caps.sampling.is_some(),
            "elicitation/create" => caps.elicitation.is_some(),
            "roots/list" => caps.roots.is_some(),
            _ => false,
        };
        if handled {
            match ServerRequest::parse(&method, params) {
                Ok(request) => self.out.push_back(Output::Event(Event::Request {
                    id,
                    request: Box::new(request),
                })),
                Err(e) => {
                    let error = ErrorObject::new(
                        ErrorObject::INVALID_PARAMS,
                        format!("invalid params for {method}: {e}"),
                    );
                    let _ = self.respond(id, Err(error));
                }
            }
        } else {
            let error = ErrorObject::new(
                ErrorObject::METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            );
            let _ = self.respond(id, Err(error));
        }
    }

    fn on_notification(
        &mut self,
        now: Instant,
        method: String,
        params: Option<Value>,
        size: usize,
    ) {
        if method != "notifications/progress" {
            self.out.push_back(Output::Event(Event::Notification {
                method,
                params,
                size,
            }));
            return;
        }
        let params = params.unwrap_or(Value::Null);
        let token = params.get("progressToken").cloned().unwrap_or(Value::Null);
        let id = token.as_u64().map(RequestId);
        let reset = self.config.policy.progress_resets_timeout;
        let max = self.config.policy.max_request_time;
        let Some((id, p)) = id
            .and_then(|id| Some(id).zip(self.requests.get(&id)))
            .filter(|(_, p)| p.progress)
        else {
            return self.warn(Warning::UnknownProgressToken { token });
        };
        if reset {
            let deadline = later(now, p.timeout).min(later(p.started, max));
            self.timers.set(TimerReason::RequestDeadline(id), deadline);
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

    /// Handles one JSON text (a message or a batch) that is expected to hold JSON-RPC.
    /// Returns the decode error of a text that held none.
    fn on_json(
        &mut self,
        now: Instant,
        text: &[u8],
        origin: Option<RequestId>,
    ) -> Result<(), jsonrpc::DecodeError> {
        match jsonrpc::decode(text)? {
            jsonrpc::Decoded::Single(m) => self.on_message(now, m, origin),
            jsonrpc::Decoded::Batch(items) => {
                for item in items {
                    if self.is_closed() {
                        break;
                    }
                    match item {
                        Ok(m) => self.on_message(now, m, origin),
                        Err(e) => self.warn(Warning::InvalidMessage {
                            error: e.0,
                            excerpt: String::new(),
                        }),
                    }
                    self.fire_due();
                }
                return Ok(());
            }
        }
        // A timer due at once (a zero wait set by this message) fires here, at a message
        // boundary, wherever the bytes around it were cut.
        self.fire_due();
        Ok(())
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
    // Far enough that nothing waits that long, near enough to be representable.
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

/// Adds `_meta.progressToken` (the request's id) to a request's params.
fn with_progress_token(params: Option<Value>, id: RequestId) -> Value {
    let mut object = match params {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(other) => return other,
    };
    let meta = object
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("progressToken".into(), json!(id.0));
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
