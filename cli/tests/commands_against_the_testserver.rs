//! The `mcpwire` command against the scriptable test server: what each command prints, the
//! `--json` shapes, and the exit code of every kind of failure (each with a one-line message).

mod support;

use std::time::Duration;

use mcpwire_testserver::{Fault, Match, Rule, TestServer};
use serde_json::Value;
use support::{mcpwire_run, mcpwire_run_with_stdout_closed, Run};

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout))
}

/// The failure message is one line, starting with `mcpwire: `, and nothing is a panic or a
/// Debug dump.
fn one_line_message(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr:\n{}",
        run.stderr
    );
    assert!(lines[0].starts_with("mcpwire: "), "{}", lines[0]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("Error {"), "{}", run.stderr);
    lines[0]
}

#[test]
fn tools_lists_every_page() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["tools", &server.url()]);
    run.expect_code(0);
    for tool in ["echo", "add", "slow", "fail", "sample", "elicit", "roots"] {
        assert!(
            run.stdout.contains(&format!("{tool}(")),
            "{tool} missing:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("add(a: number, b: number) -> {sum: number}"),
        "{}",
        run.stdout
    );
}

#[test]
fn call_takes_key_value_pairs() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["call", "add", "a=2", "b=40", &server.url()]);
    assert_eq!(run.expect_code(0).stdout, "42\n");
    // A value that is not JSON is a string.
    let run = mcpwire_run(&["call", "echo", "message=hello world", &server.url()]);
    assert_eq!(run.expect_code(0).stdout, "hello world\n");
}

#[test]
fn call_takes_one_json_object() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["call", "echo", r#"{"message": "from JSON"}"#, &server.url()]);
    assert_eq!(run.expect_code(0).stdout, "from JSON\n");
}

#[test]
fn call_with_progress_completes() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["call", "slow", "steps=5", "ms=20", &server.url()]);
    assert_eq!(run.expect_code(0).stdout, "done after 5 steps\n");
}

#[test]
fn json_output_is_the_mcp_result() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["--json", "call", "add", "a=2", "b=40", &server.url()]);
    let result = json(run.expect_code(0));
    assert_eq!(result["structuredContent"]["sum"], 42);
    assert_eq!(result["content"][0]["type"], "text");
    assert_eq!(result["content"][0]["text"], "42");
    assert_eq!(result["isError"], false);

    let run = mcpwire_run(&["tools", &server.url(), "--json"]);
    let tools = json(run.expect_code(0));
    let tools = tools["tools"].as_array().expect("a tools array");
    assert_eq!(tools.len(), 7, "both pages");
    assert_eq!(tools[0]["name"], "echo");
    assert_eq!(tools[0]["inputSchema"]["required"][0], "message");

    let run = mcpwire_run(&["--json", "resources", &server.url()]);
    let listed = json(run.expect_code(0));
    assert_eq!(listed["resources"][0]["uri"], "demo://hello");
    assert_eq!(
        listed["resourceTemplates"][0]["uriTemplate"],
        "demo://greeting/{name}"
    );
}

#[test]
fn resources_read_prompts_and_get() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    let run = mcpwire_run(&["resources", &url]);
    assert!(
        run.expect_code(0)
            .stdout
            .contains("demo://hello  hello  (text/plain)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("demo://greeting/{name}"),
        "{}",
        run.stdout
    );

    let run = mcpwire_run(&["read", "demo://hello", &url]);
    assert_eq!(run.expect_code(0).stdout, "Hello, world!\n");

    let run = mcpwire_run(&["prompts", &url]);
    assert!(
        run.expect_code(0)
            .stdout
            .starts_with("greet(name)\n    Greet someone"),
        "{}",
        run.stdout
    );

    let run = mcpwire_run(&["get", "greet", "name=Ada", &url]);
    assert_eq!(run.expect_code(0).stdout, "[user] Please greet Ada.\n");
    let run = mcpwire_run(&["--json", "get", "greet", r#"{"name": "Bob"}"#, &url]);
    assert_eq!(
        json(run.expect_code(0))["messages"][0]["content"]["text"],
        "Please greet Bob."
    );
}

#[test]
fn a_tool_that_reports_is_error_exits_1() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["call", "fail", &server.url()]);
    assert_eq!(run.expect_code(1).stdout, "this tool always fails\n");
    assert!(one_line_message(&run).contains("isError"));
    // With --json the result itself says so; stdout stays one JSON document.
    let run = mcpwire_run(&["--json", "call", "fail", &server.url()]);
    assert_eq!(json(run.expect_code(1))["isError"], true);
}

