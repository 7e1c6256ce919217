//! The runtime a multi handle owns: a single-threaded executor, a reactor that maps fds to the wakers
//! waiting on them (their read/write interest), and a timer heap.
//!
//! Nothing here blocks or polls the OS: the caller (perform/socket_action, or the private loop behind
//! `Curl.perform`) tells the reactor which fds are ready and when time has passed, then runs ready tasks.
//! All of it is touched only by the thread that drives the multi (the GIL holder in the bindings).

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use super::sys::Fd;

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Identifies a task: slot index plus a generation so a stale wake never polls a reused slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskId {
    idx: u32,
    gen: u32,
}

struct ReadyQueue(Mutex<VecDeque<TaskId>>);

struct TaskWaker {
    id: TaskId,
    queued: AtomicBool,
    queue: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.queue.0.lock().unwrap().push_back(self.id);
        }
    }
}

struct Slot {
    gen: u32,
    fut: Option<BoxFuture>,
    waker: Option<(Arc<TaskWaker>, Waker)>,
    live: bool,
}

/// Runs `'static` non-Send futures when asked; spawning from inside a poll is allowed.
pub struct Executor {
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    queue: Arc<ReadyQueue>,
    live: Cell<usize>,
    inbox: Spawner,
}

/// Starts tasks from code that has no executor at hand (a transfer starting an h2 connection's
/// driver): the executor takes them in at its next turn.
#[derive(Clone, Default)]
pub struct Spawner(Rc<RefCell<Vec<BoxFuture>>>);

impl Spawner {
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        self.0.borrow_mut().push(Box::pin(fut));
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor {
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            queue: Arc::new(ReadyQueue(Mutex::new(VecDeque::new()))),
            live: Cell::new(0),
            inbox: Spawner::default(),
        }
    }
}

impl Executor {
    /// Takes tasks spawned through `spawner` from now on.
    pub fn use_spawner(&mut self, s: Spawner) {
        self.inbox = s;
    }

    fn adopt_spawned(&self) {
        if self.inbox.0.borrow().is_empty() {
            return;
        }
        let new = std::mem::take(&mut *self.inbox.0.borrow_mut());
        for f in new {
            self.spawn_boxed(f);
        }
    }

    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) -> TaskId {
        self.spawn_boxed(Box::pin(fut))
    }

    fn spawn_boxed(&self, fut: BoxFuture) -> TaskId {
        let mut slots = self.slots.borrow_mut();
        let idx = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                slots.push(Slot { gen: 0, fut: None, waker: None, live: false });
                (slots.len() - 1) as u32
            }
        };
        let slot = &mut slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        let id = TaskId { idx, gen: slot.gen };
        let tw = Arc::new(TaskWaker { id, queued: AtomicBool::new(false), queue: self.queue.clone() });
        let waker = Waker::from(tw.clone());
        slot.fut = Some(fut);
        slot.waker = Some((tw, waker.clone()));
        slot.live = true;
        self.live.set(self.live.get() + 1);
        waker.wake();
        id
    }

    /// Drops a task without running it further (remove_handle of a running transfer).
    pub fn cancel(&self, id: TaskId) {
        let fut = {
            let mut slots = self.slots.borrow_mut();
            match slots.get_mut(id.idx as usize) {
                Some(s) if s.gen == id.gen && s.live => {
                    s.live = false;
                    // A queued wake would keep has_ready() true (and the multi's timer at 0) for nothing.
                    if s.waker.take().is_some_and(|(tw, _)| tw.queued.load(Ordering::Acquire)) {
                        self.queue.0.lock().unwrap().retain(|q| *q != id);
                    }
                    self.free.borrow_mut().push(id.idx);
                    self.live.set(self.live.get() - 1);
                    s.fut.take()
                }
                _ => None,
            }
        };
        // Dropped outside the borrow: the future's destructors may touch the executor.
        drop(fut);
    }

    pub fn has_ready(&self) -> bool {
        !self.queue.0.lock().unwrap().is_empty() || !self.inbox.0.borrow().is_empty()
    }

    /// Polls ready tasks until none is ready or `budget` polls were made. Returns polls made.
    pub fn run_ready(&self, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            self.adopt_spawned();
            let Some(id) = self.queue.0.lock().unwrap().pop_front() else { break };
            let (mut fut, tw, waker) = {
                let mut slots = self.slots.borrow_mut();
                let Some(s) = slots.get_mut(id.idx as usize) else { continue };
                if s.gen != id.gen || !s.live {
                    continue;
                }
                let Some(f) = s.fut.take() else { continue };
                let (tw, w) = s.waker.clone().unwrap();
                (f, tw, w)
            };
            tw.queued.store(false, Ordering::Release);
            n += 1;
            let mut cx = Context::from_waker(&waker);
            let done = fut.as_mut().poll(&mut cx).is_ready();
            let leftover = {
                let mut slots = self.slots.borrow_mut();
                let s = &mut slots[id.idx as usize];
                if s.gen == id.gen && s.live {
                    if done {
                        s.live = false;
                        s.waker = None;
                        self.free.borrow_mut().push(id.idx);
                        self.live.set(self.live.get() - 1);
                        Some(fut)
                    } else {
                        s.fut = Some(fut);
                        None
                    }
                } else {
                    Some(fut) // cancelled while running
                }
            };
            drop(leftover);
        }
        n
    }

    pub fn live_tasks(&self) -> usize {
        self.live.get()
    }
}

