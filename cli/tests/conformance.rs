//! The official MCP conformance suite (`@modelcontextprotocol/conformance`) drives
//! `mcpwire conformance`:
//!
//! - every client scenario that 0.1.16 lists passes, with no expected failures (no baseline:
//!   its OAuth extensions pass too), each with checks that succeeded and none that failed;
//! - every client scenario of 0.2.0-alpha.12 (the OAuth and skills extensions' included)
//!   passes at its default wire and again at `--spec-version 2026-07-28` where it exists
//!   there, with at least the number of checks that succeed pinned (a pass whose checks were
//!   SKIPPED fails here).
//!
//! Scenarios run one at a time (`sse-retry` measures the reconnection delay to ±200 ms).

mod support;

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use mcpwire_tests::npm::{self, conformance, path_with_node, CONFORMANCE, CONFORMANCE_ALPHA};
use support::{run, Run};

/// The scenarios that must pass whatever the suite lists (a guard against an empty list).
const CORE: [&str; 4] = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
];
/// Conformance runs in this file never overlap: `sse-retry` is timing-sensitive.
static SERIAL: Mutex<()> = Mutex::new(());

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

/// The end of a run's output, for a failure message.
fn tail(run: &Run) -> String {
    let text = format!("{}\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn every_client_scenario_of_0_1_16_passes_with_its_checks_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scenarios = client_scenarios(CONFORMANCE);
    for name in CORE.iter().chain(&OAUTH_EXTENSIONS_0_1_16) {
        assert!(
            scenarios.iter().any(|s| s == name),
            "the suite no longer lists {name}"
        );
    }
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for scenario in &scenarios {
        let (run, checks) = run_checked(CONFORMANCE, scenario, None);
        report.push(format!(
            "{scenario:<45} {} SUCCESS, {} FAILURE, {} WARNING, {} SKIPPED (exit {})",
            checks.success, checks.failure, checks.warning, checks.skipped, run.code
        ));
        if run.code != 0 || checks.success == 0 || checks.failure > 0 {
            wrong.push(format!(
                "=== {scenario}: {} SUCCESS, failed {:?}, exit {}\n{}",
                checks.success,
                checks.failed,
                run.code,
                tail(&run)
            ));
        }
    }
    eprintln!("conformance {CONFORMANCE}:\n{}", report.join("\n"));
    assert!(
        wrong.is_empty(),
        "scenarios that must pass failed:\n{}",
        wrong.join("\n")
    );
}

/// The OAuth extension scenarios of 0.1.16 (once its expected failures): they pass.
const OAUTH_EXTENSIONS_0_1_16: [&str; 3] = [
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/cross-app-access-complete-flow",
];

/// The client scenarios of 0.2.0-alpha.12, with the revisions each runs at (its default wire,
/// and 2026-07-28 when it exists there), and the checks that succeed at each (at least: a
/// scenario whose checks went SKIPPED, which the suite still calls a pass, fails here).
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
    // The OAuth extensions, at their default wire only (the suite skips extension scenarios
    // at 2026-07-28 without --force). Machine to machine: client credentials with
    // client_secret_basic and with a private_key_jwt assertion.
    ("auth/client-credentials-basic", 9, None),
    ("auth/client-credentials-jwt", 9, None),
    // The token exchange at the identity provider, then the JWT bearer grant.
    ("auth/enterprise-managed-authorization", 10, None),
    // Workload identity: the JWT bearer grant with the platform's token.
    ("auth/wif-jwt-bearer", 9, None),
    // DPoP: proofs at the token endpoint and on every MCP request; with the nonce challenges
    // of both servers (sep-1932-client-as-nonce and -rs-nonce).
    ("auth/dpop", 12, None),
    ("auth/dpop-nonce", 14, None),
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

/// Runs one scenario of the suite at `version` against `mcpwire conformance`, at `spec` if
/// given, and reads its checks.
fn run_checked(version: &str, scenario: &str, spec: Option<&str>) -> (Run, Checks) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{version}"))
        .join(format!("{}-{}", scenario, spec.unwrap_or("default")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let binary = env!("CARGO_BIN_EXE_mcpwire");
    let mut command = Command::new(npm::node());
    command
        .arg(conformance(version))
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
fn every_client_scenario_of_0_2_0_alpha_12_passes_at_each_revision_with_its_checks_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let listed = client_scenarios(CONFORMANCE_ALPHA);
    let covered: Vec<&str> = ALPHA_SCENARIOS.iter().map(|(s, ..)| *s).collect();
    for s in &listed {
        assert!(
            covered.contains(&s.as_str()),
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
            let (run, checks) = run_checked(CONFORMANCE_ALPHA, scenario, spec);
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
