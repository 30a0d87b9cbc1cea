//! OAuth through the session: a 401 holds the request while the core's flow runs through the
//! session's own exchanges (metadata, token), asks the adapter for random bytes and the user
//! step, and replays the request once with the token — which goes to the MCP server only;
//! a failed flow fails what it held, typed; a 403 `insufficient_scope` is step-up. The flow's
//! own rules (discovery order, issuer checks, PKCE, registration) are unit-tested in
//! `core/src/auth`.

mod support;

use std::time::Duration;

use mcpwire_core::auth::{Config as AuthConfig, PreRegistered};
use mcpwire_core::{Authorization, Event, ExchangeKind, Input, Output, RequestError, SessionError};
use serde_json::json;
use support::*;

const PRM: &str = "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp";
const AS: &str = "http://127.0.0.1:7/as";
const REDIRECT: &str = "http://127.0.0.1:1/callback";

fn with_oauth() -> mcpwire_core::Config {
    let config = AuthConfig::new(REDIRECT).pre_registered(PreRegistered::new("client-1"));
    legacy().with_auth(Authorization::new(config))
}

fn challenge(h: &mut Harness, exchange: mcpwire_core::ExchangeId, status: u16, extra: &str) {
    let value = format!(r#"Bearer resource_metadata="{PRM}"{extra}"#);
    h.head(exchange, status, &[("www-authenticate", value.as_str())]);
    h.end(exchange);
}

/// Answers the flow's requests up to the user step: protected resource metadata, the
/// authorization server's; then random bytes. Returns the authorization URL.
fn discover(h: &mut Harness) -> String {
    let prm = json!({"resource": "http://127.0.0.1:9/mcp", "authorization_servers": [AS]});
    let metadata = json!({
        "issuer": AS,
        "authorization_endpoint": format!("{AS}/authorize"),
        "token_endpoint": format!("{AS}/token"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    });
    for _ in 0..4 {
        let outputs = h.take();
        let mut random = None;
        let mut requests = Vec::new();
        for o in outputs {
            match o {
                Output::Random(n) => random = Some(n),
                other => requests.push(other),
            }
        }
        h.outputs = requests;
        if let Some(n) = random {
            // The core draws no randomness: it asks.
            h.session.handle_input(h.now, Input::Random(&vec![7; n]));
            return h
                .events()
                .into_iter()
                .find_map(|e| match e {
                    Event::Authorize { url, redirect_uri } => {
                        assert_eq!(redirect_uri, REDIRECT);
                        Some(url.0)
                    }
                    _ => None,
                })
                .expect("the user step");
        }
        for sent in h.sent() {
            assert_eq!(sent.kind, ExchangeKind::Auth, "{sent:?}");
            assert!(
                sent.headers.get("authorization").is_none(),
                "no token to metadata"
            );
            let uri = sent.uri.to_string();
            let body = if uri == PRM {
                prm.to_string()
            } else if uri == "http://127.0.0.1:7/.well-known/oauth-authorization-server/as" {
                metadata.to_string()
            } else {
                panic!("an unexpected request of the flow: {uri}");
            };
            h.json(sent.exchange, 200, &body);
        }
    }
    panic!("no user step");
}

/// The `state` of an authorization URL.
fn state_of(url: &str) -> String {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .expect("a state")
        .to_owned()
}

/// Plays the user: the browser comes back with a code; answers the token request.
fn user_and_token(h: &mut Harness, url: &str, token: &str) {
    let back = format!("{REDIRECT}?code=c0de&state={}", state_of(url));
    h.session.authorization_redirect(h.now, Ok(&back));
    let sent = h.sent();
    assert_eq!(sent[0].uri.to_string(), format!("{AS}/token"));
    let form = sent[0].body.as_str().unwrap().to_owned();
    assert!(form.contains("grant_type=authorization_code"), "{form}");
    assert!(
        form.contains("code=c0de") && form.contains("code_verifier="),
        "{form}"
    );
    assert!(form.contains("resource="), "{form}");
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600});
    h.json(sent[0].exchange, 200, &body.to_string());
}

/// A session whose opening met a 401, authorized with `token`, and is ready.
fn authorized_and_ready(token: &str) -> Harness {
    let mut h = Harness::http_with(with_oauth());
    let init = h.sent().remove(0);
    challenge(&mut h, init.exchange, 401, "");
    let url = discover(&mut h);
    user_and_token(&mut h, &url, token);
    h.events();
    let again = h.sent();
    h.requeue(again);
    h.ready_http();
    h
}

