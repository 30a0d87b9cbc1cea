//! A scriptable, fault-injecting MCP server over Streamable HTTP (revision 2025-11-25).
//!
//! [`TestServer`] listens on `127.0.0.1:0` and behaves like a small, correct MCP server until
//! a [`Rule`] tells it to misbehave: each HTTP request is checked against the scripted rules in
//! the order they were added, and the first rule whose [`Match`] fits (and whose `times` is not
//! used up) replaces the normal answer with its [`Fault`]. Rules see every request, before the
//! session checks.
//!
//! Normal behaviour, in short:
//! - `initialize` answers with the client's protocol version if it is one of
//!   2025-11-25, 2025-06-18 or 2025-03-26 (else 2025-11-25) and an `Mcp-Session-Id` header;
//!   every later request (POST, GET, DELETE) must carry that header (400 if missing, 404 if
//!   unknown) and, if it sends `MCP-Protocol-Version`, a supported one (else 400).
//! - Notifications and responses are answered 202; requests as `application/json`, except the
//!   tools that stream (`slow`, `sample`, `elicit`, `roots`), which answer `text/event-stream`.
//! - Tools: `echo`, `add`, `slow`, `fail`, `sample`, `elicit`, `roots` (listed over two pages);
//!   a text resource `demo://hello`, a template, a prompt `greet`, completion, logging.
//! - GET opens an idle server stream ([`TestServer::notify`] writes to it), or answers 405
//!   with [`Builder::no_get_stream`]; GET with `Last-Event-ID` replays a stream cut short by
//!   [`Fault::SseEndWithoutResponse`]; DELETE ends the session (and its GET streams).
//! - Hostile faults (floods, storms, short and endless streams, malformed JSON) test that a
//!   client stays bounded: [`Fault::NotificationFlood`], [`Fault::ShortStreams`],
//!   [`Fault::PingStorm`], [`Fault::BadNotificationThenAnswer`], [`Fault::LoneSurrogateResult`],
//!   [`Fault::EndlessPages`]; [`Stats`] has high-water marks of connections and streams, and
//!   [`TestServer::requests`] records what came with each request (its session id among it).
//! - [`TestServer::forget_sessions`] forgets every session, as a restart would (later requests
//!   naming one get 404); [`TestServer::tool_calls`] says how many times each call arrived.
//! - Streams of normal answers carry no event ids (they are not resumable); `slow` stops, and
//!   sends no response, once `notifications/cancelled` names its request.
//! - [`Builder::oauth`] makes `/mcp` an OAuth 2.1 protected resource (401 without a valid
//!   bearer token, 403 `insufficient_scope` for step-up) and serves its authorization servers
//!   on the same listener or on listeners of their own (other origins): metadata,
//!   registration, authorization (a 302 the test follows by hand) and token endpoints; see
//!   [`OAuthConfig`].
//!
//! ```no_run
//! use mcpwire_testserver::{Fault, Match, Rule, TestServer};
//! # async fn demo() {
//! let server = TestServer::start().await;
//! server.script(Rule::once(Match::Tool("echo".into()), Fault::Accepted));
//! println!("MCP endpoint: {}", server.url());
//! # }
//! ```

#![warn(missing_docs)]

mod handler;
mod mcp;
mod oauth;
mod sse;

pub use oauth::{
    AsOrigin, ClientAuth, OAuthConfig, PreRegistered, Redirect, RefreshTokens, MAX_OAUTH_RECORDS,
};

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::service::service_fn;
use hyper::Method;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify};

/// A running test server. Dropping it (or calling [`TestServer::shutdown`]) stops accepting,
/// drops every open connection and, for [`TestServer::start_in_thread`], joins its thread.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The listener of each authorization server (the MCP one for those on the same origin).
    as_addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Options for a [`TestServer`], from [`TestServer::builder`].
#[derive(Debug, Default)]
pub struct Builder {
    no_get_stream: bool,
    rules: Vec<Rule>,
    oauth: Option<OAuthConfig>,
}

/// A scripted fault: when a request fits `when`, answer it with `fault` instead of normally.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which HTTP requests this rule applies to.
    pub when: Match,
    /// What to do instead of the normal answer.
    pub fault: Fault,
    /// How many matching requests it applies to; `None` means every one, forever.
    pub times: Option<usize>,
}

