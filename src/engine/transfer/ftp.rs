//! ftp:// and ftps:// URLs: the command sequence of `engine::ftp` over a control connection from the
//! pool and a data connection per transfer (both sockets in the reactor, so socket_action sees them).
//! FTPS: TLS from the first byte (ftps://) or after AUTH (USE_SSL); the data connection's TLS
//! resumes the control connection's session (the TLS config's session store), as servers require.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::connect::TlsSetup;
use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::ftp::{self as f, ConnState, Reply, ReplyReader};
use crate::engine::net::{self, Io, Sock, Stream, TlsStream};
use crate::engine::pool::Conn;
use crate::engine::rt::with_deadline;
use crate::engine::url::Url;

/// libcurl's FTP error codes that the rest of the engine has no use for.
const FTP_WEIRD_PASV_REPLY: i32 = 13;
const FTP_WEIRD_227_FORMAT: i32 = 14;
const FTP_COULDNT_SET_TYPE: i32 = 17;
const FTP_COULDNT_RETR_FILE: i32 = 19;
const QUOTE_ERROR: i32 = 21;
const FTP_COULDNT_USE_REST: i32 = 31;
const FTP_ACCEPT_FAILED: i32 = 10;
const FTP_ACCEPT_TIMEOUT: i32 = 12;
const FTP_PORT_FAILED: i32 = 30;
const USE_SSL_FAILED: i32 = 64;
const FTP_PRET_FAILED: i32 = 84;
const FTP_BAD_FILE_LIST: i32 = 87;
const SSL_SHUTDOWN_FAILED: i32 = 80;
/// ACCEPTTIMEOUT_MS unset: libcurl's minute for the server to connect in active mode.
const DEFAULT_ACCEPT_TIMEOUT_MS: u64 = 60_000;

/// The data connection: made (passive mode), or to be accepted after the 1xx reply (active).
enum Data {
    Made(Sock),
    Listening(Sock),
}

/// The data connection once made (and its TLS, under PROT P).
enum DataConn {
    Plain(Sock),
    Tls(Box<TlsStream<Sock>>),
}

impl Io for DataConn {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
        match self {
            DataConn::Plain(s) => s.poll_read(cx, buf),
            DataConn::Tls(t) => t.poll_read(cx, buf),
        }
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self {
            DataConn::Plain(s) => s.poll_write(cx, buf),
            DataConn::Tls(t) => t.poll_write(cx, buf),
        }
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self {
            DataConn::Plain(_) => Poll::Ready(Ok(())),
            DataConn::Tls(t) => t.poll_flush(cx),
        }
    }
    fn sock(&self) -> &Sock {
        match self {
            DataConn::Plain(s) => s,
            DataConn::Tls(t) => t.sock(),
        }
    }
    fn sock_mut(&mut self) -> &mut Sock {
        match self {
            DataConn::Plain(s) => s,
            DataConn::Tls(t) => t.sock_mut(),
        }
    }
}

/// Why the data connection could not be had.
enum DataErr {
    AcceptTimeout,
    Accept(std::io::Error),
    Tls(std::io::Error),
}

/// Accepting (active mode) and the TLS handshake of the data connection: it runs while the reply to
/// RETR/STOR is awaited, as a server may finish its side of the TLS handshake before it replies.
type DataFut = Pin<Box<dyn Future<Output = std::result::Result<DataConn, DataErr>>>>;

/// What one pass of a transfer does with what RETR/LIST brings: WILDCARDMATCH lists the
/// directory into a buffer first, then fetches each file with the size the listing gave.
enum Pass<'a> {
    Plain,
    List(&'a mut Vec<u8>),
    File(Option<u64>),
}

/// The control connection's TLS after AUTH, which CCC can take off again: the same TCP socket
/// then carries the commands in clear text.
struct CtlTls {
    tls: TlsStream<Stream>,
    state: Rc<std::cell::Cell<u8>>,
}

/// CtlTls states: TLS on, a close_notify to send at the next flush, TLS off.
const CTL_TLS_ON: u8 = 0;
const CTL_TLS_CLOSING: u8 = 1;
const CTL_TLS_OFF: u8 = 2;

impl Io for CtlTls {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
        if self.state.get() == CTL_TLS_OFF {
            return self.tls.inner.poll_read(cx, buf);
        }
        self.tls.poll_read(cx, buf)
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.state.get() == CTL_TLS_OFF {
            return self.tls.inner.poll_write(cx, buf);
        }
        self.tls.poll_write(cx, buf)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.state.get() {
            CTL_TLS_OFF => self.tls.inner.poll_flush(cx),
            s => {
                if s == CTL_TLS_CLOSING {
                    self.tls.tls.send_close_notify();
                    self.state.set(CTL_TLS_ON);
                }
                self.tls.poll_flush(cx)
            }
        }
    }
    fn sock(&self) -> &Sock {
        self.tls.sock()
    }
    fn sock_mut(&mut self) -> &mut Sock {
        self.tls.sock_mut()
    }
}

/// The control connection of the transfer in flight and what was read from it.
struct Ctl {
    conn: Conn,
    /// The URL's host: the TLS server name of both connections.
    host: String,
    rd: ReplyReader,
    st: ConnState,
    /// The reply stream is in step (no I/O error, no reply cut short): the connection may be reused.
    sane: bool,
    /// The state of the TLS that AUTH put on the control connection (None: none, or ftps://'s).
    ctl_tls: Option<Rc<std::cell::Cell<u8>>>,
}

fn weird(msg: impl Into<String>) -> Error {
    Error::new(code::WEIRD_SERVER_REPLY, msg)
}

