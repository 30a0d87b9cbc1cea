//! The protocol revision's part of the session: what goes out first, when the session is
//! ready, and which version is spoken. One variant per era:
//!
//! - [`Lifecycle::Handshake`], the 2025 era (2025-03-26, 2025-06-18, 2025-11-25):
//!   `initialize`, then `notifications/initialized` and (HTTP) the GET stream, ready once the
//!   server has answered that stream or `server_stream_wait` has passed;
//! - [`Lifecycle::Modern`], 2026-07-28: no handshake and no session. The session opens with
//!   the revision's probe, `server/discover`, and is ready with its answer. What the answer
//!   (or its failure) says decides the era, as the revision's backwards-compatibility rules
//!   say ("a recognized modern JSON-RPC error identifies a modern server: the client retries
//!   with a supported version rather than falling back. Anything else identifies a legacy
//!   server", `basic/versioning`): a `DiscoverResult` or a modern error (-32020 to -32022)
//!   keeps the session modern; any other error, a 4xx without a modern error body, an answer
//!   that is no `DiscoverResult`, or (stdio) no answer within `probe_timeout` falls back to
//!   the handshake — never keyed to one error code. A 401 is no era signal: the policy makes
//!   it fail the session before the lifecycle sees it.
//!
//! Over HTTP, `initialize` refused with 400, 404 or 405 ([`Next::LegacySse`]) means a server of
//! the 2024-11-05 HTTP+SSE transport, as the 2025-11-25 specification's backwards-compatibility
//! section says: the handshake starts again over that transport, offering 2024-11-05
//! ([`LEGACY_SSE_PROTOCOL_VERSION`]), which it then accepts as the server's choice too.
//!
//! [`Revision`] pins one era or lets the probe decide.

use serde_json::Value;

use crate::error::{RequestError, SessionError};
use crate::jsonrpc::ErrorObject;
use crate::modern::{self, DiscoverResult, ModernError};
use crate::policy::Failure;
use crate::schema::{
    ClientCapabilities, Implementation, InitializeParams, InitializeResult, ServerInfo,
};

/// The protocol version the client offers in `initialize`.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// The protocol version the client offers in `initialize` over the 2024-11-05 HTTP+SSE
/// transport (the revision that transport belongs to).
pub const LEGACY_SSE_PROTOCOL_VERSION: &str = "2024-11-05";

/// The handshake's protocol versions the client accepts from a server, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The protocol version of the 2026-07-28 revision.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";

/// The versions without a handshake (per-request `_meta`) the client speaks, newest first.
pub const MODERN_PROTOCOL_VERSIONS: &[&str] = &[MODERN_PROTOCOL_VERSION];

/// The methods of the 2025 era that the 2026-07-28 revision removed, which fail at once
/// there with [`RequestError::Removed`] (`tasks/get` and `tasks/cancel` came back with the
/// tasks extension, and go while [`Policy::tasks_extension`](crate::Policy::tasks_extension)
/// is on).
pub const REMOVED_IN_MODERN: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
    "notifications/initialized",
    "notifications/roots/list_changed",
];

/// Which protocol revision a session speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Revision {
    /// Probe 2026-07-28 first (`server/discover`) and fall back to the handshake of the
    /// 2025 era as the revision's backwards-compatibility rules say. The default.
    #[default]
    Auto,
    /// The 2025 era only (2025-11-25, 2025-06-18, 2025-03-26): `initialize` first, no probe.
    Legacy,
    /// 2026-07-28 only: a server that does not speak it fails the session with
    /// [`SessionError::NotModern`].
    Modern,
}

/// The revision's state.
#[derive(Debug)]
pub(crate) enum Lifecycle {
    /// The 2025-era handshake.
    Handshake(Handshake),
    /// 2026-07-28.
    Modern(Modern),
}

/// The 2025-era handshake.
#[derive(Debug, Default)]
pub(crate) struct Handshake {
    phase: Phase,
    server: Option<ServerInfo>,
    version: Option<&'static str>,
    /// The session fell back here from the probe (so an `initialize` rejected for a modern
    /// version may go forward again, once).
    from_probe: bool,
    /// Over the 2024-11-05 HTTP+SSE transport: `initialize` offers 2024-11-05, and the
    /// server may choose it.
    sse: bool,
}

