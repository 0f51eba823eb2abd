//! The decoder never panics or hangs on any input, and encode→decode is the identity on
//! everything the element types can hold.

use bytes::{Bytes, BytesMut};
use indi_codec::*;
use proptest::prelude::*;
use std::path::PathBuf;
use tokio_util::codec::Decoder;

/// Decodes with every read cut into `chunk`-byte pieces.
fn decode_chunked(input: &[u8], chunk: usize) -> Vec<Result<Element, DecodeError>> {
    let mut codec = IndiCodec::new(Limits { max_element: 4096, max_tag: 512, max_depth: 4 });
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            items.push(item);
        }
        assert!(buf.len() <= 4096 + piece.len() + 16, "decoder holds {} bytes", buf.len());
    }
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        items.push(item);
    }
    items
}

/// Junk is reported once per run with a sample of what was buffered, which depends on the
/// read sizes; everything else must not.
fn without_samples(items: Vec<Result<Element, DecodeError>>) -> Vec<Result<Element, DecodeError>> {
    items
        .into_iter()
        .map(|item| match item {
            Err(DecodeError::Junk { .. }) => Err(DecodeError::Junk { sample: String::new() }),
            other => other,
        })
        .collect()
}

/// Texts with markup characters, quotes, whitespace at the ends, and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9 <>&\"'=/:.é☆_-]{0,24}").unwrap().prop_map(|s| s.trim_matches(' ').to_owned())
}

/// An optional text: empty attributes read as absent (libindi's rule), so never `Some("")`.
fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text()).prop_map(|text| text.filter(|t| !t.is_empty()))
}

fn name() -> impl Strategy<Value = String> {
    prop::string::string_regex("[A-Za-z_][A-Za-z0-9_ .-]{0,15}").unwrap()
}

fn kind() -> impl Strategy<Value = VectorKind> {
    prop::sample::select(VectorKind::ALL.to_vec())
}

fn state() -> impl Strategy<Value = PropertyState> {
    prop::sample::select(vec![PropertyState::Idle, PropertyState::Ok, PropertyState::Busy, PropertyState::Alert])
}

fn one_member(kind: VectorKind) -> impl Strategy<Value = OneMember> {
    (name(), text(), prop::collection::vec(any::<u8>(), 0..200), opt_text()).prop_map(move |(name, value, raw, min)| {
        let value = if kind == VectorKind::Blob {
            let data = BlobData::Base64(blob::encode(&raw));
            OneValue::Blob(BlobValue { size: raw.len() as u64, format: ".bin".into(), data, enclen: None })
        } else {
            OneValue::Text(value)
        };
        let range = (kind == VectorKind::Number).then_some(min).flatten().map(|min| NumberRange { min: Some(min), ..Default::default() });
        OneMember { name, value, range }
    })
}

fn element() -> impl Strategy<Value = Element> {
    let def =
        (kind(), name(), name(), opt_text(), state(), prop::collection::vec((name(), text()), 0..4)).prop_map(|(kind, device, name, label, state, members)| {
            Element::Def(DefVector {
                kind,
                device,
                name,
                label: label.clone(),
                group: label.clone(),
                state,
                perm: (kind != VectorKind::Light).then_some(Perm::Rw),
                rule: (kind == VectorKind::Switch).then_some(SwitchRule::AnyOfMany),
                timeout: Some("0".into()),
                timestamp: Some("2026-11-23T15:00:00.5".into()),
                message: label,
                members: members
                    .into_iter()
                    .map(|(name, value)| DefMember {
                        name,
                        label: Some(value.clone()).filter(|l| !l.is_empty()),
                        value: if kind == VectorKind::Blob { String::new() } else { value },
                        number: (kind == VectorKind::Number).then(|| NumberRange {
                            format: Some("%5.2f".into()),
                            min: Some("-1".into()),
                            max: Some("1e3".into()),
                            step: Some("0".into()),
                        }),
                    })
                    .collect(),
            })
        });
    let set = kind().prop_flat_map(|kind| {
        (name(), name(), prop::option::of(state()), opt_text(), prop::collection::vec(one_member(kind), 0..3)).prop_map(
            move |(device, name, state, message, members)| {
                Element::Set(SetVector { kind, device, name, state, timeout: None, timestamp: None, message, members })
            },
        )
    });
    let new = prop::sample::select(vec![VectorKind::Text, VectorKind::Number, VectorKind::Switch, VectorKind::Blob]).prop_flat_map(|kind| {
        (name(), name(), prop::collection::vec(one_member(kind), 0..3))
            .prop_map(move |(device, name, members)| Element::New(NewVector { kind, device, name, timestamp: Some("2026-11-23T15:00:00".into()), members }))
    });
    let small = prop_oneof![
        (prop::option::of(name()), opt_text()).prop_map(|(device, message)| Element::Message(Message { device, timestamp: None, message })),
        (name(), prop::option::of(name())).prop_map(|(device, name)| Element::DelProperty(DelProperty { device, name, timestamp: None, message: None })),
        (prop::option::of(name()), prop::option::of(name())).prop_map(|(device, name)| Element::GetProperties(GetProperties {
            version: Some("1.7".into()),
            device,
            name
        })),
        (prop::option::of(name()), prop::sample::select(vec![BlobEnable::Never, BlobEnable::Also, BlobEnable::Only]))
            .prop_map(|(device, mode)| Element::EnableBlob(EnableBlob { device, name: None, mode: Some(mode) })),
        text().prop_map(Element::PingRequest),
    ];
    prop_oneof![def, set, new, small]
}

