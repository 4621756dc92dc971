//! A scripted weir-mio client ([`Script`]): it plays steps against an echo
//! server one at a time and records what came back, for tests that need the
//! event-loop adapter on the client side.

use std::collections::VecDeque;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;

use weir_mio::{EventLoop, Handler, Opened, Ws};
use weir_proto::{CloseCode, Message};

use crate::echo::close_command;
use crate::payloads::assert_same;
use crate::PATIENCE;

/// Runs `event_loop` (clients only) until it holds no connection. Fails if
/// that takes longer than [`PATIENCE`].
pub fn run_client_loop<H: Handler>(event_loop: &mut EventLoop, handler: &mut H) {
    let stop = event_loop.stop_handle();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || match finished.recv_timeout(PATIENCE) {
        Err(RecvTimeoutError::Timeout) => {
            stop.stop();
            true
        }
        _ => false,
    });
    event_loop.run_until_idle(handler).unwrap();
    drop(done);
    let fired = watchdog.join().unwrap();
    assert!(!fired, "the client loop did not finish within {PATIENCE:?}");
    assert_eq!(event_loop.connection_count(), 0);
}

/// A client event loop whose close timeout is long enough that a loop that
/// finishes did so because the closing handshake completed.
pub fn client_loop() -> EventLoop {
    let connection = weir_mio::weir_proto::Config::default().with_close_timeout(Some(PATIENCE * 2));
    EventLoop::new(weir_mio::Config::default().with_connection(connection)).unwrap()
}

/// One step of a [`Script`].
#[derive(Clone, Debug)]
pub enum Step {
    /// Send this message and wait for its echo.
    Echo(Message),
    /// Ask the server to close with this code and reason; wait for its Close.
    AskServerClose(u16, String),
    /// Close with this code and reason; wait for the server's answer.
    Close(u16, String),
}

/// A weir-mio client handler that plays steps in order, one at a time.
#[derive(Default)]
pub struct Script {
    /// Steps not played yet.
    pub steps: VecDeque<Step>,
    /// Messages sent, awaiting their echo, in order.
    pub expected: VecDeque<Message>,
    /// Echoes received, each paired with what was sent.
    pub echoes: Vec<(Message, Message)>,
    /// `on_open` was called.
    pub opened: bool,
    /// Every `on_close`: code and reason.
    pub closes: Vec<(u16, String)>,
    /// Every `on_error`, and messages nobody expected.
    pub errors: Vec<String>,
    /// Errors from `Ws` commands (a refused close or send).
    pub refused: Vec<String>,
}

impl Script {
    /// A script that plays `steps` in order.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Plays the next step; a step the client refuses is recorded in
    /// `refused` and the one after it is played at once.
    fn next_step(&mut self, ws: &mut Ws<'_>) {
        while let Some(step) = self.steps.pop_front() {
            let result = match step {
                Step::Echo(message) => ws
                    .send(message.clone())
                    .map(|()| self.expected.push_back(message)),
                Step::AskServerClose(code, reason) => ws.send(close_command(code, &reason)),
                Step::Close(code, reason) => ws.close(CloseCode::new(code), &reason),
            };
            match result {
                Ok(()) => return,
                Err(error) => self.refused.push(error.to_string()),
            }
        }
    }

    /// Runs the script against `uri` on a fresh client loop, to the end of
    /// the connection.
    pub fn run(mut self, uri: &str) -> Self {
        let mut event_loop = client_loop();
        event_loop.connect(uri, Default::default()).unwrap();
        run_client_loop(&mut event_loop, &mut self);
        self
    }

    /// Asserts every echo matched what was sent, and nothing is missing.
    pub fn assert_echoes(&self) {
        assert!(
            self.opened,
            "the client never opened; errors {:?}",
            self.errors
        );
        for (i, (echoed, sent)) in self.echoes.iter().enumerate() {
            assert_same(echoed, sent, &format!("echo #{i}"));
        }
        assert!(
            self.expected.is_empty(),
            "{} echoes missing",
            self.expected.len()
        );
    }
}

impl Handler for Script {
    fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.opened = true;
        self.next_step(ws);
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        match self.expected.pop_front() {
            Some(sent) => self.echoes.push((message, sent)),
            None => self
                .errors
                .push(format!("unexpected message of {} bytes", message.len())),
        }
        self.next_step(ws);
    }

    fn on_close(&mut self, _ws: &mut Ws<'_>, code: CloseCode, reason: &str) {
        self.closes.push((code.as_u16(), reason.to_owned()));
    }

    fn on_error(&mut self, _ws: &mut Ws<'_>, error: &weir_mio::Error) {
        self.errors.push(error.to_string());
    }
}
