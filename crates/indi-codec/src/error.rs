//! Decoding errors. They are values: the decoder resynchronises and goes on.

use std::fmt;

/// Why an element could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Well-framed but not valid INDI/XML (bad syntax, missing attribute, bad value, bad UTF-8).
    Malformed {
        /// Tag of the element, when known.
        tag: String,
        /// What was wrong.
        reason: String,
    },
    /// A well-formed element INDI does not define.
    Unknown {
        /// Its tag.
        tag: String,
    },
    /// Characters outside any element (whitespace is fine and not reported).
    Junk {
        /// The first bytes of the junk, lossily decoded.
        sample: String,
    },
    /// An element grew past the size limit; its bytes are discarded as they arrive.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A start tag (name and attributes) grew past the tag limit.
    TagTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Elements nested deeper than the depth limit (INDI needs 2).
    TooDeep {
        /// The limit.
        limit: u32,
    },
    /// The stream ended inside an element.
    Truncated,
    /// Markup was left open where a top-level element starts: it was dropped, and the element
    /// is read (only from peers read with `IndiCodec::resync_on_known_tags`).
    Unclosed {
        /// The tag of the element that starts there.
        before: String,
    },
}

impl DecodeError {
    pub(crate) fn malformed(tag: &str, reason: impl Into<String>) -> DecodeError {
        DecodeError::Malformed { tag: tag.to_owned(), reason: reason.into() }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed { tag, reason } if tag.is_empty() => write!(f, "malformed XML: {reason}"),
            DecodeError::Malformed { tag, reason } => write!(f, "malformed <{tag}>: {reason}"),
            DecodeError::Unknown { tag } => write!(f, "unknown element <{tag}>"),
            DecodeError::Junk { sample } => write!(f, "text outside any element: {sample:?}"),
            DecodeError::TooLarge { limit } => write!(f, "element larger than {limit} bytes"),
            DecodeError::TagTooLong { limit } => write!(f, "start tag longer than {limit} bytes"),
            DecodeError::TooDeep { limit } => write!(f, "elements nested deeper than {limit}"),
            DecodeError::Truncated => write!(f, "stream ended inside an element"),
            DecodeError::Unclosed { before } => write!(f, "unclosed markup dropped at <{before}>; resynchronised"),
        }
    }
}

impl std::error::Error for DecodeError {}
