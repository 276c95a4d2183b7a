//! Timestamps as the fediverse writes them.
//!
//! Starling stores times as milliseconds since the Unix epoch (UTC). Mastodon's
//! client API and ActivityPub documents both want ISO 8601 in UTC; Mastodon's
//! entities use millisecond precision (`2026-11-28T16:57:48.000Z`).

/// Formats milliseconds since the Unix epoch as ISO 8601 UTC with milliseconds,
/// as Mastodon's `created_at` fields are written.
///
/// ```
/// assert_eq!(starling_protocol::datetime::iso8601_millis(0), "1970-01-01T00:00:00.000Z");
/// assert_eq!(
///     starling_protocol::datetime::iso8601_millis(1_795_885_068_123),
///     "2026-11-28T16:57:48.123Z"
/// );
/// ```
pub fn iso8601_millis(unix_ms: i64) -> String {
    let (date, secs_of_day, ms) = split(unix_ms);
    format!("{date}T{}.{ms:03}Z", hms(secs_of_day))
}

/// Formats milliseconds since the Unix epoch as ISO 8601 UTC in whole seconds,
/// as Mastodon writes `published` in ActivityPub documents.
///
/// ```
/// assert_eq!(
///     starling_protocol::datetime::iso8601_seconds(1_795_885_068_999),
///     "2026-11-28T16:57:48Z"
/// );
/// ```
pub fn iso8601_seconds(unix_ms: i64) -> String {
    let (date, secs_of_day, _) = split(unix_ms);
    format!("{date}T{}Z", hms(secs_of_day))
}

/// Formats milliseconds since the Unix epoch as a calendar date (`YYYY-MM-DD`).
pub fn date(unix_ms: i64) -> String {
    split(unix_ms).0
}

/// Parses an ISO 8601 / RFC 3339 timestamp as ActivityPub servers write
/// `published` (`2026-11-28T16:57:48Z`, with optional fractional seconds and
/// a `Z` or `±HH:MM` offset) into milliseconds since the Unix epoch (UTC).
/// None for anything else.
///
/// ```
/// use starling_protocol::datetime::parse_iso8601;
/// assert_eq!(parse_iso8601("2026-11-28T16:57:48Z"), Some(1_795_885_068_000));
/// assert_eq!(parse_iso8601("2026-11-28T16:57:48.123Z"), Some(1_795_885_068_123));
/// assert_eq!(parse_iso8601("2026-11-28T18:57:48+02:00"), Some(1_795_885_068_000));
/// assert_eq!(parse_iso8601("yesterday"), None);
/// ```
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut ymd = date.splitn(3, '-');
    let year: i64 = digits(ymd.next()?, 4)?;
    let month: i64 = digits(ymd.next()?, 2)?;
    let day: i64 = digits(ymd.next()?, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // The offset starts at `Z` or the first sign after the time.
    let (time, offset_ms) = if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        (time, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (time, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        let (h, m): (i64, i64) = (digits(h, 2)?, digits(m, 2)?);
        (time, sign * (h * 3600 + m * 60) * 1000)
    };
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, fraction),
        None => (time, ""),
    };
    let mut hms = clock.splitn(3, ':');
    let h: i64 = digits(hms.next()?, 2)?;
    let m: i64 = digits(hms.next()?, 2)?;
    let s: i64 = digits(hms.next()?, 2)?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let ms = if fraction.is_empty() {
        0
    } else {
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        format!("{fraction:0<3}")[..3].parse::<i64>().ok()?
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + h * 3600 + m * 60 + s) * 1000 + ms - offset_ms)
}

/// Exactly `len` ASCII digits as a number.
fn digits(text: &str, len: usize) -> Option<i64> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Howard Hinnant's `days_from_civil`: a proleptic Gregorian date to days
/// since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn hms(secs_of_day: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

fn split(unix_ms: i64) -> (String, i64, i64) {
    let ms = unix_ms.rem_euclid(1000);
    let secs = unix_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let secs_of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (format!("{y:04}-{m:02}-{d:02}"), secs_of_day, ms)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_days_and_year_ends() {
        // 2024-02-29T23:59:59.999Z
        assert_eq!(
            iso8601_millis(1_709_251_199_999),
            "2024-02-29T23:59:59.999Z"
        );
        // 2000-12-31T00:00:00Z
        assert_eq!(iso8601_seconds(978_220_800_000), "2000-12-31T00:00:00Z");
        assert_eq!(date(-1), "1969-12-31");
    }

    #[test]
    fn parsing_inverts_formatting() {
        for ms in [
            0,
            1_709_251_199_999,
            978_220_800_000,
            -86_400_000,
            4_102_444_800_000,
        ] {
            assert_eq!(parse_iso8601(&iso8601_millis(ms)), Some(ms));
        }
        assert_eq!(parse_iso8601("1970-01-01T00:00:00-00:30"), Some(1_800_000));
        assert_eq!(
            parse_iso8601("2024-02-29T23:59:59.5Z"),
            Some(1_709_251_199_500)
        );
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-02-29",
            "2024-02-29T24:00:00Z",
            "2024-02-29T10:00:00",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
