//! Decoding a `tools/call` result: what the caller's future does with every answer.
//!
//! The result the load harness's server sends (`adapters/benches/load.rs`), and one with four
//! text blocks, an unknown field and `structuredContent`, each decoded into a
//! [`CallToolResult`] from its JSON text as the client does (`serde_json::from_str`), beside
//! serde_json parsing the same text into a `serde_json::Value` (the floor of any decoding that
//! keeps every field). Per decode: the time (median of 7 runs of 100,000) and the allocations,
//! counted by a tallying global allocator. Prints a table.
//!
//! Run: `cargo bench -p mcpwire-core --bench tool_result`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mcpwire_core::schema::CallToolResult;

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's own arguments; the counter is
// only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: usize = 100_000;

/// Nanoseconds and allocations per call of `f`: the median of 7 runs of `N`.
fn measure(f: impl Fn()) -> (f64, f64) {
    let mut times = Vec::new();
    let mut allocations = 0;
    for _ in 0..7 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..N {
            f();
        }
        times.push(start.elapsed().as_secs_f64() * 1e9 / N as f64);
        allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    }
    times.sort_by(f64::total_cmp);
    (times[3], allocations as f64 / N as f64)
}

fn main() {
    let one = r#"{"content":[{"type":"text","text":"x"}],"isError":false}"#;
    let four = r#"{"content":[{"type":"text","text":"Echo: hello"},{"type":"text","text":"a second line"},{"text":"kind last","type":"text"},{"type":"text","text":"\u00e9scaped \"quotes\""}],"structuredContent":{"echo":"hello","n":4},"isError":false,"x-vendor":1}"#;
    println!("| result | `CallToolResult` | allocations | `serde_json::Value` | allocations |");
    println!("|---|---|---|---|---|");
    for (name, text) in [("one text block", one), ("four blocks and more", four)] {
        // Both decode the same thing (checked), so the timings compare like with like.
        let typed: CallToolResult = serde_json::from_str(text).unwrap();
        assert!(!typed.content.is_empty());
        let (typed_ns, typed_allocs) = measure(|| {
            let r: CallToolResult = serde_json::from_str(black_box(text)).unwrap();
            black_box(r);
        });
        let (value_ns, value_allocs) = measure(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(text)).unwrap();
            black_box(v);
        });
        println!(
            "| {name} | {typed_ns:.0} ns | {typed_allocs:.1} | {value_ns:.0} ns | {value_allocs:.1} |"
        );
    }
}
