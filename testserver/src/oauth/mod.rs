//! The OAuth 2.1 mode: `/mcp` as a protected resource (RFC 9728, RFC 6750) and its
//! authorization servers (RFC 8414, RFC 7591, RFC 7636, RFC 8707, RFC 9207), all test-only:
//! opaque tokens that are counters, no user, no real crypto beyond SHA-256 for PKCE.

mod endpoints;
mod form;
mod jose;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::header::HeaderMap;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::handler::{full, with_header, Reply, JSON};
use crate::{mcp, State};

pub(crate) use endpoints::serve;
pub(crate) use form::decode as decode_form;

/// How many clients, codes, access tokens and refresh tokens the server keeps, each: past
/// this the oldest are forgotten (a forgotten token is refused like an unknown one).
pub const MAX_OAUTH_RECORDS: usize = 10_000;

/// How long an authorization code is good for.
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Where an authorization server listens, for [`OAuthConfig::origin`] and
/// [`OAuthConfig::add_authorization_server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOrigin {
    /// On the MCP server's own listener: the same origin, a different path.
    Same,
    /// On a listener of its own (another port of `127.0.0.1`): another origin. It serves the
    /// authorization server only; its `/mcp` is 404.
    Own,
}

/// A client authentication method at the token endpoint (RFC 7591 §2
/// `token_endpoint_auth_method`, RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `none`: a public client, which sends its `client_id` in the form and no secret.
    None,
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    ClientSecretPost,
    /// `private_key_jwt`: an ES256 client assertion (RFC 7523 §2.2) signed with the key of
    /// [`PreRegistered::jwk`], for the issuer.
    PrivateKeyJwt,
}

impl ClientAuth {
    /// The RFC 7591 name, e.g. `"client_secret_basic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
        }
    }

    fn parse(name: &str) -> Option<ClientAuth> {
        [
            ClientAuth::None,
            ClientAuth::ClientSecretBasic,
            ClientAuth::ClientSecretPost,
        ]
        .into_iter()
        .find(|method| method.as_str() == name)
    }
}

/// What `GET /authorize` answers once the request is valid (an invalid one is always answered
/// with its error). Whatever the choice, the answer is a 302 to the redirect URI, with `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// `code`, `state` and `iss` (the issuer, RFC 9207): the normal answer.
    Code,
    /// `error=access_denied`, `state` and `iss`: the user said no.
    Deny,
    /// `code` and `state`, with this `iss` instead of the issuer.
    WrongIss(String),
    /// `code` and `state`, without `iss`.
    NoIss,
}

/// When the token endpoint issues a refresh token. Never to a client whose registration's
/// `grant_types` lacks `refresh_token` (RFC 7591's default is `["authorization_code"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokens {
    /// With every access token.
    Always,
    /// Only if the grant's scope holds `offline_access`.
    WithOfflineAccess,
    /// Never.
    Never,
}

/// A client known without dynamic registration, for [`OAuthConfig::pre_registered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRegistered {
    /// Which authorization server knows it (0 is the first).
    pub server: usize,
    /// Its `client_id`.
    pub client_id: String,
    /// Its secret, if `auth` uses one.
    pub client_secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub auth: ClientAuth,
    /// The redirect URIs it may use (compared as strings).
    pub redirect_uris: Vec<String>,
    /// Its public key (an EC P-256 JWK), for [`ClientAuth::PrivateKeyJwt`].
    pub jwk: Option<Value>,
}

