//! Recording a session to a file: the core's [`Recorder`] makes the lines, this writes them
//! as they come (flushed each time the driver waits).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mcpwire_core::record::{RecordOptions, Recorder};
use mcpwire_core::Config;

use crate::error::ConfigError;

/// The environment variable that records every session of a process whose builder sets no
/// recording: its value is the file.
pub(crate) const ENV: &str = "MCPWIRE_RECORD";

/// Where a session is recorded, and how.
#[derive(Clone, Debug)]
pub(crate) struct RecordTo {
    pub(crate) path: PathBuf,
    pub(crate) options: RecordOptions,
}

impl RecordTo {
    /// The builder's choice, else `MCPWIRE_RECORD`'s.
    pub(crate) fn chosen(builder: Option<RecordTo>) -> Option<RecordTo> {
        builder.or_else(|| {
            std::env::var_os(ENV)
                .filter(|v| !v.is_empty())
                .map(|path| RecordTo {
                    path: path.into(),
                    options: RecordOptions::default(),
                })
        })
    }
}

/// A session being recorded.
pub(crate) struct Recording {
    pub(crate) rec: Recorder,
    file: BufWriter<File>,
    failed: bool,
}

impl Recording {
    /// Creates the file and writes the header.
    pub(crate) fn start(
        to: &RecordTo,
        now: Instant,
        endpoint: Option<&::http::Uri>,
        config: &Config,
    ) -> Result<Recording, ConfigError> {
        let file = File::create(&to.path).map_err(|e| ConfigError::Record {
            path: to.path.display().to_string(),
            source: Arc::new(e),
        })?;
        let mut r = Recording {
            rec: Recorder::new(now, endpoint, config, to.options.clone()),
            file: BufWriter::new(file),
            failed: false,
        };
        r.flush();
        Ok(r)
    }

    /// Writes what was recorded since the last time. A write error stops the recording (once
    /// logged); the session goes on.
    pub(crate) fn flush(&mut self) {
        let text = self.rec.take();
        if self.failed || text.is_empty() {
            return;
        }
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush());
        if let Err(e) = written {
            tracing::error!(error = %e, "writing the recording failed; recording stops");
            self.failed = true;
        }
    }
}
