//! Ctrl-C (SIGINT) while a call runs: the server is told the call is cancelled
//! (`notifications/cancelled` with its id), the session is closed (the `DELETE` of a
//! 2025-era session), and the command exits 130 with a one-line message.

#![cfg(unix)]

mod support;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use mcpwire_testserver::TestServer;
use serde_json::Value;
use support::{finish, mcpwire, spawn};

/// Waits (at most 20 s) until the server has received the `tools/call`; returns its id.
fn call_id(server: &TestServer) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let call = server
            .received()
            .into_iter()
            .find(|m| m["method"] == "tools/call");
        if let Some(call) = call {
            return call["id"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the call never reached the server"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn ctrl_c_cancels_the_call_deletes_the_session_and_exits_130() {
    for json in [false, true] {
        let server = TestServer::start_in_thread();
        let mut command = mcpwire();
        if json {
            command.arg("--json");
        }
        // 60 s of progress: only Ctrl-C ends it within the test's limit.
        command.args(["call", "slow", "steps=600", "ms=100", &server.url()]);
        let child = spawn(command);
        let id = call_id(&server);
        let before = server.stats();
        assert_eq!((before.cancellations, before.deletes), (0, 0));
        // Some progress first, as a user would see it.
        thread::sleep(Duration::from_millis(300));
        interrupt(child.child.id());
        let run = finish(child, Duration::from_secs(20));
        run.expect_code(130);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(
            run.stderr.trim_end(),
            "mcpwire: interrupted: the call in flight was cancelled and the session closed"
        );
        if json {
            let error: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
            assert_eq!(error["error"]["kind"], "interrupted", "{error}");
            assert_eq!(error["error"]["exit"], 130, "{error}");
        } else {
            assert_eq!(run.stdout, "");
        }

        let stats = server.stats();
        assert_eq!(stats.cancellations, 1, "{stats:?}");
        assert_eq!(stats.deletes, 1, "{stats:?}");
        let cancelled: Vec<Value> = server
            .received()
            .into_iter()
            .filter(|m| m["method"] == "notifications/cancelled")
            .collect();
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0]["params"]["requestId"], id, "{cancelled:?}");
        // Both reach the server before mcpwire exits. (They go on connections of their own,
        // so the DELETE may arrive first.)
        assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    }
}

/// Whether process `pid` is still running (a zombie is not).
fn running(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_while_connecting_ends_the_stdio_server_it_was_starting() {
    let dir = std::env::temp_dir().join(format!("mcpwire-ctrl-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("server.pid");
    // A server that never answers: a shell waiting for its child, whose pid it writes (a
    // server's own children, as `npx`'s node, must end too).
    let script = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
    let mut command = mcpwire();
    command.args(["tools", "--", "sh", "-c", &script]);
    let child = spawn(command);
    let deadline = Instant::now() + Duration::from_secs(20);
    let server_pid = loop {
        match std::fs::read_to_string(&pid_file) {
            Ok(pid) if !pid.trim().is_empty() => break pid.trim().to_owned(),
            _ => assert!(Instant::now() < deadline, "the server never started"),
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert!(running(&server_pid));
    interrupt(child.child.id());
    let run = finish(child, Duration::from_secs(20));
    run.expect_code(130);
    assert_eq!(
        run.stderr.trim_end(),
        "mcpwire: interrupted while connecting"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(&server_pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !running(&server_pid),
        "the server {server_pid} outlived mcpwire"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
