//! OAuth for a client: how the user step is done, and where tokens are kept. The flow itself
//! is the core's ([`mcpwire_core::auth`]); the driver only sends its requests, hands it
//! random bytes, runs the user step, and saves what it says to keep.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use keys::{KeyError, SigningKey};
pub use mcpwire_core::auth::{
    Assertion, AssertionSource, Config as OAuthConfig, Credentials, Error, Grant, IdentityProvider,
    Key, PreRegistered, Signer,
};

mod keys;

/// An assertion read from `path` each time the flow needs one (surrounding whitespace
/// trimmed): a workload identity token that the platform rotates in place (a Kubernetes
/// projected service account token, a file a CI system writes). A missing or empty file is
/// the flow's typed [`Error::Assertion`], naming the
/// path, never the contents.
pub fn assertion_file(path: impl Into<PathBuf>) -> Assertion {
    let path = path.into();
    Assertion::from_source(move || match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Ok(_) => Err(format!("{} is empty", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    })
}

use crate::runtime::BoxFuture;

/// Where the credentials of an OAuth flow (registered clients, tokens) are kept between
/// sessions, by MCP server URL. Implementations must keep them secret.
pub trait TokenStore: Send + Sync {
    /// What was kept for `server`, if anything.
    fn load(&self, server: &str) -> Option<Credentials>;
    /// Keeps `credentials` for `server`, replacing what was there.
    fn save(&self, server: &str, credentials: &Credentials);
    /// Forgets what was kept for `server`.
    fn clear(&self, server: &str);
}

/// Keeps credentials in memory, for the life of the store (the default).
#[derive(Default)]
pub struct MemoryStore {
    kept: Mutex<HashMap<String, Credentials>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, server: &str) -> Option<Credentials> {
        lock(&self.kept).get(server).cloned()
    }

    fn save(&self, server: &str, credentials: &Credentials) {
        lock(&self.kept).insert(server.to_owned(), credentials.clone());
    }

    fn clear(&self, server: &str) {
        lock(&self.kept).remove(server);
    }
}

/// Keeps credentials in a folder, one JSON file per server (named by a hash of its URL),
/// readable and writable by the user alone (mode 0600, the folder 0700). What `mcpwire
/// login` uses.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> FileStore {
        FileStore { dir: dir.into() }
    }

    /// The file for `server`.
    pub fn path(&self, server: &str) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(server.as_bytes());
        let name: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    fn write(&self, server: &str, credentials: &Credentials) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let path = self.path(server);
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(credentials)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}

impl TokenStore for FileStore {
    fn load(&self, server: &str) -> Option<Credentials> {
        let text = std::fs::read(self.path(server)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn save(&self, server: &str, credentials: &Credentials) {
        if let Err(e) = self.write(server, credentials) {
            // The path, never the contents.
            tracing::warn!(error = %e, dir = %self.dir.display(), "could not save the OAuth credentials");
        }
    }

    fn clear(&self, server: &str) {
        drop(std::fs::remove_file(self.path(server)));
    }
}

/// The user step of authorization: the URL the user must open, and where the answer comes
/// back.
#[derive(Clone)]
#[non_exhaustive]
pub struct Authorize {
    /// The authorization request URL.
    pub url: String,
    /// The redirect URI the authorization server sends the browser back to.
    pub redirect_uri: String,
}

impl fmt::Debug for Authorize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = self
            .url
            .split_once('?')
            .map_or(self.url.as_str(), |(b, _)| b);
        f.debug_struct("Authorize")
            .field("url", &format_args!("{base}?<redacted>"))
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// A user step: given where to send the user, the URL the browser came back to (the redirect
/// URI with the response in its query), or why there is none.
pub type UserStepFn =
    Arc<dyn Fn(Authorize) -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// How the user step is done.
#[derive(Clone)]
#[non_exhaustive]
pub enum UserStep {
    /// No user: GET the authorization URL without following redirects and take its
    /// `Location` as where the browser would have been sent (an authorization server that
    /// redirects at once, as test servers and the conformance suite's do).
    Headless,
    /// The application's own: open a browser and listen on the redirect URI, ask the user to
    /// paste the URL, ...
    Custom(UserStepFn),
}

impl fmt::Debug for UserStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserStep::Headless => "Headless",
            UserStep::Custom(_) => "Custom",
        })
    }
}

/// OAuth for a client ([`ClientBuilder::oauth`](crate::ClientBuilder::oauth)): the flow's
/// configuration, how the user step is done, and where credentials are kept.
#[derive(Clone)]
pub struct OAuth {
    pub(crate) config: OAuthConfig,
    pub(crate) user: UserStep,
    pub(crate) store: Arc<dyn TokenStore>,
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth")
            .field("redirect_uri", &self.config.redirect_uri)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// OAuth with `config`, the user step `user`, and credentials kept in memory.
    pub fn new(config: OAuthConfig, user: UserStep) -> OAuth {
        OAuth {
            config,
            user,
            store: Arc::new(MemoryStore::default()),
        }
    }

    /// Keeps credentials in `store` instead.
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> OAuth {
        self.store = store;
        self
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assertion_file_is_read_each_time_and_its_absence_is_an_error_naming_the_path() {
        let path = std::env::temp_dir().join(format!("mcpwire-wif-{}", std::process::id()));
        let source = assertion_file(&path);
        let e = source.0.assertion().unwrap_err();
        assert!(e.contains(&path.display().to_string()), "{e}");
        std::fs::write(&path, "  \n").unwrap();
        assert!(source.0.assertion().unwrap_err().contains("is empty"));
        std::fs::write(&path, "eyJ.first.sig\n").unwrap();
        assert_eq!(source.0.assertion().unwrap(), "eyJ.first.sig");
        // Rotated in place: the next token request presents the new one.
        std::fs::write(&path, "eyJ.second.sig").unwrap();
        assert_eq!(source.0.assertion().unwrap(), "eyJ.second.sig");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_file_store_keeps_credentials_for_the_user_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mcpwire-store-{}", std::process::id()));
        let store = FileStore::new(&dir);
        assert!(store.load("https://mcp.example.com/mcp").is_none());
        let credentials = Credentials::default();
        store.save("https://mcp.example.com/mcp", &credentials);
        let path = store.path("https://mcp.example.com/mcp");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert!(store.load("https://mcp.example.com/mcp").is_some());
        assert!(store.load("https://other.example.com/mcp").is_none());
        store.clear("https://mcp.example.com/mcp");
        assert!(store.load("https://mcp.example.com/mcp").is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
