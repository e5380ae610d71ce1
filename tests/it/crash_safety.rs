//! A node killed with SIGKILL while it answers loses nothing it answered.
//!
//! `hengqin-bridge serve` runs as a child process on a generated PKI.
//! Several clients translate continuously while the process is killed at
//! a random moment; with the process gone, `audit verify` must find the
//! chain intact and `audit export` must hold every licence id a client
//! received. Then the node starts again on the same store and the round
//! repeats. sled opens a store in one process only, hence the checks run
//! between two lives of the node.

use crate::node::{Client, Limits, TestNode, request};
use hengqin_bridge::dev::mint::Flow;
use hengqin_bridge::service::BoundAddrs;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tonic_types::StatusExt;

const BIN: &str = env!("CARGO_BIN_EXE_hengqin-bridge");
const ROUNDS: usize = 5;
/// Clients per round: (partner, flow), each on its own connection.
const CLIENTS: &[(&str, Flow)] = &[
    ("hq-clinic-0001", Flow::HealthVoucher),
    ("hq-clinic-0001", Flow::HealthVoucher),
    ("hq-ss-window", Flow::SocialSecurity),
    ("hq-ss-window", Flow::SocialSecurity),
];
/// Hang guards, not speed requirements.
const START_GUARD: Duration = Duration::from_secs(30);
const CALL_GUARD: Duration = Duration::from_secs(20);

/// A tiny xorshift generator: the kill moments differ from run to run and
/// the seed is printed, so a failing run can be told apart.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// Starts `serve` and waits for its `serving` log line; stderr keeps being
/// drained afterwards so the node never blocks on a full pipe.
fn serve(n: &TestNode) -> (Child, BoundAddrs) {
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve", "--config"])
        .arg(n.pki.config_path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["message"] == "serving" {
                let _ = tx.send(v);
            }
        }
    });
    let serving = rx.recv_timeout(START_GUARD).expect("the node logs `serving`");
    let addr = |k: &str| serving[k].as_str().unwrap().parse().unwrap();
    (child, BoundAddrs { grpc: addr("grpc"), admin: addr("admin") })
}

/// What one client saw in one round.
#[derive(Default)]
struct Seen {
    answered: Vec<String>,
    refused: Vec<String>,
}

/// Translates until the node is gone (a transport error: no `ErrorInfo`).
async fn drive(n: Arc<TestNode>, mut client: Client, flow: Flow) -> Seen {
    let mut seen = Seen::default();
    loop {
        let jws = n.mint(&n.fresh(flow));
        let call = client.translate(request(flow.purpose_id(), "", jws));
        match tokio::time::timeout(CALL_GUARD, call).await.expect("a call ends") {
            Ok(r) => seen.answered.push(r.into_inner().licence_id),
            Err(s) => match s.get_details_error_info() {
                Some(info) => seen.refused.push(info.reason),
                None => return seen,
            },
        }
    }
}

/// Runs `audit <cmd>` on the stopped node's store.
fn audit(n: &TestNode, cmd: &str) -> std::process::Output {
    Command::new(BIN).args(["audit", cmd, "--config"]).arg(n.pki.config_path()).output().unwrap()
}

/// Every licence id in the audit chain, and the number of events.
fn chained_licences(n: &TestNode) -> (BTreeSet<String>, usize) {
    let out = audit(n, "export");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut ids = BTreeSet::new();
    let mut events = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "event" {
            events += 1;
            if let Some(id) = v["licence_id"].as_str() {
                ids.insert(id.to_owned());
            }
        }
    }
    (ids, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_licences_survive_sigkill_and_restart() {
    let generous = Limits { rate_per_second: 1000, burst: 1000, daily_quota: 100_000 };
    let mut n = Arc::new(TestNode::with_limits(&[("hq-clinic-0001", generous), ("hq-ss-window", generous)]));
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut moments = Moments(seed);
    let started = Instant::now();
    let mut answered: Vec<String> = Vec::new();
    let mut delays = Vec::new();

    for round in 1..=ROUNDS {
        let (mut child, addrs) = serve(&n);
        Arc::get_mut(&mut n).expect("no client outlives its round").addrs = addrs;
        let mut tasks = Vec::new();
        for &(partner, flow) in CLIENTS {
            let client = n.client(partner).await;
            tasks.push(tokio::spawn(drive(n.clone(), client, flow)));
        }
        let delay = moments.next_ms(300, 1500);
        delays.push(delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let killed = Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "round {round}: the node was killed, it did not exit");

        let mut this_round = 0;
        for t in tasks {
            let seen = tokio::time::timeout(CALL_GUARD, t).await.expect("a client notices").unwrap();
            assert!(seen.refused.is_empty(), "round {round}: refused {:?}", seen.refused);
            this_round += seen.answered.len();
            answered.extend(seen.answered);
        }
        assert!(this_round > 0, "round {round}: nothing was answered in {delay} ms");

        let verified = audit(&n, "verify");
        let report = String::from_utf8_lossy(&verified.stdout);
        assert_eq!(
            verified.status.code(),
            Some(0),
            "round {round}:\n{report}{}",
            String::from_utf8_lossy(&verified.stderr)
        );
        assert!(report.contains("ok: the audit chain is intact"), "{report}");
        let (chained, events) = chained_licences(&n);
        let missing: Vec<&String> = answered.iter().filter(|id| !chained.contains(*id)).collect();
        assert!(missing.is_empty(), "round {round}: answered but not in the chain: {missing:?}");
        assert!(events >= answered.len(), "round {round}: {events} events for {} answers", answered.len());
    }
    let unique: BTreeSet<&String> = answered.iter().collect();
    assert_eq!(unique.len(), answered.len(), "licence ids are unique");
    println!(
        "crash safety: {ROUNDS} SIGKILLs (seed {seed}, after {delays:?} ms), {} licences answered, every one in a \
         verified chain ({:.1} s)",
        answered.len(),
        started.elapsed().as_secs_f64()
    );
}
