//! Results of this revision: `resultType`, and the multi round-trip requests (MRTR,
//! `basic/patterns/mrtr.mdx`) that replace server-to-client requests.
//!
//! > "The `result` MUST include a `resultType` field" — "A `resultType` of any value
//! > unrecognized by the client MUST be considered invalid." — "clients MUST treat an absent
//! > `resultType` as `"complete"`." (`basic/index.mdx`)
//!
//! > "Servers MUST NOT send `InputRequiredResult` responses on any other client requests"
//! > than `tools/call`, `prompts/get` and `resources/read`. (`mrtr.mdx`)
//!
//! [`classify_result`] reads a result as [`Classified::Complete`] or
//! [`Classified::InputRequired`]; [`retry_params`] builds the params of the retry:
//!
//! > "If an `InputRequiredResult` contains the `requestState` field, the client MUST echo back
//! > the exact value of that field when retrying the original request. Clients MUST NOT
//! > inspect, parse, modify, or make any assumptions about the `requestState` contents. If the
//! > `InputRequiredResult` does not contain a `requestState` field, the client MUST NOT include
//! > one in the retry." — "The JSON-RPC `id` MUST be different between the initial request and
//! > the retry" (the session's part).
//!
//! `requestState` is kept as the JSON text the server sent ([`RawJson`]) and written back as
//! those bytes, escapes and all. Its value is not checked to be a string (the schema's type):
//! a client must not inspect it. A `requestState` of `null` is read as absent.

use std::collections::BTreeMap;
use std::fmt;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::raw::{self, Shape};
use crate::jsonrpc::RawJson;
use crate::schema::{methods, ElicitMode, ElicitParams, Meta, ServerRequest};

/// `resultType` of a final result.
pub const COMPLETE: &str = "complete";
/// `resultType` of a result asking for input before a retry.
pub const INPUT_REQUIRED: &str = "input_required";
/// The retry's params key for the answers.
pub const INPUT_RESPONSES_KEY: &str = "inputResponses";
/// The params key (and result key) of the server's opaque state.
pub const REQUEST_STATE_KEY: &str = "requestState";

/// Whether `method` may be answered with `input_required`: `tools/call`, `prompts/get`,
/// `resources/read`.
pub fn may_require_input(method: &str) -> bool {
    matches!(
        method,
        methods::TOOLS_CALL | methods::PROMPTS_GET | methods::RESOURCES_READ
    )
}

/// What a result of this revision is.
#[derive(Debug)]
#[non_exhaustive]
pub enum Classified {
    /// The final result (`resultType` `"complete"` or absent): decode it as the method's
    /// result type.
    Complete,
    /// The server needs input first; answer and retry.
    InputRequired(InputRequired),
    /// The tasks extension's `CreateTaskResult` (`resultType: "task"`): the request runs as a
    /// task, whose fields the result holds. Only from [`classify_result_with`] told the
    /// extension was declared, for a method it supports ([`may_be_a_task`]).
    Task,
}

/// `resultType` of the tasks extension's `CreateTaskResult`.
pub const TASK: &str = "task";

/// Whether `method` may be answered with a task under the tasks extension: "The following
/// methods currently support task-augmented execution: `tools/call`" (SEP-2663).
pub fn may_be_a_task(method: &str) -> bool {
    method == methods::TOOLS_CALL
}

/// An `InputRequiredResult`: what to answer, and the state to echo.
#[derive(Debug)]
#[non_exhaustive]
pub struct InputRequired {
    /// The requests to fulfil, by the server's key, each decoded as a [`ServerRequest`]:
    /// `elicitation/create` as [`ServerRequest::Elicit`] (form mode, or URL mode with a
    /// `url`: this revision has no `elicitationId`), `sampling/createMessage` as
    /// [`ServerRequest::CreateMessage`], `roots/list` as [`ServerRequest::ListRoots`], and any
    /// other method as [`ServerRequest::Other`] (which a client that cannot answer it should
    /// fail with). Empty for a `requestState`-only result ("come back later").
    pub input_requests: BTreeMap<String, ServerRequest>,
    /// `requestState` as the server wrote it (JSON text, quotes and escapes included).
    pub request_state: Option<RawJson>,
    /// The result's `_meta` (`io.modelcontextprotocol/serverInfo`, ...).
    pub meta: Option<Meta>,
}

