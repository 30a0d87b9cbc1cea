//! The OAuth mode, driven by a raw HTTP client playing both the MCP client and the browser:
//! discovery, registration, authorization (the 302 read by hand), the token endpoint, bearer
//! tokens on `/mcp`, refresh, step-up, other origins, migration and the misbehaviours.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::*;
use hyper::body::Incoming;
use hyper::Response;
use mcpwire_testserver::{
    AsOrigin, ClientAuth, OAuthConfig, PreRegistered, Redirect, RefreshTokens, TestServer,
};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// Parameters of an authorization request over the defaults (`None`: left out).
type Over<'a> = &'a [(&'a str, Option<&'a str>)];
/// Form parameters.
type Pairs<'a> = &'a [(&'a str, &'a str)];

const REDIRECT: &str = "http://127.0.0.1:1/callback";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn start(config: OAuthConfig) -> TestServer {
    TestServer::builder().oauth(config).start().await
}

fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The decoded query parameters of a URL.
fn query(url: &str) -> HashMap<String, String> {
    let unescape = |text: &str| {
        let bytes = text.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).expect("hex"));
                i += 3;
            } else {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
        String::from_utf8(out).expect("UTF-8")
    };
    let (_, query) = url.split_once('?').unwrap_or((url, ""));
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(name), unescape(value))
        })
        .collect()
}

async fn get_json(url: &str) -> Value {
    let response = send_url("GET", url, &[], b"").await;
    assert_eq!(response.status(), 200, "GET {url}");
    json_body(response).await
}

/// POST a JSON-RPC message to `/mcp` with this bearer token (and session).
async fn mcp(
    server: &TestServer,
    token: Option<&str>,
    session: Option<&str>,
    body: &Value,
) -> Response<Incoming> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    headers.extend(bearer.as_deref().map(|b| ("authorization", b)));
    headers.extend(session.map(|s| ("mcp-session-id", s)));
    send_url("POST", &server.url(), &headers, body.to_string().as_bytes()).await
}

/// `initialize` with this token: the session id (panics unless 200).
async fn init_with(server: &TestServer, token: &str) -> String {
    let response = mcp(server, Some(token), None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 200);
    header(&response, "mcp-session-id").expect("session id")
}

/// Register a client with AS `n` and this method: the registration response.
async fn register(server: &TestServer, n: usize, method: Option<&str>) -> Value {
    let mut meta = json!({
        "client_name": "raw-test",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "application_type": "native",
    });
    if let Some(method) = method {
        meta["token_endpoint_auth_method"] = json!(method);
    }
    let url = format!("{}/register", server.issuer(n));
    let headers = [("content-type", "application/json")];
    let response = send_url("POST", &url, &headers, meta.to_string().as_bytes()).await;
    assert_eq!(response.status(), 201);
    json_body(response).await
}

/// The URL of an authorization request to AS `n` with these parameters over the defaults.
fn authorization_url(server: &TestServer, n: usize, over: &[(&str, Option<&str>)]) -> String {
    let resource = server.url();
    let mut params: Vec<(&str, Option<&str>)> = vec![
        ("response_type", Some("code")),
        ("client_id", None),
        ("redirect_uri", Some(REDIRECT)),
        ("code_challenge", Some(CHALLENGE)),
        ("code_challenge_method", Some("S256")),
        ("state", Some("st-1")),
        ("resource", Some(&resource)),
        ("scope", Some("mcp:read")),
    ];
    for (name, value) in over {
        match params.iter_mut().find(|(n, _)| n == name) {
            Some(param) => param.1 = *value,
            None => params.push((name, *value)),
        }
    }
    let given: Vec<(&str, &str)> = params
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
    format!("{}/authorize?{}", server.issuer(n), form(&given))
}

/// GET an authorization URL as a headless browser: the redirect's `Location` (panics unless
/// 302).
async fn follow(url: &str) -> String {
    let response = send_url("GET", url, &[], b"").await;
    assert_eq!(response.status(), 302, "GET {url}");
    header(&response, "location").expect("Location")
}

/// POST a token request to AS `n`: the status and the JSON body.
async fn token(
    server: &TestServer,
    n: usize,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let basic = basic.map(|(id, secret)| {
        let pair = format!("{}:{}", escape(id), escape(secret));
        format!("Basic {}", STANDARD.encode(pair))
    });
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    headers.extend(basic.as_deref().map(|b| ("authorization", b)));
    let url = format!("{}/token", server.issuer(n));
    let response = send_url("POST", &url, &headers, form(pairs).as_bytes()).await;
    let status = response.status().as_u16();
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    (status, json_body(response).await)
}

/// Follow an authorization request of `client_id` at AS `n` for `scope`: the code.
async fn code_for(server: &TestServer, n: usize, client_id: &str, scope: &str) -> String {
    let over = [("client_id", Some(client_id)), ("scope", Some(scope))];
    let location = follow(&authorization_url(server, n, &over)).await;
    query(&location).remove("code").expect("a code")
}

