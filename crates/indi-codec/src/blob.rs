//! Base64 for BLOBs: SIMD encode/decode, whitespace-tolerant reading, canonical form for relaying.

use base64_simd::{AsOut, STANDARD};
use bytes::{BufMut, Bytes, BytesMut};

/// Decoded length of canonical (padded, whitespace-free) base64 text.
pub fn decoded_len(text: &[u8]) -> usize {
    let pad = text.iter().rev().take(2).filter(|&&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(pad)
}

/// Decodes canonical base64 text (as held in [`crate::BlobData::Base64`]).
pub fn decode_canonical(text: &[u8]) -> Vec<u8> {
    STANDARD.decode_to_vec(text).or_else(|_| base64_simd::forgiving_decode_to_vec(text)).unwrap_or_default()
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
