//! The per-thread buffers every connection polled on a thread shares, so
//! that none keeps one of its own between polls (an idle connection holds
//! no read or send buffer):
//!
//! - [`READ_BUF`]: reads land in its spare room, and the core takes what
//!   was read without a copy ([`Connection::receive_buf`]). A kept message
//!   keeps its read buffer alive; the buffer is renewed when little is
//!   left: in place when nothing holds a slice of it any more, in a new
//!   allocation otherwise.
//! - The send buffer ([`send_room`]): a connection with nothing queued
//!   borrows it whole to encode its next frames into
//!   ([`Connection::send_in`]), and gives it back once they are written
//!   ([`reclaim_send_room`]). While one connection has frames waiting for
//!   the transport, another on the same thread gets a new buffer.
//!
//! [`Connection::receive_buf`]: weir_proto::Connection::receive_buf
//! [`Connection::send_in`]: weir_proto::Connection::send_in

use bytes::BytesMut;
use weir_proto::Message;

/// The room a read buffer gets when it is made, and the most one read
/// takes: with 16 KiB messages, 8 in flight, a 16 KiB buffer took 2.17
/// system calls per echoed message, 64 KiB 0.82.
const READ_BUF_SIZE: usize = 64 * 1024;

/// Below this much room left, a read buffer is renewed ([`make_room`]).
const READ_BUF_MIN: usize = READ_BUF_SIZE / 4;

thread_local! {
    /// The buffer every connection polled on this thread reads into: each
    /// read's bytes are split off its front and handed to the core.
    pub(crate) static READ_BUF: std::cell::RefCell<BytesMut> = std::cell::RefCell::default();
}

/// Renews `read_buf` once less than [`READ_BUF_MIN`] is left in it.
///
/// Grown with `reserve` from empty, never made with
/// `BytesMut::with_capacity`: bytes remembers the capacity a buffer was
/// made with and gives at least that much to any slice of it that must
/// grow into an allocation of its own (an unfinished frame the core
/// extends, say), where a buffer grown from empty gives a slice what it
/// asks for.
pub(crate) fn make_room(read_buf: &mut BytesMut) {
    if read_buf.capacity() < READ_BUF_MIN {
        read_buf.reserve(READ_BUF_SIZE);
    }
}

/// Messages up to this size are encoded whole into room lent from this
/// thread's send buffer; larger payloads are queued as they are, not
/// copied, and only their frame header goes into the room.
const SEND_ROOM_MAX: usize = 2048;

/// The least room a new send buffer gets, so that a burst of small
/// messages queued together fits too.
const SEND_ROOM_MIN: usize = 512;

/// The largest send buffer kept for reuse (a burst of messages grows the
/// one it is encoded into).
const SEND_BUF_MAX: usize = 64 * 1024;

thread_local! {
    /// The buffer frames are encoded into (headers, and small payloads
    /// whole), lent whole to a connection with nothing queued
    /// ([`Connection::send_in`](weir_proto::Connection::send_in)) and given
    /// back once its frames are written ([`reclaim_send_room`]): no
    /// allocation, copy or reference count per message, and none held by
    /// an idle connection.
    static SEND_BUF: std::cell::Cell<Option<BytesMut>> = const { std::cell::Cell::new(None) };
}

/// Room for what `message`'s frame copies (header, and a small payload):
/// this thread's send buffer, taken out, if it is here and has that much
/// room; otherwise (another connection on this thread holds it until its
/// frames are written) a new allocation, which [`reclaim_send_room`] may
/// keep in its place.
pub(crate) fn send_room(message: &Message) -> BytesMut {
    let copied = if message.len() > SEND_ROOM_MAX {
        0
    } else {
        message.len()
    };
    let need = copied + weir_proto::frame::MAX_HEADER_LEN;
    match SEND_BUF.take() {
        Some(spare) if spare.capacity() >= need => spare,
        _ => BytesMut::with_capacity(need.max(SEND_ROOM_MIN)),
    }
}

/// Takes back the room a connection's written frames were encoded into
/// ([`Connection::advance_transmit_reclaim`]) as this thread's send
/// buffer, in place of any other (the latest one given back is the one
/// that is free).
///
/// [`Connection::advance_transmit_reclaim`]: weir_proto::Connection::advance_transmit_reclaim
pub(crate) fn reclaim_send_room(room: BytesMut) {
    if room.capacity() > SEND_BUF_MAX {
        return;
    }
    SEND_BUF.set(Some(room));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice of the read buffer that must grow (the core extending an
    /// unfinished frame) gets what it asks for, not the read buffer's size,
    /// before and after a renewal in a new allocation.
    #[test]
    fn slices_of_the_read_buffer_grow_by_what_they_need() {
        let mut read_buf = BytesMut::new();
        let mut kept = Vec::new();
        // Fills the buffer past two renewals, keeping every slice, so that
        // each renewal is a new allocation.
        for _ in 0..3 * READ_BUF_SIZE / 1000 {
            make_room(&mut read_buf);
            assert!(read_buf.capacity() >= READ_BUF_MIN);
            read_buf.extend_from_slice(&[7; 1000]);
            let mut slice = read_buf.split();
            slice.reserve(2000);
            assert!(slice.capacity() < 4 * 1024, "grew to {}", slice.capacity());
            kept.push(slice);
        }
    }

    /// The send buffer given back is the one lent next: one buffer serves
    /// message after message. While it is out, a message gets a new one;
    /// a message larger than the buffer given back gets a larger one.
    #[test]
    fn the_send_buffer_given_back_is_lent_again() {
        let small = Message::from("hello");
        let first = send_room(&small);
        let first_start = first.as_ptr();
        let while_out = send_room(&small);
        assert_ne!(
            while_out.as_ptr(),
            first_start,
            "a new buffer while it is out"
        );
        reclaim_send_room(first);
        let again = send_room(&small);
        assert_eq!(again.as_ptr(), first_start, "the same buffer");
        reclaim_send_room(again);
        let large = Message::from(vec![0; SEND_ROOM_MAX]);
        let larger = send_room(&large);
        assert!(larger.capacity() >= SEND_ROOM_MAX + weir_proto::frame::MAX_HEADER_LEN);
    }
}
