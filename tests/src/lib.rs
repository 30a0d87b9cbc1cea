//! Shared helpers for mcpwire's cross-crate tests: real npm peers, a real 2026-07-28 server
//! (the Python SDK, `peer2026`), and running one scenario under both runtimes.

pub mod npm;
pub mod peer2026;
pub mod peer_tasks;
pub mod scripts;
pub mod tinyproxy;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::{Runtime, Smol, Tokio};

/// How long any one scenario may run before the test fails as a hang.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// Runs `scenario` on a current-thread tokio runtime, failing if it hangs.
pub fn run_tokio<F: Future<Output = ()>>(scenario: impl FnOnce(Arc<dyn Runtime>) -> F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runtime: Arc<dyn Runtime> = Arc::new(Tokio::current());
        let limit = tokio::time::timeout(SCENARIO_LIMIT, scenario(runtime)).await;
        limit.expect("the scenario hung");
    });
}

/// Runs `scenario` on smol, failing if it hangs.
pub fn run_smol<F: Future<Output = ()>>(scenario: impl FnOnce(Arc<dyn Runtime>) -> F) {
    smol::block_on(async {
        let runtime: Arc<dyn Runtime> = Arc::new(Smol);
        futures_lite::future::or(scenario(runtime), async {
            smol::Timer::after(SCENARIO_LIMIT).await;
            panic!("the scenario hung");
        })
        .await;
    });
}

/// Defines `mod name { fn tokio(); fn smol(); }` running the scenario under each runtime.
#[macro_export]
macro_rules! on_both_runtimes {
    ($($name:ident => $scenario:ident;)*) => {$(
        mod $name {
            #[test]
            fn tokio() {
                $crate::run_tokio(super::$scenario)
            }
            #[test]
            fn smol() {
                $crate::run_smol(super::$scenario)
            }
        }
    )*};
}

/// Sleeps on `runtime` (tests are runtime-neutral).
pub async fn sleep(runtime: &dyn Runtime, d: Duration) {
    runtime.sleep_until(Instant::now() + d).await;
}

/// Polls every future until all are done; returns each output with the instant it completed,
/// in the futures' order.
pub async fn join_timed<F: Future + Unpin>(futures: Vec<F>) -> Vec<(F::Output, Instant)> {
    let mut futures: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<(F::Output, Instant)>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match std::pin::Pin::new(f).poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some((v, Instant::now()));
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}
