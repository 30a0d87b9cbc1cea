//! Exporting the client's spans with OpenTelemetry: a `tracing-opentelemetry` layer over an
//! OpenTelemetry SDK tracer, so that each request is a client span named as the MCP semantic
//! conventions say (`tools/call echo`, `mcp.method.name`, `gen_ai.tool.name`, ...), a child of
//! the application's span, and the server receives the trace in `params._meta.traceparent`.
//! The exporter here prints each span as it ends; a real application plugs in OTLP
//! (`opentelemetry-otlp`) the same way.
//!
//! ```sh
//! cargo run -p mcpwire --features otel --example otel -- http://127.0.0.1:3001/mcp echo '{"message":"hi"}'
//! ```

use mcpwire::Client;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Prints each finished span: name, trace id, parent, attributes.
#[derive(Debug)]
struct Print;

impl SpanExporter for Print {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in batch {
            let attributes: Vec<String> = span
                .attributes
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect();
            println!(
                "span {:?} trace={} parent={} {}",
                span.name,
                span.span_context.trace_id(),
                span.parent_span_id,
                attributes.join(" ")
            );
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(Print)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("otel-example")));
    tracing::subscriber::set_global_default(subscriber)?;

    let mut args = std::env::args().skip(1);
    let server = args
        .next()
        .ok_or("usage: otel <url or command> [tool] [json arguments]")?;
    let tool = args.next().unwrap_or_else(|| "echo".into());
    let arguments: serde_json::Value = match args.next() {
        Some(json) => serde_json::from_str(&json)?,
        None => serde_json::json!({"message": "traced"}),
    };
    async {
        let client = Client::connect(server.as_str()).await?;
        let result = client.call_tool(&tool, arguments).await?;
        println!("{tool}: error={}", result.is_error());
        client.close().await;
        Ok::<_, mcpwire::Error>(())
    }
    .instrument(tracing::info_span!("example_work"))
    .await?;
    provider.shutdown()?;
    Ok(())
}
