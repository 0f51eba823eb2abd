//! Base64 decoding with AVX-512 VBMI (Muła and Lemire, "Base64 encoding and decoding at almost
//! the speed of a memory copy", 2019): 64 characters to 48 bytes in a handful of instructions,
//! about twice base64-simd's AVX2 rate. Only the body is decoded here; the caller leaves the last
//! characters (and so any padding) to base64-simd, so the two together accept and reject exactly
//! what base64-simd alone does.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Characters per block.
pub(crate) const BLOCK: usize = 64;

/// Whether this CPU can run [`decode_blocks`].
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vbmi"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The value of each ASCII character in the standard alphabet; 0x80 marks characters outside
/// it (`=` included: padding belongs to the tail).
const fn alphabet_values() -> [u8; 128] {
    let mut table = [0x80u8; 128];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    table[b'+' as usize] = 62;
    table[b'/' as usize] = 63;
    table
}

const VALUES: [u8; 128] = alphabet_values();

/// Output byte `j` of a block comes from lane `j / 3` of the merged 24-bit values, whose bytes
/// are stored little-endian (the first output byte is the lane's third byte).
const fn pack_order() -> [u8; 64] {
    let mut order = [0u8; 64];
    let mut j = 0;
    while j < 48 {
        order[j] = (j / 3 * 4 + 2 - j % 3) as u8;
        j += 1;
    }
    order
}

const PACK: [u8; 64] = pack_order();

/// Decodes `text` (whole blocks of [`BLOCK`] characters) into `out` (3/4 of its length), or
/// `None` when a character is outside the alphabet (`out` is then partly written).
///
/// # Safety
/// [`available`] must have returned true.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(crate) unsafe fn decode_blocks(text: &[u8], out: &mut [MaybeUninit<u8>]) -> Option<()> {
    debug_assert!(text.len().is_multiple_of(BLOCK) && out.len() >= text.len() / 4 * 3);
    // SAFETY (whole body): every load reads 64 bytes of `text` inside a whole block; every store
    // writes 48 bytes (masked) inside `out`, which holds 3/4 of `text`'s length.
    let low = _mm512_loadu_si512(VALUES.as_ptr().cast());
    let high = _mm512_loadu_si512(VALUES[64..].as_ptr().cast());
    let pack = _mm512_loadu_si512(PACK.as_ptr().cast());
    // Two characters of 6 bits to 12, then two of those to 24 (maddubs and madd weights).
    let pairs = _mm512_set1_epi32(0x0140_0140);
    let quads = _mm512_set1_epi32(0x0001_1000);
    let mut bad = _mm512_setzero_si512();
    for (block, dest) in text.chunks_exact(BLOCK).zip(out.chunks_exact_mut(48)) {
        let chars = _mm512_loadu_si512(block.as_ptr().cast());
        let values = _mm512_permutex2var_epi8(low, chars, high);
        // Non-ASCII characters index the table modulo 128: their own high bit marks them.
        bad = _mm512_or_si512(bad, _mm512_or_si512(chars, values));
        let merged = _mm512_madd_epi16(_mm512_maddubs_epi16(values, pairs), quads);
        let bytes = _mm512_permutexvar_epi8(pack, merged);
        _mm512_mask_storeu_epi8(dest.as_mut_ptr().cast(), 0xFFFF_FFFF_FFFF, bytes);
    }
    (_mm512_movepi8_mask(bad) == 0).then_some(())
}

/// Never called: [`available`] is false off x86-64.
///
/// # Safety
/// None needed; it only panics.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) unsafe fn decode_blocks(_text: &[u8], _out: &mut [MaybeUninit<u8>]) -> Option<()> {
    unreachable!("AVX-512 decoding on a CPU without it")
}
