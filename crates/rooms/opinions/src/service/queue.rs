//! The staff queue: the items within the viewer's scope, filtered, most urgent first.
//!
//! A single `ORDER BY CASE open .. END, COALESCE(deadline_at, ..), created_at DESC` over
//! the whole scope cannot be served by any index, so at a million items every page sorted
//! every row (7-15 s). The plain queue is therefore read as three segments, one after the
//! other, each walked in order through its own partial index (migration 0011):
//!
//! 1. open items with a deadline, the earliest deadline first (`opinions_queue_due`);
//! 2. open items without a deadline, the newest first (`opinions_queue_open`);
//! 3. closed items (replied, closed, rejected, merged, converted), newest first
//!    (`opinions_queue_closed`).
//!
//! A page reads only the rows it shows plus its offset within its segment. The total is
//! counted segment after segment up to [`QUEUE_COUNT_CAP`] rows in all, like a search:
//! exact up to 10,000 items (the open items of most scopes), beyond that a lower bound
//! shown as "10000+" (counting the 99,000 open items of the million-item benchmark alone
//! took 0.5 s). A search (`q`) takes its own path (`search_queue`): matches newest first
//! straight from the text index, scope as index terms, counted up to `search::COUNT_CAP`;
//! the export of a search goes through the plan below with the scope in SQL.
//!
//! SQLite has no statistics here and prefers an index that matches a condition (e.g.
//! `opinions_status_deadline` for the open statuses, `opinions_station` for a station)
//! and then sorts everything it found: 0.5-1 s at a million items. Each segment's rows
//! are therefore read `INDEXED BY` its ordered index, unless the filters leave fewer than
//! [`SORT_MAX`] rows in it, which are cheaper to find by the filter's index and sort.

use super::search::{self, COUNT_CAP};

/// How far the plain queue counts before it shows a lower bound ("10000+"): the open items
/// of most scopes are counted exactly. Searches count less (`search::COUNT_CAP`).
pub const QUEUE_COUNT_CAP: i64 = 10_000;
use super::binds::{bind_all, Bind};
use super::Opinions;
use crate::model::Opinion;
use crate::store::{self, OpinionRow};
use serde::Deserialize;
use yidu_db::{Backend, Row};
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Page, PageQuery, Principal, Role};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub region_id: Option<i64>,
    pub station_id: Option<i64>,
    pub deputy_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub category_id: Option<i64>,
    /// Only items past their deadline.
    pub overdue: Option<bool>,
    /// Full-text search in title and body (Chinese however segmented; all terms required).
    /// Matches are listed newest first and counted up to 10,000 (`total_capped` beyond).
    pub q: Option<String>,
}

/// The open statuses, spelled exactly as in the partial indexes of migration 0011: SQLite
/// uses a partial index only when the query repeats its condition term for term.
const OPEN: &str = "o.status IN ('submitted','accepted','assigned','in_progress','escalated')";

/// Below this many matching rows a segment is read by the planner's choice and sorted.
const SORT_MAX: i64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Due,
    Open,
    Closed,
}

impl Segment {
    const ALL: [Segment; 3] = [Segment::Due, Segment::Open, Segment::Closed];
    fn condition(self) -> String {
        match self {
            Segment::Due => format!("{OPEN} AND o.deadline_at IS NOT NULL"),
            Segment::Open => format!("{OPEN} AND o.deadline_at IS NULL"),
            Segment::Closed => format!("o.status NOT IN {}", &OPEN["o.status IN ".len()..]),
        }
    }
    /// The order of the segment's index; the id breaks ties so pages never overlap.
    fn order(self) -> &'static str {
        match self {
            Segment::Due => "o.deadline_at, o.created_at DESC, o.id DESC",
            Segment::Open | Segment::Closed => "o.created_at DESC, o.id DESC",
        }
    }
    /// The partial index of migration 0011 that holds the segment in its order.
    fn index(self) -> &'static str {
        match self {
            Segment::Due => "opinions_queue_due",
            Segment::Open => "opinions_queue_open",
            Segment::Closed => "opinions_queue_closed",
        }
    }
}

/// The filtered queue as SQL: conditions with numbered placeholders and their values.
struct Plan {
    conds: Vec<String>,
    binds: Vec<Bind>,
    search: Option<search::Source>,
    segments: Vec<Segment>,
}

