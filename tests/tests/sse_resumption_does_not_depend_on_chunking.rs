//! Invariant 3 for SSE resumption: how the bytes of a resumed stream are cut must not change
//! how many resumptions remain.
//!
//! Known core bug, found by the fuzzing work (ignored until fixed): the session notes a
//! stream's last event id once per body chunk (`note_stream_position` in
//! `core/src/session/http.rs`), and resets the resumption counter whenever the id differs from
//! the one it remembers. Two priming events `id: e2` then `id: e1`, on a stream resumed from
//! `e1`, reset the counter when they arrive in separate chunks and not when they arrive in one,
//! so with `max_resume_attempts: 1` the request fails with `StreamLost` (one chunk) or is
//! resumed again and later times out (byte by byte).

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
#[ignore = "core bug: the SSE resumption counter depends on how the stream's bytes are cut"]
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