/// 2026-07-28: the probe, then ready.
#[derive(Debug)]
pub(crate) struct Modern {
    phase: Phase,
    /// The version requests carry now.
    version: &'static str,
    /// A server of the 2025 era may be spoken to instead ([`Revision::Auto`]).
    fallback: bool,
    /// The probe was sent again for a version the server listed (only once).
    reprobed: bool,
    server: Option<ServerInfo>,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Phase {
    /// The opening request is outstanding.
    #[default]
    Opening,
    /// The server answered; (2025 era) the GET stream's answer is awaited.
    Initialized,
    Ready,
}

/// What the session does after the opening request's outcome.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// 2025 era: send `notifications/initialized`, open the GET stream if the transport has
    /// one, and be ready once it is answered (or soon).
    Initialized {
        /// The version negotiated.
        version: &'static str,
    },
    /// 2026-07-28: ready, speaking `version`.
    Ready {
        /// The version.
        version: &'static str,
    },
    /// 2026-07-28: send the probe again, speaking `version` (the server listed it).
    Probe {
        /// The version.
        version: &'static str,
    },
    /// The server speaks the 2025 era: the lifecycle is now the handshake; send its opening.
    Handshake,
    /// Streamable HTTP's `initialize` was refused with 400, 404 or 405: the server may speak
    /// the 2024-11-05 HTTP+SSE transport. Open its event stream and send the opening again.
    LegacySse,
}

impl Lifecycle {
    /// The lifecycle a session of `revision` starts with.
    pub(crate) fn new(revision: Revision) -> Self {
        match revision {
            Revision::Legacy => Lifecycle::Handshake(Handshake::default()),
            Revision::Auto | Revision::Modern => Lifecycle::Modern(Modern {
                phase: Phase::Opening,
                version: MODERN_PROTOCOL_VERSION,
                fallback: revision == Revision::Auto,
                reprobed: false,
                server: None,
            }),
        }
    }

    /// The lifecycle of the 2024-11-05 HTTP+SSE transport: the handshake, offering 2024-11-05.
    pub(crate) fn legacy_sse() -> Self {
        Lifecycle::Handshake(Handshake {
            sse: true,
            ..Handshake::default()
        })
    }

    /// Whether the session speaks the 2024-11-05 HTTP+SSE transport.
    pub(crate) fn is_legacy_sse(&self) -> bool {
        matches!(self, Lifecycle::Handshake(h) if h.sse)
    }

    /// The session's opening request: its method and params (2026-07-28: none; the
    /// revision's `_meta` is added to every request as it is sent).
    pub(crate) fn opening(
        &self,
        client_info: &Implementation,
        capabilities: &ClientCapabilities,
    ) -> (&'static str, Option<Value>) {
        match self {
            Lifecycle::Handshake(h) => {
                let version = match h.sse {
                    true => LEGACY_SSE_PROTOCOL_VERSION,
                    false => LATEST_PROTOCOL_VERSION,
                };
                let params = InitializeParams {
                    protocol_version: version.into(),
                    capabilities: capabilities.clone(),
                    client_info: client_info.clone(),
                    extra: Default::default(),
                };
                let params = serde_json::to_value(params).unwrap_or(Value::Null);
                ("initialize", Some(params))
            }
            Lifecycle::Modern(_) => ("server/discover", None),
        }
    }

    /// The opening request's result: what the session does next, or why it cannot go on.
    pub(crate) fn on_result(&mut self, result: &str) -> Result<Next, Failure> {
        match self {
            Lifecycle::Handshake(h) => {
                let init: InitializeResult = serde_json::from_str(result)
                    .map_err(|e| Failure::InvalidHandshake(e.to_string().into()))?;
                let legacy = h.sse.then_some(LEGACY_SSE_PROTOCOL_VERSION);
                let Some(version) = SUPPORTED_PROTOCOL_VERSIONS
                    .iter()
                    .copied()
                    .chain(legacy)
                    .find(|v| *v == init.protocol_version)
                else {
                    return Err(Failure::UnsupportedVersion(init.protocol_version.into()));
                };
                h.version = Some(version);
                h.server = Some(init.into());
                h.phase = Phase::Initialized;
                Ok(Next::Initialized { version })
            }
            Lifecycle::Modern(m) => {
                let discover: DiscoverResult = match serde_json::from_str(result) {
                    Ok(d) => d,
                    // Not a DiscoverResult: a server of the 2025 era answering in its way.
                    Err(_) if m.fallback => return Ok(self.fall_back()),
                    Err(e) => {
                        return Err(Failure::NotModern(
                            format!("its answer to server/discover is no DiscoverResult: {e}")
                                .into(),
                        ))
                    }
                };
                let Some(version) = discover.choose_version(MODERN_PROTOCOL_VERSIONS) else {
                    return match self.legacy_allowed(&discover.supported_versions) {
                        true => Ok(self.fall_back()),
                        false => Err(Failure::UnsupportedVersion(
                            discover.supported_versions.join(", ").into(),
                        )),
                    };
                };
                m.version = version;
                m.server = Some(discover.into_server_info(version));
                m.phase = Phase::Initialized;
                Ok(Next::Ready { version })
            }
        }
    }

