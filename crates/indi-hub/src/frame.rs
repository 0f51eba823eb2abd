//! An element on its way through the hub. Received elements keep their wire bytes, which are
//! forwarded as they are (a relayed BLOB is never decoded or copied); elements built here are
//! encoded once. Either way one buffer is shared by every queue, and the members are parsed
//! only if an in-process driver (or a rule) needs them.

use crate::chunked::Chunked;
use crate::shm::Shared;
use bytes::Bytes;
use indi_codec::{parse_element, DecodeError, Element, Head, Name, OneValue, Tag, VectorKind};
use std::sync::{Arc, OnceLock};

/// A shared, immutable element.
#[derive(Debug)]
pub struct Frame {
    raw: Bytes,
    head: Head,
    /// Boxed: most frames are relayed unparsed, and a small frame is cheap to allocate.
    element: OnceLock<Box<Result<Element, DecodeError>>>,
    /// The unwritten end of a frame whose start is already on the wire.
    partial: bool,
    /// Elements in `raw`: more than one for a run of updates of one vector (see
    /// `IndiCodec::next_checked_run`), which is routed and written as one.
    count: u32,
    /// A `setBLOBVector` with a `oneBLOB` whose format contains `stream` (a video frame): the
    /// only BLOBs a slow client may miss (a newer frame replaces it, as indiserver drops them).
    stream: bool,
    /// The shared-memory buffers a driver attached to it (see [`crate::shm`]); `raw` is the
    /// inline form, unless `attach`.
    shared: Option<Arc<Shared>>,
    /// `raw` is the attached form, to write with `shared`'s descriptors (see [`crate::localblob`]).
    attach: bool,
    /// The attached form, made once for every local client that gets this frame.
    local: OnceLock<Arc<Frame>>,
    /// The inline form, made in chunks (then `raw` is empty): see [`crate::chunked`].
    chunked: Option<Arc<Chunked>>,
}

impl Frame {
    /// A frame from one complete element received and its head, as
    /// `IndiCodec::next_checked` gives them (the element was checked to be well-formed).
    ///
    /// BLOBs with line breaks (libindi writes 72-column base64) are rewritten once on one line:
    /// libindi's own decoder miscounts the length of line-broken base64.
    pub fn received(raw: Bytes, head: Head) -> Result<Arc<Frame>, DecodeError> {
        let body = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let (broken, stream) = if head.tag.is_blob() { blob_marks(body, head.tag == Tag::Set(VectorKind::Blob)) } else { (false, false) };
        if broken {
            return Ok(Frame::encoded(&parse_element(raw)?));
        }
        Ok(Arc::new(Frame {
            raw,
            head,
            element: OnceLock::new(),
            partial: false,
            count: 1,
            stream,
            shared: None,
            attach: false,
            local: OnceLock::new(),
            chunked: None,
        }))
    }

    /// [`Frame::received`] for an element from a client: relayed as received only in the plain
    /// form (see [`indi_codec::is_plain`]), else re-encoded from what we parsed, so drivers and
    /// other clients read what the server routed. What cannot be parsed (duplicate attributes,
    /// declarations inside an element) is an error.
    pub fn received_from_client(raw: Bytes, head: Head) -> Result<Arc<Frame>, DecodeError> {
        if indi_codec::is_plain(&raw) {
            return Frame::received(raw, head);
        }
        Ok(Frame::encoded(&parse_element(raw)?))
    }

    /// A run of `count` updates of one vector, as `IndiCodec::next_checked_run` gives them.
    pub fn received_run(raw: Bytes, head: Head, count: usize) -> Result<Arc<Frame>, DecodeError> {
        if count == 1 {
            return Frame::received(raw, head);
        }
        let count = u32::try_from(count).expect("runs are short");
        Ok(Arc::new(Frame {
            raw,
            head,
            element: OnceLock::new(),
            partial: false,
            count,
            stream: false,
            shared: None,
            attach: false,
            local: OnceLock::new(),
            chunked: None,
        }))
    }

    /// A frame of `count` elements whose attached BLOBs are `shared`, `raw` being their inline form.
    pub fn with_shared(raw: Bytes, head: Head, count: usize, shared: Arc<Shared>) -> Arc<Frame> {
        let stream = head.tag == Tag::Set(VectorKind::Blob) && streams(&raw);
        let count = u32::try_from(count).expect("runs are short");
        Frame::of_shared(raw, head, count, stream, shared, false, None)
    }

    /// A frame of one element whose attached BLOBs are `shared`, its inline form being made in
    /// `chunked` (see [`crate::chunked`]).
    pub fn with_chunked(head: Head, shared: Arc<Shared>, chunked: Arc<Chunked>) -> Arc<Frame> {
        let stream = head.tag == Tag::Set(VectorKind::Blob) && streams(&shared.attached);
        Frame::of_shared(Bytes::new(), head, 1, stream, shared, false, Some(chunked))
    }

