//! Every line the CLI writes to stdout or stderr goes through here.
//!
//! Unlike `println!`, which panics (exit 101) when stdout is a pipe whose reader has gone
//! (`mcpwire tools URL | head -1`: Rust ignores SIGPIPE, so the write fails with EPIPE),
//! these functions return the error. A command stops writing at the first error and returns
//! it as [`Failure::Output`](crate::exit::Failure::Output); a broken pipe is then no failure
//! at all (see [`is_closed`]).
//!
//! Text is written through [`for_terminal`], so that nothing a server says (a tool's output,
//! an error body, a description) can drive the terminal; JSON through [`sanitize::json`],
//! which escapes the same characters inside strings.

use std::io::{self, Write};

use serde::Serialize;

use crate::sanitize::{self, for_terminal};

/// Writes `text`, [sanitised](for_terminal), and a line break to stdout, and flushes it
/// (so that a closed pipe is noticed at this line, not at exit).
pub fn out(text: &str) -> io::Result<()> {
    line(io::stdout().lock(), &for_terminal(text))
}

/// Writes `text`, [sanitised](for_terminal), and a line break to stderr, with a progress
/// bar on screen [out of the way](crate::progress::suspended).
pub fn err(text: &str) -> io::Result<()> {
    crate::progress::suspended(|| line(io::stderr().lock(), &for_terminal(text)))
}

/// Writes `value` as pretty JSON on stdout (with [`sanitize::json`]).
pub fn json(value: &impl Serialize) -> io::Result<()> {
    out(&sanitize::json(value, true)?)
}

/// Writes `value` as JSON on one line on stdout (with [`sanitize::json`]).
pub fn json_line(value: &impl Serialize) -> io::Result<()> {
    out(&sanitize::json(value, false)?)
}

/// Whether the error says that the reader of the output has gone (EPIPE).
///
/// The command then exits as if its output had been read: 0 for a listing cut short, or the
/// code it has anyway (1 for a tool's `isError`, 2 for a JSON-RPC error, ...), and without a
/// message. That is what ripgrep does (it exits 0 on a broken pipe) and what `cat`'s users
/// see (killed by SIGPIPE, silently); a message like `cat: write error: Broken pipe` only
/// appears when SIGPIPE is ignored, and is noise after `| head`.
pub fn is_closed(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}

/// Writes `text` and `\n` to `to`, and flushes it.
fn line(mut to: impl Write, text: &str) -> io::Result<()> {
    to.write_all(text.as_bytes())?;
    to.write_all(b"\n")?;
    to.flush()
}
