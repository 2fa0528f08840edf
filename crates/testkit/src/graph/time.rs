//! Graph's time formats and time zones.
//!
//! `dateTimeTimeZone.dateTime` has no offset and seven fractional digits
//! (`2017-04-15T11:00:00.0000000`); DateTimeOffset values are UTC with `Z` and seven digits
//! [EVC]. `timeZone` takes Windows names and IANA names [DTZ]; the Windows names the
//! emulator knows are mapped to IANA zones below (CLDR windowsZones, territory "001").

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::GraphError;

/// `2017-04-15T03:00:50.7579581Z`.
pub fn offset_string(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

/// `2017-04-15T11:00:00.0000000` (no offset).
pub fn local_string(t: NaiveDateTime) -> String {
    format!(
        "{}.{:07}",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.and_utc().timestamp_subsec_nanos() / 100
    )
}

/// Error dates in `innerError` have no fraction and no zone (`2019-09-20T21:47:50`) [ERR].
pub fn error_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("Coordinated Universal Time", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("India Standard Time", "Asia/Calcutta"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
];

/// The zone a Graph `timeZone` value names.
pub fn parse_zone(name: &str) -> Result<Tz, GraphError> {
    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
    {
        if let Ok(tz) = iana.parse::<Tz>() {
            return Ok(tz);
        }
    }
    name.parse::<Tz>().map_err(|_| {
        // The live service's answer to an unknown zone [obs].
        GraphError::bad_request(
            "TimeZoneNotSupportedException",
            format!(
                "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
            ),
        )
    })
}

/// A local wall time in `tz` as an instant; a time skipped by DST moves forward an hour,
/// an ambiguous one takes the earlier instant.
pub fn to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let later = local + chrono::Duration::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                LocalResult::None => later.and_utc(),
            }
        }
    }
}

/// Parses `dateTime` as Graph accepts it: with or without fraction; an offset inside the
/// value is converted into the given zone.
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// A calendarView window bound: an offset is honoured, no offset means UTC [CV].
pub fn parse_window_bound(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    parse_local(s).map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_strings_have_seven_fractional_digits_and_z() {
        let t = DateTime::parse_from_rfc3339("2017-04-15T03:00:50.7579581Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(offset_string(t), "2017-04-15T03:00:50.7579581Z");
    }

    #[test]
    fn windows_and_iana_zone_names_both_resolve_and_unknown_ones_are_rejected() {
        assert_eq!(
            parse_zone("Pacific Standard Time").unwrap(),
            chrono_tz::America::Los_Angeles
        );
        assert_eq!(
            parse_zone("Europe/Paris").unwrap(),
            chrono_tz::Europe::Paris
        );
        let e = parse_zone("Mars/Olympus").unwrap_err();
        assert_eq!(e.code, "TimeZoneNotSupportedException");
    }

    #[test]
    fn a_window_bound_without_offset_is_utc_and_an_offset_is_honoured() {
        assert_eq!(
            parse_window_bound("2026-01-01T10:00:00").unwrap(),
            parse_window_bound("2026-01-01T10:00:00Z").unwrap()
        );
        assert_eq!(
            parse_window_bound("2026-01-01T10:00:00+02:00").unwrap(),
            parse_window_bound("2026-01-01T08:00:00Z").unwrap()
        );
    }
}
