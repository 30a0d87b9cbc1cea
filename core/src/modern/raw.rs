//! Reading and rewriting JSON objects kept as text ([`RawValue`]), so that what this revision
//! adds to a request (`_meta` keys, `inputResponses`, `requestState`) leaves every other byte
//! as it was.
//!
//! An object is read once into its members: each key decoded, each value a borrowed slice of
//! the original text. Rewriting then either splices the new members in before the closing
//! brace (when nothing is removed: the original text is kept whole, whitespace and all), or
//! writes the object again from its members (when a member is removed): then the values are
//! still the original bytes, but keys are written with this module's escaping and the
//! whitespace between members is dropped.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One member of an object: its key, decoded, and its value as the original text.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) value: &'a RawValue,
}

/// What a JSON text holds, as far as rewriting objects cares.
#[derive(Debug)]
pub(crate) enum Shape<'a> {
    /// `null`.
    Null,
    /// An object and its members, in order (duplicates kept).
    Object(Vec<Member<'a>>),
    /// Anything else: an array, a string, a number, a boolean.
    Other,
}

/// Reads `text`, which must be one JSON value (a [`RawValue`]'s text), as a [`Shape`].
pub(crate) fn shape(text: &str) -> Result<Shape<'_>, serde_json::Error> {
    match text.trim_start().as_bytes().first() {
        Some(b'{') => members(text).map(Shape::Object),
        Some(b'n') => Ok(Shape::Null),
        _ => Ok(Shape::Other),
    }
}

/// The members of the object `text`, in order, duplicates kept.
pub(crate) fn members(text: &str) -> Result<Vec<Member<'_>>, serde_json::Error> {
    let Members(members) = serde_json::from_str(text)?;
    Ok(members)
}

struct Members<'a>(Vec<Member<'a>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push(Member { key, value });
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// A string borrowed from the input when it has no escapes.
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Where `part` (a slice of `whole`, such as a borrowed member value) starts in `whole`.
pub(crate) fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

/// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, ... or
/// `\u00XX`, everything else (including non-ASCII) as is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

/// Rewrites the object `text` (whose members are `members`): every member for which `drop`
/// is true is removed, then `add` is appended, each `(key, value as JSON text)`.
///
/// When nothing is dropped, the result is `text` with the new members spliced in before its
/// closing brace; otherwise the object is written again from its members (see the module
/// documentation).
pub(crate) fn rewrite(
    text: &str,
    members: &[Member<'_>],
    drop: impl Fn(&str) -> bool,
    add: &[(&str, &str)],
) -> String {
    let text = text.trim();
    let extra: usize = add.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    let dropping = members.iter().any(|m| drop(&m.key));
    match text.strip_suffix('}') {
        Some(open) if !dropping => {
            let mut out = String::with_capacity(text.len() + extra);
            out.push_str(open);
            let mut first = members.is_empty();
            for (key, value) in add {
                if !first {
                    out.push(',');
                }
                first = false;
                push_json_string(&mut out, key);
                out.push(':');
                out.push_str(value);
            }
            out.push('}');
            out
        }
        _ => {
            let mut out = ObjectWriter::with_capacity(text.len() + extra);
            for m in members.iter().filter(|m| !drop(&m.key)) {
                out.member(&m.key, m.value.get());
            }
            for (key, value) in add {
                out.member(key, value);
            }
            out.finish()
        }
    }
}

/// Writes an object member by member.
pub(crate) struct ObjectWriter {
    out: String,
    empty: bool,
}

impl ObjectWriter {
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut out = String::with_capacity(n + 2);
        out.push('{');
        ObjectWriter { out, empty: true }
    }

    /// Appends `"key":value`, `value` being JSON text.
    pub(crate) fn member(&mut self, key: &str, value: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_string(&mut self.out, key);
        self.out.push(':');
        self.out.push_str(value);
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// `text` as a [`RawValue`]; it is checked to be one JSON value.
pub(crate) fn to_raw(text: String) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn members_borrow_values_verbatim_and_decode_keys() {
        let text = r#"{"a" : [1, 2] , "b\u0063":"\u00e9","a":null}"#;
        let m = members(text).unwrap();
        assert_eq!(m.len(), 3, "duplicates are kept");
        assert_eq!(m[0].key, "a");
        assert_eq!(m[0].value.get(), "[1, 2]");
        assert!(matches!(m[0].key, Cow::Borrowed(_)));
        assert_eq!(m[1].key, "bc");
        assert_eq!(m[1].value.get(), r#""\u00e9""#);
        assert_eq!(offset_in(text, m[0].value.get()), Some(7));
    }

    #[test]
    fn shapes() {
        assert!(matches!(shape("null").unwrap(), Shape::Null));
        assert!(matches!(shape("[1]").unwrap(), Shape::Other));
        assert!(matches!(shape("\"x\"").unwrap(), Shape::Other));
        assert!(matches!(shape(" {}").unwrap(), Shape::Object(m) if m.is_empty()));
    }

    #[test]
    fn rewrite_splices_when_nothing_is_dropped() {
        let text = r#"{ "x" : 1 }"#;
        let m = members(text).unwrap();
        let out = rewrite(text, &m, |_| false, &[("y", "2")]);
        assert_eq!(out, r#"{ "x" : 1 ,"y":2}"#);
        let out = rewrite("{ }", &[], |_| false, &[("y", "2"), ("z", "3")]);
        assert_eq!(out, r#"{ "y":2,"z":3}"#);
        raw(&out);
    }

    #[test]
    fn rewrite_rebuilds_when_a_member_is_dropped() {
        let text = r#"{"x" : 1, "drop": 2, "k\"": "v"}"#;
        let m = members(text).unwrap();
        let out = rewrite(text, &m, |k| k == "drop", &[("y", "[]")]);
        assert_eq!(out, r#"{"x":1,"k\"":"v","y":[]}"#);
    }

    #[test]
    fn json_strings_escape_what_json_needs() {
        assert_eq!(json_string("a\"\\\n\u{1}é"), r#""a\"\\\n\u0001é""#);
        for s in ["", "\u{7f}", "\u{2028}", "\t\r\u{8}\u{c}", "😀"] {
            let back: String = serde_json::from_str(&json_string(s)).unwrap();
            assert_eq!(back, s);
        }
    }
}
