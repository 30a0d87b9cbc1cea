//! A load run, every process apart: `Client::call_tool("echo", {"message":"x"})` under tokio and
//! under smol, side by side with a bare hyper 1.x keep-alive POST loop (tokio) sending the same
//! JSON-RPC bytes with the `Mcp-Session-Id` of a prior `initialize`, at 1, 8 and 64 calls in
//! flight, against a server answering JSON or a one-event `text/event-stream`. It prints the
//! figures and their ratios to the bare loop of the same run.
//!
//! Three kinds of process, all this binary:
//!
//! - the harness (no mode argument): starts one server per response format, then for every
//!   repetition, in-flight count and stack a fresh client process, and reads back one line of
//!   figures from each;
//! - `--server json|sse`: a small hyper HTTP/1.1 JSON-RPC server on one current-thread tokio
//!   runtime that answers `initialize`, notifications (202) and `tools/call` (any other request
//!   gets an empty result) with canned results, GET with 405 (no server stream); it prints
//!   its port and serves until its stdin closes;
//! - `--client mcpwire-tokio|mcpwire-smol|mcpwire-smol-local|bare-hyper <k> json|sse <url>`: connects, warms up,
//!   then runs `k` sequential call loops for the measured duration and prints
//!   `calls= wall_s= user_s= sys_s= maxrss_kib=`: user and system CPU of the whole process over
//!   the measured window and its peak RSS over its whole life, from `getrusage(RUSAGE_SELF)`.
//!   Each configuration runs in its own process so that its peak RSS is its own.
//!
//! Stacks: `mcpwire-tokio` is a client on a current-thread tokio runtime driven by the main
//! thread, its loops spawned tasks; `mcpwire-smol` a client on smol's global executor (the
//! loops spawned there, the main thread in `smol::block_on`, as a smol application runs);
//! `mcpwire-smol-local` a client on the application's own `smol::Executor`
//! (`mcpwire::runtime::SmolExecutor`), run by the main thread with its loops, so that every
//! task of the client and the caller share one thread;
//! `bare-hyper` one current-thread tokio runtime, one keep-alive connection per loop (HTTP/1.1
//! has no multiplexing; mcpwire's pool also opens one per exchange in flight), the response
//! body collected but not parsed. Both mcpwire stacks speak the 2025 era (`Revision::Legacy`:
//! `initialize`, no `server/discover` probe), as the bare loop does.
//!
//! `MCPWIRE_BENCH_PIN=1` pins the server to CPU 1 and every client to CPU 0
//! (`sched_setaffinity`; threads inherit it). `MCPWIRE_BENCH_REPS` (default 3) repetitions,
//! medians; `MCPWIRE_BENCH_SECS` (default 2) measured seconds and `MCPWIRE_BENCH_WARMUP_MS`
//! (default 300) of warm-up per client process; `MCPWIRE_BENCH_K=1,8,64`,
//! `MCPWIRE_BENCH_FORMATS=json,sse` and `MCPWIRE_BENCH_STACKS=...` choose configurations.
//!
//! Run: `MCPWIRE_BENCH_PIN=1 cargo bench -p mcpwire --all-features --bench load`.
//!
//! Profile one client (the server started by hand, `--server json`, which prints its port):
//! `MCPWIRE_BENCH_CALLS=4000 valgrind --tool=callgrind <bench binary> --client mcpwire-tokio 64
//! json http://127.0.0.1:<port>/mcp`, or `perf record -g` on the same command.
//! `MCPWIRE_BENCH_CALLS` makes the measured window that many calls and the warm-up
//! `MCPWIRE_BENCH_WARMUP_CALLS` (default 1000): a run of 4000 minus one of 2000 is what 2000
//! calls cost, setup and warm-up left out.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mcpwire::{Client, Revision};

