//! A hostile server cannot make the client hold unbounded bytes, reconnect in a tight loop,
//! open unbounded connections, panic, leak its credentials, outlive it, or fail a call with
//! something that was not its answer. Over real loopback sockets (the fault server's hostile
//! faults) and real child processes (`hostile_stdio`), under tokio and smol. Memory is asserted
//! through the bytes the client says it holds (`Client::memory`), never through timing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::core::Limit;
use mcpwire::runtime::Runtime;
use mcpwire::{Client, Error, Policy, RequestError, SessionError, Target};
use mcpwire_tests::{on_both_runtimes, sleep};
use mcpwire_testserver::{BadJson, Fault, Match, Rule, TestServer};
use serde_json::json;

on_both_runtimes! {
    a_flood_of_notifications_is_held_within_the_notification_byte_limit => notification_flood;
    a_client_that_keeps_no_notifications_holds_none => notifications_off;
    short_get_streams_with_retry_zero_are_reopened_at_a_bounded_rate => short_get_streams;
    a_never_ending_resumption_fails_the_call_after_max_reconnects => endless_resumption;
    a_ping_storm_opens_at_most_max_concurrent_exchanges_connections => ping_storm;
    a_bad_notification_before_the_answer_does_not_fail_the_call => bad_notifications;
    a_lone_surrogate_in_a_result_decodes_as_the_replacement_character => lone_surrogate;
    endless_pages_end_at_the_listing_deadline_and_the_page_limit => endless_pages;
    url_userinfo_becomes_basic_auth_and_never_reaches_host_or_errors => userinfo;
    durations_too_large_for_the_clock_do_not_panic => huge_durations;
    a_stdio_server_that_stops_reading_fails_the_session_at_the_send_backlog => stops_reading;
    a_stderr_line_without_a_newline_is_held_within_the_line_limit => stderr_no_newline;
    invalid_utf8_on_stderr_does_not_stop_the_reading => stderr_invalid_utf8;
    a_byte_order_mark_before_the_first_stdio_message_is_skipped => bom;
    pretty_printed_json_times_out_naming_the_skipped_lines => pretty;
    a_stdio_notification_flood_is_held_within_the_byte_limit => stdio_notification_flood;
    a_server_started_through_a_wrapper_ends_with_the_client => wrapped_child;
    an_exchange_whose_task_panics_fails_at_once => panicking_exchange;
}

/// With both runtime features on (as in this crate), `Client::connect` picks the runtime it is
/// called in: inside `smol::block_on` there is no tokio reactor, and it must not panic.
#[test]
fn connect_inside_smol_block_on_with_both_features_uses_smol() {
    let server = TestServer::start_in_thread();
    smol::block_on(async {
        let client = Client::connect(server.url().as_str())
            .await
            .expect("connect");
        client.ping().await.unwrap();
        client.close().await;
    });
}

const FIXTURE: &str = env!("CARGO_BIN_EXE_hostile_stdio");

async fn connect(runtime: Arc<dyn Runtime>, server: &TestServer) -> Client {
    Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .expect("connect")
}

fn fixture(flags: &[&str]) -> Target {
    Target::stdio(FIXTURE, flags.iter().copied())
}

async fn notification_flood(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let limit = 4 << 20;
    let client = Client::builder()
        .notification_bytes(limit)
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::NotificationFlood {
            count: 200,
            size: 256 << 10,
            then_answer: true,
        },
    ));
    // Nobody reads the notifications while 50 MiB of them arrive.
    let result = client.call_tool("echo", json!({ "message": "hi" })).await;
    assert!(result.is_ok(), "{result:?}");
    let memory = client.memory();
    assert!(
        memory.notification_bytes_peak <= limit,
        "{} bytes of notifications held, over {limit}",
        memory.notification_bytes_peak
    );
    assert!(memory.notifications_dropped > 150, "{memory:?}");
    // What was kept is still readable.
    assert!(client.notifications().try_recv().is_some());
}

async fn notifications_off(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .notification_capacity(0)
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::NotificationFlood {
            count: 100,
            size: 64 << 10,
            then_answer: true,
        },
    ));
    assert!(client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .is_ok());
    let memory = client.memory();
    assert_eq!(memory.notification_bytes_peak, 0);
    assert_eq!(memory.notifications_dropped, 100);
}

async fn short_get_streams(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder()
        .rule(Rule::always(
            Match::Get,
            Fault::ShortStreams { retry_ms: 0 },
        ))
        .start_in_thread();
    let client = connect(runtime.clone(), &server).await;
    sleep(&*runtime, Duration::from_secs(2)).await;
    // The floor (100 ms) and the backoff on empty streams (100, 200, 400, 800 ms...) allow
    // about five reopens in two seconds; a client without them made thousands.
    let gets = server.stats().gets;
    assert!(gets <= 8, "{gets} GETs in two seconds");
    assert!(client.ping().await.is_ok(), "the session goes on");
}

