//! `mcpwire conformance <URL>`: the client that `@modelcontextprotocol/conformance` drives.
//!
//! The suite starts a mock server per scenario, runs `mcpwire conformance <url>` with
//! `MCP_CONFORMANCE_SCENARIO` set (and, for some scenarios, `MCP_CONFORMANCE_CONTEXT`, JSON),
//! and judges what the client sent. Each scenario expects a short script of requests:
//!
//! - `initialize`: initialize, list the tools, close.
//! - `tools_call`: call `add_numbers` with two numbers.
//! - `elicitation-sep1034-client-defaults`: declare elicitation; call
//!   `test_client_elicitation_defaults`, whose elicitation is accepted with every `default`
//!   of the requested schema.
//! - `sse-retry`: call `test_reconnection`, whose stream ends after a priming event; the core
//!   resumes by GET with `Last-Event-ID` after the event's `retry`.
//! - `json-schema-2020-12-preservation`: echo the `inputSchema` of
//!   `json_schema_2020_12_tool`, as received, to `json_schema_echo`.
//! - anything else (the auth scenarios): initialize and list the tools; no OAuth yet.

use std::time::Duration;

use mcpwire::core::jsonrpc::ErrorObject;
use mcpwire::runtime::BoxFuture;
use mcpwire::schema::{ClientCapabilities, ElicitAction, ElicitParams, ElicitResult, Tool};
use mcpwire::{Client, Handler};
use serde_json::{json, Map, Value};

use crate::exit::Failure;
use crate::print;

/// How long each request may take: well under the suite's 30 s per scenario.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the scenario named by `MCP_CONFORMANCE_SCENARIO` against `url`.
pub async fn run(url: &str) -> Result<(), Failure> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let _ = print::err(&format!(
        "mcpwire conformance: scenario {scenario:?} against {url}"
    ));
    let client = Client::builder()
        .client_info("mcpwire-conformance", env!("CARGO_PKG_VERSION"))
        .timeout(TIMEOUT)
        .handler(AcceptDefaults)
        .connect(url)
        .await
        .map_err(|e| Failure::mcp(format!("connecting to {url}"), e))?;
    let outcome = script(&client, &scenario).await;
    client.close().await;
    outcome
}

async fn script(client: &Client, scenario: &str) -> Result<(), Failure> {
    let tools = client
        .list_all_tools()
        .await
        .map_err(|e| Failure::mcp("tools/list", e))?;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let _ = print::err(&format!("tools: {names:?}"));
    match scenario {
        "tools_call" => call(client, "add_numbers", json!({"a": 5, "b": 3})).await,
        "elicitation-sep1034-client-defaults" => {
            call(client, "test_client_elicitation_defaults", json!({})).await
        }
        "sse-retry" => call(client, "test_reconnection", json!({})).await,
        "json-schema-2020-12-preservation" => {
            let schema = find(&tools, "json_schema_2020_12_tool")?
                .input_schema
                .clone();
            call(client, "json_schema_echo", json!({ "schema": schema })).await
        }
        _ => Ok(()),
    }
}

fn find<'a>(tools: &'a [Tool], name: &str) -> Result<&'a Tool, Failure> {
    tools
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| Failure::Other(format!("the server lists no tool {name:?}")))
}

async fn call(client: &Client, tool: &str, arguments: Value) -> Result<(), Failure> {
    let result = client
        .call_tool(tool, arguments)
        .await
        .map_err(|e| Failure::mcp(format!("tools/call {tool}"), e))?;
    let _ = print::err(&format!("{tool}: {}", crate::output::call_result(&result)));
    match result.is_error() {
        true => Err(Failure::ToolError(tool.to_owned())),
        false => Ok(()),
    }
}

/// Declares elicitation, and accepts every form with the requested schema's defaults.
struct AcceptDefaults;

impl Handler for AcceptDefaults {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            elicitation: Some(json!({})),
            ..Default::default()
        }
    }

    fn elicit(
        &self,
        params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        let mut result = ElicitResult::new(ElicitAction::Accept);
        result.content = Some(defaults(params.requested_schema.as_ref()));
        Box::pin(async move { Ok(result) })
    }
}

/// `{property: default}` for every property of a flat object schema that has a default.
pub fn defaults(schema: Option<&Value>) -> Map<String, Value> {
    let properties = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    properties
        .into_iter()
        .flatten()
        .filter_map(|(name, property)| Some((name.clone(), property.get("default")?.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elicitation_is_accepted_with_every_default() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "verified": {"type": "boolean", "default": true},
            "nickname": {"type": "string"}
        }});
        let expected = json!({"name": "John Doe", "age": 30, "verified": true});
        assert_eq!(Value::Object(defaults(Some(&schema))), expected);
        assert!(defaults(None).is_empty());
    }
}
