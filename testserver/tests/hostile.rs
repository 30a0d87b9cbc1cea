//! The hostile faults, the connection and stream counters and the request records, as seen on
//! the wire by a raw HTTP client.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use mcpwire_testserver::{BadJson, Fault, Match, Rule, Stats, TestServer, MAX_REQUEST_RECORDS};
use serde_json::{json, Value};
use tokio::net::TcpStream;

fn echo(id: i64) -> Value {
    call(id, "echo", json!({"message": "hi"}))
}

/// Wait until the server's counters satisfy `done`; panics after [`TIMEOUT`].
async fn wait_for(server: &TestServer, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = server.stats();
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// This process's resident set size in KiB (Linux), if known.
fn rss_kib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn assert_flood_event(event: &Event, n: usize, size: usize) {
    assert_eq!(event.id, None);
    assert_eq!(event.data.len(), size, "event {n} has exactly `size` bytes");
    let note = event.json();
    assert_eq!(note["method"], "notifications/message");
    let data = note["params"]["data"].as_str().expect("string data");
    let prefix = format!("flood {n} ");
    assert!(data.starts_with(&prefix), "{}", &data[..20]);
    assert!(data[prefix.len()..].bytes().all(|b| b == b'x'));
}

#[tokio::test]
async fn notification_flood_then_answer() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::NotificationFlood {
        count: 3,
        size: 500,
        then_answer: true,
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let mut events = Events::new(post(&server, Some(&s), &echo(7)).await);
    for n in 1..=3 {
        assert_flood_event(&events.next().await.expect("notification"), n, 500);
    }
    let answer = events.next().await.expect("the response").json();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
    assert_eq!(events.next().await, None, "the stream ends");

    // A size below the smallest notification gives the smallest notification.
    let tiny = Fault::NotificationFlood {
        count: 1,
        size: 1,
        then_answer: true,
    };
    server.script(Rule::once(Match::Tool("echo".into()), tiny));
    let mut events = Events::new(post(&server, Some(&s), &echo(8)).await);
    let note = events.next().await.expect("notification");
    assert_eq!(
        note.data,
        r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"mcpwire-testserver","data":"flood 1 "}}"#
    );
    assert_eq!(events.next().await.expect("response").json()["id"], 8);
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn notification_flood_without_answer_holds_until_the_client_goes() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::NotificationFlood {
        count: 2,
        size: 200,
        then_answer: false,
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let mut events = Events::new(post(&server, Some(&s), &echo(1)).await);
    for n in 1..=2 {
        assert_flood_event(&events.next().await.expect("notification"), n, 200);
    }
    assert!(
        events.within(Duration::from_millis(200)).await.is_err(),
        "held, without the response"
    );
    server.release_held(); // not a HoldSse: still held
    assert!(events.within(Duration::from_millis(100)).await.is_err());
    assert_eq!(server.stats().open_streams, 1);
    drop(events);
    wait_for(&server, "the stream closed", |s| s.open_streams == 0).await;
}

