//! A task the client hosts (2025-11-25) that the server cancels drops the handler's future,
//! under tokio and smol. The server is a few lines of plain Python over stdio (no SDK): after
//! the handshake it sends a task-augmented `elicitation/create`; once the handler is running
//! the test calls its tool `cancel`, for which it sends `tasks/cancel` and then `tasks/get`
//! and answers with what it got, and with the capabilities the client declared.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mcpwire::runtime::{Command, Runtime};
use mcpwire::schema::{ElicitParams, ElicitResult};
use mcpwire::{Client, Target};
use mcpwire_tests::{on_both_runtimes, sleep};
use serde_json::{json, Value};

on_both_runtimes! {
    a_hosted_task_the_server_cancels_drops_its_handler => cancelled;
}

const SERVER: &str = r#"
import json, sys
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
def recv():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
caps = None
while True:
    m = recv()
    if m.get("method") == "initialize":
        caps = m["params"]["capabilities"]
        send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2025-11-25",
              "capabilities": {"tools": {}}, "serverInfo": {"name": "canceller", "version": "1"}}})
    elif m.get("method") == "notifications/initialized":
        break
    elif "id" in m:
        # The 2026-07-28 probe: this server speaks the 2025 era only.
        send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "no"}})
send({"jsonrpc": "2.0", "id": "e1", "method": "elicitation/create", "params": {
      "message": "Your name?", "task": {"ttl": 60000},
      "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}})
task_id, call, cancel = None, None, None
while True:
    m = recv()
    if m.get("id") == "e1":
        task_id = m["result"]["task"]["taskId"]
    elif m.get("method") == "tools/call":
        call = m["id"]
        send({"jsonrpc": "2.0", "id": "c1", "method": "tasks/cancel", "params": {"taskId": task_id}})
    elif m.get("id") == "c1":
        cancel = m
        send({"jsonrpc": "2.0", "id": "g1", "method": "tasks/get", "params": {"taskId": task_id}})
    elif m.get("id") == "g1":
        text = json.dumps({"caps": caps, "cancel": cancel, "get": m})
        send({"jsonrpc": "2.0", "id": call, "result": {"content": [{"type": "text", "text": text}]}})
"#;

/// Sets its flag when dropped: the handler's future was dropped where it stood.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn cancelled(runtime: Arc<dyn Runtime>) {
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let (s, d) = (started.clone(), dropped.clone());
    let client = Client::builder()
        .on_elicitation(move |_: ElicitParams| {
            let guard = Dropped(d.clone());
            s.store(true, Ordering::SeqCst);
            async move {
                let _guard = guard;
                // The user never answers.
                futures_lite::future::pending::<()>().await;
                Ok::<_, mcpwire::HandlerError>(ElicitResult::decline())
            }
        })
        .connect_with(
            runtime.clone(),
            Target::Stdio(Command::new("python3").args(["-c", SERVER])),
        )
        .await
        .expect("connect to the script");
    for _ in 0..200 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        sleep(&*runtime, Duration::from_millis(10)).await;
    }
    assert!(started.load(Ordering::SeqCst), "the handler runs");
    assert!(!dropped.load(Ordering::SeqCst));
    // What the hosted task keeps is in the client's memory figures (its reserved bytes, the
    // ids kept for it), within the policy's limit.
    let mut memory = client.memory();
    for _ in 0..200 {
        if memory.hosted_task_bytes > 0 {
            break;
        }
        sleep(&*runtime, Duration::from_millis(10)).await;
        memory = client.memory();
    }
    assert!(memory.hosted_task_bytes > 0, "{memory:?}");
    assert!(
        memory.hosted_task_bytes <= mcpwire::Policy::default().max_hosted_task_bytes,
        "{memory:?}"
    );
    assert!(
        memory.hosted_task_bytes_peak >= memory.hosted_task_bytes,
        "{memory:?}"
    );
    let result = client
        .call_tool("cancel", json!({}))
        .await
        .expect("the script's report");
    let text = serde_json::to_value(&result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        report["caps"]["tasks"],
        json!({"list": {}, "cancel": {}, "requests": {"elicitation": {"create": {}}}}),
        "{report}"
    );
    assert_eq!(
        report["cancel"]["result"]["status"], "cancelled",
        "{report}"
    );
    assert_eq!(report["get"]["result"]["status"], "cancelled", "{report}");
    for _ in 0..200 {
        if dropped.load(Ordering::SeqCst) {
            break;
        }
        sleep(&*runtime, Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the withdrawn handler's future is dropped"
    );
    client.close().await;
}
