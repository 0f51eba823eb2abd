//! The server's registry: connections register here and leave here, and the server's life
//! (drivers alive, exit status) is kept here. Routing and queueing of what they send is in
//! [`crate::delivery`], what is logged of it in [`crate::traffic_log`].

use crate::endpoint::{Endpoint, Registration, Role};
use crate::frame::Frame;
use crate::outbox::Outbox;
use crate::router::{EndpointId, Router};
use indi_codec::{Element, Message};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

pub use crate::config::{HubConfig, DEFAULT_PORT};

#[derive(Default)]
pub(crate) struct State {
    pub(crate) router: Router,
    pub(crate) endpoints: FxHashMap<EndpointId, Arc<Endpoint>>,
    clients: usize,
}

pub(crate) struct Inner {
    pub(crate) config: HubConfig,
    pub(crate) state: Mutex<State>,
    next_id: AtomicU64,
    /// Drivers that may still come back (supervised processes, in-process drivers, remotes).
    drivers_alive: AtomicUsize,
    stop: CancellationToken,
    exit: watch::Sender<Option<i32>>,
    /// What [`Hub::settled`] waits for.
    pub(crate) settle: crate::settle::Settle,
    /// Drivers' inputs, which arriving clients wait for (see [`crate::arrival`]).
    pub(crate) inputs: crate::arrival::Inputs,
}

/// A running INDI server. Cheap to clone.
#[derive(Clone)]
pub struct Hub(pub(crate) Arc<Inner>);

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
            settle: crate::settle::Settle::default(),
            inputs: crate::arrival::Inputs::default(),
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

    /// Registers a connection until the returned value is dropped; `None` when it is a client
    /// beyond `max_connections`.
    pub fn register(&self, role: Role, name: impl FnOnce(EndpointId) -> String) -> Option<Registration> {
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
        Some(Registration::new(self.clone(), endpoint))
    }

    /// Scopes a remote link to the one device it carries (see [`crate::router::Router::chain_device`]).
    pub fn chain_device(&self, id: EndpointId, device: &str) {
        self.0.state.lock().unwrap().router.chain_device(id, device);
    }

    /// Forgets a connection and stops its tasks; a driver's devices are deleted for clients.
    /// Called by [`Registration`] (dropped or told) and for a client that fell too far behind.
    pub(crate) fn unregister(&self, id: EndpointId) {
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
        // Nothing more goes out: free what was queued (a dead client's BLOBs) at once.
        crate::memory::freed(endpoint.outbox.abandon());
        for (element, targets) in gone {
            debug!("{}: {}", endpoint.name, String::from_utf8_lossy(&indi_codec::to_bytes(&element)).trim_end());
            self.push_all(Frame::new(element), &targets);
        }
    }

    /// Sends a universal `<message>` to every client, and logs it.
    pub fn message(&self, text: &str) {
        info!("{text}");
        self.message_at(text, None);
    }

    /// Sends a universal `<message>` with a timestamp (now when `None`) to every client.
    pub fn message_at(&self, text: &str, timestamp: Option<String>) {
        let timestamp = timestamp.unwrap_or_else(indi_codec::timestamp::now);
        let element = Element::Message(Message { device: None, timestamp: Some(timestamp), message: Some(text.to_owned()) });
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
