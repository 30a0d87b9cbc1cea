//! Every failure the core reports reaches the call waiting for it, under tokio and under smol,
//! against the project's own fault-injecting server over real loopback sockets — and against
//! a stdio child that misbehaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::core::{ProtocolError, TransportErrorKind};
use mcpwire::runtime::Runtime;
use mcpwire::{CallOptions, Client, Target};
use mcpwire::{Error, RequestError, SessionError};
use mcpwire_tests::{join_timed, on_both_runtimes, sleep};
use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use serde_json::json;

on_both_runtimes! {
    a_503_fails_eight_held_calls_and_the_ninth_at_once_in_order => mission_503;
    a_500_on_initialize_fails_connect => initialize_500;
    a_202_to_a_request_is_a_protocol_error => accepted_to_request;
    an_sse_stream_ending_without_the_response_fails_the_call => sse_end_without_response;
    a_resumable_sse_stream_is_resumed_and_answers => sse_resumed;
    unparsable_json_is_a_protocol_error => invalid_json;
    connection_refused_fails_connect_with_a_transport_error => connection_refused;
    a_stalled_server_times_out_with_the_default_timeout => stalled_default_timeout;
    a_stalled_server_times_out_with_an_explicit_timeout => stalled_explicit_timeout;
    a_dropped_call_is_cancelled_on_the_server => dropped_call_cancels;
    a_cancellation_sent_just_before_close_still_reaches_the_server => cancel_then_close;
    a_stdio_child_that_exits_fails_every_outstanding_call => stdio_exit;
    a_stdio_line_that_is_not_json_rpc_is_skipped => stdio_garbage;
    close_sends_delete_and_later_calls_fail => close_deletes;
}

async fn connect(runtime: Arc<dyn Runtime>, server: &TestServer) -> Client {
    Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .expect("connect")
}

fn echo(
    client: &Client,
) -> impl std::future::Future<Output = Result<mcpwire::schema::CallToolResult, Error>> + Unpin + '_
{
    Box::pin(client.call_tool("echo", json!({ "message": "hi" })))
}

async fn mission_503(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder()
        .no_get_stream()
        .rule(Rule::times(Match::Tool("echo".into()), Fault::HoldSse, 8))
        .start_in_thread();
    let client = connect(runtime.clone(), &server).await;
    let calls: Vec<_> = (0..8).map(|_| echo(&client)).collect();
    // Start the eight calls and wait until the server holds all their streams.
    let held = async {
        while server.stats().open_streams < 8 {
            sleep(&*runtime, Duration::from_millis(5)).await;
        }
    };
    let mut started = std::pin::pin!(join_timed(calls));
    let waited = futures_lite::future::or(async { Err(started.as_mut().await) }, async {
        held.await;
        Ok(())
    })
    .await;
    assert!(waited.is_ok(), "a held call completed early: {waited:?}");
    server.script(Rule::once(
        Match::AnyPost,
        Fault::Status {
            status: 503,
            body: "overloaded".into(),
            headers: vec![],
        },
    ));
    let t503 = Instant::now();
    let (ninth, eight) = futures_lite::future::zip(echo(&client), started).await;
    let mut results: Vec<_> = eight;
    results.push((ninth, Instant::now()));
    let mut last = t503;
    for (i, (result, at)) in results.iter().enumerate() {
        match result {
            Err(Error::Request(RequestError::Session(SessionError::Http(e)))) => {
                assert_eq!(e.status, 503, "call {i}");
                assert_eq!(e.body, "overloaded");
            }
            other => panic!("call {i}: {other:?}"),
        }
        assert!(
            *at >= last || i == 8,
            "call {i} completed before an earlier one"
        );
        last = last.max(*at);
        let after = at.duration_since(t503);
        assert!(
            after < Duration::from_millis(100),
            "call {i} took {after:?} after the 503"
        );
    }
    assert!(matches!(
        client.session_error(),
        Some(SessionError::Http(_))
    ));
    assert!(
        matches!(client.ping().await, Err(e) if matches!(e.session(), Some(SessionError::Http(_)))),
        "later calls fail at once"
    );
}

async fn initialize_500(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder()
        .rule(Rule::once(
            Match::Method("initialize".into()),
            Fault::Status {
                status: 500,
                body: "boom".into(),
                headers: vec![],
            },
        ))
        .start_in_thread();
    let err = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap_err();
    let Error::Request(RequestError::Session(SessionError::Http(e))) = err else {
        panic!("{err:?}")
    };
    assert_eq!((e.status.as_u16(), e.body.as_str()), (500, "boom"));
}

async fn accepted_to_request(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::Accepted));
    assert_eq!(
        echo(&client).await.unwrap_err(),
        Error::Request(RequestError::Protocol(ProtocolError::NoResponse))
    );
    assert!(echo(&client).await.is_ok(), "only that call failed");
}

async fn sse_end_without_response(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::SseEndWithoutResponse {
            event_id: None,
            retry_ms: None,
        },
    ));
    assert_eq!(
        echo(&client).await.unwrap_err(),
        Error::Request(RequestError::StreamLost)
    );
    assert!(echo(&client).await.is_ok(), "only that call failed");
}

