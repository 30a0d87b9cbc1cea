//! Checking a skill's files before anything uses them (SEP-2640, the skills extension).
//!
//! A host reads a skill's files only when the skill is loaded (never on connecting or
//! listing), and every file it reads must be what the skill's entry says: a file the entry
//! does not list is refused, and a listed file's length and SHA-256 must match the entry's
//! `size` and `digest` (a length mismatch is reported without hashing). The `SKILL.md` must
//! then begin with YAML frontmatter that equals the entry's `frontmatter` field by field (a
//! missing field reads as `null`): the listing is what a user approved, and a file that says
//! something else is not loaded. A skill whose files are `"dynamic"` has no digests; only its
//! `SKILL.md` frontmatter is checked, and its files must still lie under its directory.
//!
//! Digests are supplied by the same server as the content: a match proves the two agree,
//! not that either is trustworthy.
//!
//! Everything here is pure: the adapter reads, this decides. The YAML is parsed by
//! `yaml-rust2`'s event parser into JSON values by a builder of our own that refuses aliases
//! (an alias can expand exponentially) and stops at [`MAX_FRONTMATTER_DEPTH`] and
//! [`MAX_FRONTMATTER_NODES`].

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

use crate::error::sanitize;
use crate::schema::{ResourceContents, SkillEntry, SkillResources};

/// The file at a skill's root.
pub const SKILL_MD: &str = "SKILL.md";
/// The most bytes of one skill the client reads (SEP-2640: servers should not serve more than
/// 16 MiB per skill, summed over its files).
pub const MAX_SKILL_BYTES: u64 = 16 * 1024 * 1024;
/// The deepest nesting of the frontmatter's YAML that is parsed.
pub const MAX_FRONTMATTER_DEPTH: usize = 32;
/// The most YAML nodes (scalars, lists, maps) of a frontmatter that are parsed.
pub const MAX_FRONTMATTER_NODES: usize = 10_000;

/// Why a skill, or one of its files, was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkillError {
    /// The server did not declare the skills extension.
    NotDeclared,
    /// The entry's URI does not name a `SKILL.md` (`…/<name>/SKILL.md`).
    NotASkill {
        /// The entry's URI.
        uri: String,
    },
    /// The file is not one of the files the entry lists.
    NotListed {
        /// The file's URI.
        uri: String,
    },
    /// The file lies outside the skill's directory.
    OutsideSkill {
        /// The file's URI.
        uri: String,
    },
    /// The read gave no contents for the file.
    NoContent {
        /// The file's URI.
        uri: String,
    },
    /// A blob's base64 does not decode.
    InvalidBlob {
        /// The file's URI.
        uri: String,
    },
    /// The entry lists more bytes than [`MAX_SKILL_BYTES`] for the skill, or the file is longer.
    TooLarge {
        /// The skill's or the file's URI.
        uri: String,
        /// Its size in bytes.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file's length is not the entry's `size`.
    SizeMismatch {
        /// The file's URI.
        uri: String,
        /// The entry's size.
        expected: u64,
        /// The read's length.
        actual: u64,
    },
    /// The entry's digest is not `sha256:` and 64 lowercase hex digits.
    UnsupportedDigest {
        /// The file's URI.
        uri: String,
        /// The digest as listed.
        digest: String,
    },
    /// The file's SHA-256 is not the entry's digest.
    DigestMismatch {
        /// The file's URI.
        uri: String,
        /// The entry's digest.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// The `SKILL.md` is not UTF-8, or has no frontmatter that parses.
    Frontmatter {
        /// The file's URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A frontmatter field of the `SKILL.md` differs from the entry's.
    FrontmatterMismatch {
        /// The file's URI.
        uri: String,
        /// The first field that differs.
        field: String,
    },
}

impl fmt::Display for SkillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkillError::NotDeclared => {
                write!(f, "the server does not declare the skills extension")
            }
            SkillError::NotASkill { uri } => write!(f, "{uri} does not name a SKILL.md"),
            SkillError::NotListed { uri } => {
                write!(f, "{uri} is not one of the skill's listed files")
            }
            SkillError::OutsideSkill { uri } => {
                write!(f, "{uri} lies outside the skill's directory")
            }
            SkillError::NoContent { uri } => write!(f, "reading {uri} gave no contents for it"),
            SkillError::InvalidBlob { uri } => write!(f, "{uri}: the blob is not valid base64"),
            SkillError::TooLarge { uri, size, limit } => {
                write!(
                    f,
                    "{uri}: {size} bytes, more than the {limit} a skill may have"
                )
            }
            SkillError::SizeMismatch {
                uri,
                expected,
                actual,
            } => write!(
                f,
                "{uri}: {actual} bytes read, but the skill's entry lists {expected}"
            ),
            SkillError::UnsupportedDigest { uri, digest } => {
                write!(
                    f,
                    "{uri}: the digest {digest:?} is not sha256:<64 hex digits>"
                )
            }
            SkillError::DigestMismatch {
                uri,
                expected,
                actual,
            } => write!(
                f,
                "{uri}: its digest is {actual}, but the skill's entry lists {expected}"
            ),
            SkillError::Frontmatter { uri, reason } => write!(f, "{uri}: {reason}"),
            SkillError::FrontmatterMismatch { uri, field } => write!(
                f,
                "{uri}: the frontmatter field {field:?} differs from the skill's entry"
            ),
        }
    }
}

