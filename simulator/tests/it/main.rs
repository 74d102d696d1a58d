//! Integration tests of the simulator crate.

mod pack_cli;
mod pack_fidelity;

use std::path::PathBuf;

/// A file of the repository's `traces/` folder.
pub fn trace(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces").join(path)
}
