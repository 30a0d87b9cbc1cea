//! Interop over the 2024-11-05 HTTP+SSE transport with servers nobody here wrote, under tokio
//! and under smol: `@modelcontextprotocol/server-everything` in `sse` mode (the TypeScript
//! SDK's `SSEServerTransport`) and the Python SDK `mcp` 2.3.0's `run("sse")` (Starlette's
//! `SseServerTransport`, `mcpwire_tests::peer2026`), each chosen explicitly
//! (`ClientBuilder::legacy_sse`) and found by the fallback of the 2025-11-25 specification
//! (their `initialize` POST to `/sse` is refused 404 or 405, so the client GETs the event
//! stream); tools/list, a call, progress, and a server killed while calls are in flight:
//! every call completes with the session's typed error, none hangs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::schema::{CallToolParams, ContentBlock};
use mcpwire::{CallOptions, Client, Progress, RequestError, SessionError, Target};
use mcpwire_tests::peer2026::{HttpMode, Rev2026Http};
use mcpwire_tests::{npm, on_both_runtimes};
use serde_json::json;

on_both_runtimes! {
    server_everything_sse_chosen_explicitly => chosen;
    server_everything_sse_found_by_the_fallback => fallback;
    server_everything_sse_killed_mid_call_fails_every_call_typed => killed_mid_call;
    python_sdk_sse_chosen_explicitly => py_chosen;
    python_sdk_sse_found_by_the_fallback => py_fallback;
    python_sdk_sse_killed_mid_call_fails_every_call_typed => py_killed_mid_call;
}

fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(ContentBlock::as_text)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn connect(runtime: &Arc<dyn Runtime>, url: &str, explicit: bool) -> Client {
    let mut builder = Client::builder().timeout(Duration::from_secs(30));
    if explicit {
        builder = builder.legacy_sse();
    }
    builder
        .connect_with(runtime.clone(), Target::http(url))
        .await
        .expect("connect to server-everything over HTTP+SSE")
}

