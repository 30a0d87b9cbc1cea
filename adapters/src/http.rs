//! Streamable HTTP exchanges over hyper client connections: a small pool of keep-alive
//! HTTP/1.1 connections, or one multiplexed HTTP/2 connection where TLS negotiates `h2`.
//! Every exchange is its own task, so any number run at once; what their answers mean is the
//! core's business: this file only moves bytes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use futures_rustls::TlsConnector;
use http::header::{HOST, PROXY_AUTHORIZATION};
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use mcpwire_core::{ExchangeId, TransportError, TransportErrorKind};

use crate::error::ConfigError;
use crate::proxy::{self, Proxy, ProxySetting};

use crate::io::HyperIo;
use crate::runtime::{timeout, Runtime};
use crate::transport::{Inbox, Incoming};

type Body = Full<Bytes>;

enum Conn {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

/// Where requests go, and the connections that reach it.
pub(crate) struct Pool {
    runtime: Arc<dyn Runtime>,
    host: String,
    port: u16,
    authority: HeaderValue,
    tls: Option<TlsConnector>,
    /// The HTTP proxy connections go through: a `CONNECT` tunnel for https, the absolute
    /// form for http.
    proxy: Option<Proxy>,
    connect_timeout: Duration,
    /// Idle HTTP/1.1 connections kept for reuse: as many as the core lets exchanges run at
    /// once (`Policy::max_concurrent_exchanges`), so that a burst reuses them and no more
    /// connections than that are ever open.
    max_idle: usize,
    idle: Mutex<Vec<http1::SendRequest<Body>>>,
    h2: Mutex<Option<http2::SendRequest<Body>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Spawns hyper's HTTP/2 background work on our runtime.
#[derive(Clone)]
struct Exec(Arc<dyn Runtime>);

impl<F: std::future::Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for Exec {
    fn execute(&self, future: F) {
        self.0.spawn(Box::pin(future));
    }
}

/// rustls with the webpki roots (the OS's too with the `native-roots` feature, and any extra
/// ones), the ring provider, and ALPN offering HTTP/2 then HTTP/1.1.
fn tls_config(extra_roots: &[Vec<u8>]) -> Result<Arc<ClientConfig>, ConfigError> {
    let tls_error = |e: &dyn std::fmt::Display| ConfigError::Tls(e.to_string().into());
    let roots = root_store(extra_roots)?;
    let provider = Arc::new(futures_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The roots to trust: webpki's, the OS's (feature `native-roots`), and each extra one, DER
/// or PEM (one or more certificates).
fn root_store(extra_roots: &[Vec<u8>]) -> Result<RootCertStore, ConfigError> {
    use futures_rustls::rustls::pki_types::pem::PemObject;
    let tls_error = |e: &dyn std::fmt::Display| ConfigError::Tls(e.to_string().into());
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "a certificate of the OS's trust store could not be loaded");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "the OS's trust store");
    }
    for bytes in extra_roots {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let mut found = 0usize;
            for der in CertificateDer::pem_slice_iter(bytes) {
                let der = der.map_err(|e| tls_error(&format!("root certificate PEM: {e}")))?;
                roots.add(der).map_err(|e| tls_error(&e))?;
                found += 1;
            }
            if found == 0 {
                return Err(tls_error(&"root certificate PEM: no CERTIFICATE in it"));
            }
        } else {
            roots
                .add(CertificateDer::from(bytes.clone()))
                .map_err(|e| tls_error(&e))?;
        }
    }
    Ok(roots)
}

