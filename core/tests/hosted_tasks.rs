//! The client as a task receiver (2025-11-25): a server's task-augmented `elicitation/create`
//! or `sampling/createMessage` to a client that declared it is answered at once with a task
//! (`working`), reaches the application as a plain request, and its answer becomes the task's
//! result: `completed` (or `failed` with the handler's error) for `tasks/get`, the result
//! with its related-task `_meta` for `tasks/result` (held until then), listed by `tasks/list`,
//! ended by `tasks/cancel` (a terminal one refused), forgotten at its TTL; bounded in number
//! and bytes; nothing left waiting when the session ends; and without the capability, such a
//! request runs as a plain one.

mod support;

use std::time::Duration;

use mcpwire_core::jsonrpc::{ErrorObject, Id};
use mcpwire_core::schema::ServerRequest;
use mcpwire_core::{Config, Event, HostedTasks, Policy, RequestError, SessionError};
use serde_json::{json, Value};
use support::*;

/// 2026-12-02T07:00:00Z.
const UNIX_NOW: Duration = Duration::from_secs(1_796_194_800);
const KEY: [u8; 32] = [7; 32];

fn config(policy: Policy) -> Config {
    let mut config = legacy()
        .with_policy(policy)
        .with_hosted_tasks(HostedTasks::new(UNIX_NOW, KEY));
    config.capabilities = config.capabilities.with_elicitation().with_sampling();
    config
}

/// A ready stdio session hosting tasks under `policy`; the `initialize` it sent.
fn hosting_with(policy: Policy) -> (Harness, Value) {
    ready(config(policy))
}

fn hosting() -> Harness {
    hosting_with(Policy::default()).0
}

fn ready(config: Config) -> (Harness, Value) {
    let mut h = Harness::stdio_with(config);
    let lines = h.stdin();
    assert_eq!(lines[0]["method"], "initialize");
    let initialize = lines[0].clone();
    h.stdout(&format!(
        r#"{{"jsonrpc":"2.0","id":0,"result":{INIT_RESULT}}}"#
    ));
    let lines = h.stdin();
    assert_eq!(lines[0]["method"], "notifications/initialized");
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    (h, initialize)
}

fn elicit_params(task: Option<Value>) -> Value {
    let mut p = json!({
        "message": "Your name?",
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
    });
    if let Some(t) = task {
        p["task"] = t;
    }
    p
}

/// The server sends request `id` (`method`, `params`).
fn server(h: &mut Harness, id: Value, method: &str, params: Value) {
    h.stdout(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string());
}

/// The server asks `tasks/...` of task `task_id`; returns what the client answered at once.
fn ask(h: &mut Harness, id: u64, method: &str, task_id: &str) -> Vec<Value> {
    server(h, json!(id), method, json!({"taskId": task_id}));
    h.stdin()
}

/// A task the server created: what it got, and what the application got.
struct Created {
    task: Value,
    request: ServerRequest,
    /// The id the application answers with: the core's handle of the task.
    handle: Id,
}

/// Sends a task-augmented elicitation as request `id`; returns the created task (checked to
/// be the one answer, at once) and the request the application got, with its id.
fn create(h: &mut Harness, id: u64, ttl: Option<u64>) -> Created {
    let task = match ttl {
        Some(ms) => json!({ "ttl": ms }),
        None => json!({}),
    };
    server(
        h,
        json!(id),
        "elicitation/create",
        elicit_params(Some(task)),
    );
    let answers = h.stdin();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["id"], json!(id));
    let task = answers[0]["result"]["task"].clone();
    assert!(task.is_object(), "a CreateTaskResult: {:?}", answers[0]);
    let events = h.events();
    let (handle, request) = match &events[..] {
        [Event::Request { id: rid, request }] => {
            // Not the server's id, which the task answered: the task's own.
            assert_ne!(*rid, Id::Number(id as i64));
            assert!(
                matches!(rid, Id::String(s) if s.starts_with("mcpwire-task-")),
                "{rid:?}"
            );
            (rid.clone(), (**request).clone())
        }
        other => panic!("the application gets the request: {other:?}"),
    };
    Created {
        task,
        request,
        handle,
    }
}

