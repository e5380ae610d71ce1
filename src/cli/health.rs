//! `hengqin-bridge health (--config FILE | --admin ADDR) [--ready]`: is the
//! node on this machine alive (`/healthz`) or ready to serve (`/readyz`)?
//! Exit 0 yes, 1 no. It exists for container health checks: the runtime
//! image has no HTTP client, and the binary already speaks to its own admin
//! listener.

use super::admin;
use super::{EXIT_PROBLEMS, EXIT_USAGE, print_errors};
use hengqin_bridge::config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("node").required(true).args(["config", "admin"]))]
pub struct HealthArgs {
    /// The node's config: its `[server] admin_listen` is asked.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The admin listener's address, e.g. 127.0.0.1:9090.
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// Ask `/readyz` (trust lists fresh, rules loaded, not draining)
    /// instead of `/healthz` (the process answers).
    #[arg(long)]
    ready: bool,
}

/// A health check that hangs is a failed one.
const TIMEOUT: Duration = Duration::from_secs(5);

pub fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let addr = match (args.admin, &args.config) {
        (Some(addr), _) => addr,
        (None, Some(config)) => match Config::load(config, |k| std::env::var(k).ok()) {
            Ok(Config { server: Some(server), .. }) => admin::address(&server),
            Ok(_) => {
                eprintln!("{}: no [server] section: no node to ask", config.display());
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            Err(errors) => {
                print_errors(&errors);
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        },
        (None, None) => unreachable!("clap requires --config or --admin"),
    };
    let path = if args.ready { "/readyz" } else { "/healthz" };
    match admin::exchange(addr, "GET", path, TIMEOUT) {
        Ok((200, body)) => {
            println!("{path} at {addr}: 200 {}", body.trim());
            Ok(ExitCode::SUCCESS)
        }
        Ok((status, body)) => {
            println!("{path} at {addr}: {status} {}", body.trim());
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
        Err(e) => {
            println!("{path} at {addr}: not reachable ({e})");
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
    }
}
