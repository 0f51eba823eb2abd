//! A driver speaking INDI on stdin/stdout: Rust reads and decodes stdin, writes encoded
//! elements to stdout, and hands decoded elements to JS in batches.

use crate::fdio;
use crate::wire::{from_wire, set_from_fields, to_wire, SetFields, WireElement};
use bytes::{Bytes, BytesMut};
use indi_codec::IndiCodec;
use indi_codec::{BlobData, Element, OneValue};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::Decoder;

/// JS callback receiving batches of decoded elements. Weak: it never keeps Node alive.
pub type ElementsCallback = ThreadsafeFunction<Vec<WireElement>, (), Vec<WireElement>, Status, false, true>;

/// Above this many queued bytes `send` asks the caller to wait for `drained()`.
const HIGH_WATER: usize = 8 << 20;
/// Bytes read from stdin per call (large reads: one syscall per 256 KiB of BLOB).
const READ_CHUNK: usize = 256 << 10;

/// Outgoing bytes with O(1) backlog accounting, drained by one writer task.
struct Outbox {
    tx: mpsc::UnboundedSender<Bytes>,
    backlog: AtomicUsize,
    drained: Notify,
    closed: AtomicBool,
}

impl Outbox {
    fn push(&self, bytes: Bytes) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        self.backlog.fetch_add(bytes.len(), Ordering::AcqRel);
        if self.tx.send(bytes).is_err() {
            self.closed.store(true, Ordering::Release);
            return false;
        }
        true
    }

    fn written(&self, len: usize) {
        if self.backlog.fetch_sub(len, Ordering::AcqRel) - len < HIGH_WATER / 2 {
            self.drained.notify_waiters();
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_waiters();
    }
}

/// Replaces the shared-memory BLOBs of `element` (`attached="true"`) with their bytes, taking
/// the descriptors that came with the stream in order, as libindi's drivers do.
fn attach(element: &mut Element, fds: &mut VecDeque<OwnedFd>) -> std::result::Result<(), String> {
    let members = match element {
        Element::Set(vector) => &mut vector.members,
        Element::New(vector) => &mut vector.members,
        _ => return Ok(()),
    };
    for member in members {
        let OneValue::Blob(blob) = &mut member.value else { continue };
        let BlobData::Attached { len } = blob.data else { continue };
        let fd = fds.pop_front().ok_or_else(|| format!("BLOB {:?} is attached but no shared buffer came with it", member.name))?;
        let data = fdio::read_shared(fd, Some(len.unwrap_or(blob.size))).map_err(|e| format!("BLOB {:?}: shared buffer unreadable: {e}", member.name))?;
        blob.data = BlobData::Raw(Bytes::from(data));
    }
    Ok(())
}

/// Decoded elements (and decode errors, as `tag: "error"`) for JS.
fn decode_batch(codec: &mut IndiCodec, buf: &mut BytesMut, fds: &mut VecDeque<OwnedFd>, eof: bool) -> Vec<WireElement> {
    let mut batch = Vec::new();
    loop {
        let item = if eof { codec.decode_eof(buf) } else { codec.decode(buf) };
        match item {
            Ok(Some(Ok(mut element))) => match attach(&mut element, fds) {
                Ok(()) => batch.push(to_wire(element)),
                Err(error) => batch.push(crate::wire::error_element(&error)),
            },
            Ok(Some(Err(error))) => batch.push(crate::wire::error_element(&error.to_string())),
            Ok(None) | Err(_) => return batch,
        }
    }
}

/// The stdin/stdout transport of a driver run by an INDI server as a child process.
#[napi]
pub struct StdioLink {
    on_elements: Arc<ElementsCallback>,
    outbox: Arc<Outbox>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: Arc<Notify>,
}

