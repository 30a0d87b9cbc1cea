//! Types of this revision that the 2025-era [`crate::schema`] does not have:
//! `server/discover` ([`DiscoverParams`], [`DiscoverResult`]) and `subscriptions/listen`
//! ([`SubscriptionFilter`], [`ListenParams`], [`ListenResult`], [`AcknowledgedParams`],
//! [`subscription_id`]).
//!
//! As in [`crate::schema`], every struct keeps the fields it does not know in `extra`.

use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::meta::{SERVER_INFO_KEY, SUBSCRIPTION_ID_KEY};
use super::methods;
use crate::jsonrpc::Id;
use crate::schema::{Implementation, Meta, Notification, Request, ServerCapabilities, ServerInfo};

/// Parameters of `server/discover`: none but `_meta` ("The request carries no body parameters
/// beyond the standard `_meta`").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscoverParams {
    /// The request's `_meta` (the session adds this revision's keys).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DiscoverParams {
    /// `server/discover`'s params.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Request for DiscoverParams {
    const METHOD: &'static str = methods::SERVER_DISCOVER;
    type Result = DiscoverResult;
}

/// Result of `server/discover` (`DiscoverResult`).
///
/// Read leniently where a server can be trusted to mean well: `supportedVersions` is
/// required (it is what tells a modern server's answer apart), `capabilities` defaults to
/// none. Who the server is comes from `_meta["io.modelcontextprotocol/serverInfo"]` as the
/// spec says, or else from a `serverInfo` field in the body, where some servers (the
/// conformance suite's mocks among them) put it; written back, it goes in the body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "DiscoverWire")]
#[non_exhaustive]
pub struct DiscoverResult {
    /// "MCP Protocol Versions this server supports. The client should choose a version from
    /// this list for use in subsequent requests."
    pub supported_versions: Vec<String>,
    /// What the server can do.
    pub capabilities: ServerCapabilities,
    /// How to use the server, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Who the server is (self-reported: for display and logs, never for decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_info: Option<Implementation>,
    /// How long the result may be cached, in milliseconds (see [`Self::ttl`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<f64>,
    /// `"public"` or `"private"` (see [`Self::is_public`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<String>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (`resultType`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverWire {
    supported_versions: Vec<String>,
    #[serde(default)]
    capabilities: Option<ServerCapabilities>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    server_info: Option<Value>,
    #[serde(default)]
    ttl_ms: Option<Value>,
    #[serde(default)]
    cache_scope: Option<Value>,
    #[serde(rename = "_meta", default)]
    meta: Option<Meta>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<DiscoverWire> for DiscoverResult {
    fn from(w: DiscoverWire) -> Self {
        let implementation = |v: &Value| serde_json::from_value::<Implementation>(v.clone()).ok();
        let server_info = w
            .meta
            .as_ref()
            .and_then(|m| m.get(SERVER_INFO_KEY))
            .and_then(implementation)
            .or_else(|| w.server_info.as_ref().and_then(implementation));
        DiscoverResult {
            supported_versions: w.supported_versions,
            capabilities: w.capabilities.unwrap_or_default(),
            instructions: w.instructions,
            server_info,
            ttl_ms: w.ttl_ms.as_ref().and_then(Value::as_f64),
            cache_scope: w.cache_scope.and_then(|s| s.as_str().map(str::to_owned)),
            meta: w.meta,
            extra: w.extra,
        }
    }
}

impl DiscoverResult {
    /// A result listing `supported_versions` with `capabilities` (for tests and servers).
    pub fn new(supported_versions: Vec<String>, capabilities: ServerCapabilities) -> Self {
        DiscoverResult {
            supported_versions,
            capabilities,
            instructions: None,
            server_info: None,
            ttl_ms: None,
            cache_scope: None,
            meta: None,
            extra: Map::new(),
        }
    }

    /// How long the result may be cached, in whole milliseconds: "absent `ttlMs` → treat as
    /// 0; negative → treat as 0" (`caching.mdx`); a fraction is dropped, a huge value
    /// saturates.
    pub fn ttl(&self) -> u64 {
        match self.ttl_ms {
            Some(t) if t > 0.0 => t as u64,
            _ => 0,
        }
    }

    /// `cacheScope` is `"public"`: the result may be shared across authorization contexts.
    /// Anything else (absent, `"private"`, unknown) is private.
    pub fn is_public(&self) -> bool {
        self.cache_scope.as_deref() == Some("public")
    }

