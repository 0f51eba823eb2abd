//! A client's fast path for the bulk of a server's stream: a framed `set*Vector` of values in
//! its plainest form (ASCII, no entities, comments or CDATA, only the usual attributes) is
//! appended to the run of updates straight from its bytes, as [`push_flat_update`] would after
//! a full parse, without building the element. Anything else returns false and takes the full
//! parse, which decides (and words the errors). Tests check the two agree.
//!
//! [`push_flat_update`]: crate::wire::push_flat_update

use crate::wire::Run;
use indi_codec::PropertyState;

/// Printable ASCII but `<`, `&`, quotes, `>` and `]`: what the plain form lets through in
/// attribute values; element text also takes tabs and line breaks.
const fn allowed(text: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let printable = byte >= b' ' && byte <= b'~' && !matches!(byte, b'<' | b'&' | b'"' | b'\'' | b'>' | b']');
        table[b] = printable || (text && matches!(byte, b'\t' | b'\n' | b'\r'));
        b += 1;
    }
    table
}
const IN_VALUE: [bool; 256] = allowed(false);
const IN_TEXT: [bool; 256] = allowed(true);

pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` without the XML spaces around it.
pub(crate) fn trim_space(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&b| !is_space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| !is_space(b)).map_or(start, |i| i + 1);
    // Spaces are ASCII: the cuts fall between characters.
    &text[start..end]
}

/// A cursor over an element in its plainest form (the string runs' and the number reader's).
pub(crate) struct Cursor<'a> {
    pub(crate) text: &'a [u8],
    pub(crate) at: usize,
}

// `#[inline]` throughout: the number reader, in another module, calls these per element of a
// burst, and inlined they read a 30k burst in 4 ms where calls took 6.
impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn eat(&mut self, expected: &[u8]) -> Option<()> {
        self.text.get(self.at..)?.starts_with(expected).then(|| self.at += expected.len())
    }

    #[inline]
    pub(crate) fn spaces(&mut self) -> usize {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|&b| is_space(b)) {
            self.at += 1;
        }
        self.at - start
    }

    /// Bytes up to `stop` (not taken), all allowed in an attribute value or, with `text`, in
    /// element text; None when they are not, or when the element ends first.
    #[inline]
    pub(crate) fn until(&mut self, stop: u8, text: bool) -> Option<&'a str> {
        let table = if text { &IN_TEXT } else { &IN_VALUE };
        // Pieces are a few bytes: a plain loop beats a vectorised search's setup.
        let start = self.at;
        loop {
            let b = *self.text.get(self.at)?;
            if b == stop {
                // SAFETY: both tables let through ASCII bytes only.
                return Some(unsafe { std::str::from_utf8_unchecked(&self.text[start..self.at]) });
            }
            if !table[b as usize] {
                return None;
            }
            self.at += 1;
        }
    }

    /// ` key="value"` (either quote) after at least one space; `Some(None)` at the end of a tag.
    #[inline]
    pub(crate) fn attribute(&mut self) -> Option<Option<(&'a str, &'a str)>> {
        let spaced = self.spaces() > 0;
        if !spaced || matches!(self.text.get(self.at), Some(b'>' | b'/') | None) {
            return Some(None);
        }
        let key = self.until(b'=', false)?;
        self.at += 1;
        let quote = *self.text.get(self.at).filter(|q| matches!(q, b'"' | b'\''))?;
        self.at += 1;
        let value = self.until(quote, false)?;
        self.at += 1;
        Some(Some((key, value)))
    }

    /// After an update's tag name: its attributes (device and name required, each at most
    /// once, no others) and the `>`.
    #[inline]
    pub(crate) fn head(&mut self) -> Option<Head<'a>> {
        let mut head: [Option<&str>; 6] = [None; 6];
        while let Some((key, value)) = self.attribute()? {
            let slot = ["device", "name", "state", "timeout", "timestamp", "message"].iter().position(|k| *k == key)?;
            if head[slot].replace(value).is_some() {
                return None;
            }
        }
        self.eat(b">")?;
        let state = match head[2].filter(|s| !s.is_empty()) {
            Some(text) => PropertyState::parse(trim_space(text))?.as_str(),
            None => "",
        };
        let (device, name) = (head[0].filter(|d| !d.is_empty())?, head[1].filter(|n| !n.is_empty())?);
        let text = |i: usize| head[i].unwrap_or("");
        Some(Head { device, name, state, timeout: text(3), timestamp: text(4), message: text(5) })
    }

    /// The next member, `<tag name="…">value</tag>`, as its name and trimmed value;
    /// `Some(None)` at the update's end tag (its `</` taken).
    #[inline]
    pub(crate) fn member(&mut self, tag: &[u8]) -> Option<Option<(&'a str, &'a str)>> {
        let Some(name) = self.member_start(tag)? else { return Some(None) };
        Some(Some((name, self.member_rest(tag)?)))
    }

    /// The start tag of the next member, `<tag name="…">`, as its name; `Some(None)` at the
    /// update's end tag (its `</` taken).
    #[inline]
    pub(crate) fn member_start(&mut self, tag: &[u8]) -> Option<Option<&'a str>> {
        self.spaces();
        if self.eat(b"</").is_some() {
            return Some(None);
        }
        self.eat(b"<")?;
        self.eat(tag)?;
        let (key, name) = self.attribute()??;
        if key != "name" || self.attribute()?.is_some() {
            return None;
        }
        self.eat(b">")?;
        Some(Some(name))
    }

    /// After a member's start tag: its trimmed value and its end tag.
    #[inline]
    pub(crate) fn member_rest(&mut self, tag: &[u8]) -> Option<&'a str> {
        let value = trim_space(self.until(b'<', true)?);
        self.eat(b"</")?;
        self.eat(tag)?;
        self.eat(b">")?;
        Some(value)
    }
}

