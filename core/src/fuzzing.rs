//! The bodies of the fuzz targets, compiled with the crate behind the `fuzzing` feature so they
//! always build with the code they test (str0m's habit). The targets in `fuzz/` are one-liners
//! that call these; the property tests in `tests/` use the same [`invariants`] checker,
//! [`script`] model and [`driver`].
//!
//! - Parser targets ([`sse()`], [`lines()`], [`jsonrpc()`]): any input either parses or
//!   returns the typed error; the input whole, split at points taken from the input, and byte
//!   by byte give the same result; what is kept stays within the limits.
//! - Session targets ([`http_session`], [`stdio_session`]): the input is decoded into a
//!   [`Script`] of commands and inputs, played under the invariant
//!   [`Checker`](invariants::Checker), then played again from another base instant (the logs
//!   must be identical) and with its bytes fed one at a time (the events must be identical).

pub mod driver;
pub mod harness;
pub mod invariants;
pub mod script;
pub mod seed;

use std::time::{Duration, Instant};

use crate::jsonrpc::{self, Decoded, Message};
use crate::lines::{LineDecoder, LineTooLong};
use crate::sse::{SseDecoder, SseError, SseEvent, SseLimits};

pub use driver::Driver;
pub use script::{Rechunk, Script, Transport};

/// Small pseudo-random numbers for split points, seeded from the input.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as usize
    }
}

/// Takes up to `n` parameter bytes from the front of `data`: `(parameter i, rest)`.
fn params(data: &[u8], n: usize) -> (impl Fn(usize) -> usize + '_, &[u8]) {
    let (head, rest) = data.split_at(data.len().min(n));
    (
        move |i: usize| usize::from(head.get(i).copied().unwrap_or(0)),
        rest,
    )
}

/// The ways a parser target cuts its input: whole, at pseudo-random points, byte by byte.
fn chunkings(input: &[u8], seed: usize) -> Vec<Vec<&[u8]>> {
    let mut rng = XorShift(seed as u32 | 1);
    let points: Vec<usize> = (0..rng.next() % 8).map(|_| rng.next()).collect();
    vec![
        vec![input],
        script::split_at(input, points),
        input.chunks(1).collect(),
    ]
}

/// Everything observable after feeding an SSE stream.
#[derive(Debug, PartialEq)]
struct SseOutcome {
    events: Vec<SseEvent>,
    error: Option<SseError>,
    last_event_id: Option<String>,
    retry_ms: Option<u64>,
}

fn sse_run(chunks: &[&[u8]], limits: SseLimits) -> SseOutcome {
    let mut decoder = SseDecoder::new(limits);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        let mut more = Vec::new();
        let result = decoder.feed(chunk, &mut more);
        match error {
            Some(e) => {
                assert_eq!(result, Err(e), "an SSE decoder must stay failed");
                assert!(more.is_empty(), "a failed SSE decoder produced events");
            }
            None => error = result.err(),
        }
        events.extend(more);
    }
    if let Some(e) = error {
        let mut more = Vec::new();
        assert_eq!(
            decoder.feed(b"data: x\n\n", &mut more),
            Err(e),
            "an SSE decoder must stay failed"
        );
        assert!(more.is_empty());
    }
    SseOutcome {
        events,
        error,
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry_ms: decoder.retry_ms(),
    }
}

