//! The client as a task *receiver* (2025-11-25): the tasks the client hosts for the server.
//!
//! A server may send `sampling/createMessage` or `elicitation/create` with `task` in its
//! params to a client that declared `tasks.requests.sampling.createMessage` or
//! `tasks.requests.elicitation.create`. This part answers such a request at once with a
//! `CreateTaskResult` (status `working`), hands the request to the application as a plain
//! one, and keeps what the application answers as the task's result instead of sending it. It
//! answers the server's `tasks/get`, `tasks/result` (held until the task ends), `tasks/list`
//! and `tasks/cancel` itself, and forgets each task when its TTL has passed.
//!
//! It owns no timers and sends nothing: it says what to do ([`Do`]) and the session does it.
//! It never reads a clock and draws no randomness: task ids come from the key the caller gave
//! ([`HostedTasks`](super::HostedTasks)), times from the UNIX time it gave for the session's
//! first instant.
//!
//! Bounded: at most [`Policy::max_hosted_tasks`] tasks, at most
//! [`Policy::max_hosted_task_bytes`] bytes of results, status messages and the ids of the
//! requests kept for them, and a TTL of at most [`Policy::max_hosted_task_ttl`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::jsonrpc::{ErrorObject, Id, RawJson};
use crate::schema::{ClientCapabilities, ServerRequest, TaskStatus, RELATED_TASK};
use crate::Policy;

/// The poll interval the client suggests for its tasks (`pollInterval`).
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The shortest TTL granted: a task must live long enough for the server to poll it once.
pub(crate) const MIN_TTL: Duration = Duration::from_secs(1);
/// How many of the server's `tasks/result` requests may wait for one task at once.
pub(crate) const MAX_WAITERS: usize = 4;
/// How many tasks one `tasks/list` page holds.
pub(crate) const LIST_PAGE: usize = 50;
/// The longest `statusMessage` kept (a failed handler's message), in bytes.
const MAX_STATUS_MESSAGE: usize = 256;
/// How the ids the application answers a task's request with begin
/// (`mcpwire-task-<serial>-<mac>`).
const HANDLE_PREFIX: &str = "mcpwire-task-";
/// What one task costs besides the bytes counted against the limit (the entry, its maps).
const ENTRY_OVERHEAD: usize = 320;
/// What each task counts against the byte limit from its creation: room for its status
/// message and a short error, so that its end never takes the bytes past the limit.
const RESERVED: usize = 2 * MAX_STATUS_MESSAGE + 64;

/// What the session does for the hosted tasks.
#[derive(Debug)]
pub(crate) enum Do {
    /// Send the server this answer to its request `id`.
    Respond {
        id: Id,
        result: Result<RawJson, ErrorObject>,
    },
    /// Hand the application this request, to be answered with [`Session::respond`] and `id`
    /// (the task's handle, not the server's id: that one was answered with the task).
    ///
    /// [`Session::respond`]: crate::Session::respond
    Surface { id: Id, request: Box<ServerRequest> },
    /// The task `serial` expires at this instant.
    ExpireAt { serial: u64, at: Instant },
    /// The task `serial` is gone: its timer is not needed any more.
    Forget { serial: u64 },
    /// The application's answer to request `id` is no longer wanted.
    Withdraw { id: Id },
}

/// The limits, from the policy.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_tasks: usize,
    max_bytes: usize,
    max_ttl: Duration,
}

#[derive(Debug)]
struct Entry {
    serial: u64,
    status: TaskStatus,
    message: Option<String>,
    created: Instant,
    updated: Instant,
    ttl: Duration,
    /// The id the application answers the task's request with.
    handle: Id,
    /// The application has not answered yet (and the task was not cancelled).
    running: bool,
    /// The underlying request's answer, once it ended (with the related-task `_meta`).
    result: Option<Result<RawJson, ErrorObject>>,
    /// The server's `tasks/result` requests waiting for the end.
    waiters: Vec<Id>,
    /// What this entry counts against the byte limit.
    bytes: usize,
}

/// The tasks the client hosts, by task id.
pub(crate) struct Hosted {
    /// What the client declares (`capabilities.tasks`).
    capability: Value,
    key: [u8; 32],
    /// The session's first instant, and the UNIX time then.
    epoch: (Instant, Duration),
    limits: Limits,
    next: u64,
    tasks: BTreeMap<Arc<str>, Entry>,
    /// Creation order (`tasks/list`, expiry timers).
    by_serial: BTreeMap<u64, Arc<str>>,
    /// The application's answer ids of the tasks kept.
    by_handle: BTreeMap<Id, Arc<str>>,
    bytes: usize,
}

