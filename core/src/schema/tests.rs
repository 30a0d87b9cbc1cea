//! Round trips and decoding of the MCP types, from examples in the 2025-11-25 specification.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::*;
use crate::jsonrpc::Id;

/// Decodes `value` as `T`, encodes it again and asserts nothing changed.
fn round_trip<T: DeserializeOwned + Serialize>(value: Value) -> T {
    let decoded: T = serde_json::from_value(value.clone()).expect("decodes");
    let encoded = serde_json::to_value(&decoded).expect("encodes");
    assert_eq!(encoded, value, "round trip changed the JSON");
    decoded
}

fn tool_with_rich_schema() -> Value {
    json!({
        "name": "search",
        "title": "Search",
        "description": "Search the index",
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:search",
            "type": "object",
            "$defs": {
                "filter": {
                    "type": "object",
                    "properties": { "field": { "type": "string" } },
                    "additionalProperties": false
                }
            },
            "properties": {
                "query": { "type": "string", "minLength": 1 },
                "filters": { "type": "array", "items": { "$ref": "#/$defs/filter" } }
            },
            "required": ["query"],
            "additionalProperties": false,
            "x-vendor-keyword": { "anything": [1, 2.5, null, true] }
        },
        "outputSchema": {
            "type": "object",
            "properties": { "hits": { "type": "integer" } },
            "unevaluatedProperties": false
        },
        "annotations": { "title": "Search it", "readOnlyHint": true, "futureHint": 3 },
        "icons": [{ "src": "https://example.com/i.png", "mimeType": "image/png", "sizes": ["48x48"], "theme": "dark" }],
        "execution": { "taskSupport": "optional" },
        "_meta": { "example.com/owner": "team" },
        "futureToolField": { "nested": true }
    })
}

#[test]
fn tool_schema_keywords_and_unknown_fields_survive_round_trip() {
    let tool: Tool = round_trip(tool_with_rich_schema());
    assert_eq!(
        tool.input_schema["$defs"]["filter"]["additionalProperties"],
        json!(false)
    );
    assert_eq!(
        tool.input_schema["x-vendor-keyword"]["anything"][1],
        json!(2.5)
    );
    assert_eq!(tool.extra["futureToolField"], json!({ "nested": true }));
    assert_eq!(
        tool.annotations.as_ref().unwrap().extra["futureHint"],
        json!(3)
    );
    assert_eq!(
        tool.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );
    assert_eq!(
        tool.meta.as_ref().unwrap()["example.com/owner"],
        json!("team")
    );
    assert!(!tool.extra.contains_key("_meta"));
}

#[test]
fn tool_display_name_prefers_title_then_annotation_title_then_name() {
    let mut tool: Tool = serde_json::from_value(tool_with_rich_schema()).unwrap();
    assert_eq!(tool.display_name(), "Search");
    tool.title = None;
    assert_eq!(tool.display_name(), "Search it");
    tool.annotations = None;
    assert_eq!(tool.display_name(), "search");
}

#[test]
fn tools_list_result_from_spec_round_trips() {
    let result: ListToolsResult = round_trip(json!({
        "tools": [{
            "name": "get_weather",
            "title": "Weather Information Provider",
            "description": "Get current weather information for a location",
            "inputSchema": {
                "type": "object",
                "properties": { "location": { "type": "string", "description": "City name or zip code" } },
                "required": ["location"]
            },
            "icons": [{ "src": "https://example.com/weather-icon.png", "mimeType": "image/png", "sizes": ["48x48"] }]
        }],
        "nextCursor": "next-page-cursor"
    }));
    assert_eq!(result.tools[0].name, "get_weather");
    assert_eq!(result.next_cursor(), Some("next-page-cursor"));
}

#[test]
fn tool_without_parameters_keeps_additional_properties_false() {
    let tool: Tool = round_trip(json!({
        "name": "get_current_time",
        "description": "Returns the current server time",
        "inputSchema": { "type": "object", "additionalProperties": false }
    }));
    assert_eq!(
        tool.input_schema,
        json!({ "type": "object", "additionalProperties": false })
    );
}

#[test]
fn call_tool_params_encode_arguments_and_meta() {
    let mut args = Map::new();
    args.insert("location".into(), json!("New York"));
    let mut params = CallToolParams::new("get_weather", args);
    let mut meta = Meta::new();
    meta.insert("progressToken".into(), json!("p-1"));
    params.meta = Some(meta);
    assert_eq!(
        serde_json::to_value(&params).unwrap(),
        json!({ "name": "get_weather", "arguments": { "location": "New York" }, "_meta": { "progressToken": "p-1" } })
    );
    assert_eq!(<CallToolParams as Request>::METHOD, "tools/call");
}

#[test]
fn call_tool_result_with_structured_content_from_spec_round_trips() {
    let result: CallToolResult = round_trip(json!({
        "content": [{ "type": "text", "text": "{\"temperature\": 22.5, \"conditions\": \"Partly cloudy\", \"humidity\": 65}" }],
        "structuredContent": { "temperature": 22.5, "conditions": "Partly cloudy", "humidity": 65 }
    }));
    assert!(!result.is_error());
    assert_eq!(result.structured_content.unwrap()["humidity"], json!(65));
}

