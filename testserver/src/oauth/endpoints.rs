//! The endpoints: protected resource metadata, authorization server metadata, registration,
//! authorization and token.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::header::HeaderMap;
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::Client;
use super::{
    form, jose, Access, ClientAuth, Code, OAuth, Redirect, Refresh, RefreshTokens, CODE_LIFETIME,
};
use crate::handler::{empty, full, with_header, Reply, JSON, TEXT};
use crate::{Shared, Stats};

/// The answer of an OAuth endpoint to this request, or `None` if the path is none of them.
pub(crate) fn serve(
    shared: &Shared,
    listener: SocketAddr,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Reply> {
    let mut state = shared.lock();
    let state = &mut *state;
    let (oauth, stats) = (state.oauth.as_mut()?, &mut state.stats);
    if listener == oauth.mcp_addr && path == "/.well-known/oauth-protected-resource/mcp" {
        return Some(only(method, Method::GET, || json_reply(&prm(oauth))));
    }
    let (n, endpoint) = oauth
        .servers
        .iter()
        .enumerate()
        .filter(|(_, server)| server.addr == listener)
        .find_map(|(n, server)| {
            let metadata = "/.well-known/oauth-authorization-server";
            if path.strip_prefix(metadata) == Some(server.path.as_str()) {
                return Some((n, "metadata"));
            }
            match path.strip_prefix(server.path.as_str())? {
                "/authorize" => Some((n, "authorize")),
                "/token" => Some((n, "token")),
                "/register" if oauth.config.registration => Some((n, "register")),
                _ => None,
            }
        })?;
    let issuer = oauth.servers[n].issuer.clone();
    Some(match endpoint {
        "metadata" => only(method, Method::GET, || {
            json_reply(&metadata(oauth, &issuer))
        }),
        "authorize" => only(method, Method::GET, || {
            authorize(oauth, stats, n, &issuer, query)
        }),
        "token" => only(method, Method::POST, || {
            token(oauth, stats, n, &issuer, headers, body)
        }),
        _ => only(method, Method::POST, || register(oauth, stats, n, body)),
    })
}

/// `answer()` if the request's method is `allowed`, else 405.
fn only(method: &Method, allowed: Method, answer: impl FnOnce() -> Reply) -> Reply {
    if *method == allowed {
        return answer();
    }
    let reply = empty(StatusCode::METHOD_NOT_ALLOWED);
    with_header(reply, "allow", allowed.as_str())
}

fn json_reply(value: &Value) -> Reply {
    full(StatusCode::OK, JSON, value.to_string())
}

/// The protected resource metadata (RFC 9728 §2).
fn prm(oauth: &OAuth) -> Value {
    let servers: Vec<&str> = oauth
        .config
        .listed
        .iter()
        .filter_map(|n| oauth.servers.get(*n))
        .map(|server| server.issuer.as_str())
        .collect();
    let mut prm = json!({
        "resource": oauth.resource,
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
    });
    if !oauth.config.scopes.is_empty() {
        prm["scopes_supported"] = json!(oauth.config.scopes);
    }
    prm
}

/// The scopes an authorization server lists and grants (empty: any).
fn as_scopes(oauth: &OAuth) -> Vec<String> {
    let mut scopes = oauth.config.scopes.clone();
    if oauth.config.offline_access && !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    scopes
}

/// The authorization server metadata (RFC 8414 §2).
fn metadata(oauth: &OAuth, issuer: &str) -> Value {
    let methods: Vec<&str> = oauth
        .config
        .auth_methods
        .iter()
        .map(|m| m.as_str())
        .collect();
    let mut metadata = json!({
        "issuer": oauth.config.metadata_issuer.as_deref().unwrap_or(issuer),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
    });
    if oauth.config.registration {
        metadata["registration_endpoint"] = json!(format!("{issuer}/register"));
    }
    if oauth.config.advertise_iss {
        metadata["authorization_response_iss_parameter_supported"] = json!(true);
    }
    if oauth.config.dpop {
        metadata["dpop_signing_alg_values_supported"] = json!(["ES256"]);
    }
    let scopes = as_scopes(oauth);
    if !scopes.is_empty() {
        metadata["scopes_supported"] = json!(scopes);
    }
    metadata
}

/// An OAuth error body (RFC 6749 §5.2, RFC 7591 §3.2.2).
fn error(status: StatusCode, error: &str, description: &str) -> Reply {
    let body = json!({"error": error, "error_description": description});
    no_store(full(status, JSON, body.to_string()))
}

fn no_store(reply: Reply) -> Reply {
    with_header(
        with_header(reply, "cache-control", "no-store"),
        "pragma",
        "no-cache",
    )
}

/// Dynamic client registration (RFC 7591 §3).
fn register(oauth: &mut OAuth, stats: &mut Stats, n: usize, body: &[u8]) -> Reply {
    stats.registrations += 1;
    let bad = |description: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            description,
        )
    };
    let Ok(Value::Object(mut meta)) = serde_json::from_slice::<Value>(body) else {
        return bad("The body is not a JSON object");
    };
    let uris: Option<Vec<String>> = meta
        .get("redirect_uris")
        .and_then(Value::as_array)
        .and_then(|uris| {
            uris.iter()
                .map(|uri| uri.as_str().map(str::to_owned))
                .collect()
        });
    let Some(uris) = uris.filter(|uris| !uris.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uris must be a list of URIs",
        );
    };
    let acceptable = |uri: &String| {
        uri.contains(':') && !uri.contains('#') && uri.bytes().all(|b| (0x21..=0x7e).contains(&b))
    };
    if !uris.iter().all(acceptable) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "A redirect URI must be absolute, in visible ASCII, without a fragment",
        );
    }
    let method = match meta.get("token_endpoint_auth_method") {
        None => Some(ClientAuth::ClientSecretBasic),
        Some(value) => value.as_str().and_then(ClientAuth::parse),
    };
    let Some(method) = method.filter(|m| oauth.config.auth_methods.contains(m)) else {
        return bad("Unsupported token_endpoint_auth_method");
    };
    let strings = |name: &str, default: &str| -> Option<Vec<String>> {
        match meta.get(name) {
            None => Some(vec![default.to_owned()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Some(_) => None,
        }
    };
    let grant_types = strings("grant_types", "authorization_code");
    let Some(grant_types) = grant_types.filter(|grants| {
        grants
            .iter()
            .all(|g| g == "authorization_code" || g == "refresh_token")
    }) else {
        return bad("Unsupported grant_types");
    };
    let response_types = strings("response_types", "code");
    if response_types.is_none_or(|types| types.iter().any(|t| t != "code")) {
        return bad("Unsupported response_types");
    }
    let application_type = meta.get("application_type").and_then(Value::as_str);
    if oauth.config.require_application_type && !matches!(application_type, Some("native" | "web"))
    {
        return bad("application_type must be native or web");
    }
    let number = oauth.fresh();
    let client_id = format!(
        "{}-client-{number}",
        oauth.servers[n].path.trim_start_matches('/')
    );
    let secret = (method != ClientAuth::None).then(|| format!("secret-{number}"));
    let issued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    meta.insert("client_id".into(), json!(client_id));
    meta.insert("client_id_issued_at".into(), json!(issued_at));
    meta.insert("token_endpoint_auth_method".into(), json!(method.as_str()));
    meta.insert("grant_types".into(), json!(grant_types));
    if let Some(secret) = &secret {
        meta.insert("client_secret".into(), json!(secret));
        meta.insert("client_secret_expires_at".into(), json!(0));
    }
    let refresh = grant_types.iter().any(|g| g == "refresh_token");
    oauth.clients.insert(
        client_id,
        Client {
            server: n,
            secret,
            auth: method,
            redirect_uris: uris,
            refresh,
            jwk: None,
        },
    );
    no_store(full(
        StatusCode::CREATED,
        JSON,
        Value::Object(meta).to_string(),
    ))
}

/// The parameters of a query or form; `Err` with the name of one given twice (RFC 6749
/// §3.1, §3.2).
fn params(text: &str) -> Result<Map<String, Value>, String> {
    let mut params = Map::new();
    for (name, value) in form::decode(text) {
        if params.insert(name.clone(), Value::String(value)).is_some() {
            return Err(name);
        }
    }
    Ok(params)
}

fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// Whether `text` is base64url (or PKCE's unreserved set, with `.` and `~`) of this length
/// range.
fn pkce_text(text: &str, min: usize, max: usize, extra: &[u8]) -> bool {
    (min..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || extra.contains(&b))
}

/// The authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2, RFC 9207).
fn authorize(oauth: &mut OAuth, stats: &mut Stats, n: usize, issuer: &str, query: &str) -> Reply {
    stats.authorizations += 1;
    let page = |text: String| full(StatusCode::BAD_REQUEST, TEXT, text);
    let q = match params(query) {
        Ok(q) => q,
        Err(name) => return page(format!("invalid_request: {name} given twice")),
    };
    let Some(client_id) = param(&q, "client_id") else {
        return page("invalid_request: no client_id".into());
    };
    let Some(client) = oauth.clients.get(client_id).filter(|c| c.server == n) else {
        return page(format!(
            "invalid_client: {client_id} is not registered here"
        ));
    };
    let Some(redirect_uri) = param(&q, "redirect_uri") else {
        return page("invalid_request: no redirect_uri".into());
    };
    if !client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return page(format!(
            "invalid_request: {redirect_uri} is not a registered redirect URI"
        ));
    }
    let state = param(&q, "state");
    let iss = match &oauth.config.redirect {
        Redirect::WrongIss(wrong) => Some(wrong.clone()),
        Redirect::NoIss => None,
        Redirect::Code | Redirect::Deny => Some(issuer.to_owned()),
    };
    let redirect = |params: &[(&str, &str)]| {
        let mut params = params.to_vec();
        params.extend(state.map(|state| ("state", state)));
        params.extend(iss.as_deref().map(|iss| ("iss", iss)));
        let location = form::with_query(redirect_uri, &params);
        with_header(empty(StatusCode::FOUND), "location", &location)
    };
    let refuse = |error: &str, description: &str| {
        redirect(&[("error", error), ("error_description", description)])
    };
    if param(&q, "response_type") != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    let Some(challenge) = param(&q, "code_challenge") else {
        return refuse("invalid_request", "code_challenge is required");
    };
    if param(&q, "code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce_text(challenge, 43, 43, b"") {
        return refuse(
            "invalid_request",
            "code_challenge must be 43 base64url characters",
        );
    }
    if state.is_none() {
        return refuse("invalid_request", "state is required");
    }
    let resource = param(&q, "resource");
    if let Some(refusal) = check_resource(oauth, resource) {
        return refuse("invalid_target", refusal);
    }
    let scopes = super::split_scope(param(&q, "scope").unwrap_or_default());
    let supported = as_scopes(oauth);
    if !supported.is_empty() && scopes.iter().any(|s| !supported.contains(s)) {
        return refuse("invalid_scope", "A scope asked for is not supported");
    }
    if oauth.config.redirect == Redirect::Deny {
        return refuse("access_denied", "The user denied the request");
    }
    let code = format!("code-{}", oauth.fresh());
    let (client_id, redirect_uri) = (client_id.to_owned(), redirect_uri.to_owned());
    let reply = redirect(&[("code", code.as_str())]);
    oauth.codes.insert(
        code,
        Code {
            server: n,
            client_id,
            redirect_uri,
            challenge: challenge.to_owned(),
            resource: resource.map(str::to_owned),
            scopes,
            expires: Instant::now() + CODE_LIFETIME,
        },
    );
    reply
}