impl Pool {
    /// A pool for `endpoint` (http or https).
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        endpoint: &Uri,
        connect_timeout: Duration,
        max_idle: usize,
        extra_roots: &[Vec<u8>],
        proxy: &ProxySetting,
    ) -> Result<Pool, ConfigError> {
        let bad = |why: &str| ConfigError::InvalidUrl {
            url: endpoint.to_string(),
            reason: why.into(),
        };
        let https = match endpoint.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("the URL must start with http:// or https://")),
        };
        let host = endpoint.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = endpoint.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = endpoint.authority().ok_or_else(|| bad("no host"))?;
        let authority =
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad("invalid host"))?;
        let proxy = proxy.resolve(https, &host, port, |name| std::env::var(name).ok())?;
        if let Some(p) = &proxy {
            tracing::debug!(proxy = ?p, "connecting through an HTTP proxy");
        }
        Ok(Pool {
            runtime,
            host,
            port,
            authority,
            tls: match https {
                true => Some(TlsConnector::from(tls_config(extra_roots)?)),
                false => None,
            },
            proxy,
            connect_timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
            h2: Mutex::new(None),
        })
    }

    /// Whether `uri` goes to this pool's origin (a relative URI does).
    pub(crate) fn serves(&self, uri: &Uri) -> bool {
        let Some(authority) = uri.authority() else {
            return true;
        };
        let https = uri.scheme_str() == Some("https");
        // The endpoint's own authority, as every request to it has: no parsing (the host and
        // port were read from this same text).
        if authority.as_str().as_bytes() == self.authority.as_bytes() {
            return https == self.tls.is_some();
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case(&self.host) && port == self.port && https == self.tls.is_some()
    }

    /// A connection ready for a request: the shared HTTP/2 one, an idle HTTP/1.1 one, or new.
    async fn get(&self) -> Result<(Conn, bool), TransportError> {
        if let Some(h2) = lock(&self.h2).as_ref().filter(|c| !c.is_closed()) {
            return Ok((Conn::H2(h2.clone()), true));
        }
        loop {
            let Some(mut conn) = lock(&self.idle).pop() else {
                break;
            };
            // A connection returned as its response ended becomes ready a moment later.
            if !conn.is_closed() && conn.ready().await.is_ok() {
                return Ok((Conn::H1(conn), true));
            }
        }
        // Boxed: the connect and TLS path is large, and most exchanges never take it.
        Ok((Box::pin(self.connect()).await?, false))
    }

    fn put(&self, conn: Conn) {
        // Plain http through a proxy: the proxy decides about keep-alive, and some (tinyproxy)
        // close after each response without saying so; a POST written to such a connection
        // would be lost mid-way. Each exchange gets its own connection there.
        if self.proxy.is_some() && self.tls.is_none() {
            return;
        }
        if let Conn::H1(c) = conn {
            let mut idle = lock(&self.idle);
            if idle.len() < self.max_idle && !c.is_closed() {
                idle.push(c);
            }
        }
    }

    async fn connect(&self) -> Result<Conn, TransportError> {
        let rt = &*self.runtime;
        let deadline = crate::runtime::after(rt, self.connect_timeout);
        let timed_out =
            || TransportError::new(TransportErrorKind::ConnectTimeout, "connect timed out");
        let (host, port) = match &self.proxy {
            Some(p) => (p.host(), p.port()),
            None => (self.host.as_str(), self.port),
        };
        let mut tcp = timeout(rt, self.connect_timeout, rt.connect(host, port))
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| {
                let through = if self.proxy.is_some() {
                    " (the proxy)"
                } else {
                    ""
                };
                TransportError::new(
                    TransportErrorKind::Connect,
                    format!("{host}:{port}{through}: {e}"),
                )
                .with_source(e)
            })?;
        if let (Some(proxy), Some(_)) = (&self.proxy, &self.tls) {
            let left = deadline.saturating_duration_since(rt.now());
            timeout(rt, left, tunnel(&mut tcp, proxy, &self.host, self.port))
                .await
                .ok_or_else(timed_out)??;
        }
        let handshake_failed = |e: hyper::Error| {
            TransportError::new(TransportErrorKind::Reset, e.to_string()).with_source(e)
        };
        let Some(tls) = &self.tls else {
            let (send, conn) = http1::handshake(HyperIo::new(tcp))
                .await
                .map_err(handshake_failed)?;
            self.runtime
                .spawn(Box::pin(async move { drop(conn.await) }));
            return Ok(Conn::H1(send));
        };
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| TransportError::new(TransportErrorKind::Tls, e.to_string()))?;
        let left = deadline.saturating_duration_since(rt.now());
        let stream = timeout(rt, left, tls.connect(name, tcp))
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| {
                TransportError::new(TransportErrorKind::Tls, e.to_string()).with_source(e)
            })?;
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            let exec = Exec(self.runtime.clone());
            let (send, conn) = http2::handshake(exec, HyperIo::new(stream))
                .await
                .map_err(handshake_failed)?;
            self.runtime
                .spawn(Box::pin(async move { drop(conn.await) }));
            *lock(&self.h2) = Some(send.clone());
            Ok(Conn::H2(send))
        } else {
            let (send, conn) = http1::handshake(HyperIo::new(stream))
                .await
                .map_err(handshake_failed)?;
            self.runtime
                .spawn(Box::pin(async move { drop(conn.await) }));
            Ok(Conn::H1(send))
        }
    }
}

