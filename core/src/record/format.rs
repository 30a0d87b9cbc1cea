//! The recording format: serde types, one JSON object per line.
//!
//! The first line is a [`Header`]; every later line is a [`Line`], tagged by `"k"`:
//!
//! ```text
//! {"mcpwire_recording":1,"transport":{"kind":"http","endpoint":"http://127.0.0.1:3000/mcp"},...}
//! {"k":"out","out":{"http":{"x":0,"kind":"initialize","method":"POST","uri":"...","rpc":"initialize","len":180,"digest":"9c1f..."}}}
//! {"k":"wait","at":60000000000}
//! {"k":"in","t":1234567,"in":{"head":{"x":0,"status":200,"headers":[["content-type","application/json"]]}}}
//! {"k":"cmd","t":2345678,"cmd":{"request":{"method":"tools/call","params":{...},"result":{"Ok":1}}}}
//! ```
//!
//! Instants (`t`, `at`) are nanoseconds since the session was made.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jsonrpc::{ErrorObject, Id};
use crate::modern::SubscriptionFilter;
use crate::schema::{ClientCapabilities, Implementation, LoggingLevel};
use crate::Policy;

/// The version of the format this crate writes and reads.
pub const VERSION: u32 = 1;

/// What a redacted value is replaced with, in the recording and in the replay alike.
pub const REDACTED: &str = "<redacted>";

/// The first line of a recording.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// The format's version ([`VERSION`]).
    pub mcpwire_recording: u32,
    /// Which transport, and the endpoint.
    pub transport: RecordedTransport,
    /// The session's configuration, secrets redacted.
    pub config: RecordedConfig,
    /// Tool arguments and results were redacted ([`RecordOptions::redact_payloads`]): their
    /// digests and sizes are not compared on replay.
    ///
    /// [`RecordOptions::redact_payloads`]: super::RecordOptions::redact_payloads
    #[serde(default)]
    pub payloads_redacted: bool,
    /// The size cap of the recording, in bytes.
    pub limit: usize,
}

/// The transport of a recorded session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordedTransport {
    /// Streamable HTTP at `endpoint`.
    Http {
        /// The MCP endpoint.
        endpoint: String,
    },
    /// A child process's stdin and stdout.
    Stdio,
    /// The 2024-11-05 HTTP+SSE transport, chosen ([`Session::sse`](crate::Session::sse)),
    /// whose event stream is at `endpoint`. (A session that fell back to it from Streamable
    /// HTTP is recorded as `Http`: its replay falls back the same way.)
    LegacySse {
        /// The event stream's URI.
        endpoint: String,
    },
}

/// A session's [`Config`](crate::Config), as recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedConfig {
    /// Who the client is.
    pub client_info: Implementation,
    /// What it declares.
    pub capabilities: ClientCapabilities,
    /// Its policy.
    pub policy: Policy,
    /// Headers of every HTTP request; sensitive values are [`REDACTED`].
    pub headers: Vec<(String, String)>,
    /// `auto`, `legacy` or `modern`.
    pub revision: String,
    /// The OAuth flow's configuration and stored credentials, secrets [`REDACTED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<RecordedAuth>,
    /// The hosted tasks' inputs ([`HostedTasks`](crate::HostedTasks)), if the client hosted
    /// tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_tasks: Option<RecordedHostedTasks>,
}

/// The inputs of the hosted tasks, as recorded: the key of the task ids is kept (in hex), so
/// that a replay makes the same ids. It guards nothing once the session is over: the tasks
/// live and die with their session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedHostedTasks {
    /// The caller's clock since the UNIX epoch as the session was made.
    pub unix_now: std::time::Duration,
    /// The key of the task ids, in hex.
    pub entropy: String,
}

/// An OAuth flow's configuration, as recorded (see [`crate::auth::Config`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[allow(missing_docs)] // each field is the `auth::Config` field of the same name
pub struct RecordedAuth {
    pub redirect_uri: String,
    pub client_name: String,
    /// A pre-registered client: `client_id`, the secret [`REDACTED`], `issuer`.
    pub pre_registered: Option<(String, Option<String>, Option<String>)>,
    pub client_metadata_url: Option<String>,
    pub dynamic_registration: bool,
    pub token_endpoint_auth_method: Option<crate::auth::AuthMethod>,
    pub allow_http: bool,
    pub max_attempts: u32,
    pub max_body: usize,
    pub refresh_skew: std::time::Duration,
    pub offline_access: bool,
    pub legacy_discovery: bool,
    /// What a token store gave, tokens and client secrets [`REDACTED`].
    pub credentials: Option<crate::auth::Credentials>,
    /// The caller's clock since the UNIX epoch, for the stored expiry times.
    pub unix_now: std::time::Duration,
}

