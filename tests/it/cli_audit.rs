//! `hengqin-bridge audit verify|export --config F` against a store written
//! through the library with the test PKI's bridge signer.

use hengqin_bridge::audit::{AuditEvent, AuditLog, AuditOptions, AuditReason, AuditRecord, Decision};
use hengqin_bridge::config::Config;
use hengqin_bridge::dev::pki::{PkiOptions, generate, layout};
use hengqin_bridge::model::Reason;
use hengqin_bridge::signing::{OpensslSm2Signer, Signer};
use hengqin_bridge::store::Store;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::raw_sled;

fn bridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hengqin-bridge")).args(args).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn event(n: i64, decision: Decision) -> AuditEvent {
    AuditEvent {
        time: OffsetDateTime::now_utc() + time::Duration::seconds(n),
        partner: "hq-clinic-0001".into(),
        purpose: "health-voucher".into(),
        jurisdiction: "hengqin".into(),
        decision,
        reasons: match decision {
            Decision::Permit => vec![],
            Decision::Deny => vec![AuditReason::new(Reason::LoaTooLow, Some("hengqin.toml#purposes.health-voucher"))],
        },
        released: match decision {
            Decision::Permit => vec!["person.name_zh_hant".into()],
            Decision::Deny => vec![],
        },
        licence_id: None,
        source_sha256: Some(hex::encode(openssl::sha::sha256(&n.to_be_bytes()))),
        subject: None,
    }
}

fn append(store_dir: &Path, signer: Arc<dyn Signer>, range: std::ops::RangeInclusive<i64>) {
    let store = Store::open(store_dir).unwrap();
    let log = AuditLog::open(&store, signer, AuditOptions { checkpoint_every: 5, ..AuditOptions::default() }).unwrap();
    for n in range {
        log.append_blocking(event(n, if n % 4 == 0 { Decision::Deny } else { Decision::Permit })).unwrap();
    }
    log.close().unwrap();
}

struct Setup {
    _tmp: tempfile::TempDir,
    pki: PathBuf,
    config: String,
    store: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    let pki = generate(&pki_dir, &PkiOptions::new(OffsetDateTime::now_utc())).unwrap();
    let config = pki.config_path();
    let cfg = Config::load(&config, |_| None).unwrap();
    let store = cfg.store.expect("dev pki writes a [store] section").path;
    assert_eq!(store, pki_dir.join("state"));
    Setup { pki: pki_dir, config: config.to_str().unwrap().to_owned(), store, _tmp: tmp }
}

fn bridge_signer(pki: &Path) -> Arc<dyn Signer> {
    let cert = std::fs::read(pki.join(layout::CN_BRIDGE_SIGNER)).unwrap();
    let key = std::fs::read(pki.join(layout::CN_BRIDGE_SIGNER_KEY)).unwrap();
    Arc::new(OpensslSm2Signer::from_pem(&cert, &key).unwrap())
}

#[test]
fn audit_verify_and_export_through_the_command_line() {
    let s = setup();
    append(&s.store, bridge_signer(&s.pki), 1..=12);

    let out = bridge(&["audit", "verify", "--config", &s.config]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("events:         12"), "{stdout}");
    assert!(stdout.contains("signed through: seq 12"), "{stdout}");
    assert!(stdout.contains("ok: the audit chain is intact"), "{stdout}");

    let out = bridge(&["audit", "export", "--config", &s.config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "event").count(), 12);
    assert_eq!(kinds.iter().filter(|k| **k == "checkpoint").count(), 3, "seq 5, 10 and the final one at 12");
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(text(&out.stderr).trim(), "exported 12 event(s), 3 checkpoint(s)");

    // The store is not created by reading commands, nor changed.
    let again = bridge(&["audit", "verify", "--config", &s.config]);
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn audit_verify_reports_a_changed_event_and_exits_1() {
    let s = setup();
    append(&s.store, bridge_signer(&s.pki), 1..=8);
    {
        let db = raw_sled::open(&s.store);
        let tree = db.open_tree("audit").unwrap();
        let key = raw_sled::audit_key(b'e', 3);
        let mut r: AuditRecord = serde_json::from_slice(&tree.get(&key).unwrap().unwrap()).unwrap();
        r.released.push("person.bir_number".into());
        tree.insert(key, serde_json::to_vec(&r).unwrap()).unwrap();
        db.flush().unwrap();
    }
    let out = bridge(&["audit", "verify", "--config", &s.config]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("first bad:      seq 3"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("problem: seq 3: the event does not match its hash"), "{}", text(&out.stderr));
}

#[test]
fn a_checkpoint_from_an_unknown_signer_is_a_problem() {
    let s = setup();
    append(&s.store, bridge_signer(&s.pki), 1..=5);
    // Another key with a certificate that chains nowhere the config knows.
    let other = tempfile::tempdir().unwrap();
    let foreign = generate(other.path(), &PkiOptions::new(OffsetDateTime::now_utc())).unwrap();
    append(&s.store, bridge_signer(foreign.dir()), 6..=7);
    let out = bridge(&["audit", "verify", "--config", &s.config]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("problem: seq 7: checkpoint: the signer is not trusted"), "{stderr}");
    assert!(text(&out.stdout).contains("signed through: seq 5"));
}

#[test]
fn audit_commands_say_when_a_server_holds_the_store() {
    let s = setup();
    append(&s.store, bridge_signer(&s.pki), 1..=2);
    let held = Store::open(&s.store).unwrap();
    for cmd in ["verify", "export"] {
        let out = bridge(&["audit", cmd, "--config", &s.config]);
        assert_eq!(out.status.code(), Some(64), "{cmd}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("the store at {} is in use by a running server", s.store.display())),
            "{cmd}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{cmd}");
    }
    drop(held);
    let out = bridge(&["audit", "verify", "--config", &s.config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn audit_commands_refuse_configs_they_cannot_use() {
    let s = setup();
    // No [store] section.
    let text_cfg = std::fs::read_to_string(&s.config).unwrap();
    let start = text_cfg.find("[store]").expect("dev pki writes [store]");
    let rest = &text_cfg[start..];
    let end = rest[1..].find("\n[").map_or(text_cfg.len(), |e| start + 1 + e + 1);
    let without = format!("{}{}", &text_cfg[..start], &text_cfg[end..]);
    let no_store = s.pki.join("no-store.toml");
    std::fs::write(&no_store, without).unwrap();
    let out = bridge(&["audit", "verify", "--config", no_store.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("no [store] section"), "{}", text(&out.stderr));

    // A config that does not read.
    let missing = s.pki.join("missing.toml");
    for cmd in ["verify", "export"] {
        assert_eq!(bridge(&["audit", cmd, "--config", missing.to_str().unwrap()]).status.code(), Some(64), "{cmd}");
    }

    // A store that was never written: said so, and not created.
    let out = bridge(&["audit", "verify", "--config", &s.config]);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("there is no store at"), "{}", text(&out.stderr));
    assert!(!s.store.exists());
}
