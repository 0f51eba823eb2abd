//! napi bindings of indi-node: thin handles over the Rust crates under `crates/`.
#![deny(clippy::all)]
// Under `cargo test` nothing registers the napi exports, which only JavaScript calls.
#![cfg_attr(test, allow(dead_code))]

mod blobbytes;
mod client;
mod driverlink;
mod fdio;
mod gpio;
mod numread;
mod numrun;
mod server;
mod stdio;
mod updates;
mod web;
mod wire;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Parses an INDI number: decimal or sexagesimal with `:`, `;` or space separators.
#[napi]
pub fn getfloat(text: String) -> Result<f64> {
    indi_codec::getfloat(&text).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// Formats a number with an INDI format (printf `%f`/`%e`/`%g`/`%d`, or sexagesimal `%<w>.<f>m`).
#[napi]
pub fn format_number(format: String, value: f64) -> String {
    indi_codec::format_number(&format, value)
}

/// Parses an INDI timestamp to milliseconds since the Unix epoch (null when not a timestamp).
#[napi]
pub fn parse_timestamp(text: String) -> Option<f64> {
    indi_codec::timestamp::parse_timestamp(&text)
}

/// Keeps BLOB-sized buffers in the heap: freed frames are reused instead of being returned to
/// the kernel and faulted back in for the next BLOB (page faults cost more than the base64).
#[napi_derive::module_init]
fn keep_large_buffers_in_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes glibc's allocator; both values are within its documented range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
