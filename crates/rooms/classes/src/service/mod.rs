//! Use cases of the class-case room. The machine groups items ([`cluster`]); staff decide
//! ([`decide`]); a confirmed class is supervised as one and answered as one ([`supervise`]);
//! a supervised class follows its members as they join and leave ([`follow`]); lists,
//! details and hot topics are read through [`read`]. Every function that acts for
//! someone takes the principal and checks it ([`access`]).

pub mod access;
pub mod cluster;
pub mod decide;
pub mod follow;
mod place;
pub mod read;
pub mod stream;
pub mod supervise;

use crate::model::ClassesConfig;
use crate::store::{self, ClassRow};
use std::sync::Arc;
use yidu_db::Db;
use yidu_kernel::{AppError, AppResult, Principal};
use yidu_opinions::Opinions;

/// What the room's use cases need: the opinions room (its service is how class-wide
/// moves reach the member items) and the clustering settings.
#[derive(Clone)]
pub struct Classes {
    pub opinions: Opinions,
    pub config: Arc<ClassesConfig>,
}

impl Classes {
    pub fn new(opinions: Opinions, config: ClassesConfig) -> Classes {
        Classes {
            opinions,
            config: Arc::new(config),
        }
    }

    pub fn db(&self) -> &Db {
        &self.opinions.db
    }
}

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

/// The township an item lies in: the path element right below its district.
pub(crate) fn township_of(region_path: &str, district_id: i64) -> Option<i64> {
    let ids: Vec<i64> = region_path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .collect();
    let at = ids.iter().position(|&i| i == district_id)?;
    ids.get(at + 1).copied()
}

/// A class the principal may read, else NotFound (the caller learns nothing).
pub(crate) async fn readable(c: &Classes, p: &Principal, id: i64) -> AppResult<ClassRow> {
    let mut conn = c.db().pool().acquire().await?;
    let row = store::class(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !access::can_read(&mut conn, p, &row).await? {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

/// The next `updated_at`: strictly later than the row's, so the optimistic guard works
/// even for two changes within one millisecond.
pub(crate) fn bump(now: i64, seen: i64) -> i64 {
    now.max(seen + 1)
}

#[cfg(test)]
mod tests {
    use super::township_of;

    #[test]
    fn township_is_below_the_district() {
        assert_eq!(township_of("/1/4/17/", 1), Some(4));
        assert_eq!(township_of("/9/1/4/17/", 1), Some(4));
        assert_eq!(township_of("/1/", 1), None);
        assert_eq!(township_of("/2/4/", 1), None);
    }
}
