//! The smol runtime: its types already speak `futures-io`.

use std::io;
use std::process::ExitStatus;
use std::time::Instant;

use super::smol_tcp::Tcp;
use super::{BoxFuture, Child, Command, Io, Process, Runtime};

/// Runs the client on smol's global executor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

impl Runtime for Smol {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        smol::spawn(task).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            smol::Timer::at(deadline).await;
        })
    }

    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Io>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(Tcp::new(stream)) as Box<dyn Io>)
        })
    }

    fn spawn_process(&self, command: &Command) -> io::Result<Process> {
        use smol::process::Stdio;
        // async-process resets the pipes of a converted command unless they are set again.
        let mut child = smol::process::Command::from(super::std_command(command))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pipe = || io::Error::other("pipe missing");
        Ok(Process {
            stdin: Box::new(child.stdin.take().ok_or_else(pipe)?),
            stdout: Box::new(child.stdout.take().ok_or_else(pipe)?),
            stderr: Box::new(child.stderr.take().ok_or_else(pipe)?),
            child: Box::new(SmolChild(child)),
        })
    }
}

/// Runs the client on the application's own smol [`Executor`](smol::Executor): every task
/// (the driver, each exchange) is spawned there, so an application that runs that executor on
/// the thread that also waits for its calls (`smol::block_on(executor.run(...))`) keeps the
/// client on one thread, where smol's global executor runs tasks on threads of its own.
/// (`adapters/benches/load.rs` measures both as `mcpwire-smol` and `mcpwire-smol-local`; on
/// the project's 2-core VM neither is consistently cheaper: most of smol's extra CPU is the
/// reactor's system calls, not the thread a task runs on.)
///
/// ```no_run
/// # async fn run() -> Result<(), mcpwire::Error> {
/// use std::sync::Arc;
/// let executor = Arc::new(smol::Executor::new());
/// let runtime = Arc::new(mcpwire::runtime::SmolExecutor::new(executor.clone()));
/// smol::block_on(executor.run(async {
///     let client = mcpwire::Client::builder()
///         .connect_with(runtime, "http://127.0.0.1:8080/mcp")
///         .await?;
///     let tools = client.list_all_tools().await?;
///     println!("{} tools", tools.len());
///     Ok::<_, mcpwire::Error>(())
/// }))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SmolExecutor {
    executor: std::sync::Arc<smol::Executor<'static>>,
}

impl SmolExecutor {
    /// A runtime that spawns the client's tasks on `executor` (which the application runs).
    pub fn new(executor: std::sync::Arc<smol::Executor<'static>>) -> Self {
        SmolExecutor { executor }
    }
}

impl Runtime for SmolExecutor {
    fn now(&self) -> Instant {
        Smol.now()
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.executor.spawn(task).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Smol.sleep_until(deadline)
    }

    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Io>>> {
        Smol.connect(host, port)
    }

    fn spawn_process(&self, command: &Command) -> io::Result<Process> {
        Smol.spawn_process(command)
    }
}

struct SmolChild(smol::process::Child);

impl Child for SmolChild {
    fn id(&self) -> Option<u32> {
        Some(self.0.id())
    }

    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>> {
        Box::pin(self.0.status())
    }

    fn kill(&mut self) -> io::Result<()> {
        self.0.kill()
    }
}
