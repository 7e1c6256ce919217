//! smtp://, pop3:// and imap:// (and their TLS twins): the command sequences of `engine::mail`
//! over one connection per transfer, its socket in the reactor like any other.
//!
//! Every reply line goes to DEBUGFUNCTION and HEADERFUNCTION as it arrives, as libcurl's
//! "pingpong" layer hands them over; message bodies (RETR, FETCH literals, listings) go to the
//! write callback. The connection goes back to the pool after a transfer, as libcurl keeps it: the
//! next transfer on it skips the greeting, TLS and login (`mail::ConnState` says what it knows),
//! and QUIT / LOGOUT is said when it is closed.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::mail::{self as m, imap, pop3, sasl, smtp, LineBuf, LoginPref, Proto};
use crate::engine::net::Stream;
use crate::engine::pool::Conn;
use crate::engine::rt::with_deadline;
use crate::engine::url::Url;

/// The connection of the transfer in flight and what was read from it.
pub(super) struct Session {
    /// None only while TLS is being put over it.
    conn: Option<Conn>,
    rd: LineBuf,
    /// What the connection remembers for the next transfer on it.
    st: m::ConnState,
    /// The reply stream is in step: a goodbye may be said, the connection kept.
    sane: bool,
}

impl Session {
    fn io(&mut self) -> &mut Stream {
        &mut self.conn.as_mut().expect("a mail connection has its stream outside a TLS upgrade").stream
    }
}

/// Who logs in, and how.
pub(super) struct Login {
    pub user: Option<String>,
    pub password: String,
    pub pref: LoginPref,
}

/// Where a mail's bytes come from: READFUNCTION (INFILESIZE of them when set) or MIMEPOST's tree
/// written as a message (libcurl sends either, MIMEPOST first).
enum MailData {
    Read,
    Mime(crate::engine::request::Form),
}

/// libcurl's codes for what only the mail protocols report.
const USE_SSL_FAILED: i32 = 64;
const QUOTE_ERROR: i32 = 21;

/// A server that will not do TLS: USE_SSL's "try" goes on in the clear, a stronger level fails.
fn tls_refused(use_ssl: u8, msg: impl Into<String>) -> Result<()> {
    if use_ssl == crate::engine::ftp::USESSL_TRY {
        return Ok(());
    }
    Err(Error::new(USE_SSL_FAILED, msg))
}

/// An error libcurl reports without a message of its own (pycurl then raises the code's text and
/// errstr() is empty).
pub(super) fn strerror_err(c: i32) -> Error {
    Error::new(c, String::new())
}

/// Who logs in on a mail connection: the URL's user (login options after ";" in it) and password,
/// else USERPWD's.
fn mail_creds(url: &Url, o: &Options) -> (Option<String>, String, Option<String>) {
    let dec = crate::engine::url::percent_decode;
    match (&url.user, &o.username) {
        (Some(u), _) => {
            let (name, opts) = m::split_url_user(u);
            (Some(dec(name)), url.password.as_deref().map(dec).unwrap_or_default(), opts.map(dec))
        }
        (None, Some(u)) => (Some(u.clone()), o.password.clone().unwrap_or_default(), None),
        (None, None) => (None, String::new(), None),
    }
}

impl Xfer {
    /// The pool key's fingerprint for a mail URL: libcurl reuses a mail connection only for the
    /// same credentials (user, password, SASL_AUTHZID, XOAUTH2 bearer) and TLS settings.
    pub(super) fn mail_reuse_key(&self, url: &Url) -> u64 {
        use std::hash::{Hash, Hasher};
        let (user, password, _) = mail_creds(url, &self.o);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (user, password, &self.o.mail.authzid, &self.o.creds.bearer, self.o.ftp.use_ssl).hash(&mut h);
        let implicit = m::proto_of(&url.scheme).is_some_and(|(_, i)| i);
        if implicit || self.o.ftp.use_ssl > 0 {
            self.o.tls.fingerprint().hash(&mut h);
        }
        h.finish()
    }

