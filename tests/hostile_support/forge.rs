//! Making a case's assertion: `dev mint`'s sample claims and a JOSE header
//! as JSON text, changed as the case says, signed (or not) here, then cut,
//! padded or re-encoded. The encoding and the signature are made here
//! rather than by `dev mint`, so every byte of the three segments is the
//! case's to choose.

use super::{Case, certs, to_json};
use crate::node::TestNode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hengqin_bridge::dev::mint::{Flow, sample_claims, set_path};
use hengqin_bridge::dev::pki::SignerKind;
use hengqin_bridge::model::Loa;
use hengqin_bridge::signing::ecdsa_der_to_raw;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::x509::X509;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A change to the compact serialization; `seg` counts from 0 (header).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edit {
    Append {
        seg: usize,
        text: String,
    },
    Prepend {
        seg: usize,
        text: String,
    },
    /// `text` inserted before character `at` of the segment.
    Insert {
        seg: usize,
        at: usize,
        text: String,
    },
    /// The last `chars` characters of the segment cut off.
    Truncate {
        seg: usize,
        chars: usize,
    },
    Replace {
        seg: usize,
        text: String,
    },
    Drop {
        seg: usize,
    },
    /// The segment written twice (four segments).
    Duplicate {
        seg: usize,
    },
    /// The segment's last character replaced by the next one of the
    /// base64url alphabet (sets unused low bits, or changes the value).
    BumpLast {
        seg: usize,
    },
    /// Character `at` of the segment replaced by the next one of the
    /// base64url alphabet (six bits of the decoded bytes change).
    Flip {
        seg: usize,
        at: usize,
    },
    /// The segment re-encoded in standard base64 with padding.
    Standard {
        seg: usize,
    },
    Wrap {
        before: String,
        after: String,
    },
    /// Only the first `chars` characters of the whole.
    Keep {
        chars: usize,
    },
}

/// A value grown to a size or depth: at `path` of the claims (or of the
/// header with `header = true`), a string of `chars` characters, or
/// `arrays` nested arrays, or `objects` nested objects (`unclosed`: the
/// brackets are opened and never closed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grow {
    pub path: String,
    #[serde(default)]
    pub header: bool,
    #[serde(default)]
    pub chars: usize,
    #[serde(default)]
    pub arrays: usize,
    #[serde(default)]
    pub objects: usize,
    #[serde(default)]
    pub unclosed: bool,
}

impl Grow {
    fn json_text(&self) -> String {
        let close = |s: &str, n: usize| if self.unclosed { String::new() } else { s.repeat(n) };
        if self.chars > 0 {
            format!("\"{}\"", "A".repeat(self.chars))
        } else if self.arrays > 0 {
            format!("{}{}", "[".repeat(self.arrays), close("]", self.arrays))
        } else {
            let n = self.objects.max(1);
            format!("{}{{}}{}", "{\"a\":".repeat(n - 1), close("}", n - 1))
        }
    }
}

/// The raw members of the claims or the header: `set_raw` plus `grow`.
fn raw_members(
    raw: &std::collections::BTreeMap<String, String>,
    grow: Option<&Grow>,
    header: bool,
) -> std::collections::BTreeMap<String, String> {
    let mut all = raw.clone();
    if let Some(g) = grow.filter(|g| g.header == header) {
        all.insert(g.path.clone(), g.json_text());
    }
    all
}

