//! The command line as a user expects it: `--connect-timeout` apart from `--timeout`, the
//! library's logs with `-v` and `RUST_LOG`, clap's usage errors under `--json`, `bench`'s
//! exit code when every call failed, `info`, `completions`, and what the help lists.

mod support;

use std::time::Duration;

use mcpwire_testserver::{BadJson, Fault, Match, Rule, TestServer};
use serde_json::Value;
use support::{mcpwire, mcpwire_run, run, Run};

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout))
}

/// `mcpwire args...` with `RUST_LOG` set to `rust_log` (or unset).
fn with_rust_log(args: &[&str], rust_log: Option<&str>) -> Run {
    let mut command = mcpwire();
    command.args(args);
    match rust_log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
    run(command, Duration::from_secs(60))
}

/// A server whose `initialize` answers after 1.5 s.
fn slow_to_initialize() -> TestServer {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Method("initialize".into()),
        Fault::Delay(Duration::from_millis(1500)),
    ));
    server
}

#[test]
fn a_short_timeout_does_not_limit_connecting() {
    let server = slow_to_initialize();
    let run = mcpwire_run(&[
        "call",
        "echo",
        "message=hi",
        &server.url(),
        "--timeout",
        "0.5",
    ]);
    assert_eq!(run.expect_code(0).stdout, "hi\n");
    assert!(run.took >= Duration::from_millis(1500), "{:?}", run.took);
}

#[test]
fn connect_timeout_limits_connecting() {
    let server = slow_to_initialize();
    let run = mcpwire_run(&["tools", &server.url(), "--connect-timeout", "0.5"]);
    let line = run.expect_code(4).stderr.trim_end();
    assert_eq!(
        line,
        format!(
            "mcpwire: connecting to {}: no answer to the handshake within 500ms",
            server.url()
        )
    );
    // A long one lets it connect; --timeout still limits the call.
    server.script(Rule::always(Match::Tool("echo".into()), Fault::Stall));
    let run = mcpwire_run(&[
        "call",
        "echo",
        "message=hi",
        &server.url(),
        "--connect-timeout=5",
        "--timeout=0.5",
    ]);
    assert_eq!(
        run.expect_code(4).stderr.trim_end(),
        "mcpwire: tools/call echo: no response within 500ms"
    );
    let run = mcpwire_run(&["tools", &server.url(), "--connect-timeout", "-1"]);
    assert!(
        run.expect_code(64).stderr.contains("negative"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_librarys_warnings_show_on_stderr_and_rust_log_chooses() {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::BadNotificationThenAnswer {
            kind: BadJson::NotJson,
        },
    ));
    let args = ["call", "echo", "message=hi", &server.url()];
    let run = with_rust_log(&args, None);
    assert_eq!(run.expect_code(0).stdout, "hi\n");
    assert!(run.stderr.contains("WARN"), "{}", run.stderr);
    assert!(!run.stderr.contains("DEBUG"), "{}", run.stderr);

    let run = with_rust_log(&args, Some("off"));
    assert_eq!(run.expect_code(0).stderr, "", "RUST_LOG=off");

    let quiet = ["tools", &server.url()];
    let run = with_rust_log(&quiet, None);
    assert_eq!(run.expect_code(0).stderr, "", "no warning, no line");
    let run = with_rust_log(&["-vv", "tools", &server.url()], None);
    assert!(
        run.expect_code(0).stderr.contains("DEBUG"),
        "{}",
        run.stderr
    );
    let run = with_rust_log(&quiet, Some("mcpwire=debug"));
    assert!(
        run.expect_code(0).stderr.contains("DEBUG"),
        "{}",
        run.stderr
    );
    // No colour codes: the lines are for any stderr.
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

#[test]
fn usage_errors_from_clap_honour_json() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    let cases: &[&[&str]] = &[
        &["--json", "tools", &url, "--no-such-option"],
        &["--json", "frobnicate"],
        &["tools", &url, "--timeout", "nan", "--json"],
        &["--json", "bench", &url],
        &["--json"],
    ];
    for args in cases {
        let run = mcpwire_run(args);
        let error = &json(run.expect_code(64))["error"];
        assert_eq!(error["kind"], "usage", "{args:?}: {error}");
        assert_eq!(error["exit"], 64, "{args:?}: {error}");
        let message = error["message"].as_str().expect("a message");
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{message}"
        );
        // clap still explains on stderr.
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}\n{}",
            run.stderr
        );
    }
    let run = mcpwire_run(&["--json", "tools", &url, "--no-such-option"]);
    assert!(
        json(&run)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--no-such-option"),
        "{}",
        run.stdout
    );
    // Without --json, nothing on stdout; after `--`, --json is the server's.
    let run = mcpwire_run(&["tools", &url, "--no-such-option"]);
    assert_eq!(run.expect_code(64).stdout, "");
    let run = mcpwire_run(&["frobnicate", "--", "server", "--json"]);
    assert_eq!(run.expect_code(64).stdout, "");
    // --help and --version are no errors.
    let run = mcpwire_run(&["--json", "--version"]);
    assert!(
        run.expect_code(0).stdout.starts_with("mcpwire "),
        "{}",
        run.stdout
    );
}

