//! A connection's outgoing queue: O(1) byte accounting, and the slow-reader policies that keep
//! memory bounded without stalling anyone else.

use crate::frame::Frame;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// When a reader falls behind.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Past this many queued bytes a new stream BLOB (format containing `stream`) replaces the
    /// queued, not-yet-started one of the same property (latest frame wins). 0 disables
    /// replacement. Other BLOBs are never replaced: they count towards `max_backlog`.
    pub blob_replace_after: usize,
    /// Past this many queued bytes of everything but replaceable stream BLOBs the connection is
    /// closed. Each element counts for its size plus [`FRAME_COST`].
    pub max_backlog: usize,
}

/// What holding one queued element costs beyond its bytes (the frame, the decoded element and
/// their allocations; measured in `bench/README.md`, "Memory per queued element"). `max_backlog`
/// counts it, so a stalled reader of small updates cannot pin many times `-m` of memory.
pub const FRAME_COST: usize = 1024;

impl QueueLimits {
    /// No limits (in-process drivers, tests).
    pub const UNLIMITED: QueueLimits = QueueLimits { blob_replace_after: 0, max_backlog: usize::MAX };
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Appended to the queue.
    Queued,
    /// Took the place of an older queued BLOB of the same property.
    Replaced,
    /// The queue is closed; the frame was dropped.
    Closed,
    /// The non-BLOB backlog passed the limit: the queue is now closed and emptied.
    Overflow {
        /// Bytes that were queued.
        backlog: usize,
    },
    /// The non-BLOB backlog of a dropping queue (a driver's) is past the limit: the frame was
    /// not queued. `first` is true for the first drop since the queue was last under the limit.
    Dropped {
        /// Bytes queued.
        backlog: usize,
        /// First drop of this episode (log it once).
        first: bool,
    },
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Arc<Frame>>,
    bytes: usize,
    nonblob_bytes: usize,
    closed: bool,
    /// A dropping queue has dropped frames since it was last under the limit.
    dropping: bool,
    /// The writer is writing frames it took.
    writer_busy: bool,
    /// A sender is writing one frame directly (see [`Outbox::try_claim`]).
    direct_busy: bool,
}

/// The outgoing queue of one connection, filled by the router and drained by one writer.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    /// Woken whenever the writer takes frames (for senders pacing themselves).
    drained: Notify,
    limits: QueueLimits,
    /// Past `max_backlog`, drop new frames instead of closing (a hung driver must not take
    /// the server's memory, nor be killed by what a client sends it).
    drop_on_overflow: bool,
    /// Drained by the host's thread ([`Outbox::take_now`]), which is told to look only for
    /// frames pushed from other threads (see [`host_takes_next`]).
    taken_by_host: AtomicBool,
}

thread_local! {
    /// Set while the host's thread routes what it read: it takes what it queues right after.
    static HOST_TAKES_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `route` on the host's thread without signalling the queues that thread drains itself
/// (it takes them next): no wake-up of their waiter, and no needless call back to the host.
pub fn host_takes_next<R>(route: impl FnOnce() -> R) -> R {
    /// Clears the flag however `route` ends.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            HOST_TAKES_NEXT.with(|flag| flag.set(false));
        }
    }
    HOST_TAKES_NEXT.with(|flag| flag.set(true));
    let _reset = Reset;
    route()
}

impl Outbox {
    /// An empty queue with the given limits.
    pub fn new(limits: QueueLimits) -> Arc<Outbox> {
        Outbox::with(limits, false)
    }

    /// An empty queue that, once more than `max_backlog` non-BLOB bytes are queued, drops new
    /// non-BLOB frames until its reader catches up (checked before queueing, so one element of
    /// any size always fits).
    pub fn dropping(limits: QueueLimits) -> Arc<Outbox> {
        Outbox::with(limits, true)
    }

