//! Exit codes, and the one-line message each failure prints.

use std::io;

use mcpwire::{Error, RequestError, SessionError};
use serde_json::{json, Value};

use crate::print;
use crate::sanitize::error_line;

/// Success.
pub const OK: u8 = 0;
/// The tool ran and reported an error (`isError: true`).
pub const TOOL_ERROR: u8 = 1;
/// The server answered with a JSON-RPC error.
pub const RPC_ERROR: u8 = 2;
/// Transport, HTTP or session failure.
pub const TRANSPORT: u8 = 3;
/// A request's deadline passed.
pub const TIMEOUT: u8 = 4;
/// Bad command line (EX_USAGE).
pub const USAGE: u8 = 64;
/// Ctrl-C (128 + SIGINT, as a shell reports a command killed by it).
pub const INTERRUPTED: u8 = 130;

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong.
    Usage(String),
    /// An MCP operation failed: what was being done, and the error.
    Mcp {
        /// What failed, e.g. `tools/call echo` or `connecting to http://...`.
        doing: Box<str>,
        /// Why.
        error: Error,
        /// The last lines a stdio server wrote to stderr, shown if it died.
        stderr: Box<[String]>,
        /// What to run to get past it (`mcpwire login <URL>` for a server that wants
        /// authorization), said at the end of the line.
        hint: Option<Box<str>>,
    },
    /// A tool answered with `isError: true` (its content was printed).
    ToolError(String),
    /// Something else went wrong that is not the server's protocol (exit 3).
    Other(String),
    /// Ctrl-C: the call in flight was cancelled and the session closed, if one was open
    /// (exit 130).
    Interrupted {
        /// Whether a session was open (and was closed); else it came while connecting.
        closed: bool,
    },
    /// Writing the output to stdout failed. A broken pipe (the reader has gone, as after
    /// `| head -1`) is reported as nothing and exits 0; see [`print::is_closed`]. Another
    /// error (a full disk, ...) exits 3.
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Output(error)
    }
}

impl Failure {
    /// An MCP operation failed.
    pub fn mcp(doing: impl Into<String>, error: Error) -> Failure {
        Failure::Mcp {
            doing: doing.into().into(),
            error,
            stderr: Box::default(),
            hint: None,
        }
    }

    /// For a failure that authorization would get past, says to run `mcpwire login <url>`.
    pub fn with_login_hint(self, url: &str) -> Failure {
        match self {
            Failure::Mcp {
                doing,
                error,
                stderr,
                hint: None,
            } if needs_login(&error) => Failure::Mcp {
                doing,
                error,
                stderr,
                hint: Some(format!("to authorize, run: mcpwire login {url}").into()),
            },
            other => other,
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::ToolError(_) => TOOL_ERROR,
            Failure::Other(_) => TRANSPORT,
            Failure::Interrupted { .. } => INTERRUPTED,
            Failure::Output(e) if print::is_closed(e) => OK,
            Failure::Output(_) => TRANSPORT,
            Failure::Mcp { error, .. } => code_of(error),
        }
    }

    /// Prints the failure (one line on stderr, sanitised and capped by [`error_line`];
    /// with `json`, also `{"error": ...}` on stdout, whose `message` is not capped) and
    /// returns the exit code. A failure to print it changes nothing: the code is returned
    /// all the same.
    pub fn report(&self, json: bool) -> u8 {
        let code = self.code();
        let message = match self {
            Failure::Output(e) if print::is_closed(e) => return code,
            Failure::Output(e) => format!("cannot write the output: {e}"),
            Failure::Usage(m) | Failure::Other(m) => m.clone(),
            Failure::Interrupted { closed: true } => {
                "interrupted: the call in flight was cancelled and the session closed".into()
            }
            Failure::Interrupted { closed: false } => "interrupted while connecting".into(),
            Failure::ToolError(tool) => format!("tool {tool:?} reported an error (isError)"),
            Failure::Mcp {
                doing,
                error,
                hint: None,
                ..
            } => format!("{doing}: {}", one_line(&error.to_string())),
            // The hint goes last, whatever the length of what the server said before it.
            Failure::Mcp {
                doing,
                error,
                hint: Some(hint),
                ..
            } => {
                let text = one_line(&error.to_string());
                let room = 800usize.saturating_sub(hint.len());
                let cut: String = text.chars().take(room).collect();
                let more = if cut.len() < text.len() { "…" } else { "" };
                format!("{doing}: {cut}{more} ({hint})")
            }
        };
        // The message may quote the server at any length (a WWW-Authenticate header, say).
        let _ = print::err(&error_line(&format!("mcpwire: {message}")));
        if let Failure::Mcp { stderr, .. } = self {
            if !stderr.is_empty() {
                let _ = print::err("the server's last words on stderr:");
                for line in stderr {
                    let _ = print::err(&error_line(&format!("  {line}")));
                }
            }
        }
        if json && !matches!(self, Failure::ToolError(_) | Failure::Output(_)) {
            let mut object = json!({"exit": code, "message": message});
            // The JSON message is the error's whole text; the hint has a field of its own.
            if let Failure::Mcp {
                doing,
                error,
                hint: Some(hint),
                ..
            } = self
            {
                object["message"] = json!(format!("{doing}: {}", one_line(&error.to_string())));
                object["hint"] = json!(&**hint);
            }
            match self {
                Failure::Usage(_) => object["kind"] = json!("usage"),
                Failure::Other(_) => object["kind"] = json!("other"),
                Failure::Interrupted { .. } => object["kind"] = json!("interrupted"),
                Failure::Mcp { error, .. } => describe(error, &mut object),
                Failure::ToolError(_) | Failure::Output(_) => {}
            }
            let _ = print::json_line(&json!({ "error": object }));
        }
        code
    }
}

