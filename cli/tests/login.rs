//! `mcpwire login` and `logout` end to end against the test server's authorization server,
//! with the test playing the browser: the URL printed is opened (a GET, its redirect read),
//! the browser is sent back to the loopback redirect `login` listens on, the tokens are kept
//! in a file only the user can read, the other commands use them, and `logout` forgets them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use mcpwire_testserver::{OAuthConfig, TestServer};
use support::{mcpwire, run, Run};

/// `mcpwire <args>` with the credentials kept in `dir`.
fn with_store(args: &[&str], dir: &std::path::Path) -> Run {
    let mut command = mcpwire();
    command.args(args).env("MCPWIRE_CONFIG_DIR", dir);
    run(command, Duration::from_secs(60))
}

/// A GET of `url` (`http://host:port/path?query`) that follows no redirect: the status line
/// and the `Location` header.
fn get(url: &str) -> (String, Option<String>) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.lines().next().unwrap_or_default().to_owned();
    let location = response
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
    (status, location)
}

#[test]
fn login_plays_the_browser_keeps_the_tokens_and_logout_forgets_them() {
    let server = TestServer::builder()
        .oauth(OAuthConfig::new())
        .start_in_thread();
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("mcpwire-login-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // Before login: the command says what to run.
    let before = with_store(&["tools", &url], &dir);
    before.expect_code(3);
    assert!(
        before
            .stderr
            .contains(&format!("to authorize, run: mcpwire login {url}")),
        "{}",
        before.stderr
    );

    // Login, the test playing the browser.
    let mut login = mcpwire()
        .args(["login", &url])
        .env("MCPWIRE_CONFIG_DIR", &dir)
        .env("MCPWIRE_BROWSER", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcpwire login");
    let mut stderr = BufReader::new(login.stderr.take().unwrap());
    let mut printed = String::new();
    let authorize_url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "login ended without printing a URL:\n{printed}"
        );
        printed.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("http") {
            break format!("http{u}");
        }
    };
    assert!(
        authorize_url.contains("code_challenge_method=S256"),
        "{authorize_url}"
    );
    let (status, location) = get(&authorize_url);
    assert!(status.contains(" 302 "), "{status}");
    let callback = location.expect("the authorization server redirects");
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    assert!(callback.contains("code="), "{callback}");
    let (status, _) = get(&callback);
    assert!(
        status.contains(" 200 "),
        "the loopback redirect answered: {status}"
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let exit = login.wait().unwrap();
    assert!(exit.success(), "login failed:\n{printed}{rest}");
    assert!(rest.contains(&format!("Logged in to {url}")), "{rest}");

    // The tokens are in a file only the user can read, and the commands use them.
    let files: Vec<_> = std::fs::read_dir(dir.join("credentials"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let mode = files[0].metadata().unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let kept = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        kept.contains("access_token"),
        "the credentials file holds the token"
    );
    let after = with_store(&["tools", &url], &dir);
    after.expect_code(0);
    assert!(after.stdout.contains("echo"), "{}", after.stdout);
    assert_eq!(server.stats().authorizations, 1, "no new user step");

    // Logout forgets them.
    with_store(&["logout", &url], &dir).expect_code(0);
    let gone = with_store(&["tools", &url], &dir);
    gone.expect_code(3);
    assert!(gone.stderr.contains("mcpwire login"), "{}", gone.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