/// The SSE decoder: parameter bytes choose the limits and the split points. Any chunking gives
/// the same events and error; errors carry the configured limit; no event exceeds
/// `max_event`; with limits larger than the input nothing fails; and with small limits the
/// events are a prefix of those decoded with room (equal when nothing failed).
pub fn sse(data: &[u8]) {
    let (p, input) = params(data, 4);
    let limits = SseLimits {
        max_line: 1 + p(0),
        max_event: 1 + 2 * p(1),
    };
    let seed = p(2) << 8 | p(3);
    let outcomes: Vec<SseOutcome> = chunkings(input, seed)
        .iter()
        .map(|c| sse_run(c, limits))
        .collect();
    for other in &outcomes[1..] {
        assert_eq!(&outcomes[0], other, "SSE: chunking changed the outcome");
    }
    let limited = &outcomes[0];
    match limited.error {
        None => {}
        Some(SseError::LineTooLong { limit }) => {
            assert_eq!(limit, limits.max_line, "SSE: an error with another limit")
        }
        Some(SseError::EventTooLarge { limit }) => {
            assert_eq!(limit, limits.max_event, "SSE: an error with another limit")
        }
    }
    for event in &limited.events {
        assert!(
            event.data.len() <= limits.max_event,
            "SSE: an event over max_event"
        );
    }
    // Lossy decoding turns one byte into at most three.
    let roomy = SseLimits {
        max_line: input.len() + 1,
        max_event: 3 * input.len() + 1,
    };
    let free = sse_run(&[input], roomy);
    assert_eq!(
        free.error, None,
        "SSE: an error although no line or event can exceed the limits"
    );
    assert_eq!(
        free,
        sse_run(&input.chunks(1).collect::<Vec<_>>(), roomy),
        "SSE: chunking changed the outcome"
    );
    assert!(
        free.events.starts_with(&limited.events),
        "SSE: a limit changed the events before the error"
    );
    if limited.error.is_none() {
        assert_eq!(
            &free, limited,
            "SSE: a limit that was not reached changed the outcome"
        );
    }
}

/// Everything observable after feeding a line stream and finishing it.
#[derive(Debug, PartialEq)]
struct LinesOutcome {
    lines: Vec<Vec<u8>>,
    error: Option<LineTooLong>,
    last: Option<Vec<u8>>,
}

fn lines_run(chunks: &[&[u8]], max_line: usize) -> LinesOutcome {
    let mut decoder = LineDecoder::new(max_line);
    let mut lines = Vec::new();
    let mut error = None;
    for chunk in chunks {
        let mut more = Vec::new();
        let result = decoder.feed(chunk, &mut more);
        match error {
            Some(e) => {
                assert_eq!(result, Err(e), "a line decoder must stay failed");
                assert!(more.is_empty(), "a failed line decoder produced lines");
            }
            None => error = result.err(),
        }
        lines.extend(more);
    }
    let last = decoder.finish();
    if error.is_some() {
        assert_eq!(last, None, "a failed line decoder returned a last line");
    }
    LinesOutcome { lines, error, last }
}

/// The line splitter: a parameter byte chooses the limit, others the split points. Any
/// chunking gives the same lines and error; with room it equals a reference split at `'\n'`
/// (one trailing `'\r'` removed, empty lines skipped); with a limit, the lines are a prefix of
/// those and an error means the next line really was too long.
pub fn lines(data: &[u8]) {
    let (p, input) = params(data, 3);
    let max_line = p(0) % 128;
    let seed = p(1) << 8 | p(2);
    let outcomes: Vec<LinesOutcome> = chunkings(input, seed)
        .iter()
        .map(|c| lines_run(c, max_line))
        .collect();
    for other in &outcomes[1..] {
        assert_eq!(&outcomes[0], other, "lines: chunking changed the outcome");
    }
    // The reference: split at '\n', strip one '\r', skip empty lines.
    let mut parts: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    let rest = parts.pop().unwrap_or_default();
    let strip = |l: &[u8]| l.strip_suffix(b"\r").unwrap_or(l).to_vec();
    let expected: Vec<Vec<u8>> = parts
        .iter()
        .map(|l| strip(l))
        .filter(|l| !l.is_empty())
        .collect();
    let expected_last = Some(strip(rest)).filter(|l| !l.is_empty());
    let free = lines_run(&[input], input.len() + 1);
    assert_eq!(
        free,
        LinesOutcome {
            lines: expected.clone(),
            error: None,
            last: expected_last.clone()
        },
        "lines: not the reference split"
    );
    let limited = &outcomes[0];
    assert!(
        expected.starts_with(&limited.lines),
        "lines: a limit changed the lines before the error"
    );
    match limited.error {
        None => assert_eq!((&limited.lines, &limited.last), (&expected, &expected_last)),
        Some(LineTooLong { limit }) => {
            assert_eq!(limit, max_line, "lines: an error with another limit");
            let next = expected.get(limited.lines.len()).or(expected_last.as_ref());
            assert!(
                next.is_some_and(|l| l.len() > max_line),
                "lines: LineTooLong although the next line fits"
            );
        }
    }
}

