//! Routing decisions, as libindi's indiserver makes them (device ownership learned from driver
//! traffic, client interest, BLOB policies, snooping) with the deliberate improvements of the
//! spec: no sticky scope, version 1.7 towards drivers, no impersonation of devices by clients,
//! snoop-all, device-wide `delProperty` reaching property-scoped clients, per-device `Only`.
//!
//! Pure logic: no I/O, so every rule is unit-tested (and fuzzed) without sockets.

use indi_codec::{BlobEnable, DelProperty, Element, GetProperties, VectorKind};
use std::collections::{HashMap, HashSet};

/// Identifies a connection (client, driver, remote server).
pub type EndpointId = u64;

/// Most device/property interests one client may register (bounds memory per client).
const MAX_INTEREST: usize = 10_000;
/// Most bytes of device and property names one client may register over its connection
/// (10 000 INDI-sized names fit; megabyte-long names sent by a hostile client do not).
const MAX_NAME_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
struct Client {
    /// Interested in every device (unscoped `getProperties`, or a chained server).
    all: bool,
    /// A chained INDI server (sent `getProperties device="*"`).
    server: bool,
    /// (device, property) interests; property `None` means the whole device.
    interest: HashSet<(String, Option<String>)>,
    /// Connection-wide BLOB mode (`enableBLOB` without device).
    blob_all: Option<BlobEnable>,
    blob_devices: HashMap<String, BlobEnable>,
    blob_props: HashMap<(String, String), BlobEnable>,
    /// Bytes of names held in `interest`, `blob_devices` and `blob_props` so far.
    name_bytes: usize,
}

impl Client {
    fn interested(&self, device: Option<&str>, name: Option<&str>, device_wide: bool) -> bool {
        let Some(device) = device else { return true };
        if self.all {
            return true;
        }
        if self.interest.contains(&(device.to_owned(), None)) {
            return true;
        }
        if device_wide {
            return self.interest.iter().any(|(d, _)| d == device);
        }
        name.is_some_and(|n| self.interest.contains(&(device.to_owned(), Some(n.to_owned()))))
    }

    /// Mode of a device (for non-BLOB muting) or of one BLOB property.
    fn mode(&self, device: Option<&str>, name: Option<&str>) -> BlobEnable {
        if let (Some(d), Some(n)) = (device, name) {
            if let Some(mode) = self.blob_props.get(&(d.to_owned(), n.to_owned())) {
                return *mode;
            }
        }
        device
            .and_then(|d| self.blob_devices.get(d).copied())
            .or(self.blob_all)
            .unwrap_or(BlobEnable::Never)
    }

    /// Counts the names of a new entry against the budget; false when it would exceed it.
    fn charge(&mut self, device: &str, name: Option<&str>) -> bool {
        let bytes = device.len() + name.map_or(0, str::len);
        if self.name_bytes + bytes > MAX_NAME_BYTES {
            return false;
        }
        self.name_bytes += bytes;
        true
    }

    fn add_interest(&mut self, device: &str, name: Option<&str>) {
        let key = (device.to_owned(), name.map(str::to_owned));
        if self.interest.len() < MAX_INTEREST && !self.interest.contains(&key) && self.charge(device, name) {
            self.interest.insert(key);
        }
    }
}

#[derive(Debug, Default)]
struct Driver {
    /// Devices this driver has announced (by sending anything naming them).
    devices: HashSet<String>,
    /// Snoops on every device.
    snoop_all: Option<BlobEnable>,
    snoop_devices: HashMap<String, BlobEnable>,
    snoop_props: HashMap<(String, String), BlobEnable>,
    /// `host:port` of a remote server link (loops between links of one server are cut).
    remote: Option<String>,
}

impl Driver {
    /// The snoop mode matching `(device, name)`, if this driver snoops on it.
    fn snoop_mode(&self, device: Option<&str>, name: Option<&str>) -> Option<BlobEnable> {
        let Some(device) = device else { return self.snoop_all };
        if let Some(name) = name {
            if let Some(mode) = self.snoop_props.get(&(device.to_owned(), name.to_owned())) {
                return Some(*mode);
            }
        }
        self.snoop_devices.get(device).copied().or(self.snoop_all)
    }
}

