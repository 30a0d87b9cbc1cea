//! Tools: `tools/list` and `tools/call`.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{methods, ContentBlock, Icon, Meta};

/// A tool the server offers (`Tool`).
///
/// The schemas are kept verbatim: `$schema`, `$defs`, `additionalProperties` and any keyword
/// this crate does not know survive a round trip.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Programmatic name: what `tools/call` takes.
    pub name: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (2020-12 unless `$schema` says otherwise).
    pub input_schema: Value,
    /// JSON Schema of `structuredContent` in the tool's results, if declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Hints about the tool's behaviour (untrusted unless the server is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Icons for a user interface (since 2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Execution properties (`taskSupport`, since 2025-11-25), kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Value>,
    /// The tool's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tool {
    /// The name to show: `title`, else `annotations.title`, else `name`.
    pub fn display_name(&self) -> &str {
        self.title
            .as_deref()
            .or_else(|| self.annotations.as_ref().and_then(|a| a.title.as_deref()))
            .unwrap_or(&self.name)
    }
}

/// Hints about a tool's behaviour (`ToolAnnotations`); never to be trusted from an untrusted
/// server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may destroy data (default true; meaningful when not read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool reaches an open world of external entities (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Parameters of `tools/list`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListToolsParams {
    /// Where to continue from; `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The request's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Result of `tools/list`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// The tools on this page.
    pub tools: Vec<Tool>,
    /// The cursor for the next page, if there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl super::Request for ListToolsParams {
    const METHOD: &'static str = methods::TOOLS_LIST;
    type Result = ListToolsResult;
}

super::paginated!(ListToolsParams => ListToolsResult, tools: Tool);

/// Parameters of `tools/call`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallToolParams {
    /// The tool's name.
    pub name: String,
    /// The arguments, matching the tool's input schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Map<String, Value>>,
    /// The request's `_meta` (`progressToken`, ...).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (`task`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CallToolParams {
    /// Calls `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: Map<String, Value>) -> Self {
        CallToolParams {
            name: name.into(),
            arguments: Some(arguments),
            ..Default::default()
        }
    }
}

impl super::Request for CallToolParams {
    const METHOD: &'static str = methods::TOOLS_CALL;
    type Result = CallToolResult;
}

/// Result of `tools/call`.
///
/// A tool that failed reports it here with `is_error: Some(true)`, not as a JSON-RPC error.
///
/// Decoded in one pass (by hand, as `#[serde(flatten)]` would but without buffering every
/// field first): the hot path of every call.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// The unstructured result.
    ///
    /// Required by the schema, but a missing array decodes as empty: some servers omit it
    /// when they return `structuredContent`.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// The structured result: an object that should match the tool's output schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// The tool failed (absent means false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for CallToolResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};

        struct ResultVisitor;
        impl<'de> Visitor<'de> for ResultVisitor {
            type Value = CallToolResult;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a tools/call result")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CallToolResult, A::Error> {
                let mut content = None;
                let mut structured_content = None;
                let mut is_error = None;
                let mut meta = None;
                let mut extra = Map::new();
                while let Some(super::decode::Key(key)) = map.next_key()? {
                    match &*key {
                        "content" if content.is_some() => {
                            return Err(A::Error::duplicate_field("content"))
                        }
                        "content" => content = Some(map.next_value()?),
                        "structuredContent" if structured_content.is_some() => {
                            return Err(A::Error::duplicate_field("structuredContent"))
                        }
                        "structuredContent" => structured_content = Some(map.next_value()?),
                        "isError" if is_error.is_some() => {
                            return Err(A::Error::duplicate_field("isError"))
                        }
                        "isError" => is_error = Some(map.next_value()?),
                        "_meta" if meta.is_some() => {
                            return Err(A::Error::duplicate_field("_meta"))
                        }
                        "_meta" => meta = Some(map.next_value()?),
                        _ => drop(extra.insert(key.into_owned(), map.next_value()?)),
                    }
                }
                Ok(CallToolResult {
                    content: content.unwrap_or_default(),
                    structured_content: structured_content.flatten(),
                    is_error: is_error.flatten(),
                    meta: meta.flatten(),
                    extra,
                })
            }
        }
        deserializer.deserialize_map(ResultVisitor)
    }
}

impl CallToolResult {
    /// The tool reported a failure (`isError: true`).
    pub fn is_error(&self) -> bool {
        self.is_error.unwrap_or(false)
    }

    /// The text of the result: its text blocks, in order, joined by newlines (other blocks
    /// are left out; no text block gives an empty string).
    ///
    /// ```
    /// # use mcpwire_core::schema::{CallToolResult, ContentBlock, TextContent};
    /// let mut result = CallToolResult::default();
    /// result.content = vec![
    ///     ContentBlock::Text(TextContent::new("Echo: hi")),
    ///     ContentBlock::Text(TextContent::new("again")),
    /// ];
    /// assert_eq!(result.text(), "Echo: hi\nagain");
    /// ```
    pub fn text(&self) -> String {
        let mut texts = self.content.iter().filter_map(|block| match block {
            ContentBlock::Text(t) => Some(t.text.as_str()),
            _ => None,
        });
        let mut out = texts.next().unwrap_or_default().to_owned();
        for text in texts {
            out.push('\n');
            out.push_str(text);
        }
        out
    }

    /// `structuredContent` as the caller's type: [`StructuredError::Absent`] if the result
    /// has none, [`StructuredError::Invalid`] if it does not deserialize as `T`.
    ///
    /// ```
    /// # use mcpwire_core::schema::{CallToolResult, StructuredError};
    /// #[derive(serde::Deserialize)]
    /// struct Weather {
    ///     temperature: f64,
    /// }
    /// let mut result = CallToolResult::default();
    /// assert!(matches!(result.structured::<Weather>(), Err(StructuredError::Absent)));
    /// result.structured_content = Some(serde_json::json!({ "temperature": 21.5 }));
    /// assert_eq!(result.structured::<Weather>().unwrap().temperature, 21.5);
    /// ```
    pub fn structured<T: serde::de::DeserializeOwned>(&self) -> Result<T, StructuredError> {
        let value = self
            .structured_content
            .as_ref()
            .ok_or(StructuredError::Absent)?;
        T::deserialize(value).map_err(|e| StructuredError::Invalid(Arc::new(e)))
    }
}

/// Why [`CallToolResult::structured`] gave no value.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StructuredError {
    /// The result has no `structuredContent`.
    Absent,
    /// `structuredContent` does not deserialize as the type asked for.
    Invalid(Arc<serde_json::Error>),
}

impl std::fmt::Display for StructuredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StructuredError::Absent => f.write_str("the tool result has no structuredContent"),
            StructuredError::Invalid(e) => {
                write!(f, "the tool result's structuredContent does not fit: {e}")
            }
        }
    }
}

impl std::error::Error for StructuredError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StructuredError::Absent => None,
            StructuredError::Invalid(e) => Some(&**e),
        }
    }
}
