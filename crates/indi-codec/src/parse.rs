//! Parses one complete, framed element (see [`crate::scan`]) into an [`Element`] with quick-xml.

use crate::blob;
use crate::element::*;
use crate::encode::is_forbidden;
use crate::error::DecodeError;
use bytes::Bytes;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;

type Result<T> = std::result::Result<T, DecodeError>;

/// Attributes of one tag, with entities resolved.
struct Attrs<'t> {
    tag: &'t str,
    list: Vec<(String, String)>,
}

impl<'t> Attrs<'t> {
    fn read(start: &BytesStart<'_>, tag: &'t str) -> Result<Attrs<'t>> {
        let mut list = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| DecodeError::malformed(tag, e.to_string()))?;
            // XML forbids these; quick-xml lets them through, the relay's check does not.
            if attr.value.contains('<') || attr.key.0.contains(['<', '&']) {
                return Err(DecodeError::malformed(tag, "'<' or '&' out of place in an attribute"));
            }
            let value = attr.normalized_value(XmlVersion::Implicit1_0).map_err(|e| DecodeError::malformed(tag, e.to_string()))?;
            list.push((attr.key.0.to_owned(), legal(&value)));
        }
        Ok(Attrs { tag, list })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.list.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// An optional attribute: empty means absent, as libindi reads it (`dev[0]` tests).
    fn opt(&self, name: &str) -> Option<String> {
        self.get(name).filter(|value| !value.is_empty()).map(str::to_owned)
    }

    /// A required attribute; a member's name may be empty.
    fn required(&self, name: &str) -> Result<String> {
        self.get(name).map(str::to_owned).ok_or_else(|| DecodeError::malformed(self.tag, format!("missing attribute {name}")))
    }

    /// A required device or property name: empty is missing, as the routing head reads it.
    fn required_name(&self, name: &str) -> Result<String> {
        self.opt(name).ok_or_else(|| DecodeError::malformed(self.tag, format!("missing attribute {name}")))
    }

    fn parsed<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
        match self.get(name).filter(|text| !text.is_empty()) {
            None => Ok(None),
            Some(text) => parse(text.trim()).map(Some).ok_or_else(|| DecodeError::malformed(self.tag, format!("bad {name}={text:?}"))),
        }
    }

    fn number_range(&self, with_format: bool) -> Option<NumberRange> {
        let range =
            NumberRange { format: if with_format { self.opt("format") } else { None }, min: self.opt("min"), max: self.opt("max"), step: self.opt("step") };
        (range != NumberRange::default()).then_some(range)
    }
}

/// Text content of a member, borrowed from the input when it came in one piece.
fn read_text<'a>(reader: &mut Reader<&'a [u8]>, tag: &str) -> Result<Cow<'a, str>> {
    let mut text: Cow<'a, str> = Cow::Borrowed("");
    let mut push = |piece: Cow<'a, str>| {
        if text.is_empty() {
            text = piece;
        } else {
            text.to_mut().push_str(&piece);
        }
    };
    loop {
        match reader.read_event().map_err(|e| DecodeError::malformed(tag, e.to_string()))? {
            Event::Text(t) => push(t.into_inner()),
            Event::CData(c) => push(c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| DecodeError::malformed(tag, e.to_string()))? {
                    Some(ch) => ch.to_string(),
                    None => resolve_predefined_entity(&r).ok_or_else(|| DecodeError::malformed(tag, format!("unknown entity &{};", &*r)))?.to_owned(),
                };
                push(Cow::Owned(resolved));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::End(_) => return Ok(text),
            Event::Start(e) | Event::Empty(e) => return Err(DecodeError::malformed(tag, format!("unexpected <{}> inside", e.name().0))),
            other => return Err(DecodeError::malformed(tag, format!("unexpected {other:?}"))),
        }
    }
}

