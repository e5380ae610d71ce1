//! The audit chain: concurrent appends, durability across reopen, what
//! `verify` finds after tampering, checkpoint signatures, the export, and
//! that no personal data can enter an event.

use hengqin_bridge::audit::{
    self, AppendTicket, AuditError, AuditEvent, AuditLog, AuditOptions, AuditReason, AuditRecord, Checkpoint, Decision,
};
use hengqin_bridge::dev::pki::{test_defining_body_uscc, test_issuer_uscc};
use hengqin_bridge::model::{LicenceId, Reason, Uscc};
use hengqin_bridge::signing::{OpensslSm2Signer, SM2_DEFAULT_ID, Signer, SigningError, openssl_sm2};
use hengqin_bridge::store::Store;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509NameBuilder};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use time::macros::datetime;

mod raw_sled;

fn signer(cn: &str) -> Arc<dyn Signer> {
    let key = openssl_sm2::generate_key().unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(11).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sm3()).unwrap();
    let cert = openssl_sm2::sign_certificate(b.build(), &key, SM2_DEFAULT_ID).unwrap();
    Arc::new(OpensslSm2Signer::new(cert, key).unwrap())
}

fn licence_id(n: u32) -> String {
    let type_code = format!("{}001", test_defining_body_uscc());
    let issuer = Uscc::parse(&test_issuer_uscc()).unwrap();
    LicenceId::build(&type_code, &issuer, &format!("A{n:08}"), 1).unwrap().as_str().to_owned()
}

fn hex64(n: u32) -> String {
    hex::encode(openssl::sha::sha256(&n.to_be_bytes()))
}

fn permit(n: u32) -> AuditEvent {
    AuditEvent {
        time: datetime!(2025-06-01 02:00:00 UTC) + time::Duration::seconds(n.into()),
        partner: "hq-clinic-0001".into(),
        purpose: "health-voucher".into(),
        jurisdiction: "hengqin".into(),
        decision: Decision::Permit,
        reasons: vec![],
        released: vec!["person.name_zh_hant".into(), "person.bir_number".into()],
        licence_id: Some(licence_id(n)),
        source_sha256: Some(hex64(n)),
        subject: Some(hex64(n + 1_000_000)),
    }
}

fn deny(n: u32) -> AuditEvent {
    AuditEvent {
        time: datetime!(2025-06-01 02:00:00 UTC) + time::Duration::seconds(n.into()),
        partner: "gz-insurer-0001".into(),
        purpose: "health-voucher".into(),
        jurisdiction: String::new(),
        decision: Decision::Deny,
        reasons: vec![AuditReason::new(Reason::PurposeNotAllowed, Some("guangdong.toml#partners.gz-insurer-0001"))],
        released: vec![],
        licence_id: None,
        source_sha256: Some(hex64(n)),
        subject: None,
    }
}

fn options(checkpoint_every: u64) -> AuditOptions {
    AuditOptions { checkpoint_every, ..AuditOptions::default() }
}

fn any_signer(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// Writes `n` events through a log and closes it (final checkpoint).
fn populate(dir: &Path, n: u32, checkpoint_every: u64) -> Arc<dyn Signer> {
    let s = signer("audit test signer");
    let store = Store::open(dir).unwrap();
    let log = AuditLog::open(&store, s.clone(), options(checkpoint_every)).unwrap();
    for i in 1..=n {
        let e = if i % 3 == 0 { deny(i) } else { permit(i) };
        assert_eq!(log.append_blocking(e).unwrap().seq, u64::from(i));
    }
    log.close().unwrap();
    s
}

/// Edits the stored event `seq` with sled directly, as someone with the
/// directory could.
fn edit_event(dir: &Path, seq: u64, edit: impl FnOnce(&mut AuditRecord)) {
    let db = raw_sled::open(dir);
    let tree = db.open_tree("audit").unwrap();
    let key = raw_sled::audit_key(b'e', seq);
    let mut record: AuditRecord = serde_json::from_slice(&tree.get(&key).unwrap().unwrap()).unwrap();
    edit(&mut record);
    tree.insert(key, serde_json::to_vec(&record).unwrap()).unwrap();
    db.flush().unwrap();
}

fn remove(dir: &Path, prefix: u8, seq: u64) {
    let db = raw_sled::open(dir);
    let key = raw_sled::audit_key(prefix, seq);
    assert!(db.open_tree("audit").unwrap().remove(key).unwrap().is_some());
    db.flush().unwrap();
}

fn verify(dir: &Path) -> audit::AuditReport {
    audit::verify(&Store::open(dir).unwrap(), &any_signer).unwrap()
}

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
fn a_changed_event_is_the_first_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path(), 40, 10);
    assert!(verify(tmp.path()).is_valid());
    edit_event(tmp.path(), 17, |r| r.purpose = "real-name-kyc".into());
    let report = verify(tmp.path());
    assert_eq!(report.first_bad, Some(17), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.seq == Some(17) && p.what.contains("does not match its hash")));
}

