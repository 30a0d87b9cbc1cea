//! Recording a session, and replaying it exactly.
//!
//! The session is a pure function of its commands, inputs, instants and random bytes, so a
//! recording of those reproduces it. A [`Recorder`] turns each of them, as the adapter gives
//! them to the [`Session`](crate::Session), into a line of JSON ([`format`](mod@format)); it also records
//! what the session gave back ([`OutputRecord`]: a readable summary of each output and a
//! digest of its content, and each [`Output::Wait`]), so that [`replay`] can check every
//! output of a fresh session against it and name the first line where the two part
//! ([`Divergence`]).
//!
//! Secrets are redacted as they are recorded, the same way on both sides of a replay, so a
//! redacted recording still replays:
//!
//! - header values that are sensitive (`Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, `X-Api-Key`, `Api-Key`, `X-Auth-Token`, and any marked with
//!   `HeaderValue::set_sensitive`) become [`REDACTED`], in the configuration and in responses;
//!   an output's digest is taken with them redacted;
//! - the bodies of the OAuth flow's exchanges are recorded whole before their end, with
//!   `access_token`, `refresh_token`, `id_token`, `client_secret` and
//!   `registration_access_token` redacted (the flow then gets a token that is the placeholder,
//!   and the requests it authorizes carry a redacted `Authorization` again); the forms the
//!   flow posts are digested with `code`, `code_verifier`, `refresh_token`, `client_secret`,
//!   `client_assertion`, `assertion`, `subject_token` and `actor_token` redacted (a DPoP proof
//!   is a sensitive header, redacted like `Authorization`); the `code` of the redirect is redacted; stored tokens and
//!   client secrets in the configuration are redacted;
//! - with [`RecordOptions::redact_payloads`], the `arguments` of `tools/call` are redacted,
//!   and so are the `content` and `structuredContent` of every result that comes in (in a
//!   JSON body, an SSE `data:` line or a stdout line: each body and stdout is recorded a whole
//!   line at a time for it, the incomplete last line held until it completes); the digests
//!   and sizes of what carries payloads (request bodies, results) are not recorded, so they
//!   are not compared.
//!
//! A recording is bounded: past [`RecordOptions::limit`] bytes, one [`Line::Truncated`] line
//! ends it, and a replay stops there (as a success that says so).
//!
//! What is not redacted: response bodies other than the OAuth flow's (without
//! `redact_payloads`; with it, a result in an SSE event whose data spans several `data:` lines
//! is kept, and the incomplete line of an exchange that fails is dropped), the endpoint URL, the
//! `Mcp-Session-Id`, and the random bytes the OAuth flow asked for (the PKCE verifier and
//! `state` are made from them; a replay needs them, and they are worth nothing once the
//! redacted code was redeemed).

pub mod format;
mod replay;

use std::collections::BTreeMap;
use std::time::Instant;

use ::http::HeaderMap;
use base64::Engine;
use serde_json::Value;

pub use format::{
    Command, Data, EventRecord, Header, InputRecord, Line, OutputRecord, RecordedAuth,
    RecordedConfig, RecordedError, RecordedHostedTasks, RecordedTransport, REDACTED, VERSION,
};
pub use replay::{assert_replays, replay, Divergence, Mismatch, Recording, Replay};

use crate::error::{RequestError, TransportErrorKind};
use crate::input::{ExchangeId, Input};
use crate::jsonrpc::{ErrorObject, Id};
use crate::output::{Event, Output, RequestId, Transmit};
use crate::policy::ExchangeKind;
use crate::{Config, RequestOptions, Revision};

/// How a session is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordOptions {
    /// The most bytes recorded; past it, a [`Line::Truncated`] marker ends the recording.
    /// Default: 64 MiB.
    pub limit: usize,
    /// Redact tool arguments and results: `tools/call`'s `arguments`, and the `content` and
    /// `structuredContent` of results that come in, are [`REDACTED`]; the digests and sizes of
    /// request bodies and results are not recorded. Default: off.
    pub redact_payloads: bool,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            limit: 64 << 20,
            redact_payloads: false,
        }
    }
}

impl RecordOptions {
    /// Sets the size cap.
    #[must_use]
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Redacts tool arguments and results.
    #[must_use]
    pub fn with_redacted_payloads(mut self, redact: bool) -> Self {
        self.redact_payloads = redact;
        self
    }
}

