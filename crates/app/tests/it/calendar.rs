//! The holiday calendar a deployment runs on: the shipped notices plus its own holiday file,
//! and the warning staff see while a year that deadlines need has no data.

use crate::helpers::{plain_years, TestApp};
use std::sync::Arc;
use yidu_app::config::{Config, Overrides};
use yidu_calendar::Calendar;

fn this_year() -> i32 {
    yidu_kernel::clock::to_china(yidu_kernel::clock::now_ms()).year()
}

const WARNING_ZH: &str = "节假日安排：延伸到";

#[tokio::test]
async fn staff_are_told_when_the_holiday_data_deadlines_need_is_missing() {
    let year = this_year();
    // No data for any year: the current year is named on the queue page.
    let bare = TestApp::spawn_demo_with(|c| {
        c.calendar = Arc::new(Calendar::from_toml("").unwrap());
    })
    .await;
    let b = bare.browser();
    b.login("office").await;
    let html = b.get("/staff/opinions").await.text();
    assert!(html.contains(WARNING_ZH), "warning shown: {html}");
    assert!(
        html.contains(&format!("尚未载入{year}年")),
        "names the year"
    );

    // This year and the next covered: nothing to say, whatever the month.
    let covered = TestApp::spawn_demo_with(|c| {
        c.calendar = Arc::new(Calendar::from_toml(&plain_years(&[year, year + 1])).unwrap());
    })
    .await;
    let b = covered.browser();
    b.login("office").await;
    let html = b.get("/staff/opinions").await.text();
    assert!(!html.contains(WARNING_ZH), "no warning when covered");
}

#[test]
fn a_holiday_file_in_the_configuration_adds_years_and_a_bad_one_stops_start_up() {
    let dir = std::env::temp_dir().join(format!("yidu-it-holidays-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let holidays = dir.join("holidays.toml");
    std::fs::write(&holidays, plain_years(&[2031])).unwrap();
    let config_file = dir.join("yidu.toml");
    std::fs::write(
        &config_file,
        format!("holidays_file = {:?}\n", holidays.display().to_string()),
    )
    .unwrap();
    let load = || {
        Config::load(&Overrides {
            config_file: Some(config_file.clone()),
            ..Default::default()
        })
    };
    let config = load().expect("config with a holiday file");
    assert!(config.calendar.covers(2031), "the file's year is added");
    assert!(config.calendar.covers(2026), "the shipped years stay");
    assert!(!Config::load(&Overrides::default())
        .unwrap()
        .calendar
        .covers(2031));

    // A typing mistake (a make-up working day that is not a weekend) stops start-up and
    // the message names the file.
    std::fs::write(
        &holidays,
        "[[year]]\nyear = 2031\ntitle = \"t\"\npublished = \"2030-11-01\"\n\
         holidays = [{ name = \"元旦\", from = \"01-01\", to = \"01-01\", work = [\"01-08\"] }]\n",
    )
    .unwrap();
    let err = load().expect_err("bad holiday file refused").to_string();
    assert!(err.contains("holidays.toml"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
