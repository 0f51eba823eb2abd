//! Giving memory back to the kernel when departed connections free their queues.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Once departed connections' queues have freed this much, it is given back to the kernel (see
/// [`return_freed_memory`]); a thousand clients that leave with small queues add up too.
pub(crate) const RETURN_AFTER: usize = 16 << 20;

/// Bytes freed by departed connections since memory was last given back.
static FREED_SINCE_RETURN: AtomicUsize = AtomicUsize::new(0);

/// Counts `bytes` a departed connection's queue freed, and gives memory back once enough has
/// been freed (the rest goes back when the last client's writer ends, see [`ClientWriter`]).
pub(crate) fn freed(bytes: usize) {
    let total = FREED_SINCE_RETURN.fetch_add(bytes, Ordering::AcqRel) + bytes;
    if total > RETURN_AFTER {
        FREED_SINCE_RETURN.store(0, Ordering::Release);
        return_freed_memory();
    }
}

/// Client writer tasks running.
static CLIENT_WRITERS: AtomicUsize = AtomicUsize::new(0);

/// A running client writer. Its batch in flight may hold the last references to frames queued
/// for a client that left, so when the last one ends, what departed clients freed goes back
/// (not at their unregistration, which comes before their writers wake up and let go).
pub(crate) struct ClientWriter(());

impl ClientWriter {
    pub(crate) fn start() -> ClientWriter {
        CLIENT_WRITERS.fetch_add(1, Ordering::AcqRel);
        ClientWriter(())
    }
}

impl Drop for ClientWriter {
    fn drop(&mut self) {
        let last = CLIENT_WRITERS.fetch_sub(1, Ordering::AcqRel) == 1;
        if last && FREED_SINCE_RETURN.swap(0, Ordering::AcqRel) > 0 {
            return_freed_memory();
        }
    }
}

/// Gives free heap memory back to the kernel: the addon keeps up to 256 MiB of it for the next
/// BLOBs (`M_TRIM_THRESHOLD`), which a departed slow client's queue should not occupy.
pub(crate) fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
