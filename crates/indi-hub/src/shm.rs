//! libindi's shared-memory BLOBs (1.9.7+): a driver whose stdout is a unix socket writes
//! `<oneBLOB … len='N' attached='true'>` with no content and passes the bytes beside it, as a
//! memfd sent with `SCM_RIGHTS`. The server maps each buffer read-only, keeps it with the frame
//! (so a writer can pass the descriptor on) and builds the inline form once, base64 on one
//! line without `attached` and `enclen`, as indiserver 1.9.9 writes it to TCP clients; every
//! queue shares that one encoding. The mapping is released with the last queue's frame.

use crate::chunked::{self, Chunked, Piece};
use crate::frame::Frame;
use crate::readbuf::{attribute_span, attribute_value};
use bytes::{Bytes, BytesMut};
use indi_codec::Head;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, Interest, ReadBuf};
use tokio::net::unix::OwnedReadHalf;

/// One shared-memory buffer, mapped read-only until dropped.
#[derive(Debug)]
pub struct SharedBlob {
    fd: OwnedFd,
    map: *mut libc::c_void,
    mapped: usize,
    len: usize,
}

// SAFETY: the mapping is read-only and owned; `&[u8]` views of it are shareable.
unsafe impl Send for SharedBlob {}
// SAFETY: as above.
unsafe impl Sync for SharedBlob {}

impl SharedBlob {
    /// Maps `fd` read-only; the BLOB is its first `len` bytes (all of it when `len` is `None`
    /// or beyond its end: libindi's buffers are rounded up to a page multiple).
    pub fn map(fd: OwnedFd, len: Option<u64>) -> io::Result<SharedBlob> {
        let file = std::fs::File::from(fd);
        let mapped = usize::try_from(file.metadata()?.len()).map_err(|_| io::ErrorKind::InvalidData)?;
        let fd = OwnedFd::from(file);
        let len = len.and_then(|len| usize::try_from(len).ok()).map_or(mapped, |len| len.min(mapped));
        if mapped == 0 {
            return Ok(SharedBlob { fd, map: std::ptr::null_mut(), mapped, len: 0 });
        }
        // SAFETY: a fresh read-only shared mapping of a descriptor we own, checked below;
        // populated at once (one call, not a page fault per 4 KiB while encoding).
        let map = unsafe { libc::mmap(std::ptr::null_mut(), mapped, libc::PROT_READ, libc::MAP_SHARED | libc::MAP_POPULATE, fd.as_raw_fd(), 0) };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedBlob { fd, map, mapped, len })
    }

    /// The BLOB's bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `map` is a live mapping of at least `len` readable bytes.
        unsafe { std::slice::from_raw_parts(self.map.cast::<u8>(), self.len) }
    }

    /// The descriptor, to pass the buffer on (`SCM_RIGHTS`) instead of encoding it.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SharedBlob {
    fn drop(&mut self) {
        if self.mapped > 0 {
            // SAFETY: unmapping the mapping made in `map`, once.
            unsafe { libc::munmap(self.map, self.mapped) };
        }
    }
}

/// What a frame received with attachments keeps of them (see [`Frame::shared`]).
#[derive(Debug)]
pub struct Shared {
    /// The element as the driver wrote it (`attached='true'`, no content): with [`Shared::blobs`]
    /// passed as descriptors, what a peer that accepts attachments reads.
    pub attached: Bytes,
    /// The buffers, in the order of the element's attached `oneBLOB`s.
    pub blobs: Vec<SharedBlob>,
}

/// Inline elements from this size on are encoded in chunks while they are written.
const CHUNKED_FROM: usize = 1 << 20;

/// Descriptors received on a driver's socket and not yet claimed by an element, in order.
#[derive(Debug, Clone, Default)]
pub struct Attachments(Arc<Mutex<AttachmentState>>);

#[derive(Debug, Default)]
struct AttachmentState {
    /// The driver's name, for log lines.
    name: Arc<str>,
    /// Largest element accepted (`--max-message`), inline.
    max_element: usize,
    fds: VecDeque<OwnedFd>,
    /// The last frame being encoded in chunks (see [`Attachments::encoded`]).
    encoding: Option<Arc<Chunked>>,
    /// Why the driver is to be dropped (an attached BLOB without its buffer).
    broken: Option<String>,
}

impl Attachments {
    fn push(&self, fds: Vec<OwnedFd>) {
        self.0.lock().unwrap().fds.extend(fds);
    }

    /// Why the driver misbehaved, once it has: indiserver closes such a driver.
    pub fn broken(&self) -> Option<String> {
        self.0.lock().unwrap().broken.clone()
    }

