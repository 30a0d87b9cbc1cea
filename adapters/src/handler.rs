//! Answers to what a server asks of the client: sampling, elicitation and roots.

use mcpwire_core::jsonrpc::ErrorObject;
use mcpwire_core::schema::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult,
    ListRootsResult,
};

use mcpwire_core::schema::ServerRequest;
use serde_json::Value;

use crate::runtime::BoxFuture;

/// Answers the server's requests. `ping` is answered by the core.
///
/// The client declares exactly the capabilities this handler returns, and the core answers
/// "method not found" to a request for a capability it did not declare, so a method whose
/// capability is declared must be implemented. The futures are `'static`: clone what they
/// need from `self`.
pub trait Handler: Send + Sync + 'static {
    /// What the client can do: `sampling`, `elicitation`, `roots`.
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities::default()
    }

    /// `sampling/createMessage`: ask the application's model.
    fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorObject>> {
        let _ = params;
        Box::pin(async { Err(not_supported("sampling/createMessage")) })
    }

    /// `elicitation/create`: ask the user.
    fn elicit(
        &self,
        params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        let _ = params;
        Box::pin(async { Err(not_supported("elicitation/create")) })
    }

    /// `roots/list`: the roots the server may work in.
    fn list_roots(&self) -> BoxFuture<'static, Result<ListRootsResult, ErrorObject>> {
        Box::pin(async { Err(not_supported("roots/list")) })
    }
}

/// The handler of a client that declares no capabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHandler;

impl Handler for NoHandler {}

/// The handler's answer to a server request, as JSON.
pub(crate) fn answer(
    handler: &dyn Handler,
    request: ServerRequest,
) -> BoxFuture<'static, Result<Value, ErrorObject>> {
    match request {
        ServerRequest::CreateMessage(p) => to_value(handler.create_message(p)),
        ServerRequest::Elicit(p) => to_value(handler.elicit(p)),
        ServerRequest::ListRoots => to_value(handler.list_roots()),
        // The core surfaces only the requests of declared capabilities; a variant this
        // version does not know gets the core's own answer for it.
        other => {
            let error = other.not_handled();
            Box::pin(async move { Err(error) })
        }
    }
}

fn to_value<T: serde::Serialize + Send + 'static>(
    answer: BoxFuture<'static, Result<T, ErrorObject>>,
) -> BoxFuture<'static, Result<Value, ErrorObject>> {
    Box::pin(async move {
        answer.await.and_then(|r| {
            serde_json::to_value(r)
                .map_err(|e| ErrorObject::new(ErrorObject::INTERNAL_ERROR, e.to_string()))
        })
    })
}

fn not_supported(method: &str) -> ErrorObject {
    ErrorObject::new(
        ErrorObject::METHOD_NOT_FOUND,
        format!("{method} is not supported by this client"),
    )
}
