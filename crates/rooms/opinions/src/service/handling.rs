//! The handling side's use cases beyond single moves: bulk assignment, the staff and
//! deputy inbox, the daily digest of what is due, names for screens, and the export of
//! a filtered queue to .xlsx. Every function takes the principal and stays within its
//! scope like the single-item reads and moves do.

use super::access::{can_read, may_move};
use super::read::QueueFilter;
use super::Opinions;
use crate::model::flow::{next, ReopenPolicy};
use crate::model::{MoveInput, MoveKind, Status};
use crate::store::{self, OpinionRow};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use yidu_db::Row;
use yidu_kernel::clock::{format_china, now_ms};
use yidu_kernel::{AppError, AppResult, Page, PageQuery, Principal, Role};

/// Open states, as SQL text (the deadline counts only while someone owes an answer).
pub(crate) const OPEN_SQL: &str = "('submitted','accepted','assigned','in_progress','escalated')";

/// At most this many items in one bulk assignment.
pub const MAX_BULK: usize = 200;

/// At most this many rows in one export.
pub const MAX_EXPORT_ROWS: usize = 20_000;

// ---------------------------------------------------------------------------------------
// Bulk assignment

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct BulkAssign {
    pub ids: Vec<i64>,
    pub unit_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkItemResult {
    pub id: i64,
    pub ok: bool,
    /// The item's state after the assignment (or its unchanged state when refused).
    pub status: Option<Status>,
    /// Why this item cannot be assigned (zh-CN / English), when refused.
    pub error_zh: Option<String>,
    pub error_en: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    /// True when every item was assigned; false when none was (one refusal stops all).
    pub done: bool,
    pub assigned: usize,
    pub results: Vec<BulkItemResult>,
}

fn refused(id: i64, status: Option<Status>, e: &AppError) -> BulkItemResult {
    let m = e.message();
    BulkItemResult {
        id,
        ok: false,
        status,
        error_zh: Some(m.zh.clone()),
        error_en: Some(m.en.clone()),
    }
}

/// Assigns several items to one unit. Every item is checked first (scope, permission,
/// state); if any is refused, none is moved and the answer names each refusal. Each
/// assignment is its own transaction, so an item is never half-moved; should someone
/// move an item between the check and the assignment, that item alone is reported.
pub async fn bulk_assign(
    o: &Opinions,
    p: &Principal,
    client: &str,
    input: &BulkAssign,
) -> AppResult<BulkOutcome> {
    let mut ids: Vec<i64> = Vec::new();
    for id in &input.ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return Err(AppError::field(
            "ids",
            "请至少选择一项",
            "choose at least one item",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::field(
            "ids",
            &format!("一次最多交办 {MAX_BULK} 项"),
            &format!("at most {MAX_BULK} items at once"),
        ));
    }
    let unit_id = input
        .unit_id
        .ok_or_else(|| AppError::field("unit_id", "请选择承办单位", "choose the handling unit"))?;
    yidu_registry::scope::scope_region(&o.db, yidu_kernel::ScopeKind::Unit, unit_id)
        .await?
        .ok_or_else(|| {
            AppError::field(
                "unit_id",
                "承办单位不存在",
                "the handling unit does not exist",
            )
        })?;

    let mut results = Vec::with_capacity(ids.len());
    let mut all_ok = true;
    for &id in &ids {
        let row = {
            let mut conn = o.db.pool().acquire().await?;
            store::by_id(&mut conn, id).await?
        };
        let verdict = match row {
            Some(r) if can_read(p, &r) => {
                let reopen = ReopenPolicy {
                    max_reopens: o.config.max_reopens,
                    reopened: r.reopen_count as u32,
                };
                if !may_move(p, &r, MoveKind::Assign) {
                    Err((Some(r.status), AppError::Forbidden))
                } else if next(r.status, MoveKind::Assign, None, reopen).is_none() {
                    Err((
                        Some(r.status),
                        AppError::conflict(
                            &format!("当前状态“{}”下不能交办", r.status.label_zh()),
                            &format!(
                                "cannot assign an item that is {}",
                                r.status.label_en().to_lowercase()
                            ),
                        ),
                    ))
                } else {
                    Ok(r.status)
                }
            }
            _ => Err((None, AppError::NotFound)),
        };
        match verdict {
            Ok(s) => results.push(BulkItemResult {
                id,
                ok: true,
                status: Some(s),
                error_zh: None,
                error_en: None,
            }),
            Err((s, e)) => {
                all_ok = false;
                results.push(refused(id, s, &e));
            }
        }
    }
    if !all_ok {
        // Nothing moves; the items that passed are reported as not done either.
        for r in results.iter_mut().filter(|r| r.ok) {
            r.ok = false;
            r.error_zh = Some("其他事项未通过检查，本项未交办".into());
            r.error_en = Some("not assigned because another item was refused".into());
        }
        return Ok(BulkOutcome {
            done: false,
            assigned: 0,
            results,
        });
    }
    let mv = MoveInput {
        action: "assign".into(),
        note: input.note.clone(),
        unit_id: Some(unit_id),
        ..Default::default()
    };
    let mut assigned = 0;
    for r in results.iter_mut() {
        match super::moves::apply(o, p, client, r.id, &mv).await {
            Ok(s) => {
                assigned += 1;
                r.status = Some(s);
            }
            Err(e) => *r = refused(r.id, r.status, &e),
        }
    }
    Ok(BulkOutcome {
        done: assigned == results.len(),
        assigned,
        results,
    })
}

// ---------------------------------------------------------------------------------------
// Inbox

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: i64,
    pub opinion_id: Option<i64>,
    pub tracking_no: Option<String>,
    /// submitted, assigned, returned, escalated, reopened, ...
    pub kind: String,
    pub text: String,
    pub created_at: i64,
    pub created_local: String,
    pub read: bool,
}

