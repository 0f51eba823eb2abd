//! TCP clients: the accept loop and one read/write task pair per connection.

use crate::feed::{ClientFeed, ClientHost};
use crate::hub::{Endpoint, Hub, Role};
use crate::io::{read_loop, write_loop, ClientSocket, ReadEnd, SharedSocket};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

/// Accepts clients until the server stops.
pub async fn serve(hub: Hub, listener: TcpListener) {
    let stop = hub.stopping();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => return,
        };
        match accepted {
            Ok((stream, address)) => {
                let hub = hub.clone();
                tokio::spawn(async move { connection(hub, stream, address.to_string()).await });
            }
            Err(error) => {
                // Out of descriptors and the like: back off briefly instead of spinning.
                warn!("accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(hub: Hub, stream: TcpStream, address: String) {
    let Some(endpoint) = hub.register(Role::Client, |id| format!("Client {id}")) else {
        warn!("Client {address}: refused, {} connections already", hub.client_count());
        return; // dropping the stream closes it
    };
    debug!("{}: new arrival from {address}", endpoint.name);
    let _ = stream.set_nodelay(true);
    if let Some(host) = hub.client_host().cloned() {
        if let Err(error) = hosted(&hub, &endpoint, stream, host).await {
            warn!("{}: cannot hand the connection to its reader: {error}", endpoint.name);
            hub.unregister(endpoint.id);
        }
        return;
    }
    let (reader, writer) = stream.into_split();
    let writing = spawn_writer(&endpoint, ClientSocket::Tcp(writer));
    let end = read_loop(&hub, &endpoint, reader).await;
    debug!("{}: closed ({end:?})", endpoint.name);
    hub.unregister(endpoint.id);
    let _ = writing.await;
}

/// Starts the writer of a client; direct writers share its socket.
fn spawn_writer(endpoint: &Endpoint, socket: ClientSocket) -> tokio::task::JoinHandle<()> {
    let socket = Arc::new(socket);
    let _ = endpoint.direct.set(socket.clone());
    let endpoint = endpoint.clone();
    tokio::spawn(async move { write_loop(&endpoint, SharedSocket(socket)).await })
}

/// A client read by the host (see [`crate::feed`]): it gets a duplicate of the socket to read
/// and the feed; tokio only writes, so what the client sends wakes no tokio thread.
async fn hosted(hub: &Hub, endpoint: &Endpoint, stream: TcpStream, host: ClientHost) -> std::io::Result<()> {
    let stream = stream.into_std()?;
    let copy = stream.try_clone()?;
    let fd = stream.as_raw_fd();
    // SAFETY: the std stream owns its descriptor for as long as the AsyncFd holds it.
    let writable = unsafe { AsyncFd::register_with_interest(stream, Interest::WRITABLE) }.map_err(|e| e.into_parts().1)?;
    let writing = spawn_writer(endpoint, ClientSocket::WriteOnly(writable));
    let (feed, ended) = ClientFeed::new(hub.clone(), endpoint.clone());
    host(feed, copy.into_raw_fd());
    endpoint.cancel.cancelled().await;
    // However the client ended, its reader must see the end too.
    // SAFETY: shutdown(2) on a descriptor still open: `endpoint.direct` holds its socket.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    debug!("{}: closed ({:?})", endpoint.name, ended.get().copied().unwrap_or(ReadEnd::Cancelled));
    hub.unregister(endpoint.id);
    let _ = writing.await;
    Ok(())
}
