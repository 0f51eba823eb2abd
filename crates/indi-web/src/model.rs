//! What browsers are shown: the latest state of every vector (sent whole to a browser that
//! joins), the recent messages, and the latest bytes of every BLOB member. Each element is
//! turned into JSON once here, whatever the number of browsers.

use crate::json::{def_json, kind_word, number_fields, to_text, Text};
use bytes::{Bytes, BytesMut};
use indi_codec::{BlobData, Element, OneValue, SetVector, VectorKind};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Messages replayed to a browser that joins.
const MESSAGES_KEPT: usize = 200;

/// Buffers of replaced BLOB frames kept to decode the next ones into (fresh memory costs a page
/// fault per 4 KiB on first write, more than the decoding).
const SPARES_KEPT: usize = 2;

/// The latest bytes of one BLOB member.
#[derive(Clone, Debug)]
pub struct Blob {
    /// The decoded bytes, as the driver sent them.
    pub bytes: Bytes,
    /// The driver's format (`.fits`, `.jpg`).
    pub format: String,
    /// Counts this member's updates (in URLs, so a browser never reads a cached older frame).
    pub seq: u64,
}

/// Devices, vectors, messages and BLOBs as browsers see them.
#[derive(Default)]
pub struct Model {
    /// `(device, vector)` → the definition with current values (JSON object).
    vectors: BTreeMap<(String, String), Map<String, Value>>,
    messages: VecDeque<Text>,
    /// `(device, vector, member)` → slot in `blobs` (slots are never reused, URLs stay valid).
    slots: HashMap<(String, String, String), usize>,
    blobs: Vec<Option<Blob>>,
    /// Buffers of replaced frames that no download held any more (see [`SPARES_KEPT`]).
    spares: Vec<BytesMut>,
}

impl Model {
    /// Applies one element; returns its JSON form for browsers, if it concerns them.
    pub fn apply(&mut self, element: &Element) -> Option<Text> {
        match element {
            Element::Def(def) => {
                let object = def_json(def);
                self.vectors.insert((def.device.clone(), def.name.clone()), object.clone());
                Some(to_text(object))
            }
            Element::Set(set) => self.set(set).map(to_text),
            Element::DelProperty(del) => {
                match &del.name {
                    Some(name) => {
                        self.vectors.remove(&(del.device.clone(), name.clone()));
                    }
                    None => self.vectors.retain(|(device, _), _| *device != del.device),
                }
                let mut object = Map::new();
                object.insert("type".into(), json!("del"));
                object.insert("device".into(), json!(del.device));
                put(&mut object, "name", del.name.as_deref());
                put(&mut object, "timestamp", del.timestamp.as_deref());
                put(&mut object, "message", del.message.as_deref());
                let text = to_text(object);
                self.remember(del.message.as_deref(), &text);
                Some(text)
            }
            Element::Message(message) => {
                let mut object = Map::new();
                object.insert("type".into(), json!("message"));
                put(&mut object, "device", message.device.as_deref());
                put(&mut object, "timestamp", message.timestamp.as_deref());
                put(&mut object, "message", message.message.as_deref());
                let text = to_text(object);
                self.remember(message.message.as_deref(), &text);
                Some(text)
            }
            _ => None,
        }
    }

    fn remember(&mut self, message: Option<&str>, text: &Text) {
        if message.is_some_and(|m| !m.is_empty()) {
            if self.messages.len() == MESSAGES_KEPT {
                self.messages.pop_front();
            }
            self.messages.push_back(text.clone());
        }
    }

