//! The stdio backend of a driver's link (see `src/driverlink.rs`): Rust reads and decodes
//! stdin, and writes encoded elements to stdout, on threads of its own (stdio may be a pipe, a
//! socket or a file).

use crate::driverlink::{Backend, Waiting};
use crate::fdio;
use bytes::{Bytes, BytesMut};
use indi_codec::IndiCodec;
use indi_codec::{BlobData, Element, OneValue};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::Decoder;

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

/// Decoded elements, or why one could not be read, in order.
fn decode_batch(codec: &mut IndiCodec, buf: &mut BytesMut, fds: &mut VecDeque<OwnedFd>, eof: bool, out: &mut VecDeque<Decoded>) {
    loop {
        let item = if eof { codec.decode_eof(buf) } else { codec.decode(buf) };
        match item {
            Ok(Some(Ok(mut element))) => out.push_back(attach(&mut element, fds).map(|()| element)),
            Ok(Some(Err(error))) => out.push_back(Err(error.to_string())),
            Ok(None) | Err(_) => return,
        }
    }
}

type Decoded = std::result::Result<Element, String>;

/// What stdin brought and JavaScript has not taken yet. The reader waits until it is taken
/// before it reads on, so a driver busy on the JS thread slows the server, not its memory.
#[derive(Default)]
struct Inbox {
    items: Mutex<VecDeque<Decoded>>,
    /// Set once stdin has ended (or the link was closed).
    ended: AtomicBool,
    /// Elements (or the end) arrived.
    arrived: Notify,
    /// JavaScript took what was waiting.
    taken: Notify,
}

/// Driver I/O on stdin/stdout.
pub(crate) struct StdioBackend {
    outbox: Arc<Outbox>,
    inbox: Arc<Inbox>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: Arc<Notify>,
}

impl StdioBackend {
    /// Starts writing stdout and reading stdin.
    pub(crate) fn start() -> Arc<StdioBackend> {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Outbox { tx, backlog: AtomicUsize::new(0), drained: Notify::new(), closed: AtomicBool::new(false) });
        let backend = Arc::new(StdioBackend { outbox: outbox.clone(), inbox: Arc::default(), writer: Mutex::new(None), stop: Arc::new(Notify::new()) });
        napi::bindgen_prelude::within_runtime_if_available(|| {
            *backend.writer.lock().unwrap() = Some(tokio::task::spawn_blocking(move || write_stdout(rx, &outbox)));
            tokio::spawn(read_stdin(backend.inbox.clone(), backend.stop.clone()));
        });
        backend
    }
}

/// Writes what is queued to stdout, many elements per batch, until the end marker or an error.
fn write_stdout(mut rx: mpsc::UnboundedReceiver<Bytes>, outbox: &Outbox) {
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
}

/// Reads and decodes stdin into `inbox` until end of file or `stop`.
async fn read_stdin(inbox: Arc<Inbox>, stop: Arc<Notify>) {
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
            _ = stop.notified() => None,
        };
        let eof = match chunk {
            Some(Ok((bytes, received))) if !bytes.is_empty() => {
                buf.extend_from_slice(&bytes);
                fds.extend(received);
                false
            }
            _ => true,
        };
        let taken = inbox.taken.notified();
        let waiting = {
            let mut items = inbox.items.lock().unwrap();
            decode_batch(&mut codec, &mut buf, &mut fds, eof, &mut items);
            !items.is_empty()
        };
        if eof {
            inbox.ended.store(true, Ordering::Release);
        }
        inbox.arrived.notify_one();
        if eof {
            return;
        }
        if waiting {
            taken.await;
        }
    }
}

impl Backend for StdioBackend {
    fn send(&self, element: Element) -> bool {
        self.outbox.push(indi_codec::to_bytes(&element));
        self.outbox.backlog.load(Ordering::Acquire) < HIGH_WATER
    }

    fn drained(&self) -> Waiting<'_, ()> {
        Box::pin(async move {
            loop {
                let notified = self.outbox.drained.notified();
                if self.outbox.closed.load(Ordering::Acquire) || self.outbox.backlog.load(Ordering::Acquire) < HIGH_WATER {
                    return;
                }
                notified.await;
            }
        })
    }

    fn wait_for_elements(&self) -> Waiting<'_, bool> {
        Box::pin(async move {
            loop {
                let arrived = self.inbox.arrived.notified();
                if !self.inbox.items.lock().unwrap().is_empty() {
                    return true;
                }
                if self.inbox.ended.load(Ordering::Acquire) {
                    return false;
                }
                arrived.await;
            }
        })
    }

    fn take(&self, visit: &mut dyn FnMut(std::result::Result<&Element, String>)) {
        let items = std::mem::take(&mut *self.inbox.items.lock().unwrap());
        self.inbox.taken.notify_one();
        for item in &items {
            visit(item.as_ref().map_err(Clone::clone));
        }
    }

    fn close(&self) {
        self.stop.notify_one();
        if !self.outbox.closed.swap(true, Ordering::AcqRel) {
            self.outbox.tx.send(Bytes::new()).ok();
        }
    }

    fn finished(&self) -> Waiting<'_, ()> {
        Box::pin(async move {
            let writer = self.writer.lock().unwrap().take();
            if let Some(writer) = writer {
                writer.await.ok();
            }
        })
    }
}
