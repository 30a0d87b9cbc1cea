//! The session (stub; being implemented).
#![allow(missing_docs, unused)]
use std::time::{Duration, Instant};
use serde_json::Value;
use crate::*;
use crate::jsonrpc::{ErrorObject, Id};
use crate::schema::{ClientCapabilities, Implementation};

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub client_info: Implementation,
    pub capabilities: ClientCapabilities,
    pub policy: Policy,
    pub headers: http::HeaderMap,
}
#[derive(Clone, Debug, Default)]
pub struct RequestOptions { pub timeout: Option<Duration>, pub progress: bool }
pub struct Session;
