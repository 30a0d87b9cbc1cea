//! `mcpwire tools`, `call`, `resources`, `read`, `prompts` and `get` work the same against a
//! server of each era — the Python SDK's 2026-07-28 server and server-everything's 2025 one —
//! over stdio and over Streamable HTTP, and `--json` says which revision was spoken.

mod support;

use std::time::Duration;

use mcpwire_tests::npm;
use mcpwire_tests::peer2026::{self, Rev2026Http};
use serde_json::Value;
use support::{mcpwire, run, Run};

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// `mcpwire <args> <server...>`: `server` is a URL, or `--` and a command line.
fn mcpwire_at(args: &[&str], server: &[String]) -> Run {
    let mut command = mcpwire();
    command.args(args).args(server);
    run(command, Duration::from_secs(60))
}

fn every_command(server: &[String], revision: &str, echo: &str, resource: &str) {
    let run = mcpwire_at(&["--json", "tools"], server);
    let listed = json(run.expect_code(0));
    assert_eq!(listed["protocolVersion"], revision, "{}", run.stdout);
    assert!(listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "echo"));

    let run = mcpwire_at(&["call", "echo", "message=hi both"], server);
    assert_eq!(run.expect_code(0).stdout, format!("{echo}\n"));
    let run = mcpwire_at(&["--json", "call", "echo", "message=hi"], server);
    assert_eq!(json(run.expect_code(0))["protocolVersion"], revision);

    let run = mcpwire_at(&["resources"], server);
    assert!(
        run.expect_code(0).stdout.contains(resource),
        "{}",
        run.stdout
    );
    let run = mcpwire_at(&["--json", "read", resource], server);
    let read = json(run.expect_code(0));
    assert_eq!(read["protocolVersion"], revision);
    assert!(read["contents"].as_array().is_some_and(|c| !c.is_empty()));

    let run = mcpwire_at(&["--json", "prompts"], server);
    assert_eq!(json(run.expect_code(0))["protocolVersion"], revision);
}

#[test]
fn the_2026_peer_over_http_and_stdio() {
    let http = Rev2026Http::start();
    every_command(
        std::slice::from_ref(&http.url),
        "2026-07-28",
        "hi both",
        "test://static",
    );
    let command = peer2026::stdio_command();
    let mut stdio = vec!["--".to_owned(), command.program];
    stdio.extend(command.args);
    every_command(&stdio, "2026-07-28", "hi both", "test://static");
    let run = mcpwire_at(&["get", "greet", "name=Ada"], &stdio);
    assert!(run.expect_code(0).stdout.contains("Ada"), "{}", run.stdout);
}

#[test]
fn server_everything_of_the_2025_era_over_http_and_stdio() {
    let http = npm::ServerEverythingHttp::start();
    let document = "demo://resource/static/document/features.md";
    every_command(
        std::slice::from_ref(&http.url),
        "2025-11-25",
        "Echo: hi both",
        document,
    );
    let stdio = vec![
        "--".to_owned(),
        npm::node().display().to_string(),
        npm::server_everything().display().to_string(),
        "stdio".to_owned(),
    ];
    every_command(&stdio, "2025-11-25", "Echo: hi both", document);
}
