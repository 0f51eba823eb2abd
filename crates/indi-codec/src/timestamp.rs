//! INDI timestamps: `YYYY-MM-DDTHH:MM:SS[.fff]`, UTC, no zone suffix.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The current time as an INDI timestamp.
pub fn now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format_timestamp(now.as_millis() as i64)
}

/// Formats milliseconds since the Unix epoch; the fraction is written only when non-zero.
pub fn format_timestamp(epoch_ms: i64) -> String {
    let (days, ms_of_day) = (epoch_ms.div_euclid(86_400_000), epoch_ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let (hour, minute, second, ms) = (secs / 3600, secs / 60 % 60, secs % 60, ms_of_day % 1000);
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if ms != 0 {
        out += &format!(".{ms:03}");
    }
    out
}

fn fixed_digits(text: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|v| range.contains(v))
}

/// Parses a timestamp as peers write it: `T` or space between date and time, seconds and
/// fraction optional, optional trailing `Z`. Returns milliseconds since the Unix epoch.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once(['T', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year = fixed_digits(date_parts.next()?, 0..=9999)?;
    let month = fixed_digits(date_parts.next()?, 1..=12)?;
    let day = fixed_digits(date_parts.next()?, 1..=31)?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut clock_parts = clock.split(':');
    let hour = fixed_digits(clock_parts.next()?, 0..=23)?;
    let minute = fixed_digits(clock_parts.next()?, 0..=59)?;
    let second = match clock_parts.next() {
        Some(s) => fixed_digits(s, 0..=60)?,
        None => 0,
    };
    if clock_parts.next().is_some() {
        return None;
    }
    let fraction_ms = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => format!("0.{f}").parse::<f64>().ok()? * 1000.0,
        Some(_) => return None,
        None => 0.0,
    };
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return None; // 31 February and friends
    }
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds as f64 * 1000.0 + fraction_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00");
        assert_eq!(format_timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123");
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.123"), Some(1_700_000_000_123.0));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20Z"), Some(1_700_000_000_000.0));
        assert_eq!(parse_timestamp("2024-01-02T03:04"), Some(1_704_164_640_000.0));
        assert_eq!(parse_timestamp("2024-01-02T03:04:05.5Z"), Some(1_704_164_645_500.0));
        for bad in ["junk", "2024-02-30T00:00:00", "2024-01-02", "2024-01-02T25:00:00", "2024-01-02T03:04:05."] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trip_over_many_days() {
        for ms in (-5_000_000_000_000i64..5_000_000_000_000).step_by(7_777_777_777) {
            assert_eq!(parse_timestamp(&format_timestamp(ms)), Some(ms as f64));
        }
    }
}
