//! The caller's W3C trace context travels in `params._meta` (SEP-414): `traceparent` and
//! `tracestate` as root keys beside what else `_meta` holds (a progress token), in both eras
//! and over both transports; a request without one carries none.

mod support;

use mcpwire_core::trace::TraceContext;
use mcpwire_core::RequestOptions;
use serde_json::json;
use support::*;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn traced() -> RequestOptions {
    let trace = TraceContext::new(PARENT, Some("vendor=abc")).unwrap();
    RequestOptions::default()
        .with_trace(Some(trace))
        .with_progress(true)
}

#[test]
fn over_http_the_trace_context_is_in_meta_beside_the_progress_token() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request_with(
        "tools/call",
        Some(json!({"name": "echo", "arguments": {}})),
        traced(),
    );
    let sent = h.sent();
    let meta = &post_of(&sent, id).body["params"]["_meta"];
    assert_eq!(meta["traceparent"], PARENT);
    assert_eq!(meta["tracestate"], "vendor=abc");
    assert_eq!(meta["progressToken"], json!(id.0));
    assert_eq!(post_of(&sent, id).body["params"]["name"], "echo");
    let plain = h.request("tools/list");
    let sent = h.sent();
    assert!(post_of(&sent, plain).body["params"]["_meta"]
        .get("traceparent")
        .is_none());
}

#[test]
fn over_stdio_and_at_2026_07_28_too() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    h.request_with("tools/list", None, traced());
    let line = h.stdin().pop().unwrap();
    assert_eq!(line["params"]["_meta"]["traceparent"], PARENT);

    let mut h = Harness::http_with(modern());
    h.ready_modern_http();
    let id = h.request_with("tools/list", None, traced());
    let sent = h.sent();
    let meta = &post_of(&sent, id).body["params"]["_meta"];
    assert_eq!(meta["traceparent"], PARENT);
    // The revision's own `_meta` entries are there as well.
    assert!(
        meta.get("io.modelcontextprotocol/protocolVersion")
            .is_some(),
        "{meta}"
    );
}
