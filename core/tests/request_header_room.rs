//! A request's header map comes with room for what the adapter and hyper add to it: the
//! adapter's `Host` and hyper's `Content-Length` go in without an allocation. (The map was
//! cloned from the shared headers, its entries exactly as many as they were, and grew twice a
//! request; `HeaderMap::capacity` counts its index, not its entries, so only the allocator
//! can tell.) Its own test binary: the counting allocator below sees no other test.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use http::header::{HeaderValue, CONTENT_LENGTH, HOST};
use support::*;

/// Counts the allocations and reallocations made on each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    ALLOCATIONS.with(|a| a.set(a.get() + 1));
}

// SAFETY: every call is passed to `System` unchanged; counting touches only a thread-local
// `Cell` with a constant initializer (it allocates nothing and has no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn host_and_content_length_go_into_a_requests_header_map_without_an_allocation() {
    let mut h = Harness::http();
    let sent = h.answer_initialize(&[("mcp-session-id", "sess-1")], &init_result(LATEST));
    h.sse_head(sent[1].exchange);
    h.request("tools/list");
    let posts = h.sent();
    assert_eq!(posts.len(), 1);
    let mut all: Vec<_> = sent.into_iter().chain(posts).collect();
    for s in &mut all {
        let before = allocations();
        s.headers
            .insert(HOST, HeaderValue::from_static("127.0.0.1:9"));
        s.headers
            .insert(CONTENT_LENGTH, HeaderValue::from_static("42"));
        let made = allocations() - before;
        assert_eq!(made, 0, "{:?} {}: {:?}", s.method, s.uri, s.headers);
        assert!(s.headers.contains_key("mcp-session-id"), "{:?}", s.headers);
    }
}
