//! The common case, checked in one tight pass: an ASCII element with double- or single-quoted
//! attributes, no entities, comments, CDATA or processing instructions, every end tag written
//! `</name>`. Anything else (or anything wrong) returns `None`, and the general checker in
//! [`crate::head`] decides, with its error messages. So this only has to agree with it on what
//! it accepts, which the codec's equivalence tests and fuzz target check.

use crate::head::{routing_attributes, Head, HeadOffsets, Tag};
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

/// A value or text `check_simple` read: a run of bytes outside `stop` (a class), ended by one
/// inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    start: usize,
    end: usize,
    stop: u8,
}

impl Span {
    fn new(range: Range<usize>, stop: u8) -> Span {
        Span { start: range.start, end: range.end, stop }
    }
}

/// An element `check_simple` accepted, with the values and texts it read. `check_simple` looks
/// at every other byte one by one and only classifies the bytes of a span, so an element equal
/// to this one outside its spans, whose spans end at the same class of byte, takes the very
/// same path through `check_simple`: same answer. The device and the property are kept out of
/// the spans (compared as fixed bytes), so the head is this one's. Drivers send the same
/// vectors over and over, so most elements match one of a few shapes.
#[derive(Debug)]
struct Shape {
    bytes: Vec<u8>,
    spans: Vec<Span>,
    head: Head,
    max_depth: usize,
}

impl Shape {
    /// Where the element `window` starts with ends, if it has this shape.
    fn end_of(&self, window: &[u8], max_depth: usize) -> Option<usize> {
        if max_depth != self.max_depth {
            return None;
        }
        let (mut pos, mut from) = (0, 0);
        for span in &self.spans {
            let fixed = &self.bytes[from..span.start];
            if window.get(pos..pos + fixed.len())? != fixed {
                return None;
            }
            pos += fixed.len();
            pos += window[pos..].iter().position(|&b| CLASSES[b as usize] & span.stop != 0)?;
            from = span.end;
        }
        let fixed = &self.bytes[from..];
        if window.get(pos..pos + fixed.len())? != fixed {
            return None;
        }
        Some(pos + fixed.len())
    }
}

/// The fast path with a memory of the last few shapes it accepted.
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    /// Most recently matched first.
    known: Vec<Shape>,
    spans: Vec<Span>,
}

/// Shapes kept per stream: one per vector a driver keeps sending, up to this many.
const SHAPES: usize = 16;
/// Longer elements are checked afresh each time (the scan dominates; and memory stays small).
const SHAPE_BYTES: usize = 4096;

impl Shapes {
    /// The head and end of the element `window` starts with, if it has a known shape.
    pub(crate) fn known(&mut self, window: &[u8], max_depth: usize) -> Option<(Head, usize)> {
        let (at, end) = self.known.iter().enumerate().find_map(|(at, shape)| Some((at, shape.end_of(window, max_depth)?)))?;
        self.known[..=at].rotate_right(1);
        Some((self.known[0].head.clone(), end))
    }

    /// The length of the element `window` starts with, if it has the shape matched last.
    pub(crate) fn again(&self, window: &[u8], max_depth: usize) -> Option<usize> {
        self.known.first()?.end_of(window, max_depth)
    }

    /// [`check_simple`], remembering the shape of what it accepts (for elements of no known shape).
    pub(crate) fn learn(&mut self, window: &[u8], max_depth: usize) -> Option<(HeadOffsets, usize)> {
        let (found, end) = check_recording(window, max_depth, &mut self.spans)?;
        let offsets = found.offsets();
        if end <= SHAPE_BYTES {
            let element = &window[..end];
            let head = offsets.clone().head(&bytes::Bytes::copy_from_slice(element));
            self.remember(element, head, &found, max_depth);
        }
        Some((offsets, end))
    }

    fn remember(&mut self, element: &[u8], head: Head, found: &Found, max_depth: usize) {
        let names = [&found.device, &found.property].map(|range| range.as_ref().map(|r| r.start));
        let mut shape = if self.known.len() == SHAPES {
            self.known.pop().expect("full")
        } else {
            Shape { bytes: Vec::new(), spans: Vec::new(), head: head.clone(), max_depth }
        };
        shape.bytes.clear();
        shape.bytes.extend_from_slice(element);
        shape.spans.clear();
        shape.spans.extend(self.spans.iter().filter(|span| !names.contains(&Some(span.start))));
        (shape.head, shape.max_depth) = (head, max_depth);
        self.known.insert(0, shape);
    }
}

struct Cursor<'a, 's> {
    bytes: &'a [u8],
    pos: usize,
    /// The values and texts read, in order (see [`Shape`]).
    spans: &'s mut Vec<Span>,
}

impl<'a> Cursor<'a, '_> {
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
            self.spans.push(Span::new(start..self.pos, VALUE_STOP));
            found(&self.bytes[key], start..self.pos);
            self.pos += 1;
        }
    }
}

/// Checks the element `window` starts with (at its `<`) and returns its head and where it
/// ends, or `None` to leave it to the general checker.
#[cfg(test)]
pub(crate) fn check_simple(window: &[u8], max_depth: usize) -> Option<(HeadOffsets, usize)> {
    let (found, end) = check_recording(window, max_depth, &mut Vec::new())?;
    Some((found.offsets(), end))
}

/// What `check_simple` found: the root's tag and the ranges of its device and name.
struct Found {
    tag: Tag,
    device: Option<Range<usize>>,
    property: Option<Range<usize>>,
}

impl Found {
    fn offsets(&self) -> HeadOffsets {
        HeadOffsets::borrowed(self.tag, self.device.clone(), self.property.clone())
    }
}

