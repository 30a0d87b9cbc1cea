//! The tasks sub-machine (2025-11-25): follows each task-augmented request from its
//! `CreateTaskResult` to its end, deciding when to poll (`tasks/get`, at the server's
//! `pollInterval`), when to fetch the result (`tasks/result`: at a terminal status, and early
//! at `input_required`, where the server asks its questions on that request), and when a task
//! has ended without one (cancelled, expired, forgotten by the server, too many failed polls).
//! It owns no requests and no timers: it says what to do ([`Do`]) and the session does it.
//!
//! A task-augmented request stays the application's one request throughout: its single
//! completion is the underlying request's result (or why there is none), and every status it
//! goes through comes as `Event::TaskStatus` before it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::jsonrpc::{ErrorObject, RawJson};
use crate::schema::{CreateTaskResult, Task, TaskStatus};
use crate::{RequestError, RequestId, TaskError};

/// The poll interval when the server suggests none.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// The bounds put on a server's `pollInterval`: no faster (a hostile server cannot make the
/// client poll in a loop), no slower (a status change is seen within this).
pub(crate) const MIN_POLL: Duration = Duration::from_millis(100);
pub(crate) const MAX_POLL: Duration = Duration::from_secs(30);
/// Failed polls in a row (timeouts, transport errors) before the task fails with the last.
pub(crate) const MAX_FAILED_POLLS: u32 = 3;

/// What the session does for the tasks.
#[derive(Debug)]
pub(crate) enum Do {
    /// `tasks/get` for the task of request `id` (its poll; the session remembers whose).
    Get { id: RequestId, task_id: Arc<str> },
    /// `tasks/result` for it, with at most `timeout` to answer.
    Fetch {
        id: RequestId,
        task_id: Arc<str>,
        timeout: Duration,
    },
    /// `tasks/cancel` for it, whose answer matters to no one.
    Cancel { task_id: Arc<str> },
    /// Poll again at this instant.
    PollAt { id: RequestId, at: Instant },
    /// The task's last instant: its TTL, or the wait's bound.
    DeadlineAt { id: RequestId, at: Instant },
    /// Tell the application.
    Status { id: RequestId, task: Box<Task> },
    /// The request ends with this.
    Complete {
        id: RequestId,
        result: Result<RawJson, RequestError>,
    },
}

/// Which of a task's requests a reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Get,
    Fetch,
    Cancel,
}

#[derive(Debug)]
struct Entry {
    /// Known once the server created the task.
    task_id: Option<Arc<str>>,
    status: Option<TaskStatus>,
    /// The last `statusMessage`: a change of it is news too.
    message: Option<String>,
    poll: Duration,
    /// The wait's bound: the caller's timeout from the start, or the policy's.
    deadline: Instant,
    fetching: bool,
    failed_polls: u32,
}

/// Every task-augmented request in progress, by the application's request id.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    entries: BTreeMap<RequestId, Entry>,
    by_task: BTreeMap<Arc<str>, RequestId>,
}

impl Tasks {
    /// Whether there are none (the hot path checks this first).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `id` is a task-augmented request still waiting for its `CreateTaskResult`.
    pub(crate) fn is_creating(&self, id: RequestId) -> bool {
        self.entries.get(&id).is_some_and(|e| e.task_id.is_none())
    }

    /// Whether `id` is a created task (its request was answered; it runs on the server).
    pub(crate) fn task_id(&self, id: RequestId) -> Option<Arc<str>> {
        self.entries.get(&id).and_then(|e| e.task_id.clone())
    }

    /// Request `id` goes out task-augmented; its wait ends by `deadline` at the latest.
    pub(crate) fn start(&mut self, id: RequestId, deadline: Instant) {
        self.entries.insert(
            id,
            Entry {
                task_id: None,
                status: None,
                message: None,
                poll: DEFAULT_POLL,
                deadline,
                fetching: false,
                failed_polls: 0,
            },
        );
    }

