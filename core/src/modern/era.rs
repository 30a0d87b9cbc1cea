//! Era detection: does the server speak this revision (modern) or an `initialize` revision
//! (legacy)? Read from the answer to a `server/discover` probe sent with the client's
//! preferred modern version in `_meta`.
//!
//! The spec, on Streamable HTTP (`basic/transports/streamable-http.mdx` §Backward
//! Compatibility):
//!
//! > "On `400 Bad Request`, the client SHOULD inspect the response body before falling back:
//! > modern servers also use `400` for `UnsupportedProtocolVersionError`,
//! > `MissingRequiredClientCapabilityError`, and header-validation failures.
//! > - If the body contains a recognized modern JSON-RPC error, the server speaks a modern
//! >   version of MCP — retry using the advertised `supported` versions or correct the
//! >   request, rather than falling back.
//! > - If the body is empty or is not a recognized modern JSON-RPC error, fall back to
//! >   `initialize` and continue with the legacy version for subsequent requests."
//!
//! and on stdio (`basic/transports/stdio.mdx` §Backward Compatibility):
//!
//! > "- The server returns a `DiscoverResult`: the server is modern. Select a mutually
//! >   supported version from `supportedVersions` and continue.
//! > - The server returns a recognized modern JSON-RPC error such as
//! >   `UnsupportedProtocolVersionError`: the server is modern but does not support the
//! >   requested version. Use one of the versions in its advertised `supported` list. Do
//! >   **not** fall back to `initialize`.
//! > - The server returns any other error, or does not respond within a reasonable timeout:
//! >   the server is legacy. Fall back to the `initialize` handshake.
//! >
//! > The fallback MUST NOT be keyed to one specific error code"
//!
//! and generally (`basic/versioning.mdx`): "a recognized modern JSON-RPC error (such as
//! `UnsupportedProtocolVersionError`) identifies a modern server [...]. Anything else
//! identifies a legacy server." — "The era determination is a property of the server, not of
//! an individual request. Clients SHOULD cache the result for the lifetime of the server
//! process (stdio) or origin (HTTP)".
//!
//! What this module adds where the spec says "anything else": an HTTP answer that is no
//! statement about the protocol at all is not read as "legacy":
//!
//! - `401` and `403` are [`ProbeOutcome::Auth`]: authorize (the conformance auth scenarios
//!   answer the very first request with 401), then probe again;
//! - `408`, `429`, `1xx`, `3xx` and `5xx` without a modern error in the body are
//!   [`ProbeOutcome::Inconclusive`]: the probe failed as any request can (the session's
//!   failure policy applies), the era is still unknown.
//!
//! Every other answer is modern exactly when it is a `DiscoverResult` (on a 2xx) or a
//! recognised modern error ([`is_modern_error`], any status); else legacy, with what was
//! seen ([`LegacyEvidence`]). The probe's timeout (stdio: legacy) is the session's.

use http::StatusCode;
use serde_json::value::RawValue;

use super::errors::{is_modern_error, recognize, ModernError};
use super::schema::DiscoverResult;
use crate::jsonrpc::{self, Decoded, ErrorObject, Message};
use crate::sse::{SseDecoder, SseLimits};

/// What the answer to a `server/discover` probe says about the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProbeOutcome {
    /// A `DiscoverResult`: modern. Choose a version from
    /// [`supported_versions`](DiscoverResult::supported_versions) (a success also means the
    /// version sent is accepted).
    Modern(Box<DiscoverResult>),
    /// A recognised modern error: modern. Retry with a version from its `supported` list
    /// (`-32022`), or correct the request (`-32021`, `-32020`); do not fall back.
    ModernError {
        /// The error, typed.
        kind: ModernError,
        /// The error as sent.
        error: ErrorObject,
    },
    /// Legacy: fall back to `initialize` (and on HTTP, if that fails too, possibly to the
    /// 2024-11-05 HTTP+SSE transport).
    Legacy(LegacyEvidence),
    /// HTTP `401` or `403`: not an era signal; authorize, then probe again.
    Auth {
        /// The status.
        status: StatusCode,
    },
    /// An HTTP failure that says nothing of the protocol (`408`, `429`, `1xx`, `3xx`, `5xx`
    /// without a modern error body): handle it as the failure it is.
    Inconclusive {
        /// The status.
        status: StatusCode,
    },
}

/// Why a server was found to be legacy.
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum LegacyEvidence {
    /// A JSON-RPC error that is not one of this revision's (`-32601`, `-32602`, `-32000`
    /// "no valid session ID", ...).
    Error(ErrorObject),
    /// A success that is not a `DiscoverResult`; why it is not.
    NotADiscoverResult(String),
    /// HTTP: no JSON-RPC answer in the body (empty, not JSON, `202`/`204`, an HTML page).
    NoAnswer {
        /// The status.
        status: StatusCode,
    },
}