impl std::fmt::Debug for Hosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key makes the task ids: it is never shown.
        f.debug_struct("Hosted")
            .field("tasks", &self.tasks.len())
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl Hosted {
    /// Hosting the requests of the capabilities the client declares (sampling, elicitation;
    /// `None` when it declares neither), with task ids from `key`, at UNIX time `unix_now` at
    /// instant `now`.
    pub(crate) fn new(
        now: Instant,
        capabilities: &ClientCapabilities,
        unix_now: Duration,
        key: [u8; 32],
        policy: &Policy,
    ) -> Option<Self> {
        let mut requests = Map::new();
        if capabilities.sampling.is_some() {
            requests.insert("sampling".into(), json!({ "createMessage": {} }));
        }
        if capabilities.elicitation.is_some() {
            requests.insert("elicitation".into(), json!({ "create": {} }));
        }
        if requests.is_empty() {
            return None;
        }
        let capability = json!({ "list": {}, "cancel": {}, "requests": requests });
        Some(Hosted {
            capability,
            key,
            epoch: (now, unix_now),
            limits: Limits {
                max_tasks: policy.max_hosted_tasks,
                max_bytes: policy.max_hosted_task_bytes,
                max_ttl: policy.max_hosted_task_ttl.max(MIN_TTL),
            },
            next: 0,
            tasks: BTreeMap::new(),
            by_serial: BTreeMap::new(),
            by_handle: BTreeMap::new(),
            bytes: 0,
        })
    }

    /// `capabilities` with `tasks` as the client declares it (the 2025 era's `initialize`).
    pub(crate) fn declare(&self, capabilities: &ClientCapabilities) -> ClientCapabilities {
        let mut declared = capabilities.clone();
        declared
            .extra
            .insert("tasks".into(), self.capability.clone());
        declared
    }

    /// Whether a task-augmented `method` is run as a task: the client declared it.
    pub(crate) fn hosts(&self, method: &str) -> bool {
        let Some((area, verb)) = method.split_once('/') else {
            return false;
        };
        self.capability["requests"][area].get(verb).is_some()
    }

    /// How many tasks are kept.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The bytes that count against [`crate::Policy::max_hosted_task_bytes`].
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bytes held: what counts against the limit, and each entry's own.
    pub(crate) fn retained(&self) -> usize {
        self.bytes + self.tasks.len() * ENTRY_OVERHEAD
    }

    /// Whether `id` is the id a task's request was handed to the application with, kept or
    /// long gone: the application's answer to it goes to [`Hosted::on_answer`], never to the
    /// server. The id carries its own proof (a MAC under the key over its serial), so none is
    /// remembered for it, and a server, which never sees these ids, cannot make one.
    pub(crate) fn owns(&self, id: &Id) -> bool {
        let Id::String(text) = id else {
            return false;
        };
        let Some((serial, mac)) = text
            .strip_prefix(HANDLE_PREFIX)
            .and_then(|rest| rest.split_once('-'))
        else {
            return false;
        };
        serial
            .parse::<u64>()
            .is_ok_and(|n| n.to_string() == serial && self.mac(b"handle", n, 0) == mac)
    }

    /// The id the application answers task `serial`'s request with.
    fn handle(&self, serial: u64) -> Id {
        Id::String(format!(
            "{HANDLE_PREFIX}{serial}-{}",
            self.mac(b"handle", serial, 0)
        ))
    }

    /// 128 bits of SHA-256 over the key, a label, the serial and an attempt, in hex.
    fn mac(&self, label: &[u8], serial: u64, attempt: u64) -> String {
        let mut hash = Sha256::new();
        hash.update(self.key);
        hash.update(label);
        hash.update(serial.to_le_bytes());
        hash.update(attempt.to_le_bytes());
        hash.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A task-augmented request the client declared: its task is created (or it is refused
    /// at the limits), and the request goes to the application. `ttl` is what the server
    /// asked for, in milliseconds.
    pub(crate) fn create(
        &mut self,
        now: Instant,
        id: Id,
        request: ServerRequest,
        ttl: Option<u64>,
    ) -> Vec<Do> {
        let refuse = |message: String| {
            vec![Do::Respond {
                id: id.clone(),
                result: Err(ErrorObject::new(ErrorObject::INTERNAL_ERROR, message)),
            }]
        };
        if self.tasks.len() >= self.limits.max_tasks {
            return refuse(format!(
                "the client hosts at most {} tasks at once",
                self.limits.max_tasks
            ));
        }
        let bytes = RESERVED;
        if self.bytes + bytes > self.limits.max_bytes {
            return refuse(format!(
                "the client keeps at most {} bytes of task results",
                self.limits.max_bytes
            ));
        }
        let ttl = ttl
            .map_or(self.limits.max_ttl, Duration::from_millis)
            .clamp(MIN_TTL, self.limits.max_ttl);
        let serial = self.next;
        self.next += 1;
        let task_id = self.task_id(serial);
        let handle = self.handle(serial);
        let entry = Entry {
            serial,
            status: TaskStatus::Working,
            message: None,
            created: now,
            updated: now,
            ttl,
            handle: handle.clone(),
            running: true,
            result: None,
            waiters: Vec::new(),
            bytes,
        };
        self.bytes += bytes;
        let created = json!({ "task": self.describe(&task_id, &entry) });
        self.tasks.insert(task_id.clone(), entry);
        self.by_serial.insert(serial, task_id.clone());
        self.by_handle.insert(handle.clone(), task_id);
        vec![
            Do::Respond {
                id,
                result: raw(&created),
            },
            Do::ExpireAt {
                serial,
                at: later(now, ttl),
            },
            Do::Surface {
                id: handle,
                request: Box::new(request),
            },
        ]
    }

    /// The server's `tasks/get`, `tasks/result`, `tasks/list` or `tasks/cancel` (`id`).
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        id: Id,
        method: &str,
        params: Option<&Value>,
    ) -> Vec<Do> {
        let answer = |result| {
            vec![Do::Respond {
                id: id.clone(),
                result,
            }]
        };
        if method == crate::schema::TASKS_LIST {
            return answer(self.list(params));
        }
        // The `taskId` of the params is the one that counts (a related-task `_meta` is not).
        let task_id = params
            .and_then(|p| p.get("taskId"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some((key, entry)) = self.tasks.get_key_value(task_id) else {
            return answer(Err(not_found(task_id)));
        };
        let key = key.clone();
        match method {
            crate::schema::TASKS_GET => answer(raw(&self.describe(&key, entry))),
            crate::schema::TASKS_RESULT => {
                if let Some(result) = &entry.result {
                    return answer(result.clone());
                }
                let size = id_size(&id);
                if entry.waiters.len() >= MAX_WAITERS || self.bytes + size > self.limits.max_bytes {
                    return answer(Err(ErrorObject::new(
                        ErrorObject::INTERNAL_ERROR,
                        format!(
                            "at most {MAX_WAITERS} tasks/result requests may wait for one task"
                        ),
                    )));
                }
                if let Some(entry) = self.tasks.get_mut(&key) {
                    entry.waiters.push(id);
                    entry.bytes += size;
                    self.bytes += size;
                }
                Vec::new()
            }
            crate::schema::TASKS_CANCEL => self.cancel(now, id, &key),
            _ => answer(Err(ErrorObject::new(
                ErrorObject::METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            ))),
        }
    }

    fn cancel(&mut self, now: Instant, id: Id, key: &Arc<str>) -> Vec<Do> {
        let Some(entry) = self.tasks.get_mut(key) else {
            return Vec::new();
        };
        if entry.status.is_terminal() {
            let error = ErrorObject::new(
                ErrorObject::INVALID_PARAMS,
                format!(
                    "Cannot cancel task: already in terminal status '{}'",
                    entry.status.as_str()
                ),
            );
            return vec![Do::Respond {
                id,
                result: Err(error),
            }];
        }
        let mut out = Vec::new();
        if std::mem::take(&mut entry.running) {
            out.push(Do::Withdraw {
                id: entry.handle.clone(),
            });
        }
        let message = "The task was cancelled by request.";
        entry.status = TaskStatus::Cancelled;
        entry.updated = now;
        // The message and the error fit in the task's reservation.
        entry.message = Some(message.into());
        let error = ErrorObject::new(ErrorObject::INTERNAL_ERROR, "the task was cancelled");
        let mut freed = 0;
        for waiter in std::mem::take(&mut entry.waiters) {
            freed += id_size(&waiter);
            out.push(Do::Respond {
                id: waiter,
                result: Err(error.clone()),
            });
        }
        entry.bytes -= freed;
        entry.result = Some(Err(error));
        self.bytes -= freed;
        let entry = &self.tasks[key];
        out.push(Do::Respond {
            id,
            result: raw(&self.describe(key, entry)),
        });
        out
    }

    /// A page of `tasks/list`, in creation order; the cursor is opaque to the server.
    fn list(&self, params: Option<&Value>) -> Result<RawJson, ErrorObject> {
        let from = match params.and_then(|p| p.get("cursor")) {
            None | Some(Value::Null) => 0,
            Some(c) => c
                .as_str()
                .and_then(|c| c.strip_prefix("after-"))
                .and_then(|c| c.parse::<u64>().ok())
                .filter(|n| *n < self.next)
                .map(|n| n + 1)
                .ok_or_else(|| ErrorObject::new(ErrorObject::INVALID_PARAMS, "invalid cursor"))?,
        };
        let mut tasks = Vec::new();
        let mut next = None;
        for (serial, key) in self.by_serial.range(from..) {
            if tasks.len() == LIST_PAGE {
                next = Some(format!("after-{}", serial - 1));
                break;
            }
            tasks.push(self.describe(key, &self.tasks[key]));
        }
        let mut result = json!({ "tasks": tasks });
        if let Some(c) = next {
            result["nextCursor"] = json!(c);
        }
        raw(&result)
    }

    /// The application answered the request of a task (`owns(id)`): its result. An answer
    /// for a task that was cancelled, or is gone, is dropped.
    pub(crate) fn on_answer(
        &mut self,
        now: Instant,
        id: &Id,
        result: Result<Value, ErrorObject>,
    ) -> Vec<Do> {
        let Some(key) = self.by_handle.get(id).cloned() else {
            return Vec::new();
        };
        let Some(entry) = self.tasks.get_mut(&key) else {
            return Vec::new();
        };
        if !std::mem::take(&mut entry.running) {
            return Vec::new();
        }
        let (status, message, result) = match result {
            Ok(value) => match serde_json::value::to_raw_value(&with_related_task(value, &key)) {
                Ok(r) => (TaskStatus::Completed, None, Ok(r)),
                Err(e) => failed(ErrorObject::new(ErrorObject::INTERNAL_ERROR, e.to_string())),
            },
            Err(e) => failed(e),
        };
        // Within the task's reservation, or what the limit has room for; else a short error.
        let size = message.as_ref().map_or(0, String::len) + result_size(&result);
        let more = size.saturating_sub(RESERVED);
        if more > 0 && self.bytes + more > self.limits.max_bytes {
            let why = format!(
                "the result ({size} bytes) is over the client's limit for task results ({} \
                 bytes)",
                self.limits.max_bytes
            );
            let error = ErrorObject::new(ErrorObject::INTERNAL_ERROR, truncate(&why, 120));
            return self.end(
                now,
                &key,
                TaskStatus::Failed,
                Some(truncate(&why, 120)),
                Err(error),
                0,
            );
        }
        self.end(now, &key, status, message, result, more)
    }

    /// The task ends with `result` (`more` bytes beyond its reservation): the waiting
    /// `tasks/result` requests are answered.
    fn end(
        &mut self,
        now: Instant,
        key: &Arc<str>,
        status: TaskStatus,
        message: Option<String>,
        result: Result<RawJson, ErrorObject>,
        more: usize,
    ) -> Vec<Do> {
        let Some(entry) = self.tasks.get_mut(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut freed = 0;
        for waiter in std::mem::take(&mut entry.waiters) {
            freed += id_size(&waiter);
            out.push(Do::Respond {
                id: waiter,
                result: result.clone(),
            });
        }
        entry.status = status;
        entry.message = message;
        entry.updated = now;
        entry.result = Some(result);
        entry.bytes = entry.bytes + more - freed;
        self.bytes = self.bytes + more - freed;
        out
    }

    /// The TTL of task `serial` passed: it and its result are forgotten; a `tasks/result`
    /// still waiting is answered that the task expired.
    pub(crate) fn on_expiry(&mut self, serial: u64) -> Vec<Do> {
        let Some(key) = self.by_serial.remove(&serial) else {
            return Vec::new();
        };
        let Some(entry) = self.tasks.remove(&key) else {
            return Vec::new();
        };
        self.bytes -= entry.bytes;
        self.by_handle.remove(&entry.handle);
        let mut out = Vec::new();
        if entry.running {
            out.push(Do::Withdraw {
                id: entry.handle.clone(),
            });
        }
        for waiter in entry.waiters {
            out.push(Do::Respond {
                id: waiter,
                result: Err(ErrorObject::new(
                    ErrorObject::INVALID_PARAMS,
                    format!("Failed to retrieve task: Task has expired ({key})"),
                )),
            });
        }
        out
    }

    /// Every task is forgotten (the server started a new session): the handlers still running
    /// are withdrawn; nothing is answered (the old session's requests are gone with it).
    pub(crate) fn clear(&mut self) -> Vec<Do> {
        let mut out = Vec::new();
        for (_, entry) in std::mem::take(&mut self.tasks) {
            out.push(Do::Forget {
                serial: entry.serial,
            });
            if entry.running {
                out.push(Do::Withdraw { id: entry.handle });
            }
        }
        self.by_serial.clear();
        self.by_handle.clear();
        self.bytes = 0;
        out
    }

    /// The task as the protocol describes it.
    fn describe(&self, task_id: &str, entry: &Entry) -> Value {
        let mut t = json!({
            "taskId": task_id,
            "status": entry.status.as_str(),
            "createdAt": self.iso8601(entry.created),
            "lastUpdatedAt": self.iso8601(entry.updated),
            "ttl": u64::try_from(entry.ttl.as_millis()).unwrap_or(u64::MAX),
            "pollInterval": POLL_INTERVAL.as_millis() as u64,
        });
        if let Some(m) = &entry.message {
            t["statusMessage"] = json!(m);
        }
        t
    }

    /// The id of task `serial`: 128 bits of SHA-256 over the key and the serial, in hex.
    /// Unguessable without the key, and unique (a repeat of a kept id is skipped).
    fn task_id(&mut self, serial: u64) -> Arc<str> {
        let mut attempt = 0u64;
        loop {
            let id = self.mac(b"task", serial, attempt);
            if !self.tasks.contains_key(id.as_str()) {
                return id.into();
            }
            attempt += 1;
        }
    }

    /// `at` as an ISO 8601 UTC time, from the UNIX time given for the session's first instant.
    fn iso8601(&self, at: Instant) -> String {
        let (epoch, unix) = self.epoch;
        iso8601(unix.saturating_add(at.saturating_duration_since(epoch)))
    }
}

/// A UNIX time as ISO 8601 (RFC 3339) in UTC, to the millisecond: `1970-01-01T00:00:00.000Z`.
pub(crate) fn iso8601(unix: Duration) -> String {
    let secs = unix.as_secs();
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        unix.subsec_millis()
    )
}

/// How a task whose handler failed ends: `failed`, its message the error's (shortened).
fn failed(e: ErrorObject) -> (TaskStatus, Option<String>, Result<RawJson, ErrorObject>) {
    let message = truncate(&crate::error::sanitize(&e.message), MAX_STATUS_MESSAGE);
    (TaskStatus::Failed, Some(message), Err(e))
}

/// The error of a task id the client does not keep.
fn not_found(task_id: &str) -> ErrorObject {
    let shown = truncate(&crate::error::sanitize(task_id), 64);
    ErrorObject::new(
        ErrorObject::INVALID_PARAMS,
        format!("Failed to retrieve task: Task not found ({shown:?})"),
    )
}

/// A result with `_meta["io.modelcontextprotocol/related-task"] = {taskId}` (what
/// `tasks/result` must carry).
fn with_related_task(value: Value, task_id: &str) -> Value {
    let mut object = match value {
        Value::Object(m) => m,
        other => return other,
    };
    let meta = object
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(RELATED_TASK.into(), json!({ "taskId": task_id }));
    }
    Value::Object(object)
}

fn raw(value: &Value) -> Result<RawJson, ErrorObject> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| ErrorObject::new(ErrorObject::INTERNAL_ERROR, e.to_string()))
}

fn id_size(id: &Id) -> usize {
    match id {
        Id::Number(_) => 8,
        Id::String(s) => s.len() + 8,
    }
}

fn result_size(result: &Result<RawJson, ErrorObject>) -> usize {
    match result {
        Ok(r) => r.get().len(),
        Err(e) => e.message.len() + e.data.as_ref().map_or(0, |d| d.to_string().len()) + 16,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut cut = text.len().min(max);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}

fn later(now: Instant, d: Duration) -> Instant {
    super::later(now, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_read_as_iso_8601() {
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(Duration::from_millis(951_782_400_123)),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(1_764_666_000)),
            "2025-12-02T09:00:00.000Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(4_107_542_399)),
            "2100-02-28T23:59:59.000Z"
        );
    }
}
