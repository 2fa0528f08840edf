//! OData query options on the `/me/events` list: `$filter` (comparisons joined by `and`),
//! `$orderby` and `$select`, applied to the rendered events. What the emulator does not
//! understand answers 400 rather than being ignored, so a client never mistakes an
//! unfiltered list for a filtered one. (calendarView delta takes none of them [EVD].)

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

use super::GraphError;

/// Properties the emulator filters and sorts on, as paths into the event (names as on the
/// wire; matched case-insensitively, as Outlook does).
const FILTERABLE: &[&str] = &[
    "subject",
    "iCalUId",
    "importance",
    "sensitivity",
    "showAs",
    "type",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "isDraft",
    "isOnlineMeeting",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "hasAttachments",
    "seriesMasterId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "onlineMeetingProvider",
    "createdDateTime",
    "lastModifiedDateTime",
    "start/dateTime",
    "start/timeZone",
    "end/dateTime",
    "end/timeZone",
    "organizer/emailAddress/address",
    "organizer/emailAddress/name",
    "location/displayName",
    "responseStatus/response",
];

/// Properties Outlook refuses to filter on, with its answer [obs].
const NOT_FILTERABLE: &[&str] = &["id", "recurrence"];

/// Top-level properties `$select` may name.
const SELECTABLE: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "transactionId",
    "originalStart",
    "cancelledOccurrences",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Num(f64),
    /// An unquoted DateTimeOffset literal.
    Date(NaiveDateTime),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
struct Cmp {
    path: &'static str,
    op: Op,
    value: Lit,
}

/// The parsed options of one list request.
#[derive(Debug, Default)]
pub struct EventQuery {
    filter: Vec<Cmp>,
    order: Vec<(&'static str, bool)>,
    select: Option<Vec<&'static str>>,
}

fn filter_error(expr: &str, why: &str) -> GraphError {
    // Outlook's answer to a filter it does not support (code from the OData error list of
    // Exchange; message shape as in its `UnsupportedEntityExpression` answers) [obs].
    GraphError::bad_request(
        "ErrorInvalidUrlQueryFilter",
        format!("'{expr}' is not a supported filter expression. ({why})"),
    )
}

fn query_error(option: &str, value: &str, why: &str) -> GraphError {
    GraphError::bad_request(
        "ErrorInvalidUrlQuery",
        format!("The query parameter '{option}' is invalid: '{value}'. ({why})"),
    )
}

fn canonical(list: &[&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|p| p.eq_ignore_ascii_case(name))
}

/// Splits a filter into tokens: quoted strings (with `''` escapes) and bare words.
fn tokens(expr: &str) -> Result<Vec<(String, bool)>, GraphError> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => s.push(ch),
                    None => return Err(filter_error(expr, "unterminated string literal")),
                }
            }
            out.push((s, true));
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '\'' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            if s.contains(['(', ')', ',']) {
                return Err(filter_error(
                    expr,
                    "functions, lambdas and parentheses are not emulated",
                ));
            }
            out.push((s, false));
        }
    }
    Ok(out)
}

fn parse_date(s: &str) -> Option<NaiveDateTime> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_utc());
    }
    let s = s.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

fn literal(tok: &(String, bool), expr: &str) -> Result<Lit, GraphError> {
    let (t, quoted) = tok;
    if *quoted {
        return Ok(Lit::Str(t.clone()));
    }
    match t.as_str() {
        "true" => return Ok(Lit::Bool(true)),
        "false" => return Ok(Lit::Bool(false)),
        "null" => return Ok(Lit::Null),
        _ => {}
    }
    if let Ok(n) = t.parse::<f64>() {
        return Ok(Lit::Num(n));
    }
    if let Some(d) = parse_date(t) {
        return Ok(Lit::Date(d));
    }
    Err(filter_error(expr, &format!("unknown literal {t}")))
}

