//! Decoder throughput on large BLOB elements, fed in 64 KiB reads as a socket would deliver
//! them. Shows that decoding is linear in the element size (MB/s stays flat from 1 to 100 MiB).
//!
//! Run: `cargo bench -p indi-codec --bench decode_blob`

use bytes::BytesMut;
use indi_codec::{BlobData, Element, IndiCodec, OneValue};
use std::time::Instant;
use tokio_util::codec::Decoder;

/// A `setBLOBVector` as libindi drivers write it: base64 in 72-column lines.
fn blob_element(size: usize, line_breaks: bool) -> Vec<u8> {
    let raw: Vec<u8> = (0..size).map(|i| (i * 7 + i / 251) as u8).collect();
    let text = indi_codec::blob::encode(&raw);
    let mut body = Vec::with_capacity(text.len() + text.len() / 72 + 1);
    if line_breaks {
        for line in text.chunks(72) {
            body.extend_from_slice(line);
            body.push(b'\n');
        }
    } else {
        body.extend_from_slice(&text);
    }
    let mut out = format!("<setBLOBVector device='Cam' name='CCD1' state='Ok'><oneBLOB name='CCD1' size='{size}' format='.fits'>").into_bytes();
    out.extend_from_slice(&body);
    out.extend_from_slice(b"</oneBLOB></setBLOBVector>\n");
    out
}

fn measure(size: usize, line_breaks: bool, rounds: usize) {
    let input = blob_element(size, line_breaks);
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let mut codec = IndiCodec::default();
        let mut buf = BytesMut::with_capacity(input.len());
        let start = Instant::now();
        let mut decoded = None;
        for chunk in input.chunks(64 * 1024) {
            buf.extend_from_slice(chunk);
            if let Some(item) = codec.decode(&mut buf).unwrap() {
                decoded = Some(item.unwrap());
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        best = best.min(elapsed);
        let Some(Element::Set(vector)) = decoded else { panic!("no element decoded") };
        let OneValue::Blob(blob) = &vector.members[0].value else { panic!("no BLOB") };
        assert!(matches!(blob.data, BlobData::Base64(_)));
        assert_eq!(blob.data.decoded_len(), size);
    }
    let mb = input.len() as f64 / 1e6;
    println!(
        "{:>4} MiB BLOB, {:<11} {:>8.1} MB/s of wire bytes ({:.2} ms best of {rounds})",
        size >> 20,
        if line_breaks { "72-column:" } else { "one line:" },
        mb / best,
        best * 1e3
    );
}

fn main() {
    for line_breaks in [false, true] {
        measure(1 << 20, line_breaks, 20);
        measure(16 << 20, line_breaks, 5);
        measure(100 << 20, line_breaks, 3);
    }
}