/// Why `resource` is not acceptable, if it is not.
fn check_resource(oauth: &OAuth, resource: Option<&str>) -> Option<&'static str> {
    match resource {
        None if oauth.config.resource_optional => None,
        None => Some("resource is required"),
        Some(resource) if resource != oauth.resource => {
            Some("resource is not the protected resource's")
        }
        Some(_) => None,
    }
}

/// The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6, RFC 7636 §4.6, RFC 7523 §2.1, RFC
/// 9449 §5).
fn token(
    oauth: &mut OAuth,
    stats: &mut Stats,
    n: usize,
    issuer: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let bad = |code: &str, description: &str| error(StatusCode::BAD_REQUEST, code, description);
    let form = params(&String::from_utf8_lossy(body));
    let grant = form
        .as_ref()
        .ok()
        .and_then(|f| param(f, "grant_type"))
        .map(str::to_owned);
    let counter = &mut stats.token_requests;
    match grant.as_deref() {
        Some("authorization_code") => counter.authorization_code += 1,
        Some("refresh_token") => counter.refresh_token += 1,
        _ => counter.other += 1,
    }
    let form = match form {
        Ok(form) => form,
        Err(name) => return bad("invalid_request", &format!("{name} given twice")),
    };
    // DPoP: a proof of the token request, with the nonce asked for.
    let jkt = if oauth.config.dpop {
        let htu = format!("{issuer}/token");
        let proof = headers
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .ok_or("no DPoP proof")
            .and_then(|p| jose::check_proof(p, "POST", &htu, None));
        let proof = match proof {
            Ok(p) => p,
            Err(why) => return bad("invalid_dpop_proof", why),
        };
        if !oauth.fresh_jti(&proof.jti) {
            return bad("invalid_dpop_proof", "the proof's jti was used before");
        }
        if let Some(nonce) = oauth
            .config
            .as_nonce
            .clone()
            .filter(|n| proof.nonce.as_ref() != Some(n))
        {
            let reply = bad("use_dpop_nonce", "The authorization server wants a nonce");
            return with_header(reply, "dpop-nonce", &nonce);
        }
        Some(proof.jkt)
    } else {
        None
    };
    let jwt_bearer = grant.as_deref() == Some("urn:ietf:params:oauth:grant-type:jwt-bearer");
    if jwt_bearer
        && headers.get("authorization").is_none()
        && param(&form, "client_secret").is_none()
    {
        // Workload identity: the assertion is the client's identity.
        let Some(key) = oauth.config.workload_key.clone() else {
            return bad("unsupported_grant_type", "No workload key is trusted here");
        };
        let Some(assertion) = param(&form, "assertion") else {
            return bad("invalid_request", "assertion is required");
        };
        let checked = jose::verify(assertion, &key)
            .and_then(|(_, claims)| jose::check_assertion(&claims, issuer));
        if let Err(why) = checked {
            return bad("invalid_grant", why);
        }
        let scopes = param(&form, "scope")
            .map(super::split_scope)
            .unwrap_or_default();
        return issue(oauth, n, String::new(), scopes, false, jkt);
    }
    let client_id = match authenticate(oauth, n, issuer, headers, &form) {
        Ok(client_id) => client_id,
        Err(description) => {
            let reply = error(StatusCode::UNAUTHORIZED, "invalid_client", description);
            return with_header(
                reply,
                "www-authenticate",
                "Basic realm=\"mcpwire-testserver\"",
            );
        }
    };
    let refresh_allowed = oauth.clients.get(&client_id).is_some_and(|c| c.refresh);
    let scopes = match grant.as_deref() {
        None => return bad("invalid_request", "grant_type is required"),
        Some("authorization_code") => {
            let Some(code) = param(&form, "code") else {
                return bad("invalid_request", "code is required");
            };
            // A code is good for one request, whatever its outcome.
            let Some(code) = oauth.codes.remove(code) else {
                return bad("invalid_grant", "Unknown or used authorization code");
            };
            if code.server != n || code.client_id != client_id {
                return bad("invalid_grant", "The code was issued to another client");
            }
            if code.expires <= Instant::now() {
                return bad("invalid_grant", "The code expired");
            }
            if param(&form, "redirect_uri") != Some(code.redirect_uri.as_str()) {
                return bad(
                    "invalid_grant",
                    "redirect_uri is not the authorization request's",
                );
            }
            let Some(verifier) = param(&form, "code_verifier") else {
                return bad("invalid_request", "code_verifier is required");
            };
            if !pkce_text(verifier, 43, 128, b".~") {
                return bad(
                    "invalid_request",
                    "code_verifier must be 43 to 128 unreserved characters",
                );
            }
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != code.challenge {
                return bad(
                    "invalid_grant",
                    "code_verifier does not match the code_challenge",
                );
            }
            let resource = param(&form, "resource");
            if let Some(refusal) = check_resource(oauth, resource) {
                return bad("invalid_target", refusal);
            }
            if resource.is_some() && code.resource.is_some() && resource != code.resource.as_deref()
            {
                return bad(
                    "invalid_target",
                    "resource is not the authorization request's",
                );
            }
            code.scopes
        }
        Some("refresh_token") => {
            if !refresh_allowed {
                return bad(
                    "unauthorized_client",
                    "The client is not registered for refresh_token",
                );
            }
            let Some(token) = param(&form, "refresh_token") else {
                return bad("invalid_request", "refresh_token is required");
            };
            let fits = |r: &Refresh| r.server == n && r.client_id == client_id;
            if !oauth.refresh.get(token).is_some_and(fits) {
                return bad("invalid_grant", "Unknown, used or revoked refresh token");
            }
            let granted = oauth
                .refresh
                .get(token)
                .expect("checked above")
                .scopes
                .clone();
            let scopes = match param(&form, "scope") {
                None => granted,
                Some(asked) => {
                    let asked = super::split_scope(asked);
                    if asked.iter().any(|s| !granted.contains(s)) {
                        return bad("invalid_scope", "scope is beyond the granted one");
                    }
                    asked
                }
            };
            if param(&form, "resource").is_some_and(|r| r != oauth.resource) {
                return bad("invalid_target", "resource is not the protected resource's");
            }
            oauth.refresh.remove(token); // rotated
            stats.refreshes += 1;
            scopes
        }
        Some("client_credentials") => {
            let scopes = param(&form, "scope")
                .map(super::split_scope)
                .unwrap_or_default();
            if param(&form, "resource").is_some_and(|r| r != oauth.resource) {
                return bad("invalid_target", "resource is not the protected resource's");
            }
            return issue(oauth, n, client_id, scopes, false, jkt);
        }
        Some(_) => {
            return bad(
                "unsupported_grant_type",
                "Only authorization_code and refresh_token",
            )
        }
    };
    issue(oauth, n, client_id, scopes, refresh_allowed, jkt)
}

