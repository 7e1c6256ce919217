//! What to do next: the method and headers of each request, credentials and auth challenges,
//! cookies, redirects (FOLLOWLOCATION, POSTREDIR, MAXREDIRS), and which pooled connection fits.

use base64::Engine as _;

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::http1::head::Head;
use crate::engine::http1::request::RequestHead;
use crate::engine::pool::PoolKey;
use crate::engine::request::{BodySource, Fields, Method, ReadFunction};
use crate::engine::url::Url;

/// State carried between the requests of one transfer (redirects, auth retries).
pub(super) struct Hop {
    pub(super) url: Url,
    pub(super) method: Method,
    pub(super) body: Option<Box<dyn BodySource>>,
    pub(super) auth_header: Option<String>,
    pub(super) digest_tried: bool,
    pub(super) referer: Option<String>,
    pub(super) send_auth: bool,
    pub(super) retried: bool,
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
        let mut jar = self.easy.cookies.borrow_mut();
        let jar = jar.as_mut().unwrap();
        for f in &self.o.cookie_files {
            if !f.as_os_str().is_empty() {
                jar.load_file_opts(f, now, self.o.cookie_session);
            }
        }
    }

    pub(super) async fn run_http(&mut self, url: Url) -> Result<()> {
        let method = self.initial_method();
        // UPLOAD, and POST without POSTFIELDS, send what READFUNCTION gives.
        let read_size = if self.o.upload { self.o.in_size } else { self.o.post_size };
        let form = self.o.post && !self.o.upload;
        let body: Option<Box<dyn BodySource>> = match &self.o.body {
            _ if self.o.upload => Some(Box::new(ReadFunction::new(self.cb.clone(), read_size, form))),
            Body::None if self.o.post => Some(Box::new(ReadFunction::new(self.cb.clone(), read_size, form))),
            Body::None => None,
            Body::Bytes(b) => Some(Box::new(Fields::new(b.clone(), self.o.post_size))),
            Body::Read => Some(Box::new(ReadFunction::new(self.cb.clone(), read_size, form))),
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
                    hop.url = new;
                    hop.auth_header = None;
                    hop.digest_tried = false;
                    self.info.effective_url = Some(hop.url.to_effective());
                    self.info.scheme = Some(hop.url.scheme.to_ascii_uppercase());
                }
            }
        }
    }

    fn initial_method(&self) -> Method {
        if let Some(m) = &self.o.custom_request {
            return Method::from_custom(m);
        }
        if self.o.nobody {
            Method::Head
        } else if self.o.upload {
            Method::Put
        } else if self.o.post || !matches!(self.o.body, Body::None) {
            Method::Post
        } else {
            Method::Get
        }
    }

    fn credentials(&self, url: &Url) -> Option<(String, String)> {
        if let Some(u) = &self.o.username {
            return Some((u.clone(), self.o.password.clone().unwrap_or_default()));
        }
        url.user.as_ref().map(|u| {
            (
                crate::engine::url::percent_decode(u),
                crate::engine::url::percent_decode(url.password.as_deref().unwrap_or("")),
            )
        })
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

    pub(super) fn pool_key(&self, url: &Url) -> PoolKey {
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
            proxy: self.proxy_for(url).ok().flatten(),
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

    pub(super) fn build_request(&self, hop: &Hop, body_len: Option<u64>, chunked: bool, expect: bool) -> Vec<u8> {
        let url = &hop.url;
        let mut internal: Vec<(&'static str, String)> = Vec::with_capacity(10);
        internal.push(("Host", url.host_header()));
        // Through an HTTP proxy without a tunnel the request goes to the proxy itself.
        let via = self.proxy_for(url).ok().flatten().filter(|p| p.forwards_http());
        if let Some(a) = via.as_ref().and_then(|p| p.basic_auth(self.o.proxy.auth)) {
            internal.push(("Proxy-Authorization", a));
        }
        if let Some(a) = &hop.auth_header {
            internal.push(("Authorization", a.clone()));
        }
        if let Some(r) = &self.o.range {
            if hop.method.is_get_or_head() {
                internal.push(("Range", format!("bytes={r}")));
            } else if matches!(hop.method, Method::Post | Method::Put) {
                let total = body_len.map(|b| b.to_string()).unwrap_or("*".into());
                internal.push(("Content-Range", format!("bytes {r}/{total}")));
            }
        } else if self.o.resume_from > 0 && hop.method.is_get_or_head() {
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
        if via.is_some() {
            internal.push(("Proxy-Connection", "Keep-Alive".into()));
        }
        // COOKIE first, then what the cookie engine has for this host and path.
        let jar_cookies = self.easy.cookies.borrow().as_ref().and_then(|j| {
            let secure = crate::engine::cookies::secure_context(url.scheme == "https", &url.host);
            j.cookie_header(&url.host, &url.path, secure, crate::engine::cookies::unix_now())
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
            if !hop.method.is_get_or_head() || n > 0 {
                tail.push(("Content-Length", n.to_string()));
            }
        }
        if let Some(ct) = hop.body.as_ref().and_then(|b| b.content_type()) {
            if !hop.method.is_get_or_head() {
                tail.push(("Content-Type", ct.to_string()));
            }
        }
        if expect {
            tail.push(("Expect", "100-continue".into()));
        }
        let absolute = via.as_ref().map(|_| format!("{}://{}{}", url.scheme, url.host_header(), url.path));
        let headers = match &via {
            Some(_) if !self.o.proxy.unified_headers && !self.o.proxy.headers.is_empty() => {
                [self.o.headers.as_slice(), self.o.proxy.headers.as_slice()].concat()
            }
            _ => self.o.headers.clone(),
        };
        RequestHead {
            method: hop.method.as_str(),
            target: absolute.as_deref().unwrap_or(&url.path),
            http10: self.o.http_version == HttpVersion::V1_0,
            internal,
            tail,
        }
        .write(&headers)
    }

    pub(super) fn answer_challenge(&self, hop: &mut Hop, head: &Head) -> Option<String> {
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
                return crate::engine::auth::digest_response(ch, &u, &p, hop.method.as_str(), &hop.url.path);
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

    /// Set-Cookie headers go into the cookie engine when it is on.
    pub(super) fn store_cookies(&mut self, head: &Head) {
        let Some(url) = self.current_url.clone() else { return };
        let mut jar = self.easy.cookies.borrow_mut();
        let Some(jar) = jar.as_mut() else { return };
        let values = head.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str());
        let secure = crate::engine::cookies::secure_context(url.scheme == "https", &url.host);
        jar.set_cookie_response(values, &url.host, &url.path, secure, crate::engine::cookies::unix_now());
    }
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
}
