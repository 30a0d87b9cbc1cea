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
//! # async fn example() -> Result<(), mcpwire::Error> {
//! use mcpwire::Client;
//!
//! let client = Client::connect("http://127.0.0.1:3001/mcp").await?;
//! for tool in client.list_all_tools().await? {
//!     println!("{}", tool.name);
//! }
//! let result = client.call_tool("echo", serde_json::json!({ "message": "hi" })).await?;
//! println!("{:?}", result.content);
//! client.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! Features: `tokio` (default) and `smol` choose the runtime of [`Client::connect`]; with
//! both, [`ClientBuilder::connect_with`] takes either explicitly.
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
mod options;
mod record;
pub mod runtime;
mod stdio;
mod subscription;
mod target;
mod transport;

pub use client::{Client, ClientBuilder, Memory};
pub use client_skills::LoadedSkill;
pub use error::{ConfigError, Error};
pub use handler::{Handler, NoHandler};
pub use mcpwire_core::modern::SubscriptionFilter;
pub use mcpwire_core::record::RecordOptions;
pub use mcpwire_core::schema;
pub use mcpwire_core::skills;
pub use mcpwire_core::{
    self as core, HttpError, Limit, Policy, ProtocolError, RequestError, Revision, Scope,
    SessionError,
};
pub use notifications::Notifications;
pub use options::{CallOptions, Progress};
pub use subscription::{Subscription, SubscriptionEvent};
pub use target::Target;

/// The README's snippets, compiled as doc tests (they use both runtimes).
#[cfg(all(doctest, feature = "tokio", feature = "smol"))]
#[doc = include_str!("../../README.md")]
struct ReadmeSnippets;
