//! The OAuth extensions through the session: grants with no user (client credentials with a
//! `private_key_jwt` assertion, the JWT bearer grant of workload identity, enterprise-managed
//! authorization's token exchange) and DPoP (a proof on every token and MCP request, the `DPoP`
//! scheme, both servers' nonce challenges, also with calls in flight). Keys stay with the
//! caller: the tests sign with a [`Signer`] whose "signature" is a SHA-256 of the input, so
//! what was signed can be checked.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mcpwire_core::auth::{
    Assertion, Config as AuthConfig, Error as AuthError, Grant, IdentityProvider, Key,
    PreRegistered, Signer,
};
use mcpwire_core::{Authorization, Event, ExchangeKind, Output, RequestError, SessionError};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use support::*;

const PRM: &str = "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp";
const PRM_BODY: &str =
    r#"{"resource":"http://127.0.0.1:9/mcp","authorization_servers":["http://127.0.0.1:7/as"]}"#;
const AS: &str = "http://127.0.0.1:7/as";
const AS_METADATA: &str = "http://127.0.0.1:7/.well-known/oauth-authorization-server/as";
const TOKEN: &str = "http://127.0.0.1:7/as/token";
const IDP_TOKEN: &str = "http://127.0.0.1:8/idp/token";
const REDIRECT: &str = "http://127.0.0.1:1/callback";
/// The caller's wall clock when the session is made.
const UNIX: u64 = 1_800_000_000;

/// "Signs" with SHA-256 of the input (a test can recompute it); its public JWK's `x` tells
/// two keys apart.
struct HashSigner(&'static str);

impl Signer for HashSigner {
    fn algorithm(&self) -> &str {
        "ES256"
    }
    fn public_jwk(&self) -> Option<Map<String, Value>> {
        json!({"kty": "EC", "crv": "P-256", "x": self.0, "y": "eQ"})
            .as_object()
            .cloned()
    }
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        Ok(Sha256::digest(input).to_vec())
    }
}

fn b64(part: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

/// A JWT's header and claims, after checking its signature is a [`HashSigner`]'s.
fn jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let signed = format!("{}.{}", parts[0], parts[1]);
    assert_eq!(
        b64(parts[2]),
        Sha256::digest(signed.as_bytes()).to_vec(),
        "signed by the caller's key over exactly header.claims"
    );
    (
        serde_json::from_slice(&b64(parts[0])).unwrap(),
        serde_json::from_slice(&b64(parts[1])).unwrap(),
    )
}

/// The value of `name` in a form body.
fn field(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| {
            let v = v.replace('+', " ");
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() + 1 {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
    })
}

