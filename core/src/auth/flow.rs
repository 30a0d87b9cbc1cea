//! The authorization flow: every transition of the state machine is in this file.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use sha2::{Digest as _, Sha256};

use super::challenge;
use super::config::{Config, Grant};
use super::error::{untrusted, Error, Metadata};
use super::jwt::{self, Key};
use super::metadata::{self, ResourceMetadata, ServerMetadata, ServerMetadataError};
use super::pkce;
use super::token::{self, AuthMethod, ClientRegistration, Credentials, Redacted, Tokens};
use super::url::{self, Url};
use crate::error::TransportError;

/// The most registered clients remembered (one per authorization server).
const MAX_CLIENTS: usize = 16;
/// The most scopes asked for at once.
const MAX_SCOPES: usize = 64;
/// The header that carries a DPoP proof (RFC 9449 §4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The header a server gives a DPoP nonce in (RFC 9449 §8, §9).
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");
/// The longest DPoP nonce kept.
const MAX_NONCE: usize = 1024;
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The id the flow gives one of its HTTP requests; the response is fed back with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What one of the flow's HTTP requests is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// GET protected resource metadata (RFC 9728), from the MCP server.
    ResourceMetadata,
    /// GET authorization server metadata (RFC 8414, OpenID Connect Discovery).
    ServerMetadata,
    /// POST a dynamic client registration (RFC 7591), JSON.
    Registration,
    /// POST the authorization code to the token endpoint (RFC 6749 §4.1.3), form-encoded.
    Token,
    /// POST a refresh token to the token endpoint (RFC 6749 §6), form-encoded.
    Refresh,
    /// POST a token exchange (RFC 8693) to the enterprise identity provider, form-encoded.
    Exchange,
}

/// An HTTP request the flow asks the caller to send.
pub struct HttpRequest {
    /// Feed the answer back with this id.
    pub id: RequestId,
    /// What it is for.
    pub purpose: Purpose,
    /// The request, with an absolute URI and its body. Its `Authorization` header, when it
    /// has one, is marked sensitive.
    pub request: http::Request<Vec<u8>>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a code, a verifier, a secret or a refresh token: only its size.
        f.debug_struct("HttpRequest")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .field("body_bytes", &self.request.body().len())
            .finish()
    }
}

/// The next thing the flow asks for, from [`Flow::poll_output`].
#[derive(Debug)]
#[must_use = "outputs must be acted on"]
#[non_exhaustive]
// An output is moved once, from the queue to the caller (as the session's `Output` is).
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Send this request and feed back its response ([`Flow::handle_response`]) or its
    /// failure ([`Flow::handle_failure`]). Follow no redirect: hand a 3xx back as it is.
    Send(HttpRequest),
    /// Hand this many random bytes, from a cryptographically secure source, to
    /// [`Flow::handle_random`].
    Random(usize),
    /// Something happened.
    Event(Event),
}

