//! Routing decisions, as libindi's indiserver makes them (device ownership learned from driver
//! traffic, client interest and sticky scope, BLOB policies, snooping, chained servers) with the
//! deliberate improvements of the spec: version 1.7 towards drivers, no impersonation of devices
//! served here, snoop-all, device-wide `delProperty` reaching property-scoped clients,
//! per-device `Only`, chains that carry exactly the device they name.
//!
//! Pure logic: no I/O, so every rule is unit-tested (and fuzzed) without sockets.

use crate::frame::Frame;
use indi_codec::{BlobEnable, DelProperty, Element, GetProperties, Tag};
use rustc_hash::{FxHashMap, FxHashSet};

/// Identifies a connection (client, driver, remote server).
pub type EndpointId = u64;

/// Where one element goes: inline for the usual handful (no allocation per element).
pub type Targets = smallvec::SmallVec<[EndpointId; 4]>;

/// Most device/property interests one client may register (bounds memory per client).
const MAX_INTEREST: usize = 10_000;
/// Most bytes of device and property names one client may register over its connection
/// (10 000 INDI-sized names fit; megabyte-long names sent by a hostile client do not).
const MAX_NAME_BYTES: usize = 4 << 20;

/// A client's interest in one device: all of it, or some properties.
#[derive(Debug, Default)]
struct DeviceInterest {
    whole: bool,
    properties: FxHashSet<String>,
}

#[derive(Debug, Default)]
struct Client {
    /// Interested in every device (unscoped `getProperties`, or a chained server).
    all: bool,
    /// Its first `getProperties` named a device: later unscoped ones do not widen it (indiserver's
    /// rule, which a chained server scoped to one device relies on).
    scoped: bool,
    /// A chained INDI server (sent `getProperties device="*"`).
    server: bool,
    /// Devices a snooping driver here asked this client for (relayed snoop requests): the
    /// devices whose traffic it may publish to our snoopers, when no driver here owns them.
    asked: FxHashSet<String>,
    /// A snoop request for every device was relayed to it.
    asked_all: bool,
    interest: FxHashMap<String, DeviceInterest>,
    interest_count: usize,
    /// Connection-wide BLOB mode (`enableBLOB` without device).
    blob_all: Option<BlobEnable>,
    blob_devices: FxHashMap<String, BlobEnable>,
    blob_props: FxHashMap<String, FxHashMap<String, BlobEnable>>,
    /// Bytes of names held in `interest`, `blob_devices` and `blob_props` so far.
    name_bytes: usize,
}

impl Client {
    /// May this client publish traffic of `device` to snooping drivers? Only a chained server
    /// (or a client a snoop request was relayed to) for the devices it was asked for.
    fn may_publish(&self, device: &str) -> bool {
        self.server || self.asked_all || self.asked.contains(device)
    }

    /// Notes that a snoop request for `device` (all when `None`) was relayed to this client.
    fn ask(&mut self, device: Option<&str>) {
        match device {
            None => self.asked_all = true,
            Some(device) if !self.asked.contains(device) => {
                if self.asked.len() < MAX_INTEREST {
                    self.asked.insert(device.to_owned());
                }
            }
            Some(_) => {}
        }
    }

    fn interested(&self, device: Option<&str>, name: Option<&str>, device_wide: bool) -> bool {
        let Some(device) = device else { return true };
        if self.all {
            return true;
        }
        let Some(interest) = self.interest.get(device) else { return false };
        interest.whole || device_wide || name.is_some_and(|n| interest.properties.contains(n))
    }

    /// Mode of a device (for non-BLOB muting) or of one BLOB property.
    fn mode(&self, device: Option<&str>, name: Option<&str>) -> BlobEnable {
        if let (Some(d), Some(n)) = (device, name) {
            if let Some(mode) = self.blob_props.get(d).and_then(|props| props.get(n)) {
                return *mode;
            }
        }
        device.and_then(|d| self.blob_devices.get(d).copied()).or(self.blob_all).unwrap_or(BlobEnable::Never)
    }

    /// Counts the bytes of new names against the budget; false when it would exceed it.
    fn charge(&mut self, bytes: usize) -> bool {
        if self.name_bytes + bytes > MAX_NAME_BYTES {
            return false;
        }
        self.name_bytes += bytes;
        true
    }