    fn with(limits: QueueLimits, drop_on_overflow: bool) -> Arc<Outbox> {
        let (ready, drained, taken_by_host) = (Notify::new(), Notify::new(), AtomicBool::new(false));
        Arc::new(Outbox { queue: Mutex::new(Queue::default()), ready, drained, limits, drop_on_overflow, taken_by_host })
    }

    /// Queues a frame.
    pub fn push(&self, frame: Arc<Frame>) -> Push {
        self.push_all(std::iter::once(frame))
    }

    /// Queues frames in order under one lock and one wake-up; returns the last outcome, or the
    /// overflow that closed the queue.
    pub fn push_all(&self, frames: impl IntoIterator<Item = Arc<Frame>>) -> Push {
        let mut q = self.queue.lock().unwrap();
        let mut outcome = Push::Closed;
        for frame in frames {
            let pushed = self.push_locked(&mut q, frame);
            // Keep the first drop of an episode: it is the one that gets logged.
            if !matches!(outcome, Push::Dropped { first: true, .. }) {
                outcome = pushed;
            }
            if matches!(pushed, Push::Overflow { .. } | Push::Closed) {
                outcome = pushed;
                break;
            }
        }
        drop(q);
        let taken_next = self.taken_by_host.load(Ordering::Relaxed) && HOST_TAKES_NEXT.with(Cell::get);
        if outcome != Push::Closed && !taken_next {
            self.ready.notify_one();
        }
        outcome
    }

    /// Marks this queue as drained by the host's thread (see [`host_takes_next`]).
    pub fn set_taken_by_host(&self) {
        self.taken_by_host.store(true, Ordering::Relaxed);
    }

    fn push_locked(&self, q: &mut Queue, frame: Arc<Frame>) -> Push {
        let len = frame.len();
        if q.closed {
            return Push::Closed;
        }
        // Stream BLOBs are bounded by replacement; everything else (stream BLOBs too when
        // nothing replaces them) counts towards `max_backlog`: delivered, or the reader closed.
        let replacing = self.limits.blob_replace_after > 0;
        if let (Some(key), true) = (frame.stream_key(), replacing) {
            if q.bytes > self.limits.blob_replace_after {
                let older = q.frames.iter().rposition(|f| f.stream_key() == Some(key));
                if let Some(index) = older {
                    q.bytes = q.bytes - q.frames[index].len() + len;
                    q.frames[index] = frame;
                    return Push::Replaced;
                }
            }
        } else if self.drop_on_overflow {
            if q.nonblob_bytes > self.limits.max_backlog {
                let first = !q.dropping;
                q.dropping = true;
                return Push::Dropped { backlog: q.bytes, first };
            }
            q.dropping = false;
            q.nonblob_bytes += len + FRAME_COST;
        } else {
            if q.nonblob_bytes + len + FRAME_COST > self.limits.max_backlog {
                let backlog = q.bytes;
                *q = Queue { closed: true, ..Queue::default() };
                return Push::Overflow { backlog };
            }
            q.nonblob_bytes += len + FRAME_COST;
        }
        q.bytes += len;
        q.frames.push_back(frame);
        Push::Queued
    }

    /// Waits for frames and moves up to about `max_bytes` of them into `batch` (at least one).
    /// Returns false once the queue is closed and empty.
    pub async fn next_batch(&self, max_bytes: usize, batch: &mut Vec<Arc<Frame>>) -> bool {
        // Asking for more means the previous batch is written.
        self.queue.lock().unwrap().writer_busy = false;
        loop {
            let notified = self.ready.notified();
            {
                let mut q = self.queue.lock().unwrap();
                if !q.frames.is_empty() && !q.direct_busy {
                    q.writer_busy = true;
                    self.take_locked(q, max_bytes, batch);
                    return true;
                }
                if q.closed {
                    return false;
                }
            }
            notified.await;
        }
    }