impl Xfer {
    pub(super) async fn run_ftp(&mut self, url: Rc<Url>) -> Result<()> {
        let fo = self.o.ftp.clone();
        let path = f::split_path(&url.path, fo.method.get())
            .map_err(|_| Error::new(code::URL_MALFORMAT, "URL rejected: Malformed input to a URL function"))?;
        let dec = crate::engine::url::percent_decode;
        // Credentials: the URL's, else USERPWD / USERNAME / PASSWORD, else anonymous as libcurl.
        let (user, pass) = match (&url.user, &self.o.username) {
            (Some(u), _) => (dec(u), url.password.as_deref().map(dec).unwrap_or_default()),
            (None, Some(u)) => (u.clone(), self.o.password.clone().unwrap_or_default()),
            (None, None) => ("anonymous".to_string(), "ftp@example.com".to_string()),
        };
        if user.contains(['\r', '\n']) || pass.contains(['\r', '\n']) {
            return Err(Error::new(code::URL_MALFORMAT, "URL rejected: Malformed input to a URL function"));
        }
        // A pooled control connection serves only the user it logged in.
        let (conn, st) = loop {
            let mut c = self.connect(&url, true).await?;
            match c.ftp.take() {
                Some(s) if s.user == user && s.password == pass => break (c, Some(*s)),
                Some(_) => continue,
                None => break (c, None),
            }
        };
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = conn.primary.port() as i64;
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = conn.local.port() as i64;
        self.info.conn_id = conn.id;
        *self.easy.current_sock.borrow_mut() = Some((conn.stream.sock().fd(), Rc::downgrade(&self.sh.reactor)));
        let fresh = st.is_none();
        let host = url.host.clone();
        let mut ctl =
            Ctl { conn, host, rd: ReplyReader::default(), st: st.unwrap_or_default(), sane: true, ctl_tls: None };
        if fresh {
            // The greeting and AUTH own the connection: TLS wraps its stream.
            let secured = match Box::pin(self.ftp_greet(&mut ctl, &fo, url.scheme == "ftps")).await {
                Ok(true) => Box::pin(self.ftp_start_tls(ctl)).await,
                Ok(false) => Ok(ctl),
                Err(e) => Err(e),
            };
            ctl = match secured {
                Ok(c) => c,
                Err(e) => {
                    *self.easy.current_sock.borrow_mut() = None;
                    return Err(e);
                }
            };
        }
        if !ctl.conn.certinfo.is_empty() {
            self.info.certinfo = ctl.conn.certinfo.clone();
        }
        let wild = fo.wildcard && !self.o.upload && !self.o.nobody && !path.file.is_empty();
        let r = if wild {
            // libcurl changes into a wildcard's directory even under NOCWD.
            let method =
                if fo.method.get() == f::FileMethod::NoCwd { f::FileMethod::SingleCwd } else { fo.method.get() };
            let path = f::split_path(&url.path, method).unwrap_or(path);
            Box::pin(self.ftp_wildcard(&mut ctl, &fo, &path, wild_pattern(&url.path), fresh, (&user, &pass))).await
        } else {
            Box::pin(self.ftp_session(&mut ctl, &fo, &path, fresh, (&user, &pass), Pass::Plain)).await
        };
        *self.easy.current_sock.borrow_mut() = None;
        if let Err(e) = &r {
            // libcurl keeps the control connection only after these failures; others close it.
            const KEPT: [i32; 13] = [36, 13, 30, 10, 12, 17, 19, 18, 25, 9, 63, 78, 23];
            if !KEPT.contains(&e.code) {
                ctl.sane = false;
            }
        }
        if ctl.sane && !self.o.forbid_reuse {
            let mut conn = ctl.conn;
            conn.ftp = Some(Box::new(ctl.st));
            self.keep_conn(conn);
        }
        r
    }

    async fn ftp_session(
        &mut self,
        ctl: &mut Ctl,
        fo: &f::FtpOptions,
        path: &f::FtpPath,
        fresh: bool,
        (user, pass): (&str, &str),
        how: Pass<'_>,
    ) -> Result<()> {
        if fresh {
            self.ftp_login(ctl, fo, user, pass).await?;
        }
        if self.o.upload && path.file.is_empty() {
            return Err(Error::new(code::URL_MALFORMAT, "Uploading to a URL without a filename"));
        }
        self.info.pretransfer_time = elapsed(self.start);
        self.ftp_quote(ctl, &fo.quote).await?;
        if matches!(how, Pass::List(_)) {
            self.text(format_args!("Wildcard - Parsing started"));
        }
        self.ftp_cwd(ctl, fo, path, fresh).await?;
        // DIRLISTONLY lists the directory even when the URL names a file, as libcurl does.
        // A wildcard's files are fetched whatever DIRLISTONLY says (its listing is then NLST's).
        let names_only = fo.dirlist_only && !matches!(how, Pass::File(_));
        let listing = path.file.is_empty() || (names_only && !self.o.upload);
        let ascii = listing || path.type_a || fo.transfer_text;
        if self.o.nobody {
            if listing {
                return Ok(());
            }
            return self.ftp_info_only(ctl, &path.file, ascii).await;
        }
        if self.o.filetime && !listing {
            self.ftp_mdtm(ctl, &path.file, false).await?;
        }
        let data = if fo.port.is_some() {
            Data::Listening(self.ftp_active(ctl, fo).await?)
        } else {
            let pret = f::pret_arg(self.o.upload, path.file.is_empty(), names_only, &path.file);
            Data::Made(self.ftp_passive(ctl, fo, &pret).await?)
        };
        self.ftp_type(ctl, ascii).await?;
        self.ftp_quote(ctl, &fo.prequote).await?;
        if self.o.upload {
            self.ftp_store(ctl, fo, &path.file, data).await?;
        } else {
            self.ftp_retrieve(ctl, fo, path, listing, ascii, data, how).await?;
        }
        self.ftp_quote(ctl, &fo.postquote).await?;
        self.text(format_args!("Remembering we are in directory \"{}\"", path.dir_key));
        ctl.st.prevpath = Some(path.dir_key.clone());
        Ok(())
    }