#[napi]
impl StdioLink {
    /// `onElements` receives every batch of elements decoded from stdin.
    #[napi(constructor, ts_args_type = "onElements: (elements: WireElement[]) => void")]
    pub fn new(on_elements: ElementsCallback) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        StdioLink {
            on_elements: Arc::new(on_elements),
            outbox: Arc::new(Outbox { tx, backlog: AtomicUsize::new(0), drained: Notify::new(), closed: AtomicBool::new(false) }),
            rx: Mutex::new(Some(rx)),
            writer: Mutex::new(None),
            stop: Arc::new(Notify::new()),
        }
    }

    /// Encodes `element` and queues it for stdout. Returns false when the queue is long:
    /// await `drained()` before sending more.
    #[napi]
    pub fn send(&self, element: WireElement) -> Result<bool> {
        let element = from_wire(element).map_err(Error::from_reason)?;
        Ok(self.queue(&element))
    }

    /// `send` of a `set*Vector` of values, its fields passed one by one (see `NativeLocalDriver.sendSet`).
    #[napi]
    #[allow(clippy::too_many_arguments, reason = "positional on purpose: see SetFields")]
    pub fn send_set(
        &self,
        tag: String,
        device: String,
        name: String,
        state: Option<String>,
        timeout: Option<f64>,
        timestamp: Option<String>,
        message: Option<String>,
        names: Vec<String>,
        values: Option<Vec<String>>,
        numbers: Option<Vec<f64>>,
    ) -> Result<bool> {
        let fields = SetFields { tag, device, name, state, timeout, timestamp, message, names, values, numbers };
        let element = set_from_fields(fields).map_err(Error::from_reason)?;
        Ok(self.queue(&element))
    }

    fn queue(&self, element: &indi_codec::Element) -> bool {
        self.outbox.push(indi_codec::to_bytes(element));
        self.outbox.backlog.load(Ordering::Acquire) < HIGH_WATER
    }

    /// Resolves when the outgoing queue is short again (or the link is closed).
    #[napi]
    pub async fn drained(&self) -> Result<()> {
        loop {
            let notified = self.outbox.drained.notified();
            if self.outbox.closed.load(Ordering::Acquire) || self.outbox.backlog.load(Ordering::Acquire) < HIGH_WATER {
                return Ok(());
            }
            notified.await;
        }
    }

    /// Reads stdin until end of file or `close()`. Output keeps flowing until `close()`.
    #[napi]
    pub async fn run(&self) -> Result<()> {
        let mut rx = self.rx.lock().unwrap().take().ok_or_else(|| Error::from_reason("the link is already running"))?;
        let outbox = self.outbox.clone();
        // Plain threads with blocking I/O: stdio may be a pipe, a socket or a file.
        let writer = tokio::task::spawn_blocking(move || {
            'write: while let Some(first) = rx.blocking_recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let mut len = 0;
                for bytes in &batch {
                    // An empty chunk is the end marker queued by `close()`.
                    if bytes.is_empty() || fdio::write_all(1, bytes).is_err() {
                        break 'write;
                    }
                    len += bytes.len();
                }
                outbox.written(len);
            }
            outbox.close();
        });
        *self.writer.lock().unwrap() = Some(writer);
        let (chunks_tx, mut chunks) = mpsc::channel::<std::io::Result<(BytesMut, Vec<OwnedFd>)>>(4);
        // On a socket (indiserver ≥ 1.9.7), shared-memory BLOBs come as descriptors beside the bytes.
        let socket = fdio::is_socket(0);
        std::thread::spawn(move || loop {
            let mut buf = BytesMut::zeroed(READ_CHUNK);
            let mut fds = Vec::new();
            let read = if socket { fdio::recv_with_fds(0, &mut buf, &mut fds) } else { fdio::read(0, &mut buf) };
            let result = read.map(|n| {
                buf.truncate(n);
                (buf, fds)
            });
            let end = !matches!(&result, Ok((b, _)) if !b.is_empty());
            if chunks_tx.blocking_send(result).is_err() || end {
                return;
            }
        });
        let mut codec = IndiCodec::default();
        let mut buf = BytesMut::new();
        let mut fds = VecDeque::new();
        loop {
            let chunk = tokio::select! {
                chunk = chunks.recv() => chunk,
                _ = self.stop.notified() => None,
            };
            let eof = match chunk {
                Some(Ok((bytes, received))) if !bytes.is_empty() => {
                    buf.extend_from_slice(&bytes);
                    fds.extend(received);
                    false
                }
                _ => true,
            };
            let batch = decode_batch(&mut codec, &mut buf, &mut fds, eof);
            if !batch.is_empty() {
                // Awaiting the call paces the reader to the JS thread.
                let _ = self.on_elements.call_async_catch(batch).await;
            }
            if eof {
                return Ok(());
            }
        }
    }

    /// Resolves when everything sent before `close()` has been written to stdout.
    #[napi]
    pub async fn finished(&self) -> Result<()> {
        let writer = self.writer.lock().unwrap().take();
        if let Some(writer) = writer {
            writer.await.ok();
        }
        Ok(())
    }

    /// Stops reading stdin and ends the output after what is already queued.
    #[napi]
    pub fn close(&self) {
        self.stop.notify_one();
        if !self.outbox.closed.swap(true, Ordering::AcqRel) {
            self.outbox.tx.send(Bytes::new()).ok();
        }
    }
}
