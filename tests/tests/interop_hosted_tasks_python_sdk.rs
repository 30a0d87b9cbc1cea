//! The client as a task receiver (2025-11-25) against a real requester nobody here wrote: the
//! Python SDK `mcp` 1.30.0 (`mcpwire_tests::peer_tasks`), over stdio, under tokio and smol.
//! Its tools `ask_as_task` and `sample_as_task`, called as tasks themselves, send the client a
//! task-augmented `elicitation/create` / `sampling/createMessage` (on the `tasks/result` of
//! the tool's task, which mcpwire opens at `input_required`), poll the client's task with
//! `tasks/get`, and fetch its result with `tasks/result`: the tool's result carries what the
//! client's handler answered, which was asked exactly once and never saw a `task`. With
//! hosting off the client declares no tasks, and the SDK refuses to send them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::schema::{
    CallToolResult, CreateMessageResult, ElicitParams, ElicitResult, TaskStatus,
};
use mcpwire::{CallOptions, Client, Target};
use mcpwire_tests::on_both_runtimes;
use mcpwire_tests::peer_tasks;
use serde_json::{json, Map};

on_both_runtimes! {
    an_elicitation_sent_as_a_task_is_hosted_and_its_answer_reaches_the_tool => ask_as_task;
    a_sampling_request_sent_as_a_task_is_hosted_and_its_answer_reaches_the_tool => sample_as_task;
    a_client_that_hosts_no_tasks_is_sent_none => not_hosting;
}

/// How many times each handler was asked, and whether any request carried a `task`.
#[derive(Clone, Default)]
struct Asked {
    elicitations: Arc<AtomicUsize>,
    samplings: Arc<AtomicUsize>,
    with_task: Arc<AtomicUsize>,
}

async fn connect(runtime: Arc<dyn Runtime>, asked: &Asked, host: bool) -> Client {
    let (e, s) = (asked.clone(), asked.clone());
    Client::builder()
        .host_tasks(host)
        .on_elicitation(move |params: ElicitParams| {
            e.elicitations.fetch_add(1, Ordering::SeqCst);
            if params.extra.contains_key("task") {
                e.with_task.fetch_add(1, Ordering::SeqCst);
            }
            async move {
                let mut content = Map::new();
                content.insert("name".into(), json!("Ada Lovelace"));
                Ok::<_, mcpwire::HandlerError>(ElicitResult::accept(content))
            }
        })
        .on_sampling(move |params: mcpwire::schema::CreateMessageParams| {
            s.samplings.fetch_add(1, Ordering::SeqCst);
            if params.extra.contains_key("task") {
                s.with_task.fetch_add(1, Ordering::SeqCst);
            }
            async move {
                Ok::<_, mcpwire::HandlerError>(CreateMessageResult::text(
                    "mcpwire-test-model",
                    "hi from the client's model",
                ))
            }
        })
        .connect_with(runtime, Target::Stdio(peer_tasks::stdio_command(Some(100))))
        .await
        .expect("connect to the Python SDK's tasks server")
}

fn as_task() -> CallOptions {
    CallOptions::new()
        .as_task(Some(Duration::from_secs(120)))
        .timeout(Duration::from_secs(60))
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn ask_as_task(runtime: Arc<dyn Runtime>) {
    let asked = Asked::default();
    let client = connect(runtime, &asked, true).await;
    let result = client
        .call_tool("ask_as_task", json!({}))
        .options(as_task())
        .await
        .expect("the tool's result");
    assert!(!result.is_error(), "{result:?}");
    assert_eq!(text(&result), "accept: Ada Lovelace", "{result:?}");
    assert_eq!(asked.elicitations.load(Ordering::SeqCst), 1);
    assert_eq!(
        asked.with_task.load(Ordering::SeqCst),
        0,
        "the task is the core's"
    );
    client.close().await;
}

async fn sample_as_task(runtime: Arc<dyn Runtime>) {
    let asked = Asked::default();
    let client = connect(runtime, &asked, true).await;
    let result = client
        .call_tool("sample_as_task", json!({}))
        .options(as_task())
        .await
        .expect("the tool's result");
    assert!(!result.is_error(), "{result:?}");
    assert_eq!(
        text(&result),
        "mcpwire-test-model: hi from the client's model",
        "{result:?}"
    );
    assert_eq!(asked.samplings.load(Ordering::SeqCst), 1);
    assert_eq!(asked.with_task.load(Ordering::SeqCst), 0);
    client.close().await;
}

async fn not_hosting(runtime: Arc<dyn Runtime>) {
    let asked = Asked::default();
    let client = connect(runtime, &asked, false).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let statuses = seen.clone();
    let started = Instant::now();
    let result = client
        .call_tool("ask_as_task", json!({}))
        .options(as_task().on_task_status(move |t| {
            let entry = (t.status, t.status_message.clone(), started.elapsed());
            // (The SDK's `tasks/result` of that failed task is an empty result, not isError.)
            statuses.lock().unwrap().push(entry)
        }))
        .await;
    // The SDK checks the client's `tasks` capability before it sends a task: the tool's task
    // fails, and the handler is never asked.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().map(|(s, ..)| *s),
        Some(TaskStatus::Failed),
        "{seen:?} {result:?}"
    );
    let message = seen
        .last()
        .and_then(|(_, m, _)| m.clone())
        .unwrap_or_default();
    assert!(
        message.contains("does not support task-augmented elicitation"),
        "{seen:?}"
    );
    assert_eq!(asked.elicitations.load(Ordering::SeqCst), 0, "{result:?}");
    client.close().await;
}
