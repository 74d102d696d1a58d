//! Calendar and floating-point helpers that give the same bits on every platform.
//!
//! `f64::ln` and `f64::powf` call the platform's maths library, whose last bit may differ between systems;
//! the generator must not. These use only `+ - * /` on `f64` (correctly rounded by IEEE 754, and Rust never
//! fuses them), so a seed gives the same workload everywhere.

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

const LN_2: f64 = std::f64::consts::LN_2;

/// `2^k` for `-1022 <= k <= 1023`, built from its bits.
fn pow2(k: i64) -> f64 {
    let k = k.clamp(-1022, 1023);
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// The natural logarithm of a positive, finite, normal `x` (anything else gives `NaN`), accurate to a few ulp.
pub(crate) fn ln(x: f64) -> f64 {
    if !(x.is_finite() && x.is_normal() && x > 0.0) {
        return f64::NAN;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 40.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// `e^x` for `|x| <= 700`, accurate to a few ulp (outside that range the result saturates).
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let x = x.clamp(-700.0, 700.0);
    // Cody and Waite's reduction: ln 2 in two parts, the first with trailing zero bits so `k * LN2_HI` is exact.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1; // bits 0x3fe62e42fee00000
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // bits 0x3dea39ef35793c76
    let k = (x / LN_2).round();
    let r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= ln2 / 2
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 1.0;
    while n < 24.0 {
        term *= r / n;
        sum += term;
        n += 1.0;
    }
    sum * pow2(k as i64)
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

    #[test]
    fn ln_and_exp_match_the_library_closely() {
        for &x in &[
            1e-300, 1e-9, 0.001, 0.5, 0.999_999, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1.0),
                "ln({x}) = {a}, library {b}"
            );
        }
        for &x in &[-700.0, -20.0, -1.0, 0.0, 0.3, 1.0, 2.5, 9.21, 100.0, 700.0] {
            let (a, b) = (exp(x), f64::exp(x));
            assert!((a - b).abs() <= 8.0 * f64::EPSILON * b, "exp({x}) = {a}, library {b}");
        }
        assert!(ln(0.0).is_nan() && ln(-1.0).is_nan() && ln(f64::INFINITY).is_nan());
    }
}