/// Something that happened in the flow.
#[non_exhaustive]
pub enum Event {
    /// The user must authorize: open `url` in a browser. When the authorization server sends
    /// the browser back to `redirect_uri`, hand the whole URL it was sent to (query included)
    /// to [`Flow::handle_redirect`]. (A headless client GETs `url` without following
    /// redirects and hands back the `Location`.)
    Authorize {
        /// The authorization request URL.
        url: String,
        /// The configured redirect URI the response will come back to.
        redirect_uri: String,
    },
    /// A token is ready: [`Flow::authorization`] gives the header for it. The flow is idle.
    Authorized,
    /// The flow failed; it is idle, and a later challenge starts a new one.
    Failed(Error),
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The query holds `state`: only the endpoint.
            Event::Authorize { url, redirect_uri } => f
                .debug_struct("Authorize")
                .field("url", &format_args!("{}?<redacted>", without_query(url)))
                .field("redirect_uri", redirect_uri)
                .finish(),
            Event::Authorized => f.write_str("Authorized"),
            Event::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

/// `url` up to its query.
fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Whether a token can be used now, from [`Flow::token_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenStatus {
    /// There is no token.
    None,
    /// The token is valid (or has no known expiry).
    Valid,
    /// The token expires within the skew, or has expired, and can be refreshed
    /// ([`Flow::refresh`]).
    NeedsRefresh,
    /// The token expires within the skew, or has expired, and there is no refresh token.
    Expired,
}

/// A client identity at one authorization server.
#[derive(Clone)]
struct Client {
    /// Empty for a client that does not identify itself (a workload's JWT bearer grant).
    id: String,
    secret: Option<String>,
    method: AuthMethod,
    /// The `private_key_jwt` key.
    key: Option<Key>,
}

/// The current tokens.
struct Token {
    issuer: String,
    resource: String,
    /// `resource`, parsed: tokens go to its origin only.
    resource_url: Url,
    token_endpoint: Url,
    client: Client,
    access: String,
    /// `Bearer <access>` (or `DPoP <access>`), sensitive.
    header: HeaderValue,
    /// A DPoP-bound token: every request it goes with carries a proof.
    dpop: bool,
    refresh: Option<String>,
    scope: Option<String>,
    expires_at: Option<Instant>,
}

/// Where a run is.
#[derive(Debug)]
enum Step {
    /// Fetching protected resource metadata: `urls[next - 1]` is in flight.
    ResourceMetadata {
        urls: Vec<String>,
        next: usize,
        from_header: bool,
        /// A 2xx that was not metadata: (url, why).
        unusable: Option<(String, String)>,
    },
    /// 2025-03-26: fetching the MCP server origin's authorization server metadata.
    LegacyServerMetadata,
    /// Fetching authorization server metadata: `urls[next - 1]` is in flight.
    ServerMetadata {
        issuer: String,
        urls: Vec<String>,
        next: usize,
        /// The `issuer` of a document that named another one.
        mismatch: Option<String>,
        unusable: Option<(String, String)>,
    },
    /// Refreshing before authorizing again (a 401 with a refresh token held).
    ChallengeRefresh,
    /// Refreshing at the caller's request.
    Refresh,
    /// Registering the client.
    Register,
    /// Waiting for random bytes.
    Random,
    /// Waiting for the user to come back.
    User,
    /// Redeeming the authorization code.
    Redeem,
    /// The token request of a grant with no user (client credentials, JWT bearer).
    Grant,
    /// The token exchange at the enterprise identity provider.
    Exchange,
}

/// What the random bytes a run waits for are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterRandom {
    /// PKCE and `state`, then the user.
    Authorize,
    /// Only the seed of `jti`s, then the grant's token request.
    Grant,
    /// Only the seed of `jti`s, then the refresh (of this step).
    Refresh { challenge: bool },
}

/// One authorization (or refresh) in progress.
struct Run {
    /// The MCP server URL that was challenged (or, for a refresh, the token's resource).
    target: Url,
    /// The scopes the challenge asked for.
    challenge_scope: Vec<String>,
    /// The challenge's `resource_metadata`.
    resource_metadata: Option<String>,
    /// A 403 `insufficient_scope`: a refresh cannot help.
    step_up: bool,
    step: Step,
    /// The request in flight: its id and URL.
    waiting: Option<(RequestId, String)>,
    /// The `resource` to send: the protected resource metadata's, byte for byte.
    resource: Option<String>,
    prm_scopes: Option<Vec<String>>,
    server: Option<ServerMetadata>,
    client: Option<Client>,
    /// The scopes asked for (offline_access aside), and the `scope` parameter sent.
    scopes: Vec<String>,
    scope: Option<String>,
    verifier: Option<String>,
    state: Option<String>,
    after_random: AfterRandom,
    /// The authorization code, until redeemed (a DPoP nonce may ask for the request again).
    code: Option<String>,
    /// The identity assertion the identity provider issued, until redeemed.
    assertion: Option<String>,
    /// A token request of this run was asked again for a DPoP nonce.
    nonce_retried: bool,
}

impl Run {
    fn new(target: Url) -> Run {
        Run {
            target,
            challenge_scope: Vec::new(),
            resource_metadata: None,
            step_up: false,
            step: Step::Random,
            waiting: None,
            resource: None,
            prm_scopes: None,
            server: None,
            client: None,
            scopes: Vec::new(),
            scope: None,
            verifier: None,
            state: None,
            after_random: AfterRandom::Authorize,
            code: None,
            assertion: None,
            nonce_retried: false,
        }
    }
}

/// What goes with each request to the MCP server: the `Authorization` header and, for a
/// DPoP-bound token, what makes each request's proof.
#[derive(Clone)]
pub(crate) struct ResourceCredential {
    /// `Bearer <token>` or `DPoP <token>`, sensitive.
    pub(crate) header: HeaderValue,
    pub(crate) dpop: Option<DpopProver>,
}

impl fmt::Debug for ResourceCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The header holds the token: only whether proofs go with it.
        f.debug_struct("ResourceCredential")
            .field("header", &Redacted)
            .field("dpop", &self.dpop.is_some())
            .finish()
    }
}

/// Makes the DPoP proofs of requests to the MCP server.
#[derive(Clone)]
pub(crate) struct DpopProver {
    key: Key,
    /// `ath` of the token.
    ath: String,
    /// The resource server's last nonce.
    nonce: Option<String>,
    /// Unique per flow: with a counter, each proof's `jti`.
    seed: String,
    clock: (Instant, Duration),
}

impl DpopProver {
    /// The proof of a request (`serial` unique among the prover's requests), at `now`.
    pub(crate) fn proof(
        &self,
        method: &Method,
        uri: &Uri,
        now: Instant,
        serial: u64,
    ) -> Option<HeaderValue> {
        let jti = format!("{}.r{serial}", self.seed);
        let uri = uri.to_string();
        let token = jwt::dpop_proof(
            &self.key,
            method.as_str(),
            &uri,
            unix_at(self.clock, now),
            &jti,
            self.nonce.as_deref(),
            Some(&self.ath),
        )
        .ok()?;
        let mut value = HeaderValue::from_str(&token).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// The `jti` seed of random bytes: one way, so that `jti`s say nothing of a PKCE verifier
/// made of the same bytes.
fn seed_of(bytes: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"mcpwire jti seed");
    hash.update(bytes);
    pkce::base64url(&hash.finalize()[..16])
}

/// The caller's wall clock at `now`, from the time it gave with [`Flow::set_clock`], in
/// seconds since the UNIX epoch.
fn unix_at((at, unix): (Instant, Duration), now: Instant) -> u64 {
    let t = if now >= at {
        unix.saturating_add(now - at)
    } else {
        unix.saturating_sub(at - now)
    };
    t.as_secs()
}

/// The OAuth 2.1 authorization flow of the MCP authorization specification, as a sans-IO
/// state machine: protected resource metadata discovery, authorization server metadata
/// discovery, client registration, authorization code with PKCE, tokens, refresh and
/// step-up. It does no IO and reads no clock; the caller sends what it asks, feeds back
/// what happens, and hands in time and random bytes.
///
/// One flow runs at a time; challenges that arrive while it runs join it. Every run ends with
/// exactly one [`Event::Authorized`] or [`Event::Failed`], after which the flow is idle.
///
/// Its methods come in four kinds:
///
/// - **Getters**: [`authorization`](Flow::authorization), [`token_status`](Flow::token_status),
///   [`expires_at`](Flow::expires_at), [`is_busy`](Flow::is_busy), [`issuer`](Flow::issuer),
///   [`scope`](Flow::scope), [`credentials`](Flow::credentials).
/// - **Input**: [`handle_challenge`](Flow::handle_challenge) (a 401 or 403 from the MCP
///   server), [`handle_response`](Flow::handle_response) and
///   [`handle_failure`](Flow::handle_failure) (the flow's own requests),
///   [`handle_random`](Flow::handle_random), [`handle_redirect`](Flow::handle_redirect) (the
///   user step), [`handle_accepted`](Flow::handle_accepted) (a request got through).
/// - **Commands**: [`refresh`](Flow::refresh), [`cancel`](Flow::cancel),
///   [`restore`](Flow::restore).
/// - **Output**: [`poll_output`](Flow::poll_output), drained until `None`.
pub struct Flow {
    config: Config,
    redirect: Url,
    next_request: u64,
    queue: VecDeque<Output>,
    run: Option<Box<Run>>,
    /// Challenges answered since a request last got through.
    attempts: u32,
    /// The scopes last asked for: the base of the next union.
    requested: Vec<String>,
    /// Dynamically registered clients, by issuer.
    clients: BTreeMap<String, ClientRegistration>,
    /// The issuer a pre-registered client configured without one was first used with.
    pre_registered_issuer: Option<String>,
    token: Option<Token>,
    /// The caller's wall clock at an instant ([`Flow::set_clock`]): the times of signed JWTs.
    clock: Option<(Instant, Duration)>,
    /// The last time the caller gave.
    now: Option<Instant>,
    /// Drawn from random bytes: with `jtis`, the unique `jti` of each JWT the flow signs.
    seed: Option<String>,
    jtis: u64,
    /// The authorization server's last DPoP nonce, and the resource server's.
    as_nonce: Option<String>,
    rs_nonce: Option<String>,
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("config", &self.config)
            .field("step", &self.run.as_ref().map(|r| &r.step))
            .field("attempts", &self.attempts)
            .field("requested", &self.requested)
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .field("token", &self.token.as_ref().map(TokenDebug))
            .field("queued", &self.queue.len())
            .finish()
    }
}

/// A token's `Debug`: everything but the token.
struct TokenDebug<'a>(&'a Token);

impl fmt::Debug for TokenDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        f.debug_struct("Token")
            .field("issuer", &t.issuer)
            .field("resource", &t.resource)
            .field("client_id", &t.client.id)
            .field("access", &Redacted)
            .field("refresh", &t.refresh.as_ref().map(|_| Redacted))
            .field("scope", &t.scope)
            .field("expires_at", &t.expires_at)
            .finish()
    }
}

impl Flow {
    /// A flow with this configuration, or why the configuration cannot work.
    pub fn new(config: Config) -> Result<Flow, Error> {
        let redirect = Url::parse(&config.redirect_uri)
            .map_err(|e| Error::Config(format!("redirect URI {e}")))?;
        // Security considerations, "Communication Security": localhost or https, whatever
        // `allow_http` says.
        if !redirect.is_secure(false) {
            return Err(Error::Config(
                "the redirect URI must be https or on a loopback host".into(),
            ));
        }
        if config.pre_registered.is_none() {
            match config.grant {
                Grant::ClientCredentials => {
                    return Err(Error::Config(
                        "the client credentials grant needs a pre-registered client".into(),
                    ))
                }
                Grant::IdentityAssertion(_) => {
                    return Err(Error::Config(
                        "enterprise-managed authorization needs a pre-registered client".into(),
                    ))
                }
                _ => {}
            }
        }
        if let Grant::IdentityAssertion(idp) = &config.grant {
            let url = Url::parse(&idp.token_endpoint).map_err(|e| {
                Error::Config(format!("the identity provider's token endpoint {e}"))
            })?;
            if !url.is_secure(config.allow_http) {
                return Err(Error::Insecure {
                    url: url.as_str().to_owned(),
                });
            }
        }
        if let Some(key) = &config.dpop {
            if key.0.public_jwk().is_none() {
                return Err(Error::Config("the DPoP key has no public JWK".into()));
            }
        }
        if let Some(cimd) = &config.client_metadata_url {
            let url =
                Url::parse(cimd).map_err(|e| Error::Config(format!("client metadata URL {e}")))?;
            if !url
                .as_str()
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
                || url.path().is_empty()
                || url.path() == "/"
            {
                return Err(Error::Config(
                    "the client metadata URL must be https with a path".into(),
                ));
            }
        }
        Ok(Flow {
            config,
            redirect,
            next_request: 0,
            queue: VecDeque::new(),
            run: None,
            attempts: 0,
            requested: Vec::new(),
            clients: BTreeMap::new(),
            pre_registered_issuer: None,
            token: None,
            clock: None,
            now: None,
            seed: None,
            jtis: 0,
            as_nonce: None,
            rs_nonce: None,
        })
    }

    /// The caller's wall clock (the time since the UNIX epoch) at `now`: the flow signs
    /// JWTs (client assertions, DPoP proofs) with times from it. Without it those fail
    /// with [`Error::Config`].
    pub fn set_clock(&mut self, now: Instant, unix_now: Duration) {
        self.clock = Some((now, unix_now));
        self.now = Some(now);
    }

    /// Random bytes (at least 16) from the caller, for the unique `jti` of the JWTs the flow
    /// signs, given up front (the flow otherwise asks with [`Output::Random`] before the
    /// first one): a restored DPoP-bound token needs them to prove its first request.
    pub fn set_entropy(&mut self, bytes: &[u8]) {
        if bytes.len() >= 16 {
            self.seed = Some(seed_of(bytes));
        }
    }

    /// The time now: what the JWTs signed from now on say.
    pub fn advance(&mut self, now: Instant) {
        self.now = Some(now);
    }

    // ---- getters ----

    /// The `Authorization` header for a request to `uri`: `Bearer <token>`, marked sensitive,
    /// when a token is held and `uri` has the origin of the resource it was issued for
    /// (scheme and host compared without case, default ports filled in). Never for another
    /// origin. Expiry is not checked: see [`token_status`](Flow::token_status). A DPoP-bound
    /// token gives `DPoP <token>`, which the session sends with a proof per request.
    pub fn authorization(&self, uri: &Uri) -> Option<HeaderValue> {
        let token = self.token.as_ref()?;
        let target = Url::from_uri(uri).ok()?;
        token
            .resource_url
            .same_origin(&target)
            .then(|| token.header.clone())
    }

    /// What goes with each request to `uri`: the header, and for a DPoP-bound token what
    /// proves each request.
    pub(crate) fn resource_credential(&self, uri: &Uri) -> Option<ResourceCredential> {
        let header = self.authorization(uri)?;
        let token = self.token.as_ref()?;
        let dpop = match (token.dpop, &self.config.dpop, &self.seed, self.clock) {
            (true, Some(key), Some(seed), Some(clock)) => Some(DpopProver {
                key: key.clone(),
                ath: jwt::ath(&token.access),
                nonce: self.rs_nonce.clone(),
                seed: seed.clone(),
                clock,
            }),
            _ => None,
        };
        Some(ResourceCredential { header, dpop })
    }

    /// Whether the token can be used at `now`: it needs a refresh from
    /// [`Config::refresh_skew`] before its expiry.
    pub fn token_status(&self, now: Instant) -> TokenStatus {
        let Some(token) = &self.token else {
            return TokenStatus::None;
        };
        match token.expires_at {
            Some(at)
                if now
                    .checked_add(self.config.refresh_skew)
                    .is_none_or(|t| t >= at) =>
            {
                if token.refresh.is_some() {
                    TokenStatus::NeedsRefresh
                } else {
                    TokenStatus::Expired
                }
            }
            _ => TokenStatus::Valid,
        }
    }

    /// When the access token expires, if it has a known lifetime.
    pub fn expires_at(&self) -> Option<Instant> {
        self.token.as_ref()?.expires_at
    }

    /// Whether a flow is in progress (it will end with [`Event::Authorized`] or
    /// [`Event::Failed`]).
    pub fn is_busy(&self) -> bool {
        self.run.is_some()
    }

    /// The issuer of the authorization server that issued the current token.
    pub fn issuer(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.issuer.as_str())
    }

    /// The scope of the current token: as granted, or as asked for when the server did not
    /// say.
    pub fn scope(&self) -> Option<&str> {
        self.token.as_ref()?.scope.as_deref()
    }

    /// What a token store should keep. `now` and `unix_now` (the caller's clock, as the time
    /// since the UNIX epoch) turn the expiry into an absolute time.
    pub fn credentials(&self, now: Instant, unix_now: Duration) -> Credentials {
        let tokens = self.token.as_ref().map(|t| Tokens {
            issuer: t.issuer.clone(),
            resource: t.resource.clone(),
            token_endpoint: t.token_endpoint.as_str().to_owned(),
            client_id: t.client.id.clone(),
            auth_method: t.client.method,
            access_token: t.access.clone(),
            refresh_token: t.refresh.clone(),
            scope: t.scope.clone(),
            expires_at: t.expires_at.map(|at| {
                let unix = if at >= now {
                    unix_now.saturating_add(at - now)
                } else {
                    unix_now.saturating_sub(now - at)
                };
                unix.as_secs()
            }),
            dpop_jkt: t.dpop.then(|| self.dpop_jkt()).flatten(),
        });
        let pre_registered_issuers =
            match (&self.config.pre_registered, &self.pre_registered_issuer) {
                (Some(pre), Some(issuer)) => [(pre.client_id.clone(), issuer.clone())].into(),
                _ => BTreeMap::new(),
            };
        Credentials {
            clients: self.clients.clone(),
            tokens,
            pre_registered_issuers,
        }
    }

    // ---- commands ----

    /// Takes back what [`credentials`](Flow::credentials) gave (registered clients, tokens,
    /// the issuer a pre-registered client was bound to), replacing what the flow holds. The secret of the tokens' client is taken from
    /// the registered clients, or from the pre-registered one. Fails, changing nothing, when
    /// the tokens cannot be used (a resource or endpoint that is not a URL, a token that
    /// cannot go in a header).
    pub fn restore(
        &mut self,
        credentials: Credentials,
        now: Instant,
        unix_now: Duration,
    ) -> Result<(), Error> {
        let token = match credentials.tokens {
            None => None,
            Some(t) => {
                let bad = |what: &str, e: &str| Error::Config(format!("stored {what} {e}"));
                let resource_url = Url::parse(&t.resource).map_err(|e| bad("resource", e))?;
                let token_endpoint =
                    Url::parse(&t.token_endpoint).map_err(|e| bad("token endpoint", e))?;
                // A DPoP-bound token is only worth anything with the key it is bound to.
                let dpop = t.dpop_jkt.is_some();
                let header = authorization_header(&t.access_token, dpop)
                    .ok_or_else(|| bad("access token", "cannot go in a header"))?;
                let secret = credentials
                    .clients
                    .get(&t.issuer)
                    .filter(|c| c.client_id == t.client_id)
                    .and_then(|c| c.client_secret.clone())
                    .or_else(|| {
                        self.config
                            .pre_registered
                            .as_ref()
                            .filter(|p| p.client_id == t.client_id)
                            .and_then(|p| p.client_secret.clone())
                    });
                let key = self
                    .config
                    .pre_registered
                    .as_ref()
                    .filter(|p| p.client_id == t.client_id)
                    .and_then(|p| p.key.clone());
                let expires_at = t.expires_at.map(|at| {
                    let at = Duration::from_secs(at);
                    if at >= unix_now {
                        now.checked_add(at - unix_now).unwrap_or(now)
                    } else {
                        now.checked_sub(unix_now - at).unwrap_or(now)
                    }
                });
                Some(Token {
                    issuer: t.issuer,
                    resource: t.resource,
                    resource_url,
                    token_endpoint,
                    client: Client {
                        id: t.client_id,
                        secret,
                        method: t.auth_method,
                        key,
                    },
                    access: t.access_token,
                    header,
                    dpop,
                    refresh: t.refresh_token,
                    scope: t.scope,
                    expires_at,
                })
                // Bound to a key: only with that key, and entropy to prove requests with.
                .filter(|_| {
                    t.dpop_jkt.is_none() || (t.dpop_jkt == self.dpop_jkt() && self.seed.is_some())
                })
            }
        };
        if let Some(t) = &token {
            self.requested = t
                .scope
                .as_deref()
                .map(metadata::scope_tokens)
                .unwrap_or_default();
            self.requested.retain(|s| s != "offline_access");
        }
        self.token = token;
        self.pre_registered_issuer = self
            .config
            .pre_registered
            .as_ref()
            .filter(|p| p.issuer.is_none())
            .and_then(|p| {
                credentials
                    .pre_registered_issuers
                    .get(&p.client_id)
                    .cloned()
            });
        self.clients = credentials.clients;
        while self.clients.len() > MAX_CLIENTS {
            self.clients.pop_first();
        }
        Ok(())
    }

    /// Starts refreshing the token (RFC 6749 §6), ahead of its expiry. Returns whether it
    /// started: not when a flow is already in progress, or there is no refresh token. Ends
    /// with [`Event::Authorized`], or [`Event::Failed`] with
    /// [`Error::RefreshTokenRevoked`] (the tokens are then forgotten) or
    /// [`Error::RefreshFailed`].
    pub fn refresh(&mut self) -> bool {
        if self.run.is_some() {
            return false;
        }
        let Some(token) = self.token.as_ref().filter(|t| t.refresh.is_some()) else {
            return false;
        };
        let mut run = Box::new(Run::new(token.resource_url.clone()));
        run.resource = Some(token.resource.clone());
        if self.needs_seed(token.client.key.is_some()) {
            run.after_random = AfterRandom::Refresh { challenge: false };
            self.ask_seed(run);
        } else {
            self.send_refresh(run, Step::Refresh);
        }
        true
    }

    /// Cancels the flow in progress: it ends with [`Event::Failed`] with [`Error::Cancelled`].
    /// Returns whether there was one. Answers to its requests are ignored from now on.
    pub fn cancel(&mut self) -> bool {
        if self.run.is_none() {
            return false;
        }
        self.fail(Error::Cancelled);
        true
    }

    // ---- input ----

    /// The MCP server at `url` answered `status` with these headers. Returns whether the flow
    /// takes it: a 401, or a 403 whose `Bearer` challenge says `error="insufficient_scope"`
    /// (step-up). A flow then runs (or the one in progress is joined) and ends with one
    /// [`Event::Authorized`] or [`Event::Failed`]. Anything else returns `false` and changes
    /// nothing: it is not an authorization matter.
    ///
    /// Past [`Config::max_attempts`] challenges without a
    /// [`handle_accepted`](Flow::handle_accepted), the flow fails at once with
    /// [`Error::AttemptsExhausted`].
    pub fn handle_challenge(&mut self, url: &Uri, status: StatusCode, headers: &HeaderMap) -> bool {
        let challenges = challenge::from_headers(headers);
        // A DPoP-protected resource challenges with `DPoP` (RFC 9449 §7.1); its parameters
        // mean what Bearer's do.
        let dpop_challenge = challenges.iter().find(|c| c.is("DPoP"));
        let bearer = challenges
            .iter()
            .find(|c| c.is("Bearer"))
            .or(dpop_challenge.filter(|_| self.config.dpop.is_some()));
        // RFC 9449 §9: the resource server wants a nonce in the proofs. With a token, nothing
        // else is needed: the request goes again with a proof that has it.
        let nonce = headers
            .get(&DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE);
        if let (401, Some(c), Some(nonce), Some(_), true) = (
            status.as_u16(),
            dpop_challenge,
            nonce,
            &self.config.dpop,
            self.token.as_ref().is_some_and(|t| t.dpop),
        ) {
            if c.param("error") == Some("use_dpop_nonce") {
                if self.run.is_some() {
                    self.rs_nonce = Some(nonce.to_owned());
                    return true;
                }
                if self.attempts >= self.config.max_attempts {
                    self.queue
                        .push_back(Output::Event(Event::Failed(Error::AttemptsExhausted {
                            attempts: self.attempts,
                        })));
                    return true;
                }
                self.attempts += 1;
                self.rs_nonce = Some(nonce.to_owned());
                self.queue.push_back(Output::Event(Event::Authorized));
                return true;
            }
        }
        let step_up = match status.as_u16() {
            401 => false,
            403 if bearer.and_then(|b| b.param("error")) == Some("insufficient_scope") => true,
            _ => return false,
        };
        if self.run.is_some() {
            return true;
        }
        if self.attempts >= self.config.max_attempts {
            self.queue
                .push_back(Output::Event(Event::Failed(Error::AttemptsExhausted {
                    attempts: self.attempts,
                })));
            return true;
        }
        self.attempts += 1;
        let target = match Url::from_uri(url) {
            Ok(t) => t,
            Err(e) => {
                self.fail(Error::Config(format!("the MCP server URL {e}")));
                return true;
            }
        };
        if !target.is_secure(self.config.allow_http) {
            self.fail(Error::Insecure {
                url: target.as_str().to_owned(),
            });
            return true;
        }
        let mut run = Box::new(Run::new(target));
        run.step_up = step_up;
        if let Some(b) = bearer {
            run.challenge_scope = b
                .param("scope")
                .map(metadata::scope_tokens)
                .unwrap_or_default();
            run.resource_metadata = b.param("resource_metadata").map(str::to_owned);
        }
        self.start_discovery(run);
        true
    }

    /// The response to request `id`: its status, headers and whole body (an adapter may stop
    /// reading past [`Config::max_body`] and hand what it has: a body over the limit fails
    /// the flow). An id the flow is not waiting for is ignored.
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: RequestId,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        self.now = Some(now);
        let Some(mut run) = self.take_waiting(id) else {
            return;
        };
        let url = run.waiting.take().map(|(_, url)| url).unwrap_or_default();
        if body.len() > self.config.max_body {
            return self.fail(Error::BodyTooLarge {
                url,
                limit: self.config.max_body,
            });
        }
        if status.is_redirection() {
            let location = headers
                .get(LOCATION)
                .map(|l| untrusted(&String::from_utf8_lossy(l.as_bytes())));
            return self.fail(Error::Redirected {
                url,
                status: status.as_u16(),
                location,
            });
        }
        match run.step {
            Step::ResourceMetadata { .. } => self.on_resource_metadata(run, url, status, body),
            Step::LegacyServerMetadata => self.on_legacy_metadata(run, url, status, body),
            Step::ServerMetadata { .. } => self.on_server_metadata(run, url, status, body),
            Step::Register => self.on_registration(run, status, body),
            Step::Redeem | Step::Refresh | Step::ChallengeRefresh | Step::Grant => {
                self.on_token(now, run, status, headers, body)
            }
            Step::Exchange => self.on_exchange(run, status, body),
            Step::Random | Step::User => {}
        }
    }

    /// Request `id` failed in the transport: the flow fails.
    pub fn handle_failure(&mut self, id: RequestId, error: TransportError) {
        let Some(mut run) = self.take_waiting(id) else {
            return;
        };
        let url = run.waiting.take().map(|(_, url)| url).unwrap_or_default();
        self.fail(Error::Transport { url, error });
    }

    /// The random bytes asked for with [`Output::Random`]. Ignored when none were asked for.
    pub fn handle_random(&mut self, bytes: &[u8]) {
        let Some(mut run) = self.run.take_if(|r| matches!(r.step, Step::Random)) else {
            return;
        };
        if bytes.len() != pkce::RANDOM_BYTES {
            return self.fail(Error::Random {
                wanted: pkce::RANDOM_BYTES,
                got: bytes.len(),
            });
        }
        if self.seed.is_none() {
            self.seed = Some(seed_of(bytes));
        }
        match run.after_random {
            AfterRandom::Authorize => {}
            AfterRandom::Grant => return self.send_grant(run),
            AfterRandom::Refresh { challenge } => {
                let step = if challenge {
                    Step::ChallengeRefresh
                } else {
                    Step::Refresh
                };
                return self.send_refresh(run, step);
            }
        }
        let (verifier, state) = bytes.split_at(pkce::VERIFIER_BYTES);
        let verifier = pkce::base64url(verifier);
        let state = pkce::base64url(state);
        let (Some(server), Some(client), Some(resource)) =
            (&run.server, &run.client, &run.resource)
        else {
            return self.fail(Error::Cancelled);
        };
        let mut link = String::from(server.authorization_endpoint.as_str());
        link.push(if server.authorization_endpoint.query().is_some() {
            '&'
        } else {
            '?'
        });
        let challenge = pkce::s256(&verifier);
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", state.as_str()),
        ];
        if let Some(scope) = &run.scope {
            params.push(("scope", scope));
        }
        params.push(("resource", resource));
        link.push_str(&url::form(&params));
        self.requested = run.scopes.clone();
        run.verifier = Some(verifier);
        run.state = Some(state);
        run.step = Step::User;
        self.run = Some(run);
        self.queue.push_back(Output::Event(Event::Authorize {
            url: link,
            redirect_uri: self.config.redirect_uri.clone(),
        }));
    }

    /// The user step ended: `Ok` with the URL the authorization server sent the browser to
    /// (the redirect URI with the response in its query), or `Err` with why there is none.
    /// Ignored when the flow is not waiting for the user.
    ///
    /// The response is checked in this order: RFC 9207 `iss` (so that an `error` from a
    /// mixed-up server is never acted on), `state`, `error`, then the code is redeemed.
    pub fn handle_redirect(&mut self, result: Result<&str, &str>) {
        let Some(run) = self.run.take_if(|r| matches!(r.step, Step::User)) else {
            return;
        };
        match result {
            Err(reason) => self.fail(Error::UserStep {
                reason: untrusted(reason),
            }),
            Ok(url) => match self.check_redirect(&run, url) {
                Ok(code) => self.send_token_request(run, &code),
                Err(e) => self.fail(e),
            },
        }
    }

    /// A request held for a challenge was sent again with the flow's token and got an answer
    /// that is not a 401 or 403: the attempt count starts again.
    pub fn handle_accepted(&mut self) {
        self.attempts = 0;
    }

    // ---- output ----

    /// The next thing to do, or `None` until an input or a command.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.queue.pop_front()
    }

    // ---- transitions ----

    /// The run waiting for `id`, taken out.
    fn take_waiting(&mut self, id: RequestId) -> Option<Box<Run>> {
        self.run
            .take_if(|r| r.waiting.as_ref().is_some_and(|(w, _)| *w == id))
    }

    /// Ends the run with `error`.
    fn fail(&mut self, error: Error) {
        self.run = None;
        self.queue.push_back(Output::Event(Event::Failed(error)));
    }

    /// Sends `request` to `url` (its URI as built: `Uri` writes a pathless one with a `/`)
    /// for `run`, which then waits for it.
    fn send(
        &mut self,
        mut run: Box<Run>,
        purpose: Purpose,
        url: &str,
        request: http::Request<Vec<u8>>,
    ) {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        run.waiting = Some((id, url.to_owned()));
        self.run = Some(run);
        self.queue.push_back(Output::Send(HttpRequest {
            id,
            purpose,
            request,
        }));
    }

    /// A GET of a JSON document.
    fn send_get(&mut self, run: Box<Run>, purpose: Purpose, url: &str) {
        let request = http::Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(ACCEPT, "application/json")
            .body(Vec::new());
        match request {
            Ok(request) => self.send(run, purpose, url, request),
            Err(_) => self.fail(Error::Config(format!("cannot request {}", untrusted(url)))),
        }
    }

    /// Starts discovery for a challenge: protected resource metadata first.
    fn start_discovery(&mut self, mut run: Box<Run>) {
        let (urls, from_header) = match run.resource_metadata.take() {
            Some(u) => {
                match Url::parse(&u) {
                    Err(e) => {
                        return self.fail(Error::InvalidMetadata {
                            what: Metadata::Resource,
                            url: untrusted(&u),
                            reason: format!("resource_metadata {e}"),
                        })
                    }
                    Ok(url) if !url.is_secure(self.config.allow_http) => {
                        return self.fail(Error::Insecure { url: u })
                    }
                    Ok(_) => {}
                }
                (vec![u], true)
            }
            None => (run.target.resource_metadata_urls(), false),
        };
        let first = urls[0].clone();
        run.step = Step::ResourceMetadata {
            urls,
            next: 1,
            from_header,
            unusable: None,
        };
        self.send_get(run, Purpose::ResourceMetadata, &first);
    }

    fn on_resource_metadata(
        &mut self,
        mut run: Box<Run>,
        url: String,
        status: StatusCode,
        body: &[u8],
    ) {
        let Step::ResourceMetadata {
            urls,
            next,
            from_header,
            unusable,
        } = &mut run.step
        else {
            return;
        };
        if status.is_success() {
            match metadata::resource_metadata(body) {
                Ok(prm) => return self.on_resource(run, prm),
                Err(reason) if *from_header => {
                    return self.fail(Error::InvalidMetadata {
                        what: Metadata::Resource,
                        url,
                        reason,
                    })
                }
                Err(reason) => *unusable = Some((url, reason)),
            }
        } else if !status.is_client_error() {
            return self.fail(Error::MetadataStatus {
                url,
                status: status.as_u16(),
            });
        }
        if let Some(u) = urls.get(*next).cloned() {
            *next += 1;
            return self.send_get(run, Purpose::ResourceMetadata, &u);
        }
        if let Some((url, reason)) = unusable.take() {
            return self.fail(Error::InvalidMetadata {
                what: Metadata::Resource,
                url,
                reason,
            });
        }
        if *from_header || !self.config.legacy_discovery {
            let tried = std::mem::take(urls);
            return self.fail(Error::MetadataNotFound {
                what: Metadata::Resource,
                tried,
            });
        }
        // 2025-03-26: no protected resource metadata; the MCP server's origin is the
        // authorization server.
        let url = format!(
            "{}/.well-known/oauth-authorization-server",
            run.target.origin()
        );
        run.step = Step::LegacyServerMetadata;
        self.send_get(run, Purpose::ServerMetadata, &url);
    }

    /// Protected resource metadata arrived: check it is for this resource, pick the
    /// authorization server, fetch its metadata.
    fn on_resource(&mut self, mut run: Box<Run>, prm: ResourceMetadata) {
        if !prm.resource_url.covers(&run.target) {
            return self.fail(Error::ResourceMismatch {
                expected: run.target.as_str().to_owned(),
                got: untrusted(&prm.resource),
            });
        }
        let issuer = self.pick_server(&prm.authorization_servers).to_owned();
        let issuer_url = match Url::parse(&issuer) {
            Ok(u) if u.query().is_none() => u,
            Ok(_) => {
                return self.fail(Error::InvalidMetadata {
                    what: Metadata::Resource,
                    url: untrusted(&issuer),
                    reason: "the authorization server identifier has a query".into(),
                })
            }
            Err(e) => {
                return self.fail(Error::InvalidMetadata {
                    what: Metadata::Resource,
                    url: untrusted(&issuer),
                    reason: format!("the authorization server identifier {e}"),
                })
            }
        };
        if !issuer_url.is_secure(self.config.allow_http) {
            return self.fail(Error::Insecure { url: issuer });
        }
        run.resource = Some(prm.resource);
        run.prm_scopes = prm.scopes_supported;
        let urls = issuer_url.server_metadata_urls();
        let first = urls[0].clone();
        run.step = Step::ServerMetadata {
            issuer,
            urls,
            next: 1,
            mismatch: None,
            unusable: None,
        };
        self.send_get(run, Purpose::ServerMetadata, &first);
    }

    /// Which of the resource's authorization servers to use: the pre-registered client's, else
    /// one the flow holds a registration or a token for, else the first.
    fn pick_server<'a>(&self, servers: &'a [String]) -> &'a str {
        let pre = self
            .config
            .pre_registered
            .as_ref()
            .and_then(|p| p.issuer.as_ref())
            .or(self.pre_registered_issuer.as_ref());
        let known = |s: &&String| {
            pre == Some(*s)
                || self.clients.contains_key(*s)
                || self.token.as_ref().is_some_and(|t| &t.issuer == *s)
        };
        servers.iter().find(known).unwrap_or(&servers[0])
    }

    fn on_server_metadata(
        &mut self,
        mut run: Box<Run>,
        url: String,
        status: StatusCode,
        body: &[u8],
    ) {
        let Step::ServerMetadata {
            issuer,
            urls,
            next,
            mismatch,
            unusable,
        } = &mut run.step
        else {
            return;
        };
        if status.is_success() {
            let check = metadata::IssuerCheck::Exact(issuer);
            let pkce = self.config.has_user();
            match metadata::server_metadata_checked(body, check, self.config.allow_http, pkce) {
                Ok(server) => {
                    run.server = Some(server);
                    return self.after_server(run);
                }
                Err(ServerMetadataError::Unusable(reason)) => *unusable = Some((url, reason)),
                Err(ServerMetadataError::IssuerMismatch(got)) => *mismatch = Some(got),
                Err(e) => {
                    let issuer = issuer.clone();
                    return self.fail(server_metadata_error(e, url, issuer));
                }
            }
        } else if !status.is_client_error() {
            return self.fail(Error::MetadataStatus {
                url,
                status: status.as_u16(),
            });
        }
        if let Some(u) = urls.get(*next).cloned() {
            *next += 1;
            return self.send_get(run, Purpose::ServerMetadata, &u);
        }
        let error = if let Some(got) = mismatch.take() {
            Error::IssuerMismatch {
                expected: issuer.clone(),
                got: untrusted(&got),
            }
        } else if let Some((url, reason)) = unusable.take() {
            Error::InvalidMetadata {
                what: Metadata::Server,
                url,
                reason,
            }
        } else {
            Error::MetadataNotFound {
                what: Metadata::Server,
                tried: std::mem::take(urls),
            }
        };
        self.fail(error);
    }

    /// 2025-03-26: the MCP server origin's metadata, or its default endpoints.
    fn on_legacy_metadata(
        &mut self,
        mut run: Box<Run>,
        url: String,
        status: StatusCode,
        body: &[u8],
    ) {
        let origin = run.target.origin().to_owned();
        let server = if status.is_success() {
            let check = metadata::IssuerCheck::SameOrigin(&origin);
            let pkce = self.config.has_user();
            match metadata::server_metadata_checked(body, check, self.config.allow_http, pkce) {
                Ok(server) => server,
                Err(ServerMetadataError::Unusable(reason)) => {
                    return self.fail(Error::InvalidMetadata {
                        what: Metadata::Server,
                        url,
                        reason,
                    })
                }
                Err(ServerMetadataError::IssuerMismatch(got)) => {
                    return self.fail(Error::IssuerMismatch {
                        expected: origin,
                        got: untrusted(&got),
                    })
                }
                Err(e) => return self.fail(server_metadata_error(e, url, origin)),
            }
        } else if status.is_client_error() {
            match ServerMetadata::fallback(&origin) {
                Ok(server) => server,
                Err(e) => return self.fail(Error::Config(format!("the MCP server URL {e}"))),
            }
        } else {
            return self.fail(Error::MetadataStatus {
                url,
                status: status.as_u16(),
            });
        };
        run.resource = Some(run.target.canonical_resource());
        run.server = Some(server);
        self.after_server(run);
    }

    /// The authorization server is known: refresh if that can answer a 401, else get a client
    /// identity.
    fn after_server(&mut self, mut run: Box<Run>) {
        let can_refresh = !run.step_up
            && self.token.as_ref().is_some_and(|t| {
                t.refresh.is_some()
                    && run.server.as_ref().is_some_and(|s| s.issuer == t.issuer)
                    && run.resource.as_ref() == Some(&t.resource)
            });
        let keyed = self.token.as_ref().is_some_and(|t| t.client.key.is_some());
        if can_refresh && self.needs_seed(keyed) {
            run.after_random = AfterRandom::Refresh { challenge: true };
            self.ask_seed(run);
        } else if can_refresh {
            self.send_refresh(run, Step::ChallengeRefresh);
        } else {
            self.choose_client(run);
        }
    }

    /// Whether a token request needs a `jti` the flow has no seed for yet: a client assertion
    /// (`keyed`) or a DPoP proof.
    fn needs_seed(&self, keyed: bool) -> bool {
        self.seed.is_none() && (keyed || self.config.dpop.is_some())
    }

    /// Asks for random bytes (for the `jti` seed) before going on as `run.after_random` says.
    fn ask_seed(&mut self, mut run: Box<Run>) {
        run.step = Step::Random;
        self.run = Some(run);
        self.queue.push_back(Output::Random(pkce::RANDOM_BYTES));
    }

    /// The thumbprint of the DPoP key.
    fn dpop_jkt(&self) -> Option<String> {
        jwt::thumbprint(&self.config.dpop.as_ref()?.0.public_jwk()?)
    }

    /// A unique `jti`.
    fn next_jti(&mut self) -> Result<String, Error> {
        let seed = self.seed.as_ref().ok_or(Error::Random {
            wanted: pkce::RANDOM_BYTES,
            got: 0,
        })?;
        self.jtis += 1;
        Ok(format!("{seed}.a{}", self.jtis))
    }

    /// The caller's wall clock now, for a JWT.
    fn unix_now(&self) -> Result<u64, Error> {
        match (self.clock, self.now) {
            (Some(clock), Some(now)) => Ok(unix_at(clock, now)),
            _ => Err(Error::Config(
                "signing a JWT needs the caller's clock (Flow::set_clock)".into(),
            )),
        }
    }

    /// Picks the client identity at the run's authorization server, registering if needed.
    fn choose_client(&mut self, mut run: Box<Run>) {
        let Some(server) = run.server.as_ref() else {
            return self.fail(Error::Cancelled);
        };
        let issuer = server.issuer.clone();
        if let Some(pre) = self.config.pre_registered.clone() {
            if let Some(bound) = pre.issuer.as_ref().or(self.pre_registered_issuer.as_ref()) {
                if *bound != issuer {
                    return self.fail(Error::ClientIssuerMismatch {
                        registered: bound.clone(),
                        issuer,
                    });
                }
            }
            if pre.issuer.is_none() {
                self.pre_registered_issuer = Some(issuer);
            }
            let method = if pre.key.is_some() {
                AuthMethod::PrivateKeyJwt
            } else {
                match select_method(None, pre.client_secret.is_some(), server) {
                    Ok(m) => m,
                    Err(e) => return self.fail(e),
                }
            };
            let keyed = pre.key.is_some();
            run.client = Some(Client {
                id: pre.client_id,
                secret: pre.client_secret,
                method,
                key: pre.key,
            });
            if !self.config.has_user() {
                if self.needs_seed(keyed) {
                    run.after_random = AfterRandom::Grant;
                    return self.ask_seed(run);
                }
                return self.send_grant(run);
            }
            return self.ask_random(run);
        }
        if matches!(self.config.grant, Grant::JwtBearer { .. }) {
            // A workload needs no client identity: the assertion is its identity.
            run.client = Some(Client {
                id: String::new(),
                secret: None,
                method: AuthMethod::None,
                key: None,
            });
            if self.needs_seed(false) {
                run.after_random = AfterRandom::Grant;
                return self.ask_seed(run);
            }
            return self.send_grant(run);
        }
        if let Some(reg) = self.clients.get(&issuer) {
            let method = select_method(
                reg.token_endpoint_auth_method.as_deref(),
                reg.client_secret.is_some(),
                server,
            );
            let client = match method {
                Ok(method) => Client {
                    id: reg.client_id.clone(),
                    secret: reg.client_secret.clone(),
                    method,
                    key: None,
                },
                Err(e) => return self.fail(e),
            };
            run.client = Some(client);
            return self.ask_random(run);
        }
        if let (Some(cimd), true) = (
            &self.config.client_metadata_url,
            server.client_id_metadata_document_supported,
        ) {
            run.client = Some(Client {
                id: cimd.clone(),
                secret: None,
                method: AuthMethod::None,
                key: None,
            });
            return self.ask_random(run);
        }
        let Some(endpoint) = server
            .registration_endpoint
            .as_ref()
            .filter(|_| self.config.dynamic_registration)
        else {
            return self.fail(Error::NoClientIdentity { issuer });
        };
        let body = serde_json::json!({
            "client_name": self.config.client_name,
            "redirect_uris": [self.config.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": self.registration_method(server).as_str(),
            "application_type": if self.redirect.is_loopback() { "native" } else { "web" },
        });
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(endpoint.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_string().into_bytes());
        match request {
            Ok(request) => {
                run.step = Step::Register;
                let url = endpoint.as_str().to_owned();
                self.send(run, Purpose::Registration, &url, request);
            }
            Err(_) => self.fail(Error::Config(
                "cannot build the registration request".into(),
            )),
        }
    }

    /// The `token_endpoint_auth_method` to register with: the configured one, else `none`
    /// (a public client) unless the server lists methods without it.
    fn registration_method(&self, server: &ServerMetadata) -> AuthMethod {
        if let Some(m) = self.config.token_endpoint_auth_method {
            return m;
        }
        let Some(supported) = &server.token_endpoint_auth_methods else {
            return AuthMethod::None;
        };
        [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
        ]
        .into_iter()
        .find(|m| supported.iter().any(|s| s == m.as_str()))
        .unwrap_or(AuthMethod::None)
    }

    fn on_registration(&mut self, mut run: Box<Run>, status: StatusCode, body: &[u8]) {
        let Some(server) = run.server.as_ref() else {
            return self.fail(Error::Cancelled);
        };
        if !status.is_success() {
            let (error, description) = token::oauth_error(body);
            return self.fail(Error::RegistrationFailed {
                status: status.as_u16(),
                error,
                description,
            });
        }
        let reg = match token::registration_response(body) {
            Ok(reg) => reg,
            Err(reason) => {
                return self.fail(Error::RegistrationFailed {
                    status: status.as_u16(),
                    error: None,
                    description: Some(reason),
                })
            }
        };
        let method = match select_method(
            reg.token_endpoint_auth_method.as_deref(),
            reg.client_secret.is_some(),
            server,
        ) {
            Ok(m) => m,
            Err(e) => return self.fail(e),
        };
        run.client = Some(Client {
            id: reg.client_id.clone(),
            secret: reg.client_secret.clone(),
            method,
            key: None,
        });
        if !self.clients.contains_key(&server.issuer) && self.clients.len() >= MAX_CLIENTS {
            self.clients.pop_first();
        }
        self.clients.insert(server.issuer.clone(), reg);
        self.ask_random(run);
    }

    /// Settles the scope, then asks for the random bytes of PKCE and `state`.
    fn ask_random(&mut self, mut run: Box<Run>) {
        self.choose_scope(&mut run, self.config.offline_access);
        run.step = Step::Random;
        self.run = Some(run);
        self.queue.push_back(Output::Random(pkce::RANDOM_BYTES));
    }

    /// The token request of a grant with no user: client credentials (RFC 6749 §4.4), the JWT
    /// bearer grant (RFC 7523 §2.1), or, for enterprise-managed authorization, first the
    /// token exchange at the identity provider. The scope is chosen as for a user's
    /// authorization; no refresh token is asked for (a new token is fetched the same way,
    /// RFC 6749 §4.4.3).
    fn send_grant(&mut self, mut run: Box<Run>) {
        self.choose_scope(&mut run, false);
        let grant = self.config.grant.clone();
        let assertion = match &grant {
            Grant::AuthorizationCode => return self.ask_random(run),
            Grant::ClientCredentials => None,
            Grant::JwtBearer { assertion } => match assertion.0.assertion() {
                Ok(a) => Some(a),
                Err(reason) => return self.fail(Error::Assertion { reason }),
            },
            Grant::IdentityAssertion(idp) => match run.assertion.clone() {
                Some(a) => Some(a),
                None => return self.send_exchange(run, idp),
            },
        };
        let mut fields = match &assertion {
            None => vec![("grant_type", "client_credentials")],
            Some(a) => vec![("grant_type", JWT_BEARER), ("assertion", a.as_str())],
        };
        let scope = run.scope.clone();
        if let Some(scope) = scope.as_deref() {
            fields.push(("scope", scope));
        }
        self.send_token(run, Step::Grant, Purpose::Token, &fields);
    }

    /// RFC 8693 at the enterprise identity provider: the user's ID token for an identity
    /// assertion (ID-JAG) whose audience is the MCP server's authorization server and whose
    /// resource is the MCP server.
    fn send_exchange(&mut self, mut run: Box<Run>, idp: &super::config::IdentityProvider) {
        let (Some(server), Some(resource)) = (&run.server, &run.resource) else {
            return self.fail(Error::Cancelled);
        };
        let id_token = match idp.id_token.0.assertion() {
            Ok(t) => t,
            Err(reason) => return self.fail(Error::Assertion { reason }),
        };
        let mut fields = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("audience", server.issuer.as_str()),
            ("resource", resource.as_str()),
        ];
        if let Some(scope) = run.scope.as_deref() {
            fields.push(("scope", scope));
        }
        fields.push(("subject_token", &id_token));
        fields.push(("subject_token_type", ID_TOKEN));
        let client = idp.client_id.as_ref().map(|id| Client {
            id: id.clone(),
            secret: idp.client_secret.clone(),
            method: if idp.client_secret.is_some() {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::None
            },
            key: None,
        });
        let endpoint = match Url::parse(&idp.token_endpoint) {
            Ok(u) => u,
            Err(e) => {
                return self.fail(Error::Config(format!(
                    "the identity provider's token endpoint {e}"
                )))
            }
        };
        let request = form_post(&endpoint, &fields, client.as_ref(), None);
        match request {
            Ok(request) => {
                run.step = Step::Exchange;
                let url = endpoint.as_str().to_owned();
                self.send(run, Purpose::Exchange, &url, request);
            }
            Err(e) => self.fail(e),
        }
    }

    fn on_exchange(&mut self, mut run: Box<Run>, status: StatusCode, body: &[u8]) {
        if !status.is_success() {
            let (error, description) = token::oauth_error(body);
            return self.fail(Error::TokenExchange {
                status: status.as_u16(),
                error,
                description,
            });
        }
        match token::exchange_response(body, ID_JAG) {
            Ok(jag) => {
                run.assertion = Some(jag);
                self.send_grant(run)
            }
            Err(e) => self.fail(e),
        }
    }

    /// POSTs `fields` to the token endpoint of the run's authorization server (or, for a
    /// refresh, the token's), with the client's authentication, `resource`, and a DPoP proof
    /// when the flow has a key; the run then waits in `step`.
    fn send_token(&mut self, run: Box<Run>, step: Step, purpose: Purpose, fields: &[(&str, &str)]) {
        let (endpoint, issuer, client, resource) = match (&run.server, &run.client, &run.resource) {
            (Some(server), Some(client), Some(resource))
                if !matches!(step, Step::Refresh | Step::ChallengeRefresh) =>
            {
                (
                    server.token_endpoint.clone(),
                    server.issuer.clone(),
                    client.clone(),
                    resource.clone(),
                )
            }
            _ => match (&self.token, &run.server) {
                (Some(t), server) if matches!(step, Step::Refresh | Step::ChallengeRefresh) => (
                    server
                        .as_ref()
                        .map_or(t.token_endpoint.clone(), |s| s.token_endpoint.clone()),
                    t.issuer.clone(),
                    t.client.clone(),
                    t.resource.clone(),
                ),
                _ => return self.fail(Error::Cancelled),
            },
        };
        let mut pairs: Vec<(&str, &str)> = fields.to_vec();
        let assertion;
        if let (AuthMethod::PrivateKeyJwt, Some(key)) = (client.method, &client.key) {
            // RFC 7523 §2.2, with the audience RFC 7523bis asks for: the issuer.
            let signed = self.unix_now().and_then(|unix| {
                let jti = self.next_jti()?;
                jwt::client_assertion(key, &client.id, &issuer, unix, &jti)
            });
            assertion = match signed {
                Ok(a) => a,
                Err(e) => return self.fail(e),
            };
            pairs.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
            pairs.push(("client_assertion", &assertion));
        }
        let mut request = match form_post(&endpoint, &pairs, Some(&client), Some(&resource)) {
            Ok(r) => r,
            Err(e) => return self.fail(e),
        };
        if let Some(key) = self.config.dpop.clone() {
            let proof = self.unix_now().and_then(|unix| {
                let jti = self.next_jti()?;
                jwt::dpop_proof(
                    &key,
                    "POST",
                    endpoint.as_str(),
                    unix,
                    &jti,
                    self.as_nonce.as_deref(),
                    None,
                )
            });
            match proof.map(|p| HeaderValue::from_str(&p)) {
                Ok(Ok(mut value)) => {
                    value.set_sensitive(true);
                    request.headers_mut().insert(DPOP, value);
                }
                Ok(Err(_)) => {
                    return self.fail(Error::Signing {
                        reason: "the DPoP proof cannot go in a header".into(),
                    })
                }
                Err(e) => return self.fail(e),
            }
        }
        let mut run = run;
        run.step = step;
        let url = endpoint.as_str().to_owned();
        self.send(run, purpose, &url, request);
    }

    /// The scope to ask for: "Scope Selection Strategy": the challenge's scope, else the
    /// resource's scopes_supported, else none; "Step-Up Authorization Flow": the union with
    /// the scopes asked for before.
    fn choose_scope(&self, run: &mut Run, offline_access: bool) {
        let base = if !run.challenge_scope.is_empty() {
            run.challenge_scope.clone()
        } else {
            run.prm_scopes.clone().unwrap_or_default()
        };
        let mut scopes = self.requested.clone();
        for s in base {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        scopes.truncate(MAX_SCOPES);
        let mut sent = scopes.clone();
        let offline = "offline_access";
        // "Refresh Tokens": offline_access only where the server lists it.
        if offline_access
            && !sent.is_empty()
            && !sent.iter().any(|s| s == offline)
            && run
                .server
                .as_ref()
                .and_then(|s| s.scopes_supported.as_ref())
                .is_some_and(|s| s.iter().any(|s| s == offline))
        {
            sent.push(offline.to_owned());
        }
        scopes.retain(|s| s != offline);
        run.scope = (!sent.is_empty()).then(|| sent.join(" "));
        run.scopes = scopes;
    }

    /// Checks an authorization response; the code, or why it is refused.
    fn check_redirect(&self, run: &Run, redirect: &str) -> Result<String, Error> {
        let invalid = |reason: &str| Error::InvalidRedirect {
            reason: reason.to_owned(),
        };
        let (Some(server), Some(state)) = (&run.server, &run.state) else {
            return Err(Error::Cancelled);
        };
        let response = Url::parse(redirect).map_err(|e| invalid(&format!("the URL {e}")))?;
        if !response.same_origin(&self.redirect) || response.path() != self.redirect.path() {
            return Err(invalid("it is not the redirect URI"));
        }
        let params = url::decode_form(response.query().unwrap_or(""));
        let get = |name: &str| -> Result<Option<&str>, Error> {
            let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
            let first = values.next();
            if values.next().is_some() {
                return Err(invalid(&format!("{name} is given more than once")));
            }
            Ok(first.map(String::as_str))
        };
        // RFC 9207 §2.4, as the specification's table has it: a present `iss` is compared
        // (simple string comparison, no normalization) whether advertised or not; an absent
        // one is refused only when advertised.
        match (get("iss")?, server.iss_parameter_supported) {
            (Some(iss), _) if iss != server.issuer => {
                return Err(Error::IssMismatch {
                    expected: server.issuer.clone(),
                    got: untrusted(iss),
                })
            }
            (None, true) => {
                return Err(Error::IssMissing {
                    expected: server.issuer.clone(),
                })
            }
            _ => {}
        }
        if get("state")? != Some(state.as_str()) {
            return Err(Error::StateMismatch);
        }
        if let Some(error) = get("error")? {
            return Err(Error::AuthorizationDenied {
                error: untrusted(error),
                description: get("error_description")?.map(untrusted),
            });
        }
        match get("code")? {
            Some(code) if !code.is_empty() => Ok(code.to_owned()),
            _ => Err(invalid("it has no code")),
        }
    }

    /// Redeems the authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707 §2.2).
    fn send_token_request(&mut self, mut run: Box<Run>, code: &str) {
        let Some(verifier) = run.verifier.clone() else {
            return self.fail(Error::Cancelled);
        };
        run.code = Some(code.to_owned());
        let redirect_uri = self.config.redirect_uri.clone();
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        self.send_token(run, Step::Redeem, Purpose::Token, &fields);
    }

    /// Sends the refresh token (RFC 6749 §6, with `resource`), to the run's authorization
    /// server's token endpoint when it was just discovered, else to the token's.
    fn send_refresh(&mut self, run: Box<Run>, step: Step) {
        let Some(refresh) = self.token.as_ref().and_then(|t| t.refresh.clone()) else {
            return self.fail(Error::Cancelled);
        };
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        self.send_token(run, step, Purpose::Refresh, &fields);
    }

    /// The token request asked for a DPoP nonce (RFC 9449 §8): it goes again, once, with a
    /// proof that has it. Returns whether it went.
    fn retry_with_nonce(
        &mut self,
        mut run: Box<Run>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Box<Run>> {
        let nonce = headers
            .get(&DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE);
        let asked = token::oauth_error(body).0.as_deref() == Some("use_dpop_nonce");
        let (Some(nonce), true, false, true) =
            (nonce, asked, run.nonce_retried, self.config.dpop.is_some())
        else {
            return Err(run);
        };
        self.as_nonce = Some(nonce.to_owned());
        run.nonce_retried = true;
        match run.step {
            Step::Redeem => match run.code.clone() {
                Some(code) => self.send_token_request(run, &code),
                None => return Err(run),
            },
            Step::Refresh | Step::ChallengeRefresh => {
                let step = std::mem::replace(&mut run.step, Step::Random);
                self.send_refresh(run, step)
            }
            Step::Grant => self.send_grant(run),
            _ => return Err(run),
        }
        Ok(())
    }

    fn on_token(
        &mut self,
        now: Instant,
        run: Box<Run>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        let refreshing = matches!(run.step, Step::Refresh | Step::ChallengeRefresh);
        if !status.is_success() {
            let run = match self.retry_with_nonce(run, headers, body) {
                Ok(()) => return,
                Err(run) => run,
            };
            let (error, description) = token::oauth_error(body);
            return match run.step {
                Step::Refresh if error.as_deref() == Some("invalid_grant") => {
                    self.token = None;
                    self.fail(Error::RefreshTokenRevoked { description })
                }
                Step::Refresh => self.fail(Error::RefreshFailed {
                    status: status.as_u16(),
                    error,
                    description,
                }),
                Step::ChallengeRefresh => {
                    // The refresh token is no good: authorize afresh.
                    if let Some(t) = &mut self.token {
                        t.refresh = None;
                    }
                    self.choose_client(run)
                }
                Step::Grant
                    if matches!(
                        self.config.grant,
                        Grant::JwtBearer { .. } | Grant::IdentityAssertion(_)
                    ) =>
                {
                    self.fail(Error::AssertionRejected {
                        status: status.as_u16(),
                        error,
                        description,
                    })
                }
                _ => self.fail(Error::TokenRequest {
                    status: status.as_u16(),
                    error,
                    description,
                }),
            };
        }
        // A nonce for the next proof may come with a success too (RFC 9449 §8.2).
        if let Some(n) = headers
            .get(&DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE)
        {
            self.as_nonce = Some(n.to_owned());
        }
        let response = match token::token_response(body, self.config.dpop.is_some()) {
            Ok(r) => r,
            Err(e) => return self.fail(e),
        };
        let Some(header) = authorization_header(&response.access_token, response.dpop) else {
            return self.fail(Error::InvalidTokenResponse {
                reason: "the access token cannot go in a header".into(),
            });
        };
        let expires_at = response
            .expires_in
            .and_then(|s| now.checked_add(Duration::from_secs(s)));
        if refreshing {
            let Some(t) = &mut self.token else {
                return self.fail(Error::Cancelled);
            };
            t.access = response.access_token;
            t.header = header;
            t.dpop = response.dpop;
            t.expires_at = expires_at;
            if response.refresh_token.is_some() {
                t.refresh = response.refresh_token;
            }
            if response.scope.is_some() {
                t.scope = response.scope;
            }
            if let Some(server) = &run.server {
                t.token_endpoint = server.token_endpoint.clone();
            }
        } else {
            let (Some(server), Some(client), Some(resource)) =
                (run.server, run.client, run.resource)
            else {
                return self.fail(Error::Cancelled);
            };
            let Ok(resource_url) = Url::parse(&resource) else {
                return self.fail(Error::Cancelled);
            };
            self.token = Some(Token {
                issuer: server.issuer,
                resource,
                resource_url,
                token_endpoint: server.token_endpoint,
                client,
                access: response.access_token,
                header,
                dpop: response.dpop,
                refresh: response.refresh_token,
                scope: response.scope.or(run.scope),
                expires_at,
            });
        }
        self.run = None;
        self.queue.push_back(Output::Event(Event::Authorized));
    }
}

/// The error for an authorization server metadata document that is not used and ends the
/// search.
fn server_metadata_error(e: ServerMetadataError, url: String, issuer: String) -> Error {
    match e {
        ServerMetadataError::NoS256 => Error::PkceUnsupported { issuer },
        ServerMetadataError::Insecure(u) => Error::Insecure { url: untrusted(&u) },
        ServerMetadataError::IssuerMismatch(got) => Error::IssuerMismatch {
            expected: issuer,
            got: untrusted(&got),
        },
        ServerMetadataError::Unusable(reason) | ServerMetadataError::Invalid(reason) => {
            Error::InvalidMetadata {
                what: Metadata::Server,
                url,
                reason,
            }
        }
    }
}

/// How a client authenticates at the token endpoint: the method it registered with when the
/// server said; else, with a secret, `client_secret_basic` or `client_secret_post` as the
/// server lists them (RFC 8414's default list being `client_secret_basic`), `none` when it
/// lists only that; without a secret, `none`.
fn select_method(
    registered: Option<&str>,
    has_secret: bool,
    server: &ServerMetadata,
) -> Result<AuthMethod, Error> {
    if let Some(name) = registered {
        // A registered client has no key of ours: `private_key_jwt` is for pre-registered ones.
        return AuthMethod::from_name(name)
            .filter(|m| *m != AuthMethod::PrivateKeyJwt)
            .ok_or_else(|| Error::UnsupportedAuthMethod {
                method: untrusted(name),
            });
    }
    if !has_secret {
        return Ok(AuthMethod::None);
    }
    let supported = |m: AuthMethod| {
        server
            .token_endpoint_auth_methods
            .as_ref()
            .map_or(m == AuthMethod::ClientSecretBasic, |list| {
                list.iter().any(|s| s == m.as_str())
            })
    };
    Ok([
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
    ]
    .into_iter()
    .find(|m| supported(*m))
    .unwrap_or(AuthMethod::ClientSecretBasic))
}

/// A form-encoded POST to a token endpoint: `fields`, the client's authentication (a client
/// assertion is among `fields`), then `resource`.
fn form_post(
    endpoint: &Url,
    fields: &[(&str, &str)],
    client: Option<&Client>,
    resource: Option<&str>,
) -> Result<http::Request<Vec<u8>>, Error> {
    let mut pairs = fields.to_vec();
    let mut basic = None;
    match client.map(|c| (c, c.method)) {
        Some((client, AuthMethod::ClientSecretBasic)) => {
            // RFC 6749 §2.3.1: each form-encoded, then joined by a colon.
            let secret = client.secret.as_deref().unwrap_or("");
            let credentials = format!("{}:{}", url::encode(&client.id), url::encode(secret));
            let mut value =
                HeaderValue::from_str(&format!("Basic {}", pkce::base64(credentials.as_bytes())))
                    .map_err(|_| {
                    Error::Config("the client credentials cannot go in a header".into())
                })?;
            value.set_sensitive(true);
            basic = Some(value);
        }
        Some((client, AuthMethod::ClientSecretPost)) => {
            pairs.push(("client_id", &client.id));
            pairs.push(("client_secret", client.secret.as_deref().unwrap_or("")));
        }
        // RFC 7523 §3: `client_id` is optional with an assertion; sent, it must match `sub`.
        Some((client, AuthMethod::None | AuthMethod::PrivateKeyJwt)) if !client.id.is_empty() => {
            pairs.push(("client_id", &client.id))
        }
        _ => {}
    }
    if let Some(resource) = resource {
        pairs.push(("resource", resource));
    }
    let mut builder = http::Request::builder()
        .method(Method::POST)
        .uri(endpoint.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json");
    if let Some(value) = basic {
        builder = builder.header(AUTHORIZATION, value);
    }
    builder
        .body(url::form(&pairs).into_bytes())
        .map_err(|_| Error::Config("cannot build the token request".into()))
}

/// `Bearer <token>` (or `DPoP <token>`) as a sensitive header value, if the token can go in
/// one.
fn authorization_header(token: &str, dpop: bool) -> Option<HeaderValue> {
    if !token::is_header_safe(token) {
        return None;
    }
    let scheme = if dpop { "DPoP" } else { "Bearer" };
    let mut value = HeaderValue::from_str(&format!("{scheme} {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}
