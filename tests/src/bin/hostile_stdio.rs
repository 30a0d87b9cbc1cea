//! A tiny, hostile MCP server over stdio, for tests that prove a client stays bounded in
//! memory and traffic whatever its server does.
//!
//! Without flags it is a correct server reading one JSON-RPC message a line: `initialize`
//! answers protocol version `2025-11-25` with capabilities `{"tools":{}}`, `tools/list`
//! answers `{"tools":[]}`, `tools/call` answers the text content `"ok"` (whatever the tool),
//! `ping` answers `{}`, any other request the error -32601. Notifications and the client's
//! responses are read and ignored; lines that are not JSON are skipped. It exits (code 0) when
//! its stdin ends. Writing to a closed stdout or stderr (EPIPE) exits with code 141, as a death
//! by SIGPIPE would. It writes nothing to stderr unless a flag says so.
//!
//! Flags (they combine, e.g. `--bom --pretty`):
//!
//! - `--stop-reading-and-ping`: after answering `initialize` and reading
//!   `notifications/initialized`, never read stdin again, and write `ping` requests
//!   (`{"jsonrpc":"2.0","id":"p<N>","method":"ping"}`, N = 1, 2, …) to stdout as fast as it
//!   can, forever: the client's answers pile up in the pipe to its stdin, and its reader sees
//!   an endless stream.
//! - `--notify-flood <COUNT> <SIZE>`: right after the `initialize` response (before reading
//!   anything more), write COUNT `notifications/message` whose JSON text is SIZE bytes each
//!   (`params.data` padded with `x`; at least about 120 bytes), then behave normally.
//! - `--stderr-no-newline <BYTES>`: at start, before reading stdin, write BYTES bytes of `x`
//!   to stderr without any newline, in 8 KiB chunks (stderr is unbuffered), then behave
//!   normally; stderr stays open. A client that does not drain stderr blocks it here.
//! - `--stderr-invalid-utf8`: at start write the stderr line `invalid UTF-8 follows: \xFF`
//!   (the byte 0xFF, then a newline), then, from a thread, the line `log line N` every 10 ms
//!   for the whole session. A client that stops reading stderr makes that thread block once
//!   the pipe is full (the rest of the server goes on); one that closes it makes the process
//!   exit with code 141.
//! - `--bom`: write a UTF-8 byte order mark (EF BB BF) at the very start of stdout, before the
//!   first message (at once, not waiting for `initialize`).
//! - `--pretty`: write every message (responses, notifications, pings) pretty-printed over
//!   several lines (`serde_json::to_string_pretty`), each followed by a newline.
//! - `--pid-file <PATH>`: at start, write its own pid (decimal, with a newline) to PATH, by
//!   writing `PATH.tmp` and renaming it, so a reader never sees half a pid. For tests that
//!   check a grandchild dies with the client: run `sh -c '<fixture> --pid-file X; exit $?'`
//!   (the trailing command keeps the shell from exec'ing the fixture, so the fixture is the
//!   shell's child).
//! - `--ignore-sigterm`: SIGTERM does not end the process (a handler that does nothing is
//!   installed with the `async-signal` crate, safely, and kept for the whole run); only SIGKILL
//!   or the end of stdin does. (Without this binary, `sh -c 'trap "" TERM; exec <server>'` has
//!   the same effect, as an ignored signal stays ignored across exec.)
//!
//! A bad command line prints a usage line to stderr and exits with code 2.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

/// What the command line asked for.
#[derive(Default)]
struct Options {
    stop_reading_and_ping: bool,
    notify_flood: Option<(usize, usize)>,
    stderr_no_newline: Option<usize>,
    stderr_invalid_utf8: bool,
    bom: bool,
    pretty: bool,
    pid_file: Option<PathBuf>,
    ignore_sigterm: bool,
}

const USAGE: &str = "usage: hostile_stdio [--stop-reading-and-ping] [--notify-flood COUNT SIZE] \
[--stderr-no-newline BYTES] [--stderr-invalid-utf8] [--bom] [--pretty] [--pid-file PATH] \
[--ignore-sigterm]";

