//! The multi handle: transfers running on one executor/reactor/pool, driven by the caller through
//! perform() or socket_action(), reporting socket interest and the timer deadline exactly as they are.

use super::sys::{self, Fd};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::easy::EasyShared;
use super::error::{Error, Result};
use super::rt::{Executor, FdHash, SockEvent, TaskId};
use super::transfer::{self, Shared};

/// CURL_SOCKET_TIMEOUT
pub const SOCKET_TIMEOUT: Fd = -1;

struct Entry {
    easy: Rc<EasyShared>,
    task: Option<TaskId>,
}

/// A finished transfer waiting for info_read.
#[derive(Debug)]
pub struct Msg {
    pub key: u64,
    pub result: Result<()>,
}

/// curl_multi_timeout's view of the next deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deadline {
    None,
    Now,
    At(Instant),
    /// Forces the next timer_change to report (libcurl calls TIMERFUNCTION on every add_handle).
    Unreported,
    /// The "now" last reported belonged to a transfer since removed: libcurl reports again, 0 for
    /// the next transfer's own expiry or -1 when none is left.
    Removed,
}

/// A finished transfer's key and result, queued for info_read.
type Finished = (u64, Result<()>);

/// What a transfer's task starts from: the multi's state, the handle, the result queue, its key.
type TaskArgs = (Rc<Shared>, Rc<EasyShared>, Rc<RefCell<VecDeque<Finished>>>, u64);

/// Task bodies of finished transfers, kept for the next ones.
type Spares = Rc<RefCell<Vec<Box<dyn TaskBody>>>>;

/// A transfer's future in an allocation of its own, kept when the transfer ends so the next one
/// starts in it: a fresh one (several KiB) per request made glibc consolidate its fast bins.
trait TaskBody {
    fn start(&mut self, args: TaskArgs);
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    fn clear(&mut self);
}

struct Body<M, F> {
    make: M,
    fut: Pin<Box<Option<F>>>,
}

impl<M: Fn(TaskArgs) -> F, F: Future<Output = ()>> TaskBody for Body<M, F> {
    fn start(&mut self, args: TaskArgs) {
        self.fut.set(Some((self.make)(args)));
    }
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.fut.as_mut().as_pin_mut() {
            Some(f) => f.poll(cx),
            None => Poll::Ready(()),
        }
    }
    fn clear(&mut self) {
        self.fut.set(None);
    }
}

fn body<M: Fn(TaskArgs) -> F + 'static, F: Future<Output = ()> + 'static>(make: M) -> Box<dyn TaskBody> {
    Box::new(Body { make, fut: Box::pin(None) })
}

async fn transfer_body((sh, easy, done, key): TaskArgs) {
    let r = transfer::run(sh, easy.clone()).await;
    *easy.last_error.borrow_mut() = r.clone().err();
    easy.busy.set(false);
    done.borrow_mut().push_back((key, r));
}

/// The executor's task for one transfer: small, it runs the body and hands it back when done.
struct Task {
    body: Option<Box<dyn TaskBody>>,
    spares: Spares,
}

impl Future for Task {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(b) = this.body.as_mut() else { return Poll::Ready(()) };
        if b.poll_body(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(mut b) = this.body.take() {
            b.clear();
            this.spares.borrow_mut().push(b);
        }
        Poll::Ready(())
    }
}

pub struct Multi {
    pub sh: Rc<Shared>,
    exec: Executor,
    xfers: HashMap<u64, Entry, FdHash>,
    next_key: u64,
    done: Rc<RefCell<VecDeque<Finished>>>,
    msgs: VecDeque<Msg>,
    reported: Deadline,
    /// Poll budget per perform call, so one call can't spin forever.
    pub budget: usize,
    /// The wakeup socketpair, watched for reading while transfers run (as libcurl's multi does).
    wakeup: Option<Wakeup>,
    /// Transfers finished since the last `take_newly_done` (M_NOTIFY_EASY_DONE).
    newly_done: Vec<u64>,
    /// Transfers with a live task.
    running: usize,
    /// MAXCONNECTS was set: the pool size no longer follows the number of handles.
    max_idle_set: bool,
    /// Bodies of finished transfers' tasks, at most one per handle added.
    spares: Spares,
}

struct Wakeup {
    rd: socket2::Socket,
    wr: socket2::Socket,
    watched: bool,
    waker: std::task::Waker,
}