/// The SQL condition selecting the principal's notifications; `$1` is a LIKE pattern.
/// Notices addressed to one user (the daily digest) are that user's alone, and the
/// administrator, who sees every shared notice, does not read deputies' digests.
fn inbox_scope(p: &Principal) -> AppResult<String> {
    let id = p.scope_id.unwrap_or(-1);
    let own = format!("i.user_id = {}", p.user_id);
    let shared = match p.role {
        Role::Admin => "i.kind <> 'digest'".to_string(),
        Role::Deputy => format!("i.deputy_id = {id}"),
        Role::Station => format!("i.station_id = {id}"),
        Role::Department => format!("i.unit_id = {id}"),
        Role::Office | Role::Township => {
            "i.region_id IN (SELECT r.id FROM regions r WHERE r.path LIKE $1)".to_string()
        }
        Role::Committee => "1 = 0".to_string(),
    };
    Ok(format!("((i.user_id IS NULL AND {shared}) OR {own})"))
}

/// The caller's notifications, newest first, with the number still unread.
pub async fn inbox(
    o: &Opinions,
    p: &Principal,
    q: &PageQuery,
) -> AppResult<(Page<InboxItem>, i64)> {
    let cond = inbox_scope(p)?;
    let like = p.scope_like();
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) FROM inbox i WHERE (LENGTH($1) >= 0) AND {cond}"
    ))
    .bind(&like)
    .fetch_one(o.db.pool())
    .await?
    .get(0);
    let unread: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) FROM inbox i WHERE (LENGTH($1) >= 0) AND {cond} AND i.read_at IS NULL"
    ))
    .bind(&like)
    .fetch_one(o.db.pool())
    .await?
    .get(0);
    let rows = sqlx::query(&format!(
        "SELECT i.id, i.opinion_id, o.tracking_no, i.kind, i.text, i.created_at, i.read_at
         FROM inbox i LEFT JOIN opinions o ON o.id = i.opinion_id
         WHERE (LENGTH($1) >= 0) AND {cond}
         ORDER BY i.created_at DESC, i.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&like)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(o.db.pool())
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            let at: i64 = r.get(5);
            let read_at: Option<i64> = r.get(6);
            InboxItem {
                id: r.get(0),
                opinion_id: r.get(1),
                tracking_no: r.get(2),
                kind: r.get(3),
                text: r.get(4),
                created_at: at,
                created_local: format_china(at),
                read: read_at.is_some(),
            }
        })
        .collect();
    Ok((Page::new(items, total, q), unread))
}

