//! TCP clients: the accept loop and one read/write task pair per connection.

use crate::feed::ClientFeed;
use crate::hub::{Hub, Role};
use std::os::fd::AsRawFd;
use crate::io::{read_loop, write_loop, ReadEnd, SharedSocket};
use std::sync::Arc;
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
    let fd = stream.as_raw_fd();
    // SAFETY: dup(2) of a descriptor the stream owns; the copy goes to the host, which closes it.
    let host = hub.client_host().cloned().map(|host| (host, unsafe { libc::dup(fd) })).filter(|(_, copy)| *copy >= 0);
    let (reader, writer) = stream.into_split();
    let writer = Arc::new(writer);
    let _ = endpoint.direct.set(writer.clone());
    let writing = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move { write_loop(&endpoint, SharedSocket(writer)).await })
    };
    if let Some((host, copy)) = host {
        let (feed, ended) = ClientFeed::new(hub.clone(), endpoint.clone());
        host(feed, copy);
        endpoint.cancel.cancelled().await;
        // However the client ended, the host's reader must see it end too.
        // SAFETY: shutdown(2) on the descriptor `reader` still owns.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        debug!("{}: closed ({:?})", endpoint.name, ended.get().copied().unwrap_or(ReadEnd::Cancelled));
    } else {
        let end = read_loop(&hub, &endpoint, reader).await;
        debug!("{}: closed ({end:?})", endpoint.name);
    }
    hub.unregister(endpoint.id);
    let _ = writing.await;
}
