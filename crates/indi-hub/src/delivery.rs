//! Delivery: what a connection sends is routed ([`crate::router`]) and queued for its
//! destinations (encoded once, shared), or written at once to an idle client; a BLOB sender is
//! paced by its fastest reader.

use crate::endpoint::{Endpoint, Role};
use crate::frame::Frame;
use crate::hub::Hub;
use crate::outbox::Push;
use crate::router::{EndpointId, Routing, Targets};
use crate::socket::ClientSocket;
use indi_codec::{Head, Tag};
use std::sync::Arc;
use tracing::warn;

impl Hub {
    /// Routes an element received from connection `from` and queues it for its destinations.
    /// See [`Hub::deliver_all`] for what it returns.
    pub fn deliver(&self, from: EndpointId, frame: Arc<Frame>) -> Option<Pace> {
        self.deliver_all(from, vec![frame])
    }

    /// Routes a batch of elements from one connection (everything one read brought): one lock
    /// for the routing, then one lock and one wake-up per destination queue.
    ///
    /// Returns a [`Pace`] when even the fastest reader of the BLOBs just queued is behind: the
    /// sender should let it catch up before sending more, so a healthy client gets every frame
    /// while a stalled one queues them (up to `-m`, or replaced past `-d` when they are streams).
    /// Which reader is the fastest is seen as they drain: a stalled reader whose queue holds one
    /// replaced frame may be behind by less than a healthy one that is taking its batch.
    pub fn deliver_all(&self, from: EndpointId, frames: Vec<Arc<Frame>>) -> Option<Pace> {
        let mut pushes: Vec<(Arc<Endpoint>, Vec<Arc<Frame>>)> = Vec::new();
        let mut dropped = Vec::new();
        let sender = self.0.state.lock().unwrap().endpoints.get(&from).cloned();
        let source = sender.as_ref().map_or_else(|| "?".into(), |e| e.name.clone());
        let from_driver = sender.as_ref().is_some_and(|e| e.role == Role::Driver);
        let from_client = sender.as_ref().is_some_and(|e| e.role == Role::Client);
        crate::traffic_log::log_read(self.0.config.log_dir.as_deref(), &source, &frames, from_driver, from_client);
        {
            let state = &mut *self.0.state.lock().unwrap();
            // Consecutive updates of one property from one driver (a burst) go where the first
            // went: routing each would look up the same names again. Routing an update changes
            // nothing that would route the next one differently.
            let from_upstream = state.router.is_driver(from); // a driver or a remote server
            let mut previous: Option<(Head, Targets)> = None;
            // Frames are moved, not cloned, into the last queue they go to.
            for frame in frames {
                let routing = match &previous {
                    Some((head, targets)) if head == frame.head() => Routing { targets: targets.clone(), ..Routing::default() },
                    _ => {
                        let routing = state.router.route(from, &frame);
                        let plain = routing.reply.is_none() && routing.replacement.is_none() && routing.dropped.is_none() && routing.rewritten.is_empty();
                        let memo = from_upstream && plain && matches!(frame.head().tag, Tag::Set(_));
                        previous = memo.then(|| (frame.head().clone(), routing.targets.clone()));
                        routing
                    }
                };
                if let Some(reason) = routing.dropped {
                    dropped.push((frame, reason));
                    continue;
                }
                if let (Some(reply), Some(sender)) = (routing.reply, &sender) {
                    queue_for(&mut pushes, sender, Frame::new(reply));
                }
                for (target, element) in routing.rewritten {
                    if let Some(endpoint) = state.endpoints.get(&target) {
                        queue_for(&mut pushes, endpoint, Frame::new(element));
                    }
                }
                if routing.targets.is_empty() {
                    continue;
                }
                let mut out = Some(routing.replacement.map_or(frame, Frame::new));
                let mut targets = routing.targets.iter().filter_map(|target| state.endpoints.get(target)).peekable();
                while let Some(endpoint) = targets.next() {
                    let frame = if targets.peek().is_some() { out.clone() } else { out.take() };
                    queue_for(&mut pushes, endpoint, frame.expect("taken by the last target only"));
                }
            }
        }
        for (frame, reason) in &dropped {
            crate::traffic_log::log_drop(&source, frame, reason);
        }
        let mut readers: Vec<(usize, Arc<Endpoint>)> = Vec::new();
        for (endpoint, frames) in pushes {
            let carries_blob = frames.iter().any(|f| f.blob_key().is_some());
            let backlog = self.push_frames(&endpoint, frames);
            if carries_blob && backlog != usize::MAX {
                readers.push((backlog, endpoint));
            }
        }
        let (pause, resume) = self.pace_thresholds();
        let behind = !readers.is_empty() && readers.iter().all(|(backlog, _)| *backlog > pause);
        behind.then(|| Pace { readers: readers.into_iter().map(|(_, reader)| reader).collect(), resume })
    }

