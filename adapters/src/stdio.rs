//! A stdio server process: pumps its stdout to the driver, writes what the core sends to its
//! stdin (reporting each write taken, so the core can bound what waits), forwards its stderr a
//! bounded line at a time, reports its exit, and shuts it down as the spec says: close stdin,
//! wait, SIGTERM, wait, SIGKILL. The child runs in its own process group, and the signals go
//! to the whole group, so a server started through a launcher that does not `exec` (`sh -c`,
//! `npx`, `uvx`) ends with the client; the group is killed when the client goes away, however
//! it goes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use mcpwire_core::{TransportError, TransportErrorKind};
use rustix::process::{kill_process_group, Pid, Signal};

use crate::runtime::{after, timeout, Command, Runtime};
use crate::transport::{Inbox, Incoming};

/// How long the server gets to exit after its stdin closes, and again after SIGTERM.
const GRACE: Duration = Duration::from_secs(2);
/// How long stdout's end waits for the exit status, which says more.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(200);

/// Where the server's stderr goes, a line at a time.
pub type StderrSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The driver's side of a running server process.
#[derive(Debug)]
pub(crate) struct Stdio {
    /// The child's process group (its pid), while it may be running.
    pub(crate) group: Option<Pid>,
    stdin: async_channel::Sender<Vec<u8>>,
    shutdown: async_channel::Sender<()>,
    exited: async_channel::Receiver<()>,
}

/// Kills the child's process group when dropped: when the client shuts the child down, when
/// the child exits (its own children go with it), and when the task holding it is dropped
/// with the runtime.
struct Group(Option<Pid>);

impl Group {
    fn signal(&self, signal: Signal) {
        if let Some(pid) = self.0 {
            let _ = kill_process_group(pid, signal);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::KILL);
    }
}

impl Stdio {
    /// Starts `command` and the tasks that pump it. `stderr_line` bounds one stderr line (the
    /// rest of a longer one is cut, with a note), and `stderr_peak` records the most bytes the
    /// stderr reader held.
    pub(crate) fn start(
        runtime: Arc<dyn Runtime>,
        command: &Command,
        to_driver: Inbox,
        stderr: Option<StderrSink>,
        stderr_line: usize,
        stderr_peak: Arc<AtomicUsize>,
    ) -> Result<Stdio, crate::Error> {
        let process = runtime
            .spawn_process(command)
            .map_err(|e| crate::Error::Spawn {
                program: command.program.clone(),
                source: Arc::new(e),
            })?;
        let (mut stdin, mut stdout, err_pipe, mut child) =
            (process.stdin, process.stdout, process.stderr, process.child);
        let group = Group(child.id().and_then(|p| Pid::from_raw(p as i32)));
        let group_pid = group.0;

        // Unbounded in count; the core bounds the bytes (`Policy::max_send_backlog`) by what
        // it has been told was written.
        let (stdin_tx, stdin_rx) = async_channel::unbounded::<Vec<u8>>();
        let writer_events = to_driver.clone();
        let rt = runtime.clone();
        runtime.spawn(Box::pin(async move {
            while let Ok(bytes) = stdin_rx.recv().await {
                let written = async {
                    stdin.write_all(&bytes).await?;
                    stdin.flush().await
                }
                .await;
                let msg = match written {
                    Ok(()) => Incoming::StdinWritten(bytes.len()),
                    Err(e) => {
                        // A closed pipe mostly means the child is exiting: its exit status,
                        // reported meanwhile, says more than "broken pipe".
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            rt.sleep_until(after(&*rt, EXIT_STATUS_WAIT)).await;
                        }
                        let error = TransportError::new(
                            TransportErrorKind::Other,
                            format!("writing to the server: {e}"),
                        );
                        drop(writer_events.send(Incoming::WriteFailed(error)).await);
                        return;
                    }
                };
                if writer_events.send(msg).await.is_err() {
                    return;
                }
            }
            // Dropping stdin closes it: the first step of the shutdown.
            drop(stdin.close().await);
        }));

