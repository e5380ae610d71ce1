//! The node's durable state in one sled directory: consumed assertion ids,
//! daily quota counters, the last good trust list of each domain and the
//! audit chain. The core reaches the stateful parts through its own traits
//! ([`crate::trust::ReplayGuard`]); this module implements them.
//!
//! Trees (DESIGN §9):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `replay` | 32-byte digest of `iss`‖`jti` | remember-until, unix seconds (i64 BE) |
//! | `quota` | `YYYY-MM-DD` (UTC+8) ‖ partner id | count (u64 BE) |
//! | `anchors` | trust domain (`MO`, `CN-GD`) | the signed list, as fetched |
//! | `audit` | `e` ‖ seq, `c` ‖ seq (u64 BE) | event / checkpoint JSON ([`crate::audit`]) |
//! | `meta` | `format` | [`FORMAT`] |
//!
//! Nothing here takes an assertion, a licence or a value about a person:
//! keys are digests and ids, and the audit chain checks its own fields.
//!
//! All of it is per node. Several replicas behind a load balancer each keep
//! their own replay window and quota counters until shared state exists
//! (DESIGN §11): a partner can draw its daily quota once per node, and an
//! assertion replayed to another node is caught only by its short lifetime.
//!
//! One process at a time: sled locks the directory, and so does the
//! `bridge.lock` file taken here first, so that a command run next to a
//! live server is told so ([`StoreError::InUse`]) instead of getting sled's
//! raw lock error.

mod anchors;
mod quota;
mod replay;

pub use anchors::AnchorCache;
pub use quota::{DailyQuotas, QuotaError, QuotaExceeded, day_utc8};
pub use replay::SledReplayGuard;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The layout version written into `meta`; a store of another layout is
/// refused rather than misread.
pub const FORMAT: &str = "hengqin-bridge-store/1";

/// sled's page cache bound (its default is 1 GiB).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

const LOCK_FILE: &str = "bridge.lock";
/// How often a busy lock is looked at again, and how many times: half a
/// second for `bridge.lock`, two for sled's and for its release.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(20);
const LOCK_TRIES: u32 = 25;
const SLED_LOCK_TRIES: u32 = 100;
const RELEASE_TRIES: u32 = 100;
const TREES: [&str; 5] = ["replay", "quota", "anchors", "audit", "meta"];

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {} is in use by a running server", .0.display())]
    InUse(PathBuf),
    #[error("there is no store at {}", .0.display())]
    Missing(PathBuf),
    #[error("the store at {} has layout {found:?}, this build reads {FORMAT:?}", .path.display())]
    Format { path: PathBuf, found: String },
    #[error("the store at {}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
}

