//! The flow driven against scripted servers: one test per conformance scenario of the
//! `auth/*` suite that is not an extension (`@modelcontextprotocol/conformance` 0.2.0-alpha.12
//! and 0.1.16), each set up as the scenario's servers are, asserting the URLs requested (and
//! the traps not requested), the fields sent and the outcome; then refresh, failures, bounds
//! and redaction.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde_json::{json, Value};

use super::pkce::s256;
use super::url::decode_form;
use super::*;
use crate::error::{TransportError, TransportErrorKind};

const RS: &str = "http://localhost:3000";
const MCP: &str = "http://localhost:3000/mcp";
const AS: &str = "http://localhost:4000";
const REDIRECT: &str = "http://127.0.0.1:8976/callback";
const CIMD: &str = "https://conformance-test.local/client-metadata.json";
const PRM_PATH: &str = "http://localhost:3000/.well-known/oauth-protected-resource/mcp";
const PRM_ROOT: &str = "http://localhost:3000/.well-known/oauth-protected-resource";

/// A request the flow made (or, for the authorization endpoint, the browser's GET).
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// The whole URL.
    url: String,
    headers: HeaderMap,
    /// The form fields: of the body for a POST, of the query for the authorization GET.
    form: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn base(&self) -> &str {
        self.url.split_once('?').map_or(&self.url, |(b, _)| b)
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The (id, secret) of an HTTP Basic `Authorization` header.
    fn basic(&self) -> Option<(String, String)> {
        let h = self.headers.get("authorization")?.to_str().ok()?;
        let encoded = h.strip_prefix("Basic ")?;
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }
}

/// What the `iss` of the authorization response is.
#[derive(Clone, Debug)]
enum Iss {
    Correct,
    Omit,
    Value(String),
}

/// A scripted answer.
#[derive(Clone, Debug)]
enum Route {
    /// A status and a JSON body.
    Json(u16, Value),
    /// A status, headers and raw bytes.
    Raw(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// The authorization endpoint: a 302 to the redirect URI with `code`, `state` and `iss`.
    Authorize { issuer: String, iss: Iss },
    /// A token endpoint: each request gets the next reply; the last repeats.
    Token(Vec<(u16, Value)>),
}

/// One authorization server as the conformance suite's `createAuthServer` makes it.
#[derive(Clone, Debug)]
struct AuthServer {
    base: String,
    prefix: String,
    metadata_path: String,
    metadata_issuer: Option<String>,
    scopes_supported: Option<Vec<&'static str>>,
    auth_methods: Vec<&'static str>,
    cimd: Option<bool>,
    registration: bool,
    s256: bool,
    iss_supported: Option<bool>,
    iss: Iss,
    registered: Value,
    tokens: Vec<(u16, Value)>,
}

impl AuthServer {
    fn new(base: &str) -> AuthServer {
        AuthServer {
            base: base.into(),
            prefix: String::new(),
            metadata_path: "/.well-known/oauth-authorization-server".into(),
            metadata_issuer: None,
            scopes_supported: None,
            auth_methods: vec!["none"],
            cimd: None,
            registration: true,
            s256: true,
            iss_supported: Some(true),
            iss: Iss::Correct,
            registered: json!({"client_id": "test-client-id", "client_secret": "test-client-secret"}),
            tokens: vec![(
                200,
                json!({"access_token": "test-token-1", "token_type": "Bearer", "expires_in": 3600}),
            )],
        }
    }

    fn issuer(&self) -> String {
        self.metadata_issuer
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.base, self.prefix))
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}{}/{name}", self.base, self.prefix)
    }

    fn routes(&self, routes: &mut BTreeMap<(String, String), Route>) {
        let mut doc = json!({
            "issuer": self.issuer(),
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
        });
        if self.registration {
            doc["registration_endpoint"] = json!(self.endpoint("register"));
        }
        if self.s256 {
            doc["code_challenge_methods_supported"] = json!(["S256"]);
        }
        if let Some(iss) = self.iss_supported {
            doc["authorization_response_iss_parameter_supported"] = json!(iss);
        }
        if let Some(s) = &self.scopes_supported {
            doc["scopes_supported"] = json!(s);
        }
        if let Some(c) = self.cimd {
            doc["client_id_metadata_document_supported"] = json!(c);
        }
        let get = |url: String| ("GET".to_owned(), url);
        let post = |url: String| ("POST".to_owned(), url);
        routes.insert(
            get(format!("{}{}", self.base, self.metadata_path)),
            Route::Json(200, doc),
        );
        routes.insert(
            get(self.endpoint("authorize")),
            Route::Authorize {
                issuer: self.issuer(),
                iss: self.iss.clone(),
            },
        );
        routes.insert(
            post(self.endpoint("token")),
            Route::Token(self.tokens.clone()),
        );
        if self.registration {
            routes.insert(
                post(self.endpoint("register")),
                Route::Json(201, self.registered.clone()),
            );
        }
    }
}

/// The MCP server's protected resource metadata, as `createServer` serves it.
fn prm(resource: &str, servers: &[&str], scopes: Option<&[&str]>) -> Route {
    let mut doc = json!({"resource": resource, "authorization_servers": servers});
    if let Some(s) = scopes {
        doc["scopes_supported"] = json!(s);
    }
    Route::Json(200, doc)
}

/// What a run ended with.
#[derive(Debug, PartialEq)]
enum Outcome {
    Authorized,
    Failed(Error),
}

/// A flow and the servers it talks to.
struct Harness {
    flow: Flow,
    routes: BTreeMap<(String, String), Route>,
    /// How many times each token route answered.
    token_calls: BTreeMap<String, usize>,
    seen: Vec<Seen>,
    now: Instant,
    random: u8,
}

impl Harness {
    fn new(config: Config) -> Harness {
        Harness {
            flow: Flow::new(config).unwrap(),
            routes: BTreeMap::new(),
            token_calls: BTreeMap::new(),
            seen: Vec::new(),
            now: Instant::now(),
            random: 0,
        }
    }

    /// The conformance client's configuration: a loopback redirect, the CIMD URL.
    fn conformance() -> Harness {
        Harness::new(Config::new(REDIRECT).client_metadata_url(CIMD))
    }

    fn get(&mut self, url: &str, route: Route) {
        self.routes.insert(("GET".into(), url.into()), route);
    }

    fn server(&mut self, server: &AuthServer) {
        server.routes(&mut self.routes);
    }

    /// The MCP server answers `status` with this `WWW-Authenticate`; the flow runs to its end.
    fn challenge(&mut self, status: u16, www: Option<&str>) -> Vec<Outcome> {
        let mut headers = HeaderMap::new();
        if let Some(w) = www {
            headers.insert("www-authenticate", HeaderValue::from_str(w).unwrap());
        }
        let taken = self.flow.handle_challenge(
            &MCP.parse().unwrap(),
            StatusCode::from_u16(status).unwrap(),
            &headers,
        );
        assert!(taken, "the flow did not take the challenge");
        self.drive()
    }

    /// Answers everything the flow asks until it asks nothing.
    fn drive(&mut self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for _ in 0..100 {
            let Some(output) = self.flow.poll_output() else {
                return outcomes;
            };
            match output {
                Output::Send(request) => {
                    let (status, headers, body) = self.answer(request.request);
                    let mut map = HeaderMap::new();
                    for (k, v) in headers {
                        map.insert(k, HeaderValue::from_str(&v).unwrap());
                    }
                    let status = StatusCode::from_u16(status).unwrap();
                    self.flow
                        .handle_response(self.now, request.id, status, &map, &body);
                }
                Output::Random(n) => {
                    let bytes: Vec<u8> =
                        (0..n).map(|i| self.random.wrapping_add(i as u8)).collect();
                    self.random = self.random.wrapping_add(101);
                    self.flow.handle_random(&bytes);
                }
                Output::Event(Event::Authorize { url, redirect_uri }) => {
                    assert_eq!(redirect_uri, REDIRECT);
                    let redirect = self.browse(&url);
                    self.flow
                        .handle_redirect(redirect.as_deref().map_err(String::as_str));
                }
                Output::Event(Event::Authorized) => outcomes.push(Outcome::Authorized),
                Output::Event(Event::Failed(e)) => outcomes.push(Outcome::Failed(e)),
            }
        }
        panic!("the flow did not settle in 100 steps");
    }

