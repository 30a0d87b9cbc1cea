//! Proptest strategies for random scripts of commands and inputs, the same
//! [`Script`] type the fuzz targets decode from bytes.
//! Every type in a script has a readable `Debug`, so a shrunk failure reads as a short story.

use mcpwire_core::fuzzing::script::{
    Ask, AuthDoc, Blob, ContentType, Ev, EvKind, Flood, Handshake, Init, Line, Msg, Op, Pick,
    Script, Setup, Target, Transport, STATUSES,
};
use mcpwire_core::{Scope, TransportErrorKind};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;

/// How many ops a random script has at most.
pub const MAX_OPS: usize = 40;

/// A session configuration: mostly the defaults, with small limits, short deadlines, a cap on
/// outstanding requests, request-scoped 5xx and declared capabilities now and then.
pub fn setup() -> impl Strategy<Value = Setup> {
    let limit = prop_oneof![2 => Just(1024u16), 2 => Just(512), 1 => 256u16..4096];
    let timeouts = prop_oneof![
        6 => Just((60_000u32, 600_000u32)),
        2 => (100u32..10_000, 1000u32..200_000),
        1 => (0u32..200, 0u32..1000),
    ];
    let retry = prop_oneof![3 => Just((1000u32, 30_000u32)), 1 => (0u32..5000, 0u32..60_000)];
    // The bounds the hostile-server work added: mostly the defaults, sometimes tight.
    let bounds = prop_oneof![
        3 => Just((100u32, 100u8, 64u8, 32u32 << 20, true)),
        1 => (0u32..500, 0u8..4, 0u8..4, 0u32..8192, prop::bool::weighted(0.7)),
    ];
    (
        limit,
        timeouts,
        prop::bool::weighted(0.8),
        option::weighted(0.15, 0u8..6),
        prop::bool::weighted(0.2),
        0u8..5,
        retry,
        any::<bool>(),
        bounds,
    )
        .prop_map(
            |(
                limit,
                (timeout, max),
                resets,
                cap,
                request_scope,
                attempts,
                (retry, max_retry),
                caps,
                (min_retry, reconnects, exchanges, backlog, reads),
            )| Setup {
                limit,
                request_timeout_ms: timeout,
                max_request_time_ms: max,
                progress_resets_timeout: resets,
                max_outstanding: cap,
                server_error_scope: if request_scope {
                    Scope::Request
                } else {
                    Scope::Session
                },
                max_resume_attempts: attempts,
                default_retry_ms: retry,
                max_retry_ms: max_retry,
                capabilities: caps,
                min_retry_ms: min_retry,
                max_reconnects: reconnects,
                max_concurrent_exchanges: exchanges,
                max_send_backlog: backlog,
                stdin_reads: reads,
                // Set from the handshake by the script strategies.
                revision: mcpwire_core::Revision::Legacy,
                oauth: false,
            },
        )
}

/// One of the things the session made: mostly real ones, sometimes a raw id.
pub fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![3 => any::<u8>().prop_map(Pick::Nth), 3 => Just(Pick::Last), 1 => (0u16..20).prop_map(Pick::Raw)]
}

/// Whose id a message carries.
pub fn target() -> impl Strategy<Value = Target> {
    prop_oneof![5 => Just(Target::Carried), 3 => pick().prop_map(Target::Request), 1 => any::<u8>().prop_map(Target::Text)]
}

fn bytes(max: usize) -> impl Strategy<Value = Blob> {
    vec(any::<u8>(), 0..max).prop_map(Blob)
}

fn leaf_msg() -> impl Strategy<Value = Msg> {
    let ask = select(
        &[
            Ask::Ping,
            Ask::Roots,
            Ask::Sampling,
            Ask::Elicitation,
            Ask::Unknown,
        ][..],
    );
    let init = select(&[Init::Latest, Init::Older, Init::Unsupported, Init::Invalid][..]);
    prop_oneof![
        6 => target().prop_map(Msg::Result),
        2 => target().prop_map(Msg::Error),
        1 => Just(Msg::ErrorWithoutId),
        1 => init.prop_map(Msg::Init),
        3 => target().prop_map(Msg::Progress),
        2 => Just(Msg::Notification),
        2 => (ask, any::<u8>()).prop_map(|(ask, id)| Msg::ServerRequest { ask, id }),
        1 => Just(Msg::NotJsonRpc),
        1 => bytes(24).prop_map(Msg::NotJson),
        1 => (target(), 0u16..8192).prop_map(|(t, n)| Msg::Large(t, n)),
        1 => Just(Msg::Blank),
        // 2026-07-28.
        1 => target().prop_map(Msg::Discover),
        1 => target().prop_map(Msg::VersionError),
        2 => (target(), any::<bool>()).prop_map(|(target, ask)| Msg::InputRequired { target, ask }),
        1 => target().prop_map(Msg::UnknownResultType),
        1 => target().prop_map(Msg::Acknowledged),
        1 => target().prop_map(Msg::Subscribed),
        // The OAuth flow's documents.
        2 => select(&[AuthDoc::ResourceMetadata, AuthDoc::ServerMetadata, AuthDoc::Token, AuthDoc::TokenError][..]).prop_map(Msg::Auth),
    ]
}

