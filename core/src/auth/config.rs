//! How an authorization flow is set up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::jwt::Key;
use super::token::{AuthMethod, Redacted};

/// How an authorization [`Flow`](super::Flow) is set up: where the user comes back, who the
/// client is, and the bounds. Build it with [`Config::new`] and the methods that follow.
///
/// The client identity is chosen per authorization server in the specification's order
/// ("Client Registration"): a [pre-registered](Config::pre_registered) client, then one the
/// flow registered there before, then a [client ID metadata
/// document](Config::client_metadata_url) when the server supports them, then [dynamic
/// registration](Config::dynamic_registration) when it offers it.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where the authorization server sends the user back: a loopback `http` URL
    /// (`http://127.0.0.1:PORT/callback`) for a native client, or an `https` one.
    pub redirect_uri: String,
    /// `client_name` in a dynamic registration.
    pub client_name: String,
    /// A client registered with an authorization server beforehand.
    pub pre_registered: Option<PreRegistered>,
    /// The `https` URL of this client's metadata document, used as `client_id` where the
    /// authorization server advertises `client_id_metadata_document_supported`.
    pub client_metadata_url: Option<String>,
    /// Whether to register dynamically (RFC 7591) where the server offers it. Default on.
    pub dynamic_registration: bool,
    /// The `token_endpoint_auth_method` to ask for in a dynamic registration; by default the
    /// flow asks for `none` (a public client) where the server allows it.
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// Allow plain `http` to hosts that are not loopback ones (tests on a private network).
    /// Default off: every URL that credentials or codes travel to must be `https` or on
    /// `localhost`, `127.0.0.0/8` or `::1`.
    pub allow_http: bool,
    /// The most challenges answered before a request gets through with a new token (see
    /// [`Flow::handle_accepted`](super::Flow::handle_accepted)): a bound on step-up and on
    /// servers that refuse every token. Default 3.
    pub max_attempts: u32,
    /// The largest response body read, in bytes. Default 1 MiB.
    pub max_body: usize,
    /// How long before its expiry a token counts as needing a refresh. Default 30 s.
    pub refresh_skew: Duration,
    /// Add `offline_access` to the scope when the authorization server lists it in
    /// `scopes_supported` (and some scope is asked for at all), to get a refresh token.
    /// Default on.
    pub offline_access: bool,
    /// When the MCP server publishes no protected resource metadata, treat its origin as the
    /// authorization server, as the 2025-03-26 revision did: its
    /// `/.well-known/oauth-authorization-server`, else `/authorize`, `/token`, `/register`.
    /// Default on.
    pub legacy_discovery: bool,
    /// How tokens are got: the authorization code grant with a user (the default), or one of
    /// the grants for clients with no user ([`Grant`]).
    pub grant: Grant,
    /// Sender-constrained tokens (DPoP, RFC 9449): this key proves every token request and
    /// every request to the MCP server, and tokens are presented as `DPoP <token>`. An
    /// authorization server that issues a Bearer token anyway gets it used as one. Default
    /// none.
    pub dpop: Option<Key>,
}

/// How the flow gets tokens. Every grant but the first runs with no user: no PKCE, no
/// redirect, no user step; a token that expires is fetched again the same way.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Grant {
    /// The authorization code grant with PKCE: a user authorizes in a browser.
    #[default]
    AuthorizationCode,
    /// The client credentials grant (RFC 6749 §4.4, the
    /// `io.modelcontextprotocol/oauth-client-credentials` extension) for the pre-registered
    /// client, with its secret or its [key](PreRegistered::key) (`private_key_jwt`).
    ClientCredentials,
    /// The JWT bearer grant (RFC 7523 §2.1) with an assertion from `assertion`: workload
    /// identity (the `io.modelcontextprotocol/auth/wif` extension), a token the platform
    /// issued for this workload with the authorization server's issuer as its audience. The
    /// client authenticates only if it is pre-registered with a secret or key. The flow asks
    /// the source for a fresh assertion each time it needs a token.
    JwtBearer {
        /// Where the assertion comes from.
        assertion: Assertion,
    },
    /// Enterprise-managed authorization (the identity assertion authorization grant, SEP-990):
    /// the user's identity token from the enterprise identity provider is exchanged there
    /// (RFC 8693) for an identity assertion (ID-JAG) naming the MCP server's authorization
    /// server and resource, which the pre-registered client then presents in a JWT bearer
    /// grant (RFC 7523) at that authorization server.
    IdentityAssertion(IdentityProvider),
}

