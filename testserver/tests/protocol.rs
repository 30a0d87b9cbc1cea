//! Normal behaviour: handshake, sessions, the catalogue, and the streaming tools' SSE framing.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use mcpwire_testserver::TestServer;
use serde_json::{json, Value};

#[tokio::test]
async fn handshake_and_paginated_tools_list() {
    let server = TestServer::start().await;
    let response = post(&server, None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 200);
    let session = header(&response, "mcp-session-id").expect("session id");
    assert!(session.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let init = json_body(response).await;
    assert_eq!(init["id"], 0);
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    let capabilities = &init["result"]["capabilities"];
    for capability in ["tools", "resources", "prompts", "logging"] {
        assert!(capabilities.get(capability).is_some(), "{capability}");
    }
    assert_eq!(init["result"]["serverInfo"]["name"], "mcpwire-testserver");

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(&server, Some(&session), &initialized).await;
    assert_eq!(response.status(), 202);
    assert_eq!(text(response).await, "");

    let page1 = json_body(
        post(
            &server,
            Some(&session),
            &request(1, "tools/list", json!({})),
        )
        .await,
    )
    .await;
    let cursor = page1["result"]["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let page2 = json_body(
        post(
            &server,
            Some(&session),
            &request(2, "tools/list", json!({"cursor": cursor})),
        )
        .await,
    )
    .await;
    assert!(page2["result"].get("nextCursor").is_none());
    let names: Vec<Value> = [&page1, &page2]
        .iter()
        .flat_map(|page| {
            page["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].clone())
        })
        .collect();
    assert_eq!(
        names,
        json!(["echo", "add", "slow", "fail", "sample", "elicit", "roots"])
            .as_array()
            .unwrap()
            .clone()
    );
    let bad = json_body(
        post(
            &server,
            Some(&session),
            &request(3, "tools/list", json!({"cursor": "x"})),
        )
        .await,
    )
    .await;
    assert_eq!(bad["error"]["code"], -32602);

    assert_eq!(server.stats().posts, 5);
    assert_eq!(server.received()[1]["method"], "notifications/initialized");
}

#[tokio::test]
async fn protocol_version_negotiation() {
    let server = TestServer::start().await;
    for (asked, answered) in [
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let response = json_body(post(&server, None, &initialize_request(asked)).await).await;
        assert_eq!(response["result"]["protocolVersion"], answered);
    }
}

#[tokio::test]
async fn session_enforcement() {
    let server = TestServer::start().await;
    let ping = request(1, "ping", json!({}));
    let missing = post(&server, None, &ping).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(json_body(missing).await["error"]["code"], -32600);
    assert_eq!(
        post(&server, Some("no-such-session"), &ping).await.status(),
        404
    );

    let session = init(&server).await;
    assert_eq!(
        json_body(post(&server, Some(&session), &ping).await).await["result"],
        json!({})
    );
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2024-01-01"),
    ];
    let bad_version = send(&server, "POST", &headers, Some(&ping), false)
        .await
        .unwrap();
    assert_eq!(bad_version.status(), 400);
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    assert_eq!(
        send(&server, "POST", &headers, Some(&ping), false)
            .await
            .unwrap()
            .status(),
        200
    );

    // A response to a request the server never sent is still accepted.
    let stray = json!({"jsonrpc": "2.0", "id": 99, "result": {}});
    assert_eq!(post(&server, Some(&session), &stray).await.status(), 202);
    let garbage = send(
        &server,
        "POST",
        &[("mcp-session-id", &session)],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(garbage.status(), 400);

    let delete = send(
        &server,
        "DELETE",
        &[("mcp-session-id", &session)],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(delete.status(), 200);
    assert_eq!(post(&server, Some(&session), &ping).await.status(), 404);
    assert_eq!(server.stats().deletes, 1);
}

#[tokio::test]
async fn catalogue() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let s = Some(s.as_str());
    let result = |v: Value| v["result"].clone();

    let echo = json_body(post(&server, s, &call(1, "echo", json!({"message": "hi"}))).await).await;
    assert_eq!(result(echo)["content"][0]["text"], "hi");
    let add = json_body(post(&server, s, &call(2, "add", json!({"a": 2, "b": 3}))).await).await;
    assert_eq!(result(add.clone())["structuredContent"], json!({"sum": 5}));
    assert_eq!(result(add)["content"][0]["text"], "5");
    let fail = json_body(post(&server, s, &call(3, "fail", json!({}))).await).await;
    assert_eq!(result(fail)["isError"], true);
    let unknown = json_body(post(&server, s, &call(4, "nope", json!({}))).await).await;
    assert_eq!(unknown["error"]["code"], -32602);

    let read = request(5, "resources/read", json!({"uri": "demo://hello"}));
    let read = json_body(post(&server, s, &read).await).await;
    assert_eq!(result(read)["contents"][0]["text"], "Hello, world!");
    for method in [
        "resources/list",
        "resources/templates/list",
        "prompts/list",
        "logging/setLevel",
    ] {
        let answer =
            json_body(post(&server, s, &request(6, method, json!({"level": "info"}))).await).await;
        assert!(answer.get("result").is_some(), "{method}: {answer}");
    }
    let prompt = request(
        7,
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ada"}}),
    );
    let prompt = json_body(post(&server, s, &prompt).await).await;
    assert_eq!(
        result(prompt)["messages"][0]["content"]["text"],
        "Please greet Ada."
    );
    let complete = request(
        8,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "b"}}),
    );
    let complete = json_body(post(&server, s, &complete).await).await;
    assert_eq!(result(complete)["completion"]["values"], json!(["bob"]));
    let missing = json_body(post(&server, s, &request(9, "no/such", json!({}))).await).await;
    assert_eq!(missing["error"]["code"], -32601);
    assert_eq!(missing["id"], 9);
}

