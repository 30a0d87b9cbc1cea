//! The one session harness of the core's tests, benches and fuzz targets: a virtual clock,
//! helpers that play the server's side of HTTP exchanges and stdio (the fake-server
//! builders), and output collection that checks DESIGN.md's invariants on the way.

use std::time::{Duration, Instant};

use crate::{
    Config, Event, ExchangeId, Input, Output, RequestError, RequestId, RequestOptions, Session,
    SessionError, Transmit, TransportError, TransportErrorKind, Warning,
};
use http::{HeaderMap, HeaderValue, StatusCode};

/// A minimal `initialize` result at the latest version.
pub const INIT_RESULT: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}"#;

/// A session with a virtual clock and everything it output so far, not yet inspected.
pub struct Harness {
    /// The session under test.
    pub session: Session,
    /// When its clock started.
    pub t0: Instant,
    /// Its clock now.
    pub now: Instant,
    /// Outputs drained and not yet taken by a helper.
    pub outputs: Vec<Output>,
    /// HTTP requests a helper already took and put back, returned first by [`Harness::sent`].
    requeued: Vec<Sent>,
    /// Every request completed so far: none may complete twice (invariant 1).
    completed: std::collections::BTreeSet<RequestId>,
    /// `Event::Closed` was output: nothing may follow it (invariant 2).
    closed: bool,
}

/// What a transmitted HTTP request was.
#[derive(Debug)]
pub struct Sent {
    /// The exchange it starts.
    pub exchange: ExchangeId,
    /// Its HTTP method.
    pub method: http::Method,
    /// Its URI (the MCP endpoint, or another for the OAuth flow's requests).
    pub uri: http::Uri,
    /// What it is for.
    pub kind: crate::ExchangeKind,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body as JSON (`null` when empty; a string when it is not JSON, a form).
    pub body: serde_json::Value,
}

impl Harness {
    /// An HTTP session at `http://127.0.0.1:9/mcp` whose clock starts at `t0`. (The core never
    /// reads a clock, not even in its harness: the caller gives the start.)
    pub fn http_at(t0: Instant, config: Config) -> Self {
        let session = Session::http(t0, "http://127.0.0.1:9/mcp".parse().unwrap(), config);
        Harness::around(t0, session)
    }

    /// A session over the 2024-11-05 HTTP+SSE transport whose event stream is
    /// `http://127.0.0.1:9/sse` and whose clock starts at `t0`.
    pub fn sse_at(t0: Instant, config: Config) -> Self {
        let session = Session::sse(t0, "http://127.0.0.1:9/sse".parse().unwrap(), config);
        Harness::around(t0, session)
    }

    /// A stdio session whose clock starts at `t0`.
    pub fn stdio_at(t0: Instant, config: Config) -> Self {
        Harness::around(t0, Session::stdio(t0, config))
    }

    fn around(t0: Instant, session: Session) -> Self {
        Harness {
            session,
            t0,
            now: t0,
            outputs: Vec::new(),
            requeued: Vec::new(),
            completed: Default::default(),
            closed: false,
        }
    }

    /// Drains the session's output into `outputs` (until `Wait`), checking DESIGN.md's
    /// invariants on the way: no request completes twice, nothing follows `Closed`, the wait
    /// is never in the past, and every outstanding request has a deadline.
    pub fn drain(&mut self) -> Option<Instant> {
        for _ in 0..100_000 {
            let o = self.session.poll_output();
            if let Output::Wait(t) = o {
                if let Some(t) = t {
                    assert!(
                        t >= self.now,
                        "poll_timeout is in the past: {:?} before now",
                        self.now - t
                    );
                }
                assert_eq!(t, self.session.poll_timeout());
                if self.session.outstanding() > 0 {
                    assert!(
                        t.is_some(),
                        "{} requests outstanding and no deadline",
                        self.session.outstanding()
                    );
                }
                return t;
            }
            assert!(!self.closed, "output after Closed: {o:?}");
            match &o {
                Output::Event(Event::Response { id, .. }) => {
                    assert!(self.completed.insert(*id), "{id:?} completed twice");
                }
                Output::Event(Event::Closed(_)) => self.closed = true,
                _ => {}
            }
            self.outputs.push(o);
        }
        panic!("poll_output never said Wait");
    }

