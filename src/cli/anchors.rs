//! `hengqin-bridge anchors status|refresh --config FILE`: the trust
//! domains of a running node, asked through its admin listener (`GET
//! /trust`, `POST /trust/refresh`). With the node stopped, `status` reads
//! the lists cached in its store instead and says so.

use super::admin;
use super::{EXIT_PROBLEMS, EXIT_USAGE, now, print_errors};
use clap::Subcommand;
use hengqin_bridge::config::Config;
use hengqin_bridge::store::Store;
use hengqin_bridge::trust::list;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

#[derive(Subcommand)]
pub enum AnchorsCommand {
    /// Per domain: sequence, issued, next update, expires, age, entries, freshness, last error.
    Status {
        #[arg(long)]
        config: PathBuf,
    },
    /// Fetch every domain's list now, then show the status.
    Refresh {
        #[arg(long)]
        config: PathBuf,
    },
}

/// Longest wait for the node's answer (a refresh fetches every source).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(40);

pub fn run(command: AnchorsCommand) -> anyhow::Result<ExitCode> {
    let (config, refresh) = match &command {
        AnchorsCommand::Status { config } => (config, false),
        AnchorsCommand::Refresh { config } => (config, true),
    };
    let cfg = match Config::load(config, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            print_errors(&e);
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let Some(server) = &cfg.server else {
        eprintln!("{}: no [server] section: no node to ask", config.display());
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let addr = admin::address(server);
    let asked = if refresh { admin_call(addr, "POST", "/trust/refresh") } else { admin_call(addr, "GET", "/trust") };
    let domains = match asked {
        Ok(v) => {
            println!("node at {addr}:");
            v
        }
        Err(e) if refresh => {
            eprintln!("cannot ask the node at {addr} to refresh: {e}");
            return Ok(ExitCode::from(EXIT_PROBLEMS));
        }
        Err(e) => {
            println!("node at {addr} not reachable ({e}); the lists cached in its store:");
            match cached(&cfg) {
                Ok(v) => v,
                Err(code) => return Ok(code),
            }
        }
    };
    let mut all_fresh = true;
    for d in domains.as_array().into_iter().flatten() {
        print_domain(d);
        all_fresh &= d["fresh"].as_bool().unwrap_or(false);
    }
    Ok(if all_fresh { ExitCode::SUCCESS } else { ExitCode::from(EXIT_PROBLEMS) })
}

fn print_domain(d: &Value) {
    let s = |k: &str| match &d[k] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    println!("{}", s("domain"));
    for (label, key) in [
        ("sequence", "sequence"),
        ("issued", "issued_at"),
        ("next update", "next_update"),
        ("expires", "expires"),
        ("age (s)", "age_seconds"),
        ("entries", "entries"),
        ("fresh", "fresh"),
        ("last error", "last_error"),
    ] {
        println!("  {label:<12} {}", s(key));
    }
}

/// One exchange with the admin listener; the JSON body of a 200 answer.
fn admin_call(addr: SocketAddr, method: &str, path: &str) -> Result<Value, String> {
    match admin::exchange(addr, method, path, ADMIN_TIMEOUT)? {
        (200, body) => serde_json::from_str(&body).map_err(|e| format!("not JSON: {e}")),
        (status, _) => Err(format!("HTTP {status}")),
    }
}

/// The lists cached in the store, re-verified against the configured pins.
fn cached(cfg: &Config) -> Result<Value, ExitCode> {
    let Some(store_cfg) = &cfg.store else {
        eprintln!("no [store] section");
        return Err(ExitCode::from(EXIT_USAGE));
    };
    let store = Store::open_existing(Path::new(&store_cfg.path)).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    let cache = store.anchors();
    let at = now();
    let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let domains = cfg
        .trust
        .iter()
        .map(|t| {
            let jws = cache.load_list(t.domain).ok().flatten();
            let verified = jws.as_deref().map(|j| list::verify(j, t.domain, &t.pins));
            let confirmed = cache.confirmed_at(t.domain).ok().flatten();
            match verified {
                Some(Ok(l)) => {
                    let confirmed = confirmed.unwrap_or(l.issued_at);
                    let stale_at = t.max_staleness.map_or(l.expires, |m| l.expires.min(confirmed + m));
                    serde_json::json!({
                        "domain": t.domain.as_str(),
                        "sequence": l.sequence,
                        "issued_at": time(l.issued_at),
                        "next_update": time(l.next_update),
                        "expires": time(l.expires),
                        "age_seconds": (at - l.issued_at).whole_seconds().max(0),
                        "entries": l.entries.len(),
                        "fresh": at < stale_at,
                        "last_error": Value::Null,
                    })
                }
                Some(Err(e)) => serde_json::json!({
                    "domain": t.domain.as_str(), "fresh": false, "last_error": format!("cached list refused: {e}"),
                }),
                None => {
                    serde_json::json!({ "domain": t.domain.as_str(), "fresh": false, "last_error": "no cached list" })
                }
            }
        })
        .collect();
    Ok(Value::Array(domains))
}
