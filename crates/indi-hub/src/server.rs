//! A whole INDI server: a hub plus its listener, driver processes, remote links and FIFO.

use crate::client::HostSlot;
use crate::config::HubConfig;
use crate::exdriver::{supervise, DriverSpec};
use crate::feed::ClientHost;
use crate::fifo::{self, Command};
use crate::hub::Hub;
use crate::remote::{link, RemoteSpec};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

struct Supervised {
    spec: DriverSpec,
    stop: CancellationToken,
}

/// An INDI server. Methods that start tasks must run inside a tokio runtime.
pub struct Server {
    hub: Hub,
    drivers: Mutex<Vec<Supervised>>,
    /// The driver supervisors, awaited on the way out (they stop their processes).
    supervisors: TaskTracker,
    /// Who reads clients instead of tokio, if anyone (see [`crate::feed`]).
    client_host: HostSlot,
}

impl Server {
    /// A server with the given settings and nothing running yet.
    pub fn new(config: HubConfig) -> Arc<Server> {
        Arc::new(Server { hub: Hub::new(config), drivers: Mutex::new(Vec::new()), supervisors: TaskTracker::new(), client_host: HostSlot::default() })
    }

    /// The hub, for in-process drivers.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// From now on, new clients are handed to `host`, which reads them (see [`crate::feed`]).
    /// Set once; false if it was already set.
    pub fn host_clients(&self, host: ClientHost) -> bool {
        self.client_host.set(host).is_ok()
    }

    /// Binds the client port and starts accepting clients.
    pub async fn listen(&self, host: &str, port: u16) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind((host, port)).await?;
        let address = listener.local_addr()?;
        info!("listening to port {} on {}", address.port(), address.ip());
        tokio::spawn(crate::client::serve(self.hub.clone(), listener, self.client_host.clone()));
        Ok(address)
    }

    /// Binds indiserver's local socket (`-u`) and starts accepting its clients. When `optional`,
    /// a socket that cannot be bound (another server holds it) is logged and skipped.
    pub fn listen_unix(&self, path: &str, optional: bool) -> std::io::Result<()> {
        let listener = match crate::unixsock::bind(path) {
            Ok(listener) => listener,
            Err(error) if optional => {
                debug!("local socket {path} not served: {error}");
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        debug!("listening to local socket {path}");
        tokio::spawn(crate::unixsock::serve(self.hub.clone(), listener));
        Ok(())
    }

    /// Starts (and supervises) a driver process.
    pub fn add_driver(&self, spec: DriverSpec) {
        let stop = self.hub.stopping().child_token();
        self.drivers.lock().unwrap().push(Supervised { spec: spec.clone(), stop: stop.clone() });
        self.hub.driver_started();
        self.supervisors.spawn(supervise(self.hub.clone(), spec, stop));
    }

    /// Waits until the server stops and its driver processes have ended (a driver that ignores
    /// the end of its input is killed after a second); returns the exit status.
    pub async fn wait(&self) -> i32 {
        let code = self.hub.wait().await;
        self.supervisors.close();
        if tokio::time::timeout(std::time::Duration::from_secs(5), self.supervisors.wait()).await.is_err() {
            warn!("driver processes still running at exit");
        }
        code
    }

    /// Links to another server.
    pub fn add_remote(&self, spec: RemoteSpec) {
        tokio::spawn(link(self.hub.clone(), spec));
    }

    /// Stops the driver processes started as `program` (with device `device`, when given).
    pub fn stop_driver(&self, program: &str, device: Option<&str>) {
        let mut drivers = self.drivers.lock().unwrap();
        drivers.retain(|driver| {
            let named = driver.spec.env.iter().find(|(k, _)| k == "INDIDEV").map(|(_, v)| v.as_str());
            let matches = driver.spec.program == program && (device.is_none() || named == device || named.is_none());
            if matches {
                info!("FIFO: Shutting down driver: {program}");
                driver.stop.cancel();
            }
            !matches
        });
    }

    /// Obeys `start`/`stop` lines written to the FIFO of the settings.
    pub fn start_fifo(self: &Arc<Self>) -> std::io::Result<()> {
        let Some(path) = self.hub.config().fifo.clone() else { return Ok(()) };
        let mut commands = fifo::listen(&path)?;
        let server = self.clone();
        let stop = self.hub.stopping();
        tokio::spawn(async move {
            loop {
                let command = tokio::select! {
                    command = commands.recv() => command,
                    _ = stop.cancelled() => None,
                };
                let Some(command) = command else { return };
                server.obey(command);
            }
        });
        Ok(())
    }

    fn obey(&self, command: Command) {
        match command {
            Command::Start { driver, name, config, skeleton, prefix } => {
                info!("FIFO: Starting driver {driver}");
                if let Some(remote) = parse_remote(&driver) {
                    self.add_remote(RemoteSpec { blob_enable: true, ..remote });
                    return;
                }
                let env = [("INDIDEV", name), ("INDICONFIG", config), ("INDISKEL", skeleton), ("INDIPREFIX", prefix)]
                    .into_iter()
                    .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                    .collect();
                self.add_driver(DriverSpec { program: driver, args: Vec::new(), env, pipes: false });
            }
            Command::Stop { driver, name } => self.stop_driver(&driver, name.as_deref()),
        }
    }
}

/// Parses `[device]@host[:port]` (port [`crate::DEFAULT_PORT`] by default).
pub fn parse_remote(text: &str) -> Option<RemoteSpec> {
    let (device, address) = text.split_once('@')?;
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (address, crate::DEFAULT_PORT),
    };
    if host.is_empty() {
        warn!("{text}: no host");
        return None;
    }
    Some(RemoteSpec { host: host.to_owned(), port, device: (!device.is_empty()).then(|| device.to_owned()), blob_enable: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_driver_arguments() {
        let remote = parse_remote("Telescope Simulator@example.org:7625").unwrap();
        assert_eq!((remote.device.as_deref(), remote.host.as_str(), remote.port), (Some("Telescope Simulator"), "example.org", 7625));
        let remote = parse_remote("@127.0.0.1").unwrap();
        assert_eq!((remote.device, remote.port), (None, 7624));
        assert!(parse_remote("indi_simulator_ccd").is_none());
        assert!(parse_remote("x@host:notaport").is_none());
    }
}
