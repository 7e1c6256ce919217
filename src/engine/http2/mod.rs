//! HTTP/2 connections through the `h2` crate.
//!
//! ```text
//!   transfer (exchange_h2.rs)   one task per transfer: a stream, its head and body
//!      │  SendRequest (a clone per stream)
//!   H2Conn                      a shared pool entry (Pool::add_shared) counting its streams
//!      │
//!   driver task                 h2's connection future, spawned on the multi's executor
//!      │  H2Io (tokio traits over our Io)
//!   TlsStream<Sock> / Sock
//! ```
//!
//! The driver reads and writes the socket for every stream; a transfer's task only waits on its
//! stream. Window updates follow delivery: a paused transfer stops releasing capacity, so the server
//! is held back by flow control and memory stays bounded.

pub mod io;
pub mod tap;
pub mod upgrade;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::Bytes;
use h2::client::SendRequest;

use crate::engine::error::{code, Error};
use crate::engine::http1::head::Head;
use crate::engine::pool::{Conn, Multiplexed, PoolKey};
use crate::engine::rt::{Reactor, Spawner};
use crate::engine::sys::Fd;

/// Receive window per stream announced in SETTINGS: libcurl 8's 64 KiB
/// (H2_STREAM_WINDOW_SIZE_INITIAL). It also bounds what a paused stream lets the server send.
pub const STREAM_WINDOW: u32 = 64 << 10;
/// The window a stream grows to once it has taken its first window unpaused: libcurl 8's 10 MiB
/// (H2_STREAM_WINDOW_SIZE_MAX), so one large download is not held to a window per round trip.
/// h2 has no per-stream growth, so the connection's INITIAL_WINDOW_SIZE setting moves instead
/// (RFC 9113 6.9.2 applies it to every open stream), and back while any stream is paused.
pub const STREAM_WINDOW_MAX: u32 = 10 << 20;
/// SETTINGS_MAX_HEADER_LIST_SIZE: the h2 crate allows a head (HEADERS + CONTINUATION) as many
/// CONTINUATION frames as this fills of 16 KiB frames plus a quarter, at least 5; this value makes
/// it 8, nghttp2's limit (libcurl fails a ninth with 56). A decoded head is then bounded by 128 KiB,
/// where libcurl's own limit is 300 KiB (docs/differences.md).
pub const MAX_HEADER_LIST: u32 = (8 << 14) - 1;
/// Receive window of the whole connection: libcurl 8's 10 MiB (room for many streams at once).
pub const CONN_WINDOW: u32 = 10 << 20;

/// One h2 connection as the pool shares it.
pub struct H2Conn {
    send: RefCell<SendRequest<Bytes>>,
    open: Rc<Cell<bool>>,
    gate: Rc<Gate>,
    /// The socket's stream, owned by h2's connection: moved between reactors while stopped.
    stream: io::WeakStream,
    raw_fd: Fd,
    pub id: i64,
    pub primary: SocketAddr,
    pub local: SocketAddr,
    pub primary_ip: String,
    pub local_ip: String,
    pub fd: i64,
    pub certinfo: Vec<Vec<(String, String)>>,
    /// Streams opened on it so far (libcurl numbers its trace lines by stream id: 1, 3, 5, …).
    pub streams_opened: Cell<u32>,
    /// The URI of the last request sent on it (see `uri`).
    last_uri: RefCell<Option<http::Uri>>,
    /// The last request's HTTP/1 head and the h2 fields it became (see `fields`).
    last_fields: RefCell<Option<LastFields>>,
    /// Our HPACK table holds a ":method HEAD" entry the server never saw (an h2c upgrade of a
    /// HEAD request, see upgrade.rs): no HEAD request may go on this connection.
    pub unseen_head: bool,
    /// The server's GOAWAY error code and PUSH_PROMISE, which h2 does not report (see tap.rs).
    pub seen: Rc<tap::Seen>,
}

impl Multiplexed for H2Conn {
    fn is_open(&self) -> bool {
        self.open.get()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    /// In the multi that drives it, and anywhere once it is stopped (idle in a share): a
    /// connection busy in another multi is driven only there, so it is not used from here meanwhile.
    fn usable_from(&self, reactor: &Rc<Reactor>) -> bool {
        let home = self.gate.home.get();
        home == 0 || home == Rc::as_ptr(reactor) as usize
    }
}

impl H2Conn {
    /// Speaks the client preface and SETTINGS over `conn`'s stream and starts the connection's
    /// driver task. `conn` must have just been connected (nothing buffered).
    pub async fn handshake(conn: Conn, spawner: &Spawner, reactor: &Rc<Reactor>) -> Result<Rc<H2Conn>, Error> {
        Ok(Rc::new(Self::start(conn, |s, _| io::H2Io::new(s), spawner, reactor).await?))
    }

