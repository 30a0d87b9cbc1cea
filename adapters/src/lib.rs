//! mcpwire: an MCP client for tokio and smol (placeholder until the adapters land).
pub use mcpwire_core as core;