    /// WILDCARDMATCH: LIST the URL's directory, then RETR each regular file whose name matches
    /// the pattern (FNMATCH_FUNCTION's verdict when set), one pass per file as libcurl makes them.
    async fn ftp_wildcard(
        &mut self,
        ctl: &mut Ctl,
        fo: &f::FtpOptions,
        path: &f::FtpPath,
        pattern: Vec<u8>,
        fresh: bool,
        login: (&str, &str),
    ) -> Result<()> {
        let dir = f::FtpPath { file: String::new(), type_d: false, ..path.clone() };
        let mut listing = Vec::new();
        self.ftp_session(ctl, fo, &dir, fresh, login, Pass::List(&mut listing)).await?;
        let entries =
            f::list::parse(&listing).map_err(|_| Error::new(FTP_BAD_FILE_LIST, "Unable to parse FTP file list"))?;
        let custom = self.cb.has_fnmatch();
        let matched: Vec<f::list::Entry> =
            entries
                .into_iter()
                .filter(|e| {
                    if custom {
                        self.cb.fnmatch(&pattern, &e.name) == 0
                    } else {
                        f::list::fnmatch(&pattern, &e.name)
                    }
                })
                .collect();
        self.ftp_next_pass(ctl);
        for e in &matched {
            let name = String::from_utf8_lossy(&e.name).into_owned();
            self.text(format_args!("Wildcard - START of \"{name}\""));
            if e.kind != f::list::Kind::File {
                continue;
            }
            // Each file is a transfer of its own: its counters start again.
            self.dl_now = 0;
            self.dl_total = 0;
            self.info.content_length_download = -1.0;
            let file = f::FtpPath { file: name, type_d: false, ..path.clone() };
            self.ftp_session(ctl, fo, &file, false, login, Pass::File(e.size)).await?;
            self.ftp_next_pass(ctl);
        }
        // libcurl's last pass transfers nothing and starts the infos afresh.
        self.text(format_args!("Remembering we are in directory \"{}\"", path.dir_key));
        self.dl_now = 0;
        self.dl_total = 0;
        let i = &mut self.info;
        (i.response_code, i.num_connects, i.filetime, i.header_size, i.request_size) = (0, 0, -1, 0, 0);
        (i.content_length_download, i.namelookup_time, i.connect_time, i.appconnect_time) = (-1.0, 0.0, 0.0, 0.0);
        (i.pretransfer_time, i.starttransfer_time) = (0.0, 0.0);
        self.publish_info();
        if matched.is_empty() {
            return Err(Error::new(code::REMOTE_FILE_NOT_FOUND, "Remote file not found"));
        }
        Ok(())
    }

    /// What libcurl says between two passes of a wildcard transfer over the same connection.
    fn ftp_next_pass(&mut self, ctl: &Ctl) {
        let (id, host, port) = (ctl.conn.id, &ctl.conn.key.host, ctl.conn.key.port);
        self.text(format_args!("Connection #{id} to host {host}:{port} left intact"));
        self.text(format_args!("Reusing existing ftp: connection with host {host}"));
    }

    /// One command on the control connection (shown to DEBUGFUNCTION as libcurl sends it).
    async fn ftp_send(&mut self, ctl: &mut Ctl, cmd: &str) -> Result<()> {
        let line = format!("{cmd}\r\n");
        self.debug_data(debug_kind::HEADER_OUT, line.as_bytes());
        if let Err(e) = ctl.conn.stream.write_all(line.as_bytes()).await {
            ctl.sane = false;
            return Err(Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")));
        }
        Ok(())
    }

    /// The next complete reply; each line goes to HEADERFUNCTION as it arrives, as in libcurl.
    async fn ftp_reply(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions) -> Result<Reply> {
        let mut buf = [0u8; 2048];
        // The whole reply is due within the response timeout, however slowly it drips in.
        let wait = Some(Instant::now() + Duration::from_millis(fo.reply_wait_ms()));
        loop {
            while let Some(line) = ctl.rd.next_line() {
                self.debug_data(debug_kind::HEADER_IN, &line);
                match self.cb.header(&line) {
                    Flow::Continue | Flow::Pause => {}
                    Flow::Abort(e) => {
                        ctl.sane = false;
                        return Err(e);
                    }
                }
                if let Some(r) = ctl.rd.line(line) {
                    self.info.response_code = i64::from(r.code);
                    self.publish_info();
                    return Ok(r);
                }
            }
            let fail = |x: &mut Self, ctl: &mut Ctl, e: Error| {
                ctl.sane = false;
                x.zero_response_code();
                Err(e)
            };
            if ctl.rd.pending() > f::MAX_LINE {
                return fail(self, ctl, Error::new(code::TOO_LARGE, "A value or data field grew larger than allowed"));
            }
            let reactor = self.sh.reactor.clone();
            let n = match with_deadline(&reactor, wait, ctl.conn.stream.read(&mut buf)).await {
                None => return fail(self, ctl, Error::new(code::OPERATION_TIMEDOUT, "server response timeout")),
                // libcurl reads a close as a failed read.
                Some(Ok(0)) => {
                    return fail(self, ctl, Error::new(code::RECV_ERROR, "response reading failed (errno: 11)"))
                }
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    return fail(self, ctl, Error::new(code::RECV_ERROR, format!("response reading failed ({e})")))
                }
            };
            // libcurl stores the code of every read that completes no reply: 0 until one does.
            self.zero_response_code();
            ctl.rd.push(&buf[..n]);
        }
    }

    /// RESPONSE_CODE while a reply is still incomplete (or failed), as libcurl keeps it.
    fn zero_response_code(&mut self) {
        if self.info.response_code != 0 {
            self.info.response_code = 0;
            self.publish_info();
        }
    }

    async fn ftp_cmd(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, cmd: &str) -> Result<Reply> {
        self.ftp_send(ctl, cmd).await?;
        self.ftp_reply(ctl, fo).await
    }

    /// The greeting, and AUTH under USE_SSL (SSL then TLS, or the other way round with FTPSSLAUTH).
    /// Ok(true): the server agreed, TLS starts now.
    async fn ftp_greet(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, implicit: bool) -> Result<bool> {
        let r = self.ftp_reply(ctl, fo).await?;
        if r.code != 220 {
            ctl.sane = false;
            return Err(weird(format!("Got a {:03} ftp-server response when 220 was expected", r.code)));
        }
        if implicit {
            ctl.st.tls_ctl = true;
            return Ok(false);
        }
        if fo.use_ssl == 0 {
            return Ok(false);
        }
        for how in fo.auth_order() {
            let r = self.ftp_cmd(ctl, fo, &format!("AUTH {how}")).await?;
            if r.code == 234 || r.code == 334 {
                return Ok(true);
            }
        }
        if fo.use_ssl > f::USESSL_TRY {
            ctl.sane = false;
            return Err(Error::new(USE_SSL_FAILED, "Requested SSL level failed"));
        }
        Ok(false)
    }

    /// TLS over the control connection after AUTH: checked as for https (verification, pinning,
    /// CERTINFO, SSL_VERIFYRESULT).
    async fn ftp_start_tls(&mut self, mut ctl: Ctl) -> Result<Ctl> {
        let setup = self.ftp_tls_config(&ctl.host)?;
        let t = self.tls_handshake(ctl.conn.stream, setup, &ctl.host).await?;
        if self.o.certinfo {
            ctl.conn.certinfo = t.tls.peer_certificates().map(crate::engine::tls::cert_info).unwrap_or_default();
        }
        let state = Rc::new(std::cell::Cell::new(CTL_TLS_ON));
        ctl.ctl_tls = Some(state.clone());
        ctl.conn.stream = Stream::new(CtlTls { tls: t, state });
        ctl.st.tls_ctl = true;
        Ok(ctl)
    }

