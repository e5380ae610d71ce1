//! Trust lists over arbitrary bytes, two ways:
//!
//! 1. the input as a whole compact JWS, with the certificate in its own
//!    `x5c` pinned, so the header, the certificate and the signature check
//!    are reached (a forged signature still fails there);
//! 2. the input as the payload of a list that the domain's pinned signer
//!    signed (the domain is CN-GD when the input names it, else MO), so the
//!    payload reader and the list rules run behind a valid signature,
//!    against the published list as the one held before.
//!
//! Either way the answer is a list or a refusal, never a panic; an accepted
//! list keeps the rules of DESIGN §3 and is accepted again over itself.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use fuzz_fixtures::{ListSigner, NOW, material};
use hengqin_bridge::model::TrustDomainId;
use hengqin_bridge::trust::list::{self, MAX_ENTRIES, Role, TrustList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = material();
    let mut pins = vec![m.mo.pin.clone(), m.cn_gd.pin.clone()];
    pins.extend(own_pin(data));
    for domain in [TrustDomainId::Mo, TrustDomainId::CnGd] {
        if let Ok(l) = list::verify(data, domain, &pins) {
            check(&l, domain);
        }
    }

    let signer = if contains(data, b"CN-GD") { &m.cn_gd } else { &m.mo };
    signed_payload(signer, data);
});

fn signed_payload(signer: &ListSigner, payload: &[u8]) {
    let jws = signer.sign(&signer.header(), payload);
    let pins = [signer.pin.clone()];
    let previous = &signer.published;
    let Ok(l) = list::accept(&jws, signer.domain, &pins, Some(previous), NOW) else { return };
    check(&l, signer.domain);
    assert!(l.sequence >= previous.sequence, "no rollback");
    assert!(l.sequence > previous.sequence || l.content_sha256 == previous.content_sha256);
    assert_eq!(l.content_sha256, hex::encode(openssl::sha::sha256(payload)));
    assert!(l.is_current(NOW));
    let again = list::accept(&jws, signer.domain, &pins, Some(&l), NOW);
    assert!(again.is_ok(), "the same list is accepted over itself: {again:?}");
}

fn check(l: &TrustList, domain: TrustDomainId) {
    assert_eq!(l.domain, domain);
    assert!(l.entries.len() <= MAX_ENTRIES);
    for e in &l.entries {
        let allowed = match domain {
            TrustDomainId::Mo => e.role == Role::EidAssertionIssuer && !e.issuers.is_empty(),
            TrustDomainId::CnGd => matches!(e.role, Role::PartnerClientCa | Role::BridgeSignerCa),
        };
        assert!(allowed, "entry {} has role {:?} in {domain}", e.id, e.role);
    }
}

/// The pin of the first `x5c` certificate of a compact JWS's header, when
/// there is one to read.
fn own_pin(jws: &[u8]) -> Option<String> {
    let header = jws.split(|&b| b == b'.').next()?;
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let der = STANDARD.decode(header.get("x5c")?.get(0)?.as_str()?).ok()?;
    Some(hex::encode(openssl::sha::sha256(&der)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
