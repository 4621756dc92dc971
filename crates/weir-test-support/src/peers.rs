//! The real peers of the root interop tests: Python `websockets` and Node
//! `ws` (tests/interop/peer.py and peer.mjs), which
//! `bash scripts/interop-test.sh` installs into target/interop-venv and
//! tests/interop/node_modules. Here is what launches them (the check that
//! they are installed, each one's command, a peer's echo server as a child
//! process), so that every interop test file finds and starts them the same
//! way.
//!
//! Without the peers a test skips with a loud message, so that a plain
//! `cargo test` passes on a machine without them; WEIR_INTEROP=1 (set by
//! the script) turns the skip into a failure.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Once;
use std::thread;

use crate::PATIENCE;

/// The workspace's root: the peers and their installations are below it.
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The two real peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Python `websockets`, in target/interop-venv.
    Python,
    /// Node `ws`, in tests/interop/node_modules.
    Node,
}

impl Peer {
    /// What the install script leaves when this peer is installed.
    fn installed_at(self) -> &'static str {
        match self {
            Peer::Python => "target/interop-venv/bin/python",
            Peer::Node => "tests/interop/node_modules/ws",
        }
    }

    /// The peer program in `role` ("server" or "client"); its arguments
    /// follow.
    pub fn command(self, role: &str) -> Command {
        let (program, script) = match self {
            Peer::Python => (workspace().join(self.installed_at()), "peer.py"),
            Peer::Node => ("node".into(), "peer.mjs"),
        };
        let mut command = Command::new(program);
        command
            .arg(workspace().join("tests/interop").join(script))
            .arg(role);
        command
    }
}

/// Whether all of `peers` are installed. If not: a loud skip (the message
/// written once, past the test harness's capture), or a failure under
/// WEIR_INTEROP=1.
pub fn installed(peers: &[Peer]) -> bool {
    let missing: Vec<_> = peers
        .iter()
        .map(|peer| peer.installed_at())
        .filter(|path| !workspace().join(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "the interop peers are not installed ({} missing): run `bash scripts/interop-test.sh`",
        missing.join(", ")
    );
    assert!(
        std::env::var("WEIR_INTEROP").as_deref() != Ok("1"),
        "{message}"
    );
    static LOUD: Once = Once::new();
    LOUD.call_once(|| {
        let _ = writeln!(io::stderr(), "\n########## SKIPPED: {message} ##########\n");
    });
    false
}

/// A peer's echo server process, its output echoed to the test's log; its
/// stdin closes and it is killed on drop.
pub struct PeerServer {
    /// The `HOST:PORT` it printed on its `listening ` line.
    pub addr: String,
    lines: Receiver<String>,
    stdin: Option<ChildStdin>,
    child: Child,
}

impl PeerServer {
    /// Starts `peer`'s server with `args` and waits until it listens.
    pub fn start(peer: Peer, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        let mut child = peer
            .command("server")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {peer:?} server: {e}"));
        let (tx, lines) = mpsc::channel();
        forward_lines(child.stdout.take().unwrap(), peer, tx.clone());
        forward_lines(child.stderr.take().unwrap(), peer, tx);
        let stdin = child.stdin.take();
        let mut server = Self {
            addr: String::new(),
            lines,
            stdin,
            child,
        };
        server.addr = server.line_after("listening ");
        server
    }

    /// The rest of the next line (of stdout or stderr) that starts with
    /// `prefix`; a failure after [`PATIENCE`] without one.
    pub fn line_after(&self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => match line.strip_prefix(prefix) {
                    Some(rest) => return rest.to_owned(),
                    None => continue,
                },
                Err(e) => panic!("the peer server never printed {prefix:?}: {e}"),
            }
        }
    }

    /// The `ws://` URI of its echo path.
    pub fn uri(&self) -> String {
        format!("ws://{}/echo", self.addr)
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        drop(self.stdin.take()); // the peer exits at EOF
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Echoes a peer's output to the test's log and sends each line to `tx`.
fn forward_lines(output: impl Read + Send + 'static, peer: Peer, tx: Sender<String>) {
    thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            eprintln!("[{peer:?} server] {line}");
            let _ = tx.send(line);
        }
    });
}
