//! A raw HTTP client for exercising the test server: one hyper connection per request.

#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mcpwire_testserver::TestServer;
use serde_json::{json, Value};
use tokio::net::TcpStream;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Send one request on a new HTTP/1.1 (or, with `h2`, HTTP/2) connection.
pub async fn send(
    server: &TestServer,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
    h2: bool,
) -> Result<Response<Incoming>, hyper::Error> {
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let mut request = Request::builder().method(method).uri(server.url());
    if !h2 {
        request = request.header("host", server.addr().to_string());
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        request = request.header("accept", "application/json, text/event-stream");
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let request = request.body(Full::new(body)).expect("request");
    if h2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await?;
        tokio::spawn(conn);
        sender.send_request(request).await
    } else {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        sender.send_request(request).await
    }
}

/// POST a message with the session header (if any).
pub async fn post(server: &TestServer, session: Option<&str>, body: &Value) -> Response<Incoming> {
    let headers: Vec<(&str, &str)> = session.map(|s| ("mcp-session-id", s)).into_iter().collect();
    tokio::time::timeout(TIMEOUT, send(server, "POST", &headers, Some(body), false))
        .await
        .expect("answer in time")
        .expect("HTTP exchange")
}

/// GET the endpoint with the session header and extra headers.
pub async fn get(server: &TestServer, session: &str, extra: &[(&str, &str)]) -> Response<Incoming> {
    let mut headers = vec![("mcp-session-id", session)];
    headers.extend_from_slice(extra);
    tokio::time::timeout(TIMEOUT, send(server, "GET", &headers, None, false))
        .await
        .expect("answer in time")
        .expect("HTTP exchange")
}

pub fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub fn call(id: i64, tool: &str, arguments: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

/// `initialize` then `notifications/initialized`; the session id.
pub async fn init(server: &TestServer) -> String {
    let response = post(server, None, &initialize_request("2025-11-25")).await;
    assert_eq!(response.status(), 200);
    let session = header(&response, "mcp-session-id").expect("session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        post(server, Some(&session), &initialized).await.status(),
        202
    );
    session
}

pub fn initialize_request(version: &str) -> Value {
    request(
        0,
        "initialize",
        json!({"protocolVersion": version, "capabilities": {},
               "clientInfo": {"name": "raw-test", "version": "0"}}),
    )
}

pub fn header(response: &Response<Incoming>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

pub async fn text(response: Response<Incoming>) -> String {
    let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

pub async fn json_body(response: Response<Incoming>) -> Value {
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    serde_json::from_str(&text(response).await).expect("JSON body")
}

/// One server-sent event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("JSON event data")
    }
}

/// A minimal event-stream reader (enough for this server's `field: value` lines).
pub struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    pub fn new(response: Response<Incoming>) -> Events {
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some("text/event-stream")
        );
        Events {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ends; panics after [`TIMEOUT`].
    pub async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(TIMEOUT, self.next_event())
            .await
            .expect("event in time")
    }

    /// Like `next`, but `Err` if nothing arrives within `wait`.
    pub async fn within(&mut self, wait: Duration) -> Result<Option<Event>, ()> {
        tokio::time::timeout(wait, self.next_event())
            .await
            .map_err(|_| ())
    }

    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event::default();
                for line in block.lines().filter(|l| !l.is_empty()) {
                    let (field, value) = line.split_once(": ").unwrap_or((line, ""));
                    match field {
                        "id" => event.id = Some(value.to_owned()),
                        "retry" => event.retry = Some(value.parse().expect("retry")),
                        "data" => event.data = value.to_owned(),
                        other => panic!("unexpected field {other:?}"),
                    }
                }
                return Some(event);
            }
            let frame = self.body.frame().await?.expect("body frame");
            if let Ok(data) = frame.into_data() {
                self.buffer
                    .push_str(std::str::from_utf8(&data).expect("UTF-8"));
            }
        }
    }
}

/// Send one request to any `http://HOST:PORT/PATH?QUERY` URL on a new HTTP/1.1 connection,
/// with these headers and body; no redirect is followed.
pub async fn send_url(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response<Incoming> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let exchange = async {
        let stream = TcpStream::connect(authority).await.expect("connect");
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", authority);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        sender.send_request(request).await
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("answer in time")
        .expect("HTTP exchange")
}
