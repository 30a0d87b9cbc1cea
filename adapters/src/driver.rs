//! The one driver task per client: it owns the core `Session`, performs what it outputs,
//! feeds it what the transport and the application say, and routes every completion to the
//! call waiting for it. It makes no protocol decision: which exchanges die with the session,
//! and for how long the others may linger, are the core's to say; notifications arrive typed.
//! [`connect`] wires a session, its transport and this task together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ::http::{HeaderName, HeaderValue};
use futures_lite::future;
use mcpwire_core::jsonrpc::{Id, RawJson};
use mcpwire_core::schema::{ServerInfo, ServerRequest};
use mcpwire_core::IdMap;
use mcpwire_core::{
    Config, Event, ExchangeId, HostedTasks, Input, Output, ProtocolError, RequestError, RequestId,
    RequestOptions, Session, SessionError, Transmit,
};
use serde_json::Value;
use tracing::Instrument;

use crate::error::{ConfigError, Error};
use crate::handler::Handler;
use crate::http::{self, Pool};
use crate::notifications::{Notifications, Queue, Receiver};
use crate::oneshot;
use crate::options::{Progress, ProgressFn, Settings};
use crate::record::{RecordTo, Recording};
use crate::runtime::{timeout, BoxFuture, Runtime};
use crate::stdio::Stdio;
use crate::subscription::SubscriptionEvent;
use crate::target::Target;
use crate::transport::{Inbox, Incoming};
use mcpwire_core::modern::SubscriptionFilter;

/// What the application asks of the driver.
pub(crate) enum Command {
    Request {
        ticket: u64,
        /// Borrowed when it is one of the protocol's methods.
        method: std::borrow::Cow<'static, str>,
        params: Option<RawJson>,
        options: RequestOptions,
        progress: Option<ProgressFn>,
        task_status: Option<crate::options::TaskStatusFn>,
        reply: oneshot::Sender<Result<RawJson, RequestError>>,
    },
    /// The call with this ticket was dropped before it completed.
    Cancel(u64),
    Notify {
        method: String,
        params: Option<Value>,
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// Opens a subscription (2026-07-28); `reply` says once it is acknowledged.
    Listen {
        ticket: u64,
        filter: SubscriptionFilter,
        reply: ListenReply,
    },
    Close(async_channel::Sender<()>),
}

/// An acknowledged subscription, for [`Client::listen`](crate::Client::listen).
pub(crate) struct Listening {
    pub(crate) acknowledged: SubscriptionFilter,
    pub(crate) rx: Receiver<SubscriptionEvent>,
    pub(crate) held: Arc<crate::notifications::Held>,
}

/// A subscription the driver routes to.
struct Sub {
    ticket: u64,
    queue: Queue<SubscriptionEvent>,
    /// Until the first acknowledgement: who waits for it, and the receiving end to hand over.
    waiting: Option<(ListenReply, Receiver<SubscriptionEvent>)>,
}

type ListenReply = async_channel::Sender<Result<Listening, RequestError>>;

enum Transport {
    Http {
        pool: Arc<Pool>,
        /// Pools for the OAuth flow's other origins (authorization servers), at most
        /// [`MAX_OTHER_ORIGINS`], the oldest dropped.
        others: Vec<(String, Arc<Pool>)>,
        in_flight: IdMap<ExchangeId, InFlight>,
    },
    Stdio(Stdio),
}

/// The most other origins (authorization servers) kept connections to at once.
const MAX_OTHER_ORIGINS: usize = 8;

/// An exchange's task: dropping `link` ends it; `link` resolves once it has ended.
struct InFlight {
    link: oneshot::End,
}

struct Call {
    ticket: u64,
    reply: oneshot::Sender<Result<RawJson, RequestError>>,
    progress: Option<ProgressFn>,
    task_status: Option<crate::options::TaskStatusFn>,
}

/// What the client handles share with the driver.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Why the session ended, once it has.
    pub(crate) closed: Mutex<Option<SessionError>>,
    /// Notified when `closed` is set, for `Client::closed`.
    pub(crate) ended: event_listener::Event,
    /// The core's send backlog, now and at its most, as of the driver's last pump.
    pub(crate) send_backlog: AtomicUsize,
    pub(crate) send_backlog_peak: AtomicUsize,
    /// The bytes the hosted tasks keep, now and at their most, as of the driver's last pump.
    pub(crate) hosted_task_bytes: AtomicUsize,
    pub(crate) hosted_task_bytes_peak: AtomicUsize,
    /// The notification queue's bytes.
    pub(crate) notifications: Arc<crate::notifications::Held>,
    /// The most bytes the stderr reader held (stdio).
    pub(crate) stderr_peak: Arc<AtomicUsize>,
    /// The `Mcp-Session-Id` the server gave, for the spans.
    pub(crate) session_id: Mutex<Option<Arc<str>>>,
    /// The stdio server's process group while it may be running: killed at once if the last
    /// client handle is dropped by a panicking thread (the process may exit before the
    /// driver's shutdown sequence runs: smol's executor threads are never dropped).
    pub(crate) child_group: Mutex<Option<rustix::process::Pid>>,
    /// How many times the server forgot the session and the client started a new one.
    pub(crate) sessions_expired: AtomicUsize,
}