fn accept(name: &str) -> Value {
    json!({"action": "accept", "content": {"name": name}})
}

fn one(answers: &[Value]) -> &Value {
    assert_eq!(answers.len(), 1, "{answers:?}");
    &answers[0]
}

fn task_id(task: &Value) -> String {
    task["taskId"].as_str().unwrap().to_owned()
}

#[test]
fn the_client_declares_tasks_for_what_it_can_do_with_list_and_cancel() {
    let (_, initialize) = hosting_with(Policy::default());
    assert_eq!(
        initialize["params"]["capabilities"]["tasks"],
        json!({"list": {}, "cancel": {},
               "requests": {"sampling": {"createMessage": {}}, "elicitation": {"create": {}}}})
    );
    // Only sampling: only sampling is hosted.
    let mut only_sampling = config(Policy::default());
    only_sampling.capabilities.elicitation = None;
    let (_, initialize) = ready(only_sampling);
    assert_eq!(
        initialize["params"]["capabilities"]["tasks"]["requests"],
        json!({"sampling": {"createMessage": {}}})
    );
    // Neither: no tasks declared at all.
    let (_, initialize) = ready(legacy().with_hosted_tasks(HostedTasks::new(UNIX_NOW, KEY)));
    assert!(initialize["params"]["capabilities"].get("tasks").is_none());
}

#[test]
fn a_task_goes_from_working_to_completed_and_tasks_result_is_the_handlers_answer() {
    let mut h = hosting();
    let Created {
        task,
        request,
        handle,
    } = create(&mut h, 7, Some(60_000));
    assert_eq!(task["status"], "working");
    assert_eq!(task["ttl"], 60_000);
    assert_eq!(task["pollInterval"], 500);
    assert_eq!(task["createdAt"], "2026-12-02T07:00:00.000Z");
    assert_eq!(task["lastUpdatedAt"], task["createdAt"]);
    let id = task_id(&task);
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // The application gets a plain elicitation: the `task` is the core's business.
    match request {
        ServerRequest::Elicit(p) => {
            assert_eq!(p.message, "Your name?");
            assert!(!p.extra.contains_key("task"), "{:?}", p.extra);
        }
        other => panic!("{other:?}"),
    }
    let got = ask(&mut h, 8, "tasks/get", &id);
    assert_eq!(one(&got)["result"]["status"], "working");
    assert_eq!(one(&got)["result"]["taskId"], id.as_str());

    h.advance(Duration::from_millis(1500));
    h.session.respond(handle, Ok(accept("Ada"))).unwrap();
    assert!(
        h.stdin().is_empty(),
        "the answer is the task's result, not a response"
    );
    let got = ask(&mut h, 9, "tasks/get", &id);
    let got = &one(&got)["result"];
    assert_eq!(got["status"], "completed");
    assert_eq!(got["createdAt"], "2026-12-02T07:00:00.000Z");
    assert_eq!(got["lastUpdatedAt"], "2026-12-02T07:00:01.500Z");
    assert_eq!(got["ttl"], 60_000);
    let result = ask(&mut h, 10, "tasks/result", &id);
    let result = one(&result);
    assert_eq!(result["id"], 10);
    assert_eq!(result["result"]["action"], "accept");
    assert_eq!(result["result"]["content"]["name"], "Ada");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"],
        json!({ "taskId": id })
    );
    // As often as asked, until the TTL.
    let again = ask(&mut h, 11, "tasks/result", &id);
    assert_eq!(one(&again)["result"], result["result"]);
    assert!(h.events().is_empty());
}

