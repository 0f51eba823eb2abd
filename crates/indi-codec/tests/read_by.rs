//! `next_read_by`: a caller's own reader takes whole elements at element boundaries, and the
//! stream goes on exactly as if the scanner had framed them.

use bytes::BytesMut;
use indi_codec::IndiCodec;

const UPDATE: &[u8] = b"<setNumberVector device='d' name='n'><oneNumber name='x'>1</oneNumber></setNumberVector>";

/// A reader that takes `UPDATE` only.
fn take_update(window: &[u8]) -> Option<usize> {
    window.starts_with(UPDATE).then_some(UPDATE.len())
}

#[test]
fn whole_elements_are_taken_with_the_space_around_them() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&b"\n  "[..]);
    buf.extend_from_slice(UPDATE);
    buf.extend_from_slice(b"\n<message device='d' message='m'/>\n");
    // Leading spaces, the element and its line break.
    assert_eq!(codec.next_read_by(&mut buf, take_update), Some(3 + UPDATE.len() + 1));
    // Not the reader's: nothing taken, and the scanner frames it.
    assert_eq!(codec.next_read_by(&mut buf, take_update), None);
    let frame = codec.next_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&frame[..], b"<message device='d' message='m'/>\n");
    assert!(buf.is_empty());
}

#[test]
fn never_offered_an_element_the_scanner_has_started() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&UPDATE[..20]);
    assert!(codec.next_frame(&mut buf).is_none());
    buf.extend_from_slice(&UPDATE[20..]);
    buf.extend_from_slice(UPDATE);
    // The scanner is midway through the first: the reader must not see the rest as an element.
    assert_eq!(codec.next_read_by(&mut buf, |_| panic!("offered a partly scanned element")), None);
    assert_eq!(codec.next_frame(&mut buf).unwrap().unwrap().len(), UPDATE.len());
    // Fresh again: the second is the reader's.
    assert_eq!(codec.next_read_by(&mut buf, take_update), Some(UPDATE.len()));
}
