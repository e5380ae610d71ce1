//! `hengqin-bridge audit verify|export --config FILE`: the audit chain of
//! the store the config names, read directly. sled lets one process open a
//! store, so these run while the server is stopped (or on a copy of its
//! directory); next to a running server they say so and exit 64, which a
//! monitoring script tells apart from 1, a chain with problems.

use super::{EXIT_PROBLEMS, EXIT_USAGE, now, print_errors};
use clap::Subcommand;
use hengqin_bridge::audit::{self, AuditReport};
use hengqin_bridge::config::Config;
use hengqin_bridge::snapshot::Snapshot;
use hengqin_bridge::store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Re-walk the chain: hashes, links, sequence gaps, checkpoint signatures.
    Verify {
        #[arg(long)]
        config: PathBuf,
    },
    /// Write every event and checkpoint as JSON lines to stdout.
    Export {
        #[arg(long)]
        config: PathBuf,
    },
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { config } => verify(&config),
        AuditCommand::Export { config } => export(&config),
    }
}

/// The config and its store, or the exit code after saying why not.
fn open(config: &Path) -> Result<(Config, Store), ExitCode> {
    let cfg = Config::load(config, |k| std::env::var(k).ok()).map_err(|e| {
        print_errors(&e);
        ExitCode::from(EXIT_USAGE)
    })?;
    let Some(store_cfg) = &cfg.store else {
        eprintln!("{}: no [store] section: this config names no store to read", config.display());
        return Err(ExitCode::from(EXIT_USAGE));
    };
    let store = Store::open_existing(&store_cfg.path).map_err(|e| {
        match e {
            hengqin_bridge::store::StoreError::InUse(_) => {
                eprintln!("{e}; stop it first, or ask the running node through its admin endpoint")
            }
            e => eprintln!("{e}"),
        }
        ExitCode::from(EXIT_USAGE)
    })?;
    Ok((cfg, store))
}

/// Who may sign checkpoints: the configured signer certificate, or one
/// that chains to a CN-GD `bridge-signer-ca` of the current trust list
/// (a signer that was rotated), when the whole config loads.
fn checkpoint_trust(cfg: &Config) -> impl Fn(&[u8]) -> Result<(), String> {
    let pinned = std::fs::read(&cfg.signer_certificate)
        .ok()
        .and_then(|pem| openssl::x509::X509::from_pem(&pem).ok())
        .and_then(|c| c.to_der().ok());
    let snapshot = Snapshot::load(cfg, now()).ok();
    move |der: &[u8]| {
        if pinned.as_deref() == Some(der) {
            return Ok(());
        }
        match &snapshot {
            Some(s) => hengqin_bridge::trust::verify_signer_certificate(&s.anchors, der, now())
                .map_err(|e| format!("neither the configured signer nor a CN-GD bridge signer ({e})")),
            None => Err("not the configured signer certificate".to_owned()),
        }
    }
}

fn verify(config: &Path) -> anyhow::Result<ExitCode> {
    let (cfg, store) = match open(config) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let report = audit::verify(&store, &checkpoint_trust(&cfg))?;
    print_report(&store, &report);
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_PROBLEMS) })
}

fn print_report(store: &Store, report: &AuditReport) {
    println!("store:          {}", store.path().display());
    println!("events:         {}", report.events);
    println!("checkpoints:    {}", report.checkpoints);
    match &report.head {
        Some((seq, hash)) => println!("head:           seq {seq} sha256 {hash}"),
        None => println!("head:           (empty chain)"),
    }
    println!("signed through: seq {}", report.signed_through);
    for p in &report.problems {
        eprintln!("problem: {p}");
    }
    match report.first_bad {
        Some(seq) => {
            println!("first bad:      seq {seq}");
            eprintln!("{} problem(s)", report.problems.len());
        }
        None if report.is_valid() => println!("ok: the audit chain is intact"),
        None => eprintln!("{} problem(s)", report.problems.len()),
    }
}

fn export(config: &Path) -> anyhow::Result<ExitCode> {
    let (_, store) = match open(config) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match audit::export(&store, &mut out) {
        Ok(summary) => {
            eprintln!("exported {} event(s), {} checkpoint(s)", summary.events, summary.checkpoints);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("problem: {e}");
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
    }
}
