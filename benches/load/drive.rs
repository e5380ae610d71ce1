//! Pre-minted requests and the two drivers: closed loop (a fixed number
//! of requests always in flight, for saturation) and open loop (requests
//! sent on a fixed schedule whatever the answers do, for latency at a
//! given rate). Latency is from the moment a request was due to its
//! answer, so a late send counts against the server, not for it.

use crate::setup::{LoadPartner, PARTNERS, STEADY, World};
use hengqin_bridge::dev::mint::{MintOptions, Minter};
use hengqin_bridge::service::client;
use hengqin_bridge::service::pb::TranslateRequest;
use hengqin_bridge::service::pb::bridge_client::BridgeClient;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// Requests the open-loop driver lets be outstanding at once; past it the
/// schedule slips, and the slip shows in the latencies.
const MAX_OUTSTANDING: usize = 4096;

/// Connections to one server: `per_partner` channels for each partner,
/// each an mTLS connection with the partner's client certificate.
pub struct Clients {
    channels: Vec<Vec<BridgeClient<Channel>>>,
}

impl Clients {
    pub async fn connect(world: &World, addr: SocketAddr, per_partner: usize) -> Clients {
        let mut channels = Vec::new();
        for p in PARTNERS {
            let (ca, cert, key) = world.client_files(p);
            let mut mine = Vec::new();
            for _ in 0..per_partner.max(1) {
                mine.push(client::connect(addr, &ca, &cert, &key).await.expect("mTLS connection"));
            }
            channels.push(mine);
        }
        Clients { channels }
    }

    fn get(&self, partner: usize, n: usize) -> BridgeClient<Channel> {
        let mine = &self.channels[partner];
        mine[n % mine.len()].clone()
    }
}

/// Assertions minted ahead of a window: each translation consumes its
/// `jti`, and each names its own data subject, so neither the replay
/// guard nor the per-subject limit refuses them.
pub struct Mint {
    minter: Minter,
    next_subject: AtomicU32,
}

/// A request and the index of its partner in [`PARTNERS`].
pub type Job = (usize, TranslateRequest);

impl Mint {
    pub fn new(world: &World) -> Mint {
        let minter = Minter::new(&world.pki, Default::default()).expect("assertion signer");
        Mint { minter, next_subject: AtomicU32::new(0) }
    }

    /// `count` requests, the [`STEADY`] partners in turn.
    pub fn jobs(&self, count: usize) -> Vec<Job> {
        self.minted(count, |i| i % STEADY)
    }

    /// `count` requests of one partner.
    pub fn jobs_of(&self, partner: usize, count: usize) -> Vec<Job> {
        self.minted(count, |_| partner)
    }

    /// Mints on every core.
    fn minted(&self, count: usize, partner_of: impl Fn(usize) -> usize + Sync) -> Vec<Job> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let now = OffsetDateTime::now_utc();
        let per_thread = count.div_ceil(threads);
        let partner_of = &partner_of;
        let mut jobs: Vec<Job> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * per_thread)..((t + 1) * per_thread).min(count);
                    s.spawn(move || range.map(|i| self.job(partner_of(i), now)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("minting thread")).collect()
        });
        jobs.shrink_to_fit();
        jobs
    }

    fn job(&self, partner: usize, now: OffsetDateTime) -> Job {
        let p = &PARTNERS[partner];
        let subject = self.next_subject.fetch_add(1, Ordering::Relaxed);
        let mut opts = MintOptions::new(p.flow, now).set("person.bir_number", json!(format!("1{subject:07}")));
        if !p.nonce.is_empty() {
            opts = opts.set("nonce", json!(p.nonce));
        }
        let assertion = self.minter.mint(&opts).expect("minted assertion");
        (partner, request(p, assertion))
    }
}

fn request(p: &LoadPartner, assertion: String) -> TranslateRequest {
    TranslateRequest {
        assertion,
        purpose: p.flow.purpose_id().to_owned(),
        output_format: String::new(),
        nonce: p.nonce.to_owned(),
        request_id: String::new(),
    }
}

/// What a driver saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: u64,
    /// Refusals by reason (`ErrorInfo.reason`, else the gRPC code).
    pub errors: BTreeMap<String, u64>,
    /// Microseconds, successes only.
    pub latencies_us: Vec<u32>,
    /// The pre-minted requests ran out before the window ended.
    pub exhausted: bool,
}

impl Tally {
    fn record(&mut self, latency: Duration, outcome: Result<(), tonic::Status>) {
        match outcome {
            Ok(()) => {
                self.ok += 1;
                self.latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
            }
            Err(status) => {
                let reason =
                    status.get_details_error_info().map_or_else(|| format!("{:?}", status.code()), |i| i.reason);
                *self.errors.entry(reason).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.latencies_us.extend(other.latencies_us);
        self.exhausted |= other.exhausted;
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Nearest-rank percentile of the successes' latencies.
    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.latencies_us.is_empty() {
            return Duration::ZERO;
        }
        self.latencies_us.sort_unstable();
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        Duration::from_micros(u64::from(self.latencies_us[rank.clamp(1, self.latencies_us.len()) - 1]))
    }
}

/// One translation, returning the licence bytes (the warm-up keeps one).
pub async fn translate_one(clients: &Clients, job: Job) -> Vec<u8> {
    let (partner, req) = job;
    let resp = clients.get(partner, 0).translate(req).await.expect("a licence");
    resp.into_inner().licence
}

/// `concurrency` workers, each sending its next request as soon as the
/// last one is answered, until `window` has passed (then in-flight
/// requests are finished) or the jobs run out.
pub async fn closed_loop(clients: &Clients, jobs: Vec<Job>, concurrency: usize, window: Duration) -> Tally {
    let mut queues: Vec<Vec<TranslateRequest>> = vec![Vec::new(); PARTNERS.len()];
    for (p, req) in jobs {
        queues[p].push(req);
    }
    let present: Vec<usize> = (0..PARTNERS.len()).filter(|p| !queues[*p].is_empty()).collect();
    let queues: Vec<Arc<Mutex<std::vec::IntoIter<TranslateRequest>>>> =
        queues.into_iter().map(|q| Arc::new(Mutex::new(q.into_iter()))).collect();
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let partner = present[w % present.len()];
            let mut client = clients.get(partner, w / present.len());
            let queue = queues[partner].clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let Some(req) = queue.lock().expect("queue lock").next() else {
                        tally.exhausted = true;
                        break;
                    };
                    let sent = Instant::now();
                    let outcome = client.translate(req).await.map(drop);
                    tally.record(sent.elapsed(), outcome);
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        total.merge(w.await.expect("worker"));
    }
    total
}

/// Sends `jobs` at `rate` per second on a fixed schedule.
pub async fn open_loop(clients: &Clients, jobs: Vec<Job>, rate: f64) -> Tally {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_OUTSTANDING));
    let start = Instant::now() + Duration::from_millis(5);
    let mut pending = Vec::with_capacity(jobs.len());
    for (i, (partner, req)) in jobs.into_iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let permit = limit.clone().acquire_owned().await.expect("semaphore open");
        let mut client = clients.get(partner, i / STEADY);
        pending.push(tokio::spawn(async move {
            let outcome = client.translate(req).await.map(drop);
            drop(permit);
            (due.elapsed(), outcome)
        }));
    }
    let mut tally = Tally::default();
    for p in pending {
        let (latency, outcome) = p.await.expect("request task");
        tally.record(latency, outcome);
    }
    tally
}
