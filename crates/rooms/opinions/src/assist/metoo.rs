//! 同问 ("me too"): a citizen who finds an open item like theirs in the same area adds
//! their voice to it instead of filing a new one, and gets its tracking number to follow.
//! One per client (blind index, as for submissions) and item; rate-limited like
//! submissions. Staff see the count on the item and in the queue; hot topics read it
//! through [`metoo_counts`].

use super::similar::{area_key, lookup, rows_of};
use crate::store;
use crate::Opinions;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use yidu_audit::{Actor, Entry};
use yidu_db::Row;
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult};

/// A similar open item as citizens see it: the title only, no personal data or text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicSimilar {
    pub id: i64,
    pub title: String,
    /// 同问 count.
    pub metoo: i64,
}

/// What the citizen typed and where (query of the citizen form's script): the grid they
/// chose, else the code they came through (else a region id).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct SimilarQuery {
    #[serde(default)]
    pub region_id: Option<i64>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub grid_id: Option<i64>,
    #[serde(default)]
    pub deputy_code: Option<String>,
    #[serde(default)]
    pub station_code: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// A form's select sends "" for "not sure".
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The look-up URL for a citizen form reached through a code (the script adds the text).
pub fn similar_url(deputy_code: Option<&str>, station_code: Option<&str>) -> String {
    let mut q = String::from("/api/v1/citizen/similar?");
    let enc = |v: &str| serde_urlencoded::to_string([("", v)]).unwrap_or_default();
    if let Some(c) = deputy_code {
        q.push_str(&format!("deputy_code{}&", enc(c)));
    }
    if let Some(c) = station_code {
        q.push_str(&format!("station_code{}&", enc(c)));
    }
    q
}

fn last_id(path: &str) -> Option<i64> {
    path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

/// The area key of the citizen's place, as items filed there get it.
async fn area_of(o: &Opinions, q: &SimilarQuery) -> AppResult<Option<String>> {
    if q.grid_id.is_some() {
        return Ok(Some(area_key(q.grid_id.unwrap_or(0), q.grid_id)));
    }
    let path = if let Some(c) = q.deputy_code.as_deref().filter(|c| !c.is_empty()) {
        yidu_registry::codes::store::deputy_by_code(&o.db, c)
            .await?
            .map(|card| card.region_path)
    } else if let Some(c) = q.station_code.as_deref().filter(|c| !c.is_empty()) {
        yidu_registry::codes::store::station_by_code(&o.db, c)
            .await?
            .map(|card| card.region_path)
    } else {
        None
    };
    let region = path.as_deref().and_then(last_id).or(q.region_id);
    Ok(region.map(|r| area_key(r, None)))
}

/// Texts shorter than this (in characters) are not looked up: too little to compare.
const MIN_CHARS: usize = 6;

/// Up to 3 open items like the citizen's text in the same area.
pub async fn similar_public(o: &Opinions, q: &SimilarQuery) -> AppResult<Vec<PublicSimilar>> {
    if q.title.chars().count() + q.body.chars().count() < MIN_CHARS {
        return Ok(Vec::new());
    }
    if q.title.len() + q.body.len() > 20_000 {
        return Err(AppError::field("body", "内容过长", "the text is too long"));
    }
    let Some(area) = area_of(o, q).await? else {
        return Ok(Vec::new());
    };
    super::similar::refresh(o, false).await?;
    let found = lookup(o, &area, &q.title, &q.body, 6);
    let ids: Vec<i64> = found.iter().map(|(i, _)| *i).collect();
    let rows = rows_of(o, &ids).await?;
    let counts = metoo_counts(o, &ids).await?;
    Ok(found
        .into_iter()
        .filter_map(|(i, _)| {
            let r = rows.get(&i)?;
            r.status.is_open().then(|| PublicSimilar {
                id: i,
                title: r.title.clone(),
                metoo: counts.get(&i).copied().unwrap_or(0),
            })
        })
        .take(3)
        .collect())
}

/// The answer to a 同问.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MetooReceipt {
    /// Follow the item with this number (its query code stays with whoever filed it).
    pub tracking_no: String,
    pub title: String,
    /// 同问 count after this one.
    pub metoo: i64,
    /// True when this client had already said 同问 on the item.
    pub already: bool,
}

