//! Durations given on the command line in seconds (`--timeout`, `bench --duration`).
//!
//! The text is parsed as an `f64` and converted with [`Duration::try_from_secs_f64`], so no
//! input can panic: NaN, infinities, negative numbers, zero and numbers too large for a
//! [`Duration`] are usage errors (clap reports them, exit code 64). A valid duration above
//! [`MAX`] (100 years) is clamped to it, so that adding it to an `Instant` anywhere
//! downstream cannot overflow.

use std::time::Duration;

/// The longest duration the CLI uses: 100 years of 365.25 days. Longer ones are clamped.
pub const MAX: Duration = Duration::from_secs(36_525 * 86_400);

/// Parses a positive number of seconds, e.g. `0.5`, `30` or `1e3`, clamped to [`MAX`].
///
/// Meant as a clap `value_parser`: the error is the reason, which clap shows after
/// `invalid value '...' for '--option <SECS>'`.
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if secs.is_nan() {
        return Err("NaN is not a number of seconds".into());
    }
    if secs.is_infinite() {
        return Err("give a finite number of seconds (at most 100 years are used)".into());
    }
    if secs < 0.0 {
        return Err("a negative number of seconds; give a positive one".into());
    }
    let duration = Duration::try_from_secs_f64(secs)
        .map_err(|_| "too large for a duration (at most 100 years are used)".to_owned())?;
    if duration.is_zero() {
        return Err("give a positive number of seconds (at least one nanosecond)".into());
    }
    Ok(duration.min(MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_seconds_are_durations() {
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_secs("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_secs(" 1e3 "), Ok(Duration::from_secs(1000)));
        assert_eq!(parse_secs("+2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_secs("1e-9"), Ok(Duration::from_nanos(1)));
    }

    #[test]
    fn max_is_100_years() {
        assert_eq!(MAX.as_secs(), 3_155_760_000);
        assert_eq!(MAX.as_secs_f64() / (365.25 * 86_400.0), 100.0);
    }

    #[test]
    fn long_durations_are_clamped_to_100_years() {
        // 1e19 s fits in a Duration (u64 seconds) but overflows `Instant + Duration`.
        assert_eq!(parse_secs("1e19"), Ok(MAX));
        assert_eq!(parse_secs("1e10"), Ok(MAX));
        assert_eq!(parse_secs("3155760000"), Ok(MAX));
        assert_eq!(
            parse_secs("3155759999"),
            Ok(Duration::from_secs(3_155_759_999))
        );
        // Nothing downstream can overflow with the longest duration.
        assert!(std::time::Instant::now().checked_add(MAX).is_some());
    }

    #[test]
    fn what_is_not_a_positive_finite_duration_is_refused() {
        for text in [
            "inf",
            "-inf",
            "infinity",
            "+inf",
            "nan",
            "NaN",
            "-1",
            "-0.5",
            "-1e19",
            "0",
            "0.0",
            "-0",
            "1e-12",
            "1e20",
            "1.8446744073709552e19",
            "1e309",
            "",
            "abc",
            "1s",
            "0x10",
        ] {
            assert!(parse_secs(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn refusals_say_why() {
        assert!(parse_secs("nan").unwrap_err().contains("NaN"));
        assert!(parse_secs("inf").unwrap_err().contains("finite"));
        assert!(parse_secs("-1").unwrap_err().contains("negative"));
        assert!(parse_secs("1e20").unwrap_err().contains("too large"));
        assert!(parse_secs("0").unwrap_err().contains("positive"));
        assert!(parse_secs("ten").unwrap_err().contains("not a number"));
    }
}
