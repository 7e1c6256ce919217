//! dict:// and gopher(s):// URLs: one request written on a new connection (`engine::proto::dict`,
//! `engine::proto::gopher`), then the server's answer read to its end and handed to
//! WRITEFUNCTION as it comes. The connection is never reused, as in libcurl.

use std::rc::Rc;

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::pool::Conn;
use crate::engine::proto::{dict, gopher};
use crate::engine::url::Url;

fn bad_url() -> Error {
    Error::new(code::URL_MALFORMAT, "URL using bad/illegal format or missing URL")
}

impl Xfer {
    /// A connection for one transfer of a protocol without a set-up phase of its own (dict,
    /// gopher, telnet, mqtt, rtsp): its addresses in the info, pretransfer reached, and its socket
    /// the one an unpause wakes.
    pub(super) async fn open_for_transfer(&mut self, url: &Url) -> Result<Conn> {
        let conn = self.connect(url, true).await?;
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = i64::from(conn.primary.port());
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = i64::from(conn.local.port());
        self.info.conn_id = conn.id;
        self.info.pretransfer_time = elapsed(self.start);
        self.publish_info();
        *self.easy.current_sock.borrow_mut() = Some((conn.stream.sock().fd(), Rc::downgrade(&self.sh.reactor)));
        Ok(conn)
    }

    /// Closes a connection these protocols never give back to the pool, as libcurl traces it.
    pub(super) fn close_unpooled(&mut self, conn: Conn) {
        *self.easy.current_sock.borrow_mut() = None;
        let id = conn.id;
        drop(conn);
        self.text(format_args!("shutting down connection #{id}"));
    }

    pub(super) async fn run_oneshot(&mut self, url: Rc<Url>) -> Result<()> {
        let mut conn = self.open_for_transfer(&url).await?;
        let r = self.oneshot_exchange(&mut conn, &url).await;
        self.close_unpooled(conn);
        r
    }

    async fn oneshot_exchange(&mut self, conn: &mut Conn, url: &Url) -> Result<()> {
        let send_err =
            |e: std::io::Error| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"));
        if url.scheme == "dict" {
            // The path alone (libcurl's DICT ignores the query), decoded, control characters refused.
            let path = url.path.split('?').next().unwrap_or_default();
            let path = crate::engine::proto::unescape(path, true).ok_or_else(bad_url)?;
            let (req, missing) = dict::request(&path);
            if missing {
                self.text(format_args!("lookup word is missing"));
            }
            self.debug_data(debug_kind::DATA_OUT, &req);
            conn.stream.write_all(&req).await.map_err(send_err)?;
        } else {
            let sel = gopher::selector(&url.path).ok_or_else(bad_url)?;
            // libcurl hands the selector and its CRLF to HEADERFUNCTION as it sends them.
            for part in [&sel[..], b"\r\n"] {
                if part.is_empty() {
                    continue;
                }
                conn.stream.write_all(part).await.map_err(|_| {
                    self.text(format_args!("Failed sending Gopher request"));
                    Error::new(code::SEND_ERROR, "Failed sending Gopher request")
                })?;
                if let Flow::Abort(e) = self.cb.header(part) {
                    return Err(e);
                }
            }
        }
        let mut buf = vec![0u8; self.o.buffer_size.max(16384)];
        loop {
            let n =
                match self.ticked(Some(conn.stream.sock().fd()), conn.stream.read(&mut buf)).await? {
                    Ok(0) => break,
                    Ok(n) => n,
                    // A TLS peer that closes without close_notify: libcurl's words with OpenSSL.
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(Error::new(
                        code::RECV_ERROR,
                        "OpenSSL SSL_read: OpenSSL/3.6.5: error:0A000126:SSL routines::unexpected eof while reading, \
                         errno 0",
                    )),
                    Err(e) => {
                        return Err(Error::new(
                            code::RECV_ERROR,
                            format!("Recv failure: {}", crate::engine::sys::error_text(&e)),
                        ))
                    }
                };
            if self.info.starttransfer_time == 0.0 {
                self.info.starttransfer_time = elapsed(self.start);
            }
            self.body_bytes(&buf[..n], &mut None).await?;
            self.flush_paused().await?;
            self.check_low_speed()?;
        }
        Ok(())
    }
}
