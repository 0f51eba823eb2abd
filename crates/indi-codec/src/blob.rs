//! Base64 for BLOBs: SIMD encode/decode, whitespace-tolerant reading, canonical form for relaying.

use crate::avx512;
use base64_simd::{AsOut, STANDARD};
use bytes::{BufMut, Bytes, BytesMut};
use std::mem::MaybeUninit;

/// Decoded length of canonical (padded, whitespace-free) base64 text.
pub fn decoded_len(text: &[u8]) -> usize {
    let pad = text.iter().rev().take(2).filter(|&&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(pad)
}

/// Decodes canonical base64 text (as held in [`crate::BlobData::Base64`]).
pub fn decode_canonical(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match decode_into_vec(text, &mut out) {
        Some(()) => out,
        None => base64_simd::forgiving_decode_to_vec(text).unwrap_or_default(),
    }
}

/// Appends the bytes of canonical base64 `text` (padded, no whitespace) to `out`; `None` (and
/// `out` unchanged) when it is not that.
pub fn decode_into_vec(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let len = STANDARD.decoded_length(text).ok()?;
    out.reserve(len);
    let written = decode_to(text, &mut out.spare_capacity_mut()[..len])?;
    // SAFETY: `decode_to` initialised `written` bytes of the spare capacity.
    unsafe { out.set_len(out.len() + written) };
    Some(())
}

/// Decodes canonical base64 `text` into `out`, which holds at least its decoded length
/// (`base64_simd::STANDARD.decoded_length`), and returns the bytes written: exactly what
/// base64-simd's strict decoder gives and rejects, with AVX-512 where the CPU has it.
pub fn decode_to(text: &[u8], out: &mut [MaybeUninit<u8>]) -> Option<usize> {
    // The body in whole blocks; the tail, with any padding, at least one block long.
    let body = if avx512::available() { text.len().saturating_sub(avx512::BLOCK) / avx512::BLOCK * avx512::BLOCK } else { 0 };
    let (head, tail) = out.split_at_mut(body / 4 * 3);
    if body > 0 {
        // SAFETY: `available()` holds; `head` is 3/4 of the body's length.
        unsafe { avx512::decode_blocks(&text[..body], head)? };
    }
    let rest = STANDARD.decode(&text[body..], tail.as_out()).ok()?.len();
    Some(head.len() + rest)
}

/// Decodes base64 that may contain whitespace or lack padding (RFC 2045 readers ignore line breaks).
pub fn decode_lenient(text: &[u8]) -> Option<Vec<u8>> {
    base64_simd::forgiving_decode_to_vec(text).ok()
}

/// Appends the base64 encoding of `raw` (one line, padded) to `out`.
pub fn encode_into(raw: &[u8], out: &mut BytesMut) {
    let len = STANDARD.encoded_length(raw.len());
    out.reserve(len);
    let written = STANDARD.encode(raw, out.spare_capacity_mut()[..len].as_out()).len();
    // SAFETY: `encode` initialised exactly `written` bytes of the spare capacity.
    unsafe { out.advance_mut(written) };
}

/// Appends the base64 encoding of `raw` (one line, padded) to `out`.
pub fn encode_into_vec(raw: &[u8], out: &mut Vec<u8>) {
    let len = STANDARD.encoded_length(raw.len());
    out.reserve(len);
    let written = STANDARD.encode(raw, out.spare_capacity_mut()[..len].as_out()).len();
    // SAFETY: `encode` initialised exactly `written` bytes of the spare capacity.
    unsafe { out.set_len(out.len() + written) };
}

/// Encodes `raw` to base64 bytes.
pub fn encode(raw: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    encode_into(raw, &mut out);
    out.freeze()
}

fn is_xml_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Turns the text of a received `oneBLOB` into canonical base64.
///
/// `text` must lie inside `whole`; when it already is canonical (the common case for our own
/// writers and for indiserver) the result shares `whole`'s memory instead of copying.
/// Returns `None` when the text is not base64.
pub fn canonicalize(whole: &Bytes, text: &[u8]) -> Option<Bytes> {
    let start = text.iter().position(|&b| !is_xml_space(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|&b| !is_xml_space(b)).map_or(start, |i| i + 1);
    let trimmed = &text[start..end];
    // Canonical already: one SIMD pass (a byte loop looking for spaces first cost more than it).
    if STANDARD.check(trimmed).is_ok() {
        return Some(whole.slice_ref(trimmed));
    }
    if trimmed.iter().any(|&b| is_xml_space(b)) {
        // Line-broken (libindi writes 72 columns): drop the breaks, no decoding needed.
        let joined: Vec<u8> = trimmed.iter().copied().filter(|&b| !is_xml_space(b)).collect();
        if STANDARD.check(&joined).is_ok() {
            return Some(Bytes::from(joined));
        }
    }
    // Unpadded or otherwise irregular: normalise through a decode, once.
    let raw = decode_lenient(trimmed)?;
    Some(encode(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_shared_not_copied() {
        let whole = Bytes::from_static(b"<x>  QUJD  </x>");
        let out = canonicalize(&whole, &whole[3..11]).unwrap();
        assert_eq!(&out[..], b"QUJD");
        assert_eq!(out.as_ptr(), whole[5..].as_ptr());
    }

    #[test]
    fn line_breaks_and_missing_padding_are_accepted() {
        let whole = Bytes::from_static(b"QUJD\nREVG\r\nRw");
        let out = canonicalize(&whole, &whole[..]).unwrap();
        assert_eq!(&out[..], b"QUJDREVGRw==");
        assert_eq!(decode_canonical(&out), b"ABCDEFG");
        assert_eq!(decoded_len(&out), 7);
    }

    #[test]
    fn garbage_is_rejected() {
        let whole = Bytes::from_static(b"QU*D");
        assert!(canonicalize(&whole, &whole[..]).is_none());
    }

    /// A small deterministic generator: the tests need no dependency for it.
    fn noise(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn decode_to_gives_and_rejects_exactly_what_base64_simd_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..4000 {
            let len = (noise(&mut seed) % if round % 10 == 0 { 5000 } else { 400 }) as usize;
            let raw: Vec<u8> = (0..len).map(|_| noise(&mut seed) as u8).collect();
            let mut text = STANDARD.encode_to_string(&raw).into_bytes();
            // Most rounds spoil one character somewhere: outside the alphabet, padding, or high bit.
            if round % 4 != 0 && !text.is_empty() {
                let at = (noise(&mut seed) as usize) % text.len();
                text[at] = [b'=', b'*', b'\n', 0xC3, 0x80, b'-', b'_', 0][(noise(&mut seed) % 8) as usize];
            }
            let expected = STANDARD.decode_to_vec(&text).ok();
            let mut out = Vec::new();
            let got = decode_into_vec(&text, &mut out).map(|()| out);
            assert_eq!(got, expected, "length {} round {round}", text.len());
        }
    }

    #[test]
    fn decode_into_vec_appends() {
        let mut out = b"ab".to_vec();
        let text = encode(&[7u8; 200]);
        decode_into_vec(&text, &mut out).unwrap();
        assert_eq!((&out[..2], out.len(), out[2..].iter().all(|&b| b == 7)), (&b"ab"[..], 202, true));
        assert!(decode_into_vec(b"QU*D", &mut out).is_none());
        assert_eq!(out.len(), 202);
    }

    #[test]
    fn encode_round_trips() {
        for n in 0..70 {
            let raw: Vec<u8> = (0..n as u8).collect();
            let text = encode(&raw);
            assert_eq!(decode_canonical(&text), raw);
            assert_eq!(decoded_len(&text), raw.len());
        }
    }
}
