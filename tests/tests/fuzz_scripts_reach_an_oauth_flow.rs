//! The scripts the fuzz targets and property tests play can drive the OAuth flow to its end:
//! a 401 with a challenge, the metadata documents, the random bytes the driver gives, the user
//! coming back, the token, and the held `initialize` going again with it — so the random
//! scripts explore the flow's inputs (statuses, bodies, cut points), not only its first step.

use std::time::Instant;

use mcpwire_core::fuzzing::script::{
    AuthDoc, ContentType, Handshake, Msg, Op, Pick, Script, Setup, Transport,
};
use mcpwire_core::fuzzing::{Driver, Rechunk};

fn answer(doc: AuthDoc) -> Op {
    Op::Answer {
        exchange: Pick::Last,
        msg: Msg::Auth(doc),
        sse_id: None,
        end: true,
    }
}

#[test]
fn a_script_can_take_the_flow_from_a_401_to_the_replayed_request() {
    let script = Script {
        transport: Transport::Http,
        setup: Setup {
            oauth: true,
            ..Setup::default()
        },
        handshake: Handshake::None,
        ops: vec![
            Op::Head {
                exchange: Pick::Nth(0),
                status: 401,
                content_type: ContentType::Json,
                session_id: None,
                retry_after: false,
                www_authenticate: true,
            },
            Op::End(Pick::Nth(0)),
            answer(AuthDoc::ResourceMetadata),
            answer(AuthDoc::ServerMetadata),
            Op::Redirect { ok: true },
            answer(AuthDoc::Token),
        ],
    };
    for rechunk in [Rechunk::AsScripted, Rechunk::Whole, Rechunk::Bytewise] {
        let log = Driver::run(Instant::now(), &script, rechunk);
        let text = log.join("\n");
        assert!(text.contains("Authorized"), "{rechunk:?}:\n{text}");
        // `initialize` went again with the token.
        let replayed = log
            .iter()
            .filter(|l| l.contains("POST") && l.contains("\"initialize\""))
            .count();
        assert_eq!(replayed, 2, "{text}");
        assert!(text.contains("\"authorization\": Sensitive"), "{text}");
    }
}
