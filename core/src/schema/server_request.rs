//! Requests the server sends the client ([`ServerRequest`]).

use serde::de::Error as _;
use serde_json::Value;

use super::{decode_params, methods, CreateMessageParams, ElicitParams};

/// A request from the server, by method.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerRequest {
    /// `ping`: answer with an empty result.
    Ping,
    /// `sampling/createMessage`: answer with a `CreateMessageResult`.
    CreateMessage(CreateMessageParams),
    /// `roots/list`: answer with a `ListRootsResult`.
    ListRoots,
    /// `elicitation/create`: answer with an `ElicitResult`.
    Elicit(ElicitParams),
    /// A method this version does not know (`tasks/get`, extensions, ...): answer with
    /// "method not found" unless the application handles it.
    Other {
        /// The method.
        method: String,
        /// The params, as sent.
        params: Option<Value>,
    },
}

impl ServerRequest {
    /// Decodes a request: an unknown method is [`ServerRequest::Other`]; a known method whose
    /// params do not fit (including an elicitation missing its mode's fields) is an error, to
    /// be answered with "invalid params". `ping` and `roots/list` ignore their params.
    pub fn parse(method: &str, params: Option<Value>) -> Result<Self, serde_json::Error> {
        Ok(match method {
            methods::PING => Self::Ping,
            methods::SAMPLING_CREATE_MESSAGE => Self::CreateMessage(decode_params(params)?),
            methods::ROOTS_LIST => Self::ListRoots,
            methods::ELICITATION_CREATE => {
                let params: ElicitParams = decode_params(params)?;
                params.validate().map_err(serde_json::Error::custom)?;
                Self::Elicit(params)
            }
            _ => Self::Other {
                method: method.to_owned(),
                params,
            },
        })
    }

    /// The answer to a request the client does not handle: "method not found".
    pub fn not_handled(&self) -> crate::jsonrpc::ErrorObject {
        crate::jsonrpc::ErrorObject::new(
            crate::jsonrpc::ErrorObject::METHOD_NOT_FOUND,
            format!("method not found: {}", self.method()),
        )
    }

    /// The request's method.
    pub fn method(&self) -> &str {
        match self {
            Self::Ping => methods::PING,
            Self::CreateMessage(_) => methods::SAMPLING_CREATE_MESSAGE,
            Self::ListRoots => methods::ROOTS_LIST,
            Self::Elicit(_) => methods::ELICITATION_CREATE,
            Self::Other { method, .. } => method,
        }
    }
}
