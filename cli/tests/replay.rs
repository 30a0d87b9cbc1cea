//! `MCPWIRE_RECORD=<file>` records what the `mcpwire` command did; `mcpwire replay <file>`
//! shows it as a timeline and checks it, exiting 3 when the recording no longer replays.

mod support;

use std::time::Duration;

use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use support::{mcpwire, mcpwire_run, run};

fn file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "mcpwire-cli-recording-{}-{name}.jsonl",
        std::process::id()
    ))
}

/// Runs `mcpwire call echo message=hi <url>` with `MCPWIRE_RECORD` set; returns its exit code.
fn record_call(url: &str, path: &std::path::Path) -> i32 {
    let mut command = mcpwire();
    command
        .args(["call", "echo", "message=hi", url])
        .env("MCPWIRE_RECORD", path);
    run(command, Duration::from_secs(30)).code
}

#[test]
fn a_recorded_call_replays_as_a_timeline() {
    let server = TestServer::start_in_thread();
    let path = file("ok");
    assert_eq!(record_call(&server.url(), &path), 0);
    let replay = mcpwire_run(&["replay", path.to_str().unwrap()]);
    replay.expect_code(0);
    let out = &replay.stdout;
    assert!(
        out.starts_with("recording of a session with http://"),
        "{out}"
    );
    assert!(out.contains("cmd  request #"), "{out}");
    assert!(out.contains("tools/call"), "{out}");
    assert!(out.contains("HTTP 200 OK"), "{out}");
    assert!(out.contains("event: ready"), "{out}");
    assert!(
        out.lines().last().unwrap().starts_with("replayed: "),
        "{out}"
    );
    assert!(
        !out.contains("wait until"),
        "waits only with --waits: {out}"
    );
    let waits = mcpwire_run(&["replay", "--waits", path.to_str().unwrap()]);
    assert!(
        waits.expect_code(0).stdout.contains("wait "),
        "{}",
        waits.stdout
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_503_shows_the_failure_that_ended_the_session() {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 503,
            body: "overloaded".into(),
            headers: vec![],
        },
    ));
    let path = file("503");
    assert_eq!(record_call(&server.url(), &path), 3);
    let replay = mcpwire_run(&["replay", path.to_str().unwrap()]);
    let out = &replay.expect_code(0).stdout;
    assert!(out.contains("HTTP 503 Service Unavailable"), "{out}");
    assert!(out.contains("the session ended: HTTP 503"), "{out}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_recording_that_diverges_exits_3_naming_the_line() {
    let server = TestServer::start_in_thread();
    let path = file("diverges");
    assert_eq!(record_call(&server.url(), &path), 0);
    let text = std::fs::read_to_string(&path).unwrap();
    // The echo's answer, changed by one byte.
    assert!(text.contains(r#"\"text\":\"hi\""#), "{text}");
    std::fs::write(
        &path,
        text.replacen(r#"\"text\":\"hi\""#, r#"\"text\":\"ho\""#, 1),
    )
    .unwrap();
    let replay = mcpwire_run(&["replay", path.to_str().unwrap()]);
    replay.expect_code(3);
    assert!(
        replay
            .stderr
            .starts_with("mcpwire: the replay diverges at line "),
        "{}",
        replay.stderr
    );
    // The timeline stops at the divergence.
    assert!(!replay.stdout.contains("replayed"), "{}", replay.stdout);
    let _ = std::fs::remove_file(&path);

    let missing = mcpwire_run(&["replay", "/nonexistent/recording.jsonl"]);
    missing.expect_code(64);
}
