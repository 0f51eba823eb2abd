//! A client's run of `setNumberVector`s as numbers: the hot case of a burst crosses napi as
//! typed arrays of records and one string of texts, instead of a string JS splits into pieces.
//! Names are interned here once per connection; JS learns each new one with the batch using it.

#[cfg(test)]
use crate::updates::Flat;
use napi::bindgen_prelude::{Float64Array, Int32Array};
use napi_derive::napi;
use std::collections::HashMap;

/// The update has a timeout (first of its floats).
pub const HAS_TIMEOUT: i32 = 8;
/// The update has a timestamp (bounds after its head).
pub const HAS_TIMESTAMP: i32 = 16;
/// The update has a message (bounds after its head, and after its timestamp's).
pub const HAS_MESSAGE: i32 = 32;
/// The update sets everything the record before it in the run set: same vector, same members
/// in the same order, a state and a timeout wherever that one had them. JS need never apply
/// that one when nothing read it (a burst's updates all have this bit but the first).
pub const SUPERSEDES: i32 = 64;
/// The update is of the same vector as the record before it in the run (JS reads a vector's
/// updates while they have this bit).
pub const SAME_VECTOR: i32 = 128;
/// The state code's bits in a head.
pub const STATE_MASK: i32 = 7;
/// Where the member count starts in a head.
pub const COUNT_SHIFT: u32 = 8;

/// States by their code in a record (0: absent).
pub(crate) const STATES: [&str; 5] = ["", "Idle", "Ok", "Busy", "Alert"];

/// A run of number updates for JS (`applyNumbers` in ts/client.ts). Per update, `records`
/// holds `device name head`, then `timestampStart timestampEnd` when it has a timestamp and
/// `messageStart messageEnd` when it has a message, then `count` times `member rawStart
/// rawEnd`; `floats` holds its timeout when it has one, then each member's value. Device, name
/// and member are ids of interned names, `head` is the state code (0 absent, then Idle Ok Busy
/// Alert) with the [`HAS_TIMEOUT`], [`HAS_TIMESTAMP`], [`HAS_MESSAGE`], [`SUPERSEDES`] and
/// [`SAME_VECTOR`] bits and `count << 8`, and the `Start`/`End` pairs are bounds in `text`. `names` are the names first given ids
/// in this run, from id `firstName` on. Integers cross as an Int32Array (JS reads them without
/// boxing each one, as it must a Float64Array's), and what an update lacks takes no room: the
/// first thousands of a burst run unoptimised in JS, where each element read costs.
#[napi(object)]
pub struct NumberRun {
    pub records: Int32Array,
    pub floats: Float64Array,
    pub text: String,
    pub names: Vec<String>,
    pub first_name: u32,
}

/// Builds [`NumberRun`]s; its name table lasts as long as the connection.
#[derive(Default)]
pub struct NumberRuns {
    ids: HashMap<String, i32>,
    new_names: Vec<String>,
    pub(crate) records: Vec<i32>,
    pub(crate) floats: Vec<f64>,
    pub(crate) text: String,
    /// The names last interned at each position of an update (device, name, members): a burst
    /// repeats them, and a comparison costs less than a hash.
    recent: Vec<Option<(String, i32)>>,
    /// Where the head of the last update ended in this run is.
    last: Option<usize>,
    /// The start tag of the last update read, and of its members by position (with their
    /// ids): a burst repeats them byte for byte (see `NumberRuns::read`).
    pub(crate) start_tag: Option<crate::numread::StartTag>,
    pub(crate) member_tags: Vec<(Vec<u8>, i32)>,
}

impl NumberRuns {
    /// Whether nothing was appended since the last [`NumberRuns::take`].
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Appends `f` when it is a `setNumberVector` whose numbers (and timeout) are plain
    /// decimals, which JS would read with `Number` too; false, appending nothing, otherwise.
    /// The reference the client's reader ([`NumberRuns::read`]) is checked against: built on the
    /// string runs' reader, not on its own byte rules.
    #[cfg(test)]
    pub fn push(&mut self, f: &Flat) -> bool {
        let plain = |t: &str| plain_decimal(t).then(|| t.parse::<f64>().ok().filter(|n| n.is_finite())).flatten();
        if f.tag != "setNumberVector" || !(f.head.timeout.is_empty() || plain(f.head.timeout).is_some()) || !f.members.iter().all(|(_, v)| plain(v).is_some()) {
            return false;
        }
        let h = &f.head;
        let state = STATES.iter().position(|s| *s == h.state).unwrap_or(0);
        let timeout = (!h.timeout.is_empty()).then(|| plain(h.timeout)).flatten();
        let (device, name) = (self.id(h.device), self.id(h.name));
        let head = self.begin([device, name], state as i32, timeout, h.timestamp, h.message);
        for (member, value) in &f.members {
            let id = self.id(member);
            self.records.push(id);
            self.push_text(value);
            self.floats.push(plain(value).unwrap_or(f64::NAN));
        }
        self.end(head, f.members.len());
        true
    }