/// Which request a [`Rule`] applies to. POST bodies are parsed before matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// A POST whose JSON-RPC `method` is this (request or notification), e.g. `"tools/call"`.
    Method(String),
    /// A POST of `tools/call` for the tool with this name.
    Tool(String),
    /// Any POST, whatever its body.
    AnyPost,
    /// Any GET (a server stream or a resumption with `Last-Event-ID`).
    Get,
    /// The nth POST received by the server (0-based, counting every POST).
    Nth(usize),
}

/// What the server does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with this body and extra headers. The content type is
    /// `application/json` if the body parses as JSON, else `text/plain`, unless `headers`
    /// sets one.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The response body.
        body: String,
        /// Extra response headers, e.g. `("Retry-After", "1")`.
        headers: Vec<(String, String)>,
    },
    /// Answer this redirect status (301, 302, 303, 307, 308, ...) with this `Location` (none
    /// if `None`) and an empty body. [`MOVED_PATH`] serves the MCP endpoint too, so a redirect
    /// there (or to `/mcp` itself) can be followed; another [`TestServer`]'s
    /// [`url`](TestServer::url) is another origin.
    Redirect {
        /// The status code.
        status: u16,
        /// The `Location` header, verbatim.
        location: Option<String>,
    },
    /// Answer 202 Accepted with an empty body, even to a request.
    Accepted,
    /// Answer 200 `text/event-stream`, send one `notifications/message` event, then keep the
    /// stream open, without the response, until [`TestServer::release_held`] (then the normal
    /// response follows on the stream and it ends) or until the client goes away.
    HoldSse,
    /// Answer 200 `text/event-stream` and end the stream before the response. With an
    /// `event_id` the only event is a priming event (`id`, optional `retry`, empty `data`) and
    /// the request is kept: a later GET with `Last-Event-ID: <event_id>` answers it. Without
    /// one, the only event is a `notifications/message` (with `retry` if given).
    ///
    /// The `event_id` is written verbatim on the `id:` line, so a hostile id can be sent: one
    /// with a control character (e.g. `"bad\u{1}id"`, which no `Last-Event-ID` header can carry
    /// back) or even a line break, which corrupts the stream.
    SseEndWithoutResponse {
        /// The `id:` of the priming event, making the stream resumable.
        event_id: Option<String>,
        /// The `retry:` field (milliseconds) to send.
        retry_ms: Option<u64>,
    },
    /// Answer 200 `application/json` with a body that is not valid JSON.
    InvalidJson,
    /// Drop the TCP connection (every stream on it) without answering.
    CloseConnection,
    /// Never answer; the connection stays open until the client or the server closes it.
    Stall,
    /// Answer normally after this delay.
    Delay(Duration),
    /// Answer 200 `text/plain` with a body that is not JSON-RPC.
    WrongContentType,
    /// Answer 200 `text/event-stream` and send `count` `notifications/message` events, each
    /// one's `data:` value exactly `size` bytes of JSON (its `params.data` string is padded
    /// with `x`; a `size` below the smallest such notification, about 125 bytes, gives that).
    /// Then, if `then_answer`, the normal response to the request follows on the same stream
    /// and it ends (a notification or a GET has none: the stream just ends); else the stream
    /// is held open, without the response, until the client goes away.
    ///
    /// The events are made as they are sent, never the whole body at once, and the server
    /// waits while about 64 KiB are queued unread, so a slow reader paces it and
    /// `count: 10_000, size: 1 << 20` costs the server little memory.
    NotificationFlood {
        /// How many notifications to send.
        count: usize,
        /// The length in bytes of each event's data (its JSON text).
        size: usize,
        /// Whether the normal response follows the flood.
        then_answer: bool,
    },
    /// Answer 200 `text/event-stream` with one priming event, `id: <fresh id>`,
    /// `retry: <retry_ms>` and an empty `data:`, then end the stream at once: a hostile server
    /// that makes a naive client reconnect as fast as it can. Every such stream has a new id
    /// (`short-N` on a GET; `short-K-N` on a POST and its resumptions, `K` naming the request).
    ///
    /// Meant for [`Match::Get`]. On a POST of a request the request stays resumable forever: a
    /// later GET (of the same session) with `Last-Event-ID` set to any id of that chain gets
    /// another short stream with a fresh id, never the response: the never-ending resumption.
    /// (Such resumptions happen whatever the rules; the ids of GET-only short streams are not
    /// remembered, and resuming one is answered 400 like any unknown `Last-Event-ID`.)
    ShortStreams {
        /// The `retry:` field (milliseconds) of each priming event.
        retry_ms: u64,
    },
    /// Answer 200 `text/event-stream`, send `count` `ping` requests from the server (ids
    /// `"storm-N"`, unique across the server's life), then the normal response, then end. The
    /// server does not wait for the client's answers; those it gets (POSTs whose `id` starts
    /// with `storm-`) are counted in [`Stats::pings_answered`]. Paced like
    /// [`Fault::NotificationFlood`].
    PingStorm {
        /// How many pings to send before the response.
        count: usize,
    },
    /// Answer 200 `text/event-stream` with one event whose data is a hostile message (see
    /// [`BadJson`]), then the normal response as a second event, then end.
    BadNotificationThenAnswer {
        /// What the first event's data is.
        kind: BadJson,
    },
    /// Answer a request normally but as `application/json`, with a lone low surrogate in the
    /// response: the JSON text holds the escape `\udc80` literally (six bytes, written by hand,
    /// as Python's `json.dumps` writes an undecodable file name), which parsers that insist on
    /// valid Unicode (serde_json among them) reject. A `tools/call` of a tool that answers text (e.g. `echo` of `"hi"`) gets
    /// the escape appended to its first text item (`"hi\udc80"`); any other request (another
    /// method, an unknown or streaming tool) is answered with the tool result
    /// `{"content":[{"type":"text","text":"\udc80"}],"isError":false}` instead. A
    /// notification or response is answered normally.
    LoneSurrogateResult,
    /// For a list request (`tools/list`, `resources/list`, `resources/templates/list`,
    /// `prompts/list`), wait `delay` and answer `application/json` a page of one item, named
    /// `endless-N`, with a `nextCursor` that is new every time (`"page-N"`, counted across
    /// the server's life), whatever the cursor asked for: pagination that never ends. Any
    /// other request is answered normally, after the delay.
    EndlessPages {
        /// How long to wait before each page.
        delay: Duration,
    },
}

