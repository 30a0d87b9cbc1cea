//! The `WWW-Authenticate` header (RFC 9110 §11.6.1, formerly RFC 7235 §4.1; RFC 6750 §3 for
//! `Bearer`): one or more challenges, each a scheme followed by a `token68` or by
//! comma-separated `name=value` parameters, a value being a token or a quoted string with
//! `\` escapes.
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Schemes and parameter names are case-insensitive: names are kept lowercase, schemes as
//! sent (compare with [`Challenge::is`]). The parser is lenient, as a client must be with
//! servers: it never fails, it skips what it cannot read up to the next comma, and it is
//! bounded: at most [`MAX_INPUT`] bytes of a header value are read, at most
//! [`MAX_CHALLENGES`] challenges kept, at most [`MAX_PARAMS`] parameters of each.

/// The most bytes of one header value that are parsed; the rest is ignored.
pub const MAX_INPUT: usize = 16 * 1024;
/// The most challenges kept from all the values of a header.
pub const MAX_CHALLENGES: usize = 16;
/// The most parameters kept of one challenge; the first of a repeated name wins.
pub const MAX_PARAMS: usize = 32;

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The authentication scheme, as sent (`Bearer`, `bearer`, `Basic`, ...).
    pub scheme: String,
    /// A `token68` given instead of parameters, if any.
    pub token68: Option<String>,
    /// The parameters in order, names lowercase, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Whether the scheme is `scheme`, compared without case.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of the parameter `name` (compared without case), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The challenges of every `WWW-Authenticate` value in `headers`, in order.
pub fn from_headers(headers: &http::HeaderMap) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in headers.get_all(http::header::WWW_AUTHENTICATE) {
        let bytes = value.as_bytes();
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_INPUT)]);
        parse_into(&text, &mut out);
        if out.len() >= MAX_CHALLENGES {
            break;
        }
    }
    out
}

/// The challenges of one `WWW-Authenticate` value.
pub fn parse(value: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    parse_into(value, &mut out);
    out
}

/// Appends the challenges of `value` to `out`, up to [`MAX_CHALLENGES`] in all.
fn parse_into(value: &str, out: &mut Vec<Challenge>) {
    let mut cut = value.len().min(MAX_INPUT);
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut p = Parser {
        s: &value.as_bytes()[..cut],
        i: 0,
    };
    while out.len() < MAX_CHALLENGES {
        p.skip_ws_and_commas();
        if p.eof() {
            break;
        }
        let Some(scheme) = p.token() else {
            // Not a scheme: skip what cannot be read, up to the next comma.
            p.skip_past_comma();
            continue;
        };
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        if p.skip_spaces() && !p.eof() && p.peek() != Some(b',') {
            p.challenge_body(&mut challenge);
        }
        out.push(challenge);
    }
}