#[test]
fn call_tool_result_reports_tool_error() {
    let result: CallToolResult = round_trip(json!({
        "content": [{ "type": "text", "text": "Invalid departure date: must be in the future. Current date is 08/08/2025." }],
        "isError": true
    }));
    assert!(result.is_error());
    assert!(result.content[0]
        .as_text()
        .unwrap()
        .starts_with("Invalid departure date"));
}

#[test]
fn call_tool_result_without_content_decodes_as_empty() {
    let result: CallToolResult =
        serde_json::from_value(json!({ "structuredContent": { "a": 1 } })).unwrap();
    assert!(result.content.is_empty());
}

#[test]
fn every_known_content_block_from_spec_round_trips_to_its_variant() {
    let text: ContentBlock = round_trip(json!({ "type": "text", "text": "Tool result text" }));
    assert_eq!(text.as_text(), Some("Tool result text"));

    let image: ContentBlock = round_trip(json!({
        "type": "image", "data": "base64-encoded-data", "mimeType": "image/png",
        "annotations": { "audience": ["user"], "priority": 0.9 }
    }));
    let ContentBlock::Image(image) = image else {
        panic!("not an image: {image:?}")
    };
    assert_eq!(image.annotations.unwrap().audience, Some(vec![Role::User]));
    assert!(
        image.extra.is_empty(),
        "the type tag must not land in extra"
    );

    let audio: ContentBlock = round_trip(
        json!({ "type": "audio", "data": "base64-encoded-audio-data", "mimeType": "audio/wav" }),
    );
    assert!(matches!(audio, ContentBlock::Audio(ref a) if a.mime_type == "audio/wav"));

    let link: ContentBlock = round_trip(json!({
        "type": "resource_link", "uri": "file:///project/src/main.rs", "name": "main.rs",
        "description": "Primary application entry point", "mimeType": "text/x-rust"
    }));
    assert!(matches!(link, ContentBlock::ResourceLink(ref r) if r.name == "main.rs"));
    assert_eq!(link.kind(), Some("resource_link"));

    // The spec's example puts annotations inside the contents; they are kept as extra.
    let embedded: ContentBlock = round_trip(json!({
        "type": "resource",
        "resource": {
            "uri": "file:///project/src/main.rs", "mimeType": "text/x-rust",
            "text": "fn main() {\n    println!(\"Hello world!\");\n}",
            "annotations": { "audience": ["user", "assistant"], "priority": 0.7, "lastModified": "2025-05-03T14:30:00Z" }
        }
    }));
    let ContentBlock::Resource(embedded) = embedded else {
        panic!("not embedded: {embedded:?}")
    };
    assert_eq!(embedded.resource.uri(), "file:///project/src/main.rs");
    let ResourceContents::Text(contents) = embedded.resource else {
        panic!("not text")
    };
    assert!(contents.extra.contains_key("annotations"));
}

#[test]
fn unknown_content_type_is_kept_verbatim() {
    let value = json!({ "type": "video", "url": "https://example.com/v.mp4", "frames": [1, 2] });
    let block: ContentBlock = round_trip(value.clone());
    assert_eq!(block, ContentBlock::Unknown(value));
    assert_eq!(block.kind(), Some("video"));
}

#[test]
fn known_content_type_with_missing_fields_is_kept_as_unknown() {
    let value = json!({ "type": "image", "data": "AAAA" });
    let block: ContentBlock = round_trip(value.clone());
    assert_eq!(block, ContentBlock::Unknown(value));
}

#[test]
fn content_block_that_is_not_an_object_is_kept_as_unknown() {
    let block: ContentBlock = round_trip(json!("just a string"));
    assert_eq!(block.kind(), None);
    let blocks: Vec<ContentBlock> =
        round_trip(json!([{ "type": "text", "text": "a" }, { "text": "untyped" }]));
    assert!(matches!(blocks[0], ContentBlock::Text(_)));
    assert!(matches!(blocks[1], ContentBlock::Unknown(_)));
}

#[test]
fn unknown_fields_of_known_content_are_preserved() {
    let block: ContentBlock = round_trip(
        json!({ "type": "text", "text": "hi", "_meta": { "k": 1 }, "newField": [true] }),
    );
    let ContentBlock::Text(text) = block else {
        panic!()
    };
    assert_eq!(text.extra["newField"], json!([true]));
    assert_eq!(text.meta.unwrap()["k"], json!(1));
}

#[test]
fn resource_contents_are_text_or_blob_by_field() {
    let result: ReadResourceResult = round_trip(json!({
        "contents": [
            { "uri": "file:///project/src/main.rs", "mimeType": "text/x-rust", "text": "fn main() {}" },
            { "uri": "file:///logo.png", "mimeType": "image/png", "blob": "iVBORw0KGgo=", "size": 8 }
        ]
    }));
    assert!(matches!(result.contents[0], ResourceContents::Text(_)));
    let ResourceContents::Blob(blob) = &result.contents[1] else {
        panic!("not a blob")
    };
    assert_eq!(blob.blob, "iVBORw0KGgo=");
    assert_eq!(blob.extra["size"], json!(8));
    assert_eq!(result.contents[1].mime_type(), Some("image/png"));
}

