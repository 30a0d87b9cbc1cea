//! # mcpwire-core
//!
//! A Model Context Protocol client as a pure state machine: no IO, no executor, no clock, no
//! threads. See [`Session`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
#[cfg(test)]
mod chunkings;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod input;
pub mod jsonrpc;
// The decoders are the core's own; the fuzz targets and benches reach them through the
// `fuzzing` feature.
#[cfg(feature = "fuzzing")]
pub mod lines;
#[cfg(not(feature = "fuzzing"))]
mod lines;
pub mod output;
pub mod policy;
pub mod schema;
mod session;
#[cfg(feature = "fuzzing")]
pub mod sse;
#[cfg(not(feature = "fuzzing"))]
mod sse;
mod transport;

pub use error::{
    HttpError, Limit, ProtocolError, RequestError, SessionError, TransportError, TransportErrorKind,
};
pub use input::{ExchangeId, Input};
pub use output::{Event, Output, RequestId, Transmit, Warning};
pub use policy::{Effect, ExchangeKind, Failure, Policy, Scope, StreamState};
pub use session::{
    Config, RequestOptions, Session, TimerReason, LATEST_PROTOCOL_VERSION,
    SUPPORTED_PROTOCOL_VERSIONS,
};
