//! The invariants of DESIGN.md, checked on everything a session does.
//!
//! A [`Checker`] watches one session from the outside: every command and its result, every
//! input's exchange and status, and every output. The driver calls it in steps:
//! [`begin`](Checker::begin), the command or input, [`output`](Checker::output) for each output
//! drained, then [`settled`](Checker::settled) with the `Wait` that ended the drain. Any broken
//! invariant panics with a message that names it, so a fuzz target crashes and a property test
//! fails (and shrinks).
//!
//! 1. Every request started completes exactly once; no completion for an id never started.
//! 2. After a session-fatal step, every outstanding request completes with the session's error
//!    in ascending id, just before exactly one `Closed`, the last output ever; later commands
//!    fail at once with that error.
//! 3. (Determinism is checked by running a script several ways; see `script`.)
//! 4. No step needs more than [`MAX_POLLS_PER_STEP`] polls to reach `Wait`; at most
//!    `max_concurrent_exchanges` exchanges are open; the send backlog stays within its limit;
//!    and the bytes the session says it holds ([`Session::retained_bytes`]: every buffer, queue
//!    and table) stay within a bound set by the configured limits and what is outstanding.
//! 5. Once drained, `poll_timeout` is never before the last `now`, and while a request is
//!    outstanding it is at or before that request's latest possible deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::{
    Event, ExchangeId, ExchangeKind, Limit, Output, Policy, RequestError, RequestId, Session,
    SessionError, Transmit,
};

/// How many outputs one command or input may produce before `poll_output` must say `Wait`.
pub const MAX_POLLS_PER_STEP: usize = 200_000;

/// A request the application started and that has not completed.
#[derive(Clone, Copy, Debug)]
struct Open {
    /// Its latest possible deadline.
    latest: Instant,
    /// Whether it asked for progress.
    progress: bool,
}

/// What an output of the current step was, as far as the invariants care.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Response(RequestId, Result<(), RequestError>),
    Closed(SessionError),
    Delete,
    Other,
}

/// What the result of a command obliges the end of its step to show.
#[derive(Clone, Debug)]
enum Expect {
    /// The session is closed with this error.
    ClosedWith(SessionError),
    /// The session is closed.
    Closed,
    /// This request completed in this step with `Error::Cancelled`.
    Cancelled(RequestId),
    /// This request is not outstanding.
    NotOpen(RequestId),
    /// At least this many requests are outstanding.
    AtCap(usize),
}

/// Watches one session and panics on the first broken invariant. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct Checker {
    last_now: Instant,
    http: bool,
    policy: Policy,
    next_id: u64,
    /// When the session last sent an opening request (`initialize`, the probe
    /// `server/discover`): until it is ready, its deadline counts from then.
    opening_sent: Instant,
    /// Exchanges that carried an opening request and have not ended yet: when one ends
    /// before the session is ready, the session may begin another opening (the HTTP+SSE
    /// fallback, say), whose deadline counts from then even while its request waits for a
    /// free exchange. Each one may do that on a failed head and once more when it is over.
    opening_exchanges: BTreeSet<ExchangeId>,
    open: BTreeMap<RequestId, Open>,
    /// Subscriptions the server acknowledged: open, but waiting for no answer (and so with no
    /// deadline) until their stream breaks.
    subscribed: BTreeMap<RequestId, Open>,
    done: BTreeMap<RequestId, Open>,
    ready: bool,
    closed: Option<SessionError>,
    closed_at_begin: bool,
    step: Vec<Seen>,
    expect: Vec<Expect>,
    exchanges: BTreeSet<ExchangeId>,
    /// Exchanges transmitted and not yet ended, aborted or dropped by the session's end.
    open_exchanges: BTreeSet<ExchangeId>,
    aborted: BTreeSet<ExchangeId>,
    failed_heads: BTreeSet<ExchangeId>,
    commands: usize,
    /// The client hosts tasks for the server: their bytes are bounded by the policy.
    hosting: bool,
    /// The OAuth flow's exchanges (discovery, registration, tokens): each keeps up to
    /// `max_auth_body` bytes of its response, not the policy's message limits.
    auth_exchanges: BTreeSet<ExchangeId>,
    max_auth_body: usize,
}

