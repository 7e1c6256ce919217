//! One HTTP/1 request/response exchange on a connection: write the head and body (waiting for
//! 100-continue when asked), read response heads and the body through the `http1` codec, then park
//! the connection in the pool when it is left at a message boundary.

use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;
use std::time::Instant;

use super::policy::{Hop, Next, Verdict};
use super::*;
use crate::engine::decode::Decoder;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::http1::body::{self as h1body, BodyDecoder, BodyEvent, Framing};
use crate::engine::http1::head::{self as h1head, Head, HeadEvent, HeadParser};
use crate::engine::http1::request as h1req;
use crate::engine::pool::Conn;
use crate::engine::request::{BodySource, Method};
use crate::engine::rt::with_deadline;

impl Xfer {
    /// Reads more response bytes, calling progress / low-speed checks each second while waiting.
    async fn fill(&mut self, conn: &mut Conn) -> Result<usize> {
        if self.easy.pause.get() & PAUSE_RECV != 0 || self.easy.paused_data.borrow().is_some() {
            self.flush_paused().await?;
        }
        if !self.ticking() {
            return conn.fill(&self.sh.spare).await.map_err(|e| recv_error(&e));
        }
        // `ticked` inlined: the fill future is made afresh at each tick (it holds nothing across
        // one) rather than pinned beside the wait, which keeps the transfer's future small.
        // The speed is judged when the next read begins, after these bytes are counted (libcurl
        // judges after it wrote them out, and not at all once the response is complete).
        self.check_low_speed()?;
        let fd = conn.stream.sock().fd();
        loop {
            let reactor = self.sh.reactor.clone();
            let r = match with_deadline(&reactor, Some(Instant::now() + TICK), conn.fill(&self.sh.spare)).await {
                Some(r) => r,
                None => {
                    // Read whatever waits before judging, as `ticked` does.
                    reactor.ready(fd, crate::engine::sys::IN);
                    match with_deadline(&reactor, Some(Instant::now()), conn.fill(&self.sh.spare)).await {
                        Some(r) => r,
                        None => {
                            self.call_progress(true)?;
                            self.check_low_speed()?;
                            continue;
                        }
                    }
                }
            };
            return r.map_err(|e| recv_error(&e));
        }
    }

