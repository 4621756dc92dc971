//! Cutting an input into reads, with the cut points taken from the input.

/// Reads of `data` whose sizes cycle through `sizes`. A size of 0 makes an
/// empty read (a legal, if odd, call); if every size is 0, reads are one byte.
/// With no sizes, the whole of `data` is one read.
pub fn split<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![data];
    }
    let all_zero = sizes.iter().all(|&s| s == 0);
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = if all_zero { 1 } else { sizes[i % sizes.len()] };
        i += 1;
        let (read, tail) = rest.split_at(size.min(rest.len()));
        out.push(read);
        rest = tail;
    }
    out
}

/// A read size from one input byte: small sizes byte for byte, and with the
/// top bit set, multiples of 32 up to 4064, so a few bytes can describe both
/// one-byte dribbles and reads spanning whole frames.
pub fn size_from_byte(b: u8) -> usize {
    if b & 0x80 == 0 {
        b as usize
    } else {
        (b & 0x7f) as usize * 32
    }
}

/// The largest read.
pub fn largest(reads: &[&[u8]]) -> usize {
    reads.iter().map(|r| r.len()).max().unwrap_or(0)
}
