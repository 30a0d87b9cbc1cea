//! Decoding a 64 KiB `text/event-stream` body of small JSON-RPC responses through a
//! `mcpwire_core::Session` (HTTP) and completing their requests, against serde_json alone
//! parsing the same messages.
//!
//! The body holds as many events
//! `data: {"jsonrpc":"2.0","id":N,"result":{"content":[{"type":"text","text":"ok"}]}}` as fit
//! in 64 KiB (N = 1, 2, ...). Benchmarks (all over the same messages):
//!
//! - `serde_json/value`: `serde_json::from_str::<Value>` of each message text (pre-split).
//! - `serde_json/raw_result`: `from_str` into `struct { id: u64, result: Box<RawValue> }`.
//! - `sse_decoder`: `SseDecoder::feed` of the whole body alone (framing, no JSON).
//! - `session/one_exchange`: one response head (200, `text/event-stream`), the whole body as one
//!   chunk, the end, then draining every output (one `Event::Response` per request).
//! - `session/one_exchange_8k_chunks`: the same, the body fed in 8 KiB chunks.
//! - `session/per_exchange`: each request answered on its own exchange: head, one event, end.
//!
//! Timed (inside the routine): `Session::handle_input` for the head, body chunk(s) and end, and
//! `poll_output` until `Wait`, pushing each output into a Vec allocated in setup. Untimed
//! (setup, by `iter_batched` with one input per timing): creating the session, the handshake,
//! starting the requests and taking their POSTs; and dropping the session and the outputs
//! afterwards. The baselines likewise keep their results and drop them untimed.
//!
//! Run: `cargo bench -p mcpwire-core --bench sse_responses`. Profile one routine (instruction
//! counts of the timed part only):
//! `MCPWIRE_BENCH_PROFILE=one_exchange valgrind --tool=callgrind --toggle-collect='sse_responses::timed_*' <bench binary>`
//! (routines: value, raw_result, sse_decoder, one_exchange, one_exchange_8k_chunks, per_exchange).

use std::time::Instant;

use std::hint::black_box;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use mcpwire_core::sse::{SseDecoder, SseEvent, SseLimits};
use mcpwire_core::{ExchangeId, Output, Session};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use mcpwire_core::fuzzing::harness::raw::{
    body, count_ok, drain, end, head, output_vec, ready_http, start_requests, Heads,
};

const BODY_MAX: usize = 64 << 10;

fn message(id: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"ok"}}]}}}}"#
    )
}

fn event(id: usize) -> String {
    format!("data: {}\n\n", message(id))
}

/// The messages and the SSE body holding them: as many events as fit in 64 KiB.
fn corpus() -> (Vec<String>, Vec<u8>) {
    let mut messages = Vec::new();
    let mut body = Vec::new();
    for id in 1.. {
        let e = event(id);
        if body.len() + e.len() > BODY_MAX {
            break;
        }
        body.extend_from_slice(e.as_bytes());
        messages.push(message(id));
    }
    (messages, body)
}

/// The minimal typed baseline: what a client must take from a response.
#[derive(Deserialize)]
struct Minimal {
    #[allow(dead_code)]
    id: u64,
    #[allow(dead_code)]
    result: Box<RawValue>,
}

type Input = (Session, Instant, Vec<ExchangeId>, Vec<Output>);

/// Everything a timed iteration needs, built once.
struct Fixture {
    messages: Vec<String>,
    sse_body: Vec<u8>,
    events: Vec<String>,
    heads: Heads,
}

impl Fixture {
    fn new() -> Fixture {
        let (messages, sse_body) = corpus();
        let events = (1..=messages.len()).map(event).collect();
        Fixture {
            messages,
            sse_body,
            events,
            heads: Heads::new(),
        }
    }

    fn n(&self) -> usize {
        self.messages.len()
    }

    /// Untimed: a ready session with one request outstanding per message.
    fn setup(&self) -> Input {
        let now = Instant::now();
        let mut s = ready_http(now, &self.heads);
        let exchanges = start_requests(&mut s, now, self.n());
        (s, now, exchanges, output_vec(self.n() + 8))
    }
}

// The timed routines, one function each (never inlined, so that a profiler can single them
// out: `valgrind --tool=callgrind --toggle-collect='sse_responses::timed_*'`).

#[inline(never)]
fn timed_value(f: &Fixture, mut out: Vec<Value>) -> Vec<Value> {
    for m in &f.messages {
        out.push(serde_json::from_str(m).unwrap());
    }
    out
}

#[inline(never)]
fn timed_raw_result(f: &Fixture, mut out: Vec<Minimal>) -> Vec<Minimal> {
    for m in &f.messages {
        out.push(serde_json::from_str(m).unwrap());
    }
    out
}

