//! Plays a [`Script`] against a session under the invariant [`Checker`].
//!
//! The driver records a normalised log of everything the session did (instants relative to the
//! session's start), so that runs can be compared: the same script twice, or its bytes fed in
//! other chunks ([`Rechunk`]), must give the same log.

use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::invariants::{Checker, MAX_POLLS_PER_STEP};
use super::script::{
    ms, split_at, Ask, AuthDoc, ContentType, Ev, EvKind, Flood, Handshake, Init, Msg, Op, Pick,
    Rechunk, Script, Setup, Target, Transport,
};
use crate::jsonrpc::{ErrorObject, Id};
use crate::{
    Event, ExchangeId, Input, Output, RequestId, RequestOptions, Session, Transmit, TransportError,
    TransportErrorKind,
};

/// At most this many timer firings when the script is over, before the session must be idle.
const MAX_TIMER_STEPS: usize = 10_000;

/// How a flood is cut into inputs when played as scripted.
const FLOOD_CHUNK: usize = 4096;

/// What the driver knows of one exchange the session transmitted.
#[derive(Debug)]
struct Sent {
    id: ExchangeId,
    /// The JSON-RPC id of the request it carried.
    rpc_id: Option<Id>,
    /// A GET (the server stream, or a resumption).
    get: bool,
}

/// Plays a script against a session under a [`Checker`], and records a normalised log.
#[derive(Debug)]
pub struct Driver {
    session: Session,
    checker: Checker,
    transport: Transport,
    base: Instant,
    clock: Instant,
    rechunk: Rechunk,
    limit: usize,
    exchanges: Vec<Sent>,
    started: Vec<RequestId>,
    server_requests: Vec<Id>,
    counter: u64,
    inputs: u64,
    log: Vec<String>,
    /// Whether the server reads its stdin, and what it has not read yet.
    stdin_reads: bool,
    unread_stdin: usize,
    /// Random bytes the session asked for and has not been given yet.
    random_wanted: Option<usize>,
    /// The last authorization URL the session asked the user to open.
    authorize_url: Option<String>,
}

impl Driver {
    /// A session for `transport` with `setup`, created at `base`.
    pub fn new(base: Instant, transport: Transport, setup: &Setup, rechunk: Rechunk) -> Driver {
        let config = setup.config();
        let http = transport == Transport::Http;
        let checker = Checker::new(base, &config, http);
        let limit = config.policy.max_message_size;
        let session = match transport {
            Transport::Http => Session::http(
                base,
                http::Uri::from_static("http://127.0.0.1:9/mcp"),
                config,
            ),
            Transport::Stdio => Session::stdio(base, config),
        };
        let mut driver = Driver {
            session,
            checker,
            transport,
            base,
            clock: base,
            rechunk,
            limit,
            exchanges: Vec::new(),
            started: Vec::new(),
            server_requests: Vec::new(),
            counter: 0,
            inputs: 0,
            log: Vec::new(),
            stdin_reads: setup.stdin_reads,
            unread_stdin: 0,
            random_wanted: None,
            authorize_url: None,
        };
        driver.checker.begin(Some(base));
        driver.drain(true);
        driver
    }