    /// Takes the collected outputs.
    pub fn take(&mut self) -> Vec<Output> {
        self.drain();
        std::mem::take(&mut self.outputs)
    }

    /// Takes the collected events (transmits and aborts are kept, for [`Harness::sent`],
    /// [`Harness::stdin`] and [`Harness::aborts`]).
    pub fn events(&mut self) -> Vec<Event> {
        self.drain();
        let mut events = Vec::new();
        let mut rest = Vec::new();
        for o in std::mem::take(&mut self.outputs) {
            match o {
                Output::Event(e) => events.push(e),
                o => rest.push(o),
            }
        }
        self.outputs = rest;
        events
    }

    /// Takes the HTTP requests transmitted so far (other outputs are kept).
    pub fn sent(&mut self) -> Vec<Sent> {
        self.drain();
        let mut sent = std::mem::take(&mut self.requeued);
        let mut rest = Vec::new();
        for o in std::mem::take(&mut self.outputs) {
            match o {
                Output::Transmit(Transmit::Http {
                    exchange,
                    request,
                    kind,
                }) => {
                    let (parts, body) = request.into_parts();
                    let body = if body.is_empty() {
                        serde_json::Value::Null
                    } else {
                        serde_json::from_slice(&body).unwrap_or_else(|_| {
                            serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
                        })
                    };
                    sent.push(Sent {
                        exchange,
                        method: parts.method,
                        uri: parts.uri,
                        kind,
                        headers: parts.headers,
                        body,
                    });
                }
                o => rest.push(o),
            }
        }
        self.outputs = rest;
        sent
    }

    /// Puts taken requests back, to be returned first by the next [`Harness::sent`].
    pub fn requeue(&mut self, sent: Vec<Sent>) {
        self.requeued.extend(sent);
    }

