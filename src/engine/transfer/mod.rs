//! One transfer: what libcurl's multi state machine does for one easy handle, in files by concern.
//!
//! ```text
//!  run ─► parse URL ─┬─ file:// ─► file.rs ──────────────────────────────────────────────► done
//!                    │
//!                    ▼            policy.rs decides what happens next
//!   ┌──► connect.rs: pool hit, or resolve → TCP → TLS (a connection stack)
//!   │        │
//!   │        ▼   exchange.rs: one request/response over HTTP/1 (http1 codec)
//!   │    send head (+ body, maybe after 100-continue) ─► read heads (1xx …, final)
//!   │        │                                               │
//!   │        │   auth challenge / redirect / dead reused connection?
//!   └────────┴───────── yes (Next::Retry, Next::Redirect) ◄──┤
//!                                                            ▼ no
//!                                           body ─► sink.rs (write/header callbacks, pause,
//!                                                   progress, speed limits) ─► park conn ─► done
//! ```
//!
//! - `policy`: redirects, auth, cookies, the request headers, connection reuse rules.
//! - `connect`: the connection chain (pool checkout, name resolution, TCP, TLS) and connect limits.
//! - `exchange`: one HTTP/1 request and its response on a connection; the bytes go through
//!   `engine::http1`, which knows nothing of sockets.
//! - `sink`: delivery to the application: HEADERFUNCTION/WRITEFUNCTION, pause and unpause, the
//!   progress callback, LOW_SPEED and MAX_*_SPEED, VERBOSE/DEBUGFUNCTION text.
//! - `file`: file:// reads and uploads.
//!
//! Deadlines are reactor timers: TIMEOUT wraps the whole transfer, CONNECTTIMEOUT the connect phase,
//! and a one-second tick drives the progress callback and LOW_SPEED checks while waiting.

mod connect;
mod exchange;
mod exchange_h2;
mod eyeballs;
mod file;
mod ftp;
mod h2c;
mod mail;
mod mqtt;
mod oneshot;
mod policy;
mod rtsp;
mod sink;
mod ssh;
mod telnet;
mod tftp;
mod tunnel;
mod upgrade;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::easy::*;
use super::error::{code, Error, Result};
use crate::engine::pool::{Pool, SpareBuffers};
use crate::engine::resolve::DnsCache;
use crate::engine::rt::{deadline_first, Reactor};
use crate::engine::url::Url;

/// What transfers of one multi share: reactor, connection pool, DNS cache, id counters.
pub struct Shared {
    pub reactor: Rc<Reactor>,
    pub pool: RefCell<Pool>,
    pub limits: Rc<crate::engine::pool::Limits>,
    pub dns: Rc<RefCell<DnsCache>>,
    pub next_conn_id: Cell<i64>,
    pub next_xfer_id: Cell<i64>,
    /// Read buffers of waiting connections, for the next one that reads.
    pub spare: SpareBuffers,
    /// Starts tasks on the multi's executor (an h2 connection's driver).
    pub spawner: crate::engine::rt::Spawner,
    /// h2-capable connections being set up, which PIPEWAIT transfers wait for.
    pub h2_pending: Rc<RefCell<crate::engine::http2::Pending>>,
    /// Strings of getinfo values a transfer's start emptied, filled again as its values arrive
    /// (`publish_info`), so that publishing allocates nothing once the first transfer is done.
    pub spare_text: RefCell<Vec<String>>,
}

