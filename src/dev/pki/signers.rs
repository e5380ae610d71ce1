//! Assertion signers, good and bad. [`SignerKind::Default`] is the signer of
//! the layout; every other kind is one way an assertion's chain can be
//! wrong, made on first use under `mo/test-signers/` and reused after.

use super::certs::{self, CertTemplate, IssuerRef, KeyKind, Usage};
use super::crl::{self, CrlContent, RevokedEntry};
use super::generate::{CA_DAYS, CRL_DAYS, LEAF_DAYS, MO_ISSUING_CA_CN, MO_ORG, MO_ROOT_CN, MO_SIGNER_CN};
use super::trust_list::TrustListSpec;
use super::{Pki, PkiError, files, layout};
use crate::model::TrustDomainId;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::PathBuf;
use time::Duration;

/// Which certificate and key sign a minted assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignerKind {
    /// `mo/assertion-signer.pem`: ES256, chains to the DSI issuing CA.
    #[default]
    Default,
    /// A P-256 signer under the DSI issuing CA whose serial is on the CRL
    /// once [`Pki::revoke_signer`]`(SignerKind::Revoked)` has run; minting
    /// with it before that is an error.
    Revoked,
    /// Under the DSI issuing CA, notAfter one day before the PKI's `now`.
    Expired,
    /// Under the DSI issuing CA, notBefore one day after the PKI's `now`.
    NotYetValid,
    /// Chains to a second root and issuing CA that no list carries.
    UntrustedRoot,
    /// Chains to an issuing CA that has the DSI issuing CA's name but
    /// another key (issued by a root that has the real root's name).
    Impostor,
    /// The DSI issuing CA signs the assertion itself; `x5c` = [issuing CA].
    CaAsLeaf,
    /// Under the DSI issuing CA, key usage keyCertSign only.
    WrongKeyUsage,
    /// RSA 2048 under the DSI issuing CA: PS256 by default, RS256 when asked.
    Rsa2048,
    /// RSA 1024 under the DSI issuing CA (below the profile's minimum).
    Rsa1024,
}

impl SignerKind {
    pub const ALL: &'static [SignerKind] = &[
        SignerKind::Default,
        SignerKind::Revoked,
        SignerKind::Expired,
        SignerKind::NotYetValid,
        SignerKind::UntrustedRoot,
        SignerKind::Impostor,
        SignerKind::CaAsLeaf,
        SignerKind::WrongKeyUsage,
        SignerKind::Rsa2048,
        SignerKind::Rsa1024,
    ];

    /// The kebab-case name (CLI flag value, file name under `mo/test-signers/`).
    pub fn name(self) -> &'static str {
        match self {
            SignerKind::Default => "default",
            SignerKind::Revoked => "revoked",
            SignerKind::Expired => "expired",
            SignerKind::NotYetValid => "not-yet-valid",
            SignerKind::UntrustedRoot => "untrusted-root",
            SignerKind::Impostor => "impostor",
            SignerKind::CaAsLeaf => "ca-as-leaf",
            SignerKind::WrongKeyUsage => "wrong-key-usage",
            SignerKind::Rsa2048 => "rsa-2048",
            SignerKind::Rsa1024 => "rsa-1024",
        }
    }

    pub fn parse(s: &str) -> Option<SignerKind> {
        SignerKind::ALL.iter().copied().find(|k| k.name() == s)
    }

    /// Whether the DSI issuing CA issued the signing certificate (so its
    /// CRL can revoke it).
    pub fn under_issuing_ca(self) -> bool {
        !matches!(self, SignerKind::UntrustedRoot | SignerKind::Impostor | SignerKind::CaAsLeaf)
    }
}

/// A signing key and its `x5c` chain, leaf first.
#[derive(Debug, Clone)]
pub struct SignerMaterial {
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
}

impl SignerMaterial {
    pub fn leaf(&self) -> &X509 {
        &self.chain[0]
    }
}

/// The result of a revocation: the new CRL and the list that carries it.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// Upper-case hex of the revoked serial.
    pub serial_hex: String,
    /// The new CRL, DER.
    pub crl_der: Vec<u8>,
    /// Sequence of the republished list.
    pub sequence: u64,
    /// The republished list.
    pub list: PathBuf,
}

