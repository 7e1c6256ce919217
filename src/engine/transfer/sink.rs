//! Delivery to the application: header and body callbacks, pause and unpause (held data), the
//! progress callback, LOW_SPEED checks, MAX_RECV/SEND_SPEED throttling, and the VERBOSE trace.

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::decode::Decoder;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::rt::with_deadline;

impl Xfer {
    /// An informational line of the VERBOSE trace (DEBUGFUNCTION type TEXT), in libcurl's words.
    /// Takes format arguments so nothing is formatted unless VERBOSE is on.
    pub(super) fn text(&self, line: std::fmt::Arguments<'_>) {
        if !self.o.verbose {
            return;
        }
        if self.cb.has_debug() {
            self.cb.debug(debug_kind::TEXT, format!("{line}\n").as_bytes());
        } else {
            eprintln!("* {line}");
        }
    }

    pub(super) fn debug_data(&self, kind: u8, data: &[u8]) {
        if !self.o.verbose {
            return;
        }
        if self.cb.has_debug() {
            self.cb.debug(kind, data);
        } else if kind == debug_kind::HEADER_IN || kind == debug_kind::HEADER_OUT {
            let p = if kind == debug_kind::HEADER_IN { "< " } else { "> " };
            for line in String::from_utf8_lossy(data).split_inclusive('\n') {
                eprint!("{p}{line}");
            }
        }
    }

    pub(super) fn call_progress(&mut self, force: bool) -> Result<()> {
        if !self.progress {
            return Ok(());
        }
        let now = Instant::now();
        if !force {
            if let Some(t) = self.last_progress {
                if now.duration_since(t) < Duration::from_millis(1) {
                    return Ok(());
                }
            }
        }
        self.last_progress = Some(now);
        match self.cb.progress(self.dl_total, self.dl_now, self.ul_total, self.ul_now) {
            Ok(false) => Ok(()),
            Ok(true) => Err(Error::new(code::ABORTED_BY_CALLBACK, "Callback aborted")),
            Err(e) => Err(e),
        }
    }

    /// libcurl's speed check, made after each read and on the one-second tick (see `SpeedMeter`).
    pub(super) fn check_low_speed(&mut self) -> Result<()> {
        if self.o.low_speed_limit <= 0 || self.o.low_speed_time <= 0 {
            return Ok(());
        }
        let now = Instant::now();
        let total = self.dl_now + self.ul_now;
        let (limit, time) = (self.o.low_speed_limit, self.o.low_speed_time);
        let meter = self.speed.get_or_insert_with(Box::default);
        if meter.too_slow(now, clock_sec(now), self.start, total, limit, time) {
            return Err(Error::new(
                code::OPERATION_TIMEDOUT,
                format!("Operation too slow. Less than {limit} bytes/sec transferred the last {time} seconds"),
            ));
        }
        Ok(())
    }

    /// Awaits `fut` (a read on socket `fd`), calling progress and judging low speed meanwhile:
    /// once before waiting and at each one-second tick. At a tick the socket is read again first,
    /// as libcurl reads whatever waits before it samples the speed, even when only its timer woke it.
    pub(super) async fn ticked<F: Future>(&mut self, fd: Option<crate::engine::sys::Fd>, fut: F) -> Result<F::Output> {
        if !self.ticking() {
            return Ok(fut.await);
        }
        self.check_low_speed()?;
        let mut fut = std::pin::pin!(fut);
        loop {
            let reactor = self.sh.reactor.clone();
            if let Some(v) = with_deadline(&reactor, Some(Instant::now() + TICK), fut.as_mut()).await {
                return Ok(v);
            }
            if let Some(fd) = fd {
                reactor.ready(fd, crate::engine::sys::IN);
                if let Some(v) = with_deadline(&reactor, Some(Instant::now()), fut.as_mut()).await {
                    return Ok(v);
                }
            }
            self.call_progress(true)?;
            self.check_low_speed()?;
        }
    }

    /// MAX_*_SPEED: waits until `bytes` since the transfer began fit under `limit` bytes per second.
    pub(super) async fn throttle(&self, limit: i64, bytes: i64) {
        if limit <= 0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(bytes as f64 / limit as f64);
        if due > Instant::now() {
            crate::engine::rt::Sleep::until(&self.sh.reactor, due).await;
        }
    }

    pub(super) fn ticking(&self) -> bool {
        self.progress || (self.o.low_speed_limit > 0 && self.o.low_speed_time > 0)
    }

