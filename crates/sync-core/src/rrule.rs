//! Recurrence rules: the RRULE subset both Graph and Odoo can express, parsed and
//! written in one canonical text form.
//!
//! Canonical text: `FREQ=…;INTERVAL=n[;BYMONTH=m][;BYMONTHDAY=d][;BYDAY=MO,TU][;BYSETPOS=p]`
//! `[;COUNT=n|;UNTIL=YYYYMMDD]`, days in Monday-first order, `BYDAY=2TU` written as
//! `BYDAY=TU;BYSETPOS=2`. `UNTIL` is an inclusive *local date* (Graph's `endDate` and
//! Odoo's `until` are dates). `WKST` is dropped: Odoo cannot store it (see the canonical
//! model's list of losses). Anything outside the subset (`BYHOUR`, `BYWEEKNO`, several
//! `BYMONTHDAY`s, `FREQ=HOURLY`, …) is an error, not a silent approximation.

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Odoo materialises at most this many occurrences (`MAX_RECURRENT_EVENT`), so a count
/// above it is read back as this and both sides agree on the cap.
pub const COUNT_MAX: u32 = 720;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecurrenceEnd {
    Never,
    Count(u32),
    /// Inclusive, in the series' own zone.
    Until(NaiveDate),
}

/// One recurrence rule in canonical form; serialises as its RRULE text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    /// 1–12, yearly rules only.
    pub by_month: Option<u32>,
    /// 1–31, monthly and yearly "absolute" rules.
    pub by_month_day: Option<u32>,
    /// Monday-first, no duplicates.
    pub by_day: Vec<Weekday>,
    /// 1–4 or -1 ("last"), monthly and yearly "relative" rules.
    pub by_set_pos: Option<i32>,
    pub end: RecurrenceEnd,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("not an RRULE this app can sync: {0}")]
    Unsupported(String),
    #[error("malformed RRULE part {0:?}")]
    Malformed(String),
}

pub fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

