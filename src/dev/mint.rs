//! `dev mint-assertion`: sample `mo-eid+jwt` assertions (DESIGN §2) for the
//! three flows, signed by the test PKI, with any claim or header member
//! overridden or removed so that tests can make every kind of bad input.

use super::jose::{self, SigAlg};
use super::pki::{DSI_ISSUER, Pki, PkiError, SignerKind};
use crate::model::{Loa, gb11643_check};
use openssl::pkey::{PKey, Private};
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, UtcOffset};

/// The three flows of DESIGN's callers; each is also a purpose id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    HealthVoucher,
    SocialSecurity,
    RealNameKyc,
}

impl Flow {
    pub const ALL: &'static [Flow] = &[Flow::HealthVoucher, Flow::SocialSecurity, Flow::RealNameKyc];

    /// The purpose id (and CLI name) of the flow.
    pub fn purpose_id(self) -> &'static str {
        match self {
            Flow::HealthVoucher => "health-voucher",
            Flow::SocialSecurity => "social-security",
            Flow::RealNameKyc => "real-name-kyc",
        }
    }

    pub fn parse(s: &str) -> Option<Flow> {
        Flow::ALL.iter().copied().find(|f| f.purpose_id() == s)
    }
}

/// What to mint.
#[derive(Debug, Clone)]
pub struct MintOptions {
    pub flow: Flow,
    pub loa: Loa,
    /// Claim overrides, applied in order after the sample claims are built.
    pub sets: Vec<(String, Value)>,
    /// Claim paths deleted after `sets` are applied.
    pub removals: Vec<String>,
    /// `exp` − `iat`.
    pub ttl_seconds: i64,
    /// `iat`; also the consent time and the voucher year's reference.
    pub now: OffsetDateTime,
    pub signer: SignerKind,
    /// The header's `alg`. When it names an algorithm the signer's key can
    /// make (`RS256` with an RSA signer), the signature uses it too;
    /// otherwise the key's own algorithm signs (ES256 for EC, PS256 for RSA).
    pub alg: Option<&'static str>,
    /// Header member overrides (dotted paths), applied after `alg`, `typ`, `x5c`.
    pub header_sets: Vec<(String, Value)>,
    /// Header members deleted after `header_sets`.
    pub header_removals: Vec<String>,
}

/// Default lifetime of a minted assertion.
pub const DEFAULT_TTL_SECONDS: i64 = 300;

impl MintOptions {
    /// A well-formed assertion for `flow` at `now`: LoA high, default
    /// signer, five minutes' lifetime, nothing overridden.
    pub fn new(flow: Flow, now: OffsetDateTime) -> Self {
        MintOptions {
            flow,
            loa: Loa::High,
            sets: Vec::new(),
            removals: Vec::new(),
            ttl_seconds: DEFAULT_TTL_SECONDS,
            now,
            signer: SignerKind::Default,
            alg: None,
            header_sets: Vec::new(),
            header_removals: Vec::new(),
        }
    }

    /// Adds a claim override (`path` dotted, e.g. `person.bir_type`).
    pub fn set(mut self, path: &str, value: Value) -> Self {
        self.sets.push((path.to_owned(), value));
        self
    }

    /// Adds a claim removal.
    pub fn remove(mut self, path: &str) -> Self {
        self.removals.push(path.to_owned());
        self
    }
}

/// Reads a `--set claim.path=value` argument: the value is JSON when it
/// parses as JSON, else a string (`person.sex=F` → `"F"`, `iat=12` → `12`,
/// `consent.separate=false` → `false`, `x="12"` → `"12"`).
pub fn parse_set(arg: &str) -> Result<(String, Value), PkiError> {
    let (path, raw) =
        arg.split_once('=').ok_or_else(|| PkiError::Invalid(format!("expected claim.path=value, got {arg:?}")))?;
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(PkiError::Invalid(format!("bad claim path {path:?}")));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    Ok((path.to_owned(), value))
}

/// The sample claims for a flow, before overrides.
pub fn sample_claims(gateway_id: &str, opts: &MintOptions) -> Result<Value, PkiError> {
    let now = opts.now.unix_timestamp();
    let local_year = opts.now.to_offset(UtcOffset::from_hms(8, 0, 0).expect("UTC+8 is a valid offset")).year();
    let mut jti = [0u8; 16];
    openssl::rand::rand_bytes(&mut jti)?;
    let mut consent_id = [0u8; 8];
    openssl::rand::rand_bytes(&mut consent_id)?;

    let mut person = json!({
        "bir_number": "12345678",
        "bir_type": "BIRP",
        "bir_expiry": format!("{:04}-08-31", local_year + 4),
        "name_zh_hant": "陳大文",
        "name_latin": "CHAN TAI MAN",
        "telegraph_codes": ["7115", "1129", "2429"],
        "sex": "M",
        "birth_date": "1980-05-17",
    });
    let mut entitlements = Map::new();
    match opts.flow {
        Flow::HealthVoucher => {
            entitlements.insert(
                "health_voucher".to_owned(),
                json!({ "eligible": true, "scheme_year": local_year, "balance_mop": 600 }),
            );
        }
        Flow::SocialSecurity => {
            entitlements.insert("fss".to_owned(), json!({ "beneficiary_number": "10234567", "status": "active" }));
        }
        Flow::RealNameKyc => {
            person["mtp_number"] = json!("M12345678");
            let body = "82000019800517001";
            let check = gb11643_check(body).expect("constant permit body is 17 digits");
            person["residence_permit_number"] = json!(format!("{body}{check}"));
        }
    }
    let mut claims = json!({
        "iss": DSI_ISSUER,
        "aud": gateway_id,
        "iat": now,
        "exp": now + opts.ttl_seconds,
        "jti": hex::encode(jti),
        "acr": opts.loa.acr(),
        "eid_status": "active",
        "person": person,
        "consent": {
            "id": format!("consent-{}", hex::encode(consent_id)),
            "purposes": [opts.flow.purpose_id()],
            "given_at": now,
            "separate": true,
            "by_guardian": false,
        },
    });
    if !entitlements.is_empty() {
        claims["entitlements"] = Value::Object(entitlements);
    }
    Ok(claims)
}

