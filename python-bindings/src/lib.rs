//! `phalanx._native`: the private native module behind the `phalanx` Python package.
//!
//! Thin bindings over `phalanx-core` and `phalanx-sim`: each function extracts its arguments, releases the
//! GIL around the simulator, and converts the result (tables as Arrow record batches). Errors cross through
//! one bridge (`error.rs`). No scheduling logic lives here; the Python-facing API, its defaults and its
//! pandas conversions are in `python/phalanx/`.

mod arrow;
mod error;
mod pack;
mod policy;
mod sim;
mod trace;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<trace::Trace>()?;
    m.add_class::<trace::Cluster>()?;
    m.add_class::<arrow::Batch>()?;
    m.add_class::<sim::Run>()?;
    m.add_class::<sim::Session>()?;
    m.add_class::<policy::JobInfo>()?;
    m.add_class::<policy::DemandInfo>()?;
    m.add_class::<policy::NodeInfo>()?;
    m.add_function(wrap_pyfunction!(sim::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(sim::compare, m)?)?;
    m.add_function(wrap_pyfunction!(trace::read_trace, m)?)?;
    m.add_function(wrap_pyfunction!(pack::pack, m)?)?;
    Ok(())
}
