//! An incremental, bounded decoder for `text/event-stream` bodies (Server-Sent Events).
//!
//! It follows the WHATWG HTML "event stream interpretation" rules:
//!
//! - a line ends with CRLF, LF or CR alone; a CR at the end of one chunk and an LF at the start
//!   of the next are one line ending;
//! - a UTF-8 byte order mark at the very start of the stream is skipped;
//! - line bytes are decoded as UTF-8, lossily;
//! - a line starting with `:` is a comment; `name: value` is a field (one space after the colon
//!   is removed); a line without a colon is a field with an empty value;
//! - `event` sets the event type, `data` appends a line to the data, `id` sets the last event id
//!   (ignored if it contains NUL; an empty value resets it), `retry` sets the reconnection time
//!   (ASCII digits only); other fields are ignored;
//! - a blank line dispatches the event, unless it has no data (then only the event type is
//!   reset, and the id still counts as seen).
//!
//! An event left incomplete when the stream ends is discarded: the caller simply stops feeding.
//!
//! The decoder is sans-IO: [`SseDecoder::feed`] takes whatever bytes arrived and returns the
//! events they complete. Any chunking of the same bytes gives the same events and the same
//! error. Every buffer that grows with the input is bounded by [`SseLimits`]: the partial line by
//! `max_line`, the data of the event being built by `max_event`.

use std::fmt;

/// The UTF-8 byte order mark, skipped at the very start of a stream.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Limits for the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseLimits {
    /// The longest line accepted, in bytes, excluding its line ending.
    pub max_line: usize,
    /// The largest event data accepted, in bytes: the data lines joined with `'\n'`, as
    /// dispatched in [`SseEvent::data`] (after lossy UTF-8 decoding).
    pub max_event: usize,
}

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field; empty string when none was given (meaning "message").
    pub event: String,
    /// The data lines joined with '\n' (no trailing newline).
    pub data: String,
    /// The decoder's last event id when this event was dispatched (WHATWG `lastEventId`), None
    /// if never set or set to empty.
    pub id: Option<String>,
}

/// One dispatched event, lent by [`SseDecoder::feed_with`] for the time of a call: the
/// decoder's own buffers, not copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event` field; empty when none was given (meaning "message").
    pub event: &'a str,
    /// The data lines joined with '\n' (no trailing newline).
    pub data: &'a str,
    /// The decoder's last event id when this event was dispatched (WHATWG `lastEventId`),
    /// None if never set or set to empty.
    pub id: Option<&'a str>,
}

impl SseEventRef<'_> {
    /// The event, owned.
    pub fn to_event(self) -> SseEvent {
        SseEvent {
            event: self.event.to_owned(),
            data: self.data.to_owned(),
            id: self.id.map(str::to_owned),
        }
    }
}

/// The capacity of the event data buffer the decoder keeps between events: a buffer grown past
/// it by a large event is let go once that event is dispatched.
const KEEP_DATA: usize = 8 << 10;