/// 2000 cases per property in CI; `PROPTEST_CASES=200000` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(elements in prop::collection::vec(element(), 1..5), chunk in 1usize..64) {
        let mut out = BytesMut::new();
        for element in &elements {
            encode_element(element, &mut out);
        }
        let decoded: Vec<_> = decode_chunked(&out, chunk);
        prop_assert_eq!(decoded, elements.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..700) {
        let whole = without_samples(decode_chunked(&input, input.len()));
        prop_assert_eq!(without_samples(decode_chunked(&input, chunk)), whole);
    }

    #[test]
    fn markup_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "<", ">", "/>", "</", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "'", "\"", "=", "&amp;", "&#", ";",
        "oneText", "setTextVector", "device", "name", "x", " ", "\n", "<setTextVector device='d' name='n'>",
        "<oneText name='m'>", "</oneText>", "</setTextVector>", "<oneBLOB name='b' size='1' format=''>", "QQ==",
    ]), 0..80), chunk in 1usize..50) {
        let input = parts.concat();
        let whole = without_samples(decode_chunked(input.as_bytes(), input.len()));
        prop_assert_eq!(without_samples(decode_chunked(input.as_bytes(), chunk)), whole);
    }
}

/// xorshift64*: a dependency-free, reproducible stream of mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One million mutants of the real captures (bit flips, markup bytes, deletions, duplications)
/// through the decoder: no panic, nothing left buffered beyond the limit.
#[test]
fn a_million_mutated_samples_never_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut seeds: Vec<Bytes> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        // Mutate element-sized windows so each case stays small and the count stays high.
        for window in data.chunks(600) {
            seeds.push(Bytes::copy_from_slice(window));
        }
    }
    let markup = b"<>/=\"'&;!?-[]\n \xff\xc3";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut elements = 0usize;
    let mut codec = IndiCodec::new(Limits { max_element: 4096, max_tag: 512, max_depth: 4 });
    for _ in 0..1_000_000 {
        let mut input = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(input.len());
            match rng.below(4) {
                0 if !input.is_empty() => input[at] ^= 1 << rng.below(8),
                1 => input.insert(at, markup[rng.below(markup.len())]),
                2 if !input.is_empty() => {
                    let end = (at + rng.below(40)).min(input.len());
                    input.drain(at..end);
                }
                _ => {
                    let end = (at + rng.below(40)).min(input.len());
                    let copy = input[at..end].to_vec();
                    input.splice(at..at, copy);
                }
            }
        }
        let mut buf = BytesMut::from(&input[..]);
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            elements += usize::from(item.is_ok());
        }
        assert!(buf.is_empty());
    }
    // The 600-byte windows cut most elements, yet about a quarter of the mutants still yield a
    // complete element: the decoder resynchronises after damage instead of giving up.
    assert!(elements > 200_000, "only {elements} elements decoded");
}

