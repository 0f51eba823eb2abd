//! The server: connections register here, every received element is routed here, and the
//! routing result is pushed into the destinations' queues (encoded once, shared).

use crate::frame::Frame;
use crate::outbox::{Outbox, Push, QueueLimits};
use crate::router::{EndpointId, Router};
use indi_codec::{Element, Limits, Message};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn};

/// Server settings (the CLI flags of indiserver and ours).
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Most clients at once (`None`: unlimited).
    pub max_connections: Option<usize>,
    /// Decoder limits for everything received (`--max-message`).
    pub limits: Limits,
    /// Slow-client policies (`-d`, `-m`).
    pub client_queue: QueueLimits,
    /// Restarts of a dying driver process before giving up (`-r`).
    pub max_restarts: u32,
    /// FIFO for `start`/`stop` commands (`-f`); the server then outlives its drivers.
    pub fifo: Option<PathBuf>,
    /// Directory for driver `message` logs (`-l`).
    pub log_dir: Option<PathBuf>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_connections: None,
            limits: Limits::default(),
            client_queue: QueueLimits { blob_replace_after: 5 << 20, max_backlog: 128 << 20 },
            max_restarts: 10,
            fifo: None,
            log_dir: None,
        }
    }
}

/// What a connection is, for routing and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A TCP client.
    Client,
    /// A driver (in-process or child process).
    Driver,
    /// A link to another server at `host:port`.
    Remote(String),
}

/// A registered connection: its queue and the token that stops its tasks.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Id used by the router.
    pub id: EndpointId,
    /// Name in log lines (`Client 7`, `Driver indi_simulator_ccd`).
    pub name: Arc<str>,
    /// Outgoing queue.
    pub outbox: Arc<Outbox>,
    /// Cancelled when the connection must close.
    pub cancel: CancellationToken,
    /// Client, driver or remote.
    pub role: Role,
}

#[derive(Default)]
struct State {
    router: Router,
    endpoints: HashMap<EndpointId, Endpoint>,
    clients: usize,
}

struct Inner {
    config: HubConfig,
    state: Mutex<State>,
    next_id: AtomicU64,
    /// Drivers that may still come back (supervised processes, in-process drivers, remotes).
    drivers_alive: AtomicUsize,
    stop: CancellationToken,
    exit: watch::Sender<Option<i32>>,
}

/// A running INDI server. Cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

