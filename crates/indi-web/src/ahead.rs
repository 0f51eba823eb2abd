//! Decoding a `setBLOBVector`'s base64 while it arrives. A reader calls
//! [`BlobAhead::advance_in`] after each read that left an element unfinished, so each read's text
//! is decoded while it is still in cache, and then taken out of the reader's buffer (the codec
//! excises it), so the next read lands in the same few cached bytes; once the codec has framed
//! the element, [`BlobAhead::take`] hands the decoded bytes to
//! [`crate::blobs::read_set_blob_with`], which neither searches nor decodes that text again. A
//! 1 MiB BLOB is 1.4 MB of text: held in the buffer and read back once framed, it cost more to
//! copy in and decode than the decoding itself.
//!
//! Only the first text of the element, and only canonical base64 (no spaces, padding only at
//! the end), is decoded ahead; anything else is left as it is to the general path, so the
//! result never differs from [`crate::blobs::read_set_blob`]'s.

use crate::blobs::tag_end;
use bytes::{BufMut, Bytes, BytesMut};
use indi_codec::IndiCodec;
use memchr::memmem;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Where the decoding ahead of one element stands.
#[derive(Default)]
enum State {
    /// No element seen yet, or its first text not reached yet.
    #[default]
    Looking,
    /// Decoding the text that starts at `start`: `decoded` is how far, `scanned` how far it is
    /// known to hold no `<`; the codec took `excised` bytes of it, decoded, out of the buffer.
    Text { start: usize, decoded: usize, scanned: usize, out: Room, excised: usize },
    /// The text, less what was excised, is `at`, before a `<`; it was decoded whole.
    Done { at: Range<usize>, out: Bytes, excised: usize },
    /// Not the form decoded ahead: nothing more to do for this element.
    Left,
}

/// Where decoded bytes go: fresh memory has its pages mapped as it is filled, memory used
/// before (`mapped`, see [`crate::pool`]) needs no mapping.
pub struct Room {
    /// The buffer, empty, with capacity for the decoded bytes.
    pub bytes: BytesMut,
    /// How much of its capacity, from its start, has its pages mapped already.
    pub mapped: usize,
}

impl From<BytesMut> for Room {
    fn from(bytes: BytesMut) -> Self {
        Room { bytes, mapped: 0 }
    }
}

/// Decodes the first BLOB text of the element at the start of a reader's buffer as it
/// arrives (see the module documentation).
#[derive(Default)]
pub struct BlobAhead {
    state: State,
    /// Excised text to put back where it was: the element turned out not to be decodable ahead.
    restore: Option<(usize, Bytes)>,
    /// Elements whose text was put back (tests check that the path is taken).
    #[cfg(test)]
    restored: usize,
}

/// Elements whose first text does not begin within this many bytes are left alone.
const HEAD_LIMIT: usize = 64 << 10;
/// Text decoded in one call while no `<` has been seen: a refused piece is searched for it.
#[cfg(not(test))]
const PIECE: usize = 32 << 10;
/// Small in tests, so that their texts span many pieces.
#[cfg(test)]
const PIECE: usize = 64;
/// Decoded room mapped at once, beyond what a piece needs.
const MAP_AHEAD: usize = 256 << 10;
/// Largest `size` decoded ahead (the codec's limit on an element).
const SIZE_LIMIT: usize = 256 << 20;

