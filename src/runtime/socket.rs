//! A node's socket: its receive buffer, and how the node waits for it.
//!
//! The kernel's default (`net.core.rmem_default`, 208 KiB
//! on Linux) holds about three 64 KB fragments as it counts them; a node that asks for room
//! for the largest message keeps a burst of fragments that arrives while it syncs or waits
//! for a core. The kernel caps the request at `net.core.rmem_max`: below it, a node still
//! works (pacing and resends recover what overflows), and says so once at its start.

use super::wire::MAX_MESSAGE;
use rustix::event::{PollFd, PollFlags, Timespec};
use socket2::SockRef;
use std::io;
use std::net::UdpSocket;
use std::time::Duration;

/// The receive buffer a node asks for: the largest message, in bytes.
pub const RECEIVE_BUFFER: usize = MAX_MESSAGE;

/// Asks for [`RECEIVE_BUFFER`] bytes of receive buffer; the size granted (0 if unknown).
pub fn enlarge_receive_buffer(socket: &UdpSocket) -> usize {
    let socket = SockRef::from(socket);
    if let Err(e) = socket.set_recv_buffer_size(RECEIVE_BUFFER) {
        tracing::warn!(%e, "cannot enlarge the socket's receive buffer");
    }
    let granted = socket.recv_buffer_size().unwrap_or(0);
    if granted < RECEIVE_BUFFER {
        tracing::warn!(
            granted,
            wanted = RECEIVE_BUFFER,
            "the socket's receive buffer is smaller than the largest message: bursts of \
             fragments may overflow it (raise net.core.rmem_max)"
        );
    }
    granted
}

/// Waits until a datagram waits in `socket` or `within` has passed; whether one does. The
/// deadline is kept to the kernel's timer slack (tens of microseconds), where a socket's
/// receive timeout is counted in kernel ticks (a wait of 300 µs took 8 ms, two ticks, on a
/// 250 Hz kernel), too coarse for timers under a millisecond.
pub fn wait_readable(socket: &UdpSocket, within: Duration) -> io::Result<bool> {
    let mut fds = [PollFd::new(socket, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: i64::try_from(within.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(within.subsec_nanos()),
    };
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(ready) => Ok(ready > 0),
        // A signal cut the wait short: the caller's loop waits again.
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_gets_a_larger_receive_buffer_than_the_default_or_a_size() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = SockRef::from(&socket).recv_buffer_size().unwrap();
        let granted = enlarge_receive_buffer(&socket);
        // The kernel may cap it, but never below what the socket had.
        assert!(granted >= before, "{granted} < {before}");
        assert_eq!(granted, SockRef::from(&socket).recv_buffer_size().unwrap());
    }
}
