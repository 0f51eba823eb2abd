//! Typed INDI protocol 1.7 elements (plus the `pingRequest`/`pingReply` extension).
//!
//! Attribute values are kept as the text that was on the wire (numbers, timestamps) so a relay
//! re-emits what it received; helpers in [`crate::number`] and [`crate::timestamp`] interpret them.

use bytes::Bytes;
use std::fmt;

/// The five property types of INDI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VectorKind {
    /// Text vectors (`defTextVector`, `oneText`, ...).
    Text,
    /// Number vectors.
    Number,
    /// Switch vectors.
    Switch,
    /// Light vectors (read-only, no `new` form).
    Light,
    /// BLOB vectors.
    Blob,
}

impl VectorKind {
    /// All kinds, in protocol order.
    pub const ALL: [VectorKind; 5] = [VectorKind::Text, VectorKind::Number, VectorKind::Switch, VectorKind::Light, VectorKind::Blob];

    /// The type word used inside tag names: `Text`, `Number`, `Switch`, `Light`, `BLOB`.
    pub fn word(self) -> &'static str {
        match self {
            VectorKind::Text => "Text",
            VectorKind::Number => "Number",
            VectorKind::Switch => "Switch",
            VectorKind::Light => "Light",
            VectorKind::Blob => "BLOB",
        }
    }

    /// Parses the type word of a tag name.
    pub fn from_word(word: &str) -> Option<VectorKind> {
        Some(match word {
            "Text" => VectorKind::Text,
            "Number" => VectorKind::Number,
            "Switch" => VectorKind::Switch,
            "Light" => VectorKind::Light,
            "BLOB" => VectorKind::Blob,
            _ => return None,
        })
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The protocol spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact, case-sensitive protocol spelling.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// `propertyState`.
    PropertyState { Idle = "Idle", Ok = "Ok", Busy = "Busy", Alert = "Alert" }
);
string_enum!(
    /// `propertyPerm`.
    Perm { Ro = "ro", Wo = "wo", Rw = "rw" }
);
string_enum!(
    /// `switchRule`.
    SwitchRule { OneOfMany = "OneOfMany", AtMostOne = "AtMostOne", AnyOfMany = "AnyOfMany" }
);
string_enum!(
    /// `BLOBenable`.
    BlobEnable { Never = "Never", Also = "Also", Only = "Only" }
);

/// `<getProperties>`: from a client, a request for definitions; from a driver, a snoop request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetProperties {
    /// Protocol version the sender speaks (required from clients, often missing in practice).
    pub version: Option<String>,
    /// Device asked for; all devices when absent.
    pub device: Option<String>,
    /// Property asked for; all properties of `device` when absent.
    pub name: Option<String>,
}

/// `<enableBLOB>`: per-connection BLOB policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnableBlob {
    /// Device the policy applies to (every device when absent).
    pub device: Option<String>,
    /// BLOB property the policy applies to (every BLOB property of the device when absent).
    pub name: Option<String>,
    /// The policy; `None` when the text was empty or not one of `Never`/`Also`/`Only`.
    pub mode: Option<BlobEnable>,
}

/// Number attributes of a `defNumber` (and the libindi extension of `oneNumber`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NumberRange {
    /// printf-style or `%<w>.<f>m` format (only in `defNumber`).
    pub format: Option<String>,
    /// Minimum, as written on the wire.
    pub min: Option<String>,
    /// Maximum, as written on the wire.
    pub max: Option<String>,
    /// Step, as written on the wire.
    pub step: Option<String>,
}

/// One member of a `def*Vector` (`defText`, `defNumber`, `defSwitch`, `defLight`, `defBLOB`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DefMember {
    /// Member name.
    pub name: String,
    /// GUI label (defaults to the name on the receiving side).
    pub label: Option<String>,
    /// Initial value as text (empty for `defBLOB`).
    pub value: String,
    /// Format and limits, for `defNumber` only.
    pub number: Option<NumberRange>,
}

/// A `def*Vector`: the full definition of a property.
#[derive(Debug, Clone, PartialEq)]
pub struct DefVector {
    /// Property type.
    pub kind: VectorKind,
    /// Device name.
    pub device: String,
    /// Property name.
    pub name: String,
    /// GUI label.
    pub label: Option<String>,
    /// GUI group.
    pub group: Option<String>,
    /// Current state.
    pub state: PropertyState,
    /// Permission (absent for lights).
    pub perm: Option<Perm>,
    /// Switch rule (switches only).
    pub rule: Option<SwitchRule>,
    /// Worst-case seconds for a change, as on the wire.
    pub timeout: Option<String>,
    /// Timestamp, as on the wire.
    pub timestamp: Option<String>,
    /// Message to show with the definition.
    pub message: Option<String>,
    /// All members of the vector.
    pub members: Vec<DefMember>,
}

