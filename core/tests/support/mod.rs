//! A scripted transport for driving a `Session` in tests: a virtual clock, helpers that play
//! the server's side of HTTP exchanges and stdio, and output collection.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use mcpwire_core::{Config, Error, Event, ExchangeId, Input, Output, RequestId, Session, Transmit, Warning};

pub const INIT_RESULT: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}"#;

/// A session with a virtual clock and everything it output so far, not yet inspected.
pub struct Harness {
    pub session: Session,
    pub t0: Instant,
    pub now: Instant,
    pub outputs: Vec<Output>,
}

/// What a transmitted HTTP request was.
#[derive(Debug)]
pub struct Sent {
    pub exchange: ExchangeId,
    pub method: http::Method,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl Harness {
    pub fn http_with(config: Config) -> Self {
        let t0 = Instant::now();
        let session = Session::http(t0, "http://127.0.0.1:9/mcp".parse().unwrap(), config);
        Harness { session, t0, now: t0, outputs: Vec::new() }
    }

    pub fn http() -> Self {
        Self::http_with(Config::default())
    }

    pub fn stdio_with(config: Config) -> Self {
        let t0 = Instant::now();
        let session = Session::stdio(t0, config);
        Harness { session, t0, now: t0, outputs: Vec::new() }
    }

    pub fn stdio() -> Self {
        Self::stdio_with(Config::default())
    }

    /// Drains the session's output into `outputs` (until `Wait`).
    pub fn drain(&mut self) -> Option<Instant> {
        for _ in 0..100_000 {
            match self.session.poll_output() {
                Output::Wait(t) => return t,
                o => self.outputs.push(o),
            }
        }
        panic!("poll_output never said Wait");
    }

    /// Takes the collected outputs.
    pub fn take(&mut self) -> Vec<Output> {
        self.drain();
        std::mem::take(&mut self.outputs)
    }

    /// Takes the collected events only (transmits and aborts are dropped).
    pub fn events(&mut self) -> Vec<Event> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// Takes the HTTP requests transmitted so far (other outputs are kept).
    pub fn sent(&mut self) -> Vec<Sent> {
        self.drain();
        let mut sent = Vec::new();
        let mut rest = Vec::new();
        for o in std::mem::take(&mut self.outputs) {
            match o {
                Output::Transmit(Transmit::Http { exchange, request }) => {
                    let (parts, body) = request.into_parts();
                    let body = if body.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&body).unwrap() };
                    sent.push(Sent { exchange, method: parts.method, headers: parts.headers, body });
                }
                o => rest.push(o),
            }
        }
        self.outputs = rest;
        sent
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

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_input(self.now, Input::Timeout);
    }

    pub fn head(&mut self, exchange: ExchangeId, status: u16, headers: &[(&str, &str)]) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        let status = StatusCode::from_u16(status).unwrap();
        self.session.handle_input(self.now, Input::ResponseHead { exchange, status, headers: &map });
    }

    pub fn body(&mut self, exchange: ExchangeId, data: &str) {
        self.session.handle_input(self.now, Input::ResponseBody { exchange, data: data.as_bytes() });
    }

    pub fn end(&mut self, exchange: ExchangeId) {
        self.session.handle_input(self.now, Input::ResponseEnd { exchange });
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

    pub fn stdout(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.session.handle_input(self.now, Input::Stdout(&bytes));
    }

    /// Runs the HTTP handshake: answers `initialize` with a session id, checks the
    /// `initialized` notification, answers it 202, and returns the server-stream GET.
    pub fn ready_http(&mut self) -> Sent {
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].body["method"], "initialize");
        let init = sent[0].exchange;
        self.head(init, 200, &[("content-type", "application/json"), ("mcp-session-id", "sess-1")]);
        self.body(init, &format!(r#"{{"jsonrpc":"2.0","id":0,"result":{INIT_RESULT}}}"#));
        self.end(init);
        let mut sent = self.sent();
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
        let get = sent.pop().unwrap();
        assert_eq!(get.method, http::Method::GET);
        assert_eq!(sent[0].body["method"], "notifications/initialized");
        self.head(sent[0].exchange, 202, &[]);
        self.end(sent[0].exchange);
        // Requests queued before the handshake follow the notification; put them back.
        for s in sent.into_iter().skip(1) {
            self.outputs.push(Output::Transmit(Transmit::Http {
                exchange: s.exchange,
                request: {
                    let mut r = http::Request::new(serde_json::to_vec(&s.body).unwrap());
                    *r.headers_mut() = s.headers;
                    r
                },
            }));
        }
        get
    }

    /// Runs the stdio handshake.
    pub fn ready_stdio(&mut self) {
        let lines = self.stdin();
        assert_eq!(lines[0]["method"], "initialize");
        self.stdout(&format!(r#"{{"jsonrpc":"2.0","id":0,"result":{INIT_RESULT}}}"#));
        let lines = self.stdin();
        assert_eq!(lines[0]["method"], "notifications/initialized");
        assert!(self.events().iter().any(|e| matches!(e, Event::Ready)));
    }

    pub fn request(&mut self, method: &str) -> RequestId {
        self.session.request(self.now, method, None, Default::default()).unwrap()
    }
}

/// The completions among `events`, in order.
pub fn responses(events: &[Event]) -> Vec<(RequestId, Result<String, Error>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { id, result } => Some((*id, result.as_ref().map(|r| r.get().to_owned()).map_err(Clone::clone))),
            _ => None,
        })
        .collect()
}

pub fn warnings(events: &[Event]) -> Vec<Warning> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

pub fn response_line(id: u64, result: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
}