#[test]
fn a_json_rpc_error_exits_2() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["call", "nosuch", &server.url()]);
    let message = one_line_message(run.expect_code(2));
    assert_eq!(
        message,
        "mcpwire: tools/call nosuch: server error -32602: Unknown tool: nosuch"
    );

    let run = mcpwire_run(&["--json", "read", "demo://missing", &server.url()]);
    let error = &json(run.expect_code(2))["error"];
    assert_eq!(error["kind"], "rpc");
    assert_eq!(error["code"], -32002);
    assert_eq!(error["exit"], 2);
}

#[test]
fn http_503_exits_3_with_the_status_and_the_servers_text() {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 503,
            body: "overloaded,\nplease come back later".into(),
            headers: vec![("Retry-After".into(), "7".into())],
        },
    ));
    let run = mcpwire_run(&["call", "echo", "message=hi", &server.url()]);
    let message = one_line_message(run.expect_code(3));
    assert_eq!(
        message,
        "mcpwire: tools/call echo: HTTP 503 Service Unavailable: overloaded, please come back \
         later (retry after 7)"
    );

    let run = mcpwire_run(&["--json", "call", "echo", "message=hi", &server.url()]);
    let error = &json(run.expect_code(3))["error"];
    assert_eq!(error["kind"], "http");
    assert_eq!(error["status"], 503);
    assert_eq!(error["retryAfter"], "7");
}

#[test]
fn a_refused_connection_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let run = mcpwire_run(&["tools", &url]);
    let message = one_line_message(run.expect_code(3));
    assert!(
        message.starts_with(&format!("mcpwire: connecting to {url}: cannot connect")),
        "{message}"
    );
}

#[test]
fn a_timeout_exits_4() {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(Match::Tool("echo".into()), Fault::Stall));
    let run = mcpwire_run(&[
        "call",
        "echo",
        "message=hi",
        &server.url(),
        "--timeout",
        "0.5",
    ]);
    let message = one_line_message(run.expect_code(4));
    assert_eq!(
        message,
        "mcpwire: tools/call echo: no response within 500ms"
    );
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
}

#[test]
fn usage_errors_exit_64() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    let cases: &[&[&str]] = &[
        &["call", "echo", "message=hi"],             // no server
        &["call", "echo", "not-a-pair", &url],       // not key=value
        &["call", "echo", "[1, 2]", &url],           // not an object
        &["tools", "localhost:3000"],                // not a URL
        &["tools", &url, "--timeout", "-1"],         // not a duration
        &["tools", &url, "--timeout", "inf"],        // not finite
        &["tools", &url, "--timeout", "nan"],        // not a number
        &["tools", &url, "--timeout", "1e20"],       // too large for a Duration
        &["tools", &url, "--timeout", "0"],          // not positive
        &["tools", &url, "--header", "no colon"],    // not a header
        &["tools", &url, "--no-such-option"],        // clap's own error
        &["frobnicate"],                             // no such command
        &["tools", "--", "/nonexistent/mcp-server"], // a command that cannot start
    ];
    for args in cases {
        let run = mcpwire_run(args);
        assert_eq!(run.code, 64, "{args:?}\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}\n{}", run.stderr);
    }
}

