//! The closing handshake over a blocking stream, bounded by the core.
//!
//! [`WebSocket::close_and_wait`] blocks until the peer answers this
//! endpoint's Close (and, on a client, until the server closes TCP). How
//! long a peer may take is the core's decision,
//! [`Config::close_timeout`](weir_proto::Config::close_timeout): the reads
//! run through [`WebSocket::read_input`] like any other, so the core's
//! close deadline bounds them, and the user's own read timeout does not
//! interrupt the wait.

use std::io::{Read, Write};

use weir_proto::{CloseCode, CloseFrame, Role, State};

use super::deadlines::{Input, Wait};
use super::WebSocket;
use crate::error::Error;

impl<S: Read + Write> WebSocket<S> {
    /// Completes the closing handshake from wherever it is, discarding
    /// incoming messages: sends a Close with `code` and `reason` unless one
    /// was sent, reads until the peer's Close unless it already arrived, and
    /// returns the peer's Close frame (`None` if it carried no code).
    ///
    /// A client then waits for the server to close the transport (RFC 6455
    /// section 7.1.1), until EOF or an error.
    ///
    /// The wait is bounded by the connection's
    /// [`Config::close_timeout`](weir_proto::Config::close_timeout) (5 s by
    /// default; set it in the [`Config`](weir_proto::Config) given to
    /// [`connect_with`](crate::connect_with), [`client`](crate::client) or
    /// [`accept_with`](crate::accept_with)), counted from this endpoint's
    /// Close: from this call, from [`WebSocket::close`] if that came
    /// first, or from the read that brought the peer's Close. `None` there
    /// means no bound: a peer that never answers holds this call forever.
    /// Your own read timeout does not end the wait.
    ///
    /// If the peer's Close has not arrived in time, this fails with
    /// [`Error::CloseTimeout`], shuts the transport down (see
    /// [`WebSocket::set_shutdown`]) and the WebSocket is over; if only the
    /// server's TCP close is late, the client shuts the transport down and
    /// returns the peer's Close frame anyway. The bound needs a
    /// [`ReadTimeoutFn`](crate::ReadTimeoutFn): built in for
    /// the streams this crate knows (see [`WebSocket`]) from
    /// [`connect`](crate::connect), [`client`](crate::client),
    /// [`accept`](crate::accept) and [`accept_tls`](crate::accept_tls);
    /// for other streams set one with
    /// [`WebSocket::set_read_timeout_fn`], or the deadline is only checked
    /// when a read returns. Afterwards the stream has your read timeout
    /// back.
    ///
    /// Returns [`Error::AlreadyClosed`] if the connection ended without a
    /// closing handshake (a protocol error, EOF or a deadline reported
    /// earlier).
    pub fn close_and_wait(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<Option<CloseFrame>, Error> {
        if !self.finished {
            if self.conn.state() == State::Open {
                self.close(code, reason)?;
            }
            self.flush()?;
            while !self.finished {
                self.next_event(Wait::closing())?;
            }
        }
        let Some(frame) = self.peer_close.clone() else {
            return Err(Error::AlreadyClosed);
        };
        if self.conn.role() == Role::Client {
            self.wait_for_eof();
        }
        Ok(frame)
    }

    /// Reads and discards until EOF, an error, or the core's close timeout;
    /// then closes this side of the transport (RFC 6455 section 7.1.1).
    fn wait_for_eof(&mut self) {
        let mut wait = Wait::closing();
        loop {
            match self.read_input(&mut wait) {
                Ok(Input::Bytes | Input::Nothing) => {}
                Ok(Input::Eof) => {
                    // After the peer's Close, the end of input is the normal
                    // end: the core reports no abnormal closure.
                    let _ = self.conn.receive_eof();
                    self.shutdown_transport();
                    break;
                }
                // The close timeout, which shut the transport down already,
                // or a failing stream.
                Err(_) => break,
            }
        }
        self.timer.restore(&mut self.stream);
    }
}
