//! A real server of revision 2026-07-28 that no one here wrote: the Python SDK `mcp` 2.3.0
//! (pinned with every dependency in `tests/servers/requirements-rev2026.txt`), installed on
//! demand into a venv under `target/py-tools/rev2026`, running the small server program
//! `tests/servers/rev2026_server.py`.
//!
//! The SDK is dual-era: the same program answers 2026-07-28 requests (per-request `_meta`,
//! `server/discover`, `resultType`, `input_required`, `subscriptions/listen`) and the
//! 2025-era `initialize` handshake. Over HTTP the era is chosen per request by the
//! `MCP-Protocol-Version` header (absent or a handshake version: legacy, with sessions);
//! over stdio by the process's first request (one carrying the 2026 `_meta` envelope opens
//! a modern connection, anything else a legacy one, and the other era is refused after).
//!
//! The program's tools: `echo(message)`, `progress(steps)`, `confirm()` (one elicitation),
//! `interview()` (two rounds of elicitation), `later()` (an `input_required` with only
//! `requestState`), `slow(seconds, tag?)` (records `started`/`finished`/`cancelled` events),
//! `touch()` (tools list-changed to listeners), `bump()` (resources/updated for
//! `test://counter`, structured result), `end_listens()` (ends every listen stream with its
//! final result). Resources `test://static`, `test://counter`, template
//! `test://greeting/{name}`; prompt `greet(name)`.
//!
//! Installs are serialized across test processes with a file lock, and done once: a marker
//! records the requirements a finished install was made from.

use std::fs::{self, File};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::npm::target_dir;

/// The revision the peer speaks.
pub const REVISION: &str = "2026-07-28";
/// The SDK and its version.
pub const SDK: &str = "mcp==2.3.0";
/// The pinned requirements the venv is made from.
const REQUIREMENTS: &str = include_str!("../servers/requirements-rev2026.txt");
/// The environment variable naming the file the program appends its `slow` events to.
pub const EVENTS_ENV: &str = "REV2026_EVENTS";
/// How long a start may take before it fails (Python imports pydantic and starlette).
const START_LIMIT: Duration = Duration::from_secs(30);

/// The server program, `tests/servers/rev2026_server.py`.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/rev2026_server.py")
}

/// Makes the venv once (`python3 -m venv`, then `pip install -r` the pinned requirements);
/// returns its folder.
pub fn venv() -> PathBuf {
    python_venv("rev2026", REQUIREMENTS)
}

/// Makes the venv `target/py-tools/NAME` from `requirements` once (`python3 -m venv`, then
/// `pip install -r`); returns its folder. Installs are serialized across test processes with
/// a file lock; a marker beside the venv records the requirements a finished install was
/// made from, so a changed pin installs again.
pub fn python_venv(name: &str, requirements: &str) -> PathBuf {
    let tools = target_dir().join("py-tools");
    fs::create_dir_all(&tools).expect("create the py-tools folder");
    let dir = tools.join(name);
    // The lock and the marker live beside the venv: `venv --clear` empties its folder.
    let lock = File::create(tools.join(format!("{name}.lock"))).expect("create the lock file");
    lock.lock().expect("lock the py-tools folder");
    let marker = tools.join(format!("{name}.installed"));
    if fs::read_to_string(&marker).ok().as_deref() != Some(requirements) {
        let _ = fs::remove_file(&marker);
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .expect("python3 must be on PATH to install a Python peer");
        assert!(status.success(), "python3 -m venv {} failed", dir.display());
        let file = tools.join(format!("{name}-requirements.txt"));
        fs::write(&file, requirements).expect("write the requirements");
        let status = Command::new(dir.join("bin/pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "-r",
            ])
            .arg(&file)
            .status()
            .expect("run the venv's pip");
        assert!(status.success(), "pip install -r {} failed", file.display());
        fs::write(&marker, requirements).expect("write the install marker");
    }
    dir
}

/// The venv's Python, the SDK installed.
pub fn python() -> PathBuf {
    venv().join("bin/python")
}

/// The command line that runs the program over stdio: `python rev2026_server.py stdio`.
/// Push `(EVENTS_ENV, path)` onto `env` to get the `slow` events in a file.
pub fn stdio_command() -> mcpwire::runtime::Command {
    mcpwire::runtime::Command::new(python().display().to_string())
        .args([server_script().display().to_string(), "stdio".into()])
}

/// How the HTTP server answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpMode {
    /// The SDK's default: `application/json` when the handler sends no notification within
    /// its window, else `text/event-stream` (progress, listen).
    #[default]
    Sse,
    /// `--json`: always `application/json` (request-scoped notifications such as progress
    /// are dropped), except `subscriptions/listen`, which is always a stream.
    Json,
    /// `sse`: the SDK's 2024-11-05 HTTP+SSE transport (`run("sse")`): `url` is the event
    /// stream, `/sse`; messages are POSTed to `/messages/?session_id=...`.
    LegacySse,
}

/// The program over Streamable HTTP on a free loopback port; killed on drop.
pub struct Rev2026Http {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// The file its `slow` events go to.
    pub events_file: PathBuf,
    /// Its stdout and stderr.
    pub log_file: PathBuf,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

impl Rev2026Http {
    /// Starts it in the default (SSE) mode and waits until it accepts connections.
    pub fn start() -> Rev2026Http {
        Rev2026Http::start_with(HttpMode::Sse)
    }

    /// Starts it in `mode` and waits until it accepts connections.
    pub fn start_with(mode: HttpMode) -> Rev2026Http {
        let python = python();
        let runs = target_dir().join("py-tools/runs");
        fs::create_dir_all(&runs).expect("create the runs folder");
        // Another process may take the port between our probe and the server's bind: try a
        // few ports.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let run = format!(
                "{}-{}",
                std::process::id(),
                RUNS.fetch_add(1, Ordering::Relaxed)
            );
            let events_file = runs.join(format!("{run}.events"));
            let log_file = runs.join(format!("{run}.log"));
            File::create(&events_file).expect("create the events file");
            let log = File::create(&log_file).expect("create the log file");
            let mut command = Command::new(&python);
            command
                .arg(server_script())
                .args([
                    if mode == HttpMode::LegacySse {
                        "sse"
                    } else {
                        "http"
                    },
                    "--port",
                    &port.to_string(),
                ])
                .env(EVENTS_ENV, &events_file)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log file"))
                .stderr(log);
            if mode == HttpMode::Json {
                command.arg("--json");
            }
            let child = command.spawn().expect("start the rev2026 peer");
            let mut server = Rev2026Http {
                child,
                port,
                url: match mode {
                    HttpMode::LegacySse => format!("http://127.0.0.1:{port}/sse"),
                    _ => format!("http://127.0.0.1:{port}/mcp"),
                },
                events_file,
                log_file,
            };
            let deadline = Instant::now() + START_LIMIT;
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the rev2026 peer did not listen on {port} within {START_LIMIT:?}:\n{}",
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            last_log = server.log();
        }
        panic!("the rev2026 peer would not start:\n{last_log}");
    }

    /// The `slow` events so far, one line each: `started TAG SECONDS`, `finished TAG`,
    /// `cancelled TAG`.
    pub fn events(&self) -> Vec<String> {
        read_events(&self.events_file)
    }

    /// Kills it now (a server that dies under its clients).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

impl Drop for Rev2026Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.events_file);
        let _ = fs::remove_file(&self.log_file);
    }
}

/// The lines of an events file (for a stdio server given `EVENTS_ENV`).
pub fn read_events(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
