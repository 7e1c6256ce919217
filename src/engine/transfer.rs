//! One transfer, top to bottom:
//!
//! ```text
//!  start ─► parse URL ─► file:// ? ─► read file ─► done
//!                │
//!                ▼
//!   ┌──► connect (pool hit, or resolve → TCP → TLS) ─► send request head (+ body)
//!   │        ─► read response heads (1xx …, final) ─► auth retry? ─► body ─► pool/close
//!   └─────── redirect (FOLLOWLOCATION) ◄───────────────────────────────┘
//! ```
//!
//! Deadlines are reactor timers: TIMEOUT wraps the whole transfer, CONNECTTIMEOUT the connect phase,
//! and a one-second tick drives the progress callback and LOW_SPEED checks while waiting.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::decode::Decoder;
use super::easy::*;
use super::error::{code, Error, Result};
use super::http1::body::{self as h1body, BodyDecoder, BodyEvent, Framing};
use super::http1::head::{self as h1head, Head, HeadEvent, HeadParser};
use super::http1::request::{self as h1req, RequestHead};
use super::net::{self, Sock, Stream, TlsStream};
use super::pool::{Conn, Pool, PoolKey, Slot};
use super::resolve::{self, DnsCache};
use super::rt::{with_deadline, Reactor};
use super::url::Url;

/// What transfers of one multi share: reactor, connection pool, DNS cache, id counters.
pub struct Shared {
    pub reactor: Rc<Reactor>,
    pub pool: RefCell<Pool>,
    pub limits: Rc<super::pool::Limits>,
    pub dns: Rc<RefCell<DnsCache>>,
    pub next_conn_id: Cell<i64>,
    pub next_xfer_id: Cell<i64>,
}

impl Shared {
    pub fn new() -> Rc<Shared> {
        Rc::new(Shared {
            reactor: Rc::new(Reactor::default()),
            pool: RefCell::new(Pool::default()),
            limits: Rc::new(super::pool::Limits::default()),
            dns: Rc::new(RefCell::new(DnsCache::default())),
            next_conn_id: Cell::new(0),
            next_xfer_id: Cell::new(0),
        })
    }
}

const TICK: Duration = Duration::from_secs(1);
const PAUSED_TICK: Duration = Duration::from_millis(5);

struct Xfer {
    sh: Rc<Shared>,
    easy: Rc<EasyShared>,
    o: Rc<Options>,
    cb: Rc<dyn Callbacks>,
    start: Instant,
    /// Body bytes delivered (after decoding: libcurl counts bytes received; we count received too).
    dl_now: i64,
    dl_total: i64,
    ul_now: i64,
    ul_total: i64,
    progress: bool,
    last_progress: Option<Instant>,
    /// LOW_SPEED bookkeeping: (window start, bytes at window start).
    speed_window: (Instant, i64),
    info: Info,
    /// Inside the connect phase (a TIMEOUT there is reported as a connect timeout).
    connecting: bool,
    /// The URL of the request in flight (for cookies).
    current_url: Option<Url>,
    /// Reading a body only to skip it (redirects, auth retries): count it, deliver nothing.
    discarding: bool,
    /// Header bytes received for the request in flight (libcurl limits them).
    head_bytes: usize,
}

/// Runs one transfer to completion, recording getinfo values in `easy.info`.
pub async fn run(sh: Rc<Shared>, easy: Rc<EasyShared>) -> Result<()> {
    let o = easy.opts.borrow().clone(); // an Rc: the options as they are when the transfer starts
    let cb = easy.callbacks.borrow().clone().expect("callbacks installed before a transfer starts");
    let start = Instant::now();
    let xid = sh.next_xfer_id.get();
    sh.next_xfer_id.set(xid + 1);
    let mut x = Xfer {
        sh: sh.clone(),
        easy: easy.clone(),
        progress: !o.noprogress && cb.has_progress(),
        o,
        cb,
        start,
        dl_now: 0,
        dl_total: 0,
        ul_now: 0,
        ul_total: 0,
        last_progress: None,
        speed_window: (start, 0),
        info: Info { xfer_id: xid, performed: true, ..Info::default() },
        connecting: false,
        current_url: None,
        discarding: false,
        head_bytes: 0,
    };
    let deadline = x.o.timeout.map(|t| start + t);
    let reactor = sh.reactor.clone();
    let r = {
        let fut = x.run_all();
        match with_deadline(&reactor, deadline, fut).await {
            Some(r) => r,
            None => Err(Error::new(code::OPERATION_TIMEDOUT, String::new())),
        }
    };
    let r = match r {
        Err(e) if e.code == code::OPERATION_TIMEDOUT && e.msg.is_empty() => {
            let ms = start.elapsed().as_millis();
            let msg = if x.connecting {
                format!("Connection timed out after {ms} milliseconds")
            } else if x.dl_total > 0 {
                format!(
                    "Operation timed out after {ms} milliseconds with {} out of {} bytes received",
                    x.dl_now, x.dl_total
                )
            } else {
                format!("Operation timed out after {ms} milliseconds with {} bytes received", x.dl_now)
            };
            Err(Error::new(code::OPERATION_TIMEDOUT, msg))
        }
        r => r,
    };
    x.info.total_time = start.elapsed().as_secs_f64();
    x.info.size_download = x.dl_now as u64;
    x.info.size_upload = x.ul_now as u64;
    if x.progress && r.is_ok() {
        // Final progress call as libcurl makes at the end of a transfer.
        let _ = x.cb.progress(x.dl_total, x.dl_now, x.ul_total, x.ul_now);
    }
    *easy.info.borrow_mut() = std::mem::take(&mut x.info);

    match x.cb.take_pending_error() {
        Some(e) => Err(e),
        None => r,
    }
}

fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// State carried between the requests of one transfer (redirects, auth retries).
struct Hop {
    url: Url,
    method: String,
    body: Body,
    auth_header: Option<String>,
    digest_tried: bool,
    referer: Option<String>,
    send_auth: bool,
    retried: bool,
}

impl Xfer {
    /// An informational line of the VERBOSE trace (DEBUGFUNCTION type TEXT), in libcurl's words.
    /// Takes format arguments so nothing is formatted unless VERBOSE is on.
    fn text(&self, line: std::fmt::Arguments<'_>) {
        if !self.o.verbose {
            return;
        }
        if self.cb.has_debug() {
            self.cb.debug(debug_kind::TEXT, format!("{line}\n").as_bytes());
        } else {
            eprintln!("* {line}");
        }
    }

    fn debug_data(&self, kind: u8, data: &[u8]) {
        if !self.o.verbose {
            return;
        }
        if self.cb.has_debug() {
            self.cb.debug(kind, data);
        } else if kind == debug_kind::HEADER_IN || kind == debug_kind::HEADER_OUT {
            let p = if kind == debug_kind::HEADER_IN { "< " } else { "> " };
            for line in String::from_utf8_lossy(data).split_inclusive('\n') {
                eprint!("{p}{line}");
            }
        }
    }

    fn call_progress(&mut self, force: bool) -> Result<()> {
        if !self.progress {
            return Ok(());
        }
        let now = Instant::now();
        if !force {
            if let Some(t) = self.last_progress {
                if now.duration_since(t) < Duration::from_millis(1) {
                    return Ok(());
                }
            }
        }
        self.last_progress = Some(now);
        match self.cb.progress(self.dl_total, self.dl_now, self.ul_total, self.ul_now) {
            Ok(false) => Ok(()),
            Ok(true) => Err(Error::new(code::ABORTED_BY_CALLBACK, "Callback aborted")),
            Err(e) => Err(e),
        }
    }