struct NoopWake;
impl std::task::Wake for NoopWake {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Default for Multi {
    fn default() -> Self {
        Multi::new()
    }
}

impl Multi {
    pub fn new() -> Multi {
        let sh = Shared::new();
        let mut exec = Executor::default();
        exec.use_spawner(sh.spawner.clone());
        Multi {
            sh,
            exec,
            xfers: HashMap::default(),
            next_key: 1,
            done: Rc::new(RefCell::new(VecDeque::new())),
            msgs: VecDeque::new(),
            reported: Deadline::None,
            budget: 1_000_000,
            wakeup: None,
            newly_done: Vec::new(),
            running: 0,
            max_idle_set: false,
            spares: Spares::default(),
        }
    }

    /// Adds the wakeup socketpair (CurlMulti has one; the private multi behind Curl.perform doesn't).
    pub fn enable_wakeup(&mut self) -> std::io::Result<()> {
        let (rd, wr) = sys::socket_pair()?;
        let waker = std::task::Waker::from(std::sync::Arc::new(NoopWake));
        self.wakeup = Some(Wakeup { rd, wr, watched: false, waker });
        Ok(())
    }

    /// A writer end another thread may use to interrupt a wait on this multi's sockets.
    pub fn wakeup_writer(&self) -> Option<socket2::Socket> {
        self.wakeup.as_ref().and_then(|w| w.wr.try_clone().ok())
    }

    fn watch_wakeup(&mut self, running: bool) {
        let reactor = self.sh.reactor.clone();
        let Some(w) = self.wakeup.as_mut() else { return };
        let fd = sys::fd_of(&w.rd);
        if running {
            if !w.watched {
                reactor.register(fd);
                w.watched = true;
                reactor.want_read_first(fd, &w.waker);
            } else if !reactor.has_read_interest(fd) {
                // It fired: drain it and keep watching.
                let mut buf = [0u8; 64];
                while matches!(sys::recv(fd, &mut buf), Ok(n) if n > 0) {}
                reactor.want_read(fd, &w.waker);
            }
        } else if w.watched {
            w.watched = false;
            reactor.clear_interest_first(fd);
        }
    }

    /// Starts a transfer for `easy`; it runs at the next perform/socket_action. Returns its key.
    pub fn add(&mut self, easy: Rc<EasyShared>) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        easy.busy.set(true);
        easy.pause.set(0);
        *easy.paused_data.borrow_mut() = None;
        *easy.pause_error.borrow_mut() = None;
        let spare = self.spares.borrow_mut().pop();
        let mut b = spare.unwrap_or_else(|| body(transfer_body));
        b.start((self.sh.clone(), easy.clone(), self.done.clone(), key));
        let task = self.exec.spawn(Task { body: Some(b), spares: self.spares.clone() });
        self.xfers.insert(key, Entry { easy, task: Some(task) });
        self.running += 1;
        if !self.max_idle_set {
            // libcurl's default connection cache: four connections per easy handle added.
            let want = (4 * self.xfers.len()).max(self.sh.pool.borrow().max_idle);
            self.sh.pool.borrow_mut().max_idle = want;
        }
        self.reported = Deadline::Unreported;
        key
    }

    /// Detaches a transfer, stopping it if it still runs. Its pending message is dropped.
    pub fn remove(&mut self, key: u64) -> bool {
        let Some(e) = self.xfers.remove(&key) else { return false };
        if let Some(t) = e.task {
            self.exec.cancel(t);
            self.running -= 1;
            if self.reported == Deadline::Now {
                self.reported = Deadline::Removed;
            }
        }
        e.easy.busy.set(false);
        self.spares.borrow_mut().truncate(self.xfers.len());
        self.msgs.retain(|m| m.key != key);
        self.done.borrow_mut().retain(|(k, _)| *k != key);
        if self.running() == 0 {
            self.watch_wakeup(false);
        }
        true
    }

    pub fn contains(&self, key: u64) -> bool {
        self.xfers.contains_key(&key)
    }

    pub fn len(&self) -> usize {
        self.xfers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xfers.is_empty()
    }

    fn run(&mut self) {
        let now = Instant::now();
        if self.running() > 0 {
            self.watch_wakeup(true);
        }
        self.sh.reactor.fire_timers(now);
        let mut left = self.budget;
        while left > 0 && self.exec.has_ready() {
            left -= self.exec.run_ready(left).max(1).min(left);
            // Timers that fell due while tasks ran.
            self.sh.reactor.fire_timers(Instant::now());
        }
        let finished: Vec<(u64, Result<()>)> = self.done.borrow_mut().drain(..).collect();
        for (key, result) in finished {
            if let Some(e) = self.xfers.get_mut(&key) {
                if e.task.take().is_some() {
                    self.running -= 1;
                }
                self.msgs.push_back(Msg { key, result });
                self.newly_done.push(key);
            }
        }
        let running = self.running() > 0;
        self.watch_wakeup(running);
    }