impl InputRequired {
    /// The keys of [`input_requests`](Self::input_requests) that `responses` does not answer.
    pub fn unanswered<'a>(&'a self, responses: &BTreeMap<String, Value>) -> Vec<&'a str> {
        self.input_requests
            .keys()
            .filter(|k| !responses.contains_key(*k))
            .map(String::as_str)
            .collect()
    }

    /// The retry's params: [`retry_params`] with this result's `requestState`.
    pub fn retry_params(
        &self,
        original: Option<&RawValue>,
        responses: &BTreeMap<String, Value>,
    ) -> Result<RawJson, RetryError> {
        retry_params(original, responses, self.request_state.as_deref())
    }
}

/// Why a result is not a valid result of this revision.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultError {
    /// `resultType` is a string this client does not know (`"task"` without the tasks
    /// extension, ...). It MUST be considered invalid.
    UnknownResultType(String),
    /// `resultType` is not a string; its JSON text.
    ResultTypeNotAString(String),
    /// `input_required` answered a method that may not be (see [`may_require_input`]).
    InputRequiredNotAllowed {
        /// The method.
        method: String,
    },
    /// `input_required` with neither `inputRequests` nor `requestState`: "Servers MUST
    /// include at least one of `inputRequests` or `requestState`".
    EmptyInputRequired,
    /// `inputRequests` is not a map of `{method, params}` objects.
    InvalidInputRequests(String),
    /// One input request is a known method whose params do not fit.
    InvalidInputRequest {
        /// Its key.
        key: String,
        /// Its method.
        method: String,
        /// Why.
        reason: String,
    },
    /// The result is not readable (a field given twice, or hand-made invalid JSON text).
    Invalid(String),
}

impl fmt::Display for ResultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::error::sanitize;
        match self {
            ResultError::UnknownResultType(t) => {
                write!(f, "unknown resultType {:?}", sanitize(t))
            }
            ResultError::ResultTypeNotAString(t) => {
                write!(f, "resultType is not a string: {}", sanitize(t))
            }
            ResultError::InputRequiredNotAllowed { method } => write!(
                f,
                "input_required is not allowed in answer to {}",
                sanitize(method)
            ),
            ResultError::EmptyInputRequired => {
                f.write_str("input_required without inputRequests or requestState")
            }
            ResultError::InvalidInputRequests(e) => {
                write!(f, "inputRequests is invalid: {}", sanitize(e))
            }
            ResultError::InvalidInputRequest {
                key,
                method,
                reason,
            } => write!(
                f,
                "input request {:?} ({}) is invalid: {}",
                sanitize(key),
                sanitize(method),
                sanitize(reason)
            ),
            ResultError::Invalid(e) => write!(f, "result is not readable: {}", sanitize(e)),
        }
    }
}

impl std::error::Error for ResultError {}

/// The fields classification reads; the rest of the result is skipped.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow, rename = "resultType")]
    result_type: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "inputRequests")]
    input_requests: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "requestState")]
    request_state: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "_meta")]
    meta: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireInputRequest {
    method: String,
    #[serde(default)]
    params: Option<Value>,
}

/// Reads the `result` of a request of `method` (see the [module documentation](self)).
///
/// Cheap for the common case: a result whose text holds neither `resultType` nor a `\u`
/// escape (which could spell it) is complete without being parsed; otherwise only the
/// top-level fields are read, the rest skipped. A result that is not an object is complete
/// (for the method's own decoding to judge).
pub fn classify_result(method: &str, result: &RawValue) -> Result<Classified, ResultError> {
    classify_result_with(method, result, false)
}

