//! Embeds the shipped `policies/` and `mappings/` so that `hengqin-bridge
//! demo` runs from anywhere (the embedded default), and compiles the gRPC
//! contract in `proto/` with protox (pure Rust: no `protoc` needed) into
//! the tonic code and the descriptor set served by reflection.

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

/// The contract, relative to `proto/`.
const PROTO: &str = "hengqin/bridge/v1/bridge.proto";

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    shipped(&root, &out);
    proto(&root, &out);
}

fn proto(root: &Path, out: &Path) {
    let dir = root.join("proto");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut compiler = protox::Compiler::new([&dir]).unwrap_or_else(|e| panic!("proto: {e}"));
    compiler.include_source_info(true).include_imports(true);
    compiler.open_file(PROTO).unwrap_or_else(|e| panic!("proto: {e}"));
    std::fs::write(out.join("bridge_descriptor.bin"), compiler.encode_file_descriptor_set())
        .expect("write descriptor set");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())
        .unwrap_or_else(|e| panic!("proto codegen: {e}"));
}

fn shipped(root: &Path, out: &Path) {
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
        let rel = p.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
        writeln!(code, "    ({rel:?}, include_bytes!({:?})),", p.display().to_string()).expect("write to string");
        println!("cargo:rerun-if-changed={}", p.display());
    }
    code.push_str("];\n");
    std::fs::write(out.join("shipped_files.rs"), code).expect("write generated file");
}
