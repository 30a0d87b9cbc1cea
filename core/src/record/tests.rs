//! The recorder and the replay on scripted sessions.

use std::time::{Duration, Instant};

use ::http::{HeaderMap, HeaderValue, StatusCode};

use super::*;
use crate::{ExchangeId, Input, Output, Session, Transmit};

/// A session with a recorder, driven as an adapter would.
struct Rec {
    session: Session,
    rec: Recorder,
    now: Instant,
    /// Everything transmitted: (exchange, kind, JSON-RPC id and method of its body).
    sent: Vec<(ExchangeId, crate::ExchangeKind, Option<u64>, Option<String>)>,
    stdin: Vec<serde_json::Value>,
    events: Vec<String>,
}

impl Rec {
    fn http(config: Config, options: RecordOptions) -> Rec {
        let t0 = Instant::now();
        let uri: ::http::Uri = "http://127.0.0.1:9/mcp".parse().unwrap();
        let rec = Recorder::new(t0, Some(&uri), &config, options);
        let session = Session::http(t0, uri, config);
        Rec::around(t0, session, rec)
    }

    fn sse(config: Config) -> Rec {
        let t0 = Instant::now();
        let uri: ::http::Uri = "http://127.0.0.1:9/sse".parse().unwrap();
        let rec = Recorder::new_sse(t0, &uri, &config, RecordOptions::default());
        let session = Session::sse(t0, uri, config);
        Rec::around(t0, session, rec)
    }

    fn stdio(config: Config) -> Rec {
        Rec::stdio_with(config, RecordOptions::default())
    }

    fn stdio_with(config: Config, options: RecordOptions) -> Rec {
        let t0 = Instant::now();
        let rec = Recorder::new(t0, None, &config, options);
        Rec::around(t0, Session::stdio(t0, config), rec)
    }

    fn around(t0: Instant, session: Session, rec: Recorder) -> Rec {
        let mut r = Rec {
            session,
            rec,
            now: t0,
            sent: Vec::new(),
            stdin: Vec::new(),
            events: Vec::new(),
        };
        r.drain();
        r
    }

    fn drain(&mut self) {
        loop {
            let o = self.session.poll_output();
            self.rec.output(&o);
            match o {
                Output::Wait(_) => return,
                Output::Transmit(Transmit::Http {
                    exchange,
                    kind,
                    request,
                }) => {
                    let body: serde_json::Value =
                        serde_json::from_slice(request.body()).unwrap_or_default();
                    let id = body["id"].as_u64();
                    let method = body["method"].as_str().map(str::to_owned);
                    self.sent.push((exchange, kind, id, method));
                }
                Output::Transmit(Transmit::Stdin(bytes)) => {
                    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        self.stdin.push(serde_json::from_slice(line).unwrap());
                    }
                }
                Output::Event(e) => self.events.push(format!("{e:?}")),
                _ => {}
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.rec.input(self.now, &input);
        self.session.handle_input(self.now, input);
        self.drain();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn last(&self, method: &str) -> (ExchangeId, Option<u64>) {
        let s = self
            .sent
            .iter()
            .rev()
            .find(|s| s.3.as_deref() == Some(method))
            .unwrap_or_else(|| panic!("no {method} sent: {:?}", self.sent));
        (s.0, s.2)
    }

    fn respond(&mut self, x: ExchangeId, status: u16, headers: &[(&str, &str)], body: &str) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                ::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        self.input(Input::ResponseHead {
            exchange: x,
            status: StatusCode::from_u16(status).unwrap(),
            headers: &map,
        });
        // Two chunks, cut in the middle, as the network might.
        let (a, b) = body.as_bytes().split_at(body.len() / 2);
        self.input(Input::ResponseBody {
            exchange: x,
            data: a,
        });
        self.input(Input::ResponseBody {
            exchange: x,
            data: b,
        });
        self.input(Input::ResponseEnd { exchange: x });
    }

    fn request(&mut self, method: &str, params: serde_json::Value) -> crate::RequestId {
        let options = RequestOptions::default();
        let result = self
            .session
            .request(self.now, method, Some(params.clone()), options.clone());
        self.rec
            .request(self.now, method, Some(&params), &options, &result);
        self.drain();
        result.unwrap()
    }

    fn request_with(
        &mut self,
        method: &str,
        params: serde_json::Value,
        options: RequestOptions,
    ) -> Result<crate::RequestId, crate::RequestError> {
        let result = self
            .session
            .request(self.now, method, Some(params.clone()), options.clone());
        self.rec
            .request(self.now, method, Some(&params), &options, &result);
        self.drain();
        result
    }

    fn text(&mut self) -> String {
        self.rec.take()
    }
}

const INIT: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}"#;

