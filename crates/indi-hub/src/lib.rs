//! The INDI server core: routes elements between TCP and local-socket clients, in-process drivers, driver
//! processes and remote servers. Used by `IPyServer` and `indi-node serve` through napi.
//!
//! Data path: socket → [`io::read_loop`] (decode once) → [`hub::Hub::deliver`] (in [`delivery`]) ([`router`]
//! decides) → each destination's [`outbox::Outbox`] (the same encoded bytes shared) →
//! [`io::write_loop`] (many elements per vectored write). A driver's consecutive updates of one
//! vector that arrive together travel as one frame (a run, see [`frame::Frame::singles`]); an
//! idle client is written to by the sender itself.

mod arrival;
pub mod chunked;
pub mod client;
pub mod config;
pub mod connection;
pub mod delivery;
mod driverlog;
pub mod endpoint;
pub mod exdriver;
pub mod feed;
pub mod fifo;
pub mod frame;
pub mod hub;
pub mod io;
pub mod local;
pub mod localblob;
pub mod logging;
mod memory;
pub mod outbox;
mod readbuf;
pub mod remote;
pub mod router;
pub mod server;
mod settle;
pub mod shm;
pub mod socket;
pub mod traffic_log;
pub mod unixsock;

pub use config::{HubConfig, DEFAULT_PORT};
pub use connection::{run_connection, Connection};
pub use endpoint::{Endpoint, Registration, Role};
pub use hub::Hub;
pub use server::Server;