/// Exchange a code at AS `n` as the public client `client_id`.
async fn exchange(
    server: &TestServer,
    n: usize,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    let resource = server.url();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", client_id),
        ("resource", &resource),
    ];
    token(server, n, &pairs, None).await
}

/// A refresh grant at AS `n` as the public client `client_id`.
async fn refresh(
    server: &TestServer,
    n: usize,
    client_id: &str,
    refresh_token: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
    ];
    pairs.extend(scope.map(|scope| ("scope", scope)));
    token(server, n, &pairs, None).await
}

/// Register a public client at AS `n`, authorize with `scope` and exchange the code: the
/// client id and the token response.
async fn authorized(server: &TestServer, n: usize, scope: &str) -> (String, Value) {
    let client = register(server, n, Some("none")).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let code = code_for(server, n, &client_id, scope).await;
    let (status, tokens) = exchange(server, n, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    (client_id, tokens)
}

fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().expect("access_token")
}

fn refresh_token(tokens: &Value) -> &str {
    tokens["refresh_token"].as_str().expect("refresh_token")
}

fn error_of(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("(none)"))
}

#[test]
fn the_pkce_constants_agree() {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    assert_eq!(challenge, CHALLENGE);
}

#[tokio::test]
async fn whole_flow_on_one_origin() {
    let server = start(OAuthConfig::new()).await;

    // 401 with the metadata's URL.
    let response = mcp(&server, None, None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 401);
    let challenge = header(&response, "www-authenticate").expect("a challenge");
    assert_eq!(
        challenge,
        format!(
            "Bearer resource_metadata=\"{}\"",
            server.resource_metadata_url()
        )
    );
    assert_eq!(
        server.resource_metadata_url(),
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            server.origin()
        )
    );

    // Protected resource metadata, then the AS's (path insertion).
    let prm = get_json(&server.resource_metadata_url()).await;
    assert_eq!(prm["resource"], server.url());
    assert_eq!(prm["authorization_servers"], json!([server.issuer(0)]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(server.issuer(0), format!("{}/as", server.origin()));
    let metadata_url = format!(
        "{}/.well-known/oauth-authorization-server/as",
        server.origin()
    );
    assert_eq!(server.metadata_url(0), metadata_url);
    let metadata = get_json(&metadata_url).await;
    let issuer = server.issuer(0);
    assert_eq!(metadata["issuer"], issuer);
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{issuer}/authorize")
    );
    assert_eq!(metadata["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(
        metadata["registration_endpoint"],
        format!("{issuer}/register")
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!(["mcp:read", "mcp:write"])
    );
    // The root well-known URLs are not served.
    for root in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
    ] {
        let url = format!("{}{root}", server.origin());
        assert_eq!(send_url("GET", &url, &[], b"").await.status(), 404);
    }

    // Registration of a public client: no secret.
    let client = register(&server, 0, Some("none")).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("as-client-"), "{client_id}");
    assert!(client.get("client_secret").is_none());
    assert_eq!(client["token_endpoint_auth_method"], "none");
    assert_eq!(client["redirect_uris"], json!([REDIRECT]));

    // Authorization: a 302 to the redirect URI with code, state and iss.
    let url = authorization_url(&server, 0, &[("client_id", Some(&client_id))]);
    let location = follow(&url).await;
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let params = query(&location);
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], issuer);
    let code = params["code"].clone();

    // A wrong verifier is refused, and uses the code up.
    let wrong = "x".repeat(43);
    let refused = exchange(&server, 0, &client_id, &code, &wrong).await;
    assert_eq!(error_of(&refused), (400, "invalid_grant"));
    let used = exchange(&server, 0, &client_id, &code, VERIFIER).await;
    assert_eq!(error_of(&used), (400, "invalid_grant"));

    // A new code with the right verifier.
    let code = query(&follow(&url).await)["code"].clone();
    let (status, tokens) = exchange(&server, 0, &client_id, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "mcp:read");
    let at = access(&tokens).to_owned();
    assert!(at.starts_with("at-"), "{at}");
    assert!(refresh_token(&tokens).starts_with("rt-"));

    // MCP with the token.
    let session = init_with(&server, &at).await;
    let answer = json_body(
        mcp(
            &server,
            Some(&at),
            Some(&session),
            &call(1, "echo", json!({"message": "hi"})),
        )
        .await,
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
    // Without the token, even with the session: 401.
    let response = mcp(
        &server,
        None,
        Some(&session),
        &request(2, "ping", json!({})),
    )
    .await;
    assert_eq!(response.status(), 401);
    // A token of another scheme is no bearer token.
    let headers = [("authorization", format!("Basic {at}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let body = initialize_request("2025-11-25").to_string();
    let response = send_url("POST", &server.url(), &headers, body.as_bytes()).await;
    assert_eq!(response.status(), 401);

    let stats = server.stats();
    assert_eq!(stats.registrations, 1);
    assert_eq!(stats.authorizations, 2);
    assert_eq!(stats.token_requests.authorization_code, 3);
    assert_eq!(stats.token_requests.total(), 3);
    assert_eq!(stats.refreshes, 0);
    assert_eq!(stats.unauthorized, 3);
    assert_eq!(stats.forbidden, 0);
    // Every request is recorded with its Authorization header.
    let records = server.requests();
    let mcp_auth: Vec<Option<&str>> = records
        .iter()
        .filter(|r| r.path == "/mcp")
        .map(|r| r.authorization.as_deref())
        .collect();
    let bearer = format!("Bearer {at}");
    let basic = format!("Basic {at}");
    assert_eq!(
        mcp_auth,
        [
            None,
            Some(bearer.as_str()),
            Some(bearer.as_str()),
            None,
            Some(basic.as_str())
        ]
    );
    assert!(records.iter().all(|r| r.listener == server.addr()));
    // The query of an authorization request and the form of a token request are kept.
    let authorization = records.iter().find(|r| r.path == "/as/authorize").unwrap();
    assert_eq!(
        authorization.param("code_challenge").as_deref(),
        Some(CHALLENGE)
    );
    assert_eq!(authorization.param("resource"), Some(server.url()));
    assert!(authorization.form.is_none());
    let exchange = records.iter().rfind(|r| r.path == "/as/token").unwrap();
    assert!(exchange.query.is_none());
    assert_eq!(exchange.param("code_verifier").as_deref(), Some(VERIFIER));
    assert_eq!(
        exchange.form_params()[0],
        ("grant_type".into(), "authorization_code".into())
    );
    assert!(exchange.body.is_none());
}

#[tokio::test]
async fn refresh_rotates_and_a_revoked_refresh_token_is_invalid_grant() {
    let server = start(OAuthConfig::new()).await;
    let (client, first) = authorized(&server, 0, "mcp:read mcp:write").await;
    let rt1 = refresh_token(&first);
    let (status, second) = refresh(&server, 0, &client, rt1, None).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = refresh_token(&second);
    assert_ne!(rt2, rt1);
    assert_ne!(access(&second), access(&first));
    assert_eq!(second["scope"], "mcp:read mcp:write");
    // Both access tokens work; the first refresh token is used up.
    init_with(&server, access(&first)).await;
    init_with(&server, access(&second)).await;
    let reused = refresh(&server, 0, &client, rt1, None).await;
    assert_eq!(error_of(&reused), (400, "invalid_grant"));
    // Another client cannot use it, nor a wider scope; a narrower one may be asked for.
    let other = register(&server, 0, Some("none")).await;
    let other = other["client_id"].as_str().unwrap();
    let stolen = refresh(&server, 0, other, rt2, None).await;
    assert_eq!(error_of(&stolen), (400, "invalid_grant"));
    let wider = refresh(&server, 0, &client, rt2, Some("mcp:read offline_access")).await;
    assert_eq!(error_of(&wider), (400, "invalid_scope"));
    let (status, third) = refresh(&server, 0, &client, rt2, Some("mcp:read")).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["scope"], "mcp:read");
    // Revoked: invalid_grant; the access tokens stay good.
    server.revoke_refresh_tokens();
    let revoked = refresh(&server, 0, &client, refresh_token(&third), None).await;
    assert_eq!(error_of(&revoked), (400, "invalid_grant"));
    init_with(&server, access(&third)).await;

    let stats = server.stats();
    assert_eq!(stats.token_requests.refresh_token, 6);
    assert_eq!(stats.token_requests.authorization_code, 1);
    assert_eq!(stats.refreshes, 2);
}

#[tokio::test]
async fn expired_access_tokens_get_401_invalid_token() {
    let config = OAuthConfig::new().access_token_lifetime(Duration::from_millis(300));
    let server = start(config).await;
    let (_, tokens) = authorized(&server, 0, "mcp:read").await;
    assert_eq!(tokens["expires_in"], 1); // rounded up
    let session = init_with(&server, access(&tokens)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let response = mcp(
        &server,
        Some(access(&tokens)),
        Some(&session),
        &request(1, "ping", json!({})),
    )
    .await;
    assert_eq!(response.status(), 401);
    let challenge = header(&response, "www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}\"",
            server.resource_metadata_url()
        )),
        "{challenge}"
    );
    assert_eq!(json_body(response).await["error"], "invalid_token");

    // expire_access_tokens ends those issued so far, at once.
    let server = start(OAuthConfig::new()).await;
    let (_, tokens) = authorized(&server, 0, "mcp:read").await;
    init_with(&server, access(&tokens)).await;
    server.expire_access_tokens();
    let response = mcp(
        &server,
        Some(access(&tokens)),
        None,
        &initialize_request("2025-11-25"),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(header(&response, "www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    // An unknown token likewise.
    let response = mcp(
        &server,
        Some("at-999"),
        None,
        &initialize_request("2025-11-25"),
    )
    .await;
    assert_eq!(response.status(), 401);
    // A refresh token is no access token.
    let rt = refresh_token(&tokens);
    let response = mcp(&server, Some(rt), None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(server.stats().unauthorized, 3);
}

#[tokio::test]
async fn step_up_answers_403_with_the_needed_scope() {
    let config = OAuthConfig::new()
        .scopes(&["mcp:read", "mcp:write", "mcp:admin"])
        .required_scopes(&["mcp:read"])
        .tool_scope("echo", "mcp:write");
    let server = start(config).await;
    let response = mcp(&server, None, None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate").unwrap(),
        format!(
            "Bearer scope=\"mcp:read\", resource_metadata=\"{}\"",
            server.resource_metadata_url()
        )
    );

    // A token without the required scope: 403 for everything.
    let (_, none) = authorized(&server, 0, "mcp:write").await;
    let response = mcp(
        &server,
        Some(access(&none)),
        None,
        &initialize_request("2025-11-25"),
    )
    .await;
    assert_eq!(response.status(), 403);
    let challenge = header(&response, "www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"mcp:read\""), "{challenge}");

    // mcp:read: everything but echo.
    let (client, read) = authorized(&server, 0, "mcp:read").await;
    let at = access(&read).to_owned();
    let session = init_with(&server, &at).await;
    let add = call(1, "add", json!({"a": 1, "b": 2}));
    let response = mcp(&server, Some(&at), Some(&session), &add).await;
    assert_eq!(response.status(), 200);
    let echo = call(2, "echo", json!({"message": "hi"}));
    let response = mcp(&server, Some(&at), Some(&session), &echo).await;
    assert_eq!(response.status(), 403);
    let challenge = header(&response, "www-authenticate").unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks \
             a needed scope\", scope=\"mcp:write\", resource_metadata=\"{}\"",
            server.resource_metadata_url()
        )
    );
    assert_eq!(json_body(response).await["error"], "insufficient_scope");

    // Stepped up: echo works.
    let code = code_for(&server, 0, &client, "mcp:read mcp:write").await;
    let (status, both) = exchange(&server, 0, &client, &code, VERIFIER).await;
    assert_eq!(status, 200, "{both}");
    let at = access(&both).to_owned();
    let response = mcp(&server, Some(&at), Some(&session), &echo).await;
    assert_eq!(response.status(), 200);

    // The tool's scope changed at run time.
    server.set_tool_scope("add", Some("mcp:admin"));
    let response = mcp(&server, Some(&at), Some(&session), &add).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "www-authenticate")
        .unwrap()
        .contains("scope=\"mcp:admin\""));
    server.set_tool_scope("add", None);
    assert_eq!(
        mcp(&server, Some(&at), Some(&session), &add).await.status(),
        200
    );
    // And the required ones.
    server.set_required_scopes(&["mcp:admin"]);
    let response = mcp(&server, Some(&at), Some(&session), &add).await;
    assert_eq!(response.status(), 403);
    server.set_required_scopes(&[]);
    assert_eq!(
        mcp(&server, Some(&at), Some(&session), &add).await.status(),
        200
    );

    let stats = server.stats();
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(stats.forbidden, 4);
}

