//! `mcpwire login <URL>` and `mcpwire logout <URL>`, and the OAuth every other command uses.
//!
//! Credentials are kept per server URL in a [`FileStore`] (files readable by the user alone)
//! under `$MCPWIRE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mcpwire`, else `~/.config/mcpwire`.
//! `login` runs the authorization code flow with a loopback redirect (RFC 8252): it listens
//! on `127.0.0.1` on a port of its own, prints the URL to open (and opens a browser unless
//! `MCPWIRE_BROWSER=none`, or runs `$MCPWIRE_BROWSER <url>`), and takes the one request the
//! browser is sent back with. The other commands refresh a stored token when they can; when
//! the user is needed they fail saying to run `mcpwire login <URL>`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcpwire::auth::{Authorize, FileStore, OAuth, OAuthConfig, TokenStore, UserStep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::connect::{connect_with_oauth, ServerArgs};
use crate::exit::Failure;
use crate::{print, Common};

/// How long `login` waits for the browser to come back.
const USER_WAIT: Duration = Duration::from_secs(300);
/// The most bytes of the browser's request read.
const MAX_REQUEST: usize = 16 << 10;

/// Where credentials are kept.
pub fn store() -> FileStore {
    let dir = std::env::var_os("MCPWIRE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("mcpwire")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/mcpwire")))
        .unwrap_or_else(|| PathBuf::from(".mcpwire"));
    FileStore::new(dir.join("credentials"))
}

/// Whether `mcpwire login` kept credentials for `url`.
pub fn logged_in(url: &str) -> bool {
    store().load(url).is_some()
}

/// The OAuth of every command but `login`: stored credentials, refreshed when they can be;
/// a user step fails, naming the command that does it.
pub fn non_interactive(url: &str) -> OAuth {
    let config = OAuthConfig::new("http://127.0.0.1/callback");
    let hint = format!("run `mcpwire login {url}` first");
    let user = UserStep::Custom(Arc::new(move |_: Authorize| {
        let hint = hint.clone();
        Box::pin(async move { Err(hint) })
    }));
    OAuth::new(config, user).store(Arc::new(store()))
}

/// OAuth with no user (an agent, a job): the client credentials grant, or the JWT bearer
/// grant with a workload token; DPoP with any of them. Tokens are fetched when the server
/// asks and kept in memory only.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "OAuth without a user")]
pub struct MachineArgs {
    /// Get tokens with the client credentials grant as this pre-registered client (with
    /// --client-secret-env or --client-key).
    #[arg(long, value_name = "ID", global = true)]
    pub client_id: Option<String>,
    /// The name of the environment variable that holds the client's secret (a secret never
    /// goes on the command line, where other users can read it).
    #[arg(long, value_name = "VAR", global = true)]
    pub client_secret_env: Option<String>,
    /// The client's private key, a PKCS#8 PEM file: it signs client assertions
    /// (private_key_jwt) instead of a secret.
    #[arg(long, value_name = "FILE", global = true)]
    pub client_key: Option<PathBuf>,
    /// The algorithm of --client-key.
    #[arg(long, value_name = "ALG", global = true, default_value = "ES256", value_parser = ["ES256", "RS256"])]
    pub client_key_alg: String,
    /// Get tokens with the JWT bearer grant and the workload identity token in this file,
    /// read afresh for each token request.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with = "client_secret_env"
    )]
    pub workload_token: Option<PathBuf>,
    /// Bind tokens to a key made for this run (DPoP, RFC 9449).
    #[arg(long, global = true)]
    pub dpop: bool,
}