    fn add_interest(&mut self, device: &str, name: Option<&str>) {
        if self.interest_count >= MAX_INTEREST {
            return;
        }
        let (known_device, known_name) = match self.interest.get(device) {
            Some(interest) => (true, name.is_some_and(|n| interest.properties.contains(n))),
            None => (false, false),
        };
        let new_name = name.filter(|_| !known_name);
        let cost = if known_device { 0 } else { device.len() } + new_name.map_or(0, str::len);
        if cost > 0 && !self.charge(cost) {
            return;
        }
        if !known_device {
            self.interest.insert(device.to_owned(), DeviceInterest::default());
            self.interest_count += 1;
        }
        let interest = self.interest.get_mut(device).expect("inserted above");
        match new_name {
            Some(name) => {
                interest.properties.insert(name.to_owned());
                self.interest_count += 1;
            }
            None if name.is_none() => interest.whole = true,
            None => {}
        }
    }
}

#[derive(Debug, Default)]
struct Driver {
    /// Devices this driver has announced (by sending anything naming them).
    devices: FxHashSet<String>,
    /// Snoops on every device.
    snoop_all: Option<BlobEnable>,
    snoop_devices: FxHashMap<String, BlobEnable>,
    snoop_props: FxHashMap<String, FxHashMap<String, BlobEnable>>,
    /// `host:port` of a remote server link (loops between links of one server are cut).
    remote: Option<String>,
    /// The one device a remote link carries (`device@host:port`); `None`: all it sends.
    chained: Option<String>,
}

impl Driver {
    /// The snoop mode matching `(device, name)`, if this driver snoops on it.
    fn snoop_mode(&self, device: Option<&str>, name: Option<&str>) -> Option<BlobEnable> {
        let Some(device) = device else { return self.snoop_all };
        if let Some(mode) = name.and_then(|n| self.snoop_props.get(device)?.get(n)) {
            return Some(*mode);
        }
        self.snoop_devices.get(device).copied().or(self.snoop_all)
    }

    /// The snoop mode matching `(device, name)` when this driver named that device.
    fn named_snoop_mode(&self, device: &str, name: Option<&str>) -> Option<BlobEnable> {
        name.and_then(|n| self.snoop_props.get(device)?.get(n)).or_else(|| self.snoop_devices.get(device)).copied()
    }

    fn set_snoop(&mut self, device: Option<&str>, name: Option<&str>, mode: BlobEnable, overwrite: bool) {
        let slot = match (device, name) {
            (None, _) => {
                if overwrite || self.snoop_all.is_none() {
                    self.snoop_all = Some(mode);
                }
                return;
            }
            (Some(d), None) => self.snoop_devices.entry(d.to_owned()).or_insert(mode),
            (Some(d), Some(n)) => self.snoop_props.entry(d.to_owned()).or_default().entry(n.to_owned()).or_insert(mode),
        };
        if overwrite {
            *slot = mode;
        }
    }
}

/// What to do with one element.
#[derive(Debug, Default, PartialEq)]
pub struct Routing {
    /// Endpoints that get the element.
    pub targets: Targets,
    /// Deliver this instead of the element received (e.g. `getProperties` normalised to 1.7).
    pub replacement: Option<Element>,
    /// Answer to the sender alone (`pingReply`).
    pub reply: Option<Element>,
    /// Why the element was dropped, for the log.
    pub dropped: Option<String>,
    /// Elements for single endpoints besides `targets`: a `getProperties` rewritten for a link
    /// that carries one device, or drivers' snoop requests replayed to a newly chained client.
    pub rewritten: Vec<(EndpointId, Element)>,
}

impl Routing {
    fn drop(reason: impl Into<String>) -> Routing {
        Routing { dropped: Some(reason.into()), ..Routing::default() }
    }
}

/// Routing state of a server.
#[derive(Debug, Default)]
pub struct Router {
    clients: FxHashMap<EndpointId, Client>,
    drivers: FxHashMap<EndpointId, Driver>,
}

