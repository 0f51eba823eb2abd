//! indiserver's local socket (`-u`, default `/tmp/indiserver`): on Linux an abstract unix
//! socket of that name, elsewhere a socket file. Its clients are served as TCP clients are.

use crate::connection::Connection;
use crate::endpoint::Role;
use crate::hub::Hub;
use crate::socket::ClientSocket;
use std::io;
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, warn};

/// indiserver's default local socket name.
pub const DEFAULT_UNIX_SOCKET: &str = "/tmp/indiserver";

/// Binds the local socket named `path`, as indiserver does (abstract on Linux).
pub fn bind(path: &str) -> io::Result<UnixListener> {
    #[cfg(target_os = "linux")]
    let listener = {
        use std::os::linux::net::SocketAddrExt;
        let address = std::os::unix::net::SocketAddr::from_abstract_name(path.as_bytes())?;
        std::os::unix::net::UnixListener::bind_addr(&address)?
    };
    #[cfg(not(target_os = "linux"))]
    let listener = {
        // A file left by an earlier run would refuse the bind, as indiserver unlinks it first.
        let _ = std::fs::remove_file(path);
        std::os::unix::net::UnixListener::bind(path)?
    };
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// Accepts local clients until the server stops.
pub async fn serve(hub: Hub, listener: UnixListener) {
    crate::client::accept_until_stopped(
        &hub,
        || listener.accept(),
        |(stream, _)| {
            tokio::spawn(connection(hub.clone(), stream));
        },
    )
    .await;
}

async fn connection(hub: Hub, stream: UnixStream) {
    let (reader, writer) = stream.into_split();
    let Some(connection) = Connection::open_socket(&hub, Role::Client, |id| format!("Client {id}"), ClientSocket::Unix(writer)) else {
        warn!("local client refused, {} connections already", hub.client_count());
        return;
    };
    debug!("{}: new arrival on the local socket", connection.name);
    let end = connection.read(reader).await;
    debug!("{}: closed ({end:?})", connection.name);
    connection.close().await;
}
