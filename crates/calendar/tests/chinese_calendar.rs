//! Every day of the shipped data against an independent source: the verdicts of the Python
//! package chinese-calendar 1.11.0, dumped by tools/gen_fixture.py.

use time::{Date, Duration};
use yidu_calendar::Calendar;

const FIXTURE: &str = include_str!("fixtures/chinese-calendar.txt");

#[test]
fn fixture_agrees_with_chinese_calendar() {
    let cal = Calendar::builtin();
    let mut compared = 0;
    let mut years = vec![];
    let mut mismatches = vec![];
    for line in FIXTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (year, digits) = line.split_once(' ').expect("YEAR DIGITS");
        let year: i32 = year.parse().unwrap();
        let first = Date::from_ordinal_date(year, 1).unwrap();
        assert_eq!(
            digits.len(),
            usize::from(time::util::days_in_year(year)),
            "{year}"
        );
        for (i, digit) in digits.bytes().enumerate() {
            let day = first + Duration::days(i as i64);
            let theirs = digit == b'1';
            let ours = cal
                .is_working_day(day)
                .unwrap_or_else(|e| panic!("{day}: {e}"));
            if ours != theirs {
                mismatches.push(format!("{day}: ours {ours}, chinese-calendar {theirs}"));
            }
            compared += 1;
        }
        years.push(year);
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    for year in [2024, 2025, 2026] {
        assert!(years.contains(&year), "fixture lacks {year}");
    }
    // 2024..2026 alone are 1096 days; the fixture also has 2023.
    assert!(compared >= 1096, "{compared}");
}