const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_ID: &str = "load-session-1";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn pin_to(cpu: usize) {
    if std::env::var("MCPWIRE_BENCH_PIN").is_ok_and(|v| v == "1") {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpu);
        rustix::thread::sched_setaffinity(None, &set)
            .unwrap_or_else(|e| panic!("sched_setaffinity to CPU {cpu}: {e}"));
    }
}

// ----- the OS's accounting -------------------------------------------------------------------

/// `getrusage(RUSAGE_SELF)`: user and system CPU of every thread of this process, and its peak
/// resident set.
#[derive(Clone, Copy)]
struct Usage {
    user: Duration,
    sys: Duration,
    maxrss_kib: u64,
}

fn usage() -> Usage {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid, writable `rusage`; getrusage only writes into it.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: zero-initialised, then filled in by the successful call above.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss as u64,
    }
}

// ----- the server -------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Sse,
}

impl Format {
    fn parse(s: &str) -> Format {
        match s {
            "json" => Format::Json,
            "sse" => Format::Sse,
            _ => panic!("format {s:?}: json or sse"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Sse => "sse",
        }
    }
}

/// The fields of a JSON-RPC message the server looks at.
#[derive(serde::Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
}

fn answer(format: Format, body: &[u8]) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: Option<&'static str>, body: Bytes| {
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        if let Some(t) = content_type {
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(t));
        }
        r
    };
    let Ok(message) = serde_json::from_slice::<Message<'_>>(body) else {
        return reply(StatusCode::BAD_REQUEST, None, Bytes::new());
    };
    let Some(id) = message.id else {
        return reply(StatusCode::ACCEPTED, None, Bytes::new()); // a notification
    };
    let method = message.method.as_deref().unwrap_or("");
    let result = match method {
        "initialize" => {
            r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"load-server","version":"1"}}"#
        }
        "tools/call" => r#"{"content":[{"type":"text","text":"x"}],"isError":false}"#,
        _ => "{}",
    };
    let json = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.get());
    let mut response = match format {
        Format::Json => reply(StatusCode::OK, Some("application/json"), json.into()),
        Format::Sse => reply(
            StatusCode::OK,
            Some("text/event-stream"),
            format!("event: message\ndata: {json}\n\n").into(),
        ),
    };
    if method == "initialize" {
        response
            .headers_mut()
            .insert("mcp-session-id", HeaderValue::from_static(SESSION_ID));
    }
    response
}

async fn serve(
    format: Format,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if request.method() != Method::POST {
        // No server stream (GET), nothing to end (DELETE).
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(r);
    }
    let body = request.into_body().collect().await?.to_bytes();
    Ok(answer(format, &body))
}

fn server(format: Format) {
    pin_to(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("port {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        // The harness holds our stdin: when it closes, the run is over.
        let (gone_tx, mut gone) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = gone_tx.send(());
        });
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => accepted.unwrap(),
                _ = &mut gone => return,
            };
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |r| serve(format, r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}

// ----- the clients ------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    McpwireTokio,
    McpwireSmol,
    McpwireSmolLocal,
    BareHyper,
}

const STACKS: [Stack; 4] = [
    Stack::McpwireTokio,
    Stack::McpwireSmol,
    Stack::McpwireSmolLocal,
    Stack::BareHyper,
];

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::McpwireTokio => "mcpwire-tokio",
            Stack::McpwireSmol => "mcpwire-smol",
            Stack::McpwireSmolLocal => "mcpwire-smol-local",
            Stack::BareHyper => "bare-hyper",
        }
    }

    fn parse(s: &str) -> Stack {
        STACKS
            .into_iter()
            .find(|x| x.name() == s)
            .unwrap_or_else(|| panic!("stack {s:?}"))
    }
}

/// Calls made by every loop, and when to stop.
struct Window {
    until: Instant,
    /// Calls left to start, when the window is a number of calls rather than a duration.
    budget: Option<AtomicI64>,
    calls: AtomicU64,
}

