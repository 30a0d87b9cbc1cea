//! The core's behaviour tests use the shared session harness of `mcpwire_core::fuzzing` (the
//! same one the benches and the fuzz targets use); this file only starts its clock, which the
//! core itself never reads.
#![allow(dead_code, unused_imports)]

use std::time::Instant;

use mcpwire_core::{Config, Revision};

pub use mcpwire_core::fuzzing::harness::*;

/// The configuration of the tests of the 2025 era: the handshake, no probe.
pub fn legacy() -> Config {
    Config::default().with_revision(Revision::Legacy)
}

/// The configuration of the tests of 2026-07-28: no handshake, the probe first.
pub fn modern() -> Config {
    Config::default().with_revision(Revision::Modern)
}

/// `Harness::http()`, `Harness::stdio_with(config)`, ...: a harness whose clock starts now.
/// `http()` and `stdio()` speak the 2025 era.
pub trait Start {
    fn http_with(config: Config) -> Self;
    fn http() -> Self;
    fn stdio_with(config: Config) -> Self;
    fn stdio() -> Self;
}

impl Start for Harness {
    fn http_with(config: Config) -> Self {
        Harness::http_at(Instant::now(), config)
    }

    fn http() -> Self {
        Harness::http_at(Instant::now(), legacy())
    }

    fn stdio_with(config: Config) -> Self {
        Harness::stdio_at(Instant::now(), config)
    }

    fn stdio() -> Self {
        Harness::stdio_at(Instant::now(), legacy())
    }
}

/// The server's requests among `events` (the 2026-07-28 input requests included), with the id
/// to answer each with.
pub fn server_requests(
    events: &[mcpwire_core::Event],
) -> Vec<(
    mcpwire_core::jsonrpc::Id,
    mcpwire_core::schema::ServerRequest,
)> {
    events
        .iter()
        .filter_map(|e| match e {
            mcpwire_core::Event::Request { id, request } => Some((id.clone(), (**request).clone())),
            _ => None,
        })
        .collect()
}
