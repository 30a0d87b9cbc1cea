//! Newline framing for the stdio transport, bounded.
//!
//! The stdio transport sends one JSON-RPC message per line. [`LineDecoder::feed`] splits
//! whatever bytes arrived at `'\n'` and returns the complete lines, without the `'\n'` and
//! without one trailing `'\r'`; empty lines are skipped. The start of an unfinished line is
//! kept for the next call, never more than the limit. Any chunking of the same bytes gives the
//! same lines and the same error.

use std::fmt;

/// A line was longer than the decoder's limit. After this error the decoder stays failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// The limit, in bytes, excluding the line ending.
    pub limit: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line longer than the limit of {} bytes", self.limit)
    }
}

impl std::error::Error for LineTooLong {}

/// An incremental, bounded line splitter. See the [module documentation](self).
///
/// Methods, by group:
/// - input: [`feed`](Self::feed) while the stream lasts, [`finish`](Self::finish) when it ends.
#[derive(Clone, Debug)]
pub struct LineDecoder {
    /// The longest line accepted, excluding `"\n"` and the `'\r'` before it.
    max_line: usize,
    /// The start of a line whose `'\n'` has not arrived yet (a final `'\r'` is held in
    /// `pending_cr` instead); never longer than `max_line`.
    partial: Vec<u8>,
    /// The last byte fed was a `'\r'` not yet in `partial`: it is dropped if a `'\n'` follows,
    /// and is line content otherwise.
    pending_cr: bool,
    failed: bool,
}

impl LineDecoder {
    /// A decoder accepting lines of at most `max_line` bytes, excluding the line ending
    /// (`"\n"` or `"\r\n"`).
    pub fn new(max_line: usize) -> Self {
        LineDecoder {
            max_line,
            partial: Vec::new(),
            pending_cr: false,
            failed: false,
        }
    }

    /// The bytes the decoder holds (the unfinished line's buffer): bounded by the limit.
    pub fn retained(&self) -> usize {
        std::mem::size_of::<Self>() + self.partial.capacity()
    }

