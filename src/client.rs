//! The client side of INDI: a TCP connection to a server whose stream Rust decodes (BLOBs
//! decoded from base64 here) and hands to JS in batches; requests built in JS are encoded here.

use crate::blobbytes::blob_room;
use crate::numrun::{NumberRun, NumberRuns};
use crate::server::NativeServer;
use crate::updates::push_flat_frame;
use crate::wire::{from_wire, push_flat_update, to_wire, Run, WireElement, WireError};
use bytes::{BufMut, Bytes, BytesMut};
use indi_codec::IndiCodec;
use indi_hub::Role;
use indi_web::ahead::{BlobAhead, Room};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify, Semaphore};

/// JS callback receiving batches of decoded elements. Weak: it never keeps Node alive.
type ElementsCallback = ThreadsafeFunction<Vec<Delivered>, (), Vec<Delivered>, Status, false, true>;

/// An element for JS: a run of `setNumberVector`s of plain numbers as a [`NumberRun`], other
/// runs of `set*Vector`s of values as one string (see [`push_flat_update`]), anything else as a
/// [`WireElement`], or why an element could not be read.
type Delivered = Either4<WireElement, String, WireError, NumberRun>;

/// Bytes read per call: one syscall per 256 KiB of BLOB.
const READ_CHUNK: usize = 256 << 10;
/// A batch handed to JS closes at this many decoded bytes, so memory stays bounded whatever
/// the server sends: the next read waits until JS has taken the batch.
const BATCH_BYTES: usize = 4 << 20;
/// Decoded elements (in KiB) queued for JS at most: beyond it, reading waits.
const QUEUE_KIB: usize = 16 << 10;
/// Bytes in flight each way between an in-process client and the hub.
const IN_PROCESS_BUFFER: usize = 1 << 20;

/// One connection of an `IndiClient` to an INDI server.
#[napi]
pub struct ClientLink {
    on_elements: Arc<ElementsCallback>,
    tx: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    reader: Mutex<Option<Box<dyn AsyncRead + Send + Unpin>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: Arc<Notify>,
    closed: Arc<AtomicBool>,
}

#[napi]
impl ClientLink {
    /// `onElements` receives every batch of elements decoded from the server's stream.
    #[napi(constructor, ts_args_type = "onElements: (elements: Array<WireElement | string | WireError | NumberRun>) => void")]
    pub fn new(on_elements: ElementsCallback) -> Self {
        ClientLink {
            on_elements: Arc::new(on_elements),
            tx: Mutex::new(None),
            reader: Mutex::new(None),
            writer: Mutex::new(None),
            stop: Arc::new(Notify::new()),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Connects to `host:port` (rejects with the OS error when nobody listens).
    #[napi]
    pub async fn connect(&self, host: String, port: u32) -> Result<()> {
        let port = u16::try_from(port).map_err(|_| Error::new(Status::InvalidArg, format!("port {port} is not 0..65535")))?;
        let stream =
            tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| Error::from_reason(format!("cannot connect to {host}:{port}: {e}")))?;
        stream.set_nodelay(true).ok();
        let (read, write) = stream.into_split();
        self.start(read, write);
        Ok(())
    }

    /// Connects to an in-process server (`IPyServer`) through memory: the hub runs this
    /// connection as any client's, without TCP.
    #[napi]
    pub async fn attach(&self, server: &NativeServer) -> Result<()> {
        let hub = server.hub().clone();
        let (ours, theirs) = tokio::io::duplex(IN_PROCESS_BUFFER);
        let (hub_read, hub_write) = tokio::io::split(theirs);
        tokio::spawn(
            async move { indi_hub::run_connection(&hub, Role::Client, |id| format!("Client {id} (in-process)"), hub_read, hub_write, Vec::new()).await },
        );
        let (read, write) = tokio::io::split(ours);
        self.start(read, write);
        Ok(())
    }

    fn start<R, W>(&self, read: R, mut write: W)
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let closed = self.closed.clone();
        let writer = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if bytes.is_empty() || write.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            closed.store(true, Ordering::Release);
            write.shutdown().await.ok();
        });
        *self.writer.lock().unwrap() = Some(writer);
        *self.tx.lock().unwrap() = Some(tx);
        *self.reader.lock().unwrap() = Some(Box::new(read));
    }

    /// Encodes `element` (a request: `getProperties`, `enableBLOB`, `new*Vector`) and queues
    /// it for the server. False when the connection is gone.
    #[napi]
    pub fn send(&self, element: WireElement) -> Result<bool> {
        let element = from_wire(element).map_err(Error::from_reason)?;
        let tx = self.tx.lock().unwrap();
        let Some(tx) = tx.as_ref() else { return Ok(false) };
        Ok(!self.closed.load(Ordering::Acquire) && tx.send(indi_codec::to_bytes(&element)).is_ok())
    }

    /// Reads the server's stream until it ends or `close()`. Resolves with the reason it ended
    /// (`""` for a clean end of stream or `close()`).
    #[napi]
    pub async fn run(&self) -> Result<String> {
        let reader = self.reader.lock().unwrap().take().ok_or_else(|| Error::from_reason("not connected, or already running"))?;
        let ended = read_stream(reader, &self.on_elements, self.stop.clone()).await;
        Ok(ended.err().map(|e| e.to_string()).unwrap_or_default())
    }

    /// Ends the connection: stops reading and closes the socket after what is queued.
    #[napi]
    pub fn close(&self) {
        self.stop.notify_one();
        self.closed.store(true, Ordering::Release);
        if let Some(tx) = self.tx.lock().unwrap().take() {
            tx.send(Bytes::new()).ok();
        }
    }

    /// `close()`, resolving once what was queued before it has been written (the CLI tools exit
    /// right after their last request).
    #[napi]
    pub async fn finish(&self) -> Result<()> {
        self.close();
        let writer = self.writer.lock().unwrap().take();
        if let Some(writer) = writer {
            writer.await.ok();
        }
        Ok(())
    }
}

