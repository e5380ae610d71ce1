//! What the fuzz targets share: the shipped policy and mapping texts, a
//! fixed `now`, and a test PKI made once per process with the crate's own
//! generator (`dev pki`), read into memory and its directory removed.
//!
//! The PKI's keys are fresh in every process; no target lets a signature
//! decide what is explored, so a crash input reproduces under any PKI.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hengqin_bridge::dev::mint::{Flow, MintOptions, sample_claims};
use hengqin_bridge::dev::pki::{self, GATEWAY_ID, PkiOptions, layout};
use hengqin_bridge::file_error::FileError;
use hengqin_bridge::intake::{self, Claims};
use hengqin_bridge::model::TrustDomainId;
use hengqin_bridge::signing::{SM2_DEFAULT_ID, Signer, SignerBackend, ecdsa_der_to_raw, openssl_sm2};
use hengqin_bridge::trust::TrustList;
use hengqin_bridge::trust::list;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use time::macros::datetime;

/// The reference time of every target: the PKI is issued at it, lists are
/// accepted and licences signed at it.
pub const NOW: OffsetDateTime = datetime!(2026-03-15 02:00 UTC);

/// The shipped files whose repository path starts with `prefix`
/// (`policies/`, `mappings/`), named as inside that directory.
pub fn shipped(prefix: &str) -> Vec<(&'static str, &'static str)> {
    hengqin_bridge::shipped::FILES
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix(prefix)?;
            Some((name, std::str::from_utf8(bytes).expect("shipped files are UTF-8")))
        })
        .collect()
}

/// The `id = "…"` a policy, mapping or code-table text states for itself
/// (its first such line), when it is a plausible file name.
pub fn stated_id(text: &str) -> Option<&str> {
    let id = text.lines().find_map(|l| l.strip_prefix("id = \""))?.split('"').next()?;
    let plausible = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plausible.then_some(id)
}

/// What every loader promises of the problems it reports for `set`: at
/// least one, each one line of text, each line inside the file it names.
pub fn check_file_errors(set: &[(&str, &str)], errors: &[FileError]) {
    assert!(!errors.is_empty());
    for e in errors {
        assert!(!e.message.is_empty() && !e.message.contains('\n'), "{e}");
        if let Some(&(_, text)) = set.iter().find(|(name, _)| *name == e.file) {
            let lines = text.split('\n').count();
            assert!(e.line.is_none_or(|l| (1..=lines).contains(&l)), "{e}: beyond {lines} lines");
        }
    }
}

/// The sample claims of each flow, as `dev mint-assertion` writes them
/// at [`NOW`], read by intake.
pub fn flow_claims() -> &'static [Claims] {
    static CLAIMS: OnceLock<Vec<Claims>> = OnceLock::new();
    CLAIMS.get_or_init(|| {
        Flow::ALL
            .iter()
            .map(|&flow| {
                let json = sample_claims(GATEWAY_ID, &MintOptions::new(flow, NOW)).expect("sample claims");
                intake::parse_claims(json.to_string().as_bytes()).expect("sample claims parse")
            })
            .collect()
    })
}

/// One trust domain's list signer and the list the generator published.
pub struct ListSigner {
    pub domain: TrustDomainId,
    /// Lower-case hex SHA-256 of the signer certificate (the config's pin).
    pub pin: String,
    /// Standard base64 of the signer certificate's DER (the `x5c` entry).
    pub x5c: String,
    key: PKey<Private>,
    /// The published list, accepted: the `previous` of later lists.
    pub published: TrustList,
}

impl ListSigner {
    /// The JOSE `alg` this domain's lists are signed with.
    pub fn alg(&self) -> &'static str {
        match self.domain {
            TrustDomainId::Mo => "ES256",
            TrustDomainId::CnGd => "SM2SM3",
        }
    }

    /// A compact JWS over `payload` with the given header JSON, signed by
    /// this signer (raw `r‖s`, as both list algorithms are written).
    pub fn sign(&self, header: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let der = match self.domain {
            TrustDomainId::Mo => {
                let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key).expect("ecdsa signer");
                s.sign_oneshot_to_vec(jws.as_bytes()).expect("ecdsa signature")
            }
            TrustDomainId::CnGd => openssl_sm2::sign(&self.key, SM2_DEFAULT_ID, jws.as_bytes()).expect("sm2 signature"),
        };
        let raw = ecdsa_der_to_raw(&der, 32).expect("a P-256 or SM2 signature");
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(raw));
        jws.into_bytes()
    }

    /// The list header the generator writes, as JSON.
    pub fn header(&self) -> Vec<u8> {
        format!(r#"{{"alg":"{}","typ":"trust-list+jwt","x5c":["{}"]}}"#, self.alg(), self.x5c).into_bytes()
    }
}

/// Everything the PKI-backed targets need.
pub struct Material {
    pub mo: ListSigner,
    pub cn_gd: ListSigner,
    /// The bridge's SM2 licence signer (OpenSSL backend).
    pub licence_signer: Arc<dyn Signer>,
}

/// The process's test PKI, made on first use.
pub fn material() -> &'static Material {
    static MATERIAL: OnceLock<Material> = OnceLock::new();
    MATERIAL.get_or_init(make_material)
}

fn make_material() -> Material {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = PkiOptions { partners: Vec::new(), ..PkiOptions::new(NOW) };
    pki::generate(dir.path(), &opts).expect("test pki");
    let read = |rel: &str| std::fs::read(dir.path().join(rel)).expect("pki file");
    let list_signer = |domain: TrustDomainId| {
        let files = layout::domain_files(domain);
        let cert = openssl::x509::X509::from_pem(&read(files.list_signer)).expect("signer certificate");
        let der = cert.to_der().expect("der");
        let key_pem = read(files.list_signer_key);
        let key = match domain {
            TrustDomainId::Mo => PKey::private_key_from_pem(&key_pem).expect("P-256 key"),
            TrustDomainId::CnGd => openssl_sm2::private_key_from_pem(&key_pem).expect("SM2 key"),
        };
        let pin = hex::encode(openssl::sha::sha256(&der));
        let published = list::accept(&read(files.list), domain, std::slice::from_ref(&pin), None, NOW)
            .expect("the generated list is accepted");
        ListSigner { domain, pin, x5c: STANDARD.encode(&der), key, published }
    };
    let licence_signer = SignerBackend::OpenSsl
        .signer_from_pem(&read(layout::CN_BRIDGE_SIGNER), &read(layout::CN_BRIDGE_SIGNER_KEY))
        .expect("licence signer");
    Material { mo: list_signer(TrustDomainId::Mo), cn_gd: list_signer(TrustDomainId::CnGd), licence_signer }
}
