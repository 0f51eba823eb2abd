//! napi handles over the Rust INDI server (`crates/indi-hub`): the server itself, and the
//! link of each in-process TypeScript driver.

use crate::stdio::ElementsCallback;
use crate::wire::{from_wire, to_wire, WireElement};
use indi_hub::exdriver::DriverSpec;
use indi_hub::local::LocalDriver;
use indi_hub::outbox::QueueLimits;
use indi_hub::remote::RemoteSpec;
use indi_hub::{HubConfig, Server};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Batches handed to an in-process driver's JS callback and not yet processed, at most: the
/// rest waits in the driver's queue (which has the -m bound).
const MAX_IN_FLIGHT: usize = 16;

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
    /// `-d`: MB of backlog after which a client's queued BLOBs are replaced by newer ones (default 5, 0 disables).
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
    /// Drivers and remotes added before `listen()`; started there.
    pending: Mutex<Option<Vec<Pending>>>,
}

fn megabytes(mb: Option<f64>, default: f64) -> usize {
    (mb.unwrap_or(default).max(0.0) * 1024.0 * 1024.0) as usize
}

#[napi]
impl NativeServer {
    #[napi(constructor)]
    pub fn new(options: ServerOptions) -> Result<Self> {
        let port = u16::try_from(options.port.unwrap_or(7624)).map_err(|_| Error::from_reason("port must be 0..65535"))?;
        let mut config = HubConfig {
            max_connections: options.max_connections.map(|n| n as usize),
            client_queue: QueueLimits {
                blob_replace_after: megabytes(options.blob_drop_mb, 5.0),
                max_backlog: megabytes(options.max_queue_mb, 128.0),
            },
            max_restarts: options.max_restarts.unwrap_or(10),
            fifo: options.fifo.map(Into::into),
            log_dir: options.log_dir.map(Into::into),
            ..HubConfig::default()
        };
        if let Some(max) = options.max_message {
            config.limits.max_element = max.max(1024.0) as usize;
        }
        indi_hub::logging::init(options.verbosity.unwrap_or(0).min(3) as u8);
        Ok(NativeServer {
            server: Server::new(config),
            host: options.host.unwrap_or_else(|| "localhost".into()),
            port,
            pending: Mutex::new(Some(Vec::new())),
        })
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

    /// Adds a driver process (started with the server, restarted when it dies).
    #[napi]
    pub fn add_exdriver(&self, program: String, args: Vec<String>) {
        self.start(Pending::Driver(DriverSpec { program, args, env: Vec::new() }));
    }

    /// Links to another INDI server; its devices are served here too.
    #[napi]
    pub fn add_remote(&self, host: String, port: u32, device: Option<String>, blob_enable: bool) -> Result<()> {
        let port = u16::try_from(port).map_err(|_| Error::from_reason("port must be 0..65535"))?;
        self.start(Pending::Remote(RemoteSpec { host, port, device, blob_enable }));
        Ok(())
    }

    /// Connects an in-process driver; `onElements` receives what is routed to it.
    #[napi(ts_args_type = "name: string, onElements: (elements: WireElement[]) => void")]
    pub fn add_driver(&self, name: String, on_elements: ElementsCallback) -> NativeLocalDriver {
        let driver = Arc::new(LocalDriver::attach(self.server.hub(), &name));
        let callback = Arc::new(on_elements);
        let pump = driver.clone();
        within_runtime_if_available(|| {
            tokio::spawn(async move {
                // Calls are not awaited one by one (that wakes this task from the JS thread
                // after every batch: latency); at most MAX_IN_FLIGHT batches wait for JS.
                let in_flight = Arc::new((AtomicUsize::new(0), Notify::new()));
                let mut batch = Vec::new();
                while pump.receive(&mut batch).await {
                    // Members are parsed here, once, only for in-process drivers.
                    let elements: Vec<WireElement> = batch
                        .drain(..)
                        .map(|frame| match frame.element() {
                            Ok(element) => to_wire(element.clone()),
                            Err(error) => crate::wire::error_element(&error.to_string()),
                        })
                        .collect();
                    while in_flight.0.load(Ordering::Acquire) >= MAX_IN_FLIGHT {
                        let freed = in_flight.1.notified();
                        if in_flight.0.load(Ordering::Acquire) < MAX_IN_FLIGHT {
                            break;
                        }
                        freed.await;
                    }
                    in_flight.0.fetch_add(1, Ordering::AcqRel);
                    let done = in_flight.clone();
                    let status = callback.call_with_return_value(elements, ThreadsafeFunctionCallMode::NonBlocking, move |_, _| {
                        done.0.fetch_sub(1, Ordering::AcqRel);
                        done.1.notify_one();
                        Ok(())
                    });
                    if status != Status::Ok {
                        in_flight.0.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            });
        });
        NativeLocalDriver { driver }
    }

    /// Sends a message to every client (stamped now unless `timestamp` is given).
    #[napi]
    pub fn send_message(&self, message: String, timestamp: Option<String>) {
        self.server.hub().message_at(&message, timestamp);
    }

    /// Binds the port and starts everything added so far; resolves with the port bound.
    #[napi]
    pub async fn listen(&self) -> Result<u32> {
        let address = self
            .server
            .listen(&self.host, self.port)
            .await
            .map_err(|e| Error::from_reason(format!("cannot listen on {}:{}: {e}", self.host, self.port)))?;
        let pending = self.pending.lock().unwrap().take().unwrap_or_default();
        for item in pending {
            match item {
                Pending::Driver(spec) => self.server.add_driver(spec),
                Pending::Remote(spec) => self.server.add_remote(spec),
            }
        }
        self.server.start_fifo().map_err(|e| Error::from_reason(format!("cannot open the FIFO: {e}")))?;
        Ok(u32::from(address.port()))
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

/// The link of one in-process driver to the server.
#[napi]
pub struct NativeLocalDriver {
    driver: Arc<LocalDriver>,
}

#[napi]
impl NativeLocalDriver {
    /// Routes an element from the driver. False asks the driver to await `drained()`.
    #[napi]
    pub fn send(&self, element: WireElement) -> Result<bool> {
        let element = from_wire(element).map_err(Error::from_reason)?;
        Ok(self.driver.send(element))
    }

    /// Resolves when the readers of the driver's BLOBs have caught up (within a second).
    #[napi]
    pub async fn drained(&self) -> Result<()> {
        self.driver.drained().await;
        Ok(())
    }

    /// Disconnects the driver (clients are told its devices are gone).
    #[napi]
    pub fn close(&self) {
        self.driver.detach();
    }
}