    /// A request of the flow, answered from the routes (404 when none).
    fn answer(
        &mut self,
        request: http::Request<Vec<u8>>,
    ) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let form = if parts.method == http::Method::POST
            && parts
                .headers
                .get("content-type")
                .is_some_and(|c| c == "application/x-www-form-urlencoded")
        {
            decode_form(&String::from_utf8(body.clone()).unwrap())
        } else {
            Vec::new()
        };
        let seen = Seen {
            method: parts.method.to_string(),
            url,
            headers: parts.headers,
            form,
            body,
        };
        let key = (seen.method.clone(), seen.base().to_owned());
        self.seen.push(seen);
        match self.routes.get(&key).cloned() {
            Some(Route::Json(status, v)) => (status, vec![], v.to_string().into_bytes()),
            Some(Route::Raw(status, h, b)) => (status, h, b),
            Some(Route::Token(replies)) => {
                let n = self.token_calls.entry(key.1).or_default();
                let (status, v) = replies[(*n).min(replies.len() - 1)].clone();
                *n += 1;
                (status, vec![], v.to_string().into_bytes())
            }
            Some(Route::Authorize { .. }) | None => (404, vec![], b"Not Found".to_vec()),
        }
    }

    /// The browser's visit to the authorization URL: the redirect it ends at.
    fn browse(&mut self, url: &str) -> Result<String, String> {
        let (base, query) = url.split_once('?').unwrap();
        let form = decode_form(query);
        self.seen.push(Seen {
            method: "GET".into(),
            url: url.into(),
            headers: HeaderMap::new(),
            form: form.clone(),
            body: Vec::new(),
        });
        let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        match self.routes.get(&("GET".to_owned(), base.to_owned())) {
            Some(Route::Authorize { issuer, iss }) => {
                let mut params = vec![("code", "test-auth-code".to_owned())];
                if let Some(state) = field("state") {
                    params.push(("state", state));
                }
                match iss {
                    Iss::Correct => params.push(("iss", issuer.clone())),
                    Iss::Omit => {}
                    Iss::Value(v) => params.push(("iss", v.clone())),
                }
                let pairs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Ok(format!(
                    "{}?{}",
                    field("redirect_uri").unwrap(),
                    super::url::form(&pairs)
                ))
            }
            _ => Err("the authorization endpoint answered 404".into()),
        }
    }

    /// The URLs requested, in order, as "METHOD url-without-query".
    fn requests(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|s| format!("{} {}", s.method, s.base()))
            .collect()
    }

    fn requested(&self, method: &str, url: &str) -> bool {
        self.seen
            .iter()
            .any(|s| s.method == method && s.base() == url)
    }

    /// The requests to this URL.
    fn to(&self, method: &str, url: &str) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.method == method && s.base() == url)
            .collect()
    }

    /// The one request to this URL.
    fn one(&self, method: &str, url: &str) -> &Seen {
        let all = self.to(method, url);
        assert_eq!(all.len(), 1, "{method} {url} in {:#?}", self.requests());
        all[0]
    }

    fn header_for(&self, url: &str) -> Option<String> {
        self.flow
            .authorization(&url.parse::<Uri>().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// The PKCE, state and resource checks every scenario's servers make.
fn assert_code_flow(authorize: &Seen, token: &Seen, resource: &str) {
    assert_eq!(authorize.field("response_type"), Some("code"));
    assert_eq!(authorize.field("code_challenge_method"), Some("S256"));
    assert_eq!(authorize.field("redirect_uri"), Some(REDIRECT));
    assert!(authorize.field("state").is_some_and(|s| s.len() >= 16));
    let verifier = token.field("code_verifier").unwrap();
    assert!(verifier.len() >= 43, "{verifier}");
    assert_eq!(
        authorize.field("code_challenge"),
        Some(s256(verifier).as_str())
    );
    assert_eq!(token.field("grant_type"), Some("authorization_code"));
    assert_eq!(token.field("code"), Some("test-auth-code"));
    assert_eq!(token.field("redirect_uri"), Some(REDIRECT));
    // RFC 8707, byte for byte the protected resource metadata's `resource`.
    assert_eq!(authorize.field("resource"), Some(resource));
    assert_eq!(token.field("resource"), Some(resource));
}

fn www(prm: &str) -> String {
    format!(r#"Bearer resource_metadata="{prm}""#)
}

// ---- auth/metadata-* ----

#[test]
fn metadata_default_uses_the_advertised_path_based_metadata_and_never_the_root() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.get(PRM_ROOT, Route::Json(404, json!({"error": "not_found"})));
    h.server(&AuthServer::new(AS));

    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("POST {AS}/register"),
            format!("GET {AS}/authorize"),
            format!("POST {AS}/token"),
        ]
    );
    assert!(!h.requested("GET", PRM_ROOT), "prm-priority-order trap");
    let register = h.one("POST", &format!("{AS}/register")).json();
    assert_eq!(register["application_type"], "native");
    assert_eq!(register["redirect_uris"], json!([REDIRECT]));
    assert!(register["grant_types"]
        .as_array()
        .unwrap()
        .contains(&json!("refresh_token")));
    assert_eq!(register["token_endpoint_auth_method"], "none");
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    let token = h.one("POST", &format!("{AS}/token"));
    assert_code_flow(authorize, token, MCP);
    assert_eq!(authorize.field("client_id"), Some("test-client-id"));
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
    assert_eq!(h.flow.issuer(), Some(AS));
}

#[test]
fn metadata_var1_probes_the_path_based_url_and_falls_back_to_openid_configuration() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.metadata_path = "/.well-known/openid-configuration".into();
    h.server(&server);

    assert_eq!(h.challenge(401, Some("Bearer")), [Outcome::Authorized]);
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("GET {AS}/.well-known/openid-configuration"),
            format!("POST {AS}/register"),
            format!("GET {AS}/authorize"),
            format!("POST {AS}/token"),
        ]
    );
    assert_code_flow(
        h.one("GET", &format!("{AS}/authorize")),
        h.one("POST", &format!("{AS}/token")),
        MCP,
    );
}

#[test]
fn metadata_var2_root_metadata_resource_is_sent_verbatim_and_the_issuer_path_is_inserted() {
    let mut h = Harness::conformance();
    // Root metadata: the resource is the origin, without a trailing slash.
    h.get(PRM_ROOT, prm(RS, &[&format!("{AS}/tenant1")], None));
    let mut server = AuthServer::new(AS);
    server.prefix = "/tenant1".into();
    server.metadata_path = "/.well-known/oauth-authorization-server/tenant1".into();
    h.server(&server);
    h.get(
        &format!("{AS}/.well-known/oauth-authorization-server"),
        Route::Json(404, json!({})),
    );

    assert_eq!(h.challenge(401, None), [Outcome::Authorized]);
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {PRM_ROOT}"),
            format!("GET {AS}/.well-known/oauth-authorization-server/tenant1"),
            format!("POST {AS}/tenant1/register"),
            format!("GET {AS}/tenant1/authorize"),
            format!("POST {AS}/tenant1/token"),
        ]
    );
    assert!(
        !h.requested(
            "GET",
            &format!("{AS}/.well-known/oauth-authorization-server")
        ),
        "authorization-server-metadata-wrong-path trap"
    );
    // resource-parameter-matches-prm: "http://localhost:3000", not "http://localhost:3000/".
    assert_code_flow(
        h.one("GET", &format!("{AS}/tenant1/authorize")),
        h.one("POST", &format!("{AS}/tenant1/token")),
        RS,
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
}

#[test]
fn metadata_var3_custom_metadata_url_and_openid_path_appending() {
    let custom = format!("{RS}/custom/metadata/location.json");
    let mut h = Harness::conformance();
    h.get(&custom, prm(MCP, &[&format!("{AS}/tenant1")], None));
    let mut server = AuthServer::new(AS);
    server.prefix = "/tenant1".into();
    server.metadata_path = "/tenant1/.well-known/openid-configuration".into();
    h.server(&server);

    assert_eq!(h.challenge(401, Some(&www(&custom))), [Outcome::Authorized]);
    assert_eq!(
        h.requests(),
        [
            format!("GET {custom}"),
            format!("GET {AS}/.well-known/oauth-authorization-server/tenant1"),
            format!("GET {AS}/.well-known/openid-configuration/tenant1"),
            format!("GET {AS}/tenant1/.well-known/openid-configuration"),
            format!("POST {AS}/tenant1/register"),
            format!("GET {AS}/tenant1/authorize"),
            format!("POST {AS}/tenant1/token"),
        ]
    );
    assert!(!h.requested(
        "GET",
        &format!("{AS}/.well-known/oauth-authorization-server")
    ));
    assert!(!h.requested("GET", PRM_PATH) && !h.requested("GET", PRM_ROOT));
    assert_code_flow(
        h.one("GET", &format!("{AS}/tenant1/authorize")),
        h.one("POST", &format!("{AS}/tenant1/token")),
        MCP,
    );
}

// ---- auth/basic-cimd ----

#[test]
fn basic_cimd_uses_the_metadata_document_url_as_client_id_without_registering() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.cimd = Some(true);
    h.server(&server);

    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert!(!h.requested("POST", &format!("{AS}/register")));
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    let token = h.one("POST", &format!("{AS}/token"));
    assert_eq!(authorize.field("client_id"), Some(CIMD));
    assert_eq!(token.field("client_id"), Some(CIMD));
    assert!(token.headers.get("authorization").is_none());
    assert_code_flow(authorize, token, MCP);
}

#[test]
fn cimd_is_not_used_where_the_server_does_not_advertise_it() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.cimd = Some(false);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert!(h.requested("POST", &format!("{AS}/register")));
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("client_id"),
        Some("test-client-id")
    );
}

// ---- auth/scope-* ----

#[test]
fn scope_from_www_authenticate_is_requested() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:other"])));
    h.server(&AuthServer::new(AS));
    let challenge = format!(r#"Bearer resource_metadata="{PRM_PATH}", scope="mcp:basic""#);
    assert_eq!(h.challenge(401, Some(&challenge)), [Outcome::Authorized]);
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        Some("mcp:basic")
    );
    assert_eq!(h.flow.scope(), Some("mcp:basic"));
}

