//! What a hostile server cannot do to the session: make it hold unbounded bytes, reconnect in
//! a tight loop or open unbounded exchanges, panic it with a duration, fail a call with a
//! message that was not its answer, or put terminal escapes into an error. Each test is named
//! after the bound or rule it proves; the adapters' tests prove the same over real sockets
//! and child processes (`tests/tests/hostile_servers_*.rs`).

mod support;

use std::time::Duration;

use mcpwire_core::{
    Config, Event, Input, Limit, Output, RequestError, RequestId, SessionError, Transmit, Warning,
};
use support::*;

const MS: Duration = Duration::from_millis(1);

fn config(f: impl FnOnce(&mut mcpwire_core::Policy)) -> Config {
    let mut config = legacy();
    f(&mut config.policy);
    config
}

// ----- class 8: events do not depend on how the bytes were cut ---------------------------

/// The events of one SSE body on the `initialize` exchange, fed whole or byte by byte, with
/// `server_stream_wait` zero: the `Ready` timer it sets is due at once.
fn init_then_progress(bytewise: bool) -> Vec<String> {
    let mut h = Harness::http_with(config(|p| p.server_stream_wait = Duration::ZERO));
    let init = h.sent()[0].exchange;
    h.sse_head(init);
    let body = format!(
        "data: {}\n\nid: 7\ndata: {}\n\n",
        response_line(0, INIT_RESULT),
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":0,"progress":1}}"#
    );
    if bytewise {
        for b in body.as_bytes() {
            h.session.handle_input(
                h.now,
                Input::ResponseBody {
                    exchange: init,
                    data: std::slice::from_ref(b),
                },
            );
        }
    } else {
        h.body(init, &body);
    }
    h.events().iter().map(|e| format!("{e:?}")).collect()
}

#[test]
fn a_timer_due_at_once_fires_at_the_message_boundary_however_the_body_is_cut() {
    // The fuzz finding http_session-crash-b83b0fc9: `Ready` came before the warning for the
    // second event when the body was cut between them, after it when whole.
    let whole = init_then_progress(false);
    assert_eq!(whole, init_then_progress(true));
    assert!(whole[0].starts_with("Ready"), "{whole:?}");
    assert!(whole[1].contains("UnknownProgressToken"), "{whole:?}");
}

// ----- class 2: bounded amplification ------------------------------------------------------

#[test]
fn a_retry_of_zero_still_waits_the_floor_before_resuming() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    h.body(x, "retry: 0\nid: a\ndata: \n\n");
    h.end(x);
    assert_eq!(h.session.poll_timeout(), Some(h.now + 100 * MS));
    h.advance(99 * MS);
    assert!(h.sent().is_empty(), "no resumption before min_retry");
    h.advance(MS);
    let get = h.sent();
    assert_eq!(get.len(), 1);
    h.json(get[0].exchange, 200, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn a_request_stream_that_brings_a_new_event_id_every_time_is_resumed_at_most_max_reconnects_times()
{
    let mut h = Harness::http_with(config(|p| p.max_reconnects = 5));
    h.ready_http();
    let id = h.request("tools/call");
    let mut x = h.sent()[0].exchange;
    let mut gets = 0;
    for n in 0..100 {
        h.sse_head(x);
        h.body(x, &format!("retry: 0\nid: fresh-{n}\ndata: \n\n"));
        h.end(x);
        let Some(at) = h.session.poll_timeout() else {
            break;
        };
        h.advance_to(at);
        let sent = h.sent();
        if sent.is_empty() {
            break;
        }
        gets += 1;
        x = sent[0].exchange;
    }
    assert_eq!(gets, 5);
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::StreamLost))]
    );
}

#[test]
fn the_get_stream_backs_off_on_empty_streams_and_is_given_up_after_max_reconnects_in_a_row() {
    let mut h = Harness::http_with(config(|p| p.max_reconnects = 4));
    let get = h.ready_http();
    let mut x = get.exchange;
    let mut waits = Vec::new();
    for n in 0..50 {
        h.body(x, &format!("retry: 0\nid: g{n}\ndata: \n\n"));
        h.end(x);
        let Some(at) = h.session.poll_timeout() else {
            break;
        };
        waits.push(at - h.now);
        h.advance_to(at);
        let sent = h.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        x = sent[0].exchange;
        h.sse_head(x);
    }
    assert_eq!(waits, vec![100 * MS, 200 * MS, 400 * MS, 800 * MS]);
    let lost = warnings(&h.events());
    assert!(
        lost.iter().any(
            |w| matches!(w, Warning::ServerStreamLost { reason } if reason.contains("4 times"))
        ),
        "{lost:?}"
    );
    h.advance(Duration::from_secs(60));
    assert!(h.sent().is_empty(), "given up");
    assert!(h.session.is_ready(), "the session goes on without it");
}

