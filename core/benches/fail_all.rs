//! Failing 10,000 outstanding requests on one 5xx.
//!
//! Setup (untimed, one session per timing): a ready HTTP session, 10,000 `tools/call` requests
//! started and their POSTs taken. Timed: a `503` head on the first request's exchange, the end
//! of its (empty) body, and `poll_output` until `Wait`: 10,000 `Event::Response` errors in
//! ascending id, then `Event::Closed` — 10,001 outputs pushed into a Vec allocated in setup.
//! Dropping the session and the outputs afterwards is untimed (but freeing the session's
//! request, exchange and timer tables happens inside `fail_session`, so that part is timed).
//!
//! Target: under 5 ms.
//!
//! Run: `cargo bench -p mcpwire-core --bench fail_all`.

mod driver;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use mcpwire_core::{Error, Event, Output};

use driver::{drain, end, head, ready_http, start_requests, Heads};

const N: usize = 10_000;

fn check(out: &[Output]) {
    assert_eq!(out.len(), N + 1);
    for (i, o) in out[..N].iter().enumerate() {
        match o {
            Output::Event(Event::Response { id, result: Err(Error::Http(e)) }) => {
                assert_eq!(id.0, i as u64 + 1);
                assert_eq!(e.status, 503);
            }
            other => panic!("expected a failed response, got {other:?}"),
        }
    }
    assert!(matches!(out[N], Output::Event(Event::Closed(Error::Http(_)))));
}

fn bench(c: &mut Criterion) {
    let heads = Heads::new();
    let setup = || {
        let now = Instant::now();
        let mut s = ready_http(now, &heads);
        let exchanges = start_requests(&mut s, now, N);
        (s, now, exchanges[0], Vec::<Output>::with_capacity(N + 8))
    };
    let routine = |(mut s, now, x, mut out): (mcpwire_core::Session, Instant, _, Vec<Output>)| {
        head(&mut s, now, x, 503, &heads.none);
        end(&mut s, now, x);
        drain(&mut s, &mut out);
        (s, out)
    };

    let (_, out) = routine(setup());
    check(&out);

    let mut g = c.benchmark_group("fail_all");
    g.sample_size(30).measurement_time(Duration::from_secs(10));
    g.bench_function("10k_outstanding_on_503", |b| b.iter_batched(setup, routine, BatchSize::PerIteration));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