/// One line after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Line {
    /// A command from the application, with what it returned.
    Cmd {
        /// When, in nanoseconds since the start.
        t: u64,
        /// The command.
        cmd: Command,
    },
    /// An input fed to the session.
    In {
        /// When, in nanoseconds since the start.
        t: u64,
        /// The input.
        #[serde(rename = "in")]
        input: InputRecord,
    },
    /// An output the session gave.
    Out {
        /// The output.
        out: OutputRecord,
    },
    /// The session said to wait: nothing more to do until `at` (nanoseconds since the start)
    /// or the next input.
    Wait {
        /// The deadline.
        at: Option<u64>,
    },
    /// The recording reached its size cap here: nothing after this was recorded.
    Truncated {
        /// The cap, in bytes.
        limit: usize,
    },
}

/// A command given to the session, and what it returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// [`Session::request`](crate::Session::request).
    Request {
        /// The method.
        method: String,
        /// The params (with payload redaction, a `tools/call`'s `arguments` are
        /// [`REDACTED`]).
        params: Option<Value>,
        /// [`RequestOptions::timeout`](crate::RequestOptions::timeout), in nanoseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ns: Option<u64>,
        /// [`RequestOptions::progress`](crate::RequestOptions::progress).
        #[serde(default)]
        progress: bool,
        /// [`RequestOptions::log_level`](crate::RequestOptions::log_level).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_level: Option<LoggingLevel>,
        /// [`RequestOptions::trace`](crate::RequestOptions::trace): `traceparent`, and
        /// `tracestate` if any (they are in the request's body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace: Option<(String, Option<String>)>,
        /// [`RequestOptions::task`](crate::RequestOptions::task): run as a task, with this TTL
        /// in nanoseconds if one was asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<Option<u64>>,
        /// The request's id, or the error the command returned.
        result: Result<u64, String>,
    },
    /// [`Session::listen`](crate::Session::listen).
    Listen {
        /// The filter.
        filter: SubscriptionFilter,
        /// The subscription's id, or the error.
        result: Result<u64, String>,
    },
    /// [`Session::notify`](crate::Session::notify).
    Notify {
        /// The method.
        method: String,
        /// The params.
        params: Option<Value>,
        /// What it returned.
        result: Result<(), String>,
    },
    /// [`Session::respond`](crate::Session::respond).
    Respond {
        /// The server request's id.
        id: Id,
        /// The answer.
        answer: Result<Value, ErrorObject>,
        /// What it returned.
        result: Result<(), String>,
    },
    /// [`Session::cancel`](crate::Session::cancel).
    Cancel {
        /// The request.
        id: u64,
        /// The reason.
        reason: Option<String>,
        /// Whether it was outstanding.
        result: bool,
    },
    /// [`Session::authorization_redirect`](crate::Session::authorization_redirect): the URL
    /// the browser came back to (its `code` [`REDACTED`]), or why there is none.
    Redirect {
        /// The result.
        result: Result<String, String>,
    },
    /// [`Session::close`](crate::Session::close).
    Close,
}

/// An input fed to the session ([`Input`](crate::Input)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the `Input` of the same name; `x` is the exchange
pub enum InputRecord {
    /// Sensitive header values are [`REDACTED`].
    Head {
        x: u64,
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// A chunk of a body. The bodies of the OAuth flow's exchanges are recorded whole, secrets
    /// redacted, right before their end; their chunks as they came are recorded empty.
    Body {
        x: u64,
        data: Data,
    },
    End {
        x: u64,
    },
    Failed {
        x: u64,
        error: RecordedError,
    },
    Stdout {
        data: Data,
    },
    StdoutClosed,
    Exited {
        code: Option<i32>,
    },
    WriteFailed {
        error: RecordedError,
    },
    StdinWritten {
        bytes: usize,
    },
    Random {
        data: Data,
    },
    Timeout,
}

/// A transport error, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedError {
    /// `connect`, `connect_timeout`, `tls`, `reset` or `other`.
    pub kind: String,
    /// The adapter's description.
    pub message: String,
}

/// Bytes: UTF-8 text as a string, anything else as base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Data {
    /// Valid UTF-8.
    Text(String),
    /// Anything else.
    Bytes {
        /// Standard base64.
        b64: String,
    },
}

