//! Code tables (`mappings/codes/*.toml`), each reproducing a standard.

use super::dto::{EntryDto, NameExceptionDto, TableHeadDto};
use crate::policy::FileError;
use crate::policy::toml_file::{Doc, SourceFile};
use std::collections::BTreeSet;
use toml::Spanned;

/// A code table: codes with their names and the input values mapping to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTable {
    pub id: String,
    pub title: String,
    pub standard: String,
    /// The codes are not public; the defaults are marked so.
    pub unconfirmed: bool,
    pub entries: Vec<CodeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeEntry {
    pub code: String,
    pub name: String,
    pub from: Vec<String>,
}

impl CodeTable {
    /// The code an input value maps to.
    pub fn code_for(&self, input: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.from.iter().any(|f| f == input)).map(|e| e.code.as_str())
    }

    /// The name of a code.
    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }

    /// Whether any entry maps input values (usable by the `code` transform).
    pub fn maps_inputs(&self) -> bool {
        self.entries.iter().any(|e| !e.from.is_empty())
    }
}

fn head(doc: &mut Doc, h: &TableHeadDto) {
    if h.id.get_ref() != doc.file.stem() {
        doc.error(h.id.span(), format!("table id `{}` must match the file name", h.id.get_ref()));
    }
    for (v, what) in [(&h.title, "title"), (&h.standard, "standard")] {
        if v.get_ref().trim().is_empty() {
            doc.error(v.span(), format!("{what} must be non-empty (each table names its source standard)"));
        }
    }
}

pub(super) fn read_code_table(file: &SourceFile, errors: &mut Vec<FileError>) -> Option<CodeTable> {
    let (mut doc, entries) = match Doc::parse(file) {
        Ok(d) => d,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let (mut h, mut items, mut seen_head) = (None, Vec::new(), false);
    for (key, value) in entries {
        match key.get_ref().as_str() {
            "table" => {
                seen_head = true;
                h = doc.value::<TableHeadDto>(value);
            }
            "entry" => items = doc.array_of::<EntryDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    if !seen_head {
        doc.error_top("missing table [table]");
    }
    if let Some(h) = &h {
        head(&mut doc, h);
    }
    if items.is_empty() {
        doc.error_top("a code table needs at least one [[entry]]");
    }
    let (mut codes, mut inputs, mut out) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    for (_, e) in items {
        if e.code.get_ref().trim().is_empty() || e.name.get_ref().trim().is_empty() {
            doc.error(e.code.span(), "an entry needs a code and a name");
        }
        if !codes.insert(e.code.get_ref().clone()) {
            doc.error(e.code.span(), format!("code `{}` appears twice", e.code.get_ref()));
        }
        for f in &e.from {
            if !inputs.insert(f.get_ref().clone()) {
                doc.error(f.span(), format!("input `{}` maps to two codes", f.get_ref()));
            }
        }
        out.push(CodeEntry {
            code: e.code.into_inner(),
            name: e.name.into_inner(),
            from: e.from.into_iter().map(|f| f.into_inner()).collect(),
        });
    }
    let failed = !doc.errors.is_empty();
    errors.append(&mut doc.errors);
    let h = h?;
    if failed {
        return None;
    }
    Some(CodeTable {
        id: h.id.into_inner(),
        title: h.title.into_inner(),
        standard: h.standard.into_inner(),
        unconfirmed: h.unconfirmed,
        entries: out,
    })
}

/// One exception of the name table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameException {
    pub traditional: char,
    pub simplified: char,
    pub contested: bool,
    pub note: String,
    pub source: String,
}

pub(super) fn read_name_exceptions(file: &SourceFile, errors: &mut Vec<FileError>) -> Option<Vec<NameException>> {
    let (mut doc, entries) = match Doc::parse(file) {
        Ok(d) => d,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let (mut h, mut items, mut seen_head) = (None, Vec::new(), false);
    for (key, value) in entries {
        match key.get_ref().as_str() {
            "table" => {
                seen_head = true;
                h = doc.value::<TableHeadDto>(value);
            }
            "exception" => items = doc.array_of::<NameExceptionDto>(&key, value),
            _ => doc.unknown_key(&key),
        }
    }
    if !seen_head {
        doc.error_top("missing table [table]");
    }
    if let Some(h) = &h {
        head(&mut doc, h);
    }
    let mut out: Vec<NameException> = Vec::new();
    for (_, e) in items {
        let one = |s: &Spanned<String>| {
            let mut chars = s.get_ref().chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        };
        let (t, s) = (one(&e.traditional), one(&e.simplified));
        if t.is_none() {
            doc.error(e.traditional.span(), "traditional must be exactly one character");
        }
        if s.is_none() {
            doc.error(e.simplified.span(), "simplified must be exactly one character");
        }
        doc.check_source(&e.source);
        if e.note.get_ref().trim().is_empty() {
            doc.error(e.note.span(), "note must say why the exception exists");
        }
        let (Some(traditional), Some(simplified)) = (t, s) else { continue };
        if out.iter().any(|x| x.traditional == traditional) {
            doc.error(e.traditional.span(), format!("`{traditional}` appears twice"));
            continue;
        }
        out.push(NameException {
            traditional,
            simplified,
            contested: e.contested,
            note: e.note.into_inner(),
            source: e.source.into_inner(),
        });
    }
    let failed = !doc.errors.is_empty();
    errors.append(&mut doc.errors);
    if failed || h.is_none() { None } else { Some(out) }
}