#[test]
fn resource_contents_without_text_or_blob_is_an_error() {
    let err =
        serde_json::from_value::<ResourceContents>(json!({ "uri": "file:///x" })).unwrap_err();
    assert!(err.to_string().contains("neither"), "{err}");
}

#[test]
fn resource_and_template_lists_round_trip() {
    let resources: ListResourcesResult = round_trip(json!({
        "resources": [{
            "uri": "file:///project/src/main.rs", "name": "main.rs", "title": "Rust Software Application Main File",
            "description": "Primary application entry point", "mimeType": "text/x-rust", "size": 1024,
            "annotations": { "audience": ["assistant"], "lastModified": "2025-01-12T15:00:58Z" },
            "icons": [{ "src": "data:image/png;base64,AAAA" }]
        }],
        "nextCursor": "next-page-cursor"
    }));
    assert_eq!(resources.resources[0].size, Some(1024));
    let templates: ListResourceTemplatesResult = round_trip(json!({
        "resourceTemplates": [{
            "uriTemplate": "file:///{path}", "name": "Project Files", "title": "📁 Project Files",
            "description": "Access files in the project directory", "mimeType": "application/octet-stream"
        }]
    }));
    assert_eq!(templates.items()[0].uri_template, "file:///{path}");
    assert_eq!(templates.next_cursor(), None);
}

#[test]
fn prompts_get_result_from_spec_round_trips() {
    let result: GetPromptResult = round_trip(json!({
        "description": "Code review prompt",
        "messages": [
            { "role": "user", "content": { "type": "text", "text": "Please review this Python code:\ndef hello():\n    print('world')" } },
            { "role": "assistant", "content": { "type": "resource", "resource": { "uri": "resource://example", "mimeType": "text/plain", "text": "Resource content" } } }
        ]
    }));
    assert_eq!(result.messages[1].role, Role::Assistant);
    let prompts: ListPromptsResult = round_trip(json!({
        "prompts": [{
            "name": "code_review", "title": "Request Code Review",
            "description": "Asks the LLM to analyze code quality and suggest improvements",
            "arguments": [{ "name": "code", "description": "The code to review", "required": true }],
            "icons": [{ "src": "https://example.com/review-icon.svg", "mimeType": "image/svg+xml", "sizes": ["any"] }]
        }],
        "nextCursor": "next-page-cursor"
    }));
    assert_eq!(
        prompts.prompts[0].arguments.as_ref().unwrap()[0].required,
        Some(true)
    );
}

#[test]
fn get_prompt_params_encode_string_arguments() {
    let mut params = GetPromptParams::new("code_review");
    params.arguments = Some([("code".to_owned(), "def hello(): pass".to_owned())].into());
    assert_eq!(
        serde_json::to_value(&params).unwrap(),
        json!({ "name": "code_review", "arguments": { "code": "def hello(): pass" } })
    );
}

#[test]
fn completion_request_and_result_match_spec() {
    let params = CompleteParams {
        reference: CompletionReference::Prompt(PromptReference {
            name: "code_review".into(),
            ..Default::default()
        }),
        argument: CompletionArgument {
            name: "framework".into(),
            value: "fla".into(),
            ..Default::default()
        },
        context: Some(CompletionContext {
            arguments: Some([("language".to_owned(), "python".to_owned())].into()),
            ..Default::default()
        }),
        meta: None,
        extra: Map::new(),
    };
    assert_eq!(
        serde_json::to_value(&params).unwrap(),
        json!({
            "ref": { "type": "ref/prompt", "name": "code_review" },
            "argument": { "name": "framework", "value": "fla" },
            "context": { "arguments": { "language": "python" } }
        })
    );
    let resource_ref: CompletionReference =
        round_trip(json!({ "type": "ref/resource", "uri": "file:///{path}" }));
    let CompletionReference::Resource(resource_ref) = resource_ref else {
        panic!()
    };
    assert!(
        resource_ref.extra.is_empty(),
        "the type tag must not land in extra"
    );

    let result: CompleteResult = round_trip(
        json!({ "completion": { "values": ["python", "pytorch", "pyside"], "total": 10, "hasMore": true } }),
    );
    assert_eq!(result.completion.has_more, Some(true));
}

#[test]
fn logging_levels_are_lowercase_and_ordered_by_severity() {
    let names = [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ];
    let levels: Vec<LoggingLevel> = names
        .iter()
        .map(|n| serde_json::from_value(json!(n)).unwrap())
        .collect();
    for (level, name) in levels.iter().zip(names) {
        assert_eq!(serde_json::to_value(level).unwrap(), json!(name));
        assert_eq!(level.to_string(), name);
    }
    assert!(levels.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        serde_json::to_value(SetLevelParams::new(LoggingLevel::Info)).unwrap(),
        json!({ "level": "info" })
    );
}

