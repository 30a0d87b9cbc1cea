//! The public client: a cheap, cloneable handle to one session's driver task.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mcpwire_core::jsonrpc::RawJson;
use mcpwire_core::schema::{
    CallToolParams, CallToolResult, CompleteParams, CompleteResult, CreateMessageParams,
    CreateMessageResult, ElicitParams, ElicitResult, EmptyResult, GetPromptParams, GetPromptResult,
    Implementation, ListPromptsParams, ListPromptsResult, ListResourceTemplatesParams,
    ListResourceTemplatesResult, ListResourcesParams, ListResourcesResult, ListToolsParams,
    ListToolsResult, LoggingLevel, Page, Paginated, PingParams, Prompt, ReadResourceParams,
    ReadResourceResult, Request, Resource, ResourceTemplate, Root, ServerInfo, SetLevelParams,
    SubscribeParams, Tool, UnsubscribeParams,
};
use mcpwire_core::{
    Config, Limit, Policy, ProtocolError, RequestError, RequestOptions, SessionError,
};
use serde_json::{Map, Value};

use crate::driver::{self, Command, Connection};
use crate::error::{ConfigError, Error};
use crate::handler::{Closures, Handler, HandlerError, WithClosures};
use crate::notifications::Notifications;
use crate::options::{CallOptions, Settings};
use crate::runtime::{self, Runtime};
use crate::subscription::Subscription;
use crate::target::Target;
use mcpwire_core::modern::SubscriptionFilter;
use mcpwire_core::Revision;

/// Sets up a [`Client`]: options, then [`connect`](ClientBuilder::connect).
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn example() -> Result<(), mcpwire::Error> {
/// use std::time::Duration;
/// use mcpwire::schema::ElicitResult;
///
/// let client = mcpwire::Client::builder()
///     .client_info("my-app", "1.2.0")
///     .timeout(Duration::from_secs(30))
///     .header("Authorization", "Bearer my-token") // never in Debug, logs or errors
///     .on_elicitation(|params| async move {
///         eprintln!("declining: {}", params.message);
///         Ok::<_, String>(ElicitResult::decline())
///     })
///     .connect("https://mcp.example.com/mcp")
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    config: Config,
    headers: Vec<(String, String)>,
    settings: Settings,
    closures: Closures,
}