/// An open store. Clones share the same database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    replay: sled::Tree,
    quota: sled::Tree,
    anchors: sled::Tree,
    audit: sled::Tree,
    /// Set while an [`crate::audit::AuditLog`] writes the chain: two
    /// writers would fork it.
    audit_writer: AtomicBool,
    /// Held for the life of the store; declared last, so it is released
    /// after sled's handles are gone.
    _lock: DirLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `path`, creating it if missing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| io_error(path, "creating the directory", e))?;
        Store::open_dir(path)
    }

    /// Opens an existing store; for commands that read one and must not
    /// leave an empty store behind when pointed at the wrong place.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.join("db").is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        Store::open_dir(path)
    }

    fn open_dir(path: &Path) -> Result<Store, StoreError> {
        let lock = lock(path)?;
        let db = open_sled(path)?;
        let [replay, quota, anchors, audit, meta] = TREES.map(|t| db.open_tree(t));
        let meta = meta?;
        match meta.get("format")? {
            None => {
                meta.insert("format", FORMAT)?;
                db.flush()?;
            }
            Some(v) if v.as_ref() == FORMAT.as_bytes() => {}
            Some(v) => {
                return Err(StoreError::Format {
                    path: path.to_path_buf(),
                    found: String::from_utf8_lossy(&v).into_owned(),
                });
            }
        }
        let inner = Inner {
            path: path.to_path_buf(),
            replay: replay?,
            quota: quota?,
            anchors: anchors?,
            audit: audit?,
            db,
            audit_writer: AtomicBool::new(false),
            _lock: DirLock { file: lock, db_file: path.join("db") },
        };
        Ok(Store { inner: Arc::new(inner) })
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A replay guard remembering at most `max_entries` unexpired ids.
    /// Counts the stored ids once; make one guard per store.
    pub fn replay_guard(&self, max_entries: usize) -> SledReplayGuard {
        SledReplayGuard::new(self.clone(), max_entries)
    }

    /// The daily quota counters.
    pub fn quotas(&self) -> DailyQuotas {
        DailyQuotas::new(self.clone())
    }

    /// The last good trust list of each domain.
    pub fn anchors(&self) -> AnchorCache {
        AnchorCache::new(self.clone())
    }

    /// Writes everything buffered to the log file and waits for it
    /// (`sync_file_range`: see [`crate::audit`] on what a power cut can
    /// still lose).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    pub(crate) fn db(&self) -> &sled::Db {
        &self.inner.db
    }

    pub(crate) fn replay_tree(&self) -> &sled::Tree {
        &self.inner.replay
    }

    pub(crate) fn quota_tree(&self) -> &sled::Tree {
        &self.inner.quota
    }

    pub(crate) fn anchors_tree(&self) -> &sled::Tree {
        &self.inner.anchors
    }

    pub(crate) fn audit_tree(&self) -> &sled::Tree {
        &self.inner.audit
    }

    /// Claims the single audit writer slot; `false` when taken.
    pub(crate) fn claim_audit_writer(&self) -> bool {
        !self.inner.audit_writer.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn release_audit_writer(&self) {
        self.inner.audit_writer.store(false, Ordering::Release);
    }
}

/// Opens sled once `bridge.lock` is held. sled's own lock can still be
/// busy then for a moment: a database of this process that was just
/// dropped finishes its background writes first. Past the wait, whoever
/// holds it is not cooperating, and the store counts as in use.
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    for _ in 0..SLED_LOCK_TRIES {
        match sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open() {
            Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                std::thread::sleep(LOCK_POLL);
            }
            other => return Ok(other?),
        }
    }
    Err(StoreError::InUse(path.to_path_buf()))
}

/// `bridge.lock`, held while the store is open.
///
/// sled hands some of its structures, the log file among them, to
/// epoch-based reclamation when the database is dropped: the file (and
/// with it sled's lock) is closed only once some thread of the process
/// next passes through an epoch. In a process that touches sled no more,
/// that can be never, and a command started next would find the store
/// locked. So on release this collects that garbage and waits (bounded)
/// until sled's lock is really gone before letting go of its own.
struct DirLock {
    file: File,
    db_file: PathBuf,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        for _ in 0..RELEASE_TRIES {
            for _ in 0..3 {
                crossbeam_epoch::pin().flush();
            }
            // A db file that cannot be opened holds no lock to wait for.
            let free = OpenOptions::new().write(true).open(&self.db_file).map_or(true, |f| f.try_lock().is_ok());
            if free {
                break;
            }
            std::thread::sleep(LOCK_POLL);
        }
        let _ = self.file.unlock();
    }
}

/// Takes `bridge.lock`. A lock that is busy for a moment is waited for:
/// a process starting another program copies its open files into the
/// child until the child's `exec`, so a store closed a moment ago can
/// still look held.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(dir, "opening the lock file", e))?;
    for _ in 0..LOCK_TRIES {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => std::thread::sleep(LOCK_POLL),
            Err(TryLockError::Error(e)) => return Err(io_error(dir, "locking", e)),
        }
    }
    Err(StoreError::InUse(dir.to_path_buf()))
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io { path: path.to_path_buf(), message: format!("{what}: {e}") }
}
