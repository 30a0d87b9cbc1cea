//! The 2024-11-05 HTTP+SSE transport (DESIGN.md, "Protocol revisions"; the 2024-11-05
//! specification's `basic/transports`): the client GETs an event stream whose first event,
//! `endpoint`, names the URI every message is POSTed to; each POST's 2xx carries nothing, and
//! every answer, server request and notification comes on the stream. The same failure policy
//! as Streamable HTTP: the stream ending fails every outstanding request and the session, a
//! 5xx on a POST fails the session, a 4xx fails that request. And the fallback of the
//! 2025-11-25 specification's backwards-compatibility section: an `initialize` POST refused
//! with 400, 404 or 405 leads to a GET of the same URL for that event stream.

mod support;

use std::time::{Duration, Instant};

use mcpwire_core::{
    Config, Event, ExchangeKind, LegacySseError, Policy, Revision, SessionError,
    TransportErrorKind, LEGACY_SSE_PROTOCOL_VERSION,
};
use support::*;

const OK: &str = r#"{"tools":[]}"#;

fn sse() -> Harness {
    Harness::sse_at(Instant::now(), Config::default())
}

fn sse_with(config: Config) -> Harness {
    Harness::sse_at(Instant::now(), config)
}

/// The HTTP status a session failed with, if it did with one.
fn status_of(e: &SessionError) -> Option<u16> {
    match e {
        SessionError::Http(h) => Some(h.status.as_u16()),
        _ => None,
    }
}

/// The session's error, from its last event.
fn closed_with(events: &[Event]) -> SessionError {
    match events.last() {
        Some(Event::Closed(e)) => e.clone(),
        other => panic!("expected Closed last, got {other:?} in {events:?}"),
    }
}

#[test]
fn the_event_stream_is_opened_first_and_messages_go_to_the_uri_its_endpoint_event_names() {
    let mut h = sse();
    let sent = h.sent();
    assert_eq!(
        sent.len(),
        1,
        "only the GET before the endpoint event: {sent:?}"
    );
    let get = &sent[0];
    assert_eq!(get.method, http::Method::GET);
    assert_eq!(get.kind, ExchangeKind::EventStream);
    assert_eq!(get.uri, "http://127.0.0.1:9/sse");
    assert_eq!(header(get, "accept"), Some("text/event-stream"));
    let get = get.exchange;
    h.sse_head(get);
    assert!(
        h.sent().is_empty(),
        "nothing is POSTed before the endpoint event"
    );
    h.sse_named(get, "endpoint", "/messages?sessionId=abc");
    let init = h.sent();
    assert_eq!(init.len(), 1, "{init:?}");
    assert_eq!(init[0].method, http::Method::POST);
    assert_eq!(init[0].uri, "http://127.0.0.1:9/messages?sessionId=abc");
    assert_eq!(init[0].body["method"], "initialize");
    assert_eq!(
        init[0].body["params"]["protocolVersion"],
        LEGACY_SSE_PROTOCOL_VERSION
    );
    assert_eq!(header(&init[0], "content-type"), Some("application/json"));
    assert_eq!(header(&init[0], "mcp-protocol-version"), None);
    let id = init[0].body["id"].as_u64().unwrap();
    h.head(init[0].exchange, 202, &[]);
    h.body(init[0].exchange, "Accepted");
    h.end(init[0].exchange);
    assert!(h.events().is_empty(), "a 202 to a POST is no failure");
    let result = init_result(LEGACY_SSE_PROTOCOL_VERSION);
    h.sse_named(get, "message", &response_line(id, &result));
    let sent = h.sent();
    assert_eq!(
        sent.len(),
        1,
        "initialized, and no optional GET stream: {sent:?}"
    );
    assert_eq!(sent[0].body["method"], "notifications/initialized");
    assert_eq!(sent[0].uri, "http://127.0.0.1:9/messages?sessionId=abc");
    h.head(sent[0].exchange, 202, &[]);
    h.end(sent[0].exchange);
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    assert_eq!(
        h.session.protocol_version(),
        Some(LEGACY_SSE_PROTOCOL_VERSION)
    );
    assert_eq!(h.session.session_id(), None);

    let call = h.request("tools/list");
    let sent = h.sent();
    let post = post_of(&sent, call);
    assert_eq!(post.uri, "http://127.0.0.1:9/messages?sessionId=abc");
    assert_eq!(header(post, "mcp-protocol-version"), None);
    assert_eq!(header(post, "mcp-session-id"), None);
    h.head(post.exchange, 202, &[]);
    h.end(post.exchange);
    // The answer comes on the stream, without an event name (the default, `message`).
    h.sse_event(get, None, &response_line(call.0, OK));
    let done = responses(&h.events());
    assert_eq!(done, vec![(call, Ok(OK.to_owned()))]);
}

