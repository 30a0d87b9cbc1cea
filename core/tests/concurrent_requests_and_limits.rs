//! Requests go out concurrently, one exchange each, never one at a time; a configured cap on
//! outstanding requests refuses at once rather than queueing; an oversized request is refused
//! at once.

mod support;

use mcpwire_core::{ExchangeId, RequestError};
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
