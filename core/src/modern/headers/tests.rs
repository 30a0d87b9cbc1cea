//! Tests of the headers: the conformance scenarios `http-standard-headers`,
//! `http-custom-headers`, `http-invalid-tool-headers` and `json-schema-2020-12-preservation`
//! (tools as the alpha.12 suite serves them), where annotations may be, and property tests.

use http::{HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::*;

fn raw(v: &Value) -> Box<RawValue> {
    RawValue::from_string(v.to_string()).unwrap()
}

fn raw_str(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).unwrap()
}

/// The headers as (name, value text) pairs.
fn texts(headers: &[(HeaderName, HeaderValue)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn header<'a>(headers: &'a [(HeaderName, HeaderValue)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.to_str().unwrap())
}

fn prop(ty: &str, header: &str) -> Value {
    json!({"type": ty, "x-mcp-header": header})
}

// ---------------------------------------------------------------------------------------
// http-custom-headers

/// The `tools/list` result of `http-custom-headers` (conformance alpha.12).
fn custom_headers_tools() -> Value {
    json!({
        "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
        "tools": [
            {
                "name": "test_custom_headers",
                "description": "A tool with x-mcp-header annotations",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "region": {"type": "string", "description": "Plain ASCII string value", "x-mcp-header": "Region"},
                        "priority": {"type": "integer", "x-mcp-header": "Priority"},
                        "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
                        "debug": {"type": "boolean", "x-mcp-header": "Debug"},
                        "empty_val": {"type": "string", "x-mcp-header": "EmptyVal"},
                        "method_val": {"type": "string", "x-mcp-header": "Method"},
                        "float_val": {"type": "number"},
                        "non_ascii_val": {"type": "string", "x-mcp-header": "NonAscii"},
                        "whitespace_val": {"type": "string", "x-mcp-header": "Whitespace"},
                        "leading_space_val": {"type": "string", "x-mcp-header": "LeadingSpace"},
                        "trailing_space_val": {"type": "string", "x-mcp-header": "TrailingSpace"},
                        "internal_space_val": {"type": "string", "x-mcp-header": "InternalSpace"},
                        "control_char_val": {"type": "string", "x-mcp-header": "ControlChar"},
                        "crlf_val": {"type": "string", "x-mcp-header": "CrLf"},
                        "tab_val": {"type": "string", "x-mcp-header": "Tab"},
                        "query": {"type": "string", "description": "No x-mcp-header annotation"}
                    },
                    "required": ["region", "priority", "query"]
                }
            },
            {
                "name": "test_custom_headers_null",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "region": {"type": "string", "x-mcp-header": "Region"},
                        "priority": {"type": "integer", "x-mcp-header": "Priority"},
                        "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
                        "query": {"type": "string"}
                    },
                    "required": ["region", "priority", "query"]
                }
            }
        ]
    })
}

fn plans_of(result: &Value) -> (FilteredTools, ToolHeaderPlans) {
    let filtered = filter_tools_list(raw(result));
    let mut plans = ToolHeaderPlans::new();
    plans.update(&filtered, true);
    (filtered, plans)
}