    /// Moves up to about `max_bytes` of queued frames into `batch` (at least one).
    fn take_locked(&self, mut q: std::sync::MutexGuard<'_, Queue>, max_bytes: usize, batch: &mut Vec<Arc<Frame>>) {
        let mut taken = 0;
        while let Some(frame) = q.frames.front() {
            let len = frame.len();
            if taken > 0 && taken + len > max_bytes {
                break;
            }
            taken += len;
            let frame = q.frames.pop_front().unwrap();
            q.bytes -= len;
            if self.counts_as_nonblob(&frame) {
                q.nonblob_bytes -= len + FRAME_COST;
            }
            batch.push(frame);
        }
        drop(q);
        self.drained.notify_waiters();
    }

    /// Moves everything queued into `batch` without waiting (a queue drained by one thread
    /// that is told when to look, see [`Outbox::wait_queued`]; no direct writes).
    pub fn take_now(&self, batch: &mut Vec<Arc<Frame>>) {
        let q = self.queue.lock().unwrap();
        if !q.frames.is_empty() {
            self.take_locked(q, usize::MAX, batch);
        }
    }

    /// Waits until frames are queued (true), or the queue is closed and empty (false); takes
    /// nothing.
    pub async fn wait_queued(&self) -> bool {
        loop {
            let notified = self.ready.notified();
            {
                let q = self.queue.lock().unwrap();
                if !q.frames.is_empty() {
                    return true;
                }
                if q.closed {
                    return false;
                }
            }
            notified.await;
        }
    }

    /// Claims the connection for writing one frame directly from the sender's thread, which
    /// saves waking the writer (latency): only when nothing is queued or being written, so
    /// order is kept. Must be followed by [`Outbox::release`].
    pub fn try_claim(&self) -> bool {
        let mut q = self.queue.lock().unwrap();
        if q.closed || q.writer_busy || q.direct_busy || !q.frames.is_empty() {
            return false;
        }
        q.direct_busy = true;
        true
    }

    /// Ends a direct write; what it could not write goes first in the queue, in order.
    pub fn release(&self, unwritten: Vec<Arc<Frame>>) {
        let mut q = self.queue.lock().unwrap();
        q.direct_busy = false;
        let unwritten = if q.closed { Vec::new() } else { unwritten };
        for frame in unwritten.into_iter().rev() {
            let len = frame.len();
            q.bytes += len;
            if self.counts_as_nonblob(&frame) {
                q.nonblob_bytes += len + FRAME_COST;
            }
            q.frames.push_front(frame);
        }
        // Wake the writer only for work (a wake-up costs more than the write saved).
        let work = !q.frames.is_empty() || q.closed;
        drop(q);
        if work {
            self.ready.notify_one();
        }
    }

    /// Whether a queued frame counts towards `max_backlog` (stream BLOBs do only when nothing
    /// replaces them).
    fn counts_as_nonblob(&self, frame: &Frame) -> bool {
        frame.stream_key().is_none() || self.limits.blob_replace_after == 0
    }

    /// Stops accepting frames; the writer finishes what is queued, then sees the end.
    pub fn close(&self) {
        self.queue.lock().unwrap().closed = true;
        self.ready.notify_one();
    }

    /// Closes and drops everything queued (the connection is gone); returns the bytes dropped.
    pub fn abandon(&self) -> usize {
        let dropped = std::mem::replace(&mut *self.queue.lock().unwrap(), Queue { closed: true, ..Queue::default() });
        self.ready.notify_one();
        self.drained.notify_waiters();
        dropped.bytes
    }

    /// Waits until at most `bytes` are queued (or the queue is closed).
    pub async fn wait_below(&self, bytes: usize) {
        loop {
            let drained = self.drained.notified();
            {
                let q = self.queue.lock().unwrap();
                if q.bytes <= bytes || q.closed {
                    return;
                }
            }
            drained.await;
        }
    }

