use super::*;
use std::path::Path;

fn shipped() -> PolicySet {
    match load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")) {
        Ok(s) => s,
        Err(e) => panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")),
    }
}

#[test]
fn shipped_policies_load() {
    let set = shipped();
    assert_eq!(set.partners().count(), 3);
}
