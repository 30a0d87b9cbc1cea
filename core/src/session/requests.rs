//! The request table: every outstanding request, with what it was (method and params, so it can
//! be issued again), its deadline's basis and its progress token. It completes each request
//! exactly once, and fails them all in ascending id.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::jsonrpc::RawJson;
use crate::name::Name;
use crate::output::RequestId;

/// Whose request an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The application's: it completes with `Event::Response`.
    App,
    /// The session's own (the handshake's, the probe's): the lifecycle takes its result.
    Lifecycle,
    /// A task's own (`tasks/get`, `tasks/result`, `tasks/cancel`): the tasks sub-machine
    /// takes its result.
    Task,
}

/// 2026-07-28: a request the server answered `input_required`, while its round is open.
#[derive(Debug, Default)]
pub(crate) struct InputRound {
    /// Rounds so far, this one included.
    pub(crate) rounds: u32,
    /// What the server asked for, by key, still unanswered: the id the application answers
    /// each with.
    pub(crate) asked: Vec<(String, crate::jsonrpc::Id)>,
    /// The answers so far, by key.
    pub(crate) answers: std::collections::BTreeMap<String, serde_json::Value>,
    /// Their size as JSON text.
    pub(crate) answers_bytes: usize,
    /// The `requestState` to echo, exactly as the server sent it.
    pub(crate) state: Option<RawJson>,
    /// The retry's own params (`inputResponses`, `requestState`), once every answer is in.
    pub(crate) retry: Option<RawJson>,
}

/// An outstanding request. Every field of one is in the request table's entry for it, one
/// entry per outstanding request, so what only some requests need is boxed apart
/// ([`Extra`]), and its deadline is worked out from its start and timeout unless it moved:
/// 80 bytes where it was 136.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) method: Name,
    /// Its params as JSON text, so that it can be encoded (and issued again) at any time: one
    /// allocation, whatever their shape.
    pub(crate) params: Option<RawJson>,
    pub(crate) started: Instant,
    /// The size of its encoded message, for the send backlog.
    pub(crate) size: usize,
    /// Its timeout, in nanoseconds (a `Duration` takes twice the room; `u64` nanoseconds reach
    /// 584 years).
    timeout_ns: u64,
    /// How many server messages had been skipped as invalid when it started.
    pub(crate) skipped_before: u64,
    /// What a request issued again, held for the OAuth flow, asked for input or listening for
    /// notifications keeps: most requests are none of these.
    extra: Option<Box<Extra>>,
    /// Which of the flow's tokens it was last sent with (the session's count of them).
    pub(crate) token_generation: u32,
    pub(crate) owner: Owner,
    /// It asked for progress (its id is its progress token).
    pub(crate) progress: bool,
    /// It was handed to the transport (else it waits for the session to be ready).
    pub(crate) sent: bool,
    /// Where its deadline is ([`Pending::deadline`]).
    deadline: Deadline,
}

/// Where a request's deadline is: the timer table orders it but the request is where it is
/// kept, so both move together (`Session::move_deadline`, `Timers::move_deadline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deadline {
    /// Its start plus its timeout, as it was made.
    Derived,
    /// It has none (it fired, or it is an open subscription or a created task's request).
    None,
    /// It moved: [`Extra::deadline`].
    Moved,
}

/// What only some requests keep (see [`Pending`]).
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// The JSON-RPC id it was last sent with, once it is issued again (2026-07-28: a retry
    /// after `input_required` or a version error, a broken stream); until then its own number.
    wire: Option<u64>,
    /// How many times it was issued again.
    pub(crate) reissues: u32,
    /// How many times it was held for the OAuth flow and sent again with its token.
    pub(crate) auth_replays: u32,
    /// It was issued again once for a version error (-32022).
    pub(crate) version_retried: bool,
    /// It is a `subscriptions/listen` (2026-07-28); `acknowledged` once the server said so.
    pub(crate) listen: Option<Listen>,
    /// Its `input_required` rounds (2026-07-28).
    pub(crate) input: Option<InputRound>,
    /// A reconnect timer (resumption, reissue) was set for it: its completion clears it.
    pub(crate) reconnecting: bool,
    /// Its deadline once it moved (a stream issued again, a task's wait).
    deadline: Option<Instant>,
}

