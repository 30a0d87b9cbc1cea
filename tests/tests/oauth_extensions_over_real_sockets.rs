//! The OAuth extensions end to end over real sockets, under tokio and smol, against the test
//! server's authorization server (which verifies every signature with `ring`): client
//! credentials with a `private_key_jwt` assertion, DPoP with both servers' nonce challenges
//! (the resource server's arriving mid-session while eight calls are in flight: every call
//! completes, no new token), and workload identity from a token file (an expired token is a
//! typed error, a rotated file works).

use std::sync::Arc;

use base64::Engine as _;
use mcpwire::auth::{
    assertion_file, Error as AuthError, Grant, Key, OAuth, OAuthConfig, PreRegistered, Signer,
    SigningKey, UserStep,
};
use mcpwire::runtime::Runtime;
use mcpwire::{Client, Error, SessionError, Target};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::{
    ClientAuth, OAuthConfig as ServerOAuth, PreRegistered as ServerClient, TestServer,
};
use serde_json::{json, Value};

on_both_runtimes! {
    client_credentials_with_a_private_key_jwt => private_key_jwt;
    a_client_assertion_signed_with_another_key_is_refused_typed => wrong_key;
    dpop_with_nonce_challenges_while_calls_are_in_flight => dpop_nonces;
    an_expired_workload_token_is_a_typed_error_and_a_rotated_one_works => workload;
}

const REDIRECT: &str = "http://127.0.0.1:1/callback";

fn start(config: ServerOAuth) -> TestServer {
    TestServer::builder().oauth(config).start_in_thread()
}

async fn connect(
    runtime: Arc<dyn Runtime>,
    server: &TestServer,
    config: OAuthConfig,
) -> Result<Client, Error> {
    Client::builder()
        .oauth(OAuth::new(config, UserStep::Headless))
        .connect_with(runtime, Target::http(server.url()))
        .await
}

fn public(key: &SigningKey) -> Value {
    Value::Object(key.public_jwk().expect("a public key"))
}

/// A server that knows `agent` by its public key.
fn server_knowing(key: &SigningKey) -> TestServer {
    start(
        ServerOAuth::new()
            .no_registration()
            .auth_methods(&[ClientAuth::PrivateKeyJwt])
            .pre_registered(ServerClient {
                server: 0,
                client_id: "agent".into(),
                client_secret: None,
                auth: ClientAuth::PrivateKeyJwt,
                redirect_uris: Vec::new(),
                jwk: Some(public(key)),
            }),
    )
}

async fn private_key_jwt(runtime: Arc<dyn Runtime>) {
    let key = SigningKey::generate().unwrap();
    let server = server_knowing(&key);
    let config = OAuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent").key(Key::new(key)))
        .grant(Grant::ClientCredentials);
    let c = connect(runtime, &server, config).await.expect("authorized");
    let echo = c
        .call_tool("echo", json!({"message": "m2m"}))
        .await
        .unwrap();
    assert!(!echo.is_error());
    let stats = server.stats();
    assert_eq!(
        stats.token_requests.other, 1,
        "one client credentials grant: {stats:?}"
    );
    assert_eq!(stats.authorizations, 0, "no user step");
    c.close().await;
}

