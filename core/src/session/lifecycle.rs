//! The protocol revision's part of the session: what goes out first, when the session is
//! ready, what each request carries besides its params, and which version is spoken. One
//! variant per revision; today the 2025-era handshake (2025-03-26, 2025-06-18, 2025-11-25):
//! `initialize`, then `notifications/initialized` and (HTTP) the GET stream, ready once the
//! server has answered that stream or `server_stream_wait` has passed.

use serde_json::Value;

use crate::output::RequestId;
use crate::policy::Failure;
use crate::schema::{
    ClientCapabilities, Implementation, InitializeParams, InitializeResult, ServerInfo,
};

/// The protocol version the client offers.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// The protocol versions the client accepts from a server, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The revision's state.
#[derive(Debug)]
pub(crate) enum Lifecycle {
    /// The 2025-era handshake.
    Handshake(Handshake),
}

/// The 2025-era handshake.
#[derive(Debug, Default)]
pub(crate) struct Handshake {
    /// The `initialize` request, while it is outstanding.
    init: Option<RequestId>,
    phase: Phase,
    server: Option<ServerInfo>,
    version: Option<&'static str>,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Phase {
    /// `initialize` is outstanding.
    #[default]
    Opening,
    /// The server answered; the GET stream's answer is awaited.
    Initialized,
    Ready,
}

/// What the session does after the handshake's answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send `notifications/initialized`, open the GET stream if the transport has one, and be
    /// ready once it is answered (or soon).
    Initialized {
        /// The version negotiated.
        version: &'static str,
    },
}

impl Lifecycle {
    /// The lifecycle of the 2025-era handshake.
    pub(crate) fn handshake() -> Self {
        Lifecycle::Handshake(Handshake::default())
    }

    /// The session's first request: its method and params.
    pub(crate) fn opening(
        &self,
        client_info: &Implementation,
        capabilities: &ClientCapabilities,
    ) -> (&'static str, Value) {
        match self {
            Lifecycle::Handshake(_) => {
                let params = InitializeParams {
                    protocol_version: LATEST_PROTOCOL_VERSION.into(),
                    capabilities: capabilities.clone(),
                    client_info: client_info.clone(),
                    extra: Default::default(),
                };
                let params = serde_json::to_value(params).unwrap_or(Value::Null);
                ("initialize", params)
            }
        }
    }

    /// The opening request went out as `id`.
    pub(crate) fn opened(&mut self, id: RequestId) {
        match self {
            Lifecycle::Handshake(h) => h.init = Some(id),
        }
    }

    /// The opening request's result: the version and who the server is, or why not.
    pub(crate) fn on_result(&mut self, result: &str) -> Result<Next, Failure> {
        match self {
            Lifecycle::Handshake(h) => {
                h.init = None;
                let init: InitializeResult = serde_json::from_str(result)
                    .map_err(|e| Failure::InvalidHandshake(e.to_string().into()))?;
                let Some(version) = SUPPORTED_PROTOCOL_VERSIONS
                    .iter()
                    .copied()
                    .find(|v| *v == init.protocol_version)
                else {
                    return Err(Failure::UnsupportedVersion(init.protocol_version.into()));
                };
                h.version = Some(version);
                h.server = Some(init.into());
                h.phase = Phase::Initialized;
                Ok(Next::Initialized { version })
            }
        }
    }

    /// The handshake is over: true the first time.
    pub(crate) fn become_ready(&mut self) -> bool {
        match self {
            Lifecycle::Handshake(h) if h.phase == Phase::Initialized => {
                h.phase = Phase::Ready;
                true
            }
            Lifecycle::Handshake(_) => false,
        }
    }

    /// Whether requests go out now (else they wait).
    pub(crate) fn is_ready(&self) -> bool {
        match self {
            Lifecycle::Handshake(h) => h.phase == Phase::Ready,
        }
    }

    /// Whether the server has answered the handshake (readiness may still wait).
    pub(crate) fn is_initialized(&self) -> bool {
        match self {
            Lifecycle::Handshake(h) => h.phase != Phase::Opening,
        }
    }

    /// Who the server is, once known.
    pub(crate) fn server(&self) -> Option<&ServerInfo> {
        match self {
            Lifecycle::Handshake(h) => h.server.as_ref(),
        }
    }

    /// The version negotiated.
    pub(crate) fn version(&self) -> Option<&'static str> {
        match self {
            Lifecycle::Handshake(h) => h.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(version: &str) -> String {
        format!(
            r#"{{"protocolVersion":"{version}","capabilities":{{}},"serverInfo":{{"name":"s","version":"1"}}}}"#
        )
    }

    #[test]
    fn the_handshake_opens_with_initialize_and_is_ready_after_its_answer() {
        let mut l = Lifecycle::handshake();
        let (method, params) = l.opening(&Implementation::new("c", "1"), &Default::default());
        assert_eq!(method, "initialize");
        assert_eq!(params["protocolVersion"], LATEST_PROTOCOL_VERSION);
        l.opened(RequestId(0));
        assert!(!l.become_ready(), "not before the answer");
        assert_eq!(
            l.on_result(&result("2025-06-18")),
            Ok(Next::Initialized {
                version: "2025-06-18"
            })
        );
        assert!(!l.is_ready());
        assert!(l.become_ready());
        assert!(!l.become_ready(), "once");
        assert_eq!(l.server().unwrap().server_info.name, "s");
        assert_eq!(l.version(), Some("2025-06-18"));
    }

    #[test]
    fn an_unsupported_version_or_an_invalid_answer_is_a_failure() {
        let mut l = Lifecycle::handshake();
        assert_eq!(
            l.on_result(&result("1999-01-01")),
            Err(Failure::UnsupportedVersion("1999-01-01".into()))
        );
        assert!(matches!(
            Lifecycle::handshake().on_result("{}"),
            Err(Failure::InvalidHandshake(_))
        ));
    }
}
