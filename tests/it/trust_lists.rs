//! Trust lists (DESIGN §3): accepted only with a pinned signer's valid
//! signature, a sequence not below the accepted one and before `expires`;
//! and the validated-chain cache bounded by the CRL's `nextUpdate`.

use crate::support::Env;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::dev::pki::{ListSigner, SignerKind, TrustListSpec};
use hengqin_bridge::intake::{DecodedChains, LeafKey};
use hengqin_bridge::model::{Reason, TrustDomainId};
use hengqin_bridge::trust::{ListError, Role, TrustError, list};
use time::Duration;

const MO: TrustDomainId = TrustDomainId::Mo;

fn pins(env: &Env, domain: TrustDomainId) -> Vec<String> {
    vec![env.pki.list_signer_pin(domain).unwrap()]
}

#[test]
fn both_signature_profiles_are_accepted_from_pinned_signers() {
    let env = Env::new();
    for domain in [TrustDomainId::Mo, TrustDomainId::CnGd] {
        let jws = env.pki.trust_list(domain, &TrustListSpec::new(5, env.now)).unwrap();
        let l = list::accept(jws.as_bytes(), domain, &pins(&env, domain), None, env.now).unwrap();
        assert_eq!((l.domain, l.sequence), (domain, 5));
        // A list for one domain is not accepted for the other.
        let other = if domain == MO { TrustDomainId::CnGd } else { MO };
        assert!(list::accept(jws.as_bytes(), other, &pins(&env, domain), None, env.now).is_err());
    }
}

#[test]
fn refusals() {
    let env = Env::new();
    let p = pins(&env, MO);
    let accepted = list::accept(
        env.pki.trust_list(MO, &TrustListSpec::new(7, env.now)).unwrap().as_bytes(),
        MO,
        &p,
        None,
        env.now,
    )
    .unwrap();

    let lower = env.pki.trust_list(MO, &TrustListSpec::new(6, env.now)).unwrap();
    assert_eq!(
        list::accept(lower.as_bytes(), MO, &p, Some(&accepted), env.now).unwrap_err(),
        ListError::Rollback { accepted: 7, found: 6 }
    );
    let same_seq_other_content = env
        .pki
        .trust_list(MO, &TrustListSpec { next_update: env.now + Duration::hours(2), ..TrustListSpec::new(7, env.now) })
        .unwrap();
    assert_eq!(
        list::accept(same_seq_other_content.as_bytes(), MO, &p, Some(&accepted), env.now).unwrap_err(),
        ListError::SequenceReused(7)
    );
    let higher = env.pki.trust_list(MO, &TrustListSpec::new(8, env.now)).unwrap();
    assert_eq!(list::accept(higher.as_bytes(), MO, &p, Some(&accepted), env.now).unwrap().sequence, 8);

    let unpinned = env
        .pki
        .trust_list(MO, &TrustListSpec { signer: ListSigner::Unpinned, ..TrustListSpec::new(9, env.now) })
        .unwrap();
    assert_eq!(list::accept(unpinned.as_bytes(), MO, &p, None, env.now).unwrap_err(), ListError::UnpinnedSigner);

    let expired = env
        .pki
        .trust_list(
            MO,
            &TrustListSpec {
                issued_at: env.now - Duration::days(9),
                next_update: env.now - Duration::days(8),
                expires: env.now - Duration::days(1),
                ..TrustListSpec::new(9, env.now)
            },
        )
        .unwrap();
    assert_eq!(list::accept(expired.as_bytes(), MO, &p, None, env.now).unwrap_err(), ListError::Expired);

    // Tampered payload: a different sequence under the old signature.
    let good = env.pki.trust_list(MO, &TrustListSpec::new(10, env.now)).unwrap();
    let other = env.pki.trust_list(MO, &TrustListSpec::new(11, env.now)).unwrap();
    let g: Vec<&str> = good.split('.').collect();
    let o: Vec<&str> = other.split('.').collect();
    let spliced = format!("{}.{}.{}", g[0], o[1], g[2]);
    assert_eq!(list::accept(spliced.as_bytes(), MO, &p, None, env.now).unwrap_err(), ListError::BadSignature);
    let i = g[0].len() + 5;
    let mut flipped = good.clone().into_bytes();
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    assert!(list::accept(&flipped, MO, &p, None, env.now).is_err());
}