/// An output of the session, as a readable summary and a digest of its content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputRecord {
    /// [`Transmit::Http`](crate::Transmit::Http).
    Http {
        /// The exchange.
        x: u64,
        /// What it is for ([`ExchangeKind`](crate::ExchangeKind), snake case).
        kind: String,
        /// The HTTP method.
        method: String,
        /// The URI.
        uri: String,
        /// The JSON-RPC method of the body, if it has one.
        rpc: Option<String>,
        /// The body's size (`None` where payloads are redacted).
        len: Option<usize>,
        /// A digest of the method, URI, headers (sensitive ones redacted) and body (the OAuth
        /// flow's secrets redacted); [`REDACTED`] where payloads are.
        digest: String,
    },
    /// [`Transmit::Stdin`](crate::Transmit::Stdin).
    Stdin {
        /// The JSON-RPC methods of its messages (`"response"` for an answer).
        rpc: Vec<String>,
        /// Its size.
        len: Option<usize>,
        /// A digest of the bytes.
        digest: String,
    },
    /// [`Output::Abort`](crate::Output::Abort).
    Abort {
        /// The exchange.
        x: u64,
    },
    /// [`Output::Random`](crate::Output::Random).
    Random {
        /// How many bytes.
        n: usize,
    },
    /// [`Output::Event`](crate::Output::Event).
    Event(EventRecord),
}

/// An event, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the `Event` of the same name
pub enum EventRecord {
    Ready,
    /// A completion: the result's size and digest, or the error's text.
    Response {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        len: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Progress {
        id: u64,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    },
    Notification {
        method: String,
        size: usize,
        subscription: Option<u64>,
    },
    Subscribed {
        id: u64,
    },
    /// [`Event::TaskStatus`](crate::Event::TaskStatus): its request and the task's status.
    TaskStatus {
        id: u64,
        status: String,
    },
    Request {
        id: Id,
        method: String,
    },
    RequestWithdrawn {
        id: Id,
    },
    /// The URL's digest only (its query holds `state` and the PKCE challenge).
    Authorize {
        redirect_uri: String,
        digest: String,
    },
    Authorized,
    /// The server forgot the session (its id is not recorded: it is a credential).
    SessionExpired {
        recovery: u32,
        failed: usize,
    },
    /// The warning's `Debug` text.
    Warning {
        warning: String,
    },
    /// The session's error, as text.
    Closed {
        error: String,
    },
}

impl OutputRecord {
    /// Whether `found` (from a replay) is what this recorded output says, a [`REDACTED`]
    /// digest and a missing size matching anything.
    pub fn agrees(&self, found: &OutputRecord) -> bool {
        let mut found = found.clone();
        match (self, &mut found) {
            (
                OutputRecord::Http { len, digest, .. },
                OutputRecord::Http {
                    len: l, digest: d, ..
                },
            )
            | (
                OutputRecord::Stdin { len, digest, .. },
                OutputRecord::Stdin {
                    len: l, digest: d, ..
                },
            ) => {
                if digest == REDACTED {
                    *d = REDACTED.into();
                }
                if len.is_none() {
                    *l = None;
                }
            }
            (
                OutputRecord::Event(EventRecord::Response { len, digest, .. }),
                OutputRecord::Event(EventRecord::Response {
                    len: l, digest: d, ..
                }),
            ) => {
                if digest.as_deref() == Some(REDACTED) {
                    *d = Some(REDACTED.into());
                }
                if len.is_none() {
                    *l = None;
                }
            }
            _ => {}
        }
        *self == found
    }
}

/// A duration in nanoseconds as milliseconds, for people.
pub(crate) fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Request { method, result, .. } => match result {
                Ok(id) => write!(f, "request #{id} {method}"),
                Err(e) => write!(f, "request {method} refused: {e}"),
            },
            Command::Listen { result, .. } => match result {
                Ok(id) => write!(f, "listen #{id}"),
                Err(e) => write!(f, "listen refused: {e}"),
            },
            Command::Notify { method, result, .. } => match result {
                Ok(()) => write!(f, "notify {method}"),
                Err(e) => write!(f, "notify {method} refused: {e}"),
            },
            Command::Respond { id, answer, .. } => {
                let how = if answer.is_ok() { "result" } else { "error" };
                write!(f, "answer server request {} ({how})", id_text(id))
            }
            Command::Cancel { id, result, .. } => {
                let was = if *result { "" } else { " (not outstanding)" };
                write!(f, "cancel #{id}{was}")
            }
            Command::Redirect { result } => match result {
                Ok(_) => write!(f, "authorization: the browser came back"),
                Err(e) => write!(f, "authorization: no redirect: {e}"),
            },
            Command::Close => write!(f, "close"),
        }
    }
}

