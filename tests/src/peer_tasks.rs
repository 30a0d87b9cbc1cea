//! A real server with tasks (2025-11-25) that no one here wrote: the Python SDK `mcp` 1.30.0's
//! experimental task support (pinned with every dependency in
//! `tests/servers/requirements-tasks.txt`), installed on demand into a venv under
//! `target/py-tools/tasks`, running the small program `tests/servers/tasks_server.py` over
//! stdio. The task store, the `tasks/*` handlers and the status notifications are the SDK's;
//! the program only declares tools that run as tasks (`work`, `forever`, `broken`, `ask`,
//! `ask_as_task`, `sample_as_task`: see the program's docstring).

use std::path::{Path, PathBuf};

use crate::peer2026::python_venv;

/// The SDK and its version.
pub const SDK: &str = "mcp==1.30.0";
/// The pinned requirements the venv is made from.
const REQUIREMENTS: &str = include_str!("../servers/requirements-tasks.txt");
/// The environment variable naming the file the program appends a line to for each
/// `tasks/get` ("get ID") and `tasks/cancel` ("cancel ID") it answers.
pub const EVENTS_ENV: &str = "TASKS_EVENTS";

/// The server program, `tests/servers/tasks_server.py`.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/tasks_server.py")
}

/// The venv's Python, the SDK installed (once).
pub fn python() -> PathBuf {
    python_venv("tasks", REQUIREMENTS).join("bin/python")
}

/// The command line that runs the program over stdio; `poll_ms` is the `pollInterval` its
/// tasks advertise (`None`: the SDK's 500 ms). Add `(EVENTS_ENV, path)` to its environment to
/// get the events in a file.
pub fn stdio_command(poll_ms: Option<u64>) -> mcpwire::runtime::Command {
    let mut args = vec![server_script().display().to_string(), "stdio".to_owned()];
    if let Some(ms) = poll_ms {
        args.extend(["--poll-ms".to_owned(), ms.to_string()]);
    }
    mcpwire::runtime::Command::new(python().display().to_string()).args(args)
}
