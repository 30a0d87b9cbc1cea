//! The session's lifecycle: the `initialize` handshake and version negotiation, what waits
//! for it, the headers every exchange carries, the server stream, and `close()`.

mod support;

use std::time::Duration;

use http::header::HeaderValue;
use mcpwire_core::schema::Implementation;
use mcpwire_core::{
    Config, Event, Policy, ProtocolError, RequestId, SessionError, TransportErrorKind,
};
use support::*;

fn config_with_everything() -> Config {
    let mut config = legacy().with_client_info(Implementation::new("lifecycle-test", "9.9.9"));
    config.capabilities = config.capabilities.with_roots(true);
    config.capabilities.sampling = Some(serde_json::json!({}));
    config.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer t0ken"),
    );
    config
        .headers
        .insert("x-tenant", HeaderValue::from_static("acme"));
    config
}

#[test]
fn initialize_offers_2025_11_25_with_client_info_and_capabilities() {
    let mut h = Harness::http_with(config_with_everything());
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "initialize is the only output: {sent:?}");
    let init = &sent[0];
    assert_eq!(init.method, http::Method::POST);
    assert_eq!(init.body["jsonrpc"], "2.0");
    assert_eq!(init.body["method"], "initialize");
    assert_eq!(init.body["id"], 0);
    let params = &init.body["params"];
    assert_eq!(params["protocolVersion"], "2025-11-25");
    assert_eq!(
        params["clientInfo"],
        serde_json::json!({"name": "lifecycle-test", "version": "9.9.9"})
    );
    assert_eq!(
        params["capabilities"],
        serde_json::json!({"roots": {"listChanged": true}, "sampling": {}})
    );
    assert_eq!(
        header(init, "accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(header(init, "content-type"), Some("application/json"));
    assert_eq!(header(init, "authorization"), Some("Bearer t0ken"));
    assert_eq!(header(init, "mcp-session-id"), None, "no session yet");
    assert_eq!(
        header(init, "mcp-protocol-version"),
        None,
        "no version negotiated yet"
    );
}

#[test]
fn stdio_initialize_is_the_first_line_on_stdin() {
    let mut h = Harness::stdio_with(config_with_everything());
    let lines = h.stdin();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "initialize");
    assert_eq!(lines[0]["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(lines[0]["params"]["clientInfo"]["name"], "lifecycle-test");
}

#[test]
fn a_server_answering_2025_06_18_or_2025_03_26_is_accepted_and_its_version_is_sent_after() {
    for version in ["2025-06-18", "2025-03-26", "2025-11-25"] {
        let mut h = Harness::http();
        let id = h.request("tools/list");
        h.ready_http_as(version, Some("s-42"));
        assert!(h.session.is_ready(), "{version}");
        assert_eq!(h.session.protocol_version(), Some(version));
        assert_eq!(h.session.server().unwrap().server_info.name, "scripted");
        assert_eq!(h.session.session_id(), Some("s-42"));
        let sent = h.sent();
        assert_eq!(
            header(post_of(&sent, id), "mcp-protocol-version"),
            Some(version),
            "{version}"
        );
    }
}

#[test]
fn a_server_answering_any_other_version_fails_the_session_before_ready() {
    for version in ["2024-11-05", "2026-07-28", "1.0", ""] {
        let mut h = Harness::http();
        let ids = [h.request("tools/list"), h.request("tools/call")];
        let after = h.answer_initialize(&[("mcp-session-id", "s")], &init_result(version));
        assert!(
            after.is_empty(),
            "{version}: neither `initialized` nor the queued requests are sent: {after:?}"
        );
        let events = h.events();
        assert!(
            !events.iter().any(|e| matches!(e, Event::Ready)),
            "{version}"
        );
        let error = assert_session_failed(&events, &ids);
        assert_eq!(
            error,
            SessionError::UnsupportedProtocolVersion(version.into())
        );
        assert_eq!(h.session.protocol_version(), None);
        h.assert_permanently_failed(&error);
    }
}

#[test]
fn an_initialize_result_that_does_not_parse_fails_the_session() {
    let mut h = Harness::stdio();
    let id = h.request("tools/list");
    h.stdin();
    h.stdout(&response_line(0, r#"{"protocolVersion":"2025-11-25"}"#));
    let events = h.events();
    let error = assert_session_failed(&events, &[id]);
    assert!(
        matches!(
            error,
            SessionError::Protocol(ProtocolError::InvalidInitializeResult(_))
        ),
        "{error:?}"
    );
}

#[test]
fn an_error_response_to_initialize_fails_the_session_with_it() {
    let mut h = Harness::stdio();
    let id = h.request("tools/list");
    h.stdin();
    h.stdout(r#"{"jsonrpc":"2.0","id":0,"error":{"code":-32602,"message":"Unsupported protocol version"}}"#);
    let events = h.events();
    let error = assert_session_failed(&events, &[id]);
    let SessionError::Rpc(e) = error else {
        panic!("{error:?}")
    };
    assert_eq!(e.message, "Unsupported protocol version");
}

#[test]
fn any_non_2xx_on_initialize_fails_the_session_and_the_queued_requests_with_it() {
    // 400, 404 and 405 fall back to the 2024-11-05 HTTP+SSE transport by default
    // (`legacy_sse.rs`); without that fallback they too fail the session.
    let policy = mcpwire_core::Policy::default().with_legacy_sse_fallback(false);
    for code in [301, 400, 403, 404, 405, 406, 409, 422, 429, 500, 503] {
        let mut h = Harness::http_with(legacy().with_policy(policy.clone()));
        let ids = [h.request("tools/list"), h.request("resources/list")];
        h.session
            .notify("notifications/roots/list_changed", None)
            .unwrap();
        let sent = h.sent();
        assert_eq!(
            sent.len(),
            1,
            "{code}: requests wait for the handshake, unsent: {sent:?}"
        );
        h.head(sent[0].exchange, code, &[("content-type", "text/plain")]);
        h.body(sent[0].exchange, "nope");
        h.end(sent[0].exchange);
        let events = h.events();
        assert!(!events.iter().any(|e| matches!(e, Event::Ready)), "{code}");
        let error = assert_session_failed(&events, &ids);
        match &error {
            // A redirect is refused with its own typed error (`redirects.rs`), not an excerpt.
            SessionError::Redirect(e) if code == 301 => {
                assert_eq!(e.status.as_u16(), code);
                assert_eq!(e.reason, mcpwire_core::RedirectRefusal::Status);
            }
            SessionError::Http(e) => {
                assert_eq!((e.status.as_u16(), e.body.as_str()), (code, "nope"));
            }
            _ => panic!("{code}: {error:?}"),
        }
        assert!(h.sent().is_empty(), "{code}: nothing queued is sent");
        h.assert_permanently_failed(&error);
    }
}

#[test]
fn a_401_on_initialize_fails_the_session_with_auth_required() {
    let mut h = Harness::http();
    let id = h.request("tools/list");
    let init = h.sent()[0].exchange;
    h.head(init, 401, &[("www-authenticate", "Bearer realm=\"mcp\"")]);
    let events = h.events();
    let error = assert_session_failed(&events, &[id]);
    assert_eq!(
        error,
        SessionError::AuthRequired {
            www_authenticate: Some("Bearer realm=\"mcp\"".into())
        }
    );
}

#[test]
fn a_202_to_initialize_fails_the_session_with_no_response() {
    let mut h = Harness::http();
    let id = h.request("tools/list");
    let init = h.sent()[0].exchange;
    h.head(init, 202, &[]);
    h.end(init);
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[id]),
        SessionError::Protocol(ProtocolError::NoResponse)
    );
}

#[test]
fn connection_refused_on_initialize_fails_the_session() {
    let mut h = Harness::http();
    let ids = [h.request("tools/list"), h.request("tools/call")];
    let init = h.sent()[0].exchange;
    h.fail(init, TransportErrorKind::Connect, "connection refused");
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    let SessionError::Transport(t) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (t.kind, &*t.message),
        (TransportErrorKind::Connect, "connection refused")
    );
    h.assert_permanently_failed(&error);
}

#[test]
fn initialized_and_the_get_stream_go_first_and_the_queued_messages_follow_once_the_get_is_answered()
{
    let mut h = Harness::http();
    let a = h.request("tools/list");
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let b = h.request("prompts/list");
    let order = |sent: &[Sent]| -> Vec<_> {
        sent.iter()
            .map(|s| {
                (
                    s.method.clone(),
                    s.body["method"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    let post = |m: &str| (http::Method::POST, Some(m.to_owned()));
    let sent = h.answer_initialize(&[("mcp-session-id", "sess-1")], &init_result(LATEST));
    assert_eq!(
        order(&sent),
        vec![post("notifications/initialized"), (http::Method::GET, None)]
    );
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    assert_eq!(header(&sent[0], "mcp-protocol-version"), Some("2025-11-25"));
    assert!(!h.events().iter().any(|e| matches!(e, Event::Ready)));
    // The server answers the GET stream: ready, and what waited goes out in order.
    h.sse_head(sent[1].exchange);
    let queued = h.sent();
    assert_eq!(
        order(&queued),
        vec![
            post("tools/list"),
            post("notifications/roots/list_changed"),
            post("prompts/list"),
        ]
    );
    assert_eq!(queued[0].body["id"], a.0);
    assert_eq!(queued[2].body["id"], b.0);
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
}

#[test]
fn a_get_stream_the_server_never_answers_delays_ready_only_by_server_stream_wait() {
    let mut h = Harness::http();
    let a = h.request("tools/list");
    let get = h.handshake_http();
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Policy::default().server_stream_wait)
    );
    h.advance(Policy::default().server_stream_wait - Duration::from_millis(1));
    assert!(h.sent().is_empty() && !h.session.is_ready());
    h.advance(Duration::from_millis(1));
    assert!(h.session.is_ready());
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    let queued = h.sent();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].body["id"], a.0);
    // The GET's late answer changes nothing.
    h.sse_head(get.exchange);
    assert!(h.events().is_empty());
}

#[test]
fn stdio_initialized_is_written_before_the_queued_requests() {
    let mut h = Harness::stdio();
    let id = h.request("tools/list");
    let lines = h.stdin();
    assert_eq!(
        lines.len(),
        1,
        "only initialize before the handshake: {lines:?}"
    );
    h.stdout(&response_line(0, INIT_RESULT));
    let lines = h.stdin();
    assert_eq!(lines[0]["method"], "notifications/initialized");
    assert_eq!(lines[1]["method"], "tools/list");
    assert_eq!(lines[1]["id"], id.0);
    assert_eq!(lines.len(), 2);
}

#[test]
fn the_server_stream_get_is_sent_only_after_ready() {
    let mut h = Harness::http();
    let before = h.sent();
    assert!(before.iter().all(|s| s.method == http::Method::POST));
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty(), "nothing but initialize before Ready");
    h.requeue(before);
    let get = h.ready_http();
    assert_eq!(get.method, http::Method::GET);
    assert_eq!(get.body, serde_json::Value::Null, "no body");
    assert_eq!(header(&get, "accept"), Some("text/event-stream"));
    assert_eq!(header(&get, "mcp-session-id"), Some("sess-1"));
    assert_eq!(header(&get, "mcp-protocol-version"), Some("2025-11-25"));
    assert_eq!(header(&get, "last-event-id"), None);
}

#[test]
fn after_ready_every_exchange_carries_the_session_id_the_version_accept_and_the_configured_headers()
{
    let mut h = Harness::http_with(config_with_everything());
    let init = h.sent();
    assert_eq!(header(&init[0], "x-tenant"), Some("acme"));
    h.requeue(init);
    let get = h.ready_http();
    let id = h.request("tools/call");
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    h.session
        .respond(
            mcpwire_core::jsonrpc::Id::String("srv-1".into()),
            Ok(serde_json::json!({"roots": []})),
        )
        .unwrap();
    let mut all = h.sent();
    assert_eq!(all.len(), 3);
    for s in &all {
        assert_eq!(s.method, http::Method::POST);
        assert_eq!(
            header(s, "accept"),
            Some("application/json, text/event-stream"),
            "{s:?}"
        );
        assert_eq!(header(s, "content-type"), Some("application/json"), "{s:?}");
    }
    // A resumed stream carries them too.
    let x = post_of(&all, id).exchange;
    h.sse_head(x);
    h.body(x, "id: 1\nretry: 100\ndata: \n\n");
    h.end(x);
    h.advance(Duration::from_millis(100));
    let resume = h.sent();
    assert_eq!(resume.len(), 1);
    assert_eq!(header(&resume[0], "last-event-id"), Some("1"));
    all.extend(resume);
    all.push(get);
    // And the DELETE of close().
    h.session.close(h.now);
    all.extend(h.sent());
    assert_eq!(all.last().unwrap().method, http::Method::DELETE);
    for s in &all {
        assert_eq!(header(s, "mcp-session-id"), Some("sess-1"), "{s:?}");
        assert_eq!(
            header(s, "mcp-protocol-version"),
            Some("2025-11-25"),
            "{s:?}"
        );
        assert_eq!(header(s, "authorization"), Some("Bearer t0ken"), "{s:?}");
        assert_eq!(header(s, "x-tenant"), Some("acme"), "{s:?}");
    }
}

#[test]
fn close_sends_delete_with_the_session_id_fails_outstanding_requests_with_closed_and_emits_closed()
{
    let mut h = Harness::http();
    h.ready_http();
    let ids = [h.request("tools/call"), h.request("tools/list")];
    h.sent();
    h.session.close(h.now);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, http::Method::DELETE);
    assert_eq!(header(&sent[0], "mcp-session-id"), Some("sess-1"));
    let events = h.events();
    assert_eq!(assert_session_failed(&events, &ids), SessionError::Closed);
    assert_eq!(h.session.outstanding(), 0);
    // The DELETE's answer, and anything else, does nothing.
    h.head(sent[0].exchange, 200, &[]);
    h.end(sent[0].exchange);
    h.assert_permanently_failed(&SessionError::Closed);
}

#[test]
fn close_before_the_server_assigned_a_session_sends_no_delete() {
    let mut h = Harness::http();
    let id = h.request("tools/list");
    h.sent();
    h.session.close(h.now);
    assert!(h.sent().is_empty());
    let events = h.events();
    assert_eq!(assert_session_failed(&events, &[id]), SessionError::Closed);
}

#[test]
fn close_over_stdio_fails_outstanding_requests_with_closed() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let ids = [h.request("a"), h.request("b"), h.request("c")];
    h.stdin();
    h.session.close(h.now);
    let events = h.events();
    assert_eq!(assert_session_failed(&events, &ids), SessionError::Closed);
    h.assert_permanently_failed(&SessionError::Closed);
}

