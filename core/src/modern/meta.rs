//! The request `_meta` of this revision: every request says which protocol version it speaks,
//! what the client can do, and (SHOULD) who the client is.
//!
//! > "Every client request MUST include the following `io.modelcontextprotocol/*` fields in
//! > `_meta`" — `io.modelcontextprotocol/protocolVersion` and
//! > `io.modelcontextprotocol/clientCapabilities`; "Clients SHOULD include
//! > `io.modelcontextprotocol/clientInfo` on every request unless specifically configured not
//! > to do so." (`basic/index.mdx`, 2026-07-28; `RequestMetaObject` in the schema)
//!
//! In the schema every request has `params` and every `params` has `_meta`
//! (`RequestParams { _meta: RequestMetaObject }`), so a request without params (`tools/list`
//! without a cursor, `server/discover`) is sent with `"params":{"_meta":{...}}`.
//!
//! [`RequestMeta`] holds what the session puts there, serialized once;
//! [`RequestMeta::apply`] adds it to a request's params kept as JSON text.

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

use super::raw::{self, Shape};
use crate::jsonrpc::RawJson;
use crate::schema::{ClientCapabilities, Implementation, LoggingLevel};

/// `_meta` key: the protocol version of this request (required).
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities for this request (required).
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: who the client is (SHOULD).
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the log level wanted for this request (optional, deprecated with logging).
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// Result `_meta` key: who the server is (SHOULD on every result).
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// Notification and `subscriptions/listen` result `_meta` key: the id of the listen request
/// whose stream carried it.
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// What every request of this revision carries in `params._meta`, serialized once.
///
/// Building: [`RequestMeta::new`] with the two required fields, then
/// [`with_client_info`](Self::with_client_info) and [`with_log_level`](Self::with_log_level).
/// Using: [`apply`](Self::apply) to each request's params, and
/// [`protocol_version`](Self::protocol_version) for the `MCP-Protocol-Version` header, which
/// must equal the `_meta` value.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestMeta {
    protocol_version: String,
    capabilities: ClientCapabilities,
    client_info: Option<Implementation>,
    log_level: Option<LoggingLevel>,
    /// The JSON text of each key's value, in the order they are written.
    version_json: String,
    capabilities_json: String,
    client_info_json: Option<String>,
    log_level_json: Option<String>,
}

/// Why params could not carry `_meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaError {
    /// The params are not a JSON object (nor absent nor `null`): MCP params are objects.
    ParamsNotObject,
    /// `params._meta` is present but neither an object nor `null`.
    MetaNotObject,
    /// `params` has `_meta` more than once.
    DuplicateMeta,
    /// The params are not valid JSON text (only possible with a hand-made [`RawValue`]).
    Invalid(String),
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaError::ParamsNotObject => f.write_str("request params are not a JSON object"),
            MetaError::MetaNotObject => f.write_str("request params._meta is not a JSON object"),
            MetaError::DuplicateMeta => f.write_str("request params have _meta more than once"),
            MetaError::Invalid(e) => write!(f, "request params are not valid JSON: {e}"),
        }
    }
}

impl std::error::Error for MetaError {}

/// The JSON text of `value`. The types serialized here (strings, maps with string keys)
/// cannot fail; an impossible failure writes `null`, as `jsonrpc`'s encoders do.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

impl RequestMeta {
    /// The `_meta` of a request speaking `protocol_version` with `capabilities` (`{}` when the
    /// default: no optional capability).
    pub fn new(protocol_version: impl Into<String>, capabilities: ClientCapabilities) -> Self {
        let protocol_version = protocol_version.into();
        RequestMeta {
            version_json: raw::json_string(&protocol_version),
            capabilities_json: json(&capabilities),
            protocol_version,
            capabilities,
            client_info: None,
            log_level: None,
            client_info_json: None,
            log_level_json: None,
        }
    }

    /// Also says who the client is (`io.modelcontextprotocol/clientInfo`), as clients SHOULD.
    pub fn with_client_info(mut self, client_info: Implementation) -> Self {
        self.client_info_json = Some(json(&client_info));
        self.client_info = Some(client_info);
        self
    }

