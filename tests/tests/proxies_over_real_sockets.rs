//! HTTP proxies over real sockets, under tokio and smol, through a real proxy (Debian's
//! tinyproxy): an http server reached in absolute form, an https one through a `CONNECT`
//! tunnel (TLS end to end with the server, HTTP/2 included), a proxy that wants credentials
//! (refused typed without them, used with them), and a proxy that is not there. The
//! environment's `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` are tested through the CLI, in
//! processes of their own: cli/tests/proxy_from_the_environment.rs.

use std::sync::Arc;
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::{Client, Proxy, SessionError, TransportErrorKind};
use mcpwire_tests::on_both_runtimes;
use mcpwire_tests::tinyproxy::Tinyproxy;
use mcpwire_tests::tls::tls_front;
use mcpwire_testserver::TestServer;
use serde_json::json;

on_both_runtimes! {
    an_http_server_through_the_proxy => plain_http;
    an_https_server_through_a_connect_tunnel => https_tunnel;
    a_proxy_that_wants_credentials_refuses_without_them_typed => credentials;
    a_proxy_that_is_not_there_is_a_connect_error_naming_it => absent;
}

/// Log lines of requests the proxy forwarded.
fn requests(proxy: &Tinyproxy) -> Vec<String> {
    proxy
        .log()
        .lines()
        .filter(|l| l.contains("Request (file descriptor"))
        .map(str::to_owned)
        .collect()
}

async fn plain_http(runtime: Arc<dyn Runtime>) {
    let proxy = Tinyproxy::start(None);
    let server = TestServer::start_in_thread();
    let client = Client::builder()
        .proxy(Proxy::new(&proxy.url).unwrap())
        .connect_with(runtime, server.url().as_str())
        .await
        .expect("connect through the proxy");
    let echo = client
        .call_tool("echo", json!({"message": "proxied"}))
        .await
        .unwrap();
    assert!(!echo.is_error());
    client.close().await;
    let seen = requests(&proxy);
    let url = server.url();
    assert!(
        seen.iter().any(|l| l.contains(&format!("POST {url}"))),
        "the POSTs went through the proxy in absolute form: {seen:?}"
    );
}

async fn https_tunnel(runtime: Arc<dyn Runtime>) {
    let proxy = Tinyproxy::start(None);
    let server = TestServer::start_in_thread();
    let (port, _, pem) = tls_front(server.addr());
    let client = Client::builder()
        .proxy(Proxy::new(&proxy.url).unwrap())
        .add_root_certificate(pem)
        .connect_with(runtime, format!("https://localhost:{port}/mcp").as_str())
        .await
        .expect("connect through a CONNECT tunnel");
    for i in 0..3 {
        client
            .call_tool("echo", json!({"message": format!("tunnelled {i}")}))
            .await
            .unwrap();
    }
    client.close().await;
    let seen = requests(&proxy);
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("CONNECT localhost:{port}"))),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("POST")),
        "the proxy saw only the tunnel, never a request: {seen:?}"
    );
}

async fn credentials(runtime: Arc<dyn Runtime>) {
    let proxy = Tinyproxy::start(Some(("agent", "pr0xy-pass")));
    let server = TestServer::start_in_thread();
    let (port, _, pem) = tls_front(server.addr());
    let url = format!("https://localhost:{port}/mcp");
    let e = Client::builder()
        .proxy(Proxy::new(&proxy.url).unwrap())
        .add_root_certificate(pem.clone())
        .connect_timeout(Duration::from_secs(5))
        .connect_with(runtime.clone(), url.as_str())
        .await
        .unwrap_err();
    let Some(SessionError::Transport(transport)) = e.session() else {
        panic!("a transport error: {e:?}");
    };
    assert_eq!(transport.kind, TransportErrorKind::Proxy, "{e}");
    assert!(e.to_string().contains("407"), "{e}");
    let with = format!("http://agent:pr0xy-pass@127.0.0.1:{}", proxy.port);
    let client = Client::builder()
        .proxy(Proxy::new(&with).unwrap())
        .add_root_certificate(pem)
        .connect_with(runtime, url.as_str())
        .await
        .expect("connect with the proxy's credentials");
    client.ping().await.unwrap();
    client.close().await;
    let shown = format!("{:?}", Proxy::new(&with).unwrap());
    assert!(!shown.contains("pr0xy-pass"), "{shown}");
}

async fn absent(runtime: Arc<dyn Runtime>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Client::builder()
        .proxy(Proxy::new(&format!("http://127.0.0.1:{port}")).unwrap())
        .connect_with(runtime, "https://mcp.example.invalid/mcp")
        .await
        .unwrap_err();
    let Some(SessionError::Transport(transport)) = e.session() else {
        panic!("a transport error: {e:?}");
    };
    assert_eq!(transport.kind, TransportErrorKind::Connect, "{e}");
    assert!(e.to_string().contains("(the proxy)"), "{e}");
}
