//! Expanding a canonical series into its occurrences, the way Odoo materialises them.
//!
//! Odoo stores every occurrence as its own `calendar.event` row, computed in the series'
//! zone (`event_tz`) so that 09:00 stays 09:00 across DST (python-dateutil, `WKST=MO`,
//! at most [`COUNT_MAX`] rows). Graph expands its series itself and labels each instance
//! with `originalStart`. The engine links occurrences by (series, original start); for
//! Odoo rows that do not follow the rule any more (`follow_recurrence = false`, original
//! start not stored), the expected starts from [`occurrences`] are what is left to match.
//!
//! Expansion uses the `rrule` crate (RFC 5545) with the series zone; exdates (local
//! dates) are skipped.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::{Event, When};
use crate::error::MapError;
use crate::rrule::{RecurrenceEnd, RuleError, COUNT_MAX};

/// One expected occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The start the rule gives it (the key of the occurrence within its series).
    pub original_start: DateTime<Utc>,
    /// Its time span (same length as the series' first occurrence).
    pub when: When,
}

/// The occurrences of `event`'s series that start in `[from, to)`, in order. A single
/// event yields itself if it starts in the window.
pub fn occurrences(
    event: &Event,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Occurrence>, MapError> {
    let (first_start, first) = match event.when {
        When::Timed { start, .. } => (start, event.when),
        When::AllDay { start, .. } => (start.and_time(NaiveTime::MIN).and_utc(), event.when),
    };
    let Some(recurrence) = &event.recurrence else {
        let single = Occurrence {
            original_start: first_start,
            when: first,
        };
        return Ok(if first_start >= from && first_start < to {
            vec![single]
        } else {
            vec![]
        });
    };
    let all_day = matches!(event.when, When::AllDay { .. });
    let zone: chrono_tz::Tz = if all_day {
        chrono_tz::UTC
    } else {
        event
            .time_zone
            .as_deref()
            .and_then(crate::tz::parse)
            .unwrap_or(chrono_tz::UTC)
    };
    let rrule_zone: rrule::Tz = zone.into();
    let dt_start = first_start.with_timezone(&rrule_zone);

    // The canonical text minus its end, then an end the crate accepts: UNTIL as the last
    // second of the local until-date, in UTC (RFC 5545 wants UTC with a zoned DTSTART).
    let mut rule = recurrence.rule.clone();
    let end = rule.end;
    rule.end = RecurrenceEnd::Never;
    let mut text = rule.to_string();
    match end {
        RecurrenceEnd::Never => {}
        RecurrenceEnd::Count(n) => text.push_str(&format!(";COUNT={}", n.min(COUNT_MAX))),
        RecurrenceEnd::Until(date) => {
            let last = date.and_hms_opt(23, 59, 59).unwrap_or_default();
            let until = crate::graph::local_to_utc(zone, last);
            text.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
        }
    }
    let unsupported =
        |e: rrule::RRuleError| MapError::Rule(RuleError::Unsupported(format!("{text}: {e}")));
    let parsed: rrule::RRule<rrule::Unvalidated> = text.parse().map_err(unsupported)?;
    let validated = parsed.validate(dt_start).map_err(unsupported)?;
    let limit = u16::try_from(COUNT_MAX).unwrap_or(u16::MAX);
    let starts = rrule::RRuleSet::new(dt_start)
        .rrule(validated)
        .all(limit)
        .dates;

    let mut out = Vec::new();
    for start in starts {
        let start = start.with_timezone(&Utc);
        let local_date = start.with_timezone(&zone).date_naive();
        if recurrence.exdates.contains(&local_date) || start < from || start >= to {
            continue;
        }
        let when = match first {
            When::Timed { start: s, end: e } => When::Timed {
                start,
                end: start + (e - s),
            },
            When::AllDay { start: s, end: e } => When::AllDay {
                start: local_date,
                end: local_date + Duration::days((e - s).num_days()),
            },
        };
        out.push(Occurrence {
            original_start: start,
            when,
        });
    }
    Ok(out)
}

/// Midnight UTC of a date, for windows given in dates.
pub fn day_start(date: chrono::NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Recurrence;
    use crate::rrule::Rule;
    use chrono::NaiveDate;
    use std::collections::BTreeSet;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn series(start: DateTime<Utc>, rule: &str, zone: &str, exdates: &[NaiveDate]) -> Event {
        let mut e = Event::timed("Series", start, start + Duration::hours(1));
        e.time_zone = Some(zone.to_owned());
        e.recurrence = Some(Recurrence {
            rule: Rule::parse(rule).unwrap(),
            exdates: exdates.iter().copied().collect::<BTreeSet<_>>(),
        });
        e.normalized()
    }

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        (day_start(d(2026, 1, 1)), day_start(d(2028, 1, 1)))
    }

    #[test]
    fn a_weekly_series_keeps_its_local_time_across_the_dst_change() {
        // Tuesdays 09:00 Berlin: 08:00 UTC in winter, 07:00 UTC from 29 March.
        let start = Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap();
        let e = series(
            start,
            "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
            "W. Europe Standard Time",
            &[],
        );
        let (from, to) = window();
        let got: Vec<DateTime<Utc>> = occurrences(&e, from, to)
            .unwrap()
            .iter()
            .map(|o| o.original_start)
            .collect();
        assert_eq!(
            got,
            [
                Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 24, 8, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 31, 7, 0, 0).unwrap(),
            ]
        );
        let o = occurrences(&e, from, to).unwrap();
        assert!(
            matches!(o[2].when, When::Timed { start, end } if end - start == Duration::hours(1))
        );
    }

    #[test]
    fn relative_monthly_rules_pick_the_positioned_weekday() {
        // The last Friday of each month, 10:00 UTC.
        let start = Utc.with_ymd_and_hms(2026, 1, 30, 10, 0, 0).unwrap();
        let e = series(
            start,
            "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=3",
            "UTC",
            &[],
        );
        let (from, to) = window();
        let dates: Vec<NaiveDate> = occurrences(&e, from, to)
            .unwrap()
            .iter()
            .map(|o| o.original_start.date_naive())
            .collect();
        assert_eq!(dates, [d(2026, 1, 30), d(2026, 2, 27), d(2026, 3, 27)]);
        // The first weekend day of the month.
        let start = Utc.with_ymd_and_hms(2026, 2, 1, 10, 0, 0).unwrap();
        let e = series(
            start,
            "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1;COUNT=3",
            "UTC",
            &[],
        );
        let dates: Vec<NaiveDate> = occurrences(&e, from, to)
            .unwrap()
            .iter()
            .map(|o| o.original_start.date_naive())
            .collect();
        assert_eq!(dates, [d(2026, 2, 1), d(2026, 3, 1), d(2026, 4, 4)]);
    }

    #[test]
    fn exdates_are_skipped_and_until_is_an_inclusive_local_date() {
        // Daily at 23:30 Berlin (22:30 UTC) until 20 March inclusive, 18 March cancelled.
        let start = Utc.with_ymd_and_hms(2026, 3, 16, 22, 30, 0).unwrap();
        let e = series(
            start,
            "FREQ=DAILY;UNTIL=20260320",
            "Europe/Berlin",
            &[d(2026, 3, 18)],
        );
        let (from, to) = window();
        let local: Vec<NaiveDate> = occurrences(&e, from, to)
            .unwrap()
            .iter()
            .map(|o| {
                o.original_start
                    .with_timezone(&chrono_tz::Europe::Berlin)
                    .date_naive()
            })
            .collect();
        assert_eq!(
            local,
            [
                d(2026, 3, 16),
                d(2026, 3, 17),
                d(2026, 3, 19),
                d(2026, 3, 20)
            ]
        );
    }

    #[test]
    fn an_endless_series_stops_at_odoos_cap_and_the_window_applies() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        let e = series(start, "FREQ=DAILY", "UTC", &[]);
        let all = occurrences(&e, start, start + Duration::days(10_000)).unwrap();
        assert_eq!(all.len(), COUNT_MAX as usize);
        let week = occurrences(&e, start, start + Duration::days(7)).unwrap();
        assert_eq!(week.len(), 7);
    }

    #[test]
    fn an_all_day_yearly_series_expands_to_dates() {
        let t = Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap();
        let mut e = Event::timed("Birthday", t, t);
        e.when = When::AllDay {
            start: d(2026, 2, 28),
            end: d(2026, 3, 1),
        };
        e.recurrence = Some(Recurrence {
            rule: Rule::parse("FREQ=YEARLY;COUNT=3").unwrap(),
            exdates: BTreeSet::new(),
        });
        let e = e.normalized();
        let (from, to) = (day_start(d(2026, 1, 1)), day_start(d(2030, 1, 1)));
        let whens: Vec<When> = occurrences(&e, from, to)
            .unwrap()
            .iter()
            .map(|o| o.when)
            .collect();
        assert_eq!(
            whens,
            [
                When::AllDay {
                    start: d(2026, 2, 28),
                    end: d(2026, 3, 1)
                },
                When::AllDay {
                    start: d(2027, 2, 28),
                    end: d(2027, 3, 1)
                },
                When::AllDay {
                    start: d(2028, 2, 28),
                    end: d(2028, 2, 29)
                },
            ]
        );
    }

    #[test]
    fn a_single_event_is_its_own_occurrence_inside_the_window_only() {
        let start = Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap();
        let e = Event::timed("One", start, start + Duration::hours(1)).normalized();
        assert_eq!(
            occurrences(&e, start, start + Duration::hours(1))
                .unwrap()
                .len(),
            1
        );
        assert!(
            occurrences(&e, start + Duration::seconds(1), start + Duration::days(1))
                .unwrap()
                .is_empty()
        );
    }
}
