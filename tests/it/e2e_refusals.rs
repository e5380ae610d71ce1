//! Every refusal an assertion, a client certificate or a trust-list file
//! can cause, end to end: the real node over gRPC + mTLS, one table of
//! cases, each checked for its gRPC code, its `ErrorInfo` (reason, domain,
//! the policy clause for policy refusals) and for the absence of personal
//! data in the message.
//!
//! The cases are grouped by the MO trust list the node runs on. One PKI
//! and one store serve them all: the node starts on the generated list
//! (with one spare assertion signer revoked), then restarts once for each
//! list that changes the outcome of every request (no CRL, a CRL past its
//! nextUpdate, a forged CRL, an expired list).
//!
//! The clinic's rate limits are raised in a copy of the policies: the
//! table sends it more requests in a second than its shipped burst allows,
//! and a rate refusal must never decide a case here (`e2e_limits` tests
//! those). Every request is about a data subject of its own for the same
//! reason.

use crate::node::{Client, DOMAIN, Limits, TestNode, request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hengqin_bridge::dev::mint::{Flow, MintOptions};
use hengqin_bridge::dev::pki::{CrlChoice, SignerKind, TrustListSpec};
use hengqin_bridge::model::{Loa, TrustDomainId};
use hengqin_bridge::service::pb::TranslateRequest;
use serde_json::json;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use tonic::Code;
use tonic_types::StatusExt;

const CLINIC: &str = "hq-clinic-0001";
const PHARMACY: &str = "hq-pharmacy-0001";
const SS_WINDOW: &str = "hq-ss-window";
const INSURER: &str = "gz-insurer-0001";
const DG_TELECOM: &str = "dg-telecom-0001";
/// Holds a client certificate under the partner CA; no policy names it.
const STRANGER: &str = "hq-nobody-0000";

const VOUCHER: &str = "health-voucher";
const SOCIAL_SECURITY: &str = "social-security";
const KYC: &str = "real-name-kyc";
const GATEWAY: &str = "urn:hengqin-bridge:gateway:dev";

/// The MO trust list a case needs the node to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoList {
    /// As generated, its CRL revoking [`SignerKind::Revoked`].
    Generated,
    /// Carrying the issuing CA's CRL as chosen.
    Crl(CrlChoice),
    /// Past its `expires`.
    Expired,
}

/// One call of a case.
struct Call {
    partner: &'static str,
    req: TranslateRequest,
}

/// A case's calls. The last one's answer is the case's; any before it set
/// the case up (the first use of an assertion that is then replayed).
type Make = fn(&TestNode) -> Vec<Call>;