    fn check_low_speed(&mut self) -> Result<()> {
        if self.o.low_speed_limit <= 0 || self.o.low_speed_time <= 0 {
            return Ok(());
        }
        let now = Instant::now();
        let (t0, b0) = self.speed_window;
        let total = self.dl_now + self.ul_now;
        let span = now.duration_since(t0);
        if span >= Duration::from_secs(self.o.low_speed_time as u64) {
            let rate = (total - b0) as f64 / span.as_secs_f64();
            if rate < self.o.low_speed_limit as f64 {
                return Err(Error::new(
                    code::OPERATION_TIMEDOUT,
                    format!(
                        "Operation too slow. Less than {} bytes/sec transferred the last {} seconds",
                        self.o.low_speed_limit, self.o.low_speed_time
                    ),
                ));
            }
            self.speed_window = (now, total);
        }
        Ok(())
    }

    /// MAX_*_SPEED: waits until `bytes` since the transfer began fit under `limit` bytes per second.
    async fn throttle(&self, limit: i64, bytes: i64) {
        if limit <= 0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(bytes as f64 / limit as f64);
        if due > Instant::now() {
            super::rt::Sleep::until(&self.sh.reactor, due).await;
        }
    }

    fn ticking(&self) -> bool {
        self.progress || (self.o.low_speed_limit > 0 && self.o.low_speed_time > 0)
    }

    /// Reads more response bytes, calling progress / low-speed checks each second while waiting.
    async fn fill(&mut self, conn: &mut Conn) -> Result<usize> {
        if self.easy.pause.get() & PAUSE_RECV != 0 || self.easy.paused_data.borrow().is_some() {
            self.flush_paused().await?;
        }
        loop {
            let r = if self.ticking() {
                let reactor = self.sh.reactor.clone();
                match with_deadline(&reactor, Some(Instant::now() + TICK), conn.fill()).await {
                    Some(r) => r,
                    None => {
                        self.call_progress(true)?;
                        self.check_low_speed()?;
                        continue;
                    }
                }
            } else {
                conn.fill().await
            };
            let n = r.map_err(|e| recv_error(&e))?;
            self.check_low_speed()?;
            self.throttle(self.o.max_recv_speed, self.dl_now + n as i64).await;
            return Ok(n);
        }
    }

    /// Reads COOKIEFILE files into the jar at transfer start, as libcurl does.
    fn load_cookie_files(&mut self) {
        if self.o.cookie_files.is_empty() {
            return;
        }
        self.easy.enable_cookies();
        let now = super::cookies::unix_now();
        let mut jar = self.easy.cookies.borrow_mut();
        let jar = jar.as_mut().unwrap();
        for f in &self.o.cookie_files {
            if !f.as_os_str().is_empty() {
                jar.load_file_opts(f, now, self.o.cookie_session);
            }
        }
    }

