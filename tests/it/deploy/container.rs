//! `deploy/container/Containerfile`: no container engine here, so its
//! essentials are read from the file — two stages, the runtime stage as a
//! fixed non-root user, the store on a volume at the configured path, a
//! health check through the binary's own `health` command, JSON logs.

use super::{ETC, STATE, bridge, read, text};

const FILE: &str = "deploy/container/Containerfile";

/// Instructions with continuation lines joined; comments dropped.
fn instructions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in read(FILE).lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                let (op, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
                out.push((op.to_ascii_uppercase(), rest.trim().to_owned()));
                pending.clear();
            }
        }
    }
    out
}

/// A JSON-form argument list (`["a", "b"]`).
fn exec_form(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not exec form ({e}): {s}"))
}

#[test]
fn two_stages_and_the_runtime_runs_as_a_fixed_non_root_user() {
    let all = instructions();
    let froms: Vec<&String> = all.iter().filter(|(op, _)| op == "FROM").map(|(_, a)| a).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust:1.95-bookworm") && froms[0].ends_with(" AS build"), "{}", froms[0]);
    assert!(froms[1].contains("debian:bookworm-slim"), "{}", froms[1]);
    let runtime_at = all.iter().rposition(|(op, _)| op == "FROM").unwrap();
    let runtime = &all[runtime_at..];
    let arg = |op: &str| runtime.iter().filter(|(o, _)| o == op).map(|(_, a)| a.as_str()).collect::<Vec<_>>();

    let build_runs =
        all[..runtime_at].iter().filter(|(op, _)| op == "RUN").map(|(_, a)| a.as_str()).collect::<String>();
    assert!(build_runs.contains("libssl-dev"), "the builder needs OpenSSL's headers");
    assert!(build_runs.contains("cargo build --release --locked"), "{build_runs}");
    let runtime_runs = arg("RUN").concat();
    for package in ["libssl3", "ca-certificates"] {
        assert!(runtime_runs.contains(package), "{package} missing from the runtime stage");
    }
    assert!(!runtime_runs.contains("curl"), "the health check needs no HTTP client");
    assert!(arg("COPY").iter().any(|a| a.starts_with("--from=build ")), "the binary comes from the build stage");

    let user = arg("USER");
    assert_eq!(user.len(), 1);
    let uid = user[0].split(':').next().unwrap();
    assert!(uid.parse::<u32>().is_ok_and(|u| u >= 1000), "USER {uid}: numeric and not root (runAsNonRoot checks it)");
    assert!(runtime_runs.contains(&format!("--uid {uid}")), "the user {uid} is created in the image");
}

#[test]
fn the_store_is_a_volume_and_the_ports_are_the_configured_ones() {
    let all = instructions();
    let get = |op: &str| all.iter().filter(|(o, _)| o == op).map(|(_, a)| a.clone()).collect::<Vec<_>>();
    assert_eq!(get("VOLUME").iter().map(|v| exec_form(v)).collect::<Vec<_>>(), [vec![STATE.to_owned()]]);
    let config = read("deploy/bridge.toml");
    let port = |key: &str| {
        let line = config.lines().find_map(|l| l.strip_prefix(&format!("{key} = "))).unwrap();
        line.trim_matches('"').rsplit(':').next().unwrap().to_owned()
    };
    assert_eq!(get("EXPOSE"), [format!("{}/tcp {}/tcp", port("listen"), port("admin_listen"))]);
}

#[test]
fn logs_are_json_and_the_health_check_asks_the_admin_listener() {
    let all = instructions();
    let get = |op: &str| all.iter().rev().find(|(o, _)| o == op).map(|(_, a)| a.clone()).unwrap();
    let entrypoint = exec_form(&get("ENTRYPOINT"));
    assert_eq!(entrypoint[1..], ["--log-format", "json"]);
    let config = format!("{ETC}/bridge.toml");
    assert_eq!(exec_form(&get("CMD")), ["serve", "--config", &config]);

    let health = get("HEALTHCHECK");
    let (options, command) = health.split_once("CMD ").expect("HEALTHCHECK … CMD [...]");
    for option in ["--interval=", "--timeout=", "--start-period=", "--retries="] {
        assert!(options.contains(option), "{option} missing: {health}");
    }
    let command = exec_form(command);
    assert_eq!(command[0], entrypoint[0], "the same binary");
    assert_eq!(command[1..], ["health", "--config", &config]);
    // The command exists and, with no node listening, says not healthy (1).
    let out = bridge(&["health", "--admin", "127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(get("STOPSIGNAL"), "SIGTERM");
}