fn normalised(get: &GetProperties) -> Element {
    Element::GetProperties(GetProperties { version: Some("1.7".into()), device: get.device.clone().filter(|d| d != "*"), name: get.name.clone() })
}

/// `getProperties` for one device, as drivers expect it.
fn request_for(device: &str) -> Element {
    Element::GetProperties(GetProperties { version: Some("1.7".into()), device: Some(device.to_owned()), name: None })
}

/// Most devices a scoped client's unscoped `getProperties` is rewritten for, one request each;
/// past that it goes to every driver as it came (no amplification by a hostile client).
const MAX_REWRITTEN: usize = 64;

/// The parsed element, for the few rules that need more than the head.
#[allow(clippy::result_large_err)] // the error is a routing decision (a drop), taken early with `?`
fn parsed(frame: &Frame) -> Result<&Element, Routing> {
    frame.element().map_err(|e| Routing::drop(format!("unreadable: {e}")))
}

impl Router {
    /// A new router with no connections.
    pub fn new() -> Router {
        Router::default()
    }

    /// Registers a client connection.
    pub fn add_client(&mut self, id: EndpointId) {
        self.clients.insert(id, Client::default());
    }

    /// Registers a driver (in-process, child process, or remote server at `remote`).
    pub fn add_driver(&mut self, id: EndpointId, remote: Option<String>) {
        self.drivers.insert(id, Driver { remote, ..Driver::default() });
    }

    /// Scopes remote link `id` to `device` (`device@host:port`): it owns that device from now
    /// on (as indiserver assumes), only that device's traffic is taken from it, and
    /// `getProperties` for every device reach it as a request for that device.
    pub fn chain_device(&mut self, id: EndpointId, device: &str) {
        if let Some(driver) = self.drivers.get_mut(&id) {
            driver.devices.insert(device.to_owned());
            driver.chained = Some(device.to_owned());
        }
    }

    /// Forgets a connection. For a driver, returns the device-wide `delProperty` to send
    /// (to clients only, as indiserver does) and who gets each one.
    pub fn remove(&mut self, id: EndpointId) -> Vec<(Element, Vec<EndpointId>)> {
        self.clients.remove(&id);
        let Some(driver) = self.drivers.remove(&id) else { return Vec::new() };
        let mut devices: Vec<String> = driver.devices.into_iter().collect();
        devices.sort();
        devices
            .into_iter()
            .map(|device| {
                let targets = self.clients_for(Tag::DelProperty, Some(&device), None, true, None);
                (Element::DelProperty(DelProperty { device, ..DelProperty::default() }), targets.to_vec())
            })
            .collect()
    }

    /// Devices announced by a driver.
    pub fn devices_of(&self, id: EndpointId) -> Vec<String> {
        self.drivers.get(&id).map(|d| d.devices.iter().cloned().collect()).unwrap_or_default()
    }

    /// True when `id` is a registered driver.
    pub fn is_driver(&self, id: EndpointId) -> bool {
        self.drivers.contains_key(&id)
    }

    /// Number of connected drivers.
    pub fn driver_count(&self) -> usize {
        self.drivers.len()
    }

    /// Routes an element sent by endpoint `from` (client or driver).
    pub fn route(&mut self, from: EndpointId, frame: &Frame) -> Routing {
        match frame.head().tag {
            Tag::PingRequest => {
                return match parsed(frame) {
                    Ok(Element::PingRequest(uid)) => Routing { reply: Some(Element::PingReply(uid.clone())), ..Routing::default() },
                    Ok(_) => Routing::default(),
                    Err(dropped) => dropped,
                };
            }
            Tag::PingReply => return Routing::default(),
            _ => {}
        }
        if self.drivers.contains_key(&from) {
            self.route_driver(from, frame).unwrap_or_else(|dropped| dropped)
        } else if self.clients.contains_key(&from) {
            self.route_client(from, frame).unwrap_or_else(|dropped| dropped)
        } else {
            Routing::drop("unknown connection")
        }
    }

    /// Drivers that own `device` (all drivers when `None`), except `except`.
    fn owners(&self, device: Option<&str>, except: Option<EndpointId>) -> Targets {
        let mut targets: Targets =
            self.drivers.iter().filter(|(id, d)| Some(**id) != except && device.is_none_or(|dev| d.devices.contains(dev))).map(|(id, _)| *id).collect();
        targets.sort_unstable();
        targets
    }

