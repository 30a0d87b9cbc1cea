//! Interop with a real server of revision 2026-07-28 that no one here wrote — the Python SDK
//! `mcp` 2.3.0 (`mcpwire_tests::peer2026`) — over Streamable HTTP and over stdio, under tokio
//! and under smol, with the client's default revision (the `server/discover` probe decides):
//! the listing, a call with progress, `input_required` rounds answered by the handler (one,
//! two, and one with only a `requestState`), a subscription that receives notifications and
//! ends when the server ends it, and a cancellation the server sees.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpwire::core::jsonrpc::ErrorObject;
use mcpwire::runtime::{BoxFuture, Runtime};
use mcpwire::schema::{
    CallToolParams, ClientCapabilities, ContentBlock, ElicitAction, ElicitParams, ElicitResult,
    ServerNotification,
};
use mcpwire::{
    CallOptions, Client, Handler, Progress, SubscriptionEvent, SubscriptionFilter, Target,
};
use mcpwire_tests::peer2026::{self, Rev2026Http, REVISION};
use mcpwire_tests::{on_both_runtimes, sleep};
use serde_json::json;

on_both_runtimes! {
    streamable_http_speaks_2026_07_28 => over_http;
    stdio_speaks_2026_07_28 => over_stdio;
}

/// Accepts every elicitation, with a value of each property's type, remembering what it was
/// asked.
#[derive(Clone, Default)]
struct Accept {
    asked: Arc<Mutex<Vec<String>>>,
}

impl Handler for Accept {
    fn capabilities(&self) -> ClientCapabilities {
        let mut capabilities = ClientCapabilities::new();
        capabilities.elicitation = Some(json!({ "form": {} }));
        capabilities
    }

    fn elicit(
        &self,
        params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        self.asked.lock().unwrap().push(params.message.clone());
        let mut content = serde_json::Map::new();
        if let Some(props) = params
            .requested_schema
            .as_ref()
            .and_then(|s| s["properties"].as_object())
        {
            for (name, schema) in props {
                let value = match schema["type"].as_str() {
                    Some("boolean") => json!(true),
                    Some("integer") | Some("number") => json!(7),
                    _ => json!("Ada"),
                };
                content.insert(name.clone(), value);
            }
        }
        Box::pin(async move {
            let mut result = ElicitResult::new(ElicitAction::Accept);
            result.content = Some(content);
            Ok(result)
        })
    }
}

fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(ContentBlock::as_text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits up to `limit` for `check` to hold.
async fn eventually(runtime: &dyn Runtime, limit: Duration, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < until, "not within {limit:?}");
        sleep(runtime, Duration::from_millis(50)).await;
    }
}

