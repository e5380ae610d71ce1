//! Mapping files over arbitrary text. The input is read as the file it
//! looks like — a mapping named by its own `id` when it has a `[mapping]`
//! table, the name-exception table when it has `[[exception]]`, else the
//! code table named by its own `id` — and loaded, as the server loads a
//! directory, beside the shipped code tables (and, for a table, the
//! shipped mappings that use them). Loading returns a mapping set or a
//! list of problems, never panics; each problem names a file of the set
//! and a line in it. A set that loads is cross-checked against the shipped
//! policies, and its name converter is run over the input as a name.
#![no_main]

use fuzz_fixtures::{check_file_errors, shipped, stated_id};
use hengqin_bridge::mapping;
use hengqin_bridge::policy::{self, PolicySet};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Longest name the claim syntax lets through (`person.name_zh_hant`).
const NAME_CHARS: usize = hengqin_bridge::intake::MAX_NAME_ZH_HANT_CHARS;

fn policies() -> &'static PolicySet {
    static POLICIES: OnceLock<PolicySet> = OnceLock::new();
    POLICIES.get_or_init(|| policy::load_texts(shipped("policies/")).expect("shipped policies load"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let is_mapping = text.contains("[mapping]");
    let role = if is_mapping {
        format!("{}.toml", stated_id(text).unwrap_or("mo-health-voucher"))
    } else if text.contains("[[exception]]") {
        format!("codes/{}", mapping::NAME_EXCEPTIONS)
    } else {
        format!("codes/{}.toml", stated_id(text).unwrap_or("sex"))
    };
    let mut set: Vec<(&str, &str)> = shipped("mappings/")
        .into_iter()
        .filter(|(name, _)| *name != role && (name.starts_with("codes/") || !is_mapping))
        .collect();
    set.push((&role, text));
    match mapping::load_texts(set.iter().copied()) {
        Ok(loaded) => {
            let _ = mapping::check_policies(&loaded, policies());
            let name: String = text.chars().take(NAME_CHARS).collect();
            let converted = loaded.names().convert(&name);
            assert_eq!(converted.original, name, "the Traditional original is kept");
        }
        Err(errors) => check_file_errors(&set, &errors),
    }
});
