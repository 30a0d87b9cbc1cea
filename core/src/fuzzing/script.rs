//! Scripts of commands and inputs, played by the [`Driver`](super::Driver).
//!
//! A [`Script`] is plain data with a readable `Debug`, so a shrunk failing case reads as a short
//! story. Inputs name exchanges and ids relative to what the session actually did ([`Pick`],
//! [`Target`]), so random scripts hit real exchanges and real requests. The fuzz targets decode
//! a script from bytes ([`Script::from_bytes`]); the property tests generate one with proptest.

use std::fmt;
use std::time::Duration;

use serde_json::json;

use crate::schema::{ClientCapabilities, RootsCapability};
use crate::{Config, Policy, Scope, TransportErrorKind};

/// Bytes, shown as an escaped byte string.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// Which transport a script drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// A child process's stdin and stdout.
    Stdio,
}

/// The session's configuration, in a few readable knobs.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// `max_message_size` and `max_sse_line`, in bytes.
    pub limit: u16,
    /// `request_timeout`.
    pub request_timeout_ms: u32,
    /// `max_request_time`.
    pub max_request_time_ms: u32,
    /// `progress_resets_timeout`.
    pub progress_resets_timeout: bool,
    /// `max_outstanding`.
    pub max_outstanding: Option<u8>,
    /// `server_error_scope`.
    pub server_error_scope: Scope,
    /// `max_resume_attempts`.
    pub max_resume_attempts: u8,
    /// `default_retry`.
    pub default_retry_ms: u32,
    /// `max_retry`.
    pub max_retry_ms: u32,
    /// Declare roots, sampling and elicitation, so server requests for them reach the
    /// application.
    pub capabilities: bool,
    /// `min_retry`.
    pub min_retry_ms: u32,
    /// `max_reconnects`.
    pub max_reconnects: u8,
    /// `max_concurrent_exchanges`.
    pub max_concurrent_exchanges: u8,
    /// `max_send_backlog`, in bytes.
    pub max_send_backlog: u32,
    /// The server reads what the client writes to its stdin (the driver reports each write
    /// taken before the next op); when false it never does.
    pub stdin_reads: bool,
    /// The revision the client speaks (from the [`Handshake`]).
    pub revision: crate::Revision,
    /// An OAuth flow is configured (a pre-registered client): a 401 runs it.
    pub oauth: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            limit: 1024,
            request_timeout_ms: 60_000,
            max_request_time_ms: 600_000,
            progress_resets_timeout: true,
            max_outstanding: None,
            server_error_scope: Scope::Session,
            max_resume_attempts: 3,
            default_retry_ms: 1000,
            max_retry_ms: 30_000,
            capabilities: false,
            min_retry_ms: 100,
            max_reconnects: 100,
            max_concurrent_exchanges: 64,
            max_send_backlog: 32 << 20,
            stdin_reads: true,
            revision: crate::Revision::Legacy,
            oauth: false,
        }
    }
}

impl Setup {
    /// The session configuration these knobs describe.
    pub fn config(&self) -> Config {
        let limit = usize::from(self.limit.max(1));
        let policy = Policy {
            server_error_scope: self.server_error_scope,
            request_timeout: ms(self.request_timeout_ms),
            progress_resets_timeout: self.progress_resets_timeout,
            max_request_time: ms(self.max_request_time_ms),
            max_message_size: limit,
            max_sse_line: limit,
            max_outstanding: self.max_outstanding.map(usize::from),
            max_resume_attempts: u32::from(self.max_resume_attempts),
            server_stream_wait: ms(self.default_retry_ms),
            default_retry: ms(self.default_retry_ms),
            max_retry: ms(self.max_retry_ms),
            min_retry: ms(self.min_retry_ms),
            max_reconnects: u32::from(self.max_reconnects),
            max_concurrent_exchanges: usize::from(self.max_concurrent_exchanges),
            max_send_backlog: self.max_send_backlog as usize,
            ..Policy::default()
        };
        let capabilities = if self.capabilities {
            ClientCapabilities {
                roots: Some(RootsCapability::default()),
                sampling: Some(json!({})),
                elicitation: Some(json!({})),
                ..ClientCapabilities::default()
            }
        } else {
            ClientCapabilities::default()
        };
        let auth = self.oauth.then(|| {
            let client = crate::auth::PreRegistered::new("fuzz-client");
            let config =
                crate::auth::Config::new("http://127.0.0.1:1/callback").pre_registered(client);
            crate::Authorization::new(config)
        });
        Config {
            policy,
            capabilities,
            revision: self.revision,
            auth,
            ..Config::default()
        }
    }
}

