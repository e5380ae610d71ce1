//! The public-key operations one translation cannot avoid, timed in the
//! harness process on the server's own inputs and keys: the ES256 verify
//! of an assertion (OpenSSL, as `trust` does it) and the SM2 signature of
//! a licence's canonical bytes through the node's configured `Signer`
//! (whatever backend the config selects). CPU time of the timing thread,
//! so the figures compare with the server's CPU time per translation.

use crate::server::thread_cpu;
use hengqin_bridge::config::Config;
use hengqin_bridge::intake;
use hengqin_bridge::licence::jcs;
use hengqin_bridge::signing::{ecdsa_raw_to_der, openssl_sm2};
use hengqin_bridge::snapshot::Snapshot;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::Value;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// CPU time per operation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CryptoCost {
    /// SHA-256 + ECDSA P-256 verify of the assertion's signing input.
    pub es256_verify: Duration,
    /// `Signer::sign` of the node's signer on the licence's canonical bytes.
    pub sm2_sign: Duration,
    /// OpenSSL's digest-sign (SM3 + SM2) on the same key and bytes, nothing
    /// else: the signature arithmetic alone.
    pub sm2_sign_bare: Duration,
    /// Bytes the SM2 signature covers.
    pub message_bytes: usize,
}

impl CryptoCost {
    /// What one translation spends on public-key operations.
    pub fn per_translation(&self) -> Duration {
        self.es256_verify + self.sm2_sign
    }

    /// The same with the bare signature.
    pub fn per_translation_bare(&self) -> Duration {
        self.es256_verify + self.sm2_sign_bare
    }

    /// The mean of two measurements (before and after the load).
    pub fn mean(&self, other: &CryptoCost) -> CryptoCost {
        CryptoCost {
            es256_verify: (self.es256_verify + other.es256_verify) / 2,
            sm2_sign: (self.sm2_sign + other.sm2_sign) / 2,
            sm2_sign_bare: (self.sm2_sign_bare + other.sm2_sign_bare) / 2,
            message_bytes: self.message_bytes,
        }
    }
}

/// Times each operation for about `budget` of CPU.
pub fn measure(config: &Path, assertion: &str, licence: &[u8], budget: Duration) -> CryptoCost {
    let cfg = Config::load(config, |_| None).expect("config loads");
    let snap = Snapshot::load(&cfg, OffsetDateTime::now_utc()).unwrap_or_else(|e| panic!("snapshot: {e:?}"));
    let presented = intake::parse(assertion.as_bytes()).expect("assertion parses");
    let leaf = X509::from_der(&presented.header.x5c[0]).and_then(|c| c.public_key()).expect("leaf key");
    let mut record: Value = serde_json::from_slice(licence).expect("the licence is JSON");
    record.as_object_mut().expect("a JSON object").remove("signature");
    let message = jcs::canonicalize(&record).expect("canonical bytes");
    let key = openssl_sm2::private_key_from_pem(&std::fs::read(&cfg.signer_key).expect("signer key")).expect("SM2 key");

    let es256_verify = per_op(budget, || {
        let der = ecdsa_raw_to_der(&presented.signature).expect("raw signature");
        let mut v = Verifier::new(MessageDigest::sha256(), &leaf).expect("verifier");
        assert!(v.verify_oneshot(&der, &presented.signing_input).expect("verify runs"));
    });
    let sm2_sign = per_op(budget, || {
        black_box(snap.signer.sign(black_box(&message)).expect("signs"));
    });
    let sm2_sign_bare = per_op(budget, || {
        let mut s = openssl::sign::Signer::new(MessageDigest::sm3(), &key).expect("signer");
        s.update(black_box(&message)).expect("digests");
        black_box(s.sign_to_vec().expect("signs"));
    });
    CryptoCost { es256_verify, sm2_sign, sm2_sign_bare, message_bytes: message.len() }
}

/// CPU time per call of `op`. The thread's CPU time advances in
/// scheduler ticks, so a short run cannot be timed with it: a run of about
/// `budget` is sized by the wall clock and timed as a whole.
fn per_op(budget: Duration, mut op: impl FnMut()) -> Duration {
    let probe = Instant::now();
    let mut calls = 0u32;
    while calls < 5 || probe.elapsed() < budget / 10 {
        op();
        calls += 1;
    }
    let n = (budget.as_nanos() / (probe.elapsed() / calls).as_nanos().max(1)).clamp(20, 1_000_000) as u32;
    let start = thread_cpu();
    for _ in 0..n {
        op();
    }
    (thread_cpu() - start) / n
}