/// The outcome of a command that wrote its output with result `written` and would
/// otherwise end with `outcome`: `outcome`, unless the output could not be written for
/// another reason than a closed pipe.
pub fn after_output(written: io::Result<()>, outcome: Result<(), Failure>) -> Result<(), Failure> {
    match written {
        Err(e) if !print::is_closed(&e) => Err(Failure::Output(e)),
        _ => outcome,
    }
}

/// Whether `error` is a server asking for authorization that the CLI did not have.
fn needs_login(error: &Error) -> bool {
    matches!(
        error,
        Error::Request(RequestError::Session(SessionError::AuthRequired { .. }))
            | Error::Request(RequestError::Auth(_))
            | Error::Request(RequestError::Session(SessionError::Auth(_)))
    )
}

/// The exit code of an MCP error.
pub fn code_of(error: &Error) -> u8 {
    match error {
        Error::Config(_) | Error::Spawn { .. } => USAGE,
        _ if error.is_timeout() => TIMEOUT,
        Error::Request(RequestError::Rpc(_) | RequestError::Session(SessionError::Rpc(_))) => {
            RPC_ERROR
        }
        _ => TRANSPORT,
    }
}

/// A short name of the error's kind, for `--json` and the bench's tally.
pub fn kind_of(error: &Error) -> &'static str {
    let request = match error {
        Error::Config(_) => return "config",
        Error::Spawn { .. } => return "spawn",
        Error::Skill(_) => return "skill",
        Error::Request(e) => e,
        _ => return "other",
    };
    if let RequestError::Session(s) = request {
        return match s {
            SessionError::Http(_) => "http",
            SessionError::SessionExpired => "session_expired",
            SessionError::AuthRequired { .. } => "auth_required",
            SessionError::UnsupportedProtocolVersion(_) => "unsupported_protocol_version",
            SessionError::Rpc(_) => "rpc",
            SessionError::Protocol(_) => "protocol",
            SessionError::Timeout { .. } => "timeout",
            SessionError::StreamLost => "stream_lost",
            SessionError::Transport(_) => "transport",
            SessionError::ProcessExited { .. } => "process_exited",
            SessionError::TooLarge { .. } => "too_large",
            SessionError::LimitReached { .. } => "limit_reached",
            SessionError::Closed => "closed",
            SessionError::Auth(_) => "auth",
            SessionError::NotModern(_) => "not_modern",
            SessionError::Redirect(_) => "redirect",
            _ => "other",
        };
    }
    match request {
        RequestError::Http(_) => "http",
        RequestError::Rpc(_) => "rpc",
        RequestError::Protocol(_) => "protocol",
        RequestError::StreamLost => "stream_lost",
        RequestError::Transport(_) => "transport",
        RequestError::TooLarge { .. } => "too_large",
        RequestError::Timeout { .. } => "timeout",
        RequestError::Cancelled => "cancelled",
        RequestError::TooManyRequests { .. } => "too_many_requests",
        RequestError::LimitReached { .. } => "limit_reached",
        RequestError::Auth(_) => "auth",
        RequestError::HeaderMismatch(_) => "header_mismatch",
        RequestError::CapabilityRequired { .. } => "capability_required",
        RequestError::UnsupportedVersion { .. } => "unsupported_version",
        RequestError::Removed { .. } => "removed",
        RequestError::Input(_) => "input",
        RequestError::Redirect(_) => "redirect",
        RequestError::SessionExpired => "session_expired",
        RequestError::Task(_) => "task",
        _ => "other",
    }
}

/// Adds the error's kind, its scope and its details (HTTP status, JSON-RPC code) to `object`.
fn describe(error: &Error, object: &mut Value) {
    object["kind"] = json!(kind_of(error));
    object["scope"] = json!(match error {
        Error::Config(_) | Error::Spawn { .. } => "config",
        _ if error.session().is_some() => "session",
        _ => "request",
    });
    if let Some(http) = error.http() {
        object["status"] = json!(http.status.as_u16());
        object["body"] = json!(http.body);
        if let Some(rpc) = &http.rpc {
            object["rpc"] = serde_json::to_value(rpc).unwrap_or(Value::Null);
        }
        if let Some(retry) = &http.retry_after {
            object["retryAfter"] = json!(retry);
        }
    }
    match error {
        Error::Request(RequestError::Rpc(rpc) | RequestError::Session(SessionError::Rpc(rpc))) => {
            object["code"] = json!(rpc.code);
            object["rpc"] = serde_json::to_value(rpc).unwrap_or(Value::Null);
        }
        Error::Request(
            RequestError::Timeout { after, .. }
            | RequestError::Session(SessionError::Timeout { after, .. }),
        ) => object["afterMs"] = json!(after.as_millis() as u64),
        Error::Request(RequestError::Session(SessionError::ProcessExited { code })) => {
            object["processExitCode"] = json!(code)
        }
        _ => {}
    }
}

/// The text on one line: line breaks (from an HTTP body excerpt, say) become spaces.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(
            one_line("overloaded,\r\n  try later\n\n"),
            "overloaded, try later"
        );
        assert_eq!(one_line("plain"), "plain");
    }
}
