//! What the core keeps per outstanding request, and how long failing 100,000 of them takes.
//!
//! A ready HTTP session of the 2025 era, 100,000 `tools/call` requests started, each POST taken
//! at once as an adapter does (the adapter owns a request once it takes it): the heap the session holds then,
//! counted by a global allocator that tallies every allocation and free, divided by the
//! number of requests — against `Session::retained_bytes`, the session's own estimate, which
//! the property tests check against the limits. Then one 503 and every completion drained:
//! the time until the last output. Three runs; prints a table.
//!
//! Issue 15's targets: ≤ 256 bytes per outstanding request beyond its params, and failing
//! 100,000 in under 20 ms in the core.
//!
//! Run: `cargo bench -p mcpwire-core --bench outstanding`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use mcpwire_core::{ExchangeId, Output, Transmit};

use mcpwire_core::fuzzing::harness::raw::{drain, end, head, output_vec, ready_http, Heads};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's own arguments; the counter is
// only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: usize = 100_000;

/// The timed part (never inlined, for `valgrind --tool=callgrind --toggle-collect='outstanding::timed_*'`).
#[inline(never)]
fn timed_fail(
    s: &mut mcpwire_core::Session,
    now: Instant,
    first: ExchangeId,
    heads: &Heads,
    out: &mut Vec<Output>,
) {
    head(s, now, first, 503, &heads.none);
    end(s, now, first);
    drain(s, out);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to configure.
    let heads = Heads::new();
    // The params as the session keeps them: their JSON text, one allocation of its length.
    let params = serde_json::json!({"name": "echo", "arguments": {"message": "x"}});
    let params_bytes = serde_json::to_string(&params).unwrap().len() as isize;
    println!(
        "| run | heap per outstanding request | beyond its params ({params_bytes} bytes) | the session's estimate | failing all {N} on a 503 |"
    );
    println!("|---|---|---|---|---|");
    for run in 1..=3 {
        let now = Instant::now();
        let mut s = ready_http(now, &heads);
        let mut out = output_vec(2 * N + 8);
        let before = LIVE.load(Ordering::Relaxed);
        let estimate_before = s.retained_bytes();
        // As an adapter does: each request started and its POST taken at once.
        let mut first = None;
        for _ in 0..N {
            s.request(now, "tools/call", Some(params.clone()), Default::default())
                .unwrap();
            loop {
                match s.poll_output() {
                    Output::Transmit(Transmit::Http { exchange, .. }) => {
                        first.get_or_insert(exchange);
                    }
                    Output::Wait(_) => break,
                    _ => {}
                }
            }
        }
        let held = LIVE.load(Ordering::Relaxed) - before;
        let first: ExchangeId = first.unwrap();
        let estimate = s.retained_bytes() - estimate_before;
        let start = Instant::now();
        timed_fail(&mut s, now, first, &heads, &mut out);
        let failed = start.elapsed();
        let completions = out
            .iter()
            .filter(|o| matches!(o, Output::Event(mcpwire_core::Event::Response { .. })))
            .count();
        assert_eq!(completions, N, "every request completed");
        println!(
            "| {run} | {} bytes | {} bytes | {} bytes | {:.2} ms |",
            held / N as isize,
            held / N as isize - params_bytes,
            estimate / N,
            failed.as_secs_f64() * 1e3
        );
    }
}
