//! `hengqin-bridge dev …`: the test PKI and sample assertions.

use super::{EXIT_USAGE, now};
use anyhow::Context;
use clap::Subcommand;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion, parse_set};
use hengqin_bridge::dev::pki::{Pki, PkiOptions, generate};
use hengqin_bridge::model::Loa;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum DevCommand {
    /// Generate a complete test PKI and a ready bridge.toml in DIR.
    Pki {
        dir: PathBuf,
        /// Policies the config points at (default: ./policies).
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Mappings the config points at (default: ./mappings).
        #[arg(long, default_value = "mappings")]
        mappings: PathBuf,
    },
    /// Mint a sample assertion for a flow, signed by the test PKI.
    MintAssertion {
        #[arg(long)]
        pki: PathBuf,
        /// health-voucher | social-security | real-name-kyc
        #[arg(long)]
        flow: String,
        #[arg(long)]
        out: PathBuf,
        /// substantial | high
        #[arg(long, default_value = "high")]
        loa: String,
        /// Override a claim: claim.path=value (JSON when it parses as JSON).
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Lifetime in seconds (exp − iat).
        #[arg(long)]
        ttl: Option<i64>,
    },
}

pub fn run(cmd: DevCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DevCommand::Pki { dir, policies, mappings } => pki(&dir, &policies, &mappings),
        DevCommand::MintAssertion { pki, flow, out, loa, sets, ttl } => mint(&pki, &flow, &out, &loa, &sets, ttl),
    }
}

fn pki(dir: &Path, policies: &Path, mappings: &Path) -> anyhow::Result<ExitCode> {
    let set = match hengqin_bridge::snapshot::load_rules(policies, mappings) {
        Ok((s, _)) => s,
        Err(errors) => {
            super::print_errors(&errors);
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let mut opts = PkiOptions::new(now());
    opts.partners = set.partners().map(|p| p.id.clone()).collect();
    opts.policies_dir = std::path::absolute(policies)?;
    opts.mappings_dir = std::path::absolute(mappings)?;
    let pki = generate(dir, &opts).with_context(|| format!("generating the test PKI in {}", dir.display()))?;
    println!("test PKI for {} partner(s) written to {}", opts.partners.len(), pki.dir().display());
    println!("config: {}", pki.config_path().display());
    Ok(ExitCode::SUCCESS)
}

fn mint(dir: &Path, flow: &str, out: &Path, loa: &str, sets: &[String], ttl: Option<i64>) -> anyhow::Result<ExitCode> {
    let Some(flow) = Flow::parse(flow) else {
        eprintln!("unknown flow {flow:?}: health-voucher, social-security or real-name-kyc");
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let loa = match loa {
        "substantial" => Loa::Substantial,
        "high" => Loa::High,
        other => {
            eprintln!("unknown level of assurance {other:?}: substantial or high");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let pki = Pki::open(dir).with_context(|| format!("opening the test PKI in {}", dir.display()))?;
    let mut opts = MintOptions::new(flow, now());
    opts.loa = loa;
    if let Some(ttl) = ttl {
        opts.ttl_seconds = ttl;
    }
    for s in sets {
        let (path, value) = parse_set(s)?;
        opts = opts.set(&path, value);
    }
    let jws = mint_assertion(&pki, &opts)?;
    std::fs::write(out, format!("{jws}\n")).with_context(|| format!("writing {}", out.display()))?;
    println!("assertion for {} written to {}", flow.purpose_id(), out.display());
    Ok(ExitCode::SUCCESS)
}
