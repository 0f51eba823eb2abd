//! Clients read by the host's thread instead of a tokio task. An in-process server hands each
//! client's socket to JavaScript, whose event loop reads it and feeds the bytes here; elements
//! for in-process drivers are then taken on that same thread. A request to a TypeScript driver
//! thus wakes one thread, not a tokio worker and then the JavaScript thread (round trips).
//! Replies and everything else a client is sent are still written by tokio.

use crate::endpoint::Registration;
use crate::hub::Hub;
use crate::io::{bad_input, next_item, ReadEnd};
use crate::outbox::host_takes_next;
use crate::readbuf::ReadBuffer;
use indi_codec::IndiCodec;
use std::os::fd::RawFd;
use std::sync::{Arc, OnceLock};

/// Receives each new client: its feed and a duplicate of its socket to read from (the host
/// closes it).
pub type ClientHost = Arc<dyn Fn(ClientFeed, RawFd) + Send + Sync>;

/// The reading side of one client, fed by the host.
pub struct ClientFeed {
    hub: Hub,
    /// While the client is connected. Dropped at once when it ends (which unregisters it), not
    /// when the host lets go of the feed (JavaScript's garbage collector, maybe much later): it
    /// holds the socket's write side (through the endpoint) and a read buffer.
    open: Option<Reading>,
    /// Why reading ended, for the connection's log line.
    ended: Arc<OnceLock<ReadEnd>>,
}

/// What reading a connected client takes.
struct Reading {
    endpoint: Registration,
    codec: IndiCodec,
    read: ReadBuffer,
}

impl ClientFeed {
    /// The feed, and where it records why reading ended.
    pub(crate) fn new(hub: Hub, endpoint: Registration) -> (ClientFeed, Arc<OnceLock<ReadEnd>>) {
        let codec = IndiCodec::new(hub.config().limits);
        let ended = Arc::new(OnceLock::new());
        let open = Some(Reading { endpoint, codec, read: ReadBuffer::new() });
        (ClientFeed { hub, open, ended: ended.clone() }, ended)
    }

    /// Decodes and routes bytes the client sent. False once the client is disconnected
    /// (it sent something that is not INDI, or the server closed it): stop reading.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        match &mut self.open {
            Some(reading) if !reading.endpoint.cancel.is_cancelled() => reading.read.extend(bytes),
            _ => {
                self.close(ReadEnd::Cancelled);
                return false;
            }
        }
        self.route(false)
    }

    /// The client closed its side: what it left unfinished is logged, and it is disconnected.
    pub fn end(&mut self) {
        if self.open.is_some() {
            self.route(true);
        }
        self.close(ReadEnd::Eof);
    }

    fn route(&mut self, eof: bool) -> bool {
        let Some(Reading { endpoint, codec, read }) = &mut self.open else { return false };
        let mut frames = Vec::new();
        while let Some(item) = next_item(codec, read, eof, 1, true, None) {
            match item {
                Ok(frame) => frames.push(frame),
                Err(error) => {
                    if let Some(end) = bad_input(&self.hub, endpoint, error, &mut frames) {
                        self.close(end);
                        return false;
                    }
                }
            }
        }
        read.settle();
        // No pacing: BLOB uploads go to driver queues that drop, not grow, past their limit.
        let id = endpoint.id;
        let _ = host_takes_next(|| self.hub.deliver_all(id, frames));
        true
    }

    fn close(&mut self, why: ReadEnd) {
        if self.open.take().is_some() {
            let _ = self.ended.set(why);
        }
    }
}

impl Drop for ClientFeed {
    fn drop(&mut self) {
        self.close(ReadEnd::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Role;
    use crate::hub::HubConfig;
    use crate::local::LocalDriver;
    use indi_codec::Tag;

    fn taken(driver: &LocalDriver) -> Vec<Tag> {
        let mut batch = Vec::new();
        driver.take(&mut batch);
        batch.iter().map(|frame| frame.head().tag).collect()
    }

    #[test]
    fn fed_bytes_reach_the_driver_in_order_and_bad_input_closes_the_client() {
        let hub = Hub::new(HubConfig::default());
        let driver = LocalDriver::attach(&hub, "echo");
        assert_eq!(taken(&driver), [Tag::GetProperties], "the server's own getProperties");
        let client = hub.register(Role::Client, |id| format!("Client {id}")).unwrap();
        let endpoint = (*client).clone();
        let (mut feed, ended) = ClientFeed::new(hub.clone(), client);
        let client = endpoint;
        // Pieces that split elements: what is unfinished waits for the rest.
        let input = "<getProperties version='1.7'/>\n<pingRequest uid='a'/><getProp";
        assert!(feed.feed(input.as_bytes()));
        assert_eq!(taken(&driver), [Tag::GetProperties]);
        assert!(feed.feed(b"erties version='1.7'/>"));
        assert_eq!(taken(&driver), [Tag::GetProperties]);
        assert!(client.outbox.backlog() > 0, "the ping was answered");
        assert!(!feed.feed(b"<newTextVector device='x' name='y'></oops>"));
        assert_eq!((ended.get(), hub.client_count()), (Some(&ReadEnd::Malformed), 0));
        assert!(client.cancel.is_cancelled());
        assert!(!feed.feed(b"<getProperties version='1.7'/>"), "a closed feed takes nothing");
        assert!(taken(&driver).is_empty());
    }

    #[test]
    fn the_end_of_the_stream_disconnects_and_a_dropped_feed_too() {
        let hub = Hub::new(HubConfig::default());
        let client = hub.register(Role::Client, |id| format!("Client {id}")).unwrap();
        let (mut feed, ended) = ClientFeed::new(hub.clone(), client);
        assert!(feed.feed(b"<getProperties version='1.7'/>"));
        feed.end();
        assert_eq!((ended.get(), hub.client_count()), (Some(&ReadEnd::Eof), 0));
        // An element left unfinished at the end is bad input, as for a client read by tokio.
        let client = hub.register(Role::Client, |id| format!("Client {id}")).unwrap();
        let (mut feed, ended) = ClientFeed::new(hub.clone(), client);
        assert!(feed.feed(b"<getProperties version='1.7'/><unfinished"));
        feed.end();
        assert_eq!((ended.get(), hub.client_count()), (Some(&ReadEnd::Malformed), 0));
        let client = hub.register(Role::Client, |id| format!("Client {id}")).unwrap();
        drop(ClientFeed::new(hub.clone(), client));
        assert_eq!(hub.client_count(), 0);
    }
}
