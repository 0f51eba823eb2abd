//! Driver processes: started as indiserver ≥ 1.9.7 starts them, stdin and stdout one unix
//! socket (so libindi drivers pass BLOBs as shared memory, see [`crate::shm`]) and stderr a
//! pipe, or with three pipes when asked; sent `getProperties` at start, logged, and restarted
//! up to `-r` times when they die.

use crate::connection::Connection;
use crate::endpoint::Role;
use crate::hub::Hub;
use crate::io::{read_loop_attached, ReadEnd};
use crate::shm::AttachingReader;
use indi_codec::{Element, GetProperties};
use std::future::Future;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;
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
    /// Pipes for stdin and stdout instead of a socket (for drivers that misbehave on one).
    pub pipes: bool,
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
    let pipes = spec.pipes || hub.config().driver_pipes;
    let mut command = Command::new(&spec.program);
    command.args(&spec.args).envs(spec.env.iter().cloned()).stderr(Stdio::piped()).kill_on_drop(true);
    let socket = if pipes {
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        Ok(None)
    } else {
        driver_socket(&mut command).map(Some)
    };
    let spawned = socket.and_then(|socket| Ok((command.spawn()?, socket)));
    // The child's ends of its socket, held by `command`, are closed here.
    drop(command);
    let (mut child, socket) = match spawned {
        Ok(spawned) => spawned,
        Err(error) => {
            info!("Driver {name}: execlp {name}: {error}");
            return;
        }
    };
    debug!("Driver {name}: pid={}{}", child.id().unwrap_or(0), if pipes { " (pipes)" } else { "" });
    let stderr = child.stderr.take().unwrap();
    let get = || vec![Element::GetProperties(GetProperties { version: Some("1.7".into()), device: None, name: None })];
    let label = |_| format!("Driver {name}");
    let (connection, reading): (Connection, Pin<Box<dyn Future<Output = ReadEnd> + Send + '_>>);
    match socket {
        Some(socket) => {
            let (read, write) = socket.into_split();
            connection = Connection::open(hub, Role::Driver, label, write, get()).expect("drivers are never refused");
            let reader = AttachingReader::new(read, connection.name.clone(), hub.config().limits.max_element);
            reading = Box::pin(read_loop_attached(hub, &connection, reader));
        }
        None => {
            let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
            // 1 MiB pipes instead of 64 KiB: a BLOB crosses in a few reads and writes, not dozens.
            for fd in [stdin.as_raw_fd(), stdout.as_raw_fd()] {
                // SAFETY: fcntl on descriptors we own; failure (an old kernel, a low limit) is harmless.
                unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20) };
            }
            connection = Connection::open(hub, Role::Driver, label, stdin, get()).expect("drivers are never refused");
            let fd = stdout.as_raw_fd();
            reading = Box::pin(connection.read_driver(stdout, fd));
        }
    }
    let logging = tokio::spawn(log_stderr(name.to_owned(), stderr));
    // The driver's end is its exit, as for indiserver, or the end of its output: a process it
    // started may hold its pipes open for long after.
    {
        let mut reading = reading;
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

/// A unix socket pair: one end becomes the driver's stdin and stdout, the other is returned.
fn driver_socket(command: &mut Command) -> std::io::Result<UnixStream> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    for fd in [ours.as_raw_fd(), theirs.as_raw_fd()] {
        // 4 MiB, for drivers that write base64 (the kernel caps it at net.core.wmem_max).
        let size: libc::c_int = 4 << 20;
        // SAFETY: setsockopt on sockets we own, with an int option; failure is harmless.
        unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, (&size as *const libc::c_int).cast(), 4) };
    }
    command.stdin(Stdio::from(OwnedFd::from(theirs.try_clone()?))).stdout(Stdio::from(OwnedFd::from(theirs)));
    ours.set_nonblocking(true)?;
    UnixStream::from_std(ours)
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
