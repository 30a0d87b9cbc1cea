//! `x-mcp-header`: tool arguments a server wants mirrored into `Mcp-Param-{Name}` headers
//! (`streamable-http.mdx` §Custom Headers from Tool Parameters; `tools.mdx` §x-mcp-header).
//!
//! [`validate_input_schema`] checks every annotation of a tool's `inputSchema` against the
//! spec's constraints and returns the tool's [`ToolHeaders`]: which argument (a path of
//! property names) goes into which header. [`ToolHeaders::headers`] then makes the headers of
//! one call from its arguments.
//!
//! The constraints, verbatim: the value "MUST NOT be empty"; "MUST match HTTP field-name token
//! syntax (`1*tchar`, RFC 9110 Section 5.1)"; "MUST NOT contain control characters"; "MUST be
//! case-insensitively unique among all `x-mcp-header` values in the `inputSchema`"; "MUST only
//! be applied to parameters with primitive types (integer, string, boolean). Parameters with
//! type `number` are not permitted"; "MUST only be applied to properties that are _statically
//! reachable_ from the schema root: reachable via a chain consisting solely of `properties`
//! keys. The chain MUST NOT pass through `items` (or any other array keyword), composition
//! keywords (`oneOf`, `anyOf`, `allOf`, `not`), conditional keywords (`if`/`then`/`else`), or
//! `$ref`. [...] An `x-mcp-header` annotation anywhere else makes the annotation — and thus
//! the tool definition — invalid."
//!
//! What this module decides where the spec is silent:
//!
//! - **Types.** An annotated property must have `"type"` equal to exactly `"string"`,
//!   `"integer"` or `"boolean"`. A missing `type` (`$ref`, `enum`/`const` only, composition)
//!   and every type array (even `["string"]` or `["string", "null"]`) are rejected: the
//!   client cannot know the value is a primitive.
//! - **Where an annotation is looked for.** The whole schema is walked. At a reachable
//!   position the keys of `properties` are property names and their values the next step of
//!   the chain. Everywhere else every object is read as a schema, so an `x-mcp-header` key in
//!   it rejects the tool — under `items`, `prefixItems`, `additionalProperties`, `allOf`,
//!   `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `$defs`, `definitions`,
//!   `dependentSchemas`, `patternProperties`, and any keyword this module does not know. The
//!   keys of the maps of schemas (`properties`, `patternProperties`, `$defs`, `definitions`,
//!   `dependentSchemas`, `dependencies`) are names, never annotations (a property may be
//!   called `x-mcp-header`). The instance data of `const`, `enum`, `default` and `examples`
//!   is not schema and is not searched.
//! - **The root.** An annotation on the root schema is rejected: it is no property.
//! - **Values.** At call time a value is converted by its own JSON type (see
//!   [`encode_json`]); an integer outside ±(2^53−1), a fraction, an object or an array is an
//!   error for the caller (the tool stays valid).

use std::collections::BTreeSet;
use std::fmt;

use http::{HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::encoding::{encode_json, ValueError};

/// The prefix of every custom header: `Mcp-Param-` (lowercase, as [`HeaderName`] holds it).
pub const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// The schema keyword that names a header.
pub const X_MCP_HEADER: &str = "x-mcp-header";

/// The type of an annotated property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// `"type": "string"`.
    String,
    /// `"type": "integer"`.
    Integer,
    /// `"type": "boolean"`.
    Boolean,
}

/// One annotated argument: where it is and which header carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamHeader {
    /// The property names from the arguments object to the value (`["region"]`, or
    /// `["location", "region"]` for a nested object's property).
    pub path: Vec<String>,
    /// The `x-mcp-header` value as the schema wrote it (`"Region"`).
    pub name: String,
    /// The header: `mcp-param-region`.
    pub header: HeaderName,
    /// The property's declared type.
    pub kind: ParamType,
}

/// The custom headers of one tool: what [`validate_input_schema`] found in its
/// `inputSchema`. Empty for a tool without annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolHeaders {
    params: Vec<ParamHeader>,
}