/// [`classify_result`] for a request that declared the tasks extension (`tasks`): a
/// `resultType` of `"task"` is [`Classified::Task`] for a method that may be a task, and
/// invalid for any other ("A client that receives `CreateTaskResult` in response to an
/// unsupported request type MUST interpret this as an invalid response"), as it is without the
/// extension.
pub fn classify_result_with(
    method: &str,
    result: &RawValue,
    tasks: bool,
) -> Result<Classified, ResultError> {
    let text = result.get();
    let bytes = text.as_bytes();
    if memmem::find(bytes, b"resultType").is_none() && memmem::find(bytes, b"\\u").is_none() {
        return Ok(Classified::Complete);
    }
    if !text.trim_start().starts_with('{') {
        return Ok(Classified::Complete);
    }
    let head: Head<'_> =
        serde_json::from_str(text).map_err(|e| ResultError::Invalid(e.to_string()))?;
    let Some(result_type) = head.result_type else {
        return Ok(Classified::Complete);
    };
    let result_type: String = serde_json::from_str(result_type.get())
        .map_err(|_| ResultError::ResultTypeNotAString(result_type.get().to_owned()))?;
    match result_type.as_str() {
        COMPLETE => return Ok(Classified::Complete),
        INPUT_REQUIRED => {}
        TASK if tasks && may_be_a_task(method) => return Ok(Classified::Task),
        _ => return Err(ResultError::UnknownResultType(result_type)),
    }
    if !may_require_input(method) {
        return Err(ResultError::InputRequiredNotAllowed {
            method: method.to_owned(),
        });
    }
    let input_requests = match head.input_requests {
        None => BTreeMap::new(),
        Some(r) => input_requests(r)?,
    };
    let request_state = head.request_state.map(RawValue::to_owned);
    if input_requests.is_empty() && request_state.is_none() {
        return Err(ResultError::EmptyInputRequired);
    }
    Ok(Classified::InputRequired(InputRequired {
        input_requests,
        request_state,
        // Read leniently: a `_meta` that is not an object is no reason to fail the request.
        meta: head.meta.and_then(|m| serde_json::from_str(m.get()).ok()),
    }))
}

/// An `inputRequests` map (of an `input_required` result, or of a task of the tasks
/// extension), each decoded as a [`ServerRequest`].
pub fn parse_input_requests(
    raw: &RawValue,
) -> Result<BTreeMap<String, ServerRequest>, ResultError> {
    input_requests(raw)
}

fn input_requests(raw: &RawValue) -> Result<BTreeMap<String, ServerRequest>, ResultError> {
    let wire: BTreeMap<String, WireInputRequest> = serde_json::from_str(raw.get())
        .map_err(|e| ResultError::InvalidInputRequests(e.to_string()))?;
    wire.into_iter()
        .map(|(key, r)| {
            let request = input_request(&r.method, r.params).map_err(|reason| {
                ResultError::InvalidInputRequest {
                    key: key.clone(),
                    method: r.method.clone(),
                    reason,
                }
            })?;
            Ok((key, request))
        })
        .collect()
}

/// One input request as a [`ServerRequest`].
fn input_request(method: &str, params: Option<Value>) -> Result<ServerRequest, String> {
    match method {
        methods::ELICITATION_CREATE => {
            let params = params.unwrap_or_else(|| Value::Object(Default::default()));
            let params: ElicitParams = serde_json::from_value(match params {
                Value::Null => Value::Object(Default::default()),
                p => p,
            })
            .map_err(|e| e.to_string())?;
            // This revision's rules: no `elicitationId` in URL mode.
            match params.effective_mode() {
                ElicitMode::Form if params.requested_schema.is_none() => {
                    Err("form elicitation without `requestedSchema`".to_owned())
                }
                ElicitMode::Url if params.url.is_none() => {
                    Err("URL elicitation without `url`".to_owned())
                }
                _ => Ok(ServerRequest::Elicit(params)),
            }
        }
        methods::SAMPLING_CREATE_MESSAGE | methods::ROOTS_LIST => {
            ServerRequest::parse(method, params).map_err(|e| e.to_string())
        }
        _ => Ok(ServerRequest::Other {
            method: method.to_owned(),
            params,
        }),
    }
}