impl Window {
    /// Whether a loop starts another call.
    fn more(&self) -> bool {
        match &self.budget {
            Some(left) => left.fetch_sub(1, Ordering::Relaxed) > 0,
            None => Instant::now() < self.until,
        }
    }
}

/// The tool's arguments, typed as a Rust application passes them: building them is the
/// application's work, not the client's (as the bare loop's bytes are made by its `format!`),
/// so the loop does not build a `serde_json::Value` per call (three allocations, about 1,000
/// instructions, that the first load runs counted as the client's).
#[derive(serde::Serialize)]
struct Echo<'a> {
    message: &'a str,
}

async fn mcpwire_loop(client: Client, window: Arc<Window>) {
    let mut n = 0;
    while window.more() {
        let result = client
            .call_tool("echo", &Echo { message: "x" })
            .await
            .expect("echo");
        black_box(result);
        n += 1;
    }
    window.calls.fetch_add(n, Ordering::Relaxed);
}

type Conn = http1::SendRequest<Full<Bytes>>;

/// The bare loop: a connection, the request mcpwire sends (the same headers, the same body
/// byte for byte but the id), nothing parsed.
async fn bare_loop(
    mut conn: Conn,
    template: Arc<Request<()>>,
    ids: Arc<AtomicU64>,
    window: Arc<Window>,
) -> Conn {
    let mut n = 0;
    while window.more() {
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"arguments":{{"message":"x"}},"name":"echo"}}}}"#
        );
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = template.method().clone();
        *request.uri_mut() = template.uri().clone();
        *request.headers_mut() = template.headers().clone();
        conn.ready().await.expect("connection ready");
        let response = conn.send_request(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        black_box(
            response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes(),
        );
        n += 1;
    }
    window.calls.fetch_add(n, Ordering::Relaxed);
    conn
}