/// The enterprise identity provider of [`Grant::IdentityAssertion`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IdentityProvider {
    /// The identity provider's token endpoint, where the token exchange goes.
    pub token_endpoint: String,
    /// This client at the identity provider (`client_id` in the exchange), if it has one.
    pub client_id: Option<String>,
    /// The client's secret at the identity provider (HTTP Basic), if it has one.
    pub client_secret: Option<String>,
    /// The user's identity token (an OpenID Connect ID token), asked for each exchange.
    pub id_token: Assertion,
}

impl IdentityProvider {
    /// The identity provider at `token_endpoint`, with the user's ID token from `id_token`.
    pub fn new(token_endpoint: impl Into<String>, id_token: Assertion) -> IdentityProvider {
        IdentityProvider {
            token_endpoint: token_endpoint.into(),
            client_id: None,
            client_secret: None,
            id_token,
        }
    }

    /// This client's id (and secret) at the identity provider.
    pub fn client(mut self, id: impl Into<String>, secret: Option<String>) -> IdentityProvider {
        self.client_id = Some(id.into());
        self.client_secret = secret;
        self
    }
}

/// Gives an assertion (a JWT issued by someone else: a workload identity token, a user's ID
/// token) when the flow needs one. The adapter crate reads one from a file
/// (`mcpwire::auth::assertion_file`); a closure is one too.
pub trait AssertionSource: Send + Sync {
    /// A current assertion, or why there is none.
    fn assertion(&self) -> Result<String, String>;
}

impl<F> AssertionSource for F
where
    F: Fn() -> Result<String, String> + Send + Sync,
{
    fn assertion(&self) -> Result<String, String> {
        self()
    }
}

/// An [`AssertionSource`] as configurations keep it: shared, never shown.
#[derive(Clone)]
pub struct Assertion(pub Arc<dyn AssertionSource>);

impl Assertion {
    /// This assertion, every time (for a token that outlives the client, or a test).
    pub fn fixed(assertion: impl Into<String>) -> Assertion {
        let assertion = assertion.into();
        Assertion(Arc::new(move || Ok(assertion.clone())))
    }

    /// Asks `source` each time.
    pub fn from_source(source: impl AssertionSource + 'static) -> Assertion {
        Assertion(Arc::new(source))
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Assertion(<redacted>)")
    }
}

impl Config {
    /// A configuration with `redirect_uri`, dynamic registration as `mcpwire`, and the
    /// default bounds.
    pub fn new(redirect_uri: impl Into<String>) -> Config {
        Config {
            redirect_uri: redirect_uri.into(),
            client_name: "mcpwire".into(),
            pre_registered: None,
            client_metadata_url: None,
            dynamic_registration: true,
            token_endpoint_auth_method: None,
            allow_http: false,
            max_attempts: 3,
            max_body: 1024 * 1024,
            refresh_skew: Duration::from_secs(30),
            offline_access: true,
            legacy_discovery: true,
            grant: Grant::AuthorizationCode,
            dpop: None,
        }
    }

    /// Use the client credentials grant (machine to machine) with the pre-registered client,
    /// or (`false`) the authorization code grant.
    pub fn client_credentials(mut self, on: bool) -> Config {
        self.grant = if on {
            Grant::ClientCredentials
        } else {
            Grant::AuthorizationCode
        };
        self
    }

    /// Get tokens with this grant.
    pub fn grant(mut self, grant: Grant) -> Config {
        self.grant = grant;
        self
    }

    /// Bind tokens to this key with DPoP (RFC 9449).
    pub fn dpop(mut self, key: Key) -> Config {
        self.dpop = Some(key);
        self
    }

