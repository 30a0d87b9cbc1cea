//! HTTP proxies: which one a request goes through (the builder's, else `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the environment, as curl reads them), and the
//! `CONNECT` tunnel (RFC 9110 §9.3.6) that https targets are reached through. A plain http
//! target goes to the proxy in absolute form instead.

use std::fmt;

use http::{HeaderValue, Uri};
use mcpwire_core::{TransportError, TransportErrorKind};

use crate::error::ConfigError;

/// The most bytes of a proxy's answer to `CONNECT` read before giving up on it.
const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// An HTTP proxy (an `http://host:port` URL; credentials from its userinfo or
/// [`Proxy::basic_auth`] go in `Proxy-Authorization`, never in `Debug`, logs or errors).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
}

impl Proxy {
    /// The proxy at `url`: `http://[user:password@]host[:port]` (port 80 if none; a bare
    /// `host:port` is taken as http). An `https://` proxy is refused: TLS to the proxy itself
    /// is not supported.
    pub fn new(url: &str) -> Result<Proxy, ConfigError> {
        let bad = |reason: &str| ConfigError::InvalidUrl {
            url: crate::http::split_userinfo(url).0,
            reason: format!("proxy: {reason}"),
        };
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let (without, basic) = crate::http::split_userinfo(&with_scheme);
        let uri: Uri = without.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https proxies are not supported; use http://")),
            _ => return Err(bad("the URL must start with http://")),
        }
        let host = uri
            .host()
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Proxy {
            host,
            port: uri.port_u16().unwrap_or(80),
            authorization: basic,
        })
    }

    /// With HTTP Basic credentials for the proxy.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization =
            HeaderValue::from_str(&format!("Basic {encoded}"))
                .ok()
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                });
        self
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.authorization.is_some())
            .finish()
    }
}

/// How a client picks its proxy.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxySetting {
    /// From the environment, when it names one for the target (the default).
    #[default]
    FromEnv,
    /// None: connect directly.
    Direct,
    /// This one, for every target.
    Use(Proxy),
}

