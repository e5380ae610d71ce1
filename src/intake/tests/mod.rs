//! Intake's tests: each rule of DESIGN §2 with the exact error it yields.

mod claims;
mod fixtures;
mod json;
mod presented;
