//! What the server sends besides responses: notifications become events; `ping` is answered
//! by the core; sampling, elicitation and roots requests reach the application only when it
//! declared the capability, and are answered "method not found" otherwise; batches are taken
//! apart; a response may come on another stream than its POST.

mod support;

use mcpwire_core::jsonrpc::{ErrorObject, Id};
use mcpwire_core::schema::ServerNotification;
use mcpwire_core::{Config, Event, Warning};
use serde_json::json;
use support::*;

fn declared_everything() -> Config {
    let mut config = legacy();
    config.capabilities.sampling = Some(json!({}));
    config.capabilities.elicitation = Some(json!({"form": {}}));
    config.capabilities = config.capabilities.with_roots(true);
    config
}

const SERVER_REQUESTS: [&str; 3] = ["sampling/createMessage", "elicitation/create", "roots/list"];

#[test]
fn server_notifications_on_the_get_stream_are_delivered_as_events() {
    let mut h = Harness::http();
    let get = h.ready_http();
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        Some("1"),
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
    );
    h.sse_event(get.exchange, Some("2"), r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","data":{"x":1}}}"#);
    let events = h.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        &events[0],
        Event::Notification { notification, .. }
            if matches!(**notification, ServerNotification::ToolListChanged)
    ));
    assert!(
        matches!(&events[1], Event::Notification { notification, .. }
            if matches!(&**notification, ServerNotification::LoggingMessage(m) if m.data["x"] == 1))
    );
}

#[test]
fn a_server_ping_is_answered_with_an_empty_result_by_the_core_over_http() {
    let mut h = Harness::http();
    let get = h.ready_http();
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        Some("1"),
        r#"{"jsonrpc":"2.0","id":"ping-7","method":"ping"}"#,
    );
    let sent = h.sent();
    assert!(h.events().is_empty(), "the application never sees a ping");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, http::Method::POST);
    assert_eq!(
        sent[0].body,
        json!({"jsonrpc": "2.0", "id": "ping-7", "result": {}})
    );
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    assert!(h.take().is_empty());
}

#[test]
fn a_server_ping_is_answered_with_an_empty_result_by_the_core_over_stdio() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    h.stdout(r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#);
    assert_eq!(
        h.stdin(),
        vec![json!({"jsonrpc": "2.0", "id": 5, "result": {}})]
    );
    assert!(h.events().is_empty());
}

#[test]
fn a_ping_during_the_handshake_is_answered_too() {
    let mut h = Harness::stdio();
    h.stdin();
    h.stdout(r#"{"jsonrpc":"2.0","id":"early","method":"ping"}"#);
    assert_eq!(
        h.stdin(),
        vec![json!({"jsonrpc": "2.0", "id": "early", "result": {}})]
    );
}

#[test]
fn sampling_elicitation_and_roots_requests_are_surfaced_when_declared() {
    let mut h = Harness::stdio_with(declared_everything());
    h.ready_stdio();
    for (n, method) in SERVER_REQUESTS.iter().enumerate() {
        let params = valid_params(method);
        h.stdout(
            &json!({"jsonrpc": "2.0", "id": n, "method": method, "params": params}).to_string(),
        );
        let events = h.events();
        match &events[..] {
            [Event::Request { id, request }] => {
                assert_eq!((id, request.method()), (&Id::Number(n as i64), *method));
            }
            other => panic!("{method}: {other:?}"),
        }
        assert!(
            h.stdin().is_empty(),
            "{method}: the application answers, not the core"
        );
    }
}

/// Params each surfaced server request accepts.
fn valid_params(method: &str) -> serde_json::Value {
    match method {
        "sampling/createMessage" => json!({"messages": [], "maxTokens": 10}),
        "elicitation/create" => {
            json!({"message": "Name?", "requestedSchema": {"type": "object", "properties": {}}})
        }
        _ => json!({}),
    }
}

#[test]
fn declared_server_requests_with_invalid_params_are_answered_invalid_params_by_the_core() {
    let mut h = Harness::stdio_with(declared_everything());
    h.ready_stdio();
    for (n, method) in SERVER_REQUESTS[..2].iter().enumerate() {
        h.stdout(
            &json!({"jsonrpc": "2.0", "id": n, "method": method, "params": {"n": n}}).to_string(),
        );
        let events = h.events();
        assert!(events.is_empty(), "{method}: {events:?}");
        let answers = h.stdin();
        assert_eq!(answers.len(), 1, "{method}");
        assert_eq!(answers[0]["id"], json!(n));
        assert_eq!(answers[0]["error"]["code"], json!(-32602), "{method}");
    }
}

#[test]
fn undeclared_server_requests_are_answered_method_not_found() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    for method in SERVER_REQUESTS.iter().chain(&["tasks/get", "whatever"]) {
        h.stdout(&json!({"jsonrpc": "2.0", "id": "q", "method": method}).to_string());
        let lines = h.stdin();
        assert!(
            h.events().is_empty(),
            "{method}: the application never sees it"
        );
        assert_eq!(lines.len(), 1, "{method}");
        assert_eq!(lines[0]["id"], "q");
        assert_eq!(lines[0]["error"]["code"], -32601, "{method}");
        assert!(lines[0].get("result").is_none());
    }
}

