use super::*;
use bytes::Bytes;
use indi_codec::*;
use std::sync::Arc;

fn f(element: Element) -> Arc<Frame> {
    Frame::new(element)
}

const DRIVER: EndpointId = 1;
const OTHER_DRIVER: EndpointId = 2;

fn get(device: Option<&str>, name: Option<&str>) -> Element {
    Element::GetProperties(GetProperties { version: Some("1.7".into()), device: device.map(Into::into), name: name.map(Into::into) })
}

fn enable(device: Option<&str>, name: Option<&str>, mode: BlobEnable) -> Element {
    Element::EnableBlob(EnableBlob { device: device.map(Into::into), name: name.map(Into::into), mode: Some(mode) })
}

fn set(kind: VectorKind, device: &str, name: &str) -> Element {
    let value = if kind == VectorKind::Blob {
        OneValue::Blob(BlobValue { size: 1, format: ".bin".into(), data: BlobData::Raw(Bytes::from_static(b"x")), enclen: None })
    } else {
        OneValue::Text("1".into())
    };
    Element::Set(SetVector {
        kind,
        device: device.into(),
        name: name.into(),
        state: None,
        timeout: None,
        timestamp: None,
        message: None,
        members: vec![OneMember { name: "m".into(), value, range: None }],
    })
}

fn def(device: &str, name: &str) -> Element {
    Element::Def(DefVector {
        kind: VectorKind::Number,
        device: device.into(),
        name: name.into(),
        label: None,
        group: None,
        state: PropertyState::Idle,
        perm: Some(Perm::Rw),
        rule: None,
        timeout: None,
        timestamp: None,
        message: None,
        members: vec![],
    })
}

fn new_number(device: &str, name: &str) -> Element {
    Element::New(NewVector { kind: VectorKind::Number, device: device.into(), name: name.into(), timestamp: None, members: vec![] })
}

/// A router with one driver owning `BlobBench` (and one owning `Other`).
fn router() -> Router {
    let mut router = Router::new();
    router.add_driver(DRIVER, None);
    router.add_driver(OTHER_DRIVER, None);
    router.route(DRIVER, &f(def("BlobBench", "BENCH_STAT")));
    router.route(OTHER_DRIVER, &f(def("Other", "X")));
    router
}

/// Counts what a client receives, as in the measured indiserver matrix (spec §2.6): one BLOB,
/// 3 setNumberVector, 2 echoed newNumberVector from another client, 4 definitions.
fn matrix_row(sent: &[Element]) -> [usize; 4] {
    let mut router = router();
    let (watcher, other) = (10, 11);
    router.add_client(watcher);
    router.add_client(other);
    for element in sent {
        router.route(watcher, &f(element.clone()));
    }
    let got = |router: &mut Router, from, element: &Element| router.route(from, &f(element.clone())).targets.contains(&watcher) as usize;
    let blobs = got(&mut router, DRIVER, &set(VectorKind::Blob, "BlobBench", "BENCH_BLOB"));
    let numbers = (0..3).map(|_| got(&mut router, DRIVER, &set(VectorKind::Number, "BlobBench", "BENCH_STAT"))).sum();
    let echoes = (0..2).map(|_| got(&mut router, other, &new_number("BlobBench", "BENCH_STAT"))).sum();
    let defs = ["BENCH_STAT", "BENCH_BLOB", "A", "B"].iter().map(|n| got(&mut router, DRIVER, &def("BlobBench", n))).sum();
    [blobs, numbers, echoes, defs]
}

#[test]
fn enable_blob_matrix_matches_indiserver() {
    let all = get(None, None);
    let dev = Some("BlobBench");
    use BlobEnable::*;
    assert_eq!(matrix_row(std::slice::from_ref(&all)), [0, 3, 2, 4]);
    assert_eq!(matrix_row(&[all.clone(), enable(dev, None, Also)]), [1, 3, 2, 4]);
    assert_eq!(matrix_row(&[all.clone(), enable(dev, None, Only)]), [1, 0, 0, 0]);
    assert_eq!(matrix_row(&[all.clone(), enable(dev, Some("BENCH_BLOB"), Also)]), [1, 3, 2, 4]);
    assert_eq!(matrix_row(&[all.clone(), enable(dev, Some("OTHER"), Also)]), [0, 3, 2, 4]);
    assert_eq!(matrix_row(&[get(dev, Some("BENCH_STAT")), enable(dev, None, Also)]), [1, 3, 2, 4]);
    assert_eq!(matrix_row(&[enable(dev, None, Also)]), [1, 3, 2, 4]);
    assert_eq!(matrix_row(&[]), [0, 0, 0, 0]);
}

