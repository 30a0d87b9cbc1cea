//! stdio: one JSON-RPC message per line on the child's stdin and stdout. The child exiting or
//! its stdout closing ends the session; a line that is not JSON-RPC is skipped with a warning;
//! a line over the limit ends the session (framing is lost).

mod support;

use mcpwire_core::{Event, Input, SessionError, TransportError, TransportErrorKind, Warning};
use support::*;

#[test]
fn requests_are_written_one_per_line_and_answered_from_stdout() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let (a, b) = (h.request("tools/list"), h.request("prompts/list"));
    let lines = h.stdin();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["id"].as_u64(), lines[0]["method"].as_str()),
        (Some(a.0), Some("tools/list"))
    );
    assert_eq!(
        (lines[1]["id"].as_u64(), lines[1]["method"].as_str()),
        (Some(b.0), Some("prompts/list"))
    );
    h.stdout(&response_line(b.0, r#"{"prompts":[]}"#));
    h.stdout(&response_line(a.0, r#"{"tools":[]}"#));
    assert_eq!(
        responses(&h.events()),
        vec![
            (b, Ok(r#"{"prompts":[]}"#.to_owned())),
            (a, Ok(r#"{"tools":[]}"#.to_owned()))
        ]
    );
}

#[test]
fn the_child_exiting_fails_the_session_with_its_exit_code() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let ids = [h.request("a"), h.request("b"), h.request("c")];
    h.stdin();
    h.session
        .handle_input(h.now, Input::ProcessExited { code: Some(3) });
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(error, SessionError::ProcessExited { code: Some(3) });
    h.assert_permanently_failed(&error);
}

#[test]
fn the_child_exiting_before_initialize_is_answered_fails_the_queued_requests() {
    let mut h = Harness::stdio();
    let ids = [h.request("a")];
    h.stdin();
    h.session
        .handle_input(h.now, Input::ProcessExited { code: None });
    let events = h.events();
    assert!(!events.iter().any(|e| matches!(e, Event::Ready)));
    assert_eq!(
        assert_session_failed(&events, &ids),
        SessionError::ProcessExited { code: None }
    );
}

#[test]
fn stdout_closing_fails_the_session() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let ids = [h.request("a"), h.request("b")];
    h.stdin();
    h.session.handle_input(h.now, Input::StdoutClosed);
    let events = h.events();
    let error = assert_session_failed(&events, &ids);
    assert_eq!(error, SessionError::ProcessExited { code: None });
    h.assert_permanently_failed(&error);
}

#[test]
fn an_unterminated_last_line_is_read_before_stdout_closes() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let (a, b) = (h.request("a"), h.request("b"));
    h.stdin();
    h.session
        .handle_input(h.now, Input::Stdout(response_line(a.0, "{}").as_bytes()));
    assert!(h.take().is_empty(), "no newline yet");
    h.session.handle_input(h.now, Input::StdoutClosed);
    let events = h.events();
    assert_eq!(responses(&events)[0], (a, Ok("{}".to_owned())));
    assert_session_failed(&events, &[b]);
}

#[test]
fn a_stdout_line_that_is_not_json_rpc_is_skipped_with_a_warning_and_later_lines_still_work() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("tools/list");
    h.stdin();
    for junk in [
        "Starting server on stdio...",
        r#"{"hello":"world"}"#,
        "[1,2",
        r#"{"jsonrpc":"1.0","id":1,"result":{}}"#,
    ] {
        h.stdout(junk);
        let events = h.events();
        assert_eq!(events.len(), 1, "{junk}: {events:?}");
        let Event::Warning(Warning::InvalidMessage { excerpt, .. }) = &events[0] else {
            panic!("{junk}: {events:?}")
        };
        assert_eq!(excerpt, junk);
    }
    h.stdout("");
    h.stdout("   ");
    assert!(h.take().is_empty(), "blank lines are skipped silently");
    h.stdout(&response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
    assert!(h.session.is_ready());
}

#[test]
fn a_stdout_line_longer_than_max_message_size_fails_the_session_with_too_large() {
    let mut config = legacy();
    config.policy.max_message_size = 256;
    let mut h = Harness::stdio_with(config);
    h.ready_stdio();
    let (a, b) = (h.request("a"), h.request("b"));
    h.stdin();
    // A good line, then one over the limit, in the same chunk.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":"{}"}}"#,
        b.0,
        "x".repeat(300)
    );
    let chunk = format!("{}\n{big}\n", response_line(a.0, "{}"));
    h.session
        .handle_input(h.now, Input::Stdout(chunk.as_bytes()));
    let events = h.events();
    assert_eq!(
        responses(&events)[0],
        (a, Ok("{}".to_owned())),
        "the line before is still read"
    );
    let error = assert_session_failed(&events, &[b]);
    assert_eq!(error, SessionError::TooLarge { limit: 256 });
    h.assert_permanently_failed(&error);
}

#[test]
fn a_line_over_the_limit_fails_the_session_before_its_end_arrives() {
    let mut config = legacy();
    config.policy.max_message_size = 200;
    let mut h = Harness::stdio_with(config);
    h.ready_stdio();
    let id = h.request("a");
    h.stdin();
    h.session.handle_input(h.now, Input::Stdout(&[b'{'; 201]));
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[id]),
        SessionError::TooLarge { limit: 200 }
    );
}

#[test]
fn a_notification_before_the_initialize_response_is_delivered_and_initialization_completes() {
    // server-everything (stdio) sends notifications/tools/list_changed before answering initialize.
    let mut h = Harness::stdio();
    let id = h.request("tools/list");
    assert_eq!(h.stdin().len(), 1);
    h.stdout(r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#);
    let events = h.events();
    assert!(
        matches!(
            &events[..],
            [Event::Notification { notification, .. }]
                if matches!(**notification, mcpwire_core::schema::ServerNotification::ToolListChanged)
        ),
        "{events:?}"
    );
    h.stdout(&response_line(0, INIT_RESULT));
    let lines = h.stdin();
    assert_eq!(lines[0]["method"], "notifications/initialized");
    assert_eq!(lines[1]["id"], id.0);
    assert!(h.events().iter().any(|e| matches!(e, Event::Ready)));
    assert!(h.session.is_ready());
}

#[test]
fn any_chunking_of_stdout_gives_the_same_events() {
    let script = format!(
        "{}\n{}\r\n{}\n",
        r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"é"}}"#,
        response_line(1, r#"{"a":"ü"}"#),
        response_line(2, "[]"),
    );
    let run = |chunks: &[&[u8]]| {
        let mut h = Harness::stdio();
        h.ready_stdio();
        h.request("a");
        h.request("b");
        h.stdin();
        for c in chunks {
            h.session.handle_input(h.now, Input::Stdout(c));
        }
        format!("{:?}", h.events())
    };
    let whole = run(&[script.as_bytes()]);
    let bytes: Vec<&[u8]> = script.as_bytes().chunks(1).collect();
    assert_eq!(run(&bytes), whole);
    let sevens: Vec<&[u8]> = script.as_bytes().chunks(7).collect();
    assert_eq!(run(&sevens), whole);
    assert!(
        whole.contains("Notification") && whole.contains("RequestId(2)"),
        "{whole}"
    );
}

#[test]
fn a_failed_write_to_stdin_fails_the_session() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("a");
    h.stdin();
    let error = TransportError::new(TransportErrorKind::Other, "broken pipe");
    h.session
        .handle_input(h.now, Input::WriteFailed(error.clone()));
    let events = h.events();
    assert_eq!(
        assert_session_failed(&events, &[id]),
        SessionError::Transport(error)
    );
}

#[test]
fn http_inputs_to_a_stdio_session_are_ignored() {
    let mut h = Harness::stdio();
    h.ready_stdio();
    let id = h.request("a");
    h.stdin();
    h.json(mcpwire_core::ExchangeId(0), 500, "boom");
    h.fail(mcpwire_core::ExchangeId(1), TransportErrorKind::Reset, "x");
    assert!(h.take().is_empty());
    h.stdout(&response_line(id.0, "{}"));
    assert_eq!(responses(&h.events()), vec![(id, Ok("{}".to_owned()))]);
}
