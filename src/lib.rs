//! hengqin-bridge: Macau eID assertions in, SM2-signed mainland e-licence
//! records out, under the policy file of the partner's jurisdiction.
//!
//! # Layout
//!
//! The request path is a chain of typed stages. Each stage is a function of
//! its input, an immutable [`snapshot::Snapshot`] (anchors, policies,
//! mappings, signer) and an explicit `now`; the two stateful checks in the
//! chain (replay, the per-subject limit) are traits the core defines and the
//! edge implements.
//!
//! ```text
//!  gRPC/HTTP edge ──► admission ──► intake ──► trust ──► policy ──► mapping ──► licence ──► edge
//!  (service/)        (limits/)     parse      verify    decide     map        id + sign
//!                                   │          │         │          │          │
//!                               Presented  Verified   Permitted   Mapped    SignedLicence
//!                                                                             │
//!                                        store/ (sled): replay, quotas, anchor cache, audit chain
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | domain newtypes (ids, document numbers, `LicenceId`) and the stable reason codes |
//! | [`config`] | the server config file: strict DTO → validated [`config::Config`], every error at once |
//! | [`intake`] | wire → [`intake::Presented`]: size, framing, header; claim syntax (after the signature) |
//! | [`trust`] | trust lists, chains, CRLs, signature, time, audience, nonce, replay → [`trust::Verified`] |
//! | [`policy`] | policy files → `PolicySet` → `evaluate()` → [`policy::Permitted`] |
//! | [`mapping`] | mapping files → released attributes rendered into the core record |
//! | [`licence`] | the record, GB/T 36904 identifiers, JCS, per-format serializers, signing |
//! | [`signing`] | `Signer`; SM2/SM3 through OpenSSL (`openssl_sm2`: the one `unsafe` module) or the `sm2` crate (`rustcrypto_sm2`), per `[signer] backend` |
//! | [`pipeline`] | `process()`: the stages in the fixed order of DESIGN §7 |
//! | [`snapshot`] | everything a request reads, immutable, built from config |
//! | [`limits`] | admission at the edge: governor limits per partner, purpose and data subject; daily quotas; the in-flight cap |
//! | [`store`] | sled: replay ids, daily quotas, last good trust lists; implements the core's `ReplayGuard` |
//! | [`audit`] | hash-chained audit events with group commit, SM2-signed checkpoints, verify and export |
//! | [`service`] | the gRPC edge: mTLS (rustls), partner identity, the one refusal → status mapping, health, reflection, admin HTTP |
//! | [`dev`] | the test PKI and assertion minting (`dev pki`, `dev mint-assertion`) |
//! | [`shipped`] | the shipped `policies/` and `mappings/`, embedded for the demo |
//! | [`file_error`] | `file:line: message`, shared by every loader |
//!
//! The binary (`src/main.rs`, `src/cli/`) is the command line: `demo`,
//! `check`, `translate`, `verify-licence`, `dev`.
//!
//! The decision core (`intake`, `trust`, `policy`, `mapping`, `licence`,
//! `pipeline`) does no I/O and never reads the clock; `tests/it/core_imports.rs`
//! enforces it.
#![deny(unsafe_code)]

pub mod app;
pub mod audit;
pub mod config;
pub mod dev;
pub mod file_error;
pub mod intake;
pub mod licence;
pub mod limits;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod service;
pub mod shipped;
pub mod signing;
pub mod snapshot;
pub mod store;
pub mod trust;
