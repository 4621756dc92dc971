//! The receive path of a compressed message (RFC 7692 section 7.2.2).
//!
//! Payload bytes are inflated as they arrive, frame by frame, and taken out
//! of the read buffer once inflated, so a compressed message never sits in
//! memory in both forms. The inflated bytes count against
//! [`Config::max_message_size`](crate::Config::max_message_size) while they
//! come out: the inflater's output buffer is capped at the limit plus one
//! byte, so "exactly at the limit" passes and "one over" fails with 1009,
//! having allocated no more than that. Text is validated as it comes out of
//! the inflater. In streaming mode the output leaves in chunks of at most
//! [`STREAM_CHUNK`] bytes.

use bytes::Buf;

use super::receive::{complete_message, end_frame};
use super::Connection;
use crate::error::ProtocolError;
use crate::message::{Event, Fragment, MessageKind};

/// The most inflated bytes one streaming-mode fragment carries.
pub(crate) const STREAM_CHUNK: usize = 16 * 1024;

impl Connection {
    /// Inflates what has arrived of the current frame of a compressed
    /// message, and produces the message (or, in streaming mode, a piece of
    /// it) when there is one. Clears `self.frame` once the frame is done.
    pub(super) fn advance_compressed(&mut self) -> Result<Option<Event>, ProtocolError> {
        let streaming = self.config.streaming;
        let max = self.config.max_message_size;
        let Self {
            input,
            frame: frame_slot,
            message: message_slot,
            deflate,
            ..
        } = self;
        let (Some(frame), Some(message), Some(deflate)) =
            (frame_slot.as_mut(), message_slot.as_mut(), deflate.as_mut())
        else {
            return Ok(None);
        };
        let Some(progress) = message.inflating.as_mut() else {
            return Ok(None);
        };
        let frame_done = frame.received == frame.len;
        let input_complete = frame_done && frame.header.fin;
        let limit = (max as u64).saturating_add(1);
        let left = usize::try_from(limit.saturating_sub(progress.produced)).unwrap_or(usize::MAX);
        let cap = progress.out.len()
            + if streaming {
                left.min(STREAM_CHUNK)
            } else {
                left
            };
        let before = progress.out.len();
        let inflated = deflate.inflate(progress, &input[..frame.buffered], input_complete, cap);
        // The checks run in the order the bytes arrive in, so that the error
        // reported does not depend on how reads were cut: the text inflated
        // so far (even before invalid data), then its size, then the data.
        if message.kind == MessageKind::Text {
            message
                .utf8
                .feed(&progress.out[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if progress.produced > max as u64 {
            return Err(ProtocolError::MessageTooBig {
                len: progress.produced,
                max,
            });
        }
        let (consumed, drained) = inflated.map_err(|_| ProtocolError::InvalidCompressedData)?;
        input.advance(consumed);
        frame.buffered -= consumed;
        let message_done = input_complete && drained;
        let frame_over = frame_done && drained;
        if message_done && message.kind == MessageKind::Text {
            message
                .utf8
                .finish()
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let event = if message_done {
            deflate.end_inflate(progress);
            let data = progress.take_out();
            Some(if streaming {
                Event::Fragment(Fragment {
                    kind: message.kind,
                    data,
                    is_first: !message.delivered_any,
                    is_last: true,
                })
            } else {
                Event::Message(complete_message(message.kind, data)?)
            })
        } else if streaming && !progress.out.is_empty() {
            Some(Event::Fragment(Fragment {
                kind: message.kind,
                data: progress.take_out(),
                is_first: !std::mem::replace(&mut message.delivered_any, true),
                is_last: false,
            }))
        } else {
            None
        };
        if frame_over {
            end_frame(input, frame_slot);
        }
        if message_done {
            *message_slot = None;
        }
        Ok(event)
    }
}
