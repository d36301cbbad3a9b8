//! Working days of mainland China.
//!
//! Which days are worked is decided each year by a notice of the General Office of the State
//! Council (days off, and weekend days that become working days, 调休). Those notices are
//! shipped as data in `data/cn-holidays.toml`, each cited; a deployment can add a year the
//! binary does not know yet with [`Calendar::with_extra_toml`]. A date in a year with no
//! notice is an error ([`CalendarError::YearNotCovered`]), never counted as an ordinary day:
//! a deadline computed from a guess would be wrong by a week around Spring Festival.
//!
//! # How deadlines are counted
//!
//! All dates are calendar days in Beijing time (UTC+8; China has no daylight saving time).
//! The day on which something is received is **not** counted, whatever the hour and whether
//! or not it is a working day. A deadline of N working days ends at the end (24:00 Beijing
//! time) of the N-th working day after the day of receipt:
//!
//! - received Thursday 2026-02-12, 2 working days → due Saturday 2026-02-14 (a make-up
//!   working day), overdue from 2026-02-15 00:00;
//! - received on a holiday, 2026-02-16 (春节), 2 working days → due 2026-02-25;
//! - N = 0 means due at the end of the day of receipt.
//!
//! [`Calendar::working_days_between`] is the inverse: the number of working days in
//! `(a, b]`, so `working_days_between(a, add_working_days(a, n)) == n`.

mod data;

pub use data::{Holiday, Notice};

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

/// The holiday notices shipped with yidu.
pub const BUILTIN_TOML: &str = include_str!("../data/cn-holidays.toml");

/// Beijing time, UTC+8 all year round.
pub const CHINA_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+8 is a valid offset"),
};

const SECONDS_PER_DAY: f64 = 86_400.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar has no State Council notice for this year: a configuration error.
    #[error(
        "没有{year}年的节假日安排，请在配置中补充国务院办公厅的通知 / \
         no holiday schedule for {year}: add the State Council notice for {year} to the calendar"
    )]
    YearNotCovered { year: i32 },
    /// The holiday data itself is malformed.
    #[error("节假日数据有误 / invalid holiday data: {0}")]
    Data(String),
    /// Date arithmetic ran past what the `time` crate represents.
    #[error("日期超出范围 / date out of range")]
    OutOfRange,
}

/// Anything that names a calendar day in Beijing time: a [`Date`] as is, an
/// [`OffsetDateTime`] converted to UTC+8 first.
pub trait ChinaDay {
    fn china_date(&self) -> Date;
}

impl ChinaDay for Date {
    fn china_date(&self) -> Date {
        *self
    }
}

impl ChinaDay for OffsetDateTime {
    fn china_date(&self) -> Date {
        self.to_offset(CHINA_OFFSET).date()
    }
}

/// The instant `ms` (UTC milliseconds, as stored in the database) in Beijing time.
pub fn china_time_ms(ms: i64) -> Result<OffsetDateTime, CalendarError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(CHINA_OFFSET))
        .map_err(|_| CalendarError::OutOfRange)
}

/// How pressing an item with a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    /// More than one working day left after today.
    Normal,
    /// Due today or on the next working day: at most one full working day left (黄牌).
    Yellow,
    /// Past the end of the due day (红牌, overdue).
    Red,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Yellow => "yellow",
            Urgency::Red => "red",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Urgency::Normal => "正常",
            Urgency::Yellow => "临期",
            Urgency::Red => "逾期",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Urgency::Normal => "On time",
            Urgency::Yellow => "Due soon",
            Urgency::Red => "Overdue",
        }
    }
}

/// One covered year, precomputed so that counts over long spans cost O(years).
#[derive(Debug, Clone)]
struct YearTable {
    /// `working[i]` for the i-th day of the year (0 = 1 January).
    working: Vec<bool>,
    /// `before[i]` = working days among days `0..i`; `before[len]` is the year's total.
    before: Vec<u32>,
}

impl YearTable {
    fn total(&self) -> u32 {
        self.before[self.working.len()]
    }
}

/// The working-day calendar: which years are covered, and for each day whether it is worked.
#[derive(Debug, Clone)]
pub struct Calendar {
    notices: BTreeMap<i32, Notice>,
    tables: BTreeMap<i32, YearTable>,
}

