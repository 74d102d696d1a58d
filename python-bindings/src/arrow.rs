//! Results cross to Python as Arrow record batches, through the Arrow PyCapsule interface
//! (`__arrow_c_array__`): `pyarrow.record_batch(batch).to_pandas()` takes the columns without a Python loop
//! and without copying the numeric buffers twice.

use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{Array, ArrayRef, Float64Array, StringArray, StructArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Fields};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

/// Named columns of equal length, built in Rust.
#[derive(Default)]
pub struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    fn push(mut self, name: &str, array: ArrayRef) -> Columns {
        self.fields
            .push(Field::new(name, array.data_type().clone(), array.null_count() > 0));
        self.arrays.push(array);
        self
    }

    /// An unsigned 64-bit column.
    pub fn u64(self, name: &str, values: Vec<u64>) -> Columns {
        self.push(name, Arc::new(UInt64Array::from(values)))
    }

    /// An unsigned 32-bit column.
    pub fn u32(self, name: &str, values: Vec<u32>) -> Columns {
        self.push(name, Arc::new(UInt32Array::from(values)))
    }

    /// A float column.
    pub fn f64(self, name: &str, values: Vec<f64>) -> Columns {
        self.push(name, Arc::new(Float64Array::from(values)))
    }

    /// A float column with missing values.
    pub fn opt_f64(self, name: &str, values: Vec<Option<f64>>) -> Columns {
        self.push(name, Arc::new(Float64Array::from(values)))
    }

    /// A text column.
    pub fn str<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = S>) -> Columns {
        self.push(name, Arc::new(StringArray::from_iter_values(values)))
    }

    /// A text column with missing values.
    pub fn opt_str<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = Option<S>>) -> Columns {
        self.push(name, Arc::new(values.into_iter().collect::<StringArray>()))
    }

    /// The record batch.
    pub fn finish(self) -> Batch {
        let rows = self.arrays.first().map_or(0, |a| a.len());
        let array = StructArray::try_new_with_length(Fields::from(self.fields), self.arrays, None, rows)
            .expect("columns of equal length");
        Batch { array }
    }
}

/// A record batch that pyarrow (or any Arrow library) imports through `__arrow_c_array__`.
#[pyclass(module = "phalanx._native", frozen)]
pub struct Batch {
    array: StructArray,
}

#[pymethods]
impl Batch {
    /// Rows.
    fn __len__(&self) -> usize {
        self.array.len()
    }

    /// Column names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.array.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// The Arrow PyCapsule interface: (schema capsule, array capsule). A requested schema is not honoured
    /// (the batch has one schema).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        let field = Field::new("", DataType::Struct(self.array.fields().clone()), false);
        let schema = FFI_ArrowSchema::try_from(&field).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let array = FFI_ArrowArray::new(&self.array.to_data());
        let schema = PyCapsule::new_with_value(py, schema, c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, array, c"arrow_array")?;
        PyTuple::new(py, [schema, array])
    }
}
