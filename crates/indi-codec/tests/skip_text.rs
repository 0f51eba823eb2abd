//! `IndiCodec::skip_text`: text a caller has searched is passed over only once scanning is in it.

use bytes::BytesMut;
use indi_codec::IndiCodec;

const ELEMENT: &[u8] = b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3'>YWJj</oneBLOB></setBLOBVector>\n";
/// Where the text `YWJj` is in `ELEMENT`.
const TEXT: std::ops::Range<usize> = 62..66;

#[test]
fn searched_text_is_passed_over_once_scanning_is_in_it() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&ELEMENT[..64]);
    assert!(codec.next_frame(&mut buf).is_none());
    // Claimed `<`-free though it is not: passing over `</o` loses the end tag, so the element
    // never ends (which shows the claim was taken).
    codec.skip_text(TEXT.start..TEXT.end + 3);
    buf.extend_from_slice(&ELEMENT[64..]);
    assert!(codec.next_frame(&mut buf).is_none());
}

#[test]
fn text_not_reached_yet_is_not_skipped() {
    let mut codec = IndiCodec::default();
    // Scanning stopped inside the start tag: the claimed range lies ahead of it.
    let mut buf = BytesMut::from(&ELEMENT[..50]);
    assert!(codec.next_frame(&mut buf).is_none());
    codec.skip_text(0..ELEMENT.len() - 20);
    buf.extend_from_slice(&ELEMENT[50..]);
    let frame = codec.next_frame(&mut buf).expect("framed").expect("whole");
    assert_eq!(&frame[..], ELEMENT);
}

#[test]
fn a_true_claim_changes_nothing() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&ELEMENT[..64]);
    assert!(codec.next_frame(&mut buf).is_none());
    buf.extend_from_slice(&ELEMENT[64..]);
    codec.skip_text(TEXT);
    let frame = codec.next_frame(&mut buf).expect("framed").expect("whole");
    assert_eq!(&frame[..], ELEMENT);
}