/// The reason code a case expects and the gRPC code DESIGN §7 gives it.
type Expect = (&'static str, Code);

const UNKNOWN_PARTNER: Expect = ("UNKNOWN_PARTNER", Code::Unauthenticated);
const UNKNOWN_PURPOSE: Expect = ("UNKNOWN_PURPOSE", Code::InvalidArgument);
const UNKNOWN_FORMAT: Expect = ("UNKNOWN_FORMAT", Code::InvalidArgument);
const TOO_LARGE: Expect = ("ASSERTION_TOO_LARGE", Code::InvalidArgument);
const MALFORMED: Expect = ("MALFORMED_ASSERTION", Code::InvalidArgument);
const UNSUPPORTED_ALGORITHM: Expect = ("UNSUPPORTED_ALGORITHM", Code::InvalidArgument);
const UNTRUSTED_CHAIN: Expect = ("UNTRUSTED_CHAIN", Code::PermissionDenied);
const CERT_REVOKED: Expect = ("CERT_REVOKED", Code::PermissionDenied);
const BAD_SIGNATURE: Expect = ("BAD_SIGNATURE", Code::PermissionDenied);
const ISSUER_NOT_TRUSTED: Expect = ("ISSUER_NOT_TRUSTED", Code::PermissionDenied);
const NOT_YET_VALID: Expect = ("ASSERTION_NOT_YET_VALID", Code::PermissionDenied);
const EXPIRED: Expect = ("ASSERTION_EXPIRED", Code::PermissionDenied);
const TOO_OLD: Expect = ("ASSERTION_TOO_OLD", Code::PermissionDenied);
const WRONG_AUDIENCE: Expect = ("WRONG_AUDIENCE", Code::PermissionDenied);
const NONCE_MISMATCH: Expect = ("NONCE_MISMATCH", Code::PermissionDenied);
const REPLAYED: Expect = ("REPLAYED", Code::PermissionDenied);
const EID_NOT_ACTIVE: Expect = ("EID_NOT_ACTIVE", Code::PermissionDenied);
const PURPOSE_NOT_ALLOWED: Expect = ("PURPOSE_NOT_ALLOWED", Code::PermissionDenied);
const FORMAT_NOT_ALLOWED: Expect = ("FORMAT_NOT_ALLOWED", Code::PermissionDenied);
const LOA_TOO_LOW: Expect = ("LOA_TOO_LOW", Code::PermissionDenied);
const CONSENT_MISSING: Expect = ("CONSENT_MISSING", Code::PermissionDenied);
const NOT_ELIGIBLE: Expect = ("NOT_ELIGIBLE", Code::PermissionDenied);
const DENIED_BY_RULE: Expect = ("DENIED_BY_RULE", Code::PermissionDenied);
const REVOCATION_UNKNOWN: Expect = ("REVOCATION_UNKNOWN", Code::Unavailable);
const TRUST_STALE: Expect = ("TRUST_STALE", Code::Unavailable);

struct Case {
    list: MoList,
    name: &'static str,
    expect: Expect,
    make: Make,
    /// `ErrorInfo.metadata["clause"]`: policy refusals name theirs, every
    /// other refusal has none.
    clause: Option<&'static str>,
}

fn case(name: &'static str, expect: Expect, make: Make) -> Case {
    Case { list: MoList::Generated, name, expect, make, clause: None }
}

impl Case {
    fn clause(self, clause: &'static str) -> Case {
        Case { clause: Some(clause), ..self }
    }

    fn on(self, list: MoList) -> Case {
        Case { list, ..self }
    }
}

/// `partner` asking for `purpose` in `format` with `jws`.
fn ask(partner: &'static str, purpose: &str, format: &str, jws: String) -> Vec<Call> {
    vec![Call { partner, req: request(purpose, format, jws) }]
}

fn voucher(n: &TestNode) -> MintOptions {
    n.fresh(Flow::HealthVoucher)
}

/// The clinic asking for a health voucher with `jws`.
fn clinic(jws: String) -> Vec<Call> {
    ask(CLINIC, VOUCHER, "", jws)
}

/// The clinic sending the same assertion twice.
fn twice(jws: String) -> Vec<Call> {
    clinic(jws.clone()).into_iter().chain(clinic(jws)).collect()
}

/// The clinic with a voucher assertion minted from `opts`.
fn minted(n: &TestNode, opts: MintOptions) -> Vec<Call> {
    clinic(n.mint(&opts))
}

/// The clinic with a voucher assertion whose claim `path` is `value`.
fn claim(n: &TestNode, path: &str, value: serde_json::Value) -> Vec<Call> {
    minted(n, voucher(n).set(path, value))
}

fn header_set(n: &TestNode, member: &str, value: serde_json::Value) -> Vec<Call> {
    minted(n, MintOptions { header_sets: vec![(member.into(), value)], ..voucher(n) })
}

fn header_without(n: &TestNode, member: &str) -> Vec<Call> {
    minted(n, MintOptions { header_removals: vec![member.into()], ..voucher(n) })
}

/// Header `alg` set to `alg`; signed with it where the key can.
fn alg(n: &TestNode, alg: &'static str) -> Vec<Call> {
    minted(n, MintOptions { alg: Some(alg), ..voucher(n) })
}

fn signed_by(n: &TestNode, signer: SignerKind) -> Vec<Call> {
    minted(n, MintOptions { signer, ..voucher(n) })
}

/// The social-security window with an assertion whose claim `path` is `value`.
fn window(n: &TestNode, path: &str, value: serde_json::Value) -> Vec<Call> {
    ask(SS_WINDOW, SOCIAL_SECURITY, "", n.mint(&n.fresh(Flow::SocialSecurity).set(path, value)))
}

/// A real-name request bound to its session nonce, for `partner`.
fn kyc(n: &TestNode, partner: &'static str, opts: MintOptions) -> Vec<Call> {
    let mut calls = ask(partner, KYC, "", n.mint(&opts.set("nonce", json!("session-1"))));
    calls[0].req.nonce = "session-1".into();
    calls
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A birth date that makes the holder eight years old.
fn child_birth_date() -> String {
    format!("{}-06-01", OffsetDateTime::now_utc().year() - 8)
}

/// The assertion with a second `iss` member in its claims (the signature
/// no longer matches, but framing is judged first).
fn duplicate_claim(jws: &str) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let claims = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
    assert_eq!(claims[0], b'{');
    let mut doubled = br#"{"iss":"https://eid.dsi.gov.mo","#.to_vec();
    doubled.extend_from_slice(&claims[1..]);
    parts[1] = URL_SAFE_NO_PAD.encode(doubled);
    parts.join(".")
}

/// One assertion's header and claims under another one's signature.
fn spliced(n: &TestNode) -> String {
    let a = n.mint(&voucher(n));
    let b = n.mint(&voucher(n).set("person.name_latin", json!("CHAN SIU MAN")));
    format!("{}.{}", a.rsplit_once('.').unwrap().0, b.rsplit_once('.').unwrap().1)
}

/// The whole table, in the order the node's lists change.
fn cases() -> Vec<Case> {
    vec![
        // Admission and request fields.
        case("certificate naming no partner", UNKNOWN_PARTNER, |n| ask(STRANGER, VOUCHER, "", n.mint(&voucher(n)))),
        case("unknown purpose", UNKNOWN_PURPOSE, |n| ask(CLINIC, "tax-refund", "", n.mint(&voucher(n)))),
        case("unknown purpose, bad assertion", UNKNOWN_PURPOSE, |_| ask(CLINIC, "tax-refund", "", "garbage".into())),
        case("unknown format", UNKNOWN_FORMAT, |n| ask(CLINIC, VOUCHER, "ofd", n.mint(&voucher(n)))),
        // Size, framing, header.
        case("over 16 KiB", TOO_LARGE, |_| clinic("a".repeat(16 * 1024 + 1))),
        case("one segment", MALFORMED, |_| clinic("abc".into())),
        case("empty", MALFORMED, |_| clinic(String::new())),
        case("padded base64url", MALFORMED, |n| clinic(n.mint(&voucher(n)).replacen('.', "=.", 1))),
        case("duplicate claim", MALFORMED, |n| clinic(duplicate_claim(&n.mint(&voucher(n))))),
        case("typ missing", MALFORMED, |n| header_without(n, "typ")),
        case("crit present", MALFORMED, |n| header_set(n, "crit", json!(["exp"]))),
        case("x5c missing", MALFORMED, |n| header_without(n, "x5c")),
        case("aud as an array", MALFORMED, |n| claim(n, "aud", json!([GATEWAY]))),
        case("exp of the wrong type", MALFORMED, |n| claim(n, "exp", json!("tomorrow"))),
        case("alg none", UNSUPPORTED_ALGORITHM, |n| alg(n, "none")),
        case("alg HS256", UNSUPPORTED_ALGORITHM, |n| alg(n, "HS256")),
        case("RS256 header on an EC key", UNSUPPORTED_ALGORITHM, |n| alg(n, "RS256")),
        case("RSA key under 2048 bits", UNSUPPORTED_ALGORITHM, |n| signed_by(n, SignerKind::Rsa1024)),
        // Chain and signature.
        case("expired signer", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::Expired)),
        case("signer not yet valid", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::NotYetValid)),
        case("CA certificate as leaf", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::CaAsLeaf)),
        case("root on no list", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::UntrustedRoot)),
        case("impostor issuing CA", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::Impostor)),
        case("wrong key usage", UNTRUSTED_CHAIN, |n| signed_by(n, SignerKind::WrongKeyUsage)),
        case("revoked signer", CERT_REVOKED, |n| signed_by(n, SignerKind::Revoked)),
        case("signature of another assertion", BAD_SIGNATURE, |n| clinic(spliced(n))),
        // Claims, time, audience, nonce, replay, eID status.
        case("issuer not bound", ISSUER_NOT_TRUSTED, |n| claim(n, "iss", json!("https://eid.example.org"))),
        case("iat in the future", NOT_YET_VALID, |n| {
            minted(n, voucher(n).set("iat", json!(unix_now() + 3600)).set("exp", json!(unix_now() + 3800)))
        }),
        case("nbf in the future", NOT_YET_VALID, |n| claim(n, "nbf", json!(unix_now() + 3600))),
        case("expired an hour ago", EXPIRED, |n| {
            minted(n, MintOptions { now: OffsetDateTime::now_utc() - Duration::hours(1), ..voucher(n) })
        }),
        case("lifetime over the maximum age", TOO_OLD, |n| minted(n, MintOptions { ttl_seconds: 3600, ..voucher(n) })),
        case("another gateway", WRONG_AUDIENCE, |n| claim(n, "aud", json!("urn:hengqin-bridge:gateway:other"))),
        case("nonce differs", NONCE_MISMATCH, |n| {
            let mut calls = claim(n, "nonce", json!("n-1"));
            calls[0].req.nonce = "n-2".into();
            calls
        }),
        case("nonce required, none sent", NONCE_MISMATCH, |n| {
            ask(INSURER, KYC, "", n.mint(&n.fresh(Flow::RealNameKyc)))
        }),
        case("replay of an answered assertion", REPLAYED, |n| twice(n.mint(&voucher(n)))),
        case("replay of a refused assertion", REPLAYED, |n| {
            twice(n.mint(&voucher(n).set("person.bir_type", json!("BIRNP"))))
        }),
        case("eID expired", EID_NOT_ACTIVE, |n| claim(n, "eid_status", json!("expired"))),
        case("eID cancelled", EID_NOT_ACTIVE, |n| window(n, "eid_status", json!("cancelled"))),
        // Policy: each refusal names the clause that decided it.
        case("purpose not the partner's", PURPOSE_NOT_ALLOWED, |n| {
            ask(CLINIC, SOCIAL_SECURITY, "", n.mint(&n.fresh(Flow::SocialSecurity)))
        })
        .clause("hengqin.toml#partner.hq-clinic-0001.purposes"),
        case("format not the partner's", FORMAT_NOT_ALLOWED, |n| {
            ask(CLINIC, VOUCHER, "gd-license-app+json", n.mint(&voucher(n)))
        })
        .clause("hengqin.toml#partner.hq-clinic-0001.formats"),
        case("LoA substantial for real-name registration", LOA_TOO_LOW, |n| {
            kyc(n, INSURER, MintOptions { loa: Loa::Substantial, ..n.fresh(Flow::RealNameKyc) })
        })
        .clause("purposes.toml#purpose.real-name-kyc.min_loa"),
        case("no consent", CONSENT_MISSING, |n| minted(n, voucher(n).remove("consent")))
            .clause("purposes.toml#purpose.health-voucher.consent.mode"),
        case("consent not separate for health data", CONSENT_MISSING, |n| claim(n, "consent.separate", json!(false)))
            .clause("purposes.toml#purpose.health-voucher.consent.mode"),
        case("consent for another purpose", CONSENT_MISSING, |n| window(n, "consent.purposes", json!([VOUCHER])))
            .clause("purposes.toml#purpose.social-security.consent.mode"),
        case("child without a guardian", CONSENT_MISSING, |n| {
            window(n, "person.birth_date", json!(child_birth_date()))
        })
        .clause("hengqin.toml#jurisdiction.minor_age"),
        case("non-permanent resident", NOT_ELIGIBLE, |n| claim(n, "person.bir_type", json!("BIRNP")))
            .clause("purposes.toml#purpose.health-voucher.eligibility.bir_type"),
        case("last year's voucher", NOT_ELIGIBLE, |n| {
            claim(n, "entitlements.health_voucher.scheme_year", json!(OffsetDateTime::now_utc().year() - 1))
        })
        .clause("purposes.toml#purpose.health-voucher.eligibility.voucher_current_year"),
        case("FSS beneficiary suspended", NOT_ELIGIBLE, |n| window(n, "entitlements.fss.status", json!("suspended")))
            .clause("purposes.toml#purpose.social-security.eligibility.fss_status"),
        case("no travel permit for real-name registration", NOT_ELIGIBLE, |n| {
            kyc(n, INSURER, n.fresh(Flow::RealNameKyc).remove("person.mtp_number"))
        })
        .clause("purposes.toml#purpose.real-name-kyc.eligibility.present"),
        case("partner whose filing lapsed", DENIED_BY_RULE, |n| ask(PHARMACY, VOUCHER, "", n.mint(&voucher(n))))
            .clause("hengqin.toml#deny.hq-pharmacy-0001-filing-lapsed"),
        case("purpose suspended in Dongguan", DENIED_BY_RULE, |n| kyc(n, DG_TELECOM, n.fresh(Flow::RealNameKyc)))
            .clause("dongguan.toml#deny.real-name-kyc-suspended"),
        // Trust lists the node restarts on.
        case("list without a CRL", REVOCATION_UNKNOWN, |n| minted(n, voucher(n))).on(MoList::Crl(CrlChoice::Omitted)),
        case("CRL past its nextUpdate", REVOCATION_UNKNOWN, |n| minted(n, voucher(n)))
            .on(MoList::Crl(CrlChoice::PastNextUpdate)),
        case("CRL signed by another key", REVOCATION_UNKNOWN, |n| minted(n, voucher(n)))
            .on(MoList::Crl(CrlChoice::WrongKey)),
        case("expired list", TRUST_STALE, |n| minted(n, voucher(n))).on(MoList::Expired),
    ]
}

