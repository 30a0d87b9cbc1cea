//! Requests go out concurrently, one exchange each, never one at a time; a configured cap on
//! outstanding requests refuses at once rather than queueing; an oversized request is refused
//! at once.

mod support;

use mcpwire_core::{ExchangeId, Policy, RequestError};
use support::*;

#[test]
fn eight_requests_are_transmitted_concurrently_before_any_answer() {
    let mut h = Harness::http();
    h.ready_http();
    let ids: Vec<_> = (0..8)
        .map(|i| h.request(&format!("tools/call/{i}")))
        .collect();
    let sent = h.sent();
    assert_eq!(sent.len(), 8, "eight exchanges before any answer");
    let mut exchanges: Vec<ExchangeId> = sent.iter().map(|s| s.exchange).collect();
    exchanges.dedup();
    assert_eq!(exchanges.len(), 8, "one exchange each");
    for (s, id) in sent.iter().zip(&ids) {
        assert_eq!(s.method, http::Method::POST);
        assert_eq!(s.body["id"], id.0);
    }
    // Answered in reverse order, each completes once with its own result.
    for (s, id) in sent.iter().zip(&ids).rev() {
        h.json(s.exchange, 200, &response_line(id.0, &id.0.to_string()));
    }
    let done = responses(&h.events());
    let expected: Vec<_> = ids
        .iter()
        .rev()
        .map(|id| (*id, Ok(id.0.to_string())))
        .collect();
    assert_eq!(done, expected);
    assert_eq!(h.session.outstanding(), 0);
}

#[test]
fn eight_requests_queued_during_the_handshake_all_go_out_at_ready() {
    let mut h = Harness::http();
    let ids: Vec<_> = (0..8).map(|_| h.request("tools/list")).collect();
    h.ready_http();
    let sent = h.sent();
    assert_eq!(
        sent.iter()
            .map(|s| s.body["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        ids.iter().map(|i| i.0).collect::<Vec<_>>()
    );
    assert!(sent.iter().all(|s| s.method == http::Method::POST));
}

#[test]
fn the_max_outstanding_cap_refuses_a_request_synchronously() {
    let mut config = legacy();
    config.policy.max_outstanding = Some(2);
    let mut h = Harness::http_with(config);
    h.ready_http();
    let (a, _b) = (h.request("a"), h.request("b"));
    let sent = h.sent();
    let refused = h.session.request(h.now, "c", None, Default::default());
    assert_eq!(refused, Err(RequestError::TooManyRequests { limit: 2 }));
    assert!(
        h.take().is_empty(),
        "nothing sent, nothing queued, no event for the refused request"
    );
    assert!(
        h.session.is_ready(),
        "refusing is not a failure of the session"
    );
    h.json(post_of(&sent, a).exchange, 200, &response_line(a.0, "{}"));
    h.take();
    let c = h
        .session
        .request(h.now, "c", None, Default::default())
        .expect("room again after a completion");
    assert_eq!(h.sent()[0].body["id"], c.0);
}

#[test]
fn the_cap_counts_requests_queued_before_ready() {
    let mut config = legacy();
    config.policy.max_outstanding = Some(1);
    let mut h = Harness::stdio_with(config);
    h.request("a");
    assert_eq!(
        h.session.request(h.now, "b", None, Default::default()),
        Err(RequestError::TooManyRequests { limit: 1 })
    );
}

#[test]
fn a_request_larger_than_max_message_size_is_refused_synchronously() {
    let mut config = legacy();
    config.policy.max_message_size = 128;
    let mut h = Harness::stdio_with(config);
    let params = serde_json::json!({"blob": "x".repeat(200)});
    let refused = h
        .session
        .request(h.now, "tools/call", Some(params), Default::default());
    assert_eq!(refused, Err(RequestError::TooLarge { limit: 128 }));
    assert_eq!(h.session.outstanding(), 0);
}

/// A 2025-era request without OAuth is never encoded again, so the session keeps none of its
/// params once it is sent; a 2026-07-28 request keeps them (it may go again: a retry after
/// `input_required` or a version error, a broken stream), and so does one that may meet a
/// 401 the OAuth flow answers.
#[test]
fn a_sent_request_keeps_its_params_only_if_it_may_be_sent_again() {
    let big =
        serde_json::json!({ "name": "echo", "arguments": { "message": "x".repeat(100_000) } });
    let held = |h: &mut Harness| {
        let before = h.session.retained_bytes();
        h.request_with("tools/call", Some(big.clone()), Default::default());
        let queued = h.session.retained_bytes() - before;
        let sent = h.sent();
        assert_eq!(sent.len(), 1);
        assert!(
            queued >= 100_000,
            "a request not yet taken holds its message: {queued}"
        );
        h.session.retained_bytes() - before
    };
    // With redirects followed (the default), the session keeps the request's params until
    // its answer's head, to encode it again for a 307's or 308's `Location` (the transport
    // keeps no copy of the body): once the head is in, the request holds nothing.
    let mut plain = Harness::http();
    plain.ready_http();
    let before = plain.session.retained_bytes();
    plain.request_with("tools/call", Some(big.clone()), Default::default());
    let sent = plain.sent();
    let kept = plain.session.retained_bytes() - before;
    assert!(
        (100_000..102_000).contains(&kept),
        "2025 era: one copy kept until the head: {kept}"
    );
    plain.sse_head(sent[0].exchange);
    let kept = plain.session.retained_bytes() - before;
    assert!(
        kept < 1_000,
        "2025 era: {kept} bytes kept once the head is in"
    );
    let mut plain =
        Harness::http_with(legacy().with_policy(Policy::default().with_max_redirects(0)));
    plain.ready_http();
    let kept = held(&mut plain);
    assert!(
        kept < 1_000,
        "2025 era, no redirects: {kept} bytes kept once sent"
    );

    let mut modern_http = Harness::http_with(modern());
    modern_http.ready_modern_http();
    let kept = held(&mut modern_http);
    assert!(kept >= 100_000, "2026-07-28: {kept} bytes kept once sent");

    let oauth = mcpwire_core::auth::Config::new("http://127.0.0.1:1/callback")
        .pre_registered(mcpwire_core::auth::PreRegistered::new("client-1"));
    let mut with_oauth =
        Harness::http_with(legacy().with_auth(mcpwire_core::Authorization::new(oauth)));
    with_oauth.ready_http();
    let kept = held(&mut with_oauth);
    assert!(
        kept >= 100_000,
        "2025 era with OAuth: {kept} bytes kept once sent"
    );
}

#[test]
fn a_request_answered_while_it_waits_for_a_free_exchange_is_never_sent() {
    // Two exchanges at most: the GET stream and one call; the second call waits for a slot.
    let policy = Policy::default().with_max_concurrent_exchanges(2);
    let mut h = Harness::http_with(legacy().with_policy(policy));
    h.ready_http();
    let (a, b) = (h.request("tools/call"), h.request("tools/list"));
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let x = post_of(&sent, a).exchange;
    // The server answers both on the first call's stream.
    h.sse_head(x);
    h.sse_event(x, None, &response_line(b.0, "{}"));
    h.sse_event(x, None, &response_line(a.0, "{}"));
    h.end(x);
    assert_eq!(
        responses(&h.events()),
        vec![(b, Ok("{}".to_owned())), (a, Ok("{}".to_owned()))]
    );
    let sent = h.sent();
    assert!(
        sent.is_empty(),
        "a request that completed went out: {sent:?}"
    );
}