#[test]
fn request_params_name_their_methods() {
    assert_eq!(<PingParams as Request>::METHOD, "ping");
    assert_eq!(<ListToolsParams as Request>::METHOD, "tools/list");
    assert_eq!(<ListResourcesParams as Request>::METHOD, "resources/list");
    assert_eq!(
        <ListResourceTemplatesParams as Request>::METHOD,
        "resources/templates/list"
    );
    assert_eq!(<ReadResourceParams as Request>::METHOD, "resources/read");
    assert_eq!(<SubscribeParams as Request>::METHOD, "resources/subscribe");
    assert_eq!(
        <UnsubscribeParams as Request>::METHOD,
        "resources/unsubscribe"
    );
    assert_eq!(<ListPromptsParams as Request>::METHOD, "prompts/list");
    assert_eq!(<GetPromptParams as Request>::METHOD, "prompts/get");
    assert_eq!(<CompleteParams as Request>::METHOD, "completion/complete");
    assert_eq!(<SetLevelParams as Request>::METHOD, "logging/setLevel");
    assert_eq!(
        serde_json::to_value(PingParams::default()).unwrap(),
        json!({})
    );
    assert_eq!(
        serde_json::to_value(ListToolsParams::default()).unwrap(),
        json!({})
    );
    let empty: EmptyResult = round_trip(json!({}));
    assert_eq!(empty, EmptyResult::default());
}

#[test]
fn client_notifications_name_their_methods_and_encode() {
    assert_eq!(
        <InitializedParams as Notification>::METHOD,
        "notifications/initialized"
    );
    assert_eq!(
        <RootsListChangedParams as Notification>::METHOD,
        "notifications/roots/list_changed"
    );
    assert_eq!(
        <CancelledParams as Notification>::METHOD,
        "notifications/cancelled"
    );
    assert_eq!(
        <ProgressParams as Notification>::METHOD,
        "notifications/progress"
    );
    assert_eq!(
        serde_json::to_value(InitializedParams::default()).unwrap(),
        json!({})
    );
    assert_eq!(
        serde_json::to_value(CancelledParams::new(
            Id::Number(123),
            Some("User requested cancellation".into())
        ))
        .unwrap(),
        json!({ "requestId": 123, "reason": "User requested cancellation" })
    );
}

/// Follows every page of a list request; `send` plays the server.
fn all_items<P: Paginated>(
    mut params: P,
    mut send: impl FnMut(&P) -> P::Result,
) -> Vec<<P::Result as Page>::Item> {
    let mut items = Vec::new();
    loop {
        let page = send(&params);
        let next = page.next_cursor().map(str::to_owned);
        items.extend(page.into_items());
        match next {
            Some(cursor) => params.set_cursor(Some(cursor)),
            None => return items,
        }
    }
}

#[test]
fn paginated_helper_follows_every_page_with_the_server_cursor() {
    let pages = [
        json!({ "tools": [{ "name": "a", "inputSchema": { "type": "object" } }], "nextCursor": "c1" }),
        json!({ "tools": [{ "name": "b", "inputSchema": { "type": "object" } }], "nextCursor": "c2" }),
        json!({ "tools": [{ "name": "c", "inputSchema": { "type": "object" } }] }),
    ];
    let mut seen_cursors = Vec::new();
    let tools = all_items(ListToolsParams::default(), |params| {
        seen_cursors.push(params.cursor().map(str::to_owned));
        let index = seen_cursors.len() - 1;
        serde_json::from_value(pages[index].clone()).unwrap()
    });
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(seen_cursors, [None, Some("c1".into()), Some("c2".into())]);
}

#[test]
fn every_list_request_is_paginated() {
    fn first_page<P: Paginated + Default>(result: Value) -> usize {
        let mut params = P::default();
        params.set_cursor(Some("x".into()));
        assert_eq!(params.cursor(), Some("x"));
        let encoded = serde_json::to_value(&params).unwrap();
        assert_eq!(encoded, json!({ "cursor": "x" }));
        all_items(params, |_| serde_json::from_value(result.clone()).unwrap()).len()
    }
    assert_eq!(first_page::<ListToolsParams>(json!({ "tools": [] })), 0);
    assert_eq!(
        first_page::<ListResourcesParams>(json!({ "resources": [{ "uri": "u", "name": "n" }] })),
        1
    );
    assert_eq!(
        first_page::<ListResourceTemplatesParams>(json!({ "resourceTemplates": [] })),
        0
    );
    assert_eq!(
        first_page::<ListPromptsParams>(json!({ "prompts": [{ "name": "p" }] })),
        1
    );
}

fn sampling_with_tools_params() -> Value {
    json!({
        "messages": [
            { "role": "user", "content": { "type": "text", "text": "What's the weather like in Paris and London?" } },
            { "role": "assistant", "content": [
                { "type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": { "city": "Paris" } },
                { "type": "tool_use", "id": "call_def456", "name": "get_weather", "input": { "city": "London" } }
            ] },
            { "role": "user", "content": [
                { "type": "tool_result", "toolUseId": "call_abc123", "content": [{ "type": "text", "text": "Weather in Paris: 18°C, partly cloudy" }] },
                { "type": "tool_result", "toolUseId": "call_def456", "content": [{ "type": "text", "text": "Weather in London: 15°C, rainy" }] }
            ] }
        ],
        "tools": [{
            "name": "get_weather", "description": "Get current weather for a city",
            "inputSchema": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] }
        }],
        "toolChoice": { "mode": "auto" },
        "maxTokens": 1000
    })
}

