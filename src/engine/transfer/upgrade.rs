//! CONNECT_ONLY and WebSocket transfers: connect, maybe upgrade, then either leave the connection
//! to the application (CONNECT_ONLY=1 raw, =2 WebSocket) or deliver frames to WRITEFUNCTION with
//! their meta readable through curl_ws_meta (callback mode).

use super::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::pool::Conn;
use crate::engine::ws::{frame, handshake, Held, Meta, WsState, NOAUTOPONG, RAW_MODE};

impl Xfer {
    pub(super) async fn run_upgrade(&mut self, url: Url) -> Result<()> {
        self.choose_proxy(&url);
        let mut conn = self.connect(&url, false).await?;
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = conn.primary.port() as i64;
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = conn.local.port() as i64;
        self.info.conn_id = conn.id;
        self.info.last_socket = conn.stream.sock().fd() as i64;
        let ws = url.scheme.starts_with("ws");
        if !ws {
            self.text(format_args!("Connected to {} port {}", url.host, conn.primary.port()));
            *self.easy.held.borrow_mut() = Some(Box::new(Held::new(conn, None)));
            return Ok(());
        }
        self.ws_handshake(&url, &mut conn).await?;
        let state = WsState::new(self.o.ws_options);
        if self.o.connect_only != 0 {
            *self.easy.held.borrow_mut() = Some(Box::new(Held::new(conn, Some(state))));
            return Ok(());
        }
        let r = if self.o.ws_options & RAW_MODE != 0 {
            self.ws_deliver_raw(&mut conn).await
        } else {
            self.ws_deliver(&mut conn).await
        };
        self.easy.ws_meta.set(None);
        r
    }

    async fn ws_handshake(&mut self, url: &Url, conn: &mut Conn) -> Result<()> {
        let key = handshake::new_key();
        let req =
            handshake::request(&url.path, &url.host_header(), self.o.user_agent.as_deref(), &key, &self.o.headers);
        self.debug_data(crate::engine::easy::debug_kind::HEADER_OUT, &req);
        conn.stream
            .write_all(&req)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))?;
        self.info.request_size = req.len() as u64;
        let (end, status, headers) = loop {
            if let Some(r) = handshake::parse_head(conn.buffered()) {
                break r?;
            }
            let n = conn.fill(&self.sh.spare).await.map_err(|e| {
                Error::new(code::RECV_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(&e)))
            })?;
            if n == 0 {
                return Err(Error::new(code::GOT_NOTHING, "Empty reply from server"));
            }
        };
        let head = conn.buffered()[..end].to_vec();
        conn.consume(end);
        self.info.response_code = status as i64;
        for line in head.split_inclusive(|&b| b == b'\n') {
            self.deliver_header(line).await?;
        }
        handshake::check(status)?;
        if !handshake::accept_ok(&headers, &key) {
            self.text(format_args!("[WS] Sec-WebSocket-Accept does not match the key sent"));
        }
        Ok(())
    }

    /// Callback mode: every frame's payload goes to WRITEFUNCTION with its meta; pings are
    /// answered unless WS_OPTIONS says otherwise. A close frame ends the transfer.
    async fn ws_deliver(&mut self, conn: &mut Conn) -> Result<()> {
        let mut msg_flags = 0;
        let mut any = false;
        loop {
            let (h, hlen) = loop {
                if let Some(x) = frame::parse_header(conn.buffered())? {
                    break x;
                }
                if self.ws_fill(conn).await? == 0 {
                    if !conn.buffered().is_empty() {
                        return Err(incomplete());
                    }
                    if !any {
                        return Err(Error::new(code::GOT_NOTHING, "Empty reply from server"));
                    }
                    return Ok(());
                }
            };
            conn.consume(hlen);
            any = true;
            let flags = frame::flags_of(&h, msg_flags);
            if h.opcode == frame::OP_TEXT || h.opcode == frame::OP_BINARY {
                msg_flags = flags & (frame::TEXT | frame::BINARY);
            }
            let control = h.opcode >= frame::OP_CLOSE;
            let mut payload = Vec::new();
            let mut done = 0u64;
            loop {
                let avail = conn.buffered();
                let n = (avail.len() as u64).min(h.len - done) as usize;
                if n > 0 || h.len == 0 {
                    let chunk = avail[..n].to_vec();
                    conn.consume(n);
                    if control {
                        payload.extend_from_slice(&chunk);
                    }
                    let meta = Meta {
                        age: 0,
                        flags,
                        offset: done as i64,
                        bytesleft: (h.len - done - n as u64) as i64,
                        len: n,
                    };
                    done += n as u64;
                    let pong = h.opcode == frame::OP_PING && self.o.ws_options & (RAW_MODE | NOAUTOPONG) == 0;
                    if !pong {
                        self.easy.ws_meta.set(Some(meta));
                        self.dl_now += n as i64;
                        let r = self.deliver_body(&chunk).await;
                        self.easy.ws_meta.set(None);
                        r?;
                        let reply = std::mem::take(&mut *self.easy.ws_reply.borrow_mut());
                        if !reply.is_empty() {
                            conn.stream.write_all(&reply).await.map_err(|e| {
                                Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"))
                            })?;
                        }
                    }
                }
                if done == h.len {
                    break;
                }
                if self.ws_fill(conn).await? == 0 {
                    return Err(incomplete());
                }
            }
            match h.opcode {
                frame::OP_PING if self.o.ws_options & (RAW_MODE | NOAUTOPONG) == 0 => {
                    self.ws_write(conn, frame::OP_PONG, &payload).await?;
                }
                // A close frame is delivered like any other; the transfer ends when the server
                // closes the connection (libcurl does not stop at the frame).
                _ => {}
            }
        }
    }

    /// RAW_MODE: the bytes after the upgrade go to WRITEFUNCTION undecoded, until the server closes.
    async fn ws_deliver_raw(&mut self, conn: &mut Conn) -> Result<()> {
        loop {
            if !conn.buffered().is_empty() {
                let chunk = conn.buffered().to_vec();
                conn.consume(chunk.len());
                self.dl_now += chunk.len() as i64;
                self.deliver_body(&chunk).await?;
            }
            if self.ws_fill(conn).await? == 0 {
                return Ok(());
            }
        }
    }

    async fn ws_fill(&mut self, conn: &mut Conn) -> Result<usize> {
        conn.fill(&self.sh.spare)
            .await
            .map_err(|e| Error::new(code::RECV_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(&e))))
    }

    async fn ws_write(&mut self, conn: &mut Conn, opcode: u8, payload: &[u8]) -> Result<()> {
        let mask = frame::new_mask();
        let mut out = Vec::with_capacity(payload.len() + 8);
        frame::write_header(&mut out, true, opcode, payload.len() as u64, mask);
        frame::put_masked(&mut out, payload, mask, 0);
        conn.stream
            .write_all(&out)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))
    }
}

fn incomplete() -> Error {
    Error::new(code::RECV_ERROR, "[WS] decode ended with incomplete frame")
}