/// Why a tool's `x-mcp-header` annotations make it invalid. `at` is the JSON Pointer, in the
/// `inputSchema`, of the schema object holding the annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidAnnotation {
    /// The annotation is not a string.
    NotAString {
        /// Where.
        at: String,
    },
    /// The annotation is the empty string.
    Empty {
        /// Where.
        at: String,
    },
    /// The name has a control character (CR, LF, TAB, DEL, ...).
    ControlCharacter {
        /// Where.
        at: String,
        /// The name.
        name: String,
    },
    /// The name has a character that is not an RFC 9110 `tchar` (a space, `:`, `/`,
    /// non-ASCII, ...).
    InvalidCharacter {
        /// Where.
        at: String,
        /// The name.
        name: String,
    },
    /// `Mcp-Param-{name}` is too long to be a header name.
    TooLong {
        /// Where.
        at: String,
    },
    /// Two annotations name the same header, ignoring case.
    Duplicate {
        /// Where the second one is.
        at: String,
        /// The name.
        name: String,
    },
    /// The annotated property is not of type `string`, `integer` or `boolean`.
    NotPrimitive {
        /// Where.
        at: String,
        /// The name.
        name: String,
        /// The `type` found, as JSON text, or `missing`.
        found: String,
    },
    /// The annotation is not on a property reachable from the root through `properties`
    /// alone (under `items`, `anyOf`, `$defs`, ..., or on the root itself).
    Unreachable {
        /// Where.
        at: String,
    },
}

impl InvalidAnnotation {
    /// The JSON Pointer of the annotated schema.
    pub fn at(&self) -> &str {
        match self {
            InvalidAnnotation::NotAString { at }
            | InvalidAnnotation::Empty { at }
            | InvalidAnnotation::ControlCharacter { at, .. }
            | InvalidAnnotation::InvalidCharacter { at, .. }
            | InvalidAnnotation::TooLong { at }
            | InvalidAnnotation::Duplicate { at, .. }
            | InvalidAnnotation::NotPrimitive { at, .. }
            | InvalidAnnotation::Unreachable { at } => at,
        }
    }
}

impl fmt::Display for InvalidAnnotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |at: &str| crate::error::sanitize(if at.is_empty() { "the root" } else { at });
        // Names come from the server: shown with escapes, never raw.
        match self {
            InvalidAnnotation::NotAString { at: p } => {
                write!(f, "x-mcp-header at {} is not a string", at(p))
            }
            InvalidAnnotation::Empty { at: p } => write!(f, "x-mcp-header at {} is empty", at(p)),
            InvalidAnnotation::ControlCharacter { at: p, name } => write!(
                f,
                "x-mcp-header {name:?} at {} has a control character",
                at(p)
            ),
            InvalidAnnotation::InvalidCharacter { at: p, name } => write!(
                f,
                "x-mcp-header {name:?} at {} is not an HTTP token (1*tchar)",
                at(p)
            ),
            InvalidAnnotation::TooLong { at: p } => {
                write!(f, "x-mcp-header at {} is too long for a header name", at(p))
            }
            InvalidAnnotation::Duplicate { at: p, name } => write!(
                f,
                "x-mcp-header {name:?} at {} repeats another (case-insensitively)",
                at(p)
            ),
            InvalidAnnotation::NotPrimitive { at: p, name, found } => write!(
                f,
                "x-mcp-header {name:?} at {} is on a property of type {}, not string, integer or boolean",
                at(p),
                crate::error::sanitize(found)
            ),
            InvalidAnnotation::Unreachable { at: p } => write!(
                f,
                "x-mcp-header at {} is not on a property reachable through `properties` alone",
                at(p)
            ),
        }
    }
}

impl std::error::Error for InvalidAnnotation {}

/// Why the headers of a call could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamError {
    /// An annotated argument's value cannot be mirrored.
    Value {
        /// The header it was for.
        header: HeaderName,
        /// The argument's path.
        path: Vec<String>,
        /// Why.
        error: ValueError,
    },
    /// The arguments are not readable JSON (only with a hand-made [`RawValue`], or nesting
    /// deeper than `serde_json` reads).
    Arguments(String),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Value {
                header,
                path,
                error,
            } => write!(
                f,
                "argument {} cannot go into header {header}: {error}",
                crate::error::sanitize(&path.join("."))
            ),
            ParamError::Arguments(e) => write!(f, "tool arguments are not readable JSON: {e}"),
        }
    }
}

