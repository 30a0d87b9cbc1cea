//! A committed recording becomes a seed for the session fuzz targets: the seed decodes into
//! the recorded session's requests and inputs, passes its target's body (the invariants hold),
//! and is committed under `fuzz/corpus/<target>/seed-recording-<name>` (kept equal to the
//! conversion; `MCPWIRE_WRITE_SEEDS=1` writes them again).

use std::path::PathBuf;
use std::time::Instant;

use mcpwire_core::fuzzing::script::Op;
use mcpwire_core::fuzzing::{self, seed, Script, Transport};
use mcpwire_core::record::{Command, Line, Recording};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn recording(name: &str) -> Recording {
    let text = std::fs::read_to_string(root().join("recordings").join(name)).unwrap();
    Recording::parse(&text).unwrap()
}

#[test]
fn the_503_recording_decodes_into_its_requests_and_its_503() {
    let rec = recording("503-under-8-held-calls.jsonl");
    let (transport, bytes) = seed::from_recording(&rec);
    assert_eq!(transport, Transport::Http);
    let script = Script::from_bytes(transport, &bytes);
    let requests = rec
        .lines
        .iter()
        .filter(|(_, l)| {
            matches!(
                l,
                Line::Cmd {
                    cmd: Command::Request { .. },
                    ..
                }
            )
        })
        .count();
    let ops = |f: fn(&Op) -> bool| script.ops.iter().filter(|o| f(o)).count();
    assert_eq!(requests, 9);
    assert_eq!(
        ops(|o| matches!(o, Op::Request { .. })),
        requests,
        "{script:#?}"
    );
    assert_eq!(
        ops(|o| matches!(o, Op::Head { status: 503, .. })),
        1,
        "{script:#?}"
    );
    assert!(ops(|o| matches!(o, Op::Bytes { .. })) > 3);
    assert_eq!(
        script.handshake,
        fuzzing::script::Handshake::DiscoverNone,
        "the recorded handshake is played"
    );
    fuzzing::http_session(Instant::now(), &bytes);
}

#[test]
fn the_stdio_recording_decodes_into_its_exit() {
    let rec = recording("stdio-child-exits.jsonl");
    let (transport, bytes) = seed::from_recording(&rec);
    assert_eq!(transport, Transport::Stdio);
    let script = Script::from_bytes(transport, &bytes);
    assert!(script.ops.contains(&Op::Exit(Some(3))), "{script:#?}");
    assert!(script
        .ops
        .iter()
        .any(|o| matches!(o, Op::StdoutBytes { .. })));
    fuzzing::stdio_session(Instant::now(), &bytes);
}

#[test]
fn every_committed_recording_is_a_committed_seed() {
    let write = std::env::var_os("MCPWIRE_WRITE_SEEDS").is_some();
    let dir = root().join("recordings");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    names.sort();
    assert!(names.len() >= 5);
    for name in names {
        let (transport, bytes) = seed::from_recording(&recording(&name));
        let target = match transport {
            Transport::Http => "http_session",
            Transport::Stdio => "stdio_session",
        };
        let stem = name.trim_end_matches(".jsonl");
        let path = root()
            .join("../fuzz/corpus")
            .join(target)
            .join(format!("seed-recording-{stem}"));
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (MCPWIRE_WRITE_SEEDS=1 writes it)", path.display())
        });
        assert!(
            committed == bytes,
            "{} differs from its recording's conversion",
            path.display()
        );
    }
}
