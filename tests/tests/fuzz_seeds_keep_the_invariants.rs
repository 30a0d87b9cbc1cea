//! Every committed fuzz seed (`fuzz/corpus/<target>/seed-*`) passes its target's body, so the
//! seeds stay valid as the core changes, and the fuzz targets' invariants run in every test run
//! even where cargo-fuzz is not installed.

use std::path::PathBuf;
use std::time::Instant;

use mcpwire_core::fuzzing;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .map(|path| {
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn run(target: &str, body: impl Fn(&[u8])) {
    for (path, data) in seeds(target) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&data)));
        assert!(
            result.is_ok(),
            "{} fails; reproduce with `cargo fuzz run {target} {}`",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn sse_seeds_pass() {
    run("sse", fuzzing::sse);
}

#[test]
fn jsonrpc_seeds_pass() {
    run("jsonrpc", fuzzing::jsonrpc);
}

#[test]
fn lines_seeds_pass() {
    run("lines", fuzzing::lines);
}

#[test]
fn http_session_seeds_keep_the_invariants() {
    run("http_session", |data| {
        fuzzing::http_session(Instant::now(), data)
    });
}

#[test]
fn stdio_session_seeds_keep_the_invariants() {
    run("stdio_session", |data| {
        fuzzing::stdio_session(Instant::now(), data)
    });
}
