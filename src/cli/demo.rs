//! `hengqin-bridge demo`: the embedded default. A throwaway PKI in a
//! temporary directory, the shipped policies and mappings, the Hengqin
//! clinic's health-voucher flow end to end and a set of refusals, each
//! outcome compared with the expected one.
//!
//! The demo drives the pipeline offline (in-process, no network) and says
//! so; `serve` runs the gRPC node.

use super::{EXIT_PROBLEMS, now};
use anyhow::Context;
use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{PkiOptions, SignerKind, generate};
use hengqin_bridge::licence;
use hengqin_bridge::model::Reason;
use hengqin_bridge::pipeline::{OpenSubjectGate, TranslateRequest, process};
use hengqin_bridge::shipped;
use hengqin_bridge::snapshot::Snapshot;
use hengqin_bridge::trust::MemoryReplayGuard;
use serde_json::json;
use std::process::ExitCode;

const CLINIC: &str = "hq-clinic-0001";
const VOUCHER: &str = "health-voucher";

pub fn run() -> anyhow::Result<ExitCode> {
    println!("hengqin-bridge demo — offline: the pipeline runs in-process, without the gRPC node\n");
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let shipped_dir = tmp.path().join("shipped");
    shipped::write_to(&shipped_dir).context("writing the shipped policies and mappings")?;
    let started = now();
    let mut opts = PkiOptions::new(started);
    opts.policies_dir = shipped_dir.join("policies");
    opts.mappings_dir = shipped_dir.join("mappings");
    let pki_dir = tmp.path().join("pki");
    let pki = generate(&pki_dir, &opts).context("generating the test PKI")?;
    println!("test PKI and config in {}", pki_dir.display());

    let config = Config::load(&pki.config_path(), |_| None)
        .map_err(|e| anyhow::anyhow!("config: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    let snap = Snapshot::load(&config, now()).map_err(|e| {
        anyhow::anyhow!("snapshot: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let replay = MemoryReplayGuard::default();
    let mut failures = 0;

    // 1. The clinic checks a voucher holder.
    let jws = mint_assertion(&pki, &MintOptions::new(Flow::HealthVoucher, now()))?;
    let req = TranslateRequest { partner: CLINIC, purpose: VOUCHER, format: "", nonce: "", assertion: jws.as_bytes() };
    match process(&req, &snap, &replay, &OpenSubjectGate, now()) {
        Ok(lic) => {
            let doc: serde_json::Value = serde_json::from_slice(&lic.bytes)?;
            println!("\n[permit] {CLINIC} / {VOUCHER}: licence {}", lic.id);
            println!("{}", serde_json::to_string_pretty(&doc)?);
            let report = licence::verify(&lic.bytes, Some(&snap.anchors), now())?;
            println!(
                "verify-licence: signature {}, identifier {}, signer trusted {}",
                ok(report.signature_valid),
                ok(report.identifier_valid),
                ok(report.signer_trusted == Some(true))
            );
            if !report.is_valid() || report.signer_trusted != Some(true) {
                failures += 1;
            }
        }
        Err(r) => {
            println!("[FAIL] expected a licence, got {r}");
            failures += 1;
        }
    }

    // 2. Refusals, each with the code a partner scripts against.
    println!("\nrefusals:");
    let refusals: Vec<(&str, Reason, TranslateRequest<'_>)> = vec![
        ("the same assertion again", Reason::Replayed, req),
        ("a partner not in any policy", Reason::UnknownPartner, TranslateRequest { partner: "hq-unknown-9999", ..req }),
        ("an unknown output format", Reason::UnknownFormat, TranslateRequest { format: "ofd", ..req }),
    ];
    let minted = [
        (
            "a non-permanent resident's voucher",
            Reason::NotEligible,
            MintOptions::new(Flow::HealthVoucher, now()).set("person.bir_type", json!("BIRNP")),
        ),
        (
            "consent not given separately for health data",
            Reason::ConsentMissing,
            MintOptions::new(Flow::HealthVoucher, now()).set("consent.separate", json!(false)),
        ),
        (
            "an assertion for another gateway",
            Reason::WrongAudience,
            MintOptions::new(Flow::HealthVoucher, now()).set("aud", json!("urn:hengqin-bridge:gateway:elsewhere")),
        ),
        (
            "a cancelled eID",
            Reason::EidNotActive,
            MintOptions::new(Flow::HealthVoucher, now()).set("eid_status", json!("cancelled")),
        ),
        (
            "a signer chaining to an unknown root",
            Reason::UntrustedChain,
            MintOptions { signer: SignerKind::UntrustedRoot, ..MintOptions::new(Flow::HealthVoucher, now()) },
        ),
    ];
    let minted_jws: Vec<(&str, Reason, String)> = minted
        .into_iter()
        .map(|(what, reason, o)| mint_assertion(&pki, &o).map(|j| (what, reason, j)))
        .collect::<Result<_, _>>()?;
    let all = refusals.into_iter().chain(
        minted_jws
            .iter()
            .map(|(what, reason, j)| (*what, *reason, TranslateRequest { assertion: j.as_bytes(), ..req })),
    );
    for (what, expected, r) in all {
        match process(&r, &snap, &replay, &OpenSubjectGate, now()) {
            Err(rej) if rej.reason == expected => println!("  [ok]   {what}: {rej}"),
            Err(rej) => {
                println!("  [FAIL] {what}: expected {expected}, got {rej}");
                failures += 1;
            }
            Ok(_) => {
                println!("  [FAIL] {what}: expected {expected}, got a licence");
                failures += 1;
            }
        }
    }

    if failures == 0 {
        println!("\nevery outcome was the expected one");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{failures} outcome(s) differed from the expected");
        Ok(ExitCode::from(EXIT_PROBLEMS))
    }
}

fn ok(b: bool) -> &'static str {
    if b { "OK" } else { "FAILED" }
}