/// The assertion a case sends.
pub fn assertion(n: &TestNode, case: &Case) -> String {
    if let Some(literal) = &case.assertion {
        let text = literal.replace("$gateway", n.pki.gateway_id()).repeat(case.repeat.unwrap_or(1));
        return edit(text, &case.edit);
    }
    let gateway = n.pki.gateway_id().to_owned();
    let (key, chain) = signer(n, case);

    let mut payload = claims_text(n, case, &gateway);
    for [from, to] in &case.payload_edit {
        assert!(payload.contains(from.as_str()), "{}: {from:?} is not in the payload", case.name);
        payload = payload.replacen(from.as_str(), to, 1);
    }
    let mut payload_bytes = payload.clone().into_bytes();
    for [from, hex] in &case.payload_bytes {
        let at = find(&payload_bytes, from.as_bytes()).unwrap_or_else(|| panic!("{}: no {from:?}", case.name));
        payload_bytes.splice(at..at + from.len(), hex::decode(hex).unwrap());
    }

    let header = header_text(n, case, &key, &chain);
    let input = format!("{}.{}", b64url(header.as_bytes()), b64url(&payload_bytes));
    let alg = serde_json::from_str::<Value>(&header).ok().and_then(|h| h["alg"].as_str().map(str::to_owned));
    let sig = signature(case.sign.as_deref(), alg.as_deref().unwrap_or(""), &key, &chain[0], input.as_bytes());

    let mut segments = [b64url(header.as_bytes()), b64url(&payload_bytes), b64url(&sig)];
    if !case.tamper.is_empty() {
        for [from, to] in &case.tamper {
            assert!(payload.contains(from.as_str()), "{}: {from:?} is not in the payload", case.name);
            payload = payload.replacen(from.as_str(), to, 1);
        }
        segments[1] = b64url(payload.as_bytes());
    }
    edit(segments.join("."), &case.edit)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// The claims as JSON text: the flow's sample claims for a fresh data
/// subject, with the case's changes.
fn claims_text(n: &TestNode, case: &Case, gateway: &str) -> String {
    let flow = Flow::parse(case.flow.as_deref().unwrap_or("health-voucher")).expect("a known flow");
    let mut opts = n.fresh(flow);
    opts.loa = match case.loa.as_deref() {
        None | Some("high") => Loa::High,
        Some("substantial") => Loa::Substantial,
        Some(other) => panic!("{}: unknown loa {other:?}", case.name),
    };
    if let Some(ttl) = case.ttl {
        opts.ttl_seconds = ttl;
    }
    let mut claims = sample_claims(gateway, &opts).unwrap();
    for (path, value) in &opts.sets {
        set_path(&mut claims, path, value.clone()).unwrap();
    }
    if let Some(nonce) = &case.assertion_nonce {
        claims["nonce"] = json!(nonce);
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (path, offset) in &case.at {
        set_path(&mut claims, path, json!(now + offset)).unwrap();
    }
    for (path, value) in &case.set {
        set_path(&mut claims, path, to_json(value, gateway)).unwrap();
    }
    with_raw(claims, &raw_members(&case.set_raw, case.grow.as_ref(), false), &case.remove)
}

/// `value` with `raw` members spliced in as JSON text and `remove`d
/// members gone, serialized.
fn with_raw(mut value: Value, raw: &std::collections::BTreeMap<String, String>, remove: &[String]) -> String {
    for (i, path) in raw.keys().enumerate() {
        set_path(&mut value, path, json!(format!("__raw_{i}__"))).unwrap();
    }
    for path in remove {
        hengqin_bridge::dev::mint::remove_path(&mut value, path);
    }
    let mut text = serde_json::to_string(&value).unwrap();
    for (i, json_text) in raw.values().enumerate() {
        text = text.replacen(&format!("\"__raw_{i}__\""), json_text, 1);
    }
    text
}

/// The signing key and the certificate chain (leaf first) of the case.
fn signer(n: &TestNode, case: &Case) -> (PKey<Private>, Vec<X509>) {
    if let Some(spec) = &case.cert {
        return certs::issue(&n.pki, spec);
    }
    let name = case.signer.as_deref().unwrap_or("default");
    if let Some(files) = name.strip_prefix("file:") {
        let (cert, key) = files.split_once(':').expect("file:CERT:KEY");
        let key = PKey::private_key_from_pem(&std::fs::read(n.pki.path(key)).unwrap()).unwrap();
        return (key, vec![X509::from_pem(&std::fs::read(n.pki.path(cert)).unwrap()).unwrap()]);
    }
    let kind = SignerKind::parse(name).unwrap_or_else(|| panic!("{}: unknown signer {name:?}", case.name));
    let m = n.pki.signer(kind).unwrap();
    (m.key, m.chain)
}

/// The algorithm a key signs with when the header names none it can make.
fn own_alg(key: &PKeyRef<Private>) -> &'static str {
    match key.id() {
        Id::RSA => "PS256",
        _ => "ES256",
    }
}

fn header_text(n: &TestNode, case: &Case, key: &PKeyRef<Private>, chain: &[X509]) -> String {
    let gateway = n.pki.gateway_id();
    let x5c: Vec<Value> = match &case.x5c {
        None => chain.iter().map(|c| json!(STANDARD.encode(c.to_der().unwrap()))).collect(),
        Some(tokens) => tokens.iter().map(|t| json!(x5c_entry(n, case, t, chain))).collect(),
    };
    let mut header = json!({ "alg": own_alg(key), "typ": "mo-eid+jwt", "x5c": x5c });
    for (path, value) in &case.header_set {
        set_path(&mut header, path, to_json(value, gateway)).unwrap();
    }
    let mut text = with_raw(header, &raw_members(&case.header_set_raw, case.grow.as_ref(), true), &case.header_remove);
    for [from, to] in &case.header_edit {
        assert!(text.contains(from.as_str()), "{}: {from:?} is not in the header", case.name);
        text = text.replacen(from.as_str(), to, 1);
    }
    text
}

fn x5c_entry(n: &TestNode, case: &Case, token: &str, chain: &[X509]) -> String {
    let cert = |which: &str| -> Vec<u8> {
        match which {
            "leaf" => chain[0].to_der().unwrap(),
            _ => panic!("{}: unknown certificate {which:?}", case.name),
        }
    };
    if let Some(i) = token.strip_prefix("chain:") {
        return STANDARD.encode(chain[i.parse::<usize>().unwrap()].to_der().unwrap());
    }
    if let Some(path) = token.strip_prefix("file:") {
        let pem = std::fs::read(n.pki.path(path)).unwrap();
        return STANDARD.encode(X509::from_pem(&pem).unwrap().to_der().unwrap());
    }
    if let Some(text) = token.strip_prefix("raw:") {
        return text.to_owned();
    }
    let (how, which) = token.split_once(':').unwrap_or(("", token));
    let der = cert(which);
    match how {
        "" => STANDARD.encode(der),
        "urlsafe" => URL_SAFE_NO_PAD.encode(der),
        "trailing" => STANDARD.encode([der, vec![0]].concat()),
        "pem" => String::from_utf8(X509::from_der(&der).unwrap().to_pem().unwrap()).unwrap(),
        "wrapped" => {
            let b64 = STANDARD.encode(der);
            b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n")
        }
        other => panic!("{}: unknown x5c form {other:?}", case.name),
    }
}

/// The signature bytes. `how`:
/// - absent: by the key, with `alg` when the key can make it (`RS256`
///   with an RSA key), else the key's own algorithm (a key of no JWS
///   algorithm gives 64 random bytes);
/// - `hmac-spki-pem`, `hmac-spki-pem-trimmed`, `hmac-spki-der`,
///   `hmac-cert-pem`, `hmac-cert-der`, `hmac-point`, `hmac-x5c`,
///   `hmac-empty`: HMAC (SHA-256, or SHA-384/512 for `HS384`/`HS512`)
///   keyed with the leaf's public key or certificate in that encoding;
/// - `zeros`, `ones`, `random`: 64 such bytes; `short`: the first 32
///   bytes of a real one; `swapped`: `s‖r`; `der`: the DER encoding;
///   `other-input`: a real signature over other bytes.
pub fn signature(how: Option<&str>, alg: &str, key: &PKeyRef<Private>, leaf: &X509, input: &[u8]) -> Vec<u8> {
    let real = |bytes: &[u8]| sign(alg, key, bytes);
    match how {
        None => real(input),
        Some(h) if h.starts_with("hmac-") => {
            let spki_pem = leaf.public_key().unwrap().public_key_to_pem().unwrap();
            let secret: Vec<u8> = match &h[5..] {
                "spki-pem" => spki_pem,
                "spki-pem-trimmed" => String::from_utf8(spki_pem).unwrap().trim_end().as_bytes().to_vec(),
                "spki-der" => leaf.public_key().unwrap().public_key_to_der().unwrap(),
                "cert-pem" => leaf.to_pem().unwrap(),
                "cert-der" => leaf.to_der().unwrap(),
                "point" => {
                    let ec = leaf.public_key().unwrap().ec_key().unwrap();
                    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
                    let form = openssl::ec::PointConversionForm::UNCOMPRESSED;
                    ec.public_key().to_bytes(ec.group(), form, &mut ctx).unwrap()
                }
                "x5c" => STANDARD.encode(leaf.to_der().unwrap()).into_bytes(),
                "empty" => Vec::new(),
                other => panic!("unknown hmac key {other:?}"),
            };
            let (digest, block) = match alg {
                "HS384" => (MessageDigest::sha384(), 128),
                "HS512" => (MessageDigest::sha512(), 128),
                _ => (MessageDigest::sha256(), 64),
            };
            hmac(digest, block, &secret, input)
        }
        Some("zeros") => vec![0; 64],
        Some("ones") => vec![0xff; 64],
        Some("random") => random(64),
        Some("short") => real(input)[..32].to_vec(),
        Some("swapped") => {
            let s = real(input);
            [&s[32..], &s[..32]].concat()
        }
        Some("der") => hengqin_bridge::signing::ecdsa_raw_to_der(&real(input)).unwrap(),
        Some("other-input") => real(b"another assertion"),
        Some(other) => panic!("unknown signature {other:?}"),
    }
}

/// HMAC (RFC 2104), written out: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)).
fn hmac(digest: MessageDigest, block: usize, key: &[u8], message: &[u8]) -> Vec<u8> {
    let h = |parts: &[&[u8]]| openssl::hash::hash(digest, &parts.concat()).unwrap().to_vec();
    let mut k = if key.len() > block { h(&[key]) } else { key.to_vec() };
    k.resize(block, 0);
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = h(&[&pad(0x36), message]);
    h(&[&pad(0x5c), &inner])
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0; n];
    openssl::rand::rand_bytes(&mut b).unwrap();
    b
}

