//! tokio's AsyncRead/AsyncWrite over our `Io` stack: all the `h2` crate needs from I/O. Readiness
//! stays ours: a Pending from below has already parked the waker with our reactor.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::engine::net::Stream;

/// Bytes the connection's driver may read in one turn before it yields to the executor. h2 reads
/// frames until the socket runs dry and queues each stream's DATA until its task takes it; with
/// many streams that queue could grow to the whole connection window before any stream task ran.
/// Yielding every few frames lets the woken stream tasks deliver (and release capacity) in between,
/// as libcurl hands DATA on while nghttp2 decodes it.
pub const READ_BUDGET: usize = 64 << 10;

/// The connection's stream, held by the I/O adapter inside h2 and by its `H2Conn`: a connection in a
/// CurlShare's cache leaves one multi's reactor and joins another's while its driver is stopped.
#[derive(Clone)]
pub struct SharedStream(Rc<RefCell<Stream>>);

impl SharedStream {
    pub fn new(s: Stream) -> SharedStream {
        SharedStream(Rc::new(RefCell::new(s)))
    }

    /// A handle that does not keep the socket open once h2's connection is gone.
    pub fn downgrade(&self) -> WeakStream {
        WeakStream(Rc::downgrade(&self.0))
    }

    /// The stream outside a poll (to attach or detach its socket).
    pub fn with<R>(&self, f: impl FnOnce(&mut Stream) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }

    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().poll_read(cx, buf)
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().poll_write(cx, buf)
    }

    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.borrow_mut().poll_flush(cx)
    }

    pub fn poll_lend(
        &mut self,
        cx: &mut Context<'_>,
        take: &mut dyn FnMut(&[u8]) -> usize,
    ) -> Option<Poll<io::Result<usize>>> {
        self.0.borrow_mut().poll_lend(cx, take)
    }
}

/// See `SharedStream::downgrade`.
pub struct WeakStream(std::rc::Weak<RefCell<Stream>>);

impl WeakStream {
    pub fn upgrade(&self) -> Option<SharedStream> {
        self.0.upgrade().map(SharedStream)
    }
}

/// Size of the staging buffer between the connection and h2's frame decoder.
const STAGE: usize = 32 << 10;

/// Bytes read from the connection ahead of h2's decoder. h2 offers uninitialised room, which a
/// `&mut [u8]` read would have to zero first (a memset of all its spare capacity on every read, the
/// largest single cost of a small h2 request): reads land here, zeroed once, and only the bytes
/// read are copied on. Over TLS the plaintext goes straight to h2 instead (`Io::poll_lend`), and
/// the stage is never allocated.
#[derive(Default)]
pub struct Stage {
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl Stage {
    /// Copies what is staged into `out`; false when nothing was staged.
    pub fn give(&mut self, out: &mut ReadBuf<'_>) -> bool {
        if self.pos == self.end {
            return false;
        }
        let n = (self.end - self.pos).min(out.remaining());
        out.put_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        true
    }

    /// Reads once from `stream` into the stage and hands the bytes on: the bytes read (0 at EOF).
    pub fn fill(
        &mut self,
        stream: &mut SharedStream,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; STAGE].into_boxed_slice();
        }
        let n = std::task::ready!(stream.poll_read(cx, &mut self.buf))?;
        (self.pos, self.end) = (0, n);
        self.give(out);
        Poll::Ready(Ok(n))
    }
}

pub struct H2Io {
    stream: SharedStream,
    /// Read since the driver last yielded.
    read: usize,
    stage: Stage,
}

impl H2Io {
    pub fn new(stream: SharedStream) -> H2Io {
        H2Io { stream, read: 0, stage: Stage::default() }
    }
}

impl AsyncRead for H2Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.stage.give(buf) {
            return Poll::Ready(Ok(()));
        }
        if me.read >= READ_BUDGET {
            // Back of the run queue, behind the streams this turn woke; the socket stays readable.
            me.read = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let lent = me.stream.poll_lend(cx, &mut |b| {
            let n = b.len().min(buf.remaining());
            buf.put_slice(&b[..n]);
            n
        });
        let r = match lent {
            Some(r) => r,
            None => me.stage.fill(&mut me.stream, cx, buf),
        };
        match r {
            Poll::Ready(Ok(n)) => {
                me.read += n;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // The socket ran dry: the next turn starts with a fresh budget.
                me.read = 0;
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().stream.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::net::Sock;
    use crate::engine::rt::Reactor;
    use crate::engine::sys;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_driver_yields_after_its_read_budget() {
        let reactor = Rc::new(Reactor::default());
        let (a, b) = sys::socket_pair().unwrap();
        let total = READ_BUDGET + READ_BUDGET / 2;
        let mut sent = 0;
        while sent < total {
            sent += sys::send(sys::fd_of(&b), &vec![7u8; total - sent]).unwrap();
        }
        let mut io = H2Io::new(SharedStream::new(Stream::new(Sock::new(a, &reactor, None))));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut store = [0u8; 4096];
        let (mut got, mut turns) = (0, 0);
        while got < total {
            let mut buf = ReadBuf::new(&mut store);
            match Pin::new(&mut io).poll_read(&mut cx, &mut buf) {
                Poll::Ready(r) => {
                    r.unwrap();
                    got += buf.filled().len();
                }
                Poll::Pending => {
                    // A yield, not a wait on the socket: the task is woken at once.
                    assert_eq!(got, READ_BUDGET, "yields right at the budget");
                    turns += 1;
                }
            }
        }
        assert_eq!((turns, count.0.load(Ordering::SeqCst)), (1, 1));
    }
}
