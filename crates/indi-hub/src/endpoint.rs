//! What a connection is to the hub: its role, its queue, and the registration that keeps it there.

use crate::hub::Hub;
use crate::outbox::Outbox;
use crate::router::EndpointId;
use crate::socket::ClientSocket;
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

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

/// A connection's place in the hub, for as long as this value lives: dropping it unregisters the
/// connection (its queue is freed, its devices deleted for clients), however its task ends.
pub struct Registration {
    hub: Hub,
    endpoint: Endpoint,
}

impl Registration {
    pub(crate) fn new(hub: Hub, endpoint: Endpoint) -> Registration {
        Registration { hub, endpoint }
    }

    /// The hub it is registered with.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Unregisters now (dropping does the same; a second call does nothing).
    pub fn unregister(&self) {
        self.hub.unregister(self.endpoint.id);
    }
}

impl std::ops::Deref for Registration {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.unregister();
    }
}