/// What a client holds that grows with what the server sends, in bytes: each is bounded by a
/// limit of the builder or the policy, and the peaks show it held. From [`Client::memory`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Memory {
    /// Bytes waiting to be sent (queued before ready, waiting for an exchange, written to a
    /// child's stdin and not yet taken): at most [`Policy::max_send_backlog`].
    pub send_backlog: usize,
    /// The most `send_backlog` has been.
    pub send_backlog_peak: usize,
    /// Bytes of notifications waiting for [`Client::notifications`]: at most
    /// [`ClientBuilder::notification_bytes`].
    pub notification_bytes: usize,
    /// The most `notification_bytes` has been.
    pub notification_bytes_peak: usize,
    /// Notifications dropped because their queue was full (or off).
    pub notifications_dropped: u64,
    /// The most bytes of one stderr line a stdio server's reader held: at most
    /// [`ClientBuilder::stderr_line_limit`].
    pub stderr_line_peak: usize,
    /// Bytes the tasks the client hosts for the server keep (their results, status messages
    /// and the ids kept for them, a few hundred bytes reserved a task): at most
    /// [`Policy::max_hosted_task_bytes`].
    pub hosted_task_bytes: usize,
    /// The most `hosted_task_bytes` has been.
    pub hosted_task_bytes_peak: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.closures;
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("on_sampling", &c.sampling.is_some())
            .field("on_elicitation", &c.elicitation.is_some())
            .field("roots", &c.roots)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Who the client is, as sent in `initialize` (default: mcpwire and its version).
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.client_info = Implementation::new(name, version);
        self
    }

    /// Authorizes with OAuth when the server asks (HTTP): a 401 (or a 403
    /// `insufficient_scope`) holds the calls while the flow runs — discovery, registration,
    /// the user step (`oauth`'s [`UserStep`](crate::auth::UserStep)), the token — and sends
    /// them again with the token, or fails them with [`RequestError::Auth`]. Credentials are
    /// loaded from and saved to `oauth`'s store, keyed by the server URL.
    pub fn oauth(mut self, oauth: crate::auth::OAuth) -> Self {
        self.settings.oauth = Some(oauth);
        self
    }

    /// Which protocol revision to speak (default [`Revision::Auto`]: probe 2026-07-28 with
    /// `server/discover`, and fall back to the 2025 handshake for a server of that era).
    pub fn revision(mut self, revision: Revision) -> Self {
        self.config.revision = revision;
        self
    }

    /// Speaks the 2024-11-05 HTTP+SSE transport to an HTTP target, whose URL is then the
    /// event stream's (`.../sse`): the client GETs it and POSTs every message to the URI its
    /// `endpoint` event names. Without it, a server that refuses Streamable HTTP's
    /// `initialize` with 400, 404 or 405 is spoken to this way anyway (the specification's
    /// backwards compatibility; [`Policy::legacy_sse_fallback`] turns it off).
    pub fn legacy_sse(mut self) -> Self {
        self.settings.legacy_sse = true;
        self
    }

    /// Whether the client hosts the tasks a server creates on it (2025-11-25; default on):
    /// a server may send `sampling/createMessage` or `elicitation/create` as a task to a
    /// client that declares sampling or elicitation, and the client then declares
    /// `tasks.requests.*` for them (with `tasks.list` and `tasks.cancel`). The handler
    /// answers such a request like any other; the core keeps the answer as the task's
    /// result and answers the server's `tasks/*` requests. A task the server cancels, or
    /// whose TTL passes, drops the handler's future. Off: no `tasks` is declared, and such a
    /// request is answered as a plain one. The limits are the policy's
    /// ([`Policy::max_hosted_tasks`] and the rest).
    pub fn host_tasks(mut self, on: bool) -> Self {
        self.settings.host_tasks = on;
        self
    }

    /// The default deadline of every call (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.policy.request_timeout = timeout;
        self
    }

    /// The whole failure policy: limits, deadlines and scopes.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Records the session to the file at `path`, as it happens: every command given to the
    /// core and every input fed to it, with its instant and the random bytes supplied, and a
    /// digest of every output, as JSON lines, secrets redacted
    /// ([`mcpwire_core::record`]). `mcpwire replay <file>` shows and checks it. Without this,
    /// the environment variable `MCPWIRE_RECORD=<file>` does the same (each session of the
    /// process writes the file anew).
    pub fn record(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.record_with(path, crate::RecordOptions::default())
    }

    /// [`ClientBuilder::record`] with a size cap and payload redaction of its own.
    pub fn record_with(
        mut self,
        path: impl Into<std::path::PathBuf>,
        options: crate::RecordOptions,
    ) -> Self {
        self.settings.record = Some(crate::record::RecordTo {
            path: path.into(),
            options,
        });
        self
    }

    /// A header for every HTTP request (`Authorization`, ...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers the server's sampling, elicitation and roots requests; the client declares the
    /// handler's capabilities. The closures of [`on_sampling`](ClientBuilder::on_sampling),
    /// [`on_elicitation`](ClientBuilder::on_elicitation) and [`roots`](ClientBuilder::roots)
    /// answer before it, whichever is set first.
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.settings.handler = Arc::new(handler);
        self
    }

    /// Answers the server's `sampling/createMessage` with `f`, and declares the `sampling`
    /// capability. `f`'s error (a `String`, any error) reaches the server as a JSON-RPC
    /// internal error with its text, or as itself if it is an
    /// [`ErrorObject`](crate::core::jsonrpc::ErrorObject).
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn example() -> Result<(), mcpwire::Error> {
    /// use mcpwire::schema::CreateMessageResult;
    ///
    /// let client = mcpwire::Client::builder()
    ///     .on_sampling(|params| async move {
    ///         let asked = params.messages.len();
    ///         Ok::<_, String>(CreateMessageResult::text("my-model", format!("{asked} messages read")))
    ///     })
    ///     .connect("npx -y @modelcontextprotocol/server-everything")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_sampling<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn(CreateMessageParams) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<CreateMessageResult, E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        self.closures.sampling = Some(Closures::answer(f));
        self
    }

    /// Answers the server's `elicitation/create` with `f` (ask the user), and declares the
    /// `elicitation` capability (form mode). Errors as for
    /// [`on_sampling`](ClientBuilder::on_sampling).
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn example() -> Result<(), mcpwire::Error> {
    /// use mcpwire::schema::ElicitResult;
    ///
    /// let client = mcpwire::Client::builder()
    ///     .on_elicitation(|params| async move {
    ///         eprintln!("the server asks: {}", params.message);
    ///         Ok::<_, String>(ElicitResult::decline())
    ///     })
    ///     .connect("npx -y @modelcontextprotocol/server-everything")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_elicitation<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn(ElicitParams) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<ElicitResult, E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        self.closures.elicitation = Some(Closures::answer(f));
        self
    }

    /// Answers the server's `roots/list` with these roots, and declares the `roots`
    /// capability.
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn example() -> Result<(), mcpwire::Error> {
    /// use mcpwire::schema::Root;
    ///
    /// let client = mcpwire::Client::builder()
    ///     .roots(vec![Root::new("file:///home/me/project").with_name("project")])
    ///     .connect("npx -y @modelcontextprotocol/server-everything")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn roots(mut self, roots: Vec<Root>) -> Self {
        self.closures.roots = Some(roots.into());
        self
    }

    /// How long a TCP connect and TLS handshake may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Connects through this HTTP proxy, whatever the environment says: a `CONNECT` tunnel
    /// for https servers, the absolute form for http ones (the OAuth flow's requests too).
    /// Without it (or [`no_proxy`](Self::no_proxy)), `https_proxy`/`HTTPS_PROXY`,
    /// `http_proxy`/`HTTP_PROXY` and `all_proxy`/`ALL_PROXY` name the proxy per scheme and
    /// `no_proxy`/`NO_PROXY` the hosts to reach directly, as curl reads them. A proxy that
    /// refuses the tunnel fails the connection with [`TransportErrorKind::Proxy`]
    /// (407: it wants credentials, given as `http://user:password@host:port`).
    ///
    /// [`TransportErrorKind::Proxy`]: mcpwire_core::TransportErrorKind::Proxy
    pub fn proxy(mut self, proxy: crate::Proxy) -> Self {
        self.settings.proxy = crate::proxy::ProxySetting::Use(proxy);
        self
    }

    /// Connects directly, whatever the proxy variables of the environment say.
    pub fn no_proxy(mut self) -> Self {
        self.settings.proxy = crate::proxy::ProxySetting::Direct;
        self
    }

    /// Trusts this root certificate as well as the webpki roots (and, with the `native-roots`
    /// feature, the OS's trust store): for servers behind a private certificate authority.
    /// DER, or PEM with one or more certificates (`-----BEGIN CERTIFICATE-----`); one that
    /// does not parse fails connecting with [`ConfigError::Tls`].
    pub fn add_root_certificate(mut self, der_or_pem: impl Into<Vec<u8>>) -> Self {
        self.settings.extra_roots.push(der_or_pem.into());
        self
    }

    /// Where a stdio server's stderr goes, a line at a time (default: `tracing` at info).
    pub fn on_stderr(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.settings.stderr = Some(Arc::new(f));
        self
    }

    /// How many server notifications wait for [`Client::notifications`] before new ones are
    /// dropped (default 1024); 0 keeps none (for a client that never reads them).
    pub fn notification_capacity(mut self, capacity: usize) -> Self {
        self.settings.notification_capacity = capacity;
        self
    }

    /// How many bytes of server notifications (as sized on the wire) wait for
    /// [`Client::notifications`] before new ones are dropped (default 16 MiB); 0 keeps none.
    pub fn notification_bytes(mut self, bytes: usize) -> Self {
        self.settings.notification_bytes = bytes;
        self
    }

    /// The longest stderr line of a stdio server passed on whole (default 64 KiB): the rest
    /// of a longer line is cut, with a note of how much, and never held.
    pub fn stderr_line_limit(mut self, bytes: usize) -> Self {
        self.settings.stderr_line = bytes.max(1);
        self
    }

    /// Bounds of [`Client::list_all`]: at most `bytes` of results (default 64 MiB) over at
    /// most `pages` pages (default 1,000); past either the listing fails with
    /// [`RequestError::LimitReached`]. The whole listing also has one deadline, the client's
    /// [`timeout`](ClientBuilder::timeout).
    pub fn list_limits(mut self, bytes: usize, pages: usize) -> Self {
        self.settings.list.bytes = bytes;
        self.settings.list.pages = pages.max(1);
        self
    }

    /// Connects on the runtime of the enabled feature (tokio if both are) and initializes the
    /// session. Under tokio, call it inside the runtime.
    #[cfg(any(feature = "tokio", feature = "smol"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "smol"))))]
    pub async fn connect(self, target: impl Into<Target>) -> Result<Client, Error> {
        self.connect_with(runtime::default_runtime(), target).await
    }

    /// Connects on the given runtime and initializes the session: returns once the server has
    /// answered the handshake, or with why it did not.
    pub async fn connect_with(
        self,
        runtime: Arc<dyn Runtime>,
        target: impl Into<Target>,
    ) -> Result<Client, Error> {
        let mut settings = self.settings;
        if !self.closures.is_empty() {
            settings.handler = Arc::new(WithClosures {
                closures: self.closures,
                fallback: settings.handler,
            });
        }
        let policy = &self.config.policy;
        settings.list.deadline = policy.request_timeout.min(policy.max_request_time);
        let list = settings.list;
        let target = target.into();
        let transport = match &target {
            Target::Http(_) => "tcp",
            _ => "pipe",
        };
        let connection = driver::connect(
            runtime.clone(),
            target,
            self.config,
            &self.headers,
            settings,
        )
        .await?;
        Ok(Client {
            inner: Arc::new(Inner {
                connection,
                runtime,
                tickets: AtomicU64::new(0),
                list,
                transport,
            }),
        })
    }
}