    pub(super) async fn wait_unpaused(&mut self, bit: u32) -> Result<()> {
        loop {
            if self.easy.pause.get() & bit == 0 {
                return Ok(());
            }
            let easy = self.easy.clone();
            let wait = poll_fn(|cx| {
                if easy.pause.get() & bit == 0 {
                    Poll::Ready(())
                } else {
                    *easy.pause_waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            });
            if self.progress {
                // While paused libcurl keeps calling the progress callback (the usual place to unpause).
                let reactor = self.sh.reactor.clone();
                if with_deadline(&reactor, Some(Instant::now() + PAUSED_TICK), wait).await.is_none() {
                    self.call_progress(true)?;
                }
            } else {
                wait.await;
            }
        }
    }

    pub(super) async fn deliver_header(&mut self, line: &[u8]) -> Result<()> {
        self.info.header_size += line.len() as u64;
        match self.cb.header(line) {
            Flow::Continue => {}
            Flow::Pause => {
                self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                self.wait_unpaused(PAUSE_RECV).await?;
                // libcurl does not redeliver header lines after a pause.
            }
            Flow::Abort(e) => return Err(e),
        }
        if self.o.want_header_in_body {
            self.deliver_body(line).await?;
        }
        Ok(())
    }

    /// Hands body bytes to the write callback. When it pauses, the bytes (and any more decoded from
    /// what was already received) are held, as libcurl holds them; they go out when receiving is
    /// unpaused — from inside pause() itself, or by `flush_paused` — and no new socket data is read
    /// meanwhile.
    pub(super) async fn deliver_body(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.info.size_delivered += data.len() as u64;
        if self.easy.pause.get() & PAUSE_RECV != 0 {
            let mut held = self.easy.paused_data.borrow_mut();
            match held.as_mut() {
                Some(h) => h.extend_from_slice(data),
                None => *held = Some(data.to_vec()),
            }
            return Ok(());
        }
        match self.cb.write(data) {
            Flow::Continue => Ok(()),
            Flow::Abort(e) => Err(e),
            Flow::Pause => {
                *self.easy.paused_data.borrow_mut() = Some(data.to_vec());
                self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                Ok(())
            }
        }
    }

    /// Waits until receiving is unpaused and held data has been delivered.
    pub(super) async fn flush_paused(&mut self) -> Result<()> {
        loop {
            if let Some(e) = self.easy.pause_error.borrow_mut().take() {
                return Err(*e);
            }
            let paused = self.easy.pause.get() & PAUSE_RECV != 0;
            let held = self.easy.paused_data.borrow().is_some();
            if !paused && !held {
                return Ok(());
            }
            if paused {
                self.wait_unpaused(PAUSE_RECV).await?;
                // libcurl does not judge a paused transfer's speed: its count restarts on resume.
                if let Some(m) = self.speed.as_mut() {
                    m.restart();
                }
                continue;
            }
            let data = self.easy.paused_data.borrow_mut().take().unwrap();
            match self.cb.write(&data) {
                Flow::Continue => {}
                Flow::Abort(e) => return Err(e),
                Flow::Pause => {
                    *self.easy.paused_data.borrow_mut() = Some(data);
                    self.easy.pause.set(self.easy.pause.get() | PAUSE_RECV);
                }
            }
        }
    }

    /// Delivers body bytes (through the decoder when there is one).
    pub(super) async fn body_bytes(&mut self, data: &[u8], dec: &mut Option<Decoder>) -> Result<()> {
        if self.discarding {
            self.dl_now += data.len() as i64;
            return Ok(());
        }
        self.debug_data(debug_kind::DATA_IN, data);
        match dec {
            Some(d) => {
                d.push(data);
                self.deliver_decoded(d).await?;
                // As in libcurl, a read counts once all its decoded output went out (a transfer
                // coding's output is counted as it goes out instead).
                if !d.counts_output {
                    self.dl_now += data.len() as i64;
                }
            }
            None => {
                // MAXFILESIZE: libcurl delivers up to the limit, then fails.
                let room = if self.o.max_filesize > 0 { (self.o.max_filesize - self.dl_now).max(0) } else { i64::MAX };
                let take = data.len().min(room as usize);
                self.dl_now += take as i64;
                self.deliver_body(&data[..take]).await?;
                if take < data.len() {
                    return Err(Error::new(
                        code::FILESIZE_EXCEEDED,
                        format!(
                            "Exceeded the maximum allowed file size ({}) with {} bytes",
                            self.o.max_filesize, self.dl_now
                        ),
                    ));
                }
            }
        }
        self.easy.info.borrow_mut().size_download = self.dl_now as u64;
        self.call_progress(false)?;
        // MAX_RECV_SPEED: the first byte is free, so 2 bytes at 1 byte/s take a second, as in libcurl.
        self.throttle(self.o.max_recv_speed, self.dl_now - 1).await;
        Ok(())
    }

    /// Delivers decoded output a bounded piece at a time, as libcurl does; MAXFILESIZE applies to
    /// the decoded size, and while receiving is paused no more is decoded.
    pub(super) async fn deliver_decoded(&mut self, d: &mut Decoder) -> Result<()> {
        while let Some(out) = d.pull()? {
            if self.o.max_filesize > 0 && d.total_out() > self.o.max_filesize as u64 {
                return Err(Error::new(code::FILESIZE_EXCEEDED, "Would have exceeded max file size"));
            }
            if d.counts_output {
                self.dl_now += out.len() as i64;
                self.easy.info.borrow_mut().size_download = self.dl_now as u64;
            }
            self.deliver_body(&out).await?;
            if self.easy.pause.get() & PAUSE_RECV != 0 {
                self.flush_paused().await?;
            }
        }
        Ok(())
    }
}

/// libcurl's view of the current speed: the bytes moved (both directions) are sampled at most once
/// per second of the monotonic clock, the last six samples kept; the speed is the bytes over the
/// span from the oldest kept sample to the newest (the average since the start at the first
/// sample). LOW_SPEED judges that speed: under the limit for LOW_SPEED_TIME seconds counted from
/// the first check that found it under, and any check that finds it at or over the limit starts
/// the count afresh.
#[derive(Default)]
pub(super) struct SpeedMeter {
    samples: std::collections::VecDeque<(Instant, i64)>,
    last_sec: Option<u64>,
    current: i64,
    slow_since: Option<Instant>,
}

/// libcurl keeps six samples: five seconds of history.
const SPEED_SAMPLES: usize = 6;

impl SpeedMeter {
    /// Takes a sample if the clock's second changed since the last one; returns the current speed.
    fn sample(&mut self, now: Instant, sec: u64, start: Instant, total: i64) -> i64 {
        if self.last_sec == Some(sec) {
            return self.current;
        }
        self.last_sec = Some(sec);
        if self.samples.len() == SPEED_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((now, total));
        self.current = match self.samples.front() {
            Some(&(t0, b0)) if self.samples.len() > 1 => {
                let ms = now.duration_since(t0).as_millis().max(1) as f64;
                ((total - b0) as f64 * 1000.0 / ms) as i64
            }
            _ => {
                let us = now.duration_since(start).as_micros().max(1) as f64;
                (total as f64 * 1_000_000.0 / us) as i64
            }
        };
        self.current
    }