/// Marks one of the caller's notifications read; another's is NotFound.
pub async fn mark_read(o: &Opinions, p: &Principal, id: i64) -> AppResult<()> {
    let cond = inbox_scope(p)?;
    let found = sqlx::query(&format!(
        "SELECT i.id FROM inbox i WHERE (LENGTH($1) >= 0) AND i.id = $2 AND {cond}"
    ))
    .bind(p.scope_like())
    .bind(id)
    .fetch_optional(o.db.pool())
    .await?;
    if found.is_none() {
        return Err(AppError::NotFound);
    }
    let mut tx = o.db.begin().await?;
    sqlx::query("UPDATE inbox SET read_at = $2 WHERE id = $1 AND read_at IS NULL")
        .bind(id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Daily digest

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DigestItem {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status: Status,
    pub deadline_at: i64,
    pub deadline_local: String,
    pub urgency: String,
}

/// What is due: today, within a working day (yellow) and overdue (red).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Digest {
    pub due_today: i64,
    pub yellow: i64,
    pub red: i64,
    pub due_today_items: Vec<DigestItem>,
    pub yellow_items: Vec<DigestItem>,
    pub red_items: Vec<DigestItem>,
    /// The counts the queue page shows ([`page_digest`]): a count that reached the cap is
    /// a lower bound. Always false in the exact digest (the API, the daily notice).
    #[serde(skip)]
    pub due_today_capped: bool,
    #[serde(skip)]
    pub yellow_capped: bool,
    #[serde(skip)]
    pub red_capped: bool,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.due_today == 0 && self.yellow == 0 && self.red == 0
    }

    /// A count as shown: "10000+" when it stopped at the cap.
    fn shown(n: i64, capped: bool) -> String {
        if capped {
            format!("{n}+")
        } else {
            n.to_string()
        }
    }
    pub fn due_today_shown(&self) -> String {
        Self::shown(self.due_today, self.due_today_capped)
    }
    pub fn yellow_shown(&self) -> String {
        Self::shown(self.yellow, self.yellow_capped)
    }
    pub fn red_shown(&self) -> String {
        Self::shown(self.red, self.red_capped)
    }
}

/// The SQL condition of the principal's queue scope; `$1` is a LIKE pattern.
fn queue_scope(p: &Principal) -> String {
    let id = p.scope_id.unwrap_or(-1);
    match p.role {
        Role::Admin => "1 = 1".into(),
        Role::Office | Role::Township => "o.region_path LIKE $1".into(),
        Role::Station => format!("o.station_id = {id}"),
        Role::Deputy => format!("o.deputy_id = {id}"),
        Role::Department => format!("o.unit_id = {id}"),
        Role::Committee => "1 = 0".into(),
    }
}

/// Milliseconds at the start of the day after the next working day (China time): items
/// due before it are yellow or red.
pub(crate) fn horizon(o: &Opinions, now: i64) -> i64 {
    let next = yidu_calendar::china_time_ms(now).and_then(|n| o.calendar.add_working_days(n, 1));
    match next {
        Ok(d) => d
            .next_day()
            .map(|d| {
                d.midnight()
                    .assume_offset(time::UtcOffset::from_hms(8, 0, 0).expect("static offset"))
                    .unix_timestamp()
                    * 1000
            })
            .unwrap_or(now + 4 * 86_400_000),
        Err(_) => now + 4 * 86_400_000,
    }
}

const DIGEST_LIST: usize = 50;

/// How far the queue page's digest counts each kind of due item before it shows a lower
/// bound ("10000+"), as the queue counts its list ([`super::queue::QUEUE_COUNT_CAP`]).
/// The page is opened all day long; counting the 99,150 overdue items of the million-item
/// benchmark exactly took 0.5 s of every queue page. The daily digest stays exact.
pub const PAGE_DIGEST_CAP: i64 = 10_000;

/// The daily digest of the principal's open items that are due soon or overdue.
pub async fn digest(o: &Opinions, p: &Principal) -> AppResult<Digest> {
    digest_at(o, p, now_ms()).await
}

