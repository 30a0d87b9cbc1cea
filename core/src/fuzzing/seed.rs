//! A recording turned into a seed for the session fuzz targets (`http_session`,
//! `stdio_session`): the bytes that [`Script::from_bytes`](super::Script::from_bytes) decodes
//! into the recorded session's commands and inputs, as near as the script language says them.
//!
//! What carries over: requests (as `tools/call`, with their timeouts and progress; the ids
//! line up, since ids are allocated in order whatever the method), cancels, answers to server
//! requests with numeric ids, notifications, closes, response heads (the status, or the
//! nearest the scripts know; the content type; whether there was a session id, a
//! `Retry-After`, a `WWW-Authenticate`), body and stdout bytes in 48-byte pieces, ends,
//! transport failures, the child's exit, timers and the passing of time. The start is the
//! scripts' "no help" one of the recording's revision, so the recorded handshake is played
//! as it was. What does not: the configuration beyond the scripts' knobs (the seed uses the
//! default policy with the largest message limit the scripts have), the OAuth flow, exchanges
//! and request ids past 255, and anything past the scripts' 256 operations. A seed is a
//! starting point for the fuzzer, not a replay: [`crate::record::replay`] is that.

use super::script::STATUSES;
use super::Transport;
use crate::record::{Command, InputRecord, Line, Recording};

/// The most operations a script decodes.
const MAX_OPS: usize = 256;

/// The fuzz target a recording seeds, and the seed's bytes.
pub fn from_recording(recording: &Recording) -> (Transport, Vec<u8>) {
    let transport = match recording.header.transport {
        crate::record::RecordedTransport::Http { .. }
        | crate::record::RecordedTransport::LegacySse { .. } => Transport::Http,
        crate::record::RecordedTransport::Stdio => Transport::Stdio,
    };
    let mut seed = Vec::new();
    // The setup, in the order `Script::from_bytes` reads it: the largest limit, then the
    // defaults (a pick of index 0, flags as the default policy has them).
    seed.extend_from_slice(&[15, 0, 0, 1, 0, 1, 3, 0, 0, 1, 0, 0, 0, 0, 1]);
    // No help with the handshake: the recorded one is played.
    let legacy = recording.header.config.revision == "legacy";
    seed.push(if legacy { 3 } else { 7 });
    if transport == Transport::Http {
        seed.push(1); // no OAuth flow
    }
    let mut ops = 0;
    let mut last_t = 0u64;
    for (_, line) in &recording.lines {
        if ops >= MAX_OPS {
            break;
        }
        if let Some(t) = line.t() {
            let ms = t.saturating_sub(last_t) / 1_000_000;
            let steps = [700_000u64, 60_000, 30_000, 5000, 1000, 999, 10, 1];
            if let Some(step) = steps.iter().position(|s| *s <= ms) {
                // `Advance` picks from these, smallest first.
                seed.extend_from_slice(&[20, 7 - step as u8]);
                ops += 1;
                last_t += steps[step] * 1_000_000;
            }
        }
        let before = seed.len();
        match line {
            Line::Cmd { cmd, .. } => command(&mut seed, cmd),
            Line::In { input, .. } => ops += input_ops(&mut seed, input, transport),
            _ => {}
        }
        if seed.len() > before && matches!(line, Line::Cmd { .. }) {
            ops += 1;
        }
    }
    (transport, seed)
}

/// `Pick::Raw(n)`, if `n` fits.
fn raw(n: u64) -> Option<[u8; 2]> {
    u8::try_from(n).ok().map(|n| [7, n])
}

