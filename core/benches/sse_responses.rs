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
//! Run: `cargo bench -p mcpwire-core --bench sse_responses`.

mod driver;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mcpwire_core::sse::{SseDecoder, SseLimits};
use mcpwire_core::Output;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use driver::{body, count_ok, drain, end, head, ready_http, start_requests, Heads};

const BODY_MAX: usize = 64 << 10;

fn message(id: usize) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"ok"}}]}}}}"#)
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

fn bench(c: &mut Criterion) {
    let (messages, sse_body) = corpus();
    let n = messages.len();
    let heads = Heads::new();
    eprintln!("sse_responses: {n} events, {} bytes of body", sse_body.len());

    let mut g = c.benchmark_group("sse_responses");
    g.throughput(Throughput::Bytes(sse_body.len() as u64));

    g.bench_function("serde_json/value", |b| {
        b.iter_batched(
            || Vec::with_capacity(n),
            |mut out: Vec<Value>| {
                for m in &messages {
                    out.push(serde_json::from_str(m).unwrap());
                }
                out
            },
            BatchSize::SmallInput,
        )
    });

    g.bench_function("serde_json/raw_result", |b| {
        b.iter_batched(
            || Vec::with_capacity(n),
            |mut out: Vec<Minimal>| {
                for m in &messages {
                    out.push(serde_json::from_str(m).unwrap());
                }
                out
            },
            BatchSize::SmallInput,
        )
    });

    let limits = SseLimits { max_line: 16 << 20, max_event: 16 << 20 };
    g.bench_function("sse_decoder", |b| {
        b.iter_batched(
            || (SseDecoder::new(limits), Vec::with_capacity(n)),
            |(mut d, mut events)| {
                d.feed(&sse_body, &mut events).unwrap();
                (d, events)
            },
            BatchSize::SmallInput,
        )
    });

    // One session per timed iteration: its setup (handshake, n requests) is far slower than
    // the routine, so fewer samples fit; criterion's warning about it is expected.
    let setup = || {
        let now = Instant::now();
        let mut s = ready_http(now, &heads);
        let exchanges = start_requests(&mut s, now, n);
        (s, now, exchanges, Vec::<Output>::with_capacity(n + 8))
    };
    let check = |out: &[Output]| assert_eq!(count_ok(out), n, "every request completed");

    for (name, chunk) in [("session/one_exchange", sse_body.len()), ("session/one_exchange_8k_chunks", 8 << 10)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                setup,
                |(mut s, now, exchanges, mut out)| {
                    let x = exchanges[0];
                    head(&mut s, now, x, 200, &heads.sse);
                    for piece in sse_body.chunks(chunk) {
                        body(&mut s, now, x, piece);
                    }
                    end(&mut s, now, x);
                    drain(&mut s, &mut out);
                    (s, out)
                },
                BatchSize::PerIteration,
            )
        });
    }

    let events: Vec<String> = (1..=n).map(event).collect();
    g.bench_function("session/per_exchange", |b| {
        b.iter_batched(
            setup,
            |(mut s, now, exchanges, mut out)| {
                for (x, e) in exchanges.iter().zip(&events) {
                    head(&mut s, now, *x, 200, &heads.sse);
                    body(&mut s, now, *x, e.as_bytes());
                    end(&mut s, now, *x);
                }
                drain(&mut s, &mut out);
                (s, out)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // The routines above are checked once, untimed.
    for chunk in [sse_body.len(), 8 << 10] {
        let (mut s, now, exchanges, mut out) = setup();
        head(&mut s, now, exchanges[0], 200, &heads.sse);
        for piece in sse_body.chunks(chunk) {
            body(&mut s, now, exchanges[0], piece);
        }
        end(&mut s, now, exchanges[0]);
        drain(&mut s, &mut out);
        check(&out);
    }
    let (mut s, now, exchanges, mut out) = setup();
    for (x, e) in exchanges.iter().zip(&events) {
        head(&mut s, now, *x, 200, &heads.sse);
        body(&mut s, now, *x, e.as_bytes());
        end(&mut s, now, *x);
    }
    drain(&mut s, &mut out);
    check(&out);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}
criterion_main!(benches);
