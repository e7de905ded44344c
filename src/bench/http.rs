//! A small keep-alive HTTP/1.1 client over `TcpStream`, enough for etcd's JSON gateway: one
//! request at a time on one connection, reopened after any error; bodies by `Content-Length`
//! or chunked. (A closed-loop client never pipelines, and the gateway is plain HTTP on
//! loopback, so a general client would only add weight.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response larger than this is refused: the gateway's answers to the bench are tiny.
const MAX_BODY: usize = 16 << 20;
/// Likewise for the status line and headers.
const MAX_HEAD: usize = 64 << 10;

#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// One client of one server.
pub struct HttpClient {
    addr: SocketAddr,
    timeout: Duration,
    connection: Option<Connection>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        HttpClient {
            addr,
            timeout,
            connection: None,
        }
    }

    /// `method path` with `body` as JSON (none when empty); the connection stays open for the
    /// next request unless the server says otherwise or anything fails.
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> Result<Response, String> {
        let result = self.exchange(method, path, body);
        match &result {
            Ok((_, true)) => {}
            _ => self.connection = None,
        }
        result.map(|(response, _)| response)
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<(Response, bool), String> {
        let connection = match &mut self.connection {
            Some(c) => c,
            None => self.connection.insert(connect(self.addr, self.timeout)?),
        };
        let request = request_bytes(self.addr, method, path, body);
        connection
            .writer
            .write_all(&request)
            .map_err(|e| format!("cannot send to {}: {e}", self.addr))?;
        read_response(&mut connection.reader).map_err(|e| format!("{}: {e}", self.addr))
    }
}

/// The bytes of `method path` to `addr` with `body` as JSON.
pub fn request_bytes(addr: SocketAddr, method: &str, path: &str, body: &str) -> Vec<u8> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// The response at the start of `bytes`, all that a non-blocking connection has received so
/// far; `None` while it is incomplete. `closed`: the server has closed the connection, so
/// nothing more will come (which ends a body without a length).
pub fn parse_response(bytes: &[u8], closed: bool) -> Result<Option<(Response, bool)>, String> {
    let mut received = Received {
        rest: bytes,
        ran_out: false,
    };
    match read_response(&mut received) {
        // It read to the end of what came: a body without a length, or a response cut short.
        _ if received.ran_out && !closed => Ok(None),
        parsed => parsed.map(Some),
    }
}

/// The bytes received so far, as a reader that notes whether it was asked for more.
struct Received<'a> {
    rest: &'a [u8],
    ran_out: bool,
}

impl Read for Received<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(out)?;
        self.ran_out |= n == 0 && !out.is_empty();
        Ok(n)
    }
}