/// The client that authenticates this token request by its registered method (RFC 6749
/// §2.3), or why not.
fn authenticate(
    oauth: &OAuth,
    n: usize,
    issuer: &str,
    headers: &HeaderMap,
    form: &Map<String, Value>,
) -> Result<String, &'static str> {
    if let Some(assertion) = param(form, "client_assertion") {
        // private_key_jwt (RFC 7523 §2.2, §3): the assertion names the client, for us.
        if param(form, "client_assertion_type")
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err("client_assertion_type is not jwt-bearer");
        }
        if headers.get("authorization").is_some() || param(form, "client_secret").is_some() {
            return Err("More than one client authentication method");
        }
        let claims = assertion
            .split('.')
            .nth(1)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
            .ok_or("The client assertion is not a JWT")?;
        let id = claims["iss"]
            .as_str()
            .ok_or("The client assertion has no iss")?;
        let client = oauth
            .clients
            .get(id)
            .filter(|c| c.server == n)
            .ok_or("Unknown client")?;
        if client.auth != ClientAuth::PrivateKeyJwt {
            return Err("Not the client's registered authentication method");
        }
        let jwk = client.jwk.as_ref().ok_or("The client has no key")?;
        let (_, claims) = jose::verify(assertion, jwk)?;
        if claims.get("sub").and_then(Value::as_str) != Some(id) {
            return Err("The client assertion's sub is not its iss");
        }
        if param(form, "client_id").is_some_and(|c| c != id) {
            return Err("client_id is not the assertion's");
        }
        jose::check_assertion(&claims, issuer)?;
        return Ok(id.to_owned());
    }
    let basic = match headers.get("authorization") {
        None => None,
        Some(value) => Some(basic_credentials(value.as_bytes()).ok_or("Bad Authorization header")?),
    };
    let (body_id, body_secret) = (param(form, "client_id"), param(form, "client_secret"));
    let (client_id, secret, used) = match &basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err("More than one client authentication method");
            }
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err("client_id is not the one of the Authorization header");
            }
            (
                id.as_str(),
                Some(secret.as_str()),
                ClientAuth::ClientSecretBasic,
            )
        }
        None => {
            let id = body_id.ok_or("No client authentication")?;
            let used = match body_secret {
                Some(_) => ClientAuth::ClientSecretPost,
                None => ClientAuth::None,
            };
            (id, body_secret, used)
        }
    };
    let client = oauth
        .clients
        .get(client_id)
        .filter(|c| c.server == n)
        .ok_or("Unknown client")?;
    if client.auth != used {
        return Err("Not the client's registered authentication method");
    }
    if secret != client.secret.as_deref() {
        return Err("Wrong client secret");
    }
    Ok(client_id.to_owned())
}