/// Reads the answer to a `server/discover` probe: a result or an error (stdio, or an HTTP
/// body already decoded).
pub fn classify_discover_answer(answer: Result<&RawValue, &ErrorObject>) -> ProbeOutcome {
    match answer {
        Ok(result) => match serde_json::from_str::<DiscoverResult>(result.get()) {
            Ok(d) => ProbeOutcome::Modern(Box::new(d)),
            Err(e) => ProbeOutcome::Legacy(LegacyEvidence::NotADiscoverResult(e.to_string())),
        },
        Err(error) => match recognize(error) {
            Some(kind) => ProbeOutcome::ModernError {
                kind,
                error: error.clone(),
            },
            None => ProbeOutcome::Legacy(LegacyEvidence::Error(error.clone())),
        },
    }
}

/// The JSON-RPC answer a body holds: the first response or error in it.
enum Answer {
    Result(Box<RawValue>),
    Error(ErrorObject),
}

fn answer_of(message: Message) -> Option<Answer> {
    match message {
        Message::Response { result, .. } => Some(Answer::Result(result)),
        Message::Error { error, .. } => Some(Answer::Error(error)),
        Message::Request { .. } | Message::Notification { .. } => None,
    }
}

fn answer_in_json(text: &[u8]) -> Option<Answer> {
    match jsonrpc::decode(text).ok()? {
        Decoded::Single(m) => answer_of(m),
        Decoded::Batch(items) => items.into_iter().flatten().find_map(answer_of),
    }
}

fn answer_in_sse(body: &[u8]) -> Option<Answer> {
    // The whole body is in memory already: limits as large as it cannot bind.
    let limits = SseLimits {
        max_line: body.len() + 1,
        max_event: body.len() + 1,
    };
    let mut decoder = SseDecoder::new(limits);
    let mut events = Vec::new();
    // An error can only be a limit, which these are not; the events before it count anyway.
    let _ = decoder.feed(body, &mut events);
    // A final event without its blank line is dispatched as if the stream had one.
    let _ = decoder.feed(b"\n\n", &mut events);
    events
        .into_iter()
        .filter(|e| e.event.is_empty() || e.event == "message")
        .find_map(|e| answer_in_json(e.data.as_bytes()))
}