impl Pending {
    /// A request not yet sent; its deadline is `started` plus `timeout`.
    pub(crate) fn new(
        owner: Owner,
        method: Name,
        params: Option<RawJson>,
        size: usize,
        started: Instant,
        timeout: Duration,
        progress: bool,
    ) -> Pending {
        Pending {
            method,
            params,
            started,
            size,
            timeout_ns: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
            skipped_before: 0,
            extra: None,
            token_generation: 0,
            owner,
            progress,
            sent: false,
            deadline: Deadline::Derived,
        }
    }

    /// When it times out, if it can.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.deadline {
            Deadline::Derived => Some(super::later(self.started, self.timeout())),
            Deadline::None => None,
            Deadline::Moved => self.extra().and_then(|e| e.deadline),
        }
    }

    /// Moves its deadline to `at`; returns where it was.
    pub(crate) fn set_deadline(&mut self, at: Option<Instant>) -> Option<Instant> {
        let old = self.deadline();
        self.deadline = match at {
            None => {
                if let Some(e) = self.extra.as_mut() {
                    e.deadline = None;
                }
                Deadline::None
            }
            Some(at) => {
                self.extra_mut().deadline = Some(at);
                Deadline::Moved
            }
        };
        old
    }

    /// A reconnect timer (resumption, reissue) was set for it.
    pub(crate) fn reconnecting(&self) -> bool {
        self.extra().is_some_and(|e| e.reconnecting)
    }

    /// Its timeout (one longer than `u64` nanoseconds, 584 years, is that long).
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns)
    }

    /// The JSON-RPC id it was last sent with (`id` is its own).
    pub(crate) fn wire(&self, id: RequestId) -> u64 {
        self.extra.as_ref().and_then(|e| e.wire).unwrap_or(id.0)
    }

    /// What only some requests keep, if it keeps any.
    pub(crate) fn extra(&self) -> Option<&Extra> {
        self.extra.as_deref()
    }

    /// What only some requests keep, made now if it kept none.
    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// How many times it was held for the OAuth flow and sent again.
    pub(crate) fn auth_replays(&self) -> u32 {
        self.extra().map_or(0, |e| e.auth_replays)
    }

    /// Its `subscriptions/listen` state, if it is one.
    pub(crate) fn listen(&self) -> Option<Listen> {
        self.extra().and_then(|e| e.listen)
    }

    /// Its open `input_required` round, if any.
    pub(crate) fn input(&self) -> Option<&InputRound> {
        self.extra().and_then(|e| e.input.as_ref())
    }

    /// Its `subscriptions/listen` state, if it is one, to change.
    pub(crate) fn listen_mut(&mut self) -> Option<&mut Listen> {
        self.extra.as_mut().and_then(|e| e.listen.as_mut())
    }

    /// Its params, and its open `input_required` round to change (to make the retry's params).
    pub(crate) fn params_and_input(
        &mut self,
    ) -> (
        Option<&serde_json::value::RawValue>,
        Option<&mut InputRound>,
    ) {
        let input = self.extra.as_mut().and_then(|e| e.input.as_mut());
        (self.params.as_deref(), input)
    }

    /// Its open `input_required` round, if any, to change.
    pub(crate) fn input_mut(&mut self) -> Option<&mut InputRound> {
        self.extra.as_mut().and_then(|e| e.input.as_mut())
    }
}

/// A `subscriptions/listen` request's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listen {
    /// The server acknowledged it: it is an open subscription, with no deadline, until the
    /// server ends it, its stream breaks, or the application cancels it.
    pub(crate) acknowledged: bool,
}

/// The outstanding requests by id: hashed (the ids are the session's own, in order), so that
/// starting and completing a request moves no other entry; what needs an order (failing them
/// all, an expired session's requests) sorts the ids.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    next: u64,
    table: crate::IdMap<RequestId, Pending>,
    /// The requests issued again, by the id they were last sent with.
    aliases: BTreeMap<u64, RequestId>,
    /// Bytes of the requests not yet sent.
    unsent_bytes: usize,
}

