//! Every recording committed under `tests/recordings/` replays in the core exactly as it was
//! recorded: sessions recorded over real sockets and real child processes kept as regression
//! tests. To add one, record a session (`MCPWIRE_RECORD=<file>`, or
//! `ClientBuilder::record`), check it with `mcpwire replay <file>`, and copy it there. When a
//! change to the core changes what a session does, the test names the first line that
//! differs; a recording that no longer holds is made again.

use std::path::PathBuf;
use std::time::Instant;

fn recordings() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_recording_replays() {
    let files = recordings();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let done = std::panic::catch_unwind(|| {
            mcpwire_core::record::assert_replays(&text, Instant::now())
        })
        .unwrap_or_else(|_| panic!("{} does not replay", file.display()));
        assert!(done.steps > 3, "{}: {done:?}", file.display());
    }
}

#[test]
fn a_committed_recording_changed_in_one_byte_does_not_replay() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recordings/stdio-child-exits.jsonl");
    let text = std::fs::read_to_string(file).unwrap();
    let changed = text.replacen(r#"{"exited":{"code":3}}"#, r#"{"exited":{"code":0}}"#, 1);
    assert_ne!(changed, text);
    let d = mcpwire_core::record::replay(&changed, Instant::now()).unwrap_err();
    assert!(
        matches!(d.mismatch, mcpwire_core::record::Mismatch::Output { .. }),
        "{d}"
    );
}