async fn endless_resumption(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let policy = Policy::default()
        .with_max_reconnects(4)
        .with_min_retry(Duration::from_millis(10));
    let client = Client::builder()
        .policy(policy)
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::ShortStreams { retry_ms: 0 },
    ));
    let before = server.stats().gets;
    let err = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Request(RequestError::StreamLost));
    let resumptions = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.last_event_id.is_some())
        .count();
    assert_eq!(resumptions, 4, "resumed max_reconnects times");
    assert!(server.stats().gets - before >= 4);
}

async fn ping_storm(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let cap = 8;
    let client = Client::builder()
        .policy(Policy::default().with_max_concurrent_exchanges(cap))
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::PingStorm { count: 2000 },
    ));
    let result = client.call_tool("echo", json!({ "message": "hi" })).await;
    assert!(result.is_ok(), "{result:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.stats().pings_answered < 2000 {
        assert!(Instant::now() < deadline, "{:?}", server.stats());
        sleep(&*runtime, Duration::from_millis(20)).await;
    }
    let stats = server.stats();
    assert!(
        stats.max_concurrent_connections <= cap + 1,
        "{} connections open at once for a cap of {cap}",
        stats.max_concurrent_connections
    );
}

async fn bad_notifications(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    for kind in [
        BadJson::DeepNesting,
        BadJson::HugeNumber,
        BadJson::LoneSurrogate,
        BadJson::NotJson,
    ] {
        server.script(Rule::once(
            Match::Tool("echo".into()),
            Fault::BadNotificationThenAnswer { kind },
        ));
        let result = client.call_tool("echo", json!({ "message": "hi" })).await;
        assert!(result.is_ok(), "{kind:?}: {result:?}");
    }
}

async fn lone_surrogate(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = connect(runtime, &server).await;
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::LoneSurrogateResult,
    ));
    let result = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .unwrap();
    let text = serde_json::to_value(&result.content[0]).unwrap();
    assert_eq!(text["text"], "hi\u{FFFD}");
}

async fn endless_pages(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .timeout(Duration::from_secs(1))
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::always(
        Match::Method("tools/list".into()),
        Fault::EndlessPages {
            delay: Duration::from_millis(50),
        },
    ));
    let start = Instant::now();
    let err = client.list_all_tools().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "one deadline for the listing"
    );
    let client = Client::builder()
        .list_limits(1 << 20, 5)
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let err = client.list_all_tools().await.unwrap_err();
    assert_eq!(
        err,
        Error::Request(RequestError::LimitReached {
            what: Limit::ListPages,
            limit: 5
        })
    );
}

