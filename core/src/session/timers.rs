//! The session's timers: one table of deadlines, each with a named reason.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
///
/// Deadlines that come in order, as they do when each request's is its start plus the same
/// timeout, go in a queue (16 bytes an entry, nanoseconds after the queue's base and the id,
/// where a B-tree entry took about 61 in nodes half full); one that would go before the
/// queue's last goes in the B-tree with the other timers.
/// A deadline cleared while others are before it is only marked in the queue, and dropped when
/// it reaches the front, or with every other mark once marks are more than half the queue.
#[derive(Debug)]
pub(crate) struct Timers<T: Ticks = Instant> {
    /// Every timer but the requests' deadlines, by reason.
    by_reason: BTreeMap<TimerReason, T>,
    /// Every timer not in `queue`, by instant.
    by_time: BTreeSet<(T, TimerReason)>,
    /// Requests' deadlines in strictly ascending (instant, id) order, each instant as
    /// nanoseconds after `base`: the id's top bit marks a cleared one ([`CLEARED`]). Its front
    /// is never marked.
    queue: VecDeque<(u64, u64)>,
    /// What the queue's instants count from: the first deadline queued since it was last
    /// empty (every later one is after it, as they come in order).
    base: Option<T>,
    /// How many entries of `queue` are marked.
    marked: usize,
    /// The earliest timer, what [`Timers::next`] gives: asked at every input and for every
    /// wake-up's deadline, where working it out (the queue's front as an instant, the B-tree's
    /// first, the two compared) cost more than the rest of the table's work. Kept by every
    /// change: a change that adds a timer only compares it with this one, one that removes
    /// this one works it out again (and `next` checks it against that in debug builds).
    earliest: Option<(T, TimerReason)>,
}

/// The bit that marks a queued deadline cleared (no request id reaches it: ids count up from
/// zero, one a request).
const CLEARED: u64 = 1 << 63;

/// An instant the queue keeps as nanoseconds after a base (8 bytes where an `Instant` takes 16).
pub(crate) trait Ticks: Ord + Copy {
    /// `self` as nanoseconds after `base`, if it is not before it and that fits in 64 bits
    /// (584 years).
    fn since(self, base: Self) -> Option<u64>;
    /// `base` plus `n` nanoseconds: exactly the instant [`Ticks::since`] gave `n` for.
    fn plus(base: Self, n: u64) -> Self;
}

impl Ticks for Instant {
    fn since(self, base: Instant) -> Option<u64> {
        u64::try_from(self.checked_duration_since(base)?.as_nanos()).ok()
    }

    fn plus(base: Instant, n: u64) -> Instant {
        base + std::time::Duration::from_nanos(n)
    }
}

impl Ticks for u64 {
    fn since(self, base: u64) -> Option<u64> {
        self.checked_sub(base)
    }

    fn plus(base: u64, n: u64) -> u64 {
        base + n
    }
}

impl<T: Ticks> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            by_reason: BTreeMap::new(),
            by_time: BTreeSet::new(),
            queue: VecDeque::new(),
            base: None,
            marked: 0,
            earliest: None,
        }
    }
}

impl<T: Ticks> Timers<T> {
    /// Sets the timer for `reason` (any but a request's deadline: [`Timers::move_deadline`]).
    pub(crate) fn set(&mut self, reason: TimerReason, at: T) {
        debug_assert!(!matches!(reason, TimerReason::RequestDeadline(_)));
        if let Some(old) = self.by_reason.insert(reason, at) {
            self.by_time.remove(&(old, reason));
            self.removed((old, reason));
        }
        self.by_time.insert((at, reason));
        self.added((at, reason));
    }

    /// Clears the timer for `reason` (any but a request's deadline).
    pub(crate) fn clear(&mut self, reason: TimerReason) {
        debug_assert!(!matches!(reason, TimerReason::RequestDeadline(_)));
        if let Some(old) = self.by_reason.remove(&reason) {
            self.by_time.remove(&(old, reason));
            self.removed((old, reason));
        }
    }

    /// Moves request `id`'s deadline from `old` (the instant the request kept, `None` if it had
    /// none) to `at` (`None`: it has none now).
    pub(crate) fn move_deadline(&mut self, id: RequestId, old: Option<T>, at: Option<T>) {
        debug_assert!(id.0 & CLEARED == 0);
        let reason = TimerReason::RequestDeadline(id);
        if let Some(old) = old {
            if !self.unqueue(old, id.0) {
                let removed = self.by_time.remove(&(old, reason));
                debug_assert!(removed, "a request kept a deadline the table did not have");
            }
            self.removed((old, reason));
        }
        if let Some(at) = at {
            let base = *self.base.get_or_insert(at);
            let queued = at.since(base).filter(|&n| {
                self.queue
                    .back()
                    .is_none_or(|&(t, raw)| (n, id.0) > (t, raw & !CLEARED))
            });
            if let Some(n) = queued {
                self.queue.push_back((n, id.0));
            } else {
                self.by_time.insert((at, reason));
            }
            self.added((at, reason));
        }
    }