    /// Takes the stdin writes so far, one JSON value per line (other outputs are kept).
    pub fn stdin(&mut self) -> Vec<serde_json::Value> {
        self.drain();
        let mut lines = Vec::new();
        let mut rest = Vec::new();
        for o in std::mem::take(&mut self.outputs) {
            match o {
                Output::Transmit(Transmit::Stdin(bytes)) => {
                    assert_eq!(bytes.last(), Some(&b'\n'));
                    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        lines.push(serde_json::from_slice(line).unwrap());
                    }
                }
                o => rest.push(o),
            }
        }
        self.outputs = rest;
        lines
    }

    /// Moves the clock forward by `d` and feeds `Input::Timeout`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_input(self.now, Input::Timeout);
    }

    /// A response head with `status` and `headers` on `exchange`.
    pub fn head(&mut self, exchange: ExchangeId, status: u16, headers: &[(&str, &str)]) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let status = StatusCode::from_u16(status).unwrap();
        self.session.handle_input(
            self.now,
            Input::ResponseHead {
                exchange,
                status,
                headers: &map,
            },
        );
    }

    /// A chunk of `exchange`'s body.
    pub fn body(&mut self, exchange: ExchangeId, data: &str) {
        self.session.handle_input(
            self.now,
            Input::ResponseBody {
                exchange,
                data: data.as_bytes(),
            },
        );
    }

    /// The end of `exchange`'s body.
    pub fn end(&mut self, exchange: ExchangeId) {
        self.session
            .handle_input(self.now, Input::ResponseEnd { exchange });
    }

    /// A whole response with a JSON body.
    pub fn json(&mut self, exchange: ExchangeId, status: u16, body: &str) {
        self.head(exchange, status, &[("content-type", "application/json")]);
        self.body(exchange, body);
        self.end(exchange);
    }

    /// Opens an SSE response on an exchange.
    pub fn sse_head(&mut self, exchange: ExchangeId) {
        self.head(exchange, 200, &[("content-type", "text/event-stream")]);
    }

    /// Sends one SSE event carrying `data` (and an id, if given).
    pub fn sse_event(&mut self, exchange: ExchangeId, id: Option<&str>, data: &str) {
        let mut text = String::new();
        if let Some(id) = id {
            text.push_str(&format!("id: {id}\n"));
        }
        text.push_str(&format!("data: {data}\n\n"));
        self.body(exchange, &text);
    }

    /// Sends one SSE event named `event` (`endpoint`, `message`) carrying `data`.
    pub fn sse_named(&mut self, exchange: ExchangeId, event: &str, data: &str) {
        self.body(exchange, &format!("event: {event}\ndata: {data}\n\n"));
    }

    /// Runs the 2024-11-05 HTTP+SSE handshake: answers the event stream's GET (the only thing
    /// sent so far) with an event stream whose first event is `endpoint` =
    /// `/messages?sessionId=s1`, answers the `initialize` POST 202 and its response (version
    /// 2024-11-05) on the stream, then the `initialized` notification 202. Returns the
    /// event stream's GET.
    pub fn ready_sse(&mut self) -> Sent {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "only the event stream's GET: {sent:?}");
        let get = sent.pop().unwrap();
        assert_eq!(get.method, http::Method::GET);
        assert_eq!(get.kind, crate::ExchangeKind::EventStream);
        self.sse_head(get.exchange);
        self.sse_named(get.exchange, "endpoint", "/messages?sessionId=s1");
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "the initialize POST: {sent:?}");
        assert_eq!(sent[0].body["method"], "initialize");
        assert_eq!(sent[0].uri, "http://127.0.0.1:9/messages?sessionId=s1");
        let id = sent[0].body["id"].as_u64().unwrap();
        self.head(sent[0].exchange, 202, &[]);
        self.body(sent[0].exchange, "Accepted");
        self.end(sent[0].exchange);
        let result = init_result(crate::LEGACY_SSE_PROTOCOL_VERSION);
        self.sse_named(get.exchange, "message", &response_line(id, &result));
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "the initialized notification: {sent:?}");
        assert_eq!(sent[0].body["method"], "notifications/initialized");
        let n = sent.pop().unwrap();
        self.head(n.exchange, 202, &[]);
        self.end(n.exchange);
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
        get
    }

    /// One line on stdout.
    pub fn stdout(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.session.handle_input(self.now, Input::Stdout(&bytes));
    }

    /// Runs the HTTP handshake: answers `initialize` with a session id, checks the
    /// `initialized` notification, answers it 202, and returns the server-stream GET.
    pub fn ready_http(&mut self) -> Sent {
        self.ready_http_as(LATEST, Some("sess-1"))
    }

    /// The HTTP handshake with a server that assigns no session id.
    pub fn ready_http_without_session(&mut self) -> Sent {
        self.ready_http_as(LATEST, None)
    }

    /// The HTTP handshake with a server that answers protocol version `version` and assigns
    /// `session_id`, and opens the GET stream (an SSE head). Requests queued before it stay to
    /// be taken by [`Harness::sent`].
    pub fn ready_http_as(&mut self, version: &str, session_id: Option<&str>) -> Sent {
        let get = self.handshake_http_as(version, session_id);
        self.sse_head(get.exchange);
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
        // Requests queued before the handshake go out once it is over; put them back.
        self.requeued = self.sent();
        get
    }

    /// The HTTP handshake up to the GET stream, which is sent but not answered: the session is
    /// not ready until it is (or `Policy::server_stream_wait` passes).
    pub fn handshake_http(&mut self) -> Sent {
        self.handshake_http_as(LATEST, Some("sess-1"))
    }

    /// [`Harness::handshake_http`] with a server that assigns no session id.
    pub fn handshake_http_without_session(&mut self) -> Sent {
        self.handshake_http_as(LATEST, None)
    }

    /// [`Harness::handshake_http`] with the given version and session id.
    pub fn handshake_http_as(&mut self, version: &str, session_id: Option<&str>) -> Sent {
        let mut headers = Vec::new();
        if let Some(s) = session_id {
            headers.push(("mcp-session-id", s));
        }
        let mut sent = self.answer_initialize(&headers, &init_result(version));
        assert_eq!(sent.len(), 2, "the notification and the GET: {sent:?}");
        let get = sent.pop().unwrap();
        assert_eq!(get.method, http::Method::GET);
        assert_eq!(sent[0].body["method"], "notifications/initialized");
        assert!(
            !self.events().iter().any(|e| matches!(e, Event::Ready)),
            "ready before the GET was answered"
        );
        self.head(sent[0].exchange, 202, &[]);
        self.end(sent[0].exchange);
        get
    }

    /// Answers the `initialize` POST (the only thing sent so far) with a JSON body holding
    /// `result`, with `headers` besides the content type; returns what was sent next.
    pub fn answer_initialize(&mut self, headers: &[(&str, &str)], result: &str) -> Vec<Sent> {
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].body["method"], "initialize");
        let init = sent[0].exchange;
        let id = sent[0].body["id"].as_u64().unwrap();
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.head(init, 200, &all);
        self.body(init, &response_line(id, result));
        self.end(init);
        self.sent()
    }

    /// Runs the stdio handshake.
    pub fn ready_stdio(&mut self) {
        let lines = self.stdin();
        assert_eq!(lines[0]["method"], "initialize");
        self.stdout(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"result":{INIT_RESULT}}}"#
        ));
        let lines = self.stdin();
        assert_eq!(lines[0]["method"], "notifications/initialized");
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
    }

    /// 2026-07-28 over HTTP: answers the probe (the only thing sent so far, a
    /// `server/discover` POST) with [`DISCOVER_RESULT`]; the session is then ready, and the
    /// requests that waited for it are kept for [`Harness::sent`].
    pub fn ready_modern_http(&mut self) -> Sent {
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let probe = sent.into_iter().next().unwrap();
        assert_eq!(probe.body["method"], "server/discover");
        let id = probe.body["id"].as_u64().unwrap();
        self.json(probe.exchange, 200, &response_line(id, DISCOVER_RESULT));
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
        self.requeued = self.sent();
        probe
    }

    /// 2026-07-28 over stdio: answers the probe with [`DISCOVER_RESULT`].
    pub fn ready_modern_stdio(&mut self) -> serde_json::Value {
        let lines = self.stdin();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["method"], "server/discover");
        let id = lines[0]["id"].as_u64().unwrap();
        self.stdout(&response_line(id, DISCOVER_RESULT));
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
        lines.into_iter().next().unwrap()
    }

    /// Starts a request with no params and the default options.
    pub fn request(&mut self, method: &str) -> RequestId {
        self.session
            .request(self.now, method, None, Default::default())
            .unwrap()
    }

    /// Starts a request with params and options.
    pub fn request_with(
        &mut self,
        method: &str,
        params: Option<serde_json::Value>,
        options: RequestOptions,
    ) -> RequestId {
        self.session
            .request(self.now, method, params, options)
            .unwrap()
    }

    /// Takes the exchanges the session asked to abort so far (other outputs are kept).
    pub fn aborts(&mut self) -> Vec<ExchangeId> {
        self.drain();
        let mut aborts = Vec::new();
        let mut rest = Vec::new();
        for o in std::mem::take(&mut self.outputs) {
            match o {
                Output::Abort(x) => aborts.push(x),
                o => rest.push(o),
            }
        }
        self.outputs = rest;
        aborts
    }

    /// The transport reports exchange `exchange` failed.
    pub fn fail(&mut self, exchange: ExchangeId, kind: TransportErrorKind, message: &str) {
        let error = TransportError::new(kind, message);
        self.session
            .handle_input(self.now, Input::ExchangeFailed { exchange, error });
    }

    /// Moves the virtual clock to `at` and feeds `Input::Timeout`.
    pub fn advance_to(&mut self, at: Instant) {
        assert!(at >= self.now);
        self.now = at;
        self.session.handle_input(self.now, Input::Timeout);
    }

    /// The instant `d` after the start.
    pub fn at(&self, d: Duration) -> Instant {
        self.t0 + d
    }

    /// Checks that the session failed for good with `error`: every command fails at once with
    /// it, and no input produces any output.
    pub fn assert_permanently_failed(&mut self, error: &SessionError) {
        // What the failing step itself output (its aborts, the closing DELETE) is not new work.
        self.take();
        assert!(self.session.is_closed());
        assert!(!self.session.is_ready());
        assert_eq!(self.session.error(), Some(error));
        let as_request = RequestError::Session(error.clone());
        assert_eq!(
            self.session
                .request(self.now, "tools/list", None, Default::default())
                .unwrap_err(),
            as_request
        );
        assert_eq!(
            self.session
                .notify("notifications/roots/list_changed", None)
                .unwrap_err(),
            as_request
        );
        let id = crate::jsonrpc::Id::Number(1);
        assert_eq!(
            self.session
                .respond(id, Ok(serde_json::json!({})))
                .unwrap_err(),
            as_request
        );
        assert!(!self.session.cancel(self.now, RequestId(1), None));
        self.session.close(self.now);
        assert_eq!(
            self.session.error(),
            Some(error),
            "close() after a failure keeps the first error"
        );
        for x in 0..8 {
            self.json(ExchangeId(x), 200, &response_line(x, "{}"));
        }
        self.stdout(&response_line(1, "{}"));
        self.advance(Duration::from_secs(3600));
        assert!(
            self.take().is_empty(),
            "no input does new work after the session failed"
        );
        assert_eq!(self.session.poll_timeout(), None);
    }
}

