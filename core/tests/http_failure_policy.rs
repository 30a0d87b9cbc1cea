//! What each HTTP status does (DESIGN.md, "What each failure does"), driven through the
//! session: which failures end the session, which fail one request, which only warn.

mod support;

use std::time::Duration;

use mcpwire_core::jsonrpc::ErrorObject;
use mcpwire_core::{Event, Policy, RequestError, Scope, SessionError, Warning};
use support::*;

const PROGRESS_NOTE: &str = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}"#;

/// The HTTP failure a request or the session failed with.
trait AsHttp: std::fmt::Debug {
    fn http(&self) -> Option<&mcpwire_core::HttpError>;
}

impl AsHttp for RequestError {
    fn http(&self) -> Option<&mcpwire_core::HttpError> {
        match self {
            RequestError::Http(h) => Some(h),
            _ => None,
        }
    }
}

impl AsHttp for SessionError {
    fn http(&self) -> Option<&mcpwire_core::HttpError> {
        match self {
            SessionError::Http(h) => Some(h),
            _ => None,
        }
    }
}

/// The 2025 era, with a 404 to the session id failing the session.
fn without_recovery() -> mcpwire_core::Config {
    legacy().with_policy(Policy::default().with_recover_expired_sessions(false))
}

fn http_error(e: &impl AsHttp) -> &mcpwire_core::HttpError {
    e.http()
        .unwrap_or_else(|| panic!("expected an HTTP error, got {e:?}"))
}

#[test]
fn a_5xx_on_a_request_post_fails_every_outstanding_request_in_ascending_id_then_closes_once() {
    let mut h = Harness::http();
    h.ready_http();
    let ids: Vec<_> = (0..3).map(|_| h.request("tools/call")).collect();
    let sent = h.sent();
    // The first has an open stream; the second waits for its head; the third is answered 500.
    h.sse_head(sent[0].exchange);
    h.sse_event(sent[0].exchange, None, PROGRESS_NOTE);
    h.events();
    h.head(sent[2].exchange, 500, &[("content-type", "text/plain")]);
    h.body(sent[2].exchange, "boom");
    h.end(sent[2].exchange);
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(events.len(), 4, "{events:?}");
    let e = http_error(&error);
    assert_eq!(e.status, 500);
    assert_eq!(e.body, "boom");
    h.assert_permanently_failed(&error);
}

#[test]
fn a_5xx_on_a_notification_post_fails_the_session() {
    let mut h = Harness::http();
    h.ready_http();
    let ids = [h.request("tools/list"), h.request("prompts/list")];
    h.sent();
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let sent = h.sent();
    let note = notifications(&sent, "notifications/roots/list_changed")[0].exchange;
    h.head(note, 502, &[]);
    h.end(note);
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(http_error(&error).status, 502);
    h.assert_permanently_failed(&error);
}

#[test]
fn a_5xx_on_the_get_stream_fails_the_session() {
    let mut h = Harness::http();
    let get = h.handshake_http();
    // Started during the handshake: queued until the GET is answered, and outstanding.
    let ids = [h.request("tools/list")];
    assert!(
        h.sent().is_empty(),
        "queued until the GET stream is answered"
    );
    h.head(get.exchange, 503, &[("content-type", "text/plain")]);
    h.body(get.exchange, "try later");
    h.end(get.exchange);
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    let e = http_error(&error);
    assert_eq!((e.status.as_u16(), e.body.as_str()), (503, "try later"));
    h.assert_permanently_failed(&error);
}

#[test]
fn a_5xx_whose_body_never_ends_still_fails_the_session_soon() {
    let mut h = Harness::http();
    h.ready_http();
    let ids = [h.request("tools/list")];
    let sent = h.sent();
    h.head(sent[0].exchange, 500, &[]);
    h.body(sent[0].exchange, "partial");
    assert!(h.events().is_empty(), "the body is read first");
    let wake = h
        .session
        .poll_timeout()
        .expect("a deadline for the unfinished body");
    assert!(
        wake < h.at(Duration::from_secs(60)),
        "sooner than the request's own deadline"
    );
    h.advance_to(wake);
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(http_error(&error).body, "partial");
}

