//! Redirects (DESIGN.md, "What each failure does"): a 307 or 308 to the same origin is sent
//! again, the same method, headers and body, a bounded number of times; any other redirect is
//! a typed error naming the `Location`, and nothing goes to another origin.

mod support;

use mcpwire_core::{Event, Policy, RedirectRefusal, RequestError, SessionError};
use support::*;

const OK: &str = r#"{"tools":[]}"#;

/// The redirect a request failed with.
fn redirect_error(error: &RequestError) -> &mcpwire_core::RedirectError {
    match error {
        RequestError::Redirect(e) => e,
        e => panic!("expected a redirect error, got {e:?}"),
    }
}

/// Starts `tools/call` on a ready session, answers its POST with `code` and `location`; returns
/// the request, its first POST and what was sent after the redirect.
fn redirected(
    code: u16,
    location: Option<&str>,
) -> (Harness, mcpwire_core::RequestId, Sent, Vec<Sent>) {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let mut sent = h.sent();
    let at = sent
        .iter()
        .position(|s| s.exchange == post_of(&sent, id).exchange)
        .unwrap();
    let first = sent.swap_remove(at);
    let headers: Vec<(&str, &str)> = location.map(|l| ("location", l)).into_iter().collect();
    h.head(first.exchange, code, &headers);
    let again = h.sent();
    (h, id, first, again)
}

#[test]
fn a_307_to_the_same_origin_is_sent_again_with_the_same_method_headers_and_body() {
    let (mut h, id, first, again) = redirected(307, Some("/next"));
    assert_eq!(again.len(), 1, "{again:?}");
    let second = &again[0];
    assert_eq!(second.uri, "http://127.0.0.1:9/next");
    assert_eq!(second.method, first.method);
    assert_eq!(second.kind, first.kind);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers, first.headers);
    assert!(header(second, "mcp-session-id").is_some());
    assert!(second.exchange > first.exchange);
    // The redirect's own exchange is dropped.
    h.body(first.exchange, "moved");
    h.end(first.exchange);
    h.json(second.exchange, 200, &response_line(id.0, OK));
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, id);
    assert!(done[0].1.is_ok(), "{done:?}");
}

#[test]
fn a_308_to_an_absolute_uri_of_the_same_origin_is_followed_and_relative_ones_resolve() {
    for (location, to) in [
        (
            "http://127.0.0.1:9/elsewhere",
            "http://127.0.0.1:9/elsewhere",
        ),
        ("HTTP://127.0.0.1:9/x?y=1", "http://127.0.0.1:9/x?y=1"),
        ("//127.0.0.1:9/net", "http://127.0.0.1:9/net"),
        ("other", "http://127.0.0.1:9/other"),
        ("?q=1", "http://127.0.0.1:9/mcp?q=1"),
    ] {
        let (mut h, id, _, again) = redirected(308, Some(location));
        assert_eq!(again.len(), 1, "{location}: {again:?}");
        assert_eq!(again[0].uri.to_string().to_lowercase(), to, "{location}");
        h.json(again[0].exchange, 200, &response_line(id.0, OK));
        assert!(responses(&h.events())[0].1.is_ok(), "{location}");
    }
}

#[test]
fn a_redirect_loop_ends_at_the_limit_with_a_typed_error() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let mut x = post_of(&h.sent(), id).exchange;
    let limit = Policy::default().max_redirects;
    for hop in 0..limit {
        h.head(x, 307, &[("location", "/mcp")]);
        let again = h.sent();
        assert_eq!(again.len(), 1, "hop {hop}");
        x = again[0].exchange;
    }
    h.head(x, 307, &[("location", "/mcp")]);
    assert!(h.sent().is_empty());
    let done = responses(&h.events());
    assert_eq!(done.len(), 1);
    let error = error_of(&done[0].1);
    let e = redirect_error(&error);
    assert_eq!(e.reason, RedirectRefusal::TooMany { limit: 5 });
    assert_eq!(e.location.as_deref(), Some("/mcp"));
    // Only that request failed.
    assert!(h.session.is_ready());
    let next = h.request("tools/list");
    assert_eq!(h.sent().len(), 1, "{next:?}");
}

#[test]
fn a_301_302_303_fail_only_that_request_naming_the_location_and_nothing_is_sent_again() {
    for code in [301, 302, 303] {
        let (mut h, id, _, again) = redirected(code, Some("/login?token=secret"));
        assert!(again.is_empty(), "{code}: {again:?}");
        let events = h.events();
        let done = responses(&events);
        assert_eq!(done.len(), 1, "{code}: {events:?}");
        assert_eq!(done[0].0, id);
        let error = error_of(&done[0].1);
        let e = redirect_error(&error);
        assert_eq!(e.status.as_u16(), code);
        assert_eq!(e.reason, RedirectRefusal::Status);
        assert_eq!(e.location.as_deref(), Some("/login?…"));
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(!events.iter().any(|e| matches!(e, Event::Closed(_))));
        assert!(h.session.is_ready());
    }
}