/// Base64 content of a BLOB member, kept encoded until someone needs the bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum BlobData {
    /// Canonical base64 (validated, no whitespace), ready to be written as is.
    Base64(Bytes),
    /// Raw bytes, encoded when written.
    Raw(Bytes),
    /// Not in the stream: a shared-memory buffer passed beside it (libindi's `attached="true"`,
    /// a memfd sent with `SCM_RIGHTS` on a unix socket), of `len` bytes when the element said.
    /// The link that received the element replaces it with the bytes; written, it is
    /// `attached="true"` with no content.
    Attached {
        /// The `len` attribute (libindi writes it; indiserver's conversions may not).
        len: Option<u64>,
    },
}

impl BlobData {
    /// Length of the decoded data.
    pub fn decoded_len(&self) -> usize {
        match self {
            BlobData::Raw(bytes) => bytes.len(),
            BlobData::Base64(text) => crate::blob::decoded_len(text),
            BlobData::Attached { .. } => 0,
        }
    }

    /// The raw bytes (decodes base64 if needed).
    pub fn to_raw(&self) -> Bytes {
        match self {
            BlobData::Raw(bytes) => bytes.clone(),
            BlobData::Base64(text) => Bytes::from(crate::blob::decode_canonical(text)),
            BlobData::Attached { .. } => Bytes::new(),
        }
    }
}

/// The payload of a `oneBLOB`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobValue {
    /// Decoded, decompressed length (`size` attribute).
    pub size: u64,
    /// Format as a file-suffix chain (`.fits`, `.fits.z`).
    pub format: String,
    /// The data.
    pub data: BlobData,
    /// `enclen` as the sender wrote it, relayed with base64 data as indiserver does (it adds none).
    pub enclen: Option<u64>,
}

/// The value of a `one*` member.
#[derive(Debug, Clone, PartialEq)]
pub enum OneValue {
    /// Text, number (as written), switch or light value.
    Text(String),
    /// BLOB content.
    Blob(BlobValue),
}

/// One member of a `set*Vector` or `new*Vector`.
#[derive(Debug, Clone, PartialEq)]
pub struct OneMember {
    /// Member name.
    pub name: String,
    /// The value.
    pub value: OneValue,
    /// libindi extension: `min`/`max`/`step` on a `oneNumber`.
    pub range: Option<NumberRange>,
}

impl OneMember {
    /// A member with a text value.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> OneMember {
        OneMember { name: name.into(), value: OneValue::Text(value.into()), range: None }
    }

    /// The text value, or `None` for a BLOB member.
    pub fn text_value(&self) -> Option<&str> {
        match &self.value {
            OneValue::Text(text) => Some(text),
            OneValue::Blob(_) => None,
        }
    }
}

/// A `set*Vector`: a driver's update of some or all members.
#[derive(Debug, Clone, PartialEq)]
pub struct SetVector {
    /// Property type.
    pub kind: VectorKind,
    /// Device name.
    pub device: String,
    /// Property name.
    pub name: String,
    /// New state; unchanged when absent.
    pub state: Option<PropertyState>,
    /// Worst-case seconds, as on the wire.
    pub timeout: Option<String>,
    /// Timestamp, as on the wire.
    pub timestamp: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Changed members (may be empty).
    pub members: Vec<OneMember>,
}

/// A `new*Vector`: a client's request to change members.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVector {
    /// Property type (never `Light`).
    pub kind: VectorKind,
    /// Device name.
    pub device: String,
    /// Property name.
    pub name: String,
    /// Timestamp, as on the wire.
    pub timestamp: Option<String>,
    /// Requested values.
    pub members: Vec<OneMember>,
}

/// `<message>`: universal when `device` is absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// Device the message concerns.
    pub device: Option<String>,
    /// Timestamp, as on the wire.
    pub timestamp: Option<String>,
    /// The text.
    pub message: Option<String>,
}

