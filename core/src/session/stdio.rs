//! stdio: newline-delimited JSON-RPC on the child's stdin and stdout.

use std::time::Instant;

use super::{excerpt, Session, Transport};
use crate::error::Error;
use crate::lines::LineDecoder;
use crate::output::Warning;

#[derive(Debug)]
pub(crate) struct StdioState {
    lines: LineDecoder,
    max_line: usize,
}

impl StdioState {
    pub(crate) fn new(max_line: usize) -> Self {
        StdioState {
            lines: LineDecoder::new(max_line),
            max_line,
        }
    }
}

impl Session {
    pub(super) fn on_stdout(&mut self, now: Instant, data: &[u8]) {
        let Transport::Stdio(s) = &mut self.transport else {
            return;
        };
        let mut lines = Vec::new();
        let result = s.lines.feed(data, &mut lines);
        let limit = s.max_line;
        for line in lines {
            if self.is_closed() {
                return;
            }
            self.on_line(now, &line);
        }
        if result.is_err() {
            self.fail_session(Error::TooLarge { limit });
        }
    }

    pub(super) fn on_stdout_closed(&mut self, now: Instant) {
        let Transport::Stdio(s) = &mut self.transport else {
            return;
        };
        if let Some(line) = s.lines.finish() {
            self.on_line(now, &line);
        }
        self.fail_session(Error::ProcessExited { code: None });
    }

    /// One line: a JSON-RPC message, or a warning and the line is skipped.
    fn on_line(&mut self, now: Instant, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if let Err(e) = self.on_json(now, line, None) {
            self.warn(Warning::InvalidMessage {
                error: e.0,
                excerpt: excerpt(line, 200),
            });
        }
    }
}
