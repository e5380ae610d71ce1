//! Every non-policy reason code reachable offline (DESIGN §7), each from an
//! assertion minted at test time by the test PKI and run through
//! `pipeline::process` with the shipped policies.

use crate::support;

use crate::support::Env;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::dev::pki::{CrlChoice, ListSigner, SignerKind, TrustListSpec};
use hengqin_bridge::model::{Reason, TrustDomainId};
use hengqin_bridge::pipeline::TranslateRequest;
use serde_json::json;
use time::Duration;

fn voucher(env: &Env) -> MintOptions {
    MintOptions::new(Flow::HealthVoucher, env.now)
}

/// Mints with `opts`, runs it for the clinic and returns the reason code.
fn reason_of(env: &Env, opts: MintOptions) -> Reason {
    let jws = env.mint(&opts);
    env.refuse(&env.request(&jws))
}

#[test]
fn the_clinic_flow_issues_a_licence() {
    let env = Env::new();
    let jws = env.mint(&voucher(&env));
    let lic = env.process(&env.request(&jws)).expect("licence");
    let report = hengqin_bridge::licence::verify(&lic.bytes, Some(&env.snap.anchors), env.now).unwrap();
    assert!(report.is_valid() && report.signer_trusted == Some(true), "{report:?}");
}

#[test]
fn request_field_codes() {
    let env = Env::new();
    let jws = env.mint(&voucher(&env));
    let base = env.request(&jws);
    let cases = [
        (TranslateRequest { partner: "hq-nobody-0000", ..base }, Reason::UnknownPartner),
        (TranslateRequest { partner: "Not An Id", ..base }, Reason::UnknownPartner),
        (TranslateRequest { purpose: "tax-refund", ..base }, Reason::UnknownPurpose),
        (TranslateRequest { format: "ofd", ..base }, Reason::UnknownFormat),
        // Request fields come before the assertion: a bad assertion with an
        // unknown purpose is still UNKNOWN_PURPOSE.
        (TranslateRequest { purpose: "tax-refund", assertion: b"garbage", ..base }, Reason::UnknownPurpose),
    ];
    for (req, expected) in cases {
        assert_eq!(env.refuse(&req), expected, "{req:?}");
    }
}

#[test]
fn size_framing_and_header_codes() {
    let env = Env::new();
    let good = env.mint(&voucher(&env));
    let big = "a".repeat(16 * 1024 + 1);
    let segs: Vec<&str> = good.split('.').collect();
    let four = format!("{good}.{}", segs[2]);
    let padded = format!("{}=.{}.{}", segs[0], segs[1], segs[2]);
    let mut bad_chars = good.clone();
    bad_chars.insert(10, '+');
    let raw: Vec<(&str, String, Reason)> = vec![
        ("oversized", big, Reason::AssertionTooLarge),
        ("one segment", "abc".into(), Reason::MalformedAssertion),
        ("four segments", four, Reason::MalformedAssertion),
        ("padded base64url", padded, Reason::MalformedAssertion),
        ("non-base64url character", bad_chars, Reason::MalformedAssertion),
        ("empty", String::new(), Reason::MalformedAssertion),
    ];
    for (what, jws, expected) in raw {
        assert_eq!(env.refuse(&env.request(&jws)), expected, "{what}");
    }
    let minted: Vec<(&str, MintOptions, Reason)> = vec![
        (
            "typ missing",
            MintOptions { header_removals: vec!["typ".into()], ..voucher(&env) },
            Reason::MalformedAssertion,
        ),
        (
            "typ wrong",
            MintOptions { header_sets: vec![("typ".into(), json!("JWT"))], ..voucher(&env) },
            Reason::MalformedAssertion,
        ),
        (
            "crit present",
            MintOptions { header_sets: vec![("crit".into(), json!(["exp"]))], ..voucher(&env) },
            Reason::MalformedAssertion,
        ),
        (
            "x5c missing",
            MintOptions { header_removals: vec!["x5c".into()], ..voucher(&env) },
            Reason::MalformedAssertion,
        ),
        ("exp of the wrong type", voucher(&env).set("exp", json!("tomorrow")), Reason::MalformedAssertion),
        ("aud as an array", voucher(&env).set("aud", json!([support::GATEWAY])), Reason::MalformedAssertion),
        ("alg none", MintOptions { alg: Some("none"), ..voucher(&env) }, Reason::UnsupportedAlgorithm),
        ("alg HS256", MintOptions { alg: Some("HS256"), ..voucher(&env) }, Reason::UnsupportedAlgorithm),
        ("alg ES384", MintOptions { alg: Some("ES384"), ..voucher(&env) }, Reason::UnsupportedAlgorithm),
        (
            "RS256 header on an EC key",
            MintOptions { alg: Some("RS256"), ..voucher(&env) },
            Reason::UnsupportedAlgorithm,
        ),
        (
            "RSA key under 2048 bits",
            MintOptions { signer: SignerKind::Rsa1024, ..voucher(&env) },
            Reason::UnsupportedAlgorithm,
        ),
    ];
    for (what, opts, expected) in minted {
        assert_eq!(reason_of(&env, opts), expected, "{what}");
    }
}