#[test]
fn a_changed_and_rehashed_event_breaks_the_next_link() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path(), 40, 1000);
    edit_event(tmp.path(), 17, |r| {
        r.decision = Decision::Deny;
        r.reasons = vec![AuditReason::new(Reason::DeniedByRule, None)];
        (r.hash, r.sm3) = r.digests().unwrap();
    });
    let report = verify(tmp.path());
    assert_eq!(report.first_bad, Some(17), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.seq == Some(18) && p.what.contains("prev_hash")));
}

#[test]
fn a_rewritten_chain_is_caught_by_its_signed_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path(), 30, 10);
    // Change event 5 and recompute every hash after it: the chain itself
    // is consistent again; only the signatures over seq 10, 20, 30 are not.
    let mut prev = None;
    for seq in 1..=30 {
        edit_event(tmp.path(), seq, |r| {
            if seq == 5 {
                r.partner = "hq-ss-window".into();
            }
            if let Some(p) = prev.take() {
                r.prev_hash = p;
            }
            (r.hash, r.sm3) = r.digests().unwrap();
            prev = Some(r.hash.clone());
        });
    }
    let report = verify(tmp.path());
    assert!(!report.is_valid());
    assert_eq!(report.first_bad, Some(10), "{:?}", report.problems);
    assert!(report.problems.iter().all(|p| p.what.contains("checkpoint")), "{:?}", report.problems);
    assert_eq!(report.signed_through, 0);
}

#[test]
fn a_removed_event_is_reported_as_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path(), 40, 10);
    remove(tmp.path(), b'e', 23);
    let report = verify(tmp.path());
    assert_eq!(report.first_bad, Some(23), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.seq == Some(23) && p.what.contains("missing")));
    assert_eq!(report.events, 39);
}

#[test]
fn a_removed_tail_is_caught_by_the_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path(), 25, 10);
    remove(tmp.path(), b'e', 25);
    remove(tmp.path(), b'e', 24);
    let report = verify(tmp.path());
    assert_eq!(report.first_bad, Some(24), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.seq == Some(25) && p.what.contains("events were removed")));
}

#[test]
fn checkpoints_verify_with_the_signer_certificate_and_tampering_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let s = populate(tmp.path(), 20, 10);
    let pinned = s.certificate_der().to_vec();
    let only_ours = move |der: &[u8]| if der == pinned { Ok(()) } else { Err("not ours".to_owned()) };
    {
        let store = Store::open(tmp.path()).unwrap();
        let report = audit::verify(&store, &only_ours).unwrap();
        assert!(report.is_valid(), "{:?}", report.problems);
        assert_eq!((report.checkpoints, report.signed_through), (2, 20));
        // The same chain, checked by someone who trusts another signer.
        let other = signer("another signer").certificate_der().to_vec();
        let theirs = move |der: &[u8]| if der == other { Ok(()) } else { Err("unknown signer".to_owned()) };
        let report = audit::verify(&store, &theirs).unwrap();
        assert_eq!(report.problems.len(), 2);
        assert!(report.problems.iter().all(|p| p.what.contains("not trusted")));
    }

    let db = raw_sled::open(tmp.path());
    let tree = db.open_tree("audit").unwrap();
    let key = raw_sled::audit_key(b'c', 10);
    let original = tree.get(&key).unwrap().unwrap();
    let mut checkpoint: Checkpoint = serde_json::from_slice(&original).unwrap();
    checkpoint.signed_at = "2030-01-01T00:00:00Z".into();
    tree.insert(key, serde_json::to_vec(&checkpoint).unwrap()).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    let report = audit::verify(&Store::open(tmp.path()).unwrap(), &only_ours).unwrap();
    assert_eq!(report.first_bad, Some(10), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.seq == Some(10) && p.what.contains("signature does not verify")));
    assert_eq!(report.signed_through, 20);
}

