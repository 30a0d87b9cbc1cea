//! The JSON-RPC errors this revision defines (`basic/index.mdx` §Error Codes; `schema.ts`),
//! recognised from an [`ErrorObject`].
//!
//! | Code | Name | `data` | HTTP |
//! |---|---|---|---|
//! | `-32020` | `HeaderMismatch` | none | 400 |
//! | `-32021` | `MissingRequiredClientCapability` | `{ requiredCapabilities: ClientCapabilities }` | 400 |
//! | `-32022` | `UnsupportedProtocolVersion` | `{ supported: string[], requested: string }` | 400 |
//!
//! These three are what "a recognized modern JSON-RPC error" means for era detection
//! ([`is_modern_error`]): "a recognized modern JSON-RPC error (such as
//! `UnsupportedProtocolVersionError`) identifies a modern server: the client retries with a
//! supported version rather than falling back. Anything else identifies a legacy server."
//! (`basic/versioning.mdx`). Recognition is by code alone: the range `-32020..-32099` is not
//! used, since 2025-11-25 (a legacy revision) has `-32042` in it, and `-32601` is no signal
//! (a legacy server answers `server/discover`, which every modern server implements, with
//! it).

use std::fmt;

use serde_json::Value;

use crate::jsonrpc::ErrorObject;
use crate::schema::ClientCapabilities;

/// `HeaderMismatch`: the HTTP headers do not match the body, or a required one is missing or
/// malformed.
pub const HEADER_MISMATCH: i64 = -32020;
/// `MissingRequiredClientCapability`: the request needs a capability the client did not
/// declare in its `_meta`.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
/// `UnsupportedProtocolVersion`: the server does not speak the request's protocol version.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A recognised error of this revision.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModernError {
    /// `-32022`: retry with a version from `supported` the client also speaks
    /// ([`UnsupportedProtocolVersion::choose`]), or report that there is none.
    UnsupportedProtocolVersion(UnsupportedProtocolVersion),
    /// `-32021`: the server needs capabilities the client did not declare.
    MissingRequiredClientCapability {
        /// `data.requiredCapabilities`; `None` if absent or not a capabilities object.
        required: Option<ClientCapabilities>,
        /// The error's message.
        message: String,
    },
    /// `-32020`: "the client SHOULD call `tools/list` to check for changes to the tool's
    /// `inputSchema`, then retry the original request with the appropriate headers."
    HeaderMismatch {
        /// The error's message (it usually names the header).
        message: String,
    },
}

/// The data of an `UnsupportedProtocolVersionError`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsupportedProtocolVersion {
    /// `data.supported`: the versions the server speaks (strings only; empty if the data is
    /// missing or not a list).
    pub supported: Vec<String>,
    /// `data.requested`: the version the request carried, as the server read it.
    pub requested: Option<String>,
}

impl UnsupportedProtocolVersion {
    /// The first version of `preferred` (the client's, most preferred first) that the server
    /// lists, if any. It may be a legacy version: then the client speaks the legacy
    /// (`initialize`) protocol with this server.
    pub fn choose<'a>(&self, preferred: &[&'a str]) -> Option<&'a str> {
        choose_version(&self.supported, preferred)
    }
}

/// The first version of `preferred` (most preferred first) that `supported` lists.
pub fn choose_version<'a>(supported: &[String], preferred: &[&'a str]) -> Option<&'a str> {
    preferred
        .iter()
        .copied()
        .find(|p| supported.iter().any(|s| s == p))
}

impl ModernError {
    /// The error's code.
    pub fn code(&self) -> i64 {
        match self {
            ModernError::UnsupportedProtocolVersion(_) => UNSUPPORTED_PROTOCOL_VERSION,
            ModernError::MissingRequiredClientCapability { .. } => {
                MISSING_REQUIRED_CLIENT_CAPABILITY
            }
            ModernError::HeaderMismatch { .. } => HEADER_MISMATCH,
        }
    }
}

impl fmt::Display for ModernError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::error::sanitize;
        match self {
            ModernError::UnsupportedProtocolVersion(u) => write!(
                f,
                "unsupported protocol version {}; the server supports [{}]",
                sanitize(u.requested.as_deref().unwrap_or("?")),
                sanitize(&u.supported.join(", "))
            ),
            ModernError::MissingRequiredClientCapability { message, .. } => {
                write!(
                    f,
                    "missing required client capability: {}",
                    sanitize(message)
                )
            }
            ModernError::HeaderMismatch { message } => {
                write!(f, "header mismatch: {}", sanitize(message))
            }
        }
    }
}

