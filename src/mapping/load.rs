//! Mappings directory → [`MappingSet`], and the cross-check of mappings
//! against the policies that use them.

use super::compile::{Mapping, Resources, read_mapping};
use super::names::NameConverter;
use super::tables::{CodeTable, read_code_table, read_name_exceptions};
use crate::policy::toml_file::SourceFile;
use crate::policy::{FileError, Form, PolicySet, sorted_errors};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The name-exception table's file, in `codes/`.
pub const NAME_EXCEPTIONS: &str = "name-exceptions.toml";
/// The code tables' directory, inside a mappings directory.
const CODES: &str = "codes";
const CODES_PREFIX: &str = "codes/";

/// Every mapping and code table of one mappings directory.
#[derive(Debug, Clone)]
pub struct MappingSet {
    mappings: BTreeMap<String, Mapping>,
    tables: BTreeMap<String, Arc<CodeTable>>,
    names: Arc<NameConverter>,
}

impl MappingSet {
    pub fn get(&self, id: &str) -> Option<&Mapping> {
        self.mappings.get(id)
    }

    pub fn mappings(&self) -> impl Iterator<Item = &Mapping> {
        self.mappings.values()
    }

    /// A code table by id (file name without `.toml`), e.g. for the
    /// per-sink holder-type tables the serializers apply.
    pub fn table(&self, id: &str) -> Option<&CodeTable> {
        self.tables.get(id).map(Arc::as_ref)
    }

    pub fn names(&self) -> &NameConverter {
        &self.names
    }
}

/// Loads `dir/codes/*.toml` (code tables and `name-exceptions.toml`) and
/// `dir/*.toml` (mappings). Either all are valid or every problem is
/// returned, sorted by file and line.
pub fn load_dir(dir: &Path) -> Result<MappingSet, Vec<FileError>> {
    let mut errors = Vec::new();
    let code_files = SourceFile::read_all(&dir.join(CODES), CODES_PREFIX).unwrap_or_else(|e| {
        errors.extend(e);
        Vec::new()
    });
    let map_files = SourceFile::read_all(dir, "").unwrap_or_else(|e| {
        errors.extend(e);
        Vec::new()
    });
    compile(dir, code_files, map_files, errors)
}

/// [`load_dir`] over files already in memory: each `(name, text)` is read
/// as the file `name` of a mappings directory (`mo-health-voucher.toml`,
/// or `codes/sex.toml` for a code table), with the same rules; errors name
/// a file by `name`.
pub fn load_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<MappingSet, Vec<FileError>> {
    let (mut code_files, mut map_files): (Vec<SourceFile>, Vec<SourceFile>) = files
        .into_iter()
        .map(|(name, text)| SourceFile::in_memory(name, text))
        .partition(|f| f.name.starts_with(CODES_PREFIX));
    code_files.sort_by(|a, b| a.name.cmp(&b.name));
    map_files.sort_by(|a, b| a.name.cmp(&b.name));
    compile(Path::new("."), code_files, map_files, Vec::new())
}

fn compile(
    dir: &Path,
    code_files: Vec<SourceFile>,
    map_files: Vec<SourceFile>,
    mut errors: Vec<FileError>,
) -> Result<MappingSet, Vec<FileError>> {
    let mut tables = BTreeMap::new();
    let mut exceptions = None;
    for f in &code_files {
        if f.name.ends_with(NAME_EXCEPTIONS) {
            exceptions = read_name_exceptions(f, &mut errors);
        } else if let Some(t) = read_code_table(f, &mut errors) {
            tables.insert(t.id.clone(), Arc::new(t));
        }
    }
    if !code_files.iter().any(|f| f.name.ends_with(NAME_EXCEPTIONS)) {
        let path = dir.join(CODES).join(NAME_EXCEPTIONS).display().to_string();
        errors.push(FileError::new(path, None, "missing name-exception table"));
    }
    let names = match NameConverter::new(exceptions.unwrap_or_default()) {
        Ok(n) => Arc::new(n),
        Err(e) => {
            errors.push(FileError::new(dir.display().to_string(), None, e.to_string()));
            return Err(sorted_errors(errors));
        }
    };
    let res = Resources { tables: &tables, names: &names };
    let mut mappings = BTreeMap::new();
    for f in &map_files {
        if let Some(m) = read_mapping(f, &res, &mut errors) {
            mappings.insert(m.id.clone(), m);
        }
    }
    if mappings.is_empty() && errors.is_empty() {
        errors.push(FileError::new(dir.display().to_string(), None, "no mapping file"));
    }
    if errors.is_empty() { Ok(MappingSet { mappings, tables, names }) } else { Err(sorted_errors(errors)) }
}

/// Cross-checks mappings against policies: every purpose names a loaded
/// mapping, and for every partner allowed the purpose, the (narrowed)
/// release set gives each required record item a value in a form the
/// transform can read, and each holder code type the mapping can give has
/// a code in the holder-type table of every format the partner may ask
/// for. Problems are reported at the purpose's `mapping` key.
pub fn check_policies(mappings: &MappingSet, policies: &PolicySet) -> Vec<FileError> {
    let mut errors = Vec::new();
    for purpose in policies.purposes() {
        let (file, line) = purpose.mapping_location();
        let mut err = |msg: String| errors.push(FileError::new(file, Some(line), msg));
        let Some(mapping) = mappings.get(&purpose.mapping) else {
            err(format!("purpose `{}` names unknown mapping `{}`", purpose.id, purpose.mapping));
            continue;
        };
        for partner in policies.partners().filter(|p| p.purposes.contains(&purpose.id)) {
            let Some(eff) = policies.effective(&partner.id, &purpose.id) else { continue };
            let release = eff.release.0;
            for group in mapping.required_needs() {
                if !group.iter().any(|p| release.form(p).is_some()) {
                    err(format!(
                        "mapping `{}` needs one of [{}], which purpose `{}` does not release to `{}`",
                        mapping.id,
                        group.join(", "),
                        purpose.id,
                        partner.id
                    ));
                }
            }
            for format in &partner.formats {
                let Some(table_id) = crate::licence::holder_type_table(*format) else { continue };
                let table = mappings.table(table_id);
                for t in &mapping.holder_code_types {
                    if table.and_then(|table| table.code_for(&t.code_type)).is_none() {
                        err(format!(
                            "mapping `{}` gives holder code type `{}`, which code table `{table_id}` does not \
                             translate for format {} of `{}`",
                            mapping.id,
                            t.code_type,
                            format.as_str(),
                            partner.id
                        ));
                    }
                }
            }
            for p in mapping.full_needs() {
                if let Some(form) = release.form(p).filter(|f| *f != Form::Full) {
                    err(format!(
                        "mapping `{}` reads `{p}` as a typed value, but purpose `{}` releases it `{form}` to `{}`",
                        mapping.id, purpose.id, partner.id
                    ));
                }
            }
        }
    }
    sorted_errors(errors)
}