#[test]
fn server_request_parses_sampling_with_tools_from_spec() {
    let request =
        ServerRequest::parse("sampling/createMessage", Some(sampling_with_tools_params())).unwrap();
    let ServerRequest::CreateMessage(params) = &request else {
        panic!("{request:?}")
    };
    assert_eq!(params.max_tokens, 1000);
    assert_eq!(params.messages[0].content.as_slice().len(), 1);
    let tool_uses = params.messages[1].content.as_slice();
    assert!(matches!(&tool_uses[1], SamplingContent::ToolUse(u) if u.input["city"] == "London"));
    assert!(
        matches!(&params.messages[2].content.as_slice()[0], SamplingContent::ToolResult(r) if r.tool_use_id == "call_abc123")
    );
    assert_eq!(params.tool_choice, Some(json!({ "mode": "auto" })));
    assert_eq!(request.method(), "sampling/createMessage");
    let _: CreateMessageParams = round_trip(sampling_with_tools_params());
}

#[test]
fn sampling_request_and_result_from_spec_round_trip() {
    let params: CreateMessageParams = round_trip(json!({
        "messages": [{ "role": "user", "content": { "type": "text", "text": "What is the capital of France?" } }],
        "modelPreferences": { "hints": [{ "name": "claude-3-sonnet" }], "intelligencePriority": 0.8, "speedPriority": 0.5 },
        "systemPrompt": "You are a helpful assistant.",
        "includeContext": "thisServer",
        "maxTokens": 100
    }));
    assert_eq!(params.include_context, Some(IncludeContext::ThisServer));
    let result: CreateMessageResult = round_trip(json!({
        "role": "assistant",
        "content": { "type": "text", "text": "The capital of France is Paris." },
        "model": "claude-3-sonnet-20240307",
        "stopReason": "endTurn"
    }));
    assert_eq!(result.stop_reason.as_deref(), Some(stop_reason::END_TURN));
    let tool_use: CreateMessageResult = round_trip(json!({
        "role": "assistant",
        "content": [{ "type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": { "city": "Paris" } }],
        "model": "claude-3-sonnet-20240307",
        "stopReason": "toolUse"
    }));
    assert!(matches!(tool_use.content, OneOrMany::Many(ref blocks) if blocks.len() == 1));
}

#[test]
fn server_request_parses_elicitation_in_every_mode() {
    let form = ServerRequest::parse("elicitation/create", Some(json!({
        "mode": "form",
        "message": "Please provide your GitHub username",
        "requestedSchema": { "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] }
    })))
    .unwrap();
    let ServerRequest::Elicit(form) = form else {
        panic!()
    };
    assert_eq!(form.effective_mode(), ElicitMode::Form);

    // 2025-06-18 has no `mode`: form is implied.
    let legacy = ServerRequest::parse("elicitation/create", Some(json!({
        "message": "Age?", "requestedSchema": { "type": "object", "properties": { "age": { "type": "number" } } }
    })))
    .unwrap();
    let ServerRequest::Elicit(legacy) = legacy else {
        panic!()
    };
    assert_eq!(
        (legacy.mode, legacy.effective_mode()),
        (None, ElicitMode::Form)
    );

    let url = ServerRequest::parse(
        "elicitation/create",
        Some(json!({
            "mode": "url",
            "elicitationId": "550e8400-e29b-41d4-a716-446655440000",
            "url": "https://mcp.example.com/ui/set_api_key",
            "message": "Please provide your API key to continue."
        })),
    )
    .unwrap();
    let ServerRequest::Elicit(url) = url else {
        panic!()
    };
    assert_eq!(url.effective_mode(), ElicitMode::Url);
    assert_eq!(
        url.elicitation_id.as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440000")
    );
}

#[test]
fn server_request_rejects_elicitation_missing_its_mode_fields() {
    let no_url = json!({ "mode": "url", "elicitationId": "e", "message": "m" });
    assert!(ServerRequest::parse("elicitation/create", Some(no_url)).is_err());
    let no_schema = json!({ "message": "m" });
    assert!(ServerRequest::parse("elicitation/create", Some(no_schema)).is_err());
    let unknown_mode = json!({ "mode": "telepathy", "message": "m" });
    assert!(ServerRequest::parse("elicitation/create", Some(unknown_mode)).is_err());
}

#[test]
fn server_request_parses_ping_roots_and_other() {
    assert_eq!(
        ServerRequest::parse("ping", None).unwrap(),
        ServerRequest::Ping
    );
    assert_eq!(
        ServerRequest::parse("ping", Some(json!({ "_meta": {} }))).unwrap(),
        ServerRequest::Ping
    );
    assert_eq!(
        ServerRequest::parse("roots/list", None).unwrap(),
        ServerRequest::ListRoots
    );
    let other = ServerRequest::parse("tasks/get", Some(json!({ "taskId": "t1" }))).unwrap();
    assert_eq!(
        other,
        ServerRequest::Other {
            method: "tasks/get".into(),
            params: Some(json!({ "taskId": "t1" }))
        }
    );
    assert_eq!(other.method(), "tasks/get");
}

#[test]
fn server_request_with_bad_params_is_an_error() {
    let no_max_tokens = json!({ "messages": [] });
    assert!(ServerRequest::parse("sampling/createMessage", Some(no_max_tokens)).is_err());
    assert!(ServerRequest::parse("sampling/createMessage", None).is_err());
    assert!(ServerRequest::parse("elicitation/create", Some(json!([1, 2]))).is_err());
}

#[test]
fn client_results_to_server_requests_encode() {
    let roots = ListRootsResult {
        roots: vec![Root {
            name: Some("My Project".into()),
            ..Root::new("file:///home/user/projects/myproject")
        }],
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&roots).unwrap(),
        json!({ "roots": [{ "uri": "file:///home/user/projects/myproject", "name": "My Project" }] })
    );
    let mut accept = ElicitResult::new(ElicitAction::Accept);
    accept.content = Some(Map::from_iter([("name".to_owned(), json!("octocat"))]));
    assert_eq!(
        serde_json::to_value(&accept).unwrap(),
        json!({ "action": "accept", "content": { "name": "octocat" } })
    );
    assert_eq!(
        serde_json::to_value(ElicitResult::new(ElicitAction::Cancel)).unwrap(),
        json!({ "action": "cancel" })
    );
}