#[inline(never)]
fn timed_sse_decoder(
    f: &Fixture,
    (mut d, mut events): (SseDecoder, Vec<SseEvent>),
) -> (SseDecoder, Vec<SseEvent>) {
    d.feed(&f.sse_body, &mut events).unwrap();
    (d, events)
}

#[inline(never)]
fn timed_one_exchange(
    f: &Fixture,
    chunk: usize,
    (mut s, now, exchanges, mut out): Input,
) -> (Session, Vec<Output>) {
    let x = exchanges[0];
    head(&mut s, now, x, 200, &f.heads.sse);
    for piece in f.sse_body.chunks(chunk) {
        body(&mut s, now, x, piece);
    }
    end(&mut s, now, x);
    drain(&mut s, &mut out);
    (s, out)
}

#[inline(never)]
fn timed_per_exchange(
    f: &Fixture,
    (mut s, now, exchanges, mut out): Input,
) -> (Session, Vec<Output>) {
    for (x, e) in exchanges.iter().zip(&f.events) {
        head(&mut s, now, *x, 200, &f.heads.sse);
        body(&mut s, now, *x, e.as_bytes());
        end(&mut s, now, *x);
    }
    drain(&mut s, &mut out);
    (s, out)
}

const LIMITS: SseLimits = SseLimits {
    max_line: 16 << 20,
    max_event: 16 << 20,
};
const CHUNK_8K: usize = 8 << 10;

fn bench(c: &mut Criterion) {
    let f = Fixture::new();
    let n = f.n();
    eprintln!(
        "sse_responses: {n} events, {} bytes of body",
        f.sse_body.len()
    );

    // Each routine is checked once, untimed.
    for chunk in [f.sse_body.len(), CHUNK_8K] {
        assert_eq!(count_ok(&timed_one_exchange(&f, chunk, f.setup()).1), n);
    }
    assert_eq!(count_ok(&timed_per_exchange(&f, f.setup()).1), n);
    assert_eq!(
        timed_sse_decoder(&f, (SseDecoder::new(LIMITS), Vec::new()))
            .1
            .len(),
        n
    );

    let mut g = c.benchmark_group("sse_responses");
    g.throughput(Throughput::Bytes(f.sse_body.len() as u64));
    g.bench_function("serde_json/value", |b| {
        b.iter_batched(
            || Vec::with_capacity(n),
            |out| timed_value(&f, out),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("serde_json/raw_result", |b| {
        b.iter_batched(
            || Vec::with_capacity(n),
            |out| timed_raw_result(&f, out),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("sse_decoder", |b| {
        b.iter_batched(
            || (SseDecoder::new(LIMITS), Vec::with_capacity(n)),
            |input| timed_sse_decoder(&f, input),
            BatchSize::SmallInput,
        )
    });
    // One session per timed iteration: its setup (handshake, n requests) is far slower than
    // the routine, so fewer samples fit; criterion's warning about it is expected.
    g.bench_function("session/one_exchange", |b| {
        b.iter_batched(
            || f.setup(),
            |input| timed_one_exchange(&f, f.sse_body.len(), input),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("session/one_exchange_8k_chunks", |b| {
        b.iter_batched(
            || f.setup(),
            |input| timed_one_exchange(&f, CHUNK_8K, input),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("session/per_exchange", |b| {
        b.iter_batched(
            || f.setup(),
            |input| timed_per_exchange(&f, input),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// `MCPWIRE_BENCH_PROFILE=<routine> [MCPWIRE_BENCH_ROUNDS=n]`: runs one routine `n` times
/// (default 20) without criterion, for a profiler; setup stays outside the `timed_*` functions.
fn profile(which: &str) {
    let f = Fixture::new();
    let rounds: usize = std::env::var("MCPWIRE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for _ in 0..rounds {
        match which {
            "value" => drop(black_box(timed_value(&f, Vec::with_capacity(f.n())))),
            "raw_result" => drop(black_box(timed_raw_result(&f, Vec::with_capacity(f.n())))),
            "sse_decoder" => drop(black_box(timed_sse_decoder(
                &f,
                (SseDecoder::new(LIMITS), Vec::with_capacity(f.n())),
            ))),
            "one_exchange" => drop(black_box(timed_one_exchange(
                &f,
                f.sse_body.len(),
                f.setup(),
            ))),
            "one_exchange_8k_chunks" => {
                drop(black_box(timed_one_exchange(&f, CHUNK_8K, f.setup())))
            }
            "per_exchange" => drop(black_box(timed_per_exchange(&f, f.setup()))),
            other => panic!("unknown routine {other}"),
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}

fn main() {
    if let Ok(which) = std::env::var("MCPWIRE_BENCH_PROFILE") {
        return profile(&which);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
