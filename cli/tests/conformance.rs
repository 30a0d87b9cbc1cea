//! The official MCP conformance suite (`@modelcontextprotocol/conformance`) drives
//! `mcpwire conformance`:
//!
//! - every client scenario that 0.1.16 lists passes, except those in
//!   `conformance-baseline.yml` (the OAuth extensions only), and each of those still fails, so
//!   the baseline cannot silently rot;
//! - every client scenario of 0.2.0-alpha.12 but the six OAuth extensions' (the skills
//!   extension's included) passes at its default wire and again at `--spec-version 2026-07-28` where it
//!   exists there, with at least the number of checks that succeed pinned (a pass whose
//!   checks were SKIPPED fails here).
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
fn every_client_scenario_of_0_1_16_passes_except_the_oauth_extensions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let baseline = baseline();
    let scenarios = client_scenarios(CONFORMANCE);
    // The OAuth extensions of 0.1.16, not of the specification itself.
    let extensions = [
        "auth/client-credentials-jwt",
        "auth/client-credentials-basic",
        "auth/cross-app-access-complete-flow",
    ];
    for name in &baseline {
        assert!(
            extensions.contains(&name.as_str()),
            "only the OAuth extensions may be in the baseline: {name}"
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

    // The baseline's scenarios fail at once: run four at a time.
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

/// The client scenarios of 0.2.0-alpha.12 but the extensions', with the revisions each runs at
/// (its default wire, and 2026-07-28 when it exists there), and the checks that succeed at each
/// (at least: a scenario whose checks went SKIPPED, which the suite still calls a pass, fails
/// here). The OAuth extensions' are [`ALPHA_EXTENSIONS`].
const ALPHA_SCENARIOS: &[(&str, u32, Option<u32>)] = &[
    // (scenario, SUCCESS checks at the default wire, at --spec-version 2026-07-28)
    ("initialize", 1, None),
    ("tools_call", 2, Some(2)),
    ("elicitation-sep1034-client-defaults", 5, None),
    ("sse-retry", 3, None),
    ("request-metadata", 6, Some(6)),
    ("sep-2322-client-request-state", 5, Some(5)),
    ("http-standard-headers", 9, Some(9)),
    ("http-custom-headers", 18, Some(18)),
    ("http-invalid-tool-headers", 12, Some(12)),
    ("json-schema-ref-no-deref", 1, Some(1)),
    ("json-schema-2020-12-preservation", 9, Some(9)),
    // The skills extension: its scenarios run at 2025-11-25 only (the suite skips them at
    // 2026-07-28 without --force).
    ("sep-2640-client-no-prefetch", 1, None),
    ("sep-2640-client-verify-digest", 1, None),
    ("sep-2640-client-verify-size", 1, None),
    ("sep-2640-client-verify-frontmatter", 1, None),
    ("auth/metadata-default", 19, Some(18)),
    ("auth/metadata-var1", 19, Some(18)),
    ("auth/metadata-var2", 19, Some(18)),
    ("auth/metadata-var3", 19, Some(18)),
    ("auth/basic-cimd", 14, Some(12)),
    ("auth/scope-from-www-authenticate", 15, Some(14)),
    ("auth/scope-from-scopes-supported", 15, Some(14)),
    ("auth/scope-omitted-when-undefined", 15, Some(14)),
    ("auth/scope-step-up", 23, Some(25)),
    ("auth/scope-retry-limit", 26, Some(27)),
    ("auth/token-endpoint-auth-basic", 20, Some(19)),
    ("auth/token-endpoint-auth-post", 20, Some(19)),
    ("auth/token-endpoint-auth-none", 20, Some(19)),
    ("auth/pre-registration", 14, Some(12)),
    ("auth/2025-03-26-oauth-metadata-backcompat", 13, None),
    ("auth/2025-03-26-oauth-endpoint-fallback", 8, None),
    ("auth/resource-mismatch", 2, Some(2)),
    ("auth/offline-access-scope", 12, Some(12)),
    ("auth/offline-access-not-supported", 14, Some(14)),
    ("auth/authorization-server-migration", 27, Some(27)),
    ("auth/iss-supported", 14, Some(14)),
    ("auth/iss-not-advertised", 14, Some(14)),
    ("auth/iss-supported-missing", 8, Some(8)),
    ("auth/iss-wrong-issuer", 8, Some(8)),
    ("auth/iss-unexpected", 8, Some(8)),
    ("auth/iss-normalized", 8, Some(8)),
    ("auth/metadata-issuer-mismatch", 3, Some(3)),
    // The machine-to-machine extension (client credentials, client_secret_basic): the suite
    // runs it at its default wire only.
    ("auth/client-credentials-basic", 9, None),
];

/// The OAuth extension scenarios of 0.2.0-alpha.12 (client credentials, enterprise-managed
/// authorization, DPoP, workload identity): not part of the specification, and not run here.
const ALPHA_EXTENSIONS: &[&str] = &[
    "auth/client-credentials-jwt",
    "auth/enterprise-managed-authorization",
    "auth/dpop",
    "auth/dpop-nonce",
    "auth/wif-jwt-bearer",
];

/// The checks of one run: how many of each status, from the `checks.json` files `-o` wrote.
#[derive(Debug, Default, PartialEq)]
struct Checks {
    success: u32,
    failure: u32,
    warning: u32,
    skipped: u32,
    failed: Vec<String>,
}

fn read_checks(dir: &std::path::Path) -> Checks {
    let mut checks = Checks::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "checks.json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
                for c in all {
                    let id = c["id"].as_str().unwrap_or_default().to_owned();
                    match c["status"].as_str().unwrap_or_default() {
                        "SUCCESS" => checks.success += 1,
                        "FAILURE" => {
                            checks.failure += 1;
                            checks.failed.push(id);
                        }
                        "WARNING" => {
                            checks.warning += 1;
                            checks.failed.push(id);
                        }
                        "SKIPPED" => checks.skipped += 1,
                        _ => {}
                    }
                }
            }
        }
    }
    checks
}