#[test]
fn a_401_holds_the_request_the_flow_runs_and_the_request_goes_again_with_the_token() {
    let mut h = Harness::http_with(with_oauth());
    let init = h.sent().remove(0);
    assert!(init.headers.get("authorization").is_none());
    challenge(&mut h, init.exchange, 401, "");
    assert!(!h.session.is_closed(), "a 401 no longer ends the session");
    let url = discover(&mut h);
    assert!(url.starts_with(&format!("{AS}/authorize?")), "{url}");
    assert!(url.contains("code_challenge_method=S256") && url.contains("client_id=client-1"));
    user_and_token(&mut h, &url, "tok-1");
    assert!(h.events().iter().any(|e| matches!(e, Event::Authorized)));
    // `initialize` goes again, once, with the token; then the handshake as ever.
    let again = h.sent();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body["method"], "initialize");
    assert_eq!(again[0].body["id"], init.body["id"], "the same request");
    assert_eq!(header(&again[0], "authorization"), Some("Bearer tok-1"));
    assert!(again[0].headers["authorization"].is_sensitive());
    h.requeue(again);
    h.ready_http();
    let id = h.request("tools/list");
    let sent = h.sent();
    assert_eq!(
        header(post_of(&sent, id), "authorization"),
        Some("Bearer tok-1")
    );
    let creds = h
        .session
        .credentials(h.now, Duration::from_secs(1_000_000))
        .expect("credentials to keep");
    assert!(
        format!("{creds:?}").find("tok-1").is_none(),
        "no token in Debug"
    );
}

#[test]
fn a_failed_flow_fails_what_it_held_typed_and_the_opening_fails_the_session() {
    let mut h = Harness::http_with(with_oauth());
    let init = h.sent().remove(0);
    challenge(&mut h, init.exchange, 401, "");
    discover(&mut h);
    h.session
        .authorization_redirect(h.now, Err("the user closed the window"));
    let events = h.events();
    let closed = events
        .iter()
        .find_map(|e| match e {
            Event::Closed(e) => Some(e.clone()),
            _ => None,
        })
        .expect("closed");
    assert!(matches!(closed, SessionError::Auth(_)), "{closed:?}");
    assert!(
        closed.to_string().contains("the user closed the window"),
        "{closed}"
    );
}

#[test]
fn a_403_insufficient_scope_is_step_up_and_other_requests_wait_for_it() {
    let mut h = authorized_and_ready("tok-read");
    let call = h.request("tools/call");
    let x = h.sent()[0].exchange;
    challenge(
        &mut h,
        x,
        403,
        r#", error="insufficient_scope", scope="mcp:write""#,
    );
    // While the flow runs, a new request waits for it too.
    let waiting = h.request("tools/list");
    // Step-up: a new authorization, asking for the scope the challenge named.
    let url = discover(&mut h);
    assert!(
        url.contains("mcp%3Awrite") || url.contains("mcp:write"),
        "{url}"
    );
    user_and_token(&mut h, &url, "tok-write");
    let sent = h.sent();
    assert_eq!(sent.len(), 2, "both go, with the new token: {sent:?}");
    for s in &sent {
        assert_eq!(header(s, "authorization"), Some("Bearer tok-write"));
    }
    let mut ids: Vec<_> = sent.iter().filter_map(|s| s.body["id"].as_u64()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [call.0, waiting.0],
        "the step-up's request and the one that waited"
    );
}

#[test]
fn without_a_flow_a_401_still_ends_the_session_with_the_challenge() {
    let mut h = Harness::http();
    let init = h.sent().remove(0);
    challenge(&mut h, init.exchange, 401, "");
    assert!(matches!(
        h.session.error(),
        Some(SessionError::AuthRequired { www_authenticate: Some(w) }) if w.contains("resource_metadata")
    ));
}

#[test]
fn a_failed_flow_fails_the_applications_held_requests_with_a_typed_error() {
    let mut h = authorized_and_ready("tok-read");
    let a = h.request("tools/call");
    let x = h.sent()[0].exchange;
    challenge(
        &mut h,
        x,
        403,
        r#", error="insufficient_scope", scope="mcp:write""#,
    );
    let b = h.request("tools/list");
    discover(&mut h);
    h.session.authorization_redirect(h.now, Err("denied"));
    let r = responses(&h.events());
    assert_eq!(r.len(), 2, "{r:?}");
    for (id, result) in &r {
        assert!([a, b].contains(id));
        assert!(matches!(result, Err(RequestError::Auth(_))), "{result:?}");
    }
    assert!(!h.session.is_closed(), "the session goes on");
}

