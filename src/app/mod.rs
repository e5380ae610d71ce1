//! Wiring: config → snapshot, store, admission and audit → the service.
//!
//! [`Node`] is the one implementation of [`Gateway`]: for every
//! translation it runs admission (partner and purpose rates, daily quota)
//! and then takes an in-flight slot, both before reading the assertion;
//! answers a safe retry from the retry cache, runs the pipeline on a
//! blocking thread (the crypto is CPU-bound), appends one audit event and
//! waits until it is durable, then answers. Refusals at admission (rates,
//! quota, overload) are counted in metrics but not audited: they decide
//! nothing about a person, and auditing them would let a noisy partner
//! grow the chain at will.

mod fetch;
pub mod reload;
mod retry;
pub mod trust_lists;

use crate::audit::{AuditEvent, AuditLog, AuditOptions, AuditReason, Decision};
use crate::config::{Config, FileError, ServerConfig};
use crate::limits::{Admission, AdmissionSettings, HOUSEKEEPING_INTERVAL, InFlight, QuotaLedger};
use crate::model::{PartnerId, Reason, Rejection, TrustDomainId};
use crate::pipeline::{Trace, TranslateRequest, process_traced};
use crate::service::{
    ClientTrust, DomainStatusView, Edge, Gateway, ListView, Metrics, TranslateInput, TranslateOutput, VerifyOutput,
};
use crate::snapshot::Snapshot;
use crate::store::{DailyQuotas, QuotaError, SledReplayGuard, Store, day_utc8};
use arc_swap::ArcSwap;
use reload::{ChangeDetector, fingerprint};
use retry::RetryCache;
use std::num::NonZeroUsize;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use trust_lists::{DomainReport, TrustLists};

/// Most replay ids remembered before new assertions are refused (fail closed).
pub const MAX_REPLAY_IDS: usize = 1_000_000;

/// Daily quotas kept in sled, so a restart does not reset them.
struct SledQuotas(DailyQuotas);

impl QuotaLedger for SledQuotas {
    fn charge(&self, partner: &PartnerId, now: OffsetDateTime, limit: u64) -> Result<(), std::time::Duration> {
        match self.0.charge_daily(partner.as_str(), day_utc8(now), limit) {
            Ok(_) => Ok(()),
            Err(QuotaError::Exceeded(q)) => Err(q.retry_after(now)),
            // The count cannot be read: fail closed, briefly.
            Err(_) => Err(std::time::Duration::from_secs(1)),
        }
    }
}

/// A node's state, shared by every handler.
pub struct Node {
    snapshot: ArcSwap<Snapshot>,
    admission: ArcSwap<Admission>,
    in_flight: InFlight,
    store: Store,
    replay: Arc<SledReplayGuard>,
    audit: AuditLog,
    retries: RetryCache,
    trust_reports: ArcSwap<Vec<DomainReport>>,
    trust_refresh: tokio::sync::Notify,
    /// Counts finished trust refreshes (a refresh request waits for the next).
    trust_generation: tokio::sync::watch::Sender<u64>,
}

impl Node {
    /// Opens the store and builds everything a request needs, with the
    /// trust lists read from their `file:` sources (no refresher).
    pub fn open(config: &Config, server: &ServerConfig, now: OffsetDateTime) -> anyhow::Result<Node> {
        let snapshot = Snapshot::load(config, now).map_err(problems)?;
        Node::build(server, open_store(config)?, snapshot)
    }