#[test]
fn durations_that_are_not_positive_and_finite_are_usage_errors_that_say_why() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    for (value, why) in [
        ("-1", "negative"),
        ("-inf", "finite"),
        ("inf", "finite"),
        ("nan", "NaN"),
        ("1e20", "too large"),
    ] {
        // `--timeout=-inf`: clap takes `-1` but not `-inf` as the value of `--timeout -inf`.
        let run = mcpwire_run(&["tools", &url, &format!("--timeout={value}")]);
        assert_eq!(run.code, 64, "--timeout {value}\n{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("invalid value '{value}' for '--timeout <SECS>'"))
                && run.stderr.contains(why),
            "--timeout {value}\n{}",
            run.stderr
        );
        let args = [
            "bench",
            &url,
            "--tool",
            "echo",
            &format!("--duration={value}"),
        ];
        let run = mcpwire_run(&args);
        assert_eq!(run.code, 64, "--duration {value}\n{}", run.stderr);
        assert!(
            run.stderr.contains(why),
            "--duration {value}\n{}",
            run.stderr
        );
    }
    let run = mcpwire_run(&["tools", &url, "--timeout", "-1"]);
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("negative"), "{}", run.stderr);
}

#[test]
fn a_timeout_too_long_for_an_instant_is_clamped_not_a_panic() {
    // 1e19 s is a valid Duration, but `Instant::now() + it` overflows: it is taken as 100 years.
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["tools", &server.url(), "--timeout", "1e19"]);
    assert_ne!(run.code, 101, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.expect_code(0).stdout.contains("echo("),
        "{}",
        run.stdout
    );
    let run = mcpwire_run(&[
        "call",
        "add",
        "a=1",
        "b=2",
        &server.url(),
        "--timeout",
        "1e19",
    ]);
    assert_eq!(run.expect_code(0).stdout, "3\n");
}

/// No panic (exit 101) and no message when the reader of stdout has gone, as after `| head`.
fn quiet_on_a_closed_stdout(run: &Run, code: i32) {
    assert_ne!(run.code, 101, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("Broken pipe"), "{}", run.stderr);
    run.expect_code(code);
}

#[test]
fn a_closed_stdout_ends_a_listing_quietly_with_exit_0() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    let cases: &[&[&str]] = &[
        &["tools", &url],
        &["tools", &url, "--json"],
        &["resources", &url],
        &["prompts", &url],
        &["read", "demo://hello", &url],
        &["get", "greet", "name=Ada", &url],
        &["call", "echo", "message=hi", &url],
        &["--json", "call", "echo", "message=hi", &url],
        &[
            "bench",
            &url,
            "--tool",
            "echo",
            "--args",
            r#"{"message": "x"}"#,
            "-d",
            "0.2",
        ],
        &["demo"],
    ];
    for args in cases {
        let run = mcpwire_run_with_stdout_closed(args);
        quiet_on_a_closed_stdout(&run, 0);
        assert_eq!(run.stderr, "", "{args:?}");
    }
}

#[test]
fn a_closed_stdout_keeps_the_exit_code_of_a_failure() {
    let server = TestServer::start_in_thread();
    let url = server.url();
    // isError: the content cannot be written, the code is still 1, and stderr says why.
    let run = mcpwire_run_with_stdout_closed(&["call", "fail", &url]);
    quiet_on_a_closed_stdout(&run, 1);
    assert!(one_line_message(&run).contains("isError"));
    let run = mcpwire_run_with_stdout_closed(&["--json", "call", "fail", &url]);
    quiet_on_a_closed_stdout(&run, 1);
    // A JSON-RPC error whose {"error": ...} cannot be written still exits 2, with its line.
    let run = mcpwire_run_with_stdout_closed(&["--json", "call", "nosuch", &url]);
    quiet_on_a_closed_stdout(&run, 2);
    assert!(one_line_message(&run).contains("Unknown tool"));
}