#[test]
fn bench_exits_non_zero_when_every_call_failed() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    // Every call answered with isError: exit 1.
    let run = mcpwire_run(&["bench", &url, "--tool", "fail", "-c", "2", "-d", "0.3"]);
    run.expect_code(1);
    assert!(run.stdout.contains("isError"), "{}", run.stdout);
    assert!(
        run.stderr.contains(r#"tool "fail" reported an error"#),
        "{}",
        run.stderr
    );
    // Every call a JSON-RPC error: exit 2, and the report says what failed.
    let run = mcpwire_run(&["bench", &url, "--tool", "nosuch", "-d", "0.3", "--json"]);
    run.expect_code(2);
    assert!(run.stdout.contains("\"failed\""), "{}", run.stdout);
    assert!(run.stdout.contains(r#""kind":"rpc""#), "{}", run.stdout);
    // Every call an HTTP 500: exit 3.
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 500,
            body: "down".into(),
            headers: vec![],
        },
    ));
    let run = mcpwire_run(&[
        "bench",
        &url,
        "--tool",
        "echo",
        "--args",
        r#"{"message": "x"}"#,
        "-d",
        "0.3",
    ]);
    run.expect_code(3);
    // One call that succeeds is enough for 0.
    let fresh = TestServer::start_in_thread();
    let run = mcpwire_run(&[
        "bench",
        &fresh.url(),
        "--tool",
        "add",
        "--args",
        r#"{"a": 1, "b": 2}"#,
        "-d",
        "0.3",
    ]);
    run.expect_code(0);
}

#[test]
fn info_shows_the_server_its_revision_capabilities_and_instructions() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["info", &server.url()]);
    let text = &run.expect_code(0).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "server        mcpwire-testserver", "{text}");
    assert!(lines[1].starts_with("version       0."), "{text}");
    assert_eq!(lines[2], "revision      2025-11-25", "{text}");
    assert!(lines[3].starts_with("capabilities  "), "{text}");
    for capability in [
        "tools (listChanged)",
        "resources",
        "prompts",
        "logging",
        "completions",
    ] {
        assert!(
            lines[3].contains(capability),
            "{capability} missing:\n{text}"
        );
    }
    assert_eq!(
        lines[4..],
        [
            "instructions",
            "  A scriptable MCP server for testing mcpwire."
        ],
        "{text}"
    );

    let run = mcpwire_run(&["--json", "info", &server.url()]);
    let info = json(run.expect_code(0));
    assert_eq!(info["protocolVersion"], "2025-11-25", "{info}");
    assert_eq!(info["serverInfo"]["name"], "mcpwire-testserver", "{info}");
    assert_eq!(info["capabilities"]["tools"]["listChanged"], true, "{info}");
    assert_eq!(
        info["instructions"], "A scriptable MCP server for testing mcpwire.",
        "{info}"
    );
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_mcpwire()"),
        ("zsh", "#compdef mcpwire"),
        ("fish", "complete -c mcpwire"),
        ("elvish", "mcpwire"),
        ("powershell", "mcpwire"),
    ] {
        let run = mcpwire_run(&["completions", shell]);
        assert!(run.expect_code(0).stdout.contains(marker), "{shell}");
        assert!(run.stdout.contains("connect-timeout"), "{shell}");
        assert_eq!(run.stderr, "", "{shell}");
    }
    let run = mcpwire_run(&["completions", "tcsh"]);
    run.expect_code(64);
}

#[test]
fn conformance_is_hidden_from_the_help_but_still_runs() {
    let run = mcpwire_run(&["--help"]);
    let help = &run.expect_code(0).stdout;
    assert!(!help.contains("conformance"), "{help}");
    for command in ["info", "completions", "tools", "call", "bench"] {
        assert!(
            help.contains(&format!("  {command}")),
            "{command} missing:\n{help}"
        );
    }
    let run = mcpwire_run(&["conformance", "--help"]);
    assert!(run.expect_code(0).stdout.contains("URL"), "{}", run.stdout);
}
