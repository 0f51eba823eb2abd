//! Blocking reads and writes on raw file descriptors that also work when the descriptor is
//! non-blocking: Node makes stdout non-blocking for pipes and sockets, and indiserver hands a
//! driver one socket as both stdin and stdout, so stdin turns non-blocking with it.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

fn wait(fd: RawFd, events: libc::c_short) {
    let mut pollfd = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd; a failure (EINTR) just means we retry the I/O.
    unsafe { libc::poll(&mut pollfd, 1, -1) };
}

/// Runs one system call until it succeeds or fails for good: waits while the descriptor would
/// block, retries when interrupted.
fn retrying(fd: RawFd, events: libc::c_short, mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => wait(fd, events),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
}

/// Reads into `buf`, waiting while the descriptor has nothing; 0 means end of file.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    retrying(fd, libc::POLLIN, || unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// Writes all of `data`, waiting while the descriptor is full.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is valid for `data.len()` bytes.
        let n = retrying(fd, libc::POLLOUT, || unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) })?;
        data = &data[n..];
    }
    Ok(())
}

/// True when `fd` is a socket (indiserver ≥ 1.9.7 gives drivers a unix socket pair).
pub fn is_socket(fd: RawFd) -> bool {
    // SAFETY: fstat fills a zeroed stat of the right type.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    unsafe { libc::fstat(fd, &mut stat) == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK }
}

/// Like [`read`], on a socket: also takes the descriptors passed with the bytes (`SCM_RIGHTS`,
/// libindi's shared-memory BLOBs), in order, appending them to `fds`.
pub fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    loop {
        match indi_hub::shm::recv_with_fds(fd, buf, fds) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// The first `len` bytes of a shared-memory buffer (all of it when `len` is `None` or larger),
/// copied once; the descriptor is closed.
pub fn read_shared(fd: OwnedFd, len: Option<u64>) -> io::Result<Vec<u8>> {
    Ok(indi_hub::shm::SharedBlob::map(fd, len)?.bytes().to_vec())
}
