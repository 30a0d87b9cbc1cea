//! `tools`, `call`, `resources`, `read`, `prompts` and `get`: one request (or one list,
//! every page) against any server.

use std::collections::BTreeMap;

use mcpwire::schema::CallToolParams;
use mcpwire::{CallOptions, Error, RequestError};
use serde_json::{json, Map, Value};

use crate::coerce;
use crate::connect::{with_client, Connection, ServerArgs, ServerWithArgs};
use crate::exit::{after_output, Failure};
use crate::progress::CallProgress;
use crate::{output, print, Common};

/// `mcpwire tools`.
pub async fn tools(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let tools = c
            .client
            .list_all_tools()
            .await
            .map_err(|e| c.failure("tools/list", e))?;
        if common.json {
            c.print_json(&json!({ "tools": tools }))?;
        } else {
            for tool in &tools {
                print::out(&output::tool(tool))?;
            }
        }
        Ok(())
    })
    .await
}

/// `mcpwire tasks`: the server's tasks this client may see (`tasks/list`, every page, at most
/// 100).
pub async fn tasks(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let mut tasks: Vec<mcpwire::schema::Task> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let page = c
                .client
                .list_tasks(cursor.take())
                .await
                .map_err(|e| c.failure("tasks/list", e))?;
            tasks.extend(page.tasks);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        if common.json {
            c.print_json(&json!({ "tasks": tasks }))?;
        } else if tasks.is_empty() {
            print::err("no tasks")?;
        } else {
            for t in &tasks {
                print::out(&output::task(t))?;
            }
        }
        Ok(())
    })
    .await
}

/// `mcpwire call`: one JSON object is sent as it is; `key=value` pairs are typed by the
/// tool's input schema ([`coerce`]), listed first.
pub async fn call(
    common: &Common,
    tool: &str,
    task: bool,
    server: &ServerWithArgs,
) -> Result<(), Failure> {
    let (target, words) = server.split()?;
    let (object, pairs) = match words {
        [only] if only.trim_start().starts_with('{') => (Some(json_object(only)?), Vec::new()),
        _ => (
            None,
            coerce::split_pairs(words)
                .map_err(|e| Failure::Usage(format!("tool arguments: {e}")))?,
        ),
    };
    with_client(common, target, |c| async move {
        let arguments = match object {
            Some(object) => object,
            None => {
                let schema = match pairs.is_empty() {
                    true => None,
                    false => input_schema(&c, tool).await?,
                };
                coerce::arguments(&pairs, schema.as_ref())
                    .map_err(|e| Failure::Usage(format!("tool arguments: {e}")))?
            }
        };
        let progress = CallProgress::new(tool);
        let params = CallToolParams::new(tool, arguments);
        let mut options = progress.options(CallOptions::new());
        if task {
            options = options.as_task(None);
        }
        // A task's statuses, whether asked for (`--task`) or the server's choice (the
        // 2026-07-28 tasks extension).
        options = options.on_task_status(|t| {
            let _ = print::err(&output::task(t));
        });
        let result = c.client.call_tool_with(params, options).await;
        progress.finish();
        let result = result.map_err(|e| c.failure(format!("tools/call {tool}"), e))?;
        let written = if common.json {
            c.print_json(&result)
        } else {
            let text = output::call_result(&result);
            match text.is_empty() {
                true => Ok(()),
                false => print::out(&text),
            }
        };
        // The tool's isError decides the exit code even if nobody read what it said.
        let outcome = match result.is_error() {
            true => Err(Failure::ToolError(tool.to_owned())),
            false => Ok(()),
        };
        after_output(written, outcome)
    })
    .await
}

/// `mcpwire resources`: the resources, then the templates.
pub async fn resources(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let resources = c
            .client
            .list_all_resources()
            .await
            .map_err(|e| c.failure("resources/list", e))?;
        // A server with resources but no templates may not implement the method at all.
        let templates = match c.client.list_all_resource_templates().await {
            Ok(templates) => templates,
            Err(Error::Request(RequestError::Rpc(_))) => Vec::new(),
            Err(e) => return Err(c.failure("resources/templates/list", e)),
        };
        if common.json {
            c.print_json(&json!({ "resources": resources, "resourceTemplates": templates }))?;
        } else {
            for resource in &resources {
                print::out(&output::resource(resource))?;
            }
            if !templates.is_empty() {
                print::out("\nTemplates:")?;
                for template in &templates {
                    print::out(&output::template(template))?;
                }
            }
        }
        Ok(())
    })
    .await
}

/// `mcpwire read`.
pub async fn read(common: &Common, uri: &str, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let result = c
            .client
            .read_resource(uri)
            .await
            .map_err(|e| c.failure(format!("resources/read {uri}"), e))?;
        if common.json {
            c.print_json(&result)?;
        } else {
            print::out(&output::read_result(&result))?;
        }
        Ok(())
    })
    .await
}

/// `mcpwire prompts`.
pub async fn prompts(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let prompts = c
            .client
            .list_all_prompts()
            .await
            .map_err(|e| c.failure("prompts/list", e))?;
        if common.json {
            c.print_json(&json!({ "prompts": prompts }))?;
        } else {
            for prompt in &prompts {
                print::out(&output::prompt(prompt))?;
            }
        }
        Ok(())
    })
    .await
}

/// `mcpwire get`.
pub async fn get(common: &Common, prompt: &str, server: &ServerWithArgs) -> Result<(), Failure> {
    let (target, words) = server.split()?;
    let arguments = prompt_arguments(words)?;
    with_client(common, target, |c| async move {
        let result = c
            .client
            .get_prompt(prompt, arguments)
            .await
            .map_err(|e| c.failure(format!("prompts/get {prompt}"), e))?;
        if common.json {
            c.print_json(&result)?;
        } else {
            print::out(&output::prompt_result(&result))?;
        }
        Ok(())
    })
    .await
}

/// The input schema of `tool`, from `tools/list`; `None` if it is not listed, or listing
/// failed without ending the session (the call then says what the server thinks).
async fn input_schema(c: &Connection, tool: &str) -> Result<Option<Value>, Failure> {
    match c.client.list_all_tools().await {
        Ok(tools) => Ok(tools
            .into_iter()
            .find(|t| t.name == tool)
            .map(|t| t.input_schema)),
        Err(e) if c.client.session_error().is_some() => Err(c.failure("tools/list", e)),
        Err(e) => {
            tracing::info!(error = %e, "tools/list failed: key=value arguments are guessed");
            Ok(None)
        }
    }
}

/// Tool arguments: one JSON object, or `key=value` pairs (typed without a schema).
pub fn tool_arguments(words: &[String]) -> Result<Map<String, Value>, Failure> {
    if let [only] = words {
        if only.trim_start().starts_with('{') {
            return json_object(only);
        }
    }
    coerce::split_pairs(words)
        .and_then(|pairs| coerce::arguments(&pairs, None))
        .map_err(|e| Failure::Usage(format!("tool arguments: {e}")))
}

/// Prompt arguments (strings): one JSON object, or `key=value` pairs taken as they are.
fn prompt_arguments(words: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    if let [only] = words {
        if only.trim_start().starts_with('{') {
            let object = json_object(only)?;
            let strings = object.into_iter().map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            });
            return Ok(strings.collect());
        }
    }
    words
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    Failure::Usage(format!("prompt arguments: {pair:?} is not key=value"))
                })
        })
        .collect()
}

fn json_object(text: &str) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Failure::Usage(format!(
            "arguments must be a JSON object, not {other}"
        ))),
        Err(e) => Err(Failure::Usage(format!("arguments are not valid JSON: {e}"))),
    }
}
