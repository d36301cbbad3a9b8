use super::*;
use time::macros::{date, datetime};

fn cal() -> Calendar {
    Calendar::builtin()
}

/// "M/D" or "M/D-D" or "M/D-M/D" in `year`, as domain.md writes them.
fn days(year: i32, spec: &str) -> Vec<Date> {
    let parse = |s: &str, month: Option<u8>| -> Date {
        let (m, d) = match s.split_once('/') {
            Some((m, d)) => (m.parse().unwrap(), d.parse().unwrap()),
            None => (month.unwrap(), s.parse().unwrap()),
        };
        Date::from_calendar_date(year, Month::try_from(m).unwrap(), d).unwrap()
    };
    use time::Month;
    spec.split(", ")
        .flat_map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let first = parse(a, None);
            let last = parse(b, Some(first.month() as u8));
            let mut out = vec![];
            let mut d = first;
            while d <= last {
                out.push(d);
                d = d.next_day().unwrap();
            }
            out
        })
        .collect()
}

/// The lists of /work/shared/design/domain.md "Working days", typed in again independently
/// of data/cn-holidays.toml.
const DOMAIN_LISTS: [(i32, &str, &str); 3] = [
    (
        2024,
        "1/1, 2/10-17, 4/4-6, 5/1-5, 6/10, 9/15-17, 10/1-7",
        "2/4, 2/18, 4/7, 4/28, 5/11, 9/14, 9/29, 10/12",
    ),
    (
        2025,
        "1/1, 1/28-2/4, 4/4-6, 5/1-5, 5/31-6/2, 10/1-8",
        "1/26, 2/8, 4/27, 9/28, 10/11",
    ),
    (
        2026,
        "1/1-3, 2/15-23, 4/4-6, 5/1-5, 6/19-21, 9/25-27, 10/1-7",
        "1/4, 2/14, 2/28, 5/9, 9/20, 10/10",
    ),
];

#[test]
fn every_day_of_2024_to_2026_follows_the_notices() {
    let cal = cal();
    for (year, off, work) in DOMAIN_LISTS {
        let off = days(year, off);
        let work = days(year, work);
        for w in &work {
            assert!(
                matches!(w.weekday(), Weekday::Saturday | Weekday::Sunday),
                "{w} is a make-up day on a weekend"
            );
        }
        let mut day = Date::from_ordinal_date(year, 1).unwrap();
        while day.year() == year {
            let weekday = !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
            let expected = work.contains(&day) || (weekday && !off.contains(&day));
            assert_eq!(cal.is_working_day(day), Ok(expected), "{day}");
            day = day.next_day().unwrap();
        }
    }
}

#[test]
fn every_holiday_block_and_make_up_day_is_named_in_the_data() {
    let cal = cal();
    for (year, off, work) in DOMAIN_LISTS {
        let notice = cal.notice(year).unwrap();
        let data_off: Vec<Date> = notice.holidays.iter().flat_map(|h| h.days_off()).collect();
        let mut data_work: Vec<Date> = notice
            .holidays
            .iter()
            .flat_map(|h| h.work.clone())
            .collect();
        data_work.sort();
        assert_eq!(data_off, days(year, off), "{year} days off");
        assert_eq!(data_work, days(year, work), "{year} make-up days");
    }
}

#[test]
fn builtin_cites_a_notice_for_each_year() {
    let cal = cal();
    assert_eq!(
        cal.covered_years().collect::<Vec<_>>(),
        vec![2023, 2024, 2025, 2026]
    );
    let n = cal.notice(2026).unwrap();
    assert_eq!(n.title, "国务院办公厅关于2026年部分节假日安排的通知");
    assert_eq!(n.document.as_deref(), Some("国办发明电〔2025〕7号"));
    assert_eq!(n.published, date!(2025 - 11 - 04));
    for year in cal.covered_years() {
        let n = cal.notice(year).unwrap();
        assert!(n.title.contains(&year.to_string()));
        assert!(n.document.as_deref().unwrap().starts_with("国办发明电〔"));
        assert!(n.published.year() == year - 1, "published the year before");
    }
    assert_eq!(cal.holiday_name(date!(2026 - 02 - 16)), Some("春节"));
    assert_eq!(
        cal.holiday_name(date!(2025 - 10 - 08)),
        Some("国庆节、中秋节")
    );
    assert_eq!(cal.holiday_name(date!(2022 - 12 - 31)), Some("元旦"));
    assert_eq!(cal.holiday_name(date!(2026 - 02 - 14)), None);
}