#[tokio::test]
async fn authorization_server_on_another_origin_never_sees_the_token() {
    let server = start(OAuthConfig::new().origin(AsOrigin::Own)).await;
    let as_addr = server.as_addr(0);
    assert_ne!(as_addr, server.addr());
    assert_eq!(server.issuer(0), format!("http://{as_addr}/as"));
    let prm = get_json(&server.resource_metadata_url()).await;
    assert_eq!(prm["authorization_servers"], json!([server.issuer(0)]));
    let metadata = get_json(&server.metadata_url(0)).await;
    assert_eq!(metadata["issuer"], server.issuer(0));
    assert_eq!(
        metadata["token_endpoint"],
        format!("http://{as_addr}/as/token")
    );
    // The AS is not on the MCP origin, nor the MCP endpoint or its metadata on the AS's.
    let wrong = [
        format!(
            "{}/.well-known/oauth-authorization-server/as",
            server.origin()
        ),
        format!("{}/as/authorize", server.origin()),
        format!("http://{as_addr}/.well-known/oauth-protected-resource/mcp"),
    ];
    for url in wrong {
        assert_eq!(send_url("GET", &url, &[], b"").await.status(), 404, "{url}");
    }
    let body = initialize_request("2025-11-25").to_string();
    let headers = [("content-type", "application/json")];
    let url = format!("http://{as_addr}/mcp");
    let response = send_url("POST", &url, &headers, body.as_bytes()).await;
    assert_eq!(response.status(), 404);

    let (_, tokens) = authorized(&server, 0, "mcp:read").await;
    let session = init_with(&server, access(&tokens)).await;
    let ping = request(1, "ping", json!({}));
    let response = mcp(&server, Some(access(&tokens)), Some(&session), &ping).await;
    assert_eq!(response.status(), 200);

    let records = server.requests();
    let at_as: Vec<_> = records.iter().filter(|r| r.listener == as_addr).collect();
    let paths: Vec<&str> = at_as.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/.well-known/oauth-authorization-server/as",
            "/.well-known/oauth-protected-resource/mcp",
            "/mcp",
            "/as/register",
            "/as/authorize",
            "/as/token"
        ]
    );
    assert!(at_as.iter().all(|r| r.authorization.is_none()));
    assert!(at_as
        .iter()
        .all(|r| r.host.as_deref() == Some(&*as_addr.to_string())));
    let bearer = format!("Bearer {}", access(&tokens));
    let at_mcp: Vec<_> = records
        .iter()
        .filter(|r| r.listener == server.addr() && r.authorization.is_some())
        .collect();
    assert_eq!(at_mcp.len(), 2);
    assert!(at_mcp
        .iter()
        .all(|r| r.authorization.as_deref() == Some(&*bearer)));
}