/// Records a 同问 from `client` on open item `id`; no new item is created.
pub async fn metoo(o: &Opinions, client: &str, id: i64) -> AppResult<MetooReceipt> {
    let client_index = o.keys.blind_index("client", client);
    let now = now_ms();
    let per_client = o.config.per_client_per_hour;
    let recent: i64 = sqlx::query(
        "SELECT COUNT(*) FROM (SELECT 1 FROM opinion_metoo WHERE client_index = $1 AND at >= $2 LIMIT $3) capped",
    )
    .bind(&client_index)
    .bind(now - 3_600_000)
    .bind(per_client.max(0))
    .fetch_one(o.db.pool())
    .await?
    .get(0);
    if recent >= per_client {
        return Err(AppError::RateLimited);
    }
    let mut tx = o.db.pool().begin().await?;
    let row = store::by_id(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !row.status.is_open() {
        return Err(AppError::conflict(
            "该事项已不在办理中，请直接提交您的意见",
            "this item is no longer open: please submit your own",
        ));
    }
    let added = sqlx::query(
        "INSERT INTO opinion_metoo (opinion_id, at, client_index) VALUES ($1, $2, $3) ON CONFLICT (opinion_id, client_index) DO NOTHING",
    )
    .bind(id)
    .bind(now)
    .bind(&client_index)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added > 0 {
        yidu_audit::record(
            &mut tx,
            &Actor::system("citizen"),
            Entry::new("opinion_metoo", "opinion", id)
                .at(&row.region_path, row.district_id)
                .summary(row.tracking_no.clone()),
        )
        .await?;
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM opinion_metoo WHERE opinion_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    tx.commit().await?;
    Ok(MetooReceipt {
        tracking_no: row.tracking_no,
        title: row.title,
        metoo: count,
        already: added == 0,
    })
}

/// How long a row of `opinion_metoo` stays above the watermark: on PostgreSQL a row with
/// a lower id can commit after one with a higher id, so the watermark only passes rows
/// older than this (a transaction is assumed to commit within it).
const SINCE_SLACK_MS: i64 = 10_000;

/// The 同问 recorded since a watermark (a row id of `opinion_metoo`), for rooms that keep
/// their own copy of the counts (class cases' hot topics): the new watermark and the
/// current count of every item that got one. Rows of the last seconds are read again on
/// the next call (the watermark moves only past older ones, by the primary key); the
/// counts are totals, so reading a row twice is harmless.
pub async fn metoo_since(
    o: &Opinions,
    after_id: i64,
    limit: i64,
) -> AppResult<(i64, HashMap<i64, i64>)> {
    let rows = sqlx::query(
        "SELECT id, opinion_id, at FROM opinion_metoo WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit.max(1))
    .fetch_all(o.db.pool())
    .await?;
    let settled_before = now_ms() - SINCE_SLACK_MS;
    let mut watermark = after_id;
    let mut ids: Vec<i64> = Vec::new();
    for r in &rows {
        if r.get::<i64, _>(2) < settled_before {
            watermark = watermark.max(r.get::<i64, _>(0));
        }
        ids.push(r.get(1));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok((watermark, metoo_counts(o, &ids).await?))
}

/// 同问 counts of some items (items without any are absent), in one query.
pub async fn metoo_counts(o: &Opinions, ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    // Not kept in the connection's statement cache: the ids are in the text, so each call
    // is a statement of its own, and a class rebuild's 291 calls of 1,000 ids each left
    // every one of them cached (a small allocation per id, and its program) for the life
    // of the connections.
    let rows = sqlx::query(&format!(
        "SELECT opinion_id, COUNT(*) FROM opinion_metoo WHERE opinion_id IN ({}) GROUP BY opinion_id",
        list.join(", ")
    ))
    .persistent(false)
    .fetch_all(o.db.pool())
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
