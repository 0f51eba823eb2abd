//! The checks behind the fuzz targets (kept in a library so a crash input replays anywhere).
//!
//! - [`decode`]: any bytes, cut into reads of any size, decode to the same results, never hold
//!   more than the element limit, every decoded element, once encoded, reads back as itself,
//!   and the relay's one-pass frame-and-check agrees with framing then checking.
//! - [`route`]: elements decoded from the input, sent by clients and drivers chosen by a small
//!   script (with connections coming and going), keep the routing invariants of spec §4.

use bytes::BytesMut;
use indi_codec::{DecodeError, Element, IndiCodec, Limits};
use indi_hub::frame::Frame;
use indi_hub::router::{EndpointId, Router};
use std::collections::HashSet;
use tokio_util::codec::Decoder;

/// Small limits, so the fuzzer reaches them with small inputs.
pub const LIMITS: Limits = Limits { max_element: 8 << 10, max_tag: 1 << 10, max_depth: 4 };

/// Decodes `input` handed over in `chunk`-byte reads, checking the buffer stays bounded.
pub fn decode_chunked(input: &[u8], chunk: usize) -> Vec<Result<Element, DecodeError>> {
    let mut codec = IndiCodec::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).expect("decoding never fails with an I/O error") {
            items.push(item);
        }
        assert!(buf.len() <= LIMITS.max_element + piece.len() + 16, "decoder holds {} bytes", buf.len());
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("decoding never fails with an I/O error") {
        items.push(item);
    }
    assert!(buf.is_empty(), "bytes left after end of stream");
    items
}

/// Junk samples show what was buffered, which depends on read sizes; nothing else may.
fn without_samples(items: &[Result<Element, DecodeError>]) -> Vec<Result<Element, DecodeError>> {
    items
        .iter()
        .map(|item| match item {
            Err(DecodeError::Junk { .. }) => Err(DecodeError::Junk { sample: String::new() }),
            other => other.clone(),
        })
        .collect()
}

/// First byte: read size (1 to 4081 bytes); the rest: the stream.
pub fn decode(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else { return };
    let chunk = 1 + first as usize * 16;
    let whole = decode_chunked(input, input.len());
    assert_eq!(without_samples(&decode_chunked(input, chunk)), without_samples(&whole), "results depend on read size {chunk}");
    // What we write, we read back as itself: encoding a decoded element is a fixed point (the
    // encoder drops characters XML cannot carry, so the first encoding may differ from the input).
    for element in whole.iter().flatten() {
        let bytes = indi_codec::to_bytes(element);
        let again = indi_codec::decode_all(&bytes);
        let [Ok(again)] = &again[..] else { panic!("{:?} decoded as {again:?}", String::from_utf8_lossy(&bytes)) };
        assert_eq!(indi_codec::to_bytes(again), bytes, "encode → decode → encode changed {:?}", String::from_utf8_lossy(&bytes));
        // The relay's quick check accepts everything we write, and reads the same head.
        let head = indi_codec::parse_head(&bytes).unwrap_or_else(|e| panic!("{e} for {element:?}"));
        assert_eq!((head.device.as_deref(), head.name.as_deref()), (element.device(), element.name()));
    }
    // Where both the quick check and the full parser accept an input, they agree (quick-xml
    // is the more lenient of the two with malformed attributes).
    let mut codec = IndiCodec::new(LIMITS);
    let mut buf = BytesMut::from(input);
    while let Some(frame) = codec.next_frame(&mut buf) {
        let Ok(frame) = frame else { continue };
        if let (Ok(element), Ok(head)) = (indi_codec::parse_element(frame.clone()), indi_codec::parse_head(&frame)) {
            assert_eq!((head.device.as_deref(), head.name.as_deref()), (element.device(), element.name()));
            assert_eq!(head.tag, indi_codec::Tag::parse(element.tag()).unwrap());
        }
    }
    // The one-pass frame-and-check gives what framing then checking gives, at any read size.
    let singles = checked_frames(input, chunk, true);
    assert_eq!(singles, checked_frames(input, chunk, false), "one pass differs at read size {chunk}");
    // Runs of updates are those same frames joined, each run of one head.
    let mut codec = IndiCodec::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut at = 0;
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(run) = codec.next_checked_run(&mut buf, 4) {
            let Ok((raw, head, count)) = run else {
                assert!(singles[at].is_err(), "an error where one pass found an element");
                at += 1;
                continue;
            };
            let parts = &singles[at..at + count];
            let joined: Vec<u8> = parts.iter().flat_map(|p| p.as_ref().expect("runs hold elements").0.to_vec()).collect();
            assert_eq!(raw.as_ref(), &joined[..], "a run is its elements' frames joined");
            assert!(parts.iter().all(|p| p.as_ref().is_ok_and(|(_, h)| *h == head)), "one head per run");
            at += count;
        }
    }
    assert_eq!(at, singles.len(), "runs cover every frame");
}