impl Plan {
    fn arg(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    async fn new(o: &Opinions, p: &Principal, f: &QueueFilter, now: i64) -> AppResult<Plan> {
        let mut plan = Plan {
            conds: Vec::new(),
            binds: Vec::new(),
            search: None,
            segments: Segment::ALL.to_vec(),
        };
        let scope = match p.role {
            Role::Admin => None,
            Role::Office | Role::Township => {
                let ph = plan.arg(Bind::Text(p.scope_like()));
                Some(format!("o.region_path LIKE {ph}"))
            }
            Role::Station => Some(format!("o.station_id = {}", p.scope_id.unwrap_or(-1))),
            Role::Deputy => Some(format!("o.deputy_id = {}", p.scope_id.unwrap_or(-1))),
            Role::Department => Some(format!("o.unit_id = {}", p.scope_id.unwrap_or(-1))),
            Role::Committee => return Err(AppError::Forbidden),
        };
        plan.conds.extend(scope);
        if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
            let st = crate::model::Status::parse(s)
                .ok_or_else(|| AppError::field("status", "未知的状态", "unknown status"))?;
            let ph = plan.arg(Bind::Text(st.as_str().to_string()));
            plan.conds.push(format!("o.status = {ph}"));
            // The status decides the segments: no query for those that cannot match.
            plan.segments
                .retain(|s| (*s == Segment::Closed) != st.is_open());
        }
        if let Some(r) = f.region_id {
            let region = yidu_registry::scope::region_path(&o.db, r)
                .await?
                .ok_or_else(|| AppError::field("region_id", "区域不存在", "no such region"))?;
            let ph = plan.arg(Bind::Text(format!("{}%", region.path)));
            plan.conds.push(format!("o.region_path LIKE {ph}"));
        }
        for (col, v) in [
            ("o.station_id", f.station_id),
            ("o.deputy_id", f.deputy_id),
            ("o.unit_id", f.unit_id),
            ("o.category_id", f.category_id),
        ] {
            if let Some(v) = v {
                let ph = plan.arg(Bind::Int(v));
                plan.conds.push(format!("{col} = {ph}"));
            }
        }
        if f.overdue == Some(true) {
            // Overdue items are open items with a deadline: the first segment only.
            let ph = plan.arg(Bind::Int(now));
            plan.conds.push(format!("o.deadline_at < {ph}"));
            plan.segments.retain(|s| *s == Segment::Due);
        }
        let terms = search::query_terms(f.q.as_deref().unwrap_or(""));
        if let Some(expr) = search::match_expr(o.db.backend(), &terms) {
            let ph = plan.arg(Bind::Text(expr));
            let source = search::source(o.db.backend(), &ph);
            plan.conds.push(source.condition.clone());
            // A search lists its matches newest first, open or closed, as one list.
            if plan.segments.is_empty() {
                plan.conds.push("1 = 0".into());
            } else if plan.segments.len() < Segment::ALL.len() {
                let any: Vec<String> = plan.segments.iter().map(|s| s.condition()).collect();
                plan.conds.push(format!("({})", any.join(" OR ")));
            }
            plan.search = Some(source);
        }
        Ok(plan)
    }

    /// ` FROM .. WHERE ..` with the filters and `extra` (a segment's condition), read
    /// through `index` when given (SQLite only).
    fn body_via(&self, extra: Option<&str>, index: Option<&str>) -> String {
        let hinted;
        let from = match (&self.search, index) {
            (Some(s), _) => s.from.as_str(),
            (None, Some(index)) => {
                hinted = format!("opinions o INDEXED BY {index}");
                hinted.as_str()
            }
            (None, None) => "opinions o",
        };
        let conds: Vec<&str> = self.conds.iter().map(String::as_str).chain(extra).collect();
        if conds.is_empty() {
            format!(" FROM {from}")
        } else {
            format!(" FROM {from} WHERE {}", conds.join(" AND "))
        }
    }

    fn body(&self, extra: Option<&str>) -> String {
        self.body_via(extra, None)
    }

    fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        bind_all(sqlx::query(sql), &self.binds)
    }

    /// Rows matching `extra`, counted up to `cap` (exactly when `cap` is None).
    async fn count(&self, o: &Opinions, extra: Option<&str>, cap: Option<i64>) -> AppResult<i64> {
        let body = self.body(extra);
        let sql = match cap {
            Some(cap) => format!("SELECT COUNT(*) FROM (SELECT 1{body} LIMIT {cap}) t"),
            None => format!("SELECT COUNT(*){body}"),
        };
        Ok(self.query(&sql).fetch_one(o.db.pool()).await?.get(0))
    }

    /// The total and whether it is only a lower bound: the segments are counted in
    /// order until [`QUEUE_COUNT_CAP`] rows in all (a search: [`COUNT_CAP`]).
    async fn total(&self, o: &Opinions) -> AppResult<(i64, bool)> {
        if self.search.is_some() {
            let n = self.count(o, None, Some(COUNT_CAP + 1)).await?;
            return Ok((n.min(COUNT_CAP), n > COUNT_CAP));
        }
        let mut left = QUEUE_COUNT_CAP + 1;
        for s in &self.segments {
            left -= self.count(o, Some(&s.condition()), Some(left)).await?;
            if left == 0 {
                return Ok((QUEUE_COUNT_CAP, true));
            }
        }
        Ok((QUEUE_COUNT_CAP + 1 - left, false))
    }

    async fn fetch(
        &self,
        o: &Opinions,
        segment: Option<Segment>,
        offset: i64,
        limit: i64,
    ) -> AppResult<Vec<OpinionRow>> {
        let (body, order) = match segment {
            None => (
                self.body(None),
                self.search.as_ref().map_or("o.id DESC", |s| s.newest_first),
            ),
            Some(seg) => {
                let cond = seg.condition();
                let index = if o.db.backend() == Backend::Sqlite
                    && self.count(o, Some(&cond), Some(SORT_MAX)).await? >= SORT_MAX
                {
                    Some(seg.index())
                } else {
                    None
                };
                (self.body_via(Some(&cond), index), seg.order())
            }
        };
        let sql = format!(
            "SELECT {}{body} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            store::COLUMNS
        );
        Ok(self
            .query(&sql)
            .fetch_all(o.db.pool())
            .await?
            .iter()
            .map(store::from_row)
            .collect())
    }

    /// `limit` rows from position `offset` of the whole ordered list. Each segment is
    /// skipped by its exact count when known, else by reading past it (the closed
    /// segment is last, so its offset is all that remains).
    async fn rows(&self, o: &Opinions, offset: i64, limit: i64) -> AppResult<Vec<OpinionRow>> {
        if self.search.is_some() {
            return self.fetch(o, None, offset, limit).await;
        }
        let mut out = Vec::new();
        let mut skip = offset;
        for (i, s) in self.segments.iter().enumerate() {
            let want = limit - out.len() as i64;
            if want <= 0 {
                break;
            }
            let cond = s.condition();
            let last = i + 1 == self.segments.len();
            if skip > 0 && !last {
                let n = self.count(o, Some(&cond), Some(skip)).await?;
                if n == skip {
                    // The whole segment is before the page, or it starts exactly here.
                    let got = self.fetch(o, Some(*s), skip, want).await?;
                    skip = 0;
                    out.extend(got);
                    continue;
                }
                skip -= n;
                continue;
            }
            out.extend(self.fetch(o, Some(*s), skip, want).await?);
            skip = 0;
        }
        Ok(out)
    }
}

/// The items within the viewer's scope, most urgent first: open items by deadline (the
/// earliest first), open items without deadline, then closed items, each newest first.
pub async fn queue(
    o: &Opinions,
    p: &Principal,
    f: &QueueFilter,
    q: &PageQuery,
) -> AppResult<Page<Opinion>> {
    let terms = search::query_terms(f.q.as_deref().unwrap_or(""));
    if !terms.is_empty() {
        return super::search_queue::queue(o, p, f, q, terms).await;
    }
    let now = now_ms();
    let plan = Plan::new(o, p, f, now).await?;
    let (total, capped) = plan.total(o).await?;
    let rows = plan.rows(o, q.offset(), q.limit()).await?;
    let items = super::read::page_items(o, p, &rows, now).await?;
    if capped {
        Ok(Page::capped(items, total, q))
    } else {
        Ok(Page::new(items, total, q))
    }
}

/// The whole filtered queue in order, `chunk` items at a time (the export): `each` gets
/// every chunk, and reading stops after `max` items.
pub async fn for_each_chunk<F>(
    o: &Opinions,
    p: &Principal,
    f: &QueueFilter,
    chunk: i64,
    max: usize,
    mut each: F,
) -> AppResult<()>
where
    F: FnMut(Vec<Opinion>) -> AppResult<()>,
{
    let now = now_ms();
    let plan = Plan::new(o, p, f, now).await?;
    let mut done = 0usize;
    while done < max {
        let want = chunk.min((max - done) as i64);
        let rows = plan.rows(o, done as i64, want).await?;
        let n = rows.len();
        each(super::read::page_items(o, p, &rows, now).await?)?;
        done += n;
        if (n as i64) < want {
            break;
        }
    }
    Ok(())
}
