//! The value encoding of `Mcp-Name` and `Mcp-Param-{Name}` (`streamable-http.mdx`
//! §Value Encoding).
//!
//! > "When a value cannot be safely represented as a plain ASCII header value (e.g., it
//! > contains non-ASCII characters, control characters, or has leading/trailing whitespace),
//! > clients MUST use Base64 encoding of the UTF-8 representation with the following format:
//! > `Mcp-Param-{Name}: =?base64?{Base64EncodedValue}?=`"
//!
//! > "To avoid ambiguity, clients MUST also Base64-encode any plain-ASCII value that matches
//! > the sentinel pattern (i.e., starts with `=?base64?` and ends with `?=`)."
//!
//! A value is sent as is when every byte is visible ASCII (0x21–0x7E) or a space that is
//! neither first nor last, and it does not match the sentinel; otherwise it is
//! `=?base64?{standard Base64, with padding}?=`. A horizontal tab is allowed by RFC 9110 but
//! always encoded here: the conformance suite's checker requires it (and it is whitespace at
//! either end anyway). The empty string is sent as an empty value.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use http::HeaderValue;
use serde_json::Value;

/// What starts a Base64-encoded value.
pub const BASE64_PREFIX: &str = "=?base64?";
/// What ends a Base64-encoded value.
pub const BASE64_SUFFIX: &str = "?=";

/// The largest integer a header may carry, either sign: JavaScript's safe range
/// (−2^53+1 to 2^53−1), as `x-mcp-header` requires of integer values.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Whether `value` must be sent Base64-encoded (see the [module documentation](self)).
pub fn needs_base64(value: &str) -> bool {
    let bytes = value.as_bytes();
    let unsafe_byte = bytes.iter().any(|&b| !(0x20..=0x7e).contains(&b));
    let edge_space = bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ');
    unsafe_byte || edge_space || looks_encoded(value)
}

/// Whether `value` starts with `=?base64?` and ends with `?=` (the two may overlap: encoding
/// `=?base64?=` too costs nothing and leaves no doubt).
fn looks_encoded(value: &str) -> bool {
    value.starts_with(BASE64_PREFIX) && value.ends_with(BASE64_SUFFIX)
}

/// `value` as header text: as is, or `=?base64?...?=`.
pub fn encode_str(value: &str) -> Cow<'_, str> {
    if needs_base64(value) {
        let mut out = String::with_capacity(value.len() * 4 / 3 + 16);
        out.push_str(BASE64_PREFIX);
        STANDARD.encode_string(value.as_bytes(), &mut out);
        out.push_str(BASE64_SUFFIX);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(value)
    }
}

/// `value` as a header value: as is, or `=?base64?...?=`. Never fails: the plain form holds
/// only bytes [`HeaderValue`] accepts, and the encoded form only Base64.
pub fn encode(value: &str) -> HeaderValue {
    let text = encode_str(value);
    match HeaderValue::from_str(&text) {
        Ok(v) => v,
        // Unreachable (see above); the encoded form is valid whatever the value.
        Err(_) => {
            let mut out = String::from(BASE64_PREFIX);
            STANDARD.encode_string(value.as_bytes(), &mut out);
            out.push_str(BASE64_SUFFIX);
            HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
        }
    }
}

/// Why a header value could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value is not visible ASCII (a [`HeaderValue`] with obs-text bytes).
    NotAscii,
    /// The text between the markers is not Base64.
    Base64,
    /// The decoded bytes are not UTF-8.
    Utf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::NotAscii => "header value is not ASCII",
            DecodeError::Base64 => "header value has the =?base64? markers but is not Base64",
            DecodeError::Utf8 => "Base64 header value does not decode to UTF-8",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Standard Base64, padding optional (a decoder is lenient where an encoder is not).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads a header value as a server does: `=?base64?{b64}?=` is decoded, anything else is
/// the value itself. The inverse of [`encode_str`].
pub fn decode_str(header: &str) -> Result<Cow<'_, str>, DecodeError> {
    let inner = header
        .strip_prefix(BASE64_PREFIX)
        .and_then(|rest| rest.strip_suffix(BASE64_SUFFIX));
    match inner {
        None => Ok(Cow::Borrowed(header)),
        Some(b64) => {
            let bytes = LENIENT.decode(b64).map_err(|_| DecodeError::Base64)?;
            String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|_| DecodeError::Utf8)
        }
    }
}

