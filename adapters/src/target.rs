//! Where the server is: a URL, or a command to run.

use crate::runtime;

/// Where the server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Streamable HTTP endpoint (`http://` or `https://`).
    Http(String),
    /// A command to run, spoken to over its stdin and stdout.
    Stdio(runtime::Command),
}

impl Target {
    /// An HTTP endpoint.
    pub fn http(url: impl Into<String>) -> Target {
        Target::Http(url.into())
    }

    /// A command with its arguments.
    pub fn stdio<I: IntoIterator<Item = S>, S: Into<String>>(
        program: impl Into<String>,
        args: I,
    ) -> Target {
        let args = args.into_iter().map(Into::into).collect();
        Target::Stdio(runtime::Command {
            program: program.into(),
            args,
            env: Vec::new(),
            cwd: None,
        })
    }
}

impl From<&str> for Target {
    /// A URL if it starts with `http://` or `https://`, else a command line split at spaces.
    fn from(s: &str) -> Target {
        if s.starts_with("http://") || s.starts_with("https://") {
            return Target::http(s);
        }
        let mut words = s.split_whitespace().map(str::to_owned);
        let program = words.next().unwrap_or_default();
        Target::stdio(program, words)
    }
}
