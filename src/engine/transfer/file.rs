//! file:// URLs: read a file or list a directory (with libcurl's fake headers), or write an upload.

use super::*;
use crate::engine::easy::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::url::Url;

impl Xfer {
    pub(super) async fn run_file(&mut self, url: &Url) -> Result<()> {
        let path = file_path_of(&url.path);
        self.info.namelookup_time = elapsed(self.start);
        self.info.connect_time = self.info.namelookup_time;
        self.info.pretransfer_time = self.info.namelookup_time;
        if self.o.upload {
            return self.file_upload(&path).await;
        }
        let meta = std::fs::metadata(&path)
            .map_err(|_| Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display())))?;
        if meta.is_dir() {
            // libcurl lists the directory's entries, one name a line.
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .map_err(|_| {
                    Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            names.sort();
            let mut listing = Vec::new();
            for n in names {
                listing.extend_from_slice(n.as_bytes());
                listing.push(b'\n');
            }
            self.info.starttransfer_time = elapsed(self.start);
            self.dl_now += listing.len() as i64;
            self.deliver_body(&listing).await?;
            return self.flush_paused().await;
        }
        let data = std::fs::read(&path)
            .map_err(|_| Error::new(code::FILE_COULDNT_READ_FILE, format!("Could not open file {}", path.display())))?;
        let size = data.len() as u64;
        let mtime =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs() as i64);
        self.info.filetime = mtime.unwrap_or(-1);
        // The byte range: RANGE "a-b" / "a-" / "-n", or RESUME_FROM.
        let (mut from, mut to) = (0u64, size);
        if let Some(r) = &self.o.range {
            let (a, b) = r.split_once('-').unwrap_or((r.as_str(), ""));
            match (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok()) {
                (Some(a), Some(b)) => (from, to) = (a, (b + 1).min(size)),
                (Some(a), None) => from = a,
                (None, Some(n)) => from = size.saturating_sub(n),
                (None, None) => {}
            }
        } else if self.o.resume_from > 0 {
            from = self.o.resume_from as u64;
        }
        if from > size {
            return Err(Error::new(code::BAD_DOWNLOAD_RESUME, "failed to resume file:// transfer"));
        }
        let to = to.max(from);
        let len = to - from;
        self.dl_total = len as i64;
        self.info.content_length_download = len as f64;
        let mut hdr = format!("Content-Length: {len}\r\nAccept-ranges: bytes\r\n");
        if let Some(t) = mtime {
            hdr.push_str(&format!("Last-Modified: {}\r\n", crate::engine::date::http_date(t)));
        }
        hdr.push_str("\r\n");
        for line in hdr.split_inclusive('\n') {
            self.deliver_header(line.as_bytes()).await?;
        }
        if self.o.nobody {
            return Ok(());
        }
        self.info.starttransfer_time = elapsed(self.start);
        for chunk in data[from as usize..to as usize].chunks(self.o.buffer_size.max(1024)) {
            self.dl_now += chunk.len() as i64;
            self.deliver_body(chunk).await?;
            self.flush_paused().await?;
            self.call_progress(false)?;
        }
        Ok(())
    }

    async fn file_upload(&mut self, path: &std::path::Path) -> Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(path)
            .map_err(|_| Error::new(code::WRITE_ERROR, format!("cannot open {} for writing", path.display())))?;
        let mut buf = vec![0u8; self.o.buffer_size.max(16384)];
        let limit = (self.o.in_size >= 0).then_some(self.o.in_size as u64);
        let mut sent = 0u64;
        loop {
            let n = self.upload_chunk(&mut buf, limit, sent, "a file://")?;
            if n == 0 {
                break;
            }
            f.write_all(&buf[..n])
                .map_err(|_| Error::new(code::WRITE_ERROR, format!("cannot write to {}", path.display())))?;
            sent += n as u64;
            self.ul_now += n as i64;
            self.call_progress(false)?;
        }
        Ok(())
    }

    /// The next piece of a streamed upload from READFUNCTION: up to the buffer or what INFILESIZE
    /// leaves after `sent`; 0 at the end. A pause is refused for uploads that cannot hold one.
    pub(super) fn upload_chunk(&mut self, buf: &mut [u8], limit: Option<u64>, sent: u64, what: &str) -> Result<usize> {
        let want = match limit {
            Some(l) if sent >= l => return Ok(0),
            Some(l) => ((l - sent) as usize).min(buf.len()),
            None => buf.len(),
        };
        match self.cb.read(&mut buf[..want]) {
            ReadOutcome::Data(n) => Ok(n),
            ReadOutcome::Pause => Err(Error::new(code::READ_ERROR, format!("pausing {what} upload is not supported"))),
            ReadOutcome::Abort(e) => Err(e),
        }
    }
}