/// How the script starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// No help: the ops must answer `initialize` themselves (or not).
    None,
    /// `initialize` answered with a JSON body, without a session id.
    Json,
    /// `initialize` answered with a JSON body and `Mcp-Session-Id`.
    JsonWithSession,
    /// `initialize` answered with an SSE event carrying an id, and `Mcp-Session-Id`.
    Sse,
    /// 2026-07-28 (the probe by default): `server/discover` answered with a JSON body.
    Discover,
    /// 2026-07-28: `server/discover` answered with an SSE event.
    DiscoverSse,
    /// The probe refused as a server of the 2025 era does (a 400, or over stdio an error),
    /// then `initialize` answered with a JSON body and `Mcp-Session-Id`.
    DiscoverRefused,
    /// The probe, with no help: the ops must answer it (or not).
    DiscoverNone,
    /// Pinned to 2026-07-28: `server/discover` answered with a JSON body.
    Modern,
}

impl Handshake {
    /// The revision the client speaks with this start.
    pub fn revision(self) -> crate::Revision {
        match self {
            Handshake::None | Handshake::Json | Handshake::JsonWithSession | Handshake::Sse => {
                crate::Revision::Legacy
            }
            Handshake::Modern => crate::Revision::Modern,
            _ => crate::Revision::Auto,
        }
    }
}

/// One thing that happens: a command from the application, an input from the transport, or
/// the passing of time.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `request("tools/call", ..)`; `large` makes its params larger than the message limit.
    Request {
        /// Its timeout, or the policy's.
        timeout_ms: Option<u32>,
        /// Ask for progress.
        progress: bool,
        /// Params over the message limit.
        large: bool,
    },
    /// `cancel` a request started earlier (or an id never started).
    Cancel(Pick),
    /// `respond` to a server request seen earlier (or to an unknown id).
    Respond {
        /// Which server request.
        to: Pick,
        /// Answer with an error object rather than a result.
        error: bool,
    },
    /// `notify("notifications/roots/list_changed")`.
    Notify,
    /// `listen` (2026-07-28) for the tool list's changes.
    Listen,
    /// The user step of authorization ends: the browser comes back with a code and the
    /// flow's `state` (`ok`), or the user gave up.
    Redirect {
        /// The browser came back.
        ok: bool,
    },
    /// `close`.
    Close,
    /// A response head on an exchange.
    Head {
        /// Which exchange.
        exchange: Pick,
        /// Its status.
        status: u16,
        /// Its content type.
        content_type: ContentType,
        /// An `Mcp-Session-Id` header, `sess-<n>`.
        session_id: Option<u8>,
        /// A `Retry-After` header.
        retry_after: bool,
        /// A `WWW-Authenticate` header.
        www_authenticate: bool,
    },
    /// A JSON message as body bytes, cut at `splits`.
    Json {
        /// Which exchange.
        exchange: Pick,
        /// The message.
        msg: Msg,
        /// Where the bytes are cut into inputs.
        splits: Vec<u16>,
    },
    /// SSE events as body bytes, cut at `splits`.
    Sse {
        /// Which exchange.
        exchange: Pick,
        /// The events.
        events: Vec<Ev>,
        /// Where the bytes are cut into inputs.
        splits: Vec<u16>,
    },
    /// Raw body bytes, cut at `splits`.
    Bytes {
        /// Which exchange.
        exchange: Pick,
        /// The bytes.
        bytes: Blob,
        /// Where the bytes are cut into inputs.
        splits: Vec<u16>,
    },
    /// The end of a response body.
    End(Pick),
    /// A transport failure of an exchange.
    Fail {
        /// Which exchange.
        exchange: Pick,
        /// What failed.
        kind: TransportErrorKind,
    },
    /// A whole answer: a 200 head, the message as JSON or as one SSE event, and (if `end`) the
    /// end. Over stdio, the message as a line.
    Answer {
        /// Which exchange.
        exchange: Pick,
        /// The message.
        msg: Msg,
        /// Send it as an SSE event with this id (`Some(0)`: an event without an id).
        sse_id: Option<u8>,
        /// End the body.
        end: bool,
    },
    /// Many kilobytes on an exchange, as scripted in 4 KiB inputs.
    Flood {
        /// Which exchange.
        exchange: Pick,
        /// What the bytes are.
        kind: Flood,
        /// How many KiB.
        kib: u8,
    },
    /// Lines on stdout, cut at `splits`.
    Stdout {
        /// The lines.
        lines: Vec<Line>,
        /// Where the bytes are cut into inputs.
        splits: Vec<u16>,
    },
    /// Raw bytes on stdout, cut at `splits`.
    StdoutBytes {
        /// The bytes.
        bytes: Blob,
        /// Where the bytes are cut into inputs.
        splits: Vec<u16>,
    },
    /// Many kilobytes on stdout, as scripted in 4 KiB inputs.
    StdoutFlood {
        /// What the bytes are.
        kind: Flood,
        /// How many KiB.
        kib: u8,
    },
    /// stdout closes.
    StdoutClosed,
    /// The process exits.
    Exit(Option<i32>),
    /// Writing to stdin fails.
    WriteFailed,
    /// Time passes, then `Input::Timeout`.
    Advance {
        /// How long.
        ms: u32,
    },
    /// Time jumps to the next deadline exactly, then `Input::Timeout`.
    ToDeadline,
    /// `Input::Timeout` with a `now` earlier than the last one (the session must not go back).
    Rewind {
        /// How far back.
        ms: u16,
    },
}