impl Checker {
    /// A checker for a session created at `base` with `policy`, over HTTP or stdio.
    pub fn new(base: Instant, config: &crate::Config, http: bool) -> Checker {
        Checker {
            last_now: base,
            http,
            policy: config.policy.clone(),
            next_id: 1,
            opening_sent: base,
            opening_exchanges: BTreeSet::new(),
            open: BTreeMap::new(),
            subscribed: BTreeMap::new(),
            done: BTreeMap::new(),
            ready: false,
            closed: None,
            closed_at_begin: false,
            step: Vec::new(),
            expect: Vec::new(),
            exchanges: BTreeSet::new(),
            open_exchanges: BTreeSet::new(),
            aborted: BTreeSet::new(),
            failed_heads: BTreeSet::new(),
            commands: 0,
            hosting: config.hosted_tasks.is_some(),
            auth_exchanges: BTreeSet::new(),
            max_auth_body: config.auth.as_ref().map_or(0, |a| a.config.max_body),
        }
    }

    /// A step begins: a command or an input, at `now` (`None` for the commands that take no
    /// time: `notify`, `respond`).
    pub fn begin(&mut self, now: Option<Instant>) {
        if let Some(now) = now {
            self.last_now = self.last_now.max(now);
        }
        self.closed_at_begin = self.closed.is_some();
        self.step.clear();
        self.expect.clear();
    }

    /// Invariant 1, on the wire: a request that completed is never sent again (wire ids are
    /// never reused, so a request with the id of one that completed is that one again).
    fn not_again(&self, message: &serde_json::Value) {
        let id = message.get("id").and_then(serde_json::Value::as_u64);
        if let (Some(_), Some(id)) = (message.get("method"), id) {
            assert!(
                !self.done.contains_key(&RequestId(id)),
                "invariant 1: request {id} was sent again after it completed"
            );
        }
    }

    /// The session's error, once it closed.
    pub fn error(&self) -> Option<&SessionError> {
        self.closed.as_ref()
    }

    /// The application's requests outstanding, in ascending id.
    pub fn outstanding(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.open.keys().copied()
    }

    /// `request` returned `result`; `timeout` and `progress` are the options it was given.
    pub fn requested(
        &mut self,
        timeout: Option<Duration>,
        progress: bool,
        result: &Result<RequestId, RequestError>,
    ) {
        self.commands += 1;
        if let Some(e) = self.closed.as_ref().filter(|_| self.closed_at_begin) {
            assert_eq!(
                result.as_ref().err(),
                Some(&RequestError::Session(e.clone())),
                "invariant 2: a request after Closed must fail at once with the session error"
            );
            return;
        }
        match result {
            Ok(id) => {
                // The session's own requests (the probe, `initialize`) and the ids of requests
                // issued again take numbers too: ids only go up.
                assert!(
                    *id >= RequestId(self.next_id),
                    "invariant 1: request ids are allocated in order ({id:?} after {})",
                    self.next_id
                );
                self.next_id = id.0 + 1;
                let at = self.last_now;
                let timeout = timeout
                    .unwrap_or(self.policy.request_timeout)
                    .min(self.policy.max_request_time);
                let later = crate::session::later;
                let latest = if progress && self.policy.progress_resets_timeout {
                    later(at, self.policy.max_request_time)
                } else {
                    later(at, timeout)
                };
                self.open.insert(*id, Open { latest, progress });
            }
            Err(RequestError::TooManyRequests { limit }) => {
                assert_eq!(
                    Some(*limit),
                    self.policy.max_outstanding,
                    "TooManyRequests without that cap"
                );
                self.expect.push(Expect::AtCap(*limit));
            }
            Err(RequestError::TooLarge { limit }) => {
                assert_eq!(
                    *limit, self.policy.max_message_size,
                    "TooLarge with another limit"
                );
            }
            Err(RequestError::LimitReached {
                what: Limit::SendBacklog,
                limit,
            }) => {
                assert_eq!(
                    *limit, self.policy.max_send_backlog,
                    "LimitReached(SendBacklog) with another limit"
                );
            }
            Err(RequestError::Session(e)) => self.expect.push(Expect::ClosedWith(e.clone())),
            // A method the revision spoken does not have (`subscriptions/listen` in the 2025
            // era).
            Err(RequestError::Removed { .. }) => {}
            Err(e) => panic!("request failed at once with {e:?}, which is no command error"),
        }
    }