fn parse_filter(expr: &str) -> Result<Vec<Cmp>, GraphError> {
    let toks = tokens(expr)?;
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (Some(path), Some(op), Some(value)) = (toks.get(i), toks.get(i + 1), toks.get(i + 2))
        else {
            return Err(filter_error(expr, "expected `property op value`"));
        };
        if path.1 {
            return Err(filter_error(expr, "a comparison starts with a property"));
        }
        if let Some(p) = canonical(NOT_FILTERABLE, &path.0) {
            // The live answer for these [obs].
            let mut name = p.to_string();
            name[..1].make_ascii_uppercase();
            return Err(GraphError::bad_request(
                "ErrorInvalidProperty",
                format!("The property '{name}' does not support filtering."),
            ));
        }
        let path = canonical(FILTERABLE, &path.0).ok_or_else(|| {
            filter_error(expr, &format!("the emulator does not filter on {}", path.0))
        })?;
        let op = match (op.0.as_str(), op.1) {
            ("eq", false) => Op::Eq,
            ("ne", false) => Op::Ne,
            ("gt", false) => Op::Gt,
            ("ge", false) => Op::Ge,
            ("lt", false) => Op::Lt,
            ("le", false) => Op::Le,
            _ => {
                return Err(filter_error(
                    expr,
                    &format!("operator {} is not emulated", op.0),
                ))
            }
        };
        out.push(Cmp {
            path,
            op,
            value: literal(value, expr)?,
        });
        i += 3;
        match toks.get(i) {
            None => return Ok(out),
            Some((w, false)) if w == "and" => i += 1,
            Some((w, _)) => {
                return Err(filter_error(
                    expr,
                    &format!("only `and` joins comparisons, not {w}"),
                ))
            }
        }
    }
}

fn parse_order(spec: &str) -> Result<Vec<(&'static str, bool)>, GraphError> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let mut words = part.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| query_error("$orderby", spec, "empty clause"))?;
        let path = canonical(FILTERABLE, name).ok_or_else(|| {
            query_error(
                "$orderby",
                spec,
                &format!("the emulator does not sort on {name}"),
            )
        })?;
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(w) => {
                return Err(query_error(
                    "$orderby",
                    spec,
                    &format!("unknown direction {w}"),
                ))
            }
        };
        if words.next().is_some() {
            return Err(query_error("$orderby", spec, "trailing words"));
        }
        out.push((path, desc));
    }
    Ok(out)
}

fn parse_select(spec: &str) -> Result<Vec<&'static str>, GraphError> {
    spec.split(',')
        .map(|p| {
            canonical(SELECTABLE, p.trim()).ok_or_else(|| {
                query_error(
                    "$select",
                    spec,
                    &format!("no property {} on event", p.trim()),
                )
            })
        })
        .collect()
}

impl EventQuery {
    /// Reads `$filter`, `$orderby` and `$select` (names matched case-insensitively).
    pub fn parse(
        filter: Option<&str>,
        orderby: Option<&str>,
        select: Option<&str>,
    ) -> Result<Self, GraphError> {
        Ok(Self {
            filter: match filter {
                Some(f) => parse_filter(f)?,
                None => Vec::new(),
            },
            order: match orderby {
                Some(o) => parse_order(o)?,
                None => Vec::new(),
            },
            select: select.map(parse_select).transpose()?,
        })
    }

