//! `soak`: the driver of the soak test. Starts `soak-server` as a child
//! process and runs two phases against it (see `scripts/soak.sh` and the
//! README's "Soak" paragraph):
//! - the soak ([`soak`]): churning clients ([`churn`], checked by
//!   [`traffic`]), a flood ([`flood`]) and a latency probe ([`probe`]);
//!   the server's memory and descriptors must come back to where they
//!   were, its callbacks must pair up, no echo may be lost;
//! - isolation ([`isolation`]): a flooding peer must not hold another
//!   client's echo on the same worker;
//! - the low descriptor limit ([`low_fd`]): the server runs out of
//!   descriptors and must recover by itself.
//!
//! Prints a summary and exits non-zero if a phase failed (1) or could not
//! run (2).

mod args;
mod churn;
mod flood;
mod isolation;
mod low_fd;
mod probe;
mod report;
mod server;
mod soak;
mod traffic;

use std::process::ExitCode;

use args::{Args, Mode, USAGE};

/// A phase: `Ok(true)` if it passed, `Err` if it could not run.
type Phase = fn(&Args) -> Result<bool, String>;

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("soak: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut phases: Vec<Phase> = Vec::new();
    let all = args.mode == Mode::All;
    if all || args.mode == Mode::Soak {
        phases.push(soak::run);
    }
    if all || args.mode == Mode::Isolation {
        phases.push(isolation::run);
    }
    if all || args.mode == Mode::LowFd {
        phases.push(low_fd::run);
    }
    let mut passed = true;
    for phase in phases {
        match phase(&args) {
            Ok(ok) => passed &= ok,
            Err(problem) => {
                eprintln!("soak: {problem}");
                return ExitCode::from(2);
            }
        }
    }
    println!("result: {}", if passed { "PASS" } else { "FAIL" });
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