#[test]
fn scope_from_scopes_supported_when_the_challenge_has_none() {
    let mut h = Harness::conformance();
    h.get(
        PRM_PATH,
        prm(MCP, &[AS], Some(&["mcp:basic", "mcp:read", "mcp:write"])),
    );
    h.server(&AuthServer::new(AS));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        Some("mcp:basic mcp:read mcp:write")
    );
}

#[test]
fn scope_omitted_when_undefined() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    assert_eq!(authorize.field("scope"), None);
    assert!(!authorize.url.contains("scope="));
    assert_eq!(h.one("POST", &format!("{AS}/token")).field("scope"), None);
}

#[test]
fn scope_step_up_reauthorizes_with_the_union_of_scopes() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:profile"])));
    let mut server = AuthServer::new(AS);
    server.tokens = vec![
        (
            200,
            json!({"access_token": "test-token-1", "token_type": "Bearer", "expires_in": 3600,
                   "refresh_token": "refresh-1", "scope": "mcp:basic"}),
        ),
        (
            200,
            json!({"access_token": "test-token-2", "token_type": "Bearer", "expires_in": 3600,
                   "scope": "mcp:basic mcp:write"}),
        ),
    ];
    h.server(&server);

    let first = format!(r#"Bearer scope="mcp:basic", resource_metadata="{PRM_PATH}""#);
    assert_eq!(h.challenge(401, Some(&first)), [Outcome::Authorized]);
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
    h.flow.handle_accepted();

    let step_up = format!(
        r#"Bearer scope="mcp:write", resource_metadata="{PRM_PATH}", error="insufficient_scope""#
    );
    assert_eq!(h.challenge(403, Some(&step_up)), [Outcome::Authorized]);
    let authorizations = h.to("GET", &format!("{AS}/authorize"));
    assert_eq!(authorizations.len(), 2);
    assert_eq!(authorizations[0].field("scope"), Some("mcp:basic"));
    // sep-2350-scope-union-on-reauth: the earlier scope is kept.
    assert_eq!(
        authorizations[1].field("scope"),
        Some("mcp:basic mcp:write")
    );
    // A refresh cannot widen a scope: the refresh token is not used on a step-up.
    let tokens = h.to("POST", &format!("{AS}/token"));
    assert_eq!(tokens.len(), 2);
    assert!(tokens
        .iter()
        .all(|t| t.field("grant_type") == Some("authorization_code")));
    // The client registered once, for this issuer, is used again.
    assert_eq!(h.to("POST", &format!("{AS}/register")).len(), 1);
    assert_eq!(authorizations[1].field("client_id"), Some("test-client-id"));
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-2"));
    assert_eq!(h.flow.scope(), Some("mcp:basic mcp:write"));
}

#[test]
fn scope_retry_limit_stops_after_three_authorizations() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:admin"])));
    h.server(&AuthServer::new(AS));
    let unauthorized = format!(r#"Bearer scope="mcp:admin", resource_metadata="{PRM_PATH}""#);
    let forbidden = format!(
        r#"Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="{PRM_PATH}", error_description="Scope upgrade will never succeed""#
    );
    assert_eq!(h.challenge(401, Some(&unauthorized)), [Outcome::Authorized]);
    assert_eq!(h.challenge(403, Some(&forbidden)), [Outcome::Authorized]);
    assert_eq!(h.challenge(403, Some(&forbidden)), [Outcome::Authorized]);
    let before = h.seen.len();
    assert_eq!(
        h.challenge(403, Some(&forbidden)),
        [Outcome::Failed(Error::AttemptsExhausted { attempts: 3 })]
    );
    assert_eq!(h.seen.len(), before, "nothing more is requested");
    assert_eq!(h.to("GET", &format!("{AS}/authorize")).len(), 3);
    // It stays exhausted until a request gets through.
    assert_eq!(
        h.challenge(403, Some(&forbidden)),
        [Outcome::Failed(Error::AttemptsExhausted { attempts: 3 })]
    );
    h.flow.handle_accepted();
    assert_eq!(h.challenge(403, Some(&forbidden)), [Outcome::Authorized]);
}

#[test]
fn a_403_that_is_not_insufficient_scope_is_not_taken() {
    let mut h = Harness::conformance();
    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    let mcp: Uri = MCP.parse().unwrap();
    assert!(!h
        .flow
        .handle_challenge(&mcp, StatusCode::FORBIDDEN, &headers));
    assert!(!h
        .flow
        .handle_challenge(&mcp, StatusCode::FORBIDDEN, &HeaderMap::new()));
    assert!(!h
        .flow
        .handle_challenge(&mcp, StatusCode::BAD_REQUEST, &headers));
    assert!(h.flow.poll_output().is_none());
}

// ---- auth/token-endpoint-auth-* ----

/// The token-endpoint-auth scenarios: the server supports only `method`, and registration
/// returns it.
fn token_endpoint_auth(method: &'static str, secret: Option<&str>) -> Harness {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.auth_methods = vec![method];
    let mut registered =
        json!({"client_id": "test-client-7", "token_endpoint_auth_method": method});
    if let Some(s) = secret {
        registered["client_secret"] = json!(s);
    }
    server.registered = registered;
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_code_flow(
        h.one("GET", &format!("{AS}/authorize")),
        h.one("POST", &format!("{AS}/token")),
        MCP,
    );
    h
}

#[test]
fn token_endpoint_auth_basic_sends_http_basic_credentials() {
    let h = token_endpoint_auth("client_secret_basic", Some("test-secret-7"));
    let register = h.one("POST", &format!("{AS}/register")).json();
    assert_eq!(
        register["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let token = h.one("POST", &format!("{AS}/token"));
    assert_eq!(
        token.basic(),
        Some(("test-client-7".into(), "test-secret-7".into()))
    );
    assert!(token.headers["authorization"].is_sensitive());
    assert_eq!(token.field("client_secret"), None);
}

#[test]
fn token_endpoint_auth_post_sends_the_secret_in_the_body() {
    let h = token_endpoint_auth("client_secret_post", Some("test-secret-7"));
    let token = h.one("POST", &format!("{AS}/token"));
    assert!(token.headers.get("authorization").is_none());
    assert_eq!(token.field("client_id"), Some("test-client-7"));
    assert_eq!(token.field("client_secret"), Some("test-secret-7"));
}

#[test]
fn token_endpoint_auth_none_sends_no_secret() {
    let h = token_endpoint_auth("none", None);
    let token = h.one("POST", &format!("{AS}/token"));
    assert!(token.headers.get("authorization").is_none());
    assert_eq!(token.field("client_id"), Some("test-client-7"));
    assert_eq!(token.field("client_secret"), None);
}

#[test]
fn basic_credentials_are_form_encoded_before_base64() {
    let mut h = Harness::new(
        Config::new(REDIRECT).pre_registered(PreRegistered::new("id:with space").secret("s&cr=t")),
    );
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.auth_methods = vec!["client_secret_basic"];
    server.registration = false;
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.one("POST", &format!("{AS}/token")).basic(),
        Some(("id%3Awith%20space".into(), "s%26cr%3Dt".into()))
    );
}

// ---- auth/pre-registration ----

fn pre_registration(client: PreRegistered) -> Harness {
    let mut h = Harness::new(
        Config::new(REDIRECT)
            .client_metadata_url(CIMD)
            .pre_registered(client),
    );
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.registration = false;
    server.auth_methods = vec!["client_secret_basic"];
    server.cimd = Some(true);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    h
}

#[test]
fn pre_registration_uses_the_configured_credentials_with_basic() {
    let client = PreRegistered::new("pre-registered-client")
        .secret("pre-registered-secret")
        .issuer(AS);
    let h = pre_registration(client);
    assert!(!h.requested("POST", &format!("{AS}/register")));
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    assert_eq!(authorize.field("client_id"), Some("pre-registered-client"));
    let token = h.one("POST", &format!("{AS}/token"));
    assert_eq!(
        token.basic(),
        Some((
            "pre-registered-client".into(),
            "pre-registered-secret".into()
        ))
    );
    assert_code_flow(authorize, token, MCP);
}

#[test]
fn pre_registration_without_an_issuer_binds_to_the_first_server() {
    // 0.1.16's context has no issuer.
    let mut h = pre_registration(
        PreRegistered::new("pre-registered-client").secret("pre-registered-secret"),
    );
    // The resource now names another server: the client is not presented there.
    const AS2: &str = "http://localhost:5000";
    h.get(PRM_PATH, prm(MCP, &[AS2], None));
    h.server(&AuthServer::new(AS2));
    h.flow.handle_accepted();
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::ClientIssuerMismatch {
            registered: AS.into(),
            issuer: AS2.into(),
        })]
    );
    assert!(!h
        .seen
        .iter()
        .any(|s| s.base().starts_with(AS2) && s.method == "POST"));
    assert!(!h.requested("GET", &format!("{AS2}/authorize")));
}

