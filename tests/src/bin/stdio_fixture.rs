//! A tiny stdio MCP server for failure tests: it answers `initialize` and `tools/list`, and
//! for `tools/call` obeys the tool's name: `echo` answers, `hang` never does, `exit` exits
//! with code 3 without answering, `garbage` writes a line that is not JSON-RPC first.
//! It says hello on stderr. With `--stubborn` it keeps running after its stdin closes, so only
//! a signal ends it.

use std::io::{BufRead, Write};

fn main() {
    eprintln!("stdio fixture started");
    let stubborn = std::env::args().any(|a| a == "--stubborn");
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id").cloned() else {
            continue;
        };
        let result = match msg["method"].as_str().unwrap_or("") {
            "initialize" => serde_json::json!({
                "protocolVersion": "2025-11-25",
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "stdio-fixture", "version": "1" }
            }),
            "tools/list" => serde_json::json!({ "tools": [] }),
            "tools/call" => match msg["params"]["name"].as_str().unwrap_or("") {
                "hang" => continue,
                "exit" => std::process::exit(3),
                "garbage" => {
                    writeln!(out, "this is not JSON-RPC").unwrap();
                    serde_json::json!({ "content": [{ "type": "text", "text": "after garbage" }] })
                }
                _ => serde_json::json!({ "content": [{ "type": "text", "text": "ok" }] }),
            },
            _ => serde_json::json!({}),
        };
        let reply = serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result });
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
    if stubborn {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}