/// Where both the relay's quick check (`parse_head`) and the full parser accept an element,
/// they read the same kind, device and property; with `strict`, the quick check must accept
/// everything the full parser accepts (true of well-formed input such as our own output).
fn heads_agree(input: &[u8], strict: bool) {
    let mut codec = IndiCodec::new(Limits { max_element: 4096, max_tag: 512, max_depth: 4 });
    let mut buf = BytesMut::from(input);
    while let Some(frame) = codec.next_frame(&mut buf) {
        let Ok(frame) = frame else { continue };
        if let Ok(element) = parse_element(frame.clone()) {
            let head = match parse_head(&frame) {
                Ok(head) => head,
                Err(_) if !strict => continue,
                Err(e) => panic!("{e} for {}", String::from_utf8_lossy(&frame)),
            };
            assert_eq!(head.tag, Tag::parse(element.tag()).unwrap());
            assert_eq!(head.device.as_deref(), element.device());
            assert_eq!(head.name.as_deref(), element.name());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn head_agrees_with_full_parse_on_generated_elements(elements in prop::collection::vec(element(), 1..5)) {
        let mut out = BytesMut::new();
        for element in &elements {
            encode_element(element, &mut out);
        }
        heads_agree(&out, true);
    }

    #[test]
    fn head_agrees_with_full_parse_on_markup_soup(parts in prop::collection::vec(prop::sample::select(vec![
        "<", ">", "/>", "</", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "'", "\"", "=", "&amp;", "&#", ";", "&#65;",
        "oneText", "setTextVector", "device", "name", "x", " ", "\n", "<setTextVector device='d' name='n'>",
        "<oneText name='m'>", "</oneText>", "</setTextVector>", "<oneBLOB name='b' size='1' format=''>", "QQ==",
    ]), 0..80)) {
        heads_agree(parts.concat().as_bytes(), false);
    }
}

#[test]
fn head_agrees_with_full_parse_on_the_samples() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    for entry in std::fs::read_dir(dir).unwrap() {
        heads_agree(&std::fs::read(entry.unwrap().path()).unwrap(), true);
    }
}

type Checked = Result<(Bytes, Head), DecodeError>;

/// Frames and heads of `input` read in `chunk`-byte pieces: in one pass where `next_checked`
/// can, or always as `next_frame` then `parse_head`.
fn checked_frames(input: &[u8], chunk: usize, one_pass: bool) -> Vec<Checked> {
    let mut codec = IndiCodec::new(Limits { max_element: 4096, max_tag: 512, max_depth: 4 });
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            let item = if one_pass { codec.next_checked(&mut buf) } else { codec.next_checked_in_two_passes(&mut buf) };
            match item {
                Some(item) => items.push(item),
                None => break,
            }
        }
    }
    items
}

/// Frames, heads and counts of `input` read in `chunk`-byte pieces, in runs of up to `max_run`.
fn run_frames(input: &[u8], chunk: usize, max_run: usize) -> Vec<Result<(Bytes, Head, usize), DecodeError>> {
    let mut codec = IndiCodec::new(Limits { max_element: 4096, max_tag: 512, max_depth: 4 });
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.next_checked_run(&mut buf, max_run) {
            items.push(item);
        }
    }
    items
}

/// A run is the frames `next_checked` gives one by one, joined: same bytes, same head.
fn runs_agree(input: &[u8], chunk: usize, max_run: usize) -> usize {
    let singles = checked_frames(input, chunk, true);
    let mut at = 0;
    let mut longest = 0;
    for run in run_frames(input, chunk, max_run) {
        let (raw, head, count) = match run {
            Ok(found) => found,
            Err(error) => {
                assert_eq!(singles.get(at), Some(&Err(error)));
                at += 1;
                continue;
            }
        };
        assert!((1..=max_run).contains(&count), "count {count}");
        let parts: Vec<&(Bytes, Head)> = singles[at..at + count].iter().map(|p| p.as_ref().expect("a run is of elements")).collect();
        assert_eq!(raw, parts.iter().flat_map(|(bytes, _)| bytes.to_vec()).collect::<Vec<u8>>());
        assert!(parts.iter().all(|(_, h)| *h == head), "one head for the whole run");
        assert!(count == 1 || matches!(head.tag, indi_codec::Tag::Set(_)), "only updates run together");
        (at, longest) = (at + count, longest.max(count));
    }
    assert_eq!(at, singles.len(), "{:?}", String::from_utf8_lossy(input));
    longest
}

