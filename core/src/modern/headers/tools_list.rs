//! Filtering a `tools/list` result: "Clients using the Streamable HTTP transport MUST reject
//! tool definitions where any `x-mcp-header` value violates these constraints. Rejection
//! means the client MUST exclude the invalid tool from the result of `tools/list`. Clients
//! SHOULD log a warning when rejecting a tool definition, including the tool name and the
//! reason for rejection." (`streamable-http.mdx` §Schema Extension)
//!
//! [`filter_tools_list`] takes the result as JSON text and gives it back with the invalid
//! tools removed, the rejections (for the warnings) and the [`ToolHeaders`] of each kept tool
//! that has annotations; [`ToolHeaderPlans`] keeps those across pages and listings for the
//! `tools/call`s that follow.
//!
//! Cost: a page whose text holds neither `x-mcp-header` nor a `\u` escape (which could spell
//! it) is returned as it came, after two byte searches. Otherwise each tool is searched the
//! same way, and only a tool that may hold an annotation has its `inputSchema` parsed. A page
//! from which nothing is removed is returned as it came; otherwise only the `tools` array is
//! written again, from the kept tools' original text.

use std::collections::BTreeMap;
use std::fmt;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::annotations::{validate_input_schema, InvalidAnnotation, ToolHeaders, X_MCP_HEADER};
use crate::jsonrpc::RawJson;
use crate::modern::raw;

/// A tool left out of a `tools/list` result, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectedTool {
    /// The tool's `name`, if it has a string one.
    pub name: Option<String>,
    /// Why it was rejected.
    pub reason: Rejection,
}

/// Why a tool was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// An `x-mcp-header` annotation breaks a constraint.
    Annotation(InvalidAnnotation),
    /// The tool's text holds `x-mcp-header` but its `inputSchema` could not be read (nested
    /// deeper than `serde_json` reads, a number out of range): it cannot be checked.
    Unreadable(String),
}

impl fmt::Display for RejectedTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "tool {:?} rejected: ", name)?,
            None => f.write_str("tool without a name rejected: ")?,
        }
        match &self.reason {
            Rejection::Annotation(a) => write!(f, "{a}"),
            Rejection::Unreadable(e) => write!(
                f,
                "its inputSchema has x-mcp-header but cannot be read: {}",
                crate::error::sanitize(e)
            ),
        }
    }
}

/// What [`filter_tools_list`] made of one `tools/list` result.
#[derive(Debug)]
#[non_exhaustive]
pub struct FilteredTools {
    /// The result without the rejected tools: every other byte as it came (see the
    /// [module documentation](self)).
    pub result: RawJson,
    /// The tools left out, in the order they were listed.
    pub rejected: Vec<RejectedTool>,
    /// The headers of each kept tool that has annotations, by tool name, in the order listed.
    pub headers: Vec<(String, ToolHeaders)>,
}

/// `true` when `text` may hold an `x-mcp-header` key: the bytes themselves, or a `\u` escape
/// that could spell them.
fn may_hold_annotations(text: &[u8]) -> bool {
    memmem::find(text, X_MCP_HEADER.as_bytes()).is_some() || memmem::find(text, b"\\u").is_some()
}

#[derive(Deserialize)]
struct ToolFields {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default, rename = "inputSchema")]
    input_schema: Option<Value>,
}

