//! Property tests with task scripts (2025-11-25): a task-augmented call meets a server that
//! answers its polls and its `tasks/result` at random — any status in any order, status
//! notifications, poll intervals from 0 to a minute, errors, dropped exchanges, a 5xx — while
//! time passes at random; the application may cancel. Whatever the script:
//!
//! 1. the call completes exactly once (a `Response` for its id, no second one), and no
//!    status event comes after it;
//! 2. the session never waits without a deadline while the call is pending, and its next
//!    deadline is never past the call's TTL or bound;
//! 3. polls go at least 100 ms apart (a hostile `pollInterval`, or a flood of status
//!    notifications, cannot make it spin);
//! 4. after the call completed, no `tasks/get` or `tasks/result` goes out for it.
//!
//! The same for the 2026-07-28 tasks extension (over stdio): a plain `tools/call` the server
//! answers with a task, `tasks/get` answers that carry the outcome inline or ask for input
//! (keys from a small set, repeated at random), `notifications/tasks`, errors, answers from the
//! application in any order. On top of 1–4 (with `tasks/update` in 4): each input key is handed
//! to the application at most once.

mod support;

use std::time::Duration;

use mcpwire_core::{Event, Output, RequestOptions, TaskOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::*;

const CAPS: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"tasks":{"requests":{"tools":{"call":{}}}}},"serverInfo":{"name":"tasks","version":"1"}}"#;

#[derive(Clone, Debug)]
enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// Time passes.
    Advance(u64),
    /// Answer the oldest open task request (`tasks/get` with a status, `tasks/result` with a
    /// result).
    Answer(Status, Option<u64>),
    /// Answer it with a JSON-RPC error (`code`).
    Error(i64),
    /// Its exchange fails.
    Drop,
    /// A status notification.
    Notify(Status),
    /// A 5xx on the oldest open request.
    ServerError,
    /// The application cancels the call.
    Cancel,
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        4 => Just(Status::Working),
        1 => Just(Status::InputRequired),
        1 => Just(Status::Completed),
        1 => Just(Status::Failed),
        1 => Just(Status::Cancelled),
    ]
}

/// A `pollInterval`: often hostile (under 100 ms), else anything up to a minute.
fn poll() -> impl Strategy<Value = Option<u64>> {
    proptest::option::of(prop_oneof![0u64..200, 0u64..60_000])
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..120_000).prop_map(Step::Advance),
        4 => (0u64..300).prop_map(Step::Advance),
        6 => (status(), poll()).prop_map(|(s, p)| Step::Answer(s, p)),
        1 => prop_oneof![Just(-32602i64), Just(-32000), Just(-32603)].prop_map(Step::Error),
        1 => Just(Step::Drop),
        2 => status().prop_map(Step::Notify),
        1 => Just(Step::ServerError),
        1 => Just(Step::Cancel),
    ]
}

fn task(status: &Status, poll: Option<u64>, ttl: Option<u64>) -> Value {
    let mut t = json!({"taskId": "t-1", "status": status.name(), "createdAt": "", "lastUpdatedAt": "", "ttl": ttl});
    if let Some(p) = poll {
        t["pollInterval"] = json!(p);
    }
    t
}

