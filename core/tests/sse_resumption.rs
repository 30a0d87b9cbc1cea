//! An event stream that ends before its request's response: resumed with a GET carrying
//! `Last-Event-ID`, only after the server's `retry`, a bounded number of times; without an
//! event id the request fails at once with `StreamLost`.

mod support;

use std::time::Duration;

use mcpwire_core::{
    Config, Event, ExchangeId, RequestError, RequestId, RequestOptions, TransportErrorKind,
};
use support::*;

const LOG: &str = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}"#;

/// A ready session with one request whose POST was answered with an open event stream.
fn streaming(config: Config) -> (Harness, RequestId, ExchangeId) {
    let mut h = Harness::http_with(config);
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    (h, id, x)
}

/// Checks that exactly one GET resuming with `last` is sent now, and returns its exchange.
fn one_resume(h: &mut Harness, last: &str) -> ExchangeId {
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, http::Method::GET);
    assert_eq!(header(&sent[0], "last-event-id"), Some(last));
    assert_eq!(header(&sent[0], "accept"), Some("text/event-stream"));
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    sent[0].exchange
}

#[test]
fn a_stream_that_ends_after_an_event_id_is_resumed_with_last_event_id_only_after_the_servers_retry()
{
    let (mut h, id, x) = streaming(legacy());
    h.body(x, &format!("retry: 3000\nid: e1\ndata: {LOG}\n\n"));
    h.end(x);
    let events = h.events();
    assert_eq!(
        events.len(),
        1,
        "the notification, and no failure: {events:?}"
    );
    assert!(matches!(&events[0], Event::Notification { .. }));
    assert!(h.sent().is_empty(), "nothing is sent before the retry");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(3))
    );
    h.advance(Duration::from_millis(2999));
    assert!(h.sent().is_empty(), "nothing is sent before the retry");
    h.advance(Duration::from_millis(1));
    let get = one_resume(&mut h, "e1");
    h.sse_head(get);
    h.sse_event(get, Some("e2"), &response_line(id.0, r#"{"content":[]}"#));
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok(r#"{"content":[]}"#.to_owned()))]
    );
    h.end(get);
    h.advance(Duration::from_secs(60));
    assert!(
        h.sent().is_empty() && h.take().is_empty(),
        "a completed request is not resumed"
    );
}

#[test]
fn without_a_retry_field_the_resume_waits_the_default_retry() {
    let (mut h, id, x) = streaming(legacy());
    h.sse_event(x, Some("a"), LOG);
    h.end(x);
    h.advance(Duration::from_millis(999));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    let get = one_resume(&mut h, "a");
    h.json(get, 200, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn a_retry_longer_than_max_retry_is_cut_to_it() {
    let (mut h, _, x) = streaming(legacy());
    h.body(x, &format!("retry: 3600000\nid: a\ndata: {LOG}\n\n"));
    h.end(x);
    h.advance(Duration::from_millis(29_999));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    one_resume(&mut h, "a");
}

#[test]
fn a_priming_event_then_close_is_resumed_and_the_response_on_the_resumed_stream_completes_the_request(
) {
    // 2025-11-25: the server primes the stream with an id and empty data, then may close it.
    let (mut h, id, x) = streaming(legacy());
    h.body(x, "id: prime-0\nretry: 500\ndata: \n\n");
    assert!(h.take().is_empty(), "a priming event dispatches nothing");
    h.end(x);
    assert!(
        h.take().is_empty(),
        "the request waits to resume: no failure, nothing sent yet"
    );
    h.advance(Duration::from_millis(499));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    let get = one_resume(&mut h, "prime-0");
    h.sse_head(get);
    h.body(get, "id: prime-1\ndata: \n\n");
    h.sse_event(get, Some("r"), &response_line(id.0, r#"{"done":true}"#));
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok(r#"{"done":true}"#.to_owned()))]
    );
}

#[test]
fn a_priming_event_without_data_field_is_also_resumable() {
    let (mut h, _, x) = streaming(legacy());
    h.body(x, "id: p\n\n");
    h.end(x);
    assert!(h.take().is_empty());
    h.advance(Duration::from_secs(1));
    one_resume(&mut h, "p");
}

#[test]
fn resumptions_that_bring_nothing_fail_the_request_with_stream_lost_after_max_resume_attempts() {
    let (mut h, id, x) = streaming(legacy());
    h.body(x, "id: 41\nretry: 100\ndata: \n\n");
    h.end(x);
    // The default policy resumes three times in a row without anything new.
    for attempt in 1..=3u32 {
        // Each stream in a row that brought no message doubles the wait.
        let wait = 100 << (attempt - 1);
        h.advance(Duration::from_millis(wait - 1));
        assert!(
            h.sent().is_empty(),
            "attempt {attempt}: not before {wait} ms"
        );
        h.advance(Duration::from_millis(1));
        let get = one_resume(&mut h, "41");
        assert!(h.take().is_empty(), "attempt {attempt}: no failure yet");
        h.sse_head(get);
        h.end(get);
    }
    let events = h.events();
    assert_eq!(
        responses(&events),
        vec![(id, Err(RequestError::StreamLost))]
    );
    h.advance(Duration::from_secs(60));
    assert!(h.sent().is_empty(), "no fourth attempt");
    assert!(h.session.is_ready());
}

#[test]
fn max_resume_attempts_is_the_policys() {
    let mut config = legacy();
    config.policy.max_resume_attempts = 1;
    let (mut h, id, x) = streaming(config);
    h.body(x, "id: 1\nretry: 100\ndata: \n\n");
    h.end(x);
    h.advance(Duration::from_millis(100));
    let get = one_resume(&mut h, "1");
    h.fail(get, TransportErrorKind::Connect, "refused");
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::StreamLost))]
    );
    h.advance(Duration::from_secs(10));
    assert!(h.sent().is_empty());
}

#[test]
fn a_resumed_stream_that_brings_a_new_event_starts_the_attempt_count_again() {
    let mut config = legacy();
    config.policy.max_resume_attempts = 2;
    let (mut h, id, x) = streaming(config);
    h.body(x, "retry: 100\nid: e1\ndata: \n\n");
    h.end(x);
    h.advance(Duration::from_millis(100));
    let g1 = one_resume(&mut h, "e1");
    h.sse_head(g1);
    h.end(g1); // nothing new: attempt 2 of 2 follows, after twice the wait (a second empty stream)
    h.advance(Duration::from_millis(199));
    assert!(h.sent().is_empty(), "an empty stream doubles the wait");
    h.advance(Duration::from_millis(1));
    let g2 = one_resume(&mut h, "e1");
    h.sse_head(g2);
    h.sse_event(g2, Some("e2"), LOG);
    h.end(g2); // something new: the count starts again, and the wait
    h.events();
    h.advance(Duration::from_millis(100));
    let g3 = one_resume(&mut h, "e2");
    h.sse_head(g3);
    h.end(g3);
    h.advance(Duration::from_millis(200));
    let g4 = one_resume(&mut h, "e2");
    h.sse_head(g4);
    h.end(g4);
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::StreamLost))]
    );
    h.advance(Duration::from_secs(1));
    assert!(h.sent().is_empty());
}

