//! `initialize`: who the client and server are and what each can do.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Name and version of an MCP implementation (`Implementation` in the schema).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Fields this version does not know (`description`, `icons`, `websiteUrl`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Implementation {
    /// An implementation called `name` at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Implementation {
            name: name.into(),
            version: version.into(),
            ..Default::default()
        }
    }
}

/// What the client can do (`ClientCapabilities`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientCapabilities {
    /// The client can list roots (`roots/list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<RootsCapability>,
    /// The client can sample (`sampling/createMessage`); the object's fields are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Value>,
    /// The client can elicit (`elicitation/create`); the object's fields are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<Value>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Map<String, Value>>,
    /// Capabilities this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ClientCapabilities {
    /// No capabilities.
    pub fn new() -> Self {
        ClientCapabilities::default()
    }

    /// With `sampling` (`{}`).
    pub fn with_sampling(mut self) -> Self {
        self.sampling = Some(Value::Object(Map::new()));
        self
    }

    /// With `elicitation` (`{}`: form mode, as every revision reads it).
    pub fn with_elicitation(mut self) -> Self {
        self.elicitation = Some(Value::Object(Map::new()));
        self
    }

    /// With `roots`, saying whether the client sends `notifications/roots/list_changed`.
    pub fn with_roots(mut self, list_changed: bool) -> Self {
        self.roots = Some(RootsCapability {
            list_changed: list_changed.then_some(true),
            extra: Map::new(),
        });
        self
    }
}

/// The `roots` client capability.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RootsCapability {
    /// The client sends `notifications/roots/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the server can do (`ServerCapabilities`): each entry kept as open JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    /// Tools, if offered (`listChanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    /// Resources, if offered (`subscribe`, `listChanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Prompts, if offered (`listChanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Value>,
    /// Logging, if offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    /// Argument completion, if offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Value>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Map<String, Value>>,
    /// Capabilities this version does not know (`tasks`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerCapabilities {
    /// Whether the server declared task support for `method` (2025-11-25:
    /// `tasks.requests.tools.call` for `tools/call`).
    pub fn supports_task(&self, method: &str) -> bool {
        let Some((area, verb)) = method.split_once('/') else {
            return false;
        };
        self.extra
            .get("tasks")
            .and_then(|t| t.get("requests"))
            .and_then(|r| r.get(area))
            .and_then(|a| a.get(verb))
            .is_some()
    }

    /// The settings of the extension `id` the server declared under `extensions`, if it did.
    pub fn extension(&self, id: &str) -> Option<&Value> {
        self.extra.get("extensions")?.as_object()?.get(id)
    }
}

/// Parameters of `initialize`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The newest version the client speaks.
    pub protocol_version: String,
    /// What the client can do.
    pub capabilities: ClientCapabilities,
    /// Who the client is.
    pub client_info: Implementation,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Result of `initialize`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The version the server chose.
    pub protocol_version: String,
    /// What the server can do.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Implementation,
    /// How to use the server, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl super::Request for InitializeParams {
    const METHOD: &'static str = "initialize";
    type Result = InitializeResult;
}

/// Who the server is and what it can do, however the protocol revision learned it (the
/// 2025-era `initialize` result today; `server/discover` in the 2026-07-28 revision).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServerInfo {
    /// The protocol revision the session speaks with it.
    pub protocol_version: String,
    /// What the server can do.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Implementation,
    /// How to use the server, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Fields of the revision's answer that this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<InitializeResult> for ServerInfo {
    fn from(r: InitializeResult) -> Self {
        ServerInfo {
            protocol_version: r.protocol_version,
            capabilities: r.capabilities,
            server_info: r.server_info,
            instructions: r.instructions,
            extra: r.extra,
        }
    }
}
