//! The skills extension (SEP-2640, `io.modelcontextprotocol/skills`): `skills/list` and
//! `skills/get`. A skill is a directory of resources with a `SKILL.md` at its root; its files
//! are read with `resources/read` and checked with [`crate::skills`] before anything uses them.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::Meta;

/// The extension's identifier, under `capabilities.extensions`.
pub const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";
/// List the skills a server serves.
pub const SKILLS_LIST: &str = "skills/list";
/// One skill's entry, by its URI.
pub const SKILLS_GET: &str = "skills/get";

/// One file of a skill as its entry lists it: what a read of it must give.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SkillFile {
    /// The file's resource URI, under the skill's directory.
    pub uri: String,
    /// `sha256:` and the lowercase hex SHA-256 of its bytes.
    pub digest: String,
    /// Its length in bytes.
    pub size: u64,
}

impl SkillFile {
    /// A file entry.
    pub fn new(uri: impl Into<String>, digest: impl Into<String>, size: u64) -> Self {
        SkillFile {
            uri: uri.into(),
            digest: digest.into(),
            size,
        }
    }
}

/// A skill's files: every one listed with its digest, or generated (`"dynamic"`: no digests,
/// so only the `SKILL.md` frontmatter can be checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkillResources {
    /// The complete list of the skill's files, `SKILL.md` included.
    Listed(Vec<SkillFile>),
    /// The file set is generated; nothing to check the files against.
    Dynamic,
}

impl Default for SkillResources {
    fn default() -> Self {
        SkillResources::Listed(Vec::new())
    }
}

impl Serialize for SkillResources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SkillResources::Listed(files) => files.serialize(s),
            SkillResources::Dynamic => s.serialize_str("dynamic"),
        }
    }
}

impl<'de> Deserialize<'de> for SkillResources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s == "dynamic" => Ok(SkillResources::Dynamic),
            v @ Value::Array(_) => serde_json::from_value(v)
                .map(SkillResources::Listed)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(
                "a skill's resources are a list of files or \"dynamic\"",
            )),
        }
    }
}

/// A skill as the server lists it (`skills/list`, `skills/get`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SkillEntry {
    /// The URI of its `SKILL.md` (`skill://<path>/<name>/SKILL.md`).
    pub uri: String,
    /// The `SKILL.md` frontmatter, which the file itself must match field by field.
    pub frontmatter: Map<String, Value>,
    /// Its files.
    pub resources: SkillResources,
    /// The entry's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SkillEntry {
    /// The frontmatter's `name`, if it is a string.
    pub fn name(&self) -> Option<&str> {
        self.frontmatter.get("name")?.as_str()
    }

    /// The frontmatter's `description`, if it is a string.
    pub fn description(&self) -> Option<&str> {
        self.frontmatter.get("description")?.as_str()
    }
}

/// Parameters of `skills/list`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListSkillsParams {
    /// Where to continue from; `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The request's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Result of `skills/list`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListSkillsResult {
    /// The skills on this page.
    pub skills: Vec<SkillEntry>,
    /// The cursor for the next page, if there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know (2026-07-28: `ttlMs`, `cacheScope`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl super::Request for ListSkillsParams {
    const METHOD: &'static str = SKILLS_LIST;
    type Result = ListSkillsResult;
}

super::paginated!(ListSkillsParams => ListSkillsResult, skills: SkillEntry);

/// Parameters of `skills/get`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GetSkillParams {
    /// The skill's URI (of its `SKILL.md`).
    pub uri: String,
    /// The request's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl GetSkillParams {
    /// Asks for the skill at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        GetSkillParams {
            uri: uri.into(),
            meta: None,
        }
    }
}

/// Result of `skills/get`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GetSkillResult {
    /// The skill's entry, as `skills/list` gives it.
    pub skill: SkillEntry,
    /// The result's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl super::Request for GetSkillParams {
    const METHOD: &'static str = SKILLS_GET;
    type Result = GetSkillResult;
}
