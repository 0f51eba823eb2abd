//! Driver processes: started with pipes for stdin, stdout and stderr, sent
//! `getProperties` at start, logged, and restarted up to `-r` times when they die.

use crate::connection::Connection;
use crate::endpoint::Role;
use crate::hub::Hub;
use indi_codec::{Element, GetProperties};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// How to start a driver process.
#[derive(Debug, Clone)]
pub struct DriverSpec {
    /// Executable (a name on `PATH`, or a path).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment (`INDIDEV`, `INDICONFIG`, ... from FIFO commands).
    pub env: Vec<(String, String)>,
}

impl DriverSpec {
    /// The name used in logs and by FIFO `stop`.
    pub fn name(&self) -> &str {
        &self.program
    }
}

/// Runs a driver process until it is stopped or has died more than `max_restarts` times.
pub async fn supervise(hub: Hub, spec: DriverSpec, stop: CancellationToken) {
    let name = spec.name().to_owned();
    let mut restarts = 0;
    loop {
        run_once(&hub, &spec, &stop).await;
        if stop.is_cancelled() || hub.stopping().is_cancelled() {
            break;
        }
        if restarts >= hub.config().max_restarts {
            info!("Driver {name}: Terminated after #{restarts} restarts.");
            break;
        }
        info!("Driver {name}: restart #{restarts}");
        restarts += 1;
    }
    hub.driver_gone();
}

/// One life of the process: from spawn to exit (or stop).
async fn run_once(hub: &Hub, spec: &DriverSpec, stop: &CancellationToken) {
    let name = spec.name();
    let mut command = Command::new(&spec.program);
    command.args(&spec.args).envs(spec.env.iter().cloned()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            info!("Driver {name}: execlp {name}: {error}");
            return;
        }
    };
    debug!("Driver {name}: pid={}", child.id().unwrap_or(0));
    let (stdin, stdout, stderr) = (child.stdin.take().unwrap(), child.stdout.take().unwrap(), child.stderr.take().unwrap());
    // 1 MiB pipes instead of 64 KiB: a BLOB crosses in a few reads and writes, not dozens.
    for fd in [stdin.as_raw_fd(), stdout.as_raw_fd()] {
        // SAFETY: fcntl on descriptors we own; failure (an old kernel, a low limit) is harmless.
        unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20) };
    }
    let get = GetProperties { version: Some("1.7".into()), device: None, name: None };
    let connection =
        Connection::open(hub, Role::Driver, |_| format!("Driver {name}"), stdin, vec![Element::GetProperties(get)]).expect("drivers are never refused");
    let logging = tokio::spawn(log_stderr(name.to_owned(), stderr));
    // The driver's end is its exit, as for indiserver, or the end of its output: a process it
    // started may hold its pipes open for long after.
    {
        let mut reading = std::pin::pin!(connection.read(stdout));
        let exited = tokio::select! {
            _ = &mut reading => false,
            _ = child.wait() => true,
            _ = stop.cancelled() => false,
        };
        if exited {
            // What it wrote last may still be in the pipe.
            let _ = tokio::time::timeout(LAST_WORDS, &mut reading).await;
        }
    }
    connection.unregister();
    // Its stdin is closed now: a well-behaved driver exits on its own.
    let exited = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
    if exited.is_err() {
        let _ = child.start_kill();
    }
    match child.wait().await {
        Ok(status) => debug!("Driver {name}: {status}"),
        Err(error) => debug!("Driver {name}: wait failed: {error}"),
    }
    connection.close().await;
    // Its last lines are logged before any restart; a process it left behind keeps the rest.
    let _ = tokio::time::timeout(LAST_WORDS, logging).await;
}

/// How long a driver's last output is waited for once it has exited.
const LAST_WORDS: Duration = Duration::from_millis(250);

/// Longest stderr line logged: the rest of a longer one is dropped (a driver that writes
/// without line breaks must not grow the server's memory, nor its log lines).
const MAX_STDERR_LINE: usize = 4096;

/// Logs each line of a driver's stderr (as UTF-8, lossily: a byte such as `\xb0` must not stop
/// the reading, or the driver's next write would get SIGPIPE) until it is closed.
async fn log_stderr(name: String, stderr: ChildStderr) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let mut skipping = false;
    while let Ok(buf) = reader.fill_buf().await {
        if buf.is_empty() {
            break;
        }
        let newline = memchr::memchr(b'\n', buf);
        let piece = &buf[..newline.unwrap_or(buf.len())];
        if !skipping {
            let room = MAX_STDERR_LINE - line.len();
            line.extend_from_slice(&piece[..piece.len().min(room)]);
            if piece.len() > room {
                info!("Driver {name}: {} [cut: line longer than {MAX_STDERR_LINE} bytes]", String::from_utf8_lossy(&line).trim_end());
                line.clear();
                skipping = true;
            }
        }
        let used = newline.map_or(buf.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            if !skipping {
                info!("Driver {name}: {}", String::from_utf8_lossy(&line).trim_end_matches('\r'));
            }
            line.clear();
            skipping = false;
        }
    }
    if !line.is_empty() {
        info!("Driver {name}: {}", String::from_utf8_lossy(&line));
    }
}
