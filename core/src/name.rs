//! A method's name as the request table and the exchanges keep it.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A method's name, shared by every request made with it (the session keeps a few dozen):
/// one pointer, 8 bytes where an `Arc<str>` takes 16, in the entries the core keeps for each
/// outstanding request and each exchange.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Name(Arc<Box<str>>);

impl Name {
    /// The name as an `Arc<str>` (a copy: for a [`Failure`](crate::Failure), which is
    /// public and made only when something fails).
    pub(crate) fn to_arc(&self) -> Arc<str> {
        Arc::from(&**self)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::new(s.into()))
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_pointer_and_reads_as_its_text() {
        assert_eq!(std::mem::size_of::<Name>(), 8);
        let n = Name::from("tools/call");
        let shared = n.clone();
        assert!(Arc::ptr_eq(&n.0, &shared.0), "a clone shares the text");
        assert_eq!(&*shared, "tools/call");
        assert_eq!(format!("{n:?} {n}"), r#""tools/call" tools/call"#);
        assert_eq!(&*n.to_arc(), "tools/call");
    }
}
