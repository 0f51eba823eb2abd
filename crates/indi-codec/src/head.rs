//! The routing view of an element: what it is, its device and its property, read from the
//! start tag after checking that the whole element is well-formed XML (UTF-8, matching tags,
//! quoted attributes, known entities). This is all a relay needs; members are only built (by
//! [`crate::parse_element`]) where someone consumes them. Hand-written because it runs for every
//! element a server relays: a few instructions per byte, no allocation beyond the two names.

use crate::element::{parse_vector_tag, VectorKind, VectorVerb};
use crate::error::DecodeError;
use bytes::Bytes;
use memchr::{memchr, memchr2, memmem};
use std::borrow::Cow;

/// What kind of element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `getProperties`
    GetProperties,
    /// `enableBLOB`
    EnableBlob,
    /// `def*Vector`
    Def(VectorKind),
    /// `set*Vector`
    Set(VectorKind),
    /// `new*Vector`
    New(VectorKind),
    /// `message`
    Message,
    /// `delProperty`
    DelProperty,
    /// `pingRequest`
    PingRequest,
    /// `pingReply`
    PingReply,
}

impl Tag {
    /// The tag of an INDI element name.
    pub fn parse(name: &str) -> Option<Tag> {
        Some(match name {
            "getProperties" => Tag::GetProperties,
            "enableBLOB" => Tag::EnableBlob,
            "message" => Tag::Message,
            "delProperty" => Tag::DelProperty,
            "pingRequest" => Tag::PingRequest,
            "pingReply" => Tag::PingReply,
            _ => match parse_vector_tag(name)? {
                (VectorVerb::Def, kind) => Tag::Def(kind),
                (VectorVerb::Set, kind) => Tag::Set(kind),
                (VectorVerb::New, kind) => Tag::New(kind),
            },
        })
    }

    /// The tag of an element.
    pub fn of(element: &crate::Element) -> Tag {
        use crate::Element;
        match element {
            Element::GetProperties(_) => Tag::GetProperties,
            Element::EnableBlob(_) => Tag::EnableBlob,
            Element::Def(v) => Tag::Def(v.kind),
            Element::Set(v) => Tag::Set(v.kind),
            Element::New(v) => Tag::New(v.kind),
            Element::Message(_) => Tag::Message,
            Element::DelProperty(_) => Tag::DelProperty,
            Element::PingRequest(_) => Tag::PingRequest,
            Element::PingReply(_) => Tag::PingReply,
        }
    }

    /// The INDI element name (`setNumberVector`), the inverse of [`Tag::parse`].
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::GetProperties => "getProperties",
            Tag::EnableBlob => "enableBLOB",
            Tag::Def(kind) => crate::def_tag(kind),
            Tag::Set(kind) => crate::set_tag(kind),
            Tag::New(kind) => crate::new_tag(kind),
            Tag::Message => "message",
            Tag::DelProperty => "delProperty",
            Tag::PingRequest => "pingRequest",
            Tag::PingReply => "pingReply",
        }
    }

    /// BLOB traffic: `setBLOBVector` and `newBLOBVector`.
    pub fn is_blob(self) -> bool {
        matches!(self, Tag::Set(VectorKind::Blob) | Tag::New(VectorKind::Blob))
    }
}

/// A device or property name: short ones (nearly all) held inline, longer ones a slice of the
/// received bytes. Inline, because a slice counts references on the read buffer, which the
/// reader and the writers of every element would then share across cores.
#[derive(Clone)]
pub struct Name(NameRepr);

/// Longest name held inline.
const INLINE_NAME: usize = 30;

#[derive(Clone)]
enum NameRepr {
    Inline { len: u8, bytes: [u8; INLINE_NAME] },
    Shared(Bytes),
}

impl Name {
    /// The name held inline, if short enough (`bytes` is UTF-8: checked text or a `str`).
    fn inline(bytes: &[u8]) -> Option<Name> {
        (bytes.len() <= INLINE_NAME).then(|| {
            let mut inline = [0u8; INLINE_NAME];
            inline[..bytes.len()].copy_from_slice(bytes);
            Name(NameRepr::Inline { len: bytes.len() as u8, bytes: inline })
        })
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        let bytes = match &self.0 {
            NameRepr::Inline { len, bytes } => &bytes[..*len as usize],
            NameRepr::Shared(bytes) => bytes,
        };
        // SAFETY: built only from `&str` or from slices of text checked to be UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        **self == **other
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::inline(text.as_bytes()).unwrap_or_else(|| Name(NameRepr::Shared(Bytes::from(text))))
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::inline(text.as_bytes()).unwrap_or_else(|| Name(NameRepr::Shared(Bytes::copy_from_slice(text.as_bytes()))))
    }
}

