//! What a Rust user writes, over a real socket under both runtimes: arguments as any
//! `Serialize` type, per-call options that do not change them, a result's text and its
//! structured content as the user's type.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::schema::StructuredError;
use mcpwire::{Client, ConfigError, Error};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

on_both_runtimes! {
    a_derived_struct_is_a_tools_arguments_and_the_result_comes_back_typed => typed_call;
    arguments_that_are_not_an_object_fail_typed_and_send_nothing => not_an_object;
    per_call_options_do_not_change_the_arguments => options;
    a_prompts_arguments_are_any_serializable_object => prompt;
}

#[derive(Serialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Sum {
    sum: i64,
}

async fn typed_call(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let result = client.call_tool("add", Add { a: 2, b: 40 }).await.unwrap();
    assert_eq!(result.text(), "42");
    assert_eq!(result.structured::<Sum>().unwrap(), Sum { sum: 42 });

    // The old ways still work: a `Value`, and no arguments at all.
    let echo = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .unwrap();
    assert_eq!(echo.text(), "hi");
    assert!(matches!(
        echo.structured::<Sum>(),
        Err(StructuredError::Absent)
    ));
    let fail = client.call_tool("fail", ()).await.unwrap();
    assert!(fail.is_error());
    // A structured result that is not the type asked for.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        total: String,
    }
    let err = result.structured::<Wrong>().unwrap_err();
    assert!(matches!(err, StructuredError::Invalid(_)), "{err:?}");
}

