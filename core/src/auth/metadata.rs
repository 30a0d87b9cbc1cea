//! The metadata documents: protected resource metadata (RFC 9728 §2) and authorization
//! server metadata (RFC 8414 §2, OpenID Connect Discovery §3), read leniently (a field of the
//! wrong type is as good as absent) and validated strictly where the specification says so:
//! the `issuer` identical to the one the URL was built from, every endpoint `https` or
//! loopback.

use serde_json::{Map, Value};

use super::url::Url;

/// The most authorization servers or scopes kept from one list.
const MAX_LIST: usize = 64;
/// The longest scope token kept.
const MAX_SCOPE: usize = 256;

/// A protected resource metadata document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceMetadata {
    /// `resource`, exactly as published: it is sent back byte for byte.
    pub resource: String,
    /// `resource`, parsed.
    pub resource_url: Url,
    /// `authorization_servers`: issuer identifiers, at least one.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`, if given.
    pub scopes_supported: Option<Vec<String>>,
}

/// The body of a JSON document as an object: a UTF-8 byte order mark is allowed.
fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

/// The strings of a JSON array (other elements skipped), at most [`MAX_LIST`]; `None` when
/// the field is absent or not an array.
fn strings(map: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let list = map.get(key)?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .take(MAX_LIST)
            .map(str::to_owned)
            .collect(),
    )
}

/// Whether `s` is an RFC 6749 §3.3 scope token.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SCOPE
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The scope tokens of a space-separated `scope` value, invalid ones skipped.
pub(crate) fn scope_tokens(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| is_scope_token(s))
        .take(MAX_LIST)
        .map(str::to_owned)
        .collect()
}

/// `scopes_supported`, invalid tokens skipped.
fn scopes(map: &Map<String, Value>) -> Option<Vec<String>> {
    strings(map, "scopes_supported").map(|s| s.into_iter().filter(|s| is_scope_token(s)).collect())
}

/// Reads a protected resource metadata document.
pub(crate) fn resource_metadata(body: &[u8]) -> Result<ResourceMetadata, String> {
    let map = object(body)?;
    let resource = map
        .get("resource")
        .and_then(Value::as_str)
        .ok_or("no resource")?
        .to_owned();
    let resource_url = Url::parse(&resource).map_err(|e| format!("resource {e}"))?;
    let authorization_servers = strings(&map, "authorization_servers").unwrap_or_default();
    if authorization_servers.is_empty() {
        return Err("no authorization_servers".into());
    }
    Ok(ResourceMetadata {
        resource,
        resource_url,
        authorization_servers,
        scopes_supported: scopes(&map),
    })
}

