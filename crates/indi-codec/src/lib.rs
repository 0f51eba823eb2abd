//! The INDI protocol 1.7 wire format: typed [`Element`]s, an incremental decoder and an encoder
//! packaged as a `tokio-util` codec ([`IndiCodec`]) so one parser serves TCP, pipes and stdio.
//!
//! ```
//! use bytes::BytesMut;
//! use indi_codec::{Element, IndiCodec};
//! use tokio_util::codec::Decoder;
//!
//! let mut codec = IndiCodec::default();
//! let mut buf = BytesMut::from(&b"<getProperties version='1.7'/><pingRequest uid=\"7\"/>"[..]);
//! assert!(matches!(codec.decode(&mut buf).unwrap(), Some(Ok(Element::GetProperties(_)))));
//! assert_eq!(codec.decode(&mut buf).unwrap(), Some(Ok(Element::PingRequest("7".into()))));
//! ```
//!
//! # Decoding: the API, the reference reader and the fast paths
//!
//! Elements: the `tokio-util` [`Decoder`] (`decode`, `decode_eof`) and [`decode_all`]. A relay,
//! which needs only framing and heads: [`IndiCodec::next_checked_run`] (or
//! [`IndiCodec::next_checked`] for one element), then [`IndiCodec::finish`] at end of stream;
//! [`IndiCodec::next_frame`] frames without checking. [`parse_element`] and [`parse_head`]
//! read one framed element.
//!
//! The reference reader is quick-xml: the scanner ([`IndiCodec::next_frame`], `scan.rs`)
//! frames the stream and [`parse_element`] (`parse.rs`) builds the element. Every faster reader
//! is held to it:
//! - [`parse_head`] (`head.rs`, hand-written) checks an element and reads its head without
//!   building members. Proven against `parse_element` (same tag, device and name wherever both
//!   accept; everything our encoder writes accepted) by the `heads_agree` property tests on
//!   generated elements, markup soup and the recorded peer samples (`tests/random_input.rs`),
//!   and by the `decode` fuzz target.
//! - The one-pass path of `next_checked`/`next_checked_run` (`fast.rs`: learnt element shapes,
//!   and runs of updates) must give exactly the frames and heads of `next_frame` then
//!   `parse_head` (the hidden `next_checked_in_two_passes`), at every read size: the
//!   `one_pass` property tests and the `decode` fuzz target check it, and that runs are their
//!   elements' frames joined.
//! - [`is_plain`] (`plain.rs`) tells which received elements every INDI parser reads alike;
//!   its tests hold it to our encoder's output and to lilxml's known misreadings.

mod avx512;
pub mod blob;
mod element;
mod encode;
mod error;
mod fast;
mod head;
pub mod number;
mod parse;
mod plain;
mod scan;
pub mod timestamp;

pub use element::*;
pub use encode::{encode_element, size_hint};
pub use error::DecodeError;
pub use head::{parse_head, Head, Name, Tag};
pub use number::{format_number, getfloat, wire_number};
pub use parse::parse_element;
pub use plain::is_plain;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// A run of updates (see [`IndiCodec::next_checked_run`]) grows to about this many bytes.
const RUN_BYTES: usize = 64 << 10;

/// Size limits that keep hostile or broken peers from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest element in bytes (BLOBs included).
    pub max_element: usize,
    /// Largest start tag (name plus attributes) in bytes.
    pub max_tag: usize,
    /// Deepest nesting (INDI needs 2).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_element: 256 << 20, max_tag: 1 << 20, max_depth: 8 }
    }
}

/// The INDI codec: decodes a byte stream into elements and encodes elements to bytes.
///
/// Decoding yields `Result<Element, DecodeError>` items: bad input is reported as a value and
/// the decoder resynchronises, so a caller decides whether to drop the element or the peer.
#[derive(Debug)]
pub struct IndiCodec {
    scanner: scan::Scanner,
    limits: Limits,
    shapes: fast::Shapes,
}

