//! Server settings and their defaults: the one place the CLI, `IPyServer` and the hub take them from.

use crate::outbox::QueueLimits;
use indi_codec::Limits;
use std::path::PathBuf;

/// Server settings (the CLI flags of indiserver and ours).
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Most clients at once (`None`: unlimited).
    pub max_connections: Option<usize>,
    /// Decoder limits for everything received (`--max-message`).
    pub limits: Limits,
    /// Slow-client policies (`-d`, `-m`).
    pub client_queue: QueueLimits,
    /// Restarts of a dying driver process before giving up (`-r`).
    pub max_restarts: u32,
    /// FIFO for `start`/`stop` commands (`-f`); the server then outlives its drivers.
    pub fifo: Option<PathBuf>,
    /// Directory for driver `message` logs (`-l`).
    pub log_dir: Option<PathBuf>,
    /// Driver processes get pipes, not a unix socket (`--pipes`: no shared-memory BLOBs).
    pub driver_pipes: bool,
}

/// The INDI port (indiserver's default).
pub const DEFAULT_PORT: u16 = 7624;

impl Default for HubConfig {
    /// indiserver's defaults: `-d 5`, `-m 128`, `-r 10`; no client limit.
    fn default() -> Self {
        HubConfig {
            max_connections: None,
            limits: Limits::default(),
            client_queue: QueueLimits { blob_replace_after: 5 << 20, max_backlog: 128 << 20 },
            max_restarts: 10,
            fifo: None,
            log_dir: None,
            driver_pipes: false,
        }
    }
}