    /// An update: merged into the stored definition; undefined vectors are ignored.
    fn set(&mut self, set: &SetVector) -> Option<Map<String, Value>> {
        let key = (set.device.clone(), set.name.clone());
        let stored = self.vectors.get(&key)?;
        if stored.get("kind").and_then(Value::as_str) != Some(kind_word(set.kind)) {
            return None;
        }
        let mut update = Map::new();
        update.insert("type".into(), json!("set"));
        update.insert("kind".into(), json!(kind_word(set.kind)));
        update.insert("device".into(), json!(set.device));
        update.insert("name".into(), json!(set.name));
        put(&mut update, "state", set.state.map(|s| s.as_str()));
        put(&mut update, "timeout", set.timeout.as_deref());
        put(&mut update, "timestamp", set.timestamp.as_deref());
        put(&mut update, "message", set.message.as_deref());
        let mut members = Vec::new();
        for one in &set.members {
            let mut member = Map::new();
            member.insert("name".into(), json!(one.name));
            match (&one.value, set.kind) {
                (OneValue::Blob(blob), _) => {
                    let (slot, seq) = self.store_blob(&set.device, &set.name, &one.name, blob.format.clone(), &blob.data);
                    member.insert("format".into(), json!(blob.format));
                    member.insert("size".into(), json!(blob.size));
                    member.insert("url".into(), json!(format!("/blob/{slot}/{seq}")));
                }
                (OneValue::Text(wire), VectorKind::Number) => {
                    let format = self.member(&key, &one.name).and_then(|m| m.get("format")).and_then(Value::as_str).map(str::to_owned);
                    number_fields(&mut member, wire, format.as_deref());
                }
                (OneValue::Text(text), _) => {
                    member.insert("value".into(), json!(text.trim()));
                }
            }
            members.push(member);
        }
        let stored = self.vectors.get_mut(&key).expect("checked above");
        for field in ["state", "timeout", "timestamp", "message"] {
            if let Some(value) = update.get(field) {
                stored.insert(field.into(), value.clone());
            }
        }
        if let Some(Value::Array(known)) = stored.get_mut("members") {
            for member in &members {
                if let Some(Value::Object(known)) = known.iter_mut().find(|k| k["name"] == member["name"]) {
                    known.extend(member.iter().filter(|(k, _)| *k != "name").map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        if let Some(text) = set.message.as_deref().filter(|m| !m.is_empty()) {
            let mut object = Map::new();
            object.insert("type".into(), json!("message"));
            object.insert("device".into(), json!(set.device));
            put(&mut object, "timestamp", set.timestamp.as_deref());
            object.insert("message".into(), json!(text));
            let text = to_text(object);
            self.remember(Some("x"), &text);
        }
        update.insert("members".into(), Value::Array(members.into_iter().map(Value::Object).collect()));
        Some(update)
    }

    fn member(&self, key: &(String, String), name: &str) -> Option<&Map<String, Value>> {
        self.vectors.get(key)?.get("members")?.as_array()?.iter().filter_map(Value::as_object).find(|m| m.get("name").and_then(Value::as_str) == Some(name))
    }

    fn store_blob(&mut self, device: &str, vector: &str, member: &str, format: String, data: &BlobData) -> (usize, u64) {
        let key = (device.to_owned(), vector.to_owned(), member.to_owned());
        let slot = *self.slots.entry(key).or_insert_with(|| {
            self.blobs.push(None);
            self.blobs.len() - 1
        });
        let seq = self.blobs[slot].as_ref().map_or(1, |b| b.seq + 1);
        // Decoded once (by the bridge, or here); the previous frame's buffer is reused when no
        // download holds it, else freed when the last one ends.
        if let Some(old) = self.blobs[slot].replace(Blob { bytes: data.to_raw(), format, seq }) {
            self.recycle(old.bytes);
        }
        (slot, seq)
    }

    fn recycle(&mut self, bytes: Bytes) {
        if let Ok(buffer) = bytes.try_into_mut() {
            if self.spares.len() == SPARES_KEPT {
                // Keep the larger ones: frames of one camera are the same size.
                self.spares.sort_by_key(BytesMut::capacity);
                self.spares.remove(0);
            }
            self.spares.push(buffer);
        }
    }

    /// A buffer of at least `len` bytes to decode a BLOB into: a replaced frame's if one is
    /// large enough (and not so large that a small BLOB would hold it), else a new one.
    pub fn buffer(&mut self, len: usize) -> BytesMut {
        let fits = |b: &BytesMut| b.capacity() >= len && b.capacity() <= len.saturating_mul(2).max(64 << 10);
        match self.spares.iter().position(fits) {
            Some(i) => {
                let mut buffer = self.spares.swap_remove(i);
                buffer.clear();
                buffer
            }
            None => BytesMut::with_capacity(len),
        }
    }

    /// The latest bytes of a BLOB slot.
    pub fn blob(&self, slot: usize) -> Option<Blob> {
        self.blobs.get(slot)?.clone()
    }

    /// Whether `(device, vector)` is defined and a browser may set it.
    pub fn writable(&self, device: &str, vector: &str) -> Result<(), String> {
        let Some(stored) = self.vectors.get(&(device.to_owned(), vector.to_owned())) else {
            return Err(format!("no property {device}.{vector}"));
        };
        match stored.get("perm").and_then(Value::as_str) {
            Some("ro") | None => Err(format!("{device}.{vector} is read-only")),
            _ => Ok(()),
        }
    }

    /// What a browser that joins is sent first: every vector, then the recent messages.
    pub fn snapshot(&self) -> Vec<Text> {
        let vectors = self.vectors.values().map(|object| to_text(object.clone()));
        vectors.chain(self.messages.iter().cloned()).collect()
    }
}

fn put(object: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        object.insert(key.into(), json!(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(xml: &str) -> Element {
        indi_codec::parse_element(Bytes::copy_from_slice(xml.as_bytes())).unwrap()
    }

    #[test]
    fn updates_are_merged_and_blobs_kept_decoded_latest_first() {
        let mut model = Model::default();
        model.apply(&element("<defBLOBVector device='C' name='CCD1' state='Idle' perm='ro'><defBLOB name='CCD1'/></defBLOBVector>"));
        let first = model
            .apply(&element("<setBLOBVector device='C' name='CCD1' state='Ok'><oneBLOB name='CCD1' size='3' format='.fits'>YWJj</oneBLOB></setBLOBVector>"))
            .unwrap();
        assert!(first.contains("\"url\":\"/blob/0/1\""), "{first}");
        model.apply(&element("<setBLOBVector device='C' name='CCD1'><oneBLOB name='CCD1' size='3' format='.fits'>eHl6</oneBLOB></setBLOBVector>"));
        let blob = model.blob(0).unwrap();
        assert_eq!((&blob.bytes[..], blob.seq), (&b"xyz"[..], 2));
        let snapshot = model.snapshot();
        assert!(snapshot[0].contains("\"state\":\"Ok\"") && snapshot[0].contains("/blob/0/2"), "{}", snapshot[0]);
        assert!(model.writable("C", "CCD1").unwrap_err().contains("read-only"));
        model.apply(&element("<delProperty device='C'/>"));
        assert!(model.snapshot().is_empty());
    }

    #[test]
    fn a_replaced_frame_no_download_holds_is_decoded_into_again() {
        let mut model = Model::default();
        model.apply(&element("<defBLOBVector device='C' name='V' state='Idle' perm='ro'><defBLOB name='A'/></defBLOBVector>"));
        let set = |model: &mut Model| {
            let xml = b"<setBLOBVector device='C' name='V'><oneBLOB name='A' size='3' format='.x'>YWJj</oneBLOB></setBLOBVector>";
            let element = crate::blobs::read_set_blob(xml, |len| model.buffer(len.max(4096))).unwrap();
            model.apply(&element);
            model.blob(0).unwrap().bytes
        };
        let first = set(&mut model).as_ptr();
        let held = set(&mut model); // a download still holds the second frame
        assert_ne!(held.as_ptr(), first);
        assert_eq!(set(&mut model).as_ptr(), first, "the first frame's buffer is reused");
        let fourth = set(&mut model);
        assert_ne!(fourth.as_ptr(), held.as_ptr(), "a frame held by a download is not reused");
        assert_eq!(&fourth[..], b"abc");
        // A spare far larger than asked for is not held by a small BLOB.
        model.spares = vec![BytesMut::with_capacity(1 << 20)];
        assert!(model.buffer(10).capacity() < 1 << 20);
        assert_eq!(model.buffer(600 << 10).capacity(), 1 << 20);
    }

    #[test]
    fn number_updates_use_the_definitions_format() {
        let mut model = Model::default();
        model.apply(&element(
            "<defNumberVector device='T' name='EQ' state='Idle' perm='rw'><defNumber name='RA' format='%08.3m'>0</defNumber></defNumberVector>",
        ));
        let update =
            model.apply(&element("<setNumberVector device='T' name='EQ' message='moving'><oneNumber name='RA'>5.5</oneNumber></setNumberVector>")).unwrap();
        assert!(update.contains("\"text\":\"    5:30\""), "{update}");
        assert!(model.snapshot().iter().any(|m| m.contains("moving") && m.contains("\"type\":\"message\"")));
        assert!(model.apply(&element("<setNumberVector device='T' name='nope'><oneNumber name='RA'>1</oneNumber></setNumberVector>")).is_none());
    }
}
