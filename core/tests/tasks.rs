//! Tasks (2025-11-25) through the session: a task-augmented `tools/call` completes once,
//! with the underlying result fetched by `tasks/result` when its task ends, and every status
//! it went through as `Event::TaskStatus` before; polls at the server's `pollInterval`
//! (bounded), status notifications, `input_required` (the result opened early), and every way
//! a task ends without a result — cancelled by the server or the application (also during
//! `input_required`), its TTL passed, unknown to the server, the session lost while polling,
//! polls that keep failing — each a typed error, never a wait without end.

mod support;

use std::time::Duration;

use mcpwire_core::schema::TaskStatus;
use mcpwire_core::{
    Event, ExchangeId, RequestError, RequestId, RequestOptions, SessionError, TaskError,
    TaskOptions,
};
use serde_json::{json, Value};
use support::*;

const TASKS_CAPS: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"tasks":{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}}},"serverInfo":{"name":"tasks","version":"1"}}"#;

/// A ready HTTP session with a server that runs tools as tasks.
fn ready() -> Harness {
    let mut h = Harness::http();
    let mut sent = h.answer_initialize(&[("mcp-session-id", "s1")], TASKS_CAPS);
    let get = sent.pop().unwrap();
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    h.sse_head(get.exchange);
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    h
}

fn task_json(id: &str, status: &str, poll: Option<u64>, ttl: Option<u64>) -> Value {
    let mut t = json!({
        "taskId": id, "status": status,
        "createdAt": "2026-12-02T05:00:00Z", "lastUpdatedAt": "2026-12-02T05:00:00Z",
        "ttl": ttl,
    });
    if let Some(p) = poll {
        t["pollInterval"] = json!(p);
    }
    t
}

/// Starts a task-augmented call and answers it with a task `status`.
fn start(h: &mut Harness, ttl: Option<u64>, status: &str, poll: Option<u64>) -> RequestId {
    let options = RequestOptions::default().with_task(Some(
        TaskOptions::default().with_ttl(Some(Duration::from_secs(60))),
    ));
    let id = h.request_with(
        "tools/call",
        Some(json!({"name": "slow", "arguments": {"n": 1}})),
        options,
    );
    let sent = h.sent();
    let call = post_of(&sent, id);
    assert_eq!(call.body["params"]["task"], json!({"ttl": 60000}));
    assert_eq!(call.body["params"]["name"], "slow");
    let created = json!({ "task": task_json("t-1", status, poll, ttl) });
    h.json(
        call.exchange,
        200,
        &response_line(id.0, &created.to_string()),
    );
    id
}

fn statuses(events: &[Event]) -> Vec<TaskStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TaskStatus { task, .. } => Some(task.status),
            _ => None,
        })
        .collect()
}

/// The one task request sent now: its method and exchange.
fn one_call(h: &mut Harness) -> (String, ExchangeId, u64) {
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["params"]["taskId"], "t-1");
    (
        sent[0].body["method"].as_str().unwrap().to_owned(),
        sent[0].exchange,
        sent[0].body["id"].as_u64().unwrap(),
    )
}

fn answer(h: &mut Harness, exchange: ExchangeId, wire: u64, result: &Value) {
    h.json(exchange, 200, &response_line(wire, &result.to_string()));
}

#[test]
fn a_task_is_polled_at_its_interval_and_its_request_completes_once_with_the_underlying_result() {
    let mut h = ready();
    let id = start(&mut h, Some(60_000), "working", Some(500));
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Working]);
    assert!(
        responses(&events).is_empty(),
        "no result yet: {:?}",
        responses(&events)
    );
    // Nothing before the interval.
    h.advance(Duration::from_millis(499));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    let (method, x, wire) = one_call(&mut h);
    assert_eq!(method, "tasks/get");
    answer(
        &mut h,
        x,
        wire,
        &task_json("t-1", "working", Some(500), Some(60_000)),
    );
    assert!(statuses(&h.events()).is_empty(), "no change, no event");
    h.advance(Duration::from_millis(500));
    let (_, x, wire) = one_call(&mut h);
    answer(
        &mut h,
        x,
        wire,
        &task_json("t-1", "completed", None, Some(60_000)),
    );
    assert_eq!(statuses(&h.events()), [TaskStatus::Completed]);
    let (method, x, wire) = one_call(&mut h);
    assert_eq!(method, "tasks/result");
    let result = json!({"content": [{"type": "text", "text": "done"}]});
    answer(&mut h, x, wire, &result);
    let r = responses(&h.events());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, id);
    let raw: Value = serde_json::from_str(r[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(
        raw, result,
        "the underlying result, as tasks/result gave it"
    );
    // And nothing more: no poll after the end.
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty());
    assert_eq!(h.session.outstanding(), 0);
}

