//! stdio: newline-delimited JSON-RPC on a child's stdin and stdout. This part frames the lines,
//! counts what was written to stdin and not yet taken by the child, and classifies the child's
//! exit.

use std::collections::VecDeque;

use super::Happened;
use crate::error::TransportError;
use crate::lines::LineDecoder;
use crate::output::Transmit;
use crate::policy::Failure;

/// What the session knows of a child's pipes.
#[derive(Debug)]
pub(crate) struct Stdio {
    lines: LineDecoder,
    max_line: usize,
    /// Bytes handed to the adapter for stdin and not yet reported written.
    unwritten: usize,
    /// What goes to stdin, taken before anything else: a request sent while the session
    /// handles a chunk of stdout is handed out before the chunk's later lines are read, so
    /// its answer never completes it before it was even written.
    transmits: VecDeque<(Option<crate::RequestId>, Happened)>,
    happened: VecDeque<Happened>,
}

impl Stdio {
    pub(crate) fn new(max_line: usize) -> Self {
        Stdio {
            lines: LineDecoder::new(max_line),
            max_line,
            unwritten: 0,
            transmits: VecDeque::new(),
            happened: VecDeque::new(),
        }
    }

    /// Bytes written to stdin that the child has not taken yet.
    pub(crate) fn held(&self) -> usize {
        self.unwritten
    }

    /// The next thing to tell the session.
    pub(crate) fn poll(&mut self) -> Option<Happened> {
        self.transmits
            .pop_front()
            .map(|(_, h)| h)
            .or_else(|| self.happened.pop_front())
    }

    /// An estimate of the bytes this part holds.
    pub(crate) fn retained(&self) -> usize {
        let queued: usize = self
            .transmits
            .iter()
            .map(|(_, h)| h)
            .chain(&self.happened)
            .map(|h| match h {
                Happened::Message { text, .. } => text.capacity() + 64,
                Happened::Transmit(Transmit::Stdin(b)) => b.capacity(),
                _ => 128,
            })
            .sum();
        self.lines.retained() + queued
    }

    /// One message for stdin, as a line (the request it carries, if one).
    pub(crate) fn send(&mut self, mut body: Vec<u8>, request: Option<crate::RequestId>) {
        body.push(b'\n');
        self.unwritten += body.len();
        self.transmits
            .push_back((request, Happened::Transmit(Transmit::Stdin(body))));
    }

    /// The request completed before its line was handed out (an answer later in the same
    /// chunk, or the same batch): the line is never written.
    pub(crate) fn forget_request(&mut self, request: crate::RequestId) {
        if self.transmits.is_empty() {
            return;
        }
        let mut dropped = 0;
        self.transmits.retain(|(r, h)| {
            let keep = *r != Some(request);
            if !keep {
                if let Happened::Transmit(Transmit::Stdin(b)) = h {
                    dropped += b.len();
                }
            }
            keep
        });
        self.unwritten = self.unwritten.saturating_sub(dropped);
    }

    /// The child took `bytes` of what was sent.
    pub(crate) fn written(&mut self, bytes: usize) {
        self.unwritten = self.unwritten.saturating_sub(bytes);
    }

    pub(crate) fn on_stdout(&mut self, data: &[u8]) {
        let mut lines = Vec::new();
        let result = self.lines.feed(data, &mut lines);
        for line in lines {
            self.line(line);
        }
        if result.is_err() {
            self.fail(Failure::TooLargeOnStdout {
                limit: self.max_line,
            });
        }
    }

    /// Stdout closed (`None`), or the child exited: a last line without its newline is still
    /// a line.
    pub(crate) fn on_exit(&mut self, code: Option<i32>) {
        if let Some(line) = self.lines.finish() {
            self.line(line);
        }
        self.fail(Failure::ProcessExited { code });
    }

    pub(crate) fn on_write_failed(&mut self, error: TransportError) {
        self.fail(Failure::WriteFailed(error));
    }

    fn line(&mut self, line: Vec<u8>) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.happened.push_back(Happened::Message {
            text: super::Text::Bytes(line),
            origin: None,
            exchange: None,
            whole_body: false,
        });
    }

    fn fail(&mut self, failure: Failure) {
        self.happened.push_back(Happened::Failed {
            failure,
            request: None,
            exchange: None,
        });
    }
}