/// Removes every tool whose `x-mcp-header` annotations are invalid from a `tools/list`
/// `result` (see the [module documentation](self)).
///
/// It never fails: a text that is not a `tools/list` result (not an object, no `tools`
/// array) comes back as it was, for the result's own decoding to report; so does a tool that
/// is not an object or has no `inputSchema`.
pub fn filter_tools_list(result: RawJson) -> FilteredTools {
    let unchanged = |result| FilteredTools {
        result,
        rejected: Vec::new(),
        headers: Vec::new(),
    };
    if !may_hold_annotations(result.get().as_bytes()) {
        return unchanged(result);
    }
    let text = result.get();
    let Ok(raw::Shape::Object(members)) = raw::shape(text) else {
        return unchanged(result);
    };
    let Some(tools) = members.iter().find(|m| m.key == "tools") else {
        return unchanged(result);
    };
    let tools_text = tools.value.get();
    let Ok(tools) = serde_json::from_str::<Vec<&RawValue>>(tools_text) else {
        return unchanged(result);
    };
    let mut kept: Vec<&str> = Vec::with_capacity(tools.len());
    let mut rejected = Vec::new();
    let mut headers = Vec::new();
    for tool in &tools {
        let tool_text = tool.get();
        if !may_hold_annotations(tool_text.as_bytes()) {
            kept.push(tool_text);
            continue;
        }
        let fields = match serde_json::from_str::<ToolFields>(tool_text) {
            Ok(f) => f,
            Err(e) => {
                if tool_text.trim_start().starts_with('{')
                    && memmem::find(tool_text.as_bytes(), X_MCP_HEADER.as_bytes()).is_some()
                {
                    rejected.push(RejectedTool {
                        name: tool_name_lenient(tool_text),
                        reason: Rejection::Unreadable(e.to_string()),
                    });
                } else {
                    kept.push(tool_text);
                }
                continue;
            }
        };
        let name = match fields.name {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let Some(schema) = fields.input_schema else {
            kept.push(tool_text);
            continue;
        };
        match validate_input_schema(&schema) {
            Ok(h) => {
                if let (false, Some(name)) = (h.is_empty(), &name) {
                    headers.push((name.clone(), h));
                }
                kept.push(tool_text);
            }
            Err(reason) => rejected.push(RejectedTool {
                name,
                reason: Rejection::Annotation(reason),
            }),
        }
    }
    if rejected.is_empty() {
        return FilteredTools {
            result,
            rejected,
            headers,
        };
    }
    let result = splice_tools(text, tools_text, &kept).unwrap_or(result);
    FilteredTools {
        result,
        rejected,
        headers,
    }
}

/// The name of a tool whose schema could not be read, if its `name` can be.
fn tool_name_lenient(tool_text: &str) -> Option<String> {
    let members = raw::members(tool_text).ok()?;
    let name = members.iter().find(|m| m.key == "name")?;
    serde_json::from_str(name.value.get()).ok()
}

/// `text` with its `tools` array (the slice `tools_text`) holding only `kept`.
fn splice_tools(text: &str, tools_text: &str, kept: &[&str]) -> Option<RawJson> {
    let at = raw::offset_in(text, tools_text)?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..at]);
    out.push('[');
    for (i, tool) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(tool);
    }
    out.push(']');
    out.push_str(&text[at + tools_text.len()..]);
    raw::to_raw(out).ok()
}

/// The headers of every tool the client knows, by name, for the `tools/call`s it sends.
///
/// Fed with each `tools/list` page by [`update`](Self::update); a tool it has no entry for
/// gets no `Mcp-Param-*` header (a tool never listed, or one without annotations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolHeaderPlans {
    tools: BTreeMap<String, ToolHeaders>,
}

impl ToolHeaderPlans {
    /// No tool known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one filtered `tools/list` page. `first_page` (the request had no `cursor`)
    /// starts a new listing: what earlier listings said is forgotten, so a tool that lost its
    /// annotations (or was removed) loses its headers. A rejected tool loses its entry.
    pub fn update(&mut self, page: &FilteredTools, first_page: bool) {
        if first_page {
            self.tools.clear();
        }
        for r in &page.rejected {
            if let Some(name) = &r.name {
                self.tools.remove(name);
            }
        }
        for (name, headers) in &page.headers {
            self.tools.insert(name.clone(), headers.clone());
        }
    }

    /// The headers of tool `name`, if it has annotations.
    pub fn get(&self, name: &str) -> Option<&ToolHeaders> {
        self.tools.get(name)
    }

    /// Sets the headers of tool `name` (an application that knows a tool without listing).
    pub fn insert(&mut self, name: impl Into<String>, headers: ToolHeaders) {
        self.tools.insert(name.into(), headers);
    }

    /// Forgets every tool.
    pub fn clear(&mut self) {
        self.tools.clear();
    }

    /// How many tools have headers.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// No tool has headers.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}