    /// The opening request failed with `e`: whether that says which revision the server
    /// speaks (see the module documentation), or fails the session. `stdio`: a probe with no
    /// answer in time means a server of the 2025 era.
    pub(crate) fn on_error(&mut self, e: RequestError, stdio: bool) -> Result<Next, SessionError> {
        let m = match self {
            Lifecycle::Handshake(h) => {
                // A server that speaks only 2026-07-28 names its versions in its error to
                // `initialize`: go forward to it, once, if the probe led here.
                if let (true, Some(v)) = (h.from_probe, modern_in(&e)) {
                    *self = Lifecycle::Modern(Modern {
                        phase: Phase::Opening,
                        version: v,
                        fallback: false,
                        reprobed: true,
                        server: None,
                    });
                    return Ok(Next::Probe { version: v });
                }
                // Only the fallback row makes a status to `initialize` fail the request
                // alone (Streamable HTTP, 400/404/405): the server may speak HTTP+SSE, as
                // the 2025-11-25 specification's backwards-compatibility section says.
                if let (false, RequestError::Http(x)) = (h.sse, &e) {
                    if matches!(x.status.as_u16(), 400 | 404 | 405) {
                        *h = Handshake {
                            sse: true,
                            ..Handshake::default()
                        };
                        return Ok(Next::LegacySse);
                    }
                }
                return Err(handshake_failure(e));
            }
            Lifecycle::Modern(m) => m,
        };
        let rpc = match &e {
            RequestError::Http(h) => h.rpc.as_ref(),
            RequestError::Rpc(r) | RequestError::HeaderMismatch(r) => Some(r),
            // A modern error, and no version error: it fails the session below.
            RequestError::CapabilityRequired { .. } => return Err(handshake_failure(e)),
            _ => None,
        };
        if let Some(kind) = rpc.and_then(modern::recognize) {
            let ModernError::UnsupportedProtocolVersion(u) = kind else {
                return Err(handshake_failure(e));
            };
            let supported = bounded(u.supported);
            if let Some(v) = modern_in(&e) {
                if m.reprobed {
                    return Err(SessionError::UnsupportedProtocolVersion(
                        supported.join(", ").into(),
                    ));
                }
                m.reprobed = true;
                m.version = v;
                return Ok(Next::Probe { version: v });
            }
            return match self.legacy_allowed(&supported) {
                true => Ok(self.fall_back()),
                false => Err(SessionError::UnsupportedProtocolVersion(
                    supported.join(", ").into(),
                )),
            };
        }
        // A status that says nothing of the revision (authorization, a timeout, too many
        // requests) fails the session as it would any opening.
        let legacy = match &e {
            RequestError::Http(h) => {
                h.status.is_client_error() && !matches!(h.status.as_u16(), 401 | 403 | 408 | 429)
            }
            RequestError::Rpc(_) | RequestError::Protocol(_) => true,
            RequestError::Timeout { .. } => stdio,
            _ => false,
        };
        if !legacy {
            return Err(handshake_failure(e));
        }
        if m.fallback {
            Ok(self.fall_back())
        } else {
            Err(SessionError::NotModern(e.to_string().into()))
        }
    }

    /// Whether the server's `supported` versions include one of the 2025 era this client
    /// speaks, and it may be spoken.
    fn legacy_allowed(&self, supported: &[String]) -> bool {
        let fallback = matches!(self, Lifecycle::Modern(m) if m.fallback);
        fallback
            && supported
                .iter()
                .any(|s| SUPPORTED_PROTOCOL_VERSIONS.contains(&s.as_str()))
    }

    /// Becomes the 2025-era handshake.
    fn fall_back(&mut self) -> Next {
        *self = Lifecycle::Handshake(Handshake {
            from_probe: true,
            ..Handshake::default()
        });
        Next::Handshake
    }

