//! The integration tests, linked as one binary.
//!
//! Each module is what used to be a test binary of its own; together they
//! link once instead of some thirty times. Two tests stay binaries of their
//! own because each installs the process-wide log subscriber it inspects:
//! `tests/hostile.rs` and `tests/no_payload_persisted.rs`.
//!
//! Run one area: `cargo test --test it e2e_flows::`.

mod audit_support;
#[path = "../node/mod.rs"]
mod node;
mod raw_sled;
mod support;
mod tls_client;

mod audit_chain;
mod audit_log;
mod cases;
mod cli;
mod cli_audit;
mod core_imports;
mod crash_safety;
mod deploy;
mod e2e_audit;
mod e2e_flows;
mod e2e_limits;
mod e2e_refusals;
mod formats;
mod licence_openssl;
mod offline_reasons;
mod properties;
mod reload;
mod serve_process;
mod server_flow;
mod service_tls;
mod store_state;
mod subject_limit;
mod transport_abuse;
mod trust_lists;
mod trust_refresh;
