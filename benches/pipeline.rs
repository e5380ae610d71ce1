//! Criterion benches for every stage of the offline pipeline, the whole of
//! `pipeline::process` for each flow, and the public-key operations a
//! translation cannot avoid (ES256 verify, SM2 sign), measured in the same
//! run so that the non-crypto share can be read off, and the two SM2
//! signing backends side by side (`sm2/*`). The figures and the
//! machine they came from are in `BENCHMARKS.md`.
//!
//! Set-up is not timed: a test PKI in a temporary directory, the shipped
//! policies and mappings, and one assertion per flow minted at a fixed
//! `now` that every bench passes in (so nothing expires during a run).
//!
//! Replay: every iteration presents the same assertion, so the benches use
//! [`AcceptEveryJti`], a `ReplayGuard` that never refuses. The replay key
//! is still derived inside `trust::verify`; only the store lookup is left
//! out, and that is the edge's sled store, measured by the load harness.
//!
//! Stage inputs that can only be made by the stage before (`Verified` by
//! `trust::verify`, `Permitted` by `policy::permit`) are made once through
//! those functions and cloned per iteration outside the timed section.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{PkiOptions, generate};
use hengqin_bridge::intake::{self, Presented};
use hengqin_bridge::licence::{self, IssueInput, SignedLicence, jcs};
use hengqin_bridge::mapping;
use hengqin_bridge::model::{OutputFormat, PartnerId, PurposeId, TrustDomainId};
use hengqin_bridge::pipeline::{self, OpenSubjectGate, TranslateRequest};
use hengqin_bridge::policy::{self, Permitted, Request};
use hengqin_bridge::signing::{
    OpensslSm2Signer, RustCryptoSm2Signer, SM2_DEFAULT_ID, SM2_DEFAULT_ID_TEXT, Signer, ecdsa_raw_to_der, openssl_sm2,
    rustcrypto_sm2,
};
use hengqin_bridge::snapshot::Snapshot;
use hengqin_bridge::trust::{self, Anchors, Expectations, ReplayError, ReplayGuard, Role, Verified};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Duration;
use tempfile::TempDir;
use time::OffsetDateTime;

/// The nonce the real-name KYC partner's policy requires.
const KYC_NONCE: &str = "bench-nonce-0001";

/// Accepts every assertion id: the benches present one assertion many times.
struct AcceptEveryJti;

impl ReplayGuard for AcceptEveryJti {
    fn consume(&self, _: [u8; 32], _: OffsetDateTime, _: OffsetDateTime) -> Result<(), ReplayError> {
        Ok(())
    }
}

/// One flow: the partner the shipped policies give it, and its assertion.
struct Case {
    flow: Flow,
    partner: &'static str,
    nonce: &'static str,
    jws: String,
}

impl Case {
    fn request(&self) -> TranslateRequest<'_> {
        TranslateRequest {
            partner: self.partner,
            purpose: self.flow.purpose_id(),
            format: "",
            nonce: self.nonce,
            assertion: self.jws.as_bytes(),
        }
    }

    fn policy_request(&self) -> Request {
        Request {
            partner: PartnerId::parse(self.partner).expect("shipped partner id"),
            purpose: PurposeId::parse(self.flow.purpose_id()).expect("shipped purpose id"),
            format: OutputFormat::Gbt36903Json,
        }
    }
}

/// Everything the benches read, built once.
struct Fixture {
    _dir: TempDir,
    now: OffsetDateTime,
    snap: Snapshot,
    signer_key: PKey<Private>,
    /// The signer's certificate and key files, PEM, as the config names them.
    signer_pem: (Vec<u8>, Vec<u8>),
    cases: Vec<Case>,
}

impl Fixture {
    fn new() -> Fixture {
        let now = OffsetDateTime::now_utc();
        let dir = tempfile::tempdir().expect("temporary directory");
        let pki = generate(&dir.path().join("pki"), &PkiOptions::new(now)).expect("test pki");
        let config = Config::load(&pki.config_path(), |_| None).expect("generated config loads");
        let snap = Snapshot::load(&config, now).unwrap_or_else(|e| panic!("snapshot: {e:?}"));
        let key_pem = std::fs::read(&config.signer_key).expect("signer key");
        let signer_key = openssl_sm2::private_key_from_pem(&key_pem).expect("SM2 signer key");
        let cert_pem = std::fs::read(&config.signer_certificate).expect("signer certificate");
        let mint = |opts: MintOptions| mint_assertion(&pki, &opts).expect("minted assertion");
        let cases = vec![
            Case {
                flow: Flow::HealthVoucher,
                partner: "hq-clinic-0001",
                nonce: "",
                jws: mint(MintOptions::new(Flow::HealthVoucher, now)),
            },
            Case {
                flow: Flow::SocialSecurity,
                partner: "hq-ss-window",
                nonce: "",
                jws: mint(MintOptions::new(Flow::SocialSecurity, now)),
            },
            Case {
                flow: Flow::RealNameKyc,
                partner: "gz-insurer-0001",
                nonce: KYC_NONCE,
                jws: mint(MintOptions::new(Flow::RealNameKyc, now).set("nonce", json!(KYC_NONCE))),
            },
        ];
        Fixture { _dir: dir, now, snap, signer_key, signer_pem: (cert_pem, key_pem), cases }
    }