#[test]
fn tasks_result_before_the_end_is_answered_only_once_the_handler_answers() {
    let mut h = hosting();
    let Created { task, handle, .. } = create(&mut h, 1, None);
    let id = task_id(&task);
    assert!(ask(&mut h, 2, "tasks/result", &id).is_empty(), "it waits");
    h.advance(Duration::from_secs(5));
    assert!(h.stdin().is_empty(), "still waiting");
    let got = ask(&mut h, 3, "tasks/get", &id);
    assert_eq!(one(&got)["result"]["status"], "working");
    h.session
        .respond(handle.clone(), Ok(accept("Grace")))
        .unwrap();
    let answers = h.stdin();
    let answer = one(&answers);
    assert_eq!(answer["id"], 2, "the waiting tasks/result is answered");
    assert_eq!(answer["result"]["content"]["name"], "Grace");
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
}

#[test]
fn a_failed_handler_fails_the_task_and_tasks_result_is_its_json_rpc_error() {
    let mut h = hosting();
    let Created { task, handle, .. } = create(&mut h, 1, None);
    let id = task_id(&task);
    assert!(ask(&mut h, 2, "tasks/result", &id).is_empty());
    let error = ErrorObject::new(-1, "User rejected the elicitation");
    h.session.respond(handle.clone(), Err(error)).unwrap();
    let answers = h.stdin();
    assert_eq!(one(&answers)["id"], 2);
    assert_eq!(
        one(&answers)["error"],
        json!({"code": -1, "message": "User rejected the elicitation"})
    );
    let got = ask(&mut h, 3, "tasks/get", &id);
    assert_eq!(one(&got)["result"]["status"], "failed");
    assert_eq!(
        one(&got)["result"]["statusMessage"],
        "User rejected the elicitation"
    );
    let again = ask(&mut h, 4, "tasks/result", &id);
    assert_eq!(one(&again)["error"]["code"], -1);
}

