//! The 2026-07-28 peer (the Python SDK `mcp` 2.3.0, `tests/servers/rev2026_server.py`) really
//! speaks the new revision, checked with no client library: `server/discover`, `tools/list`
//! and `tools/call echo` carrying the 2026 `_meta` (and, over HTTP, the `MCP-Protocol-Version`,
//! `Mcp-Method` and `Mcp-Name` headers), `resultType` on every result, `confirm` answering
//! `input_required` first and `complete` on the retry that carries the answer, and progress
//! notifications before a result. Over Streamable HTTP (HTTP/1.1 on a `TcpStream`) and over
//! stdio (JSON lines). This checks the peer, not mcpwire.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcpwire_tests::peer2026::{self, Rev2026Http, REVISION};
use serde_json::{json, Value};

/// How long one answer may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// A 2026-07-28 request: `params` with the per-request `_meta` added.
fn request(id: u64, method: &str, mut params: Value, capabilities: Value) -> Value {
    let meta = params
        .as_object_mut()
        .expect("params is an object")
        .entry("_meta")
        .or_insert_with(|| json!({}));
    let meta = meta.as_object_mut().expect("_meta is an object");
    meta.insert(
        "io.modelcontextprotocol/protocolVersion".into(),
        json!(REVISION),
    );
    meta.insert(
        "io.modelcontextprotocol/clientInfo".into(),
        json!({ "name": "mcpwire-smoke", "version": "0" }),
    );
    meta.insert(
        "io.modelcontextprotocol/clientCapabilities".into(),
        capabilities,
    );
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// The response to `id` among `messages` (the last one), checked to be a `complete` or
/// `input_required` result.
fn result_of(messages: &[Value], id: u64) -> &Value {
    let last = messages.last().expect("an answer");
    assert_eq!(
        last["id"],
        json!(id),
        "the answer is to request {id}: {last}"
    );
    let result = &last["result"];
    assert!(result.is_object(), "a result, not an error: {last}");
    let kind = result["resultType"].as_str();
    assert!(
        matches!(kind, Some("complete") | Some("input_required")),
        "a resultType: {last}"
    );
    result
}

/// Sends the smoke requests through `exchange` (one request in, every message that came back
/// for it out, the response last) and checks the answers.
fn speaks_the_new_revision(mut exchange: impl FnMut(&Value) -> Vec<Value>) {
    // server/discover
    let answer = exchange(&request(1, "server/discover", json!({}), json!({})));
    let discover = result_of(&answer, 1);
    assert_eq!(discover["resultType"], "complete", "{discover}");
    let versions = discover["supportedVersions"]
        .as_array()
        .expect("supportedVersions");
    assert!(versions.contains(&json!(REVISION)), "{discover}");
    assert!(discover["capabilities"]["tools"].is_object(), "{discover}");
    assert_eq!(
        discover["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcpwire-rev2026-peer"
    );

    // tools/list
    let answer = exchange(&request(2, "tools/list", json!({}), json!({})));
    let list = result_of(&answer, 2);
    assert_eq!(list["resultType"], "complete", "{list}");
    let names: Vec<&str> = list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for tool in ["echo", "progress", "confirm", "slow", "touch"] {
        assert!(names.contains(&tool), "{tool} in {names:?}");
    }

    // tools/call echo
    let call = json!({ "name": "echo", "arguments": { "message": "hello 2026" } });
    let answer = exchange(&request(3, "tools/call", call, json!({})));
    let echo = result_of(&answer, 3);
    assert_eq!(echo["resultType"], "complete", "{echo}");
    assert_eq!(
        echo["content"],
        json!([{ "type": "text", "text": "hello 2026" }])
    );

    // confirm: input_required with an elicitation/create input request, then complete on
    // the retry (a new id) that answers it and echoes requestState.
    let elicitation = json!({ "elicitation": {} });
    let call = json!({ "name": "confirm", "arguments": {} });
    let answer = exchange(&request(4, "tools/call", call, elicitation.clone()));
    let first = result_of(&answer, 4);
    assert_eq!(first["resultType"], "input_required", "{first}");
    let requests = first["inputRequests"].as_object().expect("inputRequests");
    assert_eq!(requests.len(), 1, "{first}");
    let (key, input) = requests.iter().next().unwrap();
    assert_eq!(input["method"], "elicitation/create", "{first}");
    assert!(input["params"]["requestedSchema"]["properties"]["confirmed"].is_object());
    let state = first["requestState"].as_str().expect("requestState");
    let retry = json!({
        "name": "confirm",
        "arguments": {},
        "inputResponses": { key: { "action": "accept", "content": { "confirmed": true } } },
        "requestState": state,
    });
    let answer = exchange(&request(5, "tools/call", retry, elicitation));
    let done = result_of(&answer, 5);
    assert_eq!(done["resultType"], "complete", "{done}");
    assert_eq!(done["content"][0]["text"], "confirmed=true", "{done}");

    // progress: notifications with our token before the result.
    let call = json!({
        "_meta": { "progressToken": "smoke" },
        "name": "progress",
        "arguments": { "steps": 2 },
    });
    let answer = exchange(&request(6, "tools/call", call, json!({})));
    assert_eq!(result_of(&answer, 6)["resultType"], "complete");
    let progress: Vec<&Value> = answer[..answer.len() - 1]
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 2, "{answer:?}");
    assert_eq!(progress[1]["params"]["progressToken"], "smoke");
    assert_eq!(progress[1]["params"]["progress"], 2);
    assert_eq!(progress[1]["params"]["total"], 2);
}

#[test]
fn over_streamable_http() {
    let server = Rev2026Http::start();
    speaks_the_new_revision(|body| {
        let (status, content_type, messages) = post(server.port, body);
        assert_eq!(status, 200, "{body} got {messages:?}\n{}", server.log());
        assert!(
            content_type == "application/json" || content_type == "text/event-stream",
            "{content_type}"
        );
        messages
    });
}

#[test]
fn over_stdio() {
    let command = peer2026::stdio_command();
    let child = std::process::Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the rev2026 peer over stdio");
    let mut server = StdioServer::new(child);
    speaks_the_new_revision(|body| server.exchange(body));
}

/// POSTs one JSON-RPC message to `/mcp` with the 2026 headers; returns the status, the
/// content type and the JSON-RPC messages of the body (one JSON body, or each SSE event).
fn post(port: u16, body: &Value) -> (u16, String, Vec<Value>) {
    let text = body.to_string();
    let method = body["method"].as_str().expect("a method");
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {REVISION}\r\n\
         Mcp-Method: {method}\r\nContent-Length: {}\r\nConnection: close\r\n",
        text.len()
    );
    let name = &body["params"]["name"];
    let name = name.as_str().or(body["params"]["uri"].as_str());
    if let Some(name) = name {
        head.push_str(&format!("Mcp-Name: {name}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the peer");
    stream.set_read_timeout(Some(ANSWER_LIMIT)).unwrap();
    stream.set_write_timeout(Some(ANSWER_LIMIT)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("the whole answer within the limit");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim().to_ascii_lowercase();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value,
            "transfer-encoding" => chunked = value.contains("chunked"),
            _ => {}
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    let body = String::from_utf8(body).expect("a UTF-8 body");
    let messages = if content_type.starts_with("text/event-stream") {
        // Each event's data lines; keep-alive comments have none.
        body.replace("\r\n", "\n")
            .split("\n\n")
            .map(|event| {
                event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .filter(|data| !data.trim().is_empty())
            .map(|data| serde_json::from_str(&data).expect("an SSE event of JSON"))
            .collect()
    } else {
        vec![serde_json::from_str(&body).expect("a JSON body")]
    };
    let content_type = content_type.split(';').next().unwrap_or("").to_string();
    (status, content_type, messages)
}

/// Decodes a chunked body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&raw[..end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16)
            .expect("a hex chunk size");
        raw = &raw[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// The program over stdio: lines read on a thread; killed on drop.
struct StdioServer {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl StdioServer {
    fn new(mut child: Child) -> StdioServer {
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StdioServer {
            child,
            stdin,
            lines,
        }
    }

    /// Writes `message` as one line; returns what came back up to its response.
    fn exchange(&mut self, message: &Value) -> Vec<Value> {
        writeln!(self.stdin, "{message}").expect("write to the peer");
        self.stdin.flush().unwrap();
        let mut got = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(ANSWER_LIMIT)
                .unwrap_or_else(|e| panic!("no answer to {message} ({e}); got {got:?}"));
            let value: Value = serde_json::from_str(&line).expect("a JSON line");
            let is_answer = value["id"] == message["id"] && value.get("method").is_none();
            got.push(value);
            if is_answer {
                return got;
            }
        }
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
