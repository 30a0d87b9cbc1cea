//! Where the server is: a URL, or a command to run.

use crate::runtime;

/// Where the server is: a Streamable HTTP URL, or a command spoken to over its stdio.
///
/// ```
/// use mcpwire::Target;
///
/// // A URL, or a command line split as a POSIX shell would (quotes and backslashes).
/// assert_eq!(Target::from("http://127.0.0.1:3001/mcp"), Target::http("http://127.0.0.1:3001/mcp"));
/// assert_eq!(
///     Target::from("python3 'my server.py' --flag"),
///     Target::stdio("python3", ["my server.py", "--flag"]),
/// );
/// // With environment variables and a working directory:
/// let target = Target::from(
///     mcpwire::runtime::Command::new("./server").env("TOKEN_FILE", "/run/token").current_dir("/srv"),
/// );
/// ```
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
        Target::Stdio(runtime::Command::new(program).args(args))
    }

    /// A URL if `s` starts with `http://` or `https://`, else a command line split into
    /// words as a POSIX shell would (`'...'`, `"..."`, `\`), with no expansion of any
    /// kind; `None` if its quotes are not closed or it has no word.
    pub fn parse(s: &str) -> Option<Target> {
        if s.starts_with("http://") || s.starts_with("https://") {
            return Some(Target::http(s));
        }
        let mut words = shlex::split(s)?.into_iter();
        let program = words.next()?;
        Some(Target::stdio(program, words))
    }
}

impl From<&str> for Target {
    /// As [`Target::parse`]; a command line it cannot split is taken as a program's name,
    /// whole, so that connecting fails with [`Error::Spawn`](crate::Error::Spawn)
    /// naming it.
    fn from(s: &str) -> Target {
        Target::parse(s).unwrap_or_else(|| Target::stdio(s, Vec::<String>::new()))
    }
}

impl From<String> for Target {
    /// As `From<&str>`.
    fn from(s: String) -> Target {
        Target::from(s.as_str())
    }
}

impl From<&String> for Target {
    /// As `From<&str>`.
    fn from(s: &String) -> Target {
        Target::from(s.as_str())
    }
}

impl From<runtime::Command> for Target {
    fn from(command: runtime::Command) -> Target {
        Target::Stdio(command)
    }
}

impl From<std::process::Command> for Target {
    /// The program, arguments, environment variables set and working directory of a `std`
    /// command (its stdio is the client's to set). Names and values that are not UTF-8 are
    /// converted lossily; variables it removes (`env_remove`, `env_clear`) are not carried
    /// over.
    fn from(command: std::process::Command) -> Target {
        let lossy = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
        let mut ours =
            runtime::Command::new(lossy(command.get_program())).args(command.get_args().map(lossy));
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                ours = ours.env(lossy(key), lossy(value));
            }
        }
        if let Some(dir) = command.get_current_dir() {
            ours = ours.current_dir(dir);
        }
        Target::Stdio(ours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_is_split_with_shell_quoting() {
        assert_eq!(
            Target::from(r#"npx -y "@scope/a server" 'it''s' a\ b"#),
            Target::stdio("npx", ["-y", "@scope/a server", "its", "a b"])
        );
        assert_eq!(
            Target::from(String::from("https://h/mcp")),
            Target::http("https://h/mcp")
        );
        assert_eq!(Target::parse("npx 'unclosed"), None);
        assert_eq!(Target::parse("   "), None);
        assert_eq!(
            Target::from("npx 'unclosed"),
            Target::stdio("npx 'unclosed", Vec::<String>::new())
        );
    }

    #[test]
    fn a_std_command_keeps_its_arguments_env_and_directory() {
        let mut std = std::process::Command::new("server");
        std.arg("--port")
            .arg("0")
            .env("A", "1")
            .env_remove("B")
            .current_dir("/srv");
        let Target::Stdio(command) = Target::from(std) else {
            panic!("a command")
        };
        assert_eq!(command.program, "server");
        assert_eq!(command.args, ["--port", "0"]);
        assert_eq!(command.env, [("A".to_owned(), "1".to_owned())]);
        assert_eq!(
            command.current_dir.as_deref(),
            Some(std::path::Path::new("/srv"))
        );
    }
}
