//! The common case, checked in one tight pass: an ASCII element with double- or single-quoted
//! attributes, no entities, comments, CDATA or processing instructions, every end tag written
//! `</name>`. Anything else (or anything wrong) returns `None`, and the general checker in
//! [`crate::head`] decides, with its error messages. So this only has to agree with it on what
//! it accepts, which the codec's equivalence tests and fuzz target check.

use crate::head::{routing_attributes, HeadOffsets, Tag};
use std::ops::Range;

/// Deepest nesting taken here (as the general checker's `MAX_DEPTH`).
const MAX_DEPTH: usize = 16;

/// Byte classes, one bit each, so each scanning loop is one table lookup per byte.
const NAME: u8 = 1;
/// Ends text: `<`, `&`, or not ASCII.
const TEXT_STOP: u8 = 2;
/// Ends (or spoils) an attribute value here: quotes, `<`, `>`, `&`, controls, not ASCII.
const VALUE_STOP: u8 = 4;
const SPACE: u8 = 8;

const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let delimiter = matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'/' | b'>' | b'"' | b'\'' | b'<' | b'&');
        let mut class = 0;
        if !delimiter && byte < 0x80 {
            class |= NAME;
        }
        if byte == b'<' || byte == b'&' || byte >= 0x80 {
            class |= TEXT_STOP;
        }
        if matches!(byte, b'"' | b'\'' | b'<' | b'>' | b'&') || byte < 0x20 || byte >= 0x80 {
            class |= VALUE_STOP;
        }
        if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            class |= SPACE;
        }
        table[b] = class;
        b += 1;
    }
    table
};

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Moves past the bytes of `class`.
    fn skip(&mut self, class: u8) {
        let rest = &self.bytes[self.pos..];
        self.pos += rest.iter().position(|&b| CLASSES[b as usize] & class == 0).unwrap_or(rest.len());
    }

    /// Moves to the next byte of `class` (or the end).
    fn until(&mut self, class: u8) {
        let rest = &self.bytes[self.pos..];
        self.pos += rest.iter().position(|&b| CLASSES[b as usize] & class != 0).unwrap_or(rest.len());
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// A name (at least one byte).
    fn name(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        self.skip(NAME);
        (self.pos > start).then_some(start..self.pos)
    }

    /// Attributes up to `>` or `/>`, calling `found` with each name and value; returns whether
    /// the tag closes itself.
    fn attributes(&mut self, mut found: impl FnMut(&'a [u8], Range<usize>)) -> Option<bool> {
        loop {
            self.skip(SPACE);
            match self.peek()? {
                b'>' => {
                    self.pos += 1;
                    return Some(false);
                }
                b'/' => {
                    (self.bytes.get(self.pos + 1) == Some(&b'>')).then_some(())?;
                    self.pos += 2;
                    return Some(true);
                }
                _ => {}
            }
            let key = self.name()?;
            self.skip(SPACE);
            (self.peek()? == b'=').then_some(())?;
            self.pos += 1;
            self.skip(SPACE);
            let quote = self.peek().filter(|q| matches!(q, b'"' | b'\''))?;
            self.pos += 1;
            let start = self.pos;
            self.until(VALUE_STOP);
            (self.peek()? == quote).then_some(())?;
            found(&self.bytes[key], start..self.pos);
            self.pos += 1;
        }
    }
}

/// Checks the element `window` starts with (at its `<`) and returns its head and where it
/// ends, or `None` to leave it to the general checker.
pub(crate) fn check_simple(window: &[u8], max_depth: usize) -> Option<(HeadOffsets, usize)> {
    let max_depth = max_depth.min(MAX_DEPTH);
    let mut cursor = Cursor { bytes: window, pos: 1 };
    let root = cursor.name()?;
    // Where the scanner ends the root's name: the two must read the same name.
    if !matches!(cursor.peek()?, b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/') {
        return None;
    }
    // ASCII: a name is valid UTF-8.
    let root_name = std::str::from_utf8(&window[root.clone()]).ok()?;
    let tag = Tag::parse(root_name)?;
    let (mut device, mut property) = (None, None);
    let empty = cursor.attributes(|key, value| match key {
        b"device" => device = Some(value),
        b"name" => property = Some(value),
        _ => {}
    })?;
    let (device, property) = routing_attributes(tag, device, property).ok()?;
    if !empty {
        body(&mut cursor, root, max_depth)?;
    }
    Some((HeadOffsets::borrowed(tag, device, property), cursor.pos))
}

/// Everything after the root's start tag, up to and including its end tag.
fn body(cursor: &mut Cursor<'_>, root: Range<usize>, max_depth: usize) -> Option<()> {
    let bytes = cursor.bytes;
    let mut open: [Range<usize>; MAX_DEPTH] = std::array::from_fn(|_| 0..0);
    open[0] = root;
    let mut depth = 1;
    while depth > 0 {
        cursor.until(TEXT_STOP);
        if cursor.peek()? != b'<' {
            return None;
        }
        cursor.pos += 1;
        match cursor.peek()? {
            b'/' => {
                let expected = &bytes[open[depth - 1].clone()];
                let name_at = cursor.pos + 1;
                let after = name_at + expected.len();
                if bytes.get(name_at..after)? != expected || bytes.get(after) != Some(&b'>') {
                    return None;
                }
                cursor.pos = after + 1;
                depth -= 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {
                let name = cursor.name()?;
                if !cursor.attributes(|_, _| {})? {
                    if depth == max_depth {
                        return None;
                    }
                    open[depth] = name;
                    depth += 1;
                }
            }
            _ => return None,
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::{check_framed, Head};
    use bytes::Bytes;

    /// The fast path's head and end, checked against the general checker's.
    fn fast(text: &str) -> Option<(Head, usize)> {
        let whole = Bytes::copy_from_slice(text.as_bytes());
        let (offsets, end) = check_simple(text.as_bytes(), 8)?;
        let (checked, general_end) = check_framed(&text[..end], 8).expect("the general checker accepts what the fast path does");
        let head = offsets.head(&whole);
        assert_eq!((checked.offsets(text).head(&whole), general_end), (head.clone(), end), "{text}");
        Some((head, end))
    }

    #[test]
    fn takes_the_everyday_elements() {
        let update = "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\" timestamp=\"2026-11-28T04:00:00\">\n  <oneNumber name=\"N\">\n12.5\n  </oneNumber>\n</setNumberVector>\n";
        let (head, end) = fast(update).expect("fast path");
        assert_eq!((head.tag, head.device.as_deref(), head.name.as_deref()), (Tag::Set(crate::VectorKind::Number), Some("Bench"), Some("NUM")));
        assert_eq!(end, update.len() - 1);
        let (head, end) = fast("<getProperties version='1.7'/>trailing").expect("self-closing root");
        assert_eq!((head.tag, head.device, end), (Tag::GetProperties, None, 30));
        assert!(fast("<message device='d' message='hi' name='x'/>").is_some_and(|(h, _)| h.name.is_none()));
        assert!(fast("<newSwitchVector device='d' name='n'><oneSwitch name='a'>On</oneSwitch><oneSwitch name='b'/></newSwitchVector>").is_some());
    }

    #[test]
    fn leaves_everything_unusual_to_the_general_checker() {
        for text in [
            "<setTextVector device='d' name='n'><oneText name='t'>a &amp; b</oneText></setTextVector>",
            "<setTextVector device='d' name='n'><oneText name='t'>é</oneText></setTextVector>",
            "<setTextVector device='d' name='n'><!-- c --></setTextVector>",
            "<setTextVector device='d' name='n'><oneText name='t'><![CDATA[x]]></oneText></setTextVector>",
            "<setTextVector device='d' name='n' label='a > b'></setTextVector>",
            "<setTextVector device='d' name=\"it's\"></setTextVector>",
            "<setTextVector device='d' name='n'></setTextVector >",
            "<setTextVector device='d' name='n'><oneText name='t'></oneTextX></setTextVector>",
            "<setTextVector name='n'></setTextVector>",
            "<setTextVector device='d'></setTextVector>",
            "<sneakyVector device='d' name='n'></sneakyVector>",
            "<setTextVector device='d' name='n' x/='1'></setTextVector>",
            "<setTextVector device='d' name='n'><a><b><c><d><e><f><g><h></h></g></f></e></d></c></b></a></setTextVector>",
            "<setTextVector device='d' name='n'><1/></setTextVector>",
            "<setTextVector device='d' name='n'><oneText name='t'>unfinished",
        ] {
            assert!(check_simple(text.as_bytes(), 8).is_none(), "{text}");
        }
    }
}