#[test]
fn rsa_signers_are_accepted() {
    let env = Env::new();
    for alg in [None, Some("RS256")] {
        let jws = env.mint(&MintOptions { signer: SignerKind::Rsa2048, alg, ..voucher(&env) });
        env.process(&env.request(&jws)).unwrap_or_else(|r| panic!("{alg:?}: {r}"));
    }
}

#[test]
fn chain_codes() {
    let env = Env::new();
    for (kind, expected) in [
        (SignerKind::Expired, Reason::UntrustedChain),
        (SignerKind::NotYetValid, Reason::UntrustedChain),
        (SignerKind::CaAsLeaf, Reason::UntrustedChain),
        (SignerKind::UntrustedRoot, Reason::UntrustedChain),
        (SignerKind::Impostor, Reason::UntrustedChain),
        (SignerKind::WrongKeyUsage, Reason::UntrustedChain),
    ] {
        assert_eq!(reason_of(&env, MintOptions { signer: kind, ..voucher(&env) }), expected, "{kind:?}");
    }
}

#[test]
fn revoked_signer_is_refused() {
    let mut env = Env::new();
    env.pki.revoke_assertion_signer().unwrap();
    env.reload();
    assert_eq!(reason_of(&env, voucher(&env)), Reason::CertRevoked);
}

#[test]
fn revocation_unknown_when_the_crl_is_missing_expired_or_forged() {
    for crl in [CrlChoice::Omitted, CrlChoice::PastNextUpdate, CrlChoice::WrongKey] {
        let mut env = Env::new();
        let spec = TrustListSpec { crl, ..TrustListSpec::new(2, env.now) };
        env.pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
        env.reload();
        assert_eq!(reason_of(&env, voucher(&env)), Reason::RevocationUnknown, "{crl:?}");
    }
}

#[test]
fn signature_and_claim_codes() {
    let env = Env::new();
    let a = env.mint(&voucher(&env));
    let b = env.mint(&voucher(&env).set("person.name_latin", json!("CHAN SIU MAN")));
    let (a_body, _) = a.rsplit_once('.').unwrap();
    let (_, b_sig) = b.rsplit_once('.').unwrap();
    let spliced = format!("{a_body}.{b_sig}");
    assert_eq!(env.refuse(&env.request(&spliced)), Reason::BadSignature);

    let now = env.now.unix_timestamp();
    let cases: Vec<(&str, MintOptions, Reason)> = vec![
        ("issuer not bound", voucher(&env).set("iss", json!("https://eid.example.org")), Reason::IssuerNotTrusted),
        (
            "iat in the future",
            voucher(&env).set("iat", json!(now + 3600)).set("exp", json!(now + 3800)),
            Reason::AssertionNotYetValid,
        ),
        ("nbf in the future", voucher(&env).set("nbf", json!(now + 3600)), Reason::AssertionNotYetValid),
        ("expired", MintOptions { now: env.now - Duration::hours(1), ..voucher(&env) }, Reason::AssertionExpired),
        ("lifetime over the maximum age", MintOptions { ttl_seconds: 3600, ..voucher(&env) }, Reason::AssertionTooOld),
        ("another gateway", voucher(&env).set("aud", json!("urn:hengqin-bridge:gateway:other")), Reason::WrongAudience),
        ("eID expired", voucher(&env).set("eid_status", json!("expired")), Reason::EidNotActive),
        ("eID cancelled", voucher(&env).set("eid_status", json!("cancelled")), Reason::EidNotActive),
    ];
    for (what, opts, expected) in cases {
        assert_eq!(reason_of(&env, opts), expected, "{what}");
    }
}