    /// True when a driver or remote link here owns `device`.
    fn owned(&self, device: &str) -> bool {
        self.drivers.values().any(|driver| driver.devices.contains(device))
    }

    /// The snoop requests a newly chained client should answer, addressed to it: those of the
    /// drivers owning `device` (of every driver, for a server chaining all), for devices no
    /// driver here owns. A server that chains after a driver asked would otherwise never hear
    /// of it (indiserver forgets such requests).
    fn replay_snoops(&mut self, client: EndpointId, device: Option<&str>) -> Vec<(EndpointId, Element)> {
        let mut requests: Vec<(Option<String>, Option<String>)> = Vec::new();
        for driver in self.drivers.values().filter(|d| device.is_none_or(|dev| d.devices.contains(dev))) {
            if driver.snoop_all.is_some() {
                requests.push((None, None));
            }
            requests.extend(driver.snoop_devices.keys().map(|d| (Some(d.clone()), None)));
            for (d, props) in &driver.snoop_props {
                requests.extend(props.keys().map(|n| (Some(d.clone()), Some(n.clone()))));
            }
        }
        requests.retain(|(d, _)| d.as_deref().is_none_or(|d| !self.owned(d)));
        requests.sort();
        requests.dedup();
        requests.truncate(MAX_REWRITTEN);
        let asked = self.clients.get_mut(&client).expect("a client");
        requests
            .into_iter()
            .map(|(device, name)| {
                asked.ask(device.as_deref());
                (client, Element::GetProperties(GetProperties { version: Some("1.7".into()), device, name }))
            })
            .collect()
    }

    /// Splits a request for every device: links that carry one device get a request for that
    /// device instead (returned apart), the other targets keep the request as it is.
    fn split_chained(&self, targets: &mut Targets) -> Vec<(EndpointId, Element)> {
        let mut rewritten = Vec::new();
        targets.retain(|id| match self.drivers.get(id).and_then(|d| d.chained.as_deref()) {
            Some(device) => {
                rewritten.push((*id, request_for(device)));
                false
            }
            None => true,
        });
        rewritten
    }

    /// Clients that should see an element from a driver (or echoed), except `except`.
    fn clients_for(&self, tag: Tag, device: Option<&str>, name: Option<&str>, device_wide: bool, except: Option<EndpointId>) -> Targets {
        let blob = tag.is_blob();
        let mut targets: Targets = self
            .clients
            .iter()
            .filter(|(id, c)| {
                if Some(**id) == except || !c.interested(device, name, device_wide) {
                    return false;
                }
                if blob {
                    c.mode(device, name) != BlobEnable::Never
                } else {
                    c.mode(device, None) != BlobEnable::Only
                }
            })
            .map(|(id, _)| *id)
            .collect();
        targets.sort_unstable();
        targets
    }

    fn clients_for_frame(&self, frame: &Frame, except: Option<EndpointId>) -> Targets {
        let head = frame.head();
        let device_wide = head.tag == Tag::DelProperty && head.name.is_none();
        self.clients_for(head.tag, head.device.as_deref(), head.name.as_deref(), device_wide, except)
    }

    /// Drivers snooping on a frame, except links to the sender's server. A driver that snoops
    /// on a device of its own by name gets its own traffic back, as from indiserver's
    /// `q2SDrivers` (libindi's CCD simulator learns its own filter wheel's slot so, for FITS
    /// `FILTER`); snoop-all (ours alone) does not echo a driver's traffic to itself.
    fn snoopers_for(&self, frame: &Frame, from: EndpointId) -> Targets {
        let head = frame.head();
        let (device, name) = (head.device.as_deref(), head.name.as_deref());
        let blob = matches!(head.tag, Tag::Set(indi_codec::VectorKind::Blob));
        let from_remote = self.drivers.get(&from).and_then(|d| d.remote.as_deref());
        let mut targets: Targets = self
            .drivers
            .iter()
            .filter(|(id, d)| {
                if from_remote.is_some() && d.remote.as_deref() == from_remote {
                    return false;
                }
                let mode = if **id == from { device.and_then(|device| d.named_snoop_mode(device, name)) } else { d.snoop_mode(device, name) };
                match mode {
                    None => false,
                    Some(mode) if blob => mode != BlobEnable::Never,
                    Some(mode) => mode != BlobEnable::Only,
                }
            })
            .map(|(id, _)| *id)
            .collect();
        targets.sort_unstable();
        targets
    }

