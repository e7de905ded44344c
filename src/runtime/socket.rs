//! A node's socket: its receive buffer, and how the node waits for it.
//!
//! The kernel's default (`net.core.rmem_default`, 208 KiB
//! on Linux) holds about three 64 KB fragments as it counts them; a node that asks for room
//! for the largest message keeps a burst of fragments that arrives while it syncs or waits
//! for a core. The kernel caps the request at `net.core.rmem_max`: below it, a node still
//! works (pacing and resends recover what overflows), and says so once at its start.

use super::wire::MAX_MESSAGE;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::RecvFlags;
use socket2::SockRef;
use std::io;
use std::net::{SocketAddr, UdpSocket};
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

/// Reads a datagram that already waits in `socket` into `buf`: its length and sender, or
/// `None` if none waits. It never blocks, whatever the socket's mode, so reading a burst costs
/// no system calls to switch the mode there and back. A datagram longer than `buf` is cut to
/// `buf.len()` bytes (the caller makes `buf` one byte longer than any it accepts, so that it
/// sees a cut one as too long).
pub fn receive_waiting(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<Option<(usize, SocketAddr)>> {
    loop {
        match rustix::net::recvfrom(socket, &mut *buf, RecvFlags::DONTWAIT) {
            Ok((len, _, Some(from))) => match SocketAddr::try_from(from) {
                Ok(from) => return Ok(Some((len, from))),
                // Not from an IP address, which a UDP socket bound to one never reads:
                // nothing a node could answer or check, so dropped.
                Err(_) => continue,
            },
            Ok((_, _, None)) => continue,
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
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

    #[test]
    fn a_blocking_socket_is_read_without_waiting_for_a_datagram() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        // A read that blocked would return only at the timeout: nothing else sends yet.
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut buf = [0u8; 8];
        let start = std::time::Instant::now();
        assert_eq!(receive_waiting(&socket, &mut buf).unwrap(), None);
        assert!(start.elapsed() < Duration::from_secs(2), "it waited");

        sender
            .send_to(b"abc", socket.local_addr().unwrap())
            .unwrap();
        sender
            .send_to(b"0123456789", socket.local_addr().unwrap())
            .unwrap();
        assert!(wait_readable(&socket, Duration::from_secs(5)).unwrap());
        let from = sender.local_addr().unwrap();
        assert_eq!(receive_waiting(&socket, &mut buf).unwrap(), Some((3, from)));
        assert_eq!(&buf[..3], b"abc");
        // Longer than the buffer: cut to it, which the caller sees as too long.
        assert!(wait_readable(&socket, Duration::from_secs(5)).unwrap());
        assert_eq!(receive_waiting(&socket, &mut buf).unwrap(), Some((8, from)));
        assert_eq!(receive_waiting(&socket, &mut buf).unwrap(), None);
    }
}