impl std::error::Error for SkillError {}

fn clean(uri: &str) -> String {
    sanitize(uri)
}

/// The directory of the skill whose `SKILL.md` is at `uri`, with its trailing `/`.
pub fn skill_directory(uri: &str) -> Option<&str> {
    let dir = uri.strip_suffix(SKILL_MD)?;
    // `<scheme>://<at least one segment>/`, the last segment being the skill's name.
    let (_, path) = dir.split_once("://")?;
    (dir.ends_with('/') && path.len() > 1).then_some(dir)
}

/// The skill's name as its URI says (the last directory segment).
pub fn skill_name(uri: &str) -> Option<&str> {
    let dir = skill_directory(uri)?;
    dir[..dir.len() - 1].rsplit('/').next()
}

/// Checks an entry before any of its files is read: it names a `SKILL.md`, and the bytes it
/// lists are within [`MAX_SKILL_BYTES`].
pub fn check_entry(entry: &SkillEntry) -> Result<(), SkillError> {
    if skill_directory(&entry.uri).is_none() {
        return Err(SkillError::NotASkill {
            uri: clean(&entry.uri),
        });
    }
    if let SkillResources::Listed(files) = &entry.resources {
        let total = files.iter().fold(0u64, |t, f| t.saturating_add(f.size));
        if total > MAX_SKILL_BYTES {
            return Err(SkillError::TooLarge {
                uri: clean(&entry.uri),
                size: total,
                limit: MAX_SKILL_BYTES,
            });
        }
    }
    Ok(())
}

/// Checks that `uri` may be read for the skill at all: listed (or, for a dynamic skill,
/// under its directory). Call it before sending the read.
pub fn check_readable(entry: &SkillEntry, uri: &str) -> Result<(), SkillError> {
    check_entry(entry)?;
    let dir = skill_directory(&entry.uri).unwrap_or_default();
    if !uri.starts_with(dir) || uri[dir.len()..].split('/').any(|s| s == ".." || s == ".") {
        return Err(SkillError::OutsideSkill { uri: clean(uri) });
    }
    match &entry.resources {
        SkillResources::Listed(files) if !files.iter().any(|f| f.uri == uri) => {
            Err(SkillError::NotListed { uri: clean(uri) })
        }
        _ => Ok(()),
    }
}

/// The bytes of `uri` in a `resources/read` result: its text as UTF-8, or its blob decoded.
pub fn contents_of<'a>(
    contents: &'a [ResourceContents],
    uri: &str,
) -> Result<Cow<'a, [u8]>, SkillError> {
    let found = contents
        .iter()
        .find(|c| c.uri() == uri)
        .ok_or_else(|| SkillError::NoContent { uri: clean(uri) })?;
    match found {
        ResourceContents::Text(t) => Ok(Cow::Borrowed(t.text.as_bytes())),
        ResourceContents::Blob(b) => base64::engine::general_purpose::STANDARD
            .decode(&b.blob)
            .map(Cow::Owned)
            .map_err(|_| SkillError::InvalidBlob { uri: clean(uri) }),
    }
}