/// Raw params as a value: `Some(None)` for none, `None` for params that are valid JSON for
/// serde_json's `RawValue` but not for `Value` (too deep, a number out of range), which cannot
/// be re-encoded through `Value`.
fn value_of(params: Option<&jsonrpc::RawJson>) -> Option<Option<serde_json::Value>> {
    match params {
        None => Some(None),
        Some(raw) => serde_json::from_str(raw.get()).ok().map(Some),
    }
}

/// One decoded message, re-encoded with the crate's encoders and decoded again, as JSON values.
fn reencode(message: &Message) -> Option<(serde_json::Value, serde_json::Value)> {
    let (original, encoded) = match message {
        Message::Request { id, method, params } => {
            let params = value_of(params.as_ref())?;
            let v =
                serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            (v, jsonrpc::encode_request(id, method, params.as_ref()))
        }
        Message::Notification { method, params } => {
            let params = value_of(params.as_ref())?;
            let v = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
            (v, jsonrpc::encode_notification(method, params.as_ref()))
        }
        Message::Response { id, result } => {
            // A result that is valid JSON for serde_json's `RawValue` but not for `Value`
            // (a number out of range) cannot be re-encoded through `Value`.
            let result: serde_json::Value = serde_json::from_str(result.get()).ok()?;
            let v = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result});
            (v, jsonrpc::encode_response(id, Ok(&result)))
        }
        Message::Error {
            id: Some(id),
            error,
        } => {
            let v = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error});
            (v, jsonrpc::encode_response(id, Err(error)))
        }
        Message::Error { id: None, .. } => return None,
    };
    let again = match jsonrpc::decode(&encoded) {
        Ok(Decoded::Single(m)) => m,
        other => panic!("jsonrpc: a re-encoded {message:?} did not decode: {other:?}"),
    };
    let again = match again {
        Message::Request { id, method, params } => {
            let params = value_of(params.as_ref())?;
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        }
        Message::Notification { method, params } => {
            let params = value_of(params.as_ref())?;
            serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params})
        }
        Message::Response { id, result } => {
            let result: serde_json::Value = serde_json::from_str(result.get()).ok()?;
            serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result})
        }
        Message::Error { id, error } => {
            serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error})
        }
    };
    Some((original, again))
}

/// Whether two decodings agree: both errors, or the same messages.
fn same_decoding(
    a: &Result<Decoded, jsonrpc::DecodeError>,
    b: &Result<Decoded, jsonrpc::DecodeError>,
) -> bool {
    match (a, b) {
        (Err(_), Err(_)) => true,
        (Ok(a), Ok(b)) => format!("{a:?}") == format!("{b:?}"),
        _ => false,
    }
}

/// The JSON-RPC decoder: any input decodes or returns the typed error; JSON whitespace around
/// the text changes nothing; the shortcut for common responses reads as the general path
/// (the same message or the same error); every decoded message re-encodes to itself.
pub fn jsonrpc(data: &[u8]) {
    let decoded = jsonrpc::decode(data);
    let mut padded = b" \r\n\t".to_vec();
    padded.extend_from_slice(data);
    padded.extend_from_slice(b"\n ");
    assert!(
        same_decoding(&decoded, &jsonrpc::decode(&padded)),
        "jsonrpc: whitespace around the text changed the decoding"
    );
    assert_eq!(
        format!("{decoded:?}"),
        format!("{:?}", jsonrpc::decode_unshortened(data)),
        "jsonrpc: the shortcut for common responses read the text differently"
    );
    let messages: Vec<&Message> = match &decoded {
        Err(_) => return,
        Ok(Decoded::Single(m)) => vec![m],
        Ok(Decoded::Batch(items)) => {
            assert!(!items.is_empty(), "jsonrpc: an empty batch decoded");
            items.iter().filter_map(|i| i.as_ref().ok()).collect()
        }
    };
    for message in messages {
        if let Some((original, again)) = reencode(message) {
            assert_eq!(original, again, "jsonrpc: re-encoding changed the message");
        }
    }
}

