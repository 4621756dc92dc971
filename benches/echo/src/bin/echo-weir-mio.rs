//! weir-mio's low-level echo server: one `EventLoop` on one thread, the
//! handler echoes each message with `ws.send` (as weir-mio's
//! examples/autobahn-server.rs, with the default limits).
//!
//! `echo-weir-mio PORT [takeover]`. permessage-deflate is accepted when a
//! client offers it: by default on weir's server terms,
//! `DeflateConfig::low_memory()` (no context takeover either way: an idle
//! connection holds no compression state); with `takeover`, on
//! `DeflateConfig::default()` (context takeover both ways: each connection
//! keeps its compressor and inflater). Both: 15-bit windows, zlib level 1,
//! messages under 128 bytes sent uncompressed.
//!
//! `echo-weir-mio PORT tls CERT.pem KEY.pem` serves `wss://` instead
//! (`EventLoop::listen_tls`, weir-tls's `ServerTls` from the PEM files).

use weir_mio::{
    AcceptOptions, Config, ConnInfo, DeflateConfig, EventLoop, Handler, Message, Rejection,
    UpgradeRequest, Ws,
};

struct Echo {
    takeover: bool,
}

impl Handler for Echo {
    fn on_upgrade(
        &mut self,
        _request: &UpgradeRequest,
        _info: &ConnInfo,
    ) -> Result<AcceptOptions, Rejection> {
        if self.takeover {
            Ok(AcceptOptions::default().with_deflate(Some(DeflateConfig::default())))
        } else {
            // The default answer, as a Handler without on_upgrade gives.
            Ok(AcceptOptions::default())
        }
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        // Refused only after close or with a full queue.
        let _ = ws.send(message);
    }
}

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let takeover = weir_bench_echo::takeover_arg();
    let mut event_loop = EventLoop::new(Config::default())?;
    match weir_bench_echo::tls::server_tls_arg() {
        Some(tls) => event_loop.listen_tls(("127.0.0.1", port), tls)?,
        None => event_loop.listen(("127.0.0.1", port))?,
    };
    let name = if takeover {
        "weir-mio-takeover"
    } else {
        "weir-mio"
    };
    weir_bench_echo::announce(name, port);
    event_loop.run(&mut Echo { takeover })
}
