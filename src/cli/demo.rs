//! `hengqin-bridge demo`: the embedded default, end to end. A throwaway
//! PKI and store in a temporary directory, the shipped policies and
//! mappings, the real node on loopback; the three flows and a set of
//! refusals as partners calling it over gRPC with mutual TLS; each licence
//! printed and verified through the node; then the audit chain verified.
//! Exits 0 only if every outcome was the expected one.

use super::{EXIT_PROBLEMS, now};
use anyhow::Context;
use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{Pki, PkiOptions, SignerKind, generate};
use hengqin_bridge::service::pb::bridge_client::BridgeClient;
use hengqin_bridge::service::pb::{TranslateRequest, VerifyLicenceRequest};
use hengqin_bridge::service::{BoundAddrs, client};
use hengqin_bridge::shipped;
use hengqin_bridge::store::Store;
use serde_json::json;
use std::process::ExitCode;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// One flow a partner runs.
struct FlowCase {
    title: &'static str,
    partner: &'static str,
    flow: Flow,
    format: &'static str,
    nonce: Option<&'static str>,
}

const FLOWS: &[FlowCase] = &[
    FlowCase {
        title: "a Hengqin clinic checks a Macau health-voucher holder",
        partner: "hq-clinic-0001",
        flow: Flow::HealthVoucher,
        format: "gbt36903+json",
        nonce: None,
    },
    FlowCase {
        title: "the Guangdong–Macao social-security one-window counter",
        partner: "hq-ss-window",
        flow: Flow::SocialSecurity,
        format: "gbt36903+json",
        nonce: None,
    },
    FlowCase {
        title: "a Guangzhou insurer's real-name check (GBA KYC), bound to its session",
        partner: "gz-insurer-0001",
        flow: Flow::RealNameKyc,
        format: "gd-license-app+json",
        nonce: Some("gz-session-7f3a"),
    },
];

