//! The plain form: elements as our encoder writes them, which every INDI parser reads alike.
//!
//! libindi's lilxml is not an XML parser: it skips `<!…>` and `<?…>` up to the first `>`
//! (so a comment or CDATA section holding `>` leaves it inside an element, or turns the rest
//! into top-level elements), keeps the first of duplicate attributes, leaves numeric character
//! references as they are, and trusts a `oneBLOB`'s `enclen` to copy that many bytes blindly.
//! A server must not pass such bytes from one peer to another; [`is_plain`] tells which
//! elements may be relayed as received, the others are re-encoded (or refused) by the caller.

use memchr::{memchr, memchr2};

/// Attribute names our encoder writes: anything else is dropped by re-encoding.
const ATTRIBUTES: [&[u8]; 17] = [
    b"device",
    b"name",
    b"state",
    b"timestamp",
    b"timeout",
    b"message",
    b"version",
    b"label",
    b"group",
    b"perm",
    b"rule",
    b"format",
    b"min",
    b"max",
    b"step",
    b"size",
    b"uid",
];

/// The entities lilxml resolves (and our encoder writes, with the three below).
const ENTITIES: [&[u8]; 8] = [b"amp;", b"lt;", b"gt;", b"quot;", b"apos;", b"#9;", b"#10;", b"#13;"];

/// Most attributes in one plain tag (a `defNumber` has five).
const MAX_ATTRIBUTES: usize = 12;

/// True when `raw`, one complete well-formed element (as the decoder frames it), holds no
/// comment, CDATA section, processing instruction or declaration, only attributes our encoder
/// writes (each once, names lilxml reads), and only the entities our encoder writes.
pub fn is_plain(raw: &[u8]) -> bool {
    let mut pos = 0;
    while let Some(found) = memchr2(b'<', b'&', &raw[pos..]) {
        let at = pos + found;
        if raw[at] == b'&' {
            if !known_entity(&raw[at + 1..]) {
                return false;
            }
            pos = at + 1;
            continue;
        }
        pos = match raw.get(at + 1) {
            Some(b'/') => at + 2,
            Some(b'!' | b'?') | None => return false,
            Some(_) => match start_tag(raw, at + 1) {
                Some(end) => end,
                None => return false,
            },
        };
    }
    true
}

fn known_entity(rest: &[u8]) -> bool {
    ENTITIES.iter().any(|entity| rest.starts_with(entity))
}

/// A name as lilxml reads one: a letter or `_`, then letters, digits or `_`.
fn token(raw: &[u8], from: usize) -> Option<usize> {
    let first = *raw.get(from)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let len = raw[from..].iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).unwrap_or(raw.len() - from);
    Some(from + len)
}

fn skip_space(raw: &[u8], mut pos: usize) -> usize {
    while raw.get(pos).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// Checks the start tag whose name begins at `from`; returns where it ends, `None` if not plain.
fn start_tag(raw: &[u8], from: usize) -> Option<usize> {
    let mut pos = token(raw, from)?;
    let mut seen: [&[u8]; MAX_ATTRIBUTES] = [b""; MAX_ATTRIBUTES];
    let mut count = 0;
    loop {
        pos = skip_space(raw, pos);
        match raw.get(pos)? {
            b'>' => return Some(pos + 1),
            b'/' => return (raw.get(pos + 1) == Some(&b'>')).then_some(pos + 2),
            _ => {}
        }
        let name_end = token(raw, pos)?;
        let name = &raw[pos..name_end];
        if !ATTRIBUTES.contains(&name) || seen[..count].contains(&name) || count == MAX_ATTRIBUTES {
            return None;
        }
        seen[count] = name;
        count += 1;
        pos = skip_space(raw, name_end);
        if raw.get(pos) != Some(&b'=') {
            return None;
        }
        pos = skip_space(raw, pos + 1);
        let quote = *raw.get(pos).filter(|q| matches!(q, b'"' | b'\''))?;
        let value_end = pos + 1 + memchr(quote, &raw[pos + 1..])?;
        let value = &raw[pos + 1..value_end];
        let mut at = 0;
        while let Some(amp) = memchr(b'&', &value[at..]) {
            if !known_entity(&value[at + amp + 1..]) {
                return None;
            }
            at += amp + 1;
        }
        pos = value_end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::is_plain;

    #[test]
    fn what_our_encoder_writes_is_plain() {
        for text in [
            "<newTextVector device=\"CCD Simulator\" name=\"X\" timestamp=\"2026-01-01T00:00:00\">\n<oneText name=\"t\">a &amp; b &lt;c&gt;</oneText>\n</newTextVector>\n",
            "<getProperties version='1.7'/>",
            "<message device=\"d\" message=\"a&#10;b &quot;q&quot;\"/>\n",
            "<newBLOBVector device=\"d\" name=\"b\"><oneBLOB name=\"b\" size=\"3\" format=\".fits\">QUJD</oneBLOB></newBLOBVector>",
            "<defNumberVector device='d' name='n' state='Idle' perm='rw'><defNumber name='x' label='X' format='%g' min='0' max='1' step='0'>0</defNumber></defNumberVector>",
        ] {
            assert!(is_plain(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn what_lilxml_reads_otherwise_is_not() {
        for text in [
            "<newTextVector device=\"d\" name=\"X\"><!-- </newTextVector><newTextVector> --></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><oneText name=\"t\"><![CDATA[<message message='x'/>]]></oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><?pi > ?><oneText name=\"t\">x</oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><!DOCTYPE x></newTextVector>",
            "<newTextVector device=\"a\" device=\"b\" name=\"X\"><oneText name=\"t\">x</oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><oneText name=\"t\" name=\"u\">x</oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><oneText name=\"t\">&#60;</oneText></newTextVector>",
            "<newTextVector device=\"CCD&#32;Simulator\" name=\"X\"/>",
            "<newBLOBVector device=\"d\" name=\"b\"><oneBLOB name=\"b\" size=\"3\" format=\".x\" enclen=\"99999\">QUJD</oneBLOB></newBLOBVector>",
            "<newTextVector device=\"d\" name=\"X\" xml:lang=\"en\"/>",
            "<newTextVector device=\"d\" name=\"X\"><one-Text name=\"t\">x</one-Text></newTextVector>",
        ] {
            assert!(!is_plain(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn duplicate_attributes_and_declarations_inside_elements_are_refused_by_the_parser() {
        for text in [
            "<newTextVector device=\"a\" device=\"b\" name=\"X\"><oneText name=\"t\">x</oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><oneText name=\"t\" name=\"u\">x</oneText></newTextVector>",
            "<newTextVector device=\"d\" name=\"X\"><!DOCTYPE x [<!ENTITY e \"y\">]><oneText name=\"t\">x</oneText></newTextVector>",
        ] {
            assert!(crate::parse_element(bytes::Bytes::from(text)).is_err(), "{text}");
        }
    }
}
