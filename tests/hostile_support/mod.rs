//! The hostile-input corpus of `tests/hostile/`: one TOML file per class of
//! attack, each case naming how its assertion is made and, where it
//! differs from the class's, the exact refusal it must get.
//!
//! ```toml
//! class = "alg-none"                      # unique
//! about = "why the class exists"
//! reason = "UNSUPPORTED_ALGORITHM"        # ErrorInfo.reason of every case…
//! code = "InvalidArgument"                # …and its gRPC code
//!
//! [[case]]
//! name = "alg $each"                      # unique in its class
//! each = ["none", "None"]                 # optional: one case per value, "$each" replaced
//! header_set = { alg = "$each" }
//! reason = "MALFORMED_ASSERTION"          # optional: this case's own expectation
//! code = "InvalidArgument"
//! clause = "hengqin.toml#partner.x.purposes"   # policy refusals name their clause
//! ```
//!
//! Without `assertion`, a case is minted from the sample claims of its
//! `flow` for a data subject of its own, then changed as the case says, in
//! this order: claims (`at`, `set`, `set_raw`, `remove`, `assertion_nonce`),
//! the payload text (`payload_edit`, `payload_bytes`), the header
//! (`header_set`, `header_set_raw`, `header_remove`, `x5c`, `header_edit`),
//! the signature (`signer` or `cert`, `sign`), then the payload after
//! signing (`tamper`) and the compact form (`edit`). See [`Case`] for each
//! field. A string `$gateway` or `$issuer` anywhere in a claim or header
//! value is the node's gateway id or the DSI issuer.

pub mod certs;
pub mod forge;

use certs::CertSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One class file.
#[derive(Debug)]
pub struct Class {
    pub file: String,
    pub class: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassHead {
    class: String,
    about: String,
    reason: String,
    code: String,
    #[serde(default)]
    clause: Option<String>,
}

/// One input and what it must get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// Filled from the class when the case does not name its own.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub clause: Option<String>,

    /// The request: partner (default the clinic), purpose (default the
    /// flow's), output format, nonce, request id.
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub request_nonce: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,

    /// A literal assertion (repeated `repeat` times) instead of a minted one.
    #[serde(default)]
    pub assertion: Option<String>,
    #[serde(default)]
    pub repeat: Option<usize>,

    /// The sample claims minted (default `health-voucher`), the LoA
    /// (`substantial` or `high`), `exp` − `iat` in seconds.
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default)]
    pub loa: Option<String>,
    #[serde(default)]
    pub ttl: Option<i64>,
    /// The `nonce` claim.
    #[serde(default)]
    pub assertion_nonce: Option<String>,
    /// Claim path → now + this many seconds.
    #[serde(default)]
    pub at: BTreeMap<String, i64>,
    /// Claim path → value (TOML, read as JSON).
    #[serde(default)]
    pub set: toml::Table,
    /// Claim path → JSON text written into the payload as is.
    #[serde(default)]
    pub set_raw: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
    /// A long or deep value written at a claim (or header) path.
    #[serde(default)]
    pub grow: Option<forge::Grow>,
    /// `[from, to]` replacements in the payload's JSON text, before signing.
    #[serde(default)]
    pub payload_edit: Vec<[String; 2]>,
    /// `[from, hex]`: text of the payload replaced by raw bytes, before signing.
    #[serde(default)]
    pub payload_bytes: Vec<[String; 2]>,

    #[serde(default)]
    pub header_set: toml::Table,
    #[serde(default)]
    pub header_set_raw: BTreeMap<String, String>,
    #[serde(default)]
    pub header_remove: Vec<String>,
    /// `x5c` entries: `leaf`, `chain:N` (of the signer's chain), `file:PATH`
    /// (a PEM certificate of the PKI), `urlsafe:leaf`, `trailing:leaf`
    /// (DER + one byte), `pem:leaf`, `wrapped:leaf` (base64 with line
    /// breaks), `raw:TEXT`.
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    /// `[from, to]` replacements in the header's JSON text.
    #[serde(default)]
    pub header_edit: Vec<[String; 2]>,

    /// A `SignerKind` name (default `default`) or `file:CERT:KEY` (PEM
    /// files of the PKI).
    #[serde(default)]
    pub signer: Option<String>,
    /// A certificate issued for this case signs instead.
    #[serde(default)]
    pub cert: Option<CertSpec>,
    /// How the signature is made (see [`forge::signature`]); default: by the
    /// signer's key, with the header's algorithm when the key can make it.
    #[serde(default)]
    pub sign: Option<String>,
    /// `[from, to]` replacements in the payload's JSON text after signing.
    #[serde(default)]
    pub tamper: Vec<[String; 2]>,
    /// Changes to the compact serialization, in order.
    #[serde(default)]
    pub edit: Vec<forge::Edit>,

    /// Calls made first with the same assertion (or, with `remint`, one
    /// minted again from this case); each must be refused.
    #[serde(default)]
    pub prime: Vec<Prime>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prime {
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub remint: bool,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// Every class file, sorted by name; panics with the file's name on any
/// problem.
pub fn load() -> Vec<Class> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_class(p)).collect()
}