#[test]
fn deadlines_across_spring_festival_with_make_up_saturdays() {
    let cal = cal();
    let add = |d: Date, n| cal.add_working_days(d, n).unwrap();
    // Thursday before the 2026 holiday: Friday, then the make-up Saturday.
    assert_eq!(add(date!(2026 - 02 - 12), 2), date!(2026 - 02 - 14));
    // Friday: the make-up Saturday, then nine days off, then Tuesday 24th.
    assert_eq!(add(date!(2026 - 02 - 13), 2), date!(2026 - 02 - 24));
    // 15 working days across the holiday and both make-up Saturdays (2/14, 2/28).
    assert_eq!(add(date!(2026 - 02 - 10), 15), date!(2026 - 03 - 09));
    // 2025: Sunday 1/26 is worked, then 1/28-2/4 off.
    assert_eq!(add(date!(2025 - 01 - 24), 2), date!(2025 - 01 - 27));
    assert_eq!(add(date!(2025 - 01 - 24), 3), date!(2025 - 02 - 05));
    assert_eq!(add(date!(2025 - 02 - 07), 1), date!(2025 - 02 - 08));
    // 2024: Sunday 2/4 and Sunday 2/18 are worked.
    assert_eq!(add(date!(2024 - 02 - 02), 1), date!(2024 - 02 - 04));
    assert_eq!(add(date!(2024 - 02 - 09), 1), date!(2024 - 02 - 18));
}

#[test]
fn deadlines_across_national_day() {
    let cal = cal();
    let add = |d: Date, n| cal.add_working_days(d, n).unwrap();
    assert_eq!(add(date!(2026 - 09 - 18), 2), date!(2026 - 09 - 21)); // Sunday 9/20 worked
    assert_eq!(add(date!(2026 - 09 - 30), 2), date!(2026 - 10 - 09));
    assert_eq!(add(date!(2026 - 09 - 30), 3), date!(2026 - 10 - 10)); // make-up Saturday
    assert_eq!(add(date!(2024 - 09 - 27), 2), date!(2024 - 09 - 30)); // Sunday 9/29 worked
    assert_eq!(add(date!(2024 - 09 - 27), 3), date!(2024 - 10 - 08));
    assert_eq!(add(date!(2025 - 09 - 30), 1), date!(2025 - 10 - 09)); // eight days off
    assert_eq!(add(date!(2025 - 09 - 30), 2), date!(2025 - 10 - 10));
    assert_eq!(add(date!(2025 - 09 - 30), 3), date!(2025 - 10 - 11)); // make-up Saturday
}

#[test]
fn deadlines_starting_on_a_holiday_or_a_make_up_day() {
    let cal = cal();
    // Received during Spring Festival: counting starts with the first working day after it.
    assert_eq!(
        cal.add_working_days(date!(2026 - 02 - 16), 2),
        Ok(date!(2026 - 02 - 25))
    );
    assert_eq!(
        cal.add_working_days(date!(2026 - 10 - 03), 1),
        Ok(date!(2026 - 10 - 08))
    );
    // Received on a make-up Saturday: that day is not counted even though it is worked.
    assert_eq!(
        cal.add_working_days(date!(2026 - 02 - 14), 1),
        Ok(date!(2026 - 02 - 24))
    );
    assert_eq!(
        cal.add_working_days(date!(2024 - 10 - 12), 1),
        Ok(date!(2024 - 10 - 14))
    );
    // N = 0: due the day of receipt.
    assert_eq!(
        cal.add_working_days(date!(2026 - 02 - 16), 0),
        Ok(date!(2026 - 02 - 16))
    );
}

#[test]
fn deadlines_across_year_boundaries() {
    let cal = cal();
    // 2026 元旦 is 1/1-3 with Sunday 1/4 worked.
    assert_eq!(
        cal.add_working_days(date!(2025 - 12 - 31), 1),
        Ok(date!(2026 - 01 - 04))
    );
    assert_eq!(
        cal.add_working_days(date!(2025 - 12 - 31), 2),
        Ok(date!(2026 - 01 - 05))
    );
    assert_eq!(
        cal.add_working_days(date!(2024 - 12 - 31), 1),
        Ok(date!(2025 - 01 - 02))
    );
    assert_eq!(
        cal.add_working_days(date!(2023 - 12 - 29), 1),
        Ok(date!(2024 - 01 - 02))
    );
    assert_eq!(
        cal.working_days_between(date!(2025 - 12 - 31), date!(2026 - 01 - 05)),
        Ok(2)
    );
}

