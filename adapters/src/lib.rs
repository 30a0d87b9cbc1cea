//! # mcpwire
//!
//! A Model Context Protocol client for tokio and smol. Every call completes: with the
//! server's answer, or with the error that ended it — an HTTP status, a JSON-RPC error, a
//! timeout, the end of the session — because the protocol runs in
//! [`mcpwire-core`](mcpwire_core), a state machine that owns every outstanding request.
//! This crate only moves bytes: one driver task per session, over hyper (HTTP/1.1 and HTTP/2,
//! rustls) or a child process's stdio.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mcpwire::Client;
//!
//! // A command line (a stdio server), or an `http(s)://` URL.
//! let client = Client::connect("npx -y @modelcontextprotocol/server-everything").await?;
//! for tool in client.list_all_tools().await? {
//!     println!("{}", tool.name);
//! }
//! let result = client.call_tool("echo", serde_json::json!({ "message": "hi" })).await?;
//! println!("{}", result.text());
//! client.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Next steps
//!
//! - [`Client`]: the calls ([`call_tool`](Client::call_tool) takes any `Serialize` arguments
//!   and per-call options), [`notifications`](Client::notifications),
//!   [`closed`](Client::closed).
//! - [`ClientBuilder`]: timeouts, headers, the failure [`Policy`], TLS roots, and the answers
//!   to the server's requests as closures ([`on_sampling`](ClientBuilder::on_sampling),
//!   [`on_elicitation`](ClientBuilder::on_elicitation), [`roots`](ClientBuilder::roots)) or a
//!   [`Handler`].
//! - [`Target`]: a URL, a command line, a [`runtime::Command`] with its environment and
//!   directory, or a `std::process::Command`.
//! - [`Error`]: what failed, at which scope ([`SessionError`] or [`RequestError`]), with
//!   helpers ([`is_timeout`](Error::is_timeout), [`status`](Error::status),
//!   [`retry_after`](Error::retry_after)) and the IO error as its `source()`.
//! - [`schema`]: the MCP types; results have helpers such as
//!   [`CallToolResult::text`](schema::CallToolResult::text) and
//!   [`structured`](schema::CallToolResult::structured).
//! - `examples/assistant.rs` in the repository: a whole application on either runtime.
//!
//! ## Features
//!
//! - `tokio` (default) and `smol` choose the runtime of [`Client::connect`]; with both,
//!   [`ClientBuilder::connect_with`] takes either explicitly.
//! - `native-roots`: trust the OS's certificate store as well as the webpki roots.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod auth;
mod client;
mod client_skills;
pub mod config;
mod driver;
mod error;
mod handler;
mod http;
mod io;
mod notifications;
mod oneshot;
mod options;
mod proxy;
mod record;
pub mod runtime;
mod stdio;
mod subscription;
mod target;
mod task;
mod telemetry;
mod transport;

pub use client::{CallTool, Client, ClientBuilder, Memory};
pub use client_skills::LoadedSkill;
pub use error::{ConfigError, Error};
pub use handler::{Handler, HandlerError, NoHandler};
pub use mcpwire_core::modern::SubscriptionFilter;
pub use mcpwire_core::record::RecordOptions;
pub use mcpwire_core::schema;
pub use mcpwire_core::skills;
pub use mcpwire_core::{
    self as core, HttpError, Limit, Policy, ProtocolError, RequestError, Revision, Scope,
    SessionError, TaskError, TransportError, TransportErrorKind,
};
pub use notifications::Notifications;
pub use options::{CallOptions, Progress};
pub use proxy::Proxy;
pub use subscription::{Subscription, SubscriptionEvent};
pub use target::Target;
pub use task::ToolTask;

/// The README's snippets, compiled as doc tests (they use both runtimes).
#[cfg(all(doctest, feature = "tokio", feature = "smol"))]
#[doc = include_str!("../../README.md")]
struct ReadmeSnippets;