fn run(created: Status, poll: Option<u64>, ttl: Option<u64>, steps: Vec<Step>) {
    let mut h = Harness::http();
    let mut sent = h.answer_initialize(&[("mcp-session-id", "s1")], CAPS);
    let get = sent.pop().unwrap();
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    h.sse_head(get.exchange);
    h.events();
    let options = RequestOptions::default()
        .with_task(Some(TaskOptions::default()))
        .with_timeout(Some(Duration::from_secs(3600)));
    let started = h.now;
    let id = h.request_with("tools/call", Some(json!({"name": "slow"})), options);
    let call = h.sent().remove(0);
    let created = json!({"task": task(&created, poll, ttl)});
    h.json(
        call.exchange,
        200,
        &response_line(id.0, &created.to_string()),
    );
    // The bound of the wait: the call's timeout, and the TTL.
    let mut bound = started + Duration::from_secs(3600);
    if let Some(ttl) = ttl {
        bound = bound.min(h.now + Duration::from_millis(ttl));
    }
    let mut completed = false;
    let mut open = Vec::new();
    // When the last `tasks/get` went out.
    let mut last_poll: Option<std::time::Instant> = None;
    let mut check = |h: &mut Harness, open: &mut Vec<Sent>, completed: &mut bool| {
        for o in h.take() {
            match o {
                Output::Event(Event::Response { id: rid, .. }) if rid == id => {
                    assert!(!*completed, "invariant 1: a second completion");
                    *completed = true;
                }
                Output::Event(Event::TaskStatus { .. }) => {
                    assert!(!*completed, "invariant 1: a status after the completion");
                }
                o => h.outputs.push(o),
            }
        }
        for s in h.sent() {
            let method = s.body["method"].as_str().unwrap_or_default().to_owned();
            if method == "tasks/get" || method == "tasks/result" {
                assert!(!*completed, "invariant 4: {method} after the completion");
                if method == "tasks/get" {
                    if let Some(prev) = last_poll {
                        assert!(
                            h.now.duration_since(prev) >= Duration::from_millis(100),
                            "invariant 3: polls {:?} apart",
                            h.now.duration_since(prev)
                        );
                    }
                    last_poll = Some(h.now);
                }
                open.push(s);
            }
        }
        if !*completed && !h.session.is_closed() {
            let wait = h.session.poll_timeout();
            let wait = wait.expect("invariant 2: a pending task with no deadline");
            assert!(
                wait <= bound,
                "invariant 2: the next deadline is {:?} past the bound",
                wait.duration_since(bound)
            );
        }
    };
    check(&mut h, &mut open, &mut completed);
    for s in steps {
        if completed || h.session.is_closed() {
            break;
        }
        match s {
            Step::Advance(ms) => {
                let next = h.session.poll_timeout();
                let to = h.now + Duration::from_millis(ms);
                // Fire what is due on the way, as a driver would.
                match next {
                    Some(at) if at < to => h.advance_to(at),
                    _ => h.advance(Duration::from_millis(ms)),
                }
            }
            Step::Answer(status, poll) => {
                if open.is_empty() {
                    continue;
                }
                let r = open.remove(0);
                let wire = r.body["id"].as_u64().unwrap();
                let body = match r.body["method"].as_str() {
                    Some("tasks/result") => json!({"content": []}),
                    _ => task(&status, poll, ttl),
                };
                h.json(r.exchange, 200, &response_line(wire, &body.to_string()));
            }
            Step::Error(code) => {
                if open.is_empty() {
                    continue;
                }
                let r = open.remove(0);
                let wire = r.body["id"].as_u64().unwrap();
                let e =
                    json!({"jsonrpc": "2.0", "id": wire, "error": {"code": code, "message": "no"}});
                h.json(r.exchange, 200, &e.to_string());
            }
            Step::Drop => {
                if open.is_empty() {
                    continue;
                }
                let r = open.remove(0);
                h.fail(r.exchange, mcpwire_core::TransportErrorKind::Reset, "reset");
            }
            Step::Notify(status) => {
                let note = json!({"jsonrpc": "2.0", "method": "notifications/tasks/status",
                                  "params": task(&status, None, ttl)});
                h.body(get.exchange, &format!("data: {note}\n\n"));
            }
            Step::ServerError => {
                if open.is_empty() {
                    continue;
                }
                let r = open.remove(0);
                h.head(r.exchange, 503, &[]);
                h.end(r.exchange);
            }
            Step::Cancel => {
                h.session.cancel(h.now, id, None);
            }
        }
        check(&mut h, &mut open, &mut completed);
    }
    // However it went, the call ends: time alone brings it to its bound.
    for _ in 0..10_000 {
        if completed || h.session.is_closed() {
            break;
        }
        let Some(at) = h.session.poll_timeout() else {
            break;
        };
        h.advance_to(at);
        // A server that stops answering: its task requests time out in their own time.
        check(&mut h, &mut open, &mut completed);
    }
    assert!(
        completed || h.session.is_closed(),
        "invariant 1: the call never completed"
    );
}

