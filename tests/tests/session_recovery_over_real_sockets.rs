//! A server that forgets the session (it restarted: HTTP 404 to the old `Mcp-Session-Id`),
//! under tokio and under smol, against the project's test server over real loopback sockets:
//! the calls in flight fail once with `RequestError::SessionExpired`, nothing is sent again
//! (the server counts each call), and the next call succeeds in a new session.

use std::sync::Arc;
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::{Client, Error, Policy, RequestError, SessionError};
use mcpwire_tests::{on_both_runtimes, sleep};
use mcpwire_testserver::{Fault, Match, RequestRecord, Rule, TestServer};
use serde_json::{json, Value};

on_both_runtimes! {
    calls_in_flight_fail_once_and_the_next_call_goes_to_a_new_session => in_flight;
    calls_started_while_the_client_reinitializes_wait_and_succeed => started_meanwhile;
    with_recovery_off_the_session_fails_with_session_expired => recovery_off;
    a_server_that_forgets_every_session_fails_it_after_three_recoveries => bounded;
}

async fn connect(runtime: Arc<dyn Runtime>, server: &TestServer, policy: Policy) -> Client {
    Client::builder()
        .policy(policy)
        .connect_with(runtime, server.url().as_str())
        .await
        .expect("connect")
}

type Call<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<mcpwire::schema::CallToolResult, Error>> + 'a>,
>;

fn echo<'a>(client: &'a Client, message: &str) -> Call<'a> {
    Box::pin(client.call_tool("echo", json!({ "message": message })))
}

fn text(result: &mcpwire::schema::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn expired<T: std::fmt::Debug>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::Request(RequestError::SessionExpired)))
}