type Checked = Result<(bytes::Bytes, indi_codec::Head), DecodeError>;

/// Frames and heads of `input` in `chunk`-byte reads: by `next_checked`, or by `next_frame`
/// then `parse_head`.
fn checked_frames(input: &[u8], chunk: usize, one_pass: bool) -> Vec<Checked> {
    let mut codec = IndiCodec::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            let item = if one_pass { codec.next_checked(&mut buf) } else { codec.next_checked_in_two_passes(&mut buf) };
            let Some(item) = item else { break };
            items.push(item);
        }
    }
    items
}

/// Connections of a fuzzed server: who is alive, what each is, what clients said about themselves.
struct World {
    router: Router,
    /// Live drivers and whether each is a link to the remote server `up:7624`.
    drivers: Vec<(EndpointId, bool)>,
    clients: Vec<EndpointId>,
    /// Clients that announced themselves as chained servers (`getProperties device="*"`).
    chained: HashSet<EndpointId>,
    /// Devices a driver's snoop request was relayed to each client for (`None`: every device).
    asked: HashSet<(EndpointId, Option<String>)>,
    dead: Vec<EndpointId>,
    next: EndpointId,
}

const REMOTE: &str = "up:7624";

impl World {
    fn new() -> World {
        let mut world = World {
            router: Router::new(),
            drivers: Vec::new(),
            clients: Vec::new(),
            chained: HashSet::new(),
            asked: HashSet::new(),
            dead: Vec::new(),
            next: 1,
        };
        for remote in [false, false, true, true] {
            world.add_driver(remote);
        }
        for _ in 0..4 {
            world.add_client();
        }
        world
    }

    fn fresh(&mut self) -> EndpointId {
        self.next += 1;
        self.next
    }

    fn add_driver(&mut self, remote: bool) {
        let id = self.fresh();
        self.router.add_driver(id, remote.then(|| REMOTE.to_owned()));
        self.drivers.push((id, remote));
    }

    fn add_client(&mut self) {
        let id = self.fresh();
        self.router.add_client(id);
        self.clients.push(id);
    }

    fn live(&self) -> Vec<EndpointId> {
        self.drivers.iter().map(|(id, _)| *id).chain(self.clients.iter().copied()).collect()
    }

    fn is_driver(&self, id: EndpointId) -> bool {
        self.drivers.iter().any(|(d, _)| *d == id)
    }

    fn remote(&self, id: EndpointId) -> bool {
        self.drivers.iter().any(|(d, remote)| *d == id && *remote)
    }

    /// A device a driver or remote link of this server owns.
    fn served(&self, device: Option<&str>) -> bool {
        let Some(device) = device else { return false };
        self.drivers.iter().any(|(id, _)| self.router.devices_of(*id).iter().any(|d| d == device))
    }