impl BlobAhead {
    /// Decodes what has arrived of the element that starts at `buf[0]` (a `setBLOBVector`;
    /// anything else is ignored), into the room `buffer(size)` gives for the decoded bytes.
    /// See [`BlobAhead::advance_in`].
    fn advance<R: Into<Room>>(&mut self, buf: &[u8], buffer: impl FnOnce(usize) -> R) {
        if let State::Looking = self.state {
            self.state = match first_text(buf) {
                Found::Text { start, size } => State::Text { start, decoded: start, scanned: start, out: buffer(size).into(), excised: 0 },
                Found::NotYet if buf.len() < HEAD_LIMIT => State::Looking,
                _ => State::Left,
            };
        }
        let State::Text { start, decoded, scanned, out, excised } = &mut self.state else { return };
        // Whole groups that have arrived, the last held back: it may end with padding.
        let whole = (*start + (buf.len() - *start) / 4 * 4).saturating_sub(4).max(*decoded);
        // Decoding checks every character, so text it takes holds no `<`: the `<` is searched
        // for only in a piece it refuses (once per element, where the text ends). Before the
        // last group, `=` is never padding: a piece ending with it is refused here.
        while *decoded < whole {
            let piece = &buf[*decoded..whole.min(*decoded + PIECE)];
            if piece.last() == Some(&b'=') || !decode_onto(piece, out) {
                break;
            }
            *decoded += piece.len();
        }
        *scanned = (*scanned).max(*decoded);
        let lt = memchr::memchr(b'<', &buf[*scanned..]).map(|i| *scanned + i);
        *scanned = lt.unwrap_or(buf.len());
        // Up to the `<` that ends the text; before it, whole groups only, and the last one held
        // back: it may end with padding.
        let end = lt.unwrap_or(whole);
        let segment = &buf[*decoded..end];
        // Before the last group, `=` is never padding: base64 with it there is not canonical.
        let valid = (lt.is_some() || segment.last() != Some(&b'=')) && decode_onto(segment, out);
        match (valid, lt) {
            (false, _) => self.give_up(),
            (true, Some(end)) => self.state = State::Done { at: *start..end, out: std::mem::take(&mut out.bytes).freeze(), excised: *excised },
            (true, None) => *decoded = end,
        }
    }

    /// [`BlobAhead::advance`] as a reader calls it, with its codec: then the codec passes over
    /// the text searched and excises what was decoded, or puts back the text excised from an
    /// element that turned out not to be decodable ahead.
    pub fn advance_in<R: Into<Room>>(&mut self, codec: &mut IndiCodec, buf: &mut BytesMut, buffer: impl FnOnce(usize) -> R) {
        self.advance(buf, buffer);
        if let Some((at, text)) = self.restore.take() {
            let restored = codec.restore(buf, at, &text);
            debug_assert!(restored, "excised text with no element to go back to");
            return;
        }
        let Some(searched) = self.searched() else { return };
        codec.skip_text(searched);
        let (text, excised) = match &mut self.state {
            State::Text { start, decoded, excised, .. } => (*start..*decoded, excised),
            State::Done { at, excised, .. } => (at.clone(), excised),
            _ => return,
        };
        if !text.is_empty() && codec.excise(buf, text.clone()) {
            *excised += text.len();
            match &mut self.state {
                State::Text { decoded, scanned, .. } => (*decoded, *scanned) = (*decoded - text.len(), *scanned - text.len()),
                State::Done { at, .. } => at.end = at.start,
                _ => {}
            }
        }
    }

    /// The first text of `frame` (the element `advance` saw the start of, now whole) and its
    /// decoded bytes, when they were decoded ahead, with the frame; else the frame with any
    /// excised text back in its place. In any case, ready for the next element.
    pub fn take(&mut self, frame: Bytes) -> (Bytes, Option<(Range<usize>, Bytes)>) {
        if let State::Text { .. } = self.state {
            self.advance(&frame, |_| BytesMut::new());
        }
        if let State::Done { at, .. } = &self.state {
            if frame.get(at.end) == Some(&b'<') {
                let State::Done { at, out, .. } = std::mem::take(&mut self.state) else { unreachable!() };
                return (frame, Some((at, out)));
            }
        }
        self.give_up();
        self.state = State::Looking;
        match self.restore.take() {
            Some((at, text)) => (Bytes::from([&frame[..at], &text[..], &frame[at..]].concat()), None),
            None => (frame, None),
        }
    }

