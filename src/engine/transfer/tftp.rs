//! tftp:// URLs: the exchange of `engine::proto::tftp` over one UDP socket in the reactor (so
//! SOCKETFUNCTION sees it), with libcurl's retransmissions, timeouts and VERBOSE lines.
//!
//! The request goes to the URL's port; the server answers from a port of its own, which is
//! pinned by the first packet: a packet from anywhere else afterwards ends the transfer, as in
//! libcurl. Retries wait the retry interval plus a second: libcurl compares whole seconds
//! (`time()`), so its waits fall between the two, and mostly at the longer end.

use std::future::poll_fn;
use std::io::Read as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::net::Sock;
use crate::engine::proto::tftp::{self as t, Packet};
use crate::engine::resolve;
use crate::engine::rt::with_deadline;
use crate::engine::url::Url;

/// libcurl's connect timeout when CONNECTTIMEOUT is unset, which sizes the first retries.
const DEFAULT_CONNECT_TIMEOUT_MS: i64 = 300_000;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Start,
    Rx,
    Tx,
}

impl Phase {
    fn number(self) -> u8 {
        match self {
            Phase::Start => 0,
            Phase::Rx => 1,
            Phase::Tx => 2,
        }
    }
}

/// One TFTP exchange in flight.
struct Session {
    sock: Sock,
    /// Where packets go: the server's port until its first answer, then the port it answered from.
    peer: SocketAddr,
    pinned: bool,
    phase: Phase,
    /// The last block received (Rx) or sent (Tx).
    block: u16,
    blksize: usize,
    retries: u32,
    retry_time: u64,
    retry_max: u32,
    /// When a packet last came in (or a retry went out): the next retry is due a retry interval on.
    rx_time: Instant,
    /// The last packet sent, for retransmission.
    last: Vec<u8>,
    /// Bytes in the last DATA block sent (Tx).
    sent_len: usize,
    upload_sent: u64,
}

/// An error libcurl reports with its code's own text (no failf line in the trace).
fn coded(c: i32) -> Error {
    Error::new(c, crate::engine::strerror::easy_strerror(i64::from(c)))
}

/// The URL's path (its query left out) without its leading slash, percent-decoded; a %00 is
/// refused as libcurl does.
fn filename_of(path: &str) -> Result<Vec<u8>> {
    let p = path.split('?').next().unwrap_or_default();
    let p = p.strip_prefix('/').unwrap_or(p);
    crate::engine::proto::unescape(p, false)
        .ok_or_else(|| Error::new(code::URL_MALFORMAT, "URL using bad/illegal format or missing URL"))
}

