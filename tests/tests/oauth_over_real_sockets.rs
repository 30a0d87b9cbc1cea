//! OAuth 2.1 end to end over real sockets, under tokio and smol, against the test server's
//! protected `/mcp` and its authorization servers: the whole flow with a headless user step,
//! credentials kept and reused, a refresh after expiry while 8 calls are in flight (one
//! refresh, all 8 succeed), step-up on `insufficient_scope`, a revoked refresh token (a
//! typed error, nothing hangs), and no request to another origin ever carrying the token.

use std::sync::Arc;

use mcpwire::auth::{MemoryStore, OAuth, OAuthConfig, TokenStore, UserStep};
use mcpwire::runtime::Runtime;
use mcpwire::{Client, RequestError, Target};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::{AsOrigin, OAuthConfig as ServerOAuth, TestServer};
use serde_json::json;

on_both_runtimes! {
    the_whole_flow_then_the_stored_token => whole_flow;
    eight_calls_in_flight_share_one_refresh => one_refresh_for_eight;
    step_up_on_insufficient_scope => step_up;
    a_revoked_refresh_token_is_a_typed_error => revoked_refresh;
    a_refresh_refused_on_a_challenge_authorizes_afresh => revoked_on_a_challenge;
    the_token_never_goes_to_another_origin => no_token_elsewhere;
}

const REDIRECT: &str = "http://127.0.0.1:1/callback";

fn oauth(store: Arc<dyn TokenStore>) -> OAuth {
    OAuth::new(OAuthConfig::new(REDIRECT), UserStep::Headless).store(store)
}

/// The test server with OAuth, on its own thread (it runs on tokio whatever the client's
/// runtime).
fn start(config: ServerOAuth) -> TestServer {
    TestServer::builder().oauth(config).start_in_thread()
}

async fn client(
    runtime: Arc<dyn Runtime>,
    server: &TestServer,
    store: Arc<dyn TokenStore>,
) -> Client {
    Client::builder()
        .oauth(oauth(store))
        .connect_with(runtime, Target::http(server.url()))
        .await
        .expect("connect, authorizing on the way")
}

async fn whole_flow(runtime: Arc<dyn Runtime>) {
    let server = start(ServerOAuth::new());
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let c = client(runtime.clone(), &server, store.clone()).await;
    let echo = c
        .call_tool("echo", json!({"message": "authorized"}))
        .await
        .unwrap();
    assert!(!echo.is_error());
    let stats = server.stats();
    assert_eq!(stats.registrations, 1, "{stats:?}");
    assert_eq!(stats.authorizations, 1);
    assert_eq!(stats.token_requests.authorization_code, 1);
    c.close().await;
    assert!(
        store.load(&server.url()).is_some(),
        "the credentials were kept"
    );

    // A second client finds the token in the store: no new authorization.
    let c = client(runtime, &server, store).await;
    c.call_tool("echo", json!({"message": "again"}))
        .await
        .unwrap();
    let stats = server.stats();
    assert_eq!(stats.authorizations, 1, "{stats:?}");
    assert_eq!(stats.registrations, 1);
    c.close().await;
}

async fn one_refresh_for_eight(runtime: Arc<dyn Runtime>) {
    let server = start(ServerOAuth::new());
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let c = client(runtime.clone(), &server, store).await;
    c.call_tool("echo", json!({"message": "first"}))
        .await
        .unwrap();
    server.expire_access_tokens();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            Box::pin(async move {
                c.call_tool("echo", json!({"message": format!("call {i}")}))
                    .await
            })
        })
        .collect();
    let results = futures_join(calls).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let stats = server.stats();
    assert_eq!(
        stats.token_requests.refresh_token, 1,
        "one refresh for all: {stats:?}"
    );
    assert_eq!(stats.authorizations, 1, "no new user step");
    c.close().await;
}

/// Polls every future to completion (runtime-neutral).
async fn futures_join<F: std::future::Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    mcpwire_tests::join_timed(futures)
        .await
        .into_iter()
        .map(|(o, _)| o)
        .collect()
}