/// tools/list, a call, and a call with progress.
async fn exercise(client: &Client) {
    assert!(
        client.server().server_info.name.contains("everything"),
        "{:?}",
        client.server().server_info
    );
    assert_eq!(client.protocol_version(), "2024-11-05");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    for expected in ["echo", "trigger-long-running-operation", "get-sum"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let echo = client
        .call_tool("echo", json!({ "message": "over the event stream" }))
        .await
        .unwrap();
    assert_eq!(text_of(&echo.content), "Echo: over the event stream");

    // Several calls at once: each answer comes on the one stream, matched by its id.
    let sums: Vec<_> = (0..4)
        .map(|i| client.call_tool("get-sum", json!({ "a": i, "b": 100 })))
        .collect();
    for (i, sum) in sums.into_iter().enumerate() {
        let sum = sum.await.unwrap();
        assert!(
            text_of(&sum.content).contains(&(i + 100).to_string()),
            "{i}: {sum:?}"
        );
    }

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
}

async fn chosen(runtime: Arc<dyn Runtime>) {
    let server = npm::ServerEverythingHttp::start_sse();
    let client = connect(&runtime, &server.url, true).await;
    exercise(&client).await;
    client.close().await;
}

async fn fallback(runtime: Arc<dyn Runtime>) {
    let server = npm::ServerEverythingHttp::start_sse();
    let client = connect(&runtime, &server.url, false).await;
    exercise(&client).await;
    client.close().await;
}

async fn killed_mid_call(runtime: Arc<dyn Runtime>) {
    let server = Mutex::new(npm::ServerEverythingHttp::start_sse());
    let url = server.lock().unwrap().url.clone();
    let client = connect(&runtime, &url, true).await;
    // Each call counts its progress reports: one means the server is running it.
    let started: Vec<Arc<Mutex<u32>>> = (0..3).map(|_| Arc::default()).collect();
    let calls: Vec<_> = started
        .iter()
        .map(|count| {
            let count = count.clone();
            let options = CallOptions::new().on_progress(move |_| *count.lock().unwrap() += 1);
            let params = CallToolParams::new(
                "trigger-long-running-operation",
                json!({ "duration": 60, "steps": 120 })
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            Box::pin(client.call_tool_with(params, options))
        })
        .collect();
    let kill = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while started.iter().any(|c| *c.lock().unwrap() == 0) {
            assert!(Instant::now() < deadline, "the calls never started");
            mcpwire_tests::sleep(&*runtime, Duration::from_millis(50)).await;
        }
        server.lock().unwrap().kill();
        Instant::now()
    };
    let (done, killed) = futures_lite::future::zip(mcpwire_tests::join_timed(calls), kill).await;
    every_call_failed_with_the_stream(done, killed);
    // The session is over, for every later call too, at once.
    let e = client.call_tool("echo", json!({ "message": "late" })).await;
    assert!(
        matches!(e, Err(mcpwire::Error::Request(RequestError::Session(_)))),
        "{e:?}"
    );
}

/// Every call completed within seconds of the kill, with the session's error: the event
/// stream ended.
fn every_call_failed_with_the_stream(
    done: Vec<(
        Result<mcpwire::schema::CallToolResult, mcpwire::Error>,
        Instant,
    )>,
    killed: Instant,
) {
    assert!(!done.is_empty());
    for (result, at) in done {
        let elapsed = at.saturating_duration_since(killed);
        assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
        let e = result.expect_err("the server died");
        let mcpwire::Error::Request(RequestError::Session(session)) = &e else {
            panic!("expected the session's error, got {e:?}");
        };
        assert!(
            matches!(
                session,
                SessionError::LegacySse(mcpwire::core::LegacySseError::StreamEnded(_))
            ),
            "{session:?}"
        );
    }
}

/// tools/list, a call, several at once, and progress, against the Python SDK.
async fn exercise_python(client: &Client) {
    assert_eq!(client.server().server_info.name, "mcpwire-rev2026-peer");
    // It offers 2024-11-05; the SDK answers with a version of the handshake it speaks.
    let version = client.protocol_version();
    assert!(
        version == "2024-11-05" || mcpwire::core::SUPPORTED_PROTOCOL_VERSIONS.contains(&version),
        "{version}"
    );
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    for expected in ["echo", "progress", "slow"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let echoes: Vec<_> = (0..4)
        .map(|i| client.call_tool("echo", json!({ "message": format!("sse {i}") })))
        .collect();
    for (i, echo) in echoes.into_iter().enumerate() {
        assert_eq!(text_of(&echo.await.unwrap().content), format!("sse {i}"));
    }
    let reports = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = reports.clone();
    let options = CallOptions::new().on_progress(move |p| sink.lock().unwrap().push(p));
    let params = CallToolParams::new("progress", json!({"steps": 3}).as_object().unwrap().clone());
    let done = client.call_tool_with(params, options).await.unwrap();
    assert_eq!(text_of(&done.content), "done 3 steps");
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert_eq!(
        reports.last().map(|p| (p.progress, p.total)),
        Some((3.0, Some(3.0)))
    );
}

async fn py_chosen(runtime: Arc<dyn Runtime>) {
    let server = Rev2026Http::start_with(HttpMode::LegacySse);
    let client = connect(&runtime, &server.url, true).await;
    exercise_python(&client).await;
    client.close().await;
}

async fn py_fallback(runtime: Arc<dyn Runtime>) {
    let server = Rev2026Http::start_with(HttpMode::LegacySse);
    let client = connect(&runtime, &server.url, false).await;
    exercise_python(&client).await;
    client.close().await;
}

async fn py_killed_mid_call(runtime: Arc<dyn Runtime>) {
    let server = Mutex::new(Rev2026Http::start_with(HttpMode::LegacySse));
    let url = server.lock().unwrap().url.clone();
    let client = connect(&runtime, &url, true).await;
    let calls: Vec<_> = (0..3)
        .map(|i| {
            Box::pin(client.call_tool("slow", json!({ "seconds": 60, "tag": format!("sse-{i}") })))
        })
        .collect();
    let kill = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = server.lock().unwrap().events();
            if events
                .iter()
                .filter(|e| e.starts_with("started sse-"))
                .count()
                == 3
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the calls never started: {events:?}"
            );
            mcpwire_tests::sleep(&*runtime, Duration::from_millis(50)).await;
        }
        server.lock().unwrap().kill();
        Instant::now()
    };
    let (done, killed) = futures_lite::future::zip(mcpwire_tests::join_timed(calls), kill).await;
    every_call_failed_with_the_stream(done, killed);
    let e = client.call_tool("echo", json!({ "message": "late" })).await;
    assert!(
        matches!(e, Err(mcpwire::Error::Request(RequestError::Session(_)))),
        "{e:?}"
    );
}
