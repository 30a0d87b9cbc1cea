//! Running the `mcpwire` binary (or any command) with a time limit, capturing what it printed.

#![allow(dead_code)] // each test file uses part of this

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed, and how it exited.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// How long it ran.
    pub took: Duration,
}

impl Run {
    /// Fails the test, showing the output, unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The `mcpwire` binary under test.
pub fn mcpwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mcpwire"))
}

/// Runs `mcpwire args...` with a 60 s limit.
pub fn mcpwire_run(args: &[&str]) -> Run {
    let mut command = mcpwire();
    command.args(args);
    run(command, Duration::from_secs(60))
}

/// Runs `mcpwire args...` with a 60 s limit, its stdout a pipe whose reader has already
/// gone: every write to it fails with EPIPE (`Run::stdout` is empty).
pub fn mcpwire_run_with_stdout_closed(args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut command = mcpwire();
    command.args(args);
    run_with_stdout(command, writer.into(), Duration::from_secs(60))
}

/// Runs `command` to its end, killing it (and failing the test) after `limit`.
pub fn run(command: Command, limit: Duration) -> Run {
    run_with_stdout(command, Stdio::piped(), limit)
}

/// [`run`] with `stdout` as the command's stdout (captured only if it is `Stdio::piped()`).
pub fn run_with_stdout(command: Command, stdout: Stdio, limit: Duration) -> Run {
    finish(spawn_with_stdout(command, stdout), limit)
}

/// A command started by [`spawn`].
pub struct Spawned {
    /// The child.
    pub child: Child,
    start: Instant,
    what: String,
}

/// Starts `command` with its stdout and stderr piped, for [`finish`].
pub fn spawn(command: Command) -> Spawned {
    spawn_with_stdout(command, Stdio::piped())
}

fn spawn_with_stdout(mut command: Command, stdout: Stdio) -> Spawned {
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    Spawned {
        child,
        start,
        what: format!("{command:?}"),
    }
}

/// Waits for a [`spawn`]ed command to end, killing it (and failing the test) `limit` after
/// it started.
pub fn finish(spawned: Spawned, limit: Duration) -> Run {
    let Spawned {
        mut child,
        start,
        what,
    } = spawned;
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let code = wait(&mut child, start + limit);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let Some(code) = code else {
        panic!("{what} ran longer than {limit:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    };
    Run {
        code,
        stdout,
        stderr,
        took: start.elapsed(),
    }
}

fn drain(pipe: Option<Box<dyn Read + Send>>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// The exit code, or `None` if the deadline passed (the child is then killed).
fn wait(child: &mut Child, deadline: Instant) -> Option<i32> {
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Some(status.code().unwrap_or(-1));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