    /// The request ended (the session completes it): forgotten.
    pub(crate) fn forget(&mut self, id: RequestId) {
        if let Some(e) = self.entries.remove(&id) {
            if let Some(t) = e.task_id {
                self.by_task.remove(&t);
            }
        }
    }

    /// The answer to the task-augmented request itself.
    pub(crate) fn on_created(&mut self, now: Instant, id: RequestId, raw: RawJson) -> Vec<Do> {
        let created = match serde_json::from_str::<CreateTaskResult>(raw.get()) {
            Ok(c) => c,
            Err(_) => {
                // A server that ran the request at once (no task) answered it: that is the
                // result.
                return vec![Do::Complete {
                    id,
                    result: Ok(raw),
                }];
            }
        };
        let task = created.task;
        let task_id: Arc<str> = Arc::from(task.task_id.as_str());
        let Some(entry) = self.entries.get_mut(&id) else {
            return Vec::new();
        };
        entry.task_id = Some(task_id.clone());
        self.by_task.insert(task_id, id);
        let mut out = Vec::new();
        // Its TTL bounds the wait too: past it the server may have forgotten the task.
        let mut deadline = entry.deadline;
        if let Some(ttl) = task.ttl {
            deadline = deadline.min(later(now, Duration::from_millis(ttl)));
        }
        entry.deadline = deadline;
        out.push(Do::DeadlineAt { id, at: deadline });
        self.on_task(now, id, task, &mut out);
        out
    }