#[test]
fn deviations_from_indiserver() {
    use BlobEnable::*;
    // enableBLOB without device applies to every device of the connection.
    assert_eq!(matrix_row(&[get(None, None), enable(None, None, Also)]), [1, 3, 2, 4]);
    // Only for one device does not mute another device's traffic.
    let mut r = router();
    r.add_client(10);
    r.route(10, &f(get(None, None)));
    r.route(10, &f(enable(Some("Other"), None, Only)));
    assert!(r.route(DRIVER, &f(set(VectorKind::Number, "BlobBench", "BENCH_STAT"))).targets.contains(&10));
    assert!(!r.route(OTHER_DRIVER, &f(set(VectorKind::Number, "Other", "X"))).targets.contains(&10));
    // An echoed upload only reaches clients that accept BLOBs.
    let upload = Element::New(NewVector { kind: VectorKind::Blob, device: "BlobBench".into(), name: "UP".into(), timestamp: None, members: vec![] });
    r.add_client(11);
    r.route(11, &f(get(None, None)));
    r.add_client(12);
    r.route(12, &f(get(None, None)));
    r.route(12, &f(enable(Some("BlobBench"), None, Also)));
    assert_eq!(r.route(10, &f(upload.clone())).targets.to_vec(), vec![DRIVER, 12]);
}

#[test]
fn scope_is_sticky_after_a_scoped_get_properties() {
    let mut r = router();
    r.add_client(10);
    r.route(10, &f(get(Some("BlobBench"), None)));
    assert!(!r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&10));
    // A chained server scoped to one device forwards its own clients' unscoped requests: they
    // neither widen it nor reach other drivers, and its own device is asked for again.
    let routing = r.route(10, &f(get(None, None)));
    assert!(routing.targets.is_empty());
    assert_eq!(routing.rewritten, vec![(DRIVER, get(Some("BlobBench"), None))]);
    assert!(!r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&10));
    assert!(r.route(DRIVER, &f(def("BlobBench", "Y"))).targets.contains(&10));
    // Asking for another device by name adds it, as in indiserver.
    r.route(10, &f(get(Some("Other"), None)));
    assert!(r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&10));
    // A client that saw everything first stays wide; enableBLOB or new* first do not scope.
    r.add_client(11);
    r.route(11, &f(get(None, None)));
    r.route(11, &f(get(Some("BlobBench"), None)));
    assert!(r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&11));
    r.add_client(12);
    r.route(12, &f(enable(Some("BlobBench"), None, BlobEnable::Also)));
    r.route(12, &f(get(None, None)));
    assert!(r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&12));
}

#[test]
fn a_link_chained_for_one_device_carries_only_that_device() {
    let mut r = router();
    const LINK: EndpointId = 5;
    r.add_driver(LINK, Some("127.0.0.1:7625".into()));
    r.chain_device(LINK, "Telescope");
    r.add_client(10);
    // Its device is known before the upstream server sends anything, as in indiserver.
    assert_eq!(r.route(10, &f(get(Some("Telescope"), None))).targets.to_vec(), vec![LINK]);
    // An unscoped request reaches it as a request for its device.
    r.add_client(11);
    let routing = r.route(11, &f(get(None, None)));
    assert_eq!(routing.targets.to_vec(), vec![DRIVER, OTHER_DRIVER]);
    assert_eq!(routing.rewritten, vec![(LINK, get(Some("Telescope"), None))]);
    // What the upstream server sends of other devices is not taken, so commands for them never
    // go up the link.
    assert!(r.route(LINK, &f(def("Telescope", "EQ"))).targets.contains(&10));
    let other = r.route(LINK, &f(def("CCD", "EXPOSURE")));
    assert!(other.targets.is_empty() && other.dropped.is_some());
    assert!(r.route(10, &f(new_number("CCD", "EXPOSURE"))).dropped.is_some());
    assert_eq!(r.route(10, &f(new_number("Telescope", "EQ"))).targets.to_vec(), vec![LINK, 11]); // and echoed
                                                                                                 // A snoop request from upstream for a device of ours is served (it is no device traffic).
                                                                                                 // (Client 10, scoped to the link's device, may be a server further down: it is asked too.)
    assert_eq!(r.route(LINK, &f(get(Some("BlobBench"), None))).targets.to_vec(), vec![DRIVER, 10]);
    assert!(r.route(DRIVER, &f(set(VectorKind::Number, "BlobBench", "BENCH_STAT"))).targets.contains(&LINK));
}

