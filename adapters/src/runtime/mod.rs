//! What the driver needs from an async runtime: spawn, a timer, a TCP connect and a child
//! process. Everything above this trait (HTTP, TLS, stdio pumping, the driver) is shared;
//! each runtime file only translates its runtime's types to `futures-io`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitStatus;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "smol")]
mod smol_tcp;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub use self::smol::{Smol, SmolExecutor};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use self::tokio::Tokio;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A byte stream both ways (a TCP connection).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A spawned server process, its pipes translated to `futures-io`.
pub struct Process {
    /// Its stdin.
    pub stdin: Box<dyn AsyncWrite + Send + Unpin>,
    /// Its stdout.
    pub stdout: Box<dyn AsyncRead + Send + Unpin>,
    /// Its stderr.
    pub stderr: Box<dyn AsyncRead + Send + Unpin>,
    /// The process itself.
    pub child: Box<dyn Child>,
}

/// A running child process.
pub trait Child: Send {
    /// Its process id, while it runs.
    fn id(&self) -> Option<u32>;
    /// Waits for it to exit.
    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>>;
    /// Kills it (SIGKILL).
    fn kill(&mut self) -> io::Result<()>;
}

/// How to start a server process: the program, its arguments, environment variables to set
/// (on top of the client's own environment) and the directory to run it in.
///
/// ```
/// use mcpwire::runtime::Command;
/// use mcpwire::Target;
///
/// let command = Command::new("npx")
///     .args(["-y", "@modelcontextprotocol/server-everything"])
///     .env("LOG_LEVEL", "debug")
///     .current_dir("/tmp");
/// let target = Target::from(command);
/// ```
/// `Debug` shows the names of `env`, never the values (they are often secrets).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Command {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// The directory to run it in (default: the client's).
    pub current_dir: Option<std::path::PathBuf>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect();
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &env)
            .field("current_dir", &self.current_dir)
            .finish()
    }
}

impl Command {
    /// Runs `program` (looked up on `PATH` unless it is a path).
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            ..Command::default()
        }
    }

    /// With one more argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// With more arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// With the environment variable `key` set to `value`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Run in `dir`.
    pub fn current_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }
}

/// An async runtime the client can run on: `Tokio` (feature `tokio`) or `Smol` (feature
/// `smol`), or one of the application's.
pub trait Runtime: fmt::Debug + Send + Sync + 'static {
    /// The runtime's clock: the one instant every deadline is measured from (tokio's paused
    /// test clock included).
    fn now(&self) -> Instant;
    /// Runs a task in the background.
    fn spawn(&self, task: BoxFuture<'static, ()>);
    /// Completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
    /// Opens a TCP connection.
    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Io>>>;
    /// Starts a process with piped stdin, stdout and stderr.
    fn spawn_process(&self, command: &Command) -> io::Result<Process>;
}

/// The runtime of the enabled feature.
#[cfg(all(feature = "tokio", not(feature = "smol")))]
pub(crate) fn default_runtime() -> std::sync::Arc<dyn Runtime> {
    std::sync::Arc::new(Tokio::current())
}

/// With both features (features unify across a workspace): tokio inside a tokio runtime,
/// smol anywhere else, so that `Client::connect` works inside `smol::block_on` too.
#[cfg(all(feature = "tokio", feature = "smol"))]
pub(crate) fn default_runtime() -> std::sync::Arc<dyn Runtime> {
    match ::tokio::runtime::Handle::try_current() {
        Ok(handle) => std::sync::Arc::new(Tokio::new(handle)),
        Err(_) => std::sync::Arc::new(Smol),
    }
}

/// The runtime of the enabled feature (tokio when both are enabled).
#[cfg(all(feature = "smol", not(feature = "tokio")))]
pub(crate) fn default_runtime() -> std::sync::Arc<dyn Runtime> {
    std::sync::Arc::new(Smol)
}

/// The instant `d` from the runtime's now, saturating: no configured duration can overflow
/// the clock.
pub(crate) fn after(runtime: &dyn Runtime, d: std::time::Duration) -> Instant {
    let now = runtime.now();
    let mut d = d;
    loop {
        if let Some(at) = now.checked_add(d) {
            return at;
        }
        d /= 2;
    }
}

/// The `std` command for `command`: piped stdio, its environment, and a process group of its
/// own, so that the whole group can be signalled. The runtime files wrap it in their own type.
pub(crate) fn std_command(command: &Command) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut std = std::process::Command::new(&command.program);
    std.args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(dir) = &command.current_dir {
        std.current_dir(dir);
    }
    std
}

/// Races `future` against `limit` on `runtime`; `None` if the time ran out first.
pub(crate) async fn timeout<T>(
    runtime: &dyn Runtime,
    limit: std::time::Duration,
    future: impl Future<Output = T>,
) -> Option<T> {
    let timer = runtime.sleep_until(after(runtime, limit));
    futures_lite::future::or(async { Some(future.await) }, async {
        timer.await;
        None
    })
    .await
}
