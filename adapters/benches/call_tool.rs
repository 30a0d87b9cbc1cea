//! CPU time per `tools/call`: `Client::call_tool("echo", {"message":"x"})` against a bare hyper
//! HTTP/1.1 keep-alive POST loop sending the same JSON-RPC body (with the `Mcp-Session-Id` of a
//! prior `initialize`) to the same loopback `mcpwire-testserver`, at 1 and at 64 calls in
//! flight.
//!
//! Two setups, both with the client on a current-thread tokio runtime driven by the main thread:
//!
//! - `in_process`: the server runs on that same runtime (`TestServer::start`), so one thread
//!   does everything; the figure is the process's CPU time per call (`CLOCK_PROCESS_CPUTIME_ID`),
//!   client and server together. The server's share is in both stacks' figures, which
//!   makes the ratio client-stack / bare-hyper smaller than the client-side ratio.
//! - `split`: the server runs on its own multi-thread runtime and threads
//!   (`TestServer::start_in_thread`); the figure is the main thread's CPU time per call
//!   (`CLOCK_THREAD_CPUTIME_ID`): the client side alone, every client task included (they all
//!   run on the main thread). The process figure minus it is the server's share.
//!   `MCPWIRE_BENCH_PIN=1` pins the server's threads to CPU 1 and the client to CPU 0.
//!
//!   In this setup every call crosses threads twice; on a mostly idle VM the wake-ups of
//!   sleeping threads make the kernel share of both stacks (and so the absolute figures) much
//!   larger than under load. Compare ratios taken in one run, not figures across runs.
//!
//! Each of the `k` in flight is a sequential loop in a spawned task (also for k = 1: a call
//! awaited by `block_on` itself would be woken through the runtime's unpark, an eventfd
//! write per call that no application running in tasks pays). At 64 in flight the bare loop
//! uses 64 keep-alive connections (HTTP/1.1 has no multiplexing), as mcpwire's pool does. The
//! bare loop does not parse the response; the client parses it (as `RawValue` in the core,
//! then as `CallToolResult`).
//!
//! After the criterion benchmarks, a summary runs its own trials (the two stacks interleaved,
//! `MCPWIRE_BENCH_TRIALS` rounds, default 5, each ~`MCPWIRE_BENCH_TRIAL_MS` ms, default 1000)
//! and prints medians and ranges of wall time, process CPU and main-thread CPU per call, and
//! the ratios. `MCPWIRE_BENCH_CRITERION=0` skips criterion, `MCPWIRE_BENCH_SUMMARY=0` the
//! summary; `MCPWIRE_BENCH_SETUPS=split` (or `in_process`) runs one setup only.
//!
//! Run: `cargo bench -p mcpwire --bench call_tool`. CPU times are read with rustix's
//! `clock_gettime` (no libc).
//!
//! Profile one stack, split setup, client on the main thread:
//! `MCPWIRE_BENCH_PROFILE=mcpwire|bare_hyper MCPWIRE_BENCH_K=1 MCPWIRE_BENCH_CALLS=3000
//! valgrind --tool=callgrind --separate-threads=yes <bench binary>` (the `-01` output is the
//! client thread; subtract a run with fewer calls to get per-call counts), or `perf record`.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use mcpwire::Client;
use mcpwire_testserver::TestServer;
use rustix::time::{clock_gettime, ClockId};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const IN_FLIGHT: [usize; 2] = [1, 64];
const PROTOCOL_VERSION: &str = "2025-11-25";

fn cpu(clock: ClockId) -> Duration {
    let t = clock_gettime(clock);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// What one run of `calls` calls cost.
#[derive(Clone, Copy, Debug)]
struct Cost {
    wall: Duration,
    process: Duration,
    thread: Duration,
}

impl Cost {
    /// Runs `f` to completion on `rt` (on this thread) and measures it.
    fn measure(rt: &Runtime, f: impl Future<Output = ()>) -> Cost {
        let (w, p, t) = (
            Instant::now(),
            cpu(ClockId::ProcessCPUTime),
            cpu(ClockId::ThreadCPUTime),
        );
        rt.block_on(f);
        Cost {
            wall: w.elapsed(),
            process: cpu(ClockId::ProcessCPUTime) - p,
            thread: cpu(ClockId::ThreadCPUTime) - t,
        }
    }
}

/// `calls` split over `workers` sequential loops.
fn shares(calls: u64, workers: usize) -> impl Iterator<Item = u64> {
    let (per, rest) = (calls / workers as u64, calls % workers as u64);
    (0..workers as u64)
        .map(move |w| per + u64::from(w < rest))
        .filter(|n| *n > 0)
}

// ----- the two stacks ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    Mcpwire,
    BareHyper,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::Mcpwire => "mcpwire",
            Stack::BareHyper => "bare_hyper",
        }
    }
}

