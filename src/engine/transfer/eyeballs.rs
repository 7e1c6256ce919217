//! Happy eyeballs as libcurl 8 does it: a name's addresses are tried IPv6 first, the families
//! interleaved (v6, v4, v6, v4, …). An attempt that fails starts the next address at once; one
//! that stays silent for HAPPY_EYEBALLS_TIMEOUT_MS gets company: the next attempt starts beside it.
//! The first to connect wins and the others are closed (their REMOVE and CLOSESOCKETFUNCTION follow
//! as for any socket). CONNECTTIMEOUT around the whole race lives in `connect`.
//!
//! All attempts are futures polled together in one task: no threads, each socket an ordinary entry
//! in the reactor, so SOCKETFUNCTION sees every attempt's POLL_OUT as libcurl reports it.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use super::connect::ConnErr;
use super::Xfer;
use crate::engine::net::Sock;
use crate::engine::rt::Sleep;

/// The order libcurl tries addresses in: IPv6 first, then alternating families, each family in
/// the resolver's order.
pub(super) fn attempt_order(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let (v6, v4): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs.iter().partition(|a| a.is_ipv6());
    let mut out = Vec::with_capacity(addrs.len());
    let (mut a, mut b) = (v6.into_iter(), v4.into_iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return out,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
}

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<Sock, ConnErr>> + 'a>>;

enum Event {
    Done(usize, Result<Sock, ConnErr>),
    Pace,
}

impl Xfer {
    /// Races connect attempts to `addrs`; the winner's socket and address, or the last OS error
    /// when every address failed (a fatal error, such as a callback's, ends the race at once).
    pub(super) async fn happy_eyeballs(&self, addrs: &[SocketAddr]) -> Result<(Sock, SocketAddr), ConnErr> {
        let order = attempt_order(addrs);
        let mut queue = order.iter();
        let mut running: Vec<(SocketAddr, Attempt<'_>)> = Vec::new();
        let mut pace: Option<Pin<Box<Sleep>>> = None;
        let mut last_err = 0;
        loop {
            // Every event that does not end the race (a failure, the pacing timer) starts the next.
            match queue.next() {
                Some(addr) => {
                    self.text(format_args!("  Trying {addr}..."));
                    running.push((*addr, Box::pin(self.tcp_connect(addr))));
                    // The next address waits for this one only as long as the pacing allows.
                    pace = (queue.len() > 0)
                        .then(|| Box::pin(Sleep::until(&self.sh.reactor, Instant::now() + self.o.happy_eyeballs)));
                }
                None if running.is_empty() => return Err(ConnErr::Os(last_err)),
                None => {}
            }
            let ev = poll_fn(|cx| {
                for (i, (_, f)) in running.iter_mut().enumerate() {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        return Poll::Ready(Event::Done(i, r));
                    }
                }
                if let Some(p) = pace.as_mut() {
                    if p.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Event::Pace);
                    }
                }
                Poll::Pending
            })
            .await;
            match ev {
                Event::Done(i, Ok(sock)) => {
                    let (addr, _) = running.swap_remove(i);
                    // The losers close here: their sockets leave the reactor (REMOVE, then close).
                    drop(running);
                    return Ok((sock, addr));
                }
                Event::Done(_, Err(ConnErr::Fatal(e))) => return Err(ConnErr::Fatal(e)),
                // The attempt itself has said why it failed (it knows its local address).
                Event::Done(i, Err(ConnErr::Os(errno))) => {
                    drop(running.remove(i));
                    last_err = errno;
                }
                Event::Pace => pace = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_first_then_families_alternate() {
        let a: Vec<SocketAddr> = ["127.0.0.1:80", "127.0.0.2:80", "[::1]:80", "127.0.0.3:80", "[::2]:80"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let got: Vec<String> = attempt_order(&a).iter().map(|s| s.to_string()).collect();
        assert_eq!(got, ["[::1]:80", "127.0.0.1:80", "[::2]:80", "127.0.0.2:80", "127.0.0.3:80"]);
        assert!(attempt_order(&[]).is_empty());
    }
}
