//! Decodes the codec bench's `decode/KIND/LEN` batch BATCHES times with
//! weir, for counting instructions under callgrind (deterministic, unlike
//! timings on a busy machine):
//!
//! ```sh
//! cd benches && cargo build --release -p weir-bench-codec --example decode_ir
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/decode_ir binary 16 100
//! ```
//!
//! A fourth argument `owned` decodes through `receive_buf` instead
//! (`Entry::OwnedBuffer`).
//!
//! Instructions per message are the difference of the totals of two runs
//! (BATCHES = 100 and 200, say) divided by the messages in 100 batches,
//! which it prints: setup and the wire's construction cancel out.

use weir_bench_codec::{batch_count, masked_wire, message, weir_decode, Entry, Kind};
use weir_proto::{Config, Connection, Role};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, len, batches, owned) = match &args[..] {
        [kind, len, batches] => (kind, len, batches, false),
        [kind, len, batches, owned] if owned == "owned" => (kind, len, batches, true),
        _ => panic!("usage: decode_ir binary|text LEN BATCHES [owned]"),
    };
    let kind = match kind.as_str() {
        "binary" => Kind::Binary,
        "text" => Kind::Text,
        other => panic!("unknown kind {other}"),
    };
    let len: usize = len.parse().expect("LEN");
    let batches: usize = batches.parse().expect("BATCHES");
    let count = batch_count(len);
    let wire = masked_wire(&message(kind, len), count);
    for _ in 0..batches {
        let mut conn = Connection::new(Role::Server, Config::default()).expect("server");
        let entry = if owned {
            Entry::OwnedBuffer
        } else {
            Entry::Slice
        };
        let messages = weir_decode(&mut conn, &wire, entry);
        assert_eq!(messages, count);
    }
    println!("{}", count * batches);
}
