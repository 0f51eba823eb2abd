//! The client's one reader of plain number updates: a `setNumberVector` of plain numbers in its
//! plainest form, read into a [`NumberRuns`] with no element built and no per-update
//! allocation, straight from the stream's buffer (no framing pass) or from a framed element.
//! Anything else returns `None` and is read as a string run or parsed whole. Tests check it
//! against the string runs' reader (`flat_frame`, then the test-only `NumberRuns::push`).

use crate::numrun::{plain_decimal, NumberRuns, STATES};
#[cfg(test)]
use crate::numrun::{COUNT_SHIFT, HAS_TIMEOUT, SAME_VECTOR};
use crate::updates::Cursor;

/// The float of a plain decimal (see [`plain_decimal`]) that is finite, as JS's `Number` reads it.
fn plain_number(text: &str) -> Option<f64> {
    // Short integers, the common case, are exact in a u64 and an f64.
    let (negative, digits) = match text.as_bytes().split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text.as_bytes()),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) as f64;
        return Some(if negative { -n } else { n });
    }
    plain_decimal(text).then(|| text.parse::<f64>().ok().filter(|n| n.is_finite())).flatten()
}

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
        // A burst repeats its start tags byte for byte: the same bytes say the same.
        let at = match &self.start_tag {
            Some(start) if window.starts_with(&start.bytes) => {
                c.at = start.bytes.len();
                let (key, state, timeout) = (start.key, start.state, start.timeout);
                self.begin(key, state, timeout, "", "")
            }
            _ => {
                c.eat(b"<")?;
                c.eat(TAG)?;
                let head = c.head()?;
                let state = STATES.iter().position(|s| *s == head.state).unwrap_or(0) as i32;
                let timeout = match head.timeout {
                    "" => None,
                    text => Some(plain_number(text)?),
                };
                let key = [self.id_at(0, head.device), self.id_at(1, head.name)];
                // Tags with a timestamp or message differ each time: not kept.
                self.start_tag =
                    (head.timestamp.is_empty() && head.message.is_empty()).then(|| StartTag { bytes: window[..c.at].to_vec(), key, state, timeout });
                self.begin(key, state, timeout, head.timestamp, head.message)
            }
        };
        let mut count = 0;
        loop {
            c.spaces();
            let start = c.at;
            let id = match self.member_tags.get(count) {
                Some((bytes, id)) if window[start..].starts_with(bytes) => {
                    c.at += bytes.len();
                    *id
                }
                _ => {
                    let Some(member) = c.member_start(MEMBER)? else { break };
                    let id = self.id_at(2 + count, member);
                    if count < 16 {
                        self.member_tags.resize(self.member_tags.len().max(count + 1), (Vec::new(), 0));
                        self.member_tags[count] = (window[start..c.at].to_vec(), id);
                    }
                    id
                }
            };
            let raw = c.member_rest(MEMBER)?;
            let value = plain_number(raw)?;
            self.records.push(id);
            self.push_text(raw);
            self.floats.push(value);
            count += 1;
        }
        c.eat(TAG)?;
        c.eat(b">")?;
        self.end(at, count);
        Some(c.at)
    }
}

/// The start tag of the last update read, with what it says (see `NumberRuns::read`).
pub(crate) struct StartTag {
    bytes: Vec<u8>,
    key: [i32; 2],
    state: i32,
    timeout: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::{flat_frame, is_space};

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

    /// `slow` and `fast` after reading the plain updates first: their start tags are then the
    /// ones the fast reader compares bytes with.
    fn slow_after_plain(frame: &[u8]) -> Option<Parts> {
        let mut runs = NumberRuns::default();
        PLAIN.iter().for_each(|p| assert!(runs.push(&flat_frame(p.as_bytes()).unwrap())));
        runs.parts();
        runs.push(&flat_frame(frame)?).then(|| runs.parts())
    }

    fn fast_after_plain(frame: &[u8]) -> Option<Parts> {
        let mut runs = NumberRuns::default();
        PLAIN.iter().for_each(|p| assert!(runs.read(p.as_bytes()).is_some()));
        runs.parts();
        let end = runs.read(frame)?;
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
    fn repeated_start_tags_read_as_the_first() {
        for text in PLAIN {
            assert!(same(&fast_after_plain(text.as_bytes()), &slow_after_plain(text.as_bytes())), "{text}");
        }
        // The same tags with other values, and a start tag that only begins like the last one.
        let mut runs = NumberRuns::default();
        let update = |value: &str| format!("<setNumberVector device=\"d\" name=\"n\" state=\"Ok\"><oneNumber name=\"x\">{value}</oneNumber></setNumberVector>");
        for value in ["1", "2.5", "-3e2"] {
            assert!(runs.read(update(value).as_bytes()).is_some());
        }
        let longer = "<setNumberVector device=\"d\" name=\"n\" state=\"Ok\" timeout=\"1\"><oneNumber name=\"xy\">4</oneNumber></setNumberVector>";
        assert!(runs.read(longer.as_bytes()).is_some());
        let (records, floats, text, names) = runs.parts();
        assert_eq!(floats, [1., 2.5, -300., 1., 4.]);
        assert_eq!(text, "12.5-3e24");
        assert_eq!(names, ["d", "n", "x", "xy"]);
        // The last record: d n again, Ok with a timeout, one member, the new name's id.
        assert_eq!(records[records.len() - 6..], [0, 1, 2 | HAS_TIMEOUT | SAME_VECTOR | 1 << COUNT_SHIFT, 3, 8, 9]);
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
            // With the tags of the plain updates known: read alike, or left alone, as fresh.
            let primed = fast_after_plain(&bytes);
            assert_eq!(primed.is_some(), found.is_some(), "{}", String::from_utf8_lossy(&bytes));
            assert!(primed.is_none() || same(&primed, &slow_after_plain(&bytes)), "{}", String::from_utf8_lossy(&bytes));
            tried += 1;
        }
        assert!(tried > 1000 && read_fast > 100 && read_fast < tried - 100, "{read_fast} of {tried}");
    }
}