impl Xfer {
    pub(super) async fn run_tftp(&mut self, url: Rc<Url>) -> Result<()> {
        // ";mode=netascii" (or any word starting with a or n) asks for netascii, anything else octet.
        let (path, mode) = match url.path.find(";mode=") {
            Some(i) => (&url.path[..i], Some(url.path[i + 6..].bytes().next().unwrap_or(b'i'))),
            None => (url.path.as_str(), None),
        };
        let netascii = match mode {
            Some(m) => matches!(m.to_ascii_uppercase(), b'A' | b'N'),
            None => self.o.ftp.transfer_text,
        };
        let filename = filename_of(path)?;
        let port = url.port_or_default();
        let overrides = self.resolve_overrides()?;
        let addrs = resolve::resolve_with(
            &self.sh.reactor,
            &self.sh.dns,
            &overrides,
            &url.host,
            port,
            self.o.ip_resolve,
            self.o.dns_cache_timeout,
            resolve::Lookup { on_start: None, doh: None },
        )
        .await?;
        self.info.namelookup_time = elapsed(self.start);
        let server = *addrs
            .first()
            .ok_or_else(|| Error::new(code::COULDNT_RESOLVE_HOST, format!("Could not resolve host: {}", url.host)))?;
        self.text(format_args!("  Trying {server}..."));
        let id = self.sh.next_conn_id.get();
        self.sh.next_conn_id.set(id + 1);
        self.info.conn_id = id;
        let sock = self.udp_socket(&server)?;
        // libcurl's UDP socket is not connected: it names no local end.
        self.text(format_args!(
            "Established connection to {} ({} port {}) from  port 0 ",
            url.host,
            server.ip(),
            server.port()
        ));
        self.info.num_connects += 1;
        self.info.connect_time = elapsed(self.start);
        self.info.primary_ip = Some(server.ip().to_string());
        self.info.primary_port = i64::from(server.port());
        self.info.local_ip = Some(String::new());
        self.info.local_port = 0;
        self.info.pretransfer_time = elapsed(self.start);
        self.publish_info();
        *self.easy.current_sock.borrow_mut() = Some((sock.fd(), Rc::downgrade(&self.sh.reactor)));
        let (retry_time, retry_max) = self.tftp_timeouts(Phase::Start);
        let mut s = Session {
            sock,
            peer: server,
            pinned: false,
            phase: Phase::Start,
            block: 0,
            blksize: t::BLKSIZE_DEFAULT,
            retries: 0,
            retry_time,
            retry_max,
            rx_time: Instant::now(),
            last: Vec::new(),
            sent_len: 0,
            upload_sent: 0,
        };
        let r = self.tftp_exchange(&mut s, filename, netascii).await;
        *self.easy.current_sock.borrow_mut() = None;
        self.text(format_args!("shutting down connection #{id}"));
        r
    }

    /// libcurl's failf: the message goes to the trace too.
    fn failf(&self, c: i32, msg: impl Into<String>) -> Error {
        let e = Error::new(c, msg);
        self.text(format_args!("{}", e.msg));
        e
    }

    fn illegal(&self, msg: impl Into<String>) -> Error {
        self.failf(t::TFTP_ILLEGAL, msg)
    }

    /// A nonblocking UDP socket bound to any local port of the server's family.
    fn udp_socket(&mut self, server: &SocketAddr) -> Result<Sock> {
        let fail = |e: std::io::Error| Error::new(code::COULDNT_CONNECT, format!("bind() failed; {e}"));
        let s = Socket::new(Domain::for_address(*server), Type::DGRAM, Some(Protocol::UDP)).map_err(fail)?;
        s.set_nonblocking(true).map_err(fail)?;
        let any: std::net::IpAddr = if server.is_ipv4() { [0u8; 4].into() } else { [0u16; 8].into() };
        s.bind(&SocketAddr::new(any, self.o.route.local_port).into()).map_err(fail)?;
        let sock = Sock::new(s, &self.sh.reactor, None);
        match self.cb.sockopt(sock.fd()) {
            Ok(0) | Ok(2) => Ok(sock),
            Ok(_) => Err(Error::new(code::ABORTED_BY_CALLBACK, "Operation was aborted by an application callback")),
            Err(e) => Err(e),
        }
    }

