//! Server text made safe for a terminal.
//!
//! A server's tool output, error body or `WWW-Authenticate` header may hold escape sequences
//! that clear the screen, move the cursor, retitle the window or hide text, or a carriage
//! return that overwrites the line with a fake one. [`for_terminal`] writes every such
//! character as a visible escape instead; [`cap`] shortens a line that is too long to read;
//! [`JsonFormatter`] does the same for `--json` output while keeping it valid JSON.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// How many characters of an error line are shown; the rest is counted, not printed.
pub const LINE_MAX: usize = 1000;

/// Whether `c` must not reach a terminal raw: a control character other than `\n` and `\t`
/// (C0 U+0000–U+001F, including ESC, BEL and `\r`; DEL U+007F; C1 U+0080–U+009F, including
/// the one-byte CSI U+009B), or a bidirectional embedding, override or isolate
/// (U+202A–U+202E, U+2066–U+2069), which reorders what follows it on the line.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character a terminal would act on, other than `\n` and `\t`, replaced by
/// a visible escape: ASCII ones as `\x1b` (the four characters `\`, `x`, `1`, `b`), others as
/// `\u{9b}` or `\u{202e}`. Borrows `s` when it has none.
///
/// A backslash is left as it is, so a server can print text that looks like an escape; it
/// cannot make the terminal act on it.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_unsafe) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// `s` if it has at most `max_chars` characters; else its first `max_chars` characters and
/// `… (N more bytes)`, N counting the UTF-8 bytes left out.
pub fn cap(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => Cow::Borrowed(s),
        Some((end, _)) => Cow::Owned(format!("{}… ({} more bytes)", &s[..end], s.len() - end)),
    }
}

/// A line of an error report: [`for_terminal`], then [`cap`] at [`LINE_MAX`] characters.
pub fn error_line(s: &str) -> Cow<'_, str> {
    match for_terminal(s) {
        Cow::Borrowed(s) => cap(s, LINE_MAX),
        Cow::Owned(s) => Cow::Owned(cap(&s, LINE_MAX).into_owned()),
    }
}

/// A `serde_json` formatter that also escapes, as `\uXXXX`, the characters serde_json writes
/// raw but a terminal acts on: DEL, C1 controls and bidirectional controls (serde_json itself
/// escapes C0 controls). The JSON means the same; only its bytes differ.
///
/// Wraps a `PrettyFormatter` or `CompactFormatter`, which decides the layout.
pub struct JsonFormatter<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for JsonFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(is_unsafe) {
            let c = rest[at..].chars().next().unwrap_or_default();
            self.0.write_string_fragment(writer, &rest[..at])?;
            write!(writer, "\\u{:04x}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_string_fragment(writer, rest)
    }