#[test]
fn the_binding_of_a_pre_registered_client_survives_a_restore() {
    let h = pre_registration(
        PreRegistered::new("pre-registered-client").secret("pre-registered-secret"),
    );
    let creds = h.flow.credentials(h.now, Duration::ZERO);
    assert_eq!(creds.pre_registered_issuers["pre-registered-client"], AS);
    let stored = serde_json::to_string(&creds).unwrap();

    const AS2: &str = "http://localhost:5000";
    let config = Config::new(REDIRECT).pre_registered(
        PreRegistered::new("pre-registered-client").secret("pre-registered-secret"),
    );
    let mut h = Harness::new(config);
    h.flow
        .restore(
            serde_json::from_str(&stored).unwrap(),
            h.now,
            Duration::ZERO,
        )
        .unwrap();
    h.get(PRM_PATH, prm(MCP, &[AS2], None));
    h.server(&AuthServer::new(AS2));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::ClientIssuerMismatch {
            registered: AS.into(),
            issuer: AS2.into(),
        })]
    );
    // Another client id is not bound by it.
    let mut h = Harness::new(Config::new(REDIRECT).pre_registered(PreRegistered::new("other")));
    h.flow
        .restore(
            serde_json::from_str(&stored).unwrap(),
            h.now,
            Duration::ZERO,
        )
        .unwrap();
    h.get(PRM_PATH, prm(MCP, &[AS2], None));
    h.server(&AuthServer::new(AS2));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
}

#[test]
fn pre_registration_for_another_issuer_is_refused() {
    let mut h = Harness::new(Config::new(REDIRECT).pre_registered(
        PreRegistered::new("pre-registered-client").issuer("https://other.example"),
    ));
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::ClientIssuerMismatch {
            registered: "https://other.example".into(),
            issuer: AS.into(),
        })]
    );
    assert!(!h.requested("GET", &format!("{AS}/authorize")));
}

// ---- auth/2025-03-26-* ----

#[test]
fn backcompat_2025_03_26_uses_the_mcp_origin_metadata() {
    let mut h = Harness::conformance();
    let mut server = AuthServer::new(RS);
    server.prefix = "/oauth".into();
    server.metadata_issuer = Some(RS.into());
    h.server(&server);

    assert_eq!(h.challenge(401, Some("Bearer")), [Outcome::Authorized]);
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {PRM_ROOT}"),
            format!("GET {RS}/.well-known/oauth-authorization-server"),
            format!("POST {RS}/oauth/register"),
            format!("GET {RS}/oauth/authorize"),
            format!("POST {RS}/oauth/token"),
        ]
    );
    for fallback in ["/authorize", "/token", "/register"] {
        assert!(!h.seen.iter().any(|s| s.base() == format!("{RS}{fallback}")));
    }
    assert_code_flow(
        h.one("GET", &format!("{RS}/oauth/authorize")),
        h.one("POST", &format!("{RS}/oauth/token")),
        MCP,
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
}

#[test]
fn endpoint_fallback_2025_03_26_without_any_metadata() {
    let mut h = Harness::conformance();
    h.routes.insert(
        ("GET".into(), format!("{RS}/authorize")),
        Route::Authorize {
            issuer: RS.into(),
            iss: Iss::Omit,
        },
    );
    h.routes.insert(
        ("POST".into(), format!("{RS}/token")),
        Route::Token(vec![(
            200,
            json!({"access_token": "test-token", "token_type": "Bearer", "expires_in": 3600}),
        )]),
    );
    h.routes.insert(
        ("POST".into(), format!("{RS}/register")),
        Route::Json(
            201,
            json!({"client_id": "test-client-id", "client_secret": "test-client-secret"}),
        ),
    );

    assert_eq!(h.challenge(401, None), [Outcome::Authorized]);
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {PRM_ROOT}"),
            format!("GET {RS}/.well-known/oauth-authorization-server"),
            format!("POST {RS}/register"),
            format!("GET {RS}/authorize"),
            format!("POST {RS}/token"),
        ]
    );
    assert_code_flow(
        h.one("GET", &format!("{RS}/authorize")),
        h.one("POST", &format!("{RS}/token")),
        MCP,
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token"));
}

#[test]
fn no_legacy_fallback_when_turned_off_or_when_the_header_named_the_metadata() {
    let mut h = Harness::new(Config::new(REDIRECT).legacy_discovery(false));
    assert_eq!(
        h.challenge(401, None),
        [Outcome::Failed(Error::MetadataNotFound {
            what: Metadata::Resource,
            tried: vec![PRM_PATH.into(), PRM_ROOT.into()],
        })]
    );
    let mut h = Harness::conformance();
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::MetadataNotFound {
            what: Metadata::Resource,
            tried: vec![PRM_PATH.into()],
        })]
    );
    assert_eq!(h.requests(), [format!("GET {PRM_PATH}")]);
}

// ---- auth/resource-mismatch ----

#[test]
fn resource_mismatch_is_refused_before_any_authorization() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm("https://evil.example.com/mcp", &[AS], None));
    h.server(&AuthServer::new(AS));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::ResourceMismatch {
            expected: MCP.into(),
            got: "https://evil.example.com/mcp".into(),
        })]
    );
    assert_eq!(h.requests(), [format!("GET {PRM_PATH}")]);
    assert_eq!(h.header_for(MCP), None);
}

#[test]
fn a_resource_for_another_path_on_the_same_origin_is_refused() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm("http://localhost:3000/other", &[AS], None));
    assert!(matches!(
        h.challenge(401, Some(&www(PRM_PATH)))[..],
        [Outcome::Failed(Error::ResourceMismatch { .. })]
    ));
}

// ---- auth/offline-access-* ----

#[test]
fn offline_access_is_requested_when_the_server_lists_it() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:basic"])));
    let mut server = AuthServer::new(AS);
    server.scopes_supported = Some(vec!["mcp:basic", "offline_access"]);
    server.cimd = Some(true);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    assert_eq!(authorize.field("scope"), Some("mcp:basic offline_access"));
    assert_eq!(authorize.field("client_id"), Some(CIMD));
}

#[test]
fn offline_access_registration_asks_for_the_refresh_token_grant() {
    let mut h = Harness::new(Config::new(REDIRECT));
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:basic"])));
    let mut server = AuthServer::new(AS);
    server.scopes_supported = Some(vec!["mcp:basic", "offline_access"]);
    server.cimd = Some(true);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    let register = h.one("POST", &format!("{AS}/register")).json();
    assert_eq!(
        register["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        Some("mcp:basic offline_access")
    );
}

#[test]
fn offline_access_is_not_requested_when_the_server_does_not_list_it() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:basic", "mcp:read"])));
    let mut server = AuthServer::new(AS);
    server.scopes_supported = Some(vec!["mcp:basic", "mcp:read"]);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        Some("mcp:basic mcp:read")
    );
}

#[test]
fn offline_access_alone_is_never_the_whole_scope() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.scopes_supported = Some(vec!["offline_access"]);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        None
    );
}

// ---- auth/authorization-server-migration ----

#[test]
fn authorization_server_migration_registers_again_and_never_reuses_the_old_client() {
    const AS1_CLIENT: &str = "as1-client-id-LEAKED-IF-SEEN-AT-AS2";
    const AS2: &str = "http://localhost:5000";
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:basic"])));
    let mut as1 = AuthServer::new(AS);
    as1.registered = json!({"client_id": AS1_CLIENT, "client_secret": "as1-client-secret"});
    as1.tokens = vec![(
        200,
        json!({"access_token": "test-token-as1", "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": "as1-refresh"}),
    )];
    h.server(&as1);
    let challenge = format!(r#"Bearer scope="mcp:basic", resource_metadata="{PRM_PATH}""#);
    assert_eq!(h.challenge(401, Some(&challenge)), [Outcome::Authorized]);
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-as1"));
    h.flow.handle_accepted();

    // The resource moves to AS2; the AS1 token is refused.
    h.get(PRM_PATH, prm(MCP, &[AS2], Some(&["mcp:basic"])));
    let mut as2 = AuthServer::new(AS2);
    as2.registered = json!({"client_id": "as2-client-id", "client_secret": "as2-client-secret"});
    as2.tokens = vec![(
        200,
        json!({"access_token": "test-token-as2-1", "token_type": "Bearer", "expires_in": 3600}),
    )];
    h.server(&as2);
    let first_at_as2 = h.seen.len();
    assert_eq!(h.challenge(401, Some(&challenge)), [Outcome::Authorized]);
    assert_eq!(
        h.requests()[first_at_as2..],
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS2}/.well-known/oauth-authorization-server"),
            format!("POST {AS2}/register"),
            format!("GET {AS2}/authorize"),
            format!("POST {AS2}/token"),
        ]
    );
    // sep-2352-no-reuse-on-as-change: the AS1 client id, secret and refresh token never
    // reach AS2, nor AS1 again.
    for s in &h.seen[first_at_as2..] {
        let text = format!(
            "{} {:?} {}",
            s.url,
            s.form,
            String::from_utf8_lossy(&s.body)
        );
        assert!(
            !text.contains(AS1_CLIENT) && !text.contains("as1-"),
            "{text}"
        );
        assert_ne!(s.basic().map(|b| b.0).as_deref(), Some(AS1_CLIENT));
    }
    assert_eq!(
        h.one("GET", &format!("{AS2}/authorize")).field("client_id"),
        Some("as2-client-id")
    );
    assert_eq!(
        h.header_for(MCP).as_deref(),
        Some("Bearer test-token-as2-1")
    );
    assert_eq!(h.flow.issuer(), Some(AS2));
    // Both registrations are kept, each under its issuer.
    let creds = h.flow.credentials(h.now, Duration::from_secs(1_000_000));
    assert_eq!(creds.clients[AS].client_id, AS1_CLIENT);
    assert_eq!(creds.clients[AS2].client_id, "as2-client-id");
}

// ---- auth/iss-* ----