#[test]
fn with_request_scope_a_5xx_on_a_request_post_fails_only_that_request() {
    let mut config = legacy();
    config.policy.server_error_scope = Scope::Request;
    let mut h = Harness::http_with(config);
    h.ready_http();
    let (a, b) = (h.request("tools/list"), h.request("tools/call"));
    let sent = h.sent();
    h.head(post_of(&sent, b).exchange, 503, &[("retry-after", "3")]);
    h.end(post_of(&sent, b).exchange);
    let events = h.events();
    let done = responses(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert_eq!(done[0].0, b);
    let error = error_of(&done[0].1);
    let e = http_error(&error);
    assert_eq!(
        (e.status.as_u16(), e.retry_after.as_deref()),
        (503, Some("3"))
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Closed(_))));
    assert!(h.session.is_ready());
    h.json(
        post_of(&sent, a).exchange,
        200,
        &response_line(a.0, r#"{"tools":[]}"#),
    );
    assert_eq!(
        responses(&h.events()),
        vec![(a, Ok(r#"{"tools":[]}"#.to_owned()))]
    );
}

#[test]
fn with_request_scope_a_5xx_on_a_notification_post_is_a_warning() {
    let mut policy = Policy::default();
    policy.server_error_scope = Scope::Request;
    let mut h = Harness::http_with(legacy().with_policy(policy));
    h.ready_http();
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let note = h.sent()[0].exchange;
    h.head(note, 500, &[]);
    h.end(note);
    let warnings = warnings(&h.events());
    assert_eq!(
        warnings,
        vec![Warning::NotificationRejected {
            method: "notifications/roots/list_changed".into(),
            status: http::StatusCode::INTERNAL_SERVER_ERROR
        }]
    );
    assert!(h.session.is_ready());
}

#[test]
fn a_404_on_an_exchange_that_carried_the_session_id_means_the_session_expired() {
    // With recovery off; with it (the default), see `session_recovery.rs`.
    let mut h = Harness::http_with(without_recovery());
    h.ready_http();
    let ids = [h.request("tools/list"), h.request("tools/call")];
    let sent = h.sent();
    assert_eq!(
        header(post_of(&sent, ids[1]), "mcp-session-id"),
        Some("sess-1")
    );
    h.json(
        post_of(&sent, ids[1]).exchange,
        404,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#,
    );
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(error, SessionError::SessionExpired);
    h.assert_permanently_failed(&error);
}

#[test]
fn a_404_on_the_get_stream_that_carried_the_session_id_only_means_no_server_stream() {
    // The GET stream is optional; a session that really expired fails on its next POST (with
    // recovery off; with it, the next POST starts a new session).
    let mut h = Harness::http_with(without_recovery());
    let get = h.handshake_http();
    assert_eq!(header(&get, "mcp-session-id"), Some("sess-1"));
    let id = h.request("tools/list");
    h.head(get.exchange, 404, &[]);
    let post = h.sent().pop().unwrap();
    let events = h.events();
    assert!(matches!(events[..], [Event::Ready]), "{events:?}");
    assert!(!h.session.is_closed());
    h.json(post.exchange, 404, "gone");
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[id]),
        SessionError::SessionExpired
    );
}

#[test]
fn a_404_to_a_request_when_the_server_assigned_no_session_fails_only_that_request() {
    let mut h = Harness::http();
    h.ready_http_without_session();
    let (a, b) = (h.request("tools/list"), h.request("nope/nope"));
    let sent = h.sent();
    assert_eq!(header(post_of(&sent, b), "mcp-session-id"), None);
    h.json(post_of(&sent, b).exchange, 404, "not here");
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].0, http_error(&error_of(&done[0].1)).status.as_u16()),
        (b, 404)
    );
    assert!(h.session.is_ready());
    h.json(post_of(&sent, a).exchange, 200, &response_line(a.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(a, Ok("{}".to_owned()))]);
}

