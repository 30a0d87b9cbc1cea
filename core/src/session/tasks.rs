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
//!
//! 2026-07-28 moved tasks into an extension (`io.modelcontextprotocol/tasks`, SEP-2663), and
//! the same machine follows those too (an entry's `extension`): the server decides to make a
//! task (a `tools/call` result with `resultType: "task"`, the task's fields inline); `tasks/get`
//! carries the outcome itself (`result` when completed, `error` when failed), so there is no
//! `tasks/result`; at `input_required` it lists `inputRequests`, which the application answers
//! like any input request and the client sends with `tasks/update` — each key once ("Clients
//! SHOULD deduplicate `inputRequests` keys across consecutive polls"); status notifications
//! are `notifications/tasks`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::jsonrpc::{ErrorObject, RawJson};
use crate::schema::{CreateTaskResult, ServerRequest, Task, TaskStatus};
use crate::{RequestError, RequestId, TaskError};

/// The poll interval when the server suggests none.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// The bounds put on a server's `pollInterval`: no faster (a hostile server cannot make the
/// client poll in a loop), no slower (a status change is seen within this).
pub(crate) const MIN_POLL: Duration = Duration::from_millis(100);
pub(crate) const MAX_POLL: Duration = Duration::from_secs(30);
/// Failed polls in a row (timeouts, transport errors) before the task fails with the last.
pub(crate) const MAX_FAILED_POLLS: u32 = 3;
/// The input requests one task (of the extension) may make over its life: each key is
/// remembered, so that it is asked once, and a server cannot make that memory grow forever.
pub(crate) const MAX_TASK_INPUTS: usize = 256;

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
    /// Extension: hand the application input request `key` of the task of `id` (answered
    /// with [`Tasks::on_input_answer`]).
    Ask {
        id: RequestId,
        key: String,
        request: Box<ServerRequest>,
    },
    /// Extension: `tasks/update` for it with these `inputResponses`.
    Update {
        id: RequestId,
        task_id: Arc<str>,
        responses: Value,
    },
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
    Update,
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
    /// The 2026-07-28 extension's task (outcome inline, input through `tasks/update`), else
    /// 2025-11-25's.
    extension: bool,
    /// Extension: the `inputRequests` keys handed to the application so far.
    asked: BTreeSet<String>,
}

impl Entry {
    /// A request followed for its task from now on, waiting until `deadline` at the latest.
    fn new(deadline: Instant, extension: bool) -> Entry {
        Entry {
            task_id: None,
            status: None,
            message: None,
            poll: DEFAULT_POLL,
            deadline,
            fetching: false,
            failed_polls: 0,
            extension,
            asked: BTreeSet::new(),
        }
    }
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

    /// Request `id` goes out task-augmented (2025-11-25), or may be answered with a task (the
    /// `extension`, when the application asked for a task's wait); its wait ends by
    /// `deadline` at the latest.
    pub(crate) fn start(&mut self, id: RequestId, deadline: Instant, extension: bool) {
        self.entries.insert(id, Entry::new(deadline, extension));
    }

