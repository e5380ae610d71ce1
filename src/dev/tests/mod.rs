//! Tests of the test PKI: what it writes must be what OpenSSL, the config
//! loader and the trust layer expect. External checks go through the
//! `openssl` CLI; a missing binary fails the test.

mod layout;
mod lists;
mod mint;
mod signers;

use super::pki::{Pki, PkiOptions, generate};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509PurposeId, X509StoreContext, X509VerifyResult};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;
use time::OffsetDateTime;

/// A fresh PKI at the current time (the `openssl` CLI checks against the
/// wall clock).
fn fresh() -> (TempDir, Pki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = generate(dir.path(), &PkiOptions::new(OffsetDateTime::now_utc())).unwrap();
    (dir, pki)
}

/// A decoded compact JWS.
struct Jws {
    header: Value,
    payload: Value,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

fn decode_jws(compact: &str) -> Jws {
    let parts: Vec<&str> = compact.split('.').collect();
    assert_eq!(parts.len(), 3, "three segments");
    let part = |i: usize| URL_SAFE_NO_PAD.decode(parts[i]).unwrap();
    Jws {
        header: serde_json::from_slice(&part(0)).unwrap(),
        payload: serde_json::from_slice(&part(1)).unwrap(),
        signing_input: format!("{}.{}", parts[0], parts[1]).into_bytes(),
        signature: part(2),
    }
}

/// The certificates of an `x5c` member.
fn x5c(header: &Value) -> Vec<X509> {
    header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| X509::from_der(&STANDARD.decode(c.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

fn read_cert(pki: &Pki, rel: impl AsRef<Path>) -> X509 {
    X509::from_pem(&std::fs::read(pki.path(rel)).unwrap()).unwrap()
}

/// Runs the `openssl` CLI in `dir`; returns (success, stdout + stderr).
fn openssl_cli(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary must be installed for these tests");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Verifies `chain` (leaf first) against `trusted`, with partial chains
/// allowed, optionally for a purpose, at the wall clock.
fn verify_chain(trusted: &[&X509], chain: &[X509], purpose: Option<X509PurposeId>) -> Result<(), X509VerifyResult> {
    let mut store = X509StoreBuilder::new().unwrap();
    for t in trusted {
        store.add_cert((*t).clone()).unwrap();
    }
    store.set_flags(X509VerifyFlags::PARTIAL_CHAIN).unwrap();
    if let Some(p) = purpose {
        store.set_purpose(p).unwrap();
    }
    let store = store.build();
    let mut untrusted = Stack::new().unwrap();
    for c in &chain[1..] {
        untrusted.push(c.clone()).unwrap();
    }
    let mut ctx = X509StoreContext::new().unwrap();
    ctx.init(&store, &chain[0], &untrusted, |c| Ok(if c.verify_cert()? { Ok(()) } else { Err(c.error()) })).unwrap()
}