    /// Whether tokens come with a user in a browser (the authorization code grant).
    pub(crate) fn has_user(&self) -> bool {
        matches!(self.grant, Grant::AuthorizationCode)
    }

    /// Use a pre-registered client.
    pub fn pre_registered(mut self, client: PreRegistered) -> Config {
        self.pre_registered = Some(client);
        self
    }

    /// Use this client ID metadata document URL where the server supports them.
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Config {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// The `client_name` to register.
    pub fn client_name(mut self, name: impl Into<String>) -> Config {
        self.client_name = name.into();
        self
    }

    /// Register dynamically, or not.
    pub fn dynamic_registration(mut self, on: bool) -> Config {
        self.dynamic_registration = on;
        self
    }

    /// The `token_endpoint_auth_method` to ask for when registering.
    pub fn token_endpoint_auth_method(mut self, method: AuthMethod) -> Config {
        self.token_endpoint_auth_method = Some(method);
        self
    }

    /// Allow plain `http` to hosts that are not loopback ones.
    pub fn allow_http(mut self, allow: bool) -> Config {
        self.allow_http = allow;
        self
    }

    /// The most challenges answered before a request gets through.
    pub fn max_attempts(mut self, attempts: u32) -> Config {
        self.max_attempts = attempts;
        self
    }

    /// The largest response body read.
    pub fn max_body(mut self, bytes: usize) -> Config {
        self.max_body = bytes;
        self
    }

    /// How long before expiry a token needs a refresh.
    pub fn refresh_skew(mut self, skew: Duration) -> Config {
        self.refresh_skew = skew;
        self
    }

    /// Ask for `offline_access` where the server lists it, or not.
    pub fn offline_access(mut self, on: bool) -> Config {
        self.offline_access = on;
        self
    }

    /// Fall back to 2025-03-26 discovery when there is no resource metadata, or not.
    pub fn legacy_discovery(mut self, on: bool) -> Config {
        self.legacy_discovery = on;
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("redirect_uri", &self.redirect_uri)
            .field("client_name", &self.client_name)
            .field("pre_registered", &self.pre_registered)
            .field("client_metadata_url", &self.client_metadata_url)
            .field("dynamic_registration", &self.dynamic_registration)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("allow_http", &self.allow_http)
            .field("max_attempts", &self.max_attempts)
            .field("max_body", &self.max_body)
            .field("refresh_skew", &self.refresh_skew)
            .field("offline_access", &self.offline_access)
            .field("legacy_discovery", &self.legacy_discovery)
            .field("grant", &self.grant)
            .field("dpop", &self.dpop)
            .finish()
    }
}

/// A client registered beforehand ("Pre-registration").
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreRegistered {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for a confidential client.
    pub client_secret: Option<String>,
    /// The issuer of the authorization server it is registered with. Without one, the client
    /// is bound to the first authorization server it is used with. Either way it is never
    /// presented to another one ("Authorization Server Binding").
    pub issuer: Option<String>,
    /// A private key registered for the client: it authenticates with signed assertions
    /// (`private_key_jwt`, RFC 7523 §2.2) rather than a secret.
    pub key: Option<Key>,
}

impl PreRegistered {
    /// A public client `client_id`, for any one authorization server.
    pub fn new(client_id: impl Into<String>) -> PreRegistered {
        PreRegistered {
            client_id: client_id.into(),
            client_secret: None,
            issuer: None,
            key: None,
        }
    }

    /// Authenticating with this private key (`private_key_jwt`).
    pub fn key(mut self, key: Key) -> PreRegistered {
        self.key = Some(key);
        self
    }

    /// With this secret.
    pub fn secret(mut self, secret: impl Into<String>) -> PreRegistered {
        self.client_secret = Some(secret.into());
        self
    }

    /// Registered with this issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> PreRegistered {
        self.issuer = Some(issuer.into());
        self
    }
}

impl fmt::Debug for PreRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreRegistered")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .field("issuer", &self.issuer)
            .field("key", &self.key)
            .finish()
    }
}
