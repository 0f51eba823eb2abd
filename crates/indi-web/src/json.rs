//! The documented JSON form of INDI elements (docs/web.md) and of what a browser may send.

use indi_codec::{getfloat, DefVector, Element, NewVector, OneMember, OneValue, VectorKind};
use serde_json::{json, Map, Value};

/// `text`, `number`, `switch`, `light` or `blob`.
pub fn kind_word(kind: VectorKind) -> &'static str {
    match kind {
        VectorKind::Text => "text",
        VectorKind::Number => "number",
        VectorKind::Switch => "switch",
        VectorKind::Light => "light",
        VectorKind::Blob => "blob",
    }
}

fn kind_of(word: &str) -> Option<VectorKind> {
    Some(match word {
        "text" => VectorKind::Text,
        "number" => VectorKind::Number,
        "switch" => VectorKind::Switch,
        _ => return None,
    })
}

/// A number member's value: the number, and its text in the driver's format.
pub fn number_fields(member: &mut Map<String, Value>, wire: &str, format: Option<&str>) {
    match getfloat(wire) {
        Ok(value) if value.is_finite() => {
            member.insert("value".into(), json!(value));
            member.insert("text".into(), json!(indi_codec::format_number(format.unwrap_or("%g"), value)));
        }
        _ => {
            member.insert("value".into(), Value::Null);
            member.insert("text".into(), json!(wire));
        }
    }
}

fn put(object: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        object.insert(key.into(), json!(value));
    }
}

/// A definition, with BLOB members empty (their bytes come with updates).
pub fn def_json(def: &DefVector) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("type".into(), json!("def"));
    object.insert("kind".into(), json!(kind_word(def.kind)));
    object.insert("device".into(), json!(def.device));
    object.insert("name".into(), json!(def.name));
    object.insert("label".into(), json!(def.label.as_deref().unwrap_or(&def.name)));
    object.insert("group".into(), json!(def.group.as_deref().unwrap_or("Main")));
    object.insert("state".into(), json!(def.state.as_str()));
    put(&mut object, "perm", def.perm.map(|p| p.as_str()));
    put(&mut object, "rule", def.rule.map(|r| r.as_str()));
    put(&mut object, "timeout", def.timeout.as_deref());
    put(&mut object, "timestamp", def.timestamp.as_deref());
    put(&mut object, "message", def.message.as_deref());
    let members = def
        .members
        .iter()
        .map(|m| {
            let mut member = Map::new();
            member.insert("name".into(), json!(m.name));
            member.insert("label".into(), json!(m.label.as_deref().unwrap_or(&m.name)));
            match (def.kind, &m.number) {
                (VectorKind::Number, Some(range)) => {
                    put(&mut member, "format", range.format.as_deref());
                    for (key, text) in [("min", &range.min), ("max", &range.max), ("step", &range.step)] {
                        if let Some(value) = text.as_deref().and_then(|t| getfloat(t).ok()).filter(|v| v.is_finite()) {
                            member.insert(key.into(), json!(value));
                        }
                    }
                    number_fields(&mut member, &m.value, range.format.as_deref());
                }
                (VectorKind::Number, None) => number_fields(&mut member, &m.value, None),
                (VectorKind::Blob, _) => {}
                _ => {
                    member.insert("value".into(), json!(m.value.trim()));
                }
            }
            Value::Object(member)
        })
        .collect();
    object.insert("members".into(), Value::Array(members));
    object
}

/// Why a browser's request was refused (sent back as `{"type":"error"}`).
#[derive(Debug, PartialEq)]
pub struct Refused(pub String);

fn field<'a>(object: &'a Map<String, Value>, key: &str, max: usize) -> Result<&'a str, Refused> {
    let text = object.get(key).and_then(Value::as_str).ok_or_else(|| Refused(format!("'{key}' must be a string")))?;
    if text.is_empty() || text.len() > max {
        return Err(Refused(format!("'{key}' must be 1 to {max} bytes")));
    }
    Ok(text)
}

/// Most members in one request, and longest text value.
const MAX_MEMBERS: usize = 1024;
const MAX_TEXT: usize = 64 * 1024;