fn metadata(extra: Value) -> String {
    let mut m = json!({
        "issuer": AS,
        "authorization_endpoint": format!("{AS}/authorize"),
        "token_endpoint": TOKEN,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m.to_string()
}

fn session(config: AuthConfig) -> Harness {
    let auth = Authorization::new(config).at(Duration::from_secs(UNIX));
    Harness::http_with(legacy().with_auth(auth))
}

/// The opening meets a 401 (`scheme` challenge); the flow's discovery is answered, random
/// bytes handed over when asked; returns the first request of the flow to neither metadata
/// URL (a token request, or a token exchange).
fn to_token_request(h: &mut Harness, scheme: &str, extra: Value) -> Sent {
    let init = h.sent().remove(0);
    let challenge = format!(r#"{scheme} resource_metadata="{PRM}""#);
    h.head(
        init.exchange,
        401,
        &[("www-authenticate", challenge.as_str())],
    );
    h.end(init.exchange);
    next_flow_request(h, &metadata(extra))
}

/// Answers metadata requests and random-byte asks until the flow sends something else.
fn next_flow_request(h: &mut Harness, metadata: &str) -> Sent {
    for _ in 0..8 {
        let outputs = h.take();
        let mut rest = Vec::new();
        for o in outputs {
            match o {
                Output::Random(n) => h
                    .session
                    .handle_input(h.now, mcpwire_core::Input::Random(&vec![9; n])),
                o => rest.push(o),
            }
        }
        h.outputs.extend(rest);
        for sent in h.sent() {
            let uri = sent.uri.to_string();
            if uri == PRM {
                h.json(sent.exchange, 200, PRM_BODY);
            } else if uri == AS_METADATA {
                h.json(sent.exchange, 200, metadata);
            } else {
                assert_eq!(sent.kind, ExchangeKind::Auth, "{sent:?}");
                return sent;
            }
        }
    }
    panic!("the flow sent no token request: {:?}", h.events());
}

fn form(sent: &Sent) -> String {
    sent.body.as_str().expect("a form body").to_owned()
}

fn token_body(token: &str, token_type: &str) -> String {
    json!({"access_token": token, "token_type": token_type, "expires_in": 3600}).to_string()
}

fn closed(events: &[Event]) -> SessionError {
    events
        .iter()
        .find_map(|e| match e {
            Event::Closed(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("not closed: {events:?}"))
}

fn auth_error(e: &SessionError) -> &AuthError {
    match e {
        SessionError::Auth(a) => a,
        other => panic!("not an authorization failure: {other:?}"),
    }
}

#[test]
fn client_credentials_with_a_private_key_jwt_present_a_signed_assertion_for_the_issuer() {
    let config = AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-7").key(Key::new(HashSigner("eA"))))
        .grant(Grant::ClientCredentials);
    assert!(
        !format!("{config:?}").contains("eA"),
        "no key material in Debug"
    );
    let mut h = session(config);
    let sent = to_token_request(
        &mut h,
        "Bearer",
        json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}),
    );
    assert_eq!(sent.uri.to_string(), TOKEN);
    assert!(
        sent.headers.get("authorization").is_none(),
        "no secret, no Basic"
    );
    let f = form(&sent);
    assert_eq!(
        field(&f, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        field(&f, "client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let (header, claims) = jwt(&field(&f, "client_assertion").expect("an assertion"));
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], "agent-7");
    assert_eq!(claims["sub"], "agent-7");
    // RFC 7523bis: the audience is the authorization server's issuer, not its token URL.
    assert_eq!(claims["aud"], AS);
    assert_eq!(claims["iat"], UNIX);
    assert_eq!(claims["exp"], UNIX + 300);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    h.json(sent.exchange, 200, &token_body("m2m-jwt", "Bearer"));
    let again = h.sent();
    assert_eq!(again[0].body["method"], "initialize");
    assert_eq!(header_of(&again[0]), Some("Bearer m2m-jwt"));
}

fn header_of(sent: &Sent) -> Option<&str> {
    header(sent, "authorization")
}

#[test]
fn a_signed_assertion_without_the_callers_clock_is_a_typed_configuration_error() {
    let config = AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-7").key(Key::new(HashSigner("eA"))))
        .grant(Grant::ClientCredentials);
    // No `.at(unix_now)`: the flow cannot say when the assertion was issued.
    let mut h = Harness::http_with(legacy().with_auth(Authorization::new(config)));
    let init = h.sent().remove(0);
    let challenge = format!(r#"Bearer resource_metadata="{PRM}""#);
    h.head(
        init.exchange,
        401,
        &[("www-authenticate", challenge.as_str())],
    );
    h.end(init.exchange);
    for _ in 0..4 {
        let outputs = h.take();
        for o in outputs {
            match o {
                Output::Random(n) => h
                    .session
                    .handle_input(h.now, mcpwire_core::Input::Random(&vec![9; n])),
                o => h.outputs.push(o),
            }
        }
        for sent in h.sent() {
            let uri = sent.uri.to_string();
            assert_ne!(uri, TOKEN, "nothing unsigned goes to the token endpoint");
            let body = if uri == PRM {
                PRM_BODY.to_owned()
            } else {
                metadata(json!({}))
            };
            h.json(sent.exchange, 200, &body);
        }
    }
    let e = closed(&h.events());
    assert!(
        matches!(auth_error(&e), AuthError::Config(m) if m.contains("clock")),
        "{e:?}"
    );
}

#[test]
fn a_workload_presents_its_token_in_a_jwt_bearer_grant_fresh_from_the_source_each_time() {
    let asked = Arc::new(AtomicU32::new(0));
    let counter = asked.clone();
    let source = Assertion::from_source(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(format!("workload.token.{n}"))
    });
    let config = AuthConfig::new(REDIRECT).grant(Grant::JwtBearer { assertion: source });
    let mut h = session(config);
    let sent = to_token_request(&mut h, "Bearer", json!({}));
    let f = form(&sent);
    assert_eq!(
        field(&f, "grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(field(&f, "assertion").as_deref(), Some("workload.token.1"));
    assert_eq!(
        field(&f, "client_id"),
        None,
        "the workload needs no client id"
    );
    assert!(sent.headers.get("authorization").is_none());
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::Authorize { .. })),
        "no user step"
    );
    h.json(sent.exchange, 200, &token_body("wif-1", "Bearer"));
    let again = h.sent();
    assert_eq!(header_of(&again[0]), Some("Bearer wif-1"));
    h.requeue(again);
    h.ready_http();
    // The token is refused later: the flow asks the source again (a rotated token).
    let id = h.request("tools/list");
    let x = post_of(&h.sent(), id).exchange;
    let challenge = format!(r#"Bearer resource_metadata="{PRM}", error="invalid_token""#);
    h.head(x, 401, &[("www-authenticate", challenge.as_str())]);
    h.end(x);
    let sent = next_flow_request(&mut h, &metadata(json!({})));
    assert_eq!(
        field(&form(&sent), "assertion").as_deref(),
        Some("workload.token.2")
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[test]
fn an_expired_workload_token_is_a_typed_error_and_is_not_presented_again() {
    let config = AuthConfig::new(REDIRECT).grant(Grant::JwtBearer {
        assertion: Assertion::fixed("expired.workload.token"),
    });
    let mut h = session(config);
    let sent = to_token_request(&mut h, "Bearer", json!({}));
    let refusal = r#"{"error":"invalid_grant","error_description":"the assertion has expired"}"#;
    h.json(sent.exchange, 400, refusal);
    let e = closed(&h.events());
    match auth_error(&e) {
        AuthError::AssertionRejected {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error.as_deref(), Some("invalid_grant"));
            assert_eq!(description.as_deref(), Some("the assertion has expired"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("refused the assertion"), "{e}");
    assert!(h.sent().is_empty(), "no second token request");
}

#[test]
fn an_assertion_source_with_nothing_to_give_fails_the_flow_before_the_token_request() {
    let config = AuthConfig::new(REDIRECT).grant(Grant::JwtBearer {
        assertion: Assertion::from_source(|| Err("/var/run/token is missing".to_owned())),
    });
    let mut h = session(config);
    let init = h.sent().remove(0);
    let challenge = format!(r#"Bearer resource_metadata="{PRM}""#);
    h.head(
        init.exchange,
        401,
        &[("www-authenticate", challenge.as_str())],
    );
    h.end(init.exchange);
    for _ in 0..3 {
        for sent in h.sent() {
            let uri = sent.uri.to_string();
            assert_ne!(uri, TOKEN);
            let body = if uri == PRM {
                PRM_BODY.to_owned()
            } else {
                metadata(json!({}))
            };
            h.json(sent.exchange, 200, &body);
        }
    }
    let e = closed(&h.events());
    assert!(
        matches!(auth_error(&e), AuthError::Assertion { reason } if reason.contains("missing")),
        "{e:?}"
    );
}

fn enterprise() -> AuthConfig {
    let idp = IdentityProvider::new(IDP_TOKEN, Assertion::fixed("user.id.token"))
        .client("idp-client", None);
    AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("xaa-client").secret("xaa-secret"))
        .grant(Grant::IdentityAssertion(idp))
}

#[test]
fn enterprise_managed_authorization_exchanges_the_id_token_then_presents_the_id_jag() {
    let mut h = session(enterprise());
    let exchange = to_token_request(&mut h, "Bearer", json!({}));
    assert_eq!(
        exchange.uri.to_string(),
        IDP_TOKEN,
        "first the identity provider"
    );
    let f = form(&exchange);
    for (name, value) in [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag",
        ),
        ("audience", AS),
        ("resource", "http://127.0.0.1:9/mcp"),
        ("subject_token", "user.id.token"),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
        ("client_id", "idp-client"),
    ] {
        assert_eq!(field(&f, name).as_deref(), Some(value), "{name} in {f}");
    }
    assert!(
        exchange.headers.get("authorization").is_none(),
        "the MCP client's secret never goes to the identity provider"
    );
    let jag = json!({
        "access_token": "id.jag.token",
        "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "token_type": "N_A",
    });
    h.json(exchange.exchange, 200, &jag.to_string());
    let grant = h.sent().remove(0);
    assert_eq!(grant.uri.to_string(), TOKEN);
    let f = form(&grant);
    assert_eq!(
        field(&f, "grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(field(&f, "assertion").as_deref(), Some("id.jag.token"));
    let basic = grant.headers["authorization"].to_str().unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode("xaa-client:xaa-secret");
    assert_eq!(basic, format!("Basic {expected}"));
    h.json(grant.exchange, 200, &token_body("xaa-token", "Bearer"));
    let again = h.sent();
    assert_eq!(header_of(&again[0]), Some("Bearer xaa-token"));
}

#[test]
fn an_identity_provider_that_refuses_the_exchange_is_a_typed_error() {
    let mut h = session(enterprise());
    let exchange = to_token_request(&mut h, "Bearer", json!({}));
    h.json(
        exchange.exchange,
        400,
        r#"{"error":"invalid_request","error_description":"bad audience"}"#,
    );
    let e = closed(&h.events());
    assert!(
        matches!(auth_error(&e), AuthError::TokenExchange { status: 400, error: Some(c), .. } if c == "invalid_request"),
        "{e:?}"
    );
    // An answer that is not an ID-JAG is refused too.
    let mut h = session(enterprise());
    let exchange = to_token_request(&mut h, "Bearer", json!({}));
    h.json(
        exchange.exchange,
        200,
        r#"{"access_token":"x","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
    );
    let e = closed(&h.events());
    assert!(
        matches!(auth_error(&e), AuthError::InvalidTokenResponse { .. }),
        "{e:?}"
    );
}

#[test]
fn enterprise_managed_authorization_needs_a_pre_registered_client() {
    let idp = IdentityProvider::new(IDP_TOKEN, Assertion::fixed("t"));
    let config = AuthConfig::new(REDIRECT).grant(Grant::IdentityAssertion(idp));
    assert!(mcpwire_core::auth::Flow::new(config).is_err());
}

// ---- DPoP -------------------------------------------------------------------------------

fn dpop_config() -> AuthConfig {
    AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-d").secret("s"))
        .grant(Grant::ClientCredentials)
        .dpop(Key::new(HashSigner("eA")))
}

/// A DPoP proof's header and claims, checked as RFC 9449 §4.2 wants them.
fn proof(sent: &Sent, method: &str, htu: &str) -> Value {
    let value = sent.headers.get("dpop").expect("a DPoP proof");
    assert!(value.is_sensitive());
    let (header, claims) = jwt(value.to_str().unwrap());
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["jwk"]["kty"], "EC");
    assert!(header["jwk"].get("d").is_none());
    assert_eq!(claims["htm"], method);
    assert_eq!(claims["htu"], htu);
    assert_eq!(claims["iat"].as_u64().map(|t| t >= UNIX), Some(true));
    claims
}

fn ath(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// DPoP from the first 401 to a ready session: the token request proved, a DPoP token.
fn dpop_ready(h: &mut Harness, scheme: &str) -> Vec<String> {
    let sent = to_token_request(
        h,
        scheme,
        json!({"dpop_signing_alg_values_supported": ["ES256"]}),
    );
    let claims = proof(&sent, "POST", TOKEN);
    assert!(claims.get("ath").is_none(), "no token yet to bind");
    let mut jtis = vec![claims["jti"].as_str().unwrap().to_owned()];
    h.json(sent.exchange, 200, &token_body("dpop-tok", "DPoP"));
    let again = h.sent();
    assert_eq!(header_of(&again[0]), Some("DPoP dpop-tok"));
    let claims = proof(&again[0], "POST", "http://127.0.0.1:9/mcp");
    assert_eq!(claims["ath"], ath("dpop-tok"));
    jtis.push(claims["jti"].as_str().unwrap().to_owned());
    h.requeue(again);
    h.ready_http();
    jtis
}

#[test]
fn with_dpop_every_token_and_mcp_request_carries_a_fresh_proof_bound_to_the_token() {
    let mut h = session(dpop_config());
    let mut jtis = dpop_ready(&mut h, "DPoP");
    for _ in 0..3 {
        let id = h.request("tools/list");
        let sent = h.sent();
        let post = post_of(&sent, id);
        assert_eq!(header_of(post), Some("DPoP dpop-tok"));
        let claims = proof(post, "POST", "http://127.0.0.1:9/mcp");
        assert_eq!(claims["ath"], ath("dpop-tok"));
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    let mut unique = jtis.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), jtis.len(), "every jti is new: {jtis:?}");
    // The stored token remembers its key, by thumbprint.
    let creds = h
        .session
        .credentials(h.now, Duration::from_secs(UNIX))
        .unwrap();
    assert!(creds.tokens.unwrap().dpop_jkt.is_some());
}

/// A DPoP-bound request redirected (307, same origin) goes again with the same token and a
/// new proof naming the new URI (RFC 9449 §4.2: `htu` is the request's URI), never the old
/// proof.
#[test]
fn a_redirected_request_with_dpop_carries_a_new_proof_for_its_new_uri() {
    let mut h = session(dpop_config());
    dpop_ready(&mut h, "DPoP");
    let id = h.request("tools/list");
    let sent = h.sent();
    let first = post_of(&sent, id);
    let before = proof(first, "POST", "http://127.0.0.1:9/mcp");
    h.head(first.exchange, 307, &[("location", "/elsewhere")]);
    let again = h.sent();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].uri, "http://127.0.0.1:9/elsewhere");
    assert_eq!(header_of(&again[0]), Some("DPoP dpop-tok"));
    assert_eq!(again[0].body, first.body);
    let after = proof(&again[0], "POST", "http://127.0.0.1:9/elsewhere");
    assert_eq!(after["ath"], ath("dpop-tok"));
    assert_ne!(after["jti"], before["jti"], "a new proof");
}

#[test]
fn a_bearer_token_from_a_server_without_dpop_is_used_as_bearer_with_no_proofs() {
    let mut h = session(dpop_config());
    let sent = to_token_request(&mut h, "Bearer", json!({}));
    assert!(
        sent.headers.get("dpop").is_some(),
        "the token request is proved"
    );
    h.json(sent.exchange, 200, &token_body("plain", "Bearer"));
    let again = h.sent();
    assert_eq!(header_of(&again[0]), Some("Bearer plain"));
    assert!(again[0].headers.get("dpop").is_none());
}

#[test]
fn the_authorization_servers_nonce_challenge_is_answered_once_with_a_new_proof() {
    let mut h = session(dpop_config());
    let sent = to_token_request(&mut h, "DPoP", json!({}));
    let first = proof(&sent, "POST", TOKEN);
    assert!(first.get("nonce").is_none(), "no nonce before asked");
    let use_nonce = r#"{"error":"use_dpop_nonce","error_description":"a nonce, please"}"#;
    h.head(
        sent.exchange,
        400,
        &[
            ("content-type", "application/json"),
            ("dpop-nonce", "as-n1"),
        ],
    );
    h.body(sent.exchange, use_nonce);
    h.end(sent.exchange);
    let retry = h.sent().remove(0);
    assert_eq!(retry.uri.to_string(), TOKEN);
    let second = proof(&retry, "POST", TOKEN);
    assert_eq!(second["nonce"], "as-n1");
    assert_ne!(second["jti"], first["jti"]);
    // Asked again: not a loop. The flow fails, typed.
    h.head(
        retry.exchange,
        400,
        &[
            ("content-type", "application/json"),
            ("dpop-nonce", "as-n2"),
        ],
    );
    h.body(retry.exchange, use_nonce);
    h.end(retry.exchange);
    let e = closed(&h.events());
    assert!(
        matches!(auth_error(&e), AuthError::TokenRequest { error: Some(c), .. } if c == "use_dpop_nonce"),
        "{e:?}"
    );
    assert!(h.sent().is_empty());
}

/// The resource server starts asking for a nonce mid-session while calls are in flight: each
/// goes again with a proof that has it, no new token is asked for, and every call completes.
#[test]
fn the_resource_servers_nonce_challenge_mid_session_resends_the_calls_in_flight_with_it() {
    let mut h = session(dpop_config());
    dpop_ready(&mut h, "DPoP");
    let ids: Vec<_> = (0..4).map(|_| h.request("tools/call")).collect();
    let sent = h.sent();
    assert_eq!(sent.len(), 4);
    let challenge = format!(r#"DPoP error="use_dpop_nonce", resource_metadata="{PRM}""#);
    for s in &sent {
        h.head(
            s.exchange,
            401,
            &[
                ("www-authenticate", challenge.as_str()),
                ("dpop-nonce", "rs-n1"),
            ],
        );
        h.end(s.exchange);
    }
    let again = h.sent();
    assert_eq!(again.len(), 4, "each call once more: {again:?}");
    for s in &again {
        assert_ne!(s.uri.to_string(), TOKEN, "no new token");
        let claims = proof(s, "POST", "http://127.0.0.1:9/mcp");
        assert_eq!(claims["nonce"], "rs-n1");
        assert_eq!(claims["ath"], ath("dpop-tok"));
        let id = s.body["id"].as_u64().unwrap();
        h.json(s.exchange, 200, &response_line(id, r#"{"content":[]}"#));
    }
    let done = responses(&h.events());
    assert_eq!(done.len(), 4, "{done:?}");
    for (id, r) in &done {
        assert!(ids.contains(id));
        assert!(r.is_ok(), "{r:?}");
    }
    // Later requests keep the nonce.
    let id = h.request("tools/list");
    let sent = h.sent();
    assert_eq!(
        proof(post_of(&sent, id), "POST", "http://127.0.0.1:9/mcp")["nonce"],
        "rs-n1"
    );
}

#[test]
fn a_resource_server_that_wants_a_new_nonce_every_time_ends_at_the_attempt_limit() {
    let mut h = session(dpop_config());
    dpop_ready(&mut h, "DPoP");
    let id = h.request("tools/call");
    let mut x = post_of(&h.sent(), id).exchange;
    let challenge = format!(r#"DPoP error="use_dpop_nonce", resource_metadata="{PRM}""#);
    let mut result = None;
    for n in 0..10 {
        let nonce = format!("rs-{n}");
        h.head(
            x,
            401,
            &[
                ("www-authenticate", challenge.as_str()),
                ("dpop-nonce", nonce.as_str()),
            ],
        );
        h.end(x);
        let events = h.events();
        if let Some((_, r)) = responses(&events).into_iter().next() {
            result = Some(r);
            break;
        }
        x = h.sent().remove(0).exchange;
    }
    let r = result.expect("the call completes, bounded");
    assert!(
        matches!(&r, Err(RequestError::Auth(e)) if matches!(**e, AuthError::AttemptsExhausted { .. })),
        "{r:?}"
    );
}

#[test]
fn a_stored_dpop_token_is_restored_only_with_the_key_it_is_bound_to() {
    let mut h = session(dpop_config());
    dpop_ready(&mut h, "DPoP");
    let creds = h
        .session
        .credentials(h.now, Duration::from_secs(UNIX))
        .unwrap();
    // Without entropy to prove requests with, it is not restored (it would go unproved).
    let auth = Authorization::new(dpop_config())
        .at(Duration::from_secs(UNIX))
        .with_credentials(creds.clone(), Duration::from_secs(UNIX));
    let mut unproved = Harness::http_with(legacy().with_auth(auth));
    assert_eq!(header_of(&unproved.sent()[0]), None);
    // The same key: the token is used at once, proved.
    let auth = Authorization::new(dpop_config())
        .at(Duration::from_secs(UNIX))
        .with_entropy([5; 16])
        .with_credentials(creds.clone(), Duration::from_secs(UNIX));
    let mut same = Harness::http_with(legacy().with_auth(auth));
    let init = same.sent().remove(0);
    assert_eq!(header_of(&init), Some("DPoP dpop-tok"));
    assert!(init.headers.get("dpop").is_some());
    // Another key (a new process that generated its own): the token is worth nothing.
    let config = AuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-d").secret("s"))
        .grant(Grant::ClientCredentials)
        .dpop(Key::new(HashSigner("b3RoZXI")));
    let auth = Authorization::new(config)
        .at(Duration::from_secs(UNIX))
        .with_entropy([5; 16])
        .with_credentials(creds, Duration::from_secs(UNIX));
    let mut other = Harness::http_with(legacy().with_auth(auth));
    let init = other.sent().remove(0);
    assert_eq!(header_of(&init), None, "not presented with the wrong key");
}