/// Plays the script decoded from `data` three ways and compares the logs: as scripted, again
/// from another base instant, and with every op's bytes fed one at a time.
fn session(base: Instant, transport: Transport, data: &[u8]) {
    let script = Script::from_bytes(transport, data);
    let first = Driver::run(base, &script, Rechunk::AsScripted);
    let later = Driver::run(
        base + Duration::from_secs(3600),
        &script,
        Rechunk::AsScripted,
    );
    assert_same_log(&first, &later, "the same script gave different outputs");
    let bytewise = Driver::run(base, &script, Rechunk::Bytewise);
    assert_same_events(
        &first,
        &bytewise,
        "the same bytes cut differently gave different events",
    );
}

/// The HTTP session driven by an operation sequence decoded from `data`, with the invariants
/// checked after every step and determinism checked across runs. `base` is any instant (the
/// fuzz target passes the current one; the session never reads a clock).
pub fn http_session(base: Instant, data: &[u8]) {
    session(base, Transport::Http, data);
}

/// The stdio session driven by an operation sequence decoded from `data`; see
/// [`http_session`].
pub fn stdio_session(base: Instant, data: &[u8]) {
    session(base, Transport::Stdio, data);
}

/// Panics, showing the first difference, unless two logs hold the same events, command results
/// and deadlines (invariant 3 for the same bytes cut differently). Transmits and aborts are left
/// out: a session-fatal input drops what was queued to be sent in the same step, so how much of
/// it the adapter drained before depends on how the bytes arrived.
pub fn assert_same_events(a: &[String], b: &[String], what: &str) {
    let events = |log: &[String]| -> Vec<String> {
        let sent = |l: &&String| {
            l.starts_with("http ") || l.starts_with("stdin ") || l.starts_with("Abort(")
        };
        log.iter().filter(|l| !sent(l)).cloned().collect()
    };
    assert_same_log(&events(a), &events(b), what);
}

/// Panics, showing the first difference, unless two logs are identical (invariant 3).
pub fn assert_same_log(a: &[String], b: &[String], what: &str) {
    if a == b {
        return;
    }
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let context = &a[i.saturating_sub(8)..i];
    panic!(
        "invariant 3: {what}; first difference at entry {i}\n  one:   {:?}\n  other: {:?}\n  after: {context:#?}",
        a.get(i),
        b.get(i)
    );
}

/// A skill's `SKILL.md` checked against an entry made from the same bytes' frontmatter: any
/// text gives an answer, never a panic or an unbounded parse; a text that parses always
/// passes against an entry of its own frontmatter, size and digest, and fails once one
/// byte of its body changes.
pub fn skill_frontmatter(data: &[u8]) {
    use crate::schema::{SkillEntry, SkillFile, SkillResources};
    use crate::skills;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frontmatter) = skills::frontmatter(text) else {
        return;
    };
    let uri = "skill://fuzz/SKILL.md";
    let mut entry = SkillEntry {
        uri: uri.into(),
        frontmatter,
        resources: SkillResources::Listed(vec![SkillFile::new(
            uri,
            skills::digest(data),
            data.len() as u64,
        )]),
        ..Default::default()
    };
    assert_eq!(skills::verify(&entry, uri, data), Ok(()), "its own entry");
    let mut changed = data.to_vec();
    if let Some(last) = changed.last_mut() {
        *last ^= 1;
        assert!(
            skills::verify(&entry, uri, &changed).is_err(),
            "a changed byte"
        );
    }
    let key = "\u{0}fuzz";
    let other = !matches!(
        entry.frontmatter.get(key),
        Some(serde_json::Value::Bool(true))
    );
    entry
        .frontmatter
        .insert(key.into(), serde_json::Value::Bool(other));
    assert!(skills::verify(&entry, uri, data).is_err(), "an extra field");
}
