//! The read and write loops every connection runs, over any byte stream.

use crate::arrival::{Counted, Input};
use crate::chunked::Chunked;
use crate::delivery::Pace;
use crate::endpoint::{Endpoint, Role};
use crate::frame::Frame;
use crate::hub::Hub;
use crate::readbuf::ReadBuffer;
use crate::shm::{may_attach, AttachingReader, Attachments};
use indi_codec::{DecodeError, IndiCodec, Tag, VectorKind};
use std::io::IoSlice;
use std::os::fd::RawFd;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, trace, warn};

/// A read that yields this many elements lets the writers it woke run before reading on.
const YIELD_AFTER_FRAMES: usize = 64;
/// Elements of one read routed at a time.
const ROUTE_AT_MOST: usize = 512;
/// Most updates of one vector routed and written as one frame.
const MAX_RUN: usize = 256;

/// Bytes handed to one vectored write.
const WRITE_BATCH: usize = 4 << 20;

/// Why a read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The peer closed its side.
    Eof,
    /// The connection was closed by the server.
    Cancelled,
    /// A client sent something that is not INDI: it is disconnected.
    Malformed,
    /// Reading failed.
    Error,
}

/// True for decode errors that end a client connection (spec §4: malformed XML or an element
/// over the size limit closes that client alone). Unknown elements are only ignored.
fn fatal_for_client(error: &DecodeError) -> bool {
    !matches!(error, DecodeError::Unknown { .. })
}

/// Reads, decodes and routes everything `endpoint` sends until it closes.
pub async fn read_loop<R: AsyncRead + Unpin>(hub: &Hub, endpoint: &Endpoint, reader: R) -> ReadEnd {
    read_loop_with(hub, endpoint, reader, None, None).await
}

/// [`read_loop`] for a driver or remote link reading descriptor `fd`: clients that arrive wait
/// for what it had sent (see [`crate::arrival`]).
pub async fn read_loop_driver<R: AsyncRead + Unpin>(hub: &Hub, endpoint: &Endpoint, reader: R, fd: RawFd) -> ReadEnd {
    read_counted(hub, endpoint, hub.driver_input(reader, fd)).await
}

pub(crate) async fn read_counted<R: AsyncRead + Unpin>(hub: &Hub, endpoint: &Endpoint, reader: Counted<R>) -> ReadEnd {
    let input = reader.input().clone();
    read_loop_with(hub, endpoint, reader, None, Some(input)).await
}

/// [`read_loop`] for a driver's unix socket, whose BLOBs may come as shared-memory
/// attachments: a driver that sends one without its buffer is dropped, as indiserver does.
pub async fn read_loop_attached(hub: &Hub, endpoint: &Endpoint, reader: AttachingReader) -> ReadEnd {
    let attachments = reader.attachments();
    let reader = {
        let fd = reader.socket_fd();
        hub.driver_input(reader, fd)
    };
    let input = reader.input().clone();
    read_loop_with(hub, endpoint, reader, Some(attachments), Some(input)).await
}

