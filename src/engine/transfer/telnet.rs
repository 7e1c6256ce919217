//! telnet:// URLs: a new connection, then until the server closes it, libcurl's loop: wait up to
//! 100 ms for the server, hand what it sent to `engine::proto::telnet` (data to WRITEFUNCTION,
//! answers back to the server), then ask READFUNCTION once for more to send (until it reports
//! the end; a pause just skips a round; an abort ends the transfer without an error, as
//! libcurl's does). The connection is never reused.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::proto::telnet::{self, Event, Telnet};
use crate::engine::rt::with_deadline;
use crate::engine::url::Url;

/// How long libcurl waits for the server before asking READFUNCTION again.
const POLL: Duration = Duration::from_millis(100);
/// libcurl reads and asks for 4 KiB at a time.
const CHUNK: usize = 4096;

impl Xfer {
    pub(super) async fn run_telnet(&mut self, url: Rc<Url>) -> Result<()> {
        let mut conn = self.open_for_transfer(&url).await?;
        let r = self.telnet_session(&mut conn, &url).await;
        self.close_unpooled(conn);
        r
    }

    async fn telnet_session(&mut self, conn: &mut crate::engine::pool::Conn, url: &Url) -> Result<()> {
        // The user name goes to the server as NEW-ENVIRON's USER.
        let user = match &self.o.username {
            Some(u) => Some(u.clone()),
            None => url.user.as_deref().map(crate::engine::url::percent_decode),
        };
        let cfg = telnet::parse_options(&self.o.proto.telnet, user.as_deref()).map_err(|(c, msg)| {
            if let Some(m) = &msg {
                self.text(format_args!("{m}"));
            }
            Error::new(c, msg.unwrap_or_default())
        })?;
        let mut tn = Telnet::new(cfg);
        let mut input_done = !self.cb.has_read();
        let mut buf = vec![0u8; CHUNK];
        let mut events = Vec::new();
        let send_err =
            |e: std::io::Error| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"));
        loop {
            let reactor = self.sh.reactor.clone();
            let got = with_deadline(&reactor, Some(Instant::now() + POLL), conn.stream.read(&mut buf)).await;
            match got {
                None => {}
                Some(Ok(0)) => return Ok(()),
                Some(Ok(n)) => {
                    if self.info.starttransfer_time == 0.0 {
                        self.info.starttransfer_time = elapsed(self.start);
                    }
                    self.dl_now += n as i64;
                    let r = tn.receive(&buf[..n], &mut events);
                    for ev in events.drain(..) {
                        match ev {
                            Event::Text(t) => self.text(format_args!("{t}")),
                            Event::Send(b) => conn.stream.write_all(&b).await.map_err(send_err)?,
                            Event::Data(d) => {
                                // libcurl counts the bytes read and again those delivered.
                                self.dl_now += d.len() as i64;
                                self.debug_data(debug_kind::DATA_IN, &d);
                                self.deliver_body(&d).await?;
                                self.flush_paused().await?;
                            }
                        }
                    }
                    r.map_err(|c| Error::new(c, String::new()))?;
                    self.easy.info.borrow_mut().size_download = self.dl_now as u64;
                }
                Some(Err(e)) => {
                    return Err(Error::new(
                        code::RECV_ERROR,
                        format!("Recv failure: {}", crate::engine::sys::error_text(&e)),
                    ))
                }
            }
            if !input_done {
                match self.cb.read(&mut buf) {
                    ReadOutcome::Data(0) => input_done = true,
                    ReadOutcome::Data(n) => {
                        conn.stream.write_all(&telnet::escape(&buf[..n])).await.map_err(send_err)?;
                        self.ul_now += n as i64;
                        self.easy.info.borrow_mut().size_upload = self.ul_now as u64;
                    }
                    ReadOutcome::Pause => {}
                    ReadOutcome::Abort(_) => return Ok(()),
                }
            }
            self.call_progress(false)?;
        }
    }
}