#[test]
fn an_endpoint_event_is_resolved_against_the_stream_uri_absolute_or_relative() {
    for (endpoint, uri) in [
        (
            "/messages/?session_id=9f",
            "http://127.0.0.1:9/messages/?session_id=9f",
        ),
        ("messages?x=1", "http://127.0.0.1:9/messages?x=1"),
        ("http://127.0.0.1:9/abs/post", "http://127.0.0.1:9/abs/post"),
        ("//127.0.0.1:9/net", "http://127.0.0.1:9/net"),
        (" /padded ", "http://127.0.0.1:9/padded"),
    ] {
        let mut h = sse();
        let get = h.sent().remove(0).exchange;
        h.sse_head(get);
        h.sse_named(get, "endpoint", endpoint);
        let sent = h.sent();
        assert_eq!(sent.len(), 1, "{endpoint}: {sent:?}");
        assert_eq!(sent[0].uri.to_string(), uri, "{endpoint}");
        assert!(h.events().is_empty(), "{endpoint}");
    }
}

#[test]
fn an_endpoint_of_another_origin_fails_the_session_and_nothing_is_posted_there() {
    for endpoint in [
        "http://evil.example/messages",
        "http://127.0.0.1:10/messages",
        "https://127.0.0.1:9/messages",
        "//evil.example/messages?token=secret",
    ] {
        let mut h = sse();
        let get = h.sent().remove(0).exchange;
        let early = h.request("tools/list");
        h.sse_head(get);
        h.sse_named(get, "endpoint", endpoint);
        assert!(h.sent().is_empty(), "{endpoint}: nothing is posted");
        let events = h.events();
        let error = assert_session_failed(&events, &[early]);
        let SessionError::LegacySse(LegacySseError::OtherOrigin(shown)) = &error else {
            panic!("{endpoint}: {error:?}");
        };
        assert!(!shown.contains("secret"), "the query is not shown: {shown}");
        assert!(
            h.aborts().contains(&get),
            "{endpoint}: the stream is dropped"
        );
        h.assert_permanently_failed(&error);
    }
}

#[test]
fn an_endpoint_that_is_not_a_uri_is_a_typed_error() {
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.sse_head(get);
    h.sse_named(get, "endpoint", "http://[::1");
    let error = closed_with(&h.events());
    assert!(
        matches!(
            error,
            SessionError::LegacySse(LegacySseError::BadEndpoint(_))
        ),
        "{error:?}"
    );
}