/// The hostile first event of [`Fault::BadNotificationThenAnswer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadJson {
    /// A `notifications/message` whose `params.data` nests arrays 10,000 deep
    /// (`[[[…]]]`, about 20 KB): valid JSON that a recursive parser may choke on.
    DeepNesting,
    /// A `notifications/message` whose `params.data` is the number `1e400`, beyond `f64`.
    HugeNumber,
    /// A `notifications/message` whose `params.data` string holds the escape `\ud800` followed
    /// by a space, not by a low surrogate.
    LoneSurrogate,
    /// The text `this is not json`.
    NotJson,
}

/// What came in with one HTTP request, from [`TestServer::requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The HTTP method, e.g. `"POST"`.
    pub method: String,
    /// The request path, e.g. `"/mcp"` (every path is recorded, not only the endpoint).
    pub path: String,
    /// The listener it came in on: [`TestServer::addr`], or that of an authorization server
    /// on an origin of its own ([`TestServer::as_addr`]).
    pub listener: SocketAddr,
    /// The `Host` header, or the HTTP/2 `:authority` if there is no `Host` header.
    pub host: Option<String>,
    /// The `Authorization` header (bytes that are not UTF-8 are replaced with U+FFFD).
    pub authorization: Option<String>,
    /// The `Last-Event-ID` header (likewise).
    pub last_event_id: Option<String>,
    /// The `Mcp-Session-Id` header (likewise): which session the request was sent in.
    pub session_id: Option<String>,
    /// The body, if it parsed as JSON.
    pub body: Option<Value>,
    /// The query string of the URL (without `?`), if any: e.g. an authorization request's.
    pub query: Option<String>,
    /// The body, if its `Content-Type` is `application/x-www-form-urlencoded` (e.g. a token
    /// request's); bytes that are not UTF-8 are replaced with U+FFFD.
    pub form: Option<String>,
}

impl RequestRecord {
    /// The decoded parameters of [`RequestRecord::query`], in order (none if it has none).
    pub fn query_params(&self) -> Vec<(String, String)> {
        oauth::decode_form(self.query.as_deref().unwrap_or_default())
    }

    /// The decoded parameters of [`RequestRecord::form`], in order (none if it has none).
    pub fn form_params(&self) -> Vec<(String, String)> {
        oauth::decode_form(self.form.as_deref().unwrap_or_default())
    }

