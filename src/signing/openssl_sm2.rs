//! SM2 through OpenSSL 3.0, with the distinguishing ID set explicitly.
#![allow(unsafe_code)]