    /// The TLS config FTPS uses (no ALPN, as libcurl offers none for FTP) and the server name.
    fn ftp_tls_config(&self, host: &str) -> Result<TlsSetup> {
        self.tls_setup(host, Vec::new())
    }

    async fn ftp_login(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, user: &str, pass: &str) -> Result<()> {
        let mut r = self.ftp_cmd(ctl, fo, &format!("USER {user}")).await?;
        if r.code >= 400 {
            // FTP_ALTERNATIVE_TO_USER: one more try, its reply read as USER's.
            if let Some(alt) = fo.alternative_to_user.clone() {
                r = self.ftp_cmd(ctl, fo, &alt).await?;
            }
        }
        if r.code == 331 {
            r = self.ftp_cmd(ctl, fo, &format!("PASS {pass}")).await?;
        }
        if r.code == 332 {
            let Some(acct) = fo.account.clone() else {
                ctl.sane = false;
                return Err(Error::new(code::LOGIN_DENIED, "ACCT requested but none available"));
            };
            r = self.ftp_cmd(ctl, fo, &format!("ACCT {acct}")).await?;
            if r.code / 100 != 2 {
                ctl.sane = false;
                return Err(Error::new(code::LOGIN_DENIED, format!("ACCT rejected by server: {:03}", r.code)));
            }
        }
        if r.code / 100 != 2 {
            ctl.sane = false;
            return Err(Error::new(code::LOGIN_DENIED, format!("Access denied: {:03}", r.code)));
        }
        ctl.st.epsv = fo.use_epsv;
        ctl.st.eprt = fo.use_eprt;
        ctl.st.user = user.to_string();
        ctl.st.password = pass.to_string();
        if ctl.st.tls_ctl {
            self.ftp_protect(ctl, fo).await?;
        }
        let r = self.ftp_cmd(ctl, fo, "PWD").await?;
        if r.code == 257 {
            ctl.st.entry_path = f::parse_pwd(&r.text());
            if let Some(p) = &ctl.st.entry_path {
                self.text(format_args!("Entry path is '{p}'"));
            }
        }
        Ok(())
    }

    /// PBSZ 0 and PROT P (C under USESSL_CONTROL) once logged in over TLS, then CCC if asked.
    async fn ftp_protect(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions) -> Result<()> {
        // Any reply to PBSZ will do, as in libcurl.
        self.ftp_cmd(ctl, fo, "PBSZ 0").await?;
        let private = fo.use_ssl != f::USESSL_CONTROL;
        let r = self.ftp_cmd(ctl, fo, if private { "PROT P" } else { "PROT C" }).await?;
        if r.code / 100 == 2 {
            ctl.st.tls_data = private;
        } else if fo.use_ssl > f::USESSL_CONTROL {
            ctl.sane = false;
            return Err(Error::new(USE_SSL_FAILED, "Requested SSL level failed"));
        }
        if fo.ccc != 0 {
            let r = self.ftp_cmd(ctl, fo, "CCC").await?;
            // A refusal leaves TLS on and the transfer goes on (libcurl's way).
            if r.code >= 500 {
                return Ok(());
            }
            let Some(state) = ctl.ctl_tls.clone().filter(|_| r.code / 100 == 2) else {
                // ftps://'s TLS (made with the connection) is not one this can take off.
                ctl.sane = false;
                return Err(Error::new(code::NOT_BUILT_IN, "Failed to clear the command channel (CCC)"));
            };
            self.ftp_clear_channel(ctl, fo, &state).await?;
        }
        Ok(())
    }