    /// The handshake over `conn`'s stream wrapped by `wrap` (our SETTINGS, for a fresh connection
    /// and an upgraded one alike), the driver task started, the connection keeping `conn`'s identity.
    pub(super) async fn start<T, W>(
        conn: Conn,
        wrap: W,
        spawner: &Spawner,
        reactor: &Rc<Reactor>,
    ) -> Result<H2Conn, Error>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
        W: FnOnce(io::SharedStream, Vec<u8>) -> T,
    {
        let prefix = conn.buffered().to_vec();
        let Conn { stream, id, primary, local, primary_ip, local_ip, certinfo, .. } = conn;
        let raw_fd = stream.sock().fd();
        let stream = io::SharedStream::new(stream);
        let seen = Rc::new(tap::Seen::default());
        let (send, driver) = h2::client::Builder::new()
            .enable_push(false)
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONN_WINDOW)
            .max_concurrent_reset_streams(100)
            .max_header_list_size(MAX_HEADER_LIST)
            .handshake::<_, Bytes>(tap::Tap::new(wrap(stream.clone(), prefix), seen.clone()))
            .await
            .map_err(|e| conn_error(&e))?;
        let (open, gate) = spawn_driver(driver, spawner, reactor, raw_fd, stream.clone());
        Ok(H2Conn {
            send: RefCell::new(send),
            open,
            gate,
            stream: stream.downgrade(),
            raw_fd,
            id,
            primary,
            local,
            primary_ip,
            local_ip,
            fd: raw_fd as i64,
            certinfo,
            streams_opened: Cell::new(0),
            last_uri: RefCell::new(None),
            last_fields: RefCell::new(None),
            unseen_head: false,
            seen,
        })
    }

    /// The connection goes into a CurlShare's cache: whenever it is idle its driver stops and its
    /// socket leaves the multi, so that a handle of any multi or thread can take it next.
    pub fn roam(&self) {
        self.gate.roams.set(true);
    }

    /// Makes the multi with `reactor` drive the connection (see `usable_from`): a stopped driver
    /// restarts there, its socket joining that reactor.
    pub fn adopt(&self, spawner: &Spawner, reactor: &Rc<Reactor>) {
        if self.gate.home.get() != 0 || self.gate.fut.borrow().is_none() {
            return;
        }
        let Some(stream) = self.stream.upgrade() else { return };
        stream.with(|s| s.sock_mut().attach(reactor));
        run_driver(&self.open, &self.gate, spawner, reactor, self.raw_fd, stream);
    }

    /// A handle for one more stream.
    pub fn sender(&self) -> SendRequest<Bytes> {
        self.send.borrow().clone()
    }

    /// A transfer uses the connection until the guard drops (whether it idled long enough to need
    /// a `settle` first is `idle_for`, asked before this).
    pub fn start_use(&self) -> InUse {
        self.gate.busy.set(self.gate.busy.get() + 1);
        if self.gate.parked.get() {
            self.gate.wake_driver();
        }
        InUse(self.gate.clone())
    }

    /// Runs one turn of the driver now, from the transfer's task but with the driver's waker (what
    /// it waits on wakes the driver): a request just queued goes out in the turn that opened its
    /// stream, and the connection parks in the turn its last transfer ended in, each without a
    /// driver turn after it (the driver's own turn then finds no wake left and returns at once).
    pub fn drive(&self, reactor: &Rc<Reactor>) {
        let g = &self.gate;
        if g.roams.get() || g.home.get() != Rc::as_ptr(reactor) as usize {
            // A roaming connection stops (and leaves this multi) in its own task.
            g.wake_driver();
            return;
        }
        let Some((nudge, w)) = g.waker.borrow().clone() else { return };
        nudge.woken.store(false, Ordering::Release);
        if g.turn(reactor, self.raw_fd, &w) == Turn::Ended {
            // The driver task finishes it.
            g.ended.set(true);
            w.wake_by_ref();
        }
    }

    /// A stream was just opened: a sole transfer sends it now (see `drive`); with others on the
    /// connection the driver's next turn sends every stream's frames in one write.
    pub fn opened(&self, reactor: &Rc<Reactor>) {
        if self.gate.busy.get() <= 1 {
            self.drive(reactor);
        }
    }

    /// The transfer's use ends; the last one parks the connection at once (see `drive`). After
    /// a stream that ended cleanly (`ended_clean`) h2 has nothing of it to send, so the connection
    /// parks without the turn (`Gate::rest`): one poll of h2 less between a response and the return
    /// to the application.
    pub fn end_use(&self, guard: InUse, reactor: &Rc<Reactor>) {
        if self.gate.leave(guard, reactor, self.raw_fd) {
            self.drive(reactor);
        }
    }

    /// The transfer's stream ended in both directions (its END_STREAM sent, the response's
    /// received): dropping it queues no frame. Said right before `end_use`, with no await between.
    pub fn ended_clean(&self) {
        self.gate.clean.set(true);
    }

    /// A stream took its first window while nothing on the connection was paused: from now on
    /// streams get the large window (sent at the driver's next turn).
    pub fn grow_window(&self) {
        if !self.gate.grow.replace(true) {
            self.gate.wake_driver();
        }
    }

    /// A transfer stops receiving until the guard drops: meanwhile every stream is held to the
    /// initial window, so the server cannot fill the paused one beyond it.
    pub fn hold(&self) -> Hold {
        if self.gate.paused.replace(self.gate.paused.get() + 1) == 0 {
            self.gate.wake_driver();
        }
        Hold(self.gate.clone())
    }

    /// How long the connection has had no transfer (None while one uses it).
    pub fn idle_for(&self) -> Option<std::time::Duration> {
        (self.gate.busy.get() == 0).then(|| self.gate.idle_since.get().elapsed())
    }

