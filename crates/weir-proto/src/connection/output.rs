//! The queue of encoded bytes waiting to be written to the transport.
//!
//! Small frames are encoded into one contiguous staging buffer, so a burst of
//! small messages leaves as one write. A large unmasked payload is not copied:
//! its [`Bytes`] is queued as it is, after its header, ready for a vectored
//! write. Masked payloads (a client's) are copied once, masking as they go.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::apply_mask;

/// Unmasked payloads up to this size are copied next to their header rather
/// than queued as a separate chunk: a copy this small costs less than an
/// extra `IoSlice` and a reference count.
const INLINE_PAYLOAD_MAX: usize = 2048;

/// Encoded frames in send order.
///
/// Idle (nothing queued), it holds no allocation: the staging buffer is
/// empty and the queue of chunks, boxed, is `None`. Most connections send
/// only small frames and never need the queue.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Bytes encoded after the last chunk, not yet cut into a chunk.
    staging: BytesMut,
    /// Chunks ready to write, before the staged bytes; `None` when there
    /// are none.
    chunks: Option<Box<Chunks>>,
}

/// Chunks ready to write, oldest first.
#[derive(Debug, Default)]
struct Chunks {
    queue: VecDeque<Bytes>,
    /// Total bytes in `queue`.
    len: usize,
}

impl Output {
    /// Encodes one frame. A masked header (`header.mask` set) masks the
    /// payload as it is copied.
    pub(crate) fn push_frame(&mut self, header: &FrameHeader, payload: &Bytes) {
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let Some(key) = header.mask else {
            return self.push_encoded(&head, head_len, payload);
        };
        self.staging.reserve(head_len + payload.len());
        self.staging.extend_from_slice(&head[..head_len]);
        let start = self.staging.len();
        self.staging.extend_from_slice(payload);
        apply_mask(&mut self.staging[start..], key, 0);
    }

    /// Queues a frame whose header is already encoded (unmasked), the first
    /// `head_len` bytes of `head`: small payloads are copied beside it,
    /// large ones shared.
    #[inline]
    pub(crate) fn push_encoded(
        &mut self,
        head: &[u8; MAX_HEADER_LEN],
        head_len: usize,
        payload: &Bytes,
    ) {
        if payload.len() <= INLINE_PAYLOAD_MAX {
            // One allocation (or none) for both, not one and a regrowth.
            // The whole header array is copied (a fixed size: no call to
            // memcpy), then cut back to the header's length.
            let start = self.staging.len();
            self.staging.reserve(MAX_HEADER_LEN + payload.len());
            self.staging.extend_from_slice(head);
            self.staging.truncate(start + head_len);
            self.staging.extend_from_slice(payload);
        } else {
            self.staging.extend_from_slice(&head[..head_len]);
            self.cut_staging();
            self.push_chunk(payload.clone());
        }
    }

    /// Takes `room` as the staging buffer if there is none (nothing
    /// queued): see [`Connection::send_in`](super::Connection::send_in).
    pub(crate) fn lend(&mut self, room: BytesMut) {
        if self.staging.capacity() == 0 && self.chunks.is_none() {
            self.staging = room;
            self.staging.clear();
        }
    }

    /// Bytes waiting to be written.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.staging.len() + self.chunks.as_ref().map_or(0, |chunks| chunks.len)
    }

    /// The oldest chunk (or the staged bytes, when no chunk is queued),
    /// removed from the queue.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        let chunk = match &mut self.chunks {
            Some(chunks) => {
                let chunk = chunks.queue.pop_front()?;
                chunks.len -= chunk.len();
                if chunks.queue.is_empty() {
                    self.chunks = None;
                }
                chunk
            }
            None if self.staging.is_empty() => return None,
            None => self.staging.split().freeze(),
        };
        self.release_if_drained();
        Some(chunk)
    }

    /// Fills `slices` with the oldest chunks, then the staged bytes, and
    /// returns how many it filled. The staged bytes are lent as they are,
    /// not cut into a chunk: a connection that sends small messages then
    /// allocates nothing beyond its staging buffer.
    pub(crate) fn fill_slices<'a>(&'a mut self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        if let Some(chunks) = self.chunks.as_deref() {
            for (slot, chunk) in slices.iter_mut().zip(&chunks.queue) {
                *slot = IoSlice::new(chunk);
                filled += 1;
            }
        }
        if let Some(slot) = slices.get_mut(filled).filter(|_| !self.staging.is_empty()) {
            *slot = IoSlice::new(&self.staging);
            filled += 1;
        }
        filled
    }

    /// Drops the first `written` bytes, which the transport has taken: from
    /// the chunks, oldest first, then from the staged bytes. Counts beyond
    /// what is queued are ignored. Once everything is written, returns the
    /// staging buffer (empty, with its capacity), which the connection no
    /// longer holds: see [`Output::release_if_drained`].
    pub(crate) fn advance(&mut self, mut written: usize) -> Option<BytesMut> {
        if let Some(chunks) = &mut self.chunks {
            while written > 0 {
                let Some(front) = chunks.queue.front_mut() else {
                    break;
                };
                let step = written.min(front.len());
                front.advance(step);
                chunks.len -= step;
                written -= step;
                if front.is_empty() {
                    chunks.queue.pop_front();
                }
            }
            if chunks.queue.is_empty() {
                self.chunks = None;
            }
        }
        if written >= self.staging.len() {
            // Cheaper than advancing, and leaves the whole capacity to reuse.
            self.staging.clear();
        } else {
            self.staging.advance(written);
        }
        self.take_if_drained()
    }

    /// Capacity held by the staging buffer, for memory accounting.
    pub(crate) fn capacity(&self) -> usize {
        self.staging.capacity()
    }

    /// Once everything is written, gives the staging buffer back: an idle
    /// connection holds no send memory. With no spare capacity left, the
    /// staging buffer may still share the allocation of the chunks split
    /// from it, so it is dropped whatever its capacity.
    pub(crate) fn release_if_drained(&mut self) {
        self.take_if_drained();
    }

    /// Takes the staging buffer out if everything is written, and returns
    /// it if it has room left (one without may still hold a reference to
    /// an allocation; it is dropped).
    fn take_if_drained(&mut self) -> Option<BytesMut> {
        if !self.staging.is_empty() || self.chunks.is_some() {
            return None;
        }
        let staging = std::mem::take(&mut self.staging);
        (staging.capacity() > 0).then_some(staging)
    }

    /// Queues `chunk` after the others.
    fn push_chunk(&mut self, chunk: Bytes) {
        let chunks = self.chunks.get_or_insert_with(Default::default);
        chunks.len += chunk.len();
        chunks.queue.push_back(chunk);
    }

    /// Moves the staged bytes into a chunk of their own. The staging buffer
    /// keeps the rest of its allocation for the frames that follow.
    fn cut_staging(&mut self) {
        if !self.staging.is_empty() {
            let staged = self.staging.split().freeze();
            self.push_chunk(staged);
        }
    }
}
