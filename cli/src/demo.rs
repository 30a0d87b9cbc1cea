//! `mcpwire demo`: no setup. Starts the fault-injecting test server in-process on loopback,
//! talks to it over real sockets, then scripts a 503 while eight calls wait on event streams
//! and shows that all nine calls fail at once, with the server's answer, instead of hanging.

use std::time::{Duration, Instant};

use mcpwire::core::jsonrpc::ErrorObject;
use mcpwire::runtime::BoxFuture;
use mcpwire::schema::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, ListRootsResult, Root, ServerNotification,
};
use mcpwire::{CallOptions, Client, Handler};
use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use serde_json::{json, Map, Value};

use crate::exit::{one_line, Failure};
use crate::print;
use crate::progress::CallProgress;

/// How many calls are held open on event streams when the 503 comes.
const HELD: usize = 8;

/// Runs the demo.
pub async fn run() -> Result<(), Failure> {
    let server = TestServer::start_in_thread();
    let url = server.url();
    print::out(&format!(
        "mcpwire demo: a scriptable MCP server (mcpwire-testserver) listens on {url}"
    ))?;
    let client = Client::builder()
        .client_info("mcpwire-demo", env!("CARGO_PKG_VERSION"))
        .handler(DemoHandler)
        .connect(url.as_str())
        .await
        .map_err(|e| Failure::mcp(format!("connecting to {url}"), e))?;
    let info = client.server();

    let outcome = async {
        print::out(&format!(
            "connected to {} {} over Streamable HTTP, protocol {}",
            info.server_info.name, info.server_info.version, info.protocol_version
        ))?;
        list_tools(&client).await?;
        call_tools(&client).await?;
        fail_with_503(&client, &server).await
    }
    .await;
    client.close().await;
    drop(server);
    outcome
}

async fn list_tools(client: &Client) -> Result<(), Failure> {
    let tools = client
        .list_all_tools()
        .await
        .map_err(|e| Failure::mcp("tools/list", e))?;
    print::out(&format!(
        "\n1. tools/list ({} tools, over two pages)",
        tools.len()
    ))?;
    for tool in &tools {
        let description = tool.description.as_deref().unwrap_or_default();
        print::out(&format!("   {:<8} {description}", tool.name))?;
    }
    Ok(())
}

async fn call_tools(client: &Client) -> Result<(), Failure> {
    print::out("\n2. tools/call")?;
    let calls = [
        ("echo", json!({"message": "hello from mcpwire"})),
        ("add", json!({"a": 2, "b": 40})),
        ("slow", json!({"steps": 10, "ms": 100})),
        ("fail", json!({})),
        ("sample", json!({"prompt": "Say hello."})),
        ("elicit", json!({})),
        ("roots", json!({})),
    ];
    for (tool, arguments) in calls {
        let Value::Object(arguments) = arguments else {
            continue;
        };
        let progress = CallProgress::new(tool);
        let params = mcpwire::schema::CallToolParams::new(tool, arguments.clone());
        let start = Instant::now();
        let result = client
            .call_tool_with(params, progress.options(CallOptions::new()))
            .await;
        progress.finish();
        let took = ms(start.elapsed());
        let shown = Value::Object(arguments).to_string();
        match result {
            Ok(result) => {
                let text = one_line(&crate::output::call_result(&result));
                let flag = if result.is_error() { "  (isError)" } else { "" };
                let reports = match progress.reports() {
                    0 => String::new(),
                    n => format!(", {n} progress reports"),
                };
                print::out(&format!(
                    "   {tool}{shown} -> {text}{flag}  [{took:.1} ms{reports}]"
                ))?;
            }
            Err(e) => return Err(Failure::mcp(format!("tools/call {tool}"), e)),
        }
    }
    Ok(())
}

