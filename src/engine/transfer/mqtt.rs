//! mqtt:// and mqtts:// URLs (mqtts: TLS first): the packets of `engine::proto::mqtt` on a new
//! connection, traced as libcurl traces them (packets sent as HEADER_OUT, the fixed header and
//! CONNACK/SUBACK bytes as HEADER_IN, PUBLISH contents as DATA_IN). A GET subscribes and hands
//! on every PUBLISH until the server disconnects or the transfer times out, as libcurl does; a
//! POST publishes POSTFIELDS and disconnects. The connection is never reused.

use std::rc::Rc;

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::pool::Conn;
use crate::engine::proto::mqtt;
use crate::engine::url::Url;

/// Bytes received and not yet taken.
#[derive(Default)]
struct Rx {
    buf: Vec<u8>,
    pos: usize,
}

/// libcurl's state numbers, which its VERBOSE trace names ("mqtt_doing: state [n]").
const ST_FIRST: u8 = 0;
const ST_CONNACK: u8 = 2;
const ST_SUBACK: u8 = 3;
const ST_PUBWAIT: u8 = 5;

impl Xfer {
    pub(super) async fn run_mqtt(&mut self, url: Rc<Url>) -> Result<()> {
        let mut conn = self.open_for_transfer(&url).await?;
        let r = self.mqtt_session(&mut conn, &url).await;
        self.close_unpooled(conn);
        r
    }