#[test]
fn snooping_across_a_chain_where_we_are_upstream() {
    let mut r = router();
    let (downstream, stranger) = (10, 11);
    r.add_client(downstream);
    r.add_client(stranger);
    r.route(downstream, &f(get(Some("BlobBench"), None))); // chains our device
    r.route(stranger, &f(get(None, None)));
    // Our driver snoops a device that lives downstream: the request goes to the chained server.
    let ask = r.route(DRIVER, &f(get(Some("Telescope"), None)));
    assert_eq!(ask.targets.to_vec(), vec![downstream]);
    // Its telescope's updates reach our snooper, never other clients.
    let update = r.route(downstream, &f(set(VectorKind::Number, "Telescope", "EQ")));
    assert_eq!((update.targets.to_vec(), update.dropped), (vec![DRIVER], None));
    // Nobody else may publish the telescope, and nobody may publish a device served here.
    assert!(r.route(stranger, &f(set(VectorKind::Number, "Telescope", "EQ"))).dropped.is_some());
    assert!(r.route(downstream, &f(set(VectorKind::Number, "Focuser", "POS"))).dropped.is_some());
    for forged in [set(VectorKind::Number, "BlobBench", "BENCH_STAT"), def("Other", "X")] {
        let routing = r.route(downstream, &f(forged));
        assert!(routing.targets.is_empty() && routing.dropped.is_some());
    }
    // A server that chains later hears what our drivers already snoop on.
    r.route(OTHER_DRIVER, &f(get(Some("Dome"), Some("SHUTTER"))));
    r.add_client(12);
    let chained = r.route(12, &f(get(Some("Other"), None)));
    assert_eq!(chained.targets.to_vec(), vec![OTHER_DRIVER]);
    assert_eq!(chained.rewritten, vec![(12, get(Some("Dome"), Some("SHUTTER")))]);
    assert_eq!(r.route(12, &f(set(VectorKind::Switch, "Dome", "SHUTTER"))).targets.to_vec(), vec![OTHER_DRIVER]);
    // Not even a device a remote server of ours owns.
    r.add_driver(5, Some("10.0.0.1:7624".into()));
    r.route(5, &f(def("Telescope", "EQ")));
    assert!(r.route(downstream, &f(set(VectorKind::Number, "Telescope", "EQ"))).dropped.is_some());
}

#[test]
fn get_properties_goes_to_owners_as_version_1_7() {
    let mut r = router();
    r.add_client(10);
    let legacy = Element::GetProperties(GetProperties { version: None, device: Some("Other".into()), name: None });
    let routing = r.route(10, &f(legacy.clone()));
    assert_eq!(routing.targets.to_vec(), vec![OTHER_DRIVER]);
    assert_eq!(routing.replacement, Some(get(Some("Other"), None)));
    let indigo = Element::GetProperties(GetProperties { version: Some("2.0".into()), device: None, name: None });
    r.add_client(11); // unscoped from the start (10 stays scoped to "Other")
    let routing = r.route(11, &f(indigo.clone()));
    assert_eq!(routing.targets.to_vec(), vec![DRIVER, OTHER_DRIVER]);
    assert_eq!(routing.replacement, Some(get(None, None)));
    let chained = Element::GetProperties(GetProperties { version: Some("1.7".into()), device: Some("*".into()), name: None });
    assert_eq!(r.route(10, &f(chained.clone())).replacement, Some(get(None, None)));
    assert!(r.route(10, &f(get(Some("Nobody"), None))).dropped.is_some());
}

