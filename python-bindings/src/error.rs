//! The one bridge from Phalanx's errors to Python exceptions.
//!
//! - a trace or cluster file that does not exist → `FileNotFoundError`; another read failure → `OSError`;
//! - a bad row, field, format, policy name or cluster → `ValueError`, whose message names the file, line
//!   and field (or the argument) and what was expected.

use std::io::ErrorKind;

use phalanx_sim::csv::TraceError;
use phalanx_sim::engine::ClusterError;
use phalanx_sim::experiment::ExperimentError;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::PyErr;

/// Any error the bindings raise.
pub enum Error {
    /// A trace or cluster file is bad or unreadable.
    Trace(TraceError),
    /// The scheduler refused a node.
    Cluster(ClusterError),
    /// A bad argument: the argument's name and what is wrong with it.
    Arg(String, String),
    /// An exception raised by the user's Python code (a policy function).
    Py(PyErr),
    /// Anything else (a `ValueError` with the message).
    Other(String),
}

/// A `ValueError` for argument `field`.
pub fn arg(field: &str, message: impl Into<String>) -> Error {
    Error::Arg(field.to_owned(), message.into())
}

impl From<TraceError> for Error {
    fn from(e: TraceError) -> Error {
        Error::Trace(e)
    }
}

impl From<ClusterError> for Error {
    fn from(e: ClusterError) -> Error {
        Error::Cluster(e)
    }
}

impl From<ExperimentError> for Error {
    fn from(e: ExperimentError) -> Error {
        match e {
            ExperimentError::Trace(e) => Error::Trace(e),
            ExperimentError::Cluster(e) => Error::Cluster(e),
            ExperimentError::Spec(e) => Error::Arg("spec".into(), e.to_string()),
            // These messages name the field first ("trace.vcs …", "cluster.gpu_model: …").
            ExperimentError::Invalid { message, .. } => Error::Other(message),
            e => Error::Other(e.to_string()),
        }
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Error {
        Error::Py(e)
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Trace(TraceError::Io { path, source }) => {
                let message = format!("{}: cannot read the file: {source}", path.display());
                if source.kind() == ErrorKind::NotFound {
                    PyFileNotFoundError::new_err(message)
                } else {
                    PyOSError::new_err(message)
                }
            }
            Error::Trace(e) => PyValueError::new_err(e.to_string()),
            Error::Cluster(e) => PyValueError::new_err(format!("cluster: {e}")),
            Error::Arg(field, message) => PyValueError::new_err(format!("{field}: {message}")),
            Error::Py(e) => e,
            Error::Other(message) => PyValueError::new_err(message),
        }
    }
}

/// The bindings' result type.
pub type Result<T> = std::result::Result<T, Error>;
