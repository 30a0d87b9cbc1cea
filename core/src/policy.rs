//! What each failure does: the failure policy as data, with the defaults that the README
//! documents (DESIGN.md, "What each failure does").

use std::time::Duration;

/// How far a failure reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every outstanding request fails with the same error and the session closes.
    Session,
    /// Only the request the failure belongs to fails.
    Request,
}

/// Limits, deadlines and scopes. `Policy::default()` is the documented default policy.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Policy {
    /// What a 5xx on any exchange does. Default: [`Scope::Session`].
    pub server_error_scope: Scope,
    /// The deadline of a request that sets none. Default: 60 s.
    pub request_timeout: Duration,
    /// Whether a progress notification for a request pushes its deadline back by its timeout.
    /// Default: true.
    pub progress_resets_timeout: bool,
    /// The latest a request may run, counted from its start, however much progress it reports.
    /// Default: 10 minutes.
    pub max_request_time: Duration,
    /// The largest JSON message, HTTP body or SSE event, in bytes. Default: 16 MiB.
    pub max_message_size: usize,
    /// The longest SSE line, in bytes. Default: 16 MiB.
    pub max_sse_line: usize,
    /// At most this many requests outstanding at once; `None` for no cap. Default: `None`.
    pub max_outstanding: Option<usize>,
    /// How many times in a row a request's SSE stream is resumed without any new event before
    /// the request fails with [`Error::StreamLost`](crate::Error::StreamLost). Default: 3.
    pub max_resume_attempts: u32,
    /// How long to wait before resuming a stream when the server sent no `retry`. Default: 1 s.
    pub default_retry: Duration,
    /// The longest `retry` the client honours; a larger one is cut to this. Default: 30 s.
    pub max_retry: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            server_error_scope: Scope::Session,
            request_timeout: Duration::from_secs(60),
            progress_resets_timeout: true,
            max_request_time: Duration::from_secs(600),
            max_message_size: 16 << 20,
            max_sse_line: 16 << 20,
            max_outstanding: None,
            max_resume_attempts: 3,
            default_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
        }
    }
}