async fn step_up(runtime: Arc<dyn Runtime>) {
    let config = ServerOAuth::new()
        .scopes(&["mcp:read", "mcp:write"])
        .required_scopes(&["mcp:read"])
        .tool_scope("echo", "mcp:write");
    let server = start(config);
    let c = client(runtime, &server, Arc::new(MemoryStore::default())).await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    let echo = c
        .call_tool("echo", json!({"message": "needs write"}))
        .await
        .unwrap();
    assert!(!echo.is_error());
    let stats = server.stats();
    assert!(stats.forbidden >= 1, "the 403 came: {stats:?}");
    assert_eq!(
        stats.authorizations, 2,
        "one more authorization, for the step-up"
    );
    let authorize = server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/authorize"))
        .unwrap();
    let scope = authorize.param("scope").unwrap_or_default();
    assert!(scope.contains("mcp:write"), "{scope}");
    c.close().await;
}

async fn revoked_refresh(runtime: Arc<dyn Runtime>) {
    // Tokens that expire within the client's refresh skew: every call refreshes first.
    let config = ServerOAuth::new().access_token_lifetime(std::time::Duration::from_secs(1));
    let server = start(config);
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let c = client(runtime.clone(), &server, store).await;
    c.call_tool("echo", json!({"message": "first"}))
        .await
        .unwrap();
    c.call_tool("echo", json!({"message": "refreshed"}))
        .await
        .unwrap();
    assert!(server.stats().token_requests.refresh_token >= 1);
    server.revoke_refresh_tokens();
    let e = c
        .call_tool("echo", json!({"message": "after revocation"}))
        .await
        .unwrap_err();
    match &e {
        mcpwire::Error::Request(RequestError::Auth(a)) => assert!(
            matches!(**a, mcpwire::core::auth::Error::RefreshTokenRevoked { .. }),
            "{a:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        !e.to_string().contains("test-"),
        "no token in the error: {e}"
    );
    // The tokens are forgotten: the next call meets a 401 and authorizes afresh.
    c.call_tool("echo", json!({"message": "authorized again"}))
        .await
        .unwrap();
    assert_eq!(server.stats().authorizations, 2);
    c.close().await;
}

async fn revoked_on_a_challenge(runtime: Arc<dyn Runtime>) {
    let server = start(ServerOAuth::new());
    let c = client(runtime, &server, Arc::new(MemoryStore::default())).await;
    c.call_tool("echo", json!({"message": "first"}))
        .await
        .unwrap();
    server.expire_access_tokens();
    server.revoke_refresh_tokens();
    // The 401's refresh is refused: the flow authorizes afresh.
    c.call_tool("echo", json!({"message": "again"}))
        .await
        .unwrap();
    let stats = server.stats();
    assert_eq!(stats.authorizations, 2, "{stats:?}");
    c.close().await;
}

async fn no_token_elsewhere(runtime: Arc<dyn Runtime>) {
    let config = ServerOAuth::new().origin(AsOrigin::Own);
    let server = start(config);
    let c = client(runtime, &server, Arc::new(MemoryStore::default())).await;
    c.call_tool("echo", json!({"message": "hi"})).await.unwrap();
    c.close().await;
    let requests = server.requests();
    let mcp = server.addr();
    let mut with_bearer_elsewhere = Vec::new();
    let mut bearer_on_mcp = 0;
    for r in &requests {
        let bearer = r
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer "));
        if r.path.starts_with("/mcp") && r.listener == mcp {
            bearer_on_mcp += usize::from(bearer);
        } else if bearer {
            with_bearer_elsewhere.push(format!("{} {} on {}", r.method, r.path, r.listener));
        }
    }
    assert!(bearer_on_mcp > 0, "the token went to the MCP server");
    assert!(
        with_bearer_elsewhere.is_empty(),
        "the token went elsewhere: {with_bearer_elsewhere:?}"
    );
}
