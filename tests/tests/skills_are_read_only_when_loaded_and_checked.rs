//! The skills extension (SEP-2640) against the test server, under tokio and under smol:
//! listing reads no file; loading reads the SKILL.md and returns it only if it matches its
//! entry; a file the entry does not list is refused before anything is sent; a tampered
//! frontmatter or a corrupt body is a typed error, and the skill's other files are then
//! never read.

use std::sync::Arc;

use mcpwire::runtime::Runtime;
use mcpwire::schema::{SkillEntry, SkillResources};
use mcpwire::skills::SkillError;
use mcpwire::{Client, Error};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::TestServer;

on_both_runtimes! {
    listing_skills_reads_none_of_their_files => listing;
    a_loaded_skill_is_its_checked_skill_md_and_its_files_are_read_on_demand => loading;
    a_file_the_entry_does_not_list_is_refused_without_a_request => unlisted;
    a_tampered_frontmatter_or_a_corrupt_body_is_refused_and_nothing_more_is_read => refused;
}

/// The URIs of the server's `resources/read` requests, in order.
fn reads(server: &TestServer) -> Vec<String> {
    server
        .received()
        .iter()
        .filter(|m| m["method"] == "resources/read")
        .map(|m| m["params"]["uri"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn connect(runtime: Arc<dyn Runtime>) -> (TestServer, Client, Vec<SkillEntry>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    assert!(client.serves_skills());
    let skills = client.list_all_skills().await.unwrap();
    (server, client, skills)
}

fn skill<'a>(skills: &'a [SkillEntry], name: &str) -> &'a SkillEntry {
    skills.iter().find(|s| s.name() == Some(name)).unwrap()
}

async fn listing(runtime: Arc<dyn Runtime>) {
    let (server, client, skills) = connect(runtime).await;
    let names: Vec<_> = skills.iter().filter_map(|s| s.name()).collect();
    assert_eq!(names, ["review", "tampered", "corrupt"]);
    let review = skill(&skills, "review");
    assert_eq!(review.description(), Some("Review a change"));
    assert!(matches!(&review.resources, SkillResources::Listed(f) if f.len() == 2));
    // skills/get gives the same entry.
    assert_eq!(&client.get_skill(&review.uri).await.unwrap(), review);
    assert_eq!(
        reads(&server),
        Vec::<String>::new(),
        "no file read on listing"
    );
}

async fn loading(runtime: Arc<dyn Runtime>) {
    let (server, client, skills) = connect(runtime).await;
    let review = skill(&skills, "review");
    let loaded = client.load_skill(review).await.unwrap();
    assert!(loaded.text.starts_with("---\nname: review\n"));
    assert!(loaded.text.contains("Read GUIDE.md."));
    assert_eq!(reads(&server), ["skill://review/SKILL.md"]);
    let guide = client
        .read_skill_file(review, "skill://review/references/GUIDE.md")
        .await
        .unwrap();
    assert!(String::from_utf8(guide).unwrap().starts_with("# Guide"));
    assert_eq!(
        reads(&server),
        [
            "skill://review/SKILL.md",
            "skill://review/references/GUIDE.md"
        ]
    );
}

async fn unlisted(runtime: Arc<dyn Runtime>) {
    let (server, client, skills) = connect(runtime).await;
    let review = skill(&skills, "review");
    // The server would serve it; the entry does not list it.
    for uri in [
        "skill://review/references/UNLISTED.md",
        "skill://tampered/SKILL.md",
        "demo://hello",
    ] {
        let e = client.read_skill_file(review, uri).await.unwrap_err();
        assert!(
            matches!(
                e.skill(),
                Some(SkillError::NotListed { .. } | SkillError::OutsideSkill { .. })
            ),
            "{uri}: {e:?}"
        );
    }
    assert_eq!(reads(&server), Vec::<String>::new(), "nothing was sent");
}

async fn refused(runtime: Arc<dyn Runtime>) {
    let (server, client, skills) = connect(runtime).await;
    let e = client
        .load_skill(skill(&skills, "tampered"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        Error::from(SkillError::FrontmatterMismatch {
            uri: "skill://tampered/SKILL.md".into(),
            field: "description".into()
        })
    );
    let corrupt = skill(&skills, "corrupt");
    let e = client.load_skill(corrupt).await.unwrap_err();
    assert!(
        matches!(e.skill(), Some(SkillError::DigestMismatch { .. })),
        "{e:?}"
    );
    // What an application does with a refused skill: nothing more of it.
    assert_eq!(
        reads(&server),
        ["skill://tampered/SKILL.md", "skill://corrupt/SKILL.md"]
    );
    assert!(e.to_string().contains("skill://corrupt/SKILL.md"), "{e}");
}
