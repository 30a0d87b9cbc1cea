//! `tools`, `call` and `read` against the reference server,
//! `@modelcontextprotocol/server-everything`, over stdio and over Streamable HTTP.

mod support;

use std::time::Duration;

use mcpwire_tests::npm;
use support::{mcpwire, run, Run};

/// `mcpwire <args> -- node <server-everything> stdio`.
fn over_stdio(args: &[&str]) -> Run {
    let mut command = mcpwire();
    command
        .args(args)
        .arg("--")
        .arg(npm::node())
        .arg(npm::server_everything())
        .arg("stdio");
    run(command, Duration::from_secs(60))
}

/// `mcpwire <args> <url>`.
fn over_http(args: &[&str], url: &str) -> Run {
    let mut command = mcpwire();
    command.args(args).arg(url);
    run(command, Duration::from_secs(60))
}

const DOCUMENT: &str = "demo://resource/static/document/features.md";

#[test]
fn stdio_tools_call_and_read() {
    let run = over_stdio(&["tools"]);
    assert!(
        run.expect_code(0).stdout.contains("echo(message: string)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("get-sum(a: number, b: number)"),
        "{}",
        run.stdout
    );

    let run = over_stdio(&["call", "echo", "message=hi from stdio"]);
    assert_eq!(run.expect_code(0).stdout, "Echo: hi from stdio\n");

    let run = over_stdio(&["call", "get-sum", r#"{"a": 2, "b": 40}"#]);
    assert_eq!(run.expect_code(0).stdout, "The sum of 2 and 40 is 42.\n");

    let run = over_stdio(&[
        "call",
        "trigger-long-running-operation",
        "duration=1",
        "steps=4",
    ]);
    assert!(
        run.expect_code(0)
            .stdout
            .starts_with("Long running operation completed"),
        "{}",
        run.stdout
    );

    let run = over_stdio(&["read", DOCUMENT]);
    assert!(
        run.expect_code(0)
            .stdout
            .starts_with("# Everything Server - Features"),
        "{}",
        run.stdout
    );

    // Its validation failures are tool results with isError: exit 1.
    let run = over_stdio(&["call", "get-sum", "a=1"]);
    assert!(
        run.expect_code(1).stdout.contains("Input validation error"),
        "{}",
        run.stdout
    );
}

#[test]
fn streamable_http_tools_call_and_read() {
    let server = npm::ServerEverythingHttp::start();
    let run = over_http(&["tools"], &server.url);
    assert!(
        run.expect_code(0).stdout.contains("echo(message: string)"),
        "{}",
        run.stdout
    );

    let run = over_http(&["call", "echo", "message=hi from http"], &server.url);
    assert_eq!(run.expect_code(0).stdout, "Echo: hi from http\n");

    let run = over_http(
        &[
            "--json",
            "call",
            "get-structured-content",
            "location=Chicago",
        ],
        &server.url,
    );
    let result: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout).unwrap();
    assert!(
        result["structuredContent"]["temperature"].is_number(),
        "{result}"
    );

    let run = over_http(
        &[
            "call",
            "trigger-long-running-operation",
            "duration=1",
            "steps=4",
        ],
        &server.url,
    );
    assert!(
        run.expect_code(0)
            .stdout
            .starts_with("Long running operation completed"),
        "{}",
        run.stdout
    );

    let run = over_http(&["read", DOCUMENT], &server.url);
    assert!(
        run.expect_code(0)
            .stdout
            .starts_with("# Everything Server - Features"),
        "{}",
        run.stdout
    );
}
