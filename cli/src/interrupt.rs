//! Ctrl-C (SIGINT) while a command runs: the call in flight is cancelled, the session is
//! closed, the progress bar is cleared, and the command exits 130 ([`exit::INTERRUPTED`]).
//!
//! Nothing here speaks the protocol; it uses what the library already does. Dropping a
//! call's future cancels the request (`notifications/cancelled` is sent), and
//! [`Client::close`] ends the session (the `DELETE` of a 2025-era HTTP session, or the
//! shutdown of a stdio server). A progress bar clears itself when it is dropped. So on
//! Ctrl-C the command's future is dropped first, then every session it had open is closed:
//! the cancellation is queued to the session before the close.
//!
//! Ctrl-C while connecting leaves no session to close: `main` then drops the runtime's tasks
//! before exiting (rather than racing the exit), and with them a stdio server being started
//! (the library kills its process group when its task is dropped).
//!
//! [`exit::INTERRUPTED`]: crate::exit::INTERRUPTED

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use mcpwire::Client;

use crate::exit::Failure;

/// How long closing the sessions may take after Ctrl-C (the library's linger for the
/// cancellation and the `DELETE` is 2 s; a stdio server gets time to exit). A second
/// Ctrl-C does not wait at all.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The sessions the running command has open.
static OPEN: Mutex<Vec<(u64, Client)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// While it lives, Ctrl-C closes this session. Held by a [`Connection`](crate::connect::Connection).
pub struct Open(u64);

impl Open {
    /// Registers `client`.
    pub fn new(client: &Client) -> Open {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        open().push((id, client.clone()));
        Open(id)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        open().retain(|(id, _)| *id != self.0);
    }
}

fn open() -> std::sync::MutexGuard<'static, Vec<(u64, Client)>> {
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `command` to its end, or until Ctrl-C: then drops it (cancelling its call and
/// clearing its bar), closes the sessions it had open, and fails with
/// [`Failure::Interrupted`].
pub async fn or_ctrl_c(command: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    let mut command = Box::pin(command);
    let mut signal = pin!(tokio::signal::ctrl_c());
    // The signal is polled first: its first poll installs the handler, before the command
    // starts anything (a stdio server) that a Ctrl-C should end.
    let interrupted = poll_fn(|cx| {
        if let Poll::Ready(signal) = signal.as_mut().poll(cx) {
            return Poll::Ready(Ok(signal));
        }
        command.as_mut().poll(cx).map(Err)
    })
    .await;
    match interrupted {
        Err(outcome) => return outcome,
        // No handler could be installed: the command runs as if there were no Ctrl-C.
        Ok(Err(error)) => {
            tracing::debug!(%error, "cannot watch for Ctrl-C");
            return command.await;
        }
        Ok(Ok(())) => {}
    }
    let sessions: Vec<Client> = open().iter().map(|(_, c)| c.clone()).collect();
    drop(command);
    let close = async {
        for client in &sessions {
            client.close().await;
        }
    };
    let again = tokio::signal::ctrl_c();
    let _ = tokio::time::timeout(CLOSE_WAIT, first(close, again)).await;
    Err(Failure::Interrupted {
        closed: !sessions.is_empty(),
    })
}

/// Waits for whichever of `a` and `b` ends first.
async fn first(a: impl Future, b: impl Future) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| match (a.as_mut().poll(cx), b.as_mut().poll(cx)) {
        (Poll::Pending, Poll::Pending) => Poll::Pending,
        _ => Poll::Ready(()),
    })
    .await
}