/// Decodes `reader` into batches for `on_elements`. Decoding runs ahead of JS by at most
/// [`QUEUE_KIB`] of decoded elements (then reading waits: a slow consumer slows the socket and
/// the server's queue for us grows, not our memory); whatever is queued when JS is ready goes in
/// one call, so a burst of small updates costs one thread hop per batch, not per read.
async fn read_stream<R: AsyncRead + Send + Unpin + 'static>(reader: R, on_elements: &ElementsCallback, stop: Arc<Notify>) -> std::io::Result<()> {
    let budget = Arc::new(Semaphore::new(QUEUE_KIB));
    let (tx, mut rx) = mpsc::unbounded_channel::<(Vec<Delivered>, usize)>();
    // Its own task: decoding goes on (on another thread) while JS takes the previous batch.
    let reading = tokio::spawn(decode_into(reader, tx, budget.clone(), stop));
    while let Some((mut batch, mut cost)) = rx.recv().await {
        while let Ok((more, more_cost)) = rx.try_recv() {
            batch.extend(more);
            cost += more_cost;
        }
        let _ = on_elements.call_async_catch(batch).await;
        budget.add_permits(cost);
    }
    reading.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// The element in `frame`; a `setBLOBVector` has its base64 decoded in one pass, which also
/// checks it, rather than scanned as text, checked, then decoded (its first text may already
/// be, as it arrived: `decoded`).
fn read_element(frame: Bytes, decoded: Option<(std::ops::Range<usize>, Bytes)>) -> std::result::Result<indi_codec::Element, indi_codec::DecodeError> {
    let blob = frame.starts_with(b"<setBLOBVector");
    blob.then(|| indi_web::blobs::read_set_blob_with(&frame, decoded, blob_buffer)).flatten().map_or_else(|| indi_codec::parse_element(frame), Ok)
}

/// Room for `len` decoded bytes, its pages mapped: memory JS gave back, or fresh memory mapped
/// in one call (see `indi_web::ahead::populate`).
fn blob_buffer(len: usize) -> BytesMut {
    let Room { mut bytes, mapped } = blob_room(len);
    if mapped < len {
        indi_web::ahead::populate(&mut bytes.spare_capacity_mut()[..len]);
    }
    bytes
}

