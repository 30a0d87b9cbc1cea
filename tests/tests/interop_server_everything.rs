//! Interop with the reference server, `@modelcontextprotocol/server-everything`, over stdio and
//! over Streamable HTTP, under tokio and under smol: tools, a call, progress, and the server's
//! sampling, elicitation and roots requests answered by the client's handler.

use std::sync::{Arc, Mutex};

use mcpwire::core::jsonrpc::ErrorObject;
use mcpwire::runtime::{BoxFuture, Runtime};
use mcpwire::schema::{
    CallToolParams, ClientCapabilities, ContentBlock, CreateMessageParams, CreateMessageResult,
    ElicitAction, ElicitParams, ElicitResult, ListRootsResult, Root, RootsCapability,
};
use mcpwire::{CallOptions, Client, Handler, Progress, Target};
use mcpwire_tests::{npm, on_both_runtimes};
use serde_json::json;

on_both_runtimes! {
    stdio_tools_call_progress_and_server_requests => over_stdio;
    streamable_http_tools_call_progress_and_server_requests => over_http;
}

/// Answers every server request, remembering what it was asked.
#[derive(Clone, Default)]
struct Answers {
    asked: Arc<Mutex<Vec<String>>>,
}

impl Handler for Answers {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            sampling: Some(json!({})),
            elicitation: Some(json!({ "form": {} })),
            roots: Some(RootsCapability {
                list_changed: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorObject>> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("sampling: {} messages", params.messages.len()));
        Box::pin(async {
            let result = json!({
                "role": "assistant",
                "content": { "type": "text", "text": "sampled by mcpwire" },
                "model": "test-model",
                "stopReason": "endTurn"
            });
            Ok(serde_json::from_value(result).unwrap())
        })
    }

    fn elicit(
        &self,
        params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("elicitation: {}", params.message));
        // Accept with each property's default, or a value of its type.
        let mut content = serde_json::Map::new();
        if let Some(props) = params
            .requested_schema
            .as_ref()
            .and_then(|s| s["properties"].as_object())
        {
            for (name, schema) in props {
                let value = schema.get("default").cloned().unwrap_or_else(|| {
                    match schema["type"].as_str() {
                        Some("boolean") => json!(true),
                        Some("number") | Some("integer") => json!(1),
                        _ => match schema.get("enum").and_then(|e| e.get(0)) {
                            Some(first) => first.clone(),
                            None => json!("mcpwire"),
                        },
                    }
                });
                content.insert(name.clone(), value);
            }
        }
        Box::pin(async move {
            let mut result = ElicitResult::new(ElicitAction::Accept);
            result.content = Some(content);
            Ok(result)
        })
    }

    fn list_roots(&self) -> BoxFuture<'static, Result<ListRootsResult, ErrorObject>> {
        self.asked.lock().unwrap().push("roots".into());
        Box::pin(async {
            let root: Root = serde_json::from_value(
                json!({ "uri": "file:///tmp/mcpwire-root", "name": "scratch" }),
            )
            .unwrap();
            Ok(ListRootsResult {
                roots: vec![root],
                ..Default::default()
            })
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

async fn exercise(runtime: Arc<dyn Runtime>, target: Target) {
    let answers = Answers::default();
    let client = Client::builder()
        .handler(answers.clone())
        .on_stderr(|_| {})
        .connect_with(runtime.clone(), target)
        .await
        .expect("connect to server-everything");
    assert!(
        client.server().server_info.name.contains("everything"),
        "{:?}",
        client.server().server_info
    );
    // A server of the 2025 era, found by the probe: the client fell back to the handshake.
    assert!(
        client.protocol_version().starts_with("2025-"),
        "{}",
        client.protocol_version()
    );

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "echo",
        "trigger-long-running-operation",
        "trigger-sampling-request",
        "trigger-elicitation-request",
        "get-roots-list",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let echo = client
        .call_tool("echo", json!({ "message": "over the wire" }))
        .await
        .unwrap();
    assert_eq!(text_of(&echo.content), "Echo: over the wire");

    // A long-running operation reports progress, which reaches the call's callback.
    let reports = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = reports.clone();
    let options = CallOptions::new().on_progress(move |p| sink.lock().unwrap().push(p));
    let params = CallToolParams::new(
        "trigger-long-running-operation",
        json!({ "duration": 1, "steps": 4 })
            .as_object()
            .unwrap()
            .clone(),
    );
    let long = client.call_tool_with(params, options).await.unwrap();
    assert!(text_of(&long.content).contains("completed"), "{long:?}");
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 4, "{reports:?}");
    assert_eq!(
        reports.last().map(|p| (p.progress, p.total)),
        Some((4.0, Some(4.0)))
    );

    let sampled = client
        .call_tool("trigger-sampling-request", json!({ "prompt": "hello" }))
        .await
        .unwrap();
    assert!(
        text_of(&sampled.content).contains("sampled by mcpwire"),
        "{sampled:?}"
    );

    let elicited = client
        .call_tool("trigger-elicitation-request", json!({}))
        .await
        .unwrap();
    assert!(!elicited.is_error.unwrap_or(false), "{elicited:?}");
    assert!(
        text_of(&elicited.content).to_lowercase().contains("accept"),
        "{elicited:?}"
    );

    let roots = client.call_tool("get-roots-list", json!({})).await.unwrap();
    assert!(
        text_of(&roots.content).contains("file:///tmp/mcpwire-root"),
        "{roots:?}"
    );

    // A call dropped before its answer is cancelled; the session goes on.
    let slow = client.call_tool(
        "trigger-long-running-operation",
        json!({ "duration": 30, "steps": 3 }),
    );
    let deadline =
        runtime.sleep_until(std::time::Instant::now() + std::time::Duration::from_millis(500));
    let raced = futures_lite::future::or(async { Some(slow.await) }, async {
        deadline.await;
        None
    })
    .await;
    assert!(raced.is_none(), "the long operation is still running");
    let echo = client
        .call_tool("echo", json!({ "message": "after the cancel" }))
        .await
        .unwrap();
    assert_eq!(text_of(&echo.content), "Echo: after the cancel");

    // Subscriptions are of 2026-07-28: in this era they fail at once, typed.
    let e = client
        .listen(mcpwire::SubscriptionFilter::new().tools_list_changed())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            mcpwire::Error::Request(mcpwire::RequestError::Removed { .. })
        ),
        "{e:?}"
    );

    let asked = answers.asked.lock().unwrap().clone();
    assert!(asked.iter().any(|a| a.starts_with("sampling")), "{asked:?}");
    assert!(
        asked.iter().any(|a| a.starts_with("elicitation")),
        "{asked:?}"
    );
    assert!(asked.iter().any(|a| a == "roots"), "{asked:?}");
    client.close().await;
}

async fn over_stdio(runtime: Arc<dyn Runtime>) {
    let target = Target::Stdio(mcpwire::runtime::Command {
        program: npm::node().display().to_string(),
        args: vec![
            npm::server_everything().display().to_string(),
            "stdio".into(),
        ],
        env: vec![],
        cwd: None,
    });
    exercise(runtime, target).await;
}

async fn over_http(runtime: Arc<dyn Runtime>) {
    let server = npm::ServerEverythingHttp::start();
    exercise(runtime, Target::http(server.url.clone())).await;
}