impl Pki {
    /// The key and chain of a signer kind, made on first use.
    pub fn signer(&self, kind: SignerKind) -> Result<SignerMaterial, PkiError> {
        let issuing_ca = || files::read_cert(&self.path(layout::MO_ISSUING_CA));
        match kind {
            SignerKind::Default => Ok(SignerMaterial {
                key: files::read_key(&self.path(layout::MO_ASSERTION_SIGNER_KEY))?,
                chain: vec![files::read_cert(&self.path(layout::MO_ASSERTION_SIGNER))?, issuing_ca()?],
            }),
            SignerKind::CaAsLeaf => Ok(SignerMaterial {
                key: files::read_key(&self.path(layout::MO_ISSUING_CA_KEY))?,
                chain: vec![issuing_ca()?],
            }),
            SignerKind::UntrustedRoot | SignerKind::Impostor => self.foreign_signer(kind),
            _ => {
                let (leaf, key) = self.leaf_under_issuing_ca(kind)?;
                Ok(SignerMaterial { key, chain: vec![leaf, issuing_ca()?] })
            }
        }
    }

    /// Revokes the layout's assertion signer (`mo/assertion-signer.pem`).
    pub fn revoke_assertion_signer(&self) -> Result<Revocation, PkiError> {
        self.revoke_signer(SignerKind::Default)
    }

    /// Puts a signer's serial on the DSI issuing CA's CRL and republishes
    /// the MO list (sequence + 1) carrying the new CRL.
    pub fn revoke_signer(&self, kind: SignerKind) -> Result<Revocation, PkiError> {
        if !kind.under_issuing_ca() {
            return Err(PkiError::Invalid(format!("the issuing ca's crl cannot revoke signer kind {}", kind.name())));
        }
        let leaf = self.signer(kind)?.chain.swap_remove(0);
        self.revoke_serial(TrustDomainId::Mo, &leaf.serial_number().to_bn()?.to_vec())
    }

    /// Whether a signer's serial is on the current CRL of the DSI issuing CA.
    pub fn is_revoked(&self, kind: SignerKind) -> Result<bool, PkiError> {
        if !kind.under_issuing_ca() {
            return Ok(false);
        }
        let serial = self.signer(kind)?.leaf().serial_number().to_bn()?.to_vec();
        let crl = files::read(&self.path(layout::MO_ISSUING_CA_CRL))?;
        Ok(crl::revoked_entries(&crl)?.iter().any(|r| r.serial == serial))
    }

    /// Adds `serial` to the CRL of the domain's CA and republishes the list.
    pub(super) fn revoke_serial(&self, domain: TrustDomainId, serial: &[u8]) -> Result<Revocation, PkiError> {
        let f = layout::domain_files(domain);
        let _guard = self.making.lock().unwrap_or_else(|e| e.into_inner());
        let crl_path = self.path(f.crl);
        let mut revoked = crl::revoked_entries(&files::read(&crl_path)?)?;
        if !revoked.iter().any(|r| r.serial == serial) {
            revoked.push(RevokedEntry { serial: serial.to_vec(), revoked_at: self.now });
        }
        let sequence = self.published_sequence(domain)? + 1;
        let ca = files::read_cert(&self.path(f.crl_issuer))?;
        let key = files::read_key(&self.path(f.crl_issuer_key))?;
        let content = CrlContent {
            revoked: &revoked,
            this_update: self.now,
            next_update: self.now + Duration::days(CRL_DAYS),
            number: sequence,
        };
        let crl_der = crl::build(&ca, &key, &content)?;
        files::write(&crl_path, &crl_der, false)?;
        let list = self.write_trust_list(domain, &TrustListSpec::new(sequence, self.now))?;
        let serial_hex = openssl::bn::BigNum::from_slice(serial)?.to_hex_str()?.to_string();
        Ok(Revocation { serial_hex, crl_der, sequence, list })
    }

    fn test_signer_path(&self, name: &str, ext: &str) -> PathBuf {
        self.path(layout::MO_TEST_SIGNERS).join(format!("{name}.{ext}"))
    }