    /// The extension's `CreateTaskResult` (`resultType: "task"`, the task's fields inline)
    /// answered request `id`; a request started without [`Tasks::start`] waits until
    /// `deadline` (its own).
    pub(crate) fn on_created_inline(
        &mut self,
        now: Instant,
        id: RequestId,
        raw: RawJson,
        deadline: Instant,
    ) -> Vec<Do> {
        self.entries
            .entry(id)
            .or_insert_with(|| Entry::new(deadline, true));
        self.on_created(now, id, raw)
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
        let Some(entry) = self.entries.get_mut(&id) else {
            return Vec::new();
        };
        let created = match entry.extension {
            true => serde_json::from_str::<Task>(raw.get()).map_err(|e| Some(e.to_string())),
            false => serde_json::from_str::<CreateTaskResult>(raw.get())
                .map(|c| c.task)
                .map_err(|_| None),
        };
        let task = match created {
            Ok(task) => task,
            // A server that ran the request at once (no task) answered it: that is the
            // result.
            Err(None) => {
                return vec![Do::Complete {
                    id,
                    result: Ok(raw),
                }]
            }
            // The extension's task result said it was one, and is not.
            Err(Some(e)) => {
                return vec![Do::Complete {
                    id,
                    result: Err(invalid(&format!("CreateTaskResult: {e}"))),
                }]
            }
        };
        let task_id: Arc<str> = Arc::from(task.task_id.as_str());
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
    fn on_task(&mut self, now: Instant, id: RequestId, mut task: Task, out: &mut Vec<Do>) {
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
        // The extension's outcome and questions come inline; the status the application
        // sees is the task without them.
        let payload = match entry.extension {
            true => Some(Payload::take(&mut task)),
            false => None,
        };
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
        if let Some(payload) = payload {
            return Self::on_extension_task(now, id, entry, task_id, status, payload, out);
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

    /// What the extension's task does next, at `status`.
    fn on_extension_task(
        now: Instant,
        id: RequestId,
        entry: &mut Entry,
        task_id: Arc<str>,
        status: TaskStatus,
        payload: Payload,
        out: &mut Vec<Do>,
    ) {
        match status {
            TaskStatus::Completed => out.push(Do::Complete {
                id,
                result: match payload.result {
                    Some(v) => serde_json::value::to_raw_value(&v)
                        .map_err(|e| invalid(&format!("tasks/get: {e}"))),
                    None => Err(invalid("tasks/get: a completed task without its result")),
                },
            }),
            TaskStatus::Failed => out.push(Do::Complete {
                id,
                result: Err(
                    match payload.error.map(serde_json::from_value::<ErrorObject>) {
                        Some(Ok(e)) => RequestError::Rpc(e),
                        _ => invalid("tasks/get: a failed task without its JSON-RPC error"),
                    },
                ),
            }),
            TaskStatus::Cancelled => out.push(Do::Complete {
                id,
                result: Err(RequestError::Task(TaskError::Cancelled {
                    task_id: task_id.to_string(),
                })),
            }),
            TaskStatus::InputRequired | TaskStatus::Working => {
                let asks = match payload.input_requests {
                    None => Ok(BTreeMap::new()),
                    Some(v) => serde_json::value::to_raw_value(&v)
                        .map_err(|e| e.to_string())
                        .and_then(|raw| {
                            crate::modern::results::parse_input_requests(&raw)
                                .map_err(|e| e.to_string())
                        }),
                };
                let asks = match asks {
                    Ok(asks) => asks,
                    Err(e) => {
                        out.push(Do::Cancel { task_id });
                        out.push(Do::Complete {
                            id,
                            result: Err(invalid(&format!("tasks/get: {e}"))),
                        });
                        return;
                    }
                };
                for (key, request) in asks {
                    if entry.asked.contains(&key) {
                        continue;
                    }
                    if entry.asked.len() >= MAX_TASK_INPUTS {
                        out.push(Do::Cancel { task_id });
                        out.push(Do::Complete {
                            id,
                            result: Err(RequestError::Input(
                                format!(
                                    "the task asked for input more than {MAX_TASK_INPUTS} times"
                                )
                                .into(),
                            )),
                        });
                        return;
                    }
                    entry.asked.insert(key.clone());
                    out.push(Do::Ask {
                        id,
                        key,
                        request: Box::new(request),
                    });
                }
                out.push(Do::PollAt {
                    id,
                    at: later(now, entry.poll),
                });
            }
        }
    }

    /// Extension: the application answered input request `key` of the task of request `id`.
    pub(crate) fn on_input_answer(
        &mut self,
        id: RequestId,
        key: String,
        result: Result<Value, ErrorObject>,
    ) -> Vec<Do> {
        let Some(task_id) = self.task_id(id) else {
            return Vec::new();
        };
        match result {
            Ok(answer) => {
                let mut responses = serde_json::Map::new();
                responses.insert(key, answer);
                vec![Do::Update {
                    id,
                    task_id,
                    responses: Value::Object(responses),
                }]
            }
            // The task cannot go on without it: it is given up, and the server told.
            Err(e) => vec![
                Do::Cancel { task_id },
                Do::Complete {
                    id,
                    result: Err(RequestError::Input(
                        crate::error::sanitize(&format!(
                            "the client could not answer {key:?}: {}",
                            e.message
                        ))
                        .into(),
                    )),
                },
            ],
        }
    }

    /// `notifications/tasks/status` (or the extension's `notifications/tasks`), with its
    /// params.
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
            (Call::Cancel, _) | (Call::Update, Ok(_)) => {}
            (Call::Update, Err(RequestError::Rpc(e))) if e.code == ErrorObject::INVALID_PARAMS => {
                out.push(Do::Complete {
                    id,
                    result: Err(RequestError::Task(TaskError::NotFound { task_id })),
                })
            }
            // The answer did not reach the task, which would wait for it: given up.
            (Call::Update, Err(e)) => {
                if let Some(t) = entry.task_id.clone() {
                    out.push(Do::Cancel { task_id: t });
                }
                out.push(Do::Complete { id, result: Err(e) });
            }
            // A failed task's result that does not say it failed: the status is believed.
            (Call::Fetch, Ok(raw))
                if entry.status == Some(TaskStatus::Failed) && !says_is_error(&raw) =>
            {
                out.push(Do::Complete {
                    id,
                    result: Err(RequestError::Task(TaskError::Failed {
                        task_id,
                        message: entry.message.as_deref().map(crate::error::sanitize),
                    })),
                })
            }
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

/// The extension's inline fields of a `tasks/get` answer (or `notifications/tasks`), taken
/// out of the task.
struct Payload {
    result: Option<Value>,
    error: Option<Value>,
    input_requests: Option<Value>,
}

impl Payload {
    fn take(task: &mut Task) -> Payload {
        // Not the task's: what kind of result carried it.
        task.extra.remove("resultType");
        Payload {
            result: task.extra.remove("result"),
            error: task.extra.remove("error"),
            input_requests: task.extra.remove("inputRequests"),
        }
    }
}

/// Whether a result says `"isError": true` (a tool's failure, which a failed task's result
/// may be).
fn says_is_error(raw: &RawJson) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default, rename = "isError")]
        is_error: Option<bool>,
    }
    serde_json::from_str::<Head>(raw.get()).is_ok_and(|h| h.is_error == Some(true))
}

fn invalid(why: &str) -> RequestError {
    RequestError::Protocol(crate::ProtocolError::InvalidResult(
        crate::error::sanitize(why).into(),
    ))
}

fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or(now + Duration::from_secs(86_400 * 365))
}