impl Shared {
    pub fn new() -> Rc<Shared> {
        Rc::new(Shared {
            reactor: Rc::new(Reactor::default()),
            pool: RefCell::new(Pool::default()),
            limits: Rc::new(crate::engine::pool::Limits::default()),
            dns: Rc::new(RefCell::new(DnsCache::default())),
            next_conn_id: Cell::new(0),
            next_xfer_id: Cell::new(0),
            spare: SpareBuffers::default(),
            spawner: crate::engine::rt::Spawner::default(),
            h2_pending: Rc::default(),
            spare_text: RefCell::default(),
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
    /// LOW_SPEED bookkeeping (libcurl's speed samples), made at the first check: boxed, as most
    /// transfers never set LOW_SPEED and the transfer's future holds this.
    speed: Option<Box<sink::SpeedMeter>>,
    info: Info,
    /// Inside the connect phase (a TIMEOUT there is reported as a connect timeout).
    connecting: bool,
    /// The URL of the request in flight (for cookies).
    current_url: Option<Rc<Url>>,
    /// Reading a body only to skip it (redirects, auth retries): count it, deliver nothing.
    discarding: bool,
    /// Header bytes received for the request in flight (libcurl limits them).
    head_bytes: usize,
    /// Header lines received over the whole transfer, redirects included (libcurl limits them).
    header_lines: usize,
    /// The last response of this transfer was HTTP/1.0: libcurl's next request (redirect, auth
    /// retry) is HTTP/1.0 too, as is any on a connection whose last answer was HTTP/1.0.
    last_http10: bool,
    /// The request being written is HTTP/1.0 (HTTP_VERSION 1_0, or after such an answer).
    req_http10: bool,
    /// The proxy of the request being set up, chosen once for it (see `choose_proxy`); boxed, as
    /// most transfers have none and the transfer's future stays small.
    proxy: std::result::Result<Option<Box<crate::engine::proxy::Proxy>>, Box<Error>>,
    /// An h2 server reset a stream with HTTP_1_1_REQUIRED: libcurl runs the rest of the transfer
    /// over HTTP/1.1 (see exchange_h2).
    h1_only: bool,
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
        speed: None,
        info: Info { xfer_id: xid, performed: true, ..Info::default() },
        connecting: false,
        current_url: None,
        discarding: false,
        head_bytes: 0,
        header_lines: 0,
        last_http10: false,
        req_http10: false,
        proxy: Ok(None),
        h1_only: false,
    };
    // getinfo answers for this transfer from its start, as libcurl resets its info then.
    x.publish_info();
    let deadline = x.o.timeout.map(|t| start + t);
    let reactor = sh.reactor.clone();
    let r = match deadline_first(&reactor, deadline, x.run_all()).await {
        Some(r) => r,
        None => Err(Error::new(code::OPERATION_TIMEDOUT, String::new())),
    };
    let r = match r {
        Err(e) if e.code == code::OPERATION_TIMEDOUT && e.msg.is_empty() => {
            let ms = start.elapsed().as_millis();
            let msg = if x.info.scheme.as_deref() == Some("TELNET") && !x.connecting {
                // libcurl's telnet loop keeps its own clock, and its own words.
                x.text(format_args!("Time-out"));
                "Time-out".to_string()
            } else if x.connecting {
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
    {
        // Swapped in, and the strings published before go back to the pool for the next transfer.
        std::mem::swap(&mut **easy.info.borrow_mut(), &mut x.info);
        copy_info(&mut x.info, &Info::default(), &mut sh.spare_text.borrow_mut());
    }
    *easy.current_sock.borrow_mut() = None;

    match x.cb.take_pending_error() {
        Some(e) => Err(e),
        None => r,
    }
}

/// `*dst = src.clone()` field by field with `clone_from`, so the strings published before keep
/// their allocations (a transfer publishes several times), and strings emptied are kept in `pool`
/// for the next values. Naming every field makes a new one a compile error here rather than a value
/// getinfo never sees during the transfer.
fn copy_info(dst: &mut Info, src: &Info, pool: &mut Vec<String>) {
    macro_rules! fields {
        ($($f:ident),* $(,)?) => {
            let Info { $($f),* } = src;
            $(dst.$f.publish($f, pool);)*
        };
    }
    fields!(
        performed,
        url_rejected,
        size_delivered,
        last_socket,
        response_code,
        http_connectcode,
        effective_url,
        effective_method,
        content_type,
        http_version,
        scheme,
        total_time,
        namelookup_time,
        connect_time,
        appconnect_time,
        pretransfer_time,
        starttransfer_time,
        redirect_time,
        posttransfer_time,
        queue_time,
        size_download,
        size_upload,
        content_length_download,
        content_length_upload,
        header_size,
        request_size,
        redirect_count,
        redirect_url,
        primary_ip,
        primary_port,
        local_ip,
        local_port,
        num_connects,
        os_errno,
        ssl_verifyresult,
        filetime,
        condition_unmet,
        certinfo,
        conn_id,
        httpauth_avail,
        proxyauth_avail,
        proxy_error,
        proxy_ssl_verifyresult,
        referer,
        xfer_id,
    );
}

/// How many emptied strings a multi keeps, and up to what size, for the next transfers' values.
const SPARE_TEXTS: usize = 16;
const SPARE_TEXT_BYTES: usize = 4096;

/// One getinfo value copied to where getinfo reads it.
trait Publish {
    fn publish(&mut self, src: &Self, pool: &mut Vec<String>);
}

impl Publish for Option<String> {
    fn publish(&mut self, src: &Self, pool: &mut Vec<String>) {
        match (self.as_mut(), src) {
            (Some(d), Some(s)) => d.clone_from(s),
            (None, Some(s)) => {
                let mut t = pool.pop().unwrap_or_default();
                t.clear();
                t.push_str(s);
                *self = Some(t);
            }
            (Some(_), None) => {
                let t = self.take().unwrap_or_default();
                if pool.len() < SPARE_TEXTS && t.capacity() <= SPARE_TEXT_BYTES {
                    pool.push(t);
                }
            }
            (None, None) => {}
        }
    }
}

macro_rules! publish_by_clone {
    ($($t:ty),*) => {
        $(impl Publish for $t {
            fn publish(&mut self, src: &Self, _: &mut Vec<String>) {
                self.clone_from(src);
            }
        })*
    };
}
publish_by_clone!(bool, u64, i64, f64, Vec<Vec<(String, String)>>);

/// Sets a getinfo string of the transfer in an emptied one from `pool` when it has none yet.
fn set_text(pool: &RefCell<Vec<String>>, slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (Some(d), Some(t)) => {
            d.clear();
            d.push_str(t);
        }
        (None, Some(t)) => {
            let mut d = pool.borrow_mut().pop().unwrap_or_default();
            d.clear();
            d.push_str(t);
            *slot = Some(d);
        }
        (_, None) => *slot = None,
    }
}

fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

impl Xfer {
    /// Makes what is known so far visible to getinfo while the transfer runs (libcurl's infos
    /// answer as soon as the response head has arrived).
    fn publish_info(&self) {
        let mut i = self.easy.info.borrow_mut();
        copy_info(&mut i, &self.info, &mut self.sh.spare_text.borrow_mut());
        i.size_download = self.dl_now as u64;
        i.size_upload = self.ul_now as u64;
    }

    async fn run_all(&mut self) -> Result<()> {
        // A new transfer ends what the last CONNECT_ONLY one left open.
        self.easy.held.borrow_mut().take();
        self.load_cookie_files();
        // The URL is worked out outside this async fn, so that its state does not keep a copy
        // (it is shared with the options, which keep it parsed for the next transfer).
        let start = self.first_url()?;
        // libcurl's first progress call comes after a URL it rejects; for HTTP only once connected
        // (connect() makes it), so a connection refused at once never reaches the callback.
        if !matches!(start, Start::Http(_)) {
            self.call_progress(true)?;
        }
        match start {
            Start::File(url) => Box::pin(self.run_file(&url)).await,
            Start::Ftp(url) => Box::pin(self.run_ftp(url)).await,
            Start::Tftp(url) => Box::pin(self.run_tftp(url)).await,
            Start::OneShot(url) => Box::pin(self.run_oneshot(url)).await,
            Start::Mail(url) => Box::pin(self.run_mail(url)).await,
            Start::Telnet(url) => Box::pin(self.run_telnet(url)).await,
            Start::Mqtt(url) => Box::pin(self.run_mqtt(url)).await,
            Start::Rtsp(url) => Box::pin(self.run_rtsp(url)).await,
            Start::Ssh(url) => Box::pin(self.run_ssh(url)).await,
            Start::Upgrade(url) => Box::pin(self.run_upgrade(Rc::unwrap_or_clone(url))).await,
            Start::Http(url) => self.run_http(url).await,
        }
    }

    /// The transfer's URL (PORT applied), checked against PROTOCOLS, and what runs it.
    fn first_url(&mut self) -> Result<Start> {
        let url_s = self.o.url.as_deref().ok_or_else(|| Error::new(code::URL_MALFORMAT, "No URL set"))?;
        // Parsed once per URL setting: the options keep it until a setopt changes them.
        let parsed = match self.o.parsed_url.get() {
            Some(u) => u.clone(),
            None => match Url::parse_with(url_s, self.o.default_protocol.as_deref(), self.o.path_as_is) {
                Ok(u) => self.o.parsed_url.get_or_init(|| Rc::new(u)).clone(),
                Err(e) => {
                    self.info.url_rejected = true;
                    return Err(e);
                }
            },
        };
        // EFFECTIVE_URL is the URL as set: libcurl connects to PORT but does not write it there.
        self.info.effective_url = Some(parsed.to_effective());
        let url = if self.o.port != 0 && parsed.scheme != "file" {
            // PORT overrides the URL's port (the first request only: redirects go where they say).
            let mut u = (*parsed).clone();
            u.port = Some(self.o.port);
            Rc::new(u)
        } else {
            parsed
        };
        let proto = match url.scheme.as_str() {
            "http" => PROTO_HTTP,
            "https" => PROTO_HTTPS,
            "file" => PROTO_FILE,
            "ftp" => PROTO_FTP,
            "ftps" => PROTO_FTPS,
            "tftp" => PROTO_TFTP,
            "dict" => PROTO_DICT,
            "gopher" => PROTO_GOPHER,
            "gophers" => PROTO_GOPHERS,
            "ws" => PROTO_WS,
            "wss" => PROTO_WSS,
            "smtp" => PROTO_SMTP,
            "smtps" => PROTO_SMTPS,
            "pop3" => PROTO_POP3,
            "pop3s" => PROTO_POP3S,
            "imap" => PROTO_IMAP,
            "imaps" => PROTO_IMAPS,
            "telnet" => PROTO_TELNET,
            "mqtt" => PROTO_MQTT,
            "mqtts" => PROTO_MQTTS,
            "rtsp" => PROTO_RTSP,
            "sftp" => PROTO_SFTP,
            "scp" => PROTO_SCP,
            s => return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{s}\" not supported"))),
        };
        if self.o.protocols & proto == 0 {
            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{}\" is disabled", url.scheme)));
        }
        self.info.scheme = Some(url.scheme.to_ascii_uppercase());
        Ok(if url.scheme == "file" {
            Start::File(url)
        } else if url.scheme == "ftp" || url.scheme == "ftps" {
            Start::Ftp(url)
        } else if url.scheme == "tftp" {
            Start::Tftp(url)
        } else if matches!(url.scheme.as_str(), "dict" | "gopher" | "gophers") {
            Start::OneShot(url)
        } else if url.scheme == "telnet" {
            Start::Telnet(url)
        } else if url.scheme.starts_with("mqtt") {
            Start::Mqtt(url)
        } else if url.scheme == "rtsp" {
            Start::Rtsp(url)
        } else if url.scheme == "sftp" || url.scheme == "scp" {
            Start::Ssh(url)
        } else if crate::engine::mail::proto_of(&url.scheme).is_some() {
            Start::Mail(url)
        } else if self.o.connect_only == 1 || url.scheme.starts_with("ws") {
            Start::Upgrade(url)
        } else {
            Start::Http(url)
        })
    }
}

