//! Notifications: what the server tells the client ([`ServerNotification`]) and the params of
//! those the client sends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    decode_params, methods, ElicitationCompleteParams, LoggingLevel, Meta, Notification,
    ProgressToken,
};
use crate::jsonrpc::Id;

/// Parameters of `notifications/cancelled` (either direction).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// The request to cancel. Always present for requests; optional in the 2025-11-25 schema
    /// (tasks are cancelled with `tasks/cancel` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Id>,
    /// Why, for logs or the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CancelledParams {
    /// Cancels the request `request_id`, giving `reason` if any.
    pub fn new(request_id: Id, reason: Option<String>) -> Self {
        CancelledParams {
            request_id: Some(request_id),
            reason,
            ..Default::default()
        }
    }
}

impl Notification for CancelledParams {
    const METHOD: &'static str = methods::NOTIFICATION_CANCELLED;
}

/// Parameters of `notifications/progress` (either direction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// The `progressToken` the request's `_meta` carried.
    pub progress_token: ProgressToken,
    /// Progress so far; increases with each notification.
    pub progress: f64,
    /// The total, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// What is happening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for ProgressParams {
    const METHOD: &'static str = methods::NOTIFICATION_PROGRESS;
}

/// Parameters of `notifications/initialized` (client → server).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializedParams {
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for InitializedParams {
    const METHOD: &'static str = methods::NOTIFICATION_INITIALIZED;
}

/// Parameters of `notifications/roots/list_changed` (client → server).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootsListChangedParams {
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for RootsListChangedParams {
    const METHOD: &'static str = methods::NOTIFICATION_ROOTS_LIST_CHANGED;
}

/// Parameters of `notifications/message`: a log message (server → client).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingMessageParams {
    /// Its severity.
    pub level: LoggingLevel,
    /// The logger's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The message: a string or any JSON.
    pub data: Value,
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for LoggingMessageParams {
    const METHOD: &'static str = methods::NOTIFICATION_MESSAGE;
}

/// Parameters of `notifications/resources/updated` (server → client).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUpdatedParams {
    /// The resource that changed (possibly a sub-resource of the one subscribed to).
    pub uri: String,
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for ResourceUpdatedParams {
    const METHOD: &'static str = methods::NOTIFICATION_RESOURCES_UPDATED;
}

/// A notification from the server, by method.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerNotification {
    /// `notifications/cancelled`: the server cancels a request it sent.
    Cancelled(CancelledParams),
    /// `notifications/progress`: progress of a client request.
    Progress(ProgressParams),
    /// `notifications/message`: a log message.
    LoggingMessage(LoggingMessageParams),
    /// `notifications/resources/updated`: a subscribed resource changed.
    ResourceUpdated(ResourceUpdatedParams),
    /// `notifications/resources/list_changed`.
    ResourceListChanged,
    /// `notifications/tools/list_changed`.
    ToolListChanged,
    /// `notifications/prompts/list_changed`.
    PromptListChanged,
    /// `notifications/elicitation/complete`: a URL elicitation finished.
    ElicitationComplete(ElicitationCompleteParams),
    /// A method this version does not know (`notifications/tasks/status`, extensions, ...).
    Other {
        /// The method.
        method: String,
        /// The params, as sent.
        params: Option<Value>,
    },
}

impl ServerNotification {
    /// Decodes a notification: an unknown method is [`ServerNotification::Other`]; a known
    /// method whose params do not fit is an error. The list-changed notifications ignore
    /// their params.
    pub fn parse(method: &str, params: Option<Value>) -> Result<Self, serde_json::Error> {
        Ok(match method {
            methods::NOTIFICATION_CANCELLED => Self::Cancelled(decode_params(params)?),
            methods::NOTIFICATION_PROGRESS => Self::Progress(decode_params(params)?),
            methods::NOTIFICATION_MESSAGE => Self::LoggingMessage(decode_params(params)?),
            methods::NOTIFICATION_RESOURCES_UPDATED => {
                Self::ResourceUpdated(decode_params(params)?)
            }
            methods::NOTIFICATION_RESOURCES_LIST_CHANGED => Self::ResourceListChanged,
            methods::NOTIFICATION_TOOLS_LIST_CHANGED => Self::ToolListChanged,
            methods::NOTIFICATION_PROMPTS_LIST_CHANGED => Self::PromptListChanged,
            methods::NOTIFICATION_ELICITATION_COMPLETE => {
                Self::ElicitationComplete(decode_params(params)?)
            }
            _ => Self::Other {
                method: method.to_owned(),
                params,
            },
        })
    }

    /// The notification's method.
    pub fn method(&self) -> &str {
        match self {
            Self::Cancelled(_) => methods::NOTIFICATION_CANCELLED,
            Self::Progress(_) => methods::NOTIFICATION_PROGRESS,
            Self::LoggingMessage(_) => methods::NOTIFICATION_MESSAGE,
            Self::ResourceUpdated(_) => methods::NOTIFICATION_RESOURCES_UPDATED,
            Self::ResourceListChanged => methods::NOTIFICATION_RESOURCES_LIST_CHANGED,
            Self::ToolListChanged => methods::NOTIFICATION_TOOLS_LIST_CHANGED,
            Self::PromptListChanged => methods::NOTIFICATION_PROMPTS_LIST_CHANGED,
            Self::ElicitationComplete(_) => methods::NOTIFICATION_ELICITATION_COMPLETE,
            Self::Other { method, .. } => method,
        }
    }
}