impl BufRead for Received<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.ran_out |= self.rest.is_empty();
        Ok(self.rest)
    }

    fn consume(&mut self, n: usize) {
        self.rest = &self.rest[n..];
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> Result<Connection, String> {
    let stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let setup = || -> std::io::Result<Connection> {
        // Small requests, one at a time: Nagle's algorithm would only delay them.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    };
    setup().map_err(|e| format!("cannot set up a connection to {addr}: {e}"))
}

/// Reads one response; also says whether the connection may be kept.
pub fn read_response(reader: &mut impl BufRead) -> Result<(Response, bool), String> {
    let mut head_len = 0;
    let mut line = |reader: &mut dyn BufRead| -> Result<String, String> {
        let mut line = Vec::new();
        reader
            .take((MAX_HEAD - head_len) as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read the response: {e}"))?;
        head_len += line.len();
        if !line.ends_with(b"\n") {
            return Err("the response ended early or its head is too long".into());
        }
        String::from_utf8(line)
            .map(|l| l.trim_end().to_owned())
            .map_err(|_| "the response head is not text".into())
    };
    let status_line = line(reader)?;
    let mut parts = status_line.split(' ');
    let (version, status) = (parts.next(), parts.next());
    let status: u16 = match (version, status) {
        (Some(v), Some(s)) if v.starts_with("HTTP/1.") => s
            .parse()
            .map_err(|_| format!("bad status line {status_line:?}"))?,
        _ => return Err(format!("bad status line {status_line:?}")),
    };
    let (mut length, mut chunked, mut keep_alive) = (None, false, version == Some("HTTP/1.1"));
    loop {
        let header = line(reader)?;
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(format!("bad header {header:?}"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length {value:?}"))?,
                )
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep_alive = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = match (chunked, length) {
        (true, _) => read_chunked(reader)?,
        (false, Some(n)) => read_exact(reader, n)?,
        // Without either, the body runs to the end of the connection.
        (false, None) => {
            let mut body = Vec::new();
            reader
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read the body: {e}"))?;
            if body.len() > MAX_BODY {
                return Err("the body is too large".into());
            }
            keep_alive = false;
            body
        }
    };
    Ok((Response { status, body }, keep_alive))
}

fn read_exact(reader: &mut impl BufRead, n: usize) -> Result<Vec<u8>, String> {
    if n > MAX_BODY {
        return Err(format!("a body of {n} bytes is too large"));
    }
    let mut body = vec![0; n];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("cannot read the body: {e}"))?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader
            .take(1024)
            .read_line(&mut size_line)
            .map_err(|e| format!("cannot read a chunk: {e}"))?;
        // A chunk size may carry extensions after ';'.
        let size = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| format!("bad chunk size {:?}", size_line.trim()))?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                let mut trailer = String::new();
                let n = reader
                    .take(MAX_HEAD as u64)
                    .read_line(&mut trailer)
                    .map_err(|e| format!("cannot read the trailers: {e}"))?;
                if n == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err("the body is too large".into());
        }
        body.extend(read_exact(reader, size)?);
        let mut end = [0; 2];
        reader
            .read_exact(&mut end)
            .map_err(|e| format!("cannot read a chunk: {e}"))?;
        if &end != b"\r\n" {
            return Err("a chunk does not end with CRLF".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn parse(bytes: &[u8]) -> Result<(Response, bool), String> {
        read_response(&mut &bytes[..])
    }

    #[test]
    fn reads_bodies_by_length_and_by_chunks() {
        let (r, keep) =
            parse(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}extra")
                .unwrap();
        assert_eq!((r.status, r.body.as_slice(), keep), (200, &b"{}"[..], true));
        let (r, keep) = parse(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (400, &b"abcde"[..], false)
        );
        let (r, keep) = parse(b"HTTP/1.0 200 OK\r\n\r\nto the end").unwrap();
        assert_eq!((r.body.as_slice(), keep), (&b"to the end"[..], false));
    }

    #[test]
    fn bad_responses_are_errors() {
        for bad in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            b"SMTP 200 OK\r\n\r\n",
            b"HTTP/1.1 twohundred OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
            b"HTTP/1.1 200 OK\r\nContent-Le",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_response_in_pieces_is_incomplete_until_its_last_byte() {
        let whole: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        for cut in 0..whole.len() {
            assert_eq!(
                parse_response(&whole[..cut], false),
                Ok(None),
                "cut at {cut}"
            );
        }
        let (r, keep) = parse_response(whole, false).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice(), keep), (200, &b"{}"[..], true));
        let chunked: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
        for cut in 0..chunked.len() {
            assert_eq!(
                parse_response(&chunked[..cut], false),
                Ok(None),
                "cut at {cut}"
            );
        }
        assert_eq!(
            parse_response(chunked, false).unwrap().unwrap().0.body,
            b"ab"
        );
        // A body without a length ends only with the connection.
        let open: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nto the end";
        assert_eq!(parse_response(open, false), Ok(None));
        let (r, keep) = parse_response(open, true).unwrap().unwrap();
        assert_eq!((r.body.as_slice(), keep), (&b"to the end"[..], false));
        // Cut short and closed, or malformed: errors, not a wait.
        assert!(parse_response(&whole[..whole.len() - 1], true).is_err());
        assert!(parse_response(b"SMTP 200 OK\r\n\r\n", false).is_err());
    }

    /// Two requests on one kept-alive connection, then a new connection once the server
    /// closes it.
    #[test]
    fn keeps_the_connection_alive_and_reopens_it() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut accepted = 0;
            for stream in listener.incoming().take(2) {
                accepted += 1;
                let stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                for n in 0..2 {
                    let mut line = String::new();
                    let mut length = 0;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap() == 0 {
                            return accepted;
                        }
                        if let Some(v) = line.strip_prefix("Content-Length: ") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let close = if n == 1 { "Connection: close\r\n" } else { "" };
                    write!(
                        writer,
                        "HTTP/1.1 200 OK\r\n{close}Content-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    writer.write_all(&body).unwrap();
                }
            }
            accepted
        });
        let mut client = HttpClient::new(addr, Duration::from_secs(5));
        for body in ["one", "two", "three"] {
            let r = client.request("POST", "/echo", body).unwrap();
            assert_eq!((r.status, r.body), (200, body.as_bytes().to_vec()));
        }
        drop(client);
        assert_eq!(server.join().unwrap(), 2);
    }
}