    /// The first of `preferred` (the client's versions, most preferred first) that the server
    /// supports.
    pub fn choose_version<'a>(&self, preferred: &[&'a str]) -> Option<&'a str> {
        super::errors::choose_version(&self.supported_versions, preferred)
    }

    /// What the session reports once ready: the server as [`ServerInfo`], speaking
    /// `protocol_version`. A server that said nothing of itself gets an empty
    /// [`Implementation`]; `supportedVersions`, `ttlMs`, `cacheScope` and `_meta` go in
    /// `extra`, as sent.
    pub fn into_server_info(self, protocol_version: impl Into<String>) -> ServerInfo {
        let mut extra = self.extra;
        extra.insert(
            "supportedVersions".into(),
            Value::from(self.supported_versions),
        );
        if let Some(t) = self.ttl_ms {
            extra.insert("ttlMs".into(), Value::from(t));
        }
        if let Some(s) = self.cache_scope {
            extra.insert("cacheScope".into(), Value::from(s));
        }
        if let Some(m) = self.meta {
            extra.insert("_meta".into(), Value::Object(m));
        }
        ServerInfo {
            protocol_version: protocol_version.into(),
            capabilities: self.capabilities,
            server_info: self.server_info.unwrap_or_default(),
            instructions: self.instructions,
            extra,
        }
    }
}

