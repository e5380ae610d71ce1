//! `hengqin-bridge serve` as a process: an invalid config lists every
//! problem and exits 64 without binding; a valid one serves, logs JSON
//! lines, reloads on SIGHUP (refusing a broken set, installing a fixed
//! one), answers `health`, and drains and exits 0 on SIGTERM.

use hengqin_bridge::dev::pki::{PkiOptions, generate};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::support::admin_get;

const BIN: &str = env!("CARGO_BIN_EXE_hengqin-bridge");

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

/// Stderr lines, parsed as JSON (every line must be one object).
fn log_lines(child: &mut Child) -> mpsc::Receiver<serde_json::Value> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let v: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next log line whose message is `message` (bounded wait).
fn expect_log(lines: &mpsc::Receiver<serde_json::Value>, message: &str) -> serde_json::Value {
    loop {
        let v = lines.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("no log line {message:?}"));
        if v["message"].as_str().is_some_and(|m| m.starts_with(message)) {
            return v;
        }
    }
}

#[test]
fn serve_reloads_on_sighup_and_drains_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = tmp.path().join("shipped");
    hengqin_bridge::shipped::write_to(&shipped).unwrap();
    let mut opts = PkiOptions::new(OffsetDateTime::now_utc());
    opts.policies_dir = shipped.join("policies");
    opts.mappings_dir = shipped.join("mappings");
    let pki = generate(&tmp.path().join("pki"), &opts).unwrap();
    // Watching off: only the signal reloads here.
    let text = std::fs::read_to_string(pki.config_path()).unwrap();
    std::fs::write(pki.config_path(), text.replace("[server]\n", "[server]\nreload_poll_ms = 0\n")).unwrap();

    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve", "--config"])
        .arg(pki.config_path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = log_lines(&mut child);
    let serving = expect_log(&lines, "serving");
    let admin = serving["admin"].as_str().unwrap().to_owned();
    assert!(admin_get(&admin, "/readyz").starts_with("HTTP/1.1 200"));

    let policy = opts.policies_dir.join("hengqin.toml");
    let original = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, original.replace("[jurisdiction]", "[jurisdiction]\nunknown_key = 1")).unwrap();
    signal(&child, "HUP");
    let refused = expect_log(&lines, "reload refused");
    assert_eq!(refused["level"], "WARN");
    assert!(refused["problems"].as_str().unwrap().contains("unknown_key"), "{refused}");
    assert!(admin_get(&admin, "/readyz").starts_with("HTTP/1.1 200"), "the old set keeps serving");

    std::fs::write(&policy, &original).unwrap();
    signal(&child, "HUP");
    let installed = expect_log(&lines, "reloaded");
    assert_eq!(installed["policy_digest"], serving["policy_digest"]);
    let metrics = admin_get(&admin, "/metrics");
    assert!(metrics.contains("hengqin_bridge_reloads_total{outcome=\"refused\"} 1"), "{metrics}");
    assert!(metrics.contains("hengqin_bridge_reloads_total{outcome=\"installed\"} 1"), "{metrics}");

    // The config names admin_listen 127.0.0.1:0, so point the CLI at the bound port.
    let cli_config = tmp.path().join("cli.toml");
    let text = std::fs::read_to_string(pki.config_path()).unwrap();
    let text = text.replace("admin_listen = \"127.0.0.1:0\"", &format!("admin_listen = \"{admin}\""));
    std::fs::write(&cli_config, text.replace("state", &pki.path("state").display().to_string())).unwrap();
    let anchors = |cmd: &str| Command::new(BIN).args(["anchors", cmd, "--config"]).arg(&cli_config).output().unwrap();
    for cmd in ["status", "refresh"] {
        let out = anchors(cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with(&format!("node at {admin}:")), "{stdout}");
        for line in ["MO\n", "CN-GD\n", "  sequence     1", "  fresh        true", "  last error   -"] {
            assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
        }
    }

    // `health`, as a container health check runs it: by config or by address.
    let health = |args: &[&str]| Command::new(BIN).arg("health").args(args).output().unwrap();
    let cli_config_s = cli_config.to_str().unwrap();
    for args in [&["--config", cli_config_s][..], &["--config", cli_config_s, "--ready"], &["--admin", &admin]] {
        let out = health(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(": 200 "), "{stdout}");
    }

    signal(&child, "TERM");
    expect_log(&lines, "shutting down");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let out = health(&["--admin", &admin, "--ready"]);
    assert_eq!(out.status.code(), Some(1), "a stopped node is neither alive nor ready");
    assert!(String::from_utf8_lossy(&out.stdout).contains("/readyz at"), "{out:?}");

    // With the node stopped, the lists cached in its store.
    let out = anchors("status");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("not reachable") && stdout.contains("the lists cached in its store"), "{stdout}");
    assert!(stdout.contains("  sequence     1"), "{stdout}");
}

#[test]
fn an_invalid_config_lists_every_problem_and_binds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("bridge.toml");
    // A port is taken only if the config were accepted: listen on a fixed
    // loopback port and check nobody bound it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        &config,
        format!(
            "[gateway]\nid = \"\"\n[issuer]\nname = \"x\"\nuscc = \"bad\"\ndefining_body_uscc = \"bad\"\n\
             area_code = \"12\"\n[paths]\npolicies = \"p\"\nmappings = \"m\"\n[signer]\ncertificate = \"c\"\n\
             key = \"k\"\n[pseudonym]\nkey = \"k\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n\
             tls_certificate = \"c\"\ntls_key = \"k\"\n[store]\npath = \"s\"\n\
             [trust.CN-GD]\nsource = \"file:l\"\nsigner_pins = [\"00\"]\n"
        ),
    )
    .unwrap();
    let out = Command::new(BIN).args(["serve", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in ["gateway.id", "issuer.uscc", "issuer.defining_body_uscc", "issuer.area_code", "signer_pins"] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the port was left free");
}