async fn not_an_object(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let before = server.stats().posts;
    for err in [
        client.call_tool("echo", "secret-value").await.unwrap_err(),
        client.call_tool("echo", vec![1, 2]).await.unwrap_err(),
        client.call_tool("echo", 7).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::Config(ConfigError::InvalidArguments(_))),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secret-value"), "{err}");
    }
    assert_eq!(server.stats().posts, before, "nothing was sent");
    // A call's `Debug` names the tool and its arguments, never their values.
    let call = client.call_tool("echo", json!({ "message": "secret-value", "n": 1 }));
    let shown = format!("{call:?}");
    assert!(shown.contains(r#"name: "echo""#), "{shown}");
    assert!(
        shown.contains(r#"arguments: Some(["message", "n"])"#),
        "{shown}"
    );
    assert!(!shown.contains("secret-value"), "{shown}");
    drop(call);
    assert_eq!(
        server.stats().posts,
        before,
        "a call dropped before it is awaited sends nothing"
    );
    // The session is fine afterwards.
    client.ping().await.unwrap();
}

async fn options(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    #[derive(Serialize)]
    struct Slow {
        steps: u32,
        ms: u32,
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = seen.clone();
    let done = client
        .call_tool("slow", Slow { steps: 3, ms: 20 })
        .timeout(Duration::from_secs(5))
        .on_progress(move |p| progress.lock().unwrap().push(p.progress))
        .await
        .unwrap();
    assert_eq!(done.text(), "done after 3 steps");
    assert_eq!(*seen.lock().unwrap(), vec![1.0, 2.0, 3.0]);

    let err = client
        .call_tool("slow", Slow { steps: 1, ms: 2000 })
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

async fn prompt(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    #[derive(Serialize)]
    struct Greet<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        unused: Option<u8>,
    }
    let got = client
        .get_prompt(
            "greet",
            Greet {
                name: "Ada",
                unused: None,
            },
        )
        .await
        .unwrap();
    let text = serde_json::to_value(&got.messages[0].content).unwrap();
    assert_eq!(text["text"], "Please greet Ada.");
    // A map as before, and none.
    let mut map = std::collections::BTreeMap::new();
    map.insert("name".to_owned(), "Bo".to_owned());
    let got = client.get_prompt("greet", map).await.unwrap();
    assert_eq!(
        serde_json::to_value(&got.messages[0].content).unwrap()["text"],
        "Please greet Bo."
    );
    client.get_prompt("greet", ()).await.unwrap();
    let err = client
        .get_prompt("greet", json!({ "name": ["a", "list"] }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::InvalidArguments(_))),
        "{err:?}"
    );
}

on_both_runtimes! {
    closures_on_the_builder_answer_the_server_and_declare_their_capabilities => closures;
    a_closures_error_reaches_the_server_as_a_json_rpc_error => closure_errors;
    notifications_arrive_on_the_crates_own_stream => notification_stream;
    closed_resolves_with_the_error_that_ended_the_session => closed;
}

async fn closures(runtime: Arc<dyn Runtime>) {
    use mcpwire::schema::{CreateMessageResult, ElicitResult, Root};
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .on_sampling(|params| async move {
            let asked = serde_json::to_value(&params.messages[0].content).unwrap();
            let text = format!("sampled: {}", asked["text"].as_str().unwrap_or_default());
            Ok::<_, String>(CreateMessageResult::text("test-model", text))
        })
        .on_elicitation(|_params| async move {
            let mut form = serde_json::Map::new();
            form.insert("name".into(), json!("Ada"));
            Ok::<_, String>(ElicitResult::accept(form))
        })
        .roots(vec![Root::new("file:///work").with_name("work")])
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let sampled = client
        .call_tool("sample", json!({ "prompt": "hi" }))
        .await
        .unwrap();
    assert!(!sampled.is_error(), "{sampled:?}");
    assert_eq!(sampled.text(), "sampled: hi");
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    let elicited = client.call_tool("elicit", ()).await.unwrap();
    assert_eq!(elicited.structured::<Name>().unwrap().name, "Ada");
    let roots = client.call_tool("roots", ()).await.unwrap();
    let roots: serde_json::Value = serde_json::from_str(&roots.text()).unwrap();
    assert_eq!(roots, json!([{"uri": "file:///work", "name": "work"}]));
}

async fn closure_errors(runtime: Arc<dyn Runtime>) {
    use mcpwire::core::jsonrpc::ErrorObject;
    use mcpwire::schema::ElicitResult;
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .on_sampling(|_params| async move {
            Err::<mcpwire::schema::CreateMessageResult, _>(ErrorObject::new(
                -1,
                "User rejected sampling request",
            ))
        })
        .on_elicitation(|_params| async move {
            Err::<ElicitResult, _>(std::io::Error::other("no terminal to ask on"))
        })
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let sampled = client.call_tool("sample", ()).await.unwrap();
    assert!(sampled.is_error());
    assert!(sampled.text().contains("\"code\":-1"), "{}", sampled.text());
    assert!(
        sampled.text().contains("User rejected"),
        "{}",
        sampled.text()
    );
    let elicited = client.call_tool("elicit", ()).await.unwrap();
    assert!(elicited.is_error());
    assert!(
        elicited.text().contains("\"code\":-32603"),
        "{}",
        elicited.text()
    );
    assert!(
        elicited.text().contains("no terminal to ask on"),
        "{}",
        elicited.text()
    );
    // Roots were not declared: the server's request is refused as unknown.
    let roots = client.call_tool("roots", ()).await.unwrap();
    assert!(roots.is_error());
    assert!(roots.text().contains("-32601"), "{}", roots.text());
}

async fn notification_stream(runtime: Arc<dyn Runtime>) {
    use futures_lite::StreamExt;
    use mcpwire::schema::ServerNotification;
    use mcpwire::Notifications;
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    let mut received: Notifications = client.notifications();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.notify("notifications/tools/list_changed", json!({})) {
        assert!(std::time::Instant::now() < deadline, "no server stream");
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(10)).await;
    }
    server.notify("notifications/prompts/list_changed", json!({}));
    assert_eq!(
        received.next().await,
        Some(ServerNotification::ToolListChanged)
    );
    assert_eq!(
        received.recv().await,
        Some(ServerNotification::PromptListChanged)
    );
    server.notify("notifications/resources/list_changed", json!({}));
    server.notify("notifications/tools/list_changed", json!({}));
    // `try_iter` never waits: take what has arrived until both have.
    let mut waiting = Vec::new();
    while waiting.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "{waiting:?}");
        waiting.extend(received.try_iter());
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(10)).await;
    }
    assert_eq!(
        waiting,
        vec![
            ServerNotification::ResourceListChanged,
            ServerNotification::ToolListChanged
        ]
    );
    client.close().await;
    assert_eq!(
        received.next().await,
        None,
        "the stream ends with the session"
    );
}

