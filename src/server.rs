//! napi handles over the Rust INDI server (`crates/indi-hub`): the server itself, and the
//! link of each in-process TypeScript driver.

use crate::driverlink::{HubBackend, NativeDriverLink, ReadyCallback};
use indi_hub::exdriver::DriverSpec;
use indi_hub::feed::ClientFeed;
use indi_hub::local::LocalDriver;
use indi_hub::outbox::QueueLimits;
use indi_hub::remote::RemoteSpec;
use indi_hub::{HubConfig, Server};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::{Arc, Mutex};

/// JS callback given each new client to read. Weak as well.
type ClientCallback = ThreadsafeFunction<NativeClient, (), NativeClient, Status, false, true>;
/// JS callback given each log line. Weak as well.
type LogCallback = ThreadsafeFunction<String, (), String, Status, false, true>;

/// Sends the server's log lines (`YYYY-MM-DDTHH:MM:SS: text`) to `onLine` instead of stderr;
/// `null` sends them to stderr again. Lines reach JavaScript in order, on its own thread.
#[napi(ts_args_type = "onLine: ((line: string) => void) | null")]
pub fn log_to(on_line: Option<LogCallback>) {
    indi_hub::logging::set_sink(on_line.map(|callback| {
        Box::new(move |line: &str| {
            let _ = callback.call(line.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
        }) as indi_hub::logging::Sink
    }));
}

/// Settings of a server (the CLI maps indiserver's flags onto these).
#[napi(object)]
pub struct ServerOptions {
    /// Interface to listen on (default `localhost`).
    pub host: Option<String>,
    /// TCP port (default 7624; 0 picks a free one).
    pub port: Option<u32>,
    /// Most clients at once (default unlimited).
    pub max_connections: Option<u32>,
    /// `-m`: MB of non-BLOB backlog after which a client is disconnected (default 128).
    pub max_queue_mb: Option<f64>,
    /// `-d`: MB of backlog after which a client's queued stream BLOBs are replaced by newer ones (default 5, 0 disables).
    pub blob_drop_mb: Option<f64>,
    /// `-r`: restarts of a dying driver process (default 10).
    pub max_restarts: Option<u32>,
    /// `-f`: FIFO for start/stop commands.
    pub fifo: Option<String>,
    /// `-l`: directory for driver message logs.
    pub log_dir: Option<String>,
    /// `-v` count: 0 to 3.
    pub verbosity: Option<u32>,
    /// Largest element accepted, in bytes (default 256 MiB).
    pub max_message: Option<f64>,
    /// `-u`: local socket to listen on too (a Linux abstract name, as indiserver's).
    pub unix_socket: Option<String>,
    /// A local socket that cannot be bound is logged and skipped, not an error (the CLI's default one).
    pub unix_socket_optional: Option<bool>,
    /// `--pipes`: driver processes get pipes, not a unix socket (no shared-memory BLOBs).
    pub driver_pipes: Option<bool>,
}

enum Pending {
    Driver(DriverSpec),
    Remote(RemoteSpec),
}

/// The INDI server (`IPyServer` and `indi-node serve` drive it).
#[napi]
pub struct NativeServer {
    server: Arc<Server>,
    host: String,
    port: u16,
    unix_socket: Option<(String, bool)>,
    /// Drivers and remotes added before `listen()`; started there.
    pending: Mutex<Option<Vec<Pending>>>,
}

/// MB as given (negative: 0) in bytes, or the hub's default.
fn megabytes(mb: Option<f64>, default: usize) -> usize {
    mb.map_or(default, |mb| (mb.max(0.0) * 1024.0 * 1024.0) as usize)
}

/// The server's defaults, from the hub's configuration: `IPyServer` and the CLI take theirs from
/// here (a test holds `ts/defaults.ts`, which the CLI's help needs without the addon, to them).
#[napi(object)]
pub struct ServerDefaults {
    /// TCP port.
    pub port: u32,
    /// `-d`, MB.
    pub blob_drop_mb: f64,
    /// `-m`, MB.
    pub max_queue_mb: f64,
    /// `-r`.
    pub max_restarts: u32,
    /// Largest element accepted, bytes.
    pub max_message: f64,
    /// `-u`: indiserver's local socket name.
    pub unix_socket: String,
}

/// The defaults of [`NativeServer`]'s options.
#[napi]
pub fn server_defaults() -> ServerDefaults {
    let config = HubConfig::default();
    let mb = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    ServerDefaults {
        port: u32::from(indi_hub::DEFAULT_PORT),
        blob_drop_mb: mb(config.client_queue.blob_replace_after),
        max_queue_mb: mb(config.client_queue.max_backlog),
        max_restarts: config.max_restarts,
        unix_socket: indi_hub::unixsock::DEFAULT_UNIX_SOCKET.into(),
        max_message: config.limits.max_element as f64,
    }
}

/// A remote server argument, `[device]@host[:port]`, as `indi-node serve` and FIFO `start` read it.
#[napi(object)]
pub struct RemoteArgument {
    /// The one device to chain, if named.
    pub device: Option<String>,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u32,
}

/// Parses `[device]@host[:port]`; `null` when `text` is not one.
#[napi]
pub fn parse_remote(text: String) -> Option<RemoteArgument> {
    indi_hub::server::parse_remote(&text).map(|spec| RemoteArgument { device: spec.device, host: spec.host, port: u32::from(spec.port) })
}

#[napi]
impl NativeServer {
    #[napi(constructor)]
    pub fn new(options: ServerOptions) -> Result<Self> {
        let port = u16::try_from(options.port.unwrap_or(u32::from(indi_hub::DEFAULT_PORT))).map_err(|_| Error::from_reason("port must be 0..65535"))?;
        let defaults = HubConfig::default();
        let mut config = HubConfig {
            max_connections: options.max_connections.map(|n| n as usize),
            client_queue: QueueLimits {
                blob_replace_after: megabytes(options.blob_drop_mb, defaults.client_queue.blob_replace_after),
                max_backlog: megabytes(options.max_queue_mb, defaults.client_queue.max_backlog),
            },
            max_restarts: options.max_restarts.unwrap_or(defaults.max_restarts),
            fifo: options.fifo.map(Into::into),
            log_dir: options.log_dir.map(Into::into),
            driver_pipes: options.driver_pipes.unwrap_or(defaults.driver_pipes),
            ..defaults
        };
        if let Some(max) = options.max_message {
            config.limits.max_element = max.max(1024.0) as usize;
        }
        indi_hub::logging::init(options.verbosity.unwrap_or(0).min(3) as u8);
        let server = Server::new(config);
        // Nobody reads the log any more: stop, as indiserver does (it dies of SIGPIPE).
        let weak = Arc::downgrade(&server);
        indi_hub::logging::on_reader_gone(move || {
            if let Some(server) = weak.upgrade() {
                server.hub().finish(1);
            }
        });
        let unix_socket = options.unix_socket.map(|path| (path, options.unix_socket_optional.unwrap_or(false)));
        Ok(NativeServer { server, host: options.host.unwrap_or_else(|| "localhost".into()), port, unix_socket, pending: Mutex::new(Some(Vec::new())) })
    }

    fn start(&self, item: Pending) {
        let mut pending = self.pending.lock().unwrap();
        if let Some(list) = pending.as_mut() {
            list.push(item);
            return;
        }
        within_runtime_if_available(|| match item {
            Pending::Driver(spec) => self.server.add_driver(spec),
            Pending::Remote(spec) => self.server.add_remote(spec),
        });
    }

    /// Adds a driver process (started with the server, restarted when it dies); `pipes` gives it
    /// pipes instead of a unix socket.
    #[napi]
    pub fn add_exdriver(&self, program: String, args: Vec<String>, pipes: Option<bool>) {
        self.start(Pending::Driver(DriverSpec { program, args, env: Vec::new(), pipes: pipes.unwrap_or(false) }));
    }

    /// Links to another INDI server; its devices are served here too.
    #[napi]
    pub fn add_remote(&self, host: String, port: u32, device: Option<String>, blob_enable: bool) -> Result<()> {
        let port = u16::try_from(port).map_err(|_| Error::from_reason("port must be 0..65535"))?;
        self.start(Pending::Remote(RemoteSpec { host, port, device, blob_enable }));
        Ok(())
    }

    /// Connects an in-process driver. `onReady` is called when elements are routed to it from
    /// elsewhere than a client fed on this thread; it takes them with `take()`.
    #[napi(ts_args_type = "name: string, onReady: () => void")]
    pub fn add_driver(&self, name: String, on_ready: ReadyCallback) -> NativeDriverLink {
        NativeDriverLink::new(Arc::new(HubBackend(LocalDriver::attach(self.server.hub(), &name))), on_ready)
    }

    /// From now on, clients are read by JavaScript: `onClient` gets each one's socket
    /// descriptor (a duplicate, to wrap in a `net.Socket`) and feeds what it reads back.
    /// Requests to in-process drivers then reach them without a thread hop.
    #[napi(ts_args_type = "onClient: (client: NativeClient) => void")]
    pub fn read_clients_here(&self, on_client: ClientCallback) -> bool {
        let on_client = Arc::new(on_client);
        self.server.host_clients(Arc::new(move |feed, fd| {
            let client = NativeClient { fd, feed: Mutex::new(feed) };
            if on_client.call(client, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
                // SAFETY: the duplicate was never handed over; closing it is ours to do.
                unsafe { libc::close(fd) };
            }
        }))
    }

    /// The hub, for in-process clients (`ClientLink::attach`).
    pub(crate) fn hub(&self) -> &indi_hub::Hub {
        self.server.hub()
    }

    /// Sends a message to every client (stamped now unless `timestamp` is given).
    #[napi]
    pub fn send_message(&self, message: String, timestamp: Option<String>) {
        self.server.hub().message_at(&message, timestamp);
    }

    /// Binds the port (and the local socket) and starts everything added so far; resolves with the port bound.
    #[napi]
    pub async fn listen(&self) -> Result<u32> {
        if let Some((path, optional)) = &self.unix_socket {
            // Before the drivers start (a client that saw a driver may connect), and before the
            // port: once that accepts, the startup lines are written.
            self.server.listen_unix(path, *optional).map_err(|e| Error::from_reason(format!("cannot listen on local socket {path}: {e}")))?;
        }
        let address =
            self.server.listen(&self.host, self.port).await.map_err(|e| Error::from_reason(format!("cannot listen on {}:{}: {e}", self.host, self.port)))?;
        self.start_pending();
        self.server.start_fifo().map_err(|e| Error::from_reason(format!("cannot open the FIFO: {e}")))?;
        Ok(u32::from(address.port()))
    }

    /// Starts the web panel beside the server, and whatever was added but not started yet
    /// (a panel-only server never listens for INDI clients); resolves with where it listens.
    #[napi]
    pub async fn web(&self, options: crate::web::WebOptions) -> Result<crate::web::WebStarted> {
        let started = crate::web::start(&self.server, options).await?;
        self.start_pending();
        Ok(started)
    }

    /// Starts the drivers and remotes added before (once: later ones start as they are added).
    fn start_pending(&self) {
        for item in self.pending.lock().unwrap().take().unwrap_or_default() {
            match item {
                Pending::Driver(spec) => self.server.add_driver(spec),
                Pending::Remote(spec) => self.server.add_remote(spec),
            }
        }
    }

    /// Resolves with the exit status when the server stops (1: every driver is gone).
    #[napi]
    pub async fn wait(&self) -> i32 {
        self.server.wait().await
    }

    /// Stops the server.
    #[napi]
    pub fn shutdown(&self) {
        self.server.hub().shutdown();
    }
}

/// A client read by JavaScript (see `NativeServer.readClientsHere`).
#[napi]
pub struct NativeClient {
    fd: i32,
    feed: Mutex<ClientFeed>,
}

#[napi]
impl NativeClient {
    /// The socket descriptor to read from (the reader owns and closes it).
    #[napi(getter)]
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Routes bytes the client sent. False: the client is disconnected, stop reading.
    #[napi]
    pub fn feed(&self, bytes: &[u8]) -> bool {
        self.feed.lock().unwrap().feed(bytes)
    }

    /// The client closed its side (or reading failed).
    #[napi]
    pub fn end(&self) {
        self.feed.lock().unwrap().end();
    }
}
