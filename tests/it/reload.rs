//! Reload while serving: a broken policy set is refused (by SIGHUP-style
//! request and by file change) and the old set keeps serving; a valid new
//! set is swapped in whole, with its effect on the next request.

use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{Pki, PkiOptions, generate};
use hengqin_bridge::service::pb::TranslateRequest;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tonic_types::StatusExt;

use crate::support::admin_get;

fn reloads(addr: std::net::SocketAddr, outcome: &str) -> u64 {
    let text = admin_get(addr, "/metrics");
    let key = format!("hengqin_bridge_reloads_total{{outcome=\"{outcome}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&key)).map_or(0, |v| v.trim().parse().unwrap())
}

/// Waits (bounded) until the admin metrics show `n` reloads with `outcome`.
async fn await_reloads(addr: std::net::SocketAddr, outcome: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reloads(addr, outcome) < n {
        assert!(Instant::now() < deadline, "no {outcome} reload within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    pki: Pki,
    policy: PathBuf,
}

fn fixture(now: OffsetDateTime) -> (Fixture, Config) {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = tmp.path().join("shipped");
    hengqin_bridge::shipped::write_to(&shipped).unwrap();
    let mut opts = PkiOptions::new(now);
    opts.policies_dir = shipped.join("policies");
    opts.mappings_dir = shipped.join("mappings");
    let pki = generate(&tmp.path().join("pki"), &opts).unwrap();
    // Poll the files quickly so the file-change path is exercised too.
    let text = std::fs::read_to_string(pki.config_path()).unwrap();
    assert!(text.contains("[server]\n"));
    std::fs::write(pki.config_path(), text.replace("[server]\n", "[server]\nreload_poll_ms = 100\n")).unwrap();
    let config = Config::load(&pki.config_path(), |_| None).unwrap();
    let policy = opts.policies_dir.join("hengqin.toml");
    (Fixture { _tmp: tmp, pki, policy }, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_set_is_refused_and_a_valid_one_swapped_in() {
    let now = OffsetDateTime::now_utc();
    let (fx, config) = fixture(now);
    let (reload, reloads_rx) = tokio::sync::mpsc::channel(1);
    let node = hengqin_bridge::app::spawn(config.clone(), Some(reloads_rx)).await.unwrap();
    let addrs = node.addrs;
    let mut bridge = crate::node::connect(&fx.pki, addrs.grpc, "hq-clinic-0001").await;
    let pki = &fx.pki;
    // A different resident each time: the per-subject limit is not under test.
    let request = |n: u8| TranslateRequest {
        assertion: mint_assertion(
            pki,
            &MintOptions::new(Flow::HealthVoucher, OffsetDateTime::now_utc())
                .set("person.bir_number", serde_json::json!(format!("5123456{n}"))),
        )
        .unwrap(),
        purpose: "health-voucher".into(),
        output_format: String::new(),
        nonce: String::new(),
        request_id: format!("r{n}"),
    };
    let first = bridge.translate(request(1)).await.unwrap().into_inner();
    let original = std::fs::read_to_string(&fx.policy).unwrap();

    // 1. A broken file, reloaded on request: refused, the old set serves.
    std::fs::write(&fx.policy, original.replace("rate_per_second = 20", "rate_per_second = \"fast\"")).unwrap();
    reload.send(()).await.unwrap();
    await_reloads(addrs.admin, "refused", 1).await;
    let still = bridge.translate(request(2)).await.unwrap().into_inner();
    assert_eq!(still.policy_digest, first.policy_digest, "the old set keeps serving");

    // 2. A policy that does not fit the mappings (a second broken kind),
    //    found by the file watcher: refused again, nothing changes.
    std::fs::write(&fx.policy, original.replace("purposes = [\"health-voucher\"]", "purposes = [\"no-such-purpose\"]"))
        .unwrap();
    await_reloads(addrs.admin, "refused", 2).await;
    let still = bridge.translate(request(3)).await.unwrap().into_inner();
    assert_eq!(still.policy_digest, first.policy_digest);
    assert_eq!(reloads(addrs.admin, "installed"), 0);

    // 3. A valid new set with a deny rule for the clinic, found by the file
    //    watcher: swapped in, and the next request is decided under it.
    let deny = "\n[[deny]]\nid = \"hq-clinic-0001-suspended\"\ndescription = \"suspended pending review\"\n\
                partner = \"hq-clinic-0001\"\nsource = \"PIPL art. 64 (supervision)\"\n";
    std::fs::write(&fx.policy, format!("{original}{deny}")).unwrap();
    await_reloads(addrs.admin, "installed", 1).await;
    let refused = bridge.translate(request(4)).await.unwrap_err();
    assert_eq!(refused.get_details_error_info().unwrap().reason, "DENIED_BY_RULE");

    // 4. Back to the original on request: permits again, with the original digest.
    std::fs::write(&fx.policy, &original).unwrap();
    reload.send(()).await.unwrap();
    await_reloads(addrs.admin, "installed", 2).await;
    let back = bridge.translate(request(5)).await.unwrap().into_inner();
    assert_eq!(back.policy_digest, first.policy_digest);

    node.stop().await.unwrap();
}
