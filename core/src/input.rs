//! What the adapter feeds the core: transport events and the passing of time.

use crate::error::TransportError;

/// One exchange: an HTTP request and its response. Ids are allocated by the core, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeId(pub u64);

/// A transport event, handed to [`Session::handle_input`](crate::Session::handle_input).
#[derive(Debug)]
#[non_exhaustive]
pub enum Input<'a> {
    /// The status line and headers of the response to an exchange.
    ResponseHead {
        /// The exchange.
        exchange: ExchangeId,
        /// The status.
        status: http::StatusCode,
        /// The headers.
        headers: &'a http::HeaderMap,
    },
    /// A chunk of an exchange's response body, in order. Any chunking gives the same result.
    ResponseBody {
        /// The exchange.
        exchange: ExchangeId,
        /// The bytes.
        data: &'a [u8],
    },
    /// The exchange's response body ended cleanly.
    ResponseEnd {
        /// The exchange.
        exchange: ExchangeId,
    },
    /// The exchange failed in the transport (before or after its head).
    ExchangeFailed {
        /// The exchange.
        exchange: ExchangeId,
        /// What failed.
        error: TransportError,
    },
    /// Bytes the server process wrote to its stdout (stdio).
    Stdout(&'a [u8]),
    /// The server process's stdout closed (stdio).
    StdoutClosed,
    /// The server process exited (stdio). Adapters report this rather than
    /// [`Input::StdoutClosed`] when they can, since it carries the exit code.
    ProcessExited {
        /// The exit code, if the process exited normally.
        code: Option<i32>,
    },
    /// Writing to the server failed outside any exchange (stdio's stdin).
    WriteFailed(TransportError),
    /// The child took this many bytes of what [`Transmit::Stdin`](crate::Transmit::Stdin)
    /// gave (stdio): they no longer count against
    /// [`Policy::max_send_backlog`](crate::Policy::max_send_backlog). An adapter reports each
    /// write once it is done.
    StdinWritten {
        /// How many bytes.
        bytes: usize,
    },
    /// The random bytes [`Output::Random`](crate::Output::Random) asked for.
    Random(&'a [u8]),
    /// Nothing but time: deadlines up to `now` are due.
    Timeout,
}
