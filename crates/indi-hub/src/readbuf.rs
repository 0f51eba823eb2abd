//! A connection's read buffer, kept so that queued frames retain about the memory they are
//! accounted for. A received frame is a slice of the buffer it was read into and keeps that
//! whole allocation alive while any queue holds it: a 300-byte update read after a 4 MiB BLOB
//! would pin 4 MiB in a stalled client's queue, where it counts for 1.3 KiB. So small frames
//! are copied out of a buffer that grew for a BLOB, and out of a read that filled little of its
//! buffer (a copy of a few bytes); frames of a large read share its buffer (bursts: no copy).

use bytes::{Bytes, BytesMut};
use indi_codec::{Head, Name};
use memchr::memmem;

/// Bytes asked of the kernel per read (large reads: uploads and chains run at full speed).
pub(crate) const READ_SIZE: usize = 256 << 10;
/// A read goes into the current allocation while this much of it is free: small reads share
/// one allocation instead of pinning one each.
const MIN_SPARE: usize = READ_SIZE / 4;
/// An allocation this large grew for a BLOB.
const BIG: usize = 4 * READ_SIZE;
/// Frames smaller than this, cut from a big allocation or a sparse read, are copied out of it.
const COPY_BELOW: usize = 64 << 10;
/// A read of fewer bytes than its allocation over this fills it sparsely.
const SPARSE: usize = 8;

/// The buffer a read loop reads into and frames are cut from.
pub(crate) struct ReadBuffer {
    /// Unframed bytes.
    pub(crate) buf: BytesMut,
    /// Size of the allocation `buf` is part of (approximately: from `buf`'s start).
    allocation: usize,
    /// Bytes the last read brought.
    last_read: usize,
}

impl ReadBuffer {
    pub(crate) fn new() -> ReadBuffer {
        ReadBuffer { buf: BytesMut::with_capacity(READ_SIZE), allocation: READ_SIZE, last_read: 0 }
    }

    /// Makes room for the next read. A BLOB that says how long it is gets a buffer of about
    /// that size (doubling would leave it pinning up to twice its size while queued).
    pub(crate) fn reserve(&mut self) {
        if self.buf.capacity() - self.buf.len() >= MIN_SPARE {
            return;
        }
        let len = self.buf.len();
        if let Some(expected) = expected_len(&self.buf).filter(|&e| e > len + MIN_SPARE) {
            // At most 8 times what has arrived: a peer's claim alone cannot allocate much.
            let mut fresh = BytesMut::with_capacity(expected.min(8 * len + READ_SIZE));
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
            self.allocation = self.buf.capacity();
            return;
        }
        let before = self.buf.as_ptr();
        self.buf.reserve(READ_SIZE);
        if self.buf.as_ptr() != before {
            self.allocation = self.buf.capacity();
        }
    }

    /// Records how many bytes a read brought.
    pub(crate) fn read(&mut self, len: usize) {
        self.last_read = len;
    }

    /// Appends bytes read elsewhere (by the host, see [`crate::feed`]).
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.last_read = bytes.len();
        self.reserve();
        let before = self.buf.as_ptr();
        self.buf.extend_from_slice(bytes);
        if self.buf.as_ptr() != before {
            self.allocation = self.buf.capacity();
        }
    }

    /// A frame's bytes and head as they should be kept: when small, copied out of a big
    /// allocation or a sparse read (its names too, which may be slices of it).
    pub(crate) fn keep(&self, raw: Bytes, head: Head) -> (Bytes, Head) {
        let sparse = self.last_read * SPARSE < self.allocation;
        if raw.len() >= COPY_BELOW || !(sparse || self.allocation > BIG) {
            return (raw, head);
        }
        let own = |name: Option<Name>| name.map(|n| Name::from(&*n));
        let head = Head { tag: head.tag, device: own(head.device), name: own(head.name) };
        (Bytes::copy_from_slice(&raw), head)
    }

    /// After the frames of a read are cut: the rest moves out of a big allocation, so what is
    /// read next is not cut from it.
    pub(crate) fn settle(&mut self) {
        if self.allocation > BIG && self.buf.len() < READ_SIZE {
            let mut fresh = BytesMut::with_capacity(READ_SIZE);
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
            self.allocation = READ_SIZE;
        }
    }
}

/// The length the element at the start of `buf` will have, when it is a BLOB whose first
/// `oneBLOB` says (`enclen`, as libindi writes, else `size`, unless compressed), with room for
/// 72-column line breaks.
fn expected_len(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &buf[start..buf.len().min(start + 4096)];
    if !(head.starts_with(b"<setBLOBVector") || head.starts_with(b"<newBLOBVector")) {
        return None;
    }
    let at = memmem::find(head, b"<oneBLOB")?;
    let end = at + memchr::memchr(b'>', &head[at..])?;
    let tag = &head[at..end];
    let base64 = match attribute(tag, b"enclen") {
        Some(len) => len,
        None if attribute_value(tag, b"format").is_some_and(|f| f.ends_with(b".z")) => return None,
        None => attribute(tag, b"size")?.div_ceil(3) * 4,
    };
    Some(start + end + base64 + base64 / 72 + 1024)
}

/// A number attribute of a start tag.
fn attribute(tag: &[u8], name: &[u8]) -> Option<usize> {
    std::str::from_utf8(attribute_value(tag, name)?).ok()?.trim().parse().ok()
}