impl std::error::Error for ParamError {}

/// An RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Appends `/key` to a JSON Pointer (RFC 6901: `~` as `~0`, `/` as `~1`).
fn push_token(out: &mut String, key: &str) {
    out.push('/');
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// The header for annotation `name` (checked to be `1*tchar`).
fn param_header_name(name: &str) -> Option<HeaderName> {
    let mut bytes = Vec::with_capacity(PARAM_HEADER_PREFIX.len() + name.len());
    bytes.extend_from_slice(PARAM_HEADER_PREFIX.as_bytes());
    bytes.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
    HeaderName::from_bytes(&bytes).ok()
}

/// Keywords whose value is a map from names to schemas: the keys are never annotations.
const SCHEMA_MAPS: &[&str] = &[
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];

/// Keywords whose value is instance data, not schema.
const INSTANCE_DATA: &[&str] = &["const", "enum", "default", "examples"];

/// One step from the root to a value: the key (or array index) and the step before it.
struct Crumb<'a> {
    parent: Option<usize>,
    key: Step<'a>,
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The keys from the root to `at` (an index into `crumbs`), root first.
fn steps<'c, 'a>(crumbs: &'c [Crumb<'a>], at: Option<usize>) -> Vec<&'c Step<'a>> {
    let mut out = Vec::new();
    let mut at = at;
    while let Some(i) = at {
        out.push(&crumbs[i].key);
        at = crumbs[i].parent;
    }
    out.reverse();
    out
}

/// The JSON Pointer of `at`.
fn pointer_of(crumbs: &[Crumb<'_>], at: Option<usize>) -> String {
    let mut out = String::new();
    for s in steps(crumbs, at) {
        match s {
            Step::Key(k) => push_token(&mut out, k),
            Step::Index(i) => push_token(&mut out, &i.to_string()),
        }
    }
    out
}

/// The property names of the reachable schema `at`: its chain is `properties`, a name,
/// `properties`, a name, ...; the names are every second step.
fn path_of(crumbs: &[Crumb<'_>], at: Option<usize>) -> Vec<String> {
    steps(crumbs, at)
        .into_iter()
        .skip(1)
        .step_by(2)
        .map(|s| match s {
            Step::Key(k) => (*k).to_owned(),
            Step::Index(i) => i.to_string(),
        })
        .collect()
}

/// Checks every `x-mcp-header` annotation of a tool's `inputSchema` and returns the tool's
/// headers, or the first reason the tool is invalid (see the [module documentation](self)).
///
/// The walk is iterative and linear in the size of the schema: a schema nested deeper than
/// the stack would allow does not overflow it, and paths are only written out for
/// annotations and errors.
pub fn validate_input_schema(schema: &Value) -> Result<ToolHeaders, InvalidAnnotation> {
    let mut params: Vec<ParamHeader> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut crumbs: Vec<Crumb<'_>> = Vec::new();
    // (value, reachable through `properties` alone, where it is)
    let mut stack: Vec<(&Value, bool, Option<usize>)> = vec![(schema, true, None)];
    let mut next = Vec::new();
    while let Some((value, reachable, at)) = stack.pop() {
        let obj = match value {
            Value::Object(obj) => obj,
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    crumbs.push(Crumb {
                        parent: at,
                        key: Step::Index(i),
                    });
                    stack.push((item, false, Some(crumbs.len() - 1)));
                }
                continue;
            }
            _ => continue,
        };
        if let Some(name) = obj.get(X_MCP_HEADER) {
            if !reachable || at.is_none() {
                return Err(InvalidAnnotation::Unreachable {
                    at: pointer_of(&crumbs, at),
                });
            }
            let param = annotation(
                obj,
                name,
                || path_of(&crumbs, at),
                || pointer_of(&crumbs, at),
            )?;
            if !seen.insert(param.header.as_str().to_owned()) {
                return Err(InvalidAnnotation::Duplicate {
                    at: pointer_of(&crumbs, at),
                    name: param.name,
                });
            }
            params.push(param);
        }
        // Pushed in reverse so that the walk visits keys in order (the first problem found
        // is the first in the document's key order).
        for (key, sub) in obj {
            let key = key.as_str();
            if key == X_MCP_HEADER || INSTANCE_DATA.contains(&key) {
                continue;
            }
            crumbs.push(Crumb {
                parent: at,
                key: Step::Key(key),
            });
            let here = Some(crumbs.len() - 1);
            match sub {
                Value::Object(map) if key == "properties" || SCHEMA_MAPS.contains(&key) => {
                    // The keys are names; `properties` of a reachable schema keeps the chain.
                    let chain = reachable && key == "properties";
                    for (name, sub) in map {
                        crumbs.push(Crumb {
                            parent: here,
                            key: Step::Key(name),
                        });
                        next.push((sub, chain, Some(crumbs.len() - 1)));
                    }
                }
                _ => next.push((sub, false, here)),
            }
        }
        stack.extend(next.drain(..).rev());
    }
    Ok(ToolHeaders { params })
}