/// Opens a `CONNECT` tunnel to `host:port` through the proxy `tcp` is connected to.
async fn tunnel(
    tcp: &mut Box<dyn crate::runtime::Io>,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<(), TransportError> {
    use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
    let lost = |e: std::io::Error| {
        TransportError::new(TransportErrorKind::Proxy, format!("the proxy: {e}")).with_source(e)
    };
    tcp.write_all(&proxy::connect_request(proxy, host, port))
        .await
        .map_err(lost)?;
    tcp.flush().await.map_err(lost)?;
    // Read byte by byte: nothing past the proxy's head may be taken from the tunnel.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    loop {
        let n = tcp.read(&mut byte).await.map_err(lost)?;
        if n == 0 {
            return Err(TransportError::new(
                TransportErrorKind::Proxy,
                "the proxy closed the connection before answering CONNECT",
            ));
        }
        head.push(byte[0]);
        if proxy::connect_response(&head)?.is_some() {
            return Ok(());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells the driver an exchange failed if its task ends without saying how it ended (a panic
/// in a dependency, the runtime dropping the task): no exchange is left waiting for an end
/// that never comes.
struct Verdict {
    exchange: ExchangeId,
    to_driver: Inbox,
    runtime: Arc<dyn Runtime>,
    given: bool,
}

impl Drop for Verdict {
    fn drop(&mut self) {
        if self.given || self.to_driver.is_closed() {
            return;
        }
        let error = TransportError::new(
            TransportErrorKind::Other,
            "the exchange's task ended without an answer",
        );
        let msg = Incoming::ExchangeFailed {
            exchange: self.exchange,
            error,
        };
        if let Err(full) = self.to_driver.try_send(msg) {
            let to_driver = self.to_driver.clone();
            let msg = full.into_inner();
            self.runtime.spawn(Box::pin(async move {
                drop(to_driver.send(msg).await);
            }));
        }
    }
}

/// `uri` in the origin form HTTP/1.1 sends (its path and query), sharing its bytes rather
/// than copying them.
fn origin_form(uri: &Uri) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(
        uri.path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

/// Runs one exchange: sends `request`, feeds the answer to the driver as it comes.
pub(crate) async fn exchange(
    pool: Arc<Pool>,
    exchange: ExchangeId,
    request: http::Request<Vec<u8>>,
    to_driver: Inbox,
) {
    let mut verdict = Verdict {
        exchange,
        to_driver: to_driver.clone(),
        runtime: pool.runtime.clone(),
        given: false,
    };
    run_exchange(&pool, exchange, request, &to_driver).await;
    verdict.given = true;
}

async fn run_exchange(
    pool: &Pool,
    exchange: ExchangeId,
    request: http::Request<Vec<u8>>,
    to_driver: &Inbox,
) {
    let failed = |error| Incoming::ExchangeFailed { exchange, error };
    let (parts, body) = request.into_parts();
    let mut request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    // One retry, on a fresh connection, when a reused one turned out to be closed before the
    // request was written (the classic keep-alive race): hyper gives such a request back, so
    // nothing is copied for it beforehand.
    let mut attempt = 0;
    let (response, conn) = loop {
        attempt += 1;
        let (mut conn, reused) = match pool.get().await {
            Ok(c) => c,
            Err(e) => return drop(to_driver.send(failed(e)).await),
        };
        let sent = match &mut conn {
            Conn::H1(c) => {
                // HTTP/1.1 wants the origin form and a Host header (through a proxy, for
                // plain http, the absolute form and the proxy's credentials); the URI and Host
                // are put back if the request comes back, for whichever connection it goes on
                // next.
                let proxied = pool.proxy.as_ref().filter(|_| pool.tls.is_none());
                if let Some(a) = proxied.and_then(|p| p.authorization()) {
                    request.headers_mut().insert(PROXY_AUTHORIZATION, a.clone());
                }
                let uri = match proxied {
                    Some(_) => None,
                    None => {
                        let origin = origin_form(request.uri());
                        Some(std::mem::replace(request.uri_mut(), origin))
                    }
                };
                let host = request.headers_mut().insert(HOST, pool.authority.clone());
                let sent = match c.ready().await {
                    Ok(()) => c.try_send_request(request).await.map_err(given_back),
                    Err(error) => Err((error, Some(request))),
                };
                sent.map_err(|(error, back)| {
                    let back = back.map(|mut r| {
                        if let Some(uri) = uri {
                            *r.uri_mut() = uri;
                        }
                        match host {
                            Some(h) => drop(r.headers_mut().insert(HOST, h)),
                            None => drop(r.headers_mut().remove(HOST)),
                        }
                        r
                    });
                    (error, back)
                })
            }
            Conn::H2(c) => c.try_send_request(request).await.map_err(given_back),
        };
        match sent {
            Ok(response) => break (response, conn),
            Err((e, Some(back)))
                if reused && attempt == 1 && (e.is_canceled() || e.is_closed()) =>
            {
                request = back;
                continue;
            }
            Err((e, _)) => {
                let error =
                    TransportError::new(TransportErrorKind::Reset, e.to_string()).with_source(e);
                return drop(to_driver.send(failed(error)).await);
            }
        }
    };
    let (head, mut body) = response.into_parts();
    // What of the body is here already goes with the head: for a small answer read with its
    // head, the whole of it. A frame that is not data (trailers) means nothing to the core.
    let mut data = None;
    let mut next = None;
    let mut end = false;
    match futures_lite::future::poll_once(body.frame()).await {
        Some(None) => end = true,
        Some(Some(Ok(frame))) => {
            data = frame.into_data().ok();
            match futures_lite::future::poll_once(body.frame()).await {
                Some(None) => end = true,
                Some(Some(more)) => next = Some(more),
                None => {}
            }
        }
        Some(Some(Err(e))) => next = Some(Err(e)),
        None => {}
    }
    let head = Incoming::ResponseHead {
        exchange,
        status: head.status,
        headers: head.headers,
        data,
        end,
    };
    if end {
        // Back in the pool before the driver hears of the end (it may start an exchange
        // for which it is the idle connection).
        pool.put(conn);
        return drop(to_driver.send(head).await);
    }
    if to_driver.send(head).await.is_err() {
        return;
    }
    loop {
        let frame = match next.take() {
            Some(frame) => Some(frame),
            None => body.frame().await,
        };
        match frame {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if to_driver
                        .send(Incoming::ResponseBody { exchange, data })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Some(Err(e)) => {
                let error =
                    TransportError::new(TransportErrorKind::Reset, e.to_string()).with_source(e);
                return drop(to_driver.send(failed(error)).await);
            }
        }
    }
    pool.put(conn);
    drop(to_driver.send(Incoming::ResponseEnd { exchange }).await);
}

/// hyper's error, and the request if it was never written (hyper gives it back then).
fn given_back<T>(mut e: hyper::client::conn::TrySendError<T>) -> (hyper::Error, Option<T>) {
    let request = e.take_message();
    (e.into_error(), request)
}

/// The headless user step: GETs the authorization `url` without following redirects and
/// gives the `Location` it answers with (where a browser would have been sent).
pub(crate) async fn location_of(
    runtime: Arc<dyn Runtime>,
    url: &str,
    connect_timeout: Duration,
    roots: &[Vec<u8>],
    proxy: &crate::proxy::ProxySetting,
) -> Result<String, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("the authorization URL: {e}"))?;
    let pool =
        Pool::new(runtime, &uri, connect_timeout, 1, roots, proxy).map_err(|e| e.to_string())?;
    let (mut conn, _) = pool.get().await.map_err(|e| e.to_string())?;
    let mut req = http::Request::get(uri.clone())
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = match &mut conn {
        Conn::H1(c) => {
            *req.uri_mut() = origin_form(&uri);
            req.headers_mut().insert(HOST, pool.authority.clone());
            c.ready().await.map_err(|e| e.to_string())?;
            c.send_request(req).await
        }
        Conn::H2(c) => c.send_request(req).await,
    }
    .map_err(|e| e.to_string())?;
    let status = response.status();
    match response.headers().get(http::header::LOCATION) {
        Some(location) if status.is_redirection() => location
            .to_str()
            .map(str::to_owned)
            .map_err(|_| "the redirect's Location is not text".to_owned()),
        _ => Err(format!(
            "the authorization server answered {status} without a redirect"
        )),
    }
}

/// Whether a header holds a credential: its value is marked sensitive, so that it never
/// appears in `Debug` output and HTTP/2 never indexes it.
pub(crate) fn is_secret(name: &http::HeaderName) -> bool {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    name == AUTHORIZATION
        || name == PROXY_AUTHORIZATION
        || name == COOKIE
        || matches!(name.as_str(), "x-api-key" | "api-key" | "x-auth-token")
}

/// Splits `user:password@` off an http(s) URL: the URL without it, and the Basic
/// authorization it stands for (a sensitive header value), percent-decoded as RFC 3986 says.
pub(crate) fn split_userinfo(url: &str) -> (String, Option<HeaderValue>) {
    use base64::Engine;
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_owned(), None);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_owned(), None);
    };
    let userinfo = &rest[..at];
    let stripped = format!("{}{}", &url[..scheme_end], &rest[at + 1..]);
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let credentials = format!("{}:{}", percent_decode(user), percent_decode(password));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok();
    if let Some(v) = &mut value {
        v.set_sensitive(true);
    }
    (stripped, value)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pool_serves_its_origin_however_it_is_written() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tokio: Arc<dyn Runtime> =
            Arc::new(crate::runtime::Tokio::new(runtime.handle().clone()));
        let endpoint: Uri = "http://Example.com:8080/mcp".parse().unwrap();
        let pool = Pool::new(
            tokio,
            &endpoint,
            Duration::from_secs(1),
            1,
            &[],
            &crate::proxy::ProxySetting::Direct,
        )
        .unwrap();
        for (uri, served) in [
            ("http://Example.com:8080/mcp", true),
            ("http://example.COM:8080/other?x=1", true),
            ("/relative", true),
            ("https://Example.com:8080/mcp", false),
            ("http://Example.com:8081/mcp", false),
            ("http://Example.com/mcp", false),
            ("http://example.org:8080/mcp", false),
        ] {
            assert_eq!(pool.serves(&uri.parse().unwrap()), served, "{uri}");
        }
    }

    #[test]
    fn the_origin_form_is_the_path_and_query() {
        for (uri, origin) in [
            ("http://h:1/mcp", "/mcp"),
            ("http://h/mcp/x?a=1&b=%20", "/mcp/x?a=1&b=%20"),
            ("http://h", "/"),
            ("https://u@h:443/", "/"),
        ] {
            let uri: Uri = uri.parse().unwrap();
            let got = super::origin_form(&uri);
            assert_eq!(got.to_string(), origin);
            assert!(got.scheme().is_none() && got.authority().is_none());
        }
    }

    use super::*;

    #[test]
    fn userinfo_becomes_basic_authorization_and_leaves_the_url() {
        let (url, basic) = split_userinfo("https://al%40ice:p%3Ass@example.com:8443/mcp?x=@y");
        assert_eq!(url, "https://example.com:8443/mcp?x=@y");
        let basic = basic.unwrap();
        assert!(basic.is_sensitive());
        // "al@ice:p:ss"
        assert_eq!(basic.to_str().unwrap(), "Basic YWxAaWNlOnA6c3M=");
        assert_eq!(format!("{basic:?}"), "Sensitive");
        let (url, basic) = split_userinfo("http://127.0.0.1:3001/mcp");
        assert_eq!((url.as_str(), basic), ("http://127.0.0.1:3001/mcp", None));
        let (url, basic) = split_userinfo("http://host/path@not-userinfo");
        assert_eq!(
            (url.as_str(), basic),
            ("http://host/path@not-userinfo", None)
        );
    }
}

#[cfg(test)]
mod root_tests {
    use super::*;

    #[test]
    fn extra_roots_may_be_der_or_pem_and_a_bad_one_is_a_tls_error() {
        let webpki = webpki_roots::TLS_SERVER_ROOTS.len();
        let base = root_store(&[]).unwrap().len();
        assert!(base >= webpki);
        #[cfg(feature = "native-roots")]
        assert!(base > webpki, "the OS's roots were added");
        for bad in [
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
            b"not a certificate".to_vec(),
        ] {
            assert!(
                matches!(
                    root_store(std::slice::from_ref(&bad)),
                    Err(ConfigError::Tls(_))
                ),
                "{:?}",
                String::from_utf8_lossy(&bad)
            );
        }
    }
}
