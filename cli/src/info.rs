//! `mcpwire info <SERVER>`: who the server is (name, title, version), the protocol revision
//! spoken with it, its capabilities and its instructions.

use mcpwire::schema::ServerInfo;
use serde_json::Value;

use crate::connect::{with_client, ServerArgs};
use crate::exit::Failure;
use crate::{print, Common};

/// `mcpwire info`.
pub async fn info(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    with_client(common, server.target()?, |c| async move {
        let server = c.client.server();
        if common.json {
            c.print_json(server)?;
        } else {
            print::out(&describe(server))?;
        }
        Ok(())
    })
    .await
}

/// The server for people, one field a line.
fn describe(server: &ServerInfo) -> String {
    let who = &server.server_info;
    let mut lines = vec![format!("server        {}", who.name)];
    if let Some(title) = who.title.as_deref().filter(|t| *t != who.name) {
        lines.push(format!("title         {title}"));
    }
    lines.push(format!("version       {}", who.version));
    lines.push(format!("revision      {}", server.protocol_version));
    let capabilities = serde_json::to_value(&server.capabilities).unwrap_or(Value::Null);
    lines.push(format!(
        "capabilities  {}",
        capabilities_line(&capabilities)
    ));
    if let Some(instructions) = server.instructions.as_deref().map(str::trim) {
        if !instructions.is_empty() {
            lines.push("instructions".into());
            lines.extend(instructions.lines().map(|l| match l.trim_end() {
                "" => String::new(),
                l => format!("  {l}"),
            }));
        }
    }
    lines.join("\n")
}

/// `tools (listChanged), resources (subscribe, listChanged), logging`: each capability, with
/// the flags it sets to true.
fn capabilities_line(capabilities: &Value) -> String {
    let Some(map) = capabilities.as_object().filter(|m| !m.is_empty()) else {
        return "none".into();
    };
    map.iter()
        .map(|(name, value)| {
            let flags: Vec<&str> = value
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| **v == Value::Bool(true) || name == "experimental")
                .map(|(k, _)| k.as_str())
                .collect();
            match flags.is_empty() {
                true => name.clone(),
                false => format!("{name} ({})", flags.join(", ")),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_show_their_true_flags() {
        let c = json!({
            "tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": false},
            "logging": {},
            "experimental": {"tasks": {}},
        });
        let mut shown: Vec<String> = capabilities_line(&c)
            .split(", ")
            .map(str::to_owned)
            .collect();
        shown.sort();
        assert_eq!(
            shown,
            [
                "experimental (tasks)",
                "logging",
                "resources (subscribe)",
                "tools (listChanged)"
            ]
        );
        assert_eq!(capabilities_line(&json!({})), "none");
    }
}
