//! The `hostile_stdio` fixture does what its flags say, as seen through its pipes.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const FIXTURE: &str = env!("CARGO_BIN_EXE_hostile_stdio");
/// How long any one wait may take.
const WAIT: Duration = Duration::from_secs(2);

/// The bytes read so far from a child's pipe, by a thread of its own.
struct Pipe {
    chunks: mpsc::Receiver<Vec<u8>>,
    bytes: Vec<u8>,
}

impl Pipe {
    fn new(mut pipe: impl Read + Send + 'static) -> Pipe {
        let (tx, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                if tx.send(buffer[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        Pipe {
            chunks,
            bytes: Vec::new(),
        }
    }

    /// Read until `done` holds for the bytes read so far; panics after [`WAIT`].
    fn until(&mut self, what: &str, done: impl Fn(&[u8]) -> bool) -> &[u8] {
        let deadline = Instant::now() + WAIT;
        while !done(&self.bytes) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.bytes.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "{what}: got {:?}",
                    String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(500)])
                ),
            }
        }
        &self.bytes
    }

    /// The complete lines read so far, waiting until there are `n`.
    fn lines(&mut self, n: usize) -> Vec<String> {
        let bytes = self.until(&format!("{n} lines"), |b| {
            b.iter().filter(|&&c| c == b'\n').count() >= n
        });
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        text.lines().map(str::to_owned).collect()
    }
}

/// A running fixture; killed (and reaped) when dropped.
struct Fixture {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Pipe,
}

impl Fixture {
    fn spawn(args: &[&str], stderr: Stdio) -> (Fixture, Option<std::process::ChildStderr>) {
        Fixture::command(Command::new(FIXTURE).args(args), stderr)
    }

    fn command(
        command: &mut Command,
        stderr: Stdio,
    ) -> (Fixture, Option<std::process::ChildStderr>) {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the fixture");
        let stdout = Pipe::new(child.stdout.take().expect("stdout"));
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let fixture = Fixture {
            child,
            stdin,
            stdout,
        };
        (fixture, stderr)
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").expect("write to the fixture");
        stdin.flush().expect("flush");
    }

    fn initialize(&mut self) {
        self.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "smoke", "version": "0"}}}));
    }

    /// The exit status, once the child has ended; panics after [`WAIT`].
    fn exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the fixture did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status();
        assert!(status.expect("run kill").success());
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first complete JSON value in `bytes`, if there is one yet.
fn first_value(bytes: &[u8]) -> Option<Value> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    values.next()?.ok()
}

fn assert_initialize_result(answer: &Value) {
    assert_eq!(answer["id"], 0);
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(answer["result"]["capabilities"], json!({"tools": {}}));
}

#[test]
fn without_flags_it_is_a_plain_server() {
    let (mut fixture, _) = Fixture::spawn(&[], Stdio::null());
    fixture.initialize();
    fixture.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    fixture.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    fixture.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                         "params": {"name": "any", "arguments": {}}}));
    let lines = fixture.stdout.lines(3);
    let answers: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_initialize_result(&answers[0]);
    assert_eq!(answers[1]["result"], json!({"tools": []}));
    assert_eq!(answers[2]["result"]["content"][0]["text"], "ok");
    fixture.stdin = None; // end of stdin: it exits
    assert_eq!(fixture.exit().code(), Some(0));
}

#[test]
fn bom_comes_before_the_first_message() {
    let (mut fixture, _) = Fixture::spawn(&["--bom"], Stdio::null());
    fixture.initialize();
    let lines = fixture.stdout.lines(1);
    let line = lines[0].as_bytes();
    assert_eq!(&line[..3], b"\xEF\xBB\xBF");
    assert_initialize_result(&serde_json::from_slice(&line[3..]).expect("JSON after the BOM"));
}

#[test]
fn pretty_messages_span_several_lines() {
    let (mut fixture, _) = Fixture::spawn(&["--pretty"], Stdio::null());
    fixture.initialize();
    let bytes = fixture
        .stdout
        .until("a whole value", |b| first_value(b).is_some());
    assert_initialize_result(&first_value(bytes).unwrap());
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    assert!(text.lines().count() > 5, "{text}");
    assert!(text.starts_with("{\n"), "{text}");
}

#[test]
fn bom_and_pretty_combine() {
    let (mut fixture, _) = Fixture::spawn(&["--pretty", "--bom"], Stdio::null());
    fixture.initialize();
    let bytes = fixture.stdout.until("a whole value after the BOM", |b| {
        b.len() > 3 && first_value(&b[3..]).is_some()
    });
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    assert!(bytes[3..].iter().filter(|&&b| b == b'\n').count() > 5);
    assert_initialize_result(&first_value(&bytes[3..]).unwrap());
}