/// `k` keep-alive connections to `url`, and the session of an `initialize` on the first.
async fn bare_connect(url: &str, k: usize) -> (Vec<Conn>, Arc<Request<()>>) {
    let uri: hyper::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().as_str().to_owned();
    let mut conns = Vec::new();
    for _ in 0..k {
        let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (send, conn) = http1::handshake(TokioIo::new(tcp)).await.unwrap();
        tokio::spawn(conn);
        conns.push(send);
    }
    let post = |session: Option<&HeaderValue>| {
        let mut r = Request::post(uri.path())
            .header(HOST, &authority)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(s) = session {
            r = r
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        r
    };
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bare-hyper","version":"1"}}}"#;
    let conn = &mut conns[0];
    conn.ready().await.unwrap();
    let response = conn
        .send_request(
            post(None)
                .body(Full::new(Bytes::from_static(init.as_bytes())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let session = response
        .headers()
        .get("mcp-session-id")
        .expect("a session id")
        .clone();
    response.into_body().collect().await.unwrap();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    conn.ready().await.unwrap();
    let response = conn
        .send_request(
            post(Some(&session))
                .body(Full::new(Bytes::from_static(note.as_bytes())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.into_body().collect().await.unwrap();
    (conns, Arc::new(post(Some(&session)).body(()).unwrap()))
}

/// What one client process measured.
struct Figures {
    calls: u64,
    wall: Duration,
    before: Usage,
    after: Usage,
}

fn client(stack: Stack, k: usize, url: &str) {
    pin_to(0);
    let warmup = Duration::from_millis(env_u64("MCPWIRE_BENCH_WARMUP_MS", 300));
    let secs = Duration::from_secs_f64(
        std::env::var("MCPWIRE_BENCH_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2.0),
    );
    // For a profiler: a number of calls instead of a duration (the warm-up too), so that two
    // runs differ by exactly so many calls.
    let calls = std::env::var("MCPWIRE_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok());
    let warmup_calls = calls.map(|_| env_u64("MCPWIRE_BENCH_WARMUP_CALLS", 1000) as i64);
    let window = |d: Duration, budget: Option<i64>| {
        Arc::new(Window {
            until: Instant::now() + d,
            budget: budget.map(AtomicI64::new),
            calls: AtomicU64::new(0),
        })
    };
    // Runs one window on a stack: `run` spawns the loops and waits for them.
    let measure = |run: &mut dyn FnMut(Arc<Window>)| {
        run(window(warmup, warmup_calls));
        let before = usage();
        let start = Instant::now();
        let w = window(secs, calls);
        run(w.clone());
        Figures {
            calls: w.calls.load(Ordering::Relaxed),
            wall: start.elapsed(),
            before,
            after: usage(),
        }
    };
    let figures = match stack {
        Stack::McpwireTokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let runtime = Arc::new(mcpwire::runtime::Tokio::new(rt.handle().clone()));
            let client = rt.block_on(async {
                Client::builder()
                    .revision(Revision::Legacy)
                    .connect_with(runtime, url)
                    .await
                    .expect("mcpwire connects")
            });
            measure(&mut |w| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..k)
                        .map(|_| tokio::spawn(mcpwire_loop(client.clone(), w.clone())))
                        .collect();
                    for t in tasks {
                        t.await.expect("loop");
                    }
                })
            })
        }
        Stack::McpwireSmol => {
            let client = smol::block_on(async {
                Client::builder()
                    .revision(Revision::Legacy)
                    .connect_with(Arc::new(mcpwire::runtime::Smol), url)
                    .await
                    .expect("mcpwire connects")
            });
            measure(&mut |w| {
                smol::block_on(async {
                    let tasks: Vec<_> = (0..k)
                        .map(|_| smol::spawn(mcpwire_loop(client.clone(), w.clone())))
                        .collect();
                    for t in tasks {
                        t.await;
                    }
                })
            })
        }
        Stack::McpwireSmolLocal => {
            let ex = Arc::new(smol::Executor::new());
            let runtime = Arc::new(mcpwire::runtime::SmolExecutor::new(ex.clone()));
            let client = smol::block_on(ex.run(async {
                Client::builder()
                    .revision(Revision::Legacy)
                    .connect_with(runtime, url)
                    .await
                    .expect("mcpwire connects")
            }));
            measure(&mut |w| {
                smol::block_on(ex.run(async {
                    let tasks: Vec<_> = (0..k)
                        .map(|_| ex.spawn(mcpwire_loop(client.clone(), w.clone())))
                        .collect();
                    for t in tasks {
                        t.await;
                    }
                }))
            })
        }
        Stack::BareHyper => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let (conns, template) = rt.block_on(bare_connect(url, k));
            let ids = Arc::new(AtomicU64::new(1));
            let mut conns = Some(conns);
            measure(&mut |w| {
                let back = rt.block_on(async {
                    let tasks: Vec<_> = conns
                        .take()
                        .unwrap()
                        .into_iter()
                        .map(|c| {
                            tokio::spawn(bare_loop(c, template.clone(), ids.clone(), w.clone()))
                        })
                        .collect();
                    let mut back = Vec::new();
                    for t in tasks {
                        back.push(t.await.expect("loop"));
                    }
                    back
                });
                conns = Some(back);
            })
        }
    };
    let Figures {
        calls,
        wall,
        before,
        after,
    } = figures;
    println!(
        "calls={calls} wall_s={:.6} user_s={:.6} sys_s={:.6} maxrss_kib={}",
        wall.as_secs_f64(),
        (after.user - before.user).as_secs_f64(),
        (after.sys - before.sys).as_secs_f64(),
        after.maxrss_kib
    );
    std::io::stdout().flush().unwrap();
    // No teardown to wait for: the figures are out.
    std::process::exit(0);
}

// ----- the harness --------------------------------------------------------------------------

/// A server process, ended when dropped (its stdin closes, then it is killed).
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(format: Format) -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--server", format.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .unwrap_or_else(|| panic!("the server said {line:?}"));
        ServerProcess {
            url: format!("http://127.0.0.1:{port}/mcp"),
            child,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client process's line, per call.
#[derive(Clone, Copy)]
struct Sample {
    calls_per_s: f64,
    cpu_us: f64,
    user_us: f64,
    sys_us: f64,
    maxrss_mib: f64,
}

fn run_client(stack: Stack, k: usize, format: Format, url: &str) -> Sample {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--client", stack.name(), &k.to_string(), format.name(), url])
        .stderr(Stdio::inherit())
        .output()
        .expect("run a client");
    assert!(
        out.status.success(),
        "{} {k} {}: {}",
        stack.name(),
        format.name(),
        out.status
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    let calls = field("calls");
    let (user, sys) = (field("user_s"), field("sys_s"));
    Sample {
        calls_per_s: calls / field("wall_s"),
        cpu_us: (user + sys) * 1e6 / calls,
        user_us: user * 1e6 / calls,
        sys_us: sys * 1e6 / calls,
        maxrss_mib: field("maxrss_kib") / 1024.0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The medians of one configuration's samples.
#[derive(Clone, Copy)]
struct Medians {
    calls_per_s: f64,
    cpu_us: f64,
    user_us: f64,
    sys_us: f64,
    maxrss_mib: f64,
}

fn medians(samples: &[Sample]) -> Medians {
    let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Medians {
        calls_per_s: m(|s| s.calls_per_s),
        cpu_us: m(|s| s.cpu_us),
        user_us: m(|s| s.user_us),
        sys_us: m(|s| s.sys_us),
        maxrss_mib: m(|s| s.maxrss_mib),
    }
}

/// `/proc/loadavg`'s 1-, 5- and 15-minute load averages (the machine may be shared).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn harness() {
    let load_before = load_average();
    let reps = env_u64("MCPWIRE_BENCH_REPS", 3).max(1) as usize;
    let ks: Vec<usize> = env_list("MCPWIRE_BENCH_K", "1,8,64")
        .iter()
        .map(|k| k.parse().expect("MCPWIRE_BENCH_K: numbers"))
        .collect();
    let formats: Vec<Format> = env_list("MCPWIRE_BENCH_FORMATS", "json,sse")
        .iter()
        .map(|f| Format::parse(f))
        .collect();
    let stacks: Vec<Stack> = env_list(
        "MCPWIRE_BENCH_STACKS",
        "mcpwire-tokio,mcpwire-smol,mcpwire-smol-local,bare-hyper",
    )
    .iter()
    .map(|s| Stack::parse(s))
    .collect();
    let pinned = std::env::var("MCPWIRE_BENCH_PIN").is_ok_and(|v| v == "1");
    eprintln!(
        "load: {reps} repetitions, {}s each, k = {ks:?}, {}",
        std::env::var("MCPWIRE_BENCH_SECS").unwrap_or_else(|_| "2".into()),
        if pinned {
            "server on CPU 1, clients on CPU 0"
        } else {
            "not pinned (MCPWIRE_BENCH_PIN=1 pins)"
        }
    );
    // (format, k, stack) -> samples
    let mut results: Vec<((Format, usize, Stack), Vec<Sample>)> = Vec::new();
    for &format in &formats {
        let server = ServerProcess::start(format);
        for rep in 0..reps {
            for &k in &ks {
                for &stack in &stacks {
                    let s = run_client(stack, k, format, &server.url);
                    eprintln!(
                        "  rep {} {:<4} k={k:<3} {:<14} {:>9.0} calls/s {:>7.2} us CPU/call ({:.2} user + {:.2} sys) {:>6.1} MiB peak",
                        rep + 1,
                        format.name(),
                        stack.name(),
                        s.calls_per_s,
                        s.cpu_us,
                        s.user_us,
                        s.sys_us,
                        s.maxrss_mib
                    );
                    match results
                        .iter_mut()
                        .find(|(key, _)| *key == (format, k, stack))
                    {
                        Some((_, v)) => v.push(s),
                        None => results.push(((format, k, stack), vec![s])),
                    }
                }
            }
        }
    }
    let get = |f: Format, k: usize, s: Stack| {
        results
            .iter()
            .find(|(key, _)| *key == (f, k, s))
            .map(|(_, v)| medians(v))
    };
    println!(
        "\nload: medians of {reps} runs per configuration (client process: CPU = user + sys per call, peak RSS); load average {load_before} before, {} after\n",
        load_average()
    );
    println!("| format | in flight | stack | calls/s | CPU µs/call (user + sys) | peak RSS MiB |");
    println!("|---|---:|---|---:|---:|---:|");
    for &f in &formats {
        for &k in &ks {
            for &s in &stacks {
                if let Some(m) = get(f, k, s) {
                    println!(
                        "| {} | {k} | {} | {:.0} | {:.2} ({:.2} + {:.2}) | {:.1} |",
                        f.name(),
                        s.name(),
                        m.calls_per_s,
                        m.cpu_us,
                        m.user_us,
                        m.sys_us,
                        m.maxrss_mib
                    );
                }
            }
        }
    }
    println!("\nratios to bare-hyper in the same run (targets: calls/s >= 0.9x at 1, >= 0.8x at 8 and 64; CPU/call <= 1.25x; peak RSS <= 1.5x)\n");
    let cols: Vec<String> = ["calls/s", "CPU/call", "peak RSS"]
        .iter()
        .flat_map(|what| ks.iter().map(move |k| format!("{what} k={k}")))
        .collect();
    println!("| stack | format | {} |", cols.join(" | "));
    println!("|---|---|{}", "---:|".repeat(cols.len()));
    for &s in stacks.iter().filter(|s| **s != Stack::BareHyper) {
        for &f in &formats {
            let mut cells = Vec::new();
            for what in 0..3 {
                for &k in &ks {
                    let cell = match (get(f, k, s), get(f, k, Stack::BareHyper)) {
                        (Some(m), Some(b)) => {
                            let r = match what {
                                0 => m.calls_per_s / b.calls_per_s,
                                1 => m.cpu_us / b.cpu_us,
                                _ => m.maxrss_mib / b.maxrss_mib,
                            };
                            format!("{r:.2}x")
                        }
                        _ => "-".into(),
                    };
                    cells.push(cell);
                }
            }
            println!("| {} | {} | {} |", s.name(), f.name(), cells.join(" | "));
        }
    }
    let smols = [Stack::McpwireSmol, Stack::McpwireSmolLocal];
    if stacks.contains(&Stack::McpwireTokio) && smols.iter().any(|s| stacks.contains(s)) {
        println!("\nsmol / tokio, CPU per call (target <= 1.2x)\n");
        println!(
            "| stack | format | {} |",
            ks.iter()
                .map(|k| format!("k={k}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        println!("|---|---|{}", "---:|".repeat(ks.len()));
        for smol in smols.into_iter().filter(|s| stacks.contains(s)) {
            for &f in &formats {
                let cells: Vec<String> = ks
                    .iter()
                    .map(
                        |&k| match (get(f, k, smol), get(f, k, Stack::McpwireTokio)) {
                            (Some(s), Some(t)) => format!("{:.2}x", s.cpu_us / t.cpu_us),
                            _ => "-".into(),
                        },
                    )
                    .collect();
                println!("| {} | {} | {} |", smol.name(), f.name(), cells.join(" | "));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--server") => server(Format::parse(&args[2])),
        Some("--client") => {
            let k = args[3].parse().expect("k");
            let _ = Format::parse(&args[4]); // the server's, said for the record
            client(Stack::parse(&args[2]), k, &args[5]);
        }
        // `cargo bench` passes `--bench`; `cargo test` runs benches without it: do nothing then.
        _ if args.iter().any(|a| a == "--bench") => harness(),
        _ => {}
    }
}
