//! An element on its way through the hub: decoded once, encoded at most once, shared by every
//! queue it is delivered to.

use bytes::Bytes;
use indi_codec::{Element, VectorKind};
use std::sync::{Arc, OnceLock};

/// A shared, immutable element with its lazily encoded bytes.
#[derive(Debug)]
pub struct Frame {
    /// The element.
    pub element: Element,
    encoded: OnceLock<Bytes>,
}

impl Frame {
    /// Wraps an element.
    pub fn new(element: Element) -> Arc<Frame> {
        Arc::new(Frame { element, encoded: OnceLock::new() })
    }

    /// The wire bytes, encoded on first use (one encoding however many queues hold the frame).
    pub fn bytes(&self) -> &Bytes {
        self.encoded.get_or_init(|| indi_codec::to_bytes(&self.element))
    }

    /// `(device, property)` when this is a `setBLOBVector`: the BLOB traffic policies apply.
    pub fn blob_key(&self) -> Option<(&str, &str)> {
        match &self.element {
            Element::Set(v) if v.kind == VectorKind::Blob => Some((&v.device, &v.name)),
            _ => None,
        }
    }
}
