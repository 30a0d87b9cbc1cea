//! The official MCP conformance suite (`@modelcontextprotocol/conformance`) drives
//! `mcpwire conformance`:
//!
//! - every client scenario that 0.1.16 lists passes, except those in
//!   `conformance-baseline.yml` (OAuth only), and each of those still fails, so the baseline
//!   cannot silently rot;
//! - `json-schema-2020-12-preservation` from 0.2.0-alpha.12 passes.
//!
//! Scenarios run one at a time (`sse-retry` measures the reconnection delay to ±200 ms);
//! the baseline's, which fail at the first 401, run a few at once.

mod support;

use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use mcpwire_tests::npm::{self, conformance, path_with_node, CONFORMANCE, CONFORMANCE_ALPHA};
use support::{run, Run};

/// The expected failures, in the suite's format.
const BASELINE: &str = include_str!("conformance-baseline.yml");
/// The scenarios that must pass whatever the suite lists (a guard against an empty list).
const CORE: [&str; 4] = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
];
/// Conformance runs in this file never overlap: `sse-retry` is timing-sensitive.
static SERIAL: Mutex<()> = Mutex::new(());

/// The scenario names under `client:` in the baseline.
fn baseline() -> Vec<String> {
    let mut in_client = false;
    let mut names = Vec::new();
    for line in BASELINE.lines() {
        let line = line.split('#').next().unwrap_or_default().trim_end();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_client = line == "client:";
            continue;
        }
        if let (true, Some(name)) = (in_client, line.trim().strip_prefix("- ")) {
            names.push(name.trim().to_owned());
        }
    }
    names
}

/// The client scenarios the suite at `version` lists.
fn client_scenarios(version: &str) -> Vec<String> {
    let mut command = Command::new(npm::node());
    command.arg(conformance(version)).arg("list");
    let listed = run(command, Duration::from_secs(60));
    listed.expect_code(0);
    let section = listed
        .stdout
        .split("Client scenarios")
        .nth(1)
        .expect("a client scenario section");
    section
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|line| {
            line.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Runs one scenario of the suite at `version` against `mcpwire conformance`.
fn run_scenario(version: &str, scenario: &str) -> Run {
    let binary = env!("CARGO_BIN_EXE_mcpwire");
    assert!(
        !binary.contains(' '),
        "the suite splits --command at spaces: {binary}"
    );
    let mut command = Command::new(npm::node());
    command
        .arg(conformance(version))
        .args(["client", "--scenario", scenario, "--timeout", "30000"])
        .arg("--command")
        .arg(format!("{binary} conformance"))
        .env("PATH", path_with_node());
    run(command, Duration::from_secs(120))
}

/// The end of a run's output, for a failure message.
fn tail(run: &Run) -> String {
    let text = format!("{}\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn every_client_scenario_of_0_1_16_passes_except_the_auth_baseline() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let baseline = baseline();
    let scenarios = client_scenarios(CONFORMANCE);
    for name in &baseline {
        assert!(
            name.starts_with("auth/"),
            "only auth scenarios may be in the baseline: {name}"
        );
        assert!(
            scenarios.contains(name),
            "{name} is in the baseline but the suite has no such scenario"
        );
    }
    for name in CORE {
        assert!(
            scenarios.iter().any(|s| s == name),
            "the suite no longer lists {name}"
        );
    }

    let mut report = Vec::new();
    let mut unexpected = Vec::new();
    for scenario in scenarios.iter().filter(|s| !baseline.contains(s)) {
        let run = run_scenario(CONFORMANCE, scenario);
        report.push(format!(
            "{:<45} {}",
            scenario,
            if run.code == 0 { "pass" } else { "FAIL" }
        ));
        if run.code != 0 {
            unexpected.push(format!(
                "=== {scenario} (exit {})\n{}",
                run.code,
                tail(&run)
            ));
        }
    }

    // The baseline's scenarios fail at the first 401: run four at a time.
    let mut stale = Vec::new();
    for chunk in baseline.chunks(4) {
        let runs: Vec<(String, Run)> = thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|s| scope.spawn(move || (s.clone(), run_scenario(CONFORMANCE, s))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (scenario, run) in runs {
            let outcome = if run.code == 0 {
                "PASSES (stale)"
            } else {
                "fails, as expected"
            };
            report.push(format!("{scenario:<45} {outcome}"));
            if run.code == 0 {
                stale.push(scenario);
            }
        }
    }
    eprintln!("conformance {CONFORMANCE}:\n{}", report.join("\n"));
    assert!(
        unexpected.is_empty(),
        "scenarios that must pass failed:\n{}",
        unexpected.join("\n")
    );
    assert!(
        stale.is_empty(),
        "baseline scenarios now pass; remove them from cli/tests/conformance-baseline.yml: {stale:?}"
    );
}

#[test]
fn json_schema_2020_12_is_preserved_in_0_2_0_alpha_12() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scenario = "json-schema-2020-12-preservation";
    assert!(client_scenarios(CONFORMANCE_ALPHA)
        .iter()
        .any(|s| s == scenario));
    let run = run_scenario(CONFORMANCE_ALPHA, scenario);
    assert_eq!(run.code, 0, "{scenario} failed:\n{}", tail(&run));
    assert!(run.stderr.contains("OVERALL: PASSED"), "{}", tail(&run));
}
