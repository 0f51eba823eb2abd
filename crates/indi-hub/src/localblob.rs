//! BLOBs for clients of the local socket (`-u`), as indiserver 1.9.9 sends them there: each
//! BLOB with content as a shared-memory attachment (`attached="true"`, no content, the
//! buffer's descriptor passed with `SCM_RIGHTS`). A driver's attachments are passed on as they
//! came; a BLOB that came inline is decoded once into a new memfd, without `enclen`.

use crate::frame::Frame;
use crate::shm::{Shared, SharedBlob};
use bytes::BytesMut;
use indi_codec::{BlobData, Element, OneValue};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// Most descriptors per message, as indiserver (`MAXFD_PER_MESSAGE`).
const MAX_FDS: usize = 16;

/// `frame` (a BLOB vector) in the attached form, or `None` when it has no BLOB with content.
pub fn attached_form(frame: &Arc<Frame>) -> Option<Arc<Frame>> {
    let count = u32::try_from(frame.count()).ok()?;
    if let Some(shared) = frame.shared() {
        return Some(Frame::attaching(shared.attached.clone(), frame.head().clone(), count, frame.is_stream(), shared.clone()));
    }
    let mut raw = BytesMut::new();
    let mut blobs = Vec::new();
    for single in frame.singles() {
        let Ok(Element::Set(set)) = single.element() else { return None };
        let mut set = set.clone();
        for member in &mut set.members {
            if let OneValue::Blob(blob) = &mut member.value {
                let bytes = blob.data.to_raw();
                // As indiserver: a BLOB without content stays as it is.
                if bytes.is_empty() {
                    continue;
                }
                match memfd(&bytes) {
                    Ok(shared) => blobs.push(shared),
                    Err(error) => {
                        tracing::warn!("cannot make a shared buffer of {} bytes: {error}; sent inline", bytes.len());
                        return None;
                    }
                }
                blob.data = BlobData::Attached { len: None };
                blob.enclen = None;
            }
        }
        raw.extend_from_slice(&indi_codec::to_bytes(&Element::Set(set)));
    }
    if blobs.is_empty() {
        return None;
    }
    let shared = Arc::new(Shared { attached: raw.freeze(), blobs });
    Some(Frame::attaching(shared.attached.clone(), frame.head().clone(), count, frame.is_stream(), shared))
}

/// A new memfd holding `bytes`, mapped (see [`SharedBlob`]).
fn memfd(bytes: &[u8]) -> io::Result<SharedBlob> {
    // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned at once.
    let fd = unsafe { libc::memfd_create(c"indi-node-blob".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.write_all(bytes)?;
    SharedBlob::map(OwnedFd::from(file), Some(bytes.len() as u64))
}

/// Sends `fds` on the unix socket `socket` with one line break each message (a stream socket
/// carries descriptors with data): written just before the element they belong to, they reach
/// the client no later than it, as indiserver's come with the element's first bytes.
pub async fn send_fds(socket: &tokio::net::UnixStream, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    for chunk in fds.chunks(MAX_FDS) {
        loop {
            socket.writable().await?;
            match socket.try_io(tokio::io::Interest::WRITABLE, || send_with_fds(socket.as_raw_fd(), chunk)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => {
                    result?;
                    break;
                }
            }
        }
    }
    Ok(())
}

fn send_with_fds(socket: std::os::fd::RawFd, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let raw: Vec<libc::c_int> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let data_len = std::mem::size_of_val(&raw[..]);
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut byte = *b"\n";
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer holds one header of CMSG_LEN(data_len) bytes.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&msg);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(data_len as u32) as usize;
        std::ptr::copy_nonoverlapping(raw.as_ptr().cast::<u8>(), libc::CMSG_DATA(header), data_len);
    }
    // SAFETY: a valid message on a socket descriptor the caller holds open.
    let sent = unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) };
    match sent {
        1 => Ok(()),
        0 => Err(io::ErrorKind::WriteZero.into()),
        _ => Err(io::Error::last_os_error()),
    }
}
