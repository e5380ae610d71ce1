//! Subcommands that need more than a few lines.
mod admin;
pub mod anchors;
pub mod audit;
pub mod demo;
pub mod dev;
pub mod health;

pub(crate) use super::{EXIT_PROBLEMS, EXIT_USAGE, now, print_errors};
