//! Decoding the hot results in one pass: a content block and a `tools/call` result read
//! straight from the deserializer, without serde's buffering of a `#[serde(flatten)]` struct
//! or an intermediate `serde_json::Value` for the common block (a text block with only
//! `"type"` and `"text"`). What they decode to is exactly what the general path gives
//! (`schema::tests` compares both on random input).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// A content block as read: a plain text block, or the block as JSON for the general path.
pub(crate) enum Block {
    /// `{"type": "text", "text": ...}` and nothing else.
    Text(String),
    /// Anything else, exactly as `serde_json::Value` decodes it.
    Other(Value),
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BlockVisitor)
    }
}

/// A map key, borrowed from the input when it can be (the 2026-07-28 raw-JSON reader's).
pub(crate) use crate::modern::raw::Key;

/// A value that is a string (borrowed when it can be), or any other JSON.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    Json(Value),
}

impl Scalar<'_> {
    fn into_value(self) -> Value {
        match self {
            Scalar::Str(s) => Value::String(s.into_owned()),
            Scalar::Json(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(Value::Number(v.into())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(Value::Number(v.into())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(
                    Number::from_f64(v).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Json(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
                Value::deserialize(d).map(Scalar::Json)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
                Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(Scalar::Json)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
                Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Scalar::Json)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// The entries read so far as a JSON object, in their order.
fn object_of(seen: [Option<(Cow<'_, str>, Scalar<'_>)>; 2]) -> Map<String, Value> {
    let mut object = Map::new();
    for (k, v) in seen.into_iter().flatten() {
        object.insert(k.into_owned(), v.into_value());
    }
    object
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content block")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        // Up to two entries, `"type"` and `"text"`, in the order they came (a repeated key
        // keeps its first place and its last value, as `serde_json::Map` does).
        let mut seen: [Option<(Cow<'de, str>, Scalar<'de>)>; 2] = [None, None];
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key != "type" && key != "text" {
                // Any other field: the general path, with what was read so far.
                let mut object = object_of(seen);
                object.insert(key.into_owned(), map.next_value::<Value>()?);
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    object.insert(k, v);
                }
                return Ok(Block::Other(Value::Object(object)));
            }
            let value = map.next_value::<Scalar<'de>>()?;
            match seen.iter_mut().flatten().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => {
                    let free = if seen[0].is_none() { 0 } else { 1 };
                    seen[free] = Some((key, value));
                }
            }
        }
        let slot = |name: &str| {
            seen.iter()
                .position(|e| e.as_ref().is_some_and(|(k, _)| k == name))
        };
        if let (Some(kind), Some(text)) = (slot("type"), slot("text")) {
            let plain = matches!(&seen[kind], Some((_, Scalar::Str(s))) if s == "text")
                && matches!(&seen[text], Some((_, Scalar::Str(_))));
            if plain {
                if let Some((_, Scalar::Str(text))) = seen[text].take() {
                    return Ok(Block::Text(text.into_owned()));
                }
            }
        }
        Ok(Block::Other(Value::Object(object_of(seen))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Block, A::Error> {
        Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Block::Other)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Block, E> {
        Ok(Block::Other(Value::String(v.to_owned())))
    }

    fn visit_str<E>(self, v: &str) -> Result<Block, E> {
        Ok(Block::Other(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Block, E> {
        Ok(Block::Other(Value::String(v)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Block, E> {
        Ok(Block::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Block, E> {
        Ok(Block::Other(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Block, E> {
        Ok(Block::Other(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Block, E> {
        Ok(Block::Other(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_unit<E>(self) -> Result<Block, E> {
        Ok(Block::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Block, E> {
        Ok(Block::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Block, D::Error> {
        Value::deserialize(d).map(Block::Other)
    }
}
