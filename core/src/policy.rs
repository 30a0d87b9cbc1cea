//! What each failure does: the failure policy as data, with the defaults that the README
//! documents (DESIGN.md, "What each failure does").

use std::time::Duration;

/// How far a failure reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every outstanding request fails with the same error and the session closes.
    Session,
    /// Only the request the failure belongs to fails.
    Request,
}

/// Limits, deadlines and scopes. `Policy::default()` is the documented default policy.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Policy {
    /// What a 5xx on any exchange does. Default: [`Scope::Session`].
    pub server_error_scope: Scope,
    /// The deadline of a request that sets none. Default: 60 s.
    pub request_timeout: Duration,
    /// Whether a progress notification for a request pushes its deadline back by its timeout.
    /// Default: true.
    pub progress_resets_timeout: bool,
    /// The latest a request may run, counted from its start, however much progress it reports.
    /// Default: 10 minutes.
    pub max_request_time: Duration,
    /// The largest JSON message, HTTP body or SSE event, in bytes. Default: 16 MiB.
    pub max_message_size: usize,
    /// The longest SSE line, in bytes. Default: 16 MiB.
    pub max_sse_line: usize,
    /// At most this many requests outstanding at once; `None` for no cap. Default: `None`.
    pub max_outstanding: Option<usize>,
    /// How many times in a row a request's SSE stream is resumed without any new event before
    /// the request fails with [`Error::StreamLost`](crate::Error::StreamLost). Default: 3.
    pub max_resume_attempts: u32,
    /// How long the handshake waits for the server to answer the GET stream before the
    /// session is ready without it. Default: 1 s.
    pub server_stream_wait: Duration,
    /// How long to wait before resuming a stream when the server sent no `retry`. Default: 1 s.
    pub default_retry: Duration,
    /// The longest `retry` the client honours; a larger one is cut to this. Default: 30 s.
    pub max_retry: Duration,
    /// The shortest wait before any reconnect (resuming a request's stream, reopening the GET
    /// stream), whatever `retry` the server sends: a server cannot make the client reconnect
    /// in a tight loop. Default: 100 ms.
    pub min_retry: Duration,
    /// How many times in all one request's stream may be resumed, and how many times in a row
    /// the GET stream may be reopened without it bringing a message. Past it the request fails
    /// with [`Error::StreamLost`](crate::Error::StreamLost), or the client goes on without a
    /// GET stream (a warning). Each reconnect after a stream that brought no message waits
    /// twice as long as the one before, up to `max_retry`. Default: 100.
    pub max_reconnects: u32,
    /// At most this many HTTP exchanges (and so connections) open at once; more wait, in
    /// order, until one ends. Default: 64.
    pub max_concurrent_exchanges: usize,
    /// The most bytes that may wait to be sent: messages queued before the session is ready,
    /// HTTP requests waiting for a free exchange, and stdin bytes the child has not read yet.
    /// A request that would pass it fails at once with
    /// [`Error::LimitReached`](crate::Error::LimitReached); an answer the client owes the
    /// server (a `ping`'s) that would pass it fails the session, since a server that stops
    /// reading while it keeps asking would make the client hold ever more. Default: 32 MiB.
    pub max_send_backlog: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            server_error_scope: Scope::Session,
            request_timeout: Duration::from_secs(60),
            progress_resets_timeout: true,
            max_request_time: Duration::from_secs(600),
            max_message_size: 16 << 20,
            max_sse_line: 16 << 20,
            max_outstanding: None,
            max_resume_attempts: 3,
            server_stream_wait: Duration::from_secs(1),
            default_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
            min_retry: Duration::from_millis(100),
            max_reconnects: 100,
            max_concurrent_exchanges: 64,
            max_send_backlog: 32 << 20,
        }
    }
}

