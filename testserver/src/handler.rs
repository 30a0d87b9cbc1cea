//! HTTP handling: counting, fault rules, sessions, and the Streamable HTTP framing.

use std::convert::Infallible;
use std::net::SocketAddr;
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
use crate::{mcp, oauth, BadJson, Fault, RequestRecord, Session, Shared, State};

/// Every response body the server writes.
pub(crate) type ResponseBody = BoxBody<Bytes, Infallible>;
pub(crate) type Reply = Response<ResponseBody>;
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
pub(crate) const JSON: &str = "application/json";
pub(crate) const TEXT: &str = "text/plain";

/// Answer one HTTP request, which came in on `listener`.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    listener: SocketAddr,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|body| body.to_bytes());
    let body = body.unwrap_or_default();
    let message: Option<Value> = serde_json::from_slice(&body).ok();
    let text_header = |name: &str| {
        let value = parts.headers.get(name)?;
        Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let record = RequestRecord {
        method: parts.method.to_string(),
        listener,
        path: parts.uri.path().to_owned(),
        host: text_header("host").or_else(|| parts.uri.authority().map(|a| a.to_string())),
        authorization: text_header("authorization"),
        last_event_id: text_header("last-event-id"),
        session_id: text_header("mcp-session-id"),
        body: message.clone(),
        query: parts.uri.query().map(str::to_owned),
        form: header(&parts.headers, "content-type")
            .filter(|t| t.starts_with("application/x-www-form-urlencoded"))
            .map(|_| String::from_utf8_lossy(&body).into_owned()),
    };
    shared.lock().record(record);
    let path = parts.uri.path();
    if listener != shared.addr || (path != "/mcp" && path != crate::MOVED_PATH) {
        let query = parts.uri.query().unwrap_or_default();
        let (method, headers) = (&parts.method, &parts.headers);
        let answer = oauth::serve(&shared, listener, method, path, query, headers, &body);
        return Ok(
            answer.unwrap_or_else(|| full(StatusCode::NOT_FOUND, TEXT, "not an MCP endpoint"))
        );
    }
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
        }
        if let Some(refusal) =
            oauth::check(&mut state, &parts.method, &parts.headers, message.as_ref())
        {
            return Ok(refusal);
        }
        if let Some(message) = &message {
            if parts.method == Method::POST {
                state.stats.pings_answered += storm_answers(message);
            }
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
        Some(Fault::Redirect { status, location }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut reply = empty(status);
            if let Some(v) = location.and_then(|l| HeaderValue::try_from(l).ok()) {
                reply.headers_mut().insert(hyper::header::LOCATION, v);
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
        Some(Fault::NotificationFlood {
            count,
            size,
            then_answer,
        }) => {
            let (sse, reply) = Sse::open(&shared);
            let answer = message.filter(|_| then_answer);
            tokio::spawn(flood(shared.clone(), sse, count, size, answer, then_answer));
            new_session_if(initialize, &shared, reply)
        }
        Some(Fault::ShortStreams { retry_ms }) => {
            let id = {
                let mut state = shared.lock();
                let resumable = message
                    .as_ref()
                    .filter(|m| *method == Method::POST && mcp::is_request(m));
                match resumable {
                    Some(_) => {
                        let owner = header(headers, "mcp-session-id").map(str::to_owned);
                        let chain = State::fresh(&mut state.next_short);
                        state.endless.insert(chain, (owner, retry_ms));
                        let n = State::fresh(&mut state.next_short);
                        format!("short-{chain}-{n}")
                    }
                    None => format!("short-{}", State::fresh(&mut state.next_short)),
                }
            };
            new_session_if(initialize, &shared, short_stream(&shared, &id, retry_ms))
        }
        Some(Fault::PingStorm { count }) => {
            let (sse, reply) = Sse::open(&shared);
            tokio::spawn(storm(shared.clone(), sse, count, message));
            new_session_if(initialize, &shared, reply)
        }
        Some(Fault::BadNotificationThenAnswer { kind }) => {
            let (sse, reply) = Sse::open(&shared);
            sse.raw(format!("data: {}\n\n", bad_json(kind)));
            if let Some(message) = message.filter(mcp::is_request) {
                tokio::spawn(answer_on(shared.clone(), sse, message, None));
            }
            new_session_if(initialize, &shared, reply)
        }
        Some(Fault::LoneSurrogateResult) => match message {
            Some(message) if mcp::is_request(&message) => {
                let answer = match mcp::streams(&message) {
                    true => None, // it would need a stream; answered with the fixed result
                    false => mcp::answer(&shared, &message, None).await,
                };
                let text = with_lone_surrogate(&message, answer);
                new_session_if(initialize, &shared, full(StatusCode::OK, JSON, text))
            }
            other => normal(&shared, method, headers, other).await,
        },
        Some(Fault::EndlessPages { delay }) => {
            tokio::time::sleep(delay).await;
            match message.as_ref().and_then(|m| endless_page(&shared, m)) {
                Some(page) => json_reply(&page),
                None => normal(&shared, method, headers, message).await,
            }
        }
    })
}

