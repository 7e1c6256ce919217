//! HTTP/2 over a connection that switched from HTTP/1.1 (`Upgrade: h2c`, RFC 7540 3.2).
//!
//! After the server's 101 the request already sent counts as stream 1, half-closed on our side, and
//! the server answers it on stream 1. The `h2` crate has no API for that, so stream 1 is opened with
//! a placeholder request whose HEADERS frame never reaches the wire: `UpgradeIo` drops it from the
//! outgoing bytes and holds incoming ones back until then, so the server's frames for stream 1 meet
//! a stream h2 knows. The placeholder uses only static-table HPACK entries (":method GET",
//! ":scheme http", ":path /"), so dropping it leaves both sides' header tables in step, except for
//! a HEAD request: its placeholder is a HEAD too (h2 judges the answer, content-length and no body,
//! by it) and enters ":method HEAD" in our table alone. That entry is the oldest, so every later
//! index and eviction still agrees with the server's table; only a HEAD request would refer to it,
//! and none goes on that connection (`H2Conn::unseen_head`).

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use h2::client::ResponseFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{conn_error, H2Conn, STREAM_WINDOW};
use crate::engine::error::Error;
use crate::engine::pool::Conn;
use crate::engine::rt::{Reactor, Spawner};

/// The HTTP2-Settings value of the upgrade offer: base64url (no padding) of a SETTINGS payload with
/// what our connection announces: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE, ENABLE_PUSH 0
/// (libcurl sends the same three, its window being 64 KiB).
pub fn settings_header() -> String {
    let mut p = Vec::with_capacity(18);
    for (id, v) in [(3u16, 100u32), (4, STREAM_WINDOW), (2, 0)] {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p)
}

/// Starts h2 on a connection whose server just answered 101 to our `Upgrade: h2c`; `conn` holds
/// what came after the 101 head, `head` says the request was a HEAD. Returns the connection and
/// the response future of stream 1.
pub async fn handshake_upgraded(
    conn: Conn,
    head: bool,
    spawner: &Spawner,
    reactor: &Rc<Reactor>,
) -> Result<(Rc<H2Conn>, ResponseFuture), Error> {
    let wrap = |inner, prefix| UpgradeIo {
        inner,
        prefix,
        prefix_pos: 0,
        scan: Some(Scan::default()),
        out: Vec::new(),
        reader: None,
        stage: super::io::Stage::default(),
    };
    let mut h2c = H2Conn::start(conn, wrap, spawner, reactor).await?;
    // Stream 1: the placeholder (a relative URI makes h2 send only :method, :scheme, :path).
    let mut req = http::Request::new(());
    if head {
        *req.method_mut() = http::Method::HEAD;
        h2c.unseen_head = true;
    }
    let (resp, _) = h2c.send.borrow_mut().send_request(req, true).map_err(|e| conn_error(&e))?;
    h2c.streams_opened.set(1);
    Ok((Rc::new(h2c), resp))
}

/// Where the scan of outgoing bytes is: the client preface, then frames (9-byte header, payload).
struct Scan {
    preface_left: usize,
    head: [u8; 9],
    head_len: usize,
    payload_left: usize,
    dropping: bool,
    /// The dropped frame ends stream 1's header block: after it, bytes pass unchanged.
    last: bool,
}

impl Default for Scan {
    fn default() -> Scan {
        Scan { preface_left: 24, head: [0; 9], head_len: 0, payload_left: 0, dropping: false, last: false }
    }
}

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;

impl Scan {
    /// Appends to `out` what of `buf` goes on the wire. True once the placeholder is dropped (the
    /// rest of `buf` is then appended unchanged).
    fn feed(&mut self, mut buf: &[u8], out: &mut Vec<u8>) -> bool {
        while !buf.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(buf.len());
                out.extend_from_slice(&buf[..n]);
                self.preface_left -= n;
                buf = &buf[n..];
            } else if self.head_len < 9 {
                let n = (9 - self.head_len).min(buf.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&buf[..n]);
                self.head_len += n;
                buf = &buf[n..];
                if self.head_len == 9 {
                    let h = self.head;
                    let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                    let sid = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                    self.dropping = sid == 1 && (h[3] == HEADERS || h[3] == CONTINUATION);
                    self.last = self.dropping && h[4] & END_HEADERS != 0;
                    if !self.dropping {
                        out.extend_from_slice(&h);
                    }
                    self.payload_left = len;
                    if self.frame_done() {
                        out.extend_from_slice(buf);
                        return true;
                    }
                }
            } else {
                let n = self.payload_left.min(buf.len());
                if !self.dropping {
                    out.extend_from_slice(&buf[..n]);
                }
                self.payload_left -= n;
                buf = &buf[n..];
                if self.frame_done() {
                    out.extend_from_slice(buf);
                    return true;
                }
            }
        }
        false
    }

    /// At the end of a frame: ready for the next header; true when that frame was the last dropped.
    fn frame_done(&mut self) -> bool {
        if self.payload_left > 0 {
            return false;
        }
        self.head_len = 0;
        self.last
    }
}

