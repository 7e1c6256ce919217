//! DNS over HTTPS (CURLOPT_DOH_URL): A and AAAA queries POSTed as `application/dns-message` (RFC
//! 8484) to the DoH server by sub-transfers on the same multi (same reactor, pool and DNS cache), as
//! libcurl's doh.c does. The DNS wire format here is the small part DoH needs: one question out,
//! the A/AAAA records of the answer section in.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use super::easy::{Body, Callbacks, EasyShared, Flow, Options, PROTO_HTTP, PROTO_HTTPS};
use super::error::{code, Error};
use super::resolve::IpResolve;
use super::transfer::{run, Shared};

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
/// libcurl refuses DoH responses larger than this.
const MAX_RESPONSE: usize = 3000;

/// A DNS query for `host` of record type `qtype`, with id 0 and recursion desired (RFC 8484 asks
/// for id 0 so that responses cache well). None for a name DNS cannot carry.
pub fn encode_query(host: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(host.len() + 18);
    q.extend_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Some(q)
}

/// Why a DoH answer gave no address.
#[derive(Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Truncated or malformed message.
    Malformed,
    /// A non-zero RCODE (3: NXDOMAIN).
    Rcode(u8),
}

/// Skips a (possibly compressed) name starting at `at`; returns the offset after it.
fn skip_name(m: &[u8], mut at: usize) -> Result<usize, DnsError> {
    loop {
        let len = *m.get(at).ok_or(DnsError::Malformed)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(at + 1),
            0x00 => at += 1 + len,
            // A pointer ends the name in this place.
            0xc0 => return if at + 2 <= m.len() { Ok(at + 2) } else { Err(DnsError::Malformed) },
            _ => return Err(DnsError::Malformed),
        }
    }
}

fn u16_at(m: &[u8], at: usize) -> Result<u16, DnsError> {
    m.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(DnsError::Malformed)
}

/// The A and AAAA addresses in a response's answer section (CNAME and other records skipped).
pub fn decode_response(m: &[u8]) -> Result<Vec<IpAddr>, DnsError> {
    if m.len() < 12 {
        return Err(DnsError::Malformed);
    }
    let rcode = m[3] & 0x0f;
    if rcode != 0 {
        return Err(DnsError::Rcode(rcode));
    }
    let qd = u16_at(m, 4)?;
    let an = u16_at(m, 6)?;
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(m, at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        at = skip_name(m, at)?;
        let rtype = u16_at(m, at)?;
        let class = u16_at(m, at + 2)?;
        let rdlen = u16_at(m, at + 8)? as usize;
        let data = m.get(at + 10..at + 10 + rdlen).ok_or(DnsError::Malformed)?;
        at += 10 + rdlen;
        if class != 1 {
            continue;
        }
        match (rtype, rdlen) {
            (TYPE_A, 4) => out.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3]))),
            (TYPE_AAAA, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(data);
                out.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            (TYPE_A | TYPE_AAAA, _) => return Err(DnsError::Malformed),
            _ => {}
        }
    }
    Ok(out)
}

/// The sink of a DoH sub-transfer: the response body, capped.
#[derive(Default)]
struct Collect {
    body: RefCell<Vec<u8>>,
}

impl Callbacks for Collect {
    fn write(&self, data: &[u8]) -> Flow {
        let mut b = self.body.borrow_mut();
        if b.len() + data.len() > MAX_RESPONSE {
            return Flow::Abort(Error::new(code::WRITE_ERROR, "DoH response too large"));
        }
        b.extend_from_slice(data);
        Flow::Continue
    }
}

/// The options of one DoH request: the parent's TLS trust settings and timeouts, with peer and host
/// verification on (pycurl has no DOH_SSL_VERIFY* options, and libcurl does not take the main
/// transfer's SSL_VERIFYPEER/VERIFYHOST for DoH).
fn probe_options(parent: &Options, doh_url: &str, query: Vec<u8>) -> Options {
    let mut o = Options {
        url: Some(doh_url.to_string()),
        post_size: query.len() as i64,
        body: Body::Bytes(query.into()),
        post: true,
        headers: vec!["Content-Type: application/dns-message".to_string()],
        protocols: PROTO_HTTP | PROTO_HTTPS,
        timeout: parent.timeout,
        connect_timeout: parent.connect_timeout,
        ip_resolve: parent.ip_resolve,
        ..Options::default()
    };
    o.route.resolve = parent.route.resolve.clone();
    o.route.doh_probe = true;
    let (p, t) = (&parent.tls, &mut o.tls);
    t.ca_info = p.ca_info.clone();
    t.ca_path = p.ca_path.clone();
    t.ca_blob = p.ca_blob.clone();
    t.crl_file = p.crl_file.clone();
    t.ec_curves = p.ec_curves.clone();
    t.ssl_options = p.ssl_options;
    t.verify_peer = true;
    t.verify_host = true;
    o
}