    /// Splits `input` at '\n', appending each complete line (without the '\n' and without one
    /// trailing '\r') to `out`. Empty lines are skipped. Incomplete input is kept for the next
    /// call (never more than max_line bytes). After an error the decoder stays failed.
    ///
    /// The error comes as soon as a line is known to be too long, without waiting for its end;
    /// the lines before it are still appended to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), LineTooLong> {
        if self.failed {
            return Err(self.error());
        }
        let result = self.feed_unchecked(input, out);
        if result.is_err() {
            self.failed = true;
            self.partial = Vec::new();
            self.pending_cr = false;
        }
        result
    }

    /// The stream ended: returns the unterminated last line, if any (not empty), and clears it.
    /// One trailing `'\r'` is removed from it, as from every line. Returns `None` after an
    /// error.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.pending_cr = false;
        let line = std::mem::take(&mut self.partial);
        (!line.is_empty()).then_some(line)
    }

    fn error(&self) -> LineTooLong {
        LineTooLong {
            limit: self.max_line,
        }
    }

    /// [`feed`](Self::feed) without the failed-state bookkeeping.
    fn feed_unchecked(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), LineTooLong> {
        if input.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut self.pending_cr) && input[0] != b'\n' {
            // The CR held back was not the end of a CRLF after all.
            self.extend_partial(b"\r")?;
        }
        while let Some(end) = memchr::memchr(b'\n', input) {
            let line = &input[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if self.partial.len() + line.len() > self.max_line {
                return Err(self.error());
            }
            if !self.partial.is_empty() || !line.is_empty() {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                out.push(whole);
            }
            input = &input[end + 1..];
        }
        // The rest is the start of a line. Hold a final CR back: it may start a CRLF.
        let (rest, cr) = match input.strip_suffix(b"\r") {
            Some(rest) => (rest, true),
            None => (input, false),
        };
        self.extend_partial(rest)?;
        self.pending_cr = cr;
        Ok(())
    }

    /// Appends to the partial line, failing before it would exceed the limit.
    fn extend_partial(&mut self, bytes: &[u8]) -> Result<(), LineTooLong> {
        if self.partial.len() + bytes.len() > self.max_line {
            return Err(self.error());
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkings::{all_chunkings, split_at_points};
    use proptest::prelude::*;

    /// Everything observable after feeding a stream and finishing it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Outcome {
        lines: Vec<Vec<u8>>,
        error: Option<LineTooLong>,
        last: Option<Vec<u8>>,
    }

    /// Feeds `chunks` in order, checking after every chunk that the partial line stays within
    /// the limit, then finishes. After an error, checks that every later call returns the same
    /// error and appends nothing.
    fn run(chunks: &[&[u8]], max_line: usize) -> Outcome {
        let mut decoder = LineDecoder::new(max_line);
        let mut lines = Vec::new();
        let mut error = None;
        for chunk in chunks {
            match error {
                None => error = decoder.feed(chunk, &mut lines).err(),
                Some(e) => {
                    let mut more = Vec::new();
                    assert_eq!(decoder.feed(chunk, &mut more), Err(e));
                    assert!(more.is_empty());
                }
            }
            assert!(
                decoder.partial.len() <= max_line,
                "partial line over the limit"
            );
        }
        if let Some(e) = error {
            let mut more = Vec::new();
            assert_eq!(decoder.feed(b"more\n", &mut more), Err(e));
            assert!(more.is_empty());
        }
        let last = decoder.finish();
        assert_eq!(decoder.finish(), None, "finish clears the partial line");
        Outcome { lines, error, last }
    }

    /// Decodes `input` every way [`all_chunkings`] splits it, asserts that all agree, and
    /// returns the outcome.
    fn decode_with(input: &[u8], max_line: usize) -> Outcome {
        let whole = run(&[input], max_line);
        for chunks in all_chunkings(input) {
            assert_eq!(run(&chunks, max_line), whole, "chunks: {chunks:?}");
        }
        whole
    }

    fn decode(input: &[u8]) -> Outcome {
        decode_with(input, 1 << 16)
    }

    fn lines(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|line| line.as_bytes().to_vec()).collect()
    }

    /// The inputs of the example tests, replayed at arbitrary split points by a proptest.
    const CASES: &[&[u8]] = &[
        b"{\"a\":1}\n{\"b\":2}\n",
        b"one\r\ntwo\r\n",
        b"a\rb\r\r\n\r\r\n",
        b"\n\n\r\none\n\n\ntwo\n",
        b"one\ntwo",
        b"one\ntwo\r",
        b"one\n",
    ];

    #[test]
    fn lines_are_split_at_newlines() {
        let outcome = decode(b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(outcome.lines, lines(&["{\"a\":1}", "{\"b\":2}"]));
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.last, None);
    }

    #[test]
    fn crlf_is_stripped_even_when_split_across_chunks() {
        assert_eq!(decode(b"one\r\ntwo\r\n").lines, lines(&["one", "two"]));
        let chunks: [&[u8]; 3] = [b"one\r", b"\ntwo\r", b"\n"];
        assert_eq!(run(&chunks, 64).lines, lines(&["one", "two"]));
    }

    #[test]
    fn only_one_trailing_cr_is_stripped_and_other_crs_are_content() {
        assert_eq!(decode(b"a\rb\r\r\n\r\r\n").lines, lines(&["a\rb\r", "\r"]));
    }

    #[test]
    fn empty_lines_are_skipped() {
        assert_eq!(
            decode(b"\n\n\r\none\n\n\ntwo\n").lines,
            lines(&["one", "two"])
        );
    }

    #[test]
    fn finish_returns_the_unterminated_last_line() {
        let outcome = decode(b"one\ntwo");
        assert_eq!(outcome.lines, lines(&["one"]));
        assert_eq!(outcome.last, Some(b"two".to_vec()));
        // One trailing CR is stripped from it as from every line.
        assert_eq!(decode(b"one\ntwo\r").last, Some(b"two".to_vec()));
    }

    #[test]
    fn finish_without_a_partial_line_returns_none() {
        assert_eq!(decode(b"one\n").last, None);
        assert_eq!(decode(b"").last, None);
        assert_eq!(decode(b"\r").last, None);
    }

    #[test]
    fn line_of_exactly_the_limit_is_accepted_excluding_its_ending() {
        let outcome = decode_with(b"1234\r\n5678\n9012", 4);
        assert_eq!(outcome.lines, lines(&["1234", "5678"]));
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.last, Some(b"9012".to_vec()));
        // Held back, the CR of an unfinished line does not count against the limit.
        assert_eq!(decode_with(b"1234\r", 4).last, Some(b"1234".to_vec()));
    }

    #[test]
    fn line_longer_than_limit_fails_without_buffering_it() {
        // The line never ends; the error comes as soon as the fifth byte arrives, and `run`
        // checks after every chunk that the partial line stays within 4 bytes.
        let outcome = decode_with(b"ok\n12345", 4);
        assert_eq!(outcome.lines, lines(&["ok"]));
        assert_eq!(outcome.error, Some(LineTooLong { limit: 4 }));
        assert_eq!(outcome.last, None);
        // A CR in the middle of a line is content and counts.
        assert_eq!(
            decode_with(b"1234\r5\n", 4).error,
            Some(LineTooLong { limit: 4 })
        );
    }

    #[test]
    fn error_is_permanent() {
        let mut decoder = LineDecoder::new(2);
        let mut out = Vec::new();
        assert_eq!(
            decoder.feed(b"abc\n", &mut out),
            Err(LineTooLong { limit: 2 })
        );
        assert_eq!(
            decoder.feed(b"a\n", &mut out),
            Err(LineTooLong { limit: 2 })
        );
        assert_eq!(decoder.feed(b"", &mut out), Err(LineTooLong { limit: 2 }));
        assert_eq!(decoder.finish(), None);
        assert_eq!(out, Vec::<Vec<u8>>::new());
    }

    #[test]
    fn error_describes_the_limit() {
        assert_eq!(
            LineTooLong { limit: 9 }.to_string(),
            "line longer than the limit of 9 bytes"
        );
    }

    /// Streams made of the pieces that matter to the decoder.
    fn line_like_stream() -> impl Strategy<Value = Vec<u8>> {
        const PIECES: &[&[u8]] = &[b"\n", b"\r", b"\r\n", b"x", b"{}", b" "];
        prop::collection::vec(prop::sample::select(PIECES), 0..48)
            .prop_map(|pieces| pieces.concat())
    }

    prop_compose! {
        /// An input and arbitrary points to split it at.
        fn split_input(input: impl Strategy<Value = Vec<u8>>)
            (input in input, points in prop::collection::vec(any::<usize>(), 0..12))
            -> (Vec<u8>, Vec<usize>)
        {
            (input, points)
        }
    }

    proptest! {
        #[test]
        fn any_split_of_the_example_inputs_gives_the_whole_input_result(
            case in prop::sample::select(CASES),
            points in prop::collection::vec(any::<usize>(), 0..12),
            max_line in prop_oneof![Just(1 << 16), 0usize..8],
        ) {
            prop_assert_eq!(
                run(&split_at_points(case, &points), max_line),
                run(&[case], max_line)
            );
        }

        #[test]
        fn any_split_of_a_line_like_stream_gives_the_whole_input_result(
            (input, points) in split_input(line_like_stream()),
            max_line in 0usize..12,
        ) {
            prop_assert_eq!(
                run(&split_at_points(&input, &points), max_line),
                run(&[&input], max_line)
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_the_partial_line_stays_bounded(
            (input, points) in split_input(prop::collection::vec(any::<u8>(), 0..512)),
            max_line in 0usize..64,
        ) {
            // `run` asserts the bound after every chunk.
            let chunked = run(&split_at_points(&input, &points), max_line);
            prop_assert_eq!(chunked, run(&[&input], max_line));
        }

        #[test]
        fn lines_are_the_input_split_at_newlines(
            input in line_like_stream(),
        ) {
            // A plain model: split at '\n', strip one '\r', drop empty lines.
            let strip = |line: &[u8]| line.strip_suffix(b"\r").unwrap_or(line).to_vec();
            let mut segments: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            let last = segments.pop().map(strip).filter(|line| !line.is_empty());
            let expected: Vec<Vec<u8>> = segments
                .into_iter()
                .map(strip)
                .filter(|line| !line.is_empty())
                .collect();
            let outcome = run(&[&input], 1 << 16);
            prop_assert_eq!(outcome.lines, expected);
            prop_assert_eq!(outcome.last, last);
        }
    }
}
