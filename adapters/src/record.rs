//! Recording a session to a file: the core's [`Recorder`] makes the lines, this writes them
//! as they come: buffered each time the driver waits, and written to the file within
//! [`FLUSH_AFTER`] (at once when the session ends), so that a recording of a session that
//! hangs holds everything up to the hang, without a write per wake-up.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The longest the lines recorded wait to be written to the file.
pub(crate) const FLUSH_AFTER: Duration = Duration::from_millis(20);

/// A session being recorded.
pub(crate) struct Recording {
    pub(crate) rec: Recorder,
    file: BufWriter<File>,
    failed: bool,
    /// Since when lines wait in the buffer, unwritten.
    dirty: Option<Instant>,
}

impl Recording {
    /// Creates the file and writes the header.
    pub(crate) fn start(
        to: &RecordTo,
        now: Instant,
        endpoint: Option<&::http::Uri>,
        sse: bool,
        config: &Config,
    ) -> Result<Recording, ConfigError> {
        let file = File::create(&to.path).map_err(|e| ConfigError::Record {
            path: to.path.display().to_string(),
            source: Arc::new(e),
        })?;
        let mut r = Recording {
            rec: match (endpoint, sse) {
                (Some(uri), true) => Recorder::new_sse(now, uri, config, to.options.clone()),
                _ => Recorder::new(now, endpoint, config, to.options.clone()),
            },
            file: BufWriter::with_capacity(64 << 10, file),
            failed: false,
            dirty: None,
        };
        r.flush();
        Ok(r)
    }

    /// Takes what was recorded since the last time into the file's buffer (a write to the
    /// file only when the buffer is full).
    pub(crate) fn buffer(&mut self, now: Instant) {
        let text = self.rec.take();
        if self.failed || text.is_empty() {
            return;
        }
        let written = self.file.write_all(text.as_bytes());
        self.check(written);
        self.dirty.get_or_insert(now);
    }

    /// When the buffered lines are to be written, if any wait.
    pub(crate) fn flush_due(&self) -> Option<Instant> {
        self.dirty.map(|since| since + FLUSH_AFTER)
    }

    /// Writes everything recorded so far to the file.
    pub(crate) fn flush(&mut self) {
        let text = self.rec.take();
        self.dirty = None;
        if self.failed {
            return;
        }
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush());
        self.check(written);
    }

    /// A write error stops the recording (logged once); the session goes on.
    fn check(&mut self, written: std::io::Result<()>) {
        if let Err(e) = written {
            tracing::error!(error = %e, "writing the recording failed; recording stops");
            self.failed = true;
            self.dirty = None;
        }
    }
}
