//! The audit writer: concurrent appends, group commit, durability across
//! a reopen and a killed process, the bounded queue, the async form, and
//! the store's directory being free once the log and store are closed.

use crate::audit_support::*;
use hengqin_bridge::audit::{self, AppendTicket, AuditError, AuditLog, AuditOptions};
use hengqin_bridge::signing::{Signer, SigningError};
use hengqin_bridge::store::Store;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

#[test]
fn a_hundred_events_from_several_threads_form_one_valid_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(10)).unwrap();
    let mut seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u32)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..25).map(|i| log.append_blocking(permit(t * 100 + i)).unwrap().seq).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    let stats = log.stats();
    assert_eq!((stats.events, stats.head), (100, 100));
    assert!(stats.flushes <= 100 && stats.checkpoints >= 1, "{stats:?}");
    log.close().unwrap();

    let report = audit::verify(&store, &any_signer).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.events, 100);
    assert_eq!(report.first_bad, None);
    assert_eq!(report.signed_through, 100, "close signs a final checkpoint");
    assert!(report.checkpoints >= 2);
}

#[test]
fn an_event_is_durable_when_its_append_returns_and_the_chain_resumes_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let s = signer("s");
    let head = {
        let store = Store::open(tmp.path()).unwrap();
        let log = AuditLog::open(&store, s.clone(), options(1000)).unwrap();
        for i in 1..=10 {
            log.append_blocking(permit(i)).unwrap();
        }
        let head = log.append_blocking(deny(11)).unwrap();
        // Neither closed nor flushed by the test: dropped.
        drop(log);
        head
    };
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, s, options(1000)).unwrap();
    let next = log.append_blocking(permit(12)).unwrap();
    assert_eq!(next.seq, 12);
    log.close().unwrap();
    let report = audit::verify(&store, &any_signer).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.events, 12);
    let mut out = Vec::new();
    audit::export(&store, &mut out).unwrap();
    let twelfth = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["kind"] == "event" && v["seq"] == 12)
        .unwrap();
    assert_eq!(twelfth["prev_hash"], head.hash.as_str());
}

#[test]
fn one_writer_per_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(1000)).unwrap();
    assert!(matches!(AuditLog::open(&store, signer("s"), options(1000)), Err(AuditError::WriterOpen)));
    drop(log);
    AuditLog::open(&store, signer("s"), options(1000)).unwrap();
}

/// A signer that blocks until told to go on, so the writer can be held
/// inside a batch.
struct HeldSigner {
    inner: Arc<dyn Signer>,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Signer for HeldSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.entered.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        self.inner.sign(msg)
    }
    fn certificate_der(&self) -> &[u8] {
        self.inner.certificate_der()
    }
    fn public_key_uncompressed(&self) -> &[u8] {
        self.inner.public_key_uncompressed()
    }
}

#[test]
fn a_full_queue_refuses_at_once_and_queued_events_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let held = HeldSigner { inner: signer("s"), entered: Mutex::new(entered_tx), release: Mutex::new(release_rx) };
    let log =
        AuditLog::open(&store, Arc::new(held), AuditOptions { queue: 2, max_batch: 8, checkpoint_every: 1 }).unwrap();
    let first = log.append(permit(1)).unwrap();
    entered.recv().unwrap(); // the writer is inside the first batch
    let queued = [log.append(permit(2)).unwrap(), log.append(permit(3)).unwrap()];
    assert!(matches!(log.append(permit(4)), Err(AuditError::Overloaded)));
    release.send(()).unwrap();
    assert_eq!(first.wait().unwrap().seq, 1);
    entered.recv().unwrap(); // the checkpoint of the second batch
    release.send(()).unwrap();
    let seqs: Vec<u64> = queued.into_iter().map(|t| t.wait().unwrap().seq).collect();
    assert_eq!(seqs, [2, 3]);
    assert_eq!(log.stats().largest_batch, 2, "the two queued events shared one flush");
    drop(release);
    drop(log);
}

/// Runs a future to completion on this thread.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn an_append_can_be_awaited() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(1000)).unwrap();
    let tickets: Vec<AppendTicket> = (1..=5).map(|i| log.append(permit(i)).unwrap()).collect();
    let seqs = block_on(async {
        let mut seqs = Vec::new();
        for t in tickets {
            seqs.push(t.await.unwrap().seq);
        }
        seqs
    });
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

/// Not a timed test: prints how many events one flush carried under
/// concurrent load, for the module docs and BENCHMARKS.md.
#[test]
fn group_commit_batches_concurrent_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), AuditOptions::default()).unwrap();
    let (threads, each) = (32u32, 100u32);
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = &log;
            s.spawn(move || {
                for i in 0..each {
                    log.append_blocking(permit(t * 1000 + i)).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let stats = log.stats();
    assert_eq!(stats.events, u64::from(threads * each));
    assert!(stats.flushes < stats.events, "{stats:?}");
    eprintln!(
        "group commit: {} events, {} flushes ({:.1} events/flush, largest batch {}), {:.0} events/s",
        stats.events,
        stats.flushes,
        stats.events as f64 / stats.flushes as f64,
        stats.largest_batch,
        stats.events as f64 / elapsed.as_secs_f64(),
    );
}

const CRASH_CHILD: &str = "HENGQIN_AUDIT_CRASH_CHILD_DIR";

/// The child half of the test below: answers 20 appends, then dies
/// without running a destructor or a final flush.
fn crash_child(dir: &Path) -> ! {
    let store = Store::open(dir).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(1000)).unwrap();
    for i in 1..=20 {
        log.append_blocking(permit(i)).unwrap();
    }
    std::process::abort()
}

#[test]
fn an_answered_event_survives_the_process_being_killed() {
    if let Some(dir) = std::env::var_os(CRASH_CHILD) {
        crash_child(Path::new(&dir));
    }
    let tmp = tempfile::tempdir().unwrap();
    // This test's own name, as the harness knows it (module path without the crate).
    let (_, module) = module_path!().split_once("::").unwrap();
    let name = format!("{module}::an_answered_event_survives_the_process_being_killed");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--test-threads=1"])
        .env(CRASH_CHILD, tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts");
    let report = verify(tmp.path());
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.events, 20, "every answered event is there");
    assert_eq!(report.signed_through, 0, "no final checkpoint: the process died");
}

/// A command run right after the server let go of the store must find it
/// free, even though sled closes its files lazily.
#[test]
fn a_closed_store_frees_its_directory_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let s = signer("s");
    let still_locked = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (s, tmp, still_locked) = (&s, &tmp, &still_locked);
            scope.spawn(move || {
                for i in 0..10 {
                    let dir = tmp.path().join(format!("{t}-{i}"));
                    {
                        let store = Store::open(&dir).unwrap();
                        let log = AuditLog::open(&store, s.clone(), options(5)).unwrap();
                        for n in 1..=12 {
                            log.append_blocking(permit(n)).unwrap();
                        }
                        log.close().unwrap();
                    }
                    let db = std::fs::OpenOptions::new().write(true).open(dir.join("db")).unwrap();
                    if db.try_lock().is_err() {
                        still_locked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(still_locked.into_inner(), 0);
}
