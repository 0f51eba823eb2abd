//! Plain data crossing the napi boundary: [`WireElement`] mirrors [`indi_codec::Element`] with
//! JS-friendly types. TypeScript builds these and Rust encodes them; Rust decodes the stream and
//! hands these to TypeScript. No XML is ever built or parsed in JS.

use crate::blobbytes::BlobBytes;
use bytes::Bytes;
use indi_codec::*;
use napi_derive::napi;

/// One INDI element as plain data. `tag` is the XML tag (`defNumberVector`, `message`, ...);
/// fields that do not apply to a tag are absent.
#[napi(object)]
pub struct WireElement {
    /// The element's tag: one of indi-codec's `Tag`s (a string-literal union in TypeScript).
    #[napi(
        ts_type = "'getProperties' | 'enableBLOB' | 'message' | 'delProperty' | 'pingRequest' | 'pingReply' | 'defTextVector' | 'defNumberVector' | 'defSwitchVector' | 'defLightVector' | 'defBLOBVector' | 'setTextVector' | 'setNumberVector' | 'setSwitchVector' | 'setLightVector' | 'setBLOBVector' | 'newTextVector' | 'newNumberVector' | 'newSwitchVector' | 'newBLOBVector'"
    )]
    pub tag: String,
    pub device: Option<String>,
    pub name: Option<String>,
    pub label: Option<String>,
    pub group: Option<String>,
    pub state: Option<String>,
    pub perm: Option<String>,
    pub rule: Option<String>,
    pub timeout: Option<f64>,
    pub timestamp: Option<String>,
    pub message: Option<String>,
    /// `getProperties` version.
    pub version: Option<String>,
    /// `pingRequest`/`pingReply` uid.
    pub uid: Option<String>,
    /// `enableBLOB` mode.
    pub value: Option<String>,
    pub members: Option<Vec<WireMember>>,
}

/// One member of a vector element.
#[napi(object)]
pub struct WireMember {
    pub name: String,
    pub label: Option<String>,
    /// Text, switch or light value; number value as received (may be sexagesimal).
    pub value: Option<String>,
    /// Number value to send (written as a plain decimal).
    pub number: Option<f64>,
    /// Number format, or BLOB format.
    pub format: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub step: Option<f64>,
    /// BLOB content (raw bytes).
    #[napi(ts_type = "Buffer")]
    pub blob: Option<BlobBytes>,
    /// BLOB size attribute.
    pub size: Option<f64>,
}

fn empty_element(tag: &str) -> WireElement {
    WireElement {
        tag: tag.to_owned(),
        device: None,
        name: None,
        label: None,
        group: None,
        state: None,
        perm: None,
        rule: None,
        timeout: None,
        timestamp: None,
        message: None,
        version: None,
        uid: None,
        value: None,
        members: None,
    }
}

fn member(name: String) -> WireMember {
    WireMember { name, label: None, value: None, number: None, format: None, min: None, max: None, step: None, blob: None, size: None }
}

fn number_of(text: Option<&String>) -> Option<f64> {
    text.and_then(|t| getfloat(t).ok())
}

fn wire_one(one: OneMember) -> WireMember {
    let mut out = member(one.name);
    if let Some(range) = &one.range {
        out.min = number_of(range.min.as_ref());
        out.max = number_of(range.max.as_ref());
        out.step = number_of(range.step.as_ref());
    }
    match one.value {
        OneValue::Text(text) => out.value = Some(text),
        OneValue::Blob(blob) => {
            out.size = Some(blob.size as f64);
            out.format = Some(blob.format);
            let raw = match blob.data {
                BlobData::Base64(text) => indi_codec::blob::decode_canonical(&text),
                // No copy: the decoded bytes are this element's alone.
                BlobData::Raw(raw) => Vec::from(raw),
                // Links that can receive attachments fill them in before this.
                BlobData::Attached { .. } => Vec::new(),
            };
            out.blob = Some(BlobBytes::Decoded(raw));
        }
    }
    out
}