/// Holds `HELD` calls on event streams, scripts a 503 for the next POST, makes one more call,
/// and prints when and how each of them failed.
async fn fail_with_503(client: &Client, server: &TestServer) -> Result<(), Failure> {
    print::out(&format!(
        "\n3. {HELD} echo calls wait on open event streams (Fault::HoldSse); then the next POST \
         is answered 503"
    ))?;
    let notifications = client.notifications();
    while notifications.try_recv().is_some() {}
    server.script(Rule::times(
        Match::Tool("echo".into()),
        Fault::HoldSse,
        HELD,
    ));
    let mut calls = Vec::new();
    for i in 1..=HELD {
        let client = client.clone();
        let arguments = json!({"message": format!("held {i}")});
        calls.push(tokio::spawn(async move {
            let result = client.call_tool("echo", arguments).await;
            (Instant::now(), result)
        }));
    }
    // Each held stream starts with a log message: once all have arrived, all calls wait.
    let held = async {
        let mut seen = 0;
        while seen < HELD {
            match notifications.recv().await {
                Some(ServerNotification::LoggingMessage(_)) => seen += 1,
                Some(_) => {}
                None => break,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .is_err()
    {
        return Err(Failure::Other("the held calls did not start in 5 s".into()));
    }
    server.script(Rule::once(
        Match::AnyPost,
        Fault::Status {
            status: 503,
            body: "overloaded (scripted by the demo)".into(),
            headers: vec![("Retry-After".into(), "2".into())],
        },
    ));
    let sent = Instant::now();
    let last = client.clone();
    calls.push(tokio::spawn(async move {
        let result = last.call_tool("add", json!({"a": 1, "b": 2})).await;
        (Instant::now(), result)
    }));
    let mut outcomes = Vec::new();
    for call in calls {
        let outcome = call
            .await
            .map_err(|e| Failure::Other(format!("a demo call panicked: {e}")))?;
        outcomes.push(outcome);
    }
    let first = outcomes.iter().map(|(at, _)| *at).min().unwrap_or(sent);
    let mut all_503 = true;
    for (i, (at, result)) in outcomes.iter().enumerate() {
        let what = if i < HELD {
            "(echo, held)"
        } else {
            "(add, the 503)"
        };
        let text = match result {
            Err(e) => {
                all_503 &= e.status().is_some_and(|s| s.as_u16() == 503);
                one_line(&e.to_string())
            }
            Ok(r) => {
                all_503 = false;
                format!("answered: {}", one_line(&crate::output::call_result(r)))
            }
        };
        let after = ms(at.duration_since(first));
        print::out(&format!(
            "   call {} {what:<14} +{after:.3} ms after the 503: {text}",
            i + 1
        ))?;
    }
    let spread = ms(outcomes
        .iter()
        .map(|(at, _)| at.duration_since(first))
        .max()
        .unwrap_or_default());
    print::out(&format!(
        "   all {} calls failed within {spread:.3} ms of the 503, {:.1} ms after call {} was sent; \
         none waited for its 60 s timeout",
        outcomes.len(),
        ms(first.duration_since(sent)),
        HELD + 1
    ))?;

    let start = Instant::now();
    let later = client
        .call_tool("echo", json!({"message": "too late"}))
        .await;
    if let Err(e) = later {
        print::out(&format!(
            "   a call after the session ended fails at once ({:.3} ms): {}",
            ms(start.elapsed()),
            one_line(&e.to_string())
        ))?;
    }
    match all_503 {
        true => Ok(()),
        false => Err(Failure::Other("not every call failed with the 503".into())),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Answers the test server's `sample`, `elicit` and `roots` tools with canned answers.
struct DemoHandler;

impl Handler for DemoHandler {
    fn capabilities(&self) -> ClientCapabilities {
        let mut capabilities = ClientCapabilities::new()
            .with_sampling()
            .with_elicitation()
            .with_roots(false);
        // As before: `listChanged: false` said outright.
        if let Some(roots) = &mut capabilities.roots {
            roots.list_changed = Some(false);
        }
        capabilities
    }

    fn create_message(
        &self,
        _params: CreateMessageParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorObject>> {
        let result = CreateMessageResult::text("mcpwire-demo", "Hello! (a canned demo reply)");
        Box::pin(async move { Ok(result) })
    }

    fn elicit(
        &self,
        _params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        let mut result = ElicitResult::new(ElicitAction::Accept);
        let mut content = Map::new();
        content.insert("name".into(), json!("Ada"));
        result.content = Some(content);
        Box::pin(async move { Ok(result) })
    }

    fn list_roots(&self) -> BoxFuture<'static, Result<ListRootsResult, ErrorObject>> {
        let mut root = Root::new("file:///tmp/mcpwire-demo");
        root.name = Some("demo".into());
        let result = ListRootsResult::new(vec![root]);
        Box::pin(async move { Ok(result) })
    }
}
