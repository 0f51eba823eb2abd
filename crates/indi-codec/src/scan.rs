//! Incremental framing: finds where each top-level element ends in a byte stream.
//!
//! The scanner keeps its state between calls, so each byte is looked at once however the
//! stream is split (a 100 MiB BLOB arriving in 64 KiB reads costs one pass, not 1600).
//! It knows just enough XML to find boundaries: quotes in tags, comments, CDATA, PIs, depth.
//! The complete element is then parsed by quick-xml in [`crate::parse`].

use crate::error::DecodeError;
use crate::Limits;
use bytes::{Buf, BytesMut};
use memchr::memchr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between tags (character data, or whitespace between top-level elements).
    Text,
    /// Just after `<`.
    Lt,
    /// After `<!`: comment, CDATA or declaration.
    Bang,
    Comment,
    CData,
    Pi,
    Decl,
    /// Inside a start tag; `quote` is the open quote character or 0.
    StartTag {
        quote: u8,
    },
    EndTag,
}

/// What a call to [`Scanner::scan`] found.
#[derive(Debug)]
pub(crate) enum Scan {
    /// No complete element yet.
    NeedMore,
    /// `buf[..len]` is one complete top-level element.
    Element(usize),
    /// Bad input; the scanner has resynchronised (or is discarding the rest of the element).
    Error(DecodeError),
}

#[derive(Debug)]
pub(crate) struct Scanner {
    /// Next byte of the buffer to look at.
    pos: usize,
    state: State,
    /// Open elements; 0 at top level.
    depth: u32,
    /// Offset of the `<` of the markup being scanned; negative once dropped while discarding
    /// (kept exact so terminators are found however the input was split).
    markup_start: isize,
    /// `buf[0]` is the `<` of something that must be kept until it ends.
    anchored: bool,
    /// The current element broke a limit: drop its bytes as they come, yield nothing.
    discarding: bool,
    /// A junk error was already reported for the current run of junk.
    junk_reported: bool,
    /// A top-level INDI start tag inside unfinished markup ends that markup (see
    /// [`Scanner::resync_on_known_tags`]).
    resync: bool,
    /// Bytes of the current element's text the reader took out of the buffer (see
    /// [`Scanner::excise`]): they count against its size limit all the same.
    excised: usize,
}

impl Scanner {
    pub(crate) fn new() -> Scanner {
        Scanner { pos: 0, state: State::Text, depth: 0, markup_start: 0, anchored: false, discarding: false, junk_reported: false, resync: false, excised: 0 }
    }

    /// From a peer that only ever sends whole INDI elements (a driver), markup left open
    /// (`<foo>`, an unterminated quote, comment, CDATA section or PI) is given up at the next
    /// `<` that starts a top-level INDI element, which is then read: one broken element must
    /// not swallow everything after it.
    pub(crate) fn resync_on_known_tags(&mut self) {
        self.resync = true;
    }

    /// Bytes held for an element that has not ended yet (an element being discarded was
    /// already reported).
    pub(crate) fn pending(&self, buf: &BytesMut) -> bool {
        self.anchored && !self.discarding && !buf.is_empty()
    }

    /// Between elements with nothing scanned: a complete element at the start of the buffer
    /// may be framed without the scanner (see `IndiCodec::next_checked`).
    pub(crate) fn is_fresh(&self) -> bool {
        self.pos == 0 && self.state == State::Text && self.depth == 0 && !self.anchored && !self.discarding
    }

    /// An element was framed without the scanner.
    pub(crate) fn element_yielded(&mut self) {
        self.element_done();
    }

    /// Forgets any partial element (used at end of stream).
    pub(crate) fn reset(&mut self) {
        *self = Scanner { resync: self.resync, ..Scanner::new() };
    }

    fn element_done(&mut self) {
        self.excised = 0;
        self.pos = 0;
        self.state = State::Text;
        self.depth = 0;
        self.anchored = false;
        self.junk_reported = false;
    }

