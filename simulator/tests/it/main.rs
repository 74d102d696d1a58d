//! Integration tests of the simulator crate: trace readers and the `phalanx` binary.

mod cli;
mod engine;
mod helios;
mod openb;
mod traces;
