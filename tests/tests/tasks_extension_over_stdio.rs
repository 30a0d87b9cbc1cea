//! The 2026-07-28 tasks extension end to end through the adapter, under tokio and smol, with a
//! real child process: `tests/servers/tasks_extension_peer.py` (standard library only; no SDK
//! implements the extension yet). A task the server chose, held by its `ToolTask` handle: its
//! statuses, its `inputRequests` answered by the application's elicitation handler once (the
//! server repeats it on every poll) and sent back with `tasks/update`, its result inline; the
//! same task through a plain `call_tool` (the client follows it unseen); a task cancelled by its
//! handle (`tasks/cancel`); and with the extension off, the server's -32021.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mcpwire::runtime::{Command, Runtime};
use mcpwire::schema::{ElicitResult, TaskStatus};
use mcpwire::{CallOptions, Client, Policy, RequestError, Target};
use mcpwire_tests::on_both_runtimes;
use serde_json::{json, Map};

on_both_runtimes! {
    a_task_the_server_chose_asks_once_and_completes_through_its_handle => handle;
    a_plain_call_follows_the_task_unseen => plain;
    a_task_cancelled_by_its_handle_is_cancelled_on_the_server => cancelled;
    without_the_extension_the_server_refuses_the_call => off;
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

struct Peer {
    client: Client,
    events: PathBuf,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.events);
    }
}

async fn peer(runtime: Arc<dyn Runtime>, policy: Policy) -> Peer {
    let dir = mcpwire_tests::npm::target_dir().join("py-tools/runs");
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join(format!(
        "ext-{}-{}.events",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&events, "").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/tasks_extension_peer.py");
    let command = Command::new("python3")
        .args([script.display().to_string()])
        .env("TASKS_EXTENSION_EVENTS", events.display().to_string());
    let client = Client::builder()
        .policy(policy)
        .on_elicitation(|params: mcpwire::schema::ElicitParams| async move {
            assert_eq!(params.message, "Your name?");
            let mut content = Map::new();
            content.insert("name".into(), json!("Ada"));
            Ok::<_, mcpwire::HandlerError>(ElicitResult::accept(content))
        })
        .connect_with(runtime, Target::Stdio(command))
        .await
        .expect("connect to the extension peer");
    assert_eq!(client.protocol_version(), "2026-07-28");
    Peer { client, events }
}

impl Peer {
    fn log(&self) -> Vec<String> {
        mcpwire_tests::peer2026::read_events(&self.events)
    }
}

fn text(result: &mcpwire::schema::CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn handle(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, Policy::default()).await;
    let mut task = peer
        .client
        .call_tool_as_task("greet", json!({}), CallOptions::new())
        .await
        .expect("the call goes");
    let mut seen = Vec::new();
    while let Some(t) = task.next_status().await {
        seen.push(t.status);
    }
    let result = task.result().await.expect("the task's result");
    assert_eq!(text(&result), "hello Ada");
    assert_eq!(seen.first(), Some(&TaskStatus::Working), "{seen:?}");
    assert!(seen.contains(&TaskStatus::InputRequired), "{seen:?}");
    assert_eq!(seen.last(), Some(&TaskStatus::Completed), "{seen:?}");
    let log = peer.log();
    let updates = log
        .iter()
        .filter(|l| l.starts_with("tasks/update "))
        .count();
    assert_eq!(updates, 1, "answered once: {log:?}");
    assert!(log.iter().any(|l| l == "tasks/get t-1"), "{log:?}");
    peer.client.close().await;
}

async fn plain(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, Policy::default()).await;
    let result = peer
        .client
        .call_tool("greet", json!({}))
        .await
        .expect("the tool's result, through its task");
    assert_eq!(text(&result), "hello Ada");
    peer.client.close().await;
}

async fn cancelled(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime.clone(), Policy::default()).await;
    let mut task = peer
        .client
        .call_tool_as_task("forever", json!({}), CallOptions::new())
        .await
        .expect("the call goes");
    let created = task.next_status().await.expect("created");
    assert_eq!(created.task_id, "t-1");
    assert_eq!(task.cancel().await.expect("cancelled"), None);
    // The cancel is on its way: the server's `tasks/get` says so once it had it.
    let mut status = None;
    for _ in 0..100 {
        let now = peer.client.get_task("t-1").await.expect("tasks/get");
        status = Some(now.status);
        if now.status == TaskStatus::Cancelled {
            break;
        }
        mcpwire_tests::sleep(&*runtime, std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, Some(TaskStatus::Cancelled));
    assert!(peer.log().contains(&"tasks/cancel t-1".to_owned()));
    peer.client.close().await;
}

async fn off(runtime: Arc<dyn Runtime>) {
    let peer = peer(runtime, Policy::default().with_tasks_extension(false)).await;
    match peer.client.call_tool("greet", json!({})).await {
        // -32021, typed: what the server requires.
        Err(mcpwire::Error::Request(RequestError::CapabilityRequired { required, .. })) => {
            assert_eq!(
                required,
                json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
            )
        }
        other => panic!("{other:?}"),
    }
    peer.client.close().await;
}