/// tokio's I/O traits over an upgraded connection (see the module's note).
struct UpgradeIo {
    inner: super::io::SharedStream,
    /// Bytes that came with the 101 head: read before the socket.
    prefix: Vec<u8>,
    prefix_pos: usize,
    /// Outgoing bytes are scanned until the placeholder's HEADERS is dropped.
    scan: Option<Scan>,
    /// Scanned bytes not yet written.
    out: Vec<u8>,
    /// The driver's read waiting for the scan to end.
    reader: Option<Waker>,
    stage: super::io::Stage,
}

impl UpgradeIo {
    fn push_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut done = 0;
        let r = loop {
            if done == self.out.len() {
                break Poll::Ready(Ok(()));
            }
            match self.inner.poll_write(cx, &self.out[done..]) {
                Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero))),
                Poll::Ready(Ok(n)) => done += n,
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        self.out.drain(..done);
        r
    }
}

impl AsyncRead for UpgradeIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.scan.is_some() {
            me.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if me.prefix_pos < me.prefix.len() {
            let n = (me.prefix.len() - me.prefix_pos).min(buf.remaining());
            buf.put_slice(&me.prefix[me.prefix_pos..me.prefix_pos + n]);
            me.prefix_pos += n;
            if me.prefix_pos == me.prefix.len() {
                me.prefix = Vec::new();
                me.prefix_pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if me.stage.give(buf) {
            return Poll::Ready(Ok(()));
        }
        me.stage.fill(&mut me.inner, cx, buf).map_ok(|_| ())
    }
}

impl AsyncWrite for UpgradeIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if let Some(scan) = me.scan.as_mut() {
            if scan.feed(buf, &mut me.out) {
                me.scan = None;
                if let Some(w) = me.reader.take() {
                    w.wake();
                }
            }
            // Taken whole; what the socket does not take now goes out on the next write or flush.
            if let Poll::Ready(Err(e)) = me.push_out(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        match me.push_out(cx) {
            Poll::Ready(Ok(())) => me.inner.poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        match me.push_out(cx) {
            Poll::Ready(Ok(())) => me.inner.poll_flush(cx),
            r => r,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, sid: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.push(kind);
        f.push(flags);
        f.extend_from_slice(&sid.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn the_placeholder_headers_are_dropped_and_the_rest_kept() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        let settings = frame(0x4, 0, 0, &[0, 2, 0, 0, 0, 0]);
        let update = frame(0x8, 0, 0, &[0, 1, 0, 0]);
        let placeholder =
            [frame(HEADERS, 0x1, 1, &[0x82, 0x86]), frame(CONTINUATION, END_HEADERS, 1, &[0x84])].concat();
        let after = frame(HEADERS, 0x5, 3, &[0x82, 0x86, 0x84]);
        let all = [preface.clone(), settings.clone(), update.clone(), placeholder, after.clone()].concat();
        // Fed in every split, byte by byte included: the same bytes come out.
        for step in [1, 2, 7, 9, 10, all.len()] {
            let mut scan = Scan::default();
            let mut out = Vec::new();
            let mut done = false;
            for piece in all.chunks(step) {
                if done {
                    out.extend_from_slice(piece);
                } else {
                    done = scan.feed(piece, &mut out);
                }
            }
            assert!(done, "step {step}");
            assert_eq!(out, [preface.clone(), settings.clone(), update.clone(), after.clone()].concat(), "step {step}");
        }
    }

    #[test]
    fn settings_header_is_base64url_of_our_settings() {
        // 3 = 100, 4 = 64 KiB, 2 = 0: the SETTINGS libcurl 8 offers.
        assert_eq!(settings_header(), "AAMAAABkAAQAAQAAAAIAAAAA");
    }
}
