//! `mcpwire replay <FILE>`: a recording (`MCPWIRE_RECORD`, `ClientBuilder::record`) as a
//! timeline, checked by replaying it in the core. Exits 3 if the replay diverges.

use std::path::Path;
use std::time::Instant;

use mcpwire::core::record::{Line, RecordedTransport, Recording};

use crate::exit::Failure;
use crate::print;

/// The largest recording read, in bytes (a recording's default cap is 64 MiB).
const MAX_FILE: u64 = 1 << 30;

/// Prints the recording at `path` as a timeline, then whether it replays.
pub fn run(path: &Path, waits: bool) -> Result<(), Failure> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| Failure::Usage(format!("cannot read {shown}: {e}")))?
        .len();
    if size > MAX_FILE {
        return Err(Failure::Usage(format!(
            "{shown} is {size} bytes; recordings of more than {MAX_FILE} are not read"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {shown}: {e}")))?;
    let recording = Recording::parse(&text)
        .map_err(|d| Failure::Other(format!("{shown} is not a recording: {d}")))?;
    let outcome = recording.replay(Instant::now());
    let stop = outcome.as_ref().err().map_or(usize::MAX, |d| d.line);
    let target = match &recording.header.transport {
        RecordedTransport::Http { endpoint } => endpoint.clone(),
        RecordedTransport::LegacySse { endpoint } => format!("{endpoint} (HTTP+SSE)"),
        RecordedTransport::Stdio => "a stdio server".into(),
    };
    print::out(&format!("recording of a session with {target}"))?;
    let mut t = 0;
    for (n, line) in &recording.lines {
        if *n > stop {
            break;
        }
        t = line.t().unwrap_or(t);
        if matches!(line, Line::Wait { .. }) && !waits {
            continue;
        }
        print::out(&format!("{:>12.3} ms  {line}", t as f64 / 1e6))?;
    }
    match outcome {
        Ok(done) => {
            let end = match &done.closed {
                Some(e) => format!("; the session ended: {e}"),
                None => String::new(),
            };
            let cut = if done.truncated {
                " (up to its size cap)"
            } else {
                ""
            };
            print::out(&format!(
                "replayed{cut}: {} commands and inputs, {} outputs, all as recorded, over {:.3} ms{end}",
                done.steps,
                done.outputs,
                t as f64 / 1e6
            ))?;
            Ok(())
        }
        Err(d) => Err(Failure::Other(format!("the replay diverges at {d}"))),
    }
}