/// Kind, device and property of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// What it is.
    pub tag: Tag,
    /// Its `device` attribute.
    pub device: Option<Name>,
    /// Its `name` (property) attribute.
    pub name: Option<Name>,
}

/// Deepest nesting checked (the scanner refuses deeper elements before they get here).
const MAX_DEPTH: usize = 16;

struct Checker<'a> {
    text: &'a str,
    pos: usize,
    /// The root's tag, for error messages.
    tag: &'a str,
    /// Deepest nesting accepted.
    max_depth: usize,
    /// Also refuse what the scanner would frame differently (a nested `<` not starting a
    /// name the way the scanner's tags do): see [`check_framed`].
    strict: bool,
}

/// A byte that starts a tag for the scanner (`crate::scan`).
pub(crate) fn starts_tag(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

/// Bytes of tag and attribute names: anything but the delimiters around them (as lenient as
/// the full parser, quick-xml, so the two agree on what is well-formed).
const NAME_BYTES: [bool; 256] = {
    let mut table = [true; 256];
    let delimiters = b" \t\n\r=/>\"'<&";
    let mut i = 0;
    while i < delimiters.len() {
        table[delimiters[i] as usize] = false;
        i += 1;
    }
    table
};

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Resolves an entity body (between `&` and `;`).
fn entity(body: &str) -> Option<char> {
    match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0')
        }
    }
}

