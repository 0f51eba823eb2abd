//! The server: connections register here, every received element is routed here, and the
//! routing result is pushed into the destinations' queues (encoded once, shared).

use crate::feed::ClientHost;
use crate::frame::Frame;
use crate::io::ClientSocket;
use crate::outbox::{Outbox, Push, QueueLimits};
use crate::router::{EndpointId, Router, Routing, Targets};
use indi_codec::{Element, Head, Limits, Message, Tag};
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// Driver processes get pipes, not a unix socket (`--pipes`: no shared-memory BLOBs).
    pub driver_pipes: bool,
}

/// The INDI port (indiserver's default).
pub const DEFAULT_PORT: u16 = 7624;

impl Default for HubConfig {
    /// indiserver's defaults: `-d 5`, `-m 128`, `-r 10`; no client limit.
    fn default() -> Self {
        HubConfig {
            max_connections: None,
            limits: Limits::default(),
            client_queue: QueueLimits { blob_replace_after: 5 << 20, max_backlog: 128 << 20 },
            max_restarts: 10,
            fifo: None,
            log_dir: None,
            driver_pipes: false,
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
    /// The socket's write side, for senders that write directly when nothing is queued.
    pub direct: Arc<OnceLock<Arc<ClientSocket>>>,
}

#[derive(Default)]
struct State {
    router: Router,
    endpoints: FxHashMap<EndpointId, Arc<Endpoint>>,
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
    /// Reads clients in place of tokio when set (see [`crate::feed`]).
    client_host: OnceLock<ClientHost>,
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
            client_host: OnceLock::new(),
        }))
    }

    /// From now on, new clients are handed to `host`, which reads them (see [`crate::feed`]).
    /// Set once; false if it was already set.
    pub fn host_clients(&self, host: ClientHost) -> bool {
        self.0.client_host.set(host).is_ok()
    }

    /// Who reads new clients, when not tokio.
    pub fn client_host(&self) -> Option<&ClientHost> {
        self.0.client_host.get()
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
            direct: Arc::default(),
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
        state.endpoints.insert(id, Arc::new(endpoint.clone()));
        Some(endpoint)
    }

    /// Scopes a remote link to the one device it carries (see [`crate::router::Router::chain_device`]).
    pub fn chain_device(&self, id: EndpointId, device: &str) {
        self.0.state.lock().unwrap().router.chain_device(id, device);
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
                .map(|(element, targets)| (element, targets.iter().filter_map(|t| state.endpoints.get(t).cloned()).collect::<Vec<Arc<Endpoint>>>()))
                .collect();
            (endpoint, gone)
        };
        endpoint.cancel.cancel();
        // Nothing more goes out: free what was queued (a dead client's BLOBs) at once, and give
        // it back to the kernel once departures have freed enough (many small queues add up).
        let dropped = endpoint.outbox.abandon();
        let freed = FREED_SINCE_RETURN.fetch_add(dropped, Ordering::AcqRel) + dropped;
        if freed > RETURN_AFTER || (endpoint.role == Role::Client && self.client_count() == 0 && freed > 0) {
            FREED_SINCE_RETURN.store(0, Ordering::Release);
            return_freed_memory();
        }
        for (element, targets) in gone {
            debug!("{}: {}", endpoint.name, String::from_utf8_lossy(&indi_codec::to_bytes(&element)).trim_end());
            self.push_all(Frame::new(element), &targets);
        }
    }

    /// Routes an element received from connection `from` and queues it for its destinations.
    /// See [`Hub::deliver_all`] for what it returns.
    pub fn deliver(&self, from: EndpointId, frame: Arc<Frame>) -> Option<Pace> {
        self.deliver_all(from, vec![frame])
    }

    /// Routes a batch of elements from one connection (everything one read brought): one lock
    /// for the routing, then one lock and one wake-up per destination queue.
    ///
    /// Returns a [`Pace`] when even the fastest reader of the BLOBs just queued is behind: the
    /// sender should let it catch up before sending more, so a healthy client gets every frame
    /// while a stalled one queues them (up to `-m`, or replaced past `-d` when they are streams).
    /// Which reader is the fastest is seen as they drain: a stalled reader whose queue holds one
    /// replaced frame may be behind by less than a healthy one that is taking its batch.
    pub fn deliver_all(&self, from: EndpointId, frames: Vec<Arc<Frame>>) -> Option<Pace> {
        let mut pushes: Vec<(Arc<Endpoint>, Vec<Arc<Frame>>)> = Vec::new();
        let mut dropped = Vec::new();
        let sender = self.0.state.lock().unwrap().endpoints.get(&from).cloned();
        let source = sender.as_ref().map_or_else(|| "?".into(), |e| e.name.clone());
        let from_driver = sender.as_ref().is_some_and(|e| e.role == Role::Driver);
        let from_client = sender.as_ref().is_some_and(|e| e.role == Role::Client);
        self.log_read(&source, &frames, from_driver, from_client);
        {
            let state = &mut *self.0.state.lock().unwrap();
            // Consecutive updates of one property from one driver (a burst) go where the first
            // went: routing each would look up the same names again. Routing an update changes
            // nothing that would route the next one differently.
            let from_upstream = state.router.is_driver(from); // a driver or a remote server
            let mut previous: Option<(Head, Targets)> = None;
            // Frames are moved, not cloned, into the last queue they go to.
            for frame in frames {
                let routing = match &previous {
                    Some((head, targets)) if head == frame.head() => Routing { targets: targets.clone(), ..Routing::default() },
                    _ => {
                        let routing = state.router.route(from, &frame);
                        let plain = routing.reply.is_none() && routing.replacement.is_none() && routing.dropped.is_none() && routing.rewritten.is_empty();
                        let memo = from_upstream && plain && matches!(frame.head().tag, Tag::Set(_));
                        previous = memo.then(|| (frame.head().clone(), routing.targets.clone()));
                        routing
                    }
                };
                if let Some(reason) = routing.dropped {
                    dropped.push((frame, reason));
                    continue;
                }
                if let (Some(reply), Some(sender)) = (routing.reply, &sender) {
                    queue_for(&mut pushes, sender, Frame::new(reply));
                }
                for (target, element) in routing.rewritten {
                    if let Some(endpoint) = state.endpoints.get(&target) {
                        queue_for(&mut pushes, endpoint, Frame::new(element));
                    }
                }
                if routing.targets.is_empty() {
                    continue;
                }
                let mut out = Some(routing.replacement.map_or(frame, Frame::new));
                let mut targets = routing.targets.iter().filter_map(|target| state.endpoints.get(target)).peekable();
                while let Some(endpoint) = targets.next() {
                    let frame = if targets.peek().is_some() { out.clone() } else { out.take() };
                    queue_for(&mut pushes, endpoint, frame.expect("taken by the last target only"));
                }
            }
        }
        for (frame, reason) in &dropped {
            self.log_drop(&source, frame, reason);
        }
        let mut readers: Vec<(usize, Arc<Endpoint>)> = Vec::new();
        for (endpoint, frames) in pushes {
            let carries_blob = frames.iter().any(|f| f.blob_key().is_some());
            let backlog = self.push_frames(&endpoint, frames);
            if carries_blob && backlog != usize::MAX {
                readers.push((backlog, endpoint));
            }
        }
        let (pause, resume) = self.pace_thresholds();
        let behind = !readers.is_empty() && readers.iter().all(|(backlog, _)| *backlog > pause);
        behind.then(|| Pace { readers: readers.into_iter().map(|(_, reader)| reader).collect(), resume })
    }

    /// What is logged of every element read: versions of clients' `getProperties`, each
    /// element at `-vv`, and drivers' elements in `-l` logs.
    fn log_read(&self, source: &str, frames: &[Arc<Frame>], from_driver: bool, from_client: bool) {
        if from_client {
            for frame in frames.iter().filter(|f| f.head().tag == Tag::GetProperties) {
                if let Ok(Element::GetProperties(get)) = frame.element() {
                    log_version(source, get.version.as_deref());
                }
            }
        }
        if crate::logging::verbosity() >= 2 {
            for frame in frames.iter().flat_map(Frame::singles) {
                trace!("{source}: read {}", summary(&frame));
                if crate::logging::verbosity() >= 3 {
                    trace!("{source}: {}", String::from_utf8_lossy(frame.bytes()).trim_end());
                }
            }
        }
        if let Some(dir) = self.0.config.log_dir.as_ref().filter(|_| from_driver) {
            for single in frames.iter().flat_map(Frame::singles) {
                if let Ok(element) = single.element() {
                    crate::driverlog::append(dir, element);
                }
            }
        }
    }

    /// Backlogs at which a BLOB sender pauses and resumes: below the replacement threshold, so
    /// a reader that keeps up is paced before it would lose frames.
    fn pace_thresholds(&self) -> (usize, usize) {
        match self.0.config.client_queue.blob_replace_after {
            0 => (8 << 20, 2 << 20),
            limit => (limit / 2, limit / 4),
        }
    }

    fn log_drop(&self, source: &str, frame: &Frame, reason: &str) {
        // Reasons quote names a peer chose.
        let reason = capped(reason, 2 * LOGGED_NAME);
        if reason.starts_with("clients may not") {
            warn!("{source}: dropped {}: {reason}", summary(frame));
        } else {
            debug!("{source}: dropped {}: {reason}", summary(frame));
        }
    }

    /// Pushes a frame to each endpoint.
    fn push_all(&self, frame: Arc<Frame>, targets: &[Arc<Endpoint>]) {
        for target in targets {
            self.push_frames(target, vec![frame.clone()]);
        }
    }

    /// Queues frames for one endpoint, closing a client that fell too far behind; returns its
    /// backlog (`usize::MAX` when it is gone).
    fn push_frames(&self, target: &Endpoint, frames: Vec<Arc<Frame>>) -> usize {
        if let Some(socket) = target.direct.get() {
            // Small BLOBs only: a BLOB is written by the writer task, in parallel with the
            // sender. Other elements are written here up to a larger size: waking the writer's
            // thread costs more than the copy, and takes a core from the client on a small machine.
            let updates = frames.iter().all(|f| !f.head().tag.is_blob());
            let size: usize = frames.iter().map(|f| f.bytes().len()).sum();
            if size <= if updates { DIRECT_UPDATES_MAX } else { DIRECT_WRITE_MAX } && target.outbox.try_claim() {
                target.outbox.release(write_now(socket, &frames));
                return target.outbox.backlog();
            }
        }
        match target.outbox.push_all(frames) {
            Push::Overflow { backlog } => {
                warn!("{}: {backlog} bytes behind, shutting down", target.name);
                self.unregister(target.id);
                if backlog > RETURN_AFTER {
                    return_freed_memory();
                }
                usize::MAX
            }
            Push::Dropped { backlog, first } => {
                if first {
                    warn!("{}: {backlog} bytes behind, dropping what it is sent until it reads again", target.name);
                }
                usize::MAX
            }
            Push::Closed => usize::MAX,
            Push::Queued | Push::Replaced => target.outbox.backlog(),
        }
    }

    /// Sends a universal `<message>` to every client, and logs it.
    pub fn message(&self, text: &str) {
        info!("{text}");
        self.message_at(text, None);
    }

    /// Sends a universal `<message>` with a timestamp (now when `None`) to every client.
    pub fn message_at(&self, text: &str, timestamp: Option<String>) {
        let element = Element::Message(Message { device: None, timestamp: Some(timestamp.unwrap_or_else(now_timestamp)), message: Some(text.to_owned()) });
        let targets: Vec<Arc<Endpoint>> = {
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

/// Once departed connections' queues have freed this much, it is given back to the kernel (see
/// [`return_freed_memory`]); a thousand clients that leave with small queues add up too.
const RETURN_AFTER: usize = 16 << 20;

/// Bytes freed by departed connections since memory was last given back.
static FREED_SINCE_RETURN: AtomicUsize = AtomicUsize::new(0);

/// Gives free heap memory back to the kernel: the addon keeps up to 256 MiB of it for the next
/// BLOBs (`M_TRIM_THRESHOLD`), which a departed slow client's queue should not occupy.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc's allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Most bytes written directly by their sender when BLOBs are among them (see [`Hub::push_frames`]).
const DIRECT_WRITE_MAX: usize = 64 << 10;

/// Most bytes of updates written directly by their sender in one go (see [`Hub::push_frames`]).
const DIRECT_UPDATES_MAX: usize = 1 << 20;

/// Writes frames without waiting, in one system call; returns what is left to write, in order
/// (all of it on any error: the writer then meets the error and closes the connection).
fn write_now(socket: &ClientSocket, frames: &[Arc<Frame>]) -> Vec<Arc<Frame>> {
    let slices: Vec<std::io::IoSlice<'_>> = frames.iter().map(|f| std::io::IoSlice::new(f.bytes())).collect();
    unwritten_after(frames, socket.try_write_vectored(&slices).unwrap_or(0))
}

/// What is left of `frames` once their first `written` bytes are on the wire.
fn unwritten_after(frames: &[Arc<Frame>], mut written: usize) -> Vec<Arc<Frame>> {
    let mut unwritten = Vec::new();
    for frame in frames {
        let len = frame.bytes().len();
        if written >= len {
            written -= len;
        } else {
            unwritten.push(if written > 0 { frame.tail(written) } else { frame.clone() });
            written = 0;
        }
    }
    unwritten
}

/// Spec §4.4: a client's `getProperties` of another version reaches drivers as 1.7.
fn log_version(source: &str, version: Option<&str>) {
    match version {
        Some("1.7") => {}
        None => debug!("{source}: getProperties without a version treated as 1.7"),
        Some(version) => debug!("{source}: getProperties version {version:?} treated as 1.7"),
    }
}

/// The readers a BLOB sender should wait for (see [`Hub::deliver_all`]).
pub struct Pace {
    readers: Vec<Arc<Endpoint>>,
    resume: usize,
}

/// Longest pause: readers that stopped reading must not hold the sender.
const MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

impl Pace {
    /// Waits until one of the readers has caught up (or a second has passed, or it is gone).
    pub async fn wait(self) {
        let mut waits: Vec<_> = self.readers.iter().map(|reader| Box::pin(reader.outbox.wait_below(self.resume))).collect();
        let any = std::future::poll_fn(|cx| {
            let ready = waits.iter_mut().any(|wait| std::future::Future::poll(wait.as_mut(), cx).is_ready());
            if ready {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        let _ = tokio::time::timeout(MAX_PAUSE, any).await;
    }
}

/// Adds a frame to the batch for `endpoint`.
fn queue_for(pushes: &mut Vec<(Arc<Endpoint>, Vec<Arc<Frame>>)>, endpoint: &Arc<Endpoint>, frame: Arc<Frame>) {
    match pushes.iter_mut().find(|(e, _)| e.id == endpoint.id) {
        Some((_, frames)) => frames.push(frame),
        None => pushes.push((endpoint.clone(), vec![frame])),
    }
}

/// `<setNumberVector Telescope.EQUATORIAL_EOD_COORD>` for log lines.
pub fn summary(frame: &Frame) -> String {
    let head = frame.head();
    let tag = head.tag.as_str();
    // Peers choose these names: escaped, so `&#10;` cannot forge a log line (KStars greps them),
    // and cut, so a huge one cannot make a huge line.
    let logged = |name: &str| capped(&name.escape_debug().to_string(), LOGGED_NAME);
    let (device, name) = (head.device.as_deref().map(logged), head.name.as_deref().map(logged));
    match (device, name) {
        (Some(d), Some(n)) => format!("<{tag} {d}.{n}>"),
        (Some(d), None) => format!("<{tag} {d}>"),
        _ => format!("<{tag}>"),
    }
}

/// Most characters of a peer-chosen name in a log line.
const LOGGED_NAME: usize = 100;

/// `text`, or its first `max` characters and how long it was.
fn capped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// The current time as an INDI timestamp.
pub fn now_timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    indi_codec::timestamp::format_timestamp(now.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn received(text: &str) -> Arc<Frame> {
        let mut codec = indi_codec::IndiCodec::default();
        let (raw, head) = codec.next_checked(&mut bytes::BytesMut::from(text)).unwrap().unwrap();
        Frame::received(raw, head).unwrap()
    }

    fn update(property: &str, value: u32) -> Arc<Frame> {
        received(&format!("<setNumberVector device='d' name='{property}'><oneNumber name='n'>{value}</oneNumber></setNumberVector>\n"))
    }

    #[test]
    fn a_burst_of_updates_reaches_exactly_the_clients_of_each_property() {
        let hub = Hub::new(HubConfig::default());
        let driver = hub.register(Role::Driver, |_| "driver".into()).unwrap();
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let all = hub.register(Role::Client, |_| "all".into()).unwrap();
        hub.deliver(driver.id, received("<defNumberVector device='d' name='A'><defNumber name='n'>0</defNumber></defNumberVector>"));
        hub.deliver(client.id, received("<getProperties version='1.7' device='d' name='A'/>"));
        hub.deliver(all.id, received("<getProperties version='1.7'/>"));
        let mut batch = Vec::new();
        client.outbox.take_now(&mut batch);
        all.outbox.take_now(&mut batch);
        let burst = vec![update("A", 1), update("A", 2), update("B", 3), update("B", 4), update("A", 5)];
        hub.deliver_all(driver.id, burst);
        let values = |endpoint: &Endpoint| {
            let mut frames = Vec::new();
            endpoint.outbox.take_now(&mut frames);
            frames.iter().map(|f| f.bytes().clone()).collect::<Vec<Bytes>>()
        };
        let of = |frames: Vec<Bytes>| frames.iter().map(|b| b[memchr::memmem::find(b, b"'n'>").unwrap() + 4] - b'0').collect::<Vec<u8>>();
        assert_eq!(of(values(&client)), [1, 2, 5]);
        assert_eq!(of(values(&all)), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn received_blobs_are_streams_by_their_format() {
        let blob = |tag: &str| received(&format!("<setBLOBVector device='d' name='b'><oneBLOB name='i' size='3' {tag}>QUJD</oneBLOB></setBLOBVector>"));
        assert!(blob("format='.stream_jpg'").stream_key().is_some());
        assert!(blob("format = \".mjpeg.stream\"").stream_key().is_some());
        assert!(blob("format='.fits'").stream_key().is_none());
        assert!(blob("format='.fits'").blob_key().is_some(), "still a BLOB for pacing");
        assert!(blob("label='stream'").stream_key().is_none());
    }

    #[test]
    fn huge_names_make_short_log_lines() {
        let device = "D".repeat(900_000);
        let line = summary(&received(&format!("<newTextVector device='{device}' name='T&#10;'><oneText name='t'>x</oneText></newTextVector>")));
        assert!(line.len() < 200, "{} bytes", line.len());
        assert!(line.starts_with(&format!("<newTextVector {}… (900000 bytes).T\\n>", "D".repeat(LOGGED_NAME))), "{line}");
        assert_eq!(capped("é".repeat(3).as_str(), 2), "éé… (6 bytes)");
    }

    #[test]
    fn what_a_direct_write_leaves_is_the_rest_of_the_frames_in_order() {
        let frames = [update("A", 1), update("B", 2), update("C", 3)];
        let lengths: Vec<usize> = frames.iter().map(|f| f.bytes().len()).collect();
        let rest = |written: usize| unwritten_after(&frames, written).iter().map(|f| f.bytes().clone()).collect::<Vec<Bytes>>();
        assert_eq!(rest(0), frames.iter().map(|f| f.bytes().clone()).collect::<Vec<_>>());
        assert_eq!(rest(lengths[0] + 4), [frames[1].bytes().slice(4..), frames[2].bytes().clone()]);
        assert_eq!(rest(lengths[0]), [frames[1].bytes().clone(), frames[2].bytes().clone()]);
        assert!(rest(lengths.iter().sum()).is_empty());
    }

    #[tokio::test]
    async fn a_drivers_burst_goes_to_clients_in_runs_and_to_an_in_process_snooper_one_by_one() {
        let hub = Hub::new(HubConfig::default());
        let driver = hub.register(Role::Driver, |_| "driver".into()).unwrap();
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let snooper = crate::local::LocalDriver::attach(&hub, "snooper");
        hub.deliver(driver.id, received("<defNumberVector device='d' name='A'><defNumber name='n'>0</defNumber></defNumberVector>"));
        hub.deliver(client.id, received("<getProperties version='1.7'/>"));
        snooper.send(Element::GetProperties(indi_codec::GetProperties { version: Some("1.7".into()), device: Some("d".into()), name: None }));
        let mut ignored = Vec::new();
        client.outbox.take_now(&mut ignored);
        snooper.take(&mut ignored);
        let sent: String = (1..=40)
            .map(|i| {
                format!("<setNumberVector device='d' name='{}'><oneNumber name='n'>{i}</oneNumber></setNumberVector>\n", if i % 10 == 0 { "B" } else { "A" })
            })
            .collect();
        crate::io::read_loop(&hub, &driver, sent.as_bytes()).await;
        let mut frames = Vec::new();
        client.outbox.take_now(&mut frames);
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.bytes().to_vec()).collect();
        assert_eq!(String::from_utf8(bytes).unwrap(), sent, "the client gets the bytes as sent");
        assert!(frames.len() < 20, "{} frames: updates of one vector should run together", frames.len());
        let mut singles = Vec::new();
        snooper.take(&mut singles);
        let values: Vec<String> = singles
            .iter()
            .map(|f| match f.element() {
                Ok(Element::Set(set)) => match &set.members[0].value {
                    indi_codec::OneValue::Text(text) => text.clone(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, (1..=40).map(|i| i.to_string()).collect::<Vec<_>>(), "the snooper gets each update");
    }
}