/// The protocol version the client offers.
pub const LATEST: &str = "2025-11-25";

/// A `server/discover` result of a server of 2026-07-28 only.
pub const DISCOVER_RESULT: &str = r#"{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":true}},"instructions":"be kind","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"modern","version":"2"}},"ttlMs":0,"cacheScope":"private"}"#;

/// An `initialize` result choosing `version`.
pub fn init_result(version: &str) -> String {
    format!(
        r#"{{"protocolVersion":"{version}","capabilities":{{"tools":{{}}}},"serverInfo":{{"name":"scripted","version":"1"}}}}"#
    )
}

/// A header of a transmitted request, as text.
pub fn header<'a>(sent: &'a Sent, name: &str) -> Option<&'a str> {
    sent.headers.get(name).map(|v| v.to_str().unwrap())
}

/// The POST among `sent` that carries request `id`.
pub fn post_of(sent: &[Sent], id: RequestId) -> &Sent {
    sent.iter()
        .find(|s| s.body["id"] == id.0 && s.body.get("method").is_some())
        .unwrap_or_else(|| panic!("no POST for {id:?} in {sent:?}"))
}

/// The transmitted notifications among `sent` with this method.
pub fn notifications<'a>(sent: &'a [Sent], method: &str) -> Vec<&'a Sent> {
    sent.iter()
        .filter(|s| s.body["method"] == method && s.body.get("id").is_none())
        .collect()
}