    /// Waits until the driver has run once more (or ended): the pool's liveness check of an
    /// idle connection, as libcurl checks a connection before reusing it.
    pub async fn settle(&self) {
        // The check is a read: past whatever the readiness cache says about the socket.
        self.gate.recheck.set(true);
        let n = self.gate.polls.get();
        poll_fn(|cx| {
            if self.gate.polls.get() > n || !self.open.get() {
                Poll::Ready(())
            } else {
                self.gate.watchers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    pub fn mark_closed(&self) {
        self.open.set(false);
    }

    /// The request URI of `scheme`, `authority` and `path`, made by `build` unless the last
    /// request on the connection had the same three (sequential requests for one URL parse it once).
    pub fn uri(
        &self,
        scheme: &str,
        authority: &str,
        path: &str,
        build: impl FnOnce() -> Result<http::Uri, Error>,
    ) -> Result<http::Uri, Error> {
        reuse_uri(&self.last_uri, scheme, authority, path, build)
    }

    /// The :authority and header fields of the request whose HTTP/1 head is `head`: the last
    /// request's when its head was the same bytes (sequential requests for one URL turn their head
    /// into fields once), else `build`'s, kept for the next request when it says so.
    pub fn fields(
        &self,
        head: &[u8],
        build: impl FnOnce() -> BuiltFields,
    ) -> (Rc<str>, Result<http::HeaderMap, Error>) {
        let mut last = self.last_fields.borrow_mut();
        if let Some(l) = last.as_ref().filter(|l| l.head == head) {
            return (l.authority.clone(), Ok(l.headers.clone()));
        }
        let built = build();
        match (&built.headers, built.keep) {
            (Ok(h), true) => {
                *last = Some(LastFields { head: head.to_vec(), authority: built.authority.clone(), headers: h.clone() })
            }
            _ => *last = None,
        }
        (built.authority, built.headers)
    }

    /// The id the next stream gets (h2 numbers client streams 1, 3, 5, …).
    pub fn next_stream_id(&self) -> u32 {
        let n = self.streams_opened.get();
        self.streams_opened.set(n + 1);
        2 * n + 1
    }
}

/// A request head turned into h2 fields (see `H2Conn::fields`).
pub struct BuiltFields {
    pub authority: Rc<str>,
    pub headers: Result<http::HeaderMap, Error>,
    /// Whether the same head bytes always give these fields (not when :authority came from
    /// elsewhere than the head's Host).
    pub keep: bool,
}

struct LastFields {
    head: Vec<u8>,
    authority: Rc<str>,
    headers: http::HeaderMap,
}

/// See `H2Conn::uri`.
fn reuse_uri(
    slot: &RefCell<Option<http::Uri>>,
    scheme: &str,
    authority: &str,
    path: &str,
    build: impl FnOnce() -> Result<http::Uri, Error>,
) -> Result<http::Uri, Error> {
    let mut last = slot.borrow_mut();
    if let Some(u) = last.as_ref() {
        let same = u.scheme_str() == Some(scheme)
            && u.authority().map(|a| a.as_str()) == Some(authority)
            && u.path_and_query().map(|p| p.as_str()) == Some(path);
        if same {
            return Ok(u.clone());
        }
    }
    let u = build()?;
    *last = Some(u.clone());
    Ok(u)
}

/// Whether a connection carries transfers. An idle one stops watching its socket (libcurl reports
/// an idle connection's socket removed) until a transfer takes it again.
pub struct Gate {
    busy: Cell<usize>,
    /// Polls of the driver so far (`settle` waits for the next one).
    polls: Cell<u64>,
    /// The driver parked while idle (its socket unwatched until a transfer wakes it).
    parked: Cell<bool>,
    /// The next turn out of parking reads the socket even if its last read drained it (`settle`).
    recheck: Cell<bool>,
    watchers: RefCell<Vec<Waker>>,
    /// In a CurlShare's cache: the driver stops whenever the connection is idle (see `H2Conn::roam`).
    roams: Cell<bool>,
    /// The address of the reactor of the multi driving the connection; 0 while stopped.
    home: Cell<usize>,
    /// h2's connection future: polled by the driver task or inline (`H2Conn::drive`), and kept
    /// here while no multi drives it.
    fut: RefCell<Option<DriverFuture>>,
    /// A stream earned the large window (`H2Conn::grow_window`).
    grow: Cell<bool>,
    /// Transfers paused receiving (`H2Conn::hold`).
    paused: Cell<usize>,
    /// The driver task's waker as h2 and the reactor see it (`Nudge`), as of the task's last poll:
    /// woken by a transfer taking an idle connection, the last one leaving it, and a change of the
    /// wanted window.
    waker: RefCell<Option<(Arc<Nudge>, Waker)>>,
    /// An inline turn (`H2Conn::drive`) saw the connection end: the driver task ends.
    ended: Cell<bool>,
    /// When the last transfer left it.
    idle_since: Cell<Instant>,
    /// The stream window the driver announced last (see `wanted_window`).
    announced: Cell<u32>,
    /// A transfer left since the last turn without saying its stream ended cleanly: h2 may have
    /// frames of it to send (a reset), so the connection may not park without a turn.
    unflushed: Cell<bool>,
    /// The transfer about to leave said its stream ended cleanly (`H2Conn::ended_clean`).
    clean: Cell<bool>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            busy: Cell::new(0),
            polls: Cell::new(0),
            parked: Cell::new(false),
            recheck: Cell::new(false),
            watchers: RefCell::new(Vec::new()),
            grow: Cell::new(false),
            paused: Cell::new(0),
            waker: RefCell::new(None),
            idle_since: Cell::new(Instant::now()),
            roams: Cell::new(false),
            home: Cell::new(0),
            fut: RefCell::new(None),
            ended: Cell::new(false),
            announced: Cell::new(STREAM_WINDOW),
            unflushed: Cell::new(false),
            clean: Cell::new(false),
        }
    }
}

impl Gate {
    /// The stream window the connection should announce now.
    fn wanted_window(&self) -> u32 {
        if self.grow.get() && self.paused.get() == 0 {
            STREAM_WINDOW_MAX
        } else {
            STREAM_WINDOW
        }
    }

    fn wake_driver(&self) {
        if let Some((_, w)) = self.waker.borrow().as_ref() {
            w.wake_by_ref();
        }
    }

    /// The waker the driver polls h2 with, for the driver task whose waker is `task` (a new one,
    /// counting as woken, for a task not seen before).
    fn driver_waker(&self, task: &Waker) -> (Arc<Nudge>, Waker) {
        let mut slot = self.waker.borrow_mut();
        if let Some((n, w)) = slot.as_ref() {
            if n.task.will_wake(task) {
                return (n.clone(), w.clone());
            }
        }
        let n = Arc::new(Nudge { woken: AtomicBool::new(true), task: task.clone() });
        let w = Waker::from(n.clone());
        *slot = Some((n.clone(), w.clone()));
        (n, w)
    }

    /// One poll of h2's connection future with the driver's waker `w`, then the idle connection's
    /// socket unwatched. The future is out of the gate meanwhile (a nested turn finds nothing).
    fn turn(&self, reactor: &Reactor, fd: Fd, w: &Waker) -> Turn {
        let Some(mut fut) = self.fut.borrow_mut().take() else { return Turn::Pending };
        // Out of parking after a short idle the readiness cache stands: a socket drained by its
        // last read waits for the poll (level-triggered, so what came meanwhile is reported) instead
        // of a recv that would fail with EAGAIN before every request. A liveness check reads now.
        let recheck = self.recheck.replace(false);
        if self.parked.replace(false) && recheck {
            reactor.register(fd);
        }
        // This poll sends whatever the transfers that left before it queued.
        self.unflushed.set(false);
        self.clean.set(false);
        let r = fut.as_mut().poll(&mut Context::from_waker(w));
        *self.fut.borrow_mut() = Some(fut);
        self.polls.set(self.polls.get() + 1);
        for w in self.watchers.take() {
            w.wake();
        }
        if r.is_ready() {
            return Turn::Ended;
        }
        if self.busy.get() == 0 {
            reactor.clear_interest(fd);
            if self.roams.get() {
                return Turn::Stop;
            }
            self.parked.set(true);
        }
        Turn::Pending
    }

    /// A transfer leaves the connection: true when it needs a turn now (it was the last, and
    /// may not `rest`).
    fn leave(&self, guard: InUse, reactor: &Rc<Reactor>, fd: Fd) -> bool {
        let clean = self.clean.replace(false) && !self.unflushed.get();
        drop(guard);
        self.busy.get() == 0 && !(clean && self.rest(reactor, fd))
    }

    /// Parks the idle connection as a turn would, without polling h2: for a last transfer whose
    /// stream ended cleanly, when nothing else waits to go out (no transfer left unflushed since
    /// the last turn, the announced window is the wanted one). The wakes so far are taken, as an
    /// inline turn takes them (h2 woke its task for the dropped stream). False: a turn is needed.
    fn rest(&self, reactor: &Rc<Reactor>, fd: Fd) -> bool {
        if self.roams.get()
            || self.home.get() != Rc::as_ptr(reactor) as usize
            || self.wanted_window() != self.announced.get()
            || self.fut.borrow().is_none()
        {
            return false;
        }
        let Some((nudge, _)) = self.waker.borrow().clone() else { return false };
        nudge.woken.store(false, Ordering::Release);
        reactor.clear_interest(fd);
        self.parked.set(true);
        true
    }
}

/// How a driver turn left the connection.
#[derive(PartialEq)]
enum Turn {
    Pending,
    /// h2's connection future ended (GOAWAY, an I/O error, every handle gone).
    Ended,
    /// Idle and roaming: the driver stops (see `H2Conn::roam`).
    Stop,
}

/// The driver task's waker behind one that notes each wake: an inline turn (`H2Conn::drive`)
/// takes the wakes before it, so the task's own turn after it has nothing to do.
struct Nudge {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for Nudge {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

/// A paused transfer (see `H2Conn::hold`).
pub struct Hold(Rc<Gate>);

impl Drop for Hold {
    fn drop(&mut self) {
        let g = &self.0;
        g.paused.set(g.paused.get().saturating_sub(1));
        if g.paused.get() == 0 {
            g.wake_driver();
        }
    }
}

type DriverFuture = std::pin::Pin<Box<dyn Future<Output = ()>>>;

/// One transfer on the connection (see `H2Conn::start_use`).
pub struct InUse(Rc<Gate>);

impl Drop for InUse {
    fn drop(&mut self) {
        let g = &self.0;
        g.unflushed.set(true);
        g.busy.set(g.busy.get().saturating_sub(1));
        if g.busy.get() == 0 {
            g.idle_since.set(Instant::now());
            // The driver flushes what the last stream left, then parks.
            g.wake_driver();
        }
    }
}

/// Runs h2's connection future as a task of the multi. While no transfer uses the connection,
/// the task leaves the socket's interest empty (the application sees POLL_REMOVE) and waits.
pub fn spawn_driver<T>(
    mut driver: h2::client::Connection<T, Bytes>,
    spawner: &Spawner,
    reactor: &Rc<Reactor>,
    fd: Fd,
    stream: io::SharedStream,
) -> (Rc<Cell<bool>>, Rc<Gate>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let open = Rc::new(Cell::new(true));
    let gate = Rc::new(Gate::default());
    // The driver announces the window the gate wants; weak, since a stopped driver waits in the gate.
    let g = Rc::downgrade(&gate);
    let mut window = STREAM_WINDOW;
    let driver: DriverFuture = Box::pin(poll_fn(move |cx| {
        // Ends on GOAWAY, an I/O error, or when every handle to the connection is gone.
        let mut r = Pin::new(&mut driver).poll(cx);
        let gate = g.upgrade();
        let want = gate.as_ref().map_or(window, |g| g.wanted_window());
        // h2 refuses while our last SETTINGS is unacknowledged: the ACK's turn tries again.
        if r.is_pending() && want != window && driver.set_initial_window_size(want).is_ok() {
            window = want;
            if let Some(g) = &gate {
                g.announced.set(want);
            }
            // Out with the SETTINGS now.
            r = Pin::new(&mut driver).poll(cx);
        }
        r.map(|_| ())
    }));
    *gate.fut.borrow_mut() = Some(driver);
    run_driver(&open, &gate, spawner, reactor, fd, stream);
    (open, gate)
}

/// Marks the connection closed and drops h2's connection future when its driver task ends or is
/// dropped with its multi, unless the driver only stopped to roam (then emptied).
struct ClosesOnDrop(Option<Rc<Cell<bool>>>, Rc<Gate>);

impl Drop for ClosesOnDrop {
    fn drop(&mut self) {
        if let Some(o) = self.0.take() {
            o.set(false);
            let fut = self.1.fut.try_borrow_mut().ok().and_then(|mut f| f.take());
            drop(fut);
        }
    }
}

/// The driver task on the multi of `reactor`. It ends when the connection does (GOAWAY, an I/O
/// error, every handle to it gone), or stops when a roaming connection goes idle: then its socket
/// leaves this reactor and the future waits in the gate for the next multi (`H2Conn::adopt`).
fn run_driver(
    open: &Rc<Cell<bool>>,
    gate: &Rc<Gate>,
    spawner: &Spawner,
    reactor: &Rc<Reactor>,
    fd: Fd,
    stream: io::SharedStream,
) {
    gate.home.set(Rc::as_ptr(reactor) as usize);
    gate.parked.set(false);
    let (o2, g, reactor) = (open.clone(), gate.clone(), reactor.clone());
    spawner.spawn(async move {
        let mut closes = ClosesOnDrop(Some(o2), g.clone());
        let ended = poll_fn(|cx| {
            let (nudge, w) = g.driver_waker(cx.waker());
            if g.ended.get() {
                return Poll::Ready(true);
            }
            if !nudge.woken.swap(false, Ordering::AcqRel) {
                // An inline turn took every wake since this task was queued.
                return Poll::Pending;
            }
            match g.turn(&reactor, fd, &w) {
                Turn::Pending => Poll::Pending,
                Turn::Ended => Poll::Ready(true),
                Turn::Stop => Poll::Ready(false),
            }
        })
        .await;
        if !ended {
            stream.with(|s| s.sock_mut().detach());
            g.home.set(0);
            // This task is over: wakes go to the next multi's driver task once adopted.
            *g.waker.borrow_mut() = None;
            closes.0 = None;
        }
    });
}

/// Connections being set up that may turn out h2, by origin: a PIPEWAIT transfer waits for them
/// instead of opening another (libcurl's PIPEWAIT).
#[derive(Default)]
pub struct Pending {
    connecting: HashMap<PoolKey, usize>,
    waiters: Vec<Waker>,
}

impl Pending {
    pub fn is_connecting(&self, key: &PoolKey) -> bool {
        self.connecting.get(key).is_some_and(|&n| n > 0)
    }

    pub fn any(&self) -> bool {
        !self.connecting.is_empty()
    }

    pub fn wait(&mut self, w: &Waker) {
        self.waiters.push(w.clone());
    }

    /// Marks a connection to `key` in progress until the guard drops (connected and pooled, or
    /// failed): then the waiters look again.
    pub fn begin(reg: &Rc<RefCell<Pending>>, key: PoolKey) -> PendingGuard {
        *reg.borrow_mut().connecting.entry(key.clone()).or_insert(0) += 1;
        PendingGuard { reg: reg.clone(), key }
    }
}

pub struct PendingGuard {
    reg: Rc<RefCell<Pending>>,
    key: PoolKey,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        let waiters = {
            let mut p = self.reg.borrow_mut();
            if let Some(n) = p.connecting.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    p.connecting.remove(&self.key);
                }
            }
            std::mem::take(&mut p.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// Is `a` the stack's negotiated protocol h2?
pub fn alpn_is_h2(a: Option<&[u8]>) -> bool {
    a == Some(b"h2")
}

/// RST_STREAM / GOAWAY error codes as libcurl names them (nghttp2's names).
pub fn reason_name(r: u32) -> &'static str {
    match r {
        0 => "NO_ERROR",
        1 => "PROTOCOL_ERROR",
        2 => "INTERNAL_ERROR",
        3 => "FLOW_CONTROL_ERROR",
        4 => "SETTINGS_TIMEOUT",
        5 => "STREAM_CLOSED",
        6 => "FRAME_SIZE_ERROR",
        7 => "REFUSED_STREAM",
        8 => "CANCEL",
        9 => "COMPRESSION_ERROR",
        10 => "CONNECT_ERROR",
        11 => "ENHANCE_YOUR_CALM",
        12 => "INADEQUATE_SECURITY",
        13 => "HTTP_1_1_REQUIRED",
        _ => "unknown",
    }
}

/// A connection-level failure (handshake, GOAWAY with an error, framing): CURLE_HTTP2.
pub fn conn_error(e: &h2::Error) -> Error {
    if let Some(io) = e.get_io() {
        return Error::new(code::RECV_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(io)));
    }
    Error::new(code::HTTP2, format!("Error in the HTTP2 framing layer: {e}"))
}

/// A stream's failure: a reset by the server is CURLE_HTTP2_STREAM with libcurl's message (a
/// NO_ERROR reset once the body began is a short body instead: see exchange_h2).
pub fn stream_error(e: &h2::Error, stream_id: u32) -> Error {
    if let Some(e) = head_too_large(e) {
        return e;
    }
    if e.is_library() && e.is_reset() {
        // Our side reset this stream for a malformed response (a connection-specific header,
        // DATA beyond its Content-Length): a stream error for libcurl too, not the connection's.
        return Error::new(code::HTTP2_STREAM, format!("HTTP/2 stream {stream_id} was reset: invalid response ({e})"));
    }
    if !e.is_remote() && (e.is_go_away() || e.is_library()) {
        // Our side of h2 gave up on the connection (the peer broke the protocol).
        return conn_error(e);
    }
    if e.is_reset() {
        if let Some(r) = e.reason() {
            return reset_error(stream_id, r.into());
        }
    }
    if e.is_go_away() {
        return Error::new(
            code::HTTP2_STREAM,
            format!("HTTP/2 stream {stream_id} was not closed cleanly before end of the underlying connection"),
        );
    }
    conn_error(e)
}

/// Our side of h2 gave up on a response head over MAX_HEADER_LIST: libcurl's 56. h2 names the
/// cause only in the GOAWAY's debug data (part of the error's text).
fn head_too_large(e: &h2::Error) -> Option<Error> {
    if !(e.is_library() && e.is_go_away() && e.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)) {
        return None;
    }
    let text = e.to_string();
    let msg = if text.contains("too_many_continuations") {
        // nghttp2's words, as libcurl reports them.
        "nghttp2 recv error -905: Too many CONTINUATION frames following a HEADER frame".to_string()
    } else if text.contains("header_list_way_too_large") {
        format!("Too large response headers: more than {} bytes", MAX_HEADER_LIST as usize * 4)
    } else {
        return None;
    };
    Some(Error::new(code::RECV_ERROR, msg))
}

/// The server reset the stream with error code `n` before its response head.
pub fn reset_error(stream_id: u32, n: u32) -> Error {
    let msg = if n == 0 {
        format!(
            "HTTP/2 stream {stream_id} was closed cleanly, but before getting all response header fields, treated as \
             error"
        )
    } else {
        format!("HTTP/2 stream {stream_id} reset by server (error 0x{n:x} {})", reason_name(n))
    };
    Error::new(code::HTTP2_STREAM, msg)
}

/// The status line libcurl hands HEADERFUNCTION for an h2 response.
pub fn status_line(status: u16) -> Vec<u8> {
    let mut l = b"HTTP/2 ".to_vec();
    l.extend_from_slice(status.to_string().as_bytes());
    l.extend_from_slice(b" \r\n");
    l
}

/// The length of `status_line(status)`, without building it.
pub fn status_line_len(status: u16) -> usize {
    let digits = status.checked_ilog10().map_or(1, |d| d as usize + 1);
    "HTTP/2 ".len() + digits + " \r\n".len()
}

/// The length of `header_line(name, value)`, without building it.
pub fn header_line_len(name: &[u8], value: &[u8]) -> usize {
    name.len() + ": ".len() + value.len() + "\r\n".len()
}

/// The value of the `i`th header of `head`.
pub fn field_value(head: &Head, i: usize) -> &str {
    let (name_end, value_end) = head.ends[i];
    &head.text[name_end..value_end]
}

/// Records a response field in `head` as `Head::push_line` records its `header_line`, without the
/// line: an h2 name is lower-case ASCII already, so only the value needs the UTF-8 check.
pub fn push_field(head: &mut Head, name: &str, value: &[u8]) {
    match std::str::from_utf8(value.trim_ascii()) {
        Ok(v) => {
            if head.ends.capacity() == 0 {
                // A typical head's room at once, not by doubling (as `push_line` reserves).
                head.text.reserve(256);
                head.ends.reserve(12);
            }
            head.text.push_str(name.trim_ascii());
            let name_end = head.text.len();
            head.text.push_str(v);
            head.ends.push((name_end, head.text.len()));
        }
        // Not UTF-8: the line's own (lossy) path.
        Err(_) => head.push_line(&header_line(name.as_bytes(), value)),
    }
}

/// One header line as libcurl delivers it over h2: the lower-case name, ": ", the value.
pub fn header_line(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut l = Vec::with_capacity(name.len() + value.len() + 4);
    put_header_line(&mut l, name, value);
    l
}

/// `header_line` into a buffer reused from line to line.
pub fn put_header_line(l: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    l.clear();
    l.extend_from_slice(name);
    l.extend_from_slice(b": ");
    l.extend_from_slice(value);
    l.extend_from_slice(b"\r\n");
}

/// Header fields HTTP/2 forbids (RFC 9113 8.2.2): libcurl drops them when it turns its request
/// head into h2 fields; TE survives only as "trailers". `name` in any case.
pub fn drop_field(name: &[u8], value: &str) -> bool {
    const FORBIDDEN: [&[u8]; 7] =
        [b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host", b"expect"];
    if name.eq_ignore_ascii_case(b"te") {
        return !value.eq_ignore_ascii_case("trailers");
    }
    FORBIDDEN.iter().any(|f| name.eq_ignore_ascii_case(f))
}

/// A request header field on its way into h2: the name as the head has it (`http::HeaderName`
/// lower-cases it as it parses it; `field_name` for text) and the value.
pub type Field<'a> = (&'a [u8], std::borrow::Cow<'a, str>);

/// The name of a request field as h2 sends it and libcurl's trace shows it: lower case.
pub fn field_name(name: &[u8]) -> String {
    text(name).to_ascii_lowercase()
}

/// Splits a request head (as the HTTP/1 writer produced it) into its header fields, in order,
/// borrowed from it. The Host value comes back apart (it becomes :authority). Works on bytes: a
/// per-request cost (the head is text in all but odd HTTPHEADER values, which are read lossily).
pub fn fields_of_head(head: &[u8]) -> (Option<std::borrow::Cow<'_, str>>, Vec<Field<'_>>) {
    let mut host = None;
    let mut out = Vec::with_capacity(8);
    for line in crlf_lines(head).skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = line[..colon].trim_ascii();
        let value = text(line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"host") {
            host = Some(value);
            continue;
        }
        if name.is_empty() || drop_field(name, &value) {
            continue;
        }
        out.push((name, value));
    }
    (host, out)
}

/// The lines of `head`, split at each CRLF.
fn crlf_lines(mut head: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if head.is_empty() {
            return None;
        }
        let mut at = 0;
        let end = loop {
            match head[at..].iter().position(|&b| b == b'\r') {
                Some(i) if head.get(at + i + 1) == Some(&b'\n') => break Some(at + i),
                Some(i) => at += i + 1,
                None => break None,
            }
        };
        let (line, rest) = match end {
            Some(e) => (&head[..e], &head[e + 2..]),
            None => (head, &head[head.len()..]),
        };
        head = rest;
        Some(line)
    })
}

