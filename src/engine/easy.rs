//! The engine's easy handle: options as plain data, the transfer's results (getinfo), and the callback
//! interface the bindings implement. Shared between the application-facing handle and its running
//! transfer through `Rc<EasyShared>`; no borrow is held across a callback, so callbacks may call back
//! into the handle (getinfo, pause, setopt).

use super::sys::Fd;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::task::Waker;
use std::time::Duration;

use super::error::Error;
use super::rare::Rare;
use super::resolve::IpResolve;
use super::tls::TlsOptions;

/// HTTPAUTH bits (CURLAUTH_*).
pub const AUTH_BASIC: u64 = 1;
pub const AUTH_DIGEST: u64 = 2;

/// Text options hold the application's bytes. Bytes that are not UTF-8 (or that spell this escape
/// range) are kept one char per byte in U+F780..=U+F7FF, as Python's surrogateescape does, so that
/// [`wire_bytes`] gives back exactly the bytes given: libcurl sends header lines as it gets them.
const ESCAPE_BASE: u32 = 0xF700;

fn escaped(c: char) -> bool {
    (ESCAPE_BASE + 0x80..=ESCAPE_BASE + 0xFF).contains(&(c as u32))
}

/// The text form of option bytes (see [`wire_bytes`]).
pub fn text_from_bytes(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) if !s.chars().any(escaped) => s,
        Ok(s) => escape_bytes(s.as_bytes()),
        Err(e) => escape_bytes(e.as_bytes()),
    }
}

fn escape_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&c| if c < 0x80 { char::from(c) } else { char::from_u32(ESCAPE_BASE + u32::from(c)).unwrap_or('?') })
        .collect()
}

