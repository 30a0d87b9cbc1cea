//! A server of the 2025 era that forgets the session (HTTP 404 to an exchange that carried
//! `Mcp-Session-Id`): the calls in flight fail once with `RequestError::SessionExpired` and
//! are never sent again, the client starts a new session with a new `initialize`, and later
//! calls go to it (DESIGN.md's row "404 with `Mcp-Session-Id`, recovery on").

mod support;

use mcpwire_core::{Event, Policy, RequestError, RequestId, SessionError};
use support::*;

const NOT_FOUND: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#;

/// Every HTTP request the session transmitted, kept as a test goes.
struct Wire {
    all: Vec<Sent>,
}

impl Wire {
    fn new() -> Wire {
        Wire { all: Vec::new() }
    }

    /// Takes what was sent since the last look, keeps a copy of its method and body.
    fn take(&mut self, h: &mut Harness) -> Vec<Sent> {
        let sent = h.sent();
        for s in &sent {
            self.all.push(Sent {
                exchange: s.exchange,
                method: s.method.clone(),
                uri: s.uri.clone(),
                kind: s.kind,
                headers: s.headers.clone(),
                body: s.body.clone(),
            });
        }
        sent
    }

    /// How many POSTs carried a request with JSON-RPC id `id`.
    fn posts_of(&self, id: RequestId) -> usize {
        self.all
            .iter()
            .filter(|s| s.method == http::Method::POST && s.body["id"] == id.0)
            .count()
    }
}

/// Answers the new `initialize` (the only thing in `sent`) with session id `session`, the
/// `initialized` notification 202 and the GET stream as an event stream; returns what went out
/// besides them (the requests that waited) and the GET.
fn handshake_again(h: &mut Harness, sent: Vec<Sent>, session: &str) -> (Vec<Sent>, Sent) {
    assert_eq!(sent.len(), 1, "only the new initialize: {sent:?}");
    assert_eq!(sent[0].body["method"], "initialize");
    h.requeue(sent);
    let get = h.ready_http_as(LATEST, Some(session));
    (h.sent(), get)
}

fn expired_events(events: &[Event]) -> Vec<(Option<String>, u32, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SessionExpired {
                session_id,
                recovery,
                failed,
            } => Some((session_id.clone(), *recovery, *failed)),
            _ => None,
        })
        .collect()
}

#[test]
fn calls_in_flight_fail_once_with_session_expired_and_are_never_sent_again() {
    let mut h = Harness::http();
    let mut wire = Wire::new();
    let get = h.ready_http();
    let ids: Vec<_> = (0..3).map(|_| h.request("tools/call")).collect();
    let sent = wire.take(&mut h);
    assert_eq!(sent.len(), 3);
    // One call's stream is open, one waits for its head; the third meets the 404.
    h.sse_head(post_of(&sent, ids[0]).exchange);
    h.json(post_of(&sent, ids[2]).exchange, 404, NOT_FOUND);
    let events = h.events();
    // First the event, then every call in flight, once each, in ascending id.
    assert_eq!(
        expired_events(&events),
        vec![(Some("sess-1".to_owned()), 1, 3)]
    );
    assert!(
        matches!(events[0], Event::SessionExpired { .. }),
        "{events:?}"
    );
    let done = responses(&events);
    assert_eq!(
        done,
        ids.iter()
            .map(|id| (*id, Err(RequestError::SessionExpired)))
            .collect::<Vec<_>>()
    );
    assert!(!h.session.is_closed());
    // The old session's exchanges are dropped: the calls' and the GET stream.
    let aborts = h.aborts();
    for x in [
        post_of(&sent, ids[0]).exchange,
        post_of(&sent, ids[1]).exchange,
        get.exchange,
    ] {
        assert!(aborts.contains(&x), "{x:?} not aborted: {aborts:?}");
    }
    // What comes late on them is no longer anyone's.
    h.sse_event(
        post_of(&sent, ids[0]).exchange,
        None,
        &response_line(ids[0].0, "{}"),
    );
    assert!(responses(&h.events()).is_empty());
    let sent = wire.take(&mut h);
    let (rest, _) = handshake_again(&mut h, sent, "sess-2");
    assert!(rest.is_empty(), "nothing went again: {rest:?}");
    for id in &ids {
        assert_eq!(wire.posts_of(*id), 1, "{id:?} was sent again");
    }
    // The next call goes to the new session and is answered.
    let next = h.request("tools/call");
    let sent = wire.take(&mut h);
    assert_eq!(
        header(post_of(&sent, next), "mcp-session-id"),
        Some("sess-2")
    );
    h.json(
        post_of(&sent, next).exchange,
        200,
        &response_line(next.0, "{}"),
    );
    assert_eq!(responses(&h.events()), vec![(next, Ok("{}".to_owned()))]);
}

