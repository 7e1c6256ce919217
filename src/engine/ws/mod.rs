//! CONNECT_ONLY connections and WebSocket: what a handle keeps after perform() returned connected.
//!
//! A `Held` connection leaves the multi's reactor (its REMOVE is reported) for a private one that
//! nobody waits on: every call tries the socket once and answers AGAIN when it would block, as
//! curl_easy_send / curl_easy_recv / curl_ws_send / curl_ws_recv do. The application waits on
//! ACTIVESOCKET itself.

pub mod frame;
pub mod handshake;

use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::engine::error::{code, Error, Result};
use crate::engine::pool::{Conn, SpareBuffers};
use crate::engine::rt::Reactor;
use crate::engine::sys;
use frame::Header;

/// WS_OPTIONS bits.
pub const RAW_MODE: i64 = 1;
pub const NOAUTOPONG: i64 = 2;

/// What curl_ws_recv reports with each chunk (curl_ws_frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub age: i32,
    pub flags: u32,
    pub offset: i64,
    pub bytesleft: i64,
    pub len: usize,
}

/// The receive and send state of a WebSocket connection.
#[derive(Default)]
pub struct WsState {
    pub options: i64,
    /// The frame being received and how much of its payload was handed out.
    cur: Option<(Header, u64)>,
    /// The type of the fragmented message being received (for its continuation frames).
    msg_flags: u32,
    /// The last frame sent was a non-final fragment: the next one is a continuation.
    send_cont: bool,
    /// WS_OFFSET sends: (payload bytes still announced, mask, position in the frame).
    send_partial: Option<(u64, [u8; 4], u64)>,
}

impl WsState {
    pub fn new(options: i64) -> WsState {
        WsState { options, ..WsState::default() }
    }
}

pub struct Held {
    pub conn: Conn,
    reactor: Rc<Reactor>,
    spare: SpareBuffers,
    /// Bytes accepted from the application but not yet taken by the socket.
    out: Vec<u8>,
    pub ws: Option<WsState>,
}

fn again() -> Error {
    Error::new(code::AGAIN, "Socket not ready for send/recv")
}

fn send_err(e: std::io::Error) -> Error {
    Error::new(code::SEND_ERROR, format!("Send failure: {}", sys::error_text(&e)))
}

fn recv_err(e: std::io::Error) -> Error {
    Error::new(code::RECV_ERROR, format!("Recv failure: {}", sys::error_text(&e)))
}

impl Held {
    pub fn new(mut conn: Conn, ws: Option<WsState>) -> Held {
        let reactor = Rc::new(Reactor::default());
        conn.stream.sock_mut().detach();
        conn.stream.sock_mut().attach(&reactor);
        Held { conn, reactor, spare: SpareBuffers::default(), out: Vec::new(), ws }
    }

    pub fn fd(&self) -> i64 {
        self.conn.stream.sock().fd() as i64
    }

    /// Pushes out held bytes; AGAIN when some remain.
    fn flush(&mut self) -> Result<()> {
        let mut cx = Context::from_waker(Waker::noop());
        while !self.out.is_empty() {
            match self.conn.stream.poll_write(&mut cx, &self.out) {
                Poll::Ready(Ok(0)) => return Err(send_err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.out.drain(..n);
                }
                Poll::Ready(Err(e)) => return Err(send_err(e)),
                Poll::Pending => return Err(again()),
            }
        }
        match self.conn.stream.poll_flush(&mut cx) {
            Poll::Ready(Err(e)) => Err(send_err(e)),
            Poll::Ready(Ok(())) => Ok(()),
            // The TLS layer keeps the rest and writes it with the next call.
            Poll::Pending => Ok(()),
        }
    }