/// The last handle dropped by a panicking thread: the application is failing and its process
/// may end before the driver's shutdown runs; a stdio server's group is killed at once.
impl Drop for Inner {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.connection.shared.kill_child_now();
        }
    }
}

struct Inner {
    connection: Connection,
    runtime: Arc<dyn Runtime>,
    tickets: AtomicU64,
    list: crate::options::ListLimits,
    /// `network.transport` of the spans: `tcp` (HTTP) or `pipe` (stdio).
    transport: &'static str,
}

/// An MCP client session. Cheap to clone; every clone talks to the same session. Dropping the
/// last clone closes the session in the background.
///
/// Every call completes: with the server's answer, or with the error that ended it — an HTTP
/// status, a JSON-RPC error, a timeout, the session's end. Dropping a call's future cancels
/// the request (`notifications/cancelled` is sent).
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use mcpwire::Client;
///
/// let client = Client::connect("http://127.0.0.1:3001/mcp").await?;
/// println!("connected to {}", client.server().server_info.name);
///
/// // Clones share the session: call from several tasks at once.
/// let other = client.clone();
/// let (a, b) = tokio::join!(
///     client.call_tool("echo", serde_json::json!({ "message": "one" })),
///     other.call_tool("echo", serde_json::json!({ "message": "two" })),
/// );
/// println!("{} / {}", a?.text(), b?.text());
///
/// let resource = client.read_resource("demo://resource/static/document/features.md").await?;
/// let prompt = client.get_prompt("args-prompt", serde_json::json!({ "city": "Paris" })).await?;
/// client.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.connection.server.server_info)
            .finish_non_exhaustive()
    }
}

/// A request handed to the driver: resolves to its completion, in its span. Dropped before
/// then, it cancels the request.
struct Sent<'a> {
    client: &'a Client,
    guard: CancelOnDrop<'a>,
    result: crate::oneshot::Receiver<Result<RawJson, RequestError>>,
    span: tracing::Span,
    tool_call: bool,
}

impl std::future::Future for Sent<'_> {
    type Output = Result<RawJson, Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let in_span = this.span.enter();
        let result = std::task::ready!(std::pin::Pin::new(&mut this.result).poll(cx));
        this.guard.armed = false;
        let result = this.client.reply(result);
        if let Err(e) = &result {
            tracing::debug!(error = %e, "request failed");
        }
        drop(in_span);
        match &result {
            Err(e) => crate::telemetry::record_failure(&this.span, e),
            Ok(raw) if this.tool_call && !this.span.is_disabled() && is_error(raw) => {
                crate::telemetry::record_tool_error(&this.span)
            }
            Ok(_) => {}
        }
        std::task::Poll::Ready(result)
    }
}

