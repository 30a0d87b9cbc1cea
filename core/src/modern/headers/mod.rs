//! The HTTP headers of this revision (`streamable-http.mdx` §Request Metadata): the request's
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`, and the `Mcp-Param-{Name}` headers a
//! tool's `x-mcp-header` annotations ask for.
//!
//! | Header | Value | On |
//! |---|---|---|
//! | `MCP-Protocol-Version` | `_meta["io.modelcontextprotocol/protocolVersion"]` | every POST |
//! | `Mcp-Method` | `method` | every request |
//! | `Mcp-Name` | `params.name` / `params.uri` / `params.taskId` | `tools/call`, `prompts/get` / `resources/read` / `tasks/get`, `tasks/update`, `tasks/cancel` |
//! | `Mcp-Param-{Name}` | the annotated argument | `tools/call` of a tool with `x-mcp-header` |
//!
//! - [`encoding`]: plain or `=?base64?...?=` ([`encode`], [`decode`], [`encode_json`]);
//! - [`annotations`]: [`validate_input_schema`] → [`ToolHeaders`] → [`ToolHeaders::headers`];
//! - [`tools_list`]: [`filter_tools_list`] → [`FilteredTools`], kept in [`ToolHeaderPlans`];
//! - one call for the session: [`request_headers`].

pub mod annotations;
pub mod encoding;
pub mod tools_list;

#[cfg(test)]
mod tests;

use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use annotations::{
    validate_input_schema, InvalidAnnotation, ParamError, ParamHeader, ParamType, ToolHeaders,
    PARAM_HEADER_PREFIX, X_MCP_HEADER,
};
pub use encoding::{
    decode, decode_str, encode, encode_json, encode_str, needs_base64, DecodeError, ValueError,
    BASE64_PREFIX, BASE64_SUFFIX, MAX_SAFE_INTEGER,
};
pub use tools_list::{filter_tools_list, FilteredTools, RejectedTool, Rejection, ToolHeaderPlans};

use crate::modern::methods::{TASKS_CANCEL, TASKS_GET, TASKS_UPDATE};
use crate::schema::methods;

/// `MCP-Protocol-Version`.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Method`.
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`.
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The params field whose value `Mcp-Name` carries for `method`, if it has one: `name` for
/// `tools/call` and `prompts/get`, `uri` for `resources/read`, `taskId` for the tasks
/// extension's `tasks/get`, `tasks/update` and `tasks/cancel`.
pub fn name_field(method: &str) -> Option<&'static str> {
    match method {
        methods::TOOLS_CALL | methods::PROMPTS_GET => Some("name"),
        methods::RESOURCES_READ => Some("uri"),
        TASKS_GET | TASKS_UPDATE | TASKS_CANCEL => Some("taskId"),
        _ => None,
    }
}

/// Why a request's headers could not be made. The request should not be sent: a server
/// would answer `HeaderMismatch` (or the body is not what the method needs).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The method needs `Mcp-Name`, but its params have no string at `field`.
    MissingName {
        /// The method.
        method: String,
        /// The params field (`name`, `uri`, `taskId`).
        field: &'static str,
    },
    /// The params are not a readable JSON object.
    Params(String),
    /// A `Mcp-Param-*` header could not be made.
    Param(ParamError),
    /// The protocol version is not a valid header value.
    ProtocolVersion,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::MissingName { method, field } => write!(
                f,
                "{} needs the Mcp-Name header, but params.{field} is not a string",
                crate::error::sanitize(method)
            ),
            HeaderError::Params(e) => write!(f, "request params are not a JSON object: {e}"),
            HeaderError::Param(e) => write!(f, "{e}"),
            HeaderError::ProtocolVersion => {
                f.write_str("the protocol version is not a valid header value")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

impl From<ParamError> for HeaderError {
    fn from(e: ParamError) -> Self {
        HeaderError::Param(e)
    }
}

/// The fields of a request's params that headers come from; every other field is skipped
/// without being kept.
#[derive(Deserialize)]
struct HeaderFields<'a> {
    #[serde(default, borrow)]
    name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    uri: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "taskId")]
    task_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
}

/// The `MCP-Protocol-Version` header's value.
pub fn protocol_version_header(version: &str) -> Result<HeaderValue, HeaderError> {
    HeaderValue::from_str(version).map_err(|_| HeaderError::ProtocolVersion)
}

/// The headers a request of this revision carries besides `MCP-Protocol-Version` (which the
/// transport sets from [`RequestMeta::protocol_version`](crate::modern::RequestMeta::protocol_version)):
///
/// - `Mcp-Method`: the method, with the same encoding as `Mcp-Name` (the spec defines the
///   encoding for `Mcp-Name` and `Mcp-Param-*` only; a method is always plain ASCII in
///   practice, and one that is not could not be sent as is);
/// - `Mcp-Name` for the methods of [`name_field`], encoded (see [`encode`]);
/// - for `tools/call`, the `Mcp-Param-*` headers of the tool named in `params.name`, if
///   `tools` has headers for it.
///
/// `params` are the request's params (with or without `_meta`).
pub fn request_headers(
    method: &str,
    params: Option<&RawValue>,
    tools: &ToolHeaderPlans,
) -> Result<Vec<(HeaderName, HeaderValue)>, HeaderError> {
    let mut out = vec![(MCP_METHOD, encode(method))];
    let Some(field) = name_field(method) else {
        return Ok(out);
    };
    let missing = || HeaderError::MissingName {
        method: method.to_owned(),
        field,
    };
    let params = params.ok_or_else(missing)?;
    if !params.get().trim_start().starts_with('{') {
        return Err(HeaderError::Params("not an object".into()));
    }
    let fields: HeaderFields<'_> =
        serde_json::from_str(params.get()).map_err(|e| HeaderError::Params(e.to_string()))?;
    let source = match field {
        "name" => fields.name,
        "uri" => fields.uri,
        _ => fields.task_id,
    };
    let name: String = source
        .and_then(|s| serde_json::from_str(s.get()).ok())
        .ok_or_else(missing)?;
    out.push((MCP_NAME, encode(&name)));
    if method == methods::TOOLS_CALL {
        if let Some(plan) = tools.get(&name) {
            out.extend(plan.headers_raw(fields.arguments)?);
        }
    }
    Ok(out)
}