    /// Transfers still running.
    pub fn running(&self) -> usize {
        self.running
    }

    /// curl_multi_perform: runs everything that can make progress now. Nobody told us which sockets
    /// are ready, so ask the OS (one poll with zero timeout over the sockets we wait on).
    pub fn perform(&mut self) -> usize {
        self.poll_ready();
        self.run();
        self.running()
    }

    /// Marks ready every socket the OS says is ready now.
    fn poll_ready(&mut self) {
        let interests = self.sh.reactor.interests_unsorted();
        if interests.is_empty() {
            return;
        }
        for (fd, ev) in super::rt::poll_interests(&interests, 0).unwrap_or_default() {
            self.sh.reactor.ready(fd, ev);
        }
    }

    /// curl_multi_socket_action: `fd` is ready with CSELECT bits `ev`, or SOCKET_TIMEOUT.
    pub fn socket_action(&mut self, fd: Fd, ev: u8) -> usize {
        if fd != SOCKET_TIMEOUT {
            self.sh.reactor.ready(fd, ev);
        }
        self.run();
        self.running()
    }

    /// curl_multi_socket_all
    pub fn socket_all(&mut self) -> usize {
        self.sh.reactor.ready_all();
        self.run();
        self.running()
    }

    /// Interest changes to report (SOCKETFUNCTION), in order.
    pub fn take_socket_events(&self) -> Vec<SockEvent> {
        self.sh.reactor.take_changes()
    }

    /// Closes sockets whose REMOVE has been delivered.
    pub fn close_buried(&self) {
        self.sh.reactor.close_buried();
    }

    fn deadline(&self) -> Deadline {
        if self.exec.has_ready() {
            return Deadline::Now;
        }
        match self.sh.reactor.next_deadline() {
            Some(t) => Deadline::At(t),
            None => Deadline::None,
        }
    }

    /// curl_multi_timeout in milliseconds (-1: none), rounded up so waiting that long reaches it.
    pub fn timeout_ms(&self) -> i64 {
        match self.deadline() {
            Deadline::None => -1,
            Deadline::Now => 0,
            Deadline::Unreported | Deadline::Removed => -1,
            Deadline::At(t) => {
                let d = t.saturating_duration_since(Instant::now());

                d.as_micros().div_ceil(1000) as i64
            }
        }
    }

    /// The TIMERFUNCTION value to report if the earliest deadline changed since the last report.
    pub fn timer_change(&mut self) -> Option<i64> {
        let d = self.deadline();
        // libcurl reports "no timeout" (-1) only after it reported one.
        let unchanged = d == self.reported || (d == Deadline::None && self.reported == Deadline::Unreported);
        if unchanged {
            self.reported = d;
            return None;
        }
        self.reported = d;
        Some(self.timeout_ms())
    }

    /// Forgets the last reported deadline so the next timer_change reports again.
    pub fn reset_timer_report(&mut self) {
        self.reported = Deadline::None;
    }

    /// curl_multi_info_read: the next message, and how many remain queued.
    pub fn info_read(&mut self) -> Option<(Msg, usize)> {
        let m = self.msgs.pop_front()?;
        Some((m, self.msgs.len()))
    }

    /// Keys of transfers that finished since the last call, in order.
    pub fn take_newly_done(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.newly_done)
    }

    pub fn queued_msgs(&self) -> usize {
        self.msgs.len()
    }

    /// Every socket waited on, with its IN/OUT interest.
    pub fn interests(&self) -> Vec<(Fd, u8)> {
        self.sh.reactor.interests_unsorted()
    }

    /// fdset: (read fds, write fds) with current interest.
    pub fn fdset(&self) -> (Vec<Fd>, Vec<Fd>) {
        let mut r = Vec::new();
        let mut w = Vec::new();
        for (fd, i) in self.sh.reactor.interests() {
            if i & super::rt::IN != 0 {
                r.push(fd);
            }
            if i & super::rt::OUT != 0 {
                w.push(fd);
            }
        }
        (r, w)
    }

    pub fn easy_of(&self, key: u64) -> Option<Rc<EasyShared>> {
        self.xfers.get(&key).map(|e| e.easy.clone())
    }

    /// The socket has been reported to the application (curl_multi_assign accepts it).
    pub fn knows_socket(&self, fd: Fd) -> bool {
        self.sh.reactor.is_reported(fd)
    }

    /// M_MAX_TOTAL_CONNECTIONS / M_MAX_HOST_CONNECTIONS (0: no limit).
    pub fn set_limits(&self, total: Option<usize>, host: Option<usize>) {
        if let Some(t) = total {
            self.sh.limits.max_total.set(t);
        }
        if let Some(h) = host {
            self.sh.limits.max_host.set(h);
        }
        self.sh.limits.notify();
    }

    pub fn set_max_idle(&mut self, n: usize) {
        self.max_idle_set = true;
        self.sh.pool.borrow_mut().max_idle = n;
    }
}

