//! Streamable HTTP: every outgoing message is an exchange; responses are a JSON body or an SSE
//! stream; streams resume with `Last-Event-ID`; the optional GET stream carries server messages.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::http::header::{
    HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use ::http::{HeaderMap, Method, StatusCode, Uri};

use super::{excerpt, later, Session, TimerReason, Transport};
use crate::error::{Error, HttpError, ProtocolError, TransportError};
use crate::input::ExchangeId;
use crate::jsonrpc::{self, Decoded, Message};
use crate::output::{Output, RequestId, Transmit, Warning};
use crate::policy::{Cause, ExchangeKind, Verdict};
use crate::sse::{SseDecoder, SseEvent, SseLimits};

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const ACCEPT_SSE: HeaderValue = HeaderValue::from_static("text/event-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// How much of a failed response's body is read, to find a JSON-RPC error in it.
const ERROR_BODY_MAX: usize = 64 << 10;
/// How long to wait for the rest of a failed response's body before failing without it.
const ERROR_BODY_WAIT: Duration = Duration::from_secs(1);

/// What the session knows of Streamable HTTP.
#[derive(Debug)]
pub(crate) struct HttpState {
    endpoint: Uri,
    session_id: Option<HeaderValue>,
    next_exchange: u64,
    exchanges: BTreeMap<ExchangeId, Exchange>,
    /// Exchanges handed to the adapter and not yet over: at most
    /// `Policy::max_concurrent_exchanges`.
    open: usize,
    /// Exchanges waiting for a free slot, in order, with their requests.
    queued: VecDeque<(ExchangeId, ExchangeKind, ::http::Request<Vec<u8>>)>,
    server_stream: ServerStream,
}

/// The optional GET stream.
#[derive(Debug, Default)]
struct ServerStream {
    /// Open, or waiting to be reopened: not to be opened again.
    active: bool,
    /// The server said it has none.
    unsupported: bool,
    resume: super::Resume,
}

#[derive(Debug)]
pub(crate) struct Exchange {
    /// Handed to the adapter (else it waits in `queued`).
    pub(crate) started: bool,
    role: ExchangeKind,
    request: Option<RequestId>,
    method: String,
    carried_session: bool,
    body: Body,
    /// An event stream that delivered a message (not only priming events).
    news: bool,
}

#[derive(Debug)]
enum Body {
    AwaitingHead,
    Json(Vec<u8>),
    Sse(Box<SseDecoder>),
    Discard,
    Failed(Box<Failure>),
}

/// A non-2xx response whose body is being read for the error's excerpt.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    scope_session: bool,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl HttpState {
    pub(crate) fn new(endpoint: Uri) -> Self {
        HttpState {
            endpoint,
            session_id: None,
            next_exchange: 0,
            exchanges: BTreeMap::new(),
            open: 0,
            queued: VecDeque::new(),
            server_stream: ServerStream::default(),
        }
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session_id.as_ref().and_then(|v| v.to_str().ok())
    }

    fn request(
        &mut self,
        method: Method,
        body: Vec<u8>,
        headers: &HeaderMap,
        version: Option<&'static str>,
        exchange: Exchange,
    ) -> (ExchangeId, ::http::Request<Vec<u8>>) {
        let id = ExchangeId(self.next_exchange);
        self.next_exchange += 1;
        let mut req = ::http::Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = self.endpoint.clone();
        let h = req.headers_mut();
        h.extend(headers.clone());
        if let Some(s) = &self.session_id {
            h.insert(MCP_SESSION_ID, s.clone());
        }
        if let Some(v) = version {
            h.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static(v));
        }
        let exchange = Exchange {
            carried_session: self.session_id.is_some(),
            ..exchange
        };
        self.exchanges.insert(id, exchange);
        (id, req)
    }

    /// A POST carrying one message.
    pub(crate) fn post(
        &mut self,
        role: ExchangeKind,
        request: Option<RequestId>,
        method: &str,
        body: Vec<u8>,
        headers: &HeaderMap,
        version: Option<&'static str>,
    ) -> (ExchangeId, ::http::Request<Vec<u8>>) {
        let exchange = Exchange {
            started: false,
            role,
            request,
            method: method.into(),
            carried_session: false,
            body: Body::AwaitingHead,
            news: false,
        };
        let (id, mut req) = self.request(Method::POST, body, headers, version, exchange);
        req.headers_mut().insert(ACCEPT, ACCEPT_BOTH);
        req.headers_mut().insert(CONTENT_TYPE, JSON);
        (id, req)
    }

    /// A GET for the server stream or for resuming a request's stream.
    fn get(
        &mut self,
        role: ExchangeKind,
        request: Option<RequestId>,
        last_event_id: Option<&str>,
        headers: &HeaderMap,
        version: Option<&'static str>,
    ) -> (ExchangeId, ::http::Request<Vec<u8>>) {
        let exchange = Exchange {
            started: false,
            role,
            request,
            method: "GET".into(),
            carried_session: false,
            body: Body::AwaitingHead,
            news: false,
        };
        let (id, mut req) = self.request(Method::GET, Vec::new(), headers, version, exchange);
        req.headers_mut().insert(ACCEPT, ACCEPT_SSE);
        if let Some(v) = last_event_id.and_then(|l| HeaderValue::from_str(l).ok()) {
            req.headers_mut().insert(LAST_EVENT_ID, v);
        }
        (id, req)
    }

    /// The DELETE that ends the session, when the server assigned one.
    pub(crate) fn delete(
        &mut self,
        headers: &HeaderMap,
        version: Option<&'static str>,
    ) -> Option<(ExchangeId, ::http::Request<Vec<u8>>)> {
        self.session_id.as_ref()?;
        let exchange = Exchange {
            started: true,
            role: ExchangeKind::Delete,
            request: None,
            method: "DELETE".into(),
            carried_session: true,
            body: Body::Discard,
            news: false,
        };
        let sent = self.request(Method::DELETE, Vec::new(), headers, version, exchange);
        // Nothing more is read once the session is closed.
        self.clear();
        Some(sent)
    }

    /// The GET stream was sent and the server has not yet said what becomes of it.
    pub(crate) fn server_stream_pending(&self) -> bool {
        self.exchanges.values().any(|x| {
            x.role == ExchangeKind::ServerStream
                && matches!(x.body, Body::AwaitingHead | Body::Failed(_))
        })
    }

    /// Forgets an exchange; returns it, and the body size of its request if it was still
    /// waiting for a slot.
    pub(crate) fn remove(&mut self, exchange: ExchangeId) -> Option<(Exchange, usize)> {
        let x = self.exchanges.remove(&exchange)?;
        let mut unsent = 0;
        if x.started {
            self.open -= 1;
        } else if let Some(at) = self.queued.iter().position(|q| q.0 == exchange) {
            unsent = self.queued.remove(at).map_or(0, |q| q.2.body().len());
        }
        Some((x, unsent))
    }

    pub(crate) fn clear(&mut self) {
        self.exchanges.clear();
        self.queued.clear();
        self.open = 0;
    }

    /// Whether an exchange started now would go out at once.
    pub(crate) fn has_free_slot(&self, cap: usize) -> bool {
        self.open < cap.max(1) && self.queued.is_empty()
    }

    /// Starts the exchange at once if fewer than `cap` are open; else queues it. Returns what
    /// to transmit, or the size of what waits.
    pub(crate) fn start(
        &mut self,
        cap: usize,
        exchange: ExchangeId,
        kind: ExchangeKind,
        request: ::http::Request<Vec<u8>>,
    ) -> Result<Transmit, usize> {
        if self.has_free_slot(cap) {
            self.open += 1;
            if let Some(x) = self.exchanges.get_mut(&exchange) {
                x.started = true;
            }
            return Ok(Transmit::Http {
                exchange,
                kind,
                request,
            });
        }
        let size = request.body().len();
        self.queued.push_back((exchange, kind, request));
        Err(size)
    }

    /// The next queued exchange, if a slot is free: `(what to transmit, its body size)`.
    pub(crate) fn next_queued(&mut self, cap: usize) -> Option<(Transmit, usize)> {
        if self.open >= cap.max(1) {
            return None;
        }
        let (exchange, kind, request) = self.queued.pop_front()?;
        self.open += 1;
        if let Some(x) = self.exchanges.get_mut(&exchange) {
            x.started = true;
        }
        let size = request.body().len();
        Some((
            Transmit::Http {
                exchange,
                kind,
                request,
            },
            size,
        ))
    }
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

