//! External channels (外部渠道): other systems such as 代表通 or 12345 that file opinions
//! through Open311. Each has a name and an API key; only the key's SHA-256 is stored, so
//! the key is shown once, when the channel is created. A channel may be limited to some
//! categories (and their subcategories) and revoked. Only the administrator and the
//! people's congress office manage channels; every change is audited in its transaction.

use crate::Opinions;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use yidu_audit::{Actor, Entry};
use yidu_db::{Db, Row};
use yidu_kernel::clock::{format_china, now_ms};
use yidu_kernel::{AppError, AppResult, Principal, Role};

pub const MAX_NAME: usize = 40;

/// An external channel as staff see it (never with its key).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// Categories the channel may file under (with their subcategories); empty = all.
    pub category_ids: Vec<i64>,
    /// Where items land when the client names no grid.
    pub region_id: Option<i64>,
    pub revoked: bool,
    pub created_at: i64,
    pub created_at_local: String,
}

/// A new channel and its API key, which is shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewChannelKey {
    pub channel: Channel,
    pub api_key: String,
}

/// The stored form of an API key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

fn new_key() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    format!("yd{}", hex::encode(b))
}

fn may_manage(p: &Principal) -> AppResult<()> {
    match p.role {
        Role::Admin | Role::Office => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

fn parse_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

const COLUMNS: &str = "id, name, category_ids, region_id, revoked, created_at";

fn from_row(r: &yidu_db::AnyRow) -> Channel {
    let created_at: i64 = r.get(5);
    Channel {
        id: r.get(0),
        name: r.get(1),
        category_ids: parse_ids(&r.get::<String, _>(2)),
        region_id: r.get(3),
        revoked: r.get::<i64, _>(4) != 0,
        created_at,
        created_at_local: format_china(created_at),
    }
}

impl Channel {
    /// The channel may file under the category with this materialized id path.
    pub fn allows(&self, category_path: &str) -> bool {
        self.category_ids.is_empty()
            || self
                .category_ids
                .iter()
                .any(|id| category_path.contains(&format!("/{id}/")))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "category_ids": self.category_ids, "region_id": self.region_id, "revoked": self.revoked})
    }
}

/// Sorted, deduplicated category ids that all exist; names the field otherwise.
async fn checked_categories(db: &Db, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        let found = sqlx::query("SELECT 1 FROM categories WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        if found.is_none() {
            return Err(AppError::Validation(vec![yidu_kernel::FieldError::new(
                "category_ids",
                format!("类别 {id} 不存在"),
                format!("category {id} does not exist"),
            )]));
        }
    }
    Ok(ids)
}

/// Where a new channel's items land: the office's district, else the only district.
async fn default_region(db: &Db, p: &Principal) -> AppResult<Option<i64>> {
    if p.role == Role::Office && p.scope_id.is_some() {
        return Ok(p.scope_id);
    }
    let rows = sqlx::query("SELECT id FROM regions WHERE level = 'district' ORDER BY id LIMIT 2")
        .fetch_all(db.pool())
        .await?;
    Ok(if rows.len() == 1 {
        Some(rows[0].get(0))
    } else {
        None
    })
}

/// Creates a channel; returns it with its API key (shown once, stored only as a hash).
pub async fn create_channel(
    o: &Opinions,
    p: &Principal,
    client: &str,
    name: &str,
    categories: &[i64],
) -> AppResult<(Channel, String)> {
    may_manage(p)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::field(
            "name",
            "名称不能为空",
            "name must not be empty",
        ));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "名称最多 40 字，且不含控制字符",
            "name must be at most 40 characters without control characters",
        ));
    }
    let ids = checked_categories(&o.db, categories).await?;
    let region = default_region(&o.db, p).await?;
    let key = new_key();
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let taken = sqlx::query("SELECT 1 FROM channels WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict(
            "已有同名渠道",
            "a channel with this name exists",
        ));
    }
    let id: i64 = sqlx::query(
        "INSERT INTO channels (name, api_key_hash, category_ids, region_id, revoked, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
    )
    .bind(name)
    .bind(hash_key(&key))
    .bind(join_ids(&ids))
    .bind(region)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    let ch = Channel {
        id,
        name: name.to_string(),
        category_ids: ids,
        region_id: region,
        revoked: false,
        created_at: now,
        created_at_local: format_china(now),
    };
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("channel.create", "channel", id).changes(&serde_json::Value::Null, &ch.json()),
    )
    .await?;
    tx.commit().await?;
    Ok((ch, key))
}

pub async fn list(o: &Opinions, p: &Principal) -> AppResult<Vec<Channel>> {
    may_manage(p)?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM channels ORDER BY revoked, name"
    ))
    .fetch_all(o.db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn get(o: &Opinions, p: &Principal, id: i64) -> AppResult<Channel> {
    may_manage(p)?;
    one(&o.db, "id = $1", id.to_string().as_str(), Some(id))
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn by_name(o: &Opinions, p: &Principal, name: &str) -> AppResult<Channel> {
    may_manage(p)?;
    one(&o.db, "name = $1", name.trim(), None)
        .await?
        .ok_or(AppError::NotFound)
}

async fn one(db: &Db, cond: &str, text: &str, id: Option<i64>) -> AppResult<Option<Channel>> {
    let sql = format!("SELECT {COLUMNS} FROM channels WHERE {cond}");
    let q = sqlx::query(&sql);
    let q = match id {
        Some(id) => q.bind(id),
        None => q.bind(text.to_string()),
    };
    Ok(q.fetch_optional(db.pool()).await?.as_ref().map(from_row))
}

/// The live channel an API key belongs to; `None` for unknown or revoked keys.
pub async fn by_key(db: &Db, key: &str) -> AppResult<Option<Channel>> {
    if key.trim().is_empty() {
        return Ok(None);
    }
    Ok(one(db, "api_key_hash = $1", &hash_key(key), None)
        .await?
        .filter(|c| !c.revoked))
}

async fn update(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    action: &str,
    change: impl FnOnce(&mut Channel),
) -> AppResult<Channel> {
    let before = get(o, p, id).await?;
    let mut after = before.clone();
    change(&mut after);
    let mut tx = o.db.begin().await?;
    sqlx::query(
        "UPDATE channels SET category_ids = $1, revoked = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(join_ids(&after.category_ids))
    .bind(after.revoked as i64)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new(action, "channel", id).changes(&before.json(), &after.json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Limits the channel to these categories (empty = all).
pub async fn limit_categories(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    categories: &[i64],
) -> AppResult<Channel> {
    may_manage(p)?;
    let ids = checked_categories(&o.db, categories).await?;
    update(o, p, client, id, "channel.limit", |c| c.category_ids = ids).await
}

/// Revokes the channel's key for good; its items stay.
pub async fn revoke(o: &Opinions, p: &Principal, client: &str, id: i64) -> AppResult<Channel> {
    update(o, p, client, id, "channel.revoke", |c| c.revoked = true).await
}
