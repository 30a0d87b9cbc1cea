//! Shared helpers for mcpwire's cross-crate tests.

pub mod npm;
