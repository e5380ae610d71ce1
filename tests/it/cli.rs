//! The command line as partners and operators script it: exit codes 0 / 1
//! / 2 / 64, the reason code as the first stderr line of a refusal.

use std::path::Path;
use std::process::{Command, Output};

fn bridge(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hengqin-bridge")).args(args).current_dir(cwd).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn offline_flow_through_the_command_line() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = dir.join("pki");
    let pki_s = pki.to_str().unwrap();

    let out = bridge(&["dev", "pki", pki_s], repo);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in ["bridge.toml", "mo/trust-list.jws", "cn-gd/bridge-signer.pem", "partners/hq-clinic-0001/client.pem"] {
        assert!(pki.join(f).is_file(), "{f}");
    }
    let config = pki.join("bridge.toml");
    let config_s = config.to_str().unwrap();

    let mint = |name: &str, extra: &[&str]| {
        let path = dir.join(name);
        let mut args = vec!["dev", "mint-assertion", "--pki", pki_s, "--flow", "health-voucher", "--out"];
        args.push(path.to_str().unwrap());
        args.extend_from_slice(extra);
        let out = bridge(&args, dir);
        assert!(out.status.success(), "{}", text(&out.stderr));
        path
    };
    let good = mint("good.jws", &[]);
    let cancelled = mint("cancelled.jws", &["--set", "eid_status=cancelled"]);
    let translate = |assertion: &Path, partner: &str| {
        bridge(
            &[
                "translate",
                "--config",
                config_s,
                "--assertion",
                assertion.to_str().unwrap(),
                "--partner",
                partner,
                "--purpose",
                "health-voucher",
            ],
            dir,
        )
    };

    let out = translate(&good, "hq-clinic-0001");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let licence: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(licence["certificate_identifier"].as_str().unwrap().starts_with("1.2.156.3005.2."));
    let lic_path = dir.join("licence.json");
    std::fs::write(&lic_path, &out.stdout).unwrap();

    let out = bridge(&["verify-licence", lic_path.to_str().unwrap(), "--config", config_s], dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("signature valid:  true"), "{report}");
    assert!(report.contains("signer trusted:   true"), "{report}");

    let tampered = text(&std::fs::read(&lic_path).unwrap()).replace("CHAN TAI MAN", "CHAN SIU MAN");
    std::fs::write(&lic_path, tampered).unwrap();
    let out = bridge(&["verify-licence", lic_path.to_str().unwrap()], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("signature valid:  false"));

    for (assertion, partner, code) in
        [(&cancelled, "hq-clinic-0001", "EID_NOT_ACTIVE"), (&good, "hq-nobody-0000", "UNKNOWN_PARTNER")]
    {
        let out = translate(assertion, partner);
        assert_eq!(out.status.code(), Some(2), "{code}");
        let stderr = text(&out.stderr);
        let first = stderr.lines().next().unwrap_or("");
        assert!(first.starts_with(&format!("{code}: ")), "{stderr}");
        assert!(!stderr.contains("陳大文") && !stderr.contains("CHAN"), "personal data on stderr: {stderr}");
        assert!(out.stdout.is_empty());
    }

    let out = bridge(&["check", "--config", config_s], dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn invalid_configuration_is_listed_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bridge.toml");
    std::fs::write(&cfg, "[gateway]\nid = \"\"\n").unwrap();
    let jws = tmp.path().join("a.jws");
    std::fs::write(&jws, "x.y.z").unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let out = bridge(
        &["translate", "--config", cfg_s, "--assertion", jws.to_str().unwrap(), "--partner", "p", "--purpose", "q"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("bridge.toml"), "{}", text(&out.stderr));

    // `check` reports an invalid config and exits 1, not 64.
    let out = bridge(&["check", "--config", cfg_s], tmp.path());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_reports_every_problem_in_the_shipped_files_or_none() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = bridge(&["check"], repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let tmp = tempfile::tempdir().unwrap();
    hengqin_bridge::shipped::write_to(tmp.path()).unwrap();
    for f in ["policies/purposes.toml", "mappings/mo-health-voucher.toml"] {
        let p = tmp.path().join(f);
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{t}\nunexpected_key = 1\n")).unwrap();
    }
    let out = bridge(&["check"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("purposes.toml:") && stderr.contains("mo-health-voucher.toml:"), "{stderr}");
}

#[test]
fn the_demo_runs_the_node_and_every_outcome_is_the_expected_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bridge(&["--log-format", "json", "demo"], tmp.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("VerifyLicence: signature OK, identifier OK, signer trusted OK").count(), 3, "{stdout}");
    for partner in
        ["hq-clinic-0001 / health-voucher", "hq-ss-window / social-security", "gz-insurer-0001 / real-name-kyc"]
    {
        assert!(stdout.contains(partner), "{partner} missing:\n{stdout}");
    }
    for code in [
        "REPLAYED",
        "UNKNOWN_FORMAT",
        "NOT_ELIGIBLE",
        "CONSENT_MISSING",
        "WRONG_AUDIENCE",
        "EID_NOT_ACTIVE",
        "UNTRUSTED_CHAIN",
    ] {
        assert!(stdout.lines().any(|l| l.contains("[ok]") && l.ends_with(code)), "{code} missing:\n{stdout}");
    }
    assert!(stdout.contains("without a client certificate: refused in the TLS handshake"));
    assert!(stdout.contains("audit verify: 10 events"), "{stdout}");
    assert!(stdout.contains("the chain is intact"));
    assert!(!stdout.contains("[FAIL]"));
    // The node's logs (`--log-format json`): every stderr line a JSON
    // object, none naming the demo's residents or carrying their numbers,
    // and no assertion or other JWS (they all start `eyJ`).
    let permit_body = "82000019800517001";
    let permit = format!("{permit_body}{}", hengqin_bridge::model::gb11643_check(permit_body).unwrap());
    let forbidden =
        ["陳大文", "陈大文", "CHAN", "TAI MAN", "12345678", "10234567", "1980-05-17", permit_body, &permit, "eyJ"];
    let mut messages = Vec::new();
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
        messages.push(v["message"].as_str().unwrap_or_default().to_owned());
        for personal in forbidden {
            assert!(!line.contains(personal), "{personal:?} in a log line: {line}");
        }
    }
    assert!(messages.iter().any(|m| m == "serving"), "the node's start was logged: {messages:?}");
    // Each refusal is logged with its code (and nothing about the person).
    let logged: Vec<serde_json::Value> = stderr.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for code in ["REPLAYED", "NOT_ELIGIBLE", "CONSENT_MISSING", "WRONG_AUDIENCE", "EID_NOT_ACTIVE", "UNTRUSTED_CHAIN"] {
        let line = logged.iter().find(|v| v["message"] == "refused" && v["reason"] == code);
        let line = line.unwrap_or_else(|| panic!("no log line for {code}:\n{stderr}"));
        assert!(line["partner"].is_string() && line["source_sha256"].is_string(), "{line}");
    }
}
