//! `mcpwire conformance <URL>`: the client that `@modelcontextprotocol/conformance` drives.
//!
//! The suite starts a mock server per scenario, runs `mcpwire conformance <url>` with
//! `MCP_CONFORMANCE_SCENARIO` set, `MCP_CONFORMANCE_PROTOCOL_VERSION` (0.2.0 and later: the
//! revision the scenario runs at) and, for some scenarios, `MCP_CONFORMANCE_CONTEXT` (JSON),
//! and judges what the client sent. The client finds the revision itself, as any `mcpwire`
//! does (the `server/discover` probe, and the 2025 handshake for a server of that era); the
//! protocol version only pins it to 2026-07-28 when the scenario runs there. Each scenario
//! expects a short script of requests after the tools are listed:
//!
//! - `tools_call`: call `add_numbers` with two numbers.
//! - `elicitation-sep1034-client-defaults`: declare elicitation; call
//!   `test_client_elicitation_defaults`, whose elicitation is accepted with every `default`
//!   of the requested schema.
//! - `sse-retry`: call `test_reconnection`, whose stream ends after a priming event; the core
//!   resumes by GET with `Last-Event-ID` after the event's `retry`.
//! - `json-schema-2020-12-preservation`: echo the `inputSchema` of
//!   `json_schema_2020_12_tool`, as received, to `json_schema_echo`.
//! - `sep-2322-client-request-state`: call its four tools; their `input_required` rounds go
//!   through the handler like any elicitation.
//! - `http-standard-headers`: call every tool, read every resource, get every prompt.
//! - `http-custom-headers`: make the tool calls of the context's `toolCalls`.
//! - `http-invalid-tool-headers`: call every tool the client kept (the invalid ones were left
//!   out of the listing).
//! - `sep-2640-*` (the skills extension): list the skills; but for `no-prefetch`, load the
//!   first and read its other files only if its `SKILL.md` passed the checks.
//! - anything else (`initialize`, `request-metadata`, `json-schema-ref-no-deref`, the auth
//!   scenarios): only what connecting and listing the tools send, and then one call of the
//!   first tool (the auth scenarios need an authenticated request after the first).
//!
//! OAuth is always on, with the headless user step (the suite's authorization server
//! redirects at once), the client ID metadata document URL the suite expects, and the
//! pre-registered client of `MCP_CONFORMANCE_CONTEXT` (`client_id`, `client_secret`,
//! `issuer`) when it names one.

use std::time::Duration;

use mcpwire::core::jsonrpc::ErrorObject;
use mcpwire::runtime::BoxFuture;
use mcpwire::schema::{ClientCapabilities, ElicitAction, ElicitParams, ElicitResult, Tool};
use mcpwire::{Client, Handler, Revision};
use serde_json::{json, Map, Value};

use crate::exit::Failure;
use crate::print;

/// How long each request may take: well under the suite's 30 s per scenario.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the scenario named by `MCP_CONFORMANCE_SCENARIO` against `url`.
pub async fn run(url: &str) -> Result<(), Failure> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let version = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_default();
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null);
    let _ = print::err(&format!(
        "mcpwire conformance: scenario {scenario:?} at {version:?} against {url}"
    ));
    let revision = match version.as_str() {
        mcpwire::core::MODERN_PROTOCOL_VERSION => Revision::Modern,
        _ => Revision::Auto,
    };
    let client = Client::builder()
        .client_info("mcpwire-conformance", env!("CARGO_PKG_VERSION"))
        .timeout(TIMEOUT)
        .revision(revision)
        .handler(AcceptDefaults)
        .oauth(oauth(&context, &scenario)?)
        .connect(url)
        .await
        .map_err(|e| Failure::mcp(format!("connecting to {url}"), e))?;
    let _ = print::err(&format!("revision {}", client.protocol_version()));
    let outcome = script(&client, &scenario, &context).await;
    client.close().await;
    outcome
}

