//! Transport failures of one exchange (refused, reset, TLS) fail what that exchange carried:
//! a request fails alone, `initialize` fails the session, a notification only warns.

mod support;

use mcpwire_core::{RequestError, TransportError, TransportErrorKind, Warning};
use support::*;

#[test]
fn connection_refused_on_a_request_fails_only_that_request_with_a_transport_error() {
    for kind in [
        TransportErrorKind::Connect,
        TransportErrorKind::ConnectTimeout,
        TransportErrorKind::Tls,
        TransportErrorKind::Reset,
    ] {
        let mut h = Harness::http();
        h.ready_http();
        let (a, b) = (h.request("tools/list"), h.request("tools/call"));
        let sent = h.sent();
        h.fail(post_of(&sent, b).exchange, kind, "refused");
        let events = h.events();
        assert_eq!(
            responses(&events),
            vec![(
                b,
                Err(RequestError::Transport(TransportError::new(
                    kind, "refused"
                )))
            )],
            "{kind:?}"
        );
        assert!(h.session.is_ready(), "{kind:?}");
        h.json(post_of(&sent, a).exchange, 200, &response_line(a.0, "{}"));
        assert_eq!(
            responses(&h.events()),
            vec![(a, Ok("{}".to_owned()))],
            "{kind:?}"
        );
    }
}

#[test]
fn an_exchange_that_ends_without_a_head_fails_its_request_with_a_transport_error() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/list");
    let x = h.sent()[0].exchange;
    h.end(x);
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, id);
    assert!(
        matches!(error_of(&done[0].1), RequestError::Transport(_)),
        "{done:?}"
    );
    assert!(h.session.is_ready());
}

#[test]
fn a_transport_failure_of_a_notification_post_is_a_warning() {
    let mut h = Harness::http();
    h.ready_http();
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let x = h.sent()[0].exchange;
    h.fail(x, TransportErrorKind::Reset, "reset by peer");
    assert_eq!(
        warnings(&h.events()),
        vec![Warning::NotificationFailed {
            method: "notifications/roots/list_changed".into(),
            reason: "reset by peer".into()
        }]
    );
    assert!(h.session.is_ready());
}

#[test]
fn a_transport_failure_of_the_get_stream_before_its_head_fails_nothing() {
    let mut h = Harness::http();
    let get = h.handshake_http();
    let id = h.request("tools/list");
    h.fail(get.exchange, TransportErrorKind::Connect, "refused");
    let x = h.sent()[0].exchange;
    let events = h.events();
    assert!(responses(&events).is_empty(), "{events:?}");
    assert!(h.session.is_ready());
    h.json(x, 200, &response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}

#[test]
fn exchange_ids_are_independent_so_a_failure_reported_twice_does_nothing_more() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/list");
    let x = h.sent()[0].exchange;
    h.fail(x, TransportErrorKind::Reset, "reset");
    assert_eq!(responses(&h.events()).len(), 1);
    h.fail(x, TransportErrorKind::Reset, "reset");
    h.json(x, 200, &response_line(id.0, "{}"));
    assert!(h.take().is_empty(), "a finished exchange is forgotten");
}