    async fn run_all(&mut self) -> Result<()> {
        self.load_cookie_files();
        // libcurl's first progress call comes before anything happened.
        self.call_progress(true)?;
        let url_s = self.o.url.clone().ok_or_else(|| Error::new(code::URL_MALFORMAT, "No URL set"))?;
        let url = match Url::parse_with(&url_s, self.o.default_protocol.as_deref(), self.o.path_as_is) {
            Ok(u) => u,
            Err(e) => {
                self.info.url_rejected = true;
                return Err(e);
            }
        };
        self.info.effective_url = Some(url.to_effective());
        let proto = match url.scheme.as_str() {
            "http" => PROTO_HTTP,
            "https" => PROTO_HTTPS,
            "file" => PROTO_FILE,
            s => return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{s}\" not supported"))),
        };
        if self.o.protocols & proto == 0 {
            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{}\" is disabled", url.scheme)));
        }
        self.info.scheme = Some(url.scheme.to_ascii_uppercase());
        if url.scheme == "file" {
            return Box::pin(self.run_file(&url)).await;
        }
        self.run_http(url).await
    }

    async fn run_file(&mut self, url: &Url) -> Result<()> {
        let path = file_path_of(&url.path);
        self.info.namelookup_time = elapsed(self.start);
        self.info.connect_time = self.info.namelookup_time;
        self.info.pretransfer_time = self.info.namelookup_time;
        if self.o.upload {
            return self.file_upload(&path).await;
        }
        let meta = std::fs::metadata(&path)
            .map_err(|_| Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display())))?;
        if meta.is_dir() {
            // libcurl lists the directory's entries, one name a line.
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .map_err(|_| {
                    Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            names.sort();
            let mut listing = Vec::new();
            for n in names {
                listing.extend_from_slice(n.as_bytes());
                listing.push(b'\n');
            }
            self.info.starttransfer_time = elapsed(self.start);
            self.dl_now += listing.len() as i64;
            self.deliver_body(&listing).await?;
            return self.flush_paused().await;
        }
        let data = std::fs::read(&path)
            .map_err(|_| Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display())))?;
        let size = data.len() as u64;
        let mtime =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs() as i64);
        self.info.filetime = mtime.unwrap_or(-1);
        // The byte range: RANGE "a-b" / "a-" / "-n", or RESUME_FROM.
        let (mut from, mut to) = (0u64, size);
        if let Some(r) = &self.o.range {
            let (a, b) = r.split_once('-').unwrap_or((r.as_str(), ""));
            match (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok()) {
                (Some(a), Some(b)) => (from, to) = (a, (b + 1).min(size)),
                (Some(a), None) => from = a,
                (None, Some(n)) => from = size.saturating_sub(n),
                (None, None) => {}
            }
        } else if self.o.resume_from > 0 {
            from = self.o.resume_from as u64;
        }
        if from > size {
            return Err(Error::new(code::BAD_DOWNLOAD_RESUME, "failed to resume file:// transfer"));
        }
        let to = to.max(from);
        let len = to - from;
        self.dl_total = len as i64;
        self.info.content_length_download = len as f64;
        let mut hdr = format!("Content-Length: {len}\r\nAccept-ranges: bytes\r\n");
        if let Some(t) = mtime {
            hdr.push_str(&format!("Last-Modified: {}\r\n", http_date(t)));
        }
        hdr.push_str("\r\n");
        for line in hdr.split_inclusive('\n') {
            self.deliver_header(line.as_bytes()).await?;
        }
        if self.o.nobody {
            return Ok(());
        }
        self.info.starttransfer_time = elapsed(self.start);
        for chunk in data[from as usize..to as usize].chunks(self.o.buffer_size.max(1024)) {
            self.dl_now += chunk.len() as i64;
            self.deliver_body(chunk).await?;
            self.flush_paused().await?;
            self.call_progress(false)?;
        }
        Ok(())
    }

    async fn file_upload(&mut self, path: &std::path::Path) -> Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(path)
            .map_err(|_| Error::new(code::WRITE_ERROR, format!("cannot open {} for writing", path.display())))?;
        let mut buf = vec![0u8; self.o.buffer_size.max(16384)];
        let limit = if self.o.in_size >= 0 { Some(self.o.in_size as u64) } else { None };
        let mut sent = 0u64;
        loop {
            let want = match limit {
                Some(l) if sent >= l => break,
                Some(l) => ((l - sent) as usize).min(buf.len()),
                None => buf.len(),
            };
            let n = match self.cb.read(&mut buf[..want]) {
                ReadOutcome::Data(n) => n,
                ReadOutcome::Pause => {
                    return Err(Error::new(code::READ_ERROR, "pausing a file:// upload is not supported"))
                }
                ReadOutcome::Abort(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            f.write_all(&buf[..n])
                .map_err(|_| Error::new(code::WRITE_ERROR, format!("cannot write to {}", path.display())))?;
            sent += n as u64;
            self.ul_now += n as i64;
            self.call_progress(false)?;
        }
        Ok(())
    }

    async fn run_http(&mut self, url: Url) -> Result<()> {
        let method = self.initial_method();
        // UPLOAD, and POST without POSTFIELDS, send what READFUNCTION gives.
        let body = if self.o.upload || (self.o.post && matches!(self.o.body, Body::None)) {
            Body::Read
        } else {
            self.o.body.clone()
        };
        let mut hop = Hop {
            url,
            method,
            body,
            auth_header: None,
            digest_tried: false,
            referer: self.o.referer.clone(),
            send_auth: true,
            retried: false,
        };
        let first_host = (hop.url.host.clone(), hop.url.port_or_default());
        loop {
            hop.send_auth = self.o.unrestricted_auth || (hop.url.host.clone(), hop.url.port_or_default()) == first_host;
            if hop.auth_header.is_none() && hop.send_auth {
                hop.auth_header = self.preemptive_auth(&hop.url);
            }
            let next = self.one_request(&mut hop).await?;
            match next {
                Next::Done => return Ok(()),
                Next::Retry => continue,
                Next::Redirect(loc, status) => {
                    if self.info.redirect_count >= self.o.max_redirs && self.o.max_redirs >= 0 {
                        self.info.redirect_url = hop.url.join(&loc).ok().map(|u| u.to_effective());
                        return Err(Error::new(
                            code::TOO_MANY_REDIRECTS,
                            format!("Maximum ({}) redirects followed", self.o.max_redirs),
                        ));
                    }
                    self.info.redirect_count += 1;
                    let new = hop.url.join(&loc)?;
                    let proto = match new.scheme.as_str() {
                        "http" => PROTO_HTTP,
                        "https" => PROTO_HTTPS,
                        "file" => PROTO_FILE,
                        _ => {
                            return Err(Error::new(
                                code::UNSUPPORTED_PROTOCOL,
                                "The redirect target URL could not be parsed: Unsupported URL scheme",
                            ))
                        }
                    };
                    if self.o.redir_protocols & proto == 0 || self.o.protocols & proto == 0 || proto == PROTO_FILE {
                        return Err(Error::new(
                            code::UNSUPPORTED_PROTOCOL,
                            format!("Protocol \"{}\" is disabled (in redirect)", new.scheme),
                        ));
                    }
                    if self.o.auto_referer {
                        hop.referer = Some(hop.url.to_effective());
                    }
                    // POST becomes GET on 301/302/303 unless POSTREDIR asks otherwise.
                    let keep_post = match status {
                        301 => self.o.post_redir & 1 != 0,
                        302 => self.o.post_redir & 2 != 0,
                        303 => self.o.post_redir & 4 != 0,
                        _ => true,
                    };
                    let to_get = hop.method == "POST" || (status == 303 && hop.method != "HEAD");
                    if to_get && !keep_post && self.o.custom_request.is_none() {
                        hop.method = "GET".into();
                        hop.body = Body::None;
                    }
                    self.info.effective_url = Some(new.to_effective());
                    self.text(format_args!("Issue another request to this URL: '{}'", new.to_effective()));
                    if matches!(hop.body, Body::Read) {
                        self.rewind()?;
                    }
                    self.info.redirect_time = elapsed(self.start);
                    hop.url = new;
                    hop.auth_header = None;
                    hop.digest_tried = false;
                    self.info.effective_url = Some(hop.url.to_effective());
                    self.info.scheme = Some(hop.url.scheme.to_ascii_uppercase());
                }
            }
        }
    }

    fn rewind(&mut self) -> Result<()> {
        if self.cb.has_seek() {
            match self.cb.seek(0, 0) {
                SeekOutcome::Ok => Ok(()),
                SeekOutcome::Fail => Err(Error::new(code::SEND_FAIL_REWIND, "seek callback returned error 1")),
                SeekOutcome::CantSeek => Err(Error::new(code::SEND_FAIL_REWIND, "seek callback returned error 2")),
            }
        } else {
            Err(Error::new(code::SEND_FAIL_REWIND, "necessary data rewind was not possible"))
        }
    }

    fn initial_method(&self) -> String {
        if let Some(m) = &self.o.custom_request {
            return m.clone();
        }
        if self.o.nobody {
            "HEAD".into()
        } else if self.o.upload {
            "PUT".into()
        } else if self.o.post || !matches!(self.o.body, Body::None) {
            "POST".into()
        } else {
            "GET".into()
        }
    }

    fn credentials(&self, url: &Url) -> Option<(String, String)> {
        if let Some(u) = &self.o.username {
            return Some((u.clone(), self.o.password.clone().unwrap_or_default()));
        }
        url.user
            .as_ref()
            .map(|u| (super::url::percent_decode(u), super::url::percent_decode(url.password.as_deref().unwrap_or(""))))
    }

    fn preemptive_auth(&self, url: &Url) -> Option<String> {
        let (u, p) = self.credentials(url)?;
        // Basic alone is sent at once; when other methods are allowed libcurl probes first.
        if self.o.http_auth & !AUTH_BASIC & 0xffff == 0 && self.o.http_auth & AUTH_BASIC != 0 {
            let tok = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            Some(format!("Basic {tok}"))
        } else {
            None
        }
    }

    fn pool_key(&self, url: &Url) -> PoolKey {
        let tls = if url.scheme == "https" {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.o.tls.hash(&mut h);
            Some(h.finish())
        } else {
            None
        };
        PoolKey {
            scheme: url.scheme.clone(),
            host: url.host.clone(),
            port: url.port_or_default(),
            target: self.connect_target(url),
            tls,
            interface: self.o.interface.clone(),
            local_port: self.o.local_port,
        }
    }

    /// CONNECT_TO: "host:port:connect-host:connect-port", empty fields match anything / keep.
    fn connect_target(&self, url: &Url) -> Option<(String, u16)> {
        for e in &self.o.connect_to {
            let parts: Vec<&str> = split_connect_to(e);
            if parts.len() != 4 {
                continue;
            }
            let port = url.port_or_default();
            let host_ok = parts[0].is_empty() || parts[0].eq_ignore_ascii_case(&url.host);
            let port_ok = parts[1].is_empty() || parts[1].parse::<u16>().ok() == Some(port);
            if host_ok && port_ok {
                let h =
                    if parts[2].is_empty() { url.host.clone() } else { parts[2].trim_matches(['[', ']']).to_string() };
                let p = if parts[3].is_empty() { port } else { parts[3].parse().unwrap_or(port) };
                return Some((h, p));
            }
        }
        None
    }

    async fn connect(&mut self, url: &Url, strict: bool) -> Result<Conn> {
        let key = self.pool_key(url);
        let mut slot: Option<Slot> = None;
        loop {
            if !self.o.fresh_connect {
                let c = self.sh.pool.borrow_mut().take(&key, self.o.maxage_conn, self.o.maxlifetime_conn, strict);
                if let Some(c) = c {
                    self.text(format_args!("Reusing existing {}: connection with host {}", url.scheme, url.host));
                    self.info.namelookup_time = elapsed(self.start);
                    self.info.connect_time = self.info.namelookup_time;
                    self.info.appconnect_time = if url.scheme == "https" { self.info.connect_time } else { 0.0 };
                    return Ok(c);
                }
            }
            let limits = self.sh.limits.clone();
            if !limits.limited() {
                break;
            }
            if let Some(s) = limits.try_acquire(&(url.host.clone(), url.port_or_default())) {
                slot = Some(s);
                break;
            }
            // Over the total limit with idle connections around: close one to make room.
            if limits.at_total_limit() && self.sh.pool.borrow_mut().evict_oldest() {
                continue;
            }
            // Queue until a connection closes or goes idle.
            let mut waited = false;
            poll_fn(|cx| {
                if waited {
                    Poll::Ready(())
                } else {
                    waited = true;
                    limits.wait(cx.waker());
                    Poll::Pending
                }
            })
            .await;
        }
        let (host, port) = key.target.clone().unwrap_or_else(|| (url.host.clone(), url.port_or_default()));
        // Without CONNECTTIMEOUT the kernel's own SYN timeout (about two minutes, under libcurl's 300 s
        // default) ends a hopeless connect; libcurl reports no timer for it either.
        let connect_deadline = self.o.connect_timeout.map(|t| Instant::now() + t);
        let reactor = self.sh.reactor.clone();
        self.connecting = true;
        // Boxed: connecting (resolve, TCP, TLS) is a large state machine needed only briefly.
        let fut = Box::pin(self.connect_new(url, key, host.clone(), port));
        // The connect fn records its own timing; only the phase deadline lives here.
        match with_deadline(&reactor, connect_deadline, fut).await {
            Some(r) => {
                self.connecting = false;
                r.map(|mut c| {
                    c.slot = slot;
                    c
                })
            }
            None => {
                let ms = self.start.elapsed().as_millis();
                Err(Error::new(code::OPERATION_TIMEDOUT, format!("Connection timed out after {ms} milliseconds")))
            }
        }
    }

    async fn connect_new(&mut self, url: &Url, key: PoolKey, host: String, port: u16) -> Result<Conn> {
        let mut overrides = Vec::with_capacity(self.o.resolve.len());
        for s in &self.o.resolve {
            match resolve::parse_resolve_entry(s) {
                Some(e) => overrides.push(e),
                None => {
                    return Err(Error::new(
                        code::SETOPT_OPTION_SYNTAX,
                        format!("Could not parse CURLOPT_RESOLVE entry '{s}'"),
                    ))
                }
            }
        }
        let addrs = resolve::resolve(
            &self.sh.reactor,
            &self.sh.dns,
            &overrides,
            &host,
            port,
            self.o.ip_resolve,
            self.o.dns_cache_timeout,
        )
        .await?;
        self.info.namelookup_time = elapsed(self.start);
        let mut last_err = 0;
        let mut sock = None;
        for addr in &addrs {
            self.text(format_args!("  Trying {addr}..."));
            match self.tcp_connect(addr).await {
                Ok(s) => {
                    sock = Some((s, *addr));
                    break;
                }
                Err(ConnErr::Fatal(e)) => return Err(e),
                Err(ConnErr::Os(errno)) => last_err = errno,
            }
        }
        let Some((sock, addr)) = sock else {
            self.info.os_errno = last_err as i64;
            let ms = self.start.elapsed().as_millis();
            let h = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            return Err(Error::new(
                code::COULDNT_CONNECT,
                format!("Failed to connect to {h}:{port} after {ms} ms: Could not connect to server"),
            ));
        };
        self.info.connect_time = elapsed(self.start);
        let local = sock.socket().local_addr().ok().and_then(|a| a.as_socket()).unwrap_or(addr);
        self.text(format_args!(
            "Established connection to {} ({} port {}) from {} port {} ",
            url.host,
            addr.ip(),
            addr.port(),
            local.ip(),
            local.port()
        ));
        let id = self.sh.next_conn_id.get();
        self.sh.next_conn_id.set(id + 1);
        self.info.num_connects += 1;
        let stream = if url.scheme == "https" {
            // OpenSSL's verify result reads "unspecified" (1) until a verification ran.
            self.info.ssl_verifyresult = 1;
            let mut tls_opts = self.o.tls.clone();
            tls_opts.alpn = vec![b"http/1.1".to_vec()];
            let cfg = super::tls_config::client_config(&tls_opts).map_err(|e| Error::new(e.code, e.message))?;
            let name = rustls_pki_types::ServerName::try_from(url.host.clone())
                .map_err(|_| Error::new(code::URL_MALFORMAT, format!("invalid TLS server name: {}", url.host)))?;
            let mut t =
                TlsStream::new(sock, cfg, name).map_err(|e| Error::new(code::SSL_CONNECT_ERROR, e.to_string()))?;
            if let Err(e) = t.handshake().await {
                return Err(self.tls_error(e, &url.host));
            }
            if let Some(pin) = &self.o.tls.pinned_pubkey {
                let ee = t.tls.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
                super::tls_config::check_pinned(pin, &ee).map_err(|e| Error::new(e.code, e.message))?;
            }
            self.info.appconnect_time = elapsed(self.start);
            self.info.ssl_verifyresult = 0;
            let certinfo = if self.o.certinfo {
                t.tls.peer_certificates().map(super::tls_config::cert_info).unwrap_or_default()
            } else {
                Vec::new()
            };
            let mut c = Conn::new(Stream::Tls(Box::new(t)), id, key, addr, local);
            c.certinfo = certinfo;
            return Ok(c);
        } else {
            Stream::Plain(sock)
        };
        Ok(Conn::new(stream, id, key, addr, local))
    }

    fn tls_error(&mut self, e: std::io::Error, host: &str) -> Error {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            let te = super::tls_config::map_handshake_error(inner, host);
            self.info.ssl_verifyresult = match super::tls_config::ssl_verify_result(&te) {
                0 => 1,
                n => n,
            };
            return Error::new(te.code, te.message);
        }
        Error::new(code::SSL_CONNECT_ERROR, format!("TLS connect error: {e}"))
    }

    async fn tcp_connect(&mut self, addr: &SocketAddr) -> std::result::Result<Sock, ConnErr> {
        let closer: Option<net::Closer> = if self.cb.has_close_socket() {
            let cb = self.cb.clone();
            Some(Rc::new(move |fd| cb.close_socket(fd)))
        } else {
            None
        };
        let socket = match self.cb.open_socket(addr) {
            None => net::new_socket(addr).map_err(|e| ConnErr::Os(e.raw_os_error().unwrap_or(0)))?,
            Some(Err(e)) => return Err(ConnErr::Fatal(e)),
            Some(Ok(fd)) if fd < 0 => {
                return Err(ConnErr::Fatal(Error::new(
                    code::COULDNT_CONNECT,
                    "Could not open socket: opensocket callback failed",
                )))
            }
            Some(Ok(fd)) => net::adopt_fd(fd).map_err(|e| ConnErr::Os(e.raw_os_error().unwrap_or(0)))?,
        };
        if self.o.tcp_nodelay {
            let _ = socket.set_tcp_nodelay(true);
        }
        if self.o.tcp_keepalive {
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(self.o.tcp_keepidle.max(1) as u64))
                .with_interval(Duration::from_secs(self.o.tcp_keepintvl.max(1) as u64));
            let _ = socket.set_tcp_keepalive(&ka);
        }
        if let Some(iface) = &self.o.interface {
            let ip = iface.strip_prefix("host!").or_else(|| iface.strip_prefix("if!")).unwrap_or(iface);
            match ip.parse::<std::net::IpAddr>() {
                Ok(ip) => socket.bind(&SocketAddr::new(ip, self.o.local_port).into()).map_err(|_| {
                    ConnErr::Fatal(Error::new(code::INTERFACE_FAILED, format!("Couldn't bind to '{iface}'")))
                })?,
                Err(_) => {
                    socket.bind_device(Some(ip.as_bytes())).map_err(|_| {
                        ConnErr::Fatal(Error::new(
                            code::INTERFACE_FAILED,
                            format!("Couldn't bind to interface '{iface}'"),
                        ))
                    })?;
                }
            }
        } else if self.o.local_port != 0 {
            let any: std::net::IpAddr = if addr.is_ipv4() { [0u8, 0, 0, 0].into() } else { [0u16; 8].into() };
            let mut ok = false;
            for p in self.o.local_port..self.o.local_port.saturating_add(self.o.local_port_range.max(1)) {
                if socket.bind(&SocketAddr::new(any, p).into()).is_ok() {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(ConnErr::Fatal(Error::new(
                    code::INTERFACE_FAILED,
                    "bind failed with errno 98: Address already in use",
                )));
            }
        }
        let sock = Sock::new(socket, &self.sh.reactor, closer);
        let already = match self.cb.sockopt(sock.fd()) {
            Ok(0) => false,
            Ok(2) => true,
            Ok(_) => {
                let ms = self.start.elapsed().as_millis();
                let h = if addr.is_ipv6() { format!("[{}]", addr.ip()) } else { addr.ip().to_string() };
                return Err(ConnErr::Fatal(Error::new(
                    code::ABORTED_BY_CALLBACK,
                    format!(
                        "Failed to connect to {h}:{} after {ms} ms: Operation was aborted by an application callback",
                        addr.port()
                    ),
                )));
            }
            Err(e) => return Err(ConnErr::Fatal(e)),
        };
        if already {
            return Ok(sock);
        }
        match sock.socket().connect(&(*addr).into()) {
            Ok(()) => return Ok(sock),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(ConnErr::Os(e.raw_os_error().unwrap_or(0))),
        }
        sock.writable().await;
        match sock.socket().take_error() {
            Ok(None) => Ok(sock),
            Ok(Some(e)) | Err(e) => Err(ConnErr::Os(e.raw_os_error().unwrap_or(0))),
        }
    }

    fn build_request(&self, hop: &Hop, body_len: Option<u64>, chunked: bool, expect: bool) -> Vec<u8> {
        let url = &hop.url;
        let mut internal: Vec<(&'static str, String)> = Vec::with_capacity(10);
        internal.push(("Host", url.host_header()));
        if let Some(a) = &hop.auth_header {
            internal.push(("Authorization", a.clone()));
        }
        if let Some(r) = &self.o.range {
            if hop.method == "GET" || hop.method == "HEAD" {
                internal.push(("Range", format!("bytes={r}")));
            } else if hop.method == "POST" || hop.method == "PUT" {
                let total = body_len.map(|b| b.to_string()).unwrap_or("*".into());
                internal.push(("Content-Range", format!("bytes {r}/{total}")));
            }
        } else if self.o.resume_from > 0 && (hop.method == "GET" || hop.method == "HEAD") {
            internal.push(("Range", format!("bytes={}-", self.o.resume_from)));
        }
        if let Some(ua) = self.o.user_agent.as_ref().filter(|u| !u.is_empty()) {
            internal.push(("User-Agent", ua.clone()));
        }
        internal.push(("Accept", "*/*".into()));
        if let Some(ae) = &self.o.accept_encoding {
            let v = if ae.is_empty() { "deflate, gzip, br".to_string() } else { ae.clone() };
            internal.push(("Accept-Encoding", v));
        }
        if self.o.transfer_encoding {
            internal.push(("TE", "gzip".into()));
            internal.push(("Connection", "TE".into()));
        }
        if let Some(r) = &hop.referer {
            internal.push(("Referer", r.clone()));
        }
        // COOKIE first, then what the cookie engine has for this host and path.
        let jar_cookies = self.easy.cookies.borrow().as_ref().and_then(|j| {
            let secure = super::cookies::secure_context(url.scheme == "https", &url.host);
            j.cookie_header(&url.host, &url.path, secure, super::cookies::unix_now())
        });
        match (&self.o.cookie, jar_cookies) {
            (Some(c), Some(j)) => internal.push(("Cookie", format!("{c}; {j}"))),
            (Some(c), None) => internal.push(("Cookie", c.clone())),
            (None, Some(j)) => internal.push(("Cookie", j)),
            (None, None) => {}
        }
        let mut tail: Vec<(&'static str, String)> = Vec::new();
        if chunked {
            tail.push(("Transfer-Encoding", "chunked".into()));
        } else if let Some(n) = body_len {
            if hop.method != "GET" && hop.method != "HEAD" || n > 0 {
                tail.push(("Content-Length", n.to_string()));
            }
        }
        let posting = matches!(hop.body, Body::Bytes(_)) || (self.o.post && matches!(hop.body, Body::Read));
        if posting && !self.o.upload && hop.method != "GET" && hop.method != "HEAD" {
            tail.push(("Content-Type", "application/x-www-form-urlencoded".into()));
        }
        if expect {
            tail.push(("Expect", "100-continue".into()));
        }
        RequestHead {
            method: &hop.method,
            target: &url.path,
            http10: self.o.http_version == HttpVersion::V1_0,
            internal,
            tail,
        }
        .write(&self.o.headers)
    }

    async fn one_request(&mut self, hop: &mut Hop) -> Result<Next> {
        // Counters describe the latest request, as libcurl's progress meter does.
        self.dl_now = 0;
        self.dl_total = 0;
        self.ul_now = 0;
        self.ul_total = 0;
        self.current_url = Some(hop.url.clone());
        self.head_bytes = 0;
        let mut conn = self.connect(&hop.url, matches!(hop.body, Body::Read)).await?;
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = conn.primary.port() as i64;
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = conn.local.port() as i64;
        self.info.conn_id = conn.id;
        if !conn.certinfo.is_empty() {
            self.info.certinfo = conn.certinfo.clone();
        }
        let rc = self.cb.prereq(&conn.primary_ip, &conn.local_ip, conn.primary.port(), conn.local.port())?;
        if rc != 0 {
            return Err(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by pre-request callback"));
        }
        // Body size and framing.
        let (body_len, chunked) = match &hop.body {
            Body::None => (if hop.method == "POST" || hop.method == "PUT" { Some(0) } else { None }, false),
            Body::Bytes(b) => {
                let n = if self.o.post_size >= 0 { (self.o.post_size as usize).min(b.len()) } else { b.len() };
                (Some(n as u64), false)
            }
            Body::Read => {
                let size = if self.o.upload { self.o.in_size } else { self.o.post_size };
                if size >= 0 {
                    (Some(size as u64), false)
                } else if self.o.http_version == HttpVersion::V1_0 {
                    return Err(Error::new(code::UPLOAD_FAILED, "HTTP/1.0 uploads need a known size"));
                } else {
                    (None, true)
                }
            }
        };
        let custom_expect =
            self.o.headers.iter().any(|h| {
                h.to_ascii_lowercase().starts_with("expect:") || h.to_ascii_lowercase().starts_with("expect;")
            });
        let expect = !custom_expect
            && self.o.http_version != HttpVersion::V1_0
            && !matches!(hop.body, Body::None)
            && (chunked || body_len.unwrap_or(0) > 1024 * 1024);
        let req = self.build_request(hop, body_len, chunked, expect);
        self.info.request_size += req.len() as u64;
        self.info.effective_method = Some(hop.method.clone());
        self.info.referer = hop.referer.clone();
        self.ul_total = body_len.map(|n| n as i64).unwrap_or(0);
        self.info.content_length_upload = match body_len {
            Some(n) => n as f64,
            None if chunked => -1.0,
            None => 0.0,
        };
        if conn.uses == 0 {
            self.text(format_args!("using HTTP/1.x"));
        }
        self.debug_data(debug_kind::HEADER_OUT, &req);
        self.info.pretransfer_time = elapsed(self.start);
        let bytes_body: Option<Rc<[u8]>> = match &hop.body {
            Body::Bytes(b) => Some(b.clone()),
            _ => None,
        };
        let bytes_len = body_len.unwrap_or(0) as usize;
        let inline = !expect && bytes_body.is_some() && bytes_len <= 64 * 1024;
        let mut first = req;
        if inline {
            first.extend_from_slice(&bytes_body.as_ref().unwrap()[..bytes_len]);
        }
        // A reused connection the server closed while idle fails before any response byte: libcurl
        // retries such a request once on a fresh connection.
        let retry_ok = conn.uses > 0 && !hop.retried && !matches!(hop.body, Body::Read);
        conn.uses += 1;
        if let Err(e) = conn.stream.write_all(&first).await {
            if retry_ok {
                hop.retried = true;
                self.text(format_args!("Connection died, retrying a fresh connect"));
                return Ok(Next::Retry);
            }
            return Err(Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")));
        }
        if inline && bytes_len > 0 {
            let b = &bytes_body.as_ref().unwrap()[..bytes_len];
            self.ul_now += b.len() as i64;
            self.info.request_size += b.len() as u64;
            self.debug_data(debug_kind::DATA_OUT, b);
        }
        // Response heads: 1xx then the final one. The body goes right away, or after the server's
        // 100 (or EXPECT_100_TIMEOUT) when we sent Expect: 100-continue.
        let mut body_sent = matches!(hop.body, Body::None) || inline;
        let mut early_final: Option<Head> = None;
        if !body_sent && expect {
            let reactor = self.sh.reactor.clone();
            let wait = Instant::now() + self.o.expect_100_timeout;
            match with_deadline(&reactor, Some(wait), self.peek_head(&mut conn)).await {
                Some(Err(e)) => return Err(e),
                Some(Ok(())) => {
                    let head = self.read_head(&mut conn).await?;
                    if head.status >= 200 {
                        early_final = Some(head);
                        body_sent = true;
                    }
                }
                None => {}
            }
        }
        let mut abandon = false;
        if early_final.is_some() && !matches!(hop.body, Body::None) {
            // The server answered without the body it was promised: this connection is out of step.
            abandon = true;
        }
        if !body_sent {
            let cut_short = match &bytes_body {
                Some(b) => {
                    let b = &b[..bytes_len];
                    let early = self.upload_write(&mut conn, b).await?;
                    if !early {
                        self.ul_now += b.len() as i64;
                        self.info.request_size += b.len() as u64;
                        self.call_progress(false)?;
                    }
                    early
                }
                None => self.send_read_body(&mut conn, body_len, chunked).await?,
            };
            if cut_short {
                // The server answered before taking the whole body (libcurl stops sending then).
                abandon = true;
            }
        }
        if matches!(hop.body, Body::None) {
            self.text(format_args!("Request completely sent off"));
        } else {
            self.text(format_args!("upload completely sent off: {} bytes", self.ul_now));
        }
        let hs0 = self.info.header_size;
        let head = match early_final {
            Some(h) => h,
            None => loop {
                let h = match self.read_head(&mut conn).await {
                    Err(e)
                        if retry_ok
                            && self.info.header_size == hs0
                            && (e.code == code::GOT_NOTHING || e.code == code::RECV_ERROR) =>
                    {
                        hop.retried = true;
                        self.text(format_args!("Connection died, retrying a fresh connect"));
                        return Ok(Next::Retry);
                    }
                    r => r?,
                };
                if h.status >= 200 || h.status == 101 || h.version == 9 {
                    break h;
                }
            },
        };
        self.info.starttransfer_time = elapsed(self.start);
        self.info.response_code = head.status as i64;
        self.info.http_version = if head.version == 10 { 1 } else { 2 };
        self.info.content_type = head.get("content-type").map(|s| s.to_string());
        let length = head.content_length.filter(|_| !self.o.ignore_content_length);
        let head_request = hop.method == "HEAD" || self.o.nobody;
        let chunked = head.has_token("transfer-encoding", "chunked");
        let framing = h1body::framing(head.status, head.version, head_request, chunked, length);
        let server_keeps = match head.version {
            10 => head.has_token("connection", "keep-alive"),
            _ => !head.has_token("connection", "close"),
        };
        let mut keep_alive = server_keeps && !self.o.forbid_reuse && !abandon;
        if matches!(framing, Framing::Close) {
            keep_alive = false;
        }
        self.info.content_length_download = match (&framing, head.content_length) {
            (Framing::Chunked, _) | (_, None) => -1.0,
            (_, Some(n)) => n as f64,
        };
        if let Framing::Length(n) = framing {
            self.dl_total = n as i64;
        }
        if head.status == 401 {
            for (n, v) in &head.headers {
                if n.eq_ignore_ascii_case("www-authenticate") {
                    let scheme = v.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
                    self.info.httpauth_avail |= match scheme.as_str() {
                        "basic" => 1,
                        "digest" => 2,
                        "negotiate" => 4,
                        "ntlm" => 8,
                        "bearer" => 64,
                        _ => 0,
                    };
                }
            }
        }
        // Auth challenge: retry once with credentials the server asks for.
        if head.status == 401 && hop.send_auth {
            if let Some(next_auth) = self.answer_challenge(hop, &head) {
                hop.auth_header = Some(next_auth);
                self.end_head(&head).await?;
                if self.drain(&mut conn, &framing, keep_alive).await? {
                    self.park(conn);
                }
                return Ok(Next::Retry);
            }
        }
        let location = head.get("location").map(|s| s.to_string()).filter(|l| !l.trim().is_empty());
        if let Some(loc) = location {
            if (300..400).contains(&head.status) && self.o.follow {
                self.text(format_args!("Ignoring the response-body"));
                self.text(format_args!("setting size while ignoring"));
                self.end_head(&head).await?;
                if self.drain(&mut conn, &framing, keep_alive).await? {
                    self.park(conn);
                }
                self.dl_total = 0;
                return Ok(Next::Redirect(loc, head.status));
            }
            self.info.redirect_url = Some(hop.url.join(&loc).map(|u| u.to_effective()).unwrap_or(loc));
        }
        if self.o.fail_on_error && head.status >= 400 {
            let msg = format!("The requested URL returned error: {}", head.status);
            self.text(format_args!("{msg}"));
            self.end_head(&head).await?;
            self.text(format_args!("closing connection #{}", conn.id));
            return Err(Error::new(code::HTTP_RETURNED_ERROR, msg));
        }
        self.end_head(&head).await?;
        if self.o.max_filesize > 0 {
            if let Framing::Length(n) = framing {
                if n as i64 > self.o.max_filesize {
                    return Err(Error::new(code::FILESIZE_EXCEEDED, "Maximum file size exceeded"));
                }
            }
        }
        if self.o.resume_from > 0 && head.status == 200 && hop.method == "GET" && self.o.range.is_none() {
            return Err(Error::new(
                code::RANGE_ERROR,
                "HTTP server does not seem to support byte ranges. Cannot resume.",
            ));
        }
        // Transfer codings other than chunked (TRANSFER_ENCODING asked for them) are undone first,
        // then the content coding when ACCEPT_ENCODING is on.
        let te_layers: Vec<String> = head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty() && t != "chunked" && t != "identity")
            .collect();
        let mut codings = Vec::new();
        if !te_layers.is_empty() {
            if !self.o.transfer_encoding {
                return Err(Error::new(
                    code::BAD_CONTENT_ENCODING,
                    format!("Unsolicited Transfer-Encoding ({}) found", te_layers.join(", ")),
                ));
            }
            codings.push(te_layers.join(", "));
        }
        if self.o.accept_encoding.is_some() && self.o.content_decoding {
            if let Some(enc) = head.get("content-encoding") {
                codings.insert(0, enc.to_string());
            }
        }
        let decoder = if codings.is_empty() { None } else { Decoder::for_encoding(&codings.join(", "))? };
        let ok = self.read_body(&mut conn, framing, decoder).await?;
        if ok && keep_alive {
            self.park(conn);
        }
        Ok(Next::Done)
    }

    fn answer_challenge(&self, hop: &mut Hop, head: &Head) -> Option<String> {
        let (u, p) = self.credentials(&hop.url)?;
        let challenges: Vec<&str> = head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v.as_str())
            .collect();
        if self.o.http_auth & AUTH_DIGEST != 0 && !hop.digest_tried {
            if let Some(ch) = challenges.iter().find(|c| c.len() >= 6 && c[..6].eq_ignore_ascii_case("digest")) {
                hop.digest_tried = true;
                return super::auth::digest_response(ch, &u, &p, &hop.method, &hop.url.path);
            }
        }
        if self.o.http_auth & AUTH_BASIC != 0
            && hop.auth_header.is_none()
            && challenges.iter().any(|c| c.len() >= 5 && c[..5].eq_ignore_ascii_case("basic"))
        {
            let tok = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            return Some(format!("Basic {tok}"));
        }
        None
    }

    async fn peek_head(&mut self, conn: &mut Conn) -> Result<()> {
        if !conn.buffered().is_empty() {
            return Ok(());
        }
        let n = self.fill(conn).await?;
        if n == 0 {
            return Err(Error::new(code::GOT_NOTHING, "Empty reply from server"));
        }
        Ok(())
    }

    /// Sends upload bytes while also watching the socket for an early reply (libcurl's POLL_INOUT
    /// during uploads). Ok(true) when the server started answering before all of it was taken.
    async fn upload_write(&mut self, conn: &mut Conn, data: &[u8]) -> Result<bool> {
        let fd = conn.stream.sock().fd();
        let reactor = self.sh.reactor.clone();
        let mut rest = data;
        let early = poll_fn(|cx| loop {
            if rest.is_empty() {
                return Poll::Ready(Ok(false));
            }
            match conn.stream.poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::Error::from(std::io::ErrorKind::WriteZero))),
                Poll::Ready(Ok(n)) => rest = &rest[n..],
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                    // SAFETY: one pollfd on our own socket, zero timeout.
                    #[allow(unsafe_code)]
                    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
                    if n > 0 {
                        return Poll::Ready(Ok(true));
                    }
                    reactor.want_read(fd, cx.waker());
                    return Poll::Pending;
                }
            }
        })
        .await
        .map_err(send_error)?;
        if !early {
            // TLS: push out what the record layer still holds.
            conn.stream.write_all(&[]).await.map_err(send_error)?;
        } else {
            reactor.clear_interest(fd);
        }
        Ok(early)
    }

    /// Sends the READFUNCTION body. Ok(true) when an early reply cut the upload short.
    async fn send_read_body(&mut self, conn: &mut Conn, len: Option<u64>, chunked: bool) -> Result<bool> {
        let mut buf = vec![0u8; 65536];
        let mut sent: u64 = 0;
        loop {
            if let Some(n) = len {
                if sent >= n {
                    break;
                }
            }
            // libcurl leaves room for the chunk framing in its 64 KiB upload buffer.
            let room = if chunked { buf.len() - 12 } else { buf.len() };
            let want = match len {
                Some(n) => ((n - sent) as usize).min(room),
                None => room,
            };
            let got = loop {
                if self.easy.pause.get() & PAUSE_SEND != 0 {
                    self.wait_unpaused(PAUSE_SEND).await?;
                    continue;
                }
                match self.cb.read(&mut buf[..want]) {
                    ReadOutcome::Data(n) => break n,
                    ReadOutcome::Pause => {
                        self.easy.pause.set(self.easy.pause.get() | PAUSE_SEND);
                    }
                    ReadOutcome::Abort(e) => return Err(e),
                }
            };
            if got > want {
                return Err(Error::new(code::READ_ERROR, "read function returned funny value"));
            }
            if got == 0 {
                if let Some(n) = len {
                    if sent < n {
                        return Err(Error::new(
                            code::READ_ERROR,
                            format!("client read function EOF fail, only {sent}/{n} of needed bytes read"),
                        ));
                    }
                }
                if chunked {
                    conn.stream.write_all(h1req::LAST_CHUNK).await.map_err(send_error)?;
                    self.ul_now += h1req::LAST_CHUNK.len() as i64;
                }
                break;
            }
            let data = &buf[..got];
            self.debug_data(debug_kind::DATA_OUT, data);
            if chunked {
                let framed = h1req::chunk(data);
                if self.upload_write(conn, &framed).await? {
                    return Ok(true);
                }
                // libcurl counts the chunk framing as uploaded bytes.
                self.ul_now += (framed.len() - got) as i64;
            } else {
                if self.upload_write(conn, data).await? {
                    return Ok(true);
                }
            }
            sent += got as u64;
            self.ul_now += got as i64;
            self.throttle(self.o.max_send_speed, self.ul_now).await;
            self.info.request_size += got as u64;
            self.call_progress(false)?;
        }
        Ok(false)
    }

    async fn wait_unpaused(&mut self, bit: u32) -> Result<()> {
        loop {
            if self.easy.pause.get() & bit == 0 {
                return Ok(());
            }
            let easy = self.easy.clone();
            let wait = poll_fn(|cx| {
                if easy.pause.get() & bit == 0 {
                    Poll::Ready(())
                } else {
                    *easy.pause_waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            });
            if self.progress {
                // While paused libcurl keeps calling the progress callback (the usual place to unpause).
                let reactor = self.sh.reactor.clone();
                if with_deadline(&reactor, Some(Instant::now() + PAUSED_TICK), wait).await.is_none() {
                    self.call_progress(true)?;
                }
            } else {
                wait.await;
            }
        }
    }

    /// Reads one response head, handing each line to the header callback as it arrives.
    async fn read_head(&mut self, conn: &mut Conn) -> Result<Head> {
        let mut p = HeadParser::new(!self.o.ignore_content_length);
        let mut head = Head::default();
        loop {
            let (ev, used) = match p.next(conn.buffered(), self.o.http09_allowed)? {
                Some(x) => x,
                None => {
                    if self.fill(conn).await? == 0 {
                        return Err(p.eof_error(conn.buffered()));
                    }
                    continue;
                }
            };
            conn.consume(used);
            let line = match ev {
                HeadEvent::Http09 => return Ok(Head::http09()),
                HeadEvent::Status(st) => {
                    if st.code >= 200 || self.info.response_code == 0 {
                        self.info.response_code = st.code as i64;
                    }
                    head.status = st.code;
                    head.version = st.version;
                    st.line
                }
                HeadEvent::Header(line) => {
                    head.push_line(&line);
                    line
                }
                HeadEvent::End(blank) => {
                    // The blank line ends the head; the caller delivers it once it knows what follows.
                    self.count_head_bytes(blank.len())?;
                    head.blank = blank;
                    break;
                }
            };
            self.debug_data(debug_kind::HEADER_IN, &line);
            self.deliver_header(&line).await?;
            self.count_head_bytes(line.len())?;
        }
        head.content_length = p.content_length();
        self.store_cookies(&head);
        if head.status < 200 && head.status != 101 {
            self.end_head(&head).await?;
        }
        Ok(head)
    }

    /// libcurl's limit on the header bytes of one request's responses (checked after delivery).
    fn count_head_bytes(&mut self, n: usize) -> Result<()> {
        self.head_bytes += n;
        if self.head_bytes > h1head::MAX_HEAD {
            return Err(Error::new(
                code::RECV_ERROR,
                format!("Too large response headers: {} > {}", self.head_bytes, h1head::MAX_HEAD),
            ));
        }
        Ok(())
    }

    /// Set-Cookie headers go into the cookie engine when it is on.
    fn store_cookies(&mut self, head: &Head) {
        let Some(url) = self.current_url.clone() else { return };
        let mut jar = self.easy.cookies.borrow_mut();
        let Some(jar) = jar.as_mut() else { return };
        let values = head.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str());
        let secure = super::cookies::secure_context(url.scheme == "https", &url.host);
        jar.set_cookie_response(values, &url.host, &url.path, secure, super::cookies::unix_now());
    }

    /// Delivers the blank line that ends a response head.
    async fn end_head(&mut self, head: &Head) -> Result<()> {
        if head.blank.is_empty() {
            return Ok(());
        }
        self.debug_data(debug_kind::HEADER_IN, &head.blank);
        self.deliver_header(&head.blank.clone()).await
    }

    async fn deliver_header(&mut self, line: &[u8]) -> Result<()> {
        self.info.header_size += line.len() as u64;
        match self.cb.header(line) {
            Flow::Continue => {}
            Flow::Pause => {
                self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                self.wait_unpaused(PAUSE_RECV).await?;
                // libcurl does not redeliver header lines after a pause.
            }
            Flow::Abort(e) => return Err(e),
        }
        if self.o.want_header_in_body {
            self.deliver_body(line).await?;
        }
        Ok(())
    }

    /// Hands body bytes to the write callback. When it pauses, the bytes (and any more decoded from
    /// what was already received) are held, as libcurl holds them; they go out when receiving is
    /// unpaused — from inside pause() itself, or by `flush_paused` — and no new socket data is read
    /// meanwhile.
    async fn deliver_body(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.info.size_delivered += data.len() as u64;
        if self.easy.pause.get() & PAUSE_RECV != 0 {
            let mut held = self.easy.paused_data.borrow_mut();
            match held.as_mut() {
                Some(h) => h.extend_from_slice(data),
                None => *held = Some(data.to_vec()),
            }
            return Ok(());
        }
        match self.cb.write(data) {
            Flow::Continue => Ok(()),
            Flow::Abort(e) => Err(e),
            Flow::Pause => {
                *self.easy.paused_data.borrow_mut() = Some(data.to_vec());
                self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                Ok(())
            }
        }
    }

    /// Waits until receiving is unpaused and held data has been delivered.
    async fn flush_paused(&mut self) -> Result<()> {
        loop {
            if let Some(e) = self.easy.pause_error.borrow_mut().take() {
                return Err(e);
            }
            let paused = self.easy.pause.get() & PAUSE_RECV != 0;
            let held = self.easy.paused_data.borrow().is_some();
            if !paused && !held {
                return Ok(());
            }
            if paused {
                self.wait_unpaused(PAUSE_RECV).await?;
                continue;
            }
            let data = self.easy.paused_data.borrow_mut().take().unwrap();
            match self.cb.write(&data) {
                Flow::Continue => {}
                Flow::Abort(e) => return Err(e),
                Flow::Pause => {
                    *self.easy.paused_data.borrow_mut() = Some(data);
                    self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                }
            }
        }
    }

    /// Delivers body bytes (through the decoder when there is one).
    async fn body_bytes(&mut self, data: &[u8], dec: &mut Option<Decoder>) -> Result<()> {
        if self.discarding {
            self.dl_now += data.len() as i64;
            return Ok(());
        }
        self.debug_data(debug_kind::DATA_IN, data);
        let decoded = match dec {
            Some(d) => Some(d.feed(data)?),
            None => None,
        };
        self.dl_now += data.len() as i64;
        if self.o.max_filesize > 0 && self.dl_now > self.o.max_filesize {
            return Err(Error::new(code::FILESIZE_EXCEEDED, "Exceeded the maximum allowed file size"));
        }
        match decoded {
            Some(out) => self.deliver_body(&out).await?,
            None => self.deliver_body(data).await?,
        }
        self.call_progress(false)?;
        Ok(())
    }

    /// Reads and delivers the body. Ok(true) when the connection ended cleanly at a message boundary.
    async fn read_body(&mut self, conn: &mut Conn, framing: Framing, mut dec: Option<Decoder>) -> Result<bool> {
        let max = self.o.buffer_size.max(1024);
        let mut body = BodyDecoder::new(framing);
        let clean = loop {
            let (used, ev) = body.decode(conn.buffered(), max)?;
            match ev {
                Some(BodyEvent::Data(r)) => {
                    self.body_bytes(&conn.buffered()[r], &mut dec).await?;
                    conn.consume(used);
                }
                Some(BodyEvent::Trailer(t)) => {
                    conn.consume(used);
                    self.deliver_header(&t).await?;
                }
                Some(BodyEvent::End) => {
                    conn.consume(used);
                    break true;
                }
                None => {
                    conn.consume(used);
                    if self.fill(conn).await? == 0 {
                        if !body.at_eof()? {
                            break false;
                        }
                        break true;
                    }
                }
            }
        };
        if let Some(d) = dec.as_mut() {
            let tail = d.finish()?;
            self.deliver_body(&tail).await?;
        }
        self.flush_paused().await?;
        Ok(clean)
    }

    /// Skips a body we don't deliver (redirect or auth retry). Ok(true) when the connection is
    /// left at a message boundary and may be reused; a broken body only costs the connection.
    async fn drain(&mut self, conn: &mut Conn, framing: &Framing, keep: bool) -> Result<bool> {
        let framing = match framing {
            Framing::None => return Ok(keep),
            Framing::Close => return Ok(false),
            Framing::Length(n) => Framing::Length(*n),
            Framing::Chunked => Framing::Chunked,
        };
        self.discarding = true;
        let r = self.read_body(conn, framing, None).await;
        self.discarding = false;
        Ok(matches!(r, Ok(true)) && keep)
    }

    fn park(&mut self, conn: Conn) {
        if conn.buffered().is_empty() {
            self.text(format_args!("Connection #{} to host {}:{} left intact", conn.id, conn.key.host, conn.key.port));
            self.info.last_socket = conn.stream.sock().fd() as i64;
            self.sh.reactor.clear_interest(conn.stream.sock().fd());
            self.sh.pool.borrow_mut().put(conn);
            self.sh.limits.notify();
        }
    }
}

