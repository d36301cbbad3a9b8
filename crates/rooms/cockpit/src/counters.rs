//! The cockpit's counters. An item contributes to one key (the Beijing day and month it
//! was received, its township, category and station) a fixed set of numbers computed from
//! its current state only ([`tally`]). A move therefore changes the counters by
//! `tally(after) - tally(before)`, which [`record`] adds in the move's own transaction;
//! [`rebuild`] sums `tally` over the opinions table. Both give the same counters by
//! construction, and a rebuild repairs any drift.

use std::collections::{HashMap, HashSet};
use yidu_calendar::Calendar;
use yidu_db::{AnyConnection, Db, Row};

/// Grain of a counter row: one day (day = yyyymmdd), one month (day = yyyymm00) or one
/// Monday-to-Sunday week (day = the Monday's yyyymmdd).
pub const DAY: i64 = 1;
pub const MONTH: i64 = 2;
pub const WEEK: i64 = 3;

/// What the cockpit needs to know of an item, in the form the opinions table stores it.
#[derive(Debug, Clone, Default)]
pub struct Item {
    pub created_at: i64,
    /// The item's full region path ("/1/4/17/"); counted under its township.
    pub region_path: String,
    pub grid_id: Option<i64>,
    pub category_id: Option<i64>,
    pub station_id: Option<i64>,
    /// `Status::as_str()` of the opinions room.
    pub status: String,
    pub accepted_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// "", "satisfied", "basic" or "unsatisfied".
    pub satisfaction: String,
}

/// A move of one item: its state before (None when it was just received) and after.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub calendar: &'a Calendar,
    /// Working days allowed for the reply, counted from acceptance: the on-time rule.
    pub reply_days: u32,
    pub before: Option<Item>,
    pub after: Item,
}

impl<'a> Change<'a> {
    pub fn submitted(calendar: &'a Calendar, reply_days: u32, item: Item) -> Self {
        Change {
            calendar,
            reply_days,
            before: None,
            after: item,
        }
    }
    pub fn moved(calendar: &'a Calendar, reply_days: u32, before: Item, after: Item) -> Self {
        Change {
            calendar,
            reply_days,
            before: Some(before),
            after,
        }
    }
}

/// The numbers one item adds to its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: i64,
    pub accepted: i64,
    pub handled: i64,
    pub replied: i64,
    pub closed: i64,
    pub on_time: i64,
    pub late: i64,
    pub satisfied: i64,
    pub basic: i64,
    pub unsatisfied: i64,
    pub handling_ms: i64,
    /// Working days taken, in thousandths.
    pub working_mdays: i64,
}

impl Counts {
    fn fields(&self) -> [i64; 12] {
        [
            self.received,
            self.accepted,
            self.handled,
            self.replied,
            self.closed,
            self.on_time,
            self.late,
            self.satisfied,
            self.basic,
            self.unsatisfied,
            self.handling_ms,
            self.working_mdays,
        ]
    }
    pub fn add(&mut self, o: &Counts, sign: i64) {
        self.received += sign * o.received;
        self.accepted += sign * o.accepted;
        self.handled += sign * o.handled;
        self.replied += sign * o.replied;
        self.closed += sign * o.closed;
        self.on_time += sign * o.on_time;
        self.late += sign * o.late;
        self.satisfied += sign * o.satisfied;
        self.basic += sign * o.basic;
        self.unsatisfied += sign * o.unsatisfied;
        self.handling_ms += sign * o.handling_ms;
        self.working_mdays += sign * o.working_mdays;
    }
    pub fn is_zero(&self) -> bool {
        self.fields().iter().all(|v| *v == 0)
    }
}

pub const COUNT_COLUMNS: [&str; 12] = [
    "received",
    "accepted",
    "handled",
    "replied",
    "closed",
    "on_time_replies",
    "late_replies",
    "satisfied",
    "basic",
    "unsatisfied",
    "handling_ms_sum",
    "working_mdays_sum",
];

/// Where an item is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub day: i64,
    pub region_path: String,
    pub category_id: i64,
    pub station_id: i64,
    pub grid_id: i64,
}

impl Key {
    pub fn month(&self) -> i64 {
        self.day / 100 * 100
    }
    pub fn week(&self) -> i64 {
        monday_of(self.day)
    }
    /// The (grain, day) of the three rows an item is counted in.
    pub fn grains(&self) -> [(i64, i64); 3] {
        [(DAY, self.day), (WEEK, self.week()), (MONTH, self.month())]
    }
}

