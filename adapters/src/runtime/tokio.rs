//! The tokio runtime: tokio's types, seen through tokio-util's `futures-io` compat layer.

use std::io;
use std::process::ExitStatus;
use std::time::Instant;

use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use super::{BoxFuture, Child, Command, Io, Process, Runtime};

/// Runs the client on tokio. Tasks go to the runtime that was current when the client was
/// created, so a handle may be used (and dropped) from any thread.
#[derive(Clone, Debug)]
pub struct Tokio(tokio::runtime::Handle);

impl Tokio {
    /// The runtime of the calling context.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn current() -> Self {
        Tokio(tokio::runtime::Handle::current())
    }

    /// A given runtime.
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        Tokio(handle)
    }
}

impl Runtime for Tokio {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(self.0.spawn(task));
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        let _guard = self.0.enter();
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn connect(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Io>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host, port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream.compat()) as Box<dyn Io>)
        })
    }

    fn spawn_process(&self, command: &Command) -> io::Result<Process> {
        let _guard = self.0.enter();
        let mut child = tokio::process::Command::from(super::std_command(command))
            .kill_on_drop(true)
            .spawn()?;
        let pipe = || io::Error::other("pipe missing");
        Ok(Process {
            stdin: Box::new(child.stdin.take().ok_or_else(pipe)?.compat_write()),
            stdout: Box::new(child.stdout.take().ok_or_else(pipe)?.compat()),
            stderr: Box::new(child.stderr.take().ok_or_else(pipe)?.compat()),
            child: Box::new(TokioChild(child)),
        })
    }
}

struct TokioChild(tokio::process::Child);

impl Child for TokioChild {
    fn id(&self) -> Option<u32> {
        self.0.id()
    }

    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>> {
        Box::pin(self.0.wait())
    }

    fn kill(&mut self) -> io::Result<()> {
        self.0.start_kill()
    }
}