    /// Leaves this element to the general path, its excised text to be put back.
    fn give_up(&mut self) {
        let (start, decoded, excised) = match &self.state {
            State::Text { start, out, excised, .. } => (*start, &out.bytes[..], *excised),
            State::Done { at, out, excised } => (at.start, &out[..], *excised),
            _ => (0, &[][..], 0),
        };
        if excised > 0 {
            // Canonical base64 of whole groups: encoding the bytes gives the text back exactly.
            self.restore = Some((start, indi_codec::blob::encode(&decoded[..excised / 4 * 3])));
            #[cfg(test)]
            {
                self.restored += 1;
            }
        }
        self.state = State::Left;
    }

    /// The part of the element's first text known to hold no `<` (for
    /// `indi_codec::IndiCodec::skip_text`), while it is being decoded or just was.
    pub fn searched(&self) -> Option<Range<usize>> {
        match &self.state {
            State::Text { start, scanned, .. } => Some(*start..*scanned),
            State::Done { at, .. } => Some(at.clone()),
            _ => None,
        }
    }

    /// Forgets the element (the codec dropped it).
    pub fn reset(&mut self) {
        self.state = State::Looking;
        self.restore = None;
    }
}

/// What [`first_text`] found.
enum Found {
    /// The first text starts at `start`; `size` is its `oneBLOB`'s size attribute.
    Text { start: usize, size: usize },
    /// Not arrived yet.
    NotYet,
    /// Not a `setBLOBVector`, or its first text is not decoded ahead.
    No,
}

/// Where the first text of the `setBLOBVector` at `buf[0]` starts: found as
/// `crate::blobs::read_set_blob` finds it (the first `<oneBLOB` that is not empty).
fn first_text(buf: &[u8]) -> Found {
    const ROOT: &[u8] = b"<setBLOBVector";
    const OPEN: &[u8] = b"<oneBLOB";
    if buf.len() < ROOT.len() + 1 {
        return if ROOT.starts_with(buf) { Found::NotYet } else { Found::No };
    }
    if !buf.starts_with(ROOT) || !is_space(buf[ROOT.len()]) {
        return Found::No;
    }
    let mut at = 0;
    while let Some(found) = memmem::find(&buf[at..], OPEN) {
        let start = at + found;
        let Some(&after) = buf.get(start + OPEN.len()) else { return Found::NotYet };
        if !(is_space(after) || after == b'>' || after == b'/') {
            return Found::No;
        }
        let Some(end) = tag_end(buf, start) else { return Found::NotYet };
        if buf[end - 1] == b'/' {
            at = end + 1;
            continue;
        }
        return match size_attribute(&buf[start..end]) {
            Some(size) if size <= SIZE_LIMIT => Found::Text { start: end + 1, size },
            _ => Found::No,
        };
    }
    Found::NotYet
}

