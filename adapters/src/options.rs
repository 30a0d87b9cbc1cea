//! What a call and a connection are set up with: shared by the public API, which fills them,
//! and the driver, which acts on them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::handler::{Handler, NoHandler};
use crate::stdio::StderrSink;

/// Progress reported by the server for a call.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Progress so far.
    pub progress: f64,
    /// The total, if known.
    pub total: Option<f64>,
    /// A message, if any.
    pub message: Option<String>,
}

impl Progress {
    /// Progress of `progress` out of `total`, with a message.
    pub fn new(progress: f64, total: Option<f64>, message: Option<String>) -> Self {
        Progress {
            progress,
            total,
            message,
        }
    }
}

/// A progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;
/// A task status callback.
pub(crate) type TaskStatusFn = Arc<dyn Fn(&mcpwire_core::schema::Task) + Send + Sync>;

/// Options of one call.
#[derive(Clone, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) trace: Option<mcpwire_core::trace::TraceContext>,
    pub(crate) task: Option<mcpwire_core::TaskOptions>,
    pub(crate) task_status: Option<TaskStatusFn>,
}

impl CallOptions {
    /// No options: the client's default timeout, no progress.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Carries this W3C trace context in the request's `_meta` (SEP-414) instead of the
    /// current span's (which the `otel` feature sends by itself).
    pub fn trace_context(mut self, trace: mcpwire_core::trace::TraceContext) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Runs the call as a task (2025-11-25; the server must declare it): the server answers at
    /// once with a task, which the client follows (`tasks/get` at the server's interval,
    /// status notifications) until it ends; the call then completes with the tool's result
    /// (`tasks/result`), or with why there is none ([`RequestError::Task`]: cancelled,
    /// expired, unknown to the server). `ttl` asks the server to keep the task so long.
    /// [`timeout`](Self::timeout), when set, bounds the whole wait; else
    /// [`Policy::max_task_wait`](mcpwire_core::Policy::max_task_wait). Dropping the call's
    /// future sends `tasks/cancel`.
    ///
    /// [`RequestError::Task`]: mcpwire_core::RequestError::Task
    pub fn as_task(mut self, ttl: Option<Duration>) -> Self {
        self.task = Some(mcpwire_core::TaskOptions::default().with_ttl(ttl));
        self
    }

    /// With [`as_task`](Self::as_task): calls `f` with the task each time its status changes
    /// or status message (created, working, input_required, ...), on the driver task: keep it
    /// quick.
    pub fn on_task_status(
        mut self,
        f: impl Fn(&mcpwire_core::schema::Task) + Send + Sync + 'static,
    ) -> Self {
        self.task_status = Some(Arc::new(f));
        self
    }

    /// The call's deadline (progress pushes it back, up to the policy's maximum).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Asks for progress and calls `f` with each report, on the driver task: keep it quick.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("progress", &self.progress.is_some())
            .field("task", &self.task)
            .finish()
    }
}

/// What the builder sets besides the core's `Config`.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) connect_timeout: Duration,
    pub(crate) extra_roots: Vec<Vec<u8>>,
    /// Which HTTP proxy connections go through.
    pub(crate) proxy: crate::proxy::ProxySetting,
    pub(crate) stderr: Option<StderrSink>,
    pub(crate) stderr_line: usize,
    pub(crate) notification_capacity: usize,
    pub(crate) notification_bytes: usize,
    pub(crate) list: ListLimits,
    pub(crate) oauth: Option<crate::auth::OAuth>,
    /// Where to record the session (else `MCPWIRE_RECORD` says).
    pub(crate) record: Option<crate::record::RecordTo>,
    /// An HTTP target speaks the 2024-11-05 HTTP+SSE transport: its URL is the event
    /// stream's.
    pub(crate) legacy_sse: bool,
    /// Host the tasks a server creates on the client (2025-11-25).
    pub(crate) host_tasks: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            handler: Arc::new(NoHandler),
            connect_timeout: Duration::from_secs(10),
            extra_roots: Vec::new(),
            proxy: crate::proxy::ProxySetting::FromEnv,
            stderr: None,
            stderr_line: 64 << 10,
            notification_capacity: 1024,
            notification_bytes: 16 << 20,
            list: ListLimits {
                bytes: 64 << 20,
                pages: 1000,
                deadline: Duration::from_secs(60),
            },
            oauth: None,
            record: None,
            legacy_sse: false,
            host_tasks: true,
        }
    }
}

/// The bounds of one `list_all`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListLimits {
    pub(crate) bytes: usize,
    pub(crate) pages: usize,
    pub(crate) deadline: Duration,
}
