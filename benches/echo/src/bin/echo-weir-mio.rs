//! weir-mio's low-level echo server: one `EventLoop` on one thread, the
//! handler echoes each message with `ws.send` (as weir-mio's
//! examples/autobahn-server.rs, with the default limits).

use weir_mio::{Config, EventLoop, Handler, Message, Ws};

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        // Refused only after close or with a full queue.
        let _ = ws.send(message);
    }
}

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let mut event_loop = EventLoop::new(Config::default())?;
    event_loop.listen(("127.0.0.1", port))?;
    weir_bench_echo::announce("weir-mio", port);
    event_loop.run(&mut Echo)
}
