//! `parse`: size, framing, header, key type, signature length.

use super::fixtures::*;
use crate::intake::IntakeError::{self, Malformed, TooLarge, UnsupportedAlgorithm};
use crate::intake::{Alg, DecodedChains, LeafKey, MAX_ASSERTION_BYTES, parse, parse_with};
use crate::model::Reason;
use serde_json::{Value, json};

const NOT_B64URL_HEADER: IntakeError = Malformed("header is not base64url without padding");
const NOT_B64URL_PAYLOAD: IntakeError = Malformed("payload is not base64url without padding");
const NOT_B64URL_SIGNATURE: IntakeError = Malformed("signature is not base64url without padding");
const THREE_SEGMENTS: IntakeError = Malformed("a compact JWS has exactly three segments");
const WRONG_ALG: IntakeError = UnsupportedAlgorithm("alg is not ES256, PS256 or RS256");
const KEY_MISMATCH: IntakeError = UnsupportedAlgorithm("leaf key type does not match alg");
const SMALL_RSA: IntakeError = UnsupportedAlgorithm("RSA key is under 2048 bits");
const UNREADABLE_KEY: IntakeError = UnsupportedAlgorithm("leaf key type is not supported");
const BAD_X5C_B64: IntakeError = Malformed("header x5c entry is not standard base64");
const BAD_X5C_DER: IntakeError = Malformed("header x5c entry is not a DER certificate");

fn check(cases: Vec<(&str, String, Result<(), IntakeError>)>) {
    for (name, input, expected) in cases {
        let got = parse(input.as_bytes()).map(drop);
        assert_eq!(got, expected, "case: {name}");
        if let Err(e) = got {
            let reason = match e {
                TooLarge => Reason::AssertionTooLarge,
                Malformed(_) => Reason::MalformedAssertion,
                UnsupportedAlgorithm(_) => Reason::UnsupportedAlgorithm,
            };
            assert_eq!(e.reason(), reason, "case: {name}");
        }
    }
}

/// The ES256 header with one member replaced (`None` removes it).
fn es256_with(member: &str, value: Option<Value>) -> Value {
    let mut h = es256_header();
    let members = h.as_object_mut().unwrap();
    match value {
        Some(v) => members.insert(member.to_owned(), v),
        None => members.remove(member),
    };
    h
}

fn with_header(header: Value) -> String {
    compact(&header, "{}", 64)
}

