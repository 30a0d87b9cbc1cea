//! Tasks (2025-11-25) against a real server nobody here wrote: the Python SDK `mcp` 1.30.0's
//! task support (its store, its `tasks/*` handlers, its `notifications/tasks/status`) behind
//! `tests/servers/tasks_server.py`, over stdio, under tokio and smol, through the
//! [`ToolTask`] handle: a task run to completion on status notifications alone (its poll
//! interval is a minute: the server's log shows no `tasks/get` was needed), a task followed by
//! polling at the server's interval, a task cancelled by its handle (the server then says
//! `cancelled`), a failed task, a task that asks for input from inside (`input_required`, the
//! elicitation on `tasks/result`), and `tasks/list` / `tasks/get` by id.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::schema::{ElicitResult, Task, TaskStatus};
use mcpwire::{CallOptions, Client, RequestError, Target, TaskError, ToolTask};
use mcpwire_tests::on_both_runtimes;
use mcpwire_tests::peer_tasks::{self, EVENTS_ENV};
use serde_json::{json, Map};

on_both_runtimes! {
    a_task_completes_on_status_notifications_without_a_poll => on_notifications;
    a_task_without_notifications_is_polled_at_the_servers_interval => polled;
    a_task_cancelled_by_its_handle_is_cancelled_on_the_server => cancelled;
    a_failed_task_fails_the_call => failed;
    a_task_asks_for_input_through_tasks_result_and_uses_the_answer => input_required;
    tasks_are_listed_and_read_by_id => listed;
}

struct Peer {
    client: Client,
    events: PathBuf,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

async fn peer(runtime: Arc<dyn Runtime>, poll_ms: Option<u64>) -> Peer {
    let dir = mcpwire_tests::npm::target_dir().join("py-tools/runs");
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join(format!(
        "tasks-{}-{}.events",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&events, "").unwrap();
    let command = peer_tasks::stdio_command(poll_ms).env(EVENTS_ENV, events.display().to_string());
    let client = Client::builder()
        .on_elicitation(|params: mcpwire::schema::ElicitParams| async move {
            assert_eq!(params.message, "Your name?");
            let mut content = Map::new();
            content.insert("name".into(), json!("Ada"));
            Ok::<_, mcpwire::HandlerError>(ElicitResult::accept(content))
        })
        .connect_with(runtime, Target::Stdio(command))
        .await
        .expect("connect to the Python SDK's tasks server");
    Peer { client, events }
}

impl Peer {
    /// The server's `tasks/get` and `tasks/cancel` log.
    fn log(&self) -> Vec<String> {
        mcpwire_tests::peer2026::read_events(&self.events)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.events);
    }
}

fn text(result: &mcpwire::schema::CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every status change until the call completes.
async fn statuses(task: &mut ToolTask) -> Vec<Task> {
    let mut seen = Vec::new();
    while let Some(t) = task.next_status().await {
        seen.push(t);
    }
    seen
}

fn work(steps: u32, notify: bool) -> serde_json::Value {
    json!({"steps": steps, "delay_ms": 100, "notify": notify})
}

async fn on_notifications(runtime: Arc<dyn Runtime>) {
    // A minute between polls (the client polls at most every 30 s): the task's three steps
    // and its end can only be seen in time through the server's notifications.
    let peer = peer(runtime, Some(60_000)).await;
    let options = CallOptions::new().as_task(Some(Duration::from_secs(60)));
    let mut task = peer
        .client
        .call_tool_as_task("work", work(3, true), options)
        .await
        .expect("the call goes");
    let seen = statuses(&mut task).await;
    let result = task.result().await.expect("the task's result");
    assert_eq!(text(&result), "done after 3 steps");
    let messages: Vec<(TaskStatus, Option<&str>)> = seen
        .iter()
        .map(|t| (t.status, t.status_message.as_deref()))
        .collect();
    assert_eq!(messages.first(), Some(&(TaskStatus::Working, None)));
    for step in 1..=3 {
        let message = format!("step {step} of 3");
        assert!(
            messages.contains(&(TaskStatus::Working, Some(message.as_str()))),
            "{message}: {messages:?}"
        );
    }
    assert_eq!(messages.last().map(|m| m.0), Some(TaskStatus::Completed));
    assert!(
        seen.iter().all(|t| t.task_id == seen[0].task_id),
        "one task"
    );
    let log = peer.log();
    assert!(
        log.iter().all(|l| !l.starts_with("get ")),
        "no poll was needed: {log:?}"
    );
    peer.client.close().await;
}

async fn polled(runtime: Arc<dyn Runtime>) {
    // No notifications: only polls (every 200 ms, as the server says) see the steps.
    let peer = peer(runtime, Some(200)).await;
    let mut task = peer
        .client
        .call_tool_as_task("work", work(4, false), CallOptions::new())
        .await
        .expect("the call goes");
    let seen = statuses(&mut task).await;
    let result = task.result().await.expect("the task's result");
    assert_eq!(text(&result), "done after 4 steps");
    assert_eq!(
        seen.last().map(|t| t.status),
        Some(TaskStatus::Completed),
        "{seen:?}"
    );
    let task_id = &seen[0].task_id;
    let polls = peer
        .log()
        .iter()
        .filter(|l| **l == format!("get {task_id}"))
        .count();
    assert!(polls >= 1, "polled: {:?}", peer.log());
    // Four steps of 100 ms at one poll per 200 ms: a handful of polls, not a loop.
    assert!(polls <= 10, "{polls} polls: {:?}", peer.log());
    peer.client.close().await;
}

async fn cancelled(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime.clone(), None).await;
    let mut task = peer
        .client
        .call_tool_as_task("forever", json!({}), CallOptions::new())
        .await
        .expect("the call goes");
    let created = task.next_status().await.expect("the task is created");
    assert_eq!(created.status, TaskStatus::Working);
    assert_eq!(task.task_id().as_deref(), Some(created.task_id.as_str()));
    assert_eq!(task.cancel().await.expect("cancelled"), None);
    // `tasks/cancel` is on its way (nobody waits for its answer): the server says
    // `cancelled` once it had it.
    let mut status = None;
    for _ in 0..100 {
        let now = peer
            .client
            .get_task(&created.task_id)
            .await
            .expect("tasks/get");
        status = Some(now.status);
        if now.status == TaskStatus::Cancelled {
            break;
        }
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(20)).await;
    }
    assert_eq!(status, Some(TaskStatus::Cancelled));
    let log = peer.log();
    assert!(
        log.contains(&format!("cancel {}", created.task_id)),
        "the server was told: {log:?}"
    );
    peer.client.close().await;
}

