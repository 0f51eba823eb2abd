//! Answering a driver's `pingRequest` as indiserver's single loop does: after what was ready
//! before it. indiserver handles every ready socket of one `select` before the next; here
//! connections are tasks on several threads, so the hub looks at the kernel's state instead:
//! a client that connected (a listener with a connection to accept) or left (a socket whose
//! peer closed, or a connection still closing) before the ping is accepted or closed first.
//! libindi's integs `DontLeakFds` counts the server's descriptors right after such a ping.

use crate::hub::Hub;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Longest wait of [`Hub::settled`].
const SETTLE_AT_MOST: Duration = Duration::from_millis(200);

/// What [`Hub::settled`] waits for.
#[derive(Debug)]
pub(crate) struct Settle {
    /// Connections whose peer has gone and whose socket is not closed yet.
    closing: watch::Sender<usize>,
    /// Listening sockets (their descriptors live as long as the server).
    listeners: Mutex<Vec<RawFd>>,
}

impl Default for Settle {
    fn default() -> Settle {
        Settle { closing: watch::channel(0).0, listeners: Mutex::new(Vec::new()) }
    }
}

/// A connection being closed (see [`Hub::closing`]).
pub(crate) struct Closing(Hub);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0 .0.settle.closing.send_modify(|n| *n -= 1);
    }
}

impl Hub {
    /// Counts a connection as closing until the guard is dropped, once its socket is closed.
    pub(crate) fn closing(&self) -> Closing {
        self.0.settle.closing.send_modify(|n| *n += 1);
        Closing(self.clone())
    }

    /// A listening socket whose pending connections [`Hub::settled`] waits for.
    pub(crate) fn watch_listener(&self, fd: RawFd) {
        self.0.settle.listeners.lock().unwrap().push(fd);
    }

    /// Resolves once no connection waits to be accepted, no client's peer has closed unseen and
    /// no connection is half closed (bounded in time; see the module's documentation).
    pub async fn settled(&self) {
        tokio::task::yield_now().await;
        let deadline = Instant::now() + SETTLE_AT_MOST;
        while (*self.0.settle.closing.borrow() > 0 || self.arrivals_or_departures()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Whether a listener has a connection to accept or a client's peer has closed.
    fn arrivals_or_departures(&self) -> bool {
        let listen = |fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let client = |fd| libc::pollfd { fd, events: libc::POLLRDHUP, revents: 0 };
        let mut fds: Vec<libc::pollfd> = self.0.settle.listeners.lock().unwrap().iter().map(|&fd| listen(fd)).collect();
        {
            let state = self.0.state.lock().unwrap();
            fds.extend(state.endpoints.values().filter_map(|e| e.direct.get()).map(|socket| client(socket.raw_fd())));
        }
        // SAFETY: poll(2) on an array we own, without waiting; a descriptor closed meanwhile
        // reports POLLNVAL, which is ignored.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
        ready > 0 && fds.iter().any(|p| p.revents & (libc::POLLIN | libc::POLLRDHUP | libc::POLLHUP) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HubConfig;

    #[tokio::test]
    async fn settled_waits_for_closing_connections_and_pending_arrivals_no_longer_than_its_bound() {
        let hub = Hub::new(HubConfig::default());
        tokio::time::timeout(Duration::from_millis(50), hub.settled()).await.expect("nothing pending: settled at once");
        let closing = hub.closing();
        let waiting = tokio::spawn({
            let hub = hub.clone();
            async move { hub.settled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "a half-closed connection holds it");
        drop(closing);
        tokio::time::timeout(Duration::from_millis(100), waiting).await.expect("settled once closed").unwrap();
        // A connection nobody accepts holds it too, up to the bound.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        hub.watch_listener(std::os::fd::AsRawFd::as_raw_fd(&listener));
        let _connected = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let started = Instant::now();
        tokio::time::timeout(SETTLE_AT_MOST * 3, hub.settled()).await.expect("bounded");
        assert!(started.elapsed() >= SETTLE_AT_MOST, "waited for the accept");
        let _ = listener.accept().unwrap();
        tokio::time::timeout(Duration::from_millis(50), hub.settled()).await.expect("accepted: settled at once");
    }
}
