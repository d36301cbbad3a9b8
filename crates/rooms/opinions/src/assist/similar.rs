//! Near duplicates: the most similar open items in the same area, from an in-memory
//! `yidu_text::NearDupIndex`. The index is built from the open items at first use and then
//! follows the database by two watermarks (the highest id seen for new items, the latest
//! update time seen for items that closed, merged or reopened), at most once a second, so
//! a lookup costs no database round trip and several instances agree within a second.

use crate::model::Status;
use crate::service::access::can_read;
use crate::store;
use crate::Opinions;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use yidu_db::Row;
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Principal};
use yidu_text::{NearDupIndex, NearDupParams};

const REFRESH_EVERY_MS: i64 = 1_000;
/// Update times within this window of the watermark are read again: a transaction that
/// committed late with an earlier time is not missed (re-applying a row is harmless).
const UPDATE_SLACK_MS: i64 = 10_000;

#[derive(Default)]
pub struct DupIndex {
    state: RwLock<State>,
    refreshing: AtomicBool,
}

#[derive(Default)]
struct State {
    index: Option<NearDupIndex>,
    max_id: i64,
    max_updated: i64,
    refreshed_at: i64,
}

/// The area an item is compared within: its grid when it has one, else its region.
pub fn area_key(region_id: i64, grid_id: Option<i64>) -> String {
    match grid_id {
        Some(g) => format!("g{g}"),
        None => format!("r{region_id}"),
    }
}

fn text_of(title: &str, body: &str) -> String {
    format!("{title}\n{body}")
}

fn open_status(s: &str) -> bool {
    Status::parse(s).is_some_and(|s| s.is_open())
}

/// Brings the index up to date when the last refresh is older than a second (or `force`).
/// One refresh at a time per process; lookups meanwhile use the index as it is.
pub async fn refresh(o: &Opinions, force: bool) -> AppResult<()> {
    let now = now_ms();
    let (loaded, max_id, max_updated) = {
        let s = o.assist.dup.state.read().expect("dup lock");
        if !force && s.index.is_some() && now - s.refreshed_at < REFRESH_EVERY_MS {
            return Ok(());
        }
        (s.index.is_some(), s.max_id, s.max_updated)
    };
    if o.assist.dup.refreshing.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    if !loaded {
        let result = load(o).await;
        o.assist.dup.refreshing.store(false, Ordering::Release);
        let (index, max_id, max_updated) = result?;
        let mut s = o.assist.dup.state.write().expect("dup lock");
        *s = State {
            index: Some(index),
            max_id,
            max_updated,
            refreshed_at: now,
        };
        return Ok(());
    }
    let result = fetch(o, max_id, max_updated).await;
    o.assist.dup.refreshing.store(false, Ordering::Release);
    let rows = result?;
    let mut s = o.assist.dup.state.write().expect("dup lock");
    let index = s.index.get_or_insert_with(|| {
        NearDupIndex::new(NearDupParams {
            min_similarity: o.config.assist.similar_min,
            ..NearDupParams::default()
        })
    });
    let mut max_id = max_id;
    let mut max_updated = max_updated;
    let mut changes = Vec::with_capacity(rows.len());
    for r in rows {
        max_id = max_id.max(r.id);
        max_updated = max_updated.max(r.updated_at);
        changes.push(r);
    }
    for r in changes {
        let open = open_status(&r.status);
        if !index.set_open(r.id as u64, open) && open {
            index.insert(r.id as u64, &r.area, &r.text);
        }
    }
    s.max_id = max_id;
    s.max_updated = max_updated;
    s.refreshed_at = now;
    Ok(())
}

struct Fetched {
    id: i64,
    updated_at: i64,
    status: String,
    area: String,
    text: String,
}

fn fetched(r: &yidu_db::AnyRow) -> Fetched {
    let title: String = r.get(5);
    let body: String = r.get(6);
    Fetched {
        id: r.get(0),
        updated_at: r.get(1),
        status: r.get(2),
        area: area_key(r.get(3), r.get(4)),
        text: text_of(&title, &body),
    }
}

/// Items new or changed since the watermarks.
async fn fetch(o: &Opinions, max_id: i64, max_updated: i64) -> AppResult<Vec<Fetched>> {
    let rows = sqlx::query(
        "SELECT id, updated_at, status, region_id, grid_id, title, body FROM opinions WHERE id > $1 OR updated_at >= $2",
    )
    .bind(max_id)
    .bind(max_updated - UPDATE_SLACK_MS)
    .fetch_all(o.db.pool())
    .await?;
    Ok(rows.iter().map(fetched).collect())
}

