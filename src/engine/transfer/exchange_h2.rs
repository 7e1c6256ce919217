//! One request/response as a stream of an h2 connection: the sibling of `exchange.rs` behind the
//! same interface to policy (`Next`). The request head is built exactly as for HTTP/1 (HTTPHEADER
//! rules included) and turned into h2 fields, as libcurl does; the response reaches HEADERFUNCTION
//! as libcurl's h2 lines ("HTTP/2 200 \r\n", lower-case names, the blank line, then trailers).

use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use h2::client::ResponseFuture;
use h2::{RecvStream, SendStream};

use super::policy::{Hop, Next, Verdict};
use super::*;
use crate::engine::decode::Decoder;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::http1::head::Head;
use crate::engine::http2::{self, H2Conn, Pending, PendingGuard};
use crate::engine::pool::{Conn, Multiplexed, PoolKey, StreamLease};
use crate::engine::request::{BodySource, Method};
use crate::engine::url::Url;

/// How a stream ended before its response, when a retry on another connection may fix it.
enum Failed {
    /// The server refused the stream (REFUSED_STREAM, or above a GOAWAY's last-stream-id).
    Refused,
    /// The pooled connection was gone before the stream opened.
    Dead,
    /// h2 failed (Some) or closed (None) the stream while the request body went out.
    Send(Option<h2::Error>),
    /// The server reset the stream with HTTP_1_1_REQUIRED: run it again over HTTP/1.1.
    Http11,
    Err(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Err(e)
    }
}

/// Retries of one request on fresh connections before libcurl gives up (its CONN_MAX_RETRIES).
const MAX_RETRIES: u32 = 5;

impl Xfer {
    /// Does this request want h2 (ALPN offers it, pooled h2 connections are looked for, and a
    /// cleartext connection speaks h2 at once with 2_PRIOR_KNOWLEDGE)?
    pub(super) fn wants_h2(&self, url: &Url) -> bool {
        if self.h1_only {
            return false;
        }
        match self.o.http_version {
            HttpVersion::Default | HttpVersion::V2 | HttpVersion::V2Tls => url.scheme == "https",
            HttpVersion::V2Prior => true,
            HttpVersion::V1_0 | HttpVersion::V1_1 => false,
        }
    }

    /// The ALPN protocols offered in the TLS handshake to the origin.
    pub(super) fn alpn_offer(&self, url: &Url) -> Vec<Vec<u8>> {
        if self.wants_h2(url) {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        }
    }

    /// Cheap test before `h2_pooled`: h2 wanted and any shared connection in the pool at all.
    pub(super) fn h2_pool_may_serve(&self, url: &Url) -> bool {
        !self.o.fresh_connect
            && self.wants_h2(url)
            && (self.with_pool(|p| p.has_shared()) || (self.o.pipewait && self.sh.h2_pending.borrow().any()))
    }

    /// Marks a connection that may become h2 as in progress (PIPEWAIT transfers wait for it).
    pub(super) fn h2_connecting(&self, url: &Url) -> Option<PendingGuard> {
        if !self.wants_h2(url) || self.o.fresh_connect {
            return None;
        }
        Some(Pending::begin(&self.sh.h2_pending, self.pool_key(url)))
    }