impl Session {
    /// Hands an exchange to the adapter, or queues it behind the ones open.
    pub(super) fn start_exchange(
        &mut self,
        exchange: ExchangeId,
        kind: ExchangeKind,
        request: ::http::Request<Vec<u8>>,
    ) {
        let cap = self.config.policy.max_concurrent_exchanges;
        let Some(h) = self.http_mut() else { return };
        match h.start(cap, exchange, kind, request) {
            Ok(transmit) => self.out.push_back(Output::Transmit(transmit)),
            Err(waiting) => self.hold(waiting),
        }
    }

    /// Forgets an exchange (asking the adapter to abort it, if `abort` and it had it), then
    /// starts what waited for its slot.
    pub(super) fn drop_exchange(&mut self, exchange: ExchangeId, abort: bool) -> Option<Exchange> {
        let cap = self.config.policy.max_concurrent_exchanges;
        let h = self.http_mut()?;
        let (x, unsent) = h.remove(exchange)?;
        if abort && x.started {
            self.out.push_back(Output::Abort(exchange));
        }
        let Some(h) = self.http_mut() else {
            return Some(x);
        };
        let mut started = Vec::new();
        while let Some(next) = h.next_queued(cap) {
            started.push(next);
        }
        self.release(unsent);
        for (transmit, size) in started {
            self.release(size);
            self.out.push_back(Output::Transmit(transmit));
        }
        Some(x)
    }

