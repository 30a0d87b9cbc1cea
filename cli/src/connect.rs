//! Where the server is (a URL, `-- <command>`, or `--config <file> <name>`), and connecting
//! to it with the common options.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use mcpwire::config::McpConfig;
use mcpwire::{Client, Error, Handler, NoHandler, Policy, RequestError, SessionError, Target};

use crate::exit::Failure;
use crate::Common;

/// How many of a stdio server's last stderr lines are kept, to show if it dies.
const STDERR_TAIL: usize = 20;

/// How long connecting may take without `--connect-timeout`: the MCP handshake, a stdio
/// server's start (`npx` fetching a package) included. `--timeout` does not change it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// `<SERVER>` for commands that take nothing else: a URL, `-- <command> [args...]`, or
/// `--config <file> <name>`.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// The server's Streamable HTTP endpoint (http:// or https://); with --config, the
    /// server's name in the file.
    #[arg(value_name = "URL | NAME")]
    pub url: Option<String>,
    /// An MCP config file (the `mcpServers` JSON of Claude Desktop, Cursor, VS Code's
    /// `servers`): connect to the server it names.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Or a stdio server to run, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `[ARGS]... <SERVER>` for `call` and `get`: arguments, then a URL or `-- <command>`.
#[derive(Args, Debug, Clone)]
pub struct ServerWithArgs {
    /// Arguments, as one JSON object or key=value pairs; then the server's URL, unless a
    /// command follows `--`.
    #[arg(value_name = "ARGS | URL")]
    pub words: Vec<String>,
    /// An MCP config file (the `mcpServers` JSON of Claude Desktop, Cursor, VS Code's
    /// `servers`): connect to the server named by the last word.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Or a stdio server to run, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// A server to connect to: where it is, and the headers its config file entry adds (secret:
/// never shown).
#[derive(Clone)]
pub struct Server {
    /// Where it is.
    pub target: Target,
    /// The headers of its config file entry.
    pub headers: Vec<(String, String)>,
    /// Its config file entry says `"type": "sse"`: the legacy HTTP+SSE transport.
    pub legacy_sse: bool,
}

impl From<Target> for Server {
    fn from(target: Target) -> Server {
        Server {
            target,
            headers: Vec::new(),
            legacy_sse: false,
        }
    }
}

/// The server `name` of the config file `path`.
fn from_config(path: &Path, name: Option<&str>, command: &[String]) -> Result<Server, Failure> {
    if !command.is_empty() {
        return Err(Failure::Usage(
            "give either --config <file> <name> or `-- <command>`, not both".into(),
        ));
    }
    let Some(name) = name else {
        return Err(Failure::Usage(format!(
            "--config {} needs the name of a server in it",
            path.display()
        )));
    };
    let config = McpConfig::from_path(path).map_err(|e| Failure::Usage(e.to_string()))?;
    let entry = config
        .server(name)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(Server {
        target: entry.target(),
        headers: entry.headers().to_vec(),
        legacy_sse: entry.legacy_sse(),
    })
}

impl ServerArgs {
    /// The server.
    pub fn target(&self) -> Result<Server, Failure> {
        if let Some(path) = &self.config {
            return from_config(path, self.url.as_deref(), &self.command);
        }
        target(self.url.as_deref(), &self.command).map(Server::from)
    }

    /// The URL of an HTTP server: given, or of the config file's entry; `None` for a command.
    pub fn http_url(&self) -> Result<Option<String>, Failure> {
        if self.config.is_some() {
            return Ok(match self.target()?.target {
                Target::Http(url) => Some(url),
                _ => None,
            });
        }
        Ok(self.url.clone().filter(|_| self.command.is_empty()))
    }
}

impl ServerWithArgs {
    /// The server, and the words before it.
    pub fn split(&self) -> Result<(Server, &[String]), Failure> {
        if let Some(path) = &self.config {
            let (name, rest) = match self.words.split_last() {
                Some((name, rest)) => (Some(name.as_str()), rest),
                None => (None, &self.words[..]),
            };
            return Ok((from_config(path, name, &self.command)?, rest));
        }
        if !self.command.is_empty() {
            return Ok((target(None, &self.command)?.into(), &self.words));
        }
        match self.words.split_last() {
            Some((url, rest)) if is_url(url) => Ok((target(Some(url), &[])?.into(), rest)),
            _ => Err(no_server()),
        }
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn no_server() -> Failure {
    Failure::Usage(
        "no server given: end the command with an http(s) URL, `-- <command> [args...]` or \
         `--config <file> <name>`"
            .into(),
    )
}

fn target(url: Option<&str>, command: &[String]) -> Result<Target, Failure> {
    match (url, command.split_first()) {
        (Some(_), Some(_)) => Err(Failure::Usage(
            "give either a URL or `-- <command>`, not both".into(),
        )),
        (Some(url), None) if is_url(url) => Ok(Target::http(url)),
        (Some(other), None) => Err(Failure::Usage(format!(
            "{other:?} is not an http(s) URL; to run a stdio server, put its command after `--`"
        ))),
        (None, Some((program, args))) => Ok(Target::stdio(program.clone(), args.iter().cloned())),
        (None, None) => Err(no_server()),
    }
}

/// A human name of the target, for messages.
pub fn describe(target: &Target) -> String {
    match target {
        Target::Http(url) => url.clone(),
        Target::Stdio(command) => {
            let mut words = vec![command.program.clone()];
            words.extend(command.args.iter().cloned());
            words.join(" ")
        }
    }
}

/// The last lines a stdio server wrote to stderr.
#[derive(Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: &str) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == STDERR_TAIL {
            lines.pop_front();
        }
        lines.push_back(line.to_owned());
    }

