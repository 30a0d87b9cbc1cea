//! The transports: what the session knows of each wire. A transport frames and classifies:
//! it turns the adapter's inputs into messages to read and failures for the policy to judge,
//! and the session's sends into [`Transmit`]s. It never reads or writes the request table,
//! the timers or the output queue; everything it has to say it queues as a [`Happened`],
//! which the session takes one at a time ([`Http::poll`], [`Stdio::poll`]), so that what the
//! session does with one (failing a request, aborting its exchange) is seen by the next.

pub(crate) mod http;
pub(crate) mod stdio;

pub(crate) use self::http::Http;
pub(crate) use self::stdio::Stdio;

use std::ops::Range;

use crate::input::ExchangeId;
use crate::output::{RequestId, Transmit};
use crate::policy::Failure;

/// A message's text: checked as UTF-8 already (an SSE event's data), or bytes as they came.
#[derive(Debug)]
pub(crate) enum Text {
    /// Checked: decoded without checking again.
    Checked(String),
    /// Not checked yet.
    Bytes(Vec<u8>),
}

impl Text {
    /// The text, when it is checked UTF-8.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Text::Checked(s) => Some(s),
            Text::Bytes(_) => None,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Checked(s) => s.as_bytes(),
            Text::Bytes(b) => b,
        }
    }

    /// The bytes it holds on the heap.
    pub(crate) fn capacity(&self) -> usize {
        match self {
            Text::Checked(s) => s.capacity(),
            Text::Bytes(b) => b.capacity(),
        }
    }
}

/// Something a transport has to tell the session, in the order it happened.
#[derive(Debug)]
pub(crate) enum Happened {
    /// A JSON text that should hold JSON-RPC: a whole JSON body (`whole_body`), an SSE
    /// event's data, or a stdout line.
    Message {
        /// The text.
        text: Text,
        /// The request whose exchange carried it, if it is still carried there.
        origin: Option<RequestId>,
        /// The exchange it came on (HTTP).
        exchange: Option<ExchangeId>,
        /// It is a whole JSON body: the request's answer must be in it.
        whole_body: bool,
    },
    /// The messages one chunk of an event stream completed (two or more), in one buffer: a
    /// [`Message`](Happened::Message) each, `ranges[next..]` of `all`, none a whole body. It
    /// stays in the queue, at the front, while the session takes its messages one by one (so
    /// that whatever would drop or change a queued message does so to the ones it has left).
    Messages {
        /// The messages' texts, one after the other.
        all: String,
        /// Where each is in `all` (at character boundaries).
        ranges: Vec<Range<usize>>,
        /// The next to take.
        next: usize,
        /// The request whose exchange carried them, if it is still carried there.
        origin: Option<RequestId>,
        /// The exchange they came on.
        exchange: ExchangeId,
    },
    /// Something failed; the policy says what it does.
    Failed {
        /// What, classified.
        failure: Failure,
        /// The request it concerns, if any.
        request: Option<RequestId>,
        /// The exchange it came on (HTTP).
        exchange: Option<ExchangeId>,
    },
    /// Send this.
    Transmit(Transmit),
    /// The adapter must drop this exchange.
    Abort(ExchangeId),
    /// This exchange is over (ended, failed or aborted): nothing more comes for it.
    Done(ExchangeId),
    /// The answer to one of the OAuth flow's requests, whole (its body cut past the flow's
    /// limit, which the flow then refuses).
    AuthResponse {
        /// The flow's request.
        request: crate::auth::RequestId,
        /// Its status.
        status: ::http::StatusCode,
        /// Its headers.
        headers: Box<::http::HeaderMap>,
        /// Its body.
        body: Vec<u8>,
    },
    /// One of the OAuth flow's requests failed in the transport.
    AuthFailed {
        /// The flow's request.
        request: crate::auth::RequestId,
        /// What failed.
        error: crate::TransportError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_counts_its_capacity_and_is_read_as_what_it_is() {
        let checked = Text::Checked(String::with_capacity(40));
        assert_eq!((checked.as_str(), checked.capacity()), (Some(""), 40));
        let bytes = Text::Bytes(b"{}".to_vec());
        assert_eq!((bytes.as_str(), bytes.as_bytes()), (None, &b"{}"[..]));
    }
}
