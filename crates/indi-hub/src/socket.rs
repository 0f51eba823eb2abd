//! A client socket's write side, written both by its writer task and directly by senders.

use std::io::{IoSlice, Write};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

/// A client socket's write side, shared by the writer task and direct writers (see
/// [`crate::outbox::Outbox::try_claim`]); they never write at the same time.
#[derive(Debug)]
pub enum ClientSocket {
    /// Read by tokio as well.
    Tcp(OwnedWriteHalf),
    /// A client of the local socket (`-u`), read by tokio as well.
    Unix(tokio::net::unix::OwnedWriteHalf),
    /// Read by the host (see [`crate::feed`]): registered with tokio for writing only, so the
    /// bytes the client sends wake nobody here.
    WriteOnly(AsyncFd<std::net::TcpStream>),
}

impl ClientSocket {
    /// Writes what the socket takes now, without waiting.
    pub fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            ClientSocket::Tcp(half) => half.try_write(bytes),
            ClientSocket::Unix(half) => half.try_write(bytes),
            ClientSocket::WriteOnly(fd) => fd.get_ref().write(bytes),
        }
    }

    /// Writes what the socket takes now of `bufs`, in one system call, without waiting.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            ClientSocket::Tcp(half) => half.try_write_vectored(bufs),
            ClientSocket::Unix(half) => half.try_write_vectored(bufs),
            ClientSocket::WriteOnly(fd) => fd.get_ref().write_vectored(bufs),
        }
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        match self {
            ClientSocket::Tcp(half) => {
                let stream: &TcpStream = half.as_ref();
                loop {
                    std::task::ready!(stream.poll_write_ready(cx))?;
                    match stream.try_write_vectored(bufs) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        result => return Poll::Ready(result),
                    }
                }
            }
            ClientSocket::Unix(half) => {
                let stream: &tokio::net::UnixStream = half.as_ref();
                loop {
                    std::task::ready!(stream.poll_write_ready(cx))?;
                    match stream.try_write_vectored(bufs) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        result => return Poll::Ready(result),
                    }
                }
            }
            ClientSocket::WriteOnly(fd) => loop {
                let mut ready = std::task::ready!(fd.poll_write_ready(cx))?;
                if let Ok(result) = ready.try_io(|stream| stream.get_ref().write_vectored(bufs)) {
                    return Poll::Ready(result);
                }
            },
        }
    }

    /// A client of the local socket, which gets BLOBs as attachments (see [`crate::localblob`]).
    pub fn takes_attachments(&self) -> bool {
        matches!(self, ClientSocket::Unix(_))
    }

    /// Passes the buffers of `shared` as descriptors, ahead of the element they belong to.
    pub async fn send_attachments(&self, shared: &crate::shm::Shared) -> std::io::Result<()> {
        let ClientSocket::Unix(half) = self else { return Err(std::io::ErrorKind::Unsupported.into()) };
        let fds: Vec<_> = shared.blobs.iter().map(|blob| blob.fd()).collect();
        crate::localblob::send_fds(half.as_ref(), &fds).await
    }

    fn raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            ClientSocket::Tcp(half) => AsRef::<TcpStream>::as_ref(half).as_raw_fd(),
            ClientSocket::Unix(half) => AsRef::<tokio::net::UnixStream>::as_ref(half).as_raw_fd(),
            ClientSocket::WriteOnly(fd) => fd.as_raw_fd(),
        }
    }
}

/// [`ClientSocket`] as the writer task's `AsyncWrite`.
pub struct SharedSocket(pub Arc<ClientSocket>);

impl AsyncWrite for SharedSocket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.0.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        self.0.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // SAFETY: shutdown(2) on a descriptor the socket owns; the socket stays valid.
        unsafe { libc::shutdown(self.0.raw_fd(), libc::SHUT_WR) };
        Poll::Ready(Ok(()))
    }
}
