//! JSON-RPC 2.0 messages: ids, requests, notifications, responses and error objects.
//!
//! Decoding goes through one flat struct and a classification step rather than an untagged
//! enum, so a message is parsed once, without serde's buffering. A result is kept as raw JSON
//! ([`RawJson`]): it is parsed again only by whoever knows its type.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON value kept as its original text.
pub type RawJson = Box<RawValue>;

/// A JSON-RPC request id: an integer or a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Additional information, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// Parse error (-32700).
    pub const PARSE_ERROR: i64 = -32700;
    /// Invalid request (-32600).
    pub const INVALID_REQUEST: i64 = -32600;
    /// Method not found (-32601).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid params (-32602).
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error (-32603).
    pub const INTERNAL_ERROR: i64 = -32603;

    /// An error object with `code` and `message` and no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// One JSON-RPC message.
#[derive(Debug)]
pub enum Message {
    /// A request: it expects a response with the same id.
    Request {
        /// The id to answer with.
        id: Id,
        /// The method.
        method: String,
        /// The parameters, if any.
        params: Option<Value>,
    },
    /// A notification: no response.
    Notification {
        /// The method.
        method: String,
        /// The parameters, if any.
        params: Option<Value>,
    },
    /// A successful response.
    Response {
        /// The id of the request it answers.
        id: Id,
        /// The result, as raw JSON.
        result: RawJson,
    },
    /// An error response. The id is absent (null) when the server could not read the request's
    /// id (allowed since 2025-11-25).
    Error {
        /// The id of the request it answers, if known.
        id: Option<Id>,
        /// The error.
        error: ErrorObject,
    },
}

/// What one JSON text held: a single message or a batch (from servers older than 2025-06-18).
#[derive(Debug)]
pub enum Decoded {
    /// One message.
    Single(Message),
    /// A batch: each element decoded on its own, so one bad element loses no other.
    Batch(Vec<Result<Message, DecodeError>>),
}

/// Why a JSON text is not a JSON-RPC message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// `Some(x)` when the field is present, even when it is `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Flat {
    #[serde(default)]
    jsonrpc: Option<String>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Option<Id>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    result: Option<RawJson>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