fn trim_xml(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// Text without the characters XML cannot carry: the encoder drops them too, so a relayed
/// value reads back as itself (found by fuzzing: `a\n&#1;` became `a` only after a relay).
fn legal(text: &str) -> String {
    if text.chars().any(is_forbidden) {
        text.chars().filter(|c| !is_forbidden(*c)).collect()
    } else {
        text.to_owned()
    }
}

/// Member text as delivered: legal characters, trimmed.
fn member_text(text: &str) -> String {
    let text = legal(text);
    let trimmed = trim_xml(&text);
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    }
}

/// Reads the children of a vector element, calling `member` for each one with its start tag
/// and text; skips whitespace, comments and PIs; rejects anything else.
fn read_members<'a, T>(
    reader: &mut Reader<&'a [u8]>,
    tag: &str,
    member_tag: &str,
    mut member: impl FnMut(Attrs<'_>, Cow<'a, str>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut members = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| DecodeError::malformed(tag, e.to_string()))?;
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => return Ok(members),
            Event::Text(t) if trim_xml(&t).is_empty() => continue,
            Event::Comment(_) | Event::PI(_) => continue,
            other => return Err(DecodeError::malformed(tag, format!("unexpected {other:?}"))),
        };
        let name = start.name().0;
        if name != member_tag {
            return Err(DecodeError::malformed(tag, format!("unexpected <{name}> inside")));
        }
        let attrs = Attrs::read(&start, name)?;
        let text = if empty { Cow::Borrowed("") } else { read_text(reader, name)? };
        members.push(member(attrs, text)?);
    }
}

fn one_member(kind: VectorKind, whole: &Bytes, attrs: Attrs<'_>, text: Cow<'_, str>) -> Result<OneMember> {
    let name = attrs.required("name")?;
    if kind != VectorKind::Blob {
        let range = if kind == VectorKind::Number { attrs.number_range(false) } else { None };
        return Ok(OneMember { name, value: OneValue::Text(member_text(&text)), range });
    }
    if attrs.get("attached") == Some("true") {
        // The bytes come beside the stream; the link that read the element attaches them.
        let size = attrs.parsed("size", |s| s.parse::<u64>().ok())?.unwrap_or(0);
        let len = attrs.parsed("len", |s| s.parse::<u64>().ok())?;
        let format = attrs.opt("format").unwrap_or_default();
        return Ok(OneMember { name, value: OneValue::Blob(BlobValue { size, format, data: BlobData::Attached { len }, enclen: None }), range: None });
    }
    let data = match &text {
        Cow::Borrowed(slice) => blob::canonicalize(whole, slice.as_bytes()),
        Cow::Owned(owned) => blob::canonicalize(&Bytes::copy_from_slice(owned.as_bytes()), owned.as_bytes()),
    }
    .ok_or_else(|| DecodeError::malformed(attrs.tag, "BLOB content is not base64"))?;
    let size = match attrs.parsed("size", |s| s.parse::<u64>().ok())? {
        Some(size) => size,
        None => blob::decoded_len(&data) as u64,
    };
    let format = attrs.opt("format").unwrap_or_default();
    // A malformed enclen is only a sizing hint gone wrong: dropped, not an error.
    let enclen = attrs.get("enclen").and_then(|s| s.trim().parse::<u64>().ok());
    Ok(OneMember { name, value: OneValue::Blob(BlobValue { size, format, data: BlobData::Base64(data), enclen }), range: None })
}

fn def_member(kind: VectorKind, attrs: Attrs<'_>, text: Cow<'_, str>) -> Result<DefMember> {
    Ok(DefMember {
        name: attrs.required("name")?,
        label: attrs.opt("label"),
        value: member_text(&text),
        number: if kind == VectorKind::Number { Some(attrs.number_range(true).unwrap_or_default()) } else { None },
    })
}