fn load_class(path: &Path) -> Class {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let raw_cases = match table.remove("case") {
        Some(toml::Value::Array(cases)) => cases,
        _ => panic!("{file}: no [[case]] tables"),
    };
    let head: ClassHead = toml::Value::Table(table).try_into().unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!head.about.trim().is_empty(), "{file}: say what the class is about");
    let mut cases = Vec::new();
    for raw in raw_cases {
        let toml::Value::Table(mut t) = raw else { panic!("{file}: a case is not a table") };
        let each = match t.remove("each") {
            None => vec![None],
            Some(toml::Value::Array(values)) => values.into_iter().map(Some).collect(),
            Some(_) => panic!("{file}: `each` is not an array"),
        };
        for value in each {
            let expanded = match &value {
                None => toml::Value::Table(t.clone()),
                Some(v) => substitute(&toml::Value::Table(t.clone()), v),
            };
            let mut case: Case = expanded.try_into().unwrap_or_else(|e| panic!("{file}: {e}"));
            if case.reason.is_empty() {
                case.reason = head.reason.clone();
            }
            if case.code.is_empty() {
                case.code = head.code.clone();
            }
            if case.clause.is_none() {
                case.clause = head.clause.clone();
            }
            cases.push(case);
        }
    }
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("{file}: case name {:?} is used twice", w[0]);
    }
    Class { file, class: head.class, cases }
}

/// `value` with every `"$each"` string replaced by `by`, `$each_char` by
/// the character whose code point `by` is in hex, and `$each` inside
/// longer strings (and keys) by its text.
fn substitute(value: &toml::Value, by: &toml::Value) -> toml::Value {
    let text = match by {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let char_of = || {
        let code = u32::from_str_radix(&text, 16).unwrap_or_else(|_| panic!("{text:?} is not a hex code point"));
        char::from_u32(code).expect("a Unicode scalar value").to_string()
    };
    match value {
        toml::Value::String(s) if s == "$each" => by.clone(),
        toml::Value::String(s) if s.contains("$each_char") => toml::Value::String(s.replace("$each_char", &char_of())),
        toml::Value::String(s) => toml::Value::String(s.replace("$each", &text)),
        toml::Value::Array(items) => toml::Value::Array(items.iter().map(|i| substitute(i, by)).collect()),
        toml::Value::Table(t) => {
            toml::Value::Table(t.iter().map(|(k, v)| (k.replace("$each", &text), substitute(v, by))).collect())
        }
        other => other.clone(),
    }
}

/// A TOML value as JSON, with `$gateway` and `$issuer` resolved.
pub fn to_json(value: &toml::Value, gateway: &str) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => {
            J::String(s.replace("$gateway", gateway).replace("$issuer", hengqin_bridge::dev::pki::DSI_ISSUER))
        }
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => J::from(*f),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Array(items) => J::Array(items.iter().map(|i| to_json(i, gateway)).collect()),
        toml::Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v, gateway))).collect()),
        toml::Value::Datetime(d) => J::String(d.to_string()),
    }
}
