//! Streamable HTTP: every outgoing message is an exchange; a response is a JSON body or an SSE
//! stream; a stream that ends early resumes with `Last-Event-ID`; the optional GET stream
//! carries the server's own messages. This part owns the exchanges, which request each one
//! carries, the session id, the GET stream and where each stream left off; it bounds how many
//! exchanges are open at once (the rest wait, in order) and how many bytes wait.
//!
//! The 2024-11-05 HTTP+SSE transport is a mode of it ([`Http::set_legacy_sse`]): one GET
//! event stream (`ExchangeKind::EventStream`) carries every message from the server; its
//! first event, `endpoint`, names the URI (resolved against the stream's, and of its origin)
//! that every message is POSTed to; a POST's 2xx carries nothing. POSTs wait for the
//! `endpoint` event as they wait for a free exchange. There is no session id, no
//! `MCP-Protocol-Version` header, no optional GET stream and no resumption.

use crate::name::Name;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use ::http::header::{
    HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use ::http::{HeaderMap, Method, StatusCode, Uri};

use super::Happened;
use crate::error::{HttpError, LegacySseError, TransportError, TransportErrorKind};
use crate::input::ExchangeId;
use crate::jsonrpc::{self, Decoded, Message};
use crate::output::{RequestId, Transmit};
use crate::policy::{ExchangeKind, Failure, RedirectTarget, Scope, StreamState};
use crate::session::excerpt;
use crate::sse::{SseDecoder, SseLimits};

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const ACCEPT_SSE: HeaderValue = HeaderValue::from_static("text/event-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The limits this part enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest body or SSE event.
    pub(crate) max_message: usize,
    /// The longest SSE line.
    pub(crate) max_line: usize,
    /// At most this many exchanges open.
    pub(crate) max_exchanges: usize,
    /// A redirect may be followed: an exchange keeps a copy of its request until its answer's
    /// head.
    pub(crate) follow_redirects: bool,
}

/// The headers every request carries (the application's, the session id, the version, the
/// OAuth flow's `Authorization`), and the values they were made of.
#[derive(Debug)]
struct SharedHeaders {
    session_id: Option<HeaderValue>,
    version: Option<&'static str>,
    /// Sensitive, as the credential's own (and shown so in `Debug`).
    authorization: Option<HeaderValue>,
    map: HeaderMap,
}

/// Whether `a` and `b` are the same URI: at once when `a` is a clone of `b` (their authority
/// and path share the same bytes, as a request's URI cloned from the endpoint does), else by
/// `Uri`'s comparison (which lowers the authority's case, a cost a request paid each time).
fn same_uri(a: &::http::Uri, b: &::http::Uri) -> bool {
    let text = |u: &::http::Uri| {
        (
            u.authority()
                .map(|x| (x.as_str().as_ptr(), x.as_str().len())),
            u.path_and_query()
                .map(|x| (x.as_str().as_ptr(), x.as_str().len())),
        )
    };
    (a.scheme() == b.scheme() && text(a) == text(b)) || a == b
}

/// How many headers a request gets after the shared ones, at most, in the common case: what
/// its map is made with room for (see `Http::request_to`).
const ADDED_LATER: usize = 4;

/// What the session knows of Streamable HTTP.
#[derive(Debug)]
pub(crate) struct Http {
    endpoint: Uri,
    headers: HeaderMap,
    limits: Limits,
    version: Option<&'static str>,
    /// The 2026-07-28 revision: no session, no GET stream, no resumption; each request carries
    /// its own version header.
    modern: bool,
    /// The OAuth flow's `Authorization` header for the MCP server (sensitive), and what
    /// makes a DPoP proof for each request.
    authorization: Option<crate::auth::ResourceCredential>,
    /// DPoP proofs made: each one's `jti` is unique.
    proofs: u64,
    /// The session's clock, for the proofs' `iat`.
    now: Option<std::time::Instant>,
    /// The most body bytes kept of an OAuth flow's response (one more, and the flow refuses
    /// it).
    max_auth_body: usize,
    session_id: Option<HeaderValue>,
    /// The headers every request carries, as the last one had them (cloned for the next,
    /// rather than inserted one by one), with what they were made of.
    shared: Option<SharedHeaders>,
    next_exchange: u64,
    /// Hashed by id (the core's own, in order): starting and ending one moves no other;
    /// what needs an order walks the ids ascending.
    exchanges: crate::IdMap<ExchangeId, Exchange>,
    /// Which exchange carries each request now: kept here only, beside `Exchange::request`.
    /// Never iterated; hashed, because it is touched on every request and completion and
    /// dropping it at the end of a session with many requests outstanding costs nothing.
    by_request: crate::IdMap<RequestId, ExchangeId>,
    /// Exchanges handed to the adapter and not over yet: at most `limits.max_exchanges`.
    open: usize,
    /// Exchanges waiting for a slot, in order.
    queued: VecDeque<ExchangeId>,
    /// Body bytes of the queued exchanges.
    queued_bytes: usize,
    server_stream: ServerStream,
    /// Where each request's stream left off, while it may be resumed.
    resumes: BTreeMap<RequestId, Resume>,
    happened: VecDeque<Happened>,
    /// The 2024-11-05 HTTP+SSE transport.
    sse: Option<LegacySse>,
    /// What the exchanges that carry no method of their own are named, shared.
    labels: Labels,
}

/// The names of the exchanges that carry no method of their own (see [`Exchange::method`]).
#[derive(Debug)]
struct Labels {
    server_stream: Name,
    resume: Name,
    oauth: Name,
}

impl Default for Labels {
    fn default() -> Labels {
        Labels {
            server_stream: Name::from("GET"),
            resume: Name::from("GET (resume)"),
            oauth: Name::from("oauth"),
        }
    }
}

/// The 2024-11-05 HTTP+SSE transport's state.
#[derive(Debug, Default)]
struct LegacySse {
    /// The event stream was sent.
    opened: bool,
    /// Where messages are POSTed: the `endpoint` event's URI, once it came.
    post_to: Option<Uri>,
    /// The URI the event stream came from, when a redirect took it elsewhere: the
    /// `endpoint` resolves against it.
    stream_uri: Option<Uri>,
}

/// The optional GET stream.
#[derive(Debug, Default)]
struct ServerStream {
    /// Open, or waiting to be reopened: not to be opened again.
    active: bool,
    /// The server said it has none.
    unsupported: bool,
    resume: Resume,
}

/// Where a stream left off, and how its reconnects have gone.
#[derive(Clone, Debug, Default)]
struct Resume {
    last_event_id: Option<String>,
    retry: Option<Duration>,
    fruitless: u32,
    empty: u32,
    reconnects: u32,
}

impl Resume {
    fn state(&self) -> StreamState {
        StreamState {
            resumable: self.last_event_id.is_some(),
            retry: self.retry,
            fruitless: self.fruitless,
            empty: self.empty,
            reconnects: self.reconnects,
        }
    }
}

/// An exchange: the core keeps one per outstanding request (56 bytes; it was 80).
#[derive(Debug)]
struct Exchange {
    body: Body,
    /// The method it carries, or what it is ([`Labels`]).
    method: Name,
    /// The session's request it carries while it is carried here, or the OAuth flow's.
    carries: Carries,
    /// The request while it waits for a slot, or what it takes to send it again if a redirect
    /// is followed (one or the other: it is kept only once the exchange is handed to the
    /// adapter). Boxed: most exchanges never wait and keep nothing for a redirect.
    parked: Option<Box<Parked>>,
    /// How many redirects led to this exchange.
    hops: u32,
    kind: ExchangeKind,
    carried_session: bool,
    /// An event stream that delivered a message (not only priming events).
    news: bool,
}

/// What an exchange keeps of its request, when it keeps any (see [`Exchange::parked`]).
#[derive(Debug)]
enum Parked {
    /// The request, while it waits for a slot (boxed as the adapter takes it).
    Waiting(Box<::http::Request<Vec<u8>>>),
    /// What it takes to send the request again if a redirect is followed: kept until the
    /// answer's head (only a redirect needs it), and not at all for the OAuth flow's requests
    /// and the `DELETE` (never redirected) or when the policy follows no redirect.
    Sent(Resend),
}

/// Whose request an exchange carries, in 8 bytes (in an entry per outstanding request): the
/// session's request id as it is, the OAuth flow's with the top bit set, or neither (every
/// bit set). Both count up from zero, one a request: 2^63 of them would take 292 years at a
/// billion a second.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Carries(u64);

impl Carries {
    /// Neither (the GET stream, the `DELETE`, a request the exchange no longer carries).
    const NOTHING: Carries = Carries(u64::MAX);
    /// The bit that marks one of the OAuth flow's requests.
    const AUTH: u64 = 1 << 63;

    fn of(request: Option<RequestId>) -> Carries {
        request.map_or(Carries::NOTHING, |r| {
            debug_assert!(r.0 & Carries::AUTH == 0);
            Carries(r.0)
        })
    }

    /// One of the OAuth flow's requests.
    fn auth(r: crate::auth::RequestId) -> Carries {
        debug_assert!(r.0 < !Carries::AUTH);
        Carries(r.0 | Carries::AUTH)
    }

    fn request(self) -> Option<RequestId> {
        (self.0 & Carries::AUTH == 0).then_some(RequestId(self.0))
    }

    fn auth_request(self) -> Option<crate::auth::RequestId> {
        (self != Carries::NOTHING && self.0 & Carries::AUTH != 0)
            .then_some(crate::auth::RequestId(self.0 & !Carries::AUTH))
    }
}

impl std::fmt::Debug for Carries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.request(), self.auth_request()) {
            (Some(r), _) => f.debug_tuple("Request").field(&r).finish(),
            (_, Some(a)) => f.debug_tuple("Auth").field(&a).finish(),
            _ => f.write_str("Nothing"),
        }
    }
}