#[test]
fn a_401_fails_the_session_with_auth_required_carrying_www_authenticate() {
    let challenge = r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="files:read""#;
    let mut h = Harness::http();
    h.ready_http();
    let ids = [h.request("tools/list"), h.request("tools/call")];
    let sent = h.sent();
    h.head(
        post_of(&sent, ids[0]).exchange,
        401,
        &[("www-authenticate", challenge)],
    );
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(
        error,
        SessionError::AuthRequired {
            www_authenticate: Some(challenge.into())
        }
    );
    h.assert_permanently_failed(&error);
}

#[test]
fn a_401_without_www_authenticate_still_fails_the_session_with_auth_required() {
    let mut h = Harness::http();
    let get = h.handshake_http();
    h.head(get.exchange, 401, &[]);
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[]),
        SessionError::AuthRequired {
            www_authenticate: None
        }
    );
}

#[test]
fn a_client_error_on_a_request_post_fails_only_that_request_with_the_rpc_error_and_retry_after() {
    for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
        let mut h = Harness::http();
        h.ready_http();
        let (a, b) = (h.request("tools/list"), h.request("tools/call"));
        let sent = h.sent();
        let x = post_of(&sent, b).exchange;
        h.head(
            x,
            code,
            &[("content-type", "application/json"), ("retry-after", "120")],
        );
        h.body(x, &format!(r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32602,"message":"bad {code}","data":{{"why":"test"}}}}}}"#, b.0));
        h.end(x);
        let events = h.events();
        let done = responses(&events);
        assert_eq!(done.len(), 1, "{code}: {events:?}");
        assert_eq!(done[0].0, b, "{code}");
        let error = error_of(&done[0].1);
        let e = http_error(&error);
        assert_eq!(e.status.as_u16(), code);
        let mut rpc = ErrorObject::new(-32602, format!("bad {code}"));
        rpc.data = Some(serde_json::json!({"why": "test"}));
        assert_eq!(e.rpc, Some(rpc), "{code}");
        assert_eq!(e.retry_after.as_deref(), Some("120"), "{code}");
        assert!(
            !events.iter().any(|e| matches!(e, Event::Closed(_))),
            "{code}"
        );
        assert!(h.session.is_ready(), "{code}");
        // The other request goes on.
        h.json(post_of(&sent, a).exchange, 200, &response_line(a.0, "{}"));
        assert_eq!(
            responses(&h.events()),
            vec![(a, Ok("{}".to_owned()))],
            "{code}"
        );
    }
}

#[test]
fn a_client_error_with_a_plain_body_fails_the_request_with_its_excerpt_and_no_rpc_error() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.head(x, 429, &[("content-type", "text/plain")]);
    h.body(x, "slow ");
    h.body(x, "down");
    h.end(x);
    let done = responses(&h.events());
    assert_eq!(done[0].0, id);
    let error = error_of(&done[0].1);
    let e = http_error(&error);
    assert_eq!(
        (
            e.status.as_u16(),
            e.body.as_str(),
            e.rpc.as_ref(),
            e.retry_after.as_deref()
        ),
        (429, "slow down", None, None)
    );
}

#[test]
fn a_client_error_on_a_notification_post_is_a_warning_and_fails_nothing() {
    for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
        let mut h = Harness::http();
        h.ready_http();
        let id = h.request("tools/list");
        let post = h.sent()[0].exchange;
        h.session
            .notify("notifications/roots/list_changed", None)
            .unwrap();
        let note = h.sent()[0].exchange;
        h.json(
            note,
            code,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}"#,
        );
        let events = h.events();
        assert_eq!(
            warnings(&events),
            vec![Warning::NotificationRejected {
                method: "notifications/roots/list_changed".into(),
                status: http::StatusCode::from_u16(code).unwrap(),
            }],
            "{code}"
        );
        assert!(responses(&events).is_empty(), "{code}: {events:?}");
        assert!(h.session.is_ready(), "{code}");
        h.json(post, 200, &response_line(id.0, "{}"));
        assert_eq!(
            responses(&h.events()),
            vec![(id, Ok("{}".to_owned()))],
            "{code}"
        );
    }
}