#[cfg(target_os = "linux")]
#[test]
fn another_write_error_is_a_failure_that_says_so() {
    let server = TestServer::start_in_thread();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let mut command = support::mcpwire();
    command.args(["tools", &server.url()]);
    let run = support::run_with_stdout(command, full.into(), Duration::from_secs(60));
    let message = one_line_message(run.expect_code(3));
    assert!(
        message.starts_with("mcpwire: cannot write the output: "),
        "{message}"
    );
}

/// Nothing in the output would make a terminal act: no ESC, BEL, CR or other control but
/// `\n` and `\t`, no C1 control (the one-byte CSI U+009B included), no bidi override.
fn terminal_safe(what: &str, text: &str) {
    for c in text.chars() {
        let control = c.is_control() && c != '\n' && c != '\t';
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!control && !bidi, "{what} holds {c:?}:\n{text:?}");
    }
    // The same, byte by byte, for the three the brief names.
    assert!(
        !text.bytes().any(|b| b == 0x1b || b == 0x07 || b == b'\r'),
        "{what}"
    );
}

fn terminal_safe_run(run: &Run) {
    terminal_safe("stdout", &run.stdout);
    terminal_safe("stderr", &run.stderr);
}

/// Clears the screen, retitles the window, then overwrites the line with a fake success.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}fake OK\r\n";

#[test]
fn an_error_body_with_escapes_is_shown_escaped() {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 400,
            body: HOSTILE.into(),
            headers: vec![],
        },
    ));
    let run = mcpwire_run(&["call", "echo", "message=hi", &server.url()]);
    terminal_safe_run(&run);
    let message = one_line_message(run.expect_code(3));
    assert_eq!(
        message,
        r"mcpwire: tools/call echo: HTTP 400 Bad Request: \x1b[2J\x1b]0;pwned\x07fake OK"
    );

    // --json: the body excerpt is the library's, escaped already (an excerpt is for people:
    // 512 bytes at most, lossily decoded, on one line); the bytes are safe.
    let run = mcpwire_run(&["--json", "call", "echo", "message=hi", &server.url()]);
    terminal_safe_run(&run);
    let error = &json(run.expect_code(3))["error"];
    assert_eq!(error["body"], r"\x1b[2J\x1b]0;pwned\x07fake OK  ");
    assert_eq!(error["status"], 400);
}

#[test]
fn tool_output_and_prompt_messages_with_escapes_are_shown_escaped() {
    let server = TestServer::start_in_thread();
    let hostile = "\u{1b}[2J\u{9b}1;31mred\u{7f}\u{85}\u{202e}txt.exe\u{2066}\u{7}\rfake OK";
    let escaped = r"\x1b[2J\u{9b}1;31mred\x7f\u{85}\u{202e}txt.exe\u{2066}\x07\x0dfake OK";
    let message = format!("message={hostile}");
    let run = mcpwire_run(&["call", "echo", &message, &server.url()]);
    terminal_safe_run(&run);
    assert_eq!(run.expect_code(0).stdout, format!("{escaped}\n"));

    let name = format!("name={hostile}");
    let run = mcpwire_run(&["get", "greet", &name, &server.url()]);
    terminal_safe_run(&run);
    assert_eq!(
        run.expect_code(0).stdout,
        format!("[user] Please greet {escaped}.\n")
    );
}

#[test]
fn json_output_escapes_every_control_and_means_the_same() {
    let server = TestServer::start_in_thread();
    let hostile = "\u{1b}[2J\u{9b}1;31mred\u{7f}\u{85}\u{202e}txt.exe\u{2066}\u{7}\rfake OK\n\t";
    let message = format!("message={hostile}");
    for args in [
        vec!["--json", "call", "echo", &message, &server.url()],
        vec![
            "--json",
            "get",
            "greet",
            &message.replace("message", "name"),
            &server.url(),
        ],
    ] {
        let run = mcpwire_run(&args);
        terminal_safe_run(&run);
        let value = json(run.expect_code(0));
        let text = match args[1] {
            "call" => &value["content"][0]["text"],
            _ => &value["messages"][0]["content"]["text"],
        };
        let text = text.as_str().expect("a string");
        assert!(text.contains(hostile), "{text:?}");
        // C0 as serde_json writes them, DEL, C1 and bidi as the CLI's formatter adds.
        for escape in [
            r"\u001b", r"\u0007", r"\r", r"\u007f", r"\u009b", r"\u0085", r"\u202e",
        ] {
            assert!(
                run.stdout.contains(escape),
                "{escape} missing:\n{}",
                run.stdout
            );
        }
    }
}

