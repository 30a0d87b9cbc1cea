//! The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) through the
//! session: declared in every request's client capabilities; the server decides to answer a
//! `tools/call` with a task (`resultType: "task"`, its fields inline), which the client follows
//! with `tasks/get` at its `pollIntervalMs` until `tasks/get` carries the outcome itself (the
//! result, or the JSON-RPC error); `input_required` hands the application each of the task's
//! `inputRequests` once (however often a poll repeats them), and each answer goes back with
//! `tasks/update`; `notifications/tasks` counts as a poll; `Mcp-Name` is the task id over HTTP;
//! and every way a task ends without a result — cancelled, unknown to the server, past its
//! deadline, a task where none may be — is a typed error, never a wait without end.

mod support;

use std::time::Duration;

use mcpwire_core::schema::{ClientCapabilities, ServerRequest, TaskStatus};
use mcpwire_core::{
    Event, Policy, ProtocolError, RequestError, RequestId, RequestOptions, TaskError, TaskOptions,
};
use serde_json::{json, Value};
use support::*;

const DISCOVER_TASKS: &str = r#"{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{},"extensions":{"io.modelcontextprotocol/tasks":{}}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tasks","version":"1"}}}"#;

fn config() -> mcpwire_core::Config {
    let mut config = modern();
    config.capabilities = ClientCapabilities::new().with_elicitation();
    config
}

/// A ready 2026-07-28 stdio session with a server that declared the extension.
fn ready_with(config: mcpwire_core::Config) -> Harness {
    let mut h = Harness::stdio_with(config);
    let lines = h.stdin();
    assert_eq!(lines[0]["method"], "server/discover");
    let id = lines[0]["id"].as_u64().unwrap();
    h.stdout(&response_line(id, DISCOVER_TASKS));
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    h
}

fn ready() -> Harness {
    ready_with(config())
}

fn task(status: &str, poll_ms: Option<u64>) -> Value {
    let mut t = json!({
        "taskId": "t-1", "status": status,
        "createdAt": "2026-12-02T05:00:00Z", "lastUpdatedAt": "2026-12-02T05:00:00Z",
        "ttlMs": 60_000,
    });
    if let Some(p) = poll_ms {
        t["pollIntervalMs"] = json!(p);
    }
    t
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn created(poll_ms: Option<u64>) -> Value {
    with(task("working", poll_ms), "resultType", json!("task"))
}

/// Calls a tool (plainly, or as a task) and answers it with a task.
fn start(h: &mut Harness, options: RequestOptions, poll_ms: Option<u64>) -> RequestId {
    let id = h.request_with(
        "tools/call",
        Some(json!({"name": "slow", "arguments": {}})),
        options,
    );
    let lines = h.stdin();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let call = &lines[0];
    assert_eq!(call["method"], "tools/call");
    // The server decides: the request says nothing of a task, its capabilities say the
    // client can follow one.
    assert!(call["params"].get("task").is_none(), "{call}");
    assert_eq!(
        call["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]["extensions"]
            ["io.modelcontextprotocol/tasks"],
        json!({})
    );
    let wire = call["id"].as_u64().unwrap();
    h.stdout(&response_line(wire, &created(poll_ms).to_string()));
    id
}

/// The one request the client wrote now: its method, params and id.
fn one_line(h: &mut Harness) -> (String, Value, u64) {
    let lines = h.stdin();
    assert_eq!(lines.len(), 1, "{lines:?}");
    (
        lines[0]["method"].as_str().unwrap().to_owned(),
        lines[0]["params"].clone(),
        lines[0]["id"].as_u64().unwrap(),
    )
}

fn answer(h: &mut Harness, wire: u64, result: &Value) {
    let mut result = result.clone();
    if result.get("resultType").is_none() {
        result["resultType"] = json!("complete");
    }
    h.stdout(&response_line(wire, &result.to_string()));
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

fn result_of(events: &[Event], id: RequestId) -> Option<Result<String, RequestError>> {
    responses(events)
        .into_iter()
        .find(|(r, _)| *r == id)
        .map(|(_, r)| r)
}

#[test]
fn every_request_declares_the_extension_unless_the_policy_says_not() {
    let mut h = Harness::stdio_with(modern());
    let probe = h.stdin();
    assert_eq!(
        probe[0]["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"],
        json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
    );
    let off = modern().with_policy(Policy::default().with_tasks_extension(false));
    let mut h = Harness::stdio_with(off);
    let probe = h.stdin();
    assert_eq!(
        probe[0]["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"],
        json!({})
    );
}

#[test]
fn a_plain_call_answered_with_a_task_is_followed_until_tasks_get_carries_the_result() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(500));
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Working]);
    assert!(result_of(&events, id).is_none());
    // The status the application sees is the task, not the result that carried it.
    let seen = events.iter().find_map(|e| match e {
        Event::TaskStatus { task, .. } => Some(task.clone()),
        _ => None,
    });
    let seen = seen.unwrap();
    assert_eq!(seen.task_id, "t-1");
    assert_eq!(seen.ttl, Some(60_000));
    assert_eq!(seen.poll_interval, Some(500));
    assert!(!seen.extra.contains_key("resultType"), "{:?}", seen.extra);
    // Polled at its interval.
    h.advance(Duration::from_millis(499));
    assert!(h.stdin().is_empty());
    h.advance(Duration::from_millis(1));
    let (method, params, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/get");
    assert_eq!(params["taskId"], "t-1");
    assert_eq!(
        params["_meta"]["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    answer(&mut h, wire, &task("working", Some(500)));
    assert!(h.events().is_empty(), "no change, no event");
    h.advance(Duration::from_millis(500));
    let (method, _, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/get");
    let done = with(
        task("completed", Some(500)),
        "result",
        json!({"content": [{"type": "text", "text": "slow done"}], "isError": false}),
    );
    answer(&mut h, wire, &done);
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Completed]);
    let result = result_of(&events, id)
        .expect("completed")
        .expect("its result");
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["content"][0]["text"], "slow done");
    // There is no `tasks/result` in the extension, and nothing after the end.
    h.advance(Duration::from_secs(60));
    assert!(h.stdin().is_empty());
    assert_eq!(h.session.outstanding(), 0);
}

