//! The one-pass reader of a client's hottest input: a `setNumberVector` of plain numbers in its
//! plainest form, read straight from the stream's buffer into a [`NumberRuns`] (no framing
//! pass, no element, no per-update allocation). It accepts exactly what
//! [`crate::updates::flat_frame`] followed by [`NumberRuns::push`] accepts, with the same
//! result; anything else returns `None` and takes that slower road. Tests check the two agree.

use crate::numrun::{plain_decimal, NumberRuns, STATES};

/// Printable ASCII but `<`, `&`, quotes, `>` and `]`: what the plain form lets through in
/// attribute values (`flat_frame`'s rule); element text also takes tabs and line breaks.
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

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, expected: &[u8]) -> Option<()> {
        self.text.get(self.at..)?.starts_with(expected).then(|| self.at += expected.len())
    }

    fn spaces(&mut self) -> usize {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|&b| is_space(b)) {
            self.at += 1;
        }
        self.at - start
    }

    /// Bytes up to `stop` (not taken), each allowed by `table`; None when the window ends first.
    fn until(&mut self, stop: u8, table: &[bool; 256]) -> Option<&'a [u8]> {
        // Pieces are a few bytes: a plain loop beats a vectorised search's setup.
        let start = self.at;
        loop {
            let b = *self.text.get(self.at)?;
            if b == stop {
                return Some(&self.text[start..self.at]);
            }
            if !table[b as usize] {
                return None;
            }
            self.at += 1;
        }
    }

    /// ` key="value"` (either quote) after at least one space; `Some(None)` at the end of a tag.
    fn attribute(&mut self) -> Option<Option<(&'a [u8], &'a [u8])>> {
        let spaced = self.spaces() > 0;
        if !spaced || matches!(self.text.get(self.at), Some(b'>' | b'/') | None) {
            return Some(None);
        }
        let key = self.until(b'=', &IN_VALUE)?;
        self.at += 1;
        let quote = *self.text.get(self.at).filter(|q| matches!(q, b'"' | b'\''))?;
        self.at += 1;
        let value = self.until(quote, &IN_VALUE)?;
        self.at += 1;
        Some(Some((key, value)))
    }
}

/// The float of a plain decimal (see [`plain_decimal`]) that is finite, as JS's `Number` reads it.
fn plain_number(text: &[u8]) -> Option<f64> {
    // Short integers, the common case, are exact in a u64 and an f64.
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) as f64;
        return Some(if negative { -n } else { n });
    }
    let text = std::str::from_utf8(text).ok()?;
    plain_decimal(text).then(|| text.parse::<f64>().ok().filter(|n| n.is_finite())).flatten()
}

fn trim(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|&b| !is_space(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|&b| !is_space(b)).map_or(start, |i| i + 1);
    &text[start..end]
}

/// Attribute keys of a plain update, by their slot.
const KEYS: [&[u8]; 6] = [b"device", b"name", b"state", b"timeout", b"timestamp", b"message"];

impl NumberRuns {
    /// Appends the `setNumberVector` at the start of `window` when it is a plain one, returning
    /// its length (through the `>` of its end tag); `None`, appending nothing, otherwise or when
    /// it has not all arrived.
    pub fn read(&mut self, window: &[u8]) -> Option<usize> {
        let mark = (self.records.len(), self.floats.len(), self.text.len());
        let read = self.read_update(window);
        if read.is_none() {
            // Names it interned stay: JS learns them with the run, unused.
            self.records.truncate(mark.0);
            self.floats.truncate(mark.1);
            self.text.truncate(mark.2);
        }
        read
    }

    fn read_update(&mut self, window: &[u8]) -> Option<usize> {
        const TAG: &[u8] = b"setNumberVector";
        const MEMBER: &[u8] = b"oneNumber";
        let mut c = Cursor { text: window, at: 0 };
        c.eat(b"<")?;
        c.eat(TAG)?;
        let mut head: [Option<&[u8]>; 6] = [None; 6];
        while let Some((key, value)) = c.attribute()? {
            let slot = KEYS.iter().position(|k| *k == key)?;
            if head[slot].replace(value).is_some() {
                return None;
            }
        }
        c.eat(b">")?;
        let state = match head[2].filter(|s| !s.is_empty()) {
            Some(text) => STATES.iter().position(|s| s.as_bytes() == trim(text)).filter(|&code| code > 0)?,
            None => 0,
        };
        let (device, name) = (head[0].filter(|d| !d.is_empty())?, head[1].filter(|n| !n.is_empty())?);
        let timeout = match head[3].unwrap_or_default() {
            b"" => None,
            text => Some(plain_number(text)?),
        };
        let key = [self.id_at(0, device), self.id_at(1, name)];
        let at = self.begin(key, state as i32, timeout, head[4].unwrap_or_default(), head[5].unwrap_or_default());
        let mut count = 0;
        loop {
            c.spaces();
            if c.eat(b"</").is_some() {
                break;
            }
            c.eat(b"<")?;
            c.eat(MEMBER)?;
            let (key, member) = c.attribute()??;
            if key != b"name" || c.attribute()?.is_some() {
                return None;
            }
            c.eat(b">")?;
            let raw = trim(c.until(b'<', &IN_TEXT)?);
            c.eat(b"</")?;
            c.eat(MEMBER)?;
            c.eat(b">")?;
            let value = plain_number(raw)?;
            let id = self.id_at(2 + count, member);
            self.records.push(id);
            self.push_text_bytes(raw);
            self.floats.push(value);
            count += 1;
        }
        c.eat(TAG)?;
        c.eat(b">")?;
        self.end(at, count);
        Some(c.at)
    }

