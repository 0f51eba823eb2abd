//! What the reader accepts and what the writer emits (spec §3), case by case.

use bytes::BytesMut;
use indi_codec::*;
use tokio_util::codec::Decoder;

fn one(input: &str) -> Result<Element, DecodeError> {
    let mut items = decode_all(input.as_bytes());
    assert_eq!(items.len(), 1, "{input}: {items:?}");
    items.remove(0)
}

fn text_of(input: &str) -> String {
    match one(input).unwrap() {
        Element::New(v) => v.members[0].text_value().unwrap().to_owned(),
        Element::Set(v) => v.members[0].text_value().unwrap().to_owned(),
        other => panic!("{other:?}"),
    }
}

fn new_text(inner: &str) -> String {
    format!("<newTextVector device=\"D\" name=\"T\"><oneText name=\"X\">{inner}</oneText></newTextVector>")
}

#[test]
fn entities_numeric_references_and_utf8() {
    assert_eq!(text_of(&new_text("a &lt; b &amp; c &gt; d &quot;q&quot; &apos;s&apos;")), "a < b & c > d \"q\" 's'");
    assert_eq!(text_of(&new_text("A&#66;C&#x44;")), "ABCD");
    assert_eq!(text_of(&new_text("Messier 42 éè ☆")), "Messier 42 éè ☆");
    assert!(matches!(one(&new_text("&bogus;")), Err(DecodeError::Malformed { .. })));
}

#[test]
fn tabs_and_line_breaks_in_attributes_survive_a_relay() {
    // Found by the decode fuzz target: written raw, they came back as spaces.
    let message = one("<message device='D' message='a&#9;b&#10;c&#13;d'/>").unwrap();
    assert!(matches!(&message, Element::Message(m) if m.message.as_deref() == Some("a\tb\nc\rd")));
    let bytes = to_bytes(&message);
    assert_eq!(&bytes[..], b"<message device=\"D\" message=\"a&#9;b&#10;c&#13;d\"/>\n");
    assert_eq!(one(std::str::from_utf8(&bytes).unwrap()).unwrap(), message);
}

#[test]
fn characters_xml_cannot_carry_are_dropped_on_reading_as_on_writing() {
    // Found by the decode fuzz target: a relay dropped them, exposing whitespace to trimming.
    assert_eq!(text_of(&new_text("a\n&#1;")), "a");
    assert_eq!(text_of(&new_text("&#xFFFE;b\u{1}c")), "bc");
    let message = one("<message message='x&#2;y'/>").unwrap();
    assert!(matches!(&message, Element::Message(m) if m.message.as_deref() == Some("xy")));
}

#[test]
fn pcdata_is_trimmed_and_markup_inside_is_tolerated() {
    assert_eq!(text_of(&new_text("   two  spaces inside   ")), "two  spaces inside");
    assert_eq!(text_of(&new_text("\n  line one\nline two\n  ")), "line one\nline two");
    assert_eq!(text_of(&new_text("<![CDATA[x<y]]>")), "x<y");
    assert_eq!(text_of(&new_text("a>b")), "a>b");
    assert_eq!(text_of(&new_text("v<!-- c -->w")), "vw");
    assert_eq!(text_of(&new_text("")), "");
    assert_eq!(text_of("<newTextVector device='D' name='T'><oneText name='X'/></newTextVector>"), "");
}

#[test]
fn declarations_comments_and_whitespace_between_elements_are_skipped() {
    let input = "<?xml version='1.0'?>\n<!-- hello -->\n  <pingRequest uid='1'/>\n\n<?xml version='1.0'?><pingReply uid=\"2\"/>";
    let items = decode_all(input.as_bytes());
    assert_eq!(items, vec![Ok(Element::PingRequest("1".into())), Ok(Element::PingReply("2".into()))]);
}

#[test]
fn greater_than_inside_attributes_does_not_end_a_tag() {
    let msg = one("<message device='D' message='a>b /> c'/>").unwrap();
    assert_eq!(msg, Element::Message(Message { device: Some("D".into()), timestamp: None, message: Some("a>b /> c".into()) }));
}

#[test]
fn unknown_and_malformed_elements_are_values_and_the_stream_goes_on() {
    let input = b"<fooBar device='D'/><newLightVector device='D' name='L'/><setNumberVector device='D'/>\
                  <defSwitchVector device='D' name='S' state='Weird' perm='rw' rule='AnyOfMany'/>\
                  <pingRequest uid='ok'/>";
    let items = decode_all(input);
    assert_eq!(items.len(), 5);
    assert!(matches!(&items[0], Err(DecodeError::Unknown { tag }) if tag == "fooBar"));
    assert!(matches!(&items[1], Err(DecodeError::Unknown { tag }) if tag == "newLightVector"));
    assert!(matches!(&items[2], Err(DecodeError::Malformed { reason, .. }) if reason.contains("name")));
    assert!(matches!(&items[3], Err(DecodeError::Malformed { reason, .. }) if reason.contains("state")));
    assert_eq!(items[4], Ok(Element::PingRequest("ok".into())));
}