    /// `timer` was added: the earliest now if it is before the one that was.
    fn added(&mut self, timer: (T, TimerReason)) {
        if self.earliest.is_none_or(|e| timer < e) {
            self.earliest = Some(timer);
        }
    }

    /// `timer` was removed: if it was the earliest, the earliest is worked out again.
    fn removed(&mut self, timer: (T, TimerReason)) {
        if self.earliest == Some(timer) {
            self.earliest = self.first();
        }
    }

    /// Marks the queued deadline (`at`, `id`) cleared; whether the queue had it.
    fn unqueue(&mut self, at: T, id: u64) -> bool {
        let Some(n) = self.base.and_then(|base| at.since(base)) else {
            return false;
        };
        // Requests answered in the order they were made: the deadline is the front, taken
        // without a search.
        if self.queue.front() == Some(&(n, id)) {
            self.queue.pop_front();
            self.tidy();
            return true;
        }
        let Ok(i) = self
            .queue
            .binary_search_by(|&(t, raw)| (t, raw & !CLEARED).cmp(&(n, id)))
        else {
            return false;
        };
        let entry = &mut self.queue[i].1;
        if *entry & CLEARED != 0 {
            return false;
        }
        *entry |= CLEARED;
        self.marked += 1;
        self.tidy();
        true
    }

    /// Keeps the queue's front unmarked, its marks no more than half of it (or 16), and its
    /// capacity within four times what it holds (or 64).
    fn tidy(&mut self) {
        while self
            .queue
            .front()
            .is_some_and(|&(_, raw)| raw & CLEARED != 0)
        {
            self.queue.pop_front();
            self.marked -= 1;
        }
        if self.marked > 16 && self.marked * 2 > self.queue.len() {
            self.queue.retain(|&(_, raw)| raw & CLEARED == 0);
            self.marked = 0;
        }
        if self.queue.is_empty() {
            self.base = None;
        }
        let (len, capacity) = (self.queue.len(), self.queue.capacity());
        if capacity > 64 && capacity > len * 4 {
            self.queue.shrink_to(len * 2);
        }
    }

    /// The earliest queued deadline, as a timer.
    fn queued(&self) -> Option<(T, TimerReason)> {
        let (&(n, id), base) = (self.queue.front()?, self.base?);
        Some((
            T::plus(base, n),
            TimerReason::RequestDeadline(RequestId(id)),
        ))
    }

    /// The earliest timer.
    pub(crate) fn next(&self) -> Option<(T, TimerReason)> {
        debug_assert!(
            self.earliest == self.first(),
            "the earliest timer kept is stale"
        );
        self.earliest
    }

    /// The earliest timer, worked out from the queue and the B-tree.
    fn first(&self) -> Option<(T, TimerReason)> {
        match (self.queued(), self.by_time.first().copied()) {
            (Some(q), Some(b)) => Some(q.min(b)),
            (q, b) => q.or(b),
        }
    }

    /// Removes and returns the earliest timer due at `now`, with the instant it was set for.
    pub(crate) fn pop_due(&mut self, now: T) -> Option<(T, TimerReason)> {
        let (at, reason) = self.next()?;
        if at > now {
            return None;
        }
        if self.queued() == Some((at, reason)) {
            self.queue.pop_front();
            self.tidy();
        } else {
            self.by_time.pop_first();
            if !matches!(reason, TimerReason::RequestDeadline(_)) {
                self.by_reason.remove(&reason);
            }
        }
        self.earliest = self.first();
        Some((at, reason))
    }

    /// An estimate of the bytes the table holds: an ordered entry (32 bytes, in B-tree nodes
    /// about half full when instants come in order) by instant for each timer not queued,
    /// another by reason for each timer but a request's deadline, and the queue's slots.
    pub(crate) fn retained(&self) -> usize {
        (self.by_time.len() + self.by_reason.len()) * 64
            + self.queue.capacity() * std::mem::size_of::<(u64, u64)>()
    }