    fn push_text_bytes(&mut self, piece: &[u8]) {
        // Only ASCII gets this far (the byte tables).
        self.push_text(std::str::from_utf8(piece).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::flat_frame;

    type Parts = (Vec<i32>, Vec<f64>, String, Vec<String>);

    /// What `flat_frame` and `push` make of `frame`: records, text and new names.
    fn slow(frame: &[u8]) -> Option<Parts> {
        let mut runs = NumberRuns::default();
        runs.push(&flat_frame(frame)?).then(|| runs.parts())
    }

    fn fast(frame: &[u8]) -> Option<Parts> {
        let mut runs = NumberRuns::default();
        let end = runs.read(frame)?;
        // What follows the element is the codec's business (a frame ends with it or spaces).
        frame[end..].iter().all(|&b| is_space(b)).then(|| runs.parts())
    }

    /// NaN compares unequal: compare bit patterns.
    fn same(a: &Option<Parts>, b: &Option<Parts>) -> bool {
        let bits = |x: &Option<Parts>| x.as_ref().map(|(r, f, t, s)| (r.clone(), f.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), t.clone(), s.clone()));
        bits(a) == bits(b)
    }

    const PLAIN: &[&str] = &[
        "<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">42</oneNumber></setNumberVector>\n",
        "<setNumberVector device='d' name='n' state=' Busy ' timeout='3' timestamp='2026-12-01T00:00:01' message='hi there'>\n  <oneNumber name='x'>\n 1.5 \n</oneNumber>\n  <oneNumber name='y'>-7e3</oneNumber>\n</setNumberVector>",
        "<setNumberVector device=\"d\" name=\"n\" ><oneNumber name=\"x\" >1</oneNumber><oneNumber name=\"z\">1234567890123456789</oneNumber></setNumberVector>",
        "<setNumberVector device=\"d\" name=\"n\" state=\"Alert\"></setNumberVector>",
    ];

    #[test]
    fn plain_updates_read_as_the_framed_path_reads_them() {
        for text in PLAIN {
            let expected = slow(text.as_bytes());
            assert!(expected.is_some(), "{text}");
            assert!(same(&fast(text.as_bytes()), &expected), "{text}");
        }
    }

    #[test]
    fn unusual_or_partial_updates_are_left_alone() {
        let mut runs = NumberRuns::default();
        for text in [
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\">12:30</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\" min=\"0\">1</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\"><!-- c --><oneNumber name=\"x\">1</oneNumber></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\" state=\"Bad\"></setNumberVector>",
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\">1</oneNumber></setNumberVector",
            "<setNumberVector device=\"d\" name=\"n\"><oneNumber name=\"x\">1</oneNu",
            "<setTextVector device=\"d\" name=\"t\"><oneText name=\"a\">1</oneText></setTextVector>",
        ] {
            assert_eq!(runs.read(text.as_bytes()), None, "{text}");
        }
        assert!(runs.is_empty());
    }

    #[test]
    fn mutated_updates_are_read_alike_or_left_alone() {
        let (mut tried, mut read_fast) = (0, 0);
        for bytes in crate::updates::tests::mutations(PLAIN, b"<>/=\"' \t\nabOK&;]!-.e0123456789:\x01\xc3", 8, 0x2545_f491_4f6c_dd1d) {
            let found = fast(&bytes);
            if found.is_some() {
                assert!(same(&found, &slow(&bytes)), "{}", String::from_utf8_lossy(&bytes));
                read_fast += 1;
            }
            tried += 1;
        }
        assert!(tried > 1000 && read_fast > 100 && read_fast < tried - 100, "{read_fast} of {tried}");
    }
}