/// Cancels a call whose future is dropped before it completed.
struct CancelOnDrop<'a> {
    commands: &'a async_channel::Sender<Command>,
    ticket: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            drop(self.commands.try_send(Command::Cancel(self.ticket)));
        }
    }
}

impl Client {
    /// A builder, to set options before connecting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connects with the default options; see [`ClientBuilder::connect`].
    #[cfg(any(feature = "tokio", feature = "smol"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "smol"))))]
    pub async fn connect(target: impl Into<Target>) -> Result<Client, Error> {
        ClientBuilder::default().connect(target).await
    }

    /// Who the server is: its name, version, capabilities, instructions, and the protocol
    /// revision spoken with it, as the server said when the client connected. (When the
    /// client starts a new session after the server forgot its own,
    /// [`Policy::recover_expired_sessions`], what the new handshake says is not shown here.)
    pub fn server(&self) -> &ServerInfo {
        &self.inner.connection.server
    }

    /// The protocol version spoken with the server: `2026-07-28`, or the one the 2025
    /// handshake negotiated.
    pub fn protocol_version(&self) -> &str {
        &self.inner.connection.server.protocol_version
    }

    /// 2026-07-28: subscribes to the notifications `filter` names (`subscriptions/listen`)
    /// and returns once the server has acknowledged it (check
    /// [`Subscription::not_granted`] for what it refused). A stream that breaks is opened
    /// again by itself ([`SubscriptionEvent::Resubscribed`](crate::SubscriptionEvent::Resubscribed)). In the 2025 era it fails with
    /// [`RequestError::Removed`]: there, [`Client::subscribe`] and [`Client::notifications`]
    /// do this.
    pub async fn listen(&self, filter: SubscriptionFilter) -> Result<Subscription, Error> {
        let ticket = self.inner.tickets.fetch_add(1, Ordering::Relaxed);
        let (reply, rx) = async_channel::bounded(1);
        let command = Command::Listen {
            ticket,
            filter: filter.clone(),
            reply,
        };
        // Unbounded: a send never waits, and fails only once the driver is gone.
        if self.commands().try_send(command).is_err() {
            return Err(self.ended());
        }
        let mut guard = CancelOnDrop {
            commands: self.commands(),
            ticket,
            armed: true,
        };
        let listening = match rx.recv().await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                guard.armed = false;
                return Err(e.into());
            }
            Err(_) => return Err(self.ended()),
        };
        guard.armed = false;
        Ok(Subscription {
            acknowledged: listening.acknowledged,
            asked: filter,
            rx: Box::pin(listening.rx),
            held: listening.held,
            ticket,
            commands: self.commands().clone(),
        })
    }

    /// The server's notifications (logging, list changes, resource updates, ...). Every
    /// handle takes from the same queue, which holds at most
    /// [`ClientBuilder::notification_bytes`].
    pub fn notifications(&self) -> Notifications {
        self.inner.connection.notifications.clone()
    }

    /// What the client holds that grows with what the server sends, and the most it held.
    pub fn memory(&self) -> Memory {
        let shared = &self.inner.connection.shared;
        let n = &shared.notifications;
        Memory {
            send_backlog: shared.send_backlog.load(Ordering::Relaxed),
            send_backlog_peak: shared.send_backlog_peak.load(Ordering::Relaxed),
            notification_bytes: n.bytes.load(Ordering::Relaxed),
            notification_bytes_peak: n.peak.load(Ordering::Relaxed),
            notifications_dropped: n.dropped.load(Ordering::Relaxed),
            stderr_line_peak: shared.stderr_peak.load(Ordering::Relaxed),
            hosted_task_bytes: shared.hosted_task_bytes.load(Ordering::Relaxed),
            hosted_task_bytes_peak: shared.hosted_task_bytes_peak.load(Ordering::Relaxed),
        }
    }

    /// How many times the server forgot the session (an HTTP 404 to a request that carried
    /// `Mcp-Session-Id`, or a 400 that says so; 2025 era) and the client started a new one
    /// ([`Policy::recover_expired_sessions`]). The calls in flight each time failed with
    /// [`RequestError::SessionExpired`] and were not sent again; it is counted before they
    /// complete.
    pub fn sessions_expired(&self) -> usize {
        let shared = &self.inner.connection.shared;
        shared.sessions_expired.load(Ordering::Relaxed)
    }

    /// Why the session ended, if it has (at once; [`Client::closed`] waits for it).
    pub fn session_error(&self) -> Option<SessionError> {
        self.inner.connection.shared.closed()
    }

    /// Waits until the session ends, and returns why: the error that ended it, or
    /// [`SessionError::Closed`] after [`Client::close`]. For a task that watches a session
    /// while others use it:
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn example() -> Result<(), mcpwire::Error> {
    /// let client = mcpwire::Client::connect("http://127.0.0.1:3001/mcp").await?;
    /// let watcher = client.clone();
    /// tokio::spawn(async move {
    ///     let why = watcher.closed().await;
    ///     eprintln!("the MCP session ended: {why}");
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub async fn closed(&self) -> SessionError {
        let shared = &self.inner.connection.shared;
        loop {
            if let Some(error) = shared.closed() {
                return error;
            }
            let listener = shared.ended.listen();
            // Set between the first look and listening: the notification was missed.
            if let Some(error) = shared.closed() {
                return error;
            }
            listener.await;
        }
    }

    fn ended(&self) -> Error {
        self.session_error().unwrap_or(SessionError::Closed).into()
    }

    pub(crate) fn commands(&self) -> &async_channel::Sender<Command> {
        &self.inner.connection.commands
    }

    /// Sends any request and returns its raw result.
    pub async fn request_raw(
        &self,
        method: &str,
        params: Option<Value>,
        options: CallOptions,
    ) -> Result<RawJson, Error> {
        let params = params.as_ref().map(to_params).transpose()?;
        self.request_encoded(method, params, options).await
    }

    /// [`request_raw`](Self::request_raw) with the params encoded already: they are sent as
    /// they are (unless options add to their `_meta`), keys in their order.
    pub async fn request_encoded(
        &self,
        method: &str,
        params: Option<RawJson>,
        options: CallOptions,
    ) -> Result<RawJson, Error> {
        self.send(Cow::Owned(method.to_owned()), params, options)
            .await
    }

    /// A request in its span, its method borrowed when it is one of the protocol's.
    async fn send(
        &self,
        method: Cow<'static, str>,
        params: Option<RawJson>,
        options: CallOptions,
    ) -> Result<RawJson, Error> {
        self.begin(method, params, options)?.await
    }

    /// Hands a request to the driver in its span (at once: the driver's queue never waits);
    /// the request's completion is what the [`Sent`] resolves to.
    fn begin(
        &self,
        method: Cow<'static, str>,
        params: Option<RawJson>,
        options: CallOptions,
    ) -> Result<Sent<'_>, Error> {
        let session_id = self.inner.connection.shared.session_id();
        let span = crate::telemetry::request_span(
            &method,
            params.as_deref(),
            session_id.as_deref(),
            self.protocol_version(),
            self.inner.transport,
        );
        let trace = options
            .trace
            .clone()
            .or_else(|| crate::telemetry::trace_context(&span));
        let tool_call = method == "tools/call";
        let started = {
            let _in_span = span.enter();
            self.start_request(method, params, options, trace)
        };
        match started {
            Ok((ticket, result)) => Ok(Sent {
                client: self,
                guard: CancelOnDrop {
                    commands: self.commands(),
                    ticket,
                    armed: true,
                },
                result,
                span,
                tool_call,
            }),
            Err(e) => {
                crate::telemetry::record_failure(&span, &e);
                Err(e)
            }
        }
    }

    /// Hands a request to the driver: its ticket (to cancel it with), and where its one
    /// completion will come.
    pub(crate) fn start_request(
        &self,
        method: Cow<'static, str>,
        params: Option<RawJson>,
        options: CallOptions,
        trace: Option<mcpwire_core::trace::TraceContext>,
    ) -> Result<(u64, crate::oneshot::Receiver<Result<RawJson, RequestError>>), Error> {
        let (reply, result) = crate::oneshot::channel();
        let ticket = self.inner.tickets.fetch_add(1, Ordering::Relaxed);
        tracing::Span::current().record("ticket", ticket);
        let command = Command::Request {
            ticket,
            method,
            params,
            options: RequestOptions::default()
                .with_timeout(options.timeout)
                .with_progress(options.progress.is_some())
                .with_trace(trace)
                .with_task(options.task),
            progress: options.progress,
            task_status: options.task_status,
            reply,
        };
        // Unbounded: a send never waits, and fails only once the driver is gone.
        if self.commands().try_send(command).is_err() {
            return Err(self.ended());
        }
        Ok((ticket, result))
    }

    /// A request's completion as the application sees it: the driver gone without one is
    /// the session's end.
    pub(crate) fn reply(
        &self,
        result: Result<Result<RawJson, RequestError>, crate::oneshot::Closed>,
    ) -> Result<RawJson, Error> {
        match result {
            Ok(r) => r.map_err(Error::from),
            Err(_) => Err(self.ended()),
        }
    }

    /// Sends a typed request with options.
    pub async fn request_with<R: Request>(
        &self,
        params: &R,
        options: CallOptions,
    ) -> Result<R::Result, Error> {
        self.request_value(R::METHOD, to_params(params)?, options)
            .await
    }

    /// Sends a request whose params are encoded already, and parses its result as `T`.
    async fn request_value<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        params: RawJson,
        options: CallOptions,
    ) -> Result<T, Error> {
        let raw = self
            .send(Cow::Borrowed(method), Some(params), options)
            .await?;
        parse_result(&raw)
    }

    /// Sends a typed request.
    pub async fn request<R: Request>(&self, params: &R) -> Result<R::Result, Error> {
        self.request_with(params, CallOptions::default()).await
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Option<Value>) -> Result<(), Error> {
        let (reply, result) = crate::oneshot::channel();
        let command = Command::Notify {
            method: method.to_owned(),
            params,
            reply,
        };
        // Unbounded: a send never waits, and fails only once the driver is gone.
        if self.commands().try_send(command).is_err() {
            return Err(self.ended());
        }
        match result.await {
            Ok(r) => r.map_err(Error::from),
            Err(_) => Err(self.ended()),
        }
    }

    /// Follows every page of a list, within the bounds of [`ClientBuilder::list_limits`]: at
    /// most so many pages and bytes, and one deadline for the whole listing (the client's
    /// default timeout), so that a server that keeps answering pages cannot keep the caller.
    pub async fn list_all<P: Paginated>(
        &self,
        mut params: P,
    ) -> Result<Vec<<P::Result as Page>::Item>, Error> {
        let limits = self.inner.list;
        let clock = &self.inner.runtime;
        let start = clock.now();
        let mut items = Vec::new();
        let mut bytes = 0usize;
        for _ in 0..limits.pages {
            let left = limits
                .deadline
                .saturating_sub(clock.now().saturating_duration_since(start));
            if left.is_zero() {
                return Err(RequestError::Timeout {
                    after: limits.deadline,
                    skipped: 0,
                }
                .into());
            }
            let raw = self
                .send(
                    Cow::Borrowed(P::METHOD),
                    Some(to_params(&params)?),
                    CallOptions::new().timeout(left),
                )
                .await?;
            bytes = bytes.saturating_add(raw.get().len());
            if bytes > limits.bytes {
                return Err(RequestError::LimitReached {
                    what: Limit::ListBytes,
                    limit: limits.bytes,
                }
                .into());
            }
            let page: P::Result = serde_json::from_str(raw.get()).map_err(|e| {
                Error::from(RequestError::Protocol(ProtocolError::InvalidResult(
                    e.to_string().into(),
                )))
            })?;
            let next = page.next_cursor().map(str::to_owned);
            items.extend(page.into_items());
            match next {
                Some(cursor) if Some(cursor.as_str()) != params.cursor() => {
                    params.set_cursor(Some(cursor))
                }
                _ => return Ok(items),
            }
        }
        Err(RequestError::LimitReached {
            what: Limit::ListPages,
            limit: limits.pages,
        }
        .into())
    }

    /// `ping`.
    pub async fn ping(&self) -> Result<(), Error> {
        self.request(&PingParams::default()).await.map(drop)
    }

    /// One page of `tools/list`.
    pub async fn list_tools(&self, cursor: Option<String>) -> Result<ListToolsResult, Error> {
        self.request(&ListToolsParams::with_cursor(cursor)).await
    }

    /// Every tool, following all pages.
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>, Error> {
        self.list_all(ListToolsParams::default()).await
    }

    /// `tools/call`: calls the tool `name` with `arguments`, anything that serializes to a JSON
    /// object (a `#[derive(Serialize)]` struct, a map, `serde_json::json!({...})`), or to
    /// nothing (`()`, `None`, `Value::Null`) for no arguments. Await it to send it; set
    /// per-call options on it first:
    ///
    /// ```no_run
    /// # async fn example(client: mcpwire::Client) -> Result<(), mcpwire::Error> {
    /// use std::time::Duration;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Sum {
    ///     a: i64,
    ///     b: i64,
    /// }
    /// let result = client.call_tool("get-sum", Sum { a: 2, b: 40 }).await?;
    /// println!("{}", result.text());
    ///
    /// let result = client
    ///     .call_tool("trigger-long-running-operation", serde_json::json!({ "duration": 3 }))
    ///     .timeout(Duration::from_secs(10))
    ///     .on_progress(|p| eprintln!("{} of {:?}", p.progress, p.total))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A tool that fails returns `Ok` with `is_error: Some(true)`; `Err` is for the protocol
    /// and the transport, and [`ConfigError::InvalidArguments`] for arguments that are not an
    /// object (nothing is sent then).
    pub fn call_tool(
        &self,
        name: impl AsRef<str>,
        arguments: impl serde::Serialize,
    ) -> CallTool<'_> {
        CallTool {
            state: CallState::Setup {
                client: self,
                params: call_tool_params(name.as_ref(), &arguments),
                options: CallOptions::default(),
            },
        }
    }

    /// `tools/call` with params made by hand (`_meta`, fields this version does not know) and
    /// options; [`Client::call_tool`] is the usual way.
    pub async fn call_tool_with(
        &self,
        params: CallToolParams,
        options: CallOptions,
    ) -> Result<CallToolResult, Error> {
        self.request_with(&params, options).await
    }

    /// One page of `resources/list`.
    pub async fn list_resources(
        &self,
        cursor: Option<String>,
    ) -> Result<ListResourcesResult, Error> {
        self.request(&ListResourcesParams::with_cursor(cursor))
            .await
    }

    /// Every resource, following all pages.
    pub async fn list_all_resources(&self) -> Result<Vec<Resource>, Error> {
        self.list_all(ListResourcesParams::default()).await
    }

    /// One page of `resources/templates/list`.
    pub async fn list_resource_templates(
        &self,
        cursor: Option<String>,
    ) -> Result<ListResourceTemplatesResult, Error> {
        self.request(&ListResourceTemplatesParams::with_cursor(cursor))
            .await
    }

    /// Every resource template, following all pages.
    pub async fn list_all_resource_templates(&self) -> Result<Vec<ResourceTemplate>, Error> {
        self.list_all(ListResourceTemplatesParams::default()).await
    }

    /// `resources/read`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, Error> {
        self.request(&ReadResourceParams::new(uri)).await
    }

    /// `resources/subscribe`: updates arrive as `notifications/resources/updated`.
    pub async fn subscribe(&self, uri: &str) -> Result<(), Error> {
        self.request(&SubscribeParams::new(uri))
            .await
            .map(drop::<EmptyResult>)
    }

    /// `resources/unsubscribe`.
    pub async fn unsubscribe(&self, uri: &str) -> Result<(), Error> {
        self.request(&UnsubscribeParams::new(uri))
            .await
            .map(drop::<EmptyResult>)
    }

    /// One page of `prompts/list`.
    pub async fn list_prompts(&self, cursor: Option<String>) -> Result<ListPromptsResult, Error> {
        self.request(&ListPromptsParams::with_cursor(cursor)).await
    }

    /// Every prompt, following all pages.
    pub async fn list_all_prompts(&self) -> Result<Vec<Prompt>, Error> {
        self.list_all(ListPromptsParams::default()).await
    }

    /// `prompts/get` with arguments: anything that serializes to a JSON object (a
    /// `#[derive(Serialize)]` struct, a map), or to nothing for none. The protocol's
    /// arguments are strings: a number or a boolean is sent as its JSON text, a `null` is
    /// left out, and an array or object is [`ConfigError::InvalidArguments`].
    pub fn get_prompt(
        &self,
        name: &str,
        arguments: impl serde::Serialize,
    ) -> impl std::future::Future<Output = Result<GetPromptResult, Error>> + Send + '_ {
        let params = prompt_arguments(&arguments).map(|arguments| {
            let mut params = GetPromptParams::new(name);
            params.arguments = (!arguments.is_empty()).then_some(arguments);
            params
        });
        async move { self.request(&params?).await }
    }

    /// `completion/complete`.
    pub async fn complete(&self, params: CompleteParams) -> Result<CompleteResult, Error> {
        self.request(&params).await
    }

    /// `logging/setLevel`: log messages arrive as `notifications/message`.
    pub async fn set_logging_level(&self, level: LoggingLevel) -> Result<(), Error> {
        self.request(&SetLevelParams::new(level))
            .await
            .map(drop::<EmptyResult>)
    }

    /// Ends the session: outstanding calls fail with [`SessionError::Closed`], a `DELETE` is sent
    /// where the server gave a session id, a stdio server is shut down; returns when done.
    pub async fn close(&self) {
        let (done, wait) = async_channel::bounded(1);
        if self.commands().send(Command::Close(done)).await.is_ok() {
            let _ = wait.recv().await;
        }
    }
}

