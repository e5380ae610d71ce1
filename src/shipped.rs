//! The policies and mappings shipped with the bridge, embedded at build
//! time, so the demo and `dev pki` work from any directory.

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/shipped_files.rs"));

/// Writes the shipped files under `dir` (`dir/policies/…`, `dir/mappings/…`).
pub fn write_to(dir: &Path) -> std::io::Result<()> {
    for (rel, bytes) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_match_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(FILES.iter().any(|(p, _)| *p == "policies/hengqin.toml"));
        assert!(FILES.iter().any(|(p, _)| *p == "mappings/mo-health-voucher.toml"));
        for (rel, bytes) in FILES {
            assert_eq!(std::fs::read(root.join(rel)).unwrap(), *bytes, "{rel}");
        }
    }
}