    /// Loads `name.pem`/`name.key` under `mo/test-signers/`, or makes and
    /// writes them with `make`.
    fn cached(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<(X509, PKey<Private>), PkiError>,
    ) -> Result<(X509, PKey<Private>), PkiError> {
        let _guard = self.making.lock().unwrap_or_else(|e| e.into_inner());
        let (pem, key) = (self.test_signer_path(name, "pem"), self.test_signer_path(name, "key"));
        if pem.is_file() && key.is_file() {
            return Ok((files::read_cert(&pem)?, files::read_key(&key)?));
        }
        let (cert, k) = make()?;
        files::write_key(&key, &k)?;
        files::write_cert(&pem, &cert)?;
        Ok((cert, k))
    }

    fn leaf_under_issuing_ca(&self, kind: SignerKind) -> Result<(X509, PKey<Private>), PkiError> {
        self.cached(kind.name(), || {
            let now = self.now;
            let base =
                CertTemplate::new(&format!("{MO_SIGNER_CN} {}", kind.name()), MO_ORG, "MO", Usage::DocumentSigner);
            let (template, key_kind) = match kind {
                SignerKind::Expired => {
                    (base.valid_between(now - Duration::days(LEAF_DAYS + 1), now - Duration::days(1)), KeyKind::P256)
                }
                SignerKind::NotYetValid => {
                    (base.valid_between(now + Duration::days(1), now + Duration::days(LEAF_DAYS)), KeyKind::P256)
                }
                SignerKind::WrongKeyUsage => {
                    let mut t = base.valid_around(now, LEAF_DAYS);
                    t.usage = Usage::CertSignOnly;
                    (t, KeyKind::P256)
                }
                SignerKind::Rsa2048 => (base.valid_around(now, LEAF_DAYS), KeyKind::Rsa(2048)),
                SignerKind::Rsa1024 => (base.valid_around(now, LEAF_DAYS), KeyKind::Rsa(1024)),
                _ => (base.valid_around(now, LEAF_DAYS), KeyKind::P256),
            };
            let ca = files::read_cert(&self.path(layout::MO_ISSUING_CA))?;
            let ca_key = files::read_key(&self.path(layout::MO_ISSUING_CA_KEY))?;
            let key = certs::generate_key(key_kind)?;
            let cert = certs::issue(&template, &key, Some(IssuerRef { cert: &ca, key: &ca_key }))?;
            Ok((cert, key))
        })
    }

    /// A root, an issuing CA and a signer outside every list. For
    /// [`SignerKind::Impostor`] the root and issuing CA carry the real
    /// MO names.
    fn foreign_signer(&self, kind: SignerKind) -> Result<SignerMaterial, PkiError> {
        let name = kind.name();
        let (root_cn, ca_cn) = match kind {
            SignerKind::Impostor => (MO_ROOT_CN.to_owned(), MO_ISSUING_CA_CN.to_owned()),
            _ => ("Untrusted Test Root CA".to_owned(), "Untrusted Issuing CA".to_owned()),
        };
        let now = self.now;
        let (root, root_key) = self.cached(&format!("{name}-root"), || {
            let key = certs::generate_key(KeyKind::P256)?;
            let cert = certs::issue(
                &CertTemplate::new(&root_cn, MO_ORG, "MO", Usage::Ca).valid_around(now, CA_DAYS),
                &key,
                None,
            )?;
            Ok((cert, key))
        })?;
        let (ca, ca_key) = self.cached(&format!("{name}-issuing-ca"), || {
            let key = certs::generate_key(KeyKind::P256)?;
            let t = CertTemplate::new(&ca_cn, MO_ORG, "MO", Usage::Ca).valid_around(now, CA_DAYS);
            let cert = certs::issue(&t, &key, Some(IssuerRef { cert: &root, key: &root_key }))?;
            Ok((cert, key))
        })?;
        let (leaf, key) = self.cached(name, || {
            let key = certs::generate_key(KeyKind::P256)?;
            let t = CertTemplate::new(&format!("{MO_SIGNER_CN} {name}"), MO_ORG, "MO", Usage::DocumentSigner)
                .valid_around(now, LEAF_DAYS);
            let cert = certs::issue(&t, &key, Some(IssuerRef { cert: &ca, key: &ca_key }))?;
            Ok((cert, key))
        })?;
        Ok(SignerMaterial { key, chain: vec![leaf, ca] })
    }
}