    /// Starts an update of vector `key` (device and name ids): its head, the bounds of what it
    /// has of `timestamp` and `message`, its timeout. Returns where the head is, for `end`.
    pub(crate) fn begin(&mut self, key: [i32; 2], state: i32, timeout: Option<f64>, timestamp: &str, message: &str) -> usize {
        let mut head = state;
        if let Some(timeout) = timeout {
            head |= HAS_TIMEOUT;
            self.floats.push(timeout);
        }
        self.records.extend(key);
        let at = self.records.len();
        self.records.push(0);
        for (piece, bit) in [(timestamp, HAS_TIMESTAMP), (message, HAS_MESSAGE)] {
            if !piece.is_empty() {
                head |= bit;
                self.push_text(piece);
            }
        }
        self.records[at] = head;
        at
    }

    /// Ends the update begun at `head` with its `count` members.
    pub(crate) fn end(&mut self, head: usize, count: usize) {
        self.records[head] |= (count as i32) << COUNT_SHIFT;
        if let Some(before) = self.last.replace(head) {
            let r = &self.records;
            if r[head - 2..head] == r[before - 2..before] {
                self.records[head] |= SAME_VECTOR;
                if self.supersedes(head, before) {
                    self.records[head] |= SUPERSEDES;
                }
            }
        }
    }

    /// Whether the update whose head is at `head` sets all that the one at `before`, of the same
    /// vector, set.
    fn supersedes(&self, head: usize, before: usize) -> bool {
        let r = &self.records;
        let (new, old) = (r[head], r[before]);
        let has = |head: i32, bit: i32| head & bit != 0;
        let members = |at: usize, head: i32| at + 1 + 2 * usize::from(has(head, HAS_TIMESTAMP)) + 2 * usize::from(has(head, HAS_MESSAGE));
        let (new_members, old_members) = (members(head, new), members(before, old));
        new >> COUNT_SHIFT == old >> COUNT_SHIFT
            && (old & STATE_MASK == 0 || new & STATE_MASK != 0)
            && (!has(old, HAS_TIMEOUT) || has(new, HAS_TIMEOUT))
            && (0..(new >> COUNT_SHIFT) as usize).all(|k| r[new_members + 3 * k] == r[old_members + 3 * k])
    }

    /// The run so far, leaving this one empty (the name table stays).
    pub fn take(&mut self) -> NumberRun {
        self.last = None;
        let first_name = (self.ids.len() - self.new_names.len()) as u32;
        NumberRun {
            records: Int32Array::new(std::mem::take(&mut self.records)),
            floats: Float64Array::new(std::mem::take(&mut self.floats)),
            text: std::mem::take(&mut self.text),
            names: std::mem::take(&mut self.new_names),
            first_name,
        }
    }

    /// The id of `name`, seen last at `slot` of an update (see `recent`).
    pub(crate) fn id_at(&mut self, slot: usize, name: &str) -> i32 {
        if let Some(Some((last, id))) = self.recent.get(slot) {
            if last == name {
                return *id;
            }
        }
        let id = self.id(name);
        if slot < 16 {
            self.recent.resize(self.recent.len().max(slot + 1), None);
            self.recent[slot] = Some((name.to_owned(), id));
        }
        id
    }

    /// Records, floats, text and new names so far, without napi (tests).
    #[cfg(test)]
    pub(crate) fn parts(&mut self) -> (Vec<i32>, Vec<f64>, String, Vec<String>) {
        self.last = None;
        let taken = (std::mem::take(&mut self.records), std::mem::take(&mut self.floats), std::mem::take(&mut self.text));
        (taken.0, taken.1, taken.2, std::mem::take(&mut self.new_names))
    }

    pub(crate) fn push_text(&mut self, piece: &str) {
        // Offsets in UTF-16 units, as JS slices: the fast path lets only ASCII through.
        let start = self.text.len() as i32;
        self.text.push_str(piece);
        self.records.extend([start, self.text.len() as i32]);
    }

    fn id(&mut self, name: &str) -> i32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.ids.len() as i32;
        self.ids.insert(name.to_owned(), id);
        self.new_names.push(name.to_owned());
        id
    }
}

