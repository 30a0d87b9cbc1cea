//! Token endpoint and registration responses, and the credentials a token store keeps.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{untrusted, Error};

/// The longest access or refresh token kept.
const MAX_TOKEN: usize = 16 * 1024;
/// The longest lifetime believed: ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

/// How the client authenticates at the token endpoint (RFC 7591 §2, RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (`client_secret_basic`).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret (`none`).
    None,
    /// A client assertion signed with the client's private key (`private_key_jwt`, RFC 7523
    /// §2.2, OpenID Connect Core §9).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// The method of an RFC 7591 name, if it is one this client implements.
    pub fn from_name(name: &str) -> Option<AuthMethod> {
        match name {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "none" => Some(AuthMethod::None),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            _ => None,
        }
    }
}

/// A client registered with one authorization server (RFC 7591 §3.2.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The `token_endpoint_auth_method` the server registered, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
}

impl ClientRegistration {
    /// A registration of `client_id`, with an optional secret.
    pub fn new(client_id: impl Into<String>, client_secret: Option<String>) -> Self {
        ClientRegistration {
            client_id: client_id.into(),
            client_secret,
            token_endpoint_auth_method: None,
        }
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .finish()
    }
}

/// What a token store keeps between runs: the dynamically registered clients, keyed by the
/// issuer of the authorization server that registered them, and the current tokens. Take it
/// with [`Flow::credentials`](super::Flow::credentials) and hand it back with
/// [`Flow::restore`](super::Flow::restore). Its `Debug` shows no secret and no token; its
/// serialized form holds them all, so store it as a secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Credentials {
    /// Registered clients, keyed by issuer: a client is only ever used with the
    /// authorization server that registered it.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientRegistration>,
    /// The current tokens, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    /// The issuer each pre-registered client configured without one was first used with,
    /// by `client_id`: the binding outlives the process.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pre_registered_issuers: BTreeMap<String, String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("clients", &self.clients)
            .field("tokens", &self.tokens)
            .field("pre_registered_issuers", &self.pre_registered_issuers)
            .finish()
    }
}

/// Tokens issued by one authorization server for one resource, as
/// [`Flow::credentials`](super::Flow::credentials) gives them (or as deserialized from a
/// store).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tokens {
    /// The issuer of the authorization server that issued them.
    pub issuer: String,
    /// The resource they are for (RFC 8707), exactly as sent: they are presented only to its
    /// origin.
    pub resource: String,
    /// Where to refresh them.
    pub token_endpoint: String,
    /// The client they were issued to.
    pub client_id: String,
    /// How that client authenticates at the token endpoint.
    pub auth_method: AuthMethod,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scope granted (or, when the server did not say, the scope asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token expires, in seconds since the UNIX epoch by the caller's clock;
    /// `None` when the server gave no lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// For a DPoP-bound token (RFC 9449), the JWK SHA-256 thumbprint (RFC 7638) of the key it
    /// is bound to: restored only while the flow holds that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("access_token", &Redacted)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .field("dpop_jkt", &self.dpop_jkt)
            .finish()
    }
}

/// What `Debug` writes in place of a secret.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// `token_type` is `DPoP` (RFC 9449 §5).
    pub dpop: bool,
}