async fn read_loop_with<R: AsyncRead + Unpin>(
    hub: &Hub,
    endpoint: &Endpoint,
    mut reader: R,
    attachments: Option<Attachments>,
    input: Option<Arc<Input>>,
) -> ReadEnd {
    let client = endpoint.role == Role::Client;
    // Drivers and remote servers send whole INDI elements: markup they leave open is dropped
    // at their next element (a client's open markup is its own problem, cut at its limits).
    let codec = IndiCodec::new(hub.config().limits);
    let mut codec = if client { codec } else { codec.resync_on_known_tags() };
    let mut read = ReadBuffer::new();
    // Drivers' and remote servers' bursts of updates are routed and written in runs; clients
    // send no updates.
    let max_run = if client { 1 } else { MAX_RUN };
    // A new client's first request waits until what the drivers had sent before it arrived is
    // routed, as with indiserver (see crate::arrival). Only a request waits: a client that
    // closes without one is closed at once (a driver's ping may be waiting for that).
    let mut arrival = client.then(|| hub.arrival());
    // A driver on a unix socket may send shared-memory BLOBs, each encoded as it is read: the
    // next one is read and encoded while clients catch up, and waits to be delivered (one
    // frame of read-ahead, so encoding overlaps writing, as indiserver's writer threads do).
    let mut paced = Paced { deferred: attachments.is_some(), waiting: None };
    loop {
        read.reserve();
        let result = tokio::select! {
            result = reader.read_buf(&mut read.buf) => result,
            _ = endpoint.cancel.cancelled() => return ReadEnd::Cancelled,
        };
        let upto = input.as_ref().map(|input| input.read_so_far());
        let eof = match result {
            Ok(0) => true,
            Ok(len) => {
                if let Some(arrival) = arrival.take() {
                    arrival.wait().await;
                }
                read.read(len);
                false
            }
            Err(error) => {
                debug!("{}: read error: {error}", endpoint.name);
                return ReadEnd::Error;
            }
        };
        let mut frames = Vec::new();
        while let Some(item) = next_item(&mut codec, &mut read, eof, max_run, client, attachments.as_ref()) {
            match item {
                Ok(frame) => {
                    frames.push(frame);
                    // A large read of small elements is routed in slices, so writing starts early.
                    if frames.len() == ROUTE_AT_MOST {
                        if let Err(end) = deliver(hub, endpoint, std::mem::take(&mut frames), &mut paced).await {
                            return end;
                        }
                    }
                }
                Err(error) => {
                    if let Some(reason) = attachments.as_ref().and_then(Attachments::broken) {
                        hub.deliver_all(endpoint.id, std::mem::take(&mut frames));
                        warn!("{}: {reason}; closing the driver", endpoint.name);
                        return ReadEnd::Malformed;
                    }
                    if let Some(end) = bad_input(hub, endpoint, error, &mut frames) {
                        return end;
                    }
                }
            }
        }
        read.settle();
        let ping = frames.iter().position(|f| f.head().tag == Tag::PingRequest).filter(|_| endpoint.role == Role::Driver);
        let mut answer_now = false;
        if let Some(at) = ping {
            if let Some(attachments) = attachments.as_ref().filter(|a| a.encoding()) {
                // What came before the ping goes out at once (its chunks are written as they
                // are made); the ping is answered once it is encoded, without waiting for it to
                // be written (the next frame's delivery waits for that, see `Paced`).
                let rest = frames.split_off(at);
                if let Err(end) = deliver(hub, endpoint, std::mem::replace(&mut frames, rest), &mut paced).await {
                    return end;
                }
                attachments.encoded().await;
                answer_now = frames.iter().all(|f| f.blob_key().is_none());
            }
            hub.settled().await;
        }
        if answer_now {
            hub.deliver_all(endpoint.id, frames);
        } else if let Err(end) = deliver(hub, endpoint, frames, &mut paced).await {
            return end;
        }
        if let (Some(input), Some(upto)) = (&input, upto) {
            input.routed(upto);
        }
        if eof {
            return ReadEnd::Eof;
        }
    }
}

/// The next element `buf` holds, or run of up to `max_run` updates of one vector (at the end
/// of the stream, what is left unfinished is an error). A client's elements go on in the
/// plain form only (see [`Frame::received_from_client`]). BLOBs attach the buffers that came
/// with them from `attachments`.
pub(crate) fn next_item(
    codec: &mut IndiCodec,
    read: &mut ReadBuffer,
    eof: bool,
    max_run: usize,
    client: bool,
    attachments: Option<&Attachments>,
) -> Option<Result<Arc<Frame>, DecodeError>> {
    let checked = codec.next_checked_run(&mut read.buf, max_run).map(|checked| {
        checked.map(|(raw, head, count)| {
            let (raw, head) = read.keep(raw, head);
            (raw, head, count)
        })
    });
    match checked {
        Some(checked) if client => Some(checked.and_then(|(raw, head, _)| Frame::received_from_client(raw, head))),
        Some(checked) => Some(checked.and_then(|(raw, head, count)| match attachments {
            Some(attachments) if head.tag == Tag::Set(VectorKind::Blob) && may_attach(&raw) => {
                attachments.frame(raw, head, count).map_err(|reason| DecodeError::Malformed { tag: "setBLOBVector".into(), reason })
            }
            _ => Frame::received_run(raw, head, count),
        })),
        None => eof.then(|| codec.finish(&mut read.buf)).flatten().map(Err),
    }
}

/// An element that cannot be read: a client is disconnected, after what it sent before is
/// delivered (`frames`); from anyone else it is logged and skipped.
pub(crate) fn bad_input(hub: &Hub, endpoint: &Endpoint, error: DecodeError, frames: &mut Vec<Arc<Frame>>) -> Option<ReadEnd> {
    if endpoint.role == Role::Client && fatal_for_client(&error) {
        hub.deliver_all(endpoint.id, std::mem::take(frames));
        warn!("{}: {error}; closing the connection", endpoint.name);
        return Some(ReadEnd::Malformed);
    }
    warn!("{}: ignored bad input: {error}", endpoint.name);
    None
}

/// A BLOB reader's pacing: a [`Pace`] waited for before the next delivery (see
/// [`read_loop_attached`]) or at once.
struct Paced {
    deferred: bool,
    waiting: Option<Pace>,
}

