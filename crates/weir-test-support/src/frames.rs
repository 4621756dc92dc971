//! Frames built and read by hand (RFC 6455 section 5.2), without the core:
//! a raw peer uses them to send what weir would refuse to encode (an
//! unmasked client frame, a bad opcode) and to check the exact bytes a
//! server wrote.

use std::io::Read;

/// A frame with FIN set, `opcode` in the low bits of the first byte, masked
/// with `mask` if given (as a client must) and unmasked otherwise.
pub fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Reads one server frame: its first byte (FIN, RSV and opcode) and its
/// payload. Fails the test if the frame is masked, if the stream ends or
/// errs before the frame does.
pub fn read_frame(stream: &mut impl Read) -> (u8, Vec<u8>) {
    let mut head = [0; 2];
    stream.read_exact(&mut head).expect("a frame header");
    assert_eq!(head[1] & 0x80, 0, "a server frame must not be masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0; 2];
            stream.read_exact(&mut ext).expect("a 16-bit length");
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0; 8];
            stream.read_exact(&mut ext).expect("a 64-bit length");
            u64::from_be_bytes(ext)
        }
        len => u64::from(len),
    };
    // `take` reads no more than the frame holds and allocates only what
    // arrives, whatever the length claims.
    let mut payload = Vec::new();
    stream
        .take(len)
        .read_to_end(&mut payload)
        .expect("a frame payload");
    assert_eq!(payload.len() as u64, len, "the stream ended inside a frame");
    (head[0], payload)
}