#[test]
fn a_400_or_405_on_the_get_stream_means_no_server_stream_with_no_warning_no_error_and_no_retry() {
    for code in [400, 405] {
        let mut h = Harness::http();
        let get = h.handshake_http();
        let id = h.request("tools/list");
        h.head(get.exchange, code, &[("content-type", "text/plain")]);
        h.body(get.exchange, "Method Not Allowed");
        h.end(get.exchange);
        let post = h.sent()[0].exchange;
        let events = h.events();
        assert!(
            matches!(events[..], [Event::Ready]),
            "{code}: no warning, no error: {events:?}"
        );
        h.json(post, 200, &response_line(id.0, "{}"));
        assert_eq!(
            responses(&h.events()),
            vec![(id, Ok("{}".to_owned()))],
            "{code}"
        );
        h.advance(Duration::from_secs(3600));
        assert!(h.sent().is_empty(), "{code}: the GET is never retried");
        assert!(h.events().is_empty(), "{code}");
        assert!(h.session.is_ready(), "{code}");
    }
}

#[test]
fn a_404_on_the_get_stream_of_a_server_without_sessions_means_no_server_stream() {
    let mut h = Harness::http();
    let get = h.handshake_http_without_session();
    h.head(get.exchange, 404, &[]);
    h.end(get.exchange);
    let events = h.events();
    assert!(matches!(events[..], [Event::Ready]), "{events:?}");
    h.advance(Duration::from_secs(3600));
    assert!(h.sent().is_empty(), "the GET is never retried");
    assert!(h.session.is_ready());
}

#[test]
fn a_409_on_the_get_stream_is_a_warning_and_the_session_goes_on() {
    // server-everything (streamableHttp) answers a second GET stream with 409.
    let mut h = Harness::http();
    let get = h.handshake_http();
    h.head(get.exchange, 409, &[]);
    assert_eq!(
        warnings(&h.events()),
        vec![Warning::ServerStreamRejected {
            status: http::StatusCode::CONFLICT
        }]
    );
    assert!(h.session.is_ready());
    let id = h.request("tools/list");
    let post = h.sent()[0].exchange;
    h.json(post, 200, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn a_client_error_whose_body_never_ends_fails_the_request_soon_and_aborts_the_exchange() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = h.sent()[0].exchange;
    h.head(x, 429, &[("retry-after", "30")]);
    h.body(x, "too many");
    assert!(h.take().is_empty(), "the body is read first");
    let wake = h.session.poll_timeout().unwrap();
    assert!(
        wake < h.at(Duration::from_secs(60)),
        "sooner than the request's own deadline"
    );
    h.advance_to(wake);
    assert_eq!(h.aborts(), vec![x]);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, id);
    let error = error_of(&done[0].1);
    let e = http_error(&error);
    assert_eq!(
        (e.status.as_u16(), e.body.as_str(), e.retry_after.as_deref()),
        (429, "too many", Some("30"))
    );
    assert!(h.session.is_ready());
}

#[test]
fn a_5xx_on_a_resumed_stream_fails_the_session() {
    let mut h = Harness::http();
    h.ready_http();
    let ids = [h.request("tools/call"), h.request("tools/list")];
    let sent = h.sent();
    let x = post_of(&sent, ids[0]).exchange;
    h.sse_head(x);
    h.body(x, "id: 1\nretry: 100\ndata: \n\n");
    h.end(x);
    h.advance(Duration::from_millis(100));
    let get = h.sent()[0].exchange;
    h.head(get, 503, &[]);
    h.end(get);
    let events = h.events();
    assert_eq!(
        http_error(&assert_session_failed(&events, &ids)).status,
        503
    );
}