#[test]
fn junk_invalid_utf8_and_stray_tags_are_reported_once_and_skipped() {
    let mut input = b"garbage \x00\x01 <".to_vec();
    input.extend_from_slice(b"1></x>");
    input.extend_from_slice(b"<message message='\xff\xfe'/>");
    input.extend_from_slice(b"<pingRequest uid='after'/>");
    let items = decode_all(&input);
    assert!(matches!(items[0], Err(DecodeError::Junk { .. })), "{items:?}");
    assert!(items.iter().any(|i| matches!(i, Err(DecodeError::Malformed { reason, .. }) if reason.contains("UTF-8"))));
    assert_eq!(items.last(), Some(&Ok(Element::PingRequest("after".into()))));
}

#[test]
fn limits_close_elements_without_buffering_them() {
    let limits = Limits { max_element: 1000, max_tag: 100, max_depth: 3 };
    let mut codec = IndiCodec::new(limits);
    let mut buf = BytesMut::new();
    // An over-long BLOB element: one error, its bytes dropped as they come, then the stream goes on.
    buf.extend_from_slice(b"<setBLOBVector device='D' name='B'><oneBLOB name='b' size='3' format=''>");
    let mut errors = Vec::new();
    for _ in 0..100 {
        buf.extend_from_slice(&[b'A'; 400]);
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            errors.push(item);
        }
        assert!(buf.len() < 2000, "buffered {} bytes", buf.len());
    }
    buf.extend_from_slice(b"</oneBLOB></setBLOBVector><pingRequest uid='next'/>");
    while let Some(item) = codec.decode(&mut buf).unwrap() {
        errors.push(item);
    }
    assert_eq!(errors, vec![Err(DecodeError::TooLarge { limit: 1000 }), Ok(Element::PingRequest("next".into()))]);

    let huge_attr = format!("<message message='{}'/><pingRequest uid='x'/>", "z".repeat(500));
    let items: Vec<_> = {
        let mut codec = IndiCodec::new(limits);
        let mut buf = BytesMut::from(huge_attr.as_bytes());
        std::iter::from_fn(|| codec.decode(&mut buf).unwrap()).collect()
    };
    assert_eq!(items, vec![Err(DecodeError::TagTooLong { limit: 100 }), Ok(Element::PingRequest("x".into()))]);

    let deep = "<a><b><c><d><e></e></d></c></b></a><pingRequest uid='y'/>";
    let items: Vec<_> = {
        let mut codec = IndiCodec::new(limits);
        let mut buf = BytesMut::from(deep.as_bytes());
        std::iter::from_fn(|| codec.decode(&mut buf).unwrap()).collect()
    };
    assert_eq!(items, vec![Err(DecodeError::TooDeep { limit: 3 }), Ok(Element::PingRequest("y".into()))]);
}

#[test]
fn truncated_stream_is_reported_at_eof() {
    let items = decode_all(b"<pingRequest uid='1'/><setNumberVector device='D' name='N'><oneNum");
    assert_eq!(items, vec![Ok(Element::PingRequest("1".into())), Err(DecodeError::Truncated)]);
}

#[test]
fn blob_base64_with_any_whitespace_decodes() {
    let raw: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let text = blob::encode(&raw);
    let broken: Vec<u8> = text.chunks(72).flat_map(|c| c.iter().copied().chain(*b"\r\n")).collect();
    let input = format!(
        "<newBLOBVector device='D' name='B'><oneBLOB name='b' size='1000' format='.bin' enclen='1336'>\n{}\n</oneBLOB></newBLOBVector>",
        String::from_utf8(broken).unwrap()
    );
    let Ok(Element::New(v)) = one(&input) else { panic!() };
    let OneValue::Blob(b) = &v.members[0].value else { panic!() };
    assert_eq!(b.data.to_raw(), raw);
    assert_eq!(b.size, 1000);
}

