//! What a call, or connecting, fails with.

use std::fmt;
use std::sync::Arc;

use mcpwire_core::skills::SkillError;
use mcpwire_core::{HttpError, RequestError, SessionError};

/// Why a call, or connecting, failed.
///
/// A call's failure is the core's [`RequestError`]: its own (a timeout, a JSON-RPC error, a
/// 4xx), or the session's ([`RequestError::Session`]: a 5xx, the server exiting, `close()`),
/// which every outstanding call gets at once. The helpers classify without matching, and
/// [`source()`](std::error::Error::source) leads to the IO or hyper error behind a transport
/// failure.
///
/// ```no_run
/// # async fn example(client: mcpwire::Client) {
/// use mcpwire::{Error, RequestError};
///
/// match client.call_tool("search", serde_json::json!({ "q": "rust" })).await {
///     Ok(result) => println!("{}", result.text()),
///     Err(e) if e.is_timeout() => eprintln!("too slow: {e}"),
///     Err(e) if e.session().is_some() => eprintln!("the session is over: {e}"),
///     Err(e) if e.retry_after().is_some() => {
///         eprintln!("HTTP {:?}: try again in {:?}", e.status(), e.retry_after())
///     }
///     Err(Error::Request(RequestError::Rpc(rpc))) => eprintln!("refused: {}", rpc.message),
///     Err(Error::Spawn { program, source }) => eprintln!("{program} did not start: {source}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The call failed, on its own or with the session.
    Request(RequestError),
    /// The client could not be set up, or the call could not be made as asked.
    Config(ConfigError),
    /// A skill's file was refused: not listed, or not what its entry says (the skills
    /// extension); nothing of it was used. Boxed: the error stays small for every other call.
    Skill(Box<SkillError>),
    /// The stdio server's command could not be started (not found, not executable, ...): not
    /// a configuration error, since the same command may start tomorrow. Its
    /// [`source`](std::error::Error::source) is the OS's error.
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        source: Arc<std::io::Error>,
    },
}

/// How the client was set up wrongly.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL is not an `http://` or `https://` URL the client can use.
    InvalidUrl {
        /// The URL, without any `user:password@`.
        url: String,
        /// Why.
        reason: String,
    },
    /// A header's name or value is invalid.
    InvalidHeader {
        /// The header's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The TLS setup failed (a root certificate that does not parse, ...).
    Tls(Arc<str>),
    /// The call's arguments or params could not be made into a request.
    InvalidArguments(Arc<str>),
    /// The recording file ([`ClientBuilder::record`](crate::ClientBuilder::record), or
    /// `MCPWIRE_RECORD`) could not be created.
    Record {
        /// The file.
        path: String,
        /// What the OS said.
        source: Arc<std::io::Error>,
    },
}

impl PartialEq for ConfigError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Equal when of the same variant with equal contents; two `Spawn` errors compare the program
/// and the kind of the OS error.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Error::Request(a), Error::Request(b)) => a == b,
            (Error::Config(a), Error::Config(b)) => a == b,
            (Error::Skill(a), Error::Skill(b)) => a == b,
            (
                Error::Spawn {
                    program: a,
                    source: x,
                },
                Error::Spawn {
                    program: b,
                    source: y,
                },
            ) => a == b && x.kind() == y.kind(),
            _ => false,
        }
    }
}

impl Error {
    /// The core's error, if the call was made.
    pub fn request(&self) -> Option<&RequestError> {
        match self {
            Error::Request(e) => Some(e),
            Error::Config(_) | Error::Skill(_) | Error::Spawn { .. } => None,
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After` in seconds, on
    /// a 429 or 503), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.http().and_then(HttpError::retry_after_delay)
    }

    /// The session's error, if the session's failure (or close) is why the call failed.
    pub fn session(&self) -> Option<&SessionError> {
        self.request().and_then(RequestError::session)
    }

    /// Why a skill's file was refused, if that is the error.
    pub fn skill(&self) -> Option<&SkillError> {
        match self {
            Error::Skill(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the call's deadline (or the handshake's) passed.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Request(RequestError::Timeout { .. })
                | Error::Request(RequestError::Session(SessionError::Timeout { .. }))
        )
    }

    /// The HTTP failure behind the error, request- or session-scoped.
    pub fn http(&self) -> Option<&HttpError> {
        self.request().and_then(RequestError::http)
    }

    /// The HTTP status behind the error, if there is one.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.http().map(|e| e.status)
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        Error::Request(RequestError::Session(e))
    }
}

impl From<SkillError> for Error {
    fn from(e: SkillError) -> Self {
        Error::Skill(Box::new(e))
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Skill(e) => write!(f, "skill refused: {e}"),
            Error::Spawn { program, source } => {
                write!(f, "cannot start {program:?}: {source}")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl { url, reason } => write!(f, "invalid URL {url}: {reason}"),
            ConfigError::InvalidHeader { name, reason } => {
                write!(f, "invalid header {name}: {reason}")
            }
            ConfigError::Tls(e) => write!(f, "TLS setup: {e}"),
            ConfigError::InvalidArguments(e) => write!(f, "invalid arguments: {e}"),
            ConfigError::Record { path, source } => {
                write!(f, "cannot create the recording {path}: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Request(e) => std::error::Error::source(e),
            Error::Config(e) => std::error::Error::source(e),
            Error::Skill(e) => Some(&**e),
            Error::Spawn { source, .. } => Some(&**source),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Record { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn errors_say_their_scope_and_keep_their_source() {
        let e = Error::from(SessionError::ProcessExited { code: Some(3) });
        assert!(e.session().is_some());
        assert!(!e.is_timeout());
        let spawn = Error::Spawn {
            program: "nope".into(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        assert!(spawn.request().is_none());
        let source = spawn.source().expect("the OS error");
        assert_eq!(
            source.to_string(),
            std::io::Error::from(std::io::ErrorKind::NotFound).to_string()
        );
        assert!(Error::from(RequestError::Timeout {
            after: std::time::Duration::from_secs(1),
            skipped: 0
        })
        .is_timeout());
    }
}