/// The raw value of attribute `name` in a start tag.
pub(crate) fn attribute_value<'t>(tag: &'t [u8], name: &[u8]) -> Option<&'t [u8]> {
    attribute_span(tag, name).map(|span| &tag[span.value])
}

/// Where attribute `name` lies in a start tag.
pub(crate) struct AttributeSpan {
    /// The whole attribute with the white space before it (removing this removes the attribute).
    pub(crate) whole: std::ops::Range<usize>,
    /// Its value, between the quotes.
    pub(crate) value: std::ops::Range<usize>,
}

/// Finds attribute `name` in a start tag.
pub(crate) fn attribute_span(tag: &[u8], name: &[u8]) -> Option<AttributeSpan> {
    let at = memmem::find_iter(tag, name).find(|&at| at > 0 && tag[at - 1].is_ascii_whitespace())?;
    let space = tag[..at].iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let mut pos = at + name.len();
    pos += tag[pos..].iter().position(|b| !b.is_ascii_whitespace())?;
    (tag[pos] == b'=').then_some(())?;
    pos += 1;
    pos += tag[pos..].iter().position(|b| !b.is_ascii_whitespace())?;
    let quote = *tag.get(pos).filter(|q| matches!(q, b'"' | b'\''))?;
    let end = pos + 1 + memchr::memchr(quote, &tag[pos + 1..])?;
    Some(AttributeSpan { whole: space..end + 1, value: pos + 1..end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use indi_codec::IndiCodec;

    #[test]
    fn small_frames_after_a_blob_do_not_share_its_allocation() {
        let blob =
            format!("<setBLOBVector device='d' name='b'><oneBLOB name='i' size='3' format='.fits'>{}</oneBLOB></setBLOBVector>\n", "QUJD".repeat(1 << 20));
        let update = "<setNumberVector device='d' name='n'><oneNumber name='x'>1</oneNumber></setNumberVector>\n";
        let mut read = ReadBuffer::new();
        let mut codec = IndiCodec::default();
        let mut cut = Vec::new();
        for chunk in format!("{blob}{update}").as_bytes().chunks(READ_SIZE) {
            read.reserve();
            read.buf.extend_from_slice(chunk);
            while let Some(Ok((raw, head))) = codec.next_checked(&mut read.buf) {
                cut.push(read.keep(raw, head));
            }
            read.settle();
        }
        let [(blob_raw, _), (update_raw, head)] = &cut[..] else { panic!("{} frames", cut.len()) };
        assert_eq!((blob_raw.len(), &update_raw[..]), (blob.len(), update.as_bytes()));
        assert_eq!((head.device.as_deref(), head.name.as_deref()), (Some("d"), Some("n")));
        // The update was read right after the BLOB, into the same allocation: it is a copy.
        let blob_range = blob_raw.as_ptr() as usize..=blob_raw.as_ptr() as usize + blob_raw.len();
        assert!(!blob_range.contains(&(update_raw.as_ptr() as usize)));
        assert!(read.buf.capacity() <= READ_SIZE, "later reads go to a small buffer");
    }

    #[test]
    fn a_blob_that_says_its_length_gets_a_buffer_of_about_that_size() {
        let data = "QUJD".repeat(1 << 18);
        for (tag, slack) in
            [(format!("enclen='{}'", data.len()), 1.02), (format!("size=\"{}\" format=\".fits\"", 3 << 18), 1.02), ("format='.fits.z'".into(), 2.0)]
        {
            let blob = format!("<setBLOBVector device='d' name='b'>\n<oneBLOB name='i' {tag}>{data}</oneBLOB></setBLOBVector>\n");
            let mut read = ReadBuffer::new();
            let mut codec = IndiCodec::default();
            let mut got = None;
            let mut rest = blob.as_bytes();
            while !rest.is_empty() {
                // As a read does: into the spare capacity only.
                read.reserve();
                let len = rest.len().min(read.buf.capacity() - read.buf.len());
                read.buf.extend_from_slice(&rest[..len]);
                rest = &rest[len..];
                if let Some(Ok((raw, _))) = codec.next_checked(&mut read.buf) {
                    got = Some((raw.len(), read.allocation));
                }
            }
            let (len, allocation) = got.expect("the BLOB");
            assert_eq!(len, blob.len());
            assert!((allocation as f64) < len as f64 * slack, "{tag}: {allocation} bytes allocated for {len}");
        }
    }

    #[test]
    fn an_update_read_alone_is_copied_and_a_burst_shares_its_buffer() {
        let update = "<setNumberVector device='d' name='n'><oneNumber name='x'>1</oneNumber></setNumberVector>\n";
        let mut read = ReadBuffer::new();
        let mut codec = IndiCodec::default();
        let mut cut = |read: &mut ReadBuffer, bytes: &[u8]| {
            read.reserve();
            read.buf.extend_from_slice(bytes);
            read.read(bytes.len());
            let start = read.buf.as_ptr() as usize;
            let mut frames = Vec::new();
            while let Some(Ok((raw, head))) = codec.next_checked(&mut read.buf) {
                frames.push(read.keep(raw, head).0);
            }
            (start, frames)
        };
        let (start, alone) = cut(&mut read, update.as_bytes());
        assert_ne!(alone[0].as_ptr() as usize, start, "a lone update is a copy");
        let burst = update.repeat(READ_SIZE / 4 / update.len());
        let (start, frames) = cut(&mut read, burst.as_bytes());
        assert_eq!(frames[0].as_ptr() as usize, start, "a burst is cut from the buffer it was read into");
    }
}