fn iss_scenario(supported: Option<bool>, iss: Iss) -> Harness {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.iss_supported = supported;
    server.iss = iss;
    h.server(&server);
    h
}

#[test]
fn iss_supported_and_correct_proceeds_to_the_token_request() {
    let mut h = iss_scenario(Some(true), Iss::Correct);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert!(h.requested("POST", &format!("{AS}/token")));
}

#[test]
fn iss_not_advertised_and_absent_proceeds() {
    let mut h = iss_scenario(None, Iss::Omit);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert!(h.requested("POST", &format!("{AS}/token")));
}

#[test]
fn iss_advertised_but_missing_is_rejected_before_the_token_request() {
    let mut h = iss_scenario(Some(true), Iss::Omit);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::IssMissing {
            expected: AS.into()
        })]
    );
    assert!(h.requested(
        "GET",
        &format!("{AS}/.well-known/oauth-authorization-server")
    ));
    assert!(h.requested("GET", &format!("{AS}/authorize")));
    assert!(!h.requested("POST", &format!("{AS}/token")));
    assert_eq!(h.header_for(MCP), None);
}

#[test]
fn iss_wrong_issuer_is_rejected() {
    let mut h = iss_scenario(Some(true), Iss::Value("https://evil.example.com".into()));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::IssMismatch {
            expected: AS.into(),
            got: "https://evil.example.com".into(),
        })]
    );
    assert!(!h.requested("POST", &format!("{AS}/token")));
}

#[test]
fn iss_unexpected_is_compared_even_when_not_advertised() {
    let mut h = iss_scenario(None, Iss::Value("https://evil.example.com".into()));
    assert!(matches!(
        h.challenge(401, Some(&www(PRM_PATH)))[..],
        [Outcome::Failed(Error::IssMismatch { .. })]
    ));
    assert!(!h.requested("POST", &format!("{AS}/token")));
    // Advertised as false: the same.
    let mut h = iss_scenario(Some(false), Iss::Value("https://evil.example.com".into()));
    assert!(matches!(
        h.challenge(401, Some(&www(PRM_PATH)))[..],
        [Outcome::Failed(Error::IssMismatch { .. })]
    ));
}

#[test]
fn iss_normalized_variant_is_a_mismatch() {
    for variant in [
        format!("{AS}/"),
        "HTTP://localhost:4000".into(),
        "http://LOCALHOST:4000".into(),
        "http://localhost:4000/.".into(),
        "http://localhost%3A4000".into(),
    ] {
        let mut h = iss_scenario(Some(true), Iss::Value(variant.clone()));
        assert_eq!(
            h.challenge(401, Some(&www(PRM_PATH))),
            [Outcome::Failed(Error::IssMismatch {
                expected: AS.into(),
                got: variant,
            })]
        );
        assert!(!h.requested("POST", &format!("{AS}/token")));
    }
}

#[test]
fn an_error_response_from_the_wrong_issuer_is_not_acted_on() {
    let mut h = iss_scenario(Some(true), Iss::Correct);
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    let state = loop {
        match h.flow.poll_output().unwrap() {
            Output::Send(r) => {
                let (status, _, body) = h.answer(r.request);
                h.flow.handle_response(
                    h.now,
                    r.id,
                    StatusCode::from_u16(status).unwrap(),
                    &HeaderMap::new(),
                    &body,
                );
            }
            Output::Random(n) => h.flow.handle_random(&vec![1; n]),
            Output::Event(Event::Authorize { url, .. }) => {
                let q = decode_form(url.split_once('?').unwrap().1);
                break q.into_iter().find(|(k, _)| k == "state").unwrap().1;
            }
            other => panic!("{other:?}"),
        }
    };
    let redirect = format!(
        "{REDIRECT}?error=access_denied&error_description=phish&state={state}&iss=https%3A%2F%2Fevil.example"
    );
    h.flow.handle_redirect(Ok(&redirect));
    assert!(matches!(
        h.drive()[..],
        [Outcome::Failed(Error::IssMismatch { .. })]
    ));
}

// ---- auth/metadata-issuer-mismatch ----

#[test]
fn metadata_issuer_mismatch_means_the_metadata_is_not_used() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.prefix = "/mismatched-as".into();
    server.metadata_issuer = Some("https://attacker.example.com".into());
    server.metadata_path = "/.well-known/oauth-authorization-server".into();
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::IssuerMismatch {
            expected: AS.into(),
            got: "https://attacker.example.com".into(),
        })]
    );
    assert_eq!(
        h.requests(),
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("GET {AS}/.well-known/openid-configuration"),
        ]
    );
    assert!(!h.seen.iter().any(|s| s.base().contains("/mismatched-as/")));
}

// ---- refresh ----

/// A flow holding a token from `AS` that expires in `expires_in` s, with a refresh token.
fn authorized_with_refresh(expires_in: u64, later: Vec<(u16, Value)>) -> Harness {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], Some(&["mcp:basic"])));
    let mut server = AuthServer::new(AS);
    server.tokens = vec![(
        200,
        json!({"access_token": "test-token-1", "token_type": "Bearer", "expires_in": expires_in,
               "refresh_token": "refresh-1"}),
    )];
    server.tokens.extend(later);
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    h
}

#[test]
fn a_token_needs_refresh_near_its_expiry_and_refresh_rotates_it() {
    let mut h = authorized_with_refresh(
        60,
        vec![(
            200,
            json!({"access_token": "test-token-2", "token_type": "Bearer", "expires_in": 60,
                   "refresh_token": "refresh-2"}),
        )],
    );
    let t0 = h.now;
    assert_eq!(h.flow.expires_at(), Some(t0 + Duration::from_secs(60)));
    assert_eq!(h.flow.token_status(t0), TokenStatus::Valid);
    assert_eq!(
        h.flow.token_status(t0 + Duration::from_secs(29)),
        TokenStatus::Valid
    );
    assert_eq!(
        h.flow.token_status(t0 + Duration::from_secs(30)),
        TokenStatus::NeedsRefresh
    );
    assert_eq!(
        h.flow.token_status(t0 + Duration::from_secs(600)),
        TokenStatus::NeedsRefresh
    );

    h.now = t0 + Duration::from_secs(45);
    assert!(h.flow.refresh());
    assert!(!h.flow.refresh(), "one flow at a time");
    assert_eq!(h.drive(), [Outcome::Authorized]);
    let refresh = h.to("POST", &format!("{AS}/token"))[1].clone();
    assert_eq!(refresh.field("grant_type"), Some("refresh_token"));
    assert_eq!(refresh.field("refresh_token"), Some("refresh-1"));
    assert_eq!(refresh.field("resource"), Some(MCP));
    // The registered client (no CIMD support here); the server lists only `none`.
    assert_eq!(refresh.field("client_id"), Some("test-client-id"));
    assert_eq!(refresh.field("client_secret"), None);
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-2"));
    assert_eq!(h.flow.expires_at(), Some(t0 + Duration::from_secs(105)));
    // Rotated: the next refresh sends the new refresh token.
    assert!(h.flow.refresh());
    h.drive();
    let again = h.to("POST", &format!("{AS}/token"))[2].clone();
    assert_eq!(again.field("refresh_token"), Some("refresh-2"));
}

#[test]
fn refresh_keeps_the_refresh_token_when_none_is_returned() {
    let mut h = authorized_with_refresh(
        60,
        vec![(
            200,
            json!({"access_token": "test-token-2", "token_type": "Bearer"}),
        )],
    );
    assert!(h.flow.refresh());
    assert_eq!(h.drive(), [Outcome::Authorized]);
    assert_eq!(h.flow.expires_at(), None);
    assert_eq!(
        h.flow.token_status(h.now + Duration::from_secs(1 << 30)),
        TokenStatus::Valid
    );
    assert!(h.flow.refresh());
    h.drive();
    assert_eq!(
        h.to("POST", &format!("{AS}/token"))[2].field("refresh_token"),
        Some("refresh-1")
    );
}

#[test]
fn a_revoked_refresh_token_is_a_typed_error_and_the_tokens_are_forgotten() {
    let mut h = authorized_with_refresh(
        60,
        vec![(
            400,
            json!({"error": "invalid_grant", "error_description": "Refresh token revoked"}),
        )],
    );
    assert!(h.flow.refresh());
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::RefreshTokenRevoked {
            description: Some("Refresh token revoked".into())
        })]
    );
    assert_eq!(h.flow.token_status(h.now), TokenStatus::None);
    assert_eq!(h.header_for(MCP), None);
    assert!(!h.flow.refresh());
}

#[test]
fn another_refresh_error_keeps_the_tokens() {
    let mut h =
        authorized_with_refresh(60, vec![(503, json!({"error": "temporarily_unavailable"}))]);
    assert!(h.flow.refresh());
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::RefreshFailed {
            status: 503,
            error: Some("temporarily_unavailable".into()),
            description: None,
        })]
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
}

#[test]
fn a_401_with_a_refresh_token_refreshes_instead_of_authorizing() {
    let mut h = authorized_with_refresh(
        3600,
        vec![(
            200,
            json!({"access_token": "test-token-2", "token_type": "Bearer"}),
        )],
    );
    h.flow.handle_accepted();
    let before = h.seen.len();
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.requests()[before..],
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("POST {AS}/token"),
        ]
    );
    assert_eq!(
        h.to("POST", &format!("{AS}/token"))[1].field("grant_type"),
        Some("refresh_token")
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-2"));
}