    #[allow(clippy::result_large_err)] // Err: a drop decided early (see `parsed`)
    fn route_client(&mut self, from: EndpointId, frame: &Frame) -> Result<Routing, Routing> {
        let head = frame.head();
        match head.tag {
            Tag::GetProperties => {
                let Element::GetProperties(get) = parsed(frame)? else { unreachable!("head and element agree") };
                let client = self.clients.get_mut(&from).expect("checked by route");
                match get.device.as_deref() {
                    None if !client.scoped => client.all = true,
                    None => {}
                    Some("*") => {
                        client.all = true;
                        client.server = true;
                    }
                    Some(device) => {
                        client.scoped |= !client.all;
                        client.add_interest(device, get.name.as_deref());
                    }
                }
                let device = get.device.as_deref().filter(|d| *d != "*");
                let scoped_devices = (device.is_none() && !client.all && client.interest.len() <= MAX_REWRITTEN).then(|| {
                    let mut devices: Vec<String> = client.interest.keys().cloned().collect();
                    devices.sort();
                    devices
                });
                // A server chaining a device of ours (or all of them) hears what their drivers snoop on.
                let mut rewritten = match get.device.as_deref() {
                    Some("*") => self.replay_snoops(from, None),
                    Some(device) if !self.clients[&from].all => self.replay_snoops(from, Some(device)),
                    _ => Vec::new(),
                };
                if let Some(devices) = scoped_devices {
                    // A scoped client asking for everything gets its own devices redefined.
                    for device in &devices {
                        rewritten.extend(self.owners(Some(device), None).into_iter().map(|id| (id, request_for(device))));
                    }
                    return Ok(Routing { rewritten, ..Routing::default() });
                }
                let mut targets = self.owners(device, None);
                if targets.is_empty() && device.is_some() {
                    return Err(Routing::drop(format!("no driver has device {:?}", device.unwrap_or_default())));
                }
                if device.is_none() {
                    rewritten.extend(self.split_chained(&mut targets));
                }
                Ok(Routing { targets, replacement: Some(normalised(get)), rewritten, ..Routing::default() })
            }
            Tag::EnableBlob => {
                let Element::EnableBlob(enable) = parsed(frame)? else { unreachable!("head and element agree") };
                let Some(mode) = enable.mode else {
                    return Err(Routing::drop("enableBLOB without Never, Also or Only"));
                };
                let client = self.clients.get_mut(&from).expect("checked by route");
                match (&enable.device, &enable.name) {
                    (None, _) => {
                        client.blob_all = Some(mode);
                        client.blob_devices.clear();
                        client.blob_props.clear();
                    }
                    (Some(device), None) => {
                        client.add_interest(device, None);
                        if client.blob_devices.contains_key(device) || (client.blob_devices.len() < MAX_INTEREST && client.charge(device.len())) {
                            client.blob_devices.insert(device.clone(), mode);
                        }
                        client.blob_props.remove(device);
                    }
                    (Some(device), Some(name)) => {
                        client.add_interest(device, Some(name));
                        let known = client.blob_props.get(device).is_some_and(|props| props.contains_key(name));
                        if known || (client.interest_count < MAX_INTEREST && client.charge(device.len() + name.len())) {
                            client.blob_props.entry(device.clone()).or_default().insert(name.clone(), mode);
                        }
                    }
                }
                Ok(Routing::default())
            }
            Tag::New(_) => {
                let device = head.device.as_deref().expect("checked by parse_head");
                let client = self.clients.get_mut(&from).expect("checked by route");
                client.add_interest(device, head.name.as_deref());
                let owners = self.owners(Some(device), None);
                if owners.is_empty() {
                    return Err(Routing::drop(format!("no driver has device {device:?}")));
                }
                let mut targets = owners;
                targets.extend(self.clients_for_frame(frame, Some(from)));
                Ok(Routing { targets, ..Routing::default() })
            }
            Tag::Def(_) | Tag::Set(_) | Tag::Message | Tag::DelProperty => {
                // A chained server relays its drivers' traffic to our snooping drivers (never to
                // clients), for the devices it was asked for; nobody speaks for a device that a
                // driver or remote server of ours owns.
                let Some(device) = head.device.as_deref() else {
                    return Err(Routing::drop(format!("clients may not send <{}> without device", head.tag.as_str())));
                };
                if self.owned(device) {
                    return Err(Routing::drop(format!("clients may not send <{}> for {device:?}, a device served here", head.tag.as_str())));
                }
                if !self.clients[&from].may_publish(device) {
                    return Err(Routing::drop(format!("clients may not send <{}> for {device:?}: no driver here asked for it", head.tag.as_str())));
                }
                Ok(Routing { targets: self.snoopers_for(frame, from), ..Routing::default() })
            }
            Tag::PingRequest | Tag::PingReply => Ok(Routing::default()),
        }
    }

