//! FTP without sockets: the control connection's reply parser, the URL path as FTP commands, the
//! passive-mode and MDTM replies, and the options. `transfer::ftp` drives these over the engine's
//! connections.
//!
//! ```text
//!  [TLS: ftps://] greeting 220 ─► [AUTH SSL/TLS ─► TLS: USE_SSL] ─► USER (─► FTP_ALTERNATIVE_TO_USER)
//!    ─► PASS (─► ACCT) ─► [PBSZ 0 ─► PROT P/C ─► [CCC]] ─► PWD ─► PREQUOTE/QUOTE ─► CWD … (MKD on failure)
//!    ─► [MDTM] ─► [PRET] ─► EPSV (─► PASV) ─► data connection ─► TYPE ─► [SIZE] ─► [REST]
//!    ─► RETR / LIST / STOR ─► [TLS on the data connection] ─► data ─► 226 ─► POSTQUOTE
//! ```
//! NOBODY stops after TYPE ─► SIZE ─► REST 0, with no data connection (as libcurl).

/// How the URL's directories are reached (FTP_FILEMETHOD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FileMethod {
    /// One CWD per directory (FTPMETHOD_MULTICWD, libcurl's default).
    #[default]
    MultiCwd,
    /// No CWD: the whole path goes with the command.
    NoCwd,
    /// One CWD with the whole directory path.
    SingleCwd,
}

/// The FTP options (a group most handles never set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FtpOptions {
    pub use_epsv: bool,
    pub method: FileMethodOpt,
    pub create_dirs: u8,
    pub dirlist_only: bool,
    pub append: bool,
    pub transfer_text: bool,
    pub skip_pasv_ip: bool,
    pub quote: Vec<String>,
    pub prequote: Vec<String>,
    pub postquote: Vec<String>,
    pub account: Option<String>,
    /// FTP_RESPONSE_TIMEOUT / SERVER_RESPONSE_TIMEOUT in milliseconds (0: libcurl's default).
    pub response_timeout_ms: u64,
    /// FTPPORT: active mode, with the address to listen on ("-": the control connection's).
    pub port: Option<String>,
    /// FTP_USE_EPRT: EPRT before PORT (the connection forgets it once the server refuses it).
    pub use_eprt: bool,
    /// ACCEPTTIMEOUT_MS: the wait for the server's data connection in active mode (0: 60 s).
    pub accept_timeout_ms: u64,
    /// USE_SSL: 0 none, 1 try, 2 control, 3 all.
    pub use_ssl: u8,
    /// FTPSSLAUTH: 0 default and 1 SSL (AUTH SSL first, then TLS), 2 TLS (AUTH TLS first).
    pub ssl_auth: u8,
    /// FTP_SSL_CCC: 0 none, 1 passive, 2 active.
    pub ccc: u8,
    /// FTP_USE_PRET: PRET before EPSV/PASV.
    pub use_pret: bool,
    /// FTP_ALTERNATIVE_TO_USER: the command sent when the server refuses USER.
    pub alternative_to_user: Option<String>,
    /// WILDCARDMATCH: the URL's last path part is a pattern of files to download.
    pub wildcard: bool,
}

pub mod list;

/// FileMethod as an option value (hashable, with libcurl's numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileMethodOpt(pub u8);

impl FileMethodOpt {
    pub fn get(self) -> FileMethod {
        match self.0 {
            2 => FileMethod::NoCwd,
            3 => FileMethod::SingleCwd,
            _ => FileMethod::MultiCwd,
        }
    }
}

impl Default for FtpOptions {
    fn default() -> Self {
        FTP_DEFAULTS.clone()
    }
}

crate::rare_defaults!(FtpOptions = FTP_DEFAULTS);

const FTP_DEFAULTS: FtpOptions = FtpOptions {
    use_epsv: true,
    method: FileMethodOpt(1),
    create_dirs: 0,
    dirlist_only: false,
    append: false,
    transfer_text: false,
    skip_pasv_ip: true,
    quote: Vec::new(),
    prequote: Vec::new(),
    postquote: Vec::new(),
    account: None,
    response_timeout_ms: 0,
    port: None,
    use_eprt: true,
    accept_timeout_ms: 0,
    use_ssl: 0,
    ssl_auth: 0,
    ccc: 0,
    use_pret: false,
    alternative_to_user: None,
    wildcard: false,
};

