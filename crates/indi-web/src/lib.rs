//! The web control panel of indi-node: a bridge from the INDI hub to browsers. One hub
//! connection reads every element once and keeps what browsers are shown; each browser gets
//! the JSON form (docs/web.md) over a WebSocket, and BLOBs over plain HTTP, binary.

pub mod assets;
pub mod auth;
pub mod bridge;
pub mod http;
pub mod json;
pub mod model;
pub mod server;
pub mod tls;
pub mod users;

use auth::Auth;
use indi_hub::Hub;
use server::Panel;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Starts the panel on `host:port` beside the hub's other connections (over TLS when given an
/// acceptor); returns the address it listens on. Must run inside a tokio runtime.
pub async fn start(hub: &Hub, host: &str, port: u16, auth: Auth, tls: Option<tokio_rustls::TlsAcceptor>) -> std::io::Result<(SocketAddr, Arc<Panel>)> {
    let listener = TcpListener::bind((host, port)).await?;
    let address = listener.local_addr()?;
    let panel = Arc::new(Panel { bridge: bridge::Bridge::start(hub), auth: Arc::new(auth) });
    tokio::spawn(server::serve(panel.clone(), listener, tls, hub.stopping()));
    Ok((address, panel))
}

/// Whether `host` names only this machine (login is optional there).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
