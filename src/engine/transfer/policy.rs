//! What to do next: the method and headers of each request, credentials and auth challenges,
//! cookies, redirects (FOLLOWLOCATION, POSTREDIR, MAXREDIRS), and which pooled connection fits.

use super::*;
use crate::engine::auth::NtlmStep;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::http1::head::Head;
use crate::engine::http1::request::RequestHead;
use crate::engine::pool::PoolKey;
use crate::engine::request::{BodySource, Fields, Form, LfToCrlf, Method, ReadFunction};
use crate::engine::setopt::BodyChoice;
use crate::engine::url::Url;
use std::borrow::Cow;

/// State carried between the requests of one transfer (redirects, auth retries).
pub(super) struct Hop {
    /// Shared with `Xfer::current_url` while its request runs (one copy per transfer, not two).
    pub(super) url: Rc<Url>,
    pub(super) method: Method,
    pub(super) body: Option<Box<dyn BodySource>>,
    pub(super) auth_header: Option<String>,
    pub(super) digest_tried: bool,
    /// Proxy-Authorization for the HTTP proxy (absolute-form requests): from the Digest challenge
    /// the handle kept, or answering this hop's 407 (one try, `proxy_answered`).
    pub(super) proxy_auth: Option<String>,
    pub(super) proxy_answered: bool,
    pub(super) referer: Option<String>,
    pub(super) send_auth: bool,
    pub(super) retried: bool,
    /// The user and password for this hop's host (options, URL, .netrc).
    pub(super) creds: Option<(String, String)>,
    /// Retries on a fresh connection after an h2 refusal or a dead connection (libcurl's count).
    pub(super) retries: u32,
    /// The NTLM handshakes with the server and with the HTTP proxy (absolute-form requests).
    pub(super) ntlm: NtlmStep,
    pub(super) proxy_ntlm: NtlmStep,
    /// The body held back while a request carries an NTLM type-1: libcurl sends that request's
    /// body empty and the whole body with the type-3.
    pub(super) held_body: Option<Box<dyn BodySource>>,
}

/// What policy makes of a final response head.
pub(super) enum Verdict {
    Deliver,
    /// Send the request again with the Authorization or Proxy-Authorization now in the hop.
    AuthRetry,
    /// Follow this Location.
    Redirect(String),
    /// FAILONERROR: end with this message.
    Fail(String),
}

pub(super) enum Next {
    Done,
    Retry,
    Redirect(String, u16),
}

impl Xfer {
    /// Reads COOKIEFILE files into the jar at transfer start, as libcurl does.
    pub(super) fn load_cookie_files(&mut self) {
        if self.o.cookie_files.is_empty() {
            return;
        }
        self.easy.enable_cookies();
        let now = crate::engine::cookies::unix_now();
        self.easy.with_cookies(|jar| {
            let Some(jar) = jar.as_mut() else { return };
            for f in &self.o.cookie_files {
                if !f.as_os_str().is_empty() {
                    jar.load_file_opts(f, now, self.o.cookie_session);
                }
            }
        });
    }