#[tokio::test]
async fn slow_streams_progress_then_result() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let slow = request(
        7,
        "tools/call",
        json!({"name": "slow", "arguments": {"steps": 3, "ms": 5}, "_meta": {"progressToken": "tok"}}),
    );
    let mut events = Events::new(post(&server, Some(&s), &slow).await);
    for step in 1..=3 {
        let progress = events.next().await.expect("progress").json();
        assert_eq!(progress["method"], "notifications/progress");
        assert_eq!(progress["params"]["progressToken"], "tok");
        assert_eq!(progress["params"]["progress"], step);
        assert_eq!(progress["params"]["total"], 3);
    }
    let done = events.next().await.expect("result");
    assert_eq!(done.id, None);
    assert_eq!(done.json()["id"], 7);
    assert_eq!(
        done.json()["result"]["content"][0]["text"],
        "done after 3 steps"
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after the response"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(server.stats().open_streams, 0);
}

#[tokio::test]
async fn cancelled_slow_call_sends_no_response() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let slow = call(8, "slow", json!({"steps": 50, "ms": 20}));
    let mut events = Events::new(post(&server, Some(&s), &slow).await);
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 8, "reason": "test"}});
    assert_eq!(post(&server, Some(&s), &cancel).await.status(), 202);
    assert_eq!(events.next().await, None, "ends without a response");
    assert_eq!(server.stats().cancellations, 1);
}

/// Call a tool that asks the client something; answer with `reply`; the tool's result.
async fn round_trip(tool: &str, expect_method: &str, reply: Value) -> Value {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let mut events =
        Events::new(post(&server, Some(&s), &call(3, tool, json!({"prompt": "Hi?"}))).await);
    let asked = events.next().await.expect("server request").json();
    assert_eq!(asked["method"], expect_method);
    let answer = json!({"jsonrpc": "2.0", "id": asked["id"], "result": reply});
    let response = post(&server, Some(&s), &answer).await;
    assert_eq!(response.status(), 202);
    let result = events.next().await.expect("tool result").json();
    assert_eq!(result["id"], 3);
    assert!(events.next().await.is_none());
    result["result"].clone()
}

#[tokio::test]
async fn sample_elicit_roots_round_trips() {
    let sampled =
        json!({"role": "assistant", "content": {"type": "text", "text": "Hello!"}, "model": "m"});
    let result = round_trip("sample", "sampling/createMessage", sampled).await;
    assert_eq!(result["content"][0]["text"], "Hello!");

    let accepted = json!({"action": "accept", "content": {"name": "Ada"}});
    let result = round_trip("elicit", "elicitation/create", accepted).await;
    assert_eq!(result["structuredContent"], json!({"name": "Ada"}));

    let roots = json!({"roots": [{"uri": "file:///tmp", "name": "tmp"}]});
    let result = round_trip("roots", "roots/list", roots).await;
    let listed: Value =
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(listed[0]["uri"], "file:///tmp");
}

#[tokio::test]
async fn get_stream_carries_notifications_and_ends_with_the_session() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    assert!(!server.notify("notifications/tools/list_changed", json!({})));
    let headers = [
        ("mcp-session-id", s.as_str()),
        ("accept", "application/json"),
    ];
    let plain = send(&server, "GET", &headers, None, false).await.unwrap();
    assert_eq!(plain.status(), 406);
    let mut events = Events::new(get(&server, &s, &[]).await);
    assert!(
        events.within(Duration::from_millis(100)).await.is_err(),
        "idle until told"
    );
    assert!(server.notify("notifications/tools/list_changed", json!({})));
    assert_eq!(
        events.next().await.unwrap().json()["method"],
        "notifications/tools/list_changed"
    );
    assert_eq!(server.stats().open_streams, 1);
    send(&server, "DELETE", &[("mcp-session-id", &s)], None, false)
        .await
        .unwrap();
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn no_get_stream_answers_405() {
    let server = TestServer::builder().no_get_stream().start().await;
    let s = init(&server).await;
    assert_eq!(get(&server, &s, &[]).await.status(), 405);
    assert_eq!(server.stats().gets, 1);
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let server = TestServer::start().await;
    let response = send(
        &server,
        "POST",
        &[],
        Some(&initialize_request("2025-11-25")),
        true,
    )
    .await;
    let response = response.expect("HTTP/2 exchange");
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    assert!(header(&response, "mcp-session-id").is_some());
    assert_eq!(
        json_body(response).await["result"]["protocolVersion"],
        "2025-11-25"
    );
}

/// The threaded server needs no runtime in the caller: plain `std` sockets here.
#[test]
fn start_in_thread_serves_without_a_caller_runtime() {
    let server = TestServer::start_in_thread();
    let body = initialize_request("2025-06-18").to_string();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: x\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("mcp-session-id: "));
    assert!(answer.contains(r#""protocolVersion":"2025-06-18""#));
    assert_eq!(server.stats().connections, 1);
    server.shutdown();
}