/// Which of the things the session made so far (exchanges, requests, server requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The n-th (modulo how many there are).
    Nth(u8),
    /// The most recent.
    Last,
    /// This raw id, whether or not it exists.
    Raw(u16),
}

/// Whose id a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The request the exchange carried (over stdio, or when it carried none: the oldest
    /// outstanding request).
    Carried,
    /// A request the application started (or a raw id).
    Request(Pick),
    /// A string id `t<n>`, never ours.
    Text(u8),
}

/// A message from the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// A result.
    Result(Target),
    /// A JSON-RPC error response.
    Error(Target),
    /// An error response with a null id.
    ErrorWithoutId,
    /// The result of `initialize` (id 0).
    Init(Init),
    /// `notifications/progress` for a request's token.
    Progress(Target),
    /// `notifications/message`.
    Notification,
    /// A server request, with id `n`.
    ServerRequest {
        /// Its method.
        ask: Ask,
        /// Its id.
        id: u8,
    },
    /// A batch.
    Batch(Vec<Msg>),
    /// JSON that is not JSON-RPC.
    NotJsonRpc,
    /// Bytes that are not JSON.
    NotJson(Blob),
    /// A result padded to `size` bytes (to cross the limit).
    Large(Target, u16),
    /// 2026-07-28: a `server/discover` result.
    Discover(Target),
    /// 2026-07-28: an `UnsupportedProtocolVersionError` (-32022) listing 2026-07-28.
    VersionError(Target),
    /// 2026-07-28: an `input_required` result asking for an elicitation (`ask`), or with
    /// only a `requestState`.
    InputRequired {
        /// Whose.
        target: Target,
        /// It asks for an elicitation.
        ask: bool,
    },
    /// 2026-07-28: a result whose `resultType` nobody knows.
    UnknownResultType(Target),
    /// 2026-07-28: `notifications/subscriptions/acknowledged` for a subscription.
    Acknowledged(Target),
    /// 2026-07-28: a list-changed notification of a subscription.
    Subscribed(Target),
    /// A document of the OAuth flow (not JSON-RPC): for the flow's exchanges.
    Auth(AuthDoc),
    /// Nothing (an empty body, a blank line, an empty `data`).
    Blank,
}

/// A document an OAuth flow's request is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthDoc {
    /// Protected resource metadata naming the authorization server.
    ResourceMetadata,
    /// The authorization server's metadata.
    ServerMetadata,
    /// A token response.
    Token,
    /// A token error (`invalid_grant`).
    TokenError,
}

/// What `initialize` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// The latest protocol version.
    Latest,
    /// An older supported version.
    Older,
    /// A version the client does not support.
    Unsupported,
    /// Not an initialize result.
    Invalid,
}

