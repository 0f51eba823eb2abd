//! Giving memory back to the kernel when departed connections free their queues.
//!
//! A departed client's frames are freed by whoever lets go of them last: its queue, its
//! writer's batch in flight, or the queues of the clients they were shared with. So memory is
//! given back once departures have been quiet for [`QUIET`] (or after [`MAX_WAITS`] waits),
//! not at the moment one of them is counted, when much of it may still be in use.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Handle;

/// How long departures must have stopped before memory is given back.
const QUIET: Duration = Duration::from_millis(300);

/// Under a steady stream of departures, memory still goes back after this many [`QUIET`]s.
const MAX_WAITS: u32 = 7;

/// Whether departed connections freed memory since it was last given back.
static FREED_SINCE_RETURN: AtomicBool = AtomicBool::new(false);

/// Whether a return is scheduled.
static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Departures counted so far, to tell whether any came during a wait.
static DEPARTURES: AtomicU64 = AtomicU64::new(0);

/// The runtime client writers run on, for departures counted elsewhere (a client read by
/// JavaScript leaves on its thread, outside any runtime).
static RUNTIME: OnceLock<Handle> = OnceLock::new();

/// Notes that a departed connection's queue freed `bytes`; memory goes back once departures are
/// quiet (see the module's documentation).
pub(crate) fn freed(bytes: usize) {
    if bytes > 0 {
        FREED_SINCE_RETURN.store(true, Ordering::Release);
    }
    schedule_return();
}

/// A running client writer. Its batch in flight may hold the last references to frames queued
/// for a client that left, so its end counts as a departure for [`schedule_return`].
pub(crate) struct ClientWriter(());

impl ClientWriter {
    /// Called where the writer is spawned, inside a tokio runtime.
    pub(crate) fn start() -> ClientWriter {
        if let Ok(runtime) = Handle::try_current() {
            RUNTIME.get_or_init(|| runtime);
        }
        ClientWriter(())
    }
}

impl Drop for ClientWriter {
    fn drop(&mut self) {
        if FREED_SINCE_RETURN.load(Ordering::Acquire) {
            schedule_return();
        }
    }
}

/// Whether to give memory back after `waits` waits of [`QUIET`], the last of which saw
/// departures go from `before` to `after`.
fn time_to_return(waits: u32, before: u64, after: u64) -> bool {
    before == after || waits >= MAX_WAITS
}

/// Clears [`SCHEDULED`] when the scheduled return ends, or is dropped with its runtime.
struct Scheduled;

impl Drop for Scheduled {
    fn drop(&mut self) {
        SCHEDULED.store(false, Ordering::Release);
    }
}

/// Gives memory back once departures have been quiet for [`QUIET`] (or after [`MAX_WAITS`]
/// waits); at once when no runtime is known.
fn schedule_return() {
    DEPARTURES.fetch_add(1, Ordering::AcqRel);
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    let scheduled = Scheduled;
    let Some(runtime) = Handle::try_current().ok().or_else(|| RUNTIME.get().cloned()) else {
        drop(scheduled);
        return_freed_memory();
        return;
    };
    runtime.spawn(async move {
        for waits in 1.. {
            let before = DEPARTURES.load(Ordering::Acquire);
            tokio::time::sleep(QUIET).await;
            if time_to_return(waits, before, DEPARTURES.load(Ordering::Acquire)) {
                break;
            }
        }
        // Cleared first: a departure from here on schedules the next return.
        drop(scheduled);
        if FREED_SINCE_RETURN.swap(false, Ordering::AcqRel) {
            // malloc_trim walks the whole heap: not on a worker thread.
            let _ = tokio::task::spawn_blocking(return_freed_memory).await;
        }
    });
}

/// Gives free heap memory back to the kernel: the addon keeps up to 256 MiB of it for the next
/// BLOBs (`M_TRIM_THRESHOLD`), which a departed slow client's queue should not occupy.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_once_departures_are_quiet_or_after_the_longest_wait() {
        assert!(time_to_return(1, 5, 5), "a quiet wait");
        assert!(!time_to_return(1, 5, 6), "a departure during the wait");
        assert!(!time_to_return(MAX_WAITS - 1, 5, 9));
        assert!(time_to_return(MAX_WAITS, 5, 9), "departures that never stop");
    }
}