/// USE_SSL levels (CURLUSESSL_*).
pub const USESSL_TRY: u8 = 1;
pub const USESSL_CONTROL: u8 = 2;

/// FTPSSLAUTH=TLS (CURLFTPAUTH_TLS): AUTH TLS is tried first.
pub const FTPAUTH_TLS: u8 = 2;

/// How long a reply may take when FTP_RESPONSE_TIMEOUT is unset (or 0): libcurl 8's 60 seconds.
pub const DEFAULT_RESPONSE_TIMEOUT_MS: u64 = 60_000;

impl FtpOptions {
    /// The wait for one reply, in milliseconds (TIMEOUT, when sooner, still ends the transfer first).
    pub fn reply_wait_ms(&self) -> u64 {
        if self.response_timeout_ms > 0 {
            self.response_timeout_ms
        } else {
            DEFAULT_RESPONSE_TIMEOUT_MS
        }
    }
}

impl FtpOptions {
    /// The AUTH arguments in the order they are tried (libcurl's default starts with SSL).
    pub fn auth_order(&self) -> [&'static str; 2] {
        if self.ssl_auth == FTPAUTH_TLS {
            ["TLS", "SSL"]
        } else {
            ["SSL", "TLS"]
        }
    }

    /// What a pooled control connection must have been made with to serve these options: libcurl
    /// reuses one only for the same USE_SSL, CCC, account and alternative to USER.
    pub fn reuse_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.use_ssl, self.ccc, &self.account, &self.alternative_to_user).hash(&mut h);
        h.finish()
    }
}

/// The PRET argument for a transfer: the command that will move the data.
pub fn pret_arg(upload: bool, listing: bool, names_only: bool, file: &str) -> String {
    match (upload, listing) {
        (true, _) => format!("STOR {file}"),
        (false, true) if names_only => "NLST".to_string(),
        (false, true) => "LIST".to_string(),
        (false, false) => format!("RETR {file}"),
    }
}

/// A URL path with an encoded NUL or line break, which would end a command early.
#[derive(Debug, PartialEq, Eq)]
pub struct BadPath;

/// One complete server reply: its code and its lines as received (CRLF included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<Vec<u8>>,
}

impl Reply {
    /// The last line's text after the code, without the line end.
    pub fn text(&self) -> String {
        let l = self.lines.last().map(|l| l.as_slice()).unwrap_or(b"");
        let l = l.get(4..).unwrap_or(b"");
        String::from_utf8_lossy(l).trim_end_matches(['\r', '\n']).to_string()
    }
}

/// Assembles replies from bytes split anywhere. As in libcurl, a reply ends at the first line
/// starting with three digits and a space; every other line ("123-", text without a code)
/// continues it.
#[derive(Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    lines: Vec<Vec<u8>>,
}

/// The longest unfinished line libcurl buffers (its 64 KiB pingpong buffer): more is TOO_LARGE.
pub const MAX_LINE: usize = 64 * 1024;

/// Continuation lines a reply keeps (the rest went to HEADERFUNCTION): an endless multi-line
/// reply must not grow memory while it runs into the response timeout.
const KEEP_LINES: usize = 32;

/// A reply line's code, when it starts with three digits.
fn line_code(l: &[u8]) -> Option<u16> {
    if l.len() >= 3 && l[..3].iter().all(u8::is_ascii_digit) {
        Some(u16::from(l[0] - b'0') * 100 + u16::from(l[1] - b'0') * 10 + u16::from(l[2] - b'0'))
    } else {
        None
    }
}

impl ReplyReader {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete line, if one is buffered (delivered to HEADERFUNCTION as it comes).
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        let i = self.buf.iter().position(|&b| b == b'\n')?;
        Some(self.buf.drain(..=i).collect())
    }

    /// Bytes of a line still waiting for its end.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Feeds one line; returns the reply it completes.
    pub fn line(&mut self, l: Vec<u8>) -> Option<Reply> {
        match line_code(&l) {
            Some(code) if l.get(3) == Some(&b' ') => {
                self.lines.push(l);
                Some(Reply { code, lines: std::mem::take(&mut self.lines) })
            }
            _ => {
                if self.lines.len() < KEEP_LINES {
                    self.lines.push(l);
                }
                None
            }
        }
    }
}

