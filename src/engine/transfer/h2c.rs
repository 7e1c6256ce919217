//! HTTP_VERSION 2_0 on http://: libcurl's HTTP/1.1 request with `Upgrade: h2c`. A server that
//! answers 101 switches the connection to h2, its response to our request coming on stream 1, and
//! the connection is pooled for the h2 requests that follow; a server that ignores the offer answers
//! over HTTP/1.1 and the next request on that connection offers again, as libcurl does.

use super::policy::{Hop, Next};
use super::*;
use crate::engine::easy::HttpVersion;
use crate::engine::error::Result;
use crate::engine::http1::head::Head;
use crate::engine::http2::{self, upgrade};
use crate::engine::pool::Conn;

impl Xfer {
    /// Is the h2c upgrade offered to this URL (libcurl: on every HTTP/1.1 request to http:// with
    /// HTTP_VERSION 2_0, HEAD or not, with a body or not)?
    pub(super) fn offers_h2c(&self, url: &Url) -> bool {
        // Not after an HTTP_1_1_REQUIRED (exchange_h2): the retry would be offered h2 again.
        !self.h1_only && self.o.http_version == HttpVersion::V2 && url.scheme == "http"
    }

    /// A connection upgraded before may be in the pool as a shared h2 connection.
    pub(super) fn h2c_pool_may_serve(&self, url: &Url) -> bool {
        !self.o.fresh_connect && self.offers_h2c(url) && self.with_pool(|p| p.has_shared())
    }

    /// Did the server take the offer (101 with `Upgrade: h2c`)?
    pub(super) fn h2c_accepted(head: &Head) -> bool {
        head.status == 101 && head.has_token("upgrade", "h2c")
    }

    /// The server switched to h2 after its 101 head (delivered but its blank line): start h2 on
    /// the connection, pool it, and take the response to our request from stream 1.
    pub(super) async fn h2c_switch(&mut self, hop: &mut Hop, conn: Conn, head: Head) -> Result<Next> {
        self.end_head(&head).await?;
        self.text(format_args!("Received 101, Switching to HTTP/2"));
        *self.easy.current_sock.borrow_mut() = None;
        let key = conn.key.clone();
        let head = hop.method.as_str() == "HEAD";
        let (h2c, resp) = upgrade::handshake_upgraded(conn, head, &self.sh.spawner, &self.sh.reactor).await?;
        let in_use = h2c.start_use();
        let lease = self.pool_h2(key, &h2c);
        let resp = match self.h2_await_response(resp).await? {
            Ok(r) => r,
            Err(e) => return Err(http2::stream_error(&e, 1)),
        };
        let r = self.h2_response(hop, &h2c, resp, 1).await;
        drop(lease);
        drop(in_use);
        r
    }
}