fn legacy() -> Config {
    Config::default().with_revision(crate::Revision::Legacy)
}

/// The handshake of the 2025 era, with a session id; the GET stream refused.
fn handshake(r: &mut Rec) {
    let (init, id) = r.last("initialize");
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{INIT}}}"#,
        id.unwrap()
    );
    r.respond(
        init,
        200,
        &[
            ("content-type", "application/json"),
            ("mcp-session-id", "s-1"),
        ],
        &body,
    );
    let (note, _) = r.last("notifications/initialized");
    r.respond(note, 202, &[], "");
    let get = r.sent.last().unwrap().0;
    r.respond(get, 405, &[], "");
    assert!(r.events.iter().any(|e| e == "Ready"), "{:?}", r.events);
}

#[test]
fn a_requests_trace_context_and_task_option_are_recorded_and_replayed() {
    let mut r = Rec::http(legacy(), RecordOptions::default());
    handshake(&mut r);
    let trace = crate::trace::TraceContext::new(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        Some("v=1"),
    )
    .unwrap();
    let traced = RequestOptions::default().with_trace(Some(trace));
    r.request_with("tools/list", serde_json::json!({}), traced)
        .unwrap();
    // This server runs nothing as a task: refused at once, as the replay must be too.
    let task = RequestOptions::default().with_task(Some(
        crate::TaskOptions::default().with_ttl(Some(Duration::from_secs(9))),
    ));
    assert!(r
        .request_with("tools/call", serde_json::json!({"name": "x"}), task)
        .is_err());
    let text = r.text();
    assert!(text.contains("\"trace\":[\"00-4bf92f35"), "{text}");
    assert!(text.contains("\"task\":9000000000"), "{text}");
    // Replayed: the same body (its `_meta.traceparent`), the same refusal.
    replay(&text, Instant::now()).unwrap();
}

/// A session that makes a call, gets its answer, then a 503 on the next call.
fn session_with_503() -> String {
    let mut r = Rec::http(legacy(), RecordOptions::default());
    handshake(&mut r);
    r.advance(Duration::from_millis(3));
    r.request(
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {"m": "x"}}),
    );
    let (x, id) = r.last("tools/call");
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":"x"}}]}}}}"#,
        id.unwrap()
    );
    r.advance(Duration::from_millis(2));
    r.respond(x, 200, &[("content-type", "application/json")], &answer);
    r.request(
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {"m": "y"}}),
    );
    let (x, _) = r.last("tools/call");
    r.advance(Duration::from_millis(1));
    r.respond(x, 503, &[("retry-after", "7")], "overloaded");
    assert!(r.session.is_closed());
    r.text()
}