    /// Whether an exchange was handed to the adapter (one unknown is treated as sent).
    pub(super) fn exchange_started(&self, exchange: ExchangeId) -> bool {
        self.http_ref()
            .and_then(|h| h.exchanges.get(&exchange))
            .is_none_or(|x| x.started)
    }

    fn http_mut(&mut self) -> Option<&mut HttpState> {
        match &mut self.transport {
            Transport::Http(h) => Some(h),
            Transport::Stdio(_) => None,
        }
    }

    fn http_ref(&self) -> Option<&HttpState> {
        match &self.transport {
            Transport::Http(h) => Some(h),
            Transport::Stdio(_) => None,
        }
    }

    fn exchange(&mut self, exchange: ExchangeId) -> Option<&mut Exchange> {
        self.http_mut()?.exchanges.get_mut(&exchange)
    }

    /// Takes an exchange that is not over, asking the adapter to abort it.
    fn take_aborted(&mut self, exchange: ExchangeId) -> Option<Exchange> {
        self.timers.clear(TimerReason::ErrorBody(exchange));
        self.drop_exchange(exchange, true)
    }

    fn take_exchange(&mut self, exchange: ExchangeId) -> Option<Exchange> {
        self.timers.clear(TimerReason::ErrorBody(exchange));
        self.drop_exchange(exchange, false)
    }

    /// The request an exchange carries, if it is still outstanding and still expected there.
    fn carried_request(&self, x: &Exchange, exchange: ExchangeId) -> Option<RequestId> {
        let id = x.request?;
        let p = self.requests.get(&id)?;
        (p.exchange == Some(exchange)).then_some(id)
    }