impl Calendar {
    /// The notices shipped with yidu (see `data/cn-holidays.toml` for the years and sources).
    pub fn builtin() -> Calendar {
        static BUILTIN: OnceLock<Calendar> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Calendar::from_toml(BUILTIN_TOML).expect("the shipped holiday data is valid")
            })
            .clone()
    }

    /// A calendar from a holiday file in the format of `data/cn-holidays.toml` alone.
    pub fn from_toml(src: &str) -> Result<Calendar, CalendarError> {
        Ok(Calendar::from_notices(data::parse_notices(src)?))
    }

    /// This calendar plus the years of another holiday file (a deployment's configuration).
    /// A year present in both is taken from `src` as a whole, so that an amended notice (as in
    /// 2020, when Spring Festival was extended) can replace the shipped one.
    pub fn with_extra_toml(self, src: &str) -> Result<Calendar, CalendarError> {
        let mut notices = self.notices;
        for notice in data::parse_notices(src)? {
            notices.insert(notice.year, notice);
        }
        Ok(Calendar::from_notices(notices.into_values().collect()))
    }

    fn from_notices(list: Vec<Notice>) -> Calendar {
        let notices: BTreeMap<i32, Notice> = list.into_iter().map(|n| (n.year, n)).collect();
        let mut working: BTreeMap<i32, Vec<bool>> = notices
            .keys()
            .map(|&year| (year, weekdays_of(year)))
            .collect();
        // A block may reach into the previous year (元旦 of 2023 began on 2022-12-31); such a
        // day is applied only if that year is covered too.
        for notice in notices.values() {
            for h in &notice.holidays {
                for day in h.days_off() {
                    set_day(&mut working, day, false);
                }
                for &day in &h.work {
                    set_day(&mut working, day, true);
                }
            }
        }
        let tables = working
            .into_iter()
            .map(|(year, working)| {
                let mut before = Vec::with_capacity(working.len() + 1);
                let mut count = 0;
                before.push(0);
                for &w in &working {
                    count += u32::from(w);
                    before.push(count);
                }
                (year, YearTable { working, before })
            })
            .collect();
        Calendar { notices, tables }
    }

    /// The covered years, oldest first.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.notices.keys().copied()
    }

    pub fn covers(&self, year: i32) -> bool {
        self.notices.contains_key(&year)
    }

    /// The year whose holiday data is missing when it is needed soon, seen from `today`:
    /// the current year itself, or, from 1 November on (the State Council usually publishes
    /// the next year's notice in November, and a 15-working-day deadline set in December
    /// reaches into January), the next year. `None` when nothing is missing.
    pub fn missing_year(&self, today: impl ChinaDay) -> Option<i32> {
        let date = today.china_date();
        if !self.covers(date.year()) {
            return Some(date.year());
        }
        let late_in_year = u8::from(date.month()) >= 11;
        (late_in_year && !self.covers(date.year() + 1)).then_some(date.year() + 1)
    }

    /// The notice a year's data comes from, for citing it on screen.
    pub fn notice(&self, year: i32) -> Option<&Notice> {
        self.notices.get(&year)
    }

    /// The name of the holiday block a day off belongs to ("春节"), if any.
    pub fn holiday_name(&self, date: Date) -> Option<&str> {
        self.notices
            .range(date.year()..=date.year() + 1)
            .flat_map(|(_, n)| &n.holidays)
            .find(|h| h.from <= date && date <= h.to)
            .map(|h| h.name.as_str())
    }

    fn table(&self, year: i32) -> Result<&YearTable, CalendarError> {
        self.tables
            .get(&year)
            .ok_or(CalendarError::YearNotCovered { year })
    }

    /// Whether `day` (in Beijing time) is a working day.
    pub fn is_working_day(&self, day: impl ChinaDay) -> Result<bool, CalendarError> {
        let date = day.china_date();
        Ok(self.table(date.year())?.working[day_index(date)])
    }

    /// The N-th working day after the day of `start` (see the crate docs for the rule).
    pub fn add_working_days(&self, start: impl ChinaDay, n: u32) -> Result<Date, CalendarError> {
        let mut day = start.china_date();
        let mut left = n;
        while left > 0 {
            day = day.next_day().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// The instant a deadline of `n` working days from `received` passes: 00:00 Beijing time
    /// after the due day. An item is overdue when `now >= due_at(received, n)`.
    pub fn due_at(
        &self,
        received: OffsetDateTime,
        n: u32,
    ) -> Result<OffsetDateTime, CalendarError> {
        let due = self.add_working_days(received, n)?;
        let after = due.next_day().ok_or(CalendarError::OutOfRange)?;
        Ok(after.with_time(Time::MIDNIGHT).assume_offset(CHINA_OFFSET))
    }

    /// [`Calendar::due_at`] on UTC milliseconds, the form times are stored in.
    pub fn due_at_ms(&self, received_ms: i64, n: u32) -> Result<i64, CalendarError> {
        let due = self.due_at(china_time_ms(received_ms)?, n)?;
        Ok((due.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// The number of working days in `(a, b]` (negative when `b` is before `a`): for a deadline
    /// set with [`Calendar::add_working_days`] it gives back `n`.
    pub fn working_days_between(
        &self,
        a: impl ChinaDay,
        b: impl ChinaDay,
    ) -> Result<i64, CalendarError> {
        let (a, b) = (a.china_date(), b.china_date());
        if a <= b {
            self.count_after(a, b)
        } else {
            Ok(-self.count_after(b, a)?)
        }
    }

    /// Working days in `(a, b]` for `a <= b`, from the per-year running totals.
    fn count_after(&self, a: Date, b: Date) -> Result<i64, CalendarError> {
        if a == b {
            return Ok(0);
        }
        let first = a.next_day().ok_or(CalendarError::OutOfRange)?;
        let start = self.table(first.year())?;
        let (i, j) = (day_index(first), day_index(b));
        if first.year() == b.year() {
            return Ok(i64::from(start.before[j + 1] - start.before[i]));
        }
        let mut count = i64::from(start.total() - start.before[i]);
        for year in first.year() + 1..b.year() {
            count += i64::from(self.table(year)?.total());
        }
        Ok(count + i64::from(self.table(b.year())?.before[j + 1]))
    }

    /// The working time between two instants, in working days with fractions: only the parts
    /// of the span that fall on working days count, each working day as 24 hours. Received
    /// Friday 16:00 and replied Monday 10:00 is 8/24 + 10/24 = 0.75. For the cockpit's "mean
    /// handling time in working days".
    pub fn working_days_elapsed(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<f64, CalendarError> {
        if to < from {
            return Ok(-self.working_days_elapsed(to, from)?);
        }
        let (from, to) = (from.to_offset(CHINA_OFFSET), to.to_offset(CHINA_OFFSET));
        let day_fraction =
            |t: OffsetDateTime| (t.time() - Time::MIDNIGHT).as_seconds_f64() / SECONDS_PER_DAY;
        if from.date() == to.date() {
            return Ok(if self.is_working_day(from.date())? {
                (to - from).as_seconds_f64() / SECONDS_PER_DAY
            } else {
                0.0
            });
        }
        let mut total = 0.0;
        if self.is_working_day(from.date())? {
            total += 1.0 - day_fraction(from);
        }
        let last_whole = to.date().previous_day().ok_or(CalendarError::OutOfRange)?;
        total += self.count_after(from.date(), last_whole)? as f64;
        if self.is_working_day(to.date())? {
            total += day_fraction(to);
        }
        Ok(total)
    }

    /// How pressing an item due at the end of `due` (in Beijing time) is at `now`.
    /// Red once the due day is over; yellow when it is due today or on the next working day
    /// (at most one full working day left); normal otherwise.
    pub fn urgency(&self, due: Date, now: impl ChinaDay) -> Result<Urgency, CalendarError> {
        let today = now.china_date();
        if today > due {
            return Ok(Urgency::Red);
        }
        Ok(if self.working_days_between(today, due)? <= 1 {
            Urgency::Yellow
        } else {
            Urgency::Normal
        })
    }
}

/// 0-based day of the year.
fn day_index(date: Date) -> usize {
    usize::from(date.ordinal()) - 1
}

/// Monday to Friday worked, weekends off: the rule before any notice applies.
fn weekdays_of(year: i32) -> Vec<bool> {
    let days = time::util::days_in_year(year);
    let Ok(first) = Date::from_ordinal_date(year, 1) else {
        return Vec::new();
    };
    (0..days)
        .map(|i| {
            let day = first + Duration::days(i64::from(i));
            !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
        })
        .collect()
}

fn set_day(working: &mut BTreeMap<i32, Vec<bool>>, day: Date, value: bool) {
    if let Some(days) = working.get_mut(&day.year()) {
        days[day_index(day)] = value;
    }
}

#[cfg(test)]
mod tests;