#[test]
fn a_401_whose_refresh_is_refused_authorizes_afresh() {
    let mut h = authorized_with_refresh(
        3600,
        vec![
            (400, json!({"error": "invalid_grant"})),
            (
                200,
                json!({"access_token": "test-token-3", "token_type": "Bearer"}),
            ),
        ],
    );
    h.flow.handle_accepted();
    let before = h.seen.len();
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    assert_eq!(
        h.requests()[before..],
        [
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("POST {AS}/token"),
            format!("GET {AS}/authorize"),
            format!("POST {AS}/token"),
        ]
    );
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-3"));
}

// ---- credentials ----

#[test]
fn credentials_round_trip_through_a_store() {
    let h = authorized_with_refresh(3600, vec![]);
    let unix_now = Duration::from_secs(1_700_000_000);
    let creds = h.flow.credentials(h.now, unix_now);
    let tokens = creds.tokens.as_ref().unwrap();
    assert_eq!(tokens.issuer, AS);
    assert_eq!(tokens.resource, MCP);
    assert_eq!(tokens.expires_at, Some(1_700_003_600));
    assert_eq!(tokens.client_id, "test-client-id");
    assert_eq!(
        creds.clients[AS].client_secret.as_deref(),
        Some("test-client-secret")
    );
    let stored = serde_json::to_string(&creds).unwrap();

    // Another process, ten minutes later by both clocks.
    let later = h.now + Duration::from_secs(600);
    let mut flow = Flow::new(Config::new(REDIRECT)).unwrap();
    flow.restore(
        serde_json::from_str(&stored).unwrap(),
        later,
        unix_now + Duration::from_secs(600),
    )
    .unwrap();
    assert_eq!(flow.expires_at(), Some(h.now + Duration::from_secs(3600)));
    assert_eq!(
        flow.authorization(&MCP.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
            .as_deref(),
        Some("Bearer test-token-1")
    );
    assert!(flow
        .authorization(&MCP.parse().unwrap())
        .unwrap()
        .is_sensitive());
    assert_eq!(flow.issuer(), Some(AS));
    // The refresh goes where the stored endpoint says, with the stored client.
    assert!(flow.refresh());
    let Some(Output::Send(request)) = flow.poll_output() else {
        panic!()
    };
    assert_eq!(request.purpose, Purpose::Refresh);
    assert_eq!(
        request.request.uri(),
        &format!("{AS}/token").parse::<Uri>().unwrap()
    );
    let form = decode_form(std::str::from_utf8(request.request.body()).unwrap());
    assert!(form.contains(&("client_id".into(), "test-client-id".into())));
    assert!(form.contains(&("refresh_token".into(), "refresh-1".into())));
}

#[test]
fn restore_refuses_unusable_tokens() {
    let mut flow = Flow::new(Config::new(REDIRECT)).unwrap();
    let mut creds: Credentials = serde_json::from_value(json!({
        "clients": {},
        "tokens": {"issuer": AS, "resource": "not a url", "token_endpoint": "https://as/token",
                   "client_id": "c", "auth_method": "none", "access_token": "t"}
    }))
    .unwrap();
    let now = Instant::now();
    assert!(matches!(
        flow.restore(creds.clone(), now, Duration::ZERO),
        Err(Error::Config(_))
    ));
    creds.tokens.as_mut().unwrap().resource = MCP.into();
    creds.tokens.as_mut().unwrap().access_token = "bad\ntoken".into();
    assert!(flow.restore(creds.clone(), now, Duration::ZERO).is_err());
    creds.tokens.as_mut().unwrap().access_token = "good".into();
    flow.restore(creds, now, Duration::ZERO).unwrap();
    assert_eq!(flow.token_status(now), TokenStatus::Valid);
}

// ---- the token and other origins ----

#[test]
fn the_token_is_never_offered_to_another_origin() {
    let h = authorized_with_refresh(3600, vec![]);
    assert_eq!(h.header_for(MCP).as_deref(), Some("Bearer test-token-1"));
    assert_eq!(
        h.header_for("http://LOCALHOST:3000/other?x=1").as_deref(),
        Some("Bearer test-token-1")
    );
    for other in [
        "http://localhost:3001/mcp",
        "https://localhost:3000/mcp",
        "http://127.0.0.1:3000/mcp",
        "http://localhost.evil.example:3000/mcp",
        "http://localhost:4000/token",
        "https://evil.example.com/mcp",
    ] {
        assert_eq!(h.header_for(other), None, "{other}");
    }
}

// ---- failures ----

#[test]
fn a_redirect_on_metadata_is_not_followed() {
    let mut h = Harness::conformance();
    h.get(
        PRM_PATH,
        Route::Raw(
            302,
            vec![("location", "https://elsewhere.example/prm".into())],
            vec![],
        ),
    );
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::Redirected {
            url: PRM_PATH.into(),
            status: 302,
            location: Some("https://elsewhere.example/prm".into()),
        })]
    );
    assert_eq!(h.requests(), [format!("GET {PRM_PATH}")]);

    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.get(
        &format!("{AS}/.well-known/oauth-authorization-server"),
        Route::Raw(307, vec![], vec![]),
    );
    assert!(matches!(
        h.challenge(401, Some(&www(PRM_PATH)))[..],
        [Outcome::Failed(Error::Redirected {
            status: 307,
            location: None,
            ..
        })]
    ));
}

#[test]
fn bodies_over_the_limit_fail_the_flow() {
    let mut h = Harness::new(Config::new(REDIRECT).max_body(1024));
    let padding = "x".repeat(2000);
    h.get(
        PRM_PATH,
        Route::Json(
            200,
            json!({"resource": MCP, "authorization_servers": [AS], "pad": padding}),
        ),
    );
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::BodyTooLarge {
            url: PRM_PATH.into(),
            limit: 1024,
        })]
    );
    // The default limit is 1 MiB: a token response of 2 MiB is refused.
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.tokens = vec![(
        200,
        json!({"access_token": "t", "pad": "y".repeat(2 << 20)}),
    )];
    h.server(&server);
    assert!(matches!(
        h.challenge(401, Some(&www(PRM_PATH)))[..],
        [Outcome::Failed(Error::BodyTooLarge {
            limit: 1_048_576,
            ..
        })]
    ));
    assert_eq!(h.header_for(MCP), None);
}

#[test]
fn resource_metadata_bodies_of_every_shape() {
    // Probed URLs that answer something other than metadata are skipped; a document whose
    // fields have the wrong types is not metadata; a BOM and extra fields are fine.
    let mut h = Harness::conformance();
    h.get(
        PRM_PATH,
        Route::Raw(
            200,
            vec![("content-type", "text/html".into())],
            b"<html>app</html>".to_vec(),
        ),
    );
    let mut doc = b"\xef\xbb\xbf".to_vec();
    doc.extend_from_slice(
        json!({"resource": RS, "authorization_servers": [AS, 5, null], "scopes_supported": "mcp:basic",
               "extra": {"nested": [1, 2]}})
        .to_string()
        .as_bytes(),
    );
    h.get(PRM_ROOT, Route::Raw(200, vec![], doc));
    h.server(&AuthServer::new(AS));
    assert_eq!(h.challenge(401, None), [Outcome::Authorized]);
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("scope"),
        None
    );
    assert_eq!(
        h.one("GET", &format!("{AS}/authorize")).field("resource"),
        Some(RS)
    );

    // When nothing usable is found, the last unusable body is the error.
    for body in [
        &b"[]"[..],
        b"{\"resource\": 7}",
        b"null",
        b"",
        b"{\"resource\":\"http://localhost:3000/mcp\"}",
    ] {
        let mut h = Harness::conformance();
        h.get(PRM_PATH, Route::Raw(200, vec![], body.to_vec()));
        h.get(PRM_ROOT, Route::Json(404, json!({})));
        assert!(
            matches!(
                h.challenge(401, None)[..],
                [Outcome::Failed(Error::InvalidMetadata {
                    what: Metadata::Resource,
                    ..
                })]
            ),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_5xx_on_metadata_fails_rather_than_guessing() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, Route::Json(503, json!({})));
    assert_eq!(
        h.challenge(401, None),
        [Outcome::Failed(Error::MetadataStatus {
            url: PRM_PATH.into(),
            status: 503,
        })]
    );
}

#[test]
fn an_authorization_server_without_s256_is_refused() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.s256 = false;
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::PkceUnsupported {
            issuer: AS.into()
        })]
    );
    assert!(!h.requested("POST", &format!("{AS}/register")));
    assert!(!h.requested("GET", &format!("{AS}/authorize")));
}

#[test]
fn plain_http_off_loopback_is_refused() {
    // The MCP server itself.
    let mut h = Harness::conformance();
    assert!(h.flow.handle_challenge(
        &"http://mcp.example.com/mcp".parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::Insecure {
            url: "http://mcp.example.com/mcp".into()
        })]
    );
    // The authorization server named by the metadata.
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &["http://as.example.com"], None));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::Insecure {
            url: "http://as.example.com".into()
        })]
    );
    // A metadata URL from the header.
    let mut h = Harness::conformance();
    assert_eq!(
        h.challenge(401, Some(&www("http://prm.example.com/x"))),
        [Outcome::Failed(Error::Insecure {
            url: "http://prm.example.com/x".into()
        })]
    );
    assert!(h.seen.is_empty());
    // An endpoint in the server's metadata.
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.get(
        &format!("{AS}/.well-known/oauth-authorization-server"),
        Route::Json(
            200,
            json!({"issuer": AS, "authorization_endpoint": format!("{AS}/authorize"),
                   "token_endpoint": "http://token.example.com/token",
                   "code_challenge_methods_supported": ["S256"]}),
        ),
    );
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::Insecure {
            url: "http://token.example.com/token".into()
        })]
    );
}