/// 10,000 events of 1 MiB (10 GiB): the first come at once, a slow reader paces the server, and
/// the flood stops when the reader goes.
#[tokio::test]
async fn notification_flood_is_lazy_and_paced_by_a_slow_reader() {
    const MIB: usize = 1 << 20;
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::NotificationFlood {
        count: 10_000,
        size: MIB,
        then_answer: true,
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let before = rss_kib();
    let mut events = Events::new(post(&server, Some(&s), &echo(1)).await);
    for n in 1..=2 {
        assert_flood_event(&events.next().await.expect("notification"), n, MIB);
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // a slow reader
    for n in 3..=4 {
        assert_flood_event(&events.next().await.expect("notification"), n, MIB);
    }
    if let (Some(before), Some(after)) = (before, rss_kib()) {
        // Unpaced, the server would have queued gigabytes by now.
        assert!(
            after.saturating_sub(before) < 256 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }
    drop(events);
    wait_for(&server, "the flood stopped", |s| {
        s.open_streams == 0 && s.open_connections == 0
    })
    .await;
}

#[tokio::test]
async fn short_streams_on_get_end_at_once_with_fresh_ids() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::always(
        Match::Get,
        Fault::ShortStreams { retry_ms: 0 },
    ));
    let mut ids = HashSet::new();
    for _ in 0..5 {
        let mut events = Events::new(get(&server, &s, &[]).await);
        let priming = events.next().await.expect("priming event");
        assert_eq!(priming.retry, Some(0));
        assert_eq!(priming.data, "");
        assert!(ids.insert(priming.id.expect("an id")), "fresh ids");
        assert_eq!(events.next().await, None, "ends at once");
    }
    assert_eq!(server.stats().gets, 5);
    wait_for(&server, "no stream left open", |s| s.open_streams == 0).await;
}

#[tokio::test]
async fn short_streams_on_post_resume_forever_without_the_answer() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::ShortStreams { retry_ms: 10 },
    ));
    let mut events = Events::new(post(&server, Some(&s), &echo(3)).await);
    let first = events.next().await.expect("priming event");
    assert_eq!(first.retry, Some(10));
    assert_eq!(first.data, "");
    assert_eq!(events.next().await, None, "no answer");
    let first = first.id.expect("an id");

    let mut ids = HashSet::from([first.clone()]);
    let mut last = first.clone();
    for round in 0..6 {
        // Resume from the latest id, or now and then from the very first one.
        let from = if round % 3 == 2 { &first } else { &last };
        let mut resumed = Events::new(get(&server, &s, &[("last-event-id", from)]).await);
        let priming = resumed.next().await.expect("another priming event");
        assert_eq!((priming.retry, priming.data.as_str()), (Some(10), ""));
        last = priming.id.expect("an id");
        assert!(ids.insert(last.clone()), "a fresh id each time");
        assert_eq!(resumed.next().await, None, "never the answer");
    }

    // Another session cannot resume it.
    let other = init(&server).await;
    let refused = get(&server, &other, &[("last-event-id", &last)]).await;
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn ping_storm_then_answer_and_pings_answered() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::PingStorm { count: 5 },
    ));
    let mut events = Events::new(post(&server, Some(&s), &echo(9)).await);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let ping = events.next().await.expect("a ping").json();
        assert_eq!(ping["method"], "ping");
        let id = ping["id"].as_str().expect("string id").to_owned();
        assert!(id.starts_with("storm-"), "{id}");
        ids.push(id);
    }
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5, "unique ids");
    let answer = events.next().await.expect("the response").json();
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
    assert_eq!(events.next().await, None);

    for id in &ids[..3] {
        let pong = json!({"jsonrpc": "2.0", "id": id, "result": {}});
        assert_eq!(post(&server, Some(&s), &pong).await.status(), 202);
    }
    let other = json!({"jsonrpc": "2.0", "id": "not-a-storm", "result": {}});
    assert_eq!(post(&server, Some(&s), &other).await.status(), 202);
    assert_eq!(server.stats().pings_answered, 3);

    // A second storm's ids differ from the first's.
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::PingStorm { count: 2 },
    ));
    let mut events = Events::new(post(&server, Some(&s), &echo(10)).await);
    for _ in 0..2 {
        let id = events.next().await.expect("a ping").json()["id"].clone();
        assert!(!ids.iter().any(|old| *old == id), "{id}");
    }
    assert_eq!(events.next().await.expect("response").json()["id"], 10);
}