/// The id and secret of `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |text: &str| form::decode(&format!("x={text}")).remove(0).1;
    Some((unescape(id), unescape(secret)))
}

/// A token response (RFC 6749 §5.1): a new access token, maybe a refresh token.
fn issue(
    oauth: &mut OAuth,
    n: usize,
    client_id: String,
    scopes: Vec<String>,
    refresh_allowed: bool,
    jkt: Option<String>,
) -> Reply {
    let lifetime = oauth.config.lifetime;
    let access_token = format!("at-{}", oauth.fresh());
    oauth.access.insert(
        access_token.clone(),
        Access {
            server: n,
            scopes: scopes.clone(),
            expires: Instant::now() + lifetime,
            jkt: jkt.clone(),
        },
    );
    let expires_in = lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
    let mut answer = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": expires_in,
    });
    let offline = scopes.iter().any(|s| s == "offline_access");
    let refresh = refresh_allowed
        && match oauth.config.refresh {
            RefreshTokens::Always => true,
            RefreshTokens::WithOfflineAccess => offline,
            RefreshTokens::Never => false,
        };
    if refresh {
        let refresh_token = format!("rt-{}", oauth.fresh());
        answer["refresh_token"] = json!(refresh_token);
        oauth.refresh.insert(
            refresh_token,
            Refresh {
                server: n,
                client_id,
                scopes: scopes.clone(),
            },
        );
    }
    if !scopes.is_empty() {
        answer["scope"] = json!(scopes.join(" "));
    }
    no_store(json_reply(&answer))
}