/// The digest shown on every queue page: the same lists, each count stopping at
/// [`PAGE_DIGEST_CAP`].
pub async fn page_digest(o: &Opinions, p: &Principal) -> AppResult<Digest> {
    digest_counted(o, p, now_ms(), Some(PAGE_DIGEST_CAP)).await
}

/// Midnight (China time) starting the day after `ms`'s day, in UTC ms.
fn china_day_end(ms: i64) -> Option<i64> {
    let day = yidu_calendar::china_time_ms(ms).ok()?.date().next_day()?;
    Some(
        day.midnight()
            .assume_offset(time::UtcOffset::from_hms(8, 0, 0).ok()?)
            .unix_timestamp()
            * 1000,
    )
}

/// The digest as it stands at `now` (UTC ms): the scheduled send passes its own time.
///
/// Counted in the database and only the listed items read: with many overdue items (a
/// million-item deployment has tens of thousands) reading every one for the queue page's
/// digest cost seconds and hundreds of MB. The deadline ranges are those of
/// [`Opinions::urgency`]: red when due, yellow when due by the end of the next working
/// day, due today when due by the end of today (China time).
pub async fn digest_at(o: &Opinions, p: &Principal, now: i64) -> AppResult<Digest> {
    digest_counted(o, p, now, None).await
}

