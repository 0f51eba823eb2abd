//! `-f path`: start and stop drivers with lines written to a FIFO, as KStars and the INDI Web
//! Manager do: `start <driver> [-n "name"] [-c "config"] [-s "skeleton"] [-p "prefix"]`,
//! `stop <driver> [-n "name"]`, or `start [device]@host[:port]`.

use std::io::{BufRead, BufReader};
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

/// Reads commands from the FIFO at `path` on a thread of its own. The FIFO is opened for
/// reading and writing so it never reports end of file between writers.
pub fn listen(path: &Path) -> std::io::Result<mpsc::UnboundedReceiver<Command>> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { return };
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
}
