//! The `mcpwire` command: talk to any MCP server, load-test it, watch the demo, or be the
//! client that the official conformance suite drives.
//!
//! One module per command; this file only parses the command line and maps the outcome to
//! an exit code ([`exit`]).

mod bench;
mod coerce;
mod completions;
mod conformance;
mod connect;
mod demo;
mod duration;
mod exit;
mod info;
mod inspect;
mod interrupt;
mod logging;
mod login;
mod output;
mod print;
mod progress;
mod replay;
mod sanitize;
mod skills;
mod usage;

use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

use crate::connect::{ServerArgs, ServerWithArgs};

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   the tool ran and reported an error (isError: true)
  2   the server answered with a JSON-RPC error
  3   transport, HTTP or session failure (refused, HTTP 5xx, session expired, ...)
  4   timeout
  64  usage error (bad arguments, unknown option, a command that cannot be started)
  130 interrupted (Ctrl-C): the call in flight was cancelled and the session closed

<SERVER> is an http(s) URL, `-- <command> [args...]` to run a stdio server, or
`--config <file> <name>` for a server named in an `mcpServers` config file:
  mcpwire tools http://127.0.0.1:3001/mcp
  mcpwire call echo message=hi -- npx -y @modelcontextprotocol/server-everything
  mcpwire tools --config ~/.cursor/mcp.json github";

/// Talk to any MCP server over Streamable HTTP or stdio.
#[derive(Parser, Debug)]
#[command(name = "mcpwire", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: Common,
}

