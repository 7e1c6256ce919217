//! sftp:// URLs: an SSH connection (`engine::ssh`) on a new TCP connection, its host key checked
//! (SSH_HOST_PUBLIC_KEY_MD5 / _SHA256, SSH_KNOWNHOSTS with SSH_KEYFUNCTION), the user
//! authenticated (publickey, password, keyboard-interactive as SSH_AUTH_TYPES allows), then the
//! "sftp" subsystem on one channel: QUOTE, the download / upload / listing, POSTQUOTE. The
//! connection is not reused, and each SFTP request waits for its answer except the reads of a
//! download, which go out several at a time.

use std::rc::Rc;

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::pool::Conn;
use crate::engine::ssh::sftp::{self, Attrs, Quote, Reply};
use crate::engine::ssh::wire::{R, W};
use crate::engine::ssh::{auth_bits, keys, msg, transport, SshError, SshOptions};
use crate::engine::url::Url;

/// Our receive window and the most we ask the server to put in one packet.
const WINDOW: u32 = 2 * 1024 * 1024;
const MAX_PACKET: u32 = 32 * 1024;
/// The size of one SFTP read and how many are in flight at once.
const READ_SIZE: u32 = 30 * 1024;
const READS_AHEAD: usize = 16;

/// One SSH connection with its SFTP channel.
struct Ssh {
    conn: Conn,
    t: transport::Transport,
    rbuf: Vec<u8>,
    /// The server's number for our channel, what it lets us send, and the most per packet.
    chan: u32,
    remote_window: u64,
    remote_max: u32,
    /// What the server may still send before we grant more.
    local_window: u32,
    sftp_buf: Vec<u8>,
    next_id: u32,
    home: String,
    /// The URL's path on the server ("~" worked out), which "pwd" names.
    path: String,
}

fn login_denied() -> Error {
    Error::new(code::LOGIN_DENIED, "Login denied")
}

fn auth_failure() -> Error {
    Error::new(code::LOGIN_DENIED, "Authentication failure")
}

fn lost() -> Error {
    Error::new(crate::engine::ssh::code::SSH, "SSH connection lost")
}

fn bad() -> Error {
    SshError::proto("bad message")
}

/// KHTYPE_* of a key blob's type name.
fn kh_type(blob: &[u8]) -> i32 {
    match R(blob).str().unwrap_or_default() {
        b"ssh-rsa" => 2,
        b"ssh-dss" => 3,
        t if t.starts_with(b"ecdsa-") => 4,
        b"ssh-ed25519" => 5,
        _ => 0,
    }
}

impl Xfer {
    pub(super) async fn run_ssh(&mut self, url: Rc<Url>) -> Result<()> {
        let so: SshOptions = (*self.o.ssh).clone();
        let dec = crate::engine::url::percent_decode;
        let (user, pass) = match (&url.user, &self.o.username) {
            (Some(u), _) => (dec(u), url.password.as_deref().map(dec)),
            (None, Some(u)) => (u.clone(), self.o.password.clone()),
            (None, None) => (String::new(), None),
        };
        let path = url.path.split('?').next().unwrap_or_default();
        let path = crate::engine::proto::unescape(path, false)
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or_else(|| Error::new(code::URL_MALFORMAT, "URL using bad/illegal format or missing URL"))?;
        let conn = self.connect(&url, true).await?;
        self.info.primary_ip = Some(conn.primary_ip.clone());
        self.info.primary_port = i64::from(conn.primary.port());
        self.info.local_ip = Some(conn.local_ip.clone());
        self.info.local_port = i64::from(conn.local.port());
        self.info.conn_id = conn.id;
        self.publish_info();
        *self.easy.current_sock.borrow_mut() = Some((conn.stream.sock().fd(), Rc::downgrade(&self.sh.reactor)));
        let id = conn.id;
        let mut s = Ssh {
            conn,
            t: transport::Transport::default(),
            rbuf: Vec::new(),
            chan: 0,
            remote_window: 0,
            remote_max: 0,
            local_window: WINDOW,
            sftp_buf: Vec::new(),
            next_id: 0,
            home: String::new(),
            path: String::new(),
        };
        let r = Box::pin(self.ssh_session(&mut s, &so, &url, &user, pass.as_deref(), &path)).await;
        if r.is_ok() {
            // A polite end; the server's answer is not waited for.
            let bye = s.t.seal(&W::msg(msg::CHANNEL_CLOSE).u32(s.chan).0);
            let _ = s.conn.stream.write_all(&bye).await;
        }
        *self.easy.current_sock.borrow_mut() = None;
        drop(s);
        self.text(format_args!("shutting down connection #{id}"));
        r
    }

    async fn ssh_session(
        &mut self,
        s: &mut Ssh,
        so: &SshOptions,
        url: &Url,
        user: &str,
        pass: Option<&str>,
        path: &str,
    ) -> Result<()> {
        self.ssh_handshake(s, so, url).await?;
        self.info.appconnect_time = elapsed(self.start);
        self.ssh_auth(s, so, user, pass).await?;
        self.text(format_args!("Authentication complete"));
        if url.scheme == "scp" {
            return self.scp_transfer(s, so, path).await;
        }
        self.sftp_start(s).await?;
        // libcurl finds the home directory first: "/~/" paths start there.
        let r = self.sftp_call(s, sftp::REALPATH, |w| w.str(".")).await?;
        if r.t == sftp::NAME {
            let mut rr = r.r();
            if rr.u32().ok() == Some(1) {
                s.home = rr.text().map_err(|_| bad())?;
            }
        }
        let path = match path.strip_prefix("/~/") {
            Some(rest) => format!("{}/{rest}", s.home),
            None if path == "/~" => format!("{}/", s.home),
            None => path.to_string(),
        };
        s.path = path.clone();
        self.info.pretransfer_time = elapsed(self.start);
        let fo = self.o.ftp.clone();
        self.sftp_quote(s, &fo.quote).await?;
        if self.o.upload {
            if path.ends_with('/') {
                return Err(Error::new(code::URL_MALFORMAT, "Uploading to a URL without a filename"));
            }
            self.sftp_upload(s, so, &path, fo.append, fo.create_dirs != 0).await?;
        } else if path.ends_with('/') {
            if !self.o.nobody {
                self.sftp_list(s, &path, fo.dirlist_only).await?;
            }
        } else {
            self.sftp_download(s, &path).await?;
        }
        self.sftp_quote(s, &fo.postquote).await?;
        Ok(())
    }

