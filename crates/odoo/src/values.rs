//! How Odoo spells values on the wire (odoo.md §1.1, §5.4): `false` for every empty value,
//! many2one as `[id, "name"]` (or a bare id with `load=None`), x2many as id lists, and
//! datetimes as naive UTC `"YYYY-MM-DD HH:MM:SS"`. The `deserialize_with` helpers here turn
//! those into `Option`s and `chrono` types.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A many2one value: the linked record's id and display name (empty when read with
/// `load=None`, or masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Many2one {
    pub id: i64,
    pub name: String,
}

/// The datetime format of every Odoo datetime field, in UTC.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The date format of Odoo date fields.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Formats a UTC instant as Odoo expects it in `create`/`write` values and domains.
pub fn to_odoo_datetime(t: DateTime<Utc>) -> String {
    t.format(DATETIME_FORMAT).to_string()
}

/// Formats a date for `start_date`/`stop_date`/`until`.
pub fn to_odoo_date(d: NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

/// Parses an Odoo datetime (seconds; a fractional part is tolerated) as UTC.
pub fn parse_odoo_datetime(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false))
}

/// `false`/`null` → `None`, anything else decoded as `T`.
pub fn opt<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    if is_empty(&v) {
        return Ok(None);
    }
    T::deserialize(v).map(Some).map_err(D::Error::custom)
}

/// A char/text/html/selection field: `false`, `null` and `""` are all `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(D::Error::custom(format!(
            "expected a string or false, found {other}"
        ))),
    }
}

/// A many2one: `[id, "name"]`, a bare id (`load=None`), or `false`.
pub fn many2one<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Many2one>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(|id| {
                Some(Many2one {
                    id,
                    name: String::new(),
                })
            })
            .ok_or_else(|| D::Error::custom(format!("expected a record id, found {n}"))),
        Value::Array(a) => match a.as_slice() {
            [Value::Number(n), name] => {
                let id = n
                    .as_i64()
                    .ok_or_else(|| D::Error::custom(format!("expected a record id, found {n}")))?;
                let name = match name {
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                };
                Ok(Some(Many2one { id, name }))
            }
            _ => Err(D::Error::custom("expected [id, \"name\"]")),
        },
        other => Err(D::Error::custom(format!(
            "expected [id, \"name\"] or false, found {other}"
        ))),
    }
}

/// An x2many id list; `false` (a masked or unreadable field) is the empty list.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    if is_empty(&v) {
        return Ok(Vec::new());
    }
    Vec::<i64>::deserialize(v).map_err(D::Error::custom)
}

/// A datetime field: `"YYYY-MM-DD HH:MM:SS"` in UTC, or `false`.
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::String(s) => parse_odoo_datetime(&s).map(Some).ok_or_else(|| {
            D::Error::custom(format!("expected \"YYYY-MM-DD HH:MM:SS\", found {s:?}"))
        }),
        other => Err(D::Error::custom(format!(
            "expected a datetime string or false, found {other}"
        ))),
    }
}

/// A date field: `"YYYY-MM-DD"`, or `false`.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::String(s) => NaiveDate::parse_from_str(&s, DATE_FORMAT)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected \"YYYY-MM-DD\", found {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a date string or false, found {other}"
        ))),
    }
}

/// A Many2oneReference (`res_id`): an id, with `0`/`false` meaning none.
pub fn reference_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Ok(None),
            Some(id) => Ok(Some(id)),
            None => Err(D::Error::custom(format!("expected a record id, found {n}"))),
        },
        other => Err(D::Error::custom(format!(
            "expected a record id or false, found {other}"
        ))),
    }
}

/// A number that Odoo may send as `false` when unset (integer and float fields of
/// masked records).
pub fn number_or_zero<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    if is_empty(&v) {
        return Ok(T::default());
    }
    T::deserialize(v).map_err(D::Error::custom)
}

/// Decodes `value` as `T`, naming the JSON path that failed (STYLE.md, octocrab).
pub fn decode<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, crate::OdooError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        crate::OdooError::Decode {
            what: what.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Row {
        #[serde(default, deserialize_with = "many2one")]
        user_id: Option<Many2one>,
        #[serde(default, deserialize_with = "opt_string")]
        location: Option<String>,
        #[serde(default, deserialize_with = "datetime")]
        start: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "date")]
        start_date: Option<NaiveDate>,
        #[serde(default, deserialize_with = "ids")]
        partner_ids: Vec<i64>,
    }

    #[test]
    fn odoo_false_is_none_for_every_kind_of_field() {
        let r: Row = decode(
            "row",
            json!({"user_id": false, "location": false, "start": false, "start_date": false, "partner_ids": false}),
        )
        .unwrap();
        assert_eq!(r.user_id, None);
        assert_eq!(r.location, None);
        assert_eq!(r.start, None);
        assert_eq!(r.start_date, None);
        assert!(r.partner_ids.is_empty());
    }

    #[test]
    fn many2one_pairs_bare_ids_and_utc_datetimes_decode() {
        let r: Row = decode(
            "row",
            json!({"user_id": [7, "Mitchell Admin"], "location": "", "start": "2025-03-30 01:30:00",
                   "start_date": "2025-03-30", "partner_ids": [3, 4]}),
        )
        .unwrap();
        assert_eq!(
            r.user_id,
            Some(Many2one {
                id: 7,
                name: "Mitchell Admin".into()
            })
        );
        assert_eq!(r.location, None, "an empty string is no value");
        assert_eq!(
            r.start.map(to_odoo_datetime).as_deref(),
            Some("2025-03-30 01:30:00")
        );
        assert_eq!(r.partner_ids, vec![3, 4]);
        let bare: Row = decode("row", json!({"user_id": 7})).unwrap();
        assert_eq!(bare.user_id.map(|m| m.id), Some(7));
    }

    #[test]
    fn a_decode_error_names_the_field_path() {
        let err = decode::<Vec<Row>>(
            "calendar.event search_read",
            json!([{}, {"start": "30/03/2025"}]),
        )
        .unwrap_err();
        match err {
            crate::OdooError::Decode {
                path,
                message,
                what,
            } => {
                assert_eq!(path, "[1].start");
                assert!(message.contains("30/03/2025"), "{message}");
                assert_eq!(what, "calendar.event search_read");
            }
            other => panic!("{other:?}"),
        }
    }
}
