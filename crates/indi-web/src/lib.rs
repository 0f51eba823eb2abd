//! The web control panel of indi-node: a bridge from the INDI hub to browsers. One hub
//! connection reads every element once and keeps what browsers are shown; each browser gets
//! the JSON form (docs/web.md) over a WebSocket, and BLOBs over plain HTTP, binary.

pub mod ahead;
pub mod assets;
pub mod auth;
pub mod blobs;
pub mod bridge;
pub mod http;
pub mod json;
pub mod model;
pub mod pool;
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
    let bridge = bridge::Bridge::start(hub).ok_or_else(|| std::io::Error::other("the server refused the panel's connection (--maxconnections reached)"))?;
    let panel = Arc::new(Panel { bridge, auth: Arc::new(auth) });
    tokio::spawn(server::serve(panel.clone(), listener, tls, hub.stopping()));
    Ok((address, panel))
}

/// Whether `host` names only this machine (login is optional there).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use indi_hub::{HubConfig, Role};

    #[tokio::test]
    async fn a_hub_without_room_for_the_panel_is_an_error_not_a_crash() {
        let hub = Hub::new(HubConfig { max_connections: Some(1), ..HubConfig::default() });
        let _client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let error = start(&hub, "127.0.0.1", 0, Auth::open(), None).await.err().unwrap();
        assert!(error.to_string().contains("--maxconnections"), "{error}");
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost") && !is_loopback("0.0.0.0"));
    }
}