/// The yyyymmdd date as a calendar date (None for a malformed number).
pub fn date_of(day: i64) -> Option<time::Date> {
    let month = time::Month::try_from(u8::try_from(day / 100 % 100).ok()?).ok()?;
    time::Date::from_calendar_date(
        i32::try_from(day / 10_000).ok()?,
        month,
        u8::try_from(day % 100).ok()?,
    )
    .ok()
}

/// A date as yyyymmdd.
pub fn num(d: time::Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
}

/// The Monday (yyyymmdd) of the week of a yyyymmdd day; the day itself if malformed.
pub fn monday_of(day: i64) -> i64 {
    match date_of(day) {
        Some(d) => num(d - time::Duration::days(i64::from(d.weekday().number_days_from_monday()))),
        None => day,
    }
}

/// Beijing date of a UTC millisecond instant as yyyymmdd.
pub fn day_of(ms: i64) -> i64 {
    let t = yidu_kernel::clock::to_china(ms);
    i64::from(t.year()) * 10_000 + i64::from(u8::from(t.month())) * 100 + i64::from(t.day())
}

const FINAL: [&str; 4] = ["closed", "rejected", "merged", "converted"];

/// What one item in its current state adds to its key.
pub fn tally(cal: &Calendar, reply_days: u32, it: &Item) -> Counts {
    let mut c = Counts {
        received: 1,
        ..Counts::default()
    };
    let is_final = FINAL.contains(&it.status.as_str());
    c.accepted = i64::from(it.accepted_at.is_some());
    c.replied = i64::from(it.replied_at.is_some());
    c.closed = i64::from(is_final);
    c.handled = i64::from(is_final || it.replied_at.is_some());
    if let Some(r) = it.replied_at {
        let due = cal.due_at_ms(it.accepted_at.unwrap_or(it.created_at), reply_days);
        match due {
            Ok(d) if r > d => c.late = 1,
            _ => c.on_time = 1,
        }
    }
    if let Some(end) = it.replied_at.or(if is_final { it.closed_at } else { None }) {
        c.handling_ms = (end - it.created_at).max(0);
        if let (Ok(a), Ok(b)) = (
            yidu_calendar::china_time_ms(it.created_at),
            yidu_calendar::china_time_ms(end),
        ) {
            let wd = cal.working_days_elapsed(a, b).unwrap_or(0.0);
            c.working_mdays = (wd.max(0.0) * 1000.0).round() as i64;
        }
    }
    match it.satisfaction.as_str() {
        "satisfied" => c.satisfied = 1,
        "basic" => c.basic = 1,
        "unsatisfied" => c.unsatisfied = 1,
        _ => {}
    }
    c
}

/// The township path under which an item at `path` is counted: the deepest ancestor (or
/// the region itself) that is a township, else the path itself (a district-level item).
pub fn township_of(path: &str, townships: &HashSet<String>) -> String {
    prefixes(path)
        .into_iter()
        .rev()
        .find(|p| townships.contains(p))
        .unwrap_or_else(|| path.to_string())
}

/// "/1/4/17/" → ["/1/", "/1/4/", "/1/4/17/"].
fn prefixes(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::from("/");
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        acc.push_str(seg);
        acc.push('/');
        out.push(acc.clone());
    }
    out
}