/// A request's params, encoded.
fn to_params<R: serde::Serialize + ?Sized>(params: &R) -> Result<RawJson, Error> {
    serde_json::value::to_raw_value(params).map_err(invalid_arguments)
}

fn invalid_arguments(e: serde_json::Error) -> Error {
    ConfigError::InvalidArguments(e.to_string().into()).into()
}

/// A `tools/call` being set up, from [`Client::call_tool`]: a future, sent when first polled
/// (`.await` it). Dropping it before then sends nothing; dropping it after cancels the call.
#[must_use = "a call is sent when it is awaited"]
pub struct CallTool<'a> {
    state: CallState<'a>,
}

enum CallState<'a> {
    Setup {
        client: &'a Client,
        /// Encoded: the tool's name and its arguments.
        params: Result<RawJson, Error>,
        options: CallOptions,
    },
    Sent(Sent<'a>),
    Done,
}

impl fmt::Debug for CallTool<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            CallState::Setup {
                params, options, ..
            } => {
                // The arguments may hold secrets: only their names are shown.
                #[derive(Default, serde::Deserialize)]
                struct Names {
                    name: Option<String>,
                    arguments: Option<BTreeMap<String, serde::de::IgnoredAny>>,
                }
                let Names { name, arguments } = params
                    .as_ref()
                    .ok()
                    .and_then(|p| serde_json::from_str::<Names>(p.get()).ok())
                    .unwrap_or_default();
                let names: Option<Vec<String>> = arguments.map(|a| a.into_keys().collect());
                f.debug_struct("CallTool")
                    .field("name", &name.as_deref().unwrap_or_default())
                    .field("arguments", &names)
                    .field("options", options)
                    .finish()
            }
            CallState::Sent(_) => f.write_str("CallTool(sent)"),
            CallState::Done => f.write_str("CallTool(done)"),
        }
    }
}

