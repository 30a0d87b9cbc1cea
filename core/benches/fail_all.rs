//! Failing 10,000 outstanding requests on one 5xx.
//!
//! Setup (untimed, one session per timing): a ready HTTP session, 10,000 `tools/call` requests
//! started and their POSTs taken. Timed: a `503` head on the first request's exchange, the end
//! of its (empty) body, and `poll_output` until `Wait`: an `Output::Abort` for each of the
//! 9,999 other exchanges, 10,000 `Event::Response` errors in ascending id, then
//! `Event::Closed` — 20,000 outputs pushed into a Vec allocated in setup.
//! Dropping the session and the outputs afterwards is untimed (but freeing the session's
//! request, exchange and timer tables happens inside `fail_session`, so that part is timed).
//!
//! Target: under 5 ms.
//!
//! Run: `cargo bench -p mcpwire-core --bench fail_all`. Profile the timed part only:
//! `MCPWIRE_BENCH_PROFILE=1 valgrind --tool=callgrind --toggle-collect='fail_all::timed_*' <bench binary>`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion};
use mcpwire_core::{Event, ExchangeId, Output, RequestError, Session, SessionError};

use mcpwire_core::fuzzing::harness::raw::{
    drain, end, head, output_vec, ready_http, start_requests, Heads,
};

const N: usize = 10_000;

fn check(out: &[Output]) {
    // The other 9,999 exchanges die with the session: the core says so, one abort each, before
    // the completions.
    assert_eq!(out.len(), 2 * N);
    let (aborts, rest) = out.split_at(N - 1);
    assert!(aborts.iter().all(|o| matches!(o, Output::Abort(_))));
    for (i, o) in rest[..N].iter().enumerate() {
        match o {
            Output::Event(Event::Response {
                id,
                result: Err(RequestError::Session(SessionError::Http(e))),
            }) => {
                assert_eq!(id.0, i as u64 + 1);
                assert_eq!(e.status, 503);
            }
            other => panic!("expected a failed response, got {other:?}"),
        }
    }
    assert!(matches!(
        rest[N],
        Output::Event(Event::Closed(SessionError::Http(_)))
    ));
}

type Input = (Session, Instant, ExchangeId, Vec<Output>);

/// Untimed: a ready session with `N` requests outstanding.
fn setup(heads: &Heads) -> Input {
    let now = Instant::now();
    let mut s = ready_http(now, heads);
    let exchanges = start_requests(&mut s, now, N);
    (s, now, exchanges[0], output_vec(2 * N + 8))
}

/// Timed (never inlined, for a profiler's `--toggle-collect='fail_all::timed_*'`).
#[inline(never)]
fn timed_fail_all(heads: &Heads, (mut s, now, x, mut out): Input) -> (Session, Vec<Output>) {
    head(&mut s, now, x, 503, &heads.none);
    end(&mut s, now, x);
    drain(&mut s, &mut out);
    (s, out)
}

fn bench(c: &mut Criterion) {
    let heads = Heads::new();
    check(&timed_fail_all(&heads, setup(&heads)).1);

    let mut g = c.benchmark_group("fail_all");
    g.sample_size(30).measurement_time(Duration::from_secs(10));
    g.bench_function("10k_outstanding_on_503", |b| {
        b.iter_batched(
            || setup(&heads),
            |input| timed_fail_all(&heads, input),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    // `MCPWIRE_BENCH_PROFILE=1 [MCPWIRE_BENCH_ROUNDS=n]`: the routine n times, no criterion.
    if std::env::var_os("MCPWIRE_BENCH_PROFILE").is_some() {
        let heads = Heads::new();
        eprintln!(
            "size_of: Output {} bytes, Event {} bytes",
            std::mem::size_of::<Output>(),
            std::mem::size_of::<Event>()
        );
        let rounds: usize = std::env::var("MCPWIRE_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(10);
        for _ in 0..rounds {
            drop(std::hint::black_box(timed_fail_all(&heads, setup(&heads))));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