#[test]
#[allow(clippy::approx_constant)] // 3.14159 is the suite's `float_val`, not π
fn http_custom_headers_mirrors_and_encodes_every_designated_param() {
    let (filtered, plans) = plans_of(&custom_headers_tools());
    assert!(filtered.rejected.is_empty(), "{:?}", filtered.rejected);
    assert_eq!(plans.len(), 2);
    let params = json!({
        "name": "test_custom_headers",
        "arguments": {
            "region": "us-west1", "priority": 42, "verbose": false, "debug": true,
            "empty_val": "", "method_val": "test-method", "float_val": 3.14159,
            "non_ascii_val": "Hello, 世界", "whitespace_val": " padded ",
            "leading_space_val": " us-west1", "trailing_space_val": "us-west1 ",
            "internal_space_val": "us west 1", "control_char_val": "line1\nline2",
            "crlf_val": "line1\r\nline2", "tab_val": "\tindented", "query": "SELECT * FROM users"
        },
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    });
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    let expected = [
        ("mcp-method", "tools/call"),
        ("mcp-name", "test_custom_headers"),
        ("mcp-param-region", "us-west1"),
        ("mcp-param-priority", "42"),
        ("mcp-param-verbose", "false"),
        ("mcp-param-debug", "true"),
        ("mcp-param-emptyval", ""),
        ("mcp-param-method", "test-method"),
        ("mcp-param-nonascii", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        ("mcp-param-whitespace", "=?base64?IHBhZGRlZCA=?="),
        ("mcp-param-leadingspace", "=?base64?IHVzLXdlc3Qx?="),
        ("mcp-param-trailingspace", "=?base64?dXMtd2VzdDEg?="),
        ("mcp-param-internalspace", "us west 1"),
        ("mcp-param-controlchar", "=?base64?bGluZTEKbGluZTI=?="),
        ("mcp-param-crlf", "=?base64?bGluZTENCmxpbmUy?="),
        ("mcp-param-tab", "=?base64?CWluZGVudGVk?="),
    ];
    let mut got = texts(&h);
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // The negative halves: the unannotated number and string are not mirrored, and
    // `Method` is `Mcp-Param-Method`, never `Mcp-Method`.
    assert!(header(&h, "mcp-param-floatval").is_none());
    assert!(header(&h, "mcp-param-float_val").is_none());
    assert!(header(&h, "mcp-param-query").is_none());
    assert_eq!(header(&h, "mcp-method"), Some("tools/call"));
}

#[test]
fn http_custom_headers_omits_null() {
    let (_, plans) = plans_of(&custom_headers_tools());
    let params = json!({
        "name": "test_custom_headers_null",
        "arguments": {"region": "us-east1", "priority": 1, "verbose": null, "query": "SELECT 1"}
    });
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    assert_eq!(header(&h, "mcp-param-region"), Some("us-east1"));
    assert_eq!(header(&h, "mcp-param-priority"), Some("1"));
    assert!(header(&h, "mcp-param-verbose").is_none());
    // Absent arguments: only the standard headers.
    let params = json!({"name": "test_custom_headers_null"});
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    assert_eq!(
        texts(&h),
        vec![
            ("mcp-method".into(), "tools/call".into()),
            ("mcp-name".into(), "test_custom_headers_null".into())
        ]
    );
}

#[test]
fn values_that_cannot_be_mirrored_fail_the_call() {
    let (_, plans) = plans_of(&custom_headers_tools());
    for (arg, value) in [
        ("priority", json!(9007199254740992_i64)),
        ("priority", json!(1.5)),
        ("region", json!(["us"])),
        ("verbose", json!({"a": 1})),
    ] {
        let params = json!({"name": "test_custom_headers", "arguments": {arg: value}});
        let err = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap_err();
        match err {
            HeaderError::Param(ParamError::Value { path, .. }) => assert_eq!(path, vec![arg]),
            e => panic!("{e:?}"),
        }
    }
    // An integer at the edge of the safe range is fine.
    let params =
        json!({"name": "test_custom_headers", "arguments": {"priority": -9007199254740991_i64}});
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    assert_eq!(header(&h, "mcp-param-priority"), Some("-9007199254740991"));
}

// ---------------------------------------------------------------------------------------
// http-invalid-tool-headers

/// The `tools/list` result of `http-invalid-tool-headers` (conformance alpha.12: `valid_tool`
/// and 11 invalid tools).
fn invalid_tool_headers_tools() -> Value {
    let tool = |name: &str, props: Value| json!({"name": name, "description": "d", "inputSchema": {"type": "object", "properties": props}});
    json!({
        "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
        "tools": [
            tool("valid_tool", json!({"region": prop("string", "Region")})),
            tool("invalid_empty_header", json!({"value": prop("string", "")})),
            tool("invalid_object_header", json!({"data": prop("object", "Data")})),
            tool("invalid_array_header", json!({"items": {"type": "array", "items": {"type": "string"}, "x-mcp-header": "Items"}})),
            tool("invalid_null_header", json!({"nil": prop("null", "Nil")})),
            tool("invalid_number_header", json!({"score": prop("number", "Score")})),
            tool("invalid_duplicate_same_case", json!({"field1": prop("string", "Region"), "field2": prop("string", "Region")})),
            tool("invalid_duplicate_diff_case", json!({"field1": prop("string", "MyField"), "field2": prop("string", "myfield")})),
            tool("invalid_space_in_name", json!({"value": prop("string", "My Region")})),
            tool("invalid_colon_in_name", json!({"value": prop("string", "Region:Primary")})),
            tool("invalid_non_ascii_name", json!({"value": prop("string", "Région")})),
            tool("invalid_control_char_name", json!({"value": prop("string", "Region\t1")})),
        ]
    })
}

#[test]
fn http_invalid_tool_headers_rejects_all_eleven_and_keeps_valid_tool() {
    let listed = invalid_tool_headers_tools();
    let (filtered, plans) = plans_of(&listed);
    let kept: Value = serde_json::from_str(filtered.result.get()).unwrap();
    let names: Vec<&str> = kept["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["valid_tool"]);
    assert_eq!(
        kept["tools"][0], listed["tools"][0],
        "the kept tool is unchanged"
    );
    assert_eq!(kept["ttlMs"], 0);
    assert_eq!(kept["cacheScope"], "private");
    assert_eq!(filtered.rejected.len(), 11);
    let reason = |name: &str| {
        let r = filtered
            .rejected
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} not rejected"));
        match &r.reason {
            Rejection::Annotation(a) => a.clone(),
            other => panic!("{other:?}"),
        }
    };
    use InvalidAnnotation as I;
    assert!(matches!(reason("invalid_empty_header"), I::Empty { .. }));
    for t in [
        "invalid_object_header",
        "invalid_array_header",
        "invalid_null_header",
        "invalid_number_header",
    ] {
        assert!(matches!(reason(t), I::NotPrimitive { .. }), "{t}");
    }
    assert!(matches!(
        reason("invalid_duplicate_same_case"),
        I::Duplicate { .. }
    ));
    assert!(matches!(
        reason("invalid_duplicate_diff_case"),
        I::Duplicate { .. }
    ));
    for t in [
        "invalid_space_in_name",
        "invalid_colon_in_name",
        "invalid_non_ascii_name",
    ] {
        assert!(matches!(reason(t), I::InvalidCharacter { .. }), "{t}");
    }
    assert!(matches!(
        reason("invalid_control_char_name"),
        I::ControlCharacter { .. }
    ));
    match reason("invalid_number_header") {
        I::NotPrimitive { at, name, found } => {
            assert_eq!(at, "/properties/score");
            assert_eq!(name, "Score");
            assert_eq!(found, "\"number\"");
        }
        other => panic!("{other:?}"),
    }
    // The warnings name the tool and the reason, and escape what the server sent.
    let warning = filtered.rejected.last().unwrap().to_string();
    assert!(warning.contains("invalid_control_char_name"), "{warning}");
    assert!(warning.contains("control character"), "{warning}");
    assert!(!warning.contains('\t'), "{warning}");
    // valid_tool is callable with its header.
    let params = json!({"name": "valid_tool", "arguments": {"region": "eu-west1"}});
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    assert_eq!(header(&h, "mcp-param-region"), Some("eu-west1"));
    assert_eq!(plans.len(), 1);
}

// ---------------------------------------------------------------------------------------
// http-standard-headers

#[test]
fn http_standard_headers_method_and_name() {
    let plans = ToolHeaderPlans::new();
    for (method, params, name) in [
        ("tools/list", None, None),
        ("resources/list", Some(json!({"_meta": {}})), None),
        ("prompts/list", None, None),
        ("server/discover", None, None),
        (
            "tools/call",
            Some(json!({"name": "test_headers", "arguments": {}})),
            Some("test_headers"),
        ),
        (
            "tools/call",
            Some(json!({"name": "my-hyphenated-tool"})),
            Some("my-hyphenated-tool"),
        ),
        (
            "resources/read",
            Some(json!({"uri": "file:///path/to/file%20name.txt"})),
            Some("file:///path/to/file%20name.txt"),
        ),
        (
            "resources/read",
            Some(json!({"uri": "https://example.com/resource?id=123"})),
            Some("https://example.com/resource?id=123"),
        ),
        (
            "prompts/get",
            Some(json!({"name": "test_prompt", "arguments": {}})),
            Some("test_prompt"),
        ),
        ("tasks/get", Some(json!({"taskId": "t-1"})), Some("t-1")),
        (
            "tasks/update",
            Some(json!({"taskId": "t-1", "inputResponses": {}})),
            Some("t-1"),
        ),
        (
            "tasks/cancel",
            Some(json!({"taskId": "t 2 "})),
            Some("=?base64?dCAyIA==?="),
        ),
    ] {
        let params = params.map(|p| raw(&p));
        let h = request_headers(method, params.as_deref(), &plans).unwrap();
        assert_eq!(header(&h, "Mcp-Method"), Some(method));
        assert_eq!(header(&h, "Mcp-Name"), name, "{method}");
        assert_eq!(h.len(), 1 + usize::from(name.is_some()));
    }
}

#[test]
fn mcp_name_is_encoded_like_a_param() {
    let plans = ToolHeaderPlans::new();
    let params = json!({"name": "outil-été"});
    let h = request_headers("tools/call", Some(&raw(&params)), &plans).unwrap();
    let v = header(&h, "mcp-name").unwrap();
    assert!(v.starts_with(BASE64_PREFIX));
    assert_eq!(decode_str(v).unwrap(), "outil-été");
}

#[test]
fn a_method_that_needs_a_name_without_one_is_an_error() {
    let plans = ToolHeaderPlans::new();
    for (method, params) in [
        ("tools/call", None),
        ("tools/call", Some(json!({}))),
        ("tools/call", Some(json!({"name": 5}))),
        ("tools/call", Some(json!({"name": null}))),
        ("resources/read", Some(json!({"name": "x"}))),
        ("tasks/get", Some(json!({"id": "x"}))),
    ] {
        let params = params.map(|p| raw(&p));
        let err = request_headers(method, params.as_deref(), &plans).unwrap_err();
        assert!(
            matches!(err, HeaderError::MissingName { .. }),
            "{method} {err:?}"
        );
    }
    let err = request_headers("tools/call", Some(&raw_str("[\"x\"]")), &plans).unwrap_err();
    assert!(matches!(err, HeaderError::Params(_)));
    assert_eq!(protocol_version_header("2026-07-28").unwrap(), "2026-07-28");
    assert!(protocol_version_header("a\nb").is_err());
}

// ---------------------------------------------------------------------------------------
// Where annotations may be

fn object(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

#[test]
fn nested_properties_are_reachable() {
    let schema = object(json!({
        "location": object(json!({
            "region": prop("string", "Region"),
            "zone": {"type": "object", "properties": {"id": prop("integer", "Zone-Id")}}
        })),
        "flag": prop("boolean", "Flag"),
        "x-mcp-header": prop("string", "Named-Like-The-Keyword"),
    }));
    let h = validate_input_schema(&schema).unwrap();
    let got: Vec<(Vec<String>, &str, &str)> = h
        .params()
        .iter()
        .map(|p| (p.path.clone(), p.name.as_str(), p.header.as_str()))
        .collect();
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(got.contains(&(path(&["location", "region"]), "Region", "mcp-param-region")));
    assert!(got.contains(&(
        path(&["location", "zone", "id"]),
        "Zone-Id",
        "mcp-param-zone-id"
    )));
    assert!(got.contains(&(path(&["flag"]), "Flag", "mcp-param-flag")));
    assert!(got.contains(&(
        path(&["x-mcp-header"]),
        "Named-Like-The-Keyword",
        "mcp-param-named-like-the-keyword"
    )));
    // Values at nested paths; a missing step or a non-object omits the header.
    let args = json!({"location": {"region": "r1", "zone": {"id": 7}}, "flag": true});
    let hs = h.headers(Some(&args)).unwrap();
    assert_eq!(header(&hs, "mcp-param-region"), Some("r1"));
    assert_eq!(header(&hs, "mcp-param-zone-id"), Some("7"));
    assert_eq!(header(&hs, "mcp-param-flag"), Some("true"));
    let args = json!({"location": "not an object"});
    assert!(h.headers(Some(&args)).unwrap().is_empty());
    assert!(h.headers(None).unwrap().is_empty());
    let raw_args = raw(&json!({"flag": false}));
    let hs = h.headers_raw(Some(&raw_args)).unwrap();
    assert_eq!(texts(&hs), vec![("mcp-param-flag".into(), "false".into())]);
}

#[test]
fn annotations_anywhere_else_are_unreachable() {
    let a = prop("string", "A");
    for (schema, at) in [
        (json!({"type": "object", "x-mcp-header": "Root"}), ""),
        (
            object(json!({"list": {"type": "array", "items": a}})),
            "/properties/list/items",
        ),
        (
            object(json!({"list": {"type": "array", "items": [a]}})),
            "/properties/list/items/0",
        ),
        (
            object(json!({"list": {"type": "array", "prefixItems": [a]}})),
            "/properties/list/prefixItems/0",
        ),
        (
            object(json!({"list": {"contains": a}})),
            "/properties/list/contains",
        ),
        (
            json!({"type": "object", "anyOf": [object(json!({"x": a}))]}),
            "/anyOf/0/properties/x",
        ),
        (json!({"type": "object", "oneOf": [a]}), "/oneOf/0"),
        (
            json!({"type": "object", "allOf": [{"anyOf": [object(json!({"x": a}))]}]}),
            "/allOf/0/anyOf/0/properties/x",
        ),
        (
            json!({"type": "object", "not": object(json!({"x": a}))}),
            "/not/properties/x",
        ),
        (
            json!({"type": "object", "if": object(json!({"x": a}))}),
            "/if/properties/x",
        ),
        (
            json!({"type": "object", "then": object(json!({"x": a}))}),
            "/then/properties/x",
        ),
        (
            json!({"type": "object", "else": object(json!({"x": a}))}),
            "/else/properties/x",
        ),
        (
            json!({"type": "object", "$defs": {"r": a}, "properties": {"x": {"$ref": "#/$defs/r"}}}),
            "/$defs/r",
        ),
        (
            json!({"type": "object", "definitions": {"r": a}}),
            "/definitions/r",
        ),
        (
            json!({"type": "object", "additionalProperties": a}),
            "/additionalProperties",
        ),
        (
            json!({"type": "object", "patternProperties": {"^x": a}}),
            "/patternProperties/^x",
        ),
        (
            json!({"type": "object", "dependentSchemas": {"x": object(json!({"y": a}))}}),
            "/dependentSchemas/x/properties/y",
        ),
        (
            json!({"type": "object", "unevaluatedProperties": a}),
            "/unevaluatedProperties",
        ),
        (
            json!({"type": "object", "propertyNames": a}),
            "/propertyNames",
        ),
        (
            object(json!({"x": {"type": "string", "com.example/unknown": a}})),
            "/properties/x/com.example~1unknown",
        ),
        (
            object(json!({"x": {"anyOf": [a]}})),
            "/properties/x/anyOf/0",
        ),
    ] {
        match validate_input_schema(&schema) {
            Err(InvalidAnnotation::Unreachable { at: got }) => assert_eq!(got, at, "{schema}"),
            other => panic!("{schema}: {other:?}"),
        }
    }
}

#[test]
fn instance_data_is_not_searched() {
    let schema = object(json!({
        "region": {
            "type": "string",
            "x-mcp-header": "Region",
            "default": "us",
            "examples": [{"x-mcp-header": "NotAnAnnotation"}],
        },
        "cfg": {"type": "object", "const": {"x-mcp-header": "X"}, "enum": [{"x-mcp-header": "Y"}]},
    }));
    let h = validate_input_schema(&schema).unwrap();
    assert_eq!(h.params().len(), 1);
}

#[test]
fn types_other_than_string_integer_boolean_are_rejected() {
    for ty in [
        json!("number"),
        json!("object"),
        json!("array"),
        json!("null"),
        json!(["string", "null"]),
        json!(["string"]),
        json!(5),
    ] {
        let schema = object(json!({"x": {"type": ty, "x-mcp-header": "X"}}));
        assert!(
            matches!(
                validate_input_schema(&schema),
                Err(InvalidAnnotation::NotPrimitive { .. })
            ),
            "{ty}"
        );
    }
    for untyped in [
        json!({"x-mcp-header": "X"}),
        json!({"$ref": "#/$defs/s", "x-mcp-header": "X"}),
        json!({"enum": ["a"], "x-mcp-header": "X"}),
    ] {
        let schema = object(json!({"x": untyped}));
        match validate_input_schema(&schema) {
            Err(InvalidAnnotation::NotPrimitive { found, .. }) => assert_eq!(found, "missing"),
            other => panic!("{other:?}"),
        }
    }
    for (ty, kind) in [
        ("string", ParamType::String),
        ("integer", ParamType::Integer),
        ("boolean", ParamType::Boolean),
    ] {
        let schema = object(json!({"x": prop(ty, "X")}));
        assert_eq!(
            validate_input_schema(&schema).unwrap().params()[0].kind,
            kind
        );
    }
}

#[test]
fn names_must_be_tokens() {
    for ok in ["A", "a-b_c.d", "!#$%&'*+-.^_`|~09", "X"] {
        let schema = object(json!({"x": prop("string", ok)}));
        let h = validate_input_schema(&schema).unwrap();
        assert_eq!(
            h.params()[0].header.as_str(),
            format!("mcp-param-{}", ok.to_ascii_lowercase())
        );
    }
    use InvalidAnnotation as I;
    for (bad, is) in [
        ("", (|e: &I| matches!(e, I::Empty { .. })) as fn(&I) -> bool),
        ("a b", |e| matches!(e, I::InvalidCharacter { .. })),
        ("a:b", |e| matches!(e, I::InvalidCharacter { .. })),
        ("a/b", |e| matches!(e, I::InvalidCharacter { .. })),
        ("a\"b", |e| matches!(e, I::InvalidCharacter { .. })),
        ("(a)", |e| matches!(e, I::InvalidCharacter { .. })),
        ("é", |e| matches!(e, I::InvalidCharacter { .. })),
        ("a\rb", |e| matches!(e, I::ControlCharacter { .. })),
        ("a\nb", |e| matches!(e, I::ControlCharacter { .. })),
        ("a\u{7f}", |e| matches!(e, I::ControlCharacter { .. })),
        ("a\u{85}", |e| matches!(e, I::ControlCharacter { .. })),
    ] {
        let schema = object(json!({"x": prop("string", bad)}));
        let err = validate_input_schema(&schema).unwrap_err();
        assert!(is(&err), "{bad:?}: {err:?}");
    }
    let schema = object(json!({"x": {"type": "string", "x-mcp-header": 5}}));
    assert!(matches!(
        validate_input_schema(&schema),
        Err(I::NotAString { .. })
    ));
    let schema = object(json!({"x": prop("string", &"a".repeat(70_000))}));
    assert!(matches!(
        validate_input_schema(&schema),
        Err(I::TooLong { .. })
    ));
}

#[test]
fn uniqueness_spans_the_whole_schema() {
    let schema = object(json!({
        "a": prop("string", "Region"),
        "nested": object(json!({"b": prop("string", "REGION")})),
    }));
    match validate_input_schema(&schema) {
        Err(InvalidAnnotation::Duplicate { name, .. }) => assert_eq!(name, "REGION"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deep_schema_does_not_overflow_the_stack() {
    // Building and dropping so deep a `Value` recurses: done on a roomy thread. The walk runs
    // on a small one, where a recursive walk would overflow.
    let roomy = std::thread::Builder::new().stack_size(256 << 20);
    roomy
        .spawn(|| {
            let mut schema = prop("string", "Deep");
            for _ in 0..5_000 {
                // Built by hand: `json!` would copy `schema` at every level.
                let mut props = serde_json::Map::new();
                props.insert("p".into(), schema);
                let mut outer = serde_json::Map::new();
                outer.insert("type".into(), json!("object"));
                outer.insert("properties".into(), Value::Object(props));
                schema = Value::Object(outer);
            }
            let small = std::thread::Builder::new().stack_size(128 << 10);
            let (schema, depth) = small
                .spawn(move || {
                    let h = validate_input_schema(&schema).unwrap();
                    let depth = h.params()[0].path.len();
                    (schema, depth)
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(depth, 5_000);
            drop(schema);
        })
        .unwrap()
        .join()
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// tools/list filtering

/// `json-schema-2020-12-preservation`'s tools, as text the way a server might write it.
const PRESERVATION: &str = r##"{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":[
  {"name":"json_schema_2020_12_tool","inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema",
    "type":"object","$defs":{"address":{"$anchor":"addressDef","type":"object","properties":{"street":{"type":"string"}}}},
    "properties":{"address":{"$ref":"#/$defs/address"},"phone":{"type":"string"},"email":{"type":"string"}},
    "allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],
    "if":{"properties":{"phone":{"const":"x"}}},"then":{"required":["email"]},"else":{},
    "additionalProperties":false}},
  {"name" : "json_schema_echo", "inputSchema" : {"type":"object","properties":{"schema":{"type":"object"}}}}
]}"##;

#[test]
fn a_list_without_annotations_comes_back_byte_for_byte() {
    let filtered = filter_tools_list(raw_str(PRESERVATION));
    assert_eq!(filtered.result.get(), PRESERVATION);
    assert!(filtered.rejected.is_empty());
    assert!(filtered.headers.is_empty());
    // With a `\u` escape it takes the slow path, and still changes nothing.
    let escaped = PRESERVATION.replace(
        "\"phone\":{\"type\":\"string\"}",
        "\"phone\":{\"type\":\"string\",\"description\":\"\\u00e9\"}",
    );
    let filtered = filter_tools_list(raw_str(&escaped));
    assert_eq!(filtered.result.get(), escaped);
}

#[test]
fn removing_a_tool_keeps_the_others_byte_for_byte() {
    let bad = r#"{"name":"bad","inputSchema":{"type":"object","properties":{"x":{"type":"number","x-mcp-header":"X"}}}}"#;
    let text = PRESERVATION.replace(
        "\n  {\"name\" : \"json_schema_echo\"",
        &format!("\n  {bad},{{\"name\" : \"json_schema_echo\""),
    );
    assert!(text.contains(bad));
    let filtered = filter_tools_list(raw_str(&text));
    assert_eq!(filtered.rejected.len(), 1);
    assert_eq!(filtered.rejected[0].name.as_deref(), Some("bad"));
    let out = filtered.result.get();
    assert!(!out.contains("\"bad\""));
    // Everything outside the tools array, and each kept tool, is as it came.
    assert!(
        out.starts_with(r#"{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":["#)
    );
    let members: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(out).unwrap();
    let tools: Vec<&RawValue> = serde_json::from_str(members["tools"].get()).unwrap();
    assert_eq!(tools.len(), 2);
    assert!(PRESERVATION.contains(tools[0].get()));
    assert!(PRESERVATION.contains(tools[1].get()));
    let v: Value = serde_json::from_str(out).unwrap();
    let schema = &v["tools"][0]["inputSchema"];
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$defs"]["address"]["$anchor"], "addressDef");
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["allOf"][0]["anyOf"].is_array());
    assert!(schema["if"].is_object() && schema["then"].is_object() && schema["else"].is_object());
}

#[test]
fn an_escaped_annotation_key_is_found() {
    let text = r#"{"tools":[{"name":"t","inputSchema":{"type":"object","properties":{"x":{"type":"number","x-mcp-\u0068eader":"X"}}}}]}"#;
    let filtered = filter_tools_list(raw_str(text));
    assert_eq!(filtered.rejected.len(), 1);
    assert_eq!(filtered.result.get(), r#"{"tools":[]}"#);
}

#[test]
fn annotations_outside_input_schema_do_not_matter() {
    let text = r#"{"tools":[{"name":"t","description":"uses x-mcp-header","inputSchema":{"type":"object"},"outputSchema":{"type":"object","properties":{"o":{"type":"number","x-mcp-header":"O"}}}}]}"#;
    let filtered = filter_tools_list(raw_str(text));
    assert!(filtered.rejected.is_empty());
    assert_eq!(filtered.result.get(), text);
}

#[test]
fn what_is_not_a_tools_list_comes_back_unchanged() {
    for text in [
        "null",
        "[]",
        "\"x-mcp-header\"",
        r#"{"x-mcp-header":1}"#,
        r#"{"tools":"x-mcp-header"}"#,
        r#"{"tools":[1,"x-mcp-header",null,{"x-mcp-header":"no inputSchema"}]}"#,
        r#"{"tools":[{"name":"t","inputSchema":"x-mcp-header"}]}"#,
    ] {
        let filtered = filter_tools_list(raw_str(text));
        assert_eq!(filtered.result.get(), text);
        assert!(filtered.rejected.is_empty(), "{text}");
    }
}

#[test]
fn an_unreadable_schema_with_an_annotation_is_rejected() {
    let text = r#"{"tools":[{"name":"big","inputSchema":{"type":"object","properties":{"x":{"type":"string","x-mcp-header":"X","maximum":1e400}}}},{"name":"ok","inputSchema":{"type":"object"}}]}"#;
    let filtered = filter_tools_list(raw_str(text));
    assert_eq!(filtered.rejected.len(), 1);
    assert_eq!(filtered.rejected[0].name.as_deref(), Some("big"));
    assert!(matches!(
        filtered.rejected[0].reason,
        Rejection::Unreadable(_)
    ));
    assert_eq!(
        filtered.result.get(),
        r#"{"tools":[{"name":"ok","inputSchema":{"type":"object"}}]}"#
    );
}

#[test]
fn plans_follow_pages_and_listings() {
    let page = |tools: Value| filter_tools_list(raw(&json!({"tools": tools})));
    let a = json!({"name": "a", "inputSchema": object(json!({"x": prop("string", "X")}))});
    let b = json!({"name": "b", "inputSchema": object(json!({"y": prop("string", "Y")}))});
    let b_bad = json!({"name": "b", "inputSchema": object(json!({"y": prop("number", "Y")}))});
    let a_plain = json!({"name": "a", "inputSchema": object(json!({"x": {"type": "string"}}))});
    let mut plans = ToolHeaderPlans::new();
    plans.update(&page(json!([a])), true);
    plans.update(&page(json!([b])), false);
    assert!(plans.get("a").is_some() && plans.get("b").is_some());
    // A later page rejecting b removes it.
    plans.update(&page(json!([b_bad])), false);
    assert!(plans.get("b").is_none());
    // A new listing forgets what a tool no longer has.
    plans.update(&page(json!([a_plain])), true);
    assert!(plans.is_empty());
    plans.insert(
        "manual",
        validate_input_schema(&object(json!({"z": prop("integer", "Z")}))).unwrap(),
    );
    assert_eq!(plans.len(), 1);
    plans.clear();
    assert!(plans.is_empty());
}

// ---------------------------------------------------------------------------------------
// Property tests

/// Arbitrary JSON leaning towards tool lists: the keys and values the filter looks at.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            Just("string".to_owned()),
            Just("integer".to_owned()),
            Just("boolean".to_owned()),
            Just("number".to_owned()),
            Just("Region".to_owned()),
            Just("region".to_owned()),
            "\\PC{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("tools".to_owned()),
                        Just("name".to_owned()),
                        Just("inputSchema".to_owned()),
                        Just("properties".to_owned()),
                        Just("type".to_owned()),
                        Just("x-mcp-header".to_owned()),
                        Just("items".to_owned()),
                        Just("anyOf".to_owned()),
                        Just("$defs".to_owned()),
                        Just("const".to_owned()),
                        "[a-z]{1,3}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn tools_of(text: &str) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("tools")?.as_array().cloned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn the_filter_never_panics_and_only_removes_tools(v in arb_json(), wrap in any::<bool>()) {
        let v = if wrap { json!({"tools": [v], "resultType": "complete"}) } else { v };
        let text = v.to_string();
        let filtered = filter_tools_list(raw_str(&text));
        let out = filtered.result.get();
        let out_value: Value = serde_json::from_str(out).unwrap();
        if filtered.rejected.is_empty() {
            prop_assert_eq!(out, text.as_str());
        } else {
            // Only the tools array changed, and it lost exactly the rejected tools.
            let before = tools_of(&text).unwrap();
            let after = tools_of(out).unwrap();
            prop_assert_eq!(before.len(), after.len() + filtered.rejected.len());
            let mut rest = before.iter();
            for kept in &after {
                prop_assert!(rest.any(|t| t == kept), "kept tools keep their order");
            }
            let mut a = v.clone();
            let mut b = out_value.clone();
            a.as_object_mut().unwrap().remove("tools");
            b.as_object_mut().unwrap().remove("tools");
            prop_assert_eq!(a, b);
        }
        // Filtering again rejects nothing more.
        let again = filter_tools_list(raw_str(out));
        prop_assert!(again.rejected.is_empty());
        prop_assert_eq!(again.result.get(), out);
        for (_, h) in &filtered.headers {
            prop_assert!(!h.is_empty());
        }
    }

    #[test]
    fn validation_never_panics_and_headers_never_fail_on_primitives(v in arb_json(), args in arb_json()) {
        if let Ok(h) = validate_input_schema(&v) {
            let mut seen = std::collections::HashSet::new();
            for p in h.params() {
                prop_assert!(!p.path.is_empty());
                prop_assert!(p.header.as_str().starts_with(PARAM_HEADER_PREFIX));
                prop_assert!(seen.insert(p.header.clone()), "unique");
            }
            match h.headers(Some(&args)) {
                Ok(hs) => prop_assert!(hs.len() <= h.params().len()),
                Err(ParamError::Value { .. }) => {}
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
    }

    #[test]
    fn header_names_from_tokens_are_valid(name in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}") {
        let schema = object(json!({"x": prop("string", &name)}));
        let h = validate_input_schema(&schema).unwrap();
        prop_assert_eq!(h.params()[0].header.as_str(), format!("mcp-param-{}", name.to_ascii_lowercase()));
    }

    #[test]
    fn any_string_name_is_either_valid_or_rejected(name in "\\PC{0,12}|[\\x00-\\x7f]{0,12}") {
        let schema = object(json!({"x": prop("string", &name)}));
        match validate_input_schema(&schema) {
            Ok(h) => prop_assert!(HeaderName::from_bytes(h.params()[0].header.as_str().as_bytes()).is_ok()),
            Err(InvalidAnnotation::Empty { .. } | InvalidAnnotation::ControlCharacter { .. } | InvalidAnnotation::InvalidCharacter { .. }) => {}
            Err(e) => prop_assert!(false, "{e:?}"),
        }
    }
}
