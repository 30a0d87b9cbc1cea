//! What a 2xx answer to a request POST must hold: its response, as JSON or in an event stream.
//! Anything else fails that request with a protocol error, never the session and never by
//! waiting; a body or event over the limit fails the request and aborts the exchange.

mod support;

use mcpwire_core::jsonrpc::ErrorObject;
use mcpwire_core::{Config, Event, ProtocolError, RequestError, Warning};
use support::*;

const LOG: &str =
    r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}"#;

/// A ready HTTP session with two requests sent; returns the harness, the ids and their exchanges.
fn two_requests(
    config: Config,
) -> (
    Harness,
    [mcpwire_core::RequestId; 2],
    [mcpwire_core::ExchangeId; 2],
) {
    let mut h = Harness::http_with(config);
    h.ready_http();
    let ids = [h.request("tools/list"), h.request("tools/call")];
    let sent = h.sent();
    let xs = [
        post_of(&sent, ids[0]).exchange,
        post_of(&sent, ids[1]).exchange,
    ];
    (h, ids, xs)
}

/// The other request is unaffected: it still completes with its own answer.
fn other_still_completes(
    h: &mut Harness,
    id: mcpwire_core::RequestId,
    x: mcpwire_core::ExchangeId,
) {
    assert!(h.session.is_ready());
    h.json(x, 200, &response_line(id.0, r#"{"ok":true}"#));
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok(r#"{"ok":true}"#.to_owned()))]
    );
}

#[test]
fn a_json_response_completes_the_request_with_the_result_verbatim() {
    let (mut h, [a, _], [x, _]) = two_requests(legacy());
    h.head(
        x,
        200,
        &[("content-type", "application/json; charset=utf-8")],
    );
    h.body(x, r#"{"jsonrpc":"2.0","id":"#);
    h.body(x, &format!(r#"{},"result":{{"b":1, "a":[2]}}}}"#, a.0));
    h.end(x);
    assert_eq!(
        responses(&h.events()),
        vec![(a, Ok(r#"{"b":1, "a":[2]}"#.to_owned()))]
    );
}

#[test]
fn a_media_type_in_any_case_is_the_same_media_type() {
    // Media types are case-insensitive (RFC 9110 8.3.1): a stream named in capitals is a
    // stream, JSON named so is JSON, and another type is named lowercase in the error.
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.head(
        xa,
        200,
        &[("content-type", "Text/Event-Stream; charset=UTF-8")],
    );
    h.body(
        xa,
        &format!("data: {}\n\n", response_line(a.0, r#"{"sse":1}"#)),
    );
    h.head(xb, 200, &[("content-type", "Application/JSON")]);
    h.body(xb, &response_line(b.0, r#"{"json":1}"#));
    h.end(xb);
    assert_eq!(
        responses(&h.events()),
        vec![
            (a, Ok(r#"{"sse":1}"#.to_owned())),
            (b, Ok(r#"{"json":1}"#.to_owned()))
        ]
    );
    let (mut h, [_, b], [_, xb]) = two_requests(legacy());
    h.head(xb, 200, &[("content-type", "Text/HTML")]);
    assert_eq!(
        responses(&h.events()),
        vec![(
            b,
            Err(RequestError::Protocol(
                ProtocolError::UnexpectedContentType("text/html".into())
            ))
        )]
    );
}

#[test]
fn an_sse_response_completes_the_request_after_the_events_before_it() {
    let (mut h, [a, _], [x, _]) = two_requests(legacy());
    h.sse_head(x);
    h.sse_event(x, Some("1"), LOG);
    h.body(
        x,
        &format!(
            "id: 2\nevent: message\ndata: {}\n\n",
            response_line(a.0, "{}")
        ),
    );
    let events = h.events();
    assert!(
        matches!(&events[0], Event::Notification { notification, .. } if notification.method() == "notifications/message")
    );
    assert_eq!(responses(&events), vec![(a, Ok("{}".to_owned()))]);
    h.end(x);
    assert!(
        h.take().is_empty(),
        "the stream's end after the response does nothing"
    );
}

#[test]
fn a_2xx_body_that_is_not_valid_json_fails_the_request_with_invalid_json() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.json(xb, 200, r#"{"jsonrpc":"2.0","id":2,"result":"#);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert!(
        matches!(
            error_of(&done[0].1),
            RequestError::Protocol(ProtocolError::InvalidJson(_))
        ),
        "{done:?}"
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn a_2xx_body_that_is_json_but_not_json_rpc_fails_the_request_with_invalid_json() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.json(xb, 200, r#"{"hello":"world"}"#);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert!(
        matches!(
            error_of(&done[0].1),
            RequestError::Protocol(ProtocolError::InvalidJson(_))
        ),
        "{done:?}"
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_sse_event_that_is_not_json_rpc_is_skipped_with_a_warning_and_the_answer_after_it_completes_the_request(
) {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.sse_head(xb);
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let bad = [
        "{not json".to_owned(),
        deep,
        r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"n":1e400}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":"x"}"#.to_owned(),
    ];
    for event in &bad {
        h.sse_event(xb, Some("7"), event);
    }
    assert!(h.aborts().is_empty(), "the stream goes on");
    let events = h.events();
    assert!(responses(&events).is_empty(), "{events:?}");
    let skipped = warnings(&events);
    assert_eq!(skipped.len(), bad.len(), "{skipped:?}");
    assert!(skipped
        .iter()
        .all(|w| matches!(w, Warning::InvalidMessage { .. })));
    assert_eq!(h.session.skipped_messages(), bad.len() as u64);
    h.sse_event(xb, Some("8"), &response_line(b.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(b, Ok("{}".to_owned()))]);
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_sse_stream_of_events_that_are_not_json_rpc_that_ends_without_an_event_id_fails_with_stream_lost(
) {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.sse_head(xb);
    h.sse_event(xb, None, "{not json");
    h.end(xb);
    let done = responses(&h.events());
    assert_eq!(done, vec![(b, Err(RequestError::StreamLost))]);
    other_still_completes(&mut h, a, xa);
}

#[test]
fn a_2xx_with_the_wrong_content_type_fails_the_request_and_aborts_the_exchange() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.head(xb, 200, &[("content-type", "text/html; charset=utf-8")]);
    assert_eq!(h.aborts(), vec![xb]);
    let done = responses(&h.events());
    assert_eq!(
        done,
        vec![(
            b,
            Err(RequestError::Protocol(
                ProtocolError::UnexpectedContentType("text/html".into())
            ))
        )]
    );
    h.body(xb, "<html>");
    h.end(xb);
    assert!(h.take().is_empty(), "the aborted exchange is forgotten");
    other_still_completes(&mut h, a, xa);
}

#[test]
fn a_202_or_204_to_a_request_fails_it_with_no_response() {
    for code in [202, 204] {
        let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
        h.head(xb, code, &[]);
        h.end(xb);
        assert_eq!(
            responses(&h.events()),
            vec![(b, Err(RequestError::Protocol(ProtocolError::NoResponse)))],
            "{code}"
        );
        other_still_completes(&mut h, a, xa);
    }
}

#[test]
fn an_empty_json_body_fails_the_request_with_no_response() {
    let (mut h, [_, b], [_, xb]) = two_requests(legacy());
    h.json(xb, 200, " \n");
    assert_eq!(
        responses(&h.events()),
        vec![(b, Err(RequestError::Protocol(ProtocolError::NoResponse)))]
    );
}

#[test]
fn a_json_body_holding_a_notification_but_not_the_response_dispatches_it_then_fails_with_no_response(
) {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.json(xb, 200, LOG);
    let events = h.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[0], Event::Notification { notification, .. }
            if matches!(&**notification, mcpwire_core::schema::ServerNotification::LoggingMessage(m) if m.data == "hi"))
    );
    assert_eq!(
        responses(&events),
        vec![(b, Err(RequestError::Protocol(ProtocolError::NoResponse)))]
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn a_json_body_holding_another_requests_response_completes_that_one_and_fails_this_one() {
    let (mut h, [a, b], [_, xb]) = two_requests(legacy());
    h.json(xb, 200, &response_line(a.0, "1"));
    assert_eq!(
        responses(&h.events()),
        vec![
            (a, Ok("1".to_owned())),
            (b, Err(RequestError::Protocol(ProtocolError::NoResponse)))
        ]
    );
}

#[test]
fn a_json_body_larger_than_the_limit_fails_the_request_and_aborts_the_exchange() {
    let mut config = legacy();
    config.policy.max_message_size = 1024;
    let (mut h, [a, b], [xa, xb]) = two_requests(config);
    h.head(xb, 200, &[("content-type", "application/json")]);
    h.body(
        xb,
        &format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{"pad":""#, b.0),
    );
    assert!(h.take().is_empty());
    h.body(xb, &"x".repeat(1000));
    assert_eq!(h.aborts(), vec![xb]);
    assert_eq!(
        responses(&h.events()),
        vec![(b, Err(RequestError::TooLarge { limit: 1024 }))]
    );
    h.body(xb, "\"}}");
    h.end(xb);
    assert!(h.take().is_empty());
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_sse_event_larger_than_the_limit_fails_the_request_and_aborts_the_exchange() {
    let mut config = legacy();
    config.policy.max_message_size = 1024;
    let (mut h, [a, b], [xa, xb]) = two_requests(config);
    h.sse_head(xb);
    h.sse_event(xb, Some("1"), LOG);
    h.events();
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"pad":"{}"}}}}"#,
        b.0,
        "x".repeat(2000)
    );
    h.sse_event(xb, Some("2"), &big);
    assert_eq!(h.aborts(), vec![xb]);
    assert_eq!(
        responses(&h.events()),
        vec![(b, Err(RequestError::TooLarge { limit: 1024 }))]
    );
    assert!(
        h.sent().is_empty(),
        "a stream failed for size is not resumed"
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn a_message_just_under_the_limit_is_accepted() {
    let mut config = legacy();
    config.policy.max_message_size = 256;
    let (mut h, [a, _], [xa, _]) = two_requests(config);
    let prefix = format!(r#"{{"jsonrpc":"2.0","id":{},"result":""#, a.0);
    let body = format!("{prefix}{}\"}}", "y".repeat(256 - prefix.len() - 2));
    assert_eq!(body.len(), 256);
    h.json(xa, 200, &body);
    let done = responses(&h.events());
    assert!(done[0].1.is_ok(), "{done:?}");
}

#[test]
fn a_json_rpc_error_response_fails_the_request_with_the_servers_error_object() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.json(xb, 200, &format!(r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32602,"message":"Unknown tool: nope","data":{{"tool":"nope"}}}}}}"#, b.0));
    let mut expected = ErrorObject::new(-32602, "Unknown tool: nope");
    expected.data = Some(serde_json::json!({"tool": "nope"}));
    assert_eq!(
        responses(&h.events()),
        vec![(b, Err(RequestError::Rpc(expected)))]
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_error_response_with_a_null_id_in_a_request_post_json_body_completes_that_request() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.json(
        xb,
        200,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
    );
    let events = h.events();
    assert_eq!(
        responses(&events),
        vec![(
            b,
            Err(RequestError::Rpc(ErrorObject::new(-32700, "Parse error")))
        )]
    );
    assert!(warnings(&events).is_empty(), "{events:?}");
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_error_response_with_a_null_id_in_a_request_post_event_stream_completes_that_request() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.sse_head(xb);
    h.sse_event(
        xb,
        None,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#,
    );
    assert_eq!(
        responses(&h.events()),
        vec![(
            b,
            Err(RequestError::Rpc(ErrorObject::new(
                -32600,
                "Invalid Request"
            )))
        )]
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn an_error_response_with_a_null_id_on_the_get_stream_fails_nothing_and_warns() {
    let mut h = Harness::http();
    let get = h.ready_http();
    let id = h.request("tools/list");
    let x = h.sent()[0].exchange;
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        None,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#,
    );
    let events = h.events();
    assert!(responses(&events).is_empty(), "{events:?}");
    assert!(
        matches!(&warnings(&events)[..], [Warning::InvalidMessage { .. }]),
        "{events:?}"
    );
    other_still_completes(&mut h, id, x);
}

#[test]
fn a_reset_after_the_head_of_a_json_answer_fails_the_request_with_a_transport_error() {
    let (mut h, [a, b], [xa, xb]) = two_requests(legacy());
    h.head(xb, 200, &[("content-type", "application/json")]);
    h.body(xb, r#"{"jsonrpc":"2.0","#);
    h.fail(
        xb,
        mcpwire_core::TransportErrorKind::Reset,
        "connection reset",
    );
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert!(
        matches!(error_of(&done[0].1), RequestError::Transport(t) if t.kind == mcpwire_core::TransportErrorKind::Reset)
    );
    other_still_completes(&mut h, a, xa);
}

#[test]
fn any_chunking_of_an_event_stream_gives_the_same_events() {
    let stream = format!(
        ":comment\r\nretry: 10\r\nid: 1\r\nevent: message\r\ndata: {}\r\n\r\nid: 2\ndata: {{\"jsonrpc\":\"2.0\",\ndata: \"id\":1,\"result\":{{\"t\":\"é\"}}}}\n\n",
        r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"ü"}}"#,
    );
    let run = |size: usize| {
        let mut h = Harness::http();
        h.ready_http();
        let id = h.request("tools/call");
        assert_eq!(id.0, 1);
        let x = h.sent()[0].exchange;
        h.sse_head(x);
        for chunk in stream.as_bytes().chunks(size) {
            h.session.handle_input(
                h.now,
                mcpwire_core::Input::ResponseBody {
                    exchange: x,
                    data: chunk,
                },
            );
        }
        h.end(x);
        format!("{:?}", h.events())
    };
    let whole = run(stream.len());
    assert!(
        whole.contains("Notification") && whole.contains(r#"{"t":"é"}"#),
        "{whole}"
    );
    for size in [1, 2, 3, 7, 64] {
        assert_eq!(run(size), whole, "chunks of {size}");
    }
}

#[test]
fn a_notification_post_answered_200_with_a_body_is_fine() {
    // Conformance mocks answer a notification POST with 200 and a body.
    let mut h = Harness::http();
    h.ready_http();
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let x = h.sent()[0].exchange;
    h.json(x, 200, r#"{"jsonrpc":"2.0","result":{}}"#);
    assert!(
        h.take().is_empty(),
        "the body is not read: no warning, no event"
    );
    assert!(h.session.is_ready());
}