/// The `size` attribute of a start tag, when it is a plain decimal number.
fn size_attribute(tag: &[u8]) -> Option<usize> {
    let at = memmem::find(tag, b" size=").or_else(|| memmem::find(tag, b"\tsize=")).or_else(|| memmem::find(tag, b"\nsize="))? + 6;
    let quote = *tag.get(at)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let digits = &tag[at + 1..];
    let len = digits.iter().position(|&b| b == quote)?;
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

/// Maps the whole pages of `room` in one call when it is large (fresh memory otherwise faults
/// in a page at a time, which cost more than decoding into it: 0.8 ms per MiB here, against
/// 0.45 ms mapped by one `madvise`). Kernels before 5.14 refuse the call, and the pages fault
/// in as before.
pub fn populate(room: &mut [MaybeUninit<u8>]) {
    #[cfg(target_os = "linux")]
    if room.len() >= 64 << 10 {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1);
        let at = room.as_mut_ptr() as usize;
        let (start, end) = (at.div_ceil(page) * page, (at + room.len()) / page * page);
        if end > start {
            // SAFETY: whole pages inside `room`; populating changes no byte of it.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_POPULATE_WRITE) };
        }
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Appends the decoding of canonical base64 `text` to `out`, within its capacity; false when
/// it is not canonical or does not fit.
fn decode_onto(text: &[u8], Room { bytes: out, mapped }: &mut Room) -> bool {
    let Ok(len) = base64_simd::STANDARD.decoded_length(text) else { return false };
    let (filled, capacity) = (out.len(), out.capacity());
    if len > capacity - filled {
        return false;
    }
    // Mapped as it is filled, a stretch ahead at a time (one call per piece would be too small
    // to make): a `size` larger than the data (compressed BLOBs) costs little more.
    if filled + len > *mapped {
        let to = (filled + len + MAP_AHEAD).min(capacity);
        populate(&mut out.spare_capacity_mut()[(*mapped).max(filled) - filled..to - filled]);
        *mapped = to;
    }
    let room = &mut out.spare_capacity_mut()[..len];
    let Some(written) = indi_codec::blob::decode_to(text, room) else { return false };
    // SAFETY: `decode_to` initialised `written` bytes of the spare capacity.
    unsafe { out.advance_mut(written) };
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::{read_set_blob, read_set_blob_with};
    use indi_codec::IndiCodec;

    /// A small deterministic generator: the tests need no dependency for it.
    fn noise(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// A `setBLOBVector` of one to three members, most canonical, some in the forms left to
    /// the general path (spaces, line breaks, entities, wrong sizes, junk, empty members).
    fn element(seed: &mut u64) -> Vec<u8> {
        let mut xml = b"<setBLOBVector device='Cam' name='CCD1' state='Ok'>".to_vec();
        for m in 0..1 + noise(seed) % 3 {
            let raw: Vec<u8> = (0..noise(seed) % 3000).map(|_| noise(seed) as u8).collect();
            let mut text = indi_codec::blob::encode(&raw).to_vec();
            let mut size = raw.len().to_string();
            let mut insert = |at: usize, what: &[u8]| drop(text.splice(at..at, what.iter().copied()));
            match noise(seed) % 12 {
                0 => insert(0, b"\n "),
                1 if raw.len() > 80 => insert(72, b"\n"),
                2 if !raw.is_empty() => insert(1, b"&#65;"),
                3 => insert(0, b" "),
                4 => insert(raw.len() / 3 / 3 * 4, b"="),
                5 => size = (raw.len() / 2).to_string(),
                6 => size = "many".into(),
                7 if m == 0 => xml.extend_from_slice(b"<oneBLOB name='E' size='0' format='.x'/>"),
                8 => text.push(b' '),
                // A compressed BLOB's size is that of its data uncompressed.
                9 => size = (raw.len() * 3 + 10).to_string(),
                _ => {}
            }
            xml.extend_from_slice(format!("<oneBLOB name='M{m}' size='{size}' format='.fits'>").as_bytes());
            xml.extend_from_slice(&text);
            xml.extend_from_slice(b"</oneBLOB>");
        }
        xml.extend_from_slice(b"</setBLOBVector>\n");
        xml
    }

    #[test]
    fn decoding_ahead_gives_what_the_whole_frame_gives_however_it_arrives() {
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let mut ahead_used = 0;
        let mut restored = 0;
        for round in 0..600 {
            let mut stream = Vec::new();
            let mut elements = Vec::new();
            for _ in 0..3 {
                let one = element(&mut seed);
                stream.extend_from_slice(&one);
                elements.push(one);
                stream.extend_from_slice(b"<setNumberVector device='Cam' name='T'><oneNumber name='T'>1</oneNumber></setNumberVector>\n");
            }
            let (mut codec, mut ahead, mut buf) = (IndiCodec::default(), BlobAhead::default(), BytesMut::new());
            let mut framed = Vec::new();
            let mut at = 0;
            while at < stream.len() {
                let read = 1 + (noise(&mut seed) % if round % 2 == 0 { 64 } else { 4096 }) as usize;
                buf.extend_from_slice(&stream[at..(at + read).min(stream.len())]);
                at += read;
                // As a client reads: what arrived of a text being decoded is searched once.
                if round % 3 != 0 && ahead.searched().is_some() {
                    ahead.advance_in(&mut codec, &mut buf, BytesMut::with_capacity);
                }
                loop {
                    match codec.next_frame(&mut buf) {
                        None => {
                            ahead.advance_in(&mut codec, &mut buf, BytesMut::with_capacity);
                            break;
                        }
                        Some(Ok(frame)) => {
                            let (frame, decoded) = ahead.take(frame);
                            ahead_used += usize::from(decoded.is_some());
                            framed.push((frame, decoded));
                        }
                        Some(Err(error)) => panic!("{error}"),
                    }
                }
            }
            restored += ahead.restored;
            let blobs: Vec<_> = framed.into_iter().filter(|(frame, _)| frame.starts_with(b"<setBLOB")).collect();
            assert_eq!(blobs.len(), elements.len());
            for ((frame, decoded), sent) in blobs.into_iter().zip(&elements) {
                // The line break after an element comes with it only when it has already arrived.
                // A frame whose text was excised lacks it; any other is the element as sent.
                let sent = if frame.ends_with(b"\n") { &sent[..] } else { &sent[..sent.len() - 1] };
                assert!(decoded.is_some() || frame == sent, "{}", String::from_utf8_lossy(&frame));
                let whole = read_set_blob(sent, BytesMut::with_capacity);
                let with = read_set_blob_with(&frame, decoded, BytesMut::with_capacity);
                assert_eq!(format!("{with:?}"), format!("{whole:?}"), "{}", String::from_utf8_lossy(&frame[..frame.len().min(300)]));
            }
        }
        // About a third of the elements start with a canonical text and arrive in several reads:
        // those must have been decoded ahead.
        assert!(ahead_used > 300, "decoded ahead {ahead_used} times of {}", 600 * 3);
        // Texts spoilt after their first reads were excised, then put back.
        assert!(restored > 20, "put back {restored} times");
    }

    #[test]
    fn other_elements_and_odd_forms_are_left_alone() {
        for xml in [
            &b"<setNumberVector device='C' name='V'><oneNumber name='N'>1</oneNumber></setNumberVector>"[..],
            b"<setBLOBVectorX device='C'><oneBLOB name='A' size='3'>YWJj</oneBLOB></setBLOBVectorX>",
            b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3'> YWJj</oneBLOB></setBLOBVector>",
            b"<setBLOBVector device='C' name='V'><oneBLOB name='A'>YWJj</oneBLOB></setBLOBVector>",
            b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='2'>YWJj</oneBLOB></setBLOBVector>",
            b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3'>YW=j</oneBLOB></setBLOBVector>",
        ] {
            let mut ahead = BlobAhead::default();
            ahead.advance(&xml[..xml.len() / 2], BytesMut::with_capacity);
            ahead.advance(xml, BytesMut::with_capacity);
            assert!(ahead.take(Bytes::from_static(xml)).1.is_none(), "{}", String::from_utf8_lossy(xml));
        }
        // "AAA=" ending the first piece: padding to a decoder of that piece, not in the text.
        let text = format!("{}AAA={}", "A".repeat(PIECE - 4), "A".repeat(64));
        let xml = format!("<setBLOBVector device='C' name='V'><oneBLOB name='A' size='{}'>{text}</oneBLOB></setBLOBVector>", text.len() / 4 * 3);
        let mut ahead = BlobAhead::default();
        ahead.advance(xml.as_bytes(), BytesMut::with_capacity);
        assert!(ahead.take(Bytes::from(xml)).1.is_none());
        let xml = b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3'>YWJj</oneBLOB></setBLOBVector>";
        let mut ahead = BlobAhead::default();
        ahead.advance(&xml[..70], BytesMut::with_capacity);
        assert_eq!(ahead.take(Bytes::from_static(xml)).1.map(|(at, out)| (at, out.to_vec())), Some((62..66, b"abc".to_vec())));
    }
}