async fn township_in_tx(conn: &mut AnyConnection, path: &str) -> Result<String, sqlx::Error> {
    let pre = prefixes(path);
    if pre.is_empty() {
        return Ok(path.to_string());
    }
    let marks: Vec<String> = (1..=pre.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT path FROM regions WHERE level = 'township' AND path IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for p in &pre {
        q = q.bind(p.clone());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let set: HashSet<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    Ok(township_of(path, &set))
}

async fn key_in_tx(conn: &mut AnyConnection, it: &Item) -> Result<Key, sqlx::Error> {
    Ok(Key {
        day: day_of(it.created_at),
        region_path: township_in_tx(conn, &it.region_path).await?,
        category_id: it.category_id.unwrap_or(0),
        station_id: it.station_id.unwrap_or(0),
        grid_id: it.grid_id.unwrap_or(0),
    })
}

/// Adds the change's effect to the counters, inside the caller's transaction.
pub async fn record(conn: &mut AnyConnection, ch: &Change<'_>) -> Result<(), sqlx::Error> {
    let after_key = key_in_tx(conn, &ch.after).await?;
    let after = tally(ch.calendar, ch.reply_days, &ch.after);
    match &ch.before {
        None => {
            upsert(conn, &after_key, &after).await?;
            bump_grid(conn, &after_key, 1).await?;
        }
        Some(b) => {
            let before_key = key_in_tx(conn, b).await?;
            let before = tally(ch.calendar, ch.reply_days, b);
            if before_key == after_key {
                let mut d = after;
                d.add(&before, -1);
                if !d.is_zero() {
                    upsert(conn, &after_key, &d).await?;
                }
            } else {
                // Re-classified (another category, grid or station): move the whole item.
                let mut minus = Counts::default();
                minus.add(&before, -1);
                upsert(conn, &before_key, &minus).await?;
                upsert(conn, &after_key, &after).await?;
                if before_key.grid_id != after_key.grid_id
                    || before_key.region_path != after_key.region_path
                {
                    bump_grid(conn, &before_key, -1).await?;
                    bump_grid(conn, &after_key, 1).await?;
                }
            }
        }
    }
    Ok(())
}

fn upsert_sql(rows: usize) -> String {
    let cols = COUNT_COLUMNS.join(", ");
    let per = 5 + COUNT_COLUMNS.len();
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=per).map(|i| format!("${}", r * per + i)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sets: Vec<String> = COUNT_COLUMNS
        .iter()
        .map(|c| format!("{c} = cockpit_counters.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO cockpit_counters (grain, day, region_path, category_id, station_id, {cols}) VALUES {} \
         ON CONFLICT (grain, day, region_path, category_id, station_id) DO UPDATE SET {}",
        values.join(", "),
        sets.join(", ")
    )
}

async fn upsert(conn: &mut AnyConnection, k: &Key, c: &Counts) -> Result<(), sqlx::Error> {
    let sql = upsert_sql(3);
    let mut q = sqlx::query(&sql);
    for (grain, day) in k.grains() {
        q = q
            .bind(grain)
            .bind(day)
            .bind(k.region_path.clone())
            .bind(k.category_id)
            .bind(k.station_id);
        for v in c.fields() {
            q = q.bind(v);
        }
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

const GRID_UPSERT: &str = "INSERT INTO cockpit_grids (grain, day, region_path, grid_id, received) VALUES ($1, $2, $3, $4, $5), ($6, $7, $3, $4, $5), ($8, $9, $3, $4, $5) \
     ON CONFLICT (grain, day, region_path, grid_id) DO UPDATE SET received = cockpit_grids.received + excluded.received";

async fn bump_grid(conn: &mut AnyConnection, k: &Key, n: i64) -> Result<(), sqlx::Error> {
    if k.grid_id == 0 {
        return Ok(());
    }
    sqlx::query(GRID_UPSERT)
        .bind(DAY)
        .bind(k.day)
        .bind(k.region_path.clone())
        .bind(k.grid_id)
        .bind(n)
        .bind(WEEK)
        .bind(k.week())
        .bind(MONTH)
        .bind(k.month())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds newly received items to the counters, inside the caller's transaction: one
/// township look-up and one upsert per table for all of them (the intake's batches).
/// Equal to [`record`] with [`Change::submitted`] for each item.
pub async fn record_received(
    conn: &mut AnyConnection,
    cal: &Calendar,
    reply_days: u32,
    items: &[Item],
) -> Result<(), sqlx::Error> {
    let mut paths: Vec<String> = items
        .iter()
        .flat_map(|i| prefixes(&i.region_path))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut townships = HashSet::new();
    for chunk in paths.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT path FROM regions WHERE level = 'township' AND path IN ({})",
            marks.join(", ")
        );
        let sql = yidu_db::positional(conn, sql);
        let mut q = sqlx::query(&sql).persistent(false);
        for p in chunk {
            q = q.bind(p.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            townships.insert(r.get::<String, _>(0));
        }
    }
    let mut totals = Totals::default();
    for it in items {
        let key = Key {
            day: day_of(it.created_at),
            region_path: township_of(&it.region_path, &townships),
            category_id: it.category_id.unwrap_or(0),
            station_id: it.station_id.unwrap_or(0),
            grid_id: it.grid_id.unwrap_or(0),
        };
        totals.add(&key, &tally(cal, reply_days, it));
    }
    totals.write(conn).await
}

/// Counter rows computed in memory, every grain, ready to be written.
#[derive(Default)]
pub struct Totals {
    pub counters: HashMap<(i64, i64, String, i64, i64), Counts>,
    pub grids: HashMap<(i64, i64, String, i64), i64>,
}

impl Totals {
    pub fn add(&mut self, k: &Key, c: &Counts) {
        for (grain, day) in k.grains() {
            self.counters
                .entry((
                    grain,
                    day,
                    k.region_path.clone(),
                    k.category_id,
                    k.station_id,
                ))
                .or_default()
                .add(c, 1);
            if k.grid_id != 0 {
                *self
                    .grids
                    .entry((grain, day, k.region_path.clone(), k.grid_id))
                    .or_default() += 1;
            }
        }
    }

    /// Writes every row with multi-row INSERTs (the tables must hold no conflicting rows).
    /// Rows go in key order (grain, day, ...): SQLite stores a table in insertion order
    /// next to its key index, so a period's rows then sit on neighbouring pages; in hash
    /// order every row of a year's query was a read from a different page.
    pub async fn write(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let mut rows: Vec<_> = self.counters.iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let per = 200;
        for chunk in rows.chunks(per) {
            let sql = yidu_db::positional(conn, upsert_sql(chunk.len()));
            let mut q = sqlx::query(&sql);
            for ((grain, day, path, cat, st), c) in chunk {
                q = q
                    .bind(*grain)
                    .bind(*day)
                    .bind(path.clone())
                    .bind(*cat)
                    .bind(*st);
                for v in c.fields() {
                    q = q.bind(v);
                }
            }
            q.execute(&mut *conn).await?;
        }
        let mut grids: Vec<_> = self.grids.iter().collect();
        grids.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for chunk in grids.chunks(500) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        i * 5 + 1,
                        i * 5 + 2,
                        i * 5 + 3,
                        i * 5 + 4,
                        i * 5 + 5
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO cockpit_grids (grain, day, region_path, grid_id, received) VALUES {} \
                 ON CONFLICT (grain, day, region_path, grid_id) DO UPDATE SET received = cockpit_grids.received + excluded.received",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for ((grain, day, path, grid), n) in chunk {
                q = q
                    .bind(*grain)
                    .bind(*day)
                    .bind(path.clone())
                    .bind(*grid)
                    .bind(**n);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Every township path (for [`township_of`]).
pub async fn township_paths(db: &Db) -> Result<HashSet<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT path FROM regions WHERE level = 'township'")
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Recomputes both counter tables from the opinions table in one transaction: the
/// recovery tool, and the fast way to count a bulk-loaded history. Returns the number
/// of items counted.
pub async fn rebuild(db: &Db, cal: &Calendar, reply_days: u32) -> anyhow::Result<usize> {
    let towns = township_paths(db).await?;
    let mut totals = Totals::default();
    let mut last_id = 0i64;
    let mut n = 0usize;
    loop {
        let rows = sqlx::query(
            "SELECT id, created_at, region_path, grid_id, category_id, station_id, status, accepted_at, replied_at, \
             closed_at, satisfaction FROM opinions WHERE id > $1 ORDER BY id LIMIT 20000",
        )
        .bind(last_id)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            last_id = r.get("id");
            let it = Item {
                created_at: r.get("created_at"),
                region_path: r.get("region_path"),
                grid_id: r.get("grid_id"),
                category_id: r.get("category_id"),
                station_id: r.get("station_id"),
                status: r.get("status"),
                accepted_at: r.get("accepted_at"),
                replied_at: r.get("replied_at"),
                closed_at: r.get("closed_at"),
                satisfaction: r.get("satisfaction"),
            };
            let key = Key {
                day: day_of(it.created_at),
                region_path: township_of(&it.region_path, &towns),
                category_id: it.category_id.unwrap_or(0),
                station_id: it.station_id.unwrap_or(0),
                grid_id: it.grid_id.unwrap_or(0),
            };
            totals.add(&key, &tally(cal, reply_days, &it));
            n += 1;
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM cockpit_counters")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM cockpit_grids")
        .execute(&mut *tx)
        .await?;
    totals.write(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_townships() {
        let t: HashSet<String> = ["/1/4/".to_string()].into_iter().collect();
        assert_eq!(township_of("/1/4/17/90/", &t), "/1/4/");
        assert_eq!(township_of("/1/", &t), "/1/");
    }

    #[test]
    fn tally_of_a_rated_item() {
        let cal = Calendar::builtin();
        let created = 1_767_232_800_000; // 2026-01-01 10:00 Beijing
        let it = Item {
            created_at: created,
            status: "closed".into(),
            accepted_at: Some(created + 3_600_000),
            replied_at: Some(created + 5 * 86_400_000),
            closed_at: Some(created + 6 * 86_400_000),
            satisfaction: "satisfied".into(),
            ..Item::default()
        };
        let c = tally(&cal, 15, &it);
        assert_eq!(
            (c.received, c.accepted, c.handled, c.replied, c.closed),
            (1, 1, 1, 1, 1)
        );
        assert_eq!((c.on_time, c.late, c.satisfied), (1, 0, 1));
        assert!(c.working_mdays > 0);
        assert_eq!(day_of(created), 20260101);
    }
}
