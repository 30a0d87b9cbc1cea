//! The parsers give the same result whole, split at random points and byte by byte; they
//! either parse or return their typed error; what they keep stays within their limits. These
//! properties run the fuzz target bodies (`mcpwire_core::fuzzing`) on inputs made of the
//! tokens real streams are made of.

use mcpwire_core::fuzzing;
use mcpwire_tests::scripts::{config, token_soup};
use proptest::prelude::*;

const SSE: &[&[u8]] = &[
    b"data:",
    b"data: ",
    b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
    b"id: 7",
    b"id:",
    b"id: a\0b",
    b"retry: 100",
    b"retry: x",
    b"event: message",
    b"event: ping",
    b":comment",
    b"x",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\xef\xbb",
    b"\xff",
    b" ",
];

const LINES: &[&[u8]] = &[
    b"{\"jsonrpc\":\"2.0\",\"method\":\"x\"}",
    b"abc",
    b"x",
    b"\n",
    b"\r",
    b"\r\n",
    b"\r\r",
    b" ",
    b"\xff",
];

const JSON: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"jsonrpc\"",
    b"\"2.0\"",
    b"\"id\"",
    b"1",
    b"-1",
    b"1.5",
    b"null",
    b"\"method\"",
    b"\"ping\"",
    b"\"result\"",
    b"\"error\"",
    b"\"params\"",
    b"\"code\"",
    b"\"message\"",
    b"{}",
    b"\"s\"",
    b"true",
    b" ",
    b"9223372036854775808",
    b"1e400",
];

/// A few parameter bytes (limits, split seeds) followed by the input.
fn with_params(n: usize, body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (proptest::collection::vec(any::<u8>(), n), body).prop_map(|(mut params, body)| {
        params.extend(body);
        params
    })
}

proptest! {
    #![proptest_config(config("proptest-regressions/parsers_agree_however_the_bytes_are_cut.txt"))]

    /// SSE: whole, split and byte by byte agree; errors carry the limit; events stay within it;
    /// with room, nothing fails and a limit only cuts the events short.
    #[test]
    fn sse_decoding_does_not_depend_on_chunking(data in with_params(4, token_soup(SSE, 64))) {
        fuzzing::sse(&data);
    }

    /// Lines: whole, split and byte by byte agree with a reference split; LineTooLong only for a
    /// line that is too long.
    #[test]
    fn line_splitting_matches_the_reference_however_cut(data in with_params(3, token_soup(LINES, 64))) {
        fuzzing::lines(&data);
    }

    /// JSON-RPC: any text decodes or returns the typed error; whitespace around it changes
    /// nothing; decoded messages re-encode to themselves.
    #[test]
    fn jsonrpc_decodes_or_fails_typed_and_reencodes_to_itself(data in token_soup(JSON, 40)) {
        fuzzing::jsonrpc(&data);
    }

    /// The same three on arbitrary bytes.
    #[test]
    fn parsers_survive_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::sse(&data);
        fuzzing::lines(&data);
        fuzzing::jsonrpc(&data);
    }
}
