//! `application/x-www-form-urlencoded` (query strings and token request bodies), and URLs
//! with parameters added.

/// The name-value pairs of a query string or form body, in order, decoded (`+` is a space;
/// bad `%` escapes are kept as they are; bytes that are not UTF-8 become U+FFFD).
pub(crate) fn decode(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(name), unescape(value))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(&high), Some(&low))
                    if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
                {
                    out.push(hex(high) << 4 | hex(low));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Percent-encode everything but the unreserved characters (RFC 3986 §2.3).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with `params` added to its query (after an existing query, if any).
pub(crate) fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(separator);
        out.push_str(&escape(name));
        out.push('=');
        out.push_str(&escape(value));
        separator = '&';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pairs = decode("a=1&b=x+y%20z&c=%2F%3d&d&e=%zz&e=%4");
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "1"),
                ("b", "x y z"),
                ("c", "/="),
                ("d", ""),
                ("e", "%zz"),
                ("e", "%4")
            ]
        );
        assert_eq!(escape("a b/é~"), "a%20b%2F%C3%A9~");
        assert_eq!(
            with_query("http://h/cb?x=1", &[("code", "c 1"), ("state", "s")]),
            "http://h/cb?x=1&code=c%201&state=s"
        );
        assert_eq!(with_query("http://h/cb", &[("a", "b")]), "http://h/cb?a=b");
    }
}