fn main() {
    let options = parse(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("hostile_stdio: {error}\n{USAGE}");
        std::process::exit(2)
    });
    // Kept until the process ends: dropping it would restore SIGTERM's default.
    let _sigterm = options
        .ignore_sigterm
        .then(|| async_signal::Signals::new([async_signal::Signal::Term]).expect("catch SIGTERM"));
    if let Some(path) = &options.pid_file {
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, format!("{}\n", std::process::id())).expect("write the pid file");
        std::fs::rename(&tmp, path).expect("rename the pid file");
    }
    let mut out = Out {
        stdout: io::stdout().lock(),
        pretty: options.pretty,
    };
    if options.bom {
        out.bytes(b"\xEF\xBB\xBF");
    }
    if let Some(bytes) = options.stderr_no_newline {
        let chunk = [b'x'; 8192];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            or_exit(
                io::stderr()
                    .write_all(&chunk[..n])
                    .and_then(|_| io::stderr().flush()),
            );
            left -= n;
        }
    }
    if options.stderr_invalid_utf8 {
        or_exit(io::stderr().write_all(b"invalid UTF-8 follows: \xFF\n"));
        std::thread::spawn(|| {
            for n in 1.. {
                std::thread::sleep(Duration::from_millis(10));
                or_exit(writeln!(io::stderr(), "log line {n}"));
            }
        });
    }
    serve(&options, &mut out);
}

/// Read and answer messages until stdin ends (or, with `--stop-reading-and-ping`, forever).
fn serve(options: &Options, out: &mut Out) {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    let mut initialized = false;
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let Ok(message) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let method = message["method"].as_str().unwrap_or_default();
        let Some(id) = message.get("id").filter(|_| !method.is_empty()) else {
            if method == "notifications/initialized" && initialized && options.stop_reading_and_ping
            {
                ping_forever(out);
            }
            continue; // another notification, or a response to one of our pings
        };
        let result = match method {
            "initialize" => Ok(json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile-stdio", "version": "1"}
            })),
            "tools/list" => Ok(json!({"tools": []})),
            "tools/call" => Ok(json!({"content": [{"type": "text", "text": "ok"}]})),
            "ping" => Ok(json!({})),
            other => Err(json!({"code": -32601, "message": format!("Method not found: {other}")})),
        };
        out.message(&match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        });
        if method == "initialize" {
            initialized = true;
            if let Some((count, size)) = options.notify_flood {
                flood(out, count, size);
            }
        }
    }
}

/// `count` `notifications/message` of `size` bytes of JSON each.
fn flood(out: &mut Out, count: usize, size: usize) {
    let padding = "x".repeat(size);
    for n in 1..=count {
        let head = format!("flood {n} ");
        let bare = json!({"jsonrpc": "2.0", "method": "notifications/message",
                          "params": {"level": "info", "logger": "hostile-stdio", "data": head}});
        let pad = size.saturating_sub(bare.to_string().len());
        let mut note = bare;
        note["params"]["data"] = Value::String(head + &padding[..pad]);
        out.message(&note);
    }
}

/// Write pings `p1`, `p2`, … forever (until stdout is closed: exit 141).
fn ping_forever(out: &mut Out) -> ! {
    for n in 1u64.. {
        out.message(&json!({"jsonrpc": "2.0", "id": format!("p{n}"), "method": "ping"}));
    }
    unreachable!("pings ran out of numbers")
}

/// Stdout, one flushed message a line (or several lines with `--pretty`).
struct Out {
    stdout: io::StdoutLock<'static>,
    pretty: bool,
}

impl Out {
    fn message(&mut self, message: &Value) {
        let mut text = if self.pretty {
            serde_json::to_string_pretty(message).expect("serialize")
        } else {
            message.to_string()
        };
        text.push('\n');
        self.bytes(text.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        or_exit(
            self.stdout
                .write_all(bytes)
                .and_then(|_| self.stdout.flush()),
        );
    }
}

/// Go on after a successful write; exit 141 on EPIPE (the reader has gone), 1 on other errors.
fn or_exit(written: io::Result<()>) {
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(_) => std::process::exit(1),
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    fn number(flag: &str, value: Option<String>) -> Result<usize, String> {
        let value = value.ok_or(format!("{flag} needs a number"))?;
        value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--stop-reading-and-ping" => options.stop_reading_and_ping = true,
            "--notify-flood" => {
                let count = number(&arg, args.next())?;
                options.notify_flood = Some((count, number(&arg, args.next())?));
            }
            "--stderr-no-newline" => options.stderr_no_newline = Some(number(&arg, args.next())?),
            "--stderr-invalid-utf8" => options.stderr_invalid_utf8 = true,
            "--bom" => options.bom = true,
            "--pretty" => options.pretty = true,
            "--pid-file" => {
                let path = args.next().ok_or("--pid-file needs a path")?;
                options.pid_file = Some(path.into());
            }
            "--ignore-sigterm" => options.ignore_sigterm = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(options)
}