    pub(crate) fn clear_all(&mut self) {
        self.by_reason.clear();
        self.by_time.clear();
        self.queue = VecDeque::new();
        self.base = None;
        self.marked = 0;
        self.earliest = None;
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

    #[test]
    fn cleared_deadlines_behind_a_long_one_do_not_pile_up() {
        let mut t = Timers::<u64>::default();
        // A request that stays (a long call) at the front, then 10,000 that come and go.
        t.move_deadline(RequestId(0), None, Some(1));
        for i in 1..10_000u64 {
            t.move_deadline(RequestId(i), None, Some(1 + i));
            if i > 1 {
                t.move_deadline(RequestId(i - 1), Some(i), None);
            }
            assert!(
                t.queue.len() <= 2 * 2 + 16,
                "{} entries for 2 live",
                t.queue.len()
            );
        }
        assert!(t.queue.capacity() <= 64, "{}", t.queue.capacity());
        assert_eq!(
            t.next(),
            Some((1, TimerReason::RequestDeadline(RequestId(0))))
        );
    }

    #[test]
    fn an_instant_goes_to_nanoseconds_and_back_exactly() {
        let base = Instant::now();
        for n in [
            0,
            1,
            999_999_999,
            1_000_000_001,
            86_400_000_000_123,
            1 << 60,
        ] {
            let at = <Instant as Ticks>::plus(base, n);
            assert_eq!(at.since(base), Some(n));
        }
        let before = base.checked_sub(std::time::Duration::from_nanos(1));
        assert!(before.is_none_or(|b| b.since(base).is_none()));
        // An instant past 64 bits of nanoseconds goes in the B-tree, exactly.
        let far = base + std::time::Duration::from_secs(600 * 365 * 86_400);
        assert_eq!(far.since(base), None);
        let mut t = Timers::<Instant>::default();
        t.move_deadline(RequestId(0), None, Some(base));
        t.move_deadline(RequestId(1), None, Some(far));
        assert_eq!((t.queue.len(), t.by_time.len()), (1, 1));
        assert_eq!(
            t.pop_due(far),
            Some((base, TimerReason::RequestDeadline(RequestId(0))))
        );
        assert_eq!(
            t.pop_due(far),
            Some((far, TimerReason::RequestDeadline(RequestId(1))))
        );
    }

    /// The model: every timer in one ordered set, as the table was before its queue.
    #[derive(Default)]
    struct Model {
        by_time: BTreeSet<(u64, TimerReason)>,
        deadlines: BTreeMap<RequestId, u64>,
        others: BTreeMap<TimerReason, u64>,
    }

    #[derive(Clone, Debug)]
    enum Op {
        Deadline(u64, Option<u64>),
        Set(usize, u64),
        Clear(usize),
        Pop(u64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (0..40u64, proptest::option::weighted(0.8, 0..60u64))
                .prop_map(|(id, at)| Op::Deadline(id, at)),
            1 => (0..3usize, 0..60u64).prop_map(|(r, at)| Op::Set(r, at)),
            1 => (0..3usize).prop_map(Op::Clear),
            2 => (0..60u64).prop_map(Op::Pop),
        ]
    }

    const OTHERS: [TimerReason; 3] = [
        TimerReason::ReopenServerStream,
        TimerReason::ResumeStream(RequestId(3)),
        TimerReason::Reissue(RequestId(7)),
    ];

    proptest::proptest! {
        /// The queue changes nothing of what fires when: any sequence of deadlines set, moved
        /// and cleared (in order, out of order, at equal instants), other timers and pops gives
        /// the same timers in the same order as one ordered set; and the queue stays within
        /// twice its live entries (plus 16 marks).
        #[test]
        fn the_queue_fires_as_one_ordered_set_would(
            ops in proptest::collection::vec(op(), 1..300),
            start in 0..3u64,
        ) {
            let mut t = Timers::<u64>::default();
            let mut m = Model::default();
            // Deadlines mostly in order, as requests' are: each op's instant is offset by a
            // clock that moves forward.
            let mut clock = start;
            for op in ops {
                clock += 1;
                match op {
                    Op::Deadline(id, at) => {
                        let id = RequestId(id);
                        let at = at.map(|a| a / 4 + clock);
                        let old = m.deadlines.get(&id).copied();
                        t.move_deadline(id, old, at);
                        if let Some(old) = old {
                            m.by_time.remove(&(old, TimerReason::RequestDeadline(id)));
                        }
                        match at {
                            Some(at) => {
                                m.deadlines.insert(id, at);
                                m.by_time.insert((at, TimerReason::RequestDeadline(id)));
                            }
                            None => {
                                m.deadlines.remove(&id);
                            }
                        }
                    }
                    Op::Set(r, at) => {
                        let (reason, at) = (OTHERS[r], at + clock);
                        t.set(reason, at);
                        if let Some(old) = m.others.insert(reason, at) {
                            m.by_time.remove(&(old, reason));
                        }
                        m.by_time.insert((at, reason));
                    }
                    Op::Clear(r) => {
                        t.clear(OTHERS[r]);
                        if let Some(old) = m.others.remove(&OTHERS[r]) {
                            m.by_time.remove(&(old, OTHERS[r]));
                        }
                    }
                    Op::Pop(now) => {
                        let now = now + clock;
                        let expected = m.by_time.first().copied().filter(|&(at, _)| at <= now);
                        if let Some(e) = expected {
                            m.by_time.pop_first();
                            match e.1 {
                                TimerReason::RequestDeadline(id) => m.deadlines.remove(&id),
                                r => m.others.remove(&r),
                            };
                        }
                        proptest::prop_assert_eq!(t.pop_due(now), expected);
                    }
                }
                proptest::prop_assert_eq!(t.next(), m.by_time.first().copied());
                let live = t.queue.len() - t.marked;
                proptest::prop_assert!(t.queue.len() <= 2 * live + 16);
                proptest::prop_assert_eq!(
                    t.marked,
                    t.queue.iter().filter(|&&(_, raw)| raw & CLEARED != 0).count()
                );
            }
        }
    }
}
