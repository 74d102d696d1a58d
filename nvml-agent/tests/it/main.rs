//! Integration tests of `phalanx-agent`: through the real `nvml-wrapper` code path against a stub NVML
//! library, through `--fake`, and through the built binary.

mod controller;
mod fake;
mod health;
mod inventory;
mod metrics;
mod no_nvml;
mod support;