/// Open items read per query when the index is first built.
const LOAD_PAGE: i64 = 2_000;

/// The index of every open item, with the watermarks it is current to. Only open items
/// are indexed (closed ones are never returned), and they are read a page at a time by
/// id, so building it holds one page of texts at once, not every open (or every recent)
/// item's text: at a million items that difference stayed in the process as hundreds of MB.
/// The watermarks are read first, so that anything written meanwhile is read again by
/// the next refresh (re-applying a row is harmless).
async fn load(o: &Opinions) -> AppResult<(NearDupIndex, i64, i64)> {
    let marks = sqlx::query("SELECT MAX(id), MAX(updated_at) FROM opinions")
        .fetch_one(o.db.pool())
        .await?;
    let max_id: i64 = marks.get::<Option<i64>, _>(0).unwrap_or(0);
    let max_updated: i64 = marks.get::<Option<i64>, _>(1).unwrap_or(0);
    let open: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT id, updated_at, status, region_id, grid_id, title, body FROM opinions WHERE status IN ({}) AND id > $1 ORDER BY id LIMIT {LOAD_PAGE}",
        open.join(", ")
    );
    let mut index = NearDupIndex::new(NearDupParams::default());
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(&sql).bind(after).fetch_all(o.db.pool()).await?;
        for r in rows.iter().map(fetched) {
            after = after.max(r.id);
            index.insert(r.id as u64, &r.area, &r.text);
        }
        if (rows.len() as i64) < LOAD_PAGE {
            break;
        }
    }
    Ok((index, max_id, max_updated))
}

/// Ids and similarities of the open items most like a text in an area (index only).
pub fn lookup(o: &Opinions, area: &str, title: &str, body: &str, limit: usize) -> Vec<(i64, f32)> {
    let s = o.assist.dup.state.read().expect("dup lock");
    let Some(index) = s.index.as_ref() else {
        return Vec::new();
    };
    index
        .query(area, &text_of(title, body), limit)
        .into_iter()
        .map(|m| (m.id as i64, m.similarity))
        .collect()
}

/// A similar open item as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimilarItem {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status: Status,
    /// Estimated similarity of the texts, 0–1.
    pub similarity: f32,
    /// 同问 count.
    pub metoo: i64,
}

/// Titles, numbers and statuses of some items in one query.
pub(crate) async fn rows_of(
    o: &Opinions,
    ids: &[i64],
) -> AppResult<HashMap<i64, store::OpinionRow>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    // Not kept in the connection's statement cache: the ids are in the text, so each call
    // is a statement of its own (see `metoo::metoo_counts`).
    let rows = sqlx::query(&format!(
        "SELECT {} FROM opinions o WHERE o.id IN ({})",
        store::COLUMNS,
        list.join(", ")
    ))
    .persistent(false)
    .fetch_all(o.db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(store::from_row)
        .map(|r| (r.id, r))
        .collect())
}

/// The most similar open items to item `id` in its area that the principal may read,
/// best first (at most 5).
pub async fn for_item(o: &Opinions, p: &Principal, id: i64) -> AppResult<Vec<SimilarItem>> {
    let mut conn = o.db.pool().acquire().await?;
    let row = store::by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    if !can_read(p, &row) {
        return Err(AppError::NotFound);
    }
    similar_to(o, p, &row).await
}

pub(crate) async fn similar_to(
    o: &Opinions,
    p: &Principal,
    row: &store::OpinionRow,
) -> AppResult<Vec<SimilarItem>> {
    refresh(o, false).await?;
    let area = area_key(row.region_id, row.grid_id);
    let found: Vec<(i64, f32)> = lookup(o, &area, &row.title, &row.body, 8)
        .into_iter()
        .filter(|(i, _)| *i != row.id)
        .collect();
    let ids: Vec<i64> = found.iter().map(|(i, _)| *i).collect();
    let rows = rows_of(o, &ids).await?;
    let counts = super::metoo::metoo_counts(o, &ids).await?;
    Ok(found
        .into_iter()
        .filter_map(|(i, similarity)| {
            let r = rows.get(&i)?;
            (r.status.is_open() && can_read(p, r)).then(|| SimilarItem {
                id: i,
                tracking_no: r.tracking_no.clone(),
                title: r.title.clone(),
                status: r.status,
                similarity,
                metoo: counts.get(&i).copied().unwrap_or(0),
            })
        })
        .take(5)
        .collect())
}
