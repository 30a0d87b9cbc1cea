//! Session recovery against a server no one here wrote: server-everything over Streamable
//! HTTP is restarted under the client (killed, and a new one started on the same port, which
//! knows none of the old sessions), under tokio and under smol. The call in flight at the
//! restart fails with a typed error, the client starts a new session once, and the next call
//! succeeds in it. (server-everything answers an unknown session id with 400 "No valid session
//! ID provided" rather than the specification's 404: the policy's row for that 400.)

use std::sync::Arc;
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::schema::ContentBlock;
use mcpwire::{Client, Error, RequestError, Target};
use mcpwire_tests::{npm, on_both_runtimes, sleep};
use serde_json::json;

on_both_runtimes! {
    a_restarted_server_everything_gets_a_new_session_and_the_next_call_succeeds => restarted;
}

fn text_of(content: &[ContentBlock]) -> String {
    let texts: Vec<_> = content.iter().filter_map(ContentBlock::as_text).collect();
    texts.join("\n")
}

/// A typed failure of a call the restart caught: the session it was sent in expired, or its
/// stream or connection was lost with the old process.
fn typed_loss(e: &Error) -> bool {
    matches!(
        e,
        Error::Request(
            RequestError::SessionExpired | RequestError::StreamLost | RequestError::Transport(_)
        )
    )
}

async fn restarted(runtime: Arc<dyn Runtime>) {
    let mut server = npm::ServerEverythingHttp::start();
    let client = Client::builder()
        .connect_with(runtime.clone(), Target::http(server.url.clone()))
        .await
        .expect("connect to server-everything");
    let before = client
        .call_tool("echo", json!({ "message": "before" }))
        .await
        .expect("a call before the restart");
    assert_eq!(text_of(&before.content), "Echo: before");
    // A call in flight at the restart: it would take 30 s.
    let mut long = Box::pin(client.call_tool(
        "trigger-long-running-operation",
        json!({ "duration": 30, "steps": 3 }),
    ));
    let early = futures_lite::future::or(async { Some(long.as_mut().await) }, async {
        sleep(&*runtime, Duration::from_millis(500)).await;
        None
    })
    .await;
    assert!(early.is_none(), "the long operation ended early: {early:?}");

    server.restart();
    // The old connections' ends reach the client.
    sleep(&*runtime, Duration::from_millis(300)).await;

    // The first call after the restart may be the one that finds the session gone (it fails,
    // typed, and is not sent again), or may find the new session already started.
    let mut failures = Vec::new();
    let mut after = None;
    for n in 0..3 {
        let message = format!("after {n}");
        match client
            .call_tool("echo", json!({ "message": message }))
            .await
        {
            Ok(r) => {
                after = Some((message, r));
                break;
            }
            Err(e) => {
                assert!(typed_loss(&e), "call {n} failed untyped: {e:?}");
                failures.push(e);
            }
        }
    }
    let (message, result) = after.unwrap_or_else(|| panic!("no call succeeded: {failures:?}"));
    assert_eq!(text_of(&result.content), format!("Echo: {message}"));
    assert!(failures.len() <= 2, "{failures:?}");
    assert_eq!(client.sessions_expired(), 1, "one new session");
    assert_eq!(client.session_error(), None);

    // The call in flight at the restart completed with a typed error, long before its 30 s.
    let long = long.await;
    eprintln!("after the restart: {failures:?} then {message:?} succeeded; in flight: {long:?}");
    match long {
        Err(e) => assert!(typed_loss(&e), "{e:?}"),
        Ok(r) => panic!("the call in flight at the restart succeeded: {r:?}"),
    }
    // The new session goes on.
    let again = client
        .call_tool("echo", json!({ "message": "again" }))
        .await
        .expect("a later call");
    assert_eq!(text_of(&again.content), "Echo: again");
    client.close().await;
}