impl Shared {
    /// SIGKILL to the stdio server's group, now (a panicking application).
    pub(crate) fn kill_child_now(&self) {
        let group = self
            .child_group
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(pid) = group {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }

    pub(crate) fn session_id(&self) -> Option<Arc<str>> {
        self.session_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn closed(&self) -> Option<SessionError> {
        self.closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A connected session, as the client handle holds it.
pub(crate) struct Connection {
    pub(crate) commands: async_channel::Sender<Command>,
    pub(crate) server: ServerInfo,
    pub(crate) notifications: Notifications,
    pub(crate) shared: Arc<Shared>,
}

/// Starts a session to `target` on `runtime` and waits until it is ready, or why not.
pub(crate) async fn connect(
    runtime: Arc<dyn Runtime>,
    target: Target,
    mut config: Config,
    headers: &[(String, String)],
    settings: Settings,
) -> Result<Connection, Error> {
    config.capabilities = settings.handler.capabilities();
    if settings.host_tasks {
        // The key of the hosted tasks' ids: without randomness, no tasks are hosted (a task
        // id must not be guessable).
        let mut key = [0u8; 32];
        match getrandom::fill(&mut key) {
            Ok(()) => config.hosted_tasks = Some(HostedTasks::new(unix_now(), key)),
            Err(e) => tracing::warn!(error = %e, "no randomness: the client hosts no tasks"),
        }
    }
    for (name, value) in headers {
        let bad = |e: &dyn std::fmt::Display| ConfigError::InvalidHeader {
            name: name.clone(),
            reason: e.to_string(),
        };
        let name = HeaderName::try_from(name.as_str()).map_err(|e| bad(&e))?;
        let mut value = HeaderValue::try_from(value.as_str()).map_err(|e| bad(&e))?;
        value.set_sensitive(http::is_secret(&name));
        config.headers.append(name, value);
    }
    let (inbox, incoming) = async_channel::bounded(256);
    let now = runtime.now();
    let (queue, notifications) =
        Queue::new(settings.notification_capacity, settings.notification_bytes);
    let shared = Arc::new(Shared {
        notifications: queue.held().clone(),
        ..Shared::default()
    });
    let mut auth_key = String::new();
    let record_to = RecordTo::chosen(settings.record.clone());
    let mut recording = None;
    let (session, transport, span) = match target {
        Target::Http(url) => {
            // `user:password@` becomes Basic authorization, and leaves the URL: it would go
            // into every Host header, log line and error otherwise.
            let (url, basic) = http::split_userinfo(&url);
            let uri: ::http::Uri =
                url.parse()
                    .map_err(|e: ::http::uri::InvalidUri| ConfigError::InvalidUrl {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?;
            if let Some(basic) = basic {
                if !config.headers.contains_key(::http::header::AUTHORIZATION) {
                    config.headers.insert(::http::header::AUTHORIZATION, basic);
                }
            }
            let pool = Arc::new(Pool::new(
                runtime.clone(),
                &uri,
                settings.connect_timeout,
                config.policy.max_concurrent_exchanges,
                &settings.extra_roots,
                &settings.proxy,
            )?);
            let span = tracing::info_span!("mcp_session", transport = "http", url = %url);
            let transport = Transport::Http {
                pool,
                others: Vec::new(),
                in_flight: IdMap::default(),
            };
            if let Some(oauth) = &settings.oauth {
                let mut auth =
                    mcpwire_core::Authorization::new(oauth.config.clone()).at(unix_now());
                let mut entropy = [0u8; 16];
                if getrandom::fill(&mut entropy).is_ok() {
                    auth = auth.with_entropy(entropy);
                }
                if let Some(stored) = oauth.store.load(&url) {
                    auth = auth.with_credentials(stored, unix_now());
                }
                config.auth = Some(auth);
            }
            auth_key = url.clone();
            if let Some(to) = &record_to {
                let sse = settings.legacy_sse;
                recording = Some(Recording::start(to, now, Some(&uri), sse, &config)?);
            }
            let session = match settings.legacy_sse {
                true => Session::sse(now, uri, config),
                false => Session::http(now, uri, config),
            };
            (session, transport, span)
        }
        Target::Stdio(command) => {
            let stdio = Stdio::start(
                runtime.clone(),
                &command,
                inbox.clone(),
                settings.stderr.clone(),
                settings.stderr_line,
                shared.stderr_peak.clone(),
            )?;
            *shared.child_group.lock().unwrap_or_else(|e| e.into_inner()) = stdio.group;
            let span =
                tracing::info_span!("mcp_session", transport = "stdio", program = %command.program);
            if let Some(to) = &record_to {
                recording = Some(Recording::start(to, now, None, false, &config)?);
            }
            (Session::stdio(now, config), Transport::Stdio(stdio), span)
        }
    };
    // Unbounded (as it was): the client's sends (`try_send`) never wait and fail only once the
    // driver is gone; each command is one the application awaits.
    let (commands, commands_rx) = async_channel::unbounded();
    let (ready_tx, ready_rx) = async_channel::bounded(1);
    let oauth = settings.oauth.clone().map(|o| (o, auth_key));
    let driver = Driver {
        session,
        runtime: runtime.clone(),
        transport,
        inbox,
        handler: settings.handler,
        notifications: queue,
        ready: Some(ready_tx),
        shared: shared.clone(),
        calls: IdMap::default(),
        tickets: IdMap::default(),
        subs: IdMap::default(),
        answering: HashMap::new(),
        sub_limits: (settings.notification_capacity, settings.notification_bytes),
        oauth,
        connect_timeout: settings.connect_timeout,
        extra_roots: settings.extra_roots.clone(),
        proxy: settings.proxy.clone(),
        recording,
    };
    runtime.spawn(Box::pin(driver.run(commands_rx, incoming).instrument(span)));
    let server = match ready_rx.recv().await {
        Ok(Ok(server)) => server,
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(SessionError::Closed.into()),
    };
    Ok(Connection {
        commands,
        server,
        notifications,
        shared,
    })
}

struct Driver {
    session: Session,
    runtime: Arc<dyn Runtime>,
    transport: Transport,
    inbox: Inbox,
    handler: Arc<dyn Handler>,
    notifications: Queue,
    ready: Option<async_channel::Sender<Result<ServerInfo, SessionError>>>,
    shared: Arc<Shared>,
    calls: IdMap<RequestId, Call>,
    tickets: IdMap<u64, RequestId>,
    subs: IdMap<RequestId, Sub>,
    /// The server requests whose handler runs: dropping one's sender drops its future (the
    /// request was withdrawn).
    answering: HashMap<Id, async_channel::Sender<()>>,
    /// Each subscription's queue: at most this many events and bytes.
    sub_limits: (usize, usize),
    /// OAuth, and the server URL its credentials are kept under.
    oauth: Option<(crate::auth::OAuth, String)>,
    connect_timeout: std::time::Duration,
    extra_roots: Vec<Vec<u8>>,
    proxy: crate::proxy::ProxySetting,
    /// What the session is recorded to, if it is.
    recording: Option<Recording>,
}

enum Woke {
    Command(Option<Command>),
    Incoming(Incoming),
    Timer,
    /// Time to write what the recording holds.
    Flush,
}

impl Driver {
    async fn run(
        mut self,
        commands: async_channel::Receiver<Command>,
        incoming: async_channel::Receiver<Incoming>,
    ) {
        let mut closers = Vec::new();
        // The timer for the session's deadline, and when it fires. It is kept while it fires no
        // later than the deadline (the deadline moves later as the oldest request completes):
        // a new timer per wake-up cost an allocation and a timer-wheel entry each time. One
        // that fires early is only re-armed, never fed to the session.
        let mut armed: Option<(::std::time::Instant, BoxFuture<'static, ()>)> = None;
        loop {
            let deadline = match self.pump() {
                Ok(deadline) => deadline,
                Err(error) => {
                    // No command waits forever: close the channel, answer what is queued.
                    commands.close();
                    while let Ok(command) = commands.try_recv() {
                        refuse(command, &error, &mut closers);
                    }
                    return self.finish(error, closers).await;
                }
            };
            // A recording's unwritten lines are written soon, even while nothing happens.
            let flush = self.recording.as_ref().and_then(Recording::flush_due);
            if let Some(at) = deadline {
                if armed.as_ref().is_none_or(|(t, _)| *t > at) {
                    armed = Some((at, self.runtime.sleep_until(at)));
                }
            }
            let timer = async {
                match flush {
                    Some(f) if deadline.is_none_or(|at| f < at) => {
                        self.runtime.sleep_until(f).await;
                        Woke::Flush
                    }
                    _ => match &mut armed {
                        Some((_, sleep)) => {
                            sleep.await;
                            Woke::Timer
                        }
                        None => future::pending().await,
                    },
                }
            };
            let woke = future::or(
                future::or(async { Woke::Command(commands.recv().await.ok()) }, async {
                    // The driver holds a sender itself, so this channel never closes.
                    incoming.recv().await.map_or(Woke::Timer, Woke::Incoming)
                }),
                timer,
            )
            .await;
            let now = self.runtime.now();
            match woke {
                Woke::Timer => {
                    let fired = armed.take().map(|(t, _)| t);
                    // Early (armed for an older deadline): the next round arms the current one.
                    if fired.is_none_or(|t| deadline.is_some_and(|at| t >= at)) {
                        self.feed(now, Input::Timeout)
                    }
                }
                Woke::Flush => {
                    if let Some(r) = &mut self.recording {
                        r.flush();
                    }
                }
                Woke::Incoming(msg) => {
                    self.on_incoming(now, msg);
                    // Take what else has arrived before pumping: fewer wake-ups under load.
                    for _ in 0..64 {
                        let Ok(msg) = incoming.try_recv() else { break };
                        self.on_incoming(now, msg);
                    }
                }
                Woke::Command(Some(command)) => self.on_command(now, command, &mut closers),
                // Every client handle is gone: end the session.
                Woke::Command(None) => self.close(now),
            }
        }
    }

    /// Performs every output until the session says to wait; returns when to wake, or the
    /// error the session ended with.
    fn pump(&mut self) -> Result<Option<::std::time::Instant>, SessionError> {
        // Known before any call completes with it, so that a caller who got the session's
        // error also finds it in `Client::session_error`.
        if let Some(error) = self.session.error() {
            let mut closed = self.shared.closed.lock().unwrap_or_else(|e| e.into_inner());
            if closed.is_none() {
                *closed = Some(error.clone());
                self.shared.ended.notify(usize::MAX);
            }
        }
        loop {
            let output = self.session.poll_output();
            if let Some(r) = &mut self.recording {
                r.rec.output(&output);
                match &output {
                    Output::Wait(_) => r.buffer(self.runtime.now()),
                    Output::Event(Event::Closed(_)) => r.flush(),
                    _ => {}
                }
            }
            match output {
                Output::Wait(deadline) => {
                    let (backlog, peak) = self.session.send_backlog();
                    self.shared.send_backlog.store(backlog, Ordering::Relaxed);
                    self.shared.send_backlog_peak.store(peak, Ordering::Relaxed);
                    let hosted = self.session.hosted_task_bytes();
                    if hosted != self.shared.hosted_task_bytes.load(Ordering::Relaxed) {
                        self.shared
                            .hosted_task_bytes
                            .store(hosted, Ordering::Relaxed);
                        let peak = &self.shared.hosted_task_bytes_peak;
                        peak.fetch_max(hosted, Ordering::Relaxed);
                    }
                    return Ok(deadline);
                }
                Output::Transmit(t) => self.transmit(t),
                Output::Abort(exchange) => {
                    if let Transport::Http { in_flight, .. } = &mut self.transport {
                        in_flight.remove(&exchange);
                    }
                }
                Output::Random(n) => {
                    let mut bytes = vec![0u8; n];
                    if let Err(e) = getrandom::fill(&mut bytes) {
                        // The flow fails on bytes of the wrong length: nothing is guessed.
                        tracing::error!(error = %e, "no randomness for the OAuth flow");
                        bytes.clear();
                    }
                    let now = self.runtime.now();
                    self.feed(now, Input::Random(&bytes));
                }
                Output::Event(Event::Closed(error)) => return Err(error),
                Output::Event(event) => self.on_event(event),
                _ => {}
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        match (transmit, &mut self.transport) {
            (
                Transmit::Http {
                    exchange, request, ..
                },
                Transport::Http {
                    pool,
                    others,
                    in_flight,
                },
            ) => {
                let (link, mut task_link) = oneshot::link();
                // The OAuth flow's requests may go to other origins: each has its own pool.
                let target = match pool.serves(request.uri()) {
                    true => Ok(pool.clone()),
                    false => other_pool(
                        others,
                        &self.runtime,
                        request.uri(),
                        self.connect_timeout,
                        &self.extra_roots,
                        &self.proxy,
                    ),
                };
                let target = match target {
                    Ok(p) => p,
                    Err(e) => {
                        let error = mcpwire_core::TransportError::new(
                            mcpwire_core::TransportErrorKind::Connect,
                            e.to_string(),
                        );
                        let now = self.runtime.now();
                        return self.feed(now, Input::ExchangeFailed { exchange, error });
                    }
                };
                let run = http::exchange(target, exchange, *request, self.inbox.clone());
                self.runtime.spawn(Box::pin(async move {
                    // The driver dropping its end of the link (an `Output::Abort`, or the
                    // driver ending) ends the exchange and closes its connection; dropping
                    // ours says the task is done.
                    future::or(run, &mut task_link).await;
                    drop(task_link);
                }));
                in_flight.insert(exchange, InFlight { link });
            }
            (Transmit::Stdin(bytes), Transport::Stdio(stdio)) => stdio.write(bytes),
            _ => tracing::error!("the session transmitted on another transport than its own"),
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Ready => {
                *self
                    .shared
                    .session_id
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = self.session.session_id().map(Arc::from);
                if let (Some(ready), Some(server)) = (self.ready.take(), self.session.server()) {
                    drop(ready.try_send(Ok(server.clone())));
                }
            }
            Event::Response { id, result } => {
                if let Some(call) = self.calls.remove(&id) {
                    self.tickets.remove(&call.ticket);
                    call.reply.send(result);
                } else if let Some(sub) = self.subs.remove(&id) {
                    self.tickets.remove(&sub.ticket);
                    let ended = result.map(drop);
                    match sub.waiting {
                        Some((reply, _)) => drop(reply.try_send(ended.and(Err(
                            RequestError::Protocol(ProtocolError::InvalidResult(
                                "the subscription ended before it was acknowledged".into(),
                            )),
                        )))),
                        None => sub.queue.push_last(SubscriptionEvent::Ended(ended)),
                    }
                }
            }
            Event::Subscribed { id, notifications } => {
                if let Some(sub) = self.subs.get_mut(&id) {
                    match sub.waiting.take() {
                        Some((reply, rx)) => drop(reply.try_send(Ok(Listening {
                            acknowledged: notifications,
                            rx,
                            held: sub.queue.held().clone(),
                        }))),
                        None => sub
                            .queue
                            .push(SubscriptionEvent::Resubscribed(notifications), 256),
                    }
                }
            }
            Event::TaskStatus { id, task } => {
                if let Some(f) = self.calls.get(&id).and_then(|c| c.task_status.as_ref()) {
                    f(&task);
                }
            }
            Event::Progress {
                id,
                progress,
                total,
                message,
            } => {
                if let Some(f) = self.calls.get(&id).and_then(|c| c.progress.as_ref()) {
                    f(Progress {
                        progress,
                        total,
                        message,
                    });
                }
            }
            Event::Notification {
                notification,
                size,
                subscription,
            } => match subscription.and_then(|id| self.subs.get(&id)) {
                Some(sub) => sub
                    .queue
                    .push(SubscriptionEvent::Notification(*notification), size),
                None => self.notifications.push(*notification, size),
            },
            Event::Request { id, request } => self.on_server_request(id, *request),
            Event::RequestWithdrawn { id } => drop(self.answering.remove(&id)),
            Event::Authorize { url, redirect_uri } => self.user_step(url.0, redirect_uri),
            Event::Authorized => {
                if let Some((oauth, key)) = &self.oauth {
                    let now = self.runtime.now();
                    if let Some(c) = self.session.credentials(now, unix_now()) {
                        oauth.store.save(key, &c);
                    }
                }
            }
            Event::SessionExpired {
                recovery, failed, ..
            } => {
                // Counted before the calls it failed hear of it (they complete next).
                self.shared.sessions_expired.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    recovery,
                    failed,
                    "mcp: the server forgot the session; a new one starts"
                );
            }
            Event::Warning(w) => tracing::warn!(warning = ?w, "mcp"),
            _ => {}
        }
    }

    /// Runs the user step of authorization in its own task; where the browser came back to
    /// comes back as a message.
    fn user_step(&mut self, url: String, redirect_uri: String) {
        let Some((oauth, _)) = &self.oauth else {
            return;
        };
        let inbox = self.inbox.clone();
        let step: BoxFuture<'static, Result<String, String>> = match &oauth.user {
            crate::auth::UserStep::Custom(f) => f(crate::auth::Authorize { url, redirect_uri }),
            crate::auth::UserStep::Headless => {
                let runtime = self.runtime.clone();
                let timeout = self.connect_timeout;
                let roots = self.extra_roots.clone();
                let proxy = self.proxy.clone();
                Box::pin(
                    async move { http::location_of(runtime, &url, timeout, &roots, &proxy).await },
                )
            }
        };
        self.runtime.spawn(Box::pin(async move {
            let result = step.await;
            drop(inbox.send(Incoming::Redirect(result)).await);
        }));
    }

    /// Runs the handler for a server request in its own task; its answer comes back as a
    /// message.
    fn on_server_request(&mut self, id: Id, request: ServerRequest) {
        let answer = crate::handler::answer(&*self.handler, request);
        let inbox = self.inbox.clone();
        // Its sender goes with the request: withdrawn (or the session over), the future is
        // dropped where it stands.
        let (withdraw, withdrawn) = async_channel::bounded::<()>(1);
        self.answering.insert(id.clone(), withdraw);
        self.runtime.spawn(Box::pin(async move {
            let answered = future::or(async { Some(answer.await) }, async {
                let _ = withdrawn.recv().await;
                None
            })
            .await;
            if let Some(result) = answered {
                drop(inbox.send(Incoming::Respond(id, result)).await);
            }
        }));
    }

    /// Feeds the session an input, recording it first.
    fn feed(&mut self, now: ::std::time::Instant, input: Input<'_>) {
        if let Some(r) = &mut self.recording {
            r.rec.input(now, &input);
        }
        self.session.handle_input(now, input);
    }

    fn close(&mut self, now: ::std::time::Instant) {
        self.session.close(now);
        if let Some(r) = &mut self.recording {
            r.rec.close(now);
        }
    }

    fn on_incoming(&mut self, now: ::std::time::Instant, msg: Incoming) {
        match msg {
            Incoming::ResponseHead {
                exchange,
                status,
                headers,
                data,
                end,
            } => {
                let head = Input::ResponseHead {
                    exchange,
                    status,
                    headers: &headers,
                };
                self.feed(now, head);
                if let Some(data) = &data {
                    self.feed(now, Input::ResponseBody { exchange, data });
                }
                if end {
                    self.forget(exchange);
                    self.feed(now, Input::ResponseEnd { exchange });
                }
            }
            Incoming::ResponseBody { exchange, data } => self.feed(
                now,
                Input::ResponseBody {
                    exchange,
                    data: &data,
                },
            ),
            Incoming::ResponseEnd { exchange } => {
                self.forget(exchange);
                self.feed(now, Input::ResponseEnd { exchange })
            }
            Incoming::ExchangeFailed { exchange, error } => {
                self.forget(exchange);
                self.feed(now, Input::ExchangeFailed { exchange, error })
            }
            Incoming::Stdout(data) => self.feed(now, Input::Stdout(&data)),
            Incoming::StdoutClosed => self.feed(now, Input::StdoutClosed),
            Incoming::ProcessExited { code } => {
                // Its pid may be reused from now on: never signalled again from here.
                self.shared
                    .child_group
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                self.feed(now, Input::ProcessExited { code })
            }
            Incoming::WriteFailed(error) => self.feed(now, Input::WriteFailed(error)),
            Incoming::StdinWritten(bytes) => self.feed(now, Input::StdinWritten { bytes }),
            Incoming::Respond(id, answer) => {
                self.answering.remove(&id);
                let copy = self
                    .recording
                    .is_some()
                    .then(|| (id.clone(), answer.clone()));
                let result = self.session.respond(id, answer);
                if let (Some(r), Some((id, answer))) = (&mut self.recording, copy) {
                    r.rec.respond(now, &id, &answer, &result);
                }
            }
            Incoming::Redirect(result) => {
                let result = result.as_deref().map_err(String::as_str);
                self.session.authorization_redirect(now, result);
                if let Some(r) = &mut self.recording {
                    r.rec.redirect(now, result);
                }
            }
        }
    }

    /// The exchange is over by itself: its task has nothing left to do, so dropping its abort
    /// sender is harmless.
    fn forget(&mut self, exchange: ExchangeId) {
        if let Transport::Http { in_flight, .. } = &mut self.transport {
            in_flight.remove(&exchange);
        }
    }

    fn on_command(
        &mut self,
        now: ::std::time::Instant,
        command: Command,
        closers: &mut Vec<async_channel::Sender<()>>,
    ) {
        match command {
            Command::Request {
                ticket,
                method,
                params,
                options,
                progress,
                task_status,
                reply,
            } => {
                let result = match &mut self.recording {
                    None => self.session.request_encoded(now, &method, params, options),
                    // A recording keeps params as a `Value`, which orders their keys: the
                    // request goes as that `Value`, so that its replay sends the same bytes.
                    Some(r) => match params
                        .map(|p| serde_json::from_str::<Value>(p.get()))
                        .transpose()
                    {
                        Ok(params) => {
                            let result =
                                self.session
                                    .request(now, &method, params.clone(), options.clone());
                            r.rec
                                .request(now, &method, params.as_ref(), &options, &result);
                            result
                        }
                        // Not reached: a `RawValue` is JSON.
                        Err(e) => Err(RequestError::Protocol(
                            mcpwire_core::ProtocolError::InvalidJson(e.to_string().into()),
                        )),
                    },
                };
                match result {
                    Ok(id) => {
                        self.tickets.insert(ticket, id);
                        self.calls.insert(
                            id,
                            Call {
                                ticket,
                                reply,
                                progress,
                                task_status,
                            },
                        );
                    }
                    Err(e) => reply.send(Err(e)),
                }
            }
            Command::Listen {
                ticket,
                filter,
                reply,
            } => match self.listen(now, &filter) {
                Ok(id) => {
                    let (queue, rx) = Queue::channel(self.sub_limits.0, self.sub_limits.1);
                    self.tickets.insert(ticket, id);
                    let waiting = Some((reply, rx));
                    self.subs.insert(
                        id,
                        Sub {
                            ticket,
                            queue,
                            waiting,
                        },
                    );
                }
                Err(e) => drop(reply.try_send(Err(e))),
            },
            Command::Cancel(ticket) => {
                if let Some(id) = self.tickets.remove(&ticket) {
                    self.calls.remove(&id);
                    self.subs.remove(&id);
                    let reason = Some("the caller stopped waiting");
                    let was = self.session.cancel(now, id, reason);
                    if let Some(r) = &mut self.recording {
                        r.rec.cancel(now, id, reason, was);
                    }
                }
            }
            Command::Notify {
                method,
                params,
                reply,
            } => {
                let copy = self.recording.as_ref().and(params.clone());
                let result = self.session.notify(&method, params);
                if let Some(r) = &mut self.recording {
                    r.rec.notify(now, &method, copy.as_ref(), &result);
                }
                reply.send(result)
            }
            Command::Close(done) => {
                closers.push(done);
                self.close(now);
            }
        }
    }

    fn listen(
        &mut self,
        now: ::std::time::Instant,
        filter: &SubscriptionFilter,
    ) -> Result<RequestId, RequestError> {
        let result = self.session.listen(now, filter);
        if let Some(r) = &mut self.recording {
            r.rec.listen(now, filter, &result);
        }
        result
    }

    /// The session ended: what the core did not abort may finish until its linger deadline;
    /// then everyone is told.
    async fn finish(mut self, error: SessionError, closers: Vec<async_channel::Sender<()>>) {
        tracing::debug!(%error, "session ended");
        if let Some(r) = &mut self.recording {
            r.flush();
        }
        *self.shared.closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        self.shared.ended.notify(usize::MAX);
        if let Some(ready) = self.ready.take() {
            drop(ready.try_send(Err(error)));
        }
        // Calls still registered were completed by the core before `Closed`; this only drops
        // what raced with the end.
        self.calls.clear();
        self.subs.clear();
        let linger = self.session.linger_deadline();
        match self.transport {
            Transport::Http { in_flight, .. } => {
                for x in in_flight.into_values() {
                    let left = linger.map_or(std::time::Duration::ZERO, |at| {
                        at.saturating_duration_since(self.runtime.now())
                    });
                    let mut link = x.link;
                    timeout(&*self.runtime, left, &mut link).await;
                    drop(link);
                }
            }
            Transport::Stdio(stdio) => stdio.close().await,
        }
        drop(closers);
    }
}

/// The pool for `uri`'s origin among `others`, made if it is new (the oldest dropped past
/// [`MAX_OTHER_ORIGINS`]).
fn other_pool(
    others: &mut Vec<(String, Arc<Pool>)>,
    runtime: &Arc<dyn Runtime>,
    uri: &::http::Uri,
    connect_timeout: std::time::Duration,
    roots: &[Vec<u8>],
    proxy: &crate::proxy::ProxySetting,
) -> Result<Arc<Pool>, ConfigError> {
    let origin = format!(
        "{}://{}",
        uri.scheme_str().unwrap_or(""),
        uri.authority().map_or("", |a| a.as_str())
    );
    if let Some((_, p)) = others.iter().find(|(o, _)| *o == origin) {
        return Ok(p.clone());
    }
    let pool = Arc::new(Pool::new(
        runtime.clone(),
        uri,
        connect_timeout,
        4,
        roots,
        proxy,
    )?);
    if others.len() >= MAX_OTHER_ORIGINS {
        others.remove(0);
    }
    others.push((origin, pool.clone()));
    Ok(pool)
}

/// The caller's clock since the UNIX epoch (for stored token expiry times).
fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Answers a command that came too late with the session's error.
fn refuse(command: Command, error: &SessionError, closers: &mut Vec<async_channel::Sender<()>>) {
    let error = RequestError::Session(error.clone());
    match command {
        Command::Request { reply, .. } => reply.send(Err(error)),
        Command::Notify { reply, .. } => reply.send(Err(error)),
        Command::Listen { reply, .. } => drop(reply.try_send(Err(error))),
        Command::Cancel(_) => {}
        Command::Close(done) => closers.push(done),
    }
}
