//! How results are shown: for people (the default), or as JSON (`--json`).

use mcpwire::schema::{
    CallToolResult, ContentBlock, GetPromptResult, Prompt, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Tool,
};
use serde_json::Value;

/// A tool as `name(arg: type, optional?: type) -> {out: type}` and its description.
pub fn tool(tool: &Tool) -> String {
    let mut line = format!("{}({})", tool.name, signature(&tool.input_schema));
    if let Some(output) = &tool.output_schema {
        line.push_str(&format!(" -> {{{}}}", signature(output)));
    }
    let description = match (tool.title.as_deref(), tool.description.as_deref()) {
        (Some(title), Some(description)) if title != tool.name => {
            Some(format!("{title}: {description}"))
        }
        (Some(title), None) if title != tool.name => Some(title.to_owned()),
        (_, description) => description.map(str::to_owned),
    };
    with_description(line, description.as_deref())
}

/// A prompt as `name(arg, optional?)` and its description.
pub fn prompt(prompt: &Prompt) -> String {
    let args: Vec<String> = prompt
        .arguments
        .iter()
        .flatten()
        .map(|a| {
            let optional = if a.required == Some(true) { "" } else { "?" };
            format!("{}{optional}", a.name)
        })
        .collect();
    let line = format!("{}({})", prompt.name, args.join(", "));
    with_description(line, prompt.description.as_deref())
}

/// A resource as `uri  name  (mime type)` and its description.
pub fn resource(resource: &Resource) -> String {
    let mut line = format!("{}  {}", resource.uri, resource.name);
    if let Some(mime) = &resource.mime_type {
        line.push_str(&format!("  ({mime})"));
    }
    with_description(line, resource.description.as_deref())
}

/// A resource template as `template  name  (mime type)` and its description.
pub fn template(template: &ResourceTemplate) -> String {
    let mut line = format!("{}  {}", template.uri_template, template.name);
    if let Some(mime) = &template.mime_type {
        line.push_str(&format!("  ({mime})"));
    }
    with_description(line, template.description.as_deref())
}

fn with_description(mut line: String, description: Option<&str>) -> String {
    if let Some(description) = description.map(str::trim).filter(|d| !d.is_empty()) {
        for text in description.lines() {
            line.push_str("\n    ");
            line.push_str(text.trim_end());
        }
    }
    line
}

/// The properties of an object schema as `name: type, optional?: type`.
fn signature(schema: &Value) -> String {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    properties
        .iter()
        .map(|(name, property)| {
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            format!("{name}{optional}: {}", type_of(property))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A schema's type in a few characters: `string`, `"a"|"b"`, `number[]`, `any`.
fn type_of(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("|");
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => match schema.get("items") {
            Some(items) => format!("{}[]", type_of(items)),
            None => "array".into(),
        },
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("$ref").is_some() => "object".into(),
        _ => "any".into(),
    }
}

/// A tool's result for people: its content, or its structured content if it has no other.
pub fn call_result(result: &CallToolResult) -> String {
    if result.content.is_empty() {
        return match &result.structured_content {
            Some(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
            None => String::new(),
        };
    }
    result
        .content
        .iter()
        .map(content)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One content block for people.
pub fn content(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => binary("image", &image.mime_type, &image.data),
        ContentBlock::Audio(audio) => binary("audio", &audio.mime_type, &audio.data),
        ContentBlock::ResourceLink(link) => {
            format!("[resource link: {} ({})]", link.uri, link.name)
        }
        ContentBlock::Resource(embedded) => {
            format!(
                "[resource {}]\n{}",
                embedded.resource.uri(),
                contents(&embedded.resource)
            )
        }
        ContentBlock::Unknown(value) => value.to_string(),
    }
}

/// A resource's contents for people: its text, or a note about its bytes.
pub fn contents(contents: &ResourceContents) -> String {
    match contents {
        ResourceContents::Text(text) => text.text.clone(),
        ResourceContents::Blob(blob) => binary(
            "blob",
            blob.mime_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            &blob.blob,
        ),
    }
}

fn binary(kind: &str, mime: &str, base64: &str) -> String {
    let bytes = base64.trim_end_matches('=').len() * 3 / 4;
    format!("[{kind} {mime}, {bytes} bytes; --json shows it base64-encoded]")
}

/// A resource read for people: each part's text, headed by its URI if there are several.
pub fn read_result(result: &ReadResourceResult) -> String {
    let several = result.contents.len() > 1;
    result
        .contents
        .iter()
        .map(|c| {
            if several {
                format!("[{}]\n{}", c.uri(), contents(c))
            } else {
                contents(c)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A prompt's messages for people: `[role] content`.
pub fn prompt_result(result: &GetPromptResult) -> String {
    let mut lines = Vec::new();
    if let Some(description) = &result.description {
        lines.push(format!("# {description}"));
    }
    for message in &result.messages {
        let role = serde_json::to_value(message.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        lines.push(format!("[{role}] {}", content(&message.content)));
    }
    lines.join("\n")
}

/// A task, on one line: its id, status and what the server says of it (made safe to print).
pub fn task(t: &mcpwire::schema::Task) -> String {
    let mut line = format!(
        "task {} {}",
        mcpwire::core::error::sanitize(&t.task_id),
        t.status.as_str()
    );
    if let Some(m) = &t.status_message {
        line.push_str(": ");
        line.push_str(&mcpwire::core::error::sanitize(m));
    }
    line
}