/// Publishes the MO list a set-up needs (the node reads it at start).
fn publish(n: &TestNode, list: MoList) {
    let next = n.pki.next_list_spec(TrustDomainId::Mo).unwrap();
    let now = n.pki.now();
    let spec = match list {
        MoList::Generated => return,
        MoList::Crl(crl) => TrustListSpec { crl, ..next },
        MoList::Expired => TrustListSpec {
            issued_at: now - Duration::days(10),
            next_update: now - Duration::days(9),
            expires: now - Duration::seconds(1),
            ..next
        },
    };
    n.pki.write_trust_list(TrustDomainId::Mo, &spec).unwrap();
}

/// Clients of the running node, one per partner, made on first use.
#[derive(Default)]
struct Clients(HashMap<&'static str, Client>);

impl Clients {
    async fn get(&mut self, n: &TestNode, partner: &'static str) -> &mut Client {
        if !self.0.contains_key(partner) {
            let c = n.client(partner).await;
            self.0.insert(partner, c);
        }
        self.0.get_mut(partner).unwrap()
    }
}

/// Runs one case; every way it differs from its row is returned.
async fn run(n: &TestNode, clients: &mut Clients, case: &Case) -> Vec<String> {
    let (reason, code) = case.expect;
    let mut calls = (case.make)(n);
    let last = calls.pop().expect("a case makes at least one call");
    let mut wrong = Vec::new();
    for c in calls {
        if let Err(s) = clients.get(n, c.partner).await.translate(c.req).await
            && s.get_details_error_info().is_some_and(|i| i.reason == reason)
        {
            wrong.push(format!("{}: the setting-up call was already {reason}", case.name));
        }
    }
    let status = match clients.get(n, last.partner).await.translate(last.req).await {
        Ok(r) => return vec![format!("{}: answered with licence {}", case.name, r.into_inner().licence_id)],
        Err(s) => s,
    };
    let mut check = |ok: bool, what: String| {
        if !ok {
            wrong.push(format!("{}: {what} (status {:?}: {})", case.name, status.code(), status.message()));
        }
    };
    check(status.code() == code, format!("code, expected {code:?}"));
    match status.get_details_error_info() {
        None => check(false, "no ErrorInfo".into()),
        Some(info) => {
            check(info.reason == reason, format!("reason {}, expected {reason}", info.reason));
            check(info.domain == DOMAIN, format!("domain {}", info.domain));
            let clause = info.metadata.get("clause").map(String::as_str);
            check(clause == case.clause, format!("clause {clause:?}, expected {:?}", case.clause));
        }
    }
    check(status.get_details_retry_info().is_none(), "RetryInfo on a refusal that is no limit".into());
    for p in n.personal_data() {
        check(!status.message().contains(&p), format!("personal data {p:?} in the message"));
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_code_end_to_end() {
    let generous = Limits { rate_per_second: 1000, burst: 1000, daily_quota: 100_000 };
    let mut n = TestNode::with_limits(&[(CLINIC, generous)]);
    n.pki.revoke_signer(SignerKind::Revoked).unwrap();
    n.issue_stranger(STRANGER);
    n.start().await;

    let table = cases();
    let mut lists: Vec<MoList> = Vec::new();
    for c in &table {
        if !lists.contains(&c.list) {
            lists.push(c.list);
        }
    }
    assert_eq!(lists[0], MoList::Generated, "the table starts on the generated list");
    let mut wrong = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    for list in lists {
        if list != MoList::Generated {
            n.stop().await;
            publish(&n, list);
            if list == MoList::Expired {
                // An expired list from the source is refused and the cached
                // one would keep serving: with no cache, the domain is stale.
                n.store().anchors().forget(TrustDomainId::Mo).unwrap();
            }
            n.start().await;
        }
        let mut clients = Clients::default();
        for c in table.iter().filter(|c| c.list == list) {
            wrong.extend(run(&n, &mut clients, c).await);
            codes.insert(c.expect.0);
        }
        if list == MoList::Expired {
            // A stale domain also turns readiness red.
            assert_eq!(n.admin_get("/readyz").await.0, 503);
            assert_eq!(n.admin_get("/healthz").await.0, 200);
        }
    }
    n.stop().await;
    println!("{} cases, {} codes: {codes:?}", table.len(), codes.len());
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), table.len(), wrong.join("\n"));
}

/// `[partner.<id>.identity] spki_sha256` pins a partner's client key: a
/// certificate naming the partner with another key is `UNKNOWN_PARTNER`,
/// the pinned key is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_partner_key_is_enforced() {
    // A copy of the policies (its limits as shipped) that the test can pin in.
    let mut n = TestNode::with_limits(&[(CLINIC, Limits { rate_per_second: 20, burst: 40, daily_quota: 5000 })]);
    let config = hengqin_bridge::config::Config::load(&n.pki.config_path(), |_| None).unwrap();
    let policy = config.policies_dir.join("hengqin.toml");
    let shipped = std::fs::read_to_string(&policy).unwrap();
    let pin_to = |pin: &str| {
        let identity = format!("\n[partner.{CLINIC}.identity]\nspki_sha256 = [\"{pin}\"]\nsource = \"PIPL art. 51\"\n");
        std::fs::write(&policy, format!("{shipped}{identity}")).unwrap();
    };
    let cert = std::fs::read(n.pki.path(format!("partners/{CLINIC}/client.pem"))).unwrap();
    let spki = openssl::x509::X509::from_pem(&cert).unwrap().public_key().unwrap().public_key_to_der().unwrap();
    let own_pin = hex::encode(openssl::sha::sha256(&spki));

    pin_to(&"0".repeat(64));
    n.start().await;
    let status =
        n.client(CLINIC).await.translate(request("health-voucher", "", n.mint(&voucher(&n)))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.get_details_error_info().unwrap().reason, "UNKNOWN_PARTNER");

    pin_to(&own_pin);
    n.restart().await;
    let answer = n.client(CLINIC).await.translate(request("health-voucher", "", n.mint(&voucher(&n)))).await;
    assert!(answer.is_ok(), "{answer:?}");
    n.stop().await;
}