#[test]
fn responses_server_requests_notifications_and_progress_arrive_on_the_stream() {
    let mut h = sse();
    let get = h.ready_sse().exchange;
    let call = h.request_with(
        "tools/call",
        Some(serde_json::json!({"name": "slow"})),
        mcpwire_core::RequestOptions::default().with_progress(true),
    );
    let sent = h.sent();
    let post = post_of(&sent, call);
    let token = post.body["params"]["_meta"]["progressToken"].clone();
    assert!(!token.is_null(), "{post:?}");
    h.head(post.exchange, 202, &[]);
    h.end(post.exchange);
    let progress = serde_json::json!({
        "jsonrpc": "2.0", "method": "notifications/progress",
        "params": {"progressToken": token, "progress": 1, "total": 2}
    });
    h.sse_named(get, "message", &progress.to_string());
    h.sse_named(
        get,
        "message",
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
    );
    // A server request: the client answers by POST to the endpoint.
    h.sse_named(
        get,
        "message",
        r#"{"jsonrpc":"2.0","id":"s1","method":"ping"}"#,
    );
    let events = h.events();
    assert!(
        events.iter().any(|e| matches!(e, Event::Progress { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Notification { .. })),
        "{events:?}"
    );
    let sent = h.sent();
    let pong = sent
        .iter()
        .find(|s| s.body["id"] == "s1")
        .unwrap_or_else(|| panic!("the ping is answered: {sent:?}"));
    assert_eq!(pong.uri, "http://127.0.0.1:9/messages?sessionId=s1");
    assert_eq!(pong.body["result"], serde_json::json!({}));
    h.head(pong.exchange, 202, &[]);
    h.end(pong.exchange);
    h.sse_named(get, "message", &response_line(call.0, r#"{"content":[]}"#));
    let done = responses(&h.events());
    assert_eq!(done, vec![(call, Ok(r#"{"content":[]}"#.to_owned()))]);
}

#[test]
fn a_dropped_event_stream_fails_every_outstanding_request_and_the_session() {
    for failed in [false, true] {
        let mut h = sse();
        let get = h.ready_sse().exchange;
        let a = h.request("tools/call");
        let b = h.request("tools/list");
        for s in h.sent() {
            h.head(s.exchange, 202, &[]);
            h.end(s.exchange);
        }
        if failed {
            h.fail(get, TransportErrorKind::Reset, "connection reset");
        } else {
            h.end(get);
        }
        let events = h.events();
        let error = assert_session_failed(&events, &[a, b]);
        match (&error, failed) {
            (SessionError::LegacySse(LegacySseError::StreamEnded(None)), false) => {}
            (SessionError::LegacySse(LegacySseError::StreamEnded(Some(e))), true) => {
                assert_eq!(e.kind, TransportErrorKind::Reset)
            }
            _ => panic!("{error:?}"),
        }
        h.assert_permanently_failed(&error);
    }
}

#[test]
fn a_stream_that_ends_before_the_endpoint_event_fails_the_session() {
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    let early = h.request("tools/list");
    h.sse_head(get);
    h.end(get);
    let error = assert_session_failed(&h.events(), &[early]);
    assert_eq!(
        error,
        SessionError::LegacySse(LegacySseError::StreamEnded(None))
    );
}

#[test]
fn a_5xx_on_a_post_fails_the_session() {
    let mut h = sse();
    let get = h.ready_sse().exchange;
    let a = h.request("tools/call");
    let b = h.request("tools/list");
    let sent = h.sent();
    h.head(post_of(&sent, a).exchange, 202, &[]);
    h.head(post_of(&sent, b).exchange, 503, &[]);
    h.body(post_of(&sent, b).exchange, "overloaded");
    h.end(post_of(&sent, b).exchange);
    let events = h.events();
    let error = assert_session_failed(&events, &[a, b]);
    let SessionError::Http(e) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(e.status, 503);
    assert_eq!(e.body, "overloaded");
    assert!(h.aborts().contains(&get), "the event stream is dropped");
    h.assert_permanently_failed(&error);
}

#[test]
fn a_4xx_on_a_post_fails_only_that_request() {
    let mut h = sse();
    let get = h.ready_sse().exchange;
    let a = h.request("tools/call");
    let b = h.request("tools/list");
    let sent = h.sent();
    h.head(post_of(&sent, a).exchange, 400, &[]);
    h.body(post_of(&sent, a).exchange, "bad request");
    h.end(post_of(&sent, a).exchange);
    h.head(post_of(&sent, b).exchange, 202, &[]);
    h.end(post_of(&sent, b).exchange);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].0, a);
    assert_eq!(error_of(&done[0].1).http().unwrap().status, 400);
    h.sse_event(get, None, &response_line(b.0, OK));
    assert_eq!(responses(&h.events()), vec![(b, Ok(OK.to_owned()))]);
    assert!(!h.session.is_closed());
}

#[test]
fn no_endpoint_event_within_the_opening_deadline_is_a_typed_error() {
    let policy = Policy::default().with_handshake_timeout(Some(Duration::from_secs(5)));
    let mut h = sse_with(Config::default().with_policy(policy));
    let get = h.sent().remove(0).exchange;
    h.sse_head(get);
    h.body(get, ": keep-alive\n\n");
    let early = h.request("tools/list");
    h.advance(Duration::from_secs(4));
    assert!(h.events().is_empty());
    h.advance(Duration::from_secs(1));
    let events = h.events();
    let error = assert_session_failed(&events, &[early]);
    assert_eq!(
        error,
        SessionError::LegacySse(LegacySseError::NoEndpoint {
            after: Duration::from_secs(5)
        })
    );
    assert!(error.to_string().contains("no endpoint event"), "{error}");
    assert!(h.aborts().contains(&get));
    h.assert_permanently_failed(&error);
}

#[test]
fn a_get_answered_without_an_event_stream_or_refused_fails_the_session() {
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.json(get, 200, "{}");
    let error = closed_with(&h.events());
    assert_eq!(
        error,
        SessionError::LegacySse(LegacySseError::NotAStream(Some("application/json".into())))
    );

    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.head(get, 404, &[]);
    h.body(get, "not found");
    h.end(get);
    let error = closed_with(&h.events());
    assert_eq!(status_of(&error), Some(404), "{error:?}");
}

/// Refuses the Streamable HTTP opening POST (the only thing sent) with `code`.
fn refuse_opening(h: &mut Harness, code: u16) {
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, http::Method::POST);
    h.head(sent[0].exchange, code, &[("content-type", "text/plain")]);
    h.body(sent[0].exchange, "Cannot POST /sse");
    h.end(sent[0].exchange);
}

#[test]
fn an_initialize_refused_with_400_404_or_405_falls_back_to_the_event_stream_of_the_same_url() {
    for code in [400, 404, 405] {
        let mut h = Harness::http_with(legacy());
        refuse_opening(&mut h, code);
        let sent = h.sent();
        assert_eq!(sent.len(), 1, "{code}: the GET: {sent:?}");
        assert_eq!(sent[0].method, http::Method::GET, "{code}");
        assert_eq!(sent[0].kind, ExchangeKind::EventStream);
        assert_eq!(
            sent[0].uri, "http://127.0.0.1:9/mcp",
            "{code}: the same URL"
        );
        assert_eq!(header(&sent[0], "accept"), Some("text/event-stream"));
        assert!(h.events().is_empty(), "{code}: no failure");
        let get = sent[0].exchange;
        h.sse_head(get);
        h.sse_named(get, "endpoint", "/messages?sessionId=f");
        let init = h.sent();
        assert_eq!(init.len(), 1, "{code}: {init:?}");
        assert_eq!(init[0].uri, "http://127.0.0.1:9/messages?sessionId=f");
        assert_eq!(
            init[0].body["params"]["protocolVersion"],
            LEGACY_SSE_PROTOCOL_VERSION
        );
        let id = init[0].body["id"].as_u64().unwrap();
        h.head(init[0].exchange, 202, &[]);
        h.end(init[0].exchange);
        let result = init_result(LEGACY_SSE_PROTOCOL_VERSION);
        h.sse_named(get, "message", &response_line(id, &result));
        let n = h.sent();
        assert_eq!(n[0].body["method"], "notifications/initialized");
        assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
        let call = h.request("tools/list");
        let sent = h.sent();
        assert_eq!(
            post_of(&sent, call).uri,
            "http://127.0.0.1:9/messages?sessionId=f"
        );
        h.sse_event(get, None, &response_line(call.0, OK));
        assert_eq!(responses(&h.events()), vec![(call, Ok(OK.to_owned()))]);
    }
}

#[test]
fn the_default_revision_probes_then_initializes_then_falls_back_to_the_event_stream() {
    let mut h = Harness::http_with(Config::default().with_revision(Revision::Auto));
    let early = h.request("tools/list");
    let probe = h.sent();
    assert_eq!(probe[0].body["method"], "server/discover");
    h.requeue(probe);
    refuse_opening(&mut h, 404);
    let init = h.sent();
    assert_eq!(init[0].body["method"], "initialize");
    h.requeue(init);
    refuse_opening(&mut h, 405);
    let get = h.sent();
    assert_eq!(get.len(), 1, "{get:?}");
    assert_eq!(get[0].kind, ExchangeKind::EventStream);
    let get = get[0].exchange;
    h.sse_head(get);
    h.sse_named(get, "endpoint", "/message?sessionId=x");
    let init = h.sent();
    let id = init[0].body["id"].as_u64().unwrap();
    h.sse_named(
        get,
        "message",
        &response_line(id, &init_result(LEGACY_SSE_PROTOCOL_VERSION)),
    );
    let sent = h.sent();
    // The request made before the session was ready goes once it is.
    let post = post_of(&sent, early);
    assert_eq!(post.uri, "http://127.0.0.1:9/message?sessionId=x");
    h.sse_event(get, None, &response_line(early.0, OK));
    assert_eq!(responses(&h.events()), vec![(early, Ok(OK.to_owned()))]);
}

#[test]
fn no_fallback_for_other_statuses_when_already_on_sse_or_when_the_policy_says_so() {
    // Another status: the handshake fails as it always did.
    for code in [403, 406, 500] {
        let mut h = Harness::http_with(legacy());
        refuse_opening(&mut h, code);
        assert!(h.sent().is_empty(), "{code}: no GET");
        let error = closed_with(&h.events());
        assert_eq!(status_of(&error), Some(code));
    }
    // Turned off.
    let policy = Policy::default().with_legacy_sse_fallback(false);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    refuse_opening(&mut h, 404);
    assert!(h.sent().is_empty(), "no GET");
    let error = closed_with(&h.events());
    assert_eq!(status_of(&error), Some(404));
    // Already on HTTP+SSE: a 404 to its POST is the handshake failing.
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.sse_head(get);
    h.sse_named(get, "endpoint", "/messages");
    let init = h.sent();
    h.head(init[0].exchange, 404, &[]);
    h.end(init[0].exchange);
    assert!(h.sent().is_empty(), "no second GET");
    let error = closed_with(&h.events());
    assert_eq!(status_of(&error), Some(404));
}

#[test]
fn a_fallback_whose_get_is_refused_fails_the_session_with_that_status() {
    let mut h = Harness::http_with(legacy());
    refuse_opening(&mut h, 405);
    let get = h.sent().remove(0).exchange;
    h.head(get, 405, &[]);
    h.end(get);
    let error = closed_with(&h.events());
    assert_eq!(status_of(&error), Some(405), "{error:?}");
}

/// Plays one HTTP+SSE session whose event stream's bytes come cut at `cut` (each piece fed
/// as it comes, every POST answered 202 at once): the endpoint, the handshake's answer, a
/// notification and two answers. Returns the events and the POSTs, each in order, as text
/// (DESIGN.md's invariant 3 is of the events: how the POSTs interleave with them depends on
/// when the bytes came).
fn played_with_cuts(cut: usize) -> (Vec<String>, Vec<String>) {
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.sse_head(get);
    let a = h.request("tools/list");
    let b = h.request("tools/call");
    let init = init_result(LEGACY_SSE_PROTOCOL_VERSION);
    // The ids are known: the opening request is 0, then a and b (wire ids are table ids).
    let stream = format!(
        "event: endpoint\ndata: /messages?sessionId=c\n\n\
         event: message\ndata: {}\n\n\
         : keep-alive\n\n\
         event: message\r\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}}\r\n\r\n\
         data: {}\n\n\
         event: message\ndata: {}\n\n",
        response_line(0, &init),
        response_line(b.0, OK),
        response_line(a.0, OK),
    );
    let (mut log, mut posts) = (Vec::new(), Vec::new());
    let bytes = stream.as_bytes();
    for piece in bytes.chunks(cut) {
        h.body(get, std::str::from_utf8(piece).unwrap());
        for o in h.take() {
            if let mcpwire_core::Output::Transmit(mcpwire_core::Transmit::Http {
                exchange,
                request,
                ..
            }) = &o
            {
                h.head(*exchange, 202, &[]);
                h.end(*exchange);
                posts.push(format!(
                    "POST {} {}",
                    request.uri(),
                    String::from_utf8_lossy(request.body())
                ));
            } else {
                log.push(format!("{o:?}"));
            }
        }
    }
    (log, posts)
}

#[test]
fn the_event_stream_gives_the_same_outputs_however_its_bytes_are_cut() {
    let whole = played_with_cuts(usize::MAX);
    assert_eq!(
        whole.0.iter().filter(|l| l.contains("Response")).count(),
        2,
        "{whole:#?}"
    );
    assert_eq!(
        whole.1.len(),
        4,
        "initialize, initialized, the two calls: {whole:#?}"
    );
    // Ascii only: every cut is a char boundary.
    for cut in [1, 2, 3, 7, 64] {
        assert_eq!(played_with_cuts(cut), whole, "cut every {cut} bytes");
    }
}

#[test]
fn an_event_stream_redirected_resolves_its_endpoint_against_where_it_went() {
    let mut h = sse();
    let get = h.sent().remove(0).exchange;
    h.head(get, 307, &[("location", "/v2/sse")]);
    h.end(get);
    let again = h.sent();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].kind, ExchangeKind::EventStream);
    assert_eq!(again[0].uri, "http://127.0.0.1:9/v2/sse");
    h.sse_head(again[0].exchange);
    h.sse_named(again[0].exchange, "endpoint", "messages?s=1");
    let init = h.sent();
    assert_eq!(init[0].uri, "http://127.0.0.1:9/v2/messages?s=1");
}

mod oauth {
    //! An event stream that meets a 401, with an OAuth flow configured: the flow runs, and the
    //! stream opens again with the token.
    use super::*;
    use mcpwire_core::auth::{Config as AuthConfig, PreRegistered};
    use mcpwire_core::{Authorization, Input, Output};
    use serde_json::json;

    const PRM: &str = "http://127.0.0.1:9/.well-known/oauth-protected-resource/sse";
    const AS: &str = "http://127.0.0.1:7/as";
    const REDIRECT: &str = "http://127.0.0.1:1/callback";

    /// Answers the flow up to its token.
    fn authorize(h: &mut Harness, token: &str) {
        let prm = json!({"resource": "http://127.0.0.1:9/sse", "authorization_servers": [AS]});
        let metadata = json!({
            "issuer": AS,
            "authorization_endpoint": format!("{AS}/authorize"),
            "token_endpoint": format!("{AS}/token"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        });
        let mut url = None;
        for _ in 0..4 {
            let mut rest = Vec::new();
            for o in h.take() {
                match o {
                    Output::Random(n) => {
                        h.session.handle_input(h.now, Input::Random(&vec![7; n]));
                    }
                    other => rest.push(other),
                }
            }
            h.outputs = rest;
            let events = h.events();
            url = events.into_iter().find_map(|e| match e {
                Event::Authorize { url, .. } => Some(url.0),
                _ => None,
            });
            if url.is_some() {
                break;
            }
            for sent in h.sent() {
                let uri = sent.uri.to_string();
                let body = if uri == PRM {
                    prm.to_string()
                } else {
                    metadata.to_string()
                };
                h.json(sent.exchange, 200, &body);
            }
        }
        let url = url.expect("the user step");
        let state = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("state="))
            .unwrap()
            .to_owned();
        let back = format!("{REDIRECT}?code=c0de&state={state}");
        h.session.authorization_redirect(h.now, Ok(&back));
        let sent = h.sent();
        assert_eq!(sent[0].uri.to_string(), format!("{AS}/token"));
        let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600});
        h.json(sent[0].exchange, 200, &body.to_string());
    }

    #[test]
    fn an_event_stream_that_meets_a_401_is_opened_again_with_the_token() {
        let auth = AuthConfig::new(REDIRECT).pre_registered(PreRegistered::new("client-1"));
        let mut h = sse_with(Config::default().with_auth(Authorization::new(auth)));
        let get = h.sent().remove(0).exchange;
        let value = format!(r#"Bearer resource_metadata="{PRM}""#);
        h.head(get, 401, &[("www-authenticate", value.as_str())]);
        h.end(get);
        authorize(&mut h, "tok-1");
        let sent = h.sent();
        let again: Vec<_> = sent
            .iter()
            .filter(|s| s.kind == ExchangeKind::EventStream)
            .collect();
        assert_eq!(again.len(), 1, "the stream again: {sent:?}");
        assert_eq!(header(again[0], "authorization"), Some("Bearer tok-1"));
        let get = again[0].exchange;
        h.sse_head(get);
        h.sse_named(get, "endpoint", "/messages?sessionId=a");
        let init = h.sent();
        assert_eq!(init.len(), 1, "{init:?}");
        assert_eq!(init[0].body["method"], "initialize");
        assert_eq!(header(&init[0], "authorization"), Some("Bearer tok-1"));
        let id = init[0].body["id"].as_u64().unwrap();
        h.head(init[0].exchange, 202, &[]);
        h.end(init[0].exchange);
        let result = init_result(LEGACY_SSE_PROTOCOL_VERSION);
        h.sse_named(get, "message", &response_line(id, &result));
        h.sent();
        assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    }
}
