//! Tests of the signing module. Every SM2 shim is checked against the
//! `openssl` CLI (DESIGN §3, §6; STYLE 12): a missing CLI fails the tests.

mod certificates;
mod cli;
mod encoding;
mod rustcrypto;
mod signer;
mod sm2;

use std::path::Path;
use std::process::Command;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Builder, X509NameBuilder, X509Ref};

/// What one `openssl` run printed.
pub(super) struct CliRun {
    pub success: bool,
    /// stdout then stderr.
    pub output: String,
}

/// Runs the `openssl` CLI in `dir`. Panics (fails the test) when the binary
/// cannot be started: these tests are never skipped.
pub(super) fn openssl(dir: &Path, args: &[&str]) -> CliRun {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the `openssl` CLI is required by this test and could not be run: {e}"));
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    CliRun { success: out.status.success(), output }
}

/// Validity of every test certificate: 2020-01-01 to 2049-12-31, so the CLI
/// (wall clock) and the store tests (fixed time) both fall inside it.
pub(super) const NOT_BEFORE: &str = "20200101000000Z";
pub(super) const NOT_AFTER: &str = "20491231235959Z";
/// 2026-01-01T00:00:00Z, inside the validity window.
pub(super) const INSIDE_VALIDITY: i64 = 1_767_225_600;

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "CN").unwrap();
    name.append_entry_by_text("O", "hengqin-bridge tests").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.build()
}

/// An unsigned certificate for `subject_key`, issued by `issuer` (self-issued
/// when `None`), ready for [`super::openssl_sm2::sign_certificate`].
pub(super) fn unsigned_cert(
    cn: &str,
    serial: u32,
    subject_key: &PKeyRef<Private>,
    issuer: Option<&X509Ref>,
    ca: bool,
) -> X509 {
    cert_builder(cn, serial, subject_key, issuer, ca).build()
}

/// The builder behind [`unsigned_cert`], for tests that sign otherwise.
pub(super) fn cert_builder(
    cn: &str,
    serial: u32,
    subject_key: &PKeyRef<Private>,
    issuer: Option<&X509Ref>,
    ca: bool,
) -> X509Builder {
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = Asn1Integer::from_bn(&BigNum::from_u32(serial).unwrap()).unwrap();
    b.set_serial_number(&serial).unwrap();
    let subject = name(cn);
    b.set_subject_name(&subject).unwrap();
    match issuer {
        Some(issuer) => b.set_issuer_name(issuer.subject_name()).unwrap(),
        None => b.set_issuer_name(&subject).unwrap(),
    }
    b.set_pubkey(subject_key).unwrap();
    b.set_not_before(&Asn1Time::from_str_x509(NOT_BEFORE).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_str_x509(NOT_AFTER).unwrap()).unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap()).unwrap();
    } else {
        b.append_extension(BasicConstraints::new().critical().build().unwrap()).unwrap();
        b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap()).unwrap();
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer, None)).unwrap();
    b.append_extension(ski).unwrap();
    if issuer.is_some() {
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(issuer, None)).unwrap();
        b.append_extension(aki).unwrap();
    }
    b
}

/// A fresh SM2 key.
pub(super) fn sm2_key() -> PKey<Private> {
    super::openssl_sm2::generate_key().unwrap()
}

/// A self-signed signer certificate for `key`, PEM.
pub(super) fn self_signed_pem(key: &PKeyRef<Private>) -> Vec<u8> {
    let cert = unsigned_cert("Bridge Signer", 9, key, None, false);
    let cert = super::openssl_sm2::sign_certificate(cert, key, super::SM2_DEFAULT_ID).unwrap();
    cert.to_pem().unwrap()
}