#[test]
fn allow_http_permits_plain_http_hosts() {
    let mut h = Harness::new(Config::new(REDIRECT).allow_http(true));
    h.get(
        "http://mcp.test/.well-known/oauth-protected-resource/mcp",
        prm("http://mcp.test/mcp", &["http://as.test"], None),
    );
    h.server(&AuthServer::new("http://as.test"));
    assert!(h.flow.handle_challenge(
        &"http://mcp.test/mcp".parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    assert_eq!(h.drive(), [Outcome::Authorized]);
}

#[test]
fn the_user_saying_no_is_a_typed_error() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    let state = run_to_authorize(&mut h);
    h.flow.handle_redirect(Ok(&format!(
        "{REDIRECT}?error=access_denied&error_description=The+user+said+no%1B&state={state}&iss={}",
        super::url::encode(AS)
    )));
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::AuthorizationDenied {
            error: "access_denied".into(),
            description: Some("The user said no\\x1b".into()),
        })]
    );
    assert!(!h.requested("POST", &format!("{AS}/token")));
}

/// Drives the flow up to its authorization request; the `state` sent.
fn run_to_authorize(h: &mut Harness) -> String {
    loop {
        match h
            .flow
            .poll_output()
            .expect("the flow stopped before authorizing")
        {
            Output::Send(r) => {
                let (status, _, body) = h.answer(r.request);
                let status = StatusCode::from_u16(status).unwrap();
                h.flow
                    .handle_response(h.now, r.id, status, &HeaderMap::new(), &body);
            }
            Output::Random(n) => h.flow.handle_random(&vec![9; n]),
            Output::Event(Event::Authorize { url, .. }) => {
                let q = decode_form(url.split_once('?').unwrap().1);
                return q.into_iter().find(|(k, _)| k == "state").unwrap().1;
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn redirects_that_do_not_answer_this_request_are_refused() {
    let setup = || {
        let mut h = Harness::conformance();
        h.get(PRM_PATH, prm(MCP, &[AS], None));
        let mut server = AuthServer::new(AS);
        server.iss_supported = None;
        h.server(&server);
        assert!(h.flow.handle_challenge(
            &MCP.parse().unwrap(),
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new()
        ));
        let state = run_to_authorize(&mut h);
        (h, state)
    };
    let (mut h, _) = setup();
    h.flow
        .handle_redirect(Ok(&format!("{REDIRECT}?code=c&state=forged")));
    assert_eq!(h.drive(), [Outcome::Failed(Error::StateMismatch)]);
    let (mut h, _) = setup();
    h.flow.handle_redirect(Ok(&format!("{REDIRECT}?code=c")));
    assert_eq!(h.drive(), [Outcome::Failed(Error::StateMismatch)]);
    let (mut h, state) = setup();
    h.flow.handle_redirect(Ok(&format!(
        "http://127.0.0.1:9999/callback?code=c&state={state}"
    )));
    assert!(matches!(
        h.drive()[..],
        [Outcome::Failed(Error::InvalidRedirect { .. })]
    ));
    let (mut h, state) = setup();
    h.flow
        .handle_redirect(Ok(&format!("{REDIRECT}?code=c&code=d&state={state}")));
    assert!(matches!(
        h.drive()[..],
        [Outcome::Failed(Error::InvalidRedirect { .. })]
    ));
    let (mut h, state) = setup();
    h.flow
        .handle_redirect(Ok(&format!("{REDIRECT}?state={state}")));
    assert!(matches!(
        h.drive()[..],
        [Outcome::Failed(Error::InvalidRedirect { .. })]
    ));
    let (mut h, _) = setup();
    h.flow
        .handle_redirect(Err("the browser could not be opened"));
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::UserStep {
            reason: "the browser could not be opened".into()
        })]
    );
    assert!(!h.requested("POST", &format!("{AS}/token")));
    let (mut h, state) = setup();
    assert!(h.flow.cancel());
    assert_eq!(h.drive(), [Outcome::Failed(Error::Cancelled)]);
    assert!(!h.flow.cancel());
    h.flow
        .handle_redirect(Ok(&format!("{REDIRECT}?code=c&state={state}")));
    assert!(h.flow.poll_output().is_none(), "a late redirect is ignored");
    assert!(!h.requested("POST", &format!("{AS}/token")));
}

#[test]
fn registration_and_token_errors_are_typed_and_sanitized() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let server = AuthServer::new(AS);
    h.server(&server);
    h.routes.insert(
        ("POST".into(), format!("{AS}/register")),
        Route::Json(
            400,
            json!({"error": "invalid_redirect_uri", "error_description": "no\u{1b}[31m loopback"}),
        ),
    );
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::RegistrationFailed {
            status: 400,
            error: Some("invalid_redirect_uri".into()),
            description: Some("no\\x1b[31m loopback".into()),
        })]
    );

    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.tokens = vec![(
        400,
        json!({"error": "invalid_grant", "error_description": "x".repeat(1000)}),
    )];
    h.server(&server);
    let outcome = h.challenge(401, Some(&www(PRM_PATH)));
    let [Outcome::Failed(Error::TokenRequest {
        status: 400,
        error: Some(error),
        description: Some(description),
    })] = &outcome[..]
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(error, "invalid_grant");
    assert_eq!(description.chars().count(), Error::EXCERPT + 1);
}

#[test]
fn no_client_identity_is_an_error() {
    let mut h = Harness::new(Config::new(REDIRECT).client_metadata_url(CIMD));
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.registration = false;
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::NoClientIdentity {
            issuer: AS.into()
        })]
    );
}

#[test]
fn an_unsupported_registered_auth_method_is_an_error() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.registered = json!({"client_id": "c", "token_endpoint_auth_method": "private_key_jwt"});
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::UnsupportedAuthMethod {
            method: "private_key_jwt".into()
        })]
    );
}

#[test]
fn a_non_bearer_token_is_refused() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.tokens = vec![(200, json!({"access_token": "t", "token_type": "DPoP"}))];
    h.server(&server);
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Failed(Error::UnsupportedTokenType {
            token_type: "DPoP".into()
        })]
    );
    assert_eq!(h.header_for(MCP), None);
}

#[test]
fn transport_failures_and_stray_inputs() {
    let mut h = Harness::conformance();
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    let Some(Output::Send(request)) = h.flow.poll_output() else {
        panic!()
    };
    // A challenge while busy joins the flow in progress.
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    assert!(h.flow.poll_output().is_none());
    // Answers to unknown ids, random bytes and redirects nobody asked for are ignored.
    h.flow.handle_response(
        h.now,
        RequestId(99),
        StatusCode::OK,
        &HeaderMap::new(),
        b"{}",
    );
    h.flow.handle_failure(
        RequestId(99),
        TransportError::new(TransportErrorKind::Reset, "x"),
    );
    h.flow.handle_random(&[0; 48]);
    h.flow.handle_redirect(Ok(REDIRECT));
    assert!(h.flow.poll_output().is_none());
    assert!(h.flow.is_busy());
    let error = TransportError::new(TransportErrorKind::Connect, "refused");
    h.flow.handle_failure(request.id, error.clone());
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::Transport {
            url: PRM_PATH.into(),
            error,
        })]
    );
    assert!(!h.flow.is_busy());
    // The answer that comes after the failure is ignored.
    h.flow
        .handle_response(h.now, request.id, StatusCode::OK, &HeaderMap::new(), b"{}");
    assert!(h.flow.poll_output().is_none());
}

