//! [`Dispatch`]: a route's [`WsHandler`] with its state type erased, so
//! that the routes of one server, each with its own handler and state
//! type, sit in one table and the workers call them alike.
//!
//! A connection's state travels as a [`State`] (`Box<dyn Any + Send>`,
//! which allocates nothing for `()` or another zero-sized state) and is
//! turned back into the handler's own type for each callback; a route only
//! ever sees states its own `on_open` made.

use std::any::Any;

use weir_proto::handshake::{AcceptOptions, Rejection, UpgradeRequest};
use weir_proto::{CloseCode, Fragment, Message, MessageKind};

use super::{Socket, WsHandler};
use crate::Error;

/// A connection's state, as its route's handler made it.
pub(crate) type State = Box<dyn Any + Send>;

/// [`WsHandler`]'s callbacks, with the state as a [`State`].
pub(crate) trait Dispatch: Send + Sync {
    fn on_upgrade(&self, ws: &Socket, request: &UpgradeRequest)
        -> Result<AcceptOptions, Rejection>;
    fn on_open(&self, ws: &Socket, request: &UpgradeRequest) -> State;
    fn on_message(&self, ws: &Socket, state: &mut State, message: Message);
    fn on_fragment(&self, ws: &Socket, state: &mut State, fragment: Fragment);
    fn on_close(&self, ws: &Socket, state: State, code: CloseCode, reason: &str);
    fn on_error(&self, ws: &Socket, error: &Error);
    fn message_kind(&self) -> Option<MessageKind>;
}

impl<H: WsHandler> Dispatch for H {
    fn on_upgrade(
        &self,
        ws: &Socket,
        request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        WsHandler::on_upgrade(self, ws, request)
    }

    fn on_open(&self, ws: &Socket, request: &UpgradeRequest) -> State {
        Box::new(WsHandler::on_open(self, ws, request))
    }

    fn on_message(&self, ws: &Socket, state: &mut State, message: Message) {
        if let Some(state) = state.downcast_mut::<H::State>() {
            WsHandler::on_message(self, ws, state, message);
        }
    }

    fn on_fragment(&self, ws: &Socket, state: &mut State, fragment: Fragment) {
        if let Some(state) = state.downcast_mut::<H::State>() {
            WsHandler::on_fragment(self, ws, state, fragment);
        }
    }

    fn on_close(&self, ws: &Socket, state: State, code: CloseCode, reason: &str) {
        if let Ok(state) = state.downcast::<H::State>() {
            WsHandler::on_close(self, ws, *state, code, reason);
        }
    }

    fn on_error(&self, ws: &Socket, error: &Error) {
        WsHandler::on_error(self, ws, error);
    }

    fn message_kind(&self) -> Option<MessageKind> {
        WsHandler::message_kind(self)
    }
}