    /// CCC accepted: TLS ends as libcurl ends it with OpenSSL (CCC_ACTIVE sends its close_notify
    /// first; both wait for the server's), then the commands go on in clear on the same socket.
    async fn ftp_clear_channel(
        &mut self,
        ctl: &mut Ctl,
        fo: &f::FtpOptions,
        state: &std::cell::Cell<u8>,
    ) -> Result<()> {
        /// CURLFTPSSL_CCC_ACTIVE
        const CCC_ACTIVE: u8 = 2;
        let failed = |e: std::io::Error| Error::new(SSL_SHUTDOWN_FAILED, format!("SSL shutdown failed: {e}"));
        if fo.ccc == CCC_ACTIVE {
            state.set(CTL_TLS_CLOSING);
            ctl.conn.stream.write_all(b"").await.map_err(|e| {
                ctl.sane = false;
                failed(e)
            })?;
        }
        let wait = Some(Instant::now() + Duration::from_millis(fo.reply_wait_ms()));
        let reactor = self.sh.reactor.clone();
        let mut buf = [0u8; 256];
        loop {
            match with_deadline(&reactor, wait, ctl.conn.stream.read(&mut buf)).await {
                // The server's close_notify.
                Some(Ok(0)) => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    ctl.sane = false;
                    return Err(failed(e));
                }
                None => {
                    ctl.sane = false;
                    return Err(Error::new(code::OPERATION_TIMEDOUT, "server response timeout"));
                }
            }
        }
        state.set(CTL_TLS_OFF);
        Ok(())
    }

    /// QUOTE / PREQUOTE / POSTQUOTE: a failing command ends the transfer with QUOTE_ERROR unless
    /// it starts with "*".
    async fn ftp_quote(&mut self, ctl: &mut Ctl, cmds: &[String]) -> Result<()> {
        let fo = self.o.ftp.clone();
        for c in cmds {
            let (cmd, may_fail) = match c.strip_prefix('*') {
                Some(rest) => (rest, true),
                None => (c.as_str(), false),
            };
            let r = self.ftp_cmd(ctl, &fo, cmd).await?;
            if r.code >= 400 && !may_fail {
                return Err(Error::new(QUOTE_ERROR, format!("QUOT command failed with {:03}", r.code)));
            }
        }
        Ok(())
    }

    /// Changes into the URL's directories; a reused connection goes back to the entry path
    /// first, unless the last transfer was in the same directory (libcurl's rules).
    async fn ftp_cwd(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, path: &f::FtpPath, fresh: bool) -> Result<()> {
        let old = if fresh { Some("") } else { ctl.st.prevpath.as_deref() };
        let same = old == Some(path.dir_key.as_str());
        ctl.st.prevpath = None;
        if same {
            self.text(format_args!("Request has same path as previous transfer"));
            return Ok(());
        }
        let absolute = path.dirs.first().is_some_and(|d| d.starts_with('/'));
        if !fresh && !absolute {
            if let Some(entry) = ctl.st.entry_path.clone() {
                let r = self.ftp_cmd(ctl, fo, &format!("CWD {entry}")).await?;
                if r.code / 100 != 2 {
                    return Err(Error::new(
                        code::REMOTE_ACCESS_DENIED,
                        "Server denied you to change to the given directory",
                    ));
                }
            }
        }
        for d in &path.dirs {
            let r = self.ftp_cmd(ctl, fo, &format!("CWD {d}")).await?;
            if r.code / 100 != 2 {
                let mut ok = false;
                if fo.create_dirs != 0 {
                    // FTP_CREATE_MISSING_DIRS: MKD, then CWD again (2 also retries after a failed MKD).
                    let m = self.ftp_cmd(ctl, fo, &format!("MKD {d}")).await?;
                    if m.code / 100 == 2 || fo.create_dirs == 2 {
                        ok = self.ftp_cmd(ctl, fo, &format!("CWD {d}")).await?.code / 100 == 2;
                    }
                    if !ok && m.code / 100 != 2 {
                        return Err(Error::new(
                            code::REMOTE_ACCESS_DENIED,
                            format!("Failed to MKD dir: {:03}", m.code),
                        ));
                    }
                }
                if !ok {
                    return Err(Error::new(
                        code::REMOTE_ACCESS_DENIED,
                        "Server denied you to change to the given directory",
                    ));
                }
            }
        }
        Ok(())
    }

    async fn ftp_type(&mut self, ctl: &mut Ctl, ascii: bool) -> Result<()> {
        let want = if ascii { b'A' } else { b'I' };
        if ctl.st.type_now == Some(want) {
            return Ok(());
        }
        let fo = self.o.ftp.clone();
        let r = self.ftp_cmd(ctl, &fo, &format!("TYPE {}", want as char)).await?;
        if r.code / 100 != 2 {
            return Err(Error::new(FTP_COULDNT_SET_TYPE, "Couldn't set desired mode"));
        }
        ctl.st.type_now = Some(want);
        Ok(())
    }

    /// MDTM for OPT_FILETIME; under NOBODY the time also goes out as a Last-Modified line.
    async fn ftp_mdtm(&mut self, ctl: &mut Ctl, file: &str, fake_header: bool) -> Result<()> {
        let fo = self.o.ftp.clone();
        let r = self.ftp_cmd(ctl, &fo, &format!("MDTM {file}")).await?;
        if r.code == 213 {
            if let Some(t) = f::parse_mdtm(&r.text()) {
                self.info.filetime = t;
                if fake_header {
                    let line = format!("Last-Modified: {}\r\n", crate::engine::date::http_date(t));
                    self.ftp_fake_header(&line).await?;
                }
            }
        } else if r.code == 550 {
            return Err(Error::new(code::REMOTE_FILE_NOT_FOUND, "Given file does not exist"));
        }
        Ok(())
    }

    /// libcurl's made-up header lines for NOBODY, which it hands to both callbacks.
    async fn ftp_fake_header(&mut self, line: &str) -> Result<()> {
        match self.cb.header(line.as_bytes()) {
            Flow::Abort(e) => return Err(e),
            Flow::Continue | Flow::Pause => {}
        }
        self.deliver_body(line.as_bytes()).await
    }

    /// SIZE: the file's size, None when the server does not say; 550 is a missing file.
    async fn ftp_size(&mut self, ctl: &mut Ctl, file: &str) -> Result<Option<u64>> {
        let fo = self.o.ftp.clone();
        let r = self.ftp_cmd(ctl, &fo, &format!("SIZE {file}")).await?;
        if r.code == 213 {
            return Ok(r.text().trim().parse::<u64>().ok());
        }
        if r.code == 550 {
            return Err(Error::new(code::REMOTE_FILE_NOT_FOUND, "The file does not exist"));
        }
        Ok(None)
    }

    /// NOBODY on a file: [MDTM], TYPE, SIZE and REST 0, and no data connection, as libcurl.
    async fn ftp_info_only(&mut self, ctl: &mut Ctl, file: &str, ascii: bool) -> Result<()> {
        if self.o.filetime {
            self.ftp_mdtm(ctl, file, true).await?;
        }
        self.ftp_type(ctl, ascii).await?;
        if let Some(n) = self.ftp_size(ctl, file).await? {
            self.info.content_length_download = n as f64;
            self.dl_total = n as i64;
            self.ftp_fake_header(&format!("Content-Length: {n}\r\n")).await?;
        }
        let fo = self.o.ftp.clone();
        let r = self.ftp_cmd(ctl, &fo, "REST 0").await?;
        if r.code == 350 {
            self.ftp_fake_header("Accept-ranges: bytes\r\n").await?;
        }
        Ok(())
    }

    /// EPSV (unless FTP_USE_EPSV is off), PASV when it fails, and the data connection.
    async fn ftp_passive(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, pret: &str) -> Result<Sock> {
        if fo.use_pret {
            let r = self.ftp_cmd(ctl, fo, &format!("PRET {pret}")).await?;
            if r.code != 200 {
                return Err(Error::new(FTP_PRET_FAILED, format!("PRET command not accepted: {:03}", r.code)));
            }
        }
        let ctl_ip = ctl.conn.primary.ip();
        let (sock, target) = loop {
            let mut target = None;
            if ctl.st.epsv {
                self.ftp_send(ctl, "EPSV").await?;
                self.text(format_args!("Connect data stream passively"));
                let r = self.ftp_reply(ctl, fo).await?;
                if r.code != 229 {
                    ctl.st.epsv = false;
                } else {
                    let port = f::parse_epsv(&r.text()).map_err(|m| Error::new(FTP_WEIRD_PASV_REPLY, m))?;
                    target = Some(SocketAddr::new(ctl_ip, port));
                }
            }
            let from_epsv = target.is_some();
            let target = match target {
                Some(t) => t,
                None => {
                    let r = self.ftp_cmd(ctl, fo, "PASV").await?;
                    if r.code != 227 {
                        return Err(Error::new(FTP_WEIRD_PASV_REPLY, format!("Bad PASV/EPSV response: {:03}", r.code)));
                    }
                    let (ip, port) = f::parse_pasv(&r.text())
                        .ok_or_else(|| Error::new(FTP_WEIRD_227_FORMAT, "Couldn't interpret the 227-response"))?;
                    // FTP_SKIP_PASV_IP (on by default since libcurl 7.74): the control connection's address.
                    let ip = if fo.skip_pasv_ip { ctl_ip } else { std::net::IpAddr::from(ip) };
                    SocketAddr::new(ip, port)
                }
            };
            self.text(format_args!("Connecting to {} port {}", target.ip(), target.port()));
            self.text(format_args!("  Trying {target}..."));
            self.info.num_connects += 1;
            match self.tcp_connect(&target).await {
                Ok(sock) => break (sock, target),
                Err(super::connect::ConnErr::Fatal(e)) => return Err(e),
                // A data port from EPSV that takes no connection: libcurl asks again with PASV.
                Err(super::connect::ConnErr::Os(_)) if from_epsv => {
                    self.text(format_args!("Failed EPSV attempt. Disabling EPSV"));
                    ctl.st.epsv = false;
                }
                Err(super::connect::ConnErr::Os(errno)) => {
                    self.info.os_errno = errno as i64;
                    let ms = self.start.elapsed().as_millis();
                    return Err(Error::new(
                        code::COULDNT_CONNECT,
                        format!("Failed to connect to {target} after {ms} ms: Could not connect to server"),
                    ));
                }
            }
        };
        if let Some(l) = sock.socket().local_addr().ok().and_then(|a| a.as_socket()) {
            let (ip, port) = (target.ip(), target.port());
            self.text(format_args!(
                "Established 2nd connection to {ip} ({ip} port {port}) from {} port {} ",
                l.ip(),
                l.port()
            ));
        }
        Ok(sock)
    }

    /// Active mode (FTPPORT): a socket listening where FTPPORT says, announced with EPRT (PORT when
    /// the server refuses it or EPRT is off).
    async fn ftp_active(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions) -> Result<Sock> {
        let spec = fo.port.clone().unwrap_or_default();
        let (ip, lo, hi) = f::parse_port_spec(&spec);
        let ip = ip.unwrap_or(ctl.conn.local.ip());
        let failed = |what: String| Error::new(FTP_PORT_FAILED, what);
        let sock = net::new_socket(&SocketAddr::new(ip, 0)).map_err(|e| failed(format!("socket failure: {e}")))?;
        if !(lo..=hi).any(|p| sock.bind(&SocketAddr::new(ip, p).into()).is_ok()) {
            return Err(failed(format!("bind(port={lo}) on non-local address failed")));
        }
        sock.listen(1).map_err(|e| failed(format!("socket failure: {e}")))?;
        let at =
            sock.local_addr().ok().and_then(|a| a.as_socket()).ok_or_else(|| failed("getsockname() failed".into()))?;
        let lsn = Sock::new(sock, &self.sh.reactor, None);
        if ctl.st.eprt {
            self.ftp_send(ctl, &format!("EPRT {}", f::eprt_arg(at))).await?;
            self.text(format_args!("Connect data stream actively"));
            let r = self.ftp_reply(ctl, fo).await?;
            if r.code / 100 == 2 {
                self.text(format_args!("Ready to accept data connection from server"));
                return Ok(lsn);
            }
            self.text(format_args!("disabling EPRT usage"));
            ctl.st.eprt = false;
        }
        let Some(arg) = f::port_arg(at) else {
            return Err(failed("Failed to do PORT".into()));
        };
        self.ftp_send(ctl, &format!("PORT {arg}")).await?;
        if fo.use_eprt == ctl.st.eprt {
            self.text(format_args!("Connect data stream actively"));
        }
        let r = self.ftp_reply(ctl, fo).await?;
        if r.code / 100 != 2 {
            return Err(failed("Failed to do PORT".into()));
        }
        self.text(format_args!("Ready to accept data connection from server"));
        Ok(lsn)
    }

    /// Sends the command that moves the data (RETR, LIST, STOR...) and reads its reply while the
    /// data connection is accepted (active mode) and its TLS handshake runs (PROT P): the future
    /// that finishes those comes back with the reply.
    async fn ftp_cmd_data(
        &mut self,
        ctl: &mut Ctl,
        fo: &f::FtpOptions,
        cmd: &str,
        data: Data,
    ) -> Result<(Reply, DataFut)> {
        let tls = if ctl.st.tls_data { Some(self.ftp_tls_config(&ctl.host)?) } else { None };
        let ms = if fo.accept_timeout_ms > 0 { fo.accept_timeout_ms } else { DEFAULT_ACCEPT_TIMEOUT_MS };
        let reactor = self.sh.reactor.clone();
        let mut fut: DataFut = Box::pin(async move {
            let sock = match data {
                Data::Made(s) => s,
                Data::Listening(lsn) => {
                    let wait = Some(Instant::now() + Duration::from_millis(ms));
                    match with_deadline(&reactor, wait, lsn.accept()).await {
                        None => return Err(DataErr::AcceptTimeout),
                        Some(Err(e)) => return Err(DataErr::Accept(e)),
                        Some(Ok(s)) => Sock::new(s, &reactor, None),
                    }
                }
            };
            let Some((cfg, name)) = tls else { return Ok(DataConn::Plain(sock)) };
            let mut t = TlsStream::new(sock, cfg, name).map_err(|e| DataErr::Tls(std::io::Error::other(e)))?;
            t.handshake().await.map_err(DataErr::Tls)?;
            Ok(DataConn::Tls(Box::new(t)))
        });
        self.ftp_send(ctl, cmd).await?;
        let mut done = None;
        let r = {
            let mut reply = std::pin::pin!(self.ftp_reply(ctl, fo));
            poll_fn(|cx| {
                if done.is_none() {
                    if let Poll::Ready(d) = fut.as_mut().poll(cx) {
                        done = Some(d);
                    }
                }
                reply.as_mut().poll(cx)
            })
            .await?
        };
        if let Some(d) = done {
            fut = Box::pin(std::future::ready(d));
        }
        Ok((r, fut))
    }

    /// The data connection after the 1xx reply: in active mode, the server's, within ACCEPTTIMEOUT_MS.
    async fn ftp_data(&mut self, fut: DataFut, host: &str, active: bool) -> Result<DataConn> {
        let d = match fut.await {
            Ok(d) => d,
            Err(DataErr::AcceptTimeout) => {
                return Err(Error::new(FTP_ACCEPT_TIMEOUT, "Accept timeout occurred while waiting server connect"))
            }
            Err(DataErr::Accept(e)) => {
                return Err(Error::new(FTP_ACCEPT_FAILED, format!("Error accept()ing server connect: {e}")))
            }
            Err(DataErr::Tls(e)) => return Err(self.tls_error(e, host)),
        };
        if active {
            // libcurl counts only the connections it makes, not the one the server makes to it.
            self.text(format_args!("Connection accepted from server"));
            let s = d.sock().socket();
            let addr = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket());
            if let (Some(peer), Some(me)) = (addr(s.peer_addr()), addr(s.local_addr())) {
                let (ip, port) = (peer.ip(), peer.port());
                self.text(format_args!(
                    "Established 2nd connection to {ip} ({ip} port {port}) from {} port {} ",
                    me.ip(),
                    me.port()
                ));
            }
        }
        Ok(d)
    }

    // The pass and the listing/ASCII choices are the caller's: one more argument than clippy likes.
    #[allow(clippy::too_many_arguments)]
    async fn ftp_retrieve(
        &mut self,
        ctl: &mut Ctl,
        fo: &f::FtpOptions,
        path: &f::FtpPath,
        listing: bool,
        ascii: bool,
        data: Data,
        mut how: Pass<'_>,
    ) -> Result<()> {
        let mut size = None;
        if let Pass::File(known) = how {
            // The listing told the size: libcurl sends no SIZE.
            size = known;
        } else if !listing && !ascii {
            size = self.ftp_size(ctl, &path.file).await?;
        }
        let mut from = 0u64;
        // RANGE "a-b" / "a-" / "-n": REST to the start, and the data connection is closed once
        // the range has arrived (libcurl's way; the server then answers 426 or 226).
        let mut range_end: Option<u64> = None;
        let range = self.o.range.clone().filter(|_| !listing);
        if let Some(r) = &range {
            let (a, b) = r.split_once('-').unwrap_or((r.as_str(), ""));
            match (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok()) {
                (Some(a), Some(b)) if b >= a => (from, range_end) = (a, Some(b + 1)),
                (Some(a), None) => from = a,
                (None, Some(n)) => {
                    let s = size.unwrap_or(0);
                    from = s.saturating_sub(n);
                }
                _ => return Err(Error::new(code::RANGE_ERROR, "Syntax error in range")),
            }
            if from > 0 {
                let r = self.ftp_cmd(ctl, fo, &format!("REST {from}")).await?;
                if r.code != 350 {
                    return Err(Error::new(FTP_COULDNT_USE_REST, format!("Couldn't use REST: {:03}", r.code)));
                }
            }
        } else if !listing && self.o.resume_from > 0 {
            from = self.o.resume_from as u64;
            if let Some(s) = size {
                if from > s {
                    return Err(Error::new(
                        code::BAD_DOWNLOAD_RESUME,
                        format!("Offset ({from}) was beyond file size ({s})"),
                    ));
                }
                if from == s {
                    // Nothing left: libcurl ends here without RETR.
                    self.info.content_length_download = 0.0;
                    return Ok(());
                }
            }
            let r = self.ftp_cmd(ctl, fo, &format!("REST {from}")).await?;
            if r.code != 350 {
                return Err(Error::new(FTP_COULDNT_USE_REST, format!("Couldn't use REST: {:03}", r.code)));
            }
        }
        if let Some(s) = size {
            let left = range_end.map_or(s, |e| e.min(s)).saturating_sub(from);
            self.dl_total = left as i64;
            self.info.content_length_download = left as f64;
            if self.o.max_filesize > 0 && left as i64 > self.o.max_filesize {
                return Err(Error::new(code::FILESIZE_EXCEEDED, "Maximum file size exceeded"));
            }
        }
        let cmd = if listing {
            if fo.dirlist_only || path.type_d {
                "NLST".to_string()
            } else {
                "LIST".to_string()
            }
        } else {
            format!("RETR {}", path.file)
        };
        let (r, data) = self.ftp_cmd_data(ctl, fo, &cmd, data).await?;
        if r.code != 150 && r.code != 125 {
            let c = if !listing && r.code == 550 { code::REMOTE_FILE_NOT_FOUND } else { FTP_COULDNT_RETR_FILE };
            return Err(Error::new(c, format!("RETR response: {:03}", r.code)));
        }
        if size.is_none() && !listing && !ascii && !self.o.ignore_content_length {
            // "150 Opening BINARY mode data connection for f (2241 bytes)": libcurl takes it as
            // the bytes to come.
            if let Some(s) = f::size_from_150(&r.text()) {
                self.dl_total = s as i64;
                self.info.content_length_download = s as f64;
                size = Some(s.saturating_add(from));
            }
        }
        // Until the final reply is read, the control connection is owed one: not reusable.
        ctl.sane = false;
        self.text(format_args!("Maxdownload = {}", range_end.map_or(-1, |e| (e - from) as i64)));
        self.text(format_args!("Getting file with size: {}", size.map_or(-1, |s| s as i64)));
        let host = ctl.host.clone();
        let data = &mut self.ftp_data(data, &host, fo.port.is_some()).await?;
        self.info.starttransfer_time = elapsed(self.start);
        let mut buf = vec![0u8; self.o.buffer_size.max(16384)];
        let mut held_cr = false;
        // libcurl reads no more than the size it learned (SIZE or the 150's hint).
        let cap = size.filter(|_| !self.o.ignore_content_length).map(|s| s.saturating_sub(from));
        let mut want = range_end.map(|e| e - from).or(cap);
        loop {
            let room = want.map_or(buf.len(), |w| (w as usize).min(buf.len()));
            if room == 0 {
                break;
            }
            let fd = data.sock().fd();
            let n = match self.ticked(Some(fd), net::read(data, &mut buf[..room])).await? {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(Error::new(
                        code::RECV_ERROR,
                        format!("Recv failure: {}", crate::engine::sys::error_text(&e)),
                    ))
                }
            };
            if let Some(w) = want.as_mut() {
                *w -= n as u64;
            }
            let mut dec = None;
            if let Pass::List(into) = &mut how {
                // A wildcard's listing is read here, not delivered.
                into.extend_from_slice(&buf[..n]);
                self.dl_now += n as i64;
                self.check_low_speed()?;
                continue;
            }
            if ascii {
                // ASCII mode: libcurl turns CRLF into LF, and counts the bytes received.
                let out = crlf_to_lf(&buf[..n], &mut held_cr);
                self.body_bytes(&out, &mut dec).await?;
                self.dl_now += (n - out.len()) as i64;
            } else {
                self.body_bytes(&buf[..n], &mut dec).await?;
            }
            self.flush_paused().await?;
            self.check_low_speed()?;
        }
        if held_cr {
            self.deliver_body(b"\r").await?;
        }
        let cut = range_end.is_some() && want == Some(0);
        if let (Some(s), false) = (size, cut) {
            // Short of what SIZE announced: libcurl fails before it reads the final reply.
            let expected = range_end.map_or(s, |e| e.min(s)).saturating_sub(from);
            if (self.dl_now as u64) < expected && !self.o.ignore_content_length {
                return Err(Error::new(
                    code::PARTIAL_FILE,
                    format!("transfer closed with {} bytes remaining to read", expected - self.dl_now as u64),
                ));
            }
        }
        // TLS answers the server's close_notify with ours (a server may wait for it before its 226).
        close_notify(data).await;
        if cut {
            // The range is in: closing the data connection tells the server to stop.
            let _ = data.sock().socket().shutdown(std::net::Shutdown::Both);
        }
        self.zero_response_code();
        let r = self.ftp_reply(ctl, fo).await?;
        ctl.sane = true;
        if r.code / 100 != 2 && !cut {
            return Err(Error::new(code::PARTIAL_FILE, format!("server did not report OK, got {:03}", r.code)));
        }
        Ok(())
    }

    /// STOR (APPE with APPEND or RESUME_FROM) of what READFUNCTION gives.
    async fn ftp_store(&mut self, ctl: &mut Ctl, fo: &f::FtpOptions, file: &str, data: Data) -> Result<()> {
        // RESUME_FROM on an upload appends: libcurl 8 moves the input on through SEEKFUNCTION
        // (reading through when it cannot seek), and without one sends the input from its start.
        let mut resume = self.o.resume_from.max(0) as u64;
        if self.o.resume_from == -1 {
            // -1: resume after what the server has (a missing file starts from nothing).
            let r = self.ftp_cmd(ctl, fo, &format!("SIZE {file}")).await?;
            if r.code == 213 {
                resume = r.text().trim().parse().unwrap_or(0);
            }
        }
        let append = fo.append || resume > 0;
        let mut skip = 0;
        if resume > 0 && self.cb.has_seek() {
            match self.cb.seek(resume as i64, 0) {
                SeekOutcome::Ok => {}
                SeekOutcome::CantSeek => skip = resume,
                _ => return Err(Error::new(code::READ_ERROR, "Could not seek stream")),
            }
        }
        let mut buf = vec![0u8; self.o.upload_buffer_size.max(16384)];
        while skip > 0 {
            let want = (skip as usize).min(buf.len());
            match self.cb.read(&mut buf[..want]) {
                ReadOutcome::Data(0) => {
                    return Err(Error::new(code::BAD_DOWNLOAD_RESUME, "Could only read 0 bytes from the input"))
                }
                ReadOutcome::Data(n) => skip -= n as u64,
                ReadOutcome::Pause => {
                    return Err(Error::new(code::READ_ERROR, "pausing an FTP upload is not supported"))
                }
                ReadOutcome::Abort(e) => return Err(e),
            }
        }
        let cmd = if append { "APPE" } else { "STOR" };
        let (r, data) = self.ftp_cmd_data(ctl, fo, &format!("{cmd} {file}"), data).await?;
        if r.code / 100 != 1 {
            return Err(Error::new(code::UPLOAD_FAILED, format!("Failed FTP upload: {:0>3}", r.code)));
        }
        ctl.sane = false;
        let host = ctl.host.clone();
        let data = &mut self.ftp_data(data, &host, fo.port.is_some()).await?;
        self.info.starttransfer_time = elapsed(self.start);
        let limit = (self.o.in_size >= 0).then_some(self.o.in_size as u64);
        self.ul_total = limit.map_or(0, |l| l as i64);
        let mut sent = 0u64;
        loop {
            let n = self.upload_chunk(&mut buf, limit, sent, "an FTP")?;
            if n == 0 {
                break;
            }
            self.debug_data(debug_kind::DATA_OUT, &buf[..n]);
            net::write_all(data, &buf[..n])
                .await
                .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))?;
            sent += n as u64;
            self.ul_now += n as i64;
            self.info.content_length_upload = self.ul_total as f64;
            self.call_progress(false)?;
            self.throttle(self.o.max_send_speed, self.ul_now).await;
        }
        // The server learns the upload ended when the data connection closes (after TLS's close_notify).
        close_notify(data).await;
        let _ = data.sock().socket().shutdown(std::net::Shutdown::Write);
        let r = self.ftp_reply(ctl, fo).await?;
        ctl.sane = true;
        if r.code / 100 != 2 {
            return Err(Error::new(code::UPLOAD_FAILED, format!("Failed FTP upload: {:03}", r.code)));
        }
        Ok(())
    }
}