/// Checks DESIGN.md's session-fatal shape: the events end with one completion per id of
/// `ids`, in ascending id, all with the same error, then exactly one `Closed` with it, the
/// last event. Returns the error.
pub fn assert_session_failed(events: &[Event], ids: &[RequestId]) -> SessionError {
    let closed: Vec<&SessionError> = events
        .iter()
        .filter_map(|e| match e {
            Event::Closed(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 1, "exactly one Closed: {events:?}");
    assert!(
        matches!(events.last(), Some(Event::Closed(_))),
        "Closed is the last event: {events:?}"
    );
    assert!(
        events.len() > ids.len(),
        "a completion per outstanding request: {events:?}"
    );
    let error = closed[0].clone();
    let tail = &events[events.len() - 1 - ids.len()..events.len() - 1];
    let done = responses(tail);
    assert_eq!(
        done.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids,
        "every outstanding request, ascending, just before Closed: {events:?}"
    );
    for (id, r) in &done {
        assert_eq!(
            r.as_ref().unwrap_err(),
            &RequestError::Session(error.clone()),
            "{id:?} fails with the session error"
        );
    }
    error
}

/// The error a completion failed with.
pub fn error_of(result: &Result<String, RequestError>) -> RequestError {
    result.clone().expect_err("the request should have failed")
}

/// The completions among `events`, in order.
pub fn responses(events: &[Event]) -> Vec<(RequestId, Result<String, RequestError>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { id, result } => Some((
                *id,
                result
                    .as_ref()
                    .map(|r| r.get().to_owned())
                    .map_err(Clone::clone),
            )),
            _ => None,
        })
        .collect()
}