#[test]
fn tasks_cancel_cancels_a_working_task_withdraws_its_request_and_refuses_a_terminal_one() {
    let mut h = hosting();
    let Created { task, handle, .. } = create(&mut h, 1, None);
    let id = task_id(&task);
    assert!(ask(&mut h, 2, "tasks/result", &id).is_empty());
    h.advance(Duration::from_millis(250));
    let answers = ask(&mut h, 3, "tasks/cancel", &id);
    assert_eq!(answers.len(), 2, "{answers:?}");
    // The waiting tasks/result ends with an error; the cancel's answer is the task, cancelled.
    assert_eq!(answers[0]["id"], 2);
    assert_eq!(answers[0]["error"]["code"], ErrorObject::INTERNAL_ERROR);
    assert_eq!(answers[1]["id"], 3);
    assert_eq!(answers[1]["result"]["status"], "cancelled");
    assert_eq!(
        answers[1]["result"]["lastUpdatedAt"],
        "2026-12-02T07:00:00.250Z"
    );
    let events = h.events();
    assert!(
        matches!(&events[..], [Event::RequestWithdrawn { id }] if *id == handle),
        "{events:?}"
    );
    // The handler's late answer is dropped: never sent, and the task stays cancelled.
    h.session
        .respond(handle.clone(), Ok(accept("late")))
        .unwrap();
    assert!(h.stdin().is_empty());
    let got = ask(&mut h, 4, "tasks/get", &id);
    assert_eq!(one(&got)["result"]["status"], "cancelled");
    let again = ask(&mut h, 5, "tasks/cancel", &id);
    assert_eq!(one(&again)["error"]["code"], ErrorObject::INVALID_PARAMS);
    assert!(one(&again)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("terminal status 'cancelled'"));

    // A completed task cannot be cancelled either.
    let created = create(&mut h, 6, None);
    let done = task_id(&created.task);
    h.session.respond(created.handle, Ok(accept("x"))).unwrap();
    let refused = ask(&mut h, 7, "tasks/cancel", &done);
    assert_eq!(one(&refused)["error"]["code"], ErrorObject::INVALID_PARAMS);
    assert!(one(&refused)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'completed'"));
    let got = ask(&mut h, 8, "tasks/get", &done);
    assert_eq!(one(&got)["result"]["status"], "completed");
}

#[test]
fn an_unknown_task_id_is_invalid_params_for_every_task_method() {
    let mut h = hosting();
    let _ = create(&mut h, 1, None);
    for (n, method) in ["tasks/get", "tasks/result", "tasks/cancel"]
        .into_iter()
        .enumerate()
    {
        let answers = ask(
            &mut h,
            10 + n as u64,
            method,
            "0123456789abcdef0123456789abcdef",
        );
        assert_eq!(
            one(&answers)["error"]["code"],
            ErrorObject::INVALID_PARAMS,
            "{method}"
        );
    }
    // No taskId at all, and a related-task `_meta` does not stand in for it.
    server(
        &mut h,
        json!(20),
        "tasks/get",
        json!({"_meta": {"io.modelcontextprotocol/related-task": {"taskId": "x"}}}),
    );
    assert_eq!(
        one(&h.stdin())["error"]["code"],
        ErrorObject::INVALID_PARAMS
    );
}

#[test]
fn tasks_list_pages_the_hosted_tasks_in_creation_order() {
    let (mut h, _) = hosting_with(Policy::default().with_max_hosted_tasks(60));
    let mut ids = Vec::new();
    for n in 0..55 {
        ids.push(task_id(&create(&mut h, n, None).task));
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 55, "task ids are unique");
    server(&mut h, json!(100), "tasks/list", json!({}));
    let page = one(&h.stdin())["result"].clone();
    let listed: Vec<&str> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids[..50].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let cursor = page["nextCursor"]
        .as_str()
        .expect("more to come")
        .to_owned();
    server(
        &mut h,
        json!(101),
        "tasks/list",
        json!({ "cursor": cursor }),
    );
    let page = one(&h.stdin())["result"].clone();
    let listed: Vec<&str> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids[50..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(page.get("nextCursor").is_none(), "{page}");
    assert_eq!(page["tasks"][0]["status"], "working");
    server(
        &mut h,
        json!(102),
        "tasks/list",
        json!({ "cursor": "not-ours" }),
    );
    assert_eq!(
        one(&h.stdin())["error"]["code"],
        ErrorObject::INVALID_PARAMS
    );
}

#[test]
fn a_tasks_ttl_passing_forgets_it_and_its_result_and_withdraws_its_request() {
    let mut h = hosting();
    let before = h.session.retained_bytes();
    let Created { task, handle, .. } = create(&mut h, 1, Some(2_000));
    assert_eq!(task["ttl"], 2_000);
    let id = task_id(&task);
    assert!(ask(&mut h, 2, "tasks/result", &id).is_empty());
    assert_eq!(h.session.hosted_tasks(), 1);
    // What it keeps (its reserved bytes, the waiting `tasks/result`'s id) counts against the
    // policy's limit, and is what `hosted_task_bytes` says.
    let kept = h.session.hosted_task_bytes();
    assert!(
        kept > 0 && kept <= h.session.policy().max_hosted_task_bytes,
        "{kept}"
    );
    h.advance(Duration::from_millis(1_999));
    assert_eq!(
        one(&ask(&mut h, 3, "tasks/get", &id))["result"]["status"],
        "working"
    );
    h.advance(Duration::from_millis(1));
    // The waiting tasks/result hears it expired; the application's request is withdrawn.
    let answers = h.stdin();
    assert_eq!(one(&answers)["id"], 2);
    assert_eq!(one(&answers)["error"]["code"], ErrorObject::INVALID_PARAMS);
    let events = h.events();
    assert!(
        matches!(&events[..], [Event::RequestWithdrawn { id }] if *id == handle),
        "{events:?}"
    );
    assert_eq!(h.session.hosted_tasks(), 0);
    assert_eq!(h.session.hosted_task_bytes(), 0);
    assert_eq!(
        one(&ask(&mut h, 4, "tasks/get", &id))["error"]["code"],
        ErrorObject::INVALID_PARAMS
    );
    // A late answer is dropped, not sent as a response.
    h.session
        .respond(handle.clone(), Ok(accept("late")))
        .unwrap();
    assert!(h.stdin().is_empty());
    assert!(h.session.retained_bytes() <= before + 256);
    assert_eq!(h.session.poll_timeout(), None, "no timer left");

    // A completed task's result goes at its TTL too.
    let created = create(&mut h, 5, Some(1_000));
    let id = task_id(&created.task);
    h.session.respond(created.handle, Ok(accept("x"))).unwrap();
    h.advance(Duration::from_millis(1_000));
    assert_eq!(
        one(&ask(&mut h, 6, "tasks/result", &id))["error"]["code"],
        ErrorObject::INVALID_PARAMS
    );
}

#[test]
fn the_ttl_is_the_policys_at_most_and_a_second_at_least() {
    let (mut h, _) =
        hosting_with(Policy::default().with_max_hosted_task_ttl(Duration::from_secs(600)));
    assert_eq!(create(&mut h, 1, Some(86_400_000)).task["ttl"], 600_000);
    assert_eq!(create(&mut h, 2, None).task["ttl"], 600_000);
    assert_eq!(create(&mut h, 3, Some(0)).task["ttl"], 1_000);
}

#[test]
fn the_limits_refuse_new_tasks_with_a_json_rpc_error_and_keep_the_bytes_bounded() {
    let limit = 8 << 10;
    let policy = Policy::default()
        .with_max_hosted_tasks(2)
        .with_max_hosted_task_bytes(limit);
    let (mut h, _) = hosting_with(policy);
    let before = h.session.retained_bytes();
    let a = create(&mut h, 1, None);
    let _ = create(&mut h, 2, None);
    server(
        &mut h,
        json!(3),
        "elicitation/create",
        elicit_params(Some(json!({}))),
    );
    let refused = h.stdin();
    assert_eq!(one(&refused)["id"], 3);
    assert_eq!(one(&refused)["error"]["code"], ErrorObject::INTERNAL_ERROR);
    assert!(h.events().is_empty(), "the refused request is not surfaced");

    // A result over the byte limit ends the task `failed`, with an error saying so.
    let big = json!({"action": "accept", "content": {"name": "x".repeat(64 << 10)}});
    h.session.respond(a.handle, Ok(big)).unwrap();
    let id = task_id(&a.task);
    let got = ask(&mut h, 4, "tasks/get", &id);
    assert_eq!(one(&got)["result"]["status"], "failed");
    let result = ask(&mut h, 5, "tasks/result", &id);
    assert_eq!(one(&result)["error"]["code"], ErrorObject::INTERNAL_ERROR);
    assert!(one(&result)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("limit"));
    let held = h.session.retained_bytes() - before;
    assert!(held <= limit + 2 * 1024, "held {held} bytes");

    // Waiting tasks/result requests are bounded too.
    let (b, _) = (task_id(&create_after_expiry(&mut h)), ());
    let mut waiting = 0;
    let mut refused = 0;
    for n in 0..10 {
        let answers = ask(&mut h, 100 + n, "tasks/result", &b);
        match answers.first() {
            None => waiting += 1,
            Some(a) => {
                assert_eq!(a["error"]["code"], ErrorObject::INTERNAL_ERROR);
                refused += 1;
            }
        }
    }
    assert!(
        waiting >= 1 && refused >= 1,
        "{waiting} waiting, {refused} refused"
    );
    let held = h.session.retained_bytes() - before;
    assert!(held <= limit + 2 * 1024, "held {held} bytes");
}

/// Lets every task expire, then creates one (id 50).
fn create_after_expiry(h: &mut Harness) -> Value {
    h.advance(Duration::from_secs(3600));
    drop(h.stdin());
    drop(h.events());
    assert_eq!(h.session.hosted_tasks(), 0);
    create(h, 50, None).task
}

#[test]
fn the_session_ending_leaves_no_tasks_result_waiting_and_nothing_kept() {
    let mut h = hosting();
    let Created { task, handle, .. } = create(&mut h, 1, None);
    let id = task_id(&task);
    assert!(ask(&mut h, 2, "tasks/result", &id).is_empty());
    h.session.close(h.now);
    let events = h.events();
    assert!(
        matches!(events.last(), Some(Event::Closed(_))),
        "{events:?}"
    );
    assert_eq!(h.session.hosted_tasks(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(
        h.session.respond(handle.clone(), Ok(accept("late"))),
        Err(RequestError::Session(SessionError::Closed))
    );
    assert!(h.stdin().is_empty());
}

#[test]
fn without_hosting_a_task_augmented_request_runs_as_a_plain_one_and_tasks_methods_are_not_found() {
    let mut plain = legacy();
    plain.capabilities = plain.capabilities.with_elicitation();
    let (mut h, initialize) = ready(plain);
    assert!(initialize["params"]["capabilities"].get("tasks").is_none());
    server(
        &mut h,
        json!(1),
        "elicitation/create",
        elicit_params(Some(json!({"ttl": 1000}))),
    );
    assert!(h.stdin().is_empty(), "no task is created");
    let events = h.events();
    assert!(matches!(&events[..], [Event::Request { .. }]), "{events:?}");
    h.session
        .respond(Id::Number(1), Ok(accept("plain")))
        .unwrap();
    let answers = h.stdin();
    assert_eq!(one(&answers)["result"]["content"]["name"], "plain");
    assert!(one(&answers)["result"].get("_meta").is_none());
    let answers = ask(&mut h, 2, "tasks/get", "anything");
    assert_eq!(
        one(&answers)["error"]["code"],
        ErrorObject::METHOD_NOT_FOUND
    );

    // Hosting sampling only: an elicitation is not declared at all, and roots/list with a
    // `task` (no such task capability) runs as a plain request.
    let mut sampling = config(Policy::default());
    sampling.capabilities.elicitation = None;
    sampling.capabilities = sampling.capabilities.with_roots(false);
    let (mut h, _) = ready(sampling);
    server(
        &mut h,
        json!(3),
        "elicitation/create",
        elicit_params(Some(json!({}))),
    );
    assert_eq!(
        one(&h.stdin())["error"]["code"],
        ErrorObject::METHOD_NOT_FOUND
    );
    server(&mut h, json!(4), "roots/list", json!({"task": {}}));
    assert!(h.stdin().is_empty());
    assert!(matches!(&h.events()[..], [Event::Request { .. }]));
    server(
        &mut h,
        json!(5),
        "sampling/createMessage",
        json!({"messages": [], "maxTokens": 8, "task": {"ttl": 5000}}),
    );
    assert!(one(&h.stdin())["result"]["task"]["taskId"].is_string());
    assert!(matches!(
        &h.events()[..],
        [Event::Request { request, .. }] if matches!(**request, ServerRequest::CreateMessage(_))
    ));
}

#[test]
fn a_plain_request_reusing_the_servers_id_of_a_task_is_answered_apart_from_the_task() {
    let mut h = hosting();
    let created = create(&mut h, 1, None);
    // The server's id 1 was answered with the task: it may come again, as a plain request.
    server(&mut h, json!(1), "elicitation/create", elicit_params(None));
    let events = h.events();
    let Some(Event::Request { id, .. }) = events.first() else {
        panic!("{events:?}");
    };
    assert_eq!(*id, Id::Number(1));
    h.session
        .respond(Id::Number(1), Ok(accept("plain")))
        .unwrap();
    let answers = h.stdin();
    assert_eq!(one(&answers)["id"], 1);
    assert_eq!(one(&answers)["result"]["content"]["name"], "plain");
    // The task is untouched, and its own answer is still its result.
    let id = task_id(&created.task);
    assert_eq!(
        one(&ask(&mut h, 2, "tasks/get", &id))["result"]["status"],
        "working"
    );
    h.session
        .respond(created.handle, Ok(accept("task")))
        .unwrap();
    assert!(h.stdin().is_empty());
    let result = ask(&mut h, 3, "tasks/result", &id);
    assert_eq!(one(&result)["result"]["content"]["name"], "task");
}

#[test]
fn a_handle_the_core_did_not_give_is_not_taken_for_a_task() {
    let mut h = hosting();
    let created = create(&mut h, 1, None);
    let Id::String(real) = &created.handle else {
        unreachable!()
    };
    // A forged handle (a wrong MAC, another serial) is a plain answer, sent as it is.
    for forged in [
        format!("{}0", &real[..real.len() - 1]),
        "mcpwire-task-0-00".into(),
    ] {
        if forged == *real {
            continue;
        }
        h.session
            .respond(Id::String(forged.clone()), Ok(json!({})))
            .unwrap();
        assert_eq!(one(&h.stdin())["id"], forged.as_str());
    }
    assert_eq!(h.session.hosted_tasks(), 1);
}

#[test]
fn task_ids_come_from_the_key_alone_the_same_key_the_same_ids() {
    let ids = |key: [u8; 32]| {
        let mut config = config(Policy::default());
        config.hosted_tasks = Some(HostedTasks::new(UNIX_NOW, key));
        let (mut h, _) = ready(config);
        (0..3)
            .map(|n| task_id(&create(&mut h, n, None).task))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(KEY), ids(KEY));
    assert_ne!(ids(KEY), ids([8; 32]));
    let debug = format!("{:?}", HostedTasks::new(UNIX_NOW, KEY));
    assert!(!debug.contains("7, 7"), "the key is never shown: {debug}");
}

#[test]
fn over_http_the_tasks_answers_are_posts_and_a_new_session_forgets_the_old_ones_tasks() {
    let mut h = Harness::http_with(config(Policy::default()));
    let get = h.ready_http();
    let on_stream = |h: &mut Harness, n: &str, message: Value| {
        h.sse_event(get.exchange, Some(n), &message.to_string());
        let sent = h.sent();
        sent.into_iter()
            .map(|s| (s.exchange, s.body))
            .collect::<Vec<_>>()
    };
    let elicit = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "elicitation/create",
               "params": elicit_params(Some(json!({"ttl": 30_000})))})
    };
    let posts = on_stream(&mut h, "1", elicit(1));
    assert_eq!(posts.len(), 1, "{posts:?}");
    let id = task_id(&posts[0].1["result"]["task"]);
    for (x, _) in &posts {
        h.head(*x, 202, &[]);
        h.end(*x);
    }
    let events = h.events();
    let Some(Event::Request { id: handle, .. }) = events.first() else {
        panic!("{events:?}");
    };
    h.session
        .respond(handle.clone(), Ok(accept("Ada")))
        .unwrap();
    assert!(h.sent().is_empty(), "no response: the answer is kept");
    let get_result = json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/result",
                            "params": {"taskId": id}});
    let posts = on_stream(&mut h, "2", get_result);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].1["id"], 2);
    assert_eq!(posts[0].1["result"]["content"]["name"], "Ada");
    h.head(posts[0].0, 202, &[]);
    h.end(posts[0].0);

    // A second task runs when the server forgets the session (a 404 to the POST that carried
    // its task): the new session starts without it, and its request is withdrawn.
    let posts = on_stream(&mut h, "3", elicit(3));
    assert_eq!(h.session.hosted_tasks(), 2);
    let events = h.events();
    let Some(Event::Request { id: second, .. }) = events.first() else {
        panic!("{events:?}");
    };
    h.head(posts[0].0, 404, &[]);
    h.end(posts[0].0);
    let events = h.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionExpired { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RequestWithdrawn { id } if id == second)),
        "{events:?}"
    );
    assert_eq!(h.session.hosted_tasks(), 0);
    let sent = h.sent();
    assert_eq!(sent.last().unwrap().body["method"], "initialize");
    assert!(sent.last().unwrap().body["params"]["capabilities"]["tasks"].is_object());
}
