//! `patternedRecurrence`: parsing with the documented required fields, the service's
//! zero-filled rendering, and expansion into occurrence dates [RP][RR].

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde_json::{json, Value};

use super::GraphError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternType {
    Daily,
    Weekly,
    AbsoluteMonthly,
    RelativeMonthly,
    AbsoluteYearly,
    RelativeYearly,
}

impl PatternType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "absoluteMonthly" => Self::AbsoluteMonthly,
            "relativeMonthly" => Self::RelativeMonthly,
            "absoluteYearly" => Self::AbsoluteYearly,
            "relativeYearly" => Self::RelativeYearly,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::AbsoluteMonthly => "absoluteMonthly",
            Self::RelativeMonthly => "relativeMonthly",
            Self::AbsoluteYearly => "absoluteYearly",
            Self::RelativeYearly => "relativeYearly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeType {
    EndDate,
    NoEnd,
    Numbered,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recurrence {
    pub kind: PatternType,
    pub interval: u32,
    pub days_of_week: Vec<Weekday>,
    pub day_of_month: u32,
    pub month: u32,
    pub first_day_of_week: Weekday,
    /// 0..=3 for first..fourth, 4 for last.
    pub index: u8,
    pub range: RangeType,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub number_of_occurrences: u32,
    pub time_zone: String,
}

const INDEXES: [&str; 5] = ["first", "second", "third", "fourth", "last"];

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "sunday" => Weekday::Sun,
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        _ => return None,
    })
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Sun => "sunday",
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
    }
}

fn invalid(msg: impl Into<String>) -> GraphError {
    GraphError::bad_request("ErrorInvalidRequest", msg)
}

fn int(v: &Value, name: &str) -> Result<u32, GraphError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(n) => n
            .as_u64()
            .map(|n| n as u32)
            .ok_or_else(|| invalid(format!("recurrence {name} must be a non-negative integer"))),
    }
}

