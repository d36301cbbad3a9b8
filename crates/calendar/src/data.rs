//! Reading and checking the holiday data (data/cn-holidays.toml or a deployment's own file).
//!
//! The checks catch the typing mistakes a person copying a notice is likely to make: a range
//! whose length disagrees with the notice's "共N天", a make-up working day that is not a
//! weekend, a day that is both off and working, a year entered twice.

use crate::CalendarError;
use serde::Deserialize;
use std::collections::BTreeSet;
use time::{Date, Month, Weekday};

/// One State Council notice: the days off and make-up working days of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub year: i32,
    /// e.g. "国务院办公厅关于2026年部分节假日安排的通知".
    pub title: String,
    /// e.g. "国办发明电〔2025〕7号".
    pub document: Option<String>,
    pub published: Date,
    pub url: Option<String>,
    pub holidays: Vec<Holiday>,
}

/// One block of days off ("X月X日至X日放假调休") with its make-up working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: String,
    /// First day off.
    pub from: Date,
    /// Last day off (inclusive).
    pub to: Date,
    /// Make-up working days (调休上班), each a Saturday or Sunday.
    pub work: Vec<Date>,
}

impl Holiday {
    /// Every day off of the block, first to last.
    pub fn days_off(&self) -> impl Iterator<Item = Date> + '_ {
        let mut next = Some(self.from);
        std::iter::from_fn(move || {
            let day = next.filter(|d| *d <= self.to)?;
            next = day.next_day();
            Some(day)
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    year: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    title: String,
    document: Option<String>,
    published: String,
    url: Option<String>,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: String,
    to: String,
    days: Option<u32>,
    #[serde(default)]
    work: Vec<String>,
}

/// The longest block a notice has ever given is well under this; a longer range is a typo.
const MAX_BLOCK_DAYS: i64 = 15;

pub(crate) fn parse_notices(src: &str) -> Result<Vec<Notice>, CalendarError> {
    let raw: RawFile =
        toml::from_str(src).map_err(|e| CalendarError::Data(format!("TOML: {e}")))?;
    let mut seen = BTreeSet::new();
    let mut notices = Vec::with_capacity(raw.year.len());
    for y in raw.year {
        if !seen.insert(y.year) {
            return Err(data_err(y.year, "year appears twice"));
        }
        notices.push(check_year(y)?);
    }
    Ok(notices)
}

fn check_year(y: RawYear) -> Result<Notice, CalendarError> {
    let year = y.year;
    if !(1949..=9998).contains(&year) {
        return Err(data_err(year, "year out of range"));
    }
    let published = parse_full_date(&y.published)
        .ok_or_else(|| data_err(year, &format!("bad published date {:?}", y.published)))?;
    let mut holidays = Vec::with_capacity(y.holidays.len());
    let mut off = BTreeSet::new();
    for h in y.holidays {
        let name = h.name.clone();
        let at = |what: &str| data_err(year, &format!("{name}: {what}"));
        let from = parse_day(year, &h.from).ok_or_else(|| at(&format!("bad date {:?}", h.from)))?;
        let to = parse_day(year, &h.to).ok_or_else(|| at(&format!("bad date {:?}", h.to)))?;
        if to.year() != year {
            return Err(at("the last day off must lie in the notice's year"));
        }
        let span = (to - from).whole_days() + 1;
        if !(1..=MAX_BLOCK_DAYS).contains(&span) {
            return Err(at(&format!(
                "{from}..{to} is not a plausible holiday block"
            )));
        }
        if let Some(days) = h.days {
            if i64::from(days) != span {
                return Err(at(&format!(
                    "{from}..{to} has {span} days, the notice says {days}"
                )));
            }
        }
        let mut work = Vec::with_capacity(h.work.len());
        for w in &h.work {
            let day = parse_day(year, w).ok_or_else(|| at(&format!("bad date {w:?}")))?;
            if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                return Err(at(&format!(
                    "make-up working day {day} is not a weekend day"
                )));
            }
            work.push(day);
        }
        let holiday = Holiday {
            name: h.name,
            from,
            to,
            work,
        };
        for day in holiday.days_off() {
            if !off.insert(day) {
                return Err(at(&format!("{day} is in two holiday blocks")));
            }
        }
        holidays.push(holiday);
    }
    for h in &holidays {
        if let Some(day) = h.work.iter().find(|d| off.contains(*d)) {
            return Err(data_err(
                year,
                &format!("{}: {day} is both a day off and a working day", h.name),
            ));
        }
    }
    Ok(Notice {
        year,
        title: y.title,
        document: y.document,
        published,
        url: y.url,
        holidays,
    })
}

fn data_err(year: i32, what: &str) -> CalendarError {
    CalendarError::Data(format!("year {year}: {what}"))
}

/// "MM-DD" in the notice's year, or a full "YYYY-MM-DD".
fn parse_day(year: i32, s: &str) -> Option<Date> {
    match s.len() {
        5 => parse_full_date(&format!("{year:04}-{s}")),
        _ => parse_full_date(s),
    }
}

fn parse_full_date(s: &str) -> Option<Date> {
    let mut parts = s.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(holidays: &str) -> Result<Vec<Notice>, CalendarError> {
        parse_notices(&format!(
            "[[year]]\nyear = 2026\ntitle = \"t\"\npublished = \"2025-11-04\"\nholidays = [{holidays}]\n"
        ))
    }

    #[test]
    fn accepts_a_well_formed_block() {
        let n = one(r#"{ name = "春节", from = "02-15", to = "02-23", days = 9, work = ["02-14", "02-28"] }"#)
            .unwrap();
        assert_eq!(n[0].holidays[0].days_off().count(), 9);
        assert_eq!(n[0].published, time::macros::date!(2025 - 11 - 04));
    }

    #[test]
    fn rejects_typing_mistakes() {
        let cases = [
            (
                r#"{ name = "a", from = "02-15", to = "02-23", days = 8 }"#,
                "the notice says 8",
            ),
            (
                r#"{ name = "a", from = "02-15", to = "02-23", work = ["02-16"] }"#,
                "not a weekend",
            ),
            (
                r#"{ name = "a", from = "02-15", to = "02-23", work = ["02-15"] }"#,
                "both a day off",
            ),
            (
                r#"{ name = "a", from = "02-23", to = "02-15" }"#,
                "not a plausible",
            ),
            (
                r#"{ name = "a", from = "02-30", to = "03-01" }"#,
                "bad date",
            ),
            (
                r#"{ name = "a", from = "2026-12-30", to = "2027-01-01" }"#,
                "notice's year",
            ),
            (
                r#"{ name = "a", from = "02-15", to = "02-16" }, { name = "b", from = "02-16", to = "02-17" }"#,
                "two holiday blocks",
            ),
        ];
        for (block, expected) in cases {
            let err = one(block).unwrap_err().to_string();
            assert!(err.contains(expected), "{block}: {err}");
        }
    }

    #[test]
    fn rejects_a_year_entered_twice_and_unknown_fields() {
        let y = "[[year]]\nyear = 2026\ntitle = \"t\"\npublished = \"2025-11-04\"\n";
        assert!(parse_notices(&format!("{y}{y}"))
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(parse_notices(&format!("{y}colour = 1\n")).is_err());
    }
}
