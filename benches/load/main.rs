//! The gRPC load harness: the real server (`hengqin-bridge serve`) as a
//! child process, driven over mutual TLS on loopback by many concurrent
//! clients, with the server's CPU time per translation read from
//! `/proc/<pid>/stat` next to the crypto cost per translation measured in
//! the same run. The figures and how to read them are in `BENCHMARKS.md`.
//!
//! `cargo bench --bench load`. Settings (environment):
//!
//! | variable | default | |
//! |---|---|---|
//! | `LOAD_SECONDS` | 8 | length of each measured window |
//! | `LOAD_CONCURRENCY` | 64 | requests in flight at saturation (the sweep also runs ¼ and 1/16 of it) |
//! | `LOAD_CHANNELS` | 2 | mTLS connections per partner |
//! | `LOAD_EXTRA_PARTNERS` | 10000 | partners added to the second configuration |
//! | `LOAD_OPEN_FRACTION` | 0.8 | open-loop rate as a fraction of saturation |
//! | `LOAD_QUIET_RATE` | 50 | the quiet partner's rate in the noisy-neighbour phases, per second |
//! | `LOAD_NOISY_RATE` | 1000 | the noisy partner's rate (its policy allows 30 per second) |
//! | `LOAD_SERVER_CPUS` | unset | pin both servers to these CPUs (a `taskset -c` list); run the harness under `taskset -c` on the others, so that the load generator does not share the servers' cores |
//! | `LOAD_SIGNER` | the config's (`openssl`) | `[signer] backend` of both servers, e.g. `rustcrypto` |
//! | `LOAD_MANY_BINARY` | this build's | the `hengqin-bridge` binary of the second server; with `LOAD_EXTRA_PARTNERS=0` the partners comparison compares two builds on one configuration |
//!
//! Phases: set-up (PKI, policies, both servers started, connections,
//! warm-up) → crypto → closed-loop sweep on the base configuration (the
//! highest throughput is saturation) → open loop at a fraction of
//! saturation → the configuration with extra partners against the base one,
//! alternating → a quiet partner's latency alone and beside a partner
//! flooding past its rate limit (DESIGN §8) → crypto again. Assertions are
//! minted before each window.

mod crypto;
mod drive;
mod report;
mod server;
mod setup;

use drive::{Clients, Job, Mint, Tally, closed_loop, open_loop};
use report::{Phase, Summary, cores, measure};
use server::{Server, load_average};
use setup::{NOISY, QUIET, World};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(2);
const CRYPTO_BUDGET: Duration = Duration::from_secs(1);