#[test]
fn a_year_without_a_notice_is_an_error() {
    let cal = cal();
    let not_2027 = CalendarError::YearNotCovered { year: 2027 };
    assert_eq!(
        cal.is_working_day(date!(2027 - 01 - 04)),
        Err(not_2027.clone())
    );
    assert_eq!(
        cal.is_working_day(date!(2022 - 06 - 01)),
        Err(CalendarError::YearNotCovered { year: 2022 })
    );
    // The 2023 notice starts 元旦 on 2022-12-31, but 2022 itself is still not covered.
    assert!(cal.is_working_day(date!(2022 - 12 - 31)).is_err());
    // 2026-12-31 is the first working day; the second would be in 2027.
    assert_eq!(
        cal.add_working_days(date!(2026 - 12 - 30), 1),
        Ok(date!(2026 - 12 - 31))
    );
    assert_eq!(
        cal.add_working_days(date!(2026 - 12 - 30), 2),
        Err(not_2027.clone())
    );
    assert_eq!(
        cal.working_days_between(date!(2026 - 12 - 01), date!(2027 - 01 - 10)),
        Err(not_2027.clone())
    );
    assert_eq!(
        cal.working_days_between(date!(2027 - 01 - 10), date!(2026 - 12 - 01)),
        Err(not_2027.clone())
    );
    assert_eq!(
        cal.urgency(date!(2027 - 01 - 08), date!(2026 - 12 - 28)),
        Err(not_2027.clone())
    );
    let message = not_2027.to_string();
    assert!(message.contains("2027年") && message.contains("State Council"));
    let empty = Calendar::from_toml("").unwrap();
    assert_eq!(
        empty.is_working_day(date!(2026 - 03 - 02)),
        Err(CalendarError::YearNotCovered { year: 2026 })
    );
}

#[test]
fn between_is_the_inverse_of_add() {
    let cal = cal();
    let mut start = date!(2023 - 01 - 01);
    while start < date!(2026 - 11 - 15) {
        for n in [0, 1, 2, 3, 5, 15, 20] {
            let due = cal.add_working_days(start, n).unwrap();
            assert_eq!(
                cal.working_days_between(start, due),
                Ok(i64::from(n)),
                "{start} + {n}"
            );
            assert_eq!(cal.working_days_between(due, start), Ok(-i64::from(n)));
        }
        start = start.next_day().unwrap();
    }
}

#[test]
fn between_counts_whole_years() {
    let cal = cal();
    let year_total = |y: i32| {
        cal.working_days_between(
            date!(2022 - 12 - 31).replace_year(y - 1).unwrap(),
            date!(2022 - 12 - 31).replace_year(y).unwrap(),
        )
    };
    // Totals per year of the notices (365/366 days less weekends and holidays, plus make-up days).
    assert_eq!(year_total(2024), Ok(251));
    assert_eq!(year_total(2025), Ok(248));
    assert_eq!(year_total(2026), Ok(248));
    assert_eq!(
        cal.working_days_between(date!(2023 - 12 - 31), date!(2026 - 12 - 31)),
        Ok(251 + 248 + 248)
    );
}

#[test]
fn due_at_is_midnight_beijing_after_the_due_day() {
    let cal = cal();
    // 23:00 Thursday 2/12 in Beijing: due end of make-up Saturday 2/14.
    let received = datetime!(2026-02-12 15:00 UTC);
    assert_eq!(cal.due_at(received, 2), Ok(datetime!(2026-02-15 00:00 +8)));
    // 01:00 Friday 2/13 in Beijing (still Thursday in UTC): due end of 2/24.
    let received = datetime!(2026-02-12 17:00 UTC);
    assert_eq!(cal.due_at(received, 2), Ok(datetime!(2026-02-25 00:00 +8)));
    let ms = (received.unix_timestamp_nanos() / 1_000_000) as i64;
    let due_ms = cal.due_at_ms(ms, 2).unwrap();
    assert_eq!(
        due_ms,
        (datetime!(2026-02-24 16:00 UTC).unix_timestamp_nanos() / 1_000_000) as i64
    );
}

#[test]
fn urgency_colours() {
    let cal = cal();
    let due = date!(2026 - 02 - 24);
    let at = |now: OffsetDateTime| cal.urgency(due, now).unwrap();
    assert_eq!(at(datetime!(2026-02-12 10:00 +8)), Urgency::Normal);
    assert_eq!(at(datetime!(2026-02-13 10:00 +8)), Urgency::Normal); // 2/14 and 2/24 left
    assert_eq!(at(datetime!(2026-02-14 10:00 +8)), Urgency::Yellow); // make-up day; 2/24 left
    assert_eq!(at(datetime!(2026-02-18 10:00 +8)), Urgency::Yellow); // holiday; 2/24 left
    assert_eq!(at(datetime!(2026-02-24 23:59 +8)), Urgency::Yellow); // due today
    assert_eq!(at(datetime!(2026-02-25 00:00 +8)), Urgency::Red);
    // 16:30 UTC on the due day is already 00:30 the next day in Beijing.
    assert_eq!(at(datetime!(2026-02-24 16:30 UTC)), Urgency::Red);
    // Overdue needs no calendar look-up at all.
    assert_eq!(
        cal.urgency(date!(2020 - 01 - 02), date!(2026 - 03 - 01)),
        Ok(Urgency::Red)
    );
    // Queues sort by urgency: red first.
    let mut list = vec![Urgency::Normal, Urgency::Red, Urgency::Yellow];
    list.sort_by(|a, b| b.cmp(a));
    assert_eq!(list, vec![Urgency::Red, Urgency::Yellow, Urgency::Normal]);
    assert_eq!(
        (Urgency::Yellow.as_str(), Urgency::Yellow.label_zh()),
        ("yellow", "临期")
    );
}