/// Why retry params could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryError {
    /// The original params are not a JSON object (nor absent nor `null`).
    ParamsNotObject,
    /// The original params or the answers are not valid JSON (only with hand-made values).
    Invalid(String),
}

impl fmt::Display for RetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::ParamsNotObject => f.write_str("request params are not a JSON object"),
            RetryError::Invalid(e) => write!(f, "retry params are not valid JSON: {e}"),
        }
    }
}

impl std::error::Error for RetryError {}

/// The params of the retry of a request that got `input_required`: the `original` params
/// (`name`, `arguments`, `uri`, `_meta`, ... all kept) with `inputResponses` set to
/// `responses` (keyed as the `inputRequests` were; left out when empty) and `requestState`
/// set to exactly the text `request_state` (left out when `None`). An `inputResponses` or
/// `requestState` the original params had is replaced (or removed).
///
/// The original params are kept byte for byte when they had neither key (the new members are
/// spliced in before the closing brace); otherwise they are written again from their members,
/// each value's bytes kept. The `_meta` is as it was: apply the session's
/// [`RequestMeta`](super::RequestMeta) to the result.
pub fn retry_params(
    original: Option<&RawValue>,
    responses: &BTreeMap<String, Value>,
    request_state: Option<&RawValue>,
) -> Result<RawJson, RetryError> {
    let invalid = |e: serde_json::Error| RetryError::Invalid(e.to_string());
    let text = original.map_or("{}", |p| p.get().trim());
    let (text, members) = match raw::shape(text).map_err(invalid)? {
        Shape::Object(members) => (text, members),
        Shape::Null => ("{}", Vec::new()),
        Shape::Other => return Err(RetryError::ParamsNotObject),
    };
    let answers = (!responses.is_empty())
        .then(|| serde_json::to_string(responses))
        .transpose()
        .map_err(invalid)?;
    let mut add: Vec<(&str, &str)> = Vec::with_capacity(2);
    if let Some(answers) = &answers {
        add.push((INPUT_RESPONSES_KEY, answers));
    }
    if let Some(state) = request_state {
        add.push((REQUEST_STATE_KEY, state.get()));
    }
    let drop = |k: &str| k == INPUT_RESPONSES_KEY || k == REQUEST_STATE_KEY;
    raw::to_raw(raw::rewrite(text, &members, drop, &add)).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modern::RequestMeta;
    use crate::schema::ClientCapabilities;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    fn classify(method: &str, result: &str) -> Result<Classified, ResultError> {
        classify_result(method, &raw(result))
    }

    fn input_required(method: &str, result: &str) -> InputRequired {
        match classify(method, result).unwrap() {
            Classified::InputRequired(i) => i,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn absent_or_complete_result_type_is_complete() {
        for (method, result) in [
            ("tools/call", r#"{"content":[]}"#),
            ("tools/call", r#"{"content":[],"resultType":"complete"}"#),
            (
                "tools/list",
                r#"{"tools":[],"resultType":"complete","ttlMs":0}"#,
            ),
            (
                "tools/call",
                r#"{"content":[{"type":"text","text":"\u00e9"}]}"#,
            ),
            (
                "tools/call",
                r#"{"content":[{"type":"text","text":"resultType"}]}"#,
            ),
            ("resources/read", r#"{"contents":[],"resultType":null}"#),
            ("tools/call", "null"),
            ("tools/call", "[]"),
            (
                "server/discover",
                r#"{"resultType" : "complete","supportedVersions":[]}"#,
            ),
        ] {
            assert!(
                matches!(classify(method, result), Ok(Classified::Complete)),
                "{result}"
            );
        }
    }

    #[test]
    fn unknown_result_types_are_invalid() {
        assert_eq!(
            classify("tools/call", r#"{"resultType":"task","task":{}}"#).unwrap_err(),
            ResultError::UnknownResultType("task".into())
        );
        assert_eq!(
            classify("tools/call", r#"{"resultType":"Complete"}"#).unwrap_err(),
            ResultError::UnknownResultType("Complete".into()),
            "case-sensitive"
        );
        assert_eq!(
            classify("tools/call", r#"{"resultType":5}"#).unwrap_err(),
            ResultError::ResultTypeNotAString("5".into())
        );
        assert!(matches!(
            classify(
                "tools/call",
                r#"{"resultType":"complete","resultType":"complete"}"#
            ),
            Err(ResultError::Invalid(_))
        ));
    }

    /// `sep-2322-client-request-state`'s `test_mrtr_echo_state` first answer.
    const ECHO_STATE: &str = r#"{"resultType":"input_required","inputRequests":{"confirm":{"method":"elicitation/create","params":{"message":"Please confirm to continue","requestedSchema":{"type":"object","properties":{"confirmed":{"type":"boolean"}}}}}},"requestState":"{\"nonce\":\"5f1c\",\"originalId\":2}"}"#;

    #[test]
    fn input_required_with_an_elicitation_and_state() {
        let ir = input_required("tools/call", ECHO_STATE);
        assert_eq!(
            ir.request_state.as_ref().unwrap().get(),
            r#""{\"nonce\":\"5f1c\",\"originalId\":2}""#
        );
        match &ir.input_requests["confirm"] {
            ServerRequest::Elicit(p) => {
                assert_eq!(p.message, "Please confirm to continue");
                assert_eq!(p.effective_mode(), ElicitMode::Form);
            }
            r => panic!("{r:?}"),
        }
        let responses = BTreeMap::from([(
            "confirm".to_owned(),
            json!({"action": "accept", "content": {"confirmed": true}}),
        )]);
        assert!(ir.unanswered(&responses).is_empty());
        assert_eq!(ir.unanswered(&BTreeMap::new()), vec!["confirm"]);
        let original = raw(r#"{"name":"test_mrtr_echo_state","arguments":{}}"#);
        let retry = ir.retry_params(Some(&original), &responses).unwrap();
        assert_eq!(
            retry.get(),
            r#"{"name":"test_mrtr_echo_state","arguments":{},"inputResponses":{"confirm":{"action":"accept","content":{"confirmed":true}}},"requestState":"{\"nonce\":\"5f1c\",\"originalId\":2}"}"#
        );
    }

    #[test]
    fn no_state_means_no_state_in_the_retry() {
        let result = r#"{"resultType":"input_required","inputRequests":{"confirm":{"method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object"}}}}}"#;
        let ir = input_required("tools/call", result);
        assert!(ir.request_state.is_none());
        let responses = BTreeMap::from([("confirm".to_owned(), json!({"action": "decline"}))]);
        let retry = ir
            .retry_params(Some(&raw(r#"{"name":"test_mrtr_no_state"}"#)), &responses)
            .unwrap();
        let v: Value = serde_json::from_str(retry.get()).unwrap();
        assert!(v.get(REQUEST_STATE_KEY).is_none());
        assert_eq!(v[INPUT_RESPONSES_KEY]["confirm"]["action"], "decline");
        // A null requestState is no requestState.
        let result = r#"{"resultType":"input_required","requestState":null,"inputRequests":{"r":{"method":"roots/list"}}}"#;
        assert!(input_required("tools/call", result).request_state.is_none());
    }

    #[test]
    fn request_state_is_echoed_byte_for_byte() {
        for state in [
            r#""{\"nonce\":\"\u00e9\"}""#,
            r#""\u00e9\ud83d\ude00\/\b\f\n\r\t\\""#,
            r#""é😀 plain""#,
            r#""""#,
            r#""\u0000""#,
        ] {
            let result =
                format!(r#"{{"resultType" : "input_required" , "requestState" : {state} }}"#);
            let ir = input_required("prompts/get", &result);
            assert_eq!(ir.request_state.as_ref().unwrap().get(), state);
            assert!(ir.input_requests.is_empty(), "requestState only is valid");
            let retry = ir
                .retry_params(
                    Some(&raw(r#"{"name":"p","arguments":{"a":"b"}}"#)),
                    &BTreeMap::new(),
                )
                .unwrap();
            assert_eq!(
                retry.get(),
                format!(r#"{{"name":"p","arguments":{{"a":"b"}},"requestState":{state}}}"#)
            );
            // And it survives the session adding `_meta` again.
            let meta = RequestMeta::new("2026-07-28", ClientCapabilities::default());
            let sent = meta.apply(Some(&retry)).unwrap();
            assert!(
                sent.get().contains(&format!(r#""requestState":{state}"#)),
                "{}",
                sent.get()
            );
        }
        // The exact conformance example of the brief.
        let state = r#""{\"nonce\":\"\\u00e9\"}""#;
        let result = format!(r#"{{"resultType":"input_required","requestState":{state}}}"#);
        let ir = input_required("resources/read", &result);
        let retry = ir.retry_params(None, &BTreeMap::new()).unwrap();
        assert_eq!(retry.get(), format!(r#"{{"requestState":{state}}}"#));
    }

    #[test]
    fn a_non_string_request_state_is_echoed_as_is() {
        let ir = input_required(
            "tools/call",
            r#"{"resultType":"input_required","requestState":{"b":1,"a":[2.50]}}"#,
        );
        assert_eq!(ir.request_state.unwrap().get(), r#"{"b":1,"a":[2.50]}"#);
    }

    #[test]
    fn retry_replaces_earlier_rounds_and_keeps_the_rest() {
        let original = raw(
            r#"{"name":"t","arguments":{"x":1},"inputResponses":{"old":{}},"requestState":"round1","_meta":{"progressToken":3}}"#,
        );
        let responses = BTreeMap::from([("new".to_owned(), json!({"roots": []}))]);
        let state = raw(r#""round2""#);
        let retry = retry_params(Some(&original), &responses, Some(&state)).unwrap();
        assert_eq!(
            retry.get(),
            r#"{"name":"t","arguments":{"x":1},"_meta":{"progressToken":3},"inputResponses":{"new":{"roots":[]}},"requestState":"round2"}"#
        );
        // A round without state removes the earlier state.
        let retry = retry_params(Some(&original), &responses, None).unwrap();
        let v: Value = serde_json::from_str(retry.get()).unwrap();
        assert!(v.get(REQUEST_STATE_KEY).is_none());
        assert_eq!(v[INPUT_RESPONSES_KEY], json!({"new": {"roots": []}}));
        // Absent, null and empty params.
        for original in [None, Some(raw("null")), Some(raw("{}")), Some(raw(" { } "))] {
            let retry = retry_params(original.as_deref(), &responses, Some(&state)).unwrap();
            let v: Value = serde_json::from_str(retry.get()).unwrap();
            assert_eq!(
                v,
                json!({"inputResponses": {"new": {"roots": []}}, "requestState": "round2"})
            );
        }
        assert_eq!(
            retry_params(Some(&raw("[1]")), &responses, None).unwrap_err(),
            RetryError::ParamsNotObject
        );
    }

    #[test]
    fn input_required_only_where_allowed() {
        let result = r#"{"resultType":"input_required","requestState":"s"}"#;
        for method in ["tools/call", "prompts/get", "resources/read"] {
            assert!(matches!(
                classify(method, result),
                Ok(Classified::InputRequired(_))
            ));
        }
        for method in [
            "tools/list",
            "server/discover",
            "resources/list",
            "completion/complete",
            "subscriptions/listen",
        ] {
            assert_eq!(
                classify(method, result).unwrap_err(),
                ResultError::InputRequiredNotAllowed {
                    method: method.into()
                }
            );
        }
    }

    #[test]
    fn input_required_needs_requests_or_state() {
        for result in [
            r#"{"resultType":"input_required"}"#,
            r#"{"resultType":"input_required","inputRequests":{}}"#,
            r#"{"resultType":"input_required","inputRequests":null,"requestState":null}"#,
        ] {
            assert_eq!(
                classify("tools/call", result).unwrap_err(),
                ResultError::EmptyInputRequired
            );
        }
    }

    #[test]
    fn every_kind_of_input_request() {
        let result = json!({
            "resultType": "input_required",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}},
            "inputRequests": {
                "form": {"method": "elicitation/create", "params": {"message": "m", "requestedSchema": {"type": "object"}}},
                "url": {"method": "elicitation/create", "params": {"mode": "url", "message": "go", "url": "https://example.com/x"}},
                "llm": {"method": "sampling/createMessage", "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 10}},
                "roots": {"method": "roots/list"},
                "roots2": {"method": "roots/list", "params": {"_meta": {}}},
                "future": {"method": "com.example/ask", "params": {"q": 1}},
                "ping": {"method": "ping"},
            }
        });
        let ir = input_required("tools/call", &result.to_string());
        let r = &ir.input_requests;
        assert_eq!(r.len(), 7);
        assert!(
            matches!(&r["form"], ServerRequest::Elicit(p) if p.effective_mode() == ElicitMode::Form)
        );
        assert!(
            matches!(&r["url"], ServerRequest::Elicit(p) if p.url.as_deref() == Some("https://example.com/x") && p.elicitation_id.is_none())
        );
        assert!(matches!(&r["llm"], ServerRequest::CreateMessage(p) if p.max_tokens == 10));
        assert!(matches!(r["roots"], ServerRequest::ListRoots));
        assert!(matches!(r["roots2"], ServerRequest::ListRoots));
        assert!(
            matches!(&r["future"], ServerRequest::Other { method, params: Some(_) } if method == "com.example/ask")
        );
        assert!(
            matches!(&r["ping"], ServerRequest::Other { method, .. } if method == "ping"),
            "ping is no input request"
        );
        assert_eq!(
            ir.meta.unwrap()["io.modelcontextprotocol/serverInfo"]["name"],
            "s"
        );
    }

    #[test]
    fn invalid_input_requests_are_typed_errors() {
        for (requests, key) in [
            (
                json!({"e": {"method": "elicitation/create", "params": {"message": "m"}}}),
                Some("e"),
            ),
            (
                json!({"e": {"method": "elicitation/create", "params": {"mode": "url", "message": "m"}}}),
                Some("e"),
            ),
            (json!({"e": {"method": "elicitation/create"}}), Some("e")),
            (
                json!({"s": {"method": "sampling/createMessage", "params": {"messages": 5}}}),
                Some("s"),
            ),
            (json!({"x": {"params": {}}}), None),
            (json!({"x": 5}), None),
            (json!([1]), None),
            (json!("s"), None),
        ] {
            let result = json!({"resultType": "input_required", "inputRequests": requests, "requestState": "s"});
            match (
                classify("tools/call", &result.to_string()).unwrap_err(),
                key,
            ) {
                (ResultError::InvalidInputRequest { key: k, .. }, Some(key)) => assert_eq!(k, key),
                (ResultError::InvalidInputRequests(_), None) => {}
                (e, _) => panic!("{requests}: {e:?}"),
            }
        }
    }

    #[test]
    fn a_meta_that_is_not_an_object_is_dropped() {
        let ir = input_required(
            "tools/call",
            r#"{"resultType":"input_required","requestState":"s","_meta":"x"}"#,
        );
        assert!(ir.meta.is_none());
    }

    #[test]
    fn an_escaped_result_type_key_is_read() {
        let ir = input_required(
            "tools/call",
            r#"{"result\u0054ype":"input_required","requestState":"s"}"#,
        );
        assert_eq!(ir.request_state.unwrap().get(), r#""s""#);
    }

    #[test]
    fn errors_display_without_raw_control_characters() {
        let e = ResultError::UnknownResultType("a\u{1b}[31mb".into());
        assert!(!e.to_string().contains('\u{1b}'));
        let e = classify("tools/call", r#"{"resultType":"input_required","inputRequests":{"k\n":{"method":"elicitation/create"}}}"#).unwrap_err();
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
