//! Notes two frames of the server's that the `h2` crate does not report, from the bytes it reads:
//! a GOAWAY's error code (libcurl fails a stream cut after one with 56, not 18) and a PUSH_PROMISE
//! (nghttp2 fails the stream it came on, 92, where h2 names only a connection error). Only frame
//! headers are parsed; payloads are skipped, but for the GOAWAY's first 8 bytes.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const GOAWAY: u8 = 7;
const PUSH_PROMISE: u8 = 5;

/// What the tap has seen on one connection.
#[derive(Default)]
pub struct Seen {
    /// The error code of the last GOAWAY received.
    goaway: Cell<Option<u32>>,
    /// The first PUSH_PROMISE: its payload length and END_HEADERS flag (nghttp2 names both).
    push_promise: Cell<Option<(usize, bool)>>,
}

impl Seen {
    /// The server sent GOAWAY with an error code other than NO_ERROR.
    pub fn goaway_error(&self) -> Option<u32> {
        self.goaway.get().filter(|&c| c != 0)
    }

    pub fn push_promise(&self) -> Option<(usize, bool)> {
        self.push_promise.get()
    }
}

/// Where the scan is in the server's frame stream.
#[derive(Default)]
struct Scan {
    head: [u8; 9],
    have: usize,
    /// Payload bytes of the current frame still to pass.
    left: usize,
    /// Of a GOAWAY's payload: the bytes kept so far (last-stream-id, error code).
    goaway: Option<([u8; 8], usize)>,
}

impl Scan {
    fn feed(&mut self, mut b: &[u8], seen: &Seen) {
        while !b.is_empty() {
            if self.left == 0 {
                let n = (9 - self.have).min(b.len());
                self.head[self.have..self.have + n].copy_from_slice(&b[..n]);
                self.have += n;
                b = &b[n..];
                if self.have < 9 {
                    return;
                }
                self.have = 0;
                let h = self.head;
                self.left = (h[0] as usize) << 16 | (h[1] as usize) << 8 | h[2] as usize;
                match h[3] {
                    GOAWAY => self.goaway = Some(([0; 8], 0)),
                    PUSH_PROMISE if seen.push_promise.get().is_none() => {
                        seen.push_promise.set(Some((self.left, h[4] & 0x4 != 0)))
                    }
                    _ => {}
                }
                continue;
            }
            let n = self.left.min(b.len());
            if let Some((kept, got)) = self.goaway.as_mut() {
                let k = (8 - *got).min(n);
                kept[*got..*got + k].copy_from_slice(&b[..k]);
                *got += k;
                if *got == 8 {
                    seen.goaway.set(Some(u32::from_be_bytes([kept[4], kept[5], kept[6], kept[7]])));
                    self.goaway = None;
                }
            }
            self.left -= n;
            b = &b[n..];
            if self.left == 0 {
                // A GOAWAY shorter than 8 bytes is h2's to refuse.
                self.goaway = None;
            }
        }
    }
}

/// The connection's I/O with the server's bytes scanned on their way to h2.
pub struct Tap<T> {
    inner: T,
    scan: Scan,
    seen: Rc<Seen>,
}

impl<T> Tap<T> {
    pub fn new(inner: T, seen: Rc<Seen>) -> Tap<T> {
        Tap { inner, scan: Scan::default(), seen }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            this.scan.feed(&buf.filled()[before..], &this.seen);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, kind, 0, 0, 0, 0, 1];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn frames_split_anywhere_are_seen() {
        let mut wire = frame(4, &[0; 6]);
        wire.extend(frame(0, &[b'x'; 300]));
        wire.extend(frame(GOAWAY, &[0, 0, 0, 1, 0, 0, 0, 2, b'd', b'b']));
        wire.extend(frame(PUSH_PROMISE, &[0, 0, 0, 2, 0x82]));
        for step in [1, 2, 7, 9, 10, 64, wire.len()] {
            let (seen, mut scan) = (Seen::default(), Scan::default());
            for piece in wire.chunks(step) {
                scan.feed(piece, &seen);
            }
            assert_eq!((seen.goaway_error(), seen.push_promise()), (Some(2), Some((5, false))), "pieces of {step}");
        }
        let (seen, mut scan) = (Seen::default(), Scan::default());
        scan.feed(&frame(GOAWAY, &[0, 0, 0, 1, 0, 0, 0, 0]), &seen);
        assert_eq!((seen.goaway_error(), seen.push_promise()), (None, None), "NO_ERROR is no error");
    }
}
