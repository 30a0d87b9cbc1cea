//! The `mcpwire` command (placeholder until the CLI lands).
fn main() {
    eprintln!("mcpwire: the command line is not built yet");
    std::process::exit(2);
}
