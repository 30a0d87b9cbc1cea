//! Content blocks: what tool results, prompts and resources carry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Annotations, Meta, Resource, ResourceContents};

/// Defines an enum of content kinds told apart by their `"type"` field, plus an `Unknown`
/// variant that keeps anything else verbatim, with hand-written serde.
///
/// Each variant's type must have an `extra` map: decoding reads the object in place and then
/// takes `"type"` out of `extra`. The enum must have a `Text(TextContent)` variant for
/// `"text"`: a block of only `"type": "text"` and a string `"text"` is read straight into it.
macro_rules! typed_content {
    (
        $(#[$attr:meta])*
        pub enum $name:ident {
            $( $(#[$vattr:meta])* $variant:ident($ty:ty) = $tag:literal, )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq)]
        pub enum $name {
            $( $(#[$vattr])* $variant($ty), )*
            /// A block whose `"type"` this version does not know, or whose fields do not fit
            /// its known type: kept exactly as received.
            Unknown(serde_json::Value),
        }

        impl $name {
            /// The block's `"type"` (`"text"`, ...), if it has one.
            pub fn kind(&self) -> Option<&str> {
                match self {
                    $( $name::$variant(_) => Some($tag), )*
                    $name::Unknown(value) => value.get("type").and_then(serde_json::Value::as_str),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(inner) => {
                        serde::Serialize::serialize(
                            &$crate::schema::content::Tagged { kind: $tag, inner },
                            serializer,
                        )
                    } )*
                    $name::Unknown(value) => serde::Serialize::serialize(value, serializer),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // The common block, `{"type": "text", "text": ...}`, read in one pass.
                let value = match <$crate::schema::decode::Block as serde::Deserialize>::deserialize(deserializer)? {
                    $crate::schema::decode::Block::Text(text) => {
                        return Ok($name::Text($crate::schema::TextContent::new(text)))
                    }
                    $crate::schema::decode::Block::Other(value) => value,
                };
                let decoded = match &value {
                    serde_json::Value::Object(map) => {
                        match map.get("type").and_then(serde_json::Value::as_str) {
                            $( Some($tag) => <$ty as serde::Deserialize>::deserialize(map).ok().map(|mut inner| {
                                inner.extra.remove("type");
                                $name::$variant(inner)
                            }), )*
                            _ => None,
                        }
                    }
                    _ => None,
                };
                Ok(decoded.unwrap_or($name::Unknown(value)))
            }
        }
    };
}
pub(crate) use typed_content;

/// A known content block serialized with its `"type"` first.
#[derive(Serialize)]
pub(crate) struct Tagged<'a, T> {
    /// The block's `"type"`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// The block's other fields.
    #[serde(flatten)]
    pub(crate) inner: &'a T,
}

typed_content! {
    /// A piece of content in a tool result or prompt (`ContentBlock`), by its `"type"`.
    ///
    /// Decoding never fails: a block of a new type is kept as [`ContentBlock::Unknown`] and
    /// serializes back unchanged.
    pub enum ContentBlock {
        /// Text (`"text"`).
        Text(TextContent) = "text",
        /// An image (`"image"`).
        Image(ImageContent) = "image",
        /// Audio (`"audio"`).
        Audio(AudioContent) = "audio",
        /// A link to a resource (`"resource_link"`).
        ResourceLink(Resource) = "resource_link",
        /// A resource's contents, embedded (`"resource"`).
        Resource(EmbeddedResource) = "resource",
    }
}

impl ContentBlock {
    /// A text block holding `text`.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextContent::new(text))
    }

    /// The text, if this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

/// Text content (`TextContent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// How to use or show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// The block's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TextContent {
    /// Text content holding `text`.
    pub fn new(text: impl Into<String>) -> Self {
        TextContent {
            text: text.into(),
            ..Default::default()
        }
    }
}

/// An image (`ImageContent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageContent {
    /// The image, base64-encoded.
    pub data: String,
    /// Its MIME type.
    pub mime_type: String,
    /// How to use or show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// The block's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Audio (`AudioContent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioContent {
    /// The audio, base64-encoded.
    pub data: String,
    /// Its MIME type.
    pub mime_type: String,
    /// How to use or show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// The block's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A resource's contents embedded in a result (`EmbeddedResource`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedResource {
    /// The contents.
    pub resource: ResourceContents,
    /// How to use or show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// The block's `_meta`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