    /// A command that returns `Result<(), RequestError>` (`notify`, `respond`) returned
    /// `result`.
    pub fn command(&mut self, result: &Result<(), RequestError>) {
        self.commands += 1;
        match (&self.closed, result) {
            (Some(e), r) if self.closed_at_begin => {
                assert_eq!(
                    r.as_ref().err(),
                    Some(&RequestError::Session(e.clone())),
                    "invariant 2: a command after Closed must fail at once with the session error"
                )
            }
            (_, Ok(())) => {}
            // A notification the revision spoken removed (2026-07-28).
            (_, Err(RequestError::Removed { .. })) => {}
            // A notification that would wait past the limit fails alone; an answer fails the
            // session (with that error, which `settled` sees in `Closed`).
            (
                _,
                Err(RequestError::LimitReached {
                    what: Limit::SendBacklog,
                    limit,
                }),
            ) => assert_eq!(*limit, self.policy.max_send_backlog),
            (
                _,
                Err(RequestError::Session(SessionError::LimitReached {
                    what: Limit::SendBacklog,
                    limit,
                })),
            ) => {
                assert_eq!(*limit, self.policy.max_send_backlog);
                self.expect
                    .push(Expect::ClosedWith(SessionError::LimitReached {
                        what: Limit::SendBacklog,
                        limit: *limit,
                    }));
            }
            (_, Err(e)) => panic!("a command failed with {e:?} while the session was open"),
        }
    }

    /// `cancel(id)` returned `returned`.
    pub fn cancelled(&mut self, id: RequestId, returned: bool) {
        self.commands += 1;
        if self.closed_at_begin {
            assert!(
                !returned,
                "invariant 2: cancel after Closed must do nothing"
            );
        } else if returned {
            self.expect.push(Expect::Cancelled(id));
        } else {
            self.expect.push(Expect::NotOpen(id));
        }
    }

    /// `close` was called.
    pub fn closing(&mut self) {
        self.commands += 1;
        self.expect.push(Expect::Closed);
    }

    /// The driver fed the end (or a transport failure) of `exchange`.
    pub fn ended(&mut self, exchange: ExchangeId) {
        self.open_exchanges.remove(&exchange);
        self.opening_over(exchange);
    }

    /// An opening's exchange is over (ended or aborted): before Ready, the next opening may
    /// begin now.
    fn opening_over(&mut self, exchange: ExchangeId) {
        if self.opening_exchanges.remove(&exchange) && !self.ready {
            self.opening_sent = self.last_now;
        }
    }

    /// The driver fed a response head with `status` to `exchange`.
    pub fn head(&mut self, exchange: ExchangeId, status: http::StatusCode) {
        if !status.is_success() && self.exchanges.contains(&exchange) {
            self.failed_heads.insert(exchange);
            // (The next opening may begin on the head or once the body is read: the
            // exchange counts until it is over.)
            if self.opening_exchanges.contains(&exchange) && !self.ready {
                self.opening_sent = self.last_now;
            }
        }
    }

