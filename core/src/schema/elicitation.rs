//! Elicitation: the server asks the user for input through the client (`elicitation/create`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{methods, Meta, Notification};

/// JSON-RPC error code a server answers with when a URL elicitation must happen first
/// (`URL_ELICITATION_REQUIRED`, since 2025-11-25); its data is [`UrlElicitationRequiredData`].
pub const URL_ELICITATION_REQUIRED: i64 = -32042;

/// How the server elicits input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitMode {
    /// A form the client shows, described by `requestedSchema`.
    #[default]
    Form,
    /// A URL the user opens out of band (since 2025-11-25).
    Url,
}

/// Parameters of `elicitation/create` (server → client), form or URL mode in one struct.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitParams {
    /// The mode; absent means form (always absent before 2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ElicitMode>,
    /// What to tell the user.
    pub message: String,
    /// Form mode: a flat JSON Schema of the answer, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_schema: Option<Value>,
    /// URL mode: the URL the user should open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// URL mode: the elicitation's id, echoed by `notifications/elicitation/complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
    /// The request's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (`task`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ElicitParams {
    /// The mode, with an absent `mode` read as form.
    pub fn effective_mode(&self) -> ElicitMode {
        self.mode.unwrap_or_default()
    }

    /// Checks that the fields the mode needs are present: `requestedSchema` for form mode,
    /// `url` and `elicitationId` for URL mode.
    pub fn validate(&self) -> Result<(), &'static str> {
        match self.effective_mode() {
            ElicitMode::Form if self.requested_schema.is_none() => {
                Err("form elicitation without `requestedSchema`")
            }
            ElicitMode::Url if self.url.is_none() => Err("URL elicitation without `url`"),
            ElicitMode::Url if self.elicitation_id.is_none() => {
                Err("URL elicitation without `elicitationId`")
            }
            _ => Ok(()),
        }
    }
}

/// What the user did with an elicitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// Submitted (form) or agreed to open the URL.
    Accept,
    /// Explicitly declined.
    Decline,
    /// Dismissed without choosing.
    Cancel,
}

/// Result of `elicitation/create` (client → server).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElicitResult {
    /// What the user did.
    pub action: ElicitAction,
    /// Form mode, accepted: the answers (strings, numbers, booleans or string arrays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ElicitResult {
    /// A result with `action` and no content.
    pub fn new(action: ElicitAction) -> Self {
        ElicitResult {
            action,
            content: None,
            meta: None,
            extra: Map::new(),
        }
    }

    /// The user accepted a form, with these answers (an object of strings, numbers, booleans
    /// or string arrays).
    pub fn accept(content: Map<String, Value>) -> Self {
        ElicitResult {
            content: Some(content),
            ..ElicitResult::new(ElicitAction::Accept)
        }
    }

    /// The user declined.
    pub fn decline() -> Self {
        ElicitResult::new(ElicitAction::Decline)
    }

    /// The user dismissed the request without choosing.
    pub fn cancel() -> Self {
        ElicitResult::new(ElicitAction::Cancel)
    }
}

/// Parameters of `notifications/elicitation/complete` (server → client, since 2025-11-25).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitationCompleteParams {
    /// The id of the URL elicitation that completed.
    pub elicitation_id: String,
    /// The notification's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Notification for ElicitationCompleteParams {
    const METHOD: &'static str = methods::NOTIFICATION_ELICITATION_COMPLETE;
}

/// The `data` of a [`URL_ELICITATION_REQUIRED`] error: the URL elicitations to complete
/// before retrying the request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlElicitationRequiredData {
    /// The elicitations, all in URL mode.
    pub elicitations: Vec<ElicitParams>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
