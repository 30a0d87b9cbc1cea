//! Failing 100,000 outstanding calls in the adapter, under tokio and under smol: how long
//! from the event that ends the session until every caller's future has resolved (issue 15:
//! < 100 ms; the core's own part is `core/benches/outstanding.rs`).
//!
//! A stdio session with the test fixture (`stdio_fixture`, which never answers `hang`):
//! 100,000 `call_tool("hang")` futures, each on its own task, every one sent (an `echo` after
//! them answers, so the child has read them all); then `call_tool("exit")`, which the child
//! answers by exiting with code 3. Timed: from issuing `exit` until the last of the 100,000
//! has its error (the child reading its last line, exiting, the adapter seeing it, the core
//! failing everything, each caller's task woken and run; the last one to finish counts the
//! others down and wakes the bench). Three runs a runtime; prints a table.
//!
//! Run: `cargo bench -p mcpwire-tests --bench fail_all_callers`
//! (`MCPWIRE_BENCH_N=100000`, `MCPWIRE_BENCH_RUNTIMES=tokio,smol`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::{Runtime, Smol, Tokio};
use mcpwire::{Client, Target};
use serde_json::json;

/// Spawns a detached task on the runtime under test.
type Spawn = fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>);

async fn one_run(runtime: Arc<dyn Runtime>, spawn: Spawn, n: usize) -> (Duration, usize) {
    let fixture = Target::stdio(env!("CARGO_BIN_EXE_stdio_fixture"), Vec::<String>::new());
    let client = Client::builder()
        .timeout(Duration::from_secs(3600))
        .connect_with(runtime.clone(), fixture)
        .await
        .expect("connect to the fixture");
    // The last caller to resolve says so, once: no message per caller.
    let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
    let polled = Arc::new(AtomicUsize::new(0));
    let left = Arc::new(AtomicUsize::new(n));
    let failed = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (client, done, polled) = (client.clone(), done_tx.clone(), polled.clone());
        let (left, failed) = (left.clone(), failed.clone());
        spawn(Box::pin(async move {
            let mut call = std::pin::pin!(client.call_tool("hang", json!({})));
            // The first poll sends it.
            let first = futures_lite::future::poll_once(&mut call).await;
            polled.fetch_add(1, Ordering::Relaxed);
            let result = match first {
                Some(r) => r,
                None => call.await,
            };
            failed.fetch_add(usize::from(result.is_err()), Ordering::Relaxed);
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                let _ = done.try_send(());
            }
        }));
    }
    while polled.load(Ordering::Relaxed) < n {
        runtime
            .sleep_until(runtime.now() + Duration::from_millis(5))
            .await;
    }
    // Answered after every `hang` before it was read: all are outstanding.
    client
        .call_tool("echo", json!({ "message": "x" }))
        .await
        .expect("echo");
    let start = Instant::now();
    let exit = client.call_tool("exit", json!({}));
    let waited = async { done_rx.recv().await.expect("the last caller's word") };
    let (exited, ()) = futures_lite::future::zip(exit, waited).await;
    let took = start.elapsed();
    assert!(exited.is_err(), "the exit call fails with the session");
    (took, failed.load(Ordering::Relaxed))
}

fn main() {
    let n: usize = std::env::var("MCPWIRE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtimes = std::env::var("MCPWIRE_BENCH_RUNTIMES").unwrap_or("tokio,smol".into());
    println!(
        "| runtime | run | from the child's exit call until all {n} callers have their error |"
    );
    println!("|---|---|---|");
    for name in runtimes.split(',') {
        for run in 1..=3 {
            let (took, failed) = match name {
                "tokio" => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        let spawn: Spawn = |f| drop(tokio::spawn(f));
                        one_run(Arc::new(Tokio::current()), spawn, n).await
                    }),
                "smol" => smol::block_on(async {
                    let spawn: Spawn = |f| smol::spawn(f).detach();
                    one_run(Arc::new(Smol), spawn, n).await
                }),
                other => panic!("unknown runtime {other}"),
            };
            assert_eq!(failed, n, "every caller failed");
            println!("| {name} | {run} | {:.1} ms |", took.as_secs_f64() * 1e3);
        }
    }
}
