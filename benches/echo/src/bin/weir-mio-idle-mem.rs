//! Diagnostic, not one of the measured servers: weir-mio's echo server
//! (as echo-weir-mio) under a counting global allocator. Every 500 ms, when
//! the numbers changed, it prints the live heap bytes and blocks and the
//! connection count to stderr; with `loadgen --idle N` this tells the heap
//! bytes an idle connection holds, apart from allocator overhead and
//! fragmentation (which VmRSS includes), and the sizes of the blocks that
//! (nearly) every connection holds.
//!
//! `weir-mio-idle-mem PORT [autobahn|server]`: with `autobahn`, the
//! configuration of weir-mio's `autobahn-server` example (frames and
//! messages up to 64 MiB, a send queue of 128 MiB); with `server`, the
//! server API's echo instead (as weir-mio's `echo` example: one worker,
//! route `/*`).
//!
//! A loop's slot table reserves room for 1024 connections (192 KiB) when
//! the listener takes its first slot, before the first report: count a
//! connection's heap from the loop's heap before that (the `0 connections`
//! line less 196,608 bytes), not from the first line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use weir_mio::server::{Server, Socket, WsHandler};
use weir_mio::{weir_proto, Config, EventLoop, Handler, Message, Ws};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Live blocks by size, for sizes below 4096 bytes.
static BY_SIZE: [AtomicIsize; 4096] = [const { AtomicIsize::new(0) }; 4096];

fn count_size(size: usize, delta: isize) {
    if let Some(slot) = BY_SIZE.get(size) {
        slot.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        count_size(layout.size(), 1);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
        count_size(layout.size(), -1);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        count_size(layout.size(), -1);
        count_size(new_size, 1);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        let _ = ws.send(message);
    }
}

impl WsHandler for Echo {
    type State = ();

    fn on_message(&self, ws: &Socket, _state: &mut (), message: Message) {
        let _ = ws.send(message);
    }
}

/// Runs `turn` (which returns the connection count) and reports the heap
/// every 500 ms, when it changed.
fn report_heap(mut turn: impl FnMut() -> std::io::Result<usize>) -> std::io::Result<()> {
    eprintln!(
        "size_of::<weir_proto::Connection>() = {} B",
        std::mem::size_of::<weir_mio::weir_proto::Connection>()
    );
    let mut last = (0, 0, 0);
    let mut next_report = Instant::now();
    loop {
        let connections = turn()?;
        if Instant::now() >= next_report {
            next_report += Duration::from_millis(500);
            let now = (
                LIVE_BYTES.load(Ordering::Relaxed),
                LIVE_BLOCKS.load(Ordering::Relaxed),
                connections,
            );
            if now != last {
                eprintln!(
                    "live heap: {} B in {} blocks; {} connections",
                    now.0, now.1, now.2
                );
                last = now;
                // Block sizes held by (nearly) every connection.
                let many = (now.2 as isize * 9 / 10).max(1);
                for (size, count) in BY_SIZE.iter().enumerate() {
                    let count = count.load(Ordering::Relaxed);
                    if now.2 > 0 && count >= many {
                        eprintln!("  {count} live blocks of {size} B");
                    }
                }
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let mode = std::env::args().nth(2).unwrap_or_default();
    if mode == "server" {
        let server = Server::builder()
            .bind(("127.0.0.1", port))
            .route("/*", Echo)
            .build()?;
        let handle = server.handle();
        std::thread::spawn(move || server.run());
        weir_bench_echo::announce("weir-mio-idle-mem (server API)", port);
        return report_heap(|| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(handle.connection_count())
        });
    }
    let mut config = Config::default();
    if mode == "autobahn" {
        config = config.with_connection(
            weir_proto::Config::default()
                .with_max_frame_size(64 << 20)
                .with_max_message_size(64 << 20)
                .with_max_send_queue(128 << 20),
        );
    }
    let mut event_loop = EventLoop::new(config)?;
    event_loop.listen(("127.0.0.1", port))?;
    weir_bench_echo::announce("weir-mio-idle-mem", port);
    report_heap(|| {
        event_loop.run_once(&mut Echo, Some(Duration::from_millis(100)))?;
        Ok(event_loop.connection_count())
    })
}