/// How a transfer runs, by its URL.
enum Start {
    File(Rc<Url>),
    Ftp(Rc<Url>),
    Tftp(Rc<Url>),
    /// dict:// and gopher(s)://: one request, the answer to its end (oneshot.rs).
    OneShot(Rc<Url>),
    Mail(Rc<Url>),
    /// telnet://: the byte stream both ways until the server closes (telnet.rs).
    Telnet(Rc<Url>),
    /// mqtt(s)://: CONNECT, then SUBSCRIBE or PUBLISH (mqtt.rs).
    Mqtt(Rc<Url>),
    /// rtsp://: one RTSP request on a kept connection (rtsp.rs).
    Rtsp(Rc<Url>),
    /// sftp:// and scp:// (ssh.rs).
    Ssh(Rc<Url>),
    Upgrade(Rc<Url>),
    Http(Rc<Url>),
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
        // 5.6 KB before with_deadline stopped holding the transfer's state machine twice; 3.3 KB
        // since; 2.7 KB once the URL was no longer kept twice (run_all, run_http, current_url) and
        // the h2 wait and body skipping were boxed. Boxing the HTTP/1 exchange instead costs more:
        // the box (2.1 KB) is alive whenever a body is received. The bound keeps it from growing.
        assert!(std::mem::size_of_val(&f) < 2816, "{} bytes", std::mem::size_of_val(&f));
    }

    /// Every Curl handle holds one, idle or not: rare state (a CONNECT_ONLY connection) is boxed,
    /// and getinfo's values are allocated when the first transfer starts (960 bytes before, 480).
    #[test]
    fn easy_handle_stays_small() {
        let n = std::mem::size_of::<super::EasyShared>();
        // 512 on Windows, whose socket handles and locks are wider.
        assert!(n <= 512, "{n} bytes");
    }

    /// Every Curl handle holds its options: groups most handles never set (TLS, proxy, routing,
    /// other credentials) cost a pointer until set (2,072 bytes before, 728).
    #[test]
    fn options_stay_small() {
        let n = std::mem::size_of::<super::Options>();
        assert!(n < 800, "{n} bytes");
    }
}