impl Flat {
    fn classify(self) -> Result<Message, DecodeError> {
        if self.jsonrpc.as_deref() != Some("2.0") {
            return Err(DecodeError("missing \"jsonrpc\": \"2.0\"".into()));
        }
        match (self.method, self.id, self.result, self.error) {
            (Some(method), Some(Some(id)), None, None) => Ok(Message::Request {
                id,
                method,
                params: self.params,
            }),
            (Some(method), None, None, None) => Ok(Message::Notification {
                method,
                params: self.params,
            }),
            (None, Some(Some(id)), Some(result), None) => Ok(Message::Response { id, result }),
            (None, Some(id), None, Some(error)) => Ok(Message::Error { id, error }),
            (None, None, None, Some(error)) => Ok(Message::Error { id: None, error }),
            _ => Err(DecodeError(
                "not a JSON-RPC request, notification or response".into(),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Flat::deserialize(d)?.classify().map_err(de::Error::custom)
    }
}

/// Decodes one JSON text: a message or a batch of messages.
pub fn decode(text: &[u8]) -> Result<Decoded, DecodeError> {
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<&RawValue> =
            serde_json::from_slice(text).map_err(|e| DecodeError(e.to_string()))?;
        if items.is_empty() {
            return Err(DecodeError("empty batch".into()));
        }
        let batch = items
            .into_iter()
            .map(|raw| {
                serde_json::from_str::<Flat>(raw.get())
                    .map_err(|e| DecodeError(e.to_string()))
                    .and_then(Flat::classify)
            })
            .collect();
        return Ok(Decoded::Batch(batch));
    }
    let flat: Flat = serde_json::from_slice(text).map_err(|e| DecodeError(e.to_string()))?;
    flat.classify().map(Decoded::Single)
}

#[derive(Serialize)]
struct OutRequest<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

#[derive(Serialize)]
struct OutNotification<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

#[derive(Serialize)]
struct OutResponse<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

fn to_vec<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing these structs (strings, ids, `Value`s) cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// The JSON text of a request.
pub fn encode_request(id: &Id, method: &str, params: Option<&Value>) -> Vec<u8> {
    to_vec(&OutRequest {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

/// The JSON text of a notification.
pub fn encode_notification(method: &str, params: Option<&Value>) -> Vec<u8> {
    to_vec(&OutNotification {
        jsonrpc: "2.0",
        method,
        params,
    })
}

/// The JSON text of a response to a server request.
pub fn encode_response(id: &Id, result: Result<&Value, &ErrorObject>) -> Vec<u8> {
    let (result, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    to_vec(&OutResponse {
        jsonrpc: "2.0",
        id,
        result,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Message {
        match decode(text.as_bytes()).unwrap() {
            Decoded::Single(m) => m,
            Decoded::Batch(_) => panic!("batch"),
        }
    }

    #[test]
    fn request_with_integer_and_string_ids() {
        match one(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#) {
            Message::Request {
                id: Id::Number(7),
                method,
                params: None,
            } => assert_eq!(method, "ping"),
            m => panic!("{m:?}"),
        }
        match one(r#"{"jsonrpc":"2.0","id":"a","method":"roots/list","params":{}}"#) {
            Message::Request {
                id: Id::String(s),
                params: Some(_),
                ..
            } => assert_eq!(s, "a"),
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn notification_has_no_id() {
        assert!(matches!(
            one(r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#),
            Message::Notification { .. }
        ));
    }

    #[test]
    fn response_keeps_result_verbatim() {
        match one(r#"{"jsonrpc":"2.0","id":1,"result":{"b":1,"a":[1, 2]}}"#) {
            Message::Response {
                id: Id::Number(1),
                result,
            } => assert_eq!(result.get(), r#"{"b":1,"a":[1, 2]}"#),
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn null_result_is_a_response() {
        assert!(matches!(
            one(r#"{"jsonrpc":"2.0","id":1,"result":null}"#),
            Message::Response { .. }
        ));
    }

    #[test]
    fn error_response_with_null_or_missing_id() {
        for text in [
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse"}}"#,
        ] {
            match one(text) {
                Message::Error { id: None, error } => {
                    assert_eq!(error.code, ErrorObject::PARSE_ERROR)
                }
                m => panic!("{m:?}"),
            }
        }
    }

    #[test]
    fn batch_decodes_each_element_on_its_own() {
        let text = r#"[{"jsonrpc":"2.0","id":1,"result":{}}, 5, {"jsonrpc":"2.0","method":"x"}]"#;
        match decode(text.as_bytes()).unwrap() {
            Decoded::Batch(items) => {
                assert_eq!(items.len(), 3);
                assert!(matches!(items[0], Ok(Message::Response { .. })));
                assert!(items[1].is_err());
                assert!(matches!(items[2], Ok(Message::Notification { .. })));
            }
            Decoded::Single(m) => panic!("{m:?}"),
        }
    }

    #[test]
    fn invalid_messages_are_typed_errors() {
        for text in [
            "",
            "{",
            "[]",
            "42",
            r#"{"id":1,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"result":1}"#,
        ] {
            assert!(decode(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn encoders_write_what_decode_reads() {
        let params = serde_json::json!({"name": "echo"});
        let req = encode_request(&Id::Number(3), "tools/call", Some(&params));
        assert_eq!(
            req,
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}"#
        );
        assert_eq!(
            encode_notification("notifications/initialized", None),
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
        let err = ErrorObject::new(ErrorObject::METHOD_NOT_FOUND, "no");
        let resp = encode_response(&Id::String("s".into()), Err(&err));
        assert!(matches!(
            one(std::str::from_utf8(&resp).unwrap()),
            Message::Error {
                id: Some(Id::String(_)),
                ..
            }
        ));
        let ok = encode_response(&Id::Number(1), Ok(&serde_json::json!({})));
        assert_eq!(ok, br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    }
}
