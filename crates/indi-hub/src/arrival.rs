//! A new client's first request is routed after what drivers had sent before it arrived, as in
//! indiserver's single loop: there a client's first bytes are read in a pass after the one that
//! accepted it, and by then every driver byte already waiting was read and routed in that pass
//! (one read takes all of it). So a definition a driver sent before the client asked is never
//! forwarded to it (libindi integs `DontForward*BlobDefToClient`,
//! `ServerForwardRequestOfHalfDeadClient`). Here drivers are read by tasks on several threads:
//! each driver's input counts the bytes read from its descriptor; when a client arrives, each
//! driver's count plus what its descriptor still holds (`FIONREAD`) is noted, and the client's
//! first request waits (bounded) until every driver's routed count has reached that mark.

use crate::hub::Hub;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::watch;

/// Longest wait of a new client's first request for the drivers.
const HOLD_AT_MOST: Duration = Duration::from_millis(500);

/// What a driver (or remote link) has sent: bytes read, and bytes routed.
#[derive(Debug)]
pub(crate) struct Input {
    fd: RawFd,
    /// Bytes read from `fd` so far, locked across each read: a mark taken under the lock sees
    /// this count and the descriptor's queue at one instant.
    read: Mutex<u64>,
    /// Bytes read whose complete elements are routed.
    routed: watch::Sender<u64>,
}

impl Input {
    /// Where this input must be routed up to for a client arriving now.
    fn mark(&self) -> u64 {
        let read = self.read.lock().unwrap();
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; a descriptor closed meanwhile fails, read as 0.
        if unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut pending) } < 0 {
            pending = 0;
        }
        *read + pending.max(0) as u64
    }

    /// Bytes read so far.
    pub(crate) fn read_so_far(&self) -> u64 {
        *self.read.lock().unwrap()
    }

    /// Everything complete among the first `bytes` read is routed.
    pub(crate) fn routed(&self, bytes: u64) {
        self.routed.send_if_modified(|routed| {
            let newer = bytes > *routed;
            *routed = (*routed).max(bytes);
            newer
        });
    }
}

/// The drivers' inputs (see [`Hub::driver_input`]).
#[derive(Debug, Default)]
pub(crate) struct Inputs(Mutex<Vec<Weak<Input>>>);

/// A driver's reader that counts what it reads (see the module's documentation).
pub(crate) struct Counted<R> {
    inner: R,
    input: Arc<Input>,
}

impl<R> Counted<R> {
    pub(crate) fn input(&self) -> &Arc<Input> {
        &self.input
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut read = this.input.read.lock().unwrap();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        *read += (buf.filled().len() - before) as u64;
        result
    }
}

/// Marks a client takes when it arrives: each driver's input and the count to wait for.
pub(crate) struct Arrival(Vec<(watch::Receiver<u64>, u64)>);

impl Hub {
    /// Wraps the reader of a driver (or remote link) reading descriptor `fd`, so that clients
    /// arriving later wait for what it had sent (see the module's documentation).
    pub(crate) fn driver_input<R>(&self, reader: R, fd: RawFd) -> Counted<R> {
        let input = Arc::new(Input { fd, read: Mutex::new(0), routed: watch::channel(0).0 });
        let mut inputs = self.0.inputs.0.lock().unwrap();
        inputs.retain(|input| input.strong_count() > 0);
        inputs.push(Arc::downgrade(&input));
        Counted { inner: reader, input }
    }

    /// What a client arriving now waits for before its first request is routed.
    pub(crate) fn arrival(&self) -> Arrival {
        let inputs: Vec<Arc<Input>> = self.0.inputs.0.lock().unwrap().iter().filter_map(Weak::upgrade).collect();
        Arrival(inputs.iter().map(|input| (input.routed.subscribe(), input.mark())).filter(|(routed, mark)| *routed.borrow() < *mark).collect())
    }
}

impl Arrival {
    /// Resolves once every driver has routed what it had sent before the client arrived (or a
    /// driver is gone, or [`HOLD_AT_MOST`] has passed).
    pub(crate) async fn wait(self) {
        let all = async {
            for (mut routed, mark) in self.0 {
                let _ = routed.wait_for(|routed| *routed >= mark).await;
            }
        };
        let _ = tokio::time::timeout(HOLD_AT_MOST, all).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HubConfig;
    use crate::endpoint::Role;
    use crate::frame::Frame;
    use std::os::fd::AsRawFd;
    use tokio::io::AsyncWriteExt;

    /// The interleaving of the integs race, made to happen: a driver's definition is waiting
    /// in its socket when a client arrives, and the client's request is read before the driver's
    /// reader runs. The definition must not reach the client; the answer to its request must.
    #[tokio::test(flavor = "current_thread")]
    async fn a_definition_waiting_when_a_client_arrives_is_routed_before_its_first_request() {
        let hub = Hub::new(HubConfig::default());
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        let driver = hub.register(Role::Driver, |_| "driver".into()).unwrap();
        let reader = hub.driver_input(ours, fd);
        let def = |name: &str| format!("<defTextVector device='d' name='{name}' state='Idle' perm='ro'><defText name='t'>x</defText></defTextVector>\n");
        theirs.write_all(def("early").as_bytes()).await.unwrap();
        // The client arrives; its request is read at once, before the driver's reader has run.
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let arrival = hub.arrival();
        let request = tokio::spawn({
            let (hub, id) = (hub.clone(), client.id);
            async move {
                arrival.wait().await;
                hub.deliver(id, crate::frame::parsed("<getProperties version='1.7'/>"));
            }
        });
        tokio::task::yield_now().await;
        assert!(!request.is_finished(), "the request waits for the driver");
        let reading = tokio::spawn({
            let (hub, driver) = (hub.clone(), (*driver).clone());
            async move { crate::io::read_counted(&hub, &driver, reader).await }
        });
        tokio::time::timeout(Duration::from_secs(2), request).await.expect("released once the driver is read").unwrap();
        theirs.write_all(def("answer").as_bytes()).await.unwrap();
        let mut frames: Vec<std::sync::Arc<Frame>> = Vec::new();
        for _ in 0..200 {
            client.outbox.take_now(&mut frames);
            if !frames.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let names: Vec<_> = frames.iter().map(|f| f.head().name.as_deref().unwrap_or_default().to_owned()).collect();
        assert_eq!(names, ["answer"], "only what the driver sent after the client asked");
        drop(theirs);
        let _ = tokio::time::timeout(Duration::from_secs(2), reading).await;
    }

    #[tokio::test]
    async fn a_client_waits_for_no_driver_when_nothing_is_pending_and_no_longer_than_its_bound() {
        let hub = Hub::new(HubConfig::default());
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        let _reader = hub.driver_input(ours, fd);
        tokio::time::timeout(Duration::from_millis(50), hub.arrival().wait()).await.expect("nothing pending: at once");
        // Bytes nobody reads hold a client no longer than the bound.
        theirs.write_all(b"<message message='x'/>\n").await.unwrap();
        let started = std::time::Instant::now();
        tokio::time::timeout(HOLD_AT_MOST * 3, hub.arrival().wait()).await.expect("bounded");
        assert!(started.elapsed() >= HOLD_AT_MOST, "waited for the driver");
    }
}
