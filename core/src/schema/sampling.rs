//! Sampling: the server asks the client's model for a message (`sampling/createMessage`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::typed_content;
use super::{AudioContent, ContentBlock, ImageContent, Meta, OneOrMany, Role, TextContent, Tool};

typed_content! {
    /// A piece of a sampling message (`SamplingMessageContentBlock`), by its `"type"`.
    ///
    /// Decoding never fails: a block of a new type is kept as [`SamplingContent::Unknown`].
    pub enum SamplingContent {
        /// Text (`"text"`).
        Text(TextContent) = "text",
        /// An image (`"image"`).
        Image(ImageContent) = "image",
        /// Audio (`"audio"`).
        Audio(AudioContent) = "audio",
        /// The model calls a tool (`"tool_use"`, since 2025-11-25).
        ToolUse(ToolUseContent) = "tool_use",
        /// A tool's result, given back to the model (`"tool_result"`, since 2025-11-25).
        ToolResult(ToolResultContent) = "tool_result",
    }
}

impl SamplingContent {
    /// A text block holding `text`.
    pub fn text(text: impl Into<String>) -> Self {
        SamplingContent::Text(TextContent::new(text))
    }
}

/// The model's call of a tool (`ToolUseContent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseContent {
    /// Identifies this call; the matching result carries it as `toolUseId`.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments.
    pub input: Map<String, Value>,
    /// The block's `_meta` (to be kept when the block is sent back).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool's result given back to the model (`ToolResultContent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultContent {
    /// The `id` of the tool use this answers.
    pub tool_use_id: String,
    /// The unstructured result.
    pub content: Vec<ContentBlock>,
    /// The structured result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// The tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// The block's `_meta` (to be kept when the block is sent back).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message to or from the model (`SamplingMessage`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingMessage {
    /// Who says it.
    pub role: Role,
    /// What is said: one block, or (since 2025-11-25) an array of them.
    pub content: OneOrMany<SamplingContent>,
    /// The message's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The server's model preferences, all advisory (`ModelPreferences`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPreferences {
    /// Model name hints, to be tried in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<Vec<ModelHint>>,
    /// How much cost matters, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_priority: Option<f64>,
    /// How much speed matters, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_priority: Option<f64>,
    /// How much capability matters, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intelligence_priority: Option<f64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A hint for choosing a model (`ModelHint`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelHint {
    /// A substring of a model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Keys the schema leaves to the client to interpret.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which servers' context to add to the prompt (`includeContext`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IncludeContext {
    /// No context (the default).
    #[default]
    None,
    /// Context from the asking server (soft-deprecated since 2025-11-25).
    ThisServer,
    /// Context from every server (soft-deprecated since 2025-11-25).
    AllServers,
}

/// Parameters of `sampling/createMessage` (server → client).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageParams {
    /// The conversation so far.
    pub messages: Vec<SamplingMessage>,
    /// Which model the server would like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_preferences: Option<ModelPreferences>,
    /// The system prompt the server would like; the client may change or drop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Which servers' context to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_context: Option<IncludeContext>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The most tokens to sample.
    pub max_tokens: u64,
    /// Sequences that end sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Provider-specific metadata to pass through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Tools the model may use (since 2025-11-25; needs the `sampling.tools` capability).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// How the model may use the tools (`{"mode": "auto" | "required" | "none"}`), kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// The request's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (`task`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Result of `sampling/createMessage` (client → server).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateMessageResult {
    /// Who says it (normally the assistant).
    pub role: Role,
    /// What the model produced.
    pub content: OneOrMany<SamplingContent>,
    /// The model that produced it.
    pub model: String,
    /// Why sampling stopped: `endTurn`, `stopSequence`, `maxTokens`, `toolUse` or any
    /// provider-specific string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CreateMessageResult {
    /// The assistant's answer `content`, produced by `model`, with no stop reason.
    pub fn new(model: impl Into<String>, content: SamplingContent) -> Self {
        CreateMessageResult {
            role: Role::Assistant,
            content: OneOrMany::One(content),
            model: model.into(),
            stop_reason: None,
            meta: None,
            extra: Map::new(),
        }
    }

    /// The assistant's answer as text, produced by `model`, ending its turn.
    pub fn text(model: impl Into<String>, text: impl Into<String>) -> Self {
        CreateMessageResult::new(model, SamplingContent::text(text))
            .with_stop_reason(stop_reason::END_TURN)
    }

    /// With this `stopReason` (see [`stop_reason`]).
    pub fn with_stop_reason(mut self, reason: impl Into<String>) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }
}

/// The `stopReason` values the schema names.
pub mod stop_reason {
    /// The model ended its turn.
    pub const END_TURN: &str = "endTurn";
    /// A stop sequence was produced.
    pub const STOP_SEQUENCE: &str = "stopSequence";
    /// `maxTokens` was reached.
    pub const MAX_TOKENS: &str = "maxTokens";
    /// The model wants to use tools.
    pub const TOOL_USE: &str = "toolUse";
}
