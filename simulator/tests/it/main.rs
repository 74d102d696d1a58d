//! Integration tests of the simulator crate: trace readers, the engine, experiments, packing and the
//! `phalanx` binary.

mod cli;
mod engine;
mod helios;
mod openb;
mod pack_cli;
mod pack_fidelity;
mod traces;

use std::path::PathBuf;

/// A file of the repository's `traces/` folder.
pub fn trace(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces").join(path)
}
