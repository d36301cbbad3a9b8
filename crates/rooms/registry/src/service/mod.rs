//! Registry use cases: the only door to the registry for pages, the API, the importer
//! and other rooms. Every read and write is checked here against the principal's scope:
//! a single row out of reach is `NotFound`, a write out of reach is `Forbidden`.
//!
//! Each write runs in one transaction together with its audit record. The `*_in`
//! variants take a transaction that the caller owns (the importer writes a whole file
//! in one).

pub mod access;
pub mod deputies;
pub mod regions;
pub mod stations;
pub mod units;

use serde::{Deserialize, Deserializer};
use yidu_audit::{Actor, Entry};
use yidu_db::{AnyConnection, Db};
use yidu_kernel::{AppError, AppResult, FieldError, Principal};

pub use access::{Entity, Reach};

/// Who is acting, from where: what every write needs for its checks and audit record.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub principal: &'a Principal,
    pub actor: Actor,
}

impl<'a> Ctx<'a> {
    pub fn new(principal: &'a Principal, client: &str) -> Ctx<'a> {
        Ctx {
            principal,
            actor: Actor::new(principal, client),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn audit(
        &self,
        conn: &mut AnyConnection,
        action: &str,
        object_type: &str,
        id: i64,
        region: (&str, Option<i64>),
        before: &serde_json::Value,
        after: &serde_json::Value,
    ) -> AppResult<()> {
        let entry = Entry::new(action, object_type, id)
            .at(region.0, region.1)
            .changes(before, after);
        yidu_audit::record(conn, &self.actor, entry).await
    }
}

/// A field error as an `AppError`.
pub(crate) fn invalid(e: FieldError) -> AppError {
    AppError::Validation(vec![e])
}

/// Empty query values (`?region=`) mean "no filter"; others must be integers.
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("not an id: {v}"))),
    }
}

/// `true`, `1`, `on` and `yes` are true; anything else (or nothing) is false.
pub fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(matches!(
        s.as_deref().map(str::trim),
        Some("true" | "1" | "on" | "yes")
    ))
}

/// A trimmed, non-empty search text or filter word.
pub(crate) fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads with a pooled connection.
pub(crate) async fn read_conn(db: &Db) -> AppResult<sqlx::pool::PoolConnection<yidu_db::Any>> {
    Ok(db.pool().acquire().await?)
}

/// Counts of registry rows within the principal's reach, for the staff desk.
pub async fn counts(db: &Db, p: &Principal) -> AppResult<crate::model::Counts> {
    let mut conn = read_conn(db).await?;
    let mut out = crate::model::Counts::default();
    for (e, sql, path_col, id_col) in [
        (
            Entity::Region,
            "SELECT COUNT(*) FROM regions r",
            "r.path",
            "r.id",
        ),
        (
            Entity::Station,
            "SELECT COUNT(*) FROM stations s JOIN regions r ON r.id = s.region_id",
            "r.path",
            "s.id",
        ),
        (
            Entity::Deputy,
            "SELECT COUNT(*) FROM deputies d JOIN regions r ON r.id = d.region_id",
            "r.path",
            "d.id",
        ),
        (
            Entity::Unit,
            "SELECT COUNT(*) FROM units u JOIN regions r ON r.id = u.region_id",
            "r.path",
            "u.id",
        ),
        (
            Entity::Committee,
            "SELECT COUNT(*) FROM committees c JOIN regions r ON r.id = c.region_id",
            "r.path",
            "c.id",
        ),
    ] {
        let Some(reach) = access::reach(&mut conn, p, e).await? else {
            continue;
        };
        let mut w = crate::store::Where::default();
        let alias = id_col.split('.').next().unwrap_or("r");
        w.and(format!("{alias}.retired = 0"));
        reach.restrict(&mut w, path_col, id_col);
        let n = crate::store::count(&mut conn, &format!("{sql}{}", w.sql()), &w.args).await?;
        match e {
            Entity::Region => out.regions = n,
            Entity::Station => out.stations = n,
            Entity::Deputy => out.deputies = n,
            Entity::Unit => out.units = n,
            Entity::Committee => out.committees = n,
        }
    }
    Ok(out)
}
