//! The client's spans, named and attributed as OpenTelemetry's semantic conventions for MCP
//! say (a `tracing` span per request: `otel.name` `{mcp.method.name} {target}`, kind client,
//! `mcp.method.name`, `gen_ai.tool.name`, `gen_ai.prompt.name`, `gen_ai.operation.name`,
//! `mcp.session.id`, `mcp.protocol.version`, `network.transport`, and on failure `error.type`,
//! `rpc.response.status_code`, `otel.status_code`), and, with the `otel` feature, the W3C trace
//! context of that span for the request's `_meta` (SEP-414). `tracing-opentelemetry` maps the
//! `otel.*` fields to the span's name, kind and status.

use mcpwire_core::trace::TraceContext;
use mcpwire_core::RequestError;
use serde_json::value::RawValue;
use std::borrow::Cow;

use tracing::field::Empty;
use tracing::Span;

/// The span of one request (`params` to name its target: a tool or prompt name, read from
/// them only when the span is enabled).
pub(crate) fn request_span(
    method: &str,
    params: Option<&RawValue>,
    session_id: Option<&str>,
    protocol_version: &str,
    transport: &'static str,
) -> Span {
    let operation = (method == "tools/call").then_some("execute_tool");
    let span = tracing::info_span!(
        "mcp.request",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        mcp.method.name = method,
        gen_ai.tool.name = Empty,
        gen_ai.prompt.name = Empty,
        gen_ai.operation.name = operation,
        mcp.session.id = session_id,
        mcp.protocol.version = protocol_version,
        network.transport = transport,
        error.type = Empty,
        rpc.response.status_code = Empty,
        ticket = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow)]
        name: Option<std::borrow::Cow<'a, str>>,
    }
    let field = match method {
        "tools/call" => Some("gen_ai.tool.name"),
        "prompts/get" => Some("gen_ai.prompt.name"),
        _ => None,
    };
    let target = field
        .and(params)
        .and_then(|p| serde_json::from_str::<Named<'_>>(p.get()).ok())
        .and_then(|n| n.name);
    // Low cardinality: the tool's or prompt's name, never a resource URI.
    match (field, target) {
        (Some(field), Some(target)) => {
            span.record(field, &*target);
            span.record("otel.name", format!("{method} {target}").as_str());
        }
        _ => {
            span.record("otel.name", method);
        }
    }
    span
}

/// Records how the request ended on its span.
pub(crate) fn record_failure(span: &Span, error: &crate::Error) {
    // Nothing to record on a span no subscriber wants (and nothing formatted for it: a
    // session that ends fails every caller at once).
    if span.is_disabled() {
        return;
    }
    let (kind, code): (Cow<'_, str>, _) = match error.request() {
        Some(RequestError::Rpc(e)) => (e.code.to_string().into(), Some(e.code)),
        Some(RequestError::Timeout { .. }) => ("timeout".into(), None),
        Some(RequestError::Http(e)) => (e.status.as_str().into(), None),
        Some(RequestError::Transport(_)) => ("transport".into(), None),
        Some(RequestError::Session(_)) => ("session".into(), None),
        Some(RequestError::Auth(_)) => ("auth".into(), None),
        Some(RequestError::Protocol(_)) => ("protocol".into(), None),
        _ => ("_OTHER".into(), None),
    };
    span.record("error.type", &*kind);
    span.record("otel.status_code", "ERROR");
    if let Some(code) = code {
        span.record("rpc.response.status_code", code.to_string().as_str());
    }
}

/// A tool call that ran and reported an error (`isError`): `error.type` `tool_error`, as the
/// conventions say.
pub(crate) fn record_tool_error(span: &Span) {
    span.record("error.type", "tool_error");
    span.record("otel.status_code", "ERROR");
}

/// The W3C trace context of `span`, when OpenTelemetry knows it (the `otel` feature, with a
/// `tracing-opentelemetry` layer installed); else none.
pub(crate) fn trace_context(span: &Span) -> Option<TraceContext> {
    #[cfg(feature = "otel")]
    {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let context = span.context();
        let otel_span = context.span();
        let sc = otel_span.span_context();
        if !sc.is_valid() {
            return None;
        }
        let traceparent = format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        );
        let state = sc.trace_state().header();
        TraceContext::new(&traceparent, Some(state.as_str()).filter(|s| !s.is_empty())).ok()
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = span;
        None
    }
}
