//! OAuth 2.1 authorization for MCP over HTTP, as a sans-IO sub-machine.

pub mod challenge;
