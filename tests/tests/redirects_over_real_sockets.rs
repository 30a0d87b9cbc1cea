//! The redirect matrix over real loopback sockets, under tokio and under smol: a 307 or 308 to
//! the same origin is followed with the same method and body; a 301, 302 or 303 is refused;
//! a 307 to another origin is refused and nothing (no `Authorization`) reaches that origin;
//! a loop ends at the policy's limit.

use std::sync::Arc;

use mcpwire::core::{RedirectError, RedirectRefusal};
use mcpwire::runtime::Runtime;
use mcpwire::{Client, Error, RequestError};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::{Fault, Match, Rule, TestServer, MOVED_PATH};
use serde_json::json;

on_both_runtimes! {
    a_307_to_the_same_origin_is_followed_with_the_same_body => same_origin_307;
    a_308_to_an_absolute_url_of_the_same_origin_is_followed => same_origin_308;
    a_301_302_or_303_is_refused_naming_the_location => other_statuses_refused;
    a_307_to_another_origin_is_refused_and_no_credential_reaches_it => other_origin_refused;
    a_redirect_loop_ends_at_the_limit => redirect_loop;
}

const SECRET: &str = "Bearer secret-token-42";

async fn connect(runtime: Arc<dyn Runtime>, server: &TestServer) -> Client {
    Client::builder()
        .header("Authorization", SECRET)
        .connect_with(runtime, server.url().as_str())
        .await
        .expect("connect")
}

fn redirect(status: u16, location: &str) -> Rule {
    Rule::once(
        Match::Tool("echo".into()),
        Fault::Redirect {
            status,
            location: Some(location.into()),
        },
    )
}

/// The POSTs of `tools/call` the server received, by path.
fn calls(server: &TestServer) -> Vec<(String, serde_json::Value, Option<String>)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| {
            let body = r.body?;
            (body["method"] == "tools/call").then_some((r.path, body, r.authorization))
        })
        .collect()
}

fn refused(result: Result<mcpwire::schema::CallToolResult, Error>) -> Arc<RedirectError> {
    match result {
        Err(Error::Request(RequestError::Redirect(e))) => e,
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

async fn followed(runtime: Arc<dyn Runtime>, status: u16, absolute: bool) {
    let server = TestServer::start_in_thread();
    let location = match absolute {
        true => format!("{}{MOVED_PATH}", server.origin()),
        false => MOVED_PATH.to_owned(),
    };
    server.script(redirect(status, &location));
    let client = connect(runtime, &server).await;
    let result = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .expect("the redirect is followed");
    assert!(format!("{result:?}").contains("hi"), "{result:?}");
    let calls = calls(&server);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, "/mcp");
    assert_eq!(calls[1].0, MOVED_PATH);
    assert_eq!(calls[0].1, calls[1].1, "the same body");
    // The same origin: the header goes with it.
    assert_eq!(calls[1].2.as_deref(), Some(SECRET));
    // Later calls go to the endpoint again (each redirect is followed for its request).
    client
        .call_tool("echo", json!({ "message": "again" }))
        .await
        .expect("a later call");
    assert_eq!(self::calls(&server)[2].0, "/mcp");
}

async fn same_origin_307(runtime: Arc<dyn Runtime>) {
    followed(runtime, 307, false).await;
}

async fn same_origin_308(runtime: Arc<dyn Runtime>) {
    followed(runtime, 308, true).await;
}

async fn other_statuses_refused(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    for status in [301, 302, 303] {
        server.script(redirect(status, &format!("{MOVED_PATH}?session=secret")));
        let e = refused(client.call_tool("echo", json!({ "message": "hi" })).await);
        assert_eq!(e.status.as_u16(), status);
        assert_eq!(e.reason, RedirectRefusal::Status);
        assert_eq!(e.location.as_deref(), Some("/moved/mcp?…"));
        assert!(!e.to_string().contains("secret"), "{e}");
    }
    assert!(
        calls(&server).iter().all(|(path, ..)| path == "/mcp"),
        "nothing was sent to the Location"
    );
    // Only those calls failed: the session goes on.
    client
        .call_tool("echo", json!({ "message": "after" }))
        .await
        .expect("the session goes on");
}

async fn other_origin_refused(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let other = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    for status in [307, 308] {
        server.script(redirect(status, &other.url()));
        let e = refused(client.call_tool("echo", json!({ "message": "hi" })).await);
        assert_eq!(e.reason, RedirectRefusal::OtherOrigin);
        assert_eq!(e.location.as_deref(), Some(other.url().as_str()));
    }
    assert_eq!(other.requests(), vec![], "nothing reached the other origin");
    // The server's own origin did get the credential.
    assert!(calls(&server)
        .iter()
        .all(|(.., auth)| auth.as_deref() == Some(SECRET)));
    client
        .call_tool("echo", json!({ "message": "after" }))
        .await
        .expect("the session goes on");
}

async fn redirect_loop(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Redirect {
            status: 307,
            location: Some("/mcp".into()),
        },
    ));
    let client = connect(runtime, &server).await;
    let e = refused(client.call_tool("echo", json!({ "message": "hi" })).await);
    assert_eq!(e.reason, RedirectRefusal::TooMany { limit: 5 });
    // The first POST and five redirects followed, then no more.
    assert_eq!(calls(&server).len(), 6);
}
