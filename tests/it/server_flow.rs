//! The real node on 127.0.0.1:0 with a generated PKI: a partner translates
//! over gRPC + mTLS, a replay is refused with its reason in ErrorInfo, and
//! after shutdown the audit chain verifies with both decisions in it.

use hengqin_bridge::config::Config;
use hengqin_bridge::dev::mint::{Flow, MintOptions, mint_assertion};
use hengqin_bridge::dev::pki::{PkiOptions, generate};
use hengqin_bridge::service::pb::TranslateRequest;
use hengqin_bridge::store::Store;
use time::OffsetDateTime;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_translates_over_mtls_and_every_decision_is_audited() {
    let now = OffsetDateTime::now_utc();
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(&tmp.path().join("pki"), &PkiOptions::new(now)).unwrap();
    let config = Config::load(&pki.config_path(), |_| None).unwrap();
    let node = hengqin_bridge::app::spawn(config.clone(), None).await.expect("the node binds");
    let addrs = node.addrs;

    let mut bridge = crate::node::connect(&pki, addrs.grpc, "hq-clinic-0001").await;
    let jws = mint_assertion(&pki, &MintOptions::new(Flow::HealthVoucher, now)).unwrap();
    let req = TranslateRequest {
        assertion: jws.clone(),
        purpose: "health-voucher".into(),
        output_format: String::new(),
        nonce: String::new(),
        request_id: "req-1".into(),
    };
    let first = bridge.translate(req.clone()).await.unwrap().into_inner();
    assert!(first.licence_id.starts_with("1.2.156.3005.2."));
    assert_eq!(first.content_type, "application/vnd.gbt36903+json");
    // A retry with the same request id gets the same licence.
    let again = bridge.translate(req.clone()).await.unwrap().into_inner();
    assert_eq!(again.licence, first.licence);
    // Anything else reusing the jti is a replay.
    let replay = bridge.translate(TranslateRequest { request_id: "req-2".into(), ..req }).await.unwrap_err();
    assert_eq!(replay.code(), tonic::Code::PermissionDenied);
    assert_eq!(replay.get_details_error_info().unwrap().reason, "REPLAYED");

    node.stop().await.unwrap();

    let store = Store::open_existing(&config.store.as_ref().unwrap().path).unwrap();
    let report = hengqin_bridge::audit::verify(&store, &|_| Ok(())).unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.events, 2, "one permit and one replay refusal");
}
