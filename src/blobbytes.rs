//! BLOB bytes crossing the napi boundary. Decoded BLOBs go to JS as external `Buffer`s whose
//! memory, once JS has collected them, returns to [`BLOB_POOL`] for the next BLOBs (its pages
//! still mapped: see `indi_web::pool`); BLOBs from JS (uploads) are read in place.

use bytes::BytesMut;
use indi_web::ahead::Room;
use indi_web::pool::BufferPool;
use napi::bindgen_prelude::*;
use std::ffi::c_void;
use std::ptr;
use std::time::Duration;

/// Decoded BLOB memory given back by JS: 64 MiB at most (V8 collects external memory about
/// that often, so a steady stream reuses all it needs), dropped after 10 s without a BLOB.
pub static BLOB_POOL: BufferPool = BufferPool::new(64 << 20, Duration::from_secs(10));

/// Room for `len` decoded bytes: a buffer JS gave back if one fits (mapped as far as its last
/// BLOB filled it), else fresh memory.
pub fn blob_room(len: usize) -> Room {
    match BLOB_POOL.take(len) {
        Some((bytes, mapped)) => Room { bytes, mapped },
        None => Room { bytes: BytesMut::with_capacity(len), mapped: 0 },
    }
}

/// A BLOB member's bytes: a JS `Buffer` (a request's upload) or bytes decoded here for JS.
pub enum BlobBytes {
    FromJs(Buffer),
    Decoded(Vec<u8>),
}

impl AsRef<[u8]> for BlobBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            BlobBytes::FromJs(buffer) => buffer,
            BlobBytes::Decoded(bytes) => bytes,
        }
    }
}

impl TypeName for BlobBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for BlobBytes {}

impl FromNapiValue for BlobBytes {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: forwarded as received.
        Ok(BlobBytes::FromJs(unsafe { Buffer::from_napi_value(env, value) }?))
    }
}

impl ToNapiValue for BlobBytes {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        let bytes = match value {
            // SAFETY: forwarded as received.
            BlobBytes::FromJs(buffer) => return unsafe { Buffer::to_napi_value(env, buffer) },
            BlobBytes::Decoded(bytes) if bytes.is_empty() => return unsafe { Buffer::to_napi_value(env, bytes.into()) },
            BlobBytes::Decoded(bytes) => Box::new(bytes),
        };
        let (data, len) = (bytes.as_ptr() as *mut c_void, bytes.len());
        let owner = Box::into_raw(bytes);
        let mut result = ptr::null_mut();
        // SAFETY: `data` is `len` bytes owned by `owner`, which `give_back` frees (into the pool)
        // when JS collects the Buffer, and nothing else touches meanwhile.
        let mut status = unsafe { sys::napi_create_external_buffer(env, len, data, Some(give_back), owner.cast(), &mut result) };
        if status == sys::Status::napi_no_external_buffers_allowed {
            // Electron: JS must own its Buffers, so it gets a copy and the bytes go back now.
            // SAFETY: as above; `owner` is not shared with JS on this path.
            let bytes = unsafe { Box::from_raw(owner) };
            status = unsafe { sys::napi_create_buffer_copy(env, len, data, ptr::null_mut(), &mut result) };
            BLOB_POOL.give(*bytes);
        }
        check_status!(status, "cannot hand a decoded BLOB to JS")?;
        Ok(result)
    }
}

/// Finalizer of a decoded BLOB's `Buffer`: its memory goes back to [`BLOB_POOL`].
unsafe extern "C" fn give_back(_env: sys::napi_env, _data: *mut c_void, owner: *mut c_void) {
    // SAFETY: `owner` is the `Box<Vec<u8>>` leaked in `to_napi_value`, finalized once.
    let bytes = unsafe { Box::from_raw(owner.cast::<Vec<u8>>()) };
    BLOB_POOL.give(*bytes);
}
