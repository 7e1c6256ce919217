//! rtsp:// URLs: one request of `engine::proto::rtsp` on a connection kept in the pool between
//! transfers (RTSP sessions live on it), the response head to HEADERFUNCTION, a Content-Length
//! body to WRITEFUNCTION, and interleaved frames of the announced channels to WRITEFUNCTION
//! whole (libcurl's default for them without an INTERLEAVEFUNCTION). RECEIVE only reads frames.
//! The handle's CSeq counters and session id live in `EasyShared::rtsp`.

use std::rc::Rc;

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::pool::Conn;
use crate::engine::proto::rtsp::{self, RtspState};
use crate::engine::url::Url;

impl Xfer {
    pub(super) async fn run_rtsp(&mut self, url: Rc<Url>) -> Result<()> {
        let mut conn = self.open_for_transfer(&url).await?;
        let mut st = self.easy.rtsp.borrow_mut().take().map(|b| *b).unwrap_or_default();
        // libcurl numbers a handle's requests from 1 and expects the server's from 1.
        if st.next_client_cseq == 0 {
            st.next_client_cseq = 1;
        }
        if st.next_server_cseq == 0 {
            st.next_server_cseq = 1;
        }
        let r = self.rtsp_exchange(&mut conn, &mut st).await;
        *self.easy.rtsp.borrow_mut() = Some(Box::new(st));
        *self.easy.current_sock.borrow_mut() = None;
        let keep = match &r {
            Ok(()) => true,
            // A mismatched CSeq or a refused request leaves the connection usable, as in libcurl.
            Err(e) => e.code == rtsp::RTSP_CSEQ_ERROR || e.code == code::BAD_FUNCTION_ARGUMENT,
        };
        if keep {
            if conn.buffered().is_empty() {
                conn.spare_buffer(&self.sh.spare);
            }
            self.keep_conn(conn);
        } else {
            let id = conn.id;
            drop(conn);
            self.text(format_args!("closing connection #{id}"));
        }
        r
    }

