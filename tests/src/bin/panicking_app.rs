//! An application that panics with a client connected to a stdio server: started as
//! `panicking_app <tokio|smol> <pid file> <stdio_fixture path>`, it runs the server through a
//! shell that does not `exec` it (like `npx`), with the server ignoring SIGTERM and stdin's
//! end; it calls a tool, then panics with the client alive. The test checks the server does
//! not outlive it.

use std::sync::Arc;

use mcpwire::runtime::{Runtime, Smol, Tokio};
use mcpwire::{Client, Target};
use serde_json::json;

async fn connect_then_panic(runtime: Arc<dyn Runtime>, pid_file: &str, fixture: &str) {
    let server = format!("trap '' TERM; echo $$ > {pid_file}; exec {fixture} --stubborn");
    let script = format!("sh -c \"{server}\"; exit $?");
    let client = Client::builder()
        .connect_with(runtime, Target::stdio("sh", ["-c", &script]))
        .await
        .expect("connect");
    client.call_tool("echo", json!({})).await.expect("a call");
    let _alive = client;
    panic!("the application panics with its client connected");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runtime, pid_file, fixture] = &args[..] else {
        eprintln!("usage: panicking_app <tokio|smol> <pid file> <stdio_fixture>");
        std::process::exit(64);
    };
    match runtime.as_str() {
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                connect_then_panic(Arc::new(Tokio::current()), pid_file, fixture).await
            });
        }
        _ => smol::block_on(connect_then_panic(Arc::new(Smol), pid_file, fixture)),
    }
}
