//! `deploy/systemd/hengqin-bridge.service`: `systemd-analyze verify`
//! accepts it without a word, and its sandbox stays in place.
//!
//! `systemd-analyze` (Debian package `systemd`) must be installed; `.ci/run`
//! installs it when missing. Without it this test fails: it is never
//! skipped.

use super::{BIN, ETC, STATE, read, text};
use std::process::Command;

const UNIT: &str = "deploy/systemd/hengqin-bridge.service";
const INSTALLED_BIN: &str = "/usr/local/bin/hengqin-bridge";

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze").args(args).output().unwrap_or_else(|e| {
        panic!(
            "systemd-analyze cannot run ({e}): install the Debian package `systemd` \
             (`apt-get install systemd`; .ci/run does it)"
        )
    })
}

/// The values of `key=` in the unit, in order.
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix('=')).collect()
}

/// The unit with ExecStart naming the binary this build made, since verify
/// checks that the command exists.
fn unit_for_this_build(dir: &std::path::Path) -> std::path::PathBuf {
    let unit = read(UNIT);
    assert!(unit.contains(INSTALLED_BIN));
    let path = dir.join("hengqin-bridge.service");
    std::fs::write(&path, unit.replace(INSTALLED_BIN, BIN)).unwrap();
    path
}

#[test]
fn systemd_analyze_verify_accepts_the_unit_without_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(tmp.path());
    let out = systemd_analyze(&["verify", unit.to_str().unwrap()]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    // Unknown keys and bad values are only warnings for verify: none allowed.
    assert_eq!(said.trim(), "", "systemd-analyze verify said something");

    // It does read the file: a misspelt key is reported.
    let bad = tmp.path().join("bad.service");
    std::fs::write(&bad, std::fs::read_to_string(&unit).unwrap().replace("ProtectSystem=", "ProtectSystems=")).unwrap();
    let out = systemd_analyze(&["verify", bad.to_str().unwrap()]);
    assert!(text(&out.stderr).contains("ProtectSystems"), "{}", text(&out.stderr));
}

#[test]
fn the_unit_keeps_its_sandbox() {
    let unit = read(UNIT);
    let one = |key: &str| {
        let v = values(&unit, key);
        assert_eq!(v.len(), 1, "{key}= should appear once: {v:?}");
        v[0]
    };
    let exec = one("ExecStart");
    assert!(exec.starts_with(&format!("{INSTALLED_BIN} --log-format json serve --config {ETC}/bridge.toml")), "{exec}");
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("User"), "hengqin-bridge");
    // The store of deploy/bridge.toml is the state directory.
    assert_eq!(format!("/var/lib/{}", one("StateDirectory")), STATE);
    assert!(read("deploy/bridge.toml").contains(&format!("path = \"{STATE}\"")));
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "64"),
        ("LimitNOFILE", "65536"),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    assert_eq!(values(&unit, "SystemCallFilter"), ["@system-service", "~@privileged @resources"]);
    // The stop timeout outlasts the drain.
    let drain: u64 = read("deploy/bridge.toml")
        .lines()
        .find_map(|l| l.strip_prefix("drain_seconds = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let stop: u64 = one("TimeoutStopSec").parse().unwrap();
    assert!(stop > drain + 5, "TimeoutStopSec={stop} leaves no room after drain_seconds={drain}");
}

#[test]
fn systemd_analyze_security_rates_the_unit_well_exposed_at_most_2() {
    let tmp = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(tmp.path());
    let out = systemd_analyze(&["security", "--offline=yes", "--no-pager", unit.to_str().unwrap()]);
    let said = text(&out.stdout);
    let level: f64 = said
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for ")?.1.split_once(": ")?.1.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{said}{}", text(&out.stderr)));
    assert!(level <= 2.0, "exposure {level}:\n{said}");
}
