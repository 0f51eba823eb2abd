//! The bridge's one hub connection: it reads every element once, keeps the [`Model`], and fans
//! the JSON form out to each browser's bounded queue ([`Session`]).

use crate::json::{parse_new, Refused, Text};
use crate::model::{Blob, Model};
use indi_codec::{BlobEnable, Element, EnableBlob, GetProperties, Tag, VectorKind};
use indi_hub::frame::Frame;
use indi_hub::{Hub, Registration, Role};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tracing::warn;

/// What a browser may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Sees everything, sets nothing.
    Viewer,
    /// Sees and sets.
    Operator,
}

/// One browser's queue of JSON messages, bounded as an INDI client's is: a browser that falls
/// further behind is disconnected (it reconnects and is sent the current state afresh).
pub struct Session {
    /// What the browser may do.
    pub access: Access,
    queue: Mutex<Queue>,
    ready: Notify,
    limit: usize,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Text>,
    bytes: usize,
    closed: bool,
}

impl Session {
    /// Queues a message; false (and closed) past the limit.
    pub fn push(&self, text: Text) -> bool {
        let mut queue = self.queue.lock().unwrap();
        if queue.closed {
            return false;
        }
        queue.bytes += text.len() + 64;
        if queue.bytes > self.limit {
            queue.closed = true;
            queue.items.clear();
            drop(queue);
            self.ready.notify_one();
            return false;
        }
        queue.items.push_back(text);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// Waits for messages and moves them to `out`; false once the session is closed.
    pub async fn next(&self, out: &mut Vec<Text>) -> bool {
        loop {
            let notified = self.ready.notified();
            {
                let mut queue = self.queue.lock().unwrap();
                if queue.closed {
                    return false;
                }
                if !queue.items.is_empty() {
                    out.extend(queue.items.drain(..));
                    queue.bytes = 0;
                    return true;
                }
            }
            notified.await;
        }
    }

    /// Ends the session (its writer stops).
    pub fn close(&self) {
        self.queue.lock().unwrap().closed = true;
        self.ready.notify_one();
    }

    /// Bytes queued.
    pub fn backlog(&self) -> usize {
        self.queue.lock().unwrap().bytes
    }
}

struct State {
    model: Model,
    sessions: Vec<Arc<Session>>,
}

/// The hub side of the web panel.
pub struct Bridge {
    hub: Hub,
    id: indi_hub::router::EndpointId,
    state: Mutex<State>,
}

impl Bridge {
    /// Connects to the hub as one client that asks for every property and every BLOB, and
    /// starts reading what it is sent; `None` when the hub refuses a client (`--maxconnections`).
    pub fn start(hub: &Hub) -> Option<Arc<Bridge>> {
        let registration = hub.register(Role::Client, |id| format!("Web {id}"))?;
        let bridge = Arc::new(Bridge { hub: hub.clone(), id: registration.id, state: Mutex::new(State { model: Model::default(), sessions: Vec::new() }) });
        let get = GetProperties { version: Some("1.7".into()), device: None, name: None };
        hub.deliver(registration.id, Frame::new(Element::GetProperties(get)));
        hub.deliver(registration.id, Frame::new(Element::EnableBlob(EnableBlob { device: None, name: None, mode: Some(BlobEnable::Also) })));
        tokio::spawn(bridge.clone().read(registration));
        Some(bridge)
    }

    async fn read(self: Arc<Bridge>, registration: Registration) {
        let mut batch = Vec::new();
        while registration.outbox.next_batch(64 << 20, &mut batch).await {
            for frame in batch.drain(..) {
                for single in frame.singles() {
                    if single.head().tag == Tag::Set(VectorKind::Blob) {
                        // Decoded straight from the frame, outside the lock (see crate::blobs).
                        let buffer = |len| self.state.lock().unwrap().model.buffer(len);
                        if let Some(element) = crate::blobs::read_set_blob(single.bytes(), buffer) {
                            self.apply(&element);
                            continue;
                        }
                    }
                    match indi_codec::parse_element(single.bytes().clone()) {
                        Ok(element) => self.apply(&element),
                        Err(error) => warn!("web: cannot read {}: {error}", single.head().tag.as_str()),
                    }
                }
            }
        }
        let state = self.state.lock().unwrap();
        state.sessions.iter().for_each(|s| s.close());
    }

    /// Applies one element and sends its JSON form to every browser.
    pub fn apply(&self, element: &Element) {
        let mut state = self.state.lock().unwrap();
        let Some(text) = state.model.apply(element) else { return };
        state.sessions.retain(|session| session.push(text.clone()));
    }

    /// A new browser: its queue starts with the current state.
    pub fn join(&self, access: Access) -> Arc<Session> {
        let limit = self.hub.config().client_queue.max_backlog;
        let session = Arc::new(Session { access, queue: Mutex::default(), ready: Notify::new(), limit });
        let mut state = self.state.lock().unwrap();
        let role = if access == Access::Operator { "operator" } else { "viewer" };
        session.push(Text::from(json!({"type": "hello", "role": role}).to_string()));
        for text in state.model.snapshot() {
            session.push(text);
        }
        state.sessions.push(session.clone());
        session
    }

    /// A browser has gone.
    pub fn leave(&self, session: &Arc<Session>) {
        session.close();
        self.state.lock().unwrap().sessions.retain(|s| !Arc::ptr_eq(s, session));
    }

    /// A browser's request, checked and sent to the driver as a `new*Vector`.
    pub fn request(&self, session: &Session, text: &str) -> Result<(), Refused> {
        let new = parse_new(text)?;
        if session.access != Access::Operator {
            return Err(Refused(format!("{}.{}: viewers may not set properties", new.device, new.name)));
        }
        self.state.lock().unwrap().model.writable(&new.device, &new.name).map_err(Refused)?;
        self.hub.deliver(self.id, Frame::new(Element::New(new)));
        Ok(())
    }

    /// The latest bytes of a BLOB slot.
    pub fn blob(&self, slot: usize) -> Option<Blob> {
        self.state.lock().unwrap().model.blob(slot)
    }

    /// Browsers connected.
    pub fn sessions(&self) -> usize {
        self.state.lock().unwrap().sessions.len()
    }
}

/// `{"type":"error","message":...}`.
pub fn error_text(message: &str) -> Text {
    Text::from(json!({"type": "error", "message": message}).to_string())
}
