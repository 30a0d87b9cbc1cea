//! The session's timers: one table of deadlines, each with a named reason.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::input::ExchangeId;
use crate::output::RequestId;

/// Why the session wants to be called back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TimerReason {
    /// A request's deadline.
    RequestDeadline(RequestId),
    /// Resuming a request's SSE stream after the server's `retry`.
    ResumeStream(RequestId),
    /// Reopening the server's GET stream after its `retry`.
    ReopenServerStream,
    /// Becoming ready without the server's answer to the GET stream.
    ServerStreamWait,
    /// Giving up waiting for the rest of a failed response's body.
    ErrorBody(ExchangeId),
    /// 2026-07-28: issuing a request again after its stream broke.
    Reissue(RequestId),
    /// Polling a task-augmented request's task (`tasks/get`).
    TaskPoll(RequestId),
    /// A task-augmented request's wait ends: its task's TTL, or the wait's bound.
    TaskDeadline(RequestId),
    /// The TTL of a task the client hosts for the server passes (by its serial number).
    HostedTaskExpiry(u64),
}

/// Deadlines by reason, ordered by instant (ties by reason, so firing order is deterministic).
/// Generic over the time type so that it can be tested without a clock.
///
/// A request's deadline is the one timer most requests have, so its instant is kept by the
/// request (which passes it back to move or clear it, [`Timers::move_deadline`]) and not a
/// second time here by reason: one ordered entry a request instead of two.
#[derive(Debug)]
pub(crate) struct Timers<T = Instant> {
    /// Every timer but the requests' deadlines, by reason.
    by_reason: BTreeMap<TimerReason, T>,
    /// Every timer, by instant.
    by_time: BTreeSet<(T, TimerReason)>,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            by_reason: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }
}

impl<T: Ord + Copy> Timers<T> {
    /// Sets the timer for `reason` (any but a request's deadline: [`Timers::move_deadline`]).
    pub(crate) fn set(&mut self, reason: TimerReason, at: T) {
        debug_assert!(!matches!(reason, TimerReason::RequestDeadline(_)));
        if let Some(old) = self.by_reason.insert(reason, at) {
            self.by_time.remove(&(old, reason));
        }
        self.by_time.insert((at, reason));
    }

    /// Clears the timer for `reason` (any but a request's deadline).
    pub(crate) fn clear(&mut self, reason: TimerReason) {
        debug_assert!(!matches!(reason, TimerReason::RequestDeadline(_)));
        if let Some(old) = self.by_reason.remove(&reason) {
            self.by_time.remove(&(old, reason));
        }
    }

    /// Moves request `id`'s deadline from `old` (the instant the request kept, `None` if it had
    /// none) to `at` (`None`: it has none now).
    pub(crate) fn move_deadline(&mut self, id: RequestId, old: Option<T>, at: Option<T>) {
        let reason = TimerReason::RequestDeadline(id);
        if let Some(old) = old {
            let removed = self.by_time.remove(&(old, reason));
            debug_assert!(removed, "a request kept a deadline the table did not have");
        }
        if let Some(at) = at {
            self.by_time.insert((at, reason));
        }
    }

    /// The earliest timer.
    pub(crate) fn next(&self) -> Option<(T, TimerReason)> {
        self.by_time.first().copied()
    }

    /// Removes and returns the earliest timer due at `now`, with the instant it was set for.
    pub(crate) fn pop_due(&mut self, now: T) -> Option<(T, TimerReason)> {
        let &(at, reason) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.by_time.pop_first();
        if !matches!(reason, TimerReason::RequestDeadline(_)) {
            self.by_reason.remove(&reason);
        }
        Some((at, reason))
    }

    /// An estimate of the bytes the table holds: an ordered entry (32 bytes, in B-tree nodes
    /// about half full when instants come in order) by instant for each timer, and another by
    /// reason for each timer but a request's deadline.
    pub(crate) fn retained(&self) -> usize {
        (self.by_time.len() + self.by_reason.len()) * 64
    }

    pub(crate) fn clear_all(&mut self) {
        self.by_reason.clear();
        self.by_time.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_time_order_and_reset_replaces() {
        let t0 = 100u64;
        let mut t = Timers::<u64>::default();
        t.move_deadline(RequestId(2), None, Some(t0 + 5));
        t.move_deadline(RequestId(1), None, Some(t0 + 3));
        t.move_deadline(RequestId(2), Some(t0 + 5), Some(t0 + 1));
        assert_eq!(t.next().unwrap().0, t0 + 1);
        assert_eq!(t.pop_due(t0), None);
        assert_eq!(
            t.pop_due(t0 + 4),
            Some((t0 + 1, TimerReason::RequestDeadline(RequestId(2))))
        );
        assert_eq!(
            t.pop_due(t0 + 4),
            Some((t0 + 3, TimerReason::RequestDeadline(RequestId(1))))
        );
        assert_eq!(t.pop_due(t0 + 4), None);
        t.set(TimerReason::ReopenServerStream, t0);
        t.clear(TimerReason::ReopenServerStream);
        assert!(t.next().is_none());
    }
}