    /// Filters, sorts (stably, after the default order) and projects rendered events.
    pub fn apply(&self, items: Vec<Value>) -> Vec<Value> {
        let mut items: Vec<Value> = items
            .into_iter()
            .filter(|v| self.filter.iter().all(|c| matches(v, c)))
            .collect();
        if !self.order.is_empty() {
            items.sort_by(|a, b| {
                for (path, desc) in &self.order {
                    let o = compare_values(at(a, path), at(b, path), path);
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
        }
        if let Some(sel) = &self.select {
            items = items.into_iter().map(|v| project(v, sel)).collect();
        }
        items
    }
}

fn at<'v>(v: &'v Value, path: &str) -> &'v Value {
    path.split('/').fold(v, |v, k| &v[k])
}

fn is_date_path(path: &str) -> bool {
    path.ends_with("DateTime") || path.ends_with("/dateTime")
}

fn compare_values(a: &Value, b: &Value, path: &str) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) if is_date_path(path) => {
            parse_date(x).cmp(&parse_date(y))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

fn matches(v: &Value, c: &Cmp) -> bool {
    let actual = at(v, c.path);
    let ord = match (&c.value, actual) {
        (Lit::Null, a) => Some(if a.is_null() {
            Ordering::Equal
        } else {
            Ordering::Greater
        }),
        (_, Value::Null) => None,
        (Lit::Str(_) | Lit::Date(_), Value::String(a)) if is_date_path(c.path) => {
            let lit = match &c.value {
                Lit::Date(d) => Some(*d),
                Lit::Str(s) => parse_date(s),
                _ => None,
            };
            match (parse_date(a), lit) {
                (Some(a), Some(l)) => Some(a.cmp(&l)),
                _ => None,
            }
        }
        (Lit::Str(s), Value::String(a)) => Some(a.as_str().cmp(s.as_str())),
        (Lit::Bool(b), Value::Bool(a)) => Some(a.cmp(b)),
        (Lit::Num(n), Value::Number(a)) => a.as_f64().and_then(|a| a.partial_cmp(n)),
        _ => None,
    };
    let Some(ord) = ord else {
        return c.op == Op::Ne;
    };
    match c.op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

fn project(v: Value, select: &[&str]) -> Value {
    // `$select` returns the named properties plus `id` and `@odata.etag`.
    let Value::Object(map) = v else {
        return v;
    };
    let keep: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| k == "@odata.etag" || k == "id" || select.contains(&k.as_str()))
        .collect();
    Value::Object(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_parse_and_match() {
        let q = EventQuery::parse(Some("Subject eq 'it''s' and isAllDay eq false"), None, None)
            .unwrap();
        let hit = json!({"subject": "it's", "isAllDay": false});
        let miss = json!({"subject": "its", "isAllDay": false});
        assert_eq!(q.apply(vec![hit.clone(), miss]), vec![hit]);
        let q = EventQuery::parse(Some("start/dateTime ge '2026-03-02T09:00:00Z'"), None, None)
            .unwrap();
        let early = json!({"start": {"dateTime": "2026-03-01T09:00:00.0000000"}});
        let late = json!({"start": {"dateTime": "2026-03-03T09:00:00.0000000"}});
        assert_eq!(q.apply(vec![early, late.clone()]), vec![late]);
    }

    #[test]
    fn what_is_not_understood_is_refused() {
        for f in [
            "startswith(subject,'a')",
            "subject eq 'a' or subject eq 'b'",
            "subject has 'a'",
            "bogus eq 'a'",
            "subject eq",
            "subject eq 'a",
        ] {
            let e = EventQuery::parse(Some(f), None, None).unwrap_err();
            assert_eq!(e.code, "ErrorInvalidUrlQueryFilter", "{f}");
        }
        let e = EventQuery::parse(Some("id eq 'x'"), None, None).unwrap_err();
        assert_eq!(e.code, "ErrorInvalidProperty");
        assert!(e.message.contains("'Id'"));
        let e = EventQuery::parse(None, Some("subject sideways"), None).unwrap_err();
        assert_eq!(e.code, "ErrorInvalidUrlQuery");
        let e = EventQuery::parse(None, Some("body"), None).unwrap_err();
        assert_eq!(e.code, "ErrorInvalidUrlQuery");
        let e = EventQuery::parse(None, None, Some("subject,nope")).unwrap_err();
        assert_eq!(e.code, "ErrorInvalidUrlQuery");
    }
}
