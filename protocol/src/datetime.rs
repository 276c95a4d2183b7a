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
}