#[test]
fn closing_twice_emits_closed_once() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    h.session.close(h.now);
    h.session.close(h.now);
    let closed = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .count();
    assert_eq!(closed, 1);
}

#[test]
fn request_ids_are_allocated_in_order_after_initialize() {
    let mut h = Harness::stdio();
    let ids: Vec<_> = (0..4).map(|_| h.request("tools/list")).collect();
    assert_eq!(
        ids,
        vec![RequestId(1), RequestId(2), RequestId(3), RequestId(4)]
    );
    assert_eq!(h.session.outstanding(), 4, "initialize is not counted");
}

#[test]
fn a_request_not_yet_transmitted_when_close_is_called_is_never_sent() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    // The driver has not polled the POST yet when the application closes.
    h.session.close(h.now);
    let sent = h.sent();
    assert_eq!(
        sent.iter().map(|s| s.method.clone()).collect::<Vec<_>>(),
        vec![http::Method::DELETE],
        "{sent:?}"
    );
    let events = h.events();
    assert_eq!(assert_session_failed(&events, &[id]), SessionError::Closed);
}

#[test]
fn a_request_not_yet_written_when_close_is_called_is_never_written_to_stdin() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/call");
    h.session.close(h.now);
    assert!(
        h.stdin().is_empty(),
        "the server must not run a request reported as failed"
    );
    let events = h.events();
    assert_eq!(assert_session_failed(&events, &[id]), SessionError::Closed);
}

#[test]
fn the_handshake_has_a_deadline_of_its_own_when_the_policy_gives_one() {
    // Starting a server may take far longer than a call should: `handshake_timeout` is the
    // opening's deadline, and the calls keep `request_timeout`.
    let sec = Duration::from_secs(1);
    let policy = Policy::default()
        .with_request_timeout(sec)
        .with_handshake_timeout(Some(30 * sec));
    let mut h = Harness::http_with(legacy().with_policy(policy));
    let start = h.now;
    assert_eq!(h.sent()[0].body["method"], "initialize");
    assert_eq!(h.session.poll_timeout(), Some(start + 30 * sec));
    h.advance(29 * sec);
    assert!(
        h.events().is_empty(),
        "the handshake is still waited for after the call timeout"
    );
    h.advance(sec);
    let events = h.events();
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed(SessionError::Timeout { after, .. })) if *after == 30 * sec
        ),
        "{events:?}"
    );

    // Without it, the opening has the request timeout, as before.
    let policy = Policy::default().with_request_timeout(sec);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    let start = h.now;
    assert_eq!(h.sent()[0].body["method"], "initialize");
    assert_eq!(h.session.poll_timeout(), Some(start + sec));
}
