//! A session recorded over real sockets and real child processes, under tokio and under
//! smol, replays in the core to the same outputs and events; a recording changed in one input
//! reports the divergence at the line where the replay parts; and a recording keeps no
//! secret (an `Authorization` header, the tokens of an OAuth token response).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::auth::{MemoryStore, OAuth, OAuthConfig, TokenStore, UserStep};
use mcpwire::core::record::{self, Mismatch};
use mcpwire::runtime::Runtime;
use mcpwire::{Client, Error, RecordOptions, Target};
use mcpwire_tests::{join_timed, npm, on_both_runtimes, sleep};
use mcpwire_testserver::{Fault, Match, OAuthConfig as ServerOAuth, Rule, TestServer};
use serde_json::json;

on_both_runtimes! {
    a_503_under_eight_held_calls_replays => held_503;
    a_resumed_sse_stream_replays => sse_resumed;
    a_stdio_child_that_exits_replays => stdio_exit;
    a_changed_input_is_a_divergence_naming_its_line => changed_input;
    an_authorization_header_and_oauth_tokens_are_not_recorded => no_secrets;
    redacted_payloads_leave_arguments_and_results_out => redacted_payloads;
    a_recording_is_written_as_it_happens_and_not_while_idle => written_as_it_happens;
    server_everything_over_http_replays => everything_http;
    server_everything_over_stdio_replays => everything_stdio;
}

/// A fresh file for a recording.
fn file(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "mcpwire-recording-{}-{name}-{n}.jsonl",
        std::process::id()
    ))
}

