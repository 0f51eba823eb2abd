//! Blocking reads and writes on raw file descriptors that also work when the descriptor is
//! non-blocking: Node makes stdout non-blocking for pipes and sockets, and indiserver hands a
//! driver one socket as both stdin and stdout, so stdin turns non-blocking with it.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

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

/// Most descriptors taken with one read (libindi sends at most 16 per message).
const MAX_FDS: usize = 32;

/// Like [`read`], on a socket: also takes the descriptors passed with the bytes (`SCM_RIGHTS`,
/// libindi's shared-memory BLOBs), in order, appending them to `fds`.
pub fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let space = unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) } as usize;
    // u64 words: cmsghdr needs its alignment.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data; every pointer set below outlives the calls.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: `msg` describes valid buffers; CLOEXEC keeps the fds from driver children.
    let n = retrying(fd, libc::POLLIN, || {
        msg.msg_controllen = space as _;
        unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) }
    })?;
    // SAFETY: walking the control buffer the kernel just filled, with libc's macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(n)
}

/// The first `len` bytes of a shared-memory buffer (all of it when `len` is `None` or larger),
/// read with one copy; the descriptor is closed.
pub fn read_shared(fd: OwnedFd, len: Option<u64>) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    // Closed when read: the sender keeps no claim on it.
    let file = std::fs::File::from(fd);
    let available = file.metadata()?.len();
    let len = len.map_or(available, |len| len.min(available)) as usize;
    let mut data = vec![0u8; len];
    file.read_exact_at(&mut data, 0)?;
    Ok(data)
}