    async fn ssh_send(&mut self, s: &mut Ssh, payload: &[u8]) -> Result<()> {
        let pkt = s.t.seal(payload);
        s.conn
            .stream
            .write_all(&pkt)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))
    }

    /// More bytes from the server into `s.rbuf`.
    async fn ssh_fill(&mut self, s: &mut Ssh) -> Result<()> {
        let mut buf = [0u8; 32 * 1024];
        let fd = s.conn.stream.sock().fd();
        let n = match self.ticked(Some(fd), s.conn.stream.read(&mut buf)).await? {
            Ok(0) => return Err(lost()),
            Ok(n) => n,
            Err(e) => {
                return Err(Error::new(
                    code::RECV_ERROR,
                    format!("Recv failure: {}", crate::engine::sys::error_text(&e)),
                ))
            }
        };
        s.rbuf.extend_from_slice(&buf[..n]);
        self.check_low_speed()?;
        Ok(())
    }

    /// The next packet that is not transport noise (IGNORE, DEBUG, banners of no interest).
    async fn ssh_recv(&mut self, s: &mut Ssh) -> Result<Vec<u8>> {
        loop {
            if let Some(p) = s.t.open(&mut s.rbuf)? {
                match p.first().copied() {
                    None => return Err(bad()),
                    Some(msg::IGNORE | msg::DEBUG | msg::UNIMPLEMENTED | msg::EXT_INFO) => continue,
                    Some(msg::DISCONNECT) => {
                        let mut r = R(&p[1..]);
                        let _ = r.u32();
                        let why = r.text().unwrap_or_default();
                        self.text(format_args!("SSH disconnect: {why}"));
                        return Err(lost());
                    }
                    Some(msg::GLOBAL_REQUEST) => {
                        let mut r = R(&p[1..]);
                        let _ = r.str();
                        if r.bool().unwrap_or(false) {
                            self.ssh_send(s, &[msg::REQUEST_FAILURE]).await?;
                        }
                        continue;
                    }
                    Some(msg::KEXINIT) if s.t.session_id.is_some() => {
                        return Err(SshError::proto("the server asked for a new key exchange"))
                    }
                    Some(_) => return Ok(p),
                }
            }
            self.ssh_fill(s).await?;
        }
    }

    async fn ssh_handshake(&mut self, s: &mut Ssh, so: &SshOptions, url: &Url) -> Result<()> {
        let hello = format!("{}\r\n", transport::CLIENT_VERSION);
        s.conn
            .stream
            .write_all(hello.as_bytes())
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}")))?;
        // The server may send lines before its version line (RFC 4253 section 4.2).
        let server_version = loop {
            if let Some(nl) = s.rbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = s.rbuf.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line).trim_end().to_string();
                if line.starts_with("SSH-") {
                    if !line.starts_with("SSH-2.0-") && !line.starts_with("SSH-1.99-") {
                        return Err(SshError::kex("Unable to exchange encryption keys".into()));
                    }
                    break line;
                }
                continue;
            }
            if s.rbuf.len() > 8192 {
                return Err(SshError::kex("Unable to exchange encryption keys".into()));
            }
            self.ssh_fill(s).await?;
        };
        self.text(format_args!("SSH server version: {server_version}"));
        let mut kex = transport::Kex::new(&s.t);
        let init = kex.client_init.clone();
        self.ssh_send(s, &init).await?;
        let p = self.ssh_recv(s).await?;
        if p[0] != msg::KEXINIT {
            return Err(SshError::proto("expected KEXINIT"));
        }
        let ecdh = kex.server_init(&s.t, &server_version, &p)?;
        self.ssh_send(s, &ecdh).await?;
        let p = self.ssh_recv(s).await?;
        if p[0] != msg::KEX_ECDH_REPLY {
            return Err(SshError::proto("expected KEX_ECDH_REPLY"));
        }
        let (done, keys) = kex.server_reply(&mut s.t, &p)?;
        self.ssh_check_host(so, url, &done.host_key)?;
        self.ssh_send(s, &[msg::NEWKEYS]).await?;
        s.t.switch_out(&keys);
        let p = self.ssh_recv(s).await?;
        if p[0] != msg::NEWKEYS {
            return Err(SshError::proto("expected NEWKEYS"));
        }
        s.t.switch_in(&keys);
        Ok(())
    }

    /// libcurl's host key checks: the fingerprints first, then known_hosts (and the callback).
    fn ssh_check_host(&mut self, so: &SshOptions, url: &Url, key: &[u8]) -> Result<()> {
        let deny = |what: &str, remote: String, want: &str| {
            Error::new(
                code::PEER_FAILED_VERIFICATION,
                format!("Denied establishing ssh session: mismatch {what} fingerprint. Remote {remote} is not equal to {want}"),
            )
        };
        if let Some(want) = so.host_sha256.as_deref().filter(|s| !s.is_empty()) {
            let remote = transport::sha256_b64(key);
            // The expected value may leave out base64's padding.
            if remote.trim_end_matches('=') != want.trim_end_matches('=') {
                return Err(deny("SHA256", remote, want));
            }
            self.text(format_args!("SHA256 checksum match"));
        }
        if let Some(want) = so.host_md5.as_deref().filter(|s| !s.is_empty()) {
            let remote = transport::md5_hex(key);
            if !remote.eq_ignore_ascii_case(want) || want.len() != 32 {
                return Err(deny("MD5", remote, want));
            }
            self.text(format_args!("MD5 checksum match"));
        }
        let Some(file) = so.known_hosts.as_deref() else { return Ok(()) };
        let port = url.port_or_default();
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let entries = keys::known_host(&text, &url.host, port);
        let ktype = kh_type(key);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let same = entries.iter().find(|(_, blob)| blob == key);
        let (known, matched) = match same {
            Some((_, blob)) => (Some(b64.encode(blob)), 0),
            None => match entries.iter().find(|(_, blob)| kh_type(blob) == ktype).or(entries.first()) {
                Some((_, blob)) => (Some(b64.encode(blob)), 1),
                None => (None, 2),
            },
        };
        let verdict = if self.cb.has_ssh_key() {
            let known = known.map(|k| {
                let t = kh_type(&b64.decode(&k).unwrap_or_default());
                (k.into_bytes(), t)
            });
            self.cb.ssh_key(known, (key.to_vec(), ktype), matched)
        } else if matched == 0 {
            1
        } else {
            // Without a callback libcurl accepts only a key the file has.
            2
        };
        // KHSTAT_FINE (1) accepts; FINE_ADD_TO_FILE (0) and FINE_REPLACE (4) also write the key.
        match verdict {
            1 => Ok(()),
            0 | 4 => {
                // KHSTAT_FINE_ADD_TO_FILE: the key goes into the file.
                let name = if port == 22 { url.host.clone() } else { format!("[{}]:{port}", url.host) };
                let ty = String::from_utf8_lossy(R(key).str().unwrap_or_default()).into_owned();
                let mut text = text;
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&format!("{name} {ty} {}\n", b64.encode(key)));
                let _ = std::fs::write(file, text);
                Ok(())
            }
            _ => Err(Error::new(code::PEER_FAILED_VERIFICATION, "SSL peer certificate or SSH remote key was not OK")),
        }
    }

    async fn ssh_auth(&mut self, s: &mut Ssh, so: &SshOptions, user: &str, pass: Option<&str>) -> Result<()> {
        self.ssh_send(s, &W::msg(msg::SERVICE_REQUEST).str("ssh-userauth").0).await?;
        let p = self.ssh_recv(s).await?;
        if p[0] != msg::SERVICE_ACCEPT {
            return Err(SshError::proto("ssh-userauth refused"));
        }
        let req = |method: &str| W::msg(msg::USERAUTH_REQUEST).str(user).str("ssh-connection").str(method);
        // "none" learns the methods the server takes.
        self.ssh_send(s, &req("none").0).await?;
        let methods = match self.ssh_auth_answer(s).await? {
            None => return Ok(()),
            Some(m) => m,
        };
        let allowed = |m: &str| methods.split(',').any(|x| x == m);
        let types = so.auth_types;
        if types & auth_bits::PUBLICKEY != 0 && allowed("publickey") {
            if let Some(key) = self.ssh_user_key(so) {
                let blob = key.public_blob();
                let sid = s.t.session_id.clone().unwrap_or_default();
                let data = keys::auth_signed_data(&sid, user, key.alg(), &blob);
                let sig = key.sign(&data).ok_or_else(auth_failure)?;
                self.ssh_send(s, &req("publickey").bool(true).str(key.alg()).str(&blob).str(sig).0).await?;
                if self.ssh_auth_answer(s).await?.is_none() {
                    return Ok(());
                }
            }
        }
        if types & auth_bits::PASSWORD != 0 && allowed("password") {
            self.ssh_send(s, &req("password").bool(false).str(pass.unwrap_or_default()).0).await?;
            if self.ssh_auth_answer(s).await?.is_none() {
                return Ok(());
            }
        }
        let mut kbd_tried = false;
        if types & auth_bits::KEYBOARD != 0 && allowed("keyboard-interactive") {
            kbd_tried = true;
            self.ssh_send(s, &req("keyboard-interactive").str("").str("").0).await?;
            loop {
                let p = self.ssh_recv(s).await?;
                match p[0] {
                    msg::USERAUTH_SUCCESS => return Ok(()),
                    msg::USERAUTH_FAILURE => break,
                    msg::USERAUTH_BANNER => continue,
                    msg::USERAUTH_INFO_REQUEST => {
                        let mut r = R(&p[1..]);
                        r.str().map_err(|_| bad())?;
                        r.str().map_err(|_| bad())?;
                        r.str().map_err(|_| bad())?;
                        let n = r.u32().map_err(|_| bad())?;
                        let mut w = W::msg(msg::USERAUTH_INFO_RESPONSE).u32(n);
                        for _ in 0..n {
                            w = w.str(pass.unwrap_or_default());
                        }
                        self.ssh_send(s, &w.0).await?;
                    }
                    _ => return Err(bad()),
                }
            }
        }
        // libcurl's "Login denied" comes from a failed keyboard-interactive round.
        if kbd_tried {
            Err(login_denied())
        } else {
            Err(auth_failure())
        }
    }

    /// A userauth answer: None on success, else the methods that can continue.
    async fn ssh_auth_answer(&mut self, s: &mut Ssh) -> Result<Option<String>> {
        loop {
            let p = self.ssh_recv(s).await?;
            match p[0] {
                msg::USERAUTH_SUCCESS => return Ok(None),
                msg::USERAUTH_FAILURE => return Ok(Some(R(&p[1..]).text().map_err(|_| bad())?)),
                msg::USERAUTH_BANNER => continue,
                // PASSWD_CHANGEREQ (60 after a password): we have no new password to give.
                _ => return Ok(Some(String::new())),
            }
        }
    }

    /// SSH_PRIVATE_KEYFILE, else ~/.ssh/id_rsa as libcurl, when readable and usable.
    fn ssh_user_key(&mut self, so: &SshOptions) -> Option<keys::UserKey> {
        let file = match &so.private_keyfile {
            Some(f) => f.clone(),
            None => {
                let home = std::env::var("HOME").ok()?;
                format!("{home}/.ssh/id_rsa")
            }
        };
        let text = std::fs::read(&file).ok()?;
        match keys::UserKey::parse(&text) {
            Ok(k) => Some(k),
            Err(e) => {
                self.text(format_args!("SSH public key authentication failed: unusable key file {file} ({e:?})"));
                None
            }
        }
    }

    /// Opens the session channel and starts the "sftp" subsystem on it.
    async fn sftp_start(&mut self, s: &mut Ssh) -> Result<()> {
        self.chan_open(s, "Failure initializing sftp session: Unable to startup channel").await?;
        let req = W::msg(msg::CHANNEL_REQUEST).u32(s.chan).str("subsystem").bool(true).str("sftp").0;
        if !self.chan_request(s, &req).await? {
            return Err(Error::new(
                crate::engine::ssh::code::SSH,
                "Failure initializing sftp session: Unable to request SFTP subsystem",
            ));
        }
        let init = W::default().u32(5).u8(sftp::INIT).u32(3).0;
        self.chan_write(s, &init).await?;
        let r = self.sftp_reply(s).await?;
        if r.t != sftp::VERSION {
            return Err(SshError::proto("bad SFTP version reply"));
        }
        Ok(())
    }

    /// Opens the session channel (`refused`: libcurl's words when the server will not).
    async fn chan_open(&mut self, s: &mut Ssh, refused: &str) -> Result<()> {
        let open = W::msg(msg::CHANNEL_OPEN).str("session").u32(0).u32(WINDOW).u32(MAX_PACKET).0;
        self.ssh_send(s, &open).await?;
        loop {
            let p = self.ssh_recv(s).await?;
            match p[0] {
                msg::CHANNEL_OPEN_CONFIRMATION => {
                    let mut r = R(&p[1..]);
                    r.u32().map_err(|_| bad())?;
                    s.chan = r.u32().map_err(|_| bad())?;
                    s.remote_window = u64::from(r.u32().map_err(|_| bad())?);
                    s.remote_max = r.u32().map_err(|_| bad())?.max(1024);
                    break;
                }
                msg::CHANNEL_OPEN_FAILURE => return Err(Error::new(crate::engine::ssh::code::SSH, refused)),
                _ => continue,
            }
        }
        Ok(())
    }

    /// A channel request that wants a reply: whether the server took it.
    async fn chan_request(&mut self, s: &mut Ssh, req: &[u8]) -> Result<bool> {
        self.ssh_send(s, req).await?;
        loop {
            let p = self.ssh_recv(s).await?;
            match p[0] {
                msg::CHANNEL_SUCCESS => return Ok(true),
                msg::CHANNEL_FAILURE => return Ok(false),
                msg::CHANNEL_WINDOW_ADJUST | msg::CHANNEL_DATA | msg::CHANNEL_EXTENDED_DATA => {
                    self.chan_packet(s, &p).await?
                }
                _ => continue,
            }
        }
    }

    /// A channel packet: data for SFTP, window changes, the end of the channel.
    async fn chan_packet(&mut self, s: &mut Ssh, p: &[u8]) -> Result<()> {
        let mut r = R(&p[1..]);
        match p[0] {
            msg::CHANNEL_DATA | msg::CHANNEL_EXTENDED_DATA => {
                r.u32().map_err(|_| bad())?;
                if p[0] == msg::CHANNEL_EXTENDED_DATA {
                    r.u32().map_err(|_| bad())?;
                }
                let data = r.str().map_err(|_| bad())?;
                s.local_window = s.local_window.saturating_sub(data.len() as u32);
                if p[0] == msg::CHANNEL_DATA {
                    s.sftp_buf.extend_from_slice(data);
                }
                if s.local_window < WINDOW / 2 {
                    let add = WINDOW - s.local_window;
                    s.local_window = WINDOW;
                    self.ssh_send(s, &W::msg(msg::CHANNEL_WINDOW_ADJUST).u32(s.chan).u32(add).0).await?;
                }
            }
            msg::CHANNEL_WINDOW_ADJUST => {
                r.u32().map_err(|_| bad())?;
                s.remote_window += u64::from(r.u32().map_err(|_| bad())?);
            }
            msg::CHANNEL_EOF | msg::CHANNEL_CLOSE => return Err(lost()),
            // Requests on the channel (exit-status and such) need no answer here.
            _ => {}
        }
        Ok(())
    }

    /// Bytes into the channel, as the server's window and packet size allow.
    async fn chan_write(&mut self, s: &mut Ssh, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            while s.remote_window == 0 {
                let p = self.ssh_recv(s).await?;
                self.chan_packet(s, &p).await?;
            }
            let n = data.len().min(s.remote_max as usize - 64).min(s.remote_window as usize);
            let pkt = W::msg(msg::CHANNEL_DATA).u32(s.chan).str(&data[..n]).0;
            self.ssh_send(s, &pkt).await?;
            s.remote_window -= n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// The next SFTP reply.
    async fn sftp_reply(&mut self, s: &mut Ssh) -> Result<Reply> {
        loop {
            if let Some(r) = sftp::take_reply(&mut s.sftp_buf)? {
                return Ok(r);
            }
            let p = self.ssh_recv(s).await?;
            self.chan_packet(s, &p).await?;
        }
    }

    fn sftp_next_id(s: &mut Ssh) -> u32 {
        s.next_id = s.next_id.wrapping_add(1);
        s.next_id
    }

    /// One request and its reply.
    async fn sftp_call(&mut self, s: &mut Ssh, t: u8, body: impl FnOnce(W) -> W) -> Result<Reply> {
        let id = Self::sftp_next_id(s);
        let req = sftp::request(t, id, body);
        self.chan_write(s, &req).await?;
        loop {
            let r = self.sftp_reply(s).await?;
            if r.id == id {
                return Ok(r);
            }
        }
    }

    /// A call answered by STATUS: Ok for FX_OK, else the status code and its text.
    async fn sftp_status(
        &mut self,
        s: &mut Ssh,
        t: u8,
        body: impl FnOnce(W) -> W,
    ) -> Result<std::result::Result<(), u32>> {
        let r = self.sftp_call(s, t, body).await?;
        match r.status() {
            Some((sftp::FX_OK, _)) => Ok(Ok(())),
            Some((c, _)) => Ok(Err(c)),
            None => Err(bad()),
        }
    }

    async fn sftp_stat(&mut self, s: &mut Ssh, t: u8, path: &str) -> Result<std::result::Result<Attrs, u32>> {
        let r = self.sftp_call(s, t, |w| w.str(path)).await?;
        if let Some((c, _)) = r.status() {
            return Ok(Err(c));
        }
        if r.t != sftp::ATTRS {
            return Err(bad());
        }
        Attrs::read(&mut r.r()).map(Ok).map_err(|_| bad())
    }

    /// A HANDLE reply's handle, else the status.
    fn handle_of(r: &Reply) -> Result<std::result::Result<Vec<u8>, u32>> {
        if let Some((c, _)) = r.status() {
            return Ok(Err(c));
        }
        if r.t != sftp::HANDLE {
            return Err(bad());
        }
        Ok(Ok(r.r().str().map_err(|_| bad())?.to_vec()))
    }

    async fn sftp_close(&mut self, s: &mut Ssh, handle: &[u8]) -> Result<()> {
        self.sftp_status(s, sftp::CLOSE, |w| w.str(handle)).await?.ok();
        Ok(())
    }

    async fn sftp_quote(&mut self, s: &mut Ssh, cmds: &[String]) -> Result<()> {
        for line in cmds {
            let (tolerant, line) = match line.strip_prefix('*') {
                Some(l) => (true, l),
                None => (false, line.as_str()),
            };
            let r = self.sftp_quote_one(s, line).await;
            match r {
                Err(e) if tolerant && e.code == crate::engine::ssh::code::QUOTE_ERROR => {
                    self.text(format_args!("{}", e.msg));
                }
                r => r?,
            }
        }
        Ok(())
    }

    async fn sftp_quote_one(&mut self, s: &mut Ssh, line: &str) -> Result<()> {
        let q = sftp::parse_quote(line, &s.home)?;
        let qerr = |m: String| Error::new(crate::engine::ssh::code::QUOTE_ERROR, m);
        let txt = sftp::status_text;
        match q {
            Quote::Chmod(v, p) => {
                let a = Attrs { perms: Some(v), ..Attrs::default() };
                if let Err(c) = self.sftp_status(s, sftp::SETSTAT, |w| a.write(w.str(&p))).await? {
                    return Err(qerr(format!("Attempt to set SFTP stats for \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Chown(v, p) | Quote::Chgrp(v, p) => {
                let chown = q_kind(line) == "chown";
                let cur = match self.sftp_stat(s, sftp::STAT, &p).await? {
                    Ok(a) => a,
                    Err(c) => return Err(qerr(format!("Attempt to get SFTP stats failed: {}", txt(c)))),
                };
                // libcurl takes a zero as no number at all.
                let n = v.parse::<u32>().ok().filter(|&n| n != 0).ok_or_else(|| {
                    qerr(
                        if chown {
                            "Syntax error: chown uid not a number"
                        } else {
                            "Syntax error: chgrp gid not a number"
                        }
                        .into(),
                    )
                })?;
                let (u, g) = cur.uid_gid.unwrap_or((0, 0));
                let a = Attrs { uid_gid: Some(if chown { (n, g) } else { (u, n) }), ..Attrs::default() };
                if let Err(c) = self.sftp_status(s, sftp::SETSTAT, |w| a.write(w.str(&p))).await? {
                    return Err(qerr(format!("Attempt to set SFTP stats for \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Atime(date, p) | Quote::Mtime(date, p) => {
                let atime = q_kind(line) == "atime";
                let cur = match self.sftp_stat(s, sftp::STAT, &p).await? {
                    Ok(a) => a,
                    Err(c) => return Err(qerr(format!("Attempt to get SFTP stats failed: {}", txt(c)))),
                };
                let t = crate::engine::date::parse_date(&date).filter(|&t| t >= 0).ok_or_else(|| {
                    qerr(format!("incorrect date format for {}", if atime { "atime" } else { "mtime" }))
                })?;
                let (a0, m0) = cur.atime_mtime.unwrap_or((0, 0));
                let a = Attrs {
                    atime_mtime: Some(if atime { (t as u32, m0) } else { (a0, t as u32) }),
                    ..Attrs::default()
                };
                if let Err(c) = self.sftp_status(s, sftp::SETSTAT, |w| a.write(w.str(&p))).await? {
                    return Err(qerr(format!("Attempt to set SFTP stats for \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Ln(src, dst) => {
                // OpenSSH's server takes the target first (the draft has them the other way).
                if let Err(c) = self.sftp_status(s, sftp::SYMLINK, |w| w.str(&src).str(&dst)).await? {
                    return Err(qerr(format!("symlink \"{src}\" to \"{dst}\" failed: {}", txt(c))));
                }
            }
            Quote::Rename(a, b) => {
                if let Err(c) = self.sftp_status(s, sftp::RENAME, |w| w.str(&a).str(&b)).await? {
                    return Err(qerr(format!("rename \"{a}\" to \"{b}\" failed: {}", txt(c))));
                }
            }
            Quote::Mkdir(p) => {
                let perms = self.o.ssh.dir_perms;
                let a = Attrs { perms: Some(perms), ..Attrs::default() };
                if let Err(c) = self.sftp_status(s, sftp::MKDIR, |w| a.write(w.str(&p))).await? {
                    return Err(qerr(format!("mkdir \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Rmdir(p) => {
                if let Err(c) = self.sftp_status(s, sftp::RMDIR, |w| w.str(&p)).await? {
                    return Err(qerr(format!("rmdir \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Rm(p) => {
                if let Err(c) = self.sftp_status(s, sftp::REMOVE, |w| w.str(&p)).await? {
                    return Err(qerr(format!("rm \"{p}\" failed: {}", txt(c))));
                }
            }
            Quote::Pwd => {
                let out = format!("257 \"{}\" is current directory.\n", s.path);
                if let Flow::Abort(e) = self.cb.header(out.as_bytes()) {
                    return Err(e);
                }
            }
            Quote::Statvfs(p) => {
                let r = self.sftp_call(s, sftp::EXTENDED, |w| w.str("statvfs@openssh.com").str(&p)).await?;
                if let Some((c, _)) = r.status() {
                    return Err(qerr(format!("statvfs \"{p}\" failed: {}", txt(c))));
                }
                let mut rr = r.r();
                let mut v = [0u64; 11];
                for x in v.iter_mut() {
                    *x = rr.u64().map_err(|_| bad())?;
                }
                let names = [
                    "f_bsize",
                    "f_frsize",
                    "f_blocks",
                    "f_bfree",
                    "f_bavail",
                    "f_files",
                    "f_ffree",
                    "f_favail",
                    "f_fsid",
                    "f_flag",
                    "f_namemax",
                ];
                let mut out = String::from("statvfs:\n");
                for (n, x) in names.iter().zip(v) {
                    out.push_str(&format!("{n}: {x}\n"));
                }
                if let Flow::Abort(e) = self.cb.header(out.as_bytes()) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn sftp_download(&mut self, s: &mut Ssh, path: &str) -> Result<()> {
        let attrs = self.sftp_stat(s, sftp::STAT, path).await?.ok();
        if self.o.filetime {
            if let Some((_, m)) = attrs.as_ref().and_then(|a| a.atime_mtime) {
                self.info.filetime = i64::from(m);
            }
        }
        let r = self.sftp_call(s, sftp::OPEN, |w| w.str(path).u32(sftp::FXF_READ).u32(0)).await?;
        let handle = match Self::handle_of(&r)? {
            Ok(h) => h,
            Err(c) => {
                return Err(Error::new(
                    sftp::status_code(c),
                    format!("Could not open remote file for reading: {}", sftp::status_text(c)),
                ))
            }
        };
        let size = attrs.as_ref().and_then(|a| a.size);
        let (mut from, mut to) = (0u64, size);
        if let (Some(range), Some(sz)) = (self.o.range.as_deref(), size) {
            let r = sftp_range(range, sz);
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    self.sftp_close(s, &handle).await?;
                    return Err(e);
                }
            };
            (from, to) = (r.0, Some(r.1));
        } else if self.o.resume_from > 0 {
            from = self.o.resume_from as u64;
            if let Some(sz) = size {
                if from > sz {
                    self.sftp_close(s, &handle).await?;
                    return Err(Error::new(code::RANGE_ERROR, format!("Offset ({from}) was beyond file size ({sz})")));
                }
            }
        }
        if let Some(t) = to {
            self.dl_total = t.saturating_sub(from) as i64;
            self.info.content_length_download = self.dl_total as f64;
        }
        self.publish_info();
        if self.o.nobody {
            return self.sftp_close(s, &handle).await;
        }
        self.info.starttransfer_time = elapsed(self.start);
        let r = self.sftp_read_all(s, &handle, from, to).await;
        let c = self.sftp_close(s, &handle).await;
        r.and(c)
    }

    /// Reads [from, to) (to the end of the file without `to`), several reads in flight.
    async fn sftp_read_all(&mut self, s: &mut Ssh, handle: &[u8], from: u64, to: Option<u64>) -> Result<()> {
        let mut next = from;
        let mut pending: std::collections::VecDeque<(u32, u64, u32)> = Default::default();
        let mut eof = false;
        loop {
            while !eof && pending.len() < READS_AHEAD && to.is_none_or(|t| next < t) {
                let len = to.map_or(READ_SIZE, |t| (t - next).min(u64::from(READ_SIZE)) as u32);
                let id = Self::sftp_next_id(s);
                let req = sftp::request(sftp::READ, id, |w| w.str(handle).u64(next).u32(len));
                self.chan_write(s, &req).await?;
                pending.push_back((id, next, len));
                next += u64::from(len);
            }
            let Some((id, off, len)) = pending.pop_front() else { return Ok(()) };
            let r = self.sftp_reply(s).await?;
            if r.id != id {
                return Err(SshError::proto("SFTP reply out of order"));
            }
            if let Some((c, _)) = r.status() {
                if c == sftp::FX_EOF {
                    eof = true;
                    continue;
                }
                return Err(Error::new(sftp::status_code(c), sftp::status_text(c)));
            }
            if r.t != sftp::DATA {
                return Err(bad());
            }
            let data = r.r().str().map_err(|_| bad())?.to_vec();
            if data.is_empty() {
                eof = true;
                continue;
            }
            if (data.len() as u32) < len && !eof {
                // A short read: the rest of this block is asked again after what is in flight.
                let rest = off + data.len() as u64;
                if pending.is_empty() && !eof {
                    next = rest;
                } else {
                    // Reads already sent go on past it; drain them and restart from the gap.
                    for (pid, _, _) in std::mem::take(&mut pending) {
                        loop {
                            let rr = self.sftp_reply(s).await?;
                            if rr.id == pid {
                                break;
                            }
                        }
                    }
                    next = rest;
                }
            }
            self.body_bytes(&data, &mut None).await?;
            self.flush_paused().await?;
        }
    }

    async fn sftp_list(&mut self, s: &mut Ssh, path: &str, names_only: bool) -> Result<()> {
        let r = self.sftp_call(s, sftp::OPENDIR, |w| w.str(path)).await?;
        let handle = match Self::handle_of(&r)? {
            Ok(h) => h,
            Err(c) => {
                return Err(Error::new(
                    sftp::status_code(c),
                    format!("Could not open directory for reading: {}", sftp::status_text(c)),
                ))
            }
        };
        self.info.starttransfer_time = elapsed(self.start);
        loop {
            let r = self.sftp_call(s, sftp::READDIR, |w| w.str(&handle)).await?;
            if let Some((c, _)) = r.status() {
                if c == sftp::FX_EOF {
                    break;
                }
                return Err(Error::new(sftp::status_code(c), sftp::status_text(c)));
            }
            if r.t != sftp::NAME {
                return Err(bad());
            }
            let mut rr = r.r();
            let n = rr.u32().map_err(|_| bad())?;
            for _ in 0..n {
                let name = rr.text().map_err(|_| bad())?;
                let long = rr.text().map_err(|_| bad())?;
                let attrs = Attrs::read(&mut rr).map_err(|_| bad())?;
                let mut line = if names_only || long.is_empty() { name.clone() } else { long };
                if !names_only && attrs.is_link() {
                    let target = format!("{path}{name}");
                    let t = self.sftp_call(s, sftp::READLINK, |w| w.str(&target)).await?;
                    if t.t == sftp::NAME {
                        let mut tr = t.r();
                        if tr.u32().ok() == Some(1) {
                            line.push_str(" -> ");
                            line.push_str(&tr.text().map_err(|_| bad())?);
                        }
                    }
                }
                line.push('\n');
                self.body_bytes(line.as_bytes(), &mut None).await?;
            }
            self.flush_paused().await?;
        }
        self.sftp_close(s, &handle).await
    }

    async fn sftp_upload(
        &mut self,
        s: &mut Ssh,
        so: &SshOptions,
        path: &str,
        append: bool,
        mkdirs: bool,
    ) -> Result<()> {
        let mut offset = self.o.resume_from.max(0) as u64;
        if self.o.resume_from == -1 {
            // -1: after what the server has (nothing when the file is missing).
            offset = match self.sftp_stat(s, sftp::STAT, path).await? {
                Ok(a) => a.size.unwrap_or(0),
                Err(_) => 0,
            };
        }
        let flags = if append {
            sftp::FXF_WRITE | sftp::FXF_CREAT | sftp::FXF_APPEND
        } else if offset > 0 {
            sftp::FXF_WRITE | sftp::FXF_CREAT
        } else {
            sftp::FXF_WRITE | sftp::FXF_CREAT | sftp::FXF_TRUNC
        };
        let attrs = Attrs { perms: Some(so.file_perms), ..Attrs::default() };
        let mut made_dirs = false;
        let handle = loop {
            let r = self.sftp_call(s, sftp::OPEN, |w| attrs.write(w.str(path).u32(flags))).await?;
            match Self::handle_of(&r)? {
                Ok(h) => break h,
                Err(c) if mkdirs && !made_dirs && (c == sftp::FX_NO_SUCH_FILE || c == 4) => {
                    made_dirs = true;
                    let dattrs = Attrs { perms: Some(so.dir_perms), ..Attrs::default() };
                    let mut at = 0;
                    while let Some(i) = path[at + 1..].find('/') {
                        let dir = &path[..at + 1 + i];
                        at += 1 + i;
                        // Directories that exist answer with an error: that is fine.
                        self.sftp_status(s, sftp::MKDIR, |w| dattrs.write(w.str(dir))).await?.ok();
                    }
                }
                Err(c) => {
                    return Err(Error::new(
                        sftp::status_code(c),
                        format!("Upload failed: {} ({c}/-31)", sftp::status_text(c)),
                    ))
                }
            }
        };
        self.info.starttransfer_time = elapsed(self.start);
        let limit = (self.o.in_size >= 0).then_some(self.o.in_size as u64);
        self.ul_total = limit.map_or(0, |l| l as i64);
        let mut buf = vec![0u8; (READ_SIZE as usize).min(self.o.upload_buffer_size.max(16384))];
        let mut sent = 0u64;
        let r: Result<()> = async {
            loop {
                let n = self.upload_chunk(&mut buf, limit, sent, "an SFTP")?;
                if n == 0 {
                    return Ok(());
                }
                let data = &buf[..n];
                if let Err(c) =
                    self.sftp_status(s, sftp::WRITE, |w| w.str(&handle).u64(offset + sent).str(data)).await?
                {
                    return Err(Error::new(
                        sftp::status_code(c),
                        format!("Upload failed: {} ({c}/-31)", sftp::status_text(c)),
                    ));
                }
                sent += n as u64;
                self.ul_now += n as i64;
                self.info.content_length_upload = self.ul_total as f64;
                self.call_progress(false)?;
                self.throttle(self.o.max_send_speed, self.ul_now).await;
            }
        }
        .await;
        let c = self.sftp_close(s, &handle).await;
        r.and(c)
    }
}

/// SCP (scp://): the remote "scp -f" / "scp -t" run on the channel, spoken to as libssh2 does.
impl Xfer {
    async fn scp_transfer(&mut self, s: &mut Ssh, so: &SshOptions, path: &str) -> Result<()> {
        // "/~/" is relative to where the server starts the command: the home directory.
        let path = match path.strip_prefix("/~/") {
            Some(rest) => rest.to_string(),
            None => path.to_string(),
        };
        self.info.pretransfer_time = elapsed(self.start);
        if self.o.upload {
            // libcurl checks the size before it starts anything.
            if self.o.in_size < 0 {
                return Err(Error::new(code::UPLOAD_FAILED, "SCP requires a known file size for upload"));
            }
            return self.scp_upload(s, so, &path).await;
        }
        self.scp_download(s, &path).await
    }

    /// More channel data into `s.sftp_buf`; false once the channel has ended.
    async fn scp_fill(&mut self, s: &mut Ssh) -> Result<bool> {
        let p = self.ssh_recv(s).await?;
        match p[0] {
            msg::CHANNEL_EOF | msg::CHANNEL_CLOSE => Ok(false),
            _ => self.chan_packet(s, &p).await.map(|_| true),
        }
    }

    async fn scp_exec(&mut self, s: &mut Ssh, cmd: &str, fail: Error) -> Result<()> {
        self.chan_open(s, "SCP: Unable to startup channel").await?;
        let req = W::msg(msg::CHANNEL_REQUEST).u32(s.chan).str("exec").bool(true).str(cmd).0;
        if !self.chan_request(s, &req).await? {
            return Err(fail);
        }
        Ok(())
    }

    async fn scp_download(&mut self, s: &mut Ssh, path: &str) -> Result<()> {
        let fail = || Error::new(code::REMOTE_FILE_NOT_FOUND, "Failed to recv file");
        self.scp_exec(s, &format!("scp -f {}", shell_quote(path)), fail()).await?;
        self.chan_write(s, b"\0").await?;
        // "C<mode> <size> <name>\n"; anything else (an error line, a directory's "D") fails.
        let line = loop {
            if let Some(nl) = s.sftp_buf.iter().position(|&b| b == b'\n') {
                break s.sftp_buf.drain(..=nl).collect::<Vec<u8>>();
            }
            if s.sftp_buf.first().is_some_and(|&b| b != b'C') || s.sftp_buf.len() > 4096 || !self.scp_fill(s).await? {
                return Err(fail());
            }
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let size: u64 = match line.strip_prefix('C').map(|l| l.split(' ').collect::<Vec<_>>()) {
            Some(f) if f.len() >= 3 => f[1].parse().map_err(|_| fail())?,
            _ => return Err(fail()),
        };
        self.dl_total = size as i64;
        self.info.content_length_download = size as f64;
        self.publish_info();
        self.chan_write(s, b"\0").await?;
        self.info.starttransfer_time = elapsed(self.start);
        let mut left = size;
        while left > 0 {
            if s.sftp_buf.is_empty() && !self.scp_fill(s).await? {
                return Err(Error::new(code::RECV_ERROR, "Failure when receiving data from the peer"));
            }
            let n = (s.sftp_buf.len() as u64).min(left) as usize;
            let chunk: Vec<u8> = s.sftp_buf.drain(..n).collect();
            left -= n as u64;
            if !self.o.nobody {
                self.body_bytes(&chunk, &mut None).await?;
                self.flush_paused().await?;
            }
        }
        self.chan_write(s, b"\0").await?;
        Ok(())
    }

    /// The server's answer to a step of an upload: a zero byte says yes.
    async fn scp_ack(&mut self, s: &mut Ssh) -> Result<bool> {
        while s.sftp_buf.is_empty() {
            if !self.scp_fill(s).await? {
                return Ok(false);
            }
        }
        Ok(s.sftp_buf.remove(0) == 0)
    }

    async fn scp_upload(&mut self, s: &mut Ssh, so: &SshOptions, path: &str) -> Result<()> {
        let fail = || Error::new(code::UPLOAD_FAILED, "failed to send file");
        self.scp_exec(s, &format!("scp -t {}", shell_quote(path)), fail()).await?;
        // The server's go-ahead, then after the header line its acceptance: a zero byte each.
        if !self.scp_ack(s).await? {
            return Err(fail());
        }
        let size = self.o.in_size as u64;
        let name = path.rsplit('/').next().unwrap_or(path);
        let head = format!("C0{:o} {size} {name}\n", so.file_perms & 0o777);
        self.chan_write(s, head.as_bytes()).await?;
        if !self.scp_ack(s).await? {
            return Err(fail());
        }
        self.info.starttransfer_time = elapsed(self.start);
        self.ul_total = size as i64;
        let mut buf = vec![0u8; READ_SIZE as usize];
        let mut sent = 0u64;
        while sent < size {
            let n = self.upload_chunk(&mut buf, Some(size), sent, "an SCP")?;
            if n == 0 {
                return Err(Error::new(
                    code::READ_ERROR,
                    format!("client read function EOF fail, only {sent}/{size} of needed bytes read"),
                ));
            }
            let data = buf[..n].to_vec();
            self.chan_write(s, &data).await?;
            sent += n as u64;
            self.ul_now += n as i64;
            self.info.content_length_upload = self.ul_total as f64;
            self.call_progress(false)?;
            self.throttle(self.o.max_send_speed, self.ul_now).await;
        }
        self.chan_write(s, b"\0").await?;
        if !self.scp_ack(s).await? {
            return Err(fail());
        }
        self.ssh_send(s, &W::msg(msg::CHANNEL_EOF).u32(s.chan).0).await?;
        Ok(())
    }
}

/// A path as one word for the remote shell: single quotes, a quote itself as '\''.
fn shell_quote(p: &str) -> String {
    format!("'{}'", p.replace('\'', "'\\''"))
}

/// The command word of a quote line.
fn q_kind(line: &str) -> &str {
    line.split(' ').next().unwrap_or_default()
}

/// RANGE for SFTP as libcurl reads it: "a-b", "a-" or "-n" against the file's size, as the
/// offsets [from, to).
fn sftp_range(range: &str, size: u64) -> Result<(u64, u64)> {
    let not_delivered =
        || Error::new(code::RANGE_ERROR, crate::engine::strerror::easy_strerror(code::RANGE_ERROR as i64));
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (a, b) = range.split_once('-').ok_or_else(not_delivered)?;
    let (a, b) = (a.trim_start(), b);
    if a.is_empty() {
        let n = num(b).ok_or_else(not_delivered)?;
        return Ok((size.saturating_sub(n), size));
    }
    let from = num(a).ok_or_else(not_delivered)?;
    let last = if b.is_empty() { None } else { Some(num(b).ok_or_else(not_delivered)?) };
    if from > size {
        return Err(Error::new(code::RANGE_ERROR, format!("Offset ({from}) was beyond file size ({size})")));
    }
    if last.is_some_and(|l| from > l) {
        return Err(Error::new(code::RANGE_ERROR, "Bad range: start offset larger than end offset"));
    }
    Ok((from, last.map_or(size, |l| l.saturating_add(1).min(size))))
}

#[cfg(test)]
mod tests {
    use super::sftp_range;

    #[test]
    fn ranges_read_as_libcurl_reads_them() {
        assert_eq!(sftp_range("2-5", 10).ok(), Some((2, 6)));
        assert_eq!(sftp_range("7-", 10).ok(), Some((7, 10)));
        assert_eq!(sftp_range("-3", 10).ok(), Some((7, 10)));
        assert_eq!(sftp_range("2-50", 10).ok(), Some((2, 10)));
        assert_eq!(sftp_range("20-30", 10).err().map(|e| e.msg), Some("Offset (20) was beyond file size (10)".into()));
        assert_eq!(
            sftp_range("5-2", 10).err().map(|e| e.msg),
            Some("Bad range: start offset larger than end offset".into())
        );
        assert_eq!(sftp_range("x", 10).err().map(|e| e.code), Some(33));
        assert_eq!(sftp_range("1-2,4-5", 10).err().map(|e| e.code), Some(33));
    }
}
