//! smol's TCP stream for hyper: reads that wait for readiness after a short read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// smol's TCP stream, read as tokio reads one: after a read that filled less than it was
/// given (the socket is most likely drained), the next read waits for the reactor to say the
/// socket is readable instead of trying first. async-io tries every read before it waits, and
/// hyper polls its connection's read several times an exchange: under load that was five
/// failing `recvfrom` calls a response (24,135 of 29,138 in 4,000 calls at 64 in flight,
/// `strace -c`), where tokio makes none. Waiting is safe whatever came meanwhile: the reactor
/// registers interest level-triggered, so data already there wakes the task at once.
pub(super) struct Tcp {
    io: Arc<smol::Async<std::net::TcpStream>>,
    /// The last read filled less than its buffer.
    drained: bool,
}

impl Tcp {
    pub(super) fn new(stream: smol::net::TcpStream) -> Tcp {
        Tcp {
            io: stream.into(),
            drained: false,
        }
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.drained {
            ready!(this.io.poll_readable(cx))?;
            this.drained = false;
        }
        let n = ready!(Pin::new(&mut &*this.io).poll_read(cx, buf))?;
        if n > 0 && n < buf.len() {
            // The reactor's event that said this data was there is still recorded, and the
            // next wait would take it for a new one (and try a read that fails): taken now,
            // and the wait for the next one registered (the reactor is level-triggered, so
            // data that came meanwhile wakes it at once: nothing is missed either way).
            if this.io.poll_readable(cx).is_ready() {
                let _ = this.io.poll_readable(cx);
            }
            this.drained = true;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // As smol's own stream closes: the write half, the socket stays for reading.
        Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// After a short read the stream waits for the reactor, and still reads what comes next,
    /// what came before it looked (already there at the next read), and the end.
    #[test]
    fn a_drained_stream_waits_and_still_reads_what_comes_and_the_end() {
        smol::block_on(async {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let at = listener.local_addr().unwrap();
            let client = smol::net::TcpStream::connect(at).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut tcp = Tcp::new(client);
            let mut buf = [0u8; 16];
            server.write_all(b"abc").await.unwrap();
            assert_eq!(tcp.read(&mut buf).await.unwrap(), 3);
            assert!(tcp.drained);
            // Nothing more yet: the read waits (no data, no error).
            assert!(futures_lite::future::poll_once(tcp.read(&mut buf))
                .await
                .is_none());
            server.write_all(b"defg").await.unwrap();
            let n = smol::future::or(async { tcp.read(&mut buf).await.unwrap() }, async {
                smol::Timer::after(std::time::Duration::from_secs(5)).await;
                usize::MAX
            })
            .await;
            assert_eq!(&buf[..n], b"defg");
            // Data that is there before the next read looks is read at once.
            server.write_all(b"hi").await.unwrap();
            smol::Timer::after(std::time::Duration::from_millis(50)).await;
            assert_eq!(tcp.read(&mut buf).await.unwrap(), 2);
            assert_eq!(&buf[..2], b"hi");
            // A full buffer is not taken for drained.
            server.write_all(&[7u8; 16]).await.unwrap();
            smol::Timer::after(std::time::Duration::from_millis(50)).await;
            assert_eq!(tcp.read(&mut buf).await.unwrap(), 16);
            assert!(!tcp.drained);
            drop(server);
            assert_eq!(tcp.read(&mut buf).await.unwrap(), 0, "the end");
        });
    }
}