/// What a server request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// `ping` (answered by the core).
    Ping,
    /// `roots/list`.
    Roots,
    /// `sampling/createMessage`.
    Sampling,
    /// `elicitation/create`.
    Elicitation,
    /// A method nobody knows.
    Unknown,
}

/// One SSE event.
#[derive(Clone, Debug, PartialEq)]
pub struct Ev {
    /// An `id` field: `Some(0)` is an empty id (a reset), `Some(n)` is `e<n>`.
    pub id: Option<u8>,
    /// A `retry` field.
    pub retry: Option<u16>,
    /// An `event` field, or a comment.
    pub kind: EvKind,
    /// Its data; `None` for an event without data (a priming event).
    pub data: Option<Msg>,
    /// End lines with CRLF.
    pub crlf: bool,
}

/// The type of an SSE event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvKind {
    /// No `event` field.
    Plain,
    /// `event: message`.
    Message,
    /// `event: ping` (ignored by the session).
    Other,
    /// A comment line before the fields.
    Comment,
}

/// One stdout line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its message.
    pub msg: Msg,
    /// End it with CRLF.
    pub crlf: bool,
}

/// What a flood is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flood {
    /// One endless line (`data: xxx...` on an SSE stream).
    Line,
    /// Endless `data:` lines that never end their event (stdio: invalid lines).
    DataLines,
    /// Complete notifications, one after the other.
    Events,
    /// SSE comments (stdio: invalid lines).
    Comments,
    /// Blank lines.
    Blank,
    /// Pseudo-random bytes.
    Garbage,
}

/// A content type for a response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// None.
    None,
    /// `application/json`.
    Json,
    /// `application/json; charset=utf-8`.
    JsonUtf8,
    /// `text/event-stream`.
    Sse,
    /// `Text/Event-Stream; charset=UTF-8`.
    SseMixedCase,
    /// `text/plain`.
    Text,
    /// `text/html`.
    Html,
}

/// A whole script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The transport.
    pub transport: Transport,
    /// The configuration.
    pub setup: Setup,
    /// How it starts.
    pub handshake: Handshake,
    /// What happens.
    pub ops: Vec<Op>,
}

/// How the driver cuts the bytes of an op into inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rechunk {
    /// At the op's split points (floods in 4 KiB inputs).
    AsScripted,
    /// All of an op's bytes in one input.
    Whole,
    /// One byte per input (97 bytes for ops over 2 KiB).
    Bytewise,
}

pub(super) fn ms(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// The statuses of the policy table, and a few more.
pub const STATUSES: &[u16] = &[
    200, 200, 200, 201, 202, 204, 301, 400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500,
    502, 503, 504,
];

/// A chunked-input byte reader for the fuzz targets: every read succeeds (zeros once the input
/// is exhausted).
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Nothing left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A flag.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.u8()) % items.len()]
    }

    /// Up to `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (usize::from(self.u8()) % (max + 1)).min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken.to_vec()
    }

    fn splits(&mut self) -> Vec<u16> {
        (0..self.u8() % 4).map(|_| self.u16()).collect()
    }

    fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.bool().then(|| f(self))
    }
}

impl Script {
    /// Decodes a script from arbitrary bytes (the fuzz targets' input format): a few bytes of
    /// setup, then ops until the bytes run out (at most 256).
    pub fn from_bytes(transport: Transport, data: &[u8]) -> Script {
        let mut r = Reader::new(data);
        let setup = Setup {
            limit: 256 + u16::from(r.u8() % 16) * 128,
            request_timeout_ms: r.pick(&[60_000, 60_000, 60_000, 60_000, 60_000, 5000, 1000, 100]),
            max_request_time_ms: r.pick(&[
                600_000, 600_000, 600_000, 600_000, 120_000, 120_000, 3000, 0,
            ]),
            progress_resets_timeout: !r.u8().is_multiple_of(4),
            max_outstanding: r.option(|r| r.u8() % 8),
            server_error_scope: if r.u8().is_multiple_of(4) {
                Scope::Request
            } else {
                Scope::Session
            },
            max_resume_attempts: r.u8() % 5,
            default_retry_ms: r.pick(&[1000, 0, 10, 50_000]),
            max_retry_ms: r.pick(&[30_000, 0, 100]),
            capabilities: r.bool(),
            min_retry_ms: r.pick(&[100, 0, 1, 1000]),
            max_reconnects: r.pick(&[100, 100, 0, 2]),
            max_concurrent_exchanges: r.pick(&[64, 64, 1, 2, 3, 0]),
            max_send_backlog: r.pick(&[32 << 20, 32 << 20, 512, 4096, 0]),
            stdin_reads: !r.u8().is_multiple_of(8),
            revision: crate::Revision::Legacy,
            oauth: false,
        };
        let handshake = r.pick(&[
            Handshake::JsonWithSession,
            Handshake::Json,
            Handshake::Sse,
            Handshake::None,
            Handshake::Discover,
            Handshake::DiscoverSse,
            Handshake::DiscoverRefused,
            Handshake::DiscoverNone,
            Handshake::Modern,
            Handshake::Discover,
        ]);
        let setup = Setup {
            revision: handshake.revision(),
            oauth: transport == Transport::Http && r.u8().is_multiple_of(3),
            ..setup
        };
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < 256 {
            ops.push(Op::read(&mut r, transport));
        }
        Script {
            transport,
            setup,
            handshake,
            ops,
        }
    }
}

