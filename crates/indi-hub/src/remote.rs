//! Links to other INDI servers (`[device]@host[:port]`): their devices are served here as if
//! from a driver. A lost link is retried with backoff and never stops this server.

use crate::connection::Connection;
use crate::endpoint::Role;
use crate::hub::Hub;
use indi_codec::{BlobEnable, Element, EnableBlob, GetProperties};
use std::time::Duration;
use tokio::net::TcpStream;
use tracing::info;

/// Where and what to fetch.
#[derive(Debug, Clone)]
pub struct RemoteSpec {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Only this device (all when `None`).
    pub device: Option<String>,
    /// Ask the remote server for BLOBs too.
    pub blob_enable: bool,
}

impl RemoteSpec {
    /// `host:port`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The name in logs, as on the command line: `device@host:port`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.device.as_deref().unwrap_or(""), self.key())
    }
}

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// Keeps a link to the remote server up until the server stops.
pub async fn link(hub: Hub, spec: RemoteSpec) {
    let stop = hub.stopping();
    let name = spec.name();
    let mut delay = FIRST_RETRY;
    loop {
        let connected = tokio::select! {
            connected = TcpStream::connect((spec.host.as_str(), spec.port)) => connected,
            _ = stop.cancelled() => return,
        };
        match connected {
            Ok(stream) => {
                delay = FIRST_RETRY;
                hub.message(&format!("Remote connection to {} made", spec.key()));
                run_connected(&hub, &spec, stream).await;
                if stop.is_cancelled() {
                    return;
                }
                hub.message(&format!("Remote connection to {} lost, reconnecting", spec.key()));
            }
            Err(error) => info!("Remote {name}: connect({}): {error}; retrying in {} s", spec.key(), delay.as_secs()),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
        delay = (delay * 2).min(LAST_RETRY);
    }
}

async fn run_connected(hub: &Hub, spec: &RemoteSpec, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // "*" marks us as a chained server upstream (indiserver's convention).
    let device = Some(spec.device.clone().unwrap_or_else(|| "*".into()));
    let mut greeting = vec![Element::GetProperties(GetProperties { version: Some("1.7".into()), device, name: None })];
    if spec.blob_enable {
        greeting.push(Element::EnableBlob(EnableBlob { device: spec.device.clone(), name: None, mode: Some(BlobEnable::Also) }));
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let (reader, writer) = stream.into_split();
    let connection = Connection::open(hub, Role::Remote(spec.key()), |_| format!("Remote {}", spec.name()), writer, greeting).expect("links are never refused");
    if let Some(device) = &spec.device {
        hub.chain_device(connection.id, device);
    }
    connection.read_driver(reader, fd).await;
    connection.close().await;
}
