//! The cockpit's numbers for a principal and a period, read from the counters (month rows
//! for whole months, day rows for the edges), plus the overdue list from the opinions
//! table's (status, deadline_at) index.

use crate::counters::{num, Counts, DAY, MONTH, WEEK};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, Duration, Month};
use yidu_db::{Db, Row};
use yidu_kernel::{clock, AppError, AppResult, Principal, Role};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct Period {
    /// First day (YYYY-MM-DD, Beijing time); default one year before `to`.
    pub from: Option<String>,
    /// Last day, included (YYYY-MM-DD); default today.
    pub to: Option<String>,
}

/// Totals and rates of one slice (all, a township, a category, a station).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Slice {
    pub id: String,
    pub name: String,
    pub received: i64,
    pub accepted: i64,
    pub handled: i64,
    pub replied: i64,
    pub closed: i64,
    pub on_time_replies: i64,
    pub late_replies: i64,
    pub satisfied: i64,
    pub basic: i64,
    pub unsatisfied: i64,
    /// (replied or finished) / received.
    pub handling_rate: Option<f64>,
    /// on-time replies / replies.
    pub on_time_rate: Option<f64>,
    /// (satisfied + basic) / rated.
    pub satisfaction_rate: Option<f64>,
    /// Mean working days from receipt to reply (or finish).
    pub mean_working_days: Option<f64>,
}

impl Slice {
    fn of(id: String, name: String, c: &Counts) -> Slice {
        let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        let rated = c.satisfied + c.basic + c.unsatisfied;
        Slice {
            id,
            name,
            received: c.received,
            accepted: c.accepted,
            handled: c.handled,
            replied: c.replied,
            closed: c.closed,
            on_time_replies: c.on_time,
            late_replies: c.late,
            satisfied: c.satisfied,
            basic: c.basic,
            unsatisfied: c.unsatisfied,
            handling_rate: ratio(c.handled, c.received),
            on_time_rate: ratio(c.on_time, c.on_time + c.late),
            satisfaction_rate: ratio(c.satisfied + c.basic, rated),
            mean_working_days: ratio(c.working_mdays, c.handled * 1000),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Week {
    /// Monday of the week (YYYY-MM-DD).
    pub week: String,
    pub received: i64,
    pub handled: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GridCount {
    pub grid_id: i64,
    pub name: String,
    pub received: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueItem {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status: String,
    pub deadline: String,
    pub days_over: i64,
}

/// Everything the cockpit shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cockpit {
    pub from: String,
    pub to: String,
    pub totals: Slice,
    pub by_township: Vec<Slice>,
    pub by_category: Vec<Slice>,
    pub by_station: Vec<Slice>,
    /// The 12 weeks ending with `to`, oldest first.
    pub weekly: Vec<Week>,
    /// Grids by items received in the period, most first.
    pub grids: Vec<GridCount>,
    /// Open items past their deadline, most overdue first (at most 20).
    pub overdue: Vec<OverdueItem>,
}

/// Who may read the cockpit: administrators, the office and townships (their scope).
pub fn may_read(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Office | Role::Township)
}

fn parse_day(s: &str, field: &str) -> AppResult<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt)
        .map_err(|_| AppError::field(field, "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD"))
}

pub fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn today() -> Date {
    clock::to_china(clock::now_ms()).date()
}

/// The period asked for, checked: from ≤ to, at most ten years.
pub fn resolve(p: &Period) -> AppResult<(Date, Date)> {
    let to = match p.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_day(s, "to")?,
        None => today(),
    };
    let from = match p.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_day(s, "from")?,
        None => to - Duration::days(364),
    };
    if from > to {
        return Err(AppError::field(
            "from",
            "起始日期不能晚于截止日期",
            "from must not be after to",
        ));
    }
    if (to - from).whole_days() > 3660 {
        return Err(AppError::field(
            "from",
            "时间段最长十年",
            "the period is at most ten years",
        ));
    }
    Ok((from, to))
}

/// The counter rows that add up to [from, to], as (grain, first, last) ranges of `day`:
/// month rows for the whole months inside, week rows for the whole weeks left at the
/// edges, day rows for the rest. A year reads 11-12 month rows, up to 8 week rows and at
/// most 12 day rows per key (instead of up to 30 day rows without weeks).
pub fn segments(from: Date, to: Date) -> Vec<(i64, i64, i64)> {
    let first_month = if from.day() == 1 {
        Some(from)
    } else {
        next_month(from)
    };
    let last_full = {
        let after = to + Duration::days(1);
        if after.day() == 1 {
            Some(to)
        } else {
            Date::from_calendar_date(to.year(), to.month(), 1)
                .ok()
                .and_then(|d| d.previous_day())
        }
    };
    let mut out = Vec::new();
    match (first_month, last_full) {
        (Some(m1), Some(m2)) if m1 <= m2 => {
            if from < m1 {
                weeks_and_days(from, m1 - Duration::days(1), &mut out);
            }
            out.push((MONTH, num(m1) / 100 * 100, num(m2) / 100 * 100));
            if m2 < to {
                weeks_and_days(m2 + Duration::days(1), to, &mut out);
            }
        }
        _ => weeks_and_days(from, to, &mut out),
    }
    out
}