/// Checks the annotation `name` of the reachable property `obj` at `path`.
fn annotation(
    obj: &Map<String, Value>,
    name: &Value,
    path: impl FnOnce() -> Vec<String>,
    at: impl Fn() -> String,
) -> Result<ParamHeader, InvalidAnnotation> {
    let Value::String(name) = name else {
        return Err(InvalidAnnotation::NotAString { at: at() });
    };
    if name.is_empty() {
        return Err(InvalidAnnotation::Empty { at: at() });
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidAnnotation::ControlCharacter {
            at: at(),
            name: name.clone(),
        });
    }
    if !name.bytes().all(is_tchar) {
        return Err(InvalidAnnotation::InvalidCharacter {
            at: at(),
            name: name.clone(),
        });
    }
    let kind = match obj.get("type") {
        Some(Value::String(t)) if t == "string" => Some(ParamType::String),
        Some(Value::String(t)) if t == "integer" => Some(ParamType::Integer),
        Some(Value::String(t)) if t == "boolean" => Some(ParamType::Boolean),
        _ => None,
    };
    let Some(kind) = kind else {
        let found = obj
            .get("type")
            .map_or_else(|| "missing".to_owned(), Value::to_string);
        return Err(InvalidAnnotation::NotPrimitive {
            at: at(),
            name: name.clone(),
            found,
        });
    };
    let header = param_header_name(name).ok_or_else(|| InvalidAnnotation::TooLong { at: at() })?;
    Ok(ParamHeader {
        path: path(),
        name: name.clone(),
        header,
        kind,
    })
}

impl ToolHeaders {
    /// No annotated argument.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The annotated arguments, in the schema's order.
    pub fn params(&self) -> &[ParamHeader] {
        &self.params
    }

    /// The `Mcp-Param-*` headers of a call with `arguments` (the `arguments` of `tools/call`;
    /// `None` when the call has none).
    ///
    /// "Header extraction is defined as reading the instance value at the exact property path
    /// of the annotated property [...]. If no value is present at that path in the call
    /// arguments, the header is omitted." A `null` value is omitted too; a value that cannot
    /// be mirrored (see [`encode_json`]) is an error, and the call should not be sent.
    pub fn headers(
        &self,
        arguments: Option<&Value>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ParamError> {
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let mut value = arguments;
            for key in &p.path {
                value = value.and_then(Value::as_object).and_then(|o| o.get(key));
            }
            let Some(value) = value else { continue };
            match encode_json(value) {
                Ok(Some(v)) => out.push((p.header.clone(), v)),
                Ok(None) => {}
                Err(error) => {
                    return Err(ParamError::Value {
                        header: p.header.clone(),
                        path: p.path.clone(),
                        error,
                    })
                }
            }
        }
        Ok(out)
    }

    /// [`headers`](Self::headers) of arguments kept as JSON text; they are parsed only when
    /// the tool has annotations.
    pub fn headers_raw(
        &self,
        arguments: Option<&RawValue>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ParamError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let arguments: Option<Value> = arguments
            .map(|a| serde_json::from_str(a.get()))
            .transpose()
            .map_err(|e| ParamError::Arguments(e.to_string()))?;
        self.headers(arguments.as_ref())
    }
}