/// The bytes an option's text stands for, as they go on the wire.
pub fn wire_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    // Every escape char is EF 9E xx or EF 9F xx in UTF-8: text without 0xEF has none (one memchr).
    if !s.as_bytes().contains(&0xEF) || !s.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if escaped(c) {
            out.push((c as u32 - ESCAPE_BASE) as u8);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A request body source: none, fixed bytes (POSTFIELDS), the read callback, or a form
/// (MIMEPOST / HTTPPOST).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Body {
    #[default]
    None,
    Bytes(Rc<[u8]>),
    Read,
    Form(super::request::FormPost),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpVersion {
    #[default]
    Default,
    V1_0,
    V1_1,
    /// 2_0: h2 over TLS via ALPN (plain http:// stays HTTP/1.1, see docs/differences.md).
    V2,
    /// 2TLS: h2 for https:// only.
    V2Tls,
    /// 2_PRIOR_KNOWLEDGE: h2 on http:// without asking (h2c), h2 via ALPN on https://.
    V2Prior,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub url: Option<String>,
    pub headers: Vec<String>,
    pub custom_request: Option<String>,
    pub nobody: bool,
    pub post: bool,
    pub upload: bool,
    /// POSTFIELDS data, kept apart from the method (engine::setopt has the rules).
    pub body: Body,
    /// HTTPPOST / MIMEPOST: Some while the method is a form POST.
    pub form: Option<super::request::FormPost>,
    /// POSTFIELDSIZE / INFILESIZE; -1 unknown.
    pub post_size: i64,
    pub in_size: i64,
    pub follow: bool,
    pub max_redirs: i64,
    pub post_redir: u32,
    pub auto_referer: bool,
    pub unrestricted_auth: bool,
    pub referer: Option<String>,
    /// USERAGENT (shared: every handle starts with the same default text).
    pub user_agent: Option<std::sync::Arc<str>>,
    pub accept_encoding: Option<String>,
    pub content_decoding: bool,
    pub transfer_encoding: bool,
    /// HTTP_TRANSFER_DECODING: false hands a chunked body on with its framing.
    pub transfer_decoding: bool,
    /// CRLF: bare LFs in a request body go out as CRLF.
    pub crlf: bool,
    pub range: Option<String>,
    pub resume_from: i64,
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    /// HAPPY_EYEBALLS_TIMEOUT_MS: how long a silent connect attempt runs before the next starts.
    pub happy_eyeballs: Duration,
    pub low_speed_limit: i64,
    pub low_speed_time: i64,
    pub fail_on_error: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub http_auth: u64,
    pub cookie: Option<String>,
    pub ip_resolve: IpResolve,
    pub port: u16,
    pub tcp_nodelay: bool,
    pub tcp_keepalive: bool,
    pub tcp_keepidle: i64,
    pub tcp_keepintvl: i64,
    pub fresh_connect: bool,
    pub forbid_reuse: bool,
    pub max_filesize: i64,
    pub buffer_size: usize,
    pub http_version: HttpVersion,
    /// PIPEWAIT: wait for a connection that may multiplex instead of opening another.
    pub pipewait: bool,
    pub protocols: u64,
    pub redir_protocols: u64,
    /// The TLS options (allocated once one is set: plain-HTTP handles never do).
    pub tls: Rare<TlsOptions>,
    pub verbose: bool,
    pub noprogress: bool,
    pub dns_cache_timeout: Option<Duration>,
    pub expect_100_timeout: Duration,
    pub certinfo: bool,
    pub want_header_in_body: bool,
    pub ignore_content_length: bool,
    pub http09_allowed: bool,
    pub path_as_is: bool,
    pub default_protocol: Option<String>,
    pub keep_sending_on_error: bool,
    pub maxage_conn: Duration,
    pub maxlifetime_conn: Option<Duration>,
    /// COOKIEFILE entries ("" only switches the cookie engine on), read when a transfer starts.
    pub cookie_files: Vec<PathBuf>,
    /// COOKIESESSION: leave session cookies out when reading cookie files.
    pub cookie_session: bool,
    /// MAX_RECV_SPEED_LARGE / MAX_SEND_SPEED_LARGE in bytes per second; 0 unlimited.
    pub max_recv_speed: i64,
    pub max_send_speed: i64,
    /// HSTS: the CURLOPT_HSTS file, read before each transfer and written at cleanup.
    pub hsts_file: Option<PathBuf>,
    /// REQUEST_TARGET: sent in the request line instead of the URL's path and query.
    pub request_target: Option<String>,
    /// OPT_FILETIME: report the document's Last-Modified time as INFO_FILETIME.
    pub filetime: bool,
    /// TIMECONDITION (0 none, 1 if-modified-since, 2 if-unmodified-since, 3 last-modified) and
    /// TIMEVALUE(_LARGE) in Unix seconds.
    pub time_condition: u8,
    pub time_value: i64,
    /// CONNECT_ONLY: 1 stops after connecting, 2 after a WebSocket upgrade.
    pub connect_only: u8,
    /// WS_OPTIONS (RAW_MODE, NOAUTOPONG).
    pub ws_options: i64,
    /// Where connections go and come from (RESOLVE, CONNECT_TO, INTERFACE, DOH_URL, ...).
    pub route: Rare<RouteOptions>,
    /// Credentials from elsewhere than USERPWD (NETRC, XOAUTH2_BEARER, AWS_SIGV4).
    pub creds: Rare<CredentialOptions>,
    /// PROXY and its companions (engine::proxy), allocated once one is set.
    pub proxy: Rare<super::proxy::ProxyOptions>,
    /// HTTP200ALIASES: status line prefixes read as "HTTP/1.0 200".
    pub http200_aliases: Vec<String>,
    /// URL parsed under DEFAULT_PROTOCOL and PATH_AS_IS, kept for the next transfers: `opts_mut`
    /// empties it, so any setopt makes the next transfer parse again.
    pub parsed_url: std::cell::OnceCell<Rc<super::url::Url>>,
    /// UPLOAD_BUFFERSIZE: the most a read callback is asked for at once.
    pub upload_buffer_size: usize,
    /// The FTP options (engine::ftp), allocated once one is set.
    pub ftp: Rare<super::ftp::FtpOptions>,
    /// TFTP_BLKSIZE as stored (clamped to 8..=65464) and TFTP_NO_OPTIONS.
    pub tftp_blksize: u32,
    pub tftp_no_options: bool,
    /// The SMTP / POP3 / IMAP options (engine::mail), allocated once one is set.
    pub mail: Rare<super::mail::MailOptions>,
    /// The TELNET, MQTT and RTSP options (engine::proto), allocated once one is set.
    pub proto: Rare<super::proto::ProtoOptions>,
    /// The SSH options (engine::ssh), allocated once one is set.
    pub ssh: Rare<super::ssh::SshOptions>,
}

/// Where a transfer's connections go and where they come from. Few handles set any of these, so
/// the group is allocated only once one is set (see `engine::rare`).
#[derive(Clone, Debug)]
pub struct RouteOptions {
    /// CURLOPT_RESOLVE as given; parsed when a transfer starts.
    pub resolve: Vec<String>,
    /// CONNECT_TO entries "host:port:connect-host:connect-port".
    pub connect_to: Vec<String>,
    pub interface: Option<String>,
    pub local_port: u16,
    pub local_port_range: u16,
    /// DOH_URL: names are resolved over DNS-over-HTTPS there ("" or None: the system resolver).
    pub doh_url: Option<String>,
    /// A DoH request of another transfer: exempt from the multi's connection limits, since the
    /// transfer waiting for its answer may hold the last connection slot.
    pub doh_probe: bool,
    /// UNIX_SOCKET_PATH / ABSTRACT_UNIX_SOCKET: connect here instead of over TCP.
    pub unix_socket: Option<UnixSocket>,
    /// ADDRESS_SCOPE: the scope id given to link-local IPv6 addresses (0: keep the address's own).
    pub address_scope: u32,
}

impl RouteOptions {
    /// The defaults (a constant: an unset `Rare` group reads this).
    pub const DEFAULTS: RouteOptions = RouteOptions {
        resolve: Vec::new(),
        connect_to: Vec::new(),
        interface: None,
        local_port: 0,
        local_port_range: 1,
        doh_url: None,
        doh_probe: false,
        unix_socket: None,
        address_scope: 0,
    };
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

crate::rare_defaults!(RouteOptions = RouteOptions::DEFAULTS);

/// Credentials that come from elsewhere than USERPWD / USERNAME / PASSWORD (allocated once one
/// is set).
#[derive(Clone, Debug, Default)]
pub struct CredentialOptions {
    /// NETRC (CURL_NETRC_IGNORED / OPTIONAL / REQUIRED) and NETRC_FILE.
    pub netrc: u8,
    pub netrc_file: Option<PathBuf>,
    /// XOAUTH2_BEARER: the token HTTPAUTH_BEARER sends.
    pub bearer: Option<String>,
    /// AWS_SIGV4: "provider1[:provider2[:region[:service]]]" (Some("") for the defaults).
    pub aws_sigv4: Option<String>,
}

crate::rare_defaults!(
    CredentialOptions = CredentialOptions { netrc: 0, netrc_file: None, bearer: None, aws_sigv4: None }
);

/// Where UNIX_SOCKET_PATH / ABSTRACT_UNIX_SOCKET send a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnixSocket {
    pub path: String,
    /// Linux's abstract namespace (the name is not a file).
    pub abstract_ns: bool,
}

/// HTTPAUTH bits beyond Basic and Digest: CURLAUTH_BEARER and CURLAUTH_AWS_SIGV4.
pub const AUTH_BEARER: u64 = 1 << 6;
pub const AUTH_AWS_SIGV4: u64 = 1 << 7;

/// UPLOAD_BUFFERSIZE's default and the range libcurl clamps it to.
pub const UPLOAD_BUFFER_DEFAULT: usize = 64 * 1024;
pub const UPLOAD_BUFFER_MIN: i64 = 16 * 1024;
pub const UPLOAD_BUFFER_MAX: i64 = 2 * 1024 * 1024;

pub const PROTO_HTTP: u64 = 1;
pub const PROTO_HTTPS: u64 = 2;
pub const PROTO_FTP: u64 = 4;
pub const PROTO_FTPS: u64 = 8;
pub const PROTO_FILE: u64 = 1024;
pub const PROTO_TFTP: u64 = 2048;
pub const PROTO_DICT: u64 = 1 << 9;
pub const PROTO_GOPHER: u64 = 1 << 25;
pub const PROTO_GOPHERS: u64 = 1 << 29;
pub const PROTO_IMAP: u64 = 1 << 12;
pub const PROTO_IMAPS: u64 = 1 << 13;
pub const PROTO_POP3: u64 = 1 << 14;
pub const PROTO_POP3S: u64 = 1 << 15;
pub const PROTO_SMTP: u64 = 1 << 16;
pub const PROTO_SMTPS: u64 = 1 << 17;
pub const PROTO_WS: u64 = 1 << 30;
pub const PROTO_WSS: u64 = 1 << 31;
pub const PROTO_TELNET: u64 = 1 << 6;
pub const PROTO_RTSP: u64 = 1 << 18;
pub const PROTO_MQTT: u64 = 1 << 28;
pub const PROTO_MQTTS: u64 = 1 << 32;
pub const PROTO_SCP: u64 = 1 << 4;
pub const PROTO_SFTP: u64 = 1 << 5;
pub const PROTO_ALL: u64 = !0;

impl Default for Options {
    fn default() -> Self {
        Options {
            url: None,
            headers: Vec::new(),
            custom_request: None,
            nobody: false,
            post: false,
            upload: false,
            body: Body::None,
            form: None,
            post_size: -1,
            in_size: -1,
            follow: false,
            max_redirs: 30,
            post_redir: 0,
            auto_referer: false,
            unrestricted_auth: false,
            referer: None,
            user_agent: None,
            accept_encoding: None,
            content_decoding: true,
            transfer_encoding: false,
            transfer_decoding: true,
            crlf: false,
            range: None,
            resume_from: 0,
            timeout: None,
            connect_timeout: None,
            happy_eyeballs: Duration::from_millis(200),
            low_speed_limit: 0,
            low_speed_time: 0,
            fail_on_error: false,
            username: None,
            password: None,
            http_auth: AUTH_BASIC,
            cookie: None,
            ip_resolve: IpResolve::Whatever,
            port: 0,
            tcp_nodelay: true,
            tcp_keepalive: false,
            tcp_keepidle: 60,
            tcp_keepintvl: 60,
            fresh_connect: false,
            forbid_reuse: false,
            max_filesize: 0,
            buffer_size: 16384,
            http_version: HttpVersion::Default,
            pipewait: false,
            protocols: PROTO_ALL,
            redir_protocols: PROTO_HTTP | PROTO_HTTPS,
            tls: Rare::default(),
            hsts_file: None,
            request_target: None,
            verbose: false,
            noprogress: true,
            dns_cache_timeout: Some(super::resolve::DNS_CACHE_TIMEOUT),
            expect_100_timeout: Duration::from_secs(1),
            certinfo: false,
            want_header_in_body: false,
            ignore_content_length: false,
            http09_allowed: false,
            path_as_is: false,
            default_protocol: None,
            keep_sending_on_error: false,
            maxage_conn: Duration::from_secs(118),
            maxlifetime_conn: None,
            max_recv_speed: 0,
            max_send_speed: 0,
            cookie_files: Vec::new(),
            cookie_session: false,
            filetime: false,
            time_condition: 0,
            time_value: 0,
            connect_only: 0,
            ws_options: 0,
            route: Rare::default(),
            creds: Rare::default(),
            ftp: Rare::default(),
            mail: Rare::default(),
            proto: Rare::default(),
            ssh: Rare::default(),
            proxy: Rare::default(),
            http200_aliases: Vec::new(),
            parsed_url: std::cell::OnceCell::new(),
            upload_buffer_size: UPLOAD_BUFFER_DEFAULT,
            tftp_blksize: 512,
            tftp_no_options: false,
        }
    }
}

/// What getinfo reports about the last transfer.
#[derive(Clone, Debug)]
pub struct Info {
    /// A transfer has started on this handle (getinfo answers libcurl's initial values until then).
    pub performed: bool,
    /// libcurl refused the URL: it then has no effective URL at all.
    pub url_rejected: bool,
    pub size_delivered: u64,
    pub last_socket: i64,
    pub response_code: i64,
    pub http_connectcode: i64,
    pub effective_url: Option<String>,
    pub effective_method: Option<String>,
    pub content_type: Option<String>,
    pub http_version: i64,
    pub scheme: Option<String>,
    /// Seconds, as libcurl's *_TIME; the _T variants are these in microseconds.
    pub total_time: f64,
    pub namelookup_time: f64,
    pub connect_time: f64,
    pub appconnect_time: f64,
    pub pretransfer_time: f64,
    pub starttransfer_time: f64,
    pub redirect_time: f64,
    pub posttransfer_time: f64,
    pub queue_time: f64,
    pub size_download: u64,
    pub size_upload: u64,
    pub content_length_download: f64,
    pub content_length_upload: f64,
    pub header_size: u64,
    pub request_size: u64,
    pub redirect_count: i64,
    pub redirect_url: Option<String>,
    pub primary_ip: Option<String>,
    pub primary_port: i64,
    pub local_ip: Option<String>,
    pub local_port: i64,
    pub num_connects: i64,
    pub os_errno: i64,
    pub ssl_verifyresult: i64,
    pub filetime: i64,
    /// TIMECONDITION was not met (the server said 304, or Last-Modified failed the condition).
    pub condition_unmet: bool,
    pub certinfo: Vec<Vec<(String, String)>>,
    pub conn_id: i64,
    pub httpauth_avail: i64,
    pub proxyauth_avail: i64,
    /// PROXY_ERROR: the CURLPX code of the last SOCKS failure.
    pub proxy_error: i64,
    pub proxy_ssl_verifyresult: i64,
    pub referer: Option<String>,
    pub xfer_id: i64,
}

impl Info {
    /// The defaults (a constant: an unset `Rare` group reads this).
    pub const DEFAULTS: Info = Info {
        performed: false,
        url_rejected: false,
        size_delivered: 0,
        last_socket: -1,
        response_code: 0,
        http_connectcode: 0,
        effective_url: None,
        effective_method: None,
        content_type: None,
        http_version: 0,
        scheme: None,
        total_time: 0.0,
        namelookup_time: 0.0,
        connect_time: 0.0,
        appconnect_time: 0.0,
        pretransfer_time: 0.0,
        starttransfer_time: 0.0,
        redirect_time: 0.0,
        posttransfer_time: 0.0,
        queue_time: 0.0,
        size_download: 0,
        size_upload: 0,
        content_length_download: -1.0,
        content_length_upload: -1.0,
        header_size: 0,
        request_size: 0,
        redirect_count: 0,
        redirect_url: None,
        primary_ip: None,
        primary_port: -1,
        local_ip: None,
        local_port: -1,
        num_connects: 0,
        os_errno: 0,
        ssl_verifyresult: 0,
        filetime: -1,
        condition_unmet: false,
        certinfo: Vec::new(),
        conn_id: -1,
        referer: None,
        httpauth_avail: 0,
        proxyauth_avail: 0,
        proxy_error: 0,
        proxy_ssl_verifyresult: 0,
        xfer_id: -1,
    };
}

impl Default for Info {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

crate::rare_defaults!(Info = Info::DEFAULTS);

impl Info {
    pub fn speed_download(&self) -> f64 {
        if self.total_time > 0.0 {
            (self.size_download as f64 / self.total_time).floor()
        } else {
            0.0
        }
    }
    pub fn speed_upload(&self) -> f64 {
        if self.total_time > 0.0 {
            (self.size_upload as f64 / self.total_time).floor()
        } else {
            0.0
        }
    }
}

/// Outcome of handing data to the write or header callback.
#[derive(Debug)]
pub enum Flow {
    Continue,
    Pause,
    Abort(Error),
}

#[derive(Debug)]
pub enum ReadOutcome {
    Data(usize),
    Pause,
    Abort(Error),
}

#[derive(Debug, PartialEq, Eq)]
pub enum SeekOutcome {
    Ok,
    Fail,
    CantSeek,
}

/// DEBUGFUNCTION kinds (curl_infotype).
pub mod debug_kind {
    pub const TEXT: u8 = 0;
    pub const HEADER_IN: u8 = 1;
    pub const HEADER_OUT: u8 = 2;
    pub const DATA_IN: u8 = 3;
    pub const DATA_OUT: u8 = 4;
    pub const SSL_DATA_IN: u8 = 5;
    pub const SSL_DATA_OUT: u8 = 6;
}

/// The application's callbacks for one easy handle. Every method has libcurl's default behaviour.
pub trait Callbacks {
    /// Body bytes (WRITEFUNCTION / WRITEDATA; default: stdout).
    fn write(&self, data: &[u8]) -> Flow;
    /// One header line with its CRLF (HEADERFUNCTION / WRITEHEADER); default: dropped.
    fn header(&self, _line: &[u8]) -> Flow {
        Flow::Continue
    }
    /// Does `header` go anywhere? Without a taker, header lines need not be built at all.
    fn has_header(&self) -> bool {
        false
    }
    fn has_read(&self) -> bool {
        false
    }
    /// Upload bytes (READFUNCTION / READDATA).
    fn read(&self, _buf: &mut [u8]) -> ReadOutcome {
        ReadOutcome::Data(0)
    }
    fn has_seek(&self) -> bool {
        false
    }
    fn has_ssh_key(&self) -> bool {
        false
    }
    /// SSH_KEYFUNCTION: the known_hosts key (base64, KHTYPE) if any, the server's key (its blob,
    /// KHTYPE) and the KHMATCH; answers a KHSTAT (anything else rejects).
    fn ssh_key(&self, _known: Option<(Vec<u8>, i32)>, _found: (Vec<u8>, i32), _matched: i32) -> i32 {
        2
    }
    fn seek(&self, _offset: i64, _origin: i32) -> SeekOutcome {
        SeekOutcome::CantSeek
    }
    fn has_progress(&self) -> bool {
        false
    }
    /// XFERINFOFUNCTION / PROGRESSFUNCTION: true aborts the transfer.
    fn progress(&self, _dltotal: i64, _dlnow: i64, _ultotal: i64, _ulnow: i64) -> Result<bool, Error> {
        Ok(false)
    }
    fn has_debug(&self) -> bool {
        false
    }
    fn debug(&self, _kind: u8, _data: &[u8]) {}
    /// OPENSOCKETFUNCTION: None means "not set"; Some(Err) aborts; Some(Ok(fd)) adopts fd (-1 = fail).
    fn open_socket(&self, _addr: &SocketAddr) -> Option<Result<Fd, Error>> {
        None
    }
    /// OPENSOCKETFUNCTION for a Unix-domain connection to `path` (a leading NUL byte: Linux's
    /// abstract namespace); the same answers as `open_socket`.
    fn open_unix_socket(&self, _path: &[u8]) -> Option<Result<Fd, Error>> {
        None
    }
    /// SOCKOPTFUNCTION: 0 ok, 1 error, 2 already connected.
    fn sockopt(&self, _fd: Fd) -> Result<i32, Error> {
        Ok(0)
    }
    fn has_close_socket(&self) -> bool {
        false
    }
    fn close_socket(&self, _fd: Fd) {}
    fn has_resolver_start(&self) -> bool {
        false
    }
    /// RESOLVER_START_FUNCTION, before a name lookup starts: true aborts.
    fn resolver_start(&self) -> bool {
        false
    }
    fn has_ioctl(&self) -> bool {
        false
    }
    /// IOCTLFUNCTION with CURLIOCMD_RESTARTREAD (the upload must start over and there is no
    /// SEEKFUNCTION): 0 (CURLIOE_OK) when the application rewound its source.
    fn ioctl_restart_read(&self) -> i32 {
        1
    }
    fn has_trailer(&self) -> bool {
        false
    }
    /// TRAILERFUNCTION, before the last chunk of a chunked upload: the trailer lines, or the
    /// error that aborts the transfer.
    fn trailer(&self) -> Result<Vec<Vec<u8>>, Error> {
        Ok(Vec::new())
    }
    /// PREREQFUNCTION: non-zero aborts.
    fn prereq(&self, _primary_ip: &str, _local_ip: &str, _primary_port: u16, _local_port: u16) -> Result<i32, Error> {
        Ok(0)
    }
    fn has_fnmatch(&self) -> bool {
        false
    }
    /// FNMATCH_FUNCTION(pattern, name) for WILDCARDMATCH: 0 match, 1 no match, 2 failure.
    fn fnmatch(&self, _pattern: &[u8], _name: &[u8]) -> i32 {
        1
    }
    /// An error a callback stored (a Python exception) that must replace the transfer's result.
    fn take_pending_error(&self) -> Option<Error> {
        None
    }
}

/// Pause bits (CURLPAUSE_RECV 1, CURLPAUSE_SEND 4).
pub const PAUSE_RECV: u32 = 1;
pub const PAUSE_SEND: u32 = 4;

/// State shared by the application-facing handle and its transfer.
pub struct EasyShared {
    /// Shared with running transfers as a snapshot; setopt copies it only while one holds it.
    pub opts: RefCell<Rc<Options>>,
    /// What getinfo reads: allocated when the first transfer starts (idle handles read defaults).
    pub info: RefCell<Rare<Info>>,
    pub callbacks: RefCell<Option<Rc<dyn Callbacks>>>,
    pub pause: Cell<u32>,
    pub pause_waker: RefCell<Option<Waker>>,
    /// Body bytes the write callback refused with a pause; delivered by the unpause itself (as
    /// curl_easy_pause does), or by the transfer when it resumes.
    pub paused_data: RefCell<Option<Vec<u8>>>,
    /// The write callback failed while pause() delivered held data (boxed: rare, and Windows needs
    /// the room to keep the handle within its size bound).
    pub pause_error: RefCell<Option<Box<Error>>>,
    /// The cookie engine, once COOKIEFILE, COOKIEJAR or COOKIELIST switched it on.
    pub cookies: RefCell<Option<super::cookies::CookieJar>>,
    /// COOKIEJAR: where the jar is written when the handle is closed (or on "FLUSH").
    pub cookie_jar_path: RefCell<Option<PathBuf>>,
    /// Set while the handle's transfer is running in some multi.
    pub busy: Cell<bool>,
    pub last_error: RefCell<Option<Error>>,
    /// The HSTS cache, once HSTS_CTRL (ENABLE) or HSTS switched it on.  It outlives reset()
    /// like libcurl's: the transfer calls `upgrade` at each hop and `observe` on each
    /// Strict-Transport-Security header received over HTTPS.
    pub hsts: RefCell<Option<super::hsts::Cache>>,
    /// The socket the running transfer reads its response from, and that socket's reactor: an
    /// unpause reports the renewed read interest from inside pause(), as libcurl does.
    pub current_sock: RefCell<Option<(Fd, std::rc::Weak<super::rt::Reactor>)>>,
    /// The CurlShare this handle uses (SHARE), if any.
    pub share: RefCell<Option<std::sync::Arc<super::share::Share>>>,
    /// The share's connection cache when it shares LOCK_DATA_CONNECT (set by the bindings).
    pub conn_cache: RefCell<Option<super::share::ConnCache>>,
    /// The connection CONNECT_ONLY (or a WebSocket upgrade) left to the application (boxed: rare,
    /// and every handle would carry its size).
    pub held: RefCell<Option<Box<super::ws::Held>>>,
    /// Digest challenges kept for the next transfer's requests (emptied by reset()); boxed, as
    /// few handles use Digest.
    pub digest: RefCell<Option<Box<super::auth::DigestMemory>>>,
    /// The WebSocket frame being delivered to WRITEFUNCTION (curl_ws_meta); None outside it.
    pub ws_meta: std::cell::Cell<Option<super::ws::Meta>>,
    /// Frames ws_send queued from inside WRITEFUNCTION (callback mode); sent when it returns.
    pub ws_reply: RefCell<Vec<u8>>,
    /// RTSP's CSeq counters and session id, kept from one transfer to the next (engine::proto::rtsp).
    pub rtsp: RefCell<Option<Box<super::proto::rtsp::RtspState>>>,
}

impl EasyShared {
    pub fn new() -> Rc<EasyShared> {
        Rc::new(EasyShared {
            opts: RefCell::new(Rc::new(Options::default())),
            info: RefCell::new(Rare::default()),
            callbacks: RefCell::new(None),
            pause: Cell::new(0),
            pause_waker: RefCell::new(None),
            paused_data: RefCell::new(None),
            pause_error: RefCell::new(None),
            cookies: RefCell::new(None),
            cookie_jar_path: RefCell::new(None),
            busy: Cell::new(false),
            last_error: RefCell::new(None),
            hsts: RefCell::new(None),
            current_sock: RefCell::new(None),
            share: RefCell::new(None),
            conn_cache: RefCell::new(None),
            held: RefCell::new(None),
            digest: RefCell::new(None),
            ws_meta: std::cell::Cell::new(None),
            ws_reply: RefCell::new(Vec::new()),
            rtsp: RefCell::new(None),
        })
    }

    /// Runs `f` on the kept Digest challenges (created on first use).
    pub fn with_digest<R>(&self, f: impl FnOnce(&mut super::auth::DigestMemory) -> R) -> R {
        f(self.digest.borrow_mut().get_or_insert_with(Default::default))
    }

    /// Options for changing (copied first if a running transfer still holds the snapshot).
    pub fn opts_mut(&self) -> std::cell::RefMut<'_, Options> {
        std::cell::RefMut::map(self.opts.borrow_mut(), |o| {
            let o = Rc::make_mut(o);
            o.parsed_url.take();
            o
        })
    }

    /// Runs `f` on the cookie engine this handle uses (None: the engine is off). A handle that
    /// shares cookies uses its share's jar once its own engine is on (its own jar then stays
    /// empty and only marks that). No callback may run inside `f`.
    pub fn with_cookies<R>(&self, f: impl FnOnce(&mut Option<super::cookies::CookieJar>) -> R) -> R {
        let share = self.share.borrow().clone().filter(|s| s.holds(super::share::LOCK_DATA_COOKIE));
        match share {
            Some(s) if self.cookies.borrow().is_some() => f(&mut s.cookies()),
            Some(_) => f(&mut None),
            None => f(&mut self.cookies.borrow_mut()),
        }
    }

    /// Switches the cookie engine on (an empty jar) if it is off.
    pub fn enable_cookies(&self) {
        let mut c = self.cookies.borrow_mut();
        if c.is_none() {
            *c = Some(super::cookies::CookieJar::new());
        }
    }

    /// HSTS before a transfer: (re)reads the CURLOPT_HSTS file into the cache, as libcurl
    /// does at the start of every transfer.  The read callback is the bindings' part.
    pub fn hsts_load(&self, now: i64) {
        let file = self.opts.borrow().hsts_file.clone();
        if let (Some(file), Some(cache)) = (file, self.hsts.borrow_mut().as_mut()) {
            cache.load_file(&file, now);
        }
    }

    /// HSTS at cleanup: writes the cache to the CURLOPT_HSTS file (or, after a reset, the file
    /// it was last read from).  The write callback is the bindings' part.
    pub fn hsts_save(&self, now: i64) {
        let file = self.opts.borrow().hsts_file.clone();
        if let Some(cache) = self.hsts.borrow().as_ref() {
            if let Some(file) = file.or_else(|| cache.filename.clone()) {
                let _ = cache.save_file(&file, now);
            }
        }
    }

    /// Writes the cookie jar file (COOKIEJAR), as libcurl does at cleanup and on "FLUSH".
    pub fn write_cookie_jar(&self) {
        let path = self.cookie_jar_path.borrow().clone();
        let (Some(path), Some(jar)) = (path, self.with_cookies(|c| c.as_ref().map(|j| j.jar_text()))) else { return };
        if path.as_os_str() == "-" {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(jar.as_bytes());
        } else {
            let _ = std::fs::write(&path, jar);
        }
    }

    /// curl_easy_pause: when receiving is unpaused, data held back by a paused write callback is
    /// delivered right away, from inside this call, as libcurl does; the rest resumes at the
    /// transfer's next step.
    pub fn set_pause(&self, bits: u32) {
        self.pause.set(bits);
        if bits & PAUSE_RECV == 0 {
            let held = self.paused_data.borrow_mut().take();
            if let Some(data) = held {
                let cb = self.callbacks.borrow().clone();
                if let Some(cb) = cb {
                    match cb.write(&data) {
                        Flow::Continue => {}
                        Flow::Pause => {
                            self.pause.set(self.pause.get() | PAUSE_RECV);
                            *self.paused_data.borrow_mut() = Some(data);
                        }
                        Flow::Abort(e) => *self.pause_error.borrow_mut() = Some(Box::new(e)),
                    }
                }
            }
        }
        let waker = self.pause_waker.borrow_mut().take();
        if let Some(w) = waker {
            if self.pause.get() & PAUSE_RECV == 0 {
                let sock = self.current_sock.borrow().clone();
                if let Some((fd, reactor)) = sock.and_then(|(fd, r)| r.upgrade().map(|r| (fd, r))) {
                    reactor.want_read(fd, &w);
                }
            }
            w.wake();
        }
    }
}

/// Where the body of a file:// URL lives.
pub fn file_path_of(url_path: &str) -> PathBuf {
    PathBuf::from(super::url::percent_decode(url_path))
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn option_bytes_round_trip_exactly() {
        for b in [&b"Foo: b\xe4r"[..], b"Utf: b\xc3\xa4r", b"Pua: \xef\x9e\x80", b"plain", b"\xff\xfe", b""] {
            let t = text_from_bytes(b.to_vec());
            assert_eq!(&*wire_bytes(&t), b);
        }
        assert_eq!(text_from_bytes(b"b\xc3\xa4r".to_vec()), "b\u{e4}r");
    }
}
