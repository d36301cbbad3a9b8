//! Who may read which registry rows. The rules, per role:
//!
//! | role        | regions                     | stations         | deputies                    | units, committees |
//! |-------------|-----------------------------|------------------|-----------------------------|-------------------|
//! | admin       | all                         | all              | all                         | all               |
//! | office      | scope subtree + ancestors   | scope subtree    | scope subtree               | scope subtree     |
//! | township    | scope subtree + ancestors   | scope subtree    | scope subtree               | district subtree  |
//! | station     | station's region subtree + ancestors | that subtree | that subtree + the station's deputies | district subtree |
//! | deputy      | home region and ancestors   | own stations     | own record                  | district subtree  |
//! | department  | district subtree + ancestors| none             | none                        | district subtree  |
//! | committee   | district subtree + ancestors| district subtree | district subtree (no phone) | district subtree  |
//!
//! Units and committees are public institutions that townships, stations and deputies
//! assign citizens' items to ("吹哨报到"), so everyone reads those of their own district.
//! Department and committee staff read their whole district (they work across it);
//! a deputy's phone is shown only to admin, office, township and station staff, and to
//! the deputy. Writes are decided by the use cases (see `Principal::manages_registry_at`).

use crate::store::{self, Where};
use yidu_db::{AnyConnection, Row};
use yidu_kernel::{AppResult, Principal, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Region,
    Station,
    Deputy,
    Unit,
    Committee,
}

/// The rows of one entity kind a principal may read.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub all: bool,
    /// Rows whose region path starts with this prefix.
    pub subtree: Option<String>,
    /// Regions on this path (the ancestors of a scope, and the scope itself).
    pub ancestors_of: Option<String>,
    /// Further rows by id (own record, own stations, a station's deputies).
    pub ids: Vec<i64>,
}

impl Reach {
    fn all() -> Reach {
        Reach {
            all: true,
            ..Reach::default()
        }
    }

    fn subtree(path: &str) -> Reach {
        Reach {
            subtree: Some(path.to_string()),
            ..Reach::default()
        }
    }

    /// Whether a row at `region_path` with this id is readable.
    pub fn allows(&self, region_path: &str, id: i64) -> bool {
        self.all
            || self
                .subtree
                .as_deref()
                .is_some_and(|s| region_path.starts_with(s))
            || self
                .ancestors_of
                .as_deref()
                .is_some_and(|a| a.starts_with(region_path))
            || self.ids.contains(&id)
    }

    /// Adds the SQL condition; `path_col` is the row's region path, `id_col` its id.
    pub fn restrict(&self, w: &mut Where, path_col: &str, id_col: &str) {
        if self.all {
            return;
        }
        let mut any: Vec<String> = Vec::new();
        if let Some(s) = &self.subtree {
            let p = w.text(format!("{}%", yidu_db::like_escape(s)));
            any.push(format!("{path_col} LIKE {p} ESCAPE '\\'"));
        }
        if let Some(a) = &self.ancestors_of {
            // Region paths are digits and slashes only, so no escaping is needed here.
            let p = w.text(a.clone());
            any.push(format!("{p} LIKE {path_col} || '%'"));
        }
        if !self.ids.is_empty() {
            let list = store::in_list(w, &self.ids);
            any.push(format!("{id_col} IN ({list})"));
        }
        if any.is_empty() {
            w.and("1 = 0");
        } else {
            w.and(format!("({})", any.join(" OR ")));
        }
    }
}

/// Path of the district the principal's scope lies in (the scope itself when it is at or
/// above district level).
async fn district_path(conn: &mut AnyConnection, p: &Principal) -> AppResult<String> {
    let row = sqlx::query(
        "SELECT d.path FROM regions r JOIN regions d ON d.id = r.district_id WHERE r.path = $1",
    )
    .bind(&p.scope_path)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .map(|r| r.get::<String, _>(0))
        .unwrap_or_else(|| p.scope_path.clone()))
}

/// What the principal may read of one entity kind; None when the role reads none of it.
pub async fn reach(conn: &mut AnyConnection, p: &Principal, e: Entity) -> AppResult<Option<Reach>> {
    let scope = p.scope_path.as_str();
    let r = match (p.role, e) {
        (Role::Admin, _) => Some(Reach::all()),
        (Role::Office | Role::Township | Role::Station, Entity::Region) => Some(Reach {
            ancestors_of: Some(scope.to_string()),
            ..Reach::subtree(scope)
        }),
        (Role::Township | Role::Station | Role::Deputy, Entity::Unit | Entity::Committee) => {
            Some(Reach::subtree(&district_path(conn, p).await?))
        }
        (Role::Office | Role::Township, _) => Some(Reach::subtree(scope)),
        (Role::Station, Entity::Station) => Some(Reach::subtree(scope)),
        (Role::Station, Entity::Deputy) => {
            let ids = match p.scope_id {
                Some(s) => store::stations::members(conn, s).await?,
                None => Vec::new(),
            };
            Some(Reach {
                ids,
                ..Reach::subtree(scope)
            })
        }
        (Role::Deputy, Entity::Region) => Some(Reach {
            ancestors_of: Some(scope.to_string()),
            ..Reach::default()
        }),
        (Role::Deputy, Entity::Station) => Some(Reach {
            ids: match p.scope_id {
                Some(d) => store::stations::of_deputy(conn, d).await?,
                None => Vec::new(),
            },
            ..Reach::default()
        }),
        (Role::Deputy, Entity::Deputy) => Some(Reach {
            ids: p.scope_id.into_iter().collect(),
            ..Reach::default()
        }),
        (Role::Department, Entity::Station | Entity::Deputy) => None,
        (Role::Department | Role::Committee, Entity::Region) => {
            let d = district_path(conn, p).await?;
            Some(Reach {
                ancestors_of: Some(d.clone()),
                ..Reach::subtree(&d)
            })
        }
        (Role::Department | Role::Committee, _) => {
            Some(Reach::subtree(&district_path(conn, p).await?))
        }
    };
    Ok(r)
}

/// Whether the principal sees a deputy's phone number (the deputy is readable already).
pub fn sees_phone(p: &Principal, deputy_id: i64) -> bool {
    match p.role {
        Role::Admin | Role::Office | Role::Township | Role::Station => true,
        Role::Deputy => p.scope_id == Some(deputy_id),
        Role::Department | Role::Committee => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_allows_subtree_ancestors_and_ids() {
        let r = Reach {
            subtree: Some("/1/4/".into()),
            ancestors_of: Some("/1/4/".into()),
            ids: vec![99],
            all: false,
        };
        assert!(r.allows("/1/4/17/", 1));
        assert!(r.allows("/1/", 1));
        assert!(!r.allows("/1/40/", 1));
        assert!(!r.allows("/1/5/", 1));
        assert!(r.allows("/1/5/", 99));
        let mut w = Where::default();
        r.restrict(&mut w, "r.path", "s.id");
        assert_eq!(
            w.sql(),
            " WHERE (r.path LIKE $1 ESCAPE '\\' OR $2 LIKE r.path || '%' OR s.id IN ($3))"
        );
        let none = Reach::default();
        let mut w = Where::default();
        none.restrict(&mut w, "r.path", "s.id");
        assert_eq!(w.sql(), " WHERE 1 = 0");
    }
}
