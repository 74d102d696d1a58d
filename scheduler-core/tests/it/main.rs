//! Integration tests of the scheduling core: scenarios with snapshot decision logs, and invariants.

mod invariants;
mod scenarios;
