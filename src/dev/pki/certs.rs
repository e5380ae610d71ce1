//! Keys and X.509 certificates of the test PKI, built with OpenSSL.
//!
//! Every certificate gets a random positive serial, a subject key
//! identifier, and (when issued by another certificate) an authority key
//! identifier, so that chain building and CRL matching behave as they do
//! with real CAs. SM2 issuers re-sign through `signing::openssl_sm2` so the
//! signature carries the GM/T 0009 default ID.

use super::PkiError;
use crate::signing::{SM2_DEFAULT_ID, openssl_sm2};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509Name, X509Ref};
use time::{Duration, OffsetDateTime};

/// The kinds of key the test PKI makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// ECDSA on P-256 (ES256, TLS).
    P256,
    /// RSA of the given modulus size.
    Rsa(u32),
    /// SM2 (`EVP_PKEY_SM2`).
    Sm2,
}

pub(crate) fn generate_key(kind: KeyKind) -> Result<PKey<Private>, PkiError> {
    Ok(match kind {
        KeyKind::P256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
        KeyKind::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits)?)?,
        KeyKind::Sm2 => openssl_sm2::generate_key()?,
    })
}

/// DER of the SM2 curve's OID (1.2.156.10197.1.301) as it appears in a
/// `SubjectPublicKeyInfo`.
const SM2_CURVE_OID_DER: [u8; 10] = [0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];

/// Whether a key is on the SM2 curve. OpenSSL 3.0 reports a decoded SM2
/// key's type as unknown (-1), so the type id alone cannot tell; the
/// public key's algorithm parameters can.
pub(crate) fn is_sm2<T: HasPublic>(key: &PKeyRef<T>) -> bool {
    key.public_key_to_der().is_ok_and(|spki| spki.windows(SM2_CURVE_OID_DER.len()).any(|w| w == SM2_CURVE_OID_DER))
}

/// What a certificate is for; decides basic constraints, key usage and
/// extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// A CA: `CA:TRUE`, keyCertSign + cRLSign.
    Ca,
    /// Signs documents (assertions, trust lists, licences): digitalSignature + nonRepudiation.
    DocumentSigner,
    /// A TLS server: digitalSignature, serverAuth.
    TlsServer,
    /// A TLS client: digitalSignature, clientAuth.
    TlsClient,
    /// A leaf whose only key usage is keyCertSign (a misissued signer).
    CertSignOnly,
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum San {
    Dns(String),
    Ip(String),
    Uri(String),
}

/// The subject and profile of a certificate to issue.
#[derive(Debug, Clone)]
pub(crate) struct CertTemplate {
    pub common_name: String,
    pub organization: String,
    pub country: &'static str,
    pub usage: Usage,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub sans: Vec<San>,
}

impl CertTemplate {
    /// A template without a validity window yet (see [`Self::valid_around`]).
    pub fn new(common_name: &str, organization: &str, country: &'static str, usage: Usage) -> Self {
        CertTemplate {
            common_name: common_name.to_owned(),
            organization: organization.to_owned(),
            country,
            usage,
            not_before: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH,
            sans: Vec::new(),
        }
    }

    /// Valid from one day before `now` until `days` after it.
    pub fn valid_around(mut self, now: OffsetDateTime, days: i64) -> Self {
        self.not_before = now - Duration::days(1);
        self.not_after = now + Duration::days(days);
        self
    }

    /// An explicit validity window.
    pub fn valid_between(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    pub fn san(mut self, san: San) -> Self {
        self.sans.push(san);
        self
    }

    fn name(&self) -> Result<X509Name, PkiError> {
        let mut name = X509Name::builder()?;
        name.append_entry_by_nid(Nid::COUNTRYNAME, self.country)?;
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, &self.organization)?;
        name.append_entry_by_nid(Nid::COMMONNAME, &self.common_name)?;
        Ok(name.build())
    }
}

/// The certificate and key that sign a new certificate.
#[derive(Clone, Copy)]
pub(crate) struct IssuerRef<'a> {
    pub cert: &'a X509Ref,
    pub key: &'a PKeyRef<Private>,
}

/// Issues a certificate for `subject_key`; `issuer` `None` means self-signed.
pub(crate) fn issue(
    template: &CertTemplate,
    subject_key: &PKeyRef<Private>,
    issuer: Option<IssuerRef<'_>>,
) -> Result<X509, PkiError> {
    let subject = template.name()?;
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(random_serial()?.to_asn1_integer()?.as_ref())?;
    b.set_subject_name(&subject)?;
    b.set_issuer_name(issuer.map_or(subject.as_ref(), |i| i.cert.subject_name()))?;
    b.set_pubkey(subject_key)?;
    b.set_not_before(Asn1Time::from_unix(template.not_before.unix_timestamp())?.as_ref())?;
    b.set_not_after(Asn1Time::from_unix(template.not_after.unix_timestamp())?.as_ref())?;
    add_extensions(&mut b, template, issuer)?;

    let signing_key = issuer.map_or(subject_key, |i| i.key);
    if is_sm2(signing_key) {
        Ok(openssl_sm2::sign_certificate(b.build(), signing_key, SM2_DEFAULT_ID)?)
    } else {
        b.sign(signing_key, MessageDigest::sha256())?;
        Ok(b.build())
    }
}

fn add_extensions(b: &mut X509Builder, t: &CertTemplate, issuer: Option<IssuerRef<'_>>) -> Result<(), PkiError> {
    match t.usage {
        Usage::Ca => {
            b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
            b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        }
        Usage::DocumentSigner => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().non_repudiation().build()?)?;
        }
        Usage::TlsServer => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        }
        Usage::TlsClient => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
        Usage::CertSignOnly => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().key_cert_sign().build()?)?;
        }
    }
    if !t.sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in &t.sans {
            match s {
                San::Dns(d) => san.dns(d),
                San::Ip(ip) => san.ip(ip),
                San::Uri(u) => san.uri(u),
            };
        }
        let ext = san.build(&b.x509v3_context(issuer.map(|i| i.cert), None))?;
        b.append_extension(ext)?;
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    if let Some(i) = issuer {
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(i.cert), None))?;
        b.append_extension(aki)?;
    }
    Ok(())
}

/// A random positive serial of at most 16 bytes.
fn random_serial() -> Result<BigNum, PkiError> {
    let mut n = BigNum::new()?;
    n.rand(127, MsbOption::ONE, false)?;
    Ok(n)
}

/// Lower-case hex SHA-256 of a certificate's DER: the form of a list-signer pin.
pub(crate) fn pin_of(cert: &X509Ref) -> Result<String, PkiError> {
    Ok(hex::encode(cert.digest(MessageDigest::sha256())?))
}

/// Upper-case hex of a certificate's serial number.
pub(crate) fn serial_hex(cert: &X509Ref) -> Result<String, PkiError> {
    Ok(cert.serial_number().to_bn()?.to_hex_str()?.to_string())
}

/// An ASN.1 time as an `OffsetDateTime` (UTC).
pub(crate) fn asn1_to_offset(t: &Asn1TimeRef) -> Result<OffsetDateTime, PkiError> {
    let diff = Asn1Time::from_unix(0)?.diff(t)?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| PkiError::Invalid(format!("certificate time: {e}")))
}
