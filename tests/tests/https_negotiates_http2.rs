//! Over TLS the client offers HTTP/2 by ALPN and, when the server takes it, runs every
//! exchange of the session — concurrent calls included — on one multiplexed connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpwire::runtime::Runtime;
use mcpwire::Client;
use mcpwire_tests::{join_timed, on_both_runtimes};
use mcpwire_testserver::TestServer;
use serde_json::json;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

on_both_runtimes! {
    concurrent_calls_over_https_share_one_http2_connection => over_http2;
    a_root_certificate_may_be_given_as_pem => pem_root;
}

/// A TLS terminator on loopback, forwarding bytes to `backend` (the test server, which detects
/// HTTP/2 by its preface). Returns its port and the certificate to trust, DER and PEM.
fn tls_front(backend: SocketAddr) -> (u16, Vec<u8>, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = certified.cert.der().to_vec();
    let cert_pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
    });
    (port, cert_der, cert_pem)
}

async fn pem_root(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let (port, _, pem) = tls_front(server.addr());
    let client = Client::builder()
        .add_root_certificate(pem)
        .connect_with(runtime, format!("https://localhost:{port}/mcp").as_str())
        .await
        .expect("connect over TLS trusting the PEM root");
    client.ping().await.unwrap();
}

async fn over_http2(runtime: Arc<dyn Runtime>) {
    let server = TestServer::start_in_thread();
    let (port, cert, _) = tls_front(server.addr());
    let client = Client::builder()
        .add_root_certificate(cert)
        .connect_with(runtime, format!("https://localhost:{port}/mcp").as_str())
        .await
        .expect("connect over TLS");
    type Call<'a> = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<mcpwire::schema::CallToolResult, mcpwire::Error>,
                > + 'a,
        >,
    >;
    fn slow(c: &Client) -> Call<'_> {
        Box::pin(c.call_tool("slow", json!({ "steps": 1, "ms": 300 })))
    }
    let t = Instant::now();
    for (r, _) in join_timed((0..8).map(|_| slow(&client)).collect()).await {
        assert!(r.is_ok(), "{r:?}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "calls ran one at a time: {:?}",
        t.elapsed()
    );
    assert_eq!(
        server.stats().connections,
        1,
        "one HTTP/2 connection carried the whole session"
    );
    client.close().await;
}