/// A 401 answer to `tools/call echo` with this `WWW-Authenticate`.
fn unauthorized(www_authenticate: &str) -> TestServer {
    let server = TestServer::start_in_thread();
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 401,
            body: HOSTILE.into(),
            headers: vec![("WWW-Authenticate".into(), www_authenticate.into())],
        },
    ));
    server
}

#[test]
fn a_www_authenticate_header_with_escapes_is_shown_escaped() {
    // An HTTP header cannot carry ESC or BEL (hyper refuses them, and the test server would
    // drop the header), but it can carry C1 controls and bidi overrides as UTF-8: the
    // one-byte CSI U+009B clears the screen on a terminal that honours C1.
    let server = unauthorized("Bearer realm=\"\u{9b}2J\u{9b}0;31mpwned\u{202e}txt.exe\"");
    let run = mcpwire_run(&["call", "echo", "message=hi", &server.url()]);
    terminal_safe_run(&run);
    let message = one_line_message(run.expect_code(3));
    assert_eq!(
        message,
        format!(
            r#"mcpwire: tools/call echo: authorization required (401): Bearer realm="\u{{9b}}2J\u{{9b}}0;31mpwned\u{{202e}}txt.exe" (to authorize, run: mcpwire login {})"#,
            server.url()
        )
    );

    let run = mcpwire_run(&["--json", "call", "echo", "message=hi", &server.url()]);
    terminal_safe_run(&run);
    let error = &json(run.expect_code(3))["error"];
    assert_eq!(error["kind"], "auth_required");
    // The library escaped them already (they are in every error's text): the JSON carries
    // the escapes, not the characters.
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with(r#"Bearer realm="\u{9b}2J\u{9b}0;31mpwned\u{202e}txt.exe""#),
        "{error}"
    );
}

#[test]
fn a_200_kb_www_authenticate_header_makes_a_short_error_line() {
    // The library keeps at most 512 bytes of a header in an error.
    let header = format!("Bearer realm=\"{}\"", "x".repeat(200_000));
    let server = unauthorized(&header);
    let run = mcpwire_run(&["call", "echo", "message=hi", &server.url()]);
    let message = one_line_message(run.expect_code(3));
    let shown = "mcpwire: tools/call echo: authorization required (401): Bearer realm=\"";
    assert!(message.starts_with(shown), "{}", &message[..100]);
    // The hint to log in comes last, after the header's 512 bytes at most.
    let hint = format!(" (to authorize, run: mcpwire login {})", server.url());
    assert!(
        message.ends_with(&hint),
        "{}",
        &message[message.len() - 100..]
    );
    assert!(
        message.len() < shown.len() + 512 + hint.len(),
        "{}",
        message.len()
    );
    let run = mcpwire_run(&["--json", "call", "echo", "message=hi", &server.url()]);
    let error = &json(run.expect_code(3))["error"];
    assert!(error["message"].as_str().unwrap().len() < 700, "{error}");
    assert!(
        run.stderr.len() < 1100,
        "{} bytes on stderr",
        run.stderr.len()
    );
}

