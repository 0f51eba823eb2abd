//! The decoder against real traffic captured from Debian's indi-bin 1.9.9 (`tests/samples/`,
//! copied from the project spec): everything parses, however the stream is split.

use bytes::BytesMut;
use indi_codec::*;
use std::path::PathBuf;
use tokio_util::codec::Decoder;

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|e| e == "xml")).collect();
    files.sort();
    assert!(files.len() >= 9, "samples missing from {dir:?}");
    files.into_iter().map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(path).unwrap())).collect()
}

/// Independent count of top-level elements: every sample starts them at column 0.
fn top_level_starts(input: &[u8]) -> usize {
    input.split(|&b| b == b'\n').filter(|line| line.len() > 1 && line[0] == b'<' && line[1].is_ascii_alphabetic()).count()
}

/// The capture tool elided the middle of the large BLOBs, leaving text that is not base64;
/// `samples_curated.xml` also ends inside its last BLOB example (cut off with a comment, so
/// the `pingRequest` after it is inside that unclosed element).
fn expected_errors(name: &str) -> Vec<&'static str> {
    match name {
        "raw_ccd_exposure_elided.xml" | "driver_pipe_setBLOB_head.xml" => vec!["elided"],
        "samples_curated.xml" => vec!["elided", "truncated"],
        _ => vec![],
    }
}

fn is_elided_blob(error: &DecodeError) -> bool {
    matches!(error, DecodeError::Malformed { tag, reason } if tag == "oneBLOB" && reason.contains("base64"))
}

#[test]
fn every_sample_parses() {
    for (name, input) in samples() {
        let items = decode_all(&input);
        let errors: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().err())
            .map(|e| match e {
                DecodeError::Truncated => "truncated",
                e if is_elided_blob(e) => "elided",
                _ => "unexpected",
            })
            .collect();
        assert_eq!(errors, expected_errors(&name), "{name}: {items:?}");
        let nested_ping = usize::from(name == "samples_curated.xml");
        assert_eq!(items.len(), top_level_starts(&input) - nested_ping, "{name}: element count");
    }
}

/// Decodes `parts` fed one after the other into one decoder.
fn decode_parts(parts: &[&[u8]]) -> Vec<Result<Element, DecodeError>> {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            items.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        items.push(item);
    }
    items
}

/// Byte ranges of the stream that each end with one decoded item (the last may hold only
/// trailing whitespace).
fn item_segments(input: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut codec = IndiCodec::default();
    let mut buf = BytesMut::from(input);
    let mut segments = Vec::new();
    let mut start = 0;
    while codec.decode(&mut buf).unwrap().is_some() {
        let end = input.len() - buf.len();
        segments.push(start..end);
        start = end;
    }
    segments.push(start..input.len());
    segments
}

#[test]
fn splitting_at_every_offset_gives_the_same_elements() {
    for (name, input) in samples() {
        let whole = decode_all(&input);
        // A split far from an element boundary cannot matter to that element, and the decoder
        // starts afresh after each element, so every offset of the stream is covered by cutting
        // every segment (the gap before an element plus the element) at every offset.
        let mut joined = Vec::new();
        for (index, segment) in item_segments(&input).into_iter().enumerate() {
            let bytes = &input[segment];
            let expected = decode_parts(&[bytes]);
            for cut in 0..=bytes.len() {
                assert_eq!(decode_parts(&[&bytes[..cut], &bytes[cut..]]), expected, "{name} item {index} cut {cut}");
            }
            joined.extend(expected);
        }
        assert_eq!(joined, whole, "{name}: segments decode to the whole stream");
        // And a few cuts of the whole stream, directly.
        for cut in (0..=input.len()).step_by(997) {
            assert_eq!(decode_parts(&[&input[..cut], &input[cut..]]), whole, "{name} split at {cut}");
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_same_elements() {
    for (name, input) in samples() {
        let mut codec = IndiCodec::default();
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for &byte in &input {
            buf.extend_from_slice(&[byte]);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                items.push(item);
            }
        }
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            items.push(item);
        }
        assert_eq!(items, decode_all(&input), "{name}");
    }
}

#[test]
fn encoding_then_decoding_round_trips_every_sample_element() {
    for (name, input) in samples() {
        let elements: Vec<Element> = decode_all(&input).into_iter().filter_map(Result::ok).collect();
        let mut out = BytesMut::new();
        for element in &elements {
            encode_element(element, &mut out);
        }
        let again: Vec<Element> = decode_all(&out).into_iter().map(Result::unwrap).collect();
        assert_eq!(again, elements, "{name}");
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), elements.len(), "{name}: one element per line");
    }
}

#[test]
fn reference_peer_details_survive() {
    let samples = samples();
    let get = |name: &str| decode_all(&samples.iter().find(|(n, _)| n == name).unwrap().1);

    let one = get("raw_getProperties_one.xml");
    let Ok(Element::Def(def)) = &one[0] else { panic!("{one:?}") };
    assert_eq!((def.kind, def.device.as_str(), def.name.as_str()), (VectorKind::Switch, "Telescope Simulator", "CONNECTION"));
    assert_eq!((def.perm, def.rule, def.state), (Some(Perm::Rw), Some(SwitchRule::OneOfMany), PropertyState::Idle));
    let values: Vec<_> = def.members.iter().map(|m| (m.name.as_str(), m.value.as_str())).collect();
    assert_eq!(values, [("CONNECT", "Off"), ("DISCONNECT", "On")]);

    // What indi_simulator_ccd writes on a pipe: single quotes, 72-column base64, enclen, ping.
    // Without the capture tool's elision marker the BLOB is valid (shorter) base64.
    let raw = &samples.iter().find(|(n, _)| n == "driver_pipe_setBLOB_head.xml").unwrap().1;
    let pipe = decode_all(String::from_utf8_lossy(raw).replace("...[truncated]...\n", "").as_bytes());
    let blob = pipe
        .iter()
        .find_map(|item| match item {
            Ok(Element::Set(v)) if v.kind == VectorKind::Blob => Some(v),
            _ => None,
        })
        .unwrap();
    let OneValue::Blob(value) = &blob.members[0].value else { panic!() };
    assert_eq!((value.size, value.format.as_str()), (2_626_560, ".fits"));
    let BlobData::Base64(text) = &value.data else { panic!() };
    assert!(!text.contains(&b'\n') && text.len() % 4 == 0);
    assert!(value.data.to_raw().starts_with(b"SIMPLE  =                    T"));
    assert!(pipe.contains(&Ok(Element::PingRequest("SetBLOB/1".into()))));

    let ccd = get("raw_getProperties_all.xml");
    let formats: Vec<&str> = ccd
        .iter()
        .filter_map(|i| match i {
            Ok(Element::Def(v)) => Some(v),
            _ => None,
        })
        .flat_map(|v| v.members.iter().filter_map(|m| m.number.as_ref()?.format.as_deref()))
        .collect();
    assert!(formats.contains(&"%010.6m") && formats.contains(&"%g"), "{formats:?}");
}
