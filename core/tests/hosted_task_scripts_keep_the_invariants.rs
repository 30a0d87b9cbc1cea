//! Property tests of the tasks the client hosts (2025-11-25): a server creates tasks (asking
//! any TTL), asks `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` of known,
//! ended, expired and unknown tasks, while the application answers (small, large and failed
//! answers, twice, late) and time passes at random, under small limits. Against a model of
//! each task, whatever the script:
//!
//! 1. every server request is answered at most once; the request that created a task gets
//!    its `CreateTaskResult` (or a -32603 refusal) at once, and never a second answer (the
//!    application's answer is the task's result, never a response);
//! 2. `tasks/get`, `tasks/list`, `tasks/cancel` are answered at once, with the status the
//!    model says (an unknown or expired task, or the cancel of an ended one: -32602);
//! 3. a `tasks/result` is answered at once when its task has ended, else exactly when it ends
//!    (the handler's answer, the cancel, the TTL), and never waits past the TTL;
//! 4. the tasks kept never pass `max_hosted_tasks`, and the bytes held stay within
//!    `max_hosted_task_bytes` (plus each task's own small entry);
//! 5. once every TTL has passed, nothing is kept and no timer is left.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use mcpwire_core::jsonrpc::{ErrorObject, Id};
use mcpwire_core::{Event, HostedTasks, Input, Output, Policy, Transmit};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::*;

const MAX_TASKS: usize = 4;
const MAX_BYTES: usize = 6 << 10;
const MAX_TTL: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
enum Op {
    /// The server creates a task, asking this TTL (ms) or none.
    Create(Option<u16>),
    /// `tasks/get` of task `n` (an index into those created; past them: an unknown id).
    Get(u8),
    Result(u8),
    Cancel(u8),
    List,
    /// The application answers task `n`'s request: a result of this size, or an error.
    Answer(u8, Answer),
    /// Time passes (ms).
    Advance(u16),
}

#[derive(Clone, Copy, Debug)]
enum Answer {
    Small,
    Large,
    Huge,
    Error,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => proptest::option::of(0u16..30_000).prop_map(Op::Create),
        2 => any::<u8>().prop_map(|n| Op::Get(n % 8)),
        3 => any::<u8>().prop_map(|n| Op::Result(n % 8)),
        1 => any::<u8>().prop_map(|n| Op::Cancel(n % 8)),
        1 => Just(Op::List),
        3 => (any::<u8>(), prop_oneof![
            3 => Just(Answer::Small), 1 => Just(Answer::Large),
            1 => Just(Answer::Huge), 1 => Just(Answer::Error)
        ]).prop_map(|(n, a)| Op::Answer(n % 8, a)),
        3 => (0u16..8_000).prop_map(Op::Advance),
    ]
}

/// What the model knows of a task.
#[derive(Clone, Debug, PartialEq)]
enum State {
    Working,
    /// Answered: `completed` or `failed` (a result over the limit), or an error: `failed`.
    Ended {
        ok: bool,
    },
    Cancelled,
}

#[derive(Debug)]
struct Model {
    task_id: String,
    /// The id the application got the request with.
    handle: Id,
    expires: Instant,
    state: State,
    waiters: BTreeSet<i64>,
    /// What `tasks/get` said once it ended (`completed` or `failed`), to hold it to that.
    ended_as: Option<String>,
    /// Its TTL passed (and what that does was checked).
    gone: bool,
}

struct Run {
    h: Harness,
    next_id: i64,
    tasks: Vec<Model>,
    answered: BTreeSet<i64>,
    baseline: usize,
}

impl Run {
    fn new() -> Run {
        let policy = Policy::default()
            .with_max_hosted_tasks(MAX_TASKS)
            .with_max_hosted_task_bytes(MAX_BYTES)
            .with_max_hosted_task_ttl(MAX_TTL);
        let mut config = legacy()
            .with_policy(policy)
            .with_hosted_tasks(HostedTasks::new(
                Duration::from_secs(1_800_000_000),
                [3; 32],
            ));
        config.capabilities = config.capabilities.with_elicitation();
        let mut h = Harness::stdio_with(config);
        h.ready_stdio();
        let mut run = Run {
            h,
            next_id: 1,
            tasks: Vec::new(),
            answered: BTreeSet::new(),
            baseline: 0,
        };
        run.drain();
        run.baseline = run.h.session.retained_bytes();
        run
    }

