//! In-process drivers (TypeScript drivers of `IPyServer`): they exchange decoded elements with
//! the hub directly, with no XML in between.

use crate::delivery::Pace;
use crate::endpoint::{Registration, Role};
use crate::frame::Frame;
use crate::hub::Hub;
use indi_codec::{Element, GetProperties};
use std::sync::Arc;

/// A driver living in this process.
pub struct LocalDriver {
    hub: Hub,
    endpoint: Registration,
    pace: std::sync::Mutex<Option<Pace>>,
}

impl LocalDriver {
    /// Connects a new in-process driver.
    pub fn attach(hub: &Hub, name: &str) -> LocalDriver {
        let endpoint = hub.register(Role::Driver, |_| format!("Driver {name}")).expect("drivers are never refused");
        hub.driver_started();
        // JavaScript takes its elements itself (`take`), right after routing what it read.
        endpoint.outbox.set_taken_by_host();
        // As for driver processes: the definitions it sends back teach the hub its devices.
        let get = GetProperties { version: Some("1.7".into()), device: None, name: None };
        endpoint.outbox.push(Frame::new(Element::GetProperties(get)));
        LocalDriver { hub: hub.clone(), endpoint, pace: std::sync::Mutex::new(None) }
    }

    /// Routes an element the driver sends; returns false when it should await [`LocalDriver::drained`].
    pub fn send(&self, element: Element) -> bool {
        let pace = self.hub.deliver(self.endpoint.id, Frame::new(element));
        let go_on = pace.is_none();
        *self.pace.lock().unwrap() = pace;
        go_on
    }

    /// Waits until the readers of the driver's BLOBs have caught up (bounded).
    pub async fn drained(&self) {
        let pace = self.pace.lock().unwrap().take();
        if let Some(pace) = pace {
            pace.wait().await;
        }
    }

    /// Waits until elements are routed to the driver (see [`LocalDriver::take`]); false once
    /// it is detached.
    pub async fn wait_for_elements(&self) -> bool {
        tokio::select! {
            more = self.endpoint.outbox.wait_queued() => more,
            _ = self.endpoint.cancel.cancelled() => false,
        }
    }

    /// Takes the elements routed to the driver so far. One thread takes them all (the driver's:
    /// JavaScript's), so they are handled in order whoever tells it to look.
    pub fn take(&self, batch: &mut Vec<Arc<Frame>>) {
        if !self.endpoint.cancel.is_cancelled() {
            self.endpoint.outbox.take_now(batch);
            // A driver handles elements one by one: runs of snooped updates are split.
            if batch.iter().any(|frame| frame.count() > 1) {
                *batch = batch.iter().flat_map(Frame::singles).collect();
            }
        }
    }

    /// Disconnects the driver: its devices are deleted for clients.
    pub fn detach(&self) {
        if !self.endpoint.cancel.is_cancelled() {
            self.endpoint.unregister();
            if !self.hub.stopping().is_cancelled() {
                self.hub.driver_gone();
            }
        }
    }
}
