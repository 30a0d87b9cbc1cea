//! Over TLS the client offers HTTP/2 by ALPN and, when the server takes it, runs every
//! exchange of the session — concurrent calls included — on one multiplexed connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::Client;
use mcpwire_tests::tls::tls_front;
use mcpwire_tests::{join_timed, on_both_runtimes};
use mcpwire_testserver::TestServer;
use serde_json::json;

on_both_runtimes! {
    concurrent_calls_over_https_share_one_http2_connection => over_http2;
    a_root_certificate_may_be_given_as_pem => pem_root;
}

async fn pem_root(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let (port, _, pem) = tls_front(server.addr());
    let client = Client::builder()
        .add_root_certificate(pem)
        .connect_with(runtime, format!("https://localhost:{port}/mcp").as_str())
        .await
        .expect("connect over TLS trusting the PEM root");
    client.ping().await.unwrap();
}

async fn over_http2(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let (port, cert, _) = tls_front(server.addr());
    let client = Client::builder()
        .add_root_certificate(cert)
        .connect_with(runtime, format!("https://localhost:{port}/mcp").as_str())
        .await
        .expect("connect over TLS");
    type Call<'a> = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<mcpwire::schema::CallToolResult, mcpwire::Error>,
                > + 'a,
        >,
    >;
    fn slow(c: &Client) -> Call<'_> {
        Box::pin(c.call_tool("slow", json!({ "steps": 1, "ms": 300 })))
    }
    let t = Instant::now();
    for (r, _) in join_timed((0..8).map(|_| slow(&client)).collect()).await {
        assert!(r.is_ok(), "{r:?}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "calls ran one at a time: {:?}",
        t.elapsed()
    );
    assert_eq!(
        server.stats().connections,
        1,
        "one HTTP/2 connection carried the whole session"
    );
    client.close().await;
}
