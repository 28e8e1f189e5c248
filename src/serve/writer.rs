//! The observation log's writer: one thread owns the log; requests hand it
//! records and wait for the fsync. Whatever queued up while the previous
//! batch was being synced goes out in the next write with one fsync (group
//! commit), so many concurrent observers share the cost of a sync.

use crate::adapter::{LogRecord, ObservationLog};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

const STOPPED: &str = "the observation log writer has stopped";

/// Most records written with one fsync.
const MAX_GROUP: usize = 8192;

type Reply = oneshot::Sender<Result<u64, String>>;

struct Job {
    records: Vec<LogRecord>,
    reply: Reply,
}

/// A handle to the writer thread. Dropping every handle stops the thread
/// after it has written what was queued.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::SyncSender<Job>,
}

impl LogWriter {
    /// Start the writer thread; `on_len` sees the log's size after each batch.
    pub fn start(
        mut log: ObservationLog,
        on_len: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> (LogWriter, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        let t = std::thread::Builder::new()
            .name("janus-log".into())
            .spawn(move || {
                on_len(log.len());
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut n = jobs[0].records.len();
                    while n < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => {
                                n += j.records.len();
                                jobs.push(j);
                            }
                            Err(_) => break,
                        }
                    }
                    let records: Vec<LogRecord> =
                        jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.records)).collect();
                    let result = log.append(&records).map(|_| log.len()).map_err(|e| e.to_string());
                    if let Ok(len) = result {
                        on_len(len);
                    }
                    for j in jobs {
                        // The requester may have gone (timeout): it was not acknowledged then.
                        let _ = j.reply.send(result.clone());
                    }
                }
            })
            .expect("spawning the log writer thread");
        (LogWriter { tx }, t)
    }

    /// Append `records` durably; returns once they are fsynced (or failed).
    pub async fn append(&self, records: Vec<LogRecord>) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job { records, reply }) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                // A full queue blocks: wait for room off the async workers.
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(job))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|_| STOPPED.to_string())?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(STOPPED.into()),
        }
        rx.await.map_err(|_| STOPPED.to_string())?.map(|_| ())
    }

    /// Blocking append, for start-up (before the async runtime serves).
    pub fn append_blocking(&self, records: Vec<LogRecord>) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job { records, reply }).map_err(|_| STOPPED.to_string())?;
        rx.blocking_recv().map_err(|_| STOPPED.to_string())?.map(|_| ())
    }
}