#[test]
fn a_status_notification_ends_the_wait_for_the_next_poll() {
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(30_000));
    h.events();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/tasks/status",
                      "params": task_json("t-1", "completed", None, None)});
    // On the GET stream, as servers send them.
    let get = ExchangeId(1);
    let _ = get;
    h.session.handle_input(
        h.now,
        mcpwire_core::Input::ResponseBody {
            exchange: ExchangeId(2),
            data: format!("data: {note}\n\n").as_bytes(),
        },
    );
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Completed]);
    let (method, x, wire) = one_call(&mut h);
    assert_eq!(
        method, "tasks/result",
        "at once, not after the 30 s interval"
    );
    answer(&mut h, x, wire, &json!({"content": []}));
    assert_eq!(responses(&h.events())[0].0, id);
}

#[test]
fn input_required_opens_the_result_early_and_polling_goes_on() {
    let mut h = ready();
    let id = start(&mut h, None, "input_required", Some(200));
    assert_eq!(statuses(&h.events()), [TaskStatus::InputRequired]);
    let (method, fetch, fetch_wire) = one_call(&mut h);
    assert_eq!(method, "tasks/result");
    h.advance(Duration::from_millis(200));
    let (method, x, wire) = one_call(&mut h);
    assert_eq!(method, "tasks/get");
    answer(
        &mut h,
        x,
        wire,
        &task_json("t-1", "working", Some(200), None),
    );
    assert_eq!(statuses(&h.events()), [TaskStatus::Working]);
    // The result the early tasks/result held arrives.
    answer(
        &mut h,
        fetch,
        fetch_wire,
        &json!({"content": [], "isError": false}),
    );
    let r = responses(&h.events());
    assert_eq!((r.len(), r[0].0), (1, id));
    assert!(r[0].1.is_ok());
}

#[test]
fn cancelling_during_input_required_sends_tasks_cancel_not_a_cancellation_of_the_request() {
    let mut h = ready();
    let id = start(&mut h, None, "input_required", Some(1000));
    h.events();
    let _fetch = h.sent();
    assert!(h.session.cancel(h.now, id, Some("user gave up")));
    let r = responses(&h.events());
    assert_eq!(r.len(), 1);
    assert!(matches!(r[0].1, Err(RequestError::Cancelled)), "{r:?}");
    let sent = h.sent();
    let methods: Vec<&str> = sent
        .iter()
        .filter_map(|s| s.body["method"].as_str())
        .collect();
    assert_eq!(methods, ["tasks/cancel"], "{sent:?}");
    assert_eq!(sent[0].body["params"]["taskId"], "t-1");
    // Its answer matters to nobody; polling has stopped.
    h.json(
        sent[0].exchange,
        200,
        &response_line(
            sent[0].body["id"].as_u64().unwrap(),
            &task_json("t-1", "cancelled", None, None).to_string(),
        ),
    );
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty());
    assert!(responses(&h.events()).is_empty());
}

#[test]
fn a_task_past_its_ttl_fails_typed_and_the_server_is_asked_to_cancel_it() {
    let mut h = ready();
    let id = start(&mut h, Some(1500), "working", Some(1000));
    h.events();
    h.advance(Duration::from_millis(1000));
    let (_, x, wire) = one_call(&mut h);
    answer(
        &mut h,
        x,
        wire,
        &task_json("t-1", "working", Some(1000), Some(1500)),
    );
    h.advance(Duration::from_millis(500));
    let r = responses(&h.events());
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, id);
    assert!(
        matches!(&r[0].1, Err(RequestError::Task(TaskError::Expired { task_id })) if task_id == "t-1"),
        "{r:?}"
    );
    let sent = h.sent();
    assert_eq!(sent[0].body["method"], "tasks/cancel");
}

#[test]
fn a_task_the_server_does_not_know_fails_typed() {
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, x, wire) = one_call(&mut h);
    let error =
        json!({"jsonrpc": "2.0", "id": wire, "error": {"code": -32602, "message": "unknown task"}});
    h.json(x, 200, &error.to_string());
    let r = responses(&h.events());
    assert_eq!(r[0].0, id);
    assert!(
        matches!(&r[0].1, Err(RequestError::Task(TaskError::NotFound { .. }))),
        "{r:?}"
    );
}

#[test]
fn the_session_lost_while_polling_fails_the_task_with_the_sessions_error() {
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, x, _) = one_call(&mut h);
    h.head(x, 503, &[]);
    h.end(x);
    h.advance(Duration::from_secs(2));
    let events = h.events();
    let r = responses(&events);
    let task = r
        .iter()
        .find(|(rid, _)| *rid == id)
        .expect("the task's request completed");
    assert!(
        matches!(&task.1, Err(RequestError::Session(SessionError::Http(e))) if e.status == 503),
        "{r:?}"
    );
    assert!(events.iter().any(|e| matches!(e, Event::Closed(_))));
}

