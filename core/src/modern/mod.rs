//! The pieces of the 2026-07-28 revision ("modern": per-request metadata, no `initialize`),
//! as pure functions and small types the session calls. None of them holds a request, a
//! timer or a transport; each takes JSON text or values and returns JSON text, headers or a
//! classification.

pub mod errors;
pub mod headers;
pub mod meta;
mod raw;
pub mod results;
pub mod schema;

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
    classify_result, retry_params, Classified, InputRequired, ResultError, RetryError,
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
}
