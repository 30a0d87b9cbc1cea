//! Playing a recording back into a fresh session, checking every output.

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine;

use super::format::{Command, Data, Header, InputRecord, Line, OutputRecord, VERSION};
use super::{describe, REDACTED};
use crate::error::{TransportError, TransportErrorKind};
use crate::input::{ExchangeId, Input};
use crate::output::{Output, RequestId};
use crate::{Authorization, Config, RequestOptions, Revision, Session};

/// A parsed recording.
#[derive(Clone, Debug)]
pub struct Recording {
    /// Its header.
    pub header: Header,
    /// Its lines after the header, each with its line number in the text (from 1).
    pub lines: Vec<(usize, Line)>,
}

/// A replay that agreed with its recording all the way.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replay {
    /// Commands and inputs played.
    pub steps: usize,
    /// Outputs checked (waits included).
    pub outputs: usize,
    /// The recording ended at its size cap: the replay checked what came before.
    pub truncated: bool,
    /// The error the session ended with, if it did.
    pub closed: Option<String>,
}

/// Where, and how, a replay parted from its recording (or why the recording cannot be read).
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The line of the recording (from 1).
    pub line: usize,
    /// What differed.
    pub mismatch: Mismatch,
}

/// What differed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The line is not a recording line.
    Malformed {
        /// Why.
        reason: String,
    },
    /// The recording is of a format version this crate does not read.
    Version {
        /// Its version.
        found: u32,
    },
    /// The session gave another output than the recorded one.
    Output {
        /// The recorded output.
        expected: Box<OutputRecord>,
        /// The replay's.
        found: Box<OutputRecord>,
    },
    /// The recording has an output here; the session had nothing more to give.
    Missing {
        /// The recorded output.
        expected: Box<OutputRecord>,
    },
    /// The recording says the session waited here; it had this output still to give.
    Extra {
        /// The replay's output.
        found: Box<OutputRecord>,
    },
    /// The session waited until another deadline (nanoseconds since the start).
    Wait {
        /// The recorded deadline.
        expected: Option<u64>,
        /// The replay's.
        found: Option<u64>,
    },
    /// A command returned something else.
    Command {
        /// What it returned when recorded.
        expected: String,
        /// What it returned in the replay.
        found: String,
    },
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.mismatch {
            Mismatch::Malformed { reason } => write!(f, "not a recording line: {reason}"),
            Mismatch::Version { found } => write!(
                f,
                "recording format version {found}; this build reads version {VERSION}"
            ),
            Mismatch::Output { expected, found } => write!(
                f,
                "the recording has `{expected}`, the replay gave `{found}` ({expected:?} != {found:?})"
            ),
            Mismatch::Missing { expected } => write!(
                f,
                "the recording has `{expected}`, the replay had nothing more to give"
            ),
            Mismatch::Extra { found } => write!(
                f,
                "the recording waits here, the replay still had `{found}`"
            ),
            Mismatch::Wait { expected, found } => write!(
                f,
                "the recording waits until {}, the replay until {}",
                at_text(*expected),
                at_text(*found)
            ),
            Mismatch::Command { expected, found } => write!(
                f,
                "the command returned {expected} when recorded, {found} in the replay"
            ),
        }
    }
}

impl std::error::Error for Divergence {}

fn at_text(at: Option<u64>) -> String {
    match at {
        Some(ns) => format!("{:.3} ms", super::format::ms(ns)),
        None => "the next input".into(),
    }
}

fn malformed(line: usize, reason: impl fmt::Display) -> Divergence {
    Divergence {
        line,
        mismatch: Mismatch::Malformed {
            reason: reason.to_string(),
        },
    }
}