#[test]
fn a_task_the_server_cancels_fails_typed() {
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, x, wire) = one_call(&mut h);
    answer(&mut h, x, wire, &task_json("t-1", "cancelled", None, None));
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Cancelled]);
    let r = responses(&events);
    assert_eq!(r[0].0, id);
    assert!(matches!(
        &r[0].1,
        Err(RequestError::Task(TaskError::Cancelled { .. }))
    ));
}

#[test]
fn polls_that_keep_failing_end_the_task_with_the_last_failure() {
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    let mut last = None;
    for _ in 0..3 {
        h.advance(Duration::from_millis(100));
        let (_, x, _) = one_call(&mut h);
        h.fail(x, mcpwire_core::TransportErrorKind::Reset, "reset");
        last = responses(&h.events())
            .into_iter()
            .find(|(rid, _)| *rid == id);
    }
    let (_, r) = last.expect("the task failed after three failed polls");
    assert!(matches!(r, Err(RequestError::Transport(_))), "{r:?}");
}

#[test]
fn a_hostile_poll_interval_is_bounded() {
    let mut h = ready();
    start(&mut h, None, "working", Some(0));
    h.events();
    let mut polls = 0;
    for _ in 0..10 {
        h.advance(Duration::from_millis(10));
        for s in h.sent() {
            polls += 1;
            let wire = s.body["id"].as_u64().unwrap();
            answer(
                &mut h,
                s.exchange,
                wire,
                &task_json("t-1", "working", Some(0), None),
            );
        }
    }
    assert!(polls <= 1, "100 ms apart at least: {polls} polls in 100 ms");
}

#[test]
fn a_server_that_runs_the_call_at_once_answers_with_the_result_itself() {
    let mut h = ready();
    let options = RequestOptions::default().with_task(Some(TaskOptions::default()));
    let id = h.request_with("tools/call", Some(json!({"name": "quick"})), options);
    let sent = h.sent();
    let call = post_of(&sent, id);
    assert_eq!(call.body["params"]["task"], json!({}));
    h.json(
        call.exchange,
        200,
        &response_line(id.0, r#"{"content":[]}"#),
    );
    let r = responses(&h.events());
    assert_eq!((r.len(), r[0].0), (1, id));
    assert!(r[0].1.is_ok());
}

#[test]
fn without_the_servers_task_capability_or_at_2026_07_28_a_task_is_refused_at_once() {
    let mut h = Harness::http();
    h.ready_http();
    let options = RequestOptions::default().with_task(Some(TaskOptions::default()));
    let e = h
        .session
        .request(
            h.now,
            "tools/call",
            Some(json!({"name": "x"})),
            options.clone(),
        )
        .unwrap_err();
    assert!(
        matches!(e, RequestError::Task(TaskError::Unsupported { .. })),
        "{e:?}"
    );
    let mut h = Harness::http_with(modern());
    h.ready_modern_http();
    let e = h
        .session
        .request(h.now, "tools/call", Some(json!({"name": "x"})), options)
        .unwrap_err();
    assert!(
        matches!(e, RequestError::Task(TaskError::Unsupported { .. })),
        "{e:?}"
    );
}

#[test]
fn a_failed_task_is_a_tool_error_or_a_typed_failure_never_a_success() {
    // tasks/result with a result marked isError: the tool's error, as the server gave it.
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, x, wire) = one_call(&mut h);
    let mut failed = task_json("t-1", "failed", None, None);
    failed["statusMessage"] = json!("it broke");
    answer(&mut h, x, wire, &failed);
    let (method, x, wire) = one_call(&mut h);
    assert_eq!(method, "tasks/result");
    let tool_error = json!({"content": [{"type": "text", "text": "no"}], "isError": true});
    answer(&mut h, x, wire, &tool_error);
    let r = responses(&h.events());
    let raw: Value = serde_json::from_str(r[0].1.as_ref().unwrap()).unwrap();
    assert_eq!((r[0].0, raw), (id, tool_error));

    // A result that does not say it failed (the Python SDK's empty one): the status is
    // believed, with its message.
    let mut h = ready();
    let id = start(&mut h, None, "working", Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, x, wire) = one_call(&mut h);
    answer(&mut h, x, wire, &failed);
    let (_, x, wire) = one_call(&mut h);
    answer(&mut h, x, wire, &json!({"content": []}));
    let r = responses(&h.events());
    assert_eq!(r[0].0, id);
    assert_eq!(
        r[0].1.as_ref().unwrap_err(),
        &RequestError::Task(TaskError::Failed {
            task_id: "t-1".into(),
            message: Some("it broke".into())
        })
    );
}
