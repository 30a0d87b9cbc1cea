//! An application that answers what the server asks of it, on tokio or smol: closures on the
//! builder answer sampling (a stand-in model) and elicitation (a stand-in user) and declare
//! those capabilities; a tool's structured result comes back as the application's type; the
//! server's notifications arrive on the client's stream.
//!
//! It speaks to the repository's test server, whose tools `add`, `sample` and `elicit` do
//! just that; `tests/the_example_runs_on_both_runtimes.rs` runs it.
//!
//! ```sh
//! cargo run -p mcpwire --all-features --example assistant -- http://127.0.0.1:3001/mcp [--smol] [--wait N]
//! ```

use std::sync::Arc;

use mcpwire::runtime::Runtime;
use mcpwire::schema::{CreateMessageResult, ElicitResult, Root, ServerNotification};
use mcpwire::Client;
use serde::{Deserialize, Serialize};

/// The `add` tool's arguments.
#[derive(Serialize)]
pub struct Add {
    pub a: f64,
    pub b: f64,
}

/// The `add` tool's structured result.
#[derive(Debug, Deserialize)]
pub struct Sum {
    pub sum: f64,
}

/// What the run saw.
#[derive(Debug)]
pub struct Report {
    pub sum: f64,
    pub sampled: String,
    pub elicited: String,
    pub notifications: Vec<ServerNotification>,
}

/// Connects to `url` on `runtime`, calls the tools, then waits for `wait_for` notifications.
pub async fn run(
    runtime: Arc<dyn Runtime>,
    url: &str,
    wait_for: usize,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let client = Client::builder()
        .on_sampling(|params| async move {
            // A real application asks its model here.
            let n = params.messages.len();
            Ok::<_, String>(CreateMessageResult::text(
                "stand-in-model",
                format!("an answer to {n} message(s)"),
            ))
        })
        .on_elicitation(|params| async move {
            // A real application asks its user here.
            eprintln!("the server asks: {}", params.message);
            let mut form = serde_json::Map::new();
            form.insert("name".into(), "Ada".into());
            Ok::<_, String>(ElicitResult::accept(form))
        })
        .roots(vec![Root::new("file:///tmp").with_name("scratch")])
        .connect_with(runtime, url)
        .await?;
    let notifications = client.notifications();

    let added = client.call_tool("add", Add { a: 2.0, b: 40.0 }).await?;
    let sum = added.structured::<Sum>()?.sum;
    println!("2 + 40 = {sum}");

    let sampled = client
        .call_tool("sample", serde_json::json!({ "prompt": "Say hi" }))
        .await?;
    println!("sampled: {}", sampled.text());

    #[derive(Deserialize)]
    struct Answer {
        name: String,
    }
    let elicited = client.call_tool("elicit", ()).await?;
    let name = elicited.structured::<Answer>()?.name;
    println!("elicited: {name}");

    let mut seen = Vec::new();
    while seen.len() < wait_for {
        match notifications.recv().await {
            Some(notification) => {
                println!("notification: {notification:?}");
                seen.push(notification);
            }
            None => break, // the session ended
        }
    }
    client.close().await;
    Ok(Report {
        sum,
        sampled: sampled.text(),
        elicited: name,
        notifications: seen,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .ok_or("usage: assistant <url> [--smol] [--wait N]")?
        .clone();
    let wait_for = match args.iter().position(|a| a == "--wait") {
        Some(i) => args.get(i + 1).ok_or("--wait N")?.parse()?,
        None => 0,
    };
    if args.iter().any(|a| a == "--smol") {
        smol::block_on(run(Arc::new(mcpwire::runtime::Smol), &url, wait_for))?;
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let runtime = Arc::new(mcpwire::runtime::Tokio::current());
            run(runtime, &url, wait_for).await
        })?;
    }
    Ok(())
}