/// A message from the server, sometimes a batch.
pub fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![12 => leaf_msg(), 1 => vec(leaf_msg(), 1..4).prop_map(Msg::Batch)]
}

/// One SSE event.
pub fn ev() -> impl Strategy<Value = Ev> {
    let kind = prop_oneof![4 => Just(EvKind::Plain), 1 => Just(EvKind::Message), 1 => Just(EvKind::Other), 1 => Just(EvKind::Comment)];
    (
        option::weighted(0.4, 0u8..6),
        option::weighted(0.2, select(&[0u16, 5, 1000, 60_000][..])),
        kind,
        option::weighted(0.85, msg()),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(id, retry, kind, data, crlf)| Ev {
            id,
            retry,
            kind,
            data,
            crlf,
        })
}

fn splits() -> impl Strategy<Value = Vec<u16>> {
    vec(any::<u16>(), 0..4)
}

fn content_type() -> impl Strategy<Value = ContentType> {
    prop_oneof![
        4 => Just(ContentType::Json),
        4 => Just(ContentType::Sse),
        1 => Just(ContentType::None),
        1 => Just(ContentType::JsonUtf8),
        1 => Just(ContentType::SseMixedCase),
        1 => Just(ContentType::Text),
        1 => Just(ContentType::Html),
    ]
}

fn flood() -> impl Strategy<Value = Flood> {
    select(
        &[
            Flood::Line,
            Flood::DataLines,
            Flood::Events,
            Flood::Comments,
            Flood::Blank,
            Flood::Garbage,
        ][..],
    )
}

fn request() -> impl Strategy<Value = Op> {
    let timeout = option::weighted(0.3, prop_oneof![0u32..2000, 1000u32..120_000]);
    (timeout, any::<bool>(), prop::bool::weighted(0.05)).prop_map(
        |(timeout_ms, progress, large)| Op::Request {
            timeout_ms,
            progress,
            large,
        },
    )
}

fn time() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop_oneof![0u32..2000, 1000u32..120_000, 100_000u32..800_000].prop_map(|ms| Op::Advance { ms }),
        3 => Just(Op::ToDeadline),
        1 => (0u16..10_000).prop_map(|ms| Op::Rewind { ms }),
    ]
}

fn process_end() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::StdoutClosed),
        option::of(-1i32..256).prop_map(Op::Exit),
        Just(Op::WriteFailed),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    (msg(), prop::bool::weighted(0.2)).prop_map(|(msg, crlf)| Line { msg, crlf })
}

fn fail_kind() -> impl Strategy<Value = TransportErrorKind> {
    select(
        &[
            TransportErrorKind::Reset,
            TransportErrorKind::Connect,
            TransportErrorKind::ConnectTimeout,
            TransportErrorKind::Tls,
            TransportErrorKind::Other,
        ][..],
    )
}

fn head() -> impl Strategy<Value = Op> {
    (
        pick(),
        select(STATUSES),
        content_type(),
        option::weighted(0.3, 0u8..3),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(exchange, status, content_type, session_id, retry_after, www_authenticate)| {
                Op::Head {
                    exchange,
                    status,
                    content_type,
                    session_id,
                    retry_after,
                    www_authenticate,
                }
            },
        )
}

fn answer() -> impl Strategy<Value = Op> {
    (
        pick(),
        msg(),
        option::weighted(0.4, 0u8..4),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(exchange, msg, sse_id, end)| Op::Answer {
            exchange,
            msg,
            sse_id,
            end,
        })
}