    /// Whether a frame read so far may still be being encoded (see [`Attachments::encoded`]).
    pub fn encoding(&self) -> bool {
        self.0.lock().unwrap().encoding.is_some()
    }

    /// Waits until the BLOBs read so far are encoded. A driver's `pingRequest` is answered
    /// after them: libindi (1.9.9) waits for that answer before it sends its next frame, so its
    /// buffers are read while it waits, as when each frame was encoded whole before the answer.
    pub async fn encoded(&self) {
        let last = self.0.lock().unwrap().encoding.take();
        if let Some(chunked) = last {
            chunked.finished().await;
        }
    }

    /// The frame for `raw` (one element or a run of `count`, a `setBLOBVector` that may have
    /// attached BLOBs): their buffers taken in order and inlined. A BLOB without its buffer
    /// marks the driver broken (see [`Attachments::broken`]); an element that would be larger
    /// than the element limit once inlined is an error alone (its buffers are dropped).
    pub fn frame(&self, raw: Bytes, head: Head, count: usize) -> Result<Arc<Frame>, String> {
        let mut state = self.0.lock().unwrap();
        let max = state.max_element;
        match inline(&raw, &mut state.fds, max) {
            Ok(None) => Frame::received_run(raw, head, count).map_err(|e| e.to_string()),
            Err(Inline::TooLarge) => Err(format!("attached BLOBs larger than the element limit of {max} bytes once encoded; dropped")),
            Ok(Some((pieces, blobs))) => {
                for blob in &blobs {
                    tracing::trace!("{}: BLOB of {} bytes from shared memory", state.name, blob.bytes().len());
                }
                let shared = Arc::new(Shared { attached: raw, blobs });
                let views: Vec<&[u8]> = shared.blobs.iter().map(SharedBlob::bytes).collect();
                let len = chunked::encoded_len(&pieces, &views);
                // A large element is encoded in chunks on a blocking thread, written as they come.
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) if len >= CHUNKED_FROM && count == 1 => {
                        let chunked = Arc::new(Chunked::new(len));
                        let frame = Frame::with_chunked(head, shared.clone(), chunked.clone());
                        state.encoding = Some(chunked.clone());
                        runtime.spawn_blocking(move || {
                            let views: Vec<&[u8]> = shared.blobs.iter().map(SharedBlob::bytes).collect();
                            chunked::encode(&pieces, &views, &chunked);
                        });
                        Ok(frame)
                    }
                    _ => {
                        let inline = chunked::encode_whole(&pieces, &views);
                        drop(views);
                        Ok(Frame::with_shared(inline, head, count, shared))
                    }
                }
            }
            Err(Inline::Broken(reason)) => {
                state.broken = Some(reason.clone());
                Err(reason)
            }
        }
    }
}

/// True when `raw` may hold an attached BLOB (checked quickly; [`inline`] decides).
pub fn may_attach(raw: &[u8]) -> bool {
    memchr::memmem::find(raw, b"attached").is_some()
}

/// Why attached BLOBs could not be inlined.
#[derive(Debug, PartialEq)]
enum Inline {
    /// The driver misbehaved (indiserver closes it).
    Broken(String),
    /// The inline element would exceed the element limit.
    TooLarge,
}

impl From<&str> for Inline {
    fn from(reason: &str) -> Inline {
        Inline::Broken(reason.to_owned())
    }
}

/// An element's inline form in pieces, and the buffers they encode.
type Inlined = (Vec<Piece>, Vec<SharedBlob>);

