//! A small strict CSV reader for trace files: columns by header name, errors that name the file, the
//! line and the field, and say what was expected.
//!
//! Trace files are plain comma-separated values without quoting; a quote character is an error, not
//! something silently mangled.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with a trace file, located to the file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("{path}: the file is empty; expected a header line with columns {expected}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// The columns that were expected.
        expected: String,
    },
    /// A required column is not in the header.
    #[error("{path}:1: missing column `{column}`; expected columns {expected}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// All required columns.
        expected: String,
    },
    /// A row has the wrong number of fields.
    #[error("{path}:{line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A field's value is not of the expected form.
    #[error("{path}:{line}: field `{column}`: expected {expected}, found `{value}`")]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The column's header name.
        column: String,
        /// What was expected.
        expected: String,
        /// What was there.
        value: String,
    },
    /// The file has a header but no rows.
    #[error("{path}: no data rows after the header")]
    NoRows {
        /// The file.
        path: PathBuf,
    },
}

/// One data row, with access to fields by column and located errors.
pub struct Row<'a> {
    path: &'a Path,
    line: usize,
    fields: Vec<&'a str>,
    header: &'a [String],
}

impl<'a> Row<'a> {
    /// The 1-based line number.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The raw text of column `col` (trimmed).
    pub fn str(&self, col: usize) -> &'a str {
        self.fields[col].trim()
    }

    /// An error about column `col` of this row.
    pub fn error(&self, col: usize, expected: impl fmt::Display) -> TraceError {
        TraceError::Field {
            path: self.path.to_owned(),
            line: self.line,
            column: self.header[col].clone(),
            expected: expected.to_string(),
            value: self.fields[col].to_owned(),
        }
    }

    /// Column `col` as a non-negative integer.
    pub fn u64(&self, col: usize) -> Result<u64, TraceError> {
        self.str(col)
            .parse()
            .map_err(|_| self.error(col, "a non-negative integer"))
    }

    /// Column `col` as a non-negative integer, or `None` if empty.
    pub fn opt_u64(&self, col: usize) -> Result<Option<u64>, TraceError> {
        if self.str(col).is_empty() {
            return Ok(None);
        }
        self.u64(col).map(Some)
    }

    /// Column `col` as a signed integer.
    pub fn i64(&self, col: usize) -> Result<i64, TraceError> {
        self.str(col).parse().map_err(|_| self.error(col, "an integer"))
    }

    /// Column `col` as a finite decimal number.
    pub fn f64(&self, col: usize) -> Result<f64, TraceError> {
        self.str(col)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.error(col, "a decimal number"))
    }
}

/// A parsed CSV file: its header and lines, read whole.
pub struct Csv {
    path: PathBuf,
    text: String,
    header: Vec<String>,
}

impl Csv {
    /// Reads `path` and its header.
    pub fn open(path: &Path, required: &[&str]) -> Result<Csv, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
            path: path.to_owned(),
            source,
        })?;
        Csv::from_text(path, text, required)
    }

    /// Parses `text` as if read from `path`.
    pub fn from_text(path: &Path, text: String, required: &[&str]) -> Result<Csv, TraceError> {
        let expected = required.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let Some(first) = text.lines().next().filter(|l| !l.trim().is_empty()) else {
            return Err(TraceError::Empty {
                path: path.to_owned(),
                expected,
            });
        };
        let header: Vec<String> = first
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|h| h.trim().to_owned())
            .collect();
        for col in required {
            if !header.iter().any(|h| h == col) {
                return Err(TraceError::MissingColumn {
                    path: path.to_owned(),
                    column: (*col).to_owned(),
                    expected,
                });
            }
        }
        Ok(Csv {
            path: path.to_owned(),
            text,
            header,
        })
    }

    /// The index of column `name` (which must have been required).
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .expect("column was checked at open")
    }

    /// The index of column `name` if present.
    pub fn opt_col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `f` on every data row (blank lines skipped); stops at the first error.
    pub fn rows<T>(&self, mut f: impl FnMut(&Row<'_>) -> Result<T, TraceError>) -> Result<Vec<T>, TraceError> {
        let mut out = Vec::new();
        for (i, line) in self.text.lines().enumerate().skip(1) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            let row = Row {
                path: &self.path,
                line: i + 1,
                fields,
                header: &self.header,
            };
            if row.fields.len() != self.header.len() {
                return Err(TraceError::FieldCount {
                    path: self.path.clone(),
                    line: i + 1,
                    expected: self.header.len(),
                    found: row.fields.len(),
                });
            }
            if let Some(col) = row.fields.iter().position(|f| f.contains('"')) {
                return Err(row.error(col, "a plain value (quoted fields are not supported)"));
            }
            out.push(f(&row)?);
        }
        if out.is_empty() {
            return Err(TraceError::NoRows {
                path: self.path.clone(),
            });
        }
        Ok(out)
    }
}