/// `-?\d+(\.\d*)?([eE][-+]?\d+)?`, as `PLAIN_DECIMAL` in ts/values.ts.
pub(crate) fn plain_decimal(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_are_those_js_reads_with_number() {
        for ok in ["0", "-1", "1.", "1.50", "12e3", "1E-3", "-0.5e+2"] {
            assert!(plain_decimal(ok), "{ok}");
        }
        for bad in ["", "-", ".5", "+1", "1e", "12:30:00", "0x10", "1 2", "nan", "inf", "1e+"] {
            assert!(!plain_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn records_and_names() {
        let mut runs = NumberRuns::default();
        let frame = br#"<setNumberVector device="D" name="V" state="Busy" timeout="3" timestamp="2020-01-01T00:00:00"><oneNumber name="A"> 1.5 </oneNumber><oneNumber name="B">-2e3</oneNumber></setNumberVector>"#;
        assert_eq!(runs.read(frame), Some(frame.len()));
        let run = runs.take();
        assert_eq!(run.names, ["D", "V", "A", "B"]);
        assert_eq!(run.first_name, 0);
        assert_eq!(run.text, "2020-01-01T00:00:001.5-2e3");
        // Busy, a timeout, a timestamp, two members; no message.
        let head = 3 | HAS_TIMEOUT | HAS_TIMESTAMP | 2 << COUNT_SHIFT;
        assert_eq!(run.records.to_vec(), [0, 1, head, 0, 19, 2, 19, 22, 3, 22, 26]);
        assert_eq!(run.floats.to_vec(), [3., 1.5, -2000.]);
        // Known names are not sent again; a new one is, with its id.
        assert!(runs.read(br#"<setNumberVector device="D" name="W"><oneNumber name="A">7</oneNumber></setNumberVector>"#).is_some());
        let run = runs.take();
        assert_eq!((run.names, run.first_name), (vec!["W".to_owned()], 4));
        // No state, timeout, timestamp or message: the head holds the count alone.
        assert_eq!((run.records[2], run.floats.to_vec()), (1 << COUNT_SHIFT, vec![7.]));
    }

    #[test]
    fn an_update_supersedes_the_one_before_when_it_sets_all_that_one_set() {
        let mut runs = NumberRuns::default();
        let cases: [(&str, bool); 10] = [
            (r#"<setNumberVector device="D" name="V" state="Ok"><oneNumber name="A">1</oneNumber></setNumberVector>"#, false),
            (r#"<setNumberVector device="D" name="V" state="Ok"><oneNumber name="A">2</oneNumber></setNumberVector>"#, true),
            // The one before had a state, this one none.
            (r#"<setNumberVector device="D" name="V"><oneNumber name="A">3</oneNumber></setNumberVector>"#, false),
            (r#"<setNumberVector device="D" name="V" state="Busy"><oneNumber name="A">4</oneNumber></setNumberVector>"#, true),
            (r#"<setNumberVector device="D" name="V" state="Ok"><oneNumber name="B">1</oneNumber></setNumberVector>"#, false),
            (r#"<setNumberVector device="D" name="W" state="Ok"><oneNumber name="B">1</oneNumber></setNumberVector>"#, false),
            (r#"<setNumberVector device="D" name="W" state="Ok" timeout="2"><oneNumber name="B">2</oneNumber></setNumberVector>"#, true),
            // The one before had a timeout, this one none.
            (r#"<setNumberVector device="D" name="W" state="Ok"><oneNumber name="B">3</oneNumber></setNumberVector>"#, false),
            // Texts before the members: still the same member.
            (
                r#"<setNumberVector device="D" name="W" state="Ok" timestamp="2020-01-01T00:00:00" message="m"><oneNumber name="B">4</oneNumber></setNumberVector>"#,
                true,
            ),
            (r#"<setNumberVector device="D" name="W" state="Ok"><oneNumber name="B">5</oneNumber><oneNumber name="C">1</oneNumber></setNumberVector>"#, false),
        ];
        let mut heads = Vec::new();
        for (frame, _) in cases {
            heads.push(runs.records.len() + 2);
            assert!(runs.read(frame.as_bytes()).is_some(), "{frame}");
        }
        let records = runs.take().records.to_vec();
        for (k, ((frame, expected), at)) in cases.iter().zip(heads).enumerate() {
            assert_eq!(records[at] & SUPERSEDES != 0, *expected, "{frame}");
            // The first of the run, and the first of W, follow no update of their vector.
            assert_eq!(records[at] & SAME_VECTOR != 0, k != 0 && k != 5, "{frame}");
        }
        // A new run starts afresh: its first update supersedes nothing.
        assert!(runs.read(cases[1].0.as_bytes()).is_some());
        assert_eq!(runs.take().records[2] & SUPERSEDES, 0);
    }

    #[test]
    fn anything_else_is_left_to_the_string_run() {
        let mut runs = NumberRuns::default();
        for frame in [
            &br#"<setNumberVector device="D" name="V"><oneNumber name="A">12:30:00</oneNumber></setNumberVector>"#[..],
            br#"<setNumberVector device="D" name="V" timeout="x"><oneNumber name="A">1</oneNumber></setNumberVector>"#,
            br#"<setNumberVector device="D" name="V"><oneNumber name="A">1e999</oneNumber></setNumberVector>"#,
            br#"<setTextVector device="D" name="V"><oneText name="A">1</oneText></setTextVector>"#,
        ] {
            assert_eq!(runs.read(frame), None);
        }
        // No update was appended (the names read on the way may stay: JS learns them unused).
        let run = runs.take();
        assert!(run.records.is_empty() && run.floats.is_empty() && run.text.is_empty());
    }
}