/// Rewrites the attached `oneBLOB`s of `raw` inline: `attached` and `enclen` dropped, `len`
/// kept, content the base64 of the buffer (taken from `fds`), as pieces of markup and buffers
/// to encode (see [`crate::chunked`]). `None` when none is attached. Past `max` bytes, the
/// element's remaining buffers are taken and dropped.
fn inline(raw: &[u8], fds: &mut VecDeque<OwnedFd>, max: usize) -> Result<Option<Inlined>, Inline> {
    let mut pieces = Vec::new();
    let mut markup = BytesMut::new();
    let mut blobs = Vec::new();
    let mut copied = 0;
    let mut encoded = raw.len();
    for at in memchr::memmem::find_iter(raw, b"<oneBLOB") {
        if at < copied {
            continue;
        }
        let Some(close) = memchr::memchr(b'>', &raw[at..]).map(|i| at + i) else { break };
        let empty = raw[close - 1] == b'/';
        let tag = &raw[at..if empty { close - 1 } else { close }];
        if attribute_value(tag, b"attached") != Some(b"true") {
            continue;
        }
        if attribute_value(tag, b"size").is_none() {
            return Err("Attached blob misses the size attribute".into());
        }
        let fd = fds.pop_front().ok_or("Missing shared buffer")?;
        let number = |name: &[u8]| attribute_value(tag, name).and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
        // `len` (the bytes sent, compressed or not) rather than indiserver's `size`, which for
        // `.fits.z` is the decompressed length and would take the buffer's page padding too.
        let blob = SharedBlob::map(fd, number(b"len").or_else(|| number(b"size"))).map_err(|e| Inline::Broken(format!("shared buffer unreadable: {e}")))?;
        encoded = encoded.saturating_add(4 * blob.bytes().len().div_ceil(3));
        if encoded > max {
            continue;
        }
        extend_flat(&mut markup, &raw[copied..at]);
        start_tag_without(tag, &[b"attached", b"enclen"], &mut markup);
        markup.extend_from_slice(b">");
        pieces.push(Piece::Markup(markup.split().freeze()));
        pieces.push(Piece::Blob(blobs.len()));
        markup.extend_from_slice(b"</oneBLOB>");
        copied = if empty {
            close + 1
        } else {
            let end = memchr::memmem::find(&raw[close..], b"</oneBLOB>").ok_or("unterminated oneBLOB")?;
            close + end + b"</oneBLOB>".len()
        };
        blobs.push(blob);
    }
    if encoded > max {
        return Err(Inline::TooLarge);
    }
    if blobs.is_empty() {
        return Ok(None);
    }
    // The line break that ends the element stays.
    let tail = &raw[copied..];
    let end = tail.strip_suffix(b"\n").unwrap_or(tail);
    extend_flat(&mut markup, end);
    markup.extend_from_slice(&tail[end.len()..]);
    pieces.push(Piece::Markup(markup.freeze()));
    Ok(Some((pieces, blobs)))
}

/// Appends start tag `tag` (without its `>`) less the attributes `drop`.
fn start_tag_without(tag: &[u8], drop: &[&[u8]], out: &mut BytesMut) {
    let mut spans: Vec<_> = drop.iter().filter_map(|name| attribute_span(tag, name)).map(|span| span.whole).collect();
    spans.sort_by_key(|span| span.start);
    let mut from = 0;
    for span in spans {
        extend_flat(out, &tag[from..span.start]);
        from = span.end;
    }
    extend_flat(out, tag[from..].trim_ascii_end());
}

/// Appends markup with its line breaks as spaces (XML reads them so in attribute values, and
/// they are insignificant between elements): the element is then one line, which a chained
/// indi-node relays as it is, `len` included, instead of re-encoding it.
fn extend_flat(out: &mut BytesMut, markup: &[u8]) {
    let start = out.len();
    out.extend_from_slice(markup);
    for byte in &mut out[start..] {
        if matches!(byte, b'\n' | b'\r') {
            *byte = b' ';
        }
    }
}

/// Most descriptors taken with one read (libindi sends at most 16 per message).
const MAX_FDS: usize = 32;

/// One `recvmsg` on `fd` into `buf` (`len` bytes), which also takes the descriptors passed with
/// the bytes (`SCM_RIGHTS`), in order, appending them to `fds`. No waiting or retrying.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
unsafe fn recvmsg_raw(fd: RawFd, buf: *mut u8, len: usize, fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let space = libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) as usize;
    // u64 words: cmsghdr needs its alignment.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec { iov_base: buf.cast(), iov_len: len };
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // CLOEXEC keeps the descriptors from driver children.
    let n = libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC);
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
    while !cmsg.is_null() {
        if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
            let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for i in 0..bytes / std::mem::size_of::<RawFd>() {
                fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
            }
        }
        cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
    }
    Ok(n as usize)
}

/// One `recvmsg` on `fd` (see `recvmsg_raw`): the bytes into `buf`, the descriptors passed with
/// them appended to `fds`. Fails with `WouldBlock` on a non-blocking socket with nothing to read.
pub fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    unsafe { recvmsg_raw(fd, buf.as_mut_ptr(), buf.len(), fds) }
}

