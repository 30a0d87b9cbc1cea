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
use tokio::sync::mpsc;

use crate::handler::ResponseBody;
use crate::Shared;

/// The writing end of an open event stream. Dropping every `Sse` of a stream ends it.
#[derive(Clone)]
pub(crate) struct Sse {
    tx: mpsc::UnboundedSender<Bytes>,
}

/// The response body: events as they are written; counted in `Stats::open_streams`.
struct SseBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    shared: Arc<Shared>,
}

impl Sse {
    /// A new stream and the 200 `text/event-stream` response that carries it.
    pub(crate) fn open(shared: &Arc<Shared>) -> (Sse, Response<ResponseBody>) {
        let (tx, rx) = mpsc::unbounded_channel();
        shared.lock().stats.open_streams += 1;
        let body = SseBody {
            rx,
            shared: shared.clone(),
        };
        let response = Response::builder()
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(body.boxed())
            .expect("valid SSE response");
        (Sse { tx }, response)
    }

    /// Write one event carrying `message` as its data; `false` if the client has gone.
    pub(crate) fn send(&self, id: Option<&str>, message: &Value) -> bool {
        let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
        self.raw(format!("{id}data: {message}\n\n"))
    }

    /// Write raw event-stream text; `false` if the client has gone.
    pub(crate) fn raw(&self, text: String) -> bool {
        self.tx.send(Bytes::from(text)).is_ok()
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
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        self.shared.lock().stats.open_streams -= 1;
    }
}