impl Default for IndiCodec {
    fn default() -> Self {
        IndiCodec::new(Limits::default())
    }
}

impl IndiCodec {
    /// A codec with the given limits.
    pub fn new(limits: Limits) -> IndiCodec {
        IndiCodec { scanner: scan::Scanner::new(), limits, shapes: fast::Shapes::default() }
    }

    /// Reads a peer that only sends whole INDI elements (a driver): markup it leaves open is
    /// dropped at the next top-level INDI start tag, reported as [`DecodeError::Unclosed`].
    pub fn resync_on_known_tags(mut self) -> IndiCodec {
        self.scanner.resync_on_known_tags();
        self
    }

    /// Finds the next complete element in `buf` and removes its bytes, without parsing it.
    /// Returns `Ok(None)` when more input is needed.
    /// The frame keeps the newline that follows the element when it has already arrived, so a
    /// relay forwarding frames as they are keeps one element per line.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, DecodeError>> {
        match self.scanner.scan(buf, &self.limits) {
            scan::Scan::NeedMore => None,
            scan::Scan::Error(error) => Some(Err(error)),
            scan::Scan::Element(len) => {
                let len = if buf.get(len) == Some(&b'\n') { len + 1 } else { len };
                Some(Ok(buf.split_to(len).freeze()))
            }
        }
    }

    /// Tells the decoder that `buf[text]` is character data with no `<`, because the caller
    /// searched it (a reader decoding a BLOB as it arrives): if scanning has reached it, the
    /// rest is not searched again. A caller that is wrong gets wrong frames, nothing worse.
    pub fn skip_text(&mut self, text: std::ops::Range<usize>) {
        self.scanner.skip_text(text, &self.limits);
    }

    /// Removes `buf[text]` when it is character data inside the element being framed that
    /// scanning has passed (see [`IndiCodec::skip_text`]): a reader that has decoded a BLOB's
    /// text as it arrived keeps only what it has not, so its reads land in a small buffer.
    /// The frame then lacks that text (the reader holds its decoding); the element's size limit
    /// still counts it. False, and nothing removed, when it is not such text.
    pub fn excise(&mut self, buf: &mut BytesMut, text: std::ops::Range<usize>) -> bool {
        self.scanner.excise(buf, text)
    }

    /// Puts back, at `at`, text [`IndiCodec::excise`] removed from the element still being
    /// framed (its reader found it could not decode the rest after all). False when that
    /// element is no longer in the buffer.
    pub fn restore(&mut self, buf: &mut BytesMut, at: usize, text: &[u8]) -> bool {
        self.scanner.restore(buf, at, text)
    }

    /// [`IndiCodec::next_frame`] followed by [`parse_head`], with the same results, in one pass
    /// over the bytes when a whole small element has arrived (a relay's common case: bursts of
    /// small updates), else in two.
    pub fn next_checked(&mut self, buf: &mut BytesMut) -> Option<Result<(Bytes, Head), DecodeError>> {
        if let Some((raw, head, _)) = self.checked_in_one_pass(buf, 1) {
            return Some(Ok((raw, head)));
        }
        self.next_checked_in_two_passes(buf)
    }

    /// [`IndiCodec::next_checked`], except that consecutive `set*Vector` of one vector (a
    /// driver's burst of updates) that have all arrived come as one frame of up to `max_run`
    /// elements, with their count: what a relay forwards as it is, routed once. The frame is
    /// exactly the bytes of those elements, and each has the head given.
    pub fn next_checked_run(&mut self, buf: &mut BytesMut, max_run: usize) -> Option<Result<(Bytes, Head, usize), DecodeError>> {
        if let Some(found) = self.checked_in_one_pass(buf, max_run) {
            return Some(Ok(found));
        }
        self.next_checked_in_two_passes(buf).map(|checked| checked.map(|(raw, head)| (raw, head, 1)))
    }

    /// The reference for [`IndiCodec::next_checked`]: [`IndiCodec::next_frame`], then
    /// [`parse_head`] on the frame. For equivalence tests and fuzzing.
    #[doc(hidden)]
    pub fn next_checked_in_two_passes(&mut self, buf: &mut BytesMut) -> Option<Result<(Bytes, Head), DecodeError>> {
        self.next_frame(buf).map(|frame| frame.and_then(|raw| Ok((raw.clone(), parse_head(&raw)?))))
    }

    /// Finds the root's end tag, then checks the element up to it; `None` (take the slow path)
    /// unless that check passes and ends exactly there, where the scanner would end the frame.
    fn checked_in_one_pass(&mut self, buf: &mut BytesMut, max_run: usize) -> Option<(Bytes, Head, usize)> {
        if !self.scanner.is_fresh() {
            return None;
        }
        drop_space_before_markup(buf)?;
        if buf.len() < 2 || !head::starts_tag(buf[1]) {
            return None;
        }
        let window = self.window(buf);
        let max_depth = self.limits.max_depth as usize;
        if let Some((head, mut end)) = self.shapes.known(window, max_depth) {
            let mut count = 1;
            if matches!(head.tag, Tag::Set(_)) {
                // More of the same vector, each after at most a line break, all arrived.
                while count < max_run && end < RUN_BYTES {
                    let next = if buf.get(end) == Some(&b'\n') { end + 1 } else { end };
                    let Some(len) = self.shapes.again(self.window(&buf[next..]), max_depth) else { break };
                    (end, count) = (next + len, count + 1);
                }
            }
            let (raw, head) = self.yield_checked(buf, end, |_| head);
            return Some((raw, head, count));
        }
        let root_len = window[1..].iter().position(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/'))?;
        let root = &window[1..1 + root_len];
        if root.len() > 32 || root.ends_with(b"BLOBVector") {
            return None;
        }
        if let Some((offsets, end)) = self.shapes.learn(window, max_depth) {
            let (raw, head) = self.yield_checked(buf, end, |raw| offsets.head(raw));
            return Some((raw, head, 1));
        }
        // The first `</root>`: short hops from `<` to `<` (a searcher costs more to set up).
        let mut from = 1;
        let end = loop {
            let at = from + memchr::memchr(b'<', &window[from..])?;
            let rest = &window[at + 1..];
            if rest.first() == Some(&b'/') && rest[1..].starts_with(root) && rest.get(1 + root.len()) == Some(&b'>') {
                break at + root.len() + 3;
            }
            from = at + 1;
        };
        let text = std::str::from_utf8(&window[..end]).ok()?;
        let (checked, checked_end) = head::check_framed(text, max_depth).ok()?;
        if checked_end != end {
            return None;
        }
        // Names are kept as offsets while `buf` is borrowed, then sliced from the frame.
        let offsets = checked.offsets(text);
        let (raw, head) = self.yield_checked(buf, end, |raw| offsets.head(raw));
        Some((raw, head, 1))
    }

    /// Offers the element at the start of `buf` to `read`, a reader of a narrower grammar than
    /// the scanner's, when no element is partly scanned: `read` gets at most a window of the
    /// buffer (from the element's `<`) and returns the element's length when it took the
    /// element whole, which this then drops with the line break after it, as
    /// [`IndiCodec::next_frame`] would have framed it. `None` (nothing dropped but whitespace
    /// before a `<`): take [`IndiCodec::next_frame`]. A client reads its bursts of small updates
    /// this way in one pass, without framing them first.
    ///
    /// `read` must only accept an element that ends exactly at the length it returns, with no
    /// comment, CDATA, processing instruction or nesting deeper than the limits allow.
    pub fn next_read_by(&mut self, buf: &mut BytesMut, read: impl FnOnce(&[u8]) -> Option<usize>) -> Option<usize> {
        if !self.scanner.is_fresh() {
            return None;
        }
        let skip = drop_space_before_markup(buf)?;
        let end = read(self.window(buf))?;
        let len = if buf.get(end) == Some(&b'\n') { end + 1 } else { end };
        buf.advance(len);
        self.scanner.element_yielded();
        Some(skip + len)
    }

    /// Where the fast path looks for an element starting at `from[0]`.
    fn window<'b>(&self, from: &'b [u8]) -> &'b [u8] {
        /// Far enough for any small element; BLOBs are framed by the scanner.
        const WINDOW: usize = 64 << 10;
        &from[..from.len().min(WINDOW).min(self.limits.max_tag).min(self.limits.max_element)]
    }

    /// Takes a checked element ending at `end` (and the line break after it) off `buf`.
    fn yield_checked(&mut self, buf: &mut BytesMut, end: usize, head: impl FnOnce(&Bytes) -> Head) -> (Bytes, Head) {
        let len = if buf.get(end) == Some(&b'\n') { end + 1 } else { end };
        let raw = buf.split_to(len).freeze();
        self.scanner.element_yielded();
        let head = head(&raw);
        (raw, head)
    }
}