/// [a, b] as day rows before the first Monday, week rows for the whole weeks, day rows
/// after the last Sunday (all day rows when no whole week fits).
fn weeks_and_days(a: Date, b: Date, out: &mut Vec<(i64, i64, i64)>) {
    let first_monday =
        a + Duration::days(i64::from((7 - a.weekday().number_days_from_monday()) % 7));
    let last_sunday =
        b - Duration::days(i64::from((b.weekday().number_days_from_monday() + 1) % 7));
    if first_monday + Duration::days(6) > last_sunday {
        out.push((DAY, num(a), num(b)));
        return;
    }
    if a < first_monday {
        out.push((DAY, num(a), num(first_monday - Duration::days(1))));
    }
    out.push((
        WEEK,
        num(first_monday),
        num(last_sunday - Duration::days(6)),
    ));
    if last_sunday < b {
        out.push((DAY, num(last_sunday + Duration::days(1)), num(b)));
    }
}

/// SQL condition selecting the counter rows of `segments`. Appends its bind values to
/// `args`.
fn period_condition(from: Date, to: Date, args: &mut Vec<i64>) -> String {
    condition(segments(from, to), args)
}

fn condition(segments: Vec<(i64, i64, i64)>, args: &mut Vec<i64>) -> String {
    let parts: Vec<String> = segments
        .into_iter()
        .map(|(grain, lo, hi)| {
            args.push(lo);
            args.push(hi);
            format!(
                "(grain = {grain} AND day BETWEEN ${} AND ${})",
                args.len() - 1,
                args.len()
            )
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

fn next_month(d: Date) -> Option<Date> {
    let (y, m) = if d.month() == Month::December {
        (d.year() + 1, Month::January)
    } else {
        (d.year(), d.month().next())
    };
    Date::from_calendar_date(y, m, 1).ok()
}

fn counts_of(r: &yidu_db::AnyRow, offset: usize) -> Counts {
    let g = |i: usize| r.get::<Option<i64>, _>(offset + i).unwrap_or(0);
    Counts {
        received: g(0),
        accepted: g(1),
        handled: g(2),
        replied: g(3),
        closed: g(4),
        on_time: g(5),
        late: g(6),
        satisfied: g(7),
        basic: g(8),
        unsatisfied: g(9),
        handling_ms: g(10),
        working_mdays: g(11),
    }
}

fn sums() -> String {
    crate::counters::COUNT_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn names(db: &Db, sql: &str, like: &str) -> AppResult<HashMap<String, String>> {
    let rows = sqlx::query(sql)
        .bind(like.to_string())
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect())
}

fn sorted(
    map: HashMap<String, Counts>,
    names: &HashMap<String, String>,
    unnamed: &str,
) -> Vec<Slice> {
    let mut v: Vec<Slice> = map
        .into_iter()
        .map(|(k, c)| {
            let name = names.get(&k).cloned().unwrap_or_else(|| {
                if k == "0" {
                    unnamed.to_string()
                } else {
                    k.clone()
                }
            });
            Slice::of(k, name, &c)
        })
        .collect();
    v.sort_by(|a, b| b.received.cmp(&a.received).then(a.name.cmp(&b.name)));
    v
}

/// Runs a SELECT with `args` bound in order, then `like`.
async fn fetch(db: &Db, sql: &str, args: &[i64], like: &str) -> AppResult<Vec<yidu_db::AnyRow>> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    Ok(q.bind(like.to_string()).fetch_all(db.pool()).await?)
}

/// Every (township, category, station) of the period, summed over its counter rows.
async fn slice_rows(db: &Db, from: Date, to: Date, like: &str) -> AppResult<Vec<yidu_db::AnyRow>> {
    let mut args = vec![];
    let cond = period_condition(from, to, &mut args);
    let sql = format!(
        "SELECT region_path, category_id, station_id, {} FROM cockpit_counters WHERE {cond} AND region_path LIKE ${} \
         GROUP BY region_path, category_id, station_id",
        sums(),
        args.len() + 1
    );
    fetch(db, &sql, &args, like).await
}

/// The 12 weeks ending with `to`: week rows for the 11 (or 12) whole weeks, day rows for
/// the days of the last week up to `to`.
async fn trend(db: &Db, to: Date, like: &str) -> AppResult<Vec<Week>> {
    let monday = to - Duration::days(i64::from(to.weekday().number_days_from_monday()));
    let start = monday - Duration::weeks(11);
    // Never month rows: a month does not split into the weeks it overlaps.
    let mut segs = Vec::new();
    weeks_and_days(start, to, &mut segs);
    let mut args = vec![];
    let cond = condition(segs, &mut args);
    let sql = format!(
        "SELECT day, CAST(SUM(received) AS BIGINT), CAST(SUM(handled) AS BIGINT) FROM cockpit_counters \
         WHERE {cond} AND region_path LIKE ${} GROUP BY grain, day",
        args.len() + 1
    );
    let rows = fetch(db, &sql, &args, like).await?;
    let mut weekly: Vec<Week> = (0..12)
        .map(|i| Week {
            week: ymd(start + Duration::weeks(i)),
            received: 0,
            handled: 0,
        })
        .collect();
    for r in &rows {
        if let Some(date) = crate::counters::date_of(r.get(0)) {
            let i = ((date - start).whole_days() / 7) as usize;
            if let Some(w) = weekly.get_mut(i) {
                w.received += r.get::<Option<i64>, _>(1).unwrap_or(0);
                w.handled += r.get::<Option<i64>, _>(2).unwrap_or(0);
            }
        }
    }
    Ok(weekly)
}

/// Items received per grid in the period, most first.
async fn grid_rows(db: &Db, from: Date, to: Date, like: &str) -> AppResult<Vec<(i64, i64)>> {
    let mut args = vec![];
    let cond = period_condition(from, to, &mut args);
    let sql = format!(
        "SELECT g.grid_id, CAST(SUM(g.received) AS BIGINT) AS n FROM cockpit_grids g WHERE {cond} AND g.region_path LIKE ${} \
         GROUP BY g.grid_id ORDER BY n DESC LIMIT 500",
        args.len() + 1
    );
    let rows = fetch(db, &sql, &args, like).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<Option<i64>, _>(1).unwrap_or(0)))
        .collect())
}