/// One op of an HTTP script: mostly commands, HTTP inputs on real exchanges and time; now and
/// then a stdio input, which the session must ignore.
pub fn http_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => request(),
        2 => pick().prop_map(Op::Cancel),
        2 => (pick(), any::<bool>()).prop_map(|(to, error)| Op::Respond { to, error }),
        1 => Just(Op::Notify),
        1 => Just(Op::Listen),
        1 => any::<bool>().prop_map(|ok| Op::Redirect { ok }),
        1 => Just(Op::Close),
        4 => head(),
        3 => (pick(), msg(), splits()).prop_map(|(exchange, msg, splits)| Op::Json { exchange, msg, splits }),
        4 => (pick(), vec(ev(), 1..4), splits()).prop_map(|(exchange, events, splits)| Op::Sse { exchange, events, splits }),
        1 => (pick(), bytes(48), splits()).prop_map(|(exchange, bytes, splits)| Op::Bytes { exchange, bytes, splits }),
        3 => pick().prop_map(Op::End),
        2 => (pick(), fail_kind()).prop_map(|(exchange, kind)| Op::Fail { exchange, kind }),
        8 => answer(),
        1 => (pick(), flood(), kib()).prop_map(|(exchange, kind, kib)| Op::Flood { exchange, kind, kib }),
        1 => process_end(),
        7 => time(),
    ]
}

/// One op of a stdio script: mostly commands, stdout lines and time; now and then an HTTP
/// input, which the session must ignore.
pub fn stdio_op() -> impl Strategy<Value = Op> {
    let stdout =
        (vec(line(), 1..4), splits()).prop_map(|(lines, splits)| Op::Stdout { lines, splits });
    let answer = msg().prop_map(|msg| Op::Answer {
        exchange: Pick::Last,
        msg,
        sse_id: None,
        end: true,
    });
    prop_oneof![
        6 => request(),
        2 => pick().prop_map(Op::Cancel),
        2 => (pick(), any::<bool>()).prop_map(|(to, error)| Op::Respond { to, error }),
        1 => Just(Op::Notify),
        1 => Just(Op::Listen),
        1 => Just(Op::Close),
        8 => stdout,
        6 => answer,
        2 => (bytes(48), splits()).prop_map(|(bytes, splits)| Op::StdoutBytes { bytes, splits }),
        1 => (flood(), kib()).prop_map(|(kind, kib)| Op::StdoutFlood { kind, kib }),
        1 => process_end(),
        1 => head(),
        7 => time(),
    ]
}

/// A random HTTP script.
pub fn http_script() -> impl Strategy<Value = Script> {
    let handshake = prop_oneof![
        4 => Just(Handshake::JsonWithSession),
        2 => Just(Handshake::Json),
        2 => Just(Handshake::Sse),
        1 => Just(Handshake::None),
        3 => Just(Handshake::Discover),
        1 => Just(Handshake::DiscoverSse),
        2 => Just(Handshake::DiscoverRefused),
        1 => Just(Handshake::DiscoverNone),
        1 => Just(Handshake::Modern),
    ];
    (
        setup(),
        handshake,
        any::<bool>(),
        vec(http_op(), 0..MAX_OPS),
    )
        .prop_map(|(setup, handshake, oauth, ops)| Script {
            transport: Transport::Http,
            setup: Setup {
                revision: handshake.revision(),
                oauth,
                ..setup
            },
            handshake,
            ops,
        })
}

/// A random stdio script.
pub fn stdio_script() -> impl Strategy<Value = Script> {
    let handshake = prop_oneof![
        4 => Just(Handshake::Json),
        1 => Just(Handshake::None),
        3 => Just(Handshake::Discover),
        2 => Just(Handshake::DiscoverRefused),
        1 => Just(Handshake::DiscoverNone),
        1 => Just(Handshake::Modern),
    ];
    (setup(), handshake, vec(stdio_op(), 0..MAX_OPS)).prop_map(|(setup, handshake, ops)| Script {
        transport: Transport::Stdio,
        setup: Setup {
            revision: handshake.revision(),
            ..setup
        },
        handshake,
        ops,
    })
}

/// Bytes made of `tokens`, for parser inputs that look like the real thing.
pub fn token_soup(tokens: &'static [&'static [u8]], max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(select(tokens), 0..max).prop_map(|parts| parts.concat())
}

/// How many KiB a flood has: a few, or more than the largest buffer the core may keep.
fn kib() -> impl Strategy<Value = u8> {
    prop_oneof![1u8..=16, 96u8..=160]
}

/// The configuration of the property tests: proptest's defaults (256 cases, or
/// `PROPTEST_CASES`), with failing cases saved to `regressions` (a path under
/// `tests/proptest-regressions/`, relative to the crate, where tests run) and replayed first.
pub fn config(regressions: &'static str) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    }
}