impl Recurrence {
    /// Parses `patternedRecurrence`; `default_tz` is the event's start zone.
    pub fn parse(v: &Value, default_tz: &str) -> Result<Self, GraphError> {
        let pattern = v
            .get("pattern")
            .filter(|p| p.is_object())
            .ok_or_else(|| invalid("recurrence.pattern is required"))?;
        let range = v
            .get("range")
            .filter(|p| p.is_object())
            .ok_or_else(|| invalid("recurrence.range is required"))?;
        let kind = pattern
            .get("type")
            .and_then(Value::as_str)
            .and_then(PatternType::parse)
            .ok_or_else(|| invalid("recurrence.pattern.type is not a recurrencePatternType"))?;
        let interval = int(pattern, "interval")?;
        if interval == 0 {
            return Err(invalid("recurrence.pattern.interval must be at least 1"));
        }
        let mut days_of_week = Vec::new();
        if let Some(days) = pattern.get("daysOfWeek").and_then(Value::as_array) {
            for d in days {
                days_of_week.push(
                    d.as_str()
                        .and_then(weekday)
                        .ok_or_else(|| invalid("daysOfWeek holds an unknown dayOfWeek"))?,
                );
            }
        }
        let first_day_of_week = match pattern.get("firstDayOfWeek").and_then(Value::as_str) {
            None => Weekday::Sun,
            Some(s) => weekday(s).ok_or_else(|| invalid("firstDayOfWeek is not a dayOfWeek"))?,
        };
        let index = match pattern.get("index").and_then(Value::as_str) {
            None => 0,
            Some(s) => INDEXES
                .iter()
                .position(|i| *i == s)
                .ok_or_else(|| invalid("index is not a weekIndex"))? as u8,
        };
        let day_of_month = int(pattern, "dayOfMonth")?;
        let month = int(pattern, "month")?;
        // The fields each type requires [RP].
        let needs_days = matches!(
            kind,
            PatternType::Weekly | PatternType::RelativeMonthly | PatternType::RelativeYearly
        );
        if needs_days && days_of_week.is_empty() {
            return Err(invalid(format!(
                "{} recurrence requires daysOfWeek",
                kind.as_str()
            )));
        }
        if matches!(
            kind,
            PatternType::AbsoluteMonthly | PatternType::AbsoluteYearly
        ) && !(1..=31).contains(&day_of_month)
        {
            return Err(invalid(format!(
                "{} recurrence requires dayOfMonth 1-31",
                kind.as_str()
            )));
        }
        if matches!(
            kind,
            PatternType::AbsoluteYearly | PatternType::RelativeYearly
        ) && !(1..=12).contains(&month)
        {
            return Err(invalid(format!(
                "{} recurrence requires month 1-12",
                kind.as_str()
            )));
        }
        let range_kind = match range.get("type").and_then(Value::as_str) {
            Some("endDate") => RangeType::EndDate,
            Some("noEnd") => RangeType::NoEnd,
            Some("numbered") => RangeType::Numbered,
            _ => {
                return Err(invalid(
                    "recurrence.range.type is not a recurrenceRangeType",
                ))
            }
        };
        let date = |name: &str| -> Result<Option<NaiveDate>, GraphError> {
            match range.get(name).and_then(Value::as_str) {
                None | Some("0001-01-01") => Ok(None),
                Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| invalid(format!("range.{name} is not a Date"))),
            }
        };
        let start_date =
            date("startDate")?.ok_or_else(|| invalid("range.startDate is required"))?;
        let end_date = date("endDate")?;
        let number_of_occurrences = int(range, "numberOfOccurrences")?;
        match range_kind {
            RangeType::EndDate => match end_date {
                Some(e) if e >= start_date => {}
                _ => {
                    return Err(invalid(
                        "an endDate range requires endDate on or after startDate",
                    ))
                }
            },
            RangeType::Numbered if number_of_occurrences == 0 => {
                return Err(invalid("a numbered range requires numberOfOccurrences > 0"))
            }
            _ => {}
        }
        let time_zone = range
            .get("recurrenceTimeZone")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(default_tz)
            .to_string();
        Ok(Self {
            kind,
            interval,
            days_of_week,
            day_of_month,
            month,
            first_day_of_week,
            index,
            range: range_kind,
            start_date,
            end_date: if range_kind == RangeType::EndDate {
                end_date
            } else {
                None
            },
            number_of_occurrences: if range_kind == RangeType::Numbered {
                number_of_occurrences
            } else {
                0
            },
            time_zone,
        })
    }

    /// The service's shape: unused numbers are 0, `index` is `first`, `endDate` is
    /// `0001-01-01` when unused, `recurrenceTimeZone` filled in [EVC].
    pub fn to_json(&self) -> Value {
        json!({
            "pattern": {
                "type": self.kind.as_str(),
                "interval": self.interval,
                "month": self.month,
                "dayOfMonth": self.day_of_month,
                "daysOfWeek": self.days_of_week.iter().map(|d| weekday_name(*d)).collect::<Vec<_>>(),
                "firstDayOfWeek": weekday_name(self.first_day_of_week),
                "index": INDEXES[self.index as usize],
            },
            "range": {
                "type": match self.range {
                    RangeType::EndDate => "endDate",
                    RangeType::NoEnd => "noEnd",
                    RangeType::Numbered => "numbered",
                },
                "startDate": self.start_date.to_string(),
                "endDate": self.end_date.map(|d| d.to_string()).unwrap_or_else(|| "0001-01-01".into()),
                "recurrenceTimeZone": self.time_zone,
                "numberOfOccurrences": self.number_of_occurrences,
            }
        })
    }

    /// Occurrence dates in order, from `startDate` up to `until` (inclusive).
    pub fn dates_until(&self, until: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let last = match self.end_date {
            Some(e) => e.min(until),
            None => until,
        };
        let cap = match self.range {
            RangeType::Numbered => self.number_of_occurrences as usize,
            _ => usize::MAX,
        };
        let push = |d: NaiveDate, out: &mut Vec<NaiveDate>| -> bool {
            if d < self.start_date {
                return true;
            }
            if d > last || out.len() >= cap {
                return false;
            }
            out.push(d);
            true
        };
        let step = self.interval as i64;
        match self.kind {
            PatternType::Daily => {
                let mut d = self.start_date;
                while push(d, &mut out) {
                    d += Duration::days(step);
                }
            }
            PatternType::Weekly => {
                let back = (self.start_date.weekday().num_days_from_sunday() + 7
                    - self.first_day_of_week.num_days_from_sunday())
                    % 7;
                let mut week = self.start_date - Duration::days(back as i64);
                let mut offsets: Vec<i64> = self
                    .days_of_week
                    .iter()
                    .map(|d| {
                        ((d.num_days_from_sunday() + 7
                            - self.first_day_of_week.num_days_from_sunday())
                            % 7) as i64
                    })
                    .collect();
                offsets.sort_unstable();
                offsets.dedup();
                'weeks: loop {
                    for off in &offsets {
                        if !push(week + Duration::days(*off), &mut out) {
                            break 'weeks;
                        }
                    }
                    week += Duration::weeks(step);
                }
            }
            PatternType::AbsoluteMonthly | PatternType::RelativeMonthly => {
                let mut k = 0i64;
                loop {
                    let months = self.start_date.month0() as i64 + k * step;
                    let year = self.start_date.year() as i64 + months.div_euclid(12);
                    let month = months.rem_euclid(12) as u32 + 1;
                    let Some(first) = NaiveDate::from_ymd_opt(year as i32, month, 1) else {
                        break;
                    };
                    if first > last {
                        break;
                    }
                    if let Some(d) = self.day_in_month(year as i32, month) {
                        if !push(d, &mut out) {
                            break;
                        }
                    }
                    k += 1;
                }
            }
            PatternType::AbsoluteYearly | PatternType::RelativeYearly => {
                let mut year = self.start_date.year();
                while let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) {
                    if first > last {
                        break;
                    }
                    if let Some(d) = self.day_in_month(year, self.month) {
                        if !push(d, &mut out) {
                            break;
                        }
                    }
                    year += self.interval as i32;
                }
            }
        }
        out
    }

    /// The pattern's day in one month: `dayOfMonth` (clamped to the month's last day) for
    /// absolute types, the `index`-th matching weekday for relative ones.
    fn day_in_month(&self, year: i32, month: u32) -> Option<NaiveDate> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        let len = (next - first).num_days() as u32;
        match self.kind {
            PatternType::AbsoluteMonthly | PatternType::AbsoluteYearly => {
                NaiveDate::from_ymd_opt(year, month, self.day_of_month.min(len))
            }
            _ => {
                let matching: Vec<NaiveDate> = (0..len)
                    .map(|i| first + Duration::days(i as i64))
                    .filter(|d| self.days_of_week.contains(&d.weekday()))
                    .collect();
                if self.index == 4 {
                    matching.last().copied()
                } else {
                    matching.get(self.index as usize).copied()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: Value) -> Recurrence {
        Recurrence::parse(&v, "UTC").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_weekly_pattern_on_two_days_every_other_week_skips_the_off_weeks() {
        let r = rec(
            json!({"pattern":{"type":"weekly","interval":2,"daysOfWeek":["monday","thursday"],"firstDayOfWeek":"sunday"},
            "range":{"type":"numbered","startDate":"2026-01-05","numberOfOccurrences":4}}),
        );
        let got = r.dates_until(d("2027-01-01"));
        assert_eq!(
            got,
            vec![
                d("2026-01-05"),
                d("2026-01-08"),
                d("2026-01-19"),
                d("2026-01-22")
            ]
        );
    }

    #[test]
    fn relative_monthly_last_friday_and_absolute_monthly_day_31_clamps() {
        let r = rec(
            json!({"pattern":{"type":"relativeMonthly","interval":1,"daysOfWeek":["friday"],"index":"last"},
            "range":{"type":"endDate","startDate":"2026-01-01","endDate":"2026-03-31"}}),
        );
        assert_eq!(
            r.dates_until(d("2030-01-01")),
            vec![d("2026-01-30"), d("2026-02-27"), d("2026-03-27")]
        );
        let r = rec(
            json!({"pattern":{"type":"absoluteMonthly","interval":1,"dayOfMonth":31},
            "range":{"type":"numbered","startDate":"2026-01-31","numberOfOccurrences":3}}),
        );
        assert_eq!(
            r.dates_until(d("2030-01-01")),
            vec![d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]
        );
    }

    #[test]
    fn yearly_patterns_and_daily_no_end_stop_at_the_horizon() {
        let r = rec(
            json!({"pattern":{"type":"absoluteYearly","interval":1,"dayOfMonth":15,"month":6},
            "range":{"type":"noEnd","startDate":"2026-06-15"}}),
        );
        assert_eq!(r.dates_until(d("2028-12-31")).len(), 3);
        let r = rec(
            json!({"pattern":{"type":"relativeYearly","interval":1,"daysOfWeek":["thursday"],"index":"fourth","month":11},
            "range":{"type":"numbered","startDate":"2026-01-01","numberOfOccurrences":2}}),
        );
        assert_eq!(
            r.dates_until(d("2030-01-01")),
            vec![d("2026-11-26"), d("2027-11-25")]
        );
        let r = rec(
            json!({"pattern":{"type":"daily","interval":3},"range":{"type":"noEnd","startDate":"2026-01-01"}}),
        );
        assert_eq!(
            r.dates_until(d("2026-01-10")),
            vec![
                d("2026-01-01"),
                d("2026-01-04"),
                d("2026-01-07"),
                d("2026-01-10")
            ]
        );
    }

    #[test]
    fn missing_required_fields_are_rejected_and_rendering_zero_fills() {
        let e = Recurrence::parse(
            &json!({"pattern":{"type":"weekly","interval":1},"range":{"type":"noEnd","startDate":"2026-01-01"}}),
            "UTC",
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        let r = rec(
            json!({"pattern":{"type":"daily","interval":1},"range":{"type":"noEnd","startDate":"2026-01-01"}}),
        );
        let v = r.to_json();
        assert_eq!(v["pattern"]["month"], 0);
        assert_eq!(v["pattern"]["index"], "first");
        assert_eq!(v["range"]["numberOfOccurrences"], 0);
        assert_eq!(v["range"]["endDate"], "0001-01-01");
        assert_eq!(v["range"]["recurrenceTimeZone"], "UTC");
    }
}