    pub(super) fn on_response_head(
        &mut self,
        now: Instant,
        exchange: ExchangeId,
        status: StatusCode,
        headers: &HeaderMap,
    ) {
        let verdict = {
            let policy = self.config.policy.clone();
            let Some(x) = self.exchange(exchange) else {
                return;
            };
            if !matches!(x.body, Body::AwaitingHead) {
                return;
            }
            policy.verdict(x.role, status, x.carried_session)
        };
        match verdict {
            Verdict::Proceed => self.on_success_head(exchange, status, headers),
            Verdict::Ignore => {
                if let Some(x) = self.exchange(exchange) {
                    x.body = Body::Discard;
                }
            }
            Verdict::NoServerStream => {
                self.abort_exchange(exchange);
                if let Some(h) = self.http_mut() {
                    h.server_stream.unsupported = true;
                    h.server_stream.active = false;
                }
            }
            Verdict::Warn => {
                let Some(x) = self.take_aborted(exchange) else {
                    return;
                };
                if x.role == ExchangeKind::ServerStream {
                    self.server_stream_ended(false);
                    self.warn(Warning::ServerStreamRejected { status });
                } else {
                    self.warn(Warning::NotificationRejected {
                        method: x.method,
                        status,
                    });
                }
            }
            Verdict::FailSession(Cause::Auth) => {
                let www = headers
                    .get(WWW_AUTHENTICATE)
                    .map(|v| Arc::from(excerpt(v.as_bytes(), HttpError::EXCERPT)));
                self.fail_session(Error::AuthRequired {
                    www_authenticate: www,
                });
            }
            Verdict::FailSession(Cause::Expired) => self.fail_session(Error::SessionExpired),
            Verdict::FailSession(Cause::Http) | Verdict::FailRequest(_) => {
                let failure = Failure {
                    status,
                    scope_session: matches!(verdict, Verdict::FailSession(_)),
                    retry_after: headers
                        .get(RETRY_AFTER)
                        .map(|v| excerpt(v.as_bytes(), HttpError::EXCERPT)),
                    body: Vec::new(),
                };
                if let Some(x) = self.exchange(exchange) {
                    x.body = Body::Failed(Box::new(failure));
                }
                self.timers.set(
                    TimerReason::ErrorBody(exchange),
                    later(now, ERROR_BODY_WAIT),
                );
            }
        }
    }

    fn on_success_head(&mut self, exchange: ExchangeId, status: StatusCode, headers: &HeaderMap) {
        let limits = SseLimits {
            max_line: self.config.policy.max_sse_line,
            max_event: self.config.policy.max_message_size,
        };
        let media = media_type(headers);
        let is_sse = media.as_deref() == Some("text/event-stream");
        // A stream carries on from where the last one for the same purpose left off.
        let Some((role, request)) = self.exchange(exchange).map(|x| (x.role, x.request)) else {
            return;
        };
        let seed = self
            .resume_mut(role, request)
            .and_then(|r| r.last_event_id.clone());
        let decoder = || Body::Sse(Box::new(SseDecoder::resuming(limits, seed)));
        let Some(x) = self.exchange(exchange) else {
            return;
        };
        match role {
            ExchangeKind::Notification | ExchangeKind::Delete => x.body = Body::Discard,
            ExchangeKind::ServerStream if is_sse => x.body = decoder(),
            ExchangeKind::ServerStream => {
                self.abort_exchange(exchange);
                self.server_stream_ended(false);
                self.warn(Warning::ServerStreamRejected { status });
            }
            ExchangeKind::Initialize | ExchangeKind::Request | ExchangeKind::Resume => {
                let request = self.carried_request_of(exchange);
                if role == ExchangeKind::Initialize {
                    if let (Some(id), Some(h)) = (headers.get(&MCP_SESSION_ID), self.http_mut()) {
                        h.session_id = Some(id.clone());
                    }
                }
                let body = match media.as_deref() {
                    _ if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT => {
                        Err(ProtocolError::NoResponse)
                    }
                    Some("text/event-stream") => Ok(decoder()),
                    Some("application/json") | None => Ok(Body::Json(Vec::new())),
                    Some(other) => Err(ProtocolError::UnexpectedContentType(other.into())),
                };
                match (body, request) {
                    (Ok(body), _) => {
                        if let Some(x) = self.exchange(exchange) {
                            x.body = body;
                        }
                    }
                    (Err(e), Some(id)) => self.fail_request(id, Error::Protocol(e)),
                    (Err(_), None) => self.abort_exchange(exchange),
                }
            }
        }
    }

    fn carried_request_of(&mut self, exchange: ExchangeId) -> Option<RequestId> {
        let x = self.http_ref()?.exchanges.get(&exchange)?;
        self.carried_request(x, exchange)
    }