        let reader_events = to_driver.clone();
        let rt = runtime.clone();
        runtime.spawn(Box::pin(async move {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let data = Bytes::copy_from_slice(&buf[..n]);
                        if reader_events.send(Incoming::Stdout(data)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            // Give the exit status a moment to arrive first: it says more than "closed".
            rt.sleep_until(after(&*rt, EXIT_STATUS_WAIT)).await;
            drop(reader_events.send(Incoming::StdoutClosed).await);
        }));

        // Closed when stderr ends, so that the exit is reported after the last stderr line.
        let (stderr_open, stderr_ended) = async_channel::bounded::<()>(1);
        runtime.spawn(Box::pin(async move {
            let _open = stderr_open;
            let sink = |line: &str| match &stderr {
                Some(sink) => sink(line),
                None => tracing::info!(target: "mcpwire::server_stderr", "{line}"),
            };
            forward_stderr(err_pipe, stderr_line, &stderr_peak, sink).await;
        }));

        let (shutdown_tx, shutdown_rx) = async_channel::bounded::<()>(1);
        let (exited_tx, exited_rx) = async_channel::bounded::<()>(1);
        let rt = runtime.clone();
        runtime.spawn(Box::pin(async move {
            let exit = futures_lite::future::or(async { Some(child.wait().await) }, async {
                let _ = shutdown_rx.recv().await;
                None
            })
            .await;
            match exit {
                Some(status) => {
                    // What the server started ends with it.
                    group.signal(Signal::TERM);
                    let code = status.ok().and_then(|s| s.code());
                    let _ = timeout(&*rt, EXIT_STATUS_WAIT, stderr_ended.recv()).await;
                    drop(to_driver.send(Incoming::ProcessExited { code }).await);
                }
                None => shut_down(&*rt, &mut *child, &group).await,
            }
            drop(group);
            drop(exited_tx);
        }));

        Ok(Stdio {
            group: group_pid,
            stdin: stdin_tx,
            shutdown: shutdown_tx,
            exited: exited_rx,
        })
    }

    /// Writes bytes to the server's stdin, in order.
    pub(crate) fn write(&self, bytes: Vec<u8>) {
        drop(self.stdin.try_send(bytes));
    }

    /// Closes stdin and lets the process go (or makes it); completes when it has exited.
    pub(crate) async fn close(self) {
        self.stdin.close();
        let _ = self.shutdown.try_send(());
        let _ = self.exited.recv().await;
    }
}

/// Reads stderr to its end as bytes, calling `sink` with each line lossily decoded. A line
/// longer than `max_line` bytes is cut there, with a note of how much was left out; no more
/// than `max_line` bytes are ever held. Invalid UTF-8 does not stop the reading: a server
/// whose stderr is no longer read blocks, or dies of SIGPIPE.
pub(crate) async fn forward_stderr(
    mut pipe: impl AsyncRead + Unpin,
    max_line: usize,
    peak: &AtomicUsize,
    sink: impl Fn(&str),
) {
    let max_line = max_line.max(1);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = 0usize;
    let mut buf = vec![0u8; 8 << 10];
    let emit = |line: &mut Vec<u8>, cut: &mut usize| {
        let end = line.strip_suffix(b"\r").map_or(line.len(), <[u8]>::len);
        let mut text = String::from_utf8_lossy(&line[..end]).into_owned();
        if *cut > 0 {
            text.push_str(&format!(" … ({cut} more bytes cut)"));
        }
        sink(&text);
        line.clear();
        *cut = 0;
    };
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (part, newline) = match memchr(b'\n', rest) {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            let room = max_line - line.len();
            line.extend_from_slice(&part[..part.len().min(room)]);
            cut += part.len().saturating_sub(room);
            peak.fetch_max(line.len(), Ordering::Relaxed);
            rest = &rest[part.len() + usize::from(newline)..];
            if newline {
                emit(&mut line, &mut cut);
            }
        }
    }
    if !line.is_empty() || cut > 0 {
        emit(&mut line, &mut cut);
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

/// The spec's shutdown: stdin is already closed; wait, SIGTERM (the group), wait, SIGKILL.
async fn shut_down(rt: &dyn Runtime, child: &mut dyn crate::runtime::Child, group: &Group) {
    if timeout(rt, GRACE, child.wait()).await.is_some() {
        return;
    }
    group.signal(Signal::TERM);
    if timeout(rt, GRACE, child.wait()).await.is_some() {
        return;
    }
    group.signal(Signal::KILL);
    drop(child.kill());
    drop(child.wait().await);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn lines(input: &[u8], max: usize) -> (Vec<String>, usize) {
        let peak = AtomicUsize::new(0);
        let out = Mutex::new(Vec::new());
        futures_lite::future::block_on(forward_stderr(input, max, &peak, |l| {
            out.lock().unwrap().push(l.to_owned())
        }));
        (out.into_inner().unwrap(), peak.into_inner())
    }

    #[test]
    fn stderr_lines_are_cut_at_the_limit_and_never_held_past_it() {
        let long = vec![b'x'; 100_000];
        let mut input = long.clone();
        input.extend_from_slice(b"\nnext\r\n");
        let (out, peak) = lines(&input, 1000);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            format!("{} … (99000 more bytes cut)", "x".repeat(1000))
        );
        assert_eq!(out[1], "next");
        assert!(peak <= 1000, "{peak}");
    }

    #[test]
    fn invalid_utf8_on_stderr_is_decoded_lossily_and_reading_goes_on() {
        let (out, _) = lines(b"bad \xFF byte\nafter\nlast without newline", 1 << 16);
        assert_eq!(
            out,
            vec!["bad \u{FFFD} byte", "after", "last without newline"]
        );
    }
}