#[tokio::test]
async fn migration_to_a_second_authorization_server() {
    let config = OAuthConfig::new().add_authorization_server(AsOrigin::Own);
    let server = start(config).await;
    assert_eq!(
        server.issuer(1),
        format!("http://{}/as2", server.as_addr(1))
    );
    assert_eq!(server.as_addr(0), server.addr());
    let (client0, tokens0) = authorized(&server, 0, "mcp:read").await;
    init_with(&server, access(&tokens0)).await;

    server.set_authorization_servers(&[1]);
    let prm = get_json(&server.resource_metadata_url()).await;
    assert_eq!(prm["authorization_servers"], json!([server.issuer(1)]));
    let response = mcp(
        &server,
        Some(access(&tokens0)),
        None,
        &initialize_request("2025-11-25"),
    )
    .await;
    assert_eq!(response.status(), 401);
    let challenge = header(&response, "www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(
        challenge.contains("authorization server has changed"),
        "{challenge}"
    );
    // The first AS's client is unknown to the second, and its refresh token useless there.
    let url = authorization_url(&server, 1, &[("client_id", Some(&client0))]);
    let response = send_url("GET", &url, &[], b"").await;
    assert_eq!(response.status(), 400);
    assert!(header(&response, "location").is_none());
    let foreign = refresh(&server, 1, &client0, refresh_token(&tokens0), None).await;
    assert_eq!(error_of(&foreign), (401, "invalid_client"));

    let metadata = get_json(&server.metadata_url(1)).await;
    assert_eq!(metadata["issuer"], server.issuer(1));
    let (client1, tokens1) = authorized(&server, 1, "mcp:read").await;
    assert!(client1.starts_with("as2-client-"), "{client1}");
    init_with(&server, access(&tokens1)).await;
    // Back to both: either token is good.
    server.set_authorization_servers(&[0, 1]);
    init_with(&server, access(&tokens0)).await;
    assert_eq!(server.stats().registrations, 2);
}

