//! TCP clients: the accept loop and one connection per client.

use crate::connection::Connection;
use crate::endpoint::Role;
use crate::feed::{ClientFeed, ClientHost};
use crate::hub::Hub;
use crate::io::ReadEnd;
use crate::socket::ClientSocket;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::{Arc, OnceLock};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

/// Who reads new clients when not tokio (see [`crate::feed`]); set at most once.
pub type HostSlot = Arc<OnceLock<ClientHost>>;

/// Accepts clients until the server stops.
pub async fn serve(hub: Hub, listener: TcpListener, host: HostSlot) {
    accept_until_stopped(
        &hub,
        || listener.accept(),
        |(stream, address)| {
            let (hub, host) = (hub.clone(), host.get().cloned());
            tokio::spawn(async move { connection(hub, stream, address.to_string(), host).await });
        },
    )
    .await;
}

/// Hands each accepted connection to `start` until the server stops (any listener).
pub(crate) async fn accept_until_stopped<T, F>(hub: &Hub, mut accept: impl FnMut() -> F, mut start: impl FnMut(T))
where
    F: std::future::Future<Output = std::io::Result<T>>,
{
    let stop = hub.stopping();
    loop {
        let accepted = tokio::select! {
            accepted = accept() => accepted,
            _ = stop.cancelled() => return,
        };
        match accepted {
            Ok(connection) => start(connection),
            Err(error) => {
                // Out of descriptors and the like: back off briefly instead of spinning.
                warn!("accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(hub: Hub, stream: TcpStream, address: String, host: Option<ClientHost>) {
    let _ = stream.set_nodelay(true);
    let name = |id| format!("Client {id}");
    let opened = match host {
        Some(host) => hosted(&hub, stream, &address, host).await,
        None => {
            let (reader, writer) = stream.into_split();
            match Connection::open_socket(&hub, Role::Client, name, ClientSocket::Tcp(writer)) {
                Some(connection) => {
                    debug!("{}: new arrival from {address}", connection.name);
                    let end = connection.read(reader).await;
                    debug!("{}: closed ({end:?})", connection.name);
                    connection.close().await;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    };
    match opened {
        Ok(true) => {}
        Ok(false) => warn!("Client {address}: refused, {} connections already", hub.client_count()),
        Err(error) => warn!("Client {address}: cannot hand the connection to its reader: {error}"),
    }
}

/// A client read by the host (see [`crate::feed`]): it gets a duplicate of the socket to read
/// and the feed; tokio only writes, so what the client sends wakes no tokio thread. False when
/// the client was refused.
async fn hosted(hub: &Hub, stream: TcpStream, address: &str, host: ClientHost) -> std::io::Result<bool> {
    let stream = stream.into_std()?;
    let copy = stream.try_clone()?;
    let fd = stream.as_raw_fd();
    // SAFETY: the std stream owns its descriptor for as long as the AsyncFd holds it.
    let writable = unsafe { AsyncFd::register_with_interest(stream, Interest::WRITABLE) }.map_err(|e| e.into_parts().1)?;
    let Some(connection) = Connection::open_socket(hub, Role::Client, |id| format!("Client {id}"), ClientSocket::WriteOnly(writable)) else {
        return Ok(false);
    };
    debug!("{}: new arrival from {address}", connection.name);
    // The feed holds the registration: the client is unregistered the moment its reader ends it.
    let (registration, writing) = connection.into_parts();
    let endpoint = (*registration).clone();
    let (feed, ended) = ClientFeed::new(hub.clone(), registration);
    host(feed, copy.into_raw_fd());
    endpoint.cancel.cancelled().await;
    // However the client ended, its reader must see the end too.
    // SAFETY: shutdown(2) on a descriptor still open: `endpoint.direct` holds its socket.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    debug!("{}: closed ({:?})", endpoint.name, ended.get().copied().unwrap_or(ReadEnd::Cancelled));
    let _ = writing.await;
    Ok(true)
}