impl fmt::Display for InputRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputRecord::Head { x, status, .. } => {
                let reason = ::http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "exchange {x}: HTTP {status} {reason}")
            }
            InputRecord::Body { x, data } => write!(f, "exchange {x}: {} B of body", data.len()),
            InputRecord::End { x } => write!(f, "exchange {x}: body ended"),
            InputRecord::Failed { x, error } => {
                write!(
                    f,
                    "exchange {x}: failed ({}): {}",
                    error.kind, error.message
                )
            }
            InputRecord::Stdout { data } => write!(f, "stdout: {} B", data.len()),
            InputRecord::StdoutClosed => write!(f, "stdout closed"),
            InputRecord::Exited { code } => match code {
                Some(c) => write!(f, "the server process exited with code {c}"),
                None => write!(f, "the server process was killed"),
            },
            InputRecord::WriteFailed { error } => {
                write!(f, "writing to stdin failed: {}", error.message)
            }
            InputRecord::StdinWritten { bytes } => write!(f, "stdin took {bytes} B"),
            InputRecord::Random { data } => write!(f, "{} random bytes", data.len()),
            InputRecord::Timeout => write!(f, "timer"),
        }
    }
}

impl fmt::Display for OutputRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputRecord::Http {
                x,
                kind,
                method,
                uri,
                rpc,
                len,
                ..
            } => {
                write!(f, "exchange {x}: {method} {uri} ({kind}")?;
                if let Some(rpc) = rpc {
                    write!(f, ", {rpc}")?;
                }
                match len {
                    Some(n) => write!(f, ", {n} B)"),
                    None => write!(f, ")"),
                }
            }
            OutputRecord::Stdin { rpc, len, .. } => {
                write!(f, "stdin: {}", rpc.join(", "))?;
                match len {
                    Some(n) => write!(f, " ({n} B)"),
                    None => Ok(()),
                }
            }
            OutputRecord::Abort { x } => write!(f, "abort exchange {x}"),
            OutputRecord::Random { n } => write!(f, "asks for {n} random bytes"),
            OutputRecord::Event(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for EventRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventRecord::Ready => write!(f, "event: ready"),
            EventRecord::Response { id, len, error, .. } => match error {
                Some(e) => write!(f, "event: #{id} failed: {e}"),
                None => match len {
                    Some(n) => write!(f, "event: #{id} completed ({n} B)"),
                    None => write!(f, "event: #{id} completed"),
                },
            },
            EventRecord::Progress {
                id,
                progress,
                total,
                ..
            } => match total {
                Some(t) => write!(f, "event: #{id} progress {progress}/{t}"),
                None => write!(f, "event: #{id} progress {progress}"),
            },
            EventRecord::Notification { method, .. } => write!(f, "event: notification {method}"),
            EventRecord::Subscribed { id } => write!(f, "event: #{id} subscribed"),
            EventRecord::TaskStatus { id, status } => write!(f, "event: #{id} task {status}"),
            EventRecord::Request { id, method } => {
                write!(f, "event: server request {} {method}", id_text(id))
            }
            EventRecord::RequestWithdrawn { id } => {
                write!(f, "event: server request {} withdrawn", id_text(id))
            }
            EventRecord::Authorize { redirect_uri, .. } => {
                write!(f, "event: authorize in a browser (back to {redirect_uri})")
            }
            EventRecord::Authorized => write!(f, "event: authorized"),
            EventRecord::SessionExpired { recovery, failed } => write!(
                f,
                "event: session expired ({failed} requests failed; new session, recovery \
                 {recovery})"
            ),
            EventRecord::Warning { warning } => write!(f, "event: warning {warning}"),
            EventRecord::Closed { error } => write!(f, "event: session closed: {error}"),
        }
    }
}

impl Data {
    /// The size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Data::Text(s) => s.len(),
            // Close enough for a timeline; `bytes` gives the exact size.
            Data::Bytes { b64 } => b64.len() / 4 * 3,
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn id_text(id: &Id) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

impl fmt::Display for Line {
    /// One line of a timeline: `cmd`, `in` or `out`, and what it was.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Cmd { cmd, .. } => write!(f, "cmd  {cmd}"),
            Line::In { input, .. } => write!(f, "in   {input}"),
            Line::Out { out } => write!(f, "out  {out}"),
            Line::Wait { at } => match at {
                Some(ns) => write!(f, "wait until {:.3} ms", ms(*ns)),
                None => write!(f, "wait for input"),
            },
            Line::Truncated { limit } => {
                write!(
                    f,
                    "the recording stops here: it reached its cap of {limit} bytes"
                )
            }
        }
    }
}

impl Line {
    /// The instant of a command or an input, in nanoseconds since the start.
    pub fn t(&self) -> Option<u64> {
        match self {
            Line::Cmd { t, .. } | Line::In { t, .. } => Some(*t),
            _ => None,
        }
    }
}