impl ProxySetting {
    /// The proxy for a target `https`, `host`, `port`, with the environment read by `env`.
    pub(crate) fn resolve(
        &self,
        https: bool,
        host: &str,
        port: u16,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ConfigError> {
        match self {
            ProxySetting::Direct => Ok(None),
            ProxySetting::Use(p) => Ok(Some(p.clone())),
            ProxySetting::FromEnv => from_env(https, host, port, env),
        }
    }
}

/// The first variable of `names` that is set and not empty, lowercase first (curl's order).
fn first(env: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
}

/// The proxy the environment names for a target, unless `NO_PROXY` excludes it.
fn from_env(
    https: bool,
    host: &str,
    port: u16,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ConfigError> {
    let scheme_specific: &[&str] = if https {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        // curl reads only `http_proxy` (a CGI program's `HTTP_PROXY` can come from a request
        // header, "httpoxy"); an MCP client is not a CGI program: both, lowercase first.
        &["http_proxy", "HTTP_PROXY"]
    };
    let Some(url) =
        first(&env, scheme_specific).or_else(|| first(&env, &["all_proxy", "ALL_PROXY"]))
    else {
        return Ok(None);
    };
    if let Some(list) = first(&env, &["no_proxy", "NO_PROXY"]) {
        if excluded(&list, host, port) {
            return Ok(None);
        }
    }
    Proxy::new(url.trim()).map(Some)
}

/// Whether `NO_PROXY` (comma- or space-separated) names `host`: `*`; a host or domain that is
/// `host` or one of its parent domains (a leading dot or `*.` allowed); an exact IP; any of
/// these with `:port`, then only for that port. Compared without case.
fn excluded(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let entry = entry.trim_start_matches('[');
            let (name, entry_port) = match entry.rsplit_once(':') {
                // `::1` is an address, not a host and a port.
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => {
                    (n.trim_end_matches(']'), p.parse::<u16>().ok())
                }
                _ => (entry.trim_end_matches(']'), None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

/// The `CONNECT` request for `host:port` through `proxy`.
pub(crate) fn connect_request(proxy: &Proxy, host: &str, port: u16) -> Vec<u8> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(a) = proxy.authorization() {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(a.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request
}

/// What the proxy's answer to `CONNECT` says so far: `Ok(None)` while its head is not
/// complete; `Ok(Some(n))` once it is a 2xx whose head is the first `n` bytes (the tunnel is
/// open after them); an error for any other answer, or a head too long.
pub(crate) fn connect_response(buf: &[u8]) -> Result<Option<usize>, TransportError> {
    let refused = |message: String| TransportError::new(TransportErrorKind::Proxy, message);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let code = response.code.unwrap_or(0);
            if (200..300).contains(&code) {
                return Ok(Some(n));
            }
            let reason = mcpwire_core::error::sanitize(response.reason.unwrap_or(""));
            let hint = match code {
                407 => " (the proxy wants credentials: http://user:password@proxy)",
                _ => "",
            };
            Err(refused(format!(
                "the proxy answered CONNECT with {code} {reason}{hint}"
            )))
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_CONNECT_RESPONSE => Ok(None),
        Ok(httparse::Status::Partial) => Err(refused(format!(
            "the proxy's answer to CONNECT is longer than {MAX_CONNECT_RESPONSE} bytes"
        ))),
        Err(e) => Err(refused(format!(
            "the proxy's answer to CONNECT is not HTTP: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn resolved(
        vars: &[(&str, &str)],
        https: bool,
        host: &str,
        port: u16,
    ) -> Option<(String, u16)> {
        ProxySetting::FromEnv
            .resolve(https, host, port, env(vars))
            .unwrap()
            .map(|p| (p.host, p.port))
    }

    #[test]
    fn the_environment_names_a_proxy_per_scheme_then_all_proxy() {
        let vars = [
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("http_proxy", "plain-proxy:8080"),
        ];
        assert_eq!(
            resolved(&vars, true, "a.example", 443),
            Some(("secure-proxy".into(), 3128))
        );
        assert_eq!(
            resolved(&vars, false, "a.example", 80),
            Some(("plain-proxy".into(), 8080))
        );
        let all = [("ALL_PROXY", "http://all:1")];
        assert_eq!(
            resolved(&all, true, "a.example", 443),
            Some(("all".into(), 1))
        );
        // Lowercase first, as curl.
        let both = [
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
        ];
        assert_eq!(resolved(&both, true, "a", 443), Some(("lower".into(), 1)));
        assert_eq!(resolved(&[], true, "a", 443), None);
        assert_eq!(resolved(&[("HTTPS_PROXY", " ")], true, "a", 443), None);
    }

    #[test]
    fn no_proxy_excludes_hosts_domains_addresses_and_ports() {
        let with = |no: &str, host: &str, port: u16| {
            resolved(
                &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)],
                true,
                host,
                port,
            )
            .is_none()
        };
        assert!(with("*", "anything", 443));
        assert!(with("example.com", "example.com", 443));
        assert!(with("example.com", "mcp.example.com", 443));
        assert!(with(".example.com", "mcp.example.com", 443));
        assert!(with("*.example.com", "mcp.EXAMPLE.com", 443));
        assert!(!with("example.com", "badexample.com", 443));
        assert!(with("localhost, 127.0.0.1", "127.0.0.1", 443));
        assert!(with("::1", "::1", 443));
        assert!(with("[::1]:8443", "::1", 8443));
        assert!(!with("[::1]:8443", "::1", 443));
        assert!(with("example.com:8443", "example.com", 8443));
        assert!(!with("example.com:8443", "example.com", 443));
        assert!(!with("", "example.com", 443));
    }

    #[test]
    fn a_builder_proxy_or_none_wins_over_the_environment() {
        let vars = [("HTTPS_PROXY", "http://env:1")];
        let explicit = Proxy::new("http://mine:2").unwrap();
        let chosen = ProxySetting::Use(explicit)
            .resolve(true, "a", 443, env(&vars))
            .unwrap();
        assert_eq!(chosen.unwrap().host, "mine");
        assert!(ProxySetting::Direct
            .resolve(true, "a", 443, env(&vars))
            .unwrap()
            .is_none());
    }

    #[test]
    fn proxy_credentials_go_in_a_sensitive_header_and_never_in_debug_or_errors() {
        let p = Proxy::new("http://alice:s3cret@proxy.example:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
        let auth = p.authorization().unwrap();
        assert!(auth.is_sensitive());
        assert!(!format!("{p:?}").contains("s3cret"));
        let request = String::from_utf8(connect_request(&p, "mcp.example", 443)).unwrap();
        assert!(
            request.starts_with("CONNECT mcp.example:443 HTTP/1.1\r\nHost: mcp.example:443\r\n")
        );
        assert!(request.contains("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"));
        assert!(request.ends_with("\r\n\r\n"));
        let e = Proxy::new("https://alice:s3cret@proxy.example").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let b = Proxy::new("proxy:1").unwrap().basic_auth("bob", "pw");
        assert!(b.authorization().unwrap().is_sensitive());
    }

    #[test]
    fn the_answer_to_connect_opens_the_tunnel_or_is_a_typed_refusal() {
        assert_eq!(
            connect_response(b"HTTP/1.1 200 Connection established\r\n").unwrap(),
            None
        );
        let ok = b"HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\n\x16\x03";
        assert_eq!(connect_response(ok).unwrap(), Some(ok.len() - 2));
        let e =
            connect_response(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Proxy);
        assert!(
            e.to_string().contains("407") && e.to_string().contains("credentials"),
            "{e}"
        );
        let e = connect_response(b"HTTP/1.1 403 Forbidden\x1b[31m\r\n\r\n").unwrap_err();
        assert!(!e.to_string().contains('\x1b'), "{e}");
        let e = connect_response(b"SSH-2.0-OpenSSH\r\n").unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Proxy);
        let long = [b'a'; MAX_CONNECT_RESPONSE + 1];
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.extend_from_slice(&long);
        assert!(connect_response(&head).is_err());
    }
}