#[tokio::test]
async fn bad_notification_then_answer() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let head = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"mcpwire-testserver","data":"#;
    for (n, kind) in [
        BadJson::DeepNesting,
        BadJson::HugeNumber,
        BadJson::LoneSurrogate,
        BadJson::NotJson,
    ]
    .into_iter()
    .enumerate()
    {
        let id = n as i64 + 1;
        server.script(Rule::once(
            Match::Tool("echo".into()),
            Fault::BadNotificationThenAnswer { kind },
        ));
        let mut events = Events::new(post(&server, Some(&s), &echo(id)).await);
        let bad = events.next().await.expect("the bad event").data;
        let expected = match kind {
            BadJson::DeepNesting => {
                format!("{head}{}{}}}}}", "[".repeat(10_000), "]".repeat(10_000))
            }
            BadJson::HugeNumber => format!("{head}1e400}}}}"),
            BadJson::LoneSurrogate => format!(r#"{head}"lone \ud800 surrogate"}}}}"#),
            BadJson::NotJson => "this is not json".to_owned(),
        };
        assert_eq!(bad, expected, "{kind:?}");
        // None of them is something serde_json takes (nesting beyond its limit included).
        assert!(serde_json::from_str::<Value>(&bad).is_err(), "{kind:?}");
        let answer = events.next().await.expect("the response").json();
        assert_eq!(answer["id"], id);
        assert_eq!(answer["result"]["content"][0]["text"], "hi");
        assert_eq!(events.next().await, None);
    }
}

