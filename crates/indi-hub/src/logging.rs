//! Log lines on stderr in indiserver's form: `YYYY-MM-DDTHH:MM:SS: text`.
//!
//! Verbosity follows indiserver's flags: 0 = errors, driver output and restarts; 1 (`-v`) adds
//! connection events; 2 (`-vv`) one line per message; 3 (`-vvv`) the full XML.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static VERBOSITY: AtomicU8 = AtomicU8::new(0);
static READER_GONE: AtomicBool = AtomicBool::new(false);
type Hook = Box<dyn Fn() + Send>;
static ON_READER_GONE: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
/// Where log lines go instead of stderr (a host's logger), if anywhere.
pub type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

/// Sends each log line (with its time stamp, without its newline) to `sink` instead of stderr;
/// `None` sends them to stderr again.
pub fn set_sink(sink: Option<Sink>) {
    *SINK.lock().unwrap() = sink;
}

/// Runs `hook` once when stderr's reader goes away (a log line meets a broken pipe), as
/// indiserver ends then (by SIGPIPE); a server registers its own stop here.
pub fn on_reader_gone(hook: impl Fn() + Send + 'static) {
    ON_READER_GONE.lock().unwrap().push(Box::new(hook));
}

/// Stderr that notices when nobody reads it any more. One is made per log line, so its
/// patience (milliseconds left to wait for room, see [`STDERR_PATIENCE_MS`]) bounds the line.
struct Stderr {
    patience_ms: i32,
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(sink) = SINK.lock().unwrap().as_ref() {
            // One formatted event per write: a whole line.
            sink(String::from_utf8_lossy(buf).trim_end_matches('\n'));
            return Ok(buf.len());
        }
        match write_waiting(buf, &mut self.patience_ms) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                if !READER_GONE.swap(true, Ordering::AcqRel) {
                    for hook in ON_READER_GONE.lock().unwrap().iter() {
                        hook();
                    }
                }
            }
            Err(_) => {}
            Ok(written) => return Ok(written),
        }
        // A line that cannot be written is dropped, never an error: tracing reports write
        // errors with `eprintln!`, which panics when stderr fails (a panic in whichever task
        // was logging).
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Longest wait for stderr's reader to make room for a line, after which the line is dropped.
const STDERR_PATIENCE_MS: i32 = 1000;

/// Writes to stderr, waiting while it is full for at most `patience_ms` in all (what is left
/// is kept for the rest of the line). Node makes a pipe on fd 2 non-blocking, which would drop
/// a line (or cut it) whenever its reader lags; indiserver's stderr blocks, and its readers
/// count on every line.
fn write_waiting(buf: &[u8], patience_ms: &mut i32) -> io::Result<usize> {
    loop {
        match io::stderr().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && *patience_ms > 0 => {
                let started = std::time::Instant::now();
                let room = stderr_writable_within(*patience_ms);
                *patience_ms -= i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX).max(1);
                if !room {
                    return Err(e);
                }
            }
            written => return written,
        }
    }
}

/// Whether fd 2 becomes writable within `ms` milliseconds.
fn stderr_writable_within(ms: i32) -> bool {
    let mut fd = libc::pollfd { fd: 2, events: libc::POLLOUT, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut fd, 1, ms) > 0 }
}

/// The verbosity in effect (0 to 3).
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

struct IndiserverFormat;

impl<S, N> FormatEvent<S, N> for IndiserverFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp = indi_codec::timestamp::format_timestamp(now.as_secs() as i64 * 1000);
        write!(writer, "{stamp}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Routes `tracing` events to stderr at `verbosity` (first call wins; later calls only raise
/// the verbosity, so several servers in one process share one log).
pub fn init(verbosity: u8) {
    let verbosity = verbosity.min(3);
    VERBOSITY.fetch_max(verbosity, Ordering::Relaxed);
    let level = match verbosity {
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(|| Stderr { patience_ms: STDERR_PATIENCE_MS })
        .log_internal_errors(false)
        .with_max_level(level)
        .event_format(IndiserverFormat)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}