/// The room kept for the truncation marker.
const MARKER_ROOM: usize = 64;

/// Writes a session as recording lines, as it happens. Sans-IO: the lines gather in a buffer
/// the adapter takes ([`Recorder::take`]) and writes where it likes.
///
/// Call, in the order they happen: [`Recorder::new`] with the instant the session was made,
/// a command method after each command (with what it returned), [`Recorder::input`] before
/// each [`Session::handle_input`](crate::Session::handle_input), and [`Recorder::output`]
/// with each result of [`Session::poll_output`](crate::Session::poll_output), `Wait` included.
pub struct Recorder {
    base: Instant,
    /// The lines not taken yet (UTF-8: serde_json writes nothing else).
    buf: Vec<u8>,
    written: usize,
    limit: usize,
    stopped: bool,
    redact_payloads: bool,
    /// The OAuth flow's exchanges, and their bodies so far.
    auth_bodies: BTreeMap<ExchangeId, Vec<u8>>,
    /// With payload redaction: the incomplete last line of each body (`Some`) and of stdout
    /// (`None`), held until its end so that a whole message is redacted.
    partial: BTreeMap<Option<ExchangeId>, Vec<u8>>,
    /// The last line was this wait: the same one again is not recorded (polling a waiting
    /// session changes nothing, so the replay need not do it twice).
    last_wait: Option<Option<u64>>,
}

impl std::fmt::Debug for Recorder {
    /// Sizes only: the OAuth bodies held until their end are not redacted yet.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("written", &self.written)
            .field("pending", &self.buf.len())
            .field("limit", &self.limit)
            .field("truncated", &self.stopped)
            .field("redact_payloads", &self.redact_payloads)
            .field("held_auth_bodies", &self.auth_bodies.len())
            .field("held_partial_lines", &self.partial.len())
            .finish()
    }
}

impl Recorder {
    /// A recorder for a session made at `now` with `config`: over HTTP to `endpoint`, or over
    /// stdio when it is `None`. The header is the first line.
    pub fn new(
        now: Instant,
        endpoint: Option<&::http::Uri>,
        config: &Config,
        options: RecordOptions,
    ) -> Recorder {
        let transport = match endpoint {
            Some(uri) => RecordedTransport::Http {
                endpoint: uri.to_string(),
            },
            None => RecordedTransport::Stdio,
        };
        Recorder::with_transport(now, transport, config, options)
    }

    /// A recorder of a session over the 2024-11-05 HTTP+SSE transport
    /// ([`Session::sse`](crate::Session::sse)) whose event stream is `endpoint`; otherwise as
    /// [`Recorder::new`].
    pub fn new_sse(
        now: Instant,
        endpoint: &::http::Uri,
        config: &Config,
        options: RecordOptions,
    ) -> Recorder {
        let transport = RecordedTransport::LegacySse {
            endpoint: endpoint.to_string(),
        };
        Recorder::with_transport(now, transport, config, options)
    }

    fn with_transport(
        now: Instant,
        transport: RecordedTransport,
        config: &Config,
        options: RecordOptions,
    ) -> Recorder {
        let mut r = Recorder {
            base: now,
            buf: Vec::new(),
            written: 0,
            limit: options.limit.max(MARKER_ROOM * 2),
            stopped: false,
            redact_payloads: options.redact_payloads,
            auth_bodies: BTreeMap::new(),
            partial: BTreeMap::new(),
            last_wait: None,
        };
        let header = Header {
            mcpwire_recording: VERSION,
            transport,
            config: record_config(config),
            payloads_redacted: options.redact_payloads,
            limit: r.limit,
        };
        r.write(&header);
        r
    }