#[test]
fn pid_file_names_the_grandchild() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let pid_file = dir.join(format!("hostile-stdio-{}.pid", std::process::id()));
    let _ = std::fs::remove_file(&pid_file);
    // The trailing `exit` keeps the shell from exec'ing the fixture.
    let script = format!("'{FIXTURE}' --pid-file '{}'; exit $?", pid_file.display());
    let (mut shell, _) = Fixture::command(Command::new("sh").args(["-c", &script]), Stdio::null());
    let deadline = Instant::now() + WAIT;
    let pid: u32 = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            break text.trim().parse().expect("a pid");
        }
        assert!(Instant::now() < deadline, "no pid file");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_ne!(pid, shell.child.id(), "the fixture is not the shell");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("a live process");
    assert!(String::from_utf8_lossy(&cmdline).contains("hostile_stdio"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let parent = status.lines().find_map(|l| l.strip_prefix("PPid:"));
    assert_eq!(
        parent.map(str::trim),
        Some(shell.child.id().to_string().as_str())
    );
    // The fixture answers through the shell's pipes, and ends with them.
    shell.initialize();
    assert_initialize_result(&serde_json::from_str(&shell.stdout.lines(1)[0]).unwrap());
    shell.stdin = None;
    assert_eq!(shell.exit().code(), Some(0));
    let _ = std::fs::remove_file(&pid_file);
}

#[test]
fn stop_reading_and_ping_floods_pings() {
    let (mut fixture, _) = Fixture::spawn(&["--stop-reading-and-ping"], Stdio::null());
    fixture.initialize();
    fixture.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let lines = fixture.stdout.lines(1001);
    assert_initialize_result(&serde_json::from_str(&lines[0]).unwrap());
    for (n, line) in lines[1..1001].iter().enumerate() {
        let ping: Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(
            ping,
            json!({"jsonrpc": "2.0", "id": format!("p{}", n + 1), "method": "ping"})
        );
    }
    // Our answers are not read; the pings go on.
    fixture.send(&json!({"jsonrpc": "2.0", "id": "p1", "result": {}}));
    fixture.stdout.lines(2001);
}

#[test]
fn notify_flood_then_normal() {
    let (mut fixture, _) = Fixture::spawn(&["--notify-flood", "3", "2000"], Stdio::null());
    fixture.initialize();
    fixture.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    let lines = fixture.stdout.lines(5);
    assert_initialize_result(&serde_json::from_str(&lines[0]).unwrap());
    for (n, line) in lines[1..4].iter().enumerate() {
        assert_eq!(line.len(), 2000);
        let note: Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(note["method"], "notifications/message");
        let data = note["params"]["data"].as_str().unwrap();
        assert!(
            data.starts_with(&format!("flood {} x", n + 1)),
            "{data:.20}"
        );
    }
    assert_eq!(
        serde_json::from_str::<Value>(&lines[4]).unwrap()["result"],
        json!({"tools": []})
    );
}

#[test]
fn stderr_without_newline_then_normal() {
    let (mut fixture, stderr) = Fixture::spawn(&["--stderr-no-newline", "200000"], Stdio::piped());
    let mut stderr = Pipe::new(stderr.expect("stderr"));
    fixture.initialize();
    // More than a pipe holds: it answers only because stderr is drained.
    assert_initialize_result(&serde_json::from_str(&fixture.stdout.lines(1)[0]).unwrap());
    let bytes = stderr.until("200000 bytes", |b| b.len() >= 200_000);
    assert_eq!(bytes.len(), 200_000);
    assert!(bytes.iter().all(|&b| b == b'x'));
    // stderr stays open, and nothing more comes.
    assert!(stderr
        .chunks
        .recv_timeout(Duration::from_millis(100))
        .is_err());
}

#[test]
fn stderr_invalid_utf8_logs_until_stderr_closes() {
    let (mut fixture, stderr) = Fixture::spawn(&["--stderr-invalid-utf8"], Stdio::piped());
    let mut stderr = stderr.expect("stderr");
    // Read (with a deadline) until the third log line; close stderr's read end when told.
    let (seen_tx, seen_rx) = mpsc::channel();
    let (close_tx, close_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0; 1024];
        while !seen.ends_with(b"log line 3\n") {
            match stderr.read(&mut buffer) {
                Ok(n @ 1..) => seen.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        let _ = seen_tx.send(seen);
        let _ = close_rx.recv_timeout(WAIT);
        drop(stderr);
    });
    // It serves meanwhile.
    fixture.initialize();
    assert_initialize_result(&serde_json::from_str(&fixture.stdout.lines(1)[0]).unwrap());
    let seen = seen_rx.recv_timeout(WAIT).expect("three log lines in time");
    assert!(
        seen.starts_with(b"invalid UTF-8 follows: \xFF\nlog line 1\nlog line 2\nlog line 3\n"),
        "{seen:?}"
    );
    assert!(std::str::from_utf8(&seen).is_err());
    // The next log line meets a closed pipe: exit 141.
    close_tx.send(()).expect("the reader waits");
    assert_eq!(fixture.exit().code(), Some(141));
}

#[test]
fn ignore_sigterm_survives_sigterm_but_not_sigkill() {
    let (mut fixture, _) = Fixture::spawn(&["--ignore-sigterm"], Stdio::null());
    fixture.initialize(); // answered: the handler is in place
    fixture.stdout.lines(1);
    fixture.signal("-TERM");
    std::thread::sleep(Duration::from_millis(200));
    assert!(fixture.child.try_wait().unwrap().is_none(), "alive");
    fixture.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    assert_eq!(
        serde_json::from_str::<Value>(&fixture.stdout.lines(2)[1]).unwrap(),
        json!({"jsonrpc": "2.0", "id": 1, "result": {}})
    );
    fixture.signal("-KILL");
    assert_eq!(fixture.exit().signal(), Some(9));

    // Without the flag, SIGTERM ends it.
    let (mut plain, _) = Fixture::spawn(&[], Stdio::null());
    plain.initialize();
    plain.stdout.lines(1);
    plain.signal("-TERM");
    assert_eq!(plain.exit().signal(), Some(15));
}