/// `<delProperty>`: a property, or the whole device when `name` is absent, is gone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DelProperty {
    /// Device name.
    pub device: String,
    /// Property name.
    pub name: Option<String>,
    /// Timestamp, as on the wire.
    pub timestamp: Option<String>,
    /// Message.
    pub message: Option<String>,
}

/// One INDI element.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// `getProperties`
    GetProperties(GetProperties),
    /// `enableBLOB`
    EnableBlob(EnableBlob),
    /// `def*Vector`
    Def(DefVector),
    /// `set*Vector`
    Set(SetVector),
    /// `new*Vector`
    New(NewVector),
    /// `message`
    Message(Message),
    /// `delProperty`
    DelProperty(DelProperty),
    /// `pingRequest uid`
    PingRequest(String),
    /// `pingReply uid`
    PingReply(String),
}

impl Element {
    /// The XML tag name of this element.
    pub fn tag(&self) -> &'static str {
        crate::Tag::of(self).as_str()
    }

    /// The `device` attribute, if the element has one.
    pub fn device(&self) -> Option<&str> {
        match self {
            Element::GetProperties(e) => e.device.as_deref(),
            Element::EnableBlob(e) => e.device.as_deref(),
            Element::Def(v) => Some(&v.device),
            Element::Set(v) => Some(&v.device),
            Element::New(v) => Some(&v.device),
            Element::Message(e) => e.device.as_deref(),
            Element::DelProperty(e) => Some(&e.device),
            Element::PingRequest(_) | Element::PingReply(_) => None,
        }
    }

    /// The `name` (property) attribute, if the element has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Element::GetProperties(e) => e.name.as_deref(),
            Element::EnableBlob(e) => e.name.as_deref(),
            Element::Def(v) => Some(&v.name),
            Element::Set(v) => Some(&v.name),
            Element::New(v) => Some(&v.name),
            Element::DelProperty(e) => e.name.as_deref(),
            Element::Message(_) | Element::PingRequest(_) | Element::PingReply(_) => None,
        }
    }
}

const DEF_TAGS: [&str; 5] = ["defTextVector", "defNumberVector", "defSwitchVector", "defLightVector", "defBLOBVector"];
const SET_TAGS: [&str; 5] = ["setTextVector", "setNumberVector", "setSwitchVector", "setLightVector", "setBLOBVector"];
const NEW_TAGS: [&str; 5] = ["newTextVector", "newNumberVector", "newSwitchVector", "newLightVector", "newBLOBVector"];
const DEF_MEMBER_TAGS: [&str; 5] = ["defText", "defNumber", "defSwitch", "defLight", "defBLOB"];
const ONE_MEMBER_TAGS: [&str; 5] = ["oneText", "oneNumber", "oneSwitch", "oneLight", "oneBLOB"];

fn index(kind: VectorKind) -> usize {
    kind as usize
}

/// `def<Kind>Vector`.
pub fn def_tag(kind: VectorKind) -> &'static str {
    DEF_TAGS[index(kind)]
}
/// `set<Kind>Vector`.
pub fn set_tag(kind: VectorKind) -> &'static str {
    SET_TAGS[index(kind)]
}
/// `new<Kind>Vector`.
pub fn new_tag(kind: VectorKind) -> &'static str {
    NEW_TAGS[index(kind)]
}
/// `def<Kind>` (member of a definition).
pub fn def_member_tag(kind: VectorKind) -> &'static str {
    DEF_MEMBER_TAGS[index(kind)]
}
/// `one<Kind>` (member of a set/new vector).
pub fn one_member_tag(kind: VectorKind) -> &'static str {
    ONE_MEMBER_TAGS[index(kind)]
}

/// The prefix of a vector tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorVerb {
    /// `def*Vector`
    Def,
    /// `set*Vector`
    Set,
    /// `new*Vector`
    New,
}

/// Splits a vector tag: `defNumberVector` → (`Def`, `Number`). `newLightVector` does not exist.
pub fn parse_vector_tag(tag: &str) -> Option<(VectorVerb, VectorKind)> {
    let body = tag.strip_suffix("Vector")?;
    let (verb, word) = if let Some(word) = body.strip_prefix("def") {
        (VectorVerb::Def, word)
    } else if let Some(word) = body.strip_prefix("set") {
        (VectorVerb::Set, word)
    } else {
        (VectorVerb::New, body.strip_prefix("new")?)
    };
    let kind = VectorKind::from_word(word)?;
    (!(verb == VectorVerb::New && kind == VectorKind::Light)).then_some((verb, kind))
}