impl<'a> Checker<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn fail(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::Malformed { tag: self.tag.to_owned(), reason: reason.into() }
    }

    fn skip_space(&mut self) {
        while self.pos < self.text.len() && is_space(self.bytes()[self.pos]) {
            self.pos += 1;
        }
    }

    fn name(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let rest = &self.bytes()[start..];
        let len = rest.iter().position(|&b| !NAME_BYTES[b as usize]).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.fail(format!("expected a name at byte {start}")));
        }
        self.pos += len;
        // A name ends on an ASCII byte, so this is a char boundary.
        Ok(&self.text[start..self.pos])
    }

    /// The name in an end tag: usually the one expected, which a comparison confirms.
    fn end_tag_name(&mut self, expected: &'a str) -> Result<&'a str, DecodeError> {
        let rest = &self.bytes()[self.pos..];
        if rest.starts_with(expected.as_bytes()) && rest.get(expected.len()).is_some_and(|&b| !NAME_BYTES[b as usize]) {
            self.pos += expected.len();
            return Ok(expected);
        }
        self.name()
    }

    /// Checks the entities in `raw` and returns it with them resolved.
    fn unescape<'s>(&self, raw: &'s str) -> Result<Cow<'s, str>, DecodeError> {
        let Some(first) = raw.bytes().position(|b| b == b'&') else { return Ok(Cow::Borrowed(raw)) };
        let mut out = String::with_capacity(raw.len());
        out.push_str(&raw[..first]);
        let mut rest = &raw[first..];
        while let Some(amp) = memchr(b'&', rest.as_bytes()) {
            out.push_str(&rest[..amp]);
            let end = memchr(b';', &rest.as_bytes()[amp..]).filter(|&e| e <= 12).ok_or_else(|| self.fail("unterminated entity"))?;
            let body = &rest[amp + 1..amp + end];
            out.push(entity(body).ok_or_else(|| self.fail(format!("unknown entity &{body};")))?);
            rest = &rest[amp + end + 1..];
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }

    /// An attribute value as the full parser reads it: literal tabs and line breaks become
    /// spaces (XML 1.0 §3.3.3), entities are resolved, characters XML cannot carry are dropped.
    fn attribute_value(&self, raw: &'a str) -> Result<Cow<'a, str>, DecodeError> {
        if raw.bytes().all(|b| b >= 0x20 && b != b'&' && b != 0xEF) {
            return Ok(Cow::Borrowed(raw));
        }
        let spaced = raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
        let resolved = self.unescape(&spaced)?;
        Ok(Cow::Owned(resolved.chars().filter(|&c| !crate::encode::is_forbidden(c)).collect()))
    }

    /// Attributes up to `>` or `/>`; calls `found(name, raw value)` for each. Returns whether the
    /// tag closes itself.
    fn attributes(&mut self, mut found: impl FnMut(&'a str, &'a str)) -> Result<bool, DecodeError> {
        loop {
            self.skip_space();
            match self.bytes().get(self.pos) {
                Some(b'>') => {
                    self.pos += 1;
                    return Ok(false);
                }
                Some(b'/') if self.bytes().get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Ok(true);
                }
                Some(_) => {}
                None => return Err(self.fail("bad start tag")),
            }
            let key = self.attribute_name()?;
            self.skip_space();
            if self.bytes().get(self.pos) != Some(&b'=') {
                return Err(self.fail(format!("attribute {key} has no value")));
            }
            self.pos += 1;
            self.skip_space();
            let quote = *self.bytes().get(self.pos).filter(|q| matches!(q, b'"' | b'\'')).ok_or_else(|| self.fail("unquoted attribute"))?;
            let start = self.pos + 1;
            let len = self.bytes()[start..].iter().position(|&b| b == quote || b == b'<').ok_or_else(|| self.fail("unterminated attribute"))?;
            if self.bytes()[start + len] == b'<' {
                return Err(self.fail("'<' in an attribute value"));
            }
            let value = &self.text[start..start + len];
            self.unescape(value)?;
            self.pos = start + len + 1;
            found(key, value);
        }
    }

    /// An attribute name, read as leniently as quick-xml does (a `/` not before `>` belongs to it).
    fn attribute_name(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let rest = &self.bytes()[start..];
        let mut len = 0;
        while len < rest.len() {
            let b = rest[len];
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'=' | b'>' | b'"' | b'\'' | b'<' | b'&') || (b == b'/' && rest.get(len + 1) == Some(&b'>')) {
                break;
            }
            len += 1;
        }
        if len == 0 {
            return Err(self.fail(format!("expected a name at byte {start}")));
        }
        self.pos += len;
        Ok(&self.text[start..self.pos])
    }

    /// Checks everything after the root start tag, up to and including its end tag.
    fn body(&mut self, root: &'a str) -> Result<(), DecodeError> {
        let mut open: [&str; MAX_DEPTH] = [""; MAX_DEPTH];
        open[0] = root;
        let mut depth = 1;
        while depth > 0 {
            let rest = &self.bytes()[self.pos..];
            let at = memchr2(b'<', b'&', rest).ok_or_else(|| self.fail("unexpected end"))?;
            self.pos += at;
            if rest[at] == b'&' {
                let end = memchr(b';', &rest[at..]).filter(|&e| e <= 12).ok_or_else(|| self.fail("unterminated entity"))?;
                let body = &self.text[self.pos + 1..self.pos + end];
                entity(body).ok_or_else(|| self.fail(format!("unknown entity &{body};")))?;
                self.pos += end + 1;
                continue;
            }
            let after = &self.bytes()[self.pos + 1..];
            if after.first() == Some(&b'/') {
                self.pos += 2;
                let name = self.end_tag_name(open[depth - 1])?;
                self.skip_space();
                if self.bytes().get(self.pos) != Some(&b'>') || name != open[depth - 1] {
                    return Err(self.fail(format!("</{name}> does not close <{}>", open[depth - 1])));
                }
                self.pos += 1;
                depth -= 1;
            } else if after.starts_with(b"!--") {
                let end = memmem::find(&after[3..], b"-->").ok_or_else(|| self.fail("unterminated comment"))?;
                self.pos += 4 + end + 3;
            } else if after.starts_with(b"![CDATA[") {
                let end = memmem::find(&after[8..], b"]]>").ok_or_else(|| self.fail("unterminated CDATA"))?;
                self.pos += 9 + end + 3;
            } else if after.first() == Some(&b'?') {
                let end = memmem::find(&after[1..], b"?>").ok_or_else(|| self.fail("unterminated PI"))?;
                self.pos += 2 + end + 2;
            } else {
                self.pos += 1;
                if self.strict && !after.first().is_some_and(|&b| starts_tag(b)) {
                    return Err(self.fail("not a tag for the scanner"));
                }
                let name = self.name()?;
                if !self.attributes(|_, _| {})? {
                    if depth == self.max_depth {
                        return Err(self.fail("nested too deep"));
                    }
                    open[depth] = name;
                    depth += 1;
                }
            }
        }
        Ok(())
    }
}