#[test]
fn elapsed_working_time_in_fractions() {
    let cal = cal();
    let e = |a, b| cal.working_days_elapsed(a, b).unwrap();
    // Friday 16:00 to Monday 10:00: 8 hours + 10 hours of working days.
    let v = e(
        datetime!(2026-03-06 16:00 +8),
        datetime!(2026-03-09 10:00 +8),
    );
    assert!((v - 0.75).abs() < 1e-9, "{v}");
    // Across Spring Festival: half of Friday, the make-up Saturday, half of Tuesday.
    let v = e(
        datetime!(2026-02-13 12:00 +8),
        datetime!(2026-02-24 12:00 +8),
    );
    assert!((v - 2.0).abs() < 1e-9, "{v}");
    let v = e(
        datetime!(2026-03-09 09:00 +8),
        datetime!(2026-03-09 17:00 +8),
    );
    assert!((v - 1.0 / 3.0).abs() < 1e-9, "{v}");
    assert_eq!(
        e(
            datetime!(2026-02-16 09:00 +8),
            datetime!(2026-02-16 17:00 +8)
        ),
        0.0
    );
    let v = e(
        datetime!(2026-03-09 10:00 +8),
        datetime!(2026-03-06 16:00 +8),
    );
    assert!((v + 0.75).abs() < 1e-9, "{v}");
    // Times given in UTC are read in Beijing time.
    let v = e(
        datetime!(2026-03-06 08:00 UTC),
        datetime!(2026-03-09 02:00 UTC),
    );
    assert!((v - 0.75).abs() < 1e-9, "{v}");
}

#[test]
fn a_deployment_adds_or_replaces_a_year_by_configuration() {
    // An invented year, for the mechanism only (not a real notice).
    let extra = r#"
[[year]]
year = 2027
title = "test notice"
published = "2026-11-01"
holidays = [{ name = "元旦", from = "01-01", to = "01-03", work = ["01-09"] }]
"#;
    let cal = Calendar::builtin().with_extra_toml(extra).unwrap();
    assert!(cal.covers(2026) && cal.covers(2027));
    assert_eq!(cal.is_working_day(date!(2027 - 01 - 01)), Ok(false));
    assert_eq!(cal.is_working_day(date!(2027 - 01 - 09)), Ok(true));
    assert_eq!(
        cal.add_working_days(date!(2026 - 12 - 30), 2),
        Ok(date!(2027 - 01 - 04))
    );
    // Replacing a year replaces it as a whole.
    let amended = "[[year]]\nyear = 2026\ntitle = \"amended\"\npublished = \"2026-01-20\"\n";
    let cal = Calendar::builtin().with_extra_toml(amended).unwrap();
    assert_eq!(cal.notice(2026).unwrap().title, "amended");
    assert_eq!(cal.is_working_day(date!(2026 - 02 - 16)), Ok(true));
    assert!(Calendar::builtin()
        .with_extra_toml("[[year]]\nyear = 2027\n")
        .is_err());
}

#[test]
fn a_missing_year_is_named_before_deadlines_need_it() {
    let cal = Calendar::builtin();
    // Mid-year 2026: this year is covered and the next one is not needed yet.
    assert_eq!(cal.missing_year(date!(2026 - 06 - 30)), None);
    assert_eq!(cal.missing_year(date!(2026 - 10 - 31)), None);
    // From November the next year's notice is due; the shipped data stops at 2026.
    assert_eq!(cal.missing_year(date!(2026 - 11 - 01)), Some(2027));
    assert_eq!(cal.missing_year(date!(2026 - 12 - 31)), Some(2027));
    // A year that is not covered at all is named first.
    assert_eq!(cal.missing_year(date!(2027 - 03 - 01)), Some(2027));
    assert_eq!(cal.missing_year(date!(2022 - 12 - 01)), Some(2022));
    // With the next year configured nothing is missing.
    let extra = "[[year]]\nyear = 2027\ntitle = \"test notice\"\npublished = \"2026-11-01\"\n";
    let cal = cal.with_extra_toml(extra).unwrap();
    assert_eq!(cal.missing_year(date!(2026 - 12 - 01)), None);
}