type Answer = Result<Vec<IpAddr>, ()>;
type Probe = Pin<Box<dyn Future<Output = Answer>>>;

/// One query as a sub-transfer; Err for any failure (libcurl reports them all as "could not
/// resolve").
fn probe(sh: &Rc<Shared>, parent: &Options, doh_url: &str, query: Vec<u8>) -> Probe {
    let easy = EasyShared::new();
    *easy.opts.borrow_mut() = Rc::new(probe_options(parent, doh_url, query));
    let sink = Rc::new(Collect::default());
    *easy.callbacks.borrow_mut() = Some(sink.clone());
    let sh = sh.clone();
    Box::pin(async move {
        // Boxed again: a transfer that awaits a transfer is a recursive future.
        let r: Pin<Box<dyn Future<Output = _>>> = Box::pin(run(sh, easy.clone()));
        r.await.map_err(|_| ())?;
        if easy.info.borrow().response_code != 200 {
            return Err(());
        }
        let body = sink.body.borrow();
        decode_response(&body).map_err(|_| ())
    })
}

/// Resolves `host` through the DoH server at `doh_url`: A and AAAA queries run at once (only one of
/// them under IPRESOLVE_V4 / V6); the addresses of both answers, IPv4 first.
pub async fn lookup(sh: &Rc<Shared>, parent: &Options, doh_url: &str, host: &str) -> Result<Vec<IpAddr>, Error> {
    let fail = || Error::new(code::COULDNT_RESOLVE_HOST, format!("Could not resolve host: {host}"));
    let mut types = Vec::with_capacity(2);
    if parent.ip_resolve != IpResolve::V6 {
        types.push(TYPE_A);
    }
    if parent.ip_resolve != IpResolve::V4 {
        types.push(TYPE_AAAA);
    }
    let mut probes: Vec<(Option<Probe>, Option<Answer>)> = Vec::new();
    for t in types {
        let q = encode_query(host, t).ok_or_else(fail)?;
        probes.push((Some(probe(sh, parent, doh_url, q)), None));
    }
    poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in probes.iter_mut() {
            if let Some(f) = fut {
                match f.as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        *out = Some(r);
                        *fut = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    let mut addrs = Vec::new();
    let mut any_ok = false;
    for (_, out) in probes {
        if let Some(Ok(v)) = out {
            any_ok = true;
            addrs.extend(v);
        }
    }
    if !any_ok || addrs.is_empty() {
        return Err(fail());
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wire_format() {
        let q = encode_query("a.example.", TYPE_AAAA).unwrap();
        assert_eq!(&q[..12], &[0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x01a\x07example\x00\x00\x1c\x00\x01");
        assert!(encode_query("a..b", TYPE_A).is_none());
        assert!(encode_query(&"x".repeat(64), TYPE_A).is_none());
    }

    fn response(rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut m = encode_query("h.test", TYPE_A).unwrap();
        m[2] |= 0x80;
        m[3] = rcode;
        m[7] = answers.len() as u8;
        for (t, data) in answers {
            // A pointer to the question's name, as servers write it.
            m.extend_from_slice(&[0xc0, 12]);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 30]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    #[test]
    fn answers_decode() {
        let six = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let m = response(0, &[(5, b"\x01c\x00"), (TYPE_A, &[10, 0, 0, 1]), (TYPE_AAAA, &six)]);
        let v = decode_response(&m).unwrap();
        assert_eq!(v, vec!["10.0.0.1".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]);
        assert_eq!(decode_response(&response(3, &[])), Err(DnsError::Rcode(3)));
        assert_eq!(decode_response(&response(0, &[(TYPE_A, &[1, 2, 3])])), Err(DnsError::Malformed));
        let full = response(0, &[(TYPE_A, &[10, 0, 0, 1])]);
        for cut in 0..full.len() {
            assert!(decode_response(&full[..cut]).is_err(), "cut at {cut}");
        }
    }
}