/// The port of a 229 reply: "(|||port|)" (any delimiter character, as RFC 2428 allows); Err is
/// libcurl's message. Port 0 passes: the connect fails and libcurl falls back to PASV.
pub fn parse_epsv(text: &str) -> Result<u16, &'static str> {
    const WEIRD: &str = "Weirdly formatted EPSV reply";
    let open = text.find('(').ok_or(WEIRD)?;
    let rest = &text[open + 1..];
    let d = rest.chars().next().ok_or(WEIRD)?;
    let mut parts = rest.splitn(5, d);
    parts.next().ok_or(WEIRD)?;
    let (a, b) = (parts.next().ok_or(WEIRD)?, parts.next().ok_or(WEIRD)?);
    if !a.is_empty() || !b.is_empty() {
        return Err(WEIRD);
    }
    let port = parts.next().ok_or(WEIRD)?;
    if port.is_empty() || port.len() > 18 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WEIRD);
    }
    parts.next().ok_or(WEIRD)?;
    let n: u64 = port.parse().map_err(|_| WEIRD)?;
    u16::try_from(n).map_err(|_| "Illegal port number in EPSV reply")
}

/// The address and port of a 227 reply: the first place in the text where six numbers
/// "h1,h2,h3,h4,p1,p2" (each at most 255) start, as libcurl scans for them.
pub fn parse_pasv(text: &str) -> Option<([u8; 4], u16)> {
    let b = text.as_bytes();
    (0..b.len()).find_map(|i| six_numbers(&b[i..]))
}

fn six_numbers(mut b: &[u8]) -> Option<([u8; 4], u16)> {
    let mut n = [0u8; 6];
    for (k, slot) in n.iter_mut().enumerate() {
        if k > 0 {
            b = b.strip_prefix(b",")?;
        }
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 18 {
            return None;
        }
        let v: u64 = std::str::from_utf8(&b[..digits]).ok()?.parse().ok()?;
        *slot = u8::try_from(v).ok()?;
        b = &b[digits..];
    }
    Some(([n[0], n[1], n[2], n[3]], u16::from(n[4]) * 256 + u16::from(n[5])))
}

/// The size a 150 reply may carry: digits between '(' and " bytes".
pub fn size_from_150(text: &str) -> Option<u64> {
    let end = text.find(" bytes")?;
    let open = text[..end].rfind('(')?;
    let digits = &text[open + 1..end];
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The time of a 213 reply to MDTM ("YYYYMMDDhhmmss", UTC) in Unix seconds.
pub fn parse_mdtm(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t.get(..14)?;
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// What the URL's path asks for: directories to change into, a file (empty: a listing), and the
/// ";type=" suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpPath {
    /// The CWD arguments, in order (already shaped by the file method).
    pub dirs: Vec<String>,
    /// The file name the command takes (the whole path under NOCWD).
    pub file: String,
    /// ";type=a" (ASCII) or ";type=d" (names only) from the URL.
    pub type_a: bool,
    pub type_d: bool,
    /// The directory part as written ("sub/deeper/", "" for none): libcurl compares it with the
    /// last transfer's to skip the CWDs.
    pub dir_key: String,
}

/// Splits a URL path ("/a/b/c.txt;type=a") as libcurl does for the given file method.
/// BadPath for a path libcurl refuses (an encoded NUL or line break).
pub fn split_path(path: &str, method: FileMethod) -> Result<FtpPath, BadPath> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut path = path.strip_prefix('/').unwrap_or(path);
    let (mut type_a, mut type_d) = (false, false);
    if let Some(i) = path.rfind(";type=") {
        let t = &path[i + 6..];
        if t.len() == 1 {
            match t.as_bytes()[0].to_ascii_lowercase() {
                b'a' => type_a = true,
                b'd' => type_d = true,
                _ => {}
            }
            path = &path[..i];
        }
    }
    let decode = |s: &str| -> Result<String, BadPath> {
        let d = crate::engine::url::percent_decode(s);
        if d.contains(['\0', '\r', '\n']) {
            Err(BadPath)
        } else {
            Ok(d)
        }
    };
    let (dir_part, file) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    let mut dirs = Vec::new();
    let dir_key = if method == FileMethod::NoCwd || dir_part.is_empty() && !path.starts_with('/') {
        String::new()
    } else {
        decode(&path[..=dir_part.len()])?
    };
    match method {
        FileMethod::NoCwd => {
            return Ok(FtpPath { dirs, file: decode(path)?, type_a, type_d, dir_key });
        }
        FileMethod::SingleCwd => {
            if !dir_part.is_empty() {
                dirs.push(decode(dir_part)?);
            } else if path.starts_with('/') {
                dirs.push("/".into());
            }
        }
        FileMethod::MultiCwd => {
            if !dir_part.is_empty() || path.starts_with('/') {
                for (i, seg) in path[..dir_part.len()].split('/').enumerate() {
                    if seg.is_empty() {
                        // A leading empty segment ("//abs") is the root; others are skipped.
                        if i == 0 {
                            dirs.push("/".into());
                        }
                        continue;
                    }
                    dirs.push(decode(seg)?);
                }
            }
        }
    }
    Ok(FtpPath { dirs, file: decode(file)?, type_a, type_d, dir_key })
}