    /// Plays `script` from `base`, cut as `rechunk` says, then lets every deadline pass; returns
    /// the log. Panics on a broken invariant.
    pub fn run(base: Instant, script: &Script, rechunk: Rechunk) -> Vec<String> {
        let mut driver = Driver::new(base, script.transport, &script.setup, rechunk);
        driver.handshake(script.handshake);
        for op in &script.ops {
            driver.apply(op);
        }
        driver.finish();
        driver.log
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The log so far.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// Drains the outputs of one step into the checker and the log.
    fn drain(&mut self, footprint: bool) {
        for _ in 0..MAX_POLLS_PER_STEP {
            let output = self.session.poll_output();
            if let Output::Wait(wait) = output {
                self.checker.settled(&self.session, wait, footprint);
                return;
            }
            self.checker.output(&output);
            self.note(&output);
            let line = self.render(&output);
            self.log.push(line);
        }
        panic!("invariant 4: poll_output did not say Wait within {MAX_POLLS_PER_STEP} polls (livelock)");
    }

    /// Ends an op: logs when the session wants to be called back.
    fn op_done(&mut self) {
        let wait = self
            .session
            .poll_timeout()
            .map(|t| t.saturating_duration_since(self.base));
        self.log.push(format!("wait {wait:?}"));
        let wait = self.session.poll_timeout();
        self.checker.settled(&self.session, wait, true);
    }

    fn note(&mut self, output: &Output) {
        match output {
            Output::Transmit(Transmit::Http {
                exchange, request, ..
            }) => {
                let body: Option<Value> = serde_json::from_slice(request.body()).ok();
                let rpc_id = body
                    .as_ref()
                    .filter(|b| b.get("method").is_some())
                    .and_then(|b| b.get("id"))
                    .and_then(|id| serde_json::from_value(id.clone()).ok());
                let get = request.method() == http::Method::GET;
                self.exchanges.push(Sent {
                    id: *exchange,
                    rpc_id,
                    get,
                });
            }
            Output::Event(Event::Request { id, .. }) => self.server_requests.push(id.clone()),
            Output::Transmit(Transmit::Stdin(bytes)) => self.unread_stdin += bytes.len(),
            Output::Random(n) => self.random_wanted = Some(*n),
            Output::Event(Event::Authorize { url, .. }) => self.authorize_url = Some(url.0.clone()),
            _ => {}
        }
    }

    fn render(&self, output: &Output) -> String {
        match output {
            Output::Transmit(Transmit::Http {
                exchange,
                kind,
                request,
            }) => format!(
                "http {} {kind:?} {} {} {:?} {}",
                exchange.0,
                request.method(),
                request.uri(),
                request.headers(),
                String::from_utf8_lossy(request.body())
            ),
            Output::Transmit(Transmit::Stdin(bytes)) => {
                format!("stdin {}", String::from_utf8_lossy(bytes))
            }
            other => format!("{other:?}"),
        }
    }

    /// One input, as its own step.
    fn input(&mut self, now: Instant, input: Input<'_>) {
        self.checker.begin(Some(now));
        match &input {
            Input::ResponseHead {
                exchange, status, ..
            } => self.checker.head(*exchange, *status),
            Input::ResponseEnd { exchange } | Input::ExchangeFailed { exchange, .. } => {
                self.checker.ended(*exchange)
            }
            _ => {}
        }
        self.session.handle_input(now, input);
        // Formatting the whole session is slow: within an op, check the memory bound every few
        // inputs (and always at the end of the op).
        self.inputs += 1;
        self.drain(self.rechunk == Rechunk::AsScripted && self.inputs.is_multiple_of(8));
    }

    /// Cuts an op's bytes into inputs: at `splits` as scripted, or every `FLOOD_CHUNK` bytes
    /// for a flood (`splits` is `None`).
    fn chunks<'a>(&self, data: &'a [u8], splits: Option<&[u16]>) -> Vec<&'a [u8]> {
        match (self.rechunk, splits) {
            (Rechunk::AsScripted, Some(splits)) => {
                split_at(data, splits.iter().map(|s| usize::from(*s)))
            }
            (Rechunk::Whole, _) => vec![data],
            (_, _) if data.is_empty() => vec![data],
            (Rechunk::AsScripted, None) => data.chunks(FLOOD_CHUNK).collect(),
            (Rechunk::Bytewise, _) => data
                .chunks(if data.len() > 2048 { 97 } else { 1 })
                .collect(),
        }
    }

    fn body(&mut self, exchange: ExchangeId, data: &[u8], splits: Option<&[u16]>) {
        for chunk in self.chunks(data, splits) {
            self.input(
                self.clock,
                Input::ResponseBody {
                    exchange,
                    data: chunk,
                },
            );
        }
    }

    fn stdout(&mut self, data: &[u8], splits: Option<&[u16]>) {
        for chunk in self.chunks(data, splits) {
            self.input(self.clock, Input::Stdout(chunk));
        }
    }

    fn head(&mut self, exchange: ExchangeId, status: u16, headers: &HeaderMap) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        self.input(
            self.clock,
            Input::ResponseHead {
                exchange,
                status,
                headers,
            },
        );
    }

    fn handshake(&mut self, handshake: Handshake) {
        if matches!(handshake, Handshake::None | Handshake::DiscoverNone) {
            return;
        }
        self.log.push(format!("> handshake {handshake:?}"));
        match handshake {
            Handshake::Discover | Handshake::DiscoverSse | Handshake::Modern => {
                return self.discover(handshake == Handshake::DiscoverSse)
            }
            Handshake::DiscoverRefused => self.refuse_probe(),
            _ => {}
        }
        // The opening `initialize`: the first exchange or line, or the one after the probe.
        let first = usize::from(handshake == Handshake::DiscoverRefused);
        let init_id = Id::Number(first as i64);
        let init = self.msg_bytes(&Msg::Init(Init::Latest), Some(&init_id));
        if self.transport == Transport::Stdio {
            let mut line = init;
            line.push(b'\n');
            self.stdout(&line, Some(&[]));
            return self.op_done();
        }
        let handshake = match handshake {
            Handshake::DiscoverRefused => Handshake::JsonWithSession,
            h => h,
        };
        let Some(exchange) = self.exchanges.get(first).map(|s| s.id) else {
            return;
        };
        let sse = handshake == Handshake::Sse;
        let mut headers = content_type(if sse {
            ContentType::Sse
        } else {
            ContentType::Json
        });
        if handshake != Handshake::Json {
            headers.insert(
                HeaderName::from_static("mcp-session-id"),
                HeaderValue::from_static("sess-1"),
            );
        }
        self.head(exchange, 200, &headers);
        let body = if sse {
            sse_bytes(&[(b"id: init-1".to_vec(), false)], &init, false)
        } else {
            init
        };
        self.body(exchange, &body, Some(&[]));
        self.input(self.clock, Input::ResponseEnd { exchange });
        // Accept `notifications/initialized`.
        if let Some(note) = self.exchanges.get(first + 1).map(|s| s.id) {
            self.head(note, 202, &HeaderMap::new());
            self.input(self.clock, Input::ResponseEnd { exchange: note });
        }
        // Answer the GET stream (the session is ready once it is answered): open it, or (for
        // `Json`) say there is none.
        if let Some(get) = self.exchanges.iter().find(|s| s.get).map(|s| s.id) {
            match handshake {
                Handshake::Json => self.head(get, 405, &HeaderMap::new()),
                _ => self.head(get, 200, &content_type(ContentType::Sse)),
            }
        }
        self.op_done();
    }

    /// 2026-07-28: answers the probe (`server/discover`, id 0) with a `DiscoverResult`.
    fn discover(&mut self, sse: bool) {
        let probe = Id::Number(0);
        let result = self.msg_bytes(&Msg::Discover(Target::Carried), Some(&probe));
        if self.transport == Transport::Stdio {
            let mut line = result;
            line.push(b'\n');
            self.stdout(&line, Some(&[]));
            return self.op_done();
        }
        let Some(exchange) = self.exchanges.first().map(|s| s.id) else {
            return;
        };
        let ct = if sse {
            ContentType::Sse
        } else {
            ContentType::Json
        };
        self.head(exchange, 200, &content_type(ct));
        let body = if sse {
            sse_bytes(&[], &result, false)
        } else {
            result
        };
        self.body(exchange, &body, Some(&[]));
        self.input(self.clock, Input::ResponseEnd { exchange });
        self.op_done();
    }

    /// The probe refused as a server of the 2025 era does: a 400 without a modern error
    /// (HTTP), or "method not found" (stdio).
    fn refuse_probe(&mut self) {
        if self.transport == Transport::Stdio {
            let line =
                br#"{"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"Method not found"}}
"#;
            return self.stdout(line, Some(&[]));
        }
        let Some(exchange) = self.exchanges.first().map(|s| s.id) else {
            return;
        };
        self.head(exchange, 400, &content_type(ContentType::Json));
        let body = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}"#;
        self.body(exchange, body, Some(&[]));
        self.input(self.clock, Input::ResponseEnd { exchange });
    }

    fn exchange(&self, pick: Pick) -> ExchangeId {
        match pick {
            Pick::Raw(n) => ExchangeId(u64::from(n)),
            _ => pick_from(&self.exchanges, pick).map_or(ExchangeId(0), |s| s.id),
        }
    }

    fn request_id(&self, pick: Pick) -> RequestId {
        match pick {
            Pick::Raw(n) => RequestId(u64::from(n)),
            _ => pick_from(&self.started, pick)
                .copied()
                .unwrap_or(RequestId(1)),
        }
    }

    /// The JSON-RPC id a message aimed at `target` carries; `carried` is the id of the request
    /// the exchange carried.
    fn target(&self, target: Target, carried: Option<&Id>) -> Value {
        match target {
            Target::Carried => match carried {
                Some(id) => serde_json::to_value(id).unwrap_or(Value::Null),
                None => json!(self.checker.outstanding().next().map_or(0, |id| id.0)),
            },
            Target::Request(pick) => json!(self.request_id(pick).0),
            Target::Text(n) => json!(format!("t{n}")),
        }
    }

    fn msg_value(&self, msg: &Msg, carried: Option<&Id>) -> Value {
        match msg {
            Msg::Result(t) => {
                json!({"jsonrpc": "2.0", "id": self.target(*t, carried), "result": {"content": []}})
            }
            Msg::Error(t) => {
                json!({"jsonrpc": "2.0", "id": self.target(*t, carried), "error": {"code": -32000, "message": "no"}})
            }
            Msg::ErrorWithoutId => {
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse"}})
            }
            Msg::Init(init) => {
                let id =
                    carried.map_or(json!(0), |id| serde_json::to_value(id).unwrap_or(json!(0)));
                json!({"jsonrpc": "2.0", "id": id, "result": init_result(*init)})
            }
            Msg::Discover(t) => json!({
                "jsonrpc": "2.0",
                "id": self.target(*t, carried),
                "result": {
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {"listChanged": true}},
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "scripted", "version": "1"}},
                    "ttlMs": 0,
                    "cacheScope": "private"
                }
            }),
            Msg::VersionError(t) => json!({
                "jsonrpc": "2.0",
                "id": self.target(*t, carried),
                "error": {"code": -32022, "message": "Unsupported protocol version",
                          "data": {"supported": ["2026-07-28"], "requested": "2026-07-28"}}
            }),
            Msg::InputRequired { target, ask } => {
                let mut result =
                    json!({"resultType": "input_required", "requestState": "s\u{e9}\"1"});
                if *ask {
                    result["inputRequests"] = json!({"confirm": {
                        "method": "elicitation/create",
                        "params": {"message": "ok?", "requestedSchema": {"type": "object", "properties": {}}}
                    }});
                }
                json!({"jsonrpc": "2.0", "id": self.target(*target, carried), "result": result})
            }
            Msg::UnknownResultType(t) => json!({
                "jsonrpc": "2.0", "id": self.target(*t, carried), "result": {"resultType": "mystery"}
            }),
            Msg::Acknowledged(t) => json!({
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {
                    "_meta": {"io.modelcontextprotocol/subscriptionId": self.target(*t, carried)},
                    "notifications": {"toolsListChanged": true}
                }
            }),
            Msg::Auth(doc) => match doc {
                AuthDoc::ResourceMetadata => json!({
                    "resource": "http://127.0.0.1:9/mcp",
                    "authorization_servers": ["http://127.0.0.1:9/as"]
                }),
                AuthDoc::ServerMetadata => json!({
                    "issuer": "http://127.0.0.1:9/as",
                    "authorization_endpoint": "http://127.0.0.1:9/as/authorize",
                    "token_endpoint": "http://127.0.0.1:9/as/token",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"]
                }),
                AuthDoc::Token => json!({
                    "access_token": "fuzz-token", "token_type": "Bearer",
                    "expires_in": 60, "refresh_token": "fuzz-refresh"
                }),
                AuthDoc::TokenError => json!({"error": "invalid_grant"}),
            },
            Msg::Subscribed(t) => json!({
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
                "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": self.target(*t, carried)}}
            }),
            Msg::Progress(t) => json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": self.target(*t, carried), "progress": 1, "total": 2, "message": "half"}
            }),
            Msg::Notification => {
                json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}})
            }
            Msg::ServerRequest { ask, id } => {
                let method = match ask {
                    Ask::Ping => "ping",
                    Ask::Roots => "roots/list",
                    Ask::Sampling => "sampling/createMessage",
                    Ask::Elicitation => "elicitation/create",
                    Ask::Unknown => "unknown/method",
                };
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {}})
            }
            Msg::NotJsonRpc => json!({"hello": "world"}),
            Msg::Large(t, size) => json!({
                "jsonrpc": "2.0",
                "id": self.target(*t, carried),
                "result": {"blob": "x".repeat(usize::from(*size))}
            }),
            Msg::Batch(_) | Msg::NotJson(_) | Msg::Blank => Value::Null,
        }
    }

    fn msg_bytes(&self, msg: &Msg, carried: Option<&Id>) -> Vec<u8> {
        match msg {
            Msg::Blank => Vec::new(),
            Msg::NotJson(bytes) => bytes.0.clone(),
            Msg::Batch(items) => {
                let mut out = b"[".to_vec();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(self.msg_bytes(item, carried));
                }
                out.push(b']');
                out
            }
            msg => serde_json::to_vec(&self.msg_value(msg, carried)).unwrap_or_default(),
        }
    }

    fn events_bytes(&self, events: &[Ev], carried: Option<&Id>) -> Vec<u8> {
        let mut out = Vec::new();
        for ev in events {
            let end = line_end(ev.crlf);
            match ev.kind {
                EvKind::Plain => {}
                EvKind::Message => out.extend(b"event: message"),
                EvKind::Other => out.extend(b"event: ping"),
                EvKind::Comment => out.extend(b": keep-alive"),
            }
            if ev.kind != EvKind::Plain {
                out.extend(end);
            }
            match ev.id {
                None => {}
                Some(0) => out.extend(b"id:"),
                Some(n) => out.extend(format!("id: e{n}").into_bytes()),
            }
            if ev.id.is_some() {
                out.extend(end);
            }
            if let Some(retry) = ev.retry {
                out.extend(format!("retry: {retry}").into_bytes());
                out.extend(end);
            }
            if let Some(msg) = &ev.data {
                for line in self.msg_bytes(msg, carried).split(|b| *b == b'\n') {
                    out.extend(b"data: ");
                    out.extend(line);
                    out.extend(end);
                }
            }
            out.extend(end);
        }
        out
    }

    /// Applies one op, as one or more steps.
    pub fn apply(&mut self, op: &Op) {
        self.log.push(format!("> {op:?}"));
        let now = self.clock;
        if self.stdin_reads && self.unread_stdin > 0 {
            let bytes = std::mem::take(&mut self.unread_stdin);
            self.input(now, Input::StdinWritten { bytes });
        }
        // The adapter gives the random bytes asked for (here: fixed ones).
        if let Some(n) = self.random_wanted.take() {
            let bytes: Vec<u8> = (0..n).map(|i| i as u8).collect();
            self.input(now, Input::Random(&bytes));
        }
        match op {
            Op::Request {
                timeout_ms,
                progress,
                large,
            } => {
                self.counter += 1;
                let mut args = json!({"n": self.counter});
                if *large {
                    args["pad"] = json!("y".repeat(2 * self.limit));
                }
                let options = RequestOptions::default()
                    .with_timeout(timeout_ms.map(ms))
                    .with_progress(*progress);
                self.checker.begin(Some(now));
                let params = json!({"name": "echo", "arguments": args});
                let result = self
                    .session
                    .request(now, "tools/call", Some(params), options.clone());
                self.checker
                    .requested(options.timeout, options.progress, &result);
                if let Ok(id) = result {
                    self.started.push(id);
                }
                self.log.push(format!("request -> {result:?}"));
                self.drain(true);
            }
            Op::Cancel(pick) => {
                let id = self.request_id(*pick);
                self.checker.begin(Some(now));
                let returned = self.session.cancel(now, id, None);
                self.checker.cancelled(id, returned);
                self.log.push(format!("cancel {id:?} -> {returned}"));
                self.drain(true);
            }
            Op::Respond { to, error } => {
                let id = match to {
                    Pick::Raw(n) => Id::Number(i64::from(*n)),
                    _ => pick_from(&self.server_requests, *to)
                        .cloned()
                        .unwrap_or(Id::Number(0)),
                };
                let answer = if *error {
                    Err(ErrorObject::new(-1, "declined"))
                } else {
                    Ok(json!({}))
                };
                self.checker.begin(None);
                let result = self.session.respond(id, answer);
                self.checker.command(&result);
                self.log.push(format!("respond -> {result:?}"));
                self.drain(true);
            }
            Op::Listen => {
                let filter = crate::modern::SubscriptionFilter::new().tools_list_changed();
                self.checker.begin(Some(now));
                let result = self.session.listen(now, &filter);
                self.checker.requested(None, false, &result);
                if let Ok(id) = result {
                    self.started.push(id);
                }
                self.log.push(format!("listen -> {result:?}"));
                self.drain(true);
            }
            Op::Redirect { ok } => {
                let state = self.authorize_url.as_deref().and_then(|u| {
                    u.split(['?', '&'])
                        .find_map(|p| p.strip_prefix("state="))
                        .map(str::to_owned)
                });
                let back = format!(
                    "http://127.0.0.1:1/callback?code=c0de&state={}",
                    state.unwrap_or_default()
                );
                self.checker.begin(Some(now));
                let result = if *ok {
                    Ok(back.as_str())
                } else {
                    Err("the user gave up")
                };
                self.session.authorization_redirect(now, result);
                self.log.push(format!("redirect ok={ok}"));
                self.drain(true);
            }
            Op::Notify => {
                self.checker.begin(None);
                let result = self
                    .session
                    .notify("notifications/roots/list_changed", None);
                self.checker.command(&result);
                self.log.push(format!("notify -> {result:?}"));
                self.drain(true);
            }
            Op::Close => {
                self.checker.begin(Some(now));
                self.session.close(now);
                self.checker.closing();
                self.drain(true);
            }
            Op::Head {
                exchange,
                status,
                content_type: ct,
                session_id,
                retry_after,
                www_authenticate,
            } => {
                let mut headers = content_type(*ct);
                if let Some(n) = session_id {
                    let value = HeaderValue::from_str(&format!("sess-{n}"))
                        .unwrap_or(HeaderValue::from_static("s"));
                    headers.insert(HeaderName::from_static("mcp-session-id"), value);
                }
                if *retry_after {
                    headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
                }
                if *www_authenticate {
                    headers.insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static(
                            "Bearer realm=\"mcp\", resource_metadata=\"http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp\", error=\"insufficient_scope\", scope=\"a b\"",
                        ),
                    );
                }
                let exchange = self.exchange(*exchange);
                self.head(exchange, *status, &headers);
            }
            Op::Json {
                exchange,
                msg,
                splits,
            } => {
                let exchange = self.exchange(*exchange);
                let bytes = self.msg_bytes(msg, self.carried(exchange));
                self.body(exchange, &bytes, Some(splits));
            }
            Op::Sse {
                exchange,
                events,
                splits,
            } => {
                let exchange = self.exchange(*exchange);
                let bytes = self.events_bytes(events, self.carried(exchange));
                self.body(exchange, &bytes, Some(splits));
            }
            Op::Bytes {
                exchange,
                bytes,
                splits,
            } => {
                let exchange = self.exchange(*exchange);
                self.body(exchange, &bytes.0, Some(splits));
            }
            Op::End(exchange) => {
                let exchange = self.exchange(*exchange);
                self.input(now, Input::ResponseEnd { exchange });
            }
            Op::Fail { exchange, kind } => {
                let exchange = self.exchange(*exchange);
                let error = TransportError::new(*kind, "scripted failure");
                self.input(now, Input::ExchangeFailed { exchange, error });
            }
            Op::Answer {
                exchange,
                msg,
                sse_id,
                end,
            } => {
                if self.transport == Transport::Stdio {
                    let mut line = self.msg_bytes(msg, None);
                    line.push(b'\n');
                    self.stdout(&line, Some(&[]));
                } else {
                    let exchange = self.exchange(*exchange);
                    let bytes = self.msg_bytes(msg, self.carried(exchange));
                    let (ct, body) = match sse_id {
                        None => (ContentType::Json, bytes),
                        Some(0) => (ContentType::Sse, sse_bytes(&[], &bytes, false)),
                        Some(n) => {
                            let id = format!("id: e{n}").into_bytes();
                            (ContentType::Sse, sse_bytes(&[(id, false)], &bytes, false))
                        }
                    };
                    self.head(exchange, 200, &content_type(ct));
                    self.body(exchange, &body, Some(&[]));
                    if *end {
                        self.input(now, Input::ResponseEnd { exchange });
                    }
                }
            }
            Op::Flood {
                exchange,
                kind,
                kib,
            } => {
                let exchange = self.exchange(*exchange);
                let bytes = flood(*kind, usize::from(*kib) << 10, true);
                self.body(exchange, &bytes, None);
            }
            Op::Stdout { lines, splits } => {
                let mut bytes = Vec::new();
                for line in lines {
                    bytes.extend(self.msg_bytes(&line.msg, None));
                    bytes.extend(line_end(line.crlf));
                }
                self.stdout(&bytes, Some(splits));
            }
            Op::StdoutBytes { bytes, splits } => self.stdout(&bytes.0, Some(splits)),
            Op::StdoutFlood { kind, kib } => {
                let bytes = flood(*kind, usize::from(*kib) << 10, false);
                self.stdout(&bytes, None);
            }
            Op::StdoutClosed => self.input(now, Input::StdoutClosed),
            Op::Exit(code) => self.input(now, Input::ProcessExited { code: *code }),
            Op::WriteFailed => {
                let error = TransportError::new(TransportErrorKind::Other, "broken pipe");
                self.input(now, Input::WriteFailed(error));
            }
            Op::Advance { ms: d } => {
                self.clock += ms(*d);
                self.input(self.clock, Input::Timeout);
            }
            Op::ToDeadline => {
                match self.session.poll_timeout() {
                    Some(t) => self.clock = self.clock.max(t),
                    None => self.clock += Duration::from_millis(1),
                }
                self.input(self.clock, Input::Timeout);
            }
            Op::Rewind { ms: d } => {
                let then = self
                    .clock
                    .checked_sub(ms(u32::from(*d)))
                    .unwrap_or(self.clock);
                self.input(then, Input::Timeout);
            }
        }
        self.op_done();
    }

    fn carried(&self, exchange: ExchangeId) -> Option<&Id> {
        self.exchanges
            .iter()
            .find(|s| s.id == exchange)
            .and_then(|s| s.rpc_id.as_ref())
    }

    /// The script is over: lets every deadline pass, checks nothing is left pending, and that
    /// a closed session refuses every command with its error.
    pub fn finish(&mut self) {
        self.log.push("> finish".into());
        for _ in 0..MAX_TIMER_STEPS {
            let Some(t) = self.session.poll_timeout() else {
                break;
            };
            self.clock = self.clock.max(t);
            self.input(self.clock, Input::Timeout);
        }
        self.checker.finished(&self.session);
        if self.session.is_closed() {
            for op in [
                Op::Request {
                    timeout_ms: None,
                    progress: false,
                    large: false,
                },
                Op::Notify,
                Op::Cancel(Pick::Last),
            ] {
                self.apply(&op);
            }
            self.apply(&Op::Respond {
                to: Pick::Raw(0),
                error: false,
            });
        }
        self.op_done();
    }
}

