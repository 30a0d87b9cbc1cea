//! MCP types for what a client sends and receives (2025-06-18 and 2025-11-25).
//!
//! Every struct keeps the fields it does not know in `extra`, so nothing a newer server sends
//! is lost or rejected; open JSON (tool schemas, `_meta`, structured content) stays a
//! [`serde_json::Value`], so unknown JSON Schema keywords survive a round trip.

mod content;
mod decode;
mod elicitation;
mod lifecycle;
pub mod methods;
mod misc;
mod notifications;
mod prompts;
mod resources;
mod roots;
mod sampling;
mod server_request;
mod skills;
mod tasks;
mod tools;

#[cfg(test)]
mod tests;

pub use content::*;
pub use elicitation::*;
pub use lifecycle::*;
pub use misc::*;
pub use notifications::*;
pub use prompts::*;
pub use resources::*;
pub use roots::*;
pub use sampling::*;
pub use server_request::*;
pub use skills::*;
pub use tasks::*;
pub use tools::*;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// A client request: its params type names its method and its result type.
///
/// `mcpwire_core::Session::send` takes any `Request`; the adapters' typed methods are built on it.
pub trait Request: Serialize {
    /// The JSON-RPC method.
    const METHOD: &'static str;
    /// What the server answers.
    type Result: DeserializeOwned;
}

/// A notification's params type: it names the notification's method.
pub trait Notification: Serialize {
    /// The JSON-RPC method.
    const METHOD: &'static str;
}

/// One page of a paginated list result (`tools/list`, `resources/list`, ...).
pub trait Page {
    /// What the list holds.
    type Item;
    /// The cursor to ask for the next page with; `None` on the last page.
    fn next_cursor(&self) -> Option<&str>;
    /// The items on this page.
    fn items(&self) -> &[Self::Item];
    /// The items on this page, by value.
    fn into_items(self) -> Vec<Self::Item>;
}

/// A paginated list request: set the cursor, send, and repeat while the result has a next cursor.
///
/// ```
/// use mcpwire_core::schema::{Page, Paginated};
///
/// /// Follows every page; `send` stands for whatever sends a request and waits for its result.
/// fn all_items<P: Paginated>(
///     mut params: P,
///     mut send: impl FnMut(&P) -> P::Result,
/// ) -> Vec<<P::Result as Page>::Item> {
///     let mut items = Vec::new();
///     loop {
///         let page = send(&params);
///         let next = page.next_cursor().map(str::to_owned);
///         items.extend(page.into_items());
///         match next {
///             Some(cursor) => params.set_cursor(Some(cursor)),
///             None => return items,
///         }
///     }
/// }
/// ```
pub trait Paginated: Request<Result: Page> {
    /// The cursor this request asks from, if any.
    fn cursor(&self) -> Option<&str>;
    /// Asks for the page after `cursor` (`None`: the first page).
    fn set_cursor(&mut self, cursor: Option<String>);
}

/// Implements [`Paginated`] for a list params type and [`Page`] for its result.
macro_rules! paginated {
    ($params:ty => $result:ty, $items:ident: $item:ty) => {
        impl $params {
            /// The page after `cursor` (`None`: the first page).
            pub fn with_cursor(cursor: Option<String>) -> Self {
                let mut params = <$params>::default();
                params.cursor = cursor;
                params
            }
        }

        impl $crate::schema::Paginated for $params {
            fn cursor(&self) -> Option<&str> {
                self.cursor.as_deref()
            }
            fn set_cursor(&mut self, cursor: Option<String>) {
                self.cursor = cursor;
            }
        }

        impl $crate::schema::Page for $result {
            type Item = $item;
            fn next_cursor(&self) -> Option<&str> {
                self.next_cursor.as_deref()
            }
            fn items(&self) -> &[$item] {
                &self.$items
            }
            fn into_items(self) -> Vec<$item> {
                self.$items
            }
        }
    };
}
use paginated;

/// Decodes a message's params as `T`; absent or `null` params read as `{}`.
fn decode_params<T: DeserializeOwned>(params: Option<Value>) -> Result<T, serde_json::Error> {
    match params {
        None | Some(Value::Null) => serde_json::from_value(Value::Object(Map::new())),
        Some(params) => serde_json::from_value(params),
    }
}
