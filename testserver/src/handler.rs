//! HTTP handling: counting, fault rules, sessions, and the Streamable HTTP framing.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::sse::Sse;
use crate::{mcp, Fault, Session, Shared};

/// Every response body the server writes.
pub(crate) type ResponseBody = BoxBody<Bytes, Infallible>;
type Reply = Response<ResponseBody>;
/// An HTTP error answered with a JSON-RPC error body: status, code, message.
type HttpError = (StatusCode, i64, &'static str);

const NO_SESSION: HttpError = (StatusCode::BAD_REQUEST, -32600, "Missing Mcp-Session-Id");
const UNKNOWN_SESSION: HttpError = (StatusCode::NOT_FOUND, -32001, "Session not found");
const BAD_VERSION: HttpError = (
    StatusCode::BAD_REQUEST,
    -32600,
    "Unsupported MCP-Protocol-Version",
);
const INVALID: HttpError = (StatusCode::BAD_REQUEST, -32600, "Invalid Request");
const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// Answer one HTTP request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    if request.uri().path() != "/mcp" {
        return Ok(full(StatusCode::NOT_FOUND, TEXT, "not an MCP endpoint"));
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|body| body.to_bytes());
    let message: Option<Value> = body.ok().and_then(|b| serde_json::from_slice(&b).ok());
    let fault = {
        let mut state = shared.lock();
        let nth_post = state.stats.posts;
        match parts.method {
            Method::POST => state.stats.posts += 1,
            Method::GET => state.stats.gets += 1,
            Method::DELETE => state.stats.deletes += 1,
            _ => {}
        }
        if let Some(message) = &message {
            state.received.push(message.clone());
            if mcp::method(message) == Some("notifications/cancelled") {
                state.stats.cancellations += 1;
                let cancelled = message.pointer("/params/requestId").map(Value::to_string);
                state.cancelled.extend(cancelled);
            }
        }
        state.take_fault(&parts.method, nth_post, message.as_ref())
    };
    let (method, headers) = (&parts.method, &parts.headers);
    // A faulted `initialize` answered on a stream still opens a session, so it can go on.
    let initialize = message.as_ref().and_then(mcp::method) == Some("initialize");
    Ok(match fault {
        None => normal(&shared, method, headers, message).await,
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            normal(&shared, method, headers, message).await
        }
        Some(Fault::Status {
            status,
            body,
            headers: extra,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let is_json = serde_json::from_str::<Value>(&body).is_ok();
            let mut reply = full(status, if is_json { JSON } else { TEXT }, body);
            for (name, value) in extra {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::try_from(name), HeaderValue::try_from(value))
                {
                    reply.headers_mut().insert(name, value);
                }
            }
            reply
        }
        Some(Fault::Accepted) => empty(StatusCode::ACCEPTED),
        Some(Fault::InvalidJson) => full(StatusCode::OK, JSON, r#"{"jsonrpc": "2.0", "id": 1, "#),
        Some(Fault::WrongContentType) => full(StatusCode::OK, TEXT, "plain text, not JSON-RPC"),
        Some(Fault::CloseConnection) => {
            kill.notify_one();
            std::future::pending().await
        }
        Some(Fault::Stall) => std::future::pending().await,
        Some(Fault::HoldSse) => {
            let (sse, reply) = Sse::open(&shared);
            let mut release = shared.release.subscribe();
            let shared2 = shared.clone();
            tokio::spawn(async move {
                sse.send(None, &mcp::log_notification("held until released"));
                tokio::select! {
                    _ = release.changed() => {}
                    _ = sse.closed() => return,
                }
                if let Some(message) = message.filter(mcp::is_request) {
                    answer_on(shared2, sse, message, None).await;
                }
            });
            new_session_if(initialize, &shared, reply)
        }
        Some(Fault::SseEndWithoutResponse { event_id, retry_ms }) => {
            let (sse, reply) = Sse::open(&shared);
            let retry = retry_ms
                .map(|ms| format!("retry: {ms}\n"))
                .unwrap_or_default();
            if let Some(event_id) = event_id {
                if let Some(message) = message.filter(mcp::is_request) {
                    let owner = header(headers, "mcp-session-id").map(str::to_owned);
                    shared
                        .lock()
                        .resumable
                        .insert(event_id.clone(), (owner, message));
                }
                sse.raw(format!("id: {event_id}\n{retry}data: \n\n"));
            } else {
                let note = mcp::log_notification("this stream ends before the response");
                sse.raw(format!("{retry}data: {note}\n\n"));
            }
            new_session_if(initialize, &shared, reply)
        }
    })
}

/// The correct answer to a request.
async fn normal(
    shared: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    message: Option<Value>,
) -> Reply {
    let result = match *method {
        Method::POST => post(shared, headers, message).await,
        Method::GET => get(shared, headers),
        Method::DELETE => session(shared, headers).map(|id| {
            shared.lock().sessions.remove(&id); // dropping its GET streams ends them
            empty(StatusCode::OK)
        }),
        _ => Ok(not_allowed("GET, POST, DELETE")),
    };
    result.unwrap_or_else(|(status, code, message)| {
        let body =
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
        full(status, JSON, body.to_string())
    })
}

