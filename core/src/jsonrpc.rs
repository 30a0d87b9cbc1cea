//! JSON-RPC 2.0 messages: ids, requests, notifications, responses and error objects.
//!
//! Decoding goes through one flat struct and a classification step rather than an untagged
//! enum, so a message is parsed once, without serde's buffering. A result and params are kept
//! as raw JSON ([`RawJson`]): they are parsed again only by whoever knows their type, so a
//! message whose params are too deep or hold a number out of range is still a message with a
//! method or an id (and only that message is lost, not the request it travels beside).
//!
//! Decoding is lenient where other clients are: a UTF-8 byte order mark before the message is
//! skipped, and an escaped lone surrogate (`"\ud800"`, what Python's `json.dumps` writes for
//! an undecodable file name) decodes as U+FFFD rather than failing the message.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON value kept as its original text.
pub type RawJson = Box<RawValue>;

/// A JSON-RPC request id: an integer or a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

/// Read as `#[serde(untagged)]` would (an integer that fits `i64`, or a string; anything else
/// fails with the same message, at the same place: once the value is read), without
/// buffering the value first as untagged does.
impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'v> de::Visitor<'v> for Visitor {
            /// `None`: a value of another kind, read to its end.
            type Value = Option<Id>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Id>, E> {
                Ok(Some(Id::Number(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Id>, E> {
                Ok(i64::try_from(v).ok().map(Id::Number))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Id>, E> {
                Ok(Some(Id::String(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Option<Id>, E> {
                Ok(Some(Id::String(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<Id>, E> {
                Ok(None)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<Id>, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<Id>, E> {
                Ok(None)
            }
            fn visit_seq<A: de::SeqAccess<'v>>(self, mut seq: A) -> Result<Option<Id>, A::Error> {
                // Read as values (untagged read them so: a string in them is checked), not
                // skipped; only a malformed id takes this path.
                while seq.next_element::<Value>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: de::MapAccess<'v>>(self, mut map: A) -> Result<Option<Id>, A::Error> {
                while map.next_entry::<Value, Value>()?.is_some() {}
                Ok(None)
            }
        }
        d.deserialize_any(Visitor)?
            .ok_or_else(|| de::Error::custom("data did not match any variant of untagged enum Id"))
    }
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

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)
    }
}

/// So that a handler may return it as any error, and keep its code.
impl std::error::Error for ErrorObject {}

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
    /// 2026-07-28: the request's HTTP headers do not match its body (-32020).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare (-32021).
    pub const MISSING_CAPABILITY: i64 = -32021;
    /// 2026-07-28: the server does not speak the request's protocol version (-32022); `data`
    /// has `supported` and `requested`.
    pub const UNSUPPORTED_VERSION: i64 = -32022;

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
        /// The parameters, if any, as raw JSON.
        params: Option<RawJson>,
    },
    /// A notification: no response.
    Notification {
        /// The method.
        method: String,
        /// The parameters, if any, as raw JSON.
        params: Option<RawJson>,
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

/// The `jsonrpc` member, read without allocating: whether it is the string `"2.0"` (any other
/// string is kept as "not"; what is not a string fails as it did when this was a `String`).
struct Version(bool);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Version;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                Ok(Version(v == "2.0"))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[derive(Deserialize)]
struct Flat {
    #[serde(default)]
    jsonrpc: Option<Version>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Option<Id>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<RawJson>,
    #[serde(default, deserialize_with = "present")]
    result: Option<RawJson>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

impl Flat {
    fn classify(self) -> Result<Message, DecodeError> {
        if !matches!(self.jsonrpc, Some(Version(true))) {
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

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes one JSON text: a message or a batch of messages. A leading byte order mark is
/// skipped and escaped lone surrogates decode as U+FFFD (see the module documentation).
pub fn decode(text: &[u8]) -> Result<Decoded, DecodeError> {
    decode_bytes(text, Shortcut::Taken)
}

/// [`decode`] of text already checked as UTF-8 (it is not checked again).
pub fn decode_str(text: &str) -> Result<Decoded, DecodeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if may_hold_surrogate_escapes(text.as_bytes()) {
        return decode(text.as_bytes());
    }
    decode_checked(text, Shortcut::Taken)
}

/// [`decode`] without the shortcut for the common shapes of a success response: every text
/// read by serde's struct machinery. What [`decode`] gives must always equal this (the fuzz
/// target `jsonrpc` and the property tests compare them).
#[cfg(any(test, feature = "fuzzing"))]
pub fn decode_unshortened(text: &[u8]) -> Result<Decoded, DecodeError> {
    decode_bytes(text, Shortcut::Declined)
}

/// Whether a text in one of the common shapes of a success response is read by
/// [`compact_response`] (always, but for the tests that compare it with the general reading).
#[derive(Clone, Copy, PartialEq)]
enum Shortcut {
    Taken,
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    Declined,
}

fn decode_bytes(text: &[u8], shortcut: Shortcut) -> Result<Decoded, DecodeError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if may_hold_surrogate_escapes(text) {
        let mut repaired = text.to_vec();
        repair_lone_surrogates(&mut repaired);
        return decode_text(&repaired, shortcut);
    }
    decode_text(text, shortcut)
}

/// Whether `text` has a `\u` followed by `d` or `D`: the start of every surrogate escape (and
/// of some other escapes, which the repair leaves alone).
fn may_hold_surrogate_escapes(text: &[u8]) -> bool {
    // Each backslash, not a substring search: that has a setup cost on every message.
    memchr::memchr_iter(b'\\', text)
        .any(|at| text.get(at + 1) == Some(&b'u') && matches!(text.get(at + 2), Some(b'd' | b'D')))
}

/// The code unit of the `\uXXXX` escape at `at`, if there is one.
fn escape_at(text: &[u8], at: usize) -> Option<u16> {
    let hex = text.get(at..at + 6)?;
    if hex[0] != b'\\' || hex[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&hex[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

/// Rewrites, in place, every escaped surrogate that is not half of a pair as `\uFFFD` (the
/// same length). Backslashes are walked escape by escape, so `"\\\\ud800"` (an escaped
/// backslash, then text) is left alone; a backslash outside a string is invalid JSON anyway.
fn repair_lone_surrogates(text: &mut [u8]) {
    let mut at = 0;
    while let Some(found) = text.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        at += found;
        let Some(unit) = escape_at(text, at) else {
            at += 2; // `\"`, `\\`, `\n`, ...: the escaped byte is not the start of an escape
            continue;
        };
        let high = (0xD800..0xDC00).contains(&unit);
        let paired = high && escape_at(text, at + 6).is_some_and(|u| (0xDC00..0xE000).contains(&u));
        if paired {
            at += 12;
        } else {
            if (0xD800..0xE000).contains(&unit) {
                text[at..at + 6].copy_from_slice(b"\\uFFFD");
            }
            at += 6;
        }
    }
}

fn decode_text(text: &[u8], shortcut: Shortcut) -> Result<Decoded, DecodeError> {
    // The whole text checked as UTF-8 once, then read as `str`: serde_json checks no string
    // of it again (reading bytes, it checks each string, at a cost per string that a small
    // message pays several times over). Text that is not UTF-8 is read as bytes, and fails
    // there as it always did.
    match std::str::from_utf8(text) {
        Ok(text) => decode_checked(text, shortcut),
        Err(_) => decode_from(text, serde_json::Deserializer::from_slice(text)),
    }
}

/// Checked text (its byte order mark skipped, its lone surrogates repaired): a success
/// response in a common shape through [`compact_response`], anything else through serde.
fn decode_checked(text: &str, shortcut: Shortcut) -> Result<Decoded, DecodeError> {
    if shortcut == Shortcut::Taken {
        if let Some(response) = compact_response(text) {
            return Ok(Decoded::Single(response));
        }
    }
    decode_from(text.as_bytes(), serde_json::Deserializer::from_str(text))
}

/// The members before a result, in the order this crate, Python's SDK and most servers write
/// them: `{"jsonrpc":"2.0","id":N,"result":R}`.
const VERSION_ID: &str = r#"{"jsonrpc":"2.0","id":"#;
/// The members after a result, in the order the TypeScript SDK writes them:
/// `{"result":R,"jsonrpc":"2.0","id":N}`.
const RESULT_FIRST: &str = r#"{"result":"#;

/// A success response written compactly in one of the two common member orders, with an id of
/// at most 18 digits (so an `i64`), read without serde's struct machinery (the members'
/// names, their fields' options, the classification: more than half of what decoding a small
/// response costs). Only the result is parsed, as raw JSON, by serde_json; that it is one
/// whole value is what makes the text around it exactly these three members.
///
/// `None` for anything else (whitespace or escapes among the members, another order, another
/// id, a result that is not one value, trailing text): the general reading then decides, so
/// that this is only ever a faster way to the same message.
fn compact_response(text: &str) -> Option<Message> {
    let end = text.trim_end_matches([' ', '\t', '\n', '\r']);
    let inner = end.strip_suffix('}')?;
    let (id, result) = if let Some(rest) = inner.strip_prefix(VERSION_ID) {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (id, rest) = rest.split_at(digits);
        (id, rest.strip_prefix(r#","result":"#)?)
    } else {
        let rest = inner.strip_prefix(RESULT_FIRST)?;
        let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (rest, id) = rest.split_at(rest.len() - digits);
        (id, rest.strip_suffix(r#","jsonrpc":"2.0","id":"#)?)
    };
    // JSON's integers: no leading zero; 18 digits fit an `i64` whatever they are.
    if id.is_empty() || id.len() > 18 || (id.len() > 1 && id.starts_with('0')) {
        return None;
    }
    let id = id.bytes().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    let result: &RawValue = serde_json::from_str(result).ok()?;
    Some(Message::Response {
        id: Id::Number(id),
        result: result.to_owned(),
    })
}

fn decode_from<'a, R: serde_json::de::Read<'a>>(
    text: &[u8],
    mut de: serde_json::Deserializer<R>,
) -> Result<Decoded, DecodeError> {
    fn whole<'a, T: Deserialize<'a>, R: serde_json::de::Read<'a>>(
        de: &mut serde_json::Deserializer<R>,
    ) -> Result<T, DecodeError> {
        let value = T::deserialize(&mut *de).map_err(|e| DecodeError(e.to_string()))?;
        de.end().map_err(|e| DecodeError(e.to_string()))?;
        Ok(value)
    }
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<&RawValue> = whole(&mut de)?;
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
    let flat: Flat = whole(&mut de)?;
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

#[derive(Serialize)]
struct OutRawRequest<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
}

/// The JSON text of a request whose params are JSON text already, in a buffer exactly as
/// long as the text (an adapter's `Bytes` takes such a buffer over without allocating).
pub fn encode_request_raw(id: &Id, method: &str, params: Option<&RawValue>) -> Vec<u8> {
    let id_len = match id {
        Id::Number(n) => decimal_len(*n),
        Id::String(s) => escaped_len(s),
    };
    let len = r#"{"jsonrpc":"2.0","id":,"method":}"#.len()
        + id_len
        + escaped_len(method)
        + params.map_or(0, |p| r#","params":"#.len() + p.get().len());
    let mut out = Vec::with_capacity(len);
    // What serializing `OutRawRequest` writes, written directly (its struct machinery cost
    // more than the bytes): strings and ids by serde_json, which cannot fail into a `Vec`.
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    let written = match id {
        Id::Number(n) => serde_json::to_writer(&mut out, n),
        Id::String(s) => serde_json::to_writer(&mut out, s),
    };
    out.extend_from_slice(br#","method":"#);
    let written = written.and_then(|()| serde_json::to_writer(&mut out, method));
    if let Some(p) = params {
        out.extend_from_slice(br#","params":"#);
        out.extend_from_slice(p.get().as_bytes());
    }
    out.push(b'}');
    if written.is_err() {
        return to_vec(&OutRawRequest {
            jsonrpc: "2.0",
            id,
            method,
            params,
        });
    }
    out
}

/// The length of `n` in decimal.
fn decimal_len(n: i64) -> usize {
    let mut len = usize::from(n < 0) + 1;
    let mut rest = n.unsigned_abs();
    while rest >= 10 {
        rest /= 10;
        len += 1;
    }
    len
}

/// The length of `s` as serde_json writes it: quoted, with `"`, `\\` and control characters
/// escaped (the common ones in two bytes, the others as `\u00XX`).
fn escaped_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
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

#[derive(Serialize)]
struct OutRawResponse<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

/// The JSON text of a response to a server request whose result is JSON text already.
pub fn encode_response_raw(id: &Id, result: Result<&RawValue, &ErrorObject>) -> Vec<u8> {
    let (result, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    to_vec(&OutRawResponse {
        jsonrpc: "2.0",
        id,
        result,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The request's text is what serde_json makes of it, in a buffer exactly its length.
        #[test]
        fn a_raw_request_is_encoded_in_a_buffer_of_its_length(
            number in proptest::prelude::any::<i64>(),
            text in "\\PC*|[\\x00-\\x1f\"\\\\\\x7f é]{0,12}",
            method in "\\PC*|[\\x00-\\x1f\"\\\\/a-z]{0,12}",
            with_params in proptest::prelude::any::<bool>(),
            string_id in proptest::prelude::any::<bool>(),
        ) {
            let id = if string_id { Id::String(text) } else { Id::Number(number) };
            let params = serde_json::value::to_raw_value(&serde_json::json!({"a": [1, "é\n"]}))
                .unwrap();
            let params = with_params.then_some(&*params);
            let out = encode_request_raw(&id, &method, params);
            let expected = to_vec(&OutRawRequest { jsonrpc: "2.0", id: &id, method: &method, params });
            proptest::prop_assert_eq!(&out, &expected);
            proptest::prop_assert_eq!(out.len(), out.capacity());
        }
    }

    #[test]
    fn the_version_must_be_the_string_2_0_however_it_is_escaped() {
        let with = |v: &str| format!(r#"{{"jsonrpc":{v},"id":1,"result":{{}}}}"#);
        for ok in [r#""2.0""#, r#""2\u002e0""#, r#""\u0032.0""#] {
            let decoded = decode(with(ok).as_bytes());
            assert!(
                matches!(decoded, Ok(Decoded::Single(Message::Response { .. }))),
                "{ok}: {decoded:?}"
            );
        }
        for bad in [
            r#""1.0""#,
            r#""2.0 ""#,
            r#""""#,
            "2.0",
            "2",
            "null",
            "true",
            "[]",
            "{}",
        ] {
            assert!(decode(with(bad).as_bytes()).is_err(), "{bad}");
        }
        assert!(decode(br#"{"id":1,"result":{}}"#).is_err(), "missing");
    }

    proptest::proptest! {
        /// A message read as checked UTF-8 decodes as it does read as bytes, whatever the
        /// bytes (invalid UTF-8 goes the bytes path anyway).
        #[test]
        fn reading_text_as_str_changes_nothing(
            id in any_json(),
            result in any_json(),
            member in "jsonrpc|id|result|error|method|params",
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6),
            at in 0usize..160,
            batch in proptest::prelude::any::<bool>(),
            bom in proptest::prelude::any::<bool>(),
        ) {
            let one = format!(r#"{{"jsonrpc":"2.0","id":{id},"{member}":{result}}}"#);
            let mut text = match batch {
                true => format!("[{one},{one}]").into_bytes(),
                false => one.into_bytes(),
            };
            if bom {
                text.splice(0..0, BOM.iter().copied());
            }
            // Anywhere, the end included (trailing text).
            let at = at.min(text.len());
            text.splice(at..at, junk);
            let as_bytes = decode_as_bytes(&text);
            let now = decode_text(&text, Shortcut::Taken);
            if let Ok(checked) = std::str::from_utf8(&text) {
                // A text the SSE decoder checked already.
                proptest::prop_assert_eq!(
                    format!("{:?}", decode_str(checked)),
                    format!("{:?}", decode(&text))
                );
            }
            proptest::prop_assert_eq!(
                format!("{now:?}"),
                format!("{as_bytes:?}"),
                "{}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    /// The texts the shortcut reads: both member orders, ids at their edges, results of every
    /// kind, whitespace where it may end the text.
    #[test]
    fn the_common_response_shapes_take_the_shortcut() {
        let max = "999999999999999999";
        for (id, expected) in [("0", 0), ("7", 7), (max, 999_999_999_999_999_999)] {
            for result in [
                "{}",
                "null",
                "[1,{\"a\":\"\\u00e9\"}]",
                " {\"content\":[]} ",
                "\"x\"",
            ] {
                for text in [
                    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#),
                    format!(r#"{{"result":{result},"jsonrpc":"2.0","id":{id}}}"#),
                    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result}}} \r\n\t"),
                ] {
                    let Some(Message::Response { id, result: raw }) = compact_response(&text)
                    else {
                        panic!("not taken: {text}");
                    };
                    assert_eq!(id, Id::Number(expected), "{text}");
                    assert_eq!(raw.get(), result.trim(), "{text}");
                    assert_eq!(
                        format!("{:?}", decode(text.as_bytes())),
                        format!("{:?}", decode_unshortened(text.as_bytes())),
                        "{text}"
                    );
                }
            }
        }
    }

    /// The texts it leaves to serde, each read as serde reads it (some decode, some fail).
    #[test]
    fn any_other_text_is_left_to_the_general_reading() {
        for text in [
            r#" {"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc": "2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1, "result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}x"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"id":2}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":""}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}"#,
            r#"{"jsonrpc":"2.0","id":01,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":-1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1e3,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":"1","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1000000000000000000,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":99999999999999999999,"result":{}}"#,
            r#"{"jsonrpc":"2\u002e0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","result":{},"id":1}"#,
            r#"{"result":{},"jsonrpc":"2.0","id":01}"#,
            r#"{"result":{},"jsonrpc":"2.0","id":-1}"#,
            r#"{"result":{},"jsonrpc":"2.0","id":1e3}"#,
            r#"{"result":{}, "jsonrpc":"2.0","id":1}"#,
            r#"{"result":{},"jsonrpc":"2.0","id":1,"id":2}"#,
            r#"{"result":{},"result":{},"jsonrpc":"2.0","id":1}"#,
            r#"{"result":,"jsonrpc":"2.0","id":1}"#,
            r#"{"result":{}"#,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\x0c",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\u{a0}",
            "{}",
            "}",
            "",
        ] {
            assert!(compact_response(text).is_none(), "taken: {text}");
            assert_eq!(
                format!("{:?}", decode(text.as_bytes())),
                format!("{:?}", decode_unshortened(text.as_bytes())),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever the text near the shapes the shortcut reads (a member order, an id, a
        /// result, what ends the text, a byte put in or taken out anywhere), decoding with the
        /// shortcut gives what decoding without it gives: the same message or the same error.
        #[test]
        fn the_shortcut_reads_what_serde_reads(
            order in 0usize..3,
            id in prop_oneof_ids(),
            result in any_json(),
            tail in "[ \t\r\n\x0c\u{a0}}x]{0,2}",
            edit in proptest::option::of((0usize..200, proptest::prelude::any::<u8>(), proptest::prelude::any::<bool>())),
        ) {
            let mut text = match order {
                0 => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}{tail}"#),
                1 => format!(r#"{{"result":{result},"jsonrpc":"2.0","id":{id}}}{tail}"#),
                _ => format!(r#"{{"jsonrpc":"2.0","result":{result},"id":{id}}}{tail}"#),
            }
            .into_bytes();
            if let Some((at, byte, insert)) = edit {
                let at = at % (text.len() + 1);
                match insert {
                    true => text.insert(at, byte),
                    false if at < text.len() => drop(text.remove(at)),
                    false => {}
                }
            }
            proptest::prop_assert_eq!(
                format!("{:?}", decode(&text)),
                format!("{:?}", decode_unshortened(&text)),
                "{}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    /// Ids at the shortcut's edges, and every other JSON value.
    fn prop_oneof_ids() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            (0u64..1_000).prop_map(|n| n.to_string()),
            Just("0".to_owned()),
            Just("00".to_owned()),
            Just("007".to_owned()),
            Just("999999999999999999".to_owned()),
            Just("1000000000000000000".to_owned()),
            Just(i64::MAX.to_string()),
            Just(u64::MAX.to_string()),
            any_json(),
        ]
    }

    /// How a text was decoded before it was checked as UTF-8 first: read as bytes.
    fn decode_as_bytes(text: &[u8]) -> Result<Decoded, DecodeError> {
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

    /// JSON values of every kind, ids' edges among them.
    fn any_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just(i64::MIN.to_string()),
            Just(i64::MAX.to_string()),
            Just((i64::MAX as u64 + 1).to_string()),
            Just("-0".to_owned()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
            Just("1.0".to_owned()),
            Just("1e3".to_owned()),
            "\\PC*".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""a\u00e9\n""#.to_owned()),
            // A pair, and a lone surrogate (repaired as U+FFFD).
            Just(r#""\ud83d\ude00 \ud800""#.to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(inner, 0..3).prop_map(|v| {
                    let members: Vec<String> = v
                        .iter()
                        .enumerate()
                        .map(|(i, x)| format!("\"k{i}\":{x}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// The id read by hand against the derive it replaced.
    mod as_derived {
        use super::any_json;

        /// What `Id` was derived as before it was read by hand (the same name: its errors name it).
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(untagged)]
        enum Id {
            Number(i64),
            String(String),
        }

        /// An id where messages have it: a member of an object.
        #[derive(Debug, serde::Deserialize)]
        struct In<T> {
            #[allow(dead_code)] // Read only through `Debug`.
            id: T,
        }

        proptest::proptest! {
            /// An id is read as the untagged derive read it: the same id, or an error with the
            /// same message.
            #[test]
            fn an_id_is_read_as_the_untagged_derive_read_it(text in any_json()) {
                let text = format!(r#"{{"id":{text}}}"#);
                let by_hand = serde_json::from_str::<In<crate::jsonrpc::Id>>(&text);
                let derived = serde_json::from_str::<In<Id>>(&text);
                let by_hand = by_hand.map(|i| match i.id {
                    crate::jsonrpc::Id::Number(n) => Id::Number(n),
                    crate::jsonrpc::Id::String(s) => Id::String(s),
                });
                proptest::prop_assert_eq!(
                    by_hand.map_err(|e| e.to_string()),
                    derived.map(|i| i.id).map_err(|e| e.to_string()),
                    "{}",
                    text
                );
            }
        }
    }

    #[test]
    fn an_id_displays_as_a_number_or_a_quoted_string() {
        assert_eq!(Id::Number(-7).to_string(), "-7");
        assert_eq!(Id::String("a\"b".into()).to_string(), r#""a\"b""#);
    }

    #[test]
    fn decimal_lengths_at_the_edges() {
        for n in [0, 9, 10, -1, -10, 99, 100, i64::MAX, i64::MIN] {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
    }

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
    fn params_are_kept_raw_so_a_deep_or_out_of_range_notification_is_still_a_message() {
        let deep = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        match one(&deep) {
            Message::Notification { method, params } => {
                assert_eq!(method, "notifications/message");
                assert!(serde_json::from_str::<Value>(params.unwrap().get()).is_err());
            }
            m => panic!("{m:?}"),
        }
        assert!(matches!(
            one(r#"{"jsonrpc":"2.0","method":"x","params":{"n":1e400}}"#),
            Message::Notification { .. }
        ));
    }

    #[test]
    fn a_byte_order_mark_before_the_message_is_skipped() {
        let text = b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}";
        assert!(matches!(
            decode(text),
            Ok(Decoded::Single(Message::Response { .. }))
        ));
    }

    #[test]
    fn lone_surrogate_escapes_decode_as_the_replacement_character() {
        let text = r#"{"jsonrpc":"2.0","id":1,"result":{"a":"x\ud800y","b":"\udc80","c":"\ud83d\ude00","d":"\\ud800"}}"#;
        let Message::Response { result, .. } = one(text) else {
            panic!("not a response")
        };
        let v: Value = serde_json::from_str(result.get()).unwrap();
        assert_eq!(v["a"], "x\u{FFFD}y");
        assert_eq!(v["b"], "\u{FFFD}");
        assert_eq!(v["c"], "\u{1F600}", "a real pair is kept");
        assert_eq!(v["d"], "\\ud800", "an escaped backslash then text is text");
        // A high surrogate at the very end of the text, and a truncated escape, do not panic.
        for text in [r#""\ud800"#, r#""\ud8"#, r#"\"#] {
            let _ = decode(text.as_bytes());
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
