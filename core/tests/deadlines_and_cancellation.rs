//! Every request has a deadline: when it passes the request fails with `Timeout` and the server
//! is told with `notifications/cancelled`; progress pushes it back, never past
//! `max_request_time`. Cancelling is the same from the application's side, and a response
//! that arrives later is dropped with a warning.

mod support;

use std::time::Duration;

use mcpwire_core::jsonrpc::Id;
use mcpwire_core::{Event, RequestError, RequestId, RequestOptions, SessionError, Warning};
use serde_json::json;
use support::*;

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn progress(id: RequestId, progress: f64, total: Option<f64>, message: Option<&str>) -> String {
    let mut params = json!({"progressToken": id.0, "progress": progress});
    if let Some(t) = total {
        params["total"] = json!(t);
    }
    if let Some(m) = message {
        params["message"] = json!(m);
    }
    json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params}).to_string()
}

fn with_progress() -> RequestOptions {
    RequestOptions::default().with_progress(true)
}

#[test]
fn a_request_without_an_answer_times_out_after_60_seconds_and_the_server_is_told() {
    let mut h = Harness::http();
    h.ready_http();
    let start = h.now;
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    assert_eq!(h.session.poll_timeout(), Some(start + 60 * SEC));
    assert_eq!(
        h.drain(),
        Some(start + 60 * SEC),
        "the Wait output names the deadline"
    );
    h.advance_to(start + 60 * SEC - MS);
    assert!(h.take().is_empty(), "nothing before the deadline");
    h.advance_to(start + 60 * SEC);
    assert_eq!(
        h.aborts(),
        vec![x],
        "the exchange carrying the answer is aborted"
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["method"], "notifications/cancelled");
    assert_eq!(sent[0].body["params"]["requestId"], id.0);
    assert!(sent[0].body["params"]["reason"].is_string());
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 60 * SEC,
                skipped: 0
            })
        )]
    );
    assert_eq!(
        format!("{:?}", h.session.last_timeout_reason()),
        format!("Some(RequestDeadline({id:?}))")
    );
    assert!(
        h.session.is_ready(),
        "a timeout fails one request, not the session"
    );
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn a_late_response_after_a_timeout_is_dropped_with_a_warning() {
    let mut h = Harness::http();
    let get = h.ready_http();
    let id = h.request("tools/call");
    h.sent();
    h.advance(60 * SEC);
    h.take();
    h.sse_head(get.exchange);
    h.sse_event(get.exchange, None, &response_line(id.0, "{}"));
    let events = h.events();
    assert!(responses(&events).is_empty(), "completed exactly once");
    assert_eq!(
        warnings(&events),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
}

#[test]
fn an_explicit_timeout_replaces_the_default() {
    let mut h = Harness::http();
    h.ready_http();
    let start = h.now;
    let quick = h.request_with(
        "ping",
        None,
        RequestOptions::default().with_timeout(Some(5 * SEC)),
    );
    let slow = h.request_with(
        "tools/call",
        None,
        RequestOptions::default().with_timeout(Some(120 * SEC)),
    );
    let sent = h.sent();
    assert_eq!(h.session.poll_timeout(), Some(start + 5 * SEC));
    h.advance_to(start + 5 * SEC);
    assert_eq!(h.aborts(), vec![post_of(&sent, quick).exchange]);
    let cancelled = h.sent();
    assert_eq!(cancelled[0].body["params"]["requestId"], quick.0);
    assert_eq!(
        responses(&h.events()),
        vec![(
            quick,
            Err(RequestError::Timeout {
                after: 5 * SEC,
                skipped: 0
            })
        )]
    );
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + 120 * SEC),
        "longer than the default 60 s"
    );
    h.advance_to(start + 119 * SEC);
    assert!(h.take().is_empty());
    h.advance_to(start + 120 * SEC);
    assert_eq!(
        responses(&h.events()),
        vec![(
            slow,
            Err(RequestError::Timeout {
                after: 120 * SEC,
                skipped: 0
            })
        )]
    );
}

#[test]
fn a_timeout_is_never_longer_than_max_request_time() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let start = h.now;
    let id = h.request_with(
        "tools/call",
        None,
        RequestOptions::default().with_timeout(Some(3600 * SEC)),
    );
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + 600 * SEC),
        "the default max_request_time is 10 minutes"
    );
    h.advance_to(start + 600 * SEC);
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 600 * SEC,
                skipped: 0
            })
        )]
    );
}

#[test]
fn a_timeout_over_stdio_writes_notifications_cancelled_to_stdin() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/call");
    h.stdin();
    h.advance(60 * SEC);
    let lines = h.stdin();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "notifications/cancelled");
    assert_eq!(lines[0]["params"]["requestId"], id.0);
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 60 * SEC,
                skipped: 0
            })
        )]
    );
    h.stdout(&response_line(id.0, "{}"));
    assert_eq!(
        warnings(&h.events()),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
}