    /// Backlogs at which a BLOB sender pauses and resumes: below the replacement threshold, so
    /// a reader that keeps up is paced before it would lose frames.
    fn pace_thresholds(&self) -> (usize, usize) {
        match self.0.config.client_queue.blob_replace_after {
            0 => (8 << 20, 2 << 20),
            limit => (limit / 2, limit / 4),
        }
    }

    /// Pushes a frame to each endpoint.
    pub(crate) fn push_all(&self, frame: Arc<Frame>, targets: &[Arc<Endpoint>]) {
        for target in targets {
            self.push_frames(target, vec![frame.clone()]);
        }
    }

    /// Queues frames for one endpoint, closing a client that fell too far behind; returns its
    /// backlog (`usize::MAX` when it is gone).
    fn push_frames(&self, target: &Endpoint, mut frames: Vec<Arc<Frame>>) -> usize {
        if target.direct.get().is_some_and(|socket| socket.takes_attachments()) {
            frames = frames.iter().map(Frame::for_local_client).collect();
        }
        if let Some(socket) = target.direct.get().filter(|_| frames.iter().all(|f| f.attachments().is_none() && f.chunked().is_none())) {
            // Small BLOBs only: a BLOB is written by the writer task, in parallel with the
            // sender. Other elements are written here up to a larger size: waking the writer's
            // thread costs more than the copy, and takes a core from the client on a small machine.
            let updates = frames.iter().all(|f| !f.head().tag.is_blob());
            let size: usize = frames.iter().map(|f| f.len()).sum();
            if size <= if updates { DIRECT_UPDATES_MAX } else { DIRECT_WRITE_MAX } && target.outbox.try_claim() {
                target.outbox.release(write_now(socket, &frames));
                return target.outbox.backlog();
            }
        }
        match target.outbox.push_all(frames) {
            Push::Overflow { backlog } => {
                warn!("{}: {backlog} bytes behind, shutting down", target.name);
                // Its queue's memory goes back once its writer has let go (see crate::memory).
                self.unregister(target.id);
                usize::MAX
            }
            Push::Dropped { backlog, first } => {
                if first {
                    warn!("{}: {backlog} bytes behind, dropping what it is sent until it reads again", target.name);
                }
                usize::MAX
            }
            Push::Closed => usize::MAX,
            Push::Queued | Push::Replaced => target.outbox.backlog(),
        }
    }
}

/// Most bytes written directly by their sender when BLOBs are among them (see [`Hub::push_frames`]).
const DIRECT_WRITE_MAX: usize = 64 << 10;

/// Most bytes of updates written directly by their sender in one go (see [`Hub::push_frames`]).
const DIRECT_UPDATES_MAX: usize = 1 << 20;

/// Writes frames without waiting, in one system call; returns what is left to write, in order
/// (all of it on any error: the writer then meets the error and closes the connection).
fn write_now(socket: &ClientSocket, frames: &[Arc<Frame>]) -> Vec<Arc<Frame>> {
    let slices: Vec<std::io::IoSlice<'_>> = frames.iter().map(|f| std::io::IoSlice::new(f.bytes())).collect();
    unwritten_after(frames, socket.try_write_vectored(&slices).unwrap_or(0))
}

/// What is left of `frames` once their first `written` bytes are on the wire.
fn unwritten_after(frames: &[Arc<Frame>], mut written: usize) -> Vec<Arc<Frame>> {
    let mut unwritten = Vec::new();
    for frame in frames {
        let len = frame.len();
        if written >= len {
            written -= len;
        } else {
            unwritten.push(if written > 0 { frame.tail(written) } else { frame.clone() });
            written = 0;
        }
    }
    unwritten
}

/// The readers a BLOB sender should wait for (see [`Hub::deliver_all`]).
pub struct Pace {
    readers: Vec<Arc<Endpoint>>,
    resume: usize,
}

/// Longest pause: readers that stopped reading must not hold the sender.
const MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