/// Both clients, connected to one server.
struct Clients {
    mcpwire: Client,
    bare: Bare,
}

impl Clients {
    async fn connect(url: &str) -> Clients {
        let mcpwire = Client::connect(url).await.expect("mcpwire connects");
        let bare = Bare::connect(url, *IN_FLIGHT.iter().max().unwrap()).await;
        let clients = Clients { mcpwire, bare };
        // Warm both up at the largest concurrency (connections, buffers, allocator).
        clients.run(Stack::Mcpwire, 2000, 64).await;
        clients.run(Stack::BareHyper, 2000, 64).await;
        clients
    }

    async fn run(&self, stack: Stack, calls: u64, in_flight: usize) {
        match stack {
            Stack::Mcpwire => mcpwire_calls(&self.mcpwire, calls, in_flight).await,
            Stack::BareHyper => self.bare.calls(calls, in_flight).await,
        }
    }
}

async fn mcpwire_calls(client: &Client, calls: u64, in_flight: usize) {
    async fn one_loop(client: Client, n: u64) {
        for _ in 0..n {
            let result = client
                .call_tool("echo", serde_json::json!({"message": "x"}))
                .await
                .expect("echo");
            black_box(result);
        }
    }
    let mut set = JoinSet::new();
    for n in shares(calls, in_flight) {
        set.spawn(one_loop(client.clone(), n));
    }
    while let Some(r) = set.join_next().await {
        r.expect("worker");
    }
}

type Conn = http1::SendRequest<Full<Bytes>>;

/// A bare hyper HTTP/1.1 client: keep-alive connections, each used by one loop at a time.
struct Bare {
    conns: std::sync::Mutex<Vec<Conn>>,
    authority: HeaderValue,
    session: HeaderValue,
    ids: Arc<AtomicU64>,
}

impl Bare {
    async fn connect(url: &str, connections: usize) -> Bare {
        let uri: hyper::Uri = url.parse().unwrap();
        let authority = HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap();
        let mut conns = Vec::new();
        for _ in 0..connections {
            let tcp = tokio::net::TcpStream::connect(uri.authority().unwrap().as_str())
                .await
                .unwrap();
            tcp.set_nodelay(true).unwrap();
            let (send, conn) = http1::handshake(TokioIo::new(tcp)).await.unwrap();
            tokio::spawn(conn);
            conns.push(send);
        }
        // The handshake, on the first connection.
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bare-hyper","version":"1"}}}"#;
        let request = Request::post("/mcp")
            .header(HOST, authority.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(Full::new(Bytes::from_static(init.as_bytes())))
            .unwrap();
        conns[0].ready().await.unwrap();
        let response = conns[0].send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let session = response
            .headers()
            .get("mcp-session-id")
            .expect("a session id")
            .clone();
        response.into_body().collect().await.unwrap();
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let bare = Bare {
            conns: std::sync::Mutex::new(conns),
            authority,
            session,
            ids: Arc::new(AtomicU64::new(1)),
        };
        let mut conn = bare.take(1).pop().unwrap();
        let response = conn
            .send_request(bare.post(Bytes::from_static(note.as_bytes())))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.into_body().collect().await.unwrap();
        bare.give(vec![conn]);
        bare
    }

    fn take(&self, n: usize) -> Vec<Conn> {
        let mut conns = self.conns.lock().unwrap();
        let at = conns.len() - n;
        conns.split_off(at)
    }

    fn give(&self, conns: Vec<Conn>) {
        self.conns.lock().unwrap().extend(conns);
    }

    /// A POST of `body` with the headers mcpwire sends.
    fn post(&self, body: Bytes) -> Request<Full<Bytes>> {
        Request::post("/mcp")
            .header(HOST, self.authority.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .header("mcp-session-id", self.session.clone())
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(Full::new(body))
            .unwrap()
    }

    async fn calls(&self, calls: u64, in_flight: usize) {
        let template = Arc::new(self.post(Bytes::new()));
        async fn one_loop(
            mut conn: Conn,
            n: u64,
            template: Arc<Request<Full<Bytes>>>,
            ids: Arc<AtomicU64>,
        ) -> Conn {
            for _ in 0..n {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"x"}}}}}}"#
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
            }
            conn
        }
        let conns = self.take(in_flight);
        let mut set = JoinSet::new();
        let mut idle = Vec::new();
        let mut shares = shares(calls, in_flight);
        for conn in conns {
            match shares.next() {
                Some(n) => drop(set.spawn(one_loop(conn, n, template.clone(), self.ids.clone()))),
                None => idle.push(conn),
            }
        }
        while let Some(conn) = set.join_next().await {
            idle.push(conn.expect("worker"));
        }
        self.give(idle);
    }
}