pub fn run() -> anyhow::Result<ExitCode> {
    println!("hengqin-bridge demo — the node on loopback, partners calling it over gRPC with mutual TLS\n");
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let shipped_dir = tmp.path().join("shipped");
    shipped::write_to(&shipped_dir).context("writing the shipped policies and mappings")?;
    let mut opts = PkiOptions::new(now());
    opts.policies_dir = shipped_dir.join("policies");
    opts.mappings_dir = shipped_dir.join("mappings");
    let pki = generate(&tmp.path().join("pki"), &opts).context("generating the test PKI")?;
    println!("test PKI, config and store in {}", pki.dir().display());
    let config = Config::load(&pki.config_path(), |_| None)
        .map_err(|e| anyhow::anyhow!("config: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut failures = runtime.block_on(against_node(&pki, &config))?;
    failures += audit(&config)?;

    if failures == 0 {
        println!("\nevery outcome was the expected one");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{failures} outcome(s) differed from the expected");
        Ok(ExitCode::from(EXIT_PROBLEMS))
    }
}

/// Starts the node, runs the flows and refusals, stops it (draining and
/// flushing the store). The number of unexpected outcomes.
async fn against_node(pki: &Pki, config: &Config) -> anyhow::Result<u32> {
    let node = hengqin_bridge::app::spawn(config.clone(), None).await?;
    let addrs = node.addrs;
    println!("node: gRPC (mutual TLS) on {}, admin HTTP on {}", addrs.grpc, addrs.admin);

    let outcome = calls(pki, addrs).await;
    node.stop().await?;
    println!("node stopped: drained, store flushed");
    outcome
}

async fn connect(pki: &Pki, addrs: BoundAddrs, partner: &str) -> anyhow::Result<BridgeClient<Channel>> {
    let read = |p: String| std::fs::read(pki.path(&p)).with_context(|| format!("reading {p}"));
    Ok(client::connect(
        addrs.grpc,
        &read("server/ca.pem".into())?,
        &read(format!("partners/{partner}/client.pem"))?,
        &read(format!("partners/{partner}/client.key"))?,
    )
    .await?)
}

fn mint(pki: &Pki, opts: MintOptions) -> anyhow::Result<String> {
    Ok(mint_assertion(pki, &opts)?)
}

async fn calls(pki: &Pki, addrs: BoundAddrs) -> anyhow::Result<u32> {
    let mut failures = 0;
    let mut first_request = None;
    for case in FLOWS {
        let mut bridge = connect(pki, addrs, case.partner).await?;
        let mut opts = MintOptions::new(case.flow, now());
        if let Some(n) = case.nonce {
            opts = opts.set("nonce", json!(n));
        }
        let req = TranslateRequest {
            assertion: mint(pki, opts)?,
            purpose: case.flow.purpose_id().into(),
            output_format: case.format.into(),
            nonce: case.nonce.unwrap_or_default().into(),
            request_id: format!("demo-{}", case.partner),
        };
        println!("\n[{}] {} / {}: {}", case.format, case.partner, req.purpose, case.title);
        match bridge.translate(req.clone()).await {
            Ok(resp) => {
                let resp = resp.into_inner();
                println!("licence {} — released: {}", resp.licence_id, resp.released.join(", "));
                let doc: serde_json::Value = serde_json::from_slice(&resp.licence)?;
                println!("{}", serde_json::to_string_pretty(&doc)?);
                let report = bridge
                    .verify_licence(VerifyLicenceRequest { licence: resp.licence, content_type: resp.content_type })
                    .await?
                    .into_inner();
                println!(
                    "VerifyLicence: signature {}, identifier {}, signer trusted {}",
                    ok(report.signature_valid),
                    ok(report.identifier_valid),
                    ok(report.signer_trusted)
                );
                if !(report.signature_valid && report.identifier_valid && report.signer_trusted) {
                    failures += 1;
                }
            }
            Err(status) => {
                println!("[FAIL] expected a licence, got {:?}: {}", status.code(), status.message());
                failures += 1;
            }
        }
        first_request.get_or_insert(req);
    }
    failures += refusals(pki, addrs, first_request.context("no flow ran")?).await?;
    Ok(failures)
}

/// Refusals a partner scripts against: the reason code in `ErrorInfo`.
async fn refusals(pki: &Pki, addrs: BoundAddrs, used: TranslateRequest) -> anyhow::Result<u32> {
    println!("\nrefusals (gRPC status, ErrorInfo reason):");
    let voucher = |o: MintOptions| -> anyhow::Result<TranslateRequest> {
        Ok(TranslateRequest { assertion: mint(pki, o)?, request_id: String::new(), ..used.clone() })
    };
    let base = || MintOptions::new(Flow::HealthVoucher, now());
    let cases: Vec<(&str, &str, TranslateRequest)> = vec![
        (
            "the same assertion again under another request id",
            "REPLAYED",
            TranslateRequest { request_id: "demo-again".into(), ..used.clone() },
        ),
        (
            "an unknown output format",
            "UNKNOWN_FORMAT",
            TranslateRequest { output_format: "ofd".into(), ..voucher(base())? },
        ),
        ("a non-permanent resident's voucher", "NOT_ELIGIBLE", voucher(base().set("person.bir_type", json!("BIRNP")))?),
        (
            "consent not given separately for health data",
            "CONSENT_MISSING",
            voucher(base().set("consent.separate", json!(false)))?,
        ),
        (
            "an assertion for another gateway",
            "WRONG_AUDIENCE",
            voucher(base().set("aud", json!("urn:hengqin-bridge:gateway:elsewhere")))?,
        ),
        ("a cancelled eID", "EID_NOT_ACTIVE", voucher(base().set("eid_status", json!("cancelled")))?),
        (
            "a signer chaining to an unknown root",
            "UNTRUSTED_CHAIN",
            voucher(MintOptions { signer: SignerKind::UntrustedRoot, ..base() })?,
        ),
    ];
    let mut failures = 0;
    let mut bridge = connect(pki, addrs, "hq-clinic-0001").await?;
    for (what, expected, req) in cases {
        match bridge.translate(req).await {
            Err(status) => {
                let reason = status.get_details_error_info().map(|i| i.reason).unwrap_or_default();
                if reason == expected {
                    println!("  [ok]   {what}: {:?} {reason}", status.code());
                } else {
                    println!("  [FAIL] {what}: expected {expected}, got {:?} {reason:?}", status.code());
                    failures += 1;
                }
            }
            Ok(_) => {
                println!("  [FAIL] {what}: expected {expected}, got a licence");
                failures += 1;
            }
        }
    }

    // Without a client certificate the handshake itself is refused.
    let ca = std::fs::read(pki.path("server/ca.pem"))?;
    let anonymous = async {
        let channel = client::channel(addrs.grpc, &ca, None).await?;
        BridgeClient::new(channel).translate(used.clone()).await.map_err(anyhow::Error::from)
    };
    match anonymous.await {
        Err(_) => println!("  [ok]   a caller without a client certificate: refused in the TLS handshake"),
        Ok(_) => {
            println!("  [FAIL] a caller without a client certificate got an answer");
            failures += 1;
        }
    }
    Ok(failures)
}

/// Re-walks the audit chain the node left in its store.
fn audit(config: &Config) -> anyhow::Result<u32> {
    let store_cfg = config.store.as_ref().context("the config names no store")?;
    let store = Store::open_existing(&store_cfg.path)?;
    let signer = std::fs::read(&config.signer_certificate)?;
    let signer_der = openssl::x509::X509::from_pem(&signer)?.to_der()?;
    let report = hengqin_bridge::audit::verify(&store, &|der: &[u8]| {
        if der == signer_der { Ok(()) } else { Err("not the bridge signer".to_owned()) }
    })?;
    println!(
        "\naudit verify: {} events, {} signed checkpoint(s), signed through seq {} — {}",
        report.events,
        report.checkpoints,
        report.signed_through,
        if report.is_valid() { "the chain is intact" } else { "PROBLEMS" }
    );
    for p in &report.problems {
        println!("  problem: {p}");
    }
    // Three permits, seven refusals decided by the pipeline (the handshake
    // refusal never reached it).
    let expected = 10;
    if report.is_valid() && report.events == expected {
        Ok(0)
    } else {
        println!("  [FAIL] expected {expected} events in an intact chain");
        Ok(1)
    }
}

fn ok(b: bool) -> &'static str {
    if b { "OK" } else { "FAILED" }
}