impl CallTool<'_> {
    fn options_mut(&mut self) -> Option<&mut CallOptions> {
        match &mut self.state {
            CallState::Setup { options, .. } => Some(options),
            _ => None,
        }
    }

    /// The call's deadline (default: the client's [`timeout`](ClientBuilder::timeout));
    /// progress pushes it back, up to the policy's maximum.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        if let Some(options) = self.options_mut() {
            *options = std::mem::take(options).timeout(timeout);
        }
        self
    }

    /// Asks for progress and calls `f` with each report, on the driver task: keep it quick.
    pub fn on_progress(mut self, f: impl Fn(crate::Progress) + Send + Sync + 'static) -> Self {
        if let Some(options) = self.options_mut() {
            *options = std::mem::take(options).on_progress(f);
        }
        self
    }

    /// All the call's options at once (replacing any set before).
    pub fn options(mut self, new: CallOptions) -> Self {
        if let Some(options) = self.options_mut() {
            *options = new;
        }
        self
    }
}

impl std::future::Future for CallTool<'_> {
    type Output = Result<CallToolResult, Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.state = match std::mem::replace(&mut self.state, CallState::Done) {
            CallState::Setup {
                client,
                params,
                options,
            } => {
                let sent = params.and_then(|params| {
                    client.begin(Cow::Borrowed(CallToolParams::METHOD), Some(params), options)
                });
                match sent {
                    Ok(sent) => CallState::Sent(sent),
                    Err(e) => return std::task::Poll::Ready(Err(e)),
                }
            }
            other => other,
        };
        match &mut self.state {
            CallState::Sent(call) => {
                let raw = std::task::ready!(std::pin::Pin::new(call).poll(cx));
                self.state = CallState::Done;
                std::task::Poll::Ready(raw.and_then(|raw| parse_result(&raw)))
            }
            // Polled after it completed: the caller's bug, answered without a panic.
            _ => std::task::Poll::Ready(Err(ConfigError::InvalidArguments(
                "the call was polled after it completed".into(),
            )
            .into())),
        }
    }
}

