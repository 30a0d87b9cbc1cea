//! Server config files: the `mcpServers` JSON that Claude Desktop, Cursor and others use, and
//! VS Code's `servers` (with `type`), so that an application connects to a server by name.
//!
//! ```json
//! {
//!   "mcpServers": {
//!     "github": { "command": "npx", "args": ["-y", "server-github"], "env": { "TOKEN": "..." } },
//!     "remote": { "url": "https://example.com/mcp", "headers": { "Authorization": "Bearer ..." } }
//!   }
//! }
//! ```
//!
//! A stdio entry has `command`, and optionally `args`, `env` and `cwd`; an HTTP entry has `url`
//! and optionally `headers`. `type` (`"stdio"`, `"http"`, `"streamable-http"`) is checked when
//! given; `"sse"` is the legacy HTTP+SSE transport (`url` is its event stream). Other keys
//! (`disabled`, `description`, ...) are ignored. Values are taken as written: no `${env:...}`
//! substitution.
//!
//! The values of `env` and `headers` are secrets more often than not: they never appear in
//! `Debug` output or in an error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mcpwire::config::McpConfig;
//! let config = McpConfig::from_path("mcp.json")?;
//! let server = config.server("github")?;
//! let client = server.apply(mcpwire::Client::builder()).connect(server.target()).await?;
//! # let _ = client; Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{runtime, ClientBuilder, Target};

/// The servers of a config file, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct McpConfig {
    servers: Vec<(String, ServerConfig)>,
}

/// One server of a config file.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerConfig {
    /// A command to run, spoken to over its stdin and stdout.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Environment variables to set for it (secret: never shown).
        env: Vec<(String, String)>,
        /// The directory to run it in; `None`: the application's.
        cwd: Option<PathBuf>,
    },
    /// A Streamable HTTP endpoint, or (`"type": "sse"`) a legacy HTTP+SSE event stream.
    Http {
        /// The endpoint.
        url: String,
        /// Headers to send with every request (secret: never shown).
        headers: Vec<(String, String)>,
        /// `"type": "sse"`: the 2024-11-05 HTTP+SSE transport
        /// ([`ClientBuilder::legacy_sse`]), `url` being its event stream.
        legacy_sse: bool,
    },
}

