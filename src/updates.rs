//! A client's fast path for the bulk of a server's stream: a framed `set*Vector` of values in
//! its plainest form (ASCII, no entities, comments or CDATA, only the usual attributes) is
//! appended to the run of updates straight from its bytes, as [`push_flat_update`] would after
//! a full parse, without building the element. Anything else returns false and takes the full
//! parse, which decides (and words the errors). Tests check the two agree.
//!
//! [`push_flat_update`]: crate::wire::push_flat_update

use crate::wire::Run;
use indi_codec::PropertyState;

/// A cursor over one frame.
struct Bytes<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn eat(&mut self, expected: &[u8]) -> Option<()> {
        self.text[self.at..].starts_with(expected).then(|| self.at += expected.len())
    }

    fn spaces(&mut self) -> usize {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
        self.at - start
    }

    /// Bytes up to `stop`, all printable ASCII other than `<`, `&` and quotes; `text_ok` also
    /// lets through line breaks and tabs (element text, which is trimmed of them later).
    fn until(&mut self, stop: u8, text_ok: bool) -> Option<&'a str> {
        let start = self.at;
        loop {
            let b = *self.text.get(self.at)?;
            if b == stop {
                break;
            }
            let spacing = text_ok && matches!(b, b'\t' | b'\n' | b'\r');
            if !spacing && (!(b' '..=b'~').contains(&b) || matches!(b, b'<' | b'&' | b'"' | b'\'' | b'>' | b']')) {
                return None;
            }
            self.at += 1;
        }
        // Only ASCII was let through.
        std::str::from_utf8(&self.text[start..self.at]).ok()
    }

    /// ` key="value"` (either quote), after at least one space; None at the end of the tag.
    fn attribute(&mut self) -> Option<Option<(&'a str, &'a str)>> {
        let spaced = self.spaces() > 0;
        if matches!(self.text.get(self.at), Some(b'>' | b'/') | None) || !spaced {
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
}

/// Kinds whose updates are values only, with their member tags.
const KINDS: [(&[u8], &[u8]); 4] =
    [(b"setNumberVector", b"oneNumber"), (b"setSwitchVector", b"oneSwitch"), (b"setTextVector", b"oneText"), (b"setLightVector", b"oneLight")];

/// A framed update in its plainest form, read without building the element.
pub struct Flat<'a> {
    /// `setNumberVector` and the like.
    pub tag: &'a str,
    pub device: &'a str,
    pub name: &'a str,
    /// Canonical state text, empty when absent.
    pub state: &'a str,
    /// Timeout, timestamp and message as written (empty when absent).
    pub timeout: &'a str,
    pub timestamp: &'a str,
    pub message: &'a str,
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
    run.push([f.tag, f.device, f.name], [f.state, f.timeout, f.timestamp, f.message], f.members.len(), &members);
    true
}

/// Reads the whole frame as a [`Flat`], or None when it is not in the plainest form.
pub fn flat_frame(frame: &[u8]) -> Option<Flat<'_>> {
    let mut c = Bytes { text: frame, at: 0 };
    c.eat(b"<")?;
    let &(tag, member) = KINDS.iter().find(|(tag, _)| frame[1..].starts_with(tag))?;
    c.at += tag.len();
    // device name state timeout timestamp message, each at most once.
    let mut head: [Option<&str>; 6] = [None; 6];
    while let Some((key, value)) = c.attribute()? {
        let slot = ["device", "name", "state", "timeout", "timestamp", "message"].iter().position(|k| *k == key)?;
        if head[slot].replace(value).is_some() {
            return None;
        }
    }
    c.eat(b">")?;
    let state = match head[2].filter(|s| !s.is_empty()) {
        Some(text) => PropertyState::parse(text.trim())?.as_str(),
        None => "",
    };
    let (device, name) = (head[0].filter(|d| !d.is_empty())?, head[1].filter(|n| !n.is_empty())?);
    let mut members = Vec::new();
    loop {
        c.spaces();
        if c.eat(b"</").is_some() {
            break;
        }
        c.eat(b"<")?;
        c.eat(member)?;
        let (key, member_name) = c.attribute()??;
        if key != "name" || c.attribute()?.is_some() {
            return None;
        }
        c.eat(b">")?;
        let value = c.until(b'<', true)?.trim_matches(|ch| matches!(ch, ' ' | '\t' | '\n' | '\r'));
        c.eat(b"</")?;
        c.eat(member)?;
        c.eat(b">")?;
        members.push((member_name, value));
    }
    c.eat(tag)?;
    c.eat(b">")?;
    c.spaces();
    if c.at != frame.len() {
        return None;
    }
    let tag = std::str::from_utf8(tag).ok()?;
    let text = |i: usize| head[i].unwrap_or("");
    Some(Flat { tag, device, name, state, timeout: text(3), timestamp: text(4), message: text(5), members })
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