/// `error` as one of this revision's errors, if it is one (by its code; the data is read
/// leniently).
pub fn recognize(error: &ErrorObject) -> Option<ModernError> {
    let data = error.data.as_ref();
    let field = |name: &str| data.and_then(|d| d.get(name));
    Some(match error.code {
        UNSUPPORTED_PROTOCOL_VERSION => {
            ModernError::UnsupportedProtocolVersion(UnsupportedProtocolVersion {
                supported: field("supported")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                requested: field("requested")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        }
        MISSING_REQUIRED_CLIENT_CAPABILITY => ModernError::MissingRequiredClientCapability {
            required: field("requiredCapabilities")
                .and_then(|c| serde_json::from_value(c.clone()).ok()),
            message: error.message.clone(),
        },
        HEADER_MISMATCH => ModernError::HeaderMismatch {
            message: error.message.clone(),
        },
        _ => return None,
    })
}

/// Whether `error` is one of this revision's errors: the era-detection test ("a recognized
/// modern JSON-RPC error").
pub fn is_modern_error(error: &ErrorObject) -> bool {
    matches!(
        error.code,
        HEADER_MISMATCH | MISSING_REQUIRED_CLIENT_CAPABILITY | UNSUPPORTED_PROTOCOL_VERSION
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(v: Value) -> ErrorObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn unsupported_protocol_version_as_the_schema_example() {
        let e = error(
            json!({"code": -32022, "message": "Unsupported protocol version",
            "data": {"supported": ["2026-07-28", "2025-11-25"], "requested": "1900-01-01"}}),
        );
        assert!(is_modern_error(&e));
        let Some(ModernError::UnsupportedProtocolVersion(u)) = recognize(&e) else {
            panic!()
        };
        assert_eq!(u.supported, ["2026-07-28", "2025-11-25"]);
        assert_eq!(u.requested.as_deref(), Some("1900-01-01"));
        assert_eq!(u.choose(&["2026-07-28"]), Some("2026-07-28"));
        assert_eq!(u.choose(&["2027-01-01", "2025-11-25"]), Some("2025-11-25"));
        assert_eq!(u.choose(&["2024-11-05"]), None);
        assert_eq!(recognize(&e).unwrap().code(), UNSUPPORTED_PROTOCOL_VERSION);
    }

    #[test]
    fn request_metadata_rejection() {
        // `request-metadata` rejects the first request of any method like this (HTTP 400).
        let e = error(
            json!({"code": -32022, "message": "Unsupported protocol version",
            "data": {"supported": ["2026-07-28"], "requested": "2026-07-28"}}),
        );
        let Some(ModernError::UnsupportedProtocolVersion(u)) = recognize(&e) else {
            panic!()
        };
        assert_eq!(u.choose(&["2026-07-28"]), Some("2026-07-28"));
    }

    #[test]
    fn unusable_data_is_read_leniently() {
        for data in [
            None,
            Some(json!(null)),
            Some(json!({"supported": "x"})),
            Some(json!({"supported": [1, null]})),
        ] {
            let mut e = ErrorObject::new(-32022, "nope");
            e.data = data;
            let Some(ModernError::UnsupportedProtocolVersion(u)) = recognize(&e) else {
                panic!()
            };
            assert!(u.supported.is_empty());
            assert!(u.requested.is_none());
        }
    }

    #[test]
    fn missing_capability_and_header_mismatch() {
        let e = error(
            json!({"code": -32021, "message": "Missing required client capability",
            "data": {"requiredCapabilities": {"elicitation": {}}}}),
        );
        match recognize(&e) {
            Some(ModernError::MissingRequiredClientCapability {
                required: Some(c),
                message,
            }) => {
                assert_eq!(c.elicitation, Some(json!({})));
                assert_eq!(message, "Missing required client capability");
            }
            other => panic!("{other:?}"),
        }
        let e = error(json!({"code": -32021, "message": "m", "data": {"requiredCapabilities": 5}}));
        assert!(matches!(
            recognize(&e),
            Some(ModernError::MissingRequiredClientCapability { required: None, .. })
        ));
        let e = error(json!({"code": -32020,
            "message": "Header mismatch: Mcp-Name header value 'foo' does not match body value 'bar'"}));
        match recognize(&e) {
            Some(m @ ModernError::HeaderMismatch { .. }) => {
                assert_eq!(m.code(), HEADER_MISMATCH);
                assert!(m.to_string().contains("'foo'"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_codes_are_not_modern() {
        for code in [
            -32000, -32001, -32002, -32003, -32004, -32019, -32023, -32042, -32099, -32600, -32601,
            -32602, -32603, -32700, 0, 1,
        ] {
            let e = ErrorObject::new(code, "x");
            assert!(!is_modern_error(&e), "{code}");
            assert!(recognize(&e).is_none());
        }
    }

    #[test]
    fn display_escapes_server_text() {
        let e = ErrorObject::new(-32020, "bad\u{1b}[2J");
        assert!(!recognize(&e).unwrap().to_string().contains('\u{1b}'));
    }
}