/// [`decode_str`] of a [`HeaderValue`].
pub fn decode(header: &HeaderValue) -> Result<Cow<'_, str>, DecodeError> {
    decode_str(header.to_str().map_err(|_| DecodeError::NotAscii)?)
}

/// Why an argument value cannot be mirrored into a header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueError {
    /// An integer outside ±(2^53−1).
    OutOfSafeRange(String),
    /// A number with a fraction (or an exponent beyond the integers).
    NotAnInteger(String),
    /// An object or an array: only strings, integers and booleans are mirrored.
    NotPrimitive,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::OutOfSafeRange(n) => {
                write!(f, "integer {n} is outside the safe range ±(2^53-1)")
            }
            ValueError::NotAnInteger(n) => write!(f, "number {n} is not an integer"),
            ValueError::NotPrimitive => {
                f.write_str("an object or array cannot be mirrored into a header")
            }
        }
    }
}

impl std::error::Error for ValueError {}

/// An argument value as a header value, converted by its JSON type as the spec says
/// ("`string`: Use the value as-is; `integer`: Convert to decimal string representation
/// (e.g., `42`, `-7`); `boolean`: Convert to lowercase `"true"` or `"false"`"), then encoded.
///
/// `null` is `Ok(None)`: the header is omitted ("Parameter value is `null`: Client MUST omit
/// the header"). A number is sent as its integer in decimal when it is one (`42.0` is `42`)
/// within ±(2^53−1); otherwise it is an error, as is an object or an array. The value's own
/// type decides, not the schema's: the server compares the header with the body's value.
pub fn encode_json(value: &Value) -> Result<Option<HeaderValue>, ValueError> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(true) => HeaderValue::from_static("true"),
        Value::Bool(false) => HeaderValue::from_static("false"),
        Value::String(s) => encode(s),
        Value::Number(n) => HeaderValue::from(integer(n)?),
        Value::Array(_) | Value::Object(_) => return Err(ValueError::NotPrimitive),
    }))
}