#[test]
fn the_wrong_number_of_random_bytes_fails() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    loop {
        match h.flow.poll_output().unwrap() {
            Output::Send(r) => {
                let (status, _, body) = h.answer(r.request);
                let status = StatusCode::from_u16(status).unwrap();
                h.flow
                    .handle_response(h.now, r.id, status, &HeaderMap::new(), &body);
            }
            Output::Random(n) => {
                assert_eq!(n, 48);
                h.flow.handle_random(&[1; 10]);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        h.drive(),
        [Outcome::Failed(Error::Random {
            wanted: 48,
            got: 10
        })]
    );
}

#[test]
fn pkce_and_state_come_from_the_random_bytes() {
    let mut h = Harness::conformance();
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    assert_eq!(
        h.challenge(401, Some(&www(PRM_PATH))),
        [Outcome::Authorized]
    );
    // The harness hands bytes 0, 1, ..., 47.
    let bytes: Vec<u8> = (0..48).collect();
    let token = h.one("POST", &format!("{AS}/token"));
    assert_eq!(
        token.field("code_verifier"),
        Some(super::pkce::base64url(&bytes[..32]).as_str())
    );
    let authorize = h.one("GET", &format!("{AS}/authorize"));
    assert_eq!(
        authorize.field("state"),
        Some(super::pkce::base64url(&bytes[32..]).as_str())
    );
}

#[test]
fn configurations_that_cannot_work_are_refused() {
    for redirect in [
        "http://example.com/callback",
        "not a url",
        "myapp:/callback",
    ] {
        assert!(
            matches!(Flow::new(Config::new(redirect)), Err(Error::Config(_))),
            "{redirect}"
        );
    }
    assert!(Flow::new(Config::new("https://app.example.com/callback")).is_ok());
    assert!(Flow::new(Config::new("http://[::1]:3000/cb")).is_ok());
    for cimd in [
        "http://example.com/client.json",
        "https://example.com",
        "https://example.com/",
    ] {
        assert!(
            Flow::new(Config::new(REDIRECT).client_metadata_url(cimd)).is_err(),
            "{cimd}"
        );
    }
}

#[test]
fn a_web_redirect_registers_as_a_web_application() {
    let mut h = Harness::new(Config::new("https://app.example.com/callback"));
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    h.server(&AuthServer::new(AS));
    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        HeaderValue::from_str(&www(PRM_PATH)).unwrap(),
    );
    assert!(h
        .flow
        .handle_challenge(&MCP.parse().unwrap(), StatusCode::UNAUTHORIZED, &headers));
    // Drive until registration.
    while let Some(Output::Send(r)) = h.flow.poll_output() {
        let (status, _, body) = h.answer(r.request);
        let status = StatusCode::from_u16(status).unwrap();
        h.flow
            .handle_response(h.now, r.id, status, &HeaderMap::new(), &body);
    }
    assert_eq!(
        h.one("POST", &format!("{AS}/register")).json()["application_type"],
        "web"
    );
}

// ---- redaction ----

#[test]
fn debug_never_shows_tokens_secrets_codes_or_verifiers() {
    let config = Config::new(REDIRECT).pre_registered(
        PreRegistered::new("pre-registered-client")
            .secret("SECRET-PRE")
            .issuer(AS),
    );
    let mut debug = format!("{config:?}");
    let mut h = Harness::new(config);
    h.get(PRM_PATH, prm(MCP, &[AS], None));
    let mut server = AuthServer::new(AS);
    server.auth_methods = vec!["client_secret_post"];
    server.tokens = vec![(
        200,
        json!({"access_token": "ACCESS-TOKEN-1", "token_type": "Bearer", "refresh_token": "REFRESH-TOKEN-1"}),
    )];
    h.server(&server);
    assert!(h.flow.handle_challenge(
        &MCP.parse().unwrap(),
        StatusCode::UNAUTHORIZED,
        &HeaderMap::new()
    ));
    let mut verifier = String::new();
    let mut code = String::new();
    for _ in 0..50 {
        debug.push_str(&format!("{:?}", h.flow));
        let Some(output) = h.flow.poll_output() else {
            break;
        };
        debug.push_str(&format!("{output:?} {output:#?}"));
        match output {
            Output::Send(r) => {
                if let Some(v) = decode_form(std::str::from_utf8(r.request.body()).unwrap())
                    .into_iter()
                    .find(|(k, _)| k == "code_verifier")
                {
                    verifier = v.1;
                }
                let (status, _, body) = h.answer(r.request);
                let status = StatusCode::from_u16(status).unwrap();
                h.flow
                    .handle_response(h.now, r.id, status, &HeaderMap::new(), &body);
            }
            Output::Random(n) => h.flow.handle_random(&vec![3; n]),
            Output::Event(Event::Authorize { url, .. }) => {
                let redirect = h.browse(&url).unwrap();
                code = "test-auth-code".into();
                h.flow.handle_redirect(Ok(&redirect));
            }
            Output::Event(_) => {}
        }
    }
    debug.push_str(&format!("{:?}", h.flow));
    debug.push_str(&format!("{:?}", h.flow.credentials(h.now, Duration::ZERO)));
    let header = h.flow.authorization(&MCP.parse().unwrap()).unwrap();
    debug.push_str(&format!("{header:?}"));
    assert_eq!(header.to_str().unwrap(), "Bearer ACCESS-TOKEN-1");
    assert!(!verifier.is_empty() && !code.is_empty());
    for secret in [
        "SECRET-PRE",
        "ACCESS-TOKEN-1",
        "REFRESH-TOKEN-1",
        &verifier,
        &code,
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("pre-registered-client"));
}

// ---- any answers ----

mod any_answers {
    use super::*;
    use proptest::prelude::*;

    /// A body for a request to `url`: the right document for it (shape 0), or another shape.
    fn body(url: &str, shape: usize) -> Vec<u8> {
        let right = if url.contains("oauth-protected-resource") {
            json!({"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["a"]})
        } else if url.contains("/.well-known/") {
            json!({"issuer": AS, "authorization_endpoint": format!("{AS}/authorize"),
                   "token_endpoint": format!("{AS}/token"), "registration_endpoint": format!("{AS}/register"),
                   "code_challenge_methods_supported": ["S256"], "scopes_supported": ["offline_access"]})
        } else if url.ends_with("/register") {
            json!({"client_id": "c", "client_secret": "s"})
        } else {
            json!({"access_token": "t", "token_type": "Bearer", "expires_in": 1, "refresh_token": "r"})
        };
        match shape {
            0 => right.to_string().into_bytes(),
            1 => b"{}".to_vec(),
            2 => b"<html>".to_vec(),
            3 => json!({"error": "invalid_grant", "error_description": "\u{1b}x"})
                .to_string()
                .into_bytes(),
            4 => Vec::new(),
            _ => {
                json!({"resource": "https://evil.example/", "authorization_servers": ["https://as"],
                        "issuer": "https://as", "access_token": "a b"})
                .to_string()
                .into_bytes()
            }
        }
    }

    const STATUSES: [u16; 9] = [200, 201, 404, 400, 302, 500, 401, 204, 200];

    /// What the user step hands back.
    fn redirect(url: &str, kind: usize) -> Result<String, String> {
        let q = decode_form(url.split_once('?').map_or("", |(_, q)| q));
        let state = q
            .iter()
            .find(|(k, _)| k == "state")
            .map_or("", |(_, v)| v.as_str());
        let iss = super::super::url::encode(AS);
        match kind {
            0 => Ok(format!("{REDIRECT}?code=c&state={state}&iss={iss}")),
            1 => Ok(format!("{REDIRECT}?code=c&state={state}")),
            2 => Ok(format!(
                "{REDIRECT}?error=access_denied&state={state}&iss={iss}"
            )),
            3 => Ok(format!("{REDIRECT}?code=c&state=x")),
            4 => Ok("not a url".into()),
            _ => Err("closed".into()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_challenge_ends_exactly_once(
            challenges in proptest::collection::vec((0usize..4, any::<bool>()), 1..4),
            answers in proptest::collection::vec((0usize..STATUSES.len(), 0usize..6), 0..60),
            redirects in proptest::collection::vec(0usize..6, 0..6),
            short_random in any::<bool>(),
            refresh_between in any::<bool>(),
        ) {
            let mut flow = Flow::new(Config::new(REDIRECT).client_metadata_url(CIMD)).unwrap();
            let mut answers = answers.into_iter();
            let mut redirects = redirects.into_iter();
            let now = Instant::now();
            let mcp: Uri = MCP.parse().unwrap();
            for (which, forbidden) in challenges {
                let www = [
                    None,
                    Some(www(PRM_PATH)),
                    Some(r#"Bearer scope="a b", resource_metadata="http://localhost:3000/x""#.to_owned()),
                    Some(r#"Bearer error="insufficient_scope", scope="w""#.to_owned()),
                ][which].clone();
                let mut headers = HeaderMap::new();
                if let Some(w) = &www {
                    headers.insert("www-authenticate", HeaderValue::from_str(w).unwrap());
                }
                let status = if forbidden { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
                let started = refresh_between && flow.refresh();
                let taken = flow.handle_challenge(&mcp, status, &headers);
                prop_assert_eq!(taken, !forbidden || which == 3);
                let mut ends = 0;
                for _ in 0..300 {
                    let Some(output) = flow.poll_output() else { break };
                    match output {
                        Output::Send(r) => {
                            let url = r.request.uri().to_string();
                            let (s, b) = answers.next().unwrap_or((0, 0));
                            let mut h = HeaderMap::new();
                            h.insert("location", HeaderValue::from_static("https://x/"));
                            flow.handle_response(
                                now,
                                r.id,
                                StatusCode::from_u16(STATUSES[s]).unwrap(),
                                &h,
                                &body(&url, b),
                            );
                        }
                        Output::Random(n) => {
                            let n = if short_random { n - 1 } else { n };
                            flow.handle_random(&vec![5; n]);
                        }
                        Output::Event(Event::Authorize { url, .. }) => {
                            let r = redirect(&url, redirects.next().unwrap_or(0));
                            flow.handle_redirect(r.as_deref().map_err(String::as_str));
                        }
                        Output::Event(Event::Authorized | Event::Failed(_)) => ends += 1,
                    }
                }
                prop_assert!(!flow.is_busy(), "the flow did not settle");
                // One end per run: the refresh's and the challenge's (when it was not joined).
                let runs = usize::from(taken && !started) + usize::from(started);
                prop_assert_eq!(ends, runs);
                if flow.authorization(&mcp).is_some() {
                    prop_assert!(flow.authorization(&"https://evil.example/".parse().unwrap()).is_none());
                }
            }
        }
    }
}
