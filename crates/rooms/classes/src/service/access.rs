//! Who may see a class and who decides about it.
//!
//! - The administrator, and the congress office over the class's district, read and decide.
//! - Township staff read classes with at least one member in their township (members
//!   outside it are counted but not shown).
//! - A handling unit reads the classes it leads, and gives their one reply.
//! - Everyone else: nothing (lists answer 403, a class 404).

use crate::store::{self, ClassRow};
use yidu_db::AnyConnection;
use yidu_kernel::{AppResult, Principal, Role};

pub async fn can_read(conn: &mut AnyConnection, p: &Principal, c: &ClassRow) -> AppResult<bool> {
    Ok(match p.role {
        Role::Admin => true,
        Role::Office => p.covers(&c.region_path),
        Role::Township => store::class_touches(conn, c.id, &p.scope_like()).await?,
        Role::Department => c.lead_unit_id.is_some() && c.lead_unit_id == p.scope_id,
        Role::Station | Role::Deputy | Role::Committee => false,
    })
}

/// Confirm, rename, merge, split, remove a member, dissolve, supervise.
pub fn may_decide(p: &Principal, c: &ClassRow) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Office => p.covers(&c.region_path),
        _ => false,
    }
}

/// The class's one reply: its lead unit (or the administrator).
pub fn may_reply(p: &Principal, c: &ClassRow) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Department => c.lead_unit_id.is_some() && c.lead_unit_id == p.scope_id,
        _ => false,
    }
}