#[test]
fn nonce_codes() {
    let env = Env::new();
    let with_nonce = env.mint(&voucher(&env).set("nonce", json!("n-1")));
    let without = env.mint(&voucher(&env));
    let other = env.mint(&voucher(&env).set("nonce", json!("n-1")));
    assert_eq!(env.refuse(&TranslateRequest { nonce: "n-2", ..env.request(&with_nonce) }), Reason::NonceMismatch);
    assert_eq!(env.refuse(&TranslateRequest { nonce: "n-2", ..env.request(&without) }), Reason::NonceMismatch);
    env.process(&TranslateRequest { nonce: "n-1", ..env.request(&other) }).expect("matching nonce");
}

#[test]
fn replay_is_refused_even_after_a_policy_refusal() {
    let env = Env::new();
    let jws = env.mint(&voucher(&env));
    env.process(&env.request(&jws)).expect("first use");
    assert_eq!(env.refuse(&env.request(&jws)), Reason::Replayed);

    // The jti is consumed once signature and time passed, whatever the
    // policy then says.
    let birnp = env.mint(&voucher(&env).set("person.bir_type", json!("BIRNP")));
    assert_eq!(env.refuse(&env.request(&birnp)), Reason::NotEligible);
    assert_eq!(env.refuse(&env.request(&birnp)), Reason::Replayed);
}

#[test]
fn trust_list_stale() {
    // Past the list's expiry (7 days) the domain fails closed.
    let env = Env::new();
    let later = env.now + Duration::days(8);
    let jws = env.mint(&MintOptions::new(Flow::HealthVoucher, later));
    assert_eq!(env.refuse_at(&env.request(&jws), later), Reason::TrustStale);

    // A list file that is already expired still loads; requests fail closed.
    let mut env = Env::new();
    let spec = TrustListSpec {
        issued_at: env.now - Duration::days(10),
        next_update: env.now - Duration::days(9),
        expires: env.now - Duration::seconds(1),
        ..TrustListSpec::new(2, env.now)
    };
    env.pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
    env.reload();
    assert_eq!(reason_of(&env, voucher(&env)), Reason::TrustStale);
}

#[test]
fn lists_from_unpinned_signers_do_not_load() {
    let env = Env::new();
    let spec = TrustListSpec { signer: ListSigner::Unpinned, ..TrustListSpec::new(2, env.now) };
    env.pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
    let errors = env.try_reload().err().expect("an unpinned list is refused");
    assert!(errors.iter().any(|e| e.message.contains("not pinned")), "{errors:?}");
}

#[test]
fn the_trace_holds_what_the_audit_needs_and_no_personal_data() {
    use hengqin_bridge::pipeline::{OpenSubjectGate, Trace, process_traced};
    let env = Env::new();
    let jws = env.mint(&voucher(&env));
    let mut trace = Trace::default();
    process_traced(&env.request(&jws), &env.snap, &env.replay, &OpenSubjectGate, env.now, &mut trace).unwrap();
    assert_eq!(trace.jurisdiction.as_deref(), Some("hengqin"));
    assert_eq!(trace.source_sha256.as_ref().map(String::len), Some(64));
    let subject = trace.subject.clone().unwrap();
    assert!(subject.len() == 64 && subject.bytes().all(|b| b.is_ascii_hexdigit()));

    let mut early = Trace::default();
    let bad = TranslateRequest { purpose: "tax-refund", ..env.request(&jws) };
    assert!(process_traced(&bad, &env.snap, &env.replay, &OpenSubjectGate, env.now, &mut early).is_err());
    assert_eq!(early, Trace::default());
}
