//! [`ReadBuf`]: the loop's one read buffer, whose bytes the core then owns.
//!
//! Every connection reads into the same block of memory, one read after
//! another, each into the room left after the last. The bytes of a read
//! are split off the block ([`ReadBuf::take`]) and handed to the core
//! ([`Connection::receive_buf`](weir_proto::Connection::receive_buf)),
//! which parses them in place and hands messages out as slices of them:
//! no copy in user space. A connection that reads again with nobody else
//! reading in between gets bytes that continue its last ones, which the
//! core joins without a copy (a frame larger than one read). The rest of
//! a frame larger than a block does not come here: it is read straight
//! into the room the core reserves for it (`Conn::read_in_place`).
//!
//! When less than a quarter of the block is left, the loop moves on: back
//! to the start of the same block if nothing else holds a piece of it any
//! more, else to a new block. An old block lives on while any of its
//! pieces does (a message the application keeps, a payload queued for
//! sending, an unfinished frame of more than 4 KiB: the core moves smaller
//! remainders into a buffer of their own) and is freed with the last of
//! them. An idle connection holds none.
//!
//! A plain socket is read straight into the block's uninitialized room
//! (`recv` into `MaybeUninit` bytes; a safe API would have to zero the
//! room first, which callgrind measured at more than the copy saved: 29.5k
//! instructions per 16 KiB message instead of 24.8k). A TLS session's
//! plaintext is copied out of rustls into the room, which rustls's reader
//! does anyway.

use std::io;

use bytes::BytesMut;

use crate::conn::Conn;

/// The loop's read buffer; see the module docs.
pub(crate) struct ReadBuf {
    /// The block: no bytes (between reads) or those of the last read,
    /// then the room for the next reads.
    buf: BytesMut,
    /// The size of a block.
    size: usize,
}

impl ReadBuf {
    /// A read buffer in blocks of `size` bytes (at least 4), the first
    /// allocated at the first read.
    pub(crate) fn new(size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            size: size.max(4),
        }
    }

    /// Reads once from `conn` (through TLS, if any), in place of the bytes
    /// of the last read if they were not taken. `Ok(0)` is the end of
    /// input; otherwise the bytes read, and whether they filled the room
    /// offered (if not, a plain socket was empty).
    pub(crate) fn read(&mut self, conn: &mut Conn) -> io::Result<(usize, bool)> {
        self.buf.clear();
        if self.buf.capacity() < self.size / 4 {
            // Back to the start of the block if it is ours alone, else a
            // new block.
            self.buf.reserve(self.size);
        }
        let room = self.buf.capacity();
        let n = conn.read_input(&mut self.buf)?;
        Ok((n, n == room))
    }

    /// The bytes of the last read.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.buf
    }

    /// Splits the bytes of the last read off the block, for the core to
    /// own.
    pub(crate) fn take(&mut self) -> BytesMut {
        self.buf.split()
    }
}

/// Reads from `socket` into the spare capacity of `buf` and adds the bytes
/// read to it; returns how many. Never allocates.
#[allow(unsafe_code)]
pub(crate) fn recv_into(socket: &mio::net::TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    let ((read, _), _) = rustix::net::recv(
        socket,
        buf.spare_capacity_mut(),
        rustix::net::RecvFlags::empty(),
    )?;
    let n = read.len();
    // SAFETY: `recv` initialized the first `n` bytes of the spare capacity
    // (rustix hands them back as the initialized slice `read`, never longer
    // than the spare capacity), which now follow the `len` bytes of `buf`.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream as StdTcpStream};
    use std::time::{Duration, Instant};

    use super::*;

    /// A connected pair: the std end to write into, the mio end to read.
    fn pair() -> (StdTcpStream, mio::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let writer = StdTcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        reader.set_nonblocking(true).unwrap();
        (writer, mio::net::TcpStream::from_std(reader))
    }

    /// Retries `recv_into` until the socket has something.
    fn recv_some(socket: &mio::net::TcpStream, buf: &mut BytesMut) -> usize {
        let start = Instant::now();
        loop {
            match recv_into(socket, buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(start.elapsed() < Duration::from_secs(5), "nothing arrived");
                    std::thread::sleep(Duration::from_millis(1));
                }
                other => return other.unwrap(),
            }
        }
    }

    /// The edges of the one `unsafe` block: bytes land after those `buf`
    /// holds, a read never goes past the capacity (more waiting than
    /// room), and an empty socket adds nothing.
    #[test]
    fn recv_into_appends_within_the_spare_capacity() {
        let (mut writer, reader) = pair();
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(b"ab");
        let capacity = buf.capacity();
        writer.write_all(&[7; 100]).unwrap();
        let n = recv_some(&reader, &mut buf);
        assert_eq!(n, capacity - 2, "filled the room, no more");
        assert_eq!(buf.len(), capacity);
        assert_eq!(&buf[..2], b"ab");
        assert!(buf[2..].iter().all(|&byte| byte == 7));
        // What is left comes with the next reads, in order.
        let mut rest = BytesMut::with_capacity(200);
        while rest.len() < 100 - n {
            recv_some(&reader, &mut rest);
        }
        assert_eq!(rest.len(), 100 - n);
        let err = recv_into(&reader, &mut rest).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(rest.len(), 100 - n);
        drop(writer);
        assert_eq!(recv_some(&reader, &mut rest), 0, "end of input");
    }

    /// Reads go one after another into the same block; once less than a
    /// quarter is left, back to its start when no piece of it is alive,
    /// else into a new block, the old one staying with its piece.
    #[test]
    fn blocks_are_reused_once_no_piece_is_alive() {
        let (mut writer, reader) = pair();
        let mut conn = Conn::new(
            Some(reader),
            weir_proto::Role::Server,
            crate::conn::Phase::Answering,
            mio::Interest::READABLE,
        );
        let mut read_buf = ReadBuf::new(64);
        let mut read = |bytes: &[u8]| {
            writer.write_all(bytes).unwrap();
            let start = Instant::now();
            loop {
                match read_buf.read(&mut conn) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        assert!(start.elapsed() < Duration::from_secs(5));
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    other => break (other.unwrap().0, read_buf.take()),
                }
            }
        };
        let (n, first) = read(&[1; 24]);
        assert_eq!((n, &first[..]), (24, &[1; 24][..]));
        let (_, second) = read(&[2; 24]);
        assert_eq!(
            second.as_ptr(),
            first.as_ptr().wrapping_add(24),
            "contiguous"
        );
        // 16 bytes left, a quarter: not less, so the same block again.
        let (_, third) = read(&[3; 8]);
        assert_eq!(third.as_ptr(), second.as_ptr().wrapping_add(24));
        // 8 left: a new block, since pieces of the old one are alive.
        let (_, fourth) = read(&[4; 8]);
        let old = first.as_ptr();
        assert!(fourth.as_ptr() != third.as_ptr().wrapping_add(8));
        assert_eq!((&first[..], &third[..]), (&[1; 24][..], &[3; 8][..]));
        drop((first, second, third));
        // Once the new block is used up and no piece is alive, its start.
        let new = fourth.as_ptr();
        let (_, fifth) = read(&[5; 56]);
        assert_eq!(fifth.as_ptr(), new.wrapping_add(8));
        drop((fourth, fifth));
        let (_, sixth) = read(&[6; 8]);
        assert_eq!(sixth.as_ptr(), new, "the block is reused");
        assert_ne!(sixth.as_ptr(), old);
    }
}