#[tokio::test]
async fn authorization_misbehaviours() {
    let server = start(OAuthConfig::new()).await;
    let client = register(&server, 0, Some("none")).await;
    let client_id = client["client_id"].as_str().unwrap();
    let url = authorization_url(&server, 0, &[("client_id", Some(client_id))]);

    server.set_redirect(Redirect::Deny);
    let params = query(&follow(&url).await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], server.issuer(0));
    assert!(!params.contains_key("code"));

    server.set_redirect(Redirect::WrongIss("https://evil.example.com".into()));
    let params = query(&follow(&url).await);
    assert_eq!(params["iss"], "https://evil.example.com");
    assert!(params.contains_key("code"));

    server.set_redirect(Redirect::NoIss);
    let params = query(&follow(&url).await);
    assert!(!params.contains_key("iss"));
    assert_eq!(params["state"], "st-1");
    // The code works whatever the iss said.
    let answer = exchange(&server, 0, client_id, &params["code"], VERIFIER).await;
    assert_eq!(answer.0, 200);

    server.set_redirect(Redirect::Code);
    assert_eq!(query(&follow(&url).await)["iss"], server.issuer(0));
    assert_eq!(server.stats().authorizations, 4);

    // Metadata misbehaviours, from the config.
    let config = OAuthConfig::new()
        .no_iss_advertised()
        .metadata_issuer("https://attacker.example.com")
        .redirect(Redirect::NoIss);
    let server = start(config).await;
    let metadata = get_json(&server.metadata_url(0)).await;
    assert!(metadata
        .get("authorization_response_iss_parameter_supported")
        .is_none());
    assert_eq!(metadata["issuer"], "https://attacker.example.com");
    assert_eq!(
        metadata["token_endpoint"],
        format!("{}/token", server.issuer(0))
    );
    let client = register(&server, 0, Some("none")).await;
    let url = authorization_url(&server, 0, &[("client_id", client["client_id"].as_str())]);
    assert!(!query(&follow(&url).await).contains_key("iss"));
}