    /// 2025 era: the server forgot the session; the handshake starts again (the server's
    /// information stays until the new answer replaces it). Says whether it did: the
    /// 2026-07-28 revision has no sessions, and an opening still outstanding is not started
    /// twice.
    pub(crate) fn restart(&mut self) -> bool {
        match self {
            Lifecycle::Handshake(h) if h.phase != Phase::Opening => {
                h.phase = Phase::Opening;
                // A new session of the same era: never forward to another revision.
                h.from_probe = false;
                true
            }
            _ => false,
        }
    }

    /// The opening is over: true the first time.
    pub(crate) fn become_ready(&mut self) -> bool {
        let phase = match self {
            Lifecycle::Handshake(h) => &mut h.phase,
            Lifecycle::Modern(m) => &mut m.phase,
        };
        if *phase == Phase::Initialized {
            *phase = Phase::Ready;
            true
        } else {
            false
        }
    }

    /// Whether requests go out now (else they wait).
    pub(crate) fn is_ready(&self) -> bool {
        self.phase() == &Phase::Ready
    }

    /// Whether the server has answered the opening (readiness may still wait).
    pub(crate) fn is_initialized(&self) -> bool {
        self.phase() != &Phase::Opening
    }

    fn phase(&self) -> &Phase {
        match self {
            Lifecycle::Handshake(h) => &h.phase,
            Lifecycle::Modern(m) => &m.phase,
        }
    }

    /// Whether the session speaks 2026-07-28 (or probes it).
    pub(crate) fn is_modern(&self) -> bool {
        matches!(self, Lifecycle::Modern(_))
    }

    /// Who the server is, once known.
    pub(crate) fn server(&self) -> Option<&ServerInfo> {
        match self {
            Lifecycle::Handshake(h) => h.server.as_ref(),
            Lifecycle::Modern(m) => m.server.as_ref(),
        }
    }

    /// The version spoken: negotiated (2025 era), or the one requests carry (2026-07-28,
    /// once the probe was answered).
    pub(crate) fn version(&self) -> Option<&'static str> {
        match self {
            Lifecycle::Handshake(h) => h.version,
            Lifecycle::Modern(m) if m.phase != Phase::Opening => Some(m.version),
            Lifecycle::Modern(_) => None,
        }
    }

    /// 2026-07-28: the version requests carry (the probe's included).
    pub(crate) fn wire_version(&self) -> Option<&'static str> {
        match self {
            Lifecycle::Handshake(_) => None,
            Lifecycle::Modern(m) => Some(m.version),
        }
    }

    /// 2026-07-28: requests carry `version` from now on (the server listed it in a version
    /// error).
    pub(crate) fn set_version(&mut self, version: &'static str) {
        if let Lifecycle::Modern(m) = self {
            m.version = version;
            if let Some(s) = &mut m.server {
                s.protocol_version = version.into();
            }
        }
    }
}

/// The `supported` versions of an `UnsupportedProtocolVersionError` (the server's, kept in
/// errors: at most 64, each at most 64 characters, escaped).
pub(crate) fn supported_versions(e: &ErrorObject) -> Vec<String> {
    match modern::recognize(e) {
        Some(ModernError::UnsupportedProtocolVersion(u)) => bounded(u.supported),
        _ => Vec::new(),
    }
}

fn bounded(versions: Vec<String>) -> Vec<String> {
    versions
        .into_iter()
        .take(64)
        .map(|s| crate::error::sanitize(&s.chars().take(64).collect::<String>()))
        .collect()
}

/// The version without a handshake the client speaks that an `UnsupportedProtocolVersion`
/// error behind `e` lists, if any.
fn modern_in(e: &RequestError) -> Option<&'static str> {
    let rpc = match e {
        RequestError::Http(h) => h.rpc.as_ref()?,
        RequestError::Rpc(r) => r,
        _ => return None,
    };
    modern::choose_version(&supported_versions(rpc), MODERN_PROTOCOL_VERSIONS)
}