/// Routes what one read brought; waits while a BLOB's fastest reader is far behind (first, when
/// that wait was deferred), and after many elements lets the writers it woke run (they wait in
/// this worker's LIFO slot, which the other workers cannot steal) before this task reads on.
async fn deliver(hub: &Hub, endpoint: &Endpoint, frames: Vec<Arc<Frame>>, paced: &mut Paced) -> Result<(), ReadEnd> {
    if frames.is_empty() {
        return Ok(());
    }
    if let Some(pace) = paced.waiting.take() {
        wait_for(pace, endpoint).await?;
    }
    let many = frames.len() >= YIELD_AFTER_FRAMES;
    match hub.deliver_all(endpoint.id, frames) {
        Some(pace) if paced.deferred => paced.waiting = Some(pace),
        Some(pace) => wait_for(pace, endpoint).await?,
        None if many => tokio::task::yield_now().await,
        None => {}
    }
    Ok(())
}

async fn wait_for(pace: Pace, endpoint: &Endpoint) -> Result<(), ReadEnd> {
    tokio::select! {
        _ = pace.wait() => Ok(()),
        _ = endpoint.cancel.cancelled() => Err(ReadEnd::Cancelled),
    }
}

/// Writes all of `slices`, however the writer splits it.
async fn write_all_vectored<W: AsyncWrite + Unpin>(writer: &mut W, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        let written = writer.write_vectored(slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
}

/// Writes `frames` in one vectored write (as many calls as it takes).
async fn write_frames<W: AsyncWrite + Unpin>(writer: &mut W, frames: &[Arc<Frame>]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|frame| IoSlice::new(frame.bytes())).collect();
    write_all_vectored(writer, &mut slices).await
}

/// Writes a frame made in chunks as they are made (see [`crate::chunked`]), those ready at
/// once in one vectored write.
async fn write_chunked<W: AsyncWrite + Unpin>(writer: &mut W, chunked: &Chunked) -> std::io::Result<()> {
    let (mut have, mut ready) = (0, Vec::new());
    loop {
        let (made, done) = chunked.ready(have, &mut ready);
        have = made;
        let mut slices: Vec<IoSlice<'_>> = ready.iter().map(|chunk| IoSlice::new(chunk)).collect();
        write_all_vectored(writer, &mut slices).await?;
        ready.clear();
        if done {
            return Ok(());
        }
        chunked.wait_beyond(have).await;
    }
}

/// Writes `batch` in one vectored write, except that frames carrying attachments for a local
/// client have their descriptors passed just before them, and frames made in chunks are
/// written chunk by chunk as they are made.
async fn write_batch<W: AsyncWrite + Unpin>(endpoint: &Endpoint, writer: &mut W, batch: &[Arc<Frame>]) -> std::io::Result<()> {
    let mut start = 0;
    for (at, frame) in batch.iter().enumerate() {
        if let Some(shared) = frame.attachments() {
            write_frames(writer, &batch[start..at]).await?;
            let socket = endpoint.direct.get().ok_or(std::io::ErrorKind::Unsupported)?;
            socket.send_attachments(shared).await?;
            start = at;
        } else if let Some(chunked) = frame.chunked() {
            write_frames(writer, &batch[start..at]).await?;
            write_chunked(writer, chunked).await?;
            start = at + 1;
        }
    }
    write_frames(writer, &batch[start..]).await
}

/// Writes `endpoint`'s queue until it is closed and drained, many elements per system call.
pub async fn write_loop<W: AsyncWrite + Unpin>(endpoint: &Endpoint, mut writer: W) {
    let mut batch: Vec<Arc<Frame>> = Vec::new();
    loop {
        batch.clear();
        let more = tokio::select! {
            more = endpoint.outbox.next_batch(WRITE_BATCH, &mut batch) => more,
            _ = endpoint.cancel.cancelled() => false,
        };
        if !more {
            break;
        }
        let written = tokio::select! {
            result = write_batch(endpoint, &mut writer, &batch) => result,
            _ = endpoint.cancel.cancelled() => break,
        };
        if let Err(error) = written {
            // A peer that closed first (indi_setprop) is logged by its reader at -v ("closed");
            // indiserver, which reads before it writes, says nothing more about it either.
            if matches!(error.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) {
                trace!("{}: write error: {error}", endpoint.name);
            } else {
                debug!("{}: write error: {error}", endpoint.name);
            }
            // Stop writing but let the reader finish: a peer that sends a request and closes
            // (indi_setprop) breaks our writes, yet its request must still be delivered.
            let _ = endpoint.outbox.abandon();
            break;
        }
    }
    let _ = writer.shutdown().await;
}