#[test]
fn the_new_initialize_goes_without_the_old_session_id_and_later_requests_carry_the_new_one() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/list");
    let sent = h.sent();
    h.head(post_of(&sent, id).exchange, 404, &[]);
    h.events();
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].body["method"], "initialize");
    assert_eq!(header(&sent[0], "mcp-session-id"), None);
    assert_eq!(header(&sent[0], "mcp-protocol-version"), None);
    assert!(!h.session.is_ready());
    assert_eq!(h.session.session_id(), None);
    let (_, get) = handshake_again(&mut h, sent, "sess-2");
    // The GET stream is opened again, in the new session.
    assert_eq!(get.method, http::Method::GET);
    assert_eq!(header(&get, "mcp-session-id"), Some("sess-2"));
    assert_eq!(header(&get, "last-event-id"), None);
    assert_eq!(h.session.session_id(), Some("sess-2"));
    assert!(h.session.is_ready());
    let later = h.request("tools/list");
    let sent = h.sent();
    let post = post_of(&sent, later);
    assert_eq!(header(post, "mcp-session-id"), Some("sess-2"));
    assert_eq!(header(post, "mcp-protocol-version"), Some(LATEST));
}

#[test]
fn requests_started_during_the_recovery_wait_for_it_and_succeed() {
    let mut h = Harness::http();
    h.ready_http();
    let lost = h.request("tools/call");
    let sent = h.sent();
    h.head(post_of(&sent, lost).exchange, 404, &[]);
    h.events();
    // Started while the new handshake runs: they wait, and do not fail.
    let waiting = [h.request("tools/list"), h.request("tools/call")];
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let events = h.events();
    assert!(responses(&events).is_empty(), "{events:?}");
    let sent = h.sent();
    let (rest, _) = handshake_again(&mut h, sent, "sess-2");
    assert_eq!(rest.len(), 3, "{rest:?}");
    for id in waiting {
        assert_eq!(header(post_of(&rest, id), "mcp-session-id"), Some("sess-2"));
        h.json(
            post_of(&rest, id).exchange,
            200,
            &response_line(id.0, r#"{"ok":true}"#),
        );
    }
    let note = notifications(&rest, "notifications/roots/list_changed");
    assert_eq!(header(note[0], "mcp-session-id"), Some("sess-2"));
    assert_eq!(
        responses(&h.events()),
        waiting
            .iter()
            .map(|id| (*id, Ok(r#"{"ok":true}"#.to_owned())))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_404_to_a_notification_that_carried_the_session_id_starts_a_new_session_too() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let sent = h.sent();
    let note = notifications(&sent, "notifications/roots/list_changed")[0].exchange;
    h.head(note, 404, &[]);
    h.end(note);
    let events = h.events();
    assert_eq!(
        expired_events(&events),
        vec![(Some("sess-1".to_owned()), 1, 1)]
    );
    assert_eq!(
        responses(&events),
        vec![(id, Err(RequestError::SessionExpired))]
    );
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["method"], "initialize");
}

#[test]
fn with_recovery_off_a_404_with_the_session_id_fails_the_session_as_before() {
    let policy = Policy::default().with_recover_expired_sessions(false);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    h.ready_http();
    let ids = [h.request("tools/list"), h.request("tools/call")];
    let sent = h.sent();
    h.json(post_of(&sent, ids[1]).exchange, 404, NOT_FOUND);
    let events = h.events();
    assert!(expired_events(&events).is_empty());
    let error = assert_session_failed(&events, &ids);
    assert_eq!(error, SessionError::SessionExpired);
    h.assert_permanently_failed(&error);
    assert!(h.sent().iter().all(|s| s.body["method"] != "initialize"));
}

#[test]
fn a_server_that_forgets_every_session_fails_it_after_max_session_recoveries() {
    let mut h = Harness::http();
    h.ready_http();
    let mut session = 1;
    let mut initializes = 1;
    loop {
        let id = h.request("tools/list");
        let sent = h.sent();
        h.head(post_of(&sent, id).exchange, 404, &[]);
        let events = h.events();
        if session == 4 {
            // The fourth expiry in a row with no request answered between.
            assert!(expired_events(&events).is_empty());
            let error = assert_session_failed(&events, &[id]);
            assert_eq!(error, SessionError::SessionExpired);
            break;
        }
        assert_eq!(expired_events(&events)[0].1, session);
        session += 1;
        let sent = h.sent();
        initializes += 1;
        handshake_again(&mut h, sent, &format!("sess-{session}"));
    }
    assert_eq!(initializes, 1 + Policy::default().max_session_recoveries);
}

#[test]
fn an_answered_request_ends_the_run_of_recoveries() {
    let policy = Policy::default().with_max_session_recoveries(1);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    h.ready_http();
    for round in 2..5 {
        let lost = h.request("tools/call");
        let sent = h.sent();
        h.head(post_of(&sent, lost).exchange, 404, &[]);
        let events = h.events();
        assert_eq!(expired_events(&events)[0].1, 1, "round {round}");
        let sent = h.sent();
        handshake_again(&mut h, sent, &format!("sess-{round}"));
        let ok = h.request("tools/list");
        let sent = h.sent();
        h.json(post_of(&sent, ok).exchange, 200, &response_line(ok.0, "{}"));
        assert_eq!(responses(&h.events()), vec![(ok, Ok("{}".to_owned()))]);
    }
    assert!(h.session.is_ready());
}

#[test]
fn a_404_to_the_new_initialize_fails_the_session_with_session_expired() {
    let mut h = Harness::http();
    h.ready_http();
    let lost = h.request("tools/call");
    let sent = h.sent();
    h.head(post_of(&sent, lost).exchange, 404, &[]);
    h.events();
    let waiting = h.request("tools/list");
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    h.json(sent[0].exchange, 404, NOT_FOUND);
    let events = h.events();
    let error = assert_session_failed(&events, &[waiting]);
    assert_eq!(error, SessionError::SessionExpired);
    h.assert_permanently_failed(&error);
}

#[test]
fn a_resumption_of_a_call_in_flight_is_not_made_in_the_new_session() {
    let mut h = Harness::http();
    h.ready_http();
    let call = h.request("tools/call");
    let other = h.request("tools/list");
    let sent = h.sent();
    // The call's stream ends with an event id: it would be resumed after `retry`.
    let x = post_of(&sent, call).exchange;
    h.sse_head(x);
    h.body(x, "id: e1\nretry: 100\ndata: \n\n");
    h.end(x);
    h.events();
    h.head(post_of(&sent, other).exchange, 404, &[]);
    let events = h.events();
    assert_eq!(
        responses(&events),
        vec![
            (call, Err(RequestError::SessionExpired)),
            (other, Err(RequestError::SessionExpired))
        ]
    );
    let sent = h.sent();
    handshake_again(&mut h, sent, "sess-2");
    h.advance(std::time::Duration::from_secs(5));
    let sent = h.sent();
    assert!(
        sent.is_empty(),
        "nothing of the old session goes out: {sent:?}"
    );
}

#[test]
fn a_400_that_names_an_unknown_session_id_starts_a_new_session_like_a_404() {
    // server-everything (after the TypeScript SDK's example server) answers an unknown session
    // id with 400 and this body, where the specification says 404.
    let unknown = r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":1}"#;
    let mut h = Harness::http();
    h.ready_http();
    let (a, b) = (h.request("tools/call"), h.request("tools/list"));
    let sent = h.sent();
    h.json(post_of(&sent, b).exchange, 400, unknown);
    let events = h.events();
    assert_eq!(
        expired_events(&events),
        vec![(Some("sess-1".to_owned()), 1, 2)]
    );
    assert_eq!(
        responses(&events),
        vec![
            (a, Err(RequestError::SessionExpired)),
            (b, Err(RequestError::SessionExpired))
        ]
    );
    let sent = h.sent();
    assert_eq!(header(&sent[0], "mcp-session-id"), None);
    handshake_again(&mut h, sent, "sess-2");
    // Another 400 is the request's own failure.
    let c = h.request("tools/call");
    let sent = h.sent();
    h.json(
        post_of(&sent, c).exchange,
        400,
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":3}"#,
    );
    let events = h.events();
    assert!(expired_events(&events).is_empty());
    assert!(matches!(
        &responses(&events)[..],
        [(id, Err(RequestError::Http(e)))] if *id == c && e.status == 400
    ));
    assert!(h.session.is_ready());
}

#[test]
fn a_request_still_waiting_for_a_free_exchange_waits_for_the_new_session() {
    // Three exchanges at most: the GET stream and two calls; the third call waits for a slot
    // and so never reached the server.
    let policy = Policy::default().with_max_concurrent_exchanges(3);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    let mut wire = Wire::new();
    h.ready_http();
    let ids: Vec<_> = (0..3).map(|_| h.request("tools/call")).collect();
    let sent = wire.take(&mut h);
    assert_eq!(sent.len(), 2, "{sent:?}");
    h.head(post_of(&sent, ids[0]).exchange, 404, &[]);
    let events = h.events();
    assert_eq!(
        expired_events(&events),
        vec![(Some("sess-1".to_owned()), 1, 2)]
    );
    assert_eq!(
        responses(&events),
        vec![
            (ids[0], Err(RequestError::SessionExpired)),
            (ids[1], Err(RequestError::SessionExpired))
        ]
    );
    let sent = wire.take(&mut h);
    let (rest, _) = handshake_again(&mut h, sent, "sess-2");
    let third = post_of(&rest, ids[2]);
    assert_eq!(header(third, "mcp-session-id"), Some("sess-2"));
    assert_eq!(third.body["method"], "tools/call");
    h.json(third.exchange, 200, &response_line(ids[2].0, "{}"));
    assert_eq!(responses(&h.events()), vec![(ids[2], Ok("{}".to_owned()))]);
    assert_eq!(wire.posts_of(ids[2]), 0, "not in the old session");
}