    /// libcurl's retry plan for a phase from the time left, and its VERBOSE line.
    fn tftp_timeouts(&self, phase: Phase) -> (u64, u32) {
        // Whole milliseconds rounded up: the first line of a 5 s TIMEOUT says 5000, as libcurl's.
        let left =
            |d: Duration| (self.start + d).saturating_duration_since(Instant::now()).as_micros().div_ceil(1000) as i64;
        let total = self.o.timeout.map(left);
        let ms = if phase == Phase::Start {
            let connect = self.o.connect_timeout.map(left).unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS);
            total.map_or(connect, |t| t.min(connect))
        } else {
            total.unwrap_or(0)
        };
        let (retry_time, retry_max) = t::retry_plan(ms);
        self.text(format_args!(
            "set timeouts for state {}; Total {ms}, retry {retry_time} maxtry {retry_max}",
            phase.number()
        ));
        (retry_time, retry_max)
    }

    fn tftp_send(&self, s: &mut Session, pkt: Vec<u8>) -> Result<()> {
        let to = s.peer;
        s.last = pkt;
        self.tftp_resend(s, to)
    }

    fn tftp_resend(&self, s: &Session, to: SocketAddr) -> Result<()> {
        match s.sock.socket().send_to(&s.last, &to.into()) {
            Ok(_) => Ok(()),
            // A full send buffer loses the datagram, as the network might: the retry sends it again.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(Error::new(code::SEND_ERROR, crate::engine::sys::error_text(&e))),
        }
    }

    async fn tftp_exchange(&mut self, s: &mut Session, filename: Vec<u8>, netascii: bool) -> Result<()> {
        if filename.is_empty() {
            return Err(self.illegal("Missing filename"));
        }
        let upload = self.o.upload;
        let requested = self.o.tftp_blksize as usize;
        let mode_len = if netascii { 8 } else { 5 };
        if filename.len() + mode_len + 4 > requested.max(t::BLKSIZE_DEFAULT) {
            return Err(self.illegal("TFTP filename too long"));
        }
        let tsize = if upload && self.o.in_size >= 0 { self.o.in_size } else { 0 };
        let options = (!self.o.tftp_no_options).then_some((tsize, requested, s.retry_time));
        let first = t::request(&t::Request { upload, filename: &filename, netascii, options });
        self.tftp_send(s, first)?;
        // libcurl counts sending the request as its first try.
        s.retries = 1;
        s.rx_time = Instant::now();
        let mut buf = vec![0u8; requested.max(t::BLKSIZE_DEFAULT) + 4];
        loop {
            let due = s.rx_time + Duration::from_secs(s.retry_time + 1);
            let got = self.tftp_recv(s, &mut buf, due).await?;
            let Some(n) = got else {
                if self.tftp_timeout(s)? {
                    return Ok(());
                }
                continue;
            };
            if self.tftp_packet(s, &buf[..n], requested).await? {
                return Ok(());
            }
        }
    }

    /// The next datagram from the pinned peer (the first one pins it); None when `due` passes.
    async fn tftp_recv(&mut self, s: &mut Session, buf: &mut [u8], due: Instant) -> Result<Option<usize>> {
        let reactor = self.sh.reactor.clone();
        loop {
            let sock = &s.sock;
            let got = with_deadline(
                &reactor,
                Some(due),
                poll_fn(|cx| loop {
                    // The sender first (peeked), then the datagram itself.
                    match sock.socket().peek_sender() {
                        Ok(from) => {
                            let r = (&mut sock.socket()).read(buf);
                            return Poll::Ready(r.map(|n| (from.as_socket(), n)));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            reactor.want_read(sock.fd(), cx.waker());
                            return Poll::Pending;
                        }
                        // An ICMP error reported on the socket (Windows): nothing to read, go on.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }),
            )
            .await;
            let (from, n) = match got {
                None => return Ok(None),
                Some(Ok(x)) => x,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
                Some(Err(e)) => return Err(Error::new(code::RECV_ERROR, crate::engine::sys::error_text(&e))),
            };
            let Some(from) = from else { continue };
            if s.pinned && from != s.peer {
                // Another sender than the transfer's TID: libcurl ends the transfer.
                return Err(self.failf(code::RECV_ERROR, "Data received from another address"));
            }
            if !s.pinned {
                s.peer = from;
                s.pinned = true;
            }
            return Ok(Some(n));
        }
    }

    /// A retry interval passed with nothing received: send again, or give up. True: finished.
    fn tftp_timeout(&mut self, s: &mut Session) -> Result<bool> {
        s.retries += 1;
        s.rx_time = Instant::now();
        let next = s.block.wrapping_add(1);
        match s.phase {
            Phase::Start => {
                if s.retries > s.retry_max {
                    return Err(coded(code::COULDNT_CONNECT));
                }
            }
            Phase::Rx => {
                self.text(format_args!("Timeout waiting for block {next} ACK. Retries = {}", s.retries));
                if s.retries > s.retry_max {
                    return Err(coded(code::OPERATION_TIMEDOUT));
                }
            }
            Phase::Tx => {
                self.text(format_args!("Timeout waiting for block {next} ACK. Retries = {}", s.retries));
                if s.retries > s.retry_max {
                    return Err(coded(code::OPERATION_TIMEDOUT));
                }
            }
        }
        self.tftp_resend(s, s.peer)?;
        Ok(false)
    }

    /// Handles one packet. True: the transfer is complete.
    async fn tftp_packet(&mut self, s: &mut Session, p: &[u8], requested: usize) -> Result<bool> {
        let Some(pkt) = t::parse(p) else {
            // Too short to be a packet: libcurl treats it as nothing received.
            return Ok(false);
        };
        let upload = self.o.upload;
        match pkt {
            Packet::Error { code: c, msg } => {
                if let Some(m) = msg {
                    self.text(format_args!("TFTP error: {}", String::from_utf8_lossy(m)));
                }
                Err(coded(t::error_code(c)))
            }
            Packet::Oack(pairs) => {
                match s.phase {
                    Phase::Start => {}
                    // A repeated OACK: the ACK of block 0 again (download), else nothing to do.
                    Phase::Rx => {
                        self.tftp_send(s, t::ack(0).to_vec())?;
                        return Ok(false);
                    }
                    Phase::Tx => return Ok(false),
                }
                let pairs = pairs.ok_or_else(|| self.illegal("Malformed ACK packet, rejecting"))?;
                for (k, v) in pairs {
                    let (ks, vs) = (String::from_utf8_lossy(k), String::from_utf8_lossy(v));
                    self.text(format_args!("got option=({ks}) value=({vs})"));
                    if k.len() >= 7 && k[..7].eq_ignore_ascii_case(b"blksize") {
                        // Not a number, or past the maximum: libcurl names the maximum.
                        let Some(b) = t::oack_number(v, t::BLKSIZE_MAX) else {
                            let max = t::BLKSIZE_MAX;
                            return Err(self.illegal(format!("blksize is larger than max supported ({max})")));
                        };
                        if b == 0 {
                            return Err(self.illegal("invalid blocksize value in OACK packet"));
                        }
                        if b > t::BLKSIZE_MAX {
                            return Err(self.illegal(format!("blksize is larger than max supported ({b})")));
                        }
                        if b < t::BLKSIZE_MIN {
                            return Err(self.illegal(format!("blksize is smaller than min supported ({b})")));
                        }
                        if b as usize > requested {
                            return Err(self.illegal(format!("server requested blksize larger than allocated ({b})")));
                        }
                        s.blksize = b as usize;
                        self.text(format_args!("blksize parsed from OACK ({b}) requested ({requested})"));
                    } else if k.len() >= 5 && k[..5].eq_ignore_ascii_case(b"tsize") && !upload {
                        // A tsize that is no number (negative, junk, too big) is ignored, as libcurl 8 does.
                        let Some(n) = t::oack_number(v, i64::MAX) else { continue };
                        if n == 0 {
                            return Err(self.illegal("invalid tsize -::- value in OACK packet"));
                        }
                        self.text(format_args!("tsize parsed from OACK ({n})"));
                        self.dl_total = n;
                        self.info.content_length_download = n as f64;
                    }
                }
                if upload {
                    self.tftp_start_tx(s)?;
                    self.tftp_next_block(s, true)?;
                } else {
                    self.tftp_start_rx(s)?;
                    s.block = 0;
                    s.retries = 0;
                    self.tftp_send(s, t::ack(0).to_vec())?;
                }
                s.rx_time = Instant::now();
                Ok(false)
            }
            Packet::Data { block, data } => {
                match s.phase {
                    Phase::Start if !upload => self.tftp_start_rx(s)?,
                    Phase::Rx => {}
                    _ => return Err(self.illegal("Internal error: Unexpected packet")),
                }
                let next = s.block.wrapping_add(1);
                if block == next {
                    s.retries = 0;
                    if !data.is_empty() {
                        self.info.starttransfer_time = elapsed(self.start);
                        self.body_bytes(data, &mut None).await?;
                        self.flush_paused().await?;
                    }
                } else if block == s.block {
                    self.text(format_args!("Received last DATA packet block {block} again."));
                } else {
                    self.text(format_args!("Received unexpected DATA packet block {block}, expecting block {next}"));
                    return Ok(false);
                }
                s.block = block;
                self.tftp_send(s, t::ack(block).to_vec())?;
                s.rx_time = Instant::now();
                Ok(data.len() < s.blksize)
            }
            Packet::Ack(block) => {
                match s.phase {
                    Phase::Start if upload => self.tftp_start_tx(s)?,
                    Phase::Tx => {}
                    _ => return Err(self.illegal("Internal error: Unexpected packet")),
                }
                // tftpd-hpa acknowledges block 0 after a wrap as 65535: libcurl takes either.
                if block != s.block && !(s.block == 0 && block == 65535) {
                    self.text(format_args!("Received ACK for block {block}, expecting {}", s.block));
                    s.retries += 1;
                    if s.retries > s.retry_max {
                        let msg = format!("tftp_tx: giving up waiting for block {} ack", s.block);
                        return Err(self.failf(code::SEND_ERROR, msg));
                    }
                    self.tftp_resend(s, s.peer)?;
                    return Ok(false);
                }
                s.rx_time = Instant::now();
                self.tftp_next_block(s, false)
            }
            Packet::Other(_) => Err(self.illegal("Internal error: Unexpected packet")),
        }
    }

    fn tftp_start_rx(&mut self, s: &mut Session) -> Result<()> {
        self.text(format_args!("Connected for receive"));
        s.phase = Phase::Rx;
        (s.retry_time, s.retry_max) = self.tftp_timeouts(Phase::Rx);
        self.call_progress(false)
    }

    fn tftp_start_tx(&mut self, s: &mut Session) -> Result<()> {
        self.text(format_args!("Connected for transmit"));
        s.phase = Phase::Tx;
        (s.retry_time, s.retry_max) = self.tftp_timeouts(Phase::Tx);
        if self.o.in_size >= 0 {
            self.ul_total = self.o.in_size;
            self.info.content_length_upload = self.o.in_size as f64;
        }
        Ok(())
    }

    /// After the ACK of the last block (or the OACK): the next block, read from READFUNCTION up to
    /// a full block; the ACK of a short block ends the upload. True: finished.
    fn tftp_next_block(&mut self, s: &mut Session, after_oack: bool) -> Result<bool> {
        if after_oack {
            s.block = 1;
        } else {
            s.block = s.block.wrapping_add(1);
            if s.block != 1 && s.sent_len < s.blksize {
                return Ok(true);
            }
        }
        s.retries = 0;
        let mut pkt = vec![0u8; 4 + s.blksize];
        pkt[..4].copy_from_slice(&t::data_header(s.block));
        let limit = (self.o.in_size >= 0).then_some(self.o.in_size as u64);
        let mut len = 0;
        while len < s.blksize {
            let n = self.upload_chunk(&mut pkt[4 + len..], limit, s.upload_sent, "a TFTP")?;
            if n == 0 {
                break;
            }
            len += n;
            s.upload_sent += n as u64;
        }
        pkt.truncate(4 + len);
        s.sent_len = len;
        self.tftp_send(s, pkt)?;
        self.ul_now += len as i64;
        self.call_progress(false)?;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filenames_decode_and_refuse_nul() {
        assert_eq!(super::filename_of("/a%20b/c").unwrap(), b"a b/c");
        assert_eq!(super::filename_of("/x%4").unwrap(), b"x%4");
        assert_eq!(super::filename_of("/").unwrap(), b"");
        assert_eq!(super::filename_of("/f?q=1").unwrap(), b"f");
        assert!(super::filename_of("/a%00").is_err());
    }
}