    /// Everything written to stdin since the last time (reported as read), as
    /// `id → message`, each id checked to be answered once only; and the events.
    fn drain(&mut self) -> (BTreeMap<i64, Value>, Vec<Event>) {
        let mut answers = BTreeMap::new();
        let mut events = Vec::new();
        for o in self.h.take() {
            match o {
                Output::Transmit(Transmit::Stdin(bytes)) => {
                    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        let m: Value = serde_json::from_slice(line).unwrap();
                        let id = m["id"].as_i64().expect("only answers are sent");
                        assert!(self.answered.insert(id), "request {id} answered twice: {m}");
                        answers.insert(id, m);
                    }
                    let n = bytes.len();
                    self.h
                        .session
                        .handle_input(self.h.now, Input::StdinWritten { bytes: n });
                }
                Output::Event(e) => events.push(e),
                _ => {}
            }
        }
        (answers, events)
    }

    fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.h.stdout(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        id
    }

    fn task_of(&self, n: u8) -> String {
        match self.tasks.get(n as usize) {
            Some(t) => t.task_id.clone(),
            None => format!("{:032x}", n),
        }
    }

    /// The model's task for `n`, if it is still kept.
    fn kept(&self, n: u8) -> Option<usize> {
        let now = self.h.now;
        self.tasks
            .get(n as usize)
            .filter(|t| now < t.expires)
            .map(|_| n as usize)
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Create(ttl) => self.create(ttl),
            Op::Get(n) => {
                let id = self.send("tasks/get", json!({"taskId": self.task_of(n)}));
                let (answers, events) = self.drain();
                assert!(events.is_empty(), "{events:?}");
                let a = &answers[&id];
                match self.kept(n) {
                    None => assert_eq!(a["error"]["code"], ErrorObject::INVALID_PARAMS, "{a}"),
                    Some(i) => {
                        let status = a["result"]["status"].as_str().unwrap().to_owned();
                        let t = &mut self.tasks[i];
                        match &t.state {
                            State::Working => assert_eq!(status, "working"),
                            State::Cancelled => assert_eq!(status, "cancelled"),
                            State::Ended { ok: false } => assert_eq!(status, "failed"),
                            State::Ended { ok: true } => {
                                assert!(status == "completed" || status == "failed", "{a}");
                                let seen = t.ended_as.get_or_insert(status.clone());
                                assert_eq!(*seen, status, "terminal is terminal");
                            }
                        }
                    }
                }
            }
            Op::Result(n) => {
                let id = self.send("tasks/result", json!({"taskId": self.task_of(n)}));
                let (answers, events) = self.drain();
                assert!(events.is_empty(), "{events:?}");
                match self.kept(n) {
                    None => {
                        assert_eq!(answers[&id]["error"]["code"], ErrorObject::INVALID_PARAMS)
                    }
                    Some(i) => {
                        let t = &mut self.tasks[i];
                        match (&t.state, answers.get(&id)) {
                            (State::Working, None) => {
                                assert!(t.waiters.len() < 4, "at most 4 wait");
                                t.waiters.insert(id);
                            }
                            (State::Working, Some(a)) => {
                                // Refused: too many waiting, or no room for its id.
                                assert_eq!(a["error"]["code"], ErrorObject::INTERNAL_ERROR, "{a}");
                            }
                            (_, None) => panic!("tasks/result of an ended task waits"),
                            (_, Some(a)) => check_result(t, a),
                        }
                    }
                }
            }
            Op::Cancel(n) => {
                let id = self.send("tasks/cancel", json!({"taskId": self.task_of(n)}));
                let (answers, events) = self.drain();
                match self.kept(n) {
                    None => {
                        assert_eq!(answers[&id]["error"]["code"], ErrorObject::INVALID_PARAMS);
                        assert!(events.is_empty());
                    }
                    Some(i) => {
                        let t = &mut self.tasks[i];
                        if t.state != State::Working {
                            assert_eq!(answers[&id]["error"]["code"], ErrorObject::INVALID_PARAMS);
                            assert!(events.is_empty());
                            return;
                        }
                        assert_eq!(answers[&id]["result"]["status"], "cancelled");
                        let mut expected = std::mem::take(&mut t.waiters);
                        for w in &expected {
                            assert!(answers[w]["error"].is_object(), "{answers:?}");
                        }
                        expected.insert(id);
                        assert_eq!(answers.keys().copied().collect::<BTreeSet<_>>(), expected);
                        assert!(
                            matches!(&events[..], [Event::RequestWithdrawn { id }]
                                if *id == t.handle),
                            "{events:?}"
                        );
                        t.state = State::Cancelled;
                    }
                }
            }
            Op::List => {
                let id = self.send("tasks/list", json!({}));
                let (answers, _) = self.drain();
                let listed = answers[&id]["result"]["tasks"].as_array().unwrap().len();
                let now = self.h.now;
                let kept = self.tasks.iter().filter(|t| now < t.expires).count();
                assert_eq!(listed, kept);
                assert_eq!(kept, self.h.session.hosted_tasks());
            }
            Op::Answer(n, kind) => {
                let Some(t) = self.tasks.get(n as usize) else {
                    return;
                };
                let handle = t.handle.clone();
                let result = match kind {
                    Answer::Small => Ok(json!({"action": "accept", "content": {"n": "x"}})),
                    Answer::Large => {
                        Ok(json!({"action": "accept", "content": {"n": "x".repeat(2_000)}}))
                    }
                    Answer::Huge => {
                        Ok(json!({"action": "accept", "content": {"n": "x".repeat(20_000)}}))
                    }
                    Answer::Error => Err(ErrorObject::new(-7, "no")),
                };
                let ok = result.is_ok();
                self.h.session.respond(handle, result).unwrap();
                let (answers, events) = self.drain();
                assert!(events.is_empty(), "{events:?}");
                let kept = self.kept(n);
                let t = &mut self.tasks[n as usize];
                if kept.is_none() || t.state != State::Working {
                    assert!(
                        answers.is_empty(),
                        "an answer for no task is dropped: {answers:?}"
                    );
                    return;
                }
                t.state = State::Ended { ok };
                let waiters = std::mem::take(&mut t.waiters);
                assert_eq!(
                    answers.keys().copied().collect::<BTreeSet<_>>(),
                    waiters,
                    "exactly the waiting tasks/result are answered"
                );
                for a in answers.values() {
                    check_result(t, a);
                }
            }
            Op::Advance(ms) => {
                self.h.advance(Duration::from_millis(u64::from(ms)));
                let (answers, events) = self.drain();
                let now = self.h.now;
                let mut expected = BTreeSet::new();
                let mut withdrawn = Vec::new();
                for t in self
                    .tasks
                    .iter_mut()
                    .filter(|t| !t.gone && now >= t.expires)
                {
                    t.gone = true;
                    {
                        expected.extend(std::mem::take(&mut t.waiters));
                        if t.state == State::Working {
                            withdrawn.push(t.handle.clone());
                            t.state = State::Cancelled;
                        }
                    }
                }
                assert_eq!(answers.keys().copied().collect::<BTreeSet<_>>(), expected);
                for a in answers.values() {
                    assert_eq!(a["error"]["code"], ErrorObject::INVALID_PARAMS, "{a}");
                }
                let mut got: Vec<Id> = events
                    .iter()
                    .map(|e| match e {
                        Event::RequestWithdrawn { id } => id.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                got.sort();
                withdrawn.sort();
                assert_eq!(got, withdrawn);
            }
        }
    }

    fn create(&mut self, ttl: Option<u16>) {
        let task = match ttl {
            Some(ms) => json!({ "ttl": ms }),
            None => json!({}),
        };
        let id = self.send(
            "elicitation/create",
            json!({"message": "?", "requestedSchema": {"type": "object"}, "task": task}),
        );
        let (answers, events) = self.drain();
        let a = &answers[&id];
        let now = self.h.now;
        let kept = self.tasks.iter().filter(|t| now < t.expires).count();
        if kept >= MAX_TASKS {
            assert_eq!(a["error"]["code"], ErrorObject::INTERNAL_ERROR, "{a}");
        }
        if a.get("error").is_some() {
            assert_eq!(a["error"]["code"], ErrorObject::INTERNAL_ERROR, "{a}");
            assert!(events.is_empty());
            return;
        }
        assert!(kept < MAX_TASKS, "a task over the count limit: {a}");
        assert!(
            a["result"]["task"].is_object(),
            "with {kept} kept, a task is made or refused: {a}"
        );
        let handle = match &events[..] {
            [Event::Request { id: handle, .. }] => handle.clone(),
            other => panic!("{other:?}"),
        };
        assert_ne!(
            handle,
            Id::Number(id),
            "the task's own id, not the server's"
        );
        let task = &a["result"]["task"];
        assert_eq!(task["status"], "working");
        let granted = ttl.map_or(MAX_TTL, |ms| {
            Duration::from_millis(u64::from(ms)).clamp(Duration::from_secs(1), MAX_TTL)
        });
        assert_eq!(task["ttl"], granted.as_millis() as u64);
        self.tasks.push(Model {
            task_id: task["taskId"].as_str().unwrap().to_owned(),
            handle,
            expires: now + granted,
            state: State::Working,
            waiters: BTreeSet::new(),
            ended_as: None,
            gone: false,
        });
    }

    fn check_bounds(&self) {
        assert!(self.h.session.hosted_tasks() <= MAX_TASKS);
        let held = self
            .h
            .session
            .retained_bytes()
            .saturating_sub(self.baseline);
        let bound = MAX_BYTES + MAX_TASKS * 1024;
        assert!(held <= bound, "{held} bytes held, over {bound}");
    }
}

/// A `tasks/result` answer of an ended task `t`.
fn check_result(t: &Model, a: &Value) {
    match t.state {
        State::Ended { ok: true } => match a.get("result") {
            Some(r) => assert_eq!(
                r["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
                t.task_id.as_str()
            ),
            None => assert_eq!(a["error"]["code"], ErrorObject::INTERNAL_ERROR, "{a}"),
        },
        State::Ended { ok: false } => assert_eq!(a["error"]["code"], -7, "{a}"),
        State::Cancelled => assert!(a["error"].is_object(), "{a}"),
        State::Working => panic!("not ended"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hosted_task_scripts_keep_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op);
            run.check_bounds();
        }
        // Every TTL passes: the waiting tasks/result are answered, nothing is kept.
        run.step(&Op::Advance(20_000));
        run.step(&Op::Advance(1));
        for t in &run.tasks {
            assert!(t.waiters.is_empty(), "{t:?}");
        }
        assert_eq!(run.h.session.hosted_tasks(), 0);
        assert_eq!(run.h.session.poll_timeout(), None, "no timer left");
    }
}