    /// The first value of the query or form parameter `name`, if any.
    pub fn param(&self, name: &str) -> Option<String> {
        let mut params = self.query_params();
        params.extend(self.form_params());
        params.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A second path of the MCP endpoint, the same as `/mcp` (the same session, rules and
/// records): where a [`Fault::Redirect`] to the same origin may point.
pub const MOVED_PATH: &str = "/moved/mcp";

/// How many [`RequestRecord`]s the server keeps: the last ones only.
pub const MAX_REQUEST_RECORDS: usize = 10_000;

/// Counters of what the server has seen, from [`TestServer::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// POST requests received (including faulted ones).
    pub posts: usize,
    /// GET requests received.
    pub gets: usize,
    /// DELETE requests received.
    pub deletes: usize,
    /// `notifications/cancelled` messages received.
    pub cancellations: usize,
    /// `text/event-stream` response bodies currently open (POST or GET).
    pub open_streams: usize,
    /// TCP connections accepted.
    pub connections: usize,
    /// The most TCP connections that were open at once.
    pub max_concurrent_connections: usize,
    /// TCP connections open now (accepted and not yet closed by either side).
    pub open_connections: usize,
    /// The most `text/event-stream` response bodies that were open at once (the high-water
    /// mark of `open_streams`).
    pub max_open_streams: usize,
    /// Responses from the client (POSTed) whose `id` is a string starting with `storm-`:
    /// answers to the pings of [`Fault::PingStorm`].
    pub pings_answered: usize,
    /// OAuth: POSTs to a registration endpoint (whatever their outcome).
    pub registrations: usize,
    /// OAuth: GETs of an authorization endpoint (whatever their outcome).
    pub authorizations: usize,
    /// OAuth: POSTs to a token endpoint, by grant type (whatever their outcome).
    pub token_requests: TokenRequests,
    /// OAuth: refresh token grants that issued a new access token.
    pub refreshes: usize,
    /// OAuth: requests to `/mcp` answered 401 for want of a valid token.
    pub unauthorized: usize,
    /// OAuth: requests to `/mcp` answered 403 `insufficient_scope`.
    pub forbidden: usize,
    /// OAuth with DPoP: requests to `/mcp` answered 401 `use_dpop_nonce` (see
    /// [`TestServer::require_dpop_nonce`]).
    pub dpop_nonce_challenges: usize,
}

/// Token endpoint requests by `grant_type`, in [`Stats::token_requests`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenRequests {
    /// `authorization_code`.
    pub authorization_code: usize,
    /// `refresh_token`.
    pub refresh_token: usize,
    /// Any other grant type, none, or a form that could not be read.
    pub other: usize,
}

impl TokenRequests {
    /// All of them.
    pub fn total(&self) -> usize {
        self.authorization_code + self.refresh_token + self.other
    }
}

impl Rule {
    /// A rule that applies to the first matching request only.
    pub fn once(when: Match, fault: Fault) -> Rule {
        Rule {
            when,
            fault,
            times: Some(1),
        }
    }

    /// A rule that applies to every matching request.
    pub fn always(when: Match, fault: Fault) -> Rule {
        Rule {
            when,
            fault,
            times: None,
        }
    }

    /// A rule that applies to the first `n` matching requests.
    pub fn times(when: Match, fault: Fault, n: usize) -> Rule {
        Rule {
            when,
            fault,
            times: Some(n),
        }
    }
}

impl Builder {
    /// Answer 405 to GET requests that open a server stream (resumption GETs still work).
    pub fn no_get_stream(mut self) -> Builder {
        self.no_get_stream = true;
        self
    }

    /// Make `/mcp` a protected resource and serve authorization servers for it (see
    /// [`OAuthConfig`]).
    pub fn oauth(mut self, config: OAuthConfig) -> Builder {
        self.oauth = Some(config);
        self
    }

    /// Script a rule before the server starts.
    pub fn rule(mut self, rule: Rule) -> Builder {
        self.rules.push(rule);
        self
    }

    /// Start the server on `127.0.0.1:0` in the current tokio runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound, or outside a tokio runtime.
    pub async fn start(self) -> TestServer {
        let (server, serve) = self.prepare();
        tokio::spawn(serve);
        server
    }