impl Recording {
    /// Parses a recording (JSON lines, the header first). Blank lines are skipped.
    pub fn parse(text: &str) -> Result<Recording, Divergence> {
        let mut numbered = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        let (n, first) = numbered
            .next()
            .ok_or_else(|| malformed(1, "empty recording"))?;
        let version = serde_json::from_str::<serde_json::Value>(first)
            .map_err(|e| malformed(n, e))?
            .get("mcpwire_recording")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| malformed(n, "no `mcpwire_recording` version in the header"))?;
        if version != u64::from(VERSION) {
            return Err(Divergence {
                line: n,
                mismatch: Mismatch::Version {
                    found: u32::try_from(version).unwrap_or(u32::MAX),
                },
            });
        }
        let header: Header = serde_json::from_str(first).map_err(|e| malformed(n, e))?;
        let lines = numbered
            .map(|(n, l)| {
                serde_json::from_str::<Line>(l)
                    .map(|line| (n, line))
                    .map_err(|e| malformed(n, e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Recording { header, lines })
    }

    /// The session's configuration (secrets as the placeholder [`REDACTED`]).
    pub fn config(&self) -> Result<Config, Divergence> {
        let c = &self.header.config;
        let mut config = Config::default()
            .with_client_info(c.client_info.clone())
            .with_capabilities(c.capabilities.clone())
            .with_policy(c.policy.clone())
            .with_revision(match c.revision.as_str() {
                "legacy" => Revision::Legacy,
                "modern" => Revision::Modern,
                _ => Revision::Auto,
            });
        for (name, value) in &c.headers {
            let name = ::http::HeaderName::try_from(name.as_str()).map_err(|e| malformed(1, e))?;
            let mut value =
                ::http::HeaderValue::try_from(value.as_str()).map_err(|e| malformed(1, e))?;
            if value == REDACTED {
                value.set_sensitive(true);
            }
            config.headers.append(name, value);
        }
        if let Some(a) = &c.auth {
            let mut ac = crate::auth::Config::new(a.redirect_uri.clone());
            ac.client_name = a.client_name.clone();
            ac.pre_registered = a.pre_registered.as_ref().map(|(id, secret, issuer)| {
                let mut p = crate::auth::PreRegistered::new(id.clone());
                p.client_secret = secret.clone();
                p.issuer = issuer.clone();
                p
            });
            ac.client_metadata_url = a.client_metadata_url.clone();
            ac.dynamic_registration = a.dynamic_registration;
            ac.token_endpoint_auth_method = a.token_endpoint_auth_method;
            ac.allow_http = a.allow_http;
            ac.max_attempts = a.max_attempts;
            ac.max_body = a.max_body;
            ac.refresh_skew = a.refresh_skew;
            ac.offline_access = a.offline_access;
            ac.legacy_discovery = a.legacy_discovery;
            let mut auth = Authorization::new(ac);
            if let Some(creds) = &a.credentials {
                auth = auth.with_credentials(creds.clone(), a.unix_now);
            }
            config = config.with_auth(auth);
        }
        if let Some(h) = &c.hosted_tasks {
            let mut entropy = [0u8; 32];
            let hex = h.entropy.as_bytes();
            if hex.len() != 64 {
                return Err(malformed(1, "the hosted tasks' key is not 32 bytes of hex"));
            }
            for (i, byte) in entropy.iter_mut().enumerate() {
                let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).unwrap_or("");
                *byte = u8::from_str_radix(pair, 16).map_err(|e| malformed(1, e))?;
            }
            config = config.with_hosted_tasks(crate::HostedTasks::new(h.unix_now, entropy));
        }
        Ok(config)
    }

    /// Plays the recording into a fresh session made at `base` (any instant: the session
    /// does not depend on when it starts), checking each output against the recorded one.
    pub fn replay(&self, base: Instant) -> Result<Replay, Divergence> {
        let config = self.config()?;
        let mut session = match &self.header.transport {
            super::RecordedTransport::Http { endpoint } => {
                let uri = endpoint
                    .parse::<::http::Uri>()
                    .map_err(|e| malformed(1, e))?;
                Session::http(base, uri, config)
            }
            super::RecordedTransport::LegacySse { endpoint } => {
                let uri = endpoint
                    .parse::<::http::Uri>()
                    .map_err(|e| malformed(1, e))?;
                Session::sse(base, uri, config)
            }
            super::RecordedTransport::Stdio => Session::stdio(base, config),
        };
        let redact = self.header.payloads_redacted;
        let mut done = Replay {
            steps: 0,
            outputs: 0,
            truncated: false,
            closed: None,
        };
        let at = |t: u64| base + Duration::from_nanos(t);
        for (n, line) in &self.lines {
            let n = *n;
            match line {
                Line::Cmd { t, cmd } => {
                    done.steps += 1;
                    let (expected, found) = command(&mut session, at(*t), cmd)?;
                    if expected != found {
                        return Err(Divergence {
                            line: n,
                            mismatch: Mismatch::Command { expected, found },
                        });
                    }
                }
                Line::In { t, input } => {
                    done.steps += 1;
                    feed(&mut session, at(*t), input).map_err(|e| malformed(n, e))?;
                }
                Line::Out { out } => {
                    done.outputs += 1;
                    match session.poll_output() {
                        Output::Wait(_) => {
                            return Err(Divergence {
                                line: n,
                                mismatch: Mismatch::Missing {
                                    expected: Box::new(out.clone()),
                                },
                            })
                        }
                        o => {
                            let found = describe(&o, redact);
                            if !out.agrees(&found) {
                                return Err(Divergence {
                                    line: n,
                                    mismatch: Mismatch::Output {
                                        expected: Box::new(out.clone()),
                                        found: Box::new(found),
                                    },
                                });
                            }
                            if let super::OutputRecord::Event(super::EventRecord::Closed {
                                error,
                            }) = &found
                            {
                                done.closed = Some(error.clone());
                            }
                        }
                    }
                }
                Line::Wait { at: expected } => {
                    done.outputs += 1;
                    match session.poll_output() {
                        Output::Wait(d) => {
                            let found = d.map(|d| super::nanos(d.saturating_duration_since(base)));
                            if found != *expected {
                                return Err(Divergence {
                                    line: n,
                                    mismatch: Mismatch::Wait {
                                        expected: *expected,
                                        found,
                                    },
                                });
                            }
                        }
                        o => {
                            return Err(Divergence {
                                line: n,
                                mismatch: Mismatch::Extra {
                                    found: Box::new(describe(&o, redact)),
                                },
                            })
                        }
                    }
                }
                Line::Truncated { .. } => {
                    done.truncated = true;
                    break;
                }
            }
        }
        Ok(done)
    }
}

/// Plays `recording` (the text of a recording) into a fresh session made at `base`; see
/// [`Recording::replay`].
pub fn replay(recording: &str, base: Instant) -> Result<Replay, Divergence> {
    Recording::parse(recording)?.replay(base)
}

/// Asserts that `recording` replays: the helper that makes a committed recording a
/// regression test. Panics with the [`Divergence`] otherwise.
///
/// ```no_run
/// let text = std::fs::read_to_string("tests/recordings/503.jsonl").unwrap();
/// mcpwire_core::record::assert_replays(&text, std::time::Instant::now());
/// ```
#[track_caller]
pub fn assert_replays(recording: &str, base: Instant) -> Replay {
    match replay(recording, base) {
        Ok(r) => r,
        Err(d) => panic!("the recording does not replay: {d}"),
    }
}

/// Gives a recorded command to the session: what it returned then, and now, as text.
fn command(
    session: &mut Session,
    now: Instant,
    cmd: &Command,
) -> Result<(String, String), Divergence> {
    fn text<T: fmt::Debug, E: fmt::Display>(r: Result<T, E>) -> String {
        match r {
            Ok(v) => format!("Ok({v:?})"),
            Err(e) => format!("Err({e})"),
        }
    }
    Ok(match cmd {
        Command::Request {
            method,
            params,
            timeout_ns,
            progress,
            log_level,
            trace,
            task,
            result,
        } => {
            let trace = trace.as_ref().and_then(|(parent, state)| {
                crate::trace::TraceContext::new(parent, state.as_deref()).ok()
            });
            let task = task
                .map(|ttl| crate::TaskOptions::default().with_ttl(ttl.map(Duration::from_nanos)));
            let options = RequestOptions::default()
                .with_timeout(timeout_ns.map(Duration::from_nanos))
                .with_progress(*progress)
                .with_log_level(*log_level)
                .with_trace(trace)
                .with_task(task);
            let got = session.request(now, method, params.clone(), options);
            (
                text(result.as_ref().map(|id| *id)),
                text(got.map(|id: RequestId| id.0)),
            )
        }
        Command::Listen { filter, result } => {
            let got = session.listen(now, filter);
            (
                text(result.as_ref().map(|id| *id)),
                text(got.map(|id| id.0)),
            )
        }
        Command::Notify {
            method,
            params,
            result,
        } => {
            let got = session.notify(method, params.clone());
            (text(result.as_ref().map(|_| ())), text(got))
        }
        Command::Respond { id, answer, result } => {
            let got = session.respond(id.clone(), answer.clone());
            (text(result.as_ref().map(|_| ())), text(got))
        }
        Command::Cancel { id, reason, result } => {
            let got = session.cancel(now, RequestId(*id), reason.as_deref());
            (result.to_string(), got.to_string())
        }
        Command::Redirect { result } => {
            session.authorization_redirect(now, result.as_deref().map_err(String::as_str));
            (String::new(), String::new())
        }
        Command::Close => {
            session.close(now);
            (String::new(), String::new())
        }
    })
}

fn bytes(data: &Data) -> Result<Vec<u8>, String> {
    match data {
        Data::Text(s) => Ok(s.as_bytes().to_vec()),
        Data::Bytes { b64 } => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("bad base64: {e}")),
    }
}

