//! W3C Trace Context (`traceparent`, `tracestate`) for a request's `params._meta`, as SEP-414
//! places them: root keys of `_meta`, the values of the W3C headers.

use std::fmt;

/// The most bytes of `tracestate` carried (W3C Trace Context §3.3.1.1 asks that at least 512
/// be propagated; a longer one is dropped whole rather than cut mid-member).
pub const MAX_TRACESTATE: usize = 512;

/// A request's trace context: a `traceparent` checked to be one, and a `tracestate`.
#[derive(Clone, PartialEq, Eq)]
pub struct TraceContext {
    traceparent: String,
    tracestate: Option<String>,
}

/// Why a `traceparent` is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTraceparent(pub String);

impl fmt::Display for InvalidTraceparent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a W3C traceparent: {}", self.0)
    }
}

impl std::error::Error for InvalidTraceparent {}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl TraceContext {
    /// The context of `traceparent` (`00-<32 hex trace id>-<16 hex parent id>-<2 hex
    /// flags>`, lowercase, neither id all zeros), with `tracestate` if it is visible ASCII of
    /// at most [`MAX_TRACESTATE`] bytes (else without it).
    pub fn new(
        traceparent: &str,
        tracestate: Option<&str>,
    ) -> Result<TraceContext, InvalidTraceparent> {
        let bad = |why: &str| Err(InvalidTraceparent(why.to_owned()));
        let parts: Vec<&str> = traceparent.split('-').collect();
        let [version, trace_id, parent_id, flags] = parts[..] else {
            return bad("it has not four fields");
        };
        if !lower_hex(version, 2) || version == "ff" {
            return bad("the version is not two lowercase hex digits other than ff");
        }
        // Version 00 has exactly four fields; later versions may add some (W3C §3.2.4), but
        // what is sent is always the version-00 form.
        if version != "00" {
            return bad("only version 00 is sent");
        }
        if !lower_hex(trace_id, 32) || trace_id.bytes().all(|b| b == b'0') {
            return bad("the trace id is not 32 lowercase hex digits, not all zero");
        }
        if !lower_hex(parent_id, 16) || parent_id.bytes().all(|b| b == b'0') {
            return bad("the parent id is not 16 lowercase hex digits, not all zero");
        }
        if !lower_hex(flags, 2) {
            return bad("the flags are not two lowercase hex digits");
        }
        let tracestate = tracestate
            .map(str::trim)
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= MAX_TRACESTATE
                    && s.bytes().all(|b| (0x20..0x7f).contains(&b))
            })
            .map(str::to_owned);
        Ok(TraceContext {
            traceparent: traceparent.to_owned(),
            tracestate,
        })
    }

    /// The `traceparent`.
    pub fn traceparent(&self) -> &str {
        &self.traceparent
    }

    /// The trace id (32 hex digits).
    pub fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }

    /// The `tracestate`, if any.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("traceparent", &self.traceparent)
            .field("tracestate", &self.tracestate)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_w3c_traceparent_is_taken_and_its_trace_id_read() {
        let t = TraceContext::new(GOOD, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.tracestate(), Some("congo=t61rcWkgMzE"));
    }

    #[test]
    fn what_is_not_one_is_refused_and_a_bad_tracestate_dropped() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        ] {
            assert!(TraceContext::new(bad, None).is_err(), "{bad}");
        }
        let long = "a=".to_owned() + &"b".repeat(MAX_TRACESTATE);
        assert_eq!(
            TraceContext::new(GOOD, Some(&long)).unwrap().tracestate(),
            None
        );
        assert_eq!(
            TraceContext::new(GOOD, Some("a=\nb")).unwrap().tracestate(),
            None
        );
    }
}
