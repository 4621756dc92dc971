//! The chat's messages (described in `main.rs`), as JSON through serde:
//! what clients send ([`Request`]) and what the server sends ([`Event`]).

use serde::{Deserialize, Serialize};

/// A client's request.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Request {
    /// Join `room` as `name`.
    Join { room: String, name: String },
    /// Say `text` in `room`.
    Message { room: String, text: String },
    /// Leave `room`.
    Leave { room: String },
}

/// What the server sends: to a room's members, or an error to the sender.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event<'a> {
    /// `name` (connection `id`) joined `room`, which now has `count` members.
    Joined {
        room: &'a str,
        name: &'a str,
        id: u64,
        count: usize,
    },
    /// `name` (connection `id`) left `room`, which now has `count` members.
    Left {
        room: &'a str,
        name: &'a str,
        id: u64,
        count: usize,
    },
    /// `name` (connection `id`) said `text` in `room`.
    Message {
        room: &'a str,
        name: &'a str,
        id: u64,
        text: &'a str,
    },
    /// The sender's request was refused.
    Error { text: &'a str },
}

impl Event<'_> {
    /// The event as JSON text.
    pub fn to_json(&self) -> String {
        // Strings and integers only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