/// Converts a decoded element for JS.
pub fn to_wire(element: Element) -> WireElement {
    let mut out = empty_element(element.tag());
    match element {
        Element::GetProperties(e) => {
            out.version = e.version;
            out.device = e.device;
            out.name = e.name;
        }
        Element::EnableBlob(e) => {
            out.device = e.device;
            out.name = e.name;
            out.value = e.mode.map(|m| m.as_str().to_owned());
        }
        Element::Def(v) => {
            out.device = Some(v.device);
            out.name = Some(v.name);
            out.label = v.label;
            out.group = v.group;
            out.state = Some(v.state.as_str().to_owned());
            out.perm = v.perm.map(|p| p.as_str().to_owned());
            out.rule = v.rule.map(|r| r.as_str().to_owned());
            out.timeout = number_of(v.timeout.as_ref());
            out.timestamp = v.timestamp;
            out.message = v.message;
            let members = v.members.into_iter().map(|m| {
                let mut w = member(m.name);
                w.label = m.label;
                w.value = Some(m.value);
                if let Some(range) = m.number {
                    w.min = number_of(range.min.as_ref());
                    w.max = number_of(range.max.as_ref());
                    w.step = number_of(range.step.as_ref());
                    w.format = range.format;
                }
                w
            });
            out.members = Some(members.collect());
        }
        Element::Set(v) => {
            out.device = Some(v.device);
            out.name = Some(v.name);
            out.state = v.state.map(|s| s.as_str().to_owned());
            out.timeout = number_of(v.timeout.as_ref());
            out.timestamp = v.timestamp;
            out.message = v.message;
            out.members = Some(v.members.into_iter().map(wire_one).collect());
        }
        Element::New(v) => {
            out.device = Some(v.device);
            out.name = Some(v.name);
            out.timestamp = v.timestamp;
            out.members = Some(v.members.into_iter().map(wire_one).collect());
        }
        Element::Message(e) => {
            out.device = e.device;
            out.timestamp = e.timestamp;
            out.message = e.message;
        }
        Element::DelProperty(e) => {
            out.device = Some(e.device);
            out.name = e.name;
            out.timestamp = e.timestamp;
            out.message = e.message;
        }
        Element::PingRequest(uid) | Element::PingReply(uid) => out.uid = Some(uid),
    }
    out
}

type Result<T> = std::result::Result<T, String>;

fn required(value: Option<String>, what: &str, tag: &str) -> Result<String> {
    value.ok_or_else(|| format!("<{tag}> needs a {what}"))
}