#[test]
fn another_origin_is_refused_and_nothing_is_sent_there() {
    for location in [
        "http://evil.example/mcp",
        "https://127.0.0.1:9/mcp",
        "http://127.0.0.1:10/mcp",
        "//evil.example/mcp",
        "http://user:password@evil.example/mcp?key=secret#frag",
    ] {
        for code in [307, 308] {
            let (mut h, _, _, again) = redirected(code, Some(location));
            assert!(again.is_empty(), "{location}: {again:?}");
            let error = error_of(&responses(&h.events())[0].1);
            let e = redirect_error(&error);
            assert_eq!(e.reason, RedirectRefusal::OtherOrigin, "{location}");
            let shown = e.location.as_deref().unwrap();
            assert!(
                !shown.contains("password") && !shown.contains("secret"),
                "{shown}"
            );
            assert!(!format!("{error:?}").contains("password"));
        }
    }
    let (mut h, _, _, _) = redirected(307, Some("http://user:password@evil.example/mcp?key=s"));
    let error = error_of(&responses(&h.events())[0].1);
    assert_eq!(
        redirect_error(&error).location.as_deref(),
        Some("http://evil.example/mcp?…")
    );
}

#[test]
fn a_redirect_without_a_location_or_with_an_unusable_one_fails_the_request() {
    for (location, reason) in [
        (None, RedirectRefusal::Missing),
        (Some(""), RedirectRefusal::Unparsable),
        (Some("http://[::1"), RedirectRefusal::Unparsable),
        (
            Some("http://me@127.0.0.1:9/mcp"),
            RedirectRefusal::Unparsable,
        ),
    ] {
        let (mut h, _, _, again) = redirected(307, location);
        assert!(again.is_empty(), "{location:?}");
        let error = error_of(&responses(&h.events())[0].1);
        assert_eq!(redirect_error(&error).reason, reason, "{location:?}");
    }
}

#[test]
fn a_redirected_handshake_is_followed_and_a_refused_one_fails_the_session() {
    let mut h = Harness::http();
    let init = h.sent();
    assert_eq!(init.len(), 1);
    h.head(init[0].exchange, 308, &[("location", "/v2/mcp")]);
    let again = h.sent();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].uri, "http://127.0.0.1:9/v2/mcp");
    assert_eq!(again[0].body, init[0].body);

    let mut h = Harness::http();
    let init = h.sent();
    h.head(
        init[0].exchange,
        302,
        &[("location", "https://sso.example/login")],
    );
    let events = h.events();
    let Some(Event::Closed(SessionError::Redirect(e))) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(e.reason, RedirectRefusal::Status);
    assert_eq!(e.location.as_deref(), Some("https://sso.example/login"));
}

#[test]
fn with_max_redirects_zero_no_redirect_is_followed() {
    let config = legacy().with_policy(mcpwire_core::Policy::default().with_max_redirects(0));
    let mut h = Harness::http_with(config);
    h.ready_http();
    let id = h.request("tools/call");
    let x = post_of(&h.sent(), id).exchange;
    h.head(x, 307, &[("location", "/mcp")]);
    assert!(h.sent().is_empty());
    let error = error_of(&responses(&h.events())[0].1);
    assert_eq!(
        redirect_error(&error).reason,
        RedirectRefusal::TooMany { limit: 0 }
    );
}

#[test]
fn a_resuming_get_redirected_by_a_307_goes_again_with_its_last_event_id() {
    let mut h = Harness::http();
    h.ready_http();
    let id = h.request("tools/call");
    let x = post_of(&h.sent(), id).exchange;
    h.sse_head(x);
    h.body(
        x,
        "retry: 1000\nid: e1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"w\"}}\n\n",
    );
    h.end(x);
    h.events();
    h.advance(std::time::Duration::from_secs(1));
    let get = h.sent();
    assert_eq!(get.len(), 1, "{get:?}");
    assert_eq!(get[0].method, http::Method::GET);
    h.head(get[0].exchange, 307, &[("location", "/streams")]);
    let again = h.sent();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].method, http::Method::GET);
    assert_eq!(again[0].uri, "http://127.0.0.1:9/streams");
    assert_eq!(header(&again[0], "last-event-id"), Some("e1"));
    h.sse_head(again[0].exchange);
    h.sse_event(again[0].exchange, Some("e2"), &response_line(id.0, OK));
    let done = responses(&h.events());
    assert_eq!(done, vec![(id, Ok(OK.to_owned()))]);
}

#[test]
fn a_redirected_notification_post_that_is_not_followed_is_only_a_warning() {
    let mut h = Harness::http();
    h.ready_http();
    h.session
        .notify("notifications/roots/list_changed", None)
        .unwrap();
    let sent = h.sent();
    let note = notifications(&sent, "notifications/roots/list_changed")[0].exchange;
    h.head(note, 302, &[("location", "http://evil.example/")]);
    assert!(h.sent().is_empty());
    let events = h.events();
    assert!(!warnings(&events).is_empty(), "{events:?}");
    assert!(h.session.is_ready());
}