    pub(super) fn on_response_body(&mut self, now: Instant, exchange: ExchangeId, data: &[u8]) {
        let max = self.config.policy.max_message_size;
        let Some(x) = self.exchange(exchange) else {
            return;
        };
        match &mut x.body {
            Body::AwaitingHead | Body::Discard => {}
            Body::Json(buf) => {
                if buf.len() + data.len() > max {
                    self.body_too_large(exchange, max);
                } else {
                    buf.extend_from_slice(data);
                }
            }
            Body::Failed(f) => {
                let room = ERROR_BODY_MAX - f.body.len();
                f.body.extend_from_slice(&data[..data.len().min(room)]);
                if f.body.len() == ERROR_BODY_MAX {
                    self.on_error_body_timeout(exchange);
                }
            }
            Body::Sse(decoder) => {
                let mut events = Vec::new();
                let result = decoder.feed(data, &mut events);
                // A priming event (an id and empty data) carries no message: it is nothing new.
                x.news |= events.iter().any(|e| !e.data.trim().is_empty());
                for event in events {
                    if self.is_closed() || self.exchange(exchange).is_none() {
                        return;
                    }
                    self.on_sse_event(now, exchange, event);
                }
                if result.is_err() && self.exchange(exchange).is_some() {
                    self.body_too_large(exchange, max);
                }
            }
        }
    }

    /// Where the stream of an exchange of this kind resumes from.
    fn resume_mut(
        &mut self,
        role: ExchangeKind,
        request: Option<RequestId>,
    ) -> Option<&mut super::Resume> {
        match role {
            ExchangeKind::ServerStream => self.http_mut().map(|h| &mut h.server_stream.resume),
            _ => request
                .and_then(|id| self.requests.get_mut(&id))
                .map(|p| &mut p.resume),
        }
    }

    /// A stream ended: remember where it left off, and whether it brought anything new (a
    /// message, or a new event id), which starts the count of empty resumptions again. Both
    /// depend only on the stream's bytes, never on how they were cut.
    ///
    /// A stream without a message counts as empty (each empty stream in a row doubles the next
    /// wait); one without a message or a new id also counts as fruitless. An id that cannot be
    /// sent back as `Last-Event-ID` makes the stream not resumable (a warning).
    fn settle_stream(&mut self, x: &Exchange) {
        let Body::Sse(decoder) = &x.body else {
            return;
        };
        let mut last = decoder.last_event_id().map(str::to_owned);
        let retry = decoder.retry_ms();
        if let Some(id) = last
            .as_deref()
            .filter(|id| HeaderValue::from_str(id).is_err())
        {
            let id = excerpt(id.as_bytes(), 200);
            self.warn(Warning::UnusableEventId { id });
            last = None;
        }
        let Some(resume) = self.resume_mut(x.role, x.request) else {
            return;
        };
        if x.news || last != resume.last_event_id {
            resume.attempts = 0;
        }
        if x.news {
            resume.empty = 0;
            if x.role == ExchangeKind::ServerStream {
                resume.reconnects = 0;
            }
        } else {
            resume.empty = resume.empty.saturating_add(1);
        }
        resume.last_event_id = last;
        if let Some(ms) = retry {
            resume.retry = Some(Duration::from_millis(ms));
        }
    }

    fn on_sse_event(&mut self, now: Instant, exchange: ExchangeId, event: SseEvent) {
        if !(event.event.is_empty() || event.event == "message") || event.data.trim().is_empty() {
            return;
        }
        if self
            .http_ref()
            .and_then(|h| h.exchanges.get(&exchange))
            .is_none()
        {
            return;
        }
        let origin = self.carried_request_of(exchange);
        // An event that is not JSON-RPC is skipped, whichever stream carries it: it cannot be
        // known to be the answer, and the answer may come next. If the stream then ends
        // without it, the request fails for that.
        if let Err(e) = self.on_json(now, event.data.as_bytes(), origin) {
            self.warn(Warning::InvalidMessage {
                error: e.0,
                excerpt: excerpt(event.data.as_bytes(), 200),
            });
        }
    }