impl Policy {
    /// How long to wait before reconnecting a stream: the server's `retry` (else
    /// `default_retry`) within `min_retry..=max_retry`, doubled for each stream in a row that
    /// ended without bringing a message beyond the first (`empty_in_a_row` counts the one that
    /// just ended), and never more than `max_retry`.
    pub fn reconnect_delay(&self, retry: Option<Duration>, empty_in_a_row: u32) -> Duration {
        let max = self.max_retry.max(self.min_retry);
        let base = retry
            .unwrap_or(self.default_retry)
            .clamp(self.min_retry, max);
        let doublings = empty_in_a_row.saturating_sub(1).min(31);
        base.saturating_mul(1 << doublings).min(max)
    }
}

/// What an exchange is for: the failure policy depends on it, and an adapter may too (a
/// notification's POST or the closing DELETE may be let finish after the session ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeKind {
    /// The POST of `initialize`.
    Initialize,
    /// The POST of any other request.
    Request,
    /// A GET resuming a request's stream with `Last-Event-ID`.
    Resume,
    /// The POST of a notification or of a response to a server request.
    Notification,
    /// The optional GET stream for server messages.
    ServerStream,
    /// The DELETE that ends the session.
    Delete,
}

/// What a response status means for its exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: read the body.
    Proceed,
    /// The session fails with this cause.
    FailSession(Cause),
    /// The exchange's request fails with this cause.
    FailRequest(Cause),
    /// Nothing fails; the application gets a warning.
    Warn,
    /// The server offers no GET stream; not an error.
    NoServerStream,
    /// Nothing to do (the answer to a DELETE).
    Ignore,
}

/// Which error a failing status becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// [`Error::Http`](crate::Error::Http), once the body's excerpt is read.
    Http,
    /// [`Error::SessionExpired`](crate::Error::SessionExpired).
    Expired,
    /// [`Error::AuthRequired`](crate::Error::AuthRequired).
    Auth,
}

impl Policy {
    /// The default policy table of DESIGN.md ("What each failure does"), for HTTP statuses.
    pub(crate) fn verdict(
        &self,
        role: ExchangeKind,
        status: http::StatusCode,
        carried_session: bool,
    ) -> Verdict {
        use Verdict::*;
        if role == ExchangeKind::Delete {
            return Ignore;
        }
        if status.is_success() {
            return Proceed;
        }
        let code = status.as_u16();
        if role == ExchangeKind::Initialize {
            return FailSession(match code {
                401 => Cause::Auth,
                _ => Cause::Http,
            });
        }
        if code == 401 {
            return FailSession(Cause::Auth);
        }
        // The GET stream is optional: 400, 404 or 405 only say the server offers none. (A
        // session that really expired fails on the next POST.)
        if role == ExchangeKind::ServerStream && matches!(code, 400 | 404 | 405) {
            return NoServerStream;
        }
        if code == 404 && carried_session {
            return FailSession(Cause::Expired);
        }
        if status.is_server_error() {
            return match (self.server_error_scope, role) {
                (Scope::Session, _) => FailSession(Cause::Http),
                (Scope::Request, ExchangeKind::Request | ExchangeKind::Resume) => {
                    FailRequest(Cause::Http)
                }
                (Scope::Request, _) => Warn,
            };
        }
        match role {
            ExchangeKind::Request | ExchangeKind::Resume => FailRequest(Cause::Http),
            _ => Warn,
        }
    }
}

#[cfg(test)]
mod tests {
    //! One test per row of the default policy table that depends on an HTTP status.
    use super::*;
    use http::StatusCode as S;
    use ExchangeKind::*;
    use Verdict::*;

    fn v(role: ExchangeKind, code: u16, carried: bool) -> Verdict {
        Policy::default().verdict(role, S::from_u16(code).unwrap(), carried)
    }

    #[test]
    fn http_5xx_on_any_exchange_fails_the_session() {
        for role in [Request, Resume, Notification, ServerStream] {
            for code in [500, 502, 503, 504] {
                assert_eq!(
                    v(role, code, true),
                    FailSession(Cause::Http),
                    "{role:?} {code}"
                );
            }
        }
    }