/// What is wrong with a config file, or the name asked for in it. No value of `env` or
/// `headers` is ever part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why (the operating system's message).
        reason: String,
    },
    /// The file is not JSON, or not of the shape of a config file.
    Malformed {
        /// The file, if it was read from one.
        path: Option<PathBuf>,
        /// What is wrong: a JSON syntax error's position, or which field has the wrong type.
        reason: String,
    },
    /// No server has this name.
    NoSuchServer {
        /// The name asked for.
        name: String,
        /// The names the file has.
        known: Vec<String>,
    },
    /// The entry has neither `command` nor `url` (or both).
    NoTransport {
        /// The entry's name.
        name: String,
        /// Why: "neither `command` nor `url`", or "both".
        reason: &'static str,
    },
    /// The entry's `type` is one this client does not speak, or does not fit its fields.
    UnsupportedType {
        /// The entry's name.
        name: String,
        /// Its `type`.
        kind: String,
    },
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
            ConfigFileError::Malformed { path, reason } => match path {
                Some(p) => write!(
                    f,
                    "{} is not a valid MCP config file: {reason}",
                    p.display()
                ),
                None => write!(f, "not a valid MCP config file: {reason}"),
            },
            ConfigFileError::NoSuchServer { name, known } if known.is_empty() => {
                write!(f, "no server {name:?}: the config file names none")
            }
            ConfigFileError::NoSuchServer { name, known } => {
                write!(
                    f,
                    "no server {name:?} (the config file has: {})",
                    known.join(", ")
                )
            }
            ConfigFileError::NoTransport { name, reason } => write!(
                f,
                "server {name:?} has {reason}: give `command` (stdio) or `url` (HTTP)"
            ),
            ConfigFileError::UnsupportedType { name, kind } => {
                write!(
                    f,
                    "server {name:?} has type {kind:?}, which mcpwire does not speak"
                )?;
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigFileError {}

impl McpConfig {
    /// Reads and parses a config file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<McpConfig, ConfigFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        McpConfig::parse(&text).map_err(|e| match e {
            ConfigFileError::Malformed { path: None, reason } => ConfigFileError::Malformed {
                path: Some(path.to_owned()),
                reason,
            },
            e => e,
        })
    }

    /// Parses a config file's text: its `mcpServers` object, and VS Code's `servers`.
    pub fn parse(text: &str) -> Result<McpConfig, ConfigFileError> {
        // Only the position of a syntax error is kept: serde_json's message says nothing of
        // the values, but a message of ours is sure not to.
        let root: Value = serde_json::from_str(text).map_err(|e| {
            malformed(format!(
                "{} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Eof => "unexpected end of file",
                    _ => "invalid JSON",
                },
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(root) = root else {
            return Err(malformed("the file is not a JSON object".into()));
        };
        let mut servers: Vec<(String, ServerConfig)> = Vec::new();
        let mut found = false;
        for key in ["mcpServers", "servers"] {
            let Some(entries) = root.get(key) else {
                continue;
            };
            found = true;
            let Value::Object(entries) = entries else {
                return Err(malformed(format!("`{key}` is not an object")));
            };
            for (name, entry) in entries {
                if servers.iter().any(|(n, _)| n == name) {
                    continue;
                }
                servers.push((name.clone(), ServerConfig::parse(key, name, entry)?));
            }
        }
        if !found {
            return Err(malformed(
                "it has no `mcpServers` (or `servers`) object".into(),
            ));
        }
        Ok(McpConfig { servers })
    }

    /// The names of the servers, in the file's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.servers.iter().map(|(n, _)| n.as_str())
    }

    /// The server named `name`.
    pub fn server(&self, name: &str) -> Result<&ServerConfig, ConfigFileError> {
        self.servers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .ok_or_else(|| ConfigFileError::NoSuchServer {
                name: name.to_owned(),
                known: self.names().map(str::to_owned).collect(),
            })
    }

    /// Where the server named `name` is. An HTTP entry's `headers` are not part of a
    /// [`Target`]: [`ServerConfig::apply`] adds them to a builder.
    pub fn target(&self, name: &str) -> Result<Target, ConfigFileError> {
        Ok(self.server(name)?.target())
    }
}

impl ServerConfig {
    fn parse(key: &str, name: &str, entry: &Value) -> Result<ServerConfig, ConfigFileError> {
        let at = |field: &str| format!("`{key}.{name}.{field}`");
        let Value::Object(entry) = entry else {
            return Err(malformed(format!("`{key}.{name}` is not an object")));
        };
        let string = |field: &str| -> Result<Option<String>, ConfigFileError> {
            match entry.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(malformed(format!("{} is not a string", at(field)))),
            }
        };
        let command = string("command")?;
        let url = string("url")?;
        let kind = string("type")?;
        let no_transport = |reason| ConfigFileError::NoTransport {
            name: name.to_owned(),
            reason,
        };
        let unsupported = |kind: &str| ConfigFileError::UnsupportedType {
            name: name.to_owned(),
            kind: kind.to_owned(),
        };
        match (&command, &url, kind.as_deref()) {
            (_, _, Some(k))
                if !matches!(
                    k,
                    "stdio" | "http" | "streamable-http" | "streamableHttp" | "sse"
                ) =>
            {
                Err(unsupported(k))
            }
            (Some(_), Some(_), _) => Err(no_transport("both `command` and `url`")),
            (None, None, _) => Err(no_transport("neither `command` nor `url`")),
            (Some(_), None, Some(k)) if k != "stdio" => Err(unsupported(k)),
            (None, Some(_), Some("stdio")) => Err(unsupported("stdio")),
            (Some(command), None, _) => Ok(ServerConfig::Stdio {
                command: command.clone(),
                args: strings(entry, "args", &at("args"))?,
                env: pairs(entry, "env", &at("env"))?,
                cwd: string("cwd")?.map(PathBuf::from),
            }),
            (None, Some(url), _) => Ok(ServerConfig::Http {
                url: url.clone(),
                headers: pairs(entry, "headers", &at("headers"))?,
                legacy_sse: kind.as_deref() == Some("sse"),
            }),
        }
    }

    /// Where the server is: its command (with `env` and `cwd`), or its URL.
    pub fn target(&self) -> Target {
        match self {
            ServerConfig::Stdio {
                command,
                args,
                env,
                cwd,
            } => Target::Stdio(runtime::Command {
                program: command.clone(),
                args: args.clone(),
                env: env.clone(),
                current_dir: cwd.clone(),
            }),
            ServerConfig::Http { url, .. } => Target::http(url.clone()),
        }
    }

    /// The headers an HTTP entry adds to every request (none for a stdio entry).
    pub fn headers(&self) -> &[(String, String)] {
        match self {
            ServerConfig::Http { headers, .. } => headers,
            ServerConfig::Stdio { .. } => &[],
        }
    }

    /// Whether the entry is a legacy HTTP+SSE server (`"type": "sse"`).
    pub fn legacy_sse(&self) -> bool {
        matches!(
            self,
            ServerConfig::Http {
                legacy_sse: true,
                ..
            }
        )
    }

    /// `builder` with what the entry adds to a connection: an HTTP entry's `headers`, and
    /// the HTTP+SSE transport for a `"type": "sse"` entry.
    pub fn apply(&self, mut builder: ClientBuilder) -> ClientBuilder {
        if let ServerConfig::Http {
            headers,
            legacy_sse,
            ..
        } = self
        {
            for (name, value) in headers {
                builder = builder.header(name.clone(), value.clone());
            }
            if *legacy_sse {
                builder = builder.legacy_sse();
            }
        }
        builder
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |pairs: &[(String, String)]| -> Vec<String> {
            pairs
                .iter()
                .map(|(k, _)| format!("{k}=<redacted>"))
                .collect()
        };
        match self {
            ServerConfig::Stdio {
                command,
                args,
                env,
                cwd,
            } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", args)
                .field("env", &redacted(env))
                .field("cwd", cwd)
                .finish(),
            ServerConfig::Http {
                url,
                headers,
                legacy_sse,
            } => f
                .debug_struct("Http")
                .field("url", url)
                .field("headers", &redacted(headers))
                .field("legacy_sse", legacy_sse)
                .finish(),
        }
    }
}