/// Mints a compact JWS: sample claims for the flow, overrides applied,
/// `x5c` = the signer's chain, signed by the signer's key.
pub fn mint_assertion(pki: &Pki, opts: &MintOptions) -> Result<String, PkiError> {
    Minter::new(pki, opts.signer)?.mint(opts)
}

/// Mints many assertions with one signer. [`mint_assertion`] reads the
/// signer's key and chain from the PKI directory on every call; a minter
/// reads them once, so minting costs little more than the signature (what
/// the load harness needs to pre-mint thousands).
#[derive(Debug)]
pub struct Minter {
    gateway_id: String,
    key: PKey<Private>,
    key_alg: SigAlg,
    x5c: Value,
}

impl Minter {
    pub fn new(pki: &Pki, signer: SignerKind) -> Result<Minter, PkiError> {
        if signer == SignerKind::Revoked && !pki.is_revoked(SignerKind::Revoked)? {
            return Err(PkiError::Invalid(
                "the revoked signer is not on the crl yet: call Pki::revoke_signer(SignerKind::Revoked) first"
                    .to_owned(),
            ));
        }
        let material = pki.signer(signer)?;
        let chain: Vec<_> = material.chain.iter().map(|c| c.as_ref()).collect();
        Ok(Minter {
            gateway_id: pki.gateway_id().to_owned(),
            key_alg: SigAlg::default_for(&material.key)?,
            x5c: jose::x5c(&chain)?,
            key: material.key,
        })
    }

    /// Mints as [`mint_assertion`] does, with this minter's signer
    /// (`opts.signer` is not looked at).
    pub fn mint(&self, opts: &MintOptions) -> Result<String, PkiError> {
        let mut claims = sample_claims(&self.gateway_id, opts)?;
        for (path, value) in &opts.sets {
            set_path(&mut claims, path, value.clone())?;
        }
        for path in &opts.removals {
            remove_path(&mut claims, path);
        }
        let sig_alg = opts.alg.and_then(SigAlg::parse).filter(|a| a.made_by(self.key_alg)).unwrap_or(self.key_alg);
        let mut header = json!({
            "alg": opts.alg.unwrap_or(sig_alg.name()),
            "typ": "mo-eid+jwt",
            "x5c": self.x5c.clone(),
        });
        for (path, value) in &opts.header_sets {
            set_path(&mut header, path, value.clone())?;
        }
        for path in &opts.header_removals {
            remove_path(&mut header, path);
        }
        jose::compact_fitting(&header, &serde_json::to_vec(&claims)?, sig_alg, &self.key)
    }
}

/// Sets the member at a dotted path, creating objects on the way; a
/// numeric segment indexes an existing array element.
pub fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), PkiError> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(PkiError::Invalid(format!("bad claim path {path:?}")));
    }
    let (last, parents) = segments.split_last().expect("split yields at least one segment");
    let mut cur = root;
    for seg in parents {
        cur = child_mut(cur, seg, path)?;
    }
    match cur {
        Value::Array(items) => {
            let i = array_index(last, items.len(), path)?;
            items[i] = value;
        }
        other => {
            if !other.is_object() {
                *other = Value::Object(Map::new());
            }
            other.as_object_mut().expect("made an object above").insert((*last).to_owned(), value);
        }
    }
    Ok(())
}

fn child_mut<'a>(cur: &'a mut Value, seg: &str, path: &str) -> Result<&'a mut Value, PkiError> {
    if let Value::Array(items) = cur {
        let i = array_index(seg, items.len(), path)?;
        return Ok(&mut items[i]);
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    let map = cur.as_object_mut().expect("made an object above");
    Ok(map.entry(seg.to_owned()).or_insert_with(|| Value::Object(Map::new())))
}

fn array_index(seg: &str, len: usize, path: &str) -> Result<usize, PkiError> {
    seg.parse::<usize>()
        .ok()
        .filter(|i| *i < len)
        .ok_or_else(|| PkiError::Invalid(format!("{path:?}: {seg:?} is not an index of an array of {len}")))
}

/// Deletes the member at a dotted path; `false` when nothing was there.
pub fn remove_path(root: &mut Value, path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = segments.split_last() else { return false };
    let mut cur = root;
    for seg in parents {
        let next = match cur {
            Value::Object(m) => m.get_mut(*seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur {
        Value::Object(m) => m.remove(*last).is_some(),
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}