/// Runs one scenario of 0.2.0-alpha.12, at `spec` if given, and reads its checks.
fn run_alpha(scenario: &str, spec: Option<&str>) -> (Run, Checks) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance")
        .join(format!("{}-{}", scenario, spec.unwrap_or("default")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let binary = env!("CARGO_BIN_EXE_mcpwire");
    let mut command = Command::new(npm::node());
    command
        .arg(conformance(CONFORMANCE_ALPHA))
        .args(["client", "--scenario", scenario, "--timeout", "30000"])
        .arg("--command")
        .arg(format!("{binary} conformance"))
        .arg("-o")
        .arg(&dir)
        .env("PATH", path_with_node());
    if let Some(spec) = spec {
        command.args(["--spec-version", spec]);
    }
    let run = run(command, Duration::from_secs(120));
    let checks = read_checks(&dir);
    (run, checks)
}

#[test]
fn every_client_scenario_of_0_2_0_alpha_12_but_the_oauth_extensions_passes_at_each_revision_with_its_checks_run(
) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let listed = client_scenarios(CONFORMANCE_ALPHA);
    let covered: Vec<&str> = ALPHA_SCENARIOS.iter().map(|(s, ..)| *s).collect();
    for s in &listed {
        let excluded = ALPHA_EXTENSIONS.contains(&s.as_str());
        assert!(
            excluded || covered.contains(&s.as_str()),
            "a new scenario to cover: {s}"
        );
    }
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (scenario, at_default, at_2026) in ALPHA_SCENARIOS {
        assert!(
            listed.iter().any(|s| s == scenario),
            "the suite lists no {scenario}"
        );
        for (spec, expected) in [(None, Some(*at_default)), (Some("2026-07-28"), *at_2026)] {
            let Some(expected) = expected else { continue };
            let (run, checks) = run_alpha(scenario, spec);
            let wire = spec.unwrap_or("default wire");
            report.push(format!(
                "{scenario:<40} {wire:<13} {} SUCCESS, {} FAILURE, {} WARNING, {} SKIPPED (exit {})",
                checks.success, checks.failure, checks.warning, checks.skipped, run.code
            ));
            if run.code != 0 || checks.success < expected || !checks.failed.is_empty() {
                wrong.push(format!(
                    "=== {scenario} at {wire}: {} SUCCESS (expected {expected}), failed {:?}, exit {}\n{}",
                    checks.success,
                    checks.failed,
                    run.code,
                    tail(&run)
                ));
            }
        }
    }
    eprintln!("conformance {CONFORMANCE_ALPHA}:\n{}", report.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