#[test]
fn an_http_sse_session_replays_to_the_same_outputs() {
    let mut r = Rec::sse(Config::default());
    let get = r.sent[0].0;
    let sse = |r: &mut Rec, text: &str| {
        r.input(Input::ResponseBody {
            exchange: get,
            data: text.as_bytes(),
        })
    };
    let mut head = HeaderMap::new();
    head.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    r.input(Input::ResponseHead {
        exchange: get,
        status: StatusCode::OK,
        headers: &head,
    });
    sse(&mut r, "event: endpoint\ndata: /messages?sessionId=r\n\n");
    let (init, id) = r.last("initialize");
    r.respond(init, 202, &[], "Accepted");
    let init_result = INIT.replace("2025-11-25", crate::LEGACY_SSE_PROTOCOL_VERSION);
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{init_result}}}"#,
        id.unwrap()
    );
    sse(&mut r, &format!("event: message\ndata: {answer}\n\n"));
    assert!(r.events.iter().any(|e| e == "Ready"), "{:?}", r.events);
    r.request("tools/list", serde_json::json!({}));
    let (x, id) = r.last("tools/list");
    r.respond(x, 202, &[], "");
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"tools":[]}}}}"#,
        id.unwrap()
    );
    sse(&mut r, &format!("data: {answer}\n\n"));
    r.input(Input::ResponseEnd { exchange: get });
    assert!(r.session.is_closed());
    let text = r.text();
    assert!(text.contains("legacy_sse"), "{text}");
    let done = replay(&text, Instant::now()).unwrap();
    assert!(done.steps > 5 && done.outputs > 5, "{done:?}");
    let closed = done.closed.expect("the replay saw the session close");
    assert!(closed.contains("event stream ended"), "{closed}");
}

#[test]
fn an_http_session_replays_to_the_same_outputs() {
    let text = session_with_503();
    assert!(text.lines().count() > 20, "{text}");
    let done = replay(&text, Instant::now()).unwrap();
    assert!(done.steps > 10 && done.outputs > 10, "{done:?}");
    let closed = done.closed.expect("the replay saw the session close");
    assert!(closed.contains("503"), "{closed}");
    assert!(!done.truncated);
}