#[tokio::test]
async fn bad_authorization_requests_are_refused() {
    let server = start(OAuthConfig::new()).await;
    let client = register(&server, 0, Some("none")).await;
    let id = client["client_id"].as_str().unwrap();

    // No redirect without a known client and a registered redirect URI.
    let unredirectable = [
        authorization_url(&server, 0, &[]),
        authorization_url(&server, 0, &[("client_id", Some("nobody"))]),
        authorization_url(
            &server,
            0,
            &[("client_id", Some(id)), ("redirect_uri", None)],
        ),
        authorization_url(
            &server,
            0,
            &[
                ("client_id", Some(id)),
                ("redirect_uri", Some("http://127.0.0.1:1/other")),
            ],
        ),
        authorization_url(&server, 0, &[("client_id", Some(id)), ("state", Some("a"))])
            + "&state=b",
    ];
    for url in unredirectable {
        let response = send_url("GET", &url, &[], b"").await;
        assert_eq!(response.status(), 400, "{url}");
        assert!(header(&response, "location").is_none());
    }

    // Redirected errors, with state and iss.
    let wrong_resource = format!("{}/", server.url());
    let cases: [(Over, &str); 9] = [
        (
            &[("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (&[("code_challenge", None)], "invalid_request"),
        (&[("code_challenge_method", None)], "invalid_request"),
        (
            &[("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (&[("code_challenge", Some("short"))], "invalid_request"),
        (&[("state", None)], "invalid_request"),
        (&[("resource", None)], "invalid_target"),
        (&[("resource", Some(&wrong_resource))], "invalid_target"),
        (
            &[("scope", Some("mcp:read offline_access"))],
            "invalid_scope",
        ),
    ];
    for (over, expected) in cases {
        let mut over = over.to_vec();
        over.push(("client_id", Some(id)));
        let url = authorization_url(&server, 0, &over);
        let params = query(&follow(&url).await);
        assert_eq!(params["error"], expected, "{url}");
        assert!(!params.contains_key("code"));
        assert_eq!(params["iss"], server.issuer(0));
        if !url.contains("state=") {
            assert!(!params.contains_key("state"));
        } else {
            assert_eq!(params["state"], "st-1");
        }
    }
    // Only GET.
    let url = authorization_url(&server, 0, &[("client_id", Some(id))]);
    let response = send_url("POST", &url, &[], b"").await;
    assert_eq!(response.status(), 405);

    // resource_optional: none is fine, a wrong one still is not.
    let server = start(OAuthConfig::new().resource_optional()).await;
    let client = register(&server, 0, Some("none")).await;
    let id = client["client_id"].as_str().unwrap();
    let url = authorization_url(&server, 0, &[("client_id", Some(id)), ("resource", None)]);
    assert!(query(&follow(&url).await).contains_key("code"));
    let over = [
        ("client_id", Some(id)),
        ("resource", Some("http://elsewhere/mcp")),
    ];
    let url = authorization_url(&server, 0, &over);
    assert_eq!(query(&follow(&url).await)["error"], "invalid_target");
}

/// How a token request authenticates the client.
#[derive(Debug)]
enum Auth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    Public(&'a str),
    Both(&'a str, &'a str),
    Nothing,
}

/// A token request to AS 0 with these parameters, authenticated so.
async fn token_as(server: &TestServer, pairs: &[(&str, &str)], auth: &Auth<'_>) -> (u16, Value) {
    let mut pairs = pairs.to_vec();
    let basic = match *auth {
        Auth::Basic(id, secret) => Some((id, secret)),
        Auth::Post(id, secret) => {
            pairs.extend([("client_id", id), ("client_secret", secret)]);
            None
        }
        Auth::Public(id) => {
            pairs.push(("client_id", id));
            None
        }
        Auth::Both(id, secret) => {
            pairs.push(("client_secret", secret));
            Some((id, secret))
        }
        Auth::Nothing => None,
    };
    token(server, 0, &pairs, basic).await
}

#[tokio::test]
async fn client_authentication_methods() {
    let server = start(OAuthConfig::new()).await;
    let resource = server.url();
    // client_secret_basic is RFC 7591's default.
    for method in [
        None,
        Some("client_secret_basic"),
        Some("client_secret_post"),
    ] {
        let client = register(&server, 0, method).await;
        let id = client["client_id"].as_str().unwrap();
        let secret = client["client_secret"].as_str().expect("a secret");
        let registered = method.unwrap_or("client_secret_basic");
        assert_eq!(client["token_endpoint_auth_method"], registered);
        assert_eq!(client["client_secret_expires_at"], 0);
        let code = code_for(&server, 0, id, "mcp:read").await;
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", &resource),
        ];
        let (right, wrong_method, bad_secret) = match registered {
            "client_secret_basic" => (
                Auth::Basic(id, secret),
                Auth::Post(id, secret),
                Auth::Basic(id, "nope"),
            ),
            _ => (
                Auth::Post(id, secret),
                Auth::Basic(id, secret),
                Auth::Post(id, "nope"),
            ),
        };
        // The wrong method, none, a public client's, a wrong secret, two methods at once:
        // invalid_client, and the code is still good.
        let wrong = [
            wrong_method,
            Auth::Nothing,
            Auth::Public(id),
            bad_secret,
            Auth::Both(id, secret),
        ];
        for auth in wrong {
            let answer = token_as(&server, &pairs, &auth).await;
            assert_eq!(error_of(&answer), (401, "invalid_client"), "{auth:?}");
        }
        let answer = token_as(&server, &pairs, &right).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
    }
    // A public client sending a secret (Basic) is refused too.
    let (client, tokens) = authorized(&server, 0, "mcp:read").await;
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token(&tokens)),
    ];
    let answer = token(&server, 0, &pairs, Some((&client, ""))).await;
    assert_eq!(error_of(&answer), (401, "invalid_client"));

    // Only the methods configured.
    let config = OAuthConfig::new().auth_methods(&[ClientAuth::ClientSecretPost]);
    let server = start(config).await;
    let metadata = get_json(&server.metadata_url(0)).await;
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post"])
    );
    let meta = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let url = format!("{}/register", server.issuer(0));
    let response = send_url("POST", &url, &[], meta.to_string().as_bytes()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json_body(response).await["error"],
        "invalid_client_metadata"
    );
}

#[tokio::test]
async fn token_endpoint_errors() {
    let server = start(OAuthConfig::new()).await;
    let client = register(&server, 0, Some("none")).await;
    let id = client["client_id"].as_str().unwrap();
    let resource = server.url();
    let code = code_for(&server, 0, id, "mcp:read").await;
    let cases: [(Pairs, (u16, &str)); 5] = [
        (&[("client_id", id)], (400, "invalid_request")),
        (
            &[("client_id", id), ("grant_type", "password")],
            (400, "unsupported_grant_type"),
        ),
        (
            &[("client_id", id), ("grant_type", "authorization_code")],
            (400, "invalid_request"),
        ),
        (
            &[
                ("client_id", id),
                ("grant_type", "authorization_code"),
                ("code", "code-999"),
            ],
            (400, "invalid_grant"),
        ),
        (
            &[
                ("client_id", id),
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-999"),
            ],
            (400, "invalid_grant"),
        ),
    ];
    for (pairs, expected) in cases {
        assert_eq!(
            error_of(&token(&server, 0, pairs, None).await),
            expected,
            "{pairs:?}"
        );
    }
    // Each of these uses the code up, so each gets a fresh one.
    let wrong_resource = format!("{resource}/");
    let variations: [(&str, Option<&str>, &str); 5] = [
        (
            "redirect_uri",
            Some("http://127.0.0.1:1/other"),
            "invalid_grant",
        ),
        ("redirect_uri", None, "invalid_grant"),
        ("code_verifier", None, "invalid_request"),
        ("resource", None, "invalid_target"),
        ("resource", Some(&wrong_resource), "invalid_target"),
    ];
    let mut code = code;
    for (name, value, expected) in variations {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", id),
            ("resource", &resource),
        ];
        pairs.retain(|(n, _)| *n != name);
        pairs.extend(value.map(|value| (name, value)));
        let answer = token(&server, 0, &pairs, None).await;
        assert_eq!(error_of(&answer), (400, expected), "{name}={value:?}");
        code = code_for(&server, 0, id, "mcp:read").await;
    }
    // A code of another client.
    let other = register(&server, 0, Some("none")).await;
    let other = other["client_id"].as_str().unwrap();
    let answer = exchange(&server, 0, other, &code, VERIFIER).await;
    assert_eq!(error_of(&answer), (400, "invalid_grant"));
    // A parameter twice.
    let url = format!("{}/token", server.issuer(0));
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let body = format!("grant_type=refresh_token&grant_type=refresh_token&client_id={id}");
    let response = send_url("POST", &url, &headers, body.as_bytes()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json_body(response).await["error"], "invalid_request");
    // Only POST.
    assert_eq!(send_url("GET", &url, &[], b"").await.status(), 405);
    assert_eq!(server.stats().token_requests.total(), 12);
    assert_eq!(server.stats().token_requests.other, 3);
}

#[tokio::test]
async fn registration_rules() {
    let server = start(OAuthConfig::new().require_application_type()).await;
    let url = format!("{}/register", server.issuer(0));
    let cases = [
        ("not json".to_owned(), "invalid_client_metadata"),
        (json!({}).to_string(), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": []}).to_string(),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["/relative"]}).to_string(),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://h/cb#f"]}).to_string(),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://h/caf\u{e9}"]}).to_string(),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT]}).to_string(),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "application_type": "native",
                   "grant_types": ["implicit"]})
            .to_string(),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "application_type": "native",
                   "token_endpoint_auth_method": "private_key_jwt"})
            .to_string(),
            "invalid_client_metadata",
        ),
    ];
    for (body, expected) in cases {
        let response = send_url("POST", &url, &[], body.as_bytes()).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(json_body(response).await["error"], expected, "{body}");
    }
    // A client without refresh_token in its grant_types gets no refresh token.
    let meta = json!({"redirect_uris": [REDIRECT], "application_type": "web",
                      "token_endpoint_auth_method": "none", "client_name": "x"});
    let response = send_url("POST", &url, &[], meta.to_string().as_bytes()).await;
    assert_eq!(response.status(), 201);
    let client = json_body(response).await;
    assert_eq!(client["grant_types"], json!(["authorization_code"]));
    assert_eq!(client["client_name"], "x");
    assert_eq!(client["application_type"], "web");
    let id = client["client_id"].as_str().unwrap();
    let code = code_for(&server, 0, id, "mcp:read").await;
    let (status, tokens) = exchange(&server, 0, id, &code, VERIFIER).await;
    assert_eq!(status, 200);
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(server.stats().registrations, 10);

    // No registration endpoint at all.
    let server = start(OAuthConfig::new().no_registration()).await;
    let metadata = get_json(&server.metadata_url(0)).await;
    assert!(metadata.get("registration_endpoint").is_none());
    let url = format!("{}/register", server.issuer(0));
    let body = json!({"redirect_uris": [REDIRECT]}).to_string();
    assert_eq!(
        send_url("POST", &url, &[], body.as_bytes()).await.status(),
        404
    );
}