impl MachineArgs {
    /// The OAuth these options ask for, if any.
    pub fn oauth(&self) -> Result<Option<OAuth>, Failure> {
        use mcpwire::auth::{assertion_file, Grant, Key, PreRegistered, SigningKey};
        if self.client_id.is_none() && self.workload_token.is_none() {
            if self.client_secret_env.is_some() || self.client_key.is_some() {
                return Err(Failure::Usage(
                    "--client-secret-env and --client-key need --client-id".into(),
                ));
            }
            return Ok(None);
        }
        let key_error = |e: mcpwire::auth::KeyError| Failure::Usage(e.to_string());
        let mut config = OAuthConfig::new("http://127.0.0.1/unused");
        if let Some(id) = &self.client_id {
            let mut client = PreRegistered::new(id);
            if let Some(var) = &self.client_secret_env {
                let secret = std::env::var(var).map_err(|_| {
                    Failure::Usage(format!("--client-secret-env: ${var} is not set"))
                })?;
                client = client.secret(secret);
            }
            if let Some(path) = &self.client_key {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| Failure::Usage(format!("--client-key {}: {e}", path.display())))?;
                let key = SigningKey::from_pem(&pem, &self.client_key_alg).map_err(key_error)?;
                client = client.key(Key::new(key));
            }
            config = config.pre_registered(client);
        }
        config.grant = match &self.workload_token {
            Some(path) => Grant::JwtBearer {
                assertion: assertion_file(path),
            },
            None => Grant::ClientCredentials,
        };
        if self.dpop {
            config = config.dpop(Key::new(SigningKey::generate().map_err(key_error)?));
        }
        let user = UserStep::Custom(Arc::new(|_: Authorize| {
            Box::pin(async { Err("no user step without a user".to_owned()) })
        }));
        Ok(Some(OAuth::new(config, user)))
    }
}

/// `mcpwire login <URL>`.
pub async fn login(common: &Common, server: &ServerArgs) -> Result<(), Failure> {
    let Some(url) = server.http_url()? else {
        return Err(Failure::Usage("login takes an http(s) URL".into()));
    };
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| Failure::Other(format!("cannot listen on 127.0.0.1 for the redirect: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::Other(e.to_string()))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let listener = Arc::new(tokio::sync::Mutex::new(listener));
    let user = UserStep::Custom(Arc::new(move |step: Authorize| {
        let listener = listener.clone();
        Box::pin(async move {
            let _ = print::err(&format!(
                "Open this URL to authorize mcpwire:\n\n  {}\n",
                step.url
            ));
            open_browser(&step.url);
            let listener = listener.lock().await;
            match tokio::time::timeout(USER_WAIT, callback(&listener, port)).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer from the browser within {USER_WAIT:?}")),
            }
        })
    }));
    let store: Arc<dyn TokenStore> = Arc::new(store());
    // A fresh login: what was kept for this server goes.
    store.clear(&url);
    let oauth = OAuth::new(OAuthConfig::new(redirect), user).store(store.clone());
    let connection = connect_with_oauth(common, mcpwire::Target::http(url.clone()), oauth).await?;
    // Connecting made a request: a server that wants a token asked for one. Make sure with a
    // listing, then say where the credentials went.
    let listed = connection.client.list_tools(None).await;
    connection.client.close().await;
    listed.map_err(|e| Failure::mcp("tools/list", e))?;
    match store.load(&url) {
        Some(_) => print::err(&format!("Logged in to {url}.")),
        None => print::err(&format!(
            "{url} asked for no authorization: nothing to keep."
        )),
    }
    .map_err(|e| Failure::Other(e.to_string()))
}

/// `mcpwire logout <URL>`.
pub fn logout(server: &ServerArgs) -> Result<(), Failure> {
    let Some(url) = server.http_url()? else {
        return Err(Failure::Usage("logout takes an http(s) URL".into()));
    };
    store().clear(&url);
    print::err(&format!("Logged out of {url}.")).map_err(|e| Failure::Other(e.to_string()))
}

/// Opens `url` in a browser, as `MCPWIRE_BROWSER` says (`none`: not at all), else with the
/// platform's opener; never fails (the URL was printed).
fn open_browser(url: &str) {
    let opener = match std::env::var("MCPWIRE_BROWSER") {
        Ok(b) if b == "none" => return,
        Ok(b) => b,
        Err(_) if cfg!(target_os = "macos") => "open".into(),
        Err(_) => "xdg-open".into(),
    };
    drop(
        std::process::Command::new(opener)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn(),
    );
}

/// Waits for the browser's request to the redirect URI; answers it, and gives the URL it
/// asked for.
async fn callback(listener: &TcpListener, port: u16) -> Result<String, String> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut request = Vec::new();
        let mut chunk = [0u8; 2048];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&chunk[..n]),
            }
        }
        let line = String::from_utf8_lossy(&request);
        let target = line
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .filter(|t| t.starts_with("/callback"));
        let Some(target) = target else {
            // A favicon, a probe: not the redirect.
            drop(
                stream
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await,
            );
            continue;
        };
        let body = "mcpwire: authorization received, you can close this window.\n";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        drop(stream.write_all(answer.as_bytes()).await);
        return Ok(format!("http://127.0.0.1:{port}{target}"));
    }
}
