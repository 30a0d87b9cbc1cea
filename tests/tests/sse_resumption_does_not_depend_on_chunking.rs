//! Invariant 3 for SSE streams: how a stream's bytes are cut must not change how it is resumed
//! (how many resumptions remain, which event id is remembered).
//!
//! Found by the fuzzer: the session used to sample a stream's last event id once per body
//! chunk, so ids that changed within one chunk were seen or missed depending on the chunking.
//! Now each stream's decoder starts from the id the last one left off at, and where a stream
//! left off is settled once, when it ends.

use std::time::Instant;

use mcpwire_core::fuzzing::script::{
    ContentType, Ev, EvKind, Handshake, Msg, Op, Pick, Script, Setup, Transport,
};
use mcpwire_core::fuzzing::{assert_same_events, Driver, Rechunk};

fn priming(id: u8) -> Ev {
    Ev {
        id: Some(id),
        retry: None,
        kind: EvKind::Plain,
        data: None,
        crlf: false,
    }
}

#[test]
fn priming_events_reset_resumption_the_same_way_however_cut() {
    let script = Script {
        transport: Transport::Http,
        setup: Setup {
            max_resume_attempts: 1,
            ..Setup::default()
        },
        handshake: Handshake::JsonWithSession,
        ops: vec![
            Op::Request {
                timeout_ms: None,
                progress: false,
                large: false,
            },
            // An SSE answer with an event `id: e1`, then the stream ends: resume after 1 s.
            Op::Answer {
                exchange: Pick::Last,
                msg: Msg::Notification,
                sse_id: Some(1),
                end: true,
            },
            Op::ToDeadline,
            // The resuming GET: two priming events, `e2` then `e1`, then the end.
            Op::Head {
                exchange: Pick::Last,
                status: 200,
                content_type: ContentType::Sse,
                session_id: None,
                retry_after: false,
                www_authenticate: false,
            },
            Op::Sse {
                exchange: Pick::Last,
                events: vec![priming(2), priming(1)],
                splits: vec![],
            },
            Op::End(Pick::Last),
        ],
    };
    let base = Instant::now();
    let whole = Driver::run(base, &script, Rechunk::Whole);
    let bytewise = Driver::run(base, &script, Rechunk::Bytewise);
    assert_same_events(
        &whole,
        &bytewise,
        "cutting the resumed stream changed the events",
    );
}

/// The same bug, second face: an `id:` that resets the last event id, after `id: e1`, on the GET
/// stream. Fed whole, the stream has no last event id when it ends, so it is not reopened; fed
/// byte by byte, the session remembered `e1` after the first event and reopens the stream.
#[test]
fn an_id_reset_is_remembered_the_same_way_however_cut() {
    let script = Script {
        transport: Transport::Http,
        setup: Setup {
            max_resume_attempts: 1,
            ..Setup::default()
        },
        handshake: Handshake::JsonWithSession,
        ops: vec![
            // The GET stream (opened by the handshake): `id: e1`, then `id:` (a reset).
            Op::Sse {
                exchange: Pick::Last,
                events: vec![priming(1), priming(0)],
                splits: vec![],
            },
            Op::End(Pick::Last),
        ],
    };
    let base = Instant::now();
    let whole = Driver::run(base, &script, Rechunk::Whole);
    let bytewise = Driver::run(base, &script, Rechunk::Bytewise);
    assert_same_events(
        &whole,
        &bytewise,
        "cutting the GET stream changed the events",
    );
}