/// The body as a JSON object, if it is one (a UTF-8 byte order mark is allowed).
fn object(body: &[u8]) -> Option<Map<String, Value>> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Whether a token can go into an `Authorization` header as it is: visible ASCII (RFC 6750's
/// `b64token` is stricter; real servers are not).
pub(crate) fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Reads a successful token response; a `DPoP` token is taken only when `dpop` (the flow
/// proved its request with a key).
pub(crate) fn token_response(body: &[u8], dpop: bool) -> Result<TokenResponse, Error> {
    let invalid = |reason: &str| Error::InvalidTokenResponse {
        reason: reason.to_owned(),
    };
    let map = object(body).ok_or_else(|| invalid("not a JSON object"))?;
    let access_token = map
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no access_token"))?;
    if !is_header_safe(access_token) {
        return Err(invalid(
            "the access_token is empty, too long or not visible ASCII",
        ));
    }
    // RFC 6749 makes token_type required; a server that leaves it out means Bearer.
    let is_dpop = match map.get("token_type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("bearer") => false,
        Some(t) if dpop && t.eq_ignore_ascii_case("dpop") => true,
        None => false,
        Some(t) => {
            return Err(Error::UnsupportedTokenType {
                token_type: untrusted(t),
            })
        }
    };
    let expires_in = match map.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    }
    .map(|s| s.min(MAX_EXPIRES_IN));
    let refresh_token = match map.get("refresh_token").and_then(Value::as_str) {
        Some(r) if !r.is_empty() && r.len() <= MAX_TOKEN => Some(r.to_owned()),
        _ => None,
    };
    let scope = map
        .get("scope")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 4096)
        .map(str::to_owned);
    Ok(TokenResponse {
        access_token: access_token.to_owned(),
        expires_in,
        refresh_token,
        scope,
        dpop: is_dpop,
    })
}

/// The issued token of a token exchange response (RFC 8693 §2.2.1) asked for as
/// `requested` (its `token_type` may be `N_A`: the token is not an access token).
pub(crate) fn exchange_response(body: &[u8], requested: &str) -> Result<String, Error> {
    let invalid = |reason: &str| Error::InvalidTokenResponse {
        reason: reason.to_owned(),
    };
    let map = object(body).ok_or_else(|| invalid("not a JSON object"))?;
    let token = map
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no access_token in the token exchange response"))?;
    if !is_header_safe(token) {
        return Err(invalid(
            "the issued token is empty, too long or not visible ASCII",
        ));
    }
    match map.get("issued_token_type").and_then(Value::as_str) {
        Some(t) if t == requested => Ok(token.to_owned()),
        Some(t) => Err(invalid(&format!(
            "the issued token type is {}, not {requested}",
            untrusted(t)
        ))),
        None => Err(invalid(
            "no issued_token_type in the token exchange response",
        )),
    }
}

/// The `error` and `error_description` of an OAuth error body (RFC 6749 §5.2, RFC 7591
/// §3.2.2), capped and made safe to print.
pub(crate) fn oauth_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Some(map) = object(body) else {
        return (None, None);
    };
    let field = |key: &str| map.get(key).and_then(Value::as_str).map(untrusted);
    (field("error"), field("error_description"))
}