/// Text of an element that has no members (`enableBLOB`, or empty ones such as `message`).
fn content<'a>(reader: &mut Reader<&'a [u8]>, tag: &str, empty: bool) -> Result<Cow<'a, str>> {
    if empty {
        return Ok(Cow::Borrowed(""));
    }
    read_text(reader, tag)
}

/// Parses one complete element. `whole` holds exactly the element's bytes.
pub fn parse_element(whole: Bytes) -> Result<Element> {
    let text = std::str::from_utf8(&whole).map_err(|e| DecodeError::malformed("", format!("invalid UTF-8 ({e})")))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let (start, empty) = loop {
        match reader.read_event().map_err(|e| DecodeError::malformed("", e.to_string()))? {
            Event::Start(e) => break (e, false),
            Event::Empty(e) => break (e, true),
            Event::Eof => return Err(DecodeError::malformed("", "no element")),
            _ => continue,
        }
    };
    let tag: &str = start.name().0;
    let attrs = Attrs::read(&start, tag)?;
    let element = match tag {
        "getProperties" => {
            content(&mut reader, tag, empty)?;
            Element::GetProperties(GetProperties { version: attrs.opt("version"), device: attrs.opt("device"), name: attrs.opt("name") })
        }
        "enableBLOB" => {
            let mode = BlobEnable::parse(trim_xml(&content(&mut reader, tag, empty)?));
            Element::EnableBlob(EnableBlob { device: attrs.opt("device"), name: attrs.opt("name"), mode })
        }
        "message" => {
            content(&mut reader, tag, empty)?;
            Element::Message(Message { device: attrs.opt("device"), timestamp: attrs.opt("timestamp"), message: attrs.opt("message") })
        }
        "delProperty" => {
            content(&mut reader, tag, empty)?;
            Element::DelProperty(DelProperty {
                device: attrs.required_name("device")?,
                name: attrs.opt("name"),
                timestamp: attrs.opt("timestamp"),
                message: attrs.opt("message"),
            })
        }
        "pingRequest" | "pingReply" => {
            content(&mut reader, tag, empty)?;
            let uid = attrs.opt("uid").unwrap_or_default();
            if tag == "pingRequest" {
                Element::PingRequest(uid)
            } else {
                Element::PingReply(uid)
            }
        }
        _ => {
            let Some((verb, kind)) = parse_vector_tag(tag) else {
                return Err(DecodeError::Unknown { tag: tag.to_owned() });
            };
            let device = attrs.required_name("device")?;
            let name = attrs.required_name("name")?;
            let timestamp = attrs.opt("timestamp");
            match verb {
                VectorVerb::Def => {
                    let members = if empty { Vec::new() } else { read_members(&mut reader, tag, def_member_tag(kind), |a, t| def_member(kind, a, t))? };
                    let state = attrs.parsed("state", PropertyState::parse)?.ok_or_else(|| DecodeError::malformed(tag, "missing attribute state"))?;
                    Element::Def(DefVector {
                        kind,
                        device,
                        name,
                        label: attrs.opt("label"),
                        group: attrs.opt("group"),
                        state,
                        perm: attrs.parsed("perm", Perm::parse)?,
                        rule: attrs.parsed("rule", SwitchRule::parse)?,
                        timeout: attrs.opt("timeout"),
                        timestamp,
                        message: attrs.opt("message"),
                        members,
                    })
                }
                _ => {
                    let members = if empty { Vec::new() } else { read_members(&mut reader, tag, one_member_tag(kind), |a, t| one_member(kind, &whole, a, t))? };
                    if verb == VectorVerb::Set {
                        Element::Set(SetVector {
                            kind,
                            device,
                            name,
                            state: attrs.parsed("state", PropertyState::parse)?,
                            timeout: attrs.opt("timeout"),
                            timestamp,
                            message: attrs.opt("message"),
                            members,
                        })
                    } else {
                        Element::New(NewVector { kind, device, name, timestamp, members })
                    }
                }
            }
        }
    };
    Ok(element)
}
