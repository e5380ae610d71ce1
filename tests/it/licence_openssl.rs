//! Anyone can verify a licence with an RFC 8785 canonicalizer and the
//! `openssl` CLI: the produced record's canonical bytes (without its
//! signature member), its DER signature and its certificate's key verify
//! under the GM/T 0009 default ID, and the same signature fails with an
//! empty ID. The CLI's words are checked, not just its exit status; a
//! missing `openssl` binary fails the test. Both signer backends are
//! checked: OpenSSL (the default) and the RustCrypto `sm2` crate.

use crate::support::Env;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::licence::jcs;
use hengqin_bridge::signing::SignerBackend;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str], cwd: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the openssl CLI must be installed: the tests cross-check every SM2 signature with it");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Issues a health-voucher licence in `env` and writes, into a fresh
/// directory, its canonical bytes without the signature member
/// (`canonical.json`), its DER signature (`sig.der`), its certificate
/// (`cert.der`) and that certificate's public key (`pub.pem`).
fn licence_files(env: &Env) -> tempfile::TempDir {
    let jws = env.mint(&MintOptions::new(Flow::HealthVoucher, env.now));
    let lic = env.process(&env.request(&jws)).expect("licence");

    let mut doc: Value = serde_json::from_slice(&lic.bytes).unwrap();
    let sig = doc.as_object_mut().unwrap().remove("signature").expect("signature member");
    assert_eq!(sig["algorithm"], "1.2.156.10197.1.501");
    assert_eq!(sig["user_id"], "1234567812345678");
    let canonical = jcs::canonicalize(&doc).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("canonical.json"), &canonical).unwrap();
    std::fs::write(d.join("sig.der"), STANDARD.decode(sig["value"].as_str().unwrap()).unwrap()).unwrap();
    std::fs::write(d.join("cert.der"), STANDARD.decode(sig["certificate"].as_str().unwrap()).unwrap()).unwrap();
    let out = openssl(&["x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout", "-out", "pub.pem"], d);
    assert!(d.join("pub.pem").is_file(), "{out}");
    dir
}

/// `openssl dgst -sm3 -verify` with `distid`.
fn dgst_verify(d: &Path, distid: &str) -> String {
    let distid = format!("distid:{distid}");
    openssl(&["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", &distid, "-signature", "sig.der", "canonical.json"], d)
}

/// `openssl dgst` verifies the licence under the GM/T 0009 ID and refuses
/// it under the empty one.
fn dgst_verifies_only_under_the_default_id(d: &Path) {
    let ok = dgst_verify(d, "1234567812345678");
    assert!(ok.contains("Verified OK"), "{ok}");
    let empty = dgst_verify(d, "");
    assert!(empty.contains("Verification failure"), "{empty}");
}

/// `openssl pkeyutl -verify -rawin -digest sm3` with `distid`: the same
/// check through the other CLI entry point.
fn pkeyutl_verify(d: &Path, distid: &str) -> String {
    let distid = format!("distid:{distid}");
    openssl(
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &distid,
            "-in",
            "canonical.json",
            "-sigfile",
            "sig.der",
        ],
        d,
    )
}

#[test]
fn produced_licence_verifies_with_the_openssl_cli_only_under_the_default_id() {
    let env = Env::new();
    let dir = licence_files(&env);
    let d = dir.path();

    dgst_verifies_only_under_the_default_id(d);

    // The signer certificate itself verifies under the bridge CA only with the ID.
    let ca = env.pki.path("cn-gd/bridge-ca.pem");
    let ca = ca.to_str().unwrap();
    openssl(&["x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem"], d);
    let with_id = openssl(&["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", ca, "cert.pem"], d);
    assert!(with_id.contains("cert.pem: OK"), "{with_id}");
    let without = openssl(&["verify", "-CAfile", ca, "cert.pem"], d);
    assert!(!without.contains("cert.pem: OK") && without.contains("signature failure"), "{without}");
}

#[test]
fn licence_signed_by_the_rustcrypto_backend_verifies_with_the_openssl_cli_only_under_the_default_id() {
    let env = Env::with_signer_backend("rustcrypto");
    assert_eq!(env.config.signer_backend, SignerBackend::RustCrypto);
    let dir = licence_files(&env);
    let d = dir.path();

    dgst_verifies_only_under_the_default_id(d);

    let ok = pkeyutl_verify(d, "1234567812345678");
    assert!(ok.contains("Signature Verified Successfully"), "{ok}");
    let empty = pkeyutl_verify(d, "");
    assert!(empty.contains("Signature Verification Failure"), "{empty}");
}
