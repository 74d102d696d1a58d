//! Integration tests of the simulator crate: trace readers and the `phalanx` binary.

mod cli;
mod openb;
mod traces;