/// The digest at `now`, each count exact (`cap` None) or stopping after `cap` items, in
/// which case it is a lower bound and flagged. With a cap, each list is read first and
/// counted only when it is full, so a page with few due items runs no count at all.
pub async fn digest_counted(
    o: &Opinions,
    p: &Principal,
    now: i64,
    cap: Option<i64>,
) -> AppResult<Digest> {
    let horizon = horizon(o, now);
    // Without a calendar for the next working day nothing is yellow (as in `urgency`).
    let yellow_ok = yidu_calendar::china_time_ms(now)
        .and_then(|n| o.calendar.add_working_days(n, 1))
        .is_ok();
    let today_end = china_day_end(now).unwrap_or(now).min(horizon);
    let base = format!(
        "FROM opinions o WHERE (LENGTH($1) >= 0) AND {} AND o.status IN {OPEN_SQL} AND o.deadline_at IS NOT NULL",
        queue_scope(p)
    );
    // Exact: the three counts in one pass over the due items.
    let exact: Option<[i64; 3]> = match cap {
        Some(_) => None,
        None => {
            let r = sqlx::query(&format!(
                "SELECT CAST(COALESCE(SUM(CASE WHEN o.deadline_at <= $2 THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN o.deadline_at > $2 AND o.deadline_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN o.deadline_at > $2 AND o.deadline_at <= $4 THEN 1 ELSE 0 END), 0) AS BIGINT)
                 {base} AND o.deadline_at < $3"
            ))
            .bind(p.scope_like())
            .bind(now)
            .bind(horizon)
            .bind(today_end)
            .fetch_one(o.db.pool())
            .await?;
            Some([r.get(0), r.get(1), r.get(2)])
        }
    };
    let mut d = Digest::default();
    // (after, up to, inclusive?): the three lists, earliest deadline first.
    let lists = [
        (i64::MIN, now, true),
        (now, horizon, false),
        (now, today_end, true),
    ];
    for (i, (after, until, inclusive)) in lists.into_iter().enumerate() {
        if (i == 1 && !yellow_ok) || exact.is_some_and(|c| c[i] == 0) {
            continue;
        }
        let cmp = if inclusive { "<=" } else { "<" };
        let range = format!("{base} AND o.deadline_at > $2 AND o.deadline_at {cmp} $3");
        let rows = sqlx::query(&format!(
            "SELECT o.id, o.tracking_no, o.title, o.status, o.deadline_at {range}
             ORDER BY o.deadline_at, o.id LIMIT {DIGEST_LIST}"
        ))
        .bind(p.scope_like())
        .bind(after)
        .bind(until)
        .fetch_all(o.db.pool())
        .await?;
        let (n, capped) = match cap {
            None => (exact.map_or(0, |c| c[i]), false),
            // A list that is not full is the whole count.
            Some(_) if rows.len() < DIGEST_LIST => (rows.len() as i64, false),
            Some(cap) => {
                let n: i64 = sqlx::query(&format!(
                    "SELECT COUNT(*) FROM (SELECT 1 {range} LIMIT {}) t",
                    cap + 1
                ))
                .bind(p.scope_like())
                .bind(after)
                .bind(until)
                .fetch_one(o.db.pool())
                .await?
                .get(0);
                (n.min(cap), n > cap)
            }
        };
        let items = rows.iter().map(|r| {
            let due: i64 = r.get(4);
            let status: String = r.get(3);
            DigestItem {
                id: r.get(0),
                tracking_no: r.get(1),
                title: r.get(2),
                status: Status::parse(&status).unwrap_or(Status::Submitted),
                deadline_at: due,
                deadline_local: format_china(due),
                urgency: match i {
                    0 => "red",
                    _ if yellow_ok => "yellow",
                    _ => "normal",
                }
                .to_string(),
            }
        });
        match i {
            0 => (d.red, d.red_capped, d.red_items) = (n, capped, items.collect()),
            1 => (d.yellow, d.yellow_capped, d.yellow_items) = (n, capped, items.collect()),
            _ => {
                (d.due_today, d.due_today_capped, d.due_today_items) = (n, capped, items.collect())
            }
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------
// Names and choices for screens

/// Names of the registry's records the principal may see, for lists and selects.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub regions: Vec<(i64, String, String)>,
    pub stations: Vec<(i64, String)>,
    pub deputies: Vec<(i64, String)>,
    pub units: Vec<(i64, String)>,
    pub categories: Vec<(i64, String)>,
    region_map: HashMap<i64, String>,
    station_map: HashMap<i64, String>,
    deputy_map: HashMap<i64, String>,
    unit_map: HashMap<i64, String>,
}

impl Names {
    /// Loads what the principal may see through the registry's services; a role the
    /// registry refuses a list to simply gets ids instead of names.
    pub async fn load(o: &Opinions, p: &Principal) -> AppResult<Names> {
        use yidu_registry::service::{deputies, regions, stations, units};
        let mut n = Names::default();
        if let Ok(rs) = regions::all(&o.db, p, &Default::default()).await {
            n.regions = rs
                .into_iter()
                .filter(|r| !r.retired)
                .map(|r| (r.id, r.name, r.full_name))
                .collect();
        }
        if let Ok(ss) = stations::all(&o.db, p, &Default::default()).await {
            n.stations = ss
                .into_iter()
                .filter(|s| !s.retired)
                .map(|s| (s.id, s.name))
                .collect();
        }
        if let Ok(ds) = deputies::all(&o.db, p, &Default::default()).await {
            n.deputies = ds.into_iter().map(|d| (d.id, d.name)).collect();
        }
        if let Ok(us) = units::all(&o.db, p, &Default::default()).await {
            n.units = us
                .into_iter()
                .filter(|u| !u.retired)
                .map(|u| (u.id, u.name))
                .collect();
        }
        n.categories = sqlx::query(
            "SELECT id, name FROM categories WHERE retired = 0 ORDER BY path, sort, id",
        )
        .fetch_all(o.db.pool())
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        n.region_map = n
            .regions
            .iter()
            .map(|(id, _, full)| (*id, full.clone()))
            .collect();
        n.station_map = n.stations.iter().cloned().collect();
        n.deputy_map = n.deputies.iter().cloned().collect();
        n.unit_map = n.units.iter().cloned().collect();
        Ok(n)
    }

    fn name(map: &HashMap<i64, String>, id: Option<i64>) -> String {
        match id {
            None => String::new(),
            Some(id) => map.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
        }
    }
    pub fn region(&self, id: i64) -> String {
        Self::name(&self.region_map, Some(id))
    }
    pub fn station(&self, id: Option<i64>) -> String {
        Self::name(&self.station_map, id)
    }
    pub fn deputy(&self, id: Option<i64>) -> String {
        Self::name(&self.deputy_map, id)
    }
    pub fn unit(&self, id: Option<i64>) -> String {
        Self::name(&self.unit_map, id)
    }
}

/// The moves the principal may make on the item right now (for the detail page's forms).
pub async fn allowed_moves(o: &Opinions, p: &Principal, id: i64) -> AppResult<Vec<MoveKind>> {
    let row: OpinionRow = {
        let mut conn = o.db.pool().acquire().await?;
        store::by_id(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    if !can_read(p, &row) {
        return Err(AppError::NotFound);
    }
    let reopen = ReopenPolicy {
        max_reopens: o.config.max_reopens,
        reopened: row.reopen_count as u32,
    };
    use MoveKind::*;
    Ok([
        Accept,
        AnswerOnSpot,
        Assign,
        Take,
        Return,
        Start,
        Reply,
        Escalate,
        Convert,
        Merge,
        Reject,
        Close,
    ]
    .into_iter()
    .filter(|k| may_move(p, &row, *k) && next(row.status, *k, None, reopen).is_some())
    .collect())
}

/// The item behind a tracking number, if the principal may read it (merge forms).
pub async fn id_by_tracking_no(
    o: &Opinions,
    p: &Principal,
    tracking_no: &str,
) -> AppResult<Option<i64>> {
    let no = tracking_no.trim().to_ascii_uppercase();
    Ok(store::by_tracking_no(&o.db, &no)
        .await?
        .filter(|r| can_read(p, r))
        .map(|r| r.id))
}

// ---------------------------------------------------------------------------------------
// Export

fn status_label(s: Status) -> String {
    format!("{} {}", s.label_zh(), s.label_en())
}

fn urgency_label(u: &str) -> &'static str {
    match u {
        "red" => "逾期 overdue",
        "yellow" => "临期 due soon",
        _ => "",
    }
}

fn satisfaction_label(s: Option<&str>) -> String {
    s.and_then(crate::model::Satisfaction::parse)
        .map(|s| s.label_zh().to_string())
        .unwrap_or_default()
}

/// The filtered queue as an .xlsx workbook, in the queue's order (at most
/// [`MAX_EXPORT_ROWS`] rows). Personal data is masked unless the viewer handles the item,
/// exactly as on screen. Items are read and written 500 at a time, so only the workbook
/// itself grows with the export.
pub async fn export_xlsx(o: &Opinions, p: &Principal, f: &QueueFilter) -> AppResult<Vec<u8>> {
    let names = Names::load(o, p).await?;
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let xl = |e: rust_xlsxwriter::XlsxError| AppError::internal(anyhow::anyhow!(e));
    ws.set_name("民意 Opinions").map_err(xl)?;
    let bold = Format::new().set_bold();
    let headers = [
        "受理编号 Tracking no",
        "状态 Status",
        "标题 Title",
        "类别 Category",
        "区域 Region",
        "联络站 Station",
        "代表 Deputy",
        "承办单位 Unit",
        "提交时间 Created",
        "办理期限 Deadline",
        "紧急程度 Urgency",
        "答复 Reply",
        "满意度 Satisfaction",
        "群众姓名 Name",
        "联系电话 Phone",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(xl)?;
    }
    let mut r = 0u32;
    super::queue::for_each_chunk(o, p, f, 500, MAX_EXPORT_ROWS, |items| {
        for it in items {
            r += 1;
            let cells = [
                it.tracking_no,
                status_label(it.status),
                it.title,
                it.category.unwrap_or_default(),
                names.region(it.region_id),
                names.station(it.station_id),
                names.deputy(it.deputy_id),
                names.unit(it.unit_id),
                format_china(it.created_at),
                it.deadline_at.map(format_china).unwrap_or_default(),
                urgency_label(&it.urgency).to_string(),
                it.reply_text,
                satisfaction_label(it.satisfaction.as_deref()),
                it.citizen_name.unwrap_or_default(),
                it.citizen_phone.unwrap_or_default(),
            ];
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(r, c as u16, v).map_err(xl)?;
            }
        }
        Ok(())
    })
    .await?;
    ws.set_column_width(2, 40).map_err(xl)?;
    ws.set_column_width(11, 40).map_err(xl)?;
    ws.set_freeze_panes(1, 0).map_err(xl)?;
    wb.save_to_buffer().map_err(xl)
}