/// Which notifications a `subscriptions/listen` stream carries (`SubscriptionFilter`). "Each
/// notification type is opt-in; the server MUST NOT send notification types the client has
/// not explicitly requested here."
///
/// ```
/// use mcpwire_core::modern::SubscriptionFilter;
///
/// let filter = SubscriptionFilter::new()
///     .tools_list_changed()
///     .resource("file:///project/config.json");
/// assert_eq!(
///     serde_json::to_value(&filter).unwrap(),
///     serde_json::json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///project/config.json"]})
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubscriptionFilter {
    /// `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_list_changed: Option<bool>,
    /// `notifications/resources/updated` for these URIs (replaces `resources/subscribe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_subscriptions: Option<Vec<String>>,
    /// Fields this version does not know (the tasks extension's `taskIds`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SubscriptionFilter {
    /// Nothing asked for.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also `notifications/tools/list_changed`.
    pub fn tools_list_changed(mut self) -> Self {
        self.tools_list_changed = Some(true);
        self
    }

    /// Also `notifications/prompts/list_changed`.
    pub fn prompts_list_changed(mut self) -> Self {
        self.prompts_list_changed = Some(true);
        self
    }

    /// Also `notifications/resources/list_changed`.
    pub fn resources_list_changed(mut self) -> Self {
        self.resources_list_changed = Some(true);
        self
    }

    /// Also `notifications/resources/updated` for `uri`.
    pub fn resource(mut self, uri: impl Into<String>) -> Self {
        self.resource_subscriptions
            .get_or_insert_with(Vec::new)
            .push(uri.into());
        self
    }

    /// Asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.tools_list_changed != Some(true)
            && self.prompts_list_changed != Some(true)
            && self.resources_list_changed != Some(true)
            && self
                .resource_subscriptions
                .as_ref()
                .is_none_or(Vec::is_empty)
            && self.extra.is_empty()
    }

    /// What this filter (the request) asks for that `acknowledged` (the server's
    /// acknowledgement) does not grant: "The client SHOULD check the acknowledged filter
    /// against what it requested and handle any unsupported types gracefully." Unknown fields
    /// count as not granted when the acknowledgement lacks them.
    pub fn not_granted(&self, acknowledged: &SubscriptionFilter) -> SubscriptionFilter {
        let flag = |asked: Option<bool>, got: Option<bool>| {
            (asked == Some(true) && got != Some(true)).then_some(true)
        };
        let granted = acknowledged
            .resource_subscriptions
            .as_deref()
            .unwrap_or(&[]);
        let resources: Vec<String> = self
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|u| !granted.contains(u))
            .cloned()
            .collect();
        SubscriptionFilter {
            tools_list_changed: flag(self.tools_list_changed, acknowledged.tools_list_changed),
            prompts_list_changed: flag(
                self.prompts_list_changed,
                acknowledged.prompts_list_changed,
            ),
            resources_list_changed: flag(
                self.resources_list_changed,
                acknowledged.resources_list_changed,
            ),
            resource_subscriptions: (!resources.is_empty()).then_some(resources),
            extra: self
                .extra
                .iter()
                .filter(|(k, v)| acknowledged.extra.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Parameters of `subscriptions/listen` (`SubscriptionsListenRequestParams`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListenParams {
    /// What the stream should carry (required).
    pub notifications: SubscriptionFilter,
    /// The request's `_meta` (the session adds this revision's keys).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ListenParams {
    /// Listens for what `notifications` asks for.
    pub fn new(notifications: SubscriptionFilter) -> Self {
        ListenParams {
            notifications,
            ..Default::default()
        }
    }
}

impl Request for ListenParams {
    const METHOD: &'static str = methods::SUBSCRIPTIONS_LISTEN;
    type Result = ListenResult;
}

/// Result of `subscriptions/listen`: the server closed the subscription cleanly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListenResult {
    /// The result's `_meta`: `io.modelcontextprotocol/subscriptionId` (see
    /// [`ListenResult::subscription_id`]).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (`resultType`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ListenResult {
    /// The subscription this result closes.
    pub fn subscription_id(&self) -> Option<Id> {
        self.meta.as_ref().and_then(subscription_id_in)
    }
}

/// Parameters of `notifications/subscriptions/acknowledged`: the first message of a
/// subscription, saying what the server agreed to send.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AcknowledgedParams {
    /// "The subset of requested notification types the server agreed to honor."
    pub notifications: SubscriptionFilter,
    /// The notification's `_meta`: `io.modelcontextprotocol/subscriptionId`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AcknowledgedParams {
    /// The subscription acknowledged.
    pub fn subscription_id(&self) -> Option<Id> {
        self.meta.as_ref().and_then(subscription_id_in)
    }
}

impl Notification for AcknowledgedParams {
    const METHOD: &'static str = methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED;
}

/// `_meta["io.modelcontextprotocol/subscriptionId"]`, if it is a request id.
pub fn subscription_id_in(meta: &Meta) -> Option<Id> {
    serde_json::from_value(meta.get(SUBSCRIPTION_ID_KEY)?.clone()).ok()
}

#[derive(Deserialize)]
struct WithMeta<'a> {
    #[serde(rename = "_meta", default, borrow)]
    meta: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SubscriptionMeta {
    #[serde(rename = "io.modelcontextprotocol/subscriptionId", default)]
    id: Option<Id>,
}

/// The subscription a notification was delivered on: `params._meta
/// ["io.modelcontextprotocol/subscriptionId"]`, the JSON-RPC id of the `subscriptions/listen`
/// request whose stream carried it. `None` on a notification of an in-flight request
/// (progress, log messages), or when the value is not an id.
///
/// Cheap: params whose text holds neither `subscriptionId` nor a `\u` escape are not parsed.
pub fn subscription_id(params: Option<&RawValue>) -> Option<Id> {
    let text = params?.get();
    let bytes = text.as_bytes();
    if memmem::find(bytes, b"subscriptionId").is_none() && memmem::find(bytes, b"\\u").is_none() {
        return None;
    }
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let meta = serde_json::from_str::<WithMeta<'_>>(text).ok()?.meta?;
    serde_json::from_str::<SubscriptionMeta>(meta.get())
        .ok()?
        .id
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn discover_result_as_the_spec_example() {
        let r: DiscoverResult = serde_json::from_value(json!({
            "resultType": "complete", "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}, "resources": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "ExampleServer", "version": "1.0.0"}},
            "instructions": "This server provides weather and resource utilities.",
            "ttlMs": 3600000, "cacheScope": "public"
        }))
        .unwrap();
        assert_eq!(r.supported_versions, ["2026-07-28"]);
        assert!(r.capabilities.tools.is_some());
        assert!(r.capabilities.extra.contains_key("extensions"));
        assert_eq!(r.server_info.as_ref().unwrap().name, "ExampleServer");
        assert_eq!(
            r.instructions.as_deref(),
            Some("This server provides weather and resource utilities.")
        );
        assert_eq!(r.ttl(), 3_600_000);
        assert!(r.is_public());
        assert_eq!(r.extra["resultType"], "complete");
        assert_eq!(
            r.choose_version(&["2026-07-28", "2025-11-25"]),
            Some("2026-07-28")
        );
        let info = r.clone().into_server_info("2026-07-28");
        assert_eq!(info.protocol_version, "2026-07-28");
        assert_eq!(info.server_info.name, "ExampleServer");
        assert_eq!(info.extra["supportedVersions"], json!(["2026-07-28"]));
        // A round trip keeps what was read.
        let again: DiscoverResult =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn discover_result_of_the_conformance_mocks() {
        // request-metadata: serverInfo in the body, no cache fields.
        let r: DiscoverResult = serde_json::from_value(json!({
            "resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": {},
            "serverInfo": {"name": "test", "version": "1.0"}
        }))
        .unwrap();
        assert_eq!(r.server_info.as_ref().unwrap().name, "test");
        assert_eq!(r.ttl(), 0);
        assert!(!r.is_public());
        // The stateless mock: serverInfo in _meta, ttlMs 0, private.
        let r: DiscoverResult = serde_json::from_value(json!({
            "resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {"listChanged": true}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "conformance-mock-server", "version": "1.0.0"}},
            "ttlMs": 0, "cacheScope": "private"
        }))
        .unwrap();
        assert_eq!(r.server_info.unwrap().name, "conformance-mock-server");
    }

    #[test]
    fn discover_result_leniency() {
        // _meta wins over the body; a bad serverInfo, ttlMs or cacheScope is dropped.
        let r: DiscoverResult = serde_json::from_value(json!({
            "supportedVersions": [],
            "serverInfo": {"name": "body", "version": "1"},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "meta", "version": "2"}},
        }))
        .unwrap();
        assert_eq!(r.server_info.unwrap().name, "meta");
        assert_eq!(r.capabilities, ServerCapabilities::default());
        let r: DiscoverResult = serde_json::from_value(json!({
            "supportedVersions": ["v"], "serverInfo": 5, "ttlMs": "soon", "cacheScope": 1
        }))
        .unwrap();
        assert!(r.server_info.is_none() && r.ttl_ms.is_none() && r.cache_scope.is_none());
        for (ttl, want) in [(json!(-5), 0), (json!(1.9), 1), (json!(1e300), u64::MAX)] {
            let r: DiscoverResult =
                serde_json::from_value(json!({"supportedVersions": [], "ttlMs": ttl})).unwrap();
            assert_eq!(r.ttl(), want);
        }
        // supportedVersions is what makes it a DiscoverResult.
        assert!(serde_json::from_value::<DiscoverResult>(json!({"capabilities": {}})).is_err());
        assert!(serde_json::from_value::<DiscoverResult>(
            json!({"supportedVersions": "2026-07-28"})
        )
        .is_err());
        let info = DiscoverResult::new(vec!["2026-07-28".into()], ServerCapabilities::default())
            .into_server_info("2026-07-28");
        assert_eq!(info.server_info, Implementation::default());
    }

    #[test]
    fn listen_params_as_the_spec_example() {
        let p = ListenParams::new(
            SubscriptionFilter::new()
                .tools_list_changed()
                .resource("file:///project/config.json"),
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["file:///project/config.json"]}})
        );
        assert_eq!(<ListenParams as Request>::METHOD, "subscriptions/listen");
        assert_eq!(<DiscoverParams as Request>::METHOD, "server/discover");
        assert_eq!(
            serde_json::to_value(DiscoverParams::new()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn acknowledgement_and_what_was_not_granted() {
        let ack: AcknowledgedParams = serde_json::from_value(json!({
            "_meta": {"io.modelcontextprotocol/subscriptionId": 1},
            "notifications": {"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]}
        }))
        .unwrap();
        assert_eq!(ack.subscription_id(), Some(Id::Number(1)));
        let asked = SubscriptionFilter::new()
            .tools_list_changed()
            .prompts_list_changed()
            .resource("file:///a")
            .resource("file:///b");
        let mut asked = asked;
        asked.extra.insert("taskIds".into(), json!(["t1"]));
        let missing = asked.not_granted(&ack.notifications);
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({"promptsListChanged": true, "resourceSubscriptions": ["file:///b"], "taskIds": ["t1"]})
        );
        assert!(asked.not_granted(&asked).is_empty());
        assert!(SubscriptionFilter::new().is_empty());
        assert!(!SubscriptionFilter::new()
            .resources_list_changed()
            .is_empty());
        assert_eq!(
            <AcknowledgedParams as Notification>::METHOD,
            "notifications/subscriptions/acknowledged"
        );
    }

    #[test]
    fn listen_result_closes_a_subscription() {
        let r: ListenResult = serde_json::from_value(json!({
            "resultType": "complete", "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}
        }))
        .unwrap();
        assert_eq!(r.subscription_id(), Some(Id::String("listen-1".into())));
        assert_eq!(ListenResult::default().subscription_id(), None);
    }

    #[test]
    fn subscription_id_of_notification_params() {
        for (params, id) in [
            (
                r#"{"_meta":{"io.modelcontextprotocol/subscriptionId":1}}"#,
                Some(Id::Number(1)),
            ),
            (
                r#"{"uri":"file:///a","_meta":{"io.modelcontextprotocol/subscriptionId":"s-1","x":[1]}}"#,
                Some(Id::String("s-1".into())),
            ),
            (
                r#"{"_meta":{"io.modelcontextprotocol/\u0073ubscriptionId":2}}"#,
                Some(Id::Number(2)),
            ),
            (r#"{"progressToken":1,"progress":0.5}"#, None),
            (
                r#"{"_meta":{"io.modelcontextprotocol/subscriptionId":1.5}}"#,
                None,
            ),
            (
                r#"{"_meta":{"io.modelcontextprotocol/subscriptionId":null}}"#,
                None,
            ),
            (r#"{"_meta":"subscriptionId"}"#, None),
            (r#"["subscriptionId"]"#, None),
            (r#"{"text":"subscriptionId"}"#, None),
        ] {
            assert_eq!(subscription_id(Some(&raw(params))), id, "{params}");
        }
        assert_eq!(subscription_id(None), None);
    }
}
