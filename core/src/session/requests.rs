//! The request table: every outstanding request, with what it was (method and params, so it can
//! be issued again), its deadline's basis and its progress token. It completes each request
//! exactly once, and fails them all in ascending id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::jsonrpc::RawJson;
use crate::output::RequestId;

/// Whose request an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The application's: it completes with `Event::Response`.
    App,
    /// The session's own (the handshake's): the lifecycle takes its result.
    Lifecycle,
}

/// An outstanding request.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) owner: Owner,
    pub(crate) method: Arc<str>,
    /// Its params as JSON text, so that it can be encoded (and issued again) at any time: one
    /// allocation, whatever their shape.
    pub(crate) params: Option<RawJson>,
    /// The size of its encoded message, for the send backlog.
    pub(crate) size: usize,
    pub(crate) started: Instant,
    pub(crate) timeout: Duration,
    /// It asked for progress (its id is its progress token).
    pub(crate) progress: bool,
    /// It was handed to the transport (else it waits for the session to be ready).
    pub(crate) sent: bool,
    /// How many server messages had been skipped as invalid when it started.
    pub(crate) skipped_before: u64,
}

/// The outstanding requests by id.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    next: u64,
    table: BTreeMap<RequestId, Pending>,
    /// Bytes of the requests not yet sent.
    unsent_bytes: usize,
}

impl Requests {
    /// The id the next request will get.
    pub(crate) fn next_id(&self) -> RequestId {
        RequestId(self.next)
    }

    /// Adds a request; returns its id.
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

    /// The request is handed to the transport.
    pub(crate) fn mark_sent(&mut self, id: RequestId) {
        if let Some(p) = self.table.get_mut(&id).filter(|p| !p.sent) {
            p.sent = true;
            self.unsent_bytes -= p.size;
        }
    }

    /// Removes a request: it completes now, and only now.
    pub(crate) fn complete(&mut self, id: RequestId) -> Option<Pending> {
        let p = self.table.remove(&id)?;
        if !p.sent {
            self.unsent_bytes -= p.size;
        }
        Some(p)
    }

    /// Removes every request, in ascending id.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (RequestId, Pending)> {
        self.unsent_bytes = 0;
        std::mem::take(&mut self.table).into_iter()
    }

    /// How many requests are outstanding, the session's own included.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// How many of the application's requests are outstanding.
    pub(crate) fn app_count(&self) -> usize {
        self.table
            .values()
            .filter(|p| p.owner == Owner::App)
            .count()
    }

    /// Bytes of the requests waiting to be sent.
    pub(crate) fn unsent_bytes(&self) -> usize {
        self.unsent_bytes
    }

    /// An estimate of the bytes the table holds.
    pub(crate) fn retained(&self) -> usize {
        self.table
            .values()
            .map(|p| std::mem::size_of::<Pending>() + 48 + p.method.len() + p.size)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(sent: bool, size: usize) -> Pending {
        Pending {
            owner: Owner::App,
            method: "tools/call".into(),
            params: None,
            size,
            started: Instant::now(),
            timeout: Duration::from_secs(1),
            progress: false,
            sent,
            skipped_before: 0,
        }
    }

    #[test]
    fn ids_go_up_each_request_completes_once_and_all_drain_in_ascending_order() {
        let mut t = Requests::default();
        let a = t.insert(pending(true, 10));
        let b = t.insert(pending(false, 20));
        let c = t.insert(pending(false, 30));
        assert_eq!((a, b, c), (RequestId(0), RequestId(1), RequestId(2)));
        assert_eq!(t.unsent_bytes(), 50);
        t.mark_sent(b);
        t.mark_sent(b);
        assert_eq!(t.unsent_bytes(), 30);
        assert!(t.complete(a).is_some());
        assert!(t.complete(a).is_none(), "only once");
        assert_eq!(t.app_count(), 2);
        let order: Vec<RequestId> = t.drain().map(|(id, _)| id).collect();
        assert_eq!(order, vec![b, c]);
        assert_eq!((t.app_count(), t.unsent_bytes()), (0, 0));
        assert_eq!(t.next_id(), RequestId(3));
    }
}
