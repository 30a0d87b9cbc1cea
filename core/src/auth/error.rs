//! Why an authorization flow failed: one variant per kind of failure.
//!
//! Text that came from a server (an `error_description`, a metadata value that did not match)
//! is kept short and made safe to print before it goes into a variant: at most
//! [`Error::EXCERPT`] characters, control characters escaped as
//! [`sanitize`](crate::error::sanitize) does. No variant holds a token, a secret, a code or a
//! verifier.

use std::fmt;

use crate::error::TransportError;

/// Which metadata document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metadata {
    /// OAuth 2.0 protected resource metadata (RFC 9728), served by the MCP server.
    Resource,
    /// Authorization server metadata (RFC 8414 or OpenID Connect Discovery).
    Server,
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metadata::Resource => "protected resource metadata",
            Metadata::Server => "authorization server metadata",
        })
    }
}

/// Why an authorization flow failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No metadata document was found: every URL tried answered a 4xx or an unusable body.
    MetadataNotFound {
        /// Which document.
        what: Metadata,
        /// The URLs tried, in order.
        tried: Vec<String>,
    },
    /// A metadata document was found but is not valid (not JSON, a required field missing,
    /// an endpoint that is not a URL).
    InvalidMetadata {
        /// Which document.
        what: Metadata,
        /// Where it came from.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A metadata request answered a status that is neither success nor "not found" (a 5xx).
    MetadataStatus {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The protected resource metadata is for another resource than the MCP server the client
    /// is accessing (RFC 9728 §3.3): no authorization is attempted.
    ResourceMismatch {
        /// The MCP server URL.
        expected: String,
        /// The `resource` the metadata gave.
        got: String,
    },
    /// The authorization server metadata names another issuer than the one its URL was built
    /// from (RFC 8414 §3.3): it is not used.
    IssuerMismatch {
        /// The issuer the metadata URL was built from.
        expected: String,
        /// The `issuer` in the document.
        got: String,
    },
    /// The authorization server does not list `S256` in `code_challenge_methods_supported`
    /// (or omits the field): the MCP specification forbids going on.
    PkceUnsupported {
        /// The issuer.
        issuer: String,
    },
    /// A URL that credentials or codes would travel to is neither `https` nor on a loopback
    /// host (and plain `http` is not allowed by the configuration).
    Insecure {
        /// The URL.
        url: String,
    },
    /// The client has no identity at this authorization server: no pre-registered client for
    /// it, no client ID metadata document it supports, no registration endpoint.
    NoClientIdentity {
        /// The issuer.
        issuer: String,
    },
    /// The pre-registered client belongs to another authorization server than the one the
    /// protected resource now names; its credentials are not sent there.
    ClientIssuerMismatch {
        /// The issuer the client is registered with.
        registered: String,
        /// The issuer the resource names.
        issuer: String,
    },
    /// Dynamic client registration (RFC 7591) was refused or answered nonsense.
    RegistrationFailed {
        /// The HTTP status.
        status: u16,
        /// The RFC 7591 §3.2.2 `error`, if given.
        error: Option<String>,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// The registration (or configuration) asks for a token endpoint authentication method
    /// this client does not implement (`private_key_jwt`, ...).
    UnsupportedAuthMethod {
        /// The method.
        method: String,
    },
    /// The token endpoint refused to redeem the authorization code (RFC 6749 §5.2).
    TokenRequest {
        /// The HTTP status.
        status: u16,
        /// The `error` code, if given.
        error: Option<String>,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// The enterprise identity provider refused the token exchange (RFC 8693) of the user's
    /// ID token for an identity assertion.
    TokenExchange {
        /// The HTTP status.
        status: u16,
        /// The `error` code, if given.
        error: Option<String>,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// The authorization server refused the assertion of a JWT bearer grant (RFC 7523 §3.1):
    /// a workload token or identity assertion that has expired, names another audience, or
    /// is not trusted. It is not presented again.
    AssertionRejected {
        /// The HTTP status.
        status: u16,
        /// The `error` code, if given (`invalid_grant`).
        error: Option<String>,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// The token endpoint answered success with a body that is not a usable token response.
    InvalidTokenResponse {
        /// What is wrong.
        reason: String,
    },
    /// The token is not a Bearer token (RFC 6750); this client presents no other kind.
    UnsupportedTokenType {
        /// The `token_type` given.
        token_type: String,
    },
    /// The authorization server advertises `authorization_response_iss_parameter_supported`
    /// but its authorization response carries no `iss` (RFC 9207 §2.4): rejected.
    IssMissing {
        /// The issuer expected.
        expected: String,
    },
    /// The authorization response's `iss` is not, character for character, the issuer of the
    /// metadata the flow validated (RFC 9207 §2.4): rejected, and any `error` in it ignored.
    IssMismatch {
        /// The issuer expected.
        expected: String,
        /// The `iss` received.
        got: String,
    },
    /// The authorization response's `state` is missing or is not the one sent.
    StateMismatch,
    /// The authorization server answered the authorization request with an error
    /// (`access_denied` when the user said no; RFC 6749 §4.1.2.1).
    AuthorizationDenied {
        /// The `error` code.
        error: String,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// The redirect handed back is not a usable authorization response (another redirect URI,
    /// no `code`, a parameter given twice).
    InvalidRedirect {
        /// What is wrong.
        reason: String,
    },
    /// The user step failed before any authorization response came back (the browser could
    /// not be opened, the local callback failed, the user gave up).
    UserStep {
        /// The caller's description.
        reason: String,
    },
    /// The refresh token was refused (`invalid_grant`): it has expired or been revoked. The
    /// tokens are forgotten; the next challenge starts a new authorization.
    RefreshTokenRevoked {
        /// The `error_description`, if given.
        description: Option<String>,
    },
    /// A refresh failed for another reason (RFC 6749 §5.2).
    RefreshFailed {
        /// The HTTP status.
        status: u16,
        /// The `error` code, if given.
        error: Option<String>,
        /// Its `error_description`, if given.
        description: Option<String>,
    },
    /// More challenges came than [`Config::max_attempts`](super::Config::max_attempts) allows
    /// without a request getting through with a new token (a step-up loop, or a server that
    /// refuses every token).
    AttemptsExhausted {
        /// How many authorization attempts were made.
        attempts: u32,
    },
    /// One of the flow's own requests was answered with a redirect. The flow follows none: a
    /// metadata document, a registration or a token must come from the URL asked.
    Redirected {
        /// The URL asked.
        url: String,
        /// The 3xx status.
        status: u16,
        /// The `Location`, if given.
        location: Option<String>,
    },
    /// A response body was larger than [`Config::max_body`](super::Config::max_body).
    BodyTooLarge {
        /// The URL.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// One of the flow's requests failed in the transport.
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        error: TransportError,
    },
    /// The caller handed fewer or more random bytes than the flow asked for.
    Random {
        /// How many were asked for.
        wanted: usize,
        /// How many came.
        got: usize,
    },
    /// The caller's [`Signer`](super::Signer) could not sign a client assertion or a DPoP
    /// proof.
    Signing {
        /// What the signer said.
        reason: String,
    },
    /// The caller's [`AssertionSource`](super::AssertionSource) had no assertion to give (a
    /// workload token file that is missing or empty, an identity provider that said no).
    Assertion {
        /// What the source said.
        reason: String,
    },
    /// The caller cancelled the flow.
    Cancelled,
    /// The configuration cannot work (a redirect URI that is not a URL, an `http` client ID
    /// metadata document, ...).
    Config(String),
}

impl Error {
    /// The most characters of server text an error keeps.
    pub const EXCERPT: usize = 256;
}

/// Server text as an error keeps it: at most [`Error::EXCERPT`] characters, control
/// characters escaped.
pub(crate) fn untrusted(text: &str) -> String {
    let cut: String = text.chars().take(Error::EXCERPT).collect();
    let mut out = crate::error::sanitize(&cut);
    if text.chars().nth(Error::EXCERPT).is_some() {
        out.push('…');
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// `": description"` when there is one.
        struct Desc<'a>(&'a Option<String>);
        impl fmt::Display for Desc<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Some(d) => write!(f, ": {d}"),
                    None => Ok(()),
                }
            }
        }
        let code = |e: &Option<String>| e.clone().unwrap_or_else(|| "no error code".into());
        match self {
            Error::MetadataNotFound { what, tried } => {
                write!(f, "no {what} found (tried {})", tried.join(", "))
            }
            Error::InvalidMetadata { what, url, reason } => {
                write!(f, "invalid {what} at {url}: {reason}")
            }
            Error::MetadataStatus { url, status } => {
                write!(f, "metadata request to {url} answered HTTP {status}")
            }
            Error::ResourceMismatch { expected, got } => write!(
                f,
                "the protected resource metadata is for {got:?}, not for {expected:?}"
            ),
            Error::IssuerMismatch { expected, got } => write!(
                f,
                "the authorization server metadata names issuer {got:?}, not {expected:?}"
            ),
            Error::PkceUnsupported { issuer } => write!(
                f,
                "authorization server {issuer} does not advertise PKCE with S256"
            ),
            Error::Insecure { url } => {
                write!(f, "{url} is neither https nor on a loopback host")
            }
            Error::NoClientIdentity { issuer } => write!(
                f,
                "no client identity for {issuer}: no pre-registered client, no client ID \
                 metadata document support, no registration endpoint"
            ),
            Error::ClientIssuerMismatch { registered, issuer } => write!(
                f,
                "the pre-registered client belongs to {registered}, but the resource now \
                 names {issuer}"
            ),
            Error::RegistrationFailed {
                status,
                error,
                description,
            } => write!(
                f,
                "client registration failed (HTTP {status}, {}){}",
                code(error),
                Desc(description)
            ),
            Error::UnsupportedAuthMethod { method } => {
                write!(
                    f,
                    "token endpoint authentication method {method:?} is not supported"
                )
            }
            Error::TokenRequest {
                status,
                error,
                description,
            } => write!(
                f,
                "the token request failed (HTTP {status}, {}){}",
                code(error),
                Desc(description)
            ),
            Error::TokenExchange {
                status,
                error,
                description,
            } => write!(
                f,
                "the identity provider refused the token exchange (HTTP {status}, {}){}",
                code(error),
                Desc(description)
            ),
            Error::AssertionRejected {
                status,
                error,
                description,
            } => write!(
                f,
                "the authorization server refused the assertion (HTTP {status}, {}){}",
                code(error),
                Desc(description)
            ),
            Error::InvalidTokenResponse { reason } => write!(f, "invalid token response: {reason}"),
            Error::UnsupportedTokenType { token_type } => {
                write!(f, "token type {token_type:?} is not Bearer")
            }
            Error::IssMissing { expected } => write!(
                f,
                "the authorization response has no iss, but {expected} advertises it"
            ),
            Error::IssMismatch { expected, got } => write!(
                f,
                "the authorization response comes from issuer {got:?}, not {expected:?}"
            ),
            Error::StateMismatch => {
                f.write_str("the authorization response's state does not match")
            }
            Error::AuthorizationDenied { error, description } => {
                write!(f, "authorization denied ({error}){}", Desc(description))
            }
            Error::InvalidRedirect { reason } => {
                write!(f, "invalid authorization response: {reason}")
            }
            Error::UserStep { reason } => write!(f, "the user step failed: {reason}"),
            Error::RefreshTokenRevoked { description } => {
                write!(f, "the refresh token was refused{}", Desc(description))
            }
            Error::RefreshFailed {
                status,
                error,
                description,
            } => write!(
                f,
                "the refresh failed (HTTP {status}, {}){}",
                code(error),
                Desc(description)
            ),
            Error::AttemptsExhausted { attempts } => write!(
                f,
                "gave up after {attempts} authorization attempts without a request getting through"
            ),
            Error::Redirected {
                url,
                status,
                location,
            } => {
                write!(f, "{url} answered a redirect (HTTP {status})")?;
                match location {
                    Some(l) => write!(f, " to {l}; it is not followed"),
                    None => f.write_str("; it is not followed"),
                }
            }
            Error::BodyTooLarge { url, limit } => {
                write!(f, "the response from {url} is larger than {limit} bytes")
            }
            Error::Transport { url, error } => {
                write!(
                    f,
                    "request to {url} failed: {}: {}",
                    error.kind, error.message
                )
            }
            Error::Random { wanted, got } => {
                write!(f, "{got} random bytes given, {wanted} asked for")
            }
            Error::Signing { reason } => write!(f, "signing failed: {reason}"),
            Error::Assertion { reason } => write!(f, "no assertion to present: {reason}"),
            Error::Cancelled => f.write_str("the authorization was cancelled"),
            Error::Config(e) => write!(f, "invalid authorization configuration: {e}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_capped_and_escaped() {
        assert_eq!(untrusted("bad\x1b[31mred\nline"), "bad\\x1b[31mred line");
        let long = "é".repeat(Error::EXCERPT + 10);
        let kept = untrusted(&long);
        assert_eq!(kept.chars().count(), Error::EXCERPT + 1);
        assert!(kept.ends_with('…'));
    }

    #[test]
    fn displays_name_the_cause() {
        let e = Error::TokenRequest {
            status: 400,
            error: Some("invalid_grant".into()),
            description: Some("expired".into()),
        };
        assert_eq!(
            e.to_string(),
            "the token request failed (HTTP 400, invalid_grant): expired"
        );
        let e = Error::Redirected {
            url: "https://a/x".into(),
            status: 302,
            location: None,
        };
        assert_eq!(
            e.to_string(),
            "https://a/x answered a redirect (HTTP 302); it is not followed"
        );
    }
}