    /// A stream on a pooled h2 connection to this origin, when one has room: the request runs on it.
    pub(super) async fn h2_pooled(&mut self, hop: &mut Hop) -> Result<Option<Next>> {
        let key = self.pool_key(&hop.url);
        let (lease, in_use) = loop {
            let taken = self.with_pool(|p| p.take_stream(&key, &self.sh.reactor));
            if let Some(l) = taken {
                let Some(h2c) = l.conn.as_any().downcast_ref::<H2Conn>() else { return Ok(None) };
                if h2c.unseen_head && hop.method.as_str() == "HEAD" {
                    // A HEAD would refer the server to a header entry it lacks: a fresh connection.
                    return Ok(None);
                }
                // A share's connection left idle by another multi: driven from this one now.
                h2c.adopt(&self.sh.spawner, &self.sh.reactor);
                let idle = h2c.idle_for();
                let in_use = h2c.start_use();
                // Idle a second or more (or a body that may not replay): it idled unwatched, so
                // let it read what came meanwhile (GOAWAY, close). A shorter idle is taken as the
                // HTTP/1 pool takes one; a stream it turns out to refuse runs again elsewhere.
                if idle.is_some_and(|d| d >= Duration::from_secs(1) || hop.body.is_some()) {
                    h2c.settle().await;
                }
                if h2c.is_open() {
                    break (l, in_use);
                }
                continue;
            }
            if !(self.o.pipewait && self.sh.h2_pending.borrow().is_connecting(&key)) {
                return Ok(None);
            }
            // PIPEWAIT: a connection to this origin is being set up; see what it becomes.
            let reg = self.sh.h2_pending.clone();
            let mut waited = false;
            poll_fn(|cx| {
                if waited {
                    Poll::Ready(())
                } else {
                    waited = true;
                    reg.borrow_mut().wait(cx.waker());
                    Poll::Pending
                }
            })
            .await;
        };
        let Some(h2c) = lease.conn.as_any().downcast_ref::<H2Conn>() else { return Ok(None) };
        self.text(format_args!("Reusing existing {}: connection with host {}", hop.url.scheme, hop.url.host));
        self.info.namelookup_time = elapsed(self.start);
        self.info.connect_time = self.info.namelookup_time;
        self.info.appconnect_time = self.info.connect_time;
        let next = self.h2_stream(hop, h2c, true).await?;
        h2c.end_use(in_use, &self.sh.reactor);
        drop(lease);
        Ok(Some(next))
    }

    /// Puts a new h2 connection in the pool as a shared entry (unless FORBID_REUSE) and takes this
    /// transfer's stream on it. With a CurlShare sharing connections it goes to the share's pool
    /// (the multi's M_PIPELINING / M_MAX_CONCURRENT_STREAMS still set its stream limit).
    pub(super) fn pool_h2(&self, key: PoolKey, h2c: &Rc<H2Conn>) -> Option<StreamLease> {
        if self.o.forbid_reuse {
            return None;
        }
        let max = {
            let own = self.sh.pool.borrow();
            if own.multiplex {
                own.max_streams
            } else {
                1
            }
        };
        if self.easy.conn_cache.borrow().is_some() {
            h2c.roam();
        }
        self.with_pool(|pool| {
            pool.add_shared(key.clone(), h2c.clone() as Rc<dyn Multiplexed>, max);
            pool.take_stream(&key, &self.sh.reactor)
        })
    }

    /// A fresh connection that negotiated h2: handshake, share it in the pool, run the request.
    pub(super) async fn h2_fresh(&mut self, hop: &mut Hop, conn: Conn, pending: Option<PendingGuard>) -> Result<Next> {
        let key = conn.key.clone();
        let h2c = H2Conn::handshake(conn, &self.sh.spawner, &self.sh.reactor).await?;
        let in_use = h2c.start_use();
        self.text(format_args!("using HTTP/2"));
        let lease = self.pool_h2(key, &h2c);
        // Pooled (or not to be shared): PIPEWAIT transfers waiting for it look again.
        drop(pending);
        let r = self.h2_stream(hop, &h2c, false).await;
        h2c.end_use(in_use, &self.sh.reactor);
        drop(lease);
        r
    }

