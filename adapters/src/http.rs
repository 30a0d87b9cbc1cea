//! Streamable HTTP exchanges over hyper client connections: a small pool of keep-alive
//! HTTP/1.1 connections, or one multiplexed HTTP/2 connection where TLS negotiates `h2`.
//! Every exchange is its own task, so any number run at once; what their answers mean is the
//! core's business: this file only moves bytes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use futures_rustls::TlsConnector;
use http::header::HOST;
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use mcpwire_core::{Error, ExchangeId, TransportError, TransportErrorKind};

use crate::driver::Msg;
use crate::io::HyperIo;
use crate::runtime::{timeout, Runtime};

/// Idle HTTP/1.1 connections kept for reuse: more than a busy client has in flight, so that
/// a burst does not end in new connections.
const MAX_IDLE: usize = 256;

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
    connect_timeout: Duration,
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

/// rustls with the webpki roots (and any extra ones), the ring provider, and ALPN offering
/// HTTP/2 then HTTP/1.1.
fn tls_config(extra_roots: &[Vec<u8>]) -> Result<Arc<ClientConfig>, Error> {
    let tls_error = |e: &dyn std::fmt::Display| Error::Config(format!("TLS: {e}").into());
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| tls_error(&e))?;
    }
    let provider = Arc::new(futures_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl Pool {
    /// A pool for `endpoint` (http or https).
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        endpoint: &Uri,
        connect_timeout: Duration,
        extra_roots: &[Vec<u8>],
    ) -> Result<Pool, Error> {
        let bad = |why: &str| Error::Config(format!("{endpoint}: {why}").into());
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
        Ok(Pool {
            runtime,
            host,
            port,
            authority,
            tls: match https {
                true => Some(TlsConnector::from(tls_config(extra_roots)?)),
                false => None,
            },
            connect_timeout,
            idle: Mutex::new(Vec::new()),
            h2: Mutex::new(None),
        })
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
        if let Conn::H1(c) = conn {
            let mut idle = lock(&self.idle);
            if idle.len() < MAX_IDLE && !c.is_closed() {
                idle.push(c);
            }
        }
    }

    async fn connect(&self) -> Result<Conn, TransportError> {
        let rt = &*self.runtime;
        let deadline = Instant::now() + self.connect_timeout;
        let timed_out =
            || TransportError::new(TransportErrorKind::ConnectTimeout, "connect timed out");
        let tcp = timeout(rt, deadline, rt.connect(&self.host, self.port))
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| {
                TransportError::new(
                    TransportErrorKind::Connect,
                    format!("{}:{}: {e}", self.host, self.port),
                )
            })?;
        let handshake_failed =
            |e: hyper::Error| TransportError::new(TransportErrorKind::Reset, e.to_string());
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
        let stream = timeout(rt, deadline, tls.connect(name, tcp))
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| TransportError::new(TransportErrorKind::Tls, e.to_string()))?;
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs one exchange: sends `request`, feeds the answer to the driver as it comes.
pub(crate) async fn exchange(
    pool: Arc<Pool>,
    exchange: ExchangeId,
    request: http::Request<Vec<u8>>,
    to_driver: async_channel::Sender<Msg>,
) {
    let failed = |error| Msg::ExchangeFailed { exchange, error };
    let (parts, body) = request.into_parts();
    let body = Bytes::from(body);
    // One retry, on a fresh connection, when a reused one turned out to be closed before the
    // request was written (the classic keep-alive race).
    let mut attempt = 0;
    let (response, conn) = loop {
        attempt += 1;
        let (mut conn, reused) = match pool.get().await {
            Ok(c) => c,
            Err(e) => return drop(to_driver.send(failed(e)).await),
        };
        let mut req = http::Request::from_parts(parts.clone(), Full::new(body.clone()));
        let sent = match &mut conn {
            Conn::H1(c) => {
                // HTTP/1.1 wants the origin form and a Host header.
                let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
                *req.uri_mut() = Uri::try_from(path).unwrap_or_else(|_| Uri::from_static("/"));
                req.headers_mut().insert(HOST, pool.authority.clone());
                match c.ready().await {
                    Ok(()) => c.send_request(req).await,
                    Err(e) => Err(e),
                }
            }
            Conn::H2(c) => c.send_request(req).await,
        };
        match sent {
            Ok(response) => break (response, conn),
            Err(e) if reused && attempt == 1 && (e.is_canceled() || e.is_closed()) => continue,
            Err(e) => {
                let error = TransportError::new(TransportErrorKind::Reset, e.to_string());
                return drop(to_driver.send(failed(error)).await);
            }
        }
    };
    let (head, mut body) = response.into_parts();
    let head = Msg::ResponseHead {
        exchange,
        status: head.status,
        headers: head.headers,
    };
    if to_driver.send(head).await.is_err() {
        return;
    }
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if to_driver
                        .send(Msg::ResponseBody { exchange, data })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Some(Err(e)) => {
                let error = TransportError::new(TransportErrorKind::Reset, e.to_string());
                return drop(to_driver.send(failed(error)).await);
            }
        }
    }
    pool.put(conn);
    drop(to_driver.send(Msg::ResponseEnd { exchange }).await);
}
