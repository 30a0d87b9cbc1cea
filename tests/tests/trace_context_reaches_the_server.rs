//! Tracing across the wire, under tokio and smol: with the `otel` feature and an
//! OpenTelemetry pipeline under `tracing-opentelemetry` (an in-memory exporter here), a call
//! made inside the application's span reaches the server with that trace in
//! `params._meta.traceparent` (SEP-414), its parent the client's own span; and that span is
//! named and attributed as OpenTelemetry's MCP conventions say (`tools/call echo`, kind client,
//! `mcp.method.name`, `gen_ai.tool.name`, `mcp.session.id`; `error.type` on failure).

use std::sync::Arc;

use mcpwire::runtime::Runtime;
use mcpwire::Client;
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::TestServer;
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{json, Value};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

on_both_runtimes! {
    the_server_receives_the_callers_trace_and_the_span_follows_the_conventions => traced;
    a_trace_context_given_by_hand_reaches_the_server => by_hand;
}

/// `CallOptions::trace_context`, with no OpenTelemetry pipeline at all: that context goes.
async fn by_hand(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let trace = mcpwire::core::trace::TraceContext::new(parent, Some("k=v")).unwrap();
    let options = mcpwire::CallOptions::new().trace_context(trace);
    client
        .call_tool("echo", json!({"message": "by hand"}))
        .options(options)
        .await
        .unwrap();
    let received = server.received();
    let sent = received
        .iter()
        .find(|m| m["method"] == "tools/call")
        .expect("the call");
    assert_eq!(sent["params"]["_meta"]["traceparent"], parent);
    assert_eq!(sent["params"]["_meta"]["tracestate"], "k=v");
    client.close().await;
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

async fn traced(runtime: Arc<dyn Runtime>) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("mcpwire-test")));
    let _default = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let work = tracing::info_span!("handle_order");
    async {
        client
            .call_tool("echo", json!({"message": "traced"}))
            .await
            .unwrap();
        // A failure: the span says what kind.
        let _ = client.call_tool("no-such-tool", json!({})).await;
    }
    .instrument(work)
    .await;
    client.close().await;
    drop(_default);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let parent = spans
        .iter()
        .find(|s| s.name == "handle_order")
        .expect("the application's span");
    let trace_id = parent.span_context.trace_id().to_string();
    let call = spans
        .iter()
        .find(|s| s.name == "tools/call echo")
        .unwrap_or_else(|| {
            panic!(
                "the call's span: {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.span_context.trace_id(), parent.span_context.trace_id());
    assert_eq!(call.parent_span_id, parent.span_context.span_id());
    assert_eq!(
        attribute(call, "mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(attribute(call, "gen_ai.tool.name").as_deref(), Some("echo"));
    assert_eq!(
        attribute(call, "gen_ai.operation.name").as_deref(),
        Some("execute_tool")
    );
    assert_eq!(attribute(call, "network.transport").as_deref(), Some("tcp"));
    assert!(
        attribute(call, "mcp.session.id").is_some(),
        "{:?}",
        call.attributes
    );
    assert_eq!(attribute(call, "error.type"), None);

    // What the server received: the trace, with the client span as the parent.
    let received = server.received();
    let sent = received
        .iter()
        .find(|m| m["method"] == "tools/call" && m["params"]["name"] == "echo")
        .expect("the call reached the server");
    let traceparent = sent["params"]["_meta"]["traceparent"]
        .as_str()
        .expect("a traceparent in _meta");
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], trace_id, "the caller's trace id");
    assert_eq!(
        parts[2],
        call.span_context.span_id().to_string(),
        "its parent: the client span"
    );
    assert_eq!(sent["params"]["arguments"], json!({"message": "traced"}));

    let failed = spans
        .iter()
        .find(|s| s.name == "tools/call no-such-tool")
        .expect("the failed call's span");
    assert!(
        attribute(failed, "error.type").is_some(),
        "{:?}",
        failed.attributes
    );
    let untraced: Vec<&Value> = received
        .iter()
        .filter(|m| m["method"] == "initialize")
        .collect();
    assert!(
        untraced
            .iter()
            .all(|m| m["params"]["_meta"].get("traceparent").is_none()),
        "the handshake is the session's, not the caller's"
    );
}
