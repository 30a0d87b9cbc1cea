//! Tool calls as tasks on the [`Client`]: a [`ToolTask`] handle (its status, a stream of its
//! status changes, its result, cancelling it), and the tasks requests by id (`tasks/list`,
//! `tasks/get`, `tasks/cancel`) for tasks the application keeps ids of.
//!
//! The core follows each task (polls at the server's interval, status notifications, its
//! deadline, input); the handle only watches: every wait it offers ends with the call's one
//! completion.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};
use futures_lite::Stream;
use mcpwire_core::jsonrpc::RawJson;
use mcpwire_core::schema::{CallToolResult, ListTasksResult, Task, TASKS_CANCEL, TASKS_GET};
use mcpwire_core::RequestError;
use serde_json::{json, Value};

use crate::client::call_tool_params;
use crate::driver::Command;
use crate::{CallOptions, Client, Error};

/// A tool call running as a task, from [`Client::call_tool_as_task`]. The call stays one
/// call: [`result`](ToolTask::result) is the tool's result once the task ends, or why there
/// is none (cancelled, expired, unknown to the server, the session ended:
/// [`RequestError::Task`] and the rest), never a wait without end.
///
/// It is a [`Stream`] of the task's status changes ([`next_status`](ToolTask::next_status)),
/// which ends when the call completes; one that falls behind sees the latest status (the
/// changes in between are not queued: the handle holds one [`Task`]). Dropping the handle
/// before the call completed cancels it (`tasks/cancel`).
pub struct ToolTask {
    watch: Arc<Watch>,
    /// The version of the status last returned.
    seen: u64,
    listener: Option<Pin<Box<EventListener>>>,
    result: Option<crate::oneshot::Receiver<Result<RawJson, RequestError>>>,
    ticket: u64,
    client: Client,
}

/// The latest status, shared with the driver's callback.
#[derive(Default)]
struct Watch {
    state: Mutex<WatchState>,
    changed: Event,
}

#[derive(Default)]
struct WatchState {
    task: Option<Task>,
    version: u64,
    /// The call completed: no status follows.
    ended: bool,
}

impl Watch {
    fn update(&self, f: impl FnOnce(&mut WatchState)) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state);
        drop(state);
        self.changed.notify(usize::MAX);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Held by the driver's status callback: when the driver lets go of it (the call
/// completed), the stream ends.
struct Ends(Arc<Watch>);

impl Drop for Ends {
    fn drop(&mut self) {
        self.0.update(|s| s.ended = true);
    }
}

impl std::fmt::Debug for ToolTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolTask")
            .field("task", &self.status())
            .field("completed", &self.result.is_none())
            .finish()
    }
}

impl ToolTask {
    /// The task as the server last described it; `None` until the server created it.
    pub fn status(&self) -> Option<Task> {
        self.watch.state().task.clone()
    }

    /// The task's id, once the server created it.
    pub fn task_id(&self) -> Option<String> {
        self.watch.state().task.as_ref().map(|t| t.task_id.clone())
    }

    /// The next status change (created, working, input_required, a new status message,
    /// the terminal status); `None` once the call completed and every change was seen.
    pub async fn next_status(&mut self) -> Option<Task> {
        futures_lite::StreamExt::next(self).await
    }

    /// Waits for the call's completion: the tool's result, or why there is none.
    pub async fn result(mut self) -> Result<CallToolResult, Error> {
        let Some(result) = self.result.take() else {
            return Err(self.client.session_error_or_closed());
        };
        let raw = self.client.reply(result.await)?;
        serde_json::from_str(raw.get()).map_err(|e| {
            Error::from(RequestError::Protocol(
                mcpwire_core::ProtocolError::InvalidResult(e.to_string().into()),
            ))
        })
    }

    /// Cancels the call: the server is sent `tasks/cancel` (once it created the task), and
    /// the call completes with [`RequestError::Cancelled`]. Returns once it completed, with
    /// its result if the task had ended first.
    pub async fn cancel(mut self) -> Result<Option<CallToolResult>, Error> {
        let Some(result) = self.result.take() else {
            return Ok(None);
        };
        // A full command queue is waited for: the cancel must reach the driver.
        if self
            .client
            .commands()
            .send(Command::Cancel(self.ticket))
            .await
            .is_err()
        {
            return Err(self.client.session_error_or_closed());
        }
        // The driver lets go of a cancelled call's reply without a value (nobody waits for
        // it): that, or the session's end, is what comes unless the task ended first.
        match result.await {
            Ok(Ok(raw)) => serde_json::from_str(raw.get()).map(Some).map_err(|e| {
                Error::from(RequestError::Protocol(
                    mcpwire_core::ProtocolError::InvalidResult(e.to_string().into()),
                ))
            }),
            Ok(Err(RequestError::Cancelled)) => Ok(None),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => match self.client.session_error() {
                Some(e) => Err(e.into()),
                None => Ok(None),
            },
        }
    }
}