async fn exercise(runtime: Arc<dyn Runtime>, target: Target, events: impl Fn() -> Vec<String>) {
    let handler = Accept::default();
    let client = Client::builder()
        .handler(handler.clone())
        .on_stderr(|_| {})
        .connect_with(runtime.clone(), target)
        .await
        .expect("connect to the 2026 peer");
    assert_eq!(client.protocol_version(), REVISION);
    assert_eq!(client.server().server_info.name, "mcpwire-rev2026-peer");

    // The listing, and a call.
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    for expected in ["echo", "progress", "confirm", "interview", "later", "slow"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let echo = client
        .call_tool("echo", json!({ "message": "hi there" }))
        .await
        .unwrap();
    assert_eq!(text_of(&echo.content), "hi there");

    // Progress reaches the call's callback.
    let reports = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = reports.clone();
    let options = CallOptions::new().on_progress(move |p| sink.lock().unwrap().push(p));
    let params = CallToolParams::new("progress", json!({"steps": 3}).as_object().unwrap().clone());
    client.call_tool_with(params, options).await.unwrap();
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert_eq!(reports[2].total, Some(3.0));

    // input_required: the handler answers; the call completes with the answer's effect.
    let confirmed = client.call_tool("confirm", json!({})).await.unwrap();
    assert!(
        text_of(&confirmed.content).contains("confirmed=true"),
        "{confirmed:?}"
    );
    let interview = client.call_tool("interview", json!({})).await.unwrap();
    assert!(!interview.is_error(), "{interview:?}");
    assert!(
        handler.asked.lock().unwrap().len() >= 3,
        "one round for confirm, two for interview: {:?}",
        handler.asked.lock().unwrap()
    );
    let later = client.call_tool("later", json!({})).await.unwrap();
    assert!(
        !later.is_error(),
        "a requestState-only round, retried: {later:?}"
    );

    // A subscription: acknowledged, its notifications, ended by the server.
    let filter = SubscriptionFilter::new()
        .tools_list_changed()
        .resource("test://counter");
    let subscription = client.listen(filter).await.unwrap();
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));
    client.call_tool("touch", json!({})).await.unwrap();
    let n = runtime_timeout(&*runtime, subscription.recv()).await;
    assert!(
        matches!(n, Some(ServerNotification::ToolListChanged)),
        "{n:?}"
    );
    client.call_tool("bump", json!({})).await.unwrap();
    let n = runtime_timeout(&*runtime, subscription.recv()).await;
    assert!(
        matches!(&n, Some(ServerNotification::ResourceUpdated(u)) if u.uri == "test://counter"),
        "{n:?}"
    );
    assert!(
        client.notifications().try_recv().is_none(),
        "a subscription's notifications are its own"
    );
    client.call_tool("end_listens", json!({})).await.unwrap();
    let ended = runtime_timeout(&*runtime, async {
        loop {
            match subscription.next_event().await {
                Some(SubscriptionEvent::Ended(r)) => return Some(r),
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await;
    assert!(matches!(ended, Some(Ok(()))), "{ended:?}");

    // A cancellation: the call is dropped; the server sees it cancelled.
    let slow = client.call_tool("slow", json!({"seconds": 30, "tag": "gone"}));
    let started = within(&*runtime, Duration::from_millis(1500), slow).await;
    assert!(started.is_none(), "the slow call is still running");
    eventually(&*runtime, Duration::from_secs(10), || {
        events().iter().any(|e| e == "cancelled gone")
    })
    .await;

    // Methods this revision removed fail at once, typed.
    let e = client.ping().await.unwrap_err();
    assert!(e.to_string().contains("2026-07-28"), "{e}");
    client.close().await;
}

/// `future`'s output, or `None` if it takes longer than `d`.
async fn within<T>(
    runtime: &dyn Runtime,
    d: Duration,
    future: impl std::future::Future<Output = T>,
) -> Option<T> {
    let deadline = runtime.sleep_until(Instant::now() + d);
    futures_lite::future::or(async { Some(future.await) }, async {
        deadline.await;
        None
    })
    .await
}

/// `future` within 10 s.
async fn runtime_timeout<T>(
    runtime: &dyn Runtime,
    future: impl std::future::Future<Output = T>,
) -> T {
    within(runtime, Duration::from_secs(10), future)
        .await
        .expect("within 10 s")
}

async fn over_http(runtime: Arc<dyn Runtime>) {
    let server = Rev2026Http::start();
    let url = server.url.clone();
    exercise(runtime, Target::http(url), || server.events()).await;
}

async fn over_stdio(runtime: Arc<dyn Runtime>) {
    let dir = std::env::temp_dir().join(format!("mcpwire-rev2026-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join(format!("{:?}.events", std::thread::current().id()));
    std::fs::write(&events, "").unwrap();
    let mut command = peer2026::stdio_command();
    command
        .env
        .push((peer2026::EVENTS_ENV.into(), events.display().to_string()));
    let path = events.clone();
    exercise(runtime, Target::Stdio(command), move || {
        peer2026::read_events(&path)
    })
    .await;
    let _ = std::fs::remove_file(events);
}
