//! Calendar helpers.

/// Days from 1970-01-01 to the given proleptic Gregorian date (negative before 1970).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Days in `month` of `year` (proleptic Gregorian).
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses `YYYY-mm-dd HH:MM:SS` (UTC, no leap seconds, year 1970 or later) to seconds since the Unix epoch.
pub(crate) fn parse_utc_timestamp(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    // Byte-wise, so multi-byte characters are rejected rather than sliced through.
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let year = i64::from(year);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(days * 86_400 + u64::from(hour) * 3600 + u64::from(minute) * 60 + u64::from(second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_utc_timestamp("2017-10-01 00:00:00"), Some(1_506_816_000));
        assert_eq!(parse_utc_timestamp("2016-02-29 23:59:59"), Some(1_456_790_399));
        assert_eq!(parse_utc_timestamp("2017-02-29 00:00:00"), None);
        assert_eq!(parse_utc_timestamp("2017-1-01 00:00:00"), None);
        assert_eq!(parse_utc_timestamp("2017-10-01T00:00:00"), None);
        assert_eq!(parse_utc_timestamp("2017-10-01 24:00:00"), None);
        assert_eq!(parse_utc_timestamp("1969-12-31 23:59:59"), None);
        assert_eq!(parse_utc_timestamp("２0-10-01 00:00:00"), None);
    }
}
