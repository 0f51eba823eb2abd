//! `setBLOBVector`s read straight from the frame. The element without its BLOB text (a few
//! hundred bytes) goes through the codec's parser as any other; the base64 between
//! `<oneBLOB ...>` and `</oneBLOB>` is decoded in one pass (which also validates it) into a
//! buffer an earlier frame left, instead of being scanned by the XML reader, checked, then
//! decoded into fresh memory (whose page faults cost more than the decoding itself).

use base64_simd::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use indi_codec::{parse_element, BlobData, Element, OneValue, VectorKind};
use memchr::memmem;
use std::ops::Range;

/// The element in `raw` (a complete, checked `setBLOBVector`) with its BLOB members decoded,
/// each into a buffer `buffer(len)` gives; `None` when it is not the plain form this reads
/// (comments, entities, base64 with breaks inside...): the caller parses it the general way.
pub fn read_set_blob(raw: &[u8], buffer: impl FnMut(usize) -> BytesMut) -> Option<Element> {
    read_set_blob_with(raw, None, buffer)
}

/// [`read_set_blob`], given the first text already decoded (see [`crate::ahead::BlobAhead`]):
/// where it is in `raw` and its bytes. It is neither searched nor decoded again.
pub fn read_set_blob_with(raw: &[u8], decoded: Option<(Range<usize>, Bytes)>, mut buffer: impl FnMut(usize) -> BytesMut) -> Option<Element> {
    let known = decoded.as_ref().map(|(at, _)| at.clone());
    let (skeleton, texts) = split(raw, known.clone())?;
    let mut element = parse_element(Bytes::from(skeleton)).ok()?;
    let Element::Set(set) = &mut element else { return None };
    if set.kind != VectorKind::Blob || set.members.len() != texts.len() {
        return None;
    }
    let mut decoded = decoded;
    for (member, text) in set.members.iter_mut().zip(texts) {
        let (OneValue::Blob(blob), Some(text)) = (&mut member.value, text) else { continue };
        if let BlobData::Base64(_) = blob.data {
            let bytes = match decoded.take_if(|_| known.as_ref() == Some(&text)) {
                Some((_, bytes)) => bytes,
                None => decode(&raw[text], &mut buffer)?,
            };
            blob.data = BlobData::Raw(bytes);
        }
    }
    Some(element)
}

/// Where a `oneBLOB`'s text is in the element; `None` for an empty one.
type TextAt = Option<Range<usize>>;

/// The element without the text of its `oneBLOB`s, and where each text was (`None` for an
/// empty `<oneBLOB/>`), in order. Every `<` of the element is in the skeleton, so markup this
/// does not take (comments, CDATA, declarations) is seen there. A text `known` to start and
/// end where it does is not searched for its end.
fn split(raw: &[u8], known: Option<Range<usize>>) -> Option<(Vec<u8>, Vec<TextAt>)> {
    const OPEN: &[u8] = b"<oneBLOB";
    const CLOSE: &[u8] = b"</oneBLOB";
    let mut skeleton = Vec::with_capacity(512);
    let mut texts = Vec::new();
    let (mut copied, mut at) = (0, 0);
    while let Some(found) = memmem::find(&raw[at..], OPEN) {
        let start = at + found;
        if !raw.get(start + OPEN.len()).is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')) {
            return None;
        }
        let end = tag_end(raw, start)?;
        if raw[end - 1] == b'/' {
            texts.push(None);
            at = end + 1;
            continue;
        }
        let text = end + 1;
        let stop = match &known {
            Some(at) if at.start == text => at.end,
            _ => text + memchr::memchr(b'<', &raw[text..])?,
        };
        if !raw[stop..].starts_with(CLOSE) {
            return None;
        }
        skeleton.extend_from_slice(&raw[copied..text]);
        texts.push(Some(text..stop));
        (copied, at) = (stop, stop);
    }
    skeleton.extend_from_slice(&raw[copied..]);
    if memmem::find(&skeleton, b"<!").is_some() || memmem::find(&skeleton, b"<?").is_some() {
        return None;
    }
    Some((skeleton, texts))
}

/// Index of the `>` closing the start tag at `start` (a `>` inside a quoted value does not).
pub(crate) fn tag_end(raw: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &byte) in raw[start..].iter().enumerate() {
        match (quote, byte) {
            (None, b'"' | b'\'') => quote = Some(byte),
            (Some(q), _) if byte == q => quote = None,
            (None, b'>') => return Some(start + i),
            _ => {}
        }
    }
    None
}