pub fn weekday_from_code(code: &str) -> Option<Weekday> {
    Some(match code.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

impl Rule {
    /// A rule with no BY parts.
    pub fn simple(freq: Freq, interval: u32, end: RecurrenceEnd) -> Rule {
        Rule {
            freq,
            interval,
            by_month: None,
            by_month_day: None,
            by_day: Vec::new(),
            by_set_pos: None,
            end,
        }
    }

    /// Fills what the series start implies and removes what cannot matter, so that the
    /// same series written by either side compares equal:
    /// weekly without days → the start's weekday; monthly without day → the start's day of
    /// month; yearly without month/day → the start's; `COUNT` capped at [`COUNT_MAX`];
    /// `INTERVAL=0` read as 1.
    pub fn normalized(mut self, start: NaiveDate) -> Rule {
        self.interval = self.interval.max(1);
        self.by_day.sort_by_key(|d| d.num_days_from_monday());
        self.by_day.dedup();
        match self.freq {
            Freq::Daily => {}
            Freq::Weekly => {
                if self.by_day.is_empty() {
                    self.by_day.push(start.weekday());
                }
                self.by_month = None;
                self.by_month_day = None;
                self.by_set_pos = None;
            }
            Freq::Monthly | Freq::Yearly => {
                if self.by_day.is_empty() {
                    self.by_set_pos = None;
                    if self.by_month_day.is_none() {
                        self.by_month_day = Some(start.day());
                    }
                } else {
                    self.by_month_day = None;
                    if self.by_set_pos.is_none() && self.by_day.len() == 1 {
                        // "every Tuesday of the month" has no Graph or Odoo form; leave it
                        // for `to_graph`/`to_odoo` to refuse rather than guess.
                    }
                }
                if self.freq == Freq::Yearly && self.by_month.is_none() {
                    self.by_month = Some(start.month());
                }
                if self.freq == Freq::Monthly {
                    self.by_month = None;
                }
            }
        }
        if let RecurrenceEnd::Count(n) = self.end {
            self.end = RecurrenceEnd::Count(n.clamp(1, COUNT_MAX));
        }
        self
    }

    /// Parses RRULE text: a bare rule, an `RRULE:` line, or a block with a `DTSTART` line
    /// (as Odoo's `rrule` field holds), case-insensitive.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.to_ascii_uppercase().starts_with("DTSTART") && !l.is_empty())
            .unwrap_or("");
        let body = line
            .strip_prefix("RRULE:")
            .or_else(|| line.strip_prefix("rrule:"))
            .unwrap_or(line);
        let mut freq = None;
        let mut interval = 1;
        let mut rule = Rule::simple(Freq::Daily, 1, RecurrenceEnd::Never);
        let mut day_pos: Option<i32> = None;
        for part in body.split(';').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| RuleError::Malformed(part.to_owned()))?;
            let value = value.trim();
            let bad = || RuleError::Malformed(part.to_owned());
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => {
                    freq = Some(match value.to_ascii_uppercase().as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        other => return Err(RuleError::Unsupported(format!("FREQ={other}"))),
                    })
                }
                "INTERVAL" => interval = value.parse().map_err(|_| bad())?,
                "COUNT" => rule.end = RecurrenceEnd::Count(value.parse().map_err(|_| bad())?),
                "UNTIL" => {
                    let date = value.get(..8).ok_or_else(bad)?;
                    // Eight digits: chrono's `%Y` also takes `-011 1111`, a date that prints
                    // as `-00111101` and does not parse back (found by fuzzing).
                    if !date.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad());
                    }
                    rule.end = RecurrenceEnd::Until(
                        NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?,
                    );
                }
                "BYMONTH" => {
                    let m: u32 = value.parse().map_err(|_| bad())?;
                    if !(1..=12).contains(&m) {
                        return Err(bad());
                    }
                    rule.by_month = Some(m);
                }
                "BYMONTHDAY" => {
                    let d: u32 = value
                        .parse()
                        .map_err(|_| RuleError::Unsupported(format!("BYMONTHDAY={value}")))?;
                    if !(1..=31).contains(&d) {
                        return Err(RuleError::Unsupported(format!("BYMONTHDAY={value}")));
                    }
                    rule.by_month_day = Some(d);
                }
                "BYSETPOS" => {
                    let p: i32 = value
                        .parse()
                        .map_err(|_| RuleError::Unsupported(format!("BYSETPOS={value}")))?;
                    if !matches!(p, 1..=4 | -1) {
                        return Err(RuleError::Unsupported(format!("BYSETPOS={value}")));
                    }
                    rule.by_set_pos = Some(p);
                }
                "BYDAY" => {
                    for item in value.split(',') {
                        let item = item.trim();
                        // The day code is the last two characters (not bytes: this text
                        // comes from the network and may hold anything).
                        let split = item.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
                        let (pos, code) = item.split_at(split);
                        let day = weekday_from_code(code).ok_or_else(bad)?;
                        if !pos.is_empty() {
                            let p: i32 = pos.parse().map_err(|_| bad())?;
                            if !matches!(p, 1..=4 | -1) || day_pos.is_some_and(|q| q != p) {
                                return Err(RuleError::Unsupported(format!("BYDAY={value}")));
                            }
                            day_pos = Some(p);
                        }
                        rule.by_day.push(day);
                    }
                }
                "WKST" => {}
                other => return Err(RuleError::Unsupported(other.to_owned())),
            }
        }
        rule.freq = freq.ok_or_else(|| RuleError::Malformed(body.to_owned()))?;
        rule.interval = interval;
        if let Some(p) = day_pos {
            if rule.by_set_pos.is_some_and(|q| q != p) {
                return Err(RuleError::Unsupported(body.to_owned()));
            }
            rule.by_set_pos = Some(p);
        }
        // A weekday-only daily rule is the weekly rule Graph and Odoo both write.
        if rule.freq == Freq::Daily && !rule.by_day.is_empty() {
            if rule.interval != 1 || rule.by_set_pos.is_some() {
                return Err(RuleError::Unsupported(body.to_owned()));
            }
            rule.freq = Freq::Weekly;
        }
        rule.by_day.sort_by_key(|d| d.num_days_from_monday());
        rule.by_day.dedup();
        Ok(rule)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let freq = match self.freq {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        };
        write!(f, "FREQ={freq};INTERVAL={}", self.interval)?;
        if let Some(m) = self.by_month {
            write!(f, ";BYMONTH={m}")?;
        }
        if let Some(d) = self.by_month_day {
            write!(f, ";BYMONTHDAY={d}")?;
        }
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self.by_day.iter().map(|d| weekday_code(*d)).collect();
            write!(f, ";BYDAY={}", days.join(","))?;
        }
        if let Some(p) = self.by_set_pos {
            write!(f, ";BYSETPOS={p}")?;
        }
        match self.end {
            RecurrenceEnd::Never => Ok(()),
            RecurrenceEnd::Count(n) => write!(f, ";COUNT={n}"),
            RecurrenceEnd::Until(d) => write!(f, ";UNTIL={}", d.format("%Y%m%d")),
        }
    }
}