/// Drops the whitespace before a `<` at the start of `buf` (between elements the scanner drops
/// it too, silently) and returns how much; `None`, dropping nothing, when no `<` follows it.
fn drop_space_before_markup(buf: &mut BytesMut) -> Option<usize> {
    let skip = buf.iter().position(|b| !b.is_ascii_whitespace())?;
    (buf[skip] == b'<').then(|| buf.advance(skip)).map(|()| skip)
}

impl IndiCodec {
    /// The next element (or decode error) in `buf`; `None` when more input is needed.
    fn decode_item(&mut self, buf: &mut BytesMut) -> Option<Result<Element, DecodeError>> {
        self.next_frame(buf).map(|frame| frame.and_then(parse_element))
    }

    /// At end of stream, after [`IndiCodec::next_frame`] returned `None`: reports a partial
    /// element as [`DecodeError::Truncated`] and drops it.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Option<DecodeError> {
        let truncated = self.scanner.pending(buf);
        buf.clear();
        self.scanner.reset();
        truncated.then_some(DecodeError::Truncated)
    }

    /// As `decode_item`, at end of stream: a partial element is reported as
    /// [`DecodeError::Truncated`] and dropped.
    fn decode_eof_item(&mut self, buf: &mut BytesMut) -> Option<Result<Element, DecodeError>> {
        if let Some(item) = self.decode_item(buf) {
            return Some(item);
        }
        self.finish(buf).map(Err)
    }
}

impl Decoder for IndiCodec {
    type Item = Result<Element, DecodeError>;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Self::Item>> {
        Ok(self.decode_item(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Self::Item>> {
        Ok(self.decode_eof_item(buf))
    }
}

impl Encoder<&Element> for IndiCodec {
    type Error = std::io::Error;

    fn encode(&mut self, element: &Element, out: &mut BytesMut) -> std::io::Result<()> {
        encode_element(element, out);
        Ok(())
    }
}

impl Encoder<Element> for IndiCodec {
    type Error = std::io::Error;

    fn encode(&mut self, element: Element, out: &mut BytesMut) -> std::io::Result<()> {
        encode_element(&element, out);
        Ok(())
    }
}

/// Encodes one element to its own bytes (what a relay shares between its outgoing queues).
pub fn to_bytes(element: &Element) -> Bytes {
    let mut out = BytesMut::new();
    encode_element(element, &mut out);
    out.freeze()
}

/// Decodes every complete element in `input` (a convenience for tests and tools).
pub fn decode_all(input: &[u8]) -> Vec<Result<Element, DecodeError>> {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Ok(Some(item)) = codec.decode_eof(&mut buf) {
        out.push(item);
    }
    out
}
