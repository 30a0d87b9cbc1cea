//! A reader that stops reading paces the floods: the server stops making events once a little
//! is queued, however many it was told to send. Alone in its test binary, so that the process's
//! memory is this test's.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use serde_json::{json, Value};

/// This process's resident set size in KiB (Linux), if known.
fn rss_kib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn echo() -> Value {
    call(1, "echo", json!({"message": "hi"}))
}

/// How many storm pings the server has made so far: the number in the id of a new storm's ping.
async fn storm_pings_made(server: &TestServer, session: &str) -> u64 {
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::PingStorm { count: 1 },
    ));
    let mut probe = Events::new(post(server, Some(session), &echo()).await);
    let id = probe.next().await.expect("a ping").json()["id"].clone();
    let n = id.as_str().and_then(|id| id.strip_prefix("storm-"));
    n.expect("a storm id").parse().expect("a number")
}

#[tokio::test]
async fn floods_stop_making_events_while_the_reader_does_not_read() {
    let before = rss_kib();
    let server = TestServer::start().await;
    let s = init(&server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::PingStorm { count: usize::MAX },
    ));
    let flood = Fault::NotificationFlood {
        count: usize::MAX,
        size: 150,
        then_answer: true,
    };
    server.script(Rule::once(Match::Tool("echo".into()), flood));
    let mut storm = Events::new(post(&server, Some(&s), &echo()).await);
    let mut notes = Events::new(post(&server, Some(&s), &echo()).await);
    assert_eq!(storm.next().await.expect("a ping").json()["method"], "ping");
    let note = notes.next().await.expect("a notification").json();
    assert_eq!(note["method"], "notifications/message");

    // Neither stream is read from now on. Once the socket buffers and the server's small queue
    // are full, the endless storm must stall (unpaced, it would go on at tens of thousands of
    // pings a second, queueing them all).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut made = storm_pings_made(&server, &s).await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = storm_pings_made(&server, &s).await;
        // Each probe makes one ping itself.
        if now - made <= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the storm never stalled: {now}");
        made = now;
    }
    if let (Some(before), Some(after)) = (before, rss_kib()) {
        assert!(
            after.saturating_sub(before) < 64 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }

    // Both flow again once read: the storm goes on when its backlog has been read.
    for _ in 0..100 {
        let note = notes.next().await.expect("a notification").json();
        assert_eq!(note["method"], "notifications/message");
    }
    let stalled_at = storm_pings_made(&server, &s).await;
    loop {
        for _ in 0..5000 {
            assert_eq!(storm.next().await.expect("a ping").json()["method"], "ping");
        }
        if storm_pings_made(&server, &s).await > stalled_at + 1000 {
            break;
        }
        assert!(Instant::now() < deadline, "the storm never went on");
    }
    drop((storm, notes));
    let deadline = Instant::now() + TIMEOUT;
    while server.stats().open_streams != 0 {
        assert!(Instant::now() < deadline, "the floods stopped");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
