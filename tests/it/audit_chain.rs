//! What `audit verify` finds after the chain was changed on disk, the
//! checkpoint signatures, the export, and that no personal data can enter
//! an event.

use crate::audit_support::*;
use hengqin_bridge::audit::{self, AuditError, AuditEvent, AuditLog, AuditReason, AuditRecord, Checkpoint, Decision};
use hengqin_bridge::model::Reason;
use hengqin_bridge::store::Store;
use std::collections::BTreeSet;

use crate::raw_sled;

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
