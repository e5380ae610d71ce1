//! Reloading while serving: policies, mappings, trust-list files and keys
//! are read again into a whole new [`Snapshot`], which replaces the old one
//! in one atomic swap only if every file is valid together. A refused set
//! changes nothing: the old snapshot keeps serving.
//!
//! Triggers: SIGHUP (at once) and a change of the files' contents, found by
//! polling a digest of every file the snapshot reads. Polling rather than
//! inotify because the deployments this node runs in replace files by
//! renaming symlinks (Kubernetes ConfigMaps) or over network mounts, where
//! change events are unreliable; the files are small, so hashing them every
//! few seconds costs nothing that matters. A change is acted on only once
//! the digest has stayed the same for one poll, so a set being copied file
//! by file is not loaded half-written.

use crate::config::{Config, ListSource};
use std::path::{Path, PathBuf};

/// SHA-256 over every file a snapshot reads: names and contents, in a
/// fixed order. Missing files count as absent (the reload that follows
/// reports them).
pub fn fingerprint(config: &Config) -> [u8; 32] {
    let mut files = Vec::new();
    collect(&config.policies_dir, &mut files);
    collect(&config.mappings_dir, &mut files);
    files.extend([&config.signer_certificate, &config.signer_key, &config.pseudonym_key].map(|p| p.to_path_buf()));
    files.extend(config.trust.iter().filter_map(|t| match &t.source {
        ListSource::File(p) => Some(p.clone()),
        ListSource::Https(_) => None,
    }));
    let mut h = openssl::sha::Sha256::new();
    for f in files {
        let name = f.to_string_lossy();
        h.update(&(name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        match std::fs::read(&f) {
            Ok(bytes) => {
                h.update(&[1]);
                h.update(&(bytes.len() as u64).to_be_bytes());
                h.update(&bytes);
            }
            Err(_) => h.update(&[0]),
        }
    }
    h.finish()
}

/// Every regular file under `dir`, sorted, recursing into subdirectories.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Decides from successive fingerprints when to reload: after a change
/// that has held still for one poll.
#[derive(Debug, Clone)]
pub struct ChangeDetector {
    loaded: [u8; 32],
    pending: Option<[u8; 32]>,
}

impl ChangeDetector {
    /// Starts from the fingerprint of the files the running snapshot came from.
    pub fn new(loaded: [u8; 32]) -> ChangeDetector {
        ChangeDetector { loaded, pending: None }
    }

    /// Feeds one poll; `true` means reload now.
    pub fn observe(&mut self, current: [u8; 32]) -> bool {
        if current == self.loaded {
            self.pending = None;
            false
        } else if self.pending == Some(current) {
            true
        } else {
            self.pending = Some(current);
            false
        }
    }

    /// Records that a reload was attempted for `current` (installed or
    /// refused): the same files are not tried again until they change.
    pub fn attempted(&mut self, current: [u8; 32]) {
        self.loaded = current;
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_acted_on_once_it_holds_still() {
        let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
        let mut d = ChangeDetector::new(a);
        assert!(!d.observe(a));
        assert!(!d.observe(b), "first sight of a change waits one poll");
        assert!(!d.observe(c), "still changing");
        assert!(d.observe(c), "held still for one poll");
        d.attempted(c);
        assert!(!d.observe(c), "not retried while unchanged");
        assert!(!d.observe(a));
        assert!(d.observe(a), "going back is a change too");
    }

    #[test]
    fn a_change_reverted_before_it_settles_is_ignored() {
        let (a, b) = ([1; 32], [2; 32]);
        let mut d = ChangeDetector::new(a);
        assert!(!d.observe(b));
        assert!(!d.observe(a));
        assert!(!d.observe(a));
    }

    #[test]
    fn the_fingerprint_follows_contents_and_names() {
        let tmp = tempfile::tempdir().unwrap();
        let shipped = tmp.path().join("shipped");
        crate::shipped::write_to(&shipped).unwrap();
        let mut opts = crate::dev::pki::PkiOptions::new(time::OffsetDateTime::now_utc());
        opts.policies_dir = shipped.join("policies");
        opts.mappings_dir = shipped.join("mappings");
        let pki = crate::dev::pki::generate(&tmp.path().join("pki"), &opts).unwrap();
        let config = Config::load(&pki.config_path(), |_| None).unwrap();
        let first = fingerprint(&config);
        assert_eq!(fingerprint(&config), first, "stable while nothing changes");
        let policy = config.policies_dir.join("hengqin.toml");
        let text = std::fs::read_to_string(&policy).unwrap();
        std::fs::write(&policy, format!("{text}\n# a comment\n")).unwrap();
        let edited = fingerprint(&config);
        assert_ne!(edited, first);
        std::fs::write(config.mappings_dir.join("codes").join("extra.toml"), "").unwrap();
        assert_ne!(fingerprint(&config), edited, "a new file in a subdirectory counts");
    }
}
