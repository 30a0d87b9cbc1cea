//! The library's logs (it logs through `tracing`) on stderr: its warnings by default, more
//! with `-v` (info), `-vv` (debug) and `-vvv` (trace), or what `RUST_LOG` says.
//!
//! Lines go through [`for_terminal`] (a warning may quote what a server sent), with a
//! progress bar on screen [out of their way](crate::progress::suspended).

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;

use crate::sanitize::for_terminal;

/// The filter for `-v` given `verbose` times, when `RUST_LOG` is not set.
fn default_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "mcpwire=warn",
        1 => "mcpwire=info",
        2 => "mcpwire=debug",
        _ => "mcpwire=trace",
    }
}

/// Installs the subscriber. A `RUST_LOG` that does not parse is said once and the `-v`
/// filter is used instead.
pub fn init(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => match EnvFilter::try_new(&directives) {
            Ok(filter) => filter,
            Err(e) => {
                let _ = crate::print::err(&format!("mcpwire: RUST_LOG is not a filter ({e})"));
                EnvFilter::new(default_filter(verbose))
            }
        },
        _ => EnvFilter::new(default_filter(verbose)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| SafeStderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// Stderr, through [`for_terminal`] line by line.
struct SafeStderr;

impl Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let safe: Vec<_> = text.split('\n').map(for_terminal).collect();
        // A progress bar on screen is moved out of the line's way.
        crate::progress::suspended(|| io::stderr().lock().write_all(safe.join("\n").as_bytes()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_v_shows_more() {
        assert_eq!(default_filter(0), "mcpwire=warn");
        assert_eq!(default_filter(1), "mcpwire=info");
        assert_eq!(default_filter(2), "mcpwire=debug");
        assert_eq!(default_filter(9), "mcpwire=trace");
    }
}
