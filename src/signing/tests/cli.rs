//! SM2 message signatures against the `openssl` CLI, both directions.
//!
//! "Empty ID" on the command line: OpenSSL 3.0 accepts `-sigopt distid:`
//! with an empty value and uses a zero-length ID, which is also what it does
//! with no `-sigopt` at all; both forms are exercised below.

use std::fs;

use openssl::pkey::PKey;

use super::super::SM2_DEFAULT_ID;
use super::super::openssl_sm2::{private_key_from_pem, sign, verify};
use super::{openssl, sm2_key};

const MSG: &[u8] =
    b"{\"certificate_number\":\"0123456789ABCDEFGHIJ\",\"holder\":\"\xe9\x99\x88\xe5\xa4\xa7\xe6\x96\x87\"}";

#[test]
fn cli_verifies_our_signature_with_the_default_id_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = sm2_key();
    fs::write(dir.path().join("msg"), MSG).unwrap();
    fs::write(dir.path().join("sig.der"), sign(&key, SM2_DEFAULT_ID, MSG).unwrap()).unwrap();
    fs::write(dir.path().join("pub.pem"), key.public_key_to_pem().unwrap()).unwrap();

    let with_id =
        ["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:1234567812345678", "-signature", "sig.der", "msg"];
    let run = openssl(dir.path(), &with_id);
    assert!(run.output.contains("Verified OK"), "{}", run.output);
    assert!(run.success);

    let empty_id = ["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:", "-signature", "sig.der", "msg"];
    let run = openssl(dir.path(), &empty_id);
    assert!(run.output.contains("Verification failure"), "{}", run.output);
    assert!(!run.output.contains("Verified OK"), "{}", run.output);
    assert!(!run.success);

    let no_id = ["dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der", "msg"];
    let run = openssl(dir.path(), &no_id);
    assert!(run.output.contains("Verification failure"), "{}", run.output);
    assert!(!run.success);
}

#[test]
fn cli_empty_distid_means_the_empty_id() {
    // A signature made here under the empty ID verifies with `distid:`, so a
    // failure there is about the ID, not a rejected option.
    let dir = tempfile::tempdir().unwrap();
    let key = sm2_key();
    fs::write(dir.path().join("msg"), MSG).unwrap();
    fs::write(dir.path().join("sig.der"), sign(&key, b"", MSG).unwrap()).unwrap();
    fs::write(dir.path().join("pub.pem"), key.public_key_to_pem().unwrap()).unwrap();
    let run = openssl(
        dir.path(),
        &["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:", "-signature", "sig.der", "msg"],
    );
    assert!(run.output.contains("Verified OK"), "{}", run.output);
    let run = openssl(dir.path(), &["dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der", "msg"]);
    assert!(run.output.contains("Verified OK"), "{}", run.output);
}

#[test]
fn cli_signature_verifies_here_with_the_default_id() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("msg"), MSG).unwrap();
    let run = openssl(dir.path(), &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]);
    assert!(run.success, "{}", run.output);
    let run = openssl(dir.path(), &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    assert!(run.success, "{}", run.output);
    let sign_args =
        ["dgst", "-sm3", "-sign", "key.pem", "-sigopt", "distid:1234567812345678", "-out", "sig.der", "msg"];
    let run = openssl(dir.path(), &sign_args);
    assert!(run.success, "{}", run.output);

    let sig = fs::read(dir.path().join("sig.der")).unwrap();
    let public = PKey::public_key_from_pem(&fs::read(dir.path().join("pub.pem")).unwrap()).unwrap();
    assert!(verify(&public, SM2_DEFAULT_ID, MSG, &sig).unwrap());
    assert!(!verify(&public, b"", MSG, &sig).unwrap());
    let private = private_key_from_pem(&fs::read(dir.path().join("key.pem")).unwrap()).unwrap();
    assert!(verify(&private, SM2_DEFAULT_ID, MSG, &sig).unwrap());
}

/// Keys written by the CLI in each form it offers for the SM2 curve load
/// here as keys that sign SM2 (checked by the CLI), not ECDSA.
#[test]
fn cli_written_keys_load_and_sign_sm2() {
    let forms: [&[&str]; 3] = [
        &["genpkey", "-algorithm", "SM2", "-out", "key.pem"],
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "key.pem"],
        &["ecparam", "-name", "SM2", "-genkey", "-noout", "-out", "key.pem"],
    ];
    for form in forms {
        let dir = tempfile::tempdir().unwrap();
        let run = openssl(dir.path(), form);
        assert!(run.success, "{form:?}: {}", run.output);
        let run = openssl(dir.path(), &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
        assert!(run.success, "{}", run.output);
        let key = private_key_from_pem(&fs::read(dir.path().join("key.pem")).unwrap()).unwrap();
        fs::write(dir.path().join("msg"), MSG).unwrap();
        fs::write(dir.path().join("sig.der"), sign(&key, SM2_DEFAULT_ID, MSG).unwrap()).unwrap();
        let verify_args = [
            "dgst",
            "-sm3",
            "-verify",
            "pub.pem",
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            "sig.der",
            "msg",
        ];
        let run = openssl(dir.path(), &verify_args);
        assert!(run.output.contains("Verified OK"), "{form:?}: {}", run.output);
    }
}

#[test]
fn cli_rejects_an_ecdsa_with_sm3_signature_as_sm2() {
    // What the wrong key type would produce: ECDSA over SM3(msg), no Z_A.
    let dir = tempfile::tempdir().unwrap();
    let ec = PKey::ec_gen("SM2").unwrap();
    let mut ctx = openssl::md_ctx::MdCtx::new().unwrap();
    ctx.digest_sign_init(Some(openssl::md::Md::sm3()), &ec).unwrap();
    let mut sig = Vec::new();
    ctx.digest_sign_to_vec(MSG, &mut sig).unwrap();
    fs::write(dir.path().join("msg"), MSG).unwrap();
    fs::write(dir.path().join("sig.der"), &sig).unwrap();
    fs::write(dir.path().join("pub.pem"), ec.public_key_to_pem().unwrap()).unwrap();
    let args =
        ["dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:1234567812345678", "-signature", "sig.der", "msg"];
    let run = openssl(dir.path(), &args);
    assert!(run.output.contains("Verification failure"), "{}", run.output);
}
