//! The smol runtime: its types already speak `futures-io`.

use std::io;
use std::process::ExitStatus;
use std::time::Instant;

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
            Ok(Box::new(stream) as Box<dyn Io>)
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
