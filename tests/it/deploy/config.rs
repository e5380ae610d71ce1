//! `deploy/bridge.toml`, the documented configuration.

use super::{ETC, STATE, bridge, dev_pki, read, rooted, text};

/// Every field of the config's DTOs, read from `src/config/dto.rs`.
fn dto_fields() -> Vec<String> {
    read("src/config/dto.rs")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub ")?.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect()
}

#[test]
fn every_key_the_config_reads_is_documented_in_the_example() {
    let example = read("deploy/bridge.toml");
    let fields = dto_fields();
    assert!(fields.len() > 25, "read too few fields from dto.rs: {fields:?}");
    for field in fields {
        // A section, a key, or a key shown commented out (`# key = …`).
        let documented = example.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ']);
            l.starts_with(&format!("[{field}")) || l.starts_with(&format!("{field} = "))
        });
        assert!(documented, "deploy/bridge.toml does not document `{field}`");
    }
}

#[test]
fn the_example_config_passes_check_against_a_dev_pki() {
    // The layout the example names, under a temporary root: the shipped
    // policies and mappings, a `dev pki` as the pki directory.
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join(&ETC[1..]);
    hengqin_bridge::shipped::write_to(&etc).unwrap();
    dev_pki(&etc.join("pki"));
    std::fs::create_dir_all(tmp.path().join(&STATE[1..])).unwrap();
    let config = etc.join("bridge.toml");
    std::fs::write(&config, rooted(&read("deploy/bridge.toml"), tmp.path(), &etc.join("pki"))).unwrap();

    let out = bridge(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    // And it is the pins that made the difference: the placeholders fail.
    let placeholders = read("deploy/bridge.toml").replace(ETC, &etc.display().to_string());
    std::fs::write(&config, placeholders).unwrap();
    let out = bridge(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not pinned"), "{}", text(&out.stderr));
}