/// One `sendmsg` of `bytes` on `fd` with `fds` attached (`SCM_RIGHTS`), as libindi passes its
/// shared buffers (for a writer that hands a [`Shared`] frame on to a peer that accepts
/// attachments). Returns the bytes written, which may be fewer than asked: the descriptors
/// travel with the first of them. Fails with `WouldBlock` when the socket is full.
pub fn send_with_fds(fd: RawFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let iov = libc::iovec { iov_base: bytes.as_ptr() as *mut _, iov_len: bytes.len() };
    let payload = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a message with one SCM_RIGHTS header built with libc's macros in a buffer of
    // CMSG_SPACE bytes; every pointer outlives the call.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &iov as *const _ as *mut _;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload as u32) as _;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, fd) in fds.iter().enumerate() {
                data.add(i).write_unaligned(fd.as_raw_fd());
            }
        }
        libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL)
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// A driver's socket, read with `recvmsg`: the descriptors that come with the bytes go to its
/// [`Attachments`].
pub struct AttachingReader {
    socket: OwnedReadHalf,
    attachments: Attachments,
}

impl AttachingReader {
    /// Reads `socket`, the link of the driver called `name` in log lines, whose elements may be
    /// `max_element` bytes once their BLOBs are inlined.
    pub fn new(socket: OwnedReadHalf, name: Arc<str>, max_element: usize) -> AttachingReader {
        let state = AttachmentState { name, max_element, ..AttachmentState::default() };
        AttachingReader { socket, attachments: Attachments(Arc::new(Mutex::new(state))) }
    }

    /// Where the descriptors go.
    pub fn attachments(&self) -> Attachments {
        self.attachments.clone()
    }

    /// The socket's descriptor.
    pub fn socket_fd(&self) -> RawFd {
        let stream: &tokio::net::UnixStream = self.socket.as_ref();
        stream.as_raw_fd()
    }
}

impl AsyncRead for AttachingReader {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let stream: &tokio::net::UnixStream = self.socket.as_ref();
        loop {
            std::task::ready!(stream.poll_read_ready(cx))?;
            let mut fds = Vec::new();
            // SAFETY: recvmsg only writes the unfilled part, which is valid for its length.
            let unfilled = unsafe { buf.unfilled_mut() };
            let result =
                stream.try_io(Interest::READABLE, || unsafe { recvmsg_raw(stream.as_raw_fd(), unfilled.as_mut_ptr().cast(), unfilled.len(), &mut fds) });
            match result {
                Ok(n) => {
                    self.attachments.push(fds);
                    // SAFETY: the kernel wrote `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memfd(data: &[u8], size: usize) -> OwnedFd {
        // SAFETY: a fresh memfd, owned at once.
        let fd = unsafe { OwnedFd::from_raw_fd(libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC)) };
        let file = std::fs::File::from(fd);
        file.set_len(size as u64).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, data, 0).unwrap();
        OwnedFd::from(file)
    }

    /// The inline form `inline` makes, whole.
    fn whole(made: Option<Inlined>) -> Option<(Bytes, Vec<SharedBlob>)> {
        made.map(|(pieces, blobs)| {
            let views: Vec<&[u8]> = blobs.iter().map(SharedBlob::bytes).collect();
            let inline = chunked::encode_whole(&pieces, &views);
            drop(views);
            (inline, blobs)
        })
    }

    const ATTACHED: &str = "<setBLOBVector device='d' name='b' state='Ok'>\n  <oneBLOB\n    name='i'\n    size='3'\n    format='.fits'\n    len='3'\n    attached='true'>\n  </oneBLOB>\n</setBLOBVector>\n";

    #[test]
    fn attached_blobs_are_inlined_as_indiserver_writes_them() {
        let mut fds = VecDeque::from([memfd(b"ABC", 4096)]);
        let (inline, blobs) = whole(inline(ATTACHED.as_bytes(), &mut fds, usize::MAX).unwrap()).unwrap();
        let text = std::str::from_utf8(&inline).unwrap();
        assert_eq!(text, "<setBLOBVector device='d' name='b' state='Ok'>   <oneBLOB     name='i'     size='3'     format='.fits'     len='3'>QUJD</oneBLOB> </setBLOBVector>\n");
        assert_eq!(blobs[0].bytes(), b"ABC");
        assert!(fds.is_empty());
    }

