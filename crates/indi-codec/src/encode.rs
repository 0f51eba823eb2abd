//! Writes elements as spec §3 "Write" says: UTF-8, double quotes, the five named entities,
//! no indentation, one element per line, base64 on one line.

use crate::blob;
use crate::element::*;
use bytes::{BufMut, BytesMut};

/// Characters XML 1.0 cannot carry at all; dropped rather than producing a document no peer reads.
pub(crate) fn is_forbidden(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

fn needs_escape(c: char, in_attr: bool) -> bool {
    matches!(c, '&' | '<' | '>') || (in_attr && matches!(c, '"' | '\t' | '\n' | '\r')) || is_forbidden(c)
}

fn escape_into(out: &mut BytesMut, text: &str, in_attr: bool) {
    if !text.chars().any(|c| needs_escape(c, in_attr)) {
        out.put_slice(text.as_bytes());
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.put_slice(b"&amp;"),
            '<' => out.put_slice(b"&lt;"),
            '>' => out.put_slice(b"&gt;"),
            '"' if in_attr => out.put_slice(b"&quot;"),
            // Readers turn these into spaces in attribute values (XML 1.0 §3.3.3) unless escaped.
            '\t' if in_attr => out.put_slice(b"&#9;"),
            '\n' if in_attr => out.put_slice(b"&#10;"),
            '\r' if in_attr => out.put_slice(b"&#13;"),
            c if is_forbidden(c) => {}
            c => {
                let mut utf8 = [0u8; 4];
                out.put_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

struct Writer<'a> {
    out: &'a mut BytesMut,
}

impl Writer<'_> {
    fn open(&mut self, tag: &str) {
        self.out.put_u8(b'<');
        self.out.put_slice(tag.as_bytes());
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.out.put_u8(b' ');
        self.out.put_slice(name.as_bytes());
        self.out.put_slice(b"=\"");
        escape_into(self.out, value, true);
        self.out.put_u8(b'"');
    }

    fn attr_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.attr(name, value);
        }
    }

    fn range(&mut self, range: Option<&NumberRange>) {
        if let Some(range) = range {
            self.attr_opt("format", range.format.as_deref());
            self.attr_opt("min", range.min.as_deref());
            self.attr_opt("max", range.max.as_deref());
            self.attr_opt("step", range.step.as_deref());
        }
    }

    /// Ends a start tag of an element without children.
    fn close_empty(&mut self) {
        self.out.put_slice(b"/>\n");
    }

    fn text_member(&mut self, tag: &str, text: &str) {
        self.out.put_u8(b'>');
        escape_into(self.out, text, false);
        self.close(tag);
    }

    fn close(&mut self, tag: &str) {
        self.out.put_slice(b"</");
        self.out.put_slice(tag.as_bytes());
        self.out.put_u8(b'>');
    }

    /// Writes the children (if any) and the end of an element whose start tag is open.
    fn children<T>(&mut self, tag: &str, items: &[T], mut write: impl FnMut(&mut Self, &T)) {
        if items.is_empty() {
            self.close_empty();
            return;
        }
        self.out.put_u8(b'>');
        for item in items {
            write(self, item);
        }
        self.close(tag);
        self.out.put_u8(b'\n');
    }

    fn one_member(&mut self, kind: VectorKind, member: &OneMember) {
        let tag = one_member_tag(kind);
        self.open(tag);
        self.attr("name", &member.name);
        match &member.value {
            OneValue::Text(text) => {
                self.range(member.range.as_ref());
                self.text_member(tag, text);
            }
            OneValue::Blob(value) => {
                self.attr("size", &value.size.to_string());
                self.attr("format", &value.format);
                if let (Some(enclen), BlobData::Base64(_)) = (value.enclen, &value.data) {
                    self.attr("enclen", &enclen.to_string());
                }
                if let BlobData::Attached { len } = value.data {
                    // libindi's form: the bytes travel beside the element, as a descriptor.
                    if let Some(len) = len {
                        self.attr("len", &len.to_string());
                    }
                    self.attr("attached", "true");
                    self.out.put_slice(b"/>");
                    return;
                }
                self.out.put_u8(b'>');
                match &value.data {
                    // Validated canonical base64 holds no markup: relayed verbatim.
                    BlobData::Base64(text) => self.out.put_slice(text),
                    BlobData::Raw(raw) => blob::encode_into(raw, self.out),
                    BlobData::Attached { .. } => unreachable!("written above"),
                }
                self.close(tag);
            }
        }
    }
}

