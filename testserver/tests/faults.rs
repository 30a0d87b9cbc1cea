//! Each scripted fault, as seen on the wire by a raw HTTP client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use serde_json::json;

fn echo(id: i64) -> serde_json::Value {
    call(id, "echo", json!({"message": "hi"}))
}

#[tokio::test]
async fn status_with_body_and_headers() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::Status {
        status: 503,
        body: r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"busy"}}"#.into(),
        headers: vec![("Retry-After".into(), "2".into())],
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let response = post(&server, Some(&s), &echo(1)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("2"));
    assert_eq!(json_body(response).await["error"]["message"], "busy");
    // `once`: the next call is answered normally.
    assert_eq!(post(&server, Some(&s), &echo(2)).await.status(), 200);

    let plain = Fault::Status {
        status: 500,
        body: "boom".into(),
        headers: vec![],
    };
    server.script(Rule::once(Match::Method("initialize".into()), plain));
    let response = post(&server, None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/plain")
    );
    assert_eq!(text(response).await, "boom");
}

#[tokio::test]
async fn accepted_to_a_request() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(Match::AnyPost, Fault::Accepted));
    let response = post(&server, Some(&s), &echo(1)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(text(response).await, "");
}

#[tokio::test]
async fn invalid_json_and_wrong_content_type() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Method("tools/call".into()),
        Fault::InvalidJson,
    ));
    server.script(Rule::once(
        Match::Method("tools/call".into()),
        Fault::WrongContentType,
    ));
    let response = post(&server, Some(&s), &echo(1)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    assert!(serde_json::from_str::<serde_json::Value>(&text(response).await).is_err());
    let response = post(&server, Some(&s), &echo(2)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/plain")
    );
}

#[tokio::test]
async fn close_connection_drops_without_answer() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::CloseConnection,
    ));
    let headers = [("mcp-session-id", s.as_str())];
    let body = echo(1);
    let result = tokio::time::timeout(TIMEOUT, send(&server, "POST", &headers, Some(&body), false));
    let error = result
        .await
        .expect("fails promptly")
        .expect_err("no answer");
    assert!(
        error.is_incomplete_message() || error.is_canceled(),
        "{error:?}"
    );
}

#[tokio::test]
async fn stall_never_answers() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(Match::Nth(2), Fault::Stall)); // POSTs 0 and 1 were the handshake
    let headers = [("mcp-session-id", s.as_str())];
    let body = echo(1);
    let stalled = send(&server, "POST", &headers, Some(&body), false);
    assert!(tokio::time::timeout(Duration::from_millis(300), stalled)
        .await
        .is_err());
    assert_eq!(post(&server, Some(&s), &echo(2)).await.status(), 200);
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::Delay(Duration::from_millis(200)),
    ));
    let started = Instant::now();
    let answer = json_body(post(&server, Some(&s), &echo(1)).await).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
}

#[tokio::test]
async fn hold_sse_until_released() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::always(Match::Tool("echo".into()), Fault::HoldSse));
    let mut events = Events::new(post(&server, Some(&s), &echo(1)).await);
    let note = events.next().await.expect("a notification first").json();
    assert_eq!(note["method"], "notifications/message");
    assert!(
        events.within(Duration::from_millis(200)).await.is_err(),
        "held"
    );
    assert_eq!(server.stats().open_streams, 1);
    server.release_held();
    let answer = events.next().await.expect("response after release").json();
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
    assert_eq!(events.next().await, None);

    // A stream held after the release stays held.
    let mut events = Events::new(post(&server, Some(&s), &echo(2)).await);
    events.next().await.expect("notification");
    assert!(
        events.within(Duration::from_millis(100)).await.is_err(),
        "held again"
    );
}

#[tokio::test]
async fn hold_sse_ends_when_the_client_goes_away() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(Match::Tool("echo".into()), Fault::HoldSse));
    let mut events = Events::new(post(&server, Some(&s), &echo(1)).await);
    events.next().await.expect("notification");
    assert_eq!(server.stats().open_streams, 1);
    drop(events);
    let deadline = Instant::now() + TIMEOUT;
    while server.stats().open_streams != 0 {
        assert!(
            Instant::now() < deadline,
            "the server noticed the client leave"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sse_end_with_event_id_is_resumable() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::SseEndWithoutResponse {
        event_id: Some("ev-1".into()),
        retry_ms: Some(50),
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let mut events = Events::new(post(&server, Some(&s), &echo(4)).await);
    let priming = events.next().await.expect("priming event");
    assert_eq!(
        priming,
        Event {
            id: Some("ev-1".into()),
            retry: Some(50),
            data: String::new()
        }
    );
    assert_eq!(events.next().await, None, "ends without the response");

    let unknown = get(&server, &s, &[("last-event-id", "ev-0")]).await;
    assert_eq!(unknown.status(), 400);
    let mut resumed = Events::new(get(&server, &s, &[("last-event-id", "ev-1")]).await);
    let answer = resumed.next().await.expect("the response");
    assert_eq!(answer.id.as_deref(), Some("ev-1-response"));
    assert_eq!(answer.json()["id"], 4);
    assert_eq!(answer.json()["result"]["content"][0]["text"], "hi");
    assert_eq!(resumed.next().await, None);
    // Replayed once only.
    assert_eq!(
        get(&server, &s, &[("last-event-id", "ev-1")])
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn sse_end_without_event_id() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::SseEndWithoutResponse {
        event_id: None,
        retry_ms: None,
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let mut events = Events::new(post(&server, Some(&s), &echo(1)).await);
    let only = events.next().await.expect("one notification");
    assert_eq!(only.id, None);
    assert_eq!(only.json()["method"], "notifications/message");
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn faults_on_get_and_times() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let not_allowed = Fault::Status {
        status: 405,
        body: String::new(),
        headers: vec![],
    };
    server.script(Rule::times(Match::Get, not_allowed, 2));
    assert_eq!(get(&server, &s, &[]).await.status(), 405);
    assert_eq!(get(&server, &s, &[]).await.status(), 405);
    assert_eq!(get(&server, &s, &[]).await.status(), 200);
    assert_eq!(server.stats().gets, 3);

    server.script(Rule::once(Match::Get, Fault::HoldSse));
    let mut held = Events::new(get(&server, &s, &[]).await);
    held.next().await.expect("notification");
    server.release_held();
    assert_eq!(held.next().await, None, "a released GET just ends");
}

#[tokio::test]
async fn faulted_initialize_still_creates_a_session() {
    let server = TestServer::start().await;
    server.script(Rule::once(
        Match::Method("initialize".into()),
        Fault::HoldSse,
    ));
    let response = post(&server, None, &initialize_request("2025-11-25")).await;
    let session = header(&response, "mcp-session-id").expect("session id");
    let mut events = Events::new(response);
    events.next().await.expect("notification");
    server.release_held();
    assert_eq!(
        events.next().await.expect("result").json()["result"]["protocolVersion"],
        "2025-11-25"
    );
    let ping = request(1, "ping", json!({}));
    assert_eq!(post(&server, Some(&session), &ping).await.status(), 200);
}