    fn build(server: &ServerConfig, store: Store, snapshot: Snapshot) -> anyhow::Result<Node> {
        let ledger: Arc<dyn QuotaLedger> = Arc::new(SledQuotas(store.quotas()));
        let admission = Admission::new(
            &snapshot.policies,
            AdmissionSettings::default(),
            ledger,
            governor::clock::DefaultClock::default(),
        );
        let audit = AuditLog::open(&store, snapshot.signer.clone(), AuditOptions::default())?;
        let in_flight = InFlight::new(NonZeroUsize::new(server.max_in_flight as usize).unwrap_or(NonZeroUsize::MIN));
        Ok(Node {
            replay: Arc::new(store.replay_guard(MAX_REPLAY_IDS)),
            snapshot: ArcSwap::from_pointee(snapshot),
            admission: ArcSwap::from_pointee(admission),
            in_flight,
            store,
            audit,
            retries: RetryCache::default(),
            trust_reports: ArcSwap::from_pointee(Vec::new()),
            trust_refresh: tokio::sync::Notify::new(),
            trust_generation: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Swaps in new trust anchors, keeping the rules and keys.
    pub fn install_anchors(&self, anchors: Arc<crate::trust::Anchors>) {
        let next = self.snapshot.load().with_anchors(anchors);
        self.snapshot.store(Arc::new(next));
    }

    /// Swaps in a new snapshot (policies, mappings, lists reloaded); the
    /// admission state carries over where the limits did not change.
    pub fn install(&self, snapshot: Snapshot) {
        let admission = self.admission.load().reloaded(&snapshot.policies);
        self.snapshot.store(Arc::new(snapshot));
        self.admission.store(Arc::new(admission));
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Periodic upkeep: limiter memory, expired replay ids.
    pub fn housekeeping(&self, now: OffsetDateTime) {
        self.admission.load().housekeeping();
        let _ = self.replay.sweep(now);
    }

    /// Flushes the store (on shutdown).
    pub fn close(&self) -> anyhow::Result<()> {
        self.store.flush()?;
        Ok(())
    }
}

fn problems(errors: Vec<FileError>) -> anyhow::Error {
    anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store_cfg = config.store.as_ref().ok_or_else(|| anyhow::anyhow!("the config has no [store] section"))?;
    Ok(Store::open(&store_cfg.path)?)
}

fn sha256(b: &[u8]) -> [u8; 32] {
    openssl::sha::sha256(b)
}

#[tonic::async_trait]
impl Gateway for Node {
    async fn translate(&self, partner: PartnerId, req: TranslateInput) -> Result<TranslateOutput, Rejection> {
        let now = OffsetDateTime::now_utc();
        let admission = self.admission.load_full();
        admission.check_request(&partner, &req.purpose, now)?;
        // After the partner's own limits (DESIGN §7): a partner over its
        // rate is told so, and its refused requests never take a place
        // another partner's request needs.
        let _permit = self.in_flight.try_acquire()?;
        let digest = sha256(req.assertion.as_bytes());
        if let Some(hit) = self.retries.get(&partner, &req.request_id, &digest, now) {
            return Ok(hit);
        }
        let snap = self.snapshot.load_full();
        let replay = self.replay.clone();
        let (p, input) = (partner.clone(), req.clone());
        let (result, trace) = tokio::task::spawn_blocking(move || {
            let mut trace = Trace::default();
            let r = TranslateRequest {
                partner: p.as_str(),
                purpose: &input.purpose,
                format: &input.output_format,
                nonce: &input.nonce,
                assertion: input.assertion.as_bytes(),
            };
            let result = process_traced(&r, &snap, &*replay, &*admission, now, &mut trace);
            (result.map(|l| (l, snap.policies.digest().to_owned())), trace)
        })
        .await
        .map_err(|_| Rejection::new(Reason::Internal, "the pipeline task failed"))?;

        let event = AuditEvent {
            time: now,
            partner: partner.to_string(),
            purpose: req.purpose.clone(),
            jurisdiction: trace.jurisdiction.unwrap_or_default(),
            decision: if result.is_ok() { Decision::Permit } else { Decision::Deny },
            reasons: result.as_ref().err().map(|r| vec![AuditReason::from(r)]).unwrap_or_default(),
            released: result.as_ref().map(|(l, _)| l.released.clone()).unwrap_or_default(),
            licence_id: result.as_ref().ok().map(|(l, _)| l.id.to_string()),
            source_sha256: trace.source_sha256,
            subject: trace.subject,
        };
        let (purpose, source_sha256) = (event.purpose.clone(), event.source_sha256.clone());
        let ticket = self.audit.append(event).map_err(|e| Rejection::new(Reason::Internal, format!("audit: {e}")))?;
        ticket.await.map_err(|e| Rejection::new(Reason::Internal, format!("audit: {e}")))?;
        // The decision as the audit holds it, minus the subject: refusals
        // at info (an operator acts on them), issued licences at debug.
        let source_sha256 = source_sha256.as_deref();
        match &result {
            Ok((l, _)) => tracing::debug!(%partner, purpose, licence_id = %l.id, source_sha256, "translated"),
            Err(r) => tracing::info!(
                %partner,
                purpose,
                reason = r.reason.code(),
                detail = %r.detail,
                clause = r.clause.as_deref(),
                source_sha256,
                "refused"
            ),
        }

        let (licence, policy_digest) = result?;
        let out = TranslateOutput {
            content_type: licence.format.content_type().to_owned(),
            licence_id: licence.id.to_string(),
            released: licence.released.clone(),
            policy_digest,
            licence: licence.bytes,
        };
        let until = now + time::Duration::days(1);
        self.retries.put(&partner, &req.request_id, digest, until, out.clone());
        Ok(out)
    }

    async fn verify_licence(&self, licence: Vec<u8>, _content_type: String) -> Result<VerifyOutput, Rejection> {
        let snap = self.snapshot.load_full();
        let now = OffsetDateTime::now_utc();
        let report = crate::licence::verify(&licence, Some(&snap.anchors), now)
            .map_err(|e| Rejection::new(Reason::MalformedAssertion, e.to_string()))?;
        Ok(VerifyOutput {
            signature_valid: report.signature_valid,
            identifier_valid: report.identifier_valid,
            signer_trusted: report.signer_trusted == Some(true),
            licence_id: report.licence_id,
            signed_at: report.signed_at,
        })
    }

    fn audit_stats(&self) -> crate::audit::AuditStats {
        self.audit.stats()
    }

    fn trust_status(&self) -> Vec<DomainStatusView> {
        let snap = self.snapshot.load();
        let reports = self.trust_reports.load();
        let now = OffsetDateTime::now_utc();
        [TrustDomainId::Mo, TrustDomainId::CnGd]
            .into_iter()
            .map(|id| {
                let report = reports.iter().find(|r| r.domain == id);
                let d = snap.anchors.domain(id);
                DomainStatusView {
                    id,
                    list: d.map(|d| {
                        let age: time::Duration = now - d.list.issued_at;
                        ListView {
                            sequence: d.list.sequence,
                            issued_at: d.list.issued_at,
                            next_update: d.list.next_update,
                            expires: d.list.expires,
                            age: age.try_into().unwrap_or_default(),
                            entries: d.list.entries.len(),
                        }
                    }),
                    fresh: snap.anchors.usable(id, now).is_ok(),
                    last_error: report.and_then(|r| r.last_error.clone()),
                }
            })
            .collect()
    }

    fn ready(&self) -> bool {
        let snap = self.snapshot.load();
        let now = OffsetDateTime::now_utc();
        [TrustDomainId::Mo, TrustDomainId::CnGd].into_iter().all(|id| snap.anchors.usable(id, now).is_ok())
    }

    async fn refresh_trust(&self) {
        let mut done = self.trust_generation.subscribe();
        done.borrow_and_update();
        self.trust_refresh.notify_one();
        // Every source is fetched one after another, each within the fetch timeout.
        let bound = fetch::FETCH_TIMEOUT * 3;
        let _ = tokio::time::timeout(bound, done.changed()).await;
    }

    fn known_partner(&self, id: &PartnerId) -> bool {
        self.snapshot.load().policies.partner(id).is_some()
    }

    fn partner_key_allowed(&self, id: &PartnerId, spki_sha256: &[u8; 32]) -> bool {
        let snapshot = self.snapshot.load();
        let Some(partner) = snapshot.policies.partner(id) else { return false };
        partner.spki_sha256.is_empty() || partner.spki_sha256.iter().any(|pin| *pin == hex::encode(spki_sha256))
    }

    fn known_purpose(&self, purpose: &str) -> bool {
        crate::model::PurposeId::parse(purpose).is_ok_and(|p| self.snapshot.load().policies.purpose(&p).is_some())
    }
}

/// Runs a node until `shutdown` resolves: binds, serves, drains, flushes.
/// `on_bound` learns the listeners' addresses (the demo and tests bind to
/// port 0). Files are watched for changes as the config says; see
/// [`run_with`] to also reload on request (SIGHUP). When every connection
/// closed within the drain, the node is gone once this returns: the audit
/// chain is closed with its final checkpoint and the store is released, so
/// it can be opened again at once.
pub async fn run(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send,
    on_bound: impl FnOnce(crate::service::BoundAddrs),
) -> anyhow::Result<()> {
    let (_keep, reloads) = mpsc::channel(1);
    run_with(config, shutdown, reloads, on_bound).await
}

/// A node running on the current tokio runtime, for the demo and tests.
pub struct Spawned {
    pub addrs: crate::service::BoundAddrs,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Spawned {
    /// Shuts the node down (drain, flush) and returns how [`run`] ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| anyhow::anyhow!("the node task: {e}"))?
    }
}

/// Starts [`run_with`] on a task and returns once it is bound (or has
/// failed to start). With `reloads` `None`, only file changes reload.
pub async fn spawn(config: Config, reloads: Option<mpsc::Receiver<()>>) -> anyhow::Result<Spawned> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let (_keep, none) = mpsc::channel(1);
        let shutdown = async {
            let _ = stopped.await;
        };
        run_with(&config, shutdown, reloads.unwrap_or(none), |addrs| {
            let _ = bound_tx.send(addrs);
        })
        .await
    });
    match bound_rx.await {
        Ok(addrs) => Ok(Spawned { addrs, stop, task }),
        Err(_) => Err(task
            .await
            .map_err(|e| anyhow::anyhow!("the node task: {e}"))?
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("the node stopped before binding"))),
    }
}

