//! Strict reading of one TOML file into serde DTOs, collecting every
//! problem with its line.
//!
//! The document is parsed once into spanned values; each top-level key,
//! and each entry of a table of tables or an array of tables, is then
//! deserialized on its own. A bad partner therefore does not hide a bad
//! purpose further down: every entry that fails is reported, each at the
//! line of the offending key (an unknown key is reported at the key).

use crate::file_error::FileError;
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// A file read from disk.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// Path relative to the loaded directory (`hengqin.toml`, `codes/sex.toml`).
    pub name: String,
    /// The path as shown in errors.
    pub path: String,
    pub text: String,
}

impl SourceFile {
    pub fn read(dir: &Path, name: &str) -> Result<SourceFile, FileError> {
        let full = dir.join(name);
        let path = full.display().to_string();
        match std::fs::read_to_string(&full) {
            Ok(text) => Ok(SourceFile { name: name.to_owned(), path, text }),
            Err(e) => Err(FileError::new(path, None, format!("cannot read: {}", e.kind()))),
        }
    }

    /// A file given as text: `name` is also the path shown in errors.
    pub fn in_memory(name: &str, text: &str) -> SourceFile {
        SourceFile { name: name.to_owned(), path: name.to_owned(), text: text.to_owned() }
    }

    /// The `.toml` files directly in `dir` (`under` prefixes their names),
    /// sorted by name.
    pub fn read_all(dir: &Path, under: &str) -> Result<Vec<SourceFile>, Vec<FileError>> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![FileError::new(dir.display().to_string(), None, format!("cannot read directory: {}", e.kind()))]
        })?;
        let mut names = Vec::new();
        let mut errors = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    errors.push(FileError::new(dir.display().to_string(), None, format!("cannot list: {}", e.kind())));
                    continue;
                }
            };
            // Follows symlinks: a Kubernetes ConfigMap volume presents each
            // file as a link into its `..data` directory.
            let is_file = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file());
            match entry.file_name().into_string() {
                Ok(n) if is_file && n.ends_with(".toml") => names.push(n),
                Ok(_) => {}
                Err(n) => {
                    errors.push(FileError::new(dir.join(n).display().to_string(), None, "file name is not valid UTF-8"))
                }
            }
        }
        names.sort();
        let mut files = Vec::new();
        for n in names {
            match SourceFile::read(dir, &n) {
                Ok(mut f) => {
                    f.name = format!("{under}{n}");
                    files.push(f);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(files) } else { Err(errors) }
    }

    /// The file name without `.toml` and without the directory prefix.
    pub fn stem(&self) -> &str {
        let base = self.name.rsplit('/').next().unwrap_or(&self.name);
        base.strip_suffix(".toml").unwrap_or(base)
    }
}

/// One top-level entry of a document: its key and its value.
pub(crate) type Entry<'a> = (Spanned<String>, Spanned<DeValue<'a>>);

/// A parsed document and the problems found in it so far.
pub(crate) struct Doc<'a> {
    pub file: &'a SourceFile,
    pub errors: Vec<FileError>,
}

impl<'a> Doc<'a> {
    /// A document already parsed, for checks made after reading.
    pub fn new(file: &'a SourceFile) -> Doc<'a> {
        Doc { file, errors: Vec::new() }
    }

    /// Parses the file; syntax errors end the reading of this file.
    pub fn parse(file: &'a SourceFile) -> Result<(Doc<'a>, Vec<Entry<'a>>), Vec<FileError>> {
        let mut doc = Doc { file, errors: Vec::new() };
        let (root, syntax) = DeTable::parse_recoverable(&file.text);
        if !syntax.is_empty() {
            for e in syntax {
                doc.toml_error(&e);
            }
            return Err(doc.errors);
        }
        let entries = root.into_inner().into_iter().map(|(k, v)| (spanned_key(k), v)).collect();
        Ok((doc, entries))
    }

    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.file.text.len());
        self.file.text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line_of(span.start);
        self.errors.push(FileError::new(self.file.path.clone(), Some(line), message));
    }

    /// A problem with no better place than the top of the file.
    pub fn error_top(&mut self, message: impl Into<String>) {
        self.errors.push(FileError::new(self.file.path.clone(), Some(1), message));
    }

    fn toml_error(&mut self, e: &toml::de::Error) {
        let line = e.span().map(|s| self.line_of(s.start));
        let message = e.message().trim().replace('\n', " ");
        self.errors.push(FileError::new(self.file.path.clone(), line, message));
    }

    /// Deserializes one value strictly.
    pub fn value<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'a>>) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                self.toml_error(&e);
                None
            }
        }
    }

    /// Deserializes a table of tables (`[partner.<id>]`), each entry on its own.
    pub fn table_of<T: DeserializeOwned>(
        &mut self,
        key: &Spanned<String>,
        value: Spanned<DeValue<'a>>,
    ) -> Vec<(Spanned<String>, T)> {
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            self.error(span, format!("`{}` must be a table of tables", key.get_ref()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in table {
            let k = spanned_key(k);
            if let Some(t) = self.value(v) {
                out.push((k, t));
            }
        }
        out
    }

    /// Deserializes an array of tables (`[[deny]]`), each element on its own.
    pub fn array_of<T: DeserializeOwned>(
        &mut self,
        key: &Spanned<String>,
        value: Spanned<DeValue<'a>>,
    ) -> Vec<(Range<usize>, T)> {
        let span = value.span();
        let DeValue::Array(array) = value.into_inner() else {
            self.error(span, format!("`{}` must be an array of tables", key.get_ref()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in array.iter() {
            let span = v.span();
            if let Some(t) = self.value(v.clone()) {
                out.push((span, t));
            }
        }
        out
    }

    pub fn unknown_key(&mut self, key: &Spanned<String>) {
        self.error(key.span(), format!("unknown key `{}`", key.get_ref()));
    }

    /// Every clause cites its legal source: a non-empty `source` string.
    pub fn check_source(&mut self, source: &Spanned<String>) {
        let s = source.get_ref().trim();
        if s.is_empty() {
            self.error(source.span(), "`source` must cite the legal source of this clause");
        } else if s.chars().count() > 400 || s.chars().any(char::is_control) {
            self.error(source.span(), "`source` must be one line of at most 400 characters");
        }
    }
}

fn spanned_key(k: Spanned<std::borrow::Cow<'_, str>>) -> Spanned<String> {
    let span = k.span();
    Spanned::new(span, k.into_inner().into_owned())
}