fn sign(alg: &str, key: &PKeyRef<Private>, input: &[u8]) -> Vec<u8> {
    let p256 = key.ec_key().is_ok_and(|ec| ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1));
    if p256 {
        let der = Signer::new(MessageDigest::sha256(), key).unwrap().sign_oneshot_to_vec(input).unwrap();
        return ecdsa_der_to_raw(&der, 32).unwrap();
    }
    if key.id() != Id::RSA {
        return random(64);
    }
    let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
    if alg == "RS256" {
        s.set_rsa_padding(Padding::PKCS1).unwrap();
    } else {
        s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32)).unwrap();
        s.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
    }
    s.sign_oneshot_to_vec(input).unwrap()
}

/// Replaces the base64url character at byte `at` by the next one.
fn bump(segment: &mut String, at: usize) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let i = ALPHABET.iter().position(|&c| c == segment.as_bytes()[at]).expect("a base64url character");
    segment.replace_range(at..=at, &char::from(ALPHABET[(i + 1) % 64]).to_string());
}

/// The compact form after the case's edits.
pub fn edit(compact: String, edits: &[Edit]) -> String {
    let mut compact = compact;
    for e in edits {
        let mut segs: Vec<String> = compact.split('.').map(str::to_owned).collect();
        match e {
            Edit::Append { seg, text } => segs[*seg].push_str(text),
            Edit::Prepend { seg, text } => segs[*seg].insert_str(0, text),
            Edit::Insert { seg, at, text } => {
                let i = segs[*seg].char_indices().nth(*at).map_or(segs[*seg].len(), |(i, _)| i);
                segs[*seg].insert_str(i, text);
            }
            Edit::Truncate { seg, chars } => {
                let keep = segs[*seg].chars().count().saturating_sub(*chars);
                segs[*seg] = segs[*seg].chars().take(keep).collect();
            }
            Edit::Replace { seg, text } => segs[*seg] = text.clone(),
            Edit::Drop { seg } => {
                segs.remove(*seg);
            }
            Edit::Duplicate { seg } => {
                let s = segs[*seg].clone();
                segs.insert(*seg, s);
            }
            Edit::BumpLast { seg } => {
                let at = segs[*seg].len() - 1;
                bump(&mut segs[*seg], at);
            }
            Edit::Flip { seg, at } => bump(&mut segs[*seg], *at),
            Edit::Standard { seg } => {
                let bytes = URL_SAFE_NO_PAD.decode(&segs[*seg]).unwrap();
                segs[*seg] = STANDARD.encode(bytes);
            }
            Edit::Wrap { before, after } => {
                compact = format!("{before}{compact}{after}");
                continue;
            }
            Edit::Keep { chars } => {
                compact = compact.chars().take(*chars).collect();
                continue;
            }
        }
        compact = segs.join(".");
    }
    compact
}