/// [`run`], also reloading whenever `reloads` yields.
pub async fn run_with(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send,
    reloads: mpsc::Receiver<()>,
    on_bound: impl FnOnce(crate::service::BoundAddrs),
) -> anyhow::Result<()> {
    let server = config.server.as_ref().ok_or_else(|| anyhow::anyhow!("the config has no [server] section"))?;
    let loaded_from = fingerprint(config);
    let store = open_store(config)?;
    let lists = TrustLists::start(config, store.anchors(), OffsetDateTime::now_utc()).await;
    let snapshot = Snapshot::load_with_anchors(config, Arc::new(lists.anchors())).map_err(problems)?;
    let node = Arc::new(Node::build(server, store, snapshot)?);
    node.trust_reports.store(Arc::new(lists.reports()));
    for r in lists.reports() {
        if let Some(e) = &r.last_error {
            tracing::warn!(domain = r.domain.as_str(), error = %e, "trust list source");
        }
    }
    let metrics = Arc::new(Metrics::new());
    let anchors_snapshot = node.snapshot();
    let edge = Edge::bind(node.clone(), server, &anchors_snapshot.anchors, metrics.clone()).await?;
    on_bound(edge.addrs());
    tracing::info!(
        grpc = %edge.addrs().grpc,
        admin = %edge.addrs().admin,
        policy_digest = anchors_snapshot.policies.digest(),
        ready = node.ready(),
        "serving"
    );
    drop(anchors_snapshot);
    let upkeep = {
        let node = node.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HOUSEKEEPING_INTERVAL);
            loop {
                tick.tick().await;
                node.housekeeping(OffsetDateTime::now_utc());
            }
        })
    };
    let keeper = tokio::spawn(keep_current(
        Keeper { node: node.clone(), config: config.clone(), trust: edge.client_trust(), metrics, lists },
        reloads,
        ChangeDetector::new(loaded_from),
        server.reload_poll.and_then(|d| std::time::Duration::try_from(d).ok()),
    ));
    let served = edge.run(shutdown).await;
    upkeep.abort();
    keeper.abort();
    // The tasks hold the node: once they are gone, the node (its audit log
    // with the final checkpoint, its store and the store's lock) closes
    // before this returns.
    let _ = upkeep.await;
    let _ = keeper.await;
    node.close()?;
    // Connection tasks (gRPC and admin) that were finishing as the drain
    // ended still hold the node for a moment; wait (bounded) until they
    // let go, so the store's lock is released when this returns.
    let mut node = node;
    for _ in 0..500 {
        match Arc::try_unwrap(node) {
            Ok(last) => {
                drop(last);
                break;
            }
            Err(shared) => {
                node = shared;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
    served?;
    Ok(())
}

/// Keeps the node's snapshot current: rules and keys on reload, trust
/// lists on their schedule. One task does both, so a reload and a list
/// refresh never race to install.
struct Keeper {
    node: Arc<Node>,
    config: Config,
    trust: ClientTrust,
    metrics: Arc<Metrics>,
    lists: TrustLists,
}

impl Keeper {
    /// Loads the rules and keys again and swaps them in whole, or changes
    /// nothing; then re-reads every trust list.
    async fn reload(&mut self, cause: &'static str) {
        let (config, anchors) = (self.config.clone(), self.node.snapshot().anchors.clone());
        let loaded = tokio::task::spawn_blocking(move || Snapshot::load_with_anchors(&config, anchors)).await;
        match loaded {
            Ok(Ok(snapshot)) => {
                let digest = snapshot.policies.digest().to_owned();
                self.node.install(snapshot);
                self.metrics.reload(true);
                tracing::info!(cause, policy_digest = %digest, "reloaded policies, mappings and keys");
            }
            Ok(Err(errors)) => {
                self.metrics.reload(false);
                let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
                tracing::warn!(cause, ?problems, "reload refused; the previous set keeps serving");
            }
            Err(_) => self.metrics.reload(false),
        }
        self.refresh_trust(true).await;
    }

    /// Fetches the lists that are due (all when `force`) and publishes the
    /// anchors if they changed; rebuilds the client-certificate trust in
    /// any case, since a domain may have gone stale.
    async fn refresh_trust(&mut self, force: bool) {
        let now = OffsetDateTime::now_utc();
        let changed = self.lists.refresh(now, force).await;
        let reports = self.lists.reports();
        for r in &reports {
            if let Some(e) = &r.last_error {
                tracing::warn!(domain = r.domain.as_str(), error = %e, "trust list refresh failed; the held list serves until stale");
            }
        }
        self.node.trust_reports.store(Arc::new(reports));
        // Published on every fetch: a confirmation moves the staleness
        // deadline even when the list is the same.
        let anchors = Arc::new(self.lists.anchors());
        if let Err(e) = self.trust.update(&anchors) {
            tracing::warn!(error = %e, "client-certificate trust not rebuilt");
        }
        self.node.install_anchors(anchors);
        self.node.trust_generation.send_modify(|g| *g += 1);
        if changed {
            tracing::info!("trust lists changed; anchors published");
        }
    }
}

async fn keep_current(
    mut keeper: Keeper,
    mut reloads: mpsc::Receiver<()>,
    mut detector: ChangeDetector,
    poll: Option<std::time::Duration>,
) {
    let mut tick = tokio::time::interval(poll.unwrap_or(std::time::Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut requests_open = true;
    loop {
        let wake = keeper.lists.next_wake(OffsetDateTime::now_utc());
        enum Event {
            Signal,
            Poll,
            TrustDue,
            RefreshAsked,
        }
        let event = tokio::select! {
            got = reloads.recv(), if requests_open => match got {
                Some(()) => Event::Signal,
                None => { requests_open = false; continue }
            },
            _ = tick.tick(), if poll.is_some() => Event::Poll,
            () = tokio::time::sleep(wake) => Event::TrustDue,
            () = keeper.node.trust_refresh.notified() => Event::RefreshAsked,
        };
        match event {
            Event::TrustDue => keeper.refresh_trust(false).await,
            Event::RefreshAsked => keeper.refresh_trust(true).await,
            Event::Signal | Event::Poll => {
                let config = keeper.config.clone();
                let Ok(current) = tokio::task::spawn_blocking(move || fingerprint(&config)).await else { continue };
                let signalled = matches!(event, Event::Signal);
                if !signalled && !detector.observe(current) {
                    continue;
                }
                detector.attempted(current);
                keeper.reload(if signalled { "signal" } else { "file change" }).await;
            }
        }
    }
}
