//! A tiny scripted transport for driving a `Session` in benches (benches cannot import
//! `core/tests/support`; this is the part of it the benches need): the HTTP handshake, starting
//! requests, and draining outputs. Everything here runs in criterion's untimed setup, except
//! [`head`], [`body`], [`end`] and [`drain`], which the timed routines call.
#![allow(dead_code)]

use std::time::Instant;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mcpwire_core::{Config, Event, ExchangeId, Input, Output, RequestId, Session, Transmit};

pub const INIT_RESULT: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"bench","version":"1"}}"#;

/// Response heads, built once, outside the timed sections (an adapter gets them from hyper).
pub struct Heads {
    pub json: HeaderMap,
    pub json_with_session: HeaderMap,
    pub sse: HeaderMap,
    pub none: HeaderMap,
}

impl Heads {
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

pub fn head(s: &mut Session, now: Instant, exchange: ExchangeId, status: u16, headers: &HeaderMap) {
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

pub fn body(s: &mut Session, now: Instant, exchange: ExchangeId, data: &[u8]) {
    s.handle_input(now, Input::ResponseBody { exchange, data });
}

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
    let mut s = Session::http(
        now,
        "http://127.0.0.1:9/mcp".parse().unwrap(),
        Config::default(),
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