    /// Reads more into the connection's buffer; false at EOF.
    async fn rtsp_fill(&mut self, conn: &mut Conn) -> Result<bool> {
        let fd = conn.stream.sock().fd();
        let sh = self.sh.clone();
        match self.ticked(Some(fd), conn.fill(&sh.spare)).await? {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) => {
                Err(Error::new(code::RECV_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(&e))))
            }
        }
    }

    /// Hands on the whole interleaved frames at the start of the buffer (those of channels not
    /// announced are dropped, as libcurl drops them); true when a partial frame waits for more.
    async fn rtsp_frames(&mut self, conn: &mut Conn, st: &RtspState) -> Result<bool> {
        while conn.buffered().first() == Some(&b'$') {
            let Some(n) = rtsp::frame_len(conn.buffered()) else { return Ok(true) };
            let frame = conn.buffered()[..n].to_vec();
            conn.consume(n);
            if st.allows(frame[1]) {
                self.info.size_delivered += frame.len() as u64;
                self.deliver_body(&frame).await?;
                self.flush_paused().await?;
            }
        }
        Ok(false)
    }

    async fn rtsp_exchange(&mut self, conn: &mut Conn, st: &mut RtspState) -> Result<()> {
        let kind = self.o.proto.rtsp_request.max(rtsp::OPTIONS);
        if kind == rtsp::RECEIVE {
            // Only interleaved data: done once what arrived has been handed on whole.
            let before = self.info.size_delivered;
            loop {
                let partial = self.rtsp_frames(conn, st).await?;
                if !partial && self.info.size_delivered > before && conn.buffered().is_empty() {
                    return Ok(());
                }
                if !self.rtsp_fill(conn).await? {
                    return Err(Error::new(code::GOT_NOTHING, "Empty reply from server"));
                }
            }
        }
        let body = match &self.o.body {
            Body::Bytes(b) if self.o.post => Some(b.clone()),
            _ => None,
        };
        let o = self.o.clone();
        let req = rtsp::Request {
            kind,
            stream_uri: o.proto.rtsp_stream_uri.as_deref(),
            transport: o.proto.rtsp_transport.as_deref(),
            user_agent: o.user_agent.as_deref(),
            custom: &o.headers,
            body: body.as_deref(),
        };
        let head = rtsp::request(&req, st.next_client_cseq, st.session_id.as_deref()).inspect_err(|e| {
            self.text(format_args!("{}", e.msg));
        })?;
        let sent = st.next_client_cseq;
        let send_err =
            |e: std::io::Error| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"));
        let body = body
            .filter(|b| !b.is_empty() && matches!(kind, rtsp::ANNOUNCE | rtsp::GET_PARAMETER | rtsp::SET_PARAMETER));
        let mut out = head.clone();
        if let Some(b) = &body {
            out.extend_from_slice(b);
        }
        conn.stream.write_all(&out).await.map_err(send_err)?;
        self.debug_data(debug_kind::HEADER_OUT, &head);
        self.info.request_size += out.len() as u64;
        match &body {
            Some(b) => {
                self.debug_data(debug_kind::DATA_OUT, b);
                self.text(format_args!("upload completely sent off: {} bytes", b.len()));
                self.ul_now += b.len() as i64;
            }
            None => self.text(format_args!("Request completely sent off")),
        }
        st.next_client_cseq += 1;

        // The status line, after any interleaved frames.
        let status = loop {
            if self.rtsp_frames(conn, st).await? || !conn.buffered().contains(&b'\n') {
                if !self.rtsp_fill(conn).await? {
                    return Err(Error::new(code::GOT_NOTHING, "Empty reply from server"));
                }
                continue;
            }
            let b = conn.buffered();
            let n = b.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
            let line = b[..n].to_vec();
            conn.consume(n);
            break line;
        };
        let code_of = |l: &[u8]| -> Option<i64> {
            let rest = l.strip_prefix(b"RTSP/")?;
            let sp = rest.iter().position(|&c| c == b' ')?;
            std::str::from_utf8(rest.get(sp + 1..sp + 4)?).ok()?.parse().ok()
        };
        let status_code =
            code_of(&status).ok_or_else(|| Error::new(code::WEIRD_SERVER_REPLY, "Invalid RTSP response"))?;
        self.info.response_code = status_code;
        if self.info.starttransfer_time == 0.0 {
            self.info.starttransfer_time = elapsed(self.start);
        }
        self.debug_data(debug_kind::HEADER_IN, &status);
        self.deliver_header(&status).await?;
        let mut cseq_recv = None;
        let mut length = 0usize;
        loop {
            if !conn.buffered().contains(&b'\n') {
                if !self.rtsp_fill(conn).await? {
                    return Err(Error::new(code::PARTIAL_FILE, String::new()));
                }
                continue;
            }
            let b = conn.buffered();
            let n = b.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
            let line = b[..n].to_vec();
            conn.consume(n);
            if line == b"\r\n" || line == b"\n" {
                self.debug_data(debug_kind::HEADER_IN, &line);
                self.deliver_header(&line).await?;
                break;
            }
            rtsp::header(st, &line, &mut cseq_recv).inspect_err(|e| self.text(format_args!("{}", e.msg)))?;
            let text = String::from_utf8_lossy(&line);
            if let Some((name, v)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("Content-Length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            self.debug_data(debug_kind::HEADER_IN, &line);
            self.deliver_header(&line).await?;
        }
        self.dl_total = length as i64;
        let mut left = length;
        while left > 0 {
            if conn.buffered().is_empty() && !self.rtsp_fill(conn).await? {
                return Err(Error::new(
                    code::PARTIAL_FILE,
                    format!("transfer closed with {left} bytes remaining to read"),
                ));
            }
            let take = left.min(conn.buffered().len());
            let piece = conn.buffered()[..take].to_vec();
            conn.consume(take);
            left -= take;
            self.body_bytes(&piece, &mut None).await?;
            self.flush_paused().await?;
        }
        // Frames that came with the response go out now; a partial one waits for the next request.
        self.rtsp_frames(conn, st).await?;
        if cseq_recv != Some(sent) {
            let e = Error::new(
                rtsp::RTSP_CSEQ_ERROR,
                format!("The CSeq of this request {sent} did not match the response {}", cseq_recv.unwrap_or(0)),
            );
            self.text(format_args!("{}", e.msg));
            return Err(e);
        }
        Ok(())
    }
}
