//! Intake over arbitrary bytes: `parse` (a compact JWS) and `parse_claims`
//! (a payload) return a value or a refusal, never panic, and what they
//! accept keeps the profile's bounds.
//!
//! Each input is tried both ways, so the seeds hold minted assertions and
//! their decoded payloads.
#![no_main]

use hengqin_bridge::intake::{
    self, Claims, MAX_ASSERTION_BYTES, MAX_AUD_CHARS, MAX_ISS_CHARS, MAX_JTI_CHARS, MAX_NAME_LATIN_CHARS,
    MAX_NAME_ZH_HANT_CHARS, MAX_NONCE_CHARS, MAX_NUMERIC_DATE, MAX_X5C, RELEASABLE_PATHS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match intake::parse(data) {
        Ok(p) => {
            assert!(data.len() <= MAX_ASSERTION_BYTES);
            assert!(data.starts_with(&p.signing_input), "the signing input is the first two segments");
            assert_eq!(data.get(p.signing_input.len()), Some(&b'.'));
            assert!((1..=MAX_X5C).contains(&p.header.x5c.len()));
            if let Ok(claims) = intake::parse_claims(&p.payload) {
                check(&claims);
            }
        }
        Err(e) => {
            let _ = e.reason();
        }
    }
    if let Ok(claims) = intake::parse_claims(data) {
        check(&claims);
    }
});

/// What the claim syntax promises of accepted claims.
fn check(c: &Claims) {
    let chars = |s: &str| s.chars().count();
    assert!((1..=MAX_ISS_CHARS).contains(&chars(&c.iss)));
    assert!((1..=MAX_AUD_CHARS).contains(&chars(&c.aud)));
    assert!((1..=MAX_JTI_CHARS).contains(&chars(&c.jti)));
    assert!(c.nonce.as_deref().is_none_or(|n| (1..=MAX_NONCE_CHARS).contains(&chars(n))));
    for t in [c.iat, c.exp].into_iter().chain(c.nbf) {
        assert!((0..=MAX_NUMERIC_DATE).contains(&t));
    }
    for name in [&c.person.name_zh_hant, &c.person.name_latin] {
        assert!(!name.trim().is_empty() && !name.chars().any(char::is_control));
    }
    assert!(chars(&c.person.name_zh_hant) <= MAX_NAME_ZH_HANT_CHARS);
    assert!(chars(&c.person.name_latin) <= MAX_NAME_LATIN_CHARS);
    for path in RELEASABLE_PATHS {
        let _ = c.value_at(path);
    }
}