    /// A `tasks/get` answer or a status notification for request `id`.
    fn on_task(&mut self, now: Instant, id: RequestId, task: Task, out: &mut Vec<Do>) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let Some(task_id) = entry.task_id.clone() else {
            return;
        };
        entry.failed_polls = 0;
        if let Some(ms) = task.poll_interval {
            entry.poll = Duration::from_millis(ms).clamp(MIN_POLL, MAX_POLL);
        }
        // Terminal is terminal: a later report of another status is not believed.
        if entry.status.is_some_and(TaskStatus::is_terminal) {
            return;
        }
        let changed = entry.status != Some(task.status) || entry.message != task.status_message;
        entry.status = Some(task.status);
        entry.message.clone_from(&task.status_message);
        let status = task.status;
        if changed {
            out.push(Do::Status {
                id,
                task: Box::new(task),
            });
        }
        match status {
            TaskStatus::Cancelled => out.push(Do::Complete {
                id,
                result: Err(RequestError::Task(TaskError::Cancelled {
                    task_id: task_id.to_string(),
                })),
            }),
            TaskStatus::Completed | TaskStatus::Failed => {
                if !entry.fetching {
                    entry.fetching = true;
                    out.push(Do::Fetch {
                        id,
                        task_id,
                        timeout: entry.deadline.saturating_duration_since(now),
                    });
                }
            }
            TaskStatus::InputRequired => {
                // The server asks its questions on `tasks/result`: open it now (and keep
                // polling, as the spec says for a requestor not blocked on it).
                if !entry.fetching {
                    entry.fetching = true;
                    out.push(Do::Fetch {
                        id,
                        task_id,
                        timeout: entry.deadline.saturating_duration_since(now),
                    });
                }
                out.push(Do::PollAt {
                    id,
                    at: later(now, entry.poll),
                });
            }
            TaskStatus::Working => out.push(Do::PollAt {
                id,
                at: later(now, entry.poll),
            }),
        }
    }

    /// `notifications/tasks/status`, with its params.
    pub(crate) fn on_notification(&mut self, now: Instant, params: serde_json::Value) -> Vec<Do> {
        let Ok(task) = serde_json::from_value::<Task>(params) else {
            return Vec::new();
        };
        let Some(&id) = self.by_task.get(task.task_id.as_str()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.on_task(now, id, task, &mut out);
        out
    }

    /// A poll is due.
    pub(crate) fn on_poll(&mut self, id: RequestId) -> Vec<Do> {
        match self.entries.get(&id) {
            Some(Entry {
                task_id: Some(task_id),
                status,
                ..
            }) if !status.is_some_and(TaskStatus::is_terminal) => vec![Do::Get {
                id,
                task_id: task_id.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// The task's deadline passed without its result.
    pub(crate) fn on_deadline(&mut self, id: RequestId) -> Vec<Do> {
        let Some(entry) = self.entries.get(&id) else {
            return Vec::new();
        };
        let task_id = entry.task_id.as_deref().unwrap_or("").to_owned();
        let mut out = Vec::new();
        if let Some(t) = &entry.task_id {
            // The client gives up on it: the server may stop it.
            out.push(Do::Cancel { task_id: t.clone() });
        }
        out.push(Do::Complete {
            id,
            result: Err(RequestError::Task(TaskError::Expired { task_id })),
        });
        out
    }

    /// The application cancels request `id`: for a created task, `tasks/cancel` goes.
    pub(crate) fn on_cancel(&mut self, id: RequestId) -> Vec<Do> {
        match self.entries.get(&id) {
            Some(Entry {
                task_id: Some(t),
                status,
                ..
            }) if !status.is_some_and(TaskStatus::is_terminal) => {
                vec![Do::Cancel { task_id: t.clone() }]
            }
            _ => Vec::new(),
        }
    }

    /// The reply to one of the task's own requests.
    pub(crate) fn on_reply(
        &mut self,
        now: Instant,
        id: RequestId,
        call: Call,
        result: Result<RawJson, RequestError>,
    ) -> Vec<Do> {
        let mut out = Vec::new();
        let Some(entry) = self.entries.get_mut(&id) else {
            return out;
        };
        let task_id = entry.task_id.as_deref().unwrap_or("").to_owned();
        match (call, result) {
            (Call::Cancel, _) => {}
            // The underlying request's own result, or its error.
            (Call::Fetch, Ok(raw)) => out.push(Do::Complete {
                id,
                result: Ok(raw),
            }),
            (Call::Fetch, Err(RequestError::Rpc(e))) if e.code != ErrorObject::INVALID_PARAMS => {
                out.push(Do::Complete {
                    id,
                    result: Err(RequestError::Rpc(e)),
                })
            }
            (Call::Fetch | Call::Get, Err(RequestError::Rpc(e)))
                if e.code == ErrorObject::INVALID_PARAMS =>
            {
                // The server does not know the task (expired, or forgotten).
                out.push(Do::Complete {
                    id,
                    result: Err(RequestError::Task(TaskError::NotFound { task_id })),
                })
            }
            (Call::Fetch, Err(e)) => {
                // A `tasks/result` opened early (input_required) that broke: polling goes on
                // and opens it again when it is needed.
                entry.fetching = false;
                if entry.status.is_some_and(TaskStatus::is_terminal) {
                    out.push(Do::Complete { id, result: Err(e) });
                }
            }
            (Call::Get, Ok(raw)) => match serde_json::from_str::<Task>(raw.get()) {
                Ok(task) => self.on_task(now, id, task, &mut out),
                Err(e) => out.push(Do::Complete {
                    id,
                    result: Err(RequestError::Protocol(crate::ProtocolError::InvalidResult(
                        crate::error::sanitize(&format!("tasks/get: {e}")).into(),
                    ))),
                }),
            },
            (Call::Get, Err(e)) => {
                entry.failed_polls += 1;
                if entry.failed_polls >= MAX_FAILED_POLLS {
                    out.push(Do::Complete { id, result: Err(e) });
                } else {
                    out.push(Do::PollAt {
                        id,
                        at: later(now, entry.poll),
                    });
                }
            }
        }
        out
    }
}

fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or(now + Duration::from_secs(86_400 * 365))
}
