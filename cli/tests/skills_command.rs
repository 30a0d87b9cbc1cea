//! `mcpwire skills`: the server's skills, and `--load` printing a SKILL.md only once it
//! matches its entry; a tampered one is refused with a one-line message and exit code 3.

mod support;

use mcpwire_testserver::TestServer;
use serde_json::Value;
use support::mcpwire_run;

#[test]
fn skills_lists_names_uris_and_descriptions() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["skills", &server.url()]);
    let out = &run.expect_code(0).stdout;
    assert!(
        out.contains("review  skill://review/SKILL.md  (2 files)\n    Review a change"),
        "{out}"
    );
    assert!(out.contains("tampered  skill://tampered/SKILL.md"), "{out}");
    let run = mcpwire_run(&["--json", "skills", &server.url()]);
    let listed: Value = serde_json::from_str(&run.expect_code(0).stdout).unwrap();
    assert_eq!(listed["skills"][0]["frontmatter"]["name"], "review");
    assert_eq!(
        server
            .received()
            .iter()
            .filter(|m| m["method"] == "resources/read")
            .count(),
        0,
        "listing reads no file"
    );
}

#[test]
fn skills_load_prints_a_checked_skill_md_and_refuses_a_tampered_one() {
    let server = TestServer::start_in_thread();
    let run = mcpwire_run(&["skills", "--load", "review", &server.url()]);
    let out = &run.expect_code(0).stdout;
    assert!(out.starts_with("---\nname: review\n"), "{out}");
    assert!(out.contains("Read GUIDE.md."), "{out}");

    let run = mcpwire_run(&["skills", "--load", "tampered", &server.url()]);
    run.expect_code(3);
    assert_eq!(run.stdout, "", "nothing of the refused skill is printed");
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("skill refused")
            && line.contains("skill://tampered/SKILL.md")
            && line.contains("description"),
        "{line}"
    );

    let run = mcpwire_run(&["skills", "--load", "nonesuch", &server.url()]);
    run.expect_code(64);
}
