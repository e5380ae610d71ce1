//! Trust lists (DESIGN §3): a compact JWS over the list JSON, signed by the
//! domain's list signer (`ES256` for MO, `SM2SM3` for CN-GD), `x5c` = the
//! signer's certificate. [`TrustListSpec`] says which list to write, so
//! tests can publish stale, rolled-back, re-keyed or foreign-signed lists.

use super::certs::{self, KeyKind};
use super::crl::{self, CrlContent};
use super::generate::{CRL_DAYS, list_signer, list_signer_template};
use super::{Pki, PkiError, files, layout};
use crate::dev::jose::{self, SigAlg};
use crate::model::TrustDomainId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Ref};
use serde_json::{Value, json};
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The role of the MO entry.
pub const ROLE_EID_ASSERTION_ISSUER: &str = "eid-assertion-issuer";
pub const ROLE_PARTNER_CLIENT_CA: &str = "partner-client-ca";
pub const ROLE_BRIDGE_SIGNER_CA: &str = "bridge-signer-ca";
/// The `iss` of DSI assertions, bound to the MO entry.
pub const DSI_ISSUER: &str = "https://eid.dsi.gov.mo";

/// Who signs a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListSigner {
    /// The pinned signer (`list-signer.pem`).
    #[default]
    Current,
    /// The signer made by [`Pki::add_next_list_signer`] (`list-signer-next.pem`).
    Next,
    /// A fresh signer with the current one's name and another key: its pin
    /// is in no config.
    Unpinned,
}

/// Which CRL of the domain's CA (the DSI issuing CA for MO, the partner CA
/// for CN-GD) the list carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrlChoice {
    /// The current CRL (`issuing-ca.crl` / `partner-ca.crl`).
    #[default]
    Current,
    /// The same revoked set, signed by a key that is not the CA's.
    WrongKey,
    /// The same revoked set, properly signed, issued 8 days before the
    /// PKI's `now` with nextUpdate 1 day before it.
    PastNextUpdate,
    /// No CRL at all.
    Omitted,
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListEntry {
    pub id: String,
    pub role: String,
    pub issuers: Vec<String>,
    /// DER of the anchor certificate.
    pub certificate: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl TrustListEntry {
    /// An entry for `cert`, valid as long as the certificate is.
    pub fn for_certificate(id: &str, role: &str, issuers: &[&str], cert: &X509Ref) -> Result<Self, PkiError> {
        Ok(TrustListEntry {
            id: id.to_owned(),
            role: role.to_owned(),
            issuers: issuers.iter().map(|s| (*s).to_owned()).collect(),
            certificate: cert.to_der()?,
            not_before: certs::asn1_to_offset(cert.not_before())?,
            not_after: certs::asn1_to_offset(cert.not_after())?,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "role": self.role,
            "issuers": self.issuers,
            "certificate": jose::b64std(&self.certificate),
            "not_before": rfc3339(self.not_before),
            "not_after": rfc3339(self.not_after),
        })
    }
}

/// What list to publish.
#[derive(Debug, Clone)]
pub struct TrustListSpec {
    pub sequence: u64,
    pub issued_at: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub signer: ListSigner,
    pub crl: CrlChoice,
    /// DER CRLs carried after the chosen one.
    pub extra_crls: Vec<Vec<u8>>,
    /// Replaces the domain's default entries.
    pub entries: Option<Vec<TrustListEntry>>,
    /// Where to write, relative to the PKI directory; default the domain's
    /// `trust-list.jws` (the file `bridge.toml` points at).
    pub out: Option<PathBuf>,
}

impl TrustListSpec {
    /// Sequence `sequence` issued at `now`: next update in an hour, expiry
    /// in 7 days, current signer and CRL, default entries.
    pub fn new(sequence: u64, now: OffsetDateTime) -> Self {
        TrustListSpec {
            sequence,
            issued_at: now,
            next_update: now + Duration::hours(1),
            expires: now + Duration::days(7),
            signer: ListSigner::Current,
            crl: CrlChoice::Current,
            extra_crls: Vec::new(),
            entries: None,
            out: None,
        }
    }
}

/// RFC 3339 in UTC with `Z`, whole seconds.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC).replace_nanosecond(0).expect("zero is a valid nanosecond");
    t.format(&Rfc3339).expect("a UTC time in range formats as RFC 3339")
}

impl Pki {
    /// The entries a domain's list carries by default.
    pub fn default_entries(&self, domain: TrustDomainId) -> Result<Vec<TrustListEntry>, PkiError> {
        let cert = |rel: &str| files::read_cert(&self.path(rel));
        Ok(match domain {
            TrustDomainId::Mo => {
                let ca = cert(layout::MO_ISSUING_CA)?;
                vec![TrustListEntry::for_certificate("dsi-eid-g1", ROLE_EID_ASSERTION_ISSUER, &[DSI_ISSUER], &ca)?]
            }
            TrustDomainId::CnGd => {
                let (partner_ca, bridge_ca) = (cert(layout::CN_PARTNER_CA)?, cert(layout::CN_BRIDGE_CA)?);
                vec![
                    TrustListEntry::for_certificate("cn-gd-partner-ca", ROLE_PARTNER_CLIENT_CA, &[], &partner_ca)?,
                    TrustListEntry::for_certificate("cn-gd-bridge-ca", ROLE_BRIDGE_SIGNER_CA, &[], &bridge_ca)?,
                ]
            }
        })
    }