/// Names of the regions in scope: by path (townships) and, for grids and communities,
/// by id.
async fn region_names(
    db: &Db,
    like: &str,
) -> AppResult<(HashMap<String, String>, HashMap<String, String>)> {
    let rows = fetch(
        db,
        "SELECT id, path, name, level FROM regions WHERE path LIKE $1",
        &[],
        like,
    )
    .await?;
    let (mut by_path, mut grids) = (HashMap::new(), HashMap::new());
    for r in &rows {
        let name: String = r.get(2);
        let level: String = r.get(3);
        if level == "grid" || level == "community" {
            grids.insert(r.get::<i64, _>(0).to_string(), name.clone());
        }
        by_path.insert(r.get::<String, _>(1), name);
    }
    Ok((by_path, grids))
}

/// The cockpit for `p` over the period. The page's six queries are independent reads and
/// run at once, each on its own pooled connection.
pub async fn cockpit(db: &Db, p: &Principal, period: &Period) -> AppResult<Cockpit> {
    if !may_read(p) {
        return Err(AppError::Forbidden);
    }
    let (from, to) = resolve(period)?;
    let like = p.scope_like();
    let (rows, weekly, grid_counts, (town_names, grid_names), cat_names, station_names, overdue) =
        tokio::try_join!(
            slice_rows(db, from, to, &like),
            trend(db, to, &like),
            grid_rows(db, from, to, &like),
            region_names(db, &like),
            names(db, "SELECT CAST(id AS TEXT), name FROM categories WHERE $1 = $1", &like),
            names(
                db,
                "SELECT CAST(s.id AS TEXT), s.name FROM stations s JOIN regions r ON r.id = s.region_id WHERE r.path LIKE $1",
                &like,
            ),
            overdue(db, &like),
        )?;

    // Slices are folded here from the one scan.
    let (mut total, mut towns, mut cats, mut stations) = (
        Counts::default(),
        HashMap::<String, Counts>::new(),
        HashMap::<String, Counts>::new(),
        HashMap::<String, Counts>::new(),
    );
    for r in &rows {
        let c = counts_of(r, 3);
        total.add(&c, 1);
        towns.entry(r.get::<String, _>(0)).or_default().add(&c, 1);
        cats.entry(r.get::<i64, _>(1).to_string())
            .or_default()
            .add(&c, 1);
        stations
            .entry(r.get::<i64, _>(2).to_string())
            .or_default()
            .add(&c, 1);
    }
    let grids = grid_counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(id, received)| GridCount {
            grid_id: id,
            name: grid_names
                .get(&id.to_string())
                .cloned()
                .unwrap_or_else(|| format!("#{id}")),
            received,
        })
        .collect();

    Ok(Cockpit {
        from: ymd(from),
        to: ymd(to),
        totals: Slice::of("all".into(), "全部 / All".into(), &total),
        by_township: sorted(towns, &town_names, "—"),
        by_category: sorted(cats, &cat_names, "未分类 / Uncategorized"),
        by_station: sorted(stations, &station_names, "无站点 / No station"),
        weekly,
        grids,
        overdue,
    })
}