    /// One check at `now`: true once the speed has stayed under `limit` for `time` seconds.
    fn too_slow(&mut self, now: Instant, sec: u64, start: Instant, total: i64, limit: i64, time: i64) -> bool {
        if self.sample(now, sec, start, total) >= limit {
            self.slow_since = None;
            return false;
        }
        match self.slow_since {
            None => {
                self.slow_since = Some(now);
                false
            }
            Some(t) => now.duration_since(t) >= Duration::from_secs(time as u64),
        }
    }

    /// A resumed transfer starts its low-speed count afresh.
    pub(super) fn restart(&mut self) {
        self.slow_since = None;
    }
}

/// The monotonic clock's whole seconds, which pace libcurl's speed samples (their phase is the
/// process's, not the transfer's, as libcurl's is the system clock's).
fn clock_sec(now: Instant) -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    now.duration_since(*BASE.get_or_init(Instant::now)).as_secs()
}

#[cfg(test)]
mod speed_tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn silence_counts_from_the_first_check() {
        let t0 = Instant::now();
        let mut m = SpeedMeter::default();
        assert!(!m.too_slow(at(t0, 10), 0, t0, 0, 1000, 2));
        assert!(!m.too_slow(at(t0, 1010), 1, t0, 0, 1000, 2));
        assert!(!m.too_slow(at(t0, 2000), 2, t0, 0, 1000, 2));
        assert!(m.too_slow(at(t0, 2010), 2, t0, 0, 1000, 2));
    }

    #[test]
    fn a_burst_counts_while_among_six_samples() {
        let t0 = Instant::now();
        let mut m = SpeedMeter::default();
        assert!(!m.too_slow(at(t0, 0), 0, t0, 0, 1000, 1));
        // The burst arrives before the second sample; then nothing more.
        for s in 1..=5 {
            assert!(!m.too_slow(at(t0, s * 1000), s, t0, 10_000, 1000, 1), "second {s}");
        }
        // The sample before the burst leaves the window: the count begins.
        assert!(!m.too_slow(at(t0, 6000), 6, t0, 10_000, 1000, 1));
        assert!(!m.too_slow(at(t0, 6500), 6, t0, 10_000, 1000, 1));
        assert!(m.too_slow(at(t0, 7000), 7, t0, 10_000, 1000, 1));
    }

    #[test]
    fn one_sample_a_clock_second_and_a_fast_one_restarts_the_count() {
        let t0 = Instant::now();
        let mut m = SpeedMeter::default();
        assert!(!m.too_slow(at(t0, 0), 0, t0, 0, 1000, 2));
        // Same second: no new sample, so the bytes are not seen yet.
        assert!(!m.too_slow(at(t0, 900), 0, t0, 5000, 1000, 2));
        assert_eq!(m.current, 0);
        assert!(!m.too_slow(at(t0, 1000), 1, t0, 5000, 1000, 2));
        assert_eq!(m.current, 5000);
        assert!(m.slow_since.is_none());
        m.restart();
        assert!(m.slow_since.is_none());
    }
}