    /// One output drained from the session (never `Wait`: that goes to
    /// [`settled`](Checker::settled)).
    pub fn output(&mut self, output: &Output) {
        assert!(
            !self.closed_at_begin,
            "invariant 2: output after Closed: {output:?}"
        );
        if let Some(e) = &self.closed {
            panic!("invariant 2: output after Closed({e:?}) in the same step: {output:?}");
        }
        let seen = match output {
            Output::Transmit(Transmit::Http {
                exchange,
                request,
                kind,
            }) => {
                assert!(self.http, "an HTTP transmit from a stdio session");
                // The HTTP+SSE fallback opens again: its event stream, then its `initialize`
                // (which waits for the endpoint) with a deadline from now.
                if matches!(
                    kind,
                    ExchangeKind::Initialize | ExchangeKind::Discover | ExchangeKind::EventStream
                ) {
                    self.opening_sent = self.last_now;
                }
                if *kind == ExchangeKind::Auth {
                    self.auth_exchanges.insert(*exchange);
                }
                if matches!(kind, ExchangeKind::Initialize | ExchangeKind::Discover) {
                    self.opening_exchanges.insert(*exchange);
                }
                if request.method() == http::Method::POST {
                    if let Ok(message) = serde_json::from_slice(request.body()) {
                        self.not_again(&message);
                    }
                }
                if let Some(last) = self.exchanges.last() {
                    assert!(
                        exchange > last,
                        "exchange ids out of order: {exchange:?} after {last:?}"
                    );
                }
                self.exchanges.insert(*exchange);
                if request.method() == http::Method::DELETE {
                    // The closing DELETE goes out as the session drops every other exchange.
                    Seen::Delete
                } else {
                    self.open_exchanges.insert(*exchange);
                    let cap = self.policy.max_concurrent_exchanges.max(1);
                    assert!(
                        self.open_exchanges.len() <= cap,
                        "invariant 4: {} exchanges open at once, over the cap of {cap}",
                        self.open_exchanges.len()
                    );
                    Seen::Other
                }
            }
            Output::Transmit(Transmit::Stdin(bytes)) => {
                assert!(!self.http, "a stdin write from an HTTP session");
                assert_eq!(
                    bytes.last(),
                    Some(&b'\n'),
                    "a stdin write that does not end a line"
                );
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let message = serde_json::from_slice::<serde_json::Value>(line);
                    let Ok(message) = message else {
                        panic!("a stdin line that is not JSON");
                    };
                    self.not_again(&message);
                    let method = message.get("method").and_then(|m| m.as_str());
                    if matches!(method, Some("initialize" | "server/discover")) {
                        self.opening_sent = self.last_now;
                    }
                }
                Seen::Other
            }
            Output::Abort(exchange) => {
                assert!(self.http, "an abort from a stdio session");
                assert!(
                    self.exchanges.contains(exchange),
                    "abort of {exchange:?}, never transmitted"
                );
                assert!(self.aborted.insert(*exchange), "{exchange:?} aborted twice");
                self.open_exchanges.remove(exchange);
                self.opening_over(*exchange);
                Seen::Other
            }
            Output::Event(Event::Response { id, result }) => {
                let Some(open) = self.open.remove(id).or_else(|| self.subscribed.remove(id)) else {
                    if self.done.contains_key(id) {
                        panic!("invariant 1: {id:?} completed twice (again with {result:?})");
                    }
                    panic!("invariant 1: a completion for {id:?}, never started: {result:?}");
                };
                self.done.insert(*id, open);
                if result.is_ok() {
                    assert!(self.ready, "{id:?} answered before the session was ready");
                }
                Seen::Response(*id, result.as_ref().map(|_| ()).map_err(Clone::clone))
            }
            Output::Event(Event::Progress { id, .. }) => {
                let open = self.open.get(id);
                assert!(
                    open.is_some_and(|o| o.progress),
                    "progress for {id:?}, not outstanding or not asking for it"
                );
                Seen::Other
            }
            Output::Event(Event::Ready) => {
                assert!(!self.ready, "Ready twice");
                self.ready = true;
                Seen::Other
            }
            Output::Event(Event::SessionExpired { .. }) => {
                // A new handshake: Ready comes again once it is over.
                assert!(self.http, "a session expired over stdio");
                self.ready = false;
                // Its `initialize` has its deadline from now, sent at once or held (behind
                // an OAuth flow, say).
                self.opening_sent = self.last_now;
                Seen::Other
            }
            Output::Event(Event::Subscribed { id, .. }) => {
                let open = self.open.remove(id).or_else(|| self.subscribed.remove(id));
                let open = open.unwrap_or_else(|| panic!("{id:?} acknowledged, not outstanding"));
                self.subscribed.insert(*id, open);
                Seen::Other
            }
            Output::Event(Event::Warning(crate::Warning::Reissued { id, .. })) => {
                // A subscription opened again waits for its acknowledgement again, under a new
                // deadline.
                if let Some(mut open) = self.subscribed.remove(id) {
                    let timeout = self
                        .policy
                        .request_timeout
                        .min(self.policy.max_request_time);
                    open.latest = crate::session::later(self.last_now, timeout);
                    self.open.insert(*id, open);
                }
                Seen::Other
            }
            Output::Event(Event::Closed(e)) => {
                self.closed = Some(e.clone());
                self.open_exchanges.clear();
                Seen::Closed(e.clone())
            }
            Output::Event(_) | Output::Random(_) => Seen::Other,
            Output::Wait(_) => panic!("Wait is not an output; pass it to `settled`"),
        };
        self.step.push(seen);
    }

    /// The step is drained: `wait` is what `poll_output` said last. `footprint` also checks the
    /// memory bound (it formats the whole session).
    pub fn settled(&mut self, session: &Session, wait: Option<Instant>, footprint: bool) {
        self.check_fatal_step();
        for expect in std::mem::take(&mut self.expect) {
            match expect {
                Expect::ClosedWith(e) => {
                    assert_eq!(
                        self.closed.as_ref(),
                        Some(&e),
                        "a command failed with {e:?} but the session did not close with it"
                    )
                }
                Expect::Closed => {
                    assert!(self.closed.is_some(), "close() did not close the session")
                }
                Expect::Cancelled(id) => assert!(
                    self.step
                        .contains(&Seen::Response(id, Err(RequestError::Cancelled))),
                    "cancel({id:?}) returned true but the request did not complete with Cancelled"
                ),
                Expect::NotOpen(id) => {
                    assert!(
                        !self.open.contains_key(&id),
                        "cancel({id:?}) returned false for an outstanding request"
                    )
                }
                Expect::AtCap(limit) => assert!(
                    session.outstanding() >= limit,
                    "TooManyRequests with {} outstanding, under the cap {limit}",
                    session.outstanding()
                ),
            }
        }
        assert_eq!(
            session.is_closed(),
            self.closed.is_some(),
            "is_closed() disagrees with the Closed event"
        );
        assert_eq!(
            session.error(),
            self.closed.as_ref(),
            "error() disagrees with the Closed event"
        );
        assert_eq!(
            session.outstanding(),
            self.open.len(),
            "outstanding() disagrees with the requests started and completed"
        );
        assert_eq!(
            wait,
            session.poll_timeout(),
            "Wait and poll_timeout() disagree"
        );
        self.check_deadlines(wait);
        let (backlog, peak) = session.send_backlog();
        let limit = self.policy.max_send_backlog;
        assert!(
            backlog <= peak && peak <= limit.saturating_add(self.unchecked_backlog()),
            "invariant 4: {peak} bytes waited to be sent, over the limit of {limit}"
        );
        if footprint {
            let size = session.retained_bytes();
            let bound = self.footprint_bound();
            assert!(
                size <= bound,
                "invariant 4: the session retains {size} bytes, over the bound {bound}"
            );
        }
    }

    /// Invariant 5: the next deadline is not in the past, exists while anything is pending, and
    /// is no later than the latest deadline of anything pending.
    fn check_deadlines(&self, wait: Option<Instant>) {
        if let Some(t) = wait {
            assert!(
                t >= self.last_now,
                "invariant 5: poll_timeout is {:?} before the last now",
                self.last_now - t
            );
        }
        if self.closed.is_some() {
            assert_eq!(wait, None, "a timer is still set after Closed");
            return;
        }
        // Until Ready, the session waits for the answer to `initialize` (its deadline), then
        // (HTTP) for the answer to the GET stream, at most `server_stream_wait` longer.
        // (The probe of 2026-07-28 may go twice and be followed by `initialize`: each opening
        // has its deadline from when it was sent.)
        let policy = &self.policy;
        let init =
            policy.opening_timeout().min(policy.max_request_time) + policy.server_stream_wait;
        let init = (!self.ready).then(|| self.opening_sent + init);
        let latest = self.open.values().map(|o| o.latest).chain(init).min();
        if let Some(latest) = latest {
            let pending: Vec<_> = self.open.keys().collect();
            let t = wait.unwrap_or_else(|| {
                panic!("invariant 5: {pending:?} pending (or initialize) but no deadline")
            });
            assert!(
                t <= latest,
                "invariant 5: the next deadline is {:?} after the latest possible one",
                t - latest
            );
        }
    }

    /// Invariant 2, on the outputs of a step that closed the session.
    fn check_fatal_step(&self) {
        let Some(k) = self.step.iter().position(|s| matches!(s, Seen::Closed(_))) else {
            return;
        };
        let Seen::Closed(error) = &self.step[k] else {
            unreachable!()
        };
        assert_eq!(
            k + 1,
            self.step.len(),
            "invariant 2: Closed is not the last output: {:?}",
            &self.step[k..]
        );
        assert!(
            self.open.is_empty(),
            "invariant 2: {:?} still outstanding after Closed",
            self.open.keys().collect::<Vec<_>>()
        );
        let mut i = k;
        if *error == SessionError::Closed && i > 0 && self.step[i - 1] == Seen::Delete {
            i -= 1;
        }
        let session_error = RequestError::Session(error.clone());
        let mut tail = Vec::new();
        while i > 0 {
            match &self.step[i - 1] {
                Seen::Response(id, Err(e)) if *e == session_error => tail.push(*id),
                _ => break,
            }
            i -= 1;
        }
        tail.reverse();
        // Only the session's failure completes a request with the session's error (a request's
        // own failure has a request error), so every one of them is in this run, in order.
        let failed_by_session = self
            .step
            .iter()
            .filter(|s| matches!(s, Seen::Response(_, Err(e)) if *e == session_error))
            .count();
        assert_eq!(
            failed_by_session,
            tail.len(),
            "invariant 2: the requests failed by {error:?} are not all just before Closed"
        );
        assert!(
            tail.windows(2).all(|w| w[0] < w[1]),
            "invariant 2: the requests failed by {error:?} are not in ascending id: {tail:?}"
        );
    }

    /// What may wait to be sent without being checked against the limit: the session's own
    /// messages (`initialize`, `notifications/initialized`, cancellations), a few per request.
    fn unchecked_backlog(&self) -> usize {
        let per_message = 4096;
        (self.next_id as usize + 2).saturating_mul(per_message)
    }

    /// The most bytes the session may hold now, by the limits: per request outstanding its
    /// params; per exchange open its request and what it reads (a body or an event, a line,
    /// a failure's body); what waits to be sent; the server's description; a constant.
    fn footprint_bound(&self) -> usize {
        let p = &self.policy;
        let (line, message) = (p.max_sse_line, p.max_message_size);
        let per_request = 4096 + 2 * message;
        let per_exchange = 8192 + line + 2 * message + p.error_body_max;
        let waiting = p
            .max_send_backlog
            .saturating_add(self.unchecked_backlog())
            .saturating_add(self.commands.saturating_mul(4096));
        let fixed = (64 << 10) + 2 * message;
        // The hosted tasks: their results within the limit, each entry's own few hundred bytes.
        let hosted = match self.hosting {
            true => p
                .max_hosted_task_bytes
                .saturating_add(p.max_hosted_tasks.saturating_mul(1024)),
            false => 0,
        };
        let fixed = fixed.saturating_add(hosted);
        let requests = self.open.len() + self.subscribed.len();
        let auth = self
            .open_exchanges
            .intersection(&self.auth_exchanges)
            .count()
            .saturating_mul(self.max_auth_body.saturating_add(1));
        fixed
            .saturating_add(auth)
            .saturating_add(requests.saturating_mul(per_request))
            .saturating_add(self.open_exchanges.len().saturating_mul(per_exchange))
            .saturating_add(waiting)
    }

    /// The script is over and time has run out: nothing may be pending any more.
    pub fn finished(&self, session: &Session) {
        assert!(
            self.open.is_empty(),
            "invariant 5: requests {:?} never completed although every deadline passed",
            self.open.keys().collect::<Vec<_>>()
        );
        assert_eq!(session.outstanding(), 0);
        assert!(
            self.ready || self.closed.is_some(),
            "the session is neither ready nor closed after every deadline passed"
        );
        assert_eq!(
            session.poll_timeout(),
            None,
            "a timer is still set after every deadline passed"
        );
    }
}
