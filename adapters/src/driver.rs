//! The one driver task per client: it owns the core `Session`, performs what it outputs,
//! feeds it what the transport and the application say, and routes every completion to the
//! call waiting for it. No protocol decision is made here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::future;
use mcpwire_core::jsonrpc::{ErrorObject, Id, RawJson};
use mcpwire_core::schema::{InitializeResult, ServerNotification, ServerRequest};
use mcpwire_core::{
    Error, Event, ExchangeId, ExchangeKind, Input, Output, RequestId, RequestOptions, Session,
    Transmit, TransportError,
};
use serde_json::Value;

use crate::client::Progress;
use crate::handler::Handler;
use crate::http::{self, Pool};
use crate::notifications::Queue;
use crate::runtime::{deadline, timeout, Runtime};
use crate::stdio::Stdio;

/// How long a notification POST or the closing `DELETE` may go on after the session ended.
const LINGER: Duration = Duration::from_secs(2);

/// A progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// What the application asks of the driver.
pub(crate) enum Command {
    Request {
        ticket: u64,
        method: String,
        params: Option<Value>,
        options: RequestOptions,
        progress: Option<ProgressFn>,
        reply: async_channel::Sender<Result<RawJson, Error>>,
    },
    /// The call with this ticket was dropped before it completed.
    Cancel(u64),
    Notify {
        method: String,
        params: Option<Value>,
        reply: async_channel::Sender<Result<(), Error>>,
    },
    Close(async_channel::Sender<()>),
}

/// What the transport tasks and handler tasks tell the driver.
pub(crate) enum Msg {
    ResponseHead {
        exchange: ExchangeId,
        status: ::http::StatusCode,
        headers: ::http::HeaderMap,
    },
    ResponseBody {
        exchange: ExchangeId,
        data: Bytes,
    },
    ResponseEnd {
        exchange: ExchangeId,
    },
    ExchangeFailed {
        exchange: ExchangeId,
        error: TransportError,
    },
    Stdout(Bytes),
    StdoutClosed,
    ProcessExited {
        code: Option<i32>,
    },
    WriteFailed(TransportError),
    /// The child took this many bytes of stdin.
    StdinWritten(usize),
    Respond(Id, Result<Value, ErrorObject>),
}

pub(crate) enum Transport {
    Http {
        pool: Arc<Pool>,
        in_flight: HashMap<ExchangeId, InFlight>,
    },
    Stdio(Stdio),
}

/// An exchange's task: dropping `abort` ends it; `done` closes when it has ended.
pub(crate) struct InFlight {
    abort: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
    kind: ExchangeKind,
}

struct Call {
    ticket: u64,
    reply: async_channel::Sender<Result<RawJson, Error>>,
    progress: Option<ProgressFn>,
}

/// What the client handles share with the driver.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Why the session ended, once it has.
    pub(crate) closed: Mutex<Option<Error>>,
    /// The core's send backlog, now and at its most, as of the driver's last pump.
    pub(crate) send_backlog: AtomicUsize,
    pub(crate) send_backlog_peak: AtomicUsize,
    /// The notification queue's bytes.
    pub(crate) notifications: Arc<crate::notifications::Held>,
    /// The most bytes the stderr reader held (stdio).
    pub(crate) stderr_peak: Arc<AtomicUsize>,
}

pub(crate) struct Driver {
    pub(crate) session: Session,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) transport: Transport,
    pub(crate) to_driver: async_channel::Sender<Msg>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) notifications: Queue,
    pub(crate) ready: Option<async_channel::Sender<Result<InitializeResult, Error>>>,
    pub(crate) shared: Arc<Shared>,
    calls: HashMap<RequestId, Call>,
    tickets: HashMap<u64, RequestId>,
}

enum Woke {
    Command(Option<Command>),
    Msg(Msg),
    Timer,
}

