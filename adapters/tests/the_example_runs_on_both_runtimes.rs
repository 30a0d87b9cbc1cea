//! `examples/assistant.rs` against the test server, under tokio and under smol: its closure
//! handlers answer the server, its typed structured result decodes, and the notifications the
//! server sends reach its stream.
#![cfg(all(feature = "tokio", feature = "smol"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::schema::ServerNotification;
use mcpwire_testserver::TestServer;

#[allow(dead_code)] // its `main`
#[path = "../examples/assistant.rs"]
mod assistant;

fn check(
    runtime: impl FnOnce() -> Arc<dyn Runtime>,
    block_on: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>),
) {
    let server = TestServer::start_in_thread();
    let url = server.url();
    std::thread::scope(|scope| {
        // Two notifications, once the server stream is open.
        scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !server.notify("notifications/tools/list_changed", serde_json::json!({})) {
                assert!(Instant::now() < deadline, "no server stream opened");
                std::thread::sleep(Duration::from_millis(10));
            }
            server.notify("notifications/prompts/list_changed", serde_json::json!({}));
        });
        let runtime = runtime();
        block_on(Box::pin(async move {
            let report = assistant::run(runtime, url.as_str(), 2).await.unwrap();
            assert_eq!(report.sum, 42.0);
            assert_eq!(report.sampled, "an answer to 1 message(s)");
            assert_eq!(report.elicited, "Ada");
            assert_eq!(
                report.notifications,
                vec![
                    ServerNotification::ToolListChanged,
                    ServerNotification::PromptListChanged
                ]
            );
        }));
    });
}

#[test]
fn under_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    check(
        move || Arc::new(mcpwire::runtime::Tokio::new(handle)),
        |f| rt.block_on(f),
    );
}

#[test]
fn under_smol() {
    check(|| Arc::new(mcpwire::runtime::Smol), |f| smol::block_on(f));
}
