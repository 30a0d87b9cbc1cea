//! The cost of recording a session (`ClientBuilder::record`), per call: the process's CPU
//! time per `call_tool("echo", {"message": "x"})` against the test server in the same
//! process (one current-thread tokio runtime), for a client that records to a file and one
//! that does not, alternating, over `MCPWIRE_BENCH_TRIALS` trials (default 7) of
//! `MCPWIRE_BENCH_CALLS` calls each (default 20,000), at 1 and 64 calls in flight. Also the
//! bytes recorded per call.
//!
//! ```sh
//! cargo bench -p mcpwire --bench record
//! ```

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use mcpwire::{Client, RecordOptions};
use mcpwire_testserver::TestServer;
use rustix::time::{clock_gettime, ClockId};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

fn cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn calls(client: &Client, calls: u64, in_flight: u64) {
    let mut set = JoinSet::new();
    for i in 0..in_flight {
        let n = calls / in_flight + u64::from(i < calls % in_flight);
        let client = client.clone();
        set.spawn(async move {
            for _ in 0..n {
                let r = client
                    .call_tool("echo", serde_json::json!({"message": "x"}))
                    .await
                    .expect("echo");
                black_box(r);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("worker");
    }
}

/// CPU per call, in microseconds.
fn trial(rt: &Runtime, client: &Client, n: u64, in_flight: u64) -> f64 {
    let before = cpu();
    rt.block_on(calls(client, n, in_flight));
    (cpu() - before).as_secs_f64() * 1e6 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; there are no options.
    let trials = var("MCPWIRE_BENCH_TRIALS", 7) as usize;
    let n = var("MCPWIRE_BENCH_CALLS", 20_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start());
    let path: PathBuf = std::env::temp_dir().join(format!(
        "mcpwire-bench-recording-{}.jsonl",
        std::process::id()
    ));
    let plain = rt.block_on(Client::connect(server.url().as_str())).unwrap();
    // No cap to speak of: every call of every trial is recorded.
    let options = RecordOptions::default().with_limit(1 << 40);
    let recording = rt
        .block_on(
            Client::builder()
                .record_with(&path, options)
                .connect(server.url().as_str()),
        )
        .unwrap();
    println!("recording cost: process CPU per call, median of {trials} trials of {n} calls, microseconds");
    println!(
        "{:>3} {:>10} {:>10} {:>8} {:>8}",
        "k", "plain", "recording", "ratio", "+us"
    );
    for k in [1, 64] {
        rt.block_on(calls(&plain, 2000, k));
        rt.block_on(calls(&recording, 2000, k));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let size_before = std::fs::metadata(&path).map_or(0, |m| m.len());
        for _ in 0..trials {
            a.push(trial(&rt, &plain, n, k));
            b.push(trial(&rt, &recording, n, k));
        }
        let size_after = std::fs::metadata(&path).map_or(0, |m| m.len());
        let (a, b) = (median(a), median(b));
        println!(
            "{k:>3} {a:>10.2} {b:>10.2} {:>7.3}x {:>8.2}   ({} bytes recorded per call)",
            b / a,
            b - a,
            (size_after - size_before) / (n * trials as u64)
        );
    }
    drop(recording);
    let _ = std::fs::remove_file(&path);
}
