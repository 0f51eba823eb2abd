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

#[test]
fn excised_text_leaves_the_frame_and_still_counts_against_the_size_limit() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&ELEMENT[..65]);
    assert!(codec.next_frame(&mut buf).is_none());
    assert!(!codec.excise(&mut buf, TEXT.start..TEXT.start + 4), "not scanned that far yet");
    assert!(!codec.excise(&mut buf, 0..2), "the start tag is not text");
    assert!(codec.excise(&mut buf, TEXT.start..TEXT.start + 3));
    buf.extend_from_slice(&ELEMENT[65..]);
    let frame = codec.next_frame(&mut buf).expect("framed").expect("whole");
    assert_eq!(&frame[..], [&ELEMENT[..TEXT.start], &ELEMENT[TEXT.start + 3..]].concat());

    // Over the limit by one byte with its text (`ELEMENT.len() - 3` takes it without its
    // three excised bytes).
    let mut codec = IndiCodec::new(indi_codec::Limits { max_element: ELEMENT.len() - 3, ..Default::default() });
    let mut buf = BytesMut::from(&ELEMENT[..65]);
    assert!(codec.next_frame(&mut buf).is_none());
    assert!(codec.excise(&mut buf, TEXT.start..TEXT.start + 3));
    buf.extend_from_slice(&ELEMENT[65..]);
    assert!(matches!(codec.next_frame(&mut buf), Some(Err(indi_codec::DecodeError::TooLarge { .. }))));
}

#[test]
fn restored_text_is_framed_where_it_was() {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(&ELEMENT[..65]);
    assert!(codec.next_frame(&mut buf).is_none());
    assert!(codec.excise(&mut buf, TEXT.start..TEXT.start + 3));
    assert!(!codec.restore(&mut buf, TEXT.start, b"YWJjYWJj"), "more than was excised");
    assert!(codec.restore(&mut buf, TEXT.start, b"YWJ"));
    buf.extend_from_slice(&ELEMENT[65..]);
    let frame = codec.next_frame(&mut buf).expect("framed").expect("whole");
    assert_eq!(&frame[..], ELEMENT);
}