/// Rough encoded size, used to reserve the output buffer once.
pub fn size_hint(element: &Element) -> usize {
    let members = match element {
        Element::Set(v) => &v.members[..],
        Element::New(v) => &v.members[..],
        _ => return 256,
    };
    members
        .iter()
        .map(|m| match &m.value {
            OneValue::Text(t) => t.len() + 64,
            OneValue::Blob(b) => match &b.data {
                BlobData::Base64(text) => text.len() + 128,
                BlobData::Raw(raw) => raw.len().div_ceil(3) * 4 + 128,
                BlobData::Attached { .. } => 128,
            },
        })
        .sum::<usize>()
        + 256
}

/// Appends `element` to `out`, followed by a newline.
pub fn encode_element(element: &Element, out: &mut BytesMut) {
    out.reserve(size_hint(element));
    let mut w = Writer { out };
    w.open(element.tag());
    match element {
        Element::GetProperties(e) => {
            w.attr_opt("version", e.version.as_deref());
            w.attr_opt("device", e.device.as_deref());
            w.attr_opt("name", e.name.as_deref());
            w.close_empty();
        }
        Element::EnableBlob(e) => {
            w.attr_opt("device", e.device.as_deref());
            w.attr_opt("name", e.name.as_deref());
            w.text_member("enableBLOB", e.mode.map_or("", BlobEnable::as_str));
            w.out.put_u8(b'\n');
        }
        Element::Def(v) => {
            w.attr("device", &v.device);
            w.attr("name", &v.name);
            w.attr_opt("label", v.label.as_deref());
            w.attr_opt("group", v.group.as_deref());
            w.attr("state", v.state.as_str());
            w.attr_opt("perm", v.perm.map(Perm::as_str));
            w.attr_opt("rule", v.rule.map(SwitchRule::as_str));
            w.attr_opt("timeout", v.timeout.as_deref());
            w.attr_opt("timestamp", v.timestamp.as_deref());
            w.attr_opt("message", v.message.as_deref());
            let tag = def_member_tag(v.kind);
            w.children(element.tag(), &v.members, |w, m| {
                w.open(tag);
                w.attr("name", &m.name);
                w.attr_opt("label", m.label.as_deref());
                w.range(m.number.as_ref());
                if v.kind == VectorKind::Blob {
                    w.out.put_slice(b"/>");
                } else {
                    w.text_member(tag, &m.value);
                }
            });
        }
        Element::Set(v) => {
            w.attr("device", &v.device);
            w.attr("name", &v.name);
            w.attr_opt("state", v.state.map(PropertyState::as_str));
            w.attr_opt("timeout", v.timeout.as_deref());
            w.attr_opt("timestamp", v.timestamp.as_deref());
            w.attr_opt("message", v.message.as_deref());
            w.children(element.tag(), &v.members, |w, m| w.one_member(v.kind, m));
        }
        Element::New(v) => {
            w.attr("device", &v.device);
            w.attr("name", &v.name);
            w.attr_opt("timestamp", v.timestamp.as_deref());
            w.children(element.tag(), &v.members, |w, m| w.one_member(v.kind, m));
        }
        Element::Message(e) => {
            w.attr_opt("device", e.device.as_deref());
            w.attr_opt("timestamp", e.timestamp.as_deref());
            w.attr_opt("message", e.message.as_deref());
            w.close_empty();
        }
        Element::DelProperty(e) => {
            w.attr("device", &e.device);
            w.attr_opt("name", e.name.as_deref());
            w.attr_opt("timestamp", e.timestamp.as_deref());
            w.attr_opt("message", e.message.as_deref());
            w.close_empty();
        }
        Element::PingRequest(uid) | Element::PingReply(uid) => {
            w.attr("uid", uid);
            w.close_empty();
        }
    }
}