#[test]
fn clients_cannot_impersonate_devices() {
    let mut r = router();
    r.add_client(10);
    r.add_client(11);
    r.route(11, &f(get(None, None)));
    for forged in [
        def("BlobBench", "FAKE"),
        set(VectorKind::Number, "BlobBench", "BENCH_STAT"),
        Element::Message(Message { device: Some("BlobBench".into()), timestamp: None, message: Some("pwned".into()) }),
        Element::DelProperty(DelProperty { device: "BlobBench".into(), ..DelProperty::default() }),
    ] {
        let routing = r.route(10, &f(forged.clone()));
        assert!(routing.targets.is_empty() && routing.dropped.is_some(), "{forged:?}");
    }
    // Even a chained server (device "*") may not speak for devices served here.
    r.route(10, &f(Element::GetProperties(GetProperties { version: Some("1.7".into()), device: Some("*".into()), name: None })));
    assert!(r.route(10, &f(set(VectorKind::Number, "BlobBench", "BENCH_STAT"))).dropped.is_some());
}

#[test]
fn new_vectors_go_to_the_owner_and_are_echoed_to_others() {
    let mut r = router();
    for c in [10, 11, 12] {
        r.add_client(c);
    }
    r.route(11, &f(get(None, None)));
    r.route(12, &f(get(Some("Other"), None)));
    assert_eq!(r.route(10, &f(new_number("BlobBench", "BENCH_STAT"))).targets.to_vec(), vec![DRIVER, 11]);
    assert!(r.route(10, &f(new_number("Nobody", "X"))).dropped.is_some());
}

#[test]
fn pings_are_answered_to_the_sender() {
    let mut r = router();
    r.add_client(10);
    for from in [10, DRIVER] {
        let routing = r.route(from, &f(Element::PingRequest("SetBLOB/1".into())));
        assert_eq!(routing.reply, Some(Element::PingReply("SetBLOB/1".into())));
        assert!(routing.targets.is_empty());
    }
}

#[test]
fn snooping_by_device_vector_and_all_with_blob_modes() {
    let mut r = router();
    const SNOOPER: EndpointId = 3;
    r.add_driver(SNOOPER, None);
    let number = set(VectorKind::Number, "BlobBench", "BENCH_STAT");
    let blob = set(VectorKind::Blob, "BlobBench", "BENCH_BLOB");
    assert!(!r.route(DRIVER, &f(number.clone())).targets.contains(&SNOOPER));
    let ask = r.route(SNOOPER, &f(get(Some("BlobBench"), Some("BENCH_STAT"))));
    assert_eq!(ask.targets.to_vec(), vec![DRIVER]);
    assert!(r.route(DRIVER, &f(number.clone())).targets.contains(&SNOOPER));
    assert!(!r.route(DRIVER, &f(set(VectorKind::Number, "BlobBench", "OTHER"))).targets.contains(&SNOOPER));
    // Snoop-all (a getProperties without device) sees every device, and universal messages.
    r.route(SNOOPER, &f(get(None, None)));
    assert!(r.route(OTHER_DRIVER, &f(def("Other", "X"))).targets.contains(&SNOOPER));
    let universal = Element::Message(Message { device: None, timestamp: None, message: Some("hi".into()) });
    assert!(r.route(OTHER_DRIVER, &f(universal.clone())).targets.contains(&SNOOPER));
    // BLOBs only after the snooper enables them.
    assert!(!r.route(DRIVER, &f(blob.clone())).targets.contains(&SNOOPER));
    r.route(SNOOPER, &f(enable(Some("BlobBench"), Some("BENCH_BLOB"), BlobEnable::Also)));
    assert!(r.route(DRIVER, &f(blob.clone())).targets.contains(&SNOOPER));
    // Snoop-all does not echo a driver's own traffic to it.
    r.route(DRIVER, &f(get(None, None)));
    assert!(!r.route(DRIVER, &f(number.clone())).targets.contains(&DRIVER));
}

