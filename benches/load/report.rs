//! What a window measured and how the run is reported: one row per
//! window, then the summary with each target and whether it is met.

use crate::Settings;
use crate::crypto::CryptoCost;
use crate::drive::Tally;
use crate::server::{Server, machine_busy, own_cpu};
use std::future::Future;
use std::time::{Duration, Instant};

/// Target from the issue: server CPU per translation beyond the crypto.
const TARGET_BEYOND_CRYPTO: Duration = Duration::from_micros(150);
/// Target: p99 at the open-loop fraction of saturation.
const TARGET_P99: Duration = Duration::from_millis(10);
/// Target: throughput with the extra partners within 5 % of the base.
const TARGET_PARTNER_RATIO: f64 = 0.95;

/// One measured window.
pub struct Phase {
    pub name: String,
    pub tally: Tally,
    /// Translations the server made in the window: the divisor of the CPU
    /// columns (the noisy partner's count in too where it runs).
    pub translations: u64,
    pub wall: Duration,
    pub server_cpu: Duration,
    pub harness_cpu: Duration,
    /// Busy time of the machine that was neither the server nor the harness.
    pub others_cpu: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Audit events per group commit in the window (`/metrics`).
    pub audit_batch: f64,
}

impl Phase {
    pub fn throughput(&self) -> f64 {
        self.tally.ok as f64 / self.wall.as_secs_f64()
    }

    fn server_cpu_per_translation(&self) -> Duration {
        self.server_cpu / self.translations.max(1) as u32
    }

    fn harness_cpu_per_translation(&self) -> Duration {
        self.harness_cpu / self.translations.max(1) as u32
    }

    pub fn print_header() {
        println!(
            "{:<28} {:>7} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>11} {:>11} {:>7} {:>8}",
            "phase",
            "ok",
            "err",
            "wall s",
            "tr/s",
            "p50",
            "p99",
            "max",
            "server/tr",
            "harness/tr",
            "others",
            "ev/flush"
        );
    }

    pub fn print_row(&self) {
        let cores = cores() as f64;
        println!(
            "{:<28} {:>7} {:>5} {:>6.2} {:>8.0} {:>8} {:>8} {:>8} {:>11} {:>11} {:>6.0}% {:>8.1}",
            self.name,
            self.tally.ok,
            self.tally.failed(),
            self.wall.as_secs_f64(),
            self.throughput(),
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            us(self.server_cpu_per_translation()),
            us(self.harness_cpu_per_translation()),
            100.0 * self.others_cpu.as_secs_f64() / (self.wall.as_secs_f64() * cores),
            self.audit_batch,
        );
        for (reason, n) in &self.tally.errors {
            println!("{:<28}   refused {n} × {reason}", "");
        }
        if self.tally.exhausted {
            println!("{:<28}   the pre-minted assertions ran out before the window ended", "");
        }
    }
}

/// Runs `driver`, reading the CPU counters around it (not printed yet).
pub async fn measure(name: String, server: &Server, driver: impl Future<Output = Tally>) -> Phase {
    let (server0, harness0, machine0) = (server.cpu(), own_cpu(), machine_busy());
    let audit0 = server.audit();
    let started = Instant::now();
    let mut tally = driver.await;
    let wall = started.elapsed();
    let server_cpu = server.cpu().saturating_sub(server0);
    let harness_cpu = own_cpu().saturating_sub(harness0);
    let machine = machine_busy().saturating_sub(machine0);
    let others_cpu = machine.saturating_sub(server_cpu + harness_cpu);
    let audit = server.audit();
    let audit_batch = (audit.0 - audit0.0) as f64 / (audit.1 - audit0.1).max(1) as f64;
    let (p50, p99, max) = (tally.percentile(50.0), tally.percentile(99.0), tally.percentile(100.0));
    let translations = tally.ok;
    Phase { name, tally, translations, wall, server_cpu, harness_cpu, others_cpu, p50, p99, max, audit_batch }
}

/// The machine's CPUs (`cpuN` lines of `/proc/stat`), whatever this
/// process's affinity: the harness may run pinned to some of them.
pub fn cores() -> usize {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let n =
        stat.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).count();
    n.max(1)
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub struct Summary<'a> {
    pub crypto: CryptoCost,
    pub crypto_before: CryptoCost,
    pub crypto_after: CryptoCost,
    pub base_runs: &'a [&'a Phase],
    pub many_runs: &'a [&'a Phase],
    pub open: &'a Phase,
    /// The quiet partner alone, then beside the noisy one.
    pub quiet: (&'a Phase, &'a Phase),
    pub noisy: &'a Tally,
    pub saturation: f64,
    pub rate: f64,
    pub startup: (Duration, Duration),
    pub rss: (u64, u64),
    pub load_before: String,
    pub load_after: String,
    pub run: Duration,
    pub settings: &'a Settings,
}

