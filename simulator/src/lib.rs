//! # phalanx-sim
//!
//! Drivers of the scheduling core over recorded data: trace readers (each turning a public trace format
//! into the core's node and job models, with errors that name the file, line and field) and the
//! experiments behind the `phalanx` command-line program.

pub mod csv;
pub mod openb;
pub mod pack;
pub mod place;