/// The recording once the session has closed (its last event written).
async fn recorded(runtime: &dyn Runtime, path: &PathBuf) -> String {
    for _ in 0..500 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // The closing line whole: a reader can see a write to the file half done.
        let whole = text
            .split_inclusive('\n')
            .any(|l| l.ends_with('\n') && l.contains(r#"{"event":{"closed""#));
        if whole {
            // `MCPWIRE_KEEP_RECORDINGS=<dir>` keeps them (how tests/recordings/ was made).
            if let Some(dir) = std::env::var_os("MCPWIRE_KEEP_RECORDINGS") {
                let _ = std::fs::copy(path, PathBuf::from(dir).join(path.file_name().unwrap()));
            }
            let _ = std::fs::remove_file(path);
            return text;
        }
        sleep(runtime, Duration::from_millis(10)).await;
    }
    panic!("the recording never showed the session closing");
}

/// Replays `text`, which must agree all the way, and returns the error the session ended with.
fn replays(text: &str) -> String {
    let done = record::assert_replays(text, Instant::now());
    assert!(!done.truncated);
    assert!(done.steps > 3 && done.outputs > 3, "{done:?}");
    done.closed.expect("the replay closed the session")
}

/// How many recorded lines contain `needle`.
fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

fn echo(
    client: &Client,
) -> impl std::future::Future<Output = Result<mcpwire::schema::CallToolResult, Error>> + Unpin + '_
{
    Box::pin(client.call_tool("echo", json!({ "message": "hi" })))
}

/// Eight calls held on open SSE streams, then a 503: recorded and replayed.
async fn record_503(runtime: Arc<dyn Runtime>) -> String {
    let server = TestServer::builder()
        .no_get_stream()
        .rule(Rule::times(Match::Tool("echo".into()), Fault::HoldSse, 8))
        .start_in_thread();
    let path = file("503");
    let client = Client::builder()
        .record(&path)
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .expect("connect");
    let calls: Vec<_> = (0..8).map(|_| echo(&client)).collect();
    let mut started = std::pin::pin!(join_timed(calls));
    let held = async {
        while server.stats().open_streams < 8 {
            sleep(&*runtime, Duration::from_millis(5)).await;
        }
    };
    let waited = futures_lite::future::or(async { Err(started.as_mut().await) }, async {
        held.await;
        Ok(())
    })
    .await;
    assert!(waited.is_ok(), "a held call completed early: {waited:?}");
    server.script(Rule::once(
        Match::AnyPost,
        Fault::Status {
            status: 503,
            body: "overloaded".into(),
            headers: vec![],
        },
    ));
    let (ninth, eight) = futures_lite::future::zip(echo(&client), started).await;
    assert!(ninth.is_err() && eight.iter().all(|(r, _)| r.is_err()));
    recorded(&*runtime, &path).await
}

async fn held_503(runtime: Arc<dyn Runtime>) {
    let text = record_503(runtime).await;
    // What was recorded: nine calls, a 503, nine failures and the end.
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""rpc":"tools/call""#))
        .collect();
    assert_eq!(calls.len(), 9, "{calls:#?}");
    assert_eq!(count(&text, r#""status":503"#), 1);
    let failed = text
        .lines()
        .filter(|l| l.contains(r#"{"response":"#) && l.contains(r#""error":"HTTP 503"#))
        .count();
    assert_eq!(failed, 9, "{text}");
    assert_eq!(count(&text, r#"{"closed":{"error":"HTTP 503"#), 1);
    let closed = replays(&text);
    assert!(closed.starts_with("HTTP 503"), "{closed}");
}

async fn sse_resumed(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let path = file("resumed");
    let client = Client::builder()
        .record(&path)
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .expect("connect");
    let fault = Fault::SseEndWithoutResponse {
        event_id: Some("ev-1".into()),
        retry_ms: Some(50),
    };
    server.script(Rule::once(Match::Tool("echo".into()), fault));
    echo(&client).await.expect("answered on the resumed stream");
    client.close().await;
    let text = recorded(&*runtime, &path).await;
    assert_eq!(count(&text, r#""kind":"resume""#), 1, "{text}");
    // The resumption waited the server's `retry`: a timer fired for it.
    assert!(count(&text, r#"{"in":"timeout"}"#) + count(&text, r#""timeout""#) > 0);
    replays(&text);
}

async fn stdio_exit(runtime: Arc<dyn Runtime>) {
    let path = file("stdio");
    let fixture = Target::stdio(env!("CARGO_BIN_EXE_stdio_fixture"), Vec::<String>::new());
    let client = Client::builder()
        .record(&path)
        .connect_with(runtime.clone(), fixture)
        .await
        .unwrap();
    let hang = || Box::pin(client.call_tool("hang", json!({})));
    let held = join_timed(vec![hang(), hang(), hang()]);
    let (held, exit) = futures_lite::future::zip(held, client.call_tool("exit", json!({}))).await;
    assert!(exit.is_err() && held.iter().all(|(r, _)| r.is_err()));
    let text = recorded(&*runtime, &path).await;
    assert_eq!(count(&text, r#"{"exited":{"code":3}}"#), 1, "{text}");
    let closed = replays(&text);
    assert!(
        closed.contains("exited") && closed.contains('3'),
        "{closed}"
    );
}

async fn changed_input(runtime: Arc<dyn Runtime>) {
    let text = record_503(runtime).await;
    let at = text
        .lines()
        .position(|l| l.contains(r#""status":503"#))
        .unwrap();
    let changed = text.replacen(r#""status":503"#, r#""status":502"#, 1);
    let d = record::replay(&changed, Instant::now()).unwrap_err();
    // The first output after the changed head that depends on it: a call failing with 502.
    assert!(d.line > at + 1, "{d}");
    match &d.mismatch {
        Mismatch::Output { expected, found } => {
            let (expected, found) = (expected.to_string(), found.to_string());
            assert!(expected.contains("503") && found.contains("502"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    let shown = d.to_string();
    assert!(shown.starts_with(&format!("line {}: ", d.line)), "{shown}");
}

const REDIRECT: &str = "http://127.0.0.1:1/callback";

async fn no_secrets(runtime: Arc<dyn Runtime>) {
    // A static Authorization header.
    let server = TestServer::start_in_thread();
    let path = file("header");
    let client = Client::builder()
        .header("Authorization", "Bearer static-secret-4711")
        .record(&path)
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    echo(&client).await.unwrap();
    client.close().await;
    let text = recorded(&*runtime, &path).await;
    assert!(!text.contains("static-secret-4711"), "{text}");
    assert!(text.contains(r#"["authorization","<redacted>"]"#));
    replays(&text);

    // The OAuth flow: registration, the user step, the token response.
    let server = TestServer::builder()
        .oauth(ServerOAuth::new())
        .start_in_thread();
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let path = file("oauth");
    let oauth = OAuth::new(OAuthConfig::new(REDIRECT), UserStep::Headless).store(store.clone());
    let client = Client::builder()
        .oauth(oauth)
        .record(&path)
        .connect_with(runtime.clone(), Target::http(server.url()))
        .await
        .expect("connect, authorizing on the way");
    echo(&client).await.unwrap();
    client.close().await;
    let text = recorded(&*runtime, &path).await;
    let tokens = store
        .load(&server.url())
        .and_then(|c| c.tokens)
        .expect("the flow kept tokens");
    // The test server's tokens are short (`at-N`, `rt-N`): look for them as values.
    let refresh = tokens.refresh_token.expect("a refresh token");
    for token in [&tokens.access_token, &refresh] {
        for shown in [format!(r#"\"{token}\""#), format!("Bearer {token}")] {
            assert!(!text.contains(&shown), "{shown} is recorded: {text}");
        }
    }
    assert!(
        text.contains(r#"\"access_token\":\"<redacted>\""#),
        "{text}"
    );
    assert!(text.contains(r#"{"k":"cmd""#) && text.contains(r#""redirect""#));
    assert!(text.contains("code=%3Credacted%3E"), "{text}");
    replays(&text);
}

/// server-everything: a few calls, recorded and replayed.
async fn everything(runtime: Arc<dyn Runtime>, target: Target) {
    let path = file("everything");
    let client = Client::builder()
        .record(&path)
        .connect_with(runtime.clone(), target)
        .await
        .expect("connect to server-everything");
    let tools = client.list_tools(None).await.unwrap();
    assert!(!tools.tools.is_empty());
    let echo = client
        .call_tool("echo", json!({"message": "recorded"}))
        .await
        .unwrap();
    assert!(!echo.is_error());
    client.close().await;
    let text = recorded(&*runtime, &path).await;
    assert!(count(&text, r#""rpc":"tools/call""#) + count(&text, r#""tools/call""#) > 0);
    replays(&text);
}

async fn everything_http(runtime: Arc<dyn Runtime>) {
    let server = npm::ServerEverythingHttp::start();
    everything(runtime, Target::http(server.url.clone())).await;
}

async fn everything_stdio(runtime: Arc<dyn Runtime>) {
    let target = Target::Stdio(
        mcpwire::runtime::Command::new(npm::node().display().to_string())
            .arg(npm::server_everything().display().to_string())
            .arg("stdio"),
    );
    everything(runtime, target).await;
}

async fn redacted_payloads(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let path = file("payloads");
    let options = RecordOptions::default().with_redacted_payloads(true);
    let client = Client::builder()
        .record_with(&path, options)
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    let echo = client
        .call_tool("echo", json!({ "message": "private-payload-81" }))
        .await
        .unwrap();
    assert_eq!(echo.content[0].as_text(), Some("private-payload-81"));
    client.close().await;
    let text = recorded(&*runtime, &path).await;
    assert!(!text.contains("private-payload-81"), "{text}");
    assert!(text.contains(r#""payloads_redacted":true"#));
    replays(&text);
}

async fn written_as_it_happens(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let path = file("live");
    let client = Client::builder()
        .record(&path)
        .connect_with(runtime.clone(), server.url().as_str())
        .await
        .unwrap();
    echo(&client).await.unwrap();
    // The session goes on; what it did is in the file within moments (20 ms).
    sleep(&*runtime, Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#"{"event":{"response":{"id":"#), "{text}");
    let complete = text.len();
    // Idle, nothing more is written.
    sleep(&*runtime, Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap().len(), complete);
    // What was written so far replays.
    let done = record::assert_replays(&text, Instant::now());
    assert!(done.closed.is_none());
    client.close().await;
    replays(&recorded(&*runtime, &path).await);
}
