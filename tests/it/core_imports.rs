//! The decision core (`intake`, `trust`, `policy`, `mapping`, `licence`,
//! `pipeline`) imports no runtime, transport, store or limiter crate, none of
//! the edge modules, and never reads the clock: `now` is always an argument.

use std::path::{Path, PathBuf};

const CORE: &[&str] = &["src/intake", "src/trust", "src/policy", "src/mapping", "src/licence", "src/pipeline.rs"];

const FORBIDDEN: &[&str] = &[
    "tokio",
    "tonic",
    "sled",
    "governor",
    "crate::service",
    "crate::store",
    "crate::limits",
    "crate::app",
    "crate::refresh",
    "crate::audit",
    "now_utc",
    "now_local",
    "SystemTime",
    "Instant::now",
    "::now()",
];

fn rust_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            rust_files(&e.unwrap().path(), out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        out.push(p.to_path_buf());
    }
}

#[test]
fn core_modules_stay_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for c in CORE {
        let p = root.join(c);
        assert!(p.exists(), "core module {c} is missing");
        rust_files(&p, &mut files);
    }
    assert!(files.len() >= 6);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    found.push(format!("{}:{}: {word}", f.strip_prefix(root).unwrap().display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "the core reaches outside itself:\n{}", found.join("\n"));
}

#[test]
fn the_guard_sees_a_violation() {
    // The scanner itself must catch what it is meant to catch.
    let line = "    let t = time::OffsetDateTime::now_utc();";
    assert!(FORBIDDEN.iter().any(|w| line.split("//").next().unwrap().contains(w)));
}