    #[test]
    fn http_5xx_can_be_made_request_scoped() {
        let p = Policy {
            server_error_scope: Scope::Request,
            ..Policy::default()
        };
        assert_eq!(
            p.verdict(Request, S::SERVICE_UNAVAILABLE, true),
            FailRequest(Cause::Http)
        );
        assert_eq!(p.verdict(Notification, S::SERVICE_UNAVAILABLE, true), Warn);
        assert_eq!(
            p.verdict(Initialize, S::SERVICE_UNAVAILABLE, false),
            FailSession(Cause::Http)
        );
    }

    #[test]
    fn http_404_with_session_id_means_session_expired() {
        for role in [Request, Resume, Notification] {
            assert_eq!(v(role, 404, true), FailSession(Cause::Expired), "{role:?}");
        }
        assert_eq!(v(Request, 404, false), FailRequest(Cause::Http));
    }

    #[test]
    fn http_401_fails_the_session_with_auth_required() {
        for role in [Initialize, Request, Resume, Notification, ServerStream] {
            assert_eq!(v(role, 401, true), FailSession(Cause::Auth), "{role:?}");
        }
    }

    #[test]
    fn any_non_2xx_on_initialize_fails_the_session() {
        for code in [301, 400, 403, 404, 405, 406, 409, 429, 500, 503] {
            assert_eq!(
                v(Initialize, code, false),
                FailSession(Cause::Http),
                "{code}"
            );
        }
    }

    #[test]
    fn http_4xx_on_a_request_post_fails_only_that_request() {
        for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
            assert_eq!(v(Request, code, true), FailRequest(Cause::Http), "{code}");
        }
    }

    #[test]
    fn http_4xx_on_a_notification_post_is_a_warning() {
        for code in [400, 403, 405, 406, 409, 413, 415, 422, 429] {
            assert_eq!(v(Notification, code, true), Warn, "{code}");
        }
    }

    #[test]
    fn http_400_404_405_on_the_get_stream_mean_no_server_stream() {
        assert_eq!(v(ServerStream, 400, true), NoServerStream);
        assert_eq!(v(ServerStream, 404, false), NoServerStream);
        assert_eq!(
            v(ServerStream, 404, true),
            NoServerStream,
            "even with a session id"
        );
        assert_eq!(v(ServerStream, 405, true), NoServerStream);
        assert_eq!(v(ServerStream, 409, true), Warn);
    }

    #[test]
    fn every_reconnect_waits_at_least_the_floor_and_backs_off_on_empty_streams() {
        let p = Policy::default();
        let ms = Duration::from_millis;
        // `retry: 0` cannot make a tight loop.
        assert_eq!(p.reconnect_delay(Some(ms(0)), 1), ms(100));
        assert_eq!(p.reconnect_delay(Some(ms(500)), 1), ms(500));
        assert_eq!(p.reconnect_delay(None, 1), ms(1000));
        // Each empty stream in a row doubles the wait, up to `max_retry`.
        assert_eq!(p.reconnect_delay(Some(ms(0)), 2), ms(200));
        assert_eq!(p.reconnect_delay(Some(ms(0)), 4), ms(800));
        assert_eq!(p.reconnect_delay(Some(ms(500)), 40), p.max_retry);
        assert_eq!(p.reconnect_delay(Some(Duration::MAX), 1), p.max_retry);
        // A policy whose cap is below its floor waits the floor.
        let odd = Policy {
            max_retry: ms(0),
            ..Policy::default()
        };
        assert_eq!(odd.reconnect_delay(Some(ms(0)), 9), ms(100));
    }

    #[test]
    fn http_2xx_proceeds_and_delete_answers_are_ignored() {
        assert_eq!(v(Request, 200, true), Proceed);
        assert_eq!(v(Notification, 202, true), Proceed);
        assert_eq!(v(Delete, 500, true), Ignore);
        assert_eq!(v(Delete, 200, true), Ignore);
    }
}