/// `sha256:` and the lowercase hex SHA-256 of `bytes`: a skill file's digest.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// Checks what a read of `uri` gave against the skill's entry: listed, its size, its digest,
/// and for the `SKILL.md` its frontmatter. Only bytes that pass may be used.
pub fn verify(entry: &SkillEntry, uri: &str, bytes: &[u8]) -> Result<(), SkillError> {
    check_readable(entry, uri)?;
    let actual = bytes.len() as u64;
    if actual > MAX_SKILL_BYTES {
        return Err(SkillError::TooLarge {
            uri: clean(uri),
            size: actual,
            limit: MAX_SKILL_BYTES,
        });
    }
    if let SkillResources::Listed(files) = &entry.resources {
        // `check_readable` found it.
        let Some(file) = files.iter().find(|f| f.uri == uri) else {
            return Err(SkillError::NotListed { uri: clean(uri) });
        };
        if file.size != actual {
            return Err(SkillError::SizeMismatch {
                uri: clean(uri),
                expected: file.size,
                actual,
            });
        }
        let well_formed = file.digest.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if !well_formed {
            return Err(SkillError::UnsupportedDigest {
                uri: clean(uri),
                digest: clean(&file.digest),
            });
        }
        let got = digest(bytes);
        if got != file.digest {
            return Err(SkillError::DigestMismatch {
                uri: clean(uri),
                expected: file.digest.clone(),
                actual: got,
            });
        }
    }
    if uri == entry.uri {
        let text = std::str::from_utf8(bytes).map_err(|_| SkillError::Frontmatter {
            uri: clean(uri),
            reason: "SKILL.md is not UTF-8".into(),
        })?;
        compare_frontmatter(entry, text)?;
    }
    Ok(())
}

/// Compares the frontmatter of the `SKILL.md` text with the entry's, field by field.
fn compare_frontmatter(entry: &SkillEntry, text: &str) -> Result<(), SkillError> {
    let file = frontmatter(text).map_err(|reason| SkillError::Frontmatter {
        uri: clean(&entry.uri),
        reason,
    })?;
    let mut fields: Vec<&String> = file.keys().chain(entry.frontmatter.keys()).collect();
    fields.sort();
    fields.dedup();
    for field in fields {
        let a = file.get(field).unwrap_or(&Value::Null);
        let b = entry.frontmatter.get(field).unwrap_or(&Value::Null);
        if !same(a, b) {
            return Err(SkillError::FrontmatterMismatch {
                uri: clean(&entry.uri),
                field: clean(field),
            });
        }
    }
    Ok(())
}

/// Equal as JSON, numbers by value (YAML's `1` and JSON's `1.0` are the same number).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The YAML frontmatter at the start of a `SKILL.md` (after an optional byte order mark):
/// `---`, the YAML, a line `---`. It must be a mapping.
pub fn frontmatter(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("SKILL.md does not begin with a --- frontmatter block")?;
    // The closing line: `---`, optional spaces or tabs, then the end of the line or the text.
    let mut start = 0;
    let yaml = loop {
        let line_end = rest[start..].find('\n').map_or(rest.len(), |i| start + i);
        let line = rest[start..line_end].trim_end_matches('\r');
        if line
            .strip_prefix("---")
            .is_some_and(|t| t.trim_matches([' ', '\t']).is_empty())
        {
            break &rest[..start];
        }
        if line_end >= rest.len() {
            return Err("SKILL.md's frontmatter block has no closing ---".into());
        }
        start = line_end + 1;
    };
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(yaml);
    parser
        .load(&mut builder, false)
        .map_err(|e| format!("the frontmatter is not YAML: {}", sanitize(&e.to_string())))?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    match builder.done {
        Some(Value::Object(map)) => Ok(map),
        Some(Value::Null) | None => Ok(Map::new()),
        Some(_) => Err("the frontmatter is not a mapping".into()),
    }
}