/// The OAuth mode of a [`crate::TestServer`], for [`crate::Builder::oauth`].
///
/// With it, every request to `/mcp` (any method) needs `Authorization: Bearer <token>` with
/// an access token from one of the authorization servers the protected resource metadata
/// lists now; the server also serves:
///
/// - the protected resource metadata (RFC 9728) at
///   `/.well-known/oauth-protected-resource/mcp` on the MCP listener: `resource` (the MCP
///   URL, or [`OAuthConfig::resource`]), `authorization_servers`, `scopes_supported` (if
///   any), `bearer_methods_supported`;
/// - authorization server `n` (0 first) with the issuer `http://127.0.0.1:PORT/as` (`/as2`,
///   `/as3`, … for the others), on the MCP listener or one of its own ([`AsOrigin`]): its
///   metadata (RFC 8414) at `/.well-known/oauth-authorization-server/as` (path insertion),
///   and `<issuer>/authorize`, `<issuer>/token`, `<issuer>/register`.
///
/// Without a valid token `/mcp` answers 401 with `WWW-Authenticate: Bearer
/// resource_metadata="<PRM URL>"` (and `scope="…"` with [`OAuthConfig::required_scopes`];
/// `error="invalid_token"` for an unknown, expired or revoked token, or one from an
/// authorization server no longer listed); a token without a needed scope gets 403 `Bearer
/// error="insufficient_scope", scope="<needed>"`. Refused requests are counted and recorded
/// but no [`crate::Rule`] sees them; rules apply to the requests that get through.
///
/// The authorization servers are strict, as a test of a client wants:
/// - `/register` (RFC 7591) needs `redirect_uris`; `token_endpoint_auth_method` defaults to
///   `client_secret_basic` (RFC 7591 §2) and must be one of [`OAuthConfig::auth_methods`];
///   a secret is issued unless it is `none`. The answer is 201 with the metadata echoed, the
///   `client_id` (`as-client-N`, `as2-client-N`, …) and the secret (`secret-N`).
/// - `/authorize` (GET) needs a known `client_id` and one of its `redirect_uris` exactly
///   (else 400, no redirect); then `response_type=code`, `code_challenge` (43 base64url
///   characters) with `code_challenge_method=S256`, `state`, `resource` equal to the PRM's
///   `resource` (unless [`OAuthConfig::resource_optional`]) and scopes among those supported
///   (if any are listed), else it redirects with the error. A parameter given twice is a 400.
/// - `/token` (POST, form) authenticates the client by its registered method only (a second
///   method, e.g. Basic and `client_secret` together, is `invalid_client`, 401), then for
///   `authorization_code` checks the code (good for one request, right or wrong, and 60 s),
///   its client, `redirect_uri`, `code_verifier` against the challenge (S256) and `resource`;
///   for `refresh_token` the token (rotated: each is good once), its client, a `scope` within
///   the granted one and `resource`. It answers `access_token` (`at-N`), `token_type`
///   `Bearer`, `expires_in`, `refresh_token` (`rt-N`, see [`RefreshTokens`]) and `scope`, or
///   an RFC 6749 §5.2 error (`invalid_request`, `invalid_client`, `invalid_grant`,
///   `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, or RFC 8707's
///   `invalid_target`).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub(crate) servers: Vec<AsOrigin>,
    pub(crate) listed: Vec<usize>,
    pub(crate) scopes: Vec<String>,
    pub(crate) offline_access: bool,
    pub(crate) required: Vec<String>,
    pub(crate) tool_scopes: HashMap<String, Vec<String>>,
    pub(crate) lifetime: Duration,
    pub(crate) refresh: RefreshTokens,
    pub(crate) auth_methods: Vec<ClientAuth>,
    pub(crate) registration: bool,
    pub(crate) require_application_type: bool,
    pub(crate) clients: Vec<PreRegistered>,
    pub(crate) redirect: Redirect,
    pub(crate) advertise_iss: bool,
    pub(crate) metadata_issuer: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) resource_optional: bool,
    pub(crate) challenge_metadata: bool,
    pub(crate) workload_key: Option<Value>,
    pub(crate) dpop: bool,
    pub(crate) as_nonce: Option<String>,
}

impl Default for OAuthConfig {
    fn default() -> OAuthConfig {
        OAuthConfig::new()
    }
}

impl OAuthConfig {
    /// One authorization server on the MCP listener; scopes `mcp:read` and `mcp:write`
    /// supported, none required; access tokens good for an hour; refresh tokens always;
    /// every client authentication method; dynamic registration; [`Redirect::Code`].
    pub fn new() -> OAuthConfig {
        OAuthConfig {
            servers: vec![AsOrigin::Same],
            listed: vec![0],
            scopes: vec!["mcp:read".into(), "mcp:write".into()],
            offline_access: false,
            required: Vec::new(),
            tool_scopes: HashMap::new(),
            lifetime: Duration::from_secs(3600),
            refresh: RefreshTokens::Always,
            auth_methods: vec![
                ClientAuth::None,
                ClientAuth::ClientSecretBasic,
                ClientAuth::ClientSecretPost,
            ],
            registration: true,
            require_application_type: false,
            clients: Vec::new(),
            redirect: Redirect::Code,
            advertise_iss: true,
            metadata_issuer: None,
            resource: None,
            resource_optional: false,
            challenge_metadata: true,
            workload_key: None,
            dpop: false,
            as_nonce: None,
        }
    }