    /// Start the server on `127.0.0.1:0` on a thread of its own with its own tokio runtime,
    /// so that it can be used from any runtime or none.
    ///
    /// # Panics
    /// If no loopback port can be bound or the runtime or thread cannot be created.
    pub fn start_in_thread(self) -> TestServer {
        let (mut server, serve) = self.prepare();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build the test server's tokio runtime");
        let thread = std::thread::Builder::new()
            .name("mcpwire-testserver".into())
            .spawn(move || runtime.block_on(serve))
            .expect("spawn the test server thread");
        server.thread = Some(thread);
        server
    }

    /// Bind the ports; the server, and the accept loops to run in some runtime.
    fn prepare(self) -> (TestServer, impl Future<Output = ()> + Send + 'static) {
        let listener = bind();
        let addr = listener.local_addr().expect("listener address");
        let mut listeners = vec![listener];
        let mut as_addrs = Vec::new();
        for origin in self.oauth.iter().flat_map(|config| &config.servers) {
            as_addrs.push(match origin {
                AsOrigin::Same => addr,
                AsOrigin::Own => {
                    let own = bind();
                    let own_addr = own.local_addr().expect("listener address");
                    listeners.push(own);
                    own_addr
                }
            });
        }
        let state = State {
            rules: self.rules,
            oauth: self
                .oauth
                .map(|config| oauth::OAuth::new(config, addr, &as_addrs)),
            ..State::default()
        };
        let release = watch::channel(0).0;
        let get_stream = !self.no_get_stream;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            release,
            get_stream,
            addr,
        });
        let (shutdown, stop) = watch::channel(false);
        let loops: Vec<_> = listeners
            .into_iter()
            .map(|listener| accept_loop(listener, shared.clone(), stop.clone()))
            .collect();
        let serve = async move {
            let loops: Vec<_> = loops.into_iter().map(tokio::spawn).collect();
            for accept in loops {
                let _ = accept.await;
            }
        };
        (
            TestServer {
                addr,
                shared,
                as_addrs,
                shutdown,
                thread: None,
            },
            serve,
        )
    }
}

/// A non-blocking listener on `127.0.0.1:0`.
fn bind() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    listener
}

impl TestServer {
    /// Options: `TestServer::builder().no_get_stream().start().await`.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Start a default server in the current tokio runtime (see [`Builder::start`]).
    pub async fn start() -> TestServer {
        Builder::default().start().await
    }