    /// Drops the scanned bytes while discarding or between elements, keeping the last two
    /// (a `/` before `>` marks a self-closing tag; `-->` and `]]>` may straddle reads) and the
    /// offsets consistent.
    fn drop_scanned(&mut self, buf: &mut BytesMut) {
        let dropped = self.pos.saturating_sub(2);
        buf.advance(dropped);
        self.markup_start -= dropped as isize;
        self.pos -= dropped;
    }

    fn junk(&mut self, bytes: &[u8]) -> Option<DecodeError> {
        if self.junk_reported || bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        self.junk_reported = true;
        Some(DecodeError::Junk { sample: String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned() })
    }

    /// Breaks off the current element after a limit was hit.
    fn start_discarding(&mut self, buf: &mut BytesMut, error: DecodeError) -> Scan {
        self.discarding = true;
        self.drop_scanned(buf);
        Scan::Error(error)
    }

    pub(crate) fn scan(&mut self, buf: &mut BytesMut, limits: &Limits) -> Scan {
        loop {
            // Never look past a limit: errors then depend on the bytes, not on how they were split.
            let mut end = buf.len();
            if self.anchored && !self.discarding {
                let in_tag = matches!(self.state, State::StartTag { .. });
                if in_tag && self.pos as isize - self.markup_start > limits.max_tag as isize {
                    return self.start_discarding(buf, DecodeError::TagTooLong { limit: limits.max_tag });
                }
                if self.pos + self.excised > limits.max_element {
                    return self.start_discarding(buf, DecodeError::TooLarge { limit: limits.max_element });
                }
                end = end.min((limits.max_element + 1).saturating_sub(self.excised));
                if in_tag {
                    end = end.min((self.markup_start + limits.max_tag as isize + 1).max(0) as usize);
                }
            }
            // Inside markup that ends at a terminator, a `<` may start a known element.
            let in_markup = !matches!(self.state, State::Text | State::Lt);
            if self.resync && self.anchored && in_markup {
                if let Some(lt) = memchr(b'<', &buf[self.pos..end]).map(|i| self.pos + i) {
                    if lt > self.pos {
                        end = lt;
                    } else {
                        match known_tag_at(&buf[lt + 1..]) {
                            Some(true) => return self.resynchronise(buf, lt),
                            Some(false) => {
                                self.pos += 1;
                                continue;
                            }
                            None => return Scan::NeedMore,
                        }
                    }
                }
            }
            if self.pos >= end {
                if self.discarding {
                    self.drop_scanned(buf);
                }
                return Scan::NeedMore;
            }
            match self.state {
                State::Text => {
                    let found = memchr(b'<', &buf[self.pos..end]);
                    let stop = found.map_or(end, |i| self.pos + i);
                    if self.anchored {
                        self.pos = stop;
                    } else {
                        let junk = self.junk(&buf[self.pos..stop]);
                        buf.advance(stop);
                        self.pos = 0;
                        if let Some(error) = junk {
                            return Scan::Error(error);
                        }
                    }
                    if found.is_some() {
                        self.markup_start = self.pos as isize;
                        self.anchored = true;
                        self.pos += 1;
                        self.state = State::Lt;
                    }
                }
                State::Lt => {
                    let byte = buf[self.pos];
                    match byte {
                        b'!' => self.state = State::Bang,
                        b'?' => self.state = State::Pi,
                        b'/' => self.state = State::EndTag,
                        b if b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80 => {
                            if self.resync && self.depth > 0 {
                                match known_tag_at(&buf[self.pos..]) {
                                    Some(true) => return self.resynchronise(buf, self.pos - 1),
                                    Some(false) => {}
                                    None => return Scan::NeedMore,
                                }
                            }
                            self.state = State::StartTag { quote: 0 }
                        }
                        _ if self.depth > 0 => {
                            // Stray `<` inside an element: leave it to the parser to reject.
                            self.state = State::Text;
                            continue;
                        }
                        _ => {
                            self.state = State::Text;
                            self.anchored = false;
                            self.pos += 1;
                            let junk = self.junk(b"<");
                            self.drop_scanned(buf);
                            if let Some(error) = junk {
                                return Scan::Error(error);
                            }
                            continue;
                        }
                    }
                    self.pos += 1;
                }
                State::Bang => {
                    let rest = &buf[self.pos..];
                    if rest.starts_with(b"--") {
                        self.state = State::Comment;
                        self.pos += 2;
                    } else if rest.starts_with(b"[CDATA[") {
                        self.state = State::CData;
                        self.pos += 7;
                    } else if b"--".starts_with(&rest[..rest.len().min(2)]) || b"[CDATA[".starts_with(&rest[..rest.len().min(7)]) {
                        return Scan::NeedMore;
                    } else {
                        self.state = State::Decl;
                    }
                }
                State::Comment => {
                    if let Some(end) = self.find_terminator(&buf[..end], b"-->", 4) {
                        self.markup_done(buf, end);
                    }
                }
                State::CData => {
                    if let Some(end) = self.find_terminator(&buf[..end], b"]]>", 9) {
                        self.markup_done(buf, end);
                    }
                }
                State::Pi => {
                    if let Some(end) = self.find_terminator(&buf[..end], b"?>", 2) {
                        self.markup_done(buf, end);
                    }
                }
                State::Decl => match memchr(b'>', &buf[self.pos..end]) {
                    Some(i) => self.markup_done(buf, self.pos + i + 1),
                    None => self.pos = end,
                },
                State::StartTag { quote } => {
                    // Attributes in one go (tags are short: plain loops beat SIMD set-up).
                    let window = &buf[self.pos..end];
                    let mut quote = quote;
                    let mut i = 0;
                    let closing = loop {
                        if quote != 0 {
                            match window[i..].iter().position(|&b| b == quote) {
                                Some(j) => {
                                    i += j + 1;
                                    quote = 0;
                                }
                                None => break None,
                            }
                        }
                        match window[i..].iter().position(|&b| matches!(b, b'>' | b'"' | b'\'')) {
                            Some(j) if window[i + j] == b'>' => break Some(i + j),
                            Some(j) => {
                                quote = window[i + j];
                                i += j + 1;
                            }
                            None => break None,
                        }
                    };
                    let Some(offset) = closing else {
                        self.pos = end;
                        self.state = State::StartTag { quote };
                        continue;
                    };
                    let at = self.pos + offset;
                    self.pos = at + 1;
                    self.state = State::Text;
                    if at > 0 && buf[at - 1] == b'/' {
                        if self.depth == 0 {
                            if let Some(scan) = self.element_end() {
                                return scan;
                            }
                        }
                    } else {
                        self.depth += 1;
                        if self.depth > limits.max_depth && !self.discarding {
                            return self.start_discarding(buf, DecodeError::TooDeep { limit: limits.max_depth });
                        }
                    }
                }
                State::EndTag => match memchr(b'>', &buf[self.pos..end]) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.state = State::Text;
                        if self.depth == 0 {
                            // `</x>` with nothing open: junk.
                            self.anchored = false;
                            let junk = self.junk(b"</>");
                            self.drop_scanned(buf);
                            if let Some(error) = junk {
                                return Scan::Error(error);
                            }
                            continue;
                        }
                        self.depth -= 1;
                        if self.depth == 0 {
                            if let Some(scan) = self.element_end() {
                                return scan;
                            }
                        }
                    }
                    None => self.pos = end,
                },
            }
            if self.discarding && self.pos >= buf.len() {
                self.drop_scanned(buf);
            }
        }
    }

    /// The caller found no `<` in `text`: when scanning has reached it inside an element, the
    /// rest is passed over rather than searched again (as far as a search would go: the size limit).
    pub(crate) fn skip_text(&mut self, text: std::ops::Range<usize>, limits: &Limits) {
        if self.anchored && !self.discarding && self.state == State::Text && self.depth > 0 && text.contains(&self.pos) {
            self.pos = text.end.min((limits.max_element + 1).saturating_sub(self.excised));
        }
    }

    /// Removes `buf[text]`, character data inside the element being framed that scanning has
    /// passed (a reader that decoded it keeps its buffer small); false, and nothing removed,
    /// unless it is that. The element's frame then lacks it; its size limit still counts it.
    pub(crate) fn excise(&mut self, buf: &mut BytesMut, text: std::ops::Range<usize>) -> bool {
        let inside = self.anchored && !self.discarding && self.state == State::Text && self.depth > 0;
        if !inside || text.start == 0 || text.start > text.end || text.end > self.pos {
            return false;
        }
        let len = text.len();
        buf.copy_within(text.end.., text.start);
        buf.truncate(buf.len() - len);
        self.pos -= len;
        self.excised += len;
        true
    }

    /// Puts back text [`Scanner::excise`] removed from the element being framed, at `at`
    /// (where it was); false, and nothing changed, when that element is no longer there.
    pub(crate) fn restore(&mut self, buf: &mut BytesMut, at: usize, text: &[u8]) -> bool {
        if !self.anchored || self.discarding || at == 0 || at > self.pos || text.len() > self.excised {
            return false;
        }
        let old = buf.len();
        buf.resize(old + text.len(), 0);
        buf.copy_within(at..old, at + text.len());
        buf[at..at + text.len()].copy_from_slice(text);
        self.pos += text.len();
        if self.markup_start >= at as isize {
            self.markup_start += text.len() as isize;
        }
        self.excised -= text.len();
        true
    }

    /// Gives up the unfinished markup before `lt`, the `<` of a known element, and starts over there.
    fn resynchronise(&mut self, buf: &mut BytesMut, lt: usize) -> Scan {
        let tag = &buf[lt + 1..];
        let tag = String::from_utf8_lossy(&tag[..tag.iter().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(tag.len())]).into_owned();
        buf.advance(lt);
        self.element_done();
        self.discarding = false;
        Scan::Error(DecodeError::Unclosed { before: tag })
    }

    /// A top-level element just ended at `self.pos`.
    fn element_end(&mut self) -> Option<Scan> {
        if self.discarding {
            self.discarding = false;
            self.anchored = false;
            self.excised = 0;
            self.junk_reported = false;
            // The caller drops the tail on its next pass through Text.
            return None;
        }
        let len = self.pos;
        self.element_done();
        Some(Scan::Element(len))
    }

    /// Finds `term` at or after the current position (it may straddle the previous read);
    /// the markup's opening (`<!--`, `<![CDATA[`, `<?`) is `opening` bytes long.
    fn find_terminator(&mut self, buf: &[u8], term: &[u8], opening: usize) -> Option<usize> {
        let last = term[term.len() - 1];
        let body_start = self.markup_start + opening as isize;
        loop {
            match memchr(last, &buf[self.pos..]) {
                Some(i) => {
                    let at = self.pos + i;
                    self.pos = at + 1;
                    let start = (at + 1).checked_sub(term.len());
                    if let Some(start) = start.filter(|&s| s as isize >= body_start) {
                        if &buf[start..=at] == term {
                            return Some(at + 1);
                        }
                    }
                }
                None => {
                    // Re-examine the last bytes next time: the terminator may be split.
                    self.pos = buf.len();
                    return None;
                }
            }
        }
    }

    /// A comment, CDATA section, PI or declaration ended at `end`.
    fn markup_done(&mut self, buf: &mut BytesMut, end: usize) {
        self.pos = end;
        self.state = State::Text;
        if self.depth == 0 {
            // Top-level markup other than an element carries nothing for INDI.
            self.anchored = false;
            self.drop_scanned(buf);
        }
    }
}

/// Whether `rest` (what follows a `<`) starts with the name of a top-level INDI element and a
/// byte that ends it; `None` when too few bytes have arrived to tell.
fn known_tag_at(rest: &[u8]) -> Option<bool> {
    /// Longest top-level INDI tag (`defSwitchVector` and the like).
    const LONGEST: usize = 16;
    let len = rest.iter().take(LONGEST + 1).position(|b| !b.is_ascii_alphanumeric());
    let Some(len) = len else { return if rest.len() > LONGEST { Some(false) } else { None } };
    let ends = matches!(rest[len], b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/');
    Some(ends && std::str::from_utf8(&rest[..len]).ok().and_then(crate::Tag::parse).is_some())
}
