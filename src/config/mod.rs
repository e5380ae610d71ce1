//! Server configuration.
pub mod dto;