impl Exchange {
    /// The session's request it carries, if it carries one.
    fn request(&self) -> Option<RequestId> {
        self.carries.request()
    }

    /// The OAuth flow's request it carries, if it carries one.
    fn auth(&self) -> Option<crate::auth::RequestId> {
        self.carries.auth_request()
    }

    /// The request, if it waits for a slot.
    fn waiting(&self) -> Option<&::http::Request<Vec<u8>>> {
        match self.parked.as_deref() {
            Some(Parked::Waiting(req)) => Some(req),
            _ => None,
        }
    }

    /// Whether it waits for a slot.
    fn is_waiting(&self) -> bool {
        self.waiting().is_some()
    }

    /// The request it waited for a slot with, taken.
    fn take_waiting(&mut self) -> Option<Box<::http::Request<Vec<u8>>>> {
        if !self.is_waiting() {
            return None;
        }
        match *self.parked.take()? {
            Parked::Waiting(req) => Some(req),
            Parked::Sent(_) => None,
        }
    }

    /// What it keeps to be sent again after a redirect.
    fn sent(&self) -> Option<&Resend> {
        match self.parked.as_deref() {
            Some(Parked::Sent(r)) => Some(r),
            _ => None,
        }
    }

    /// What it kept to be sent again after a redirect, taken.
    fn take_sent(&mut self) -> Option<Resend> {
        self.sent()?;
        match *self.parked.take()? {
            Parked::Sent(r) => Some(r),
            Parked::Waiting(_) => None,
        }
    }
}

/// Whether an exchange of this kind may be redirected (and so keeps a copy of its request).
/// A request kept to be sent again after a redirect: its method, where it went, its body,
/// and only the headers the transport would not set the same way again (the 2026-07-28
/// revision's, `Last-Event-ID`). The shared headers (the client's own, the session id, the
/// protocol version, the credential) are those of the moment it goes again, the DPoP proof
/// new for its new URI: a copy of every header per outstanding request was most of what the
/// core kept for it.
/// (Compact: the URI only when it is not the endpoint, the headers only when there are any.)
struct Resend {
    method: Method,
    uri: Option<Box<Uri>>,
    body: Vec<u8>,
    extra: Option<Box<HeaderMap>>,
}