#[test]
fn url_elicitation_required_error_data_from_spec_decodes() {
    let data: UrlElicitationRequiredData = round_trip(json!({
        "elicitations": [{
            "mode": "url",
            "elicitationId": "550e8400-e29b-41d4-a716-446655440000",
            "url": "https://mcp.example.com/connect?elicitationId=550e8400-e29b-41d4-a716-446655440000",
            "message": "Authorization is required to access your Example Co files."
        }]
    }));
    assert_eq!(data.elicitations[0].validate(), Ok(()));
    assert_eq!(URL_ELICITATION_REQUIRED, -32042);
}

#[test]
fn server_notification_parses_every_known_method() {
    let parse =
        |method: &str, params: Value| ServerNotification::parse(method, Some(params)).unwrap();

    let cancelled = parse(
        "notifications/cancelled",
        json!({ "requestId": "123", "reason": "User requested cancellation" }),
    );
    assert!(
        matches!(&cancelled, ServerNotification::Cancelled(c) if c.request_id == Some(Id::String("123".into())))
    );

    let progress = parse(
        "notifications/progress",
        json!({ "progressToken": "abc123", "progress": 50, "total": 100, "message": "Reticulating splines..." }),
    );
    let ServerNotification::Progress(p) = &progress else {
        panic!()
    };
    assert_eq!(
        (p.progress_token.clone(), p.progress, p.total),
        (ProgressToken::String("abc123".into()), 50.0, Some(100.0))
    );
    let numeric = parse(
        "notifications/progress",
        json!({ "progressToken": 7, "progress": 0.5 }),
    );
    assert!(
        matches!(numeric, ServerNotification::Progress(ref p) if p.progress_token == ProgressToken::Number(7))
    );

    let log = parse(
        "notifications/message",
        json!({ "level": "error", "logger": "database", "data": { "error": "Connection failed", "details": { "host": "localhost", "port": 5432 } } }),
    );
    assert!(
        matches!(&log, ServerNotification::LoggingMessage(l) if l.level == LoggingLevel::Error && l.data["details"]["port"] == 5432)
    );

    let updated = parse(
        "notifications/resources/updated",
        json!({ "uri": "file:///project/src/main.rs", "title": "Rust Software Application Main File" }),
    );
    let ServerNotification::ResourceUpdated(u) = &updated else {
        panic!()
    };
    assert_eq!(
        u.extra["title"],
        json!("Rust Software Application Main File")
    );

    assert_eq!(
        parse("notifications/resources/list_changed", json!({})),
        ServerNotification::ResourceListChanged
    );
    assert_eq!(
        ServerNotification::parse("notifications/tools/list_changed", None).unwrap(),
        ServerNotification::ToolListChanged
    );
    assert_eq!(
        parse(
            "notifications/prompts/list_changed",
            json!({ "_meta": { "x": 1 } })
        ),
        ServerNotification::PromptListChanged
    );

    let complete = parse(
        "notifications/elicitation/complete",
        json!({ "elicitationId": "550e8400-e29b-41d4-a716-446655440000" }),
    );
    assert!(
        matches!(&complete, ServerNotification::ElicitationComplete(e) if e.elicitation_id.starts_with("550e"))
    );

    for n in [&cancelled, &progress, &log, &updated, &complete] {
        assert!(n.method().starts_with("notifications/"));
    }
}

#[test]
fn server_notification_of_unknown_method_is_other() {
    let params = json!({ "taskId": "t", "status": "working", "createdAt": "x", "lastUpdatedAt": "y", "ttl": null });
    let n = ServerNotification::parse("notifications/tasks/status", Some(params.clone())).unwrap();
    assert_eq!(
        n,
        ServerNotification::Other {
            method: "notifications/tasks/status".into(),
            params: Some(params)
        }
    );
    assert_eq!(n.method(), "notifications/tasks/status");
}

