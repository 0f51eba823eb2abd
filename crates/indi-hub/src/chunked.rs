//! A large shared-memory BLOB's inline form, encoded in chunks on a blocking thread while the
//! writers of every queue that holds it write the chunks already made: writing starts with the
//! first chunk, as indiserver's writer streams its encoding, instead of after the whole frame.
//! The chunks are made once and shared; whoever needs the element whole waits for the end.

use bytes::Bytes;
use std::sync::{Condvar, Mutex, OnceLock};
use tokio::sync::Notify;

/// Raw bytes encoded per chunk: a multiple of 3, so the chunks' base64 joined is the one-shot
/// encoding (no padding inside), and 128 KiB of base64, few enough writes and wake-ups.
pub const CHUNK_RAW: usize = 3 << 15;

/// Chunk buffers kept for reuse, at most this many (16 MiB): fresh memory costs the kernel a
/// page fault and a cleared page per 4 KiB, as much as encoding into it.
const POOL_MAX: usize = 128;
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A chunk's buffer, back to [`POOL`] once the last queue has written it.
struct Pooled(Vec<u8>);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_MAX {
                pool.push(std::mem::take(&mut self.0));
            }
        }
    }
}

/// The base64 of `raw`, in a buffer from the pool.
fn encode_chunk(raw: &[u8]) -> Bytes {
    let mut buf = POOL.lock().map(|mut pool| pool.pop()).ok().flatten().unwrap_or_default();
    buf.clear();
    indi_codec::blob::encode_into_vec(raw, &mut buf);
    Bytes::from_owner(Pooled(buf))
}

/// One piece of an element's inline form.
#[derive(Debug)]
pub enum Piece {
    /// Markup, written as it is.
    Markup(Bytes),
    /// The base64 of this many first bytes of the element's `n`-th buffer.
    Blob(usize),
}

/// The chunks of one element's inline form, made by one encoder and read by many writers.
#[derive(Debug)]
pub struct Chunked {
    len: usize,
    state: Mutex<State>,
    /// Wakes blocking waiters ([`Chunked::whole`]).
    grown: Condvar,
    /// Wakes writers ([`Chunked::wait_beyond`]).
    notify: Notify,
    whole: OnceLock<Bytes>,
}

#[derive(Debug, Default)]
struct State {
    chunks: Vec<Bytes>,
    done: bool,
}

impl Chunked {
    /// An empty element of `len` bytes once encoded.
    pub fn new(len: usize) -> Chunked {
        Chunked { len, state: Mutex::default(), grown: Condvar::new(), notify: Notify::new(), whole: OnceLock::new() }
    }

    /// Its length once complete (known from the start).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never, for an element).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&self, chunk: Bytes) {
        self.state.lock().unwrap().chunks.push(chunk);
        self.grown.notify_all();
        self.notify.notify_waiters();
    }

    fn finish(&self) {
        self.state.lock().unwrap().done = true;
        self.grown.notify_all();
        self.notify.notify_waiters();
    }

    /// Appends the chunks from the `from`-th on that are made to `out`; returns how many
    /// chunks there are now and whether that is all of them.
    pub fn ready(&self, from: usize, out: &mut Vec<Bytes>) -> (usize, bool) {
        let state = self.state.lock().unwrap();
        out.extend(state.chunks[from.min(state.chunks.len())..].iter().cloned());
        (state.chunks.len(), state.done)
    }

    /// Waits until there are more than `have` chunks, or all are made.
    pub async fn wait_beyond(&self, have: usize) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.state.lock().unwrap();
                if state.done || state.chunks.len() > have {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Waits until all chunks are made.
    pub async fn finished(&self) {
        self.wait_beyond(usize::MAX).await;
    }

    /// The whole element in one buffer, made once (waits for the encoder, which runs on a
    /// thread of its own, so this cannot wait for itself).
    pub fn whole(&self) -> &Bytes {
        self.whole.get_or_init(|| {
            let mut state = self.state.lock().unwrap();
            while !state.done {
                state = self.grown.wait(state).unwrap();
            }
            let mut out = bytes::BytesMut::with_capacity(self.len);
            for chunk in &state.chunks {
                out.extend_from_slice(chunk);
            }
            out.freeze()
        })
    }
}

/// Makes the chunks of `pieces` into `into`, the base64 of `blobs` (their bytes) in chunks of
/// [`CHUNK_RAW`] bytes, then marks it complete.
pub fn encode(pieces: &[Piece], blobs: &[&[u8]], into: &Chunked) {
    for piece in pieces {
        match piece {
            Piece::Markup(markup) => into.push(markup.clone()),
            Piece::Blob(n) => {
                for chunk in blobs[*n].chunks(CHUNK_RAW) {
                    into.push(encode_chunk(chunk));
                }
            }
        }
    }
    into.finish();
}