/// [`check_simple`], recording in `spans` the values and texts it read.
fn check_recording(window: &[u8], max_depth: usize, spans: &mut Vec<Span>) -> Option<(Found, usize)> {
    let max_depth = max_depth.min(MAX_DEPTH);
    spans.clear();
    let mut cursor = Cursor { bytes: window, pos: 1, spans };
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
        // Empty means absent, as libindi reads it (`device=""` from BaseClient).
        b"device" => device = Some(value).filter(|v| !v.is_empty()),
        b"name" => property = Some(value).filter(|v| !v.is_empty()),
        _ => {}
    })?;
    let (device, property) = routing_attributes(tag, device, property).ok()?;
    if !empty {
        body(&mut cursor, root, max_depth)?;
    }
    Some((Found { tag, device, property }, cursor.pos))
}

/// Everything after the root's start tag, up to and including its end tag.
fn body(cursor: &mut Cursor<'_, '_>, root: Range<usize>, max_depth: usize) -> Option<()> {
    let bytes = cursor.bytes;
    let mut open: [Range<usize>; MAX_DEPTH] = std::array::from_fn(|_| 0..0);
    open[0] = root;
    let mut depth = 1;
    while depth > 0 {
        let text_at = cursor.pos;
        cursor.until(TEXT_STOP);
        if cursor.peek()? != b'<' {
            return None;
        }
        cursor.spans.push(Span::new(text_at..cursor.pos, TEXT_STOP));
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

    impl Shapes {
        /// What the codec does: a known shape, else a fresh check.
        fn check(&mut self, window: &[u8], max_depth: usize) -> Option<(Head, usize)> {
            self.known(window, max_depth).or_else(|| {
                let (offsets, end) = self.learn(window, max_depth)?;
                Some((offsets.head(&Bytes::copy_from_slice(&window[..end])), end))
            })
        }
    }

    /// `Shapes::check` on each text, after `learned`, against `check_simple` on its own.
    fn shapes_agree(learned: &str, texts: &[&str]) -> Shapes {
        let mut shapes = Shapes::default();
        assert!(shapes.check(learned.as_bytes(), 8).is_some(), "{learned}");
        for text in texts {
            let whole = Bytes::copy_from_slice(text.as_bytes());
            let from_shapes = shapes.check(text.as_bytes(), 8);
            let alone = check_simple(text.as_bytes(), 8).map(|(offsets, end)| (offsets.head(&whole), end));
            assert_eq!(from_shapes, alone, "{text}");
        }
        shapes
    }

    #[test]
    fn an_element_of_a_known_shape_is_checked_against_it() {
        let learned = "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">1</oneNumber></setNumberVector>\n";
        let same_shape = [
            "<setNumberVector device=\"Telescope Simulator\" name=\"EQUATORIAL_EOD_COORD\" state=\"Busy\"><oneNumber name=\"RA\">12.5e-3</oneNumber></setNumberVector>",
            "<setNumberVector device=\"\" name=\"\" state=\"\"><oneNumber name=\"\"></oneNumber></setNumberVector>",
            "<setNumberVector device=\"a>b\" name=\"n\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"a&amp;b\" name=\"n\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"é\" name=\"n\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"it's\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">1 &lt; 2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">a<b/>c</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">\u{7}</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>trailing",
            "<setNumberVector device='d' name='n' state='Ok'><oneNumber name='N'>2</oneNumber></setNumberVector>",
            "<setNumberVector name=\"n\" device=\"d\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber><oneNumber name=\"M\">3</oneNumber></setNumberVector>",
            "<newNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">2</oneNumber></newNumberVector>",
            "<getProperties version='1.7'/>",
        ];
        shapes_agree(learned, &same_shape);
        // Other values of the same vector: the learned shape again, with its head.
        let mut one = Shapes::default();
        one.check(learned.as_bytes(), 8);
        for text in [
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Busy\"><oneNumber name=\"RA\">12.5e-3</oneNumber></setNumberVector>",
            "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"\"><oneNumber name=\"\"></oneNumber></setNumberVector>",
        ] {
            let (head, _) = one.known(text.as_bytes(), 8).expect("same shape");
            assert_eq!((head.device.as_deref(), head.name.as_deref()), (Some("Bench"), Some("NUM")));
        }
        // Another vector is another shape: its head is its own.
        let other = "<setNumberVector device=\"Bench\" name=\"NUN\" state=\"Ok\"><oneNumber name=\"N\">1</oneNumber></setNumberVector>";
        assert!(one.known(other.as_bytes(), 8).is_none());
        assert_eq!(one.check(other.as_bytes(), 8).expect("checked").0.name.as_deref(), Some("NUN"));
        assert_eq!(one.known.len(), 2);
    }

    #[test]
    fn shapes_keep_the_depth_limit_and_the_most_recent_few() {
        let nested = "<setTextVector device='d' name='n'><a><b><c></c></b></a></setTextVector>";
        let mut shapes = shapes_agree(nested, &[nested]);
        assert!(shapes.check(nested.as_bytes(), 3).is_none(), "depth 4 is over a limit of 3");
        for i in 0..SHAPES + 3 {
            let text = format!("<setTextVector device='d' name='n'><a{i}></a{i}></setTextVector>");
            assert!(shapes.check(text.as_bytes(), 8).is_some());
        }
        assert_eq!(shapes.known.len(), SHAPES);
        let long = format!("<setTextVector device='d' name='n'><oneText name='t'>{}</oneText></setTextVector>", "x".repeat(SHAPE_BYTES));
        let before = shapes.known[0].bytes.clone();
        assert!(shapes.check(long.as_bytes(), 8).is_some());
        assert_eq!(shapes.known[0].bytes, before, "a long element is not remembered");
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