/// Builds JSON values from YAML events, bounded.
#[derive(Default)]
struct Builder {
    /// The open lists and maps; a map's pending key beside it.
    stack: Vec<(Value, Option<String>)>,
    done: Option<Value>,
    nodes: usize,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, why: &str) {
        if self.error.is_none() {
            self.error = Some(why.to_owned());
        }
    }

    fn push(&mut self, v: Value) {
        self.nodes += 1;
        if self.nodes > MAX_FRONTMATTER_NODES {
            return self.fail("the frontmatter has too many YAML nodes");
        }
        let Some((top, key)) = self.stack.last_mut() else {
            if self.done.is_none() {
                self.done = Some(v);
            }
            return;
        };
        match top {
            Value::Array(a) => a.push(v),
            Value::Object(m) => match key.take() {
                Some(k) => {
                    m.insert(k, v);
                }
                None => match v {
                    Value::String(k) => *key = Some(k),
                    Value::Null => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Number(n) => *key = Some(n.to_string()),
                    _ => self.fail("a frontmatter key is not a scalar"),
                },
            },
            _ => {}
        }
    }

    fn open(&mut self, v: Value) {
        if self.stack.len() >= MAX_FRONTMATTER_DEPTH {
            return self.fail("the frontmatter nests too deeply");
        }
        self.stack.push((v, None));
    }

    fn close(&mut self) {
        if let Some((v, _)) = self.stack.pop() {
            self.push(v);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Alias(_) => self.fail("the frontmatter uses a YAML alias"),
            Event::Scalar(text, style, _, tag) => {
                let v = match (style, tag) {
                    (TScalarStyle::Plain, None) => scalar(&text),
                    _ => Value::String(text),
                };
                self.push(v);
            }
            Event::SequenceStart(..) => self.open(Value::Array(Vec::new())),
            Event::MappingStart(..) => self.open(Value::Object(Map::new())),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            _ => {}
        }
    }
}

