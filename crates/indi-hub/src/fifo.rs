//! `-f path`: start and stop drivers with lines written to a FIFO, as KStars and the INDI Web
//! Manager do: `start <driver> [-n "name"] [-c "config"] [-s "skeleton"] [-p "prefix"]`,
//! `stop <driver> [-n "name"]`, or `start [device]@host[:port]`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use tokio::sync::mpsc;
use tracing::warn;

/// A parsed FIFO line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start a driver with its options.
    Start {
        /// Executable or `[device]@host[:port]`.
        driver: String,
        /// `-n`: device name (`INDIDEV`).
        name: Option<String>,
        /// `-c`: config file (`INDICONFIG`).
        config: Option<String>,
        /// `-s`: skeleton file (`INDISKEL`).
        skeleton: Option<String>,
        /// `-p`: prefix (`INDIPREFIX`).
        prefix: Option<String>,
    },
    /// Stop a driver (the one with device `name`, when given).
    Stop {
        /// Executable.
        driver: String,
        /// `-n`: device name.
        name: Option<String>,
    },
}

/// Splits on spaces, keeping double-quoted words together (quotes removed).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(current);
    }
    words
}

/// Parses one line; anything that is not `start` is a `stop`, as in indiserver.
pub fn parse(line: &str) -> Option<Command> {
    let words = words(line);
    let (verb, driver) = (words.first()?, words.get(1)?.clone());
    let mut options = std::collections::HashMap::new();
    let mut rest = words[2..].iter();
    while let Some(flag) = rest.next() {
        if let Some(value) = rest.next() {
            options.insert(flag.as_str(), value.clone());
        }
    }
    let mut take = |flag: &str| options.remove(flag);
    Some(if verb == "start" {
        Command::Start { driver, name: take("-n"), config: take("-c"), skeleton: take("-s"), prefix: take("-p") }
    } else {
        Command::Stop { driver, name: take("-n") }
    })
}

/// Longest FIFO line read; longer ones are ignored (with a log line).
const MAX_LINE: usize = 64 << 10;

/// The next line of `reader` (without its line break), read as UTF-8 lossily with a log line
/// when it is not UTF-8 (indiserver goes on too); `None` at the end or on a read error.
fn next_line(reader: &mut impl BufRead) -> Option<String> {
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let read = reader.by_ref().take(MAX_LINE as u64).read_until(b'\n', &mut raw).ok()?;
        if read == 0 {
            return None;
        }
        if raw.last() != Some(&b'\n') && raw.len() == MAX_LINE {
            warn!("FIFO: ignored a line longer than {MAX_LINE} bytes");
            // The rest of it, up to its line break.
            while reader.by_ref().take(MAX_LINE as u64).read_until(b'\n', &mut raw).ok()? == MAX_LINE && raw.last() != Some(&b'\n') {
                raw.clear();
            }
            continue;
        }
        let line = String::from_utf8_lossy(raw.strip_suffix(b"\n").unwrap_or(&raw)).trim_end_matches('\r').to_owned();
        if std::str::from_utf8(&raw).is_err() {
            warn!("FIFO: a line that is not UTF-8, read as {line:?}");
        }
        return Some(line);
    }
}

/// Reads commands from the FIFO at `path` on a thread of its own. The FIFO is opened for
/// reading and writing so it never reports end of file between writers.
pub fn listen(path: &Path) -> std::io::Result<mpsc::UnboundedReceiver<Command>> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(file);
        while let Some(line) = next_line(&mut reader) {
            match parse(&line) {
                Some(command) => {
                    if tx.send(command).is_err() {
                        return;
                    }
                }
                None if line.trim().is_empty() => {}
                None => warn!("FIFO: cannot understand {line:?}"),
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_kstars_and_the_web_manager_write() {
        assert_eq!(
            parse(r#"start indi_simulator_telescope -n "Scope A" -c "/tmp/x y.xml" -s "/s.xml""#),
            Some(Command::Start {
                driver: "indi_simulator_telescope".into(),
                name: Some("Scope A".into()),
                config: Some("/tmp/x y.xml".into()),
                skeleton: Some("/s.xml".into()),
                prefix: None,
            })
        );
        assert_eq!(
            parse(r#"stop indi_simulator_telescope -n "Scope A""#),
            Some(Command::Stop { driver: "indi_simulator_telescope".into(), name: Some("Scope A".into()) })
        );
        assert_eq!(parse("halt indi_x"), Some(Command::Stop { driver: "indi_x".into(), name: None }));
        assert!(matches!(parse("start Telescope@localhost:7625"), Some(Command::Start { driver, .. }) if driver == "Telescope@localhost:7625"));
        assert_eq!(parse(""), None);
        assert_eq!(parse("start"), None);
    }

    #[test]
    fn lines_that_are_not_utf8_or_too_long_do_not_end_the_reading() {
        let mut input = b"stop a \xb0C\n".to_vec();
        input.extend(vec![b'x'; 3 * MAX_LINE]);
        input.extend(b"\nstart b\r\n");
        let mut reader = &input[..];
        assert_eq!(next_line(&mut reader).as_deref(), Some("stop a \u{FFFD}C"));
        assert_eq!(next_line(&mut reader).as_deref(), Some("start b"));
        assert_eq!(next_line(&mut reader), None);
    }
}