/// A valid ES256 assertion of exactly `total` bytes. A base64url segment
/// can't have every length (never 1 mod 4), so both the payload and the
/// header carry an unknown, padded member.
fn padded_to(total: usize) -> String {
    let build = |header_pad: usize, payload_pad: usize| {
        let mut h = es256_header();
        h["x-pad"] = json!("h".repeat(header_pad));
        compact(&h, &format!(r#"{{"pad":"{}"}}"#, "p".repeat(payload_pad)), 64)
    };
    let estimate = (total - build(0, 0).len()) / 4 * 3;
    (0..4)
        .flat_map(|h| (estimate.saturating_sub(6)..estimate + 6).map(move |p| (h, p)))
        .map(|(h, p)| build(h, p))
        .find(|jws| jws.len() == total)
        .expect("some padding reaches the exact length")
}

#[test]
fn size_limit() {
    let exact = padded_to(MAX_ASSERTION_BYTES);
    assert_eq!(exact.len(), MAX_ASSERTION_BYTES);
    let over = padded_to(MAX_ASSERTION_BYTES + 1);
    assert_eq!(over.len(), MAX_ASSERTION_BYTES + 1);
    check(vec![
        ("exactly 16 KiB", exact, Ok(())),
        ("16 KiB + 1", over, Err(TooLarge)),
        ("size is checked before framing", "x".repeat(MAX_ASSERTION_BYTES + 1), Err(TooLarge)),
    ]);
}

#[test]
fn framing() {
    let good = es256();
    let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let invalid_utf8 = compact_raw(b"{\"a\":\"\xff\"}", b"{}", &[0; 64]);
    check(vec![
        ("the valid baseline", good.clone(), Ok(())),
        ("two segments", format!("{h}.{p}"), Err(THREE_SEGMENTS)),
        ("four segments", format!("{h}.{p}.{s}.{s}"), Err(THREE_SEGMENTS)),
        ("one segment", h.to_owned(), Err(THREE_SEGMENTS)),
        ("empty input", String::new(), Err(THREE_SEGMENTS)),
        ("empty payload segment", format!("{h}..{s}"), Err(Malformed("empty JWS segment"))),
        ("empty signature segment", format!("{h}.{p}."), Err(Malformed("empty JWS segment"))),
        ("padded header", format!("{h}==.{p}.{s}"), Err(NOT_B64URL_HEADER)),
        ("padded payload", format!("{h}.e30=.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("padded signature", format!("{h}.{p}.{s}=="), Err(NOT_B64URL_SIGNATURE)),
        ("'+' in payload", format!("{h}.e3+.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("'/' in payload", format!("{h}.e3/.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("space in header", format!("{} {}.{p}.{s}", &h[..4], &h[4..]), Err(NOT_B64URL_HEADER)),
        ("newline in signature", format!("{h}.{p}.{}\n{}", &s[..4], &s[4..]), Err(NOT_B64URL_SIGNATURE)),
        ("trailing newline", format!("{good}\n"), Err(NOT_B64URL_SIGNATURE)),
        ("leading space", format!(" {good}"), Err(NOT_B64URL_HEADER)),
        // "e30" is `{}`; "e31" spells the same bytes with a stray low bit.
        ("non-canonical trailing bits", format!("{h}.e31.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("impossible length", format!("{h}.e30xx.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("non-ASCII", format!("{h}.e30é.{s}"), Err(NOT_B64URL_PAYLOAD)),
        ("header not UTF-8", invalid_utf8, Err(Malformed("header is not UTF-8"))),
        (
            "payload not UTF-8",
            format!("{h}.{}.{s}", b64url(b"{\"a\":\"\xc3\"}")),
            Err(Malformed("payload is not UTF-8")),
        ),
        ("header not JSON", format!("{}.{p}.{s}", b64url(b"{alg}")), Err(Malformed("header is not valid JSON"))),
        ("header an array", format!("{}.{p}.{s}", b64url(b"[]")), Err(Malformed("header is not a JSON object"))),
        ("payload not JSON", format!("{h}.{}.{s}", b64url(b"{\"a\":1,}")), Err(Malformed("payload is not valid JSON"))),
        ("payload a string", format!("{h}.{}.{s}", b64url(b"\"x\"")), Err(Malformed("payload is not a JSON object"))),
        (
            "payload with a BOM",
            format!("{h}.{}.{s}", b64url("\u{feff}{}".as_bytes())),
            Err(Malformed("payload is not valid JSON")),
        ),
    ]);
}

#[test]
fn duplicates_and_depth() {
    let h = b64url(es256_header().to_string().as_bytes());
    let s = b64url(&[0; 64]);
    let with_payload = |p: &str| format!("{h}.{}.{s}", b64url(p.as_bytes()));
    let header_text = es256_header().to_string();
    let dup_header = header_text.replacen('{', r#"{"typ":"mo-eid+jwt","#, 1);
    let escaped_dup = header_text.replacen('{', r#"{"\u0061lg":"ES256","#, 1);
    let nest = |n: usize| format!(r#"{{"x":{}1{}}}"#, "[".repeat(n - 1), "]".repeat(n - 1));
    let deep = format!(r#"{{"x":{}"#, "[".repeat(10_000));
    check(vec![
        (
            "duplicate in header",
            format!("{}.{}.{s}", b64url(dup_header.as_bytes()), b64url(b"{}")),
            Err(Malformed("duplicate member name in header")),
        ),
        (
            "duplicate by escape in header",
            format!("{}.{}.{s}", b64url(escaped_dup.as_bytes()), b64url(b"{}")),
            Err(Malformed("duplicate member name in header")),
        ),
        (
            "duplicate claim",
            with_payload(r#"{"jti":"a","jti":"b"}"#),
            Err(Malformed("duplicate member name in payload")),
        ),
        (
            "duplicate inside person",
            with_payload(r#"{"person":{"sex":"M","name":"x","sex":"F"}}"#),
            Err(Malformed("duplicate member name in payload")),
        ),
        (
            "duplicate deep in an array",
            with_payload(r#"{"a":[{"b":[{"c":1,"c":1}]}]}"#),
            Err(Malformed("duplicate member name in payload")),
        ),
        ("same name in sibling objects", with_payload(r#"{"a":{"c":1},"b":{"c":1}}"#), Ok(())),
        ("depth 16", with_payload(&nest(16)), Ok(())),
        ("depth 17", with_payload(&nest(17)), Err(Malformed("payload nesting is too deep"))),
        ("10k open brackets", with_payload(&deep), Err(Malformed("payload nesting is too deep"))),
    ]);
}

#[test]
fn alg() {
    let c = certs();
    check(vec![
        ("ES256 on P-256", with_header(header("ES256", &c.p256)), Ok(())),
        ("RS256 on RSA-2048", with_header(header("RS256", &c.rsa2048)), Ok(())),
        ("PS256 on RSA-2048", with_header(header("PS256", &c.rsa2048)), Ok(())),
        ("none", with_header(es256_with("alg", Some(json!("none")))), Err(WRONG_ALG)),
        ("HS256", with_header(es256_with("alg", Some(json!("HS256")))), Err(WRONG_ALG)),
        ("ES384", with_header(header("ES384", &c.p384)), Err(WRONG_ALG)),
        ("EdDSA", with_header(es256_with("alg", Some(json!("EdDSA")))), Err(WRONG_ALG)),
        ("lower-case es256", with_header(es256_with("alg", Some(json!("es256")))), Err(WRONG_ALG)),
        ("empty alg", with_header(es256_with("alg", Some(json!("")))), Err(WRONG_ALG)),
        ("missing alg", with_header(es256_with("alg", None)), Err(Malformed("header alg is missing"))),
        ("numeric alg", with_header(es256_with("alg", Some(json!(256)))), Err(Malformed("header alg is not a string"))),
        ("null alg", with_header(es256_with("alg", Some(Value::Null))), Err(Malformed("header alg is not a string"))),
        (
            "alg array",
            with_header(es256_with("alg", Some(json!(["ES256"])))),
            Err(Malformed("header alg is not a string")),
        ),
    ]);
}

#[test]
fn typ_crit_kid_and_ignored_members() {
    let typ = Malformed("header typ is not mo-eid+jwt");
    let kid = Malformed("header kid is not a string of at most 128 characters");
    check(vec![
        ("typ missing", with_header(es256_with("typ", None)), Err(Malformed("header typ is missing"))),
        ("typ JWT", with_header(es256_with("typ", Some(json!("JWT")))), Err(typ.clone())),
        ("typ upper case", with_header(es256_with("typ", Some(json!("MO-EID+JWT")))), Err(typ.clone())),
        (
            "typ with media prefix",
            with_header(es256_with("typ", Some(json!("application/mo-eid+jwt")))),
            Err(typ.clone()),
        ),
        ("typ not a string", with_header(es256_with("typ", Some(json!(1)))), Err(typ)),
        (
            "crit with an entry",
            with_header(es256_with("crit", Some(json!(["exp"])))),
            Err(Malformed("header crit is not accepted")),
        ),
        ("crit empty", with_header(es256_with("crit", Some(json!([])))), Err(Malformed("header crit is not accepted"))),
        (
            "crit null",
            with_header(es256_with("crit", Some(Value::Null))),
            Err(Malformed("header crit is not accepted")),
        ),
        ("kid 128", with_header(es256_with("kid", Some(json!("k".repeat(128))))), Ok(())),
        ("kid 128 non-ASCII", with_header(es256_with("kid", Some(json!("鍵".repeat(128))))), Ok(())),
        ("kid 129", with_header(es256_with("kid", Some(json!("k".repeat(129))))), Err(kid.clone())),
        ("kid number", with_header(es256_with("kid", Some(json!(7)))), Err(kid)),
        ("jku ignored", with_header(es256_with("jku", Some(json!("https://attacker.example/keys")))), Ok(())),
        ("x5u ignored", with_header(es256_with("x5u", Some(json!("https://attacker.example/cert")))), Ok(())),
        ("jwk ignored", with_header(es256_with("jwk", Some(json!({"kty": "oct", "k": "AAAA"})))), Ok(())),
        ("unknown member ignored", with_header(es256_with("x-extra", Some(json!({"a": [1, 2]})))), Ok(())),
    ]);
}

#[test]
fn x5c() {
    let leaf = std_b64(&certs().p256);
    let set = |v: Value| with_header(es256_with("x5c", Some(v)));
    assert!(leaf.contains(['+', '/']), "the test certificate must exercise the alphabet");
    let url_safe = leaf.replace('+', "-").replace('/', "_");
    // Whether this certificate's encoding ends in padding depends on its
    // length; the "AA" cases below do not.
    let unpadded = leaf.trim_end_matches('=').to_owned();
    let mut with_trailer = certs().p256.clone();
    with_trailer.extend_from_slice(&[0, 0]);
    let pem_wrapped = format!("{}\n{}", &leaf[..64], &leaf[64..]);
    let mut cases = vec![
        ("x5c of 4", set(json!([leaf, leaf, leaf, leaf])), Ok(())),
        ("x5c missing", with_header(es256_with("x5c", None)), Err(Malformed("header x5c is missing"))),
        ("x5c empty", set(json!([])), Err(Malformed("header x5c is empty"))),
        (
            "x5c of 5",
            set(json!([leaf, leaf, leaf, leaf, leaf])),
            Err(Malformed("header x5c has more than 4 certificates")),
        ),
        ("x5c a string", set(json!(leaf)), Err(Malformed("header x5c is not an array"))),
        ("x5c entry a number", set(json!([1])), Err(Malformed("header x5c entry is not a string"))),
        ("x5c second entry a number", set(json!([leaf, 1])), Err(Malformed("header x5c entry is not a string"))),
        ("x5c url-safe base64", set(json!([url_safe])), Err(BAD_X5C_B64)),
        ("x5c with a line break", set(json!([pem_wrapped])), Err(BAD_X5C_B64)),
        ("x5c empty string", set(json!([""])), Err(BAD_X5C_DER)),
        ("x5c garbage DER", set(json!(["AAAA"])), Err(BAD_X5C_DER)),
        ("x5c text DER", set(json!([std_b64(b"-----BEGIN CERTIFICATE-----")])), Err(BAD_X5C_DER)),
        ("x5c DER with trailing bytes", set(json!([std_b64(&with_trailer)])), Err(BAD_X5C_DER)),
        ("x5c second entry garbage", set(json!([leaf, "AAAA"])), Err(BAD_X5C_DER)),
    ];
    // Padding decides alone: "AA==" decodes (to bytes that are no
    // certificate), "AA" does not.
    cases.push(("x5c padded non-certificate", set(json!(["AA=="])), Err(BAD_X5C_DER)));
    cases.push(("x5c unpadded", set(json!(["AA"])), Err(BAD_X5C_B64)));
    cases.push(("x5c over-padded", set(json!(["AAAA=="])), Err(BAD_X5C_B64)));
    if unpadded != leaf {
        cases.push(("x5c certificate without padding", set(json!([unpadded])), Err(BAD_X5C_B64)));
    }
    check(cases);
}

#[test]
fn key_type_against_alg() {
    let c = certs();
    check(vec![
        ("ES256 with an RSA leaf", with_header(header("ES256", &c.rsa2048)), Err(KEY_MISMATCH)),
        ("ES256 with a P-384 leaf", with_header(header("ES256", &c.p384)), Err(KEY_MISMATCH)),
        ("RS256 with an EC leaf", compact(&header("RS256", &c.p256), "{}", 256), Err(KEY_MISMATCH)),
        ("PS256 with an EC leaf", compact(&header("PS256", &c.p256), "{}", 256), Err(KEY_MISMATCH)),
        ("RS256 with RSA-1024", compact(&header("RS256", &c.rsa1024), "{}", 128), Err(SMALL_RSA)),
        ("PS256 with RSA-1024", compact(&header("PS256", &c.rsa1024), "{}", 128), Err(SMALL_RSA)),
        (
            "only the leaf decides",
            with_header(json!({"alg": "ES256", "typ": "mo-eid+jwt",
            "x5c": [std_b64(&c.p256), std_b64(&c.rsa1024)]})),
            Ok(()),
        ),
    ]);
}

#[test]
fn signature_length() {
    let es = es256_header();
    let rs = header("RS256", &certs().rsa2048);
    let short = Malformed("ES256 signature is not 64 bytes");
    check(vec![
        ("ES256 64 bytes", compact(&es, "{}", 64), Ok(())),
        ("ES256 63 bytes", compact(&es, "{}", 63), Err(short.clone())),
        ("ES256 65 bytes", compact(&es, "{}", 65), Err(short.clone())),
        ("ES256 DER-encoded length", compact(&es, "{}", 71), Err(short)),
        ("RS256 one byte", compact(&rs, "{}", 1), Ok(())),
        ("RS256 256 bytes", compact(&rs, "{}", 256), Ok(())),
    ]);
}

/// With several faults, the first in DESIGN §7's order decides the code.
#[test]
fn order_of_checks() {
    let none_no_typ = json!({"alg": "none", "crit": ["b64"]});
    let huge_bad = format!("{}.{}", "=".repeat(MAX_ASSERTION_BYTES), "x");
    let dup_and_alg = r#"{"alg":"none","alg":"none"}"#;
    check(vec![
        ("size before framing", huge_bad, Err(TooLarge)),
        ("framing before header", format!("{}.e3=.AA", b64url(br#"{"alg":"none"}"#)), Err(NOT_B64URL_PAYLOAD)),
        (
            "duplicates before alg",
            compact_raw(dup_and_alg.as_bytes(), b"{}", &[0; 64]),
            Err(Malformed("duplicate member name in header")),
        ),
        (
            "payload JSON before alg",
            compact_raw(br#"{"alg":"none"}"#, b"[", &[0; 64]),
            Err(Malformed("payload is not valid JSON")),
        ),
        ("alg before typ and crit", compact(&none_no_typ, "{}", 64), Err(WRONG_ALG)),
        (
            "typ before crit",
            compact(&json!({"alg": "ES256", "crit": []}), "{}", 64),
            Err(Malformed("header typ is missing")),
        ),
        (
            "crit before x5c",
            compact(&json!({"alg": "ES256", "typ": "mo-eid+jwt", "crit": []}), "{}", 64),
            Err(Malformed("header crit is not accepted")),
        ),
        (
            "x5c before key type",
            with_header(json!({"alg": "RS256", "typ": "mo-eid+jwt", "x5c": [std_b64(&certs().p256), "AAAA"]})),
            Err(BAD_X5C_DER),
        ),
        ("key type before signature length", compact(&header("ES256", &certs().rsa2048), "{}", 3), Err(KEY_MISMATCH)),
    ]);
}

#[test]
fn presented_carries_what_trust_needs() {
    let c = certs();
    let mut h = header("RS256", &c.rsa2048);
    h["kid"] = json!("dsi-2025");
    h["x5c"] = json!([std_b64(&c.rsa2048), std_b64(&c.p256)]);
    let payload = r#"{"jti":"j-1"}"#;
    let signature: Vec<u8> = (0..=255).collect();
    let jws = compact_raw(h.to_string().as_bytes(), payload.as_bytes(), &signature);
    let p = parse(jws.as_bytes()).unwrap();
    assert_eq!(p.header.alg, Alg::Rs256);
    assert_eq!(p.header.kid.as_deref(), Some("dsi-2025"));
    assert_eq!(p.header.x5c, vec![c.rsa2048.clone(), c.p256.clone()]);
    assert_eq!(p.payload, payload.as_bytes());
    assert_eq!(p.signature, signature);
    let second_dot = jws.rfind('.').unwrap();
    assert_eq!(p.signing_input, &jws.as_bytes()[..second_dot]);
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), jws.as_bytes()).unwrap();
    assert_eq!(p.source_sha256, hex::encode(digest));
    assert!(p.source_sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(p.source_sha256.len(), 64);

    assert_eq!(parse(es256().as_bytes()).unwrap().header.alg, Alg::Es256);
    let ps = parse(compact(&header("PS256", &c.rsa2048), "{}", 256).as_bytes()).unwrap();
    assert_eq!((ps.header.alg, ps.header.kid), (Alg::Ps256, None));
}

/// A cache that claims to have decoded every chain, with this leaf key.
struct KnowsEveryChain(LeafKey);

impl DecodedChains for KnowsEveryChain {
    fn leaf_key(&self, _: &[Vec<u8>]) -> Option<LeafKey> {
        Some(self.0)
    }
}

#[test]
fn a_known_chain_is_not_decoded_again() {
    let not_der = with_header(es256_with("x5c", Some(json!(["AA=="]))));
    assert_eq!(parse(not_der.as_bytes()).map(drop), Err(BAD_X5C_DER));
    let p = parse_with(not_der.as_bytes(), &KnowsEveryChain(LeafKey::P256)).unwrap();
    assert_eq!(p.header.x5c, vec![vec![0u8]]);

    // The known leaf key is still checked against alg.
    let rsa = |bits| KnowsEveryChain(LeafKey::Rsa(bits));
    let es = es256();
    let ps = compact(&header("PS256", &certs().p256), "{}", 256);
    let cases: Vec<(&str, &str, KnowsEveryChain, Result<(), IntakeError>)> = vec![
        ("ES256, RSA leaf", &es, rsa(2048), Err(KEY_MISMATCH)),
        ("ES256, other key", &es, KnowsEveryChain(LeafKey::Other), Err(KEY_MISMATCH)),
        ("ES256, unreadable key", &es, KnowsEveryChain(LeafKey::Unreadable), Err(UNREADABLE_KEY)),
        ("PS256, RSA-2048", &ps, rsa(2048), Ok(())),
        ("PS256, RSASSA-PSS key", &ps, KnowsEveryChain(LeafKey::RsaPss(3072)), Ok(())),
        ("PS256, RSA-1024", &ps, rsa(1024), Err(SMALL_RSA)),
        ("PS256, EC leaf", &ps, KnowsEveryChain(LeafKey::P256), Err(KEY_MISMATCH)),
    ];
    for (name, input, known, expected) in cases {
        assert_eq!(parse_with(input.as_bytes(), &known).map(drop), expected, "case: {name}");
    }
}

/// A known chain changes nothing about which fault is reported first.
#[test]
fn a_known_chain_keeps_the_order_of_checks() {
    let leaf = std_b64(&certs().p256);
    let set = |v: Value| with_header(es256_with("x5c", Some(v)));
    let known = KnowsEveryChain(LeafKey::P256);
    let mut bad_kid = es256_header();
    bad_kid["kid"] = json!(7);
    let cases = vec![
        ("crit before x5c", compact(&json!({"alg": "ES256", "typ": "mo-eid+jwt", "crit": []}), "{}", 64)),
        ("x5c entry a number", set(json!([leaf, 1]))),
        ("x5c garbage before a number", set(json!(["AAAA", 1]))),
        ("x5c not base64", set(json!([leaf.replace('+', "-")]))),
        ("x5c of 5", set(json!([leaf, leaf, leaf, leaf, leaf]))),
        ("kid after x5c", with_header(bad_kid)),
        ("signature length last", compact(&es256_header(), "{}", 63)),
    ];
    for (name, input) in cases {
        let plain = parse(input.as_bytes()).map(drop);
        assert!(plain.is_err(), "case: {name}");
        assert_eq!(parse_with(input.as_bytes(), &known).map(drop), plain, "case: {name}");
    }
}