    pub(super) async fn run_mail(&mut self, url: Rc<Url>) -> Result<()> {
        let Some((proto, implicit)) = m::proto_of(&url.scheme) else {
            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{}\" not supported", url.scheme)));
        };
        let (user, password, url_opts) = mail_creds(&url, &self.o);
        let opts = url_opts.or_else(|| self.o.mail.login_options.clone()).unwrap_or_default();
        if user.iter().chain([&password]).any(|s| s.contains(['\r', '\n'])) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        let mut conn = self.connect(&url, true).await?;
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = conn.primary.port() as i64;
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = conn.local.port() as i64;
        self.info.conn_id = conn.id;
        *self.easy.current_sock.borrow_mut() = Some((conn.stream.sock().fd(), Rc::downgrade(&self.sh.reactor)));
        // A pooled connection comes logged in: the transfer starts with its own commands.
        let kept = conn.mail.take().filter(|st| st.proto == proto);
        let fresh = kept.is_none();
        let st = kept.map_or_else(|| m::ConnState::new(proto, conn.id), |b| *b);
        let mut s = Session { conn: Some(conn), rd: LineBuf::default(), st, sane: true };
        // libcurl reads the login options once connected (a bad one still costs a connection).
        let pref = m::parse_login_options(&opts, proto);
        let mut r = pref.map(|_| ()).map_err(|_| strerror_err(code::URL_MALFORMAT));
        let login = Login { user: user.filter(|u| !u.is_empty()), password, pref: pref.unwrap_or_default() };
        if r.is_ok() && fresh {
            if implicit {
                r = self.mail_tls(&mut s, &url).await;
            }
            if r.is_ok() {
                r = match proto {
                    Proto::Smtp => Box::pin(self.smtp_connect(&mut s, &url, &login)).await,
                    Proto::Pop3 => Box::pin(self.pop3_connect(&mut s, &url, &login)).await,
                    Proto::Imap => Box::pin(self.imap_connect(&mut s, &url, &login)).await,
                };
            }
        }
        // Failing before the transfer's own commands (greeting, TLS, login) closes the connection
        // without a goodbye, as libcurl does.
        let connected = r.is_ok();
        if connected {
            r = match proto {
                Proto::Smtp => Box::pin(self.smtp_do(&mut s)).await,
                Proto::Pop3 => Box::pin(self.pop3_do(&mut s, &url)).await,
                Proto::Imap => Box::pin(self.imap_do(&mut s, &url)).await,
            };
        }
        *self.easy.current_sock.borrow_mut() = None;
        if let Err(e) = &r {
            // libcurl's failf() shows its message to VERBOSE too.
            if !e.msg.is_empty() {
                self.text(format_args!("{}", e.msg));
            }
        }
        let Some(mut conn) = s.conn.take() else { return r };
        if r.is_ok() && s.sane && !self.o.forbid_reuse {
            conn.mail = Some(Box::new(s.st));
            self.keep_conn(conn);
            return r;
        }
        if connected {
            self.text(format_args!("shutting down connection #{}", conn.id));
            if s.sane {
                let bye = s.st.goodbye();
                Self::mail_goodbye(&self.sh.reactor.clone(), &mut conn.stream, &bye).await;
            }
        } else {
            self.text(format_args!("closing connection #{}", conn.id));
        }
        r
    }

    /// QUIT / LOGOUT (`line`, its CRLF included): sent, and the answer awaited a moment, out of
    /// the application's sight.
    async fn mail_goodbye(reactor: &Rc<crate::engine::rt::Reactor>, io: &mut Stream, line: &str) {
        if io.write_all(line.as_bytes()).await.is_err() {
            return;
        }
        let wait = Some(Instant::now() + Duration::from_millis(1000));
        let mut buf = [0u8; 512];
        let _ = with_deadline(reactor, wait, io.read(&mut buf)).await;
    }

    /// TLS over the connection as it is (smtps/pop3s/imaps at once, or after STARTTLS / STLS).
    pub(super) async fn mail_tls(&mut self, s: &mut Session, url: &Url) -> Result<()> {
        // What the server sent before the handshake must not be read as if it came over TLS.
        s.rd.clear();
        // Before the config is built: a CA file that does not load reports 1 as well.
        self.info.ssl_verifyresult = 1;
        // libcurl offers ALPN for HTTP only.
        let setup = self.tls_setup(&url.host, Vec::new())?;
        let Some(mut conn) = s.conn.take() else {
            return Err(Error::new(code::SSL_CONNECT_ERROR, "no connection to put TLS over"));
        };
        // A failed upgrade took the connection with it: no goodbye is said.
        let t = self.tls_handshake(conn.stream, setup, &url.host).await.inspect_err(|_| s.sane = false)?;
        conn.stream = Stream::new(t);
        s.conn = Some(conn);
        s.st.tls = true;
        Ok(())
    }

    /// One command line (shown to DEBUGFUNCTION as sent, credentials included, as libcurl does).
    pub(super) async fn mail_send(&mut self, s: &mut Session, cmd: &str) -> Result<()> {
        let line = format!("{cmd}\r\n");
        self.debug_data(debug_kind::HEADER_OUT, line.as_bytes());
        if let Err(e) = s.io().write_all(line.as_bytes()).await {
            s.sane = false;
            return Err(Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")));
        }
        Ok(())
    }

    /// Reads more from the connection into the line buffer, within the response timeout.
    async fn mail_fill(&mut self, s: &mut Session) -> Result<()> {
        if self.mail_recv(s).await? {
            Ok(())
        } else {
            Err(Error::new(code::RECV_ERROR, "response reading failed (errno: 0)"))
        }
    }

    /// As `mail_fill`; Ok(false) when the server closed the connection.
    async fn mail_recv(&mut self, s: &mut Session) -> Result<bool> {
        let mut buf = [0u8; 16384];
        let wait = Some(Instant::now() + Duration::from_millis(self.o.ftp.reply_wait_ms()));
        let reactor = self.sh.reactor.clone();
        let n = match with_deadline(&reactor, wait, s.io().read(&mut buf)).await {
            None => {
                s.sane = false;
                return Err(Error::new(code::OPERATION_TIMEDOUT, "server response timeout"));
            }
            Some(Ok(0)) => {
                s.sane = false;
                return Ok(false);
            }
            Some(Ok(n)) => n,
            Some(Err(e)) => {
                s.sane = false;
                return Err(Error::new(
                    code::RECV_ERROR,
                    format!("response reading failed ({})", crate::engine::sys::error_text(&e)),
                ));
            }
        };
        s.rd.push(&buf[..n]);
        Ok(true)
    }

    /// The next reply line, handed to DEBUGFUNCTION and HEADERFUNCTION.
    pub(super) async fn mail_line(&mut self, s: &mut Session) -> Result<Vec<u8>> {
        let line = loop {
            if let Some(l) = s.rd.next_line() {
                break l;
            }
            // libcurl's reply buffer holds 64 KiB: a longer line is TOO_LARGE, not a memory hog.
            if s.rd.len() > crate::engine::ftp::MAX_LINE {
                s.sane = false;
                return Err(strerror_err(code::TOO_LARGE));
            }
            self.mail_fill(s).await?;
        };
        self.debug_data(debug_kind::HEADER_IN, &line);
        match self.cb.header(&line) {
            Flow::Continue | Flow::Pause => Ok(line),
            Flow::Abort(e) => {
                s.sane = false;
                Err(e)
            }
        }
    }

    /// Exactly `n` bytes (an IMAP literal) to the write callback.
    async fn mail_literal(&mut self, s: &mut Session, mut n: u64, deliver: bool) -> Result<()> {
        while n > 0 {
            if s.rd.is_empty() && !self.mail_recv(s).await? {
                return Err(Error::new(code::PARTIAL_FILE, format!("end of response with {n} bytes missing")));
            }
            let part = s.rd.take(n.min(usize::MAX as u64) as usize);
            n -= part.len() as u64;
            if deliver {
                self.mail_body(&part).await?;
            }
        }
        Ok(())
    }

    /// Body bytes to the write callback (counted, progress and speed limits applied).
    pub(super) async fn mail_body(&mut self, data: &[u8]) -> Result<()> {
        if self.info.starttransfer_time == 0.0 {
            self.info.starttransfer_time = elapsed(self.start);
        }
        let mut dec = None;
        self.body_bytes(data, &mut dec).await?;
        self.flush_paused().await?;
        self.call_progress(false)?;
        self.check_low_speed()
    }

    fn sasl_creds<'a>(o: &'a Options, login: &'a Login, url: &'a Url) -> sasl::Creds<'a> {
        let service = match (&o.mail.service_name, m::proto_of(&url.scheme)) {
            (Some(name), _) => name.as_str(),
            (None, Some((Proto::Smtp, _))) => "smtp",
            (None, Some((Proto::Pop3, _))) => "pop",
            _ => "imap",
        };
        sasl::Creds {
            service,
            user: login.user.as_deref().unwrap_or(""),
            password: &login.password,
            authzid: o.mail.authzid.as_deref().unwrap_or(""),
            bearer: o.creds.bearer.as_deref(),
            host: &url.host,
            port: url.port_or_default(),
        }
    }

    /// One SASL exchange. `cmd` is the command that starts it ("AUTH" or "<tag> AUTHENTICATE");
    /// Ok(()) once the server accepts. Continuations are read per protocol.
    pub(super) async fn sasl_run(
        &mut self,
        s: &mut Session,
        proto: Proto,
        cmd: &str,
        mech: sasl::Mech,
        ir: bool,
        creds: &sasl::Creds<'_>,
    ) -> Result<()> {
        let first = if ir { sasl::initial(mech, creds) } else { None };
        // The index of the next message to send: 1 when the first went with the command.
        let mut idx = match &first {
            Some(msg) => {
                self.mail_send(s, &format!("{cmd} {} {msg}", mech.name())).await?;
                1
            }
            None => {
                self.mail_send(s, &format!("{cmd} {}", mech.name())).await?;
                0
            }
        };
        let tag = cmd.split(' ').next().unwrap_or("").to_string();
        loop {
            let (more, challenge) = match proto {
                Proto::Smtp => {
                    let (c, lines) = self.smtp_reply(s).await?;
                    if c == 235 {
                        return Ok(());
                    }
                    if c != 334 {
                        return Err(strerror_err(code::LOGIN_DENIED));
                    }
                    let last =
                        lines.last().map(|l| m::trim_eol(l).get(4..).unwrap_or(b"").to_vec()).unwrap_or_default();
                    (true, String::from_utf8_lossy(&last).into_owned())
                }
                Proto::Pop3 => {
                    let l = self.mail_line(s).await?;
                    match pop3::classify(&l) {
                        pop3::Resp::Ok => return Ok(()),
                        pop3::Resp::More(t) => (true, t),
                        _ => return Err(strerror_err(code::LOGIN_DENIED)),
                    }
                }
                Proto::Imap => {
                    let l = self.mail_line(s).await?;
                    match imap::classify(&l, &tag) {
                        imap::Resp::Tagged(imap::Status::Ok) => return Ok(()),
                        imap::Resp::Tagged(_) => return Err(strerror_err(code::LOGIN_DENIED)),
                        imap::Resp::More(t) => (true, t),
                        _ => (false, String::new()),
                    }
                }
            };
            if !more {
                continue;
            }
            let answer = sasl::respond(mech, idx, &challenge, creds);
            match answer {
                Ok(Some(a)) => self.mail_send(s, &a).await?,
                Ok(None) => {
                    // Nothing more to say: cancel, as libcurl does, and fail.
                    self.mail_send(s, "*").await?;
                    return Err(Error::new(code::LOGIN_DENIED, "Authentication cancelled"));
                }
                Err(sasl::BadChallenge) => {
                    self.mail_send(s, "*").await?;
                    return Err(strerror_err(code::BAD_CONTENT_ENCODING));
                }
            }
            idx += 1;
        }
    }

    // ---------------------------------------------------------------- SMTP

    /// The next complete SMTP reply: its code and lines (lines that carry no code are skipped, as
    /// libcurl skips them). RESPONSE_CODE follows each reply.
    async fn smtp_reply(&mut self, s: &mut Session) -> Result<(u16, Vec<Vec<u8>>)> {
        let mut lines = Vec::new();
        loop {
            let l = self.mail_line(s).await?;
            match smtp::line_code(&l) {
                Some((c, true)) => {
                    lines.push(l);
                    self.info.response_code = i64::from(c);
                    self.publish_info();
                    return Ok((c, lines));
                }
                // An endless multi-line reply keeps a few lines (EHLO's keywords), not all.
                Some((_, false)) if lines.len() < 256 => lines.push(l),
                _ => {}
            }
        }
    }

    async fn smtp_cmd(&mut self, s: &mut Session, cmd: &str) -> Result<(u16, Vec<Vec<u8>>)> {
        self.mail_send(s, cmd).await?;
        self.smtp_reply(s).await
    }

    /// The greeting, EHLO (HELO), STARTTLS and AUTH of a new connection.
    async fn smtp_connect(&mut self, s: &mut Session, url: &Url, login: &Login) -> Result<()> {
        let (c, _) = self.smtp_reply(s).await?;
        if c != 220 {
            s.sane = false;
            return Err(Error::new(code::WEIRD_SERVER_REPLY, format!("Got unexpected smtp-server response: {c}")));
        }
        let path = url.path.split(['?', '#']).next().unwrap_or("");
        let domain = crate::engine::url::percent_decode(path.strip_prefix('/').unwrap_or(path));
        let domain = if domain.is_empty() { m::local_hostname() } else { domain };
        if domain.contains(['\r', '\n']) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        let use_ssl = self.o.ftp.use_ssl;
        let mut caps;
        loop {
            let (c, lines) = self.smtp_cmd(s, &format!("EHLO {domain}")).await?;
            caps = smtp::Caps::default();
            if c / 100 != 2 {
                if use_ssl <= 1 || s.st.tls {
                    let (c, _) = self.smtp_cmd(s, &format!("HELO {domain}")).await?;
                    if c / 100 != 2 {
                        return Err(Error::new(code::REMOTE_ACCESS_DENIED, format!("Remote access denied: {c}")));
                    }
                    break;
                }
                return Err(Error::new(code::REMOTE_ACCESS_DENIED, format!("Remote access denied: {c}")));
            }
            for l in lines.iter().skip(1) {
                caps.line(l);
            }
            if use_ssl == 0 || s.st.tls {
                break;
            }
            if !caps.starttls {
                tls_refused(use_ssl, "STARTTLS not supported.")?;
                break;
            }
            let (c, _) = self.smtp_cmd(s, "STARTTLS").await?;
            if c != 220 {
                tls_refused(use_ssl, format!("STARTTLS denied, code {c}"))?;
                break;
            }
            self.mail_tls(s, url).await?;
        }
        let mut authed = false;
        if caps.auth && login.user.is_some() {
            let o = self.o.clone();
            let creds = Self::sasl_creds(&o, login, url);
            let Some(mech) = sasl::choose(caps.mechs, login.pref.mechs, &creds) else {
                self.text(format_args!("SASL: no overlap between offered and configured auth mechanisms"));
                return Err(strerror_err(code::LOGIN_DENIED));
            };
            let ir = self.o.mail.sasl_ir;
            let r = self.sasl_run(s, Proto::Smtp, "AUTH", mech, ir, &creds).await;
            r?;
            authed = true;
        }
        s.st.smtp_caps = caps;
        s.st.authed = authed;
        Ok(())
    }

    /// The transfer: a mail sent, or commands (an upload without recipients runs a command, as in
    /// libcurl).
    async fn smtp_do(&mut self, s: &mut Session) -> Result<()> {
        let caps = s.st.smtp_caps.clone();
        if (self.o.upload || self.mail_mime_set()) && !self.o.mail.rcpt.is_empty() {
            self.smtp_send_mail(s, &caps, s.st.authed).await
        } else {
            self.smtp_command(s, &caps).await
        }
    }

    /// No upload: VRFY (or CUSTOMREQUEST) per recipient, else HELP (or CUSTOMREQUEST); the replies
    /// are the body.
    async fn smtp_command(&mut self, s: &mut Session, caps: &smtp::Caps) -> Result<()> {
        let custom = self.o.custom_request.clone().filter(|c| !c.is_empty());
        let rcpts = self.o.mail.rcpt.clone();
        let cmds: Vec<String> = if rcpts.is_empty() {
            vec![custom.unwrap_or_else(|| "HELP".to_string())]
        } else {
            let verb = custom.unwrap_or_else(|| "VRFY".to_string());
            // EXPN announces SMTPUTF8 to a server that has it (libcurl does).
            let utf8 = caps.utf8 && verb.eq_ignore_ascii_case("EXPN");
            rcpts.iter().map(|r| format!("{verb} {}{}", smtp::bare(r), if utf8 { " SMTPUTF8" } else { "" })).collect()
        };
        let with_rcpt = !rcpts.is_empty();
        for cmd in cmds {
            if cmd.contains(['\r', '\n']) {
                return Err(strerror_err(code::URL_MALFORMAT));
            }
            let (c, lines) = self.smtp_cmd(s, &cmd).await?;
            if c / 100 != 2 && !(with_rcpt && c == 553) {
                return Err(Error::new(code::WEIRD_SERVER_REPLY, format!("Command failed: {c}")));
            }
            if !self.o.nobody {
                for l in lines {
                    self.mail_body(&l).await?;
                }
            }
        }
        Ok(())
    }

    async fn smtp_send_mail(&mut self, s: &mut Session, caps: &smtp::Caps, authed: bool) -> Result<()> {
        let mo = self.o.mail.clone();
        let from = mo.from.as_deref().map_or_else(|| "<>".to_string(), smtp::bracketed);
        let mut cmd = format!("MAIL FROM:{from}");
        if let (Some(a), true) = (&mo.auth, authed) {
            cmd.push_str(" AUTH=");
            cmd.push_str(&if a.is_empty() { "<>".to_string() } else { smtp::bracketed(a) });
        }
        let (mut data, size) = self.mail_data();
        if let (true, Some(n @ 1..)) = (caps.size, size) {
            cmd.push_str(&format!(" SIZE={n}"));
        }
        let non_ascii = !cmd.is_ascii() || mo.rcpt.iter().any(|r| !r.is_ascii());
        if caps.utf8 && non_ascii {
            cmd.push_str(" SMTPUTF8");
        }
        if cmd.contains(['\r', '\n']) || mo.rcpt.iter().any(|r| r.contains(['\r', '\n'])) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        let (c, _) = self.smtp_cmd(s, &cmd).await?;
        if c / 100 != 2 {
            return Err(Error::new(code::SEND_ERROR, format!("MAIL failed: {c}")));
        }
        let mut any_ok = false;
        let mut last_err = 0;
        for r in &mo.rcpt {
            let (c, _) = self.smtp_cmd(s, &format!("RCPT TO:{}", smtp::bracketed(r))).await?;
            if c / 100 == 2 {
                any_ok = true;
            } else {
                last_err = c;
                if !mo.rcpt_allowfails {
                    return Err(Error::new(code::SEND_ERROR, format!("RCPT failed: {c}")));
                }
            }
        }
        if !any_ok && last_err != 0 {
            return Err(Error::new(code::SEND_ERROR, format!("RCPT failed: {last_err} (last error)")));
        }
        let (c, _) = self.smtp_cmd(s, "DATA").await?;
        if c != 354 {
            return Err(Error::new(code::SEND_ERROR, format!("DATA failed: {c}")));
        }
        // Until the end-of-data reply is read, the connection is not in step.
        s.sane = false;
        self.info.starttransfer_time = elapsed(self.start);
        let limit = size;
        self.ul_total = limit.map_or(0, |l| l as i64);
        let mut stuffer = smtp::Stuffer::new(self.o.crlf);
        let mut buf = vec![0u8; self.o.upload_buffer_size.max(16384)];
        let mut out = Vec::with_capacity(buf.len() + 64);
        let mut read = 0u64;
        let mut ended = false;
        loop {
            let n = self.mail_read(&mut data, &mut buf, limit, read, "an SMTP")?;
            if n == 0 {
                break;
            }
            read += n as u64;
            out.clear();
            stuffer.encode(&buf[..n], &mut out);
            if limit == Some(read) {
                // The last piece of a known size goes out with the end of data, as in libcurl.
                out.extend_from_slice(stuffer.end());
                ended = true;
            }
            self.smtp_data_out(s, &out).await?;
            if ended {
                break;
            }
        }
        if !ended {
            let end = stuffer.end();
            self.smtp_data_out(s, end).await?;
        }
        self.text(format_args!("upload completely sent off: {} bytes", self.ul_now));
        let (c, _) = self.smtp_reply(s).await?;
        s.sane = true;
        if c / 100 != 2 {
            return Err(strerror_err(code::WEIRD_SERVER_REPLY));
        }
        Ok(())
    }

    async fn smtp_data_out(&mut self, s: &mut Session, data: &[u8]) -> Result<()> {
        self.debug_data(debug_kind::DATA_OUT, data);
        s.io()
            .write_all(data)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))?;
        self.ul_now += data.len() as i64;
        self.info.content_length_upload = self.ul_total as f64;
        self.call_progress(false)?;
        self.throttle(self.o.max_send_speed, self.ul_now).await;
        Ok(())
    }

    // ---------------------------------------------------------------- POP3

    async fn pop3_cmd(&mut self, s: &mut Session, cmd: &str) -> Result<Vec<u8>> {
        self.mail_send(s, cmd).await?;
        self.mail_line(s).await
    }

    /// CAPA: its lines up to ".", or None when the server refuses it.
    async fn pop3_capa(&mut self, s: &mut Session) -> Result<Option<pop3::Caps>> {
        let first = self.pop3_cmd(s, "CAPA").await?;
        if pop3::classify(&first) == pop3::Resp::Err {
            return Ok(None);
        }
        let mut caps = pop3::Caps::default();
        loop {
            let l = self.mail_line(s).await?;
            if l.first() == Some(&b'.') {
                return Ok(Some(caps));
            }
            caps.line(&l);
        }
    }

    /// The greeting, CAPA, STLS and login of a new connection.
    async fn pop3_connect(&mut self, s: &mut Session, url: &Url, login: &Login) -> Result<()> {
        // libcurl waits for a "+OK" or "-ERR" line, passing over any other.
        let greeting = loop {
            let l = self.mail_line(s).await?;
            if matches!(pop3::classify(&l), pop3::Resp::Ok | pop3::Resp::Err) {
                break l;
            }
        };
        if pop3::classify(&greeting) != pop3::Resp::Ok {
            s.sane = false;
            return Err(Error::new(code::WEIRD_SERVER_REPLY, "Got unexpected pop3-server response"));
        }
        let apop = pop3::apop_timestamp(&greeting);
        let use_ssl = self.o.ftp.use_ssl;
        let mut caps;
        loop {
            let got = self.pop3_capa(s).await?;
            // A server without CAPA takes USER / PASS (libcurl assumes so).
            let refused = got.is_none();
            caps = got.unwrap_or_default();
            if refused {
                caps.user = true;
            }
            if use_ssl == 0 || s.st.tls {
                break;
            }
            if !caps.stls {
                tls_refused(use_ssl, "STLS not supported.")?;
                break;
            }
            let r = self.pop3_cmd(s, "STLS").await?;
            if pop3::classify(&r) != pop3::Resp::Ok {
                tls_refused(use_ssl, "STARTTLS denied")?;
                break;
            }
            self.mail_tls(s, url).await?;
        }
        if let Some(user) = login.user.clone() {
            let o = self.o.clone();
            let creds = Self::sasl_creds(&o, login, url);
            let mech = if caps.sasl { sasl::choose(caps.mechs, login.pref.mechs, &creds) } else { None };
            if let Some(mech) = mech {
                let ir = self.o.mail.sasl_ir;
                self.sasl_run(s, Proto::Pop3, "AUTH", mech, ir, &creds).await?;
            } else if let (Some(ts), true) = (&apop, login.pref.apop) {
                let r = self.pop3_cmd(s, &format!("APOP {user} {}", pop3::apop_digest(ts, &login.password))).await?;
                if pop3::classify(&r) != pop3::Resp::Ok {
                    return Err(Error::new(code::LOGIN_DENIED, format!("Authentication failed: {}", i32::from(b'-'))));
                }
            } else if caps.user && login.pref.clear {
                let r = self.pop3_cmd(s, &format!("USER {user}")).await?;
                if pop3::classify(&r) != pop3::Resp::Ok {
                    return Err(Error::new(code::LOGIN_DENIED, "Access denied. -"));
                }
                let r = self.pop3_cmd(s, &format!("PASS {}", login.password)).await?;
                if pop3::classify(&r) != pop3::Resp::Ok {
                    return Err(Error::new(code::LOGIN_DENIED, "Access denied. -"));
                }
            } else {
                self.text(format_args!("No known authentication mechanisms supported"));
                return Err(strerror_err(code::LOGIN_DENIED));
            }
        }
        Ok(())
    }

    /// The transfer: LIST, RETR or the custom command, its answer the body.
    async fn pop3_do(&mut self, s: &mut Session, url: &Url) -> Result<()> {
        let path = url.path.split(['?', '#']).next().unwrap_or("");
        let id = crate::engine::url::percent_decode(path.strip_prefix('/').unwrap_or(path));
        let custom = self.o.custom_request.clone();
        let (cmd, body) = pop3::command(&id, custom.as_deref(), self.o.ftp.dirlist_only, self.o.nobody);
        if cmd.contains(['\r', '\n']) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        let r = self.pop3_cmd(s, &cmd).await?;
        if pop3::classify(&r) != pop3::Resp::Ok {
            return Err(strerror_err(code::WEIRD_SERVER_REPLY));
        }
        if !body {
            return Ok(());
        }
        s.sane = false;
        // A line's CRLF waits until the next line shows it is not the end (as libcurl holds
        // back what may start "\r\n.\r\n"); a close ends the body there, without an error.
        let mut held = false;
        loop {
            let l = loop {
                if let Some(l) = s.rd.next_line() {
                    break Some(l);
                }
                if !self.mail_recv(s).await? {
                    break None;
                }
            };
            let Some(l) = l else {
                let rest = s.rd.take(usize::MAX);
                if !rest.is_empty() {
                    self.mail_body(&[if held { &b"\r\n"[..] } else { b"" }, &rest].concat()).await?;
                }
                return Ok(());
            };
            let owed: &[u8] = if held { b"\r\n" } else { b"" };
            match pop3::body_line(&l) {
                None => {
                    if held {
                        self.mail_body(owed).await?;
                    }
                    break;
                }
                Some(b) => {
                    let (text, crlf) = match b.strip_suffix(b"\r\n") {
                        Some(t) => (t, true),
                        None => (b, false),
                    };
                    let out = [owed, text].concat();
                    held = crlf;
                    if !out.is_empty() {
                        self.mail_body(&out).await?;
                    }
                }
            }
        }
        s.sane = true;
        Ok(())
    }

    // ---------------------------------------------------------------- IMAP

    /// Sends a tagged command; returns its tag.
    async fn imap_send(&mut self, s: &mut Session, cmd: &str) -> Result<String> {
        let tag = self.imap_tag(s);
        self.mail_send(s, &format!("{tag} {cmd}")).await?;
        Ok(tag)
    }

    /// Reads up to the tagged end of `tag`, handing each untagged answer to `each`.
    async fn imap_until_tagged(
        &mut self,
        s: &mut Session,
        tag: &str,
        each: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<imap::Status> {
        loop {
            let l = self.mail_line(s).await?;
            match imap::classify(&l, tag) {
                imap::Resp::Tagged(st) => return Ok(st),
                imap::Resp::Untagged(u) => each(&u, &l),
                _ => {}
            }
        }
    }

    async fn imap_capability(&mut self, s: &mut Session) -> Result<(imap::Status, imap::Caps)> {
        let tag = self.imap_send(s, "CAPABILITY").await?;
        let mut caps = imap::Caps::default();
        let st = self
            .imap_until_tagged(s, &tag, &mut |u, _| {
                if imap::matches_cmd(u, "CAPABILITY") {
                    caps.words(u);
                }
            })
            .await?;
        Ok((st, caps))
    }

    /// The greeting, CAPABILITY, STARTTLS and login of a new connection.
    async fn imap_connect(&mut self, s: &mut Session, url: &Url, login: &Login) -> Result<()> {
        // libcurl waits for an untagged line, passing over any other.
        let greeting = loop {
            let l = self.mail_line(s).await?;
            if matches!(imap::classify(&l, ""), imap::Resp::Untagged(_)) {
                break l;
            }
        };
        let preauth = match imap::classify(&greeting, "") {
            imap::Resp::Untagged(u) if u.starts_with("OK") => false,
            imap::Resp::Untagged(u) if u.starts_with("PREAUTH") => true,
            _ => {
                s.sane = false;
                return Err(Error::new(code::WEIRD_SERVER_REPLY, "Got unexpected imap-server response"));
            }
        };
        let use_ssl = self.o.ftp.use_ssl;
        let mut caps;
        loop {
            let (st, c) = self.imap_capability(s).await?;
            caps = c;
            if use_ssl == 0 || s.st.tls {
                break;
            }
            if !(st == imap::Status::Ok && caps.starttls && !preauth) {
                tls_refused(use_ssl, "STARTTLS not available.")?;
                break;
            }
            let tag = self.imap_send(s, "STARTTLS").await?;
            let st = self.imap_until_tagged(s, &tag, &mut |_, _| {}).await?;
            if st != imap::Status::Ok {
                tls_refused(use_ssl, "STARTTLS denied")?;
                break;
            }
            self.mail_tls(s, url).await?;
        }
        if let (Some(user), false) = (login.user.clone(), preauth) {
            let o = self.o.clone();
            let creds = Self::sasl_creds(&o, login, url);
            if let Some(mech) = sasl::choose(caps.mechs, login.pref.mechs, &creds) {
                let tag = self.imap_tag(s);
                let ir = self.o.mail.sasl_ir || caps.sasl_ir;
                self.sasl_run(s, Proto::Imap, &format!("{tag} AUTHENTICATE"), mech, ir, &creds).await?;
            } else if !caps.login_disabled && login.pref.clear {
                let cmd = format!("LOGIN {} {}", imap::atom(&user, false), imap::atom(&login.password, false));
                let tag = self.imap_send(s, &cmd).await?;
                if self.imap_until_tagged(s, &tag, &mut |_, _| {}).await? != imap::Status::Ok {
                    return Err(Error::new(code::LOGIN_DENIED, "Access denied. \u{2}"));
                }
            } else {
                self.text(format_args!("No known authentication mechanisms supported"));
                return Err(strerror_err(code::LOGIN_DENIED));
            }
        }
        Ok(())
    }

    /// The transfer: SELECT when the mailbox is not the one selected last, then FETCH, SEARCH,
    /// LIST, APPEND or the custom command.
    async fn imap_do(&mut self, s: &mut Session, url: &Url) -> Result<()> {
        let iu = imap::parse_url(&url.path).map_err(|_| strerror_err(code::URL_MALFORMAT))?;
        // CUSTOMREQUEST: its first word is the command, the rest its parameters.
        let custom = self.o.custom_request.clone().filter(|c| !c.is_empty());
        if custom.as_deref().is_some_and(|c| c.contains(['\r', '\n'])) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        if self.o.upload || self.mail_mime_set() {
            return self.imap_append(s, &iu).await;
        }
        let wants_select = custom.is_some() || iu.uid.is_some() || iu.mailindex.is_some() || iu.query.is_some();
        if let (Some(mb), true) = (&iu.mailbox, wants_select) {
            let st = &s.st;
            let same = st.mailbox.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(mb))
                && match (&iu.uidvalidity, &st.uidvalidity) {
                    (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
                    _ => true,
                };
            if !same {
                self.imap_select(s, mb, iu.uidvalidity.as_deref()).await?;
            }
            if custom.is_none() {
                if let Some(q) = &iu.query {
                    return self.imap_list(s, &format!("SEARCH {q}"), "SEARCH").await;
                }
                return self.imap_fetch(s, &iu).await;
            }
        }
        match custom {
            Some(c) => {
                let verb = c.split(' ').next().unwrap_or("").to_string();
                self.imap_list(s, &c, &verb).await
            }
            None => {
                let mb = iu.mailbox.as_deref().map(|m| imap::atom(m, true)).unwrap_or_default();
                self.imap_list(s, &format!("LIST \"{mb}\" *"), "LIST").await
            }
        }
    }

    /// SELECT: the mailbox (and its UIDVALIDITY) is remembered once the server accepts it.
    async fn imap_select(&mut self, s: &mut Session, mb: &str, want_validity: Option<&str>) -> Result<()> {
        s.st.mailbox = None;
        s.st.uidvalidity = None;
        {
            let tag = self.imap_send(s, &format!("SELECT {}", imap::atom(mb, false))).await?;
            let mut validity = None;
            let st = self
                .imap_until_tagged(s, &tag, &mut |u, _| {
                    if let Some(v) = imap::uidvalidity(u) {
                        validity = Some(v);
                    }
                })
                .await?;
            if st != imap::Status::Ok {
                return Err(Error::new(code::LOGIN_DENIED, "Select failed"));
            }
            if let (Some(want), Some(have)) = (want_validity, &validity) {
                if !want.eq_ignore_ascii_case(have) {
                    return Err(Error::new(code::REMOTE_FILE_NOT_FOUND, "Mailbox UIDVALIDITY has changed"));
                }
            }
            s.st.mailbox = Some(mb.to_string());
            s.st.uidvalidity = validity;
        }
        Ok(())
    }

    /// LIST, SEARCH or a custom command: the untagged answers that are its own are the body.
    async fn imap_list(&mut self, s: &mut Session, cmd: &str, verb: &str) -> Result<()> {
        let tag = self.imap_send(s, cmd).await?;
        let any = verb != "LIST" && verb != "SEARCH" && imap::custom_takes_any(verb);
        let store = verb.eq_ignore_ascii_case("STORE");
        let nobody = self.o.nobody;
        let st = loop {
            let l = self.mail_line(s).await?;
            match imap::classify(&l, &tag) {
                imap::Resp::Tagged(st) => break st,
                imap::Resp::Untagged(u) => {
                    let mine = any || imap::matches_cmd(&u, verb) || (store && imap::matches_cmd(&u, "FETCH"));
                    if mine && !nobody {
                        self.mail_body(&l).await?;
                    }
                }
                _ => {}
            }
        };
        if st != imap::Status::Ok {
            return Err(strerror_err(QUOTE_ERROR));
        }
        Ok(())
    }

    async fn imap_fetch(&mut self, s: &mut Session, iu: &imap::ImapUrl) -> Result<()> {
        let section = iu.section.as_deref().unwrap_or("");
        let partial = iu.partial.as_deref().map(|p| format!("<{p}>")).unwrap_or_default();
        let cmd = match (&iu.uid, &iu.mailindex) {
            (Some(uid), _) => format!("UID FETCH {uid} BODY[{section}]{partial}"),
            (None, Some(ix)) => format!("FETCH {ix} BODY[{section}]{partial}"),
            _ => return Err(Error::new(code::URL_MALFORMAT, "Cannot FETCH without a UID.")),
        };
        if cmd.contains(['\r', '\n']) {
            return Err(strerror_err(code::URL_MALFORMAT));
        }
        let tag = self.imap_send(s, &cmd).await?;
        // Until the tagged answer is read, the connection is not in step.
        s.sane = false;
        let size = loop {
            let l = self.mail_line(s).await?;
            match imap::classify(&l, &tag) {
                imap::Resp::Untagged(u) if imap::matches_cmd(&u, "FETCH") => match imap::literal_size(&u) {
                    Some(n) => break n,
                    None => return Err(Error::new(code::WEIRD_SERVER_REPLY, "Failed to parse FETCH response.")),
                },
                imap::Resp::Tagged(_) => {
                    s.sane = true;
                    return Err(strerror_err(code::REMOTE_FILE_NOT_FOUND));
                }
                _ => {}
            }
        };
        self.text(format_args!("Found {size} bytes to download"));
        self.dl_total = size as i64;
        self.info.content_length_download = size as f64;
        let deliver = !self.o.nobody;
        self.mail_literal(s, size, deliver).await?;
        self.text(format_args!("Written {size} bytes, 0 bytes are left for transfer"));
        let st = self.imap_until_tagged(s, &tag, &mut |_, _| {}).await?;
        s.sane = true;
        if st != imap::Status::Ok {
            return Err(strerror_err(code::WEIRD_SERVER_REPLY));
        }
        Ok(())
    }

    /// APPEND of the upload (INFILESIZE bytes) to the URL's mailbox.
    async fn imap_append(&mut self, s: &mut Session, iu: &imap::ImapUrl) -> Result<()> {
        let Some(mb) = &iu.mailbox else {
            return Err(Error::new(code::URL_MALFORMAT, "Cannot APPEND without a mailbox."));
        };
        let (mut data, size) = self.mail_data();
        let Some(size) = size else {
            return Err(Error::new(code::UPLOAD_FAILED, "Cannot APPEND with unknown input file size"));
        };
        let tag = self.imap_send(s, &format!("APPEND {} (\\Seen) {{{size}}}", imap::atom(mb, false))).await?;
        loop {
            let l = self.mail_line(s).await?;
            match imap::classify(&l, &tag) {
                imap::Resp::More(_) => break,
                imap::Resp::Tagged(_) => return Err(strerror_err(code::UPLOAD_FAILED)),
                _ => {}
            }
        }
        s.sane = false;
        self.info.starttransfer_time = elapsed(self.start);
        self.ul_total = size as i64;
        let mut buf = vec![0u8; self.o.upload_buffer_size.max(16384)];
        let mut sent = 0u64;
        while sent < size {
            let n = self.mail_read(&mut data, &mut buf, Some(size), sent, "an IMAP")?;
            if n == 0 {
                return Err(Error::new(
                    code::READ_ERROR,
                    format!("client read function EOF fail, only {sent}/{size} of needed bytes read"),
                ));
            }
            self.smtp_data_out(s, &buf[..n]).await?;
            sent += n as u64;
        }
        // An empty line ends the APPEND command.
        self.mail_send(s, "").await?;
        let st = self.imap_until_tagged(s, &tag, &mut |_, _| {}).await?;
        s.sane = true;
        if st != imap::Status::Ok {
            return Err(strerror_err(code::UPLOAD_FAILED));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- helpers

    /// MIMEPOST is set: SMTP and IMAP send its message instead of running a command.
    fn mail_mime_set(&self) -> bool {
        self.o.form.is_some()
    }

    /// The message to send, and its size when known.
    fn mail_data(&self) -> (MailData, Option<u64>) {
        use crate::engine::request::BodySource;
        match &self.o.form {
            Some(f) => {
                let form = crate::engine::request::Form::mail(f, &self.o.headers);
                let size = form.size();
                (MailData::Mime(form), size)
            }
            None => (MailData::Read, (self.o.in_size >= 0).then_some(self.o.in_size as u64)),
        }
    }

    /// The next piece of the message (`sent` bytes of `limit` read so far); 0 at its end.
    fn mail_read(
        &mut self,
        d: &mut MailData,
        buf: &mut [u8],
        limit: Option<u64>,
        sent: u64,
        what: &str,
    ) -> Result<usize> {
        use crate::engine::request::BodySource;
        let MailData::Mime(form) = d else {
            return self.upload_chunk(buf, limit, sent, what);
        };
        match form.read(buf) {
            ReadOutcome::Data(n) => Ok(n),
            ReadOutcome::Pause => Err(Error::new(code::READ_ERROR, format!("pausing {what} upload is not supported"))),
            ReadOutcome::Abort(e) => Err(e),
        }
    }

    fn imap_tag(&self, s: &mut Session) -> String {
        s.st.tag()
    }
}