impl Drop for Multi {
    fn drop(&mut self) {
        let keys: Vec<u64> = self.xfers.keys().copied().collect();
        for k in keys {
            self.remove(k);
        }
        self.sh.pool.borrow_mut().clear(&self.sh.reactor);
        if let Some(w) = &self.wakeup {
            self.sh.reactor.deregister(sys::fd_of(&w.rd));
        }
        let _ = self.sh.reactor.take_changes();
        self.sh.reactor.close_buried();
    }
}

/// The private loop behind `Curl.perform()`: the interest the multi reports, kept as a poll(2) set.
/// A transfer mostly waits on one socket, so one poll call per wait beats keeping an epoll set in
/// step (which costs two epoll_ctl calls per request). `wait` touches only this struct, so the
/// caller may run it without the GIL; a signal interrupts the poll (EINTR) and ends the wait.
#[derive(Default)]
pub struct BlockingLoop {
    registered: Vec<(Fd, u8)>,
}

impl BlockingLoop {
    pub fn new() -> std::io::Result<BlockingLoop> {
        Ok(BlockingLoop::default())
    }

    /// Applies SOCKETFUNCTION-style changes.
    pub fn apply(&mut self, changes: &[SockEvent]) {
        for ch in changes {
            let pos = self.registered.iter().position(|(fd, _)| *fd == ch.fd);
            match (ch.what == super::rt::POLL_REMOVE, pos) {
                (true, Some(p)) => {
                    self.registered.swap_remove(p);
                }
                (true, None) => {}
                (false, Some(p)) => self.registered[p].1 = ch.what,
                (false, None) => self.registered.push((ch.fd, ch.what)),
            }
        }
    }

    /// Waits up to `timeout` (None: until something happens) for readiness. Returns (fd, CSELECT
    /// bits); empty on timeout or when a signal arrived.
    pub fn wait(&mut self, timeout: Option<Duration>) -> std::io::Result<Vec<(Fd, u8)>> {
        let ms = match timeout {
            None => -1,
            Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
        };
        super::rt::poll_interests(&self.registered, ms)
    }

    /// Forgets every socket (the loop's multi is going away).
    pub fn clear(&mut self) {
        self.registered.clear();
    }
}

/// Runs the transfer `key` of `multi` to completion through `lp`. `wait` performs the blocking wait
/// (the bindings release the GIL around it). Returns the transfer's result.
pub fn perform_blocking(
    multi: &mut Multi,
    lp: &mut BlockingLoop,
    key: u64,
    mut wait: impl FnMut(&mut BlockingLoop, Option<Duration>) -> std::io::Result<Vec<(Fd, u8)>>,
    mut interrupted: impl FnMut() -> Option<Error>,
) -> Result<()> {
    multi.socket_action(SOCKET_TIMEOUT, 0);
    loop {
        let changes = multi.take_socket_events();
        lp.apply(&changes);
        multi.close_buried();
        if let Some(pos) = multi.msgs.iter().position(|m| m.key == key) {
            let m = multi.msgs.remove(pos).unwrap();
            return m.result;
        }
        if !multi.contains(key) {
            return Err(Error::bare(super::error::code::ABORTED_BY_CALLBACK));
        }
        let t = multi.timeout_ms();
        // A signal normally interrupts the wait; the 1 s cap covers one that lands just before it.
        let cap = Duration::from_secs(1);
        let timeout = Some(if t < 0 { cap } else { Duration::from_millis(t as u64).min(cap) });
        let ready = wait(lp, timeout).map_err(|e| Error::new(super::error::code::RECV_ERROR, e.to_string()))?;
        if let Some(e) = interrupted() {
            multi.remove(key);
            return Err(e);
        }
        for (fd, ev) in ready {
            multi.sh.reactor.ready(fd, ev);
        }
        multi.socket_action(SOCKET_TIMEOUT, 0);
    }
}
