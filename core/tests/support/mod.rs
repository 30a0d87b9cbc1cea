//! The core's behaviour tests use the shared session harness of `mcpwire_core::fuzzing` (the
//! same one the benches and the fuzz targets use); this file only starts its clock, which the
//! core itself never reads.
#![allow(dead_code, unused_imports)]

use std::time::Instant;

use mcpwire_core::Config;

pub use mcpwire_core::fuzzing::harness::*;

/// `Harness::http()`, `Harness::stdio_with(config)`, ...: a harness whose clock starts now.
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
        Harness::http_at(Instant::now(), Config::default())
    }

    fn stdio_with(config: Config) -> Self {
        Harness::stdio_at(Instant::now(), config)
    }

    fn stdio() -> Self {
        Harness::stdio_at(Instant::now(), Config::default())
    }
}