struct Settings {
    seconds: f64,
    concurrency: usize,
    channels: usize,
    extra_partners: usize,
    open_fraction: f64,
    quiet_rate: f64,
    noisy_rate: f64,
    many_binary: Option<PathBuf>,
    server_cpus: Option<String>,
    signer: Option<String>,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} does not parse")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            seconds: env_or("LOAD_SECONDS", 8.0),
            concurrency: env_or("LOAD_CONCURRENCY", 64usize).max(1),
            channels: env_or("LOAD_CHANNELS", 2usize).max(1),
            extra_partners: env_or("LOAD_EXTRA_PARTNERS", 10_000),
            open_fraction: env_or("LOAD_OPEN_FRACTION", 0.8),
            quiet_rate: env_or("LOAD_QUIET_RATE", 50.0),
            noisy_rate: env_or("LOAD_NOISY_RATE", 1000.0),
            many_binary: std::env::var_os("LOAD_MANY_BINARY").map(PathBuf::from),
            server_cpus: std::env::var("LOAD_SERVER_CPUS").ok(),
            signer: std::env::var("LOAD_SIGNER").ok(),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`: this
    // harness takes minutes and a release build, so it only runs on demand.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: run with `cargo bench --bench load`");
        return;
    }
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run(&settings));
}

/// How many assertions a window at up to `rate` per second needs.
fn jobs_for(rate: f64, window: Duration) -> usize {
    (rate * window.as_secs_f64() * 1.25) as usize + 200
}

fn minted(count: usize, mint: impl FnOnce(usize) -> Vec<Job>) -> Vec<Job> {
    let started = Instant::now();
    let jobs = mint(count);
    println!("  (minted {count} assertions in {:.1} s, outside the window)", started.elapsed().as_secs_f64());
    jobs
}

/// A server and the connections to it.
#[derive(Clone, Copy)]
struct Target<'a> {
    server: &'a Server,
    clients: &'a Clients,
}

/// Closed loop at the full, a quarter and a sixteenth of the concurrency,
/// highest first. Returns the windows and how many requests a window at
/// saturation needs at most.
async fn sweep(s: &Settings, mint: &Mint, base: Target<'_>, bound: f64) -> (Vec<Phase>, f64) {
    let c = s.concurrency;
    let mut levels = vec![c, (c / 4).max(1), (c / 16).max(1)];
    levels.dedup();
    let mut phases: Vec<Phase> = Vec::new();
    let mut estimate = bound;
    for level in levels {
        let jobs = minted(jobs_for(estimate, s.window()), |n| mint.jobs(n));
        let driver = closed_loop(base.clients, jobs, level, s.window());
        let phase = measure(format!("base closed c={level}"), base.server, driver).await;
        phase.print_row();
        phases.push(phase);
        estimate = estimate.min(phases.iter().map(Phase::throughput).fold(0.0, f64::max) * 1.3);
    }
    (phases, estimate)
}

/// The extra-partner configuration against the base one at full
/// concurrency: many, base, many, so that drift in the machine's other load
/// falls on both.
async fn alternate(s: &Settings, mint: &Mint, base: Target<'_>, many: Target<'_>, estimate: f64) -> Vec<Phase> {
    let mut phases = Vec::new();
    for (label, target) in [("many", many), ("base", base), ("many", many)] {
        let jobs = minted(jobs_for(estimate, s.window()), |n| mint.jobs(n));
        let driver = closed_loop(target.clients, jobs, s.concurrency, s.window());
        let phase = measure(format!("{label} closed c={}", s.concurrency), target.server, driver).await;
        phase.print_row();
        phases.push(phase);
    }
    phases
}

/// DESIGN §8, one noisy partner must not starve another: the quiet
/// partner alone, then beside the noisy one sending far past its limit.
async fn noisy_neighbour(s: &Settings, mint: &Mint, base: Target<'_>) -> (Phase, Phase, Tally) {
    let count = |rate: f64| (rate * s.seconds) as usize;
    let jobs = minted(count(s.quiet_rate), |n| mint.jobs_of(QUIET, n));
    let driver = open_loop(base.clients, jobs, s.quiet_rate);
    let alone = measure(format!("quiet {:.0}/s alone", s.quiet_rate), base.server, driver).await;
    alone.print_row();
    let quiet_jobs = mint.jobs_of(QUIET, count(s.quiet_rate));
    let noisy_jobs = minted(count(s.noisy_rate), |n| mint.jobs_of(NOISY, n));
    let mut noisy = Tally::default();
    let mut beside = measure(format!("quiet {:.0}/s + noisy", s.quiet_rate), base.server, async {
        let (quiet, flood) = tokio::join!(
            open_loop(base.clients, quiet_jobs, s.quiet_rate),
            open_loop(base.clients, noisy_jobs, s.noisy_rate)
        );
        noisy = flood;
        quiet
    })
    .await;
    beside.translations += noisy.ok;
    beside.print_row();
    println!(
        "{:<28}   noisy partner: {:.0}/s offered, {} answered, refused {:?}",
        "", s.noisy_rate, noisy.ok, noisy.errors
    );
    (alone, beside, noisy)
}

async fn run(s: &Settings) {
    let run_started = Instant::now();
    let load_before = load_average();
    println!("load harness: {} cores, load average {load_before}", cores());
    println!(
        "window {} s, concurrency {}, {} channels per partner, {} extra partners, open loop at {:.0} %, signer {}",
        s.seconds,
        s.concurrency,
        s.channels,
        s.extra_partners,
        s.open_fraction * 100.0,
        s.signer.as_deref().unwrap_or("as configured (openssl)"),
    );

    let world = World::create(s.extra_partners, s.signer.as_deref());
    println!("set-up: PKI and policies in {:.1} s", run_started.elapsed().as_secs_f64());
    let cpus = s.server_cpus.as_deref();
    let base = Server::start("base", None, cpus, &world.base_config);
    let many = Server::start("many", s.many_binary.as_deref(), cpus, &world.many_config);
    println!(
        "started: base (shipped partners, pid {}) in {} ms, {} MiB; many (+{} partners, pid {}) in {} ms, {} MiB",
        base.pid(),
        base.startup.as_millis(),
        base.rss_kib() / 1024,
        s.extra_partners,
        many.pid(),
        many.startup.as_millis(),
        many.rss_kib() / 1024,
    );
    let base_clients = Clients::connect(&world, base.grpc, s.channels).await;
    let many_clients = Clients::connect(&world, many.grpc, s.channels).await;
    let mint = Mint::new(&world);

    let mut first = mint.jobs(1);
    let assertion = first[0].1.assertion.clone();
    let licence = drive::translate_one(&base_clients, first.remove(0)).await;
    for clients in [&base_clients, &many_clients] {
        let warm = closed_loop(clients, mint.jobs(jobs_for(1500.0, WARM_UP)), s.concurrency, WARM_UP).await;
        assert_eq!(warm.failed(), 0, "warm-up refusals: {:?}", warm.errors);
    }

    println!("set-up: connected and warmed up after {:.1} s", run_started.elapsed().as_secs_f64());
    let crypto_before = crypto::measure(&world.base_config, &assertion, &licence, CRYPTO_BUDGET);
    // No node can translate faster than its cores can do the crypto.
    let bound = cores() as f64 / crypto_before.per_translation().as_secs_f64();

    Phase::print_header();
    let target = Target { server: &base, clients: &base_clients };
    let (sweep, estimate) = sweep(s, &mint, target, bound).await;
    let saturation = sweep.iter().map(Phase::throughput).fold(0.0, f64::max);

    let rate = s.open_fraction * saturation;
    let jobs = minted((rate * s.seconds) as usize, |n| mint.jobs(n));
    let open = measure(format!("base open {rate:.0}/s"), &base, open_loop(&base_clients, jobs, rate)).await;
    open.print_row();

    let many_target = Target { server: &many, clients: &many_clients };
    let compare = alternate(s, &mint, target, many_target, estimate).await;
    let (quiet_alone, quiet_beside, noisy) = noisy_neighbour(s, &mint, target).await;

    let crypto_after = crypto::measure(&world.base_config, &assertion, &licence, CRYPTO_BUDGET);
    let rss = (base.rss_kib(), many.rss_kib());
    let startup = (base.startup, many.startup);
    // Closing the connections first lets the drain end at once.
    drop((base_clients, many_clients));
    base.stop();
    many.stop();

    let crypto = crypto_before.mean(&crypto_after);
    let base_runs = [&sweep[0], &compare[1]];
    let many_runs = [&compare[0], &compare[2]];
    let summary = Summary {
        crypto,
        crypto_before,
        crypto_after,
        base_runs: &base_runs,
        many_runs: &many_runs,
        open: &open,
        quiet: (&quiet_alone, &quiet_beside),
        noisy: &noisy,
        saturation,
        rate,
        startup,
        rss,
        load_before,
        load_after: load_average(),
        run: run_started.elapsed(),
        settings: s,
    };
    summary.print();
}