// ----- the two setups ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Server on the client's runtime and thread.
    InProcess,
    /// Server on its own runtime and threads.
    Split,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::InProcess => "in_process",
            Setup::Split => "split",
        }
    }

    /// The figure criterion is given: the whole process's CPU in process, the client
    /// thread's when split.
    fn figure(self, c: &Cost) -> Duration {
        match self {
            Setup::InProcess => c.process,
            Setup::Split => c.thread,
        }
    }
}

struct World {
    setup: Setup,
    rt: Runtime,
    clients: Clients,
    _server: TestServer,
}

fn pin_to(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).expect("sched_setaffinity");
}

impl World {
    fn new(setup: Setup) -> World {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pin = std::env::var("MCPWIRE_BENCH_PIN").is_ok_and(|v| v == "1");
        let server = match setup {
            Setup::InProcess => rt.block_on(TestServer::start()),
            Setup::Split => {
                // Threads inherit the affinity of the thread that creates them.
                if pin {
                    pin_to(1);
                }
                let server = TestServer::start_in_thread();
                if pin {
                    pin_to(0);
                }
                server
            }
        };
        let clients = rt.block_on(Clients::connect(&server.url()));
        World {
            setup,
            rt,
            clients,
            _server: server,
        }
    }

    fn run(&self, stack: Stack, calls: u64, in_flight: usize) -> Cost {
        Cost::measure(&self.rt, self.clients.run(stack, calls, in_flight))
    }
}

// ----- criterion ----------------------------------------------------------------------------

fn criterion_benches(c: &mut Criterion, worlds: &[World]) {
    for world in worlds {
        let mut g = c.benchmark_group(format!("call_tool_cpu/{}", world.setup.name()));
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(4));
        for k in IN_FLIGHT {
            for stack in [Stack::Mcpwire, Stack::BareHyper] {
                g.bench_with_input(BenchmarkId::new(stack.name(), k), &k, |b, &k| {
                    b.iter_custom(|iters| world.setup.figure(&world.run(stack, iters, k)))
                });
            }
        }
        g.finish();
    }
}

// ----- summary ------------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Per-call microseconds of each trial: (wall, process, thread).
struct Trials {
    wall: Vec<f64>,
    process: Vec<f64>,
    thread: Vec<f64>,
}

impl Trials {
    fn push(&mut self, cost: Cost, calls: u64) {
        let us = |d: Duration| d.as_secs_f64() * 1e6 / calls as f64;
        self.wall.push(us(cost.wall));
        self.process.push(us(cost.process));
        self.thread.push(us(cost.thread));
    }
}

fn fmt(v: &[f64]) -> String {
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    format!("{:7.2} [{:6.2}–{:6.2}]", median(v.to_vec()), lo, hi)
}