async fn post(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    message: Option<Value>,
) -> Result<Reply, HttpError> {
    let Some(message) = message.filter(Value::is_object) else {
        return Err((StatusCode::BAD_REQUEST, -32700, "Parse error"));
    };
    let is_request = mcp::is_request(&message);
    if is_request && mcp::method(&message) == Some("initialize") {
        let answer = mcp::answer(shared, &message, None)
            .await
            .expect("initialize is answered");
        return Ok(new_session_if(true, shared, json_reply(&answer)));
    }
    session(shared, headers)?;
    if !is_request {
        if mcp::method(&message).is_none() {
            let id = message.get("id").ok_or(INVALID)?;
            let waiter = shared.lock().waiting.remove(&id.to_string()); // answers our request
            if let Some(waiter) = waiter {
                let _ = waiter.send(message);
            }
        }
        return Ok(empty(StatusCode::ACCEPTED));
    }
    if !mcp::streams(&message) {
        let answer = mcp::answer(shared, &message, None)
            .await
            .expect("non-streaming requests are answered");
        return Ok(json_reply(&answer));
    }
    let (sse, reply) = Sse::open(shared);
    tokio::spawn(answer_on(shared.clone(), sse, message, None));
    Ok(reply)
}

fn get(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Reply, HttpError> {
    let session_id = session(shared, headers)?;
    if let Some(last) = header(headers, "last-event-id") {
        let mut state = shared.lock();
        let owned =
            |(owner, _): &(Option<String>, Value)| owner.as_ref().is_none_or(|o| *o == session_id);
        if !state.resumable.get(last).is_some_and(owned) {
            return Err((StatusCode::BAD_REQUEST, -32600, "Unknown Last-Event-ID"));
        }
        let (_, message) = state.resumable.remove(last).expect("checked above");
        drop(state);
        let (sse, reply) = Sse::open(shared);
        let event_id = Some(format!("{last}-response"));
        tokio::spawn(answer_on(shared.clone(), sse, message, event_id));
        return Ok(reply);
    }
    if !shared.get_stream {
        return Ok(not_allowed("POST, DELETE"));
    }
    if !header(headers, "accept").is_some_and(|v| v.contains("text/event-stream")) {
        return Err((
            StatusCode::NOT_ACCEPTABLE,
            -32600,
            "Accept must list text/event-stream",
        ));
    }
    let (sse, reply) = Sse::open(shared);
    if let Some(session) = shared.lock().sessions.get_mut(&session_id) {
        session.get_streams.push(sse);
    }
    Ok(reply)
}

/// Answer `request` as the last event of `sse`, which then ends.
async fn answer_on(shared: Arc<Shared>, sse: Sse, request: Value, event_id: Option<String>) {
    if let Some(answer) = mcp::answer(&shared, &request, Some(&sse)).await {
        sse.send(event_id.as_deref(), &answer);
    }
}

/// The session named by the request: 400 if none or if `MCP-Protocol-Version` names a revision
/// the server does not speak, 404 if unknown.
fn session(shared: &Shared, headers: &HeaderMap) -> Result<String, HttpError> {
    let id = header(headers, "mcp-session-id").ok_or(NO_SESSION)?;
    if header(headers, "mcp-protocol-version").is_some_and(|v| !mcp::VERSIONS.contains(&v)) {
        return Err(BAD_VERSION);
    }
    shared
        .lock()
        .sessions
        .contains_key(id)
        .then(|| id.to_owned())
        .ok_or(UNKNOWN_SESSION)
}

/// If `create`, open a session and name it in the reply's `Mcp-Session-Id` header.
fn new_session_if(create: bool, shared: &Shared, reply: Reply) -> Reply {
    if !create {
        return reply;
    }
    let mut state = shared.lock();
    state.next_session += 1;
    let id = format!("mcpwire-test-session-{}", state.next_session);
    state.sessions.insert(id.clone(), Session::default());
    with_header(reply, "mcp-session-id", &id)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn with_header(mut reply: Reply, name: &'static str, value: &str) -> Reply {
    reply
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).expect("visible ASCII"));
    reply
}

fn json_reply(message: &Value) -> Reply {
    full(StatusCode::OK, JSON, message.to_string())
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let reply = Response::builder()
        .status(status)
        .body(Full::new(body.into()).boxed());
    with_header(reply.expect("valid response"), "content-type", content_type)
}

fn not_allowed(allow: &str) -> Reply {
    with_header(empty(StatusCode::METHOD_NOT_ALLOWED), "allow", allow)
}

fn empty(status: StatusCode) -> Reply {
    Response::builder()
        .status(status)
        .body(Empty::new().boxed())
        .expect("valid response")
}
