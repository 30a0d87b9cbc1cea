//! `mcpwire skills`: the server's skills (the skills extension, SEP-2640), and with `--load`
//! one skill's `SKILL.md`, printed only once it matches its entry (size, digest, frontmatter).

use clap::Args;
use mcpwire::schema::{SkillEntry, SkillResources};
use serde_json::json;

use crate::connect::{with_client, ServerArgs};
use crate::exit::Failure;
use crate::{print, Common};

/// `skills [--load NAME] <SERVER>`.
#[derive(Args, Debug, Clone)]
pub struct SkillsArgs {
    /// Load this skill (by name or SKILL.md URI) and print its SKILL.md, once checked.
    #[arg(long, value_name = "SKILL")]
    pub load: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `mcpwire skills`.
pub async fn run(common: &Common, args: &SkillsArgs) -> Result<(), Failure> {
    with_client(common, args.server.target()?, |c| async move {
        let skills = c
            .client
            .list_all_skills()
            .await
            .map_err(|e| c.failure("skills/list", e))?;
        let Some(wanted) = &args.load else {
            if common.json {
                c.print_json(&json!({ "skills": skills }))?;
            } else {
                for skill in &skills {
                    print::out(&line(skill))?;
                }
            }
            return Ok(());
        };
        let Some(entry) = skills
            .iter()
            .find(|s| s.name() == Some(wanted.as_str()) || s.uri == *wanted)
        else {
            return Err(Failure::Usage(format!(
                "the server lists no skill {wanted:?}"
            )));
        };
        let loaded = c
            .client
            .load_skill(entry)
            .await
            .map_err(|e| c.failure(format!("loading {}", entry.uri), e))?;
        if common.json {
            c.print_json(&json!({ "skill": loaded.entry, "text": loaded.text }))?;
        } else {
            print::out(loaded.text.trim_end())?;
        }
        Ok(())
    })
    .await
}

/// A skill as `name  uri  (n files)` and its description.
fn line(skill: &SkillEntry) -> String {
    let files = match &skill.resources {
        SkillResources::Listed(files) => format!("{} files", files.len()),
        SkillResources::Dynamic => "dynamic files".to_owned(),
    };
    let mut line = format!("{}  {}  ({files})", skill.name().unwrap_or("?"), skill.uri);
    if let Some(d) = skill.description().map(str::trim).filter(|d| !d.is_empty()) {
        for text in d.lines() {
            line.push_str("\n    ");
            line.push_str(text.trim_end());
        }
    }
    line
}
