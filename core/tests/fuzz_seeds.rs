//! Every committed fuzz seed (`fuzz/corpus/<target>/seed-*`), replayed through its target on
//! stable Rust: the crashes the fuzzers found (`seed-crash-*`) stay fixed without nightly, and
//! the seeds keep decoding to scripts the targets accept.

use std::path::Path;
use std::time::Instant;

use mcpwire_core::fuzzing;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    for (name, data) in seeds(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(outcome.is_ok(), "{target}/{name} failed");
    }
}

#[test]
fn http_session_seeds() {
    replay("http_session", |d| fuzzing::http_session(Instant::now(), d));
}

#[test]
fn stdio_session_seeds() {
    replay("stdio_session", |d| {
        fuzzing::stdio_session(Instant::now(), d)
    });
}

#[test]
fn sse_seeds() {
    replay("sse", fuzzing::sse);
}

#[test]
fn lines_seeds() {
    replay("lines", fuzzing::lines);
}

#[test]
fn jsonrpc_seeds() {
    replay("jsonrpc", fuzzing::jsonrpc);
}

#[test]
fn skill_frontmatter_seeds() {
    replay("skill_frontmatter", fuzzing::skill_frontmatter);
}
