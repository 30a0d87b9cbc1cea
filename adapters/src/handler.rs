//! Answers to what a server asks of the client: sampling, elicitation and roots.

use std::future::Future;
use std::sync::Arc;

use mcpwire_core::jsonrpc::ErrorObject;
use mcpwire_core::schema::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult,
    ListRootsResult, Root, RootsCapability,
};

use mcpwire_core::schema::ServerRequest;
use serde_json::Value;

use crate::runtime::BoxFuture;

/// Answers the server's requests. `ping` is answered by the core.
///
/// Most applications need no `Handler`: closures on the builder
/// ([`ClientBuilder::on_sampling`](crate::ClientBuilder::on_sampling),
/// [`on_elicitation`](crate::ClientBuilder::on_elicitation),
/// [`roots`](crate::ClientBuilder::roots)) declare their capability themselves. A `Handler`
/// is for one object that answers everything, or for a JSON-RPC error with its own code.
///
/// The client declares exactly the capabilities this handler returns, and the core answers
/// "method not found" to a request for a capability it did not declare, so a method whose
/// capability is declared must be implemented. The futures are `'static`: clone what they
/// need from `self`.
///
/// ```no_run
/// use mcpwire::core::jsonrpc::ErrorObject;
/// use mcpwire::runtime::BoxFuture;
/// use mcpwire::schema::{ClientCapabilities, CreateMessageParams, CreateMessageResult};
/// use mcpwire::Handler;
///
/// struct Model;
///
/// impl Handler for Model {
///     fn capabilities(&self) -> ClientCapabilities {
///         ClientCapabilities::new().with_sampling()
///     }
///
///     fn create_message(
///         &self,
///         params: CreateMessageParams,
///     ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorObject>> {
///         Box::pin(async move {
///             if params.max_tokens > 4096 {
///                 return Err(ErrorObject::new(-1, "User rejected sampling request"));
///             }
///             Ok(CreateMessageResult::text("my-model", "Hello!"))
///         })
///     }
/// }
///
/// # #[cfg(feature = "tokio")]
/// # async fn example() -> Result<(), mcpwire::Error> {
/// let client = mcpwire::Client::builder()
///     .handler(Model)
///     .connect("npx -y @modelcontextprotocol/server-everything")
///     .await?;
/// # Ok(())
/// # }
/// ```
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

/// What a closure handler's error may be: a `String`, a `&str`, any error (`anyhow::Error`
/// too). The server gets a JSON-RPC internal error with its text, or, for an
/// [`ErrorObject`], that object with its own code.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

type Answer<P, R> = Arc<dyn Fn(P) -> BoxFuture<'static, Result<R, ErrorObject>> + Send + Sync>;

/// The answers of the builder's closures, each declaring its capability; what none of them
/// answers goes to the handler set with `ClientBuilder::handler` (if any).
#[derive(Clone, Default)]
pub(crate) struct Closures {
    pub(crate) sampling: Option<Answer<CreateMessageParams, CreateMessageResult>>,
    pub(crate) elicitation: Option<Answer<ElicitParams, ElicitResult>>,
    pub(crate) roots: Option<Arc<[Root]>>,
}

impl Closures {
    pub(crate) fn is_empty(&self) -> bool {
        self.sampling.is_none() && self.elicitation.is_none() && self.roots.is_none()
    }

    /// Wraps `f` as an answer: its error becomes a JSON-RPC error object.
    pub(crate) fn answer<P, R, F, Fut, E>(f: F) -> Answer<P, R>
    where
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        Arc::new(move |params| {
            let answer = f(params);
            Box::pin(async move { answer.await.map_err(|e| to_error_object(e.into())) })
        })
    }
}

/// A closure's error as the JSON-RPC error the server gets.
fn to_error_object(error: HandlerError) -> ErrorObject {
    match error.downcast::<ErrorObject>() {
        Ok(object) => *object,
        Err(other) => ErrorObject::new(ErrorObject::INTERNAL_ERROR, other.to_string()),
    }
}

/// The builder's closures in front of the application's handler.
pub(crate) struct WithClosures {
    pub(crate) closures: Closures,
    pub(crate) fallback: Arc<dyn Handler>,
}

impl Handler for WithClosures {
    fn capabilities(&self) -> ClientCapabilities {
        let mut capabilities = self.fallback.capabilities();
        let c = &self.closures;
        if c.sampling.is_some() {
            capabilities.sampling = Some(serde_json::json!({}));
        }
        if c.elicitation.is_some() {
            // `{}` is form mode, as every revision reads it.
            capabilities.elicitation = Some(serde_json::json!({}));
        }
        if c.roots.is_some() {
            capabilities.roots = Some(RootsCapability::default());
        }
        capabilities
    }

    fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorObject>> {
        match &self.closures.sampling {
            Some(f) => f(params),
            None => self.fallback.create_message(params),
        }
    }

    fn elicit(
        &self,
        params: ElicitParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorObject>> {
        match &self.closures.elicitation {
            Some(f) => f(params),
            None => self.fallback.elicit(params),
        }
    }

    fn list_roots(&self) -> BoxFuture<'static, Result<ListRootsResult, ErrorObject>> {
        match &self.closures.roots {
            Some(roots) => {
                let result = ListRootsResult::new(roots.to_vec());
                Box::pin(async move { Ok(result) })
            }
            None => self.fallback.list_roots(),
        }
    }
}