async fn failed(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, None).await;
    let mut task = peer
        .client
        .call_tool_as_task("broken", json!({}), CallOptions::new())
        .await
        .expect("the call goes");
    let seen = statuses(&mut task).await;
    assert_eq!(
        seen.last().map(|t| t.status),
        Some(TaskStatus::Failed),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().unwrap().status_message.as_deref(),
        Some("it broke")
    );
    // The SDK answers `tasks/result` of a failed task with an empty result: the client
    // believes the status, and says why with the server's message.
    match task.result().await {
        Err(mcpwire::Error::Request(RequestError::Task(TaskError::Failed {
            task_id,
            message,
        }))) => {
            assert_eq!(task_id, seen[0].task_id);
            assert_eq!(message.as_deref(), Some("it broke"));
        }
        other => panic!("{other:?}"),
    }
    peer.client.close().await;
}

async fn input_required(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, None).await;
    let mut task = peer
        .client
        .call_tool_as_task("ask", json!({}), CallOptions::new())
        .await
        .expect("the call goes");
    let seen = statuses(&mut task).await;
    let result = task.result().await.expect("the task's result");
    assert_eq!(text(&result), "accept: Ada", "the handler's answer");
    let statuses: Vec<TaskStatus> = seen.iter().map(|t| t.status).collect();
    assert!(
        statuses.contains(&TaskStatus::InputRequired),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&TaskStatus::Completed));
    peer.client.close().await;
}

async fn listed(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, None).await;
    let mut ids = Vec::new();
    for steps in [1, 2] {
        let mut task = peer
            .client
            .call_tool_as_task("work", work(steps, true), CallOptions::new())
            .await
            .expect("the call goes");
        let seen = statuses(&mut task).await;
        task.result().await.expect("the task's result");
        ids.push(seen[0].task_id.clone());
    }
    let page = peer.client.list_tasks(None).await.expect("tasks/list");
    for id in &ids {
        let listed = page.tasks.iter().find(|t| t.task_id == *id);
        assert_eq!(
            listed.map(|t| t.status),
            Some(TaskStatus::Completed),
            "{id} in {page:?}"
        );
    }
    let one = peer.client.get_task(&ids[1]).await.expect("tasks/get");
    assert_eq!(one.status, TaskStatus::Completed);
    assert_eq!(one.status_message.as_deref(), Some("step 2 of 2"));
    // An id the server never gave is its error, not a hang.
    assert!(peer.client.get_task("no-such-task").await.is_err());
    peer.client.close().await;
}
