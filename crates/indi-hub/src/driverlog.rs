//! `-l dir`: driver messages appended to `dir/YYYY-MM-DD.islog`, as indiserver does.

use indi_codec::Element;
use std::io::Write;
use std::path::Path;

/// Appends the `message` attribute of a driver's element, if it has one.
pub fn append(dir: &Path, element: &Element) {
    let (device, timestamp, message) = match element {
        Element::Message(m) => (m.device.as_deref(), m.timestamp.as_deref(), m.message.as_deref()),
        Element::Set(v) => (Some(v.device.as_str()), v.timestamp.as_deref(), v.message.as_deref()),
        Element::Def(v) => (Some(v.device.as_str()), v.timestamp.as_deref(), v.message.as_deref()),
        Element::DelProperty(d) => (Some(d.device.as_str()), d.timestamp.as_deref(), d.message.as_deref()),
        _ => return,
    };
    let Some(message) = message.filter(|m| !m.is_empty()) else { return };
    let timestamp = timestamp.map_or_else(indi_codec::timestamp::now, str::to_owned);
    let day: String = timestamp.chars().take(10).collect();
    let path = dir.join(format!("{day}.islog"));
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{timestamp}: {}: {message}", device.unwrap_or(""));
    }
}
