//! The `phalanx` command-line program.
fn main() {}