fn parsed<T>(value: Option<String>, parse: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>> {
    value.map(|v| parse(&v).ok_or_else(|| format!("invalid {what} {v:?}"))).transpose()
}

/// A number member's value: numbers given as text (possibly sexagesimal) go out as plain
/// decimals, because libindi clients read set/def values with `strtod`.
fn number_text(number: Option<f64>, text: Option<String>) -> Result<String> {
    match (number, text) {
        (Some(number), _) => Ok(wire_number(number)),
        (None, Some(text)) => getfloat(&text).map(wire_number).map_err(|e| e.to_string()),
        (None, None) => Ok("0".to_owned()),
    }
}

fn member_text(kind: VectorKind, m: &mut WireMember) -> Result<String> {
    if kind == VectorKind::Number {
        number_text(m.number, m.value.take())
    } else {
        Ok(m.value.take().unwrap_or_default())
    }
}

fn range_of(m: &WireMember, with_format: bool) -> Option<NumberRange> {
    let range = NumberRange {
        format: if with_format { m.format.clone() } else { None },
        min: m.min.map(wire_number),
        max: m.max.map(wire_number),
        step: m.step.map(wire_number),
    };
    (range != NumberRange::default()).then_some(range)
}

fn one_from_wire(kind: VectorKind, mut m: WireMember) -> Result<OneMember> {
    if kind == VectorKind::Blob {
        let data = match m.blob {
            Some(buffer) => Bytes::from_owner(buffer),
            None => Bytes::new(),
        };
        let size = m.size.map_or(data.len() as u64, |s| s as u64);
        let value = BlobValue { size, format: m.format.unwrap_or_default(), data: BlobData::Raw(data), enclen: None };
        return Ok(OneMember { name: m.name, value: OneValue::Blob(value), range: None });
    }
    let range = if kind == VectorKind::Number { range_of(&m, false) } else { None };
    let text = member_text(kind, &mut m)?;
    Ok(OneMember { name: m.name, value: OneValue::Text(text), range })
}

/// Converts an element built in JS for encoding.
pub fn from_wire(w: WireElement) -> Result<Element> {
    let tag = w.tag.as_str();
    let element = match tag {
        "getProperties" => Element::GetProperties(GetProperties { version: w.version, device: w.device, name: w.name }),
        "enableBLOB" => Element::EnableBlob(EnableBlob { device: w.device, name: w.name, mode: parsed(w.value, BlobEnable::parse, "BLOB mode")? }),
        "message" => Element::Message(Message { device: w.device, timestamp: w.timestamp, message: w.message }),
        "delProperty" => {
            Element::DelProperty(DelProperty { device: required(w.device, "device", tag)?, name: w.name, timestamp: w.timestamp, message: w.message })
        }
        "pingRequest" => Element::PingRequest(w.uid.unwrap_or_default()),
        "pingReply" => Element::PingReply(w.uid.unwrap_or_default()),
        _ => {
            let (verb, kind) = parse_vector_tag(tag).ok_or_else(|| format!("unknown element <{tag}>"))?;
            let device = required(w.device.clone(), "device", tag)?;
            let name = required(w.name.clone(), "name", tag)?;
            let members = w.members.unwrap_or_default();
            match verb {
                VectorVerb::Def => Element::Def(DefVector {
                    kind,
                    device,
                    name,
                    label: w.label,
                    group: w.group,
                    state: parsed(w.state, PropertyState::parse, "state")?.ok_or("a definition needs a state")?,
                    perm: parsed(w.perm, Perm::parse, "perm")?,
                    rule: parsed(w.rule, SwitchRule::parse, "rule")?,
                    timeout: w.timeout.map(wire_number),
                    timestamp: w.timestamp,
                    message: w.message,
                    members: members
                        .into_iter()
                        .map(|mut m| {
                            let number = (kind == VectorKind::Number).then(|| range_of(&m, true).unwrap_or_default());
                            let value = if kind == VectorKind::Blob { String::new() } else { member_text(kind, &mut m)? };
                            Ok(DefMember { label: m.label.take(), value, number, name: m.name })
                        })
                        .collect::<Result<_>>()?,
                }),
                VectorVerb::Set => Element::Set(SetVector {
                    kind,
                    device,
                    name,
                    state: parsed(w.state, PropertyState::parse, "state")?,
                    timeout: w.timeout.map(wire_number),
                    timestamp: w.timestamp,
                    message: w.message,
                    members: members.into_iter().map(|m| one_from_wire(kind, m)).collect::<Result<_>>()?,
                }),
                VectorVerb::New => Element::New(NewVector {
                    kind,
                    device,
                    name,
                    timestamp: w.timestamp,
                    members: members.into_iter().map(|m| one_from_wire(kind, m)).collect::<Result<_>>()?,
                }),
            }
        }
    };
    Ok(element)
}

/// A request for an in-process driver as one string, where it is a `new*Vector` of values (a
/// client's everyday request): `tag device name stamp name1 value1 name2 ...` joined by NUL
/// (which XML cannot carry), `stamp` empty without a timestamp, else `T` and the timestamp.
/// JS splits it far quicker than napi builds an object field by field. Anything else (BLOBs,
/// number ranges) stays an object.
pub fn flat_request(element: &Element) -> Option<String> {
    let Element::New(v) = element else { return None };
    if v.kind == VectorKind::Blob {
        return None;
    }
    let stamp = v.timestamp.as_ref().map_or(String::new(), |t| format!("T{t}"));
    let mut pieces = vec![element.tag(), &v.device, &v.name, &stamp];
    for one in &v.members {
        let OneValue::Text(text) = &one.value else { return None };
        if one.range.is_some() {
            return None;
        }
        pieces.extend([one.name.as_str(), text]);
    }
    // Decoded text never holds NUL; were it to, the pieces would not split back.
    if pieces.iter().any(|piece| piece.contains('\0')) {
        return None;
    }
    Some(pieces.join("\0"))
}

/// A client's run of `set*Vector`s of values, crossing napi as one string that JS splits once
/// (`splitUpdates` in ts/wire.ts): per update `tag device name state timeout timestamp message
/// count`, then `count` pairs `name value`, every piece separated by NUL (which XML cannot carry)
/// from the one before, absent fields empty. `tag`, `device` and `name` are all three empty when
/// they are those of the update before in the run (a burst is mostly one vector's).
#[derive(Default)]
pub struct Run {
    text: String,
    key: [String; 3],
}

impl Run {
    /// Whether nothing was appended since the last [`Run::take`].
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The run so far, leaving this one empty.
    pub fn take(&mut self) -> String {
        self.key = Default::default();
        std::mem::take(&mut self.text)
    }

    /// Appends one update: `key` is tag, device and name, `rest` state, timeout, timestamp and
    /// message, `members` the pairs, each piece preceded by NUL. No piece may hold NUL.
    pub fn push(&mut self, key: [&str; 3], rest: [&str; 4], count: usize, members: &str) {
        let same = self.key.iter().zip(key).all(|(a, b)| a == b);
        if !same {
            for (kept, piece) in self.key.iter_mut().zip(key) {
                kept.clear();
                kept.push_str(piece);
            }
        }
        let key = if same { ["", "", ""] } else { key };
        for piece in key.into_iter().chain(rest).chain([count.to_string().as_str()]) {
            if !self.text.is_empty() {
                self.text.push('\0');
            }
            self.text.push_str(piece);
        }
        self.text.push_str(members);
    }
}

/// Appends a `set*Vector` of values (no BLOB, no number range) to `run`; false (appending
/// nothing) for anything else.
pub fn push_flat_update(element: &Element, run: &mut Run) -> bool {
    let Element::Set(v) = element else { return false };
    if v.kind == VectorKind::Blob {
        return false;
    }
    fn text(t: &Option<String>) -> &str {
        t.as_deref().unwrap_or("")
    }
    let key = [element.tag(), &v.device, &v.name];
    let rest = [v.state.map_or("", |s| s.as_str()), text(&v.timeout), text(&v.timestamp), text(&v.message)];
    let mut members = String::new();
    for one in &v.members {
        let OneValue::Text(value) = &one.value else { return false };
        if one.range.is_some() || one.name.contains('\0') || value.contains('\0') {
            return false;
        }
        for piece in [&one.name, value] {
            members.push('\0');
            members.push_str(piece);
        }
    }
    if key.iter().chain(&rest).any(|piece| piece.contains('\0')) {
        return false;
    }
    run.push(key, rest, v.members.len(), &members);
    true
}

/// The members of a `set*Vector` passed positionally: reading a `WireElement` from JS probes
/// every one of its fields by name, which made a driver's updates cost more than the work
/// (measured in `bench/README.md`, "The napi boundary").
pub struct SetFields {
    pub tag: String,
    pub device: String,
    pub name: String,
    pub state: Option<String>,
    pub timeout: Option<f64>,
    pub timestamp: Option<String>,
    pub message: Option<String>,
    /// Member names, with their text values or their numbers at the same index.
    pub names: Vec<String>,
    pub values: Option<Vec<String>>,
    pub numbers: Option<Vec<f64>>,
}

/// The element of [`SetFields`], converted exactly as its `WireElement` would be.
pub fn set_from_fields(f: SetFields) -> Result<Element> {
    if !f.tag.starts_with("set") || f.tag == "setBLOBVector" {
        return Err(format!("<{}> is not a set vector of values", f.tag));
    }
    let (mut values, mut numbers) = (f.values.map(Vec::into_iter), f.numbers.map(Vec::into_iter));
    let members = f
        .names
        .into_iter()
        .map(|name| WireMember { value: values.as_mut().and_then(Iterator::next), number: numbers.as_mut().and_then(Iterator::next), ..member(name) })
        .collect();
    let mut out = empty_element(&f.tag);
    (out.device, out.name, out.state, out.timeout) = (Some(f.device), Some(f.name), f.state, f.timeout);
    (out.timestamp, out.message, out.members) = (f.timestamp, f.message, Some(members));
    from_wire(out)
}

/// An element that arrived but could not be read, in the order it came.
#[napi(object)]
pub struct WireError {
    /// What was wrong with it.
    pub error: String,
}

/// One item of a driver's inbound batch (see `NativeDriverLink.take`).
pub type Inbound = napi::bindgen_prelude::Either3<WireElement, String, WireError>;

/// The inbound form of an element: a request of values as its flat string, the rest as objects.
pub fn inbound(item: std::result::Result<&Element, String>) -> Inbound {
    match item {
        Ok(element) => flat_request(element).map_or_else(|| napi::bindgen_prelude::Either3::A(to_wire(element.clone())), napi::bindgen_prelude::Either3::B),
        Err(error) => napi::bindgen_prelude::Either3::C(WireError { error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_fields(tag: &str, names: &[&str], values: Option<Vec<&str>>, numbers: Option<Vec<f64>>) -> SetFields {
        SetFields {
            tag: tag.into(),
            device: "d".into(),
            name: "v".into(),
            state: Some("Ok".into()),
            timeout: Some(3.0),
            timestamp: Some("2026-12-01T00:00:00".into()),
            message: Some("m & <n>".into()),
            names: names.iter().map(|n| n.to_string()).collect(),
            values: values.map(|v| v.into_iter().map(String::from).collect()),
            numbers,
        }
    }

    fn as_object(f: &SetFields) -> WireElement {
        let mut out = empty_element(&f.tag);
        (out.device, out.name, out.state, out.timeout) = (Some(f.device.clone()), Some(f.name.clone()), f.state.clone(), f.timeout);
        (out.timestamp, out.message) = (f.timestamp.clone(), f.message.clone());
        let members = f.names.iter().enumerate().map(|(i, name)| WireMember {
            value: f.values.as_ref().map(|v| v[i].clone()),
            number: f.numbers.as_ref().map(|n| n[i]),
            ..member(name.clone())
        });
        out.members = Some(members.collect());
        out
    }

    #[test]
    fn positional_fields_encode_as_the_same_element_sent_as_an_object() {
        let cases = [
            set_fields("setNumberVector", &["a", "b"], None, Some(vec![1.5, -0.25])),
            set_fields("setTextVector", &["a", "b"], Some(vec!["x<&\"'é", ""]), None),
            set_fields("setSwitchVector", &["a"], Some(vec!["On"]), None),
            set_fields("setLightVector", &[], None, None),
        ];
        for fields in cases {
            let object = to_bytes(&from_wire(as_object(&fields)).unwrap());
            assert_eq!(to_bytes(&set_from_fields(fields).unwrap()), object);
        }
        assert!(set_from_fields(set_fields("setBLOBVector", &[], None, None)).is_err());
        assert!(set_from_fields(set_fields("newTextVector", &[], None, None)).is_err());
    }

    #[test]
    fn a_run_of_updates_is_one_string_of_records() {
        let parse = |text: &'static str| parse_element(Bytes::from_static(text.as_bytes())).unwrap();
        let mut run = Run::default();
        let first = parse("<setNumberVector device='d' name='n' state='Ok' timeout='3' timestamp='2026-12-01T00:00:01' message='a &amp; b'><oneNumber name='x'>1.5</oneNumber><oneNumber name='y'>7:30</oneNumber></setNumberVector>");
        assert!(push_flat_update(&first, &mut run));
        let again = parse("<setNumberVector device='d' name='n'><oneNumber name='x'>2</oneNumber></setNumberVector>");
        assert!(push_flat_update(&again, &mut run));
        assert!(push_flat_update(&parse("<setSwitchVector device='d' name='s'><oneSwitch name='On'>On</oneSwitch></setSwitchVector>"), &mut run));
        assert!(push_flat_update(&parse("<setLightVector device='d' name='l' state='Alert'></setLightVector>"), &mut run));
        // BLOBs, ranges and other elements stay objects, and leave the run as it was.
        for text in [
            "<setBLOBVector device='d' name='b'><oneBLOB name='i' size='1' format='.x'>QQ==</oneBLOB></setBLOBVector>",
            "<setNumberVector device='d' name='n'><oneNumber name='x' min='0'>1</oneNumber></setNumberVector>",
            "<newTextVector device='d' name='t'><oneText name='a'>x</oneText></newTextVector>",
            "<message device='d' message='m'/>",
        ] {
            assert!(!push_flat_update(&parse(text), &mut run), "{text}");
        }
        let text = run.take();
        let parts: Vec<&str> = text.split('\0').collect();
        let updates: [&[&str]; 4] = [
            &["setNumberVector", "d", "n", "Ok", "3", "2026-12-01T00:00:01", "a & b", "2", "x", "1.5", "y", "7:30"],
            &["", "", "", "", "", "", "", "1", "x", "2"], // the same vector as before
            &["setSwitchVector", "d", "s", "", "", "", "", "1", "On", "On"],
            &["setLightVector", "d", "l", "Alert", "", "", "", "0"],
        ];
        assert_eq!(parts, updates.concat());
        // A new run names its first vector again.
        assert!(run.is_empty());
        assert!(push_flat_update(&again, &mut run));
        assert!(run.take().starts_with("setNumberVector\0d\0n\0"));
    }

    #[test]
    fn a_flat_request_splits_back_into_the_request() {
        let text = "<newTextVector device='d' name='v' timestamp='2026-12-01T00:00:01'><oneText name='a'>x &amp; y</oneText><oneText name='b'></oneText></newTextVector>";
        let element = parse_element(Bytes::from_static(text.as_bytes())).unwrap();
        let flat = flat_request(&element).unwrap();
        let parts: Vec<&str> = flat.split('\0').collect();
        assert_eq!(parts, ["newTextVector", "d", "v", "T2026-12-01T00:00:01", "a", "x & y", "b", ""]);
        // BLOBs and anything with a range stay objects.
        let blob =
            parse_element(Bytes::from_static(b"<newBLOBVector device='d' name='b'><oneBLOB name='i' size='1' format='.x'>QQ==</oneBLOB></newBLOBVector>"))
                .unwrap();
        assert!(flat_request(&blob).is_none());
        let set = parse_element(Bytes::from_static(b"<setTextVector device='d' name='v'><oneText name='a'>x</oneText></setTextVector>")).unwrap();
        assert!(flat_request(&set).is_none(), "only requests");
    }
}