    /// curl_easy_send: the bytes the connection took now.
    pub fn send(&mut self, data: &[u8]) -> Result<usize> {
        self.flush()?;
        if data.is_empty() {
            return Ok(0);
        }
        let mut cx = Context::from_waker(Waker::noop());
        let n = match self.conn.stream.poll_write(&mut cx, data) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Err(send_err(e)),
            Poll::Pending => return Err(again()),
        };
        if let Poll::Ready(Err(e)) = self.conn.stream.poll_flush(&mut cx) {
            return Err(send_err(e));
        }
        Ok(n)
    }

    /// curl_easy_recv: Ok(0) when the peer closed.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize> {
        let held = self.conn.buffered();
        if !held.is_empty() {
            let n = held.len().min(buf.len());
            buf[..n].copy_from_slice(&held[..n]);
            self.conn.consume(n);
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let fd = self.conn.stream.sock().fd();
        // Nobody reports readiness to this reactor: always try the socket itself.
        self.reactor.ready(fd, sys::IN);
        let mut cx = Context::from_waker(Waker::noop());
        match self.conn.stream.poll_read(&mut cx, buf) {
            Poll::Ready(Ok(n)) => Ok(n),
            Poll::Ready(Err(e)) => Err(recv_err(e)),
            Poll::Pending => Err(again()),
        }
    }

    /// Reads more into the connection buffer: Ok(false) at EOF, AGAIN when nothing is there.
    fn fill(&mut self) -> Result<bool> {
        let fd = self.conn.stream.sock().fd();
        self.reactor.ready(fd, sys::IN);
        let mut cx = Context::from_waker(Waker::noop());
        let fut = self.conn.fill(&self.spare);
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(n)) => Ok(n > 0),
            Poll::Ready(Err(e)) => Err(recv_err(e)),
            Poll::Pending => Err(again()),
        }
    }

    /// curl_ws_send: the payload bytes accepted.
    pub fn ws_send(&mut self, data: &[u8], fragsize: u64, flags: u32) -> Result<usize> {
        if self.ws.is_none() {
            return Err(Error::new(code::SEND_ERROR, "[WS] CONNECT_ONLY is required"));
        }
        self.flush()?;
        let ws = self.ws.as_mut().unwrap();
        if ws.options & RAW_MODE != 0 {
            // Raw mode: the application frames its bytes itself.
            if flags != 0 || fragsize != 0 {
                return Err(Error::new(
                    code::BAD_FUNCTION_ARGUMENT,
                    "[WS] fragsize and flags must be zero in raw mode",
                ));
            }
            return self.send(data);
        }
        let mut out = std::mem::take(&mut self.out);
        if let Some((left, mask, pos)) = ws.send_partial {
            // The rest of a frame announced with WS_OFFSET.
            if flags & frame::OFFSET == 0 {
                self.out = out;
                return Err(Error::new(code::SEND_ERROR, "[WS] unfinished frame: WS_OFFSET expected"));
            }
            let n = (data.len() as u64).min(left) as usize;
            frame::put_masked(&mut out, &data[..n], mask, pos);
            ws.send_partial = if left - n as u64 == 0 { None } else { Some((left - n as u64, mask, pos + n as u64)) };
            self.out = out;
            let _ = self.flush();
            return Ok(n);
        }
        let opcode = match frame::opcode_for(flags) {
            Some(_) if ws.send_cont => frame::OP_CONT,
            Some(op) => op,
            None if ws.send_cont => frame::OP_CONT,
            None => {
                self.out = out;
                return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "[WS] no frame type in flags"));
            }
        };
        let control = opcode >= frame::OP_CLOSE;
        let total = if flags & frame::OFFSET != 0 && fragsize > 0 { fragsize } else { data.len() as u64 };
        if control && (total > 125 || flags & frame::CONT != 0) {
            self.out = out;
            return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "[WS] invalid control frame"));
        }
        let fin = flags & frame::CONT == 0;
        let mask = frame::new_mask();
        frame::write_header(&mut out, fin, opcode, total, mask);
        let n = (data.len() as u64).min(total) as usize;
        frame::put_masked(&mut out, &data[..n], mask, 0);
        if !control {
            ws.send_cont = !fin;
        }
        if (n as u64) < total {
            ws.send_partial = Some((total - n as u64, mask, n as u64));
        }
        self.out = out;
        // What the socket did not take yet goes out with the next call.
        match self.flush() {
            Err(e) if e.code != code::AGAIN => Err(e),
            _ => Ok(n),
        }
    }

    /// curl_ws_recv: a chunk of the current frame's payload and its meta. Pings are answered (with
    /// the next send) and not returned unless WS_OPTIONS asked for RAW_MODE or NOAUTOPONG.
    pub fn ws_recv(&mut self, buf: &mut [u8]) -> Result<(usize, Meta)> {
        if self.ws.is_none() {
            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, "[WS] CONNECT_ONLY is required"));
        }
        loop {
            let ws = self.ws.as_mut().unwrap();
            if ws.cur.is_none() {
                match frame::parse_header(self.conn.buffered())? {
                    Some((h, hlen)) => {
                        self.conn.consume(hlen);
                        ws.cur = Some((h, 0));
                    }
                    None => {
                        if !self.fill()? {
                            return Err(self.eof());
                        }
                        continue;
                    }
                }
            }
            let (h, done) = ws.cur.unwrap();
            let left = h.len - done;
            let auto_pong = h.opcode == frame::OP_PING && ws.options & (RAW_MODE | NOAUTOPONG) == 0;
            if auto_pong {
                // A whole ping payload (at most 125 bytes) is needed to answer it.
                if (self.conn.buffered().len() as u64) < h.len {
                    if !self.fill()? {
                        return Err(self.eof());
                    }
                    continue;
                }
                let payload = self.conn.buffered()[..h.len as usize].to_vec();
                self.conn.consume(h.len as usize);
                self.ws.as_mut().unwrap().cur = None;
                // Queued: it goes out with the application's next send, as libcurl's does.
                self.queue_control(frame::OP_PONG, &payload);
                continue;
            }
            if left > 0 && self.conn.buffered().is_empty() && !buf.is_empty() {
                if !self.fill()? {
                    return Err(self.eof());
                }
                continue;
            }
            let ws = self.ws.as_mut().unwrap();
            let avail = self.conn.buffered();
            let n = (buf.len() as u64).min(left).min(avail.len() as u64) as usize;
            buf[..n].copy_from_slice(&avail[..n]);
            self.conn.consume(n);
            let flags = frame::flags_of(&h, ws.msg_flags);
            if h.opcode == frame::OP_TEXT || h.opcode == frame::OP_BINARY {
                ws.msg_flags = flags & (frame::TEXT | frame::BINARY);
            }
            let meta = Meta { age: 0, flags, offset: done as i64, bytesleft: (left - n as u64) as i64, len: n };
            if left - n as u64 == 0 && (n > 0 || !buf.is_empty() || h.len == 0) {
                ws.cur = None;
            } else {
                ws.cur = Some((h, done + n as u64));
            }
            return Ok((n, meta));
        }
    }

    fn queue_control(&mut self, opcode: u8, payload: &[u8]) {
        let mask = frame::new_mask();
        frame::write_header(&mut self.out, true, opcode, payload.len() as u64, mask);
        frame::put_masked(&mut self.out, payload, mask, 0);
    }

    /// The peer closed: libcurl reports it so, inside a frame or between frames alike.
    fn eof(&self) -> Error {
        Error::new(code::GOT_NOTHING, "Server returned nothing (no headers, no data)")
    }
}

/// Encodes one whole frame for ws_send called inside WRITEFUNCTION (callback mode): the
/// transfer sends it as soon as the callback returns.
pub fn encode_reply(out: &mut Vec<u8>, data: &[u8], flags: u32) -> Result<usize> {
    let Some(opcode) = frame::opcode_for(flags) else {
        return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "[WS] no frame type in flags"));
    };
    if opcode >= frame::OP_CLOSE && data.len() > 125 {
        return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "[WS] invalid control frame"));
    }
    let mask = frame::new_mask();
    frame::write_header(out, flags & frame::CONT == 0, opcode, data.len() as u64, mask);
    frame::put_masked(out, data, mask, 0);
    Ok(data.len())
}

impl Drop for Held {
    fn drop(&mut self) {
        // Off the private reactor, the socket closes at once (nobody would report its REMOVE).
        self.conn.stream.sock_mut().detach();
    }
}