/// Reads the head of one complete element (as framed by the decoder) and checks the whole of
/// it is well-formed, without building its members. Names share `whole`'s memory.
pub fn parse_head(whole: &Bytes) -> Result<Head, DecodeError> {
    // SIMD validation (a camera's frame is megabytes of base64); std's only for the message.
    let text = match simdutf8::basic::from_utf8(whole) {
        Ok(text) => text,
        Err(_) => std::str::from_utf8(whole).map_err(|e| DecodeError::malformed("", format!("invalid UTF-8 ({e})")))?,
    };
    Ok(check(text, MAX_DEPTH, false)?.offsets(text).head(whole))
}

/// Checks `text`, which starts with an element's `<`, as the scanner would frame it with a
/// depth limit of `max_depth`; returns its head and where it ends. For the decoder's fast path,
/// which frames and checks a complete element in one pass: any error means "take the slow path".
pub(crate) fn check_framed(text: &str, max_depth: usize) -> Result<(Checked<'_>, usize), DecodeError> {
    let checked = check(text, max_depth.min(MAX_DEPTH), true)?;
    let end = checked.end;
    Ok((checked, end))
}

/// The head of a checked element, its names still borrowed from the checked text.
pub(crate) struct Checked<'a> {
    tag: Tag,
    device: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    /// Just past the root's end.
    end: usize,
}

impl Checked<'_> {
    /// The names as offsets into `text` (or owned when unescaping changed them).
    pub(crate) fn offsets(self, text: &str) -> HeadOffsets {
        let offset_of = |value: Cow<'_, str>| match value {
            Cow::Borrowed(slice) => {
                let start = slice.as_ptr() as usize - text.as_ptr() as usize;
                Ok(start..start + slice.len())
            }
            Cow::Owned(text) => Err(text),
        };
        HeadOffsets { tag: self.tag, device: self.device.map(offset_of), name: self.name.map(offset_of) }
    }
}

/// A [`Head`] whose names are ranges of bytes not yet frozen (or owned strings).
#[derive(Debug, Clone)]
pub(crate) struct HeadOffsets {
    tag: Tag,
    device: Option<Result<std::ops::Range<usize>, String>>,
    name: Option<Result<std::ops::Range<usize>, String>>,
}

impl HeadOffsets {
    /// Names as ranges of the checked text.
    pub(crate) fn borrowed(tag: Tag, device: Option<std::ops::Range<usize>>, name: Option<std::ops::Range<usize>>) -> HeadOffsets {
        HeadOffsets { tag, device: device.map(Ok), name: name.map(Ok) }
    }

    /// The head, its names slices of `whole` (which starts with the checked text).
    pub(crate) fn head(self, whole: &Bytes) -> Head {
        let name_of = |value: Result<std::ops::Range<usize>, String>| match value {
            Ok(range) => Name::inline(&whole[range.clone()]).unwrap_or_else(|| Name(NameRepr::Shared(whole.slice(range)))),
            Err(text) => Name::from(text),
        };
        Head { tag: self.tag, device: self.device.map(name_of), name: self.name.map(name_of) }
    }
}

/// The device and property an element of kind `tag` has, of the attributes found: a ping's
/// `device` means nothing, a message has no property, vectors need both.
pub(crate) fn routing_attributes<T>(tag: Tag, device: Option<T>, property: Option<T>) -> Result<(Option<T>, Option<T>), &'static str> {
    let (device, property) = match tag {
        Tag::PingRequest | Tag::PingReply => (None, None),
        Tag::Message => (device, None),
        _ => (device, property),
    };
    let vector = matches!(tag, Tag::Def(_) | Tag::Set(_) | Tag::New(_));
    if (vector || tag == Tag::DelProperty) && device.is_none() {
        return Err("missing attribute device");
    }
    if vector && property.is_none() {
        return Err("missing attribute name");
    }
    Ok((device, property))
}

