//! A problem in a file people edit (config, policies, mappings, code
//! tables, trust lists), with the line it is on. Loaders collect every problem of every file and
//! report them together, so one run of `check` shows all that needs fixing.

use std::fmt;

/// One problem in one file: `file:line: message`, or `file: message` when
/// no line applies (an unreadable file, a file that is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The path as the loader was given it (directory joined with the name).
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Lower-case, single-line English.
    pub message: String,
}

impl FileError {
    pub fn new(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> FileError {
        FileError { file: file.into(), line, message: message.into() }
    }
}

impl FileError {
    /// A problem located by a byte offset into the file's `text`.
    pub fn at(file: impl Into<String>, text: &str, offset: Option<usize>, message: impl Into<String>) -> FileError {
        FileError::new(file, offset.map(|o| line_of(text, o)), message)
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// Sorts problems by file, then line, and drops exact duplicates.
pub fn sorted(mut errors: Vec<FileError>) -> Vec<FileError> {
    errors.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    errors.dedup();
    errors
}