impl Pick {
    fn read(r: &mut Reader) -> Pick {
        match r.u8() % 8 {
            0..=3 => Pick::Nth(r.u8()),
            4..=6 => Pick::Last,
            _ => Pick::Raw(u16::from(r.u8())),
        }
    }
}

impl Target {
    fn read(r: &mut Reader) -> Target {
        match r.u8() % 6 {
            0..=2 => Target::Carried,
            3 | 4 => Target::Request(Pick::read(r)),
            _ => Target::Text(r.u8()),
        }
    }
}

impl Msg {
    fn read(r: &mut Reader, depth: u8) -> Msg {
        match r.u8() % 24 {
            0..=3 => Msg::Result(Target::read(r)),
            4 => Msg::Error(Target::read(r)),
            5 => Msg::ErrorWithoutId,
            6 => Msg::Init(r.pick(&[Init::Latest, Init::Older, Init::Unsupported, Init::Invalid])),
            7 | 8 => Msg::Progress(Target::read(r)),
            9 => Msg::Notification,
            10 => {
                let ask = r.pick(&[
                    Ask::Ping,
                    Ask::Roots,
                    Ask::Sampling,
                    Ask::Elicitation,
                    Ask::Unknown,
                ]);
                Msg::ServerRequest { ask, id: r.u8() }
            }
            11 if depth == 0 => Msg::Batch((0..1 + r.u8() % 3).map(|_| Msg::read(r, 1)).collect()),
            12 => Msg::NotJsonRpc,
            13 => Msg::NotJson(Blob(r.bytes(24))),
            14 => Msg::Large(Target::read(r), r.u16() % 8192),
            16 => Msg::Discover(Target::read(r)),
            17 => Msg::VersionError(Target::read(r)),
            18 | 19 => Msg::InputRequired {
                target: Target::read(r),
                ask: r.bool(),
            },
            20 => Msg::UnknownResultType(Target::read(r)),
            21 => Msg::Acknowledged(Target::read(r)),
            22 => Msg::Subscribed(Target::read(r)),
            23 => Msg::Auth(r.pick(&[
                AuthDoc::ResourceMetadata,
                AuthDoc::ServerMetadata,
                AuthDoc::Token,
                AuthDoc::TokenError,
            ])),
            _ => Msg::Blank,
        }
    }
}

impl Ev {
    fn read(r: &mut Reader) -> Ev {
        Ev {
            id: r.option(|r| r.u8() % 8),
            retry: r.option(|r| r.pick(&[0, 10, 1000, 60_000])),
            kind: r.pick(&[
                EvKind::Plain,
                EvKind::Plain,
                EvKind::Message,
                EvKind::Other,
                EvKind::Comment,
            ]),
            data: if r.u8().is_multiple_of(4) {
                None
            } else {
                Some(Msg::read(r, 0))
            },
            crlf: r.u8().is_multiple_of(4),
        }
    }
}