/// The params of [`Client::call_tool`], as `CallToolParams { name, arguments }` serializes,
/// encoded straight from the arguments (no `Value` between, and not parsed again to check):
/// `arguments` must encode as an object, or as `null` for none, else nothing is sent.
pub(crate) fn call_tool_params(
    name: &str,
    arguments: &impl serde::Serialize,
) -> Result<RawJson, Error> {
    struct Params<'a, A> {
        name: &'a str,
        arguments: Option<&'a A>,
    }
    impl<A: serde::Serialize> serde::Serialize for Params<'_, A> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct as _;
            let mut params = s.serialize_struct("CallToolParams", 2)?;
            if let Some(arguments) = self.arguments {
                params.serialize_field("arguments", arguments)?;
            }
            params.serialize_field("name", self.name)?;
            params.end()
        }
    }
    const AT: usize = r#"{"arguments":"#.len();
    let params = to_params(&Params {
        name,
        arguments: Some(arguments),
    })?;
    // `arguments` first, at a known offset; serde_json writes no whitespace before a value,
    // so its first byte says its kind.
    let kind = match params.get().as_bytes().get(AT) {
        Some(b'{') => return Ok(params),
        Some(b'n') => {
            return to_params(&Params::<()> {
                name,
                arguments: None,
            })
        }
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    Err(ConfigError::InvalidArguments(
        format!("tool arguments must be an object, not {kind}").into(),
    )
    .into())
}