/// A plain scalar's value under YAML 1.2's core schema.
fn scalar(text: &str) -> Value {
    match Yaml::from_str(text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SkillFile;
    use serde_json::json;

    const BODY: &str = "---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\n---\n\n# PDF\n\nSkill body.\n";
    const FORMS: &str = "# Forms\n";
    const MD: &str = "skill://pdf-processing/SKILL.md";
    const FORMS_URI: &str = "skill://pdf-processing/references/FORMS.md";

    fn entry(body: &str) -> SkillEntry {
        let frontmatter = json!({
            "name": "pdf-processing",
            "description": "Extract, fill, and assemble PDF documents",
        });
        SkillEntry {
            uri: MD.into(),
            frontmatter: frontmatter.as_object().unwrap().clone(),
            resources: SkillResources::Listed(vec![
                SkillFile::new(MD, digest(body.as_bytes()), body.len() as u64),
                SkillFile::new(FORMS_URI, digest(FORMS.as_bytes()), FORMS.len() as u64),
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn the_listed_skill_md_and_its_files_pass() {
        let e = entry(BODY);
        assert_eq!(verify(&e, MD, BODY.as_bytes()), Ok(()));
        assert_eq!(verify(&e, FORMS_URI, FORMS.as_bytes()), Ok(()));
        assert_eq!(skill_name(MD), Some("pdf-processing"));
    }

    #[test]
    fn a_changed_body_fails_on_its_digest() {
        let e = entry(BODY);
        let evil = BODY.replace("Skill body.", "Evil body!!");
        assert!(matches!(
            verify(&e, MD, evil.as_bytes()),
            Err(SkillError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn extra_bytes_fail_on_the_size_before_any_hashing() {
        let e = entry(BODY);
        let longer = format!("{BODY}extra");
        assert_eq!(
            verify(&e, MD, longer.as_bytes()),
            Err(SkillError::SizeMismatch {
                uri: MD.into(),
                expected: BODY.len() as u64,
                actual: longer.len() as u64
            })
        );
    }

    #[test]
    fn a_frontmatter_that_differs_from_the_entry_fails_even_with_matching_digests() {
        let tampered = BODY.replace(
            "Extract, fill, and assemble PDF documents",
            "Exfiltrate credentials",
        );
        // The entry's digest and size are those of the tampered file.
        let e = entry(&tampered);
        assert_eq!(
            verify(&e, MD, tampered.as_bytes()),
            Err(SkillError::FrontmatterMismatch {
                uri: MD.into(),
                field: "description".into()
            })
        );
        // A field only the file has differs too (the entry's reads as null).
        let extra = BODY.replace("---\n\n", "license: MIT\n---\n\n");
        let e = entry(&extra);
        assert!(matches!(
            verify(&e, MD, extra.as_bytes()),
            Err(SkillError::FrontmatterMismatch { field, .. }) if field == "license"
        ));
    }

    #[test]
    fn a_file_the_entry_does_not_list_or_outside_the_skill_is_refused_before_reading() {
        let e = entry(BODY);
        assert!(matches!(
            check_readable(&e, "skill://pdf-processing/scripts/run.sh"),
            Err(SkillError::NotListed { .. })
        ));
        assert!(matches!(
            check_readable(&e, "skill://other/SKILL.md"),
            Err(SkillError::OutsideSkill { .. })
        ));
        let mut dynamic = e.clone();
        dynamic.resources = SkillResources::Dynamic;
        assert_eq!(
            check_readable(&dynamic, "skill://pdf-processing/any/file.md"),
            Ok(())
        );
        assert!(matches!(
            check_readable(&dynamic, "skill://pdf-processing/../other/SKILL.md"),
            Err(SkillError::OutsideSkill { .. })
        ));
        // A dynamic skill's SKILL.md still has its frontmatter compared.
        let tampered = BODY.replace("pdf-processing\n", "other\n");
        assert!(matches!(
            verify(&dynamic, MD, tampered.as_bytes()),
            Err(SkillError::FrontmatterMismatch { field, .. }) if field == "name"
        ));
    }

    #[test]
    fn a_malformed_digest_or_entry_is_its_own_error() {
        let mut e = entry(BODY);
        if let SkillResources::Listed(files) = &mut e.resources {
            files[1].digest = "md5:abc".into();
        }
        assert!(matches!(
            verify(&e, FORMS_URI, FORMS.as_bytes()),
            Err(SkillError::UnsupportedDigest { .. })
        ));
        let mut e = entry(BODY);
        e.uri = "skill://pdf-processing/README.md".into();
        assert!(matches!(check_entry(&e), Err(SkillError::NotASkill { .. })));
        let mut e = entry(BODY);
        if let SkillResources::Listed(files) = &mut e.resources {
            files[1].size = MAX_SKILL_BYTES;
        }
        assert!(matches!(check_entry(&e), Err(SkillError::TooLarge { .. })));
    }

    #[test]
    fn frontmatter_parses_as_yaml_into_json_values() {
        let text = "\u{feff}---\r\nname: x\ndescription: |\n  two\n  lines\nversion: 2\nratio: 0.5\nflag: true\nnothing: ~\nquoted: \"2\"\nmetadata:\n  owner: me\nallowed-tools: [a, b]\n---   \nbody";
        let fm = frontmatter(text).unwrap();
        assert_eq!(
            Value::Object(fm),
            json!({
                "name": "x", "description": "two\nlines\n", "version": 2, "ratio": 0.5,
                "flag": true, "nothing": null, "quoted": "2", "metadata": {"owner": "me"},
                "allowed-tools": ["a", "b"],
            })
        );
    }

    #[test]
    fn hostile_frontmatter_is_refused_not_expanded() {
        // Aliases can expand exponentially: refused outright.
        let laughs = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\n";
        assert!(frontmatter(laughs).unwrap_err().contains("alias"));
        let deep = format!("---\na: {}{}\n---\n", "[".repeat(100), "]".repeat(100));
        assert!(frontmatter(&deep).unwrap_err().contains("deeply"));
        let many = format!(
            "---\na: [{}]\n---\n",
            vec!["1"; MAX_FRONTMATTER_NODES + 1].join(",")
        );
        assert!(frontmatter(&many).unwrap_err().contains("too many"));
        for bad in [
            "no frontmatter",
            "---\nname: x\n",
            "---\n- a list\n---\n",
            "---\n{: [\n---\n",
        ] {
            assert!(frontmatter(bad).is_err(), "{bad:?}");
        }
    }
}
