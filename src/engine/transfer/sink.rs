//! Delivery to the application: header and body callbacks, pause and unpause (held data), the
//! progress callback, LOW_SPEED checks, MAX_RECV/SEND_SPEED throttling, and the VERBOSE trace.

use std::future::poll_fn;
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

    pub(super) fn check_low_speed(&mut self) -> Result<()> {
        if self.o.low_speed_limit <= 0 || self.o.low_speed_time <= 0 {
            return Ok(());
        }
        let now = Instant::now();
        let (t0, b0) = self.speed_window;
        let total = self.dl_now + self.ul_now;
        let span = now.duration_since(t0);
        if span >= Duration::from_secs(self.o.low_speed_time as u64) {
            let rate = (total - b0) as f64 / span.as_secs_f64();
            if rate < self.o.low_speed_limit as f64 {
                return Err(Error::new(
                    code::OPERATION_TIMEDOUT,
                    format!(
                        "Operation too slow. Less than {} bytes/sec transferred the last {} seconds",
                        self.o.low_speed_limit, self.o.low_speed_time
                    ),
                ));
            }
            self.speed_window = (now, total);
        }
        Ok(())
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
                return Err(e);
            }
            let paused = self.easy.pause.get() & PAUSE_RECV != 0;
            let held = self.easy.paused_data.borrow().is_some();
            if !paused && !held {
                // libcurl restarts the low-speed window when a paused transfer resumes.
                self.speed_window = (Instant::now(), self.dl_now + self.ul_now);
                return Ok(());
            }
            if paused {
                self.wait_unpaused(PAUSE_RECV).await?;
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