    // The layout is the inner formatter's.

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as JSON (pretty, or compact on one line) through [`JsonFormatter`].
pub fn json(value: &impl serde::Serialize, pretty: bool) -> serde_json::Result<String> {
    fn with<F: serde_json::ser::Formatter>(
        value: &impl serde::Serialize,
        formatter: F,
    ) -> serde_json::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut bytes, JsonFormatter(formatter));
        value.serialize(&mut serializer)?;
        Ok(bytes)
    }
    let bytes = match pretty {
        true => with(value, serde_json::ser::PrettyFormatter::new())?,
        false => with(value, serde_json::ser::CompactFormatter)?,
    };
    // serde_json writes UTF-8, and the escapes added are ASCII.
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn plain_text_is_borrowed() {
        for text in [
            "",
            "hello",
            "two\nlines\tand a tab",
            "naïve café — ✓ 日本語 👍",
        ] {
            assert!(
                matches!(for_terminal(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn esc_and_its_sequences_are_visible() {
        assert_eq!(for_terminal("\u{1b}[2Jcleared"), "\\x1b[2Jcleared");
        // OSC 0 (set the window title), ended by BEL.
        assert_eq!(
            for_terminal("\u{1b}]0;pwned\u{7}fake OK"),
            "\\x1b]0;pwned\\x07fake OK"
        );
    }

    #[test]
    fn c1_controls_csi_included_are_visible() {
        assert_eq!(for_terminal("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(for_terminal("a\u{80}b\u{9f}c"), "a\\u{80}b\\u{9f}c");
        // NEL, a C1 line break.
        assert_eq!(for_terminal("\u{85}"), "\\u{85}");
    }

    #[test]
    fn bel_cr_del_and_other_c0_are_visible() {
        assert_eq!(for_terminal("ding\u{7}"), "ding\\x07");
        // A carriage return lets what follows overwrite the line.
        assert_eq!(
            for_terminal("rm -rf /\rall good    "),
            "rm -rf /\\x0dall good    "
        );
        assert_eq!(for_terminal("\r\n"), "\\x0d\n");
        assert_eq!(for_terminal("x\u{7f}"), "x\\x7f");
        assert_eq!(for_terminal("\0\u{8}\u{b}\u{c}"), "\\x00\\x08\\x0b\\x0c");
    }

    #[test]
    fn newline_and_tab_are_kept() {
        assert_eq!(for_terminal("a\nb\tc\u{1b}"), "a\nb\tc\\x1b");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_visible() {
        // "txt.exe" shown as "exe.txt" by a right-to-left override.
        assert_eq!(for_terminal("\u{202e}txt.exe"), "\\u{202e}txt.exe");
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            let shown = for_terminal(&c.to_string()).into_owned();
            assert_eq!(shown, format!("\\u{{{:x}}}", c as u32));
        }
        // Their neighbours are ordinary text.
        for c in ['\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}'] {
            assert!(
                matches!(for_terminal(&c.to_string()), Cow::Borrowed(_)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn the_result_is_safe() {
        let hostile: String = (0u32..0x2070).filter_map(char::from_u32).collect();
        let shown = for_terminal(&hostile);
        assert!(!shown.chars().any(is_unsafe));
        assert!(
            matches!(for_terminal(&shown), Cow::Borrowed(_)),
            "idempotent"
        );
    }

    #[test]
    fn long_lines_are_capped_with_what_was_left_out() {
        assert!(matches!(cap("short", 10), Cow::Borrowed("short")));
        assert!(matches!(cap("0123456789", 10), Cow::Borrowed(_)));
        assert_eq!(cap("0123456789ab", 10), "0123456789… (2 more bytes)");
        // Characters, not bytes, are counted, and none is cut in half.
        assert_eq!(cap("ééé", 2), "éé… (2 more bytes)");
        let long = "x".repeat(200_000);
        let line = error_line(&long);
        assert!(line.starts_with(&"x".repeat(LINE_MAX)));
        assert!(
            line.ends_with("… (199000 more bytes)"),
            "{}",
            &line[LINE_MAX..]
        );
    }

    #[test]
    fn error_lines_are_sanitised_then_capped() {
        assert!(matches!(error_line("fine"), Cow::Borrowed("fine")));
        let escapes = "\u{1b}".repeat(2 * LINE_MAX);
        let line = error_line(&escapes);
        assert!(!line.contains('\u{1b}'));
        assert_eq!(line.chars().take_while(|c| *c != '…').count(), LINE_MAX);
    }

    #[test]
    fn serde_json_already_escapes_c0_controls() {
        let text = serde_json::to_string(&json!("\u{1b}[2J\u{7}\r\n\0")).unwrap();
        assert_eq!(text, r#""\u001b[2J\u0007\r\n\u0000""#);
    }

    #[test]
    fn json_escapes_del_c1_and_bidi_too_and_means_the_same() {
        let hostile = "\u{1b}[31m\u{9b}2J\u{7f}\u{85}\u{202e}txt.exe\u{2066}\r\n é ✓";
        let value = json!({ hostile: [hostile, 1, null], "plain": "text" });
        for pretty in [false, true] {
            let text = json(&value, pretty).unwrap();
            assert!(!text.chars().any(is_unsafe), "{text:?}");
            assert!(
                text.contains(r"\u009b2J\u007f\u0085\u202etxt.exe\u2066"),
                "{text}"
            );
            assert!(text.contains("é ✓"), "other text is as it was: {text}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        }
        assert_eq!(
            json(&value, true).unwrap().lines().count(),
            serde_json::to_string_pretty(&value)
                .unwrap()
                .lines()
                .count()
        );
    }
}