#[test]
fn poll_timeout_reports_the_earliest_deadline() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let start = h.now;
    assert_eq!(h.session.poll_timeout(), None, "nothing pending");
    h.request_with(
        "a",
        None,
        RequestOptions::default().with_timeout(Some(30 * SEC)),
    );
    h.advance(SEC);
    h.request_with(
        "b",
        None,
        RequestOptions::default().with_timeout(Some(10 * SEC)),
    );
    assert_eq!(h.session.poll_timeout(), Some(start + 11 * SEC));
    h.advance_to(start + 11 * SEC);
    h.take();
    assert_eq!(h.session.poll_timeout(), Some(start + 30 * SEC));
}

#[test]
fn a_request_queued_before_ready_times_out_without_telling_the_server_and_is_never_sent() {
    let mut h = Harness::http();
    let id = h.request_with(
        "tools/list",
        None,
        RequestOptions::default().with_timeout(Some(5 * SEC)),
    );
    let init = h.sent();
    h.advance(5 * SEC);
    assert!(
        h.sent().is_empty(),
        "no notifications/cancelled for a request the server never had"
    );
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 5 * SEC,
                skipped: 0
            })
        )]
    );
    h.requeue(init);
    h.ready_http();
    assert!(
        h.sent().is_empty(),
        "the timed-out request is not sent after the handshake"
    );
}

#[test]
fn an_initialize_that_never_answers_fails_the_session_with_a_timeout() {
    let mut h = Harness::http();
    let id = h.request("tools/list");
    h.sent();
    h.advance(60 * SEC - MS);
    assert!(h.take().is_empty());
    h.advance(MS);
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[id]),
        SessionError::Timeout {
            after: 60 * SEC,
            skipped: 0
        }
    );
}

#[test]
fn progress_arrives_as_events_and_pushes_the_deadline_back() {
    let mut h = Harness::http();
    h.ready_http();
    let start = h.now;
    let id = h.request_with(
        "tools/call",
        Some(json!({"name": "slow", "arguments": {}})),
        with_progress(),
    );
    let sent = h.sent();
    assert_eq!(sent[0].body["params"]["_meta"]["progressToken"], id.0);
    assert_eq!(
        sent[0].body["params"]["name"], "slow",
        "the other params are kept"
    );
    let x = sent[0].exchange;
    h.sse_head(x);
    h.advance_to(start + 30 * SEC);
    h.sse_event(x, None, &progress(id, 1.0, Some(10.0), Some("step 1")));
    let events = h.events();
    assert_eq!(events.len(), 1);
    match &events[0] {
        Event::Progress {
            id: p,
            progress,
            total,
            message,
        } => {
            assert_eq!(
                (*p, *progress, *total, message.as_deref()),
                (id, 1.0, Some(10.0), Some("step 1"))
            );
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + 90 * SEC),
        "60 s from the last progress"
    );
    h.advance_to(start + 90 * SEC - MS);
    assert!(h.take().is_empty(), "alive past the original deadline");
    h.advance_to(start + 90 * SEC);
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 90 * SEC,
                skipped: 0
            })
        )]
    );
}

#[test]
fn progress_never_pushes_the_deadline_beyond_max_request_time() {
    let mut config = legacy();
    config.policy.max_request_time = 100 * SEC;
    let mut h = Harness::http_with(config);
    h.ready_http();
    let start = h.now;
    let id = h.request_with("tools/call", None, with_progress());
    let x = h.sent()[0].exchange;
    h.sse_head(x);
    for t in [30, 60, 90] {
        h.advance_to(start + t * SEC);
        h.sse_event(x, None, &progress(id, t as f64, None, None));
        assert_eq!(h.events().len(), 1);
    }
    assert_eq!(h.session.poll_timeout(), Some(start + 100 * SEC));
    h.advance_to(start + 100 * SEC - MS);
    assert!(h.take().is_empty());
    h.advance_to(start + 100 * SEC);
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 100 * SEC,
                skipped: 0
            })
        )]
    );
}

#[test]
fn progress_does_not_move_the_deadline_when_the_policy_says_so() {
    let mut config = legacy();
    config.policy.progress_resets_timeout = false;
    let mut h = Harness::stdio_with(config);
    h.ready_stdio();
    let start = h.now;
    let id = h.request_with("tools/call", None, with_progress());
    h.advance_to(start + 30 * SEC);
    h.stdout(&progress(id, 0.5, None, None));
    assert!(matches!(&h.events()[..], [Event::Progress { .. }]));
    assert_eq!(h.session.poll_timeout(), Some(start + 60 * SEC));
}