impl Driver {
    // One call site (the client builder), each argument a different part of the wiring.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        session: Session,
        runtime: Arc<dyn Runtime>,
        transport: Transport,
        to_driver: async_channel::Sender<Msg>,
        handler: Arc<dyn Handler>,
        notifications: Queue,
        ready: async_channel::Sender<Result<InitializeResult, Error>>,
        shared: Arc<Shared>,
    ) -> Driver {
        Driver {
            session,
            runtime,
            transport,
            to_driver,
            handler,
            notifications,
            ready: Some(ready),
            shared,
            calls: HashMap::new(),
            tickets: HashMap::new(),
        }
    }

    pub(crate) async fn run(
        mut self,
        commands: async_channel::Receiver<Command>,
        msgs: async_channel::Receiver<Msg>,
    ) {
        let mut closers = Vec::new();
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
            let timer = async {
                match deadline {
                    Some(at) => self.runtime.sleep_until(at).await,
                    None => future::pending().await,
                }
                Woke::Timer
            };
            let woke = future::or(
                future::or(async { Woke::Command(commands.recv().await.ok()) }, async {
                    // The driver holds a sender itself, so this channel never closes.
                    msgs.recv().await.map_or(Woke::Timer, Woke::Msg)
                }),
                timer,
            )
            .await;
            let now = Instant::now();
            match woke {
                Woke::Timer => self.session.handle_input(now, Input::Timeout),
                Woke::Msg(msg) => {
                    self.on_msg(now, msg);
                    // Take what else has arrived before pumping: fewer wake-ups under load.
                    for _ in 0..64 {
                        let Ok(msg) = msgs.try_recv() else { break };
                        self.on_msg(now, msg);
                    }
                }
                Woke::Command(Some(command)) => self.on_command(now, command, &mut closers),
                // Every client handle is gone: end the session.
                Woke::Command(None) => self.session.close(now),
            }
        }
    }

    /// Performs every output until the session says to wait; returns when to wake, or the
    /// error the session ended with.
    fn pump(&mut self) -> Result<Option<Instant>, Error> {
        // Known before any call completes with it, so that a caller who got the session's
        // error also finds it in `Client::closed`.
        if let Some(error) = self.session.error() {
            let mut closed = self.shared.closed.lock().unwrap_or_else(|e| e.into_inner());
            if closed.is_none() {
                *closed = Some(error.clone());
            }
        }
        loop {
            match self.session.poll_output() {
                Output::Wait(deadline) => {
                    let (backlog, peak) = self.session.send_backlog();
                    self.shared.send_backlog.store(backlog, Ordering::Relaxed);
                    self.shared.send_backlog_peak.store(peak, Ordering::Relaxed);
                    return Ok(deadline);
                }
                Output::Transmit(t) => self.transmit(t),
                Output::Abort(exchange) => {
                    if let Transport::Http { in_flight, .. } = &mut self.transport {
                        in_flight.remove(&exchange);
                    }
                }
                Output::Event(Event::Closed(error)) => return Err(error),
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        match (transmit, &mut self.transport) {
            (
                Transmit::Http {
                    exchange,
                    kind,
                    request,
                },
                Transport::Http { pool, in_flight },
            ) => {
                let (abort_tx, abort_rx) = async_channel::bounded::<()>(1);
                let (done_tx, done_rx) = async_channel::bounded::<()>(1);
                let run = http::exchange(pool.clone(), exchange, request, self.to_driver.clone());
                self.runtime.spawn(Box::pin(async move {
                    // Dropping the abort sender (an `Output::Abort`, or the driver ending)
                    // ends the exchange and closes its connection.
                    future::or(run, async {
                        let _ = abort_rx.recv().await;
                    })
                    .await;
                    drop(done_tx);
                }));
                let task = InFlight {
                    abort: abort_tx,
                    done: done_rx,
                    kind,
                };
                in_flight.insert(exchange, task);
            }
            (Transmit::Stdin(bytes), Transport::Stdio(stdio)) => stdio.write(bytes),
            _ => unreachable!("the session transmits on its own transport"),
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Ready => {
                if let (Some(ready), Some(server)) = (self.ready.take(), self.session.server()) {
                    drop(ready.try_send(Ok(server.clone())));
                }
            }
            Event::Response { id, result } => {
                if let Some(call) = self.calls.remove(&id) {
                    self.tickets.remove(&call.ticket);
                    drop(call.reply.try_send(result));
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
                method,
                params,
                size,
            } => match ServerNotification::parse(&method, params) {
                Ok(n) => self.notifications.push(n, size),
                Err(e) => {
                    tracing::warn!(%method, error = %e, "notification with invalid params dropped")
                }
            },
            Event::Request { id, request } => self.on_server_request(id, *request),
            Event::Warning(w) => tracing::warn!(warning = ?w, "mcp"),
            Event::Closed(_) => {}
        }
    }

    /// Runs the handler for a server request in its own task; its answer comes back as a
    /// message.
    fn on_server_request(&mut self, id: Id, request: ServerRequest) {
        let answer: crate::runtime::BoxFuture<'static, Result<Value, ErrorObject>> = match request {
            ServerRequest::CreateMessage(p) => to_value(self.handler.create_message(p)),
            ServerRequest::Elicit(p) => to_value(self.handler.elicit(p)),
            ServerRequest::ListRoots => to_value(self.handler.list_roots()),
            // The core answers ping and undeclared methods itself; nothing else arrives.
            other => {
                let error = ErrorObject::new(ErrorObject::METHOD_NOT_FOUND, other.method());
                Box::pin(future::ready(Err(error)))
            }
        };
        let to_driver = self.to_driver.clone();
        self.runtime.spawn(Box::pin(async move {
            let result = answer.await;
            drop(to_driver.send(Msg::Respond(id, result)).await);
        }));
    }

    fn on_msg(&mut self, now: Instant, msg: Msg) {
        let s = &mut self.session;
        match msg {
            Msg::ResponseHead {
                exchange,
                status,
                headers,
            } => s.handle_input(
                now,
                Input::ResponseHead {
                    exchange,
                    status,
                    headers: &headers,
                },
            ),
            Msg::ResponseBody { exchange, data } => s.handle_input(
                now,
                Input::ResponseBody {
                    exchange,
                    data: &data,
                },
            ),
            Msg::ResponseEnd { exchange } => {
                self.forget(exchange);
                self.session
                    .handle_input(now, Input::ResponseEnd { exchange })
            }
            Msg::ExchangeFailed { exchange, error } => {
                self.forget(exchange);
                self.session
                    .handle_input(now, Input::ExchangeFailed { exchange, error })
            }
            Msg::Stdout(data) => s.handle_input(now, Input::Stdout(&data)),
            Msg::StdoutClosed => s.handle_input(now, Input::StdoutClosed),
            Msg::ProcessExited { code } => s.handle_input(now, Input::ProcessExited { code }),
            Msg::WriteFailed(error) => s.handle_input(now, Input::WriteFailed(error)),
            Msg::StdinWritten(bytes) => s.handle_input(now, Input::StdinWritten { bytes }),
            Msg::Respond(id, result) => drop(s.respond(id, result)),
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
        now: Instant,
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
                reply,
            } => match self.session.request(now, &method, params, options) {
                Ok(id) => {
                    self.tickets.insert(ticket, id);
                    self.calls.insert(
                        id,
                        Call {
                            ticket,
                            reply,
                            progress,
                        },
                    );
                }
                Err(e) => drop(reply.try_send(Err(e))),
            },
            Command::Cancel(ticket) => {
                if let Some(id) = self.tickets.remove(&ticket) {
                    self.calls.remove(&id);
                    self.session
                        .cancel(now, id, Some("the caller stopped waiting"));
                }
            }
            Command::Notify {
                method,
                params,
                reply,
            } => drop(reply.try_send(self.session.notify(&method, params))),
            Command::Close(done) => {
                closers.push(done);
                self.session.close(now);
            }
        }
    }

    /// The session ended: stop the transport, let a closing DELETE finish, tell everyone.
    async fn finish(mut self, error: Error, closers: Vec<async_channel::Sender<()>>) {
        tracing::debug!(%error, "session ended");
        *self.shared.closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        if let Some(ready) = self.ready.take() {
            drop(ready.try_send(Err(error)));
        }
        // Calls still registered were completed by the core before `Closed`; this only drops
        // what raced with the end.
        self.calls.clear();
        match self.transport {
            Transport::Http { in_flight, .. } => {
                // Streams and requests end now; what the server should still hear (a
                // cancellation, the DELETE) may finish, briefly.
                let (linger, end_now): (Vec<_>, Vec<_>) = in_flight.into_values().partition(|x| {
                    matches!(x.kind, ExchangeKind::Notification | ExchangeKind::Delete)
                });
                drop(end_now);
                let deadline = deadline(LINGER);
                for x in linger {
                    timeout(&*self.runtime, deadline, x.done.recv()).await;
                    drop(x.abort);
                }
            }
            Transport::Stdio(stdio) => stdio.close().await,
        }
        drop(closers);
    }
}

/// Answers a command that came too late with the session's error.
fn refuse(command: Command, error: &Error, closers: &mut Vec<async_channel::Sender<()>>) {
    match command {
        Command::Request { reply, .. } => drop(reply.try_send(Err(error.clone()))),
        Command::Notify { reply, .. } => drop(reply.try_send(Err(error.clone()))),
        Command::Cancel(_) => {}
        Command::Close(done) => closers.push(done),
    }
}

fn to_value<T: serde::Serialize + Send + 'static>(
    answer: crate::runtime::BoxFuture<'static, Result<T, ErrorObject>>,
) -> crate::runtime::BoxFuture<'static, Result<Value, ErrorObject>> {
    Box::pin(async move {
        answer.await.and_then(|r| {
            serde_json::to_value(r)
                .map_err(|e| ErrorObject::new(ErrorObject::INTERNAL_ERROR, e.to_string()))
        })
    })
}