    #[allow(clippy::result_large_err)] // Err: a drop decided early (see `parsed`)
    fn route_driver(&mut self, from: EndpointId, frame: &Frame) -> Result<Routing, Routing> {
        let head = frame.head();
        match head.tag {
            Tag::GetProperties => {
                let Element::GetProperties(get) = parsed(frame)? else { unreachable!("head and element agree") };
                let device = get.device.as_deref().filter(|d| *d != "*");
                let driver = self.drivers.get_mut(&from).expect("checked by route");
                driver.set_snoop(device, get.name.as_deref(), BlobEnable::Never, false);
                // Ask the owners to (re)define: the sender too when it names a device of its own,
                // as indiserver's q2RDrivers does (it then snoops its own definition). Never back
                // up another link to the sender's server (found by fuzzing: it re-defined twice).
                let mut targets = self.owners(device, device.is_none().then_some(from));
                if let Some(key) = self.drivers[&from].remote.clone() {
                    targets.retain(|t| self.drivers[t].remote.as_deref() != Some(key.as_str()));
                }
                let rewritten = if device.is_none() { self.split_chained(&mut targets) } else { Vec::new() };
                // Pass it to chained servers, which answer with their drivers' traffic: those that
                // asked for every device, and those scoped to a device of this driver (indiserver's
                // q2Servers, without its bug of sending to every later client after one match).
                let snooper = &self.drivers[&from];
                let mut servers: Vec<EndpointId> = self
                    .clients
                    .iter()
                    .filter(|(_, c)| c.server || (!c.all && c.interest.keys().any(|d| snooper.devices.contains(d))))
                    .map(|(id, _)| *id)
                    .collect();
                servers.sort_unstable();
                for id in &servers {
                    self.clients.get_mut(id).expect("listed above").ask(device);
                }
                targets.extend(servers);
                Ok(Routing { targets, replacement: Some(normalised(get)), rewritten, ..Routing::default() })
            }
            Tag::EnableBlob => {
                let Element::EnableBlob(enable) = parsed(frame)? else { unreachable!("head and element agree") };
                if let Some(mode) = enable.mode {
                    let driver = self.drivers.get_mut(&from).expect("checked by route");
                    driver.set_snoop(enable.device.as_deref(), enable.name.as_deref(), mode, true);
                }
                Ok(Routing::default())
            }
            _ => {
                let driver = self.drivers.get_mut(&from).expect("checked by route");
                if let (Some(chained), Some(device)) = (driver.chained.as_deref(), head.device.as_deref()) {
                    if chained != device {
                        return Err(Routing::drop(format!("{device:?} was not chained (this link carries {chained:?})")));
                    }
                }
                if let Some(device) = head.device.as_deref() {
                    if !driver.devices.contains(device) && driver.devices.len() < MAX_INTEREST {
                        driver.devices.insert(device.to_owned());
                    }
                }
                let mut targets = self.clients_for_frame(frame, None);
                targets.extend(self.snoopers_for(frame, from));
                Ok(Routing { targets, ..Routing::default() })
            }
        }
    }
}

#[cfg(test)]
mod tests;
