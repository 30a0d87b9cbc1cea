//! URLs as the authorization flow needs them: the text as given (it is what gets sent and
//! compared, byte for byte), with its parts picked out; origins; the loopback and https rules;
//! the well-known URLs of RFC 9728 and RFC 8414; and the form encoding of RFC 6749 Appendix B.
//!
//! `http::Uri` checks the characters, but it is not used for the text: it writes a pathless
//! URL with a trailing `/` and drops a fragment without a word, and both would break the
//! exact comparisons the specification asks for.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest URL the flow takes from a server or a configuration.
pub(crate) const MAX_URL: usize = 8 * 1024;

/// A parsed absolute `http` or `https` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    raw: String,
    /// Lowercase.
    scheme: String,
    /// Lowercase; an IPv6 address keeps its brackets.
    host: String,
    /// The port, or the scheme's default.
    port: u16,
    /// Where the authority ends in `raw` (the origin is `raw[..origin_end]`).
    origin_end: usize,
    /// Where the query starts in `raw` (its `?`), or `raw.len()`.
    query_start: usize,
}

impl Url {
    /// Parses `raw`: an absolute `http` or `https` URL without user information or fragment.
    pub(crate) fn parse(raw: &str) -> Result<Url, &'static str> {
        if raw.len() > MAX_URL {
            return Err("longer than 8 KiB");
        }
        if raw.contains('#') {
            return Err("has a fragment");
        }
        let uri: http::Uri = raw.parse().map_err(|_| "not a URL")?;
        let scheme = uri.scheme_str().ok_or("not absolute")?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err("neither http nor https"),
        };
        let authority = uri.authority().ok_or("has no host")?;
        if authority.as_str().contains('@') {
            return Err("has user information");
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err("has no host");
        }
        let port = authority.port_u16().unwrap_or(default_port);
        let start = raw.find("://").ok_or("not absolute")? + 3;
        let rest = &raw[start..];
        let origin_end = start + rest.find(['/', '?']).unwrap_or(rest.len());
        let query_start = raw[origin_end..]
            .find('?')
            .map_or(raw.len(), |i| origin_end + i);
        Ok(Url {
            raw: raw.to_owned(),
            scheme,
            host,
            port,
            origin_end,
            query_start,
        })
    }

    /// The URL of an `http::Uri` (which writes a pathless URL with a `/`).
    pub(crate) fn from_uri(uri: &http::Uri) -> Result<Url, &'static str> {
        Url::parse(&uri.to_string())
    }

    /// The text, as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.raw
    }

    /// `scheme://authority`, as given.
    pub(crate) fn origin(&self) -> &str {
        &self.raw[..self.origin_end]
    }

    /// The path as given: `""` when there is none.
    pub(crate) fn path(&self) -> &str {
        &self.raw[self.origin_end..self.query_start]
    }

    /// The query without its `?`, if there is one.
    pub(crate) fn query(&self) -> Option<&str> {
        self.raw.get(self.query_start + 1..)
    }

    /// Whether `other` has the same origin: scheme and host compared without case, ports
    /// with the scheme's default filled in.
    pub(crate) fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    /// Whether the host is a loopback one: `localhost`, `127.0.0.0/8`, `::1`.
    pub(crate) fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        if let Some(v6) = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
        {
            return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
        }
        self.host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
    }

    /// Whether credentials may travel to it: `https`, or `http` to a loopback host, or `http`
    /// anywhere when the configuration allows it.
    pub(crate) fn is_secure(&self, allow_http: bool) -> bool {
        self.scheme == "https" || allow_http || self.is_loopback()
    }

    /// The canonical resource identifier of an MCP server URL (2025-03-26 servers publish no
    /// protected resource metadata to take it from): the URL as given, without a lone `/`
    /// path, as the specification's "Canonical Server URI" prefers.
    pub(crate) fn canonical_resource(&self) -> String {
        let path = self.path();
        let mut s = self.origin().to_owned();
        if path != "/" {
            s.push_str(path);
        }
        if let Some(q) = self.query() {
            s.push('?');
            s.push_str(q);
        }
        s
    }

    /// The path without a terminating `/` (RFC 8414 §3.1, RFC 9728 §3.1): `""` for the root.
    fn trimmed_path(&self) -> &str {
        self.path().trim_end_matches('/')
    }

    /// RFC 9728 §3.1 protected resource metadata URLs for this resource, in the order the
    /// specification gives: the path-based one (when there is a path), then the root one.
    pub(crate) fn resource_metadata_urls(&self) -> Vec<String> {
        const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
        let mut urls = Vec::with_capacity(2);
        let path = self.trimmed_path();
        if !path.is_empty() {
            urls.push(format!("{}{WELL_KNOWN}{path}", self.origin()));
        }
        urls.push(format!("{}{WELL_KNOWN}", self.origin()));
        urls
    }

    /// RFC 8414 §3.1 and OpenID Connect Discovery metadata URLs for this issuer, in the order
    /// the specification gives: with a path, OAuth path insertion, OIDC path insertion, OIDC
    /// path appending; without one, OAuth then OIDC.
    pub(crate) fn server_metadata_urls(&self) -> Vec<String> {
        const OAUTH: &str = "/.well-known/oauth-authorization-server";
        const OIDC: &str = "/.well-known/openid-configuration";
        let origin = self.origin();
        let path = self.trimmed_path();
        if path.is_empty() {
            vec![format!("{origin}{OAUTH}"), format!("{origin}{OIDC}")]
        } else {
            vec![
                format!("{origin}{OAUTH}{path}"),
                format!("{origin}{OIDC}{path}"),
                format!("{origin}{path}{OIDC}"),
            ]
        }
    }

    /// Whether this URL (a protected resource's `resource`) covers `target` (the MCP server
    /// URL the client is accessing): the same origin, and a path that is the target's path
    /// or a prefix of it ending at a `/`. A `resource` with a query must match the target
    /// exactly, path and query.
    pub(crate) fn covers(&self, target: &Url) -> bool {
        if !self.same_origin(target) {
            return false;
        }
        if self.query().is_some() {
            return self.path() == target.path() && self.query() == target.query();
        }
        let prefix = self.trimmed_path();
        let path = target.trimmed_path();
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Whether a byte is left as it is by [`encode`]: RFC 3986 unreserved.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes `s` onto `out`: every byte but the unreserved ones, a space as `%20`
/// (which every form decoder reads as a space, and no query decoder misreads).
pub(crate) fn encode_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// `s`, percent-encoded as [`encode_into`] does.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s);
    out
}

