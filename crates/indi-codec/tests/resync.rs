//! A driver's broken markup costs that element only: the decoder of a driver's stream
//! (`resync_on_known_tags`) gives up markup left open at the next top-level INDI start tag.

use bytes::BytesMut;
use indi_codec::{DecodeError, Element, IndiCodec};
use tokio_util::codec::Decoder;

const NEXT: &str = "<setNumberVector device='d' name='n'><oneNumber name='x'>1</oneNumber></setNumberVector>\n";

/// Everything decoded from `input` fed in `chunk`-byte reads, then the end of the stream.
fn decode(codec: IndiCodec, input: &[u8], chunk: usize) -> Vec<Result<Element, DecodeError>> {
    let mut codec = codec;
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).expect("decoding never fails with an I/O error") {
            out.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("decoding never fails with an I/O error") {
        out.push(item);
    }
    out
}

/// 64 KiB of bytes that look random, with plenty of `<`, quotes and `!`.
fn noise() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..64 << 10)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn each_kind_of_unclosed_markup_costs_one_element() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("an unknown element never closed", b"<foo>".to_vec()),
        ("an unterminated quote", b"<setTextVector device='d name=\"t\"><oneText name=\"t\">x</oneText></setTextVector>\n".to_vec()),
        ("an unterminated comment", b"<!-- no end\n".to_vec()),
        ("an unterminated CDATA section", b"<setTextVector device='d' name='t'><oneText name='t'><![CDATA[ no end\n".to_vec()),
        ("an unterminated PI", b"<?xml version='1.0'\n".to_vec()),
        ("an unterminated declaration", b"<!DOCTYPE x\n".to_vec()),
        ("64 KiB of random bytes", noise()),
    ];
    for (what, broken) in cases {
        let input = [NEXT.as_bytes(), &broken, NEXT.as_bytes(), NEXT.as_bytes()].concat();
        for chunk in [1, 7, 4096, input.len()] {
            let items = decode(IndiCodec::default().resync_on_known_tags(), &input, chunk);
            let elements = items.iter().filter(|item| matches!(item, Ok(Element::Set(_)))).count();
            assert_eq!(elements, 3, "{what} (reads of {chunk}): {items:?}");
            assert!(items.iter().any(|item| item.is_err()), "{what}: the loss is reported");
        }
    }
}

#[test]
fn well_formed_streams_decode_the_same_with_or_without_resync() {
    let input = format!("{NEXT}<setTextVector device='d' name='t'><!-- <x> --><oneText name='t'><![CDATA[a > b]]></oneText></setTextVector>\n{NEXT}");
    for chunk in [1, 5, input.len()] {
        let plain = decode(IndiCodec::default(), input.as_bytes(), chunk);
        let resync = decode(IndiCodec::default().resync_on_known_tags(), input.as_bytes(), chunk);
        assert_eq!(plain, resync);
        assert!(plain.iter().all(Result::is_ok) && plain.len() == 3);
    }
}
