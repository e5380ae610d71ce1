//! Everything a request reads, immutable: trust anchors, policies,
//! mappings, the signer, the pseudonym key and the issuing body. Built
//! from a [`Config`] at start-up (and, later, swapped whole on reload).

use crate::config::{Config, FileError, ListSource};
use crate::licence::IssuingBody;
use crate::mapping::MappingSet;
use crate::policy::{PolicySet, PseudonymKey};
use crate::signing::Signer;
use crate::trust::{Anchors, DomainTrust, list};
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// The immutable state a request is decided against. Cheap to clone: a
/// trust-list refresh makes a new snapshot that shares the rules and keys.
#[derive(Clone)]
pub struct Snapshot {
    pub gateway_id: String,
    pub issuer: IssuingBody,
    pub anchors: Arc<Anchors>,
    pub policies: Arc<PolicySet>,
    pub mappings: Arc<MappingSet>,
    pub signer: Arc<dyn Signer>,
    pub pseudonym_key: Arc<PseudonymKey>,
}

impl Snapshot {
    /// Loads every file the config names, trust lists from their `file:`
    /// sources included, and checks them together; every problem is
    /// returned at once. For offline use: the node takes its trust lists
    /// from its refresher ([`Snapshot::load_with_anchors`]).
    pub fn load(config: &Config, now: OffsetDateTime) -> Result<Snapshot, Vec<FileError>> {
        let mut errors = Vec::new();
        let mut domains = Vec::new();
        for t in &config.trust {
            match load_list(t, now) {
                Ok(d) => domains.push(d),
                Err(e) => errors.push(e),
            }
        }
        match Snapshot::load_with_anchors(config, Arc::new(Anchors::new(domains))) {
            Ok(s) if errors.is_empty() => Ok(s),
            Ok(_) => Err(errors),
            Err(e) => Err(e.into_iter().chain(errors).collect()),
        }
    }

    /// Loads the rules (policies, mappings) and the keys the config names,
    /// with the given trust anchors.
    pub fn load_with_anchors(config: &Config, anchors: Arc<Anchors>) -> Result<Snapshot, Vec<FileError>> {
        let mut errors = Vec::new();
        let rules = load_rules(&config.policies_dir, &config.mappings_dir).map_err(|e| errors.extend(e)).ok();
        let (policies, mappings) = rules.unzip();
        let signer = load_signer(config).map_err(|e| errors.push(e)).ok();
        let pseudonym_key = load_pseudonym_key(&config.pseudonym_key).map_err(|e| errors.push(e)).ok();
        match (policies, mappings, signer, pseudonym_key) {
            (Some(policies), Some(mappings), Some(signer), Some(pseudonym_key)) if errors.is_empty() => Ok(Snapshot {
                gateway_id: config.gateway_id.clone(),
                issuer: config.issuer.clone(),
                anchors,
                policies: Arc::new(policies),
                mappings: Arc::new(mappings),
                signer,
                pseudonym_key: Arc::new(pseudonym_key),
            }),
            _ => Err(errors),
        }
    }

    /// The same rules and keys with other trust anchors.
    pub fn with_anchors(&self, anchors: Arc<Anchors>) -> Snapshot {
        Snapshot { anchors, ..self.clone() }
    }
}

/// Loads the policies and the mappings and checks them against each
/// other (every purpose's mapping exists and only reads what the purpose
/// releases); every problem in every file at once.
pub fn load_rules(policies_dir: &Path, mappings_dir: &Path) -> Result<(PolicySet, MappingSet), Vec<FileError>> {
    let mappings = crate::mapping::load_dir(mappings_dir);
    let policies = crate::policy::load_dir(policies_dir);
    match (policies, mappings) {
        (Ok(p), Ok(m)) => {
            let errors = crate::mapping::check_policies(&m, &p);
            if errors.is_empty() { Ok((p, m)) } else { Err(errors) }
        }
        (p, m) => Err(m.err().into_iter().chain(p.err()).flatten().collect()),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|e| FileError::new(path.display().to_string(), None, format!("cannot read: {e}")))
}

/// The signer on the configured backend. The key file's bytes are wiped
/// once the key is read.
fn load_signer(config: &Config) -> Result<Arc<dyn Signer>, FileError> {
    let cert = read(&config.signer_certificate)?;
    let key = zeroize::Zeroizing::new(read(&config.signer_key)?);
    let backend = config.signer_backend;
    backend.signer_from_pem(&cert, &key).map_err(|e| {
        FileError::new(config.signer_key.display().to_string(), None, format!("signer ({}): {e}", backend.as_str()))
    })
}

fn load_pseudonym_key(path: &Path) -> Result<PseudonymKey, FileError> {
    let text =
        String::from_utf8(read(path)?).map_err(|_| FileError::new(path.display().to_string(), None, "not text"))?;
    PseudonymKey::from_hex(text.trim()).map_err(|e| FileError::new(path.display().to_string(), None, e.to_string()))
}

fn load_list(t: &crate::config::TrustDomainConfig, now: OffsetDateTime) -> Result<DomainTrust, FileError> {
    let ListSource::File(path) = &t.source else {
        return Err(FileError::new(
            format!("trust.{}", t.domain),
            None,
            "https trust-list sources are fetched by the running server, not offline",
        ));
    };
    let jws = read(path)?;
    // An expired list still loads: requests then fail closed with
    // TRUST_STALE instead of the node refusing to start.
    let list = list::verify(&jws, t.domain, &t.pins)
        .map_err(|e| FileError::new(path.display().to_string(), None, e.to_string()))?;
    let stale_at = t.max_staleness.map_or(list.expires, |m| list.expires.min(now + m));
    Ok(DomainTrust { list, require_revocation: t.require_revocation, stale_at })
}
