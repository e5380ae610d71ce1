//! sled opened directly, as someone with the store directory could: to
//! change or remove what the bridge wrote.
#![allow(dead_code)]

use std::path::Path;

/// Opens the store directory with sled, waiting out the background
/// writes of a database this process just dropped.
pub fn open(dir: &Path) -> sled::Db {
    for _ in 0..100 {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("{} stays locked", dir.display())
}

/// The `audit` tree key of event or checkpoint `seq`.
pub fn audit_key(prefix: u8, seq: u64) -> Vec<u8> {
    let mut key = vec![prefix];
    key.extend_from_slice(&seq.to_be_bytes());
    key
}