/// The message of each `echo` the server received, in order.
fn echoes(server: &TestServer) -> Vec<String> {
    let calls = server.tool_calls("echo");
    calls
        .iter()
        .map(|a| a["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The POSTs of `method` the server received.
fn posts_of(server: &TestServer, method: &str) -> Vec<RequestRecord> {
    let requests = server.requests().into_iter().filter(|r| r.method == "POST");
    requests
        .filter(|r| r.body.as_ref().and_then(|b| b["method"].as_str()) == Some(method))
        .collect()
}

/// The session id the `echo` of `message` was sent in.
fn session_of_echo(server: &TestServer, message: &str) -> Option<String> {
    let calls = posts_of(server, "tools/call");
    let call = calls.iter().find(|r| {
        r.body
            .as_ref()
            .map(|b| &b["params"]["arguments"]["message"])
            == Some(&Value::from(message))
    });
    call.and_then(|r| r.session_id.clone())
}

/// Polls `calls` until the server has received `n` echoes (they are in flight), then returns
/// them still pending.
async fn until_received<'a>(
    runtime: &dyn Runtime,
    server: &TestServer,
    n: usize,
    calls: Vec<Call<'a>>,
) -> Vec<Call<'a>> {
    let mut calls = calls;
    for _ in 0..2000 {
        if echoes(server).len() >= n {
            return calls;
        }
        for call in &mut calls {
            let polled = futures_lite::future::poll_once(call.as_mut()).await;
            assert!(polled.is_none(), "a held call completed early: {polled:?}");
        }
        sleep(runtime, Duration::from_millis(5)).await;
    }
    panic!("the server did not receive {n} calls");
}

async fn in_flight(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder()
        .rule(Rule::times(Match::Tool("echo".into()), Fault::HoldSse, 2))
        .start_in_thread();
    let client = connect(runtime.clone(), &server, Policy::default()).await;
    let held = until_received(
        &*runtime,
        &server,
        2,
        vec![echo(&client, "a"), echo(&client, "b")],
    )
    .await;
    // The server restarts: it knows no session any more.
    assert_eq!(server.forget_sessions(), 1);
    let c = echo(&client, "c").await;
    assert!(expired(&c), "{c:?}");
    for call in held {
        let result = call.await;
        assert!(expired(&result), "{result:?}");
    }
    assert_eq!(client.sessions_expired(), 1);
    assert_eq!(client.session_error(), None);
    let d = echo(&client, "d").await.expect("the next call succeeds");
    assert_eq!(text(&d), "d");
    // Each call arrived once: nothing was sent again. (The two held calls went on two
    // connections at once: either may arrive first.)
    let mut arrived = echoes(&server);
    arrived[..2].sort();
    assert_eq!(arrived, ["a", "b", "c", "d"]);
    // A new session: a second initialize, without the old id; the next call carries the new.
    let initializes = posts_of(&server, "initialize");
    assert_eq!(initializes.len(), 2, "{initializes:?}");
    assert_eq!(initializes[1].session_id, None);
    let old = session_of_echo(&server, "a").expect("a session id");
    assert_eq!(session_of_echo(&server, "c").as_ref(), Some(&old));
    let new = session_of_echo(&server, "d").expect("a session id");
    assert_ne!(new, old);
    // The GET stream was opened again, in the new session.
    let gets = server.requests().into_iter().filter(|r| r.method == "GET");
    assert!(
        gets.into_iter()
            .any(|g| g.session_id.as_ref() == Some(&new)),
        "no GET stream in the new session"
    );
    client.close().await;
}

async fn started_meanwhile(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = connect(runtime.clone(), &server, Policy::default()).await;
    echo(&client, "a").await.expect("the first call");
    // The new session's handshake takes a while.
    server.script(Rule::once(
        Match::Method("initialize".into()),
        Fault::Delay(Duration::from_millis(300)),
    ));
    server.forget_sessions();
    let b = echo(&client, "b").await;
    assert!(expired(&b), "{b:?}");
    // Started while the client re-initializes: they wait for it, and succeed.
    let (c, d) = futures_lite::future::zip(echo(&client, "c"), echo(&client, "d")).await;
    assert_eq!(text(&c.expect("c")), "c");
    assert_eq!(text(&d.expect("d")), "d");
    // c and d wait together and then go at once, on two connections: either may arrive
    // first. Each arrived once.
    let mut arrived = echoes(&server);
    arrived[2..].sort();
    assert_eq!(arrived, ["a", "b", "c", "d"]);
    assert_eq!(posts_of(&server, "initialize").len(), 2);
    let new = session_of_echo(&server, "c");
    assert!(new.is_some());
    assert_ne!(new, session_of_echo(&server, "a"));
    assert_eq!(new, session_of_echo(&server, "d"));
    client.close().await;
}

async fn recovery_off(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder()
        .rule(Rule::once(Match::Tool("echo".into()), Fault::HoldSse))
        .start_in_thread();
    let policy = Policy::default().with_recover_expired_sessions(false);
    let client = connect(runtime.clone(), &server, policy).await;
    let held = until_received(&*runtime, &server, 1, vec![echo(&client, "a")]).await;
    server.forget_sessions();
    let b = echo(&client, "b").await;
    let session_expired = |r: &Result<_, Error>| {
        matches!(
            r,
            Err(Error::Request(RequestError::Session(
                SessionError::SessionExpired
            )))
        )
    };
    assert!(session_expired(&b), "{b:?}");
    for call in held {
        let result = call.await;
        assert!(session_expired(&result), "{result:?}");
    }
    assert_eq!(client.session_error(), Some(SessionError::SessionExpired));
    assert!(session_expired(&echo(&client, "c").await));
    assert_eq!(client.sessions_expired(), 0);
    assert_eq!(posts_of(&server, "initialize").len(), 1);
    assert_eq!(echoes(&server), ["a", "b"]);
}

async fn bounded(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = connect(runtime.clone(), &server, Policy::default()).await;
    // Every session is forgotten at once: each call is answered 404.
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 404,
            body: r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#
                .into(),
            headers: vec![],
        },
    ));
    for n in 1..=3 {
        let result = echo(&client, &n.to_string()).await;
        assert!(expired(&result), "call {n}: {result:?}");
        assert_eq!(client.sessions_expired(), n);
    }
    let fourth = echo(&client, "4").await;
    assert!(
        matches!(
            fourth,
            Err(Error::Request(RequestError::Session(
                SessionError::SessionExpired
            )))
        ),
        "{fourth:?}"
    );
    assert_eq!(client.session_error(), Some(SessionError::SessionExpired));
    // The first session and three new ones; each call sent once.
    assert_eq!(posts_of(&server, "initialize").len(), 4);
    assert_eq!(echoes(&server), ["1", "2", "3", "4"]);
}