impl Pace {
    /// Waits until one of the readers has caught up (or a second has passed, or it is gone).
    pub async fn wait(self) {
        let mut waits: Vec<_> = self.readers.iter().map(|reader| Box::pin(reader.outbox.wait_below(self.resume))).collect();
        let any = std::future::poll_fn(|cx| {
            let ready = waits.iter_mut().any(|wait| std::future::Future::poll(wait.as_mut(), cx).is_ready());
            if ready {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        let _ = tokio::time::timeout(MAX_PAUSE, any).await;
    }
}

/// Adds a frame to the batch for `endpoint`.
fn queue_for(pushes: &mut Vec<(Arc<Endpoint>, Vec<Arc<Frame>>)>, endpoint: &Arc<Endpoint>, frame: Arc<Frame>) {
    match pushes.iter_mut().find(|(e, _)| e.id == endpoint.id) {
        Some((_, frames)) => frames.push(frame),
        None => pushes.push((endpoint.clone(), vec![frame])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::parsed as received;
    use crate::hub::HubConfig;
    use bytes::Bytes;
    use indi_codec::Element;

    fn update(property: &str, value: u32) -> Arc<Frame> {
        received(&format!("<setNumberVector device='d' name='{property}'><oneNumber name='n'>{value}</oneNumber></setNumberVector>\n"))
    }

    #[test]
    fn a_burst_of_updates_reaches_exactly_the_clients_of_each_property() {
        let hub = Hub::new(HubConfig::default());
        let driver = hub.register(Role::Driver, |_| "driver".into()).unwrap();
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let all = hub.register(Role::Client, |_| "all".into()).unwrap();
        hub.deliver(driver.id, received("<defNumberVector device='d' name='A'><defNumber name='n'>0</defNumber></defNumberVector>"));
        hub.deliver(client.id, received("<getProperties version='1.7' device='d' name='A'/>"));
        hub.deliver(all.id, received("<getProperties version='1.7'/>"));
        let mut batch = Vec::new();
        client.outbox.take_now(&mut batch);
        all.outbox.take_now(&mut batch);
        let burst = vec![update("A", 1), update("A", 2), update("B", 3), update("B", 4), update("A", 5)];
        hub.deliver_all(driver.id, burst);
        let values = |endpoint: &Endpoint| {
            let mut frames = Vec::new();
            endpoint.outbox.take_now(&mut frames);
            frames.iter().map(|f| f.bytes().clone()).collect::<Vec<Bytes>>()
        };
        let of = |frames: Vec<Bytes>| frames.iter().map(|b| b[memchr::memmem::find(b, b"'n'>").unwrap() + 4] - b'0').collect::<Vec<u8>>();
        assert_eq!(of(values(&client)), [1, 2, 5]);
        assert_eq!(of(values(&all)), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn received_blobs_are_streams_by_their_format() {
        let blob = |tag: &str| received(&format!("<setBLOBVector device='d' name='b'><oneBLOB name='i' size='3' {tag}>QUJD</oneBLOB></setBLOBVector>"));
        assert!(blob("format='.stream_jpg'").stream_key().is_some());
        assert!(blob("format = \".mjpeg.stream\"").stream_key().is_some());
        assert!(blob("format='.fits'").stream_key().is_none());
        assert!(blob("format='.fits'").blob_key().is_some(), "still a BLOB for pacing");
        assert!(blob("label='stream'").stream_key().is_none());
    }

    #[test]
    fn what_a_direct_write_leaves_is_the_rest_of_the_frames_in_order() {
        let frames = [update("A", 1), update("B", 2), update("C", 3)];
        let lengths: Vec<usize> = frames.iter().map(|f| f.bytes().len()).collect();
        let rest = |written: usize| unwritten_after(&frames, written).iter().map(|f| f.bytes().clone()).collect::<Vec<Bytes>>();
        assert_eq!(rest(0), frames.iter().map(|f| f.bytes().clone()).collect::<Vec<_>>());
        assert_eq!(rest(lengths[0] + 4), [frames[1].bytes().slice(4..), frames[2].bytes().clone()]);
        assert_eq!(rest(lengths[0]), [frames[1].bytes().clone(), frames[2].bytes().clone()]);
        assert!(rest(lengths.iter().sum()).is_empty());
    }

    #[tokio::test]
    async fn a_drivers_burst_goes_to_clients_in_runs_and_to_an_in_process_snooper_one_by_one() {
        let hub = Hub::new(HubConfig::default());
        let driver = hub.register(Role::Driver, |_| "driver".into()).unwrap();
        let client = hub.register(Role::Client, |_| "client".into()).unwrap();
        let snooper = crate::local::LocalDriver::attach(&hub, "snooper");
        hub.deliver(driver.id, received("<defNumberVector device='d' name='A'><defNumber name='n'>0</defNumber></defNumberVector>"));
        hub.deliver(client.id, received("<getProperties version='1.7'/>"));
        snooper.send(Element::GetProperties(indi_codec::GetProperties { version: Some("1.7".into()), device: Some("d".into()), name: None }));
        let mut ignored = Vec::new();
        client.outbox.take_now(&mut ignored);
        snooper.take(&mut ignored);
        let sent: String = (1..=40)
            .map(|i| {
                format!("<setNumberVector device='d' name='{}'><oneNumber name='n'>{i}</oneNumber></setNumberVector>\n", if i % 10 == 0 { "B" } else { "A" })
            })
            .collect();
        crate::io::read_loop(&hub, &driver, sent.as_bytes()).await;
        let mut frames = Vec::new();
        client.outbox.take_now(&mut frames);
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.bytes().to_vec()).collect();
        assert_eq!(String::from_utf8(bytes).unwrap(), sent, "the client gets the bytes as sent");
        assert!(frames.len() < 20, "{} frames: updates of one vector should run together", frames.len());
        let mut singles = Vec::new();
        snooper.take(&mut singles);
        let values: Vec<String> = singles
            .iter()
            .map(|f| match f.element() {
                Ok(Element::Set(set)) => match &set.members[0].value {
                    indi_codec::OneValue::Text(text) => text.clone(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, (1..=40).map(|i| i.to_string()).collect::<Vec<_>>(), "the snooper gets each update");
    }
}