/// A prompt's arguments as a JSON object, or `None` for none (`null`).
fn object_arguments(
    arguments: &impl serde::Serialize,
) -> Result<Option<Map<String, Value>>, Error> {
    match serde_json::to_value(arguments) {
        Ok(Value::Null) => Ok(None),
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(other) => Err(ConfigError::InvalidArguments(
            format!("prompt arguments must be an object, not {}", kind(&other)).into(),
        )
        .into()),
        Err(e) => Err(ConfigError::InvalidArguments(e.to_string().into()).into()),
    }
}

/// A prompt's arguments: an object's values as strings.
fn prompt_arguments(arguments: &impl serde::Serialize) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (name, value) in object_arguments(arguments)?.unwrap_or_default() {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(_) | Value::Number(_) => value.to_string(),
            other => {
                return Err(ConfigError::InvalidArguments(
                    format!(
                        "prompt argument {name:?} must be a string, not {}",
                        kind(&other)
                    )
                    .into(),
                )
                .into())
            }
        };
        out.insert(name, text);
    }
    Ok(out)
}

/// What kind of JSON value this is, for an error (never the value: it may be a secret).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A result parsed as `T`; a result that is not one is the server's protocol error.
fn parse_result<T: serde::de::DeserializeOwned>(raw: &RawJson) -> Result<T, Error> {
    serde_json::from_str(raw.get()).map_err(|e| {
        Error::from(RequestError::Protocol(ProtocolError::InvalidResult(
            e.to_string().into(),
        )))
    })
}

/// Whether a tool result says `isError: true` (for the span; only when one is recorded).
fn is_error(raw: &RawJson) -> bool {
    #[derive(serde::Deserialize)]
    struct Flag {
        #[serde(default, rename = "isError")]
        is_error: bool,
    }
    serde_json::from_str::<Flag>(raw.get()).is_ok_and(|f| f.is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_tool_params_are_what_call_tool_params_serializes_to() {
        let arguments: Map<String, Value> = serde_json::from_str(
            r#"{"message":"x","n":1.5e300,"nested":{"b":[1,{"c":null}],"a":"\u00e9"}}"#,
        )
        .unwrap();
        for name in ["echo", "a \"quoted\" \\ name\n", "é"] {
            for arguments in [None, Some(Map::new()), Some(arguments.clone())] {
                let mut typed = CallToolParams::new(name, Map::new());
                typed.arguments = arguments.clone();
                let raw = call_tool_params(name, &arguments).unwrap();
                let encoded: Value = serde_json::from_str(raw.get()).unwrap();
                assert_eq!(encoded, serde_json::to_value(&typed).unwrap());
            }
        }
    }

    #[test]
    fn call_tool_params_keep_the_arguments_order() {
        #[derive(serde::Serialize)]
        struct Args {
            zeta: u8,
            alpha: &'static str,
        }
        let raw = call_tool_params(
            "t",
            &Args {
                zeta: 1,
                alpha: "a",
            },
        )
        .unwrap();
        assert_eq!(
            raw.get(),
            r#"{"arguments":{"zeta":1,"alpha":"a"},"name":"t"}"#
        );
        assert_eq!(call_tool_params("t", &()).unwrap().get(), r#"{"name":"t"}"#);
    }

    #[test]
    fn call_tool_arguments_that_are_not_an_object_are_refused_by_kind() {
        let refused = |arguments: Value| match call_tool_params("t", &arguments) {
            Err(Error::Config(ConfigError::InvalidArguments(why))) => why.to_string(),
            other => panic!("{other:?}"),
        };
        for (arguments, kind) in [
            (serde_json::json!([1]), "an array"),
            (serde_json::json!("secret"), "a string"),
            (serde_json::json!(true), "a boolean"),
            (serde_json::json!(false), "a boolean"),
            (serde_json::json!(-1.5), "a number"),
            (serde_json::json!(7), "a number"),
        ] {
            let why = refused(arguments);
            assert_eq!(why, format!("tool arguments must be an object, not {kind}"));
        }
        // A map whose keys are not strings cannot be JSON: refused, not sent.
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(
            call_tool_params("t", &map),
            Err(Error::Config(ConfigError::InvalidArguments(_)))
        ));
    }
}