impl std::fmt::Debug for Resend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resend")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("body_len", &self.body.len())
            .field(
                "extra",
                &self.extra.iter().flat_map(|e| e.keys()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Resend {
    /// Bytes held.
    fn size(&self) -> usize {
        let headers: usize = self.extra.as_deref().map_or(0, |e| {
            let entries: usize = e.iter().map(|(k, v)| k.as_str().len() + v.len() + 32).sum();
            std::mem::size_of::<HeaderMap>() + entries
        });
        let uri = self
            .uri
            .as_deref()
            .map_or(0, |u| std::mem::size_of::<Uri>() + u.to_string().len());
        std::mem::size_of::<Resend>() + self.body.capacity() + headers + uri
    }

    /// Where it went.
    fn uri<'a>(&'a self, endpoint: &'a Uri) -> &'a Uri {
        self.uri.as_deref().unwrap_or(endpoint)
    }
}

fn redirectable(kind: ExchangeKind) -> bool {
    !matches!(kind, ExchangeKind::Auth | ExchangeKind::Delete)
}

/// Whether an exchange of `kind` for `request` is the POST of that request's own message.
fn carries_message(kind: ExchangeKind, request: Option<RequestId>) -> bool {
    request.is_some()
        && matches!(
            kind,
            ExchangeKind::Initialize | ExchangeKind::Discover | ExchangeKind::Request
        )
}

#[derive(Debug)]
enum Body {
    AwaitingHead,
    /// A failure status whose effect the session has not yet said.
    Judged(Box<Judged>),
    Json(Vec<u8>),
    Sse(Box<SseDecoder>),
    Discard,
    Failing(Box<FailureBody>),
    /// An OAuth flow's response, read whole for the flow.
    Auth(Box<AuthBody>),
}

/// An OAuth flow's response as it is read.
#[derive(Debug)]
struct AuthBody {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A failure status's head, kept until the session says what it does.
#[derive(Debug)]
struct Judged {
    status: StatusCode,
    retry_after: Option<String>,
}

/// A failure status's body, being read for its excerpt.
#[derive(Debug)]
struct FailureBody {
    scope: Scope,
    /// The exchange carried `Mcp-Session-Id`.
    carried_session: bool,
    status: StatusCode,
    retry_after: Option<String>,
    max: usize,
    body: Vec<u8>,
}

/// The response's media type, lowercase: borrowed from the header unless it needs lowering
/// (read on every response).
fn media_type(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = v.split(';').next().unwrap_or("").trim();
    Some(match media.bytes().any(|b| b.is_ascii_uppercase()) {
        true => media.to_ascii_lowercase().into(),
        false => media.into(),
    })
}

impl Http {
    pub(crate) fn new(endpoint: Uri, headers: HeaderMap, limits: Limits) -> Self {
        Http {
            endpoint,
            headers,
            limits,
            version: None,
            modern: false,
            authorization: None,
            proofs: 0,
            now: None,
            max_auth_body: 1 << 20,
            session_id: None,
            shared: None,
            next_exchange: 0,
            exchanges: crate::IdMap::default(),
            by_request: HashMap::default(),
            open: 0,
            queued: VecDeque::new(),
            queued_bytes: 0,
            server_stream: ServerStream::default(),
            resumes: BTreeMap::new(),
            happened: VecDeque::new(),
            sse: None,
            labels: Labels::default(),
        }
    }

    // ----- getters -----------------------------------------------------------------------

    /// The MCP endpoint.
    pub(crate) fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session_id.as_ref().and_then(|v| v.to_str().ok())
    }

    /// Body bytes waiting for a free exchange.
    pub(crate) fn held(&self) -> usize {
        self.queued_bytes
    }

    /// Whether a message sent now would go out at once.
    pub(crate) fn has_free_slot(&self) -> bool {
        self.open < self.limits.max_exchanges.max(1)
            && self.queued.is_empty()
            && !self.lacks_endpoint()
    }

    /// Whether this is the 2024-11-05 HTTP+SSE transport.
    pub(crate) fn is_legacy_sse(&self) -> bool {
        self.sse.is_some()
    }

    /// HTTP+SSE: the `endpoint` event has not come yet (every POST waits for it).
    pub(crate) fn lacks_endpoint(&self) -> bool {
        self.sse.as_ref().is_some_and(|l| l.post_to.is_none())
    }

    /// Whether the request's exchange has not reached the adapter yet (it waits for a slot).
    pub(crate) fn is_waiting(&self, request: RequestId) -> bool {
        self.by_request
            .get(&request)
            .and_then(|x| self.exchanges.get(x))
            .is_some_and(|x| x.is_waiting())
    }

    /// The GET stream was sent and the server has not said what becomes of it yet.
    pub(crate) fn server_stream_pending(&self) -> bool {
        self.exchanges.values().any(|x| {
            x.kind == ExchangeKind::ServerStream
                && matches!(
                    x.body,
                    Body::AwaitingHead | Body::Judged(_) | Body::Failing(_)
                )
        })
    }

    /// The next thing to tell the session.
    pub(crate) fn poll(&mut self) -> Option<Happened> {
        self.happened.pop_front()
    }

    /// The messages of a chunk the session has not taken yet go back to the front of the
    /// queue, where they were.
    pub(crate) fn put_back(&mut self, messages: Happened) {
        self.happened.push_front(messages);
    }

    /// An estimate of the bytes this part holds: bodies being read, requests waiting.
    pub(crate) fn retained(&self) -> usize {
        let per_exchange = std::mem::size_of::<Exchange>() + 64;
        let bodies: usize = self
            .exchanges
            .values()
            .map(|x| {
                let body = match &x.body {
                    Body::Json(b) => b.capacity(),
                    Body::Sse(d) => d.retained(),
                    Body::Failing(e) => e.body.capacity(),
                    Body::Auth(a) => a.body.capacity() + 64 * a.headers.len(),
                    _ => 0,
                };
                let waiting = x.waiting().map_or(0, request_size);
                let sent = x.sent().map_or(0, Resend::size);
                per_exchange + x.method.len() + body + waiting + sent
            })
            .sum();
        let happened: usize = self.happened.iter().map(happened_size).sum();
        let resumes: usize = self
            .resumes
            .values()
            .chain(Some(&self.server_stream.resume))
            .map(|r| 64 + r.last_event_id.as_ref().map_or(0, String::capacity))
            .sum();
        bodies + happened + resumes + self.by_request.len() * 32
    }

    // ----- what the session sends ---------------------------------------------------------

    /// The protocol version to send in `MCP-Protocol-Version` from now on.
    pub(crate) fn set_version(&mut self, version: &'static str) {
        // 2024-11-05 has no such header.
        if self.sse.is_none() {
            self.version = Some(version);
        }
    }

    /// From now on the 2024-11-05 HTTP+SSE transport (chosen, or fallen back to): no session
    /// id, version header or optional GET stream. [`Http::open_event_stream`] opens it.
    pub(crate) fn set_legacy_sse(&mut self) {
        if self.sse.is_none() {
            self.sse = Some(LegacySse::default());
        }
        self.version = None;
        self.session_id = None;
        self.server_stream.unsupported = true;
    }

    /// HTTP+SSE: GETs the event stream, once.
    pub(crate) fn open_event_stream(&mut self) {
        match &mut self.sse {
            Some(l) if !l.opened => l.opened = true,
            _ => return,
        }
        let mut req = self.request(Method::GET, Vec::new());
        req.headers_mut().insert(ACCEPT, ACCEPT_SSE);
        self.start(
            ExchangeKind::EventStream,
            None,
            "GET (event stream)".into(),
            req,
        );
    }

    /// From now on the 2026-07-28 revision: the session id, the GET stream and resumption
    /// are of the handshake's revisions, and the version header comes with each request.
    pub(crate) fn set_modern(&mut self, modern: bool) {
        self.modern = modern;
        if modern {
            self.version = None;
            self.session_id = None;
            self.server_stream.unsupported = true;
        } else {
            self.server_stream.unsupported = self.sse.is_some();
        }
    }

    /// The OAuth flow's `Authorization` header (and DPoP prover) for the MCP server from now
    /// on, and how much of its responses to keep.
    pub(crate) fn set_authorization(
        &mut self,
        value: Option<crate::auth::ResourceCredential>,
        max_body: usize,
    ) {
        self.authorization = value.map(|mut v| {
            v.header.set_sensitive(true);
            v
        });
        self.max_auth_body = max_body;
    }

    /// The time now, for what the requests made from now on say of it (DPoP proofs).
    pub(crate) fn set_now(&mut self, now: std::time::Instant) {
        self.now = Some(now);
    }

    /// A fresh DPoP proof for a request of `method` to `uri`, when the token is DPoP-bound.
    fn proof(&mut self, method: &Method, uri: &Uri) -> Option<HeaderValue> {
        let prover = self.authorization.as_ref()?.dpop.as_ref()?;
        self.proofs += 1;
        prover.proof(method, uri, self.now?, self.proofs)
    }

    /// How much of an OAuth flow's response is kept.
    pub(crate) fn max_auth_body(&self) -> usize {
        self.max_auth_body
    }

    /// One of the OAuth flow's requests (an absolute URI, to any origin): its whole answer
    /// goes back to the flow ([`Happened::AuthResponse`]).
    pub(crate) fn auth(&mut self, request: crate::auth::RequestId, req: ::http::Request<Vec<u8>>) {
        let id = self.start(ExchangeKind::Auth, None, self.labels.oauth.clone(), req);
        if let Some(x) = self.exchanges.get_mut(&id) {
            x.carries = Carries::auth(request);
        }
    }

    /// A POST carrying one message, with `extra` headers of its own (the 2026-07-28
    /// revision's `MCP-Protocol-Version`, `Mcp-Method`, ...); queued if every slot is taken.
    pub(crate) fn post(
        &mut self,
        kind: ExchangeKind,
        request: Option<RequestId>,
        method: Name,
        body: Vec<u8>,
        extra: HeaderMap,
    ) -> ExchangeId {
        let mut req = self.request(Method::POST, body);
        let h = req.headers_mut();
        h.insert(ACCEPT, ACCEPT_BOTH);
        h.insert(CONTENT_TYPE, JSON);
        for (name, value) in extra {
            if let Some(name) = name {
                h.insert(name, value);
            }
        }
        self.start(kind, request, method, req)
    }

    /// Opens the optional GET stream unless the server has none or it is open; says whether
    /// it did.
    pub(crate) fn open_server_stream(&mut self) -> bool {
        let s = &mut self.server_stream;
        if s.unsupported || s.active {
            return false;
        }
        s.active = true;
        let last = s.resume.last_event_id.clone();
        self.get(ExchangeKind::ServerStream, None, last.as_deref());
        true
    }

    /// Reopens the GET stream (its reconnect wait is over).
    pub(crate) fn reopen_server_stream(&mut self) {
        if self.server_stream.unsupported {
            return;
        }
        self.server_stream.resume.reconnects += 1;
        let last = self.server_stream.resume.last_event_id.clone();
        self.get(ExchangeKind::ServerStream, None, last.as_deref());
    }

    /// Resumes a request's stream with `Last-Event-ID` (its reconnect wait is over).
    pub(crate) fn resume(&mut self, request: RequestId) {
        let Some(r) = self.resumes.get_mut(&request) else {
            return;
        };
        let Some(last) = r.last_event_id.clone() else {
            return;
        };
        r.reconnects += 1;
        self.get(ExchangeKind::Resume, Some(request), Some(&last));
    }

    fn get(&mut self, kind: ExchangeKind, request: Option<RequestId>, last_event_id: Option<&str>) {
        let mut req = self.request(Method::GET, Vec::new());
        req.headers_mut().insert(ACCEPT, ACCEPT_SSE);
        if let Some(v) = last_event_id.and_then(|l| HeaderValue::from_str(l).ok()) {
            req.headers_mut().insert(LAST_EVENT_ID, v);
        }
        let method = match kind {
            ExchangeKind::ServerStream => &self.labels.server_stream,
            _ => &self.labels.resume,
        };
        self.start(kind, request, method.clone(), req);
    }

    fn request(&mut self, method: Method, body: Vec<u8>) -> ::http::Request<Vec<u8>> {
        // HTTP+SSE: messages go to the `endpoint` event's URI (set again on a request that
        // waited for it).
        let uri = match (&self.sse, &method) {
            (
                Some(LegacySse {
                    post_to: Some(to), ..
                }),
                &Method::POST,
            ) => to.clone(),
            _ => self.endpoint.clone(),
        };
        self.request_to(method, uri, body)
    }

    /// The headers every request to the server carries, on a request to `uri`.
    fn request_to(&mut self, method: Method, uri: Uri, body: Vec<u8>) -> ::http::Request<Vec<u8>> {
        let proof = self.proof(&method, &uri);
        let mut req = ::http::Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let authorization = self.authorization.as_ref().map(|a| &a.header);
        let fresh = self.shared.as_ref().is_some_and(|c| {
            c.session_id == self.session_id
                && c.version == self.version
                && c.authorization.as_ref() == authorization
        });
        if !fresh {
            let mut map = self.headers.clone();
            if let Some(s) = &self.session_id {
                map.insert(MCP_SESSION_ID, s.clone());
            }
            if let Some(v) = self.version {
                map.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static(v));
            }
            if let Some(a) = authorization {
                map.insert(::http::header::AUTHORIZATION, a.clone());
            }
            self.shared = Some(SharedHeaders {
                session_id: self.session_id.clone(),
                version: self.version,
                authorization: authorization.cloned(),
                map,
            });
        }
        let h = req.headers_mut();
        if let Some(shared) = &self.shared {
            // Room for what is added after these without growing the map (each growth is a
            // reallocation of its entries, twice a request when it was cloned to its length):
            // `Accept`, `Content-Type`, the adapter's `Host` and hyper's `Content-Length`.
            // (Bounded: `with_capacity` panics past 32,768; a map of more grows by itself.)
            *h = HeaderMap::with_capacity((shared.map.len() + ADDED_LATER).min(1 << 10));
            for (name, value) in &shared.map {
                h.append(name.clone(), value.clone());
            }
        }
        if let Some(p) = proof {
            h.insert(crate::auth::DPOP, p);
        }
        req
    }

    /// Whether an exchange of `kind` keeps a copy of its request for a redirect.
    fn keeps_sent(&self, kind: ExchangeKind) -> bool {
        self.limits.follow_redirects && redirectable(kind)
    }

    /// The header `name` as the transport sets it on every request of `method` now.
    fn shared_header(&self, method: &Method, name: &HeaderName) -> Option<HeaderValue> {
        if let Some(v) = self.headers.get(name) {
            return Some(v.clone());
        }
        match *name {
            ACCEPT if *method == Method::POST => Some(ACCEPT_BOTH),
            ACCEPT if *method == Method::GET => Some(ACCEPT_SSE),
            CONTENT_TYPE if *method == Method::POST => Some(JSON),
            ::http::header::AUTHORIZATION => self.authorization.as_ref().map(|a| a.header.clone()),
            _ if name == MCP_SESSION_ID => self.session_id.clone(),
            _ if name == MCP_PROTOCOL_VERSION => self.version.map(HeaderValue::from_static),
            _ => None,
        }
    }

    /// What it takes to send `req` again after a redirect. The POST of a request's message
    /// keeps only where it went, and only when that is not the endpoint: the session encodes
    /// the message again from the request it keeps (the same bytes), so no copy of the body
    /// and headers is kept per outstanding request.
    fn resend_of(
        &self,
        kind: ExchangeKind,
        request: Option<RequestId>,
        req: &::http::Request<Vec<u8>>,
    ) -> Option<Box<Parked>> {
        if carries_message(kind, request) {
            return (!same_uri(req.uri(), &self.endpoint)).then(|| {
                Box::new(Parked::Sent(Resend {
                    method: Method::POST,
                    uri: Some(Box::new(req.uri().clone())),
                    body: Vec::new(),
                    extra: None,
                }))
            });
        }
        let method = req.method();
        let mut extra = HeaderMap::new();
        for (name, value) in req.headers() {
            let shared = *name == crate::auth::DPOP
                || self.shared_header(method, name).as_ref() == Some(value);
            if !shared {
                extra.append(name.clone(), value.clone());
            }
        }
        Some(Box::new(Parked::Sent(Resend {
            method: method.clone(),
            uri: (!same_uri(req.uri(), &self.endpoint)).then(|| Box::new(req.uri().clone())),
            body: req.body().clone(),
            extra: (!extra.is_empty()).then(|| Box::new(extra)),
        })))
    }

    /// The request whose message `exchange` carries, which the session encodes again if the
    /// exchange is redirected.
    pub(crate) fn message_of(&self, exchange: ExchangeId) -> Option<RequestId> {
        let x = self.exchanges.get(&exchange)?;
        x.request().filter(|_| carries_message(x.kind, x.request()))
    }

    /// `sent` again, to `to`: the shared headers as they are now (a DPoP proof for `to`), its
    /// own as they were.
    fn resent(&mut self, sent: Resend, to: Uri) -> ::http::Request<Vec<u8>> {
        let Resend {
            method,
            body,
            extra,
            ..
        } = sent;
        let mut req = self.request_to(method.clone(), to, body);
        for name in [ACCEPT, CONTENT_TYPE] {
            if let Some(v) = self.shared_header(&method, &name) {
                req.headers_mut().insert(name, v);
            }
        }
        let h = req.headers_mut();
        let mut last: Option<HeaderName> = None;
        for (name, value) in extra.map_or_else(HeaderMap::new, |e| *e) {
            match name {
                Some(name) => {
                    h.insert(name.clone(), value);
                    last = Some(name);
                }
                None => {
                    if let Some(name) = &last {
                        h.append(name.clone(), value);
                    }
                }
            }
        }
        req
    }

    /// Hands an exchange to the adapter, or queues it behind the ones open.
    fn start(
        &mut self,
        kind: ExchangeKind,
        request: Option<RequestId>,
        method: Name,
        req: ::http::Request<Vec<u8>>,
    ) -> ExchangeId {
        let id = ExchangeId(self.next_exchange);
        self.next_exchange += 1;
        // The HTTP+SSE event stream is what the POSTs wait for: it waits only for a free
        // slot (first in line for one), as does the OAuth flow that the stream's 401 started,
        // never for the endpoint.
        let free = match kind {
            ExchangeKind::EventStream | ExchangeKind::Auth if self.lacks_endpoint() => {
                self.open < self.limits.max_exchanges.max(1)
            }
            _ => self.has_free_slot(),
        };
        let exchange = Exchange {
            kind,
            carries: Carries::of(request),
            method,
            carried_session: self.session_id.is_some(),
            body: Body::AwaitingHead,
            news: false,
            parked: match free && self.keeps_sent(kind) {
                true => self.resend_of(kind, request, &req),
                false => None,
            },
            hops: 0,
        };
        self.exchanges.insert(id, exchange);
        if let Some(r) = request {
            self.by_request.insert(r, id);
        }
        if free {
            self.open += 1;
            self.happened.push_back(Happened::Transmit(Transmit::Http {
                exchange: id,
                kind,
                request: Box::new(req),
            }));
        } else {
            self.queued_bytes += req.body().len();
            if let Some(x) = self.exchanges.get_mut(&id) {
                x.parked = Some(Box::new(Parked::Waiting(Box::new(req))));
            }
            match kind {
                ExchangeKind::EventStream => self.queued.push_front(id),
                _ => self.queued.push_back(id),
            }
        }
        id
    }

    /// Forgets an exchange: it is over (`abort`: the adapter must drop it). Starts what waited
    /// for its slot.
    fn remove(&mut self, id: ExchangeId, abort: bool) -> Option<Exchange> {
        let x = self.exchanges.remove(&id)?;
        if let Some(r) = x.request() {
            if self.by_request.get(&r) == Some(&id) {
                self.by_request.remove(&r);
            }
        }
        match x.waiting() {
            Some(req) => {
                self.queued_bytes -= req.body().len();
                self.queued.retain(|q| *q != id);
            }
            None => {
                self.open -= 1;
                if abort {
                    self.happened.push_back(Happened::Abort(id));
                }
                self.happened.push_back(Happened::Done(id));
            }
        }
        self.start_queued();
        Some(x)
    }

    /// The session gave up on an exchange: what it delivered and the session has not taken
    /// yet is moot. (When the transport itself ends an exchange, what came before stays.)
    /// So is its body's being too large, when that is queued behind what the session took:
    /// had the bytes been cut before the part over the limit, the exchange would have been
    /// gone when it came, and how the bytes were cut must not decide.
    fn purge(&mut self, id: ExchangeId) {
        self.happened.retain(|h| match h {
            Happened::Message { exchange, .. } => *exchange != Some(id),
            Happened::Messages { exchange, .. } => *exchange != id,
            Happened::Failed {
                failure: Failure::TooLargeOnExchange { .. },
                exchange,
                ..
            } => *exchange != Some(id),
            _ => true,
        });
    }

    /// HTTP+SSE: a POST that waited for the `endpoint` event goes there, with the credential
    /// of now (an OAuth flow may have run while it waited) and a proof naming that URI.
    fn address_to_endpoint(&mut self, req: &mut ::http::Request<Vec<u8>>) {
        let Some(LegacySse {
            post_to: Some(to), ..
        }) = &self.sse
        else {
            return;
        };
        if req.method() != Method::POST {
            return;
        }
        let to = to.clone();
        *req.uri_mut() = to.clone();
        if let Some(a) = &self.authorization {
            req.headers_mut()
                .insert(::http::header::AUTHORIZATION, a.header.clone());
        }
        match self.proof(&Method::POST, &to) {
            Some(p) => req.headers_mut().insert(crate::auth::DPOP, p),
            None => req.headers_mut().remove(crate::auth::DPOP),
        };
    }

    fn start_queued(&mut self) {
        while self.open < self.limits.max_exchanges.max(1) {
            // HTTP+SSE: before the `endpoint` event only the event stream and the OAuth
            // flow's requests may go.
            let next = match self.lacks_endpoint() {
                false => (!self.queued.is_empty()).then_some(0),
                true => self.queued.iter().position(|id| {
                    self.exchanges.get(id).is_some_and(|x| {
                        matches!(x.kind, ExchangeKind::Auth | ExchangeKind::EventStream)
                    })
                }),
            };
            let Some(id) = next.and_then(|at| self.queued.remove(at)) else {
                return;
            };
            let Some(x) = self.exchanges.get_mut(&id) else {
                continue;
            };
            let Some(mut req) = x.take_waiting() else {
                continue;
            };
            let (kind, request) = (x.kind, x.request());
            self.address_to_endpoint(&mut req);
            self.queued_bytes -= req.body().len();
            self.open += 1;
            if self.keeps_sent(kind) {
                let resend = self.resend_of(kind, request, &req);
                if let Some(x) = self.exchanges.get_mut(&id) {
                    x.parked = resend;
                }
            }
            self.happened.push_back(Happened::Transmit(Transmit::Http {
                exchange: id,
                kind,
                request: req,
            }));
        }
    }

    /// The request is over (answered: its stream may run on, `abort` false; failed or given
    /// up: `abort` true). Nothing more is delivered for it.
    pub(crate) fn forget_request(&mut self, request: RequestId, abort: bool) {
        self.resumes.remove(&request);
        let Some(id) = self.by_request.remove(&request) else {
            return;
        };
        let waiting = self.exchanges.get(&id).is_some_and(Exchange::is_waiting);
        if abort || waiting {
            // (One still waiting for a slot never reached the server: it is not sent at all,
            // whatever answered its request.)
            self.purge(id);
            self.remove(id, abort);
        } else if let Some(x) = self.exchanges.get_mut(&id) {
            x.carries = Carries::NOTHING;
        }
    }

    /// Whether `exchange` still carries `request` (it was not issued again elsewhere).
    pub(crate) fn carries(&self, exchange: ExchangeId, request: RequestId) -> bool {
        self.exchanges
            .get(&exchange)
            .is_some_and(|x| x.request() == Some(request))
    }

    /// The request goes on another exchange from now on (2026-07-28: it is issued again):
    /// what its old exchange still brings is no longer its own. Where its stream stands
    /// (how often it broke) stays.
    /// One still waiting for a slot never reached the server: it is dropped, not sent later
    /// under the old wire id.
    pub(crate) fn detach(&mut self, request: RequestId) {
        let Some(id) = self.by_request.remove(&request) else {
            return;
        };
        // What the exchange brought and the session has not taken yet is no longer the
        // request's either, as if it had come after (how the bytes were cut must not decide).
        for h in &mut self.happened {
            match h {
                Happened::Message {
                    origin, exchange, ..
                } if *exchange == Some(id) && *origin == Some(request) => *origin = None,
                Happened::Messages {
                    origin, exchange, ..
                } if *exchange == id && *origin == Some(request) => *origin = None,
                Happened::Failed {
                    request: r,
                    exchange,
                    ..
                } if *exchange == Some(id) && *r == Some(request) => *r = None,
                _ => {}
            }
        }
        match self.exchanges.get_mut(&id) {
            Some(x) if x.is_waiting() => {
                self.purge(id);
                self.remove(id, false);
            }
            Some(x) => x.carries = Carries::NOTHING,
            None => {}
        }
    }

    /// The session ended: every exchange is dropped (the adapter aborts them, but for the
    /// notifications and the `DELETE`, which may linger: `abort` is called with the others,
    /// in ascending id); with `close`, returns the `DELETE` that ends the server's session.
    pub(crate) fn shut(
        &mut self,
        close: bool,
        mut abort: impl FnMut(ExchangeId),
    ) -> Option<Transmit> {
        // An exchange whose request the session has not taken yet never reached the adapter:
        // nothing to abort.
        let mut untaken: Vec<ExchangeId> = self
            .happened
            .iter()
            .filter_map(|h| match h {
                Happened::Transmit(Transmit::Http { exchange, .. }) => Some(*exchange),
                _ => None,
            })
            .collect();
        untaken.sort_unstable();
        crate::ids::for_each_ascending(
            &self.exchanges,
            self.next_exchange,
            |x| {
                let lingers = matches!(x.kind, ExchangeKind::Notification | ExchangeKind::Delete);
                (!x.is_waiting() && !lingers).then_some(())
            },
            |id, ()| {
                if untaken.binary_search(&id).is_err() {
                    abort(id);
                }
            },
        );
        self.exchanges = crate::IdMap::default();
        self.by_request.clear();
        self.queued.clear();
        self.queued_bytes = 0;
        self.open = 0;
        self.happened.clear();
        self.resumes.clear();
        if !(close && self.session_id.is_some()) {
            return None;
        }
        let req = self.request(Method::DELETE, Vec::new());
        let exchange = ExchangeId(self.next_exchange);
        self.next_exchange += 1;
        Some(Transmit::Http {
            exchange,
            kind: ExchangeKind::Delete,
            request: Box::new(req),
        })
    }

    /// How many exchanges there are (open, waiting for a slot, lingering).
    pub(crate) fn exchange_count(&self) -> usize {
        self.exchanges.len()
    }

    /// The body of the request's exchange if it is still waiting for a slot (it never reached
    /// the adapter): the exchange is dropped, and the session sends the body again later.
    pub(crate) fn take_waiting(&mut self, request: RequestId) -> Option<Vec<u8>> {
        let id = *self.by_request.get(&request)?;
        self.exchanges.get(&id)?.waiting()?;
        let mut x = self.remove(id, false)?;
        x.take_waiting().map(|req| req.into_body())
    }

    /// The server forgot the session (a 404 to an exchange that carried its id): every
    /// exchange of it still open is aborted (the session has failed the requests they
    /// carried), queued ones are dropped (they carry the old id), and the session id, the
    /// negotiated version, the GET stream and where every stream left off are forgotten: a
    /// new `initialize` starts a new session. The OAuth flow's exchanges go on.
    pub(crate) fn forget_session(&mut self) {
        // Ascending (searched below).
        let old: Vec<ExchangeId> =
            crate::ids::ascending(&self.exchanges, self.next_exchange, |x| {
                (x.kind != ExchangeKind::Auth).then_some(())
            })
            .into_iter()
            .map(|(id, ())| id)
            .collect();
        // What the old session's exchanges brought and the session has not taken is moot;
        // one the adapter has not been handed yet is never handed (nor aborted).
        let mut untaken = Vec::new();
        self.happened.retain(|h| match h {
            Happened::Transmit(Transmit::Http { exchange, .. })
                if old.binary_search(exchange).is_ok() =>
            {
                untaken.push(*exchange);
                false
            }
            Happened::Message { .. } | Happened::Messages { .. } | Happened::Failed { .. } => false,
            _ => true,
        });
        // The queued first: none may start in the slot of one removed here.
        let (queued, open): (Vec<_>, Vec<_>) = old
            .into_iter()
            .partition(|id| self.exchanges.get(id).is_some_and(Exchange::is_waiting));
        untaken.sort_unstable();
        for id in queued.into_iter().chain(open) {
            self.remove(id, untaken.binary_search(&id).is_err());
        }
        self.by_request.clear();
        self.resumes.clear();
        self.session_id = None;
        self.version = None;
        self.server_stream = ServerStream::default();
    }

    // ----- what the adapter says --------------------------------------------------------------

    pub(crate) fn on_head(
        &mut self,
        exchange: ExchangeId,
        status: StatusCode,
        headers: &HeaderMap,
    ) {
        let Some(x) = self.exchanges.get_mut(&exchange) else {
            return;
        };
        if !matches!(x.body, Body::AwaitingHead) || x.is_waiting() {
            return;
        }
        if x.kind == ExchangeKind::Delete {
            x.body = Body::Discard;
            return;
        }
        if x.kind == ExchangeKind::Auth {
            x.body = Body::Auth(Box::new(AuthBody {
                status,
                headers: headers.clone(),
                body: Vec::new(),
            }));
            return;
        }
        if status.is_redirection() {
            // Resolved against the URI this exchange went to (after earlier redirects).
            let base = x.sent().map_or(&self.endpoint, |r| r.uri(&self.endpoint));
            let target = redirect_target(base, headers.get(LOCATION));
            x.body = Body::Discard;
            let failure = Failure::Redirect {
                kind: x.kind,
                status,
                target,
                hops: x.hops,
                method: x.method.to_arc(),
            };
            let request = x.request();
            self.fail(failure, request, Some(exchange));
            return;
        }
        // Only a redirect would send the request again.
        let sent = x.take_sent();
        if !status.is_success() {
            let www_authenticate = headers
                .get(WWW_AUTHENTICATE)
                .map(|v| Arc::from(excerpt(v.as_bytes(), HttpError::EXCERPT)));
            let retry_after = headers
                .get(RETRY_AFTER)
                .map(|v| excerpt(v.as_bytes(), HttpError::EXCERPT));
            x.body = Body::Judged(Box::new(Judged {
                status,
                retry_after,
            }));
            let failure = Failure::Status {
                kind: x.kind,
                status,
                carried_session: x.carried_session,
                method: x.method.to_arc(),
                www_authenticate,
                challenge: challenge_headers(headers),
                authorizer: false,
                recoveries: 0,
                fallback: x.kind == ExchangeKind::Initialize && self.sse.is_none(),
            };
            let request = x.request();
            self.fail(failure, request, Some(exchange));
            return;
        }
        let media = media_type(headers);
        if self.sse.is_some() {
            // HTTP+SSE: a POST's 2xx carries nothing (its answer comes on the event stream).
            if x.kind != ExchangeKind::EventStream {
                x.body = Body::Discard;
                return;
            }
            if media.as_deref() != Some("text/event-stream") {
                self.remove(exchange, true);
                let e = LegacySseError::NotAStream(media.map(Arc::from));
                return self.fail(Failure::LegacySse(e), None, None);
            }
            let limits = SseLimits {
                max_line: self.limits.max_line,
                max_event: self.limits.max_message,
            };
            x.body = Body::Sse(Box::new(SseDecoder::resuming(limits, None)));
            if let Some(l) = &mut self.sse {
                l.stream_uri = sent.map(|r| r.uri(&self.endpoint).clone());
            }
            return;
        }
        if x.kind == ExchangeKind::Initialize {
            if let Some(id) = headers.get(&MCP_SESSION_ID) {
                self.session_id = Some(id.clone());
            }
        }
        let limits = SseLimits {
            max_line: self.limits.max_line,
            max_event: self.limits.max_message,
        };
        // A stream carries on from where the last one for the same purpose left off.
        let seed = match x.kind {
            ExchangeKind::ServerStream => self.server_stream.resume.last_event_id.clone(),
            _ => x
                .request()
                .and_then(|r| self.resumes.get(&r))
                .and_then(|r| r.last_event_id.clone()),
        };
        let decoder = || Body::Sse(Box::new(SseDecoder::resuming(limits, seed)));
        let sse = media.as_deref() == Some("text/event-stream");
        let body = match x.kind {
            ExchangeKind::Notification | ExchangeKind::Delete => Ok(Body::Discard),
            ExchangeKind::ServerStream if sse => Ok(decoder()),
            ExchangeKind::ServerStream => Err(Failure::NotAStream { status }),
            _ if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT => {
                Err(Failure::NoResponse)
            }
            _ if sse => Ok(decoder()),
            _ => match media.as_deref() {
                Some("application/json") | None => Ok(Body::Json(Vec::new())),
                Some(other) => Err(Failure::UnexpectedContentType(other.into())),
            },
        };
        match body {
            Ok(body) => x.body = body,
            Err(failure) => {
                let request = x.request();
                if x.kind == ExchangeKind::ServerStream {
                    self.remove(exchange, true);
                    self.server_stream.active = false;
                    self.fail(failure, None, None);
                } else if request.is_some() {
                    x.body = Body::Discard;
                    self.fail(failure, request, Some(exchange));
                } else {
                    self.remove(exchange, true);
                }
            }
        }
    }

    pub(crate) fn on_body(&mut self, exchange: ExchangeId, data: &[u8]) {
        /// The most an event stream's chunk reserves up front for the messages it holds.
        const RESERVE_MESSAGES: usize = 64 << 10;
        let max = self.limits.max_message;
        let Some(x) = self.exchanges.get_mut(&exchange) else {
            return;
        };
        match &mut x.body {
            Body::AwaitingHead | Body::Discard | Body::Judged(_) => {}
            Body::Json(buf) => {
                if buf.len() + data.len() > max {
                    self.too_large(exchange);
                } else {
                    buf.extend_from_slice(data);
                }
            }
            Body::Auth(a) => {
                // One byte past the limit, for the flow to see the body is too large.
                let room = (self.max_auth_body + 1).saturating_sub(a.body.len());
                a.body.extend_from_slice(&data[..data.len().min(room)]);
            }
            Body::Failing(f) => {
                let room = f.max.saturating_sub(f.body.len());
                f.body.extend_from_slice(&data[..data.len().min(room)]);
                if f.body.len() >= f.max {
                    self.error_body_done(exchange, true);
                }
            }
            // HTTP+SSE's event stream, where an `endpoint` event comes between messages.
            Body::Sse(decoder) if x.kind == ExchangeKind::EventStream => {
                let mut events = Vec::new();
                let result = decoder.feed(data, &mut events);
                // A priming event (an id and empty data) carries no message: it is nothing new.
                x.news |= events.iter().any(|e| !e.data.trim().is_empty());
                let origin = x.request();
                for event in events {
                    if event.event == "endpoint" {
                        self.on_endpoint(&event.data);
                        continue;
                    }
                    let message = event.event.is_empty() || event.event == "message";
                    if !message || event.data.trim().is_empty() {
                        continue;
                    }
                    self.happened.push_back(Happened::Message {
                        text: super::Text::Checked(event.data),
                        origin,
                        exchange: Some(exchange),
                        whole_body: false,
                    });
                }
                if result.is_err() {
                    self.too_large(exchange);
                }
            }
            Body::Sse(decoder) => {
                // The messages this chunk completes, copied one after the other into one
                // buffer: one allocation for the chunk, not one a message, and one entry in
                // the queue.
                // The first message's range is kept apart: a chunk of one message (the usual
                // answer) needs no list of ranges.
                let mut all = String::new();
                let (mut first, mut ranges) = (None, Vec::new());
                let mut news = false;
                let result = decoder.feed_with(data, |event| {
                    // A priming event (an id and empty data) carries no message: it is nothing
                    // new.
                    let blank = event.data.trim().is_empty();
                    news |= !blank;
                    let message = event.event.is_empty() || event.event == "message";
                    if !message || blank {
                        return;
                    }
                    if all.is_empty() {
                        // Room for what the chunk can hold (its bytes less their framing), so
                        // that the buffer does not grow again and again: bounded, as a chunk
                        // is only as large as the adapter reads.
                        all.reserve(data.len().min(RESERVE_MESSAGES));
                    }
                    let start = all.len();
                    all.push_str(event.data);
                    let range = start..all.len();
                    match &first {
                        None => first = Some(range),
                        Some(one) => {
                            if ranges.is_empty() {
                                ranges.push(one.clone());
                            }
                            ranges.push(range);
                        }
                    }
                });
                x.news |= news;
                let origin = x.request();
                if ranges.is_empty() {
                    if first.is_some() {
                        self.happened.push_back(Happened::Message {
                            text: super::Text::Checked(all),
                            origin,
                            exchange: Some(exchange),
                            whole_body: false,
                        });
                    }
                } else {
                    self.happened.push_back(Happened::Messages {
                        all,
                        ranges,
                        next: 0,
                        origin,
                        exchange,
                    });
                }
                if result.is_err() {
                    self.too_large(exchange);
                }
            }
        }
    }

    /// HTTP+SSE: the `endpoint` event's data, the URI to POST to, resolved against the event
    /// stream's URI; another origin's (or no URI) fails the session. The POSTs that waited
    /// for it go. A later `endpoint` event changes nothing.
    fn on_endpoint(&mut self, data: &str) {
        if !self.lacks_endpoint() {
            return;
        }
        let base = self.sse.as_ref().and_then(|l| l.stream_uri.as_ref());
        let base = base.unwrap_or(&self.endpoint);
        let target = match HeaderValue::from_str(data.trim()) {
            Ok(v) => redirect_target(base, Some(&v)),
            Err(_) => {
                RedirectTarget::Unparsable(excerpt(data.as_bytes(), HttpError::EXCERPT).into())
            }
        };
        let error = match target {
            RedirectTarget::SameOrigin { uri, .. } => {
                if let Some(l) = &mut self.sse {
                    l.post_to = Some(uri);
                }
                return self.start_queued();
            }
            RedirectTarget::OtherOrigin(shown) => LegacySseError::OtherOrigin(shown),
            RedirectTarget::Unparsable(shown) => LegacySseError::BadEndpoint(shown),
            RedirectTarget::Missing => LegacySseError::BadEndpoint("".into()),
        };
        self.fail(Failure::LegacySse(error), None, None);
    }

    /// A body or event over the limit. The exchange stays (its later bytes are discarded) until
    /// the session has taken what came before the failure and decided: removing it here would
    /// start a queued exchange ahead of those messages, and what the session sees would depend
    /// on how the bytes were chunked.
    fn too_large(&mut self, exchange: ExchangeId) {
        let limit = self.limits.max_message;
        let Some(x) = self.exchanges.get_mut(&exchange) else {
            return;
        };
        x.body = Body::Discard;
        let failure = Failure::TooLargeOnExchange {
            kind: x.kind,
            limit,
        };
        let request = x.request();
        self.fail(failure, request, Some(exchange));
    }

    pub(crate) fn on_end(&mut self, exchange: ExchangeId) {
        let Some(x) = self.exchanges.get(&exchange) else {
            return;
        };
        if matches!(x.body, Body::Failing(_)) {
            return self.error_body_done(exchange, false);
        }
        let Some(x) = self.remove(exchange, false) else {
            return;
        };
        let (origin, auth) = (x.request(), x.auth());
        match x.body {
            Body::Discard | Body::Judged(_) | Body::Failing(_) => {}
            Body::Auth(a) => {
                if let Some(request) = auth {
                    self.happened.push_back(Happened::AuthResponse {
                        request,
                        status: a.status,
                        headers: Box::new(a.headers),
                        body: a.body,
                    });
                }
            }
            Body::AwaitingHead => {
                let error = TransportError::new(
                    TransportErrorKind::Reset,
                    "the exchange ended without a response",
                );
                self.lost(exchange, x, error);
            }
            Body::Json(buf) => self.happened.push_back(Happened::Message {
                text: super::Text::Bytes(buf),
                origin,
                exchange: None,
                whole_body: true,
            }),
            Body::Sse(_) => self.stream_ended(x, None),
        }
    }

    pub(crate) fn on_failed(&mut self, exchange: ExchangeId, error: TransportError) {
        let Some(x) = self.exchanges.get(&exchange) else {
            return;
        };
        if matches!(x.body, Body::Failing(_)) {
            return self.error_body_done(exchange, false);
        }
        let Some(x) = self.remove(exchange, false) else {
            return;
        };
        match x.body {
            Body::Sse(_) => self.stream_ended(x, Some(error)),
            Body::Discard | Body::Judged(_) if x.kind != ExchangeKind::ServerStream => {}
            _ => self.lost(exchange, x, error),
        }
    }

    /// An exchange failed before it had a usable answer.
    fn lost(&mut self, exchange: ExchangeId, x: Exchange, error: TransportError) {
        let _ = exchange;
        match x.kind {
            ExchangeKind::Auth => {
                if let Some(request) = x.auth() {
                    self.happened
                        .push_back(Happened::AuthFailed { request, error });
                }
            }
            ExchangeKind::Resume => self.stream_ended(x, Some(error)),
            ExchangeKind::ServerStream => {
                // A stream that never opened: reopened if it may be, like one that ended.
                let state = self.settle_server_stream();
                self.fail(
                    Failure::ServerStreamEnded {
                        state,
                        error: Some(error),
                    },
                    None,
                    None,
                );
            }
            kind => {
                let request = x.request();
                let failure = Failure::ExchangeFailed {
                    kind,
                    method: x.method.to_arc(),
                    error,
                };
                self.fail(failure, request, None);
            }
        }
    }

    /// A stream that carried (or was to carry) a request's answer, or the GET stream, ended:
    /// where it left off is settled from the stream's own bytes (never from how they were
    /// cut), then the policy says whether it reconnects.
    fn stream_ended(&mut self, x: Exchange, error: Option<TransportError>) {
        // HTTP+SSE: every answer comes on that stream; without it the session cannot go on.
        if x.kind == ExchangeKind::EventStream {
            let e = LegacySseError::StreamEnded(error);
            return self.fail(Failure::LegacySse(e), None, None);
        }
        let (last, retry) = match &x.body {
            Body::Sse(d) => (d.last_event_id().map(str::to_owned), d.retry_ms()),
            _ => (None, None),
        };
        // The 2026-07-28 revision has no resumption: its event ids mean nothing.
        let last = if self.modern {
            None
        } else {
            self.usable_id(last)
        };
        if x.kind == ExchangeKind::ServerStream {
            let r = &mut self.server_stream.resume;
            let new_id = last.is_some() && last != r.last_event_id;
            settle(r, x.news, new_id, last, retry);
            if x.news {
                r.reconnects = 0;
            }
            let state = r.state();
            return self.fail(Failure::ServerStreamEnded { state, error }, None, None);
        }
        let Some(request) = x.request() else {
            return;
        };
        if self.modern {
            // Nothing to resume: the session issues the request again, or gives up.
            let r = self.resumes.entry(request).or_default();
            settle(r, x.news, false, None, retry);
            let state = r.state();
            r.reconnects += 1;
            let failure = Failure::StreamBroken {
                state,
                error,
                listen: false,
            };
            return self.fail(failure, Some(request), None);
        }
        let opened = matches!(x.body, Body::Sse(_));
        let r = self.resumes.entry(request).or_default();
        if opened {
            let new_id = last.is_some() && last != r.last_event_id;
            settle(r, x.news, new_id, last, retry);
        } else {
            // A resumption that never opened brought nothing, and moved nothing.
            r.fruitless += 1;
            r.empty = r.empty.saturating_add(1);
        }
        let state = r.state();
        self.fail(Failure::StreamEnded { state, error }, Some(request), None);
    }

    /// A request's stream brought what it was for (a listen stream's acknowledgement): the
    /// breaks before it no longer count against it.
    pub(crate) fn stream_progressed(&mut self, request: RequestId) {
        if let Some(r) = self.resumes.get_mut(&request) {
            r.reconnects = 0;
            r.empty = 0;
        }
    }

    /// The GET stream's state after an attempt that never opened.
    fn settle_server_stream(&mut self) -> StreamState {
        let r = &mut self.server_stream.resume;
        r.fruitless += 1;
        r.empty = r.empty.saturating_add(1);
        r.state()
    }

    /// An event id that can be sent back as `Last-Event-ID`; one that cannot (a control
    /// character) makes the stream not resumable, with a warning.
    fn usable_id(&mut self, id: Option<String>) -> Option<String> {
        let id = id?;
        if HeaderValue::from_str(&id).is_ok() {
            return Some(id);
        }
        let id = excerpt(id.as_bytes(), 200);
        self.fail(Failure::UnusableEventId { id }, None, None);
        None
    }

    fn fail(&mut self, failure: Failure, request: Option<RequestId>, exchange: Option<ExchangeId>) {
        self.happened.push_back(Happened::Failed {
            failure,
            request,
            exchange,
        });
    }

    // ----- what the session decided ----------------------------------------------------------

    /// The session's answer to a [`Failure::Status`]: read the failure's body for its excerpt.
    pub(crate) fn read_error_body(&mut self, exchange: ExchangeId, scope: Scope, max: usize) {
        let Some(x) = self.exchanges.get_mut(&exchange) else {
            return;
        };
        let Body::Judged(j) = &x.body else {
            return;
        };
        x.body = Body::Failing(Box::new(FailureBody {
            scope,
            carried_session: x.carried_session,
            status: j.status,
            retry_after: j.retry_after.clone(),
            max,
            body: Vec::new(),
        }));
    }

    /// The failure's body is complete (or cut off, or its wait is over: `abort`).
    pub(crate) fn error_body_done(&mut self, exchange: ExchangeId, abort: bool) {
        let Some(x) = self.remove(exchange, abort) else {
            return;
        };
        let request = x.request();
        let Body::Failing(f) = x.body else {
            return;
        };
        let rpc = match jsonrpc::decode(&f.body) {
            Ok(Decoded::Single(Message::Error { error, .. })) => Some(error),
            _ => None,
        };
        let error = Arc::new(HttpError {
            status: f.status,
            body: excerpt(&f.body, HttpError::EXCERPT),
            rpc,
            retry_after: f.retry_after,
        });
        let failure = Failure::ErrorBody {
            scope: f.scope,
            error,
            carried_session: f.carried_session,
            recoveries: 0,
        };
        self.fail(failure, request, None);
    }

    /// The session's answer to a failure of this exchange that ends it: drop it now.
    pub(crate) fn abort(&mut self, exchange: ExchangeId) {
        self.purge(exchange);
        if let Some(x) = self.remove(exchange, true) {
            if x.kind == ExchangeKind::ServerStream {
                self.server_stream.active = false;
            }
            // HTTP+SSE: a stream given up without the session ending (it met an OAuth
            // challenge) is opened again once the flow has its token.
            if let (ExchangeKind::EventStream, Some(l)) = (x.kind, &mut self.sse) {
                l.opened = false;
            }
        }
    }

    /// The session's answer to a redirect it follows: the exchange is dropped and its request
    /// goes again, the same method, headers and body, to `to` (the same origin), counting
    /// the hop. The POST of a request's message goes with `message`, the body and the
    /// revision's headers the session encoded again for it ([`Http::message_of`]).
    pub(crate) fn redirect(
        &mut self,
        exchange: ExchangeId,
        to: Uri,
        message: Option<(Vec<u8>, HeaderMap)>,
    ) {
        self.purge(exchange);
        let Some(mut x) = self.remove(exchange, true) else {
            return;
        };
        let request = x.request();
        let sent = match message {
            Some((body, extra)) if carries_message(x.kind, request) => Some(Resend {
                method: Method::POST,
                uri: None,
                body,
                extra: (!extra.is_empty()).then(|| Box::new(extra)),
            }),
            _ => x.take_sent().filter(|_| !carries_message(x.kind, request)),
        };
        let Some(sent) = sent else {
            // Unreachable: every exchange that may be redirected keeps its request, or the
            // session gave its message again.
            let error = TransportError::new(TransportErrorKind::Reset, "the redirect was lost");
            return self.fail(
                Failure::ExchangeFailed {
                    kind: x.kind,
                    method: x.method.to_arc(),
                    error,
                },
                request,
                None,
            );
        };
        // (A proof names its request's URI: the redirected one gets its own.)
        let req = self.resent(sent, to);
        let id = self.start(x.kind, request, x.method, req);
        if let Some(n) = self.exchanges.get_mut(&id) {
            n.hops = x.hops.saturating_add(1);
        }
    }

    /// The server offers no GET stream: not asked again.
    pub(crate) fn no_server_stream(&mut self, exchange: Option<ExchangeId>) {
        if let Some(x) = exchange {
            self.remove(x, true);
        }
        self.server_stream.unsupported = true;
        self.server_stream.active = false;
    }

    /// The GET stream is not reopened (given up, or not resumable).
    pub(crate) fn server_stream_gone(&mut self) {
        self.server_stream.active = false;
    }
}

/// Where a stream left off, and whether it brought anything new: a message (which also ends
/// the run of empty streams) or a new event id.
fn settle(r: &mut Resume, news: bool, new_id: bool, last: Option<String>, retry: Option<u64>) {
    if news || new_id {
        r.fruitless = 0;
    } else {
        r.fruitless += 1;
    }
    if news {
        r.empty = 0;
    } else {
        r.empty = r.empty.saturating_add(1);
    }
    r.last_event_id = last;
    if let Some(ms) = retry {
        r.retry = Some(Duration::from_millis(ms));
    }
}

/// Where a redirect's `Location` points, against `base`, the URI the redirected request went
/// to: an absolute URI, a network-path (`//host/...`), an absolute path, a query or a relative
/// path. A `Location` of the same origin with user information is not followed.
/// What the OAuth flow reads of a refusal: every `WWW-Authenticate` header and a DPoP nonce.
fn challenge_headers(headers: &HeaderMap) -> Option<Box<HeaderMap>> {
    let mut kept = HeaderMap::new();
    for v in headers.get_all(WWW_AUTHENTICATE) {
        kept.append(WWW_AUTHENTICATE, v.clone());
    }
    if let Some(n) = headers.get(crate::auth::DPOP_NONCE) {
        kept.insert(crate::auth::DPOP_NONCE, n.clone());
    }
    (!kept.is_empty()).then(|| Box::new(kept))
}

fn redirect_target(base: &Uri, location: Option<&HeaderValue>) -> RedirectTarget {
    let Some(location) = location else {
        return RedirectTarget::Missing;
    };
    let shown: Arc<str> = sanitize_location(location.as_bytes()).into();
    let Ok(raw) = location.to_str() else {
        return RedirectTarget::Unparsable(shown);
    };
    let raw = raw.trim();
    let raw = raw.split('#').next().unwrap_or("");
    let (Some(scheme), Some(authority)) = (base.scheme_str(), base.authority()) else {
        return RedirectTarget::Unparsable(shown);
    };
    let has_scheme = raw.split_once(':').is_some_and(|(s, _)| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let absolute = if has_scheme {
        raw.to_owned()
    } else if raw.starts_with("//") {
        format!("{scheme}:{raw}")
    } else if raw.starts_with('/') {
        format!("{scheme}://{authority}{raw}")
    } else if raw.starts_with('?') {
        format!("{scheme}://{authority}{}{raw}", base.path())
    } else if raw.is_empty() {
        return RedirectTarget::Unparsable(shown);
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{raw}")
    };
    let Ok(uri) = Uri::try_from(absolute) else {
        return RedirectTarget::Unparsable(shown);
    };
    let Some(to) = uri.authority() else {
        return RedirectTarget::Unparsable(shown);
    };
    let port = |u: &Uri| {
        u.port_u16().or(match u.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
            Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
            _ => None,
        })
    };
    let same = uri
        .scheme_str()
        .zip(base.scheme_str())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && to.host().eq_ignore_ascii_case(authority.host())
        && port(&uri) == port(base);
    if same && to.as_str().contains('@') {
        // User information in a redirect is a credential the request never had.
        RedirectTarget::Unparsable(shown)
    } else if same {
        RedirectTarget::SameOrigin { uri, shown }
    } else {
        RedirectTarget::OtherOrigin(shown)
    }
}

/// A `Location` as an error may show it: without user information, query or fragment (any
/// may carry a credential; a query cut off is shown as `?…`), escaped, capped.
fn sanitize_location(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let (text, cut) = match text.find(['?', '#']) {
        Some(i) => (&text[..i], text[i..].starts_with('?')),
        None => (text, false),
    };
    let mut out = match text.find("//") {
        Some(i) => {
            let (head, rest) = text.split_at(i + 2);
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let host = authority.rsplit('@').next().unwrap_or("");
            format!("{head}{host}{path}")
        }
        None => text.to_owned(),
    };
    if cut {
        out.push_str("?…");
    }
    excerpt(out.as_bytes(), HttpError::EXCERPT)
}

fn request_size(req: &::http::Request<Vec<u8>>) -> usize {
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 32)
        .sum();
    req.body().capacity() + headers + 128
}

