//! # phalanx-sim
//!
//! Drivers of the scheduling core over recorded data: trace readers (each turning a public trace format
//! into the core's node and job models, with errors that name the file, line and field) and the
//! experiments behind the `phalanx` command-line program.

pub mod cli;
pub mod csv;
pub mod engine;
pub mod events;
pub mod experiment;
mod memory;
pub mod metrics;
pub mod openb;
pub mod pack;
pub mod place;
pub mod plot;
pub mod session;
pub mod trace;
pub mod workload;
