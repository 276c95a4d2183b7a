//! A lean HTTP/1.1 client for load: whole requests prepared as bytes before
//! the clock starts, written on keep-alive connections, responses read by
//! their `Content-Length`. The load generator runs on the same two cores as
//! the server and the database, so what it costs per request is taken from
//! both the endpoint measured and its baseline; a general-purpose client
//! (connection pool, header maps, body streams) cost about as much CPU per
//! request as the bare endpoints themselves. This costs a write, a read or
//! two and a scan of the response head, as wrk does.

// Each benchmark uses some of these (the timeline one GETs, the inbox one
// POSTs).
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// What came back: the status code and the body.
pub struct Reply<'a> {
    /// The response's status code.
    pub status: u16,
    /// The response body.
    pub body: &'a [u8],
}

impl Conn {
    /// Opens a connection to `addr`.
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request, head and body) and reads
    /// the whole response. Panics on anything but a `Content-Length` body:
    /// the endpoints measured all send one.
    pub async fn send(&mut self, request: &[u8]) -> Reply<'_> {
        self.stream.write_all(request).await.expect("write request");
        self.buf.clear();
        let (head_end, status, length) = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).expect("ASCII head");
                let status = head
                    .get(9..12)
                    .and_then(|s| s.parse().ok())
                    .expect("status line");
                let length = head
                    .split("\r\n")
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or_else(|| panic!("no Content-Length in {head}"));
                break (end + 4, status, length);
            }
            self.fill().await;
        };
        while self.buf.len() < head_end + length {
            self.fill().await;
        }
        Reply {
            status,
            body: &self.buf[head_end..head_end + length],
        }
    }

    async fn fill(&mut self) {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let n = self.stream.read_buf(&mut self.buf).await.expect("read");
        assert!(n > 0, "the server closed the connection");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `GET` request's bytes, with a bearer token when given.
pub fn get(host: &str, path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n").into_bytes()
}

/// A `POST` request's bytes: `headers` as given (Host first among them if
/// the request is signed over it), then `Content-Length` and the body.
pub fn post(path: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