fn check(text: &str, max_depth: usize, strict: bool) -> Result<Checked<'_>, DecodeError> {
    let mut checker = Checker { text, pos: 0, tag: "", max_depth, strict };
    // Skip what may precede the root (the decoder hands elements starting at `<`).
    loop {
        let at = memchr(b'<', &checker.bytes()[checker.pos..]).ok_or_else(|| DecodeError::malformed("", "no element"))?;
        checker.pos += at;
        match checker.bytes().get(checker.pos + 1) {
            Some(b'?') | Some(b'!') => {
                let end = memchr(b'>', &checker.bytes()[checker.pos..]).ok_or_else(|| DecodeError::malformed("", "no element"))?;
                checker.pos += end + 1;
            }
            _ => break,
        }
    }
    checker.pos += 1;
    let name = checker.name()?;
    checker.tag = name;
    let tag = Tag::parse(name).ok_or_else(|| DecodeError::Unknown { tag: name.to_owned() })?;
    let (mut device, mut property) = (None, None);
    let empty = checker.attributes(|key, value| match key {
        // Empty means absent, as libindi reads it (`device=""` from BaseClient).
        "device" => device = Some(value).filter(|v| !v.is_empty()),
        "name" => property = Some(value).filter(|v| !v.is_empty()),
        _ => {}
    })?;
    let (device, property) = routing_attributes(tag, device, property).map_err(|reason| checker.fail(reason))?;
    let device = device.map(|raw| checker.attribute_value(raw)).transpose()?;
    let property = property.map(|raw| checker.attribute_value(raw)).transpose()?;
    if !empty {
        checker.body(name)?;
    }
    Ok(Checked { tag, device, name: property, end: checker.pos })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kind_device_and_property() {
        let head =
            parse_head(&Bytes::from_static(b"<setBLOBVector device='Cam' name='CCD1'><oneBLOB name='a' size='1' format=''>QQ==</oneBLOB></setBLOBVector>"))
                .unwrap();
        assert_eq!(head, Head { tag: Tag::Set(VectorKind::Blob), device: Some("Cam".into()), name: Some("CCD1".into()) });
        assert!(head.tag.is_blob());
        let head = parse_head(&Bytes::from_static(b"<message device=\"A &amp; B&#33;\" message='x'/>")).unwrap();
        assert_eq!((head.tag, head.device.as_deref()), (Tag::Message, Some("A & B!")));
        let head = parse_head(&Bytes::from_static(
            b"<defTextVector\n device='d'\n  name='n'\n>\n<!-- c --><defText name='t'><![CDATA[a<b]]>&lt;</defText><?pi x?>\n</defTextVector>",
        ))
        .unwrap();
        assert_eq!(head.tag, Tag::Def(VectorKind::Text));
    }

    #[test]
    fn tags_name_themselves() {
        let mut tags = vec![Tag::GetProperties, Tag::EnableBlob, Tag::Message, Tag::DelProperty, Tag::PingRequest, Tag::PingReply];
        for kind in crate::VectorKind::ALL {
            tags.extend([Tag::Def(kind), Tag::Set(kind)]);
            // Lights are read-only: INDI has no newLightVector.
            if kind != crate::VectorKind::Light {
                tags.push(Tag::New(kind));
            }
        }
        for tag in tags {
            assert_eq!(Tag::parse(tag.as_str()), Some(tag));
        }
        assert_eq!(Tag::of(&crate::Element::PingRequest("u".into())), Tag::PingRequest);
    }

    #[test]
    fn rejects_what_is_not_well_formed() {
        for bad in [
            &b"<setTextVector device='d' name='n'><oneText name='t'>a &bogus; b</oneText></setTextVector>"[..],
            b"<setTextVector device='d' name='n'><oneText name='t'>x</oneTxt></setTextVector>",
            b"<setTextVector device='d' name='n'><oneText name='t'>x</oneText></setTextVectr>",
            b"<setTextVector name='n'/>",
            b"<newNumberVector device='d'/>",
            b"<message device='\xff'/>",
            b"<message device='a<b'/>",
            b"<message device=d/>",
            b"<message device = />",
            b"<setTextVector device='d' name='n'><oneText name='t' x></oneText></setTextVector>",
            b"<setTextVector device='d' name='n'>&amp</setTextVector>",
        ] {
            assert!(matches!(parse_head(&Bytes::copy_from_slice(bad)), Err(DecodeError::Malformed { .. })), "{}", String::from_utf8_lossy(bad));
        }
        assert!(matches!(parse_head(&Bytes::from_static(b"<newLightVector device='d' name='n'/>")), Err(DecodeError::Unknown { .. })));
    }
}