#[tokio::test]
async fn refresh_tokens_with_offline_access_only() {
    let config = OAuthConfig::new()
        .offline_access()
        .refresh_tokens(RefreshTokens::WithOfflineAccess);
    let server = start(config).await;
    let metadata = get_json(&server.metadata_url(0)).await;
    assert_eq!(
        metadata["scopes_supported"],
        json!(["mcp:read", "mcp:write", "offline_access"])
    );
    let prm = get_json(&server.resource_metadata_url()).await;
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));
    let (_, without) = authorized(&server, 0, "mcp:read").await;
    assert!(without.get("refresh_token").is_none());
    let (_, with) = authorized(&server, 0, "mcp:read offline_access").await;
    assert_eq!(with["scope"], "mcp:read offline_access");
    assert!(with.get("refresh_token").is_some());

    let server = start(OAuthConfig::new().refresh_tokens(RefreshTokens::Never)).await;
    let (_, tokens) = authorized(&server, 0, "mcp:read").await;
    assert!(tokens.get("refresh_token").is_none());
}

#[tokio::test]
async fn pre_registered_client_with_basic_auth() {
    let config = OAuthConfig::new()
        .no_registration()
        .auth_methods(&[ClientAuth::ClientSecretBasic])
        .pre_registered(PreRegistered {
            server: 0,
            client_id: "pre-registered client".into(),
            client_secret: Some("pre:secret".into()),
            auth: ClientAuth::ClientSecretBasic,
            redirect_uris: vec![REDIRECT.into()],
            jwk: None,
        });
    let server = start(config).await;
    let id = "pre-registered client";
    let code = code_for(&server, 0, id, "mcp:read").await;
    let resource = server.url();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", &resource),
    ];
    // The id and secret are form-encoded inside the Basic credentials (RFC 6749 §2.3.1).
    let (status, tokens) = token(&server, 0, &pairs, Some((id, "pre:secret"))).await;
    assert_eq!(status, 200, "{tokens}");
    init_with(&server, access(&tokens)).await;
    let record = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/as/token")
        .expect("recorded");
    let expected = STANDARD.encode("pre-registered%20client:pre%3Asecret");
    assert_eq!(record.authorization, Some(format!("Basic {expected}")));
}

#[tokio::test]
async fn a_plain_server_records_another_origin() {
    let other = TestServer::start().await;
    assert_eq!(other.origin(), format!("http://{}", other.addr()));
    let url = format!("{}/token?x=1", other.origin());
    let headers = [("authorization", "Bearer at-1")];
    let response = send_url("POST", &url, &headers, b"grant_type=x").await;
    assert_eq!(response.status(), 404);
    let records = other.requests();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].path, "/token");
    assert_eq!(records[0].authorization.as_deref(), Some("Bearer at-1"));
    assert_eq!(records[0].listener, other.addr());
}

#[test]
fn oauth_on_its_own_thread_with_two_listeners() {
    let server = TestServer::builder()
        .oauth(OAuthConfig::new().origin(AsOrigin::Own))
        .start_in_thread();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (_, tokens) = authorized(&server, 0, "mcp:read").await;
        init_with(&server, access(&tokens)).await;
    });
    drop(server); // joins the thread, which ends both accept loops
}