#[test]
fn a_stream_that_ends_without_an_event_id_fails_the_request_with_stream_lost_at_once() {
    let (mut h, id, x) = streaming(legacy());
    h.body(x, &format!("retry: 100\ndata: {LOG}\n\n"));
    h.end(x);
    let events = h.events();
    assert!(matches!(&events[0], Event::Notification { .. }));
    assert_eq!(
        responses(&events),
        vec![(id, Err(RequestError::StreamLost))]
    );
    h.advance(Duration::from_secs(10));
    assert!(h.sent().is_empty(), "nothing to resume from");
    assert!(h.session.is_ready());
}

#[test]
fn a_reset_stream_after_an_event_id_is_resumed_too() {
    let (mut h, id, x) = streaming(legacy());
    h.sse_event(x, Some("9"), LOG);
    h.fail(x, TransportErrorKind::Reset, "reset");
    let events = h.events();
    assert!(responses(&events).is_empty(), "{events:?}");
    h.advance(Duration::from_secs(1));
    let get = one_resume(&mut h, "9");
    h.sse_head(get);
    h.sse_event(get, Some("10"), &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn a_resume_answered_with_a_client_error_fails_the_request() {
    let (mut h, id, x) = streaming(legacy());
    h.sse_event(x, Some("9"), LOG);
    h.end(x);
    h.events();
    h.advance(Duration::from_secs(1));
    let get = one_resume(&mut h, "9");
    h.head(get, 400, &[]);
    h.end(get);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, id);
    assert!(matches!(error_of(&done[0].1), RequestError::Http(e) if e.status == 400));
}

#[test]
fn the_request_deadline_still_applies_while_waiting_to_resume() {
    let (mut h, id, x) = streaming(legacy());
    h.body(x, "retry: 30000\nid: 1\ndata: \n\n");
    h.end(x);
    let id2 = h.request_with(
        "tools/call",
        None,
        RequestOptions::default().with_timeout(Some(Duration::from_secs(1))),
    );
    let x2 = h.sent()[0].exchange;
    h.sse_head(x2);
    h.body(x2, "retry: 30000\nid: 1\ndata: \n\n");
    h.end(x2);
    h.advance(Duration::from_secs(1));
    let sent = h.sent();
    assert_eq!(
        notifications(&sent, "notifications/cancelled").len(),
        1,
        "{sent:?}"
    );
    assert_eq!(
        sent.len(),
        1,
        "the timed-out request is not resumed: {sent:?}"
    );
    assert_eq!(
        responses(&h.events()),
        vec![(
            id2,
            Err(RequestError::Timeout {
                after: Duration::from_secs(1),
                skipped: 0,
            })
        )]
    );
    h.advance(Duration::from_secs(29));
    let get = one_resume(&mut h, "1");
    h.json(get, 200, &response_line(id.0, "{}"));
    assert_eq!(
        responses(&h.events()),
        vec![(id, Ok("{}".to_owned()))],
        "the other request, within its deadline, resumes"
    );
}

#[test]
fn a_resumed_stream_that_only_repeats_the_priming_event_brings_nothing_new() {
    let (mut h, id, x) = streaming(legacy());
    h.body(x, "id: 41\nretry: 100\ndata: \n\n");
    h.end(x);
    for attempt in 1..=3u32 {
        // Each stream in a row that brought no message doubles the wait.
        let wait = 100 << (attempt - 1);
        h.advance(Duration::from_millis(wait - 1));
        assert!(
            h.sent().is_empty(),
            "attempt {attempt}: not before {wait} ms"
        );
        h.advance(Duration::from_millis(1));
        let get = one_resume(&mut h, "41");
        assert!(h.take().is_empty(), "attempt {attempt}: no failure yet");
        h.sse_head(get);
        h.body(get, "id: 41\ndata: \n\n");
        h.end(get);
    }
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::StreamLost))]
    );
    h.advance(Duration::from_secs(1));
    assert!(h.sent().is_empty(), "no fourth attempt");
}