/// UTF-8 text as is (the fast check), anything else lossily.
fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// The request head libcurl shows (DEBUGFUNCTION HEADER_OUT) and counts (REQUEST_SIZE) for an h2
/// request: the HTTP/1 head with "HTTP/2" in the request line.
pub fn as_h2_head(mut head: Vec<u8>) -> Vec<u8> {
    if let Some(eol) = head.windows(2).position(|w| w == b"\r\n") {
        let line = &head[..eol];
        if let Some(sp) = line.iter().rposition(|&b| b == b' ') {
            head.splice(sp + 1..eol, b"HTTP/2".iter().copied());
        }
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_becomes_h2_fields() {
        let head = b"POST /x?y HTTP/1.1\r\nHost: example.com:8443\r\nUser-Agent: t\r\nConnection: TE\r\nTE: gzip\r\nX-A:  b \r\nExpect: 100-continue\r\n\r\n".to_vec();
        let (host, fields) = fields_of_head(&head);
        assert_eq!(host.as_deref(), Some("example.com:8443"));
        let text = |f: &[Field<'_>]| f.iter().map(|(n, v)| (field_name(n), v.to_string())).collect::<Vec<_>>();
        assert_eq!(text(&fields), vec![("user-agent".to_string(), "t".to_string()), ("x-a".into(), "b".into())]);
        let (_, odd) = fields_of_head(b"GET / HTTP/1.1\r\nX-B: a\rb \r\nX-C:\xff\r\nno colon\r\n\r\n");
        assert_eq!(text(&odd), vec![("x-b".to_string(), "a\rb".to_string()), ("x-c".into(), "\u{fffd}".into())]);
        assert!(drop_field(b"Keep-Alive", "") && drop_field(b"TE", "gzip") && !drop_field(b"te", "Trailers"));
        let h2 = as_h2_head(head);
        assert!(
            h2.starts_with(b"POST /x?y HTTP/2\r\nHost: example.com:8443\r\n"),
            "{:?}",
            String::from_utf8_lossy(&h2)
        );
    }

    #[test]
    fn response_lines_as_libcurl_delivers_them() {
        assert_eq!(status_line(200), b"HTTP/2 200 \r\n");
        assert_eq!(header_line(b"content-type", b"text/html"), b"content-type: text/html\r\n");
        assert_eq!(reason_name(7), "REFUSED_STREAM");
    }

    #[test]
    fn the_window_opens_once_earned_and_closes_while_a_transfer_is_paused() {
        let g = Rc::new(Gate::default());
        assert_eq!(g.wanted_window(), STREAM_WINDOW, "64 KiB until a stream took its first window");
        g.grow.set(true);
        assert_eq!(g.wanted_window(), STREAM_WINDOW_MAX);
        g.paused.set(1);
        let hold = Hold(g.clone());
        assert_eq!(g.wanted_window(), STREAM_WINDOW, "held back while paused");
        drop(hold);
        assert_eq!((g.paused.get(), g.wanted_window()), (0, STREAM_WINDOW_MAX));
    }

    #[test]
    fn a_turn_run_inline_takes_the_wakes_before_it() {
        use std::sync::atomic::AtomicUsize;
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let reactor = Reactor::default();
        let g = Gate::default();
        let polls = Rc::new(Cell::new(0));
        let p = polls.clone();
        *g.fut.borrow_mut() = Some(Box::pin(poll_fn(move |cx| {
            p.set(p.get() + 1);
            // What h2 does when a stream is dropped or queues a frame: wake the connection.
            cx.waker().wake_by_ref();
            Poll::Pending
        })));
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let (nudge, w) = g.driver_waker(&Waker::from(task.clone()));
        assert!(nudge.woken.load(Ordering::SeqCst), "a new driver task takes its first turn");
        g.busy.set(1);
        assert!(g.turn(&reactor, 7, &w) == Turn::Pending);
        assert_eq!((polls.get(), task.0.load(Ordering::SeqCst)), (1, 1));
        assert!(nudge.woken.load(Ordering::SeqCst) && !g.parked.get(), "busy: woken, not parked");
        // The same task polled again reuses its waker; with no transfer left the turn parks.
        let (again, _) = g.driver_waker(&Waker::from(task.clone()));
        assert!(Arc::ptr_eq(&nudge, &again));
        g.busy.set(0);
        nudge.woken.store(false, Ordering::SeqCst);
        assert!(g.turn(&reactor, 7, &w) == Turn::Pending);
        assert!(g.parked.get() && g.fut.borrow().is_some());
        g.roams.set(true);
        assert!(g.turn(&reactor, 7, &w) == Turn::Stop, "an idle roaming connection stops");
    }

    #[test]
    fn a_request_uri_is_parsed_again_only_when_it_changes() {
        let slot = RefCell::new(None);
        let built = Cell::new(0);
        let get = |scheme: &str, authority: &str, path: &str| {
            reuse_uri(&slot, scheme, authority, path, || {
                built.set(built.get() + 1);
                http::Uri::builder()
                    .scheme(scheme)
                    .authority(authority)
                    .path_and_query(path)
                    .build()
                    .map_err(|_| Error::new(code::URL_MALFORMAT, "bad"))
            })
        };
        let a = get("https", "h:1", "/a?b").unwrap();
        assert_eq!((get("https", "h:1", "/a?b").unwrap(), built.get()), (a.clone(), 1));
        for (scheme, authority, path) in [("https", "h:1", "/a"), ("https", "h:2", "/a"), ("http", "h:2", "/a")] {
            let u = get(scheme, authority, path).unwrap();
            assert_eq!(u.to_string(), format!("{scheme}://{authority}{path}"));
        }
        assert_eq!(built.get(), 4);
        assert!(get("https", "h:2", "not a path").is_err(), "a failed build is not kept");
        assert_eq!((get("http", "h:2", "/a").unwrap(), built.get()), ("http://h:2/a".parse().unwrap(), 5));
    }

    #[test]
    fn a_last_stream_that_ended_cleanly_parks_without_a_turn() {
        let reactor = Rc::new(Reactor::default());
        let g = Rc::new(Gate::default());
        let polls = Rc::new(Cell::new(0));
        let p = polls.clone();
        *g.fut.borrow_mut() = Some(Box::pin(poll_fn(move |_| {
            p.set(p.get() + 1);
            Poll::Pending
        })));
        g.home.set(Rc::as_ptr(&reactor) as usize);
        let (nudge, w) = g.driver_waker(Waker::noop());
        let enter = |n: usize| {
            let uses: Vec<InUse> = (0..n).map(|_| InUse(g.clone())).collect();
            g.busy.set(n);
            assert!(g.turn(&reactor, 7, &w) == Turn::Pending, "the turn that sends the request");
            uses
        };
        // One transfer, its stream ended cleanly: parked, its wakes taken, h2 not polled again.
        let mut uses = enter(1);
        g.clean.set(true);
        assert!(!g.leave(uses.pop().unwrap(), &reactor, 7));
        assert_eq!(polls.get(), 1);
        assert!(g.parked.get() && !nudge.woken.load(Ordering::SeqCst));
        // Without the word (a stream dropped early queues its reset): a turn flushes and parks.
        let mut uses = enter(1);
        assert!(g.leave(uses.pop().unwrap(), &reactor, 7));
        // Another transfer left before it since the last turn: its frames go out in a turn.
        let mut uses = enter(2);
        assert!(!g.leave(uses.pop().unwrap(), &reactor, 7), "not the last one");
        g.clean.set(true);
        assert!(g.leave(uses.pop().unwrap(), &reactor, 7));
        // A window the driver has not announced yet goes out in a turn too.
        let mut uses = enter(1);
        g.grow.set(true);
        g.clean.set(true);
        assert!(g.leave(uses.pop().unwrap(), &reactor, 7));
        g.announced.set(STREAM_WINDOW_MAX);
        let mut uses = enter(1);
        g.clean.set(true);
        assert!(!g.leave(uses.pop().unwrap(), &reactor, 7));
        // A turn forgets a word said before it.
        let mut uses = enter(1);
        g.clean.set(true);
        let _ = g.turn(&reactor, 7, &w);
        assert!(g.leave(uses.pop().unwrap(), &reactor, 7));
    }

    #[test]
    fn out_of_parking_the_readiness_cache_stands_unless_a_liveness_check_asks() {
        let reactor = Reactor::default();
        let g = Gate::default();
        *g.fut.borrow_mut() = Some(Box::pin(poll_fn(|_| Poll::Pending)));
        let w = Waker::noop().clone();
        reactor.register(7);
        reactor.set_drained(7);
        g.busy.set(1);
        g.parked.set(true);
        assert!(g.turn(&reactor, 7, &w) == Turn::Pending);
        assert!(reactor.is_drained(7), "a short idle: the next read waits for the poll");
        g.parked.set(true);
        g.recheck.set(true);
        assert!(g.turn(&reactor, 7, &w) == Turn::Pending);
        assert!(!reactor.is_drained(7) && !g.recheck.get(), "settle: read what came meanwhile");
    }

    #[test]
    fn reset_streams_as_libcurl_words_them() {
        let e = reset_error(3, 2);
        assert_eq!(
            (e.code, e.msg.as_str()),
            (code::HTTP2_STREAM, "HTTP/2 stream 3 reset by server (error 0x2 INTERNAL_ERROR)")
        );
        assert_eq!(reset_error(5, 11).msg, "HTTP/2 stream 5 reset by server (error 0xb ENHANCE_YOUR_CALM)");
        assert!(reset_error(1, 0).msg.starts_with("HTTP/2 stream 1 was closed cleanly, but before getting all"));
    }
}
