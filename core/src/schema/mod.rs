//! MCP types for what a client sends and receives (2025-06-18 and 2025-11-25).
//!
//! Every struct keeps the fields it does not know in `extra`, so nothing a newer server sends
//! is lost or rejected; open JSON (tool schemas, `_meta`, structured content) stays a
//! [`serde_json::Value`], so unknown JSON Schema keywords survive a round trip.

mod lifecycle;

pub use lifecycle::*;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A client request: its params type names its method and its result type.
///
/// `mcpwire_core::Session::send` takes any `Request`; the adapters' typed methods are built on it.
pub trait Request: Serialize {
    /// The JSON-RPC method.
    const METHOD: &'static str;
    /// What the server answers.
    type Result: DeserializeOwned;
}
