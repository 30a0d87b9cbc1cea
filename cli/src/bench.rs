//! `mcpwire bench`: N workers call one tool as fast as the server answers, for a while, over
//! one session; then calls/s and latency percentiles.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use mcpwire::schema::CallToolParams;
use mcpwire::{CallOptions, Client, Error};
use serde_json::json;

use crate::connect::{connect_with, describe, ServerArgs};
use crate::exit::{after_output, kind_of, one_line, Failure};
use crate::inspect::tool_arguments;
use crate::sanitize::error_line;
use crate::{print, Common};

/// `mcpwire bench <SERVER> --tool NAME [--args JSON] [--concurrency N] [--duration SECS]`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The tool to call.
    #[arg(long)]
    tool: String,
    /// Its arguments, as one JSON object.
    #[arg(long, default_value = "{}", value_name = "JSON")]
    args: String,
    /// How many calls are in flight at once.
    #[arg(long, short = 'c', default_value_t = 8, value_name = "N")]
    concurrency: usize,
    /// How long to run, in seconds; more than 100 years is taken as 100 years.
    #[arg(
        long,
        short = 'd',
        default_value = "10",
        value_name = "SECS",
        value_parser = crate::duration::parse_secs,
        allow_negative_numbers = true
    )]
    duration: Duration,
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    /// Latency of every answered call (`isError` results included).
    latencies: Vec<Duration>,
    /// Calls answered with `isError: true`.
    tool_errors: u64,
    /// Failed calls by error, with the first error of each kind.
    errors: BTreeMap<String, u64>,
    first_error: Option<Error>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.tool_errors += other.tool_errors;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Runs the benchmark.
pub async fn run(common: &Common, args: &BenchArgs) -> Result<(), Failure> {
    let target = args.server.target()?;
    let arguments = tool_arguments(std::slice::from_ref(&args.args))?;
    if args.concurrency == 0 {
        return Err(Failure::Usage("--concurrency must be at least 1".into()));
    }
    let duration = args.duration;
    let name = describe(&target.target);
    let connection = connect_with(common, target, mcpwire::NoHandler).await?;
    let client = connection.client.clone();
    let params = CallToolParams::new(args.tool.as_str(), arguments);

    let done = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(duration);
    let started = Instant::now();
    let end = started + duration;
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(client.clone(), params.clone(), end, done.clone())))
        .collect();
    while Instant::now() < end && client.session_error().is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bar.set_position(started.elapsed().as_millis() as u64);
        bar.set_message(format!("{} calls", done.load(Ordering::Relaxed)));
    }
    let mut tally = Tally::default();
    for worker in workers {
        if let Ok(t) = worker.await {
            tally.merge(t);
        }
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    connection.client.close().await;
    let written = report(common, args, &name, elapsed, &mut tally);
    // Every call failed (none answered without isError): the first error says why, else
    // the tool's isError does (exit 1).
    let succeeded = tally.latencies.len() as u64 - tally.tool_errors;
    let outcome = match tally.first_error {
        _ if succeeded > 0 => Ok(()),
        Some(error) => {
            let failure = connection.failure(format!("tools/call {}", args.tool), error);
            Err(connection.explain(failure).await)
        }
        None if tally.tool_errors > 0 => Err(Failure::ToolError(args.tool.clone())),
        None => Ok(()),
    };
    after_output(written, outcome)
}

async fn worker(
    client: Client,
    params: CallToolParams,
    end: Instant,
    done: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < end {
        let start = Instant::now();
        match client
            .call_tool_with(params.clone(), CallOptions::new())
            .await
        {
            Ok(result) => {
                tally.latencies.push(start.elapsed());
                if result.is_error() {
                    tally.tool_errors += 1;
                }
            }
            Err(error) => {
                let key = format!("{}: {}", kind_of(&error), one_line(&error.to_string()));
                *tally.errors.entry(key).or_default() += 1;
                tally.first_error.get_or_insert(error);
                // After a session-fatal error every call fails at once: stop.
                if client.session_error().is_some() {
                    break;
                }
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    tally
}

fn progress_bar(duration: Duration) -> ProgressBar {
    // Cleared when dropped too (by Ctrl-C).
    let bar = ProgressBar::with_draw_target(
        Some(duration.as_millis() as u64),
        ProgressDrawTarget::stderr(),
    )
    .with_style(
        ProgressStyle::with_template("{spinner:.green} bench [{bar:30.cyan/blue}] {elapsed} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    )
    .with_finish(ProgressFinish::AndClear);
    crate::progress::show(&bar);
    bar
}

/// Prints the report; an error if stdout could not be written.
fn report(
    common: &Common,
    args: &BenchArgs,
    server: &str,
    elapsed: Duration,
    tally: &mut Tally,
) -> io::Result<()> {
    tally.latencies.sort_unstable();
    let answered = tally.latencies.len() as u64;
    let failed: u64 = tally.errors.values().sum();
    let rate = answered as f64 / elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| percentile(&tally.latencies, q).map(ms);
    if common.json {
        let errors: BTreeMap<_, _> = tally.errors.iter().collect();
        return print::json(&json!({
            "server": server,
            "tool": args.tool,
            "concurrency": args.concurrency,
            "seconds": elapsed.as_secs_f64(),
            "calls": answered,
            "callsPerSecond": rate,
            "toolErrors": tally.tool_errors,
            "failed": failed,
            "errors": errors,
            "latencyMs": {"p50": p(0.50), "p90": p(0.90), "p99": p(0.99), "max": p(1.0)},
        }));
    }
    print::out(&format!(
        "{} calls to {} in {:.2} s with {} in flight ({server})",
        answered,
        args.tool,
        elapsed.as_secs_f64(),
        args.concurrency
    ))?;
    print::out(&format!("  calls/s  {rate:.1}"))?;
    let show = |q: f64| p(q).map_or("-".to_owned(), |v| format!("{v:.2} ms"));
    print::out(&format!(
        "  latency  p50 {}  p90 {}  p99 {}  max {}",
        show(0.50),
        show(0.90),
        show(0.99),
        show(1.0)
    ))?;
    if tally.tool_errors > 0 {
        print::out(&format!("  isError  {}", tally.tool_errors))?;
    }
    if failed > 0 {
        print::out(&format!("  failed   {failed}"))?;
        for (error, n) in &tally.errors {
            print::out(&error_line(&format!("    {n} × {error}")))?;
        }
    }
    Ok(())
}

/// The `q` quantile of sorted samples (nearest rank).
fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&samples, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(
            percentile(&samples[..1], 0.5),
            Some(Duration::from_millis(1))
        );
        assert_eq!(percentile(&[], 0.5), None);
    }
}