fn transport_error(e: &super::RecordedError) -> TransportError {
    let kind = match e.kind.as_str() {
        "connect" => TransportErrorKind::Connect,
        "connect_timeout" => TransportErrorKind::ConnectTimeout,
        "tls" => TransportErrorKind::Tls,
        "reset" => TransportErrorKind::Reset,
        "proxy" => TransportErrorKind::Proxy,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, e.message.as_str())
}

/// Feeds a recorded input.
fn feed(session: &mut Session, now: Instant, input: &InputRecord) -> Result<(), String> {
    match input {
        InputRecord::Head { x, status, headers } => {
            let status = ::http::StatusCode::from_u16(*status).map_err(|e| e.to_string())?;
            let mut map = ::http::HeaderMap::new();
            for (name, value) in headers {
                let name =
                    ::http::HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?;
                let value =
                    ::http::HeaderValue::try_from(value.as_str()).map_err(|e| e.to_string())?;
                map.append(name, value);
            }
            let exchange = ExchangeId(*x);
            session.handle_input(
                now,
                Input::ResponseHead {
                    exchange,
                    status,
                    headers: &map,
                },
            );
        }
        InputRecord::Body { x, data } => {
            let data = bytes(data)?;
            let exchange = ExchangeId(*x);
            session.handle_input(
                now,
                Input::ResponseBody {
                    exchange,
                    data: &data,
                },
            );
        }
        InputRecord::End { x } => session.handle_input(
            now,
            Input::ResponseEnd {
                exchange: ExchangeId(*x),
            },
        ),
        InputRecord::Failed { x, error } => session.handle_input(
            now,
            Input::ExchangeFailed {
                exchange: ExchangeId(*x),
                error: transport_error(error),
            },
        ),
        InputRecord::Stdout { data } => session.handle_input(now, Input::Stdout(&bytes(data)?)),
        InputRecord::StdoutClosed => session.handle_input(now, Input::StdoutClosed),
        InputRecord::Exited { code } => {
            session.handle_input(now, Input::ProcessExited { code: *code })
        }
        InputRecord::WriteFailed { error } => {
            session.handle_input(now, Input::WriteFailed(transport_error(error)))
        }
        InputRecord::StdinWritten { bytes } => {
            session.handle_input(now, Input::StdinWritten { bytes: *bytes })
        }
        InputRecord::Random { data } => session.handle_input(now, Input::Random(&bytes(data)?)),
        InputRecord::Timeout => session.handle_input(now, Input::Timeout),
    }
    Ok(())
}