    async fn h2_stream(&mut self, hop: &mut Hop, h2c: &H2Conn, reused: bool) -> Result<Next> {
        set_text(&self.sh.spare_text, &mut self.info.primary_ip, Some(&h2c.primary_ip));
        self.info.primary_port = h2c.primary.port() as i64;
        set_text(&self.sh.spare_text, &mut self.info.local_ip, Some(&h2c.local_ip));
        self.info.local_port = h2c.local.port() as i64;
        self.info.conn_id = h2c.id;
        if !h2c.certinfo.is_empty() {
            self.info.certinfo = h2c.certinfo.clone();
        }
        let rc = self.cb.prereq(&h2c.primary_ip, &h2c.local_ip, h2c.primary.port(), h2c.local.port())?;
        if rc != 0 {
            return Err(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by pre-request callback"));
        }
        let body_len = match &hop.body {
            None => (matches!(hop.method, Method::Post | Method::Put)).then_some(0),
            Some(b) => b.size(),
        };
        // The HTTP/1 head with its HTTPHEADER rules; h2 sends no Expect: 100-continue.
        let head1 = self.build_request(hop, body_len, false, false);
        set_text(&self.sh.spare_text, &mut self.info.effective_method, Some(hop.method.as_str()));
        self.info.referer = hop.referer.clone();
        self.ul_total = body_len.map(|n| n as i64).unwrap_or(0);
        self.info.content_length_upload = match body_len {
            Some(n) => n as f64,
            None if hop.body.is_some() => -1.0,
            None => 0.0,
        };
        let (authority, headers) = h2c.fields(&head1, || {
            // Fields borrowed from the head, made h2's header map without copies in between.
            let (host, fields) = http2::fields_of_head(&head1);
            let keep = host.is_some();
            let authority = host.map_or_else(|| hop.url.host_header().into(), |h| Rc::from(&*h));
            http2::BuiltFields { authority, headers: h2_headers(&fields), keep }
        });
        // REQUEST_TARGET stands in for the URL's path and query, as in the HTTP/1 request line.
        let path = self.o.request_target.as_deref().unwrap_or(&hop.url.path);
        let sid = h2c.next_stream_id();
        if self.o.verbose {
            let (_, fields) = http2::fields_of_head(&head1);
            self.text(format_args!("[HTTP/2] [{sid}] OPENED stream for {}", hop.url.to_effective()));
            self.text(format_args!("[HTTP/2] [{sid}] [:method: {}]", hop.method.as_str()));
            self.text(format_args!("[HTTP/2] [{sid}] [:scheme: {}]", hop.url.scheme));
            self.text(format_args!("[HTTP/2] [{sid}] [:authority: {authority}]"));
            self.text(format_args!("[HTTP/2] [{sid}] [:path: {path}]"));
            for (n, v) in &fields {
                self.text(format_args!("[HTTP/2] [{sid}] [{}: {v}]", http2::field_name(n)));
            }
        }
        let uri = h2c.uri(&hop.url.scheme, &authority, path, || h2_uri(&hop.url.scheme, &authority, path));
        let req = uri.and_then(|uri| h2_request(hop.method.as_str(), uri, headers));
        let head = http2::as_h2_head(head1);
        self.info.request_size += head.len() as u64;
        self.debug_data(debug_kind::HEADER_OUT, &head);
        self.info.pretransfer_time = elapsed(self.start);
        let req = req?;
        let no_body = hop.body.is_none() || body_len == Some(0);
        let mut body_read = false;
        let sent = match self.open_stream(h2c, req, no_body).await {
            Ok((resp, send)) => {
                let sent = match (send, hop.body.as_deref_mut()) {
                    (Some(mut send), Some(src)) => {
                        body_read = true;
                        self.h2_send_body(&mut send, src, body_len).await
                    }
                    _ => Ok(()),
                };
                match sent {
                    Ok(()) => Ok(resp),
                    Err(Failed::Send(e)) => Err(refusal_or(e, resp, sid)),
                    Err(f) => Err(f),
                }
            }
            Err(f) => Err(f),
        };
        let resp = match sent {
            Ok(resp) => {
                if hop.body.is_some() {
                    self.text(format_args!("upload completely sent off: {} bytes", self.ul_now));
                } else {
                    self.text(format_args!("Request completely sent off"));
                }
                match self.h2_await_response(resp).await {
                    Ok(Ok(r)) => Ok(r),
                    Ok(Err(e)) if refused(&e) => Err(Failed::Refused),
                    Ok(Err(e)) if wants_http11(&e) => Err(Failed::Http11),
                    // A reused connection that turned out closed before any response.
                    Ok(Err(e)) if reused && e.is_io() => Err(Failed::Dead),
                    Ok(Err(e)) => Err(Failed::Err(stream_failure(h2c, &e, sid))),
                    Err(e) => Err(Failed::Err(e)),
                }
            }
            Err(f) => Err(f),
        };
        match resp {
            Ok(resp) => self.h2_response(hop, h2c, resp, sid).await,
            Err(Failed::Refused) => self.h2_retry(hop, h2c, true, body_read),
            // libcurl retries a request whose reused connection turned out dead before sending.
            Err(Failed::Dead) if reused => self.h2_retry(hop, h2c, false, body_read),
            Err(Failed::Dead) => Err(Error::new(code::HTTP2, "Error in the HTTP2 framing layer: connection closed")),
            Err(Failed::Http11) => self.h2_downgrade(hop, h2c, sid, body_read),
            Err(Failed::Send(e)) => Err(send_error(e.as_ref(), sid)),
            Err(Failed::Err(e)) => Err(e),
        }
    }

    /// The server refused the stream (nothing of it was processed) or the pooled connection was
    /// gone: the request runs again on a fresh connection, as libcurl retries, at most
    /// MAX_RETRIES times; a body already read is rewound (SEEKFUNCTION for READFUNCTION).
    fn h2_retry(&mut self, hop: &mut Hop, h2c: &H2Conn, refused: bool, body_read: bool) -> Result<Next> {
        // libcurl closes a connection that refused a stream: no new stream goes to it.
        h2c.mark_closed();
        if refused {
            self.text(format_args!("REFUSED_STREAM, retrying a fresh connect"));
        }
        if hop.retries >= MAX_RETRIES {
            return Err(Error::new(
                code::RECV_ERROR,
                format!("Connection died, tried {MAX_RETRIES} times before giving up"),
            ));
        }
        hop.retries += 1;
        self.text(format_args!("Connection died, retrying a fresh connect (retry count: {})", hop.retries));
        if body_read {
            if let Some(b) = hop.body.as_mut() {
                if let Err(e) = b.rewind() {
                    self.text(format_args!("{}", e.msg));
                    return Err(e);
                }
            }
        }
        self.ul_now = 0;
        self.info.request_size = 0;
        Ok(Next::Retry)
    }

    /// The server reset stream `sid` with HTTP_1_1_REQUIRED: as libcurl does, the request runs
    /// again on a new connection that offers only http/1.1 (the h2 one stays pooled), and so does
    /// the rest of this transfer.
    fn h2_downgrade(&mut self, hop: &mut Hop, h2c: &H2Conn, sid: u32, body_read: bool) -> Result<Next> {
        self.text(format_args!("{}", http2::reset_error(sid, 13).msg));
        self.text(format_args!("Downgrades to HTTP/1.1"));
        self.text(format_args!("Empty reply from server"));
        self.text(format_args!(
            "Connection #{} to host {}:{} left intact",
            h2c.id,
            hop.url.host,
            hop.url.port_or_default()
        ));
        self.h1_only = true;
        self.text(format_args!("Issue another request to this URL: '{}'", hop.url.to_effective()));
        if body_read {
            if let Some(b) = hop.body.as_mut() {
                b.rewind()?;
            }
        }
        self.ul_now = 0;
        Ok(Next::Retry)
    }

    async fn open_stream(
        &mut self,
        h2c: &H2Conn,
        req: http::Request<()>,
        end: bool,
    ) -> std::result::Result<(ResponseFuture, Option<SendStream<Bytes>>), Failed> {
        let mut sr = h2c.sender();
        if poll_fn(|cx| sr.poll_ready(cx)).await.is_err() {
            return Err(Failed::Dead);
        }
        match sr.send_request(req, end) {
            Ok((resp, send)) => {
                h2c.opened(&self.sh.reactor);
                Ok((resp, (!end).then_some(send)))
            }
            Err(e) if refused(&e) => Err(Failed::Refused),
            Err(e) => Err(Failed::Err(http2::conn_error(&e))),
        }
    }

    /// Sends the body from its source as DATA frames, as the stream's send window allows.
    async fn h2_send_body(
        &mut self,
        send: &mut SendStream<Bytes>,
        src: &mut dyn BodySource,
        len: Option<u64>,
    ) -> std::result::Result<(), Failed> {
        let mut buf = vec![0u8; self.o.upload_buffer_size];
        let mut sent: u64 = 0;
        loop {
            if len.is_some_and(|n| sent >= n) {
                send.send_data(Bytes::new(), true).map_err(|e| Failed::Send(Some(e)))?;
                return Ok(());
            }
            let want = match len {
                Some(n) => ((n - sent) as usize).min(buf.len()),
                None => buf.len(),
            };
            let got = loop {
                if self.easy.pause.get() & PAUSE_SEND != 0 {
                    self.wait_unpaused(PAUSE_SEND).await?;
                    continue;
                }
                match src.read(&mut buf[..want]) {
                    ReadOutcome::Data(n) => break n,
                    ReadOutcome::Pause => self.easy.pause.set(self.easy.pause.get() | PAUSE_SEND),
                    ReadOutcome::Abort(e) => return Err(Failed::Err(e)),
                }
            };
            if got > want {
                return Err(Error::new(code::READ_ERROR, "read function returned funny value").into());
            }
            if got == 0 {
                if let Some(n) = len {
                    return Err(Error::new(
                        code::READ_ERROR,
                        format!("client read function EOF fail, only {sent}/{n} of needed bytes read"),
                    )
                    .into());
                }
                send.send_data(Bytes::new(), true).map_err(|e| Failed::Send(Some(e)))?;
                return Ok(());
            }
            self.debug_data(debug_kind::DATA_OUT, &buf[..got]);
            let mut rest = Bytes::copy_from_slice(&buf[..got]);
            while !rest.is_empty() {
                send.reserve_capacity(rest.len());
                let cap = match poll_fn(|cx| send.poll_capacity(cx)).await {
                    Some(Ok(n)) => n,
                    Some(Err(e)) => return Err(Failed::Send(Some(e))),
                    None => return Err(Failed::Send(None)),
                };
                if cap == 0 {
                    continue;
                }
                let piece = rest.split_to(cap.min(rest.len()));
                send.send_data(piece, false).map_err(|e| Failed::Send(Some(e)))?;
            }
            sent += got as u64;
            self.ul_now += got as i64;
            self.info.request_size += got as u64;
            self.throttle(self.o.max_send_speed, self.ul_now).await;
            self.call_progress(false)?;
        }
    }

    async fn h2_line(&mut self, line: &[u8]) -> Result<()> {
        self.debug_data(debug_kind::HEADER_IN, line);
        self.deliver_header(line).await
    }

    /// Waits for the stream's final response head, delivering 1xx heads on the way ("HTTP/2 103 "
    /// and its lines, as libcurl hands them to HEADERFUNCTION).
    pub(super) async fn h2_await_response(
        &mut self,
        mut resp: ResponseFuture,
    ) -> Result<std::result::Result<http::Response<RecvStream>, h2::Error>> {
        use std::future::Future;
        loop {
            let next = poll_fn(|cx| {
                if let Poll::Ready(Some(r)) = resp.poll_informational(cx) {
                    return Poll::Ready(Err(r));
                }
                std::pin::Pin::new(&mut resp).poll(cx).map(Ok)
            })
            .await;
            match next {
                Ok(r) => return Ok(r),
                Err(Ok(info)) => {
                    let status = info.status().as_u16();
                    self.h2_line(&http2::status_line(status)).await?;
                    for (name, value) in info.headers() {
                        self.h2_line(&http2::header_line(name.as_str().as_bytes(), value.as_bytes())).await?;
                    }
                    self.h2_line(b"\r\n").await?;
                }
                Err(Err(e)) => return Ok(Err(e)),
            }
        }
    }

    pub(super) async fn h2_response(
        &mut self,
        hop: &mut Hop,
        h2c: &H2Conn,
        resp: http::Response<RecvStream>,
        sid: u32,
    ) -> Result<Next> {
        self.info.starttransfer_time = elapsed(self.start);
        let status = resp.status().as_u16();
        self.info.response_code = status as i64;
        self.info.http_version = 3;
        let mut head = Head { status, version: 20, blank: b"\r\n".to_vec(), ..Head::default() };
        // The lines are built only when something takes them; HEADER_SIZE counts them either way.
        let lines = self.o.verbose || self.o.want_header_in_body || self.cb.has_header();
        if lines {
            self.h2_line(&http2::status_line(status)).await?;
        } else {
            self.info.header_size += http2::status_line_len(status) as u64;
        }
        let mut line = Vec::new();
        // Where the last Content-Length and Content-Type went in `head` (what `Head::get` finds).
        let (mut length_at, mut type_at) = (None, None);
        for (name, value) in resp.headers() {
            if name == http::header::CONTENT_LENGTH {
                length_at = Some(head.ends.len());
            } else if name == http::header::CONTENT_TYPE {
                type_at = Some(head.ends.len());
            }
            let (name, value) = (name.as_str(), value.as_bytes());
            http2::push_field(&mut head, name, value);
            if lines {
                http2::put_header_line(&mut line, name.as_bytes(), value);
                self.h2_line(&line).await?;
            } else {
                self.info.header_size += http2::header_line_len(name.as_bytes(), value) as u64;
            }
        }
        head.content_length = length_at.and_then(|i| http2::field_value(&head, i).trim().parse().ok());
        self.store_cookies(&head);
        set_text(&self.sh.spare_text, &mut self.info.content_type, type_at.map(|i| http2::field_value(&head, i)));
        let length = head.content_length.filter(|_| !self.o.ignore_content_length);
        self.info.content_length_download = length.map_or(-1.0, |n| n as f64);
        let head_request = hop.method == Method::Head || self.o.nobody;
        if let (Some(n), false) = (length, head_request) {
            self.dl_total = n as i64;
        }
        let unmet = self.time_condition(&head);
        let skip_body = unmet || (self.o.resume_from > 0 && status == 416 && hop.method == Method::Get);
        self.publish_info();
        if status == 401 && self.ntlm_over_h2(hop, &head) {
            // NTLM authenticates a connection, which h2 cannot carry: libcurl closes this one and
            // runs the request again over HTTP/1.1 on a new one, where the handshake starts.
            for v in head.values("www-authenticate") {
                self.info.httpauth_avail |= crate::engine::auth::scheme_bit(v) as i64;
            }
            self.text(format_args!("Forcing HTTP/1.1 for NTLM"));
            h2c.mark_closed();
            self.h1_only = true;
            hop.ntlm = crate::engine::auth::NtlmStep::Want;
            self.info.redirect_count += 1;
            self.h2_line(b"\r\n").await?;
            self.text(format_args!("Issue another request to this URL: '{}'", hop.url.to_effective()));
            if self.ul_now > 0 {
                if let Some(b) = hop.body.as_mut() {
                    b.rewind()?;
                }
            }
            self.ul_now = 0;
            return Ok(Next::Retry);
        }
        match self.judge(hop, &head, skip_body) {
            Verdict::Deliver => {}
            Verdict::AuthRetry => {
                self.info.redirect_count += 1;
                self.h2_line(b"\r\n").await?;
                return Ok(Next::Retry);
            }
            Verdict::Redirect(loc) => {
                self.text(format_args!("Ignoring the response-body"));
                self.h2_line(b"\r\n").await?;
                self.dl_total = 0;
                // Dropping the body resets the stream (CANCEL); the connection stays in use.
                return Ok(Next::Redirect(loc, status));
            }
            Verdict::Fail(msg) => {
                self.text(format_args!("{msg}"));
                self.h2_line(b"\r\n").await?;
                return Err(Error::new(code::HTTP_RETURNED_ERROR, msg));
            }
        }
        if skip_body {
            self.h2_line(b"\r\n").await?;
            if unmet {
                // As over HTTP/1: a document that fails the time condition counts no body.
                self.dl_now = 0;
            }
            // Dropping the body resets the stream (CANCEL); the connection stays in use.
            return Ok(Next::Done);
        }
        if lines {
            self.h2_line(b"\r\n").await?;
        } else {
            self.info.header_size += 2;
        }
        if self.o.max_filesize > 0 && length.is_some_and(|n| n as i64 > self.o.max_filesize) {
            return Err(Error::new(code::FILESIZE_EXCEEDED, "Maximum file size exceeded"));
        }
        if self.o.resume_from > 0 && status == 200 && hop.method == Method::Get && self.o.range.is_none() {
            return Err(Error::new(
                code::RANGE_ERROR,
                "HTTP server does not seem to support byte ranges. Cannot resume.",
            ));
        }
        let decoding = self.o.accept_encoding.is_some() && self.o.content_decoding;
        let mut dec = match decoding.then(|| head.get("content-encoding")).flatten() {
            Some(enc) => Decoder::for_encoding(enc)?,
            None => None,
        };
        let mut body = resp.into_body();
        let mut received: u64 = 0;
        let mut reset_ended = false;
        let mut unreleased = 0;
        loop {
            if self.easy.pause.get() & PAUSE_RECV != 0 || self.easy.paused_data.borrow().is_some() {
                // No capacity is released while paused and the connection's streams go back to
                // the initial window: the server is held back by flow control.
                let _hold = h2c.hold();
                self.flush_paused().await?;
            }
            if unreleased > 0 {
                // Delivered now: the server may send on.
                let _ = body.flow_control().release_capacity(std::mem::take(&mut unreleased));
            }
            let chunk = match self.h2_next_data(&mut body).await? {
                None => break,
                Some(Ok(c)) => c,
                // The connection ended under the stream after a GOAWAY with an error code: libcurl
                // fails the receive (56).
                Some(Err(e)) if e.is_io() && h2c.seen.goaway_error().is_some() => {
                    return Err(Error::new(code::RECV_ERROR, "Failure when receiving data from the peer"))
                }
                // The connection ended under the stream (close, close_notify): libcurl's 18.
                Some(Err(e)) if e.is_io() => return Err(Error::new(code::PARTIAL_FILE, "Transferred a partial file")),
                // A NO_ERROR reset mid-body ends the body: short of a Content-Length it is
                // libcurl's 18, without one the response is complete.
                Some(Err(e)) if e.is_reset() && e.reason() == Some(h2::Reason::NO_ERROR) => match length {
                    Some(n) if received < n => {
                        return Err(Error::new(
                            code::PARTIAL_FILE,
                            format!("end of response with {} bytes missing", n - received),
                        ))
                    }
                    _ => {
                        reset_ended = true;
                        break;
                    }
                },
                Some(Err(e)) => return Err(stream_failure(h2c, &e, sid)),
            };
            let n = chunk.len();
            received += n as u64;
            self.body_bytes(&chunk, &mut dec).await?;
            self.check_low_speed()?;
            self.throttle(self.o.max_recv_speed, self.dl_now).await;
            if received >= http2::STREAM_WINDOW as u64
                && self.o.max_recv_speed <= 0
                && self.easy.pause.get() & PAUSE_RECV == 0
            {
                // Consumed its first window unpaused and unthrottled: libcurl opens the stream
                // up to 10 MiB.
                h2c.grow_window();
            }
            if self.easy.pause.get() & PAUSE_RECV == 0 && self.easy.paused_data.borrow().is_none() {
                let _ = body.flow_control().release_capacity(n);
            } else {
                // Held by a pause: its window stays taken until the bytes reach the application.
                unreleased += n;
            }
        }
        let trailers = if reset_ended { Ok(None) } else { poll_fn(|cx| body.poll_trailers(cx)).await };
        match trailers {
            Ok(Some(trailers)) => {
                for (name, value) in &trailers {
                    let line = http2::header_line(name.as_str().as_bytes(), value.as_bytes());
                    self.h2_line(&line).await?;
                }
            }
            Ok(None) => {}
            Err(e) => return Err(http2::stream_error(&e, sid)),
        }
        if let Some(d) = dec.as_mut() {
            d.finish();
            self.deliver_decoded(d).await?;
        }
        self.flush_paused().await?;
        self.info.last_socket = h2c.fd;
        self.text(format_args!(
            "Connection #{} to host {}:{} left intact",
            h2c.id,
            hop.url.host,
            hop.url.port_or_default()
        ));
        if !reset_ended {
            // The response's END_STREAM came after our own: nothing of the stream is left to send.
            h2c.ended_clean();
        }
        Ok(Next::Done)
    }

    /// The next DATA of the response, calling progress / low-speed checks each second meanwhile.
    async fn h2_next_data(&mut self, body: &mut RecvStream) -> Result<Option<std::result::Result<Bytes, h2::Error>>> {
        // The connection's own task reads the socket; the stream only sees what it has decoded.
        self.ticked(None, poll_fn(|cx| body.poll_data(cx))).await
    }
}

/// Was the stream refused before the server processed it? Then it can run again elsewhere. h2
/// fails a stream with the peer's GOAWAY only when the stream is above its last-stream-id (the
/// streams it covers end with the connection), so any remote GOAWAY here means "not processed",
/// as nghttp2 turns those streams into REFUSED_STREAM for libcurl.
fn refused(e: &h2::Error) -> bool {
    (e.is_reset() && e.reason() == Some(h2::Reason::REFUSED_STREAM)) || (e.is_go_away() && e.is_remote())
}

/// `e` ended stream `sid` of `h2c`. A PUSH_PROMISE (push is off) is a stream error for nghttp2
/// (libcurl's 92) where h2 gives up the whole connection.
fn stream_failure(h2c: &H2Conn, e: &h2::Error, sid: u32) -> Error {
    if let (Some((len, hend)), true) = (h2c.seen.push_promise(), e.is_library() && e.is_go_away()) {
        return Error::new(
            code::HTTP2_STREAM,
            format!(
                "[HTTP2] [{sid}] received invalid frame: FRAME[PUSH_PROMISE, len={len}, hend={}], error -505: Protocol \
                 error",
                hend as u8
            ),
        );
    }
    http2::stream_error(e, sid)
}

/// The server reset the stream with HTTP_1_1_REQUIRED (RFC 9113 8.2.2's answer to a request it
/// will serve over HTTP/1.1 only).
fn wants_http11(e: &h2::Error) -> bool {
    e.is_remote() && e.is_reset() && e.reason() == Some(h2::Reason::HTTP_1_1_REQUIRED)
}

/// Sending the body failed with `e` (None: the stream closed): when the server has refused the
/// stream meanwhile, the response says so (h2 reports the send side as merely closed); else the
/// send error stands.
fn refusal_or(e: Option<h2::Error>, mut resp: ResponseFuture, sid: u32) -> Failed {
    if e.as_ref().is_some_and(refused) {
        return Failed::Refused;
    }
    if e.as_ref().is_some_and(wants_http11) {
        return Failed::Http11;
    }
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(&mut resp).poll(&mut cx) {
        Poll::Ready(Err(r)) if refused(&r) => Failed::Refused,
        Poll::Ready(Err(r)) if wants_http11(&r) => Failed::Http11,
        Poll::Ready(Err(r)) => Failed::Err(http2::stream_error(&r, sid)),
        _ => Failed::Send(e),
    }
}

fn send_error(e: Option<&h2::Error>, sid: u32) -> Error {
    match e {
        Some(e) => http2::stream_error(e, sid),
        None => Error::new(code::SEND_ERROR, format!("HTTP/2 stream {sid} closed while sending the request body")),
    }
}

#[cfg(test)]
fn build_h2_request(
    method: &str,
    scheme: &str,
    authority: &str,
    path: &str,
    fields: &[http2::Field<'_>],
) -> Result<http::Request<()>> {
    build_h2_request_for(method, h2_uri(scheme, authority, path)?, fields)
}

fn bad_request(what: &str) -> Error {
    Error::new(code::URL_MALFORMAT, format!("HTTP/2 request: invalid {what}"))
}

fn h2_uri(scheme: &str, authority: &str, path: &str) -> Result<http::Uri> {
    http::Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|_| bad_request("URL"))
}

#[cfg(test)]
fn build_h2_request_for(method: &str, uri: http::Uri, fields: &[http2::Field<'_>]) -> Result<http::Request<()>> {
    h2_request(method, uri, h2_headers(fields))
}

fn h2_request(method: &str, uri: http::Uri, headers: Result<http::HeaderMap>) -> Result<http::Request<()>> {
    let mut req = http::Request::new(());
    *req.method_mut() = http::Method::from_bytes(method.as_bytes()).map_err(|_| bad_request("method"))?;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers?;
    Ok(req)
}

/// The request's header fields as h2 takes them, in order.
fn h2_headers(fields: &[http2::Field<'_>]) -> Result<http::HeaderMap> {
    let bad = bad_request;
    let mut h = http::HeaderMap::with_capacity(fields.len());
    for (n, v) in fields {
        let name = http::HeaderName::from_bytes(n).map_err(|_| bad("header name"))?;
        let value = http::HeaderValue::from_bytes(v.as_bytes()).map_err(|_| bad("header value"))?;
        h.append(name, value);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::build_h2_request;

    #[test]
    fn request_target_is_the_path() {
        for path in ["/a?b=1", "*", "/"] {
            let req = build_h2_request("OPTIONS", "http", "h:1", path, &[]).unwrap();
            assert_eq!(req.uri().path_and_query().map(|p| p.as_str()), Some(path));
        }
    }

    #[test]
    fn head_fields_go_in_lower_cased_in_order() {
        let head = b"GET / HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\nX-Mixed-Case: v\r\nConnection: x\r\nx-a: 2\r\n\r\n";
        let (host, fields) = crate::engine::http2::fields_of_head(head);
        let req = build_h2_request("GET", "https", &host.unwrap(), "/", &fields).unwrap();
        let got: Vec<(&str, &[u8])> = req.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        assert_eq!(got, [("accept", &b"*/*"[..]), ("x-mixed-case", b"v"), ("x-a", b"2")]);
        let bad = [(&b"Bad Name"[..], "v".into())];
        assert_eq!(
            build_h2_request("GET", "https", "h:1", "/", &bad).unwrap_err().msg,
            "HTTP/2 request: invalid header name"
        );
    }
}
