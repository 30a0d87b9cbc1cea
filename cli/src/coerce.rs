//! `key=value` tool arguments, typed by the tool's input schema: `message=42` is the string
//! `"42"` when the schema says string, and the number 42 when it says number.
//!
//! For each pair, the property's JSON Schema types (`type`, a list of them, the alternatives
//! of `anyOf`/`oneOf`, or the values of `enum`/`const`) are tried in this order: `null`
//! (the word `null`), `boolean` (`true`, `false`), `integer`, `number`, `object` and
//! `array` (JSON text), then `string` (the text as it is). A value that fits none is a
//! usage error that says what the schema wants. A property the schema does not type (or a
//! tool without a schema) keeps the guess: JSON if the text parses as JSON, else a string.

use serde_json::{Map, Value};

/// Splits `key=value` pairs (the key is what comes before the first `=`).
pub fn split_pairs(words: &[String]) -> Result<Vec<(&str, &str)>, String> {
    words
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=value"))
        })
        .collect()
}

/// The arguments `pairs` make under the tool's input schema (`None`: no schema known).
pub fn arguments(
    pairs: &[(&str, &str)],
    schema: Option<&Value>,
) -> Result<Map<String, Value>, String> {
    let properties = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let mut map = Map::new();
    for (key, text) in pairs {
        let property = properties.and_then(|p| p.get(*key));
        map.insert((*key).to_owned(), value(key, text, property)?);
    }
    Ok(map)
}

/// One value, typed by its property's schema.
fn value(key: &str, text: &str, property: Option<&Value>) -> Result<Value, String> {
    let types = property.map(types_of).unwrap_or_default();
    if types.is_empty() {
        return Ok(guess(text));
    }
    let has = |t: &str| types.iter().any(|x| x == t);
    let json = || serde_json::from_str::<Value>(text).ok();
    if has("null") && text == "null" {
        return Ok(Value::Null);
    }
    if has("boolean") {
        match text {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
    }
    if has("integer") {
        if let Some(Value::Number(n)) = json() {
            if n.is_i64() || n.is_u64() {
                return Ok(Value::Number(n));
            }
        }
    }
    if has("number") {
        if let Some(n @ Value::Number(_)) = json() {
            return Ok(n);
        }
    }
    if has("object") {
        if let Some(o @ Value::Object(_)) = json() {
            return Ok(o);
        }
    }
    if has("array") {
        if let Some(a @ Value::Array(_)) = json() {
            return Ok(a);
        }
    }
    if has("string") {
        return Ok(Value::String(text.to_owned()));
    }
    Err(format!(
        "{key}={text:?}: the tool's input schema wants {} for {key:?}",
        types.join(" or ")
    ))
}

/// The JSON types a property's schema allows; none if it does not say.
fn types_of(schema: &Value) -> Vec<String> {
    let mut types = Vec::new();
    match schema.get("type") {
        Some(Value::String(t)) => types.push(t.clone()),
        Some(Value::Array(list)) => {
            types.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
        }
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        for alternative in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            types.extend(types_of(alternative));
        }
    }
    if types.is_empty() {
        let values = schema
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let values = values.into_iter().chain(schema.get("const").cloned());
        types.extend(values.map(|v| type_of_value(&v).to_owned()));
    }
    types.dedup();
    types
}

