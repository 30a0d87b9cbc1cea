//! JSON-RPC method names of MCP requests and notifications.

/// `initialize` (client → server).
pub const INITIALIZE: &str = "initialize";
/// `ping` (either direction).
pub const PING: &str = "ping";
/// `tools/list` (client → server).
pub const TOOLS_LIST: &str = "tools/list";
/// `tools/call` (client → server).
pub const TOOLS_CALL: &str = "tools/call";
/// `resources/list` (client → server).
pub const RESOURCES_LIST: &str = "resources/list";
/// `resources/templates/list` (client → server).
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// `resources/read` (client → server).
pub const RESOURCES_READ: &str = "resources/read";
/// `resources/subscribe` (client → server).
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
/// `resources/unsubscribe` (client → server).
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
/// `prompts/list` (client → server).
pub const PROMPTS_LIST: &str = "prompts/list";
/// `prompts/get` (client → server).
pub const PROMPTS_GET: &str = "prompts/get";
/// `completion/complete` (client → server).
pub const COMPLETION_COMPLETE: &str = "completion/complete";
/// `logging/setLevel` (client → server).
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// `sampling/createMessage` (server → client).
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
/// `roots/list` (server → client).
pub const ROOTS_LIST: &str = "roots/list";
/// `elicitation/create` (server → client).
pub const ELICITATION_CREATE: &str = "elicitation/create";

/// `notifications/initialized` (client → server).
pub const NOTIFICATION_INITIALIZED: &str = "notifications/initialized";
/// `notifications/cancelled` (either direction).
pub const NOTIFICATION_CANCELLED: &str = "notifications/cancelled";
/// `notifications/progress` (either direction).
pub const NOTIFICATION_PROGRESS: &str = "notifications/progress";
/// `notifications/roots/list_changed` (client → server).
pub const NOTIFICATION_ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
/// `notifications/message`: a log message (server → client).
pub const NOTIFICATION_MESSAGE: &str = "notifications/message";
/// `notifications/resources/updated` (server → client).
pub const NOTIFICATION_RESOURCES_UPDATED: &str = "notifications/resources/updated";
/// `notifications/resources/list_changed` (server → client).
pub const NOTIFICATION_RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
/// `notifications/tools/list_changed` (server → client).
pub const NOTIFICATION_TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
/// `notifications/prompts/list_changed` (server → client).
pub const NOTIFICATION_PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
/// `notifications/elicitation/complete` (server → client, since 2025-11-25).
pub const NOTIFICATION_ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
