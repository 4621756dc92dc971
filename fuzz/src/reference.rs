//! An independent model of what a receiving endpoint reports for a byte
//! stream, written from RFC 6455 rather than from weir-proto's code:
//! byte-at-a-time unmasking, UTF-8 checked by `std::str::from_utf8` over the
//! whole message so far, the close-code table re-derived from section 7.4
//! and the IANA registry. It is slow and simple on purpose.
//!
//! Where the RFC leaves a choice, the model follows weir-proto's documented
//! one: the order of header checks (opcode and length encoding, then RSV,
//! masking by role, control-frame rules or fragment sequence, then the size
//! limits), size limits checked at the header before any payload, invalid
//! UTF-8 reported as soon as the offending byte has arrived (fail fast), and
//! in streaming mode every arrived payload byte delivered at once.

use bytes::Bytes;
use weir_proto::{
    CloseCode, CloseFrame, Config, Event, Fragment, Message, MessageKind, ProtocolError, Role,
    Utf8Bytes,
};

/// What the model says a fresh endpoint reports for `data` received whole.
#[derive(Debug)]
pub struct Outcome {
    pub events: Vec<Result<Event, ProtocolError>>,
    /// The data ended exactly between two frames (nothing left over).
    pub at_frame_boundary: bool,
}

struct Msg {
    kind: MessageKind,
    /// Every payload byte of the message so far (unmasked).
    data: Vec<u8>,
    /// Payload bytes announced by its frame headers.
    announced: u64,
    delivered_any: bool,
}

/// A close code that may appear on the wire (RFC 6455 7.4.1, 7.4.2; IANA:
/// 1012-1014 registered; 1004 reserved; 1005, 1006, 1015 local only).
fn code_allowed(code: u16) -> bool {
    let defined = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
    ];
    defined.contains(&code) || (3000..5000).contains(&code)
}

