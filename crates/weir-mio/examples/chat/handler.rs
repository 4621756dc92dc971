//! The chat's handler and page; the protocol is described in `main.rs`.
//! Kept apart from `main` so that the tests (`tests/chat.rs`) run it too.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::json::{parse_object, write_object, Value};
use weir_mio::server::{HttpResponse, Socket, WsHandler};
use weir_mio::HttpRequest;
use weir_mio::{CloseCode, ConnId, Message, MessageKind};

/// The page, served at `/`.
pub const PAGE: &str = include_str!("../chat.html");

/// The longest room name, user name and message text accepted, in bytes.
const MAX_NAME: usize = 64;
const MAX_TEXT: usize = 4096;

/// The chat: who is called what in which room.
#[derive(Default)]
pub struct Chat {
    /// Per connection: room to name.
    names: Mutex<HashMap<ConnId, HashMap<String, String>>>,
}

impl Chat {
    fn name(&self, id: ConnId, room: &str) -> Option<String> {
        self.names.lock().unwrap().get(&id)?.get(room).cloned()
    }

    /// `{"type":kind,"room":..,"name":..,"id":..,"count":..}` to the room.
    fn announce(&self, ws: &Socket, kind: &str, room: &str, name: &str) {
        let server = ws.server();
        let room_handle = server.room(room);
        let event = write_object(&[
            ("type", Value::Str(kind.into())),
            ("room", Value::Str(room.into())),
            ("name", Value::Str(name.into())),
            ("id", Value::Int(ws.id().as_u64() as i64)),
            ("count", Value::Int(room_handle.count() as i64)),
        ]);
        if kind == "left" && ws.is_open() {
            // The sender is no member any more, but hears it too.
            let _ = ws.send(event.as_str());
        }
        // An announcement refused by a busy worker is not worth retrying.
        let _ = room_handle.broadcast(event);
    }

    fn handle(&self, ws: &Socket, text: &str) -> Result<(), String> {
        let object = parse_object(text)?;
        let field = |key: &str| match object.get(key) {
            Some(Value::Str(value)) => Ok(value.as_str()),
            _ => Err(format!("missing string field \"{key}\"")),
        };
        let room = field("room")?;
        if room.is_empty() || room.len() > MAX_NAME {
            return Err(format!("a room name has 1 to {MAX_NAME} bytes"));
        }
        match field("type")? {
            "join" => {
                let name = field("name")?;
                if name.is_empty() || name.len() > MAX_NAME {
                    return Err(format!("a name has 1 to {MAX_NAME} bytes"));
                }
                if !ws.join(room) {
                    return Err(format!("already in room {room}"));
                }
                self.names
                    .lock()
                    .unwrap()
                    .entry(ws.id())
                    .or_default()
                    .insert(room.into(), name.into());
                self.announce(ws, "joined", room, name);
            }
            "message" => {
                let text = field("text")?;
                if text.len() > MAX_TEXT {
                    return Err(format!("a message has at most {MAX_TEXT} bytes"));
                }
                let name = self
                    .name(ws.id(), room)
                    .ok_or_else(|| format!("not in room {room}"))?;
                let event = write_object(&[
                    ("type", Value::Str("message".into())),
                    ("room", Value::Str(room.into())),
                    ("name", Value::Str(name)),
                    ("id", Value::Int(ws.id().as_u64() as i64)),
                    ("text", Value::Str(text.into())),
                ]);
                ws.server()
                    .room(room)
                    .broadcast(event)
                    .map_err(|refused| format!("the server is busy, try again: {refused}"))?;
            }
            "leave" => {
                let name = self
                    .names
                    .lock()
                    .unwrap()
                    .get_mut(&ws.id())
                    .and_then(|rooms| rooms.remove(room))
                    .ok_or_else(|| format!("not in room {room}"))?;
                ws.leave(room);
                self.announce(ws, "left", room, &name);
            }
            other => return Err(format!("unknown type \"{other}\"")),
        }
        Ok(())
    }
}

impl WsHandler for Chat {
    fn on_message(&self, ws: &Socket, message: Message) {
        let Message::Text(text) = message else {
            return; // Not reached: message_kind() makes binary close with 1003.
        };
        if let Err(error) = self.handle(ws, text.as_str()) {
            let reply = write_object(&[
                ("type", Value::Str("error".into())),
                ("text", Value::Str(error)),
            ]);
            let _ = ws.send(reply);
        }
    }

    fn on_close(&self, ws: &Socket, _code: CloseCode, _reason: &str) {
        let rooms = self.names.lock().unwrap().remove(&ws.id());
        for (room, name) in rooms.unwrap_or_default() {
            ws.leave(&room);
            self.announce(ws, "left", &room, &name);
        }
    }

    fn message_kind(&self) -> Option<MessageKind> {
        Some(MessageKind::Text)
    }
}

/// The plain-HTTP side: the page at `/`, 404 elsewhere.
pub fn page(request: &HttpRequest) -> HttpResponse {
    match request.path() {
        "/" | "/index.html" => HttpResponse::html(PAGE),
        _ => HttpResponse::not_found(),
    }
}