    /// A frame with shared-memory buffers (`raw` empty when `chunked`).
    fn of_shared(raw: Bytes, head: Head, count: u32, stream: bool, shared: Arc<Shared>, attach: bool, chunked: Option<Arc<Chunked>>) -> Arc<Frame> {
        Arc::new(Frame { raw, head, element: OnceLock::new(), partial: false, count, stream, shared: Some(shared), attach, local: OnceLock::new(), chunked })
    }

    /// The inline form being made in chunks, for writers that write them as they come.
    pub fn chunked(&self) -> Option<&Arc<Chunked>> {
        self.chunked.as_ref()
    }

    /// The shared-memory buffers the element came with, to pass on as descriptors to a peer
    /// that accepts them (with [`Shared::attached`]) instead of the inline [`Frame::bytes`].
    pub fn shared(&self) -> Option<&Arc<Shared>> {
        self.shared.as_ref()
    }

    /// The elements of the frame one by one: itself, or each element of a run.
    pub fn singles(self: &Arc<Frame>) -> Vec<Arc<Frame>> {
        if self.count == 1 {
            return vec![self.clone()];
        }
        // Runs are of elements the fast path took, nested at most 16 deep.
        let limits = indi_codec::Limits { max_element: self.raw.len(), max_tag: self.raw.len(), max_depth: 16 };
        let mut codec = indi_codec::IndiCodec::new(limits);
        let mut buf = bytes::BytesMut::from(&self.raw[..]);
        let singles: Vec<Arc<Frame>> = std::iter::from_fn(|| codec.next_checked(&mut buf))
            .filter_map(Result::ok)
            .map(|(raw, head)| {
                Arc::new(Frame {
                    raw,
                    head,
                    element: OnceLock::new(),
                    partial: false,
                    count: 1,
                    stream: false,
                    shared: None,
                    attach: false,
                    local: OnceLock::new(),
                    chunked: None,
                })
            })
            .collect();
        debug_assert_eq!(singles.len(), self.count as usize, "a run holds checked elements");
        singles
    }

    /// Elements in the frame (see [`Frame::singles`]).
    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// A frame for an element built here (encoded now, once), which keeps the element for
    /// in-process drivers.
    pub fn new(element: Element) -> Arc<Frame> {
        let frame = Frame::encoding(&element);
        let _ = frame.element.set(Box::new(Ok(element)));
        Arc::new(frame)
    }

    /// A frame of an element re-encoded from what was received: the bytes only (parsed again if
    /// needed), so a queued BLOB holds the memory it is counted for, not twice as much.
    pub fn encoded(element: &Element) -> Arc<Frame> {
        Arc::new(Frame::encoding(element))
    }

    fn encoding(element: &Element) -> Frame {
        let head = Head { tag: Tag::of(element), device: element.device().map(Name::from), name: element.name().map(Name::from) };
        let raw = indi_codec::to_bytes(element);
        let stream = match element {
            Element::Set(set) if set.kind == VectorKind::Blob => {
                set.members.iter().any(|m| matches!(&m.value, OneValue::Blob(blob) if blob.format.contains("stream")))
            }
            _ => false,
        };
        Frame { raw, head, element: OnceLock::new(), partial: false, count: 1, stream, shared: None, attach: false, local: OnceLock::new(), chunked: None }
    }

    /// What is left to write after `written` bytes went out (never replaced by a newer BLOB:
    /// its start is already on the wire).
    pub fn tail(&self, written: usize) -> Arc<Frame> {
        Arc::new(Frame {
            raw: self.bytes().slice(written..),
            head: self.head.clone(),
            element: OnceLock::new(),
            partial: true,
            count: self.count,
            stream: false,
            shared: None,
            attach: false,
            local: OnceLock::new(),
            chunked: None,
        })
    }

    /// The frame as a client of the local socket gets it: attached BLOBs with their
    /// descriptors, made once (see [`crate::localblob::attached_form`]).
    pub fn for_local_client(self: &Arc<Frame>) -> Arc<Frame> {
        if !self.head.tag.is_blob() || self.attach {
            return self.clone();
        }
        self.local.get_or_init(|| crate::localblob::attached_form(self).unwrap_or_else(|| self.clone())).clone()
    }

    /// A frame in the attached form `raw`, written with the descriptors of `shared`.
    pub(crate) fn attaching(raw: Bytes, head: Head, count: u32, stream: bool, shared: Arc<Shared>) -> Arc<Frame> {
        Frame::of_shared(raw, head, count, stream, shared, true, None)
    }

