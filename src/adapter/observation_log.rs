//! The durable side of online profiling: an append-only log of observations
//! (JSON lines) in a data folder. A batch is written and fsynced before any
//! of its observations is acknowledged, so a restart loses nothing that was
//! acknowledged. Replaying the log rebuilds the observation windows.
//!
//! Every observation names the *generation* of its workflow's hint set (one
//! per swap); a `hints` record marks a generation coming into force. After a
//! restart only the observations of the generation in force fill the
//! windows, as they would have without the restart.
//!
//! A crash can tear the last line (a partial write); it is skipped with a
//! warning and cut off, so the next append starts on a clean line. The log is
//! compacted (rewritten atomically with only the windows of each workflow's
//! latest generation) when it grows past a size limit.

use super::durable_file::{is_symlink_refusal, open_nofollow, sync_dir, write_atomic};
use crate::model::Size;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const LOG_FILE: &str = "observations.log";

#[derive(Debug, Error)]
pub enum LogError {
    #[error("observation log {path}: {op}: {source}")]
    Io { path: PathBuf, op: &'static str, source: io::Error },
    #[error("observation log {path} is a symlink: refusing to follow it out of the data folder")]
    Symlink { path: PathBuf },
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum LogRecord {
    /// Generation `g` of workflow `wf`'s hints (SHA-256 `digest` of their
    /// compact JSON) came into force.
    Hints { wf: String, g: u64, digest: String },
    /// One observed latency under generation `g` of `wf`'s hints.
    Obs {
        wf: String,
        g: u64,
        #[serde(rename = "fn")]
        function: String,
        cpu: u32,
        mem: u32,
        class: Option<usize>,
        ms: f64,
    },
}

/// A window's key: (function, size, input class).
pub type WindowKey = (String, Size, Option<usize>);

/// What a log holds, bounded: the last `window` latencies per key.
#[derive(Debug, Default)]
pub struct Replay {
    /// Per workflow: the generation and digest of its latest `hints` record.
    pub latest: BTreeMap<String, (u64, String)>,
    /// Per (workflow, generation): the windows of its observations.
    pub windows: BTreeMap<(String, u64), BTreeMap<WindowKey, VecDeque<f64>>>,
    /// Lines read, torn or corrupt ones included.
    pub lines: u64,
    /// What was skipped and why, for the operator.
    pub warnings: Vec<String>,
}

impl Replay {
    fn apply(&mut self, rec: LogRecord, window: usize) {
        match rec {
            LogRecord::Hints { wf, g, digest } => {
                self.latest.insert(wf, (g, digest));
            }
            LogRecord::Obs { wf, g, function, cpu, mem, class, ms } => {
                let w =
                    self.windows.entry((wf, g)).or_default().entry((function, Size::new(cpu, mem), class)).or_default();
                if w.len() == window {
                    w.pop_front();
                }
                w.push_back(ms);
            }
        }
    }

    /// The windows of one workflow's generation (empty if none were logged).
    pub fn take_windows(&mut self, wf: &str, g: u64) -> BTreeMap<WindowKey, VecDeque<f64>> {
        self.windows.remove(&(wf.to_string(), g)).unwrap_or_default()
    }
}

/// The open log: appends batches durably, compacts itself when large.
#[derive(Debug)]
pub struct ObservationLog {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    len: u64,
    window: usize,
    /// Compact when the file grows past this many bytes.
    compact_at: u64,
    limit: u64,
}

impl ObservationLog {
    /// Open (or create) the log in `dir`, replay it with windows of
    /// `window` latencies, and cut off a torn last line. The log is compacted
    /// once it exceeds `compact_at` bytes.
    pub fn open(dir: &Path, window: usize, compact_at: u64) -> Result<(ObservationLog, Replay), LogError> {
        let path = dir.join(LOG_FILE);
        let existed = path.symlink_metadata().is_ok();
        let file = Self::open_file(&path)?;
        if !existed {
            sync_dir(dir).map_err(|source| LogError::Io { path: dir.to_path_buf(), op: "sync folder", source })?;
        }
        let window = window.max(1);
        let (replay, good_len) = Self::read(&path, &file, window)?;
        let io = |op, source| LogError::Io { path: path.clone(), op, source };
        let len = file.metadata().map_err(|e| io("stat", e))?.len();
        if good_len < len {
            file.set_len(good_len).map_err(|e| io("truncate the torn last line", e))?;
            file.sync_all().map_err(|e| io("fsync", e))?;
        }
        let mut log =
            ObservationLog { dir: dir.to_path_buf(), path, file, len: good_len, window, compact_at, limit: compact_at };
        if log.len > log.limit {
            log.compact()?;
        }
        Ok((log, replay))
    }

    fn open_file(path: &Path) -> Result<File, LogError> {
        open_nofollow(path, OpenOptions::new().read(true).append(true).create(true)).map_err(|source| {
            if is_symlink_refusal(&source) {
                LogError::Symlink { path: path.to_path_buf() }
            } else {
                LogError::Io { path: path.to_path_buf(), op: "open", source }
            }
        })
    }

    /// Replay the log; returns the length of its well-formed prefix (the
    /// file minus a torn last line).
    fn read(path: &Path, file: &File, window: usize) -> Result<(Replay, u64), LogError> {
        let io = |source| LogError::Io { path: path.to_path_buf(), op: "read", source };
        let mut replay = Replay::default();
        // A clone shares the file offset: rewind it (appends go to the end regardless).
        let mut f = file.try_clone().map_err(io)?;
        f.rewind().map_err(io)?;
        let mut reader = BufReader::with_capacity(1 << 16, f);
        let mut line = Vec::new();
        let mut good_len = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            replay.lines += 1;
            if line.last() != Some(&b'\n') {
                replay.warnings.push(format!(
                    "{}: line {} is torn ({} bytes without an end, from an interrupted write): skipped",
                    path.display(),
                    replay.lines,
                    n
                ));
                break;
            }
            good_len += n as u64;
            match serde_json::from_slice::<LogRecord>(&line) {
                Ok(rec) => replay.apply(rec, window),
                Err(e) => replay.warnings.push(format!(
                    "{}: line {} is not a valid record ({e}): skipped",
                    path.display(),
                    replay.lines
                )),
            }
        }
        Ok((replay, good_len))
    }

    /// Append `records` and fsync before returning: once this returns, they
    /// survive a crash. One write and one fsync per batch (group commit).
    pub fn append(&mut self, records: &[LogRecord]) -> Result<(), LogError> {
        let mut buf = Vec::with_capacity(records.len() * 96);
        for r in records {
            serde_json::to_writer(&mut buf, r).expect("a log record always serializes");
            buf.push(b'\n');
        }
        let io = |op, source| LogError::Io { path: self.path.clone(), op, source };
        self.file.write_all(&buf).map_err(|e| io("append", e))?;
        self.file.sync_data().map_err(|e| io("fsync", e))?;
        self.len += buf.len() as u64;
        if self.len > self.limit {
            self.compact()?;
        }
        Ok(())
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rewrite the log with only each workflow's latest `hints` record and
    /// the windows of that generation; atomic (a crash leaves the old or the
    /// new log, never a mix).
    pub fn compact(&mut self) -> Result<(), LogError> {
        let (mut replay, _) = Self::read(&self.path, &self.file, self.window)?;
        let mut buf = Vec::new();
        for (wf, (g, digest)) in std::mem::take(&mut replay.latest) {
            let hints = LogRecord::Hints { wf: wf.clone(), g, digest };
            serde_json::to_writer(&mut buf, &hints).expect("serializes");
            buf.push(b'\n');
            for ((function, size, class), w) in replay.take_windows(&wf, g) {
                for ms in w {
                    let r = LogRecord::Obs {
                        wf: wf.clone(),
                        g,
                        function: function.clone(),
                        cpu: size.cpu_millis,
                        mem: size.memory_mib,
                        class,
                        ms,
                    };
                    serde_json::to_writer(&mut buf, &r).expect("serializes");
                    buf.push(b'\n');
                }
            }
        }
        write_atomic(&self.dir, LOG_FILE, &buf).map_err(|source| LogError::Io {
            path: self.path.clone(),
            op: "compact",
            source,
        })?;
        self.file = Self::open_file(&self.path)?;
        self.len = buf.len() as u64;
        // Windows alone may exceed the limit: compact again only after as much growth.
        self.limit = self.compact_at.max(2 * self.len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(g: u64, ms: f64) -> LogRecord {
        LogRecord::Obs { wf: "w".into(), g, function: "f".into(), cpu: 1000, mem: 512, class: Some(1), ms }
    }
    fn hints(g: u64) -> LogRecord {
        LogRecord::Hints { wf: "w".into(), g, digest: format!("d{g}") }
    }
    const KEY: fn() -> WindowKey = || ("f".to_string(), Size::new(1000, 512), Some(1));

    #[test]
    fn what_was_appended_is_replayed_per_generation() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, r) = ObservationLog::open(d.path(), 3, 1 << 20).unwrap();
        assert!(r.latest.is_empty() && log.is_empty());
        log.append(&[hints(1), obs(1, 1.0), obs(1, 2.0)]).unwrap();
        log.append(&[hints(2), obs(2, 3.0), obs(1, 9.0)]).unwrap();
        for x in 4..10 {
            log.append(&[obs(2, f64::from(x))]).unwrap();
        }
        drop(log);
        let (_, mut r) = ObservationLog::open(d.path(), 3, 1 << 20).unwrap();
        assert_eq!(r.latest["w"], (2, "d2".to_string()));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.take_windows("w", 1)[&KEY()], [1.0, 2.0, 9.0]);
        assert_eq!(r.take_windows("w", 2)[&KEY()], [7.0, 8.0, 9.0], "bounded to the window");
    }

    #[test]
    fn a_torn_last_line_is_skipped_with_a_warning_and_cut_off() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ObservationLog::open(d.path(), 10, 1 << 20).unwrap();
        log.append(&[hints(1), obs(1, 1.0)]).unwrap();
        drop(log);
        let path = d.path().join(LOG_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"k":"obs","wf":"w","g":1,"fn":"f","cpu":10"#).unwrap();
        drop(f);
        let (mut log, mut r) = ObservationLog::open(d.path(), 10, 1 << 20).unwrap();
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("line 3 is torn"), "{}", r.warnings[0]);
        assert_eq!(r.take_windows("w", 1)[&KEY()], [1.0]);
        // The next append starts on a clean line.
        log.append(&[obs(1, 2.0)]).unwrap();
        drop(log);
        let (_, mut r) = ObservationLog::open(d.path(), 10, 1 << 20).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.take_windows("w", 1)[&KEY()], [1.0, 2.0]);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_skipped_and_named() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(LOG_FILE);
        let good = serde_json::to_string(&obs(1, 5.0)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let (_, mut r) = ObservationLog::open(d.path(), 10, 1 << 20).unwrap();
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("line 2 is not a valid record"), "{}", r.warnings[0]);
        assert_eq!(r.take_windows("w", 1)[&KEY()], [5.0, 5.0]);
    }

    #[test]
    fn compaction_keeps_only_the_latest_generation_and_stays_bounded() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ObservationLog::open(d.path(), 4, 2_000).unwrap();
        log.append(&[hints(1)]).unwrap();
        for x in 0..20 {
            log.append(&[obs(1, f64::from(x))]).unwrap();
        }
        log.append(&[hints(2)]).unwrap();
        for x in 0..100 {
            log.append(&[obs(2, f64::from(x))]).unwrap();
        }
        assert!(log.len() < 4_000, "compacted: {} bytes", log.len());
        drop(log);
        let (_, mut r) = ObservationLog::open(d.path(), 4, 2_000).unwrap();
        assert_eq!(r.latest["w"].0, 2);
        assert!(r.take_windows("w", 1).is_empty(), "old generation dropped");
        assert_eq!(r.take_windows("w", 2)[&KEY()], [96.0, 97.0, 98.0, 99.0]);
    }

    #[test]
    fn a_symlinked_log_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("x"), d.path().join(LOG_FILE)).unwrap();
        assert!(matches!(ObservationLog::open(d.path(), 4, 1 << 20), Err(LogError::Symlink { .. })));
        assert!(!outside.path().join("x").exists());
    }
}
