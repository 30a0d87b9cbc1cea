//! The client's own promises, under tokio and under smol: keep-alive reuse with concurrent
//! exchanges, server notifications reaching the application, the end of a session when the
//! last handle is dropped, and the stdio server's stderr and shutdown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::schema::ServerNotification;
use mcpwire::{Client, Target};
use mcpwire_tests::{join_timed, on_both_runtimes, sleep};
use mcpwire_testserver::TestServer;
use serde_json::json;

on_both_runtimes! {
    sequential_calls_reuse_one_keep_alive_connection => keep_alive;
    concurrent_calls_run_at_once_on_several_connections => concurrent;
    server_notifications_reach_the_application => notifications;
    dropping_the_last_handle_ends_the_session => drop_closes;
    a_stdio_servers_stderr_reaches_the_callback => stderr_forwarded;
    a_stdio_server_that_ignores_stdin_closing_is_terminated => stubborn_shutdown;
}

async fn keep_alive(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    // Right after the handshake the `initialized` notification, the GET stream and this ping
    // run at once, each on a connection of its own; then they are all idle.
    client.ping().await.unwrap();
    sleep(&*runtime, Duration::from_millis(50)).await;
    let before = server.stats().connections;
    for i in 0..20 {
        let r = client
            .call_tool("echo", json!({ "message": i.to_string() }))
            .await
            .unwrap();
        assert_eq!(r.content[0].as_text(), Some(i.to_string().as_str()));
    }
    assert_eq!(
        server.stats().connections,
        before,
        "every call reused a kept-alive connection"
    );
}

async fn concurrent(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    // Each call takes 300 ms on the server; 8 of them at once take far less than 8 × 300 ms.
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
    let results = join_timed((0..8).map(|_| slow(&client)).collect()).await;
    for (r, _) in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "calls ran one at a time: {:?}",
        t.elapsed()
    );
    assert!(server.stats().connections >= 8, "{:?}", server.stats());
}

async fn notifications(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    let received = client.notifications();
    // The server stream opens right after the handshake; wait for it.
    let params = json!({ "uri": "demo://hello" });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.notify("notifications/resources/updated", params.clone()) {
        assert!(Instant::now() < deadline, "no server stream opened");
        sleep(&*runtime, Duration::from_millis(10)).await;
    }
    match received.recv().await.unwrap() {
        ServerNotification::ResourceUpdated(p) => assert_eq!(p.uri, "demo://hello"),
        other => panic!("{other:?}"),
    }
}

async fn drop_closes(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    let clone = client.clone();
    drop(client);
    clone.ping().await.unwrap();
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.stats().deletes == 0 {
        assert!(
            Instant::now() < deadline,
            "no DELETE after the last handle was dropped"
        );
        sleep(&*runtime, Duration::from_millis(10)).await;
    }
}

fn fixture(args: &[&str]) -> Target {
    Target::stdio(env!("CARGO_BIN_EXE_stdio_fixture"), args.iter().copied())
}

async fn stderr_forwarded(runtime: Arc<dyn Runtime>) {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let client = Client::builder()
        .on_stderr(move |line| sink.lock().unwrap().push(line.to_owned()))
        .connect_with(runtime.clone(), fixture(&[]))
        .await
        .unwrap();
    client.ping().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "stderr never arrived");
        sleep(&*runtime, Duration::from_millis(10)).await;
    }
    assert_eq!(lines.lock().unwrap()[0], "stdio fixture started");
    client.close().await;
}

async fn stubborn_shutdown(runtime: Arc<dyn Runtime>) {
    let client = Client::builder()
        .connect_with(runtime, fixture(&["--stubborn"]))
        .await
        .unwrap();
    client.ping().await.unwrap();
    let t = Instant::now();
    // Stdin closes, the server keeps running; after the grace period SIGTERM ends it.
    client.close().await;
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "close did not wait for the server: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "close took {took:?}");
}

/// A smol application that runs its own executor (`SmolExecutor`) gets every task of the
/// client on that executor: the driver lives there while the client does, and nothing is
/// left there once it is closed; the calls complete with only the application's thread
/// running it.
#[test]
fn on_the_applications_own_smol_executor_every_task_runs_there() {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let ex = Arc::new(smol::Executor::new());
    let runtime = Arc::new(mcpwire::runtime::SmolExecutor::new(ex.clone()));
    smol::block_on(ex.run(async {
        let client = Client::builder()
            .connect_with(runtime, server.url().as_str())
            .await
            .unwrap();
        assert!(!ex.is_empty(), "the client's driver runs on the executor");
        for i in 0..5 {
            let r = client
                .call_tool("echo", json!({ "message": i.to_string() }))
                .await
                .unwrap();
            assert_eq!(r.content[0].as_text(), Some(i.to_string().as_str()));
        }
        client.close().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ex.is_empty() && Instant::now() < deadline {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        assert!(ex.is_empty(), "the client's tasks ended with it");
    }));
}
