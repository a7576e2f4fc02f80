//! Reading the date forms issuers actually write: ISO 8601 with or without a time zone,
//! date only, and Unix seconds as a number or a string (allowed in 0.5 and 1.x, notes §2.2–2.5).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::ParseError;

/// What a version's specification allows, so that anything else is read with a warning.
#[derive(Debug, Clone, Copy)]
pub struct DateRules {
    /// 0.5 and 1.x allow Unix seconds and bare dates; 2.0 and 3.0 require a DateTime.
    pub legacy_forms_allowed: bool,
}

/// Reads the date in `value` (absent or `null` give `None`).
pub fn read_date(
    value: Option<&Value>,
    field: &str,
    rules: DateRules,
    warnings: &mut Vec<String>,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_f64().and_then(from_epoch).map(Read::Epoch),
        Some(Value::String(text)) => read_text(text.trim()),
        Some(_) => None,
    };
    let read = parsed.ok_or_else(|| bad_date(field, value))?;
    warn_about(read, field, rules, warnings);
    Ok(Some(read.instant()))
}

/// A date and which of the written forms it came from.
#[derive(Debug, Clone, Copy)]
enum Read {
    Zoned(DateTime<Utc>),
    NoZone(DateTime<Utc>),
    DateOnly(DateTime<Utc>),
    Epoch(DateTime<Utc>),
}

impl Read {
    fn instant(self) -> DateTime<Utc> {
        match self {
            Self::Zoned(t) | Self::NoZone(t) | Self::DateOnly(t) | Self::Epoch(t) => t,
        }
    }
}

fn warn_about(read: Read, field: &str, rules: DateRules, warnings: &mut Vec<String>) {
    let message = match read {
        Read::Zoned(_) => return,
        Read::NoZone(_) => format!("`{field}` has no time zone; it was read as UTC"),
        Read::DateOnly(_) | Read::Epoch(_) if rules.legacy_forms_allowed => return,
        Read::DateOnly(_) => format!("`{field}` is a date without a time; read as midnight UTC"),
        Read::Epoch(_) => {
            format!("`{field}` is in Unix seconds, which this version does not allow")
        }
    };
    warnings.push(message);
}

fn read_text(text: &str) -> Option<Read> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<f64>()
            .ok()
            .and_then(from_epoch)
            .map(Read::Epoch);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(Read::Zoned(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(Read::Zoned(t.with_timezone(&Utc)));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Read::NoZone(Utc.from_utc_datetime(&t)));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(Read::DateOnly(
        Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?),
    ))
}

fn from_epoch(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded to ±1e13 just above"
    )]
    let whole = seconds.floor() as i64;
    DateTime::from_timestamp(whole, 0)
}

fn bad_date(field: &str, value: Option<&Value>) -> ParseError {
    let written = value.map(Value::to_string).unwrap_or_default();
    let value = written.chars().take(80).collect();
    ParseError::BadDate {
        field: field.to_owned(),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LEGACY: DateRules = DateRules {
        legacy_forms_allowed: true,
    };
    const MODERN: DateRules = DateRules {
        legacy_forms_allowed: false,
    };

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn each_written_form_reads_as_the_intended_instant() {
        let cases = [
            (
                json!("2016-12-31T23:59:59Z"),
                "2016-12-31T23:59:59Z",
                MODERN,
                0,
            ),
            (
                json!("2016-12-31T23:59:59+02:00"),
                "2016-12-31T21:59:59Z",
                MODERN,
                0,
            ),
            (
                json!("2016-12-31T23:59:59.250Z"),
                "2016-12-31T23:59:59.250Z",
                MODERN,
                0,
            ),
            (
                json!("2016-12-31T23:59:59+0200"),
                "2016-12-31T21:59:59Z",
                MODERN,
                0,
            ),
            (
                json!("2016-12-31T23:59:59"),
                "2016-12-31T23:59:59Z",
                MODERN,
                1,
            ),
            (
                json!("2016-12-31T23:59:59"),
                "2016-12-31T23:59:59Z",
                LEGACY,
                1,
            ),
            (json!("2015-04-30"), "2015-04-30T00:00:00Z", LEGACY, 0),
            (json!("2015-04-30"), "2015-04-30T00:00:00Z", MODERN, 1),
            (json!(1500423730), "2017-07-19T00:22:10Z", LEGACY, 0),
            (json!("1500423730"), "2017-07-19T00:22:10Z", LEGACY, 0),
            (json!(1500423730), "2017-07-19T00:22:10Z", MODERN, 1),
            (json!(1500423730.9), "2017-07-19T00:22:10Z", LEGACY, 0),
        ];

        for (value, expected, rules, warning_count) in cases {
            let mut warnings = Vec::new();

            let read = read_date(Some(&value), "issuedOn", rules, &mut warnings);

            assert_eq!(read, Ok(Some(utc(expected))), "{value} with {rules:?}");
            assert_eq!(
                warnings.len(),
                warning_count,
                "{value} with {rules:?}: {warnings:?}"
            );
        }
    }

    #[test]
    fn absent_and_null_dates_are_none() {
        assert_eq!(
            read_date(None, "expires", MODERN, &mut Vec::new()),
            Ok(None)
        );
        assert_eq!(
            read_date(Some(&Value::Null), "expires", MODERN, &mut Vec::new()),
            Ok(None)
        );
    }

    #[test]
    fn unreadable_dates_name_the_field() {
        let cases = [
            json!("yesterday"),
            json!(""),
            json!("2016-13-45"),
            json!(true),
            json!({"date": "2016-01-01"}),
            json!(1e300),
            json!("99999999999999999999"),
        ];

        for value in cases {
            let read = read_date(Some(&value), "expires", LEGACY, &mut Vec::new());

            assert!(
                matches!(&read, Err(ParseError::BadDate { field, .. }) if field == "expires"),
                "{value}: {read:?}"
            );
        }
    }
}