#[test]
fn a_changed_input_is_reported_at_the_first_output_that_differs() {
    let text = session_with_503();
    // The answer to the first call, its second half: `"x"}]}}` becomes `"z"}]}}`.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(r#""k":"in""#) && l.contains(r#"\"x\"}]}}"#))
        .expect("the answer's chunk");
    let changed: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match i == at {
            true => l.replace(r#"\"x\"}]}}"#, r#"\"z\"}]}}"#),
            false => (*l).to_owned(),
        })
        .collect();
    let err = replay(&changed.join("\n"), Instant::now()).unwrap_err();
    // The first output after the changed input: the call's completion, with another digest.
    let expected_line = lines[at + 1..]
        .iter()
        .position(|l| l.contains(r#""response""#))
        .map(|i| at + 1 + i + 1)
        .unwrap();
    assert_eq!(err.line, expected_line, "{err}");
    match &err.mismatch {
        Mismatch::Output { expected, found } => {
            assert!(matches!(
                **expected,
                OutputRecord::Event(EventRecord::Response { .. })
            ));
            assert_ne!(expected, found);
        }
        other => panic!("{other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with(&format!("line {expected_line}: ")));
}

#[test]
fn a_changed_deadline_is_reported_as_a_wait_divergence() {
    let text = session_with_503();
    let changed = text.replacen(
        r#""request_timeout":{"secs":60,"nanos":0}"#,
        r#""request_timeout":{"secs":61,"nanos":0}"#,
        1,
    );
    assert_ne!(changed, text, "the policy is in the header");
    let err = replay(&changed, Instant::now()).unwrap_err();
    assert!(matches!(err.mismatch, Mismatch::Wait { .. }), "{err}");
}

#[test]
fn a_recording_that_is_not_one_is_a_typed_error() {
    let e = replay("", Instant::now()).unwrap_err();
    assert!(matches!(e.mismatch, Mismatch::Malformed { .. }));
    let e = replay(r#"{"mcpwire_recording":99}"#, Instant::now()).unwrap_err();
    assert_eq!(e.mismatch, Mismatch::Version { found: 99 });
    let text = session_with_503();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "{not json");
    let e = replay(&lines.join("\n"), Instant::now()).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(matches!(e.mismatch, Mismatch::Malformed { .. }));
}

#[test]
fn the_size_cap_ends_the_recording_with_a_marker() {
    let mut r = Rec::http(legacy(), RecordOptions::default().with_limit(4096));
    handshake(&mut r);
    for _ in 0..20 {
        r.request("tools/list", serde_json::json!({}));
    }
    assert!(r.rec.is_truncated());
    let text = r.text();
    assert!(text.len() <= 4096, "{}", text.len());
    let last = text.lines().last().unwrap();
    assert_eq!(last, r#"{"k":"truncated","limit":4096}"#);
    let done = replay(&text, Instant::now()).unwrap();
    assert!(done.truncated);
}

#[test]
fn a_sensitive_header_is_redacted_and_the_recording_still_replays() {
    let mut secret = HeaderValue::from_static("Bearer header-secret-1234");
    secret.set_sensitive(true);
    let config = legacy().with_header(::http::header::AUTHORIZATION, secret);
    let mut r = Rec::http(config, RecordOptions::default());
    handshake(&mut r);
    r.request("tools/list", serde_json::json!({}));
    let text = r.text();
    assert!(!text.contains("header-secret-1234"), "{text}");
    assert!(text.contains(r#"["authorization","<redacted>"]"#), "{text}");
    replay(&text, Instant::now()).unwrap();
}

#[test]
fn secrets_of_the_oauth_flow_are_redacted() {
    let t0 = Instant::now();
    let mut rec = Recorder::new(t0, None, &Config::default(), RecordOptions::default());
    let request = ::http::Request::post("https://as.example/token")
        .body(b"grant_type=authorization_code&code=the-code&code_verifier=the-verifier".to_vec())
        .unwrap();
    let x = ExchangeId(7);
    rec.output(&Output::Transmit(Transmit::Http {
        exchange: x,
        kind: crate::ExchangeKind::Auth,
        request: Box::new(request),
    }));
    let body = br#"{"access_token":"tok-SECRET-a","token_type":"Bearer","refresh_token":"tok-SECRET-r","expires_in":60}"#;
    let (a, b) = body.split_at(30);
    rec.input(
        t0,
        &Input::ResponseBody {
            exchange: x,
            data: a,
        },
    );
    rec.input(
        t0,
        &Input::ResponseBody {
            exchange: x,
            data: b,
        },
    );
    // Held until its end, not redacted yet: not in `Debug` either.
    let shown = format!("{rec:?}");
    let as_bytes = format!("{:?}", b"tok-SECRET");
    let as_bytes = as_bytes.trim_matches(|c| c == '[' || c == ']');
    assert!(
        !shown.contains("SECRET") && !shown.contains(as_bytes),
        "{shown}"
    );
    rec.input(t0, &Input::ResponseEnd { exchange: x });
    rec.redirect(t0, Ok("http://127.0.0.1:1/cb?code=the-code&state=s1"));
    let text = rec.take();
    for secret in ["tok-SECRET", "the-code", "the-verifier"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // The body comes whole, before its end, with the rest of the answer kept.
    let lines: Vec<&str> = text.lines().collect();
    let whole = lines.iter().position(|l| l.contains("token_type")).unwrap();
    assert!(lines[whole + 1].contains(r#""end""#), "{text}");
    assert!(
        lines[whole].contains(r#"\"access_token\":\"<redacted>\""#),
        "{text}"
    );
    assert!(text.contains("state=s1"), "{text}");
}

#[test]
fn the_assertions_of_the_jwt_bearer_grant_and_the_token_exchange_are_redacted() {
    let digest = |body: &str| {
        let request = ::http::Request::post("https://as.example/token")
            .body(body.as_bytes().to_vec())
            .unwrap();
        describe(
            &Output::Transmit(Transmit::Http {
                exchange: ExchangeId(1),
                kind: crate::ExchangeKind::Auth,
                request: Box::new(request),
            }),
            false,
        )
    };
    for key in ["assertion", "subject_token", "actor_token"] {
        let real = digest(&format!("grant_type=x&{key}=eyJ.SECRET.sig"));
        assert_eq!(
            real,
            digest(&format!("grant_type=x&{key}={REDACTED}")),
            "{key}"
        );
        assert!(!format!("{real:?}").contains("SECRET"));
    }
    assert_eq!(
        redact_form(b"grant_type=x&assertion=eyJ.SECRET.sig&scope=a"),
        format!("grant_type=x&assertion={REDACTED}&scope=a")
    );
}

#[test]
fn the_digest_of_an_oauth_form_is_taken_with_its_secrets_redacted() {
    let form = |code: &str| {
        let request = ::http::Request::post("https://as.example/token")
            .body(format!("grant_type=authorization_code&code={code}").into_bytes())
            .unwrap();
        describe(
            &Output::Transmit(Transmit::Http {
                exchange: ExchangeId(1),
                kind: crate::ExchangeKind::Auth,
                request: Box::new(request),
            }),
            false,
        )
    };
    assert_eq!(form("real"), form(REDACTED));
    let other = ::http::Request::post("https://as.example/token")
        .body(b"grant_type=refresh_token".to_vec())
        .unwrap();
    let other = describe(
        &Output::Transmit(Transmit::Http {
            exchange: ExchangeId(1),
            kind: crate::ExchangeKind::Auth,
            request: Box::new(other),
        }),
        false,
    );
    assert_ne!(form("real"), other);
}

#[test]
fn redacted_payloads_are_not_recorded_and_still_replay() {
    let mut r = Rec::http(
        legacy(),
        RecordOptions::default().with_redacted_payloads(true),
    );
    handshake(&mut r);
    r.request(
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {"m": "private-argument"}}),
    );
    let (x, id) = r.last("tools/call");
    let answer = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, id.unwrap());
    r.respond(x, 200, &[("content-type", "application/json")], &answer);
    let text = r.text();
    assert!(!text.contains("private-argument"), "{text}");
    assert!(text.contains(r#""payloads_redacted":true"#));
    assert!(
        text.contains(r#""name":"echo""#),
        "the tool's name stays: {text}"
    );
    replay(&text, Instant::now()).unwrap();
}

#[test]
fn a_stdio_session_whose_child_exits_replays() {
    let mut r = Rec::stdio(legacy());
    let id = r.stdin[0]["id"].as_u64().unwrap();
    assert_eq!(r.stdin[0]["method"], "initialize");
    let line = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{INIT}}}\n");
    let (a, b) = line.as_bytes().split_at(10);
    r.input(Input::Stdout(a));
    r.input(Input::Stdout(b));
    let written: usize = serde_json::to_vec(&r.stdin).unwrap().len();
    r.input(Input::StdinWritten { bytes: written });
    r.request("tools/list", serde_json::json!({}));
    r.advance(Duration::from_millis(5));
    r.input(Input::ProcessExited { code: Some(3) });
    assert!(r.session.is_closed());
    let text = r.text();
    let done = replay(&text, Instant::now()).unwrap();
    assert!(done.closed.unwrap().contains('3'));
    // The exit code is an input: another one is another ending.
    let changed = text.replace(r#"{"exited":{"code":3}}"#, r#"{"exited":{"code":4}}"#);
    assert_ne!(changed, text);
    let err = replay(&changed, Instant::now()).unwrap_err();
    assert!(matches!(err.mismatch, Mismatch::Output { .. }), "{err}");
}

#[test]
fn a_timeline_line_reads_as_what_happened() {
    let text = session_with_503();
    let rec = Recording::parse(&text).unwrap();
    let shown: Vec<String> = rec
        .lines
        .iter()
        .filter_map(|(_, l)| match l {
            Line::Cmd { cmd, .. } => Some(cmd.to_string()),
            Line::In { input, .. } => Some(input.to_string()),
            Line::Out { out } => Some(out.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        shown.iter().any(|s| s == "request #1 tools/call"),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.ends_with(": HTTP 503 Service Unavailable")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("event: session closed: ")),
        "{shown:?}"
    );
}

#[test]
fn the_hand_written_lines_are_the_serde_lines() {
    let t0 = Instant::now();
    let mut rec = Recorder::new(t0, None, &Config::default(), RecordOptions::default());
    let _header = rec.take();
    let text = "data: {\"a\":\"é\\n\\\"\"}\n\n\u{1}";
    let later = t0 + Duration::from_nanos(1234);
    rec.input(
        later,
        &Input::ResponseBody {
            exchange: ExchangeId(9),
            data: text.as_bytes(),
        },
    );
    rec.input(later, &Input::Stdout(text.as_bytes()));
    rec.output(&Output::Wait(Some(t0 + Duration::from_secs(2))));
    rec.output(&Output::Wait(None));
    let written = rec.take();
    let expected = [
        Line::In {
            t: 1234,
            input: InputRecord::Body {
                x: 9,
                data: Data::Text(text.into()),
            },
        },
        Line::In {
            t: 1234,
            input: InputRecord::Stdout {
                data: Data::Text(text.into()),
            },
        },
        Line::Wait {
            at: Some(2_000_000_000),
        },
        Line::Wait { at: None },
    ];
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{written}");
    for (line, want) in lines.iter().zip(&expected) {
        assert_eq!(*line, serde_json::to_string(want).unwrap());
        assert_eq!(&serde_json::from_str::<Line>(line).unwrap(), want);
    }
}

#[test]
fn redacted_payloads_leave_tool_results_out_of_sse_and_stdout() {
    let mut r = Rec::http(
        legacy(),
        RecordOptions::default().with_redacted_payloads(true),
    );
    handshake(&mut r);
    r.request(
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {}}),
    );
    let (x, id) = r.last("tools/call");
    let event = format!(
        "id: e1\ndata: {{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"private-result\"}}]}}}}\n\n",
        id.unwrap()
    );
    // The head, then the event cut inside the result.
    r.respond(x, 200, &[("content-type", "text/event-stream")], &event);
    assert!(
        r.events.iter().any(|e| e.contains("Response")),
        "{:?}",
        r.events
    );
    let text = r.text();
    assert!(!text.contains("private-result"), "{text}");
    assert!(text.contains(r#"\"content\":\"<redacted>\""#), "{text}");
    replay(&text, Instant::now()).unwrap();

    // Over stdio: the answer's line cut in two, then the child exits.
    let mut r = Rec::stdio_with(
        legacy(),
        RecordOptions::default().with_redacted_payloads(true),
    );
    let id = r.stdin[0]["id"].as_u64().unwrap();
    r.input(Input::Stdout(
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{INIT}}}\n").as_bytes(),
    ));
    r.request(
        "tools/call",
        serde_json::json!({"name": "echo", "arguments": {}}),
    );
    let call = r.stdin.last().unwrap()["id"].as_u64().unwrap();
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{call},\"result\":{{\"structuredContent\":{{\"secret\":\"private-result\"}}}}}}\n"
    );
    let (a, b) = line.as_bytes().split_at(line.len() - 12);
    r.input(Input::Stdout(a));
    r.input(Input::Stdout(b));
    r.input(Input::ProcessExited { code: Some(0) });
    assert!(r.events.iter().filter(|e| e.contains("Response")).count() == 1);
    let text = r.text();
    assert!(!text.contains("private-result"), "{text}");
    let done = replay(&text, Instant::now()).unwrap();
    assert!(done.closed.is_some());
}

#[test]
fn the_same_wait_twice_is_recorded_once() {
    let t0 = Instant::now();
    let mut rec = Recorder::new(t0, None, &Config::default(), RecordOptions::default());
    let _header = rec.take();
    let at = Some(t0 + Duration::from_secs(1));
    rec.output(&Output::Wait(at));
    rec.output(&Output::Wait(at));
    assert_eq!(rec.take().lines().count(), 1);
    // An adapter that wakes only to write its recording out polls the same wait again.
    rec.output(&Output::Wait(at));
    assert_eq!(rec.take(), "");
    rec.output(&Output::Wait(None));
    rec.input(t0, &Input::Timeout);
    rec.output(&Output::Wait(None));
    assert_eq!(rec.take().lines().count(), 3);
}