#[test]
fn a_message_on_the_get_stream_starts_its_reconnect_count_and_backoff_again() {
    let mut h = Harness::http_with(config(|p| p.max_reconnects = 2));
    let get = h.ready_http();
    let mut x = get.exchange;
    // An empty stream, one with a message, an empty one: each reopened, never twice in a row
    // without a message.
    for (n, message) in [false, true, false].into_iter().enumerate() {
        if message {
            h.sse_event(
                x,
                Some(&format!("m{n}")),
                r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
            );
        } else {
            h.body(x, &format!("retry: 0\nid: m{n}\ndata: \n\n"));
        }
        h.end(x);
        let at = h.session.poll_timeout().expect("reopened");
        if message {
            assert_eq!(at - h.now, 100 * MS, "the backoff starts again");
        }
        h.advance_to(at);
        x = h.sent()[0].exchange;
        h.sse_head(x);
    }
    // The next empty stream is the third reopen in a row without a message: given up.
    h.body(x, "id: last\ndata: \n\n");
    h.end(x);
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn at_most_max_concurrent_exchanges_are_open_and_the_rest_go_out_in_order() {
    let mut h = Harness::http_with(config(|p| p.max_concurrent_exchanges = 2));
    let get = h.ready_http(); // the GET stream takes one slot
    let ids: Vec<RequestId> = (0..4).map(|_| h.request("tools/call")).collect();
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "one slot left: {sent:?}");
    assert_eq!(sent[0].body["id"], ids[0].0);
    h.json(sent[0].exchange, 200, &response_line(ids[0].0, "{}"));
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["id"], ids[1].0, "in order");
    // A queued request cancelled before its turn never goes out: no abort, and no
    // `notifications/cancelled` for a request the server never saw.
    assert!(h.session.cancel(h.now, ids[2], None));
    assert!(h.aborts().is_empty());
    h.json(sent[0].exchange, 200, &response_line(ids[1].0, "{}"));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["id"], ids[3].0);
    // Closing the GET stream frees its slot too.
    h.end(get.exchange);
    h.json(sent[0].exchange, 200, &response_line(ids[3].0, "{}"));
    assert_eq!(
        responses(&h.events()).len(),
        4,
        "three answers and the cancelled one"
    );
}

#[test]
fn answers_to_a_storm_of_server_pings_wait_for_a_slot_instead_of_opening_an_exchange_each() {
    let mut h = Harness::http_with(config(|p| p.max_concurrent_exchanges = 4));
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    for n in 0..1000 {
        h.sse_event(
            x,
            None,
            &format!(r#"{{"jsonrpc":"2.0","id":"storm-{n}","method":"ping"}}"#),
        );
    }
    // The GET stream and the call hold two slots: two answers go out, the rest wait.
    let sent = h.sent();
    assert_eq!(sent.len(), 2, "{}", sent.len());
    let (backlog, peak) = h.session.send_backlog();
    assert!(backlog > 0 && peak >= backlog);
    let mut answered = 0;
    let mut open = std::collections::VecDeque::from(sent);
    while let Some(s) = open.pop_front() {
        assert_eq!(s.body["id"], format!("storm-{answered}"), "in order");
        answered += 1;
        h.head(s.exchange, 202, &[]);
        h.end(s.exchange);
        open.extend(h.sent());
        assert!(open.len() <= 2);
    }
    assert_eq!(answered, 1000);
    assert_eq!(h.session.send_backlog().0, 0);
    h.sse_event(x, None, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

// ----- class 1: bytes held are bounded ---------------------------------------------------

#[test]
fn a_stdio_server_that_stops_reading_and_keeps_pinging_fails_the_session_at_the_send_backlog_limit()
{
    let limit = 64 << 10;
    let mut h = Harness::stdio_with(config(|p| p.max_send_backlog = limit));
    h.ready_stdio();
    let id = h.request("tools/call");
    let mut answers = 0;
    for n in 0..100_000 {
        h.stdout(&format!(
            r#"{{"jsonrpc":"2.0","id":"p{n}","method":"ping"}}"#
        ));
        answers += h.stdin().len();
        if h.session.is_closed() {
            break;
        }
    }
    let (_, peak) = h.session.send_backlog();
    assert!(peak <= limit, "{peak} bytes held, over {limit}");
    assert!(answers < 100_000);
    let events = h.events();
    let error = assert_session_failed(&events, &[id]);
    assert_eq!(
        error,
        SessionError::LimitReached {
            what: Limit::SendBacklog,
            limit
        }
    );
}

#[test]
fn bytes_the_child_took_no_longer_count_and_a_request_past_the_limit_fails_alone() {
    let mut h = Harness::stdio_with(config(|p| p.max_send_backlog = 300));
    h.ready_stdio();
    // The child took the handshake's lines.
    let (handshake, _) = h.session.send_backlog();
    h.session
        .handle_input(h.now, Input::StdinWritten { bytes: handshake });
    let big = serde_json::json!({ "pad": "x".repeat(200) });
    let first = h
        .session
        .request(h.now, "tools/call", Some(big.clone()), Default::default())
        .unwrap();
    let written: usize = h
        .take()
        .iter()
        .map(|o| match o {
            Output::Transmit(Transmit::Stdin(b)) => b.len(),
            _ => 0,
        })
        .sum();
    assert!(written > 200);
    assert_eq!(h.session.send_backlog().0, written);
    let second = h
        .session
        .request(h.now, "tools/call", Some(big.clone()), Default::default());
    assert_eq!(
        second,
        Err(RequestError::LimitReached {
            what: Limit::SendBacklog,
            limit: 300
        })
    );
    assert!(
        !h.session.is_closed(),
        "a request past the limit fails alone"
    );
    h.session
        .handle_input(h.now, Input::StdinWritten { bytes: written });
    assert_eq!(h.session.send_backlog().0, 0);
    let third = h
        .session
        .request(h.now, "tools/call", Some(big), Default::default())
        .unwrap();
    assert!(third > first);
}

// ----- class 3: no duration overflows --------------------------------------------------------

#[test]
fn durations_too_large_for_the_clock_are_a_far_deadline_not_a_panic() {
    let mut h = Harness::http_with(config(|p| {
        p.request_timeout = Duration::MAX;
        p.max_request_time = Duration::MAX;
        p.server_stream_wait = Duration::MAX;
        p.default_retry = Duration::MAX;
        p.max_retry = Duration::MAX;
    }));
    h.ready_http();
    let id = h.request_with(
        "tools/call",
        None,
        mcpwire_core::RequestOptions::default()
            .with_timeout(Some(Duration::MAX))
            .with_progress(true),
    );
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    h.sse_event(
        x,
        Some("1"),
        &format!(r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{},"progress":1}}}}"#, id.0),
    );
    h.end(x);
    let at = h.session.poll_timeout().expect("a deadline");
    assert!(at > h.now + Duration::from_secs(3600 * 24 * 365));
    assert!(h.session.cancel(h.now, id, None));
}

