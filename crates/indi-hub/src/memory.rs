//! Giving memory back to the kernel when departed connections free their queues.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Once departed connections' queues have freed this much, it is given back to the kernel (see
/// [`return_freed_memory`]); a thousand clients that leave with small queues add up too.
pub(crate) const RETURN_AFTER: usize = 16 << 20;

/// Bytes freed by departed connections since memory was last given back.
static FREED_SINCE_RETURN: AtomicUsize = AtomicUsize::new(0);

/// Counts `bytes` a departed connection's queue freed, and gives memory back once enough has
/// been freed, or when the last client has gone.
pub(crate) fn freed(bytes: usize, last_client: bool) {
    let total = FREED_SINCE_RETURN.fetch_add(bytes, Ordering::AcqRel) + bytes;
    if total > RETURN_AFTER || (last_client && total > 0) {
        FREED_SINCE_RETURN.store(0, Ordering::Release);
        return_freed_memory();
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