async fn sse_resumed(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    let fault = Fault::SseEndWithoutResponse {
        event_id: Some("ev-1".into()),
        retry_ms: Some(50),
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let gets = server.stats().gets;
    let result = echo(&client).await.expect("answered on the resumed stream");
    assert_eq!(result.content[0].as_text(), Some("hi"));
    assert!(server.stats().gets > gets, "resumed with a GET");
}

async fn invalid_json(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::InvalidJson));
    assert!(matches!(
        echo(&client).await,
        Err(Error::Request(RequestError::Protocol(
            ProtocolError::InvalidJson(_)
        )))
    ));
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::WrongContentType,
    ));
    assert!(matches!(
        echo(&client).await,
        Err(Error::Request(RequestError::Protocol(
            ProtocolError::UnexpectedContentType(_)
        )))
    ));
}

async fn connection_refused(runtime: Arc<dyn Runtime>) {
    // Bind and drop a listener: its port then refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Client::builder()
        .connect_with(runtime, format!("http://127.0.0.1:{port}/mcp").as_str())
        .await
        .unwrap_err();
    let Error::Request(RequestError::Session(SessionError::Transport(t))) = err else {
        panic!("{err:?}")
    };
    assert_eq!(t.kind, TransportErrorKind::Connect);
}

async fn stalled_default_timeout(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(Match::Tool("echo".into()), Fault::Stall));
    let t = Instant::now();
    let err = echo(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Timeout { .. })),
        "{err:?}"
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    wait_for_cancellation(&*runtime, &server).await;
}

async fn stalled_explicit_timeout(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime.clone(), &server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::Stall));
    let params = mcpwire::schema::CallToolParams::new("echo", Default::default());
    let options = CallOptions::new().timeout(Duration::from_millis(200));
    let err = client.call_tool_with(params, options).await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Timeout { .. })),
        "{err:?}"
    );
    wait_for_cancellation(&*runtime, &server).await;
    assert!(echo(&client).await.is_ok(), "the session goes on");
}

async fn wait_for_cancellation(runtime: &dyn Runtime, server: &TestServer) {
    for _ in 0..200 {
        if server.stats().cancellations > 0 {
            return;
        }
        sleep(runtime, Duration::from_millis(10)).await;
    }
    panic!("the server never got notifications/cancelled");
}

async fn cancel_then_close(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::Stall));
    let params = mcpwire::schema::CallToolParams::new("echo", Default::default());
    let options = CallOptions::new().timeout(Duration::from_millis(100));
    let err = client.call_tool_with(params, options).await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Timeout { .. })),
        "{err:?}"
    );
    // At once: the `notifications/cancelled` POST is still in flight.
    client.close().await;
    assert_eq!(
        server.stats().cancellations,
        1,
        "the cancellation was cut off by close"
    );
    assert_eq!(server.stats().deletes, 1);
}

async fn dropped_call_cancels(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime.clone(), &server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::Stall));
    let call = echo(&client);
    // Give up on the call after a moment: dropping its future cancels it.
    futures_lite::future::or(
        async { drop(call.await) },
        sleep(&*runtime, Duration::from_millis(100)),
    )
    .await;
    wait_for_cancellation(&*runtime, &server).await;
    assert!(echo(&client).await.is_ok());
}

fn fixture() -> Target {
    Target::stdio(env!("CARGO_BIN_EXE_stdio_fixture"), Vec::<String>::new())
}

async fn stdio_exit(runtime: Arc<dyn Runtime>) {
    let client = Client::builder()
        .connect_with(runtime, fixture())
        .await
        .unwrap();
    fn hang(
        c: &Client,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<mcpwire::schema::CallToolResult, Error>> + '_>,
    > {
        Box::pin(c.call_tool("hang", json!({})))
    }
    let calls = vec![hang(&client), hang(&client), hang(&client)];
    let (held, exit) =
        futures_lite::future::zip(join_timed(calls), client.call_tool("exit", json!({}))).await;
    for (r, _) in held {
        assert_eq!(
            r.unwrap_err(),
            Error::from(SessionError::ProcessExited { code: Some(3) })
        );
    }
    assert_eq!(
        exit.unwrap_err(),
        Error::from(SessionError::ProcessExited { code: Some(3) })
    );
}

async fn stdio_garbage(runtime: Arc<dyn Runtime>) {
    let client = Client::builder()
        .connect_with(runtime, fixture())
        .await
        .unwrap();
    let result = client.call_tool("garbage", json!({})).await.unwrap();
    assert_eq!(result.content[0].as_text(), Some("after garbage"));
    client.close().await;
    assert_eq!(
        client.ping().await.unwrap_err(),
        Error::from(SessionError::Closed)
    );
}

async fn close_deletes(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    client.close().await;
    assert_eq!(server.stats().deletes, 1);
    assert_eq!(
        echo(&client).await.unwrap_err(),
        Error::from(SessionError::Closed)
    );
}
