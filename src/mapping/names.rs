//! Traditional → Simplified for names (DESIGN §5).
//!
//! Mainland documents print a Macau resident's name in standard Simplified
//! characters, and generic converters get names wrong (鍾 → 钟 where the
//! 2013 《通用规范汉字表》 gives 锺). So, character by character:
//! 1. the name-exception table (`codes/name-exceptions.toml`, each entry
//!    with its source) decides first; a `contested` entry adds a flag;
//! 2. otherwise OpenCC's Hong Kong → Simplified conversion (Macau prints
//!    Hong Kong-style forms such as 衞), compared with the plain and Taiwan
//!    conversions: when they disagree the character is flagged;
//! 3. every output character outside GBK is flagged, since many mainland
//!    systems reject those. GBK membership is tested by encoding with
//!    `encoding_rs`'s GBK encoder (the WHATWG GBK repertoire: GB 18030's
//!    two-byte part); the 通用规范汉字表 itself is not shipped, so a
//!    character inside GBK but outside that list is not flagged.
//!
//! The Traditional original is never lost: mappings must keep it in the
//! record beside the converted name (checked at load).

use super::tables::NameException;
use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The converters and the exception table.
pub struct NameConverter {
    exceptions: BTreeMap<char, NameException>,
    primary: OpenCC,
    second_opinions: [OpenCC; 2],
}

/// A converted name and its review flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZhHans {
    pub simplified: String,
    pub original: String,
    /// One line per character needing a person's look; empty when none.
    pub review: Vec<String>,
}

/// OpenCC's built-in dictionaries failed to load.
#[derive(Debug, thiserror::Error)]
#[error("Traditional→Simplified converter unavailable: {0}")]
pub struct ConverterError(String);

impl NameConverter {
    pub fn new(exceptions: Vec<NameException>) -> Result<NameConverter, ConverterError> {
        let load = |c| OpenCC::from_config(c).map_err(|e| ConverterError(e.to_string()));
        Ok(NameConverter {
            exceptions: exceptions.into_iter().map(|e| (e.traditional, e)).collect(),
            primary: load(BuiltinConfig::Hk2s)?,
            second_opinions: [load(BuiltinConfig::T2s)?, load(BuiltinConfig::Tw2s)?],
        })
    }

    pub fn exceptions(&self) -> impl Iterator<Item = &NameException> {
        self.exceptions.values()
    }

    pub fn convert(&self, name: &str) -> ZhHans {
        let mut simplified = String::with_capacity(name.len());
        let mut review = Vec::new();
        let mut buf = [0u8; 4];
        for c in name.chars() {
            if let Some(e) = self.exceptions.get(&c) {
                simplified.push(e.simplified);
                if e.contested {
                    review.push(format!("{c}→{}: contested, {}", e.simplified, e.note));
                }
                continue;
            }
            let one = c.encode_utf8(&mut buf);
            let out = self.primary.convert(one);
            let mut all: BTreeSet<String> = self.second_opinions.iter().map(|o| o.convert(one)).collect();
            all.insert(out.clone());
            if all.len() > 1 {
                let alts: Vec<&str> = all.iter().map(String::as_str).collect();
                review.push(format!("{c}→{out}: converters disagree ({})", alts.join("/")));
            }
            simplified.push_str(&out);
        }
        for c in simplified.chars() {
            if !in_gbk(c) {
                review.push(format!("{c}: outside GBK"));
            }
        }
        ZhHans { simplified, original: name.to_owned(), review }
    }
}

/// Whether GBK can encode the character.
pub fn in_gbk(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
    !unmappable
}

impl fmt::Debug for NameConverter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameConverter").field("exceptions", &self.exceptions.len()).finish_non_exhaustive()
    }
}
