//! Blocking reads and writes on raw file descriptors that also work when the descriptor is
//! non-blocking: Node makes stdout non-blocking for pipes and sockets, and indiserver hands a
//! driver one socket as both stdin and stdout, so stdin turns non-blocking with it.

use std::io;
use std::os::fd::RawFd;

fn wait(fd: RawFd, events: libc::c_short) {
    let mut pollfd = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd; a failure (EINTR) just means we retry the I/O.
    unsafe { libc::poll(&mut pollfd, 1, -1) };
}

/// Reads into `buf`, waiting while the descriptor has nothing; 0 means end of file.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
}

/// Writes all of `data`, waiting while the descriptor is full.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is valid for `data.len()` bytes.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            data = &data[n as usize..];
            continue;
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => wait(fd, libc::POLLOUT),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
    Ok(())
}
