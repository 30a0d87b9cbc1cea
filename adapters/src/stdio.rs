//! A stdio server process: pumps its stdout to the driver, writes what the core sends to its
//! stdin, forwards its stderr, reports its exit, and shuts it down as the spec says: close
//! stdin, wait, SIGTERM, wait, SIGKILL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, StreamExt};
use mcpwire_core::{Error, TransportError, TransportErrorKind};

use crate::driver::Msg;
use crate::runtime::{timeout, Command, Runtime};

/// How long the server gets to exit after its stdin closes, and again after SIGTERM.
const GRACE: Duration = Duration::from_secs(2);
/// How long stdout's end waits for the exit status, which says more.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(200);

/// Where the server's stderr goes, a line at a time.
pub type StderrSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The driver's side of a running server process.
#[derive(Debug)]
pub(crate) struct Stdio {
    stdin: async_channel::Sender<Vec<u8>>,
    shutdown: async_channel::Sender<()>,
    exited: async_channel::Receiver<()>,
}

impl Stdio {
    /// Starts `command` and the tasks that pump it.
    pub(crate) fn start(
        runtime: Arc<dyn Runtime>,
        command: &Command,
        to_driver: async_channel::Sender<Msg>,
        stderr: Option<StderrSink>,
    ) -> Result<Stdio, Error> {
        let process = runtime.spawn_process(command).map_err(|e| {
            Error::Config(format!("cannot start {:?}: {e}", command.program).into())
        })?;
        let (mut stdin, mut stdout, err_pipe, mut child) =
            (process.stdin, process.stdout, process.stderr, process.child);

        let (stdin_tx, stdin_rx) = async_channel::unbounded::<Vec<u8>>();
        let writer_events = to_driver.clone();
        runtime.spawn(Box::pin(async move {
            while let Ok(bytes) = stdin_rx.recv().await {
                if let Err(e) = async {
                    stdin.write_all(&bytes).await?;
                    stdin.flush().await
                }
                .await
                {
                    let error = TransportError::new(
                        TransportErrorKind::Other,
                        format!("writing to the server: {e}"),
                    );
                    drop(writer_events.send(Msg::WriteFailed(error)).await);
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
                        if reader_events.send(Msg::Stdout(data)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            // Give the exit status a moment to arrive first: it says more than "closed".
            rt.sleep_until(Instant::now() + EXIT_STATUS_WAIT).await;
            drop(reader_events.send(Msg::StdoutClosed).await);
        }));

        // Closed when stderr ends, so that the exit is reported after the last stderr line.
        let (stderr_open, stderr_ended) = async_channel::bounded::<()>(1);
        runtime.spawn(Box::pin(async move {
            let _open = stderr_open;
            let mut lines = futures_lite::io::BufReader::new(err_pipe).lines();
            while let Some(Ok(line)) = lines.next().await {
                match &stderr {
                    Some(sink) => sink(&line),
                    None => tracing::info!(target: "mcpwire::server_stderr", "{line}"),
                }
            }
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
                    let code = status.ok().and_then(|s| s.code());
                    let _ =
                        timeout(&*rt, Instant::now() + EXIT_STATUS_WAIT, stderr_ended.recv()).await;
                    drop(to_driver.send(Msg::ProcessExited { code }).await);
                }
                None => shut_down(&*rt, &mut *child).await,
            }
            drop(exited_tx);
        }));

        Ok(Stdio {
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

/// The spec's shutdown: stdin is already closed; wait, SIGTERM, wait, SIGKILL.
async fn shut_down(rt: &dyn Runtime, child: &mut dyn crate::runtime::Child) {
    if timeout(rt, Instant::now() + GRACE, child.wait())
        .await
        .is_some()
    {
        return;
    }
    if let Some(pid) = child
        .id()
        .and_then(|p| rustix::process::Pid::from_raw(p as i32))
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if timeout(rt, Instant::now() + GRACE, child.wait())
            .await
            .is_some()
        {
            return;
        }
    }
    drop(child.kill());
    drop(child.wait().await);
}
