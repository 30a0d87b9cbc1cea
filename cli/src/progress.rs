//! Progress bars (on stderr, only on a terminal) for calls that report progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcpwire::{CallOptions, Progress};

/// Steps of a bar whose total is known: progress is shown as a fraction of the total.
const SCALE: u64 = 1000;

/// The progress bar of one call, created when the first progress report arrives.
#[derive(Clone)]
pub struct CallProgress {
    inner: Arc<Inner>,
}

struct Inner {
    label: String,
    bar: Mutex<Option<ProgressBar>>,
    reports: AtomicUsize,
}

impl CallProgress {
    /// A bar labelled `label` (the tool's name).
    pub fn new(label: impl Into<String>) -> Self {
        CallProgress {
            inner: Arc::new(Inner {
                label: label.into(),
                bar: Mutex::new(None),
                reports: AtomicUsize::new(0),
            }),
        }
    }

    /// `options`, asking the server for progress and drawing it.
    pub fn options(&self, options: CallOptions) -> CallOptions {
        let me = self.clone();
        options.on_progress(move |progress| me.update(&progress))
    }

    /// How many progress reports arrived.
    pub fn reports(&self) -> usize {
        self.inner.reports.load(Ordering::Relaxed)
    }

    /// Removes the bar (the call is over).
    pub fn finish(&self) {
        if let Some(bar) = self.lock().take() {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.inner.bar.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, progress: &Progress) {
        self.inner.reports.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.lock();
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_prefix(self.inner.label.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let amount = match progress.total {
            Some(total) => format!("{}/{}", number(progress.progress), number(total)),
            None => number(progress.progress),
        };
        let message = match &progress.message {
            Some(m) => format!("{amount} {m}"),
            None => amount,
        };
        match progress.total.filter(|t| *t > 0.0) {
            Some(total) => {
                if bar.length() != Some(SCALE) {
                    bar.set_style(bar_style());
                    bar.set_length(SCALE);
                }
                let fraction = (progress.progress / total).clamp(0.0, 1.0);
                bar.set_position((fraction * SCALE as f64) as u64);
            }
            None => bar.set_style(spinner_style()),
        }
        bar.set_message(message);
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.green} {prefix:.bold} [{bar:30.cyan/blue}] {msg}")
        .expect("a valid template")
        .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.green} {prefix:.bold} {msg}").expect("a valid template")
}

/// A progress number without a useless `.0`.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