/// Reads a successful registration response.
pub(crate) fn registration_response(body: &[u8]) -> Result<ClientRegistration, String> {
    let map = object(body).ok_or("not a JSON object")?;
    let client_id = map
        .get("client_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.len() <= 4096)
        .ok_or("no client_id")?;
    let field = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 4096)
            .map(str::to_owned)
    };
    Ok(ClientRegistration {
        client_id: client_id.to_owned(),
        client_secret: field("client_secret"),
        token_endpoint_auth_method: field("token_endpoint_auth_method"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_shapes() {
        let t = token_response(
            br#"{"access_token":"abc.def","token_type":"bearer","expires_in":"3600","refresh_token":"r","scope":" a b "}"#,
            false,
        )
        .unwrap();
        assert_eq!(t.access_token, "abc.def");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.as_deref(), Some("r"));
        assert_eq!(t.scope.as_deref(), Some("a b"));
        let t = token_response(br#"{"access_token":"x","expires_in":12.7}"#, false).unwrap();
        assert_eq!(t.expires_in, Some(12));
        let t = token_response(br#"{"access_token":"x","expires_in":1e30}"#, false).unwrap();
        assert_eq!(t.expires_in, Some(MAX_EXPIRES_IN));
        let t = token_response(
            br#"{"access_token":"x","expires_in":-5,"refresh_token":""}"#,
            false,
        )
        .unwrap();
        assert_eq!(t.expires_in, None);
        assert_eq!(t.refresh_token, None);
    }

    #[test]
    fn a_token_exchange_response_gives_the_issued_token_of_the_type_asked_for() {
        let jag = "urn:ietf:params:oauth:token-type:id-jag";
        let ok = br#"{"access_token":"a.b.c","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}"#;
        assert_eq!(exchange_response(ok, jag).unwrap(), "a.b.c");
        for bad in [
            &br#"{"access_token":"a.b.c","token_type":"N_A"}"#[..],
            br#"{"access_token":"a.b.c","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
            br#"{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag"}"#,
            b"[]",
        ] {
            assert!(
                matches!(exchange_response(bad, jag), Err(Error::InvalidTokenResponse { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn token_response_refusals() {
        assert!(matches!(
            token_response(br#"{"access_token":"x","token_type":"DPoP"}"#, false),
            Err(Error::UnsupportedTokenType { token_type }) if token_type == "DPoP"
        ));
        // Taken when the flow asked for a DPoP token (it sent a proof).
        let t = token_response(br#"{"access_token":"x","token_type":"DPoP"}"#, true).unwrap();
        assert!(t.dpop);
        let t = token_response(br#"{"access_token":"x","token_type":"Bearer"}"#, true).unwrap();
        assert!(!t.dpop);
        assert!(matches!(
            token_response(br#"{"access_token":"x","token_type":"mac"}"#, true),
            Err(Error::UnsupportedTokenType { .. })
        ));
        for bad in [
            &br#"{"token_type":"Bearer"}"#[..],
            br#"{"access_token":""}"#,
            br#"{"access_token":"a b"}"#,
            br#"{"access_token":"a\nb"}"#,
            br#"{"access_token":7}"#,
            b"access_token=x",
        ] {
            assert!(
                matches!(
                    token_response(bad, false),
                    Err(Error::InvalidTokenResponse { .. })
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn oauth_errors_are_sanitized() {
        assert_eq!(
            oauth_error(br#"{"error":"invalid_grant","error_description":"gone\u001b[2J"}"#),
            (Some("invalid_grant".into()), Some("gone\\x1b[2J".into()))
        );
        assert_eq!(oauth_error(b"<html>"), (None, None));
    }

    #[test]
    fn registration_responses() {
        let r = registration_response(
            br#"{"client_id":"c","client_secret":"s","token_endpoint_auth_method":"client_secret_post"}"#,
        )
        .unwrap();
        assert_eq!(r.client_id, "c");
        assert_eq!(r.client_secret.as_deref(), Some("s"));
        assert_eq!(
            r.token_endpoint_auth_method.as_deref(),
            Some("client_secret_post")
        );
        assert!(registration_response(br#"{"client_secret":"s"}"#).is_err());
        assert!(registration_response(br#"{"client_id":""}"#).is_err());
    }

    #[test]
    fn credentials_serialize_and_debug_redacts() {
        let c = Credentials {
            clients: [(
                "https://as".to_owned(),
                ClientRegistration::new("cid", Some("SECRET-1".into())),
            )]
            .into(),
            tokens: Some(Tokens {
                issuer: "https://as".into(),
                resource: "https://rs/mcp".into(),
                token_endpoint: "https://as/token".into(),
                client_id: "cid".into(),
                auth_method: AuthMethod::ClientSecretBasic,
                access_token: "ACCESS-1".into(),
                refresh_token: Some("REFRESH-1".into()),
                scope: Some("a".into()),
                expires_at: Some(1_700_000_000),
                dpop_jkt: None,
            }),
            pre_registered_issuers: [("pre".to_owned(), "https://as".to_owned())].into(),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(
            json.contains("\"auth_method\":\"client_secret_basic\""),
            "{json}"
        );
        let back: Credentials = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let debug = format!("{c:?} {c:#?}");
        for secret in ["SECRET-1", "ACCESS-1", "REFRESH-1"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("cid"));
    }
}
