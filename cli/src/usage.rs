//! clap's own errors (an unknown option, a missing value, ...) as the CLI's other usage
//! errors: exit code 64, and with `--json` an `{"error": ...}` object on stdout.

use serde_json::json;

use crate::{exit, print};

/// Prints `error` (clap's text on stderr; with `--json` also the JSON object) and returns
/// the exit code: 0 for `--help` and `--version`, 64 for a usage error.
pub fn report(error: &clap::Error) -> u8 {
    let usage = error.use_stderr();
    let _ = error.print();
    if !usage {
        return exit::OK;
    }
    if json_asked(std::env::args_os().skip(1)) {
        let object = json!({"error": {
            "exit": exit::USAGE,
            "kind": "usage",
            "message": message(error),
        }});
        let _ = print::json_line(&object);
    }
    exit::USAGE
}

/// clap's first line, without its `error: `.
fn message(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// Whether `--json` is among the arguments before `--` (after it, they are the server's).
fn json_asked(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<std::ffi::OsString> {
        words.iter().map(Into::into).collect()
    }

    #[test]
    fn json_counts_only_before_the_servers_command() {
        assert!(json_asked(args(&["tools", "--json", "--bad"])));
        assert!(!json_asked(args(&["tools", "--bad"])));
        assert!(!json_asked(args(&["tools", "--", "server", "--json"])));
    }
}
