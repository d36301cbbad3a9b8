//! Who is acting, in which role, and over which part of the region tree.
//!
//! Every row that belongs somewhere carries a region, and every region has a
//! materialized path such as `/1/4/17/` (its ancestors' ids, root first). A principal's
//! scope is such a path: a row is *within* scope when its region path starts with the
//! scope path. Services check this on every read and write; pages and APIs never do it
//! themselves.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: everything, everywhere.
    Admin,
    /// Congress office staff (人大常委会办公室) of a district, or of a city or province.
    Office,
    /// Township or subdistrict congress staff (乡镇人大/街道人大工委).
    Township,
    /// Liaison station staff (联络站工作人员).
    Station,
    /// A deputy (人大代表): self and own stations.
    Deputy,
    /// A handling unit's handler (承办单位经办人).
    Department,
    /// Staff of a standing-committee working committee (工委).
    Committee,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Office,
        Role::Township,
        Role::Station,
        Role::Deputy,
        Role::Department,
        Role::Committee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Township => "township",
            Role::Station => "station",
            Role::Deputy => "deputy",
            Role::Department => "department",
            Role::Committee => "committee",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Office => "人大办工作人员",
            Role::Township => "乡镇（街道）人大工作人员",
            Role::Station => "联络站工作人员",
            Role::Deputy => "人大代表",
            Role::Department => "承办单位经办人",
            Role::Committee => "工委工作人员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::Admin => "System administrator",
            Role::Office => "Congress office staff",
            Role::Township => "Township congress staff",
            Role::Station => "Liaison station staff",
            Role::Deputy => "Deputy",
            Role::Department => "Department handler",
            Role::Committee => "Working committee staff",
        }
    }

    /// What kind of object the role's scope id names.
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Role::Admin => ScopeKind::Global,
            Role::Office | Role::Township => ScopeKind::Region,
            Role::Station => ScopeKind::Station,
            Role::Deputy => ScopeKind::Deputy,
            Role::Department => ScopeKind::Unit,
            Role::Committee => ScopeKind::Committee,
        }
    }

    /// Staff of the desktop terminal (工作端); deputies use the deputy terminal.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Deputy)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Global,
    Region,
    Station,
    Deputy,
    Unit,
    Committee,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Global => "global",
            ScopeKind::Region => "region",
            ScopeKind::Station => "station",
            ScopeKind::Deputy => "deputy",
            ScopeKind::Unit => "unit",
            ScopeKind::Committee => "committee",
        }
    }
}

/// The authenticated user behind a request.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Id of the region, station, deputy, unit or committee the role is bound to.
    pub scope_id: Option<i64>,
    /// Region path the scope covers ("/" for the administrator).
    pub scope_path: String,
    /// The user must set a new password before doing anything else.
    pub must_change_password: bool,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Principal({}#{} {} {:?})",
            self.username,
            self.user_id,
            self.role.as_str(),
            self.scope_id
        )
    }
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The row at `region_path` lies inside this principal's scope.
    pub fn covers(&self, region_path: &str) -> bool {
        self.is_admin() || region_path.starts_with(&self.scope_path)
    }

    /// The row is inside the scope or is one of the scope's ancestors (which users need
    /// to see to place themselves, e.g. a township user sees its district's name).
    pub fn sees(&self, region_path: &str) -> bool {
        self.covers(region_path) || self.scope_path.starts_with(region_path)
    }

    /// `LIKE` pattern that selects the rows inside the scope.
    pub fn scope_like(&self) -> String {
        if self.is_admin() {
            "%".to_string()
        } else {
            format!("{}%", self.scope_path)
        }
    }

    /// May change the registry (regions, stations, deputies, units) at this path.
    pub fn manages_registry_at(&self, region_path: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Office | Role::Township => self.covers(region_path),
            _ => false,
        }
    }

    /// The system principal used by CLI commands and the demo loader.
    pub fn system() -> Principal {
        Principal {
            user_id: 0,
            username: "system".into(),
            display_name: "系统".into(),
            role: Role::Admin,
            scope_id: None,
            scope_path: "/".into(),
            must_change_password: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn township() -> Principal {
        Principal {
            user_id: 5,
            username: "town1".into(),
            display_name: "t".into(),
            role: Role::Township,
            scope_id: Some(4),
            scope_path: "/1/4/".into(),
            must_change_password: false,
        }
    }

    #[test]
    fn scope_covers_subtree_and_sees_ancestors() {
        let p = township();
        assert!(p.covers("/1/4/"));
        assert!(p.covers("/1/4/30/"));
        assert!(!p.covers("/1/5/"));
        // "/1/40/" must not be confused with "/1/4/".
        assert!(!p.covers("/1/40/"));
        assert!(p.sees("/1/"));
        assert!(!p.sees("/1/5/"));
        assert!(p.manages_registry_at("/1/4/30/"));
        assert!(!p.manages_registry_at("/1/"));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
