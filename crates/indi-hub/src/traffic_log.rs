//! What is logged of the traffic: versions of clients' `getProperties`, each element at `-vv`
//! (`-vvv`: its XML), drivers' messages in `-l` logs, and dropped elements.

use crate::frame::Frame;
use indi_codec::{Element, Tag};
use std::path::Path;
use std::sync::Arc;
use tracing::{debug, trace, warn};

/// What is logged of every element read: versions of clients' `getProperties`, each
/// element at `-vv`, and drivers' elements in `-l` logs.
pub(crate) fn log_read(log_dir: Option<&Path>, source: &str, frames: &[Arc<Frame>], from_driver: bool, from_client: bool) {
    if from_client {
        for frame in frames.iter().filter(|f| f.head().tag == Tag::GetProperties) {
            if let Ok(Element::GetProperties(get)) = frame.element() {
                log_version(source, get.version.as_deref());
            }
        }
    }
    if crate::logging::verbosity() >= 2 {
        for frame in frames.iter().flat_map(Frame::singles) {
            trace!("{source}: read {}", summary(&frame));
            if crate::logging::verbosity() >= 3 {
                trace!("{source}: {}", String::from_utf8_lossy(frame.bytes()).trim_end());
            }
        }
    }
    if let Some(dir) = log_dir.filter(|_| from_driver) {
        for single in frames.iter().flat_map(Frame::singles) {
            if let Ok(element) = single.element() {
                crate::driverlog::append(dir, element);
            }
        }
    }
}

pub(crate) fn log_drop(source: &str, frame: &Frame, reason: &str) {
    // Reasons quote names a peer chose.
    let reason = capped(reason, 2 * LOGGED_NAME);
    if reason.starts_with("clients may not") {
        warn!("{source}: dropped {}: {reason}", summary(frame));
    } else {
        debug!("{source}: dropped {}: {reason}", summary(frame));
    }
}

/// Spec §4.4: a client's `getProperties` of another version reaches drivers as 1.7.
fn log_version(source: &str, version: Option<&str>) {
    match version {
        Some("1.7") => {}
        None => debug!("{source}: getProperties without a version treated as 1.7"),
        Some(version) => debug!("{source}: getProperties version {version:?} treated as 1.7"),
    }
}

/// `<setNumberVector Telescope.EQUATORIAL_EOD_COORD>` for log lines.
pub fn summary(frame: &Frame) -> String {
    let head = frame.head();
    let tag = head.tag.as_str();
    // Peers choose these names: escaped, so `&#10;` cannot forge a log line (KStars greps them),
    // and cut, so a huge one cannot make a huge line.
    let logged = |name: &str| capped(&name.escape_debug().to_string(), LOGGED_NAME);
    let (device, name) = (head.device.as_deref().map(logged), head.name.as_deref().map(logged));
    match (device, name) {
        (Some(d), Some(n)) => format!("<{tag} {d}.{n}>"),
        (Some(d), None) => format!("<{tag} {d}>"),
        _ => format!("<{tag}>"),
    }
}

/// Most characters of a peer-chosen name in a log line.
const LOGGED_NAME: usize = 100;

/// `text`, or its first `max` characters and how long it was.
fn capped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::parsed as received;

    #[test]
    fn huge_names_make_short_log_lines() {
        let device = "D".repeat(900_000);
        let line = summary(&received(&format!("<newTextVector device='{device}' name='T&#10;'><oneText name='t'>x</oneText></newTextVector>")));
        assert!(line.len() < 200, "{} bytes", line.len());
        assert!(line.starts_with(&format!("<newTextVector {}… (900000 bytes).T\\n>", "D".repeat(LOGGED_NAME))), "{line}");
        assert_eq!(capped("é".repeat(3).as_str(), 2), "éé… (6 bytes)");
    }
}
