//! `make-cert DIR`: writes a fresh self-signed certificate for 127.0.0.1
//! to `DIR/cert.pem` and its key to `DIR/key.pem`, for the `tls` workload
//! of benches/echo.sh (which makes them in its temporary directory, so no
//! key is ever committed).

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: make-cert DIR");
        std::process::exit(2)
    };
    if let Err(e) = weir_bench_echo::tls::write_self_signed(std::path::Path::new(&dir)) {
        eprintln!("make-cert: {e}");
        std::process::exit(1)
    }
}