/// The integer `n` is, within the safe range.
fn integer(n: &serde_json::Number) -> Result<i64, ValueError> {
    let out_of_range = || ValueError::OutOfSafeRange(n.to_string());
    if let Some(i) = n.as_i64() {
        return (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER)
            .contains(&i)
            .then_some(i)
            .ok_or_else(out_of_range);
    }
    if n.as_u64().is_some() {
        return Err(out_of_range());
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() != 0.0 || !f.is_finite() {
        return Err(ValueError::NotAnInteger(n.to_string()));
    }
    if f.abs() > MAX_SAFE_INTEGER as f64 {
        return Err(out_of_range());
    }
    // Exact: |f| <= 2^53 - 1 and f has no fraction.
    Ok(f as i64)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_spec_examples() {
        for (value, header) in [
            ("us-west1", "us-west1"),
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ] {
            assert_eq!(encode_str(value), header, "{value:?}");
            assert_eq!(encode(value), header);
            assert_eq!(decode_str(header).unwrap(), value);
        }
    }

    #[test]
    fn what_is_sent_plain_and_what_is_encoded() {
        for plain in [
            "",
            "us west 1",
            "a",
            "~!#$%&'*+-.^_`|",
            "SELECT * FROM users",
            "=?base64?",
        ] {
            assert!(!needs_base64(plain), "{plain:?}");
            assert_eq!(encode(plain), plain);
        }
        for encoded in [
            " ",
            " us-west1",
            "us-west1 ",
            "\tindented",
            "a\tb",
            "line1\r\nline2",
            "\u{7f}",
            "é",
            "=?base64?=",
            "=?base64??=",
            "\0",
        ] {
            assert!(needs_base64(encoded), "{encoded:?}");
            let h = encode(encoded);
            assert!(h.to_str().unwrap().starts_with(BASE64_PREFIX));
            assert_eq!(decode(&h).unwrap(), encoded);
        }
    }

    #[test]
    fn decoding_is_lenient_on_padding_and_strict_on_the_rest() {
        assert_eq!(decode_str("=?base64?SGk?=").unwrap(), "Hi");
        assert_eq!(decode_str("=?base64?SGk=?=").unwrap(), "Hi");
        assert_eq!(
            decode_str("=?base64?!!?=").unwrap_err(),
            DecodeError::Base64
        );
        assert_eq!(
            decode_str("=?base64?/w==?=").unwrap_err(),
            DecodeError::Utf8
        );
        assert_eq!(
            decode_str("=?BASE64?SGk=?=").unwrap(),
            "=?BASE64?SGk=?=",
            "case-sensitive"
        );
        let obs = HeaderValue::from_bytes(b"\xe9").unwrap();
        assert_eq!(decode(&obs).unwrap_err(), DecodeError::NotAscii);
    }

    #[test]
    fn json_values_by_type() {
        let enc = |v: Value| encode_json(&v).map(|h| h.map(|h| h.to_str().unwrap().to_owned()));
        assert_eq!(enc(json!(42)), Ok(Some("42".into())));
        assert_eq!(enc(json!(-7)), Ok(Some("-7".into())));
        assert_eq!(enc(json!(0)), Ok(Some("0".into())));
        assert_eq!(enc(json!(42.0)), Ok(Some("42".into())));
        assert_eq!(enc(json!(-0.0)), Ok(Some("0".into())));
        assert_eq!(enc(json!(true)), Ok(Some("true".into())));
        assert_eq!(enc(json!(false)), Ok(Some("false".into())));
        assert_eq!(enc(json!("")), Ok(Some("".into())));
        assert_eq!(enc(json!(null)), Ok(None));
        assert_eq!(
            enc(json!(MAX_SAFE_INTEGER)),
            Ok(Some("9007199254740991".into()))
        );
        assert_eq!(
            enc(json!(-MAX_SAFE_INTEGER)),
            Ok(Some("-9007199254740991".into()))
        );
        assert!(matches!(
            enc(json!(MAX_SAFE_INTEGER + 1)),
            Err(ValueError::OutOfSafeRange(_))
        ));
        assert!(matches!(
            enc(json!(-MAX_SAFE_INTEGER - 1)),
            Err(ValueError::OutOfSafeRange(_))
        ));
        assert!(matches!(
            enc(json!(u64::MAX)),
            Err(ValueError::OutOfSafeRange(_))
        ));
        assert!(matches!(
            enc(json!(1e300)),
            Err(ValueError::OutOfSafeRange(_))
        ));
        assert!(matches!(enc(json!(2.5)), Err(ValueError::NotAnInteger(_))));
        assert_eq!(enc(json!([1])), Err(ValueError::NotPrimitive));
        assert_eq!(enc(json!({})), Err(ValueError::NotPrimitive));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn encoding_round_trips_and_is_always_a_valid_header_value(s in any::<String>()) {
            let text = encode_str(&s);
            prop_assert!(HeaderValue::from_str(&text).is_ok(), "{:?}", text);
            let h = encode(&s);
            prop_assert_eq!(h.to_str().unwrap(), &*text);
            prop_assert_eq!(decode_str(&text).unwrap(), s.as_str());
            // Plain exactly when safe; never leading or trailing whitespace, never a tab.
            let plain = text == s;
            prop_assert_eq!(plain, !needs_base64(&s));
            prop_assert!(!text.starts_with([' ', '\t']) && !text.ends_with([' ', '\t']));
            prop_assert!(!text.contains('\t'));
        }

        #[test]
        fn ascii_heavy_strings_round_trip(s in "[ -~\t\n=?base64]{0,40}") {
            let text = encode_str(&s);
            prop_assert!(HeaderValue::from_str(&text).is_ok());
            prop_assert_eq!(decode_str(&text).unwrap(), s.as_str());
        }

        #[test]
        fn sentinel_shaped_strings_round_trip(inner in "[ -~]{0,12}") {
            let s = format!("{BASE64_PREFIX}{inner}{BASE64_SUFFIX}");
            let text = encode_str(&s);
            prop_assert!(text != s);
            prop_assert_eq!(decode_str(&text).unwrap(), s.as_str());
        }

        #[test]
        fn integers_in_range_are_decimal(i in -MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER) {
            let h = encode_json(&json!(i)).unwrap().unwrap();
            prop_assert_eq!(h.to_str().unwrap(), i.to_string());
        }
    }
}