    /// The health-voucher flow: the one the per-stage benches use.
    fn voucher(&self) -> &Case {
        &self.cases[0]
    }

    fn expectations<'a>(&'a self, case: &'a Case) -> Expectations<'a> {
        let partner = self.snap.policies.partner(&case.policy_request().partner).expect("partner in the policies");
        let rules = self.snap.policies.source_rules();
        Expectations {
            gateway_id: &self.snap.gateway_id,
            clock_skew: rules.clock_skew,
            max_assertion_age: rules.max_assertion_age,
            nonce_required: partner.nonce_required,
            request_nonce: Some(case.nonce),
        }
    }

    fn presented(&self, case: &Case) -> Presented {
        intake::parse(case.jws.as_bytes()).expect("assertion parses")
    }

    fn verified(&self, case: &Case) -> Verified {
        trust::verify(self.presented(case), &self.snap.anchors, &self.expectations(case), &AcceptEveryJti, self.now)
            .expect("assertion verifies")
    }

    fn permitted(&self, case: &Case) -> Permitted {
        policy::permit(
            self.verified(case),
            &self.snap.policies,
            &case.policy_request(),
            &self.snap.pseudonym_key,
            self.now,
        )
        .expect("policy permits")
    }

    /// What `pipeline::process` hands to `licence::issue`.
    fn issue_input<'a>(&'a self, permitted: &'a Permitted) -> IssueInput<'a> {
        pipeline::issue_input(permitted, &self.snap).expect("mapping renders")
    }

    fn licence(&self, case: &Case) -> SignedLicence {
        pipeline::process(&case.request(), &self.snap, &AcceptEveryJti, &OpenSubjectGate, self.now)
            .expect("licence issued")
    }

    /// Anchors over the same trust lists with an empty chain cache.
    fn fresh_anchors(&self) -> Anchors {
        let a = &self.snap.anchors;
        Anchors::new([TrustDomainId::Mo, TrustDomainId::CnGd].into_iter().filter_map(|d| a.domain(d).cloned()))
    }
}

fn intake_stage(c: &mut Criterion, fx: &Fixture) {
    let jws = fx.voucher().jws.as_bytes();
    let mut g = c.benchmark_group("intake");
    g.bench_function("parse", |b| b.iter(|| intake::parse(black_box(jws)).expect("parses")));
    // What the pipeline does: once `trust::verify` has put the chain in the
    // validated-chain cache, its certificates are not decoded again.
    fx.verified(fx.voucher());
    let known = fx.snap.anchors.decoded(Role::EidAssertionIssuer);
    g.bench_function("parse_known_chain", |b| b.iter(|| intake::parse_with(black_box(jws), &known).expect("parses")));
    g.finish();
}