    #[test]
    fn self_closed_attached_blobs_and_enclen_are_handled() {
        let raw = "<setBLOBVector device='d' name='b'><oneBLOB name='i' size='2' enclen='4' format='.x' attached=\"true\"/><oneBLOB name='j' size='1' format='.y'>QQ==</oneBLOB></setBLOBVector>";
        let mut fds = VecDeque::from([memfd(b"hi", 2)]);
        let (inline, _) = whole(inline(raw.as_bytes(), &mut fds, usize::MAX).unwrap()).unwrap();
        assert_eq!(
            std::str::from_utf8(&inline).unwrap(),
            "<setBLOBVector device='d' name='b'><oneBLOB name='i' size='2' format='.x'>aGk=</oneBLOB><oneBLOB name='j' size='1' format='.y'>QQ==</oneBLOB></setBLOBVector>"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_frame_is_encoded_in_chunks_and_the_reader_can_wait_for_the_end() {
        let size = 3 << 20;
        let data: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        let state = AttachmentState { max_element: usize::MAX, fds: VecDeque::from([memfd(&data, size)]), ..AttachmentState::default() };
        let attachments = Attachments(Arc::new(Mutex::new(state)));
        let text = ATTACHED.replace("'3'", &format!("'{size}'"));
        let (raw, head) = indi_codec::IndiCodec::default().next_checked(&mut BytesMut::from(text.as_str())).unwrap().unwrap();
        let frame = attachments.frame(raw, head, 1).unwrap();
        let chunked = frame.chunked().expect("a large frame is made in chunks").clone();
        attachments.encoded().await;
        assert!(chunked.ready(0, &mut Vec::new()).1, "all chunks made once encoded() returns");
        let expected = format!(
            "  <oneBLOB     name='i'     size='{size}'     format='.fits'     len='{size}'>{}</oneBLOB> </setBLOBVector>\n",
            indi_codec::blob::encode(&data).escape_ascii()
        );
        assert!(std::str::from_utf8(frame.bytes()).unwrap().ends_with(&expected));
        assert_eq!(frame.len(), frame.bytes().len());
        // Small frames are encoded whole, at once.
        let mut fds = VecDeque::from([memfd(b"ABC", 4096)]);
        std::mem::swap(&mut attachments.0.lock().unwrap().fds, &mut fds);
        let (raw, head) = indi_codec::IndiCodec::default().next_checked(&mut BytesMut::from(ATTACHED)).unwrap().unwrap();
        assert!(attachments.frame(raw, head, 1).unwrap().chunked().is_none());
    }

    #[test]
    fn a_blob_without_its_buffer_is_an_error() {
        let mut fds = VecDeque::new();
        assert_eq!(inline(ATTACHED.as_bytes(), &mut fds, usize::MAX).unwrap_err(), Inline::Broken("Missing shared buffer".into()));
        let plain = "<setBLOBVector device='d' name='b'><oneBLOB name='i' size='1' format='.y'>QQ==</oneBLOB></setBLOBVector>";
        assert!(inline(plain.as_bytes(), &mut fds, usize::MAX).unwrap().is_none());
    }

    #[test]
    fn an_element_over_the_limit_once_inlined_is_dropped_with_its_buffers() {
        let two =
            "<setBLOBVector device='d' name='b'><oneBLOB name='i' size='4000' attached='true'/><oneBLOB name='j' size='4000' attached='true'/></setBLOBVector>";
        let mut fds = VecDeque::from([memfd(&[1; 4000], 4000), memfd(&[2; 4000], 4000), memfd(b"next", 4)]);
        assert_eq!(inline(two.as_bytes(), &mut fds, 6000).unwrap_err(), Inline::TooLarge);
        // Both of its buffers were taken: the next element gets its own.
        assert_eq!(fds.len(), 1);
        assert!(inline(two.as_bytes(), &mut VecDeque::from([memfd(&[1; 4000], 4000), memfd(&[2; 4000], 4000)]), 20_000).unwrap().is_some());
    }

    #[test]
    fn descriptors_sent_with_bytes_are_received_in_order() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (x, y) = (memfd(b"xyz", 3), memfd(b"uv", 2));
        assert_eq!(send_with_fds(a.as_raw_fd(), b"<x/>", &[x.as_fd(), y.as_fd()]).unwrap(), 4);
        assert_eq!(send_with_fds(a.as_raw_fd(), b"<y/>", &[]).unwrap(), 4);
        let mut buf = [0u8; 16];
        let mut fds = Vec::new();
        assert_eq!(recv_with_fds(b.as_raw_fd(), &mut buf, &mut fds).unwrap(), 4);
        let mapped: Vec<_> = fds.into_iter().map(|fd| SharedBlob::map(fd, None).unwrap()).collect();
        assert_eq!(mapped.iter().map(|blob| blob.bytes()).collect::<Vec<_>>(), [&b"xyz"[..], b"uv"]);
        let mut fds = Vec::new();
        assert_eq!(recv_with_fds(b.as_raw_fd(), &mut buf, &mut fds).unwrap(), 4);
        assert!(fds.is_empty());
    }
}
