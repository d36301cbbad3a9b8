//! Where a role's scope object sits in the region tree. The accounts room asks this
//! when it builds a principal, so that scope checks everywhere compare region paths.

use yidu_db::{Db, Row};
use yidu_kernel::{AppResult, ScopeKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRegion {
    pub region_id: i64,
    pub path: String,
    pub district_id: Option<i64>,
}

/// The region of the object a role is bound to: a region itself, or the region of a
/// station, deputy, unit or committee. None when the object does not exist.
pub async fn scope_region(db: &Db, kind: ScopeKind, id: i64) -> AppResult<Option<ScopeRegion>> {
    let sql = match kind {
        ScopeKind::Global => return Ok(None),
        ScopeKind::Region => "SELECT id, path, district_id FROM regions WHERE id = $1",
        ScopeKind::Station => {
            "SELECT r.id, r.path, r.district_id FROM stations s JOIN regions r ON r.id = s.region_id WHERE s.id = $1"
        }
        ScopeKind::Deputy => {
            "SELECT r.id, r.path, r.district_id FROM deputies d JOIN regions r ON r.id = d.region_id WHERE d.id = $1"
        }
        ScopeKind::Unit => {
            "SELECT r.id, r.path, r.district_id FROM units u JOIN regions r ON r.id = u.region_id WHERE u.id = $1"
        }
        ScopeKind::Committee => {
            "SELECT r.id, r.path, r.district_id FROM committees c JOIN regions r ON r.id = c.region_id WHERE c.id = $1"
        }
    };
    let row = sqlx::query(sql).bind(id).fetch_optional(db.pool()).await?;
    Ok(row.map(|r| ScopeRegion {
        region_id: r.get(0),
        path: r.get(1),
        district_id: r.get(2),
    }))
}

/// Path and district of a region by id.
pub async fn region_path(db: &Db, region_id: i64) -> AppResult<Option<ScopeRegion>> {
    scope_region(db, ScopeKind::Region, region_id).await
}

/// Whether the region at `path` is the only top-level region, so that everything recorded
/// lies within it (a district deployment's office): a scope condition on it filters nothing.
pub async fn is_only_root(db: &Db, path: &str) -> AppResult<bool> {
    let roots = sqlx::query("SELECT path FROM regions WHERE parent_id IS NULL LIMIT 2")
        .fetch_all(db.pool())
        .await?;
    Ok(roots.len() == 1 && roots[0].get::<String, _>(0) == path)
}

/// A deputy's name, for greeting the deputy's account.
pub async fn deputy_name(db: &Db, deputy_id: i64) -> AppResult<Option<String>> {
    let row = sqlx::query("SELECT name FROM deputies WHERE id = $1")
        .bind(deputy_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.get(0)))
}