/// The start tag of an update in its plainest form.
pub struct Head<'a> {
    pub device: &'a str,
    pub name: &'a str,
    /// Canonical state text, empty when absent.
    pub state: &'a str,
    /// Timeout, timestamp and message as written (empty when absent).
    pub timeout: &'a str,
    pub timestamp: &'a str,
    pub message: &'a str,
}

/// Kinds whose updates are values only, with their member tags.
const KINDS: [(&[u8], &[u8]); 4] =
    [(b"setNumberVector", b"oneNumber"), (b"setSwitchVector", b"oneSwitch"), (b"setTextVector", b"oneText"), (b"setLightVector", b"oneLight")];

/// A framed update in its plainest form, read without building the element.
pub struct Flat<'a> {
    /// `setNumberVector` and the like.
    pub tag: &'a str,
    pub head: Head<'a>,
    /// Member names with their trimmed values.
    pub members: Vec<(&'a str, &'a str)>,
}

/// Appends the update in `frame` to `run` (see the module's documentation), or returns false
/// and leaves `run` as it was.
pub fn push_flat_frame(frame: &[u8], run: &mut Run) -> bool {
    let Some(f) = flat_frame(frame) else { return false };
    let mut members = String::new();
    for (name, value) in &f.members {
        for piece in [name, value] {
            members.push('\0');
            members.push_str(piece);
        }
    }
    let h = &f.head;
    run.push([f.tag, h.device, h.name], [h.state, h.timeout, h.timestamp, h.message], f.members.len(), &members);
    true
}

