//! Buffers for decoded BLOBs, given back when their reader is done with them (a JS `Buffer`
//! collected) and taken again for the next BLOBs. Fresh memory costs a page fault or a mapping
//! per 4 KiB, more than decoding into it; a buffer that comes back has its pages mapped, and
//! decoding into it costs the decoding alone.
//!
//! What is kept is bounded in bytes, and dropped when nothing was taken for a while: a stream
//! of BLOBs reuses its buffers, a client that has gone quiet holds nothing.

use bytes::{Bytes, BytesMut};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buffers smaller than this are left to the allocator (its own free lists serve them well).
pub const SMALLEST: usize = 64 << 10;
/// A buffer is taken for a BLOB of at least this fraction of its capacity (1 / `SPARE`), so
/// a small BLOB never holds a large buffer.
const SPARE: usize = 2;

/// Buffers given back, for BLOBs to come (see the module documentation).
pub struct BufferPool {
    limit: usize,
    idle: Duration,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
    last_take: Option<Instant>,
}

impl BufferPool {
    /// A pool keeping at most `limit` bytes, emptied when nothing was taken for `idle`.
    pub const fn new(limit: usize, idle: Duration) -> Self {
        BufferPool { limit, idle, kept: Mutex::new(Kept { buffers: Vec::new(), bytes: 0, last_take: None }) }
    }

    /// An empty buffer with room for `len` bytes, if one was given back, and how much of it
    /// was filled then (has its pages mapped); `None` when the caller must allocate.
    pub fn take(&self, len: usize) -> Option<(BytesMut, usize)> {
        if len < SMALLEST {
            return None;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.last_take = Some(Instant::now());
        let fits = |b: &Vec<u8>| b.capacity() >= len && b.capacity() / SPARE <= len;
        let (at, _) = kept.buffers.iter().enumerate().filter(|(_, b)| fits(b)).min_by_key(|(_, b)| b.capacity())?;
        let mut buffer = kept.buffers.swap_remove(at);
        kept.bytes -= buffer.capacity();
        let filled = buffer.len();
        buffer.clear();
        // Not a copy: the only owner's memory changes hands, capacity and all.
        Some((BytesMut::from(Bytes::from(buffer)), filled))
    }

    /// Keeps `buffer` (its bytes no longer needed) for a later [`BufferPool::take`] if it is
    /// worth keeping and there is room.
    pub fn give(&self, buffer: Vec<u8>) {
        if buffer.capacity() < SMALLEST {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.last_take.is_none_or(|at| at.elapsed() > self.idle) {
            // Collected long after the stream it served: that memory goes back to the system.
            kept.buffers = Vec::new();
            kept.bytes = 0;
            return;
        }
        if kept.bytes + buffer.capacity() <= self.limit {
            kept.bytes += buffer.capacity();
            kept.buffers.push(buffer);
        }
    }

    /// Bytes kept now.
    pub fn kept_bytes(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn pool() -> BufferPool {
        BufferPool::new(4 * MIB, Duration::from_secs(60))
    }

    #[test]
    fn a_buffer_given_back_is_taken_again_with_its_memory() {
        let pool = pool();
        assert!(pool.take(MIB).is_none(), "nothing given yet");
        let mut first = Vec::with_capacity(MIB);
        first.extend_from_slice(&[7; 1000]);
        let at = first.as_ptr();
        pool.give(first);
        assert_eq!(pool.kept_bytes(), MIB);
        let (again, filled) = pool.take(MIB - 10).expect("the buffer given back");
        assert_eq!((again.as_ptr(), again.len(), again.capacity(), filled, pool.kept_bytes()), (at, 0, MIB, 1000, 0));
    }

    #[test]
    fn the_smallest_fitting_buffer_is_taken_and_never_one_twice_too_large() {
        let pool = pool();
        assert!(pool.take(MIB).is_none(), "nothing given yet");
        for size in [3 * MIB / 2, MIB, MIB / 4] {
            pool.give(Vec::with_capacity(size));
        }
        assert_eq!(pool.take(MIB - 1).map(|(b, _)| b.capacity()), Some(MIB));
        assert!(pool.take(MIB / 2).is_none(), "1.5 MiB is three times 0.5 MiB");
        assert_eq!(pool.take(MIB).map(|(b, _)| b.capacity()), Some(3 * MIB / 2));
        assert!(pool.take(2 * MIB).is_none(), "none is large enough");
        assert_eq!(pool.kept_bytes(), MIB / 4);
    }

    #[test]
    fn small_buffers_and_those_beyond_the_limit_are_not_kept() {
        let pool = pool();
        pool.take(MIB);
        pool.give(Vec::with_capacity(SMALLEST - 1));
        assert_eq!(pool.kept_bytes(), 0);
        assert!(pool.take(SMALLEST - 1).is_none(), "small BLOBs are the allocator's");
        for _ in 0..5 {
            pool.give(Vec::with_capacity(MIB));
        }
        assert_eq!(pool.kept_bytes(), 4 * MIB);
    }

    #[test]
    fn a_pool_nobody_takes_from_keeps_nothing() {
        let never = pool();
        never.give(Vec::with_capacity(MIB));
        assert_eq!(never.kept_bytes(), 0, "nothing was ever taken");
        let quick = BufferPool::new(4 * MIB, Duration::from_millis(20));
        quick.take(MIB);
        quick.give(Vec::with_capacity(MIB));
        assert_eq!(quick.kept_bytes(), MIB);
        std::thread::sleep(Duration::from_millis(40));
        quick.give(Vec::with_capacity(MIB));
        assert_eq!(quick.kept_bytes(), 0, "idle: what was kept is dropped too");
    }
}