/// An authorization server, from its validated metadata (or, for a 2025-03-26 server that
/// publishes none, from the default endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerMetadata {
    /// The issuer identifier, as the URL was built from it (and as the document says).
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub registration_endpoint: Option<Url>,
    pub scopes_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`, if given.
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    pub iss_parameter_supported: bool,
    /// `client_id_metadata_document_supported`.
    pub client_id_metadata_document_supported: bool,
}

impl ServerMetadata {
    /// The endpoints a 2025-03-26 server without metadata has (2025-03-26 "Fallbacks for
    /// Servers without Metadata Discovery"): `/authorize`, `/token`, `/register` at its origin.
    pub(crate) fn fallback(origin: &str) -> Result<ServerMetadata, &'static str> {
        Ok(ServerMetadata {
            issuer: origin.to_owned(),
            authorization_endpoint: Url::parse(&format!("{origin}/authorize"))?,
            token_endpoint: Url::parse(&format!("{origin}/token"))?,
            registration_endpoint: Some(Url::parse(&format!("{origin}/register"))?),
            scopes_supported: None,
            token_endpoint_auth_methods: None,
            iss_parameter_supported: false,
            client_id_metadata_document_supported: false,
        })
    }
}

/// Why an authorization server metadata document is not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerMetadataError {
    /// Not a JSON object: perhaps not metadata at all (the next URL may be tried).
    Unusable(String),
    /// Its `issuer` is not the expected one (the next URL may be tried).
    IssuerMismatch(String),
    /// The right issuer, but a required field is missing or wrong.
    Invalid(String),
    /// No `S256` in `code_challenge_methods_supported`.
    NoS256,
    /// An endpoint is neither `https` nor loopback.
    Insecure(String),
}

/// Reads an authorization server metadata document fetched with the URL built from
/// `expected_issuer`, for the authorization code grant.
#[cfg(test)]
pub(crate) fn server_metadata(
    body: &[u8],
    expected_issuer: &str,
    allow_http: bool,
) -> Result<ServerMetadata, ServerMetadataError> {
    server_metadata_checked(body, IssuerCheck::Exact(expected_issuer), allow_http, true)
}

/// How a metadata document's `issuer` is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IssuerCheck<'a> {
    /// It must be this issuer identifier, exactly: the one the metadata URL was built from
    /// (RFC 8414 §3.3).
    Exact(&'a str),
    /// The 2025-03-26 fallback: the document was found at the MCP server's own origin, not
    /// from an issuer identifier, so there is nothing to compare with; its `issuer` must only
    /// be on that origin (this origin, or a path under it).
    SameOrigin(&'a str),
}

/// [`server_metadata`], with the issuer checked as `check` says; the metadata's issuer is the
/// document's own. `needs_pkce`: the authorization code grant is used, so the server must
/// support S256 (the client credentials grant has no code to protect).
pub(crate) fn server_metadata_checked(
    body: &[u8],
    check: IssuerCheck<'_>,
    allow_http: bool,
    needs_pkce: bool,
) -> Result<ServerMetadata, ServerMetadataError> {
    use ServerMetadataError as E;
    let map = object(body).map_err(E::Unusable)?;
    let issuer = map.get("issuer").and_then(Value::as_str);
    let expected_issuer = match (issuer, check) {
        (Some(i), IssuerCheck::Exact(expected)) if i == expected => expected,
        (Some(i), IssuerCheck::SameOrigin(origin))
            if i == origin || i.strip_prefix(origin).is_some_and(|p| p.starts_with('/')) =>
        {
            i
        }
        (Some(i), _) => return Err(E::IssuerMismatch(i.to_owned())),
        (None, _) => return Err(E::IssuerMismatch(String::new())),
    };
    let endpoint = |key: &str, required: bool| -> Result<Option<Url>, ServerMetadataError> {
        let Some(value) = map.get(key).and_then(Value::as_str) else {
            return if required {
                Err(E::Invalid(format!("no {key}")))
            } else {
                Ok(None)
            };
        };
        let url = Url::parse(value).map_err(|e| E::Invalid(format!("{key} {e}")))?;
        if !url.is_secure(allow_http) {
            return Err(E::Insecure(value.to_owned()));
        }
        Ok(Some(url))
    };
    let required = |key: &str| endpoint(key, true)?.ok_or_else(|| E::Invalid(format!("no {key}")));
    let authorization_endpoint = required("authorization_endpoint")?;
    let token_endpoint = required("token_endpoint")?;
    let registration_endpoint = endpoint("registration_endpoint", false)?;
    // Security considerations, "Authorization Code Protection": an absent
    // `code_challenge_methods_supported` means no PKCE, for OAuth and OIDC documents alike.
    let s256 = strings(&map, "code_challenge_methods_supported")
        .is_some_and(|m| m.iter().any(|m| m == "S256"));
    if needs_pkce && !s256 {
        return Err(E::NoS256);
    }
    let flag = |key: &str| map.get(key).and_then(Value::as_bool).unwrap_or(false);
    Ok(ServerMetadata {
        issuer: expected_issuer.to_owned(),
        authorization_endpoint,
        token_endpoint,
        registration_endpoint,
        scopes_supported: scopes(&map),
        token_endpoint_auth_methods: strings(&map, "token_endpoint_auth_methods_supported"),
        iss_parameter_supported: flag("authorization_response_iss_parameter_supported"),
        client_id_metadata_document_supported: flag("client_id_metadata_document_supported"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_metadata_keeps_resource_verbatim() {
        let m = resource_metadata(
            br#"{"resource":"http://localhost:3000","authorization_servers":["http://localhost:4000",7],
                "scopes_supported":["a","b c","",5]}"#,
        )
        .unwrap();
        assert_eq!(m.resource, "http://localhost:3000");
        assert_eq!(m.authorization_servers, ["http://localhost:4000"]);
        assert_eq!(m.scopes_supported.unwrap(), ["a"]);
    }

    #[test]
    fn resource_metadata_needs_resource_and_servers() {
        for bad in [
            &br#"{"authorization_servers":["https://a"]}"#[..],
            br#"{"resource":"https://r","authorization_servers":[]}"#,
            br#"{"resource":"https://r"}"#,
            br#"{"resource":"r","authorization_servers":["https://a"]}"#,
            br#"["resource"]"#,
            b"<html>",
        ] {
            assert!(
                resource_metadata(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(resource_metadata(
            b"\xef\xbb\xbf{\"resource\":\"https://r\",\"authorization_servers\":[\"https://a\"]}"
        )
        .is_ok());
    }

    fn doc(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"issuer":"https://as.example/t","authorization_endpoint":"https://as.example/authorize",
                "token_endpoint":"https://as.example/token","code_challenge_methods_supported":["plain","S256"]{extra}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn server_metadata_issuer_is_compared_exactly() {
        assert!(server_metadata(&doc(""), "https://as.example/t", false).is_ok());
        for other in [
            "https://as.example/t/",
            "https://AS.example/t",
            "https://as.example",
        ] {
            assert_eq!(
                server_metadata(&doc(""), other, false),
                Err(ServerMetadataError::IssuerMismatch(
                    "https://as.example/t".into()
                ))
            );
        }
    }

    #[test]
    fn the_2025_03_26_fallback_takes_an_issuer_on_the_mcp_servers_origin() {
        let check = |origin| {
            server_metadata_checked(&doc(""), IssuerCheck::SameOrigin(origin), false, true)
        };
        let m = check("https://as.example").unwrap();
        assert_eq!(
            m.issuer, "https://as.example/t",
            "the document's own issuer"
        );
        for other in [
            "https://as.example.evil",
            "https://other.example",
            "https://as.example/t/x",
        ] {
            assert!(check(other).is_err(), "{other}");
        }
    }

    #[test]
    fn server_metadata_needs_s256() {
        let no_pkce = br#"{"issuer":"https://a","authorization_endpoint":"https://a/a","token_endpoint":"https://a/t"}"#;
        assert_eq!(
            server_metadata(no_pkce, "https://a", false),
            Err(ServerMetadataError::NoS256)
        );
        // The client credentials grant has no code to protect: no S256 needed.
        let check = IssuerCheck::Exact("https://a");
        assert!(server_metadata_checked(no_pkce, check, false, false).is_ok());
        let plain = br#"{"issuer":"https://a","authorization_endpoint":"https://a/a","token_endpoint":"https://a/t","code_challenge_methods_supported":["plain"]}"#;
        assert_eq!(
            server_metadata(plain, "https://a", false),
            Err(ServerMetadataError::NoS256)
        );
    }

    #[test]
    fn server_metadata_endpoints_must_be_secure() {
        let d = doc(r#","registration_endpoint":"http://as.example/register""#);
        assert_eq!(
            server_metadata(&d, "https://as.example/t", false),
            Err(ServerMetadataError::Insecure(
                "http://as.example/register".into()
            ))
        );
        assert!(server_metadata(&d, "https://as.example/t", true).is_ok());
    }

    #[test]
    fn server_metadata_flags_and_lists() {
        let m = server_metadata(
            &doc(r#","authorization_response_iss_parameter_supported":true,
                "client_id_metadata_document_supported":"yes",
                "scopes_supported":["mcp:basic","offline_access"],
                "token_endpoint_auth_methods_supported":["client_secret_post"]"#),
            "https://as.example/t",
            false,
        )
        .unwrap();
        assert!(m.iss_parameter_supported);
        assert!(!m.client_id_metadata_document_supported);
        assert_eq!(m.scopes_supported.unwrap(), ["mcp:basic", "offline_access"]);
        assert_eq!(
            m.token_endpoint_auth_methods.unwrap(),
            ["client_secret_post"]
        );
        assert!(m.registration_endpoint.is_none());
    }

    #[test]
    fn scope_tokens_are_rfc_6749_tokens() {
        assert!(is_scope_token("mcp:basic"));
        assert!(is_scope_token("https://x/y"));
        assert!(!is_scope_token("a\"b"));
        assert!(!is_scope_token("a\\b"));
        assert!(!is_scope_token("é"));
        assert_eq!(scope_tokens("  a  b\tc d"), ["a", "d"]);
    }
}