/// Why the decoder failed. After an error the decoder stays failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseError {
    /// A line was longer than [`SseLimits::max_line`].
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// An event's data was larger than [`SseLimits::max_event`].
    EventTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => {
                write!(f, "SSE line longer than the limit of {limit} bytes")
            }
            SseError::EventTooLarge { limit } => {
                write!(f, "SSE event data larger than the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Where the decoder is in skipping a byte order mark at the start of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bom {
    /// This many bytes of the BOM have been seen, and nothing else yet.
    Checking(usize),
    /// The BOM was skipped, or the stream did not start with one.
    Done,
}

/// An incremental `text/event-stream` decoder. See the [module documentation](self).
///
/// Methods, by group:
/// - input: [`feed`](Self::feed);
/// - state carried across events: [`last_event_id`](Self::last_event_id) (for `Last-Event-ID`
///   when resuming) and [`retry_ms`](Self::retry_ms) (the reconnection time).
#[derive(Clone, Debug)]
pub struct SseDecoder {
    limits: SseLimits,
    bom: Bom,
    /// The start of a line whose ending has not arrived yet; never longer than `max_line`.
    partial: Vec<u8>,
    /// The last byte fed was a CR ending a line: an LF at the start of the next chunk belongs
    /// to that line ending.
    pending_cr: bool,
    /// The data lines of the event being built, joined with '\n' (no trailing newline).
    data: String,
    /// Whether a `data` field was seen since the last dispatch (data may still be empty).
    has_data: bool,
    /// The event type buffer.
    event_type: String,
    /// The last event id buffer (`None` for the empty string).
    id_buffer: Option<String>,
    /// The last event id as of the last blank line.
    last_event_id: Option<String>,
    retry_ms: Option<u64>,
    failed: Option<SseError>,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new(limits: SseLimits) -> Self {
        SseDecoder {
            limits,
            bom: Bom::Checking(0),
            partial: Vec::new(),
            pending_cr: false,
            data: String::new(),
            has_data: false,
            event_type: String::new(),
            id_buffer: None,
            last_event_id: None,
            retry_ms: None,
            failed: None,
        }
    }

    /// A decoder for a stream that resumes another: like an `EventSource` reconnecting, it
    /// starts with the last event id that stream left off at, which lasts until the new
    /// stream sets another.
    pub fn resuming(limits: SseLimits, last_event_id: Option<String>) -> Self {
        SseDecoder {
            id_buffer: last_event_id.clone(),
            last_event_id,
            ..SseDecoder::new(limits)
        }
    }

    /// Decodes `input`, appending every event completed by it to `out`. Incomplete input is
    /// kept (bounded) for the next call.
    ///
    /// After an error the decoder stays failed: every later call returns the same error. The
    /// events completed before the failing line are still appended to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.feed_with(input, |event| out.push(event.to_event()))
    }

    /// [`feed`](Self::feed), lending each completed event to `on_event` instead of copying it
    /// out: the same events, in the same order, with the same error.
    pub fn feed_with(
        &mut self,
        input: &[u8],
        mut on_event: impl FnMut(SseEventRef<'_>),
    ) -> Result<(), SseError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let result = self.feed_unchecked(input, &mut on_event);
        if let Err(error) = result {
            self.failed = Some(error);
            // Nothing will be decoded any more: release what the buffers hold.
            self.partial = Vec::new();
            self.data = String::new();
            self.event_type = String::new();
        }
        result
    }

    /// The bytes the decoder holds (its buffers' capacities): bounded by the limits.
    pub fn retained(&self) -> usize {
        let id = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        std::mem::size_of::<Self>()
            + self.partial.capacity()
            + self.data.capacity()
            + self.event_type.capacity()
            + id(&self.id_buffer)
            + id(&self.last_event_id)
    }

    /// The last event id, as of the last blank line: the id of the last complete event, to
    /// send as `Last-Event-ID` when resuming. It persists across events and is also set by
    /// events that dispatch nothing (an `id:` line followed by a blank line with no data — the
    /// MCP 2025-11-25 "priming event"). An `id` field whose event was not completed by a blank
    /// line does not count (WHATWG: the event source's last event id is set on dispatch).
    ///
    /// `None` if never set, or if set to the empty string.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection time from the last valid `retry` field, in milliseconds (saturating at
    /// `u64::MAX`).
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// [`feed`](Self::feed) without the failed-state bookkeeping.
    fn feed_unchecked<F: FnMut(SseEventRef<'_>)>(
        &mut self,
        mut input: &[u8],
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if let Bom::Checking(mut matched) = self.bom {
            let mut consumed = 0;
            while matched < BOM.len() && consumed < input.len() && input[consumed] == BOM[matched] {
                matched += 1;
                consumed += 1;
            }
            if matched == BOM.len() {
                self.bom = Bom::Done;
                input = &input[consumed..];
            } else if consumed == input.len() {
                // Everything so far may still be the start of a BOM.
                self.bom = Bom::Checking(matched);
                return Ok(());
            } else {
                // Not a BOM: the bytes held back are the start of the first line.
                self.bom = Bom::Done;
                self.decode(&BOM[..matched], on_event)?;
                input = &input[consumed..];
            }
        }
        self.decode(input, on_event)
    }

    /// Splits `input` into lines, continuing the partial line, and interprets each.
    fn decode<F: FnMut(SseEventRef<'_>)>(
        &mut self,
        input: &[u8],
        on_event: &mut F,
    ) -> Result<(), SseError> {
        let mut at = 0;
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                at = 1;
            }
        }
        // The input checked as UTF-8 once, as far as it is valid: a line within that prefix
        // is not checked again (one pass over a chunk costs less than one per line). Lines
        // end at ASCII bytes, which in valid UTF-8 are always character boundaries.
        let checked = match std::str::from_utf8(input) {
            Ok(all) => all,
            Err(e) => std::str::from_utf8(&input[..e.valid_up_to()]).unwrap_or_default(),
        };
        let max_line = self.limits.max_line;
        while let Some(found) = memchr::memchr2(b'\n', b'\r', &input[at..]) {
            let end = at + found;
            let ending = match input[end] {
                b'\r' if end + 1 == input.len() => {
                    self.pending_cr = true;
                    1
                }
                b'\r' if input[end + 1] == b'\n' => 2,
                _ => 1,
            };
            let line = &input[at..end];
            if self.partial.is_empty() {
                // The whole line is in `input`: interpret it in place.
                if line.len() > max_line {
                    return Err(SseError::LineTooLong { limit: max_line });
                }
                self.line(line, checked.get(at..end), on_event)?;
            } else {
                if self.partial.len() + line.len() > max_line {
                    return Err(SseError::LineTooLong { limit: max_line });
                }
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                let result = self.line(&whole, None, on_event);
                whole.clear();
                self.partial = whole;
                result?;
            }
            at = end + ending;
        }
        let rest = &input[at..];
        if self.partial.len() + rest.len() > max_line {
            return Err(SseError::LineTooLong { limit: max_line });
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Interprets one complete line (without its ending); `checked` is the same line when it
    /// is known to be UTF-8 already.
    ///
    /// Values are decoded with [`text`].
    fn line<F: FnMut(SseEventRef<'_>)>(
        &mut self,
        line: &[u8],
        checked: Option<&str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        let (name, start) = match colon(line) {
            None if line.is_empty() => {
                self.dispatch(on_event);
                return Ok(());
            }
            None => (line, line.len()),
            // A comment.
            Some(0) => return Ok(()),
            Some(colon) => {
                let space = usize::from(line.get(colon + 1) == Some(&b' '));
                (&line[..colon], colon + 1 + space)
            }
        };
        let value = &line[start..];
        // The value as text: a slice of the checked line (`start` follows ASCII bytes, a
        // character boundary), or decoded now.
        let as_text = || match checked.and_then(|c| c.get(start..)) {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => text(value),
        };
        // Field names are compared as bytes: the names that mean something are ASCII, and
        // lossy decoding never turns other bytes into ASCII.
        match name {
            b"data" => {
                let value = as_text();
                let separator = usize::from(self.has_data);
                if self.data.len() + separator + value.len() > self.limits.max_event {
                    return Err(SseError::EventTooLarge {
                        limit: self.limits.max_event,
                    });
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&as_text());
            }
            b"id" if memchr::memchr(0, value).is_none() => {
                match (&mut self.id_buffer, value.is_empty()) {
                    (id, true) => *id = None,
                    (Some(id), false) => {
                        id.clear();
                        id.push_str(&as_text());
                    }
                    (id @ None, false) => {
                        *id = Some(as_text().into_owned());
                    }
                }
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value.iter().fold(0u64, |ms, digit| {
                    ms.saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                self.retry_ms = Some(ms);
            }
            _ => {}
        }
        Ok(())
    }

    /// A blank line: commits the last event id and dispatches the event, if it has data.
    fn dispatch<F: FnMut(SseEventRef<'_>)>(&mut self, on_event: &mut F) {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if !self.has_data {
            self.event_type.clear();
            return;
        }
        self.has_data = false;
        on_event(SseEventRef {
            event: &self.event_type,
            data: &self.data,
            id: self.last_event_id.as_deref(),
        });
        self.event_type.clear();
        self.data.clear();
        if self.data.capacity() > KEEP_DATA {
            self.data = String::new();
        }
    }
}

/// Where the line's first colon is. Field names are short: their first bytes are looked at one
/// by one, which costs less than setting up a vectorised search, and only a longer line is
/// searched the vectorised way.
fn colon(line: &[u8]) -> Option<usize> {
    const NAME: usize = 8;
    let head = &line[..line.len().min(NAME)];
    match head.iter().position(|&b| b == b':') {
        Some(at) => Some(at),
        None => memchr::memchr(b':', &line[head.len()..]).map(|at| head.len() + at),
    }
}

/// UTF-8 text as is, or decoded lossily as WHATWG says (checking first is much faster than
/// `from_utf8_lossy` on the valid text every server sends).
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkings::{all_chunkings, split_at_points};
    use proptest::prelude::*;

    /// Limits no test input reaches.
    const ROOMY: SseLimits = SseLimits {
        max_line: 1 << 16,
        max_event: 1 << 20,
    };

    /// Everything observable after feeding a stream.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Outcome {
        events: Vec<SseEvent>,
        error: Option<SseError>,
        last_event_id: Option<String>,
        retry_ms: Option<u64>,
    }

    /// The buffers that grow with the input stay within the limits (lossy decoding can turn
    /// one invalid byte into the three bytes of U+FFFD).
    fn assert_bounded(decoder: &SseDecoder) {
        let SseLimits {
            max_line,
            max_event,
        } = decoder.limits;
        assert!(
            decoder.partial.len() <= max_line,
            "partial line over the limit"
        );
        assert!(decoder.data.len() <= max_event, "event data over the limit");
        assert!(decoder.event_type.len() <= 3 * max_line);
        for id in [&decoder.id_buffer, &decoder.last_event_id]
            .into_iter()
            .flatten()
        {
            assert!(id.len() <= 3 * max_line);
        }
    }

    /// Feeds `chunks` in order. After an error, checks that every later call returns the same
    /// error and appends nothing.
    fn run(chunks: &[&[u8]], limits: SseLimits) -> Outcome {
        let mut decoder = SseDecoder::new(limits);
        let mut events = Vec::new();
        let mut error = None;
        for chunk in chunks {
            match error {
                None => error = decoder.feed(chunk, &mut events).err(),
                Some(e) => {
                    let mut more = Vec::new();
                    assert_eq!(decoder.feed(chunk, &mut more), Err(e));
                    assert!(more.is_empty());
                }
            }
            assert_bounded(&decoder);
        }
        if let Some(e) = error {
            let mut more = Vec::new();
            assert_eq!(decoder.feed(b"data: more\n\n", &mut more), Err(e));
            assert!(more.is_empty());
        }
        Outcome {
            events,
            error,
            last_event_id: decoder.last_event_id().map(str::to_owned),
            retry_ms: decoder.retry_ms(),
        }
    }

    /// Decodes `input` every way [`all_chunkings`] splits it, asserts that all agree, and
    /// returns the outcome.
    fn decode_with(input: &[u8], limits: SseLimits) -> Outcome {
        let whole = run(&[input], limits);
        for chunks in all_chunkings(input) {
            assert_eq!(run(&chunks, limits), whole, "chunks: {chunks:?}");
        }
        whole
    }

    fn decode(input: &[u8]) -> Outcome {
        decode_with(input, ROOMY)
    }

    fn event(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
        }
    }

    fn message(data: &str) -> SseEvent {
        event("", data, None)
    }

    /// Pieces of streams with valid and invalid UTF-8 among line endings and fields.
    const PIECES: &[&[u8]] = &[
        b"data: ",
        b"data:",
        b"event: e",
        b"id: ",
        b":",
        b"\n",
        b"\r",
        b"\r\n",
        b"a",
        b" ",
        "\u{e9}".as_bytes(),
        "\u{20ac}".as_bytes(),
        "\u{1f600}".as_bytes(),
        b"\xE2\x82",
        b"\xFF",
        b"\xF0\x9F",
    ];

    /// The inputs of the example tests, replayed at arbitrary split points by a proptest.
    const CASES: &[&[u8]] = &[
        b"data: hello\n\n",
        b"data: a\ndata: b\ndata: c\n\n",
        b"data: a\r\ndata: b\rdata: c\n\r\n\rdata: d\r\r",
        b"data: a\r\ndata: b\r\n\r\n",
        b"\xEF\xBB\xBFdata: x\n\n",
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
        b"\xEF\xBBdata: x\n\n\xEF\xBB\xBFdata: y\n\n",
        b": comment\ndata: x\n:\n: another\n\n",
        b"data\ndata\n\nevent\ndata: x\n\n",
        b"data:x\ndata:  y\n\n",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\n\nid:\n\n",
        b"id: 1\n\nid: 2\x003\ndata: a\n\n",
        b"id: p1\n\n",
        b"id: p1\ndata:\n\ndata: {}\n\n",
        b"retry: 3000\nretry: 12a\nretry: -1\nretry:\nretry: 1.5\nretry:  7\n",
        b"event: foo\ndata: a\n\ndata: b\n\n",
        b"event: foo\n\ndata: a\n\n",
        b"foo: bar\nData: x\ndata : y\n\n",
        b"data: \xFFa\xE2\x82\n\n",
        b"data: a\n\ndata: b",
    ];

    #[test]
    fn events_are_lent_as_feed_copies_them() {
        let input = b"id: 7\nevent: e\ndata: a\ndata: b\n\ndata: c\n\n";
        let mut lent = Vec::new();
        let mut decoder = SseDecoder::new(ROOMY);
        decoder
            .feed_with(input, |e| lent.push(format!("{e:?}")))
            .unwrap();
        assert_eq!(
            lent,
            [
                r#"SseEventRef { event: "e", data: "a\nb", id: Some("7") }"#,
                r#"SseEventRef { event: "", data: "c", id: Some("7") }"#,
            ]
        );
        assert_eq!(
            decode(input).events,
            [event("e", "a\nb", Some("7")), event("", "c", Some("7"))]
        );
    }

    #[test]
    fn the_data_buffer_kept_between_events_is_bounded() {
        let mut decoder = SseDecoder::new(ROOMY);
        let empty = decoder.retained();
        let mut n = 0;
        let big = format!("data: {}\n\n", "x".repeat(4 * KEEP_DATA));
        decoder.feed_with(big.as_bytes(), |_| n += 1).unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            decoder.retained(),
            empty,
            "a large event's buffer is let go"
        );
        decoder.feed_with(b"data: small\n\n", |_| n += 1).unwrap();
        assert_eq!(n, 2);
        let kept = decoder.retained() - empty;
        assert!(kept > 0 && kept <= KEEP_DATA, "kept {kept}");
    }

    #[test]
    fn single_data_line_dispatches_a_message_event() {
        let outcome = decode(b"data: hello\n\n");
        assert_eq!(outcome.events, [message("hello")]);
        assert_eq!(outcome.error, None);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(
            decode(b"data: a\ndata: b\ndata: c\n\n").events,
            [message("a\nb\nc")]
        );
    }

    #[test]
    fn lf_cr_and_crlf_each_end_a_line() {
        for stream in [
            &b"data: a\ndata: b\n\n"[..],
            b"data: a\rdata: b\r\r",
            b"data: a\r\ndata: b\r\n\r\n",
            b"data: a\r\ndata: b\r\r\n",
        ] {
            assert_eq!(decode(stream).events, [message("a\nb")], "{stream:?}");
        }
        assert_eq!(
            decode(b"data: a\r\ndata: b\rdata: c\n\r\n\rdata: d\r\r").events,
            [message("a\nb\nc"), message("d")]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_ending() {
        // Were the CR and the LF two line endings, the LF would be a blank line dispatching
        // "a" on its own.
        let chunks: [&[u8]; 2] = [b"data: a\r", b"\ndata: b\r\n\r\n"];
        assert_eq!(run(&chunks, ROOMY).events, [message("a\nb")]);
        let chunks: [&[u8]; 4] = [b"data: a\r", b"", b"\ndata: b\r", b"\n\r\n"];
        assert_eq!(run(&chunks, ROOMY).events, [message("a\nb")]);
        assert_eq!(
            decode(b"data: a\r\ndata: b\r\n\r\n").events,
            [message("a\nb")]
        );
    }

    #[test]
    fn cr_followed_by_cr_is_two_line_endings() {
        assert_eq!(decode(b"data: a\r\r").events, [message("a")]);
    }

    #[test]
    fn leading_bom_is_skipped_even_when_split_across_chunks() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n").events, [message("x")]);
        let chunks: [&[u8]; 3] = [b"\xEF", b"\xBB", b"\xBFdata: x\n\n"];
        assert_eq!(run(&chunks, ROOMY).events, [message("x")]);
    }

    #[test]
    fn only_the_first_bom_is_skipped() {
        // The second BOM is part of the field name, which is then unknown.
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n").events,
            [message("y")]
        );
        assert_eq!(
            decode(b"data: x\n\n\xEF\xBB\xBFdata: y\n\n").events,
            [message("x")]
        );
    }

    #[test]
    fn incomplete_bom_at_start_is_kept_as_line_content() {
        // "\xEF\xBBdata" is not the field name "data": the held-back bytes were not dropped.
        assert_eq!(
            decode(b"\xEF\xBBdata: x\n\n\xEF\xBB\xBFdata: y\n\n").events,
            []
        );
        // They also count towards the line limit.
        let limits = SseLimits {
            max_line: 2,
            ..ROOMY
        };
        assert_eq!(
            decode_with(b"\xEF\xBBa", limits).error,
            Some(SseError::LineTooLong { limit: 2 })
        );
        assert_eq!(decode_with(b"\xEF\xBB\xBFab\n", limits).error, None);
    }

    #[test]
    fn comment_lines_are_ignored() {
        assert_eq!(
            decode(b": comment\ndata: x\n:\n: another\n\n").events,
            [message("x")]
        );
        assert_eq!(decode(b": keep-alive\n\n").events, []);
    }

    #[test]
    fn field_without_colon_has_an_empty_value() {
        assert_eq!(
            decode(b"data\ndata\n\nevent\ndata: x\n\n").events,
            [message("\n"), message("x")]
        );
    }

    #[test]
    fn only_one_space_after_the_colon_is_removed() {
        assert_eq!(decode(b"data:x\ndata:  y\n\n").events, [message("x\n y")]);
    }

    #[test]
    fn id_persists_across_events() {
        let outcome = decode(b"id: 1\ndata: a\n\ndata: b\n\n");
        assert_eq!(
            outcome.events,
            [event("", "a", Some("1")), event("", "b", Some("1"))]
        );
        assert_eq!(outcome.last_event_id.as_deref(), Some("1"));
    }

    #[test]
    fn empty_id_resets_the_last_event_id() {
        let outcome = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\n\nid:\n\n");
        assert_eq!(
            outcome.events,
            [event("", "a", Some("1")), event("", "b", None)]
        );
        assert_eq!(outcome.last_event_id, None);
    }

    #[test]
    fn id_containing_nul_is_ignored() {
        let outcome = decode(b"id: 1\n\nid: 2\x003\ndata: a\n\n");
        assert_eq!(outcome.events, [event("", "a", Some("1"))]);
        assert_eq!(outcome.last_event_id.as_deref(), Some("1"));
    }

    #[test]
    fn priming_event_sets_id_without_dispatch() {
        let outcome = decode(b"id: p1\n\n");
        assert_eq!(outcome.events, []);
        assert_eq!(outcome.last_event_id.as_deref(), Some("p1"));
    }

    #[test]
    fn priming_event_with_empty_data_field_dispatches_empty_data() {
        // The MCP spec's wording ("an event ID and an empty `data` field") gives `data:`, which
        // WHATWG dispatches as a message with empty data; the session has to skip it.
        let outcome = decode(b"id: p1\ndata:\n\ndata: {}\n\n");
        assert_eq!(
            outcome.events,
            [event("", "", Some("p1")), event("", "{}", Some("p1"))]
        );
    }

    #[test]
    fn id_of_an_unfinished_event_is_not_the_last_event_id() {
        let outcome = decode(b"id: 1\ndata: a\n\nid: 2\ndata: b\n");
        assert_eq!(outcome.events, [event("", "a", Some("1"))]);
        assert_eq!(outcome.last_event_id.as_deref(), Some("1"));
    }

    #[test]
    fn retry_with_only_digits_sets_the_reconnection_time() {
        assert_eq!(decode(b"retry: 3000\n").retry_ms, Some(3000));
        assert_eq!(decode(b"retry: 0\n").retry_ms, Some(0));
        assert_eq!(
            decode(b"retry: 99999999999999999999999\n").retry_ms,
            Some(u64::MAX)
        );
    }

    #[test]
    fn retry_with_anything_but_digits_is_ignored() {
        assert_eq!(
            decode(b"retry: 3000\nretry: 12a\nretry: -1\nretry:\nretry: 1.5\nretry:  7\n").retry_ms,
            Some(3000)
        );
        assert_eq!(decode(b"retry: x\n").retry_ms, None);
    }

    #[test]
    fn event_type_is_reset_after_dispatch() {
        assert_eq!(
            decode(b"event: foo\ndata: a\n\ndata: b\n\n").events,
            [event("foo", "a", None), message("b")]
        );
    }

    #[test]
    fn blank_line_without_data_resets_event_type_and_dispatches_nothing() {
        assert_eq!(decode(b"event: foo\n\ndata: a\n\n").events, [message("a")]);
    }

    #[test]
    fn unknown_and_misspelled_fields_are_ignored() {
        assert_eq!(decode(b"foo: bar\nData: x\ndata : y\n\n").events, []);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        assert_eq!(
            decode(b"data: \xFFa\xE2\x82\n\n").events,
            [message("\u{FFFD}a\u{FFFD}")]
        );
    }

    #[test]
    fn incomplete_event_at_end_of_stream_is_not_dispatched() {
        assert_eq!(decode(b"data: a\n\ndata: b").events, [message("a")]);
        assert_eq!(decode(b"data: a\n\ndata: b\n").events, [message("a")]);
    }

    #[test]
    fn line_of_exactly_the_limit_is_accepted_excluding_its_ending() {
        let limits = SseLimits {
            max_line: 8,
            ..ROOMY
        };
        let outcome = decode_with(b"data: 12\r\n\r\n", limits);
        assert_eq!(outcome.events, [message("12")]);
        assert_eq!(outcome.error, None);
    }

    #[test]
    fn line_longer_than_limit_fails_without_buffering_it() {
        let limits = SseLimits {
            max_line: 8,
            ..ROOMY
        };
        // The line never ends; the error comes as soon as the ninth byte arrives, and
        // `run` checks after every chunk that the partial line stays within 8 bytes.
        let outcome = decode_with(b"data: a\n\ndata: 123456789", limits);
        assert_eq!(outcome.events, [message("a")]);
        assert_eq!(outcome.error, Some(SseError::LineTooLong { limit: 8 }));
        // Comments count too.
        let outcome = decode_with(b": 34567890\n", limits);
        assert_eq!(outcome.error, Some(SseError::LineTooLong { limit: 8 }));
    }

    #[test]
    fn event_data_of_exactly_the_limit_is_accepted() {
        let limits = SseLimits {
            max_event: 5,
            ..ROOMY
        };
        let outcome = decode_with(b"data: abc\ndata: d\n\ndata: abcde\n\n", limits);
        assert_eq!(outcome.events, [message("abc\nd"), message("abcde")]);
        assert_eq!(outcome.error, None);
    }

    #[test]
    fn event_data_over_the_limit_fails() {
        let limits = SseLimits {
            max_event: 5,
            ..ROOMY
        };
        let outcome = decode_with(b"data: a\n\ndata: abc\ndata: de\n\n", limits);
        assert_eq!(outcome.events, [message("a")]);
        assert_eq!(outcome.error, Some(SseError::EventTooLarge { limit: 5 }));
        // The joining newline counts.
        let outcome = decode_with(b"data: abcde\ndata\n\n", limits);
        assert_eq!(outcome.error, Some(SseError::EventTooLarge { limit: 5 }));
    }

    #[test]
    fn error_is_permanent() {
        let limits = SseLimits {
            max_line: 4,
            max_event: 4,
        };
        let mut decoder = SseDecoder::new(limits);
        let mut events = Vec::new();
        let error = SseError::LineTooLong { limit: 4 };
        assert_eq!(decoder.feed(b"data: x\n\n", &mut events), Err(error));
        assert_eq!(decoder.feed(b"\n", &mut events), Err(error));
        assert_eq!(decoder.feed(b"", &mut events), Err(error));
        assert_eq!(events, []);
    }

    #[test]
    fn errors_describe_the_limit() {
        assert_eq!(
            SseError::LineTooLong { limit: 3 }.to_string(),
            "SSE line longer than the limit of 3 bytes"
        );
        assert_eq!(
            SseError::EventTooLarge { limit: 3 }.to_string(),
            "SSE event data larger than the limit of 3 bytes"
        );
    }

    /// Streams made of the pieces that matter to the decoder.
    fn sse_like_stream() -> impl Strategy<Value = Vec<u8>> {
        const PIECES: &[&[u8]] = &[
            b"data",
            b"data:",
            b"data: ",
            b"event: ",
            b"id: ",
            b"id",
            b"retry: ",
            b":",
            b" ",
            b"x",
            b"7",
            b"\0",
            b"\n",
            b"\r",
            b"\r\n",
            b"\xEF\xBB\xBF",
            b"\xEF",
            b"\xC3\xA9",
            b"\xFF",
        ];
        prop::collection::vec(prop::sample::select(PIECES), 0..48)
            .prop_map(|pieces| pieces.concat())
    }

    fn small_limits() -> impl Strategy<Value = SseLimits> {
        (0usize..24, 0usize..48).prop_map(|(max_line, max_event)| SseLimits {
            max_line,
            max_event,
        })
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
        ) {
            prop_assert_eq!(run(&split_at_points(case, &points), ROOMY), run(&[case], ROOMY));
        }

        #[test]
        fn any_split_of_an_sse_like_stream_gives_the_whole_input_result(
            (input, points) in split_input(sse_like_stream()),
            limits in prop_oneof![Just(ROOMY), small_limits()],
        ) {
            prop_assert_eq!(
                run(&split_at_points(&input, &points), limits),
                run(&[&input], limits)
            );
        }

        /// A chunk is checked as UTF-8 once, as far as it is valid, and its lines are read
        /// from that check: the same text as checking (and lossily decoding) each line on its
        /// own, which is what one-byte chunks do (every line then comes through the partial
        /// line).
        #[test]
        fn a_chunk_checked_once_reads_as_lines_checked_one_by_one(
            pieces in prop::collection::vec(prop::sample::select(PIECES), 0..48),
        ) {
            let input = pieces.concat();
            let one_by_one: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(run(&[&input], ROOMY), run(&one_by_one, ROOMY));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_buffers_stay_bounded(
            (input, points) in split_input(prop::collection::vec(any::<u8>(), 0..512)),
            limits in small_limits(),
        ) {
            // `run` asserts the bounds after every chunk.
            let chunked = run(&split_at_points(&input, &points), limits);
            prop_assert_eq!(chunked, run(&[&input], limits));
        }
    }
}