fn summary(worlds: &[World]) {
    let trials: usize = std::env::var("MCPWIRE_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let trial_ms: u64 = std::env::var("MCPWIRE_BENCH_TRIAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    println!("\ncall_tool summary: per call, median [min–max] of {trials} trials, microseconds");
    println!(
        "{:<11} {:>3} {:<11} {:>27} {:>27} {:>27}",
        "setup", "k", "stack", "wall", "process CPU", "main-thread CPU"
    );
    for world in worlds {
        for k in IN_FLIGHT {
            // Size the trials from a short run of each stack.
            let calls: Vec<u64> = [Stack::Mcpwire, Stack::BareHyper]
                .iter()
                .map(|s| {
                    let probe = 500;
                    let wall = world.run(*s, probe, k).wall.as_secs_f64();
                    ((trial_ms as f64 / 1e3) / (wall / probe as f64)).max(probe as f64) as u64
                })
                .collect();
            let mut results: Vec<Trials> = (0..2)
                .map(|_| Trials {
                    wall: vec![],
                    process: vec![],
                    thread: vec![],
                })
                .collect();
            for _ in 0..trials {
                for (i, stack) in [Stack::Mcpwire, Stack::BareHyper].into_iter().enumerate() {
                    results[i].push(world.run(stack, calls[i], k), calls[i]);
                }
            }
            for (i, stack) in [Stack::Mcpwire, Stack::BareHyper].into_iter().enumerate() {
                let r = &results[i];
                println!(
                    "{:<11} {:>3} {:<11} {:>27} {:>27} {:>27}",
                    world.setup.name(),
                    k,
                    stack.name(),
                    fmt(&r.wall),
                    fmt(&r.process),
                    fmt(&r.thread)
                );
            }
            let ratio = |f: fn(&Trials) -> &Vec<f64>| {
                median(f(&results[0]).clone()) / median(f(&results[1]).clone())
            };
            let server = |r: &Trials| {
                median(
                    r.process
                        .iter()
                        .zip(&r.thread)
                        .map(|(p, t)| p - t)
                        .collect(),
                )
            };
            match world.setup {
                Setup::InProcess => println!(
                    "{:<11} {:>3} ratio mcpwire/bare: process CPU {:.3}x (target <= 1.25x), wall {:.3}x",
                    "",
                    k,
                    ratio(|r| &r.process),
                    ratio(|r| &r.wall)
                ),
                Setup::Split => println!(
                    "{:<11} {:>3} ratio mcpwire/bare: client-thread CPU {:.3}x (target <= 1.25x), process CPU {:.3}x, wall {:.3}x; server CPU/call {:.2} vs {:.2} us",
                    "",
                    k,
                    ratio(|r| &r.thread),
                    ratio(|r| &r.process),
                    ratio(|r| &r.wall),
                    server(&results[0]),
                    server(&results[1])
                ),
            }
        }
    }
}

fn main() {
    let on = |var: &str| std::env::var(var).map_or(true, |v| v != "0");
    // `MCPWIRE_BENCH_PROFILE=mcpwire|bare_hyper [MCPWIRE_BENCH_K=n] [MCPWIRE_BENCH_CALLS=n]`:
    // only that stack, split setup, for a profiler (the client is the main thread).
    if let Ok(stack) = std::env::var("MCPWIRE_BENCH_PROFILE") {
        let stack = if stack == "bare_hyper" {
            Stack::BareHyper
        } else {
            Stack::Mcpwire
        };
        let var = |v: &str, d: u64| {
            std::env::var(v)
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(d)
        };
        let world = World::new(Setup::Split);
        let before = world._server.stats();
        let (calls, k) = (
            var("MCPWIRE_BENCH_CALLS", 20_000),
            var("MCPWIRE_BENCH_K", 1) as usize,
        );
        // Wall time only: rustix's vDSO lookup for the CPU clocks does not run under valgrind.
        let wall = Instant::now();
        world.rt.block_on(world.clients.run(stack, calls, k));
        let wall = wall.elapsed();
        let after = world._server.stats();
        eprintln!(
            "{stack:?}: {calls} calls, {k} in flight, {wall:?}; server: {} connections accepted, {} POSTs during the run",
            after.connections - before.connections,
            after.posts - before.posts
        );
        return;
    }
    // Only benchmark when asked to (cargo bench passes --bench; cargo test runs this too).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let setups =
        std::env::var("MCPWIRE_BENCH_SETUPS").unwrap_or_else(|_| "in_process,split".into());
    let worlds: Vec<World> = [Setup::InProcess, Setup::Split]
        .into_iter()
        .filter(|s| setups.split(',').any(|name| name == s.name()))
        .map(World::new)
        .collect();
    if on("MCPWIRE_BENCH_CRITERION") {
        let mut c = Criterion::default().configure_from_args();
        criterion_benches(&mut c, &worlds);
        c.final_summary();
    }
    if on("MCPWIRE_BENCH_SUMMARY") {
        summary(&worlds);
    }
}