    /// Accept the JWT bearer grant (RFC 7523 §2.1, workload identity) with an ES256
    /// assertion signed by this key (an EC P-256 JWK) whose `aud` is the issuer and whose
    /// `exp` has not passed (else `invalid_grant`); no client authentication needed. The
    /// grant is counted in [`crate::TokenRequests::other`].
    pub fn workload_key(mut self, jwk: Value) -> OAuthConfig {
        self.workload_key = Some(jwk);
        self
    }

    /// DPoP (RFC 9449): every token request needs a valid proof and gets a `DPoP` token bound
    /// to the proof's key; `/mcp` then wants `Authorization: DPoP <token>` with a fresh proof
    /// (its `htm`, `htu`, `ath`, key, an unused `jti`) on every request, else 401 `DPoP
    /// error="invalid_token"`. See [`crate::TestServer::require_dpop_nonce`].
    pub fn dpop(mut self) -> OAuthConfig {
        self.dpop = true;
        self
    }

    /// With [`OAuthConfig::dpop`]: token requests whose proof lacks this nonce are answered
    /// 400 `use_dpop_nonce` with `DPoP-Nonce: <nonce>` (RFC 9449 §8).
    pub fn dpop_nonce_at_token_endpoint(mut self, nonce: &str) -> OAuthConfig {
        self.as_nonce = Some(nonce.to_owned());
        self
    }

    /// Where the first authorization server listens (by default [`AsOrigin::Same`]).
    pub fn origin(mut self, origin: AsOrigin) -> OAuthConfig {
        self.servers[0] = origin;
        self
    }

    /// Add another authorization server (the next number, issuer path `/as2`, `/as3`, …),
    /// e.g. to migrate to with [`crate::TestServer::set_authorization_servers`]. It shares
    /// the settings of this config but knows only the clients registered with it.
    pub fn add_authorization_server(mut self, origin: AsOrigin) -> OAuthConfig {
        self.servers.push(origin);
        self
    }

    /// Which authorization servers (by number) the protected resource metadata lists at the
    /// start (by default `[0]`). Tokens of the others are refused.
    pub fn authorization_servers(mut self, servers: &[usize]) -> OAuthConfig {
        self.listed = servers.to_vec();
        self
    }

