//! The real server as a child process (`hengqin-bridge serve --config`),
//! and CPU time as Linux accounts it: the child's, the harness's own, the
//! whole machine's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    label: &'static str,
    child: Child,
    pub grpc: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin: SocketAddr,
    /// From spawning the process to both listeners bound: config,
    /// policies, trust lists, store, admission state.
    pub startup: Duration,
}

impl Server {
    /// Starts `binary` (this build's `hengqin-bridge` when `None`), pinned
    /// to the CPU list `cpus` (`taskset -c`) when given.
    pub fn start(label: &'static str, binary: Option<&Path>, cpus: Option<&str>, config: &Path) -> Server {
        let started = Instant::now();
        let binary = binary.unwrap_or(Path::new(env!("CARGO_BIN_EXE_hengqin-bridge")));
        let mut command = match cpus {
            // taskset execs the server: the child's pid is the server's.
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--log-format", "json", "serve"])
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (bound, addr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                match serving_address(&line) {
                    Some(addrs) => {
                        let _ = bound.send(addrs);
                    }
                    // Refusals (the noisy partner's thousands) are counted by
                    // the harness, not echoed.
                    None if line.contains(r#""message":"refused""#) => {}
                    None => eprintln!("[{label}] {line}"),
                }
            }
        });
        let (grpc, admin) =
            addr.recv_timeout(START_TIMEOUT).unwrap_or_else(|e| panic!("{label}: the server did not start: {e}"));
        Server { label, child, grpc, admin, startup: started.elapsed() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU time of the server, every thread, dead ones too.
    pub fn cpu(&self) -> Duration {
        process_cpu(&format!("/proc/{}/stat", self.pid()))
    }

    /// The audit writer's events and flushes so far, from `/metrics`.
    pub fn audit(&self) -> (u64, u64) {
        let mut body = String::new();
        if let Ok(mut s) = std::net::TcpStream::connect(self.admin) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(s, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let _ = s.read_to_string(&mut body);
        }
        let value =
            |name: &str| body.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0);
        (value("hengqin_bridge_audit_events_total"), value("hengqin_bridge_audit_flushes_total"))
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then wait for the drain; kill if it does not end.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{}: the server exited with {status}", self.label);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("{}: the server did not stop within {STOP_TIMEOUT:?}", self.label);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The gRPC and admin addresses of the node's `serving` log line (JSON
/// logs).
fn serving_address(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["message"] != "serving" {
        return None;
    }
    let addr = |key: &str| v[key].as_str().and_then(|a| a.parse().ok()).expect("a socket address");
    Some((addr("grpc"), addr("admin")))
}

/// The harness process's own user + system CPU time.
pub fn own_cpu() -> Duration {
    process_cpu("/proc/self/stat")
}

/// CPU time the calling thread has run (scheduler accounting, in
/// nanoseconds, brought up to date at scheduler ticks).
pub fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat");
    let ns: u64 = text.split_whitespace().next().and_then(|v| v.parse().ok()).expect("run time in schedstat");
    Duration::from_nanos(ns)
}

/// Busy time of the whole machine, all CPUs: everything but idle and
/// I/O wait in `/proc/stat`.
pub fn machine_busy() -> Duration {
    let text = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpu = text.lines().next().expect("the cpu line");
    let f: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest is in user)
    let busy = f[0] + f[1] + f[2] + f[5] + f[6] + f.get(7).copied().unwrap_or(0);
    ticks(busy)
}

/// The one-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// utime + stime (fields 14 and 15) of a `stat` file. The command name
/// (field 2) may hold spaces, so fields are counted after its `)`.
fn process_cpu(stat: &str) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_else(|e| panic!("{stat}: {e}"));
    let after = &text[text.rfind(')').expect("stat has the command in parentheses") + 1..];
    let f: Vec<u64> = after.split_whitespace().map(|v| v.parse().unwrap_or(0)).collect();
    ticks(f[11] + f[12])
}

fn ticks(n: u64) -> Duration {
    static HZ: OnceLock<u64> = OnceLock::new();
    let hz = *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    });
    Duration::from_nanos(n * 1_000_000_000 / hz)
}