/// Options every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// An HTTP header for every request, e.g. "Authorization: Bearer TOKEN".
    #[arg(long = "header", short = 'H', value_name = "K:V", global = true)]
    pub headers: Vec<String>,
    /// Deadline of each request in seconds (progress notifications may extend it); more
    /// than 100 years is taken as 100 years. Connecting has its own, --connect-timeout.
    #[arg(
        long,
        value_name = "SECS",
        global = true,
        value_parser = duration::parse_secs,
        allow_negative_numbers = true
    )]
    pub timeout: Option<Duration>,
    /// How long connecting may take in seconds: the TCP connect and TLS handshake, and the
    /// MCP handshake (starting a stdio server included) [default: 60].
    #[arg(
        long,
        value_name = "SECS",
        global = true,
        value_parser = duration::parse_secs,
        allow_negative_numbers = true
    )]
    pub connect_timeout: Option<Duration>,
    /// Speak the legacy HTTP+SSE transport (protocol 2024-11-05) to an HTTP server: the URL
    /// is its event stream's (`.../sse`). Without it, a server that refuses Streamable HTTP
    /// with 400, 404 or 405 is spoken to that way anyway.
    #[arg(long, global = true)]
    pub sse: bool,
    /// Print machine-readable JSON on stdout (errors too, as {"error": {...}}).
    #[arg(long, global = true)]
    pub json: bool,
    /// Show the stdio server's stderr as it is written (otherwise only when it fails) and
    /// the library's info logs; -vv debug, -vvv trace. RUST_LOG, if set, chooses the logs
    /// instead (default: warnings).
    #[arg(long, short = 'v', global = true, action = ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub machine: login::MachineArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a fault-injecting server in-process and show what mcpwire does with it.
    Demo,
    /// Who the server is: name, version, protocol revision, capabilities, instructions.
    #[command(after_help = EXIT_CODES)]
    Info(ServerArgs),
    /// List the server's tools.
    #[command(after_help = EXIT_CODES)]
    Tools(ServerArgs),
    /// Call a tool: `call <TOOL> [JSON | key=value...] <SERVER>`.
    ///
    /// key=value pairs are typed by the tool's input schema: `message=42` is the string "42"
    /// if it says string, `n=3` the number 3 if it says number (booleans, null, objects and
    /// arrays likewise); where it says nothing, values that parse as JSON are JSON, others
    /// strings. One JSON object is sent as it is.
    #[command(after_help = EXIT_CODES)]
    Call {
        /// The tool's name.
        tool: String,
        /// Run it as a task (2025-11-25, when the server offers it): each status change is
        /// shown on stderr, then the result.
        #[arg(long)]
        task: bool,
        #[command(flatten)]
        server: ServerWithArgs,
    },
    /// List the server's tasks (2025-11-25) that this client may see.
    #[command(after_help = EXIT_CODES)]
    Tasks(ServerArgs),
    /// List the server's resources and resource templates.
    #[command(after_help = EXIT_CODES)]
    Resources(ServerArgs),
    /// Read a resource: `read <URI> <SERVER>`.
    #[command(after_help = EXIT_CODES)]
    Read {
        /// The resource's URI.
        uri: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the server's prompts.
    #[command(after_help = EXIT_CODES)]
    Prompts(ServerArgs),
    /// Get a prompt: `get <PROMPT> [JSON | key=value...] <SERVER>`.
    #[command(after_help = EXIT_CODES)]
    Get {
        /// The prompt's name.
        prompt: String,
        #[command(flatten)]
        server: ServerWithArgs,
    },
    /// List the server's skills (the skills extension); `--load NAME` prints one skill's
    /// SKILL.md once it matches the listing (size, digest, frontmatter).
    #[command(after_help = EXIT_CODES)]
    Skills(skills::SkillsArgs),
    /// Load-test a tool: calls/s and latency percentiles.
    #[command(after_help = EXIT_CODES)]
    Bench(bench::BenchArgs),
    /// Authorize with an OAuth server (opens the browser, or prints the URL) and keep the
    /// tokens for the other commands: `login <URL>`.
    Login(ServerArgs),
    /// Forget the tokens kept for a server: `logout <URL>`.
    Logout(ServerArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// E.g. `mcpwire completions bash > ~/.local/share/bash-completion/completions/mcpwire`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show a recording (MCPWIRE_RECORD=<file>) as a timeline and check that it replays
    /// exactly; exits 3 if it diverges.
    Replay {
        /// The recording.
        file: std::path::PathBuf,
        /// Show when the session said to wait, too.
        #[arg(long)]
        waits: bool,
    },
    /// The client the official MCP conformance suite drives (reads MCP_CONFORMANCE_SCENARIO).
    #[command(hide = true)]
    Conformance {
        /// The scenario's server URL.
        url: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage::report(&e)),
    };
    logging::init(cli.common.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    let common = cli.common;
    let outcome = runtime.block_on(interrupt::or_ctrl_c(async {
        match cli.command {
            Command::Demo => demo::run().await,
            Command::Info(server) => info::info(&common, &server).await,
            Command::Tools(server) => inspect::tools(&common, &server).await,
            Command::Call { tool, task, server } => {
                inspect::call(&common, &tool, task, &server).await
            }
            Command::Tasks(server) => inspect::tasks(&common, &server).await,
            Command::Resources(server) => inspect::resources(&common, &server).await,
            Command::Read { uri, server } => inspect::read(&common, &uri, &server).await,
            Command::Prompts(server) => inspect::prompts(&common, &server).await,
            Command::Get { prompt, server } => inspect::get(&common, &prompt, &server).await,
            Command::Skills(args) => skills::run(&common, &args).await,
            Command::Bench(args) => bench::run(&common, &args).await,
            Command::Login(server) => login::login(&common, &server).await,
            Command::Logout(server) => login::logout(&server),
            Command::Completions { shell } => completions::print(shell, Cli::command()),
            Command::Conformance { url } => conformance::run(&url).await,
            Command::Replay { file, waits } => replay::run(&file, waits),
        }
    }));
    match &outcome {
        // Interrupted while connecting, a stdio server may be starting: the runtime's tasks
        // are dropped before the process exits, and with them the server's process group.
        Err(exit::Failure::Interrupted { closed: false }) => {
            runtime.shutdown_timeout(Duration::from_secs(1))
        }
        // Do not wait for stray tasks (a held stream, a child being shut down) past the
        // answer.
        _ => runtime.shutdown_background(),
    }
    match outcome {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => ExitCode::from(failure.report(common.json)),
    }
}
