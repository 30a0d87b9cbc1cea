//! A channel for one value, or for none: the driver's answer to one call; and a link whose
//! two ends each learn when the other is dropped: an exchange task's "stop" and "done". Each
//! is one allocation and one lock; an `async_channel::bounded(1)` costs a channel, event
//! lists that allocate on first use, and a listener per wait (issue 15's per-call plumbing).
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

/// One end of a link: it resolves once the other end is dropped, and dropping it tells the
/// other. An exchange task's "stop" (the driver drops its end) and "done" (the task drops
/// its own) in one allocation, where two channels took two.
pub(crate) struct End {
    link: Arc<Mutex<Link>>,
    /// Which end this is: 0 or 1.
    side: usize,
}

#[derive(Default)]
struct Link {
    gone: [bool; 2],
    wakers: [Option<Waker>; 2],
}

/// A link's two ends.
pub(crate) fn link() -> (End, End) {
    let link = Arc::new(Mutex::new(Link::default()));
    (
        End {
            link: link.clone(),
            side: 0,
        },
        End { link, side: 1 },
    )
}

fn lock_link(link: &Mutex<Link>) -> MutexGuard<'_, Link> {
    link.lock().unwrap_or_else(|e| e.into_inner())
}

impl Future for End {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut link = lock_link(&self.link);
        if link.gone[1 - self.side] {
            return Poll::Ready(());
        }
        match &mut link.wakers[self.side] {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for End {
    fn drop(&mut self) {
        let waker = {
            let mut link = lock_link(&self.link);
            link.gone[self.side] = true;
            link.wakers[1 - self.side].take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_end_of_a_link_resolves_when_the_other_is_dropped() {
        use std::task::Waker;
        for first in [0, 1] {
            let (a, b) = link();
            let (mut dropped, mut kept) = if first == 0 { (a, b) } else { (b, a) };
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut kept).poll(&mut cx).is_pending());
            assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
            drop(dropped);
            assert!(Pin::new(&mut kept).poll(&mut cx).is_ready());
        }
        // A waiting end is woken by the drop, from another thread.
        let (a, b) = link();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(b);
        });
        futures_lite::future::block_on(a);
        t.join().unwrap();
    }

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
