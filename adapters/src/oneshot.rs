//! A channel for one value, or for none: the driver's answer to one call, an exchange task's
//! "stop" and "done". One allocation and one lock; an `async_channel::bounded(1)` costs a
//! channel, event lists that allocate on first use, and a listener per wait (issue 15's
//! per-call plumbing).
//!
//! Dropping the sender without sending closes the channel: the receiver then resolves to
//! `Err(Closed)`, so "dropped" is a signal too.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    /// Who waits for the value.
    waker: Option<Waker>,
    /// The sender is gone: no value comes after `value`.
    closed: bool,
}

type Shared<T> = Arc<Mutex<Slot<T>>>;

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, Slot<T>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends at most one value; dropping it closes the channel.
pub(crate) struct Sender<T>(Shared<T>);

/// Resolves to the value, or to `Err(Closed)` once the sender is gone without one.
pub(crate) struct Receiver<T>(Shared<T>);

/// The sender went away without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        closed: false,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Sends `value` (dropped with the channel if nobody waits any more).
    pub(crate) fn send(self, value: T) {
        lock(&self.0).value = Some(value);
        // `drop` closes and wakes.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.0);
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.0);
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Ok(value));
        }
        if slot.closed {
            return Poll::Ready(Err(Closed));
        }
        match &mut slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_arrives_and_a_dropped_sender_closes() {
        let (tx, rx) = channel();
        tx.send(7);
        assert_eq!(futures_lite::future::block_on(rx), Ok(7));
        let (tx, rx) = channel::<u8>();
        drop(tx);
        assert_eq!(futures_lite::future::block_on(rx), Err(Closed));
        // A waiting receiver is woken by the send, from another thread.
        let (tx, rx) = channel();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send("late");
        });
        assert_eq!(futures_lite::future::block_on(rx), Ok("late"));
        t.join().unwrap();
    }
}