fn trust_stage(c: &mut Criterion, fx: &Fixture) {
    let case = fx.voucher();
    let presented = fx.presented(case);
    let expect = fx.expectations(case);
    let x5c = &presented.header.x5c;
    let mut g = c.benchmark_group("trust");
    g.bench_function("verify/warm_chain", |b| {
        b.iter_batched(
            || presented.clone(),
            |p| trust::verify(p, &fx.snap.anchors, &expect, &AcceptEveryJti, fx.now).expect("verifies"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("verify/cold_chain", |b| {
        b.iter_batched(
            || (presented.clone(), fx.fresh_anchors()),
            |(p, anchors)| {
                let v = trust::verify(p, &anchors, &expect, &AcceptEveryJti, fx.now).expect("verifies");
                (v, anchors)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("validate_chain/warm", |b| {
        b.iter(|| {
            fx.snap.anchors.validate_chain(TrustDomainId::Mo, Role::EidAssertionIssuer, x5c, fx.now).expect("valid")
        })
    });
    g.bench_function("validate_chain/cold", |b| {
        b.iter_batched(
            || fx.fresh_anchors(),
            |anchors| {
                let v = anchors.validate_chain(TrustDomainId::Mo, Role::EidAssertionIssuer, x5c, fx.now);
                (v.expect("valid"), anchors)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("parse_claims", |b| b.iter(|| intake::parse_claims(&presented.payload).expect("claims")));
    g.finish();
}

fn policy_stage(c: &mut Criterion, fx: &Fixture) {
    let case = fx.voucher();
    let verified = fx.verified(case);
    let request = case.policy_request();
    let mut g = c.benchmark_group("policy");
    g.bench_function("subject_pseudonym", |b| {
        let bir = verified.claims().person.bir_number.as_str();
        b.iter(|| fx.snap.pseudonym_key.pseudonym(&request.partner, black_box(bir)))
    });
    g.bench_function("evaluate", |b| {
        b.iter(|| policy::evaluate(verified.claims(), &fx.snap.policies, &request, fx.now))
    });
    g.bench_function("permit", |b| {
        b.iter_batched(
            || verified.clone(),
            |v| policy::permit(v, &fx.snap.policies, &request, &fx.snap.pseudonym_key, fx.now).expect("permits"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn mapping_stage(c: &mut Criterion, fx: &Fixture) {
    let case = fx.voucher();
    let permitted = fx.permitted(case);
    let m = fx.snap.mappings.get(permitted.mapping_id()).expect("mapping loaded");
    let name = fx.verified(case).claims().person.name_zh_hant.clone();
    let mut g = c.benchmark_group("mapping");
    g.bench_function("map", |b| b.iter(|| mapping::map(&permitted, m).expect("renders")));
    g.bench_function("zh_hans_name", |b| b.iter(|| fx.snap.mappings.names().convert(black_box(&name))));
    g.finish();
}

fn licence_stage(c: &mut Criterion, fx: &Fixture) {
    let permitted = fx.permitted(fx.voucher());
    let input = fx.issue_input(&permitted);
    let signed = fx.licence(fx.voucher());
    let record: Value = serde_json::from_slice(&signed.bytes).expect("licence is JSON");
    let mut g = c.benchmark_group("licence");
    g.bench_function("issue", |b| {
        b.iter_batched(
            || input.clone(),
            |i| licence::issue(i, &fx.snap.issuer, fx.snap.signer.as_ref(), fx.now).expect("issued"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("jcs_canonicalize", |b| b.iter(|| jcs::canonicalize(black_box(&record)).expect("canonical")));
    g.bench_function("verify/signature", |b| b.iter(|| licence::verify(&signed.bytes, None, fx.now).expect("checked")));
    g.bench_function("verify/signature_and_signer_chain", |b| {
        b.iter(|| licence::verify(&signed.bytes, Some(&fx.snap.anchors), fx.now).expect("checked"))
    });
    g.finish();
}

fn whole_pipeline(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("process");
    for case in &fx.cases {
        let req = case.request();
        g.bench_function(case.flow.purpose_id(), |b| {
            b.iter(|| pipeline::process(&req, &fx.snap, &AcceptEveryJti, &OpenSubjectGate, fx.now).expect("licence"))
        });
    }
    g.finish();
}

/// The public-key operations alone, on the same inputs the stages see.
///
/// `sm2_sign` is the crate's `openssl_sm2::sign` (key check, context with
/// the GM/T 0009 ID, SM3, sign); `sm2_sign_evp` is OpenSSL's digest-sign
/// with SM3 on the same key and message through the safe API, which uses
/// the empty ID: the same arithmetic (the ID is 16 bytes more of the one
/// Z_A hash), so it stands for the signature itself.
fn raw_crypto(c: &mut Criterion, fx: &Fixture) {
    let presented = fx.presented(fx.voucher());
    let leaf: PKey<Public> =
        X509::from_der(&presented.header.x5c[0]).and_then(|c| c.public_key()).expect("leaf public key");
    let es256_der = ecdsa_raw_to_der(&presented.signature).expect("raw ES256 signature");
    let message = unsigned_record(fx);
    let sm2_sig = openssl_sm2::sign(&fx.signer_key, SM2_DEFAULT_ID, &message).expect("signs");
    let signer_cert = X509::from_der(fx.snap.signer.certificate_der()).expect("signer certificate");
    let sm2_public = openssl_sm2::public_key_of(&signer_cert).expect("SM2 public key");

    let mut g = c.benchmark_group("crypto");
    g.bench_function("es256_verify", |b| {
        b.iter(|| {
            let mut v = Verifier::new(MessageDigest::sha256(), &leaf).expect("verifier");
            assert!(v.verify_oneshot(&es256_der, &presented.signing_input).expect("verify runs"));
        })
    });
    g.bench_function("sm2_sign", |b| {
        b.iter(|| openssl_sm2::sign(&fx.signer_key, SM2_DEFAULT_ID, black_box(&message)).expect("signs"))
    });
    g.bench_function("sm2_sign_evp", |b| {
        b.iter(|| {
            let mut s = openssl::sign::Signer::new(MessageDigest::sm3(), &fx.signer_key).expect("signer");
            s.update(black_box(&message)).expect("digests");
            s.sign_to_vec().expect("signs")
        })
    });
    g.bench_function("sm2_verify", |b| {
        b.iter(|| openssl_sm2::verify(sm2_public.as_pkey(), SM2_DEFAULT_ID, &message, &sm2_sig).expect("verify runs"))
    });
    g.finish();
}

/// The two licence signers (`[signer] backend`) through the `Signer` trait,
/// as `licence::issue` calls them, on the record's canonical bytes; and a
/// verification of the same signature by each library (every signature is
/// checked against the other library first, outside the timing).
fn sm2_backends(c: &mut Criterion, fx: &Fixture) {
    let (cert_pem, key_pem) = &fx.signer_pem;
    let openssl_signer = OpensslSm2Signer::from_pem(cert_pem, key_pem).expect("OpenSSL signer");
    let rustcrypto_signer = RustCryptoSm2Signer::from_pem(cert_pem, key_pem).expect("RustCrypto signer");
    let message = unsigned_record(fx);
    let signer_cert = X509::from_der(fx.snap.signer.certificate_der()).expect("signer certificate");
    let public = openssl_sm2::public_key_of(&signer_cert).expect("SM2 public key");
    let point = rustcrypto_signer.public_key_uncompressed().to_vec();
    let from_openssl = openssl_signer.sign(&message).expect("signs");
    let from_rustcrypto = rustcrypto_signer.sign(&message).expect("signs");
    assert!(rustcrypto_sm2::verify(&point, SM2_DEFAULT_ID_TEXT, &message, &from_openssl).expect("verify runs"));
    assert!(openssl_sm2::verify(public.as_pkey(), SM2_DEFAULT_ID, &message, &from_rustcrypto).expect("verify runs"));

    let mut g = c.benchmark_group("sm2");
    g.bench_function("sign/openssl", |b| b.iter(|| openssl_signer.sign(black_box(&message)).expect("signs")));
    g.bench_function("sign/rustcrypto", |b| b.iter(|| rustcrypto_signer.sign(black_box(&message)).expect("signs")));
    g.bench_function("verify/openssl", |b| {
        b.iter(|| {
            openssl_sm2::verify(public.as_pkey(), SM2_DEFAULT_ID, &message, black_box(&from_rustcrypto)).expect("runs")
        })
    });
    g.bench_function("verify/rustcrypto", |b| {
        b.iter(|| {
            rustcrypto_sm2::verify(&point, SM2_DEFAULT_ID_TEXT, &message, black_box(&from_openssl)).expect("runs")
        })
    });
    g.finish();
}

/// OpenSSL 3.0 calls on the request path that are not signatures but cost
/// like them: decoding a certificate (its public key goes through the
/// provider decoders), encoding a public key (what the SM2 key check does
/// before every signature), and exporting a freshly decoded provider key
/// to a legacy `EC_KEY` (intake's key-type check; OpenSSL caches the
/// export on the key, so only a fresh key shows the cost).
fn openssl_overheads(c: &mut Criterion, fx: &Fixture) {
    let presented = fx.presented(fx.voucher());
    let leaf_der = &presented.header.x5c[0];
    let mut g = c.benchmark_group("openssl");
    g.bench_function("x509_from_der_leaf", |b| b.iter(|| X509::from_der(black_box(leaf_der)).expect("certificate")));
    g.bench_function("sm2_public_key_to_der", |b| {
        b.iter(|| fx.signer_key.public_key_to_der().expect("SubjectPublicKeyInfo"))
    });
    g.bench_function("pkey_to_ec_key", |b| {
        b.iter_batched(
            || X509::from_der(leaf_der).and_then(|c| c.public_key()).expect("leaf public key"),
            |key| (key.ec_key().expect("EC key"), key),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The canonical bytes an issued record's signature covers.
fn unsigned_record(fx: &Fixture) -> Vec<u8> {
    let signed = fx.licence(fx.voucher());
    let mut record: Value = serde_json::from_slice(&signed.bytes).expect("licence is JSON");
    record.as_object_mut().expect("object").remove("signature");
    jcs::canonicalize(&record).expect("canonical")
}

fn benches(c: &mut Criterion) {
    let fx = Fixture::new();
    intake_stage(c, &fx);
    trust_stage(c, &fx);
    policy_stage(c, &fx);
    mapping_stage(c, &fx);
    licence_stage(c, &fx);
    whole_pipeline(c, &fx);
    raw_crypto(c, &fx);
    sm2_backends(c, &fx);
    openssl_overheads(c, &fx);
}

fn config() -> Criterion {
    Criterion::default().sample_size(50).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = pipeline_benches;
    config = config();
    targets = benches
}
criterion_main!(pipeline_benches);