impl Stream for ToolTask {
    type Item = Task;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Task>> {
        loop {
            {
                let state = self.watch.state();
                if state.version > self.seen {
                    let (version, task) = (state.version, state.task.clone());
                    drop(state);
                    self.seen = version;
                    self.listener = None;
                    return Poll::Ready(task);
                }
                if state.ended {
                    return Poll::Ready(None);
                }
            }
            match self.listener.as_mut() {
                Some(listener) => {
                    std::task::ready!(listener.as_mut().poll(cx));
                    self.listener = None;
                }
                // Listen, then look again: a change between the look and the listen is seen.
                None => self.listener = Some(Box::pin(self.watch.changed.listen())),
            }
        }
    }
}

impl Drop for ToolTask {
    fn drop(&mut self) {
        if self.result.is_some() {
            drop(
                self.client
                    .commands()
                    .try_send(Command::Cancel(self.ticket)),
            );
        }
    }
}

impl Client {
    /// Calls a tool as a task and returns its handle as soon as the request is on its way
    /// (before the server created the task). 2025-11-25: the request asks for a task
    /// (`options`' [`as_task`](CallOptions::as_task) TTL, else none), which the server must
    /// declare for `tools/call`; 2026-07-28 (the tasks extension): the server decides, and a
    /// call it answers at once completes with no status. The wait is bounded by `options`'
    /// timeout, else [`Policy::max_task_wait`](mcpwire_core::Policy::max_task_wait), and the
    /// task's TTL. An [`on_task_status`](CallOptions::on_task_status) in `options` is called
    /// too.
    pub async fn call_tool_as_task(
        &self,
        name: impl AsRef<str>,
        arguments: impl serde::Serialize,
        mut options: CallOptions,
    ) -> Result<ToolTask, Error> {
        let params = call_tool_params(name.as_ref(), &arguments)?;
        if options.task.is_none() {
            options = options.as_task(None);
        }
        let watch = Arc::new(Watch::default());
        let ends = Ends(watch.clone());
        let also = options.task_status.take();
        options = options.on_task_status(move |task| {
            ends.0.update(|s| {
                s.task = Some(task.clone());
                s.version += 1;
            });
            if let Some(f) = &also {
                f(task);
            }
        });
        let (ticket, result) =
            self.start_request("tools/call".into(), Some(params), options, None)?;
        Ok(ToolTask {
            watch,
            seen: 0,
            listener: None,
            result: Some(result),
            ticket,
            client: self.clone(),
        })
    }

    /// One page of the server's tasks (`tasks/list`, 2025-11-25; the tasks extension of
    /// 2026-07-28 has none: there it is [`RequestError::Removed`]).
    pub async fn list_tasks(&self, cursor: Option<String>) -> Result<ListTasksResult, Error> {
        let params = match cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        self.task_request(mcpwire_core::schema::TASKS_LIST, params)
            .await
    }

    /// A task by id (`tasks/get`): one the application kept the id of, or found with
    /// [`list_tasks`](Client::list_tasks). An unknown id is the server's JSON-RPC error.
    pub async fn get_task(&self, task_id: &str) -> Result<Task, Error> {
        self.task_request(TASKS_GET, json!({ "taskId": task_id }))
            .await
    }

    /// Cancels a task by id (`tasks/cancel`); 2025-11-25 answers the task as it is now,
    /// the extension only acknowledges (then this reads it with `tasks/get`).
    pub async fn cancel_task(&self, task_id: &str) -> Result<Task, Error> {
        let params = json!({ "taskId": task_id });
        let raw = self
            .request_raw(TASKS_CANCEL, Some(params.clone()), CallOptions::new())
            .await?;
        match serde_json::from_str::<Task>(raw.get()) {
            Ok(task) => Ok(task),
            Err(_) => self.task_request(TASKS_GET, params).await,
        }
    }

    async fn task_request<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, Error> {
        let raw = self
            .request_raw(method, Some(params), CallOptions::new())
            .await?;
        serde_json::from_str(raw.get()).map_err(|e| {
            Error::from(RequestError::Protocol(
                mcpwire_core::ProtocolError::InvalidResult(e.to_string().into()),
            ))
        })
    }

    fn session_error_or_closed(&self) -> Error {
        self.session_error()
            .unwrap_or(mcpwire_core::SessionError::Closed)
            .into()
    }
}