    /// May client `from` publish traffic of `device` to snoopers: a chained server, or a
    /// client a snoop request for it (or for every device) was relayed to.
    fn may_publish(&self, from: EndpointId, device: Option<&str>) -> bool {
        let Some(device) = device else { return false };
        self.chained.contains(&from) || self.asked.contains(&(from, None)) || self.asked.contains(&(from, Some(device.to_owned())))
    }

    /// Removes a connection (a driver's devices are deleted for clients) and adds a new one of
    /// the same kind, so the population stays the same size.
    fn replace(&mut self, id: EndpointId) {
        let mut devices = self.router.devices_of(id);
        devices.sort();
        let was_driver = self.is_driver(id);
        let remote = self.remote(id);
        let gone = self.router.remove(id);
        self.drivers.retain(|(d, _)| *d != id);
        self.clients.retain(|c| *c != id);
        self.chained.remove(&id);
        self.asked.retain(|(client, _)| *client != id);
        self.dead.push(id);
        if was_driver {
            let deleted: Vec<String> = gone
                .iter()
                .map(|(element, targets)| {
                    let Element::DelProperty(del) = element else { panic!("a dead driver produced {element:?}") };
                    assert!(del.name.is_none(), "device-wide delProperty expected: {del:?}");
                    assert!(targets.iter().all(|t| self.clients.contains(t)), "delProperty for {} to {targets:?}", del.device);
                    del.device.clone()
                })
                .collect();
            assert_eq!(deleted, devices, "delProperty must name exactly the dead driver's devices");
            self.add_driver(remote);
        } else {
            assert!(gone.is_empty(), "a dead client produced {gone:?}");
            self.add_client();
        }
    }

    fn send(&mut self, from: EndpointId, element: &Element) {
        let from_client = self.clients.contains(&from);
        if let (true, Element::GetProperties(get)) = (from_client, element) {
            if get.device.as_deref() == Some("*") {
                self.chained.insert(from);
            }
        }
        let served = self.served(element.device());
        let routing = self.router.route(from, &Frame::new(element.clone()));
        let live: HashSet<EndpointId> = self.live().into_iter().collect();
        let targets = &routing.targets;
        let unique: HashSet<_> = targets.iter().collect();
        assert_eq!(unique.len(), targets.len(), "a target twice: {targets:?}");
        // Only a driver here snooping (or asking for) a device of its own by name, as with indiserver.
        let echo_allowed = self.is_driver(from) && !self.remote(from) && element.device().is_some();
        assert!(!targets.contains(&from) || echo_allowed, "{from} would receive its own <{}>", element.tag());
        assert!(targets.iter().all(|t| live.contains(t)), "a target is not connected: {targets:?}");
        if routing.dropped.is_some() {
            assert!(targets.is_empty() && routing.reply.is_none(), "dropped, yet routed: {routing:?}");
        }
        match element {
            Element::PingRequest(uid) => {
                assert_eq!(routing.reply, Some(Element::PingReply(uid.clone())));
                assert!(targets.is_empty());
            }
            _ => assert!(routing.reply.is_none(), "a reply to <{}>", element.tag()),
        }
        if let Element::GetProperties(get) = element {
            if routing.dropped.is_none() && !targets.is_empty() {
                let Some(Element::GetProperties(get)) = &routing.replacement else { panic!("getProperties not normalised: {routing:?}") };
                assert_eq!(get.version.as_deref(), Some("1.7"), "drivers must only see version 1.7");
                assert_ne!(get.device.as_deref(), Some("*"));
            }
            for (target, rewritten) in &routing.rewritten {
                let Element::GetProperties(rewritten) = rewritten else { panic!("rewritten as {rewritten:?}") };
                assert_eq!(rewritten.version.as_deref(), Some("1.7"));
                assert_ne!(rewritten.device.as_deref(), Some("*"));
                if self.is_driver(*target) {
                    assert!(live.contains(target) && *target != from, "rewritten for {target}: {routing:?}");
                    assert!(rewritten.device.is_some(), "{rewritten:?}");
                } else {
                    // Drivers' snoop requests replayed to the client that just chained.
                    assert!(from_client && *target == from, "a getProperties for client {target}: {routing:?}");
                    let device = rewritten.device.as_deref();
                    assert!(!self.served(device), "a client asked for a device served here: {rewritten:?}");
                    self.asked.insert((from, device.map(str::to_owned)));
                }
            }
            if !from_client {
                // A driver's snoop request relayed to clients: they may answer for that device.
                let device = get.device.clone().filter(|d| d != "*");
                for client in targets.iter().filter(|t| self.clients.contains(t)) {
                    self.asked.insert((*client, device.clone()));
                }
            }
        } else {
            assert!(routing.replacement.is_none() && routing.rewritten.is_empty(), "<{}> replaced", element.tag());
        }
        if from_client {
            let may_publish = self.may_publish(from, element.device());
            self.check_from_client(element, served, may_publish, targets);
        } else if self.remote(from) {
            // Links to one server never echo to each other.
            assert!(!targets.iter().any(|t| self.remote(*t)), "remote traffic routed back to a link: {targets:?}");
        }
    }