    /// The lines recorded since the last call, each ending in a newline.
    pub fn take(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.buf)).unwrap_or_default()
    }

    /// Whether the size cap was reached (the marker is written; nothing more will be).
    pub fn is_truncated(&self) -> bool {
        self.stopped
    }

    /// How many bytes have been recorded in all.
    pub fn written(&self) -> usize {
        self.written
    }

    fn t(&self, now: Instant) -> u64 {
        nanos(now.saturating_duration_since(self.base))
    }

    fn write<T: serde::Serialize>(&mut self, line: &T) {
        self.write_with(|buf| serde_json::to_writer(buf, line).is_ok());
    }

    /// Writes one line into the buffer with `f` (false: nothing written), within the cap.
    fn write_with(&mut self, f: impl FnOnce(&mut Vec<u8>) -> bool) {
        if self.stopped {
            return;
        }
        let start = self.buf.len();
        if !f(&mut self.buf) {
            self.buf.truncate(start);
            return;
        }
        let len = self.buf.len() - start;
        if self.written + len + 1 + MARKER_ROOM > self.limit {
            self.buf.truncate(start);
            self.stopped = true;
            self.auth_bodies.clear();
            self.partial.clear();
            let marker = Line::Truncated { limit: self.limit };
            let before = self.buf.len();
            if serde_json::to_writer(&mut self.buf, &marker).is_ok() {
                self.buf.push(b'\n');
                self.written += self.buf.len() - before;
            }
            return;
        }
        self.buf.push(b'\n');
        self.written += len + 1;
        self.last_wait = None;
    }

    /// `{"k":"in","t":T,"in":{"<kind>":{<x>"data":"<text>"}}}` for a body or stdout chunk that
    /// is text, written straight from the bytes (the hot path: no copy, no `Line`).
    fn write_text(&mut self, t: u64, kind: &str, x: Option<u64>, text: &str) {
        use std::io::Write;
        self.write_with(|buf| {
            let head = match x {
                Some(x) => write!(
                    buf,
                    r#"{{"k":"in","t":{t},"in":{{"{kind}":{{"x":{x},"data":"#
                ),
                None => write!(buf, r#"{{"k":"in","t":{t},"in":{{"{kind}":{{"data":"#),
            };
            head.is_ok() && serde_json::to_writer(&mut *buf, text).is_ok() && {
                buf.extend_from_slice(b"}}}");
                true
            }
        });
    }

    fn command(&mut self, now: Instant, cmd: Command) {
        let t = self.t(now);
        self.write(&Line::Cmd { t, cmd });
    }

    /// After [`Session::request`](crate::Session::request) returned `result`.
    pub fn request(
        &mut self,
        now: Instant,
        method: &str,
        params: Option<&Value>,
        options: &RequestOptions,
        result: &Result<RequestId, RequestError>,
    ) {
        if self.stopped {
            return;
        }
        let params = params.map(|p| match self.redact_payloads {
            true => redact_arguments(method, p),
            false => p.clone(),
        });
        self.command(
            now,
            Command::Request {
                method: method.into(),
                params,
                timeout_ns: options.timeout.map(nanos),
                progress: options.progress,
                log_level: options.log_level,
                trace: options.trace.as_ref().map(|t| {
                    (
                        t.traceparent().to_owned(),
                        t.tracestate().map(str::to_owned),
                    )
                }),
                task: options.task.map(|t| t.ttl.map(nanos)),
                result: result.as_ref().map(|id| id.0).map_err(|e| e.to_string()),
            },
        );
    }

    /// After [`Session::listen`](crate::Session::listen) returned `result`.
    pub fn listen(
        &mut self,
        now: Instant,
        filter: &crate::modern::SubscriptionFilter,
        result: &Result<RequestId, RequestError>,
    ) {
        let result = result.as_ref().map(|id| id.0).map_err(|e| e.to_string());
        let filter = filter.clone();
        self.command(now, Command::Listen { filter, result });
    }

    /// After [`Session::notify`](crate::Session::notify) returned `result`.
    pub fn notify(
        &mut self,
        now: Instant,
        method: &str,
        params: Option<&Value>,
        result: &Result<(), RequestError>,
    ) {
        let cmd = Command::Notify {
            method: method.into(),
            params: params.cloned(),
            result: result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        };
        self.command(now, cmd);
    }

    /// After [`Session::respond`](crate::Session::respond) returned `result`.
    pub fn respond(
        &mut self,
        now: Instant,
        id: &Id,
        answer: &Result<Value, ErrorObject>,
        result: &Result<(), RequestError>,
    ) {
        let answer = match (self.redact_payloads, answer) {
            (true, Ok(_)) => Ok(Value::String(REDACTED.into())),
            _ => answer.clone(),
        };
        let cmd = Command::Respond {
            id: id.clone(),
            answer,
            result: result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        };
        self.command(now, cmd);
    }

    /// After [`Session::cancel`](crate::Session::cancel) returned `result`.
    pub fn cancel(&mut self, now: Instant, id: RequestId, reason: Option<&str>, result: bool) {
        let reason = reason.map(str::to_owned);
        self.command(
            now,
            Command::Cancel {
                id: id.0,
                reason,
                result,
            },
        );
    }

    /// After [`Session::authorization_redirect`](crate::Session::authorization_redirect).
    pub fn redirect(&mut self, now: Instant, result: Result<&str, &str>) {
        let result = result
            .map(|url| redact_query(url, &["code"]))
            .map_err(str::to_owned);
        self.command(now, Command::Redirect { result });
    }

    /// After [`Session::close`](crate::Session::close).
    pub fn close(&mut self, now: Instant) {
        self.command(now, Command::Close);
    }

    /// Before [`Session::handle_input`](crate::Session::handle_input) with `input` at `now`.
    pub fn input(&mut self, now: Instant, input: &Input<'_>) {
        if self.stopped {
            return;
        }
        let t = self.t(now);
        let record = match input {
            Input::ResponseHead {
                exchange,
                status,
                headers,
            } => InputRecord::Head {
                x: exchange.0,
                status: status.as_u16(),
                headers: record_headers(headers),
            },
            Input::ResponseBody { exchange, data } => {
                if let Some(held) = self.auth_bodies.get_mut(exchange) {
                    // Whole before the end, secrets redacted; the limit bounds what is held.
                    if held.len() + data.len() <= self.limit {
                        held.extend_from_slice(data);
                    }
                    InputRecord::Body {
                        x: exchange.0,
                        data: Data::Text(String::new()),
                    }
                } else if self.redact_payloads {
                    let data = self.complete_lines(Some(*exchange), data);
                    InputRecord::Body {
                        x: exchange.0,
                        data,
                    }
                } else {
                    if let Ok(text) = std::str::from_utf8(data) {
                        return self.write_text(t, "body", Some(exchange.0), text);
                    }
                    InputRecord::Body {
                        x: exchange.0,
                        data: data_of(data),
                    }
                }
            }
            Input::ResponseEnd { exchange } => {
                self.rest_of_lines(t, Some(*exchange));
                if let Some(body) = self.auth_bodies.remove(exchange) {
                    if !body.is_empty() {
                        let data = Data::Text(redact_auth_body(&body));
                        self.write(&Line::In {
                            t,
                            input: InputRecord::Body {
                                x: exchange.0,
                                data,
                            },
                        });
                    }
                }
                InputRecord::End { x: exchange.0 }
            }
            Input::ExchangeFailed { exchange, error } => {
                // A part of a token response (or of a message, with payload redaction) is
                // dropped, not guessed at.
                self.auth_bodies.remove(exchange);
                self.partial.remove(&Some(*exchange));
                InputRecord::Failed {
                    x: exchange.0,
                    error: record_error(error),
                }
            }
            Input::Stdout(data) if self.redact_payloads => InputRecord::Stdout {
                data: self.complete_lines(None, data),
            },
            Input::Stdout(data) => {
                if let Ok(text) = std::str::from_utf8(data) {
                    return self.write_text(t, "stdout", None, text);
                }
                InputRecord::Stdout {
                    data: data_of(data),
                }
            }
            Input::StdoutClosed => {
                self.rest_of_lines(t, None);
                InputRecord::StdoutClosed
            }
            Input::ProcessExited { code } => {
                self.rest_of_lines(t, None);
                InputRecord::Exited { code: *code }
            }
            Input::WriteFailed(error) => InputRecord::WriteFailed {
                error: record_error(error),
            },
            Input::StdinWritten { bytes } => InputRecord::StdinWritten { bytes: *bytes },
            Input::Random(data) => InputRecord::Random {
                data: Data::Bytes {
                    b64: base64::engine::general_purpose::STANDARD.encode(data),
                },
            },
            Input::Timeout => InputRecord::Timeout,
        };
        self.write(&Line::In { t, input: record });
    }

    /// With payload redaction: the complete lines of what came so far on `stream` (with
    /// `data`), tool results redacted; the incomplete last line is held.
    fn complete_lines(&mut self, stream: Option<ExchangeId>, data: &[u8]) -> Data {
        let held = self.partial.entry(stream).or_default();
        if held.len() + data.len() > self.limit {
            // Past the cap anyway: the marker follows.
            held.clear();
        }
        held.extend_from_slice(data);
        let Some(end) = held.iter().rposition(|b| *b == b'\n') else {
            return Data::Text(String::new());
        };
        let rest = held.split_off(end + 1);
        let lines = std::mem::replace(held, rest);
        Data::Text(redact_results(&lines))
    }

    /// With payload redaction: the held incomplete line of `stream`, at its end, as one more
    /// chunk (recorded at `t`, before the end).
    fn rest_of_lines(&mut self, t: u64, stream: Option<ExchangeId>) {
        let Some(rest) = self.partial.remove(&stream).filter(|r| !r.is_empty()) else {
            return;
        };
        let data = Data::Text(redact_results(&rest));
        let input = match stream {
            Some(x) => InputRecord::Body { x: x.0, data },
            None => InputRecord::Stdout { data },
        };
        self.write(&Line::In { t, input });
    }

    /// With each result of [`Session::poll_output`](crate::Session::poll_output).
    pub fn output(&mut self, output: &Output) {
        if self.stopped {
            return;
        }
        if let Output::Wait(at) = output {
            use std::io::Write;
            let at = at.map(|at| self.t(at));
            if self.last_wait == Some(at) {
                return;
            }
            self.write_with(|buf| match at {
                Some(at) => write!(buf, r#"{{"k":"wait","at":{at}}}"#).is_ok(),
                None => buf.write_all(br#"{"k":"wait","at":null}"#).is_ok(),
            });
            self.last_wait = Some(at);
            return;
        }
        if let Output::Transmit(Transmit::Http {
            exchange,
            kind: ExchangeKind::Auth,
            ..
        }) = output
        {
            self.auth_bodies.insert(*exchange, Vec::new());
        }
        let out = describe(output, self.redact_payloads);
        self.write(&Line::Out { out });
    }
}

/// The record of an output (not `Wait`), as the recorder writes it and the replay checks it.
pub(crate) fn describe(output: &Output, redact_payloads: bool) -> OutputRecord {
    match output {
        Output::Transmit(Transmit::Http {
            exchange,
            kind,
            request,
        }) => {
            let body = request.body();
            let auth = *kind == ExchangeKind::Auth;
            let uri = request.uri().to_string();
            let mut h = Fnv::new();
            h.write(request.method().as_str().as_bytes());
            h.write(uri.as_bytes());
            for (name, value) in request.headers() {
                h.write(name.as_str().as_bytes());
                match is_sensitive(name, value) {
                    true => h.write(REDACTED.as_bytes()),
                    false => h.write(value.as_bytes()),
                }
            }
            // The OAuth flow's forms are digested and sized with their secrets redacted.
            let len = match auth {
                true => {
                    let form = redact_form(body);
                    h.write(form.as_bytes());
                    form.len()
                }
                false => {
                    h.write(body);
                    body.len()
                }
            };
            let payload = redact_payloads && !auth;
            OutputRecord::Http {
                x: exchange.0,
                kind: kind_name(*kind).into(),
                method: request.method().as_str().into(),
                uri,
                rpc: rpc_method(body),
                len: (!payload).then_some(len),
                digest: match payload {
                    true => REDACTED.into(),
                    false => h.hex(),
                },
            }
        }
        Output::Transmit(Transmit::Stdin(bytes)) => OutputRecord::Stdin {
            rpc: bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| rpc_method(l).unwrap_or_else(|| "response".into()))
                .collect(),
            len: (!redact_payloads).then_some(bytes.len()),
            digest: match redact_payloads {
                true => REDACTED.into(),
                false => Fnv::of(bytes),
            },
        },
        Output::Abort(x) => OutputRecord::Abort { x: x.0 },
        Output::Random(n) => OutputRecord::Random { n: *n },
        Output::Event(e) => OutputRecord::Event(describe_event(e, redact_payloads)),
        // `Wait` is a line of its own; a later kind of output is recorded by its name.
        other => OutputRecord::Event(EventRecord::Warning {
            warning: format!("{other:?}"),
        }),
    }
}

fn describe_event(event: &Event, redact_payloads: bool) -> EventRecord {
    match event {
        Event::Ready => EventRecord::Ready,
        Event::Response { id, result } => match result {
            Ok(raw) => EventRecord::Response {
                id: id.0,
                len: (!redact_payloads).then_some(raw.get().len()),
                digest: Some(match redact_payloads {
                    true => REDACTED.into(),
                    false => Fnv::of(raw.get().as_bytes()),
                }),
                error: None,
            },
            Err(e) => EventRecord::Response {
                id: id.0,
                len: None,
                digest: None,
                error: Some(e.to_string()),
            },
        },
        Event::Progress {
            id,
            progress,
            total,
            message,
        } => EventRecord::Progress {
            id: id.0,
            progress: *progress,
            total: *total,
            message: message.clone(),
        },
        Event::Notification {
            notification,
            size,
            subscription,
        } => EventRecord::Notification {
            method: notification.method().into(),
            size: *size,
            subscription: subscription.map(|s| s.0),
        },
        Event::Subscribed { id, .. } => EventRecord::Subscribed { id: id.0 },
        Event::TaskStatus { id, task } => EventRecord::TaskStatus {
            id: id.0,
            status: task.status.as_str().into(),
        },
        Event::Request { id, request } => EventRecord::Request {
            id: id.clone(),
            method: request.method().into(),
        },
        Event::RequestWithdrawn { id } => EventRecord::RequestWithdrawn { id: id.clone() },
        Event::Authorize { url, redirect_uri } => EventRecord::Authorize {
            redirect_uri: redirect_uri.clone(),
            digest: Fnv::of(url.0.as_bytes()),
        },
        Event::Authorized => EventRecord::Authorized,
        Event::SessionExpired {
            recovery, failed, ..
        } => EventRecord::SessionExpired {
            recovery: *recovery,
            failed: *failed,
        },
        Event::Warning(w) => EventRecord::Warning {
            warning: format!("{w:?}"),
        },
        Event::Closed(e) => EventRecord::Closed {
            error: e.to_string(),
        },
    }
}

/// The configuration as recorded, secrets redacted.
fn record_config(config: &Config) -> RecordedConfig {
    RecordedConfig {
        client_info: config.client_info.clone(),
        capabilities: config.capabilities.clone(),
        policy: config.policy.clone(),
        headers: record_headers(&config.headers),
        revision: match config.revision {
            Revision::Legacy => "legacy",
            Revision::Modern => "modern",
            _ => "auto",
        }
        .into(),
        auth: config.auth.as_ref().map(|a| {
            let c = &a.config;
            RecordedAuth {
                redirect_uri: c.redirect_uri.clone(),
                client_name: c.client_name.clone(),
                pre_registered: c.pre_registered.as_ref().map(|p| {
                    let secret = p.client_secret.as_ref().map(|_| REDACTED.to_owned());
                    (p.client_id.clone(), secret, p.issuer.clone())
                }),
                client_metadata_url: c.client_metadata_url.clone(),
                dynamic_registration: c.dynamic_registration,
                token_endpoint_auth_method: c.token_endpoint_auth_method,
                allow_http: c.allow_http,
                max_attempts: c.max_attempts,
                max_body: c.max_body,
                refresh_skew: c.refresh_skew,
                offline_access: c.offline_access,
                legacy_discovery: c.legacy_discovery,
                credentials: a.credentials.clone().map(redact_credentials),
                unix_now: a.unix_now,
            }
        }),
        hosted_tasks: config.hosted_tasks.as_ref().map(|h| RecordedHostedTasks {
            unix_now: h.unix_now,
            entropy: h.entropy.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    }
}

fn redact_credentials(mut c: crate::auth::Credentials) -> crate::auth::Credentials {
    for client in c.clients.values_mut() {
        if client.client_secret.is_some() {
            client.client_secret = Some(REDACTED.into());
        }
    }
    if let Some(t) = &mut c.tokens {
        t.access_token = REDACTED.into();
        if t.refresh_token.is_some() {
            t.refresh_token = Some(REDACTED.into());
        }
    }
    c
}

/// Header names whose values are always secret.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

fn is_sensitive(name: &::http::HeaderName, value: &::http::HeaderValue) -> bool {
    value.is_sensitive() || SECRET_HEADERS.contains(&name.as_str())
}

fn record_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = match is_sensitive(name, value) {
                true => REDACTED.to_owned(),
                false => String::from_utf8_lossy(value.as_bytes()).into_owned(),
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// Keys whose values are secret in the OAuth flow's JSON answers.
const SECRET_JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "registration_access_token",
];

/// Keys whose values are secret in the forms the OAuth flow posts.
const SECRET_FORM_KEYS: &[&str] = &[
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    // The JWT bearer grant's assertion (a workload token, an ID-JAG) and the token exchange's.
    "assertion",
    "subject_token",
    "actor_token",
    "password",
];

/// A body of the OAuth flow with its secrets redacted: a JSON object's secret members, or the
/// whole body when it is not JSON and names one.
fn redact_auth_body(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            for key in SECRET_JSON_KEYS {
                if let Some(v) = map.get_mut(*key) {
                    *v = Value::String(REDACTED.into());
                }
            }
            Value::Object(map).to_string()
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            match SECRET_JSON_KEYS.iter().any(|k| text.contains(k)) {
                true => REDACTED.into(),
                false => text.into_owned(),
            }
        }
    }
}

/// A form body (`a=b&c=d`) with the values of secret keys redacted; other bodies as they are.
fn redact_form(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.starts_with('{') {
        return text.into_owned();
    }
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_FORM_KEYS.contains(&k) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A URL with the values of these query parameters redacted.
fn redact_query(url: &str, keys: &[&str]) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            // Percent-encoded: the URL must still parse when replayed.
            Some((k, _)) if keys.contains(&k) => format!("{k}=%3Credacted%3E"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", query.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Lines (a JSON body, SSE lines, stdout lines) with the tool results of the JSON-RPC
/// responses in them redacted: `content` and `structuredContent` of a `result`. A line that
/// is not JSON (after an SSE `data:`) is kept as it is; the line ends are kept.
fn redact_results(lines: &[u8]) -> String {
    let text = String::from_utf8_lossy(lines);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let end = &line[body.len()..];
        let (prefix, json) = match body.strip_prefix("data:") {
            Some(rest) => ("data:", rest),
            None => ("", body),
        };
        let redacted = serde_json::from_str::<Value>(json).ok().and_then(|mut v| {
            let mut changed = false;
            let mut redact = |m: &mut Value| {
                if let Some(result) = m.get_mut("result").and_then(Value::as_object_mut) {
                    for key in ["content", "structuredContent"] {
                        if let Some(v) = result.get_mut(key) {
                            *v = Value::String(REDACTED.into());
                            changed = true;
                        }
                    }
                }
            };
            match &mut v {
                Value::Array(batch) => batch.iter_mut().for_each(&mut redact),
                one => redact(one),
            }
            changed.then(|| v.to_string())
        });
        match redacted {
            Some(json) => {
                out.push_str(prefix);
                out.push_str(&json);
            }
            None => out.push_str(body),
        }
        out.push_str(end);
    }
    out
}

/// `tools/call`'s params with `arguments` redacted.
fn redact_arguments(method: &str, params: &Value) -> Value {
    let mut params = params.clone();
    if method == "tools/call" {
        if let Some(args) = params.get_mut("arguments") {
            *args = Value::String(REDACTED.into());
        }
    }
    params
}

fn data_of(bytes: &[u8]) -> Data {
    match std::str::from_utf8(bytes) {
        Ok(s) => Data::Text(s.to_owned()),
        Err(_) => Data::Bytes {
            b64: base64::engine::general_purpose::STANDARD.encode(bytes),
        },
    }
}

fn record_error(e: &crate::TransportError) -> RecordedError {
    RecordedError {
        kind: match e.kind {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::ConnectTimeout => "connect_timeout",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Reset => "reset",
            TransportErrorKind::Proxy => "proxy",
            _ => "other",
        }
        .into(),
        message: e.message.to_string(),
    }
}

pub(crate) fn kind_name(kind: ExchangeKind) -> &'static str {
    match kind {
        ExchangeKind::Initialize => "initialize",
        ExchangeKind::Discover => "discover",
        ExchangeKind::Request => "request",
        ExchangeKind::Resume => "resume",
        ExchangeKind::Notification => "notification",
        ExchangeKind::ServerStream => "server_stream",
        ExchangeKind::Delete => "delete",
        ExchangeKind::Auth => "auth",
        ExchangeKind::EventStream => "event_stream",
    }
}

/// The `method` of a JSON-RPC message, if it has one.
fn rpc_method(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Peek<'_>>(body)
        .ok()
        .and_then(|p| p.method.map(|m| m.into_owned()))
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// FNV-1a, 64 bits: a digest to compare outputs by, not a cryptographic hash (what it digests
/// has its secrets redacted first).
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    fn of(bytes: &[u8]) -> String {
        let mut h = Fnv::new();
        h.write(bytes);
        h.hex()
    }
}

#[cfg(test)]
mod tests;
