//! One connection's life, whatever carries it (TCP client, driver process, remote server, or a
//! transport still to come): register → greet → write task → read → unregister.

use crate::endpoint::{Registration, Role};
use crate::frame::Frame;
use crate::hub::Hub;
use crate::io::{read_loop, write_loop, ReadEnd};
use crate::router::EndpointId;
use crate::socket::{ClientSocket, SharedSocket};
use indi_codec::Element;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tracing::debug;

/// A registered connection whose queue is being written. Reading is the owner's part
/// ([`Connection::read`]); [`Connection::close`] ends it.
pub struct Connection {
    registration: Registration,
    writing: JoinHandle<()>,
}

impl Connection {
    /// Registers a connection, queues its `greeting` and starts writing its queue to `writer`;
    /// `None` when it is refused (a client beyond `--maxconnections`).
    pub fn open<W>(hub: &Hub, role: Role, name: impl FnOnce(EndpointId) -> String, writer: W, greeting: Vec<Element>) -> Option<Connection>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        // A client's writer may hold the last of its frames: memory is given back once it ends.
        let writer_of_client = (role == Role::Client).then(crate::memory::ClientWriter::start);
        let registration = hub.register(role, name)?;
        for element in greeting {
            registration.outbox.push(Frame::new(element));
        }
        let endpoint = (*registration).clone();
        let writing = tokio::spawn(async move {
            write_loop(&endpoint, writer).await;
            drop(writer_of_client);
        });
        Some(Connection { registration, writing })
    }

    /// [`Connection::open`] for a client socket that senders may also write directly when
    /// nothing is queued (see [`crate::outbox::Outbox::try_claim`]).
    pub fn open_socket(hub: &Hub, role: Role, name: impl FnOnce(EndpointId) -> String, socket: ClientSocket) -> Option<Connection> {
        let socket = Arc::new(socket);
        let connection = Connection::open(hub, role, name, SharedSocket(socket.clone()), Vec::new())?;
        let _ = connection.direct.set(socket);
        Some(connection)
    }

    /// Reads, decodes and routes what the peer sends until it closes or is closed.
    pub async fn read<R: AsyncRead + Unpin>(&self, reader: R) -> ReadEnd {
        read_loop(self.registration.hub(), &self.registration, reader).await
    }

    /// [`Connection::read`] for a driver or remote link reading descriptor `fd` (clients that
    /// arrive wait for what it had sent, see [`crate::io::read_loop_driver`]).
    pub async fn read_driver<R: AsyncRead + Unpin>(&self, reader: R, fd: std::os::fd::RawFd) -> ReadEnd {
        crate::io::read_loop_driver(self.registration.hub(), &self.registration, reader, fd).await
    }

    /// The registration and the writer task, for an owner that reads the connection elsewhere
    /// (see [`crate::feed`]).
    pub fn into_parts(self) -> (Registration, JoinHandle<()>) {
        (self.registration, self.writing)
    }

    /// Unregisters the connection and waits until its writer has stopped.
    pub async fn close(self) {
        let Connection { registration, writing } = self;
        let _closing = registration.hub().closing();
        drop(registration);
        let _ = writing.await;
    }
}

impl std::ops::Deref for Connection {
    type Target = Registration;

    fn deref(&self) -> &Registration {
        &self.registration
    }
}

/// A whole connection over a reader and a writer: `None` when it was refused, else why it ended.
pub async fn run_connection<R, W>(
    hub: &Hub,
    role: Role,
    name: impl FnOnce(EndpointId) -> String,
    reader: R,
    writer: W,
    greeting: Vec<Element>,
) -> Option<ReadEnd>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let connection = Connection::open(hub, role, name, writer, greeting)?;
    let end = connection.read(reader).await;
    debug!("{}: closed ({end:?})", connection.name);
    connection.close().await;
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubConfig;
    use indi_codec::GetProperties;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_connection_is_greeted_routed_and_gone_when_it_ends() {
        let hub = Hub::new(HubConfig::default());
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let driver_id = client.id + 1;
        let (driver_side, hub_side) = tokio::io::duplex(1 << 16);
        let (reader, writer) = tokio::io::split(hub_side);
        let get = GetProperties { version: Some("1.7".into()), device: None, name: None };
        let running = tokio::spawn({
            let hub = hub.clone();
            async move { run_connection(&hub, Role::Driver, |id| format!("Driver {id}"), reader, writer, vec![Element::GetProperties(get)]).await }
        });
        let (mut from_hub, mut to_hub) = tokio::io::split(driver_side);
        let mut greeting = vec![0; 64];
        let len = from_hub.read(&mut greeting).await.unwrap();
        assert!(String::from_utf8_lossy(&greeting[..len]).starts_with("<getProperties version=\"1.7\""));
        hub.deliver(client.id, Frame::new(Element::GetProperties(GetProperties { version: Some("1.7".into()), device: None, name: None })));
        to_hub.write_all(b"<defNumberVector device='d' name='n'><defNumber name='v'>1</defNumber></defNumberVector>\n").await.unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while hub.devices_of(driver_id) != ["d"] && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(hub.devices_of(driver_id), ["d"], "the driver's definition was routed");
        to_hub.shutdown().await.unwrap();
        drop(to_hub);
        assert_eq!(running.await.unwrap(), Some(ReadEnd::Eof));
        assert!(hub.devices_of(driver_id).is_empty(), "gone from the hub once ended");
        let mut queued = Vec::new();
        client.outbox.take_now(&mut queued);
        let tags: Vec<&str> = queued.iter().map(|f| f.head().tag.as_str()).collect();
        assert!(tags.contains(&"delProperty"), "clients are told the device is gone: {tags:?}");
    }

    #[tokio::test]
    async fn a_client_beyond_the_limit_is_refused_and_a_dropped_registration_frees_its_place() {
        let hub = Hub::new(HubConfig { max_connections: Some(1), ..HubConfig::default() });
        let first = hub.register(Role::Client, |_| "first".into()).unwrap();
        assert!(hub.register(Role::Client, |_| "second".into()).is_none());
        let (_, writer) = tokio::io::duplex(64);
        assert!(Connection::open(&hub, Role::Client, |_| "third".into(), writer, Vec::new()).is_none());
        drop(first);
        assert_eq!(hub.client_count(), 0);
        assert!(hub.register(Role::Client, |_| "again".into()).is_some());
    }
}