impl Op {
    fn read(r: &mut Reader, transport: Transport) -> Op {
        let stdio = transport == Transport::Stdio;
        match r.u8() % 26 {
            0..=2 => Op::Request {
                timeout_ms: r.option(|r| u32::from(r.u16()) * 4),
                progress: r.bool(),
                large: r.u8().is_multiple_of(16),
            },
            3 => Op::Cancel(Pick::read(r)),
            4 => Op::Respond {
                to: Pick::read(r),
                error: r.bool(),
            },
            5 if r.u8().is_multiple_of(2) => Op::Listen,
            5 if r.u8().is_multiple_of(2) => Op::Redirect { ok: r.bool() },
            5 => Op::Notify,
            6 if r.u8().is_multiple_of(8) => Op::Close,
            6 | 7 if stdio => Op::Stdout {
                lines: (0..1 + r.u8() % 3)
                    .map(|_| Line {
                        msg: Msg::read(r, 0),
                        crlf: r.u8().is_multiple_of(4),
                    })
                    .collect(),
                splits: r.splits(),
            },
            6 | 7 => Op::Head {
                exchange: Pick::read(r),
                status: r.pick(STATUSES),
                content_type: r.pick(&[
                    ContentType::Json,
                    ContentType::Sse,
                    ContentType::None,
                    ContentType::JsonUtf8,
                    ContentType::SseMixedCase,
                    ContentType::Text,
                    ContentType::Html,
                ]),
                session_id: r.option(|r| r.u8() % 3),
                retry_after: r.u8().is_multiple_of(4),
                www_authenticate: r.u8().is_multiple_of(4),
            },
            8 if stdio => Op::StdoutBytes {
                bytes: Blob(r.bytes(48)),
                splits: r.splits(),
            },
            8 => Op::Json {
                exchange: Pick::read(r),
                msg: Msg::read(r, 0),
                splits: r.splits(),
            },
            9 | 10 if stdio => Op::Answer {
                exchange: Pick::Last,
                msg: Msg::read(r, 0),
                sse_id: None,
                end: true,
            },
            9 | 10 => Op::Sse {
                exchange: Pick::read(r),
                events: (0..1 + r.u8() % 3).map(|_| Ev::read(r)).collect(),
                splits: r.splits(),
            },
            11 => Op::Bytes {
                exchange: Pick::read(r),
                bytes: Blob(r.bytes(48)),
                splits: r.splits(),
            },
            12 => Op::End(Pick::read(r)),
            13 => Op::Fail {
                exchange: Pick::read(r),
                kind: r.pick(&[
                    TransportErrorKind::Reset,
                    TransportErrorKind::Connect,
                    TransportErrorKind::Tls,
                    TransportErrorKind::ConnectTimeout,
                    TransportErrorKind::Other,
                ]),
            },
            14..=17 => Op::Answer {
                exchange: Pick::read(r),
                msg: Msg::read(r, 0),
                sse_id: r.option(|r| r.u8() % 4),
                end: !r.u8().is_multiple_of(4),
            },
            18 => {
                let kind = r.pick(&[
                    Flood::Line,
                    Flood::DataLines,
                    Flood::Events,
                    Flood::Comments,
                    Flood::Blank,
                    Flood::Garbage,
                ]);
                let kib = r.pick(&[1, 2, 4, 16, 100]);
                if stdio {
                    Op::StdoutFlood { kind, kib }
                } else {
                    Op::Flood {
                        exchange: Pick::read(r),
                        kind,
                        kib,
                    }
                }
            }
            19 => match r.u8() % 8 {
                0 => Op::StdoutClosed,
                1 => Op::Exit(r.option(|r| i32::from(r.u8()))),
                2 => Op::WriteFailed,
                _ => Op::ToDeadline,
            },
            20 | 21 => Op::Advance {
                ms: r.pick(&[1, 10, 999, 1000, 5000, 30_000, 60_000, 700_000]),
            },
            22 | 23 => Op::ToDeadline,
            24 => Op::Rewind {
                ms: r.u16() % 10_000,
            },
            _ => Op::Answer {
                exchange: Pick::Last,
                msg: Msg::read(r, 0),
                sse_id: None,
                end: true,
            },
        }
    }
}

/// Cuts `data` at `points` (taken modulo its length plus one, in any order).
pub fn split_at(data: &[u8], points: impl IntoIterator<Item = usize>) -> Vec<&[u8]> {
    let mut points: Vec<usize> = points.into_iter().map(|p| p % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(&data[start..point]);
        start = point;
    }
    chunks.push(&data[start..]);
    chunks
}