enum Next {
    Done,
    Retry,
    Redirect(String, u16),
}

enum ConnErr {
    Os(i32),
    Fatal(Error),
}

fn send_error(e: std::io::Error) -> Error {
    Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"))
}

fn recv_error(e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        return Error::new(code::RECV_ERROR, format!("TLS receive error: {e}"));
    }
    Error::new(code::RECV_ERROR, format!("Recv failure: {}", os_text(e)))
}

fn os_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNRESET) => "Connection reset by peer".into(),
        _ => e.to_string(),
    }
}

/// An IMF-fixdate ("Wed, 25 Nov 2026 16:41:28 GMT") for a Unix time.
fn http_date(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let wd = (days + 4).rem_euclid(7) as usize;
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WD[wd],
        d,
        MO[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn split_connect_to(s: &str) -> Vec<&str> {
    // host:port:connect-host:connect-port, where hosts may be [IPv6].
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() || out.len() < 4 {
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(i) => {
                    out.push(&rest[..=i]);
                    rest = rest[i + 1..].strip_prefix(':').unwrap_or("");
                }
                None => break,
            }
        } else {
            match rest.find(':') {
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(rest);
                    rest = "";
                }
            }
        }
        if out.len() >= 4 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_624_888), "Wed, 25 Nov 2026 16:41:28 GMT");
    }
    #[test]
    fn connect_to_entries_split() {
        assert_eq!(split_connect_to("a:80:b:81"), vec!["a", "80", "b", "81"]);
        assert_eq!(split_connect_to("::[::1]:81"), vec!["", "", "[::1]", "81"]);
    }
}
#[cfg(test)]
mod size_probe {
    /// Every transfer in flight holds its task: keep the state machine small (the connect phase is
    /// boxed for that reason).
    #[test]
    fn transfer_future_stays_small() {
        let sh = super::Shared::new();
        let easy = super::EasyShared::new();
        let f = super::run(sh, easy);
        assert!(std::mem::size_of_val(&f) < 8192, "{} bytes", std::mem::size_of_val(&f));
    }
}
