//! The agent's log: one line per event on standard error, `2025-01-31T12:00:00.000Z WARN  message`.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where log lines go: standard error, or memory (for tests).
#[derive(Clone, Debug, Default)]
pub struct Log {
    memory: Option<Arc<Mutex<Vec<String>>>>,
}

impl Log {
    /// A log on standard error.
    pub fn stderr() -> Log {
        Log { memory: None }
    }

    /// A log kept in memory; read it with [`Log::lines`].
    pub fn memory() -> Log {
        Log {
            memory: Some(Arc::default()),
        }
    }

    /// The lines logged so far to a memory log (empty for standard error).
    pub fn lines(&self) -> Vec<String> {
        self.memory
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Logs at level INFO.
    pub fn info(&self, msg: impl Display) {
        self.line("INFO ", &msg);
    }

    /// Logs at level WARN.
    pub fn warn(&self, msg: impl Display) {
        self.line("WARN ", &msg);
    }

    /// Logs at level ERROR.
    pub fn error(&self, msg: impl Display) {
        self.line("ERROR", &msg);
    }

    fn line(&self, level: &str, msg: &dyn Display) {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = format!("{} {level} {msg}", rfc3339_ms(ms));
        match &self.memory {
            Some(m) => m.lock().unwrap_or_else(|p| p.into_inner()).push(line),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }
}

/// `unix_ms` as an RFC 3339 UTC timestamp with milliseconds.
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_memory_log_keeps_its_lines() {
        let log = Log::memory();
        log.warn("controller down");
        let lines = log.lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with("WARN  controller down"), "{}", lines[0]);
    }
}