/// `application/x-www-form-urlencoded` text of these pairs, in order.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

/// Decodes form-encoded text (a query): `+` is a space, `%XY` a byte, a malformed `%` stays
/// as it is; invalid UTF-8 is replaced. Empty pieces are skipped.
pub(crate) fn decode_form(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One form-encoded component, decoded.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |at: usize| bytes.get(at).copied().and_then(hex);
                match (digit(i + 1), digit(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of a hex digit.
fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn keeps_the_text_as_given() {
        let u = url("http://localhost:3000");
        assert_eq!(u.as_str(), "http://localhost:3000");
        assert_eq!(u.origin(), "http://localhost:3000");
        assert_eq!(u.path(), "");
        assert_eq!(u.canonical_resource(), "http://localhost:3000");
        let u = url("HTTPS://Example.COM:8443/a/b?x=1");
        assert_eq!(u.origin(), "HTTPS://Example.COM:8443");
        assert_eq!(u.path(), "/a/b");
        assert_eq!(u.query(), Some("x=1"));
        assert_eq!(
            url("https://a.example/").canonical_resource(),
            "https://a.example"
        );
    }

    #[test]
    fn refuses_what_is_not_a_plain_absolute_url() {
        for bad in [
            "mcp.example.com",
            "/relative",
            "ftp://example.com/x",
            "https://example.com/x#fragment",
            "https://user:pass@example.com/",
            "https://",
            "",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert!(Url::parse(&format!("https://a.example/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for s in [
            "http://localhost:1/",
            "http://LOCALHOST/",
            "http://127.0.0.1:8080/cb",
            "http://127.9.8.7/",
            "http://[::1]:3000/",
        ] {
            assert!(url(s).is_loopback(), "{s}");
            assert!(url(s).is_secure(false), "{s}");
        }
        for s in [
            "http://localhost.evil.example/",
            "http://128.0.0.1/",
            "http://[::2]/",
            "http://example.com/",
        ] {
            assert!(!url(s).is_loopback(), "{s}");
            assert!(!url(s).is_secure(false), "{s}");
            assert!(url(s).is_secure(true), "{s}");
        }
        assert!(url("https://example.com/").is_secure(false));
    }

    #[test]
    fn origins_compare_without_case_and_with_default_ports() {
        assert!(url("https://A.example/x").same_origin(&url("https://a.example:443/y")));
        assert!(url("HTTP://a.example").same_origin(&url("http://a.example:80")));
        assert!(!url("https://a.example").same_origin(&url("http://a.example")));
        assert!(!url("https://a.example").same_origin(&url("https://a.example:8443")));
        assert!(!url("https://a.example").same_origin(&url("https://b.example")));
    }

    #[test]
    fn resource_metadata_urls_follow_rfc_9728() {
        assert_eq!(
            url("https://example.com/public/mcp").resource_metadata_urls(),
            [
                "https://example.com/.well-known/oauth-protected-resource/public/mcp",
                "https://example.com/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(
            url("https://example.com/mcp/?x=1").resource_metadata_urls(),
            [
                "https://example.com/.well-known/oauth-protected-resource/mcp",
                "https://example.com/.well-known/oauth-protected-resource",
            ]
        );
        for root in ["https://example.com", "https://example.com/"] {
            assert_eq!(
                url(root).resource_metadata_urls(),
                ["https://example.com/.well-known/oauth-protected-resource"]
            );
        }
    }

    #[test]
    fn server_metadata_urls_follow_the_specification_order() {
        assert_eq!(
            url("https://auth.example.com/tenant1").server_metadata_urls(),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        for root in ["https://auth.example.com", "https://auth.example.com/"] {
            assert_eq!(
                url(root).server_metadata_urls(),
                [
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ]
            );
        }
    }

    #[test]
    fn a_resource_covers_its_own_url_and_the_urls_under_it() {
        let mcp = url("http://localhost:3000/mcp");
        assert!(url("http://localhost:3000/mcp").covers(&mcp));
        assert!(url("http://localhost:3000").covers(&mcp));
        assert!(url("http://localhost:3000/").covers(&mcp));
        assert!(url("HTTP://LOCALHOST:3000/mcp/").covers(&mcp));
        assert!(!url("https://evil.example.com/mcp").covers(&mcp));
        assert!(!url("http://localhost:3001/mcp").covers(&mcp));
        assert!(!url("http://localhost:3000/mc").covers(&mcp));
        assert!(!url("http://localhost:3000/mcp/x").covers(&mcp));
        assert!(!url("http://localhost:3000/other").covers(&mcp));
        assert!(!url("http://localhost:3000/mcp?a=1").covers(&mcp));
        assert!(url("http://localhost:3000/mcp?a=1").covers(&url("http://localhost:3000/mcp?a=1")));
    }

    #[test]
    fn form_encoding_round_trips() {
        let pairs = [
            ("resource", "http://localhost:3000"),
            ("scope", "mcp:basic mcp:read"),
            ("weird", "a+b&c=d%é/~"),
        ];
        let text = form(&pairs);
        assert_eq!(
            text,
            "resource=http%3A%2F%2Flocalhost%3A3000&scope=mcp%3Abasic%20mcp%3Aread\
             &weird=a%2Bb%26c%3Dd%25%C3%A9%2F~"
        );
        let back = decode_form(&text);
        assert_eq!(back.len(), 3);
        for ((k, v), (k2, v2)) in pairs.iter().zip(&back) {
            assert_eq!((*k, *v), (k2.as_str(), v2.as_str()));
        }
        assert_eq!(
            decode_form("a=1+2&&b&c=%zz%4"),
            [
                ("a".into(), "1 2".into()),
                ("b".into(), String::new()),
                ("c".into(), "%zz%4".into())
            ]
        );
    }
}
