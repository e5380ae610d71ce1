//! Reading and writing the PKI directory. Keys are PKCS#8 PEM, readable by
//! the owner only; every file is written through a temporary file and a
//! rename, so a reader (a refreshing server) never sees half a file.

use super::PkiError;
use crate::signing::openssl_sm2;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::{X509, X509Ref};
use std::fs;
use std::io::Write;
use std::path::Path;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` to `path` atomically, creating parent directories.
pub(crate) fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    let parent = path.parent().ok_or_else(|| PkiError::Invalid(format!("{} has no parent", path.display())))?;
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(parent).map_err(io_err(parent))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    if !private {
        set_readable(tmp.path())?;
    }
    tmp.persist(path).map_err(|e| PkiError::Io { path: path.to_owned(), source: e.error })?;
    Ok(())
}

#[cfg(unix)]
fn set_readable(path: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_err(path))
}

#[cfg(not(unix))]
fn set_readable(_: &Path) -> Result<(), PkiError> {
    Ok(())
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(io_err(path))
}

pub(crate) fn write_cert(path: &Path, cert: &X509Ref) -> Result<(), PkiError> {
    write(path, &cert.to_pem()?, false)
}

pub(crate) fn write_key(path: &Path, key: &PKeyRef<Private>) -> Result<(), PkiError> {
    write(path, &key.private_key_to_pem_pkcs8()?, true)
}

pub(crate) fn read_cert(path: &Path) -> Result<X509, PkiError> {
    X509::from_pem(&read(path)?).map_err(|e| PkiError::Parse { path: path.to_owned(), message: e.to_string() })
}

/// Reads an ECDSA or RSA key.
pub(crate) fn read_key(path: &Path) -> Result<PKey<Private>, PkiError> {
    PKey::private_key_from_pem(&read(path)?)
        .map_err(|e| PkiError::Parse { path: path.to_owned(), message: e.to_string() })
}

/// Reads an SM2 key as `EVP_PKEY_SM2`.
pub(crate) fn read_sm2_key(path: &Path) -> Result<PKey<Private>, PkiError> {
    openssl_sm2::private_key_from_pem(&read(path)?)
        .map_err(|e| PkiError::Parse { path: path.to_owned(), message: e.to_string() })
}