#[tokio::test]
async fn lone_surrogate_result() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::times(Match::AnyPost, Fault::LoneSurrogateResult, 3));
    let response = post(&server, Some(&s), &echo(4)).await;
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    let body = text(response).await;
    assert!(body.contains(r#""text":"hi\udc80""#), "{body}");
    assert!(body.contains(r#""id":4"#), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());

    // Not a tool answering text: the fixed result.
    let body = text(post(&server, Some(&s), &request(5, "tools/list", json!({}))).await).await;
    assert!(
        body.contains(r#"{"type":"text","text":"\udc80"}"#)
            || body.contains(r#"{"text":"\udc80","type":"text"}"#),
        "{body}"
    );
    assert!(body.contains(r#""id":5"#), "{body}");
    assert!(!body.contains("tools"), "the fixed result: {body}");

    // A notification is answered normally.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(&server, Some(&s), &note).await.status(), 202);
}

#[tokio::test]
async fn endless_pages() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let delay = Duration::from_millis(30);
    server.script(Rule::always(Match::AnyPost, Fault::EndlessPages { delay }));
    let mut cursors = HashSet::new();
    let mut names = HashSet::new();
    let mut cursor: Option<String> = None;
    for id in 1..=5 {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let started = Instant::now();
        let page =
            json_body(post(&server, Some(&s), &request(id, "tools/list", params)).await).await;
        assert!(started.elapsed() >= delay);
        assert_eq!(page["id"], id);
        let tools = page["result"]["tools"].as_array().expect("tools");
        assert_eq!(tools.len(), 1);
        assert!(names.insert(tools[0]["name"].as_str().expect("name").to_owned()));
        let next = page["result"]["nextCursor"]
            .as_str()
            .expect("a next cursor");
        assert!(next.starts_with("page-"), "{next}");
        assert!(cursors.insert(next.to_owned()), "a new cursor every time");
        cursor = Some(next.to_owned());
    }
    for (method, key) in [
        ("prompts/list", "prompts"),
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
    ] {
        let page = json_body(post(&server, Some(&s), &request(9, method, json!({}))).await).await;
        assert_eq!(page["result"][key].as_array().expect(key).len(), 1);
        assert!(cursors.insert(page["result"]["nextCursor"].as_str().unwrap().to_owned()));
    }
    // Other requests: the normal answer, after the delay.
    let started = Instant::now();
    let answer = json_body(post(&server, Some(&s), &echo(10)).await).await;
    assert!(started.elapsed() >= delay);
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
}

#[tokio::test]
async fn sse_end_writes_a_control_character_in_the_id_verbatim() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    let fault = Fault::SseEndWithoutResponse {
        event_id: Some("bad\u{1}id".into()),
        retry_ms: Some(5),
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    let response = post(&server, Some(&s), &echo(1)).await;
    assert_eq!(text(response).await, "id: bad\u{1}id\nretry: 5\ndata: \n\n");
}

#[tokio::test]
async fn connection_counters() {
    let server = TestServer::start().await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(TcpStream::connect(server.addr()).await.expect("connect"));
    }
    let stats = wait_for(&server, "three open", |s| s.open_connections == 3).await;
    assert_eq!(
        (stats.connections, stats.max_concurrent_connections),
        (3, 3)
    );
    drop(open.pop());
    wait_for(&server, "two open", |s| s.open_connections == 2).await;
    open.push(TcpStream::connect(server.addr()).await.expect("connect"));
    wait_for(&server, "fourth accepted", |s| s.connections == 4).await;
    drop(open);
    let stats = wait_for(&server, "all closed", |s| s.open_connections == 0).await;
    assert_eq!(stats.max_concurrent_connections, 3);
}

#[tokio::test]
async fn max_open_streams_is_a_high_water_mark() {
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::times(Match::Tool("echo".into()), Fault::HoldSse, 2));
    let mut first = Events::new(post(&server, Some(&s), &echo(1)).await);
    let mut second = Events::new(post(&server, Some(&s), &echo(2)).await);
    first.next().await.expect("notification");
    second.next().await.expect("notification");
    assert_eq!(server.stats().open_streams, 2);
    server.release_held();
    first.next().await.expect("response");
    second.next().await.expect("response");
    assert_eq!(first.next().await, None);
    assert_eq!(second.next().await, None);
    let stats = wait_for(&server, "streams closed", |s| s.open_streams == 0).await;
    assert_eq!(stats.max_open_streams, 2);
}

#[tokio::test]
async fn requests_are_recorded() {
    let server = TestServer::start().await;
    let init = initialize_request("2025-11-25");
    let auth = [("authorization", "Bearer secret")];
    let response = send(&server, "POST", &auth, Some(&init), false)
        .await
        .expect("HTTP exchange");
    let s = header(&response, "mcp-session-id").expect("session");
    let _ = get(&server, &s, &[("last-event-id", "ev-9")]).await;
    let _ = send(&server, "DELETE", &[("mcp-session-id", &s)], None, true)
        .await
        .expect("HTTP/2 exchange");
    // Any path, with whatever bytes the headers hold.
    let addr = server.addr();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /elsewhere HTTP/1.1\r\nHost: other.example\r\nAuthorization: x\xffy\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        answer
    });
    let answer = answer.await.expect("raw exchange");
    assert!(answer.starts_with(b"HTTP/1.1 404"));

    let records = server.requests();
    assert_eq!(records.len(), 4, "{records:#?}");
    let addr = server.addr().to_string();
    assert_eq!(records[0].method, "POST");
    assert_eq!(records[0].path, "/mcp");
    assert_eq!(records[0].host.as_deref(), Some(addr.as_str()));
    assert_eq!(records[0].authorization.as_deref(), Some("Bearer secret"));
    assert_eq!(records[0].last_event_id, None);
    assert_eq!(records[0].body.as_ref(), Some(&init));
    assert_eq!(records[1].method, "GET");
    assert_eq!(records[1].last_event_id.as_deref(), Some("ev-9"));
    assert_eq!(records[1].authorization, None);
    assert_eq!(records[1].body, None);
    assert_eq!(records[2].method, "DELETE");
    assert_eq!(
        records[2].host.as_deref(),
        Some(addr.as_str()),
        "HTTP/2 :authority"
    );
    assert_eq!(records[3].path, "/elsewhere");
    assert_eq!(records[3].host.as_deref(), Some("other.example"));
    assert_eq!(records[3].authorization.as_deref(), Some("x\u{fffd}y"));
    assert_eq!(server.received(), vec![init], "received() is unchanged");
}

#[tokio::test]
async fn request_records_are_capped() {
    let server = TestServer::start().await;
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let total = MAX_REQUEST_RECORDS + 5;
    for n in 0..total {
        let request = Request::get(format!("/n/{n}"))
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = sender.send_request(request).await.expect("exchange");
        assert_eq!(response.status(), 404);
        response.into_body().collect().await.expect("body");
    }
    let records = server.requests();
    assert_eq!(records.len(), MAX_REQUEST_RECORDS);
    assert_eq!(records[0].path, "/n/5", "the oldest are dropped");
    assert_eq!(records.last().unwrap().path, format!("/n/{}", total - 1));
}
