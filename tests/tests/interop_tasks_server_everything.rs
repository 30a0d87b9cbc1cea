//! Tasks (2025-11-25) against a real server nobody here wrote: server-everything's
//! `simulate-research-query`, which runs as a task through four one-second stages, under tokio
//! and smol: run to completion (the statuses seen, the report as the result), cancelled by
//! dropping the call (`tasks/cancel`; the server then says `cancelled`), and `input_required`
//! (its clarifying elicitation arrives on `tasks/result`, the handler answers it, the report
//! uses the answer).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpwire::runtime::Runtime;
use mcpwire::schema::{ElicitResult, TaskStatus};
use mcpwire::{CallOptions, Client};
use mcpwire_tests::npm::ServerEverythingHttp;
use mcpwire_tests::on_both_runtimes;
use serde_json::{json, Map, Value};

on_both_runtimes! {
    a_research_task_runs_to_completion_with_its_statuses => completes;
    a_task_dropped_by_the_caller_is_cancelled_on_the_server => cancelled;
    an_ambiguous_task_asks_through_tasks_result_and_uses_the_answer => input_required;
}

async fn connect(runtime: Arc<dyn Runtime>, server: &ServerEverythingHttp) -> Client {
    Client::builder()
        .on_elicitation(|params: mcpwire::schema::ElicitParams| async move {
            let _ = params;
            let mut content = Map::new();
            content.insert("interpretation".into(), json!("the programming language"));
            Ok::<_, mcpwire::HandlerError>(ElicitResult::accept(content))
        })
        .connect_with(runtime, server.url.as_str())
        .await
        .expect("connect to server-everything")
}

type Seen = Arc<Mutex<Vec<(String, TaskStatus, Option<String>)>>>;

fn watching(seen: &Seen) -> CallOptions {
    let seen = seen.clone();
    CallOptions::new()
        .as_task(Some(Duration::from_secs(120)))
        .timeout(Duration::from_secs(50))
        .on_task_status(move |t| {
            let entry = (t.task_id.clone(), t.status, t.status_message.clone());
            seen.lock().unwrap().push(entry)
        })
}

fn text(result: &mcpwire::schema::CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn completes(runtime: Arc<dyn Runtime>) {
    let server = ServerEverythingHttp::start();
    let client = connect(runtime, &server).await;
    let seen: Seen = Arc::default();
    let result = client
        .call_tool("simulate-research-query", json!({"topic": "tasks"}))
        .options(watching(&seen))
        .await
        .expect("the task's result");
    assert!(!result.is_error(), "{result:?}");
    assert!(
        text(&result).contains("Research Report"),
        "{}",
        text(&result)
    );
    let seen = seen.lock().unwrap().clone();
    let statuses: Vec<TaskStatus> = seen.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(statuses.first(), Some(&TaskStatus::Working), "{seen:?}");
    assert_eq!(statuses.last(), Some(&TaskStatus::Completed), "{seen:?}");
    assert!(seen.iter().all(|(id, ..)| *id == seen[0].0), "one task");
    // The stages, as the server reported them (polls and its status notifications).
    let stages = seen
        .iter()
        .filter(|(_, s, m)| *s == TaskStatus::Working && m.is_some())
        .count();
    assert!(stages >= 3, "the stages' messages: {seen:?}");
    client.close().await;
}

async fn cancelled(runtime: Arc<dyn Runtime>) {
    let server = ServerEverythingHttp::start();
    let client = connect(runtime.clone(), &server).await;
    let seen: Seen = Arc::default();
    {
        let call = client
            .call_tool("simulate-research-query", json!({"topic": "cancel me"}))
            .options(watching(&seen));
        // Until the task exists, then the caller goes away.
        let created = async {
            while seen.lock().unwrap().is_empty() {
                mcpwire_tests::sleep(&*runtime, Duration::from_millis(20)).await;
            }
        };
        futures_lite::future::or(async { drop(call.await) }, created).await;
    }
    let task_id = seen.lock().unwrap()[0].0.clone();
    // The server was told: the task is cancelled there.
    let mut status = Value::Null;
    for _ in 0..50 {
        let raw = client
            .request_raw(
                "tasks/get",
                Some(json!({"taskId": task_id})),
                CallOptions::new(),
            )
            .await
            .expect("tasks/get");
        status = serde_json::from_str::<Value>(raw.get()).unwrap()["status"].clone();
        if status == "cancelled" {
            break;
        }
        mcpwire_tests::sleep(&*runtime, Duration::from_millis(50)).await;
    }
    assert_eq!(status, "cancelled");
    client.close().await;
}

async fn input_required(runtime: Arc<dyn Runtime>) {
    let server = ServerEverythingHttp::start();
    let client = connect(runtime, &server).await;
    let seen: Seen = Arc::default();
    let result = client
        .call_tool(
            "simulate-research-query",
            json!({"topic": "rust", "ambiguous": true}),
        )
        .options(watching(&seen))
        .await
        .expect("the task's result");
    assert!(
        text(&result).contains("the programming language"),
        "the report uses the handler's answer: {}",
        text(&result)
    );
    let statuses: Vec<TaskStatus> = seen.lock().unwrap().iter().map(|(_, s, _)| *s).collect();
    assert!(
        statuses.contains(&TaskStatus::InputRequired),
        "{statuses:?}"
    );
    client.close().await;
}