#[test]
fn undeclared_server_requests_are_answered_method_not_found_over_http() {
    let mut h = Harness::http();
    let get = h.ready_http();
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        None,
        r#"{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{}}"#,
    );
    let sent = h.sent();
    assert!(h.events().is_empty());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["error"]["code"], -32601);
    assert_eq!(sent[0].body["id"], 3);
}

#[test]
fn respond_transmits_the_answer_over_http() {
    let mut h = Harness::http_with(declared_everything());
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    // The server asks on the request's own stream, as it does mid tool call.
    h.sse_head(x);
    h.sse_event(
        x,
        Some("1"),
        r#"{"jsonrpc":"2.0","id":"e1","method":"elicitation/create","params":{"message":"Name?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"}}}}}"#,
    );
    let events = h.events();
    let [Event::Request { id: server_id, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    h.session
        .respond(
            server_id.clone(),
            Ok(json!({"action": "accept", "content": {"name": "Ada"}})),
        )
        .unwrap();
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        json!({"jsonrpc": "2.0", "id": "e1", "result": {"action": "accept", "content": {"name": "Ada"}}})
    );
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    assert_eq!(header(&sent[0], "mcp-protocol-version"), Some("2025-11-25"));
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    h.sse_event(x, Some("2"), &response_line(id.0, r#"{"content":[]}"#));
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok(r#"{"content":[]}"#.to_owned()))]
    );
}

#[test]
fn respond_transmits_an_error_answer_over_stdio() {
    let mut h = Harness::stdio_with(declared_everything());
    h.ready_stdio();
    h.stdout(
        r#"{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":5}}"#,
    );
    h.events();
    h.session
        .respond(
            Id::Number(9),
            Err(ErrorObject::new(-1, "User rejected sampling request")),
        )
        .unwrap();
    assert_eq!(
        h.stdin(),
        vec![
            json!({"jsonrpc": "2.0", "id": 9, "error": {"code": -1, "message": "User rejected sampling request"}})
        ]
    );
}

#[test]
fn a_rejected_response_post_is_a_warning() {
    let mut h = Harness::http();
    h.ready_http();
    h.session.respond(Id::Number(1), Ok(json!({}))).unwrap();
    let x = h.sent()[0].exchange;
    h.head(x, 400, &[]);
    assert_eq!(
        warnings(&h.events()),
        vec![Warning::NotificationRejected {
            method: "response".into(),
            status: http::StatusCode::BAD_REQUEST
        }]
    );
    assert!(h.session.is_ready());
}

#[test]
fn a_batch_in_a_json_body_is_dispatched_message_by_message() {
    let mut h = Harness::http();
    h.ready_http();
    let (a, b) = (h.request("tools/list"), h.request("prompts/list"));
    let sent = h.sent();
    let batch = format!(
        r#"[{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":"x"}}}},{},{}, 42]"#,
        response_line(b.0, "2"),
        response_line(a.0, "1"),
    );
    h.json(post_of(&sent, a).exchange, 200, &batch);
    let events = h.events();
    assert!(
        matches!(&events[0], Event::Notification { .. }),
        "{events:?}"
    );
    assert_eq!(
        responses(&events),
        vec![(b, Ok("2".to_owned())), (a, Ok("1".to_owned()))]
    );
    assert!(
        matches!(&warnings(&events)[..], [Warning::InvalidMessage { .. }]),
        "the bad element alone is skipped: {events:?}"
    );
    // b's own POST then has nothing left to carry.
    h.head(post_of(&sent, b).exchange, 202, &[]);
    assert!(responses(&h.events()).is_empty(), "completed exactly once");
}

#[test]
fn a_batch_on_stdout_is_dispatched_message_by_message() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/list");
    h.stdin();
    h.stdout(&format!(
        r#"[{{"jsonrpc":"2.0","id":"p","method":"ping"}},{}]"#,
        response_line(id.0, "{}")
    ));
    assert_eq!(
        h.stdin(),
        vec![json!({"jsonrpc": "2.0", "id": "p", "result": {}})]
    );
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn a_response_may_arrive_on_the_get_stream_instead_of_its_post() {
    let mut h = Harness::http();
    let get = h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        Some("g1"),
        &response_line(id.0, r#"{"via":"get"}"#),
    );
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok(r#"{"via":"get"}"#.to_owned()))]
    );
    // The POST's stream ending afterwards is no failure and starts no resumption.
    h.end(x);
    h.advance(std::time::Duration::from_secs(60));
    assert!(h.take().is_empty());
}

#[test]
fn a_response_for_an_id_never_started_is_dropped_with_a_warning() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    h.stdout(&response_line(42, "{}"));
    h.stdout(r#"{"jsonrpc":"2.0","id":"str","result":{}}"#);
    assert_eq!(
        warnings(&h.events()),
        vec![
            Warning::LateResponse { id: Id::Number(42) },
            Warning::LateResponse {
                id: Id::String("str".into())
            }
        ]
    );
}

#[test]
fn a_response_to_a_request_still_queued_before_ready_is_not_taken_for_it() {
    let mut h = Harness::stdio();
    let id = h.request("tools/list");
    h.stdin();
    h.stdout(&response_line(id.0, "{}"));
    let events = h.events();
    assert!(
        responses(&events).is_empty(),
        "the server cannot have it yet: {events:?}"
    );
    assert_eq!(
        warnings(&events),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
}

#[test]
fn an_invalid_message_on_the_get_stream_is_a_warning() {
    let mut h = Harness::http();
    let get = h.ready_http();
    h.sse_head(get.exchange);
    h.sse_event(get.exchange, None, "{oops");
    assert!(matches!(
        &warnings(&h.events())[..],
        [Warning::InvalidMessage { .. }]
    ));
    h.sse_event(
        get.exchange,
        None,
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
    );
    assert!(
        matches!(&h.events()[..], [Event::Notification { .. }]),
        "the stream goes on"
    );
}

#[test]
fn a_completed_request_is_completed_exactly_once_even_if_answered_twice() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/list");
    h.stdin();
    h.stdout(&response_line(id.0, "1"));
    h.stdout(&response_line(id.0, "2"));
    let events = h.events();
    assert_eq!(responses(&events), vec![(id, Ok("1".to_owned()))]);
    assert_eq!(
        warnings(&events),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
}

#[test]
fn the_get_stream_is_reopened_with_last_event_id_after_the_servers_retry() {
    let mut h = Harness::http();
    let get = h.ready_http();
    h.sse_head(get.exchange);
    h.body(get.exchange, "retry: 2000\nid: g-1\ndata: \n\n");
    h.end(get.exchange);
    assert!(h.take().is_empty(), "no warning: the stream is resumable");
    h.advance(std::time::Duration::from_millis(1999));
    assert!(h.sent().is_empty());
    h.advance(std::time::Duration::from_millis(1));
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, http::Method::GET);
    assert_eq!(header(&sent[0], "last-event-id"), Some("g-1"));
    h.sse_head(sent[0].exchange);
    h.sse_event(
        sent[0].exchange,
        Some("g-2"),
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
    );
    assert!(matches!(&h.events()[..], [Event::Notification { .. }]));
}

#[test]
fn an_oversized_event_on_the_get_stream_drops_the_stream_with_a_warning_and_fails_nothing() {
    let mut config = legacy();
    config.policy.max_message_size = 512;
    let mut h = Harness::http_with(config);
    let get = h.ready_http();
    let id = h.request("tools/list");
    let x = h.sent()[0].exchange;
    h.sse_head(get.exchange);
    h.sse_event(get.exchange, None, &"x".repeat(600));
    assert_eq!(h.aborts(), vec![get.exchange]);
    let events = h.events();
    assert!(
        matches!(&warnings(&events)[..], [Warning::ServerStreamLost { .. }]),
        "{events:?}"
    );
    assert!(responses(&events).is_empty());
    h.json(x, 200, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn the_sse_retry_conformance_scenario_initializes_and_reconnects_after_retry() {
    // The `sse-retry` mock answers initialize on an event stream (priming event, then the
    // result with protocolVersion 2025-06-18) and primes and closes every GET stream.
    let mut h = Harness::http();
    let init = h.sent()[0].exchange;
    h.sse_head(init);
    h.body(init, "id: event-1\nretry: 2000\ndata: \n\n");
    h.body(
        init,
        &format!(
            "event: message\nid: event-2\ndata: {}\n\n",
            response_line(0, &init_result("2025-06-18"))
        ),
    );
    assert!(
        !h.session.is_ready(),
        "ready once the GET stream is answered"
    );
    h.end(init);
    let sent = h.sent();
    assert_eq!(sent[0].body["method"], "notifications/initialized");
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    let get = sent[1].exchange;
    h.sse_head(get);
    assert!(h.session.is_ready());
    h.body(get, "id: event-3\nretry: 2000\ndata: \n\n");
    h.end(get);
    h.advance(std::time::Duration::from_millis(1999));
    assert!(h.sent().is_empty(), "not before the retry");
    h.advance(std::time::Duration::from_millis(1));
    let again = h.sent();
    assert_eq!(again.len(), 1);
    assert_eq!(header(&again[0], "last-event-id"), Some("event-3"));
    assert_eq!(
        header(&again[0], "mcp-protocol-version"),
        Some("2025-06-18")
    );
    let events = h.events();
    assert!(matches!(&events[..], [Event::Ready]), "{events:?}");
}