fn mean_throughput(runs: &[&Phase]) -> f64 {
    runs.iter().map(|p| p.throughput()).sum::<f64>() / runs.len() as f64
}

fn mean_server_cpu(runs: &[&Phase]) -> Duration {
    let cpu: Duration = runs.iter().map(|p| p.server_cpu).sum();
    let ok: u64 = runs.iter().map(|p| p.tally.ok).sum();
    cpu / ok.max(1) as u32
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

impl Summary<'_> {
    pub fn print(&self) {
        let c = &self.crypto;
        let server = mean_server_cpu(self.base_runs);
        let harness: Duration = self.base_runs.iter().map(|p| p.harness_cpu_per_translation()).sum::<Duration>()
            / self.base_runs.len() as u32;
        let beyond = server.saturating_sub(c.per_translation());
        let beyond_bare = server.saturating_sub(c.per_translation_bare());
        let p99 = self.open.p99;
        let ratio = mean_throughput(self.many_runs) / mean_throughput(self.base_runs);
        let many_cpu = mean_server_cpu(self.many_runs);
        let all: Vec<&Phase> = self.base_runs.iter().chain(self.many_runs).copied().chain([self.open]).collect();
        let others = all.iter().map(|p| p.others_cpu.as_secs_f64()).sum::<f64>()
            / all.iter().map(|p| p.wall.as_secs_f64() * cores() as f64).sum::<f64>();

        println!();
        println!("== summary ==");
        println!(
            "machine: {} cores; load average before {}, after {}; other processes used {:.0} % of the machine during the windows",
            cores(),
            self.load_before,
            self.load_after,
            others * 100.0
        );
        println!(
            "crypto per translation: ES256 verify {} + SM2 sign (node signer, {} B) {} = {} (before {}, after {}); \
             OpenSSL's bare SM2 digest-sign {} → {}",
            us(c.es256_verify),
            c.message_bytes,
            us(c.sm2_sign),
            us(c.per_translation()),
            us(self.crypto_before.per_translation()),
            us(self.crypto_after.per_translation()),
            us(c.sm2_sign_bare),
            us(c.per_translation_bare()),
        );
        println!(
            "saturation: {:.0} translations/s (the best closed-loop window); at {} in flight (base, two windows) \
             server CPU {} per translation, harness CPU {}",
            self.saturation,
            self.settings.concurrency,
            us(server),
            us(harness)
        );
        println!(
            "server CPU beyond crypto: {} − {} = {} (target ≤ {}: {}); beyond ES256 + OpenSSL's bare signature: {}",
            us(server),
            us(c.per_translation()),
            us(beyond),
            us(TARGET_BEYOND_CRYPTO),
            verdict(beyond <= TARGET_BEYOND_CRYPTO),
            us(beyond_bare)
        );
        println!(
            "open loop at {:.0} % of saturation: {:.0}/s offered, {:.0}/s answered, p50 {}, p99 {} (target ≤ {}: {}), max {}",
            self.settings.open_fraction * 100.0,
            self.rate,
            self.open.throughput(),
            ms(self.open.p50),
            ms(p99),
            ms(TARGET_P99),
            verdict(p99 <= TARGET_P99 && self.open.tally.failed() == 0),
            ms(self.open.max),
        );
        println!(
            "partners: base {} /s, +{} partners {} /s → ratio {:.3} (target ≥ {TARGET_PARTNER_RATIO}: {}); \
             server CPU per translation {} vs {}",
            self.base_runs.iter().map(|p| format!("{:.0}", p.throughput())).collect::<Vec<_>>().join(" / "),
            self.settings.extra_partners,
            self.many_runs.iter().map(|p| format!("{:.0}", p.throughput())).collect::<Vec<_>>().join(" / "),
            ratio,
            verdict(ratio >= TARGET_PARTNER_RATIO),
            us(server),
            us(many_cpu),
        );
        let (alone, beside) = self.quiet;
        println!(
            "noisy neighbour: quiet partner at {:.0}/s p50 {} p99 {} alone, p50 {} p99 {} ({} refused) beside a partner \
             sending {:.0}/s against its limit of 30/s ({} translated, {} refused as {:?})",
            self.settings.quiet_rate,
            ms(alone.p50),
            ms(alone.p99),
            ms(beside.p50),
            ms(beside.p99),
            beside.tally.failed(),
            self.settings.noisy_rate,
            self.noisy.ok,
            self.noisy.failed(),
            self.noisy.errors.keys().collect::<Vec<_>>(),
        );
        println!(
            "startup: base {} ms, +{} partners {} ms; resident memory at the end: base {} MiB, +partners {} MiB",
            self.startup.0.as_millis(),
            self.settings.extra_partners,
            self.startup.1.as_millis(),
            self.rss.0 / 1024,
            self.rss.1 / 1024
        );
        println!("the whole run took {:.0} s", self.run.as_secs_f64());
    }
}