    async fn mqtt_send(&mut self, conn: &mut Conn, pkt: &[u8]) -> Result<()> {
        conn.stream
            .write_all(pkt)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))?;
        self.debug_data(debug_kind::HEADER_OUT, pkt);
        Ok(())
    }

    /// Makes `n` bytes available in `rx`; false when the server closed first.
    async fn mqtt_fill(&mut self, conn: &mut Conn, rx: &mut Rx, n: usize) -> Result<bool> {
        if rx.pos > 0 && rx.pos == rx.buf.len() {
            rx.buf.clear();
            rx.pos = 0;
        }
        let mut chunk = [0u8; 16384];
        while rx.buf.len() - rx.pos < n {
            let got = self.ticked(Some(conn.stream.sock().fd()), conn.stream.read(&mut chunk)).await?;
            match got {
                Ok(0) => return Ok(false),
                Ok(k) => rx.buf.extend_from_slice(&chunk[..k]),
                Err(e) => {
                    return Err(Error::new(
                        code::RECV_ERROR,
                        format!("Recv failure: {}", crate::engine::sys::error_text(&e)),
                    ))
                }
            }
        }
        Ok(true)
    }

    /// Takes `n` bytes traced as HEADER_IN; None when the server closed first.
    async fn mqtt_header_bytes(&mut self, conn: &mut Conn, rx: &mut Rx, n: usize) -> Result<Option<Vec<u8>>> {
        if !self.mqtt_fill(conn, rx, n).await? {
            return Ok(None);
        }
        let b = rx.buf[rx.pos..rx.pos + n].to_vec();
        rx.pos += n;
        self.debug_data(debug_kind::HEADER_IN, &b);
        Ok(Some(b))
    }

    /// A packet's first byte and remaining length, each byte traced as libcurl does.
    async fn mqtt_fixed_header(&mut self, conn: &mut Conn, rx: &mut Rx) -> Result<(u8, usize)> {
        self.text(format_args!("mqtt_doing: state [{ST_FIRST}]"));
        let gone = || Error::new(code::RECV_ERROR, "Connection disconnected");
        let first = self.mqtt_header_bytes(conn, rx, 1).await?.ok_or_else(gone)?[0];
        let mut len = Vec::with_capacity(4);
        loop {
            let b = self.mqtt_header_bytes(conn, rx, 1).await?.ok_or_else(gone)?[0];
            len.push(b);
            if b & 0x80 == 0 {
                break;
            }
            if len.len() == 4 {
                return Err(Error::new(code::WEIRD_SERVER_REPLY, String::new()));
            }
        }
        Ok((first, mqtt::decode_len(&len)))
    }

    async fn mqtt_session(&mut self, conn: &mut Conn, url: &Url) -> Result<()> {
        let dec = crate::engine::url::percent_decode;
        let (user, password) = match &self.o.username {
            Some(u) => (u.clone(), self.o.password.clone().unwrap_or_default()),
            None => {
                (url.user.as_deref().map(dec).unwrap_or_default(), url.password.as_deref().map(dec).unwrap_or_default())
            }
        };
        let client = mqtt::client_id();
        self.text(format_args!("Using client id '{client}'"));
        self.mqtt_send(conn, &mqtt::connect(&client, &user, &password)).await?;
        let mut rx = Rx::default();
        // CONNACK: libcurl takes two bytes after any fixed header with a length.
        loop {
            let (first, len) = self.mqtt_fixed_header(conn, &mut rx).await?;
            if len > 0 {
                break;
            }
            if first == mqtt::DISCONNECT {
                self.text(format_args!("Got DISCONNECT"));
                return Ok(());
            }
        }
        self.text(format_args!("mqtt_doing: state [{ST_CONNACK}]"));
        let ack = self
            .mqtt_header_bytes(conn, &mut rx, 2)
            .await?
            .ok_or_else(|| Error::new(code::RECV_ERROR, "Connection disconnected"))?;
        mqtt::check_connack(&ack)?;
        if self.o.post {
            let Body::Bytes(payload) = &self.o.body else {
                return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, String::new()));
            };
            let payload = payload.clone();
            let topic = mqtt::topic(&url.path).inspect_err(|e| self.text(format_args!("{}", e.msg)))?;
            self.mqtt_send(conn, &mqtt::publish(&topic, &payload)).await?;
            self.mqtt_send(conn, &mqtt::DISCONNECT_PACKET).await?;
            return Ok(());
        }
        let topic = mqtt::topic(&url.path).inspect_err(|e| self.text(format_args!("{}", e.msg)))?;
        self.mqtt_send(conn, &mqtt::subscribe(&topic)).await?;
        let mut state = ST_SUBACK;
        loop {
            let (first, len) = self.mqtt_fixed_header(conn, &mut rx).await?;
            if len == 0 {
                if first == mqtt::DISCONNECT {
                    self.text(format_args!("Got DISCONNECT"));
                    return Ok(());
                }
                continue;
            }
            self.text(format_args!("mqtt_doing: state [{state}]"));
            match first & 0xf0 {
                mqtt::SUBACK => {
                    let ack = self
                        .mqtt_header_bytes(conn, &mut rx, 3)
                        .await?
                        .ok_or_else(|| Error::new(code::RECV_ERROR, "Connection disconnected"))?;
                    if ack[..] != [0, mqtt::PACKET_ID as u8, 0] {
                        return Err(Error::new(code::WEIRD_SERVER_REPLY, String::new()));
                    }
                    state = ST_PUBWAIT;
                }
                mqtt::PUBLISH => {
                    self.text(format_args!("Remaining length: {len} bytes"));
                    if self.o.max_filesize > 0 && len as i64 > self.o.max_filesize {
                        self.text(format_args!("Maximum file size exceeded"));
                        return Err(Error::new(code::FILESIZE_EXCEEDED, "Maximum file size exceeded"));
                    }
                    self.dl_total = len as i64;
                    let mut left = len;
                    while left > 0 {
                        if rx.pos == rx.buf.len() && !self.mqtt_fill(conn, &mut rx, 1).await? {
                            self.text(format_args!("server disconnected"));
                            return Err(Error::new(code::PARTIAL_FILE, String::new()));
                        }
                        let take = left.min(rx.buf.len() - rx.pos);
                        let piece = rx.buf[rx.pos..rx.pos + take].to_vec();
                        rx.pos += take;
                        left -= take;
                        if self.info.starttransfer_time == 0.0 {
                            self.info.starttransfer_time = elapsed(self.start);
                        }
                        self.body_bytes(&piece, &mut None).await?;
                        self.flush_paused().await?;
                    }
                    state = ST_PUBWAIT;
                }
                mqtt::DISCONNECT => {
                    self.text(format_args!("Got DISCONNECT"));
                    return Ok(());
                }
                _ => return Err(Error::new(code::WEIRD_SERVER_REPLY, String::new())),
            }
        }
    }
}
