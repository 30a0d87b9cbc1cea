//! Server-sent event streams as hyper response bodies.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::Response;
use serde_json::Value;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::handler::ResponseBody;
use crate::Shared;

/// How many bytes written with [`Sse::paced`] may wait unread in a stream's queue.
const PACED_BUDGET: usize = 64 * 1024;

/// A queued piece of the stream; a paced one holds its share of the budget until it is taken.
type Chunk = (Bytes, Option<OwnedSemaphorePermit>);

/// The writing end of an open event stream. Dropping every `Sse` of a stream ends it.
#[derive(Clone)]
pub(crate) struct Sse {
    tx: mpsc::UnboundedSender<Chunk>,
    /// Permits for the bytes of paced chunks still queued.
    budget: Arc<Semaphore>,
}

/// The response body: events as they are written; counted in `Stats::open_streams`.
struct SseBody {
    rx: mpsc::UnboundedReceiver<Chunk>,
    shared: Arc<Shared>,
}

impl Sse {
    /// A new stream and the 200 `text/event-stream` response that carries it.
    pub(crate) fn open(shared: &Arc<Shared>) -> (Sse, Response<ResponseBody>) {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let stats = &mut shared.lock().stats;
            stats.open_streams += 1;
            stats.max_open_streams = stats.max_open_streams.max(stats.open_streams);
        }
        let body = SseBody {
            rx,
            shared: shared.clone(),
        };
        let response = Response::builder()
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(body.boxed())
            .expect("valid SSE response");
        let budget = Arc::new(Semaphore::new(PACED_BUDGET));
        (Sse { tx, budget }, response)
    }

    /// Write one event carrying `message` as its data; `false` if the client has gone.
    pub(crate) fn send(&self, id: Option<&str>, message: &Value) -> bool {
        let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
        self.raw(format!("{id}data: {message}\n\n"))
    }

    /// Write raw event-stream text; `false` if the client has gone.
    pub(crate) fn raw(&self, text: String) -> bool {
        self.tx.send((Bytes::from(text), None)).is_ok()
    }

    /// Write raw event-stream bytes once the client has taken enough of what was queued before
    /// (at most [`PACED_BUDGET`] bytes of paced chunks wait unread); `false` if the client has
    /// gone.
    pub(crate) async fn paced(&self, chunk: Bytes) -> bool {
        let permits = chunk.len().clamp(1, PACED_BUDGET) as u32;
        let permit = tokio::select! {
            permit = self.budget.clone().acquire_many_owned(permits) => permit,
            _ = self.closed() => return false,
        };
        let permit = permit.expect("the budget is never closed");
        self.tx.send((chunk, Some(permit))).is_ok()
    }

    /// Resolves when the client has gone (the response body was dropped).
    pub(crate) async fn closed(&self) {
        self.tx.closed().await
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|(bytes, _permit)| Ok(Frame::data(bytes))))
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        self.shared.lock().stats.open_streams -= 1;
    }
}