    /// Bytes queued now.
    pub fn backlog(&self) -> usize {
        self.queue.lock().unwrap().bytes
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.queue.lock().unwrap().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use indi_codec::*;

    /// A video frame: a BLOB a newer one may replace.
    fn blob(name: &str, size: usize) -> Arc<Frame> {
        blob_as(name, size, ".stream")
    }

    fn blob_as(name: &str, size: usize, format: &str) -> Arc<Frame> {
        Frame::new(Element::Set(SetVector {
            kind: VectorKind::Blob,
            device: "cam".into(),
            name: name.into(),
            state: None,
            timeout: None,
            timestamp: None,
            message: None,
            members: vec![OneMember {
                name: "img".into(),
                value: OneValue::Blob(BlobValue { size: size as u64, format: format.into(), data: BlobData::Raw(Bytes::from(vec![7u8; size])), enclen: None }),
                range: None,
            }],
        }))
    }

    fn message(text: &str) -> Arc<Frame> {
        Frame::new(Element::Message(Message { device: None, timestamp: None, message: Some(text.into()) }))
    }

    #[tokio::test]
    async fn latest_blob_of_a_property_wins_past_the_limit() {
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 3000, max_backlog: usize::MAX });
        for _ in 0..3 {
            assert_eq!(outbox.push(blob("a", 1000)), Push::Queued);
        }
        let newest = blob("a", 1000);
        assert_eq!(outbox.push(newest.clone()), Push::Replaced);
        assert_eq!(outbox.push(blob("b", 1000)), Push::Queued); // another property is kept
        let mut batch = Vec::new();
        assert!(outbox.next_batch(usize::MAX, &mut batch).await);
        assert_eq!(batch.len(), 4);
        assert!(Arc::ptr_eq(&batch[2], &newest));
        assert_eq!(outbox.backlog(), 0);
    }

    #[tokio::test]
    async fn blobs_that_are_not_streams_are_never_replaced_and_count_towards_the_limit() {
        let one = blob_as("a", 1000, ".fits").bytes().len() + FRAME_COST;
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 3000, max_backlog: 6 * one });
        let pushes: Vec<Push> = (0..8).map(|_| outbox.push(blob_as("a", 1000, ".fits"))).collect();
        assert!(!pushes.contains(&Push::Replaced), "{pushes:?}");
        assert!(matches!(pushes[6], Push::Overflow { .. }), "the reader is closed instead: {pushes:?}");
        // A format that merely mentions a stream somewhere is one (indiserver's `strstr`).
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 3000, max_backlog: usize::MAX });
        let pushes: Vec<Push> = (0..5).map(|_| outbox.push(blob_as("a", 1000, ".stream_jpg"))).collect();
        assert_eq!(pushes.iter().filter(|p| **p == Push::Replaced).count(), 2);
    }

    #[tokio::test]
    async fn non_blob_backlog_past_the_limit_closes_the_queue() {
        let limit = 10 * FRAME_COST;
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 0, max_backlog: limit });
        let mut pushes = Vec::new();
        for i in 0..20 {
            pushes.push(outbox.push(message(&format!("message number {i}"))));
        }
        // Small elements count for what they cost in memory, not just their bytes.
        assert_eq!(pushes.iter().position(|p| matches!(p, Push::Overflow { .. })), Some(9));
        assert_eq!(pushes.last(), Some(&Push::Closed));
        let mut batch = Vec::new();
        assert!(!outbox.next_batch(usize::MAX, &mut batch).await);
        // Stream BLOBs do not count towards the limit (their own policy bounds them)...
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 10_000, max_backlog: 2 * FRAME_COST });
        assert_eq!(outbox.push(blob("a", 5000)), Push::Queued);
        assert_eq!(outbox.push(message("still fits")), Push::Queued);
        // ...unless replacement is disabled: then they count, so memory stays bounded.
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 0, max_backlog: 2 * FRAME_COST });
        assert!(matches!(outbox.push(blob("a", 5000)), Push::Overflow { .. }));
    }

    #[tokio::test]
    async fn a_dropping_queue_drops_past_the_limit_until_its_reader_catches_up() {
        let outbox = Outbox::dropping(QueueLimits { blob_replace_after: 0, max_backlog: 10 * FRAME_COST });
        let mut pushes = Vec::new();
        for i in 0..40 {
            pushes.push(outbox.push(message(&format!("message number {i}"))));
        }
        let dropped: Vec<_> = pushes
            .iter()
            .filter_map(|p| match p {
                Push::Dropped { first, .. } => Some(*first),
                _ => None,
            })
            .collect();
        assert_eq!(dropped.first(), Some(&true));
        assert!(dropped.len() > 10 && dropped[1..].iter().all(|first| !first), "{pushes:?}");
        // Bounded: elements are queued until one crosses the limit (10 of ~1 KiB), and it stays open.
        assert_eq!(pushes.iter().filter(|p| **p == Push::Queued).count(), 10);
        assert!(!outbox.is_closed());
        let mut batch = Vec::new();
        assert!(outbox.next_batch(usize::MAX, &mut batch).await);
        assert_eq!(outbox.push(message("caught up")), Push::Queued);
        assert!(matches!(outbox.push(message(&"x".repeat(20 * FRAME_COST))), Push::Queued), "one element of any size fits");
        assert!(matches!(outbox.push(message("over")), Push::Dropped { first: true, .. }));
    }

    #[tokio::test]
    async fn batches_respect_the_size_bound_and_close_drains_first() {
        let outbox = Outbox::new(QueueLimits::UNLIMITED);
        for i in 0..10 {
            outbox.push(message(&i.to_string()));
        }
        outbox.close();
        assert_eq!(outbox.push(message("late")), Push::Closed);
        let one = message("0").bytes().len();
        let mut batch = Vec::new();
        assert!(outbox.next_batch(one * 3, &mut batch).await);
        assert_eq!(batch.len(), 3);
        let mut rest = Vec::new();
        assert!(outbox.next_batch(usize::MAX, &mut rest).await);
        assert_eq!(rest.len(), 7);
        assert!(!outbox.next_batch(usize::MAX, &mut rest).await);
    }

    #[tokio::test]
    async fn a_direct_write_is_claimed_only_when_the_writer_is_idle_and_its_rest_goes_first() {
        let outbox = Outbox::new(QueueLimits { blob_replace_after: 10_000, max_backlog: usize::MAX });
        assert!(outbox.try_claim());
        assert!(!outbox.try_claim(), "one direct writer at a time");
        outbox.push(message("queued meanwhile"));
        let started = blob("a", 100);
        let rest = started.tail(10);
        let next = message("unwritten after it");
        outbox.release(vec![rest.clone(), next.clone()]);
        assert!(rest.blob_key().is_none(), "a started BLOB is never replaced");
        assert!(!outbox.try_claim(), "frames are queued");
        let mut batch = Vec::new();
        assert!(outbox.next_batch(usize::MAX, &mut batch).await);
        assert!(Arc::ptr_eq(&batch[0], &rest) && Arc::ptr_eq(&batch[1], &next), "the unwritten rest goes first, in order");
        assert_eq!(batch.len(), 3);
        assert!(!outbox.try_claim(), "the writer is still writing its batch");
        // An untouched BLOB handed back is accounted as a BLOB (not in the non-BLOB backlog).
        let wait = tokio::time::timeout(std::time::Duration::from_millis(50), outbox.next_batch(usize::MAX, &mut batch));
        assert!(wait.await.is_err(), "nothing queued");
        assert!(outbox.try_claim());
        outbox.release(vec![blob("a", 100)]);
        assert_eq!(outbox.queue.lock().unwrap().nonblob_bytes, 0);
        assert!(outbox.next_batch(usize::MAX, &mut batch).await);
        assert_eq!((outbox.backlog(), outbox.queue.lock().unwrap().nonblob_bytes), (0, 0));
    }
}