fn command(seed: &mut Vec<u8>, cmd: &Command) {
    match cmd {
        Command::Request {
            timeout_ns,
            progress,
            ..
        } => {
            seed.push(0);
            match timeout_ns {
                Some(ns) => {
                    let units = (ns / 4_000_000).min(u64::from(u16::MAX)) as u16;
                    seed.push(1);
                    seed.extend_from_slice(&units.to_le_bytes());
                }
                None => seed.push(0),
            }
            seed.push(u8::from(*progress));
            seed.push(1); // not large
        }
        Command::Cancel { id, .. } => {
            if let Some(pick) = raw(*id) {
                seed.push(3);
                seed.extend_from_slice(&pick);
            }
        }
        Command::Respond { id, answer, .. } => {
            if let Some(pick) = match id {
                crate::jsonrpc::Id::Number(n) => u64::try_from(*n).ok().and_then(raw),
                _ => None,
            } {
                seed.push(4);
                seed.extend_from_slice(&pick);
                seed.push(u8::from(answer.is_err()));
            }
        }
        Command::Notify { .. } => seed.extend_from_slice(&[5, 1, 1]),
        Command::Listen { .. } => seed.extend_from_slice(&[5, 0]),
        Command::Redirect { result } => {
            seed.extend_from_slice(&[5, 1, 0, u8::from(result.is_ok())])
        }
        Command::Close => seed.extend_from_slice(&[6, 0]),
    }
}

/// Writes the ops of one input; returns how many.
fn input_ops(seed: &mut Vec<u8>, input: &InputRecord, transport: Transport) -> usize {
    let bytes = |data: &crate::record::Data| match data {
        crate::record::Data::Text(s) => s.as_bytes().to_vec(),
        crate::record::Data::Bytes { b64 } => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default()
        }
    };
    match (input, transport) {
        (InputRecord::Head { x, status, headers }, Transport::Http) => {
            let Some(pick) = raw(*x) else { return 0 };
            let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            let content_type = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.to_ascii_lowercase());
            let status = STATUSES
                .iter()
                .position(|s| s == status)
                .or_else(|| STATUSES.iter().position(|s| s / 100 == status / 100))
                .unwrap_or(0);
            seed.push(7);
            seed.extend_from_slice(&pick);
            seed.push(status as u8);
            // Json, Sse, None, in the order the scripts pick them.
            seed.push(match content_type.as_deref() {
                Some(t) if t.starts_with("application/json") => 0,
                Some(t) if t.starts_with("text/event-stream") => 1,
                _ => 2,
            });
            match has("mcp-session-id") {
                true => seed.extend_from_slice(&[1, 0]),
                false => seed.push(0),
            }
            seed.push(if has("retry-after") { 0 } else { 1 });
            seed.push(if has("www-authenticate") { 0 } else { 1 });
            1
        }
        (InputRecord::Body { x, data }, Transport::Http) => {
            let Some(pick) = raw(*x) else { return 0 };
            let body = bytes(data);
            let mut n = 0;
            for piece in body.chunks(48) {
                seed.push(11);
                seed.extend_from_slice(&pick);
                seed.push(piece.len() as u8);
                seed.extend_from_slice(piece);
                seed.push(0); // no splits
                n += 1;
            }
            n
        }
        (InputRecord::End { x }, Transport::Http) => raw(*x).map_or(0, |pick| {
            seed.push(12);
            seed.extend_from_slice(&pick);
            1
        }),
        (InputRecord::Failed { x, error }, Transport::Http) => raw(*x).map_or(0, |pick| {
            seed.push(13);
            seed.extend_from_slice(&pick);
            let kinds = ["reset", "connect", "tls", "connect_timeout", "other"];
            seed.push(kinds.iter().position(|k| *k == error.kind).unwrap_or(4) as u8);
            1
        }),
        (InputRecord::Stdout { data }, Transport::Stdio) => {
            let out = bytes(data);
            let mut n = 0;
            for piece in out.chunks(48) {
                seed.push(8);
                seed.push(piece.len() as u8);
                seed.extend_from_slice(piece);
                seed.push(0);
                n += 1;
            }
            n
        }
        (InputRecord::StdoutClosed, Transport::Stdio) => {
            seed.extend_from_slice(&[19, 0]);
            1
        }
        (InputRecord::Exited { code }, Transport::Stdio) => {
            match code.and_then(|c| u8::try_from(c).ok()) {
                Some(c) => seed.extend_from_slice(&[19, 1, 1, c]),
                None => seed.extend_from_slice(&[19, 1, 0]),
            }
            1
        }
        (InputRecord::WriteFailed { .. }, Transport::Stdio) => {
            seed.extend_from_slice(&[19, 2]);
            1
        }
        (InputRecord::Timeout, _) => {
            seed.push(22);
            1
        }
        _ => 0,
    }
}