/// What to do with one element.
#[derive(Debug, Default, PartialEq)]
pub struct Routing {
    /// Endpoints that get the element.
    pub targets: Vec<EndpointId>,
    /// Deliver this instead of the element received (e.g. `getProperties` normalised to 1.7).
    pub replacement: Option<Element>,
    /// Answer to the sender alone (`pingReply`).
    pub reply: Option<Element>,
    /// Why the element was dropped, for the log.
    pub dropped: Option<String>,
}

impl Routing {
    fn drop(reason: impl Into<String>) -> Routing {
        Routing { dropped: Some(reason.into()), ..Routing::default() }
    }
}

/// Routing state of a server.
#[derive(Debug, Default)]
pub struct Router {
    clients: HashMap<EndpointId, Client>,
    drivers: HashMap<EndpointId, Driver>,
}

/// BLOB traffic for the client policies: BLOB updates, and echoed BLOB uploads (indiserver
/// echoes uploads even to clients that never enabled BLOBs; we do not).
fn is_blob(element: &Element) -> bool {
    match element {
        Element::Set(v) => v.kind == VectorKind::Blob,
        Element::New(v) => v.kind == VectorKind::Blob,
        _ => false,
    }
}

fn normalised(get: &GetProperties) -> Element {
    Element::GetProperties(GetProperties {
        version: Some("1.7".into()),
        device: get.device.clone().filter(|d| d != "*"),
        name: get.name.clone(),
    })
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
                let element = Element::DelProperty(DelProperty { device, ..DelProperty::default() });
                let targets = self.clients_for(&element, None);
                (element, targets)
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
    pub fn route(&mut self, from: EndpointId, element: &Element) -> Routing {
        if let Element::PingRequest(uid) = element {
            return Routing { reply: Some(Element::PingReply(uid.clone())), ..Routing::default() };
        }
        if let Element::PingReply(_) = element {
            return Routing::default();
        }
        if self.drivers.contains_key(&from) {
            self.from_driver(from, element)
        } else if self.clients.contains_key(&from) {
            self.from_client(from, element)
        } else {
            Routing::drop("unknown connection")
        }
    }

    /// Drivers that own `device` (all drivers when `None`), except `except`.
    fn owners(&self, device: Option<&str>, except: Option<EndpointId>) -> Vec<EndpointId> {
        let mut targets: Vec<EndpointId> = self
            .drivers
            .iter()
            .filter(|(id, d)| Some(**id) != except && device.is_none_or(|dev| d.devices.contains(dev)))
            .map(|(id, _)| *id)
            .collect();
        targets.sort_unstable();
        targets
    }

    /// Clients that should see `element` from a driver (or echoed), except `except`.
    fn clients_for(&self, element: &Element, except: Option<EndpointId>) -> Vec<EndpointId> {
        let device = element.device();
        let name = element.name();
        let blob = is_blob(element);
        let device_wide = matches!(element, Element::DelProperty(d) if d.name.is_none());
        let mut targets: Vec<EndpointId> = self
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

    /// Drivers snooping on `element`, except the sender and links to the sender's server.
    fn snoopers_for(&self, element: &Element, from: EndpointId) -> Vec<EndpointId> {
        let device = element.device();
        let name = element.name();
        let blob = matches!(element, Element::Set(v) if v.kind == VectorKind::Blob);
        let from_remote = self.drivers.get(&from).and_then(|d| d.remote.as_deref());
        let mut targets: Vec<EndpointId> = self
            .drivers
            .iter()
            .filter(|(id, d)| {
                if **id == from || (from_remote.is_some() && d.remote.as_deref() == from_remote) {
                    return false;
                }
                match d.snoop_mode(device, name) {
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

    fn from_client(&mut self, from: EndpointId, element: &Element) -> Routing {
        let client = self.clients.get_mut(&from).expect("checked by route");
        match element {
            Element::GetProperties(get) => {
                match get.device.as_deref() {
                    None => client.all = true,
                    Some("*") => {
                        client.all = true;
                        client.server = true;
                    }
                    Some(device) => client.add_interest(device, get.name.as_deref()),
                }
                let device = get.device.as_deref().filter(|d| *d != "*");
                let targets = self.owners(device, None);
                if targets.is_empty() && device.is_some() {
                    return Routing::drop(format!("no driver has device {:?}", device.unwrap_or_default()));
                }
                Routing { targets, replacement: Some(normalised(get)), ..Routing::default() }
            }
            Element::EnableBlob(enable) => {
                let Some(mode) = enable.mode else {
                    return Routing::drop("enableBLOB without Never, Also or Only");
                };
                match (&enable.device, &enable.name) {
                    (None, _) => {
                        client.blob_all = Some(mode);
                        client.blob_devices.clear();
                        client.blob_props.clear();
                    }
                    (Some(device), None) => {
                        client.add_interest(device, None);
                        if client.blob_devices.contains_key(device)
                            || (client.blob_devices.len() < MAX_INTEREST && client.charge(device, None))
                        {
                            client.blob_devices.insert(device.clone(), mode);
                        }
                        client.blob_props.retain(|(d, _), _| d != device);
                    }
                    (Some(device), Some(name)) => {
                        client.add_interest(device, Some(name));
                        let key = (device.clone(), name.clone());
                        if client.blob_props.contains_key(&key)
                            || (client.blob_props.len() < MAX_INTEREST && client.charge(device, Some(name)))
                        {
                            client.blob_props.insert(key, mode);
                        }
                    }
                }
                Routing::default()
            }
            Element::New(new) => {
                client.add_interest(&new.device, Some(&new.name));
                let owners = self.owners(Some(&new.device), None);
                if owners.is_empty() {
                    return Routing::drop(format!("no driver has device {:?}", new.device));
                }
                let mut targets = owners;
                targets.extend(self.clients_for(element, Some(from)));
                Routing { targets, ..Routing::default() }
            }
            Element::Def(_) | Element::Set(_) | Element::Message(_) | Element::DelProperty(_) => {
                // A chained server (a client that asked for device "*") relays its drivers'
                // traffic to our snooping drivers, but may not speak for devices we serve.
                let served = element.device().is_some_and(|d| self.drivers.values().any(|dr| dr.remote.is_none() && dr.devices.contains(d)));
                if client.server && !served {
                    return Routing { targets: self.snoopers_for(element, from), ..Routing::default() };
                }
                Routing::drop(format!("clients may not send <{}>", element.tag()))
            }
            Element::PingRequest(_) | Element::PingReply(_) => Routing::default(),
        }
    }

    fn from_driver(&mut self, from: EndpointId, element: &Element) -> Routing {
        let driver = self.drivers.get_mut(&from).expect("checked by route");
        match element {
            Element::GetProperties(get) => {
                let device = get.device.as_deref().filter(|d| *d != "*");
                match (device, &get.name) {
                    (None, _) => {
                        driver.snoop_all.get_or_insert(BlobEnable::Never);
                    }
                    (Some(d), None) => {
                        driver.snoop_devices.entry(d.to_owned()).or_insert(BlobEnable::Never);
                    }
                    (Some(d), Some(n)) => {
                        driver.snoop_props.entry((d.to_owned(), n.clone())).or_insert(BlobEnable::Never);
                    }
                }
                // Ask the owners to (re)define, and pass it down to chained servers. Never back
                // up another link to the sender's server (found by fuzzing: it re-defined twice).
                let mut targets = self.owners(device, Some(from));
                if let Some(key) = self.drivers[&from].remote.clone() {
                    targets.retain(|t| self.drivers[t].remote.as_deref() != Some(key.as_str()));
                }
                let mut servers: Vec<EndpointId> =
                    self.clients.iter().filter(|(_, c)| c.server).map(|(id, _)| *id).collect();
                servers.sort_unstable();
                targets.extend(servers);
                Routing { targets, replacement: Some(normalised(get)), ..Routing::default() }
            }
            Element::EnableBlob(enable) => {
                if let Some(mode) = enable.mode {
                    match (&enable.device, &enable.name) {
                        (None, _) => driver.snoop_all = Some(mode),
                        (Some(d), None) => {
                            driver.snoop_devices.insert(d.clone(), mode);
                        }
                        (Some(d), Some(n)) => {
                            driver.snoop_props.insert((d.clone(), n.clone()), mode);
                        }
                    }
                }
                Routing::default()
            }
            _ => {
                if let Some(device) = element.device() {
                    if !driver.devices.contains(device) && driver.devices.len() < MAX_INTEREST {
                        driver.devices.insert(device.to_owned());
                    }
                }
                let mut targets = self.clients_for(element, None);
                targets.extend(self.snoopers_for(element, from));
                Routing { targets, ..Routing::default() }
            }
        }
    }
}

#[cfg(test)]
mod tests;