    pub(super) async fn one_request(&mut self, hop: &mut Hop) -> Result<Next> {
        // Counters describe the latest request, as libcurl's progress meter does.
        self.dl_now = 0;
        self.dl_total = 0;
        self.ul_now = 0;
        self.ul_total = 0;
        self.current_url = Some(hop.url.clone());
        self.head_bytes = 0;
        // h2: a stream on a pooled connection, or a fresh connection that negotiated h2 (boxed: rare
        // on the HTTP/1 path, and the transfer's future stays small).
        if self.h2_pool_may_serve(&hop.url) || self.h2c_pool_may_serve(&hop.url) {
            if let Some(next) = Box::pin(self.h2_pooled(hop)).await? {
                return Ok(next);
            }
        }
        // Boxed: held across the connect, and plain HTTP has none (it carries a pool key).
        let pending = self.h2_connecting(&hop.url).map(Box::new);
        let mut conn = self.connect(&hop.url, hop.body.as_ref().is_some_and(|b| !b.replayable())).await?;
        if conn.h2 {
            return Box::pin(self.h2_fresh(hop, conn, pending.map(|p| *p))).await;
        }
        drop(pending);
        self.req_http10 = self.o.http_version == HttpVersion::V1_0 || self.last_http10 || conn.http10;
        set_text(&self.sh.spare_text, &mut self.info.primary_ip, Some(&conn.primary_ip));
        self.info.primary_port = conn.primary.port() as i64;
        set_text(&self.sh.spare_text, &mut self.info.local_ip, Some(&conn.local_ip));
        self.info.local_port = conn.local.port() as i64;
        if conn.key.unix.is_some() {
            // libcurl has no ports to report for a Unix socket, nor a local address.
            self.info.primary_port = -1;
            self.info.local_port = -1;
        }
        self.info.conn_id = conn.id;
        *self.easy.current_sock.borrow_mut() =
            Some((conn.stream.sock().fd(), std::rc::Rc::downgrade(&self.sh.reactor)));
        if !conn.certinfo.is_empty() {
            self.info.certinfo = conn.certinfo.clone();
        }
        let rc = self.cb.prereq(&conn.primary_ip, &conn.local_ip, conn.primary.port(), conn.local.port())?;
        if rc != 0 {
            return Err(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by pre-request callback"));
        }
        if conn.uses == 0 {
            self.text(format_args!("using HTTP/1.x"));
        }
        // NTLM authenticates the connection: its header depends on where the handshake stands on it.
        self.ntlm_output(hop, &mut conn)?;
        // Body size and framing. An HTTPHEADER Transfer-Encoding naming chunked makes libcurl frame
        // whatever it sends so (even nothing: a GET then ends with the last chunk), with no length.
        let user_chunked = self.o.headers.iter().any(|h| names_chunked(h));
        let (body_len, chunked) = match &hop.body {
            None if user_chunked => (None, true),
            None => (if matches!(hop.method, Method::Post | Method::Put) { Some(0) } else { None }, false),
            Some(b) => match b.size() {
                Some(n) => (Some(n), user_chunked),
                None if self.o.http_version == HttpVersion::V1_0 => {
                    return Err(Error::new(code::UPLOAD_FAILED, "Chunky upload is not supported by HTTP 1.0"))
                }
                None => (None, true),
            },
        };
        let custom_expect =
            self.o.headers.iter().any(|h| {
                h.to_ascii_lowercase().starts_with("expect:") || h.to_ascii_lowercase().starts_with("expect;")
            });
        // libcurl sends no Expect: 100-continue with the h2c upgrade offer.
        let h2c = self.offers_h2c(&hop.url);
        // libcurl counts a POST body from the read callback that the application chunks as one of
        // unknown size (so it announces it); a PUT's or an in-memory one keeps its size here.
        let callback_post = user_chunked
            && hop.method == Method::Post
            && hop.body.as_ref().is_some_and(|b| b.in_memory().is_none() && b.reader_name() == "read function");
        let expect = !custom_expect
            && !h2c
            && !self.req_http10
            && hop.body.is_some()
            && (callback_post || hop.body.as_ref().is_some_and(|b| b.declared_size().is_none_or(|n| n > 1024 * 1024)));
        let req = self.build_request_with(hop, body_len, chunked, expect, h2c);
        self.info.request_size += req.len() as u64;
        set_text(&self.sh.spare_text, &mut self.info.effective_method, Some(hop.method.as_str()));
        self.info.referer = hop.referer.clone();
        // A chunked body's size is unknown to libcurl's progress and getinfo.
        self.ul_total = if chunked { 0 } else { body_len.map(|n| n as i64).unwrap_or(0) };
        self.info.content_length_upload = match body_len {
            _ if chunked => -1.0,
            Some(n) => n as f64,
            None => 0.0,
        };
        self.debug_data(debug_kind::HEADER_OUT, &req);
        self.info.pretransfer_time = elapsed(self.start);
        // In-memory bytes go out as they are unless chunked: send_body frames those.
        let bytes_body: Option<Rc<[u8]>> = hop.body.as_ref().filter(|_| !chunked).and_then(|b| b.in_memory());
        let bytes_len = body_len.unwrap_or(0) as usize;
        let inline = !expect && bytes_body.is_some() && bytes_len <= 64 * 1024;
        let mut first = req;
        if inline {
            first.extend_from_slice(&bytes_body.as_ref().unwrap()[..bytes_len]);
        }
        // No body but chunked framing asked for: only the last chunk follows the head.
        let empty_chunked = hop.body.is_none() && chunked;
        if empty_chunked {
            first.extend_from_slice(h1req::LAST_CHUNK);
        }
        // A reused connection the server closed while idle fails before any response byte: libcurl
        // retries such a request once on a fresh connection.
        let retry_ok = conn.uses > 0 && !hop.retried && hop.body.as_ref().is_none_or(|b| b.replayable());
        conn.uses += 1;
        let sent = conn.stream.write_all(&first).await;
        // The request's bytes are not kept while the response arrives.
        drop(first);
        if let Err(e) = sent {
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
        if empty_chunked {
            self.ul_now += h1req::LAST_CHUNK.len() as i64;
            self.info.request_size += h1req::LAST_CHUNK.len() as u64;
        }
        // Response heads: 1xx then the final one. The body goes right away, or after the server's
        // 100 (or EXPECT_100_TIMEOUT) when we sent Expect: 100-continue.
        let mut body_sent = hop.body.is_none() || inline;
        // Boxed: a final answer before the body is rare, and the slot is held across the upload.
        let mut early_final: Option<Box<Head>> = None;
        if !body_sent && expect {
            let reactor = self.sh.reactor.clone();
            let wait = Instant::now() + self.o.expect_100_timeout;
            match with_deadline(&reactor, Some(wait), Box::pin(self.peek_head(&mut conn))).await {
                Some(Err(e)) => return Err(e),
                Some(Ok(())) => {
                    let head = self.read_head(&mut conn).await?;
                    if head.status >= 200 {
                        early_final = Some(Box::new(head));
                        body_sent = true;
                    }
                }
                None => {}
            }
        }
        let mut abandon = false;
        if early_final.is_some() && hop.body.is_some() {
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
                None => match hop.body.as_deref_mut() {
                    // Boxed: the upload loop's state is needed only while uploading.
                    Some(src) => Box::pin(self.send_body(&mut conn, src, body_len, chunked)).await?,
                    None => false,
                },
            };
            if cut_short {
                // The server answered before taking the whole body (libcurl stops sending then).
                abandon = true;
            }
        }
        if hop.body.is_none() {
            self.text(format_args!("Request completely sent off"));
        } else {
            self.text(format_args!("upload completely sent off: {} bytes", self.ul_now));
        }
        let hs0 = self.info.header_size;
        let head = match early_final {
            Some(h) => *h,
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
        if h2c && Self::h2c_accepted(&head) {
            return Box::pin(self.h2c_switch(hop, conn, head)).await;
        }
        self.info.starttransfer_time = elapsed(self.start);
        self.info.response_code = head.status as i64;
        self.info.http_version = if head.version == 10 { 1 } else { 2 };
        self.last_http10 = head.version == 10;
        conn.http10 = self.last_http10;
        set_text(&self.sh.spare_text, &mut self.info.content_type, head.get("content-type"));
        let length = head.content_length.filter(|_| !self.o.ignore_content_length);
        let head_request = hop.method == Method::Head || self.o.nobody;
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
        let unmet = self.time_condition(&head);
        let mut skip_body = unmet;
        if self.o.resume_from > 0 && head.status == 416 && hop.method == Method::Get {
            // Resuming past the end: libcurl takes the 416 as "nothing more to get", not a failure.
            skip_body = true;
        }
        if head.status == 407 {
            self.note_proxy_challenge(&head.values("proxy-authenticate"));
        }
        conn.ntlm_done |=
            hop.ntlm.settle(head.status == 401) as u8 | (hop.proxy_ntlm.settle(head.status == 407) as u8) << 1;
        self.publish_info();
        match self.judge(hop, &head, skip_body) {
            Verdict::Deliver => {}
            Verdict::AuthRetry => {
                // libcurl counts an auth reload as a followed redirect (REDIRECT_COUNT), and says
                // of it what it says of one.
                self.info.redirect_count += 1;
                if keep_alive {
                    self.text(format_args!("Ignoring the response-body"));
                    self.text(format_args!("setting size while ignoring"));
                }
                self.end_head(&head).await?;
                if self.drain(&mut conn, &framing, keep_alive).await? {
                    self.park(conn);
                }
                self.text(format_args!("Issue another request to this URL: '{}'", hop.url.to_effective()));
                return Ok(Next::Retry);
            }
            Verdict::Redirect(loc) => {
                if keep_alive {
                    // libcurl says so only of a body it skips to keep the connection.
                    self.text(format_args!("Ignoring the response-body"));
                    self.text(format_args!("setting size while ignoring"));
                }
                self.end_head(&head).await?;
                if self.drain(&mut conn, &framing, keep_alive).await? {
                    self.park(conn);
                } else if !keep_alive {
                    self.text(format_args!("shutting down connection #{}", conn.id));
                }
                self.dl_total = 0;
                return Ok(Next::Redirect(loc, head.status));
            }
            Verdict::Fail(msg) => {
                self.text(format_args!("{msg}"));
                self.end_head(&head).await?;
                self.text(format_args!("closing connection #{}", conn.id));
                return Err(Error::new(code::HTTP_RETURNED_ERROR, msg));
            }
        }
        self.end_head(&head).await?;
        if skip_body {
            if self.drain(&mut conn, &framing, keep_alive).await? {
                self.park(conn);
            }
            if unmet {
                // libcurl stops at the head of a document that fails the condition: no body counted.
                self.dl_now = 0;
            }
            return Ok(Next::Done);
        }
        if self.o.max_filesize > 0 {
            if let Framing::Length(n) = framing {
                if n as i64 > self.o.max_filesize {
                    self.text(format_args!("Maximum file size exceeded"));
                    self.text(format_args!("closing connection #{}", conn.id));
                    return Err(Error::new(code::FILESIZE_EXCEEDED, "Maximum file size exceeded"));
                }
            }
        }
        // libcurl resumes only when a 2xx answer's Content-Range starts at RESUME_FROM; a body as
        // long as that offset counts as the document being there already.
        let range_from = |v: &str| {
            let v = v.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '*');
            let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
            v[..end].parse::<i64>().ok()
        };
        let resumed = head.get("content-range").and_then(range_from) == Some(self.o.resume_from);
        if self.o.resume_from > 0
            && (200..300).contains(&head.status)
            && !resumed
            && hop.method == Method::Get
            && self.o.range.is_none()
        {
            if length == Some(self.o.resume_from as u64) {
                self.text(format_args!("The entire document is already downloaded"));
                return Ok(Next::Done);
            }
            return Err(Error::new(
                code::RANGE_ERROR,
                "HTTP server does not seem to support byte ranges. Cannot resume.",
            ));
        }
        // Transfer codings other than chunked (TRANSFER_ENCODING asked for them) are undone first,
        // then the content coding when ACCEPT_ENCODING is on.
        let te_layers: Vec<String> =
            head.values("transfer-encoding").into_iter().flat_map(h1head::transfer_codings).collect();
        let mut codings = Vec::new();
        // Without transfer decoding libcurl leaves codings it was not asked for in the data.
        if !te_layers.is_empty() && (self.o.transfer_encoding || self.o.transfer_decoding) {
            if !self.o.transfer_encoding {
                return Err(Error::new(
                    code::BAD_CONTENT_ENCODING,
                    format!("Unsolicited Transfer-Encoding ({}) found", te_layers.join(", ")),
                ));
            }
            codings.push(te_layers.join(", "));
        }
        // Only transfer codings: SIZE_DOWNLOAD counts their decoded bytes, as libcurl does.
        let mut only_te = !codings.is_empty();
        if self.o.accept_encoding.is_some() && self.o.content_decoding {
            if let Some(enc) = head.get("content-encoding") {
                codings.insert(0, enc.to_string());
                only_te = false;
            }
        }
        let mut decoder = if codings.is_empty() { None } else { Decoder::for_encoding(&codings.join(", "))? };
        if let Some(d) = decoder.as_mut() {
            d.counts_output = only_te;
        }
        // The head's lines are not kept while the body arrives (a transfer may receive for hours).
        drop((head, te_layers, codings, bytes_body));
        let ok = self.read_body(&mut conn, framing, decoder).await?;
        if ok && keep_alive {
            self.park(conn);
        } else {
            // The connection ends with the body (Connection: close, HTTP/1.0, a body up to EOF).
            self.text(format_args!("shutting down connection #{}", conn.id));
        }
        Ok(Next::Done)
    }

    /// OPT_FILETIME and TIMECONDITION on a final head. True when the condition is not met, so
    /// the body is skipped and the transfer reports 304 as libcurl does.
    pub(super) fn time_condition(&mut self, head: &Head) -> bool {
        let cond = self.o.time_condition;
        // libcurl's time of the document: 0 (unknown) without Last-Modified or when it does not
        // parse; a Last-Modified at the epoch is also 0 and still reported as the file time.
        let last_modified = head.get("last-modified").filter(|_| cond != 0 || self.o.filetime);
        let doc_time = last_modified.map_or(0, |v| crate::engine::date::parse_date(v).unwrap_or(0));
        if self.o.filetime && last_modified.is_some() {
            self.info.filetime = doc_time;
        }
        if cond == 0 {
            return false;
        }
        if head.status == 304 {
            self.info.condition_unmet = true;
            return false;
        }
        let ranged = self.o.range.is_some() || self.o.resume_from > 0;
        if doc_time == 0 || self.o.time_value == 0 || ranged {
            return false;
        }
        let unmet = if cond == 2 { doc_time > self.o.time_value } else { doc_time <= self.o.time_value };
        if !unmet {
            return false;
        }
        self.text(format_args!("The requested document is not {} enough", if cond == 2 { "old" } else { "new" }));
        self.text(format_args!("Simulate an HTTP 304 response"));
        self.info.condition_unmet = true;
        self.info.response_code = 304;
        true
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
                    if crate::engine::sys::ready_now(fd, crate::engine::sys::IN) {
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

    /// Sends a body read from its source (READFUNCTION). Ok(true) when an early reply cut the upload
    /// short.
    async fn send_body(
        &mut self,
        conn: &mut Conn,
        src: &mut dyn BodySource,
        len: Option<u64>,
        chunked: bool,
    ) -> Result<bool> {
        let mut buf = vec![0u8; self.o.upload_buffer_size];
        let mut sent: u64 = 0;
        loop {
            if let Some(n) = len {
                if sent >= n {
                    // A body of known size that is chunked anyway (HTTPHEADER) still ends with the last chunk.
                    if chunked {
                        self.send_last_chunk(conn).await?;
                    }
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
                match src.read(&mut buf[..want]) {
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
                            format!("client {} EOF fail, only {sent}/{n} of needed bytes read", src.reader_name()),
                        ));
                    }
                }
                if chunked {
                    self.send_last_chunk(conn).await?;
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
                // libcurl counts the chunk framing as uploaded bytes, and in the request's size.
                self.ul_now += (framed.len() - got) as i64;
                self.info.request_size += (framed.len() - got) as u64;
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

    /// The chunked body's end, with the application's trailers if it has a TRAILERFUNCTION.
    async fn send_last_chunk(&mut self, conn: &mut Conn) -> Result<()> {
        let last = if self.cb.has_trailer() {
            h1req::last_chunk_with(&self.cb.trailer()?)
        } else {
            h1req::LAST_CHUNK.to_vec()
        };
        conn.stream.write_all(&last).await.map_err(send_error)?;
        self.ul_now += last.len() as i64;
        self.info.request_size += last.len() as u64;
        Ok(())
    }

    /// Reads one response head, handing each line to the header callback as it arrives.
    async fn read_head(&mut self, conn: &mut Conn) -> Result<Head> {
        let later = self.head_bytes > 0;
        let mut p = HeadParser::new(!self.o.ignore_content_length)
            .with_aliases(&self.o.http200_aliases)
            .after_informational(later);
        // Room for a typical head's lines up front (growing the list cost two moves per head).
        let mut head = Head::with_capacity(12, 256);
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
            // The line is read where it lies in the connection's buffer, consumed once delivered.
            let line = match ev {
                HeadEvent::Http09 => return Ok(Head::http09()),
                HeadEvent::Status(st) => {
                    if st.code >= 200 || self.info.response_code == 0 {
                        self.info.response_code = st.code as i64;
                    }
                    head.status = st.code;
                    head.version = st.version;
                    self.info.http_version = if st.version == 10 { 1 } else { 2 };
                    std::borrow::Cow::Borrowed(st.line)
                }
                HeadEvent::Header(line) => {
                    // libcurl counts header lines over the whole transfer (a redirect loop ends here).
                    self.header_lines += 1;
                    if self.header_lines > MAX_HEADER_LINES {
                        return Err(Error::new(
                            code::TOO_LARGE,
                            format!("Too many response headers, {MAX_HEADER_LINES} is max"),
                        ));
                    }
                    head.push_line(&line);
                    self.check_coding_header(&head)?;
                    line
                }
                HeadEvent::End(blank) => {
                    // The blank line ends the head; the caller delivers it once it knows what follows.
                    self.count_head_bytes(blank.len())?;
                    head.blank = blank.to_vec();
                    conn.consume(used);
                    break;
                }
            };
            self.debug_data(debug_kind::HEADER_IN, &line);
            self.deliver_header(&line).await?;
            let n = line.len();
            conn.consume(used);
            self.count_head_bytes(n)?;
        }
        head.content_length = p.content_length();
        self.store_cookies(&head);
        if head.status < 200 {
            // A final head is published by the caller once it has read the framing from it.
            self.publish_info();
        }
        if head.status < 200 && head.status != 101 {
            self.end_head(&head).await?;
        }
        if head.status < 100 && head.version != 9 {
            return Err(Error::new(code::UNSUPPORTED_PROTOCOL, "Unsupported response code in HTTP response"));
        }
        Ok(head)
    }

    /// libcurl refuses a Transfer-Encoding or Content-Encoding it cannot undo while it reads that
    /// header, so the header callback never sees the line (`head`'s last header is the new one).
    fn check_coding_header(&self, head: &Head) -> Result<()> {
        let bodyless = head.status < 200 || head.status == 204 || head.status == 304;
        let Some((name, value)) = head.last_header().filter(|_| !bodyless) else { return Ok(()) };
        if name.eq_ignore_ascii_case("transfer-encoding") {
            let layers = h1head::transfer_codings(value);
            if !layers.is_empty() && self.o.transfer_decoding && !self.o.transfer_encoding {
                return Err(Error::new(
                    code::BAD_CONTENT_ENCODING,
                    format!("Unsolicited Transfer-Encoding ({}) found", layers.join(", ")),
                ));
            }
        } else if name.eq_ignore_ascii_case("content-encoding")
            && self.o.accept_encoding.is_some()
            && self.o.content_decoding
        {
            // Only the depth is checked here: an unknown coding fails later, after the head.
            let all = head.values("content-encoding").join(", ");
            if all.split(',').filter(|t| !t.trim().is_empty()).count() > crate::engine::decode::MAX_STACK {
                Decoder::for_encoding(&all)?;
            }
        }
        Ok(())
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

    /// Delivers the blank line that ends a response head.
    pub(super) async fn end_head(&mut self, head: &Head) -> Result<()> {
        if head.blank.is_empty() {
            return Ok(());
        }
        self.debug_data(debug_kind::HEADER_IN, &head.blank);
        self.deliver_header(&head.blank).await?;
        self.publish_info();
        Ok(())
    }

    /// Reads and delivers the body. Ok(true) when the connection ended cleanly at a message boundary.
    async fn read_body(&mut self, conn: &mut Conn, framing: Framing, mut dec: Option<Decoder>) -> Result<bool> {
        let max = self.o.buffer_size.max(1024);
        let mut body = if self.o.transfer_decoding || self.discarding {
            BodyDecoder::new(framing)
        } else {
            BodyDecoder::raw(framing)
        };
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
            d.finish();
            self.deliver_decoded(d).await?;
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
        // Boxed: skipping a body is rare, and inline it would outgrow every other step of a request.
        let r = Box::pin(self.read_body(conn, framing, None)).await;
        self.discarding = false;
        Ok(matches!(r, Ok(true)) && keep)
    }

    fn park(&mut self, mut conn: Conn) {
        *self.easy.current_sock.borrow_mut() = None;
        if conn.buffered().is_empty() {
            conn.spare_buffer(&self.sh.spare);
            self.keep_conn(conn);
        }
    }
}
/// libcurl's cap on response header lines per transfer (redirects included).
const MAX_HEADER_LINES: usize = 5000;

fn send_error(e: std::io::Error) -> Error {
    Error::new(code::SEND_ERROR, format!("Failed sending data to the peer: {e}"))
}

fn recv_error(e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        return Error::new(code::RECV_ERROR, format!("TLS receive error: {e}"));
    }
    Error::new(code::RECV_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(e)))
}

/// Does an HTTPHEADER line set Transfer-Encoding with chunked among its codings?
fn names_chunked(line: &str) -> bool {
    let Some((name, value)) = line.split_once(':') else { return false };
    name.trim().eq_ignore_ascii_case("transfer-encoding")
        && value.split(',').any(|t| t.trim().eq_ignore_ascii_case("chunked"))
}