/// The warnings among `events`, in order.
pub fn warnings(events: &[Event]) -> Vec<Warning> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

/// A JSON-RPC response line answering request `id` with `result`.
pub fn response_line(id: u64, result: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
}

/// The harness's unchecked side, for the benches: the same fake server without the checks of
/// [`Harness`], so that a timed section measures the session alone. Everything here runs in a
/// bench's untimed setup but [`head`](raw::head), [`body`](raw::body), [`end`](raw::end) and
/// [`drain`](raw::drain), which the timed routines call.
pub mod raw {
    use std::time::Instant;

    use http::header::CONTENT_TYPE;
    use http::{HeaderMap, HeaderValue, Method, StatusCode};

    use super::INIT_RESULT;
    use crate::{Config, Event, ExchangeId, Input, Output, Policy, RequestId, Session, Transmit};

    /// Response heads, built once, outside the timed sections (an adapter gets them from hyper).
    pub struct Heads {
        /// `application/json`.
        pub json: HeaderMap,
        /// `application/json` and `Mcp-Session-Id`.
        pub json_with_session: HeaderMap,
        /// `text/event-stream`.
        pub sse: HeaderMap,
        /// No headers.
        pub none: HeaderMap,
    }

    impl Heads {
        /// The heads.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Heads {
            let mut json = HeaderMap::new();
            json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let mut json_with_session = json.clone();
            json_with_session.insert(
                "mcp-session-id",
                HeaderValue::from_static("bench-session-1"),
            );
            let mut sse = HeaderMap::new();
            sse.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            Heads {
                json,
                json_with_session,
                sse,
                none: HeaderMap::new(),
            }
        }
    }

    /// A response head.
    pub fn head(
        s: &mut Session,
        now: Instant,
        exchange: ExchangeId,
        status: u16,
        headers: &HeaderMap,
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        s.handle_input(
            now,
            Input::ResponseHead {
                exchange,
                status,
                headers,
            },
        );
    }

    /// A body chunk.
    pub fn body(s: &mut Session, now: Instant, exchange: ExchangeId, data: &[u8]) {
        s.handle_input(now, Input::ResponseBody { exchange, data });
    }

    /// The end of a body.
    pub fn end(s: &mut Session, now: Instant, exchange: ExchangeId) {
        s.handle_input(now, Input::ResponseEnd { exchange });
    }

    /// Moves the session's outputs into `out` until it says `Wait`.
    pub fn drain(s: &mut Session, out: &mut Vec<Output>) {
        loop {
            match s.poll_output() {
                Output::Wait(_) => return,
                o => out.push(o),
            }
        }
    }

    /// The HTTP requests among `outputs`: exchange and method.
    fn transmits(outputs: Vec<Output>) -> Vec<(ExchangeId, Method)> {
        outputs
            .into_iter()
            .filter_map(|o| match o {
                Output::Transmit(Transmit::Http {
                    exchange, request, ..
                }) => Some((exchange, request.method().clone())),
                _ => None,
            })
            .collect()
    }

    /// A ready HTTP session: `initialize` answered with a session id, `notifications/initialized`
    /// answered 202, and the optional GET stream answered 405 (so no exchange is left open; the
    /// session is ready once the GET stream is answered).
    pub fn ready_http(now: Instant, heads: &Heads) -> Session {
        // Every request gets its exchange at once, as before the exchange cap: the benches
        // measure what the session does per message, not the cap's queue.
        let policy = Policy::default().with_max_concurrent_exchanges(usize::MAX);
        let mut s = Session::http(
            now,
            "http://127.0.0.1:9/mcp".parse().unwrap(),
            Config::default()
                .with_policy(policy)
                .with_revision(crate::Revision::Legacy),
        );
        let mut out = Vec::new();
        drain(&mut s, &mut out);
        let sent = transmits(std::mem::take(&mut out));
        assert_eq!(sent.len(), 1, "initialize only");
        let init = sent[0].0;
        head(&mut s, now, init, 200, &heads.json_with_session);
        let response = format!(r#"{{"jsonrpc":"2.0","id":0,"result":{INIT_RESULT}}}"#);
        body(&mut s, now, init, response.as_bytes());
        end(&mut s, now, init);
        // Answer whatever the handshake sends (the notification, the GET stream) until `Ready`.
        let mut ready = false;
        for _ in 0..4 {
            drain(&mut s, &mut out);
            ready |= out.iter().any(|o| matches!(o, Output::Event(Event::Ready)));
            for (exchange, method) in transmits(std::mem::take(&mut out)) {
                let status = if method == Method::GET { 405 } else { 202 };
                head(&mut s, now, exchange, status, &heads.none);
                end(&mut s, now, exchange);
            }
            if ready {
                break;
            }
        }
        drain(&mut s, &mut out);
        assert!(ready && s.is_ready(), "ready");
        // Only aborts (the 405 makes the session drop the GET exchange) may follow.
        assert!(
            out.iter().all(|o| matches!(o, Output::Abort(_))),
            "nothing more after the handshake: {out:?}"
        );
        s
    }

    /// Starts `n` `tools/call` requests on a ready session and takes their POSTs; returns the
    /// exchange of each request, in request order (request ids are 1..=n).
    pub fn start_requests(s: &mut Session, now: Instant, n: usize) -> Vec<ExchangeId> {
        let params = serde_json::json!({"name": "echo", "arguments": {"message": "x"}});
        for i in 0..n {
            let id = s
                .request(now, "tools/call", Some(params.clone()), Default::default())
                .unwrap();
            assert_eq!(id, RequestId(i as u64 + 1));
        }
        let mut out = Vec::with_capacity(n);
        drain(s, &mut out);
        let sent = transmits(out);
        assert_eq!(sent.len(), n);
        sent.into_iter().map(|(x, _)| x).collect()
    }

    /// A Vec for `n` outputs whose memory is already touched, so that the timed section does not
    /// pay the page faults of first use (an adapter handles each output as it comes and keeps none).
    pub fn output_vec(n: usize) -> Vec<Output> {
        let mut v = Vec::with_capacity(n);
        v.resize_with(n, || Output::Wait(None));
        v.clear();
        v
    }

    /// Counts the successful completions among `outputs`, and checks there is nothing else.
    pub fn count_ok(outputs: &[Output]) -> usize {
        outputs
            .iter()
            .filter(|o| match o {
                Output::Event(Event::Response { result: Ok(_), .. }) => true,
                Output::Abort(_) => false,
                other => panic!("unexpected output {other:?}"),
            })
            .count()
    }
}
