//! Errors: what a request or the whole session failed with.
//!
//! One type, [`Error`], serves both layers: a request's own failure completes that request;
//! a session-fatal error completes every outstanding request, is reported once in
//! [`Event::Closed`](crate::Event::Closed), and is returned by every command afterwards.
//! It is cheap to clone (strings are shared) because one session error is handed to every
//! outstanding request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::jsonrpc::ErrorObject;

/// Why a request, or the whole session, failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The server answered an HTTP status that the policy treats as a failure.
    Http(Arc<HttpError>),
    /// The server answered the request with a JSON-RPC error object.
    Rpc(ErrorObject),
    /// The server answered 404 to an exchange that carried `Mcp-Session-Id`: the session is gone.
    SessionExpired,
    /// The server answered 401; authorization is required.
    AuthRequired {
        /// The `WWW-Authenticate` header, if the server sent one: at most
        /// [`HttpError::EXCERPT`] bytes of it, control characters escaped.
        www_authenticate: Option<Arc<str>>,
    },
    /// The server chose a protocol version this client does not speak.
    UnsupportedProtocolVersion(Arc<str>),
    /// The server broke the protocol (no response, invalid JSON, wrong content type, ...).
    Protocol(ProtocolError),
    /// An SSE stream ended before the response and could not be resumed.
    StreamLost,
    /// The transport failed: connection refused or reset, TLS failure, ...
    Transport(TransportError),
    /// The server process exited (stdio).
    ProcessExited {
        /// Its exit code, if it exited normally.
        code: Option<i32>,
    },
    /// A message, SSE event or line exceeded the configured limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request's deadline passed; `notifications/cancelled` was sent.
    Timeout {
        /// How long the request was allowed to run.
        after: Duration,
        /// How many messages from the server were skipped as not JSON-RPC while it waited
        /// (lines on stdout, SSE events): often the reason no answer was seen.
        skipped: u64,
    },
    /// The application cancelled the request; `notifications/cancelled` was sent.
    Cancelled,
    /// The application closed the session.
    Closed,
    /// The configured cap on outstanding requests is reached.
    TooManyRequests {
        /// The cap.
        limit: usize,
    },
    /// A bound on what the client holds was reached; see [`Limit`].
    LimitReached {
        /// Which bound.
        what: Limit,
        /// Its value, in bytes or items as [`Limit`] says.
        limit: usize,
    },
    /// The client was set up wrongly (an invalid URL, a command that would not start, ...).
    Config(Arc<str>),
}

/// The bounds whose reaching is an error (the others drop with a warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Bytes waiting to be sent ([`Policy::max_send_backlog`](crate::Policy::max_send_backlog)).
    SendBacklog,
    /// Bytes of all the pages of one listing.
    ListBytes,
    /// Pages of one listing.
    ListPages,
}

/// An HTTP status the server answered, with what its body said.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpError {
    /// The status code.
    pub status: http::StatusCode,
    /// The start of the response body (at most [`HttpError::EXCERPT`] bytes, lossily decoded,
    /// control characters escaped).
    pub body: String,
    /// A JSON-RPC error object, if the body carried one.
    pub rpc: Option<ErrorObject>,
    /// The `Retry-After` header, if given (at most [`HttpError::EXCERPT`] bytes, control
    /// characters escaped).
    pub retry_after: Option<String>,
}

impl HttpError {
    /// How much of a failed response's body is kept.
    pub const EXCERPT: usize = 512;
}

/// How the server broke the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A 2xx to a request carried no response to it (202, 204, or a body without it).
    NoResponse,
    /// A body or event that should hold JSON-RPC did not parse.
    InvalidJson(Arc<str>),
    /// A 2xx to a request with a content type that is neither JSON nor an event stream.
    UnexpectedContentType(Arc<str>),
    /// The result of `initialize` was not a valid initialize result.
    InvalidInitializeResult(Arc<str>),
    /// A result did not have the shape its request's schema gives it.
    InvalidResult(Arc<str>),
}

/// A transport failure of one exchange, as reported by the adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The adapter's description of it.
    pub message: Arc<str>,
}

impl TransportError {
    /// A transport error of `kind` described by `message`.
    pub fn new(kind: TransportErrorKind, message: impl Into<Arc<str>>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }
}

