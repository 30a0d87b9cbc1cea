//! # mcpwire-core
//!
//! **Writing an application? Use [`mcpwire`](https://docs.rs/mcpwire)**, the async client
//! that drives this core over tokio or smol (`Client::connect(url_or_command)`, then
//! `client.call_tool(...)`). It re-exports this crate's types as `mcpwire::core` and
//! `mcpwire::schema`.
//!
//! This crate is a Model Context Protocol client as a pure state machine: no IO, no executor,
//! no clock, no threads, no randomness. See [`Session`]. It is for those who move the bytes
//! themselves.
//!
//! Inside, [`Session`] owns smaller parts and calls them: the request table, the lifecycle (the
//! protocol revision), a transport (Streamable HTTP or stdio), the timers, and the failure
//! [`policy`], where every row of the failure table is data: a classified [`Failure`] in, an
//! [`Effect`] out. Errors come in two layers: a [`SessionError`] ends the session (delivered
//! once in [`Event::Closed`], returned by every later command), and a [`RequestError`] fails one
//! request (or wraps the session's error: [`RequestError::Session`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
#[cfg(test)]
mod chunkings;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod ids;
pub mod input;
pub mod jsonrpc;
pub mod modern;
// The decoders are the core's own; the fuzz targets and benches reach them through the
// `fuzzing` feature.
#[cfg(feature = "fuzzing")]
pub mod lines;
#[cfg(not(feature = "fuzzing"))]
mod lines;
mod name;
pub mod output;
pub mod policy;
pub mod record;
pub mod schema;
mod session;
pub mod skills;
#[cfg(feature = "fuzzing")]
pub mod sse;
#[cfg(not(feature = "fuzzing"))]
mod sse;
pub mod trace;
mod transport;

pub use error::{
    HttpError, LegacySseError, Limit, ProtocolError, RedirectError, RedirectRefusal, RequestError,
    SessionError, TaskError, TransportError, TransportErrorKind,
};
pub use ids::IdMap;
pub use input::{ExchangeId, Input};
pub use output::{AuthorizeUrl, Event, Output, RequestId, Transmit, Warning};
pub use policy::{Effect, ExchangeKind, Failure, Policy, RedirectTarget, Scope, StreamState};
pub use session::{
    Authorization, Config, HostedTasks, RequestOptions, Revision, Session, TaskOptions,
    TimerReason, LATEST_PROTOCOL_VERSION, LEGACY_SSE_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION,
    MODERN_PROTOCOL_VERSIONS, REMOVED_IN_MODERN, SUPPORTED_PROTOCOL_VERSIONS,
};
