//! What this chapter's binaries share that is not the lesson.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use shared::process::{Fork, exit_child};
use shared::{CallContext, Result};

/// [`shared::process::fork`], with SIGINT, SIGTERM and SIGHUP held back until the parent has
/// registered the child.
///
/// `shared::process::fork` registers the child for the clean-up signal handler only once fork(2)
/// has returned in the parent. A Ctrl-C landing in between runs the handler before it knows the
/// child: the parent exits without stopping or reaping it. Blocked signals stay pending and are
/// delivered when we unblock them, after the registration. (A child starts with no pending
/// signals, and gets the old mask back too.)
pub fn fork_holding_signals() -> Result<Fork> {
    let mut held = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        held.add(signal);
    }
    let previous = held.thread_swap_mask(SigmaskHow::SIG_BLOCK).call("sigprocmask(SIG_BLOCK)")?;
    let forked = shared::process::fork();
    let restored = previous.thread_set_mask().call("sigprocmask(SIG_SETMASK)");
    match (forked, restored) {
        (Ok(Fork::Child), Err(err)) => {
            // Never return an error into the parent's code path from the child.
            eprintln!("{} (child): {err}", shared::cli::program_name());
            exit_child(1)
        }
        // In the parent, returning drops the child handle, which stops and reaps it.
        (forked, restored) => restored.and(forked),
    }
}