#[cfg(test)]
mod publish_tests {
    use super::Publish;

    /// Publishing answers as `clone_from`; a string emptied goes to the pool and the next value
    /// published is written into it (no new allocation), and the pool stays bounded.
    #[test]
    fn strings_are_reused_through_the_pool() {
        let mut pool = Vec::new();
        let mut dst = Some(String::with_capacity(64));
        let kept = dst.as_ref().map(|s| s.as_ptr());
        dst.publish(&None, &mut pool);
        assert_eq!((dst.as_deref(), pool.len()), (None, 1));
        dst.publish(&Some("http://h/".to_string()), &mut pool);
        assert_eq!((dst.as_deref(), pool.len()), (Some("http://h/"), 0));
        assert_eq!(dst.as_ref().map(|s| s.as_ptr()), kept, "the emptied string is filled again");
        dst.publish(&Some("http://other/".to_string()), &mut pool);
        assert_eq!(dst.as_deref(), Some("http://other/"));
        let mut none: Option<String> = None;
        none.publish(&None, &mut pool);
        assert_eq!((none, pool.len()), (None, 0));
        for _ in 0..super::SPARE_TEXTS + 4 {
            let mut d = Some("x".to_string());
            d.publish(&None, &mut pool);
        }
        assert_eq!(pool.len(), super::SPARE_TEXTS);
        let mut big = Some("y".repeat(super::SPARE_TEXT_BYTES + 1));
        pool.clear();
        big.publish(&None, &mut pool);
        assert!(pool.is_empty(), "large strings are not kept");
    }
}