/// How many of the client's responses in this POST body answer a [`Fault::PingStorm`] ping.
fn storm_answers(body: &Value) -> usize {
    let is_storm_answer = |m: &Value| {
        mcp::method(m).is_none() && m["id"].as_str().is_some_and(|id| id.starts_with("storm-"))
    };
    match body {
        Value::Array(batch) => batch.iter().filter(|m| is_storm_answer(m)).count(),
        single => usize::from(is_storm_answer(single)),
    }
}

/// A 200 `text/event-stream` with one priming event (`id`, `retry`, empty `data`) that ends
/// at once.
fn short_stream(shared: &Arc<Shared>, id: &str, retry_ms: u64) -> Reply {
    let (sse, reply) = Sse::open(shared);
    sse.raw(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"));
    reply // `sse` is dropped: the stream ends after the event
}

/// The chain of a never-ending resumption that `last` (a `short-K-N` id) belongs to, if it is
/// one owned by `session`: its `K` and `retry:`.
fn endless_chain(shared: &Shared, last: &str, session: &str) -> Option<(u64, u64)> {
    let (chain, _) = last.strip_prefix("short-")?.split_once('-')?;
    let chain: u64 = chain.parse().ok()?;
    let state = shared.lock();
    let (owner, retry_ms) = state.endless.get(&chain)?;
    owner
        .as_ref()
        .is_none_or(|o| o == session)
        .then_some((chain, *retry_ms))
}

/// The [`Fault::NotificationFlood`]: `count` padded notifications, paced by the reader, then
/// the answer to `answer` (if a request), or, unless `then_answer`, nothing until the client
/// goes away.
async fn flood(
    shared: Arc<Shared>,
    sse: Sse,
    count: usize,
    size: usize,
    answer: Option<Value>,
    then_answer: bool,
) {
    const TAIL: &[u8] = b"\"}}\n\n";
    // One padding buffer, shared by every event (slices of it are not copies).
    let padding = Bytes::from(vec![b'x'; size]);
    for n in 1..=count {
        let head = format!(
            "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":\
             {{\"level\":\"info\",\"logger\":\"mcpwire-testserver\",\"data\":\"flood {n} "
        );
        // The data value is the head (without `data: `), the padding and the tail's `"}}`.
        let bare = head.len() - "data: ".len() + TAIL.len() - 2;
        let pad = size.saturating_sub(bare);
        let sent = sse.paced(Bytes::from(head)).await
            && (pad == 0 || sse.paced(padding.slice(..pad)).await)
            && sse.paced(Bytes::from_static(TAIL)).await;
        if !sent {
            return;
        }
    }
    match answer.filter(mcp::is_request) {
        Some(request) => answer_on(shared, sse, request, None).await,
        None if then_answer => {}
        None => sse.closed().await, // hold the stream open
    }
}

/// The [`Fault::PingStorm`]: `count` pings `storm-N` (N fresh for each), paced by the reader,
/// then the answer to `message` (if a request).
async fn storm(shared: Arc<Shared>, sse: Sse, count: usize, message: Option<Value>) {
    for _ in 0..count {
        let n = State::fresh(&mut shared.lock().next_storm);
        let ping = json!({"jsonrpc": "2.0", "id": format!("storm-{n}"), "method": "ping"});
        if !sse.paced(Bytes::from(format!("data: {ping}\n\n"))).await {
            return;
        }
    }
    if let Some(message) = message.filter(mcp::is_request) {
        answer_on(shared, sse, message, None).await;
    }
}

/// The hostile event data of [`Fault::BadNotificationThenAnswer`].
fn bad_json(kind: BadJson) -> String {
    const HEAD: &str = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"mcpwire-testserver","data":"#;
    match kind {
        BadJson::DeepNesting => format!("{HEAD}{}{}}}}}", "[".repeat(10_000), "]".repeat(10_000)),
        BadJson::HugeNumber => format!("{HEAD}1e400}}}}"),
        BadJson::LoneSurrogate => format!(r#"{HEAD}"lone \ud800 surrogate"}}}}"#),
        BadJson::NotJson => "this is not json".to_owned(),
    }
}

/// The JSON text of the answer to `request` with the escape `\udc80` in a text item (see
/// [`Fault::LoneSurrogateResult`]).
fn with_lone_surrogate(request: &Value, answer: Option<Value>) -> String {
    // A placeholder serde_json writes as is, replaced by the escape in the text.
    const MARK: &str = "\u{e000}lone-surrogate\u{e000}";
    let mut answer = answer.filter(|_| mcp::method(request) == Some("tools/call"));
    let text = answer
        .as_mut()
        .and_then(|a| a.pointer_mut("/result/content")?.as_array_mut())
        .and_then(|items| items.iter_mut().find(|item| item["type"] == "text"))
        .and_then(|item| match item.get_mut("text") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        });
    match text {
        Some(text) => text.push_str(MARK),
        None => {
            let result = json!({"content": [{"type": "text", "text": MARK}], "isError": false});
            answer = Some(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}));
        }
    }
    let answer = answer.expect("set above").to_string();
    answer.replace(MARK, r"\udc80")
}

/// A page of [`Fault::EndlessPages`] for a list request; `None` for any other message.
fn endless_page(shared: &Shared, message: &Value) -> Option<Value> {
    if !mcp::is_request(message) {
        return None;
    }
    let method = mcp::method(message)?;
    if !matches!(
        method,
        "tools/list" | "resources/list" | "resources/templates/list" | "prompts/list"
    ) {
        return None;
    }
    let n = State::fresh(&mut shared.lock().next_page);
    let name = format!("endless-{n}");
    let (key, item) = match method {
        "tools/list" => (
            "tools",
            json!({"name": name, "description": format!("tool {n} of an endless list"),
                   "inputSchema": {"type": "object"}}),
        ),
        "resources/list" => (
            "resources",
            json!({"uri": format!("demo://endless/{n}"), "name": name}),
        ),
        "resources/templates/list" => (
            "resourceTemplates",
            json!({"uriTemplate": format!("demo://endless/{n}/{{x}}"), "name": name}),
        ),
        _ => ("prompts", json!({"name": name})),
    };
    let result = json!({key: [item], "nextCursor": format!("page-{n}")});
    Some(json!({"jsonrpc": "2.0", "id": message["id"], "result": result}))
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
        if let Some((chain, retry_ms)) = endless_chain(shared, last, &session_id) {
            let n = State::fresh(&mut shared.lock().next_short);
            return Ok(short_stream(
                shared,
                &format!("short-{chain}-{n}"),
                retry_ms,
            ));
        }
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

pub(crate) fn with_header(mut reply: Reply, name: &'static str, value: &str) -> Reply {
    reply
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).expect("visible ASCII"));
    reply
}

fn json_reply(message: &Value) -> Reply {
    full(StatusCode::OK, JSON, message.to_string())
}

pub(crate) fn full(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Reply {
    let reply = Response::builder()
        .status(status)
        .body(Full::new(body.into()).boxed());
    with_header(reply.expect("valid response"), "content-type", content_type)
}

fn not_allowed(allow: &str) -> Reply {
    with_header(empty(StatusCode::METHOD_NOT_ALLOWED), "allow", allow)
}

pub(crate) fn empty(status: StatusCode) -> Reply {
    Response::builder()
        .status(status)
        .body(Empty::new().boxed())
        .expect("valid response")
}