    fn body_too_large(&mut self, exchange: ExchangeId, limit: usize) {
        match self.carried_request_of(exchange) {
            Some(id) => self.fail_request(id, Error::TooLarge { limit }),
            None => {
                let server_stream = self
                    .exchange(exchange)
                    .is_some_and(|x| x.role == ExchangeKind::ServerStream);
                self.abort_exchange(exchange);
                if server_stream {
                    self.server_stream_ended(false);
                    self.warn(Warning::ServerStreamLost {
                        reason: Error::TooLarge { limit }.to_string(),
                    });
                }
            }
        }
    }

    pub(super) fn on_response_end(&mut self, now: Instant, exchange: ExchangeId) {
        let Some(x) = self.exchange(exchange) else {
            return;
        };
        let origin = x.request;
        let request = self.carried_request_of(exchange);
        let Some(x) = self.take_exchange(exchange) else {
            return;
        };
        match x.body {
            Body::Discard => {}
            Body::AwaitingHead => {
                let e = TransportError::new(
                    crate::TransportErrorKind::Reset,
                    "the exchange ended without a response",
                );
                self.exchange_lost(now, x, request, e);
            }
            Body::Json(buf) => {
                if let Err(e) = self.on_json(now, &buf, request) {
                    if let Some(id) = request {
                        let e = if buf.iter().all(u8::is_ascii_whitespace) {
                            ProtocolError::NoResponse
                        } else {
                            ProtocolError::InvalidJson(e.0.into())
                        };
                        return self.complete(id, Err(Error::Protocol(e)));
                    }
                }
                // A JSON body is the whole answer: if the response was not in it, none will come.
                if let Some(id) = origin.filter(|_| request.is_some()) {
                    if self
                        .requests
                        .get(&id)
                        .is_some_and(|p| p.exchange == Some(exchange))
                    {
                        self.complete(id, Err(Error::Protocol(ProtocolError::NoResponse)));
                    }
                }
            }
            Body::Failed(f) => self.on_failure_body(x.request, *f),
            Body::Sse(_) => self.stream_ended(now, x, request, None),
        }
    }

    pub(super) fn on_exchange_failed(
        &mut self,
        now: Instant,
        exchange: ExchangeId,
        error: TransportError,
    ) {
        let request = self.carried_request_of(exchange);
        let Some(x) = self.take_exchange(exchange) else {
            return;
        };
        match x.body {
            Body::Failed(f) => self.on_failure_body(x.request, *f),
            Body::Sse(_) => self.stream_ended(now, x, request, Some(error)),
            _ => self.exchange_lost(now, x, request, error),
        }
    }

    /// An exchange failed before it had a usable answer.
    fn exchange_lost(
        &mut self,
        now: Instant,
        x: Exchange,
        request: Option<RequestId>,
        error: TransportError,
    ) {
        match x.role {
            ExchangeKind::Initialize | ExchangeKind::Request => {
                if let Some(id) = request {
                    self.complete(id, Err(Error::Transport(error)));
                }
            }
            ExchangeKind::Resume => self.stream_ended(now, x, request, Some(error)),
            ExchangeKind::ServerStream => {
                self.server_stream_ended(true);
                if !self.http_ref().is_some_and(|h| h.server_stream.active) {
                    self.warn(Warning::ServerStreamLost {
                        reason: error.message.to_string(),
                    });
                }
            }
            ExchangeKind::Notification => self.warn(Warning::NotificationFailed {
                method: x.method,
                reason: error.message.to_string(),
            }),
            ExchangeKind::Delete => {}
        }
    }

    /// A stream that carried (or was to carry) a request's answer ended: resume it if the
    /// server gave an event id, else the request fails.
    fn stream_ended(
        &mut self,
        now: Instant,
        x: Exchange,
        request: Option<RequestId>,
        error: Option<TransportError>,
    ) {
        self.settle_stream(&x);
        if x.role == ExchangeKind::ServerStream {
            return self.server_stream_ended(true);
        }
        let Some(id) = request else { return };
        let policy = &self.config.policy;
        let (max_attempts, max_reconnects) = (policy.max_resume_attempts, policy.max_reconnects);
        let Some(p) = self.requests.get_mut(&id) else {
            return;
        };
        p.exchange = None;
        let r = &mut p.resume;
        if r.last_event_id.is_some() && r.attempts < max_attempts && r.reconnects < max_reconnects {
            r.attempts += 1;
            r.reconnects += 1;
            let delay = policy.reconnect_delay(r.retry, r.empty);
            self.timers
                .set(TimerReason::ResumeStream(id), later(now, delay));
        } else {
            let e = match error {
                Some(e) if p.resume.last_event_id.is_none() => Error::Transport(e),
                _ => Error::StreamLost,
            };
            self.complete(id, Err(e));
        }
    }