#[test]
fn progress_for_a_request_that_did_not_ask_for_it_is_a_warning_and_moves_nothing() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let start = h.now;
    let id = h.request("tools/call");
    h.stdin();
    assert_eq!(h.stdin().len(), 0);
    h.advance(30 * SEC);
    h.stdout(&progress(id, 1.0, None, None));
    h.stdout(&progress(RequestId(77), 1.0, None, None));
    let events = h.events();
    assert_eq!(
        warnings(&events),
        vec![
            Warning::UnknownProgressToken { token: json!(id.0) },
            Warning::UnknownProgressToken { token: json!(77) }
        ]
    );
    assert_eq!(events.len(), 2);
    assert_eq!(h.session.poll_timeout(), Some(start + 60 * SEC));
}

#[test]
fn progress_is_requested_over_stdio_too() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request_with("tools/call", None, with_progress());
    let lines = h.stdin();
    assert_eq!(
        lines[0]["params"],
        json!({"_meta": {"progressToken": id.0}})
    );
}

#[test]
fn cancelling_fails_the_request_tells_the_server_and_aborts_its_exchange() {
    let mut h = Harness::http();
    h.ready_http();
    let (a, b) = (h.request("tools/call"), h.request("tools/list"));
    let sent = h.sent();
    let xa = post_of(&sent, a).exchange;
    h.sse_head(xa);
    assert!(h.session.cancel(h.now, a, Some("user pressed stop")));
    assert_eq!(h.aborts(), vec![xa]);
    let sent_now = h.sent();
    assert_eq!(sent_now.len(), 1);
    assert_eq!(
        sent_now[0].body,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": a.0, "reason": "user pressed stop"}})
    );
    assert_eq!(
        responses(&h.events()),
        vec![(a, Err(RequestError::Cancelled))]
    );
    // The aborted exchange is forgotten; the other request goes on.
    h.sse_event(xa, None, &response_line(a.0, "{}"));
    assert!(h.take().is_empty());
    h.json(post_of(&sent, b).exchange, 200, &response_line(b.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(b, Ok("{}".to_owned()))]);
}

#[test]
fn a_late_response_to_a_cancelled_request_is_dropped_with_a_warning() {
    let mut h = Harness::http();
    let get = h.ready_http();
    let id = h.request("tools/call");
    h.sent();
    assert!(h.session.cancel(h.now, id, None));
    h.take();
    h.sse_head(get.exchange);
    h.sse_event(
        get.exchange,
        Some("1"),
        &response_line(id.0, r#"{"late":true}"#),
    );
    let events = h.events();
    assert!(responses(&events).is_empty());
    assert_eq!(
        warnings(&events),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
}

#[test]
fn cancelling_over_stdio_writes_notifications_cancelled_and_drops_the_late_response() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/call");
    h.stdin();
    assert!(h.session.cancel(h.now, id, None));
    let lines = h.stdin();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "notifications/cancelled");
    assert_eq!(lines[0]["params"]["requestId"], id.0);
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::Cancelled))]
    );
    h.stdout(&response_line(id.0, "{}"));
    assert_eq!(
        warnings(&h.events()),
        vec![Warning::LateResponse {
            id: Id::Number(id.0 as i64)
        }]
    );
    assert_eq!(h.session.poll_timeout(), None, "its deadline is gone");
}

#[test]
fn cancelling_a_request_queued_before_ready_sends_nothing_and_it_is_never_sent() {
    let mut h = Harness::stdio();
    let id = h.request("tools/call");
    h.stdin();
    assert!(h.session.cancel(h.now, id, None));
    assert!(h.stdin().is_empty(), "the server never had it");
    assert_eq!(
        responses(&h.events()),
        vec![(id, Err(RequestError::Cancelled))]
    );
    h.stdout(&response_line(0, INIT_RESULT));
    let lines = h.stdin();
    assert_eq!(lines.len(), 1, "only notifications/initialized: {lines:?}");
}

#[test]
fn cancelling_a_request_that_is_not_outstanding_returns_false_and_does_nothing() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/call");
    h.stdin();
    h.stdout(&response_line(id.0, "{}"));
    h.take();
    assert!(!h.session.cancel(h.now, id, None), "already completed");
    assert!(
        !h.session.cancel(h.now, RequestId(99), None),
        "never started"
    );
    assert!(
        !h.session.cancel(h.now, RequestId(0), None),
        "initialize is not the application's"
    );
    assert!(h.take().is_empty());
}

#[test]
fn a_timeout_noticed_late_reports_the_time_the_request_was_allowed() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request_with(
        "tools/call",
        None,
        RequestOptions::default().with_timeout(Some(10 * SEC)),
    );
    h.stdin();
    // The adapter wakes up late, or only when the next input comes.
    h.advance(25 * SEC);
    assert_eq!(
        responses(&h.events()),
        vec![(
            id,
            Err(RequestError::Timeout {
                after: 10 * SEC,
                skipped: 0
            })
        )]
    );
}