/// The whole inline form of `pieces` at once.
pub fn encode_whole(pieces: &[Piece], blobs: &[&[u8]]) -> Bytes {
    let len = encoded_len(pieces, blobs);
    let mut out = bytes::BytesMut::with_capacity(len);
    for piece in pieces {
        match piece {
            Piece::Markup(markup) => out.extend_from_slice(markup),
            Piece::Blob(n) => indi_codec::blob::encode_into(blobs[*n], &mut out),
        }
    }
    out.freeze()
}

/// The length of the inline form of `pieces`.
pub fn encoded_len(pieces: &[Piece], blobs: &[&[u8]]) -> usize {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Markup(markup) => markup.len(),
            Piece::Blob(n) => 4 * blobs[*n].len().div_ceil(3),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 base64, one byte at a time (the reference).
    fn naive_base64(raw: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for group in raw.chunks(3) {
            let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= group.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        out
    }

    fn chunked(pieces: &[Piece], blobs: &[&[u8]]) -> (Chunked, Vec<Bytes>) {
        let into = Chunked::new(encoded_len(pieces, blobs));
        encode(pieces, blobs, &into);
        let mut chunks = Vec::new();
        assert!(into.ready(0, &mut chunks).1);
        (into, chunks)
    }

    #[test]
    fn chunks_joined_are_the_one_shot_encoding_around_chunk_boundaries() {
        let data: Vec<u8> = (0..3 * CHUNK_RAW + 7).map(|i| (i * 31 + 7) as u8).collect();
        for size in [0, 1, 2, 3, 4, CHUNK_RAW - 1, CHUNK_RAW, CHUNK_RAW + 1, CHUNK_RAW + 2, 2 * CHUNK_RAW, 2 * CHUNK_RAW + 1, 3 * CHUNK_RAW + 7] {
            let blobs: [&[u8]; 2] = [&data[..size], b"xy"];
            let pieces = [
                Piece::Markup(Bytes::from_static(b"<a>")),
                Piece::Blob(0),
                Piece::Markup(Bytes::from_static(b"</a><b>")),
                Piece::Blob(1),
                Piece::Markup(Bytes::from_static(b"</b>\n")),
            ];
            let whole = encode_whole(&pieces, &blobs);
            let (into, chunks) = chunked(&pieces, &blobs);
            let joined: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
            assert_eq!(joined, whole.to_vec(), "size {size}");
            assert_eq!(into.whole(), &whole, "size {size}");
            assert_eq!((into.len(), whole.len()), (encoded_len(&pieces, &blobs), encoded_len(&pieces, &blobs)));
            let expected = format!("<a>{}</a><b>eHk=</b>\n", naive_base64(&data[..size]));
            assert_eq!(std::str::from_utf8(&whole).unwrap(), expected, "size {size}");
            // A chunk boundary never falls inside a base64 quantum: only the last chunk of a
            // buffer may end with padding.
            let blob_chunks = size.div_ceil(CHUNK_RAW);
            assert_eq!(chunks.len(), 3 + blob_chunks + 1, "size {size}");
            assert!(chunks[1..1 + blob_chunks.saturating_sub(1)].iter().all(|c| c.len() == 4 * CHUNK_RAW / 3 && !c.ends_with(b"=")), "size {size}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_read_chunks_as_they_are_made_and_a_blocking_reader_waits_for_the_end() {
        let data = vec![5u8; 4 * CHUNK_RAW];
        let pieces = vec![Piece::Markup(Bytes::from_static(b"<a>")), Piece::Blob(0)];
        let into = std::sync::Arc::new(Chunked::new(encoded_len(&pieces, &[&data])));
        let (mut have, mut got) = (0, Vec::new());
        assert_eq!(into.ready(0, &mut got), (0, false));
        let encoder = std::thread::spawn({
            let into = into.clone();
            let data = data.clone();
            move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                encode(&pieces, &[&data], &into)
            }
        });
        let whole = tokio::task::spawn_blocking({
            let into = into.clone();
            move || into.whole().clone()
        });
        loop {
            tokio::time::timeout(std::time::Duration::from_secs(5), into.wait_beyond(have)).await.expect("chunks come");
            let (count, done) = into.ready(have, &mut got);
            have = count;
            if done {
                break;
            }
        }
        encoder.join().unwrap();
        let joined: Vec<u8> = got.iter().flat_map(|c| c.to_vec()).collect();
        assert_eq!(joined.len(), into.len());
        assert_eq!(whole.await.unwrap().to_vec(), joined);
    }
}
