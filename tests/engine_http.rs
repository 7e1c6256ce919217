//! Engine tests against a real loopback HTTP/1.1 server thread (no pyo3).

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use _pycurl::engine::easy::{Callbacks, EasyShared, Flow};
use _pycurl::engine::multi::{perform_blocking, BlockingLoop, Multi};

#[derive(Default)]
struct Collect {
    body: RefCell<Vec<u8>>,
    headers: RefCell<Vec<Vec<u8>>>,
}

impl Callbacks for Collect {
    fn write(&self, data: &[u8]) -> Flow {
        self.body.borrow_mut().extend_from_slice(data);
        Flow::Continue
    }
    fn header(&self, line: &[u8]) -> Flow {
        self.headers.borrow_mut().push(line.to_vec());
        Flow::Continue
    }
}

/// Serves `n` requests per connection with a fixed response; counts connections.
fn server(resp: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let conns = Arc::new(AtomicUsize::new(0));
    let c2 = conns.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            c2.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut tmp) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    if s.write_all(resp).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, conns)
}

fn get(
    multi: &mut Multi,
    lp: &mut BlockingLoop,
    url: &str,
) -> (Result<(), _pycurl::engine::error::Error>, Rc<Collect>, Rc<EasyShared>) {
    let easy = EasyShared::new();
    easy.opts_mut().url = Some(url.to_string());
    let cb = Rc::new(Collect::default());
    *easy.callbacks.borrow_mut() = Some(cb.clone());
    let key = multi.add(easy.clone());
    let r = perform_blocking(multi, lp, key, |lp, t| lp.wait(t), || None);
    multi.remove(key);
    (r, cb, easy)
}

#[test]
fn get_keepalive_reuses_one_connection() {
    let (port, conns) = server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Dup: a\r\nx-dup: b\r\n\r\nhello");
    let mut multi = Multi::new();
    let mut lp = BlockingLoop::new().unwrap();
    for _ in 0..3 {
        let (r, cb, easy) = get(&mut multi, &mut lp, &format!("http://127.0.0.1:{port}/x"));
        r.unwrap();
        assert_eq!(&*cb.body.borrow(), b"hello");
        let h = cb.headers.borrow();
        assert_eq!(h[0], b"HTTP/1.1 200 OK\r\n");
        assert_eq!(h[2], b"X-Dup: a\r\n");
        assert_eq!(h[3], b"x-dup: b\r\n");
        assert_eq!(h.last().unwrap(), b"\r\n");
        assert_eq!(easy.info.borrow().response_code, 200);
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
}

#[test]
fn refused_port_reports_couldnt_connect() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let mut multi = Multi::new();
    let mut lp = BlockingLoop::new().unwrap();
    let (r, _, _) = get(&mut multi, &mut lp, &format!("http://127.0.0.1:{port}/"));
    let e = r.unwrap_err();
    assert_eq!(e.code, 7);
    assert!(e.msg.starts_with(&format!("Failed to connect to 127.0.0.1:{port} after ")), "{}", e.msg);
}

#[test]
fn chunked_body_is_reassembled() {
    let (port, _) = server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    let mut multi = Multi::new();
    let mut lp = BlockingLoop::new().unwrap();
    let (r, cb, _) = get(&mut multi, &mut lp, &format!("http://127.0.0.1:{port}/"));
    r.unwrap();
    assert_eq!(&*cb.body.borrow(), b"abcde");
}