async fn wrong_key(runtime: Arc<dyn Runtime>) {
    let registered = SigningKey::generate().unwrap();
    let server = server_knowing(&registered);
    let other = SigningKey::generate().unwrap();
    let config = OAuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent").key(Key::new(other)))
        .grant(Grant::ClientCredentials);
    let e = connect(runtime, &server, config).await.unwrap_err();
    match e.session() {
        Some(SessionError::Auth(a)) => assert!(
            matches!(&**a, AuthError::TokenRequest { status: 401, error: Some(c), .. } if c == "invalid_client"),
            "{a:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.stats().token_requests.other,
        1,
        "asked once, not again"
    );
}

async fn dpop_nonces(runtime: Arc<dyn Runtime>) {
    let server = start(
        ServerOAuth::new()
            .no_registration()
            .auth_methods(&[ClientAuth::ClientSecretBasic])
            .pre_registered(ServerClient {
                server: 0,
                client_id: "agent-d".into(),
                client_secret: Some("s3cret".into()),
                auth: ClientAuth::ClientSecretBasic,
                redirect_uris: Vec::new(),
                jwk: None,
            })
            .dpop()
            .dpop_nonce_at_token_endpoint("as-nonce-1"),
    );
    let config = OAuthConfig::new(REDIRECT)
        .pre_registered(PreRegistered::new("agent-d").secret("s3cret"))
        .grant(Grant::ClientCredentials)
        .dpop(Key::new(SigningKey::generate().unwrap()));
    let c = connect(runtime, &server, config).await.expect("authorized");
    c.call_tool("echo", json!({"message": "proved"}))
        .await
        .unwrap();
    let tokens = server.stats().token_requests.other;
    assert_eq!(tokens, 2, "the token request, then again with the nonce");
    // The resource server starts wanting a nonce; eight calls go out at once.
    server.require_dpop_nonce(Some("rs-nonce-1"));
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            Box::pin(async move {
                c.call_tool("echo", json!({"message": format!("call {i}")}))
                    .await
            })
        })
        .collect();
    let results: Vec<_> = mcpwire_tests::join_timed(calls)
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    for r in &results {
        assert!(r.as_ref().is_ok_and(|r| !r.is_error()), "{r:?}");
    }
    let stats = server.stats();
    assert!(stats.dpop_nonce_challenges >= 1, "{stats:?}");
    assert_eq!(
        stats.token_requests.other, tokens,
        "no new token for a nonce"
    );
    assert_eq!(
        stats.unauthorized, 1,
        "only the first, tokenless initialize: {stats:?}"
    );
    c.close().await;
}

/// A JWT signed by `key` (the workload platform) with these claims.
fn signed(key: &SigningKey, claims: Value) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", enc(&json!({"alg": "ES256"})), enc(&claims));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    )
}

fn unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn workload(runtime: Arc<dyn Runtime>) {
    let platform = SigningKey::generate().unwrap();
    let server = start(
        ServerOAuth::new()
            .no_registration()
            .workload_key(public(&platform)),
    );
    let issuer = format!("{}/as", server.url().trim_end_matches("/mcp"));
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("mcpwire-workload-{}-{run}", std::process::id()));
    let expired = signed(
        &platform,
        json!({"iss": "https://platform", "sub": "job-1", "aud": issuer, "exp": unix() - 60}),
    );
    std::fs::write(&path, &expired).unwrap();
    let config = || {
        OAuthConfig::new(REDIRECT).grant(Grant::JwtBearer {
            assertion: assertion_file(&path),
        })
    };
    let e = connect(runtime.clone(), &server, config())
        .await
        .unwrap_err();
    match e.session() {
        Some(SessionError::Auth(a)) => assert!(
            matches!(&**a, AuthError::AssertionRejected { error: Some(c), description: Some(d), .. }
                if c == "invalid_grant" && d.contains("expired")),
            "{a:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        !e.to_string().contains(&expired),
        "no token in the error: {e}"
    );
    assert_eq!(
        server.stats().token_requests.other,
        1,
        "not presented again"
    );
    // The platform rotates the file: the next client gets in.
    let fresh = signed(
        &platform,
        json!({"iss": "https://platform", "sub": "job-1", "aud": issuer, "exp": unix() + 300}),
    );
    std::fs::write(&path, &fresh).unwrap();
    let c = connect(runtime, &server, config())
        .await
        .expect("authorized");
    c.call_tool("echo", json!({"message": "workload"}))
        .await
        .unwrap();
    c.close().await;
    let _ = std::fs::remove_file(&path);
}