    pub(super) fn resume_stream(&mut self, id: RequestId) {
        let headers = self.config.headers.clone();
        let version = self.protocol_version;
        let Some(last) = self
            .requests
            .get(&id)
            .and_then(|p| p.resume.last_event_id.clone())
        else {
            return;
        };
        let Some(h) = self.http_mut() else { return };
        let (exchange, request) = h.get(
            ExchangeKind::Resume,
            Some(id),
            Some(&last),
            &headers,
            version,
        );
        if let Some(p) = self.requests.get_mut(&id) {
            p.exchange = Some(exchange);
        }
        self.start_exchange(exchange, ExchangeKind::Resume, request);
    }

    /// Opens the optional GET stream, once the server has answered `initialize`; says whether
    /// it did.
    pub(super) fn open_server_stream(&mut self) -> bool {
        if self.server.is_none() || self.is_closed() {
            return false;
        }
        let headers = self.config.headers.clone();
        let version = self.protocol_version;
        let Some(h) = self.http_mut() else {
            return false;
        };
        if h.server_stream.unsupported {
            return false;
        }
        h.server_stream.active = true;
        let last = h.server_stream.resume.last_event_id.clone();
        let (exchange, request) = h.get(
            ExchangeKind::ServerStream,
            None,
            last.as_deref(),
            &headers,
            version,
        );
        self.start_exchange(exchange, ExchangeKind::ServerStream, request);
        true
    }

    /// The GET stream ended; reopen it after the server's `retry` if it is resumable.
    ///
    /// It is reopened at most `max_reconnects` times in a row without a message, each time
    /// after `Policy::reconnect_delay`.
    fn server_stream_ended(&mut self, may_reopen: bool) {
        let policy = self.config.policy.clone();
        let now = self.last_now;
        let Some(h) = self.http_mut() else { return };
        let s = &mut h.server_stream.resume;
        let resumable = s.last_event_id.is_some() || s.retry.is_some();
        let capped = s.reconnects >= policy.max_reconnects;
        if may_reopen && resumable && s.attempts < policy.max_resume_attempts && !capped {
            s.attempts += 1;
            s.reconnects += 1;
            let delay = policy.reconnect_delay(s.retry, s.empty);
            self.timers
                .set(TimerReason::ReopenServerStream, later(now, delay));
        } else {
            h.server_stream.active = false;
            if may_reopen && resumable && capped {
                let reason = format!(
                    "reopened {} times in a row without a message",
                    policy.max_reconnects
                );
                self.warn(Warning::ServerStreamLost { reason });
            }
        }
    }

    pub(super) fn on_error_body_timeout(&mut self, exchange: ExchangeId) {
        let Some(x) = self.take_aborted(exchange) else {
            return;
        };
        if let Body::Failed(f) = x.body {
            self.on_failure_body(x.request, *f);
        }
    }

    /// A non-2xx answer is complete (or cut off): fail what the policy says.
    fn on_failure_body(&mut self, request: Option<RequestId>, f: Failure) {
        let rpc = match jsonrpc::decode(&f.body) {
            Ok(Decoded::Single(Message::Error { error, .. })) => Some(error),
            _ => None,
        };
        let error = Error::Http(Arc::new(HttpError {
            status: f.status,
            body: excerpt(&f.body, HttpError::EXCERPT),
            rpc,
            retry_after: f.retry_after,
        }));
        if f.scope_session {
            self.fail_session(error);
        } else if let Some(id) = request {
            self.fail_request(id, error);
        }
    }
}
