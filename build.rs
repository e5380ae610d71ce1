//! Embeds the shipped `policies/` and `mappings/` so that `hengqin-bridge
//! demo` runs from anywhere (the embedded default).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut found = Vec::new();
    for dir in ["policies", "mappings"] {
        println!("cargo:rerun-if-changed={dir}");
        files(&root.join(dir), &mut found);
    }
    found.sort();
    let mut code =
        String::from("/// Every shipped policy and mapping file: (path relative to the repository, bytes).\n");
    code.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    for p in &found {
        let rel = p.strip_prefix(&root).expect("under the root").to_string_lossy().replace('\\', "/");
        writeln!(code, "    ({rel:?}, include_bytes!({:?})),", p.display().to_string()).expect("write to string");
        println!("cargo:rerun-if-changed={}", p.display());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("shipped_files.rs");
    std::fs::write(out, code).expect("write generated file");
}