const DISCOVER_TASKS: &str = r#"{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{},"extensions":{"io.modelcontextprotocol/tasks":{}}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tasks","version":"1"}}}"#;

/// The extension's task: 2026-07-28 names, and what a status carries inline.
fn flat_task(status: &Status, poll: Option<u64>, ttl: Option<u64>, key: u8) -> Value {
    let mut t = json!({"taskId": "t-1", "status": status.name(), "createdAt": "", "lastUpdatedAt": "", "ttlMs": ttl});
    if let Some(p) = poll {
        t["pollIntervalMs"] = json!(p);
    }
    match status {
        Status::Completed => t["result"] = json!({"content": []}),
        Status::Failed => t["error"] = json!({"code": -32603, "message": "no"}),
        Status::InputRequired => {
            t["inputRequests"] = json!({format!("k{key}"): {"method": "elicitation/create",
                "params": {"message": "?", "requestedSchema": {"type": "object", "properties": {}}}}})
        }
        _ => {}
    }
    t
}

fn run_extension(created: Status, poll: Option<u64>, ttl: Option<u64>, steps: Vec<(Step, u8)>) {
    let mut config = modern();
    config.capabilities = mcpwire_core::schema::ClientCapabilities::new().with_elicitation();
    let mut h = Harness::stdio_with(config);
    let probe = h.stdin();
    let pid = probe[0]["id"].as_u64().unwrap();
    h.stdout(&response_line(pid, DISCOVER_TASKS));
    h.events();
    let options = RequestOptions::default()
        .with_task(Some(TaskOptions::default()))
        .with_timeout(Some(Duration::from_secs(3600)));
    let started = h.now;
    let id = h.request_with("tools/call", Some(json!({"name": "slow"})), options);
    let call = h.stdin().remove(0);
    let mut created = flat_task(&created, poll, ttl, 0);
    created["resultType"] = json!("task");
    let wire = call["id"].as_u64().unwrap();
    h.stdout(&response_line(wire, &created.to_string()));
    let mut bound = started + Duration::from_secs(3600);
    if let Some(ttl) = ttl {
        bound = bound.min(h.now + Duration::from_millis(ttl));
    }
    let mut completed = false;
    // The task requests not answered yet (their wire ids and methods), and the input requests
    // the application was handed and has not answered.
    let mut open: Vec<(u64, String)> = Vec::new();
    let mut asks: Vec<mcpwire_core::jsonrpc::Id> = Vec::new();
    let mut keys_asked = std::collections::BTreeSet::new();
    let mut last_poll: Option<std::time::Instant> = None;
    let mut check = |h: &mut Harness,
                     open: &mut Vec<(u64, String)>,
                     asks: &mut Vec<mcpwire_core::jsonrpc::Id>,
                     completed: &mut bool| {
        for o in h.take() {
            match o {
                Output::Event(Event::Response { id: rid, .. }) if rid == id => {
                    assert!(!*completed, "invariant 1: a second completion");
                    *completed = true;
                }
                Output::Event(Event::TaskStatus { .. }) => {
                    assert!(!*completed, "invariant 1: a status after the completion");
                }
                Output::Event(Event::Request { id, request }) => {
                    let mcpwire_core::schema::ServerRequest::Elicit(_) = *request else {
                        panic!("only elicitations are asked: {request:?}");
                    };
                    asks.push(id);
                }
                o => h.outputs.push(o),
            }
        }
        for line in h.stdin() {
            let method = line["method"].as_str().unwrap_or_default().to_owned();
            if method == "tasks/get" || method == "tasks/update" {
                assert!(!*completed, "invariant 4: {method} after the completion");
                if method == "tasks/get" {
                    if let Some(prev) = last_poll {
                        assert!(
                            h.now.duration_since(prev) >= Duration::from_millis(100),
                            "invariant 3: polls {:?} apart",
                            h.now.duration_since(prev)
                        );
                    }
                    last_poll = Some(h.now);
                }
                if method == "tasks/update" {
                    for key in line["params"]["inputResponses"].as_object().unwrap().keys() {
                        assert!(
                            keys_asked.insert(key.clone()),
                            "invariant 5: {key} answered twice"
                        );
                    }
                }
                open.push((line["id"].as_u64().unwrap(), method));
            }
        }
        if !*completed && !h.session.is_closed() {
            let wait = h.session.poll_timeout();
            let wait = wait.expect("invariant 2: a pending task with no deadline");
            assert!(
                wait <= bound,
                "invariant 2: the next deadline is {:?} past the bound",
                wait.duration_since(bound)
            );
        }
    };
    check(&mut h, &mut open, &mut asks, &mut completed);
    for (s, key) in steps {
        if completed || h.session.is_closed() {
            break;
        }
        match s {
            Step::Advance(ms) => {
                let next = h.session.poll_timeout();
                let to = h.now + Duration::from_millis(ms);
                match next {
                    Some(at) if at < to => h.advance_to(at),
                    _ => h.advance(Duration::from_millis(ms)),
                }
            }
            Step::Answer(status, poll) => {
                if open.is_empty() {
                    continue;
                }
                let (wire, method) = open.remove(0);
                let mut body = match method.as_str() {
                    "tasks/update" => json!({}),
                    _ => flat_task(&status, poll, ttl, key % 3),
                };
                body["resultType"] = json!("complete");
                h.stdout(&response_line(wire, &body.to_string()));
            }
            Step::Error(code) => {
                if open.is_empty() {
                    continue;
                }
                let (wire, _) = open.remove(0);
                let e =
                    json!({"jsonrpc": "2.0", "id": wire, "error": {"code": code, "message": "no"}});
                h.stdout(&e.to_string());
            }
            // The application answers the oldest question (stdio has no exchange to drop).
            Step::Drop | Step::ServerError => {
                if asks.is_empty() {
                    continue;
                }
                let ask = asks.remove(0);
                let answer = match key % 4 {
                    0 => Err(mcpwire_core::jsonrpc::ErrorObject::new(-1, "no")),
                    _ => Ok(json!({"action": "accept", "content": {}})),
                };
                let _ = h.session.respond(ask, answer);
            }
            Step::Notify(status) => {
                let note = json!({"jsonrpc": "2.0", "method": "notifications/tasks",
                                  "params": flat_task(&status, None, ttl, key % 3)});
                h.stdout(&note.to_string());
            }
            Step::Cancel => {
                h.session.cancel(h.now, id, None);
            }
        }
        check(&mut h, &mut open, &mut asks, &mut completed);
    }
    for _ in 0..10_000 {
        if completed || h.session.is_closed() {
            break;
        }
        let Some(at) = h.session.poll_timeout() else {
            break;
        };
        h.advance_to(at);
        check(&mut h, &mut open, &mut asks, &mut completed);
    }
    assert!(
        completed || h.session.is_closed(),
        "invariant 1: the call never completed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn task_scripts_complete_once_within_their_bound(
        created in status(),
        poll in poll(),
        ttl in proptest::option::of(1u64..7_200_000),
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        run(created, poll, ttl, steps);
    }

    #[test]
    fn extension_task_scripts_complete_once_within_their_bound(
        created in status(),
        poll in poll(),
        ttl in proptest::option::of(1u64..7_200_000),
        steps in proptest::collection::vec((step(), any::<u8>()), 0..40),
    ) {
        run_extension(created, poll, ttl, steps);
    }
}
