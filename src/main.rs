//! The `hengqin-bridge` command line. Exit codes (DESIGN §10): 0 success;
//! 1 a check or verification found problems; 2 a refusal (first stderr line
//! `REASON_CODE: message`); 64 usage or invalid configuration.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hengqin_bridge::config::{Config, FileError};
use hengqin_bridge::pipeline::{self, OpenSubjectGate, TranslateRequest};
use hengqin_bridge::snapshot::Snapshot;
use hengqin_bridge::trust::MemoryReplayGuard;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

mod cli;

/// mimalloc rather than glibc `malloc`: a translation allocates and frees
/// a few hundred short-lived buffers (JSON, records, HTTP/2 frames) on
/// whichever runtime thread runs it, and glibc's arenas spent ≈ 12 % of the
/// server's CPU on it under load (BENCHMARKS.md, "Load harness").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_PROBLEMS: u8 = 1;
const EXIT_REFUSED: u8 = 2;
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(name = "hengqin-bridge", version, about = "Macau eID assertions in, SM2-signed mainland e-licences out")]
struct Cli {
    /// Log lines on stderr as text or as one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs go to stderr; they carry partner ids, reason codes and digests,
/// never personal data or assertion bodies.
fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(tracing::Level::INFO);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded demo: throwaway PKI, the health-voucher flow and refusals.
    Demo,
    /// Run the gateway: gRPC over mutual TLS and the admin listener, until SIGTERM/SIGINT.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Check every policy, mapping, trust list and the config; all problems at once.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Translate one assertion offline; the licence goes to stdout.
    Translate {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        assertion: PathBuf,
        #[arg(long)]
        partner: String,
        #[arg(long)]
        purpose: String,
        #[arg(long, default_value = "gbt36903+json")]
        format: String,
        #[arg(long, default_value = "")]
        nonce: String,
    },
    /// Verify a licence: signature, identifier check character, signer chain.
    VerifyLicence {
        file: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The trust domains of a node: status, refresh.
    Anchors {
        #[command(subcommand)]
        command: cli::anchors::AnchorsCommand,
    },
    /// The audit chain of the configured store: verify, export.
    Audit {
        #[command(subcommand)]
        command: cli::audit::AuditCommand,
    },
    /// Ask the admin listener of a running node: alive (`/healthz`) or, with `--ready`, ready (`/readyz`).
    Health(cli::health::HealthArgs),
    /// Developer tools: a test PKI and sample assertions.
    Dev {
        #[command(subcommand)]
        command: cli::dev::DevCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let result = match cli.command {
        Command::Demo => cli::demo::run(),
        Command::Serve { config } => serve(&config),
        Command::Check { config } => check(config.as_deref()),
        Command::Translate { config, assertion, partner, purpose, format, nonce } => {
            translate(&config, &assertion, &partner, &purpose, &format, &nonce)
        }
        Command::VerifyLicence { file, config } => verify_licence(&file, config.as_deref()),
        Command::Anchors { command } => cli::anchors::run(command),
        Command::Audit { command } => cli::audit::run(command),
        Command::Health(args) => cli::health::run(args),
        Command::Dev { command } => cli::dev::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn print_errors(errors: &[FileError]) {
    for e in errors {
        eprintln!("{e}");
    }
}

/// Loads config and snapshot, or prints every problem and exits 64.
fn load(config: &Path) -> Result<(Config, Snapshot), ExitCode> {
    let cfg = Config::load(config, |k| std::env::var(k).ok()).map_err(|e| {
        print_errors(&e);
        ExitCode::from(EXIT_USAGE)
    })?;
    let snap = Snapshot::load(&cfg, now()).map_err(|e| {
        print_errors(&e);
        ExitCode::from(EXIT_USAGE)
    })?;
    Ok((cfg, snap))
}

fn serve(config: &Path) -> anyhow::Result<ExitCode> {
    let cfg = match Config::load(config, |k| std::env::var(k).ok()) {
        Ok(c) if c.server.is_some() && c.store.is_some() => c,
        Ok(_) => {
            eprintln!("{}: serve needs the [server] and [store] sections", config.display());
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        Err(errors) => {
            print_errors(&errors);
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // The translation pipeline (two public-key operations, ≈ 1 ms of CPU)
    // runs on the blocking pool. As many pool threads as cores: requests
    // beyond that wait their turn in order instead of time-slicing dozens of
    // threads over the cores, which made every one of them late.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread().max_blocking_threads(cores).enable_all().build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("shutting down: draining in-flight requests");
        };
        let (reload, reloads) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                // A reload already queued covers this one too.
                let _ = reload.try_send(());
            }
        });
        hengqin_bridge::app::run_with(&cfg, shutdown, reloads, |_| {}).await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn check(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let errors = match config {
        Some(path) => match Config::load(path, |k| std::env::var(k).ok()) {
            Ok(cfg) => Snapshot::load(&cfg, now()).err().unwrap_or_default(),
            Err(e) => e,
        },
        None => {
            let (policies, mappings) = (Path::new("policies"), Path::new("mappings"));
            if !policies.is_dir() || !mappings.is_dir() {
                eprintln!("no policies/ and mappings/ here: run from the repository or pass --config");
                return Ok(ExitCode::from(EXIT_PROBLEMS));
            }
            hengqin_bridge::snapshot::load_rules(policies, mappings).err().unwrap_or_default()
        }
    };
    if errors.is_empty() {
        println!("ok: configuration, policies, mappings and trust lists are valid");
        Ok(ExitCode::SUCCESS)
    } else {
        print_errors(&errors);
        eprintln!("{} problem(s)", errors.len());
        Ok(ExitCode::from(EXIT_PROBLEMS))
    }
}

fn translate(
    config: &Path,
    assertion: &Path,
    partner: &str,
    purpose: &str,
    format: &str,
    nonce: &str,
) -> anyhow::Result<ExitCode> {
    let (_, snap) = match load(config) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let raw = std::fs::read(assertion).with_context(|| format!("reading {}", assertion.display()))?;
    let compact = raw.strip_suffix(b"\n").unwrap_or(&raw);
    let compact = compact.strip_suffix(b"\r").unwrap_or(compact);
    let req = TranslateRequest { partner, purpose, format, nonce, assertion: compact };
    let replay = MemoryReplayGuard::default();
    match pipeline::process(&req, &snap, &replay, &OpenSubjectGate, now()) {
        Ok(licence) => {
            println!("{}", String::from_utf8_lossy(&licence.bytes));
            Ok(ExitCode::SUCCESS)
        }
        Err(rejection) => {
            eprintln!("{rejection}");
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}

fn verify_licence(file: &Path, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let snap = match config {
        Some(c) => match load(c) {
            Ok((_, s)) => Some(s),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    match hengqin_bridge::licence::verify(&bytes, snap.as_ref().map(|s| &*s.anchors), now()) {
        Ok(report) => {
            println!("licence:          {}", report.licence_id);
            println!("format:           {}", report.format.as_str());
            println!("signed at:        {}", report.signed_at);
            println!("signature valid:  {}", report.signature_valid);
            println!("identifier valid: {}", report.identifier_valid);
            match report.signer_trusted {
                Some(t) => println!("signer trusted:   {t}"),
                None => println!("signer trusted:   not checked (no --config)"),
            }
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_PROBLEMS) })
        }
        Err(e) => {
            eprintln!("problem: {e}");
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
    }
}
