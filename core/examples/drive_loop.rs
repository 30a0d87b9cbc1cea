//! The drive loop of `mcpwire_core::Session`, over a scripted stdio server: what every adapter
//! does, minus the IO. Run it with `cargo run -p mcpwire-core --example drive_loop`; the
//! `Session` docs embed it as a doc test.

use mcpwire_core::{Config, Event, Input, Output, RequestOptions, Session, Transmit};
use std::time::Instant;

fn main() {
    let now = Instant::now(); // the adapter's clock; the core never reads one
    let mut session = Session::stdio(now, Config::default());
    // Requests may be started at once; they wait for the session to be ready (by default the
    // session first probes the 2026-07-28 revision with `server/discover`).
    let id = session
        .request(now, "tools/list", None, RequestOptions::default())
        .unwrap();

    // A scripted server of 2026-07-28: it answers `server/discover` (id 0), then the request.
    let mut script = vec![
        br#"{"jsonrpc":"2.0","id":0,"result":{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"ttlMs":0,"cacheScope":"public"}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[]}}"#.to_vec(),
    ]
    .into_iter();

    let mut answered = false;
    while !answered {
        match session.poll_output() {
            Output::Transmit(Transmit::Stdin(bytes)) => {
                // Write `bytes` to the child, and say so (the core bounds what waits); our
                // script answers each request it reads.
                session.handle_input(now, Input::StdinWritten { bytes: bytes.len() });
                if bytes.starts_with(b"{\"jsonrpc\":\"2.0\",\"id\"") {
                    let mut line = script.next().unwrap();
                    line.push(b'\n');
                    session.handle_input(now, Input::Stdout(&line));
                }
            }
            Output::Event(Event::Response { id: done, result }) => {
                assert_eq!(done, id);
                assert_eq!(
                    result.unwrap().get(),
                    r#"{"resultType":"complete","tools":[]}"#
                );
                answered = true;
            }
            Output::Event(_) => {}
            Output::Wait(_deadline) => {
                // Sleep until `_deadline` or the next input, then:
                session.handle_input(now, Input::Timeout);
            }
            _ => unreachable!("stdio has no HTTP exchanges"),
        }
    }
    println!("the request completed");
}