async fn closed(runtime: Arc<dyn Runtime>) {
    use mcpwire::SessionError;
    use mcpwire_testserver::{Fault, Match, Rule};
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    assert_eq!(client.session_error(), None);
    let watcher = client.clone();
    let (why, ()) = futures_lite::future::zip(watcher.closed(), async {
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(50)).await;
        client.close().await;
    })
    .await;
    assert_eq!(why, SessionError::Closed);
    assert_eq!(
        client.closed().await,
        SessionError::Closed,
        "and again at once"
    );

    let client = Client::builder()
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::AnyPost,
        Fault::Status {
            status: 503,
            body: "overloaded".into(),
            headers: vec![],
        },
    ));
    let (why, call) = futures_lite::future::zip(client.closed(), client.ping()).await;
    assert!(call.is_err());
    match why {
        SessionError::Http(e) => assert_eq!(e.status, 503),
        other => panic!("{other:?}"),
    }
}

on_both_runtimes! {
    a_stdio_target_carries_its_env_and_working_directory => stdio_env_and_dir;
}

async fn stdio_env_and_dir(runtime: Arc<dyn Runtime>) {
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let fixture = env!("CARGO_BIN_EXE_stdio_fixture");
    // The shell reports where it runs and what it was given, then becomes the server; the
    // command line is one string, its quoted word kept whole.
    let line = format!("sh -c 'echo \"dir=$(pwd) x=$MCPWIRE_X\" >&2; exec \"$0\"' '{fixture}'");
    let mcpwire::Target::Stdio(command) = mcpwire::Target::from(line) else {
        panic!("a command")
    };
    assert_eq!(command.args.len(), 3, "{:?}", command.args);
    let command = command.env("MCPWIRE_X", "two words").current_dir(&dir);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let client = Client::builder()
        .on_stderr(move |line| sink.lock().unwrap().push(line.to_owned()))
        .connect_with(runtime.clone(), command)
        .await
        .unwrap();
    client.ping().await.unwrap();
    let want = format!("dir={} x=two words", dir.display());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !lines.lock().unwrap().contains(&want) {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            lines.lock().unwrap()
        );
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(10)).await;
    }
    client.close().await;
}

on_both_runtimes! {
    errors_chain_to_the_io_error_and_classify_themselves => error_sources;
}

async fn error_sources(runtime: Arc<dyn Runtime>) {
    use mcpwire_testserver::{Fault, Match, Rule};
    // Refused: the chain of sources reaches the OS's error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Client::builder()
        .connect_with(runtime.clone(), format!("http://127.0.0.1:{port}/mcp"))
        .await
        .unwrap_err();
    let mut source = std::error::Error::source(&err);
    let mut io = None;
    while let Some(e) = source {
        if let Some(e) = e.downcast_ref::<std::io::Error>() {
            io = Some(e.kind());
        }
        source = e.source();
    }
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused), "{err:?}");

    // A command that cannot start is its own variant, with the OS's error as its source.
    let err = Client::builder()
        .connect_with(runtime.clone(), "/nonexistent/mcp-server --flag")
        .await
        .unwrap_err();
    match &err {
        Error::Spawn { program, source } => {
            assert_eq!(program, "/nonexistent/mcp-server");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());

    // A 429 with Retry-After: the status and the delay, without matching.
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    server.script(Rule::once(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 429,
            body: "slow down".into(),
            headers: vec![("Retry-After".into(), "7".into())],
        },
    ));
    let err = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(!err.is_timeout());
    assert!(err.session().is_none(), "a 429 fails the call only");
}

/// A call and a prompt can be spawned on a multi-threaded runtime (`tokio::spawn`).
#[test]
fn the_calls_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn check(client: &Client) {
        send(&client.call_tool("echo", json!({})));
        send(&client.call_tool("echo", ()).timeout(Duration::from_secs(1)));
        send(&client.get_prompt("greet", ()));
        send(&client.closed());
    }
    let _ = check;
}