/// Read/write interest bits, as CURL_POLL_IN / CURL_POLL_OUT.
pub use super::sys::{IN, OUT};

#[derive(Default)]
struct SockEntry {
    read: Option<Waker>,
    write: Option<Waker>,
    /// Interest last reported to the application (SOCKETFUNCTION) or the private poller.
    reported: u8,
    /// The fd is closed by its owner; REMOVE must be reported then the entry dropped.
    gone: bool,
    /// Readiness cache: a read found the socket drained (EAGAIN or a short read) and nobody has
    /// reported it readable since, so the next read waits for readiness instead of trying.
    drained: bool,
}

impl SockEntry {
    fn interest(&self) -> u8 {
        if self.gone {
            return 0;
        }
        (self.read.is_some() as u8 * IN) | (self.write.is_some() as u8 * OUT)
    }
}

pub use super::sys::poll as poll_interests;

/// fds (and the multi's transfer and timer keys) are small distinct integers: they hash as
/// themselves, spread, instead of through SipHash.
#[derive(Default, Clone, Copy)]
pub struct FdHasher(u64);

impl std::hash::Hasher for FdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_i32(&mut self, n: i32) {
        // Spread the bits so hashbrown's top-7-bit tags differ between neighbouring fds.
        self.0 = (n as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_isize(&mut self, n: isize) {
        // Windows SOCKET handles (`Fd` there), spread the same way.
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type FdHash = std::hash::BuildHasherDefault<FdHasher>;

/// fd → wakers, plus timers. Interest is derived from which wakers are registered.
#[derive(Default)]
pub struct Reactor {
    socks: RefCell<HashMap<Fd, SockEntry, FdHash>>,
    dirty: RefCell<Vec<Fd>>,
    timers: RefCell<BinaryHeap<Reverse<(Instant, u64)>>>,
    timer_wakers: RefCell<HashMap<u64, Waker, FdHash>>,
    next_timer: Cell<u64>,
    graveyard: RefCell<Vec<(Fd, Option<Closer>)>>,
    /// Pooled connections taken here read right after their request instead of waiting for a
    /// readiness report (Curl.perform's private loop: one connection, mostly answered by then).
    pub read_at_once: Cell<bool>,
}

/// Who closes an fd when its connection ends: libc close, or the application's CLOSESOCKETFUNCTION.
pub type Closer = Rc<dyn Fn(Fd)>;

/// One change of interest on an fd, to report through SOCKETFUNCTION: `what` is 1 IN, 2 OUT, 3 INOUT,
/// 4 REMOVE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockEvent {
    pub fd: Fd,
    pub what: u8,
}

pub const POLL_REMOVE: u8 = 4;

impl Reactor {
    /// Queues an fd for closing once its REMOVE has been reported.
    pub fn bury(&self, fd: Fd, closer: Option<Closer>) {
        self.graveyard.borrow_mut().push((fd, closer));
    }

    /// Closes every buried fd. Call after delivering the events of `take_changes`.
    pub fn close_buried(&self) {
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        for (fd, closer) in dead {
            match closer {
                Some(c) => c(fd),
                None => super::sys::close(fd),
            }
        }
    }

    pub fn register(&self, fd: Fd) {
        let mut socks = self.socks.borrow_mut();
        // A reused fd number whose REMOVE has not been reported yet keeps its reported state.
        let e = socks.entry(fd).or_default();
        e.gone = false;
        e.drained = false;
    }

    /// The owner closed (or is about to close) the fd: its interest becomes REMOVE at the next report.
    pub fn deregister(&self, fd: Fd) {
        if let Some(e) = self.socks.borrow_mut().get_mut(&fd) {
            e.gone = true;
            e.read = None;
            e.write = None;
        }
        self.dirty.borrow_mut().push(fd);
    }

    pub fn want_read(&self, fd: Fd, w: &Waker) {
        self.want(fd, w, |e| &mut e.read)
    }

    pub fn want_write(&self, fd: Fd, w: &Waker) {
        self.want(fd, w, |e| &mut e.write)
    }

    /// Stores `w` as the waiter in one direction; only a new interest needs reporting.
    fn want(&self, fd: Fd, w: &Waker, slot: impl FnOnce(&mut SockEntry) -> &mut Option<Waker>) {
        let newly = {
            let mut socks = self.socks.borrow_mut();
            let s = slot(socks.entry(fd).or_default());
            match s {
                Some(old) if old.will_wake(w) => false,
                Some(_) => {
                    *s = Some(w.clone());
                    false
                }
                None => {
                    *s = Some(w.clone());
                    true
                }
            }
        };
        if newly {
            self.dirty.borrow_mut().push(fd);
        }
    }

    /// Clears interest the owner no longer has (a connection parked idle in the pool).
    pub fn clear_interest(&self, fd: Fd) {
        if let Some(e) = self.socks.borrow_mut().get_mut(&fd) {
            e.read = None;
            e.write = None;
        }
        self.dirty.borrow_mut().push(fd);
    }

    /// Like `clear_interest`, but reported before changes already queued (libcurl drops its wakeup
    /// socket before the transfer sockets).
    pub fn clear_interest_first(&self, fd: Fd) {
        if let Some(e) = self.socks.borrow_mut().get_mut(&fd) {
            e.read = None;
            e.write = None;
        }
        self.dirty.borrow_mut().insert(0, fd);
    }

    /// Registers read interest ahead of changes already queued.
    pub fn want_read_first(&self, fd: Fd, w: &Waker) {
        self.socks.borrow_mut().entry(fd).or_default().read = Some(w.clone());
        self.dirty.borrow_mut().insert(0, fd);
    }

    /// Readiness cache (see `SockEntry::drained`).
    pub fn is_drained(&self, fd: Fd) -> bool {
        self.socks.borrow().get(&fd).is_some_and(|e| e.drained)
    }

    pub fn set_drained(&self, fd: Fd) {
        if let Some(e) = self.socks.borrow_mut().get_mut(&fd) {
            e.drained = true;
        }
    }

    pub fn is_reported(&self, fd: Fd) -> bool {
        self.socks.borrow().get(&fd).is_some_and(|e| e.reported != 0)
    }

    pub fn has_read_interest(&self, fd: Fd) -> bool {
        self.socks.borrow().get(&fd).is_some_and(|e| e.read.is_some())
    }

    /// The application says `fd` is ready: wake whoever waits on it. `ev` uses CSELECT bits
    /// (1 IN, 2 OUT, 4 ERR); 0 means "check everything" as in libcurl.
    pub fn ready(&self, fd: Fd, ev: u8) {
        let (r, w) = {
            let mut socks = self.socks.borrow_mut();
            let Some(e) = socks.get_mut(&fd) else { return };
            let all = ev == 0 || ev & 4 != 0;
            if all || ev & IN != 0 {
                e.drained = false;
            }
            let r = if all || ev & IN != 0 { e.read.take() } else { None };
            let w = if all || ev & OUT != 0 { e.write.take() } else { None };
            (r, w)
        };
        self.dirty.borrow_mut().push(fd);
        if let Some(r) = r {
            r.wake();
        }
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Wakes every waiter (socket_all).
    pub fn ready_all(&self) {
        let fds: Vec<Fd> = self.socks.borrow().keys().copied().collect();
        for fd in fds {
            self.ready(fd, 0);
        }
    }

    /// Interest changes since the last call, in fd order of first change. Entries of closed fds are
    /// dropped once their REMOVE is produced.
    pub fn take_changes(&self) -> Vec<SockEvent> {
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        if dirty.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut socks = self.socks.borrow_mut();
        for fd in dirty {
            // An fd queued twice is handled at its first place; then it matches what was reported.
            let Some(e) = socks.get_mut(&fd) else { continue };
            let now = e.interest();
            if now != e.reported {
                out.push(SockEvent { fd, what: if now == 0 { POLL_REMOVE } else { now } });
                e.reported = now;
            }
            if e.gone {
                socks.remove(&fd);
            }
        }
        out
    }

    /// Every fd with its current interest, in fd order (fdset()).
    pub fn interests(&self) -> Vec<(Fd, u8)> {
        let mut v = self.interests_unsorted();
        v.sort_unstable();
        v
    }

    pub fn interests_unsorted(&self) -> Vec<(Fd, u8)> {
        self.socks.borrow().iter().map(|(fd, e)| (*fd, e.interest())).filter(|(_, i)| *i != 0).collect()
    }

    pub fn add_timer(&self, at: Instant, w: &Waker) -> u64 {
        let id = self.next_timer.get() + 1;
        self.next_timer.set(id);
        self.timers.borrow_mut().push(Reverse((at, id)));
        self.timer_wakers.borrow_mut().insert(id, w.clone());
        id
    }

    pub fn update_timer(&self, id: u64, w: &Waker) {
        if let Some(old) = self.timer_wakers.borrow_mut().get_mut(&id) {
            if !old.will_wake(w) {
                *old = w.clone();
            }
        }
    }

    pub fn cancel_timer(&self, id: u64) {
        self.timer_wakers.borrow_mut().remove(&id);
    }

    /// Earliest live deadline; stale heap entries of cancelled timers are dropped on the way.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut heap = self.timers.borrow_mut();
        let live = self.timer_wakers.borrow();
        while let Some(Reverse((at, id))) = heap.peek() {
            if live.contains_key(id) {
                return Some(*at);
            }
            heap.pop();
        }
        None
    }

    /// Fires every timer due at `now`. Returns how many fired.
    pub fn fire_timers(&self, now: Instant) -> usize {
        let mut n = 0;
        loop {
            let w = {
                let mut heap = self.timers.borrow_mut();
                match heap.peek() {
                    Some(Reverse((at, id))) if *at <= now => {
                        let id = *id;
                        heap.pop();
                        self.timer_wakers.borrow_mut().remove(&id)
                    }
                    _ => break,
                }
            };
            if let Some(w) = w {
                n += 1;
                w.wake();
            }
        }
        n
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.close_buried();
    }
}

/// A timer future on a reactor.
pub struct Sleep {
    reactor: Rc<Reactor>,
    at: Instant,
    id: Option<u64>,
}

impl Sleep {
    pub fn until(reactor: &Rc<Reactor>, at: Instant) -> Sleep {
        Sleep { reactor: reactor.clone(), at, id: None }
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            if let Some(id) = self.id.take() {
                self.reactor.cancel_timer(id);
            }
            return Poll::Ready(());
        }
        match self.id {
            Some(id) => {
                if self.reactor.timer_wakers.borrow().contains_key(&id) {
                    self.reactor.update_timer(id, cx.waker());
                } else {
                    // Fired early relative to our clock check: re-arm.
                    let id = self.reactor.add_timer(self.at, cx.waker());
                    self.id = Some(id);
                }
            }
            None => {
                let id = self.reactor.add_timer(self.at, cx.waker());
                self.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.reactor.cancel_timer(id);
        }
    }
}

pin_project_lite::pin_project! {
    /// `fut` unless a deadline passes first (see `with_deadline`). A plain struct rather than an
    /// async fn: an async fn would hold `fut` twice (the argument and its pinned copy), and the
    /// transfer's whole state machine passes through here.
    pub struct WithDeadline<F> {
        #[pin]
        fut: F,
        sleep: Option<Sleep>,
        // Judge the deadline before `fut` may make progress (libcurl's transfer timeouts).
        first: bool,
    }
}

impl<F: Future> Future for WithDeadline<F> {
    type Output = Option<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if *this.first {
            if let Some(Poll::Ready(())) = this.sleep.as_mut().map(|s| Pin::new(s).poll(cx)) {
                return Poll::Ready(None);
            }
            return this.fut.poll(cx).map(Some);
        }
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Some(v));
        }
        match this.sleep.as_mut().map(|s| Pin::new(s).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    }
}

