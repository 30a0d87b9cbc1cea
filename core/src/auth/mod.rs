//! OAuth 2.1 authorization for MCP over HTTP, as a sans-IO sub-machine: [`Flow`].
//!
//! It follows the MCP authorization specification (2025-11-25 and 2026-07-28, with the
//! 2025-03-26 fallbacks): protected resource metadata (RFC 9728) found from the
//! `WWW-Authenticate` challenge or the well-known URLs; authorization server metadata
//! (RFC 8414, OpenID Connect Discovery) with its `issuer` checked; a client identity
//! (pre-registered, a client ID metadata document, or dynamic registration, RFC 7591), bound
//! to the issuer that knows it; the authorization code grant with PKCE `S256` (RFC 7636),
//! `state`, `resource` (RFC 8707) and `iss` (RFC 9207) checks; refresh; and step-up on
//! `insufficient_scope`, bounded.
//!
//! All of its logic is in `flow.rs`. The other files parse and build: `challenge`
//! (`WWW-Authenticate`), `metadata` (the two metadata documents), `token` (token and
//! registration responses, stored credentials), `url` (URLs kept as given, well-known URLs,
//! form encoding), `pkce`.
//!
//! # Driving it
//!
//! The session owns one `Flow` per MCP server. It
//!
//! 1. attaches [`Flow::authorization`] to every request to the MCP server (it is `None` for
//!    any other origin), and may call [`Flow::refresh`] when [`Flow::token_status`] says
//!    [`TokenStatus::NeedsRefresh`];
//! 2. on a 401 (or a 403 with `insufficient_scope`) calls [`Flow::handle_challenge`]; if it
//!    returns `true`, holds that request (and every later one) until the flow ends;
//! 3. drains [`Flow::poll_output`]: sends each [`Output::Send`] (without following
//!    redirects) and feeds back [`Flow::handle_response`] or [`Flow::handle_failure`];
//!    answers [`Output::Random`] with [`Flow::handle_random`]; passes
//!    [`Event::Authorize`] to the application (a browser, or a headless GET) and feeds the
//!    redirect back with [`Flow::handle_redirect`];
//! 4. on [`Event::Authorized`] replays the held requests with the new header, and calls
//!    [`Flow::handle_accepted`] when one of them gets through; on [`Event::Failed`] fails
//!    them with the error.
//!
//! ```
//! use std::time::Instant;
//! use http::{HeaderMap, HeaderValue, StatusCode, Uri};
//! use mcpwire_core::auth::{Config, Event, Flow, Output};
//!
//! let mut flow = Flow::new(Config::new("http://127.0.0.1:8976/callback")).unwrap();
//! let mcp: Uri = "https://mcp.example.com/mcp".parse().unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert(
//!     "www-authenticate",
//!     HeaderValue::from_static(r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#),
//! );
//! assert!(flow.handle_challenge(&mcp, StatusCode::UNAUTHORIZED, &headers));
//! while let Some(output) = flow.poll_output() {
//!     match output {
//!         Output::Send(request) => {
//!             // Send request.request; here the resource has no metadata.
//!             let none = HeaderMap::new();
//!             flow.handle_response(Instant::now(), request.id, StatusCode::NOT_FOUND, &none, b"");
//!         }
//!         Output::Random(n) => flow.handle_random(&vec![7; n]),
//!         Output::Event(Event::Authorize { url, .. }) => { let _ = url; }
//!         Output::Event(Event::Failed(e)) => println!("authorization failed: {e}"),
//!         Output::Event(_) => {}
//!         _ => {}
//!     }
//! }
//! assert!(!flow.is_busy());
//! ```

pub mod challenge;
mod config;
mod error;
mod flow;
mod jwt;
mod metadata;
mod pkce;
mod token;
mod url;

#[cfg(test)]
mod tests;

pub use config::{Assertion, AssertionSource, Config, Grant, IdentityProvider, PreRegistered};
pub use error::{Error, Metadata};
pub use flow::{Event, Flow, HttpRequest, Output, Purpose, RequestId, TokenStatus};
pub(crate) use flow::{ResourceCredential, DPOP, DPOP_NONCE};
pub use jwt::{Key, Signer};
pub use token::{AuthMethod, ClientRegistration, Credentials, Tokens};