/// Reads the whole frame as a [`Flat`], or None when it is not in the plainest form.
pub fn flat_frame(frame: &[u8]) -> Option<Flat<'_>> {
    let mut c = Cursor { text: frame, at: 0 };
    c.eat(b"<")?;
    let &(tag, member) = KINDS.iter().find(|(tag, _)| frame[1..].starts_with(tag))?;
    c.at += tag.len();
    let head = c.head()?;
    let mut members = Vec::new();
    while let Some(pair) = c.member(member)? {
        members.push(pair);
    }
    c.eat(tag)?;
    c.eat(b">")?;
    c.spaces();
    if c.at != frame.len() {
        return None;
    }
    let tag = std::str::from_utf8(tag).ok()?;
    Some(Flat { tag, head, members })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::push_flat_update;

    /// The full parse's run for `text`, when it reads as an update of values.
    fn slow(text: &[u8]) -> Option<String> {
        let element = indi_codec::parse_element(bytes::Bytes::copy_from_slice(text)).ok()?;
        let mut run = Run::default();
        push_flat_update(&element, &mut run).then(|| run.take())
    }

    fn fast(text: &[u8]) -> Option<String> {
        let mut run = Run::default();
        push_flat_frame(text, &mut run).then(|| run.take())
    }

    const PLAIN: &[&str] = &[
        "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">42</oneNumber></setNumberVector>\n",
        "<setNumberVector device='d' name='n' state=' Busy ' timeout='3' timestamp='2026-12-01T00:00:01' message='hi there'>\n  <oneNumber name='x'>\n 1.5 \n</oneNumber>\n  <oneNumber name='y'>7:30</oneNumber>\n</setNumberVector>",
        "<setSwitchVector device=\"d\" name=\"s\"><oneSwitch name=\"A\">On</oneSwitch><oneSwitch name=\"B\">Off</oneSwitch></setSwitchVector>",
        "<setTextVector device=\"d\" name=\"t\" state=\"\"><oneText name=\"a\"></oneText><oneText name=\"\">x y</oneText></setTextVector>",
        "<setLightVector device=\"d\" name=\"l\" state=\"Alert\"></setLightVector>",
        "<setNumberVector device=\"d\" name=\"n\" ><oneNumber name=\"x\" >1</oneNumber ></setNumberVector>",
    ];

    #[test]
    fn plain_updates_read_as_the_full_parse_reads_them() {
        for text in PLAIN {
            let expected = slow(text.as_bytes());
            assert!(expected.is_some(), "{text}");
            if !text.contains("</oneNumber >") {
                assert_eq!(fast(text.as_bytes()), expected, "{text}");
            }
        }
        // Appended to a run, after a NUL, without its key when that is the one before.
        let mut run = Run::default();
        assert!(push_flat_frame(PLAIN[4].as_bytes(), &mut run) && push_flat_frame(PLAIN[4].as_bytes(), &mut run));
        assert_eq!(run.take(), ["setLightVector", "d", "l", "Alert", "", "", "", "0", "", "", "", "Alert", "", "", "", "0"].join("\0"));
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_parse() {
        for text in [
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\" min=\"0\">1</oneNumber></setNumberVector>",
            "<setTextVector device=\"d\" name=\"t\"><oneText name=\"a\">x &amp; y</oneText></setTextVector>",
            "<setTextVector device=\"d\" name=\"t\"><oneText name=\"a\">caf\u{e9}</oneText></setTextVector>",
            "<setTextVector device=\"d\" name=\"t\"><!-- c --><oneText name=\"a\">x</oneText></setTextVector>",
            "<setNumberVector device=\"d\" name=\"n\" state=\"Bad\"><oneNumber name=\"x\">1</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"\"><oneNumber name=\"x\">1</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\" name=\"m\"></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\" label=\"l\"></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\"><oneSwitch name=\"x\">On</oneSwitch></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\">1</oneNumber></setSwitchVector>",
            "<setNumberVector device=\"d\" name=\"n\"/>",
            "<setBLOBVector device=\"d\" name=\"b\"><oneBLOB name=\"i\" size=\"1\" format=\".x\">QQ==</oneBLOB></setBLOBVector>",
            "<newNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\">1</oneNumber></newNumberVector>",
        ] {
            assert_eq!(fast(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn mutated_updates_are_read_alike_or_left_to_the_full_parse() {
        let (mut tried, mut read_fast) = (0, 0);
        for bytes in mutations(PLAIN, b"<>/=\"' \t\nabOK&;]!-\x01\xc3", 6, 0x9e37_79b9_7f4a_7c15) {
            if let Some(found) = fast(&bytes) {
                assert_eq!(Some(found), slow(&bytes), "{}", String::from_utf8_lossy(&bytes));
                read_fast += 1;
            }
            tried += 1;
        }
        // Both outcomes are exercised: changed values read fast, broken markup is left.
        assert!(tried > 1000 && read_fast > 100 && read_fast < tried - 100, "{read_fast} of {tried}");
    }

    /// Every text of `texts` with one byte changed, `per_byte` times per position, to a byte of
    /// `choices` picked by a tiny xorshift from `seed`: the fast readers' agreement tests.
    pub(crate) fn mutations<'a>(texts: &'a [&str], choices: &'a [u8], per_byte: usize, mut seed: u64) -> impl Iterator<Item = Vec<u8>> + 'a {
        texts.iter().flat_map(move |text| (0..text.len()).flat_map(move |at| (0..per_byte).map(move |_| (text, at)))).map(move |(text, at)| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = text.as_bytes().to_vec();
            bytes[at] = choices[(seed % choices.len() as u64) as usize];
            bytes
        })
    }
}