fn one_pass_agrees(input: &[u8], chunk: usize) {
    let expected = checked_frames(input, chunk, false);
    let got = checked_frames(input, chunk, true);
    assert_eq!(got, expected, "input {:?} in {chunk}-byte reads", String::from_utf8_lossy(input));
    runs_agree(input, chunk, 3);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn one_pass_agrees_on_markup_soup(parts in prop::collection::vec(prop::sample::select(vec![
        "<", ">", "/>", "</", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "<!X>", "<1>", "</1>", "'", "\"", "=", "&amp;", "&#", ";",
        "&#65;", "oneNumber", "setNumberVector", "device", "name", "x", " ", "\n", "\r\n", "é",
        "<setNumberVector device='d' name='n'>", "<setNumberVector device=\"d\" name=\"n\" state=\"Ok\">",
        "<oneNumber name='m'>", "</oneNumber>", "</setNumberVector>", "<a><a><a><a>", "</a></a></a></a>",
        "<message device='d' message='hi'/>", "<getProperties version='1.7'/>",
    ]), 0..60), chunk in 1usize..80) {
        let input = parts.concat();
        one_pass_agrees(input.as_bytes(), chunk);
        one_pass_agrees(input.as_bytes(), input.len());
    }

    #[test]
    fn one_pass_agrees_on_generated_elements(elements in prop::collection::vec(element(), 1..5), chunk in 1usize..400) {
        let mut out = BytesMut::new();
        for element in &elements {
            encode_element(element, &mut out);
        }
        one_pass_agrees(&out, chunk);
        one_pass_agrees(&out, out.len());
    }

    #[test]
    fn one_pass_agrees_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..700) {
        one_pass_agrees(&input, chunk);
    }
}

/// A value or text that may or may not keep an element's shape.
fn filling() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["x", "Bench", "12.5", "", " ", "\n", "'", "\"", "<", ">", "/", "&amp;", "é", "\u{1}", "\t"]), 0..4)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Streams of one vector sent again and again with other values (where the decoder
    /// checks most elements against a shape it has seen), some values spoiling the shape.
    #[test]
    fn one_pass_agrees_on_one_vector_sent_again_and_again(
        fills in prop::collection::vec((filling(), filling(), filling(), filling(), any::<bool>(), any::<bool>()), 1..12),
        chunk in 1usize..300,
    ) {
        let mut input = String::new();
        for (device, property, member, value, two, same_vector) in fills {
            // Mostly one vector (one shape, other values), sometimes others.
            let (device, property) = if same_vector { ("Bench".to_owned(), "NUM".to_owned()) } else { (device, property) };
            input += &format!("<setNumberVector device=\"{device}\" name='{property}' state=\"Ok\">\n  <oneNumber name=\"{member}\">{value}</oneNumber>\n");
            if two {
                input += "  <oneNumber name=\"M\">1</oneNumber>\n";
            }
            input += "</setNumberVector>\n";
        }
        one_pass_agrees(input.as_bytes(), chunk);
        one_pass_agrees(input.as_bytes(), input.len());
        runs_agree(input.as_bytes(), chunk, 3);
        runs_agree(input.as_bytes(), input.len(), 256);
    }
}

#[test]
fn a_burst_of_one_vector_runs_together_up_to_the_limit() {
    let update = |i: usize| format!("<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">{i}</oneNumber></setNumberVector>\n");
    let burst: String = (0..20).map(update).collect();
    assert_eq!(runs_agree(burst.as_bytes(), burst.len(), 8), 8);
    let mixed =
        format!("{}<setNumberVector device=\"Bench\" name=\"OTHER\" state=\"Ok\"><oneNumber name=\"N\">1</oneNumber></setNumberVector>\n{}", burst, update(1));
    let runs: Vec<usize> = run_frames(mixed.as_bytes(), mixed.len(), 256).into_iter().map(|r| r.expect("valid").2).collect();
    // The first is checked afresh (its shape is learned), the rest of the burst runs together.
    assert_eq!(runs, [1, 19, 1, 1]);
}

/// Mutants of the real captures, read whole (where the one-pass path is taken most).
#[test]
fn one_pass_agrees_on_mutated_samples() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        seeds.extend(data.chunks(1500).map(<[u8]>::to_vec));
    }
    let markup = b"<>/=\"'&;!?-[]\n \xff\xc3";
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut one_pass_frames = 0;
    for _ in 0..100_000 {
        let mut input = seeds[rng.below(seeds.len())].clone();
        for _ in 0..rng.below(4) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 if !input.is_empty() => input[at] ^= 1 << rng.below(8),
                1 => input.insert(at, markup[rng.below(markup.len())]),
                _ => {
                    let end = (at + rng.below(40)).min(input.len());
                    input.drain(at..end);
                }
            }
        }
        let expected = checked_frames(&input, input.len(), false);
        assert_eq!(checked_frames(&input, input.len(), true), expected, "input {:?}", String::from_utf8_lossy(&input));
        runs_agree(&input, input.len(), 4);
        one_pass_frames += expected.iter().filter(|f| f.is_ok()).count();
    }
    assert!(one_pass_frames > 50_000, "only {one_pass_frames} frames: the samples should yield many");
}