/// Runs `fut` unless `deadline` passes first.
pub fn with_deadline<F: Future>(reactor: &Rc<Reactor>, deadline: Option<Instant>, fut: F) -> WithDeadline<F> {
    WithDeadline { fut, sleep: deadline.map(|at| Sleep::until(reactor, at)), first: false }
}

/// Runs `fut` until `deadline`, which is checked first each time: once it has passed, `fut` gets
/// no further turn even with its data waiting, as libcurl checks a transfer's timeouts before
/// running its state machine.
pub fn deadline_first<F: Future>(reactor: &Rc<Reactor>, deadline: Option<Instant>, fut: F) -> WithDeadline<F> {
    WithDeadline { fut, sleep: deadline.map(|at| Sleep::until(reactor, at)), first: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_run_and_cancel() {
        let ex = Executor::default();
        let hit = Rc::new(Cell::new(0));
        let h = hit.clone();
        ex.spawn(async move { h.set(h.get() + 1) });
        assert_eq!(ex.live_tasks(), 1);
        ex.run_ready(10);
        assert_eq!(hit.get(), 1);
        assert_eq!(ex.live_tasks(), 0);
        let id = ex.spawn(std::future::pending::<()>());
        ex.run_ready(10);
        assert_eq!(ex.live_tasks(), 1);
        ex.cancel(id);
        assert_eq!(ex.live_tasks(), 0);
        // A reused slot gets a new generation; the old id no longer cancels it.
        let id2 = ex.spawn(std::future::pending::<()>());
        ex.cancel(id);
        assert_eq!(ex.live_tasks(), 1);
        ex.cancel(id2);
    }

    #[test]
    fn interest_is_derived_and_reported_on_change() {
        let r = Reactor::default();
        let w = futures_noop_waker();
        r.register(5);
        r.want_read(5, &w);
        assert_eq!(r.take_changes(), vec![SockEvent { fd: 5, what: IN }]);
        r.want_read(5, &w);
        assert_eq!(r.take_changes(), vec![]);
        r.want_write(5, &w);
        assert_eq!(r.take_changes(), vec![SockEvent { fd: 5, what: IN | OUT }]);
        r.ready(5, IN);
        assert_eq!(r.take_changes(), vec![SockEvent { fd: 5, what: OUT }]);
        r.deregister(5);
        assert_eq!(r.take_changes(), vec![SockEvent { fd: 5, what: POLL_REMOVE }]);
        assert!(r.interests().is_empty());
    }

    #[test]
    fn timers_fire_in_order_and_cancelled_ones_are_skipped() {
        let r = Reactor::default();
        let w = futures_noop_waker();
        let now = Instant::now();
        let a = r.add_timer(now + std::time::Duration::from_millis(5), &w);
        r.add_timer(now + std::time::Duration::from_millis(10), &w);
        assert_eq!(r.next_deadline(), Some(now + std::time::Duration::from_millis(5)));
        r.cancel_timer(a);
        assert_eq!(r.next_deadline(), Some(now + std::time::Duration::from_millis(10)));
        assert_eq!(r.fire_timers(now + std::time::Duration::from_millis(20)), 1);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn transfer_keys_spread_over_buckets() {
        use std::hash::BuildHasher;
        let h = |k: u64| FdHash::default().hash_one(k);
        // Consecutive keys land in distinct buckets of a 64-slot table and carry differing tags.
        let low: std::collections::HashSet<u64> = (1..=64).map(|k| h(k) & 63).collect();
        assert_eq!(low.len(), 64);
        let tags: std::collections::HashSet<u64> = (1..=64).map(|k| h(k) >> 57).collect();
        assert!(tags.len() > 32);
    }

    fn futures_noop_waker() -> Waker {
        struct N;
        impl Wake for N {
            fn wake(self: Arc<Self>) {}
        }
        Waker::from(Arc::new(N))
    }
}