fn happened_size(h: &Happened) -> usize {
    match h {
        Happened::Message { text, .. } => text.capacity() + 64,
        Happened::Messages { all, ranges, .. } => {
            all.capacity() + ranges.capacity() * std::mem::size_of::<Range<usize>>() + 64
        }
        Happened::Transmit(Transmit::Http { request, .. }) => request_size(request),
        Happened::Transmit(Transmit::Stdin(b)) => b.capacity(),
        _ => 128,
    }
}

#[cfg(test)]
mod same_uri_tests {
    use super::same_uri;

    /// The shortcut for clones says what `Uri`'s comparison says, for clones and for URIs
    /// parsed apart (the same text, another case, another part).
    #[test]
    fn same_uri_agrees_with_uris_comparison() {
        let texts = [
            "http://example.com:8080/mcp",
            "http://EXAMPLE.com:8080/mcp",
            "HTTP://example.com:8080/mcp",
            "https://example.com:8080/mcp",
            "http://example.com:8081/mcp",
            "http://example.com/mcp",
            "http://example.com:8080/MCP",
            "http://example.com:8080/mcp?x=1",
            "http://example.com:8080/mcp/",
            "http://example.org:8080/mcp",
            "/mcp",
        ];
        let uris: Vec<::http::Uri> = texts.iter().map(|t| t.parse().unwrap()).collect();
        for a in &uris {
            assert!(same_uri(&a.clone(), a), "{a}");
            for (t, b) in texts.iter().zip(&uris) {
                assert_eq!(same_uri(a, b), a == b, "{a} against {b}");
                let again: ::http::Uri = t.parse().unwrap();
                assert_eq!(same_uri(a, &again), a == &again, "{a} against {again}");
            }
        }
    }
}
