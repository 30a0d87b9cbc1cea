//! An MCP client inside a smol application: connect to a server given as a URL or a
//! command, list its tools, call one, print the result.
//!
//! ```sh
//! cargo run -p mcpwire --features smol --example smol_app -- http://127.0.0.1:3001/mcp echo '{"message":"hi"}'
//! cargo run -p mcpwire --features smol --example smol_app -- "npx -y @modelcontextprotocol/server-everything" echo '{"message":"hi"}'
//! ```

use std::sync::Arc;

use mcpwire::runtime::Smol;
use mcpwire::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let server = args
        .next()
        .ok_or("usage: smol_app <url or command> [tool] [json arguments]")?;
    // With only the `smol` feature, `Client::connect` picks smol by itself; naming the runtime
    // works whichever features are on.
    let client = Client::builder()
        .connect_with(Arc::new(Smol), server.as_str())
        .await?;
    println!(
        "connected to {} {}",
        client.server().server_info.name,
        client.server().server_info.version
    );

    let tools = client.list_all_tools().await?;
    for tool in &tools {
        println!(
            "- {}: {}",
            tool.name,
            tool.description.as_deref().unwrap_or("")
        );
    }
    let Some(name) = args
        .next()
        .or_else(|| tools.first().map(|t| t.name.clone()))
    else {
        return Ok(());
    };
    let arguments = match args.next() {
        Some(json) => serde_json::from_str(&json)?,
        None => serde_json::Value::Null,
    };
    let result = client.call_tool(&name, arguments).await?;
    println!("{name} -> {}", serde_json::to_string_pretty(&result)?);
    client.close().await;
    Ok(())
}