    /// The scopes the protected resource metadata and the authorization servers list in
    /// `scopes_supported` (an empty list: none listed, and any scope granted).
    pub fn scopes(mut self, scopes: &[&str]) -> OAuthConfig {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The authorization servers also list (and grant) `offline_access`; the protected
    /// resource metadata does not.
    pub fn offline_access(mut self) -> OAuthConfig {
        self.offline_access = true;
        self
    }

    /// Scopes every request to `/mcp` needs; named in the 401's `scope`.
    pub fn required_scopes(mut self, scopes: &[&str]) -> OAuthConfig {
        self.required = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// A `tools/call` of `tool` needs `scope` too (space-separated for several): without it
    /// the answer is 403 `insufficient_scope` with `scope="<scope>"` (the tool's scope only,
    /// as the conformance suite does: a client must add it to what it had). Any name will do,
    /// e.g. `echo`; a tool not in the catalogue gets the 403 first, and with the scope the
    /// usual `Unknown tool` error.
    pub fn tool_scope(mut self, tool: &str, scope: &str) -> OAuthConfig {
        self.tool_scopes.insert(tool.to_owned(), split_scope(scope));
        self
    }

    /// How long an access token is good for (`expires_in` is this rounded up to seconds).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> OAuthConfig {
        self.lifetime = lifetime;
        self
    }

    /// When refresh tokens are issued (by default [`RefreshTokens::Always`]).
    pub fn refresh_tokens(mut self, when: RefreshTokens) -> OAuthConfig {
        self.refresh = when;
        self
    }

    /// The client authentication methods the token endpoint accepts and the metadata lists
    /// (by default all three).
    pub fn auth_methods(mut self, methods: &[ClientAuth]) -> OAuthConfig {
        self.auth_methods = methods.to_vec();
        self
    }

    /// No dynamic registration: no `registration_endpoint` in the metadata, `/register` 404.
    pub fn no_registration(mut self) -> OAuthConfig {
        self.registration = false;
        self
    }

    /// Refuse a registration without `application_type` `native` or `web`
    /// (`invalid_client_metadata`), as the 2026-07-28 revision requires of clients.
    pub fn require_application_type(mut self) -> OAuthConfig {
        self.require_application_type = true;
        self
    }

    /// A client known from the start.
    pub fn pre_registered(mut self, client: PreRegistered) -> OAuthConfig {
        self.clients.push(client);
        self
    }

    /// What a valid authorization request is answered with (by default [`Redirect::Code`]);
    /// see also [`crate::TestServer::set_redirect`].
    pub fn redirect(mut self, redirect: Redirect) -> OAuthConfig {
        self.redirect = redirect;
        self
    }

    /// Leave `authorization_response_iss_parameter_supported` out of the metadata (whether
    /// `iss` is sent is up to [`Redirect`]).
    pub fn no_iss_advertised(mut self) -> OAuthConfig {
        self.advertise_iss = false;
        self
    }

    /// Every authorization server's metadata says this `issuer` instead of its own (which a
    /// client must refuse, RFC 8414 §3.3); the endpoints stay where they are.
    pub fn metadata_issuer(mut self, issuer: &str) -> OAuthConfig {
        self.metadata_issuer = Some(issuer.to_owned());
        self
    }

    /// The `resource` the protected resource metadata names (by default the MCP URL,
    /// `http://127.0.0.1:PORT/mcp`); the authorization servers want this one too.
    pub fn resource(mut self, resource: &str) -> OAuthConfig {
        self.resource = Some(resource.to_owned());
        self
    }

    /// Accept authorization and token requests without `resource` (one given must still
    /// match).
    pub fn resource_optional(mut self) -> OAuthConfig {
        self.resource_optional = true;
        self
    }

    /// Leave `resource_metadata` out of the 401 and 403 challenges: a client must find the
    /// metadata at its well-known URL.
    pub fn no_resource_metadata_in_challenge(mut self) -> OAuthConfig {
        self.challenge_metadata = false;
        self
    }
}

fn split_scope(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

/// One authorization server, where it is.
#[derive(Debug, Clone)]
pub(crate) struct AuthServer {
    /// The listener it is served on.
    pub(crate) addr: SocketAddr,
    /// The issuer's path, e.g. `/as`.
    pub(crate) path: String,
    /// `http://ADDR/PATH`.
    pub(crate) issuer: String,
}

/// A map that forgets its oldest entries past [`MAX_OAUTH_RECORDS`].
pub(crate) struct Bounded<V> {
    map: HashMap<String, V>,
    order: VecDeque<String>,
}

impl<V> Default for Bounded<V> {
    fn default() -> Bounded<V> {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<V> Bounded<V> {
    fn insert(&mut self, key: String, value: V) {
        if self.order.len() == MAX_OAUTH_RECORDS {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }

    fn remove(&mut self, key: &str) -> Option<V> {
        self.map.remove(key) // its key stays in `order` until it falls out
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut()
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

pub(crate) struct Client {
    server: usize,
    secret: Option<String>,
    auth: ClientAuth,
    redirect_uris: Vec<String>,
    refresh: bool,
    jwk: Option<Value>,
}

pub(crate) struct Code {
    server: usize,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    resource: Option<String>,
    scopes: Vec<String>,
    expires: Instant,
}

pub(crate) struct Access {
    server: usize,
    scopes: Vec<String>,
    expires: Instant,
    /// The thumbprint of the DPoP key it is bound to.
    jkt: Option<String>,
}

pub(crate) struct Refresh {
    server: usize,
    client_id: String,
    scopes: Vec<String>,
}

/// The OAuth state of a server: its configuration, where everything is, what was issued.
pub(crate) struct OAuth {
    config: OAuthConfig,
    /// The PRM's `resource`.
    resource: String,
    /// `http://ADDR/.well-known/oauth-protected-resource/mcp`.
    prm_url: String,
    /// The MCP listener.
    mcp_addr: SocketAddr,
    pub(crate) servers: Vec<AuthServer>,
    clients: Bounded<Client>,
    codes: Bounded<Code>,
    access: Bounded<Access>,
    refresh: Bounded<Refresh>,
    next: u64,
    /// The nonce `/mcp` wants in DPoP proofs now, if any.
    rs_nonce: Option<String>,
    /// The `jti`s of the DPoP proofs seen (a reused one is refused).
    jtis: Bounded<()>,
}

impl OAuth {
    /// The state of a server whose MCP listener is `mcp_addr`, with authorization server `n`
    /// on `addrs[n]`.
    pub(crate) fn new(config: OAuthConfig, mcp_addr: SocketAddr, addrs: &[SocketAddr]) -> OAuth {
        let servers = addrs
            .iter()
            .enumerate()
            .map(|(n, addr)| {
                let path = match n {
                    0 => "/as".to_owned(),
                    n => format!("/as{}", n + 1),
                };
                AuthServer {
                    addr: *addr,
                    issuer: format!("http://{addr}{path}"),
                    path,
                }
            })
            .collect();
        let resource = config
            .resource
            .clone()
            .unwrap_or_else(|| format!("http://{mcp_addr}/mcp"));
        let mut oauth = OAuth {
            resource,
            prm_url: format!("http://{mcp_addr}/.well-known/oauth-protected-resource/mcp"),
            mcp_addr,
            servers,
            clients: Bounded::default(),
            codes: Bounded::default(),
            access: Bounded::default(),
            refresh: Bounded::default(),
            next: 0,
            rs_nonce: None,
            jtis: Bounded::default(),
            config,
        };
        for client in oauth.config.clients.clone() {
            oauth.clients.insert(
                client.client_id,
                Client {
                    server: client.server,
                    secret: client.client_secret,
                    auth: client.auth,
                    redirect_uris: client.redirect_uris,
                    refresh: true,
                    jwk: client.jwk,
                },
            );
        }
        oauth
    }

    pub(crate) fn prm_url(&self) -> &str {
        &self.prm_url
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Expire every access token issued so far.
    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for token in self.access.values_mut() {
            token.expires = now;
        }
    }

    /// Forget every refresh token issued so far.
    pub(crate) fn revoke_refresh_tokens(&mut self) {
        self.refresh.clear();
    }

    pub(crate) fn set_tool_scope(&mut self, tool: &str, scope: Option<&str>) {
        match scope {
            Some(scope) => {
                self.config
                    .tool_scopes
                    .insert(tool.to_owned(), split_scope(scope));
            }
            None => {
                self.config.tool_scopes.remove(tool);
            }
        }
    }

    pub(crate) fn set_required_scopes(&mut self, scopes: &[&str]) {
        self.config.required = scopes.iter().map(|s| s.to_string()).collect();
    }

    pub(crate) fn set_listed(&mut self, servers: &[usize]) {
        self.config.listed = servers.to_vec();
    }

    pub(crate) fn set_redirect(&mut self, redirect: Redirect) {
        self.config.redirect = redirect;
    }

    pub(crate) fn set_rs_nonce(&mut self, nonce: Option<&str>) {
        self.rs_nonce = nonce.map(str::to_owned);
    }

    /// A proof's `jti` seen for the first time (true), or again.
    fn fresh_jti(&mut self, jti: &str) -> bool {
        if self.jtis.get(jti).is_some() {
            return false;
        }
        self.jtis.insert(jti.to_owned(), ());
        true
    }

    /// A `WWW-Authenticate: Bearer` challenge with these parameters, then `resource_metadata`.
    fn challenge(&self, status: StatusCode, params: &[(&str, &str)]) -> Reply {
        let mut parts: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{name}=\"{value}\""))
            .collect();
        if self.config.challenge_metadata {
            parts.push(format!("resource_metadata=\"{}\"", self.prm_url));
        }
        let error = params
            .iter()
            .find(|(name, _)| *name == "error")
            .map_or("invalid_token", |(_, value)| value);
        let description = params
            .iter()
            .find(|(name, _)| *name == "error_description")
            .map_or("Missing bearer token", |(_, value)| value);
        let body = json!({"error": error, "error_description": description});
        let value = format!("Bearer {}", parts.join(", "));
        with_header(
            full(status, JSON, body.to_string()),
            "www-authenticate",
            &value,
        )
    }
}

impl OAuth {
    /// For a DPoP-bound token (RFC 9449 §7): the `DPoP` scheme and a valid fresh proof, with
    /// the nonce asked for. `None` when the request may go on to the other checks.
    fn check_dpop(
        &mut self,
        stats: &mut crate::Stats,
        method: &hyper::Method,
        headers: &HeaderMap,
        scheme: &str,
        token: &str,
    ) -> Option<Reply> {
        let jkt = self.access.get(token)?.jkt.clone()?;
        let htu = format!("http://{}/mcp", self.mcp_addr);
        let proof = headers
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .ok_or("no DPoP proof")
            .and_then(|p| jose::check_proof(p, method.as_str(), &htu, Some(token)));
        let refusal = match proof {
            _ if scheme != "dpop" => Some("a DPoP-bound token must use the DPoP scheme"),
            Err(why) => Some(why),
            Ok(p) if p.jkt != jkt => Some("the proof's key is not the token's"),
            Ok(p) if !self.fresh_jti(&p.jti) => Some("the proof's jti was used before"),
            Ok(p) => {
                if let Some(nonce) = self
                    .rs_nonce
                    .clone()
                    .filter(|n| p.nonce.as_ref() != Some(n))
                {
                    stats.dpop_nonce_challenges += 1;
                    let body = json!({"error": "use_dpop_nonce"});
                    let value = format!(
                        "DPoP error=\"use_dpop_nonce\", resource_metadata=\"{}\"",
                        self.prm_url
                    );
                    let reply = full(StatusCode::UNAUTHORIZED, JSON, body.to_string());
                    let reply = with_header(reply, "www-authenticate", &value);
                    return Some(with_header(reply, "dpop-nonce", &nonce));
                }
                None
            }
        };
        let why = refusal?;
        stats.unauthorized += 1;
        let body = json!({"error": "invalid_token", "error_description": why});
        let value = format!(
            "DPoP error=\"invalid_token\", resource_metadata=\"{}\"",
            self.prm_url
        );
        let reply = full(StatusCode::UNAUTHORIZED, JSON, body.to_string());
        Some(with_header(reply, "www-authenticate", &value))
    }
}

/// Check the bearer token of a request to `/mcp`: `None` if it may go on (or the server has
/// no OAuth), else the 401 or 403 to answer, counted in the stats.
pub(crate) fn check(
    state: &mut State,
    method: &hyper::Method,
    headers: &HeaderMap,
    message: Option<&Value>,
) -> Option<Reply> {
    let State { oauth, stats, .. } = state;
    let oauth = oauth.as_mut()?;
    let (scheme, token) = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .map(|(scheme, token)| (scheme.to_ascii_lowercase(), token.trim().to_owned()))
        .filter(|(scheme, token)| (scheme == "bearer" || scheme == "dpop") && !token.is_empty())
        .unzip();
    if let (Some(scheme), Some(token)) = (&scheme, &token) {
        if let Some(refusal) = oauth.check_dpop(stats, method, headers, scheme, token) {
            return Some(refusal);
        }
    }
    let oauth = &*oauth;
    let token = token.as_deref();
    let required = oauth.config.required.join(" ");
    let scope: &[(&str, &str)] = match required.is_empty() {
        true => &[],
        false => &[("scope", required.as_str())],
    };
    let invalid = |description: &str| {
        let mut params = vec![
            ("error", "invalid_token"),
            ("error_description", description),
        ];
        params.extend_from_slice(scope);
        oauth.challenge(StatusCode::UNAUTHORIZED, &params)
    };
    let Some(token) = token else {
        stats.unauthorized += 1;
        return Some(oauth.challenge(StatusCode::UNAUTHORIZED, scope));
    };
    let refusal = match oauth.access.get(token) {
        None => Some(invalid("Unknown access token")),
        Some(access) if access.expires <= Instant::now() => {
            Some(invalid("The access token expired"))
        }
        Some(access) if !oauth.config.listed.contains(&access.server) => {
            Some(invalid("The authorization server has changed"))
        }
        Some(_) => None,
    };
    if refusal.is_some() {
        stats.unauthorized += 1;
        return refusal;
    }
    let granted = &oauth.access.get(token).expect("checked above").scopes;
    let lacks = |needed: &[String]| needed.iter().any(|scope| !granted.contains(scope));
    let tool = message
        .filter(|m| mcp::method(m) == Some("tools/call"))
        .and_then(|m| mcp::tool_name(Some(m)))
        .and_then(|name| oauth.config.tool_scopes.get(name));
    let needed = if lacks(&oauth.config.required) {
        required.clone()
    } else if let Some(needed) = tool.filter(|needed| lacks(needed)) {
        needed.join(" ")
    } else {
        return None;
    };
    stats.forbidden += 1;
    let params = [
        ("error", "insufficient_scope"),
        ("error_description", "The access token lacks a needed scope"),
        ("scope", needed.as_str()),
    ];
    Some(oauth.challenge(StatusCode::FORBIDDEN, &params))
}