/// Decodes base64 text (XML spaces around it allowed) into a buffer of `buffer(len)`; text with
/// breaks inside or without padding is decoded the lenient way, into new memory (rare: the hub
/// already puts line-broken BLOBs on one line).
fn decode(text: &[u8], buffer: &mut impl FnMut(usize) -> BytesMut) -> Option<Bytes> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    let text = &text[start..end];
    if let Ok(len) = STANDARD.decoded_length(text) {
        let mut out = buffer(len);
        out.clear();
        out.reserve(len);
        if let Some(written) = indi_codec::blob::decode_to(text, &mut out.spare_capacity_mut()[..len]) {
            // SAFETY: `decode_to` initialised `written` bytes of the spare capacity.
            unsafe { out.advance_mut(written) };
            return Some(out.freeze());
        }
    }
    base64_simd::forgiving_decode_to_vec(text).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(xml: &str) -> Option<Element> {
        read_set_blob(xml.as_bytes(), BytesMut::with_capacity)
    }

    fn raw_members(element: &Element) -> Vec<(String, String, Option<Vec<u8>>)> {
        let Element::Set(set) = element else { panic!("not a set") };
        set.members
            .iter()
            .map(|m| match &m.value {
                OneValue::Blob(b) => (m.name.clone(), b.format.clone(), matches!(b.data, BlobData::Raw(_)).then(|| b.data.to_raw().to_vec())),
                OneValue::Text(_) => panic!("text member"),
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_codec_and_decodes_every_member() {
        let xml =
            "<setBLOBVector device='C &amp; D' name='CCD1' state='Ok' message='a &gt; b'>\n  <oneBLOB name='A' size='3' format='.fits'>\n YWJj \n</oneBLOB>\
                   <oneBLOB name=\"B\" size=\"0\" format=\"x>y\"/><oneBLOB name='C' size='2' format='.png'>eHk=</oneBLOB></setBLOBVector>";
        let fast = read(xml).expect("plain form");
        let slow = parse_element(Bytes::from(xml)).unwrap();
        let (Element::Set(f), Element::Set(s)) = (&fast, &slow) else { panic!() };
        assert_eq!((&f.device, &f.message, f.state), (&s.device, &s.message, s.state));
        assert_eq!(f.device, "C & D");
        let members = raw_members(&fast);
        assert_eq!(members[0], ("A".into(), ".fits".into(), Some(b"abc".to_vec())));
        assert_eq!((members[1].1.as_str(), members[1].2.is_none()), ("x>y", true));
        assert_eq!(members[2], ("C".into(), ".png".into(), Some(b"xy".to_vec())));
    }

    #[test]
    fn what_it_does_not_take_is_left_to_the_codec() {
        for xml in [
            "<setBLOBVector device='C' name='V'><!-- <oneBLOB name='A'>YWJj</oneBLOB> --></setBLOBVector>",
            "<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3' format='.x'>YW&#74;j</oneBLOB></setBLOBVector>",
            "<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3' format='.x'>Y*Jj</oneBLOB></setBLOBVector>",
            "<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3' format='.x'>YWJj<![CDATA[]]></oneBLOB></setBLOBVector>",
            "<setBLOBVector device='C' name='V'><oneBLOBx name='A'>YWJj</oneBLOBx></setBLOBVector>",
        ] {
            assert!(read(xml).is_none(), "{xml}");
        }
        // Breaks inside (or no padding): decoded the lenient way, as the codec reads them.
        let broken = read("<setBLOBVector device='C' name='V'><oneBLOB name='A' size='4' format='.x'>YWJj\nZA</oneBLOB></setBLOBVector>").unwrap();
        assert_eq!(raw_members(&broken)[0].2.as_deref(), Some(&b"abcd"[..]));
    }

    #[test]
    fn the_given_buffer_is_decoded_into_without_a_copy() {
        let given = BytesMut::with_capacity(64);
        let at = given.as_ptr();
        let mut given = Some(given);
        let element = read_set_blob(b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3' format='.x'>YWJj</oneBLOB></setBLOBVector>", |len| {
            assert_eq!(len, 3);
            given.take().unwrap()
        })
        .unwrap();
        let Element::Set(set) = element else { panic!() };
        let OneValue::Blob(blob) = &set.members[0].value else { panic!() };
        let BlobData::Raw(bytes) = &blob.data else { panic!() };
        assert_eq!((&bytes[..], bytes.as_ptr()), (&b"abc"[..], at));
    }
}