/// A cursor over the bytes of one header value.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `token68` characters (without the trailing `=`s).
fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl Parser<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips spaces and tabs; whether there were any.
    fn skip_spaces(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    /// Skips to just past the next comma (or to the end).
    fn skip_past_comma(&mut self) {
        while let Some(b) = self.peek() {
            self.i += 1;
            if b == b',' {
                break;
            }
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| self.text(start, self.i))
    }

    fn text(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(&self.s[start..end]).into_owned()
    }

    /// Whether what follows is `token BWS "="` (and not `token68` padding `==`): the start of
    /// a parameter rather than of the next challenge.
    fn at_param(&self) -> bool {
        let mut i = self.i;
        let start = i;
        while self.s.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        if i == start {
            return false;
        }
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        self.s.get(i) == Some(&b'=')
    }

    /// A `token68` that ends the challenge (followed only by spaces, then a comma or the end).
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let mut i = start;
        while self.s.get(i).copied().is_some_and(is_token68) {
            i += 1;
        }
        if i == start {
            return None;
        }
        while self.s.get(i) == Some(&b'=') {
            i += 1;
        }
        let end = i;
        while matches!(self.s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i < self.s.len() && self.s[i] != b',' {
            return None;
        }
        self.i = i;
        Some(self.text(start, end))
    }

    /// A quoted string after its opening quote: unescaped. An unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.i += 1;
                    }
                }
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The token68 or parameters after a scheme and its spaces.
    fn challenge_body(&mut self, challenge: &mut Challenge) {
        if !self.at_param() {
            if let Some(t) = self.token68() {
                challenge.token68 = Some(t);
                return;
            }
        }
        loop {
            self.skip_spaces();
            if !self.at_param() {
                // Garbage where a parameter should be: skip it, then see what follows.
                if self.eof() {
                    return;
                }
                self.skip_past_comma();
                self.skip_ws_and_commas();
                if self.at_param() {
                    continue;
                }
                return;
            }
            let Some(name) = self.token() else { return };
            self.skip_spaces();
            self.i += 1; // the `=`, which `at_param` saw
            self.skip_spaces();
            let value = match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    Some(self.quoted())
                }
                _ => self.token(),
            };
            if let Some(value) = value {
                let name = name.to_ascii_lowercase();
                if challenge.params.len() < MAX_PARAMS
                    && !challenge.params.iter().any(|(n, _)| *n == name)
                {
                    challenge.params.push((name, value));
                }
            }
            self.skip_spaces();
            match self.peek() {
                None => return,
                Some(b',') => {
                    self.skip_ws_and_commas();
                    // A parameter continues this challenge; anything else starts the next.
                    if !self.at_param() {
                        return;
                    }
                }
                Some(_) => {
                    // Junk after a value: skip it up to the next comma.
                    self.skip_past_comma();
                    self.skip_ws_and_commas();
                    if !self.at_param() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn bearer_with_quoted_and_token_values() {
        let c = parse(
            r#"Bearer resource_metadata="http://localhost:3000/.well-known/oauth-protected-resource/mcp", scope="mcp:basic mcp:read", error=insufficient_scope"#,
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].is("bearer"));
        assert_eq!(
            params(&c[0]),
            [
                (
                    "resource_metadata",
                    "http://localhost:3000/.well-known/oauth-protected-resource/mcp"
                ),
                ("scope", "mcp:basic mcp:read"),
                ("error", "insufficient_scope"),
            ]
        );
    }

    #[test]
    fn escapes_case_and_spacing() {
        let c = parse("BEARER Error = \"a \\\"quoted\\\" \\\\ value\" ,  SCOPE=x");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "BEARER");
        assert_eq!(c[0].param("error"), Some(r#"a "quoted" \ value"#));
        assert_eq!(c[0].param("Scope"), Some("x"));
    }

    #[test]
    fn several_challenges_in_one_value_and_across_values() {
        let c = parse(r#"Basic realm="x", Bearer scope="a", error="b", Negotiate abc+/==, DPoP"#);
        let schemes: Vec<_> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer", "Negotiate", "DPoP"]);
        assert_eq!(c[0].param("realm"), Some("x"));
        assert_eq!(params(&c[1]), [("scope", "a"), ("error", "b")]);
        assert_eq!(c[2].token68.as_deref(), Some("abc+/=="));
        assert!(c[3].params.is_empty() && c[3].token68.is_none());

        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"r\""),
        );
        headers.append(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer scope=\"s\""),
        );
        let c = from_headers(&headers);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].param("scope"), Some("s"));
    }

    #[test]
    fn a_bare_scheme_and_an_empty_header() {
        assert_eq!(parse("Bearer").len(), 1);
        assert!(parse("").is_empty());
        assert!(parse(" , ,").is_empty());
    }

    #[test]
    fn the_first_of_a_repeated_parameter_wins() {
        let c = parse(r#"Bearer scope="first", SCOPE="second""#);
        assert_eq!(params(&c[0]), [("scope", "first")]);
    }

    #[test]
    fn junk_is_skipped_up_to_the_next_comma() {
        let c = parse(r#"Bearer scope="a" junk here, error="e", "stray, Basic realm=r"#);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(params(&c[0]), [("scope", "a"), ("error", "e")]);
        assert!(c[1].is("basic"));
        // An unterminated quoted string runs to the end.
        let c = parse(r#"Bearer scope="a b"#);
        assert_eq!(c[0].param("scope"), Some("a b"));
    }

    #[test]
    fn bounded() {
        let many = "A, ".repeat(100);
        assert_eq!(parse(&many).len(), MAX_CHALLENGES);
        let params: String = (0..100).map(|i| format!("p{i}=v, ")).collect();
        assert_eq!(
            parse(&format!("Bearer {params}"))[0].params.len(),
            MAX_PARAMS
        );
        let long = format!("Bearer scope=\"{}\"", "a".repeat(MAX_INPUT * 2));
        let c = parse(&long);
        assert_eq!(
            c[0].param("scope").unwrap().len(),
            MAX_INPUT - "Bearer scope=\"".len()
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_bounded(s in "\\PC{0,300}") {
            let c = parse(&s);
            prop_assert!(c.len() <= MAX_CHALLENGES);
            for ch in &c {
                prop_assert!(!ch.scheme.is_empty());
                prop_assert!(ch.params.len() <= MAX_PARAMS);
            }
        }

        #[test]
        fn never_panics_on_header_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("Bearer".to_string()),
                    Just(" ".to_string()),
                    Just(",".to_string()),
                    Just("=".to_string()),
                    Just("\"".to_string()),
                    Just("\\".to_string()),
                    "[a-z_]{1,8}",
                    "[ -~]{0,6}",
                ],
                0..40,
            )
        ) {
            let s: String = parts.concat();
            let c = parse(&s);
            prop_assert!(c.len() <= MAX_CHALLENGES);
        }

        #[test]
        fn bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut headers = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_bytes(&bytes) {
                headers.insert(http::header::WWW_AUTHENTICATE, v);
            }
            let _ = from_headers(&headers);
        }

        #[test]
        fn quoted_values_round_trip(value in "[ -~]{0,40}") {
            let escaped: String = value
                .chars()
                .flat_map(|c| if c == '"' || c == '\\' { vec!['\\', c] } else { vec![c] })
                .collect();
            let c = parse(&format!("Bearer error=\"{escaped}\", scope=x"));
            prop_assert_eq!(c[0].param("error"), Some(value.as_str()));
            prop_assert_eq!(c[0].param("scope"), Some("x"));
        }
    }
}
