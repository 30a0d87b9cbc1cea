//! Progress bars (on stderr, only on a terminal) for calls that report progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, WeakProgressBar};
use mcpwire::{CallOptions, Progress};

use crate::exit::one_line;
use crate::sanitize::{cap, for_terminal};

/// Steps of a bar whose total is known: progress is shown as a fraction of the total.
const SCALE: u64 = 1000;

/// How many characters of a server's progress message are shown.
const MESSAGE_MAX: usize = 200;

/// The bar on screen, if any; held weakly, so that dropping the bar still clears it.
static SHOWN: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

/// Makes `bar` the one [`suspended`] moves out of the way.
pub fn show(bar: &ProgressBar) {
    *SHOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.downgrade());
}

/// Runs `f`, which writes a line to stderr (a log line, a server's stderr), with the bar on
/// screen out of its way: cleared, then drawn again below the line.
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match shown.and_then(|weak| weak.upgrade()) {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// The progress bar of one call, created when the first progress report arrives.
#[derive(Clone)]
pub struct CallProgress {
    inner: Arc<Inner>,
}

struct Inner {
    label: String,
    bar: Mutex<Option<ProgressBar>>,
    reports: AtomicUsize,
    /// Where the bar is drawn: stderr (hidden unless it is a terminal), or a test's.
    target: fn() -> ProgressDrawTarget,
}

impl CallProgress {
    /// A bar labelled `label` (the tool's name), on stderr.
    pub fn new(label: impl Into<String>) -> Self {
        Self::drawn_on(label, ProgressDrawTarget::stderr)
    }

    fn drawn_on(label: impl Into<String>, target: fn() -> ProgressDrawTarget) -> Self {
        CallProgress {
            inner: Arc::new(Inner {
                label: label.into(),
                bar: Mutex::new(None),
                reports: AtomicUsize::new(0),
                target,
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
        let total = progress.total.filter(|t| *t > 0.0);
        let mut new = false;
        let bar = slot.get_or_insert_with(|| {
            new = true;
            // Styled before anything draws it (the first tick draws at once), and cleared
            // when dropped: by Ctrl-C, or a failure, as well as by `finish`.
            let (style, length) = match total {
                Some(_) => (bar_style(), Some(SCALE)),
                None => (spinner_style(), None),
            };
            ProgressBar::with_draw_target(length, (self.inner.target)())
                .with_style(style)
                .with_prefix(for_terminal(&self.inner.label).into_owned())
                .with_finish(ProgressFinish::AndClear)
        });
        bar.set_message(message(progress));
        match total {
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
        if new {
            show(bar);
            bar.enable_steady_tick(Duration::from_millis(100));
        }
    }
}

/// The bar's message: the amount, and the server's message on one line, sanitised and cut
/// at [`MESSAGE_MAX`] characters (indicatif draws it on the terminal as it is).
fn message(progress: &Progress) -> String {
    let amount = match progress.total {
        Some(total) => format!("{}/{}", number(progress.progress), number(total)),
        None => number(progress.progress),
    };
    match &progress.message {
        Some(m) => {
            let m = for_terminal(&one_line(m)).into_owned();
            format!("{amount} {}", cap(&m, MESSAGE_MAX))
        }
        None => amount,
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

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::OnceLock;

    /// What the bar of the first-frame test drew, in order.
    fn drawn() -> &'static Mutex<Vec<String>> {
        static DRAWN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
        DRAWN.get_or_init(Mutex::default)
    }

    /// What the bar of the suspend test drew, and the lines written past it.
    fn suspend_log() -> &'static Mutex<Vec<String>> {
        static LOG: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
        LOG.get_or_init(Mutex::default)
    }

    /// A terminal that records what is drawn on it.
    #[derive(Debug)]
    struct Recorder(&'static Mutex<Vec<String>>);

    impl Recorder {
        fn record(&self, what: String) -> std::io::Result<()> {
            self.0.lock().unwrap().push(what);
            Ok(())
        }
    }

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.record(format!("up {n}"))
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.record(format!("down {n}"))
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.record(format!("line {s}"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.record(format!("str {s}"))
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.record("clear".into())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn recorder() -> ProgressDrawTarget {
        ProgressDrawTarget::term_like(Box::new(Recorder(drawn())))
    }

    /// The tests that draw bars take turns: the bar on screen is global.
    fn one_bar_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        static TURN: Mutex<()> = Mutex::new(());
        TURN.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn suspend_recorder() -> ProgressDrawTarget {
        ProgressDrawTarget::term_like(Box::new(Recorder(suspend_log())))
    }

    #[test]
    fn a_line_written_past_the_bar_moves_it_out_of_the_way() {
        let _turn = one_bar_at_a_time();
        let call = CallProgress::drawn_on("busytool", suspend_recorder);
        call.update(&progress(1.0, Some(2.0), Some("working")));
        suspended(|| suspend_log().lock().unwrap().push("LOG LINE".into()));
        let log = suspend_log().lock().unwrap().clone();
        let at = log.iter().position(|l| l == "LOG LINE").expect("the line");
        // The bar was cleared just before the line, and drawn again after it.
        let before = log[..at].iter().rposition(|l| l.starts_with("str "));
        let cleared = log[..at].iter().rposition(|l| l == "clear");
        assert!(before < cleared, "{log:?}");
        assert!(log[at..].iter().any(|l| l.contains("busytool")), "{log:?}");
        drop(call);
        // With no bar on screen, the line is just written.
        assert_eq!(suspended(|| 7), 7);
    }

    #[test]
    fn the_first_frame_is_styled_and_a_dropped_bar_is_cleared() {
        let _turn = one_bar_at_a_time();
        let call = CallProgress::drawn_on("longtool", recorder);
        call.update(&progress(1.0, Some(4.0), Some("first")));
        std::thread::sleep(Duration::from_millis(250));
        call.update(&progress(2.0, Some(4.0), Some("second")));
        drop(call);
        let drawn = drawn().lock().unwrap().clone();
        let frames: Vec<&String> = drawn
            .iter()
            .filter(|d| d.starts_with("str ") || d.starts_with("line "))
            .filter(|d| d.trim() != "str" && d.trim() != "line")
            .collect();
        assert!(!frames.is_empty(), "{drawn:?}");
        // indicatif's default style is `{wide_bar} {pos}/{len}`: no prefix, no message.
        for frame in &frames {
            assert!(
                frame.contains("longtool") && frame.contains('['),
                "a frame not in the bar's style: {frame:?} of {drawn:?}"
            );
        }
        assert!(frames[0].contains("1/4 first"), "{drawn:?}");
        // The bar's line is cleared last, and nothing is drawn after it.
        let cleared = drawn.iter().rposition(|d| d == "clear").expect("cleared");
        assert!(
            drawn[cleared..].iter().all(|d| !d.starts_with("str ")),
            "{drawn:?}"
        );
    }

    fn progress(progress: f64, total: Option<f64>, message: Option<&str>) -> Progress {
        Progress::new(progress, total, message.map(str::to_owned))
    }

    #[test]
    fn messages_show_the_amount_and_the_servers_words() {
        assert_eq!(message(&progress(3.0, Some(10.0), None)), "3/10");
        assert_eq!(message(&progress(0.5, None, Some("half"))), "0.5 half");
    }

    #[test]
    fn the_servers_message_cannot_drive_the_terminal() {
        let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}fake\r\nOK\u{9b}1A\u{202e}";
        let shown = message(&progress(1.0, Some(2.0), Some(hostile)));
        assert_eq!(
            shown,
            "1/2 \\x1b[2J\\x1b]0;pwned\\x07fake OK\\u{9b}1A\\u{202e}"
        );
        let long = message(&progress(1.0, None, Some(&"x".repeat(10_000))));
        assert!(long.ends_with(&format!("… ({} more bytes)", 10_000 - MESSAGE_MAX)));
        assert!(long.len() < MESSAGE_MAX + 30, "{}", long.len());
    }

    #[test]
    fn numbers_from_the_server_do_not_panic() {
        for n in [f64::NAN, f64::INFINITY, -1.0, 1e300] {
            let _ = message(&progress(n, Some(n), None));
        }
    }
}