impl Hub {
    /// A server with no connections yet.
    pub fn new(config: HubConfig) -> Hub {
        let (exit, _) = watch::channel(None);
        Hub(Arc::new(Inner {
            config,
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            drivers_alive: AtomicUsize::new(0),
            stop: CancellationToken::new(),
            exit,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.0.config
    }

    /// Cancelled when the server shuts down.
    pub fn stopping(&self) -> CancellationToken {
        self.0.stop.clone()
    }

    /// Registers a connection; `None` when it is a client beyond `max_connections`.
    pub fn register(&self, role: Role, name: impl FnOnce(EndpointId) -> String) -> Option<Endpoint> {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        // Drivers and links get the client limits too, but past -m they drop instead of closing.
        let limits = self.0.config.client_queue;
        let endpoint = Endpoint {
            id,
            name: name(id).into(),
            outbox: if role == Role::Client { Outbox::new(limits) } else { Outbox::dropping(limits) },
            cancel: self.0.stop.child_token(),
            role: role.clone(),
        };
        let mut state = self.0.state.lock().unwrap();
        match &role {
            Role::Client => {
                if self.0.config.max_connections.is_some_and(|max| state.clients >= max) {
                    return None;
                }
                state.clients += 1;
                state.router.add_client(id);
            }
            Role::Driver => state.router.add_driver(id, None),
            Role::Remote(key) => state.router.add_driver(id, Some(key.clone())),
        }
        state.endpoints.insert(id, endpoint.clone());
        Some(endpoint)
    }

    /// Forgets a connection and stops its tasks; a driver's devices are deleted for clients.
    pub fn unregister(&self, id: EndpointId) {
        let (endpoint, gone) = {
            let mut state = self.0.state.lock().unwrap();
            let Some(endpoint) = state.endpoints.remove(&id) else { return };
            if endpoint.role == Role::Client {
                state.clients -= 1;
            }
            let gone = state.router.remove(id);
            let gone: Vec<_> = gone
                .into_iter()
                .map(|(element, targets)| (element, targets.iter().filter_map(|t| state.endpoints.get(t).cloned()).collect::<Vec<_>>()))
                .collect();
            (endpoint, gone)
        };
        endpoint.cancel.cancel();
        // Nothing more goes out: free what was queued (a dead client's BLOBs) at once.
        endpoint.outbox.abandon();
        for (element, targets) in gone {
            debug!("{}: {}", endpoint.name, String::from_utf8_lossy(&indi_codec::to_bytes(&element)).trim_end());
            self.push_all(Frame::new(element), &targets);
        }
    }

    /// Routes an element received from connection `from` and queues it for its destinations.
    /// Returns the smallest backlog among the destinations: when even the fastest reader is
    /// behind, an in-process sender should wait (a stalled reader alone never slows it).
    pub fn deliver(&self, from: EndpointId, element: Element) -> usize {
        let (routing, source, targets, sender, from_driver) = {
            let mut state = self.0.state.lock().unwrap();
            let routing = state.router.route(from, &element);
            let source = state.endpoints.get(&from).map(|e| e.name.clone());
            let from_driver = state.endpoints.get(&from).is_some_and(|e| e.role == Role::Driver);
            let targets: Vec<Endpoint> = routing.targets.iter().filter_map(|t| state.endpoints.get(t).cloned()).collect();
            let sender = routing.reply.as_ref().and_then(|_| state.endpoints.get(&from).cloned());
            (routing, source, targets, sender, from_driver)
        };
        let source = source.unwrap_or_else(|| "?".into());
        if let Element::GetProperties(get) = &element {
            self.log_version(from, &source, get.version.as_deref());
        }
        if let Some(reason) = routing.dropped {
            self.log_drop(&source, &element, &reason);
            return 0;
        }
        if crate::logging::verbosity() >= 2 {
            trace!("{source}: read {}", summary(&element));
        }
        if let Some(dir) = self.0.config.log_dir.as_ref().filter(|_| from_driver) {
            crate::driverlog::append(dir, &element);
        }
        if let (Some(reply), Some(sender)) = (routing.reply, sender) {
            self.push_all(Frame::new(reply), std::slice::from_ref(&sender));
        }
        if targets.is_empty() {
            return 0;
        }
        let frame = Frame::new(routing.replacement.unwrap_or(element));
        if crate::logging::verbosity() >= 3 {
            trace!("{source}: {}", String::from_utf8_lossy(frame.bytes()).trim_end());
        }
        self.push_all(frame, &targets)
    }

    /// Spec §4.4: a client's `getProperties` of another version reaches drivers as 1.7.
    fn log_version(&self, from: EndpointId, source: &str, version: Option<&str>) {
        if version == Some("1.7") || self.0.state.lock().unwrap().endpoints.get(&from).is_none_or(|e| e.role != Role::Client) {
            return;
        }
        match version {
            None => debug!("{source}: getProperties without a version treated as 1.7"),
            Some(version) => debug!("{source}: getProperties version {version:?} treated as 1.7"),
        }
    }

    fn log_drop(&self, source: &str, element: &Element, reason: &str) {
        if reason.starts_with("clients may not") {
            warn!("{source}: dropped {}: {reason}", summary(element));
        } else {
            debug!("{source}: dropped {}: {reason}", summary(element));
        }
    }

    /// Pushes a frame to each endpoint, closing clients that fell too far behind; returns the
    /// smallest backlog among them.
    fn push_all(&self, frame: Arc<Frame>, targets: &[Endpoint]) -> usize {
        let mut least = usize::MAX;
        for target in targets {
            match target.outbox.push(frame.clone()) {
                Push::Overflow { backlog } => {
                    warn!("{}: {backlog} bytes behind, shutting down", target.name);
                    self.unregister(target.id);
                }
                Push::Queued | Push::Replaced => least = least.min(target.outbox.backlog()),
                Push::Dropped { backlog, first: true } => warn!("{}: {backlog} bytes behind, dropping what it is sent until it reads again", target.name),
                Push::Dropped { .. } | Push::Closed => {}
            }
        }
        if least == usize::MAX {
            0
        } else {
            least
        }
    }

    /// Sends a universal `<message>` to every client, and logs it.
    pub fn message(&self, text: &str) {
        info!("{text}");
        self.message_at(text, None);
    }

    /// Sends a universal `<message>` with a timestamp (now when `None`) to every client.
    pub fn message_at(&self, text: &str, timestamp: Option<String>) {
        let element = Element::Message(Message {
            device: None,
            timestamp: Some(timestamp.unwrap_or_else(now_timestamp)),
            message: Some(text.to_owned()),
        });
        let targets: Vec<Endpoint> = {
            let state = self.0.state.lock().unwrap();
            state.endpoints.values().filter(|e| e.role == Role::Client).cloned().collect()
        };
        self.push_all(Frame::new(element), &targets);
    }

    /// Counts a driver that keeps the server alive until `driver_gone`.
    pub fn driver_started(&self) {
        self.0.drivers_alive.fetch_add(1, Ordering::AcqRel);
    }

    /// A driver will not come back: with none left and no FIFO, the server ends with status 1.
    pub fn driver_gone(&self) {
        let last = self.0.drivers_alive.fetch_sub(1, Ordering::AcqRel) == 1;
        if last && self.0.config.fifo.is_none() && !self.0.stop.is_cancelled() {
            info!("good bye");
            self.finish(1);
        }
    }

    /// Stops the server with an exit status (the first status given wins).
    pub fn finish(&self, code: i32) {
        self.0.exit.send_if_modified(|exit| {
            if exit.is_none() {
                *exit = Some(code);
                true
            } else {
                false
            }
        });
        self.0.stop.cancel();
    }

    /// Stops the server (status 0).
    pub fn shutdown(&self) {
        self.finish(0);
    }

    /// Waits until the server stops; returns its exit status.
    pub async fn wait(&self) -> i32 {
        let mut exit = self.0.exit.subscribe();
        loop {
            if let Some(code) = *exit.borrow_and_update() {
                return code;
            }
            if exit.changed().await.is_err() {
                return 0;
            }
        }
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.0.state.lock().unwrap().clients
    }

    /// Devices announced by a connection (a driver).
    pub fn devices_of(&self, id: EndpointId) -> Vec<String> {
        self.0.state.lock().unwrap().router.devices_of(id)
    }
}

/// `setNumberVector Telescope.EQUATORIAL_EOD_COORD` for -vv logs.
pub fn summary(element: &Element) -> String {
    // Peers choose these names: escaped, so `&#10;` cannot forge a log line (KStars greps them).
    let (device, name) = (element.device().map(str::escape_debug), element.name().map(str::escape_debug));
    match (device, name) {
        (Some(d), Some(n)) => format!("<{} {d}.{n}>", element.tag()),
        (Some(d), None) => format!("<{} {d}>", element.tag()),
        _ => format!("<{}>", element.tag()),
    }
}

/// The current time as an INDI timestamp.
pub fn now_timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    indi_codec::timestamp::format_timestamp(now.as_millis() as i64)
}