/// The entry path of a 257 reply to PWD: the quoted name, with doubled quotes undone.
pub fn parse_pwd(text: &str) -> Option<String> {
    let s = text.find('"')?;
    let mut out = String::new();
    let mut it = text[s + 1..].chars().peekable();
    while let Some(c) = it.next() {
        if c == '"' {
            if it.peek() == Some(&'"') {
                it.next();
                out.push('"');
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// What a control connection remembers between transfers (libcurl's reuse rules).
#[derive(Debug, Clone, Default)]
pub struct ConnState {
    /// The user logged in (and the password), for reuse only by the same credentials.
    pub user: String,
    pub password: String,
    /// The directory PWD reported after login.
    pub entry_path: Option<String>,
    /// The directory part of the last successful transfer's path (None after a failure or
    /// NOBODY): a transfer with the same one makes no CWD, any other starts from the entry path.
    pub prevpath: Option<String>,
    /// The TYPE in force (b'A' or b'I'), if one was set.
    pub type_now: Option<u8>,
    /// EPSV is tried: FTP_USE_EPSV as it was when the connection was made, and off once the
    /// server refused it (libcurl keeps both per connection).
    pub epsv: bool,
    /// EPRT is tried in active mode: FTP_USE_EPRT as it was, off once the server refused it.
    pub eprt: bool,
    /// The control connection speaks TLS (ftps://, or AUTH accepted).
    pub tls_ctl: bool,
    /// The server agreed to PROT P: data connections speak TLS.
    pub tls_data: bool,
}

/// Where FTPPORT asks to listen: an address ("-" or a name that is not one: None, the control
/// connection's) and a port range (0..=0: any).
pub fn parse_port_spec(spec: &str) -> (Option<std::net::IpAddr>, u16, u16) {
    let (host, ports) = if let Some(rest) = spec.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').unwrap_or("")),
            None => (rest, ""),
        }
    } else if spec.matches(':').count() > 1 {
        // A bare IPv6 address has no port part.
        (spec, "")
    } else {
        spec.split_once(':').unwrap_or((spec, ""))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
        None => {
            let p = ports.parse().unwrap_or(0);
            (p, p)
        }
    };
    let hi = if hi < lo { lo } else { hi };
    (host.parse().ok(), lo, hi)
}

/// The argument of PORT ("h1,h2,h3,h4,p1,p2"), None for an IPv6 address; and of EPRT.
pub fn port_arg(addr: std::net::SocketAddr) -> Option<String> {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => {
            let o = ip.octets();
            Some(format!("{},{},{},{},{},{}", o[0], o[1], o[2], o[3], addr.port() >> 8, addr.port() & 0xff))
        }
        std::net::IpAddr::V6(_) => None,
    }
}

pub fn eprt_arg(addr: std::net::SocketAddr) -> String {
    let fam = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{fam}|{}|{}|", addr.ip(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(data: &[u8]) -> Vec<Reply> {
        let mut r = ReplyReader::default();
        let mut out = Vec::new();
        for b in data.chunks(1) {
            r.push(b);
            while let Some(l) = r.next_line() {
                if let Some(rep) = r.line(l) {
                    out.push(rep);
                }
            }
        }
        out
    }

    #[test]
    fn single_and_multiline_replies() {
        let r = feed(b"220 hi\r\n230-Welcome\r\n 230 not the end\r\n230 done\r\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].code, 220);
        assert_eq!(r[1].code, 230);
        assert_eq!(r[1].lines.len(), 3);
        assert_eq!(r[1].text(), "done");
    }

    #[test]
    fn port_specs_and_arguments() {
        let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(parse_port_spec("-"), (None, 0, 0));
        assert_eq!(parse_port_spec("eth0"), (None, 0, 0));
        assert_eq!(parse_port_spec("127.0.0.1"), (Some(lo), 0, 0));
        assert_eq!(parse_port_spec("127.0.0.1:4000-4010"), (Some(lo), 4000, 4010));
        assert_eq!(parse_port_spec("-:5000"), (None, 5000, 5000));
        assert_eq!(parse_port_spec("[::1]:7000"), (Some("::1".parse().unwrap()), 7000, 7000));
        assert_eq!(parse_port_spec("::1"), (Some("::1".parse().unwrap()), 0, 0));
        let a: std::net::SocketAddr = "127.0.0.1:4242".parse().unwrap();
        assert_eq!(port_arg(a).unwrap(), "127,0,0,1,16,146");
        assert_eq!(eprt_arg(a), "|1|127.0.0.1|4242|");
        let b: std::net::SocketAddr = "[::1]:21".parse().unwrap();
        assert_eq!((port_arg(b), eprt_arg(b)), (None, "|2|::1|21|".to_string()));
    }

    #[test]
    fn auth_order_pret_and_reuse() {
        let mut o = FtpOptions::default();
        assert_eq!(o.auth_order(), ["SSL", "TLS"]);
        o.ssl_auth = 1;
        assert_eq!(o.auth_order(), ["SSL", "TLS"]);
        o.ssl_auth = FTPAUTH_TLS;
        assert_eq!(o.auth_order(), ["TLS", "SSL"]);
        let k = o.reuse_key();
        o.ssl_auth = 0;
        assert_eq!(o.reuse_key(), k, "FTPSSLAUTH does not keep a connection from reuse");
        o.use_ssl = 3;
        assert_ne!(o.reuse_key(), k);
        assert_eq!(pret_arg(false, false, false, "a b"), "RETR a b");
        assert_eq!(pret_arg(false, true, true, ""), "NLST");
        assert_eq!(pret_arg(false, true, false, ""), "LIST");
        assert_eq!(pret_arg(true, false, false, "x"), "STOR x");
    }

    #[test]
    fn reply_wait_defaults_to_a_minute() {
        let mut o = FtpOptions::default();
        assert_eq!(o.reply_wait_ms(), 60_000);
        o.response_timeout_ms = 1500;
        assert_eq!(o.reply_wait_ms(), 1500);
    }

    #[test]
    fn lines_without_a_final_code_continue_the_reply() {
        // libcurl ends a reply at any "NNN " line: text without a code, "NNN-" and a bare "220"
        // continue it, and an endless reply keeps only a few lines.
        let r = feed(b"hello\r\n220\r\n331-a\r\n230 in\r\n");
        assert_eq!((r.len(), r[0].code, r[0].lines.len(), r[0].text()), (1, 230, 4, "in".to_string()));
        let mut rd = ReplyReader::default();
        for _ in 0..10_000 {
            assert!(rd.line(b"220-more\r\n".to_vec()).is_none());
        }
        let r = rd.line(b"220 end\r\n".to_vec()).expect("a final line");
        assert_eq!((r.lines.len(), r.text()), (KEEP_LINES + 1, "end".to_string()));
    }

    #[test]
    fn passive_replies() {
        assert_eq!(parse_epsv("Entering Extended Passive Mode (|||9371|)"), Ok(9371));
        assert_eq!(parse_epsv("Entering Extended Passive Mode (!!!21!)"), Ok(21));
        assert_eq!(parse_epsv("(|||0|)"), Ok(0));
        assert_eq!(parse_epsv("(|||99999|)"), Err("Illegal port number in EPSV reply"));
        assert_eq!(parse_epsv("Entering Extended Passive Mode (|1|2|3|)"), Err("Weirdly formatted EPSV reply"));
        assert_eq!(parse_epsv("nothing"), Err("Weirdly formatted EPSV reply"));
        assert_eq!(parse_pasv("Entering Passive Mode (127,0,0,1,145,138)."), Some(([127, 0, 0, 1], 145 * 256 + 138)));
        assert_eq!(parse_pasv("Entering Passive Mode 10,1,2,3,4,5"), Some(([10, 1, 2, 3], 1029)));
        assert_eq!(parse_pasv("Entering Passive Mode (1,2,3)"), None);
        // libcurl scans on past a number over 255: "(999,..." reads as 99.1.1.1.
        assert_eq!(parse_pasv("(999,1,1,1,1,1)"), Some(([99, 1, 1, 1], 257)));
        assert_eq!(parse_pasv("(300,1,1,1,1,x)"), None);
        assert_eq!(size_from_150("Opening BINARY mode data connection for f (2241 bytes)."), Some(2241));
        assert_eq!(size_from_150("Opening (a2241 bytes)"), None);
        assert_eq!(size_from_150("here"), None);
    }

    #[test]
    fn mdtm_and_pwd() {
        assert_eq!(parse_mdtm("20261129214151"), Some(1795988511));
        assert_eq!(parse_mdtm("19700101000000"), Some(0));
        assert_eq!(parse_mdtm("2026"), None);
        assert_eq!(parse_pwd("\"/tmp/x\" is the current directory"), Some("/tmp/x".into()));
        assert_eq!(parse_pwd("\"/a \"\"q\"\"\" ok"), Some("/a \"q\"".into()));
        assert_eq!(parse_pwd("no quotes"), None);
    }

    #[test]
    fn paths_by_file_method() {
        let p = split_path("/sub/deeper/d.txt", FileMethod::MultiCwd).unwrap();
        assert_eq!(p.dirs, ["sub", "deeper"]);
        assert_eq!(p.file, "d.txt");
        assert_eq!(p.dir_key, "sub/deeper/");
        assert_eq!(split_path("/x.txt", FileMethod::MultiCwd).unwrap().dir_key, "");
        assert_eq!(split_path("/sub/x", FileMethod::NoCwd).unwrap().dir_key, "");
        let p = split_path("/sub/deeper/d.txt;type=a", FileMethod::SingleCwd).unwrap();
        assert_eq!((p.dirs, p.file.as_str(), p.type_a), (vec!["sub/deeper".to_string()], "d.txt", true));
        let p = split_path("/sub/deeper/d.txt", FileMethod::NoCwd).unwrap();
        assert_eq!((p.dirs.len(), p.file.as_str()), (0, "sub/deeper/d.txt"));
        let p = split_path("/sub/", FileMethod::MultiCwd).unwrap();
        assert_eq!((p.dirs, p.file.as_str()), (vec!["sub".to_string()], ""));
        let p = split_path("/", FileMethod::MultiCwd).unwrap();
        assert!(p.dirs.is_empty() && p.file.is_empty());
        let p = split_path("//etc/x", FileMethod::MultiCwd).unwrap();
        assert_eq!(p.dirs, ["/", "etc"]);
        let p = split_path("/a%20b/c%2fd", FileMethod::MultiCwd).unwrap();
        assert_eq!((p.dirs, p.file.as_str()), (vec!["a b".to_string()], "c/d"));
        assert!(split_path("/a%0d%0aDELE%20x", FileMethod::MultiCwd).is_err());
    }
}