// ----- class 6: only the answer fails a call -----------------------------------------------

#[test]
fn a_lone_surrogate_in_a_result_decodes_as_the_replacement_character() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.json(
        x,
        200,
        &response_line(id.0, r#"{"content":[{"type":"text","text":"a\udc80b"}]}"#),
    );
    let done = responses(&h.events());
    let text: serde_json::Value = serde_json::from_str(done[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(text["content"][0]["text"], "a\u{FFFD}b");
}

#[test]
fn an_event_id_that_cannot_be_a_header_value_is_a_warning_and_the_stream_is_not_resumed() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    h.body(x, "id: bad\x01id\ndata: \n\n");
    h.end(x);
    let events = h.events();
    assert!(
        warnings(&events)
            .iter()
            .any(|w| matches!(w, Warning::UnusableEventId { id } if id == "bad\\x01id")),
        "{events:?}"
    );
    assert_eq!(
        responses(&events),
        vec![(id, Err(RequestError::StreamLost))]
    );
    assert!(h.sent().is_empty(), "no plain GET pretending to resume");
}

// ----- class 7: causes the user sees ----------------------------------------------------------

#[test]
fn a_byte_order_mark_before_a_stdio_message_is_skipped() {
    let mut h = Harness::stdio();
    h.stdin();
    h.stdout(&format!("\u{FEFF}{}", response_line(0, INIT_RESULT)));
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
}

#[test]
fn a_timeout_names_how_many_server_messages_were_skipped_while_the_request_waited() {
    let mut h = Harness::stdio_with(config(|p| p.request_timeout = Duration::from_secs(5)));
    h.ready_stdio();
    h.stdout("not json before the request");
    let id = h.request("tools/call");
    // A server that pretty-prints its answer over several lines.
    for line in [
        "{",
        r#"  "jsonrpc": "2.0","#,
        &format!(r#"  "id": {},"#, id.0),
        r#"  "result": {}"#,
        "}",
    ] {
        h.stdout(line);
    }
    h.advance(Duration::from_secs(5));
    let done = responses(&h.events());
    let error = error_of(&done[0].1);
    assert_eq!(
        error,
        RequestError::Timeout {
            after: Duration::from_secs(5),
            skipped: 5
        }
    );
    assert!(error
        .to_string()
        .ends_with("(5 messages from the server were not JSON-RPC)"));
}

// ----- class 4: server text is safe to print ---------------------------------------------------

#[test]
fn error_excerpts_are_capped_and_carry_no_control_characters() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    let long = format!("Bearer realm=\"{}\u{9b}2J\"", "x".repeat(200_000));
    h.head(x, 429, &[("retry-after", &"9".repeat(10_000))]);
    h.body(x, "\u{1b}[2J\u{1b}]0;pwned\u{7}fake OK\r\n");
    h.end(x);
    let error = error_of(&responses(&h.events())[0].1);
    let text = error.to_string();
    assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    assert!(text.len() < 2_000, "{}", text.len());
    let id2 = h.request("tools/call");
    let x2 = h.sent()[0].exchange;
    h.head(x2, 401, &[("www-authenticate", &long)]);
    let events = h.events();
    let error = assert_session_failed(&events, &[id2]);
    let SessionError::AuthRequired {
        www_authenticate: Some(www),
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(www.len() <= 512 + 16, "{}", www.len());
    assert!(!error.to_string().chars().any(|c| c.is_control()));
    let _ = id;
}