async fn script(client: &Client, scenario: &str, context: &Value) -> Result<(), Failure> {
    if scenario.starts_with("sep-2640-") {
        return skills(client, scenario).await;
    }
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
        "sep-2322-client-request-state" => {
            for tool in [
                "test_mrtr_echo_state",
                "test_mrtr_unrelated",
                "test_mrtr_no_state",
                "test_mrtr_no_result_type",
            ] {
                call_any(client, tool, json!({})).await?;
            }
            Ok(())
        }
        "http-standard-headers" => {
            for tool in &tools {
                call_any(client, &tool.name, example_arguments(&tool.input_schema)).await?;
            }
            let resources = client
                .list_all_resources()
                .await
                .map_err(|e| Failure::mcp("resources/list", e))?;
            for r in resources {
                client
                    .read_resource(&r.uri)
                    .await
                    .map_err(|e| Failure::mcp(format!("resources/read {}", r.uri), e))?;
            }
            let prompts = client
                .list_all_prompts()
                .await
                .map_err(|e| Failure::mcp("prompts/list", e))?;
            for p in prompts {
                client
                    .get_prompt(&p.name, ())
                    .await
                    .map_err(|e| Failure::mcp(format!("prompts/get {}", p.name), e))?;
            }
            Ok(())
        }
        "http-custom-headers" => {
            let calls = context["toolCalls"].as_array().cloned().unwrap_or_default();
            for c in calls {
                let name = c["name"].as_str().unwrap_or_default();
                call_any(client, name, c["arguments"].clone()).await?;
            }
            Ok(())
        }
        "http-invalid-tool-headers" => {
            for tool in &tools {
                call_any(client, &tool.name, example_arguments(&tool.input_schema)).await?;
            }
            Ok(())
        }
        s if s.starts_with("auth/") => match tools.first() {
            // An authenticated request after the first (some scenarios change what the
            // server wants then).
            Some(tool) => call_any(client, &tool.name, example_arguments(&tool.input_schema)).await,
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The skills extension's scenarios: list the skills (reading none of their files); unless
/// the scenario is `no-prefetch`, load the first (its `SKILL.md`, checked against the entry)
/// and, only if it passed, read its other files.
async fn skills(client: &Client, scenario: &str) -> Result<(), Failure> {
    let entries = client
        .list_all_skills()
        .await
        .map_err(|e| Failure::mcp("skills/list", e))?;
    let _ = print::err(&format!("skills: {}", entries.len()));
    if scenario == "sep-2640-client-no-prefetch" {
        return Ok(());
    }
    let Some(entry) = entries.first() else {
        return Ok(());
    };
    client
        .load_skill(entry)
        .await
        .map_err(|e| Failure::mcp(format!("loading {}", entry.uri), e))?;
    if let mcpwire::schema::SkillResources::Listed(files) = &entry.resources {
        for f in files.iter().filter(|f| f.uri != entry.uri) {
            client
                .read_skill_file(entry, &f.uri)
                .await
                .map_err(|e| Failure::mcp(format!("reading {}", f.uri), e))?;
        }
    }
    Ok(())
}

/// The client ID metadata document URL the suite's `auth/basic-cimd` expects.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// OAuth as the suite drives it: headless, with the scenario's pre-registered client if it
/// names one, and the grant (or DPoP) its extension scenarios test.
fn oauth(context: &Value, scenario: &str) -> Result<mcpwire::auth::OAuth, Failure> {
    use mcpwire::auth::{
        Assertion, Grant, IdentityProvider, Key, OAuth, OAuthConfig, PreRegistered, SigningKey,
        UserStep,
    };
    let text = |name: &str| context[name].as_str().map(str::to_owned);
    let key_error = |e: mcpwire::auth::KeyError| Failure::Other(e.to_string());
    let mut config = OAuthConfig::new("http://localhost:3000/callback");
    config.client_name = "mcpwire-conformance".into();
    config.client_metadata_url = Some(CLIENT_METADATA_URL.into());
    if let Some(id) = text("client_id") {
        let mut client = PreRegistered::new(id);
        if let Some(secret) = text("client_secret") {
            client = client.secret(secret);
        }
        client.issuer = text("issuer");
        // auth/client-credentials-jwt: private_key_jwt with the scenario's key.
        if let Some(pem) = text("private_key_pem") {
            let alg = text("signing_algorithm").unwrap_or_else(|| "ES256".into());
            let key = SigningKey::from_pem(&pem, &alg).map_err(key_error)?;
            client = client.key(Key::new(key));
        }
        config = config.pre_registered(client);
    }
    config.grant = match scenario {
        "auth/client-credentials-basic" | "auth/client-credentials-jwt" => Grant::ClientCredentials,
        "auth/wif-jwt-bearer" => Grant::JwtBearer {
            assertion: Assertion::fixed(text("valid_jwt").unwrap_or_default()),
        },
        "auth/enterprise-managed-authorization" | "auth/cross-app-access-complete-flow" => {
            let idp = IdentityProvider::new(
                text("idp_token_endpoint").unwrap_or_default(),
                Assertion::fixed(text("idp_id_token").unwrap_or_default()),
            );
            Grant::IdentityAssertion(match text("idp_client_id") {
                Some(id) => idp.client(id, None),
                None => idp,
            })
        }
        _ => Grant::AuthorizationCode,
    };
    if scenario.starts_with("auth/dpop") {
        config = config.dpop(Key::new(SigningKey::generate().map_err(key_error)?));
    }
    Ok(OAuth::new(config, UserStep::Headless))
}

/// Arguments that fit a flat object schema: a value of each property's type.
fn example_arguments(schema: &Value) -> Value {
    let properties = schema.get("properties").and_then(Value::as_object);
    let arguments: Map<String, Value> = properties
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            let value = match p.get("type").and_then(Value::as_str) {
                Some("integer") => json!(1),
                Some("number") => json!(1.5),
                Some("boolean") => json!(true),
                Some("object") => json!({}),
                Some("array") => json!([]),
                _ => json!("us-west1"),
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(arguments)
}

/// Calls a tool whose result does not matter to the scenario (only what was sent does).
async fn call_any(client: &Client, tool: &str, arguments: Value) -> Result<(), Failure> {
    let result = client
        .call_tool(tool, arguments)
        .await
        .map_err(|e| Failure::mcp(format!("tools/call {tool}"), e))?;
    let _ = print::err(&format!("{tool}: {}", crate::output::call_result(&result)));
    Ok(())
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
        ClientCapabilities::new().with_elicitation()
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

    #[test]
    fn example_arguments_have_each_propertys_type() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string"},
            "n": {"type": "integer"},
            "on": {"type": "boolean"}
        }});
        assert_eq!(
            example_arguments(&schema),
            json!({"region": "us-west1", "n": 1, "on": true})
        );
        assert_eq!(example_arguments(&json!({})), json!({}));
    }
}