/// The kinds of transport failure the core distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection was refused or the host unreachable.
    Connect,
    /// The connect attempt timed out.
    ConnectTimeout,
    /// The TLS handshake failed.
    Tls,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// Anything else (an IO error writing to the child, ...).
    Other,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Http(e) => {
                write!(f, "HTTP {}", e.status)?;
                if let Some(rpc) = &e.rpc {
                    write!(f, ": {} (code {})", Untrusted(&rpc.message), rpc.code)?;
                } else if !e.body.is_empty() {
                    write!(f, ": {}", Untrusted(e.body.trim()))?;
                }
                if let Some(r) = &e.retry_after {
                    write!(f, " (retry after {})", Untrusted(r))?;
                }
                Ok(())
            }
            Error::Rpc(e) => write!(f, "server error {}: {}", e.code, Untrusted(&e.message)),
            Error::SessionExpired => f.write_str("the server no longer knows this session (404)"),
            Error::AuthRequired {
                www_authenticate: Some(w),
            } => {
                write!(f, "authorization required (401): {}", Untrusted(w))
            }
            Error::AuthRequired {
                www_authenticate: None,
            } => f.write_str("authorization required (401)"),
            Error::UnsupportedProtocolVersion(v) => {
                write!(
                    f,
                    "the server chose protocol version {v:?}, which this client does not support"
                )
            }
            Error::Protocol(p) => write!(f, "protocol error: {p}"),
            Error::StreamLost => f.write_str("the event stream ended before the response"),
            Error::Transport(t) => write!(f, "{}: {}", t.kind, t.message),
            Error::ProcessExited { code: Some(c) } => {
                write!(f, "the server process exited with code {c}")
            }
            Error::ProcessExited { code: None } => f.write_str("the server process exited"),
            Error::TooLarge { limit } => {
                write!(f, "message larger than the limit of {limit} bytes")
            }
            Error::Timeout { after, skipped } => {
                write!(f, "no response within {after:?}")?;
                match skipped {
                    0 => Ok(()),
                    1 => f.write_str(" (1 message from the server was not JSON-RPC)"),
                    n => write!(f, " ({n} messages from the server were not JSON-RPC)"),
                }
            }
            Error::Cancelled => f.write_str("cancelled"),
            Error::Closed => f.write_str("the session is closed"),
            Error::TooManyRequests { limit } => write!(f, "more than {limit} requests outstanding"),
            Error::LimitReached { what, limit } => match what {
                Limit::SendBacklog => write!(
                    f,
                    "more than {limit} bytes wait to be sent: the server is not taking what the \
                     client sends"
                ),
                Limit::ListBytes => write!(f, "the listing is larger than {limit} bytes"),
                Limit::ListPages => write!(f, "the listing has more than {limit} pages"),
            },
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::NoResponse => {
                f.write_str("the server's answer carried no response to the request")
            }
            ProtocolError::InvalidJson(e) => write!(f, "invalid JSON-RPC: {e}"),
            ProtocolError::UnexpectedContentType(c) => write!(f, "unexpected content type {c:?}"),
            ProtocolError::InvalidInitializeResult(e) => {
                write!(f, "invalid initialize result: {e}")
            }
            ProtocolError::InvalidResult(e) => write!(f, "invalid result: {e}"),
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "cannot connect",
            TransportErrorKind::ConnectTimeout => "connect timed out",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Reset => "connection lost",
            TransportErrorKind::Other => "transport error",
        })
    }
}

/// Server text made safe to print on one line: a line break or tab becomes a space, and every
/// other control character (C0, DEL, C1, which include the escape that starts terminal
/// sequences) and every bidirectional override is written as a visible escape, `\x1b` for
/// ASCII ones, `\u{9b}` for the others. Text the server sends goes into errors and warnings,
/// and those end up on terminals.
pub fn sanitize(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_unsafe(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a character must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Writes server text through [`sanitize`] when it needs it.
struct Untrusted<'a>(&'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().any(is_unsafe) {
            f.write_str(&sanitize(self.0))
        } else {
            f.write_str(self.0)
        }
    }
}

impl std::error::Error for Error {}
impl std::error::Error for ProtocolError {}