/// The client credentials grant (machine to machine): a 401, the discovery, then the token
/// request at once — `grant_type=client_credentials`, the client's secret in a sensitive Basic
/// header, the `resource` — with no random bytes asked, no user step and no PKCE; the held
/// request goes again with the token.
#[test]
fn the_client_credentials_grant_gets_a_token_with_no_user_and_no_pkce() {
    let config = AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-1").secret("s3cret"))
        .client_credentials(true);
    let mut h = Harness::http_with(legacy().with_auth(Authorization::new(config)));
    let init = h.sent().remove(0);
    challenge(&mut h, init.exchange, 401, "");
    let prm = json!({"resource": "http://127.0.0.1:9/mcp", "authorization_servers": [AS]});
    let metadata = json!({
        "issuer": AS,
        "authorization_endpoint": format!("{AS}/authorize"),
        "token_endpoint": format!("{AS}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
    });
    let mut token_request = None;
    for _ in 0..4 {
        let outputs = h.take();
        assert!(
            !outputs.iter().any(|o| matches!(o, Output::Random(_))),
            "no randomness: no PKCE, no state"
        );
        h.outputs = outputs;
        for sent in h.sent() {
            let uri = sent.uri.to_string();
            if uri == format!("{AS}/token") {
                token_request = Some(sent);
                break;
            }
            let body = if uri == PRM {
                prm.to_string()
            } else if uri == "http://127.0.0.1:7/.well-known/oauth-authorization-server/as" {
                metadata.to_string()
            } else {
                panic!("an unexpected request of the flow: {uri}");
            };
            h.json(sent.exchange, 200, &body);
        }
        if token_request.is_some() {
            break;
        }
    }
    let Some(sent) = token_request else {
        panic!("no token request: {:?}", h.events());
    };
    let form = sent.body.as_str().unwrap().to_owned();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("resource="), "{form}");
    assert!(
        !form.contains("code_verifier") && !form.contains("s3cret"),
        "{form}"
    );
    let basic = &sent.headers["authorization"];
    assert!(basic.is_sensitive());
    assert!(basic.to_str().unwrap().starts_with("Basic "));
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::Authorize { .. })),
        "no user step"
    );
    let body = json!({"access_token": "m2m-1", "token_type": "Bearer", "expires_in": 3600});
    h.json(sent.exchange, 200, &body.to_string());
    assert!(h.events().iter().any(|e| matches!(e, Event::Authorized)));
    let again = h.sent();
    assert_eq!(again[0].body["method"], "initialize");
    assert_eq!(header(&again[0], "authorization"), Some("Bearer m2m-1"));
}

#[test]
fn the_client_credentials_grant_needs_a_pre_registered_client() {
    let config = AuthConfig::new(REDIRECT).client_credentials(true);
    assert!(mcpwire_core::auth::Flow::new(config).is_err());
}

/// The flow's own requests are never redirected, not even a 307 to the same origin (the
/// session's redirect rows are for MCP exchanges): the held request fails with the flow's
/// `Redirected`, and nothing is sent to the `Location`.
#[test]
fn a_307_to_the_flows_metadata_request_is_not_followed_even_to_the_same_origin() {
    let mut h = Harness::http_with(with_oauth());
    h.ready_http();
    let id = h.request("tools/list");
    let x = post_of(&h.sent(), id).exchange;
    challenge(&mut h, x, 401, "");
    let sent = h.sent();
    let prm = sent
        .iter()
        .find(|s| s.uri == PRM)
        .expect("the metadata request");
    assert_eq!(prm.kind, ExchangeKind::Auth);
    h.head(
        prm.exchange,
        307,
        &[("location", "http://127.0.0.1:9/.well-known/elsewhere")],
    );
    h.end(prm.exchange);
    let after = h.sent();
    assert!(
        after
            .iter()
            .all(|s| !s.uri.to_string().contains("elsewhere")),
        "{after:?}"
    );
    let done = responses(&h.events());
    let failed = done.iter().find(|(r, _)| *r == id);
    let Some((_, Err(RequestError::Auth(e)))) = failed else {
        panic!("{done:?}");
    };
    assert!(
        matches!(
            **e,
            mcpwire_core::auth::Error::Redirected { status: 307, .. }
        ),
        "{e:?}"
    );
}

/// Two requests in flight with a token the server has just stopped taking: the first
/// challenge gets a new token; the second request's challenge, which was on its way
/// meanwhile, does not start the flow again — the request goes again with the new token.
#[test]
fn a_challenge_to_a_request_sent_with_a_replaced_token_replays_it_with_no_new_flow() {
    let mut h = authorized_and_ready("tok-1");
    let a = h.request("tools/list");
    let b = h.request("prompts/list");
    let sent = h.sent();
    let (xa, xb) = (post_of(&sent, a).exchange, post_of(&sent, b).exchange);
    assert_eq!(
        header(post_of(&sent, b), "authorization"),
        Some("Bearer tok-1")
    );
    // The first challenge: a new authorization, a new token.
    challenge(&mut h, xa, 401, "");
    let url = discover(&mut h);
    user_and_token(&mut h, &url, "tok-2");
    let replayed = h.sent();
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    assert_eq!(header(&replayed[0], "authorization"), Some("Bearer tok-2"));
    // The second's challenge arrives now: it goes again at once, with tok-2, and nothing else
    // is sent (no metadata, no token request, no user step).
    challenge(&mut h, xb, 401, "");
    let outputs = h.take();
    assert!(
        !outputs.iter().any(|o| matches!(
            o,
            Output::Random(_) | Output::Event(Event::Authorize { .. })
        )),
        "{outputs:?}"
    );
    h.outputs = outputs;
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "only the request again: {sent:?}");
    assert_eq!(sent[0].body["id"], b.0);
    assert_eq!(header(&sent[0], "authorization"), Some("Bearer tok-2"));
}