impl Requests {
    /// The id the next request will get.
    pub(crate) fn next_id(&self) -> RequestId {
        RequestId(self.next)
    }

    /// Adds a request; returns its id (also its first wire id).
    pub(crate) fn insert(&mut self, pending: Pending) -> RequestId {
        let id = RequestId(self.next);
        self.next += 1;
        if !pending.sent {
            self.unsent_bytes += pending.size;
        }
        self.table.insert(id, pending);
        id
    }

    pub(crate) fn get(&self, id: RequestId) -> Option<&Pending> {
        self.table.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: RequestId) -> Option<&mut Pending> {
        self.table.get_mut(&id)
    }

    /// The request last sent with JSON-RPC id `wire`: an answer to an id it had before is
    /// late.
    pub(crate) fn by_wire(&self, wire: u64) -> Option<RequestId> {
        if let Some(id) = self.aliases.get(&wire) {
            return Some(*id);
        }
        let id = RequestId(wire);
        self.table
            .get(&id)
            .filter(|p| p.wire(id) == wire)
            .map(|_| id)
    }

    /// Gives a request a new wire id, never used before by any request, to be issued again
    /// with; it waits to be sent again.
    pub(crate) fn reissue(&mut self, id: RequestId) -> Option<u64> {
        let p = self.table.get_mut(&id)?;
        let wire = self.next;
        self.next += 1;
        let old = p.wire(id);
        if old != id.0 {
            self.aliases.remove(&old);
        }
        let extra = p.extra_mut();
        extra.wire = Some(wire);
        extra.reissues += 1;
        if p.sent {
            p.sent = false;
            self.unsent_bytes += p.size;
        }
        self.aliases.insert(wire, id);
        Some(wire)
    }

    /// The request is handed to the transport; its params are dropped unless it may be
    /// encoded again.
    pub(crate) fn mark_sent(&mut self, id: RequestId, keep_params: bool) {
        if let Some(p) = self.table.get_mut(&id).filter(|p| !p.sent) {
            p.sent = true;
            self.unsent_bytes -= p.size;
            if !keep_params {
                p.params = None;
                p.size = 0;
            }
        }
    }

    /// The request, sent, will not be encoded again: its params go (not the handshake's,
    /// which the lifecycle may still read).
    pub(crate) fn drop_params(&mut self, id: RequestId) {
        if let Some(p) = self
            .table
            .get_mut(&id)
            .filter(|p| p.sent && p.owner != Owner::Lifecycle)
        {
            p.params = None;
            p.size = 0;
        }
    }

    /// The request waits to be sent again with the same id (its answer was a challenge the
    /// OAuth flow takes).
    pub(crate) fn unsend(&mut self, id: RequestId) {
        if let Some(p) = self.table.get_mut(&id).filter(|p| p.sent) {
            p.sent = false;
            self.unsent_bytes += p.size;
        }
    }

    /// Removes a request: it completes now, and only now.
    pub(crate) fn complete(&mut self, id: RequestId) -> Option<Pending> {
        let p = self.table.remove(&id)?;
        let wire = p.wire(id);
        if wire != id.0 {
            self.aliases.remove(&wire);
        }
        if !p.sent {
            self.unsent_bytes -= p.size;
        }
        Some(p)
    }

    /// Removes every request, calling `each` with their ids and owners in ascending id
    /// (before any is dropped: what they held goes after).
    pub(crate) fn drain_each(&mut self, each: impl FnMut(RequestId, Owner)) {
        self.unsent_bytes = 0;
        self.aliases.clear();
        let table = std::mem::take(&mut self.table);
        crate::ids::for_each_ascending(&table, self.next, |p| Some(p.owner), each);
    }

    /// How many requests are outstanding, the session's own included.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// How many of the application's requests wait for an answer (an acknowledged
    /// subscription waits for none).
    pub(crate) fn app_count(&self) -> usize {
        self.table
            .values()
            .filter(|p| p.owner == Owner::App && !p.listen().is_some_and(|l| l.acknowledged))
            .count()
    }