#[test]
fn a_failed_task_fails_the_call_with_its_json_rpc_error() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    let failed = with(
        task("failed", None),
        "error",
        json!({"code": -32603, "message": "it broke"}),
    );
    answer(&mut h, wire, &failed);
    match result_of(&h.events(), id) {
        Some(Err(RequestError::Rpc(e))) => {
            assert_eq!(e.code, -32603);
            assert_eq!(e.message, "it broke");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_terminal_task_without_its_outcome_is_an_invalid_result() {
    for (status, field) in [("completed", "result"), ("failed", "error")] {
        let mut h = ready();
        let id = start(&mut h, RequestOptions::default(), Some(100));
        h.advance(Duration::from_millis(100));
        let (_, _, wire) = one_line(&mut h);
        answer(&mut h, wire, &task(status, None));
        match result_of(&h.events(), id) {
            Some(Err(RequestError::Protocol(ProtocolError::InvalidResult(why)))) => {
                assert!(why.contains(field), "{status}: {why}")
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn input_requests_are_asked_once_each_and_answered_with_tasks_update() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    let question = json!({
        "name": {"method": "elicitation/create", "params": {
            "mode": "form", "message": "Your name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
        }}
    });
    let waiting = with(task("input_required", Some(100)), "inputRequests", question);
    answer(&mut h, wire, &waiting);
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::InputRequired]);
    let asks = server_requests(&events);
    assert_eq!(asks.len(), 1, "{events:?}");
    assert!(matches!(&asks[0].1, ServerRequest::Elicit(p) if p.message == "Your name?"));
    // The task's status, as the application sees it, has no inputRequests in it.
    assert!(events.iter().all(|e| match e {
        Event::TaskStatus { task, .. } => !task.extra.contains_key("inputRequests"),
        _ => true,
    }));
    // A poll before the answer repeats the question: it is not asked again.
    h.advance(Duration::from_millis(100));
    let (method, _, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/get");
    answer(&mut h, wire, &waiting);
    assert!(server_requests(&h.events()).is_empty(), "asked once");
    // The answer goes back with tasks/update.
    h.session
        .respond(
            asks[0].0.clone(),
            Ok(json!({"action": "accept", "content": {"name": "Ada"}})),
        )
        .unwrap();
    let (method, params, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/update");
    assert_eq!(params["taskId"], "t-1");
    assert_eq!(
        params["inputResponses"],
        json!({"name": {"action": "accept", "content": {"name": "Ada"}}})
    );
    answer(&mut h, wire, &json!({}));
    assert!(h.events().is_empty());
    // Polling goes on until the outcome.
    h.advance(Duration::from_millis(100));
    let (method, _, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/get");
    let done = with(
        task("completed", None),
        "result",
        json!({"content": [{"type": "text", "text": "hello Ada"}]}),
    );
    answer(&mut h, wire, &done);
    let result = result_of(&h.events(), id).unwrap().unwrap();
    assert!(result.contains("hello Ada"), "{result}");
}

#[test]
fn an_input_request_for_a_capability_not_declared_fails_the_call_and_cancels_the_task() {
    let mut h = ready_with(modern());
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.events();
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    let question = json!({"m": {"method": "sampling/createMessage", "params": {
        "messages": [], "maxTokens": 5
    }}});
    answer(
        &mut h,
        wire,
        &with(task("input_required", None), "inputRequests", question),
    );
    let events = h.events();
    assert!(server_requests(&events).is_empty());
    match result_of(&events, id) {
        Some(Err(RequestError::Input(why))) => assert!(why.contains("sampling"), "{why}"),
        other => panic!("{other:?}"),
    }
    let (method, params, _) = one_line(&mut h);
    assert_eq!(method, "tasks/cancel");
    assert_eq!(params["taskId"], "t-1");
}

#[test]
fn an_input_the_application_cannot_give_cancels_the_task() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    let question = json!({"q": {"method": "elicitation/create", "params": {
        "message": "ok?", "requestedSchema": {"type": "object", "properties": {}}
    }}});
    answer(
        &mut h,
        wire,
        &with(task("input_required", None), "inputRequests", question),
    );
    let asks = server_requests(&h.events());
    h.session
        .respond(
            asks[0].0.clone(),
            Err(mcpwire_core::jsonrpc::ErrorObject::new(-1, "the user left")),
        )
        .unwrap();
    let (method, _, _) = one_line(&mut h);
    assert_eq!(method, "tasks/cancel");
    match result_of(&h.events(), id) {
        Some(Err(RequestError::Input(why))) => assert!(why.contains("the user left"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_notification_of_the_task_counts_as_a_poll() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(30_000));
    h.events();
    let note = json!({
        "jsonrpc": "2.0", "method": "notifications/tasks",
        "params": with(task("completed", Some(30_000)), "result", json!({"content": []})),
    });
    h.stdout(&note.to_string());
    let events = h.events();
    assert_eq!(statuses(&events), [TaskStatus::Completed]);
    assert!(matches!(result_of(&events, id), Some(Ok(_))));
    // No poll was needed, none goes.
    h.advance(Duration::from_secs(60));
    assert!(h.stdin().is_empty());
}

#[test]
fn a_cancelled_task_and_a_task_the_server_forgot_are_typed_errors() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    answer(&mut h, wire, &task("cancelled", None));
    assert!(matches!(
        result_of(&h.events(), id),
        Some(Err(RequestError::Task(TaskError::Cancelled { task_id }))) if task_id == "t-1"
    ));

    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.advance(Duration::from_millis(100));
    let (_, _, wire) = one_line(&mut h);
    h.stdout(&format!(
        r#"{{"jsonrpc":"2.0","id":{wire},"error":{{"code":-32602,"message":"unknown task"}}}}"#
    ));
    assert!(matches!(
        result_of(&h.events(), id),
        Some(Err(RequestError::Task(TaskError::NotFound { task_id }))) if task_id == "t-1"
    ));
}

#[test]
fn cancelling_the_call_sends_tasks_cancel() {
    let mut h = ready();
    let id = start(&mut h, RequestOptions::default(), Some(100));
    h.events();
    assert!(h.session.cancel(h.now, id, None));
    assert!(matches!(
        result_of(&h.events(), id),
        Some(Err(RequestError::Cancelled))
    ));
    let (method, params, _) = one_line(&mut h);
    assert_eq!(method, "tasks/cancel");
    assert_eq!(params["taskId"], "t-1");
    // No notifications/cancelled for a task ("MUST NOT be used for task cancellation").
    h.advance(Duration::from_secs(1));
    assert!(h.stdin().is_empty());
}

#[test]
fn a_plain_call_keeps_its_deadline_and_a_call_made_as_a_task_waits_longer() {
    // Plain: the call's own deadline (the policy's request timeout) bounds the task.
    let policy = Policy::default().with_request_timeout(Duration::from_secs(10));
    let mut h = ready_with(config().with_policy(policy.clone()));
    let id = start(&mut h, RequestOptions::default(), Some(30_000));
    h.advance(Duration::from_secs(10));
    let events = h.events();
    assert!(matches!(
        result_of(&events, id),
        Some(Err(RequestError::Task(TaskError::Expired { .. })))
    ));
    let (method, _, _) = one_line(&mut h);
    assert_eq!(method, "tasks/cancel", "the client gives up on it");

    // As a task: bounded by its TTL (60 s here) and the policy's task wait, not the timeout.
    let mut h = ready_with(config().with_policy(policy));
    let options = RequestOptions::default().with_task(Some(TaskOptions::default()));
    let id = start(&mut h, options, Some(30_000));
    h.advance(Duration::from_secs(30));
    let (method, _, wire) = one_line(&mut h);
    assert_eq!(method, "tasks/get");
    answer(&mut h, wire, &task("working", Some(30_000)));
    assert!(
        result_of(&h.events(), id).is_none(),
        "still waiting at 30 s"
    );
    h.advance(Duration::from_secs(30));
    let events = h.events();
    assert!(matches!(
        result_of(&events, id),
        Some(Err(RequestError::Task(TaskError::Expired { .. })))
    ));
}

#[test]
fn a_task_where_none_may_be_is_an_invalid_result() {
    // Only tools/call may be a task.
    let mut h = ready();
    let id = h.request_with(
        "prompts/get",
        Some(json!({"name": "p"})),
        RequestOptions::default(),
    );
    let (_, _, wire) = one_line(&mut h);
    h.stdout(&response_line(wire, &created(None).to_string()));
    assert!(matches!(
        result_of(&h.events(), id),
        Some(Err(RequestError::Protocol(ProtocolError::InvalidResult(_))))
    ));
    // Nor without the extension declared.
    let off = config().with_policy(Policy::default().with_tasks_extension(false));
    let mut h = ready_with(off);
    let id = h.request_with(
        "tools/call",
        Some(json!({"name": "slow"})),
        RequestOptions::default(),
    );
    let (_, _, wire) = one_line(&mut h);
    h.stdout(&response_line(wire, &created(None).to_string()));
    assert!(matches!(
        result_of(&h.events(), id),
        Some(Err(RequestError::Protocol(ProtocolError::InvalidResult(_))))
    ));
    h.advance(Duration::from_secs(5));
    assert!(h.stdin().is_empty(), "not followed");
}

#[test]
fn a_call_made_as_a_task_needs_a_server_with_the_extension() {
    let mut h = Harness::stdio_with(config());
    h.ready_modern_stdio();
    let options = RequestOptions::default().with_task(Some(TaskOptions::default()));
    let refused = h
        .session
        .request(h.now, "tools/call", Some(json!({"name": "slow"})), options);
    assert!(
        matches!(
            refused,
            Err(RequestError::Task(TaskError::Unsupported { .. }))
        ),
        "{refused:?}"
    );
}

#[test]
fn over_http_the_tasks_requests_are_named_by_the_task_id() {
    let mut h = Harness::http_with(config());
    let sent = h.sent();
    let id = sent[0].body["id"].as_u64().unwrap();
    h.json(sent[0].exchange, 200, &response_line(id, DISCOVER_TASKS));
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    let call = h.request_with(
        "tools/call",
        Some(json!({"name": "slow"})),
        RequestOptions::default(),
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    let wire = sent[0].body["id"].as_u64().unwrap();
    h.json(
        sent[0].exchange,
        200,
        &response_line(wire, &created(Some(100)).to_string()),
    );
    h.advance(Duration::from_millis(100));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["method"], "tasks/get");
    assert_eq!(header(&sent[0], "mcp-method"), Some("tasks/get"));
    assert_eq!(header(&sent[0], "mcp-name"), Some("t-1"));
    let wire = sent[0].body["id"].as_u64().unwrap();
    let done = with(task("completed", None), "result", json!({"content": []}));
    let mut done = done;
    done["resultType"] = json!("complete");
    h.json(
        sent[0].exchange,
        200,
        &response_line(wire, &done.to_string()),
    );
    assert!(matches!(result_of(&h.events(), call), Some(Ok(_))));
}
