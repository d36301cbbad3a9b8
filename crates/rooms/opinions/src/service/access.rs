//! Who may see an opinion, who may move it, and who sees the citizen's personal data.

use crate::model::{MoveKind, Status};
use crate::store::OpinionRow;
use yidu_kernel::{Principal, Role};

/// Reads: the administrator; office and township staff whose region covers the item;
/// the station it came through; the deputy whose code it came through; the unit it was
/// assigned to. Everyone else learns nothing (404).
pub fn can_read(p: &Principal, o: &OpinionRow) -> bool {
    match p.role {
        Role::Admin => true,
        Role::Office | Role::Township => p.covers(&o.region_path),
        Role::Station => o.station_id.is_some() && o.station_id == p.scope_id,
        Role::Deputy => o.deputy_id.is_some() && o.deputy_id == p.scope_id,
        Role::Department => o.unit_id.is_some() && o.unit_id == p.scope_id,
        Role::Committee => false,
    }
}

/// Those who claim, classify and route an item: its deputy or station, the township
/// and the office over it. Once escalated, only the district office (and admin).
fn is_claimer(p: &Principal, o: &OpinionRow) -> bool {
    if o.status == Status::Escalated {
        return p.role == Role::Admin || (p.role == Role::Office && p.covers(&o.region_path));
    }
    match p.role {
        Role::Admin => true,
        Role::Office | Role::Township => p.covers(&o.region_path),
        Role::Station => o.station_id.is_some() && o.station_id == p.scope_id,
        Role::Deputy => o.deputy_id.is_some() && o.deputy_id == p.scope_id,
        _ => false,
    }
}

fn is_assigned_unit(p: &Principal, o: &OpinionRow) -> bool {
    p.role == Role::Admin
        || (p.role == Role::Department && o.unit_id.is_some() && o.unit_id == p.scope_id)
}

pub fn may_move(p: &Principal, o: &OpinionRow, kind: MoveKind) -> bool {
    match kind {
        MoveKind::Take | MoveKind::Return => is_assigned_unit(p, o),
        // The unit replies to what it took; otherwise whoever handles it at the grassroots.
        MoveKind::Reply => {
            if o.unit_id.is_some() {
                is_assigned_unit(p, o)
            } else {
                is_claimer(p, o)
            }
        }
        MoveKind::Close => {
            matches!(p.role, Role::Admin) || (p.role == Role::Office && p.covers(&o.region_path))
        }
        // Ratings come from the citizen through the query code, never from staff.
        MoveKind::Rate => false,
        _ => is_claimer(p, o),
    }
}

/// The current handler sees the citizen's name and phone in full; everyone else masked.
pub fn is_current_handler(p: &Principal, o: &OpinionRow) -> bool {
    let with_unit = o.unit_id.is_some()
        && matches!(
            o.status,
            Status::Assigned | Status::InProgress | Status::Replied
        );
    if with_unit {
        return p.role == Role::Department && o.unit_id == p.scope_id;
    }
    match p.role {
        Role::Deputy => o.deputy_id.is_some() && o.deputy_id == p.scope_id,
        Role::Station => {
            o.deputy_id.is_none() && o.station_id.is_some() && o.station_id == p.scope_id
        }
        Role::Township => {
            o.deputy_id.is_none() && o.station_id.is_none() && p.covers(&o.region_path)
        }
        _ => false,
    }
}