fn is_event_stream(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Reads an HTTP answer to a `server/discover` probe: its status, `Content-Type` and whole
/// body (bounded by the session). A `text/event-stream` body is read for its first response
/// event; any other body is read as JSON whatever its content type says (error bodies are
/// often mislabelled). See the [module documentation](self) for the rules.
pub fn classify_discover_http(
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> ProbeOutcome {
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return ProbeOutcome::Auth { status };
    }
    let answer = if is_event_stream(content_type) {
        answer_in_sse(body)
    } else {
        answer_in_json(body)
    };
    if let Some(Answer::Error(error)) = &answer {
        if is_modern_error(error) {
            return classify_discover_answer(Err(error));
        }
    }
    let inconclusive = status.is_informational()
        || status.is_redirection()
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS;
    if inconclusive {
        return ProbeOutcome::Inconclusive { status };
    }
    match answer {
        Some(Answer::Result(result)) if status.is_success() => {
            classify_discover_answer(Ok(&result))
        }
        Some(Answer::Error(error)) => ProbeOutcome::Legacy(LegacyEvidence::Error(error)),
        _ => ProbeOutcome::Legacy(LegacyEvidence::NoAnswer { status }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::modern::errors::UNSUPPORTED_PROTOCOL_VERSION;

    const JSON: Option<&str> = Some("application/json");
    const SSE: Option<&str> = Some("text/event-stream; charset=utf-8");

    fn http(status: u16, content_type: Option<&str>, body: &str) -> ProbeOutcome {
        classify_discover_http(
            StatusCode::from_u16(status).unwrap(),
            content_type,
            body.as_bytes(),
        )
    }

    const DISCOVER: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}},"ttlMs":0,"cacheScope":"private"}}"#;
    const UNSUPPORTED: &str = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"1900-01-01"}}}"#;

    #[test]
    fn a_discover_result_is_modern() {
        match http(200, JSON, DISCOVER) {
            ProbeOutcome::Modern(d) => {
                assert_eq!(d.supported_versions, ["2026-07-28"]);
                assert_eq!(d.server_info.unwrap().name, "s");
            }
            o => panic!("{o:?}"),
        }
        let sse = format!(": keep-alive\n\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{}}}}\n\ndata: {DISCOVER}\n\n");
        assert!(matches!(http(200, SSE, &sse), ProbeOutcome::Modern(_)));
        // The last event without its blank line still counts.
        assert!(matches!(
            http(200, SSE, &format!("data: {DISCOVER}")),
            ProbeOutcome::Modern(_)
        ));
        // A missing content type is read as JSON.
        assert!(matches!(http(200, None, DISCOVER), ProbeOutcome::Modern(_)));
    }

    #[test]
    fn a_modern_error_is_modern_whatever_the_status() {
        for status in [400, 404, 200, 500, 429] {
            match http(status, JSON, UNSUPPORTED) {
                ProbeOutcome::ModernError {
                    kind: ModernError::UnsupportedProtocolVersion(u),
                    error,
                } => {
                    assert_eq!(u.supported, ["2026-07-28"]);
                    assert_eq!(error.code, UNSUPPORTED_PROTOCOL_VERSION);
                }
                o => panic!("{status}: {o:?}"),
            }
        }
        let header = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32020,"message":"Missing MCP-Protocol-Version header"}}"#;
        assert!(matches!(
            http(400, JSON, header),
            ProbeOutcome::ModernError {
                kind: ModernError::HeaderMismatch { .. },
                ..
            }
        ));
        let caps = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32021,"message":"m","data":{"requiredCapabilities":{"sampling":{}}}}}"#;
        assert!(matches!(
            http(400, Some("text/plain"), caps),
            ProbeOutcome::ModernError {
                kind: ModernError::MissingRequiredClientCapability { .. },
                ..
            }
        ));
        assert!(matches!(
            http(400, SSE, &format!("data: {UNSUPPORTED}\n\n")),
            ProbeOutcome::ModernError { .. }
        ));
    }

    #[test]
    fn anything_else_on_a_4xx_or_2xx_is_legacy() {
        let session = r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}"#;
        let not_found =
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#;
        let invalid =
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}"#;
        for (status, body) in [
            (400, session),
            (404, not_found),
            (200, not_found),
            (400, invalid),
            (405, not_found),
        ] {
            assert!(
                matches!(
                    http(status, JSON, body),
                    ProbeOutcome::Legacy(LegacyEvidence::Error(_))
                ),
                "{status} {body}"
            );
        }
        for (status, body) in [
            (400, ""),
            (404, "Not Found"),
            (405, ""),
            (406, "<html></html>"),
            (202, ""),
            (204, ""),
            (200, "{}"),
            (200, "not json"),
            (409, r#"{"error":"x"}"#),
        ] {
            match http(status, Some("text/html"), body) {
                ProbeOutcome::Legacy(LegacyEvidence::NoAnswer { status: s }) => {
                    assert_eq!(s.as_u16(), status)
                }
                o => panic!("{status} {body:?}: {o:?}"),
            }
        }
        // A success that is not a DiscoverResult.
        for result in [
            "{}",
            "null",
            r#"{"protocolVersion":"2025-11-25"}"#,
            r#"{"supportedVersions":"x"}"#,
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{result}}}"#);
            assert!(
                matches!(
                    http(200, JSON, &body),
                    ProbeOutcome::Legacy(LegacyEvidence::NotADiscoverResult(_))
                ),
                "{result}"
            );
        }
        // A result on a 4xx is no DiscoverResult.
        assert!(matches!(
            http(400, JSON, DISCOVER),
            ProbeOutcome::Legacy(LegacyEvidence::NoAnswer { .. })
        ));
    }

    #[test]
    fn auth_and_transient_failures_are_not_era_signals() {
        for status in [401, 403] {
            assert!(matches!(
                http(status, JSON, UNSUPPORTED),
                ProbeOutcome::Auth { .. }
            ));
            assert!(matches!(http(status, None, ""), ProbeOutcome::Auth { .. }));
        }
        for status in [500, 502, 503, 408, 429, 307, 308, 301] {
            match http(
                status,
                JSON,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}"#,
            ) {
                ProbeOutcome::Inconclusive { status: s } => assert_eq!(s.as_u16(), status),
                o => panic!("{status}: {o:?}"),
            }
        }
    }

    #[test]
    fn stdio_answers() {
        let result = RawValue::from_string(
            json!({"supportedVersions": ["2026-07-28", "2025-11-25"], "capabilities": {}})
                .to_string(),
        )
        .unwrap();
        assert!(matches!(
            classify_discover_answer(Ok(&result)),
            ProbeOutcome::Modern(_)
        ));
        for code in [-32601, -32602, -32600, -32000, -32603, 0] {
            let e = ErrorObject::new(code, "x");
            assert!(
                matches!(
                    classify_discover_answer(Err(&e)),
                    ProbeOutcome::Legacy(LegacyEvidence::Error(_))
                ),
                "{code}"
            );
        }
        let e = ErrorObject::new(-32022, "x");
        assert!(matches!(
            classify_discover_answer(Err(&e)),
            ProbeOutcome::ModernError { .. }
        ));
    }

    proptest! {
        #[test]
        fn never_panics(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..200), sse in any::<bool>()) {
            let ct = if sse { SSE } else { JSON };
            let _ = classify_discover_http(StatusCode::from_u16(status).unwrap(), ct, &body);
        }
    }
}