#[test]
fn server_notification_with_bad_params_is_an_error() {
    assert!(
        ServerNotification::parse("notifications/progress", Some(json!({ "progress": 1 })))
            .is_err()
    );
    assert!(ServerNotification::parse(
        "notifications/message",
        Some(json!({ "level": "loud", "data": "x" }))
    )
    .is_err());
    assert!(ServerNotification::parse("notifications/resources/updated", None).is_err());
    assert!(
        ServerNotification::parse("notifications/elicitation/complete", Some(json!({}))).is_err()
    );
}

#[test]
fn one_or_many_keeps_the_form_it_was_sent_in() {
    let one: OneOrMany<SamplingContent> = round_trip(json!({ "type": "text", "text": "a" }));
    assert!(matches!(one, OneOrMany::One(_)));
    let many: OneOrMany<SamplingContent> = round_trip(json!([{ "type": "text", "text": "a" }]));
    assert_eq!(many.clone().into_vec().len(), 1);
    assert!(matches!(many, OneOrMany::Many(_)));
}

#[test]
fn a_tool_result_gives_its_text_and_its_structured_content_typed() {
    let result: CallToolResult = serde_json::from_value(json!({
        "content": [
            {"type": "text", "text": "one"},
            {"type": "image", "data": "AA==", "mimeType": "image/png"},
            {"type": "text", "text": "two"}
        ],
        "structuredContent": {"temperature": 21.5, "conditions": "sunny"}
    }))
    .unwrap();
    assert_eq!(result.text(), "one\ntwo");
    assert_eq!(CallToolResult::default().text(), "");

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Weather {
        temperature: f64,
        conditions: String,
    }
    let weather: Weather = result.structured().unwrap();
    assert_eq!(weather.conditions, "sunny");
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Other {
        humidity: u8,
    }
    let err = result.structured::<Other>().unwrap_err();
    assert!(matches!(err, StructuredError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("humidity"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    assert!(matches!(
        CallToolResult::default().structured::<Weather>(),
        Err(StructuredError::Absent)
    ));
}

#[test]
fn results_a_handler_returns_have_constructors() {
    let answer = CreateMessageResult::text("m", "hello");
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m", "stopReason": "endTurn"})
    );
    let mut form = serde_json::Map::new();
    form.insert("name".into(), json!("Ada"));
    assert_eq!(
        serde_json::to_value(ElicitResult::accept(form)).unwrap(),
        json!({"action": "accept", "content": {"name": "Ada"}})
    );
    assert_eq!(
        serde_json::to_value(ElicitResult::decline()).unwrap(),
        json!({"action": "decline"})
    );
    assert_eq!(
        serde_json::to_value(ElicitResult::cancel()).unwrap(),
        json!({"action": "cancel"})
    );
    let roots = ListRootsResult::new(vec![Root::new("file:///w").with_name("work")]);
    assert_eq!(
        serde_json::to_value(roots).unwrap(),
        json!({"roots": [{"uri": "file:///w", "name": "work"}]})
    );
}

#[test]
fn the_params_and_capabilities_a_user_builds_have_constructors() {
    assert_eq!(
        serde_json::to_value(
            ClientCapabilities::new()
                .with_sampling()
                .with_elicitation()
                .with_roots(true)
        )
        .unwrap(),
        json!({"sampling": {}, "elicitation": {}, "roots": {"listChanged": true}})
    );
    assert_eq!(
        serde_json::to_value(ClientCapabilities::new().with_roots(false)).unwrap(),
        json!({"roots": {}})
    );
    assert_eq!(
        serde_json::to_value(ListToolsParams::with_cursor(Some("c2".into()))).unwrap(),
        json!({"cursor": "c2"})
    );
    assert_eq!(
        serde_json::to_value(ListPromptsParams::with_cursor(None)).unwrap(),
        json!({})
    );
    let complete: CompleteParams = serde_json::from_value(json!({
        "ref": {"type": "ref/prompt", "name": "greet"},
        "argument": {"name": "name", "value": "A"}
    }))
    .unwrap();
    let built = CompleteParams::new(complete.reference.clone(), complete.argument.clone());
    assert_eq!(built, complete);
}

/// The one-pass decoding of content blocks and `tools/call` results (`schema::decode`) against
/// the general path it replaced: a block read whole as a `serde_json::Value` and then as its
/// variant's struct (else kept as `Unknown`), and a result read through `#[serde(flatten)]`.
mod one_pass_decoding {
    use proptest::prelude::*;

    use super::*;

    /// How a block decoded before the one-pass reading.
    fn general_block(value: Value) -> ContentBlock {
        let decoded = match &value {
            Value::Object(map) => match map.get("type").and_then(Value::as_str) {
                Some("text") => TextContent::deserialize(map).ok().map(|mut inner| {
                    inner.extra.remove("type");
                    ContentBlock::Text(inner)
                }),
                Some("image") => ImageContent::deserialize(map).ok().map(|mut inner| {
                    inner.extra.remove("type");
                    ContentBlock::Image(inner)
                }),
                Some("audio") => AudioContent::deserialize(map).ok().map(|mut inner| {
                    inner.extra.remove("type");
                    ContentBlock::Audio(inner)
                }),
                Some("resource_link") => Resource::deserialize(map).ok().map(|mut inner| {
                    inner.extra.remove("type");
                    ContentBlock::ResourceLink(inner)
                }),
                Some("resource") => EmbeddedResource::deserialize(map).ok().map(|mut inner| {
                    inner.extra.remove("type");
                    ContentBlock::Resource(inner)
                }),
                _ => None,
            },
            _ => None,
        };
        decoded.unwrap_or(ContentBlock::Unknown(value))
    }

    use serde::Deserialize;

    /// `CallToolResult` as it was derived, with `#[serde(flatten)]`.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GeneralResult {
        #[serde(default)]
        content: Vec<Value>,
        #[serde(default)]
        structured_content: Option<Value>,
        #[serde(default)]
        is_error: Option<bool>,
        #[serde(rename = "_meta", default)]
        meta: Option<Meta>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    fn general_result(text: &str) -> Result<CallToolResult, serde_json::Error> {
        let r: GeneralResult = serde_json::from_str(text)?;
        Ok(CallToolResult {
            content: r.content.into_iter().map(general_block).collect(),
            structured_content: r.structured_content,
            is_error: r.is_error,
            meta: r.meta,
            extra: r.extra,
        })
    }

    const KEYS: &[&str] = &[
        "type",
        "text",
        "type",
        "text",
        "annotations",
        "_meta",
        "data",
        "mimeType",
        "uri",
        "name",
        "resource",
        "x-vendor",
    ];
    const VALUES: &[&str] = &[
        r#""text""#,
        r#""text""#,
        r#""image""#,
        r#""resource_link""#,
        r#""resource""#,
        r#""Echo: hi""#,
        r#""\u00e9\n\"q\"""#,
        r#""aGk=""#,
        r#""file:///a""#,
        "1",
        "-2",
        "2.5",
        "null",
        "true",
        "[]",
        r#"["text"]"#,
        "{}",
        r#"{"audience":["user"],"priority":0.5}"#,
        r#"{"uri":"file:///a","text":"t"}"#,
        r#"{"k":"v"}"#,
    ];

    /// A block's JSON text: an object of keys and values chosen (repeats included, as JSON
    /// allows them), or a value that is not an object.
    fn block() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..5).prop_map(
                |entries| {
                    let fields: Vec<String> = entries
                        .iter()
                        .map(|&(k, v)| format!("\"{}\":{}", KEYS[k], VALUES[v]))
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }
            ),
            1 => (0..VALUES.len()).prop_map(|v| VALUES[v].to_owned()),
        ]
    }

    const RESULT_KEYS: &[&str] = &[
        "content",
        "content",
        "structuredContent",
        "isError",
        "_meta",
        "x-vendor",
    ];

    /// A result's JSON text: its content blocks, or another value, under keys chosen.
    fn result() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            3 => proptest::collection::vec(block(), 0..4).prop_map(|b| format!("[{}]", b.join(","))),
            2 => (0..VALUES.len()).prop_map(|v| VALUES[v].to_owned()),
        ];
        proptest::collection::vec((0..RESULT_KEYS.len(), value), 0..5).prop_map(|entries| {
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("\"{}\":{v}", RESULT_KEYS[*k]))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn a_block_decodes_as_the_general_path_decodes_it(text in block()) {
            let general = general_block(serde_json::from_str(&text).unwrap());
            let from_text: ContentBlock = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&from_text, &general, "from text: {}", text);
            // From a `Value` the keys come owned: the same again.
            let from_value: ContentBlock =
                serde_json::from_value(serde_json::from_str(&text).unwrap()).unwrap();
            prop_assert_eq!(&from_value, &general, "from a value: {}", text);
        }

        #[test]
        fn a_result_decodes_as_the_general_path_decodes_it(text in result()) {
            let general = general_result(&text);
            let one_pass = serde_json::from_str::<CallToolResult>(&text);
            match (&one_pass, &general) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{}: one pass {:?}, general {:?}", text, one_pass, general),
            }
        }
    }

    #[test]
    fn a_plain_text_block_is_text_whichever_field_comes_first() {
        for text in [
            r#"{"type":"text","text":"hi"}"#,
            r#"{"text":"hi","type":"text"}"#,
            r#"{"type":"image","text":"no","type":"text","text":"hi"}"#,
        ] {
            let block: ContentBlock = serde_json::from_str(text).unwrap();
            assert_eq!(block, ContentBlock::text("hi"), "{text}");
        }
        // A text block whose text is not a string, or of another type, is not.
        for text in [
            r#"{"type":"text","text":1}"#,
            r#"{"type":"image","text":"hi"}"#,
        ] {
            let block: ContentBlock = serde_json::from_str(text).unwrap();
            assert!(matches!(block, ContentBlock::Unknown(_)), "{text}");
        }
    }

    #[test]
    fn a_repeated_known_field_of_a_result_is_an_error() {
        for text in [
            r#"{"content":[],"content":[]}"#,
            r#"{"isError":true,"isError":false}"#,
        ] {
            assert!(
                serde_json::from_str::<CallToolResult>(text).is_err(),
                "{text}"
            );
        }
        let result: CallToolResult =
            serde_json::from_str(r#"{"x":1,"x":2,"isError":null}"#).unwrap();
        assert_eq!(result.extra["x"], json!(2));
        assert_eq!(result.is_error, None);
    }
}
