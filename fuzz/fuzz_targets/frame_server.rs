//! Arbitrary bytes from a client, in arbitrary reads, to a server
//! `Connection`. See `weir_fuzz::frames` for the input layout and oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_proto::Role;

fuzz_target!(|data: &[u8]| {
    weir_fuzz::frames::check(Role::Server, data);
});