    /// The application's requests handed to the transport, in ascending id.
    pub(crate) fn sent_by_app(&self) -> Vec<RequestId> {
        crate::ids::ascending(&self.table, self.next, |p| {
            (p.sent && p.owner == Owner::App).then_some(())
        })
        .into_iter()
        .map(|(id, ())| id)
        .collect()
    }

    /// Bytes of the requests waiting to be sent.
    pub(crate) fn unsent_bytes(&self) -> usize {
        self.unsent_bytes
    }

    /// An estimate of the bytes the table holds.
    pub(crate) fn retained(&self) -> usize {
        self.table
            .values()
            .map(|p| {
                let extra = p.extra().map_or(0, |_| std::mem::size_of::<Extra>() + 16);
                let input = p.input().map_or(0, |i| {
                    let asked: usize = i.asked.iter().map(|(k, _)| k.len() + 64).sum();
                    let answers = i.answers_bytes + i.answers.len() * 64;
                    let state = i.state.as_ref().map_or(0, |s| s.get().len());
                    let retry = i.retry.as_ref().map_or(0, |r| r.get().len());
                    asked + answers + state + retry
                });
                std::mem::size_of::<Pending>() + 48 + p.method.len() + p.size + extra + input
            })
            .sum::<usize>()
            + self.aliases.len() * 48
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(sent: bool, size: usize) -> Pending {
        let now = Instant::now();
        let mut p = Pending::new(
            Owner::App,
            "tools/call".into(),
            None,
            size,
            now,
            Duration::from_secs(1),
            false,
        );
        p.sent = sent;
        p
    }

    #[test]
    fn ids_go_up_each_request_completes_once_and_all_drain_in_ascending_order() {
        let mut t = Requests::default();
        let a = t.insert(pending(true, 10));
        let b = t.insert(pending(false, 20));
        let c = t.insert(pending(false, 30));
        assert_eq!((a, b, c), (RequestId(0), RequestId(1), RequestId(2)));
        assert_eq!(t.unsent_bytes(), 50);
        t.mark_sent(b, true);
        t.mark_sent(b, true);
        assert_eq!(t.unsent_bytes(), 30);
        assert!(t.complete(a).is_some());
        assert!(t.complete(a).is_none(), "only once");
        assert_eq!(t.app_count(), 2);
        let mut order = Vec::new();
        t.drain_each(|id, _| order.push(id));
        assert_eq!(order, vec![b, c]);
        assert_eq!((t.app_count(), t.unsent_bytes()), (0, 0));
        assert_eq!(t.next_id(), RequestId(3));
    }

    #[test]
    fn all_drain_in_ascending_order_when_the_ids_are_sparse_too() {
        let mut t = Requests::default();
        let ids: Vec<RequestId> = (0..500).map(|_| t.insert(pending(true, 1))).collect();
        // Keep the first and every 97th: far fewer than the range they span.
        for id in &ids {
            if id.0 != 0 && id.0 % 97 != 0 {
                t.complete(*id);
            }
        }
        let kept: Vec<RequestId> = ids
            .iter()
            .copied()
            .filter(|id| id.0 == 0 || id.0 % 97 == 0)
            .collect();
        let mut order = Vec::new();
        t.drain_each(|id, _| order.push(id));
        assert_eq!(order, kept);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_request_issued_again_answers_only_to_its_new_wire_id() {
        let mut t = Requests::default();
        let a = t.insert(pending(true, 10));
        let b = t.insert(pending(true, 10));
        assert_eq!(t.by_wire(0), Some(a));
        let w = t.reissue(a).unwrap();
        assert_eq!(w, 2, "a number no request has had");
        assert_eq!(t.by_wire(0), None, "the old id is late");
        assert_eq!(t.by_wire(w), Some(a));
        assert_eq!(t.unsent_bytes(), 10, "it waits to be sent again");
        let c = t.insert(pending(true, 10));
        assert_eq!(c, RequestId(3), "request ids never collide with wire ids");
        let w2 = t.reissue(a).unwrap();
        assert_eq!((t.by_wire(w), t.by_wire(w2)), (None, Some(a)));
        assert_eq!(t.by_wire(1), Some(b));
        t.complete(a);
        assert_eq!(t.by_wire(w2), None);
        assert!(t.aliases.is_empty());
    }
}
