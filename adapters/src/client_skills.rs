//! The skills extension (SEP-2640, `io.modelcontextprotocol/skills`) on the [`Client`].
//!
//! Listing reads no file: a skill's files are read only when the application loads it, and
//! each read is checked by [`mcpwire_core::skills`] (listed, size, digest, and the `SKILL.md`
//! frontmatter against the entry) before its bytes are returned. A refused file is an
//! [`Error::Skill`]; nothing of it is returned.

use mcpwire_core::schema::{
    GetSkillParams, ListSkillsParams, ListSkillsResult, ReadResourceParams, SkillEntry,
    SKILLS_EXTENSION,
};
use mcpwire_core::skills::{self, SkillError};

use crate::{Client, Error};

/// A skill whose `SKILL.md` passed every check.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LoadedSkill {
    /// The entry it was checked against.
    pub entry: SkillEntry,
    /// The `SKILL.md`, frontmatter and body.
    pub text: String,
}

impl Client {
    /// Whether the server declared the skills extension.
    pub fn serves_skills(&self) -> bool {
        self.server()
            .capabilities
            .extension(SKILLS_EXTENSION)
            .is_some()
    }

    fn require_skills(&self) -> Result<(), Error> {
        match self.serves_skills() {
            true => Ok(()),
            false => Err(SkillError::NotDeclared.into()),
        }
    }

    /// One page of the server's skills (`skills/list`); reads none of their files.
    pub async fn list_skills(&self, cursor: Option<String>) -> Result<ListSkillsResult, Error> {
        self.require_skills()?;
        let mut params = ListSkillsParams::default();
        params.cursor = cursor;
        self.request(&params).await
    }

    /// Every skill, following all pages (bounded like every `list_all_*`).
    pub async fn list_all_skills(&self) -> Result<Vec<SkillEntry>, Error> {
        self.require_skills()?;
        self.list_all(ListSkillsParams::default()).await
    }

    /// One skill's entry by the URI of its `SKILL.md` (`skills/get`).
    pub async fn get_skill(&self, uri: &str) -> Result<SkillEntry, Error> {
        self.require_skills()?;
        Ok(self.request(&GetSkillParams::new(uri)).await?.skill)
    }

    /// Loads a skill: reads its `SKILL.md` and returns it once it matches the entry (size,
    /// digest, and its frontmatter field by field). Its other files are read only by
    /// [`Client::read_skill_file`], when needed.
    pub async fn load_skill(&self, entry: &SkillEntry) -> Result<LoadedSkill, Error> {
        let bytes = self.read_skill_file(entry, &entry.uri).await?;
        // `verify` checked the SKILL.md is UTF-8.
        let text = String::from_utf8(bytes).map_err(|_| SkillError::Frontmatter {
            uri: entry.uri.clone(),
            reason: "SKILL.md is not UTF-8".into(),
        })?;
        Ok(LoadedSkill {
            entry: entry.clone(),
            text,
        })
    }

    /// Reads one of the skill's files and returns its bytes once they match the entry. A file
    /// the entry does not list (or outside the skill) is refused before anything is sent.
    pub async fn read_skill_file(&self, entry: &SkillEntry, uri: &str) -> Result<Vec<u8>, Error> {
        self.require_skills()?;
        skills::check_readable(entry, uri)?;
        let read = self.request(&ReadResourceParams::new(uri)).await?;
        let bytes = skills::contents_of(&read.contents, uri)?;
        skills::verify(entry, uri, &bytes)?;
        Ok(bytes.into_owned())
    }
}
