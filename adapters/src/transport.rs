//! What the transport tasks (HTTP exchanges, a child's pipes) and the handler tasks tell the
//! driver: the adapter's side of the core's `Input`, owned, so that it can cross a channel.

use bytes::Bytes;
use mcpwire_core::jsonrpc::{ErrorObject, Id};
use mcpwire_core::{ExchangeId, TransportError};
use serde_json::Value;

/// One event for the driver, which feeds it to the core.
pub(crate) enum Incoming {
    /// A response's head, with what of its body had come with it: for a small answer, all of
    /// it (`end`), so that one message says what would take three.
    ResponseHead {
        exchange: ExchangeId,
        status: http::StatusCode,
        headers: http::HeaderMap,
        data: Option<Bytes>,
        end: bool,
    },
    ResponseBody {
        exchange: ExchangeId,
        data: Bytes,
    },
    ResponseEnd {
        exchange: ExchangeId,
    },
    ExchangeFailed {
        exchange: ExchangeId,
        error: TransportError,
    },
    Stdout(Bytes),
    StdoutClosed,
    ProcessExited {
        code: Option<i32>,
    },
    WriteFailed(TransportError),
    /// The child took this many bytes of stdin.
    StdinWritten(usize),
    /// A handler's answer to a server request.
    Respond(Id, Result<Value, ErrorObject>),
    /// The user step of authorization ended: where the browser came back to, or why not.
    Redirect(Result<String, String>),
}

/// The driver's inbox.
pub(crate) type Inbox = async_channel::Sender<Incoming>;
