//! The chain's single writer. Requests hand their events to one thread
//! through a bounded queue; it takes whatever has queued up, chains it,
//! writes it as one sled batch, flushes, and only then answers every
//! caller in the batch (group commit). Under load one flush serves many
//! requests; alone, a request pays for one flush.
//!
//! A flush that fails leaves the log failed: every later append is refused,
//! because answering requests whose events may not be durable is what the
//! audit chain exists to prevent.

use super::checkpoint::Checkpoint;
use super::event::{AuditEvent, AuditRecord, GENESIS_HASH};
use super::keys::{self, CHECKPOINT_PREFIX, EVENT_PREFIX};
use super::ticket::{self, AppendTicket, Reply};
use super::{Appended, AuditError};
use crate::signing::Signer;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use time::OffsetDateTime;

/// Bounds and cadence of the writer.
#[derive(Debug, Clone, Copy)]
pub struct AuditOptions {
    /// Events waiting for the writer; past it appends are refused
    /// ([`AuditError::Overloaded`]).
    pub queue: usize,
    /// Most events written under one flush.
    pub max_batch: usize,
    /// A checkpoint is signed once this many events have been written
    /// since the last one (at the end of the batch that crosses it), and
    /// on shutdown.
    pub checkpoint_every: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions { queue: 4096, max_batch: 512, checkpoint_every: 1000 }
    }
}

/// Counters of the writer, read by metrics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Events made durable since open.
    pub events: u64,
    /// Flushes (one per batch) since open.
    pub flushes: u64,
    /// The largest batch written under one flush.
    pub largest_batch: u64,
    pub checkpoints: u64,
    /// Checkpoints that could not be signed (retried with the next batch).
    pub checkpoint_failures: u64,
    /// The sequence number of the last durable event.
    pub head: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    flushes: AtomicU64,
    largest_batch: AtomicU64,
    checkpoints: AtomicU64,
    checkpoint_failures: AtomicU64,
    head: AtomicU64,
}

struct Job {
    event: AuditEvent,
    reply: Reply,
}

/// The append side of the audit chain. One per store.
pub struct AuditLog {
    queue: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<Result<(), AuditError>>>,
    counters: Arc<Counters>,
    store: Store,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("store", &self.store).field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer after the chain's last event. Refuses a second
    /// log on the same store, and a chain whose last event does not read.
    pub fn open(store: &Store, signer: Arc<dyn Signer>, options: AuditOptions) -> Result<AuditLog, AuditError> {
        if !store.claim_audit_writer() {
            return Err(AuditError::WriterOpen);
        }
        let started = Writer::resume(store.clone(), signer, options).and_then(|writer| {
            let counters = writer.counters.clone();
            let (tx, rx) = std::sync::mpsc::sync_channel(options.queue.max(1));
            let handle = std::thread::Builder::new()
                .name("audit-writer".into())
                .spawn(move || writer.run(rx))
                .map_err(|e| AuditError::Unavailable(format!("starting the audit writer: {e}")))?;
            Ok((tx, handle, counters))
        });
        match started {
            Ok((tx, handle, counters)) => {
                Ok(AuditLog { queue: Some(tx), writer: Some(handle), counters, store: store.clone() })
            }
            Err(e) => {
                store.release_audit_writer();
                Err(e)
            }
        }
    }