    /// Start a default server on its own thread and runtime (see [`Builder::start_in_thread`]).
    pub fn start_in_thread() -> TestServer {
        Builder::default().start_in_thread()
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Add a fault rule; it applies to requests that arrive from now on, after earlier rules.
    pub fn script(&self, rule: Rule) {
        self.shared.lock().rules.push(rule);
    }

    /// Remove every scripted rule that has not been used up.
    pub fn clear_rules(&self) {
        self.shared.lock().rules.clear();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Every POST body that parsed as JSON, in the order received (faulted ones included).
    pub fn received(&self) -> Vec<Value> {
        self.shared.lock().received.clone()
    }

    /// What came in with each HTTP request (any method and path, faulted ones included), in
    /// the order received; only the last [`MAX_REQUEST_RECORDS`] are kept.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// The `arguments` of every `tools/call` of the tool `name` received, in order (faulted
    /// ones and those of forgotten sessions included): how many times each call arrived.
    pub fn tool_calls(&self, name: &str) -> Vec<Value> {
        let state = self.shared.lock();
        let calls = state.received.iter().filter(|m| {
            mcp::method(m) == Some("tools/call") && mcp::tool_name(Some(m)) == Some(name)
        });
        calls
            .map(|m| {
                m.pointer("/params/arguments")
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect()
    }

    /// Forget every session, as a server that restarted would: each later request that names
    /// one is answered 404 ("Session not found"), and its GET streams end. Streams held by
    /// [`Fault::HoldSse`] stay held (until [`TestServer::release_held`] or the client goes
    /// away). Returns how many sessions were forgotten.
    pub fn forget_sessions(&self) -> usize {
        let mut state = self.shared.lock();
        let n = state.sessions.len();
        state.sessions.clear(); // dropping their GET streams ends them
        n
    }

    /// Let every stream currently held by [`Fault::HoldSse`] send its response and end.
    /// Streams held after this call stay held until the next call.
    pub fn release_held(&self) {
        self.shared
            .release
            .send_modify(|generation| *generation += 1);
    }

    /// Send a JSON-RPC notification on an open GET stream of any session; `false` if no GET
    /// stream is open.
    pub fn notify(&self, method: &str, params: Value) -> bool {
        let message = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
        let mut state = self.shared.lock();
        for session in state.sessions.values_mut() {
            session.get_streams.retain(|stream| !stream.is_closed());
            if let Some(stream) = session.get_streams.first() {
                return stream.send(None, &message);
            }
        }
        false
    }

    /// `http://127.0.0.1:PORT`: the origin of the MCP endpoint. A plain server (without
    /// [`Builder::oauth`]) serves as an "other origin" that records every request on any
    /// path ([`TestServer::requests`]) and answers 404 but on `/mcp`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// OAuth: the URL of the protected resource metadata,
    /// `http://127.0.0.1:PORT/.well-known/oauth-protected-resource/mcp`.
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn resource_metadata_url(&self) -> String {
        self.with_oauth(|oauth| oauth.prm_url().to_owned())
    }

    /// OAuth: the issuer of authorization server `n` (0 is the first), e.g.
    /// `http://127.0.0.1:PORT/as`.
    ///
    /// # Panics
    /// Without [`Builder::oauth`] or authorization server `n`.
    pub fn issuer(&self, n: usize) -> String {
        self.with_oauth(|oauth| oauth.servers[n].issuer.clone())
    }

    /// OAuth: the URL of the metadata of authorization server `n`, e.g.
    /// `http://127.0.0.1:PORT/.well-known/oauth-authorization-server/as`.
    ///
    /// # Panics
    /// Without [`Builder::oauth`] or authorization server `n`.
    pub fn metadata_url(&self, n: usize) -> String {
        let path = self.with_oauth(|oauth| oauth.servers[n].path.clone());
        let addr = self.as_addr(n);
        format!("http://{addr}/.well-known/oauth-authorization-server{path}")
    }

    /// OAuth: the listener of authorization server `n`: [`TestServer::addr`] for one on the
    /// same origin.
    ///
    /// # Panics
    /// Without [`Builder::oauth`] or authorization server `n`.
    pub fn as_addr(&self, n: usize) -> SocketAddr {
        self.as_addrs[n]
    }

    /// OAuth: every access token issued so far expires now (later ones are good as usual).
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn expire_access_tokens(&self) {
        self.with_oauth(oauth::OAuth::expire_access_tokens);
    }

    /// OAuth with [`OAuthConfig::dpop`]: from now on `/mcp` wants DPoP proofs with this nonce
    /// (`None`: none); a proof without it is answered 401 `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"` with `DPoP-Nonce: <nonce>` (RFC 9449 §9), and counted in
    /// [`Stats::dpop_nonce_challenges`].
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn require_dpop_nonce(&self, nonce: Option<&str>) {
        self.with_oauth(|o| o.set_rs_nonce(nonce));
    }

    /// OAuth: every refresh token issued so far is revoked (a grant with one is
    /// `invalid_grant`).
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn revoke_refresh_tokens(&self) {
        self.with_oauth(oauth::OAuth::revoke_refresh_tokens);
    }

    /// OAuth: a `tools/call` of `tool` needs `scope` from now on (`None`: no more than
    /// other requests); see [`OAuthConfig::tool_scope`].
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn set_tool_scope(&self, tool: &str, scope: Option<&str>) {
        self.with_oauth(|oauth| oauth.set_tool_scope(tool, scope));
    }

    /// OAuth: the scopes every request needs from now on; see
    /// [`OAuthConfig::required_scopes`].
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn set_required_scopes(&self, scopes: &[&str]) {
        self.with_oauth(|oauth| oauth.set_required_scopes(scopes));
    }

    /// OAuth: the authorization servers (by number) the protected resource metadata lists
    /// from now on, e.g. `&[1]` to migrate from the first to the second; tokens of the
    /// others are refused (401 `invalid_token`) from now on.
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn set_authorization_servers(&self, servers: &[usize]) {
        self.with_oauth(|oauth| oauth.set_listed(servers));
    }

    /// OAuth: what valid authorization requests are answered with from now on.
    ///
    /// # Panics
    /// Without [`Builder::oauth`].
    pub fn set_redirect(&self, redirect: Redirect) {
        self.with_oauth(|oauth| oauth.set_redirect(redirect));
    }

    fn with_oauth<T>(&self, f: impl FnOnce(&mut oauth::OAuth) -> T) -> T {
        let mut state = self.shared.lock();
        f(state
            .oauth
            .as_mut()
            .expect("the server was built without Builder::oauth"))
    }

    /// Stop the server (the same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// State shared by the handle, the accept loop and every connection.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Bumped by `release_held`; held streams wait for it to change.
    release: watch::Sender<u64>,
    get_stream: bool,
    /// The MCP listener.
    addr: SocketAddr,
}

#[derive(Default)]
pub(crate) struct State {
    rules: Vec<Rule>,
    stats: Stats,
    received: Vec<Value>,
    /// The last `MAX_REQUEST_RECORDS` requests.
    requests: VecDeque<RequestRecord>,
    sessions: HashMap<String, Session>,
    next_session: u64,
    next_server_request: i64,
    /// Event id of a stream cut short -> (its session, the request still to answer).
    resumable: HashMap<String, (Option<String>, Value)>,
    /// Id of a request the server sent (as JSON text) -> who waits for the client's answer.
    waiting: HashMap<String, oneshot::Sender<Value>>,
    /// Request ids (as JSON text) the client has cancelled.
    cancelled: HashSet<String>,
    /// POSTs answered with `Fault::ShortStreams`, by their number `K` in `short-K-N` ids ->
    /// (their session, the `retry:` to send): resumable forever, never answered.
    endless: HashMap<u64, (Option<String>, u64)>,
    /// Counters for fresh ids: short streams, storm pings, endless pages.
    next_short: u64,
    next_storm: u64,
    next_page: u64,
    /// The OAuth mode, if on.
    oauth: Option<oauth::OAuth>,
}

#[derive(Default)]
pub(crate) struct Session {
    get_streams: Vec<sse::Sse>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Keep `record`, dropping the oldest beyond `MAX_REQUEST_RECORDS`.
    fn record(&mut self, record: RequestRecord) {
        if self.requests.len() == MAX_REQUEST_RECORDS {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    /// A fresh number for ids.
    fn fresh(counter: &mut u64) -> u64 {
        *counter += 1;
        *counter
    }

    /// The fault of the first rule that fits this request, using up one of its `times`.
    fn take_fault(
        &mut self,
        method: &Method,
        nth_post: usize,
        body: Option<&Value>,
    ) -> Option<Fault> {
        let rpc_method = body.and_then(mcp::method);
        let post = method == Method::POST;
        let rule = self.rules.iter_mut().find(|rule| {
            let fits = match &rule.when {
                Match::Method(m) => post && rpc_method == Some(m.as_str()),
                Match::Tool(name) => {
                    post && rpc_method == Some("tools/call")
                        && mcp::tool_name(body) == Some(name.as_str())
                }
                Match::AnyPost => post,
                Match::Get => method == Method::GET,
                Match::Nth(n) => post && nth_post == *n,
            };
            fits && rule.times != Some(0)
        })?;
        if let Some(times) = &mut rule.times {
            *times -= 1;
        }
        Some(rule.fault.clone())
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = TcpListener::from_std(listener).expect("register the listener with tokio");
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let open = OpenConnection::new(&shared);
        let local = stream.local_addr().expect("accepted stream address");
        // Small SSE events must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            local,
            shared.clone(),
            stop.clone(),
            open,
        ));
    }
}

/// Counts a connection in `Stats::open_connections` while it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: &Arc<Shared>) -> OpenConnection {
        let mut state = shared.lock();
        let stats = &mut state.stats;
        stats.connections += 1;
        stats.open_connections += 1;
        stats.max_concurrent_connections =
            stats.max_concurrent_connections.max(stats.open_connections);
        OpenConnection(shared.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.lock().stats.open_connections -= 1;
    }
}

/// Serve one connection (HTTP/1.1 or HTTP/2) until it ends, a fault kills it, or shutdown.
async fn connection(
    stream: TcpStream,
    local: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _open: OpenConnection,
) {
    let kill = Arc::new(Notify::new());
    let service_kill = kill.clone();
    let service = service_fn(move |request| {
        handler::handle(shared.clone(), service_kill.clone(), local, request)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let serving = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = serving => {}
        _ = kill.notified() => {}
        _ = stop.changed() => {}
    }
}
