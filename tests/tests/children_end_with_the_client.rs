//! A stdio server never outlives its client, even one started through a launcher that does
//! not `exec` it (the group is signalled) and that ignores SIGTERM and its stdin's end: not
//! when the client is dropped without `close()`, and not when the application panics with the
//! client alive (the runtime's tasks are dropped as the panic unwinds). `close()` is
//! `hostile_servers_keep_the_client_bounded.rs`'s
//! `a_server_started_through_a_wrapper_ends_with_the_client`.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::{Client, Target};
use mcpwire_tests::on_both_runtimes;
use serde_json::json;

on_both_runtimes! {
    a_dropped_client_takes_its_server_down => dropped;
}

const FIXTURE: &str = env!("CARGO_BIN_EXE_stdio_fixture");

fn pid_file(tag: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("mcpwire-{tag}-{}-{n}.pid", std::process::id()))
}

fn read_pid(path: &std::path::Path) -> i32 {
    let pid = std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::fs::remove_file(path);
    pid
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (at most 10 s, the shutdown's two grace periods and more) for `pid` to end.
fn ends(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the server {pid} outlived the client"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn dropped(runtime: Arc<dyn Runtime>) {
    let pid_file = pid_file("dropped");
    let server = format!(
        "trap '' TERM; echo $$ > {}; exec {FIXTURE} --stubborn",
        pid_file.display()
    );
    let script = format!("sh -c \"{server}\"; exit $?");
    let client = Client::builder()
        .connect_with(runtime, Target::stdio("sh", ["-c", &script]))
        .await
        .unwrap();
    assert!(client.call_tool("echo", json!({})).await.is_ok());
    let pid = read_pid(&pid_file);
    assert!(alive(pid));
    drop(client);
    // Ends while the runtime goes on (the shutdown runs in the background).
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the server {pid} outlived the dropped client"
        );
        futures_lite::future::yield_now().await;
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_panicking_application_takes_its_server_down() {
    for runtime in ["tokio", "smol"] {
        let pid_file = pid_file(&format!("panic-{runtime}"));
        let out = Command::new(env!("CARGO_BIN_EXE_panicking_app"))
            .args([runtime, pid_file.to_str().unwrap(), FIXTURE])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{runtime}: it panicked: {stderr}");
        assert!(
            stderr.contains("the application panics"),
            "{runtime}: {stderr}"
        );
        let pid = read_pid(&pid_file);
        ends(pid);
    }
}
