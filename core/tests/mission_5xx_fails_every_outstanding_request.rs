//! The mission case: a 5xx on one exchange fails every outstanding request, in ascending id,
//! then closes the session once, and every later command fails at once with the same error.

mod support;

use mcpwire_core::{Event, RequestError, SessionError};
use support::*;

#[test]
fn a_503_on_a_ninth_post_fails_all_nine_requests_in_ascending_id_then_closes() {
    let mut h = Harness::http();
    let get = h.ready_http();
    let ids: Vec<_> = (0..9)
        .map(|i| h.request(&format!("tools/call/{i}")))
        .collect();
    let sent = h.sent();
    assert_eq!(sent.len(), 9);
    // The first eight are answered with SSE streams that stay open, without the response.
    for s in &sent[..8] {
        h.sse_head(s.exchange);
        h.sse_event(s.exchange, None, r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}"#);
    }
    h.events();
    // The ninth is answered 503.
    let ninth = sent[8].exchange;
    h.head(ninth, 503, &[("content-type", "text/plain")]);
    h.body(ninth, "overloaded");
    h.end(ninth);
    let events = h.events();
    let done = responses(&events);
    assert_eq!(
        done.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids,
        "all nine, ascending"
    );
    let Err(RequestError::Session(SessionError::Http(e))) = &done[0].1 else {
        panic!("{:?}", done[0])
    };
    assert_eq!(e.status, 503);
    assert_eq!(e.body, "overloaded");
    for (_, r) in &done {
        assert_eq!(
            r.as_ref().unwrap_err(),
            &done[0].1.clone().unwrap_err(),
            "the same session error"
        );
    }
    assert_eq!(events.len(), 10, "{events:?}");
    assert!(matches!(&events[9], Event::Closed(SessionError::Http(_))));
    // The held streams (and the GET stream) die with the session: the adapter is told.
    let mut aborted = h.aborts();
    aborted.sort();
    let mut held: Vec<_> = sent[..8].iter().map(|s| s.exchange).collect();
    held.insert(0, get.exchange);
    assert_eq!(aborted, held);
    // Afterwards: commands fail at once with the same error; nothing more comes out.
    let later = h
        .session
        .request(h.now, "tools/list", None, Default::default());
    assert_eq!(later.unwrap_err(), done[0].1.clone().unwrap_err());
    h.body(
        sent[0].exchange,
        "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
    );
    assert!(h.take().is_empty());
    assert!(h.session.is_closed());
}