    fn check_from_client(&self, element: &Element, served: bool, may_publish: bool, targets: &[EndpointId]) {
        let to_drivers_only = targets.iter().all(|t| self.is_driver(*t));
        match element {
            Element::Def(_) | Element::Set(_) | Element::Message(_) | Element::DelProperty(_) => {
                // Forged device traffic: dropped, except a chained server relaying devices not
                // served here that it was asked for.
                assert!(to_drivers_only, "client <{}> reached a client: {targets:?}", element.tag());
                if !targets.is_empty() {
                    assert!(may_publish && !served, "client <{}> for {:?} reached {targets:?}", element.tag(), element.device());
                }
            }
            Element::GetProperties(_) => assert!(to_drivers_only, "client getProperties reached a client"),
            Element::EnableBlob(_) | Element::PingRequest(_) | Element::PingReply(_) => assert!(targets.is_empty()),
            Element::New(new) => {
                for t in targets.iter().filter(|t| self.is_driver(**t)) {
                    assert!(self.router.devices_of(*t).contains(&new.device), "<{}> for {} reached driver {t}", element.tag(), new.device);
                }
                if !targets.is_empty() {
                    assert!(targets.iter().any(|t| self.is_driver(*t)), "<{}> echoed with no driver to obey it", element.tag());
                }
            }
        }
    }

    /// One step of the script: bits 0-3 choose the sender among the live connections; 0x70
    /// set replaces the sender first (its element then comes from a dead connection).
    fn step(&mut self, script: u8, element: &Element) {
        let live = self.live();
        let sender = live[(script & 0x0f) as usize % live.len()];
        if script & 0x70 == 0x70 {
            self.replace(sender);
            // Pings are answered before the sender is looked up; the hub has nobody to answer.
            let routing = self.router.route(sender, &Frame::new(element.clone()));
            assert!(routing.targets.is_empty(), "a dead connection's element was routed: {routing:?}");
            return;
        }
        self.send(sender, element);
    }
}

/// First byte: script length (0 to 63); then the script; the rest: elements (XML). An empty
/// script sends device traffic from the first driver and everything else from the first client.
pub fn route(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let (script, xml) = rest.split_at((first as usize % 64).min(rest.len()));
    let mut world = World::new();
    let elements: Vec<Element> = decode_chunked(xml, xml.len()).into_iter().flatten().collect();
    for (i, element) in elements.iter().enumerate() {
        let step = match (script.is_empty(), element) {
            (false, _) => script[i % script.len()],
            (true, Element::Def(_) | Element::Set(_) | Element::Message(_) | Element::DelProperty(_)) => 0,
            (true, _) => 4,
        };
        world.step(step, element);
    }
    for id in world.live() {
        world.replace(id);
    }
}
