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

#[test]
fn key_value_arguments_are_typed_by_the_tools_input_schema() {
    // `message` is a string: 42, true and null stay the text they are (once they were sent
    // as JSON, and the server refused them).
    for text in ["42", "true", "null", "[1]"] {
        let run = over_stdio(&["call", "echo", &format!("message={text}")]);
        assert_eq!(run.expect_code(0).stdout, format!("Echo: {text}\n"));
    }
    // Numbers, a boolean and an enum's string.
    let run = over_stdio(&["call", "get-sum", "a=2", "b=40"]);
    assert_eq!(run.expect_code(0).stdout, "The sum of 2 and 40 is 42.\n");
    let run = over_stdio(&[
        "--json",
        "call",
        "get-annotated-message",
        "messageType=success",
        "includeImage=false",
    ]);
    let result: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout).unwrap();
    assert_eq!(result["isError"], serde_json::Value::Null, "{result}");
    assert_eq!(
        result["content"].as_array().map(Vec::len),
        Some(1),
        "{result}"
    );
    // A value the schema does not allow is a usage error that says what it wants.
    let run = over_stdio(&[
        "call",
        "get-annotated-message",
        "messageType=success",
        "includeImage=yes",
    ]);
    assert_eq!(
        run.expect_code(64).stderr.trim_end(),
        r#"mcpwire: tool arguments: includeImage="yes": the tool's input schema wants boolean for "includeImage""#
    );
}

#[cfg(unix)]
#[test]
fn a_short_call_timeout_does_not_fail_a_server_that_starts_slowly() {
    // The issue's case: `--timeout 0.5` while the server takes 1.5 s to start (as npx does).
    let script = format!(
        "sleep 1.5; exec '{}' '{}' stdio",
        npm::node().display(),
        npm::server_everything().display()
    );
    let mut command = mcpwire();
    command
        .args([
            "--timeout",
            "0.5",
            "call",
            "echo",
            "message=slow start",
            "--",
        ])
        .args(["sh", "-c", &script]);
    let started = run(command, Duration::from_secs(60));
    assert_eq!(started.expect_code(0).stdout, "Echo: slow start\n");
    // --connect-timeout is the one that limits it.
    let mut command = mcpwire();
    command
        .args(["--connect-timeout", "0.5", "tools", "--"])
        .args(["sh", "-c", &script]);
    let limited = run(command, Duration::from_secs(60));
    assert!(
        limited.expect_code(4).stderr.contains("within 500ms"),
        "{}",
        limited.stderr
    );
}

#[test]
fn legacy_http_sse_tools_and_call_with_sse_and_by_the_fallback() {
    let server = npm::ServerEverythingHttp::start_sse();
    let run = over_http(&["--sse", "tools"], &server.url);
    assert!(
        run.expect_code(0).stdout.contains("echo(message: string)"),
        "{}",
        run.stdout
    );
    let run = over_http(
        &["--sse", "call", "echo", "message=hi over sse"],
        &server.url,
    );
    assert_eq!(run.expect_code(0).stdout, "Echo: hi over sse\n");
    // Without --sse: Streamable HTTP's initialize is refused 404, and the client falls back.
    let run = over_http(&["call", "get-sum", r#"{"a": 2, "b": 40}"#], &server.url);
    assert_eq!(run.expect_code(0).stdout, "The sum of 2 and 40 is 42.\n");
    let run = over_http(&["info"], &server.url);
    assert!(
        run.expect_code(0).stdout.contains("2024-11-05"),
        "{}",
        run.stdout
    );
}

#[test]
fn call_as_a_task_shows_each_status_then_the_result_and_tasks_lists() {
    let run = over_stdio(&["call", "--task", "simulate-research-query", "topic=cli"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Research Report"), "{}", run.stdout);
    let statuses: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("task "))
        .collect();
    assert!(
        statuses.iter().any(|l| l.contains(" working")),
        "{}",
        run.stderr
    );
    assert!(
        statuses.last().is_some_and(|l| l.contains(" completed")),
        "{}",
        run.stderr
    );
    // Tasks are the session's: a new session sees none of the last one's.
    let run = over_stdio(&["tasks"]);
    run.expect_code(0);
    assert!(run.stderr.contains("no tasks"), "{}", run.stderr);
}