fn malformed(reason: String) -> ConfigFileError {
    ConfigFileError::Malformed { path: None, reason }
}

/// An array of strings (none if absent).
fn strings(
    entry: &Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Vec<String>, ConfigFileError> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(format!("{at} has an item that is not a string"))),
            })
            .collect(),
        Some(_) => Err(malformed(format!("{at} is not an array of strings"))),
    }
}

/// An object of strings, in the file's order (none if absent). An error names the key, never
/// the value.
fn pairs(
    entry: &Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Vec<(String, String)>, ConfigFileError> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(malformed(format!(
                    "{at}: the value of {k:?} is not a string"
                ))),
            })
            .collect(),
        Some(_) => Err(malformed(format!("{at} is not an object of strings"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE: &str = r#"{
        "mcpServers": {
            "github": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-github"],
                "env": { "GITHUB_TOKEN": "ghp_secret123" },
                "cwd": "/srv/github"
            },
            "remote": {
                "url": "https://example.com/mcp",
                "headers": { "Authorization": "Bearer hunter2" },
                "disabled": false
            }
        },
        "globalShortcut": "Ctrl+Space"
    }"#;

    #[test]
    fn a_claude_desktop_file_gives_a_stdio_and_an_http_entry() {
        let config = McpConfig::parse(CLAUDE).unwrap();
        assert_eq!(config.names().collect::<Vec<_>>(), ["github", "remote"]);
        assert_eq!(
            config.target("github").unwrap(),
            Target::Stdio(runtime::Command {
                program: "npx".into(),
                args: vec!["-y".into(), "@modelcontextprotocol/server-github".into()],
                env: vec![("GITHUB_TOKEN".into(), "ghp_secret123".into())],
                current_dir: Some("/srv/github".into()),
            })
        );
        assert_eq!(
            config.server("remote").unwrap(),
            &ServerConfig::Http {
                url: "https://example.com/mcp".into(),
                headers: vec![("Authorization".into(), "Bearer hunter2".into())],
                legacy_sse: false,
            }
        );
        assert_eq!(
            config.target("remote").unwrap(),
            Target::http("https://example.com/mcp")
        );
    }

    #[test]
    fn a_vs_code_file_with_servers_and_type_is_read() {
        let config = McpConfig::parse(
            r#"{"servers": {
                "local": {"type": "stdio", "command": "node", "args": ["server.js"]},
                "web": {"type": "http", "url": "http://127.0.0.1:3000/mcp"}
            }, "inputs": []}"#,
        )
        .unwrap();
        assert!(matches!(
            config.target("local").unwrap(),
            Target::Stdio(c) if c.program == "node" && c.args == ["server.js"] && c.current_dir.is_none()
        ));
        assert_eq!(
            config.target("web").unwrap(),
            Target::http("http://127.0.0.1:3000/mcp")
        );
    }

    #[test]
    fn a_missing_name_is_a_typed_error_listing_the_names() {
        let config = McpConfig::parse(CLAUDE).unwrap();
        let e = config.target("gitlab").unwrap_err();
        assert_eq!(
            e,
            ConfigFileError::NoSuchServer {
                name: "gitlab".into(),
                known: vec!["github".into(), "remote".into()]
            }
        );
        assert_eq!(
            e.to_string(),
            r#"no server "gitlab" (the config file has: github, remote)"#
        );
    }

    #[test]
    fn malformed_files_are_typed_errors_without_their_values() {
        for (text, reason) in [
            (
                r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "secret-1"}}"#,
                "unexpected end of file",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x" "secret-2"}}}"#,
                "invalid JSON at line 1",
            ),
            (r#"["secret-3"]"#, "not a JSON object"),
            (r#"{"other": {}}"#, "no `mcpServers`"),
            (
                r#"{"mcpServers": ["secret-4"]}"#,
                "`mcpServers` is not an object",
            ),
            (
                r#"{"mcpServers": {"a": "secret-5"}}"#,
                "`mcpServers.a` is not an object",
            ),
            (
                r#"{"mcpServers": {"a": {"command": 5}}}"#,
                "`mcpServers.a.command` is not a string",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "args": "secret-6"}}}"#,
                "`mcpServers.a.args` is not an array",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "env": {"TOKEN": 123456}}}}"#,
                r#"the value of "TOKEN" is not a string"#,
            ),
            (
                r#"{"mcpServers": {"a": {"url": "u", "headers": ["secret-7"]}}}"#,
                "`mcpServers.a.headers` is not an object",
            ),
        ] {
            let e = McpConfig::parse(text).unwrap_err();
            let ConfigFileError::Malformed { reason: got, .. } = &e else {
                panic!("{text}: {e:?}");
            };
            assert!(got.contains(reason), "{text}: {got}");
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("secret") && !shown.contains("123456"),
                "{shown}"
            );
        }
    }

    #[test]
    fn an_entry_with_neither_command_nor_url_or_both_is_a_typed_error() {
        let e = McpConfig::parse(r#"{"mcpServers": {"a": {"args": ["x"]}}}"#).unwrap_err();
        assert_eq!(
            e,
            ConfigFileError::NoTransport {
                name: "a".into(),
                reason: "neither `command` nor `url`"
            }
        );
        let e = McpConfig::parse(r#"{"mcpServers": {"a": {"command": "x", "url": "http://h/"}}}"#)
            .unwrap_err();
        assert!(matches!(e, ConfigFileError::NoTransport { .. }), "{e:?}");
    }

    #[test]
    fn an_sse_entry_is_the_legacy_transport() {
        let config =
            McpConfig::parse(r#"{"servers": {"old": {"type": "sse", "url": "http://h/sse"}}}"#)
                .unwrap();
        let entry = config.server("old").unwrap();
        assert!(entry.legacy_sse(), "{entry:?}");
        assert_eq!(entry.target(), Target::http("http://h/sse"));
        let e =
            McpConfig::parse(r#"{"servers": {"a": {"type": "sse", "command": "x"}}}"#).unwrap_err();
        assert!(
            matches!(e, ConfigFileError::UnsupportedType { .. }),
            "{e:?}"
        );
    }

    #[test]
    fn an_unknown_type_or_one_that_does_not_fit_is_a_typed_error() {
        for (entry, kind) in [
            (
                r#"{"type": "carrier-pigeon", "url": "http://h/"}"#,
                "carrier-pigeon",
            ),
            (r#"{"type": "http", "command": "x"}"#, "http"),
            (r#"{"type": "stdio", "url": "http://h/"}"#, "stdio"),
        ] {
            let e = McpConfig::parse(&format!(r#"{{"servers": {{"a": {entry}}}}}"#)).unwrap_err();
            assert_eq!(
                e,
                ConfigFileError::UnsupportedType {
                    name: "a".into(),
                    kind: kind.into()
                },
                "{entry}"
            );
        }
    }

    #[test]
    fn secrets_in_env_and_headers_are_never_in_debug() {
        let config = McpConfig::parse(CLAUDE).unwrap();
        let shown = format!("{config:?} {:?}", config.target("github").unwrap());
        assert!(!shown.contains("ghp_secret123"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("GITHUB_TOKEN=<redacted>"), "{shown}");
        assert!(shown.contains("Authorization=<redacted>"), "{shown}");
    }

    #[test]
    fn a_file_that_cannot_be_read_names_it() {
        let e = McpConfig::from_path("/nonexistent/mcp.json").unwrap_err();
        assert!(
            matches!(&e, ConfigFileError::Read { path, .. } if path == Path::new("/nonexistent/mcp.json"))
        );
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/mcp.json: "),
            "{e}"
        );
    }
}