fn pick_from<T>(items: &[T], pick: Pick) -> Option<&T> {
    match pick {
        Pick::Nth(n) if !items.is_empty() => items.get(usize::from(n) % items.len()),
        Pick::Last => items.last(),
        _ => None,
    }
}

fn line_end(crlf: bool) -> &'static [u8] {
    if crlf {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// One SSE event: `fields` (each a line), then `data` as `data:` lines, then a blank line.
fn sse_bytes(fields: &[(Vec<u8>, bool)], data: &[u8], crlf: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (field, crlf) in fields {
        out.extend(field);
        out.extend(line_end(*crlf));
    }
    for line in data.split(|b| *b == b'\n') {
        out.extend(b"data: ");
        out.extend(line);
        out.extend(line_end(crlf));
    }
    out.extend(line_end(crlf));
    out
}

fn content_type(ct: ContentType) -> HeaderMap {
    let value = match ct {
        ContentType::None => return HeaderMap::new(),
        ContentType::Json => "application/json",
        ContentType::JsonUtf8 => "application/json; charset=utf-8",
        ContentType::Sse => "text/event-stream",
        ContentType::SseMixedCase => "Text/Event-Stream; charset=UTF-8",
        ContentType::Text => "text/plain",
        ContentType::Html => "text/html",
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
    headers
}

fn init_result(init: Init) -> Value {
    let version = match init {
        Init::Latest => "2025-11-25",
        Init::Older => "2025-03-26",
        Init::Unsupported => "1999-01-01",
        Init::Invalid => return json!({"protocolVersion": 7}),
    };
    json!({"protocolVersion": version, "capabilities": {"tools": {}}, "serverInfo": {"name": "scripted", "version": "1"}})
}

/// `size` bytes of `kind`; `sse` frames them for an event stream, else for stdio lines.
fn flood(kind: Flood, size: usize, sse: bool) -> Vec<u8> {
    let unit: &[u8] = match (kind, sse) {
        (Flood::Line, _) => {
            // One line that never ends: on an event stream, a `data` field.
            let mut out = if sse { b"data: ".to_vec() } else { Vec::new() };
            out.resize(size.max(out.len()), b'x');
            return out;
        }
        (Flood::DataLines, _) => b"data: xxxxxxxxxxxxxxxxxxxxxxxx\n",
        (Flood::Events, true) => {
            b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n"
        }
        (Flood::Events, false) => {
            b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n"
        }
        (Flood::Comments, _) => b": keep-alive\n",
        (Flood::Blank, _) => b"\n",
        (Flood::Garbage, _) => {
            let mut rng = super::XorShift(0x9E37_79B9);
            return (0..size).map(|_| rng.next() as u8).collect();
        }
    };
    let mut out = Vec::with_capacity(size + unit.len());
    while out.len() < size {
        out.extend(unit);
    }
    out
}