/// Whether `bytes` may still become valid UTF-8 (valid, or valid up to a
/// code point cut short at the end).
fn utf8_prefix_ok(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

pub fn receive(role: Role, config: &Config, data: &[u8]) -> Outcome {
    let mut events = Vec::new();
    let at_frame_boundary = run(role, config, data, &mut events);
    Outcome {
        events,
        at_frame_boundary,
    }
}

/// Returns whether the data ended between frames; pushes events.
fn run(
    role: Role,
    config: &Config,
    data: &[u8],
    events: &mut Vec<Result<Event, ProtocolError>>,
) -> bool {
    let mut pos = 0usize;
    let mut msg: Option<Msg> = None;
    macro_rules! fail {
        ($e:expr) => {{
            events.push(Err($e));
            return false;
        }};
    }
    loop {
        let rest = &data[pos..];
        if rest.len() < 2 {
            return rest.is_empty();
        }
        let (b0, b1) = (rest[0], rest[1]);
        let op = b0 & 0x0f;
        if !matches!(op, 0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xa) {
            fail!(ProtocolError::UnknownOpcode(op));
        }
        let mut header_len = 2;
        let len: u64 = match b1 & 0x7f {
            126 => {
                if rest.len() < 4 {
                    return false;
                }
                header_len = 4;
                (rest[2] as u64) << 8 | rest[3] as u64
            }
            127 => {
                if rest.len() < 10 {
                    return false;
                }
                header_len = 10;
                let mut v = 0u64;
                for &b in &rest[2..10] {
                    v = v << 8 | b as u64;
                }
                if v >= 1 << 63 {
                    fail!(ProtocolError::InvalidPayloadLength);
                }
                v
            }
            n => n as u64,
        };
        let key = if b1 & 0x80 != 0 {
            if rest.len() < header_len + 4 {
                return false;
            }
            let k = [
                rest[header_len],
                rest[header_len + 1],
                rest[header_len + 2],
                rest[header_len + 3],
            ];
            header_len += 4;
            Some(k)
        } else {
            None
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        if rsv != 0 {
            fail!(ProtocolError::ReservedBits(rsv));
        }
        match (role, key.is_some()) {
            (Role::Server, false) => fail!(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => fail!(ProtocolError::MaskedFrame),
            _ => {}
        }
        let control = op >= 0x8;
        if control {
            if !fin {
                fail!(ProtocolError::FragmentedControlFrame);
            }
            if len > 125 {
                fail!(ProtocolError::ControlFrameTooLong(len));
            }
        } else {
            match (op, msg.is_some()) {
                (0x0, false) => fail!(ProtocolError::UnexpectedContinuation),
                (0x1 | 0x2, true) => fail!(ProtocolError::ExpectedContinuation),
                _ => {}
            }
        }
        if len > config.max_frame_size as u64 {
            fail!(ProtocolError::FrameTooBig {
                len,
                max: config.max_frame_size
            });
        }
        if !control {
            let total = msg.as_ref().map_or(0, |m| m.announced).saturating_add(len);
            if total > config.max_message_size as u64 {
                fail!(ProtocolError::MessageTooBig {
                    len: total,
                    max: config.max_message_size
                });
            }
        }
        if op == 0x1 || op == 0x2 {
            msg = Some(Msg {
                kind: if op == 0x1 {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                },
                data: Vec::new(),
                announced: 0,
                delivered_any: false,
            });
        }
        let body = &rest[header_len..];
        let arrived = (len as usize).min(body.len());
        let payload: Vec<u8> = body[..arrived]
            .iter()
            .enumerate()
            .map(|(i, &b)| match key {
                Some(k) => b ^ k[i % 4],
                None => b,
            })
            .collect();
        let complete = arrived as u64 == len;
        if control {
            if !complete {
                return false;
            }
            pos += header_len + arrived;
            let payload = Bytes::from(payload);
            match op {
                0x9 => events.push(Ok(Event::Ping(payload))),
                0xa => events.push(Ok(Event::Pong(payload))),
                _ => {
                    let close = match payload.len() {
                        0 => None,
                        1 => fail!(ProtocolError::InvalidCloseLength),
                        _ => {
                            let code = (payload[0] as u16) << 8 | payload[1] as u16;
                            if !code_allowed(code) {
                                fail!(ProtocolError::InvalidCloseCode(code));
                            }
                            let Ok(reason) = Utf8Bytes::try_from(payload.slice(2..)) else {
                                fail!(ProtocolError::InvalidCloseReason);
                            };
                            Some(CloseFrame {
                                code: CloseCode::new(code),
                                reason,
                            })
                        }
                    };
                    events.push(Ok(Event::Close(close)));
                    // Nothing after the peer's Close is read.
                    return false;
                }
            }
            continue;
        }
        let m = msg.as_mut().expect("a data frame has a message");
        m.announced += len;
        m.data.extend_from_slice(&payload);
        if m.kind == MessageKind::Text && !utf8_prefix_ok(&m.data) {
            fail!(ProtocolError::InvalidUtf8);
        }
        if !complete {
            if config.streaming && arrived > 0 {
                events.push(Ok(Event::Fragment(Fragment {
                    kind: m.kind,
                    data: Bytes::from(payload),
                    is_first: !m.delivered_any,
                    is_last: false,
                })));
            }
            return false;
        }
        pos += header_len + arrived;
        if fin && m.kind == MessageKind::Text && std::str::from_utf8(&m.data).is_err() {
            fail!(ProtocolError::InvalidUtf8);
        }
        if config.streaming {
            if !payload.is_empty() || fin {
                events.push(Ok(Event::Fragment(Fragment {
                    kind: m.kind,
                    data: Bytes::from(payload),
                    is_first: !m.delivered_any,
                    is_last: fin,
                })));
                m.delivered_any = true;
            }
        } else if fin {
            let whole = Bytes::from(std::mem::take(&mut m.data));
            events.push(Ok(Event::Message(match m.kind {
                MessageKind::Binary => Message::Binary(whole),
                MessageKind::Text => {
                    Message::Text(Utf8Bytes::try_from(whole).expect("checked above"))
                }
            })));
        }
        if fin {
            msg = None;
        }
    }
}