    /// Also asks for log messages at `level` and above (`io.modelcontextprotocol/logLevel`);
    /// `None`: no log messages (the server MUST NOT send any for the request).
    pub fn with_log_level(mut self, level: Option<LoggingLevel>) -> Self {
        self.log_level_json = level.map(|l| raw::json_string(l.as_str()));
        self.log_level = level;
        self
    }

    /// The same `_meta` speaking another protocol version (after an
    /// `UnsupportedProtocolVersionError` named one the client also speaks).
    pub fn with_protocol_version(mut self, protocol_version: impl Into<String>) -> Self {
        self.protocol_version = protocol_version.into();
        self.version_json = raw::json_string(&self.protocol_version);
        self
    }

    /// The protocol version: also the value of the `MCP-Protocol-Version` header.
    pub fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    /// The client capabilities sent.
    pub fn capabilities(&self) -> &ClientCapabilities {
        &self.capabilities
    }

    /// The client info sent, if any.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.client_info.as_ref()
    }

    /// The log level sent, if any.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.log_level
    }

    /// The members this `_meta` adds, as (key, JSON text), for a `_meta` that already has
    /// `present` keys: the required keys always, the optional ones unless the request's own
    /// `_meta` has them.
    fn members(&self, present: impl Fn(&str) -> bool) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            (PROTOCOL_VERSION_KEY, self.version_json.as_str()),
            (CLIENT_CAPABILITIES_KEY, self.capabilities_json.as_str()),
        ];
        if let Some(info) = &self.client_info_json {
            if !present(CLIENT_INFO_KEY) {
                out.push((CLIENT_INFO_KEY, info));
            }
        }
        if let Some(level) = &self.log_level_json {
            if !present(LOG_LEVEL_KEY) {
                out.push((LOG_LEVEL_KEY, level));
            }
        }
        out
    }

    /// The `_meta` object alone, as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = raw::ObjectWriter::with_capacity(128);
        for (k, v) in self.members(|_| false) {
            out.member(k, v);
        }
        out.finish()
    }

    /// `params` with this `_meta` added: the params of a request of this revision.
    ///
    /// `params` may be absent or `null` (the result is `{"_meta":{...}}`), or an object,
    /// which may have a `_meta` already (a `progressToken`, trace context, an application's
    /// keys): every other key of the params and of `_meta` is kept.
    ///
    /// - `protocolVersion` and `clientCapabilities` are always this `RequestMeta`'s: a value
    ///   the request's `_meta` had for them is replaced (the header must match the body, and
    ///   the session answers for what the client can do).
    /// - `clientInfo` and `logLevel` are added only if the request's `_meta` has no value for
    ///   them: a request's own value wins over the session's.
    ///
    /// What is normalised: when nothing had to be removed (the usual case), the params text
    /// is kept byte for byte and the new members are spliced in before the closing brace of
    /// `_meta` (or of the params, for a new `_meta`). When a value is replaced, that object
    /// (`_meta`) is written again from its members: every value keeps its bytes, keys are
    /// re-escaped, whitespace between members goes. A `_meta` of `null` is replaced.
    pub fn apply(&self, params: Option<&RawValue>) -> Result<RawJson, MetaError> {
        let invalid = |e: serde_json::Error| MetaError::Invalid(e.to_string());
        let text = match params {
            None => {
                return raw::to_raw(format!("{{\"_meta\":{}}}", self.to_json())).map_err(invalid)
            }
            Some(p) => p.get().trim(),
        };
        let members = match raw::shape(text).map_err(invalid)? {
            Shape::Null => {
                return raw::to_raw(format!("{{\"_meta\":{}}}", self.to_json())).map_err(invalid)
            }
            Shape::Other => return Err(MetaError::ParamsNotObject),
            Shape::Object(members) => members,
        };
        let mut metas = members.iter().filter(|m| m.key == "_meta");
        let meta = metas.next();
        if metas.next().is_some() {
            return Err(MetaError::DuplicateMeta);
        }
        let Some(meta) = meta else {
            let ours = self.to_json();
            return raw::to_raw(raw::rewrite(text, &members, |_| false, &[("_meta", &ours)]))
                .map_err(invalid);
        };
        let meta_text = meta.value.get();
        let meta_members = match raw::shape(meta_text).map_err(invalid)? {
            Shape::Object(m) => m,
            Shape::Null => {
                let ours = self.to_json();
                let out = raw::rewrite(text, &members, |k| k == "_meta", &[("_meta", &ours)]);
                return raw::to_raw(out).map_err(invalid);
            }
            Shape::Other => return Err(MetaError::MetaNotObject),
        };
        let present = |key: &str| meta_members.iter().any(|m| m.key == key);
        let add = self.members(present);
        let replaced = |key: &str| add.iter().any(|(k, _)| *k == key);
        let new_meta = raw::rewrite(meta_text, &meta_members, replaced, &add);
        // Splice the new `_meta` where the old one was, keeping the rest of the params whole.
        let out = match raw::offset_in(text, meta_text) {
            Some(at) => {
                let mut out = String::with_capacity(text.len() + new_meta.len());
                out.push_str(&text[..at]);
                out.push_str(&new_meta);
                out.push_str(&text[at + meta_text.len()..]);
                out
            }
            None => raw::rewrite(text, &members, |k| k == "_meta", &[("_meta", &new_meta)]),
        };
        raw::to_raw(out).map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::schema::RootsCapability;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    fn meta() -> RequestMeta {
        RequestMeta::new("2026-07-28", ClientCapabilities::default())
            .with_client_info(Implementation::new("mcpwire", "0.1.0"))
    }

    fn value(r: &RawValue) -> Value {
        serde_json::from_str(r.get()).unwrap()
    }

    #[test]
    fn absent_or_null_params_become_an_object_with_meta() {
        let expected = json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "mcpwire", "version": "0.1.0"},
        }});
        let none = meta().apply(None).unwrap();
        assert_eq!(value(&none), expected);
        assert_eq!(
            none.get(),
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcpwire","version":"0.1.0"}}}"#
        );
        assert_eq!(value(&meta().apply(Some(&raw("null"))).unwrap()), expected);
        assert_eq!(
            value(&meta().apply(Some(&raw(" null "))).unwrap()),
            expected
        );
    }

    #[test]
    fn params_without_meta_are_kept_byte_for_byte() {
        let params = r#"{"name" : "echo", "arguments":{"x":1.50,"s":"\u00e9"}}"#;
        let out = meta().apply(Some(&raw(params))).unwrap();
        let expected_prefix = r#"{"name" : "echo", "arguments":{"x":1.50,"s":"\u00e9"},"_meta":{"#;
        assert!(out.get().starts_with(expected_prefix), "{}", out.get());
        let v = value(&out);
        assert_eq!(v["_meta"][PROTOCOL_VERSION_KEY], "2026-07-28");
        assert_eq!(v["arguments"]["s"], "é");
        // An empty object.
        let out = meta().apply(Some(&raw("{}"))).unwrap();
        assert!(out.get().starts_with(r#"{"_meta":{"io.model"#));
    }

    #[test]
    fn an_existing_meta_keeps_its_keys_and_bytes() {
        let params = r#"{"cursor":"c1","_meta":{"progressToken":7,"traceparent":"00-ab-cd-01","com.example/x":{"deep":[1,2]}}}"#;
        let out = meta().apply(Some(&raw(params))).unwrap();
        assert!(
            out.get().starts_with(
                r#"{"cursor":"c1","_meta":{"progressToken":7,"traceparent":"00-ab-cd-01","com.example/x":{"deep":[1,2]},"io.modelcontextprotocol/protocolVersion":"2026-07-28""#
            ),
            "{}",
            out.get()
        );
        let v = value(&out);
        assert_eq!(v["_meta"]["progressToken"], 7);
        assert_eq!(v["_meta"][CLIENT_CAPABILITIES_KEY], json!({}));
        assert_eq!(v["_meta"][CLIENT_INFO_KEY]["name"], "mcpwire");
        assert_eq!(v["cursor"], "c1");
    }

    #[test]
    fn required_keys_are_replaced_optional_ones_kept() {
        let params = json!({"_meta": {
            PROTOCOL_VERSION_KEY: "1900-01-01",
            CLIENT_CAPABILITIES_KEY: {"sampling": {}},
            CLIENT_INFO_KEY: {"name": "app", "version": "9"},
            LOG_LEVEL_KEY: "error",
            "progressToken": "p",
        }, "name": "t"});
        let meta = meta().with_log_level(Some(LoggingLevel::Debug));
        let out = meta.apply(Some(&raw(&params.to_string()))).unwrap();
        let v = value(&out);
        assert_eq!(v["_meta"][PROTOCOL_VERSION_KEY], "2026-07-28");
        assert_eq!(v["_meta"][CLIENT_CAPABILITIES_KEY], json!({}));
        assert_eq!(
            v["_meta"][CLIENT_INFO_KEY]["name"], "app",
            "the request's own wins"
        );
        assert_eq!(v["_meta"][LOG_LEVEL_KEY], "error", "the request's own wins");
        assert_eq!(v["_meta"]["progressToken"], "p");
        assert_eq!(v["name"], "t");
        // No key twice.
        let text = out.get();
        assert_eq!(text.matches(PROTOCOL_VERSION_KEY).count(), 1, "{text}");
        assert_eq!(text.matches(CLIENT_CAPABILITIES_KEY).count(), 1, "{text}");
    }

    #[test]
    fn log_level_and_capabilities_are_written() {
        let caps = ClientCapabilities {
            roots: Some(RootsCapability::default()),
            elicitation: Some(json!({"form": {}})),
            ..Default::default()
        };
        let meta = RequestMeta::new("2026-07-28", caps).with_log_level(Some(LoggingLevel::Warning));
        let v = value(&meta.apply(None).unwrap());
        assert_eq!(v["_meta"][LOG_LEVEL_KEY], "warning");
        assert_eq!(
            v["_meta"][CLIENT_CAPABILITIES_KEY],
            json!({"roots": {}, "elicitation": {"form": {}}})
        );
        assert!(v["_meta"].get(CLIENT_INFO_KEY).is_none());
        let meta = meta
            .with_log_level(None)
            .with_protocol_version("2027-01-01");
        let v = value(&meta.apply(None).unwrap());
        assert!(v["_meta"].get(LOG_LEVEL_KEY).is_none());
        assert_eq!(v["_meta"][PROTOCOL_VERSION_KEY], "2027-01-01");
        assert_eq!(meta.protocol_version(), "2027-01-01");
    }

    #[test]
    fn a_null_meta_is_replaced() {
        let out = meta().apply(Some(&raw(r#"{"a":1,"_meta":null}"#))).unwrap();
        let v = value(&out);
        assert_eq!(v["a"], 1);
        assert_eq!(v["_meta"][PROTOCOL_VERSION_KEY], "2026-07-28");
    }

    #[test]
    fn what_cannot_carry_meta_is_a_typed_error() {
        for (params, err) in [
            ("[1]", MetaError::ParamsNotObject),
            ("\"s\"", MetaError::ParamsNotObject),
            ("3", MetaError::ParamsNotObject),
            (r#"{"_meta":[]}"#, MetaError::MetaNotObject),
            (r#"{"_meta":"x"}"#, MetaError::MetaNotObject),
            (r#"{"_meta":{},"_meta":{}}"#, MetaError::DuplicateMeta),
        ] {
            assert_eq!(
                meta().apply(Some(&raw(params))).unwrap_err(),
                err,
                "{params}"
            );
        }
    }

    #[test]
    fn an_escaped_meta_key_is_still_meta() {
        let out = meta()
            .apply(Some(&raw(r#"{"\u005fmeta":{"progressToken":1}}"#)))
            .unwrap();
        let v = value(&out);
        assert_eq!(v["_meta"]["progressToken"], 1);
        assert_eq!(v["_meta"][PROTOCOL_VERSION_KEY], "2026-07-28");
    }

    #[test]
    fn applying_twice_changes_nothing_more() {
        let once = meta()
            .apply(Some(&raw(r#"{"_meta":{"progressToken":1}}"#)))
            .unwrap();
        let twice = meta().apply(Some(&once)).unwrap();
        assert_eq!(value(&once), value(&twice));
        assert_eq!(twice.get().matches(PROTOCOL_VERSION_KEY).count(), 1);
    }
}
