//! The pieces of the 2026-07-28 revision ("modern": per-request metadata, no `initialize`),
//! as pure functions and small types the session calls. None of them holds a request, a
//! timer or a transport; each takes JSON text or values and returns JSON text, headers or a
//! classification.
//!
//! | Piece | What it does | When the session calls it |
//! |---|---|---|
//! | [`meta`] | [`RequestMeta::apply`]: `params._meta` with `protocolVersion`, `clientCapabilities`, `clientInfo`, `logLevel` | every request, just before it is encoded (after an MRTR retry's params are built) |
//! | [`headers`] | [`request_headers`]: `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`; [`protocol_version_header`] | every HTTP POST (stdio: none) |
//! | [`headers`] | [`filter_tools_list`] and [`ToolHeaderPlans`] | every `tools/list` result over HTTP, before it is delivered |
//! | [`results`] | [`classify_result`]: complete or [`InputRequired`] | every result of a modern request |
//! | [`results`] | [`retry_params`]: the MRTR retry, `requestState` byte for byte | when the application has answered the `inputRequests` |
//! | [`errors`] | [`recognize`]: `-32020`, `-32021`, `-32022` | every JSON-RPC error of a modern request |
//! | [`era`] | [`classify_discover_http`], [`classify_discover_answer`]: modern, legacy, or no signal | the answer to the `server/discover` probe |
//! | [`schema`] | [`DiscoverResult`], [`SubscriptionFilter`], [`ListenParams`], [`subscription_id`] | discovery, `subscriptions/listen`, demultiplexing its notifications |
//!
//! Everything here follows `docs/specification/2026-07-28/` and `schema/2026-07-28/schema.ts`
//! of `modelcontextprotocol/modelcontextprotocol`; each module quotes the text it follows and
//! says what it decided where the text is silent.

pub mod era;
pub mod errors;
pub mod headers;
pub mod meta;
pub(crate) mod raw;
pub mod results;
pub mod schema;

pub use era::{classify_discover_answer, classify_discover_http, LegacyEvidence, ProbeOutcome};
pub use errors::{
    choose_version, is_modern_error, recognize, ModernError, UnsupportedProtocolVersion,
    HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, UNSUPPORTED_PROTOCOL_VERSION,
};
pub use headers::{
    filter_tools_list, protocol_version_header, request_headers, FilteredTools, HeaderError,
    RejectedTool, ToolHeaderPlans, ToolHeaders,
};
pub use meta::{MetaError, RequestMeta};
pub use results::{
    classify_result, classify_result_with, may_be_a_task, parse_input_requests, retry_params,
    Classified, InputRequired, ResultError, RetryError,
};
pub use schema::{
    subscription_id, AcknowledgedParams, DiscoverParams, DiscoverResult, ListenParams,
    ListenResult, SubscriptionFilter,
};

/// The protocol revision these pieces implement.
pub const PROTOCOL_VERSION: &str = "2026-07-28";

/// JSON-RPC method names this revision adds.
pub mod methods {
    /// `server/discover` (client → server): versions, capabilities, identity.
    pub const SERVER_DISCOVER: &str = "server/discover";
    /// `subscriptions/listen` (client → server): a long-lived stream of notifications.
    pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
    /// `notifications/subscriptions/acknowledged` (server → client): the first message of a
    /// subscription.
    pub const NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED: &str =
        "notifications/subscriptions/acknowledged";
    /// `tasks/get` (tasks extension): poll a task.
    pub const TASKS_GET: &str = "tasks/get";
    /// `tasks/update` (tasks extension): answer a task's input requests.
    pub const TASKS_UPDATE: &str = "tasks/update";
    /// `tasks/cancel` (tasks extension): cancel a task.
    pub const TASKS_CANCEL: &str = "tasks/cancel";
    /// `notifications/tasks` (tasks extension, server → client): a task's full state.
    pub const NOTIFICATION_TASKS: &str = "notifications/tasks";
}

/// The tasks extension's identifier (SEP-2663), declared under `extensions` of the
/// per-request client capabilities and of the server's `server/discover` capabilities.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