/// What the opening request failing with `e` means for the session.
pub(crate) fn handshake_failure(e: RequestError) -> SessionError {
    match e {
        RequestError::Session(e) => e,
        RequestError::Http(e) => SessionError::Http(e),
        RequestError::Rpc(e) | RequestError::HeaderMismatch(e) => SessionError::Rpc(e),
        RequestError::CapabilityRequired { message, .. } => {
            SessionError::Rpc(ErrorObject::new(ErrorObject::MISSING_CAPABILITY, message))
        }
        RequestError::Protocol(e) => SessionError::Protocol(e),
        RequestError::StreamLost => SessionError::StreamLost,
        RequestError::Transport(e) => SessionError::Transport(e),
        RequestError::TooLarge { limit } => SessionError::TooLarge { limit },
        RequestError::Timeout { after, skipped } => SessionError::Timeout { after, skipped },
        RequestError::LimitReached { what, limit } => SessionError::LimitReached { what, limit },
        RequestError::UnsupportedVersion { supported, .. } => {
            SessionError::UnsupportedProtocolVersion(supported.join(", ").into())
        }
        RequestError::Auth(e) => SessionError::Auth(e),
        RequestError::Redirect(e) => SessionError::Redirect(e),
        RequestError::SessionExpired => SessionError::SessionExpired,
        RequestError::Cancelled
        | RequestError::TooManyRequests { .. }
        | RequestError::Removed { .. }
        | RequestError::Input(_)
        | RequestError::Task(_) => SessionError::Closed,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::HttpError;

    fn result(version: &str) -> String {
        format!(
            r#"{{"protocolVersion":"{version}","capabilities":{{}},"serverInfo":{{"name":"s","version":"1"}}}}"#
        )
    }

    fn discover(versions: &str) -> String {
        format!(
            r#"{{"resultType":"complete","supportedVersions":{versions},"capabilities":{{"tools":{{}}}},"instructions":"hi","_meta":{{"io.modelcontextprotocol/serverInfo":{{"name":"m","version":"2"}}}},"ttlMs":0,"cacheScope":"private"}}"#
        )
    }

    fn http(status: u16, rpc: Option<ErrorObject>) -> RequestError {
        let mut e = HttpError::new(http::StatusCode::from_u16(status).unwrap(), "");
        e.rpc = rpc;
        RequestError::Http(Arc::new(e))
    }

    fn unsupported(versions: &[&str]) -> ErrorObject {
        let mut e = ErrorObject::new(
            ErrorObject::UNSUPPORTED_VERSION,
            "Unsupported protocol version",
        );
        e.data = Some(serde_json::json!({"supported": versions, "requested": "2026-07-28"}));
        e
    }

    #[test]
    fn the_handshake_opens_with_initialize_and_is_ready_after_its_answer() {
        let mut l = Lifecycle::new(Revision::Legacy);
        let (method, params) = l.opening(&Implementation::new("c", "1"), &Default::default());
        assert_eq!(method, "initialize");
        assert_eq!(params.unwrap()["protocolVersion"], LATEST_PROTOCOL_VERSION);
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
        assert!(!l.is_modern());
    }

    #[test]
    fn an_unsupported_version_or_an_invalid_answer_is_a_failure() {
        let mut l = Lifecycle::new(Revision::Legacy);
        assert_eq!(
            l.on_result(&result("1999-01-01")),
            Err(Failure::UnsupportedVersion("1999-01-01".into()))
        );
        assert!(matches!(
            Lifecycle::new(Revision::Legacy).on_result("{}"),
            Err(Failure::InvalidHandshake(_))
        ));
    }

    #[test]
    fn the_probe_opens_with_server_discover_and_its_result_fills_the_server_info() {
        let mut l = Lifecycle::new(Revision::Auto);
        assert!(l.is_modern());
        let (method, params) = l.opening(&Implementation::new("c", "1"), &Default::default());
        assert_eq!((method, params), ("server/discover", None));
        assert_eq!(l.version(), None, "not known before the answer");
        assert_eq!(l.wire_version(), Some("2026-07-28"));
        assert_eq!(
            l.on_result(&discover(r#"["2026-07-28","2025-11-25"]"#)),
            Ok(Next::Ready {
                version: "2026-07-28"
            })
        );
        assert!(l.become_ready());
        let s = l.server().unwrap();
        assert_eq!(s.server_info.name, "m");
        assert_eq!(s.protocol_version, "2026-07-28");
        assert_eq!(s.instructions.as_deref(), Some("hi"));
        assert!(s.capabilities.tools.is_some());
        assert_eq!(s.extra["ttlMs"].as_f64(), Some(0.0));
    }

    #[test]
    fn server_info_in_the_result_body_is_read_too() {
        let mut l = Lifecycle::new(Revision::Modern);
        let body = r#"{"supportedVersions":["2026-07-28"],"capabilities":{},"serverInfo":{"name":"b","version":"1"}}"#;
        assert!(matches!(l.on_result(body), Ok(Next::Ready { .. })));
        assert_eq!(l.server().unwrap().server_info.name, "b");
    }

    #[test]
    fn a_version_error_listing_our_version_sends_the_probe_again_once() {
        let mut l = Lifecycle::new(Revision::Auto);
        let e = || http(400, Some(unsupported(&["2026-07-28"])));
        assert_eq!(
            l.on_error(e(), false),
            Ok(Next::Probe {
                version: "2026-07-28"
            })
        );
        assert!(matches!(
            l.on_error(e(), false),
            Err(SessionError::UnsupportedProtocolVersion(_))
        ));
    }

    #[test]
    fn a_version_error_listing_only_2025_versions_falls_back_or_fails_when_pinned() {
        let e = || RequestError::Rpc(unsupported(&["2025-11-25"]));
        let mut l = Lifecycle::new(Revision::Auto);
        assert_eq!(l.on_error(e(), true), Ok(Next::Handshake));
        assert!(!l.is_modern());
        let mut l = Lifecycle::new(Revision::Modern);
        assert!(matches!(
            l.on_error(e(), true),
            Err(SessionError::UnsupportedProtocolVersion(_))
        ));
        let mut l = Lifecycle::new(Revision::Auto);
        assert!(matches!(
            l.on_error(RequestError::Rpc(unsupported(&["1999-01-01"])), true),
            Err(SessionError::UnsupportedProtocolVersion(_))
        ));
    }

    #[test]
    fn any_other_error_or_a_client_error_status_means_the_2025_era() {
        let cases = [
            http(
                400,
                Some(ErrorObject::new(-32000, "Bad Request: No valid session ID")),
            ),
            http(404, None),
            http(405, None),
            http(
                404,
                Some(ErrorObject::new(ErrorObject::METHOD_NOT_FOUND, "nope")),
            ),
            RequestError::Rpc(ErrorObject::new(ErrorObject::METHOD_NOT_FOUND, "nope")),
            RequestError::Rpc(ErrorObject::new(
                ErrorObject::INVALID_PARAMS,
                "not initialized",
            )),
            RequestError::Protocol(crate::ProtocolError::NoResponse),
        ];
        for e in cases {
            let mut l = Lifecycle::new(Revision::Auto);
            assert_eq!(l.on_error(e.clone(), false), Ok(Next::Handshake), "{e:?}");
            let mut l = Lifecycle::new(Revision::Modern);
            assert!(
                matches!(
                    l.on_error(e.clone(), false),
                    Err(SessionError::NotModern(_))
                ),
                "{e:?}"
            );
        }
        let mut l = Lifecycle::new(Revision::Auto);
        assert_eq!(l.on_result("{}"), Ok(Next::Handshake), "no DiscoverResult");
    }

    #[test]
    fn no_answer_in_time_means_the_2025_era_over_stdio_only() {
        let timeout = || RequestError::Timeout {
            after: std::time::Duration::from_secs(5),
            skipped: 0,
        };
        assert_eq!(
            Lifecycle::new(Revision::Auto).on_error(timeout(), true),
            Ok(Next::Handshake)
        );
        assert!(matches!(
            Lifecycle::new(Revision::Auto).on_error(timeout(), false),
            Err(SessionError::Timeout { .. })
        ));
    }

    #[test]
    fn a_server_failing_or_the_transport_failing_is_no_era_signal() {
        let cases = [
            http(503, None),
            RequestError::Transport(crate::TransportError::new(
                crate::TransportErrorKind::Connect,
                "refused",
            )),
            RequestError::HeaderMismatch(ErrorObject::new(ErrorObject::HEADER_MISMATCH, "bad")),
        ];
        for e in cases {
            let mut l = Lifecycle::new(Revision::Auto);
            assert!(l.on_error(e.clone(), false).is_err(), "{e:?}");
            assert!(l.is_modern());
        }
    }

    #[test]
    fn an_initialize_rejected_for_a_modern_version_after_a_fallback_goes_forward_once() {
        let mut l = Lifecycle::new(Revision::Auto);
        let timeout = RequestError::Timeout {
            after: std::time::Duration::from_secs(5),
            skipped: 0,
        };
        assert_eq!(l.on_error(timeout, true), Ok(Next::Handshake));
        let e = RequestError::Rpc(unsupported(&["2026-07-28"]));
        assert_eq!(
            l.on_error(e.clone(), true),
            Ok(Next::Probe {
                version: "2026-07-28"
            })
        );
        assert!(l.is_modern());
        assert!(l.on_error(e, true).is_err(), "and not again");
        let mut pinned = Lifecycle::new(Revision::Legacy);
        assert!(pinned
            .on_error(RequestError::Rpc(unsupported(&["2026-07-28"])), true)
            .is_err());
    }
}