#[test]
fn a_driver_snooping_its_own_device_by_name_gets_its_traffic_back_as_from_indiserver() {
    // libindi's CCD simulator snoops its own FILTER_SLOT and FILTER_NAME (its filter wheel is
    // built in) and writes FITS FILTER from what it snooped: indiserver's q2SDrivers and
    // q2RDrivers do not skip the sender.
    let mut r = router();
    let slot = set(VectorKind::Number, "BlobBench", "FILTER_SLOT");
    assert!(!r.route(DRIVER, &f(slot.clone())).targets.contains(&DRIVER));
    // Its request reaches itself (it owns the device), so it redefines, and snoops the definition.
    assert_eq!(r.route(DRIVER, &f(get(Some("BlobBench"), Some("FILTER_SLOT")))).targets.to_vec(), vec![DRIVER]);
    assert!(r.route(DRIVER, &f(def("BlobBench", "FILTER_SLOT"))).targets.contains(&DRIVER));
    assert!(r.route(DRIVER, &f(slot.clone())).targets.contains(&DRIVER));
    assert!(!r.route(DRIVER, &f(set(VectorKind::Number, "BlobBench", "OTHER"))).targets.contains(&DRIVER));
    // BLOBs of its own only as it enabled them; a whole device by name too.
    let blob = set(VectorKind::Blob, "BlobBench", "FILTER_SLOT");
    assert!(!r.route(DRIVER, &f(blob.clone())).targets.contains(&DRIVER));
    r.route(DRIVER, &f(enable(Some("BlobBench"), Some("FILTER_SLOT"), BlobEnable::Also)));
    assert!(r.route(DRIVER, &f(blob)).targets.contains(&DRIVER));
    r.route(OTHER_DRIVER, &f(get(Some("Other"), None)));
    assert!(r.route(OTHER_DRIVER, &f(def("Other", "ANY"))).targets.contains(&OTHER_DRIVER));
    assert!(!r.route(OTHER_DRIVER, &f(def("Other", "ANY"))).targets.contains(&DRIVER));
}

#[test]
fn a_dead_driver_takes_its_devices_with_it() {
    let mut r = router();
    r.add_client(10);
    r.add_client(11);
    r.route(10, &f(get(Some("BlobBench"), Some("BENCH_STAT")))); // scoped to one property
    r.route(11, &f(get(Some("Other"), None)));
    let gone = r.remove(DRIVER);
    assert_eq!(gone, vec![(Element::DelProperty(DelProperty { device: "BlobBench".into(), ..DelProperty::default() }), vec![10])]);
    assert_eq!(r.driver_count(), 1);
    assert!(r.route(10, &f(get(Some("BlobBench"), None))).dropped.is_some());
}

#[test]
fn links_to_one_server_do_not_echo_to_each_other() {
    let mut r = Router::new();
    r.add_driver(5, Some("127.0.0.1:7624".into()));
    r.add_driver(6, Some("127.0.0.1:7624".into()));
    r.add_driver(7, None);
    for id in [5, 6, 7] {
        r.route(id, &f(get(None, None)));
    }
    let targets = r.route(5, &f(def("Upstream", "X"))).targets;
    assert_eq!(targets.to_vec(), vec![7]);
    // A snoop request relayed by one link is not sent up the other link to the same server.
    r.route(6, &f(def("Upstream", "Y")));
    r.route(7, &f(def("Local", "Z")));
    assert_eq!(r.route(5, &f(get(Some("Upstream"), None))).targets.to_vec(), Vec::<EndpointId>::new());
    assert_eq!(r.route(5, &f(get(None, None))).targets.to_vec(), vec![7]);
    assert_eq!(r.route(7, &f(get(Some("Upstream"), None))).targets.to_vec(), vec![5, 6]);
}

#[test]
fn a_client_cannot_grow_the_routing_state_without_bound() {
    use BlobEnable::*;
    let mut r = router();
    r.add_client(10);
    // 60 MB of long names, and 30 000 short ones, in interests and BLOB modes.
    let long = "x".repeat(100_000);
    for i in 0..200 {
        r.route(10, &f(get(Some(&format!("{long}{i}")), None)));
        r.route(10, &f(enable(Some(&format!("{long}b{i}")), None, Also)));
        r.route(10, &f(enable(Some("BlobBench"), Some(&format!("{long}p{i}")), Also)));
    }
    for i in 0..30_000 {
        r.route(10, &f(enable(Some(&format!("dev{i}")), None, Also)));
    }
    let client = &r.clients[&10];
    let held: usize = client.interest.iter().map(|(d, i)| d.len() + i.properties.iter().map(String::len).sum::<usize>()).sum::<usize>()
        + client.blob_devices.keys().map(String::len).sum::<usize>()
        + client.blob_props.iter().map(|(d, props)| props.keys().map(|n| d.len() + n.len()).sum::<usize>()).sum::<usize>();
    assert!(held <= MAX_NAME_BYTES, "{held} bytes of names");
    assert!(client.interest.len() <= MAX_INTEREST && client.blob_devices.len() <= MAX_INTEREST);
    // What was registered before the budget ran out still changes.
    r.route(10, &f(enable(Some("dev0"), None, Never)));
    assert_eq!(r.clients[&10].blob_devices.get("dev0"), Some(&Never));
}