    /// `failure`, with these lines if the server process died (the client reports the exit
    /// after the last stderr line).
    async fn attach(&self, failure: Failure) -> Failure {
        match failure {
            Failure::Mcp {
                doing,
                error:
                    error @ Error::Request(RequestError::Session(SessionError::ProcessExited { .. })),
                ..
            } => {
                let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
                Failure::Mcp {
                    doing,
                    error,
                    stderr: lines.drain(..).collect(),
                    hint: None,
                }
            }
            other => other,
        }
    }
}

/// A connected client and what is needed to report its failures well.
pub struct Connection {
    /// The client.
    pub client: Client,
    stderr: StderrTail,
    /// The server's URL (HTTP), for the `mcpwire login` hint.
    url: Option<String>,
    /// Ctrl-C closes the session while the connection lives.
    _interrupt: crate::interrupt::Open,
}

impl Connection {
    /// A failure of `doing`.
    pub fn failure(&self, doing: impl Into<String>, error: Error) -> Failure {
        let failure = Failure::mcp(doing, error);
        match &self.url {
            Some(url) => failure.with_login_hint(url),
            None => failure,
        }
    }

    /// Prints `value` as the command's JSON output, with the protocol revision spoken
    /// (`"protocolVersion"`, beside the value's own fields when it is an object).
    pub fn print_json(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let mut value = serde_json::to_value(value).map_err(std::io::Error::other)?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert(
                "protocolVersion".into(),
                self.client.protocol_version().into(),
            );
        }
        crate::print::json(&value)
    }

    /// `failure`, with the server's last stderr lines if it died.
    pub async fn explain(&self, failure: Failure) -> Failure {
        self.stderr.attach(failure).await
    }
}

/// Connects with the common options (headers, timeout, stderr) and `handler`; to an HTTP
/// server with the credentials `mcpwire login` kept (refreshed when they can be).
pub async fn connect_with(
    common: &Common,
    server: impl Into<Server>,
    handler: impl Handler,
) -> Result<Connection, Failure> {
    let server = server.into();
    // OAuth only once `mcpwire login` kept credentials: without them the user is needed,
    // and the error says to run it.
    let oauth = match (&server.target, common.machine.oauth()?) {
        (Target::Http(_), Some(machine)) => Some(machine),
        (Target::Http(url), None) if crate::login::logged_in(url) => {
            Some(crate::login::non_interactive(url))
        }
        _ => None,
    };
    connect(common, server, handler, oauth).await
}

/// Connects with the common options and `oauth` (`mcpwire login`).
pub async fn connect_with_oauth(
    common: &Common,
    target: Target,
    oauth: mcpwire::auth::OAuth,
) -> Result<Connection, Failure> {
    connect(common, target.into(), NoHandler, Some(oauth)).await
}

async fn connect(
    common: &Common,
    server: Server,
    handler: impl Handler,
    oauth: Option<mcpwire::auth::OAuth>,
) -> Result<Connection, Failure> {
    // The commands never read the server's notifications: keep none, rather than letting a
    // chatty server fill a queue nobody drains.
    let mut builder = Client::builder()
        .client_info("mcpwire-cli", env!("CARGO_PKG_VERSION"))
        .notification_capacity(0)
        .handler(handler);
    if let Some(oauth) = oauth {
        builder = builder.oauth(oauth);
    }
    let Server {
        target,
        headers,
        legacy_sse,
    } = server;
    // The config file's headers, then --header's.
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    for header in &common.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            Failure::Usage(format!(
                "--header {header:?} is not of the form `Name: value`"
            ))
        })?;
        builder = builder.header(name.trim(), value.trim());
    }
    // Calls have --timeout; connecting (the handshake) --connect-timeout, whatever --timeout.
    let mut policy = Policy::default()
        .with_handshake_timeout(Some(common.connect_timeout.unwrap_or(CONNECT_TIMEOUT)));
    if let Some(timeout) = common.timeout {
        policy = policy.with_request_timeout(timeout);
    }
    builder = builder.policy(policy);
    if common.sse || legacy_sse {
        builder = builder.legacy_sse();
    }
    if let Some(timeout) = common.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    let stderr = StderrTail::default();
    let tail = stderr.clone();
    let verbose = common.verbose > 0;
    builder = builder.on_stderr(move |line| {
        if verbose {
            let _ = crate::print::err(&format!("[server] {line}"));
        }
        tail.push(line);
    });
    let name = describe(&target);
    let url = match &target {
        Target::Http(url) => Some(url.clone()),
        Target::Stdio(_) => None,
    };
    match builder.connect(target).await {
        Ok(client) => Ok(Connection {
            _interrupt: crate::interrupt::Open::new(&client),
            client,
            stderr,
            url,
        }),
        Err(error) => {
            let mut failure = Failure::mcp(format!("connecting to {name}"), error);
            if let Some(url) = &url {
                failure = failure.with_login_hint(url);
            }
            Err(stderr.attach(failure).await)
        }
    }
}

/// Connects, runs `body`, and closes the session (shutting a stdio server down) whatever
/// `body` returned.
pub async fn with_client<T, F, Fut>(
    common: &Common,
    target: impl Into<Server>,
    body: F,
) -> Result<T, Failure>
where
    F: FnOnce(Arc<Connection>) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let connection = Arc::new(connect_with(common, target, NoHandler).await?);
    let result = match body(connection.clone()).await {
        Err(failure) => Err(connection.explain(failure).await),
        ok => ok,
    };
    connection.client.close().await;
    result
}
