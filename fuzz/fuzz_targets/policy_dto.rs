//! Policy files over arbitrary text. The input is read as the file it
//! looks like — `macau.toml` when it has an `[assertion]` table,
//! `purposes.toml` when it has `[[purpose]]`, else the jurisdiction file
//! named by its own `id` — and loaded, as the server loads a directory,
//! with the shipped files it needs beside it: `macau.toml`, `purposes.toml`
//! and one other jurisdiction. Loading returns a policy set or a list of
//! problems, never panics; each problem names a file of the set and a line
//! in it. A set that loads is asked for a decision on every partner,
//! purpose and format with each flow's sample claims.
#![no_main]

use fuzz_fixtures::{NOW, check_file_errors, flow_claims, shipped, stated_id};
use hengqin_bridge::model::OutputFormat;
use hengqin_bridge::policy::{self, PolicySet, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let jurisdiction;
    let (role, beside) = if text.contains("[assertion]") {
        ("macau.toml", "hengqin.toml")
    } else if text.contains("[[purpose]]") {
        ("purposes.toml", "hengqin.toml")
    } else {
        let id = stated_id(text).filter(|id| !["macau", "purposes", "guangzhou"].contains(id));
        jurisdiction = format!("{}.toml", id.unwrap_or("hengqin"));
        (jurisdiction.as_str(), "guangzhou.toml")
    };
    let mut set: Vec<(&str, &str)> = shipped("policies/")
        .into_iter()
        .filter(|(name, _)| [role, beside, "macau.toml", "purposes.toml"].contains(name) && *name != role)
        .collect();
    set.push((role, text));
    match policy::load_texts(set.iter().copied()) {
        Ok(loaded) => decide_all(&loaded),
        Err(errors) => check_file_errors(&set, &errors),
    }
});

fn decide_all(set: &PolicySet) {
    assert!(set.partners().count() > 0 && set.purposes().count() > 0);
    for partner in set.partners() {
        for purpose in set.purposes() {
            for format in [OutputFormat::Gbt36903Json, OutputFormat::GdLicenseAppJson] {
                let req = Request { partner: partner.id.clone(), purpose: purpose.id.clone(), format };
                for claims in flow_claims() {
                    let d = policy::evaluate(claims, set, &req, NOW);
                    assert_eq!(d.is_permit(), d.reasons.is_empty(), "a refusal has reasons, a permit none");
                    assert!(!d.is_permit() || partner.purposes.contains(&purpose.id));
                    assert!(!d.is_permit() || partner.formats.contains(&format));
                }
            }
        }
    }
}