impl From<Rule> for String {
    fn from(r: Rule) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for Rule {
    type Error = RuleError;
    fn try_from(s: String) -> Result<Rule, RuleError> {
        Rule::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn until_takes_eight_digits_only() {
        // Found by fuzz/fuzz_targets/rrule_parse.rs: this parsed, and printed unparseably.
        assert!(Rule::parse("FREQ=WEEKLY;BYDAY=MO;UNTIL=-011 1111").is_err());
        assert!(Rule::parse("FREQ=WEEKLY;BYDAY=MO;UNTIL=+2026110").is_err());
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261130T235959Z").unwrap();
        assert_eq!(Rule::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn an_ordinal_byday_is_written_as_bysetpos_and_reads_back_equal() {
        let a = Rule::parse("RRULE:FREQ=MONTHLY;BYDAY=+2TU;COUNT=5").unwrap();
        let b = Rule::parse("FREQ=MONTHLY;INTERVAL=1;BYDAY=TU;BYSETPOS=2;COUNT=5").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.to_string(),
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=TU;BYSETPOS=2;COUNT=5"
        );
        assert_eq!(Rule::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn an_odoo_rrule_block_with_dtstart_and_wkst_parses() {
        let r = Rule::parse("DTSTART:20260105T080000\nRRULE:FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=WE,MO;UNTIL=20260331T235959")
            .unwrap();
        assert_eq!(r.by_day, vec![Weekday::Mon, Weekday::Wed]);
        assert_eq!(r.end, RecurrenceEnd::Until(d(2026, 3, 31)));
        assert_eq!(r.interval, 2);
    }

    #[test]
    fn rules_outside_the_shared_subset_are_refused() {
        for text in [
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=9",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "FREQ=MONTHLY;BYDAY=1MO,2TU",
            "FREQ=YEARLY;BYWEEKNO=20",
            "INTERVAL=2",
        ] {
            assert!(Rule::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn multibyte_junk_in_byday_is_an_error_not_a_panic() {
        for text in [
            "FREQ=WEEKLY;BYDAY=日",
            "FREQ=WEEKLY;BYDAY=a日",
            "FREQ=WEEKLY;BYDAY=+日MO",
            "FREQ=WEEKLY;BYDAY=",
        ] {
            assert!(Rule::parse(text).is_err(), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in "\\PC{0,40}", t in "(FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)|BYDAY=[-+0-9A-Z,日]{0,8}|BYSETPOS=[-0-9]{0,3}|UNTIL=[0-9TZ]{0,16}|COUNT=[0-9]{0,4};?){0,6}") {
            let _ = Rule::parse(&s);
            if let Ok(rule) = Rule::parse(&t) {
                proptest::prop_assert_eq!(Rule::parse(&rule.to_string()), Ok(rule));
            }
        }
    }

    #[test]
    fn a_weekday_only_daily_rule_is_the_weekly_rule() {
        let r = Rule::parse("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR").unwrap();
        assert_eq!(r.freq, Freq::Weekly);
    }

    #[test]
    fn normalising_fills_what_the_start_implies_and_caps_the_count() {
        let start = d(2026, 3, 17); // a Tuesday
        let weekly = Rule::simple(Freq::Weekly, 1, RecurrenceEnd::Count(5000)).normalized(start);
        assert_eq!(weekly.by_day, vec![Weekday::Tue]);
        assert_eq!(weekly.end, RecurrenceEnd::Count(COUNT_MAX));
        let yearly = Rule::simple(Freq::Yearly, 1, RecurrenceEnd::Never).normalized(start);
        assert_eq!(
            yearly.to_string(),
            "FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYMONTHDAY=17"
        );
    }
}