#[test]
fn rotation_with_two_pinned_signers() {
    let env = Env::new();
    let next = env.pki.add_next_list_signer(MO).unwrap();
    let current = env.pki.list_signer_pin(MO).unwrap();
    let both = vec![current.clone(), next.clone()];
    let by_next =
        env.pki.trust_list(MO, &TrustListSpec { signer: ListSigner::Next, ..TrustListSpec::new(2, env.now) }).unwrap();
    assert!(list::accept(by_next.as_bytes(), MO, &[current], None, env.now).is_err());
    let l = list::accept(by_next.as_bytes(), MO, &both, None, env.now).unwrap();
    assert_eq!(l.signer_pin, next);
}

#[test]
fn chain_cache_is_bounded_by_the_crl_next_update() {
    let mut env = Env::new();
    // A list valid for 30 days carrying a CRL whose nextUpdate is in 7 days.
    let spec = TrustListSpec { expires: env.now + Duration::days(30), ..TrustListSpec::new(2, env.now) };
    env.pki.write_trust_list(MO, &spec).unwrap();
    env.reload();
    let signer = env.pki.signer(SignerKind::Default).unwrap();
    let x5c: Vec<Vec<u8>> = signer.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let anchors = &env.snap.anchors;
    assert_eq!(anchors.cached_chains(), 0);
    let first = anchors.validate_chain(MO, Role::EidAssertionIssuer, &x5c, env.now).unwrap();
    assert_eq!(anchors.cached_chains(), 1);
    let again = anchors.validate_chain(MO, Role::EidAssertionIssuer, &x5c, env.now + Duration::days(6)).unwrap();
    assert_eq!(again.entry_id, first.entry_id);
    assert_eq!(anchors.cached_chains(), 1);
    // Past the CRL's nextUpdate the cached result no longer counts: the
    // chain is validated again and the stale CRL fails closed.
    let after = anchors.validate_chain(MO, Role::EidAssertionIssuer, &x5c, env.now + Duration::days(8)).unwrap_err();
    assert_eq!(after, TrustError::RevocationUnknown);
    assert_eq!(after.reason(), Reason::RevocationUnknown);
}

#[test]
fn a_new_list_starts_with_an_empty_cache_and_sees_revocations() {
    let mut env = Env::new();
    let jws = env.mint(&MintOptions::new(Flow::HealthVoucher, env.now));
    env.process(&env.request(&jws)).expect("licence");
    assert_eq!(env.snap.anchors.cached_chains(), 1);
    env.pki.revoke_assertion_signer().unwrap();
    env.reload();
    assert_eq!(env.snap.anchors.cached_chains(), 0);
    let jws = env.mint(&MintOptions::new(Flow::HealthVoucher, env.now));
    assert_eq!(env.refuse(&env.request(&jws)), Reason::CertRevoked);
}

#[test]
fn intake_skips_decoding_only_for_chains_the_cache_validated() {
    let env = Env::new();
    let signer = env.pki.signer(SignerKind::Default).unwrap();
    let x5c: Vec<Vec<u8>> = signer.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let anchors = &env.snap.anchors;
    let known = anchors.decoded(Role::EidAssertionIssuer);
    assert_eq!(known.leaf_key(&x5c), None);
    anchors.validate_chain(MO, Role::EidAssertionIssuer, &x5c, env.now).unwrap();
    assert_eq!(known.leaf_key(&x5c), Some(LeafKey::P256));
    // Another role, another chain, or the same certificates followed by
    // anything: not known.
    assert_eq!(anchors.decoded(Role::BridgeSignerCa).leaf_key(&x5c), None);
    assert_eq!(known.leaf_key(&x5c[..1]), None);
    let mut trailing = x5c.clone();
    trailing[0].extend_from_slice(&[0, 0]);
    assert_eq!(known.leaf_key(&trailing), None);
    // Trust decodes with intake's rule, so such bytes never enter the cache.
    let refused = anchors.validate_chain(MO, Role::EidAssertionIssuer, &trailing, env.now).unwrap_err();
    assert_eq!(refused.reason(), Reason::UntrustedChain);
    assert_eq!(known.leaf_key(&trailing), None);
}

#[test]
fn a_cached_chain_gets_the_same_refusals_as_a_fresh_one() {
    let env = Env::new();
    let good = env.mint(&MintOptions::new(Flow::HealthVoucher, env.now));
    let wrong_alg = env.mint(&MintOptions { alg: Some("RS256"), ..MintOptions::new(Flow::HealthVoucher, env.now) });
    assert_eq!(env.refuse(&env.request(&wrong_alg)), Reason::UnsupportedAlgorithm);
    env.process(&env.request(&good)).expect("licence");
    assert_eq!(env.snap.anchors.cached_chains(), 1);
    assert_eq!(env.refuse(&env.request(&wrong_alg)), Reason::UnsupportedAlgorithm);
    assert_eq!(env.refuse(&env.request(&good)), Reason::Replayed);
}
