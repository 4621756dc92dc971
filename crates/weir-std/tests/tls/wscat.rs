//! The `wscat` example, run as a program against a TLS server that trusts
//! nothing but `--ca`: at the end of stdin it waits for replies already on
//! their way before it closes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use weir_std::{Error, ServerTlsStream, WebSocket};

use super::{serve_one, GUARD};

/// How long the server takes to answer a message.
const ECHO_DELAY: Duration = Duration::from_millis(300);

/// Echoes each message after [`ECHO_DELAY`], unless the client's Close came
/// first: then the echo is dropped, as some servers do (Python's
/// `websockets` among them).
fn echo_unless_closed(ws: Result<WebSocket<ServerTlsStream>, Error>) {
    let mut ws = ws.unwrap();
    while let Ok(message) = ws.read() {
        thread::sleep(ECHO_DELAY);
        let sock = &ws.get_mut().sock;
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        match ws.read() {
            Err(error) if error.is_timeout() => ws.send(message).unwrap(),
            _ => return,
        }
        ws.get_mut().sock.set_read_timeout(Some(GUARD)).unwrap();
    }
}

/// The `wscat` example binary beside this test's binary, built (or found
/// up to date) once per run: `cargo test --test tls` builds no examples.
fn wscat_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // Without the variables cargo sets for a test: build scripts that
        // watch them (ring's) would run again, and everything after them.
        let mut cargo = Command::new(env!("CARGO"));
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let for_this_test = [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_CRATE_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
            if for_this_test {
                cargo.env_remove(&*name);
            }
        }
        let build = cargo
            .args(["build", "-p", "weir-std", "--example", "wscat"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&build.stderr);
        assert!(build.status.success(), "building wscat: {log}");
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap();
        profile_dir
            .join("examples")
            .join(format!("wscat{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Runs wscat on `server_uri`, trusting `cert`, with `stdin` as its input
/// and `args` before the URI.
fn run_wscat(cert: &str, server_uri: &str, args: &[&str], stdin: &str) -> Output {
    let ca = std::env::temp_dir().join(format!(
        "weir-wscat-{}-{}.pem",
        std::process::id(),
        server_uri.rsplit(':').next().unwrap_or_default()
    ));
    std::fs::write(&ca, cert).unwrap();
    let mut child = Command::new(wscat_binary())
        .arg("--ca")
        .arg(&ca)
        .args(args)
        .arg(format!("{server_uri}/echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&ca);
    output
}

#[test]
fn wscat_prints_replies_that_arrive_after_the_end_of_stdin() {
    let server = serve_one(&["127.0.0.1"], echo_unless_closed);
    let output = run_wscat(&server.cert, &server.uri, &[], "hello\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello\n",
        "{stderr}"
    );
    server.join();
}

#[test]
fn wscat_without_grace_closes_before_the_reply() {
    // The control: the server really drops an echo once it saw the Close.
    let server = serve_one(&["127.0.0.1"], echo_unless_closed);
    let output = run_wscat(&server.cert, &server.uri, &["--grace", "0"], "hello\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{stderr}");
    server.join();
}

#[test]
fn wscat_explains_itself() {
    let output = Command::new(wscat_binary()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--ca FILE") && help.contains("--grace MS"),
        "{help}"
    );
}
