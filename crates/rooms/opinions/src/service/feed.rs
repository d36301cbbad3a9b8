//! What the class-case room (类案, crates/rooms/classes) reads of opinions: the items to
//! cluster (text, place, time, state) and short descriptions of members for the people
//! who may read them. Clustering is the system's own work, so [`window`], [`after`] and
//! [`states`] take no principal; they never leave the server and carry no personal data.
//! [`briefs`] is for screens and keeps to what the viewer may read.

use super::access::can_read;
use super::Opinions;
use crate::model::Status;
use crate::store::{self, OpinionRow};
use serde::Serialize;
use yidu_db::Row;
use yidu_kernel::{AppResult, Principal};

/// Open states, as SQL text.
const OPEN_SQL: &str = "('submitted','accepted','assigned','in_progress','escalated')";

/// An opinion as the clustering sees it.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub id: i64,
    pub tracking_no: String,
    pub district_id: Option<i64>,
    pub region_path: String,
    pub grid_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub status: Status,
    pub unit_id: Option<i64>,
    pub created_at: i64,
}

impl FeedItem {
    fn of(r: &OpinionRow) -> FeedItem {
        FeedItem {
            id: r.id,
            tracking_no: r.tracking_no.clone(),
            district_id: r.district_id,
            region_path: r.region_path.clone(),
            grid_id: r.grid_id,
            title: r.title.clone(),
            body: r.body.clone(),
            status: r.status,
            unit_id: r.unit_id,
            created_at: r.created_at,
        }
    }
}

/// Items that did not end as duplicates, rejections or conversions: what a class is about.
const LIVE_SQL: &str = "o.status NOT IN ('merged','rejected','converted')";

/// The district's items to cluster: every open item plus those that arrived since `since`
/// (UTC ms), oldest first (by id, the order they arrived in).
pub async fn window(o: &Opinions, district_id: i64, since: i64) -> AppResult<Vec<FeedItem>> {
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let page = window_page(o, district_id, since, after, WINDOW_PAGE).await?;
        let Some(last) = page.last().map(|i| i.id) else {
            break;
        };
        after = last;
        let full = page.len() as i64 == WINDOW_PAGE;
        out.extend(page);
        if !full {
            break;
        }
    }
    Ok(out)
}

/// One page of [`window`]: at most `limit` of its items with an id above `after_id`, in id
/// order. A caller that streams the window (the class rebuild reads a million-item
/// district's window several times) holds one page at a time.
pub async fn window_page(
    o: &Opinions,
    district_id: i64,
    since: i64,
    after_id: i64,
    limit: i64,
) -> AppResult<Vec<FeedItem>> {
    // Only the columns a FeedItem keeps, a page at a time: a million-item district has
    // hundreds of thousands of items in the window, and reading them all as full rows in
    // one result held over a GB at once.
    let sql = format!(
        "SELECT {FEED_COLUMNS}
           FROM opinions o WHERE o.district_id = $1 AND {LIVE_SQL}
           AND (o.created_at >= $2 OR o.status IN {OPEN_SQL}) AND o.id > $3 ORDER BY o.id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(district_id)
        .bind(since)
        .bind(after_id)
        .bind(limit)
        .fetch_all(o.db.pool())
        .await?;
    Ok(rows.iter().map(feed_item).collect())
}

/// The columns [`feed_item`] reads.
const FEED_COLUMNS: &str =
    "o.id, o.tracking_no, o.district_id, o.region_path, o.grid_id, o.title, o.body,
                o.status, o.unit_id, o.created_at";

fn feed_item(r: &yidu_db::AnyRow) -> FeedItem {
    let status: String = r.get(7);
    FeedItem {
        id: r.get(0),
        tracking_no: r.get(1),
        district_id: r.get(2),
        region_path: r.get(3),
        grid_id: r.get(4),
        title: r.get(5),
        body: r.get(6),
        status: Status::parse(&status).unwrap_or(Status::Submitted),
        unit_id: r.get(8),
        created_at: r.get(9),
    }
}

/// Rows read per query by [`window`].
pub const WINDOW_PAGE: i64 = 5_000;

/// The given items as the clustering sees them (missing ids are left out), in id order,
/// read 500 at a time (the ids go into the query text).
pub async fn items(o: &Opinions, ids: &[i64]) -> AppResult<Vec<FeedItem>> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql =
            format!("SELECT {FEED_COLUMNS} FROM opinions o WHERE o.id IN ({list}) ORDER BY o.id");
        // One-off text (the ids are in it): not cached per connection.
        let rows = sqlx::query(&sql)
            .persistent(false)
            .fetch_all(o.db.pool())
            .await?;
        out.extend(rows.iter().map(feed_item));
    }
    Ok(out)
}

/// Items with an id above `after_id`, oldest first, at most `limit` (for the worker that
/// assigns new items as they arrive without touching intake).
pub async fn after(o: &Opinions, after_id: i64, limit: i64) -> AppResult<Vec<FeedItem>> {
    let sql = format!(
        "SELECT {} FROM opinions o WHERE o.id > $1 ORDER BY o.id LIMIT $2",
        store::COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(after_id)
        .bind(limit)
        .fetch_all(o.db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| FeedItem::of(&store::from_row(r)))
        .collect())
}

/// Districts that have items (the batch rebuild's default).
pub async fn districts(o: &Opinions) -> AppResult<Vec<i64>> {
    use yidu_db::Row;
    Ok(sqlx::query(
        "SELECT DISTINCT district_id FROM opinions WHERE district_id IS NOT NULL ORDER BY district_id",
    )
    .fetch_all(o.db.pool())
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// The current state of the given items (missing ids are left out), in id order.
pub async fn states(o: &Opinions, ids: &[i64]) -> AppResult<Vec<FeedItem>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut conn = o.db.pool().acquire().await?;
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for id in sorted {
        if let Some(r) = store::by_id(&mut conn, id).await? {
            out.push(FeedItem::of(&r));
        }
    }
    Ok(out)
}

/// A member item as a list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Brief {
    pub id: i64,
    pub tracking_no: String,
    pub title: String,
    pub status: Status,
    pub region_id: i64,
    pub unit_id: Option<i64>,
    pub created_at: i64,
}

/// Briefs of the items among `ids` that `p` may read, in the order of `ids`.
pub async fn briefs(o: &Opinions, p: &Principal, ids: &[i64]) -> AppResult<Vec<Brief>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut conn = o.db.pool().acquire().await?;
    for &id in ids {
        if let Some(r) = store::by_id(&mut conn, id).await? {
            if can_read(p, &r) {
                out.push(Brief {
                    id: r.id,
                    tracking_no: r.tracking_no.clone(),
                    title: r.title.clone(),
                    status: r.status,
                    region_id: r.region_id,
                    unit_id: r.unit_id,
                    created_at: r.created_at,
                });
            }
        }
    }
    Ok(out)
}