    /// The signed list as a compact JWS, without writing it.
    pub fn trust_list(&self, domain: TrustDomainId, spec: &TrustListSpec) -> Result<String, PkiError> {
        let entries = match &spec.entries {
            Some(e) => e.clone(),
            None => self.default_entries(domain)?,
        };
        let mut crls: Vec<Value> = Vec::new();
        if let Some(der) = self.domain_crl(domain, spec.crl)? {
            crls.push(Value::String(jose::b64std(&der)));
        }
        crls.extend(spec.extra_crls.iter().map(|d| Value::String(jose::b64std(d))));
        let payload = json!({
            "domain": domain.as_str(),
            "sequence": spec.sequence,
            "issued_at": rfc3339(spec.issued_at),
            "next_update": rfc3339(spec.next_update),
            "expires": rfc3339(spec.expires),
            "entries": entries.iter().map(TrustListEntry::to_json).collect::<Vec<_>>(),
            "crls": crls,
        });
        let (cert, key) = self.list_signer_material(domain, spec.signer)?;
        let alg = SigAlg::default_for(&key)?;
        let header = json!({
            "alg": alg.name(),
            "typ": "trust-list+jwt",
            "x5c": jose::x5c(&[&cert])?,
        });
        jose::compact(&header, &serde_json::to_vec(&payload)?, alg, &key)
    }

    /// Signs and writes a list; returns the path written.
    pub fn write_trust_list(&self, domain: TrustDomainId, spec: &TrustListSpec) -> Result<PathBuf, PkiError> {
        let jws = self.trust_list(domain, spec)?;
        let path = self.path(spec.out.clone().unwrap_or_else(|| layout::domain_files(domain).list.into()));
        files::write(&path, jws.as_bytes(), false)?;
        Ok(path)
    }

    /// The sequence of the list published at the domain's default path.
    pub fn published_sequence(&self, domain: TrustDomainId) -> Result<u64, PkiError> {
        let path = self.path(layout::domain_files(domain).list);
        let text = files::read(&path)?;
        let bad = |m: &str| PkiError::Parse { path: path.clone(), message: m.to_owned() };
        let payload = text.split(|b| *b == b'.').nth(1).ok_or_else(|| bad("not a compact jws"))?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad("payload is not base64url"))?;
        let v: Value = serde_json::from_slice(&payload)?;
        v.get("sequence").and_then(Value::as_u64).ok_or_else(|| bad("no sequence"))
    }

    /// A spec for the next list of a domain: published sequence + 1, at `now`.
    pub fn next_list_spec(&self, domain: TrustDomainId) -> Result<TrustListSpec, PkiError> {
        Ok(TrustListSpec::new(self.published_sequence(domain)? + 1, self.now))
    }

    /// Makes the domain's next list signer (`list-signer-next.pem`, `.key`)
    /// and returns its pin. `bridge.toml` is left alone: pin it with
    /// [`Pki::set_signer_pins`] to model a rotation.
    pub fn add_next_list_signer(&self, domain: TrustDomainId) -> Result<String, PkiError> {
        list_signer(self, domain, true)
    }

    /// The CRL a list carries for `choice`, as DER.
    pub fn domain_crl(&self, domain: TrustDomainId, choice: CrlChoice) -> Result<Option<Vec<u8>>, PkiError> {
        let f = layout::domain_files(domain);
        let current = files::read(&self.path(f.crl))?;
        let (this_update, next_update, wrong_key) = match choice {
            CrlChoice::Omitted => return Ok(None),
            CrlChoice::Current => return Ok(Some(current)),
            CrlChoice::WrongKey => (self.now, self.now + Duration::days(CRL_DAYS), true),
            CrlChoice::PastNextUpdate => (self.now - Duration::days(8), self.now - Duration::days(1), false),
        };
        let revoked = crl::revoked_entries(&current)?;
        let ca = files::read_cert(&self.path(f.crl_issuer))?;
        let key = if wrong_key {
            certs::generate_key(KeyKind::P256)?
        } else {
            files::read_key(&self.path(f.crl_issuer_key))?
        };
        let number = self.published_sequence(domain).unwrap_or(1);
        Ok(Some(crl::build(&ca, &key, &CrlContent { revoked: &revoked, this_update, next_update, number })?))
    }

    fn list_signer_material(
        &self,
        domain: TrustDomainId,
        signer: ListSigner,
    ) -> Result<(X509, PKey<Private>), PkiError> {
        let f = layout::domain_files(domain);
        let sm2 = domain == TrustDomainId::CnGd;
        let read_key =
            |rel: &str| if sm2 { files::read_sm2_key(&self.path(rel)) } else { files::read_key(&self.path(rel)) };
        match signer {
            ListSigner::Current => Ok((files::read_cert(&self.path(f.list_signer))?, read_key(f.list_signer_key)?)),
            ListSigner::Next => {
                if !self.path(f.next_list_signer).is_file() {
                    return Err(PkiError::Invalid(format!(
                        "no next list signer for {domain}: call Pki::add_next_list_signer first"
                    )));
                }
                Ok((files::read_cert(&self.path(f.next_list_signer))?, read_key(f.next_list_signer_key)?))
            }
            ListSigner::Unpinned => {
                let (template, kind) = list_signer_template(domain, false, self.now);
                let key = certs::generate_key(kind)?;
                let cert = certs::issue(&template, &key, None)?;
                Ok((cert, key))
            }
        }
    }
}