/// A WILDCARDMATCH pattern: the URL path's last part as written (libcurl does not decode it).
fn wild_pattern(path: &str) -> Vec<u8> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut last = path.rsplit('/').next().unwrap_or("");
    if let Some(i) = last.rfind(";type=") {
        if last.len() == i + 7 {
            last = &last[..i];
        }
    }
    last.as_bytes().to_vec()
}

/// Ends TLS on a data connection as OpenSSL does: a close_notify, written out before the socket closes.
async fn close_notify(data: &mut DataConn) {
    if let DataConn::Tls(t) = data {
        t.tls.send_close_notify();
        let _ = poll_fn(|cx| t.poll_flush(cx)).await;
    }
}

/// CRLF to LF across reads: a CR at the end of one read is held until the next shows what follows.
fn crlf_to_lf(data: &[u8], held_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1);
    for &b in data {
        if *held_cr {
            *held_cr = false;
            if b != b'\n' {
                out.push(b'\r');
            }
        }
        if b == b'\r' {
            *held_cr = true;
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn crlf_becomes_lf_across_reads() {
        let mut cr = false;
        let mut out = super::crlf_to_lf(b"a\r\nb\r", &mut cr);
        assert!(cr);
        out.extend(super::crlf_to_lf(b"\nc\rd", &mut cr));
        assert_eq!(out, b"a\nb\nc\rd");
        assert!(!cr);
    }
}