async fn userinfo(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let url = server.url().replace("http://", "http://al%40ice:s3cret@");
    let client = Client::builder()
        .connect_with(runtime.clone(), url.as_str())
        .await
        .unwrap();
    client.ping().await.unwrap();
    let records = server.requests();
    assert!(!records.is_empty());
    for r in &records {
        let host = r.host.as_deref().unwrap_or("");
        assert!(!host.contains('@') && !host.contains("s3cret"), "{host}");
        // "al@ice:s3cret"
        assert_eq!(
            r.authorization.as_deref(),
            Some("Basic YWxAaWNlOnMzY3JldA==")
        );
    }
    // A failure's message names the server, never the password.
    server.script(Rule::once(
        Match::AnyPost,
        Fault::Status {
            status: 503,
            body: "down".into(),
            headers: vec![],
        },
    ));
    let err = client.ping().await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cret"));
    let refused = "http://bob:hunter2@127.0.0.1:9/mcp";
    let err = Client::builder()
        .connect_with(runtime, refused)
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

async fn huge_durations(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .policy(
            Policy::default()
                .with_request_timeout(Duration::MAX)
                .with_max_request_time(Duration::MAX)
                .with_max_retry(Duration::MAX),
        )
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    assert!(client.ping().await.is_ok());
}

async fn stops_reading(runtime: Arc<dyn Runtime>) {
    let limit = 1 << 20;
    let client = Client::builder()
        .policy(Policy::default().with_max_send_backlog(limit))
        .connect_with(runtime, fixture(&["--stop-reading-and-ping"]))
        .await
        .unwrap();
    let err = client.call_tool("echo", json!({})).await.unwrap_err();
    assert_eq!(
        err.session(),
        Some(&SessionError::LimitReached {
            what: Limit::SendBacklog,
            limit
        }),
        "{err:?}"
    );
    let memory = client.memory();
    assert!(
        memory.send_backlog_peak <= limit,
        "{} bytes waited, over {limit}",
        memory.send_backlog_peak
    );
}

async fn stderr_no_newline(runtime: Arc<dyn Runtime>) {
    let limit = 64 << 10;
    let client = Client::builder()
        .stderr_line_limit(limit)
        .on_stderr(|_| {})
        .connect_with(runtime, fixture(&["--stderr-no-newline", "33554432"]))
        .await
        .unwrap();
    assert!(client.call_tool("echo", json!({})).await.is_ok());
    let peak = client.memory().stderr_line_peak;
    assert!(
        peak <= limit,
        "{peak} bytes of one stderr line held, over {limit}"
    );
    assert!(peak > 0, "the line was read");
    client.close().await;
}

async fn stderr_invalid_utf8(runtime: Arc<dyn Runtime>) {
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let client = Client::builder()
        .on_stderr(move |l| seen.lock().unwrap().push(l.to_owned()))
        .connect_with(runtime.clone(), fixture(&["--stderr-invalid-utf8"]))
        .await
        .unwrap();
    sleep(&*runtime, Duration::from_millis(500)).await;
    assert!(client.call_tool("echo", json!({})).await.is_ok());
    let lines = lines.lock().unwrap().clone();
    assert!(lines[0].contains('\u{FFFD}'), "{:?}", &lines[..1]);
    assert!(
        lines.iter().filter(|l| l.starts_with("log line")).count() >= 10,
        "stderr was read past the invalid byte: {} lines",
        lines.len()
    );
    assert!(client.session_error().is_none(), "the server is alive");
}

async fn bom(runtime: Arc<dyn Runtime>) {
    let client = Client::builder()
        .connect_with(runtime, fixture(&["--bom"]))
        .await
        .expect("the BOM is skipped");
    assert!(client.call_tool("echo", json!({})).await.is_ok());
}

async fn pretty(runtime: Arc<dyn Runtime>) {
    let err = Client::builder()
        .timeout(Duration::from_millis(500))
        .connect_with(runtime, fixture(&["--pretty"]))
        .await
        .unwrap_err();
    let Error::Request(RequestError::Session(SessionError::Timeout { skipped, .. })) = &err else {
        panic!("{err:?}")
    };
    assert!(*skipped >= 3, "{err:?}");
    assert!(err.to_string().contains("were not JSON-RPC"), "{err}");
}

async fn stdio_notification_flood(runtime: Arc<dyn Runtime>) {
    let limit = 1 << 20;
    let client = Client::builder()
        .notification_bytes(limit)
        .connect_with(runtime, fixture(&["--notify-flood", "400", "16384"]))
        .await
        .unwrap();
    assert!(client.call_tool("echo", json!({})).await.is_ok());
    let memory = client.memory();
    assert!(memory.notification_bytes_peak <= limit, "{memory:?}");
    assert!(memory.notifications_dropped > 0, "{memory:?}");
}

async fn wrapped_child(runtime: Arc<dyn Runtime>) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid_file =
        std::env::temp_dir().join(format!("mcpwire-wrapped-{}-{n}.pid", std::process::id()));
    // The outer shell does not exec the server (a command follows it), like `npx` and `uvx`.
    // The server itself keeps running when its stdin closes and ignores SIGTERM: only the
    // group's SIGKILL ends it.
    let server = format!(
        "trap '' TERM; echo $$ > {}; exec {} --stubborn",
        pid_file.display(),
        env!("CARGO_BIN_EXE_stdio_fixture")
    );
    let script = format!("sh -c \"{server}\"; exit $?");
    let client = Client::builder()
        .connect_with(runtime.clone(), Target::stdio("sh", ["-c", &script]))
        .await
        .unwrap();
    assert!(client.call_tool("echo", json!({})).await.is_ok());
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::fs::remove_file(&pid_file);
    assert!(alive(pid));
    client.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the server {pid} outlived the client"
        );
        sleep(&*runtime, Duration::from_millis(50)).await;
    }
}

/// A runtime whose TCP connects panic once `panic` is set: a dependency failing inside an
/// exchange's task.
#[derive(Debug)]
struct PanickingConnect {
    inner: Arc<dyn Runtime>,
    panic: Arc<std::sync::atomic::AtomicBool>,
}

impl Runtime for PanickingConnect {
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn spawn(&self, task: mcpwire::runtime::BoxFuture<'static, ()>) {
        self.inner.spawn(task)
    }
    fn sleep_until(&self, deadline: Instant) -> mcpwire::runtime::BoxFuture<'static, ()> {
        self.inner.sleep_until(deadline)
    }
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> mcpwire::runtime::BoxFuture<'static, std::io::Result<Box<dyn mcpwire::runtime::Io>>> {
        let connect = self.inner.connect(host, port);
        let panic = self.panic.load(std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if panic {
                panic!("a dependency panicked inside the exchange (scripted by the test)");
            }
            connect.await
        })
    }
    fn spawn_process(
        &self,
        command: &mcpwire::runtime::Command,
    ) -> std::io::Result<mcpwire::runtime::Process> {
        self.inner.spawn_process(command)
    }
}

async fn panicking_exchange(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let panic = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runtime: Arc<dyn Runtime> = Arc::new(PanickingConnect {
        inner: runtime,
        panic: panic.clone(),
    });
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    panic.store(true, std::sync::atomic::Ordering::SeqCst);
    let start = Instant::now();
    // More calls at once than idle connections: some need a new one, whose task panics.
    let calls: Vec<_> = (0..4)
        .map(|_| Box::pin(client.call_tool("echo", json!({ "message": "hi" }))))
        .collect();
    let results = mcpwire_tests::join_timed(calls).await;
    assert!(
        results
            .iter()
            .any(|(r, _)| matches!(r, Err(Error::Request(RequestError::Transport(_))))),
        "{results:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "no call waited for its deadline"
    );
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