#[test]
fn blob_enclen_is_relayed_when_sent_and_never_added() {
    // indiserver 1.9.9 keeps a driver's enclen (libindi's integs ForwardBase64BlobToIPClient) and adds none.
    let with = one(
        "<setBLOBVector device='D' name='B'><oneBLOB name='c' size='20' format='.fits' enclen='29'>\nMDEyMzQ1Njc4OTAxMjM0NTY3ODkK\n</oneBLOB></setBLOBVector>",
    )
    .unwrap();
    let bytes = to_bytes(&with);
    assert!(std::str::from_utf8(&bytes).unwrap().contains("<oneBLOB name=\"c\" size=\"20\" format=\".fits\" enclen=\"29\">MDEy"), "{bytes:?}");
    let without = one("<setBLOBVector device='D' name='B'><oneBLOB name='c' size='3' format='.x'>QUJD</oneBLOB></setBLOBVector>").unwrap();
    assert!(!std::str::from_utf8(&to_bytes(&without)).unwrap().contains("enclen"));
}

#[test]
fn writer_output_is_the_documented_form() {
    let element = Element::Set(SetVector {
        kind: VectorKind::Switch,
        device: "led".into(),
        name: "ledvector".into(),
        state: Some(PropertyState::Ok),
        timeout: Some("0".into()),
        timestamp: Some("2026-11-23T15:00:00".into()),
        message: Some("a \"quoted\" <msg> & 'more'\u{1}".into()),
        members: vec![OneMember::text("ledmember", "On")],
    });
    assert_eq!(
        std::str::from_utf8(&to_bytes(&element)).unwrap(),
        "<setSwitchVector device=\"led\" name=\"ledvector\" state=\"Ok\" timeout=\"0\" timestamp=\"2026-11-23T15:00:00\" \
         message=\"a &quot;quoted&quot; &lt;msg&gt; &amp; 'more'\"><oneSwitch name=\"ledmember\">On</oneSwitch></setSwitchVector>\n"
    );
    let blob = Element::Set(SetVector {
        kind: VectorKind::Blob,
        device: "cam".into(),
        name: "img".into(),
        state: None,
        timeout: None,
        timestamp: None,
        message: None,
        members: vec![OneMember {
            name: "frame".into(),
            value: OneValue::Blob(BlobValue { size: 3, format: ".bin".into(), data: BlobData::Raw(b"abc"[..].into()), enclen: None }),
            range: None,
        }],
    });
    assert_eq!(
        std::str::from_utf8(&to_bytes(&blob)).unwrap(),
        "<setBLOBVector device=\"cam\" name=\"img\"><oneBLOB name=\"frame\" size=\"3\" format=\".bin\">YWJj</oneBLOB></setBLOBVector>\n"
    );
    let empty = Element::Set(SetVector {
        members: vec![],
        ..match blob {
            Element::Set(v) => v,
            _ => unreachable!(),
        }
    });
    assert_eq!(std::str::from_utf8(&to_bytes(&empty)).unwrap(), "<setBLOBVector device=\"cam\" name=\"img\"/>\n");
}

#[test]
fn empty_attributes_are_absent_as_libindi_reads_them() {
    // libindi's BaseClient::setBLOBMode(B_ALSO, "CCD Simulator", "") writes name="".
    let Element::EnableBlob(enable) = one(r#"<enableBLOB device="CCD Simulator" name="">Also</enableBLOB>"#).unwrap() else { panic!() };
    assert_eq!((enable.device.as_deref(), enable.name, enable.mode), (Some("CCD Simulator"), None, Some(BlobEnable::Also)));
    let Element::EnableBlob(enable) = one(r#"<enableBLOB device="">Only</enableBLOB>"#).unwrap() else { panic!() };
    assert_eq!((enable.device, enable.name), (None, None));
    let Element::GetProperties(get) = one(r#"<getProperties version="1.7" device=""/>"#).unwrap() else { panic!() };
    assert_eq!((get.version.as_deref(), get.device, get.name), (Some("1.7"), None, None));
    let Element::Message(message) = one(r#"<message device="" timestamp="" message="hi"/>"#).unwrap() else { panic!() };
    assert_eq!((message.device, message.timestamp, message.message.as_deref()), (None, None, Some("hi")));
    // The routing head reads them the same way, on the fast path and the general one.
    for input in
        [&b"<enableBLOB device='CCD Simulator' name=''>Also</enableBLOB>"[..], b"<enableBLOB device='CCD Simulator' name=''>Also<!-- slow --></enableBLOB>"]
    {
        let head = parse_head(&bytes::Bytes::copy_from_slice(input)).unwrap();
        assert_eq!((head.device.as_deref(), head.name.as_deref()), (Some("CCD Simulator"), None));
    }
    // A vector's device and name are required: empty ones are missing.
    assert!(one(r#"<newNumberVector device="" name="X"><oneNumber name="N">1</oneNumber></newNumberVector>"#).is_err());
    assert!(one(r#"<setNumberVector device="D" name="" state="Ok"><oneNumber name="N">1</oneNumber></setNumberVector>"#).is_err());
}