#[test]
fn a_200_kb_error_message_makes_a_capped_error_line() {
    let message = "x".repeat(200_000);
    let server = TestServer::start_in_thread();
    // Without an id, the error is the call's whatever id the call got (the ids before it
    // depend on the revision the client detected).
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": null, "error": { "code": -32000, "message": message }
    });
    server.script(Rule::always(
        Match::Tool("echo".into()),
        Fault::Status {
            status: 200,
            body: body.to_string(),
            headers: vec![],
        },
    ));
    let run = mcpwire_run(&["call", "echo", "message=hi", &server.url()]);
    let line = one_line_message(run.expect_code(2));
    assert_eq!(line.chars().take_while(|c| *c != '…').count(), 1000);
    assert!(line.ends_with(" more bytes)"), "{}", &line[990..]);
    assert!(
        run.stderr.len() < 1100,
        "{} bytes on stderr",
        run.stderr.len()
    );

    // --json keeps the whole message for programs; its stderr line is capped all the same.
    let run = mcpwire_run(&["--json", "call", "echo", "message=hi", &server.url()]);
    let error = &json(run.expect_code(2))["error"];
    assert!(
        error["message"].as_str().unwrap().contains(&message),
        "the whole message"
    );
    assert!(
        run.stderr.len() < 1100,
        "{} bytes on stderr",
        run.stderr.len()
    );
}

#[cfg(unix)]
#[test]
fn a_stdio_servers_stderr_with_escapes_is_shown_escaped() {
    // It reads initialize, writes escapes to stderr and exits without answering. (Exiting
    // before reading races the client's write: "Broken pipe" instead of "exited".)
    let script = r"read -r _; printf '\033[2J\033]0;pwned\007fake OK\r\n\302\233' >&2; exit 7";
    for verbose in [false, true] {
        let mut args = vec!["tools", "--", "sh", "-c", script];
        if verbose {
            args.insert(0, "-v");
        }
        let run = mcpwire_run(&args);
        terminal_safe_run(&run);
        assert!(
            run.expect_code(3)
                .stderr
                .contains(r"  \x1b[2J\x1b]0;pwned\x07fake OK"),
            "{}",
            run.stderr
        );
        if verbose {
            assert!(
                run.stderr
                    .contains(r"[server] \x1b[2J\x1b]0;pwned\x07fake OK"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let run = mcpwire_run(&["--help"]);
    run.expect_code(0);
    for line in [
        "Exit codes:",
        "0   success",
        "1   the tool",
        "2   the server answered with a JSON-RPC error",
        "3   transport",
        "4   timeout",
        "64  usage error",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing from --help:\n{}",
            run.stdout
        );
    }
}

#[test]
fn bench_reports_calls_per_second_and_percentiles() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&[
        "bench",
        &server.url(),
        "--tool",
        "echo",
        "--args",
        r#"{"message": "x"}"#,
        "--concurrency",
        "4",
        "--duration",
        "1",
        "--json",
    ]);
    let report = json(run.expect_code(0));
    assert!(report["calls"].as_u64().unwrap() > 10, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let latency = &report["latencyMs"];
    let (p50, p99, max) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
        latency["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{report}");

    let run = mcpwire_run(&[
        "bench",
        &server.url(),
        "--tool",
        "echo",
        "--args",
        r#"{"message": "x"}"#,
        "-c",
        "2",
        "-d",
        "0.5",
    ]);
    assert!(
        run.expect_code(0).stdout.contains("calls/s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("p50") && run.stdout.contains("p99"),
        "{}",
        run.stdout
    );
}

#[test]
fn demo_shows_nine_calls_failing_with_the_503() {
    let run = mcpwire_run(&["demo"]);
    run.expect_code(0);
    let failures: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("call ")
                && l.contains("ms after the 503: HTTP 503 Service Unavailable")
        })
        .collect();
    assert_eq!(failures.len(), 9, "{}", run.stdout);
    assert!(run.stdout.contains("slow{"), "{}", run.stdout);
    assert!(run.stdout.contains("10 progress reports"), "{}", run.stdout);
    assert!(
        run.took < Duration::from_secs(20),
        "the demo took {:?}",
        run.took
    );
}