fn type_of_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Without a schema: JSON if the text parses as JSON (`n=3`, `ok=true`), else a string.
fn guess(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(pairs: &[(&str, &str)], schema: Value) -> Result<Value, String> {
        arguments(pairs, Some(&schema)).map(Value::Object)
    }

    fn schema(properties: Value) -> Value {
        json!({"type": "object", "properties": properties})
    }

    #[test]
    fn a_string_property_takes_the_text_as_it_is() {
        let s = schema(json!({"message": {"type": "string"}}));
        for text in ["42", "true", "null", "{\"a\":1}", "[1]", "", "hello world"] {
            assert_eq!(
                typed(&[("message", text)], s.clone()),
                Ok(json!({"message": text})),
                "{text:?}"
            );
        }
    }

    #[test]
    fn numbers_booleans_null_objects_and_arrays_follow_the_schema() {
        let s = schema(json!({
            "n": {"type": "number"}, "i": {"type": "integer"}, "b": {"type": "boolean"},
            "z": {"type": "null"}, "o": {"type": "object"}, "a": {"type": "array"},
        }));
        let pairs = [
            ("n", "1.5"),
            ("i", "42"),
            ("b", "false"),
            ("z", "null"),
            ("o", r#"{"k": [1]}"#),
            ("a", "[1, \"x\"]"),
        ];
        assert_eq!(
            typed(&pairs, s),
            Ok(json!({"n": 1.5, "i": 42, "b": false, "z": null, "o": {"k": [1]}, "a": [1, "x"]}))
        );
    }

    #[test]
    fn a_value_the_schema_does_not_allow_says_what_it_wants() {
        let s = schema(
            json!({"n": {"type": "number"}, "i": {"type": "integer"}, "b": {"type": "boolean"}}),
        );
        let e = typed(&[("n", "ten")], s.clone()).unwrap_err();
        assert_eq!(
            e,
            r#"n="ten": the tool's input schema wants number for "n""#
        );
        assert!(typed(&[("i", "1.5")], s.clone())
            .unwrap_err()
            .contains("integer"));
        assert!(typed(&[("b", "yes")], s.clone())
            .unwrap_err()
            .contains("boolean"));
        assert!(typed(&[("b", "True")], s).is_err(), "JSON's spelling only");
    }

    #[test]
    fn unions_try_the_narrow_types_before_string() {
        let s = schema(json!({
            "u": {"type": ["string", "number"]},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "either": {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
        }));
        assert_eq!(typed(&[("u", "7")], s.clone()), Ok(json!({"u": 7})));
        assert_eq!(
            typed(&[("u", "seven")], s.clone()),
            Ok(json!({"u": "seven"}))
        );
        assert_eq!(
            typed(&[("maybe", "null")], s.clone()),
            Ok(json!({"maybe": null}))
        );
        assert_eq!(typed(&[("maybe", "3")], s.clone()), Ok(json!({"maybe": 3})));
        assert_eq!(
            typed(&[("either", "true")], s.clone()),
            Ok(json!({"either": true}))
        );
        assert_eq!(typed(&[("either", "no")], s), Ok(json!({"either": "no"})));
    }

    #[test]
    fn enums_and_consts_type_by_their_values() {
        let s = schema(json!({
            "city": {"enum": ["New York", "Chicago"]},
            "level": {"enum": [1, 2, 3]},
            "fixed": {"const": "42"},
        }));
        assert_eq!(
            typed(&[("city", "Chicago")], s.clone()),
            Ok(json!({"city": "Chicago"}))
        );
        assert_eq!(typed(&[("level", "2")], s.clone()), Ok(json!({"level": 2})));
        assert_eq!(typed(&[("fixed", "42")], s), Ok(json!({"fixed": "42"})));
    }

    #[test]
    fn without_a_type_the_value_is_guessed_as_before() {
        let s = schema(json!({"any": {"description": "anything"}}));
        assert_eq!(
            typed(&[("any", "3"), ("other", "true"), ("text", "hi")], s),
            Ok(json!({"any": 3, "other": true, "text": "hi"}))
        );
        assert_eq!(
            arguments(&[("n", "3"), ("s", "x y")], None).map(Value::Object),
            Ok(json!({"n": 3, "s": "x y"}))
        );
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        let words = vec!["a=b=c".to_owned(), "empty=".to_owned()];
        assert_eq!(split_pairs(&words), Ok(vec![("a", "b=c"), ("empty", "")]));
        let bad = vec!["nopair".to_owned()];
        assert_eq!(split_pairs(&bad), Err("\"nopair\" is not key=value".into()));
    }
}