/// Reads and decodes `reader` into `tx`, each batch taking its size from `budget` first.
async fn decode_into<R: AsyncRead + Unpin>(
    mut reader: R,
    tx: mpsc::UnboundedSender<(Vec<Delivered>, usize)>,
    budget: Arc<Semaphore>,
    stop: Arc<Notify>,
) -> std::io::Result<()> {
    let mut codec = IndiCodec::default();
    let mut ahead = BlobAhead::default();
    let mut buf = BytesMut::new();
    let mut numbers = NumberRuns::default();
    let queue = |batch: Vec<Delivered>, bytes: usize| {
        let (tx, budget) = (&tx, &budget);
        async move {
            // A BLOB larger than the whole budget waits for an empty queue.
            let cost = (bytes / 1024 + 1).min(QUEUE_KIB);
            if let Ok(permit) = budget.acquire_many(cost as u32).await {
                permit.forget();
            }
            let _ = tx.send((batch, cost));
            // The deliverer, woken here, waits in this thread's LIFO slot (which other threads
            // do not steal) until this task yields: let it hand the batch to JS now.
            tokio::task::yield_now().await;
        }
    };
    loop {
        buf.reserve(READ_CHUNK);
        // At most a chunk per read, so JS gets the first elements of a burst while the rest decode.
        let mut room = (&mut buf).limit(READ_CHUNK);
        let read = tokio::select! {
            read = reader.read_buf(&mut room) => read,
            _ = stop.notified() => return Ok(()),
        };
        let eof = matches!(read, Ok(0) | Err(_));
        // What arrived of a BLOB's text is decoded now, while in cache, searched only there and
        // dropped from the buffer (an element not begun yet is looked at once framing has
        // dropped what precedes it).
        if ahead.searched().is_some() {
            ahead.advance_in(&mut codec, &mut buf, blob_room);
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        // Consecutive updates of values, in the flat form of a run (one string for JS to split),
        // or of plain numbers (typed): at most one of the two is open at a time.
        let mut run = Run::default();
        let flush = |run: &mut Run, numbers: &mut NumberRuns, batch: &mut Vec<Delivered>| {
            if !run.is_empty() {
                batch.push(Either4::B(run.take()));
            }
            if !numbers.is_empty() {
                batch.push(Either4::D(numbers.take()));
            }
        };
        loop {
            if bytes >= BATCH_BYTES {
                flush(&mut run, &mut numbers, &mut batch);
                queue(std::mem::take(&mut batch), bytes).await;
                bytes = 0;
            }
            // The hot case in one pass, while no string run is open: a plain `setNumberVector`
            // read from the buffer into the typed run, not framed first.
            if run.is_empty() {
                if let Some(len) = codec.next_read_by(&mut buf, |window| numbers.read(window)) {
                    bytes += len;
                    continue;
                }
            }
            // At the end of the stream, a partial element is reported (once) and dropped.
            let frame = codec.next_frame(&mut buf).or_else(|| if eof { codec.finish(&mut buf).map(Err) } else { None });
            let item = match frame {
                None => {
                    // What arrived of an unfinished BLOB is decoded now, while in cache.
                    ahead.advance_in(&mut codec, &mut buf, blob_room);
                    break;
                }
                Some(Ok(frame)) => {
                    let (frame, decoded) = ahead.take(frame);
                    // An update of values joins the open run of its form, else closes the
                    // other form's and starts one; anything else is parsed whole.
                    let join = |run: &mut Run, numbers: &mut NumberRuns| {
                        (run.is_empty() && numbers.read(&frame).is_some()) || (numbers.is_empty() && push_flat_frame(&frame, run))
                    };
                    let joined = join(&mut run, &mut numbers) || {
                        flush(&mut run, &mut numbers, &mut batch);
                        join(&mut run, &mut numbers)
                    };
                    if joined {
                        bytes += frame.len();
                        None
                    } else {
                        Some(read_element(frame, decoded))
                    }
                }
                Some(Err(error)) => {
                    ahead.reset();
                    Some(Err(error))
                }
            };
            match item {
                Some(Ok(element)) => {
                    bytes += indi_codec::size_hint(&element);
                    if !(numbers.is_empty() && push_flat_update(&element, &mut run)) {
                        flush(&mut run, &mut numbers, &mut batch);
                        if !push_flat_update(&element, &mut run) {
                            batch.push(Either4::A(to_wire(element)));
                        }
                    }
                }
                Some(Err(error)) => {
                    flush(&mut run, &mut numbers, &mut batch);
                    batch.push(Either4::C(WireError { error: error.to_string() }));
                }
                None => {}
            }
        }
        flush(&mut run, &mut numbers, &mut batch);
        if !batch.is_empty() {
            queue(batch, bytes).await;
        }
        if eof {
            return read.map(|_| ());
        }
    }
}