/// Reads a browser's `{"type":"new",...}` request into a `new*Vector` (numbers may be
/// sexagesimal text, as libindi's clients accept them).
pub fn parse_new(text: &str) -> Result<NewVector, Refused> {
    let value: Value = serde_json::from_str(text).map_err(|e| Refused(format!("malformed JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| Refused("a request must be a JSON object".into()))?;
    if object.get("type").and_then(Value::as_str) != Some("new") {
        return Err(Refused("unknown request type (expected \"new\")".into()));
    }
    let kind = kind_of(field(object, "kind", 16)?).ok_or_else(|| Refused("'kind' must be text, number or switch".into()))?;
    let device = field(object, "device", 256)?.to_owned();
    let name = field(object, "name", 256)?.to_owned();
    let members = object.get("members").and_then(Value::as_array).ok_or_else(|| Refused("'members' must be an array".into()))?;
    if members.is_empty() || members.len() > MAX_MEMBERS {
        return Err(Refused(format!("'members' must hold 1 to {MAX_MEMBERS} members")));
    }
    let members = members
        .iter()
        .map(|member| {
            let member = member.as_object().ok_or_else(|| Refused("a member must be an object".into()))?;
            let name = field(member, "name", 256)?;
            let value = match member.get("value") {
                Some(Value::String(text)) if text.len() <= MAX_TEXT => text.clone(),
                Some(Value::Number(number)) => number.to_string(),
                _ => return Err(Refused(format!("member {name}: 'value' must be a string of at most {MAX_TEXT} bytes or a number"))),
            };
            let value = match kind {
                VectorKind::Number => {
                    let number = getfloat(&value).ok().filter(|v| v.is_finite()).ok_or_else(|| Refused(format!("member {name}: '{value}' is not a number")))?;
                    indi_codec::wire_number(number)
                }
                VectorKind::Switch if value != "On" && value != "Off" => return Err(Refused(format!("member {name}: a switch is On or Off"))),
                _ => value,
            };
            Ok(OneMember { name: name.to_owned(), value: OneValue::Text(value), range: None })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewVector { kind, device, name, timestamp: None, members })
}

/// Serializes an element's JSON form once, to share between browsers.
pub fn to_text(object: Map<String, Value>) -> Text {
    Text::from(Value::Object(object).to_string())
}

/// A JSON message as sent on every browser's WebSocket (cloning it shares the bytes).
pub type Text = tokio_tungstenite::tungstenite::Utf8Bytes;

/// Whether an element concerns browsers at all.
pub fn shown(element: &Element) -> bool {
    matches!(element, Element::Def(_) | Element::Set(_) | Element::DelProperty(_) | Element::Message(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_sexagesimal_numbers_becomes_a_new_vector() {
        let new = parse_new(r#"{"type":"new","kind":"number","device":"Telescope Simulator","name":"EQUATORIAL_EOD_COORD","members":[{"name":"RA","value":"5:30:00"},{"name":"DEC","value":-12.5}]}"#).unwrap();
        assert_eq!(new.kind, VectorKind::Number);
        assert_eq!(new.members[0].text_value(), Some("5.5"));
        assert_eq!(new.members[1].text_value(), Some("-12.5"));
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let cases = [
            ("{", "malformed JSON"),
            ("[]", "JSON object"),
            (r#"{"type":"del"}"#, "unknown request type"),
            (r#"{"type":"new","kind":"light","device":"d","name":"n","members":[]}"#, "'kind'"),
            (r#"{"type":"new","kind":"number","device":"d","name":"n","members":[{"name":"a","value":"abc"}]}"#, "not a number"),
            (r#"{"type":"new","kind":"switch","device":"d","name":"n","members":[{"name":"a","value":"Maybe"}]}"#, "On or Off"),
            (r#"{"type":"new","kind":"text","device":"","name":"n","members":[{"name":"a","value":"x"}]}"#, "'device'"),
            (r#"{"type":"new","kind":"text","device":"d","name":"n","members":[]}"#, "'members'"),
        ];
        for (text, reason) in cases {
            let Refused(message) = parse_new(text).unwrap_err();
            assert!(message.contains(reason), "{text}: {message}");
        }
    }

    #[test]
    fn definitions_carry_the_drivers_format_and_limits() {
        let Element::Def(def) = indi_codec::parse_element(bytes::Bytes::from_static(
            b"<defNumberVector device='T' name='EQ' state='Idle' perm='rw' group='Main'><defNumber name='RA' format='%010.6m' min='0' max='24' step='0'>5.5</defNumber></defNumberVector>",
        ))
        .unwrap() else {
            panic!()
        };
        let json = Value::Object(def_json(&def));
        assert_eq!(json["members"][0]["text"], "   5:30:00");
        assert_eq!(json["members"][0]["max"], 24.0);
        assert_eq!(json["perm"], "rw");
    }
}