#[test]
fn export_writes_events_and_checkpoints_in_order_without_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(4)).unwrap();

    // Values about the person that callers might be tempted to log. Each
    // is refused in every field that takes free-looking text.
    let forbidden =
        ["陳大文", "CHAN TAI MAN", "1234567(8)", "H12345678", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln"];
    for value in forbidden {
        let attempts: [fn(&mut AuditEvent, &str); 9] = [
            |e, v| e.partner = v.into(),
            |e, v| e.purpose = v.into(),
            |e, v| e.jurisdiction = v.into(),
            |e, v| e.released.push(v.into()),
            |e, v| e.licence_id = Some(v.into()),
            |e, v| e.source_sha256 = Some(v.into()),
            |e, v| e.subject = Some(v.into()),
            |e, v| e.reasons.push(AuditReason { code: v.into(), clause: None }),
            |e, v| e.reasons.push(AuditReason { code: "DENIED_BY_RULE".into(), clause: Some(v.into()) }),
        ];
        for (i, attempt) in attempts.iter().enumerate() {
            let mut e = permit(1);
            attempt(&mut e, value);
            match log.append(e) {
                Err(err @ AuditError::Invalid { .. }) => assert!(!err.to_string().contains(value), "{err}"),
                other => panic!("{value:?} accepted in attempt {i}: {other:?}"),
            }
        }
    }
    for i in 1..=9 {
        log.append_blocking(if i % 2 == 0 { deny(i) } else { permit(i) }).unwrap();
    }
    log.close().unwrap();

    let mut out = Vec::new();
    let summary = audit::export(&store, &mut out).unwrap();
    assert_eq!((summary.events, summary.checkpoints), (9, 3));
    let text = String::from_utf8(out).unwrap();
    for value in forbidden {
        assert!(!text.contains(value), "{value:?} reached the export");
    }

    let event_fields: BTreeSet<&str> = [
        "kind",
        "seq",
        "time",
        "partner",
        "purpose",
        "jurisdiction",
        "decision",
        "reasons",
        "released",
        "licence_id",
        "source_sha256",
        "subject",
        "prev_hash",
        "hash",
        "sm3",
    ]
    .into();
    let checkpoint_fields: BTreeSet<&str> = ["kind", "seq", "hash", "signed_at", "signature", "certificate"].into();
    let mut order = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let fields: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let kind = v["kind"].as_str().unwrap().to_owned();
        match kind.as_str() {
            "event" => assert_eq!(fields, event_fields, "an event carries exactly these fields"),
            "checkpoint" => assert_eq!(fields, checkpoint_fields),
            k => panic!("unexpected kind {k}"),
        }
        order.push((v["seq"].as_u64().unwrap(), kind));
    }
    let expected: Vec<(u64, String)> = (1..=9)
        .flat_map(|s| {
            let mut lines = vec![(s, "event".to_owned())];
            if s == 4 || s == 8 || s == 9 {
                lines.push((s, "checkpoint".to_owned()));
            }
            lines
        })
        .collect();
    assert_eq!(order, expected);
    // Each exported event re-hashes to its own `hash`.
    for line in text.lines().filter(|l| l.contains("\"kind\":\"event\"")) {
        let r: AuditRecord = serde_json::from_str(line).unwrap();
        assert_eq!(r.digests().unwrap(), (r.hash.clone(), r.sm3.clone()));
    }
}

#[test]
fn a_denial_names_reasons_and_releases_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let log = AuditLog::open(&store, signer("s"), options(1000)).unwrap();
    let mut e = deny(1);
    e.reasons.clear();
    assert!(matches!(log.append(e), Err(AuditError::Invalid { field: "reasons", .. })));
    let mut e = deny(1);
    e.released.push("person.name_latin".into());
    assert!(matches!(log.append(e), Err(AuditError::Invalid { .. })));
    // An early refusal: no partner identified, no purpose, no jurisdiction.
    let mut e = deny(1);
    (e.partner, e.purpose) = (String::new(), String::new());
    e.reasons = vec![AuditReason::new(Reason::UnknownPartner, None)];
    assert_eq!(log.append_blocking(e).unwrap().seq, 1);
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
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "an_answered_event_survives_the_process_being_killed", "--test-threads=1"])
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
