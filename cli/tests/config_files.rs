//! `--config <file> <name>`: the CLI connects to a server named in an `mcpServers` config file,
//! an HTTP entry (its headers sent) or a stdio entry (its env and working directory reaching
//! the child); a name the file lacks, or a file that is not one, is a usage error.

mod support;

use std::path::PathBuf;

use mcpwire_testserver::TestServer;
use serde_json::json;
use support::mcpwire_run;

/// A fresh directory under the system's temporary one.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpwire-config-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Writes `config` as `mcp.json` in `dir`; returns its path as a string.
fn write_config(dir: &std::path::Path, config: &serde_json::Value) -> String {
    let path = dir.join("mcp.json");
    std::fs::write(&path, config.to_string()).expect("write the config");
    path.display().to_string()
}

/// A stdio MCP server in Python: `tools/list` lists a tool named by `$FIXTURE_TOOL` and one
/// named `cwd_<its working directory's name>`.
const PY_SERVER: &str = r#"
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except Exception:
        continue
    if "id" not in m:
        continue
    method = m.get("method")
    if method == "initialize":
        r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {"tools": {}},
             "serverInfo": {"name": "py-config-fixture", "version": "1"}}
    elif method == "tools/list":
        schema = {"type": "object"}
        r = {"tools": [{"name": os.environ.get("FIXTURE_TOOL", "no_env"), "inputSchema": schema},
                       {"name": "cwd_" + os.path.basename(os.getcwd()), "inputSchema": schema}]}
    else:
        r = {}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#;

#[test]
fn tools_of_an_http_entry_are_listed_with_its_headers_sent() {
    let server = TestServer::start_in_thread();
    let dir = scratch("http");
    let config = write_config(
        &dir,
        &json!({"mcpServers": {
            "other": {"command": "/nonexistent/never-run"},
            "test": {"url": server.url(), "headers": {"Authorization": "Bearer from-config"}}
        }}),
    );
    let run = mcpwire_run(&["tools", "--config", &config, "test"]);
    run.expect_code(0);
    assert!(run.stdout.contains("echo("), "{}", run.stdout);
    let requests = server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer from-config")),
        "{requests:?}"
    );
    // `call` takes its arguments before the name.
    let run = mcpwire_run(&[
        "call",
        "echo",
        "message=from-config",
        "--config",
        &config,
        "test",
    ]);
    run.expect_code(0);
    assert!(run.stdout.contains("from-config"), "{}", run.stdout);
}

#[test]
fn tools_of_a_stdio_entry_are_listed_with_its_env_and_cwd_reaching_the_child() {
    let dir = scratch("stdio");
    let cwd = dir.join("server-home");
    std::fs::create_dir_all(&cwd).unwrap();
    let config = write_config(
        &dir,
        &json!({"mcpServers": {"local": {
            "command": "python3",
            "args": ["-c", PY_SERVER],
            "env": {"FIXTURE_TOOL": "tool_from_env"},
            "cwd": cwd.display().to_string(),
        }}}),
    );
    let run = mcpwire_run(&["tools", "--config", &config, "local"]);
    run.expect_code(0);
    assert!(run.stdout.contains("tool_from_env("), "{}", run.stdout);
    assert!(run.stdout.contains("cwd_server-home("), "{}", run.stdout);
}

#[test]
fn a_missing_name_or_a_malformed_file_is_a_usage_error() {
    let dir = scratch("errors");
    let config = write_config(
        &dir,
        &json!({"mcpServers": {"a": {"url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "hidden-secret"}}}}),
    );
    let run = mcpwire_run(&["tools", "--config", &config, "b"]);
    run.expect_code(64);
    assert!(
        run.stderr
            .contains(r#"no server "b" (the config file has: a)"#),
        "{}",
        run.stderr
    );
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        r#"{"mcpServers": {"a": {"headers": {"X-Key": "hidden-secret"}}}}"#,
    )
    .unwrap();
    let run = mcpwire_run(&["tools", "--config", &broken.display().to_string(), "a"]);
    run.expect_code(64);
    assert!(
        run.stderr.contains("neither `command` nor `url`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hidden-secret"), "{}", run.stderr);
    let run = mcpwire_run(&["tools", "--config", &config]);
    run.expect_code(64);
}