    /// Queues `event`; the ticket resolves once it is durable. Refuses at
    /// once an event that could carry more than it should, and when the
    /// queue is full.
    pub fn append(&self, event: AuditEvent) -> Result<AppendTicket, AuditError> {
        event.check()?;
        let queue = self.queue.as_ref().ok_or(AuditError::Closed)?;
        let (ticket, reply) = ticket::pair();
        match queue.try_send(Job { event, reply }) {
            Ok(()) => Ok(ticket),
            Err(TrySendError::Full(_)) => Err(AuditError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(AuditError::Closed),
        }
    }

    /// [`Self::append`], then waits for the flush.
    pub fn append_blocking(&self, event: AuditEvent) -> Result<Appended, AuditError> {
        self.append(event)?.wait()
    }

    pub fn stats(&self) -> AuditStats {
        let c = &self.counters;
        AuditStats {
            events: c.events.load(Ordering::Acquire),
            flushes: c.flushes.load(Ordering::Acquire),
            largest_batch: c.largest_batch.load(Ordering::Acquire),
            checkpoints: c.checkpoints.load(Ordering::Acquire),
            checkpoint_failures: c.checkpoint_failures.load(Ordering::Acquire),
            head: c.head.load(Ordering::Acquire),
        }
    }

    /// Writes what is queued, signs a final checkpoint and flushes.
    pub fn close(mut self) -> Result<(), AuditError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), AuditError> {
        drop(self.queue.take());
        let Some(writer) = self.writer.take() else { return Ok(()) };
        let result = writer.join().unwrap_or_else(|_| Err(AuditError::Unavailable("the audit writer panicked".into())));
        self.store.release_audit_writer();
        result
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

struct Writer {
    store: Store,
    signer: Arc<dyn Signer>,
    options: AuditOptions,
    seq: u64,
    hash: String,
    checkpointed: u64,
    failed: Option<String>,
    counters: Arc<Counters>,
}

impl Writer {
    fn resume(store: Store, signer: Arc<dyn Signer>, options: AuditOptions) -> Result<Writer, AuditError> {
        let tree = store.audit_tree();
        let (seq, hash) = match keys::last(tree, EVENT_PREFIX)? {
            None => (0, GENESIS_HASH.to_owned()),
            Some((seq, bytes)) => {
                let record: AuditRecord =
                    serde_json::from_slice(&bytes).map_err(|_| AuditError::Corrupt { seq: Some(seq) })?;
                if record.seq != seq {
                    return Err(AuditError::Corrupt { seq: Some(seq) });
                }
                (seq, record.hash)
            }
        };
        let checkpointed = keys::last(tree, CHECKPOINT_PREFIX)?.map_or(0, |(s, _)| s);
        let counters = Arc::new(Counters::default());
        counters.head.store(seq, Ordering::Release);
        Ok(Writer { store, signer, options, seq, hash, checkpointed, failed: None, counters })
    }

    fn run(mut self, rx: Receiver<Job>) -> Result<(), AuditError> {
        let max = self.options.max_batch.max(1);
        while let Ok(first) = rx.recv() {
            let mut jobs = Vec::with_capacity(max.min(64));
            jobs.push(first);
            while jobs.len() < max {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit(jobs);
        }
        self.final_checkpoint()
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        if let Some(why) = &self.failed {
            for job in jobs {
                job.reply.send(Err(AuditError::Unavailable(why.clone())));
            }
            return;
        }
        let mut batch = sled::Batch::default();
        let (mut seq, mut hash) = (self.seq, self.hash.clone());
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            let chained = job.event.chain(seq + 1, &hash).and_then(|r| {
                let bytes = serde_json::to_vec(&r).map_err(|e| AuditError::Encoding(e.to_string()))?;
                Ok((r.hash, bytes))
            });
            match chained {
                Ok((h, bytes)) => {
                    seq += 1;
                    batch.insert(keys::event(seq).to_vec(), bytes);
                    answers.push((job.reply, Ok(Appended { seq, hash: h.clone() })));
                    hash = h;
                }
                Err(e) => answers.push((job.reply, Err(e))),
            }
        }
        let written = seq - self.seq;
        let checkpoint = if seq - self.checkpointed >= self.options.checkpoint_every.max(1) {
            self.checkpoint(&mut batch, seq, &hash)
        } else {
            None
        };
        let durable = self.store.audit_tree().apply_batch(batch).and_then(|()| self.store.db().flush());
        if let Err(e) = durable {
            let why = format!("writing the audit chain: {e}");
            for (reply, _) in answers {
                reply.send(Err(AuditError::Unavailable(why.clone())));
            }
            self.failed = Some(why);
            return;
        }
        (self.seq, self.hash) = (seq, hash);
        if let Some(at) = checkpoint {
            self.checkpointed = at;
            self.counters.checkpoints.fetch_add(1, Ordering::AcqRel);
        }
        let c = &self.counters;
        c.events.fetch_add(written, Ordering::AcqRel);
        c.flushes.fetch_add(1, Ordering::AcqRel);
        c.largest_batch.fetch_max(written, Ordering::AcqRel);
        c.head.store(seq, Ordering::Release);
        for (reply, answer) in answers {
            reply.send(answer);
        }
    }

    /// Adds a checkpoint at `(seq, hash)` to `batch`; `None` when it could
    /// not be signed (the next batch tries again).
    fn checkpoint(&self, batch: &mut sled::Batch, seq: u64, hash: &str) -> Option<u64> {
        let signed = Checkpoint::sign(&*self.signer, seq, hash, OffsetDateTime::now_utc())
            .and_then(|c| serde_json::to_vec(&c).map_err(|e| AuditError::Encoding(e.to_string())));
        match signed {
            Ok(bytes) => {
                batch.insert(keys::checkpoint(seq).to_vec(), bytes);
                Some(seq)
            }
            Err(_) => {
                self.counters.checkpoint_failures.fetch_add(1, Ordering::AcqRel);
                None
            }
        }
    }

    fn final_checkpoint(mut self) -> Result<(), AuditError> {
        if let Some(why) = self.failed.take() {
            return Err(AuditError::Unavailable(why));
        }
        if self.seq > self.checkpointed {
            let mut batch = sled::Batch::default();
            let (seq, hash) = (self.seq, self.hash.clone());
            self.checkpoint(&mut batch, seq, &hash).ok_or_else(|| AuditError::Signing("final checkpoint".into()))?;
            self.store.audit_tree().apply_batch(batch)?;
            self.counters.checkpoints.fetch_add(1, Ordering::AcqRel);
        }
        self.store.db().flush()?;
        Ok(())
    }
}
