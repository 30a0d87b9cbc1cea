//! OAuth with no user from the command line, against the test server's authorization server:
//! `--client-id` with `--client-secret-env` (the secret from the environment, never argv) and
//! `--dpop`; `--client-key` (private_key_jwt); `--workload-token` (an expired token is a
//! typed failure that never shows the token).

mod support;

use std::time::Duration;

use base64::Engine as _;
use mcpwire::auth::{Signer, SigningKey};
use mcpwire_testserver::{ClientAuth, OAuthConfig, PreRegistered, TestServer};
use serde_json::{json, Value};
use support::{mcpwire, run, Run};

fn mcpwire_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = mcpwire();
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    run(command, Duration::from_secs(60))
}

fn client(id: &str, auth: ClientAuth, secret: Option<&str>, jwk: Option<Value>) -> PreRegistered {
    PreRegistered {
        server: 0,
        client_id: id.into(),
        client_secret: secret.map(str::to_owned),
        auth,
        redirect_uris: Vec::new(),
        jwk,
    }
}

#[test]
fn a_client_secret_from_the_environment_and_dpop() {
    let server = TestServer::builder()
        .oauth(
            OAuthConfig::new()
                .no_registration()
                .auth_methods(&[ClientAuth::ClientSecretBasic])
                .pre_registered(client(
                    "cli-agent",
                    ClientAuth::ClientSecretBasic,
                    Some("hush"),
                    None,
                ))
                .dpop(),
        )
        .start_in_thread();
    let url = server.url();
    let args = [
        "tools",
        url.as_str(),
        "--client-id",
        "cli-agent",
        "--client-secret-env",
        "AGENT_SECRET",
        "--dpop",
    ];
    let run = mcpwire_with(&args, &[("AGENT_SECRET", "hush")]);
    run.expect_code(0);
    assert!(run.stdout.contains("echo"), "{}", run.stdout);
    assert_eq!(server.stats().token_requests.other, 1);
    // Without the variable: a usage error naming it, and nothing sent.
    let run = mcpwire_with(&args, &[]);
    run.expect_code(64);
    assert!(run.stderr.contains("AGENT_SECRET"), "{}", run.stderr);
}

#[test]
fn a_client_key_signs_the_assertion() {
    // A PKCS#8 key file, as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
    // writes one: made here with ring.
    let rng = ring::rand::SystemRandom::new();
    let der = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    );
    let key = SigningKey::from_pem(&pem, "ES256").unwrap();
    let jwk = Value::Object(key.public_jwk().unwrap());
    let server = TestServer::builder()
        .oauth(
            OAuthConfig::new()
                .no_registration()
                .auth_methods(&[ClientAuth::PrivateKeyJwt])
                .pre_registered(client("keyed", ClientAuth::PrivateKeyJwt, None, Some(jwk))),
        )
        .start_in_thread();
    let path = std::env::temp_dir().join(format!("mcpwire-cli-key-{}.pem", std::process::id()));
    std::fs::write(&path, &pem).unwrap();
    let url = server.url();
    let run = mcpwire_with(
        &[
            "call",
            "echo",
            "message=keyed",
            url.as_str(),
            "--client-id",
            "keyed",
            "--client-key",
            path.to_str().unwrap(),
        ],
        &[],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("keyed"), "{}", run.stdout);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn an_expired_workload_token_fails_typed_without_showing_it() {
    let platform = SigningKey::generate().unwrap();
    let server = TestServer::builder()
        .oauth(
            OAuthConfig::new()
                .no_registration()
                .workload_key(Value::Object(platform.public_jwk().unwrap())),
        )
        .start_in_thread();
    let url = server.url();
    let issuer = format!("{}/as", url.trim_end_matches("/mcp"));
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!(
        "{}.{}",
        enc(&json!({"alg": "ES256"})),
        enc(&json!({"sub": "job", "aud": issuer, "exp": 1_000_000_000u64}))
    );
    let signature = platform.sign(input.as_bytes()).unwrap();
    let token = format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    );
    let path = std::env::temp_dir().join(format!("mcpwire-cli-wif-{}", std::process::id()));
    std::fs::write(&path, &token).unwrap();
    let run = mcpwire_with(
        &[
            "tools",
            url.as_str(),
            "--workload-token",
            path.to_str().unwrap(),
        ],
        &[],
    );
    run.expect_code(3);
    assert!(
        run.stderr.contains("refused the assertion"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("invalid_grant"), "{}", run.stderr);
    assert!(!run.stderr.contains(&token) && !run.stdout.contains(&token));
    let _ = std::fs::remove_file(&path);
}
