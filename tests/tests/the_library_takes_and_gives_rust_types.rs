//! What a Rust user writes, over a real socket under both runtimes: arguments as any
//! `Serialize` type, per-call options that do not change them, a result's text and its
//! structured content as the user's type.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::schema::StructuredError;
use mcpwire::{Client, ConfigError, Error};
use mcpwire_tests::on_both_runtimes;
use mcpwire_testserver::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

on_both_runtimes! {
    a_derived_struct_is_a_tools_arguments_and_the_result_comes_back_typed => typed_call;
    arguments_that_are_not_an_object_fail_typed_and_send_nothing => not_an_object;
    per_call_options_do_not_change_the_arguments => options;
    a_prompts_arguments_are_any_serializable_object => prompt;
}

#[derive(Serialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Sum {
    sum: i64,
}

async fn typed_call(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let result = client.call_tool("add", Add { a: 2, b: 40 }).await.unwrap();
    assert_eq!(result.text(), "42");
    assert_eq!(result.structured::<Sum>().unwrap(), Sum { sum: 42 });

    // The old ways still work: a `Value`, and no arguments at all.
    let echo = client
        .call_tool("echo", json!({ "message": "hi" }))
        .await
        .unwrap();
    assert_eq!(echo.text(), "hi");
    assert!(matches!(
        echo.structured::<Sum>(),
        Err(StructuredError::Absent)
    ));
    let fail = client.call_tool("fail", ()).await.unwrap();
    assert!(fail.is_error());
    // A structured result that is not the type asked for.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        total: String,
    }
    let err = result.structured::<Wrong>().unwrap_err();
    assert!(matches!(err, StructuredError::Invalid(_)), "{err:?}");
}

async fn not_an_object(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    let before = server.stats().posts;
    for err in [
        client.call_tool("echo", "secret-value").await.unwrap_err(),
        client.call_tool("echo", vec![1, 2]).await.unwrap_err(),
        client.call_tool("echo", 7).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::Config(ConfigError::InvalidArguments(_))),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secret-value"), "{err}");
    }
    assert_eq!(server.stats().posts, before, "nothing was sent");
    // The session is fine afterwards.
    client.ping().await.unwrap();
}

async fn options(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    #[derive(Serialize)]
    struct Slow {
        steps: u32,
        ms: u32,
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = seen.clone();
    let done = client
        .call_tool("slow", Slow { steps: 3, ms: 20 })
        .timeout(Duration::from_secs(5))
        .on_progress(move |p| progress.lock().unwrap().push(p.progress))
        .await
        .unwrap();
    assert_eq!(done.text(), "done after 3 steps");
    assert_eq!(*seen.lock().unwrap(), vec![1.0, 2.0, 3.0]);

    let err = client
        .call_tool("slow", Slow { steps: 1, ms: 2000 })
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

async fn prompt(runtime: Arc<dyn Runtime>) {
    let server = TestServer::builder().no_get_stream().start_in_thread();
    let client = Client::builder()
        .connect_with(runtime, server.url().as_str())
        .await
        .unwrap();
    #[derive(Serialize)]
    struct Greet<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        unused: Option<u8>,
    }
    let got = client
        .get_prompt(
            "greet",
            Greet {
                name: "Ada",
                unused: None,
            },
        )
        .await
        .unwrap();
    let text = serde_json::to_value(&got.messages[0].content).unwrap();
    assert_eq!(text["text"], "Please greet Ada.");
    // A map as before, and none.
    let mut map = std::collections::BTreeMap::new();
    map.insert("name".to_owned(), "Bo".to_owned());
    let got = client.get_prompt("greet", map).await.unwrap();
    assert_eq!(
        serde_json::to_value(&got.messages[0].content).unwrap()["text"],
        "Please greet Bo."
    );
    client.get_prompt("greet", ()).await.unwrap();
    let err = client
        .get_prompt("greet", json!({ "name": ["a", "list"] }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::InvalidArguments(_))),
        "{err:?}"
    );
}
