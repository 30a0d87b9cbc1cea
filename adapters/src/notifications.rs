//! The server's notifications, queued for the application within a byte limit.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::Stream;
use mcpwire_core::schema::ServerNotification;

/// What the queue holds, shared by its two ends and the client's memory report.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// Bytes of the notifications waiting (as sized on the wire).
    pub(crate) bytes: AtomicUsize,
    /// The most `bytes` has been.
    pub(crate) peak: AtomicUsize,
    /// Notifications dropped because the queue was full (or is off).
    pub(crate) dropped: AtomicU64,
}

/// The driver's end: pushes within the limits, drops (and counts) what does not fit.
pub(crate) struct Queue<T = ServerNotification> {
    tx: async_channel::Sender<(T, usize)>,
    held: Arc<Held>,
    max_bytes: usize,
}

/// The application's end of a [`Queue`].
pub(crate) type Receiver<T> = async_channel::Receiver<(T, usize)>;

impl Queue {
    /// The notification queue: at most `max_count` notifications and `max_bytes` bytes;
    /// nothing is kept when either is zero.
    pub(crate) fn new(max_count: usize, max_bytes: usize) -> (Queue, Notifications) {
        let (queue, rx) = Queue::channel(max_count, max_bytes);
        let held = queue.held.clone();
        (
            queue,
            Notifications {
                rx: Box::pin(rx),
                held,
            },
        )
    }
}

impl<T> Queue<T> {
    /// A queue of at most `max_count` items and `max_bytes` bytes, and its receiving end.
    pub(crate) fn channel(max_count: usize, max_bytes: usize) -> (Queue<T>, Receiver<T>) {
        let (tx, rx) = async_channel::bounded(max_count.max(1));
        let max_bytes = if max_count == 0 { 0 } else { max_bytes };
        let queue = Queue {
            tx,
            held: Arc::new(Held::default()),
            max_bytes,
        };
        (queue, rx)
    }

    /// Queues the last item whatever the limits (it ends the queue: one more item at most).
    pub(crate) fn push_last(&self, item: T) {
        if let Ok(Some((_, size))) = self.tx.force_send((item, 0)) {
            self.held.bytes.fetch_sub(size, Ordering::AcqRel);
            self.held.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn held(&self) -> &Arc<Held> {
        &self.held
    }

    /// Queues a notification of `size` bytes, or drops it (with a warning the first time) if
    /// it would pass the limits.
    pub(crate) fn push(&self, notification: T, size: usize) {
        let held = &self.held;
        let bytes = held.bytes.load(Ordering::Acquire);
        let fits = bytes
            .checked_add(size)
            .is_some_and(|total| total <= self.max_bytes);
        if fits {
            // Counted before it can be taken, so that the count never goes below zero.
            let now = held.bytes.fetch_add(size, Ordering::AcqRel) + size;
            if self.tx.try_send((notification, size)).is_ok() {
                held.peak.fetch_max(now, Ordering::AcqRel);
                return;
            }
            held.bytes.fetch_sub(size, Ordering::AcqRel);
        }
        if held.dropped.fetch_add(1, Ordering::Relaxed) == 0 && self.max_bytes > 0 {
            tracing::warn!(
                limit = self.max_bytes,
                "a server notification was dropped: the queue is full (read Client::notifications)"
            );
        }
    }
}

/// The server's notifications (logging, list changes, resource updates, ...), from
/// [`Client::notifications`](crate::Client::notifications). Every handle takes from the same
/// queue; it ends when the session does. The queue holds at most
/// [`ClientBuilder::notification_bytes`](crate::ClientBuilder::notification_bytes): what
/// does not fit is dropped and counted in [`Memory::notifications_dropped`](crate::Memory).
/// It is a [`Stream`] too (`futures::StreamExt`, `tokio_stream::StreamExt`, ...), and
/// [`try_iter`](Notifications::try_iter) takes what is waiting without waiting.
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn example() -> Result<(), mcpwire::Error> {
/// use mcpwire::schema::ServerNotification;
///
/// let client = mcpwire::Client::connect("http://127.0.0.1:3001/mcp").await?;
/// let notifications = client.notifications();
/// tokio::spawn(async move {
///     while let Some(notification) = notifications.recv().await {
///         match notification {
///             ServerNotification::ToolListChanged => eprintln!("the tools changed"),
///             ServerNotification::LoggingMessage(log) => eprintln!("server: {:?}", log.data),
///             other => eprintln!("{other:?}"),
///         }
///     }
///     // `None`: the session ended.
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Notifications {
    // Pinned once, so that the handle is `Unpin` and polls as a stream.
    rx: Pin<Box<async_channel::Receiver<(ServerNotification, usize)>>>,
    held: Arc<Held>,
}

impl Clone for Notifications {
    fn clone(&self) -> Self {
        Notifications {
            rx: Box::pin((*self.rx).clone()),
            held: self.held.clone(),
        }
    }
}

impl Notifications {
    /// The next notification; `None` once the session has ended and the queue is empty.
    pub async fn recv(&self) -> Option<ServerNotification> {
        let (notification, size) = self.rx.recv().await.ok()?;
        self.held.bytes.fetch_sub(size, Ordering::AcqRel);
        Some(notification)
    }

    /// The next notification if one is waiting.
    pub fn try_recv(&self) -> Option<ServerNotification> {
        let (notification, size) = self.rx.try_recv().ok()?;
        self.held.bytes.fetch_sub(size, Ordering::AcqRel);
        Some(notification)
    }

    /// The notifications waiting now, without waiting for more.
    pub fn try_iter(&self) -> impl Iterator<Item = ServerNotification> + '_ {
        std::iter::from_fn(|| self.try_recv())
    }
}

impl Stream for Notifications {
    type Item = ServerNotification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.as_mut().poll_next(cx) {
            Poll::Ready(Some((notification, size))) => {
                self.held.bytes.fetch_sub(size, Ordering::AcqRel);
                Poll::Ready(Some(notification))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
