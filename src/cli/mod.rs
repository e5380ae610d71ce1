//! Subcommands that need more than a few lines.
pub mod anchors;
pub mod audit;
pub mod demo;
pub mod dev;

pub(crate) use super::{EXIT_PROBLEMS, EXIT_USAGE, now, print_errors};