    /// `url` comes shared: an async fn keeps its arguments besides its locals (here, in `hop`).
    pub(super) async fn run_http(&mut self, url: Rc<Url>) -> Result<()> {
        let method = self.o.request_method();
        // libcurl refuses to resume an HTTP upload of any kind, before it sends a byte.
        if self.o.resume_from > 0 {
            match self.o.request_body() {
                BodyChoice::None => {}
                BodyChoice::Fields(_) => {
                    return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "cannot mix POSTFIELDS with RESUME_FROM"))
                }
                _ => return Err(Error::new(code::BAD_FUNCTION_ARGUMENT, "HTTP upload cannot be resumed")),
            }
        }
        // UPLOAD, and POST without POSTFIELDS or a form, send what READFUNCTION gives.
        let read_size = if self.o.upload { self.o.in_size } else { self.o.post_size };
        let body: Option<Box<dyn BodySource>> = match self.o.request_body() {
            BodyChoice::None => None,
            BodyChoice::ReadFunction => Some(Box::new(ReadFunction::new(self.cb.clone(), read_size, self.o.post))),
            BodyChoice::Fields(b) => Some(Box::new(Fields::new(b.clone(), self.o.post_size))),
            BodyChoice::Form(f) => Some(Box::new(Form::new(f))),
        };
        let body = match body {
            Some(b) if self.o.crlf => Some(Box::new(LfToCrlf::new(b)) as Box<dyn BodySource>),
            b => b,
        };
        let mut hop = Hop {
            url,
            method,
            body,
            auth_header: None,
            digest_tried: false,
            proxy_auth: None,
            proxy_answered: false,
            referer: self.o.referer.clone(),
            send_auth: true,
            retried: false,
            creds: None,
            retries: 0,
            ntlm: NtlmStep::start(self.o.http_auth),
            proxy_ntlm: NtlmStep::start(self.o.proxy.auth.unwrap_or(crate::engine::auth::BASIC)),
            held_body: None,
        };
        // libcurl sends credentials (and HTTPHEADER Authorization / Cookie lines) on a redirect
        // only to the first request's host, port and scheme, unless UNRESTRICTED_AUTH.
        let origin = |u: &Url| (u.host.to_ascii_lowercase(), u.port_or_default(), u.scheme.clone());
        // The first request's origin is the one HSTS may already have moved to https.
        self.hsts_upgrade(&mut hop);
        let first_origin = origin(&hop.url);
        loop {
            self.hsts_upgrade(&mut hop);
            // Each request reads the proxy environment again, as libcurl's connection setup does.
            self.choose_proxy(&hop.url);
            hop.send_auth = self.o.unrestricted_auth || origin(&hop.url) == first_origin;
            hop.creds = self.credentials(&hop.url)?;
            if hop.auth_header.is_none() && hop.send_auth {
                hop.auth_header = self.preemptive_auth(&hop).or_else(|| self.kept_digest(&hop));
            }
            if !hop.proxy_answered {
                hop.proxy_auth = self.kept_proxy_digest(&hop);
            }
            // A CurlShare's DNS cache: what it knows before the request, what was learned after.
            let share = self.easy.share.borrow().clone().filter(|s| s.holds(crate::engine::share::LOCK_DATA_DNS));
            if let Some(s) = &share {
                s.dns_into(&mut self.sh.dns.borrow_mut());
            }
            let next = self.one_request(&mut hop).await;
            if let Some(b) = hop.held_body.take() {
                hop.body = Some(b);
            }
            if let Some(s) = &share {
                s.dns_from(&self.sh.dns.borrow());
            }
            let next = next?;
            match next {
                Next::Done => return Ok(()),
                Next::Retry => {
                    // An auth retry sends the body again from its start (forms rewind their parts).
                    if let Some(b) = hop.body.as_mut().filter(|b| b.replayable()) {
                        b.rewind()?;
                    }
                    continue;
                }
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
                        s => {
                            // libcurl knows the scheme: the target parses (and is the effective URL).
                            let Some((_, bit)) = crate::engine::url::LIBCURL_SCHEMES.iter().find(|(n, _)| *n == s)
                            else {
                                return Err(Error::new(
                                    code::UNSUPPORTED_PROTOCOL,
                                    "The redirect target URL could not be parsed: Unsupported URL scheme",
                                ));
                            };
                            self.info.effective_url = Some(new.to_effective());
                            let allowed = self.o.redir_protocols & bit != 0 || matches!(s, "ftp" | "ftps");
                            let msg = if allowed { "not supported" } else { "is disabled (in redirect)" };
                            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, format!("Protocol \"{s}\" {msg}")));
                        }
                    };
                    if self.o.redir_protocols & proto == 0 || self.o.protocols & proto == 0 || proto == PROTO_FILE {
                        self.info.effective_url = Some(new.to_effective());
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
                    let to_get = hop.method == Method::Post || (status == 303 && hop.method != Method::Head);
                    if to_get && !keep_post && self.o.custom_request.is_none() {
                        hop.method = Method::Get;
                        hop.body = None;
                    }
                    self.info.effective_url = Some(new.to_effective());
                    self.text(format_args!("Issue another request to this URL: '{}'", new.to_effective()));
                    if let Some(b) = hop.body.as_mut() {
                        b.rewind()?;
                    }
                    self.info.redirect_time = elapsed(self.start);
                    hop.url = Rc::new(new);
                    hop.auth_header = None;
                    hop.digest_tried = false;
                    hop.proxy_auth = None;
                    hop.proxy_answered = false;
                    hop.ntlm = NtlmStep::start(self.o.http_auth);
                    hop.proxy_ntlm = NtlmStep::start(self.o.proxy.auth.unwrap_or(crate::engine::auth::BASIC));
                    self.info.effective_url = Some(hop.url.to_effective());
                    self.info.scheme = Some(hop.url.scheme.to_ascii_uppercase());
                }
            }
        }
    }

    /// The user and password for `url`: USERPWD / USERNAME, else the URL's, with NETRC's rules
    /// for when the .netrc file fills in or overrides them.
    fn credentials(&self, url: &Url) -> Result<Option<(String, String)>> {
        if let Some(u) = &self.o.username {
            return Ok(Some((u.clone(), self.o.password.clone().unwrap_or_default())));
        }
        let dec = crate::engine::url::percent_decode;
        let user = url.user.as_deref().map(dec).filter(|u| !u.is_empty());
        let pass = url.password.as_deref().map(dec);
        let from_url = || url.user.as_ref().map(|u| (dec(u), pass.clone().unwrap_or_default()));
        let required = self.o.creds.netrc == 2;
        // OPTIONAL prefers a complete user:password from the URL.
        if self.o.creds.netrc == 0 || (!required && user.is_some() && pass.is_some()) {
            return Ok(from_url());
        }
        let path = self.o.creds.netrc_file.clone().or_else(crate::engine::netrc::default_path);
        let found = match path {
            Some(p) => crate::engine::netrc::lookup_file(&p, &url.host, user.as_deref()),
            None => Err(crate::engine::netrc::NetrcError::NoFile),
        };
        match found {
            Ok(Some(e)) => {
                let login = e.login.or(user).unwrap_or_default();
                Ok(Some((login, e.password.unwrap_or_default())))
            }
            Ok(None) => Ok(from_url()),
            Err(e) if required => Err(Error::new(code::READ_ERROR, e.message())),
            Err(_) => Ok(from_url()),
        }
    }

    /// Digest from the challenge this origin sent an earlier request of the handle, when HTTPAUTH
    /// allows Digest and the credentials are the same: libcurl answers up front with it.
    fn kept_digest(&self, hop: &Hop) -> Option<String> {
        if self.o.http_auth & AUTH_DIGEST == 0 {
            return None;
        }
        let (u, p) = hop.creds.as_ref()?;
        let key = crate::engine::auth::digest_key(&hop.url.host, hop.url.port_or_default(), u, p);
        let (method, uri) = (hop.method.as_str(), &hop.url.path);
        self.easy.with_digest(|d| crate::engine::auth::KeptDigest::answer(&mut d.origin, &key, u, p, method, uri))
    }

    /// The HTTP proxy's kept Digest for this request (absolute form), as `kept_digest` for origins.
    fn kept_proxy_digest(&self, hop: &Hop) -> Option<String> {
        let via = self.proxy().ok().flatten().filter(|p| p.forwards_http())?;
        let (a, method, uri) = (self.o.proxy.auth, hop.method.as_str(), &hop.url.path);
        self.easy.with_digest(|d| via.kept_answer(a, method, uri, &mut d.proxy))
    }

    fn preemptive_auth(&self, hop: &Hop) -> Option<String> {
        // Bearer alone is sent at once, with or without a user.
        if self.o.http_auth & !AUTH_BEARER & 0xffff == 0 && self.o.http_auth & AUTH_BEARER != 0 {
            return self.bearer_header();
        }
        let (u, p) = hop.creds.clone()?;
        // Basic alone is sent at once; when other methods are allowed libcurl probes first.
        if self.o.http_auth & !AUTH_BASIC & 0xffff == 0 && self.o.http_auth & AUTH_BASIC != 0 {
            Some(crate::engine::auth::basic(&u, &p))
        } else {
            None
        }
    }

    /// AWS_SIGV4: the signature headers for this request, when that method is on, there is a user
    /// and the application did not write its own Authorization header.
    fn sigv4(&self, hop: &Hop) -> Option<crate::engine::sigv4::Signed> {
        // Signed at once only when it is the one method allowed (HTTPAUTH_ANY probes, as libcurl does).
        if self.o.http_auth & !AUTH_AWS_SIGV4 & 0xffff != 0 || self.o.http_auth & AUTH_AWS_SIGV4 == 0 || !hop.send_auth
        {
            return None;
        }
        let (key, secret) = hop.creds.clone()?;
        let custom = sent_custom_headers(&self.o.headers);
        if custom.iter().any(|(n, _)| n.eq_ignore_ascii_case("authorization")) {
            return None;
        }
        let host_header = custom
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| hop.url.host_header());
        let body: Option<&[u8]> = match &self.o.body {
            _ if self.o.upload => None,
            Body::Bytes(b) => Some(b),
            Body::None if !self.o.post => Some(b""),
            _ => None,
        };
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Some(crate::engine::sigv4::sign(&crate::engine::sigv4::Request {
            spec: self.o.creds.aws_sigv4.as_deref().unwrap_or(""),
            host: &hop.url.host,
            method: hop.method.as_str(),
            target: &hop.url.path,
            host_header: &host_header,
            custom,
            body,
            key: &key,
            secret: &secret,
            now,
        }))
    }

    /// "Bearer <XOAUTH2_BEARER>", when a token is set.
    fn bearer_header(&self) -> Option<String> {
        self.o.creds.bearer.as_ref().filter(|t| !t.is_empty()).map(|t| format!("Bearer {t}"))
    }

    pub(super) fn pool_key(&self, url: &Url) -> PoolKey {
        // The TLS set's fingerprint is kept with the options until they change (not hashed per request).
        let tls = match url.scheme.as_str() {
            "https" | "wss" | "gophers" => Some(self.o.tls.fingerprint()),
            // FTP: a connection made with other FTPS/account options (or TLS options) is not reused.
            "ftp" | "ftps" => {
                let tls = url.scheme == "ftps" || self.o.ftp.use_ssl > 0;
                Some(self.o.ftp.reuse_key() ^ if tls { self.o.tls.fingerprint() } else { 0 })
            }
            "smtp" | "smtps" | "pop3" | "pop3s" | "imap" | "imaps" => Some(self.mail_reuse_key(url)),
            _ => None,
        };
        PoolKey {
            scheme: url.scheme.clone(),
            host: url.host.clone(),
            port: url.port_or_default(),
            target: self.connect_target(url),
            tls,
            interface: self.o.route.interface.clone(),
            local_port: self.o.route.local_port,
            proxy: self.proxy().ok().flatten().cloned(),
            unix: self.o.route.unix_socket.clone(),
            ntlm: None,
        }
    }

    /// Where a transfer allowing NTLM looks first in the pool: `key` for connections NTLM ran on
    /// with its credentials (libcurl prefers them; plain `key` finds those NTLM never ran on).
    pub(super) fn ntlm_pool_key(&self, key: &PoolKey, url: &Url) -> Option<PoolKey> {
        let id = self.ntlm_identity(url)?;
        Some(PoolKey { ntlm: Some(id), ..key.clone() })
    }

    /// A fingerprint of the server credentials when NTLM is allowed (see `PoolKey::ntlm`).
    fn ntlm_identity(&self, url: &Url) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        if self.o.http_auth & crate::engine::auth::NTLM == 0 {
            return None;
        }
        let creds = self.credentials(url).ok().flatten()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        creds.hash(&mut h);
        Some(h.finish())
    }

    /// The NTLM headers of the request about to go on `conn` (`Conn::ntlm_done`: what NTLM already
    /// authenticated on it). A request carrying a type-1 holds its body back
    /// when it has one (libcurl's Content-Length: 0 "probe"); the type-3 request sends it.
    pub(super) fn ntlm_output(&mut self, hop: &mut Hop, conn: &mut crate::engine::pool::Conn) -> Result<()> {
        let done = conn.ntlm_done;
        let too_big = |e: crate::engine::auth::ntlm::TooBig| Error::new(code::TOO_LARGE, e.0);
        let via = self.proxy().ok().flatten().filter(|p| p.forwards_http()).and_then(|p| p.credentials.clone());
        if let Some((u, p)) = via.filter(|_| hop.proxy_ntlm.active()) {
            hop.proxy_auth = hop.proxy_ntlm.output(&u, &p, done & 2 != 0).map_err(too_big)?;
            self.text(format_args!("Proxy auth using NTLM with user '{u}'"));
        }
        if hop.send_auth && hop.ntlm.active() {
            if let Some((u, p)) = hop.creds.clone() {
                hop.auth_header = hop.ntlm.output(&u, &p, done & 1 != 0).map_err(too_big)?;
                self.text(format_args!("Server auth using NTLM with user '{u}'"));
            }
        }
        if hop.ntlm == NtlmStep::Sent1 {
            // From now on the connection belongs to these credentials (parked under them).
            conn.key.ntlm = self.ntlm_identity(&hop.url);
        }
        let probe = hop.ntlm == NtlmStep::Sent1 || hop.proxy_ntlm == NtlmStep::Sent1;
        if probe && !hop.method.is_get_or_head() {
            hop.held_body = hop.body.take();
        }
        Ok(())
    }

    /// A 401 over h2 that makes libcurl pick NTLM for the server (with credentials to send, and
    /// the handshake not given up on): the request must move to HTTP/1.1.
    pub(super) fn ntlm_over_h2(&self, hop: &Hop, head: &Head) -> bool {
        let offers = head.values("www-authenticate");
        hop.send_auth
            && hop.creds.is_some()
            && hop.ntlm != NtlmStep::Failed
            && crate::engine::auth::picks_ntlm(&offers, self.o.http_auth)
    }

    /// NTLM's reading of a 401 (server) or 407 (proxy): Some(verdict) when it decides, an auth
    /// retry to go on with the handshake or delivery when libcurl gives up on it.
    fn ntlm_input(&mut self, hop: &mut Hop, head: &Head) -> Option<Verdict> {
        let (step, challenges, want) = match head.status {
            401 if hop.send_auth && hop.creds.is_some() => {
                (&mut hop.ntlm, head.values("www-authenticate"), self.o.http_auth)
            }
            407 if self.proxy().ok().flatten().is_some_and(|p| p.forwards_http() && p.credentials.is_some()) => (
                &mut hop.proxy_ntlm,
                head.values("proxy-authenticate"),
                self.o.proxy.auth.unwrap_or(crate::engine::auth::BASIC),
            ),
            _ => return None,
        };
        match step.input(&challenges, want) {
            Ok(true) => Some(Verdict::AuthRetry),
            Ok(false) => None,
            Err(why) => {
                self.text(format_args!("{why}"));
                self.text(format_args!("Authentication problem. Ignoring this."));
                Some(Verdict::Deliver)
            }
        }
    }

    /// CONNECT_TO: "host:port:connect-host:connect-port", empty fields match anything / keep.
    fn connect_target(&self, url: &Url) -> Option<(String, u16)> {
        for e in &self.o.route.connect_to {
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

    pub(super) fn build_request(&self, hop: &Hop, body_len: Option<u64>, chunked: bool, expect: bool) -> Vec<u8> {
        self.build_request_with(hop, body_len, chunked, expect, false)
    }

    /// The request head; `h2c` adds libcurl's offer to upgrade the connection to HTTP/2.
    pub(super) fn build_request_with(
        &self,
        hop: &Hop,
        body_len: Option<u64>,
        chunked: bool,
        expect: bool,
        h2c: bool,
    ) -> Vec<u8> {
        let url = &hop.url;
        let mut connection = Vec::new();
        let mut internal: Vec<(&'static str, Cow<'_, str>)> = Vec::with_capacity(10);
        internal.push(("Host", url.host_header().into()));
        // Through an HTTP proxy without a tunnel the request goes to the proxy itself.
        let via = self.proxy().ok().flatten().filter(|p| p.forwards_http());
        let proxy_auth = hop.proxy_auth.clone().or_else(|| via.and_then(|p| p.upfront_auth(self.o.proxy.auth)));
        if let Some(a) = proxy_auth {
            internal.push(("Proxy-Authorization", a.into()));
        }
        if let Some(a) = &hop.auth_header {
            internal.push(("Authorization", a.as_str().into()));
        } else if let Some(signed) = self.sigv4(hop) {
            internal.push(("Authorization", signed.authorization.into()));
            internal.extend(
                signed.date.map(|(n, v)| (if n == "X-Amz-Date" { "X-Amz-Date" } else { leak_name(n) }, v.into())),
            );
            internal.extend(signed.content_sha.map(|(n, v)| {
                (if n == "x-amz-content-sha256" { "x-amz-content-sha256" } else { leak_name(n) }, v.into())
            }));
        }
        if let Some(r) = &self.o.range {
            if hop.method.is_get_or_head() {
                internal.push(("Range", format!("bytes={r}").into()));
            } else if matches!(hop.method, Method::Post | Method::Put) {
                let total = body_len.map(|b| b.to_string()).unwrap_or("*".into());
                internal.push(("Content-Range", format!("bytes {r}/{total}").into()));
            }
        } else if self.o.resume_from > 0 && hop.method.is_get_or_head() {
            internal.push(("Range", format!("bytes={}-", self.o.resume_from).into()));
        }
        if let Some(ua) = self.o.user_agent.as_ref().filter(|u| !u.is_empty()) {
            internal.push(("User-Agent", Cow::Borrowed(&**ua)));
        }
        internal.push(("Accept", "*/*".into()));
        if let Some(ae) = &self.o.accept_encoding {
            let v = if ae.is_empty() { "deflate, gzip, br" } else { ae.as_str() };
            internal.push(("Accept-Encoding", v.into()));
        }
        if self.o.transfer_encoding {
            internal.push(("TE", "gzip".into()));
            connection.push("TE");
        }
        if let Some(r) = &hop.referer {
            internal.push(("Referer", r.as_str().into()));
        }
        if via.is_some() {
            internal.push(("Proxy-Connection", "Keep-Alive".into()));
        }
        if h2c {
            internal.push(("Upgrade", "h2c".into()));
            internal.push(("HTTP2-Settings", crate::engine::http2::upgrade::settings_header().into()));
            connection.push("Upgrade, HTTP2-Settings");
        }
        // COOKIE first, then what the cookie engine has for this host and path.
        let jar_cookies = self.easy.with_cookies(|j| {
            let j = j.as_ref()?;
            let secure = crate::engine::cookies::secure_context(url.scheme == "https", &url.host);
            j.cookie_header(&url.host, &url.path, secure, crate::engine::cookies::unix_now())
        });
        match (&self.o.cookie, jar_cookies) {
            (Some(c), Some(j)) => internal.push(("Cookie", format!("{c}; {j}").into())),
            (Some(c), None) => internal.push(("Cookie", c.as_str().into())),
            (None, Some(j)) => internal.push(("Cookie", j.into())),
            (None, None) => {}
        }
        let cond = match self.o.time_condition {
            1 => Some("If-Modified-Since"),
            2 => Some("If-Unmodified-Since"),
            3 => Some("Last-Modified"),
            _ => None,
        };
        if let Some(name) = cond {
            internal.push((name, crate::engine::date::http_date(self.o.time_value).into()));
        }
        let mut tail: Vec<(&'static str, Cow<'_, str>)> = Vec::new();
        if chunked {
            tail.push(("Transfer-Encoding", "chunked".into()));
        } else if let Some(n) = body_len {
            if !hop.method.is_get_or_head() || n > 0 {
                tail.push(("Content-Length", n.to_string().into()));
            }
        }
        // A body held back from an NTLM type-1 request still names its type, as libcurl does.
        if let Some(ct) = hop.body.as_ref().or(hop.held_body.as_ref()).and_then(|b| b.content_type()) {
            if !hop.method.is_get_or_head() {
                tail.push(("Content-Type", ct.into()));
            }
        }
        if expect {
            tail.push(("Expect", "100-continue".into()));
        }
        // REQUEST_TARGET stands in for the URL's path and query, also in a proxy's absolute form.
        let target = self.o.request_target.as_deref().unwrap_or(&url.path);
        let absolute = via.map(|_| format!("{}://{}{}", url.scheme, url.host_header(), target));
        // PROXYHEADER lines go to the proxy too unless HEADEROPT unifies them; HTTPHEADER's
        // Authorization / Cookie lines stay with the first origin unless UNRESTRICTED_AUTH.
        let proxy_extra = via.is_some() && !self.o.proxy.unified_headers && !self.o.proxy.headers.is_empty();
        let custom: Cow<'_, [String]> = if hop.send_auth && !proxy_extra {
            Cow::Borrowed(&self.o.headers)
        } else {
            let mut v: Vec<String> =
                self.o.headers.iter().filter(|h| hop.send_auth || !is_credential_line(h)).cloned().collect();
            if proxy_extra {
                v.extend(self.o.proxy.headers.iter().cloned());
            }
            Cow::Owned(v)
        };
        RequestHead {
            method: hop.method.as_str(),
            target: absolute.as_deref().unwrap_or(target),
            http10: self.req_http10,
            internal,
            tail,
            connection,
        }
        .write(&custom)
    }

    /// What a final response head asks for: an auth retry, a redirect, a failure (FAILONERROR), or
    /// its body delivered. Records what getinfo reports about it on the way.
    pub(super) fn judge(&mut self, hop: &mut Hop, head: &Head, skip_body: bool) -> Verdict {
        let ntlm = self.ntlm_input(hop, head);
        if head.status == 401 {
            for (n, v) in head.headers() {
                if n.eq_ignore_ascii_case("www-authenticate") {
                    self.info.httpauth_avail |= crate::engine::auth::scheme_bit(v) as i64;
                }
            }
            if let Some(Verdict::AuthRetry) = ntlm {
                return Verdict::AuthRetry;
            }
            // Retry once with credentials the server asks for (unless NTLM gave up on them).
            if hop.send_auth && ntlm.is_none() {
                if let Some(next_auth) = self.answer_challenge(hop, head) {
                    hop.auth_header = Some(next_auth);
                    return Verdict::AuthRetry;
                }
            }
        }
        // The HTTP proxy itself asks (no tunnel): answer its challenge once, as PROXYAUTH allows.
        if head.status == 407 && matches!(ntlm, Some(Verdict::AuthRetry)) {
            return Verdict::AuthRetry;
        }
        if head.status == 407 && !hop.proxy_answered && ntlm.is_none() {
            let via = self.proxy().ok().flatten().filter(|p| p.forwards_http());
            let challenges = head.values("proxy-authenticate");
            // libcurl's digest uri is the request's path, not the absolute-form target.
            let answer = via.and_then(|p| {
                let (a, method, uri) = (self.o.proxy.auth, hop.method.as_str(), &hop.url.path);
                self.easy.with_digest(|d| p.answer_407(a, &challenges, method, uri, &mut d.proxy))
            });
            if let Some(a) = answer {
                hop.proxy_auth = Some(a);
                hop.proxy_answered = true;
                return Verdict::AuthRetry;
            }
        }
        let location = head.get("location").map(|s| s.to_string()).filter(|l| !l.trim().is_empty());
        if let Some(loc) = location {
            if (300..400).contains(&head.status) && self.o.follow {
                return Verdict::Redirect(loc);
            }
            self.info.redirect_url = Some(hop.url.join(&loc).map(|u| u.to_effective()).unwrap_or(loc));
        }
        // A body skipped anyway (condition unmet, resume past the end) is not a FAILONERROR failure.
        if self.o.fail_on_error && head.status >= 400 && !skip_body {
            return Verdict::Fail(format!("The requested URL returned error: {}", head.status));
        }
        Verdict::Deliver
    }

    fn answer_challenge(&self, hop: &mut Hop, head: &Head) -> Option<String> {
        let challenges = head.values("www-authenticate");
        // libcurl ranks Bearer above Digest and Basic.
        if self.o.http_auth & AUTH_BEARER != 0
            && hop.auth_header.is_none()
            && challenges.iter().any(|c| c.len() >= 6 && c[..6].eq_ignore_ascii_case("bearer"))
        {
            if let Some(h) = self.bearer_header() {
                return Some(h);
            }
        }
        let (u, p) = hop.creds.clone()?;
        if self.o.http_auth & AUTH_DIGEST != 0 && !hop.digest_tried {
            if let Some(ch) = challenges.iter().find(|c| c.len() >= 6 && c[..6].eq_ignore_ascii_case("digest")) {
                hop.digest_tried = true;
                let answer = crate::engine::auth::digest_response(ch, &u, &p, hop.method.as_str(), &hop.url.path)?;
                let key = crate::engine::auth::digest_key(&hop.url.host, hop.url.port_or_default(), &u, &p);
                self.easy.with_digest(|d| crate::engine::auth::KeptDigest::keep(&mut d.origin, key, ch));
                return Some(answer);
            }
        }
        if self.o.http_auth & AUTH_BASIC != 0
            && hop.auth_header.is_none()
            && challenges.iter().any(|c| c.len() >= 5 && c[..5].eq_ignore_ascii_case("basic"))
        {
            return Some(crate::engine::auth::basic(&u, &p));
        }
        None
    }

    /// HSTS: an http:// URL of a host the cache knows goes to https:// instead (same port, or
    /// 443 when none was given), before anything is sent, as libcurl does at each hop.
    fn hsts_upgrade(&mut self, hop: &mut Hop) {
        let now = crate::engine::cookies::unix_now();
        let Some(new) = self.easy.hsts.borrow().as_ref().and_then(|c| c.upgrade(&hop.url, now)) else { return };
        hop.url = Rc::new(new);
        let eff = hop.url.to_effective();
        self.text(format_args!("Switched from HTTP to HTTPS due to HSTS => {eff}"));
        self.info.effective_url = Some(eff);
        self.info.scheme = Some("HTTPS".into());
    }

    /// Strict-Transport-Security headers received over HTTPS go into the HSTS cache when it is
    /// on, one after the other (the last valid one wins).
    fn store_hsts(&mut self, url: &Url, head: &Head) {
        if url.scheme != "https" {
            return;
        }
        let mut cache = self.easy.hsts.borrow_mut();
        let Some(cache) = cache.as_mut() else { return };
        let now = crate::engine::cookies::unix_now();
        for (_, v) in head.headers().filter(|(n, _)| n.eq_ignore_ascii_case("strict-transport-security")) {
            cache.observe(&url.host, v, now);
        }
    }

    /// Set-Cookie headers go into the cookie engine when it is on (and STS headers into HSTS).
    pub(super) fn store_cookies(&mut self, head: &Head) {
        let Some(url) = self.current_url.clone() else { return };
        self.store_hsts(&url, head);
        self.easy.with_cookies(|jar| {
            let Some(jar) = jar.as_mut() else { return };
            let values = head.headers().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v);
            let secure = crate::engine::cookies::secure_context(url.scheme == "https", &url.host);
            jar.set_cookie_response(values, &url.host, &url.path, secure, crate::engine::cookies::unix_now());
        });
    }
}
/// The HTTPHEADER lines that go out, as (name, value): "Name: value" and "Name;" (empty); a
/// "Name:" line only removes a header.
fn sent_custom_headers(lines: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in lines {
        let Some(i) = h.find([':', ';']) else { continue };
        let (name, value) = (h[..i].trim(), h[i + 1..].trim());
        match h.as_bytes()[i] {
            b':' if !value.is_empty() => out.push((name.to_string(), value.to_string())),
            b';' if value.is_empty() => out.push((name.to_string(), String::new())),
            _ => {}
        }
    }
    out
}

/// A header name made at run time (a provider other than amz), interned for the process: the
/// request head's internal list holds static names, and an application uses few providers.
fn leak_name(n: String) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = names.iter().find(|s| **s == n) {
        return s;
    }
    let s: &'static str = Box::leak(n.into_boxed_str());
    names.push(s);
    s
}

/// An HTTPHEADER line libcurl keeps from other origins after a redirect: "Authorization:" or "Cookie:".
fn is_credential_line(h: &str) -> bool {
    let Some((name, _)) = h.split_once(':') else { return false };
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
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
    fn connect_to_entries_split() {
        assert_eq!(split_connect_to("a:80:b:81"), vec!["a", "80", "b", "81"]);
        assert_eq!(split_connect_to("::[::1]:81"), vec!["", "", "[::1]", "81"]);
    }

    #[test]
    fn credential_lines_are_authorization_and_cookie() {
        assert!(is_credential_line("authorization: Bearer x"));
        assert!(is_credential_line("Cookie: a=1"));
        assert!(!is_credential_line("Cookie; "));
        assert!(!is_credential_line("X-Cookie: a"));
    }
}
