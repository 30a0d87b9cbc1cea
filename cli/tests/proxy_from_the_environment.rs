//! The proxy variables of the environment, through the CLI (each run a process of its own,
//! with only the variables given): `http_proxy` sends the requests through a real proxy
//! (Debian's tinyproxy), `NO_PROXY` naming the host bypasses it, and a variable for the other
//! scheme does not apply.

use std::process::Command;

use mcpwire_tests::tinyproxy::Tinyproxy;
use mcpwire_testserver::TestServer;

/// Log lines of requests the proxy forwarded.
fn requests(proxy: &Tinyproxy) -> Vec<String> {
    proxy
        .log()
        .lines()
        .filter(|l| l.contains("Request (file descriptor"))
        .map(str::to_owned)
        .collect()
}

/// `mcpwire tools <url>` with this environment, and nothing else of the test's.
fn cli(url: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcpwire"));
    command
        .args(["tools", url])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the mcpwire binary")
}

#[test]
fn the_environment_names_the_proxy_and_no_proxy_bypasses_it() {
    let proxy = Tinyproxy::start(None);
    let server = TestServer::start_in_thread();
    let url = server.url();
    let out = cli(&url, &[("http_proxy", &proxy.url)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let through = requests(&proxy).len();
    assert!(
        through >= 2,
        "initialize and more went through it: {through}"
    );
    // NO_PROXY names the host: straight there, the proxy sees nothing more.
    let out = cli(
        &url,
        &[
            ("HTTP_PROXY", &proxy.url),
            ("NO_PROXY", "example.com,127.0.0.1"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(requests(&proxy).len(), through, "nothing through the proxy");
    // A proxy variable for the other scheme does not apply.
    let out = cli(&url, &[("HTTPS_PROXY", "http://127.0.0.1:1")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