/// Statuses of an open item (the overdue list's).
const OPEN: [&str; 5] = [
    "submitted",
    "accepted",
    "assigned",
    "in_progress",
    "escalated",
];

/// Open items past their deadline, most overdue first. One ordered read of the
/// (status, deadline_at) index per open status, 20 rows each at most, merged: with
/// `status IN (...)` PostgreSQL read every overdue item (16,000 of 30,000 in the
/// benchmark) to sort them.
pub async fn overdue(db: &Db, like: &str) -> AppResult<Vec<OverdueItem>> {
    let now = clock::now_ms();
    let parts: Vec<String> = OPEN
        .iter()
        .map(|s| {
            format!(
                "SELECT * FROM (SELECT id, tracking_no, title, status, deadline_at FROM opinions \
                 WHERE status = '{s}' AND deadline_at < $1 AND region_path LIKE $2 ORDER BY deadline_at LIMIT 20) AS open_{s}"
            )
        })
        .collect();
    let sql = format!(
        "SELECT * FROM ({}) AS o ORDER BY deadline_at, id LIMIT 20",
        parts.join(" UNION ALL ")
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(like.to_string())
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let due: i64 = r.get(4);
            OverdueItem {
                id: r.get(0),
                tracking_no: r.get(1),
                title: r.get(2),
                status: r.get(3),
                deadline: clock::format_china(due),
                days_over: (now - due) / 86_400_000,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_uses_months_inside_then_weeks_then_days_at_edges() {
        let d = |s: &str| parse_day(s, "x").unwrap();
        // 2025-01-15 is a Wednesday: days 15-19, the week of Monday 20th, days 27-31;
        // February and March as months; April 1 (Tuesday) - 10: no whole week, days.
        assert_eq!(
            segments(d("2025-01-15"), d("2025-04-10")),
            vec![
                (DAY, 20250115, 20250119),
                (WEEK, 20250120, 20250120),
                (DAY, 20250127, 20250131),
                (MONTH, 20250200, 20250300),
                (DAY, 20250401, 20250410),
            ]
        );
        let mut args = vec![];
        let c = period_condition(d("2025-01-15"), d("2025-04-10"), &mut args);
        assert_eq!(args.len(), 10);
        assert!(c.contains("grain = 2") && c.contains("grain = 3"));
        assert_eq!(
            segments(d("2025-01-01"), d("2025-01-31")),
            vec![(MONTH, 20250100, 20250100)]
        );
        assert_eq!(
            segments(d("2025-01-03"), d("2025-01-09")),
            vec![(DAY, 20250103, 20250109)]
        );
        // A Monday-to-Sunday span is its week rows only.
        assert_eq!(
            segments(d("2026-11-02"), d("2026-11-29")),
            vec![(WEEK, 20261102, 20261123)]
        );
    }

    #[test]
    fn segments_cover_every_day_once() {
        // Every period of up to 100 days starting on any day of 2024-2025 (leap year
        // included): the days covered by the segments are exactly [from, to].
        let start = parse_day("2024-01-01", "x").unwrap();
        for s in (0..730).step_by(3) {
            for len in [0i64, 1, 6, 7, 13, 30, 45, 100, 364] {
                let from = start + Duration::days(s);
                let to = from + Duration::days(len);
                let mut days = Vec::new();
                for (grain, lo, hi) in segments(from, to) {
                    let (lo, hi) = match grain {
                        MONTH => (
                            crate::counters::date_of(lo + 1).unwrap(),
                            next_month(crate::counters::date_of(hi + 1).unwrap()).unwrap()
                                - Duration::days(1),
                        ),
                        WEEK => (
                            crate::counters::date_of(lo).unwrap(),
                            crate::counters::date_of(hi).unwrap() + Duration::days(6),
                        ),
                        _ => (
                            crate::counters::date_of(lo).unwrap(),
                            crate::counters::date_of(hi).unwrap(),
                        ),
                    };
                    if grain == WEEK {
                        assert_eq!(lo.weekday(), time::Weekday::Monday);
                    }
                    let mut d = lo;
                    while d <= hi {
                        days.push(d);
                        d += Duration::days(1);
                    }
                }
                days.sort();
                let want: Vec<Date> = (0..=len).map(|i| from + Duration::days(i)).collect();
                assert_eq!(days, want, "{from} .. {to}");
            }
        }
    }
}