    /// The buffers to pass as descriptors with the first byte of [`Frame::bytes`], if any.
    pub fn attachments(&self) -> Option<&Arc<Shared>> {
        self.shared.as_ref().filter(|_| self.attach)
    }

    /// A `setBLOBVector` of a video stream (see [`Frame`]'s field).
    pub(crate) fn is_stream(&self) -> bool {
        self.stream
    }

    /// The wire bytes (for a frame made in chunks, once all are made: writers take the chunks).
    pub fn bytes(&self) -> &Bytes {
        match &self.chunked {
            Some(chunked) => chunked.whole(),
            None => &self.raw,
        }
    }

    /// The length of [`Frame::bytes`] (without waiting for a frame made in chunks).
    pub fn len(&self) -> usize {
        self.chunked.as_ref().map_or(self.raw.len(), |chunked| chunked.len())
    }

    /// Whether [`Frame::bytes`] is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Kind, device and property.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The whole element, parsed on first use. A run holds several: split it with [`Frame::singles`].
    pub fn element(&self) -> Result<&Element, &DecodeError> {
        self.element.get_or_init(|| Box::new(parse_element(self.bytes().clone()))).as_ref().as_ref()
    }

    /// `(device, property)` when this is a `setBLOBVector`: the BLOB traffic policies apply.
    pub fn blob_key(&self) -> Option<(&str, &str)> {
        match self.head.tag {
            Tag::Set(VectorKind::Blob) if !self.partial => Some((self.head.device.as_deref()?, self.head.name.as_deref()?)),
            _ => None,
        }
    }

    /// [`Frame::blob_key`] of a stream BLOB not yet started: one a newer frame may replace.
    pub fn stream_key(&self) -> Option<(&str, &str)> {
        self.blob_key().filter(|_| self.stream)
    }
}

/// Whether a `oneBLOB` of this received `setBLOBVector` has a format containing `stream`
/// (indiserver's test; the base64 between the tags holds no `<`, so the search is quick).
fn streams(raw: &[u8]) -> bool {
    memchr::memmem::find_iter(raw, b"<oneBLOB").any(|at| stream_tag(&raw[at..]))
}

/// Whether the `oneBLOB` start tag at the start of `tag` has a format containing `stream`.
fn stream_tag(tag: &[u8]) -> bool {
    let tag = &tag[..memchr::memchr(b'>', tag).unwrap_or(tag.len())];
    crate::readbuf::attribute_value(tag, b"format").is_some_and(|format| memchr::memmem::find(format, b"stream").is_some())
}

/// For a received BLOB vector's `body` (its final line break cut): whether it has a line break
/// (then it is rewritten, and the second answer is not needed) and, for a `setBLOBVector`
/// (`set`), whether it [`streams`]. One pass over the BLOB's text instead of one per question:
/// the server reads every byte of a camera's frames.
fn blob_marks(body: &[u8], set: bool) -> (bool, bool) {
    let mut stream = false;
    for at in memchr::memchr3_iter(b'<', b'\n', b'\r', body) {
        match body[at] {
            b'<' => stream = stream || (set && body[at..].starts_with(b"<oneBLOB") && stream_tag(&body[at..])),
            _ => return (true, stream),
        }
    }
    (false, stream)
}

/// The frame of one element as the server reads it (for tests).
#[cfg(test)]
pub(crate) fn parsed(text: &str) -> Arc<Frame> {
    let mut codec = indi_codec::IndiCodec::default();
    let (raw, head) = codec.next_checked(&mut bytes::BytesMut::from(text)).unwrap().unwrap();
    Frame::received(raw, head).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_over_a_blob_finds_line_breaks_and_stream_formats_as_two_did() {
        let blob = |format: &str, text: &str| {
            format!("<setBLOBVector device='d' name='b'><oneBLOB name='i' size='3' format='{format}'>{text}</oneBLOB><oneBLOB name='j' size='0' format='.fits'></oneBLOB></setBLOBVector>")
        };
        for (format, text, broken, stream) in
            [(".fits", "QUJD", false, false), (".stream_jpg", "QUJD", false, true), (".fits", "QU\nJD", true, false), (".mjpeg.stream", "QU\r\nJD", true, true)]
        {
            let body = blob(format, text);
            let two_passes = (memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some(), streams(body.as_bytes()));
            assert_eq!(two_passes, (broken, stream), "{body}");
            // A line break answers the first question alone: the frame is rewritten whatever it is.
            let (found_broken, found_stream) = blob_marks(body.as_bytes(), true);
            assert_eq!(found_broken, broken, "{body}");
            assert!(broken || found_stream == stream, "{body}");
            assert!(!blob_marks(body.as_bytes(), false).1, "only a setBLOBVector is a stream: {body}");
        }
    }
}
