//! Tasks (2025-11-25, SEP-1686): a request the server runs in the background. The requestor
//! sends it with `task` in its params, gets a [`CreateTaskResult`] at once, follows the task
//! with `tasks/get` (and `notifications/tasks/status`), and fetches the request's own result
//! with `tasks/result`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Poll a task's state.
pub const TASKS_GET: &str = "tasks/get";
/// The result of the task's request (the server holds the answer until the task ends).
pub const TASKS_RESULT: &str = "tasks/result";
/// The requestor's tasks, a page at a time.
pub const TASKS_LIST: &str = "tasks/list";
/// Cancel a task.
pub const TASKS_CANCEL: &str = "tasks/cancel";
/// A task's status changed (optional for the server: the requestor polls anyway).
pub const TASKS_STATUS: &str = "notifications/tasks/status";
/// The `_meta` key that ties a message to a task.
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for input from the requestor (elicitation, sampling) through `tasks/result`.
    InputRequired,
    /// Done: its result is ready.
    Completed,
    /// Done without success (a tool result with `isError` included): its result says why.
    Failed,
    /// Cancelled before it completed.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task has ended (completed, failed, cancelled): its status no longer changes.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Working => "working",
            TaskStatus::InputRequired => "input_required",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// A task as the server describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// Its identifier.
    pub task_id: String,
    /// Where it is.
    pub status: TaskStatus,
    /// What the server says of its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When it was created (ISO 8601), as the server says.
    #[serde(default)]
    pub created_at: String,
    /// When it last changed (ISO 8601).
    #[serde(default)]
    pub last_updated_at: String,
    /// How long the server keeps it from its creation, in milliseconds (`None`: unlimited).
    /// The 2026-07-28 tasks extension calls it `ttlMs`.
    #[serde(default, alias = "ttlMs")]
    pub ttl: Option<u64>,
    /// How often the server suggests polling it, in milliseconds (the extension's
    /// `pollIntervalMs`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "pollIntervalMs"
    )]
    pub poll_interval: Option<u64>,
    /// Anything else the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to a task-augmented request: the task it started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateTaskResult {
    /// The task.
    pub task: Task,
}

/// A page of `tasks/list`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListTasksResult {
    /// The tasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// The next page's cursor, opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_reads_as_the_schema_has_it() {
        let t: Task = serde_json::from_value(json!({
            "taskId": "t-1", "status": "input_required", "statusMessage": "asking",
            "createdAt": "2026-12-02T05:00:00Z", "lastUpdatedAt": "2026-12-02T05:00:01Z",
            "ttl": null, "pollInterval": 500, "x-extra": 1
        }))
        .unwrap();
        assert_eq!(t.status, TaskStatus::InputRequired);
        assert!(!t.status.is_terminal());
        assert_eq!((t.ttl, t.poll_interval), (None, Some(500)));
        assert_eq!(t.extra["x-extra"], 1);
        let created: CreateTaskResult = serde_json::from_value(json!({
            "task": {"taskId": "t-2", "status": "working", "createdAt": "", "lastUpdatedAt": "", "ttl": 60000}
        }))
        .unwrap();
        assert_eq!(created.task.ttl, Some(60000));
        for s in ["completed", "failed", "cancelled"] {
            let s: TaskStatus = serde_json::from_value(json!(s)).unwrap();
            assert!(s.is_terminal());
        }
        assert!(serde_json::from_value::<TaskStatus>(json!("paused")).is_err());
    }
}
